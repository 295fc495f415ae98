/* sanl-eval: normalised error (NE) of a model on a labelled landmark set.
 *
 *   sanl-eval --model sanl/models/default.safetensors \
 *       --data ../shared/data/robot-fld --split val
 *
 * Each labelled garment is run through the C engine with its ground-truth
 * box as the region (the crop of the fashion landmark literature). A
 * prediction's error is the L2 distance to the label after dividing x by
 * the box width and y by its height; it counts only for landmarks labelled
 * visible. Errors are averaged per landmark over the images, and NE is the
 * mean over the landmarks that occur. Prints a per-landmark table and, as
 * its last line, "NE 0.xxxx".
 *
 * --whole analyses each whole picture instead, as sanldetect does before it
 * has a garment to track; errors are still divided by the box's sides.
 *
 * --model defaults to $SANL_MODEL when that is set and not empty.
 *
 * A label these layouts do not allow (a word that is not a finite number,
 * a clothes type or visibility they lack, a row too short for its clothes
 * type, a garment without a box) is an error naming its file and line, or
 * its annotation, in the words of the twin's eval.py. So is a set whose
 * every label is hidden, which has no NE.
 *
 * Layouts (--layout):
 *   fld          list_landmarks.txt, list_bbox.txt, list_eval_partition.txt;
 *                clothes type 1, 2, 3 fill 6, 4 or all 8 landmark slots
 *   deepfashion  the same files (in DIR, or DIR/Anno and DIR/Eval) with 8
 *                triples per row, the type's landmarks first
 *   coco         DIR/<split>.json or DIR/annotations/<split>.json, keypoints
 *                [x, y, v] * 8 in FLD order, images under DIR/images or DIR
 */

#include "sanl.h"
#include "sanl-image.h"

#include <float.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define K 8
#define ABSENT 3

/* More engine threads than this is a typo, not a machine. */
#define MAX_THREADS 256

/* ------------------------------------------------------------------------ */
/* Labelled garments */

typedef struct
{
  char *path;
  float box[4]; /* x1, y1, x2, y2 */
  float xy[K][2];
  int vis[K]; /* 0 visible, 1 occluded, 2 cut off, 3 absent */
} Record;

static void
record_free (gpointer data)
{
  Record *r = data;
  g_free (r->path);
  g_free (r);
}

/* Slots of the FLD landmarks each clothes type fills, in row order. */
static const int type_slots[3][K] = {
  { 0, 1, 2, 3, 6, 7, -1, -1 },
  { 4, 5, 6, 7, -1, -1, -1, -1 },
  { 0, 1, 2, 3, 4, 5, 6, 7 },
};

/* Names of a box row's numbers, as FLD's header gives them. */
static const char *const corner_names[4] = { "x_1", "y_1", "x_2", "y_2" };

static void set_line_error (GError **error, const char *file, int line,
    const char *format, ...) G_GNUC_PRINTF (4, 5);
static void set_annotation_error (GError **error, const char *file, guint i,
    const char *format, ...) G_GNUC_PRINTF (4, 5);

/* Sets error to "file:line: message". */
static void
set_line_error (
    GError **error, const char *file, int line, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (
      error, SANL_ERROR, SANL_ERROR_ARGUMENT, "%s:%d: %s", file, line, message);
}

/* A number of a label: the whole word in decimal notation (not "nan",
 * "inf" or hex) and finite as a float. eval.py reads the same words. */
static gboolean
parse_number (const char *word, float *value)
{
  char *end;
  double v;

  if (strspn (word, "0123456789+-.eE") != strlen (word))
    return FALSE;
  v = g_ascii_strtod (word, &end);
  if (end == word || *end || !(fabs (v) <= FLT_MAX))
    return FALSE;
  *value = (float) v;
  return TRUE;
}

/* One row of an FLD list file: its line number and its words. */
typedef struct
{
  int line;
  int n;
  char **words;
} Row;

static void
row_free (gpointer data)
{
  Row *row = data;
  g_strfreev (row->words);
  g_free (row);
}

/* Words of a row, empty ones (runs of spaces) removed in place. */
static int
squeeze (char **row)
{
  int i, n = 0;
  for (i = 0; row[i]; i++)
    if (*row[i])
      row[n++] = row[i];
  for (i = n; row[i]; i++)
    row[i] = NULL;
  return n;
}

/* The rows of an FLD list file, in dir or dir/subdir, its path in *path:
 * line 1 holds the count of rows, line 2 a header, each further line that
 * is not blank a row of words parted by spaces and tabs. NULL, with an
 * error, when line 1 is not the count. */
static GPtrArray *
read_list (const char *dir, const char *name, const char *subdir, char **path,
    GError **error)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  GPtrArray *rows;
  const char *count;
  int i;

  *path = g_build_filename (dir, name, NULL);
  if (!g_file_test (*path, G_FILE_TEST_EXISTS)) {
    g_free (*path);
    *path = g_build_filename (dir, subdir, name, NULL);
  }
  if (!g_file_get_contents (*path, &text, NULL, error))
    return NULL;
  lines = g_strsplit (text, "\n", -1);
  rows = g_ptr_array_new_with_free_func (row_free);
  for (i = 2; lines[0] && lines[1] && lines[i]; i++) {
    char *line = g_strstrip (lines[i]);
    Row *row;

    if (!*line)
      continue;
    row = g_new (Row, 1);
    row->line = i + 1;
    row->words = g_strsplit_set (line, " \t", -1);
    row->n = squeeze (row->words);
    g_ptr_array_add (rows, row);
  }

  count = lines[0] ? g_strstrip (lines[0]) : "";
  if (!*count || strspn (count, "0123456789") != strlen (count)) {
    set_line_error (error, *path, 1,
        "the first line must be the count of rows, not \"%s\"", count);
    g_clear_pointer (&rows, g_ptr_array_unref);
  } else if (g_ascii_strtoull (count, NULL, 10) != rows->len) {
    set_line_error (
        error, *path, 1, "says %s rows, the file has %u", count, rows->len);
    g_clear_pointer (&rows, g_ptr_array_unref);
  }
  return rows;
}

static gboolean
split_matches (const char *split, const char *wanted)
{
  if (!strcmp (split, wanted))
    return TRUE;
  return (!strcmp (wanted, "val") && !strcmp (split, "validation"))
         || (!strcmp (wanted, "validation") && !strcmp (split, "val"));
}

/* r's box from its row of list_bbox.txt; FALSE, with an error naming the
 * file and line, when the row is not a name and four numbers. */
static gboolean
read_box (Record *r, const Row *box, const char *boxes_path, GError **error)
{
  if (box->n != 5) {
    set_line_error (error, boxes_path, box->line,
        "the row is not an image name and x_1 y_1 x_2 y_2");
    return FALSE;
  }
  for (int j = 0; j < 4; j++)
    if (!parse_number (box->words[j + 1], &r->box[j])) {
      set_line_error (error, boxes_path, box->line,
          "%s \"%s\" is not a finite number", corner_names[j],
          box->words[j + 1]);
      return FALSE;
    }
  return TRUE;
}

/* r's landmarks from its row of list_landmarks.txt: the clothes type's
 * landmarks, exactly so many triples, or (fixed_slots) at least so many of
 * the row's triples. FALSE, with an error naming the file and line, when
 * the row is not such a label. */
static gboolean
read_marks (Record *r, const Row *row, const char *marks_path,
    gboolean fixed_slots, GError **error)
{
  const int *slots;
  int needs = 0, has, j, k;

  if (row->n < 3 || (row->n - 3) % 3 != 0) {
    set_line_error (error, marks_path, row->line,
        "the row is not an image name, clothes type, variation type and "
        "(visibility, x, y) triples");
    return FALSE;
  }
  if (strcmp (row->words[1], "1") && strcmp (row->words[1], "2")
      && strcmp (row->words[1], "3")) {
    set_line_error (error, marks_path, row->line,
        "clothes type \"%s\" is not 1, 2 or 3", row->words[1]);
    return FALSE;
  }
  slots = type_slots[row->words[1][0] - '1'];
  while (needs < K && slots[needs] >= 0)
    needs++;
  has = (row->n - 3) / 3;
  if (fixed_slots ? has < needs : has != needs) {
    set_line_error (error, marks_path, row->line,
        "clothes type %s needs %d landmarks, the row has %d", row->words[1],
        needs, has);
    return FALSE;
  }

  for (k = 0; k < K; k++)
    r->vis[k] = ABSENT;
  for (j = 0; j < needs; j++) {
    char **triple = row->words + 3 + 3 * j;
    int slot = slots[j];

    if (strcmp (triple[0], "0") && strcmp (triple[0], "1")
        && strcmp (triple[0], "2")) {
      set_line_error (error, marks_path, row->line,
          "landmark %d: visibility \"%s\" is not 0, 1 or 2", j + 1, triple[0]);
      return FALSE;
    }
    r->vis[slot] = triple[0][0] - '0';
    for (int c = 0; c < 2; c++)
      if (!parse_number (triple[1 + c], &r->xy[slot][c])) {
        set_line_error (error, marks_path, row->line,
            "landmark %d: %s \"%s\" is not a finite number", j + 1,
            c ? "y" : "x", triple[1 + c]);
        return FALSE;
      }
  }
  return TRUE;
}

static GPtrArray *
read_fld (
    const char *dir, const char *split, gboolean fixed_slots, GError **error)
{
  g_autofree char *marks_path = NULL, *boxes_path = NULL, *parts_path = NULL;
  GPtrArray *marks = NULL, *boxes = NULL, *parts = NULL, *out = NULL;
  GHashTable *box_of = NULL, *part_of = NULL;
  guint i;

  marks = read_list (dir, "list_landmarks.txt", "Anno", &marks_path, error);
  if (marks)
    boxes = read_list (dir, "list_bbox.txt", "Anno", &boxes_path, error);
  if (boxes)
    parts = read_list (
        dir, "list_eval_partition.txt", "Eval", &parts_path, error);
  if (!parts)
    goto done;

  /* rows by image name; boxes are read when a garment needs one */
  box_of = g_hash_table_new (g_str_hash, g_str_equal);
  part_of = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < boxes->len; i++) {
    Row *row = g_ptr_array_index (boxes, i);
    g_hash_table_insert (box_of, row->words[0], row);
  }
  for (i = 0; i < parts->len; i++) {
    Row *row = g_ptr_array_index (parts, i);
    if (row->n != 2) {
      set_line_error (error, parts_path, row->line,
          "the row is not an image name and its evaluation status");
      goto done;
    }
    g_hash_table_insert (part_of, row->words[0], row->words[1]);
  }

  out = g_ptr_array_new_with_free_func (record_free);
  for (i = 0; i < marks->len; i++) {
    Row *row = g_ptr_array_index (marks, i);
    const char *part = g_hash_table_lookup (part_of, row->words[0]);
    const Row *box = g_hash_table_lookup (box_of, row->words[0]);
    Record *r;

    if (!part || !split_matches (part, split))
      continue;
    r = g_new0 (Record, 1);
    r->path = g_build_filename (dir, row->words[0], NULL);
    g_ptr_array_add (out, r);
    if (!read_marks (r, row, marks_path, fixed_slots, error))
      goto failed;
    if (!box) {
      set_line_error (error, marks_path, row->line, "%s has no row in %s",
          row->words[0], boxes_path);
      goto failed;
    }
    if (!read_box (r, box, boxes_path, error))
      goto failed;
  }
  goto done;

failed:
  g_clear_pointer (&out, g_ptr_array_unref);
done:
  if (box_of)
    g_hash_table_unref (box_of);
  if (part_of)
    g_hash_table_unref (part_of);
  if (marks)
    g_ptr_array_unref (marks);
  if (boxes)
    g_ptr_array_unref (boxes);
  if (parts)
    g_ptr_array_unref (parts);
  return out;
}

/* The number node holds, when it is a JSON number finite as a float. */
static gboolean
json_number (JsonNode *node, double *value)
{
  GType type = G_TYPE_INVALID;

  if (node && JSON_NODE_HOLDS_VALUE (node))
    type = json_node_get_value_type (node);
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return FALSE;
  *value = json_node_get_double (node);
  return fabs (*value) <= FLT_MAX;
}

/* The n numbers of array, each finite as a float; FALSE when array is NULL
 * or not n such numbers. */
static gboolean
numbers (JsonArray *array, double *values, guint n)
{
  if (!array || json_array_get_length (array) != n)
    return FALSE;
  for (guint j = 0; j < n; j++)
    if (!json_number (json_array_get_element (array, j), &values[j]))
      return FALSE;
  return TRUE;
}

/* object's member when it is a JSON array, else NULL. */
static JsonArray *
array_member (JsonObject *object, const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node)
                                              : NULL;
}

/* array's element i when it is a JSON object, else NULL. */
static JsonObject *
object_element (JsonArray *array, guint i)
{
  JsonNode *node = json_array_get_element (array, i);

  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* object's member when it holds a value of type, else NULL. */
static JsonNode *
value_member (JsonObject *object, const char *member, GType type)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  if (!node || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != type)
    return NULL;
  return node;
}

/* The file_name of the last of images with this id, or NULL. Every entry
 * of images has been checked to have both. */
static const char *
image_file (JsonArray *images, gint64 id)
{
  const char *file = NULL;

  for (guint j = 0; j < json_array_get_length (images); j++) {
    JsonObject *im = json_array_get_object_element (images, j);
    if (json_object_get_int_member (im, "id") == id)
      file = json_object_get_string_member (im, "file_name");
  }
  return file;
}

/* Sets error to "file: annotations[i]: message". */
static void
set_annotation_error (
    GError **error, const char *file, guint i, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
      "%s: annotations[%u]: %s", file, i, message);
}

/* r from annotations[i]: its image's path, box and 8 keypoints; FALSE,
 * with an error naming the file and the annotation, when it is not such a
 * label. */
static gboolean
read_annotation (Record *r, JsonArray *anns, guint i, JsonArray *images,
    const char *image_dir, const char *path, GError **error)
{
  static const char *const axes[3] = { "x", "y", "visibility" };
  JsonObject *a = object_element (anns, i);
  JsonNode *id = value_member (a, "image_id", G_TYPE_INT64);
  JsonArray *kp = array_member (a, "keypoints");
  const char *file;
  double box[4], v[3];

  /* the checks in the order eval.py makes them */

  if (!a) {
    set_annotation_error (error, path, i, "not an object");
    return FALSE;
  }
  if (!id) {
    set_annotation_error (error, path, i, "no integer \"image_id\"");
    return FALSE;
  }
  file = image_file (images, json_node_get_int (id));
  if (!file) {
    set_annotation_error (error, path, i,
        "image_id %" G_GINT64_FORMAT " is not in \"images\"",
        json_node_get_int (id));
    return FALSE;
  }
  if (!kp || json_array_get_length (kp) != 3 * K) {
    set_annotation_error (error, path, i,
        "\"keypoints\" is not a list of %d numbers (x, y, v of %d landmarks)",
        3 * K, K);
    return FALSE;
  }
  if (!numbers (array_member (a, "bbox"), box, 4)) {
    set_annotation_error (error, path, i,
        "\"bbox\" is not a list of 4 finite numbers (x, y, width, height)");
    return FALSE;
  }

  r->path = g_build_filename (image_dir, file, NULL);
  r->box[0] = box[0];
  r->box[1] = box[1];
  r->box[2] = box[0] + box[2];
  r->box[3] = box[1] + box[3];
  for (int k = 0; k < K; k++) {
    for (int c = 0; c < 3; c++)
      if (!json_number (json_array_get_element (kp, 3 * k + c), &v[c])) {
        set_annotation_error (error, path, i,
            "keypoint %d: %s is not a finite number", k + 1, axes[c]);
        return FALSE;
      }
    if (v[2] != 0 && v[2] != 1 && v[2] != 2) {
      set_annotation_error (error, path, i,
          "keypoint %d: visibility %g is not 0, 1 or 2", k + 1, v[2]);
      return FALSE;
    }
    r->xy[k][0] = v[0];
    r->xy[k][1] = v[1];
    r->vis[k] = v[2] == 2 ? 0 : v[2] == 1 ? 1 : ABSENT;
  }
  return TRUE;
}

static GPtrArray *
read_coco (const char *dir, const char *split, GError **error)
{
  char *name = g_strdup_printf ("%s.json", split);
  char *path = g_build_filename (dir, name, NULL);
  char *image_dir = g_build_filename (dir, "images", NULL);
  JsonParser *parser = json_parser_new ();
  GPtrArray *out = NULL;
  JsonNode *root;
  JsonObject *top = NULL;
  JsonArray *images, *anns;
  guint i;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_free (path);
    path = g_build_filename (dir, "annotations", name, NULL);
  }
  if (!g_file_test (image_dir, G_FILE_TEST_IS_DIR)) {
    g_free (image_dir);
    image_dir = g_strdup (dir);
  }
  if (!json_parser_load_from_file (parser, path, error))
    goto done;
  root = json_parser_get_root (parser);
  if (root && JSON_NODE_HOLDS_OBJECT (root))
    top = json_node_get_object (root);
  images = array_member (top, "images");
  anns = array_member (top, "annotations");
  if (!images || !anns) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "%s: no \"images\" and \"annotations\" lists", path);
    goto done;
  }
  for (i = 0; i < json_array_get_length (images); i++) {
    JsonObject *im = object_element (images, i);

    if (!value_member (im, "id", G_TYPE_INT64)
        || !value_member (im, "file_name", G_TYPE_STRING)) {
      g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
          "%s: images[%u]: no integer \"id\" and string \"file_name\"", path,
          i);
      goto done;
    }
  }

  out = g_ptr_array_new_with_free_func (record_free);
  for (i = 0; i < json_array_get_length (anns); i++) {
    Record *r = g_new0 (Record, 1);

    g_ptr_array_add (out, r);
    if (!read_annotation (r, anns, i, images, image_dir, path, error)) {
      g_clear_pointer (&out, g_ptr_array_unref);
      goto done;
    }
  }

done:
  g_object_unref (parser);
  g_free (image_dir);
  g_free (path);
  g_free (name);
  return out;
}

/* ------------------------------------------------------------------------ */
/* Normalised error */

typedef struct
{
  double sum[K];
  int count[K];
} Meter;

static void
meter_add (Meter *m, const Record *r, const SanlResult *res)
{
  double bw = r->box[2] - r->box[0], bh = r->box[3] - r->box[1];
  int k;

  for (k = 0; k < K && k < res->n_landmarks; k++) {
    double dx, dy;
    if (r->vis[k] != 0)
      continue;
    dx = (res->landmarks[k].x - r->xy[k][0]) / bw;
    dy = (res->landmarks[k].y - r->xy[k][1]) / bh;
    m->sum[k] += sqrt (dx * dx + dy * dy);
    m->count[k]++;
  }
}

static void
meter_print (const Meter *m, SanlModel *model)
{
  double total = 0;
  int k, n = 0;

  printf ("%-16s %5s %8s\n", "landmark", "n", "NE");
  for (k = 0; k < K && k < sanl_model_get_n_landmarks (model); k++) {
    const char *name = sanl_model_get_landmark_name (model, k);
    if (m->count[k] == 0) {
      printf ("%-16s %5d %8s\n", name, 0, "-");
      continue;
    }
    printf ("%-16s %5d %8.4f\n", name, m->count[k], m->sum[k] / m->count[k]);
    total += m->sum[k] / m->count[k];
    n++;
  }
  printf ("NE %.4f\n", n ? total / n : NAN);
}

/* Whether some record labels one of the first n_landmarks visible: NE is
 * the mean over those. */
static gboolean
has_visible_label (GPtrArray *records, int n_landmarks)
{
  for (guint i = 0; i < records->len; i++) {
    const Record *r = g_ptr_array_index (records, i);

    for (int k = 0; k < K && k < n_landmarks; k++)
      if (r->vis[k] == 0)
        return TRUE;
  }
  return FALSE;
}

/* A labelled box must have an area and overlap its picture: NE divides by
 * its sides, and a box off the picture scores pixels that are not there. */
static gboolean
check_box (const Record *r, int width, int height, GError **error)
{
  const float *b = r->box;

  if (!(b[2] > b[0] && b[3] > b[1])) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "%s: box %g,%g - %g,%g has no area", r->path, b[0], b[1], b[2], b[3]);
    return FALSE;
  }
  if (b[2] < 0 || b[3] < 0 || b[0] > width - 1 || b[1] > height - 1) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "%s: box %g,%g - %g,%g lies outside the %dx%d picture", r->path, b[0],
        b[1], b[2], b[3], width, height);
    return FALSE;
  }
  return TRUE;
}

static gboolean
evaluate (SanlSession *session, GPtrArray *records, gboolean whole, Meter *m,
    GError **error)
{
  /* a count rewritten in place: only a terminal shows it as such */
  gboolean progress = isatty (fileno (stderr));
  guint i;

  for (i = 0; i < records->len; i++) {
    const Record *r = g_ptr_array_index (records, i);
    SanlImage image;
    SanlRect region = { r->box[0], r->box[1], r->box[2] - r->box[0],
      r->box[3] - r->box[1] };
    SanlResult res;
    guint8 *pixels = sanl_image_load (r->path, &image, error);
    gboolean ok;

    if (!pixels)
      return FALSE;
    if (!check_box (r, image.width, image.height, error)) {
      g_free (pixels);
      return FALSE;
    }
    if (whole)
      region = (SanlRect){ 0, 0, image.width, image.height };
    ok = sanl_session_run (session, &image, &region, &res, error);
    g_free (pixels);
    if (!ok)
      return FALSE;
    meter_add (m, r, &res);
    if (progress)
      fprintf (stderr, "\r%u/%u", i + 1, records->len);
  }
  if (progress)
    fprintf (stderr, "\n");
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Options */

/* The first bad option, named with its value on stderr; FALSE then.
 * model_path, when not given, is taken from $SANL_MODEL. */
static gboolean
check_options (int argc, char **argv, char **model_path, const char *data,
    const char *layout, const char *attention, int threads)
{
  const char *env = g_getenv ("SANL_MODEL");

  if (!*model_path && env && *env)
    *model_path = g_strdup (env);
  if (argc > 1) {
    g_printerr (
        "sanl-eval: unexpected argument \"%s\" (see --help)\n", argv[1]);
    return FALSE;
  }
  if (!*model_path || !data) {
    g_printerr ("sanl-eval: --data DIR and --model FILE (or $SANL_MODEL) "
                "are required\n");
    return FALSE;
  }
  if (layout && strcmp (layout, "fld") && strcmp (layout, "deepfashion")
      && strcmp (layout, "coco")) {
    g_printerr ("sanl-eval: --layout must be fld, deepfashion or coco, not "
                "\"%s\"\n",
        layout);
    return FALSE;
  }
  if (attention && strcmp (attention, "gradcam")
      && strcmp (attention, "none")) {
    g_printerr ("sanl-eval: --attention must be gradcam or none, not "
                "\"%s\"\n",
        attention);
    return FALSE;
  }
  if (threads < 0 || threads > MAX_THREADS) {
    g_printerr ("sanl-eval: --threads must be from 0 (one per processor) to "
                "%d, not %d\n",
        MAX_THREADS, threads);
    return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  char *model_path = NULL, *data = NULL, *split = NULL, *layout = NULL;
  char *attention = NULL;
  int threads = 1;
  gboolean whole = FALSE;
  GOptionEntry entries[] = { { "model", 'm', 0, G_OPTION_ARG_FILENAME,
                                 &model_path,
                                 "Model file (default: $SANL_MODEL)", "FILE" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data, "Data folder", "DIR" },
    { "split", 's', 0, G_OPTION_ARG_STRING, &split,
        "Split to evaluate (default: val)", "NAME" },
    { "layout", 'l', 0, G_OPTION_ARG_STRING, &layout,
        "fld (default), deepfashion or coco", "LAYOUT" },
    { "attention", 'a', 0, G_OPTION_ARG_STRING, &attention,
        "gradcam (default) or none", "MODE" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads,
        "Engine threads (0: one per processor)", "N" },
    { "whole", 'w', 0, G_OPTION_ARG_NONE, &whole,
        "Analyse whole pictures, not the labelled boxes", NULL },
    { NULL } };
  GOptionContext *ctx;
  GError *error = NULL;
  GPtrArray *records = NULL;
  SanlModel *model = NULL;
  SanlSession *session = NULL;
  Meter meter;
  int status = 1;

  /* messages in the user's language and charset; the table's numbers
   * always with a decimal point, for the scripts that read it */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");

  ctx = g_option_context_new ("- normalised error of a model on a landmark "
                              "set");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("sanl-eval: %s\n", error->message);
    g_option_context_free (ctx);
    g_clear_error (&error);
    return 2;
  }
  g_option_context_free (ctx);
  if (!check_options (
          argc, argv, &model_path, data, layout, attention, threads)) {
    g_free (model_path);
    g_free (data);
    g_free (split);
    g_free (layout);
    g_free (attention);
    return 2;
  }
  if (!split)
    split = g_strdup ("val");

  if (!layout || !strcmp (layout, "fld"))
    records = read_fld (data, split, FALSE, &error);
  else if (!strcmp (layout, "deepfashion"))
    records = read_fld (data, split, TRUE, &error);
  else
    records = read_coco (data, split, &error);
  if (!records)
    goto out;
  if (records->len == 0) {
    g_set_error (&error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "%s: no images in split %s", data, split);
    goto out;
  }

  sanl_set_threads (threads);
  model = sanl_model_load (model_path, &error);
  if (model)
    session = sanl_session_new (model, &error);
  if (!session)
    goto out;
  if (!has_visible_label (records, sanl_model_get_n_landmarks (model))) {
    g_set_error (&error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "%s: no landmark in split %s is labelled visible", data, split);
    goto out;
  }
  if (attention && !strcmp (attention, "none"))
    sanl_session_set_attention (session, SANL_ATTENTION_NONE);

  memset (&meter, 0, sizeof (meter));
  if (!evaluate (session, records, whole, &meter, &error))
    goto out;
  meter_print (&meter, model);
  status = 0;

out:
  if (error)
    g_printerr ("sanl-eval: %s\n", error->message);
  g_clear_error (&error);
  if (session)
    sanl_session_free (session);
  if (model)
    sanl_model_unref (model);
  if (records)
    g_ptr_array_unref (records);
  g_free (model_path);
  g_free (data);
  g_free (split);
  g_free (layout);
  g_free (attention);
  return status;
}
