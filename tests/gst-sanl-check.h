/* Shared set-up of the element tests: a private registry that sees the
 * build tree's plugin, the test model, and frames with a known picture. */

#ifndef GST_SANL_CHECK_H
#define GST_SANL_CHECK_H

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>

#include "sanl/gstsanlmeta.h"

static gchar *sanl_check_registry;

/* Before gst_init: a fresh registry file, and the plugin from the build
 * tree (SANL_BUILD_ROOT comes from the meson test environment). */
G_GNUC_UNUSED static void
sanl_check_setup_env (void)
{
  const gchar *build = g_getenv ("SANL_BUILD_ROOT");
  gchar *plugins;
  gint fd;

  fd = g_file_open_tmp (
      "gst-sanl-registry-XXXXXX.bin", &sanl_check_registry, NULL);
  g_assert (fd >= 0);
  close (fd);
  g_unlink (sanl_check_registry);
  g_setenv ("GST_REGISTRY_1_0", sanl_check_registry, TRUE);

  g_assert (build != NULL);
  plugins = g_build_filename (build, "gst", NULL);
  g_setenv ("GST_PLUGIN_PATH_1_0", plugins, TRUE);
  g_free (plugins);
}

G_GNUC_UNUSED static void
sanl_check_cleanup_env (void)
{
  g_unlink (sanl_check_registry);
  g_free (sanl_check_registry);
}

/* The committed tiny model: random weights, so arbitrary but repeatable
 * landmarks. */
G_GNUC_UNUSED static gchar *
sanl_check_model (void)
{
  const gchar *src = g_getenv ("SANL_SOURCE_ROOT");

  g_assert (src != NULL);
  return g_build_filename (
      src, "tests", "fixtures", "tiny-seed1.safetensors", NULL);
}

/* A picture with structure in it (a soft blob on a gradient), the same
 * for every size, as ARGB. */
G_GNUC_UNUSED static guint32
sanl_check_pixel (gint x, gint y, gint width, gint height)
{
  gdouble u = (x + 0.5) / width, v = (y + 0.5) / height;
  gdouble d = (u - 0.45) * (u - 0.45) + (v - 0.55) * (v - 0.55);
  guint r = (guint) (255 * u), g = (guint) (255 * v);
  guint b = d < 0.06 ? 230 : (guint) (60 + 100 * u * v);

  return 0xff000000u | (r << 16) | (g << 8) | b;
}

/* A buffer of `format` holding the test picture, converted from ARGB;
 * `pad` extra bytes at the end of every row of every plane, filled with
 * junk, with a GstVideoMeta describing the strides. */
G_GNUC_UNUSED static GstBuffer *
sanl_check_frame (GstVideoFormat format, gint width, gint height, guint pad)
{
  GstVideoInfo src_info, info;
  GstVideoFrame src, dst;
  GstVideoConverter *conv;
  GstBuffer *src_buf, *buf;
  GstStructure *opts;
  gint x, y;
  guint i;

  gst_video_info_set_format (&src_info, GST_VIDEO_FORMAT_ARGB, width, height);
  src_buf = gst_buffer_new_allocate (NULL, src_info.size, NULL);
  gst_video_frame_map (&src, &src_info, src_buf, GST_MAP_WRITE);
  for (y = 0; y < height; y++) {
    guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&src, 0)
                  + y * GST_VIDEO_FRAME_PLANE_STRIDE (&src, 0);

    for (x = 0; x < width; x++) {
      guint32 p = sanl_check_pixel (x, y, width, height);

      row[4 * x] = p >> 24;
      row[4 * x + 1] = p >> 16;
      row[4 * x + 2] = p >> 8;
      row[4 * x + 3] = p;
    }
  }

  gst_video_info_set_format (&info, format, width, height);
  if (pad) {
    gsize offset = 0;
    guint n = GST_VIDEO_INFO_N_PLANES (&info);

    for (i = 0; i < n; i++) {
      gsize end = i + 1 < n ? info.offset[i + 1] : info.size;
      gint rows = (end - info.offset[i]) / info.stride[i];

      info.stride[i] += pad;
      info.offset[i] = offset;
      offset += (gsize) info.stride[i] * rows;
    }
    info.size = offset;
  }
  buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  gst_buffer_memset (buf, 0, 0xa5, info.size);
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE, format, width,
      height, GST_VIDEO_INFO_N_PLANES (&info), info.offset, info.stride);

  gst_video_frame_map (&dst, &info, buf, GST_MAP_WRITE);
  opts = gst_structure_new ("options", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD,
      GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_NONE,
      GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1, NULL);
  conv = gst_video_converter_new (&src_info, &info, opts);
  gst_video_converter_frame (conv, &src, &dst);
  gst_video_converter_free (conv);
  gst_video_frame_unmap (&dst);
  gst_video_frame_unmap (&src);
  gst_buffer_unref (src_buf);

  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 30;
  return buf;
}

G_GNUC_UNUSED static gchar *
sanl_check_caps (GstVideoFormat format, gint width, gint height)
{
  return g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
                          "framerate=30/1",
      gst_video_format_to_string (format), width, height);
}

G_GNUC_UNUSED static guint
sanl_check_count_metas (GstBuffer *buf)
{
  gpointer state = NULL;
  guint n = 0;

  while (gst_buffer_iterate_meta_filtered (buf, &state, GST_SANL_META_API_TYPE))
    n++;
  return n;
}

/* Landmarks equal to the bit, positions and scores. */
G_GNUC_UNUSED static gboolean
sanl_check_same_landmarks (const GstSanlMeta *a, const GstSanlMeta *b)
{
  guint k;

  if (a->n_landmarks != b->n_landmarks)
    return FALSE;
  for (k = 0; k < a->n_landmarks; k++) {
    if (a->landmarks[k].x != b->landmarks[k].x
        || a->landmarks[k].y != b->landmarks[k].y
        || a->landmarks[k].score != b->landmarks[k].score)
      return FALSE;
  }
  return TRUE;
}

/* Runs a launch line to EOS or error; returns the error message, if any. */
G_GNUC_UNUSED static GstMessage *
sanl_check_run (const gchar *launch)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  GstBus *bus;
  GstMessage *msg;

  g_assert_no_error (error);
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (
      bus, 120 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);

  fail_unless (msg != NULL, "no EOS or error within 120 s: %s", launch);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
    gst_message_unref (msg);
    return NULL;
  }
  return msg;
}

#define SANL_CHECK_MAIN(name)                                                  \
  int main (int argc, char **argv)                                             \
  {                                                                            \
    int failed;                                                                \
                                                                               \
    sanl_check_setup_env ();                                                   \
    gst_check_init (&argc, &argv);                                             \
    failed = gst_check_run_suite (name##_suite (), #name, __FILE__);           \
    sanl_check_cleanup_env ();                                                 \
    return failed;                                                             \
  }

#endif /* GST_SANL_CHECK_H */
