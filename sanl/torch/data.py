"""Dataset readers and the letterbox sampling used for training.

Landmark sets come in three layouts, all read into the same record:

- FLD (list_landmarks.txt, list_bbox.txt, list_eval_partition.txt): one row
  per image, `clothes_type` 1/2/3 says which of the 8 slots the triples fill.
- DeepFashion's Category-and-Attribute benchmark: the same files (directly in
  the folder or under Anno/ and Eval/) but every row carries 8 triples; the
  first ones hold the type's landmarks in FLD order, the rest are padding.
- COCO-style keypoint JSON (`<split>.json` or `annotations/<split>.json`):
  `images`, `annotations` with `bbox` [x, y, w, h] and `keypoints`
  [x, y, v] * 8 in FLD order; v = 2 visible, 1 occluded, 0 not labelled.

A record is a dict: `path`, `box` (x1, y1, x2, y2), `points` (8, 2) float
frame pixels with pixel centres at integers, `vis` (8,) int with the FLD
codes (0 visible, 1 occluded, 2 cut off) and 3 for slots the garment type
does not have, and `split`.

Garment classes come from a folder-per-class tree: root/<split>/<class>/*.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from model import CLASSES, frame_to_heatmap

K = 8
ABSENT = 3

# Slots of the 8 FLD landmarks that each clothes type's triples fill, in order.
TYPE_SLOTS = {
    1: [0, 1, 2, 3, 6, 7],  # upper body: collars, sleeves, hems
    2: [4, 5, 6, 7],  # lower body: waistlines, hems
    3: list(range(8)),  # full body
}

# Left and right swap under a horizontal flip: pairs are adjacent slots.
FLIP_PERM = [1, 0, 3, 2, 5, 4, 7, 6]

SPLIT_ALIASES = {"val": ("val", "validation"), "validation": ("val", "validation")}


# ---------------------------------------------------------------------------
# Readers


def _read_list(path):
    """Rows of an FLD list file: count line, header line, then rows."""
    with open(path) as f:
        lines = [ln.split() for ln in f if ln.strip()]
    n = int(lines[0][0])
    rows = lines[2:2 + n]
    if len(rows) != n:
        raise ValueError(f"{path}: header says {n} rows, found {len(rows)}")
    return rows


def _find(root, name, subdirs):
    for sub in ("",) + subdirs:
        p = os.path.join(root, sub, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"{root}: no {name}")


def _split_matches(split, wanted):
    if wanted is None:
        return True
    return split in SPLIT_ALIASES.get(wanted, (wanted,))


def read_fld(root, split=None, fixed_slots=False):
    """Records of an FLD-layout folder (fixed_slots: DeepFashion's 8-slot rows)."""
    marks = _read_list(_find(root, "list_landmarks.txt", ("Anno",)))
    boxes = {r[0]: [float(v) for v in r[1:5]]
             for r in _read_list(_find(root, "list_bbox.txt", ("Anno",)))}
    parts = {r[0]: r[1] for r in _read_list(_find(root, "list_eval_partition.txt", ("Eval",)))}
    records = []
    for row in marks:
        name, ctype = row[0], int(row[1])
        part = parts.get(name)
        if part is None or not _split_matches(part, split):
            continue
        slots = TYPE_SLOTS[ctype]
        triples = [int(float(v)) if i % 3 == 0 else float(v) for i, v in enumerate(row[3:])]
        n = len(triples) // 3
        if not fixed_slots and n != len(slots):
            raise ValueError(f"{name}: clothes type {ctype} needs {len(slots)} landmarks, "
                             f"found {n}")
        points = np.zeros((K, 2), np.float32)
        vis = np.full(K, ABSENT, np.int64)
        for j, slot in enumerate(slots):
            v, x, y = triples[3 * j:3 * j + 3]
            points[slot] = (x, y)
            vis[slot] = v
        records.append({"path": os.path.join(root, name), "box": boxes[name],
                        "points": points, "vis": vis, "split": part, "type": ctype})
    return records


def read_coco(root, split):
    """Records of a COCO-style keypoint JSON with 8 keypoints in FLD order."""
    path = None
    for cand in (f"{split}.json", os.path.join("annotations", f"{split}.json")):
        if os.path.exists(os.path.join(root, cand)):
            path = os.path.join(root, cand)
    if path is None:
        raise FileNotFoundError(f"{root}: no {split}.json or annotations/{split}.json")
    with open(path) as f:
        doc = json.load(f)
    image_dir = root if not os.path.isdir(os.path.join(root, "images")) \
        else os.path.join(root, "images")
    files = {im["id"]: im["file_name"] for im in doc["images"]}
    records = []
    for ann in doc["annotations"]:
        kp = ann["keypoints"]
        if len(kp) != 3 * K:
            raise ValueError(f"{path}: annotation {ann.get('id')} has {len(kp) // 3} "
                             f"keypoints, expected {K}")
        points = np.zeros((K, 2), np.float32)
        vis = np.full(K, ABSENT, np.int64)
        for k in range(K):
            x, y, v = kp[3 * k:3 * k + 3]
            points[k] = (x, y)
            vis[k] = {2: 0, 1: 1, 0: ABSENT}[int(v)]
        bx, by, bw, bh = ann["bbox"]
        records.append({"path": os.path.join(image_dir, files[ann["image_id"]]),
                        "box": [bx, by, bx + bw, by + bh], "points": points, "vis": vis,
                        "split": split, "type": 3})
    return records


def read_landmarks(root, split, layout="fld"):
    if layout == "fld":
        return read_fld(root, split)
    if layout == "deepfashion":
        return read_fld(root, split, fixed_slots=True)
    if layout == "coco":
        return read_coco(root, split)
    raise ValueError(f"unknown layout {layout!r}")


def read_classes(root, split, classes=CLASSES):
    """(path, class index) pairs of a folder-per-class tree; unknown folders skipped."""
    split_dir = None
    for name in SPLIT_ALIASES.get(split, (split,)):
        if os.path.isdir(os.path.join(root, name)):
            split_dir = os.path.join(root, name)
    if split_dir is None:
        raise FileNotFoundError(f"{root}: no split {split}")
    items = []
    for c, name in enumerate(classes):
        d = os.path.join(split_dir, name)
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            items.append((os.path.join(d, f), c))
    return items


# ---------------------------------------------------------------------------
# Images


def load_rgb(path):
    """(H, W, 3) uint8 RGB."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def load_scaled(path, max_side):
    """Image shrunk so its longer side is at most max_side, and the factor used.

    Frame point p (pixel centres at integers) becomes (p + 0.5) * f - 0.5.
    """
    with Image.open(path) as im:
        w, h = im.size
        f = min(1.0, max_side / max(w, h))
        target = (max(1, round(w * f)), max(1, round(h * f)))
        im.draft("RGB", target)  # JPEG: decode at a reduced scale when it can
        im = im.convert("RGB")
        if im.size != target:
            im = im.resize(target, Image.BILINEAR)
        return np.asarray(im), target[0] / w


def to_tensor(img):
    """(H, W, 3) uint8 to (3, H, W) float 0..255."""
    return torch.from_numpy(np.array(img)).permute(2, 0, 1).float()


# ---------------------------------------------------------------------------
# Letterbox sampling (the geometry of NETWORK.md, through grid_sample)


def letterbox_affine(region, size):
    """(A, b, ox, oy, scale): frame p = A q + b for network q (centres at u + 0.5)."""
    x, y, w, h = region
    scale = size / max(w, h)
    ox = (size - w * scale) / 2.0
    oy = (size - h * scale) / 2.0
    a = np.eye(2) / scale
    b = np.array([x - 0.5 - ox / scale, y - 0.5 - oy / scale])
    return a, b, ox, oy, scale


def warp(image, region, size, mean, std, rot=None, flip=False, pad_outside=True):
    """Letterbox region of image into (3, size, size), normalised.

    image is (3, H, W) float 0..255. rot (radians) and flip act on the frame
    about the region's centre before the letterbox, so that the network
    sees the region of a rotated or mirrored frame. Pixels outside the
    letterboxed region are 0 (the mean colour); samples outside the frame
    clamp to its border, as the C engine does.
    """
    _, hgt, wid = image.shape
    a, b, ox, oy, scale = letterbox_affine(region, size)
    m = augment_matrix(region, rot, flip)
    # frame p = M^-1 (A q + b - c) + c; compose into one affine q -> p.
    minv = np.linalg.inv(m[0])
    a2 = minv @ a
    b2 = minv @ (b - m[1])
    q = (torch.arange(size, dtype=torch.float64) + 0.5)
    qy, qx = torch.meshgrid(q, q, indexing="ij")
    px = a2[0, 0] * qx + a2[0, 1] * qy + b2[0]
    py = a2[1, 0] * qx + a2[1, 1] * qy + b2[1]
    grid = torch.stack([(px + 0.5) / wid * 2 - 1, (py + 0.5) / hgt * 2 - 1], dim=-1)
    out = F.grid_sample(image[None], grid[None].float(), mode="bilinear",
                        padding_mode="border", align_corners=False)[0]
    mean_t = torch.tensor(mean).view(3, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1)
    out = (out / 255.0 - mean_t) / std_t
    if pad_outside:
        inside_x = (q >= ox) & (q < ox + region[2] * scale)
        inside_y = (q >= oy) & (q < oy + region[3] * scale)
        out = out * (inside_y[:, None] & inside_x[None, :]).float()
    return out


def augment_matrix(region, rot=None, flip=False):
    """(M, t): augmented frame point p' = M p + t (rotation/flip about the centre)."""
    cx = region[0] + region[2] / 2.0 - 0.5
    cy = region[1] + region[3] / 2.0 - 0.5
    m = np.eye(2)
    if flip:
        m = np.array([[-1.0, 0.0], [0.0, 1.0]]) @ m
    if rot:
        c, s = math.cos(rot), math.sin(rot)
        m = np.array([[c, -s], [s, c]]) @ m
    c = np.array([cx, cy])
    return m, c - m @ c


def augment_points(points, vis, region, rot=None, flip=False):
    """Landmarks of the augmented frame; a flip swaps left and right slots."""
    m, t = augment_matrix(region, rot, flip)
    pts = points.astype(np.float64) @ m.T + t
    vis = vis.copy()
    if flip:
        pts = pts[FLIP_PERM]
        vis = vis[FLIP_PERM]
    return pts, vis


def heatmap_targets(points, vis, region, size, sigma, stride=4):
    """(K, size/stride, size/stride) Gaussians at the landmarks, through frame_to_heatmap."""
    hs = size // stride
    g = torch.arange(hs, dtype=torch.float32)
    out = torch.zeros(len(points), hs, hs)
    for k, (x, y) in enumerate(points):
        if vis[k] != 0:
            continue
        hx, hy = frame_to_heatmap(float(x), float(y), region, size, stride)
        gx = torch.exp(-(g - hx) ** 2 / (2 * sigma ** 2))
        gy = torch.exp(-(g - hy) ** 2 / (2 * sigma ** 2))
        out[k] = gy[:, None] * gx[None, :]
    return out


def box_region(box, margin=0.0):
    """(x, y, w, h) of an (x1, y1, x2, y2) box grown by margin times its size per side."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return (x1 - margin * w, y1 - margin * h, w * (1 + 2 * margin), h * (1 + 2 * margin))


def gt_region(box):
    """The region NE evaluation crops: the ground-truth box, as given."""
    x1, y1, x2, y2 = box
    return (float(x1), float(y1), float(x2 - x1), float(y2 - y1))
