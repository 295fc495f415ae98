/* GstSanlMeta: defaults, copies, rescaling when the video is scaled, and
 * dropping when it is flipped. */

#include <gst/app/gstappsink.h>

#include "gst-sanl-check.h"

static GstSanlMeta *
filled_meta (GstBuffer *buf)
{
  GstSanlMeta *meta = gst_buffer_add_sanl_meta (buf);
  static const gfloat map[4] = { 0.0f, 0.25f, 0.5f, 1.0f };
  guint k;

  meta->x = 10;
  meta->y = 20;
  meta->width = 50;
  meta->height = 40;
  meta->category = 3;
  meta->category_name = g_quark_from_string ("skirt");
  meta->category_score = 0.75f;
  meta->roi_id = 12;
  meta->n_landmarks = 8;
  for (k = 0; k < 8; k++) {
    meta->landmarks[k].x = 11 + 5 * k;
    meta->landmarks[k].y = 21 + 4 * k;
    meta->landmarks[k].score = 0.1f * k;
    meta->landmarks[k].visibility = 0.05f * k;
    meta->landmarks[k].visible = k % 2;
    meta->landmarks[k].name = g_quark_from_string (k ? "hem" : "collar");
  }
  meta->attention_x = 10;
  meta->attention_y = 15;
  meta->attention_width = 50;
  meta->attention_height = 50;
  gst_sanl_meta_set_attention (meta, 0, 2, 2, map);
  return meta;
}

GST_START_TEST (test_meta_defaults)
{
  GstBuffer *buf = gst_buffer_new ();
  GstSanlMeta *meta = gst_buffer_add_sanl_meta (buf);

  fail_unless_equals_int (meta->category, -1);
  fail_unless_equals_int (meta->roi_id, -1);
  fail_unless_equals_int (meta->n_landmarks, 0);
  fail_unless_equals_int (meta->n_attention, 0);
  fail_unless (gst_sanl_meta_get_category_name (meta) == NULL);
  fail_unless (gst_meta_api_type_has_tag (
      GST_SANL_META_API_TYPE, g_quark_from_string (GST_META_TAG_VIDEO_STR)));
  gst_buffer_unref (buf);
}

GST_END_TEST;

/* A buffer copy carries an equal meta with its own attention memory. */
GST_START_TEST (test_meta_copy)
{
  GstBuffer *buf = gst_buffer_new ();
  GstSanlMeta *src = filled_meta (buf);
  GstBuffer *copy = gst_buffer_copy (buf);
  GstSanlMeta *dst = gst_buffer_get_sanl_meta (copy);
  guint k;

  fail_unless (dst != NULL && dst != src);
  fail_unless_equals_float (dst->x, 10);
  fail_unless_equals_float (dst->height, 40);
  fail_unless_equals_string (gst_sanl_meta_get_category_name (dst), "skirt");
  fail_unless_equals_float (dst->category_score, 0.75f);
  fail_unless_equals_int (dst->roi_id, 12);
  fail_unless_equals_int (dst->n_landmarks, 8);
  for (k = 0; k < 8; k++) {
    fail_unless_equals_float (dst->landmarks[k].x, src->landmarks[k].x);
    fail_unless_equals_float (dst->landmarks[k].y, src->landmarks[k].y);
    fail_unless_equals_int (dst->landmarks[k].visible, k % 2);
  }
  fail_unless_equals_string (
      gst_sanl_meta_get_landmark_name (dst, 0), "collar");
  fail_unless_equals_int (dst->n_attention, 1);
  fail_unless (dst->attention[0].data != src->attention[0].data);
  fail_unless_equals_float (dst->attention[0].data[3], 1.0f);

  gst_buffer_unref (buf);
  gst_buffer_unref (copy);
}

GST_END_TEST;

/* The scale transform: box corners by the ratio, landmark pixel centres
 * as (v + 0.5) * ratio - 0.5. */
GST_START_TEST (test_meta_scale_transform)
{
  GstBuffer *buf = gst_buffer_new ();
  GstBuffer *out = gst_buffer_new ();
  GstSanlMeta *src = filled_meta (buf);
  GstSanlMeta *dst;
  GstVideoInfo in_info, out_info;
  GstVideoMetaTransform trans = { &in_info, &out_info };
  guint k;

  gst_video_info_set_format (&in_info, GST_VIDEO_FORMAT_I420, 100, 80);
  gst_video_info_set_format (&out_info, GST_VIDEO_FORMAT_I420, 300, 40);
  fail_unless (src->meta.info->transform_func (out, &src->meta, buf,
      gst_video_meta_transform_scale_get_quark (), &trans));
  dst = gst_buffer_get_sanl_meta (out);

  fail_unless_equals_float (dst->x, 30);
  fail_unless_equals_float (dst->y, 10);
  fail_unless_equals_float (dst->width, 150);
  fail_unless_equals_float (dst->height, 20);
  for (k = 0; k < 8; k++) {
    fail_unless_equals_float (
        dst->landmarks[k].x, (11 + 5 * k + 0.5f) * 3 - 0.5f);
    fail_unless_equals_float (
        dst->landmarks[k].y, (21 + 4 * k + 0.5f) * 0.5f - 0.5f);
    fail_unless_equals_float (dst->landmarks[k].score, 0.1f * k);
  }
  fail_unless_equals_float (dst->attention_x, 30);
  fail_unless_equals_float (dst->attention_height, 25);

  gst_buffer_unref (buf);
  gst_buffer_unref (out);
}

GST_END_TEST;

static GstPadProbeReturn
record_meta (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GArray *metas = data;
  GstSanlMeta *meta
      = gst_buffer_get_sanl_meta (GST_PAD_PROBE_INFO_BUFFER (info));

  fail_unless (meta != NULL);
  g_array_append_vals (metas, meta, 1);
  return GST_PAD_PROBE_OK;
}

/* Through videoscale 160x120 -> 400x180, every frame's meta comes out
 * with the coordinates of the scaled frame. */
GST_START_TEST (test_meta_survives_videoscale)
{
  gchar *model = sanl_check_model ();
  gchar *launch = g_strdup_printf (
      "videotestsrc num-buffers=4 "
      "pattern=ball ! video/x-raw,format=I420,width=160,height=120 ! "
      "sanldetect name=d model=\"%s\" threshold=0 ! videoscale ! "
      "video/x-raw,width=400,height=180 ! appsink name=sink sync=false",
      model);
  GstElement *pipeline = gst_parse_launch (launch, NULL);
  GstElement *d = gst_bin_get_by_name (GST_BIN (pipeline), "d");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (d, "src");
  GArray *before = g_array_new (FALSE, FALSE, sizeof (GstSanlMeta));
  GstSample *sample;
  guint n = 0, k;

  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, record_meta, before, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
    GstSanlMeta *b = &g_array_index (before, GstSanlMeta, n);
    GstSanlMeta *a = gst_buffer_get_sanl_meta (gst_sample_get_buffer (sample));

    fail_unless (a != NULL, "frame %u lost its meta", n);
    fail_unless_equals_int (
        sanl_check_count_metas (gst_sample_get_buffer (sample)), 1);
    fail_unless_equals_float (a->x, b->x * 2.5f);
    fail_unless_equals_float (a->width, b->width * 2.5f);
    fail_unless_equals_float (a->height, b->height * 1.5f);
    for (k = 0; k < a->n_landmarks; k++) {
      fail_unless_equals_float (
          a->landmarks[k].x, (gfloat) ((b->landmarks[k].x + 0.5) * 2.5 - 0.5));
      fail_unless_equals_float (
          a->landmarks[k].y, (gfloat) ((b->landmarks[k].y + 0.5) * 1.5 - 0.5));
      fail_unless_equals_float (a->landmarks[k].score, b->landmarks[k].score);
    }
    gst_sample_unref (sample);
    n++;
  }
  fail_unless_equals_int (n, 4);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_array_free (before, TRUE);
  gst_object_unref (pad);
  gst_object_unref (d);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  g_free (launch);
  g_free (model);
}

GST_END_TEST;

/* Where videoflip moves the pixel (x, y) of a w x h frame. */
static void
flip_point (
    const gchar *direction, gint w, gint h, gint x, gint y, gint *fx, gint *fy)
{
  if (g_str_equal (direction, "horiz")) {
    *fx = w - 1 - x;
    *fy = y;
  } else if (g_str_equal (direction, "vert")) {
    *fx = x;
    *fy = h - 1 - y;
  } else {
    g_assert (g_str_equal (direction, "90r"));
    *fx = h - 1 - y;
    *fy = x;
  }
}

static const guint8 *
rgb_pixel (GstMapInfo *map, gint stride, gint x, gint y)
{
  return map->data + y * stride + 3 * x;
}

/* The output frame is the input flipped: checked on a few pixels, so the
 * test fails if videoflip left the frame alone. */
static void
check_flipped (const gchar *direction, GstBuffer *in, GstBuffer *out)
{
  static const gint points[][2] = { { 0, 0 }, { 5, 2 }, { 63, 47 }, { 40, 9 } };
  gint in_stride = GST_ROUND_UP_4 (64 * 3);
  gint out_stride
      = GST_ROUND_UP_4 ((g_str_equal (direction, "90r") ? 48 : 64) * 3);
  GstMapInfo a, b;
  guint i;

  gst_buffer_map (in, &a, GST_MAP_READ);
  gst_buffer_map (out, &b, GST_MAP_READ);
  for (i = 0; i < G_N_ELEMENTS (points); i++) {
    gint fx, fy;

    flip_point (direction, 64, 48, points[i][0], points[i][1], &fx, &fy);
    fail_unless (memcmp (rgb_pixel (&a, in_stride, points[i][0], points[i][1]),
                     rgb_pixel (&b, out_stride, fx, fy), 3)
                     == 0,
        "%s: pixel %d,%d did not move to %d,%d", direction, points[i][0],
        points[i][1], fx, fy);
  }
  gst_buffer_unmap (in, &a);
  gst_buffer_unmap (out, &b);
}

static GstPadProbeReturn
keep_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  g_ptr_array_add (data, gst_buffer_ref (GST_PAD_PROBE_INFO_BUFFER (info)));
  return GST_PAD_PROBE_OK;
}

/* videoflip after sanldetect must not pass on a meta whose points are
 * those of the unflipped frame. The meta has no mapping for flips and is
 * tagged "orientation", so it is dropped: every flipped frame comes out
 * with no GstSanlMeta, while the frames going in had one each. */
GST_START_TEST (test_meta_dropped_by_videoflip)
{
  static const gchar *directions[] = { "horiz", "90r", "vert" };
  gchar *model = sanl_check_model ();
  guint d;

  for (d = 0; d < G_N_ELEMENTS (directions); d++) {
    gchar *launch
        = g_strdup_printf ("videotestsrc num-buffers=2 pattern=smpte100 ! "
                           "video/x-raw,format=RGB,width=64,height=48 ! "
                           "sanldetect model=\"%s\" threshold=0 ! "
                           "videoflip name=flip video-direction=%s ! "
                           "appsink name=sink sync=false",
            model, directions[d]);
    GstElement *pipeline = gst_parse_launch (launch, NULL);
    GstElement *flip = gst_bin_get_by_name (GST_BIN (pipeline), "flip");
    GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
    GstPad *pad = gst_element_get_static_pad (flip, "sink");
    GPtrArray *in
        = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
    GstSample *sample;
    guint n = 0;

    gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, keep_buffer, in, NULL);
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (sink)))) {
      GstBuffer *out = gst_sample_get_buffer (sample);

      fail_unless (n < in->len);
      fail_unless_equals_int (sanl_check_count_metas (in->pdata[n]), 1);
      check_flipped (directions[d], in->pdata[n], out);
      fail_unless_equals_int (sanl_check_count_metas (out), 0);
      gst_sample_unref (sample);
      n++;
    }
    fail_unless_equals_int (n, 2);

    gst_element_set_state (pipeline, GST_STATE_NULL);
    g_ptr_array_unref (in);
    gst_object_unref (pad);
    gst_object_unref (flip);
    gst_object_unref (sink);
    gst_object_unref (pipeline);
    g_free (launch);
  }
  g_free (model);
}

GST_END_TEST;

/* A transform the meta has no mapping for (a flip, a crop) adds nothing
 * and says so. */
GST_START_TEST (test_meta_unknown_transform_dropped)
{
  GstBuffer *buf = gst_buffer_new ();
  GstBuffer *out = gst_buffer_new ();
  GstSanlMeta *src = filled_meta (buf);

  fail_if (src->meta.info->transform_func (out, &src->meta, buf,
      g_quark_from_static_string ("gst-video-flip"), NULL));
  fail_unless_equals_int (sanl_check_count_metas (out), 0);

  gst_buffer_unref (buf);
  gst_buffer_unref (out);
}

GST_END_TEST;

static Suite *
sanlmeta_suite (void)
{
  Suite *s = suite_create ("sanlmeta");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_meta_defaults);
  tcase_add_test (tc, test_meta_copy);
  tcase_add_test (tc, test_meta_scale_transform);
  tcase_add_test (tc, test_meta_survives_videoscale);
  tcase_add_test (tc, test_meta_dropped_by_videoflip);
  tcase_add_test (tc, test_meta_unknown_transform_dropped);
  return s;
}

SANL_CHECK_MAIN (sanlmeta);
