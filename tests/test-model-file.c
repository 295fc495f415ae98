/* The model file reader: a valid model loads with the weights and numbers
 * the file holds; every broken variant of it fails with the exact GError
 * domain and code, and a message naming the file and the tensor or field.
 *
 * The broken variants are written by this test into a temporary folder
 * from the bytes of tests/fixtures/tiny-seed1.safetensors, which
 * sanl/torch/export.py made (tests/fixtures/make-model-fixtures.sh). */

#include "sanl-private.h"
#include "sanl-safetensors.h"

#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

static char *tmp_dir;
static char *valid_path;

/* A tensor in the middle of the file and the name of its BatchNorm. */
#define SOME_TENSOR "backbone.layer2.1.conv2.weight"

static char *
fixture_path (const char *name)
{
  const char *root = g_getenv ("SANL_SOURCE_ROOT");

  return g_build_filename (root ? root : ".", "tests", "fixtures", name, NULL);
}

/* ---------------------------------------------------------------------- */
/* Editing a model file                                                    */

/* The valid file taken apart: its header as JSON and its data section. */
typedef struct
{
  JsonNode *root;
  JsonObject *header;
  GByteArray *data;
} ModelBytes;

static ModelBytes *
model_bytes_read (const char *path)
{
  ModelBytes *mb = g_new0 (ModelBytes, 1);
  g_autofree char *contents = NULL;
  g_autofree char *header = NULL;
  GError *error = NULL;
  guint64 n;
  gsize size;

  g_assert_true (g_file_get_contents (path, &contents, &size, &error));
  g_assert_no_error (error);
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);

  header = g_strndup (contents + 8, n);
  mb->root = json_from_string (header, &error);
  g_assert_no_error (error);
  mb->header = json_node_get_object (mb->root);
  mb->data = g_byte_array_new ();
  g_byte_array_append (mb->data, (guint8 *) contents + 8 + n, size - 8 - n);
  return mb;
}

static void
model_bytes_free (ModelBytes *mb)
{
  json_node_unref (mb->root);
  g_byte_array_unref (mb->data);
  g_free (mb);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ModelBytes, model_bytes_free);

/* Writes [n][header][data] as name in the temporary folder. */
static char *
write_raw (const char *name, guint64 n, const char *header, gsize header_size,
    const guint8 *data, gsize data_size)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  GByteArray *bytes = g_byte_array_new ();
  guint64 le = GUINT64_TO_LE (n);
  GError *error = NULL;

  g_byte_array_append (bytes, (guint8 *) &le, 8);
  g_byte_array_append (bytes, (const guint8 *) header, header_size);
  g_byte_array_append (bytes, data, data_size);
  g_file_set_contents (path, (char *) bytes->data, bytes->len, &error);
  g_assert_no_error (error);
  g_byte_array_unref (bytes);
  return path;
}

/* Writes a header text, padded with spaces to a multiple of 8 bytes. */
static char *
write_header_text (const char *name, const char *text, const GByteArray *data)
{
  GString *header = g_string_new (text);
  char *path;

  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');
  path = write_raw (
      name, header->len, header->str, header->len, data->data, data->len);
  g_string_free (header, TRUE);
  return path;
}

static char *
write_model (const char *name, const ModelBytes *mb)
{
  g_autofree char *text = json_to_string (mb->root, FALSE);

  return write_header_text (name, text, mb->data);
}

static JsonObject *
entry (const ModelBytes *mb, const char *name)
{
  JsonObject *e = json_object_get_object_member (mb->header, name);

  g_assert_nonnull (e);
  return e;
}

static gint64
offset_of (const ModelBytes *mb, const char *name, int which)
{
  JsonArray *offsets
      = json_object_get_array_member (entry (mb, name), "data_offsets");

  return json_array_get_int_element (offsets, which);
}

static void
set_offsets (const ModelBytes *mb, const char *name, gint64 begin, gint64 end)
{
  JsonArray *offsets = json_array_new ();

  json_array_add_int_element (offsets, begin);
  json_array_add_int_element (offsets, end);
  json_object_set_array_member (entry (mb, name), "data_offsets", offsets);
}

/* Replaces (or with json NULL, removes) a member of a tensor entry. */
static void
set_field (
    const ModelBytes *mb, const char *name, const char *field, const char *json)
{
  GError *error = NULL;

  if (json == NULL) {
    json_object_remove_member (entry (mb, name), field);
    return;
  }
  json_object_set_member (
      entry (mb, name), field, json_from_string (json, &error));
  g_assert_no_error (error);
}

/* The tensor whose data comes last, and the one just before it. */
static const char *
nth_from_end (const ModelBytes *mb, int back)
{
  g_autoptr (GList) members = json_object_get_members (mb->header);
  gint64 ends[2] = { -1, -1 };
  const char *names[2] = { NULL, NULL };

  for (GList *l = members; l; l = l->next) {
    gint64 end;

    if (strcmp (l->data, "__metadata__") == 0)
      continue;
    end = offset_of (mb, l->data, 1);
    if (end > ends[0]) {
      ends[1] = ends[0];
      names[1] = names[0];
      ends[0] = end;
      names[0] = l->data;
    } else if (end > ends[1]) {
      ends[1] = end;
      names[1] = l->data;
    }
  }
  return names[back];
}

/* Removes a tensor and its bytes; the others keep tiling the data. */
static void
remove_tensor (ModelBytes *mb, const char *name)
{
  gint64 begin = offset_of (mb, name, 0);
  gint64 end = offset_of (mb, name, 1);
  g_autoptr (GList) members = NULL;

  json_object_remove_member (mb->header, name);
  g_byte_array_remove_range (mb->data, begin, end - begin);

  members = json_object_get_members (mb->header);
  for (GList *l = members; l; l = l->next) {
    if (strcmp (l->data, "__metadata__") == 0)
      continue;
    if (offset_of (mb, l->data, 0) >= end)
      set_offsets (mb, l->data, offset_of (mb, l->data, 0) - (end - begin),
          offset_of (mb, l->data, 1) - (end - begin));
  }
}

/* Appends a tensor of n float32 values at the end of the data. */
static void
append_tensor (ModelBytes *mb, const char *name, const char *dtype,
    const char *shape, gsize size)
{
  JsonObject *e = json_object_new ();
  g_autofree guint8 *zeros = g_malloc0 (size);
  GError *error = NULL;
  JsonArray *offsets = json_array_new ();

  json_object_set_string_member (e, "dtype", dtype);
  json_object_set_member (e, "shape", json_from_string (shape, &error));
  g_assert_no_error (error);
  json_array_add_int_element (offsets, mb->data->len);
  json_array_add_int_element (offsets, mb->data->len + size);
  json_object_set_array_member (e, "data_offsets", offsets);
  json_object_set_object_member (mb->header, name, e);
  g_byte_array_append (mb->data, zeros, size);
}

static JsonObject *
metadata (const ModelBytes *mb)
{
  return json_object_get_object_member (mb->header, "__metadata__");
}

/* Replaces the config member at a dotted path ("backbone.depths") with
 * json, or removes it when json is NULL. */
static void
edit_config (const ModelBytes *mb, const char *path, const char *json)
{
  const char *text
      = json_object_get_string_member (metadata (mb), "sanl.config");
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  g_autoptr (JsonNode) config = NULL;
  g_autofree char *new_text = NULL;
  GError *error = NULL;
  JsonObject *object;
  int i;

  config = json_from_string (text, &error);
  g_assert_no_error (error);
  object = json_node_get_object (config);
  for (i = 0; parts[i + 1] != NULL; i++)
    object = json_object_get_object_member (object, parts[i]);

  if (json == NULL) {
    json_object_remove_member (object, parts[i]);
  } else {
    json_object_set_member (object, parts[i], json_from_string (json, &error));
    g_assert_no_error (error);
  }

  new_text = json_to_string (config, FALSE);
  json_object_set_string_member (metadata (mb), "sanl.config", new_text);
}

/* ---------------------------------------------------------------------- */
/* Expectations                                                            */

/* Loading path fails with code, and the message names path and what. */
static void
assert_load_fails (const char *path, int code, const char *what)
{
  GError *error = NULL;
  SanlModel *model = sanl_model_load (path, &error);

  g_assert_null (model);
  g_assert_error (error, SANL_ERROR, code);
  if (g_test_verbose ())
    g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  if (what != NULL && strstr (error->message, what) == NULL)
    g_error ("message \"%s\" does not name '%s'", error->message, what);
  g_error_free (error);
}

static SanlModel *
load_ok (const char *path)
{
  GError *error = NULL;
  SanlModel *model = sanl_model_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (model);
  return model;
}

/* ---------------------------------------------------------------------- */
/* A valid model                                                           */

static void
test_valid_model_loads (void)
{
  SanlModel *model = load_ok (valid_path);

  g_assert_cmpstr (sanl_model_get_path (model), ==, valid_path);
  g_assert_cmpstr (sanl_model_get_name (model), ==, "tiny");
  g_assert_cmpint (sanl_model_get_input_size (model), ==, 96);
  g_assert_cmpint (sanl_model_get_n_landmarks (model), ==, 8);
  g_assert_cmpstr (sanl_model_get_landmark_name (model, 0), ==, "left_collar");
  g_assert_cmpstr (sanl_model_get_landmark_name (model, 7), ==, "right_hem");
  g_assert_cmpint (sanl_model_get_n_classes (model), ==, 10);
  g_assert_cmpstr (sanl_model_get_class_name (model, 9), ==, "t-shirt");
  sanl_model_unref (model);
}

/* The numbers of make_config ("tiny") in sanl/torch/model.py. */
static void
test_config_fields (void)
{
  SanlModel *model = load_ok (valid_path);
  const SanlConfig *c = &model->config;
  const int backbone_channels[4] = { 20, 40, 80, 160 };
  const int classifier_channels[4] = { 6, 12, 24, 48 };

  g_assert_false (c->classifier.bottleneck);
  g_assert_true (c->backbone.bottleneck);
  g_assert_cmpint (c->backbone.depths[1], ==, 2);
  g_assert_cmpint (c->backbone.width, ==, 5);
  for (int l = 0; l < 4; l++) {
    g_assert_cmpint (c->backbone.channels[l], ==, backbone_channels[l]);
    g_assert_cmpint (c->classifier.channels[l], ==, classifier_channels[l]);
  }
  g_assert_cmpint (c->fpn_channels, ==, 12);
  g_assert_cmpint (c->head_channels, ==, 10);
  g_assert_cmpfloat (c->mean[0], ==, 0.485f);
  g_assert_cmpfloat (c->std[2], ==, 0.225f);
  g_assert_cmpfloat (c->sigma_coarse, ==, 3.0f);
  g_assert_cmpfloat (c->sigma_fine, ==, 1.0f);
  sanl_model_unref (model);
}

/* Geometry of the layers as the twin builds them. */
static void
test_layer_geometry (void)
{
  SanlModel *model = load_ok (valid_path);
  const SanlConv *stem = &model->backbone.stem;
  const SanlBlock *b20 = &model->backbone.blocks[1][0];
  const SanlBlock *b21 = &model->backbone.blocks[1][1];
  const SanlBlock *c10 = &model->classifier.blocks[0][0];

  g_assert_cmpint (stem->cin, ==, 3);
  g_assert_cmpint (stem->cout, ==, 5);
  g_assert_cmpint (stem->kernel, ==, 7);
  g_assert_cmpint (stem->stride, ==, 2);
  g_assert_cmpint (stem->pad, ==, 3);

  /* Bottleneck stride sits on the 3x3; the projection strides too. */
  g_assert_cmpint (b20->conv1.stride, ==, 1);
  g_assert_cmpint (b20->conv2.stride, ==, 2);
  g_assert_cmpint (b20->conv2.pad, ==, 1);
  g_assert_cmpint (b20->conv3.cout, ==, 40);
  g_assert_true (b20->has_down);
  g_assert_cmpint (b20->down.stride, ==, 2);
  g_assert_cmpint (b20->down.cin, ==, 20);
  g_assert_false (b21->has_down);

  /* Classifier stage 1 keeps its width: no projection. */
  g_assert_false (c10->has_down);
  g_assert_false (c10->bottleneck);
  g_assert_cmpint (c10->conv1.kernel, ==, 3);

  g_assert_cmpint (model->nonlocal[3].channels, ==, 160);
  g_assert_cmpint (model->nonlocal[3].inner, ==, 80);
  g_assert_cmpint (model->pyramid.lateral[3].cin, ==, 160);
  g_assert_cmpint (model->pyramid.smooth5.kernel, ==, 3);
  g_assert_cmpint (model->fine.conv1.cin, ==, 20);
  g_assert_cmpint (model->fine.out.cout, ==, 8);
  g_assert_cmpint (model->fc.cin, ==, 48);
  g_assert_cmpint (model->fc.cout, ==, 10);
  g_assert_cmpint (model->visibility.cin, ==, 12);
  sanl_model_unref (model);
}

static void
test_ref_unref (void)
{
  SanlModel *model = load_ok (valid_path);

  g_assert_true (sanl_model_ref (model) == model);
  g_assert_cmpint (model->ref_count, ==, 2);
  sanl_model_unref (model);
  g_assert_cmpint (model->ref_count, ==, 1);
  g_assert_cmpstr (sanl_model_get_name (model), ==, "tiny");
  sanl_model_unref (model);
}

/* Expected counts from forward hooks on the twin's Conv2d and Linear
 * modules (output elements x cin x k x k; in x out), plus 2 x HW x P x C'
 * per SANL block, plus with Grad-CAM the classifier's layer2..layer4
 * convolutions a second time for the backward pass. */
static void
test_macs (void)
{
  SanlModel *model = load_ok (valid_path);

  g_assert_cmpfloat (
      sanl_model_get_macs (model, SANL_ATTENTION_NONE), ==, 10992336.0);
  g_assert_cmpfloat (
      sanl_model_get_macs (model, SANL_ATTENTION_GRADCAM), ==, 15140016.0);
  sanl_model_unref (model);
}

/* ---------------------------------------------------------------------- */
/* Weights                                                                 */

static const float *
raw_tensor (SanlSafetensors *st, const char *name, GPtrArray *keep)
{
  const SanlSafetensor *t = sanl_safetensors_find (st, name);
  float *data;

  g_assert_nonnull (t);
  data = sanl_safetensor_to_float (t);
  g_ptr_array_add (keep, data);
  return data;
}

/* One conv's folded weight and bias, recomputed in double from the raw
 * tensors with NETWORK.md's formulas. */
static void
check_folded (SanlSafetensors *st, const SanlConv *conv, const char *name,
    const char *bn, const char *bias_name)
{
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *w_name = g_strconcat (name, ".weight", NULL);
  g_autofree char *g_name = g_strconcat (bn, ".weight", NULL);
  g_autofree char *b_name = g_strconcat (bn, ".bias", NULL);
  g_autofree char *m_name = g_strconcat (bn, ".running_mean", NULL);
  g_autofree char *v_name = g_strconcat (bn, ".running_var", NULL);
  const float *w = raw_tensor (st, w_name, keep);
  const float *gamma = raw_tensor (st, g_name, keep);
  const float *beta = raw_tensor (st, b_name, keep);
  const float *mean = raw_tensor (st, m_name, keep);
  const float *var = raw_tensor (st, v_name, keep);
  const float *b = bias_name ? raw_tensor (st, bias_name, keep) : NULL;
  int per_out = conv->cin * conv->kernel * conv->kernel;

  for (int o = 0; o < conv->cout; o++) {
    double s = gamma[o] / sqrt ((double) var[o] + 1e-5);
    double bias = ((b ? b[o] : 0.0) - mean[o]) * s + beta[o];

    /* Statistics of the fixture are far from the identity. */
    g_assert_cmpfloat (fabs (var[o] - 1.0) + fabs (mean[o]), >, 1e-3);
    g_assert_cmpfloat_with_epsilon (
        conv->bias[o], bias, 1e-6 * fabs (bias) + 1e-7);
    for (int i = 0; i < per_out; i++) {
      double want = w[o * per_out + i] * s;

      g_assert_cmpfloat_with_epsilon (
          conv->weight[o * per_out + i], want, 1e-6 * fabs (want) + 1e-7);
    }
  }
}

static void
test_batch_norm_folding (void)
{
  SanlModel *model = load_ok (valid_path);
  GError *error = NULL;
  SanlSafetensors *st = sanl_safetensors_open (valid_path, &error);

  g_assert_no_error (error);
  check_folded (st, &model->backbone.blocks[1][0].conv2,
      "backbone.layer2.0.conv2", "backbone.layer2.0.bn2", NULL);
  check_folded (st, &model->backbone.blocks[1][0].down,
      "backbone.layer2.0.downsample.0", "backbone.layer2.0.downsample.1", NULL);
  check_folded (st, &model->nonlocal[2].out, "sanl.2.out", "sanl.2.bn", NULL);
  check_folded (
      st, &model->classifier.stem, "classifier.conv1", "classifier.bn1", NULL);
  sanl_safetensors_free (st);
  sanl_model_unref (model);
}

/* Convolutions without BatchNorm keep their weights and biases bit for
 * bit; a missing bias is zeros. */
static void
test_unfolded_layers (void)
{
  SanlModel *model = load_ok (valid_path);
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  GError *error = NULL;
  SanlSafetensors *st = sanl_safetensors_open (valid_path, &error);
  const SanlConv *theta = &model->nonlocal[1].theta;
  const float *w = raw_tensor (st, "sanl.1.theta.weight", keep);
  const float *b = raw_tensor (st, "sanl.1.theta.bias", keep);
  const float *vw = raw_tensor (st, "visibility.weight", keep);

  g_assert_no_error (error);
  g_assert_cmpmem (
      theta->weight, 20 * 40 * sizeof (float), w, 20 * 40 * sizeof (float));
  g_assert_cmpmem (theta->bias, 20 * sizeof (float), b, 20 * sizeof (float));
  g_assert_cmpmem (model->visibility.weight, 8 * 12 * sizeof (float), vw,
      8 * 12 * sizeof (float));
  sanl_safetensors_free (st);
  sanl_model_unref (model);
}

static void
collect_conv (GPtrArray *convs, SanlConv *conv)
{
  g_ptr_array_add (convs, conv);
}

static void
collect_resnet (GPtrArray *convs, SanlResNet *net)
{
  collect_conv (convs, &net->stem);
  for (int l = 0; l < 4; l++) {
    for (int j = 0; j < net->spec.depths[l]; j++) {
      SanlBlock *b = &net->blocks[l][j];

      collect_conv (convs, &b->conv1);
      collect_conv (convs, &b->conv2);
      if (b->bottleneck)
        collect_conv (convs, &b->conv3);
      if (b->has_down)
        collect_conv (convs, &b->down);
    }
  }
}

/* Every convolution of a model, in a fixed order. */
static GPtrArray *
all_convs (SanlModel *m)
{
  GPtrArray *convs = g_ptr_array_new ();

  collect_resnet (convs, &m->classifier);
  collect_resnet (convs, &m->backbone);
  for (int l = 0; l < 4; l++) {
    collect_conv (convs, &m->nonlocal[l].theta);
    collect_conv (convs, &m->nonlocal[l].phi);
    collect_conv (convs, &m->nonlocal[l].g);
    collect_conv (convs, &m->nonlocal[l].out);
    collect_conv (convs, &m->pyramid.lateral[l]);
  }
  collect_conv (convs, &m->pyramid.smooth2);
  collect_conv (convs, &m->pyramid.smooth5);
  collect_conv (convs, &m->coarse.conv1);
  collect_conv (convs, &m->coarse.conv2);
  collect_conv (convs, &m->coarse.out);
  collect_conv (convs, &m->fine.conv1);
  collect_conv (convs, &m->fine.conv2);
  collect_conv (convs, &m->fine.out);
  return convs;
}

/* Largest error of one buffer against the reference, relative to
 * max (|ref|, floor). */
static double
max_relative_error (const float *a, const float *ref, gsize n, double floor)
{
  double worst = 0.0;

  for (gsize i = 0; i < n; i++)
    worst = MAX (worst, fabs (a[i] - ref[i]) / MAX (fabs (ref[i]), floor));
  return worst;
}

/* A narrow export equals the F32 one within its rounding: unit roundoff u
 * on w, gamma and var gives at most 2.5 u on a folded weight; biases
 * (b - mean) s + beta with |b|, |mean| <= 0.2, s <= 2.2 and |beta| <= 0.2
 * (export.py's ranges) are within 8 u absolute. */
static void
check_narrow_export (const char *name, double u)
{
  g_autofree char *path = fixture_path (name);
  SanlModel *narrow = load_ok (path);
  SanlModel *wide = load_ok (valid_path);
  g_autoptr (GPtrArray) a = all_convs (narrow);
  g_autoptr (GPtrArray) b = all_convs (wide);
  double worst_w = 0.0, worst_b = 0.0;

  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++) {
    const SanlConv *ca = a->pdata[i], *cb = b->pdata[i];
    gsize n = (gsize) cb->cout * cb->cin * cb->kernel * cb->kernel;

    /* Below 1e-4 F16 is subnormal: absolute spacing 2^-24, times s. */
    worst_w
        = MAX (worst_w, max_relative_error (ca->weight, cb->weight, n, 1e-4));
    worst_b
        = MAX (worst_b, max_relative_error (ca->bias, cb->bias, cb->cout, 1.0));
  }
  worst_w = MAX (worst_w,
      max_relative_error (narrow->fc.weight, wide->fc.weight, 10 * 48, 1e-4));

  g_test_message ("%s: worst weight error %.3g u, bias %.3g u", name,
      worst_w / u, worst_b / u);
  g_assert_cmpfloat (worst_w, <=, 2.5 * u * 1.01);
  g_assert_cmpfloat (worst_b, <=, 8 * u);
  /* The narrow file really is narrower. */
  g_assert_cmpfloat (worst_w, >, u / 4);
  sanl_model_unref (narrow);
  sanl_model_unref (wide);
}

static void
test_f16_export (void)
{
  check_narrow_export ("tiny-seed1-f16.safetensors", ldexp (1.0, -11));
}

static void
test_bf16_export (void)
{
  check_narrow_export ("tiny-seed1-bf16.safetensors", ldexp (1.0, -8));
}

/* Bit patterns with values from the IEEE 754 definitions. */
static void
test_f16_widening (void)
{
  const guint16 bits[] = { 0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00,
    0xc000, 0x7bff, 0x3555, 0x8001 };
  const float want[] = { 0.0f, -0.0f, 0x1p-24f, 0x3ffp-24f, 0x1p-14f, 1.0f,
    -2.0f, 65504.0f, 0x1554p-14f, -0x1p-24f };
  const guint16 special[] = { 0x7c00, 0xfc00, 0x7e00, 0xfe01 };
  guint8 bytes[2 * G_N_ELEMENTS (bits) + 1];
  float out[G_N_ELEMENTS (bits)];
  float s[4];

  /* Little-endian, one byte off alignment. */
  for (guint i = 0; i < G_N_ELEMENTS (bits); i++) {
    bytes[1 + 2 * i] = bits[i] & 0xff;
    bytes[2 + 2 * i] = bits[i] >> 8;
  }
  sanl_dtype_to_float (SANL_DTYPE_F16, bytes + 1, G_N_ELEMENTS (bits), out);
  for (guint i = 0; i < G_N_ELEMENTS (bits); i++) {
    g_assert_cmpfloat (out[i], ==, want[i]);
    g_assert_cmpint (signbit (out[i]) != 0, ==, signbit (want[i]) != 0);
  }

  for (guint i = 0; i < 4; i++) {
    bytes[2 * i] = special[i] & 0xff;
    bytes[2 * i + 1] = special[i] >> 8;
  }
  sanl_dtype_to_float (SANL_DTYPE_F16, bytes, 4, s);
  g_assert_true (isinf (s[0]) && s[0] > 0);
  g_assert_true (isinf (s[1]) && s[1] < 0);
  g_assert_true (isnan (s[2]));
  g_assert_true (isnan (s[3]));
}

static void
test_bf16_widening (void)
{
  const guint16 bits[] = { 0x3f80, 0xc040, 0x0001, 0x4049, 0x8000, 0x7f7f };
  const float want[]
      = { 1.0f, -3.0f, 0x1p-133f, 3.140625f, -0.0f, 0x1.fep127f };
  const guint16 special[] = { 0x7f80, 0xff80, 0x7fc0 };
  guint8 bytes[2 * G_N_ELEMENTS (bits)];
  float out[G_N_ELEMENTS (bits)];
  float s[3];

  for (guint i = 0; i < G_N_ELEMENTS (bits); i++) {
    bytes[2 * i] = bits[i] & 0xff;
    bytes[2 * i + 1] = bits[i] >> 8;
  }
  sanl_dtype_to_float (SANL_DTYPE_BF16, bytes, G_N_ELEMENTS (bits), out);
  for (guint i = 0; i < G_N_ELEMENTS (bits); i++) {
    g_assert_cmpfloat (out[i], ==, want[i]);
    g_assert_cmpint (signbit (out[i]) != 0, ==, signbit (want[i]) != 0);
  }

  for (guint i = 0; i < 3; i++) {
    bytes[2 * i] = special[i] & 0xff;
    bytes[2 * i + 1] = special[i] >> 8;
  }
  sanl_dtype_to_float (SANL_DTYPE_BF16, bytes, 3, s);
  g_assert_true (isinf (s[0]) && s[0] > 0);
  g_assert_true (isinf (s[1]) && s[1] < 0);
  g_assert_true (isnan (s[2]));
}

static void
test_f32_unaligned (void)
{
  /* 1.5f = 0x3fc00000 and -0.25f = 0xbe800000, little-endian. */
  const guint8 bytes[]
      = { 0xaa, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x80, 0xbe };
  float out[2];

  sanl_dtype_to_float (SANL_DTYPE_F32, bytes + 1, 2, out);
  g_assert_cmpfloat (out[0], ==, 1.5f);
  g_assert_cmpfloat (out[1], ==, -0.25f);
}

/* ---------------------------------------------------------------------- */
/* Files that cannot be read                                               */

static void
test_missing_file (void)
{
  g_autofree char *path
      = g_build_filename (tmp_dir, "absent.safetensors", NULL);

  assert_load_fails (path, SANL_ERROR_IO, NULL);
}

static void
test_directory (void)
{
  g_autofree char *path
      = g_build_filename (tmp_dir, "folder.safetensors", NULL);

  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  assert_load_fails (path, SANL_ERROR_IO, NULL);
}

/* ---------------------------------------------------------------------- */
/* Broken framing                                                          */

static void
test_truncated (void)
{
  g_autofree char *contents = NULL;
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  const char *last = nth_from_end (mb, 0);
  GError *error = NULL;
  gsize size;
  guint64 n;
  const struct
  {
    gsize keep; /* 0 means size - 1 */
    const char *what;
  } cuts[] = {
    { 1, "8-byte" },
    { 4, "8-byte" },
    { 7, "8-byte" },
    { 8, "header length" },
    { 100, "header length" },
    { 0, NULL },
  };

  g_assert_true (g_file_get_contents (valid_path, &contents, &size, &error));
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);

  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++) {
    gsize keep = cuts[i].keep ? cuts[i].keep : size - 1;
    g_autofree char *name = g_strdup_printf ("cut-%" G_GSIZE_FORMAT, keep);
    g_autofree char *path = g_build_filename (tmp_dir, name, NULL);

    g_file_set_contents (path, contents, keep, &error);
    g_assert_no_error (error);
    assert_load_fails (
        path, SANL_ERROR_FORMAT, cuts[i].what ? cuts[i].what : last);
  }

  /* An empty file, and the header alone: every tensor is past the end. */
  {
    g_autofree char *empty = g_build_filename (tmp_dir, "empty", NULL);
    g_autofree char *header = g_build_filename (tmp_dir, "header-only", NULL);

    g_file_set_contents (empty, "", 0, &error);
    assert_load_fails (empty, SANL_ERROR_FORMAT, "8-byte");
    g_file_set_contents (header, contents, 8 + n, &error);
    assert_load_fails (header, SANL_ERROR_FORMAT, "classifier.conv1.weight");
  }
}

static void
test_header_length_past_end (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *text = json_to_string (mb->root, FALSE);
  g_autofree char *path = NULL;
  g_autofree char *huge = NULL;

  path = write_raw ("length-past-end", strlen (text) + mb->data->len + 1, text,
      strlen (text), mb->data->data, mb->data->len);
  assert_load_fails (path, SANL_ERROR_FORMAT, "past the end");
  huge = write_raw ("length-huge", G_GUINT64_CONSTANT (1) << 62, text,
      strlen (text), mb->data->data, mb->data->len);
  assert_load_fails (huge, SANL_ERROR_FORMAT, "header length");
}

static void
test_header_length_zero (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path
      = write_raw ("length-zero", 0, "", 0, mb->data->data, mb->data->len);

  assert_load_fails (path, SANL_ERROR_FORMAT, "header length 0");
}

/* A sparse file big enough to hold a header longer than the limit. */
static void
test_header_length_absurd (void)
{
  guint64 n = GUINT64_TO_LE (SANL_SAFETENSORS_MAX_HEADER + 8);
  g_autofree char *path = g_build_filename (tmp_dir, "absurd", NULL);
  FILE *f = fopen (path, "wb");

  g_assert_nonnull (f);
  g_assert_cmpint (fwrite (&n, 8, 1, f), ==, 1);
  g_assert_cmpint (
      ftruncate (fileno (f), SANL_SAFETENSORS_MAX_HEADER + 64), ==, 0);
  fclose (f);
  assert_load_fails (path, SANL_ERROR_FORMAT, "out of range");
}

static void
test_bad_json (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *truncated
      = write_header_text ("bad-json", "{\"a\": {\"dtype\": ", mb->data);
  g_autofree char *array = write_header_text ("json-array", "[1, 2]", mb->data);
  g_autofree char *latin1
      = write_header_text ("json-latin1", "{\"caf\xe9\": 1}", mb->data);

  assert_load_fails (truncated, SANL_ERROR_FORMAT, "not valid JSON");
  assert_load_fails (array, SANL_ERROR_FORMAT, "not a JSON object");
  assert_load_fails (latin1, SANL_ERROR_FORMAT, "not valid JSON");
}

/* ---------------------------------------------------------------------- */
/* Broken tensor table                                                     */

static void
test_overlapping_offsets (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  const char *last = nth_from_end (mb, 0);
  const char *before = nth_from_end (mb, 1);
  g_autofree char *path = NULL;

  set_offsets (
      mb, last, offset_of (mb, last, 0) - 4, offset_of (mb, last, 1) - 4);
  g_byte_array_set_size (mb->data, mb->data->len - 4);
  path = write_model ("overlap", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, last);
  assert_load_fails (path, SANL_ERROR_FORMAT, before);
}

static void
test_gap_in_offsets (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  const char *last = nth_from_end (mb, 0);
  g_autofree char *path = NULL;
  const guint8 pad[4] = { 0 };

  set_offsets (
      mb, last, offset_of (mb, last, 0) + 4, offset_of (mb, last, 1) + 4);
  g_byte_array_append (mb->data, pad, 4);
  path = write_model ("gap", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, last);
}

static void
test_trailing_bytes (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;
  const guint8 pad[4] = { 0 };

  g_byte_array_append (mb->data, pad, 4);
  path = write_model ("trailing", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, nth_from_end (mb, 0));
}

static void
test_offsets_past_end (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  gint64 size = offset_of (mb, SOME_TENSOR, 1) - offset_of (mb, SOME_TENSOR, 0);
  g_autofree char *path = NULL;

  set_offsets (mb, SOME_TENSOR, mb->data->len, mb->data->len + size);
  path = write_model ("past-end", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, SOME_TENSOR);
}

static void
test_offsets_reversed (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  set_offsets (mb, SOME_TENSOR, offset_of (mb, SOME_TENSOR, 1),
      offset_of (mb, SOME_TENSOR, 0));
  path = write_model ("reversed", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, SOME_TENSOR);
}

/* Each edit of one tensor's entry breaks a rule of the format. */
typedef struct
{
  const char *test;
  const char *field;
  const char *json; /* NULL removes the field */
} EntryEdit;

static const EntryEdit entry_edits[] = {
  { "dtype-f64", "dtype", "\"F64\"" },
  { "dtype-unknown", "dtype", "\"Q4\"" },
  { "dtype-number", "dtype", "1" },
  { "dtype-missing", "dtype", NULL },
  { "dtype-f16-size", "dtype", "\"F16\"" },
  { "dtype-i64", "dtype", "\"I64\"" },
  { "shape-missing", "shape", NULL },
  { "shape-5-dims", "shape", "[1, 20, 10, 3, 3]" },
  { "shape-negative", "shape", "[-20, -10, 3, 3]" },
  { "shape-float", "shape", "[20.0, 10, 3, 3]" },
  { "shape-size", "shape", "[20, 10, 3, 2]" },
  { "offsets-missing", "data_offsets", NULL },
  { "offsets-three", "data_offsets", "[0, 4, 8]" },
  { "offsets-string", "data_offsets", "\"0-4\"" },
  { "unknown-field", "dtypes", "\"F32\"" },
};

static void
test_entry_edit (gconstpointer data)
{
  const EntryEdit *edit = data;
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  set_field (mb, SOME_TENSOR, edit->field, edit->json);
  path = write_model (edit->test, mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, SOME_TENSOR);
}

static void
test_entry_not_object (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  json_object_set_int_member (mb->header, "classifier.fc.weight", 3);
  path = write_model ("entry-not-object", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, "classifier.fc.weight");
}

/* json-glib keeps the last of duplicate members: the copy here points at
 * the same bytes, so only counting members can tell. */
static void
test_duplicate_tensor (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *text = json_to_string (mb->root, FALSE);
  g_autoptr (JsonNode) node
      = json_node_init_object (json_node_alloc (), entry (mb, SOME_TENSOR));
  g_autofree char *copy = json_to_string (node, FALSE);
  g_autofree char *header = NULL;
  g_autofree char *path = NULL;

  g_assert_cmpint (text[strlen (text) - 1], ==, '}');
  text[strlen (text) - 1] = '\0';
  header = g_strdup_printf ("%s,\"%s\":%s}", text, SOME_TENSOR, copy);
  path = write_header_text ("duplicate", header, mb->data);
  assert_load_fails (path, SANL_ERROR_FORMAT, SOME_TENSOR);
}

/* The same name spelled with a JSON escape is still a duplicate. */
static void
test_duplicate_escaped (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *text = json_to_string (mb->root, FALSE);
  g_autoptr (JsonNode) node = json_node_init_object (
      json_node_alloc (), entry (mb, "visibility.bias"));
  g_autofree char *copy = json_to_string (node, FALSE);
  g_autofree char *header = NULL;
  g_autofree char *path = NULL;

  text[strlen (text) - 1] = '\0';
  header = g_strdup_printf ("%s,\"visibility\\u002ebias\":%s}", text, copy);
  path = write_header_text ("duplicate-escaped", header, mb->data);
  assert_load_fails (path, SANL_ERROR_FORMAT, "visibility.bias");
}

static void
test_duplicate_field (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *text = json_to_string (mb->root, FALSE);
  g_autofree char *needle = g_strdup_printf ("\"%s\":{", SOME_TENSOR);
  char *at = strstr (text, needle);
  g_autofree char *header = NULL;
  g_autofree char *path = NULL;

  g_assert_nonnull (at);
  at += strlen (needle);
  header = g_strdup_printf (
      "%.*s\"dtype\":\"F16\",%s", (int) (at - text), text, at);
  path = write_header_text ("duplicate-field", header, mb->data);
  assert_load_fails (path, SANL_ERROR_FORMAT, SOME_TENSOR);
}

/* ---------------------------------------------------------------------- */
/* Metadata                                                                */

static void
test_metadata_not_string (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  json_object_set_int_member (metadata (mb), "sanl.origin", 7);
  path = write_model ("metadata-int", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, "sanl.origin");
}

static void
test_missing_format (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  json_object_remove_member (metadata (mb), "sanl.format");
  path = write_model ("no-format", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, "sanl.format");
}

static void
test_missing_metadata (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  json_object_remove_member (mb->header, "__metadata__");
  path = write_model ("no-metadata", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, "sanl.format");
}

static void
test_wrong_format_version (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  json_object_set_string_member (metadata (mb), "sanl.format", "2");
  path = write_model ("format-2", mb);
  assert_load_fails (path, SANL_ERROR_FORMAT, "sanl.format");
}

static void
test_missing_config (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  json_object_remove_member (metadata (mb), "sanl.config");
  path = write_model ("no-config", mb);
  assert_load_fails (path, SANL_ERROR_CONFIG, "sanl.config");
}

static void
test_config_not_json (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *bad = NULL;
  g_autofree char *array = NULL;

  json_object_set_string_member (metadata (mb), "sanl.config", "{\"name\":");
  bad = write_model ("config-bad-json", mb);
  assert_load_fails (bad, SANL_ERROR_CONFIG, "sanl.config");
  json_object_set_string_member (metadata (mb), "sanl.config", "[96]");
  array = write_model ("config-array", mb);
  assert_load_fails (array, SANL_ERROR_CONFIG, "sanl.config");
}

/* ---------------------------------------------------------------------- */
/* Config fields                                                           */

typedef struct
{
  const char *test;
  const char *field; /* dotted path in the config */
  const char *json;  /* NULL removes it */
} ConfigEdit;

static const ConfigEdit config_edits[] = {
  { "name-empty", "name", "\"\"" },
  { "name-missing", "name", NULL },
  { "name-number", "name", "7" },
  { "input_size-100", "input_size", "100" },
  { "input_size-32", "input_size", "32" },
  { "input_size-huge", "input_size", "1048576" },
  { "input_size-string", "input_size", "\"96\"" },
  { "input_size-float", "input_size", "96.0" },
  { "input_size-missing", "input_size", NULL },
  { "mean-two", "mean", "[0.5, 0.5]" },
  { "mean-string", "mean", "[0.5, \"a\", 0.5]" },
  { "std-zero", "std", "[0.2, 0, 0.2]" },
  { "std-negative", "std", "[0.2, -1, 0.2]" },
  { "std-missing", "std", NULL },
  { "landmarks-empty", "landmarks", "[]" },
  { "landmarks-number", "landmarks", "[\"a\", 3]" },
  { "landmarks-33", "landmarks",
      "[\"p\",\"p\",\"p\",\"p\",\"p\",\"p\","
      "\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\","
      "\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\",\"p\","
      "\"p\",\"p\",\"p\",\"p\",\"p\"]" },
  { "classes-string", "classes", "\"dress\"" },
  { "classes-empty-name", "classes", "[\"dress\", \"\"]" },
  { "classes-twice", "classes", "[\"dress\", \"hat\", \"dress\"]" },
  { "landmarks-twice", "landmarks", "[\"hem\", \"hem\"]" },
  { "attention_classes-string", "attention_classes", "\"dress\"" },
  { "attention_classes-empty", "attention_classes", "[]" },
  { "attention_classes-unknown", "attention_classes", "[\"dress\", \"hats\"]" },
  { "attention_classes-twice", "attention_classes",
      "[\"dress\", \"skirt\", \"dress\"]" },
  { "attention_classes-number", "attention_classes", "[1]" },
  { "classifier-array", "classifier", "[]" },
  { "backbone-missing", "backbone", NULL },
  { "backbone.block-wide", "backbone.block", "\"wide\"" },
  { "backbone.depths-three", "backbone.depths", "[1, 2, 1]" },
  { "backbone.depths-zero", "backbone.depths", "[1, 0, 1, 1]" },
  { "backbone.depths-huge", "backbone.depths", "[1, 2, 1, 100000]" },
  { "classifier.width-zero", "classifier.width", "0" },
  { "classifier.width-missing", "classifier.width", NULL },
  { "fpn_channels-negative", "fpn_channels", "-1" },
  { "head_channels-missing", "head_channels", NULL },
  { "sigma_coarse-zero", "sigma_coarse", "0" },
  { "sigma_fine-string", "sigma_fine", "\"1\"" },
};

static void
test_config_edit (gconstpointer data)
{
  const ConfigEdit *edit = data;
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *quoted = g_strdup_printf ("'%s'", edit->field);
  g_autofree char *path = NULL;

  edit_config (mb, edit->field, edit->json);
  path = write_model (edit->test, mb);
  assert_load_fails (path, SANL_ERROR_CONFIG, quoted);
}

/* A valid config that describes another network than the tensors. */
static void
test_config_mismatch (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *wider = NULL;
  g_autofree char *fewer = NULL;

  edit_config (mb, "backbone.width", "6");
  wider = write_model ("config-wider", mb);
  assert_load_fails (wider, SANL_ERROR_TENSOR, "backbone.conv1.weight");

  edit_config (mb, "backbone.width", "5");
  edit_config (mb, "landmarks", "[\"a\", \"b\", \"c\"]");
  fewer = write_model ("config-3-landmarks", mb);
  assert_load_fails (fewer, SANL_ERROR_TENSOR, "coarse.out.weight");
}

static void
test_config_deeper (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  edit_config (mb, "backbone.depths", "[1, 3, 1, 1]");
  path = write_model ("config-deeper", mb);
  assert_load_fails (path, SANL_ERROR_TENSOR, "backbone.layer2.2.conv1.weight");
}

/* ---------------------------------------------------------------------- */
/* Tensors against the network                                             */

static void
test_missing_tensor (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  remove_tensor (mb, "fine.bn2.running_mean");
  path = write_model ("missing-tensor", mb);
  assert_load_fails (path, SANL_ERROR_TENSOR, "fine.bn2.running_mean");
}

static void
test_extra_tensor (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  append_tensor (mb, "fpn.smooth3.weight", "F32", "[2, 3]", 24);
  path = write_model ("extra-tensor", mb);
  assert_load_fails (path, SANL_ERROR_TENSOR, "fpn.smooth3.weight");
}

static void
test_wrong_shape (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  /* Same number of elements, so the format itself is fine. */
  set_field (mb, SOME_TENSOR, "shape", "[10, 10, 9, 1]");
  path = write_model ("wrong-shape", mb);
  assert_load_fails (path, SANL_ERROR_TENSOR, SOME_TENSOR);
}

static void
test_negative_variance (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  gint64 at = offset_of (mb, "coarse.bn1.running_var", 0);
  const float minus_one = -1.0f;
  g_autofree char *path = NULL;

  memcpy (mb->data->data + at + 4 * 3, &minus_one, 4);
  path = write_model ("negative-var", mb);
  assert_load_fails (path, SANL_ERROR_TENSOR, "coarse.bn1.running_var");
}

static void
test_non_finite_weight (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  gint64 at = offset_of (mb, "backbone.conv1.weight", 0);
  const float not_a_number = NAN;
  g_autofree char *path = NULL;

  memcpy (mb->data->data + at + 4 * 5, &not_a_number, 4);
  path = write_model ("nan-weight", mb);
  assert_load_fails (path, SANL_ERROR_TENSOR, "backbone.conv1.weight");
}

/* num_batches_tracked may be present, absent, or extra. */
static void
test_batch_counters_optional (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autoptr (GList) members = json_object_get_members (mb->header);
  g_autofree char *without = NULL;
  g_autofree char *extra = NULL;
  int removed = 0;

  for (GList *l = members; l; l = l->next) {
    if (g_str_has_suffix (l->data, ".num_batches_tracked")) {
      remove_tensor (mb, l->data);
      removed++;
    }
  }
  g_assert_cmpint (removed, ==, 40);
  without = write_model ("no-counters", mb);
  sanl_model_unref (load_ok (without));

  append_tensor (mb, "old.bn.num_batches_tracked", "I64", "[]", 8);
  extra = write_model ("extra-counter", mb);
  sanl_model_unref (load_ok (extra));
}

/* The edited file still loads when the edit is harmless: the editing
 * itself keeps files valid. */
static void
test_rewritten_file_loads (void)
{
  g_autoptr (ModelBytes) mb = model_bytes_read (valid_path);
  g_autofree char *path = NULL;

  edit_config (mb, "sigma_fine", "1.5");
  path = write_model ("rewritten", mb);
  sanl_model_unref (load_ok (path));
}

/* ---------------------------------------------------------------------- */

static void
remove_tree (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);

    if (g_file_test (path, G_FILE_TEST_IS_DIR))
      g_rmdir (path);
    else
      g_unlink (path);
  }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  GError *error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  valid_path = fixture_path ("tiny-seed1.safetensors");
  tmp_dir = g_dir_make_tmp ("test-model-file-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/model-file/valid/loads", test_valid_model_loads);
  g_test_add_func ("/model-file/tensor/non-finite", test_non_finite_weight);
  g_test_add_func ("/model-file/valid/config-fields", test_config_fields);
  g_test_add_func ("/model-file/valid/layer-geometry", test_layer_geometry);
  g_test_add_func ("/model-file/valid/ref-unref", test_ref_unref);
  g_test_add_func ("/model-file/valid/macs", test_macs);
  g_test_add_func ("/model-file/valid/rewritten", test_rewritten_file_loads);
  g_test_add_func ("/model-file/valid/batch-counters-optional",
      test_batch_counters_optional);
  g_test_add_func (
      "/model-file/weights/batch-norm-folding", test_batch_norm_folding);
  g_test_add_func ("/model-file/weights/unfolded", test_unfolded_layers);
  g_test_add_func ("/model-file/weights/f16-export", test_f16_export);
  g_test_add_func ("/model-file/weights/bf16-export", test_bf16_export);
  g_test_add_func ("/model-file/dtype/f16", test_f16_widening);
  g_test_add_func ("/model-file/dtype/bf16", test_bf16_widening);
  g_test_add_func ("/model-file/dtype/f32-unaligned", test_f32_unaligned);
  g_test_add_func ("/model-file/io/missing-file", test_missing_file);
  g_test_add_func ("/model-file/io/directory", test_directory);
  g_test_add_func ("/model-file/format/truncated", test_truncated);
  g_test_add_func (
      "/model-file/format/header-length-past-end", test_header_length_past_end);
  g_test_add_func (
      "/model-file/format/header-length-zero", test_header_length_zero);
  g_test_add_func (
      "/model-file/format/header-length-absurd", test_header_length_absurd);
  g_test_add_func ("/model-file/format/bad-json", test_bad_json);
  g_test_add_func ("/model-file/format/overlap", test_overlapping_offsets);
  g_test_add_func ("/model-file/format/gap", test_gap_in_offsets);
  g_test_add_func ("/model-file/format/trailing", test_trailing_bytes);
  g_test_add_func ("/model-file/format/past-end", test_offsets_past_end);
  g_test_add_func ("/model-file/format/reversed", test_offsets_reversed);
  g_test_add_func (
      "/model-file/format/entry-not-object", test_entry_not_object);
  g_test_add_func ("/model-file/format/duplicate", test_duplicate_tensor);
  g_test_add_func (
      "/model-file/format/duplicate-escaped", test_duplicate_escaped);
  g_test_add_func ("/model-file/format/duplicate-field", test_duplicate_field);
  g_test_add_func (
      "/model-file/format/metadata-not-string", test_metadata_not_string);
  g_test_add_func ("/model-file/format/missing-format", test_missing_format);
  g_test_add_func (
      "/model-file/format/missing-metadata", test_missing_metadata);
  g_test_add_func (
      "/model-file/format/format-version", test_wrong_format_version);
  for (guint i = 0; i < G_N_ELEMENTS (entry_edits); i++) {
    g_autofree char *name
        = g_strconcat ("/model-file/format/entry/", entry_edits[i].test, NULL);

    g_test_add_data_func (name, &entry_edits[i], test_entry_edit);
  }
  g_test_add_func ("/model-file/config/missing", test_missing_config);
  g_test_add_func ("/model-file/config/not-json", test_config_not_json);
  for (guint i = 0; i < G_N_ELEMENTS (config_edits); i++) {
    g_autofree char *name
        = g_strconcat ("/model-file/config/field/", config_edits[i].test, NULL);

    g_test_add_data_func (name, &config_edits[i], test_config_edit);
  }
  g_test_add_func ("/model-file/tensor/config-mismatch", test_config_mismatch);
  g_test_add_func ("/model-file/tensor/config-deeper", test_config_deeper);
  g_test_add_func ("/model-file/tensor/missing", test_missing_tensor);
  g_test_add_func ("/model-file/tensor/extra", test_extra_tensor);
  g_test_add_func ("/model-file/tensor/wrong-shape", test_wrong_shape);
  g_test_add_func (
      "/model-file/tensor/negative-variance", test_negative_variance);

  status = g_test_run ();
  remove_tree (tmp_dir);
  g_free (tmp_dir);
  g_free (valid_path);
  return status;
}
