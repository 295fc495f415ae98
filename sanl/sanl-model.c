/* Loading a model: the .safetensors file is mapped and validated, its
 * sanl.config parsed, then every layer of the network the config describes
 * takes its tensors by their PyTorch state_dict names, checks their shapes,
 * widens them to float32 and folds BatchNorm into the convolution before
 * it. A tensor the network does not use is an error, except the
 * *.num_batches_tracked counters of BatchNorm. */

#include "sanl-private.h"
#include "sanl-safetensors.h"

#include <math.h>
#include <string.h>

#define BN_EPS 1e-5
#define FORMAT_VERSION "1"

GQuark
sanl_error_quark (void)
{
  return g_quark_from_static_string ("sanl-error-quark");
}

/* ---------------------------------------------------------------------- */
/* Fetching tensors                                                        */

typedef struct
{
  SanlModel *model;
  SanlSafetensors *st;
  GHashTable *used; /* names of the tensors consumed so far */
  GError **error;
} Loader;

static char *
format_shape (int n_dims, const gint64 *shape)
{
  GString *s = g_string_new ("[");

  for (int i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* NaN or infinity in a weight would poison every output silently. */
static gboolean
check_finite (Loader *ld, const char *name, const float *data, int n_dims,
    const gint64 *shape)
{
  gint64 n = 1;

  for (int i = 0; i < n_dims; i++)
    n *= shape[i];
  for (gint64 i = 0; i < n; i++) {
    if (!isfinite (data[i])) {
      g_set_error (ld->error, SANL_ERROR, SANL_ERROR_TENSOR,
          "%s: tensor '%s' holds %g at element %" G_GINT64_FORMAT,
          ld->model->path, name, data[i], i);
      return FALSE;
    }
  }
  return TRUE;
}

/* A new float32 copy of tensor name, which must have exactly the n_dims
 * dimensions in shape; NULL with an error otherwise. The copy belongs to
 * the model. */
static float *
fetch (Loader *ld, const char *name, int n_dims, const gint64 *shape)
{
  const SanlSafetensor *t = sanl_safetensors_find (ld->st, name);
  float *data;

  if (t == NULL) {
    g_set_error (ld->error, SANL_ERROR, SANL_ERROR_TENSOR,
        "%s: tensor '%s' is missing; sanl.config implies it", ld->model->path,
        name);
    return NULL;
  }

  if (t->n_dims != n_dims
      || memcmp (t->shape, shape, n_dims * sizeof *shape) != 0) {
    g_autofree char *found = format_shape (t->n_dims, t->shape);
    g_autofree char *wanted = format_shape (n_dims, shape);

    g_set_error (ld->error, SANL_ERROR, SANL_ERROR_TENSOR,
        "%s: tensor '%s' has shape %s; sanl.config implies %s", ld->model->path,
        name, found, wanted);
    return NULL;
  }

  if (t->dtype == SANL_DTYPE_I64) {
    g_set_error (ld->error, SANL_ERROR, SANL_ERROR_TENSOR,
        "%s: tensor '%s' is I64; weights are F32, F16 or BF16", ld->model->path,
        name);
    return NULL;
  }

  g_hash_table_add (ld->used, (gpointer) t->name);
  data = sanl_safetensor_to_float (t);
  g_ptr_array_add (ld->model->allocations, data);
  return check_finite (ld, name, data, n_dims, shape) ? data : NULL;
}

static float *
fetch1 (Loader *ld, const char *prefix, const char *suffix, int n)
{
  g_autofree char *name = g_strconcat (prefix, suffix, NULL);
  gint64 shape[1] = { n };

  return fetch (ld, name, 1, shape);
}

/* A zeroed float buffer owned by the model. */
static float *
model_alloc0 (SanlModel *model, gsize n)
{
  float *data = g_new0 (float, MAX (n, 1));

  g_ptr_array_add (model->allocations, data);
  return data;
}

/* ---------------------------------------------------------------------- */
/* Layers                                                                  */

/* w' = w * s, b' = (b - mean) * s + beta, s = gamma / sqrt (var + eps). */
static gboolean
fold_batch_norm (Loader *ld, SanlConv *conv, const char *bn)
{
  int n = conv->cout;
  gsize per_out = (gsize) conv->cin * conv->kernel * conv->kernel;
  float *gamma, *beta, *mean, *var;

  if (!(gamma = fetch1 (ld, bn, ".weight", n))
      || !(beta = fetch1 (ld, bn, ".bias", n))
      || !(mean = fetch1 (ld, bn, ".running_mean", n))
      || !(var = fetch1 (ld, bn, ".running_var", n)))
    return FALSE;

  for (int o = 0; o < n; o++) {
    double s;

    /* The negated test also catches NaN. */
    if (!(var[o] >= 0.0f) || isinf (var[o])) {
      g_set_error (ld->error, SANL_ERROR, SANL_ERROR_TENSOR,
          "%s: tensor '%s.running_var': element %d is %g; variances are "
          "finite and not negative",
          ld->model->path, bn, o, var[o]);
      return FALSE;
    }
    s = gamma[o] / sqrt ((double) var[o] + BN_EPS);
    for (gsize i = 0; i < per_out; i++)
      conv->weight[o * per_out + i] *= s;
    conv->bias[o] = (conv->bias[o] - mean[o]) * s + beta[o];
  }
  return TRUE;
}

/* Convolution prefix (padding kernel / 2), BatchNorm bn folded in when not
 * NULL. weight (cout, cin * k * k) is PyTorch's (cout, cin, k, k). */
static gboolean
load_conv (Loader *ld, SanlConv *conv, const char *prefix, const char *bn,
    int cin, int cout, int kernel, int stride, gboolean has_bias)
{
  g_autofree char *name = g_strconcat (prefix, ".weight", NULL);
  gint64 shape[4] = { cout, cin, kernel, kernel };

  conv->cin = cin;
  conv->cout = cout;
  conv->kernel = kernel;
  conv->stride = stride;
  conv->pad = kernel / 2;

  if (!(conv->weight = fetch (ld, name, 4, shape)))
    return FALSE;
  if (has_bias)
    conv->bias = fetch1 (ld, prefix, ".bias", cout);
  else
    conv->bias = model_alloc0 (ld->model, cout);
  if (conv->bias == NULL)
    return FALSE;

  return bn == NULL || fold_batch_norm (ld, conv, bn);
}

/* weight (cout, cin), bias (cout). */
static gboolean
load_linear (
    Loader *ld, SanlLinear *linear, const char *prefix, int cin, int cout)
{
  g_autofree char *name = g_strconcat (prefix, ".weight", NULL);
  gint64 shape[2] = { cout, cin };

  linear->cin = cin;
  linear->cout = cout;
  return (linear->weight = fetch (ld, name, 2, shape)) != NULL
         && (linear->bias = fetch1 (ld, prefix, ".bias", cout)) != NULL;
}

/* "<prefix>.conv<i>" with BatchNorm "<prefix>.bn<i>". */
static gboolean
load_conv_bn (Loader *ld, SanlConv *conv, const char *prefix, int i, int cin,
    int cout, int kernel, int stride)
{
  g_autofree char *name = g_strdup_printf ("%s.conv%d", prefix, i);
  g_autofree char *bn = g_strdup_printf ("%s.bn%d", prefix, i);

  return load_conv (ld, conv, name, bn, cin, cout, kernel, stride, FALSE);
}

/* BasicBlock: 3x3 (stride), 3x3. Bottleneck: 1x1, 3x3 (stride), 1x1 to
 * 4 * mid. A 1x1 projection when the shape changes. */
static gboolean
load_block (Loader *ld, SanlBlock *block, const char *prefix,
    gboolean bottleneck, int cin, int mid, int stride)
{
  int cout = bottleneck ? mid * 4 : mid;
  gboolean ok;

  block->bottleneck = bottleneck;
  if (bottleneck)
    ok = load_conv_bn (ld, &block->conv1, prefix, 1, cin, mid, 1, 1)
         && load_conv_bn (ld, &block->conv2, prefix, 2, mid, mid, 3, stride)
         && load_conv_bn (ld, &block->conv3, prefix, 3, mid, cout, 1, 1);
  else
    ok = load_conv_bn (ld, &block->conv1, prefix, 1, cin, mid, 3, stride)
         && load_conv_bn (ld, &block->conv2, prefix, 2, mid, cout, 3, 1);
  if (!ok)
    return FALSE;

  block->has_down = stride != 1 || cin != cout;
  if (block->has_down) {
    g_autofree char *conv = g_strconcat (prefix, ".downsample.0", NULL);
    g_autofree char *bn = g_strconcat (prefix, ".downsample.1", NULL);

    return load_conv (ld, &block->down, conv, bn, cin, cout, 1, stride, FALSE);
  }
  return TRUE;
}

/* Stem 7x7/2 and four stages; stage l > 1 halves the size in block 0. */
static gboolean
load_resnet (
    Loader *ld, SanlResNet *net, const SanlResNetSpec *spec, const char *prefix)
{
  g_autofree char *stem = g_strconcat (prefix, ".conv1", NULL);
  g_autofree char *stem_bn = g_strconcat (prefix, ".bn1", NULL);
  int cin = spec->width;

  net->spec = *spec;
  if (!load_conv (ld, &net->stem, stem, stem_bn, 3, spec->width, 7, 2, FALSE))
    return FALSE;

  for (int l = 0; l < 4; l++) {
    net->blocks[l] = g_new0 (SanlBlock, spec->depths[l]);
    g_ptr_array_add (ld->model->allocations, net->blocks[l]);

    for (int j = 0; j < spec->depths[l]; j++) {
      g_autofree char *name
          = g_strdup_printf ("%s.layer%d.%d", prefix, l + 1, j);
      int stride = l > 0 && j == 0 ? 2 : 1;

      if (!load_block (ld, &net->blocks[l][j], name, spec->bottleneck, cin,
              spec->width << l, stride))
        return FALSE;
      cin = spec->channels[l];
    }
  }
  return TRUE;
}

/* theta, phi, g: 1x1 with bias to C / 2; out: 1x1 back to C, with BN. */
static gboolean
load_nonlocal (Loader *ld, SanlNonLocal *block, int index, int channels)
{
  g_autofree char *prefix = g_strdup_printf ("sanl.%d", index);
  g_autofree char *theta = g_strconcat (prefix, ".theta", NULL);
  g_autofree char *phi = g_strconcat (prefix, ".phi", NULL);
  g_autofree char *g = g_strconcat (prefix, ".g", NULL);
  g_autofree char *out = g_strconcat (prefix, ".out", NULL);
  g_autofree char *bn = g_strconcat (prefix, ".bn", NULL);
  int inner = MAX (channels / 2, 1);

  block->channels = channels;
  block->inner = inner;
  return load_conv (ld, &block->theta, theta, NULL, channels, inner, 1, 1, TRUE)
         && load_conv (ld, &block->phi, phi, NULL, channels, inner, 1, 1, TRUE)
         && load_conv (ld, &block->g, g, NULL, channels, inner, 1, 1, TRUE)
         && load_conv (ld, &block->out, out, bn, inner, channels, 1, 1, FALSE);
}

static gboolean
load_pyramid (Loader *ld, SanlPyramid *fpn, const int channels[4], int f)
{
  for (int l = 0; l < 4; l++) {
    g_autofree char *name = g_strdup_printf ("fpn.lateral.%d", l);

    if (!load_conv (
            ld, &fpn->lateral[l], name, NULL, channels[l], f, 1, 1, TRUE))
      return FALSE;
  }
  return load_conv (ld, &fpn->smooth2, "fpn.smooth2", NULL, f, f, 3, 1, TRUE)
         && load_conv (
             ld, &fpn->smooth5, "fpn.smooth5", NULL, f, f, 3, 1, TRUE);
}

static gboolean
load_head (Loader *ld, SanlHead *head, const char *prefix, int cin,
    int channels, int k)
{
  g_autofree char *out = g_strconcat (prefix, ".out", NULL);

  return load_conv_bn (ld, &head->conv1, prefix, 1, cin, channels, 3, 1)
         && load_conv_bn (ld, &head->conv2, prefix, 2, channels, channels, 3, 1)
         && load_conv (ld, &head->out, out, NULL, channels, k, 1, 1, TRUE);
}

/* ---------------------------------------------------------------------- */
/* The whole model                                                         */

static gboolean
load_network (Loader *ld)
{
  SanlModel *m = ld->model;
  const SanlConfig *c = &m->config;
  int f = c->fpn_channels;
  int k = c->n_landmarks;

  if (!load_resnet (ld, &m->classifier, &c->classifier, "classifier")
      || !load_linear (
          ld, &m->fc, "classifier.fc", c->classifier.channels[3], c->n_classes)
      || !load_resnet (ld, &m->backbone, &c->backbone, "backbone"))
    return FALSE;

  for (int l = 0; l < 4; l++) {
    if (!load_nonlocal (ld, &m->nonlocal[l], l, c->backbone.channels[l]))
      return FALSE;
  }

  return load_pyramid (ld, &m->pyramid, c->backbone.channels, f)
         && load_head (ld, &m->coarse, "coarse", f, c->head_channels, k)
         && load_head (ld, &m->fine, "fine", f + k, c->head_channels, k)
         && load_linear (ld, &m->visibility, "visibility", f, k);
}

/* Every tensor must have been consumed but BatchNorm's batch counters. */
static gboolean
check_all_used (Loader *ld)
{
  for (int i = 0; i < ld->st->n_tensors; i++) {
    const char *name = ld->st->tensors[i].name;

    if (g_hash_table_contains (ld->used, name)
        || g_str_has_suffix (name, ".num_batches_tracked"))
      continue;
    g_set_error (ld->error, SANL_ERROR, SANL_ERROR_TENSOR,
        "%s: tensor '%s' is not part of the network sanl.config describes",
        ld->model->path, name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_metadata (SanlModel *model, const SanlSafetensors *st, GError **error)
{
  const char *format = sanl_safetensors_get_metadata (st, "sanl.format");
  const char *config = sanl_safetensors_get_metadata (st, "sanl.config");

  if (format == NULL) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_FORMAT,
        "%s: metadata 'sanl.format' is missing; not a SANL model file",
        model->path);
    return FALSE;
  }
  if (strcmp (format, FORMAT_VERSION) != 0) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_FORMAT,
        "%s: metadata 'sanl.format' is \"%s\"; this version reads "
        "\"" FORMAT_VERSION "\"",
        model->path, format);
    return FALSE;
  }
  if (config == NULL) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_CONFIG,
        "%s: metadata 'sanl.config' is missing", model->path);
    return FALSE;
  }
  return sanl_config_parse (&model->config, config, model->path, error);
}

static gsize
count_parameters (const SanlSafetensors *st)
{
  gsize n = 0;

  for (int i = 0; i < st->n_tensors; i++) {
    if (st->tensors[i].dtype != SANL_DTYPE_I64)
      n += st->tensors[i].n_elements;
  }
  return n;
}

SanlModel *
sanl_model_load (const char *path, GError **error)
{
  gint64 start = g_get_monotonic_time ();
  SanlSafetensors *st;
  SanlModel *model;
  Loader ld;
  gboolean ok;
  gsize parameters;
  int n_tensors;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* before any session of this model runs a product */
  sanl_blas_match_processor ();
  st = sanl_safetensors_open (path, error);
  if (st == NULL)
    return NULL;

  model = g_new0 (SanlModel, 1);
  model->ref_count = 1;
  model->path = g_strdup (path);
  model->allocations = g_ptr_array_new_with_free_func (g_free);

  ld.model = model;
  ld.st = st;
  ld.used = g_hash_table_new (g_str_hash, g_str_equal);
  ld.error = error;
  ok = parse_metadata (model, st, error) && load_network (&ld)
       && check_all_used (&ld);
  g_hash_table_unref (ld.used);
  parameters = count_parameters (st);
  n_tensors = st->n_tensors;
  /* the file's pages go before the Winograd weights come, so that the two
   * never take memory at once */
  sanl_safetensors_free (st);

  if (!ok) {
    sanl_model_unref (model);
    return NULL;
  }

  sanl_winograd_prepare_model (model);
  g_debug ("loaded %s: config '%s', input %d, %d landmarks, %d classes, "
           "%" G_GSIZE_FORMAT " parameters in %d tensors, %.1f ms",
      path, model->config.name, model->config.input_size,
      model->config.n_landmarks, model->config.n_classes, parameters, n_tensors,
      (g_get_monotonic_time () - start) / 1000.0);
  return model;
}

SanlModel *
sanl_model_ref (SanlModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);

  g_atomic_int_inc (&model->ref_count);
  return model;
}

void
sanl_model_unref (SanlModel *model)
{
  if (model == NULL || !g_atomic_int_dec_and_test (&model->ref_count))
    return;

  g_ptr_array_unref (model->allocations);
  sanl_config_clear (&model->config);
  g_free (model->path);
  g_free (model);
}

/* ---------------------------------------------------------------------- */
/* Accessors                                                               */

const char *
sanl_model_get_path (const SanlModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->path;
}

const char *
sanl_model_get_name (const SanlModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  return model->config.name;
}

int
sanl_model_get_input_size (const SanlModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->config.input_size;
}

int
sanl_model_get_n_landmarks (const SanlModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->config.n_landmarks;
}

const char *
sanl_model_get_landmark_name (const SanlModel *model, int k)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (k >= 0 && k < model->config.n_landmarks, NULL);
  return model->config.landmarks[k];
}

int
sanl_model_get_n_classes (const SanlModel *model)
{
  g_return_val_if_fail (model != NULL, 0);
  return model->config.n_classes;
}

const char *
sanl_model_get_class_name (const SanlModel *model, int c)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (c >= 0 && c < model->config.n_classes, NULL);
  return model->config.classes[c];
}

/* ---------------------------------------------------------------------- */
/* Multiply-accumulates                                                    */

/* MACs of conv on a (cin, *h, *w) input; *h, *w become the output size. */
static double
conv_macs (const SanlConv *conv, int *h, int *w)
{
  *h = sanl_window_out (*h, conv->kernel, conv->stride, conv->pad);
  *w = sanl_window_out (*w, conv->kernel, conv->stride, conv->pad);
  return (double) conv->cout * conv->cin * conv->kernel * conv->kernel * *h
         * *w;
}

/* MACs of one block on (*h, *w); *h, *w become its output size. */
static double
block_macs (const SanlBlock *block, int *h, int *w)
{
  int down_h = *h, down_w = *w;
  double macs;

  macs = conv_macs (&block->conv1, h, w) + conv_macs (&block->conv2, h, w);
  if (block->bottleneck)
    macs += conv_macs (&block->conv3, h, w);
  if (block->has_down)
    macs += conv_macs (&block->down, &down_h, &down_w);
  return macs;
}

/* Stem and stages of net on a size x size input: stage[l] gets the MACs
 * of stage l, side[l] its output size; returns the total. */
static double
resnet_macs (const SanlResNet *net, int size, double stage[4], int side[4])
{
  int h = size, w = size;
  double total = conv_macs (&net->stem, &h, &w);

  /* 3x3/2 max-pool after the stem. */
  h = sanl_window_out (h, 3, 2, 1);
  w = sanl_window_out (w, 3, 2, 1);

  for (int l = 0; l < 4; l++) {
    stage[l] = 0.0;
    for (int j = 0; j < net->spec.depths[l]; j++)
      stage[l] += block_macs (&net->blocks[l][j], &h, &w);
    side[l] = h;
    total += stage[l];
  }
  return total;
}

/* Four 1x1 convolutions at (side, side), and the affinity and aggregation
 * GEMMs: (side^2, inner) x (inner, P) and (side^2, P) x (P, inner). */
static double
nonlocal_macs (const SanlNonLocal *block, int side)
{
  double hw = (double) side * side;
  double pooled = (double) (side / 2) * (side / 2);
  int h = side, w = side;
  double macs = 0.0;

  macs += conv_macs (&block->theta, &h, &w);
  macs += conv_macs (&block->phi, &h, &w);
  macs += conv_macs (&block->g, &h, &w);
  macs += conv_macs (&block->out, &h, &w);
  return macs + 2.0 * hw * pooled * block->inner;
}

static double
head_macs (const SanlHead *head, int side)
{
  int h = side, w = side;

  return conv_macs (&head->conv1, &h, &w) + conv_macs (&head->conv2, &h, &w)
         + conv_macs (&head->out, &h, &w);
}

static double
linear_macs (const SanlLinear *linear)
{
  return (double) linear->cin * linear->cout;
}

double
sanl_model_get_macs (const SanlModel *model, SanlAttention attention)
{
  int size = model->config.input_size;
  double stage[4];
  int side[4];
  int h, w;
  double macs;

  g_return_val_if_fail (model != NULL, 0.0);

  /* Backbone, a SANL block and a lateral after each stage. */
  macs = resnet_macs (&model->backbone, size, stage, side);
  for (int l = 0; l < 4; l++) {
    h = w = side[l];
    macs += nonlocal_macs (&model->nonlocal[l], side[l]);
    macs += conv_macs (&model->pyramid.lateral[l], &h, &w);
  }

  /* Smoothing of P2 and P5, heads on P2, visibility from P5. */
  h = w = side[0];
  macs += conv_macs (&model->pyramid.smooth2, &h, &w);
  h = w = side[3];
  macs += conv_macs (&model->pyramid.smooth5, &h, &w);
  macs += head_macs (&model->coarse, side[0])
          + head_macs (&model->fine, side[0]);
  macs += linear_macs (&model->visibility);

  if (attention == SANL_ATTENTION_NONE)
    return macs;

  /* Classifier forward, then data gradients back through stages 4, 3, 2
   * to reach the outputs of stages 1..3; each costs its forward MACs. */
  macs += resnet_macs (&model->classifier, size, stage, side);
  macs += linear_macs (&model->fc);
  return macs + stage[1] + stage[2] + stage[3];
}
