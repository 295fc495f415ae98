/* sanldetect on the shared squats clip (skipped when the shared data is
 * not there). */

#include "gst-sanl-check.h"

static gchar *
clip_path (void)
{
  return g_build_filename (g_getenv ("SANL_SOURCE_ROOT"), "..", "shared",
      "data", "videos", "squats.mp4", NULL);
}

static gsize
count_lines (const gchar *path)
{
  gchar *contents;
  gsize n = 0;
  const gchar *p;

  fail_unless (g_file_get_contents (path, &contents, NULL, NULL));
  for (p = contents; *p; p++)
    n += *p == '\n';
  g_free (contents);
  return n;
}

/* The shared test clip decodes and gets one line per frame. */
GST_START_TEST (test_squats_clip)
{
  gchar *clip = clip_path ();
  gchar *model = sanl_check_model ();
  gchar *json
      = g_build_filename (g_get_tmp_dir (), "gst-sanl-squats.jsonl", NULL);
  gchar *launch = g_strdup_printf (
      "filesrc location=\"%s\" ! decodebin ! "
      "videoconvert ! sanldetect model=\"%s\" ! sanljson location=\"%s\" ! "
      "fakesink",
      clip, model, json);

  fail_unless (sanl_check_run (launch) == NULL);
  fail_unless_equals_int (count_lines (json), 65);

  g_unlink (json);
  g_free (launch);
  g_free (json);
  g_free (model);
  g_free (clip);
}

GST_END_TEST;

static Suite *
clip_suite (void)
{
  Suite *s = suite_create ("clip");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_squats_clip);
  return s;
}

int
main (int argc, char **argv)
{
  gchar *clip = clip_path ();
  gboolean have = g_file_test (clip, G_FILE_TEST_EXISTS);
  int failed;

  g_free (clip);
  if (!have)
    return 77;

  sanl_check_setup_env ();
  gst_check_init (&argc, &argv);
  failed = gst_check_run_suite (clip_suite (), "clip", __FILE__);
  sanl_check_cleanup_env ();
  return failed;
}
