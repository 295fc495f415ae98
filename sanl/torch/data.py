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
import re

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


# The float32 range that a label's numbers must lie in, as in sanl-eval.
FLOAT_MAX = float(np.finfo(np.float32).max)

CORNER_NAMES = ("x_1", "y_1", "x_2", "y_2")


def _number(word):
    """A number of an FLD label: the whole word in decimal notation (not
    "nan", "inf" or hex) and finite as a float32; None when it is not."""
    if not re.fullmatch(r"[0-9+\-.eE]+", word):
        return None
    try:
        v = float(word)
    except ValueError:
        return None
    return v if abs(v) <= FLOAT_MAX else None


def _read_list(path):
    """(line number, words) of each row of an FLD list file: line 1 holds the
    count of rows, line 2 a header, each further line that is not blank a
    row of words parted by spaces and tabs, as sanl-eval reads them."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        lines = f.read().split("\n")
    rows = []
    for i, line in enumerate(lines[2:], start=3):
        words = [w for w in re.split("[ \t]", line.strip(" \t\n\r\f\v")) if w]
        if words:
            rows.append((i, words))
    count = lines[0].strip(" \t\n\r\f\v")
    if not re.fullmatch("[0-9]+", count):
        raise ValueError(f'{path}:1: the first line must be the count of rows, not "{count}"')
    if int(count) != len(rows):
        raise ValueError(f"{path}:1: says {count} rows, the file has {len(rows)}")
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


def _read_box(line, words, path):
    """(x1, y1, x2, y2) of a row of list_bbox.txt."""
    if len(words) != 5:
        raise ValueError(f"{path}:{line}: the row is not an image name and x_1 y_1 x_2 y_2")
    box = [_number(w) for w in words[1:]]
    for name, word, v in zip(CORNER_NAMES, words[1:], box):
        if v is None:
            raise ValueError(f'{path}:{line}: {name} "{word}" is not a finite number')
    return box


def _read_marks(line, words, path, fixed_slots):
    """(points, vis, clothes type) of a row of list_landmarks.txt: the type's
    landmarks, exactly so many triples, or (fixed_slots) the first so many."""
    where = f"{path}:{line}"
    if len(words) < 3 or (len(words) - 3) % 3:
        raise ValueError(f"{where}: the row is not an image name, clothes type, "
                         "variation type and (visibility, x, y) triples")
    if words[1] not in ("1", "2", "3"):
        raise ValueError(f'{where}: clothes type "{words[1]}" is not 1, 2 or 3')
    ctype = int(words[1])
    slots = TYPE_SLOTS[ctype]
    has = (len(words) - 3) // 3
    if (has < len(slots)) if fixed_slots else (has != len(slots)):
        raise ValueError(f"{where}: clothes type {ctype} needs {len(slots)} landmarks, "
                         f"the row has {has}")
    points = np.zeros((K, 2), np.float32)
    vis = np.full(K, ABSENT, np.int64)
    for j, slot in enumerate(slots):
        v, x, y = words[3 + 3 * j:6 + 3 * j]
        if v not in ("0", "1", "2"):
            raise ValueError(f'{where}: landmark {j + 1}: visibility "{v}" is not 0, 1 or 2')
        for c, (axis, word) in enumerate((("x", x), ("y", y))):
            if _number(word) is None:
                raise ValueError(f'{where}: landmark {j + 1}: {axis} "{word}" '
                                 "is not a finite number")
            points[slot, c] = _number(word)
        vis[slot] = int(v)
    return points, vis, ctype


def read_fld(root, split=None, fixed_slots=False):
    """Records of an FLD-layout folder (fixed_slots: DeepFashion's 8-slot rows).

    Rows of other splits are not checked; a bad row of the split is a
    ValueError naming its file and line, in sanl-eval's words.
    """
    marks_path = _find(root, "list_landmarks.txt", ("Anno",))
    marks = _read_list(marks_path)
    boxes_path = _find(root, "list_bbox.txt", ("Anno",))
    boxes = {words[0]: (line, words) for line, words in _read_list(boxes_path)}
    parts_path = _find(root, "list_eval_partition.txt", ("Eval",))
    parts = {}
    for line, words in _read_list(parts_path):
        if len(words) != 2:
            raise ValueError(f"{parts_path}:{line}: the row is not an image name and its "
                             "evaluation status")
        parts[words[0]] = words[1]
    records = []
    for line, words in marks:
        name = words[0]
        part = parts.get(name)
        if part is None or not _split_matches(part, split):
            continue
        points, vis, ctype = _read_marks(line, words, marks_path, fixed_slots)
        if name not in boxes:
            raise ValueError(f"{marks_path}:{line}: {name} has no row in {boxes_path}")
        box = _read_box(*boxes[name], boxes_path)
        records.append({"path": os.path.join(root, name), "box": box,
                        "points": points, "vis": vis, "split": part, "type": ctype})
    return records


def _json_number(v):
    """v as a float when it is a JSON number finite as a float32, else None."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        v = float(v)
    except OverflowError:
        return None
    return v if abs(v) <= FLOAT_MAX else None


def _json_numbers(values, n):
    """The n numbers of the list values as floats, or None when it is not one."""
    if not isinstance(values, list) or len(values) != n:
        return None
    numbers = [_json_number(v) for v in values]
    return None if None in numbers else numbers


def _not_json(name):
    raise ValueError(f"{name} is not a JSON value")


def _read_annotation(i, ann, files, path):
    """(image file, box, points, vis) of annotations[i]."""
    where = f"{path}: annotations[{i}]"
    if not isinstance(ann, dict):
        raise ValueError(f"{where}: not an object")
    image_id = ann.get("image_id")
    if type(image_id) is not int:
        raise ValueError(f'{where}: no integer "image_id"')
    if image_id not in files:
        raise ValueError(f'{where}: image_id {image_id} is not in "images"')
    kp = ann.get("keypoints")
    if not isinstance(kp, list) or len(kp) != 3 * K:
        raise ValueError(f'{where}: "keypoints" is not a list of {3 * K} numbers '
                         f"(x, y, v of {K} landmarks)")
    box = _json_numbers(ann.get("bbox"), 4)
    if box is None:
        raise ValueError(f'{where}: "bbox" is not a list of 4 finite numbers '
                         "(x, y, width, height)")
    points = np.zeros((K, 2), np.float32)
    vis = np.full(K, ABSENT, np.int64)
    for k in range(K):
        xyv = [_json_number(v) for v in kp[3 * k:3 * k + 3]]
        for axis, v in zip(("x", "y", "visibility"), xyv):
            if v is None:
                raise ValueError(f"{where}: keypoint {k + 1}: {axis} is not a finite number")
        if xyv[2] not in (0, 1, 2):
            raise ValueError(f"{where}: keypoint {k + 1}: visibility {xyv[2]:g} "
                             "is not 0, 1 or 2")
        points[k] = xyv[:2]
        vis[k] = {2: 0, 1: 1, 0: ABSENT}[int(xyv[2])]
    bx, by, bw, bh = box
    return files[image_id], [bx, by, bx + bw, by + bh], points, vis


def read_coco(root, split):
    """Records of a COCO-style keypoint JSON with 8 keypoints in FLD order.

    A bad annotation is a ValueError naming the file and the annotation's
    index, in sanl-eval's words.
    """
    path = None
    for cand in (f"{split}.json", os.path.join("annotations", f"{split}.json")):
        if path is None and os.path.exists(os.path.join(root, cand)):
            path = os.path.join(root, cand)
    if path is None:
        raise FileNotFoundError(f"{root}: no {split}.json or annotations/{split}.json")
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        try:
            doc = json.load(f, parse_constant=_not_json)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{e.lineno}:{e.colno}: Parse error: {e.msg}") from None
        except ValueError as e:
            raise ValueError(f"{path}: Parse error: {e}") from None
    image_dir = root if not os.path.isdir(os.path.join(root, "images")) \
        else os.path.join(root, "images")
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("annotations"), list):
        raise ValueError(f'{path}: no "images" and "annotations" lists')
    files = {}
    for j, im in enumerate(doc["images"]):
        if not isinstance(im, dict) or type(im.get("id")) is not int \
                or not isinstance(im.get("file_name"), str):
            raise ValueError(f'{path}: images[{j}]: no integer "id" and string "file_name"')
        files[im["id"]] = im["file_name"]
    records = []
    for i, ann in enumerate(doc["annotations"]):
        file, box, points, vis = _read_annotation(i, ann, files, path)
        records.append({"path": os.path.join(image_dir, file), "box": box,
                        "points": points, "vis": vis, "split": split, "type": 3})
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
