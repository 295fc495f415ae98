"""sanl-infer refuses bad images with a message and exit status 1, never a crash.

    python3 tests/test_infer_errors.py

Each bad file is made here from the committed fixtures (cut short, bytes
garbled, wrong magic, missing) and given to sanl-infer before a good image:
the run must exit with status 1 (not a signal), name the bad file on
stderr, and still print the good image's JSON line. Needs no PyTorch.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("SANL_SOURCE_ROOT", os.path.dirname(HERE))
BUILD_ROOT = os.environ.get("SANL_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
FIXTURES = os.path.join(SOURCE_ROOT, "tests", "fixtures")
ENGINE = os.path.join(BUILD_ROOT, "sanl", "tools", "sanl-infer")
MODEL = os.path.join(FIXTURES, "tiny-seed1.safetensors")
GOOD = os.path.join(FIXTURES, "garment.png")


def bad_files(tmp):
    """name -> (path, the words stderr must hold)."""
    with open(os.path.join(FIXTURES, "garment.png"), "rb") as f:
        png = f.read()
    with open(os.path.join(FIXTURES, "garment.jpg"), "rb") as f:
        jpg = f.read()
    garbled_png = bytearray(png)
    garbled_png[200] ^= 0xFF  # inside the first IDAT: its checks fail
    garbled_jpg = bytearray(jpg)
    garbled_jpg[700:760] = bytes(60)  # zeros in the entropy-coded data
    contents = {
        "truncated.png": (png[:len(png) // 2], "bad PNG"),
        "truncated.jpg": (jpg[:len(jpg) // 2], "bad JPEG"),
        "garbled.png": (bytes(garbled_png), "bad PNG"),
        "garbled.jpg": (bytes(garbled_jpg), "bad JPEG"),
        "magic-only.png": (png[:8], "bad PNG"),
        "magic-only.jpg": (jpg[:3], "bad JPEG"),
        "empty.png": (b"", "not a JPEG or PNG"),
        "text.jpg": (b"this is not an image\n", "not a JPEG or PNG"),
    }
    files = {}
    for name, (data, words) in contents.items():
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        files[name] = (path, words)
    files["missing.png"] = (os.path.join(tmp, "missing.png"), "missing.png")
    return files


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (path, words) in bad_files(tmp).items():
            proc = subprocess.run([ENGINE, "--model", MODEL, path, GOOD],
                                  capture_output=True, text=True)
            lines = proc.stdout.splitlines()
            good = len(lines) == 1 and json.loads(lines[0])["image"] == GOOD
            ok = (proc.returncode == 1 and words in proc.stderr and name in proc.stderr
                  and good)
            print(f"{name:16s} exit {proc.returncode:3d}  {proc.stderr.strip()}")
            if not ok:
                failures.append(name)
    if failures:
        print("FAIL:", ", ".join(failures))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
