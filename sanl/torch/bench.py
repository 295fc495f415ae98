"""Time the PyTorch twin and the C engine on the same weights and threads.

    /usr/bin/python3 sanl/torch/bench.py --config paper --threads 2

Exports seeded random weights for the config (or takes --model), runs the
twin with Grad-CAM on a fixed input, runs build/sanl/tools/sanl-bench on
the same file and thread count, and prints as its last line
`speedup X.XX` (twin ms per frame / engine ms per frame).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="paper", help="named config to export")
    ap.add_argument("--model", help="existing model file instead of random weights")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--attention", choices=["gradcam", "none"], default="gradcam")
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "sanl", "tools",
                                                    "sanl-bench"))
    return ap.parse_args()


def time_twin(model_path, frames, attention):
    import torch

    from infer import load_model

    net = load_model(model_path)
    size = net.config["input_size"]
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    use_attention = attention == "gradcam"
    times = []
    for i in range(frames + 1):
        start = time.perf_counter()
        with torch.no_grad():
            net(x, attention=use_attention)
        if i > 0:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def time_engine(bench, model_path, frames, threads, attention):
    cmd = [bench, "--model", model_path, "--frames", str(frames),
           "--threads", str(threads), "--attention", attention]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    sys.stdout.write(out)
    for line in out.splitlines():
        if line.startswith("ms/frame "):
            return float(line.split()[1])
    raise RuntimeError("sanl-bench printed no ms/frame line")


def main():
    args = parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, HERE)
    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model
        if model_path is None:
            model_path = os.path.join(tmp, f"{args.config}.safetensors")
            subprocess.run([sys.executable, os.path.join(HERE, "export.py"),
                            "--config", args.config, "--seed", "1",
                            "--output", model_path], check=True)
        twin_ms = time_twin(model_path, args.frames, args.attention)
        engine_ms = time_engine(args.bench, model_path, args.frames, args.threads,
                                args.attention)
    print(f"twin {twin_ms:.2f} ms/frame, engine {engine_ms:.2f} ms/frame, "
          f"threads {args.threads}")
    print(f"speedup {twin_ms / engine_ms:.2f}")


if __name__ == "__main__":
    main()
