"""Bad options and bad model files get a one-line message and a fixed exit status.

    /usr/bin/python3 tests/test_tool_errors.py CASE      (CASE: see CASES below)

The C tools (sanl-infer, sanl-eval, sanl-bench, sanl-synth) exit 2 for a bad
option, naming the option and its value, and 1 when a file fails. The twin's
infer.py must refuse a bad model file with the same message as libsanl's
loader (the C loader is the reference for the rules), and export.py must
fail with one line, no traceback. Cases that run the twin exit 77 (skip)
without PyTorch.

Environment: SANL_SOURCE_ROOT and SANL_BUILD_ROOT (set by meson; default to
this checkout and its build/).
"""

import importlib.util
import json
import os
import pty
import re
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("SANL_SOURCE_ROOT", os.path.dirname(HERE))
BUILD_ROOT = os.environ.get("SANL_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
TOOLS = os.path.join(BUILD_ROOT, "sanl", "tools")
TORCH_DIR = os.path.join(SOURCE_ROOT, "sanl", "torch")
FIXTURES = os.path.join(SOURCE_ROOT, "tests", "fixtures")
MODEL = os.path.join(FIXTURES, "tiny-seed1.safetensors")
IMAGE = os.path.join(FIXTURES, "garment.png")
SKIP = 77


def tool(name):
    return os.path.join(TOOLS, name)


def run(cmd, env=None):
    """(exit status, stdout, stderr) of cmd; env entries set (None: removed)."""
    full = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full)
    return proc.returncode, proc.stdout, proc.stderr


def expect(cmd, status, fragment, env=None):
    """Run cmd; its exit status must be status and stderr exactly one line
    holding fragment. Returns a failure description or None."""
    code, _, err = run(cmd, env)
    shown = " ".join(os.path.basename(c) if c.startswith("/") else c for c in cmd)
    print(f"{shown}\n    -> exit {code}: {err.strip()}")
    if code != status:
        return f"{shown}: exit {code}, expected {status}"
    if fragment not in err:
        return f"{shown}: stderr lacks {fragment!r}"
    if len(err.strip().splitlines()) != 1:
        return f"{shown}: stderr is not one line"
    return None


def check_all(cases):
    """cases: (cmd, status, fragment[, env]). 0 when every case passes."""
    failures = [f for f in (expect(*case) for case in cases) if f]
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


def have_torch():
    return importlib.util.find_spec("torch") is not None


# ---------------------------------------------------------------------------
# Options of the C tools


def case_synth_options():
    synth = tool("sanl-synth")
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as empty:
        return check_all([
            ([synth, "--out", out, "--count", "-5"], 2, "--count must be 0 or more, not -5"),
            ([synth, "--out", out, "--size", "abc"], 2,
             '--size must be WxH, each side from 16 to 4096, not "abc"'),
            ([synth, "--out", out, "--size", "15x64"], 2, 'not "15x64"'),
            ([synth, "--out", out, "--size", "64x64x"], 2, 'not "64x64x"'),
            ([synth, "--out", out, "--val-every", "0"], 2,
             "--val-every must be 1 or more, not 0"),
            ([synth, "--out", out, "--video", "--frames", "0"], 2,
             "--frames must be 1 or more, not 0"),
            ([synth, "--count", "1"], 2, "--out DIR is required"),
            ([synth, "--out", out, "stray"], 2, 'unexpected argument "stray"'),
            ([synth, "--out", out, "--textures", empty], 2,
             f"no JPEG or PNG pictures in {empty}"),
            ([synth, "--out", out, "--textures", IMAGE], 2,
             f'--textures "{IMAGE}" is not a folder'),
            ([synth, "--out", out, "--textures", ""], 2, '--textures "" is not a folder'),
        ])


def case_synth_unreadable_textures():
    """--textures with pictures of which none can be read fails at once, however
    few garments would have picked one; one readable picture is enough."""
    synth = tool("sanl-synth")
    with tempfile.TemporaryDirectory() as tmp:
        out, bad = os.path.join(tmp, "out"), os.path.join(tmp, "bad")
        os.makedirs(bad)
        for name in ("a.jpg", "b.png"):
            with open(os.path.join(bad, name), "w") as f:
                f.write("not a picture\n")
        failures = check_all([
            ([synth, "--out", out, "--count", "1", "--size", "64x64", "--textures", bad], 1,
             f"sanl-synth: not one picture in {bad} could be read"),
        ])
        if os.path.exists(out):
            print(f"FAIL: {out} was written")
            failures = 1
        shutil.copy(IMAGE, os.path.join(bad, "c.png"))
        code, _, err = run([synth, "--out", out, "--count", "1", "--size", "64x64",
                            "--textures", bad])
        if code != 0:
            print(f"FAIL: with one readable picture: exit {code}, {err.strip()}")
            failures = 1
        return failures


def case_bench_options():
    bench = tool("sanl-bench")
    return check_all([
        ([bench, "--model", MODEL, "--frames", "0"], 2, "--frames must be 1 or more, not 0"),
        ([bench, "--model", MODEL, "--threads", "-5"], 2,
         "--threads must be from 0 (one per processor) to 256, not -5"),
        ([bench, "--model", MODEL, "--threads", "257"], 2, "to 256, not 257"),
        ([bench, "--frames", "2"], 2, "--model FILE (or $SANL_MODEL) is required",
         {"SANL_MODEL": None}),
        ([bench, "--model", MODEL, "--attention", "soft"], 2,
         '--attention must be gradcam or none, not "soft"'),
    ])


def case_bench_threads_zero():
    """--threads 0 runs with OpenBLAS's own count: OPENBLAS_NUM_THREADS=1 here."""
    code, out, err = run([tool("sanl-bench"), "--model", MODEL, "--frames", "1",
                          "--threads", "0"], {"OPENBLAS_NUM_THREADS": "1"})
    print(out, err)
    first = out.splitlines()[0] if out else ""
    if code != 0 or ", threads 1, frames 1," not in first:
        print(f"FAIL: exit {code}, first line {first!r}")
        return 1
    return 0


def case_bench_stages():
    """bench.py's side-by-side table: a row per engine stage, and the twin's
    stages (module hooks) cover its whole pass: with one timed frame the
    stages add up to the frame's time, bar the moments between modules."""
    code, out, err = run([sys.executable, os.path.join(SOURCE_ROOT, "sanl", "torch", "bench.py"),
                          "--model", MODEL, "--frames", "1", "--threads", "1",
                          "--bench", tool("sanl-bench")])
    print(out, err)
    rows, total = {}, None
    row = re.compile(r"(attention|backbone|sanl blocks|pyramid|heads)"
                     r"\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)$")
    for line in out.splitlines():
        match = row.match(line)
        if match:
            rows[match.group(1)] = [float(v) for v in match.groups()[1:]]
        if line.startswith("twin ") and "ms/frame" in line:
            total = float(line.split()[1])
    if code != 0 or len(rows) != 5 or total is None:
        print(f"FAIL: exit {code}, stage rows {sorted(rows)}, twin total {total}")
        return 1
    # three rounds by default; the speedup is the middle one of their ratios
    ratios = sorted(re.findall(r"^round \d+: twin .* ratio ([0-9.]+)$", out, re.M), key=float)
    speedup = re.search(r"^speedup ([0-9.]+)$", out, re.M)
    if len(ratios) != 3 or not speedup or speedup.group(1) != ratios[1]:
        print(f"FAIL: round ratios {ratios}, speedup {speedup and speedup.group(1)}")
        return 1
    covered = sum(r[0] for r in rows.values())
    if not (0.9 * total <= covered <= total * 1.0001) or min(r[0] for r in rows.values()) < 0:
        print(f"FAIL: twin stages add up to {covered:.3f} ms of {total:.3f} ms")
        return 1
    # the ratio is of the unrounded times: within what two decimals allow
    for twin, engine, ratio in rows.values():
        lo, hi = (twin - 0.005) / (engine + 0.005), (twin + 0.005) / max(engine - 0.005, 1e-9)
        if engine <= 0 or not lo - 0.01 <= ratio <= hi + 0.01:
            print(f"FAIL: engine column or ratio wrong: {rows}")
            return 1
    return 0


def case_bench_kernels():
    """sanl-bench names the OpenBLAS kernels its products ran on and bench.py
    times the twin on the same ones; OPENBLAS_CORETYPE, when a user sets
    it, holds for both."""
    if not have_torch():
        return SKIP
    # --config checks the config with torch loaded before the engine runs
    for coretype, source in ((None, ["--model", MODEL]), ("Prescott", ["--model", MODEL]),
                             (None, ["--config", "tiny"])):
        code, out, err = run([sys.executable, os.path.join(TORCH_DIR, "bench.py")] + source
                             + ["--frames", "1", "--threads", "1",
                                "--bench", tool("sanl-bench")],
                             env={"OPENBLAS_CORETYPE": coretype})
        engine = [line.split()[2] for line in out.splitlines()
                  if line.startswith("blas kernels ")]
        twin = re.search(r"^twin .* blas kernels (\S+) \(twin (\S+)\)$", out, re.M)
        named = twin.groups() if twin else None
        if code != 0 or len(engine) != 1 or named != (engine[0], engine[0]):
            print(f"FAIL: OPENBLAS_CORETYPE={coretype}: exit {code}, engine {engine}, "
                  f"twin {named}\n{err}")
            return 1
        if coretype and engine[0] != coretype:
            print(f"FAIL: OPENBLAS_CORETYPE={coretype} but the engine ran on {engine[0]}")
            return 1
    return 0


def case_bench_py_errors():
    """bench.py refuses a config export.py lacks and no frames with exit
    status 2, a model file the twin refuses with 1, each in one line."""
    if not have_torch():
        return SKIP
    bench = [sys.executable, os.path.join(TORCH_DIR, "bench.py"), "--threads", "1",
             "--bench", tool("sanl-bench")]
    with tempfile.TemporaryDirectory() as tmp:
        empty, text = os.path.join(tmp, "empty.safetensors"), os.path.join(tmp, "text.safetensors")
        open(empty, "wb").close()
        with open(text, "w") as f:
            f.write("not a model file at all\n")
        return check_all([
            (bench + ["--config", "nonesuch"], 2,
             "bench.py: error: --config nonesuch: neither a config name (paper, lite, tiny) "
             "nor a JSON file"),
            (bench + ["--model", MODEL, "--frames", "0"], 2,
             "bench.py: error: --frames must be 1 or more, not 0"),
            (bench + ["--model", MODEL, "--rounds", "0"], 2,
             "bench.py: error: --rounds must be 1 or more, not 0"),
            (bench + ["--model", empty], 1,
             f"bench.py: {empty}: too short for a safetensors header"),
            (bench + ["--model", text], 1, f"bench.py: {text}: header length"),
            (bench + ["--model", MODEL, "--threads", "999"], 2,
             "bench.py: error: --threads must be from 0 (one per processor) to 256, not 999"),
            (bench + ["--model", MODEL, "--bench", os.path.join(tmp, "none")], 2,
             f"bench.py: error: --bench {os.path.join(tmp, 'none')}: no sanl-bench to run"),
        ])


def case_eval_options():
    """sanl-eval's bad options; eval.py allows the same --threads, in the same words."""
    ev = tool("sanl-eval")
    base = [ev, "--model", MODEL, "--data", "/nonexistent"]
    cases = [
        (base + ["--layout", "voc"], 2, '--layout must be fld, deepfashion or coco, not "voc"'),
        (base + ["--attention", "soft"], 2, '--attention must be gradcam or none, not "soft"'),
        (base + ["--threads", "-1"], 2, "to 256, not -1"),
        (base + ["stray"], 2, 'unexpected argument "stray"'),
    ]
    twin = [sys.executable, os.path.join(TORCH_DIR, "eval.py"), "--model", MODEL, "--data",
            "/nonexistent"]
    for threads in ("999", "-1"):
        message = f"--threads must be from 0 (one per processor) to 256, not {threads}"
        cases.append((base + ["--threads", threads], 2, f"sanl-eval: {message}"))
        if have_torch():
            cases.append((twin + ["--threads", threads], 2, f"eval.py: {message}"))
    return check_all(cases)


def case_eval_progress_on_terminal():
    """sanl-eval counts pictures on stderr only when it is a terminal: piped, its
    stderr stays empty."""
    with tempfile.TemporaryDirectory() as data:
        subprocess.run([tool("sanl-synth"), "--out", data, "--count", "2", "--size",
                        "64x64", "--val-every", "1"], check=True)
        cmd = [tool("sanl-eval"), "--model", MODEL, "--data", data]
        code, out, err = run(cmd)
        if code != 0 or err or not out.splitlines()[-1].startswith("NE "):
            print(f"FAIL: piped: exit {code}, stderr {err!r}")
            return 1
        # The terminal stays open on this side until its last line has come
        # through: the kernel hands pty output over asynchronously, so a read
        # right after the tool exits may find nothing yet.
        leader, follower = pty.openpty()
        try:
            code = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=follower).returncode
            shown, deadline = b"", time.monotonic() + 10
            while not shown.endswith(b"\n") and time.monotonic() < deadline:
                if select.select([leader], [], [], 0.5)[0]:
                    shown += os.read(leader, 4096)
        finally:
            os.close(follower)
            os.close(leader)
        if code != 0 or not re.match(rb"(\r[0-9]+/[0-9]+)+\r\n$", shown):
            print(f"FAIL: on a terminal: exit {code}, stderr {shown!r}")
            return 1
        return 0


def write_one_garment(folder, box, row="img/g.png 1 1" + " 0 10 10" * 6, box_row=None,
                      count=1):
    """An FLD folder of one val picture (the 64x48 fixture garment, copied) with box
    and the landmark row row; box_row replaces the whole box row, count the
    lists' first lines."""
    os.makedirs(os.path.join(folder, "img"), exist_ok=True)
    shutil.copy(IMAGE, os.path.join(folder, "img", "g.png"))
    lists = {"list_landmarks.txt": row, "list_bbox.txt": box_row or "img/g.png " + box,
             "list_eval_partition.txt": "img/g.png val"}
    for name, line in lists.items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(f"{count}\nheader\n{line}\n")


def case_eval_bad_boxes():
    """sanl-eval and eval.py refuse a box without area, with --whole too, and a box off
    the picture, in one line naming the picture; eval.py names a missing picture."""
    ev = tool("sanl-eval")
    twin = [sys.executable, os.path.join(SOURCE_ROOT, "sanl", "torch", "eval.py")]
    width, height = png_size(IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        flat, away, gone = (os.path.join(tmp, n) for n in ("flat", "away", "gone"))
        write_one_garment(flat, "5 5 30 5")
        write_one_garment(away, "5000 5000 5100 5100")
        write_one_garment(gone, "5 5 30 30")
        os.remove(os.path.join(gone, "img", "g.png"))
        cases = []
        for cmd in ([ev], twin) if have_torch() else ([ev],):
            for extra in ([], ["--whole"]):
                cases.append((cmd + ["--model", MODEL, "--data", flat] + extra, 1,
                              "img/g.png: box 5,5 - 30,5 has no area"))
            cases.append((cmd + ["--model", MODEL, "--data", away, "--whole"], 1,
                          f"img/g.png: box 5000,5000 - 5100,5100 lies outside the "
                          f"{width}x{height} picture"))
        if have_torch():
            cases.append((twin + ["--model", MODEL, "--data", gone], 1, "img/g.png"))
        return check_all(cases)


def write_coco(folder, change):
    """A COCO folder of one val picture (the fixture garment) and one good
    annotation, its members changed as change says (None: removed)."""
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    shutil.copy(IMAGE, os.path.join(folder, "images", "g.png"))
    ann = {"id": 7, "image_id": 1, "bbox": [5, 5, 25, 25], "keypoints": [10, 10, 2] * 8}
    ann.update(change)
    ann = {k: v for k, v in ann.items() if v is not None}
    with open(os.path.join(folder, "val.json"), "w") as f:
        json.dump({"images": [{"id": 1, "file_name": "g.png"}], "annotations": [ann]}, f)


def both_refuse(folders):
    """folders: (folder, extra options, message). sanl-eval and (with PyTorch)
    eval.py each exit 1 with that one-line message after the program's name."""
    twin = [sys.executable, os.path.join(SOURCE_ROOT, "sanl", "torch", "eval.py")]
    cases = []
    for folder, extra, message in folders:
        cases.append(([tool("sanl-eval"), "--model", MODEL, "--data", folder] + extra, 1,
                      f"sanl-eval: {message}"))
        if have_torch():
            cases.append((twin + ["--model", MODEL, "--data", folder] + extra, 1,
                          f"eval.py: {message}"))
    return check_all(cases)


def case_eval_bad_fld_labels():
    """Both tools refuse the same bad FLD rows, naming the file and line: words
    that are not finite numbers, a clothes type or visibility FLD lacks, a row
    of the wrong length for its clothes type, a garment without a box, a first
    line that does not count the rows."""
    good = " 0 10 10"
    rows = {
        "x-typo": ("img/g.png 1 1 0 3x0 10" + good * 5,
                   'landmark 1: x "3x0" is not a finite number'),
        "y-nan": ("img/g.png 1 1" + good + " 0 10 nan" + good * 4,
                  'landmark 2: y "nan" is not a finite number'),
        "x-inf": ("img/g.png 2 1" + good * 3 + " 0 -inf 10",
                  'landmark 4: x "-inf" is not a finite number'),
        "x-huge": ("img/g.png 2 1 0 1e39 10" + good * 3,
                   'landmark 1: x "1e39" is not a finite number'),
        "type-1-short": ("img/g.png 1 1" + good * 4,
                         "clothes type 1 needs 6 landmarks, the row has 4"),
        "type-2-long": ("img/g.png 2 1" + good * 6,
                        "clothes type 2 needs 4 landmarks, the row has 6"),
        "type-3-short": ("img/g.png 3 1" + good * 6,
                         "clothes type 3 needs 8 landmarks, the row has 6"),
        "type-4": ("img/g.png 4 1" + good * 6, 'clothes type "4" is not 1, 2 or 3'),
        "visibility-3": ("img/g.png 1 1 3 10 10" + good * 5,
                         'landmark 1: visibility "3" is not 0, 1 or 2'),
        "half-triple": ("img/g.png 1 1" + good * 6 + " 0",
                        "the row is not an image name, clothes type, variation type and "
                        "(visibility, x, y) triples"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for name, (row, message) in rows.items():
            folder = os.path.join(tmp, name)
            write_one_garment(folder, "5 5 30 30", row=row)
            folders.append((folder, [], f"{folder}/list_landmarks.txt:3: {message}"))
        # DeepFashion's rows carry at least the type's triples
        folders.append((os.path.join(tmp, "type-1-short"), ["--layout", "deepfashion"],
                        f"{tmp}/type-1-short/list_landmarks.txt:3: clothes type 1 needs 6 "
                        "landmarks, the row has 4"))
        for name, box_row, count, message in [
                ("box-typo", "img/g.png 5 5 30 3x0", 1,
                 'list_bbox.txt:3: y_2 "3x0" is not a finite number'),
                ("box-short", "img/g.png 5 5 30", 1,
                 "list_bbox.txt:3: the row is not an image name and x_1 y_1 x_2 y_2"),
                ("no-box", "img/other.png 5 5 30 30", 1, "list_landmarks.txt:3: img/g.png "
                 f"has no row in {tmp}/no-box/list_bbox.txt"),
                ("count", None, 2, "list_landmarks.txt:1: says 2 rows, the file has 1")]:
            folder = os.path.join(tmp, name)
            write_one_garment(folder, "5 5 30 30", box_row=box_row, count=count)
            folders.append((folder, [], f"{folder}/{message}"))
        return both_refuse(folders)


def case_eval_bad_coco_labels():
    """Both tools refuse the same bad COCO annotations, naming the file and the
    annotation: a keypoint that is no finite number, a visibility COCO lacks, a
    missing box, an image id without an image."""
    changes = {
        "x-string": ({"keypoints": ["a", 10, 2] + [10, 10, 2] * 7},
                     "keypoint 1: x is not a finite number"),
        "y-huge": ({"keypoints": [10, 10, 2, 10, 1e39, 2] + [10, 10, 2] * 6},
                   "keypoint 2: y is not a finite number"),
        "visibility-3": ({"keypoints": [10, 10, 2] * 7 + [10, 10, 3]},
                         "keypoint 8: visibility 3 is not 0, 1 or 2"),
        "visibility-true": ({"keypoints": [10, 10, True] + [10, 10, 2] * 7},
                            "keypoint 1: visibility is not a finite number"),
        "no-bbox": ({"bbox": None},
                    '"bbox" is not a list of 4 finite numbers (x, y, width, height)'),
        "bbox-short": ({"bbox": [5, 5, 25]}, '"bbox" is not a list of 4 finite numbers'),
        "no-image": ({"image_id": 2}, 'image_id 2 is not in "images"'),
        "no-image-id": ({"image_id": None}, 'no integer "image_id"'),
        "keypoints-short": ({"keypoints": [10, 10, 2] * 7},
                            '"keypoints" is not a list of 24 numbers (x, y, v of 8 landmarks)'),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for name, (change, message) in changes.items():
            folder = os.path.join(tmp, name)
            write_coco(folder, change)
            folders.append((folder, ["--layout", "coco"],
                            f"{folder}/val.json: annotations[0]: {message}"))
        return both_refuse(folders)


def case_eval_no_visible_label():
    """A split whose every label is hidden has no NE: both tools say so, not "NE nan"."""
    with tempfile.TemporaryDirectory() as tmp:
        fld, coco = os.path.join(tmp, "fld"), os.path.join(tmp, "coco")
        write_one_garment(fld, "5 5 30 30", row="img/g.png 1 1" + " 1 10 10" * 6)
        write_coco(coco, {"keypoints": [10, 10, 1] * 4 + [0, 0, 0] * 4})
        return both_refuse([
            (fld, [], f"{fld}: no landmark in split val is labelled visible"),
            (coco, ["--layout", "coco"],
             f"{coco}: no landmark in split val is labelled visible"),
        ])


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def case_train_options():
    """train.py refuses crop shares outside 0..1 or adding up past 1, and an --init file
    it cannot read, in one line."""
    if not have_torch():
        return SKIP
    with tempfile.TemporaryDirectory() as tmp:
        train = [sys.executable, os.path.join(SOURCE_ROOT, "sanl", "torch", "train.py"),
                 "--stage", "landmarks", "--out", os.path.join(tmp, "run")]
        short = os.path.join(tmp, "short.safetensors")
        with open(short, "wb") as f:
            f.write(b"\x10\x00")
        return check_all([
            (train + ["--whole-views", "nan", "0"], 2,
             "--whole-views values must be from 0 to 1, not nan"),
            (train + ["--wide-views", "0", "1.5"], 2,
             "--wide-views values must be from 0 to 1, not 1.5"),
            (train + ["--negative-views", "0.2", "-0.1"], 2,
             "--negative-views values must be from 0 to 1, not -0.1"),
            (train + ["--whole-views", "0.8", "0.1", "--wide-views", "0.3", "0"], 2,
             "add up to 1.1 for the real pool; at most 1"),
            (train + ["--synth-fraction", "-1"], 2, "--synth-fraction must be from 0 to 1"),
            (train + ["--threads", "-2"], 2,
             "--threads must be from 0 (one per processor) to 256, not -2"),
            (train + ["--init", os.path.join(tmp, "none.safetensors")], 1,
             "--init: [Errno 2] No such file or directory"),
            (train + ["--init", short], 1, "too short for a safetensors header"),
        ])


def case_train_bad_values():
    """train.py refuses an unknown config, counts and a learning rate out of
    range, a device that is not there and a stage without its data, in one
    line with exit status 2."""
    if not have_torch():
        return SKIP
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        train = [sys.executable, os.path.join(TORCH_DIR, "train.py"), "--out", out]
        landmarks = train + ["--stage", "landmarks", "--config", "tiny", "--fld", tmp]
        cases = [
            (landmarks + ["--config", "nonesuch"], 2,
             'train.py: error: --config must be one of paper, lite, tiny, not "nonesuch"'),
            (landmarks + ["--batch", "0"], 2, "train.py: error: --batch must be 1 or more, not 0"),
            (landmarks + ["--epochs", "0"], 2, "--epochs must be 1 or more, not 0"),
            (landmarks + ["--steps", "-1"], 2, "--steps must be 0 or more, not -1"),
            (landmarks + ["--limit", "-3"], 2, "--limit must be 0 or more, not -3"),
            (landmarks + ["--lr", "-1"], 2, "--lr must be a finite number, 0 or more, not -1"),
            (landmarks + ["--lr", "nan"], 2, "not nan"),
            (landmarks + ["--lr", "inf"], 2, "not inf"),
            (landmarks + ["--export-only"], 2, "--export-only needs --export FILE"),
            (train + ["--stage", "classifier"], 2,
             "train.py: error: --stage classifier needs --classes-data DIR"),
            (train + ["--stage", "landmarks", "--config", "tiny"], 2,
             "train.py: error: --stage landmarks needs --fld DIR or --synth DIR"),
            (landmarks + ["--threads", "300"], 2,
             "train.py: error: --threads must be from 0 (one per processor) to 256, not 300"),
        ]
        if not torch.cuda.is_available():
            cases.append((landmarks + ["--device", "cuda"], 2,
                          "train.py: error: --device cuda: PyTorch finds no CUDA device here"))
        return check_all(cases)


def case_train_needs_classifier():
    """The landmarks stage of a real config refuses to start from an untrained
    classifier: it needs --classifier or --init (or a run to resume)."""
    if not have_torch():
        return SKIP
    with tempfile.TemporaryDirectory() as tmp:
        landmarks = [sys.executable, os.path.join(TORCH_DIR, "train.py"), "--stage",
                     "landmarks", "--out", os.path.join(tmp, "run"), "--fld", tmp]
        words = ("train.py: error: --stage landmarks needs --classifier CHECKPOINT or "
                 "--init MODEL")
        return check_all([
            (landmarks + ["--config", "lite"], 2, words),
            (landmarks + ["--config", "paper", "--resume"], 2, words),
        ])


def case_train_limit_spans_classes():
    """--limit in the classifier stage takes each class's first file in turn
    (by name), then each one's second: the same sample every run, every
    class in it."""
    if not have_torch():
        return SKIP
    sys.path.insert(0, TORCH_DIR)
    import data
    import train

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("dress/c.jpg", "dress/a.jpg", "dress/b.jpg", "hat/a.jpg", "pants/b.jpg",
                     "pants/a.jpg"):
            os.makedirs(os.path.join(tmp, "train", os.path.dirname(name)), exist_ok=True)
            open(os.path.join(tmp, "train", name), "w").close()
        items = data.read_classes(tmp, "train")
        got = [(os.path.relpath(p, tmp), c) for p, c in train.spread_over_classes(items, 4)]
        everything = train.spread_over_classes(items, 0)
    want = [("train/dress/a.jpg", 0), ("train/hat/a.jpg", 1), ("train/pants/a.jpg", 4),
            ("train/dress/b.jpg", 0)]
    print(got)
    if got != want or everything != items:
        print(f"FAIL: expected {want}, and every item for --limit 0")
        return 1
    return 0


def case_train_out_and_empty_sets():
    """train.py says in one line, exit status 1, that --out is a file, or a
    folder inside one, and that its sets hold no train garment (a folder
    whose only garment is in val)."""
    if not have_torch():
        return SKIP
    with tempfile.TemporaryDirectory() as tmp:
        val_only, a_file = os.path.join(tmp, "val-only"), os.path.join(tmp, "file")
        write_one_garment(val_only, "5 5 40 30")
        open(a_file, "w").close()
        train = [sys.executable, os.path.join(TORCH_DIR, "train.py"), "--stage", "landmarks",
                 "--config", "tiny", "--fld", val_only, "--epochs", "1", "--steps", "1"]
        return check_all([
            (train + ["--out", a_file], 1, f"train.py: --out: [Errno 17] File exists: '{a_file}'"),
            (train + ["--out", os.path.join(a_file, "sub")], 1,
             "train.py: --out: [Errno 20] Not a directory"),
            (train + ["--out", os.path.join(tmp, "run")], 1,
             "train.py: the --fld and --synth sets hold no garment in their train splits"),
        ])


def case_train_bad_files():
    """train.py ends in one line with exit status 1 when a checkpoint, data
    set or the checkpoint to export cannot be used, naming the option."""
    if not have_torch():
        return SKIP
    sys.path.insert(0, TORCH_DIR)
    import torch
    from model import Classifier, make_config

    with tempfile.TemporaryDirectory() as tmp:
        tiny = os.path.join(tmp, "tiny-classifier.pt")
        config = make_config("tiny")
        torch.save({"model": Classifier(config["classifier"], 10).state_dict()}, tiny)
        cut = os.path.join(tmp, "cut.pt")
        with open(tiny, "rb") as f, open(cut, "wb") as g:
            g.write(f.read()[:1000])
        flat = os.path.join(tmp, "flat")
        for split in ("train", "val", "test"):
            os.makedirs(os.path.join(flat, split, "pictures"))
        train = [sys.executable, os.path.join(TORCH_DIR, "train.py"),
                 "--out", os.path.join(tmp, "run")]
        landmarks = train + ["--stage", "landmarks", "--config", "lite"]
        return check_all([
            (landmarks + ["--classifier", cut], 1,
             f"train.py: --classifier: {cut}: not a checkpoint torch.load can read"),
            (landmarks + ["--classifier", tiny], 1,
             f"train.py: --classifier: {tiny} does not fit --config lite: "
             "tensor 'layer1.1.conv1.weight' is missing"),
            (train + ["--stage", "landmarks", "--config", "tiny", "--fld", "/nonexistent"], 1,
             "train.py: --fld: /nonexistent: no list_landmarks.txt"),
            (train + ["--stage", "classifier", "--classes-data", FIXTURES], 1,
             f"train.py: --classes-data: {FIXTURES}: no split train"),
            (train + ["--stage", "classifier", "--classes-data", flat], 1,
             f"train.py: --classes-data: {flat}: no folder of train pictures named after a "
             "class"),
            (landmarks + ["--export-only", "--export", os.path.join(tmp, "m.safetensors")], 1,
             f"train.py: --export: no checkpoint {os.path.join(tmp, 'run', 'landmarks-best.pt')}"
             " to export"),
        ])


def case_infer_options():
    """sanl-infer's bad options; infer.py allows the same --threads, in the same words."""
    infer = tool("sanl-infer")
    twin = [sys.executable, os.path.join(SOURCE_ROOT, "sanl", "torch", "infer.py")]
    return check_all([
        ([infer, "--model", MODEL, "--threads", "300", IMAGE], 2,
         "--threads must be from 0 (one per processor) to 256, not 300"),
        (twin + ["--model", MODEL, "--threads", "300", IMAGE], 2,
         "infer.py: --threads must be from 0 (one per processor) to 256, not 300"),
        (twin + ["--model", MODEL, "--threads", "-1", IMAGE], 2,
         "infer.py: --threads must be from 0 (one per processor) to 256, not -1"),
        ([infer, "--model", MODEL, "--attention", "soft", IMAGE], 2,
         '--attention must be gradcam or none, not "soft"'),
        ([infer, "--model", "", IMAGE], 1,
         "sanl-infer: no model file given: the path is empty"),
    ])


def case_twin_dump_target():
    """infer.py and sanl-infer --dump refuse, before running any image, an
    empty path, a folder, a pipe and a missing folder, each in one line and
    in the same words."""
    if not have_torch():
        return SKIP
    tools = [("infer.py", [sys.executable, os.path.join(TORCH_DIR, "infer.py")]),
             ("sanl-infer", [tool("sanl-infer")])]
    with tempfile.TemporaryDirectory() as tmp:
        pipe, missing = os.path.join(tmp, "pipe"), os.path.join(tmp, "no", "out")
        os.mkfifo(pipe)
        # a reader, so that a tool that does write into the pipe finishes
        # (and fails the check) instead of waiting for one forever
        threading.Thread(target=lambda: open(pipe, "rb").read(), daemon=True).start()
        cases = []
        for name, cmd in tools:
            # the image is missing too: a tool that ran before checking would say so
            run_one = cmd + ["--model", MODEL, "--dump"]
            absent = os.path.join(tmp, "absent.png")
            cases += [
                (run_one + ["", absent], 1, f"{name}: --dump: no file given: the path is empty"),
                (run_one + [tmp, absent], 1, f"{name}: {tmp}: cannot write: not a regular file"),
                (run_one + [pipe, absent], 1, f"{name}: {pipe}: cannot write: not a regular file"),
                (run_one + [missing, absent], 1,
                 f"{name}: {missing}: cannot write: No such file or directory"),
            ]
        failures = check_all(cases)
        # nothing was said of the image: the run never started
        for _, cmd in tools:
            code, out, err = run(cmd + ["--model", MODEL, "--dump", tmp,
                                        os.path.join(tmp, "absent.png")])
            if "absent.png" in err:
                print(f"FAIL: {cmd[-1]} ran an image before refusing --dump: {err!r}")
                failures += 1
        return failures


def case_infer_dump_target():
    """--dump writes OUT itself: through a symbolic link to its target, the
    link kept; a pipe (or a link to one) is refused and left a pipe; a
    missing folder is named by OUT, not by a temporary file."""
    infer = tool("sanl-infer")
    with tempfile.TemporaryDirectory() as tmp:
        pipe, pipe_link = os.path.join(tmp, "pipe"), os.path.join(tmp, "pipe-link")
        target, link = os.path.join(tmp, "target"), os.path.join(tmp, "link")
        os.mkfifo(pipe)
        os.symlink(pipe, pipe_link)
        with open(target, "w") as f:
            f.write("old")
        os.symlink("target", link)
        missing = os.path.join(tmp, "no", "out")
        failures = check_all([
            ([infer, "--model", MODEL, "--dump", pipe, IMAGE], 1,
             f"sanl-infer: {pipe}: cannot write: not a regular file"),
            ([infer, "--model", MODEL, "--dump", pipe_link, IMAGE], 1,
             f"sanl-infer: {pipe_link}: cannot write: not a regular file"),
            ([infer, "--model", MODEL, "--dump", tmp, IMAGE], 1,
             f"sanl-infer: {tmp}: cannot write: not a regular file"),
            ([infer, "--model", MODEL, "--dump", missing, IMAGE], 1,
             f"sanl-infer: {missing}: cannot write: No such file or directory",
             {"LC_ALL": "C"}),
        ])
        code, _, err = run([infer, "--model", MODEL, "--dump", link, IMAGE])
        with open(target, "rb") as f:
            head = f.read(16)
        header = int.from_bytes(head[:8], "little")
        if code != 0 or not os.path.islink(link) or not 0 < header < 1 << 20 \
                or head[8:9] != b"{":
            print(f"FAIL: --dump through a link: exit {code}, {err.strip()}, "
                  f"link kept {os.path.islink(link)}, target starts {head!r}")
            failures = 1
        if not stat.S_ISFIFO(os.stat(pipe).st_mode) or not os.path.islink(pipe_link):
            print("FAIL: the refused pipe or its link was replaced")
            failures = 1
        help_text = run([infer, "--help"])[1]
        if "OUT.safetensors" in help_text or "the file OUT" not in help_text:
            print("FAIL: --help does not say that --dump writes the file OUT")
            failures = 1
        return failures


def case_infer_utf8_names():
    """A file name that is not UTF-8 reaches the JSON line as valid UTF-8,
    each invalid byte a U+FFFD, from sanl-infer and infer.py alike."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(os.fsencode(tmp), b"g\xff.png")
        shutil.copy(IMAGE, path)
        proc = subprocess.run([tool("sanl-infer"), "--model", MODEL, path],
                              capture_output=True)
        print(proc.stdout[:80], proc.stderr)
        try:
            line = json.loads(proc.stdout.decode("utf-8"))
        except ValueError as e:
            print(f"FAIL: the line is not UTF-8 JSON: {e}")
            return 1
        if proc.returncode != 0 or line["image"] != os.path.join(tmp, "g\ufffd.png"):
            print(f"FAIL: exit {proc.returncode}, image {line['image']!r}")
            return 1
        twin = subprocess.run([sys.executable, os.path.join(SOURCE_ROOT, "sanl", "torch",
                                                            "infer.py"), "--model", MODEL, path],
                              capture_output=True)
        try:
            twin_line = json.loads(twin.stdout.decode("utf-8"))
        except ValueError as e:
            print(f"FAIL: the twin's line is not UTF-8 JSON: {e}")
            return 1
        if twin.returncode != 0 or twin_line["image"] != line["image"]:
            print(f"FAIL: twin exit {twin.returncode}, image {twin_line['image']!r}")
            return 1
        return 0


def case_utf8_quotes():
    """Every tool sets its locale, so GLib's curly quotes reach a UTF-8
    terminal as such, not as '?'."""
    probe = run(["locale", "-a"])[1].lower().split()
    if "c.utf8" not in probe and "c.utf-8" not in probe:
        print("no C.UTF-8 locale: skipped")
        return SKIP
    utf8 = {"LC_ALL": "C.UTF-8"}
    cases = [([tool(t), "--threads", "many"], 2,
              "Cannot parse integer value \u201cmany\u201d for --threads", utf8)
             for t in ("sanl-infer", "sanl-eval", "sanl-bench")]
    cases.append(([tool("sanl-synth"), "--count", "many"], 2,
                  "Cannot parse integer value \u201cmany\u201d for --count", utf8))
    cases.append(([tool("sanl-eval"), "--model", MODEL, "--data", "/nonexistent"], 1,
                  "\u201c/nonexistent/Anno/list_landmarks.txt\u201d", utf8))
    return check_all(cases)


# ---------------------------------------------------------------------------
# $SANL_MODEL


def case_model_from_env():
    infer, ev, bench = tool("sanl-infer"), tool("sanl-eval"), tool("sanl-bench")
    failures = check_all([
        ([infer, IMAGE], 2, "need --model FILE (or $SANL_MODEL)", {"SANL_MODEL": None}),
        ([infer, IMAGE], 2, "need --model FILE (or $SANL_MODEL)", {"SANL_MODEL": ""}),
        ([infer, IMAGE], 1, "/nonexistent/env.safetensors: cannot open",
         {"SANL_MODEL": "/nonexistent/env.safetensors"}),
        ([ev, "--data", "/nonexistent"], 2, "--model FILE (or $SANL_MODEL) are required",
         {"SANL_MODEL": None}),
        ([bench, "--frames", "1"], 2, "--model FILE (or $SANL_MODEL) is required",
         {"SANL_MODEL": ""}),
        ([bench, "--frames", "1"], 1, "/nonexistent/env.safetensors: cannot open",
         {"SANL_MODEL": "/nonexistent/env.safetensors"}),
    ])

    # a good model from the environment, and --model winning over it
    code, out, err = run([infer, IMAGE], {"SANL_MODEL": MODEL})
    lines = out.splitlines()
    if code != 0 or len(lines) != 1 or json.loads(lines[0])["image"] != IMAGE:
        print(f"FAIL: SANL_MODEL={MODEL}: exit {code}, {err.strip()}")
        failures = 1
    code, _, err = run([infer, "--model", MODEL, IMAGE],
                       {"SANL_MODEL": "/nonexistent/env.safetensors"})
    if code != 0:
        print(f"FAIL: --model did not win over $SANL_MODEL: exit {code}, {err.strip()}")
        failures = 1
    code, out, err = run([bench, "--frames", "1", "--skip-peak"], {"SANL_MODEL": MODEL})
    if code != 0 or not out.startswith(f"model {MODEL} "):
        print(f"FAIL: sanl-bench with SANL_MODEL={MODEL}: exit {code}, {err.strip()}")
        failures = 1

    # sanl-eval reads the model after the data: render a two-image set
    with tempfile.TemporaryDirectory() as data:
        subprocess.run([tool("sanl-synth"), "--out", data, "--count", "2", "--size",
                        "64x64", "--val-every", "1"], check=True)
        failures |= check_all([
            ([ev, "--data", data], 1, "/nonexistent/env.safetensors: cannot open",
             {"SANL_MODEL": "/nonexistent/env.safetensors"}),
        ])
        code, out, err = run([ev, "--data", data], {"SANL_MODEL": MODEL})
        if code != 0 or not out.splitlines()[-1].startswith("NE "):
            print(f"FAIL: sanl-eval with SANL_MODEL: exit {code}, {err.strip()}")
            failures = 1

    for t in (infer, ev, bench):
        if "$SANL_MODEL" not in run([t, "--help"])[1]:
            print(f"FAIL: {os.path.basename(t)} --help does not mention $SANL_MODEL")
            failures = 1
    return failures


# ---------------------------------------------------------------------------
# Bad model files: the twin says what libsanl's loader says


def bad_models(tmp):
    """name -> path of the tiny fixture broken one way."""
    sys.path.insert(0, TORCH_DIR)
    import safetensors_io
    import torch

    tensors, metadata = safetensors_io.load(MODEL)
    config = json.loads(metadata["sanl.config"])
    config_changes = {
        "size-huge": {"input_size": 1000000},
        "size-odd": {"input_size": 100},
        "size-float": {"input_size": 96.0},
        "name-empty": {"name": ""},
        "std-zero": {"std": [0.2, 0.0, 0.2]},
        "mean-short": {"mean": [0.5, 0.5]},
        "landmarks-33": {"landmarks": [f"p{i}" for i in range(33)]},
        "classes-empty": {"classes": []},
        "steer-empty": {"attention_classes": []},
        "steer-unknown": {"attention_classes": ["dress", "hats"]},
        "steer-twice": {"attention_classes": ["skirt", "skirt"]},
        "steer-nul": {"attention_classes": ["pants\u0000xyz"]},
        "landmark-nul": {"landmarks": ["left_collar\u0000x"] + config["landmarks"][1:]},
        "classes-twice": {"classes": ["pants"] + config["classes"][1:-1] + ["pants"]},
        "block-wide": {"backbone": dict(config["backbone"], block="wide")},
        "depths-3": {"classifier": dict(config["classifier"], depths=[1, 1, 1])},
        "width-0": {"backbone": dict(config["backbone"], width=0)},
        "fpn-bool": {"fpn_channels": True},
        "head-big": {"head_channels": 4097},
        "sigma-zero": {"sigma_fine": 0},
        "sigma-string": {"sigma_coarse": "3"},
    }
    paths = {}
    for name, change in config_changes.items():
        meta = dict(metadata, **{"sanl.config": json.dumps(dict(config, **change))})
        paths[name] = os.path.join(tmp, f"{name}.safetensors")
        safetensors_io.save_file(tensors, paths[name], meta)
    for name, tensor, index, value in [("nan", "fine.out.weight", 3, float("nan")),
                                       ("inf", "backbone.bn1.running_var", 2, float("inf"))]:
        broken = dict(tensors)
        broken[tensor] = tensors[tensor].clone()
        broken[tensor].view(-1)[index] = value
        paths[name] = os.path.join(tmp, f"{name}.safetensors")
        safetensors_io.save_file(broken, paths[name], metadata)
    # escapes JSON lacks, which json-glib would take: in sanl.config ...
    for name, spelling in (("config-escape-q", "ti\\qny"), ("config-escape-U", "ti\\U0000ny"),
                           ("config-escape-short", "ti\\u00")):
        text = json.dumps(dict(config, name="tiny")).replace('"tiny"', f'"{spelling}"', 1)
        paths[name] = os.path.join(tmp, f"{name}.safetensors")
        safetensors_io.save_file(tensors, paths[name], dict(metadata, **{"sanl.config": text}))
    # ... and in the header itself, spelled into a tensor's name
    with open(MODEL, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        plain, data = f.read(size), f.read()
    header = plain.replace(b'"visibility.bias"', b'"visibility.b\\qias"', 1)
    paths["header-escape-q"] = os.path.join(tmp, "header-escape-q.safetensors")
    with open(paths["header-escape-q"], "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header + data)
    # a NUL escaped in the header itself: a tensor's name
    renamed = {("visibility.bias\u0000x" if k == "visibility.bias" else k): v
               for k, v in tensors.items()}
    paths["tensor-nul"] = os.path.join(tmp, "tensor-nul.safetensors")
    safetensors_io.save_file(renamed, paths["tensor-nul"], metadata)
    wrong = dict(tensors)
    wrong["visibility.bias"] = torch.zeros(7)
    paths["shape"] = os.path.join(tmp, "shape.safetensors")
    safetensors_io.save_file(wrong, paths["shape"], metadata)
    # a dtype libsanl does not read
    wide = dict(tensors, **{"visibility.bias": tensors["visibility.bias"].double()})
    paths["dtype-f64"] = os.path.join(tmp, "dtype-f64.safetensors")
    safetensors_io.save_file(wide, paths["dtype-f64"], metadata)
    # a format version of the future, and none
    unversioned = {k: v for k, v in metadata.items() if k != "sanl.format"}
    for name, meta in (("format-99", dict(metadata, **{"sanl.format": "99"})),
                       ("format-missing", unversioned)):
        paths[name] = os.path.join(tmp, f"{name}.safetensors")
        safetensors_io.save_file(tensors, paths[name], meta)
    # shapes no data could fill: 2^80 elements, and a dimension past 2^40
    entries = json.loads(plain)
    for name, shape in (("shape-2e80", [2 ** 40, 2 ** 40]), ("shape-dim-2e41", [2 ** 41])):
        entries["visibility.bias"]["shape"] = shape
        text = json.dumps(entries).encode()
        paths[name] = os.path.join(tmp, f"{name}.safetensors")
        with open(paths[name], "wb") as f:
            f.write(len(text).to_bytes(8, "little") + text + data)
    return paths


def case_twin_refuses_bad_models():
    """For each broken file both tools exit 1, print nothing on stdout and
    one line on stderr, the same words after the program's name."""
    if not have_torch():
        return SKIP
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in bad_models(tmp).items():
            c_code, c_out, c_err = run([tool("sanl-infer"), "--model", path, IMAGE])
            t_code, t_out, t_err = run([sys.executable, os.path.join(TORCH_DIR, "infer.py"),
                                        "--model", path, IMAGE])
            c_msg = c_err.strip().removeprefix("sanl-infer: ")
            t_msg = t_err.strip().removeprefix("infer.py: ")
            print(f"{name:14s} C  exit {c_code}: {c_msg}\n{'':14s} py exit {t_code}: {t_msg}")
            if (c_code, t_code) != (1, 1) or c_out or t_out or c_msg != t_msg \
                    or len(t_err.strip().splitlines()) != 1 or path not in t_msg:
                failures.append(name)
    if failures:
        print("FAIL:", ", ".join(failures))
        return 1
    return 0


def case_twin_size_message():
    """The exact words for the input size the twin once tried to allocate."""
    if not have_torch():
        return SKIP
    with tempfile.TemporaryDirectory() as tmp:
        path = bad_models(tmp)["size-huge"]
        return check_all([
            ([sys.executable, os.path.join(TORCH_DIR, "infer.py"), "--model", path, IMAGE],
             1, f"infer.py: {path}: sanl.config: field 'input_size' must be an integer "
                "from 64 to 4096"),
        ])


def write_png(path, width, height, depth, colour_type, rows):
    """A PNG whose one IDAT holds rows (each a filter byte, then its
    big-endian samples) compressed, whatever size the header claims."""
    def chunk(kind, body):
        return (len(body).to_bytes(4, "big") + kind + body
                + zlib.crc32(kind + body).to_bytes(4, "big"))

    head = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    head += bytes([depth, colour_type, 0, 0, 0])
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head)
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def case_twin_reads_16bit_png():
    """16-bit samples keep their high byte, as libpng's strip_16 leaves them
    for sanl-infer: in grey pictures, and in grey ones with alpha (dropped)."""
    if not have_torch():
        return SKIP
    sys.path.insert(0, TORCH_DIR)
    import infer

    samples = [0x0000, 0x00ff, 0x01ff, 0x40ff, 0xfe00, 0xffff, 0x1234]
    # rounding to 8 bits would give 0, 1, 2, 65, 253, 255, 18; clipping 0, 255, ...
    expected = [0, 0, 1, 64, 254, 255, 18]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, colour_type, pixel in (("grey", 0, lambda v: [v]),
                                         ("grey-alpha", 4, lambda v: [v, 0xffff - v])):
            row = b"\0" + b"".join(c.to_bytes(2, "big") for v in samples for c in pixel(v))
            path = os.path.join(tmp, f"{name}.png")
            write_png(path, len(samples), 2, 16, colour_type, row * 2)
            got = infer.load_rgb(path).tolist()
            print(f"{name}: {[p[0] for p in got[0]]}")
            if got != [[[b] * 3 for b in expected]] * 2:
                print(f"FAIL: {name}: expected {expected} in every channel and row")
                failures = 1
    return failures


def case_huge_image_size():
    """A header claiming more than 2^28 pixels: both tools refuse the image
    in one line, before decoding it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "huge.png")
        write_png(path, 100000, 100000, 8, 2, bytes(100))
        cases = [([tool("sanl-infer"), "--model", MODEL, path], 1,
                  f"sanl-infer: {path}: image size 100000x100000 is not supported")]
        if have_torch():
            cases.append(([sys.executable, os.path.join(TORCH_DIR, "infer.py"),
                           "--model", MODEL, path], 1,
                          f"infer.py: {path}: image size 100000x100000 is not supported"))
        return check_all(cases)


# Finite weights whose products overflow float: in the last layer (the
# category score), in the classifier's first convolution (NaN from there
# on, which ReLU must carry, as PyTorch's does) and in the landmark
# network's first one (the heatmaps).
HUGE_WEIGHTS = {"classifier.fc.weight": 1e38, "classifier.conv1.weight": 3e38,
                "backbone.conv1.weight": 3e38}


def huge_weight_models(tmp):
    """(tensor name, path) of a copy of MODEL per entry of HUGE_WEIGHTS."""
    sys.path.insert(0, TORCH_DIR)
    import safetensors_io
    import torch

    tensors, metadata = safetensors_io.load(MODEL)
    for name, value in HUGE_WEIGHTS.items():
        path = os.path.join(tmp, f"huge-{name}.safetensors")
        edited = dict(tensors, **{name: torch.full_like(tensors[name], value)})
        safetensors_io.save_file(edited, path, metadata)
        yield name, path


def case_nonfinite_outputs():
    """Outputs that overflow to NaN or infinity: both tools report the image
    and print no line, never invalid JSON; sanl-infer still dumps the raw
    outputs, to show where they went bad."""
    if not have_torch():
        return SKIP
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        dump = os.path.join(tmp, "dump.safetensors")
        for name, path in huge_weight_models(tmp):
            for cmd in ([tool("sanl-infer"), "--model", path, "--dump", dump, IMAGE],
                        [sys.executable, os.path.join(TORCH_DIR, "infer.py"), "--model", path,
                         IMAGE]):
                code, out, err = run(cmd)
                print(f"{name}: exit {code}: {err.strip()}; stdout {out.strip()[:60]!r}")
                if code != 1 or out or f"{IMAGE}: the network's outputs are not finite" not in err:
                    failures = 1
            if not os.path.exists(dump):
                print(f"FAIL: {name}: sanl-infer dumped nothing")
                failures = 1
            else:
                os.unlink(dump)
    return failures


def case_element_nonfinite_outputs():
    """sanldetect fails the pipeline with the reason when the outputs are
    not finite, rather than pass NaN landmarks downstream."""
    if not have_torch():
        return SKIP
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GST_PLUGIN_PATH_1_0": os.path.join(BUILD_ROOT, "gst"),
               "GST_REGISTRY_1_0": os.path.join(tmp, "registry.bin")}
        for name, path in huge_weight_models(tmp):
            # async=false: gst-launch-1.0 1.22 itself now and then never
            # exits when an element fails while the pipeline prerolls
            # (13 runs in 100 with identity error-after=1 on a busy machine)
            code, out, err = run(["gst-launch-1.0", "videotestsrc", "num-buffers=2", "!",
                                  "video/x-raw,width=160,height=120", "!", "videoconvert",
                                  "!", "sanldetect", f"model={path}", "!", "sanljson", "!",
                                  "fakesink", "async=false"], env=env)
            text = out + err
            print(f"{name}: exit {code}")
            if (code == 0 or "Landmark detection failed." not in text
                    or "the network's outputs are not finite" not in text):
                print(f"FAIL: {name}: exit {code}\n{text}")
                failures = 1
    return failures


# ---------------------------------------------------------------------------
# export.py


def case_export_errors():
    if not have_torch():
        return SKIP
    export = [sys.executable, os.path.join(TORCH_DIR, "export.py")]
    with tempfile.TemporaryDirectory() as tmp:
        huge = os.path.join(tmp, "huge.json")
        with open(huge, "w") as f:
            json.dump(dict(json.loads(safetensors_config()), input_size=1000000), f)
        return check_all([
            (export + ["--config", "nosuch", "--seed", "1", "--output",
                       os.path.join(tmp, "m.safetensors")], 2,
             "export.py: --config nosuch: neither a config name (paper, lite, tiny) "
             "nor a JSON file"),
            (export + ["--config", huge, "--seed", "1", "--output",
                       os.path.join(tmp, "m.safetensors")], 2,
             f"export.py: {huge}: sanl.config: field 'input_size' must be an integer"),
            (export + ["--config", "tiny", "--seed", "1", "--output", tmp], 1,
             f"export.py: {tmp}: is a directory"),
            (export + ["--config", "tiny", "--seed", "1", "--output",
                       os.path.join(tmp, "no", "m.safetensors")], 1, "does not exist"),
            (export + ["--checkpoint", os.path.join(tmp, "none.pt"), "--output",
                       os.path.join(tmp, "m.safetensors")], 1, "none.pt"),
        ])


def safetensors_config():
    sys.path.insert(0, TORCH_DIR)
    import safetensors_io

    return safetensors_io.read_metadata(MODEL)["sanl.config"]


CASES = {name[len("case_"):]: fn for name, fn in globals().items()
         if name.startswith("case_")}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print(f"usage: {sys.argv[0]} CASE; cases: {', '.join(CASES)}")
        return 2
    status = CASES[sys.argv[1]]()
    print("PASS" if status == 0 else "SKIP" if status == SKIP else "FAIL")
    return status


if __name__ == "__main__":
    sys.exit(main())
