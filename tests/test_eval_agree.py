"""sanl-eval (the C engine) and eval.py (the PyTorch twin) give the same NE.

Renders a small synthetic set with sanl-synth, evaluates a seeded random
model on it with both, and requires every per-landmark NE and the final NE
to agree to 1e-4, once on the labelled boxes and once (--whole) on whole
pictures. Usage: test_eval_agree.py SANL_SYNTH SANL_EVAL MODEL
"""

import os
import subprocess
import sys
import tempfile

try:
    import torch  # noqa: F401
except ImportError:
    print("torch is not available", file=sys.stderr)
    sys.exit(77)

root = os.environ.get("SANL_SOURCE_ROOT",
                      os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def table(text):
    """{landmark: NE or None} and the final NE from a printed table."""
    rows, final = {}, None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "NE":
            final = float(parts[1])
        elif len(parts) == 3 and parts[0] != "landmark":
            rows[parts[0]] = None if parts[2] == "-" else float(parts[2])
    return rows, final


def main():
    synth, sanl_eval, model = sys.argv[1:4]
    for extra in ([], ["--whole"]):
        compare(synth, sanl_eval, model, extra)


def compare(synth, sanl_eval, model, extra):
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([synth, "--out", tmp, "--count", "15", "--seed", "11", "--val-every",
                        "1"], check=True)
        c_out = subprocess.run([sanl_eval, "--model", model, "--data", tmp, "--split", "val"]
                               + extra, check=True, capture_output=True, text=True).stdout
        py_out = subprocess.run([sys.executable, os.path.join(root, "sanl/torch/eval.py"),
                                 "--model", model, "--data", tmp, "--split", "val"] + extra,
                                check=True, capture_output=True, text=True).stdout
    c_rows, c_ne = table(c_out)
    py_rows, py_ne = table(py_out)
    print(c_out)
    print(py_out)
    assert c_ne is not None and py_ne is not None, "both must end with an NE line"
    assert c_rows.keys() == py_rows.keys() and len(c_rows) == 8, (c_rows, py_rows)
    for name in c_rows:
        a, b = c_rows[name], py_rows[name]
        assert (a is None) == (b is None), f"{name}: {a} vs {b}"
        if a is not None:
            assert abs(a - b) <= 1e-4, f"{name}: C {a} vs twin {b}"
    assert abs(c_ne - py_ne) <= 1e-4, f"NE: C {c_ne} vs twin {py_ne}"
    assert sum(v is not None for v in c_rows.values()) >= 6, "too few landmarks were scored"


if __name__ == "__main__":
    main()
