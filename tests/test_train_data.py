"""The training data path: readers, augmentation geometry and targets.

Each case checks one behaviour against a value worked out by hand or by the
reference implementation (preprocess.letterbox, model.heatmap_to_frame).
Usage: test_train_data.py CASE
"""

import os
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError:
    print("torch is not available", file=sys.stderr)
    sys.exit(77)

root = os.environ.get("SANL_SOURCE_ROOT",
                      os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(root, "sanl", "torch"))

import data as D  # noqa: E402
from model import heatmap_to_frame, make_config  # noqa: E402
from preprocess import letterbox  # noqa: E402


def write_fld(folder):
    """Two garments: an upper-body one (type 1) and a lower-body one (type 2)."""
    with open(os.path.join(folder, "list_landmarks.txt"), "w") as f:
        f.write("2\nimage_name clothes_type variation_type ...\n")
        f.write("img/a.jpg 1 1 0 10 11 0 20 21 1 30 31 0 40 41 2 0 0 0 60 61\n")
        f.write("img/b.jpg 2 1 0 110 111 1 120 121 0 130 131 0 140 141\n")
    with open(os.path.join(folder, "list_bbox.txt"), "w") as f:
        f.write("2\nimage_name x_1 y_1 x_2 y_2\nimg/a.jpg 1 2 3 4\nimg/b.jpg 5 6 7 8\n")
    with open(os.path.join(folder, "list_eval_partition.txt"), "w") as f:
        f.write("2\nimage_name evaluation_status\nimg/a.jpg train\nimg/b.jpg val\n")


def test_fld_slots():
    """Type 1 fills collars, sleeves, hems; type 2 waistlines and hems."""
    with tempfile.TemporaryDirectory() as tmp:
        write_fld(tmp)
        top, = D.read_fld(tmp, "train")
        bottom, = D.read_fld(tmp, "val")
    assert top["vis"].tolist() == [0, 0, 1, 0, 3, 3, 2, 0], top["vis"]
    assert top["points"][7].tolist() == [60, 61]
    assert top["points"][3].tolist() == [40, 41]
    assert bottom["vis"].tolist() == [3, 3, 3, 3, 0, 1, 0, 0], bottom["vis"]
    assert bottom["points"][4].tolist() == [110, 111]
    assert bottom["points"][7].tolist() == [140, 141]
    assert bottom["box"] == [5, 6, 7, 8]


def test_flip_swaps_sides():
    """A flip about the region's centre mirrors x and swaps left and right slots."""
    pts = np.array([[10, 5], [30, 6], [0, 0], [0, 0], [0, 0], [0, 0], [12, 50], [28, 52]],
                   np.float32)
    vis = np.array([0, 1, 3, 3, 3, 3, 0, 2])
    region = (0.0, 0.0, 40.0, 60.0)  # centre at pixel x 19.5
    out, ovis = D.augment_points(pts, vis, region, flip=True)
    assert out[0].tolist() == [39 - 30, 6], out[0]  # the old right collar, mirrored
    assert out[1].tolist() == [39 - 10, 5], out[1]
    assert ovis.tolist() == [1, 0, 3, 3, 3, 3, 2, 0], ovis


def test_warp_matches_letterbox():
    """The training sampler equals the reference letterbox without augmentation."""
    cfg = make_config("tiny")
    g = torch.Generator().manual_seed(3)
    img = torch.randint(0, 256, (37, 53, 3), generator=g, dtype=torch.uint8).numpy()
    for region in [(4.0, 3.0, 30.0, 20.0), (-5.5, 2.25, 70.0, 41.0), (10.0, 0.0, 8.0, 37.0)]:
        ref = letterbox(img, region, cfg["input_size"], cfg["mean"], cfg["std"])
        got = D.warp(D.to_tensor(img), region, cfg["input_size"], cfg["mean"], cfg["std"])
        err = float((ref - got).abs().max())
        assert err < 1e-4, f"{region}: max difference {err}"


def test_target_peak_round_trip():
    """A target drawn at a frame point peaks where heatmap_to_frame maps back to it."""
    region = (17.0, 9.0, 140.0, 100.0)
    size = 96
    # A point whose heatmap position is an exact pixel (18, 9) of the 24 x 24 map.
    x, y = heatmap_to_frame(18.0, 9.0, region, size)
    hm = D.heatmap_targets(np.array([[x, y]]), np.array([0]), region, size, sigma=1.0)
    idx = int(torch.argmax(hm[0]))
    assert divmod(idx, 24) == (9, 18), divmod(idx, 24)
    assert abs(float(hm[0, 9, 18]) - 1.0) < 1e-5
    hidden = D.heatmap_targets(np.array([[x, y]]), np.array([1]), region, size, sigma=1.0)
    assert float(hidden.abs().max()) == 0.0  # occluded points draw no target


def test_shared_pictures():
    """Of garments labelled on one picture (same bytes), only the first upper-body one keeps
    whole and wide views; a secondary garment samples exactly as a box-only primary does."""
    import random
    from PIL import Image
    import train as T
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(3)
        pixels = rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)
        paths = {n: os.path.join(tmp, n) for n in ("pair_skirt.png", "pair_tee.png", "own.png")}
        Image.fromarray(pixels).save(paths["pair_skirt.png"])
        Image.fromarray(pixels).save(paths["pair_tee.png"])
        Image.fromarray(pixels[::-1].copy()).save(paths["own.png"])
        points = np.zeros((8, 2), np.float32)
        points[4:] = [[8, 10], [20, 10], [8, 30], [20, 30]]
        items = []
        for name, ctype in (("pair_skirt.png", 2), ("pair_tee.png", 1), ("own.png", 2)):
            rec = {"path": paths[name], "box": [5.0, 8.0, 24.0, 33.0], "points": points,
                   "vis": np.array([3, 3, 3, 3, 0, 0, 0, 0]), "split": "train", "type": ctype}
            items.append({"image": torch.from_numpy(pixels.transpose(2, 0, 1).copy()),
                          "factor": 1.0, "rec": rec})
        T.mark_shared_pictures(items)
    assert [it["secondary"] for it in items] == [True, False, False]

    cfg = make_config("tiny")
    secondary = T.landmark_sample(items[0], cfg, random.Random(5), True, (1.0, 0.0))
    box_only = dict(items[0], secondary=False)
    expected = T.landmark_sample(box_only, cfg, random.Random(5), True, (0.0, 0.0))
    whole = T.landmark_sample(box_only, cfg, random.Random(5), True, (1.0, 0.0))
    for a, b in zip(secondary, expected):
        assert torch.equal(a, b)
    assert not torch.equal(whole[0], expected[0])


def test_box_overlap():
    """Shared area by hand: a 10 x 20 box with a 4 x 5 corner in a 50 x 50 region shares 20
    pixels, 20 / 200 of the box and 20 / 2500 of the region."""
    import train as T
    assert T.box_overlap([10, 10, 20, 30], (16, 25, 50, 50)) == (20 / 200, 20 / 2500)
    assert T.box_overlap([10, 10, 20, 30], (0, 0, 100, 100)) == (1.0, 200 / 10000)
    assert T.box_overlap([10, 10, 20, 30], (12, 12, 4, 4)) == (16 / 200, 1.0)
    assert T.box_overlap([10, 10, 20, 30], (20, 0, 5, 5)) == (0.0, 0.0)


def test_negative_views():
    """Views without a garment lie inside the picture, are squares of a fifth to the whole
    shorter side, share at most a tenth of either area with every garment box (two here), and
    carry no visible landmark and no heatmap target; a picture the garment fills has none."""
    import random
    import train as T
    boxes = [[100.0, 40.0, 180.0, 150.0], [20.0, 100.0, 60.0, 190.0]]
    rng = random.Random(11)
    found = 0
    for _ in range(300):
        r = T.negative_region(boxes, (240, 200), rng)
        if r is None:
            continue
        found += 1
        x, y, w, h = r
        assert w == h and 0.2 * 200 - 1e-9 <= w <= 200 + 1e-9, r
        assert x >= 0 and y >= 0 and x + w <= 240 + 1e-9 and y + h <= 200 + 1e-9, r
        assert all(max(T.box_overlap(b, r)) <= 0.1 for b in boxes), r
    assert found > 100, found
    assert T.negative_region([[0, 0, 240, 200]], (240, 200), random.Random(1)) is None

    cfg = make_config("tiny")
    pixels = torch.randint(0, 256, (3, 200, 240), generator=torch.Generator().manual_seed(2),
                           dtype=torch.uint8)
    points = np.zeros((8, 2), np.float32)
    points[[0, 1, 6, 7]] = [[110, 50], [170, 50], [110, 140], [170, 140]]
    rec = {"path": "p.png", "box": boxes[0], "points": points,
           "vis": np.array([0, 0, 3, 3, 3, 3, 0, 0]), "split": "train", "type": 1}
    for secondary in (False, True):
        item = {"image": pixels, "factor": 1.0, "rec": rec, "secondary": secondary,
                "picture_boxes": boxes}
        x, coarse, fine, vis = T.landmark_sample(item, cfg, random.Random(4), True,
                                                 (0.0, 0.0, 1.0))
        size = cfg["input_size"]
        assert x.shape == (3, size, size)
        assert float(vis.abs().sum()) == 0.0 and vis.shape == (8,)
        assert float(coarse.abs().sum()) == 0.0 and coarse.shape == (8, size // 4, size // 4)
        assert float(fine.abs().sum()) == 0.0
    # without negatives the same draw is a view of the garment, its labelled points visible
    item = {"image": pixels, "factor": 1.0, "rec": rec, "picture_boxes": boxes}
    _, _, _, vis = T.landmark_sample(item, cfg, random.Random(4), True, (0.0, 0.0, 0.0))
    assert vis[2:6].tolist() == [0, 0, 0, 0] and float(vis.sum()) >= 3, vis


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("test_")}

if __name__ == "__main__":
    CASES[sys.argv[1]]()
