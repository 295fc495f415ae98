/* The layer kernels of libsanl against naive loops written here in double
 * precision, on small shapes chosen to be awkward: odd and non-square maps,
 * channel counts that are no multiple of a SIMD width, strides and padding
 * that leave partial windows. */

#include "sanl-private.h"

#include <math.h>
#include <string.h>

#define SEED 20190708
#define TOLERANCE 1e-5 /* relative to the largest |reference| */

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */

static float *
random_floats (GRand *rand, gsize n, double lo, double hi)
{
  float *v = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, lo, hi);
  return v;
}

/* Fails unless every got[i] is within TOLERANCE * max |ref| of ref[i]. */
static void
assert_close (const float *got, const double *ref, gsize n)
{
  double scale = 0.0, worst = 0.0;

  for (gsize i = 0; i < n; i++)
    scale = MAX (scale, fabs (ref[i]));
  for (gsize i = 0; i < n; i++) {
    g_assert_true (isfinite (got[i]));
    worst = MAX (worst, fabs (got[i] - ref[i]));
  }
  g_test_message ("max |error| %.3g, max |ref| %.3g", worst, scale);
  g_assert_cmpfloat (worst, <=, TOLERANCE * MAX (scale, 1e-30));
}

typedef struct
{
  int cin, cout, kernel, stride, pad, h, w;
} ConvShape;

/* Odd sizes, non-square maps, channels 3, 5 and 13, kernels 1, 3 and 7,
 * strides 1 and 2, padding 0, 1 and 3, and a strided 1x1. */
static const ConvShape conv_shapes[] = {
  { 3, 5, 3, 1, 1, 7, 5 },
  { 5, 13, 3, 2, 1, 9, 11 },
  { 3, 5, 3, 2, 0, 7, 5 },
  { 13, 3, 7, 2, 3, 9, 11 },
  { 5, 3, 7, 1, 3, 7, 5 },
  { 5, 13, 1, 1, 0, 7, 5 },
  { 13, 5, 1, 2, 0, 9, 11 },
  { 3, 5, 1, 1, 1, 7, 5 },
};

static SanlConv
random_conv (GRand *rand, const ConvShape *s)
{
  SanlConv conv = { s->cin, s->cout, s->kernel, s->stride, s->pad };

  conv.weight = random_floats (
      rand, (gsize) s->cout * s->cin * s->kernel * s->kernel, -1.0, 1.0);
  conv.bias = random_floats (rand, s->cout, -1.0, 1.0);
  return conv;
}

static void
conv_free (SanlConv *conv)
{
  g_free (conv->weight);
  g_free (conv->bias);
}

static int
out_size (int in, int kernel, int stride, int pad)
{
  /* counted, not computed by formula: the last window must start inside
   * the padded input and end inside it too */
  int n = 0;

  for (int start = -pad; start + kernel <= in + pad; start += stride)
    n++;
  return n;
}

/* ---------------------------------------------------------------------- */
/* Naive convolution in double                                             */

static double
weight_at (const SanlConv *c, int o, int i, int ky, int kx)
{
  return c
      ->weight[((gsize) (o * c->cin + i) * c->kernel + ky) * c->kernel + kx];
}

/* y (cout, oh, ow) = bias + sum over taps inside x; with x in double. */
static void
ref_conv (
    const SanlConv *c, const double *x, int h, int w, double *y, gboolean relu)
{
  int oh = out_size (h, c->kernel, c->stride, c->pad);
  int ow = out_size (w, c->kernel, c->stride, c->pad);

  for (int o = 0; o < c->cout; o++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double sum = c->bias[o];

        for (int i = 0; i < c->cin; i++)
          for (int ky = 0; ky < c->kernel; ky++)
            for (int kx = 0; kx < c->kernel; kx++) {
              int iy = oy * c->stride + ky - c->pad;
              int ix = ox * c->stride + kx - c->pad;

              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              sum += weight_at (c, o, i, ky, kx) * x[(i * h + iy) * w + ix];
            }
        y[(o * oh + oy) * ow + ox] = relu && sum < 0.0 ? 0.0 : sum;
      }
}

/* dx (cin, h, w), gathered per input pixel: every output position whose
 * window covers (iy, ix), found by solving oy * stride + ky - pad = iy. */
static void
ref_conv_transposed (
    const SanlConv *c, const float *dy, int h, int w, double *dx)
{
  int oh = out_size (h, c->kernel, c->stride, c->pad);
  int ow = out_size (w, c->kernel, c->stride, c->pad);

  for (int i = 0; i < c->cin; i++)
    for (int iy = 0; iy < h; iy++)
      for (int ix = 0; ix < w; ix++) {
        double sum = 0.0;

        for (int o = 0; o < c->cout; o++)
          for (int ky = 0; ky < c->kernel; ky++)
            for (int kx = 0; kx < c->kernel; kx++) {
              int ny = iy + c->pad - ky, nx = ix + c->pad - kx;
              int oy = ny / c->stride, ox = nx / c->stride;

              if (ny < 0 || nx < 0 || ny % c->stride || nx % c->stride
                  || oy >= oh || ox >= ow)
                continue;
              sum += weight_at (c, o, i, ky, kx) * dy[(o * oh + oy) * ow + ox];
            }
        dx[(i * h + iy) * w + ix] = sum;
      }
}

static double *
to_double (const float *v, gsize n)
{
  double *d = g_new (double, n);

  for (gsize i = 0; i < n; i++)
    d[i] = v[i];
  return d;
}

/* ---------------------------------------------------------------------- */
/* Convolution                                                             */

static void
check_conv_forward (const ConvShape *s, gboolean relu)
{
  GRand *rand = g_rand_new_with_seed (SEED);
  SanlConv conv = random_conv (rand, s);
  int oh = out_size (s->h, s->kernel, s->stride, s->pad);
  int ow = out_size (s->w, s->kernel, s->stride, s->pad);
  gsize nx = (gsize) s->cin * s->h * s->w, ny = (gsize) s->cout * oh * ow;
  float *x = random_floats (rand, nx, -1.0, 1.0);
  float *y = g_new (float, ny);
  float *work = g_new (float, sanl_conv_workspace (&conv, s->h, s->w) + 1);
  double *xd = to_double (x, nx), *ref = g_new (double, ny);

  g_test_message ("cin %d cout %d k %d s %d p %d at %dx%d", s->cin, s->cout,
      s->kernel, s->stride, s->pad, s->h, s->w);
  sanl_conv_forward (&conv, x, s->h, s->w, y, relu, work);
  ref_conv (&conv, xd, s->h, s->w, ref, relu);
  assert_close (y, ref, ny);

  conv_free (&conv);
  g_free (x);
  g_free (y);
  g_free (work);
  g_free (xd);
  g_free (ref);
  g_rand_free (rand);
}

static void
test_conv_forward (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (conv_shapes); i++)
    check_conv_forward (&conv_shapes[i], FALSE);
}

static void
test_conv_forward_relu (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (conv_shapes); i++)
    check_conv_forward (&conv_shapes[i], TRUE);
}

static void
test_conv_workspace_pointwise_is_zero (void)
{
  SanlConv pointwise = { 13, 5, 1, 1, 0 };
  SanlConv strided = { 13, 5, 1, 2, 0 };

  /* 1x1 stride 1 reads its input directly; 1x1 stride 2 must gather */
  g_assert_cmpuint (sanl_conv_workspace (&pointwise, 9, 11), ==, 0);
  g_assert_cmpuint (
      sanl_conv_workspace (&strided, 9, 11), ==, 13 * 1 * 1 * 5 * 6);
}

/* dx of the kernel for random dy; reference computed by the caller. */
static float *
run_backward (const SanlConv *conv, const ConvShape *s, const float *dy)
{
  float *dx = g_new (float, (gsize) s->cin * s->h * s->w);
  float *work = g_new (float, sanl_conv_workspace (conv, s->h, s->w) + 1);

  /* garbage in dx must not leak into the result */
  for (gsize i = 0; i < (gsize) s->cin * s->h * s->w; i++)
    dx[i] = NAN;
  sanl_conv_backward_data (conv, dy, s->h, s->w, dx, work);
  g_free (work);
  return dx;
}

static void
test_conv_backward_transposed (void)
{
  for (guint k = 0; k < G_N_ELEMENTS (conv_shapes); k++) {
    const ConvShape *s = &conv_shapes[k];
    GRand *rand = g_rand_new_with_seed (SEED + k);
    SanlConv conv = random_conv (rand, s);
    int oh = out_size (s->h, s->kernel, s->stride, s->pad);
    int ow = out_size (s->w, s->kernel, s->stride, s->pad);
    gsize nx = (gsize) s->cin * s->h * s->w;
    float *dy = random_floats (rand, (gsize) s->cout * oh * ow, -1.0, 1.0);
    float *dx = run_backward (&conv, s, dy);
    double *ref = g_new (double, nx);

    g_test_message ("cin %d cout %d k %d s %d p %d at %dx%d", s->cin, s->cout,
        s->kernel, s->stride, s->pad, s->h, s->w);
    ref_conv_transposed (&conv, dy, s->h, s->w, ref);
    assert_close (dx, ref, nx);

    conv_free (&conv);
    g_free (dy);
    g_free (dx);
    g_free (ref);
    g_rand_free (rand);
  }
}

/* sum (dy * conv (x)) in double */
static double
dot_loss (const SanlConv *conv, const ConvShape *s, const double *x,
    const float *dy, double *y)
{
  int oh = out_size (s->h, s->kernel, s->stride, s->pad);
  int ow = out_size (s->w, s->kernel, s->stride, s->pad);
  double loss = 0.0;

  ref_conv (conv, x, s->h, s->w, y, FALSE);
  for (int i = 0; i < s->cout * oh * ow; i++)
    loss += dy[i] * y[i];
  return loss;
}

static void
test_conv_backward_finite_difference (void)
{
  const double eps = 1e-3;

  for (guint k = 0; k < G_N_ELEMENTS (conv_shapes); k++) {
    const ConvShape *s = &conv_shapes[k];
    GRand *rand = g_rand_new_with_seed (SEED + 100 + k);
    SanlConv conv = random_conv (rand, s);
    int oh = out_size (s->h, s->kernel, s->stride, s->pad);
    int ow = out_size (s->w, s->kernel, s->stride, s->pad);
    gsize nx = (gsize) s->cin * s->h * s->w;
    float *dy = random_floats (rand, (gsize) s->cout * oh * ow, -1.0, 1.0);
    float *x = random_floats (rand, nx, -1.0, 1.0);
    float *dx = run_backward (&conv, s, dy);
    double *xd = to_double (x, nx);
    double *y = g_new (double, (gsize) s->cout *oh *ow);
    double scale = 0.0;

    for (gsize i = 0; i < nx; i++)
      scale = MAX (scale, fabs (dx[i]));

    /* a few random input coordinates, plus the two corners */
    for (int t = 0; t < 8; t++) {
      gsize i = (gsize) g_rand_int_range (rand, 0, (gint32) nx);
      double plus, minus, numeric;

      if (t < 2)
        i = t == 0 ? 0 : nx - 1;
      xd[i] = x[i] + eps;
      plus = dot_loss (&conv, s, xd, dy, y);
      xd[i] = x[i] - eps;
      minus = dot_loss (&conv, s, xd, dy, y);
      xd[i] = x[i];
      numeric = (plus - minus) / (2.0 * eps);
      g_assert_cmpfloat (fabs (dx[i] - numeric), <=, TOLERANCE * scale);
    }

    conv_free (&conv);
    g_free (dy);
    g_free (x);
    g_free (dx);
    g_free (xd);
    g_free (y);
    g_rand_free (rand);
  }
}

/* ---------------------------------------------------------------------- */
/* Pooling                                                                 */

/* Naive max-pool: every tap of the window, padding taps left out. */
static void
ref_max_pool (
    const float *x, int c, int h, int w, int k, int s, int p, double *y)
{
  int oh = out_size (h, k, s, p), ow = out_size (w, k, s, p);

  for (int ch = 0; ch < c; ch++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        gboolean any = FALSE;
        double m = 0.0;

        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) {
            int iy = oy * s - p + ky, ix = ox * s - p + kx;
            double v;

            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
              continue;
            v = x[(ch * h + iy) * w + ix];
            if (!any || v > m)
              m = v;
            any = TRUE;
          }
        g_assert_true (any);
        y[(ch * oh + oy) * ow + ox] = m;
      }
}

static void
check_max_pool (int c, int h, int w, int k, int s, int p, double lo, double hi)
{
  GRand *rand = g_rand_new_with_seed (SEED);
  int oh = out_size (h, k, s, p), ow = out_size (w, k, s, p);
  gsize ny = (gsize) c * oh * ow;
  float *x = random_floats (rand, (gsize) c * h * w, lo, hi);
  float *y = g_new (float, ny);
  double *ref = g_new (double, ny);

  sanl_max_pool (x, c, h, w, k, s, p, y);
  ref_max_pool (x, c, h, w, k, s, p, ref);

  /* a maximum is one of the inputs: exact */
  for (gsize i = 0; i < ny; i++)
    g_assert_cmpfloat (y[i], ==, ref[i]);

  g_free (x);
  g_free (y);
  g_free (ref);
  g_rand_free (rand);
}

static void
test_max_pool_stem (void)
{
  check_max_pool (5, 7, 5, 3, 2, 1, -1.0, 1.0);
  check_max_pool (3, 9, 11, 3, 2, 1, -1.0, 1.0);
}

static void
test_max_pool_padding_never_wins (void)
{
  /* all inputs below zero: a zero-padded pool would return 0 at borders */
  check_max_pool (5, 7, 5, 3, 2, 1, -2.0, -1.0);
  check_max_pool (3, 9, 11, 3, 2, 1, -2.0, -1.0);
}

static void
test_max_pool_2x2_drops_odd_edge (void)
{
  float x[3 * 3] = { 1, 2, 9, 3, 4, 9, 9, 9, 9 };
  float y[1] = { 0 };

  /* 3x3 pools to 1x1: the last row and column (all 9) are dropped */
  sanl_max_pool (x, 1, 3, 3, 2, 2, 0, y);
  g_assert_cmpfloat (y[0], ==, 4.0f);

  check_max_pool (13, 7, 5, 2, 2, 0, -1.0, 1.0);
}

static void
test_global_avg_pool (void)
{
  GRand *rand = g_rand_new_with_seed (SEED);
  int c = 5, hw = 7 * 5;
  float *x = random_floats (rand, (gsize) c * hw, -1.0, 1.0);
  float y[5];
  double ref[5];

  for (int ch = 0; ch < c; ch++) {
    ref[ch] = 0.0;
    for (int i = 0; i < hw; i++)
      ref[ch] += x[ch * hw + i] / (double) hw;
  }
  sanl_global_avg_pool (x, c, hw, y);
  assert_close (y, ref, c);

  g_free (x);
  g_rand_free (rand);
}

/* ---------------------------------------------------------------------- */
/* Linear and elementwise                                                  */

static void
test_linear (void)
{
  GRand *rand = g_rand_new_with_seed (SEED);
  SanlLinear fc = { 13, 5 };
  float *x = random_floats (rand, 13, -1.0, 1.0);
  float y[5];
  double ref[5];

  fc.weight = random_floats (rand, 5 * 13, -1.0, 1.0);
  fc.bias = random_floats (rand, 5, -1.0, 1.0);
  for (int o = 0; o < 5; o++) {
    ref[o] = fc.bias[o];
    for (int i = 0; i < 13; i++)
      ref[o] += (double) fc.weight[o * 13 + i] * x[i];
  }
  sanl_linear_forward (&fc, x, y);
  assert_close (y, ref, 5);

  g_free (fc.weight);
  g_free (fc.bias);
  g_free (x);
  g_rand_free (rand);
}

static void
test_add (void)
{
  float y[3] = { 1.0f, -2.0f, 0.5f };
  const float x[3] = { 0.25f, 2.0f, -1.5f };

  sanl_add (y, x, 3);
  g_assert_cmpfloat (y[0], ==, 1.25f);
  g_assert_cmpfloat (y[1], ==, 0.0f);
  g_assert_cmpfloat (y[2], ==, -1.0f);
}

static void
test_upsample2_add (void)
{
  GRand *rand = g_rand_new_with_seed (SEED);
  int c = 3, h = 5, w = 7;
  gsize ny = (gsize) c * 2 * h * 2 * w;
  float *x = random_floats (rand, (gsize) c * h * w, -1.0, 1.0);
  float *y = random_floats (rand, ny, -1.0, 1.0);
  double *ref = to_double (y, ny);

  /* each input pixel covers a 2x2 block of the output */
  for (int ch = 0; ch < c; ch++)
    for (int iy = 0; iy < h; iy++)
      for (int ix = 0; ix < w; ix++)
        for (int d = 0; d < 4; d++) {
          int oy = 2 * iy + d / 2, ox = 2 * ix + d % 2;

          ref[(ch * 2 * h + oy) * 2 * w + ox] += x[(ch * h + iy) * w + ix];
        }
  sanl_upsample2_add (y, x, c, h, w);
  for (gsize i = 0; i < ny; i++)
    g_assert_cmpfloat (y[i], ==, (float) ref[i]);

  g_free (x);
  g_free (y);
  g_free (ref);
  g_rand_free (rand);
}

/* ---------------------------------------------------------------------- */
/* Softmax                                                                 */

/* Row softmax in double through the log of the row's sum of exponentials,
 * shifted by the row maximum so that exp cannot overflow. */
static void
ref_softmax_rows (const float *x, int rows, int cols, double *y)
{
  for (int r = 0; r < rows; r++) {
    const float *row = x + r * cols;
    double m = row[0], sum = 0.0, lse;

    for (int j = 1; j < cols; j++)
      m = MAX (m, row[j]);
    for (int j = 0; j < cols; j++)
      sum += exp (row[j] - m);
    lse = m + log (sum);
    for (int j = 0; j < cols; j++)
      y[r * cols + j] = exp (row[j] - lse);
  }
}

static void
test_softmax_rows (void)
{
  GRand *rand = g_rand_new_with_seed (SEED);
  int rows = 4, cols = 13;
  gsize n = (gsize) rows * cols;
  float *x = random_floats (rand, n, -3.0, 3.0);
  double ref[4 * 13];

  /* row 1 near 1000, row 2 one huge value, row 3 huge and negative */
  for (int j = 0; j < cols; j++)
    x[cols + j] += 1000.0f;
  x[2 * cols + 5] = 1000.0f;
  for (int j = 0; j < cols; j++)
    x[3 * cols + j] -= 1000.0f;

  ref_softmax_rows (x, rows, cols, ref);
  sanl_softmax_rows (x, rows, cols);
  assert_close (x, ref, n);
  g_assert_cmpfloat (x[2 * cols + 5], >, 0.99f);

  g_free (x);
  g_rand_free (rand);
}

/* Every value, down to e^-40 of the row maximum, to 1e-6 of itself: the
 * exponential is computed in vector blocks with a scalar tail, so the row
 * length is neither a multiple of 16 nor short. Inputs are multiples of
 * 2^-10 so that subtracting the row maximum is exact in float too. */
static void
test_softmax_rows_relative (void)
{
  GRand *rand = g_rand_new_with_seed (SEED);
  int rows = 3, cols = 16 * 37 + 11;
  gsize n = (gsize) rows * cols;
  float *x = random_floats (rand, n, -40.0, 0.0);
  double *ref = g_new (double, n), worst = 0.0;

  for (gsize i = 0; i < n; i++)
    x[i] = roundf (x[i] * 1024.0f) / 1024.0f + 7.0f;
  ref_softmax_rows (x, rows, cols, ref);
  sanl_softmax_rows (x, rows, cols);
  for (gsize i = 0; i < n; i++)
    worst = MAX (worst, fabs (x[i] - ref[i]) / ref[i]);
  g_test_message ("max relative error %.3g", worst);
  g_assert_cmpfloat (worst, <=, 1e-6);

  g_free (ref);
  g_free (x);
  g_rand_free (rand);
}

/* Values more than 87 below the row maximum, -inf included, give exactly
 * 0, in the vector blocks and in the tail alike; the rest sum to 1. */
static void
test_softmax_rows_far_below_is_zero (void)
{
  float x[2 * 16 + 3];
  int cols = G_N_ELEMENTS (x);

  for (int j = 0; j < cols; j++)
    x[j] = j % 3 == 0 ? 1.0f : j % 3 == 1 ? -1e30f : -INFINITY;
  sanl_softmax_rows (x, 1, cols);
  for (int j = 0; j < cols; j++)
    g_assert_cmpfloat (x[j], ==, j % 3 == 0 ? 1.0f / 12.0f : 0.0f);
}

/* ---------------------------------------------------------------------- */
/* Non-local block                                                         */

static SanlNonLocal
random_nonlocal (GRand *rand, int channels)
{
  SanlNonLocal b = { channels, MAX (channels / 2, 1) };
  ConvShape down = { channels, b.inner, 1, 1, 0, 0, 0 };
  ConvShape up = { b.inner, channels, 1, 1, 0, 0, 0 };

  b.theta = random_conv (rand, &down);
  b.phi = random_conv (rand, &down);
  b.g = random_conv (rand, &down);
  b.out = random_conv (rand, &up);
  return b;
}

static void
nonlocal_free (SanlNonLocal *b)
{
  conv_free (&b->theta);
  conv_free (&b->phi);
  conv_free (&b->g);
  conv_free (&b->out);
}

/* (c, h, w) to (c, h / 2, w / 2) by the maximum of each whole 2x2 block */
static void
ref_pool2 (const double *x, int c, int h, int w, double *y)
{
  int ph = h / 2, pw = w / 2;

  for (int ch = 0; ch < c; ch++)
    for (int py = 0; py < ph; py++)
      for (int px = 0; px < pw; px++) {
        const double *t = x + (ch * h + 2 * py) * w + 2 * px;

        y[(ch * ph + py) * pw + px]
            = MAX (MAX (t[0], t[1]), MAX (t[w], t[w + 1]));
      }
}

/* The block written out position by position in double. */
static void
ref_nonlocal (const SanlNonLocal *b, const float *x, int h, int w,
    const float *attention, double *z)
{
  int ci = b->inner, c = b->channels, hw = h * w, p = (h / 2) * (w / 2);
  double *xd = to_double (x, (gsize) c * hw);
  double *theta = g_new (double, ci *hw), *full = g_new (double, ci *hw);
  double *phi = g_new (double, ci *p), *g = g_new (double, ci *p);
  double *a = g_new (double, p), *f = g_new (double, p);
  double *y = g_new (double, ci *hw);

  ref_conv (&b->theta, xd, h, w, theta, FALSE);
  ref_conv (&b->phi, xd, h, w, full, FALSE);
  ref_pool2 (full, ci, h, w, phi);
  ref_conv (&b->g, xd, h, w, full, FALSE);
  ref_pool2 (full, ci, h, w, g);
  for (int j = 0; j < p; j++)
    a[j] = 1.0;
  if (attention) {
    double *ad = to_double (attention, hw);

    ref_pool2 (ad, 1, h, w, a);
    g_free (ad);
  }

  for (int i = 0; i < hw; i++) {
    double m = -INFINITY, sum = 0.0;

    /* f_j = softmax_j (theta_i . phi_j) */
    for (int j = 0; j < p; j++) {
      f[j] = 0.0;
      for (int k = 0; k < ci; k++)
        f[j] += theta[k * hw + i] * phi[k * p + j];
      m = MAX (m, f[j]);
    }
    for (int j = 0; j < p; j++) {
      f[j] = exp (f[j] - m);
      sum += f[j];
    }

    /* y_i = sum_j f_j a_j g_j */
    for (int k = 0; k < ci; k++) {
      y[k * hw + i] = 0.0;
      for (int j = 0; j < p; j++)
        y[k * hw + i] += f[j] / sum * a[j] * g[k * p + j];
    }
  }

  ref_conv (&b->out, y, h, w, z, FALSE);
  for (int i = 0; i < c * hw; i++)
    z[i] += xd[i];

  g_free (xd);
  g_free (theta);
  g_free (full);
  g_free (phi);
  g_free (g);
  g_free (a);
  g_free (f);
  g_free (y);
}

typedef enum
{
  ATTENTION_NONE,
  ATTENTION_RANDOM,
  ATTENTION_ZERO,
} AttentionKind;

static void
check_nonlocal (int c, int h, int w, AttentionKind kind)
{
  GRand *rand = g_rand_new_with_seed (SEED + c * 1000 + h * 10 + w);
  SanlNonLocal b = random_nonlocal (rand, c);
  gsize n = (gsize) c * h * w;
  float *x = random_floats (rand, n, -1.0, 1.0);
  float *att = NULL;
  gsize nwork = sanl_nonlocal_workspace (&b, h, w);
  float *work = g_new (float, nwork);
  double *ref = g_new (double, n);

  if (kind == ATTENTION_RANDOM)
    att = random_floats (rand, (gsize) h * w, 0.0, 1.0);
  else if (kind == ATTENTION_ZERO)
    att = g_new0 (float, (gsize) h *w);

  /* the block must not read workspace it did not write */
  for (gsize i = 0; i < nwork; i++)
    work[i] = NAN;

  g_test_message ("C %d at %dx%d, attention %d", c, h, w, kind);
  ref_nonlocal (&b, x, h, w, att, ref);
  sanl_nonlocal_forward (&b, x, h, w, att, work);
  assert_close (x, ref, n);

  nonlocal_free (&b);
  g_free (x);
  g_free (att);
  g_free (work);
  g_free (ref);
  g_rand_free (rand);
}

static void
test_nonlocal_plain (void)
{
  check_nonlocal (6, 7, 5, ATTENTION_NONE);
  check_nonlocal (5, 9, 11, ATTENTION_NONE);
  check_nonlocal (13, 4, 6, ATTENTION_NONE);
}

static void
test_nonlocal_attention (void)
{
  check_nonlocal (6, 7, 5, ATTENTION_RANDOM);
  check_nonlocal (5, 9, 11, ATTENTION_RANDOM);
  check_nonlocal (3, 2, 3, ATTENTION_RANDOM);
}

static void
test_nonlocal_zero_attention_adds_only_bias (void)
{
  GRand *rand = g_rand_new_with_seed (SEED);
  SanlNonLocal b = random_nonlocal (rand, 6);
  int h = 7, w = 5;
  float *x = random_floats (rand, 6 * 7 * 5, -1.0, 1.0);
  float *x0 = g_memdup2 (x, sizeof (float) * 6 * 7 * 5);
  float *att = g_new0 (float, h *w);
  float *work = g_new (float, sanl_nonlocal_workspace (&b, h, w));

  /* a = 0 makes y = 0, so z = x + out's bias (folded BatchNorm shift) */
  sanl_nonlocal_forward (&b, x, h, w, att, work);
  for (int ch = 0; ch < 6; ch++)
    for (int i = 0; i < h * w; i++)
      g_assert_cmpfloat (
          x[ch * h * w + i], ==, x0[ch * h * w + i] + b.out.bias[ch]);
  check_nonlocal (6, 7, 5, ATTENTION_ZERO);

  nonlocal_free (&b);
  g_free (x);
  g_free (x0);
  g_free (att);
  g_free (work);
  g_rand_free (rand);
}

/* ---------------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/layers/conv/forward", test_conv_forward);
  g_test_add_func ("/layers/conv/forward-relu", test_conv_forward_relu);
  g_test_add_func ("/layers/conv/workspace-pointwise-is-zero",
      test_conv_workspace_pointwise_is_zero);
  g_test_add_func ("/layers/conv/backward-matches-transposed-loop",
      test_conv_backward_transposed);
  g_test_add_func ("/layers/conv/backward-matches-finite-difference",
      test_conv_backward_finite_difference);
  g_test_add_func ("/layers/max-pool/stem", test_max_pool_stem);
  g_test_add_func (
      "/layers/max-pool/padding-never-wins", test_max_pool_padding_never_wins);
  g_test_add_func (
      "/layers/max-pool/2x2-drops-odd-edge", test_max_pool_2x2_drops_odd_edge);
  g_test_add_func ("/layers/global-avg-pool", test_global_avg_pool);
  g_test_add_func ("/layers/linear", test_linear);
  g_test_add_func ("/layers/add", test_add);
  g_test_add_func ("/layers/upsample2-add", test_upsample2_add);
  g_test_add_func ("/layers/softmax-rows", test_softmax_rows);
  g_test_add_func ("/layers/softmax-rows/relative", test_softmax_rows_relative);
  g_test_add_func ("/layers/softmax-rows/far-below-is-zero",
      test_softmax_rows_far_below_is_zero);
  g_test_add_func ("/layers/nonlocal/plain", test_nonlocal_plain);
  g_test_add_func ("/layers/nonlocal/attention", test_nonlocal_attention);
  g_test_add_func ("/layers/nonlocal/zero-attention-adds-only-bias",
      test_nonlocal_zero_attention_adds_only_bias);

  return g_test_run ();
}
