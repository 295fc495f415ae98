/* 50 NULL -> PLAYING -> NULL cycles of a pipeline with every element;
 * run under valgrind, which fails the test on a definite leak. */

#include "gst-sanl-check.h"

#define CYCLES 50

int
main (int argc, char **argv)
{
  gchar *model, *launch;
  GstElement *pipeline;
  GstBus *bus;
  guint i;

  sanl_check_setup_env ();
  gst_init (&argc, &argv);

  model = sanl_check_model ();
  launch = g_strdup_printf (
      "videotestsrc num-buffers=2 ! "
      "video/x-raw,format=BGRx,width=64,height=48 ! sanldetect model=\"%s\" "
      "attach-attention=true post-messages=true ! sanloverlay "
      "show-attention=true show-labels=true ! sanljson location=/dev/null ! "
      "fakesink",
      model);
  pipeline = gst_parse_launch (launch, NULL);
  g_assert (pipeline != NULL);
  bus = gst_element_get_bus (pipeline);

  for (i = 0; i < CYCLES; i++) {
    GstMessage *msg;

    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    msg = gst_bus_timed_pop_filtered (
        bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (!msg || GST_MESSAGE_TYPE (msg) != GST_MESSAGE_EOS) {
      g_printerr ("cycle %u did not reach EOS\n", i);
      return 1;
    }
    gst_message_unref (msg);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_bus_set_flushing (bus, TRUE);
    gst_bus_set_flushing (bus, FALSE);
  }
  g_print ("%u cycles\n", CYCLES);

  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (launch);
  g_free (model);
  gst_deinit ();
  sanl_check_cleanup_env ();
  return 0;
}
