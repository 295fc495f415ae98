"""Landmarks of still images with the PyTorch twin: infer.py prints what sanl-infer prints.

    /usr/bin/python3 sanl/torch/infer.py --model lite.safetensors shirt.jpg dress.png
    /usr/bin/python3 sanl/torch/infer.py --model lite.safetensors --attention none \\
        --dump outputs.safetensors shirt.png

Reads the model file (its sanl.config builds SanlNet, its tensors load into
it), decodes each image with PIL (libjpeg-turbo and libpng underneath, with
their default settings, as sanl-infer uses them), letterboxes the whole
image exactly as sanl/NETWORK.md says (preprocess.py), runs the twin in eval
mode and decodes with model.decode. Prints one JSON object per image per
line; --dump writes the last image's raw outputs as F32 tensors of a
.safetensors file with the names sanl-infer gives them.

A model file libsanl's loader would refuse (a format version other than
"1"; a dtype, shape or data span its reader refuses, see safetensors_io.py;
a config outside its rules, see config_check.py; a misshapen tensor; NaN or
infinity in a weight) is refused here with the loader's message and exit
status 1.
"""

import argparse
import json
import os
import re
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import safetensors_io  # noqa: E402
from config_check import parse_config  # noqa: E402
from model import FORMAT_VERSION, SanlNet, decode, top_class  # noqa: E402
from preprocess import letterbox  # noqa: E402
from tool_options import MAX_THREADS, threads_problem  # noqa: E402

# Most pixels an image may have, as in sanl-infer: 256 Mpixel.
MAX_PIXELS = 1 << 28

# Raw outputs in a dump, in sanl-infer's order.
DUMP_NAMES = ["input", "attention.1", "attention.2", "attention.3", "attention.4",
              "logits", "heatmaps.coarse", "heatmaps.fine", "visibility"]


def check_finite(path, state):
    """Refuse NaN and infinity in any float tensor, as libsanl's loader does:
    one would poison every output, and JSON has no spelling for them."""
    for name, t in state.items():
        if not t.is_floating_point():
            continue
        bad = torch.nonzero(~torch.isfinite(t.reshape(-1)))
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"{path}: tensor '{name}' holds {float(t.reshape(-1)[i])} "
                             f"at element {i}")


def check_shapes(path, net, state):
    """Each tensor the net knows must have the shape the config gives it."""
    for name, want in net.state_dict().items():
        if name in state and tuple(state[name].shape) != tuple(want.shape):
            raise ValueError(f"{path}: tensor '{name}' has shape {list(state[name].shape)}; "
                             f"sanl.config implies {list(want.shape)}")


def check_metadata(path, metadata):
    """The format version and a config must be there, as libsanl's loader wants."""
    version = metadata.get("sanl.format")
    if version is None:
        raise ValueError(f"{path}: metadata 'sanl.format' is missing; not a SANL model file")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: metadata 'sanl.format' is \"{version}\"; "
                         f"this version reads \"{FORMAT_VERSION}\"")
    if "sanl.config" not in metadata:
        raise ValueError(f"{path}: metadata 'sanl.config' is missing")


def load_model(path):
    """SanlNet in eval mode from a model file; F16 and BF16 tensors widened to F32."""
    tensors, metadata = safetensors_io.load(path)
    check_metadata(path, metadata)
    config = parse_config(metadata["sanl.config"], path)
    net = SanlNet(config)
    state = {name: t.float() if t.is_floating_point() else t for name, t in tensors.items()}
    check_shapes(path, net, state)
    check_finite(path, state)

    # Strict, except that num_batches_tracked may be absent.
    result = net.load_state_dict(state, strict=False)
    missing = [n for n in result.missing_keys if not n.endswith(".num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise ValueError(f"{path}: tensors do not match the config: missing {missing[:5]}, "
                         f"unexpected {result.unexpected_keys[:5]}")
    return net.eval()


def open_image(path):
    """The image at path, opened but not decoded. Pillow refuses images past
    its own bound on pixels, lower than sanl-infer's; load_rgb applies
    sanl-infer's instead."""
    bound, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        return Image.open(path)
    finally:
        Image.MAX_IMAGE_PIXELS = bound


def load_rgb(path):
    """(H, W, 3) uint8 RGB of a JPEG or PNG file, as sanl-infer decodes it:
    alpha is dropped, not blended, and 16-bit samples keep their high byte."""
    with open_image(path) as im:
        if im.format not in ("JPEG", "PNG"):
            raise ValueError("not a JPEG or PNG image")
        if im.mode == "CMYK":
            raise ValueError("CMYK JPEG images are not supported")
        width, height = im.size
        if width == 0 or height == 0 or width * height > MAX_PIXELS:
            raise ValueError(f"image size {width}x{height} is not supported")
        if im.mode.startswith("I"):
            # 16-bit grey, which Pillow holds as integers and convert() would clip
            grey = (np.asarray(im) >> 8).astype(np.uint8)
            return np.repeat(grey[:, :, None], 3, axis=2)
        return np.asarray(im.convert("RGB"))


def run(net, image, attention):
    """(outputs of one image with a batch of 1, region, input size) for an RGB image."""
    cfg = net.config
    size = cfg["input_size"]
    height, width = image.shape[:2]
    region = (0.0, 0.0, float(width), float(height))
    x = letterbox(image, region, size, cfg["mean"], cfg["std"])
    with torch.no_grad():
        out = net(x[None], attention=attention)
    out["input"] = x[None]
    return out, region, size


def display_name(path):
    """A file name as valid UTF-8 text, as sanl-infer writes it: each byte
    that is not UTF-8 (a surrogate escape in Python's view of argv) becomes
    one U+FFFD."""
    return re.sub("[\udc80-\udcff]", "\ufffd", path)


def result_json(net, path, image, out, region, size):
    """The dict sanl-infer prints for one image."""
    cfg = net.config
    category = score = None
    if "logits" in out:
        logits = out["logits"][0]
        c = int(top_class(logits[None], net.steering)[0])
        category = cfg["classes"][c]
        score = float(torch.softmax(logits, dim=0)[c])
    marks = []
    for name, mark in zip(cfg["landmarks"], decode(out, region, size)):
        marks.append({"name": name, "x": mark["x"], "y": mark["y"], "score": mark["score"],
                      "visibility": mark["visibility"], "visible": mark["visible"]})
    return {"image": display_name(path), "width": image.shape[1], "height": image.shape[0],
            "category": category, "category_score": score, "landmarks": marks}


def check_dump_target(path):
    """None when --dump may write path (a regular file, through links, or a
    new one in an existing folder), else the reason, in sanl-infer's words."""
    if not path:
        return "--dump: no file given: the path is empty"
    if os.path.exists(path) and not os.path.isfile(path):
        return f"{path}: cannot write: not a regular file"
    folder = os.path.dirname(os.path.realpath(path)) or "."
    if not os.path.isdir(folder):
        return f"{path}: cannot write: No such file or directory"
    return None


def dump(out, path, image_path, model_path):
    """Write the outputs this run made, batch dimension dropped, as F32."""
    tensors = {name: out[name][0].float().contiguous() for name in DUMP_NAMES if name in out}
    safetensors_io.save_file(tensors, path, {"image": display_name(image_path),
                                             "model": display_name(model_path)})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model file (.safetensors)")
    ap.add_argument("--attention", choices=["gradcam", "none"], default="gradcam")
    ap.add_argument("--threads", type=int, default=1,
                    help=f"torch threads, 0 to {MAX_THREADS} (0: one per processor)")
    ap.add_argument("--dump", metavar="OUT", help="write the last image's raw outputs")
    ap.add_argument("images", nargs="+", metavar="IMAGE")
    args = ap.parse_args(argv)
    if threads_problem(args.threads):
        print(f"infer.py: {threads_problem(args.threads)}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    if args.dump is not None:
        reason = check_dump_target(args.dump)
        if reason:
            print(f"infer.py: {reason}", file=sys.stderr)
            return 1

    try:
        net = load_model(args.model)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"infer.py: {e}", file=sys.stderr)
        return 1

    status = 0
    for i, path in enumerate(args.images):
        try:
            image = load_rgb(path)
        except (OSError, ValueError, SyntaxError) as e:
            print(f"infer.py: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        out, region, size = run(net, image, args.attention == "gradcam")
        line = result_json(net, path, image, out, region, size)
        try:
            print(json.dumps(line, allow_nan=False), flush=True)
        except ValueError:
            print(f"infer.py: {path}: the network's outputs are not finite", file=sys.stderr)
            status = 1
        if args.dump and i == len(args.images) - 1:
            try:
                dump(out, args.dump, path, args.model)
            except OSError as e:
                print(f"infer.py: {args.dump}: cannot write: {e.strerror}", file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
