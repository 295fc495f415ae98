/* Convolution: the forward pass (im2col + one GEMM, or one GEMM straight on
 * the input for 1x1 stride-1 layers) and the data-gradient that Grad-CAM
 * needs to carry a gradient back through the classifier's later stages.
 *
 * Activations are (C, H, W), row-major. A weight row is one output channel
 * over (cin, kernel, kernel), the layout PyTorch stores. */

#include "sanl-private.h"

#include <string.h>

/* ---------------------------------------------------------------------- */
/* Column buffer                                                           */

/* A 1x1 stride-1 unpadded convolution reads its input as the column
 * buffer itself: (cin, h * w) is already (cin * 1 * 1, oh * ow). */
static gboolean
conv_is_pointwise (const SanlConv *conv)
{
  return conv->kernel == 1 && conv->stride == 1 && conv->pad == 0;
}

gsize
sanl_conv_workspace (const SanlConv *conv, int h, int w)
{
  int oh = sanl_window_out (h, conv->kernel, conv->stride, conv->pad);
  int ow = sanl_window_out (w, conv->kernel, conv->stride, conv->pad);

  gsize col = (gsize) conv->cin * conv->kernel * conv->kernel * oh * ow;

  if (conv_is_pointwise (conv))
    return 0;

  /* (cin * k * k, oh * ow), used by both directions; the Winograd tiles
   * when the forward pass takes that path */
  if (sanl_winograd_applies (conv, h, w))
    return MAX (col, sanl_winograd_workspace (conv, h, w));
  return col;
}

/* The output columns [*lo, *hi) whose tap kj reads inside a row of width w;
 * the columns outside them read padding. */
static void
tap_range (int w, int ow, int s, int p, int kj, int *lo, int *hi)
{
  int first = p - kj;        /* ox * s must reach this for ix >= 0 */
  int last = w - 1 + p - kj; /* and stay at or below this for ix < w */

  *lo = first <= 0 ? 0 : (first + s - 1) / s;
  *hi = last < 0 ? 0 : MIN (ow, last / s + 1);
  *lo = MIN (*lo, *hi);
}

/* col (cin * k * k, oh * ow): row (c, ki, kj) holds x[c] at each output
 * position's tap (ki, kj), or 0 where the tap falls in the padding. Each
 * output row is a zero head, a (strided) copy and a zero tail. */
static void
im2col (const SanlConv *conv, const float *x, int h, int w, int oh, int ow,
    int c0, int c1, float *col)
{
  int k = conv->kernel, s = conv->stride, p = conv->pad;

  /* channels [c0, c1) only: their rows start at row c0 * k * k */
  col += (gsize) c0 * k * k * oh * ow;
  for (int c = c0; c < c1; c++)
    for (int ki = 0; ki < k; ki++)
      for (int kj = 0; kj < k; kj++) {
        const float *xc = x + (gsize) c * h * w;
        int lo, hi;

        tap_range (w, ow, s, p, kj, &lo, &hi);
        for (int oy = 0; oy < oh; oy++, col += ow) {
          int iy = oy * s - p + ki;
          const float *src;

          if (iy < 0 || iy >= h) {
            memset (col, 0, sizeof (float) * ow);
            continue;
          }
          src = xc + (gsize) iy * w + lo * s - p + kj;
          /* the head and tail are at most pad columns: no memset calls */
          for (int ox = 0; ox < lo; ox++)
            col[ox] = 0.0f;
          if (s == 1)
            memcpy (col + lo, src, sizeof (float) * (hi - lo));
          else
            for (int ox = lo; ox < hi; ox++)
              col[ox] = src[(ox - lo) * s];
          for (int ox = hi; ox < ow; ox++)
            col[ox] = 0.0f;
        }
      }
}

/* dx (cin, h, w) += the transpose of im2col applied to col: each column
 * entry goes back to the input pixel it was read from. */
SANL_VECTORIZE static void
col2im_add (const SanlConv *conv, const float *col, int h, int w, int oh,
    int ow, int c0, int c1, float *dx)
{
  int k = conv->kernel, s = conv->stride, p = conv->pad;

  col += (gsize) c0 * k * k * oh * ow;
  for (int c = c0; c < c1; c++)
    for (int ki = 0; ki < k; ki++)
      for (int kj = 0; kj < k; kj++) {
        float *dxc = dx + (gsize) c * h * w;
        int lo, hi;

        tap_range (w, ow, s, p, kj, &lo, &hi);
        for (int oy = 0; oy < oh; oy++, col += ow) {
          int iy = oy * s - p + ki;
          float *dst;

          if (iy < 0 || iy >= h)
            continue;
          dst = dxc + (gsize) iy * w + lo * s - p + kj;
          /* stride 1 (most layers) as a contiguous loop that vectorises */
          if (s == 1)
            for (int ox = lo; ox < hi; ox++)
              dst[ox - lo] += col[ox];
          else
            for (int ox = lo; ox < hi; ox++)
              dst[(ox - lo) * s] += col[ox];
        }
      }
}

/* One convolution's operands, for the ways of its column passes. */
typedef struct
{
  const SanlConv *conv;
  const float *x;
  int h, w, oh, ow;
  float *col;
  float *dx;
  float *y;
} ConvJob;

static void
im2col_way (int start, int end, int way, gpointer data)
{
  const ConvJob *j = data;

  im2col (j->conv, j->x, j->h, j->w, j->oh, j->ow, start, end, j->col);
}

/* dx channels [start, end) cleared, then gathered back from col */
static void
col2im_way (int start, int end, int way, gpointer data)
{
  const ConvJob *j = data;
  gsize plane = (gsize) j->h * j->w;

  memset (j->dx + start * plane, 0, sizeof (float) * (end - start) * plane);
  col2im_add (j->conv, j->col, j->h, j->w, j->oh, j->ow, start, end, j->dx);
}

/* ---------------------------------------------------------------------- */
/* Forward                                                                 */

void
sanl_conv_forward_residual (const SanlConv *conv, const float *x, int h, int w,
    float *y, const float *residual, gboolean relu, float *work)
{
  int oh = sanl_window_out (h, conv->kernel, conv->stride, conv->pad);
  int ow = sanl_window_out (w, conv->kernel, conv->stride, conv->pad);
  int n = oh * ow;
  int kk = conv->cin * conv->kernel * conv->kernel;
  const float *col = x; /* (kk, n) */
  ConvJob job = { conv, x, h, w, oh, ow, work, NULL, y };
  SanlEpilogue finish = { conv->bias, residual, relu };

  if (sanl_winograd_applies (conv, h, w)) {
    sanl_winograd_forward (conv, x, h, w, y, residual, relu, work);
    return;
  }

  if (!conv_is_pointwise (conv)) {
    sanl_parallel_for_sized (conv->cin, (gsize) kk * n, im2col_way, &job);
    col = work;
  }

  /* y (cout, n) = weight (cout, kk) col (kk, n), then bias, residual and
   * ReLU on each slice as soon as it is computed */
  sanl_gemm_fused (
      conv->cout, n, kk, conv->weight, kk, col, n, 0.0f, y, n, &finish);
}

void
sanl_conv_forward (const SanlConv *conv, const float *x, int h, int w, float *y,
    gboolean relu, float *work)
{
  sanl_conv_forward_residual (conv, x, h, w, y, NULL, relu, work);
}

/* ---------------------------------------------------------------------- */
/* Data-gradient                                                           */

void
sanl_conv_backward_data (
    const SanlConv *conv, const float *dy, int h, int w, float *dx, float *work)
{
  int oh = sanl_window_out (h, conv->kernel, conv->stride, conv->pad);
  int ow = sanl_window_out (w, conv->kernel, conv->stride, conv->pad);
  int n = oh * ow;
  int kk = conv->cin * conv->kernel * conv->kernel;
  ConvJob job = { conv, NULL, h, w, oh, ow, work, dx, NULL };

  /* dx (cin, h * w) = weight^T (cin, cout) dy (cout, h * w) */
  if (conv_is_pointwise (conv)) {
    sanl_gemm (TRUE, FALSE, conv->cin, n, conv->cout, 1.0f, conv->weight, kk,
        dy, n, 0.0f, dx, n);
    return;
  }

  /* work (kk, n) = weight^T (kk, cout) dy (cout, n) */
  sanl_gemm (TRUE, FALSE, kk, n, conv->cout, 1.0f, conv->weight, kk, dy, n,
      0.0f, work, n);

  /* overlapping windows (and strided gaps) make dx a scatter-sum */
  sanl_parallel_for_sized (conv->cin, (gsize) kk * n, col2im_way, &job);
}
