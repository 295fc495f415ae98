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

#include <stdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* The rows of an FLD list file (count line and header skipped), each
 * split on white space. */
static GPtrArray *
read_list (
    const char *dir, const char *name, const char *subdir, GError **error)
{
  char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;
  GPtrArray *rows;
  char **lines;
  int i, n;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_free (path);
    path = g_build_filename (dir, subdir, name, NULL);
  }
  if (!g_file_get_contents (path, &text, NULL, error)) {
    g_free (path);
    return NULL;
  }
  lines = g_strsplit (text, "\n", -1);
  n = lines[0] ? atoi (lines[0]) : 0;
  rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  for (i = 2; lines[0] && lines[1] && lines[i]; i++) {
    char *line = g_strstrip (lines[i]);
    if (*line)
      g_ptr_array_add (rows, g_strsplit_set (line, " \t", -1));
  }
  if ((int) rows->len != n)
    g_warning ("%s: header says %d rows, found %u", path, n, rows->len);
  g_strfreev (lines);
  g_free (text);
  g_free (path);
  return rows;
}

/* Tokens of a row, empty ones (runs of spaces) removed in place. */
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

static gboolean
split_matches (const char *split, const char *wanted)
{
  if (!strcmp (split, wanted))
    return TRUE;
  return (!strcmp (wanted, "val") && !strcmp (split, "validation"))
         || (!strcmp (wanted, "validation") && !strcmp (split, "val"));
}

static GPtrArray *
read_fld (
    const char *dir, const char *split, gboolean fixed_slots, GError **error)
{
  GPtrArray *marks = NULL, *boxes = NULL, *parts = NULL, *out = NULL;
  GHashTable *box_of = NULL, *part_of = NULL;
  guint i;

  marks = read_list (dir, "list_landmarks.txt", "Anno", error);
  if (marks)
    boxes = read_list (dir, "list_bbox.txt", "Anno", error);
  if (boxes)
    parts = read_list (dir, "list_eval_partition.txt", "Eval", error);
  if (!parts)
    goto done;

  box_of = g_hash_table_new (g_str_hash, g_str_equal);
  part_of = g_hash_table_new (g_str_hash, g_str_equal);
  for (i = 0; i < boxes->len; i++) {
    char **row = g_ptr_array_index (boxes, i);
    if (squeeze (row) >= 5)
      g_hash_table_insert (box_of, row[0], row);
  }
  for (i = 0; i < parts->len; i++) {
    char **row = g_ptr_array_index (parts, i);
    if (squeeze (row) >= 2)
      g_hash_table_insert (part_of, row[0], row[1]);
  }

  out = g_ptr_array_new_with_free_func (record_free);
  for (i = 0; i < marks->len; i++) {
    char **row = g_ptr_array_index (marks, i);
    int n = squeeze (row), type, j, k;
    const char *part;
    char **box;
    Record *r;

    if (n < 3)
      continue;
    part = g_hash_table_lookup (part_of, row[0]);
    box = g_hash_table_lookup (box_of, row[0]);
    type = atoi (row[1]);
    if (!part || !split_matches (part, split))
      continue;
    if (!box || type < 1 || type > 3) {
      g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
          "%s: %s: no box or clothes type %d unknown", dir, row[0], type);
      g_clear_pointer (&out, g_ptr_array_unref);
      goto done;
    }
    r = g_new0 (Record, 1);
    r->path = g_build_filename (dir, row[0], NULL);
    for (j = 0; j < 4; j++)
      r->box[j] = g_ascii_strtod (box[j + 1], NULL);
    for (k = 0; k < K; k++)
      r->vis[k] = ABSENT;
    for (j = 0; j < K && 3 + 3 * j + 2 < n; j++) {
      int slot = type_slots[type - 1][j];
      if (slot < 0)
        break;
      r->vis[slot] = atoi (row[3 + 3 * j]);
      r->xy[slot][0] = g_ascii_strtod (row[4 + 3 * j], NULL);
      r->xy[slot][1] = g_ascii_strtod (row[5 + 3 * j], NULL);
    }
    if (!fixed_slots && 3 + 3 * j != n) {
      g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
          "%s: %s: clothes type %d needs %d landmarks, the row has %d", dir,
          row[0], type, j, (n - 3) / 3);
      record_free (r);
      g_clear_pointer (&out, g_ptr_array_unref);
      goto done;
    }
    g_ptr_array_add (out, r);
  }

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

static GPtrArray *
read_coco (const char *dir, const char *split, GError **error)
{
  char *name = g_strdup_printf ("%s.json", split);
  char *path = g_build_filename (dir, name, NULL);
  char *image_dir = g_build_filename (dir, "images", NULL);
  JsonParser *parser = json_parser_new ();
  GPtrArray *out = NULL;
  JsonObject *root;
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
  root = json_node_get_object (json_parser_get_root (parser));
  images = json_object_get_array_member (root, "images");
  anns = json_object_get_array_member (root, "annotations");

  out = g_ptr_array_new_with_free_func (record_free);
  for (i = 0; i < json_array_get_length (anns); i++) {
    JsonObject *a = json_array_get_object_element (anns, i);
    JsonArray *kp = json_object_get_array_member (a, "keypoints");
    JsonArray *bb = json_object_get_array_member (a, "bbox");
    gint64 image_id = json_object_get_int_member (a, "image_id");
    const char *file = NULL;
    Record *r;
    guint j;
    int k;

    for (j = 0; j < json_array_get_length (images); j++) {
      JsonObject *im = json_array_get_object_element (images, j);
      if (json_object_get_int_member (im, "id") == image_id)
        file = json_object_get_string_member (im, "file_name");
    }
    if (!file || json_array_get_length (kp) != 3 * K) {
      g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
          "%s: annotation %u: no image %" G_GINT64_FORMAT
          " or not %d keypoints",
          path, i, image_id, K);
      g_clear_pointer (&out, g_ptr_array_unref);
      goto done;
    }
    r = g_new0 (Record, 1);
    r->path = g_build_filename (image_dir, file, NULL);
    r->box[0] = json_array_get_double_element (bb, 0);
    r->box[1] = json_array_get_double_element (bb, 1);
    r->box[2] = r->box[0] + json_array_get_double_element (bb, 2);
    r->box[3] = r->box[1] + json_array_get_double_element (bb, 3);
    for (k = 0; k < K; k++) {
      int v = (int) json_array_get_double_element (kp, 3 * k + 2);
      r->xy[k][0] = json_array_get_double_element (kp, 3 * k);
      r->xy[k][1] = json_array_get_double_element (kp, 3 * k + 1);
      r->vis[k] = v == 2 ? 0 : v == 1 ? 1 : ABSENT;
    }
    g_ptr_array_add (out, r);
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
    fprintf (stderr, "\r%u/%u", i + 1, records->len);
  }
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
