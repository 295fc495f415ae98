"""Train the SANL network: the garment classifier, then the landmark network.

Stage 1, the attention generator (SanlNet.classifier) on a folder-per-class
set; reports top-1 accuracy on its test split:

    /usr/bin/python3 sanl/torch/train.py --stage classifier --config lite \
        --classes-data ../shared/data/clothing-small --out runs/cls --epochs 8

The same stage with `--spec backbone` trains a classifier shaped like the
landmark backbone, only to initialise that backbone (`--backbone-init`).

Stage 2, the whole SanlNet with the classifier frozen (loaded from stage 1),
Grad-CAM maps from it, loss = MSE on coarse and fine heatmaps over visible
landmarks + BCE on visibility; NE on the val splits every epoch:

    /usr/bin/python3 sanl/torch/train.py --stage landmarks --config lite \
        --classifier runs/cls/classifier-best.pt --fld ../shared/data/robot-fld \
        --fld ../shared/data/clothing-fld --out runs/lm --epochs 30 \
        --export sanl/models/default.safetensors

Checkpoints go to OUT/<stage>-last.pt and OUT/<stage>-best.pt; `--resume`
continues from the last one. Multi-process: `torchrun --nproc_per_node N
train.py ...` (gloo on CPU, nccl on CUDA); each process reads its share.
Debian 12's torchrun (torch 1.13 on Python 3.11) fails parsing its default
output redirection; pass `--redirects 1 --tee 1` to it.
"""

import argparse
import hashlib
import itertools
import math
import os
import pickle
import random
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data as D  # noqa: E402
import eval as E  # noqa: E402
from model import CONFIGS, Classifier, SanlNet, gradcam, make_config  # noqa: E402
from tool_options import threads_problem  # noqa: E402

# Heatmap MSE is tiny next to the BCE (a sigma-1 Gaussian covers ~3 of 2304
# pixels), so it is scaled up to dominate the loss.
HEATMAP_WEIGHT = 1000.0
VISIBILITY_WEIGHT = 1.0
# A view counts as holding no garment when no garment box has more than
# this share of its area in it, nor covers more than this share of the view.
NEGATIVE_MAX_OVERLAP = 0.1
# Val pictures whose empty views are scored each epoch.
NEGATIVE_VAL = 60


# ---------------------------------------------------------------------------
# Process group, progress, checkpoints


class Dist:
    def __init__(self, device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local = int(os.environ.get("LOCAL_RANK", "0"))
        if self.world > 1:
            dist.init_process_group("nccl" if device == "cuda" else "gloo")
        self.device = torch.device(f"cuda:{self.local}" if device == "cuda" else "cpu")
        if device == "cuda":
            torch.cuda.set_device(self.device)

    @property
    def main(self):
        return self.rank == 0

    def wrap(self, module):
        if self.world == 1:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def shard(self, items):
        return items[self.rank::self.world]

    def mean(self, value):
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(t)
        return float(t) / self.world

    def barrier(self):
        if self.world > 1:
            dist.barrier()


class Progress:
    """One line on stderr, rewritten in place."""

    def __init__(self, enabled, label, total):
        self.enabled = enabled and total > 0
        self.label = label
        self.total = total
        self.start = time.time()
        self.last = 0.0

    def update(self, i, **info):
        now = time.time()
        if not self.enabled or (now - self.last < 0.5 and i < self.total):
            return
        self.last = now
        done = int(30 * i / self.total)
        rate = i / max(now - self.start, 1e-9)
        eta = (self.total - i) / max(rate, 1e-9)
        extra = " ".join(f"{k} {v:.4g}" for k, v in info.items())
        sys.stderr.write(f"\r{self.label} [{'#' * done}{'.' * (30 - done)}] {i}/{self.total} "
                         f"{extra} eta {eta:4.0f}s ")
        if i >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def save(path, **state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def log(d, msg):
    if d.main:
        print(msg, flush=True)


def file_error(option, message):
    """Exit with status 1 and one line naming the option whose file failed."""
    raise SystemExit(f"train.py: {option}: {message}")


def load_checkpoint(option, path):
    """The dict that train.py saved at path; any other file ends the run."""
    try:
        ck = torch.load(path, map_location="cpu")
    except OSError as e:
        file_error(option, e)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        file_error(option, f"{path}: not a checkpoint torch.load can read: {first}")
    if not isinstance(ck, dict) or not isinstance(ck.get("model"), dict):
        file_error(option, f"{path}: not a checkpoint of train.py (no 'model' in it)")
    return ck


def load_weights(module, state, option, path, config):
    """Copy state into module; tensors that do not fit end the run, the
    first of them named."""
    own = module.state_dict()
    problems = [f"tensor '{k}' is missing" for k in own if k not in state]
    problems += [f"tensor '{k}' is not in the network" for k in state if k not in own]
    problems += [f"tensor '{k}' has shape {list(state[k].shape)}, not {list(own[k].shape)}"
                 for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if problems:
        more = f" ({len(problems) - 1} more)" if len(problems) > 1 else ""
        file_error(option, f"{path} does not fit --config {config}: {problems[0]}{more}")
    module.load_state_dict(state)


def read_set(option, read, *args):
    """read(*args) of a data set; a set that cannot be read ends the run."""
    try:
        return read(*args)
    except (OSError, ValueError, KeyError, IndexError) as e:
        file_error(option, e)


# ---------------------------------------------------------------------------
# Augmentation


def colour_jitter(x, rng, strength=0.3):
    """x: (3, H, W) 0..255. Brightness, contrast, saturation and channel gains."""
    b = 1 + rng.uniform(-strength, strength)
    c = 1 + rng.uniform(-strength, strength)
    s = 1 + rng.uniform(-strength, strength)
    gains = torch.tensor([1 + rng.uniform(-0.1, 0.1) for _ in range(3)]).view(3, 1, 1)
    grey = x.mean(dim=0, keepdim=True)
    x = grey + (x - grey) * s
    x = (x - x.mean()) * c + x.mean()
    return (x * b * gains).clamp(0, 255)


def classifier_sample(img, size, cfg, rng, train):
    """Whole image letterboxed, with scale/shift/rotation/flip jitter when training."""
    _, h, w = img.shape
    region = (0.0, 0.0, float(w), float(h))
    if not train:
        return D.warp(img, region, size, cfg["mean"], cfg["std"])
    z = math.exp(rng.uniform(-0.25, 0.15))
    rw, rh = w * z, h * z
    region = (rng.uniform(min(0, w - rw), max(0, w - rw)),
              rng.uniform(min(0, h - rh), max(0, h - rh)), rw, rh)
    img = colour_jitter(img, rng)
    return D.warp(img, region, size, cfg["mean"], cfg["std"],
                  rot=math.radians(rng.uniform(-10, 10)), flip=rng.random() < 0.5)


def landmark_region(rec_box, frame_wh, rng, whole=0.15, wide=0.20):
    """A training crop: the whole picture (share whole), a wide view (share
    wide), else the garment box plus a jittered margin.

    Wide views put the garment at a fifth to a half of the region's longer
    side (the whole frame when it is that wide), as the element sees
    garments in full-frame mode; box views match its tracked crops.
    """
    x1, y1, x2, y2 = rec_box
    bw, bh = x2 - x1, y2 - y1
    fw, fh = frame_wh
    u = rng.random()
    if u < whole:
        return (0.0, 0.0, float(fw), float(fh))
    if u < whole + wide:
        side = max(bw, bh) * math.exp(rng.uniform(math.log(2.0), math.log(5.0)))
        cx = x1 + bw / 2 + rng.uniform(-0.5, 0.5) * (side - bw)
        cy = y1 + bh / 2 + rng.uniform(-0.5, 0.5) * (side - bh)
        return (cx - side / 2, cy - side / 2, side, side)
    m = rng.uniform(0.0, 0.25)
    x, y, w, h = D.box_region(rec_box, m)
    z = math.exp(rng.uniform(-0.1, 0.15))
    cx = x + w / 2 + rng.uniform(-0.08, 0.08) * w
    cy = y + h / 2 + rng.uniform(-0.08, 0.08) * h
    return (cx - w * z / 2, cy - h * z / 2, w * z, h * z)


def box_overlap(box, region):
    """Area shared by an (x1, y1, x2, y2) box and an (x, y, w, h) region, as
    a share of the box's area and of the region's."""
    x1, y1, x2, y2 = box
    rx, ry, rw, rh = region
    iw = max(0.0, min(x2, rx + rw) - max(x1, rx))
    ih = max(0.0, min(y2, ry + rh) - max(y1, ry))
    shared = iw * ih
    return (shared / max((x2 - x1) * (y2 - y1), 1e-6), shared / max(rw * rh, 1e-6))


def negative_region(boxes, frame_wh, rng, tries=20):
    """A square view inside the picture that holds no labelled garment: no
    garment box has more than a tenth of its area in it, nor fills more than
    a tenth of it. Its side is a fifth to the
    whole of the picture's shorter side, the sizes of the regions the
    element looks at. None when `tries` draws find no such view."""
    fw, fh = frame_wh
    short = min(fw, fh)
    for _ in range(tries):
        side = short * math.exp(rng.uniform(math.log(0.2), 0.0))
        region = (rng.uniform(0.0, fw - side), rng.uniform(0.0, fh - side), side, side)
        if all(max(box_overlap(b, region)) <= NEGATIVE_MAX_OVERLAP for b in boxes):
            return region
    return None


def negative_sample(img, cfg, rng, region, n_landmarks):
    """A view without a garment: every landmark's visibility target is 0
    and no heatmap target counts (the loss masks heatmaps by visibility),
    so the network learns to score such regions low."""
    size = cfg["input_size"]
    hs = size // 4
    x = D.warp(colour_jitter(img, rng), region, size, cfg["mean"], cfg["std"],
               flip=rng.random() < 0.5)
    empty = torch.zeros(n_landmarks, hs, hs)
    return x, empty, empty.clone(), torch.zeros(n_landmarks)


def landmark_sample(item, cfg, rng, train, views=(0.15, 0.20, 0.0)):
    """(input, coarse target, fine target, visibility target) of one record;
    views: the shares of whole-picture and wide training crops and, drawn
    first, of views that hold no garment (negative)."""
    img, rec = item["image"].float(), item["rec"]
    size = cfg["input_size"]
    f = item["factor"]
    box = [(v + 0.5) * f - 0.5 for v in rec["box"]]
    pts = (rec["points"] + 0.5) * f - 0.5
    vis = rec["vis"]
    _, h, w = img.shape
    negative = views[2] if len(views) > 2 else 0.0
    views = views[:2]
    if item.get("secondary"):
        views = (0.0, 0.0)
    if train and negative > 0.0 and rng.random() < negative:
        boxes = [[(v + 0.5) * f - 0.5 for v in b] for b in item.get("picture_boxes", [rec["box"]])]
        region = negative_region(boxes, (w, h), rng)
        if region is not None:
            return negative_sample(img, cfg, rng, region, len(vis))
    if train:
        region = landmark_region(box, (w, h), rng, *views)
        rot = math.radians(rng.uniform(-20, 20)) if rng.random() < 0.7 else 0.0
        flip = rng.random() < 0.5
        img = colour_jitter(img, rng)
    else:
        region, rot, flip = D.gt_region(box), 0.0, False
    x = D.warp(img, region, size, cfg["mean"], cfg["std"], rot=rot, flip=flip)
    pts, vis = D.augment_points(pts, vis, region, rot, flip)
    vis = vis.copy()
    hs = size // 4
    for k in range(len(vis)):
        hx, hy = D.frame_to_heatmap(float(pts[k, 0]), float(pts[k, 1]), region, size)
        if vis[k] != D.ABSENT and not (-0.5 <= hx < hs - 0.5 and -0.5 <= hy < hs - 0.5):
            vis[k] = 2
    coarse = D.heatmap_targets(pts, vis, region, size, cfg["sigma_coarse"])
    fine = D.heatmap_targets(pts, vis, region, size, cfg["sigma_fine"])
    return x, coarse, fine, torch.from_numpy((vis == 0).astype(np.float32))


# ---------------------------------------------------------------------------
# Stage 1: classifier


def load_class_images(items, max_side, d, label):
    prog = Progress(d.main, label, len(items))
    out = []
    for i, (path, c) in enumerate(items):
        img, _ = D.load_scaled(path, max_side)
        out.append((D.to_tensor(img).to(torch.uint8), c))
        prog.update(i + 1)
    return out


def accuracy(model, images, size, cfg, d, batch=32):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            chunk = images[i:i + batch]
            x = torch.stack([classifier_sample(im.float(), size, cfg, None, False)
                             for im, _ in chunk]).to(d.device)
            y = torch.tensor([c for _, c in chunk], device=d.device)
            pred = model.logits(model(x)).argmax(1)
            correct += int((pred == y).sum())
    return correct / max(len(images), 1)


def read_class_split(root, split, classes):
    """(path, class index) pairs of one split of a folder-per-class set; a
    split without a folder named after a class ends the run."""
    items = read_set("--classes-data", D.read_classes, root, split, classes)
    if not items:
        file_error("--classes-data", f"{root}: no folder of {split} pictures named after a "
                   f"class ({', '.join(classes)}); not a folder-per-class set")
    return items


def spread_over_classes(items, limit):
    """The first `limit` (path, class index) pairs when each class gives its
    first file in turn, then its second, and so on: a small sample holds
    every class, and the same one each run. All items, as they are, when
    limit is 0."""
    if not limit:
        return items
    by_class = {}
    for item in items:
        by_class.setdefault(item[1], []).append(item)
    turns = itertools.zip_longest(*by_class.values())
    return [item for turn in turns for item in turn if item is not None][:limit]


def train_classifier(args, d):
    cfg = make_config(args.config)
    spec = cfg["classifier"] if args.spec == "classifier" else cfg["backbone"]
    size = args.size or cfg["input_size"]
    name = "classifier" if args.spec == "classifier" else "backbone"
    model = Classifier(spec, len(cfg["classes"])).to(d.device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    last = os.path.join(args.out, f"{name}-last.pt")
    epoch0, best = 0, -1.0
    if args.resume and os.path.exists(last):
        ck = load_checkpoint("--resume", last)
        load_weights(model, ck["model"], "--resume", last, args.config)
        opt.load_state_dict(ck["opt"])
        epoch0, best = ck["epoch"] + 1, ck["best"]
        log(d, f"resumed {last} at epoch {epoch0}")

    # every split is listed before any training, so a set without one fails early
    splits = {split: read_class_split(args.classes_data, split, cfg["classes"])
              for split in ("train", "val", "test")}
    max_side = int(size * 1.25)
    train = spread_over_classes(d.shard(splits["train"]), args.limit)
    train = load_class_images(train, max_side, d, "loading train")
    val = load_class_images(spread_over_classes(splits["val"], args.limit), max_side, d,
                            "loading val")
    net = d.wrap(Logits(model))
    steps = args.steps or len(train) // args.batch
    total = args.epochs * steps
    rng = random.Random(1234 + d.rank)
    for epoch in range(epoch0, args.epochs):
        model.train()
        rng.shuffle(train)
        prog = Progress(d.main, f"{name} epoch {epoch}", steps)
        run_loss = 0.0
        for s in range(steps):
            lr = args.lr * 0.5 * (1 + math.cos(math.pi * (epoch * steps + s) / max(total, 1)))
            for g in opt.param_groups:
                g["lr"] = lr
            chunk = train[s * args.batch:(s + 1) * args.batch]
            x = torch.stack([classifier_sample(im.float(), size, cfg, rng, True)
                             for im, _ in chunk]).to(d.device)
            y = torch.tensor([c for _, c in chunk], device=d.device)
            loss = F.cross_entropy(net(x), y, label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run_loss = 0.9 * run_loss + 0.1 * float(loss) if s else float(loss)
            prog.update(s + 1, loss=run_loss, lr=lr)
        acc = accuracy(model, val, size, cfg, d)
        state = dict(model=model.state_dict(), opt=opt.state_dict(), epoch=epoch,
                     best=max(best, acc), config=cfg, spec=spec, size=size)
        if d.main:
            save(last, **state)
            if acc > best:
                save(os.path.join(args.out, f"{name}-best.pt"), **state)
        best = max(best, acc)
        log(d, f"epoch {epoch} loss {run_loss:.4f} val top-1 {acc:.4f} best {best:.4f}")
    if d.main:
        ck = torch.load(os.path.join(args.out, f"{name}-best.pt"), map_location="cpu")
        model.load_state_dict(ck["model"])
        test = load_class_images(splits["test"], max_side, d, "loading test")
        acc = accuracy(model, test, size, cfg, d)
        log(d, f"test top-1 {acc:.4f} ({len(test)} images, best val epoch {ck['epoch']})")


# ---------------------------------------------------------------------------
# Stage 2: landmarks


def load_landmark_items(records, max_side, d, label):
    prog = Progress(d.main, label, len(records))
    items = []
    for i, rec in enumerate(records):
        img, f = D.load_scaled(rec["path"], max_side)
        items.append({"image": D.to_tensor(img).to(torch.uint8), "factor": f, "rec": rec})
        prog.update(i + 1)
    mark_shared_pictures(items)
    return items


def mark_shared_pictures(items):
    """Flag all but one garment of each picture labelled for several.

    A person in a top and trousers is two records of one picture. Seen
    whole, that picture would be asked for the top's landmarks in one
    sample and the trousers' in the next, and the network would learn their
    average. So only the first upper-body or full-body garment of a picture
    (else its first garment) keeps whole and wide views; the others
    ("secondary") are trained on their own box crops. Pictures count as the
    same when their files hold the same bytes.
    """
    groups = {}
    for item in items:
        with open(item["rec"]["path"], "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()
        groups.setdefault(digest, []).append(item)
    for group in groups.values():
        primary = next((it for it in group if it["rec"]["type"] in (1, 3)), group[0])
        boxes = [it["rec"]["box"] for it in group]
        for item in group:
            item["secondary"] = item is not primary
            item["picture_boxes"] = boxes


def structure(cfg):
    """A config without the fields that leave the network's tensors alone."""
    return {k: v for k, v in cfg.items() if k != "attention_classes"}


def build_net(args, cfg):
    net = SanlNet(cfg)
    if args.init:
        import infer
        try:
            start = infer.load_model(args.init)
        except (OSError, ValueError) as e:
            raise SystemExit(f"train.py: --init: {e}") from None
        # which classes steer is a choice of this run, not of the network
        if structure(start.config) != structure(cfg):
            raise SystemExit(f"train.py: --init: {args.init} holds a '{start.config.get('name')}' "
                             f"network, not --config {args.config}")
        net.load_state_dict(start.state_dict())
        print(f"every tensor from {args.init}")
    if args.classifier:
        ck = load_checkpoint("--classifier", args.classifier)
        load_weights(net.classifier, ck["model"], "--classifier", args.classifier, args.config)
    if args.backbone_init:
        ck = load_checkpoint("--backbone-init", args.backbone_init)
        own = net.backbone.state_dict()
        taken = {k: v for k, v in ck["model"].items() if k in own and own[k].shape == v.shape}
        net.backbone.load_state_dict(taken, strict=False)
        print(f"backbone: {len(taken)} of {len(own)} tensors from {args.backbone_init}")
    return net


def landmark_loss(out, coarse, fine, vis, fine_weight=1.0):
    """Visible-only heatmap MSE (both stacks) plus visibility BCE.

    A Gaussian target's energy grows with sigma squared, so without
    fine_weight the narrow FineNet targets barely count next to the wide
    CoarseNet ones and FineNet stays near zero for a long time.
    """
    mask = vis[:, :, None, None]
    n = mask.sum().clamp_min(1) * coarse.shape[2] * coarse.shape[3]
    mse_c = (((out["heatmaps.coarse"] - coarse) ** 2) * mask).sum() / n
    mse_f = (((out["heatmaps.fine"] - fine) ** 2) * mask).sum() / n
    bce = F.binary_cross_entropy(out["visibility"].clamp(1e-6, 1 - 1e-6), vis)
    loss = HEATMAP_WEIGHT * (mse_c + fine_weight * mse_f) + VISIBILITY_WEIGHT * bce
    return loss, (mse_c, mse_f, bce)


def view_scores(net, records, images):
    """Mean best landmark score on one empty view per picture (the same
    views every epoch) and on the pictures' garment boxes: how well the
    scores tell a garment from no garment."""
    rng = random.Random(7)
    boxes = {}
    for rec in records:
        boxes.setdefault(rec["path"], []).append(rec["box"])
    empty, boxed = [], []
    for rec in records[:NEGATIVE_VAL]:
        img = images[rec["path"]]
        region = negative_region(boxes[rec["path"]], (img.shape[1], img.shape[0]), rng)
        boxed.append(max(m["score"] for m in E.predict(net, img, D.gt_region(rec["box"]))))
        if region is not None:
            empty.append(max(m["score"] for m in E.predict(net, img, region)))
    mean = lambda v: sum(v) / len(v) if v else float("nan")  # noqa: E731
    return mean(empty), mean(boxed)


class Logits(torch.nn.Module):
    """A classifier's logits behind one module, for DDP."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.logits(self.model(x))


class Heads(torch.nn.Module):
    """The trainable part of SanlNet behind one module, for DDP."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, maps):
        return self.net(x, attention=True, maps=maps)


def train_landmarks(args, d):
    cfg = make_config(args.config)
    net = build_net(args, cfg)
    cam = Classifier(cfg["classifier"], len(cfg["classes"]))
    cam.load_state_dict(net.classifier.state_dict())
    cam.eval().to(d.device)
    for p in net.classifier.parameters():
        p.requires_grad_(False)
    params = [p for n, p in net.named_parameters() if not n.startswith("classifier.")]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    last = os.path.join(args.out, "landmarks-last.pt")
    epoch0, best = 0, float("inf")
    if args.resume and os.path.exists(last):
        ck = load_checkpoint("--resume", last)
        load_weights(net, ck["model"], "--resume", last, args.config)
        opt.load_state_dict(ck["opt"])
        epoch0, best = ck["epoch"] + 1, ck["best"]
        log(d, f"resumed {last} at epoch {epoch0}")
    net.to(d.device)
    if not args.fld and not args.synth:
        option_error("--stage landmarks needs --fld DIR or --synth DIR")

    # Real and synthetic sets are two pools, mixed at --synth-fraction, so
    # the many synthetic pictures do not drown the few real ones. Val sets
    # are (name, records, counts for the best checkpoint, seen whole).
    real, synth, val_sets = [], [], []
    for root in args.fld:
        real += read_set("--fld", D.read_fld, root, "train")
        val = read_set("--fld", D.read_fld, root, "val")
        if val:
            val_sets.append((os.path.basename(root.rstrip("/")), val, True, False))
    for root in args.synth:
        synth += read_set("--synth", D.read_fld, root, "train")
        val = read_set("--synth", D.read_fld, root, "val")[:args.synth_val]
        if val:
            name = os.path.basename(root.rstrip("/"))
            val_sets.append((name, val, False, False))
            if args.whole_val:
                # whole pictures, counted in the best-checkpoint NE
                val_sets.append((name + " whole", val, True, True))
    if args.limit:
        real, synth = real[:args.limit], synth[:args.limit]
        val_sets = [(n, v[:args.limit], c, w) for n, v, c, w in val_sets]
    if not real and not synth:
        raise SystemExit("train.py: the --fld and --synth sets hold no garment in their "
                         "train splits")
    pools = [load_landmark_items(d.shard(real), args.max_side, d, "loading real"),
             load_landmark_items(d.shard(synth), args.max_side, d, "loading synthetic")]
    weights = [0.0 if not pools[0] else 1.0 - args.synth_fraction,
               0.0 if not pools[1] else args.synth_fraction]
    val_images = {}
    if d.main:
        for _, val, _, _ in val_sets:
            for rec in val:
                val_images[rec["path"]] = D.load_rgb(rec["path"])
    model = d.wrap(Heads(net))
    fine_weight = args.fine_weight
    if fine_weight is None:
        fine_weight = (cfg["sigma_coarse"] / cfg["sigma_fine"]) ** 2
    steps = args.steps or max(1, sum(map(len, pools)) // args.batch)
    total = args.epochs * steps
    rng = random.Random(4321 + d.rank + 1000 * epoch0)
    orders = [[], []]
    for epoch in range(epoch0, args.epochs):
        net.train()
        net.classifier.eval()
        prog = Progress(d.main, f"landmarks epoch {epoch}", steps)
        run = 0.0
        for s in range(steps):
            lr = args.lr * 0.5 * (1 + math.cos(math.pi * (epoch * steps + s) / max(total, 1)))
            lr *= min(1.0, (epoch * steps + s + 1) / 50)
            for g in opt.param_groups:
                g["lr"] = lr
            batch = []
            for _ in range(args.batch):
                p = 0 if rng.random() * sum(weights) < weights[0] else 1
                if not orders[p]:
                    orders[p] = list(range(len(pools[p])))
                    rng.shuffle(orders[p])
                views = (args.whole_views[p], args.wide_views[p], args.negative_views[p])
                batch.append(landmark_sample(pools[p][orders[p].pop()], cfg, rng, True,
                                             views))
            x, coarse, fine, vis = (torch.stack(t).to(d.device) for t in zip(*batch))
            maps, _ = gradcam(cam, x, net.steering)
            out = model(x, maps)
            loss, (mc, mf, bce) = landmark_loss(out, coarse, fine, vis, fine_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run = 0.9 * run + 0.1 * float(loss) if s else float(loss)
            prog.update(s + 1, loss=run, coarse=1000 * float(mc), fine=1000 * float(mf),
                        lr=lr)
        ne = float("nan")
        if d.main:
            nes = []
            # Grad-CAM needs the classifier in the autograd graph while evaluating.
            for p in net.classifier.parameters():
                p.requires_grad_(True)
            for name, val, counts, whole in val_sets:
                meter = E.evaluate(net, val, images=val_images, whole=whole)
                if counts:
                    nes.append(meter.ne())
                log(d, f"  val {name}: NE {meter.ne():.4f} " +
                    " ".join("-" if v is None else f"{v:.3f}" for v in meter.per_landmark()))
                if not whole:
                    empty, boxed = view_scores(net, val, val_images)
                    log(d, f"  val {name}: best landmark score {empty:.3f} on views without "
                        f"a garment, {boxed:.3f} on garment boxes")
            ne = sum(nes) / len(nes) if nes else run
            for p in net.classifier.parameters():
                p.requires_grad_(False)
        state = dict(model=net.state_dict(), opt=opt.state_dict(), epoch=epoch,
                     best=min(best, ne), config=cfg)
        if d.main:
            save(last, **state)
            if ne < best:
                save(os.path.join(args.out, "landmarks-best.pt"), **state)
        best = min(best, ne)
        log(d, f"epoch {epoch} loss {run:.4f} val NE {ne:.4f} best {best:.4f} "
            f"({time.strftime('%H:%M:%S')})")
        d.barrier()


# ---------------------------------------------------------------------------


def export_best(args):
    """Write the best landmark checkpoint to args.export through export.py."""
    import export
    path = os.path.join(args.out, "landmarks-best.pt")
    if not os.path.exists(path):
        file_error("--export", f"no checkpoint {path} to export; train the landmarks stage "
                   "into --out first")
    try:
        config, state = export.load_checkpoint(path, None)
    except OSError as e:
        file_error("--export", e)
    net = SanlNet(config)
    export.load_into(net, state, path)
    epoch = torch.load(path, map_location="cpu")["epoch"]
    try:
        export.export(net.eval(), config, args.export, export.DTYPES[args.export_dtype],
                      origin=f"train.py, epoch {epoch}")
    except OSError as e:
        file_error("--export", f"{args.export}: {e.strerror or e}")
    print(f"exported {path} (epoch {epoch}) to {args.export}")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stage", choices=["classifier", "landmarks"], required=True)
    ap.add_argument("--config", default="lite")
    ap.add_argument("--spec", choices=["classifier", "backbone"], default="classifier",
                    help="classifier stage: train the attention generator or a backbone-shaped "
                    "classifier for --backbone-init")
    ap.add_argument("--classes-data", help="folder-per-class set (classifier stage)")
    ap.add_argument("--fld", action="append", default=[], help="FLD-layout set (repeatable)")
    ap.add_argument("--synth", action="append", default=[],
                    help="FLD-layout synthetic set, train split only (repeatable)")
    ap.add_argument("--synth-fraction", type=float, default=0.4,
                    help="share of each batch drawn from the --synth sets")
    ap.add_argument("--synth-val", type=int, default=60,
                    help="synthetic val images reported each epoch (not used to pick the best)")
    ap.add_argument("--fine-weight", type=float, default=None,
                    help="weight of the FineNet MSE (default: (sigma_coarse / sigma_fine)^2)")
    ap.add_argument("--classifier", help="classifier checkpoint (landmarks stage; it, --init "
                    "or a run to --resume is needed, except with --config tiny)")
    ap.add_argument("--backbone-init", help="backbone-shaped classifier checkpoint")
    ap.add_argument("--init", help="start every weight (classifier included) from this model "
                    "file, to fine-tune a deployed model; its config must be --config's")
    ap.add_argument("--whole-views", type=float, nargs=2, default=[0.15, 0.15],
                    metavar=("REAL", "SYNTH"),
                    help="share of landmark crops that are the whole picture, per pool")
    ap.add_argument("--wide-views", type=float, nargs=2, default=[0.20, 0.20],
                    metavar=("REAL", "SYNTH"),
                    help="share of landmark crops where the garment is a fifth to a half "
                    "of the view, per pool")
    ap.add_argument("--negative-views", type=float, nargs=2, default=[0.0, 0.0],
                    metavar=("REAL", "SYNTH"),
                    help="share of landmark crops, per pool, that hold no garment (all "
                    "landmarks hidden), drawn before whole and wide views")
    ap.add_argument("--whole-val", action="store_true",
                    help="also score the synthetic val pictures whole and count that NE "
                    "when picking the best checkpoint")
    ap.add_argument("--out", required=True, help="checkpoint folder")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=0, help="steps per epoch (0: one pass)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3,
                    help="peak learning rate (0 leaves the weights as they are)")
    ap.add_argument("--size", type=int, default=0, help="classifier input size (0: config's)")
    ap.add_argument("--max-side", type=int, default=512,
                    help="landmark images are kept in memory at most this large")
    ap.add_argument("--limit", type=int, default=0,
                    help="use only this many images of each train and val set (0: all); the "
                    "classifier stage takes the classes' first files in turn, by name, so "
                    "that every class is in")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export", help="write the best checkpoint to this model file")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--export-dtype", default="f16", choices=["f32", "f16", "bf16"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads per process (0: one per processor)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    check_options(args)
    return args


def option_error(message):
    """Exit with status 2 and one line on stderr, as the C tools do."""
    print(f"train.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def check_options(args):
    """Crop shares and the synthetic fraction are probabilities; whole and
    wide views of one pool share one draw, so they may not exceed 1. Thread
    counts are 0 (one per processor) or more; so are step and image counts,
    where 0 means all. Batches and epochs are 1 or more, the learning rate
    finite and not negative (0 leaves the weights as they are). The
    classifier stage needs its set, the landmarks stage a trained
    classifier, --export-only a file to write."""
    if args.config not in CONFIGS:
        option_error(f"--config must be one of {', '.join(CONFIGS)}, not \"{args.config}\"")
    for name in ("whole_views", "wide_views", "negative_views"):
        for v in getattr(args, name):
            if not 0.0 <= v <= 1.0:
                option_error(f"--{name.replace('_', '-')} values must be from 0 to 1, not {v}")
    for pool, (whole, wide) in zip(("real", "synthetic"), zip(args.whole_views, args.wide_views)):
        if whole + wide > 1.0:
            option_error(f"--whole-views and --wide-views add up to {whole + wide:g} for the "
                         f"{pool} pool; at most 1")
    if not 0.0 <= args.synth_fraction <= 1.0:
        option_error(f"--synth-fraction must be from 0 to 1, not {args.synth_fraction}")
    if threads_problem(args.threads):
        option_error(threads_problem(args.threads))
    for name in ("batch", "epochs"):
        if getattr(args, name) < 1:
            option_error(f"--{name} must be 1 or more, not {getattr(args, name)}")
    for name in ("steps", "limit"):
        if getattr(args, name) < 0:
            option_error(f"--{name} must be 0 or more, not {getattr(args, name)}")
    if not (math.isfinite(args.lr) and args.lr >= 0.0):
        option_error(f"--lr must be a finite number, 0 or more, not {args.lr:g}")
    if args.device == "cuda" and not torch.cuda.is_available():
        option_error("--device cuda: PyTorch finds no CUDA device here")
    if args.export_only:
        if not args.export:
            option_error("--export-only needs --export FILE")
    elif args.stage == "classifier" and not args.classes_data:
        option_error("--stage classifier needs --classes-data DIR")
    elif args.stage == "landmarks" and not has_classifier(args):
        option_error("--stage landmarks needs --classifier CHECKPOINT or --init MODEL; "
                     "without either, Grad-CAM comes from an untrained classifier")


def has_classifier(args):
    """Whether the landmarks stage starts from trained classifier weights:
    a checkpoint, a model file, or the run it resumes. The tiny config is
    the tests' network; they need no trained classifier."""
    resumed = args.resume and os.path.exists(os.path.join(args.out, "landmarks-last.pt"))
    return bool(args.classifier or args.init or resumed or args.config == "tiny")


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    torch.manual_seed(args.seed)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        raise SystemExit(f"train.py: --out: {e}") from None
    if args.export_only:
        export_best(args)
        return
    d = Dist(args.device)
    if args.stage == "classifier":
        train_classifier(args, d)
    else:
        train_landmarks(args, d)
        if args.export and d.main:
            export_best(args)
    if d.world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
