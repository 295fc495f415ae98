/* Reader of .safetensors files (see sanl-safetensors.h).
 *
 * Layout: [N: u64 little-endian][N bytes of JSON][data section]. The JSON
 * object maps each tensor name to {"dtype", "shape", "data_offsets"} with
 * offsets relative to the start of the data section, plus an optional
 * "__metadata__" map of strings. The data regions must tile the data
 * section: sorted by offset, each begins where the previous one ends, the
 * first at 0 and the last ending at the end of the file. */

#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "sanl"
#endif

#include "sanl-safetensors.h"
#include "sanl.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define METADATA_KEY "__metadata__"

/* A dimension larger than this is nonsense in any model file. */
#define MAX_DIM ((gint64) 1 << 40)

/* ---------------------------------------------------------------------- */
/* Dtypes                                                                  */

gsize
sanl_dtype_size (SanlDtype dtype)
{
  switch (dtype) {
    case SANL_DTYPE_F32:
      return 4;
    case SANL_DTYPE_F16:
    case SANL_DTYPE_BF16:
      return 2;
    case SANL_DTYPE_I64:
      return 8;
  }
  return 0;
}

const char *
sanl_dtype_name (SanlDtype dtype)
{
  switch (dtype) {
    case SANL_DTYPE_F32:
      return "F32";
    case SANL_DTYPE_F16:
      return "F16";
    case SANL_DTYPE_BF16:
      return "BF16";
    case SANL_DTYPE_I64:
      return "I64";
  }
  return "?";
}

static gboolean
dtype_from_name (const char *name, SanlDtype *dtype)
{
  static const SanlDtype all[]
      = { SANL_DTYPE_F32, SANL_DTYPE_F16, SANL_DTYPE_BF16, SANL_DTYPE_I64 };

  for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
    if (strcmp (name, sanl_dtype_name (all[i])) == 0) {
      *dtype = all[i];
      return TRUE;
    }
  }
  return FALSE;
}

static float
float_from_bits (guint32 bits)
{
  float f;

  memcpy (&f, &bits, sizeof f);
  return f;
}

/* IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h >> 15) << 31;
  guint32 exponent = (h >> 10) & 0x1f;
  guint32 mantissa = h & 0x3ff;
  float magnitude;

  /* Zero and subnormals: mantissa * 2^-24, exact in float32. */
  if (exponent == 0) {
    magnitude = (float) mantissa * (1.0f / 16777216.0f);
    return sign ? -magnitude : magnitude;
  }

  /* Infinity and NaN keep their payload in the top mantissa bits. */
  if (exponent == 0x1f)
    return float_from_bits (sign | 0x7f800000u | (mantissa << 13));

  /* Normal: rebias the exponent from 15 to 127. */
  return float_from_bits (sign | ((exponent + 112) << 23) | (mantissa << 13));
}

void
sanl_dtype_to_float (SanlDtype dtype, const guint8 *data, gsize n, float *out)
{
  gsize size = sanl_dtype_size (dtype);

  for (gsize i = 0; i < n; i++) {
    const guint8 *p = data + i * size;
    guint16 u16;
    guint32 u32;
    gint64 i64;

    switch (dtype) {
      case SANL_DTYPE_F32:
        memcpy (&u32, p, 4);
        out[i] = float_from_bits (GUINT32_FROM_LE (u32));
        break;
      case SANL_DTYPE_F16:
        memcpy (&u16, p, 2);
        out[i] = half_to_float (GUINT16_FROM_LE (u16));
        break;
      case SANL_DTYPE_BF16:
        /* bfloat16 is the top half of a float32. */
        memcpy (&u16, p, 2);
        out[i] = float_from_bits ((guint32) GUINT16_FROM_LE (u16) << 16);
        break;
      case SANL_DTYPE_I64:
        memcpy (&i64, p, 8);
        out[i] = (float) GINT64_FROM_LE (i64);
        break;
    }
  }
}

float *
sanl_safetensor_to_float (const SanlSafetensor *tensor)
{
  float *out = g_new (float, MAX (tensor->n_elements, 1));

  sanl_dtype_to_float (tensor->dtype, tensor->data, tensor->n_elements, out);
  return out;
}

/* ---------------------------------------------------------------------- */
/* Header parsing                                                          */

/* json-glib keeps only the last of duplicate members; count what the
 * parser saw per object to notice the others. */
typedef struct
{
  GHashTable *counts; /* JsonObject * -> members seen */
  JsonObject *object; /* first object with a duplicate, or NULL */
  char *member;
} DuplicateWatch;

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *member,
    gpointer user_data)
{
  DuplicateWatch *watch = user_data;
  guint seen;

  seen = GPOINTER_TO_UINT (g_hash_table_lookup (watch->counts, object)) + 1;
  g_hash_table_insert (watch->counts, object, GUINT_TO_POINTER (seen));
  if (seen > json_object_get_size (object) && watch->object == NULL) {
    watch->object = object;
    watch->member = g_strdup (member);
  }
}

static gboolean
is_int_node (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
is_string_node (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node)
         && json_node_get_value_type (node) == G_TYPE_STRING;
}

static void set_format_error (GError **error, const char *path,
    const char *tensor, const char *format, ...) G_GNUC_PRINTF (4, 5);

/* "<path>: tensor '<name>': <reason>", or without the tensor part. */
static void
set_format_error (GError **error, const char *path, const char *tensor,
    const char *format, ...)
{
  va_list args;
  char *reason;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  if (tensor)
    g_set_error (error, SANL_ERROR, SANL_ERROR_FORMAT, "%s: tensor '%s': %s",
        path, tensor, reason);
  else
    g_set_error (error, SANL_ERROR, SANL_ERROR_FORMAT, "%s: %s", path, reason);
  g_free (reason);
}

/* The member of root whose value is object, for naming a duplicate. */
static const char *
member_holding (JsonObject *root, JsonObject *object)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  json_object_iter_init_ordered (&iter, root);
  while (json_object_iter_next_ordered (&iter, &name, &node)) {
    if (JSON_NODE_HOLDS_OBJECT (node) && json_node_get_object (node) == object)
      return name;
  }
  return "?";
}

static gboolean
check_duplicates (const DuplicateWatch *watch, JsonObject *root,
    const char *path, GError **error)
{
  const char *holder;

  if (watch->object == NULL)
    return TRUE;

  if (watch->object == root) {
    set_format_error (error, path, watch->member,
        "the name appears more than once in the header");
    return FALSE;
  }

  holder = member_holding (root, watch->object);
  if (strcmp (holder, METADATA_KEY) == 0)
    set_format_error (error, path, NULL,
        "metadata key '%s' appears more than once", watch->member);
  else
    set_format_error (error, path, holder, "field '%s' appears more than once",
        watch->member);
  return FALSE;
}

static gboolean
parse_metadata (SanlSafetensors *st, JsonNode *node, GError **error)
{
  JsonObjectIter iter;
  const char *key;
  JsonNode *value;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    set_format_error (
        error, st->path, NULL, "'" METADATA_KEY "' is not a JSON object");
    return FALSE;
  }

  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &key, &value)) {
    if (!is_string_node (value)) {
      set_format_error (
          error, st->path, NULL, "metadata value of '%s' is not a string", key);
      return FALSE;
    }
    g_hash_table_insert (
        st->metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
  }
  return TRUE;
}

static gboolean
parse_dtype (
    SanlSafetensor *t, JsonObject *entry, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (entry, "dtype");
  const char *name;

  if (!is_string_node (node)) {
    set_format_error (error, path, t->name,
        "'dtype' is missing or not a "
        "string");
    return FALSE;
  }

  name = json_node_get_string (node);
  if (!dtype_from_name (name, &t->dtype)) {
    set_format_error (error, path, t->name,
        "dtype '%s' is not supported "
        "(F32, F16 or BF16)",
        name);
    return FALSE;
  }

  if (t->dtype == SANL_DTYPE_I64
      && !g_str_has_suffix (t->name, ".num_batches_tracked")) {
    set_format_error (error, path, t->name,
        "dtype I64 is only accepted for "
        "*.num_batches_tracked");
    return FALSE;
  }
  return TRUE;
}

/* Reads a JSON array of at most max non-negative integers below limit. */
static gboolean
parse_int_array (
    JsonNode *node, guint max, gint64 limit, gint64 *values, guint *n_values)
{
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;

  array = json_node_get_array (node);
  *n_values = json_array_get_length (array);
  if (*n_values > max)
    return FALSE;

  for (guint i = 0; i < *n_values; i++) {
    JsonNode *element = json_array_get_element (array, i);

    if (!is_int_node (element))
      return FALSE;
    values[i] = json_node_get_int (element);
    if (values[i] < 0 || values[i] > limit)
      return FALSE;
  }
  return TRUE;
}

static gboolean
parse_shape (
    SanlSafetensor *t, JsonObject *entry, const char *path, GError **error)
{
  guint n_dims;

  if (!parse_int_array (json_object_get_member (entry, "shape"),
          SANL_SAFETENSOR_MAX_DIMS, MAX_DIM, t->shape, &n_dims)) {
    set_format_error (error, path, t->name,
        "'shape' is missing or not a "
        "list of at most %d non-negative integers",
        SANL_SAFETENSOR_MAX_DIMS);
    return FALSE;
  }
  t->n_dims = n_dims;

  /* Each dimension is below 2^40 and at most 4 of them: saturate instead
   * of overflowing; such a count never matches a real data region. */
  t->n_elements = 1;
  for (int i = 0; i < t->n_dims; i++) {
    if (t->shape[i] != 0 && t->n_elements > G_MAXINT64 / 16 / t->shape[i])
      t->n_elements = G_MAXINT64 / 16;
    else
      t->n_elements *= t->shape[i];
  }
  return TRUE;
}

/* Checks data_offsets against the data section; begin goes to *begin. */
static gboolean
parse_offsets (SanlSafetensor *t, JsonObject *entry, gsize data_size,
    const char *path, gint64 *begin, GError **error)
{
  gint64 offsets[2];
  guint n;
  gint64 expected;

  if (!parse_int_array (json_object_get_member (entry, "data_offsets"), 2,
          G_MAXINT64, offsets, &n)
      || n != 2) {
    set_format_error (error, path, t->name,
        "'data_offsets' is missing or "
        "not two non-negative integers");
    return FALSE;
  }

  if (offsets[0] > offsets[1]) {
    set_format_error (error, path, t->name,
        "data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
        "] end before they begin",
        offsets[0], offsets[1]);
    return FALSE;
  }

  if ((guint64) offsets[1] > data_size) {
    set_format_error (error, path, t->name,
        "data_offsets end at %" G_GINT64_FORMAT
        ", past the end of the %" G_GSIZE_FORMAT "-byte data section",
        offsets[1], data_size);
    return FALSE;
  }

  expected = t->n_elements * (gint64) sanl_dtype_size (t->dtype);
  if (offsets[1] - offsets[0] != expected) {
    set_format_error (error, path, t->name,
        "data_offsets span %" G_GINT64_FORMAT
        " bytes but %s of this shape needs %" G_GINT64_FORMAT,
        offsets[1] - offsets[0], sanl_dtype_name (t->dtype), expected);
    return FALSE;
  }

  *begin = offsets[0];
  t->size = expected;
  return TRUE;
}

static gboolean
parse_tensor (SanlSafetensor *t, JsonNode *node, const guint8 *data,
    gsize data_size, const char *path, GError **error)
{
  JsonObject *entry;
  JsonObjectIter iter;
  const char *field;
  JsonNode *value;
  gint64 begin;

  if (t->name[0] == '\0') {
    set_format_error (error, path, NULL, "a tensor has an empty name");
    return FALSE;
  }

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    set_format_error (error, path, t->name, "entry is not a JSON object");
    return FALSE;
  }
  entry = json_node_get_object (node);

  /* Only the three known fields; anything else is a writer we do not know. */
  json_object_iter_init_ordered (&iter, entry);
  while (json_object_iter_next_ordered (&iter, &field, &value)) {
    if (strcmp (field, "dtype") != 0 && strcmp (field, "shape") != 0
        && strcmp (field, "data_offsets") != 0) {
      set_format_error (error, path, t->name, "unknown field '%s'", field);
      return FALSE;
    }
  }

  if (!parse_dtype (t, entry, path, error)
      || !parse_shape (t, entry, path, error)
      || !parse_offsets (t, entry, data_size, path, &begin, error))
    return FALSE;

  t->data = data + begin;
  return TRUE;
}

static int
compare_by_offset (gconstpointer a, gconstpointer b)
{
  const SanlSafetensor *ta = *(const SanlSafetensor *const *) a;
  const SanlSafetensor *tb = *(const SanlSafetensor *const *) b;

  if (ta->data != tb->data)
    return ta->data < tb->data ? -1 : 1;
  if (ta->size != tb->size)
    return ta->size < tb->size ? -1 : 1;
  return 0;
}

/* Sorted by offset, each region must start where the previous one ended,
 * and the last must end at the end of the file. */
static gboolean
check_tiling (
    SanlSafetensors *st, const guint8 *data, gsize data_size, GError **error)
{
  g_autofree SanlSafetensor **sorted
      = g_new (SanlSafetensor *, MAX (st->n_tensors, 1));
  const guint8 *cursor = data;
  const char *previous = NULL;

  for (int i = 0; i < st->n_tensors; i++)
    sorted[i] = &st->tensors[i];
  qsort (sorted, st->n_tensors, sizeof *sorted, compare_by_offset);

  for (int i = 0; i < st->n_tensors; i++) {
    const SanlSafetensor *t = sorted[i];

    if (t->data < cursor) {
      set_format_error (
          error, st->path, t->name, "data overlaps tensor '%s'", previous);
      return FALSE;
    }
    if (t->data > cursor) {
      set_format_error (error, st->path, t->name,
          "%" G_GSIZE_FORMAT " unused bytes lie before its data",
          (gsize) (t->data - cursor));
      return FALSE;
    }
    cursor = t->data + t->size;
    previous = t->name;
  }

  if (cursor != data + data_size) {
    set_format_error (error, st->path, previous,
        "%" G_GSIZE_FORMAT " unused bytes follow the last tensor's data",
        (gsize) (data + data_size - cursor));
    return FALSE;
  }
  return TRUE;
}

/* json-glib hands strings out NUL-terminated, so "a\u0000b" would read as
 * "a" here and as "a\0b" in the twin, and it takes escapes JSON does not
 * have ("\q", "\U0000", a short "\u00") that the twin refuses: both
 * refuse them before parsing. A backslash outside a string is no valid
 * JSON either. */
const char *
sanl_json_check_escapes (const char *json, gsize length)
{
  for (gsize i = 0; i < length && json[i] != 0; i++) {
    if (json[i] != '\\')
      continue;
    if (++i >= length)
      return "an invalid escape";
    if (strchr ("\"\\/bfnrt", json[i]) != NULL && json[i] != 0)
      continue;
    if (json[i] != 'u' || i + 4 >= length)
      return "an invalid escape";
    for (int d = 1; d <= 4; d++)
      if (!g_ascii_isxdigit (json[i + d]))
        return "an invalid escape";
    if (g_ascii_strncasecmp (json + i + 1, "0000", 4) == 0)
      return "a NUL character (\\u0000)";
    i += 4;
  }
  return NULL;
}

static gboolean
parse_header (SanlSafetensors *st, const char *json, gsize json_size,
    const guint8 *data, gsize data_size, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) json_error = NULL;
  DuplicateWatch watch = { NULL, NULL, NULL };
  JsonNode *root_node;
  JsonObject *root;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  gboolean ok = FALSE;
  int n = 0;
  const char *bad_escape;

  bad_escape = sanl_json_check_escapes (json, json_size);
  if (bad_escape != NULL) {
    set_format_error (
        error, st->path, NULL, "header holds %s in a string", bad_escape);
    return FALSE;
  }

  /* Parse, counting members to catch duplicates json-glib would hide. */
  watch.counts = g_hash_table_new (NULL, NULL);
  g_signal_connect (
      parser, "object-member", G_CALLBACK (on_object_member), &watch);
  if (!json_parser_load_from_data (parser, json, json_size, &json_error)) {
    set_format_error (error, st->path, NULL, "header is not valid JSON: %s",
        json_error->message);
    goto out;
  }

  root_node = json_parser_get_root (parser);
  if (root_node == NULL || !JSON_NODE_HOLDS_OBJECT (root_node)) {
    set_format_error (error, st->path, NULL, "header is not a JSON object");
    goto out;
  }
  root = json_node_get_object (root_node);
  if (!check_duplicates (&watch, root, st->path, error))
    goto out;

  /* One table entry per member but the metadata. */
  st->tensors = g_new0 (SanlSafetensor, json_object_get_size (root) + 1);
  json_object_iter_init_ordered (&iter, root);
  while (json_object_iter_next_ordered (&iter, &name, &node)) {
    SanlSafetensor *t = &st->tensors[n];

    if (strcmp (name, METADATA_KEY) == 0) {
      if (!parse_metadata (st, node, error))
        goto out;
      continue;
    }

    t->name = g_string_chunk_insert (st->names, name);
    if (!parse_tensor (t, node, data, data_size, st->path, error))
      goto out;
    g_hash_table_insert (st->index, (gpointer) t->name, t);
    st->n_tensors = ++n;
  }

  ok = check_tiling (st, data, data_size, error);

out:
  g_hash_table_unref (watch.counts);
  g_free (watch.member);
  return ok;
}

/* ---------------------------------------------------------------------- */
/* Opening                                                                 */

static gboolean
parse_file (SanlSafetensors *st, GError **error)
{
  gsize size;
  const guint8 *bytes = g_bytes_get_data (st->bytes, &size);
  guint64 header_size;

  if (size < 8) {
    set_format_error (error, st->path, NULL,
        "file is %" G_GSIZE_FORMAT
        " bytes, too short for the 8-byte header length",
        size);
    return FALSE;
  }

  memcpy (&header_size, bytes, 8);
  header_size = GUINT64_FROM_LE (header_size);
  if (header_size > size - 8) {
    set_format_error (error, st->path, NULL,
        "header length %" G_GUINT64_FORMAT
        " runs past the end of the %" G_GSIZE_FORMAT "-byte file",
        header_size, size);
    return FALSE;
  }
  if (header_size == 0 || header_size > SANL_SAFETENSORS_MAX_HEADER) {
    set_format_error (error, st->path, NULL,
        "header length %" G_GUINT64_FORMAT " is out of range (1 to %d bytes)",
        header_size, SANL_SAFETENSORS_MAX_HEADER);
    return FALSE;
  }

  return parse_header (st, (const char *) bytes + 8, header_size,
      bytes + 8 + header_size, size - 8 - header_size, error);
}

SanlSafetensors *
sanl_safetensors_open_bytes (GBytes *bytes, const char *path, GError **error)
{
  SanlSafetensors *st = g_new0 (SanlSafetensors, 1);

  st->path = g_strdup (path);
  st->bytes = g_bytes_ref (bytes);
  st->index = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st->names = g_string_chunk_new (4096);

  if (!parse_file (st, error)) {
    sanl_safetensors_free (st);
    return NULL;
  }

  g_debug ("%s: %d tensors, %" G_GSIZE_FORMAT " bytes", path, st->n_tensors,
      g_bytes_get_size (bytes));
  return st;
}

SanlSafetensors *
sanl_safetensors_open (const char *path, GError **error)
{
  g_autoptr (GError) map_error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  GMappedFile *mapped;
  GStatBuf info;

  if (*path == 0) {
    g_set_error_literal (error, SANL_ERROR, SANL_ERROR_IO,
        "no model file given: the path is empty");
    return NULL;
  }

  /* Only regular files: a directory or a FIFO cannot be mapped usefully. */
  if (g_stat (path, &info) != 0) {
    int saved = errno;

    g_set_error (error, SANL_ERROR, SANL_ERROR_IO, "%s: cannot open: %s", path,
        g_strerror (saved));
    return NULL;
  }
  if (!S_ISREG (info.st_mode)) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_IO,
        "%s: cannot open: not a regular file", path);
    return NULL;
  }

  mapped = g_mapped_file_new (path, FALSE, &map_error);
  if (mapped == NULL) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_IO, "%s: cannot map: %s", path,
        map_error->message);
    return NULL;
  }
  bytes = g_mapped_file_get_bytes (mapped);
  g_mapped_file_unref (mapped);

  return sanl_safetensors_open_bytes (bytes, path, error);
}

void
sanl_safetensors_free (SanlSafetensors *st)
{
  if (st == NULL)
    return;

  g_hash_table_unref (st->index);
  g_hash_table_unref (st->metadata);
  g_string_chunk_free (st->names);
  g_free (st->tensors);
  g_bytes_unref (st->bytes);
  g_free (st->path);
  g_free (st);
}

const SanlSafetensor *
sanl_safetensors_find (const SanlSafetensors *st, const char *name)
{
  return g_hash_table_lookup (st->index, name);
}

const char *
sanl_safetensors_get_metadata (const SanlSafetensors *st, const char *key)
{
  return g_hash_table_lookup (st->metadata, key);
}
