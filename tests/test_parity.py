"""Parity of the C engine (sanl-infer) with the PyTorch twin (infer.py).

    /usr/bin/python3 tests/test_parity.py CASE      (CASE: see CASES below)

Runs both tools with --dump on the case's image and model and compares
every raw output: max|c - twin| <= 1e-3 * max|twin| per tensor, the same
set of tensors with the same shapes. The decoded landmarks must agree to
0.05 heatmap pixels (0.05 * 4 / scale frame pixels), and the category,
its score and the visibilities must agree too. For the committed lite
fixture the twin's dump must also still match lite-expected.safetensors,
so a change of the twin cannot move both sides unnoticed.

Environment: SANL_SOURCE_ROOT and SANL_BUILD_ROOT (set by meson; default
to this checkout and its build/). Exits 77 (skip) when PyTorch is missing.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("SANL_SOURCE_ROOT", os.path.dirname(HERE))
BUILD_ROOT = os.environ.get("SANL_BUILD_ROOT", os.path.join(SOURCE_ROOT, "build"))
TORCH_DIR = os.path.join(SOURCE_ROOT, "sanl", "torch")
FIXTURES = os.path.join(SOURCE_ROOT, "tests", "fixtures")

TENSOR_TOL = 1e-3          # relative to the largest twin value of the tensor
LANDMARK_TOL = 0.05        # heatmap pixels
SCALAR_TOL = 1e-3          # visibility, score, category score
HEATMAP_STRIDE = 4

# case: (model, image, attention, expected twin dump or None)
CASES = {
    "lite": ("lite", "garment.png", "gradcam", "lite-expected.safetensors"),
    "lite-none": ("lite", "garment.png", "none", None),
    "lite-jpeg": ("lite", "garment.jpg", "gradcam", None),
    "paper": ("paper", "garment.png", "gradcam", None),
    # attention_classes leaves out the class the lite model ranks first on
    # the image, so Grad-CAM must steer with the runner-up
    "lite-steer": ("lite-steer", "garment.png", "gradcam", None),
}


def unsteered_top_class(model, image):
    """The class the twin ranks first on image, whatever may steer."""
    import infer
    import torch

    net = infer.load_model(model)
    out, _, _ = infer.run(net, infer.load_rgb(image), True)
    return net.config["classes"][int(torch.argmax(out["logits"][0]))]


def steered_model(image):
    """The lite fixture with its first class on image barred from steering."""
    import safetensors_io

    lite = os.path.join(FIXTURES, "lite.safetensors")
    path = os.path.join(BUILD_ROOT, "tests", "parity-lite-steer.safetensors")
    tensors, metadata = safetensors_io.load(lite)
    config = json.loads(metadata["sanl.config"])
    first = unsteered_top_class(lite, image)
    config["attention_classes"] = [c for c in config["classes"] if c != first]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    safetensors_io.save_file(tensors, path, dict(metadata, **{"sanl.config": json.dumps(config)}))
    return path, first


def model_path(name):
    """The lite fixture, or a seeded paper model exported into the build dir."""
    if name == "lite":
        return os.path.join(FIXTURES, "lite.safetensors")
    path = os.path.join(BUILD_ROOT, "tests", f"parity-{name}-seed1.safetensors")
    sources = [os.path.join(TORCH_DIR, f) for f in ("export.py", "model.py")]
    if os.path.exists(path) and all(os.path.getmtime(path) > os.path.getmtime(s)
                                    for s in sources):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".partial"
    subprocess.run([sys.executable, os.path.join(TORCH_DIR, "export.py"),
                    "--config", name, "--seed", "1", "--output", partial], check=True)
    os.replace(partial, path)
    return path


def run_tool(cmd):
    """The JSON line the tool printed for its one image."""
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: {os.path.basename(cmd[0])} exited with {proc.returncode}")
    lines = proc.stdout.splitlines()
    if len(lines) != 1:
        raise SystemExit(f"FAIL: expected one JSON line, got {len(lines)}")
    return json.loads(lines[0])


def compare_tensors(label, got, want):
    """Failures (strings) of got against want, printing each tensor's figure."""
    failures = []
    if set(got) != set(want):
        failures.append(f"{label}: tensors {sorted(got)} != {sorted(want)}")
    for name in [n for n in want if n in got]:
        a, b = got[name], want[name]
        if tuple(a.shape) != tuple(b.shape):
            failures.append(f"{label}: {name}: shape {tuple(a.shape)} != {tuple(b.shape)}")
            continue
        err = float((a.double() - b.double()).abs().max())
        ref = float(b.double().abs().max())
        ok = err <= TENSOR_TOL * ref
        print(f"{label}: {name:16s} {str(tuple(b.shape)):16s} max|a-b| {err:.3e}  "
              f"max|b| {ref:.3e}  ratio {err / ref if ref else 0.0:.2e}  "
              f"{'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{label}: {name}: max|a-b| {err:.3e} > {TENSOR_TOL} * {ref:.3e}")
    return failures


def compare_results(engine, twin, size):
    """Failures of the engine's decoded result against the twin's."""
    failures = []
    scale = size / max(twin["width"], twin["height"])
    tol = LANDMARK_TOL * HEATMAP_STRIDE / scale
    for key in ("width", "height", "category"):
        if engine[key] != twin[key]:
            failures.append(f"{key}: engine {engine[key]!r}, twin {twin[key]!r}")
    if (engine["category_score"] is None) != (twin["category_score"] is None) or (
            twin["category_score"] is not None
            and abs(engine["category_score"] - twin["category_score"]) > SCALAR_TOL):
        failures.append(f"category_score: engine {engine['category_score']}, "
                        f"twin {twin['category_score']}")
    if len(engine["landmarks"]) != len(twin["landmarks"]):
        return failures + ["landmark counts differ"]

    worst = 0.0
    for e, t in zip(engine["landmarks"], twin["landmarks"]):
        d = max(abs(e["x"] - t["x"]), abs(e["y"] - t["y"]))
        worst = max(worst, d)
        if e["name"] != t["name"] or d > tol:
            failures.append(f"{t['name']}: engine ({e['x']:.4f}, {e['y']:.4f}) twin "
                            f"({t['x']:.4f}, {t['y']:.4f}), off by {d:.4f} > {tol:.4f}")
        for key in ("score", "visibility"):
            if abs(e[key] - t[key]) > SCALAR_TOL:
                failures.append(f"{t['name']}: {key} engine {e[key]}, twin {t[key]}")
        # the flag may differ only where the visibility straddles 0.5
        if e["visible"] != t["visible"] and abs(t["visibility"] - 0.5) > SCALAR_TOL:
            failures.append(f"{t['name']}: visible engine {e['visible']}, twin {t['visible']}")
    print(f"landmarks: worst offset {worst:.5f} frame px = "
          f"{worst * scale / HEATMAP_STRIDE:.5f} heatmap px (limit {LANDMARK_TOL})")
    return failures


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        raise SystemExit(f"usage: test_parity.py {{{','.join(CASES)}}}")
    if importlib.util.find_spec("torch") is None:
        print(f"SKIP: {sys.executable} cannot import torch")
        return 77
    sys.path.insert(0, TORCH_DIR)
    import safetensors_io

    model_name, image_name, attention, expected = CASES[sys.argv[1]]
    image = os.path.join(FIXTURES, image_name)
    barred = None
    if model_name == "lite-steer":
        model, barred = steered_model(image)
    else:
        model = model_path(model_name)
    engine_bin = os.path.join(BUILD_ROOT, "sanl", "tools", "sanl-infer")
    size = json.loads(safetensors_io.read_metadata(model)["sanl.config"])["input_size"]

    with tempfile.TemporaryDirectory() as tmp:
        engine_dump = os.path.join(tmp, "engine.safetensors")
        twin_dump = os.path.join(tmp, "twin.safetensors")
        engine = run_tool([engine_bin, "--model", model, "--attention", attention,
                           "--threads", "1", "--dump", engine_dump, image])
        twin = run_tool([sys.executable, os.path.join(TORCH_DIR, "infer.py"),
                         "--model", model, "--attention", attention, "--threads", "1",
                         "--dump", twin_dump, image])
        got = safetensors_io.load_file(engine_dump)
        want = safetensors_io.load_file(twin_dump)

    failures = compare_tensors("engine vs twin", got, want)
    failures += compare_results(engine, twin, size)
    if barred is not None:
        print(f"barred from steering: {barred}; engine steered with {engine['category']}")
        if engine["category"] == barred:
            failures.append(f"category {barred} steered though attention_classes leaves it out")
    if expected:
        fixture = safetensors_io.load_file(os.path.join(FIXTURES, expected))
        failures += compare_tensors("twin vs fixture", want, fixture)

    for f in failures:
        print("FAIL:", f)
    print("PASS" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
