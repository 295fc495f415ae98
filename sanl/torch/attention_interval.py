"""Accuracy and speed of sanldetect's attention-interval on a labelled clip.

    /usr/bin/python3 sanl/torch/attention_interval.py --plugin-dir build/gst \
        --video ../shared/data/videos/squats.mp4 --labels ../shared/data/squats-fld

For each interval N it runs
`filesrc ! decodebin ! videoconvert ! sanldetect attention-interval=N !
sanljson ! fakesink sync=false` and prints one row: N, the NE on the labelled
frames, the mean landmark displacement in pixels from N=1 over all frames,
and frames per second. No torch needed.

NE: each labelled garment (img/frame_NN_<what>.png is frame NN) is matched to
the one garment sanldetect reports in that frame; per landmark slot, the L2
distance to the label divided by the label box's width and height, averaged
over the garments where the slot is labelled visible (FLD code 0; --occluded
counts code 1 too); NE is the mean over the slots. Frames are analysed with
sync=false so QoS never skips an inference, and with threshold=0 (--threshold)
so that every frame reports its garment and tracking never stops. --crop and
--track=false analyse one fixed region instead (videocrop to it first).
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Slots of the 8 FLD landmarks that each clothes type's triples fill.
TYPE_SLOTS = {1: [0, 1, 2, 3, 6, 7], 2: [4, 5, 6, 7], 3: list(range(8))}


def read_list(path):
    """Rows of an FLD list file (count line, header line, rows) by image name."""
    with open(path) as f:
        rows = [ln.split() for ln in f if ln.strip()][2:]
    return {r[0]: r[1:] for r in rows}


def read_labels(root, occluded):
    """(frame index, box, {slot: (x, y)}) for every labelled garment."""
    boxes = read_list(os.path.join(root, "list_bbox.txt"))
    labels = []
    for name, row in sorted(read_list(os.path.join(root, "list_landmarks.txt")).items()):
        frame = int(re.search(r"frame_(\d+)", name).group(1))
        triples = [float(v) for v in row[2:]]
        points = {}
        for j, slot in enumerate(TYPE_SLOTS[int(row[0])]):
            vis, x, y = triples[3 * j:3 * j + 3]
            if vis == 0 or (occluded and vis == 1):
                points[slot] = (x, y)
        labels.append((frame, [float(v) for v in boxes[name]], points))
    return labels


def run(args, interval, env, out):
    """Landmarks per frame (None without a garment) and the best fps of --runs runs."""
    left, top, right, bottom = args.crop
    cmd = ["gst-launch-1.0", "filesrc", f"location={args.video}", "!", "decodebin", "!",
           "videocrop", f"left={left}", f"top={top}", f"right={right}", f"bottom={bottom}",
           "!", "videoconvert", "!", "sanldetect", f"model={args.model}", f"track={args.track}",
           f"attention-interval={interval}", f"threshold={args.threshold}", "!",
           "sanljson", f"location={out}", "!", "fakesink", "sync=false"]
    seconds = []
    for _ in range(args.runs):
        log = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        h, m, s = re.search(r"Execution ended after (\d+):(\d+):(\d+\.\d+)", log).groups()
        seconds.append(int(h) * 3600 + int(m) * 60 + float(s))
    with open(out) as f:
        frames = [json.loads(line) for line in f]
    marks = [[(p["x"] + left, p["y"] + top) for p in fr["garments"][0]["landmarks"]]
             if fr["garments"] else None for fr in frames]
    return marks, len(frames) / min(seconds)


def normalised_error(marks, labels):
    """Mean over slots of the per-slot mean normalised L2 error; misses count apart."""
    sums, counts, missed = {}, {}, 0
    for frame, (x1, y1, x2, y2), points in labels:
        if marks[frame] is None:
            missed += 1
            continue
        for slot, (gx, gy) in points.items():
            px, py = marks[frame][slot]
            err = math.hypot((px - gx) / (x2 - x1), (py - gy) / (y2 - y1))
            sums[slot] = sums.get(slot, 0.0) + err
            counts[slot] = counts.get(slot, 0) + 1
    return sum(sums[k] / counts[k] for k in sums) / len(sums), missed


def displacement(marks, reference):
    """Mean pixel distance between the landmarks of two runs, over shared frames."""
    dists = [math.dist(p, q) for a, b in zip(marks, reference) if a and b
             for p, q in zip(a, b)]
    return sum(dists) / len(dists)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plugin-dir", required=True, help="build folder holding libgstsanl.so")
    ap.add_argument("--video", required=True)
    ap.add_argument("--labels", required=True, help="FLD-layout folder of the clip's frames")
    ap.add_argument("--model", default=os.path.join(ROOT, "sanl", "models", "default.safetensors"))
    ap.add_argument("--threshold", type=float, default=0.0,
                    help="sanldetect threshold (0: a garment on every frame)")
    ap.add_argument("--crop", default="0,0,0,0", type=lambda v: [int(x) for x in v.split(",")],
                    help="videocrop LEFT,TOP,RIGHT,BOTTOM before sanldetect")
    ap.add_argument("--track", default="true", choices=["true", "false"])
    ap.add_argument("--intervals", default="1,2,4,8", help="the first is the reference")
    ap.add_argument("--runs", type=int, default=3, help="runs per interval, for the fps")
    ap.add_argument("--occluded", action="store_true", help="count occluded labels too")
    args = ap.parse_args()
    for path in (args.video, args.labels, args.plugin_dir, args.model):
        if not os.path.exists(path):
            sys.exit(f"attention_interval.py: {path} does not exist")

    labels = read_labels(args.labels, args.occluded)
    print(f"{'N':>3} {'NE':>7} {'dNE':>8} {'shift px':>9} {'fps':>6} {'missed':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GST_PLUGIN_PATH_1_0=os.path.abspath(args.plugin_dir),
                   GST_REGISTRY_1_0=os.path.join(tmp, "registry.bin"))
        reference = base = None
        for n in (int(v) for v in args.intervals.split(",")):
            marks, fps = run(args, n, env, os.path.join(tmp, f"n{n}.jsonl"))
            ne, missed = normalised_error(marks, labels)
            if reference is None:
                reference, base = marks, ne
            print(f"{n:>3} {ne:>7.4f} {ne - base:>+8.4f} {displacement(marks, reference):>9.2f}"
                  f" {fps:>6.1f} {missed:>6}")


if __name__ == "__main__":
    main()
