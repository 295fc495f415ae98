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
      m = MAX (m, xc[(gsize)iy * w + ix]);

  return m;
}

void
sanl_max_pool (const float *x, int c, int h, int w, int kernel, int stride,
    int pad, float *y)
{
  int oh = sanl_window_out (h, kernel, stride, pad);
  int ow = sanl_window_out (w, kernel, stride, pad);

  /* y (c, oh, ow) */
  for (int ch = 0; ch < c; ch++)
    {
      const float *xc = x + (gsize)ch * h * w;

      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++)
          *y++ = window_max (
              xc, h, w, oy * stride - pad, ox * stride - pad, kernel);
    }
}

void
sanl_global_avg_pool (const float *x, int c, int hw, float *y)
{
  /* y (c); a double sum keeps large maps exact to float precision */
  for (int ch = 0; ch < c; ch++)
    {
      const float *xc = x + (gsize)ch * hw;
      double sum = 0.0;

      for (int i = 0; i < hw; i++)
        sum += xc[i];
      y[ch] = (float)(sum / hw);
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
sanl_relu (float *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

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
  for (int ch = 0; ch < c; ch++)
    {
      const float *xc = x + (gsize)ch * h * w;

      for (int oy = 0; oy < 2 * h; oy++)
        {
          const float *xrow = xc + (gsize)(oy / 2) * w;

          for (int ox = 0; ox < 2 * w; ox++)
            *y++ += xrow[ox / 2];
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Softmax                                                                 */

/* One row in place; subtracting the maximum keeps expf from overflowing. */
static void
softmax_row (float *row, int n)
{
  float m = -INFINITY;
  float sum = 0.0f;

  for (int j = 0; j < n; j++)
    m = MAX (m, row[j]);

  for (int j = 0; j < n; j++)
    {
      row[j] = expf (row[j] - m);
      sum += row[j];
    }

  for (int j = 0; j < n; j++)
    row[j] /= sum;
}

void
sanl_softmax_rows (float *x, int rows, int cols)
{
  /* x (rows, cols) */
  for (int i = 0; i < rows; i++)
    softmax_row (x + (gsize)i * cols, cols);
}
