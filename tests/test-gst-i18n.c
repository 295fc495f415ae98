/* The plugin speaks the user's language: run as test-gst-i18n LANG with
 * SANL_LOCALEDIR pointing at the build tree's catalogues. */

#include <locale.h>

#include <gst/check/gstharness.h>

#include "gst-sanl-check.h"

#define MISSING "/nonexistent/garments.safetensors"

static const struct
{
  const gchar *language;
  const gchar *missing_model;
  const gchar *detector_name;
  const gchar *no_roi;
} expected[] = {
  { "de", "Die Modelldatei „" MISSING "“ existiert nicht.",
      "Erkennung von Kleidungs-Landmarken",
      "Ein Videobild ohne jeglichen Interessenbereich ist eingetroffen, "
      "daher wurde darin nach keinem Kleidungsstück gesucht." },
  { "fr", "Le fichier de modèle « " MISSING " » n’existe pas.",
      "Détecteur de points de repère vestimentaires",
      "Une image vidéo est arrivée sans aucune région d’intérêt : aucun "
      "vêtement n’y a été recherché." },
};

static guint lang;

GST_START_TEST (test_translated_error)
{
  GstMessage *msg = sanl_check_run ("videotestsrc num-buffers=1 ! "
                                    "sanldetect model=" MISSING " ! fakesink");
  GError *error = NULL;

  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless_equals_string (error->message, expected[lang].missing_model);
  g_error_free (error);
  gst_message_unref (msg);
}

GST_END_TEST;

GST_START_TEST (test_translated_element_name)
{
  GstElement *e = gst_element_factory_make ("sanldetect", NULL);

  fail_unless (e != NULL);
  fail_unless_equals_string (
      gst_element_get_metadata (e, GST_ELEMENT_METADATA_LONGNAME),
      expected[lang].detector_name);
  gst_object_unref (e);
}

GST_END_TEST;

/* The warning of roi-list mode when no region of interest comes. */
GST_START_TEST (test_translated_no_roi_warning)
{
  gchar *model = sanl_check_model ();
  gchar *launch = g_strdup_printf (
      "sanldetect model=\"%s\" inference-region=roi-list", model);
  GstHarness *h = gst_harness_new_parse (launch);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  GstBuffer *in;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h, "video/x-raw,format=RGB,width=16,"
                                   "height=16,framerate=30/1");
  in = gst_buffer_new_allocate (NULL, 16 * 16 * 3, NULL);
  gst_buffer_memset (in, 0, 128, 16 * 16 * 3);
  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  gst_message_parse_warning (msg, &error, NULL);
  fail_unless_equals_string (error->message, expected[lang].no_roi);

  g_error_free (error);
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (launch);
  g_free (model);
}

GST_END_TEST;

static Suite *
i18n_suite (void)
{
  Suite *s = suite_create ("i18n");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_translated_error);
  tcase_add_test (tc, test_translated_element_name);
  tcase_add_test (tc, test_translated_no_roi_warning);
  return s;
}

/* gettext ignores LANGUAGE in the "C" locale; C.UTF-8 is always there. */
int
main (int argc, char **argv)
{
  int failed;

  g_assert (argc >= 2);
  for (lang = 0; lang < G_N_ELEMENTS (expected); lang++)
    if (g_str_equal (argv[1], expected[lang].language))
      break;
  g_assert (lang < G_N_ELEMENTS (expected));

  g_setenv ("LANGUAGE", argv[1], TRUE);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
  setlocale (LC_ALL, "");

  sanl_check_setup_env ();
  argc = 1;
  gst_check_init (&argc, &argv);
  failed = gst_check_run_suite (i18n_suite (), "i18n", __FILE__);
  sanl_check_cleanup_env ();
  return failed;
}
