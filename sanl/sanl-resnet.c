/* ResNet forward pass (stem and stages) over buffers planned in the session
 * arena, shared by the Grad-CAM classifier and the landmark backbone. */

#include "sanl-network.h"

#include <string.h>

/* Keep every buffer 64-byte aligned for the GEMM kernels. */
#define SANL_ARENA_ALIGN 16

float *
sanl_arena_take (SanlArena *arena, gsize n_floats)
{
  float *p = arena->base ? arena->base + arena->used : NULL;

  arena->used
      += (n_floats + SANL_ARENA_ALIGN - 1) & ~(gsize) (SANL_ARENA_ALIGN - 1);
  return p;
}

static void
raise_work (gsize *work, const SanlConv *conv, int h, int w)
{
  *work = MAX (*work, sanl_conv_workspace (conv, h, w));
}

static int
block_mid (const SanlBlock *blk)
{
  return blk->conv1.cout;
}

static int
block_cout (const SanlBlock *blk)
{
  return blk->bottleneck ? blk->conv3.cout : blk->conv2.cout;
}

static const SanlConv *
block_strided (const SanlBlock *blk)
{
  return blk->bottleneck ? &blk->conv2 : &blk->conv1;
}

/* Sizes every block of every stage reads and writes, and the workspace. */
static void
plan_shapes (
    const SanlResNet *net, int size, SanlResNetBuffers *bufs, gsize *work)
{
  const SanlConv *stem = &net->stem;
  int h, w;

  bufs->stem_h = sanl_window_out (size, stem->kernel, stem->stride, stem->pad);
  bufs->stem_w = bufs->stem_h;
  bufs->pool_h = sanl_window_out (bufs->stem_h, 3, 2, 1);
  bufs->pool_w = sanl_window_out (bufs->stem_w, 3, 2, 1);
  raise_work (work, stem, size, size);

  h = bufs->pool_h;
  w = bufs->pool_w;
  for (int l = 0; l < 4; l++) {
    for (int b = 0; b < net->spec.depths[l]; b++) {
      const SanlBlock *blk = &net->blocks[l][b];
      const SanlConv *s = block_strided (blk);
      int oh = sanl_window_out (h, s->kernel, s->stride, s->pad);
      int ow = sanl_window_out (w, s->kernel, s->stride, s->pad);

      raise_work (work, &blk->conv1, h, w);
      if (blk->bottleneck) {
        raise_work (work, &blk->conv2, h, w);
        raise_work (work, &blk->conv3, oh, ow);
      } else {
        raise_work (work, &blk->conv2, oh, ow);
      }
      if (blk->has_down)
        raise_work (work, &blk->down, h, w);
      h = oh;
      w = ow;
    }
    bufs->h[l] = h;
    bufs->w[l] = w;
  }
}

void
sanl_resnet_plan (const SanlResNet *net, int size, gboolean keep_all,
    SanlArena *arena, SanlResNetBuffers *bufs, gsize *work)
{
  gsize max_mid = 0, max_out = 0;
  float *shared_h1 = NULL, *shared_h2 = NULL, *shared_skip = NULL;
  float *pingpong[2] = { NULL, NULL };
  int h, w;

  plan_shapes (net, size, bufs, work);
  bufs->stem = sanl_arena_take (
      arena, (gsize) net->stem.cout * bufs->stem_h * bufs->stem_w);
  bufs->pool = sanl_arena_take (
      arena, (gsize) net->stem.cout * bufs->pool_h * bufs->pool_w);

  /* The largest intermediate of any block, for the shared scratch. */
  h = bufs->pool_h;
  w = bufs->pool_w;
  for (int l = 0; l < 4; l++) {
    const SanlBlock *blk = &net->blocks[l][0];

    max_mid = MAX (max_mid, (gsize) block_mid (blk) * h * w);
    max_out = MAX (max_out, (gsize) block_cout (blk) * bufs->h[l] * bufs->w[l]);
    h = bufs->h[l];
    w = bufs->w[l];
  }
  if (!keep_all) {
    shared_h1 = sanl_arena_take (arena, max_mid);
    shared_h2 = sanl_arena_take (arena, max_mid);
    shared_skip = sanl_arena_take (arena, max_out);
    pingpong[0] = sanl_arena_take (arena, max_out);
    pingpong[1] = sanl_arena_take (arena, max_out);
  }

  h = bufs->pool_h;
  w = bufs->pool_w;
  for (int l = 0; l < 4; l++) {
    int depth = net->spec.depths[l];

    g_free (bufs->blocks[l]);
    bufs->blocks[l] = g_new0 (SanlBlockBuffers, depth);
    for (int b = 0; b < depth; b++) {
      const SanlBlock *blk = &net->blocks[l][b];
      SanlBlockBuffers *bb = &bufs->blocks[l][b];
      gsize in_hw = (gsize) h * w;
      gsize out_hw = (gsize) bufs->h[l] * bufs->w[l];
      gboolean last = b == depth - 1;

      /* A strided bottleneck's h1 is at the input size, h2 at the output. */
      if (keep_all) {
        bb->h1 = sanl_arena_take (
            arena, block_mid (blk) * (blk->bottleneck ? in_hw : out_hw));
        bb->h2 = blk->bottleneck
                     ? sanl_arena_take (arena, block_mid (blk) * out_hw)
                     : NULL;
        bb->skip = blk->has_down
                       ? sanl_arena_take (arena, block_cout (blk) * out_hw)
                       : NULL;
      } else {
        bb->h1 = shared_h1;
        bb->h2 = shared_h2;
        bb->skip = shared_skip;
      }
      if (keep_all || last)
        bb->out = sanl_arena_take (arena, block_cout (blk) * out_hw);
      else
        bb->out = pingpong[b % 2];
      h = bufs->h[l];
      w = bufs->w[l];
    }
  }
}

void
sanl_resnet_buffers_clear (SanlResNetBuffers *bufs)
{
  for (int l = 0; l < 4; l++)
    g_clear_pointer (&bufs->blocks[l], g_free);
}

void
sanl_resnet_stem (const SanlResNet *net, const float *input, int size,
    SanlResNetBuffers *bufs, float *work)
{
  /* (width, S/2, S/2), then (width, S/4, S/4) */
  sanl_conv_forward (&net->stem, input, size, size, bufs->stem, TRUE, work);
  sanl_max_pool (bufs->stem, net->stem.cout, bufs->stem_h, bufs->stem_w, 3, 2,
      1, bufs->pool);
}

/* out = ReLU(main(x) + skip(x)) for one block at input size (h, w). */
static void
block_forward (const SanlBlock *blk, const float *x, int h, int w,
    SanlBlockBuffers *bb, float *work)
{
  const SanlConv *s = block_strided (blk);
  int oh = sanl_window_out (h, s->kernel, s->stride, s->pad);
  int ow = sanl_window_out (w, s->kernel, s->stride, s->pad);
  const float *skip = x;

  /* The shortcut first: identity or the 1x1 downsample convolution. */
  if (blk->has_down) {
    sanl_conv_forward (&blk->down, x, h, w, bb->skip, FALSE, work);
    skip = bb->skip;
  }

  /* Main path; the last convolution adds the shortcut and applies the
   * block's ReLU as it writes out. */
  sanl_conv_forward (&blk->conv1, x, h, w, bb->h1, TRUE, work);
  if (blk->bottleneck) {
    sanl_conv_forward (&blk->conv2, bb->h1, h, w, bb->h2, TRUE, work);
    sanl_conv_forward_residual (
        &blk->conv3, bb->h2, oh, ow, bb->out, skip, TRUE, work);
  } else {
    sanl_conv_forward_residual (
        &blk->conv2, bb->h1, oh, ow, bb->out, skip, TRUE, work);
  }
}

void
sanl_resnet_stage (
    const SanlResNet *net, int l, SanlResNetBuffers *bufs, float *work)
{
  const float *x;
  int h, w;

  if (l == 0) {
    x = bufs->pool;
    h = bufs->pool_h;
    w = bufs->pool_w;
  } else {
    x = sanl_resnet_stage_output (net, bufs, l - 1);
    h = bufs->h[l - 1];
    w = bufs->w[l - 1];
  }

  for (int b = 0; b < net->spec.depths[l]; b++) {
    SanlBlockBuffers *bb = &bufs->blocks[l][b];

    block_forward (&net->blocks[l][b], x, h, w, bb, work);
    x = bb->out;
    h = bufs->h[l];
    w = bufs->w[l];
  }
}
