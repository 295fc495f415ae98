"""Export SANL network weights to a .safetensors model file for libsanl.

Seeded random weights (for tests and benchmarks):
    export.py --config tiny --seed 1 --output tiny-seed1.safetensors
A trained checkpoint (a torch.save of a state_dict, or of a dict holding
one under "model" and optionally the config under "config"):
    export.py --checkpoint run/best.pt --output model.safetensors

--config takes a name from model.CONFIGS or a path to a JSON config file.
The file holds the twin's state_dict unchanged (BatchNorm statistics
included; libsanl folds them at load) and, under __metadata__,
"sanl.format" and "sanl.config" (the config as JSON).
"""

import argparse
import json
import math
import os
import pickle
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import model as twin  # noqa: E402
import safetensors_io  # noqa: E402
from config_check import ConfigError, check_config  # noqa: E402

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}

# The last BatchNorm of every residual branch (and of each SANL block) has
# its gamma shrunk to RESIDUAL_GAMMA / sqrt(blocks in the stage), so that
# the variance a stage adds stays bounded however deep it is.
RESIDUAL_GAMMA = 0.5

# Gain of the pyramid convolutions: P2 sums four laterals.
PYRAMID_GAIN = 0.25


def load_config(value):
    """A config by name from model.CONFIGS, or from a JSON file.

    Raises ConfigError, naming the value, when it is neither a known name
    nor a readable JSON object."""
    if value in twin.CONFIGS:
        return twin.make_config(value)
    if not os.path.isfile(value):
        raise ConfigError(f"--config {value}: neither a config name "
                          f"({', '.join(twin.CONFIGS)}) nor a JSON file")
    try:
        with open(value) as f:
            cfg = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"--config {value}: {e}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"--config {value}: not a JSON object")
    cfg.setdefault("name", os.path.splitext(os.path.basename(value))[0])
    cfg.setdefault("mean", list(twin.IMAGENET_MEAN))
    cfg.setdefault("std", list(twin.IMAGENET_STD))
    cfg.setdefault("landmarks", list(twin.LANDMARKS))
    cfg.setdefault("classes", list(twin.CLASSES))
    cfg.setdefault("sigma_coarse", 3.0)
    cfg.setdefault("sigma_fine", 1.0)
    return cfg


# ---------------------------------------------------------------------------
# Seeded random weights


def _uniform(shape, lo, hi, gen):
    return torch.rand(shape, generator=gen) * (hi - lo) + lo


def _init_conv(conv, gen, gain=2.0):
    """He-normal weights (fan in), small random biases."""
    fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen)
                      * math.sqrt(gain / fan_in))
    if conv.bias is not None:
        conv.bias.copy_(_uniform(conv.bias.shape, -0.1, 0.1, gen))


def _init_bn(bn, gen, gamma_scale=1.0):
    """Non-trivial statistics, so that folding them is really tested."""
    n = bn.num_features
    bn.weight.copy_(_uniform(n, 0.5, 1.5, gen) * gamma_scale)
    bn.bias.copy_(_uniform(n, -0.2, 0.2, gen))
    bn.running_mean.copy_(_uniform(n, -0.2, 0.2, gen))
    bn.running_var.copy_(_uniform(n, 0.5, 2.0, gen))
    bn.num_batches_tracked.fill_(int(torch.randint(1, 100000, (1,), generator=gen)))


def _init_linear(linear, gen):
    linear.weight.copy_(torch.randn(linear.weight.shape, generator=gen)
                        / math.sqrt(linear.in_features))
    linear.bias.copy_(_uniform(linear.bias.shape, -0.1, 0.1, gen))


def _branch_gammas(net):
    """Gamma scale of each BatchNorm closing a residual branch: bn2 of
    BasicBlocks, bn3 of Bottlenecks, the bn of SANL blocks."""
    scales = {}
    for resnet in (net.classifier, net.backbone):
        for i in range(4):
            stage = getattr(resnet, f"layer{i + 1}")
            scale = RESIDUAL_GAMMA / math.sqrt(len(stage))
            for block in stage:
                scales[block.bn3 if isinstance(block, twin.Bottleneck) else block.bn2] = scale
    for block in net.sanl:
        scales[block.bn] = RESIDUAL_GAMMA
    return scales


@torch.no_grad()
def randomize(net, seed):
    """Seeded weights keeping activations O(1) through deep networks."""
    gen = torch.Generator().manual_seed(seed)
    branch = _branch_gammas(net)
    pyramid = set(net.fpn.modules())
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            _init_conv(module, gen, PYRAMID_GAIN if module in pyramid else 2.0)
        elif isinstance(module, nn.BatchNorm2d):
            _init_bn(module, gen, branch.get(module, 1.0))
        elif isinstance(module, nn.Linear):
            _init_linear(module, gen)
    for head in (net.coarse, net.fine):
        _init_conv(head.out, gen, gain=1.0)

    # Affinity logits theta . phi sum C' products: shrink both factors by
    # C'^(1/4) so the softmax sees O(1) logits rather than a one-hot.
    for block in net.sanl:
        inner = block.theta.out_channels
        for conv in (block.theta, block.phi):
            _init_conv(conv, gen, gain=1.0)
            conv.weight.mul_(inner ** -0.25)


# ---------------------------------------------------------------------------
# Checkpoints


def load_checkpoint(path, config_arg):
    """(config, state_dict) of a checkpoint written with torch.save."""
    try:
        ckpt = torch.load(path, map_location="cpu")
    except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise OSError(f"{path}: not a checkpoint torch.load can read: {first}") from None
    config = None
    if isinstance(ckpt, dict) and isinstance(ckpt.get("model"), dict):
        config = ckpt.get("config")
        state = ckpt["model"]
    else:
        state = ckpt
    if config_arg is not None:
        config = load_config(config_arg)
    if config is None:
        raise SystemExit(f"{path}: the checkpoint holds no config; pass --config")
    # Checkpoints of nn.DataParallel prefix every name with "module.".
    if state and all(name.startswith("module.") for name in state):
        state = {name[len("module."):]: t for name, t in state.items()}
    return config, state


def load_into(net, state, path):
    """Copy state into net, refusing missing and unexpected tensors."""
    try:
        result = net.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise SystemExit(f"{path}: does not match the config: {e}")
    missing = [n for n in result.missing_keys if not n.endswith(".num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise SystemExit(f"{path}: does not match the config: missing {missing[:5]}, "
                         f"unexpected {result.unexpected_keys[:5]}")


# ---------------------------------------------------------------------------
# Writing


def export(net, config, path, dtype=torch.float32, origin=""):
    """Write net's state_dict, floats converted to dtype, with the config."""
    tensors = {}
    for name, tensor in net.state_dict().items():
        if tensor.is_floating_point():
            tensor = tensor.to(dtype)
        tensors[name] = tensor
    metadata = {
        "sanl.format": twin.FORMAT_VERSION,
        "sanl.config": json.dumps(config),
    }
    if origin:
        metadata["sanl.origin"] = origin
    safetensors_io.save_file(tensors, path, metadata)


def check_output(path):
    """Fail before any work when path cannot be written as a file."""
    if os.path.isdir(path):
        raise OSError(f"{path}: is a directory")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise OSError(f"{path}: folder {folder} does not exist")


def main(argv=None):
    """Exit status 0, 1 when a file cannot be read or written, 2 for bad arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="config name or JSON file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--seed", type=int, help="seed of random weights")
    source.add_argument("--checkpoint", help="trained checkpoint (torch.save)")
    parser.add_argument("--output", required=True, help=".safetensors file to write")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.checkpoint is None and args.config is None:
        parser.error("--seed needs --config")

    try:
        check_output(args.output)
        if args.checkpoint is not None:
            config, state = load_checkpoint(args.checkpoint, args.config)
        else:
            config = load_config(args.config)
        check_config(config, args.config or args.checkpoint)
    except ConfigError as e:
        # a bad --config is a bad argument; a checkpoint's own config, a bad file
        parser.exit(2 if args.config else 1, f"{parser.prog}: {e}\n")
    except OSError as e:
        parser.exit(1, f"{parser.prog}: {e}\n")

    net = twin.SanlNet(config)
    if args.checkpoint is not None:
        load_into(net, state, args.checkpoint)
        origin = f"checkpoint {os.path.basename(args.checkpoint)}"
    else:
        randomize(net, args.seed)
        origin = f"random, seed {args.seed}"

    try:
        export(net.eval(), config, args.output, DTYPES[args.dtype], origin)
    except OSError as e:
        parser.exit(1, f"{parser.prog}: {args.output}: {e.strerror or e}\n")


if __name__ == "__main__":
    main()
