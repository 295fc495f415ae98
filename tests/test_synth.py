"""sanl-synth is deterministic by seed and writes consistent FLD lists.

Usage: test_synth.py SANL_SYNTH CASE
"""

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile


def render(synth, out, seed, count=6):
    subprocess.run([synth, "--out", out, "--count", str(count), "--seed", str(seed)],
                   check=True)


def rows(path):
    with open(path) as f:
        lines = f.read().splitlines()
    assert int(lines[0]) == len(lines) - 2, f"{path}: count line {lines[0]}"
    return [line.split() for line in lines[2:]]


def test_same_seed_same_files(synth):
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b, \
            tempfile.TemporaryDirectory() as c:
        render(synth, a, 5)
        render(synth, b, 5)
        render(synth, c, 6)
        names = sorted(os.listdir(os.path.join(a, "img")))
        assert names == sorted(os.listdir(os.path.join(b, "img")))
        match, mismatch, errors = filecmp.cmpfiles(
            a, b, ["list_landmarks.txt", "list_bbox.txt"] + [f"img/{n}" for n in names],
            shallow=False)
        assert not mismatch and not errors, (mismatch, errors)
        assert not filecmp.cmp(os.path.join(a, "list_landmarks.txt"),
                               os.path.join(c, "list_landmarks.txt"), shallow=False)


def test_lists_agree(synth):
    """Every row names a written image; types carry 6, 4 or 8 triples; points lie in the box
    grown by the garment's own outline (they are vertices of it)."""
    with tempfile.TemporaryDirectory() as a:
        render(synth, a, 9, count=20)
        marks = rows(os.path.join(a, "list_landmarks.txt"))
        boxes = {r[0]: [float(v) for v in r[1:5]] for r in rows(os.path.join(a, "list_bbox.txt"))}
        parts = {r[0]: r[1] for r in rows(os.path.join(a, "list_eval_partition.txt"))}
        assert len(marks) == len(boxes) == len(parts) >= 20
        for r in marks:
            assert os.path.exists(os.path.join(a, r[0])), r[0]
            n = {1: 6, 2: 4, 3: 8}[int(r[1])]
            assert len(r) == 3 + 3 * n, r
            x1, y1, x2, y2 = boxes[r[0]]
            for j in range(n):
                v, x, y = int(r[3 + 3 * j]), float(r[4 + 3 * j]), float(r[5 + 3 * j])
                if v != 2:
                    assert x1 - 0.01 <= x <= x2 + 0.01 and y1 - 0.01 <= y <= y2 + 0.01, (r, j)
        assert set(parts.values()) == {"train", "val"}


def test_textures(synth):
    """--textures is deterministic too, changes the pictures but not the labels, and a
    picture it cannot decode is named and skipped."""
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
    with tempfile.TemporaryDirectory() as tmp:
        pics = os.path.join(tmp, "pics")
        os.makedirs(pics)
        for name in ("garment.png", "garment.jpg"):
            shutil.copy(os.path.join(fixtures, name), pics)
        a, b, plain = (os.path.join(tmp, n) for n in ("a", "b", "plain"))
        for out in (a, b):
            subprocess.run([synth, "--out", out, "--count", "8", "--seed", "4",
                            "--textures", pics], check=True)
        render(synth, plain, 4, count=8)
        names = sorted(os.listdir(os.path.join(a, "img")))
        match, mismatch, errors = filecmp.cmpfiles(
            a, b, ["list_landmarks.txt"] + [f"img/{n}" for n in names], shallow=False)
        assert not mismatch and not errors, (mismatch, errors)
        assert filecmp.cmp(os.path.join(a, "list_landmarks.txt"),
                           os.path.join(plain, "list_landmarks.txt"), shallow=False)
        assert any(not filecmp.cmp(os.path.join(a, "img", n), os.path.join(plain, "img", n),
                                   shallow=False) for n in names)

        with open(os.path.join(pics, "broken.jpg"), "wb") as f:
            f.write(b"\xff\xd8\xff\xe0 not a picture")
        done = subprocess.run([synth, "--out", os.path.join(tmp, "c"), "--count", "8",
                               "--seed", "4", "--textures", pics],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "skipping texture" in done.stderr and "broken.jpg" in done.stderr, done.stderr
        assert done.stderr.count("broken.jpg") == 1, done.stderr  # then never picked again

        bad = os.path.join(tmp, "bad")
        os.makedirs(bad)
        shutil.copy(os.path.join(pics, "broken.jpg"), bad)
        done = subprocess.run([synth, "--out", os.path.join(tmp, "d"), "--count", "8",
                               "--seed", "4", "--textures", bad],
                              capture_output=True, text=True)
        assert done.returncode == 1, done.stderr
        assert f"not one picture in {bad} could be read" in done.stderr, done.stderr


if __name__ == "__main__":
    globals()["test_" + sys.argv[2]](sys.argv[1])
