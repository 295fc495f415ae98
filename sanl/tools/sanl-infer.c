/* sanl-infer: landmarks of still images, one JSON object per image per line.
 *
 *   sanl-infer --model sanl/models/default.safetensors shirt.jpg dress.png
 *   sanl-infer --model lite.safetensors --attention none \
 *       --dump outputs.safetensors shirt.png
 *
 * Each image is decoded (JPEG with libjpeg-turbo, PNG with libpng, told
 * apart by their first bytes) and run whole through the network. --dump
 * writes the raw outputs of the last image's run as F32 tensors in the
 * safetensors format to the file OUT, named as given, for comparison with
 * the PyTorch twin's infer.py. OUT is written in place (through a symbolic
 * link, to its target); one that exists and is not a regular file is
 * refused, untouched.
 *
 * JPEGs are decoded straight to BGRx and RGBA PNGs read as RGBx, so those
 * images go through the engine's BGRX and RGBX paths rather than RGB.
 *
 * --model defaults to $SANL_MODEL when that is set and not empty. Exit
 * status: 0, 1 when the model or any image failed, 2 for bad options. */

#include "sanl.h"
#include "sanl-image.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* More engine threads than this is a typo, not a machine. */
#define MAX_THREADS 256

/* ---------------------------------------------------------------------- */
/* Output                                                                  */

/* One line: {"image", "width", "height", "category", "category_score",
 * "landmarks": [{"name", "x", "y", "score", "visibility", "visible"}]}. */
static void
print_result (SanlModel *model, const char *path, const SanlResult *result,
    const SanlRect *frame)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *line = NULL;
  g_autofree char *image = g_filename_display_name (path);

  /* JSON is UTF-8: a name's invalid bytes become U+FFFD */
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, (gint64) frame->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, (gint64) frame->height);

  /* no classifier ran with attention off */
  json_builder_set_member_name (b, "category");
  if (result->category >= 0)
    json_builder_add_string_value (
        b, sanl_model_get_class_name (model, result->category));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "category_score");
  if (result->category >= 0)
    json_builder_add_double_value (b, result->category_score);
  else
    json_builder_add_null_value (b);

  json_builder_set_member_name (b, "landmarks");
  json_builder_begin_array (b);
  for (int k = 0; k < result->n_landmarks; k++) {
    const SanlLandmark *mark = &result->landmarks[k];

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, sanl_model_get_landmark_name (model, k));
    json_builder_set_member_name (b, "x");
    json_builder_add_double_value (b, mark->x);
    json_builder_set_member_name (b, "y");
    json_builder_add_double_value (b, mark->y);
    json_builder_set_member_name (b, "score");
    json_builder_add_double_value (b, mark->score);
    json_builder_set_member_name (b, "visibility");
    json_builder_add_double_value (b, mark->visibility);
    json_builder_set_member_name (b, "visible");
    json_builder_add_boolean_value (b, mark->visible);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  line = json_generator_to_data (gen, NULL);
  printf ("%s\n", line);
  fflush (stdout);
}

/* Names of the outputs in a dump, indexed by SanlOutput: the twin's keys. */
static const char *const output_names[SANL_N_OUTPUTS] = {
  [SANL_OUTPUT_INPUT] = "input",
  [SANL_OUTPUT_ATTENTION_1] = "attention.1",
  [SANL_OUTPUT_ATTENTION_2] = "attention.2",
  [SANL_OUTPUT_ATTENTION_3] = "attention.3",
  [SANL_OUTPUT_ATTENTION_4] = "attention.4",
  [SANL_OUTPUT_LOGITS] = "logits",
  [SANL_OUTPUT_HEATMAPS_COARSE] = "heatmaps.coarse",
  [SANL_OUTPUT_HEATMAPS_FINE] = "heatmaps.fine",
  [SANL_OUTPUT_VISIBILITY] = "visibility",
};

static gsize
tensor_numel (const SanlTensor *t)
{
  gsize n = 1;

  for (int d = 0; d < t->n_dims; d++)
    n *= t->shape[d];
  return n;
}

/* The safetensors header: each output the run made, F32, in SanlOutput
 * order, its data right after the previous one's. */
static char *
dump_header (
    const SanlTensor *outputs, const char *image_path, const char *model_path)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *image = g_filename_display_name (image_path);
  g_autofree char *model = g_filename_display_name (model_path);
  gsize offset = 0;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_end_object (b);

  for (int o = 0; o < SANL_N_OUTPUTS; o++) {
    const SanlTensor *t = &outputs[o];
    gsize bytes = tensor_numel (t) * sizeof (float);

    if (!t->data)
      continue;
    json_builder_set_member_name (b, output_names[o]);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, "F32");
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (int d = 0; d < t->n_dims; d++)
      json_builder_add_int_value (b, t->shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "data_offsets");
    json_builder_begin_array (b);
    json_builder_add_int_value (b, offset);
    json_builder_add_int_value (b, offset + bytes);
    json_builder_end_array (b);
    json_builder_end_object (b);
    offset += bytes;
  }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* Writes all of data to fd; FALSE, errno set, when a write fails. */
static gboolean
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0) {
    ssize_t n = write (fd, data, len);

    if (n < 0 && errno != EINTR)
      return FALSE;
    if (n > 0) {
      data += n;
      len -= n;
    }
  }
  return TRUE;
}

/* Writes data to path in place, following symbolic links, so that a link
 * keeps pointing at the file it names. A path that exists and is not a
 * regular file (a device, a pipe, a folder) is refused before it is opened,
 * and again after, should it have been swapped in between. */
static gboolean
write_regular_file (
    const char *path, const guint8 *data, gsize len, GError **error)
{
  GStatBuf st;
  gboolean ok;
  int fd, saved;

  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    goto not_regular;
  fd = g_open (path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0666);
  if (fd < 0) {
    saved = errno;
    goto failed;
  }
  if (fstat (fd, &st) == 0 && !S_ISREG (st.st_mode)) {
    close (fd);
    goto not_regular;
  }

  ok = ftruncate (fd, 0) == 0 && write_all (fd, data, len);
  saved = errno;
  if (close (fd) != 0 && ok) {
    saved = errno;
    ok = FALSE;
  }
  if (ok)
    return TRUE;

failed:
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
      "%s: cannot write: %s", path, g_strerror (saved));
  return FALSE;

not_regular:
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
      "%s: cannot write: not a regular file", path);
  return FALSE;
}

/* Whether --dump can write path, checked before any image is run, with
 * the words the write itself would use: an empty path, a path that
 * exists and is not a regular file (through links), or one whose folder
 * is missing. */
static gboolean
check_dump_target (const char *path, GError **error)
{
  g_autofree char *target = NULL;
  g_autofree char *folder = NULL;
  GStatBuf st;

  if (!*path) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
        "--dump: no file given: the path is empty");
    return FALSE;
  }
  if (g_stat (path, &st) == 0) {
    if (S_ISREG (st.st_mode))
      return TRUE;
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
        "%s: cannot write: not a regular file", path);
    return FALSE;
  }
  /* a new file, or a link to one: its folder must exist */
  target = g_file_read_link (path, NULL);
  if (target && !g_path_is_absolute (target)) {
    g_autofree char *base = g_path_get_dirname (path);
    char *joined = g_build_filename (base, target, NULL);

    g_free (target);
    target = joined;
  }
  folder = g_path_get_dirname (target ? target : path);
  if (g_file_test (folder, G_FILE_TEST_IS_DIR))
    return TRUE;
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: cannot write: %s",
      path, g_strerror (ENOENT));
  return FALSE;
}

/* OUT: 8-byte little-endian header length, the header padded with spaces
 * to a multiple of 8, then the little-endian F32 data. */
static gboolean
dump_outputs (SanlSession *session, const char *out_path,
    const char *image_path, GError **error)
{
  SanlTensor outputs[SANL_N_OUTPUTS];
  g_autofree char *header = NULL;
  g_autoptr (GByteArray) file = g_byte_array_new ();
  gsize header_len;
  guint64 len_le;

  for (int o = 0; o < SANL_N_OUTPUTS; o++)
    outputs[o] = sanl_session_get_output (session, o);
  header = dump_header (outputs, image_path,
      sanl_model_get_path (sanl_session_get_model (session)));

  header_len = (strlen (header) + 7) / 8 * 8;
  len_le = GUINT64_TO_LE ((guint64) header_len);
  g_byte_array_append (file, (const guint8 *) &len_le, 8);
  g_byte_array_append (file, (const guint8 *) header, strlen (header));
  for (gsize i = strlen (header); i < header_len; i++)
    g_byte_array_append (file, (const guint8 *) " ", 1);

  for (int o = 0; o < SANL_N_OUTPUTS; o++) {
    gsize n = tensor_numel (&outputs[o]);

    if (!outputs[o].data)
      continue;
    for (gsize i = 0; i < n; i++) {
      guint32 bits;

      memcpy (&bits, &outputs[o].data[i], 4);
      bits = GUINT32_TO_LE (bits);
      g_byte_array_append (file, (const guint8 *) &bits, 4);
    }
  }
  return write_regular_file (out_path, file->data, file->len, error);
}

/* ---------------------------------------------------------------------- */
/* Main                                                                    */

static char *opt_model = NULL;
static char *opt_attention = NULL;
static int opt_threads = 0;
static char *opt_dump = NULL;
static char **opt_images = NULL;

static const GOptionEntry entries[]
    = { { "model", 'm', 0, G_OPTION_ARG_FILENAME, &opt_model,
            "Model file (.safetensors; default: $SANL_MODEL)", "FILE" },
        { "attention", 'a', 0, G_OPTION_ARG_STRING, &opt_attention,
            "gradcam (default) or none", "MODE" },
        { "threads", 't', 0, G_OPTION_ARG_INT, &opt_threads,
            "Engine threads (0: one per processor)", "N" },
        { "dump", 'd', 0, G_OPTION_ARG_FILENAME, &opt_dump,
            "Write the last image's raw outputs to the file OUT, in the "
            "safetensors format",
            "OUT" },
        { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_images,
            NULL, "IMAGE..." },
        { NULL } };

static gboolean
parse_args (int *argc, char ***argv, SanlAttention *attention, GError **error)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (
      "- fashion landmarks of JPEG and PNG images as JSON lines");
  const char *env = g_getenv ("SANL_MODEL");

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, argc, argv, error))
    return FALSE;
  if (!opt_model && env && *env)
    opt_model = g_strdup (env);
  if (!opt_model || !opt_images || !opt_images[0]) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
        "need --model FILE (or $SANL_MODEL) and at least one IMAGE "
        "(see --help)");
    return FALSE;
  }
  if (!opt_attention || !strcmp (opt_attention, "gradcam"))
    *attention = SANL_ATTENTION_GRADCAM;
  else if (!strcmp (opt_attention, "none"))
    *attention = SANL_ATTENTION_NONE;
  else {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--attention must be gradcam or none, not \"%s\"", opt_attention);
    return FALSE;
  }
  if (opt_threads < 0 || opt_threads > MAX_THREADS) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
        "--threads must be from 0 (one per processor) to %d, not %d",
        MAX_THREADS, opt_threads);
    return FALSE;
  }
  return TRUE;
}

/* Decodes, runs and prints one image; dumps its outputs when dump_path. */
static gboolean
infer_one (SanlSession *session, const char *path, const char *dump_path,
    GError **error)
{
  SanlImage image;
  guint8 *pixels;
  SanlResult result;
  SanlRect whole;
  GError *run_error = NULL;
  gboolean ok;

  pixels = sanl_image_load (path, &image, error);
  if (!pixels)
    return FALSE;
  whole = (SanlRect){ 0, 0, image.width, image.height };
  ok = sanl_session_run (session, &image, &whole, &result, &run_error);
  g_free (pixels);
  if (ok)
    print_result (sanl_session_get_model (session), path, &result, &whole);

  /* dumped even when not finite: the dump shows where values went bad */
  if (dump_path
      && (ok || g_error_matches (run_error, SANL_ERROR, SANL_ERROR_NUMERIC))
      && !dump_outputs (session, dump_path, path, ok ? error : NULL))
    ok = FALSE;
  if (run_error) {
    g_propagate_prefixed_error (error, run_error, "%s: ", path);
    return FALSE;
  }
  return ok;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  SanlAttention attention;
  SanlModel *model;
  SanlSession *session;
  int n_images, status = 0;

  /* messages in the user's language and charset; numbers always with a
   * decimal point */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");

  if (!parse_args (&argc, &argv, &attention, &error)) {
    g_printerr ("sanl-infer: %s\n", error->message);
    return 2;
  }
  sanl_set_threads (opt_threads);
  if (opt_dump && !check_dump_target (opt_dump, &error)) {
    g_printerr ("sanl-infer: %s\n", error->message);
    return 1;
  }

  model = sanl_model_load (opt_model, &error);
  if (!model) {
    g_printerr ("sanl-infer: %s\n", error->message);
    return 1;
  }
  session = sanl_session_new (model, &error);
  if (!session) {
    g_printerr ("sanl-infer: %s\n", error->message);
    sanl_model_unref (model);
    return 1;
  }
  sanl_session_set_attention (session, attention);

  /* a bad image is reported and skipped; the exit status remembers it */
  n_images = g_strv_length (opt_images);
  for (int i = 0; i < n_images; i++) {
    const char *dump = i == n_images - 1 ? opt_dump : NULL;

    if (!infer_one (session, opt_images[i], dump, &error)) {
      g_printerr ("sanl-infer: %s\n", error->message);
      g_clear_error (&error);
      status = 1;
    }
  }

  sanl_session_free (session);
  sanl_model_unref (model);
  return status;
}
