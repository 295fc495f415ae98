/* The small layers between convolutions: pooling, the fully connected
 * layer, elementwise ReLU and sums, nearest upsampling and softmax.
 *
 * Activations are (C, H, W), row-major. */

#include "sanl-private.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Pooling                                                                 */

/* Max over the in-range taps of the window whose top-left tap is (y0, x0)
 * in the (h, w) plane xc; the padding is skipped, so it never wins. */
static float
window_max (const float *xc, int h, int w, int y0, int x0, int kernel)
{
  float m = -INFINITY;

  for (int iy = MAX (y0, 0); iy < MIN (y0 + kernel, h); iy++)
    for (int ix = MAX (x0, 0); ix < MIN (x0 + kernel, w); ix++)
      m = MAX (m, xc[(gsize) iy * w + ix]);

  return m;
}

/* A pooling's operands, for the ways that split its channels. */
typedef struct
{
  const float *x;
  int h, w, kernel, stride, pad;
  float *y;
} PoolJob;

/* y channels [start, end) */
static void
max_pool_way (int start, int end, int way, gpointer data)
{
  const PoolJob *j = data;
  int oh = sanl_window_out (j->h, j->kernel, j->stride, j->pad);
  int ow = sanl_window_out (j->w, j->kernel, j->stride, j->pad);
  float *y = j->y + (gsize) start * oh * ow;

  for (int ch = start; ch < end; ch++) {
    const float *xc = j->x + (gsize) ch * j->h * j->w;

    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        *y++ = window_max (xc, j->h, j->w, oy * j->stride - j->pad,
            ox * j->stride - j->pad, j->kernel);
  }
}

void
sanl_max_pool (const float *x, int c, int h, int w, int kernel, int stride,
    int pad, float *y)
{
  PoolJob job = { x, h, w, kernel, stride, pad, y };

  /* y (c, oh, ow), split by channel */
  sanl_parallel_for_sized (c, (gsize) c * h * w, max_pool_way, &job);
}

void
sanl_global_avg_pool (const float *x, int c, int hw, float *y)
{
  /* y (c); a double sum keeps large maps exact to float precision */
  for (int ch = 0; ch < c; ch++) {
    const float *xc = x + (gsize) ch * hw;
    double sum = 0.0;

    for (int i = 0; i < hw; i++)
      sum += xc[i];
    y[ch] = (float) (sum / hw);
  }
}

/* ---------------------------------------------------------------------- */
/* Fully connected                                                         */

void
sanl_linear_forward (const SanlLinear *linear, const float *x, float *y)
{
  /* y (cout) = bias, then += weight (cout, cin) x (cin) */
  memcpy (y, linear->bias, sizeof (float) * linear->cout);
  cblas_sgemv (CblasRowMajor, CblasNoTrans, linear->cout, linear->cin, 1.0f,
      linear->weight, linear->cin, x, 1, 1.0f, y, 1);
}

/* ---------------------------------------------------------------------- */
/* Elementwise                                                             */

void
sanl_add (float *y, const float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    y[i] += x[i];
}

void
sanl_upsample2_add (float *y, const float *x, int c, int h, int w)
{
  /* y (c, 2h, 2w): output pixel (oy, ox) reads x (oy / 2, ox / 2) */
  for (int ch = 0; ch < c; ch++) {
    const float *xc = x + (gsize) ch * h * w;

    for (int oy = 0; oy < 2 * h; oy++) {
      const float *xrow = xc + (gsize) (oy / 2) * w;

      for (int ox = 0; ox < 2 * w; ox++)
        *y++ += xrow[ox / 2];
    }
  }
}

/* ---------------------------------------------------------------------- */
/* Softmax                                                                 */

/* e^x for x <= 0, to about 2e-7 relative, without branches so that the
 * row loops below vectorise. x = n ln2 + r with n an integer and
 * |r| <= ln2 / 2; e^r is its Taylor series to r^6 (remainder below 1.3e-7)
 * and 2^n goes straight into the exponent bits, or 0 when 2^n is below the
 * smallest normal float (x < -87). */
static inline float
exp_nonpositive (float x)
{
  const float shifter = 12582912.0f;       /* 1.5 * 2^23: x + it rounds x */
  const float ln2_hi = 0.693145751953125f; /* few bits: n * ln2_hi exact */
  const float ln2_lo = 1.428606765330187e-06f;
  const guint32 minus_100 = 0xc2c80000; /* -100.0f */
  float n, r, p;
  gint32 biased;
  union
  {
    float f;
    guint32 u;
    gint32 i;
  } v, two_n;

  /* x = max (x, -100), even for -inf: as unsigned integers, negative
   * floats sort by magnitude above every positive one. A float compare
   * would become a branch here and stop the vectoriser. */
  v.f = x;
  v.u = v.u < minus_100 ? v.u : minus_100;
  x = v.f;

  n = (x * 1.44269504088896341f + shifter) - shifter;
  r = x - n * ln2_hi - n * ln2_lo;
  p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  biased = (gint32) n + 127;
  two_n.i = (biased > 0 ? biased : 0) << 23;
  return p * two_n.f;
}

#define SOFTMAX_LANES 16

/* One row in place; subtracting the maximum keeps e^x from overflowing.
 * Every pass walks the row in blocks of SOFTMAX_LANES, a fixed count the
 * compiler turns into vector instructions, then the tail one by one; the
 * maximum and the sum keep one partial result per lane. */
SANL_VECTORIZE static void
softmax_row (float *row, int n)
{
  float lane[SOFTMAX_LANES];
  float m = -INFINITY, sum = 0.0f, inv;
  int j, body = n - n % SOFTMAX_LANES;

  for (int t = 0; t < SOFTMAX_LANES; t++)
    lane[t] = -INFINITY;
  for (j = 0; j < body; j += SOFTMAX_LANES)
    for (int t = 0; t < SOFTMAX_LANES; t++)
      lane[t] = row[j + t] > lane[t] ? row[j + t] : lane[t];
  for (; j < n; j++)
    m = MAX (m, row[j]);
  for (int t = 0; t < SOFTMAX_LANES; t++)
    m = MAX (m, lane[t]);

  for (j = 0; j < body; j += SOFTMAX_LANES)
    for (int t = 0; t < SOFTMAX_LANES; t++)
      row[j + t] = exp_nonpositive (row[j + t] - m);
  for (; j < n; j++)
    row[j] = exp_nonpositive (row[j] - m);

  for (int t = 0; t < SOFTMAX_LANES; t++)
    lane[t] = 0.0f;
  for (j = 0; j < body; j += SOFTMAX_LANES)
    for (int t = 0; t < SOFTMAX_LANES; t++)
      lane[t] += row[j + t];
  for (; j < n; j++)
    sum += row[j];
  for (int t = 0; t < SOFTMAX_LANES; t++)
    sum += lane[t];

  inv = 1.0f / sum;
  for (j = 0; j < body; j += SOFTMAX_LANES)
    for (int t = 0; t < SOFTMAX_LANES; t++)
      row[j + t] *= inv;
  for (; j < n; j++)
    row[j] *= inv;
}

typedef struct
{
  float *x;
  int cols;
} SoftmaxJob;

static void
softmax_way (int start, int end, int way, gpointer data)
{
  const SoftmaxJob *j = data;

  for (int i = start; i < end; i++)
    softmax_row (j->x + (gsize) i * j->cols, j->cols);
}

void
sanl_softmax_rows (float *x, int rows, int cols)
{
  SoftmaxJob job = { x, cols };

  /* x (rows, cols), split into blocks of rows */
  sanl_parallel_for_sized (rows, (gsize) rows * cols, softmax_way, &job);
}
