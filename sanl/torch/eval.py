"""Normalised error (NE) of the PyTorch twin on a landmark set.

NE as the fashion landmark literature computes it: each image is cropped to
its ground-truth box (the box is the letterboxed region), predictions and
labels are divided by the box width and height, the L2 distance is taken
over landmarks labelled visible, averaged per landmark over the images, and
NE is the mean over the landmarks that occur at least once.

    /usr/bin/python3 sanl/torch/eval.py --model default.safetensors \
        --data ../shared/data/robot-fld --split val

prints the same table as sanl-eval and ends with the line `NE 0.xxxx`.
"""

import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data as D  # noqa: E402
from model import SanlNet, decode  # noqa: E402
from preprocess import letterbox  # noqa: E402
from tool_options import threads_problem  # noqa: E402


def predict(net, image, region, attention=True):
    """Decoded landmarks of one (H, W, 3) uint8 RGB image for one region."""
    cfg = net.config
    size = cfg["input_size"]
    x = letterbox(image, region, size, cfg["mean"], cfg["std"])[None]
    with torch.no_grad():
        out = net(x, attention=attention)
    return decode(out, region, size)


class NEMeter:
    """Per-landmark sums of normalised L2 errors over visible labels."""

    def __init__(self, k=D.K):
        self.sum = [0.0] * k
        self.count = [0] * k

    def add(self, marks, record):
        x1, y1, x2, y2 = record["box"]
        bw, bh = x2 - x1, y2 - y1
        for k, m in enumerate(marks):
            if record["vis"][k] != 0:
                continue
            gx, gy = record["points"][k]
            self.sum[k] += math.hypot((m["x"] - gx) / bw, (m["y"] - gy) / bh)
            self.count[k] += 1

    def per_landmark(self):
        return [s / c if c else None for s, c in zip(self.sum, self.count)]

    def ne(self):
        vals = [v for v in self.per_landmark() if v is not None]
        return sum(vals) / len(vals) if vals else float("nan")

    def table(self, names):
        lines = [f"{'landmark':<16} {'n':>5} {'NE':>8}"]
        for name, c, v in zip(names, self.count, self.per_landmark()):
            lines.append(f"{name:<16} {c:>5} " + (f"{v:>8.4f}" if v is not None else f"{'-':>8}"))
        lines.append(f"NE {self.ne():.4f}")
        return "\n".join(lines)


def check_box(path, box, width, height):
    """A labelled box must have an area and overlap its picture: NE divides
    by its sides, and a box off the picture scores pixels that are not there."""
    x1, y1, x2, y2 = box
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"{path}: box {x1:g},{y1:g} - {x2:g},{y2:g} has no area")
    if x2 < 0 or y2 < 0 or x1 > width - 1 or y1 > height - 1:
        raise ValueError(f"{path}: box {x1:g},{y1:g} - {x2:g},{y2:g} lies outside the "
                         f"{width}x{height} picture")


def has_visible_label(records, n_landmarks):
    """Whether some record labels one of the first n_landmarks visible: NE is
    the mean over those."""
    return any(0 in rec["vis"][:n_landmarks] for rec in records)


def evaluate(net, records, attention=True, images=None, progress=None, whole=False):
    """NEMeter over records; images may map a path to a preloaded image.

    whole=True analyses each whole picture instead of its ground-truth box
    (as sanldetect does before it tracks); errors are still divided by the
    box's width and height.
    """
    meter = NEMeter(len(net.config["landmarks"]))
    net.eval()
    for i, rec in enumerate(records):
        img = images[rec["path"]] if images is not None else D.load_rgb(rec["path"])
        check_box(rec["path"], rec["box"], img.shape[1], img.shape[0])
        if whole:
            region = (0.0, 0.0, float(img.shape[1]), float(img.shape[0]))
        else:
            region = D.gt_region(rec["box"])
        marks = predict(net, img, region, attention)
        meter.add(marks, rec)
        if progress:
            progress(i + 1, len(records))
    return meter


def load_net(path):
    """SanlNet from a model file (.safetensors) or a training checkpoint (.pt)."""
    if path.endswith(".pt"):
        ckpt = torch.load(path, map_location="cpu")
        net = SanlNet(ckpt["config"])
        net.load_state_dict(ckpt["model"])
        return net
    import json

    import safetensors_io
    tensors, meta = safetensors_io.load(path)
    net = SanlNet(json.loads(meta["sanl.config"]))
    result = net.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise ValueError(f"{path}: missing {missing[:3]}, unexpected {result.unexpected_keys[:3]}")
    return net


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help=".safetensors model or .pt checkpoint")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--layout", default="fld", choices=["fld", "deepfashion", "coco"])
    ap.add_argument("--attention", default="gradcam", choices=["gradcam", "none"])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (0: one per processor)")
    ap.add_argument("--whole", action="store_true",
                    help="analyse whole pictures, not the labelled boxes")
    args = ap.parse_args()
    if threads_problem(args.threads):
        print(f"eval.py: {threads_problem(args.threads)}", file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    try:
        net = load_net(args.model).float().eval()
        records = D.read_landmarks(args.data, args.split, args.layout)
        if not records:
            sys.exit(f"eval.py: {args.data}: no images in split {args.split}")
        if not has_visible_label(records, len(net.config["landmarks"])):
            sys.exit(f"eval.py: {args.data}: no landmark in split {args.split} is labelled "
                     "visible")
        meter = evaluate(net, records, attention=args.attention == "gradcam", whole=args.whole)
    except (OSError, ValueError, KeyError) as e:
        # PIL's UnidentifiedImageError is an OSError
        sys.exit(f"eval.py: {e}")
    print(meter.table(net.config["landmarks"]))


if __name__ == "__main__":
    main()
