/* The spatial-aware non-local block that follows each backbone stage:
 *
 *   theta = W_theta x            (C', HW)   full resolution
 *   phi   = pool (W_phi x)       (C', P)    2x2/2 max-pool, P = (h/2)(w/2)
 *   g     = pool (W_g x) * a     (C', P)    a = pool (attention), or 1
 *   f     = softmax_j (theta_i . phi_j)    (HW, P)
 *   y     = g f^T                (C', HW)
 *   x    += W_out y + b_out      (C, HW)    BatchNorm folded into W_out
 *
 * Both products are single GEMMs; every intermediate lives in the caller's
 * workspace, laid out in the order of the table above. */

#include "sanl-private.h"

/* Offsets, in floats, of each buffer in the workspace at (h, w). */
typedef struct
{
  gsize theta; /* (C', HW) */
  gsize full;  /* (C', HW): phi, then g, then y */
  gsize phi;   /* (C', P) */
  gsize g;     /* (C', P) */
  gsize a;     /* (P) */
  gsize f;     /* (HW, P) */
  gsize conv;  /* the convolutions' own workspace */
  gsize total;
} NonLocalLayout;

static NonLocalLayout
nonlocal_layout (const SanlNonLocal *block, int h, int w)
{
  NonLocalLayout l;
  gsize hw = (gsize) h * w, p = (gsize) (h / 2) * (w / 2);
  gsize ci = block->inner;
  gsize conv = sanl_conv_workspace (&block->theta, h, w);

  conv = MAX (conv, sanl_conv_workspace (&block->phi, h, w));
  conv = MAX (conv, sanl_conv_workspace (&block->g, h, w));

  l.theta = 0;
  l.full = l.theta + ci * hw;
  l.phi = l.full + ci * hw;
  l.g = l.phi + ci * p;
  l.a = l.g + ci * p;
  l.f = l.a + p;
  l.conv = l.f + hw * p;
  l.total = l.conv + conv;
  return l;
}

gsize
sanl_nonlocal_workspace (const SanlNonLocal *block, int h, int w)
{
  return nonlocal_layout (block, h, w).total;
}

/* g (C', P) *= a (P), the pooled attention, at every channel. */
static void
scale_by_attention (float *g, const float *a, int ci, int p)
{
  for (int c = 0; c < ci; c++)
    for (int j = 0; j < p; j++)
      g[(gsize) c * p + j] *= a[j];
}

void
sanl_nonlocal_forward (const SanlNonLocal *block, float *x, int h, int w,
    const float *attention, float *work)
{
  NonLocalLayout l = nonlocal_layout (block, h, w);
  int ci = block->inner;
  int hw = h * w, ph = h / 2, pw = w / 2, p = ph * pw;
  float *full = work + l.full, *conv = work + l.conv;
  SanlEpilogue out_bias = { block->out.bias, NULL, FALSE };

  /* a 2x2 pool needs at least one full window */
  g_return_if_fail (h >= 2 && w >= 2);

  /* theta (C', HW) */
  sanl_conv_forward (&block->theta, x, h, w, work + l.theta, FALSE, conv);

  /* phi (C', P): 1x1 at full resolution, then 2x2/2 max-pool */
  sanl_conv_forward (&block->phi, x, h, w, full, FALSE, conv);
  sanl_max_pool (full, ci, h, w, 2, 2, 0, work + l.phi);

  /* g (C', P), scaled per position by the pooled attention a (P) */
  sanl_conv_forward (&block->g, x, h, w, full, FALSE, conv);
  sanl_max_pool (full, ci, h, w, 2, 2, 0, work + l.g);
  if (attention) {
    sanl_max_pool (attention, 1, h, w, 2, 2, 0, work + l.a);
    scale_by_attention (work + l.g, work + l.a, ci, p);
  }

  /* f (HW, P) = theta^T (HW, C') phi (C', P), softmax over P */
  sanl_gemm (TRUE, FALSE, hw, p, ci, 1.0f, work + l.theta, hw, work + l.phi, p,
      0.0f, work + l.f, p);
  sanl_softmax_rows (work + l.f, hw, p);

  /* y (C', HW) = g (C', P) f^T (P, HW), written over the free full buffer */
  sanl_gemm (FALSE, TRUE, ci, hw, p, 1.0f, work + l.g, p, work + l.f, p, 0.0f,
      full, hw);

  /* x (C, HW) += W_out (C, C') y (C', HW) + b_out: the 1x1 convolution's
   * product added straight onto x, its bias in the same pass */
  sanl_gemm_fused (block->channels, hw, ci, block->out.weight, ci, full, hw,
      1.0f, x, hw, &out_bias);
}
