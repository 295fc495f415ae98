"""sanl-synth is deterministic by seed and writes consistent FLD lists.

Usage: test_synth.py SANL_SYNTH CASE
"""

import filecmp
import os
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


if __name__ == "__main__":
    globals()["test_" + sys.argv[2]](sys.argv[1])
