/* sanljson: one JSON object per frame that says what the metas say. */

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include <gst/check/gstharness.h>

#include "gst-sanl-check.h"

static GstPadProbeReturn
record_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GPtrArray *buffers = data;

  g_ptr_array_add (buffers, gst_buffer_ref (GST_PAD_PROBE_INFO_BUFFER (info)));
  return GST_PAD_PROBE_OK;
}

static gchar *
temp_path (const gchar *name)
{
  gchar *dir = g_dir_make_tmp ("gst-sanl-json-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, name, NULL);

  g_free (dir);
  return path;
}

static void
remove_temp (gchar *path)
{
  gchar *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

static void
check_garment (JsonObject *g, const GstSanlMeta *meta)
{
  JsonArray *box = json_object_get_array_member (g, "box");
  JsonArray *lms = json_object_get_array_member (g, "landmarks");
  guint k;

  fail_unless_equals_int (json_array_get_length (box), 4);
  fail_unless_equals_float (json_array_get_double_element (box, 0), meta->x);
  fail_unless_equals_float (json_array_get_double_element (box, 1), meta->y);
  fail_unless_equals_float (
      json_array_get_double_element (box, 2), meta->width);
  fail_unless_equals_float (
      json_array_get_double_element (box, 3), meta->height);
  fail_unless_equals_string (json_object_get_string_member (g, "category"),
      gst_sanl_meta_get_category_name (meta));
  fail_unless_equals_float (json_object_get_double_member (g, "category_score"),
      meta->category_score);
  fail_unless (json_object_get_null_member (g, "roi_id"));

  fail_unless_equals_int (json_array_get_length (lms), meta->n_landmarks);
  for (k = 0; k < meta->n_landmarks; k++) {
    JsonObject *l = json_array_get_object_element (lms, k);
    const GstSanlLandmark *m = &meta->landmarks[k];

    fail_unless_equals_string (
        json_object_get_string_member (l, "name"), g_quark_to_string (m->name));
    fail_unless_equals_float (
        (gfloat) json_object_get_double_member (l, "x"), m->x);
    fail_unless_equals_float (
        (gfloat) json_object_get_double_member (l, "y"), m->y);
    fail_unless_equals_float (
        (gfloat) json_object_get_double_member (l, "score"), m->score);
    fail_unless_equals_float (
        (gfloat) json_object_get_double_member (l, "visibility"),
        m->visibility);
    fail_unless_equals_int (
        json_object_get_boolean_member (l, "visible"), m->visible);
  }
}

/* Every line parses, and line n holds frame n's time, size and metas. */
GST_START_TEST (test_json_matches_metas)
{
  gchar *model = sanl_check_model ();
  gchar *path = temp_path ("out.jsonl");
  gchar *launch = g_strdup_printf (
      "videotestsrc num-buffers=5 ! "
      "video/x-raw,width=96,height=72,framerate=25/1 ! sanldetect "
      "model=\"%s\" threshold=0 inference-interval=2 ! sanljson name=j "
      "location=\"%s\" ! fakesink",
      model, path);
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  GstElement *j = gst_bin_get_by_name (GST_BIN (pipeline), "j");
  GstPad *pad = gst_element_get_static_pad (j, "src");
  GPtrArray *buffers
      = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  gchar *contents, **lines;
  guint i;

  gst_pad_add_probe (
      pad, GST_PAD_PROBE_TYPE_BUFFER, record_buffer, buffers, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (
      bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);

  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 6);
  fail_unless_equals_string (lines[5], "");
  fail_unless_equals_int (buffers->len, 5);

  for (i = 0; i < 5; i++) {
    GstBuffer *buf = g_ptr_array_index (buffers, i);
    JsonParser *parser = json_parser_new ();
    JsonObject *o;
    JsonArray *garments;
    GError *error = NULL;

    fail_unless (json_parser_load_from_data (parser, lines[i], -1, &error),
        "line %u: %s", i, error ? error->message : "");
    o = json_node_get_object (json_parser_get_root (parser));
    fail_unless_equals_int64 (
        json_object_get_int_member (o, "pts"), GST_BUFFER_PTS (buf));
    fail_unless_equals_int64 (
        json_object_get_int_member (o, "pts"), i * GST_SECOND / 25);
    fail_unless_equals_int (json_object_get_int_member (o, "frame"), i);
    fail_unless_equals_int (json_object_get_int_member (o, "width"), 96);
    fail_unless_equals_int (json_object_get_int_member (o, "height"), 72);
    garments = json_object_get_array_member (o, "garments");
    fail_unless_equals_int (json_array_get_length (garments), 1);
    fail_unless_equals_int (sanl_check_count_metas (buf), 1);
    check_garment (json_array_get_object_element (garments, 0),
        gst_buffer_get_sanl_meta (buf));
    g_object_unref (parser);
  }

  g_strfreev (lines);
  g_free (contents);
  g_ptr_array_unref (buffers);
  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (j);
  gst_object_unref (pipeline);
  g_free (launch);
  remove_temp (path);
  g_free (model);
}

GST_END_TEST;

/* A frame without garments still gets its line, with an empty list and
 * a null timestamp when it has none. */
GST_START_TEST (test_json_frames_without_garments)
{
  gchar *path = temp_path ("empty.jsonl");
  gchar *launch = g_strdup_printf (
      "videotestsrc num-buffers=3 ! "
      "video/x-raw,width=8,height=6 ! sanljson location=\"%s\" ! fakesink",
      path);
  gchar *contents;

  fail_unless (sanl_check_run (launch) == NULL);
  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless_equals_string (contents,
      "{\"pts\":0,\"frame\":0,\"width\":8,\"height\":6,\"garments\":[]}\n"
      "{\"pts\":33333333,\"frame\":1,\"width\":8,\"height\":6,"
      "\"garments\":[]}\n"
      "{\"pts\":66666666,\"frame\":2,\"width\":8,\"height\":6,"
      "\"garments\":[]}\n");
  g_free (contents);
  g_free (launch);
  remove_temp (path);
}

GST_END_TEST;

/* An unwritable location is an open-for-writing error naming it. */
GST_START_TEST (test_json_unwritable_location)
{
  GstMessage *msg
      = sanl_check_run ("videotestsrc num-buffers=1 ! sanljson "
                        "location=/nonexistent-dir/out.jsonl ! fakesink");
  GError *error = NULL;

  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE));
  fail_unless_equals_string (error->message,
      "Could not open file \"/nonexistent-dir/out.jsonl\" for writing.");
  g_error_free (error);
  gst_message_unref (msg);
}

GST_END_TEST;

/* A meta made by another element may hold NaN, infinity or a landmark
 * count past the array: the line stays valid JSON and in bounds. */
GST_START_TEST (test_json_non_finite_values_are_null)
{
  gchar *path = temp_path ("odd.jsonl");
  gchar *launch = g_strdup_printf ("sanljson location=\"%s\"", path);
  GstHarness *h = gst_harness_new_parse (launch);
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, 4 * 2 * 4, NULL);
  GstSanlMeta *meta = gst_buffer_add_sanl_meta (buffer);
  JsonParser *parser = json_parser_new ();
  JsonArray *garments, *marks;
  gchar *contents;

  meta->x = NAN;
  meta->y = 1.0f;
  meta->width = INFINITY;
  meta->height = 2.0f;
  meta->n_landmarks = 1000;
  for (guint k = 0; k < GST_SANL_META_MAX_LANDMARKS; k++)
    meta->landmarks[k].x = k == 0 ? -INFINITY : 3.0f;
  GST_BUFFER_PTS (buffer) = 0;

  gst_harness_set_src_caps_str (
      h, "video/x-raw,format=BGRx,width=4,height=2,framerate=1/1");
  gst_buffer_unref (gst_harness_push_and_pull (h, buffer));
  gst_harness_teardown (h);

  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  fail_unless (g_str_has_prefix (contents,
      "{\"pts\":0,\"frame\":0,\"width\":4,\"height\":2,"
      "\"garments\":[{\"box\":[null,1.0,null,2.0],"));
  fail_unless (
      strstr (contents, "\"landmarks\":[{\"name\":null,\"x\":null,") != NULL);

  /* The line parses, with one entry per landmark the meta can hold. */
  fail_unless (json_parser_load_from_data (parser, contents, -1, NULL));
  garments = json_object_get_array_member (
      json_node_get_object (json_parser_get_root (parser)), "garments");
  marks = json_object_get_array_member (
      json_array_get_object_element (garments, 0), "landmarks");
  fail_unless_equals_int (
      json_array_get_length (marks), GST_SANL_META_MAX_LANDMARKS);

  g_object_unref (parser);
  g_free (contents);
  g_free (launch);
  remove_temp (path);
}

GST_END_TEST;

/* The file's contents after running launch (with %s for its path) on a
 * file that held `before` (none when NULL); NULL when no file is left.
 * The run's error message, if any, in *msg. */
static gchar *
contents_after_run (
    const gchar *launch_format, const gchar *before, GstMessage **msg)
{
  gchar *path = temp_path ("out.jsonl");
  gchar *launch = g_strdup_printf (launch_format, path);
  gchar *contents = NULL;

  if (before)
    fail_unless (g_file_set_contents (path, before, -1, NULL));
  *msg = sanl_check_run (launch);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  remove_temp (path);
  g_free (launch);
  return contents;
}

/* A pipeline that fails before its first frame (the model upstream is
 * missing) leaves the landmarks of an earlier run in place, and no file
 * where there was none: an empty one would pass for an empty stream's. */
GST_START_TEST (test_json_failed_start_keeps_file)
{
  const gchar *launch = "videotestsrc num-buffers=2 ! sanldetect "
                        "model=/nonexistent/model.safetensors ! "
                        "sanljson location=\"%s\" ! fakesink";
  GstMessage *msg;
  gchar *contents
      = contents_after_run (launch, "{\"frame\": 0}\n{\"frame\": 1}\n", &msg);

  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
  fail_unless_equals_string (contents, "{\"frame\": 0}\n{\"frame\": 1}\n");
  gst_message_unref (msg);
  g_free (contents);

  contents = contents_after_run (launch, NULL, &msg);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR);
  fail_unless (contents == NULL, "a file was left: \"%s\"", contents);
  gst_message_unref (msg);
}

GST_END_TEST;

/* A run replaces an earlier, longer file whole: its two lines and
 * nothing of what was there; a stream that ends before any frame leaves
 * an empty file, whether or not one was there. */
GST_START_TEST (test_json_run_replaces_file)
{
  GString *earlier = g_string_new (NULL);
  GstMessage *msg;
  gchar *contents, **lines;

  for (guint i = 0; i < 50; i++)
    g_string_append_printf (earlier, "{\"frame\": %u, \"old\": true}\n", i);

  contents = contents_after_run (
      "videotestsrc num-buffers=2 ! video/x-raw,width=32,height=24 ! "
      "sanljson location=\"%s\" ! fakesink",
      earlier->str, &msg);
  fail_unless (msg == NULL);
  lines = g_strsplit (contents, "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 3);
  fail_unless_equals_string (lines[0],
      "{\"pts\":0,\"frame\":0,\"width\":32,\"height\":24,\"garments\":[]}");
  fail_unless (g_str_has_prefix (lines[1], "{\"pts\":"));
  fail_unless_equals_string (lines[2], "");
  fail_if (strstr (contents, "old") != NULL);
  g_strfreev (lines);
  g_free (contents);

  contents = contents_after_run (
      "videotestsrc num-buffers=0 ! sanljson location=\"%s\" ! fakesink",
      earlier->str, &msg);
  fail_unless (msg == NULL);
  fail_unless_equals_string (contents, "");
  g_free (contents);

  /* an empty stream's file is a result too, also where none was before */
  contents = contents_after_run (
      "videotestsrc num-buffers=0 ! sanljson location=\"%s\" ! fakesink", NULL,
      &msg);
  fail_unless (msg == NULL);
  fail_unless_equals_string (contents, "");
  g_free (contents);
  g_string_free (earlier, TRUE);
}

GST_END_TEST;

static Suite *
sanljson_suite (void)
{
  Suite *s = suite_create ("sanljson");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_json_matches_metas);
  tcase_add_test (tc, test_json_frames_without_garments);
  tcase_add_test (tc, test_json_unwritable_location);
  tcase_add_test (tc, test_json_failed_start_keeps_file);
  tcase_add_test (tc, test_json_run_replaces_file);
  tcase_add_test (tc, test_json_non_finite_values_are_null);
  return s;
}

SANL_CHECK_MAIN (sanljson);
