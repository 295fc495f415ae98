/* Preprocessing and decoding against independent references: a naive
 * double-precision letterbox written here from sanl/NETWORK.md, pictures
 * converted to RGB here by NETWORK.md's formulas, and hand computations. */

#include "sanl-private.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Test pictures                                                           */

static guint32 rng_state = 12345;

/* A fixed xorshift stream, so every run sees the same pictures. */
static guint8
rand_byte (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state >> 24;
}

/* An RGB picture as doubles (height, width, 3), 0..255: the picture every
 * format of a case encodes, and what the reference samples. */
typedef struct
{
  int width;
  int height;
  double *rgb;
} Picture;

static double
picture_at (const Picture *pic, int row, int col, int c)
{
  return pic->rgb[((gsize) row * pic->width + col) * 3 + c];
}

/* A frame with planes padded to stride and the padding full of garbage;
 * owns its bytes. */
typedef struct
{
  SanlImage image;
  guint8 *planes[3];
} Frame;

static guint8 *
garbage_plane (int stride, int rows)
{
  guint8 *p = g_malloc ((gsize) stride * rows);

  for (gsize i = 0; i < (gsize) stride * rows; i++)
    p[i] = rand_byte ();
  return p;
}

static void
frame_clear (Frame *f)
{
  for (int i = 0; i < 3; i++)
    g_free (f->planes[i]);
}

/* Packed format with bytes per pixel bpp and R, G, B at offsets r, g, b, from
 * a picture whose values are whole numbers; pad bytes of garbage per row. */
static Frame
frame_packed (const Picture *pic, SanlPixelFormat format, int bpp, int r, int g,
    int b, int pad)
{
  Frame f = { { 0 } };
  int stride = pic->width * bpp + pad;

  f.planes[0] = garbage_plane (stride, pic->height);
  for (int i = 0; i < pic->height; i++)
    for (int j = 0; j < pic->width; j++) {
      guint8 *px = f.planes[0] + (gsize) i * stride + j * bpp;

      px[r] = (guint8) picture_at (pic, i, j, 0);
      px[g] = (guint8) picture_at (pic, i, j, 1);
      px[b] = (guint8) picture_at (pic, i, j, 2);
    }
  f.image = (SanlImage){ format, pic->width, pic->height, { f.planes[0] },
    { stride } };
  return f;
}

/* A random picture with whole values 0..255. */
static Picture
picture_random (int width, int height)
{
  Picture pic = { width, height, g_new (double, (gsize) width *height * 3) };

  for (gsize i = 0; i < (gsize) width * height * 3; i++)
    pic.rgb[i] = rand_byte ();
  return pic;
}

/* ---------------------------------------------------------------------- */
/* The reference letterbox                                                 */

static const float imagenet_mean[3] = { 0.485f, 0.456f, 0.406f };
static const float imagenet_std[3] = { 0.229f, 0.224f, 0.225f };

static int
clamp_index (int i, int n)
{
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* The picture's value of channel c at frame point (sx, sy), bilinear, taps
 * clamped to the frame. */
static double
sample (const Picture *pic, double sx, double sy, int c)
{
  int x0 = (int) floor (sx), y0 = (int) floor (sy);
  double fx = sx - x0, fy = sy - y0;
  int xa = clamp_index (x0, pic->width), xb = clamp_index (x0 + 1, pic->width);
  int ya = clamp_index (y0, pic->height);
  int yb = clamp_index (y0 + 1, pic->height);

  return (1 - fy)
             * ((1 - fx) * picture_at (pic, ya, xa, c)
                 + fx * picture_at (pic, ya, xb, c))
         + fy
               * ((1 - fx) * picture_at (pic, yb, xa, c)
                   + fx * picture_at (pic, yb, xb, c));
}

/* out (3, size, size), straight from NETWORK.md; pad (size, size) is TRUE
 * where the network pixel is padding. */
static void
reference_letterbox (const Picture *pic, const SanlRect *region, int size,
    double *out, gboolean *pad)
{
  double rw = region->width, rh = region->height;
  double scale = size / (rw > rh ? rw : rh);
  double ox = (size - rw * scale) / 2, oy = (size - rh * scale) / 2;

  for (int v = 0; v < size; v++)
    for (int u = 0; u < size; u++) {
      double cx = u + 0.5, cy = v + 0.5;
      gboolean outside = cx < ox || cx >= ox + rw * scale || cy < oy
                         || cy >= oy + rh * scale;
      double sx = region->x + (cx - ox) / scale - 0.5;
      double sy = region->y + (cy - oy) / scale - 0.5;

      pad[v * size + u] = outside;
      for (int c = 0; c < 3; c++) {
        double value
            = outside ? 0.0
                      : (sample (pic, sx, sy, c) / 255.0 - imagenet_mean[c])
                            / imagenet_std[c];

        out[(c * size + v) * size + u] = value;
      }
    }
}

/* Runs sanl_preprocess on frame and checks it against the reference on pic
 * to tol; padding must be exactly 0. Returns the engine's output. */
static float *
check_against_reference (const Frame *f, const Picture *pic,
    const SanlRect *region, int size, double tol)
{
  gsize n = (gsize) 3 * size * size;
  float *got = g_new (float, n);
  double *want = g_new (double, n);
  gboolean *pad = g_new (gboolean, (gsize) size * size);
  double worst = 0.0;
  int n_pad = 0;

  sanl_preprocess (&f->image, region, size, imagenet_mean, imagenet_std, got);
  reference_letterbox (pic, region, size, want, pad);
  for (gsize i = 0; i < n; i++) {
    if (pad[i % ((gsize) size * size)]) {
      g_assert_cmpfloat (got[i], ==, 0.0f);
      n_pad++;
    }
    worst = MAX (worst, fabs (got[i] - want[i]));
  }
  g_test_message ("%dx%d region (%g, %g, %g, %g) S=%d: %d padding values, "
                  "max error %.3g",
      pic->width, pic->height, region->x, region->y, region->width,
      region->height, size, n_pad, worst);
  g_assert_cmpfloat (worst, <=, tol);
  g_free (want);
  g_free (pad);
  return got;
}

/* ---------------------------------------------------------------------- */
/* Letterbox geometry and sampling                                         */

static void
test_geometry_wide_region (void)
{
  SanlRect region = { 10, 20, 160, 120 };
  SanlLetterbox box = sanl_letterbox_geometry (&region, 192);

  g_assert_cmpfloat_with_epsilon (box.scale, 1.2f, 1e-6);
  g_assert_cmpfloat_with_epsilon (box.ox, 0.0f, 1e-5);
  g_assert_cmpfloat_with_epsilon (box.oy, 24.0f, 1e-5);
}

static void
test_geometry_tall_region (void)
{
  SanlRect region = { 0, 0, 50, 200 };
  SanlLetterbox box = sanl_letterbox_geometry (&region, 64);

  g_assert_cmpfloat_with_epsilon (box.scale, 0.32f, 1e-7);
  g_assert_cmpfloat_with_epsilon (box.ox, 24.0f, 1e-5);
  g_assert_cmpfloat_with_epsilon (box.oy, 0.0f, 1e-5);
}

/* A 2x2 frame stretched to S = 4 (scale 2, no padding): along each axis the
 * four network pixels sample at -0.25, 0.25, 0.75, 1.25, i.e. weights
 * (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1). With R = [[0, 100], [200, 40]]
 * the rows are [0, 25, 75, 100] and [200, 160, 80, 40], mixed the same way
 * vertically. */
static void
test_hand_computed_2x2 (void)
{
  static const double expected_r[4][4] = {
    { 0, 25, 75, 100 },
    { 50, 58.75, 76.25, 85 },
    { 150, 126.25, 78.75, 55 },
    { 200, 160, 80, 40 },
  };
  guint8 pixels[2 * 6] = { 0, 7, 9, 100, 7, 9, 200, 7, 9, 40, 7, 9 };
  SanlImage image = { SANL_PIXEL_RGB, 2, 2, { pixels }, { 6 } };
  SanlRect region = { 0, 0, 2, 2 };
  float mean[3] = { 0, 0, 0 }, std[3] = { 1, 1, 1 };
  float out[3 * 16];

  sanl_preprocess (&image, &region, 4, mean, std, out);
  for (int v = 0; v < 4; v++)
    for (int u = 0; u < 4; u++) {
      g_assert_cmpfloat_with_epsilon (
          out[v * 4 + u], expected_r[v][u] / 255.0, 1e-6);
      /* G and B are constant, so every sample is that constant */
      g_assert_cmpfloat_with_epsilon (out[16 + v * 4 + u], 7 / 255.0, 1e-6);
      g_assert_cmpfloat_with_epsilon (out[32 + v * 4 + u], 9 / 255.0, 1e-6);
    }
}

/* A 2x1 frame to S = 4: scale 2, oy = 1, so rows 0 and 3 (centres 0.5 and
 * 3.5, outside [1, 3)) are padding, exactly 0 whatever the mean; rows 1
 * and 2 hold (value / 255 - mean) / std of the stretched row. */
static void
test_hand_computed_padding (void)
{
  guint8 pixels[6] = { 51, 51, 51, 102, 102, 102 };
  SanlImage image = { SANL_PIXEL_RGB, 2, 1, { pixels }, { 6 } };
  SanlRect region = { 0, 0, 2, 1 };
  float mean[3] = { 0.5f, 0.5f, 0.5f }, std[3] = { 0.5f, 0.25f, 0.1f };
  float out[3 * 16];
  double row[4] = { 51, 63.75, 89.25, 102 };

  sanl_preprocess (&image, &region, 4, mean, std, out);
  for (int c = 0; c < 3; c++)
    for (int u = 0; u < 4; u++) {
      double want = (row[u] / 255.0 - 0.5) / std[c];

      g_assert_cmpfloat (out[c * 16 + 0 * 4 + u], ==, 0.0f);
      g_assert_cmpfloat (out[c * 16 + 3 * 4 + u], ==, 0.0f);
      g_assert_cmpfloat_with_epsilon (out[c * 16 + 1 * 4 + u], want, 1e-5);
      g_assert_cmpfloat_with_epsilon (out[c * 16 + 2 * 4 + u], want, 1e-5);
    }
}

typedef struct
{
  const char *what;
  int width;
  int height;
  int pad; /* garbage bytes after each row */
  SanlRect region;
  int size;
} ReferenceCase;

static const ReferenceCase reference_cases[] = {
  { "1x1 frame", 1, 1, 0, { 0, 0, 1, 1 }, 64 },
  { "3x5 frame, odd stride", 3, 5, 3, { 0, 0, 3, 5 }, 64 },
  { "wide frame", 160, 120, 1, { 0, 0, 160, 120 }, 192 },
  { "tall frame, large stride", 37, 211, 17, { 0, 0, 37, 211 }, 96 },
  { "region partly outside", 31, 23, 5, { -7.5f, 12.25f, 40, 19 }, 64 },
  { "region wholly outside", 9, 9, 2, { 20, -30, 4, 6 }, 32 },
  { "tall fractional region", 64, 80, 1, { 13.3f, 2.7f, 9.6f, 70.1f }, 96 },
  { "wide fractional region", 90, 30, 7, { -0.5f, 8.5f, 85.25f, 3.5f }, 64 },
  { "upscaling a small region", 50, 40, 0, { 20.2f, 10.9f, 5.3f, 4.1f }, 128 },
  { "downscaling a large frame", 1000, 700, 3, { 0, 0, 1000, 700 }, 96 },
};

static void
test_letterbox_matches_reference (gconstpointer data)
{
  const ReferenceCase *tc = data;
  Picture pic = picture_random (tc->width, tc->height);
  Frame f = frame_packed (&pic, SANL_PIXEL_RGB, 3, 0, 1, 2, tc->pad);

  g_free (check_against_reference (&f, &pic, &tc->region, tc->size, 1e-4));
  frame_clear (&f);
  g_free (pic.rgb);
}

/* ---------------------------------------------------------------------- */
/* Pixel formats                                                           */

typedef struct
{
  const char *name;
  SanlPixelFormat format;
  int bpp, r, g, b;
} PackedCase;

static const PackedCase packed_cases[] = {
  { "BGR", SANL_PIXEL_BGR, 3, 2, 1, 0 },
  { "RGBX", SANL_PIXEL_RGBX, 4, 0, 1, 2 },
  { "BGRX", SANL_PIXEL_BGRX, 4, 2, 1, 0 },
  { "XRGB", SANL_PIXEL_XRGB, 4, 1, 2, 3 },
  { "XBGR", SANL_PIXEL_XBGR, 4, 3, 2, 1 },
};

/* The same bytes in another order give bit-identical input. */
static void
test_packed_format_equals_rgb (gconstpointer data)
{
  const PackedCase *pc = data;
  Picture pic = picture_random (29, 17);
  Frame rgb = frame_packed (&pic, SANL_PIXEL_RGB, 3, 0, 1, 2, 1);
  Frame other
      = frame_packed (&pic, pc->format, pc->bpp, pc->r, pc->g, pc->b, 6);
  SanlRect region = { -2.5f, 3, 30, 11 };
  float want[3 * 64 * 64], got[3 * 64 * 64];

  sanl_preprocess (&rgb.image, &region, 64, imagenet_mean, imagenet_std, want);
  sanl_preprocess (&other.image, &region, 64, imagenet_mean, imagenet_std, got);
  g_assert_cmpmem (got, sizeof got, want, sizeof want);
  frame_clear (&rgb);
  frame_clear (&other);
  g_free (pic.rgb);
}

static double
clamp255 (double x)
{
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

/* BT.601 limited range, as NETWORK.md writes it. */
static void
yuv_to_rgb (int y, int u, int v, double *rgb)
{
  rgb[0] = clamp255 (1.164 * (y - 16) + 1.596 * (v - 128));
  rgb[1] = clamp255 (1.164 * (y - 16) - 0.813 * (v - 128) - 0.391 * (u - 128));
  rgb[2] = clamp255 (1.164 * (y - 16) + 2.018 * (u - 128));
}

/* A random YUV frame of format with odd sizes and padded strides, and the
 * picture it shows, converted pixel by pixel. */
static Frame
frame_yuv (SanlPixelFormat format, int width, int height, Picture *pic)
{
  Frame f = { { 0 } };
  int cw = (width + 1) / 2, ch = (height + 1) / 2;

  pic->width = width;
  pic->height = height;
  pic->rgb = g_new (double, (gsize) width *height * 3);
  f.image.format = format;
  f.image.width = width;
  f.image.height = height;

  switch (format) {
    case SANL_PIXEL_I420:
      f.image.stride[0] = width + 3;
      f.image.stride[1] = cw + 5;
      f.image.stride[2] = cw + 1;
      f.planes[0] = garbage_plane (f.image.stride[0], height);
      f.planes[1] = garbage_plane (f.image.stride[1], ch);
      f.planes[2] = garbage_plane (f.image.stride[2], ch);
      break;
    case SANL_PIXEL_NV12:
      f.image.stride[0] = width + 1;
      f.image.stride[1] = 2 * cw + 3;
      f.planes[0] = garbage_plane (f.image.stride[0], height);
      f.planes[1] = garbage_plane (f.image.stride[1], ch);
      break;
    default:
      /* YUY2: ceil(width / 2) pairs of 4 bytes per row */
      f.image.stride[0] = 4 * cw + 6;
      f.planes[0] = garbage_plane (f.image.stride[0], height);
      break;
  }
  for (int i = 0; i < 3; i++)
    f.image.data[i] = f.planes[i];

  /* the garbage inside the rows is the picture; read it back */
  for (int i = 0; i < height; i++)
    for (int j = 0; j < width; j++) {
      const guint8 *p0 = f.planes[0] + (gsize) i * f.image.stride[0];
      const guint8 *p1 = f.planes[1] + (gsize) (i / 2) * f.image.stride[1];
      const guint8 *p2 = f.planes[2] + (gsize) (i / 2) * f.image.stride[2];
      int y, u, v;

      if (format == SANL_PIXEL_I420) {
        y = p0[j];
        u = p1[j / 2];
        v = p2[j / 2];
      } else if (format == SANL_PIXEL_NV12) {
        y = p0[j];
        u = p1[2 * (j / 2)];
        v = p1[2 * (j / 2) + 1];
      } else {
        y = p0[2 * j];
        u = p0[4 * (j / 2) + 1];
        v = p0[4 * (j / 2) + 3];
      }
      yuv_to_rgb (y, u, v, pic->rgb + ((gsize) i * width + j) * 3);
    }
  return f;
}

static void
test_yuv_format_equals_converted_rgb (gconstpointer data)
{
  SanlPixelFormat format = GPOINTER_TO_INT (data);
  Picture pic;
  Frame f = frame_yuv (format, 27, 19, &pic);
  SanlRect whole = { 0, 0, 27, 19 };
  SanlRect part = { 3.5f, -1.25f, 9, 15 };

  g_free (check_against_reference (&f, &pic, &whole, 64, 1e-4));
  g_free (check_against_reference (&f, &pic, &part, 96, 1e-4));
  frame_clear (&f);
  g_free (pic.rgb);
}

/* ---------------------------------------------------------------------- */
/* Decoding                                                                */

/* A separable parabola 10 - (x - 2.3)^2 - 2 (y - 1.8)^2 peaks at pixel
 * (2, 2); the three-point parabola through it is exact, so the peak is
 * (2.3, 1.8) and the height is the value at (2, 2). */
static void
test_peak_parabola_offset (void)
{
  float hm[5 * 6];
  float px, py, height;

  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 6; x++)
      hm[y * 6 + x] = 10 - (x - 2.3) * (x - 2.3) - 2 * (y - 1.8) * (y - 1.8);
  height = sanl_heatmap_peak (hm, 5, 6, &px, &py);
  g_assert_cmpfloat_with_epsilon (px, 2.3f, 1e-5);
  g_assert_cmpfloat_with_epsilon (py, 1.8f, 1e-5);
  g_assert_cmpfloat (height, ==, hm[2 * 6 + 2]);
}

/* On a border the missing neighbour means no refinement along that axis;
 * the other axis is still refined. */
static void
test_peak_on_left_border (void)
{
  float hm[4 * 5] = { 0 };
  float px, py;

  hm[1 * 5 + 0] = 0.5f; /* above */
  hm[2 * 5 + 0] = 1.0f; /* peak at (0, 2) */
  hm[3 * 5 + 0] = 0.0f; /* below */
  hm[2 * 5 + 1] = 0.9f; /* would pull x right if refined */
  g_assert_cmpfloat (sanl_heatmap_peak (hm, 4, 5, &px, &py), ==, 1.0f);
  g_assert_cmpfloat (px, ==, 0.0f);
  /* d = (0.5 - 0) / (2 (0.5 - 2 + 0)) = -1/6 */
  g_assert_cmpfloat_with_epsilon (py, 2.0 - 1.0 / 6.0, 1e-6);
}

static void
test_peak_in_corner (void)
{
  float hm[3 * 4] = { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f,
    1.0f, 1.1f, 1.2f };
  float px, py;

  g_assert_cmpfloat (sanl_heatmap_peak (hm, 3, 4, &px, &py), ==, 1.2f);
  g_assert_cmpfloat (px, ==, 3.0f);
  g_assert_cmpfloat (py, ==, 2.0f);
}

/* Equal maxima: the first in row-major order wins, even when a later one
 * sits on an earlier row's column. */
static void
test_peak_tie_first_wins (void)
{
  float hm[4 * 4] = { 0 };
  float px, py;

  hm[1 * 4 + 2] = 3.0f;
  hm[2 * 4 + 1] = 3.0f;
  sanl_heatmap_peak (hm, 4, 4, &px, &py);
  /* at (2, 1): x neighbours 0, 0 give d = 0; y neighbours 0, 0 too */
  g_assert_cmpfloat (px, ==, 2.0f);
  g_assert_cmpfloat (py, ==, 1.0f);
}

/* Two equal neighbours: the first wins and the parabola through (0, c, c)
 * puts the vertex half-way, d = (0 - c) / (2 (0 - 2c + c)) = 1/2. */
static void
test_peak_tie_adjacent_is_halfway (void)
{
  float hm[3 * 5] = { 0 };
  float px, py;

  hm[1 * 5 + 1] = 2.0f;
  hm[1 * 5 + 2] = 2.0f;
  sanl_heatmap_peak (hm, 3, 5, &px, &py);
  g_assert_cmpfloat (px, ==, 1.5f);
  g_assert_cmpfloat (py, ==, 1.0f);
}

/* A flat heatmap: the first pixel wins, on the border, unrefined. */
static void
test_peak_flat (void)
{
  float hm[3 * 5] = { 0 };
  float px, py;

  g_assert_cmpfloat (sanl_heatmap_peak (hm, 3, 5, &px, &py), ==, 0.0f);
  g_assert_cmpfloat (px, ==, 0.0f);
  g_assert_cmpfloat (py, ==, 0.0f);
}

/* Heatmap (0, 0) is network point (2, 2); region (10, 20, 160, 120) at
 * S = 192 has scale 1.2, ox 0, oy 24: frame (10 + 2 / 1.2 - 0.5,
 * 20 + (2 - 24) / 1.2 - 0.5). */
static void
test_heatmap_to_frame_hand_computed (void)
{
  SanlRect region = { 10, 20, 160, 120 };
  float x, y;

  sanl_heatmap_to_frame (&region, 192, 0, 0, &x, &y);
  g_assert_cmpfloat_with_epsilon (x, 10 + 2 / 1.2 - 0.5, 1e-5);
  g_assert_cmpfloat_with_epsilon (y, 20 + (2 - 24) / 1.2 - 0.5, 1e-5);
}

/* The inverse of NETWORK.md's mapping, as training draws its targets:
 * frame point -> network point -> heatmap point. */
static void
frame_to_heatmap (const SanlRect *region, int size, double x, double y,
    double *hx, double *hy)
{
  double rw = region->width, rh = region->height;
  double scale = size / (rw > rh ? rw : rh);
  double ox = (size - rw * scale) / 2, oy = (size - rh * scale) / 2;

  *hx = ((x + 0.5 - region->x) * scale + ox) / 4 - 0.5;
  *hy = ((y + 0.5 - region->y) * scale + oy) / 4 - 0.5;
}

static void
test_round_trip (void)
{
  static const SanlRect regions[] = {
    { 0, 0, 160, 120 },
    { 0, 0, 120, 160 },
    { -12.5f, 33.25f, 301, 77 },
    { 400, 10, 35, 500 },
    { 0, 0, 1920, 1080 },
  };
  static const int sizes[] = { 64, 192, 224 };

  for (gsize r = 0; r < G_N_ELEMENTS (regions); r++)
    for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
      for (int k = 0; k < 20; k++) {
        const SanlRect *reg = &regions[r];
        double x = reg->x + reg->width * (k % 5) / 4.0 - 0.5;
        double y = reg->y + reg->height * (k / 5) / 3.0 - 0.5;
        double hx, hy;
        float fx, fy;

        frame_to_heatmap (reg, sizes[s], x, y, &hx, &hy);
        sanl_heatmap_to_frame (reg, sizes[s], hx, hy, &fx, &fy);
        g_assert_cmpfloat_with_epsilon (fx, x, 1e-4 * MAX (1, fabs (x)));
        g_assert_cmpfloat_with_epsilon (fy, y, 1e-4 * MAX (1, fabs (y)));
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func (
      "/preprocess/geometry/wide-region", test_geometry_wide_region);
  g_test_add_func (
      "/preprocess/geometry/tall-region", test_geometry_tall_region);
  g_test_add_func (
      "/preprocess/hand-computed/2x2-to-4", test_hand_computed_2x2);
  g_test_add_func (
      "/preprocess/hand-computed/padding-is-zero", test_hand_computed_padding);
  for (gsize i = 0; i < G_N_ELEMENTS (reference_cases); i++) {
    char *path
        = g_strdup_printf ("/preprocess/reference/%s", reference_cases[i].what);

    g_test_add_data_func (
        path, &reference_cases[i], test_letterbox_matches_reference);
    g_free (path);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (packed_cases); i++) {
    char *path
        = g_strdup_printf ("/preprocess/format/%s", packed_cases[i].name);

    g_test_add_data_func (
        path, &packed_cases[i], test_packed_format_equals_rgb);
    g_free (path);
  }
  g_test_add_data_func ("/preprocess/format/I420",
      GINT_TO_POINTER (SANL_PIXEL_I420), test_yuv_format_equals_converted_rgb);
  g_test_add_data_func ("/preprocess/format/NV12",
      GINT_TO_POINTER (SANL_PIXEL_NV12), test_yuv_format_equals_converted_rgb);
  g_test_add_data_func ("/preprocess/format/YUY2",
      GINT_TO_POINTER (SANL_PIXEL_YUY2), test_yuv_format_equals_converted_rgb);

  g_test_add_func ("/decode/peak/parabola-offset", test_peak_parabola_offset);
  g_test_add_func ("/decode/peak/left-border", test_peak_on_left_border);
  g_test_add_func ("/decode/peak/corner", test_peak_in_corner);
  g_test_add_func ("/decode/peak/tie-first-wins", test_peak_tie_first_wins);
  g_test_add_func (
      "/decode/peak/tie-adjacent-half-way", test_peak_tie_adjacent_is_halfway);
  g_test_add_func ("/decode/peak/flat", test_peak_flat);
  g_test_add_func (
      "/decode/to-frame/hand-computed", test_heatmap_to_frame_hand_computed);
  g_test_add_func ("/decode/to-frame/round-trip", test_round_trip);

  return g_test_run ();
}
