/* Grad-CAM attention maps of the garment classifier.
 *
 * The classifier's forward pass has kept every block's activations. From
 * the top class score y_c = fc_c(mean_ij A_4) the gradient flows back
 * through stages 4, 3 and 2 (ReLU masks, convolution data-gradients,
 * residual and downsample paths) to each stage output A_l, where
 * alpha_k = mean_ij dy_c / dA_kij and M_l = ReLU(sum_k alpha_k A_k), then
 * M_l is divided by its maximum (all ones when the maximum is 0). */

#include "sanl-network.h"

#include <math.h>
#include <string.h>

static int
block_cout (const SanlBlock *blk)
{
  return blk->bottleneck ? blk->conv3.cout : blk->conv2.cout;
}

void
sanl_gradcam_plan (const SanlResNet *net, const SanlResNetBuffers *fwd,
    SanlArena *arena, SanlGradcamBuffers *bufs)
{
  gsize most = 0;
  int h = fwd->pool_h, w = fwd->pool_w;

  /* Every gradient buffer fits the largest activation of any block. */
  for (int l = 0; l < 4; l++) {
    const SanlBlock *blk = &net->blocks[l][0];
    gsize in = (gsize) blk->conv1.cin * h * w;
    gsize mid = (gsize) blk->conv1.cout * h * w;
    gsize out = (gsize) block_cout (blk) * fwd->h[l] * fwd->w[l];

    most = MAX (most, MAX (in, MAX (mid, out)));
    h = fwd->h[l];
    w = fwd->w[l];
  }
  bufs->grad = sanl_arena_take (arena, most);
  bufs->gin = sanl_arena_take (arena, most);
  bufs->gs = sanl_arena_take (arena, most);
  bufs->gh1 = sanl_arena_take (arena, most);
  bufs->gh2 = sanl_arena_take (arena, most);
  bufs->gdown = sanl_arena_take (arena, most);
}

/* g *= (a > 0) elementwise: the ReLU's derivative at its output a. */
static void
relu_mask (float *g, const float *a, gsize n)
{
  for (gsize i = 0; i < n; i++)
    if (a[i] <= 0.0f)
      g[i] = 0.0f;
}

/* gx (cin, h, w) from gy (cout, oh, ow) at the output of block blk. */
static void
block_backward (const SanlBlock *blk, const SanlBlockBuffers *bb, int h, int w,
    int oh, int ow, const float *gy, SanlGradcamBuffers *g, float *gx,
    float *work)
{
  gsize n_out = (gsize) block_cout (blk) * oh * ow;
  gsize n_in = (gsize) blk->conv1.cin * h * w;

  /* Through the block's final ReLU: (cout, oh, ow) */
  memcpy (g->gs, gy, n_out * sizeof (float));
  relu_mask (g->gs, bb->out, n_out);

  /* Main path back to the block input: (cin, h, w) */
  if (blk->bottleneck) {
    sanl_conv_backward_data (&blk->conv3, g->gs, oh, ow, g->gh2, work);
    relu_mask (g->gh2, bb->h2, (gsize) blk->conv2.cout * oh * ow);
    sanl_conv_backward_data (&blk->conv2, g->gh2, h, w, g->gh1, work);
    relu_mask (g->gh1, bb->h1, (gsize) blk->conv1.cout * h * w);
  } else {
    sanl_conv_backward_data (&blk->conv2, g->gs, oh, ow, g->gh1, work);
    relu_mask (g->gh1, bb->h1, (gsize) blk->conv1.cout * oh * ow);
  }
  sanl_conv_backward_data (&blk->conv1, g->gh1, h, w, gx, work);

  /* Shortcut: identity or the 1x1 downsample convolution. */
  if (blk->has_down) {
    sanl_conv_backward_data (&blk->down, g->gs, h, w, g->gdown, work);
    sanl_add (gx, g->gdown, n_in);
  } else {
    sanl_add (gx, g->gs, n_in);
  }
}

/* M = ReLU(sum_k alpha_k A_k) normalised, alpha_k = mean of grad_k. */
static void
cam_map (const float *a, const float *grad, int c, int hw, float *map)
{
  float peak = 0.0f;

  memset (map, 0, (gsize) hw * sizeof (float));
  for (int k = 0; k < c; k++) {
    double sum = 0.0;
    float alpha;

    for (int i = 0; i < hw; i++)
      sum += grad[(gsize) k * hw + i];
    alpha = (float) (sum / hw);
    for (int i = 0; i < hw; i++)
      map[i] += alpha * a[(gsize) k * hw + i];
  }

  for (int i = 0; i < hw; i++) {
    map[i] = MAX (map[i], 0.0f);
    peak = MAX (peak, map[i]);
  }
  for (int i = 0; i < hw; i++)
    map[i] = peak > 0.0f ? map[i] / peak : 1.0f;
}

/* The top class among those allowed to steer (the first on ties) and its
 * softmax probability over all classes. */
static int
top_class (
    const float *logits, const gboolean *allowed, int n, float *probability)
{
  int top = -1;
  double sum = 0.0;

  for (int i = 0; i < n; i++)
    if (allowed[i] && (top < 0 || logits[i] > logits[top]))
      top = i;
  for (int i = 0; i < n; i++)
    sum += exp ((double) logits[i] - logits[top]);
  *probability = (float) (1.0 / sum);
  return top;
}

void
sanl_gradcam_run (const SanlResNet *net, const SanlLinear *fc,
    const gboolean *allowed, const SanlResNetBuffers *fwd,
    SanlGradcamBuffers *bufs, float *pooled, float *logits, float *maps[4],
    int *category, float *probability, float *work, double *backward_ms)
{
  const float *a4 = sanl_resnet_stage_output (net, fwd, 3);
  int c4 = fc->cin, hw4 = fwd->h[3] * fwd->w[3];
  const float *wc;
  gint64 start;

  /* Logits from the average-pooled last stage: (n_classes) */
  sanl_global_avg_pool (a4, c4, hw4, pooled);
  sanl_linear_forward (fc, pooled, logits);
  *category = top_class (logits, allowed, fc->cout, probability);

  start = g_get_monotonic_time ();

  /* d y_c / d A_4 = W_c / (h w) at every position: (C4, h4, w4) */
  wc = fc->weight + (gsize) *category * c4;
  for (int k = 0; k < c4; k++)
    for (int i = 0; i < hw4; i++)
      bufs->grad[(gsize) k * hw4 + i] = wc[k] / hw4;
  cam_map (a4, bufs->grad, c4, hw4, maps[3]);

  /* Back through stages 4, 3, 2, block by block, last block first. */
  for (int l = 3; l > 0; l--) {
    int c_in = net->blocks[l][0].conv1.cin;
    int hw_in = fwd->h[l - 1] * fwd->w[l - 1];

    for (int b = net->spec.depths[l] - 1; b >= 0; b--) {
      int h = b == 0 ? fwd->h[l - 1] : fwd->h[l];
      int w = b == 0 ? fwd->w[l - 1] : fwd->w[l];
      float *swap;

      block_backward (&net->blocks[l][b], &fwd->blocks[l][b], h, w, fwd->h[l],
          fwd->w[l], bufs->grad, bufs, bufs->gin, work);
      swap = bufs->grad;
      bufs->grad = bufs->gin;
      bufs->gin = swap;
    }
    cam_map (sanl_resnet_stage_output (net, fwd, l - 1), bufs->grad, c_in,
        hw_in, maps[l - 1]);
  }

  *backward_ms = (g_get_monotonic_time () - start) / 1000.0;
}
