"""PyTorch twin of the SANL landmark network.

This module is the reference the C engine (libsanl) is held to. Every tensor
name in `SanlNet.state_dict()` is a tensor name in the model file, and every
architectural number comes from a config dictionary that the model file
stores as JSON under `__metadata__["sanl.config"]`.

Conventions shared with the C engine (see sanl/NETWORK.md):
- Stage l = 1..4 of a ResNet has stride 4 * 2**(l - 1).
- Grad-CAM maps are computed on the classifier's stage outputs for the
  top-scoring class, then divided by their maximum (all ones when it is 0).
- SANL pooling is a 2x2 max-pool with stride 2 that drops an odd last
  row or column (PyTorch's floor mode).
- Heatmap pixel (i, j) covers input pixels [4j, 4j + 4) x [4i, 4i + 4).
"""

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

FORMAT_VERSION = "1"

LANDMARKS = [
    "left_collar", "right_collar", "left_sleeve", "right_sleeve",
    "left_waistline", "right_waistline", "left_hem", "right_hem",
]

CLASSES = [
    "dress", "hat", "longsleeve", "outwear", "pants",
    "shirt", "shoes", "shorts", "skirt", "t-shirt",
]

# The classes with landmarks: hats and shoes have none, so their Grad-CAM
# would steer the landmark network away from the garment.
GARMENT_CLASSES = [c for c in CLASSES if c not in ("hat", "shoes")]

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

CONFIGS = {
    # The network of the paper: ResNet-101 FPN landmark network, ResNet-18
    # Grad-CAM attention generator.
    "paper": {
        "input_size": 224,
        "classifier": {"block": "basic", "depths": [2, 2, 2, 2], "width": 64},
        "backbone": {"block": "bottleneck", "depths": [3, 4, 23, 3], "width": 64},
        "fpn_channels": 256,
        "head_channels": 256,
    },
    # Small enough for real-time video on two CPU cores.
    "lite": {
        "input_size": 192,
        "classifier": {"block": "basic", "depths": [2, 2, 2, 2], "width": 16},
        "backbone": {"block": "basic", "depths": [2, 2, 2, 2], "width": 24},
        "fpn_channels": 48,
        "head_channels": 32,
    },
    # Tiny network for fast unit and fuzz tests; odd widths on purpose.
    "tiny": {
        "input_size": 96,
        "classifier": {"block": "basic", "depths": [1, 1, 1, 1], "width": 6},
        "backbone": {"block": "bottleneck", "depths": [1, 2, 1, 1], "width": 5},
        "fpn_channels": 12,
        "head_channels": 10,
    },
}


def make_config(name):
    """Return the full config dictionary for a named configuration."""
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}; known: {', '.join(CONFIGS)}")
    cfg = copy.deepcopy(CONFIGS[name])
    cfg["name"] = name
    cfg.setdefault("mean", list(IMAGENET_MEAN))
    cfg.setdefault("std", list(IMAGENET_STD))
    cfg.setdefault("landmarks", list(LANDMARKS))
    cfg.setdefault("classes", list(CLASSES))
    if cfg["classes"] == CLASSES:
        cfg.setdefault("attention_classes", list(GARMENT_CLASSES))
    cfg.setdefault("sigma_coarse", 3.0)
    cfg.setdefault("sigma_fine", 1.0)
    return cfg


def stage_channels(spec):
    """Output channels of stages 1..4 of a ResNet spec."""
    expansion = 4 if spec["block"] == "bottleneck" else 1
    return [spec["width"] * 2 ** i * expansion for i in range(4)]


# ---------------------------------------------------------------------------
# ResNet (torchvision's names, so its checkpoints load by name)


def conv_bn(cin, cout, k, stride):
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)
    return conv, nn.BatchNorm2d(cout)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, mid, stride):
        super().__init__()
        cout = mid
        self.conv1, self.bn1 = conv_bn(cin, mid, 3, stride)
        self.conv2, self.bn2 = conv_bn(mid, cout, 3, 1)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(*conv_bn(cin, cout, 1, stride))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(y + skip)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, mid, stride):
        super().__init__()
        cout = mid * 4
        self.conv1, self.bn1 = conv_bn(cin, mid, 1, 1)
        self.conv2, self.bn2 = conv_bn(mid, mid, 3, stride)
        self.conv3, self.bn3 = conv_bn(mid, cout, 1, 1)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(*conv_bn(cin, cout, 1, stride))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        skip = x if self.downsample is None else self.downsample(x)
        return F.relu(y + skip)


class ResNet(nn.Module):
    """Stem and four stages; forward returns the four stage outputs."""

    def __init__(self, spec):
        super().__init__()
        block = Bottleneck if spec["block"] == "bottleneck" else BasicBlock
        width = spec["width"]
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for i, depth in enumerate(spec["depths"]):
            mid = width * 2 ** i
            blocks = []
            for j in range(depth):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(cin, mid, stride))
                cin = mid * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.out_channels = stage_channels(spec)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        stages = []
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
            stages.append(x)
        return stages


class Classifier(ResNet):
    """Garment classifier whose Grad-CAM maps steer the SANL blocks."""

    def __init__(self, spec, num_classes):
        super().__init__(spec)
        self.fc = nn.Linear(self.out_channels[3], num_classes)

    def logits(self, stages):
        return self.fc(stages[3].mean(dim=(2, 3)))


def steering_classes(config):
    """Indices of the classes whose Grad-CAM may steer (attention_classes)."""
    names = config.get("attention_classes", config["classes"])
    return [i for i, c in enumerate(config["classes"]) if c in names]


def top_class(logits, allowed=None):
    """(N,) index of each row's largest logit among the allowed classes,
    the first on ties."""
    if allowed is None:
        return logits.argmax(dim=1)
    mask = torch.full_like(logits, float("-inf"))
    mask[:, allowed] = 0.0
    return (logits + mask).argmax(dim=1)


def gradcam(classifier, x, allowed=None):
    """Grad-CAM maps of stages 1..4 for each image's top class.

    The top class is taken among the indices in allowed (all when None).
    Returns (maps, logits): maps is a list of four (N, 1, H_l, W_l) tensors
    in [0, 1], logits is (N, num_classes). Gradients never flow back into
    the classifier's weights.
    """
    with torch.enable_grad():
        x = x.detach()
        stages = classifier(x)
        logits = classifier.logits(stages)
        top = top_class(logits.detach(), allowed)
        score = logits.gather(1, top[:, None]).sum()
        grads = torch.autograd.grad(score, stages)
    maps = []
    for a, g in zip(stages, grads):
        alpha = g.mean(dim=(2, 3), keepdim=True)
        m = F.relu((alpha * a).sum(dim=1, keepdim=True)).detach()
        peak = m.amax(dim=(2, 3), keepdim=True)
        m = torch.where(peak > 0, m / peak.clamp_min(1e-30), torch.ones_like(m))
        maps.append(m)
    return maps, logits.detach()


# ---------------------------------------------------------------------------
# Spatial-aware non-local block


class SANLBlock(nn.Module):
    """z = x + BN(W_z y), y_i = sum_j softmax_j(theta_i . phi_j) a_j g_j."""

    def __init__(self, channels):
        super().__init__()
        inner = max(channels // 2, 1)
        self.theta = nn.Conv2d(channels, inner, 1)
        self.phi = nn.Conv2d(channels, inner, 1)
        self.g = nn.Conv2d(channels, inner, 1)
        self.out = nn.Conv2d(inner, channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x, attention=None):
        n, _, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)  # (N, HW, C')
        phi = F.max_pool2d(self.phi(x), 2).flatten(2)  # (N, C', P)
        g = F.max_pool2d(self.g(x), 2).flatten(2)  # (N, C', P)
        if attention is not None:
            a = F.max_pool2d(attention, 2).flatten(2)  # (N, 1, P)
            g = g * a
        f = torch.softmax(theta @ phi, dim=2)  # (N, HW, P)
        y = (f @ g.transpose(1, 2)).transpose(1, 2)  # (N, C', HW)
        y = y.reshape(n, -1, h, w)
        return x + self.bn(self.out(y))


# ---------------------------------------------------------------------------
# Feature pyramid and heads


class FPN(nn.Module):
    """Top-down pyramid; only P2 (heads) and P5 (visibility) are smoothed."""

    def __init__(self, in_channels, channels):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)
        self.smooth2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.smooth5 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, stages):
        p = self.lateral[3](stages[3])
        p5 = p
        for i in (2, 1, 0):
            p = self.lateral[i](stages[i]) + F.interpolate(p, scale_factor=2, mode="nearest")
        return self.smooth2(p), self.smooth5(p5)


class HeatmapHead(nn.Module):
    """Two 3x3 conv-BN-ReLU layers and a 1x1 conv to K heatmaps."""

    def __init__(self, cin, channels, k):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(cin, channels, 3, 1)
        self.conv2, self.bn2 = conv_bn(channels, channels, 3, 1)
        self.out = nn.Conv2d(channels, k, 1)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.out(x)


class SanlNet(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        s = config["input_size"]
        if s % 32 != 0 or s < 64:
            raise ValueError("input_size must be a multiple of 32 and at least 64")
        k = len(config["landmarks"])
        fc = config["fpn_channels"]
        hc = config["head_channels"]
        self.classifier = Classifier(config["classifier"], len(config["classes"]))
        self.steering = steering_classes(config)
        self.backbone = ResNet(config["backbone"])
        chans = self.backbone.out_channels
        self.sanl = nn.ModuleList(SANLBlock(c) for c in chans)
        self.fpn = FPN(chans, fc)
        self.coarse = HeatmapHead(fc, hc, k)
        self.fine = HeatmapHead(fc + k, hc, k)
        self.visibility = nn.Linear(fc, k)
        self.register_buffer("mean", torch.tensor(config["mean"]).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(config["std"]).view(1, 3, 1, 1),
                             persistent=False)

    def forward(self, x, attention=True, maps=None):
        """x: normalised (N, 3, S, S). Returns a dict of every raw output.

        attention=False runs the plain non-local network (a = 1) and skips
        the classifier; maps may pass precomputed attention maps.
        """
        out = {}
        if attention and maps is None:
            maps, out["logits"] = gradcam(self.classifier, x, self.steering)
        if maps is not None:
            for i, m in enumerate(maps):
                out[f"attention.{i + 1}"] = m

        # Stem, then each stage followed by its SANL block.
        bb = self.backbone
        h = F.relu(bb.bn1(bb.conv1(x)))
        h = F.max_pool2d(h, 3, stride=2, padding=1)
        stages = []
        for i in range(4):
            h = getattr(bb, f"layer{i + 1}")(h)
            h = self.sanl[i](h, maps[i] if maps is not None else None)
            stages.append(h)

        p2, p5 = self.fpn(stages)
        coarse = self.coarse(p2)
        fine = self.fine(torch.cat([p2, coarse], dim=1))
        out["heatmaps.coarse"] = coarse
        out["heatmaps.fine"] = fine
        out["visibility"] = torch.sigmoid(self.visibility(p5.mean(dim=(2, 3))))
        return out


# ---------------------------------------------------------------------------
# Decoding (same arithmetic as sanl/sanl-decode.c)


def refine_peak(hm):
    """Sub-pixel peak of one (H, W) heatmap: (x, y, height) in heatmap pixels."""
    h, w = hm.shape
    idx = int(torch.argmax(hm))
    py, px = divmod(idx, w)
    c = float(hm[py, px])

    def offset(lo, hi):
        den = lo - 2.0 * c + hi
        if den >= 0.0:
            return 0.0
        return min(0.5, max(-0.5, 0.5 * (lo - hi) / den))

    dx = offset(float(hm[py, px - 1]), float(hm[py, px + 1])) if 0 < px < w - 1 else 0.0
    dy = offset(float(hm[py - 1, px]), float(hm[py + 1, px])) if 0 < py < h - 1 else 0.0
    return px + dx, py + dy, c


def letterbox_geometry(region, size):
    """(scale, ox, oy) placing region (x, y, w, h) centred in a size square."""
    _, _, w, h = region
    scale = size / max(w, h)
    return scale, (size - w * scale) / 2.0, (size - h * scale) / 2.0


def heatmap_to_frame(hx, hy, region, size, stride=4):
    """Heatmap pixel coordinates to frame pixel coordinates (pixel centres)."""
    scale, ox, oy = letterbox_geometry(region, size)
    ix = (hx + 0.5) * stride
    iy = (hy + 0.5) * stride
    return region[0] + (ix - ox) / scale - 0.5, region[1] + (iy - oy) / scale - 0.5


def frame_to_heatmap(x, y, region, size, stride=4):
    """Inverse of heatmap_to_frame, used to draw training targets."""
    scale, ox, oy = letterbox_geometry(region, size)
    ix = (x + 0.5 - region[0]) * scale + ox
    iy = (y + 0.5 - region[1]) * scale + oy
    return ix / stride - 0.5, iy / stride - 0.5


def decode(out, region, size, index=0):
    """Landmarks of one image: list of dicts with x, y, score, visibility."""
    fine = out["heatmaps.fine"][index]
    vis = out["visibility"][index]
    marks = []
    for k in range(fine.shape[0]):
        hx, hy, peak = refine_peak(fine[k])
        x, y = heatmap_to_frame(hx, hy, region, size)
        # A peak in the letterbox padding still names a point of the region.
        x = min(max(x, region[0] - 0.5), region[0] + region[2] - 0.5)
        y = min(max(y, region[1] - 0.5), region[1] + region[3] - 0.5)
        v = float(vis[k])
        marks.append({
            "x": x, "y": y,
            "score": min(1.0, max(0.0, peak)) * v,
            "visibility": v,
            "visible": v >= 0.5,
        })
    return marks

