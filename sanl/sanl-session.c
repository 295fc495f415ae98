/* A session runs the whole network on one region of a frame:
 * letterbox -> Grad-CAM classifier -> backbone with a SANL block after
 * each stage -> feature pyramid -> CoarseNet, FineNet, visibility ->
 * decoded landmarks. Every buffer lives in one arena sized at creation. */

#include "sanl-network.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

struct _SanlSession
{
  SanlModel *model;
  SanlAttention attention;
  int size; /* S */
  int hm;   /* heatmap side, S / 4 */

  float *arena;
  gsize arena_floats;
  float *work; /* im2col and non-local workspace */

  float *input;          /* (3, S, S) */
  SanlResNetBuffers cls; /* classifier, every block kept */
  SanlGradcamBuffers grad;
  float *pooled;        /* (C4 of the classifier) */
  float *logits;        /* (n_classes) */
  float *maps[4];       /* (h_l, w_l) attention */
  SanlResNetBuffers bb; /* backbone, stage outputs only */
  float *lateral;       /* (F, h_l, w_l) scratch, largest level */
  float *top[4];        /* (F, h_l, w_l) pyramid before smoothing */
  float *cat;           /* (F + K, hm, hm): P2 then coarse maps */
  float *head1;         /* (head, hm, hm) */
  float *head2;         /* (head, hm, hm) */
  float *fine;          /* (K, hm, hm) */
  float *p5;            /* (F, h4, w4) smoothed */
  float *p5_pooled;     /* (F) */
  float *visibility;    /* (K) */

  gboolean have_attention; /* the last run made or reused maps, logits */
  gboolean reuse;          /* steer with the stored maps when there are */
  gboolean have_maps;      /* maps, logits and category are stored */
  int map_category;        /* top class of the stored maps */
  float map_category_score;
  SanlTimings timings;
};

static double
elapsed_ms (gint64 *mark)
{
  gint64 now = g_get_monotonic_time ();
  double ms = (now - *mark) / 1000.0;

  *mark = now;
  return ms;
}

/* Hands out every buffer; with arena->base NULL it only counts. */
static void
session_plan (SanlSession *s, SanlArena *arena)
{
  const SanlModel *m = s->model;
  const SanlConfig *cfg = &m->config;
  int f = cfg->fpn_channels, k = cfg->n_landmarks;
  gsize hw2, work = 0;

  s->input = sanl_arena_take (arena, (gsize) 3 * s->size * s->size);

  /* Classifier and its Grad-CAM backward pass. */
  sanl_resnet_plan (&m->classifier, s->size, TRUE, arena, &s->cls, &work);
  sanl_gradcam_plan (&m->classifier, &s->cls, arena, &s->grad);
  s->pooled = sanl_arena_take (arena, m->fc.cin);
  s->logits = sanl_arena_take (arena, m->fc.cout);
  for (int l = 0; l < 4; l++)
    s->maps[l] = sanl_arena_take (arena, (gsize) s->cls.h[l] * s->cls.w[l]);

  /* Backbone; each SANL block works in place on its stage output. */
  sanl_resnet_plan (&m->backbone, s->size, FALSE, arena, &s->bb, &work);
  for (int l = 0; l < 4; l++)
    work = MAX (work,
        sanl_nonlocal_workspace (&m->nonlocal[l], s->bb.h[l], s->bb.w[l]));

  /* Pyramid: top-down sums at every level, P2 smoothed into cat. */
  hw2 = (gsize) s->bb.h[0] * s->bb.w[0];
  s->lateral = sanl_arena_take (arena, f * hw2);
  for (int l = 0; l < 4; l++) {
    s->top[l] = sanl_arena_take (arena, (gsize) f * s->bb.h[l] * s->bb.w[l]);
    work = MAX (work,
        sanl_conv_workspace (&m->pyramid.lateral[l], s->bb.h[l], s->bb.w[l]));
  }
  work = MAX (
      work, sanl_conv_workspace (&m->pyramid.smooth2, s->bb.h[0], s->bb.w[0]));
  work = MAX (
      work, sanl_conv_workspace (&m->pyramid.smooth5, s->bb.h[3], s->bb.w[3]));
  s->p5 = sanl_arena_take (arena, (gsize) f * s->bb.h[3] * s->bb.w[3]);
  s->p5_pooled = sanl_arena_take (arena, f);

  /* Heads at stride 4. */
  s->cat = sanl_arena_take (arena, (gsize) (f + k) * hw2);
  s->head1 = sanl_arena_take (arena, (gsize) cfg->head_channels * hw2);
  s->head2 = sanl_arena_take (arena, (gsize) cfg->head_channels * hw2);
  s->fine = sanl_arena_take (arena, (gsize) k * hw2);
  s->visibility = sanl_arena_take (arena, k);
  for (int i = 0; i < 2; i++) {
    const SanlHead *head = i == 0 ? &m->coarse : &m->fine;

    work = MAX (work, sanl_conv_workspace (&head->conv1, s->hm, s->hm));
    work = MAX (work, sanl_conv_workspace (&head->conv2, s->hm, s->hm));
    work = MAX (work, sanl_conv_workspace (&head->out, s->hm, s->hm));
  }

  s->work = sanl_arena_take (arena, work);
}

SanlSession *
sanl_session_new (SanlModel *model, GError **error)
{
  SanlSession *s;
  SanlArena arena = { NULL, 0 };

  g_return_val_if_fail (model != NULL, NULL);

  s = g_new0 (SanlSession, 1);
  s->model = sanl_model_ref (model);
  s->attention = SANL_ATTENTION_GRADCAM;
  s->size = model->config.input_size;
  s->hm = s->size / 4;

  /* Count, allocate once, then hand out the real pointers. */
  session_plan (s, &arena);
  s->arena_floats = arena.used;
  s->arena = g_try_malloc0 (s->arena_floats * sizeof (float));
  if (s->arena == NULL) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "%s: cannot allocate %" G_GSIZE_FORMAT " MiB of activations",
        model->path, s->arena_floats * sizeof (float) >> 20);
    sanl_session_free (s);
    return NULL;
  }
  arena.base = s->arena;
  arena.used = 0;
  session_plan (s, &arena);

  g_debug ("session on %s: arena %.1f MiB", model->path,
      s->arena_floats * sizeof (float) / 1048576.0);
  return s;
}

void
sanl_session_free (SanlSession *s)
{
  if (s == NULL)
    return;
  sanl_resnet_buffers_clear (&s->cls);
  sanl_resnet_buffers_clear (&s->bb);
  g_free (s->arena);
  sanl_model_unref (s->model);
  g_free (s);
}

SanlModel *
sanl_session_get_model (SanlSession *s)
{
  return s->model;
}

void
sanl_session_set_attention (SanlSession *s, SanlAttention mode)
{
  s->attention = mode;
}

void
sanl_session_reuse_attention (SanlSession *s, gboolean reuse)
{
  s->reuse = reuse;
}

gsize
sanl_session_get_arena_size (SanlSession *s)
{
  return s->arena_floats * sizeof (float);
}

const SanlTimings *
sanl_session_get_timings (SanlSession *s)
{
  return &s->timings;
}

/* Classifier forward, then Grad-CAM maps and the category. */
static void
run_attention (SanlSession *s, SanlResult *result, gint64 *mark)
{
  const SanlModel *m = s->model;

  sanl_resnet_stem (&m->classifier, s->input, s->size, &s->cls, s->work);
  for (int l = 0; l < 4; l++)
    sanl_resnet_stage (&m->classifier, l, &s->cls, s->work);
  sanl_gradcam_run (&m->classifier, &m->fc, m->config.attention_class, &s->cls,
      &s->grad, s->pooled, s->logits, s->maps, &result->category,
      &result->category_score, s->work, &s->timings.attention_backward);
  s->timings.attention_forward
      = elapsed_ms (mark) - s->timings.attention_backward;

  /* Kept for later runs that reuse these maps. */
  s->have_maps = TRUE;
  s->map_category = result->category;
  s->map_category_score = result->category_score;
}

/* The maps, logits and category of the last computed Grad-CAM stay in
 * the arena; a run that reuses them only reports the category. */
static void
reuse_attention (SanlSession *s, SanlResult *result, gint64 *mark)
{
  result->category = s->map_category;
  result->category_score = s->map_category_score;
  elapsed_ms (mark);
}

/* Backbone stages, each followed by its SANL block. */
static void
run_backbone (SanlSession *s, gint64 *mark)
{
  const SanlModel *m = s->model;
  gboolean maps = s->attention == SANL_ATTENTION_GRADCAM;

  s->timings.backbone = 0.0;
  s->timings.sanl = 0.0;
  sanl_resnet_stem (&m->backbone, s->input, s->size, &s->bb, s->work);
  for (int l = 0; l < 4; l++) {
    sanl_resnet_stage (&m->backbone, l, &s->bb, s->work);
    s->timings.backbone += elapsed_ms (mark);
    sanl_nonlocal_forward (&m->nonlocal[l],
        sanl_resnet_stage_output (&m->backbone, &s->bb, l), s->bb.h[l],
        s->bb.w[l], maps ? s->maps[l] : NULL, s->work);
    s->timings.sanl += elapsed_ms (mark);
  }
}

/* Top-down pyramid; P2 lands in the first F channels of cat. */
static void
run_pyramid (SanlSession *s)
{
  const SanlModel *m = s->model;
  const SanlPyramid *p = &m->pyramid;
  int f = m->config.fpn_channels;

  sanl_conv_forward (&p->lateral[3],
      sanl_resnet_stage_output (&m->backbone, &s->bb, 3), s->bb.h[3],
      s->bb.w[3], s->top[3], FALSE, s->work);
  for (int l = 2; l >= 0; l--) {
    sanl_conv_forward (&p->lateral[l],
        sanl_resnet_stage_output (&m->backbone, &s->bb, l), s->bb.h[l],
        s->bb.w[l], s->top[l], FALSE, s->work);
    sanl_upsample2_add (
        s->top[l], s->top[l + 1], f, s->bb.h[l + 1], s->bb.w[l + 1]);
  }
  sanl_conv_forward (
      &p->smooth2, s->top[0], s->bb.h[0], s->bb.w[0], s->cat, FALSE, s->work);
  sanl_conv_forward (
      &p->smooth5, s->top[3], s->bb.h[3], s->bb.w[3], s->p5, FALSE, s->work);
}

static void
run_head (SanlSession *s, const SanlHead *head, const float *x, float *y)
{
  sanl_conv_forward (&head->conv1, x, s->hm, s->hm, s->head1, TRUE, s->work);
  sanl_conv_forward (
      &head->conv2, s->head1, s->hm, s->hm, s->head2, TRUE, s->work);
  sanl_conv_forward (&head->out, s->head2, s->hm, s->hm, y, FALSE, s->work);
}

/* CoarseNet, FineNet on concat(P2, coarse), visibility from P5. */
static void
run_heads (SanlSession *s)
{
  const SanlModel *m = s->model;
  int f = m->config.fpn_channels, k = m->config.n_landmarks;
  gsize hw = (gsize) s->hm * s->hm;

  run_head (s, &m->coarse, s->cat, s->cat + (gsize) f * hw);
  run_head (s, &m->fine, s->cat, s->fine);

  sanl_global_avg_pool (s->p5, f, s->bb.h[3] * s->bb.w[3], s->p5_pooled);
  sanl_linear_forward (&m->visibility, s->p5_pooled, s->visibility);
  for (int i = 0; i < k; i++)
    s->visibility[i] = 1.0f / (1.0f + expf (-s->visibility[i]));
}

static void
decode (SanlSession *s, const SanlRect *region, SanlResult *result)
{
  int k = s->model->config.n_landmarks;
  gsize hw = (gsize) s->hm * s->hm;

  result->n_landmarks = k;
  for (int i = 0; i < k; i++) {
    SanlLandmark *mark = &result->landmarks[i];
    float hx, hy, peak;

    peak = sanl_heatmap_peak (s->fine + i * hw, s->hm, s->hm, &hx, &hy);
    sanl_heatmap_to_frame (region, s->size, hx, hy, &mark->x, &mark->y);

    /* A peak in the letterbox padding still names a point of the region. */
    mark->x
        = CLAMP (mark->x, region->x - 0.5f, region->x + region->width - 0.5f);
    mark->y
        = CLAMP (mark->y, region->y - 0.5f, region->y + region->height - 0.5f);
    mark->visibility = s->visibility[i];
    mark->score = CLAMP (peak, 0.0f, 1.0f) * mark->visibility;
    mark->visible = mark->visibility >= 0.5f;
  }
}

/* Everything after preprocessing; region is used only for decoding. */
static void
run_network (
    SanlSession *s, const SanlRect *region, SanlResult *result, gint64 *mark)
{
  memset (result, 0, sizeof (*result));
  result->category = -1;
  result->region = *region;

  s->have_attention = s->attention == SANL_ATTENTION_GRADCAM;
  s->timings.attention_forward = 0.0;
  s->timings.attention_backward = 0.0;
  if (s->have_attention && s->reuse && s->have_maps)
    reuse_attention (s, result, mark);
  else if (s->have_attention)
    run_attention (s, result, mark);
  else
    elapsed_ms (mark);

  run_backbone (s, mark);
  run_pyramid (s);
  s->timings.pyramid = elapsed_ms (mark);
  run_heads (s);
  s->timings.heads = elapsed_ms (mark);
  decode (s, region, result);
  s->timings.decode = elapsed_ms (mark);
}

/* NaN or infinity anywhere in what a run hands back (the fine heatmaps it
 * decodes, the visibilities, the landmarks and category) is an error: a
 * model whose weights overflow float on this input, whose points would
 * mean nothing. */
static gboolean
check_outputs (const SanlSession *s, const SanlResult *result, GError **error)
{
  gsize n = (gsize) s->model->config.n_landmarks * s->hm * s->hm;
  gboolean finite = result->category < 0 || isfinite (result->category_score);

  for (gsize i = 0; finite && i < n; i++)
    finite = isfinite (s->fine[i]);
  for (int k = 0; finite && k < result->n_landmarks; k++) {
    const SanlLandmark *mark = &result->landmarks[k];

    finite = isfinite (mark->x) && isfinite (mark->y) && isfinite (mark->score)
             && isfinite (mark->visibility);
  }
  if (!finite)
    g_set_error (error, SANL_ERROR, SANL_ERROR_NUMERIC,
        "the network's outputs are not finite");
  return finite;
}

static gboolean
check_image (const SanlImage *image, GError **error)
{
  int planes = 1, min_stride;

  if (image->width <= 0 || image->height <= 0 || image->data[0] == NULL) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "image of %dx%d pixels has no data", image->width, image->height);
    return FALSE;
  }
  switch (image->format) {
    case SANL_PIXEL_RGB:
    case SANL_PIXEL_BGR:
      min_stride = image->width * 3;
      break;
    case SANL_PIXEL_RGBX:
    case SANL_PIXEL_BGRX:
    case SANL_PIXEL_XRGB:
    case SANL_PIXEL_XBGR:
      min_stride = image->width * 4;
      break;
    case SANL_PIXEL_YUY2:
      min_stride = (image->width + 1) / 2 * 4;
      break;
    case SANL_PIXEL_I420:
      planes = 3;
      min_stride = image->width;
      break;
    case SANL_PIXEL_NV12:
      planes = 2;
      min_stride = image->width;
      break;
    default:
      g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
          "unknown pixel format %d", image->format);
      return FALSE;
  }
  if (image->stride[0] < min_stride) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "row stride %d is shorter than a row of %d pixels (%d bytes)",
        image->stride[0], image->width, min_stride);
    return FALSE;
  }
  for (int p = 1; p < planes; p++) {
    int chroma = planes == 3 ? (image->width + 1) / 2 : min_stride;

    if (image->data[p] == NULL || image->stride[p] < chroma) {
      g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
          "plane %d of the image is missing or its stride is too short", p);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
check_region (const SanlRect *r, GError **error)
{
  if (!isfinite (r->x) || !isfinite (r->y) || !isfinite (r->width)
      || !isfinite (r->height) || r->width <= 0.0f || r->height <= 0.0f) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "region %gx%g at (%g, %g) is empty or not finite", r->width, r->height,
        r->x, r->y);
    return FALSE;
  }
  return TRUE;
}

gboolean
sanl_session_run (SanlSession *s, const SanlImage *image,
    const SanlRect *region, SanlResult *result, GError **error)
{
  const SanlConfig *cfg = &s->model->config;
  SanlRect whole = { 0.0f, 0.0f, 0.0f, 0.0f };
  gint64 start = g_get_monotonic_time (), mark = start;

  g_return_val_if_fail (image != NULL && result != NULL, FALSE);

  if (!check_image (image, error))
    return FALSE;
  if (region == NULL) {
    whole.width = image->width;
    whole.height = image->height;
    region = &whole;
  }
  if (!check_region (region, error))
    return FALSE;

  sanl_preprocess (image, region, s->size, cfg->mean, cfg->std, s->input);
  s->timings.preprocess = elapsed_ms (&mark);
  run_network (s, region, result, &mark);
  s->timings.total = (g_get_monotonic_time () - start) / 1000.0;
  return check_outputs (s, result, error);
}

gboolean
sanl_session_run_input (
    SanlSession *s, const float *input, SanlResult *result, GError **error)
{
  SanlRect square = { 0.0f, 0.0f, s->size, s->size };
  gint64 start = g_get_monotonic_time (), mark = start;

  g_return_val_if_fail (input != NULL && result != NULL, FALSE);

  memcpy (s->input, input, (gsize) 3 * s->size * s->size * sizeof (float));
  s->timings.preprocess = 0.0;
  run_network (s, &square, result, &mark);
  s->timings.total = (g_get_monotonic_time () - start) / 1000.0;
  return check_outputs (s, result, error);
}

static SanlTensor
tensor (const float *data, int n_dims, int d0, int d1, int d2)
{
  SanlTensor t = { data, n_dims, { d0, d1, d2, 0 } };

  return t;
}

SanlTensor
sanl_session_get_output (SanlSession *s, SanlOutput which)
{
  const SanlConfig *cfg = &s->model->config;
  int k = cfg->n_landmarks, hm = s->hm;
  SanlTensor none = { NULL, 0, { 0, 0, 0, 0 } };

  switch (which) {
    case SANL_OUTPUT_INPUT:
      return tensor (s->input, 3, 3, s->size, s->size);
    case SANL_OUTPUT_ATTENTION_1:
    case SANL_OUTPUT_ATTENTION_2:
    case SANL_OUTPUT_ATTENTION_3:
    case SANL_OUTPUT_ATTENTION_4: {
      int l = which - SANL_OUTPUT_ATTENTION_1;

      if (!s->have_attention)
        return none;
      return tensor (s->maps[l], 3, 1, s->cls.h[l], s->cls.w[l]);
    }
    case SANL_OUTPUT_LOGITS:
      if (!s->have_attention)
        return none;
      return tensor (s->logits, 1, cfg->n_classes, 0, 0);
    case SANL_OUTPUT_HEATMAPS_COARSE:
      return tensor (
          s->cat + (gsize) cfg->fpn_channels * hm * hm, 3, k, hm, hm);
    case SANL_OUTPUT_HEATMAPS_FINE:
      return tensor (s->fine, 3, k, hm, hm);
    case SANL_OUTPUT_VISIBILITY:
      return tensor (s->visibility, 1, k, 0, 0);
    default:
      return none;
  }
}
