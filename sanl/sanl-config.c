/* The architecture config stored as JSON under
 * __metadata__["sanl.config"] (see sanl/NETWORK.md and make_config in
 * sanl/torch/model.py). Every field is checked for type and range; the
 * first bad one fails with a SANL_ERROR_CONFIG naming the file and the
 * field. Fields this version does not know are ignored. */

#include "sanl-private.h"
#include "sanl-safetensors.h"

#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>

/* Sanity bounds: far beyond any real network, small enough that channel
 * counts and weight sizes cannot overflow an int. */
#define MAX_INPUT_SIZE 4096
#define MAX_DEPTH 256
#define MAX_WIDTH 1024
#define MAX_CHANNELS 4096
#define MAX_CLASSES 4096
#define MAX_SIGMA 1000.0

typedef struct
{
  const char *file;
  GError **error;
} Context;

static gboolean
fail (Context *ctx, const char *field, const char *reason)
{
  g_set_error (ctx->error, SANL_ERROR, SANL_ERROR_CONFIG,
      "%s: sanl.config: field '%s' %s", ctx->file, field, reason);
  return FALSE;
}

static gboolean
node_is_number (JsonNode *node)
{
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static gboolean
node_is_int (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
node_is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

/* ---------------------------------------------------------------------- */
/* Scalars                                                                 */

static gboolean
get_int (Context *ctx, JsonObject *object, const char *member,
    const char *field, int min, int max, int *out)
{
  JsonNode *node = json_object_get_member (object, member);
  gint64 value;
  g_autofree char *reason = NULL;

  reason = g_strdup_printf ("must be an integer from %d to %d", min, max);
  if (!node_is_int (node))
    return fail (ctx, field, reason);
  value = json_node_get_int (node);
  if (value < min || value > max)
    return fail (ctx, field, reason);
  *out = (int) value;
  return TRUE;
}

/* A finite number in (min, max] when open_min, else in [min, max]. */
static gboolean
number_in_range (
    JsonNode *node, double min, double max, gboolean open_min, float *out)
{
  double value;

  if (!node_is_number (node))
    return FALSE;
  value = json_node_get_value_type (node) == G_TYPE_INT64
              ? (double) json_node_get_int (node)
              : json_node_get_double (node);
  if (!isfinite (value) || value > max || value < min
      || (open_min && value == min))
    return FALSE;
  *out = (float) value;
  return TRUE;
}

static gboolean
get_sigma (Context *ctx, JsonObject *object, const char *member, float *out)
{
  if (!number_in_range (
          json_object_get_member (object, member), 0.0, MAX_SIGMA, TRUE, out))
    return fail (ctx, member, "must be a number above 0 and at most 1000");
  return TRUE;
}

static gboolean
get_name (Context *ctx, JsonObject *object, char **out)
{
  JsonNode *node = json_object_get_member (object, "name");

  if (!node_is_string (node) || json_node_get_string (node)[0] == '\0')
    return fail (ctx, "name", "must be a non-empty string");
  *out = g_strdup (json_node_get_string (node));
  return TRUE;
}

static gboolean
get_input_size (Context *ctx, JsonObject *object, int *out)
{
  if (!get_int (
          ctx, object, "input_size", "input_size", 64, MAX_INPUT_SIZE, out))
    return FALSE;
  if (*out % 32 != 0)
    return fail (ctx, "input_size", "must be a multiple of 32");
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Arrays                                                                  */

/* mean and std: three numbers, one per RGB channel. */
static gboolean
get_rgb (Context *ctx, JsonObject *object, const char *member,
    gboolean positive, float out[3])
{
  JsonNode *node = json_object_get_member (object, member);
  const char *reason = positive ? "must be 3 finite numbers above 0"
                                : "must be 3 finite numbers";
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return fail (ctx, member, reason);
  array = json_node_get_array (node);
  if (json_array_get_length (array) != 3)
    return fail (ctx, member, reason);

  for (int c = 0; c < 3; c++) {
    if (!number_in_range (json_array_get_element (array, c),
            positive ? 0.0 : -G_MAXFLOAT, G_MAXFLOAT, positive, &out[c]))
      return fail (ctx, member, reason);
  }
  return TRUE;
}

/* landmarks and classes: min..max distinct non-empty strings,
 * NULL-terminated. */
static gboolean
get_names (Context *ctx, JsonObject *object, const char *member, int max,
    char ***out, int *n_out)
{
  JsonNode *node = json_object_get_member (object, member);
  g_autofree char *reason = NULL;
  JsonArray *array;
  guint n;

  reason = g_strdup_printf (
      "must be a list of 1 to %d distinct non-empty strings", max);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return fail (ctx, member, reason);
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n < 1 || n > (guint) max)
    return fail (ctx, member, reason);

  for (guint i = 0; i < n; i++) {
    JsonNode *element = json_array_get_element (array, i);

    if (!node_is_string (element) || json_node_get_string (element)[0] == 0)
      return fail (ctx, member, reason);
    for (guint j = 0; j < i; j++)
      if (strcmp (json_array_get_string_element (array, j),
              json_node_get_string (element))
          == 0)
        return fail (ctx, member, reason);
  }

  *out = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    (*out)[i] = g_strdup (json_array_get_string_element (array, i));
  *n_out = n;
  return TRUE;
}

/* attention_classes, optional: the classes whose Grad-CAM may steer the
 * SANL blocks, each named once from classes. Absent, every class may. */
static gboolean
get_attention_classes (Context *ctx, JsonObject *object, SanlConfig *config)
{
  const char *member = "attention_classes";
  const char *reason = "must be a list of names from 'classes', each at "
                       "most once";
  JsonNode *node = json_object_get_member (object, member);
  JsonArray *array;
  guint n;

  config->attention_class = g_new (gboolean, config->n_classes);
  if (node == NULL) {
    for (int c = 0; c < config->n_classes; c++)
      config->attention_class[c] = TRUE;
    return TRUE;
  }

  for (int c = 0; c < config->n_classes; c++)
    config->attention_class[c] = FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return fail (ctx, member, reason);
  array = json_node_get_array (node);
  n = json_array_get_length (array);
  if (n < 1)
    return fail (ctx, member, reason);

  for (guint i = 0; i < n; i++) {
    JsonNode *element = json_array_get_element (array, i);
    g_autofree char *which = NULL;
    int c = config->n_classes;

    if (node_is_string (element))
      for (c = 0; c < config->n_classes; c++)
        if (strcmp (config->classes[c], json_node_get_string (element)) == 0)
          break;
    if (c == config->n_classes || config->attention_class[c]) {
      which = g_strdup_printf ("%s (entry %u is not)", reason, i);
      return fail (ctx, member, which);
    }
    config->attention_class[c] = TRUE;
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* ResNet specs                                                            */

static gboolean
get_block (
    Context *ctx, JsonObject *spec, const char *prefix, gboolean *bottleneck)
{
  JsonNode *node = json_object_get_member (spec, "block");
  g_autofree char *field = g_strconcat (prefix, ".block", NULL);
  const char *block;

  if (!node_is_string (node))
    return fail (ctx, field, "must be \"basic\" or \"bottleneck\"");
  block = json_node_get_string (node);
  if (strcmp (block, "basic") == 0)
    *bottleneck = FALSE;
  else if (strcmp (block, "bottleneck") == 0)
    *bottleneck = TRUE;
  else
    return fail (ctx, field, "must be \"basic\" or \"bottleneck\"");
  return TRUE;
}

static gboolean
get_depths (Context *ctx, JsonObject *spec, const char *prefix, int depths[4])
{
  JsonNode *node = json_object_get_member (spec, "depths");
  g_autofree char *field = g_strconcat (prefix, ".depths", NULL);
  g_autofree char *reason = NULL;
  JsonArray *array;

  reason = g_strdup_printf ("must be 4 integers from 1 to %d", MAX_DEPTH);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return fail (ctx, field, reason);
  array = json_node_get_array (node);
  if (json_array_get_length (array) != 4)
    return fail (ctx, field, reason);

  for (int l = 0; l < 4; l++) {
    JsonNode *element = json_array_get_element (array, l);

    if (!node_is_int (element) || json_node_get_int (element) < 1
        || json_node_get_int (element) > MAX_DEPTH)
      return fail (ctx, field, reason);
    depths[l] = json_node_get_int (element);
  }
  return TRUE;
}

static gboolean
get_resnet (
    Context *ctx, JsonObject *object, const char *member, SanlResNetSpec *spec)
{
  JsonNode *node = json_object_get_member (object, member);
  g_autofree char *width_field = g_strconcat (member, ".width", NULL);
  JsonObject *o;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return fail (ctx, member,
        "must be an object with block, depths and "
        "width");
  o = json_node_get_object (node);

  if (!get_block (ctx, o, member, &spec->bottleneck)
      || !get_depths (ctx, o, member, spec->depths)
      || !get_int (ctx, o, "width", width_field, 1, MAX_WIDTH, &spec->width))
    return FALSE;

  /* Stage l has width * 2^l bottleneck channels, expanded 4x. */
  for (int l = 0; l < 4; l++)
    spec->channels[l] = spec->width << l;
  if (spec->bottleneck) {
    for (int l = 0; l < 4; l++)
      spec->channels[l] *= 4;
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* The whole config                                                        */

static gboolean
parse_object (SanlConfig *config, JsonObject *o, Context *ctx)
{
  return get_name (ctx, o, &config->name)
         && get_input_size (ctx, o, &config->input_size)
         && get_rgb (ctx, o, "mean", FALSE, config->mean)
         && get_rgb (ctx, o, "std", TRUE, config->std)
         && get_names (ctx, o, "landmarks", SANL_MAX_LANDMARKS,
             &config->landmarks, &config->n_landmarks)
         && get_names (ctx, o, "classes", MAX_CLASSES, &config->classes,
             &config->n_classes)
         && get_attention_classes (ctx, o, config)
         && get_resnet (ctx, o, "classifier", &config->classifier)
         && get_resnet (ctx, o, "backbone", &config->backbone)
         && get_int (ctx, o, "fpn_channels", "fpn_channels", 1, MAX_CHANNELS,
             &config->fpn_channels)
         && get_int (ctx, o, "head_channels", "head_channels", 1, MAX_CHANNELS,
             &config->head_channels)
         && get_sigma (ctx, o, "sigma_coarse", &config->sigma_coarse)
         && get_sigma (ctx, o, "sigma_fine", &config->sigma_fine);
}

gboolean
sanl_config_parse (
    SanlConfig *config, const char *json, const char *file, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) json_error = NULL;
  Context ctx = { file, error };
  const char *bad_escape;
  JsonNode *root;

  memset (config, 0, sizeof *config);

  bad_escape = sanl_json_check_escapes (json, strlen (json));
  if (bad_escape != NULL) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_CONFIG,
        "%s: sanl.config holds %s in a string", file, bad_escape);
    return FALSE;
  }
  if (!json_parser_load_from_data (parser, json, -1, &json_error)) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_CONFIG,
        "%s: sanl.config is not valid JSON: %s", file, json_error->message);
    return FALSE;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_CONFIG,
        "%s: sanl.config is not a JSON object", file);
    return FALSE;
  }

  if (!parse_object (config, json_node_get_object (root), &ctx)) {
    sanl_config_clear (config);
    return FALSE;
  }
  return TRUE;
}

void
sanl_config_clear (SanlConfig *config)
{
  g_free (config->name);
  g_strfreev (config->landmarks);
  g_strfreev (config->classes);
  g_free (config->attention_class);
  memset (config, 0, sizeof *config);
}
