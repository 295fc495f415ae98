/* Internal: the session arena and the network stages built on the layer
 * kernels (ResNet, Grad-CAM). Not installed. */

#ifndef SANL_NETWORK_H
#define SANL_NETWORK_H

#include "sanl-private.h"

G_BEGIN_DECLS

/* A bump allocator over one block of floats. Planning runs twice: first
 * with base NULL to count, then over the real block to hand out pointers. */
typedef struct
{
  float *base;
  gsize used; /* floats handed out so far */
} SanlArena;

float *sanl_arena_take (SanlArena *arena, gsize n_floats);

typedef struct
{
  float *h1;   /* (mid, h, w) after the first conv + ReLU */
  float *h2;   /* (mid, h, w) bottleneck only */
  float *skip; /* (cout, h, w) downsample output */
  float *out;  /* (cout, h, w) block output after ReLU */
} SanlBlockBuffers;

typedef struct
{
  int stem_h, stem_w;          /* after the 7x7/2 convolution */
  int pool_h, pool_w;          /* after the 3x3/2 max-pool */
  int h[4], w[4];              /* stage outputs */
  float *stem;                 /* (width, stem_h, stem_w) */
  float *pool;                 /* (width, pool_h, pool_w) */
  SanlBlockBuffers *blocks[4]; /* depths[l] entries per stage */
} SanlResNetBuffers;

/* Hands out the buffers of one ResNet forward pass at input size x size.
 * keep_all keeps every block's activations (Grad-CAM needs them); else
 * blocks inside a stage share scratch and only stage outputs persist.
 * Raises *work to the im2col workspace the pass needs. */
void sanl_resnet_plan (const SanlResNet *net, int size, gboolean keep_all,
    SanlArena *arena, SanlResNetBuffers *bufs, gsize *work);
void sanl_resnet_buffers_clear (SanlResNetBuffers *bufs);

void sanl_resnet_stem (const SanlResNet *net, const float *input, int size,
    SanlResNetBuffers *bufs, float *work);
void sanl_resnet_stage (
    const SanlResNet *net, int l, SanlResNetBuffers *bufs, float *work);

static inline float *
sanl_resnet_stage_output (
    const SanlResNet *net, const SanlResNetBuffers *bufs, int l)
{
  return bufs->blocks[l][net->spec.depths[l] - 1].out;
}

typedef struct
{
  float *grad;  /* (C, h, w) gradient at a block output */
  float *gin;   /* (C, h, w) gradient at its input */
  float *gs;    /* (C, h, w) gradient behind the final ReLU */
  float *gh1;   /* (mid, h, w) */
  float *gh2;   /* (mid, h, w) */
  float *gdown; /* (cin, h, w) through the downsample */
} SanlGradcamBuffers;

void sanl_gradcam_plan (const SanlResNet *net, const SanlResNetBuffers *fwd,
    SanlArena *arena, SanlGradcamBuffers *bufs);

/* From a classifier forward pass kept in fwd: logits (n_classes), the top
 * class among those `allowed` (n_classes flags, at least one set) and its
 * probability, and that class's four normalised maps (h_l, w_l). */
void sanl_gradcam_run (const SanlResNet *net, const SanlLinear *fc,
    const gboolean *allowed, const SanlResNetBuffers *fwd,
    SanlGradcamBuffers *bufs, float *pooled, float *logits, float *maps[4],
    int *category, float *probability, float *work, double *backward_ms);

G_END_DECLS

#endif /* SANL_NETWORK_H */
