"""Time the PyTorch twin and the C engine on the same weights and threads.

    /usr/bin/python3 sanl/torch/bench.py --config paper --threads 2

Exports seeded random weights for the config (or takes --model), runs
build/sanl/tools/sanl-bench on it, then the twin with Grad-CAM on a fixed
input at the same thread count and on the OpenBLAS kernels the engine
reports (unless OPENBLAS_CORETYPE is set). It does so in --rounds rounds,
engine then twin, --frames frames each, and prints each round's ratio
(twin ms per frame / engine ms per frame): a machine whose speed drifts
from one minute to the next then moves both sides of a ratio alike. Of
the median round (by ratio; the lower middle one of an even count) it
prints sanl-bench's report, both sides stage by stage (the twin's stages
timed through module hooks; its attention is everything before the
backbone, Grad-CAM's forward and backward passes), and as its last line
`speedup X.XX`, that round's ratio.

    /usr/bin/python3 sanl/torch/bench.py --pipeline --model tests/fixtures/lite.safetensors \
        --threads 2 --plugin-dir build/gst

With --pipeline it times the whole element instead: it encodes a 640x360
clip with videotestsrc ! x264enc ! mp4mux, runs
`filesrc ! decodebin ! videoconvert ! sanldetect ! fakesink sync=false` on
it with a private registry, and prints as its last line `fps X.X`
(frames / the time gst-launch-1.0 reports from PLAYING to EOS).
"""

import argparse
import ctypes
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

sys.path.insert(0, HERE)
from tool_options import threads_problem  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="paper", help="named config to export")
    ap.add_argument("--model", help="existing model file instead of random weights")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads of the twin and the engine alike (0: one per processor)")
    ap.add_argument("--frames", type=int, default=10, help="timed frames per round and side")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of engine then twin; the speedup is the median round's ratio")
    ap.add_argument("--attention", choices=["gradcam", "none"], default="gradcam")
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "sanl", "tools",
                                                    "sanl-bench"))
    ap.add_argument("--pipeline", action="store_true",
                    help="time filesrc ! decodebin ! videoconvert ! sanldetect instead")
    ap.add_argument("--plugin-dir", default=os.path.join(ROOT, "build", "gst"),
                    help="folder holding libgstsanl.so (--pipeline)")
    ap.add_argument("--clip-frames", type=int, default=150,
                    help="frames in the generated clip (--pipeline)")
    args = ap.parse_args()
    if threads_problem(args.threads):
        option_error(threads_problem(args.threads))
    if not args.pipeline and not os.access(args.bench, os.X_OK):
        option_error(f"--bench {args.bench}: no sanl-bench to run there; build the project "
                     "first (meson setup build && ninja -C build)")
    for name in ("frames", "rounds", "clip_frames"):
        if getattr(args, name) < 1:
            option_error(f"--{name.replace('_', '-')} must be 1 or more, "
                         f"not {getattr(args, name)}")
    if args.model is None:
        check_config(args.config)
    args.threads = args.threads or os.cpu_count() or 1
    return args


def option_error(message):
    """Exit with status 2 and one line on stderr, as sanl-bench does."""
    print(f"bench.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def check_config(value):
    """--config must be what export.py takes: a config name or JSON file."""
    sys.path.insert(0, HERE)
    import config_check
    import export

    try:
        config_check.check_config(export.load_config(value), value)
    except config_check.ConfigError as e:
        option_error(str(e))


def load_twin(path):
    """The twin of the model file at path; a file it refuses ends the run
    with one line and exit status 1."""
    from infer import load_model

    try:
        return load_model(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"bench.py: {e}")


# The engine's stages, as sanl-bench names them, and the twin's modules
# that make them up; "attention" is everything before the backbone's stem.
STAGES = ["attention", "backbone", "sanl blocks", "pyramid", "heads"]


class StageClock:
    """Per-stage wall time of one twin forward pass, from module hooks, so
    the split follows SanlNet.forward without repeating it here."""

    def __init__(self, net):
        self.marks = {}
        bb = net.backbone
        watched = {"stem": bb.conv1, "pyramid": net.fpn, "coarse": net.coarse}
        for i in range(4):
            watched[f"layer{i}"] = getattr(bb, f"layer{i + 1}")
            watched[f"sanl{i}"] = net.sanl[i]
        for name, module in watched.items():
            module.register_forward_pre_hook(self._mark(name + ".in"))
            module.register_forward_hook(self._mark(name + ".out"))

    def _mark(self, key):
        def hook(*_):
            self.marks[key] = time.perf_counter()
        return hook

    def stages(self, start, end):
        """ms per stage of the pass that ran between start and end."""
        m = self.marks
        span = lambda a, b: (m[b] - m[a]) * 1e3  # noqa: E731
        return {
            "attention": (m["stem.in"] - start) * 1e3,
            "backbone": span("stem.in", "layer0.in")
            + sum(span(f"layer{i}.in", f"layer{i}.out") for i in range(4)),
            "sanl blocks": sum(span(f"sanl{i}.in", f"sanl{i}.out") for i in range(4)),
            "pyramid": span("pyramid.in", "pyramid.out"),
            "heads": (end - m["coarse.in"]) * 1e3,
        }


def time_twin(net, frames, attention):
    """(median ms per frame, median ms per stage) of the twin net."""
    import torch

    clock = StageClock(net)
    size = net.config["input_size"]
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    use_attention = attention == "gradcam"
    times, stages = [], {name: [] for name in STAGES}
    for i in range(frames + 1):
        start = time.perf_counter()
        with torch.no_grad():
            net(x, attention=use_attention)
        end = time.perf_counter()
        if i > 0:
            times.append((end - start) * 1e3)
            for name, ms in clock.stages(start, end).items():
                stages[name].append(ms)
    return statistics.median(times), {k: statistics.median(v) for k, v in stages.items()}


def engine_stages(out):
    """ms per stage from sanl-bench's lines; attention is forward plus backward."""
    ms = {}
    for line in out.splitlines():
        match = re.match(r"(.+?)\s+([0-9.]+) ms$", line)
        if match:
            ms[match.group(1)] = float(match.group(2))
    ms["attention"] = ms.get("attention forward", 0.0) + ms.get("attention backward", 0.0)
    return {name: ms.get(name, float("nan")) for name in STAGES}


def time_engine(bench, model_path, frames, threads, attention):
    cmd = [bench, "--model", model_path, "--frames", str(frames),
           "--threads", str(threads), "--attention", attention]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    kernels = ms = None
    for line in out.splitlines():
        if line.startswith("blas kernels "):
            kernels = line.split()[2]
        elif line.startswith("ms/frame "):
            ms = float(line.split()[1])
    if ms is None:
        raise RuntimeError("sanl-bench printed no ms/frame line")
    return ms, engine_stages(out), kernels, out


def process_blas_kernels():
    """Kernels of the OpenBLAS this process loaded with torch, or None."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None


def use_blas_kernels(name):
    """Has this process's OpenBLAS run the named kernels, as libsanl switches
    its own: OpenBLAS reads OPENBLAS_CORETYPE when it loads, and again when
    asked to choose anew (torch may have loaded it already, for --config)."""
    os.environ["OPENBLAS_CORETYPE"] = name
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.gotoblas_dynamic_quit()
        lib.gotoblas_dynamic_init()
    except (OSError, AttributeError):
        pass


def gst_env(plugin_dir, tmp):
    """Environment that sees our plugin through a private registry."""
    env = dict(os.environ)
    env["GST_PLUGIN_PATH_1_0"] = os.path.abspath(plugin_dir)
    env["GST_REGISTRY_1_0"] = os.path.join(tmp, "registry.bin")
    return env


def make_clip(path, frames, env):
    """A 640x360, 30 fps H.264 MP4 of a moving test pattern."""
    subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", f"num-buffers={frames}",
                    "pattern=ball", "!",
                    "video/x-raw,width=640,height=360,framerate=30/1", "!",
                    "x264enc", "speed-preset=ultrafast", "!", "mp4mux", "!",
                    "filesink", f"location={path}"], check=True, env=env)


def time_pipeline(args, model_path, tmp):
    """Frames per second of the element on the clip, every frame inferred."""
    env = gst_env(args.plugin_dir, tmp)
    inspect = subprocess.run(["gst-inspect-1.0", "sanldetect"], env=env,
                             capture_output=True, text=True)
    if inspect.returncode != 0:
        sys.exit(f"bench.py: no sanldetect element in {args.plugin_dir}; "
                 "build the plugin there first (meson -Dplugin=enabled)")
    clip = os.path.join(tmp, "clip.mp4")
    make_clip(clip, args.clip_frames, env)
    cmd = ["gst-launch-1.0", "filesrc", f"location={clip}", "!", "decodebin", "!",
           "videoconvert", "!", "sanldetect", f"model={model_path}",
           f"threads={args.threads}", f"attention={args.attention}", "!",
           "fakesink", "sync=false"]
    print("+ " + " ".join(cmd))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    match = re.search(r"Execution ended after (\d+):(\d+):(\d+\.\d+)", out)
    if not match:
        raise RuntimeError("gst-launch-1.0 printed no execution time")
    hours, minutes, seconds = match.groups()
    elapsed = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    print(f"{args.clip_frames} frames in {elapsed:.2f} s, threads {args.threads}")
    print(f"fps {args.clip_frames / elapsed:.1f}")


def stop_on_sigterm(signum, frame):
    """SIGTERM as an exception: the running sanl-bench or gst-launch child
    is killed and the temporary folder removed on the way out."""
    sys.exit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    args = parse_args()
    if args.pipeline:
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
        with tempfile.TemporaryDirectory() as tmp:
            model_path = args.model
            if model_path is None:
                model_path = os.path.join(tmp, f"{args.config}.safetensors")
                subprocess.run([sys.executable, os.path.join(HERE, "export.py"),
                                "--config", args.config, "--seed", "1",
                                "--output", model_path], check=True)
            time_pipeline(args, os.path.abspath(model_path), tmp)
        return
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, HERE)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model
        if model_path is None:
            model_path = os.path.join(tmp, f"{args.config}.safetensors")
            subprocess.run([sys.executable, os.path.join(HERE, "export.py"),
                            "--config", args.config, "--seed", "1",
                            "--output", model_path], check=True)
        try:
            engine = time_engine(args.bench, model_path, args.frames, args.threads,
                                 args.attention)
        except subprocess.CalledProcessError as e:
            # A file the engine refuses gets the twin loader's words, as
            # infer.py and eval.py give them; else sanl-bench's own.
            load_twin(model_path)
            sys.exit(f"bench.py: {e.stderr.strip() or e}")
        kernels = engine[2]
        # The twin's matrix products run on OpenBLAS too: the same kernels as the
        # engine's, which may have switched from the ones OpenBLAS picked at load.
        if kernels and "OPENBLAS_CORETYPE" not in os.environ:
            use_blas_kernels(kernels)
        import torch

        torch.set_num_threads(args.threads)
        net = load_twin(model_path)
        rounds = []
        for i in range(args.rounds):
            if i > 0:
                engine = time_engine(args.bench, model_path, args.frames, args.threads,
                                     args.attention)
            twin = time_twin(net, args.frames, args.attention)
            rounds.append((twin[0] / engine[0], engine, twin))
            print(f"round {i + 1}: twin {twin[0]:.2f} ms/frame, engine {engine[0]:.2f} "
                  f"ms/frame, ratio {twin[0] / engine[0]:.2f}")
        twin_kernels = process_blas_kernels()

    # the median round (the lower one of an even count) speaks for the run
    rounds.sort(key=lambda r: r[0])
    ratio, (engine_ms, stages, kernels, report), (twin_ms, twin_stages) = \
        rounds[(len(rounds) - 1) // 2]
    print(f"median round of {len(rounds)}:")
    sys.stdout.write(report)
    print(f"{'stage':<14}{'twin ms':>10}{'engine ms':>11}{'twin/engine':>13}")
    for name in STAGES:
        stage_ratio = twin_stages[name] / stages[name] if stages[name] > 0 else float("nan")
        print(f"{name:<14}{twin_stages[name]:>10.2f}{stages[name]:>11.2f}{stage_ratio:>13.2f}")
    print(f"twin {twin_ms:.2f} ms/frame, engine {engine_ms:.2f} ms/frame, "
          f"threads {args.threads}, blas kernels {kernels} (twin {twin_kernels})")
    print(f"speedup {ratio:.2f}")


if __name__ == "__main__":
    main()
