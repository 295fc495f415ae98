/* Decoding: the sub-pixel peak of a fine heatmap, and the way back from
 * heatmap pixels through the letterbox to frame pixels (sanl/NETWORK.md,
 * "Decoding"). The arithmetic is refine_peak and heatmap_to_frame of the
 * PyTorch twin, in double like Python's floats. */

#include "sanl-private.h"

/* Heatmap pixels per network input pixel along each axis. */
#define HEATMAP_STRIDE 4

/* Offset of a parabola's vertex through (-1, lo), (0, c), (1, hi); 0 when
 * the three points do not bend downwards. */
static double
parabola_offset (double lo, double c, double hi)
{
  double den = lo - 2.0 * c + hi;

  if (!(den < 0.0))
    return 0.0;
  return CLAMP (0.5 * (lo - hi) / den, -0.5, 0.5);
}

float
sanl_heatmap_peak (const float *heatmap, int h, int w, float *px, float *py)
{
  int best = 0, bx, by;
  double c, dx = 0.0, dy = 0.0;

  /* arg-max; the first one in row-major order wins a tie */
  for (int i = 1; i < h * w; i++)
    if (heatmap[i] > heatmap[best])
      best = i;
  by = best / w;
  bx = best % w;
  c = heatmap[best];

  /* refine each axis, except on the border where a neighbour is missing */
  if (bx > 0 && bx < w - 1)
    dx = parabola_offset (heatmap[best - 1], c, heatmap[best + 1]);
  if (by > 0 && by < h - 1)
    dy = parabola_offset (heatmap[best - w], c, heatmap[best + w]);

  *px = (float) (bx + dx);
  *py = (float) (by + dy);
  return (float) c;
}

void
sanl_heatmap_to_frame (
    const SanlRect *region, int size, float hx, float hy, float *x, float *y)
{
  double w = region->width, h = region->height;
  double scale = size / MAX (w, h);
  double ox = (size - w * scale) / 2.0;
  double oy = (size - h * scale) / 2.0;

  /* heatmap pixel centre -> network point -> frame point (centres at
   * integers) */
  double nx = (hx + 0.5) * HEATMAP_STRIDE;
  double ny = (hy + 0.5) * HEATMAP_STRIDE;

  *x = (float) (region->x + (nx - ox) / scale - 0.5);
  *y = (float) (region->y + (ny - oy) / scale - 0.5);
}
