/* A whole pipeline, from test source to files, runs to EOS. */

#include "gst-sanl-check.h"

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

/* 100 frames through every element into files, to EOS. */
GST_START_TEST (test_file_pipeline_to_eos)
{
  gchar *model = sanl_check_model ();
  gchar *dir = g_dir_make_tmp ("gst-sanl-pipeline-XXXXXX", NULL);
  gchar *video = g_build_filename (dir, "out.raw", NULL);
  gchar *json = g_build_filename (dir, "out.jsonl", NULL);
  gchar *launch = g_strdup_printf (
      "videotestsrc num-buffers=100 "
      "pattern=ball ! video/x-raw,width=80,height=60 ! videoconvert ! "
      "sanldetect model=\"%s\" inference-interval=2 ! sanloverlay ! "
      "sanljson location=\"%s\" ! videoconvert ! video/x-raw,format=I420 ! "
      "filesink location=\"%s\"",
      model, json, video);
  GStatBuf st;

  fail_unless (sanl_check_run (launch) == NULL);
  fail_unless (g_stat (video, &st) == 0);
  /* I420 80x60 is 7200 bytes a frame */
  fail_unless_equals_int64 (st.st_size, 100 * 7200);
  fail_unless_equals_int (count_lines (json), 100);

  g_unlink (video);
  g_unlink (json);
  g_rmdir (dir);
  g_free (launch);
  g_free (json);
  g_free (video);
  g_free (dir);
  g_free (model);
}

GST_END_TEST;

static Suite *
pipeline_suite (void)
{
  Suite *s = suite_create ("pipeline");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_file_pipeline_to_eos);
  return s;
}

SANL_CHECK_MAIN (pipeline);
