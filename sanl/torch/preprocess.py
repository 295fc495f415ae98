"""The network input exactly as sanl/NETWORK.md ("Input") defines it.

A region (x, y, w, h) of an RGB frame is letterboxed into an S x S square:
scale = S / max(w, h), offsets ox, oy centre it; network pixel (u, v) with
centre (u + 0.5, v + 0.5) is padding (0 after normalisation) outside
[ox, ox + w scale) x [oy, oy + h scale), and otherwise samples the frame
bilinearly at x + (u + 0.5 - ox) / scale - 0.5 (same for y), with the tap
indices clamped to the frame. Values are 0..255, normalised as
(value / 255 - mean) / std.

Vectorised: the taps and weights of every column and of every row are
worked out once (positions in float64), then four gathers and two
interpolations in float32 make the whole image, as libsanl does per pixel.
"""

import numpy as np
import torch


def letterbox_geometry(region, size):
    """(scale, ox, oy) placing region (x, y, w, h) centred in a size square."""
    _, _, w, h = region
    scale = size / max(w, h)
    return scale, (size - w * scale) / 2.0, (size - h * scale) / 2.0


def axis_taps(start, extent, scale, pad, size, n):
    """Per network pixel along one axis: inside mask, tap indices i0, i1, weight of i1.

    start and extent are the region's along the axis (frame pixels), pad the
    letterbox offset (network pixels), n the frame's length along the axis.
    """
    centre = np.arange(size, dtype=np.float64) + 0.5
    inside = (centre >= pad) & (centre < pad + extent * scale)
    s = start + (centre - pad) / scale - 0.5
    # Beyond -1 or n both taps clamp to the same edge pixel anyway.
    s = np.clip(s, -1.0, float(n))
    f = np.floor(s)
    i0 = np.clip(f, 0, n - 1).astype(np.int64)
    i1 = np.clip(f + 1, 0, n - 1).astype(np.int64)
    w1 = (s - f).astype(np.float32)
    return inside, i0, i1, w1


def letterbox(image, region, size, mean, std):
    """(3, size, size) float32 tensor: region of an (H, W, 3) uint8 RGB image."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} "
                         f"{image.dtype}")
    height, width = image.shape[:2]
    x, y, w, h = (float(v) for v in region)
    if not (w > 0 and h > 0):
        raise ValueError(f"region {region} has no area")
    scale, ox, oy = letterbox_geometry((x, y, w, h), size)
    in_x, x0, x1, wx = axis_taps(x, w, scale, ox, size, width)
    in_y, y0, y1, wy = axis_taps(y, h, scale, oy, size, height)

    # The four taps of every output pixel, (S, S, 3) each.
    pixels = image.astype(np.float32)
    top, bottom = pixels[y0], pixels[y1]
    p00, p01 = top[:, x0], top[:, x1]
    p10, p11 = bottom[:, x0], bottom[:, x1]

    # Horizontal, then vertical interpolation; (S, S, 3).
    wx = wx[None, :, None]
    wy = wy[:, None, None]
    one = np.float32(1.0)
    upper = (one - wx) * p00 + wx * p01
    lower = (one - wx) * p10 + wx * p11
    value = (one - wy) * upper + wy * lower

    # Normalise; padding is the mean colour, 0.
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    out = (value / np.float32(255.0) - mean) / std
    out[~(in_y[:, None] & in_x[None, :])] = 0.0
    return torch.from_numpy(np.ascontiguousarray(out.transpose(2, 0, 1)))
