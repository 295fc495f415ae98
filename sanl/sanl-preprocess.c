/* Preprocessing: a region of a frame, letterboxed into the S x S network
 * input with bilinear sampling and normalised (sanl/NETWORK.md, "Input").
 *
 * One pass over the output. Each output column and row has its two frame
 * taps and weight worked out once (in double, so the sample positions do
 * not drift on large frames); each output pixel then reads its four taps in
 * the frame's own pixel format, turns each into R, G, B in 0..255 (YUV per
 * tap, before interpolation), mixes them and normalises. */

#include "sanl-private.h"

#include <math.h>
#include <string.h>

/* Largest S the per-axis tap tables on the stack can hold: the largest
 * input_size a model file may declare. 2 x 64 KiB of stack at most. */
#define MAX_SIZE 4096

/* ---------------------------------------------------------------------- */
/* Geometry                                                                */

typedef struct
{
  double scale;
  double ox;
  double oy;
} Geometry;

/* scale = S / max(w, h); the region's image is centred in the square. */
static Geometry
geometry (const SanlRect *region, int size)
{
  Geometry g;
  double w = region->width, h = region->height;

  g.scale = size / MAX (w, h);
  g.ox = (size - w * g.scale) / 2.0;
  g.oy = (size - h * g.scale) / 2.0;
  return g;
}

SanlLetterbox
sanl_letterbox_geometry (const SanlRect *region, int size)
{
  Geometry g = geometry (region, size);
  SanlLetterbox box = { (float) g.scale, (float) g.ox, (float) g.oy };

  return box;
}

/* ---------------------------------------------------------------------- */
/* Taps along one axis                                                     */

typedef struct
{
  gboolean inside; /* FALSE: the output pixel is padding */
  int i0;          /* first tap, clamped to the frame */
  int i1;          /* second tap, clamped to the frame */
  float w1;        /* weight of i1; i0 gets 1 - w1 */
} Taps;

/* taps (size): for each network pixel along an axis whose region starts at
 * start (frame pixels), spans extent frame pixels and is offset by pad
 * network pixels, the frame pixels it interpolates between. n is the frame's
 * length along the axis. */
static void
axis_taps (double start, double extent, double scale, double pad, int size,
    int n, Taps *taps)
{
  double end = pad + extent * scale;

  for (int u = 0; u < size; u++) {
    double centre = u + 0.5;
    double s = start + (centre - pad) / scale - 0.5;
    double f;

    taps[u].inside = centre >= pad && centre < end;

    /* Beyond -1 or n both taps clamp to the same edge pixel anyway; bound s
     * so that the integer conversion below cannot overflow. */
    s = CLAMP (s, -1.0, (double) n);
    f = floor (s);
    taps[u].i0 = CLAMP ((int) f, 0, n - 1);
    taps[u].i1 = CLAMP ((int) f + 1, 0, n - 1);
    taps[u].w1 = (float) (s - f);
  }
}

/* ---------------------------------------------------------------------- */
/* Reading one frame pixel                                                 */

/* Where the bytes of a pixel lie, for every format of SanlPixelFormat. */
typedef struct
{
  gboolean yuv;
  /* packed RGB: bytes per pixel and the offsets of R, G and B */
  int bpp;
  int r, g, b;
  /* YUV: luma step; the plane, step and offset of U and V in a chroma row;
   * how many times chroma rows are halved (0 or 1) */
  int y_step;
  int u_plane, u_step, u_offset;
  int v_plane, v_step, v_offset;
  int chroma_shift;
} Layout;

/* Indexed by SanlPixelFormat. YUY2 is Y0 U Y1 V: a chroma pair shares the
 * row of its luma, so its chroma rows are not halved. */
static const Layout layouts[] = {
  [SANL_PIXEL_RGB] = { .bpp = 3, .r = 0, .g = 1, .b = 2 },
  [SANL_PIXEL_BGR] = { .bpp = 3, .r = 2, .g = 1, .b = 0 },
  [SANL_PIXEL_RGBX] = { .bpp = 4, .r = 0, .g = 1, .b = 2 },
  [SANL_PIXEL_BGRX] = { .bpp = 4, .r = 2, .g = 1, .b = 0 },
  [SANL_PIXEL_XRGB] = { .bpp = 4, .r = 1, .g = 2, .b = 3 },
  [SANL_PIXEL_XBGR] = { .bpp = 4, .r = 3, .g = 2, .b = 1 },
  [SANL_PIXEL_I420] = { .yuv = TRUE,
      .y_step = 1,
      .u_plane = 1,
      .u_step = 1,
      .v_plane = 2,
      .v_step = 1,
      .chroma_shift = 1 },
  [SANL_PIXEL_NV12] = { .yuv = TRUE,
      .y_step = 1,
      .u_plane = 1,
      .u_step = 2,
      .v_plane = 1,
      .v_step = 2,
      .v_offset = 1,
      .chroma_shift = 1 },
  [SANL_PIXEL_YUY2] = { .yuv = TRUE,
      .y_step = 2,
      .u_plane = 0,
      .u_step = 4,
      .u_offset = 1,
      .v_plane = 0,
      .v_step = 4,
      .v_offset = 3 },
};

/* The rows of every plane that one frame row reads. */
typedef struct
{
  const guint8 *p; /* packed pixels, or luma */
  const guint8 *u;
  const guint8 *v;
} Rows;

static Rows
rows_at (const SanlImage *image, const Layout *l, int row)
{
  Rows r;
  int crow = row >> l->chroma_shift;

  r.p = image->data[0] + (gsize) row * image->stride[0];
  r.u = r.v = NULL;
  if (l->yuv) {
    r.u = image->data[l->u_plane] + (gsize) crow * image->stride[l->u_plane];
    r.v = image->data[l->v_plane] + (gsize) crow * image->stride[l->v_plane];
  }
  return r;
}

static inline float
clamp_byte (float x)
{
  return CLAMP (x, 0.0f, 255.0f);
}

/* rgb (3): the frame pixel at column col of rows r, as R, G, B in 0..255.
 * YUV is BT.601 limited range; column col takes chroma pair col / 2, so a
 * frame of odd width needs its last pair complete (GStreamer's layouts
 * round the chroma width up). */
static inline void
read_pixel (const Layout *l, const Rows *r, int col, float rgb[3])
{
  float y, u, v;

  if (!l->yuv) {
    const guint8 *px = r->p + (gsize) col * l->bpp;

    rgb[0] = px[l->r];
    rgb[1] = px[l->g];
    rgb[2] = px[l->b];
    return;
  }

  y = 1.164f * (r->p[(gsize) col * l->y_step] - 16);
  u = r->u[(gsize) (col >> 1) * l->u_step + l->u_offset] - 128;
  v = r->v[(gsize) (col >> 1) * l->v_step + l->v_offset] - 128;
  rgb[0] = clamp_byte (y + 1.596f * v);
  rgb[1] = clamp_byte (y - 0.813f * v - 0.391f * u);
  rgb[2] = clamp_byte (y + 2.018f * u);
}

/* ---------------------------------------------------------------------- */
/* The pass over the output                                                */

void
sanl_preprocess (const SanlImage *image, const SanlRect *region, int size,
    const float mean[3], const float std[3], float *input)
{
  Taps cols[MAX_SIZE], rows[MAX_SIZE];
  Geometry g;
  Layout l;
  float gain[3], shift[3];
  gsize plane = (gsize) size * size;

  g_return_if_fail (image != NULL && region != NULL && input != NULL);
  g_return_if_fail (image->width > 0 && image->height > 0);
  g_return_if_fail (region->width > 0 && region->height > 0);
  g_return_if_fail (size > 0 && size <= MAX_SIZE);
  g_return_if_fail ((guint) image->format < G_N_ELEMENTS (layouts));

  g = geometry (region, size);
  l = layouts[image->format];

  /* (size) taps of each output column, then of each output row */
  axis_taps (region->x, region->width, g.scale, g.ox, size, image->width, cols);
  axis_taps (
      region->y, region->height, g.scale, g.oy, size, image->height, rows);

  /* (value / 255 - mean) / std as one multiply-add per channel */
  for (int c = 0; c < 3; c++) {
    gain[c] = 1.0f / (255.0f * std[c]);
    shift[c] = -mean[c] / std[c];
  }

  for (int v = 0; v < size; v++) {
    const Taps *ty = &rows[v];
    Rows r0 = rows_at (image, &l, ty->i0);
    Rows r1 = rows_at (image, &l, ty->i1);

    for (int u = 0; u < size; u++) {
      const Taps *tx = &cols[u];
      gsize at = (gsize) v * size + u;
      float p00[3], p01[3], p10[3], p11[3];

      if (!ty->inside || !tx->inside) {
        input[at] = input[plane + at] = input[2 * plane + at] = 0.0f;
        continue;
      }

      /* the four taps, top-left, top-right, bottom-left, bottom-right */
      read_pixel (&l, &r0, tx->i0, p00);
      read_pixel (&l, &r0, tx->i1, p01);
      read_pixel (&l, &r1, tx->i0, p10);
      read_pixel (&l, &r1, tx->i1, p11);

      for (int c = 0; c < 3; c++) {
        float top = (1.0f - tx->w1) * p00[c] + tx->w1 * p01[c];
        float bottom = (1.0f - tx->w1) * p10[c] + tx->w1 * p11[c];
        float value = (1.0f - ty->w1) * top + ty->w1 * bottom;

        input[c * plane + at] = value * gain[c] + shift[c];
      }
    }
  }
}
