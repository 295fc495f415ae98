/* Convolution: the forward pass (im2col + one GEMM, or one GEMM straight on
 * the input for 1x1 stride-1 layers) and the data-gradient that Grad-CAM
 * needs to carry a gradient back through the classifier's later stages.
 *
 * Activations are (C, H, W), row-major. A weight row is one output channel
 * over (cin, kernel, kernel), the layout PyTorch stores. */

#include "sanl-private.h"

#include <cblas.h>
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

  if (conv_is_pointwise (conv))
    return 0;

  /* (cin * k * k, oh * ow), used by both directions */
  return (gsize)conv->cin * conv->kernel * conv->kernel * oh * ow;
}

/* col (cin * k * k, oh * ow): row (c, ki, kj) holds x[c] at each output
 * position's tap (ki, kj), or 0 where the tap falls in the padding. */
static void
im2col (const SanlConv *conv, const float *x, int h, int w, int oh, int ow,
    float *col)
{
  int k = conv->kernel, s = conv->stride, p = conv->pad;

  for (int c = 0; c < conv->cin; c++)
    for (int ki = 0; ki < k; ki++)
      for (int kj = 0; kj < k; kj++)
        {
          const float *xc = x + (gsize)c * h * w;

          for (int oy = 0; oy < oh; oy++)
            {
              int iy = oy * s - p + ki;

              for (int ox = 0; ox < ow; ox++)
                {
                  int ix = ox * s - p + kj;
                  gboolean inside = iy >= 0 && iy < h && ix >= 0 && ix < w;

                  *col++ = inside ? xc[(gsize)iy * w + ix] : 0.0f;
                }
            }
        }
}

/* dx (cin, h, w) += the transpose of im2col applied to col: each column
 * entry goes back to the input pixel it was read from. */
static void
col2im_add (const SanlConv *conv, const float *col, int h, int w, int oh,
    int ow, float *dx)
{
  int k = conv->kernel, s = conv->stride, p = conv->pad;

  for (int c = 0; c < conv->cin; c++)
    for (int ki = 0; ki < k; ki++)
      for (int kj = 0; kj < k; kj++)
        {
          float *dxc = dx + (gsize)c * h * w;

          for (int oy = 0; oy < oh; oy++)
            {
              int iy = oy * s - p + ki;

              for (int ox = 0; ox < ow; ox++, col++)
                {
                  int ix = ox * s - p + kj;

                  if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                    dxc[(gsize)iy * w + ix] += *col;
                }
            }
        }
}

/* ---------------------------------------------------------------------- */
/* Forward                                                                 */

/* y (cout, n) += bias per row, then ReLU, in one pass over the output. */
static void
bias_relu (float *y, const float *bias, int cout, int n, gboolean relu)
{
  for (int o = 0; o < cout; o++)
    {
      float *row = y + (gsize)o * n;
      float b = bias[o];

      if (relu)
        {
          for (int i = 0; i < n; i++)
            {
              float v = row[i] + b;
              row[i] = v > 0.0f ? v : 0.0f;
            }
        }
      else
        {
          for (int i = 0; i < n; i++)
            row[i] += b;
        }
    }
}

void
sanl_conv_forward (const SanlConv *conv, const float *x, int h, int w, float *y,
    gboolean relu, float *work)
{
  int oh = sanl_window_out (h, conv->kernel, conv->stride, conv->pad);
  int ow = sanl_window_out (w, conv->kernel, conv->stride, conv->pad);
  int n = oh * ow;
  int kk = conv->cin * conv->kernel * conv->kernel;
  const float *col = x; /* (kk, n) */

  if (!conv_is_pointwise (conv))
    {
      im2col (conv, x, h, w, oh, ow, work);
      col = work;
    }

  /* y (cout, n) = weight (cout, kk) col (kk, n) */
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, conv->cout, n, kk,
      1.0f, conv->weight, kk, col, n, 0.0f, y, n);

  bias_relu (y, conv->bias, conv->cout, n, relu);
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

  /* dx (cin, h * w) = weight^T (cin, cout) dy (cout, h * w) */
  if (conv_is_pointwise (conv))
    {
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, conv->cin, n,
          conv->cout, 1.0f, conv->weight, kk, dy, n, 0.0f, dx, n);
      return;
    }

  /* work (kk, n) = weight^T (kk, cout) dy (cout, n) */
  cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, kk, n, conv->cout, 1.0f,
      conv->weight, kk, dy, n, 0.0f, work, n);

  /* overlapping windows (and strided gaps) make dx a scatter-sum */
  memset (dx, 0, sizeof (float) * conv->cin * h * w);
  col2im_add (conv, work, h, w, oh, ow, dx);
}
