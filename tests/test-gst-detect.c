/* sanldetect: caps, frame layouts, inference scheduling, regions, errors. */

#include <errno.h>
#include <math.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstharness.h>

#include "gst-sanl-check.h"

/* The tiny model's landmark count */
#define K 8

static GstHarness *
detect_harness (const gchar *props, const gchar *caps)
{
  gchar *model = sanl_check_model ();
  gchar *launch = g_strdup_printf (
      "sanldetect model=\"%s\" threshold=0 %s", model, props);
  GstHarness *h = gst_harness_new_parse (launch);

  gst_harness_set_src_caps_str (h, caps);
  g_free (launch);
  g_free (model);
  return h;
}

/* Pushes one frame and returns it back with its metas. */
static GstBuffer *
detect_one (const gchar *props, GstVideoFormat format, gint width, gint height,
    guint pad)
{
  gchar *caps = sanl_check_caps (format, width, height);
  GstHarness *h = detect_harness (props, caps);
  GstBuffer *out;

  fail_unless_equals_int (
      gst_harness_push (h, sanl_check_frame (format, width, height, pad)),
      GST_FLOW_OK);
  out = gst_harness_pull (h);
  gst_harness_teardown (h);
  g_free (caps);
  return out;
}

static void
check_finite (const GstSanlMeta *meta)
{
  guint k;

  for (k = 0; k < meta->n_landmarks; k++) {
    fail_unless (isfinite (meta->landmarks[k].x));
    fail_unless (isfinite (meta->landmarks[k].y));
    fail_unless (
        meta->landmarks[k].score >= 0.0f && meta->landmarks[k].score <= 1.0f);
  }
}

static const GstVideoFormat rgb_family[] = {
  GST_VIDEO_FORMAT_RGB,
  GST_VIDEO_FORMAT_BGR,
  GST_VIDEO_FORMAT_RGBx,
  GST_VIDEO_FORMAT_BGRx,
  GST_VIDEO_FORMAT_xRGB,
  GST_VIDEO_FORMAT_xBGR,
  GST_VIDEO_FORMAT_RGBA,
  GST_VIDEO_FORMAT_BGRA,
  GST_VIDEO_FORMAT_ARGB,
  GST_VIDEO_FORMAT_ABGR,
};

static const GstVideoFormat yuv_formats[] = {
  GST_VIDEO_FORMAT_I420,
  GST_VIDEO_FORMAT_NV12,
  GST_VIDEO_FORMAT_YUY2,
};

/* Every RGB layout of one picture is the same picture to the network. */
GST_START_TEST (test_caps_rgb_family_same_landmarks)
{
  GstBuffer *first = detect_one ("", GST_VIDEO_FORMAT_RGB, 64, 48, 0);
  GstSanlMeta *ref = gst_buffer_get_sanl_meta (first);
  guint i;

  fail_unless (ref != NULL);
  fail_unless_equals_int (ref->n_landmarks, K);
  for (i = 1; i < G_N_ELEMENTS (rgb_family); i++) {
    GstBuffer *out = detect_one ("", rgb_family[i], 64, 48, 0);
    GstSanlMeta *meta = gst_buffer_get_sanl_meta (out);

    fail_unless (
        meta != NULL, "%s", gst_video_format_to_string (rgb_family[i]));
    fail_unless_equals_int (sanl_check_count_metas (out), 1);
    fail_unless (sanl_check_same_landmarks (meta, ref), "%s differs from RGB",
        gst_video_format_to_string (rgb_family[i]));
    gst_buffer_unref (out);
  }
  gst_buffer_unref (first);
}

GST_END_TEST;

/* YUV goes straight in: one garment with K finite landmarks each. */
GST_START_TEST (test_caps_yuv_formats)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (yuv_formats); i++) {
    GstBuffer *out = detect_one ("", yuv_formats[i], 64, 48, 0);
    GstSanlMeta *meta = gst_buffer_get_sanl_meta (out);

    fail_unless (
        meta != NULL, "%s", gst_video_format_to_string (yuv_formats[i]));
    fail_unless_equals_int (meta->n_landmarks, K);
    check_finite (meta);
    gst_buffer_unref (out);
  }
}

GST_END_TEST;

/* A format outside the list is refused at negotiation. */
GST_START_TEST (test_caps_unsupported_format)
{
  GstHarness *h = detect_harness ("", "video/x-raw,format=GRAY8,width=16,"
                                      "height=16,framerate=30/1");
  GstBuffer *in = gst_buffer_new_allocate (NULL, 16 * 16, NULL);

  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Odd and large sizes in every format family: a meta, nothing broken. */
GST_START_TEST (test_odd_sizes)
{
  static const gint sizes[][2] = { { 1, 1 }, { 3, 5 }, { 1921, 1081 } };
  static const GstVideoFormat formats[] = {
    GST_VIDEO_FORMAT_RGB,
    GST_VIDEO_FORMAT_BGRx,
    GST_VIDEO_FORMAT_I420,
    GST_VIDEO_FORMAT_NV12,
    GST_VIDEO_FORMAT_YUY2,
  };
  guint s, f;

  for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
    for (f = 0; f < G_N_ELEMENTS (formats); f++) {
      GstBuffer *out = detect_one ("", formats[f], sizes[s][0], sizes[s][1], 0);
      GstSanlMeta *meta = gst_buffer_get_sanl_meta (out);

      fail_unless (meta != NULL, "%dx%d %s", sizes[s][0], sizes[s][1],
          gst_video_format_to_string (formats[f]));
      fail_unless_equals_int (meta->n_landmarks, K);
      fail_unless_equals_float (meta->width, sizes[s][0]);
      fail_unless_equals_float (meta->height, sizes[s][1]);
      check_finite (meta);
      gst_buffer_unref (out);
    }
  }
}

GST_END_TEST;

/* Padding after each row is not part of the picture. */
GST_START_TEST (test_padded_strides)
{
  static const GstVideoFormat formats[] = {
    GST_VIDEO_FORMAT_RGB,
    GST_VIDEO_FORMAT_BGRx,
    GST_VIDEO_FORMAT_I420,
    GST_VIDEO_FORMAT_NV12,
    GST_VIDEO_FORMAT_YUY2,
  };
  guint f;

  for (f = 0; f < G_N_ELEMENTS (formats); f++) {
    GstBuffer *tight = detect_one ("", formats[f], 37, 29, 0);
    GstBuffer *padded = detect_one ("", formats[f], 37, 29, 20);

    fail_unless (sanl_check_same_landmarks (gst_buffer_get_sanl_meta (tight),
                     gst_buffer_get_sanl_meta (padded)),
        "%s", gst_video_format_to_string (formats[f]));
    gst_buffer_unref (tight);
    gst_buffer_unref (padded);
  }
}

GST_END_TEST;

/* Frame i of a changing 48x48 RGB sequence (half filled with 40 i). */
static GstBuffer *
changing_frame (guint i)
{
  GstBuffer *in = sanl_check_frame (GST_VIDEO_FORMAT_RGB, 48, 48, 0);
  GstMapInfo map;

  gst_buffer_map (in, &map, GST_MAP_WRITE);
  memset (map.data, 40 * i, map.size / 2);
  gst_buffer_unmap (in, &map);
  GST_BUFFER_PTS (in) = i * GST_SECOND / 30;
  return in;
}

/* Returns the "sanldetect" element messages posted so far, in order. */
static GList *
pop_detect_messages (GstBus *bus)
{
  GList *list = NULL;
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    if (gst_message_has_name (msg, "sanldetect"))
      list = g_list_append (list, msg);
    else
      gst_message_unref (msg);
  }
  return list;
}

/* With inference-interval=3 every frame has the meta, the network runs on
 * frames 0, 3 and 6, and the frames between repeat the last result. */
GST_START_TEST (test_inference_interval)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 48, 48);
  GstHarness *h = detect_harness ("inference-interval=3 post-messages=true "
                                  "track=false",
      caps);
  GstBus *bus = gst_bus_new ();
  GstSanlMeta last = { { 0 } };
  GList *msgs, *l;
  guint i;

  gst_element_set_bus (h->element, bus);
  for (i = 0; i < 8; i++) {
    GstBuffer *out;
    GstSanlMeta *meta;

    /* A different picture every frame */
    fail_unless_equals_int (
        gst_harness_push (h, changing_frame (i)), GST_FLOW_OK);
    out = gst_harness_pull (h);
    meta = gst_buffer_get_sanl_meta (out);
    fail_unless (meta != NULL, "frame %u has no meta", i);
    fail_unless_equals_int (sanl_check_count_metas (out), 1);
    if (i % 3 != 0)
      fail_unless (sanl_check_same_landmarks (meta, &last), "frame %u", i);
    else if (i > 0)
      fail_if (sanl_check_same_landmarks (meta, &last), "frame %u", i);
    last = *meta;
    gst_buffer_unref (out);
  }

  msgs = pop_detect_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 8);
  for (l = msgs, i = 0; l; l = l->next, i++) {
    const GstStructure *s = gst_message_get_structure (l->data);
    gboolean inferred;
    guint64 frame;

    fail_unless (gst_structure_get_boolean (s, "inferred", &inferred));
    fail_unless (gst_structure_get_uint64 (s, "frame", &frame));
    fail_unless_equals_uint64 (frame, i);
    fail_unless_equals_int (inferred, i % 3 == 0);
    fail_unless_equals_int (
        gst_value_list_get_size (gst_structure_get_value (s, "garments")), 1);
  }
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* Pushes `n` different 48x48 RGB frames (frame i half filled with 40 i)
 * and checks that each comes back with one garment. */
static void
push_changing_frames (GstHarness *h, guint n)
{
  guint i;

  for (i = 0; i < n; i++) {
    GstBuffer *out;

    fail_unless_equals_int (
        gst_harness_push (h, changing_frame (i)), GST_FLOW_OK);
    out = gst_harness_pull (h);
    fail_unless (gst_buffer_get_sanl_meta (out) != NULL, "frame %u", i);
    fail_unless_equals_int (sanl_check_count_metas (out), 1);
    gst_buffer_unref (out);
  }
}

/* With attention-interval=3 Grad-CAM runs on inferences 0, 3 and 6 only;
 * the others reuse its maps and report its category. */
GST_START_TEST (test_attention_interval)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 48, 48);
  GstHarness *h = detect_harness ("attention-interval=3 inference-interval=1 "
                                  "post-messages=true track=false",
      caps);
  GstBus *bus = gst_bus_new ();
  const gchar *category = NULL;
  GList *msgs, *l;
  guint i, interval;
  GstElement *detect;

  detect = gst_harness_find_element (h, "sanldetect");
  g_object_get (detect, "attention-interval", &interval, NULL);
  fail_unless_equals_int (interval, 3);
  gst_object_unref (detect);

  gst_element_set_bus (h->element, bus);
  push_changing_frames (h, 7);

  msgs = pop_detect_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 7);
  for (l = msgs, i = 0; l; l = l->next, i++) {
    const GstStructure *s = gst_message_get_structure (l->data);
    const GstStructure *garment;
    gboolean inferred, computed;

    fail_unless (gst_structure_get_boolean (s, "inferred", &inferred));
    fail_unless (
        gst_structure_get_boolean (s, "attention-computed", &computed));
    fail_unless (inferred, "frame %u", i);
    fail_unless_equals_int (computed, i % 3 == 0);

    /* Between two computations the category is the stored one. */
    garment = gst_value_get_structure (
        gst_value_list_get_value (gst_structure_get_value (s, "garments"), 0));
    if (i % 3 != 0)
      fail_unless_equals_string (
          gst_structure_get_string (garment, "category"), category);
    category = gst_structure_get_string (garment, "category");
  }
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* attention-interval=1 computes the maps on every inference. */
GST_START_TEST (test_attention_interval_one)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 48, 48);
  GstHarness *h = detect_harness ("attention-interval=1 inference-interval=2 "
                                  "post-messages=true track=false",
      caps);
  GstBus *bus = gst_bus_new ();
  GList *msgs, *l;
  guint i;

  gst_element_set_bus (h->element, bus);
  push_changing_frames (h, 5);

  msgs = pop_detect_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 5);
  for (l = msgs, i = 0; l; l = l->next, i++) {
    gboolean computed;

    fail_unless (gst_structure_get_boolean (
        gst_message_get_structure (l->data), "attention-computed", &computed));
    fail_unless_equals_int (computed, i % 2 == 0);
  }
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* Two upstream regions give two garments, each at its region. */
GST_START_TEST (test_roi_list)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_BGRx, 96, 64);
  GstHarness *h = detect_harness ("inference-region=roi-list", caps);
  GstBuffer *in = sanl_check_frame (GST_VIDEO_FORMAT_BGRx, 96, 64, 0);
  GstVideoRegionOfInterestMeta *roi;
  GstBuffer *out;
  gpointer state = NULL;
  GstMeta *m;
  guint n = 0;

  roi = gst_buffer_add_video_region_of_interest_meta (
      in, "person", 10, 20, 40, 30);
  roi->id = 7;
  roi = gst_buffer_add_video_region_of_interest_meta (
      in, "person", 60, 4, 20, 50);
  roi->id = 9;

  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless_equals_int (sanl_check_count_metas (out), 2);
  while ((m = gst_buffer_iterate_meta_filtered (
              out, &state, GST_SANL_META_API_TYPE))) {
    GstSanlMeta *meta = (GstSanlMeta *) m;

    if (meta->roi_id == 7) {
      fail_unless_equals_float (meta->x, 10);
      fail_unless_equals_float (meta->y, 20);
      fail_unless_equals_float (meta->width, 40);
      fail_unless_equals_float (meta->height, 30);
    } else {
      fail_unless_equals_int (meta->roi_id, 9);
      fail_unless_equals_float (meta->x, 60);
      fail_unless_equals_float (meta->y, 4);
      fail_unless_equals_float (meta->width, 20);
      fail_unless_equals_float (meta->height, 50);
    }
    fail_unless_equals_int (meta->n_landmarks, K);
    n++;
  }
  fail_unless_equals_int (n, 2);

  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* The garment of `roi_id` on `buf`, or NULL. */
static GstSanlMeta *
meta_of_roi (GstBuffer *buf, gint roi_id)
{
  gpointer state = NULL;
  GstMeta *m;

  while ((m = gst_buffer_iterate_meta_filtered (
              buf, &state, GST_SANL_META_API_TYPE)))
    if (((GstSanlMeta *) m)->roi_id == roi_id)
      return (GstSanlMeta *) m;
  return NULL;
}

static void
add_roi (GstBuffer *buf, gint id, guint x, guint y, guint w, guint h)
{
  GstVideoRegionOfInterestMeta *roi
      = gst_buffer_add_video_region_of_interest_meta (
          buf, "person", x, y, w, h);

  roi->id = id;
}

/* Regions of interest are cut to the 320x240 frame with their edges summed
 * in 64 bits: ones past 2^31 or whose far edge passes 2^32 are not wrapped
 * to negative or small numbers; ones wholly outside give no garment. */
GST_START_TEST (test_roi_clipped_to_frame)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_BGRx, 320, 240);
  GstHarness *h = detect_harness ("inference-region=roi-list", caps);
  GstBuffer *in = sanl_check_frame (GST_VIDEO_FORMAT_BGRx, 320, 240, 0);
  GstBuffer *out;
  GstSanlMeta *meta;

  /* Outside: far away, wrapping past 2^32 to x1 = 4, on the right edge */
  add_roi (in, 1, 4000000000u, 4000000000u, 10, 10);
  add_roi (in, 2, G_MAXUINT - 5, 0, 10, 10);
  add_roi (in, 3, 320, 0, 5, 5);
  /* Partly inside, with huge sizes: 300..320 x 200..240, 100..320 x 100 */
  add_roi (in, 4, 300, 200, 4000000000u, 4000000000u);
  add_roi (in, 5, 100, 100, G_MAXINT, 1);

  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless_equals_int (sanl_check_count_metas (out), 2);

  meta = meta_of_roi (out, 4);
  fail_unless (meta != NULL);
  fail_unless_equals_float (meta->x, 300);
  fail_unless_equals_float (meta->y, 200);
  fail_unless_equals_float (meta->width, 20);
  fail_unless_equals_float (meta->height, 40);
  fail_unless_equals_int (meta->n_landmarks, K);

  meta = meta_of_roi (out, 5);
  fail_unless (meta != NULL);
  fail_unless_equals_float (meta->x, 100);
  fail_unless_equals_float (meta->y, 100);
  fail_unless_equals_float (meta->width, 220);
  fail_unless_equals_float (meta->height, 1);
  fail_unless_equals_int (meta->n_landmarks, K);

  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* Pushes a frame, with one region of interest if `with_roi`, and returns
 * how many garments came out. */
static guint
push_roi_frame (GstHarness *h, gboolean with_roi)
{
  GstBuffer *in = sanl_check_frame (GST_VIDEO_FORMAT_RGB, 48, 48, 0);
  GstBuffer *out;
  guint n;

  if (with_roi)
    add_roi (in, 1, 8, 8, 24, 24);
  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  out = gst_harness_pull (h);
  n = sanl_check_count_metas (out);
  gst_buffer_unref (out);
  return n;
}

/* The warnings posted so far, checking each one's text. */
static guint
count_no_roi_warnings (GstBus *bus)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *error = NULL;

    gst_message_parse_warning (msg, &error, NULL);
    fail_unless (
        g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT));
    fail_unless_equals_string (error->message,
        "A video frame arrived without any region of interest, so no "
        "garment was looked for in it.");
    g_error_free (error);
    gst_message_unref (msg);
    n++;
  }
  return n;
}

/* In roi-list mode the first frame of a stream without any region of
 * interest posts one warning; later ones, and frames with regions, post
 * none until the next stream starts. */
GST_START_TEST (test_roi_list_warns_once_per_stream)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 48, 48);
  GstHarness *h = detect_harness ("inference-region=roi-list", caps);
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (h->element, bus);
  fail_unless_equals_int (push_roi_frame (h, TRUE), 1);
  fail_unless_equals_int (count_no_roi_warnings (bus), 0);

  fail_unless_equals_int (push_roi_frame (h, FALSE), 0);
  fail_unless_equals_int (push_roi_frame (h, FALSE), 0);
  fail_unless_equals_int (push_roi_frame (h, TRUE), 1);
  fail_unless_equals_int (push_roi_frame (h, FALSE), 0);
  fail_unless_equals_int (count_no_roi_warnings (bus), 1);

  fail_unless (gst_harness_push_event (
      h, gst_event_new_stream_start ("another-stream")));
  fail_unless_equals_int (push_roi_frame (h, FALSE), 0);
  fail_unless_equals_int (push_roi_frame (h, FALSE), 0);
  fail_unless_equals_int (count_no_roi_warnings (bus), 1);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* Full-frame mode needs no region of interest and says nothing. */
GST_START_TEST (test_full_frame_no_roi_warning)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 48, 48);
  GstHarness *h = detect_harness ("", caps);
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (h->element, bus);
  fail_unless_equals_int (push_roi_frame (h, FALSE), 1);
  fail_unless_equals_int (count_no_roi_warnings (bus), 0);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* The square the tracked region must be, from the previous landmarks:
 * their pixels' box, grown by the margin on each side, squared, at least
 * an eighth of the shorter side, moved inside the frame. */
static void
expected_track_region (const GstSanlMeta *meta, gfloat margin, gint width,
    gint height, gfloat *x, gfloat *y, gfloat *w, gfloat *h)
{
  gfloat x0 = 1e9, y0 = 1e9, x1 = -1e9, y1 = -1e9, side;
  guint k;

  for (k = 0; k < meta->n_landmarks; k++) {
    if (!meta->landmarks[k].visible)
      continue;
    x0 = MIN (x0, meta->landmarks[k].x - 0.5f);
    y0 = MIN (y0, meta->landmarks[k].y - 0.5f);
    x1 = MAX (x1, meta->landmarks[k].x + 0.5f);
    y1 = MAX (y1, meta->landmarks[k].y + 0.5f);
  }
  side = MAX (
      MAX (x1 - x0, y1 - y0) * (1 + 2 * margin), MIN (width, height) / 8.0f);
  *w = MIN (side, width);
  *h = MIN (side, height);
  *x = CLAMP ((x0 + x1) / 2 - *w / 2, 0, width - *w);
  *y = CLAMP ((y0 + y1) / 2 - *h / 2, 0, height - *h);
}

static guint
count_visible (const GstSanlMeta *meta)
{
  guint k, n = 0;

  for (k = 0; k < meta->n_landmarks; k++)
    n += meta->landmarks[k].visible;
  return n;
}

/* The first inference sees the whole frame; the next one the box around
 * the landmarks found. With track=false every inference sees it all. */
GST_START_TEST (test_track_region)
{
  const gchar *src = "videotestsrc pattern=bar ! capsfilter caps=\"video/x-raw,"
                     "format=RGB,width=240,height=320,framerate=30/1\"";
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 240, 320);
  GstHarness *h = detect_harness ("track-margin=0.5", caps);
  GstHarness *off = detect_harness ("track=false", caps);
  GstBuffer *a, *b, *c;
  GstSanlMeta *meta0, *meta1;
  gfloat x, y, w, hh;

  gst_harness_add_src_parse (h, src, FALSE);
  gst_harness_add_src_parse (off, src, FALSE);
  gst_harness_push_from_src (h);
  gst_harness_push_from_src (h);
  a = gst_harness_pull (h);
  b = gst_harness_pull (h);
  meta0 = gst_buffer_get_sanl_meta (a);
  meta1 = gst_buffer_get_sanl_meta (b);

  fail_unless_equals_float (meta0->x, 0);
  fail_unless_equals_float (meta0->y, 0);
  fail_unless_equals_float (meta0->width, 240);
  fail_unless_equals_float (meta0->height, 320);

  /* The white bar gives the tiny model three visible points inside the
   * frame, spread over 147 pixels */
  fail_unless_equals_int (count_visible (meta0), 3);
  expected_track_region (meta0, 0.5f, 240, 320, &x, &y, &w, &hh);
  fail_unless (meta1 != NULL);
  fail_unless (fabsf (meta1->x - x) < 1e-3, "%f != %f", meta1->x, x);
  fail_unless (fabsf (meta1->y - y) < 1e-3, "%f != %f", meta1->y, y);
  fail_unless (fabsf (meta1->width - w) < 1e-3);
  fail_unless (fabsf (meta1->height - hh) < 1e-3);
  fail_unless (meta1->height < 300);

  gst_harness_push_from_src (off);
  gst_harness_push_from_src (off);
  gst_buffer_unref (gst_harness_pull (off));
  c = gst_harness_pull (off);
  fail_unless_equals_float (gst_buffer_get_sanl_meta (c)->width, 240);
  fail_unless_equals_float (gst_buffer_get_sanl_meta (c)->height, 320);

  gst_buffer_unref (a);
  gst_buffer_unref (b);
  gst_buffer_unref (c);
  gst_harness_teardown (h);
  gst_harness_teardown (off);
  g_free (caps);
}

GST_END_TEST;

/* smoothing=s gives s * previous + (1 - s) * measured per landmark. */
GST_START_TEST (test_smoothing)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 64, 64);
  GstHarness *raw = detect_harness ("track=false", caps);
  GstHarness *smooth = detect_harness ("track=false smoothing=0.25", caps);
  GstBuffer *r[2], *s[2];
  GstSanlMeta *r1, *r0, *s1;
  guint i, k;

  for (i = 0; i < 2; i++) {
    GstBuffer *in = sanl_check_frame (GST_VIDEO_FORMAT_RGB, 64, 64, 0);

    if (i == 1)
      gst_buffer_memset (in, 0, 200, 64 * 3 * 20);
    gst_harness_push (raw, gst_buffer_copy (in));
    gst_harness_push (smooth, in);
    r[i] = gst_harness_pull (raw);
    s[i] = gst_harness_pull (smooth);
  }
  r0 = gst_buffer_get_sanl_meta (r[0]);
  r1 = gst_buffer_get_sanl_meta (r[1]);
  s1 = gst_buffer_get_sanl_meta (s[1]);
  fail_unless (sanl_check_same_landmarks (r0, gst_buffer_get_sanl_meta (s[0])));
  fail_if (sanl_check_same_landmarks (r0, r1));
  for (k = 0; k < K; k++) {
    fail_unless (
        fabsf (s1->landmarks[k].x
               - (0.25f * r0->landmarks[k].x + 0.75f * r1->landmarks[k].x))
        < 1e-4);
    fail_unless (
        fabsf (s1->landmarks[k].y
               - (0.25f * r0->landmarks[k].y + 0.75f * r1->landmarks[k].y))
        < 1e-4);
  }

  for (i = 0; i < 2; i++) {
    gst_buffer_unref (r[i]);
    gst_buffer_unref (s[i]);
  }
  gst_harness_teardown (raw);
  gst_harness_teardown (smooth);
  g_free (caps);
}

GST_END_TEST;

/* attach-attention carries four maps over the network's square. */
GST_START_TEST (test_attach_attention)
{
  GstBuffer *out = detect_one (
      "attach-attention=true track=false", GST_VIDEO_FORMAT_RGB, 80, 40, 0);
  GstSanlMeta *meta = gst_buffer_get_sanl_meta (out);
  guint i, side;

  fail_unless_equals_int (meta->n_attention, 4);
  side = meta->attention[0].width;
  fail_unless (side > 0);
  for (i = 0; i < 4; i++) {
    fail_unless_equals_int (meta->attention[i].width, side >> i);
    fail_unless_equals_int (meta->attention[i].height, side >> i);
  }
  /* The 80x40 frame centred in an 80x80 square */
  fail_unless_equals_float (meta->attention_x, 0);
  fail_unless_equals_float (meta->attention_y, -20);
  fail_unless_equals_float (meta->attention_width, 80);
  fail_unless_equals_float (meta->attention_height, 80);
  gst_buffer_unref (out);

  out = detect_one ("track=false", GST_VIDEO_FORMAT_RGB, 80, 40, 0);
  fail_unless_equals_int (gst_buffer_get_sanl_meta (out)->n_attention, 0);
  gst_buffer_unref (out);
}

GST_END_TEST;

/* A frame that running the network would make late keeps the last
 * result; a frame with time to spare is analysed again. */
GST_START_TEST (test_qos_skips_inference)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 48, 48);
  GstHarness *h = detect_harness ("post-messages=true track=false", caps);
  GstBus *bus = gst_bus_new ();
  GstBuffer *in, *out;
  GList *msgs;
  gboolean inferred[3];
  guint i;

  gst_element_set_bus (h->element, bus);
  for (i = 0; i < 3; i++) {
    in = sanl_check_frame (GST_VIDEO_FORMAT_RGB, 48, 48, 0);
    GST_BUFFER_PTS (in) = i == 2 ? 100 * GST_SECOND : i * GST_SECOND;
    /* Downstream wants nothing before 1 s minus 1 ns */
    if (i == 1)
      gst_harness_push_upstream_event (
          h, gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW, 1.5, GST_SECOND / 2,
                 GST_SECOND / 2 - 1));
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    out = gst_harness_pull (h);
    fail_unless (gst_buffer_get_sanl_meta (out) != NULL);
    gst_buffer_unref (out);
  }

  msgs = pop_detect_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 3);
  for (i = 0; i < 3; i++)
    gst_structure_get_boolean (
        gst_message_get_structure (g_list_nth_data (msgs, i)), "inferred",
        &inferred[i]);
  fail_unless (inferred[0]);
  fail_if (inferred[1]);
  fail_unless (inferred[2]);

  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

static GError *
error_of (const gchar *launch, gchar **debug)
{
  GstMessage *msg = sanl_check_run (launch);
  GError *error = NULL;

  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR,
      "%s did not fail", launch);
  gst_message_parse_error (msg, &error, debug);
  gst_message_unref (msg);
  return error;
}

/* A missing model file is a not-found error naming the file. */
GST_START_TEST (test_missing_model)
{
  GError *error
      = error_of ("videotestsrc num-buffers=1 ! sanldetect "
                  "model=/nonexistent/garments.safetensors ! fakesink",
          NULL);

  fail_unless (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND));
  fail_unless_equals_string (error->message,
      "The model file \"/nonexistent/garments.safetensors\" does not exist.");
  g_error_free (error);
}

GST_END_TEST;

/* model="" and model=NULL both mean the default, here $SANL_MODEL, and
 * that model really runs. */
GST_START_TEST (test_empty_model_means_default)
{
  gchar *model = sanl_check_model ();
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 32, 32);
  GstElement *e;
  GstHarness *h;
  GstBuffer *out;
  gchar *now;

  g_setenv ("SANL_MODEL", model, TRUE);
  e = gst_element_factory_make ("sanldetect", NULL);
  g_object_set (e, "model", "/tmp/other.safetensors", NULL);
  g_object_set (e, "model", "", NULL);
  g_object_get (e, "model", &now, NULL);
  fail_unless_equals_string (now, model);
  g_free (now);
  g_object_set (e, "model", "/tmp/other.safetensors", NULL);
  g_object_set (e, "model", NULL, NULL);
  g_object_get (e, "model", &now, NULL);
  fail_unless_equals_string (now, model);
  g_free (now);
  gst_object_unref (e);

  h = gst_harness_new_parse ("sanldetect model=\"\" threshold=0");
  gst_harness_set_src_caps_str (h, caps);
  fail_unless_equals_int (
      gst_harness_push (h, sanl_check_frame (GST_VIDEO_FORMAT_RGB, 32, 32, 0)),
      GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless_equals_int (sanl_check_count_metas (out), 1);
  fail_unless_equals_int (gst_buffer_get_sanl_meta (out)->n_landmarks, K);

  gst_buffer_unref (out);
  gst_harness_teardown (h);
  g_unsetenv ("SANL_MODEL");
  g_free (caps);
  g_free (model);
}

GST_END_TEST;

/* The model property says every place the default comes from. */
GST_START_TEST (test_model_blurb)
{
  GstElement *e = gst_element_factory_make ("sanldetect", NULL);
  GParamSpec *pspec
      = g_object_class_find_property (G_OBJECT_GET_CLASS (e), "model");

  fail_unless_equals_string (g_param_spec_get_blurb (pspec),
      "Path of the .safetensors landmark model; empty or unset means the "
      "default: $SANL_MODEL, else the installed default model, else (run "
      "from a build tree) the source tree's sanl/models/default.safetensors");
  gst_object_unref (e);
}

GST_END_TEST;

/* A file that is not a model: the error names it, the debug text says
 * why. */
GST_START_TEST (test_corrupt_model)
{
  const gchar *src = g_getenv ("SANL_SOURCE_ROOT");
  gchar *path = g_build_filename (src, "tests", "meson.build", NULL);
  gchar *launch = g_strdup_printf ("videotestsrc num-buffers=1 ! sanldetect "
                                   "model=\"%s\" ! fakesink",
      path);
  gchar *expected
      = g_strdup_printf ("Could not load the model file \"%s\".", path);
  gchar *debug = NULL;
  GError *error = error_of (launch, &debug);

  fail_unless (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ));
  fail_unless_equals_string (error->message, expected);
  fail_unless (debug != NULL && strlen (debug) > 0);
  g_error_free (error);
  g_free (debug);
  g_free (expected);
  g_free (launch);
  g_free (path);
}

GST_END_TEST;

/* A link that loops onto itself is no missing file: the load error says
 * what the system made of it. */
GST_START_TEST (test_looping_link_model)
{
  gchar *dir = g_dir_make_tmp ("sanl-link-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "loop.safetensors", NULL);
  gchar *launch;
  gchar *debug = NULL;
  gchar *reason;
  GError *error;

  fail_unless (dir != NULL && symlink (path, path) == 0);
  reason = g_strdup_printf ("%s: cannot open: %s", path, g_strerror (ELOOP));
  launch = g_strdup_printf (
      "videotestsrc num-buffers=1 ! sanldetect model=\"%s\" ! fakesink", path);
  error = error_of (launch, &debug);
  fail_unless (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ));
  fail_unless (
      debug != NULL && strstr (debug, reason) != NULL, "debug: %s", debug);

  g_error_free (error);
  g_free (reason);
  g_free (debug);
  g_free (launch);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

GST_END_TEST;

/* Changing the model while playing is refused with a warning. */
GST_START_TEST (test_model_in_wrong_state)
{
  gchar *model = sanl_check_model ();
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 16, 16);
  GstHarness *h = detect_harness ("", caps);
  GstElement *detect = gst_harness_find_element (h, "sanldetect");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  gchar *now;

  gst_element_set_bus (h->element, bus);
  g_object_set (detect, "model", "/tmp/other.safetensors", NULL);
  g_object_get (detect, "model", &now, NULL);
  fail_unless_equals_string (now, model);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  gst_message_unref (msg);

  g_free (now);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_object_unref (detect);
  gst_harness_teardown (h);
  g_free (caps);
  g_free (model);
}

GST_END_TEST;

/* So is changing the thread count, which the engine shares process-wide. */
GST_START_TEST (test_threads_in_wrong_state)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 16, 16);
  GstHarness *h = detect_harness ("threads=2", caps);
  GstElement *detect = gst_harness_find_element (h, "sanldetect");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  gint now;

  gst_element_set_bus (h->element, bus);
  g_object_set (detect, "threads", 3, NULL);
  g_object_get (detect, "threads", &now, NULL);
  fail_unless_equals_int (now, 2);

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  gst_message_unref (msg);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_object_unref (detect);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* Two frames of colour bars at width x height through sanldetect with
 * tracking on: the first inference must find visible_first visible points,
 * the second must see the whole frame again. */
static void
check_next_region_is_whole_frame (gint width, gint height, guint visible_first)
{
  gchar *src
      = g_strdup_printf ("videotestsrc ! capsfilter caps=\"video/x-raw,"
                         "format=RGB,width=%d,height=%d,framerate=30/1\"",
          width, height);
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, width, height);
  GstHarness *h = detect_harness ("", caps);
  GstBuffer *a, *b;
  GstSanlMeta *meta1;

  gst_harness_add_src_parse (h, src, FALSE);
  gst_harness_push_from_src (h);
  gst_harness_push_from_src (h);
  a = gst_harness_pull (h);
  b = gst_harness_pull (h);
  fail_unless_equals_int (
      count_visible (gst_buffer_get_sanl_meta (a)), visible_first);

  meta1 = gst_buffer_get_sanl_meta (b);
  fail_unless_equals_float (meta1->x, 0);
  fail_unless_equals_float (meta1->y, 0);
  fail_unless_equals_float (meta1->width, width);
  fail_unless_equals_float (meta1->height, height);

  gst_buffer_unref (a);
  gst_buffer_unref (b);
  gst_harness_teardown (h);
  g_free (caps);
  g_free (src);
}

/* The colour bars give the tiny model two visible points: two points are
 * often one pair (a hem's ends), too few to place a region, so the next
 * inference sees the whole frame again. */
GST_START_TEST (test_track_needs_three_points)
{
  check_next_region_is_whole_frame (320, 240, 2);
}

GST_END_TEST;

/* On a 40x400 frame the tiny model puts four of its five visible points
 * on the frame's edge (clamped from the letterbox padding) and one inside:
 * too few to place a region, so the next inference sees the whole frame
 * again. Trusting the edge points would track to 0,234 40x166. */
GST_START_TEST (test_track_ignores_edge_points)
{
  check_next_region_is_whole_frame (40, 400, 5);
}

GST_END_TEST;

/* A flush (a seek) breaks the frames' continuity: with
 * inference-interval=3 the frame after it is inferred afresh on the whole
 * frame, exactly as a new element infers it, instead of carrying the
 * result (or the tracked region) of the frame before the flush. */
GST_START_TEST (test_flush_forgets_earlier_frames)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 48, 48);
  GstHarness *h = detect_harness ("inference-interval=3", caps);
  GstHarness *fresh = detect_harness ("inference-interval=3", caps);
  GstSegment segment;
  GstBuffer *out, *want;
  GstSanlMeta before;

  fail_unless_equals_int (
      gst_harness_push (h, changing_frame (0)), GST_FLOW_OK);
  out = gst_harness_pull (h);
  before = *gst_buffer_get_sanl_meta (out);
  gst_buffer_unref (out);

  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));

  fail_unless_equals_int (
      gst_harness_push (h, changing_frame (5)), GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless_equals_int (
      gst_harness_push (fresh, changing_frame (5)), GST_FLOW_OK);
  want = gst_harness_pull (fresh);
  fail_if (sanl_check_same_landmarks (gst_buffer_get_sanl_meta (out), &before));
  fail_unless (sanl_check_same_landmarks (
      gst_buffer_get_sanl_meta (out), gst_buffer_get_sanl_meta (want)));
  fail_unless_equals_float (gst_buffer_get_sanl_meta (out)->width, 48.0f);

  gst_buffer_unref (want);
  gst_buffer_unref (out);
  gst_harness_teardown (fresh);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

/* Frames in a segment of bytes (a plain appsrc) have no stream or running
 * time: the message says so (GST_CLOCK_TIME_NONE) instead of asking the
 * segment for times it cannot give, which GStreamer reports as a
 * critical warning and gst-check turns into a failure. */
GST_START_TEST (test_messages_in_bytes_segment)
{
  gchar *caps = sanl_check_caps (GST_VIDEO_FORMAT_RGB, 48, 48);
  GstHarness *h = detect_harness ("post-messages=true", caps);
  GstBus *bus = gst_bus_new ();
  GstSegment segment;
  GstBuffer *out;
  GList *msgs;
  guint64 stream_time, running_time, timestamp;

  gst_element_set_bus (h->element, bus);
  gst_segment_init (&segment, GST_FORMAT_BYTES);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  fail_unless_equals_int (
      gst_harness_push (h, changing_frame (1)), GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless (gst_buffer_get_sanl_meta (out) != NULL);

  msgs = pop_detect_messages (bus);
  fail_unless_equals_int (g_list_length (msgs), 1);
  fail_unless (gst_structure_get_uint64 (
      gst_message_get_structure (msgs->data), "stream-time", &stream_time));
  fail_unless (gst_structure_get_uint64 (
      gst_message_get_structure (msgs->data), "running-time", &running_time));
  fail_unless (gst_structure_get_uint64 (
      gst_message_get_structure (msgs->data), "timestamp", &timestamp));
  fail_unless_equals_uint64 (stream_time, GST_CLOCK_TIME_NONE);
  fail_unless_equals_uint64 (running_time, GST_CLOCK_TIME_NONE);
  fail_unless_equals_uint64 (timestamp, GST_SECOND / 30);
  g_list_free_full (msgs, (GDestroyNotify) gst_message_unref);

  gst_buffer_unref (out);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (caps);
}

GST_END_TEST;

static Suite *
sanldetect_suite (void)
{
  Suite *s = suite_create ("sanldetect");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_caps_rgb_family_same_landmarks);
  tcase_add_test (tc, test_caps_yuv_formats);
  tcase_add_test (tc, test_caps_unsupported_format);
  tcase_add_test (tc, test_odd_sizes);
  tcase_add_test (tc, test_padded_strides);
  tcase_add_test (tc, test_inference_interval);
  tcase_add_test (tc, test_attention_interval);
  tcase_add_test (tc, test_attention_interval_one);
  tcase_add_test (tc, test_roi_list);
  tcase_add_test (tc, test_roi_clipped_to_frame);
  tcase_add_test (tc, test_roi_list_warns_once_per_stream);
  tcase_add_test (tc, test_full_frame_no_roi_warning);
  tcase_add_test (tc, test_track_region);
  tcase_add_test (tc, test_track_ignores_edge_points);
  tcase_add_test (tc, test_track_needs_three_points);
  tcase_add_test (tc, test_flush_forgets_earlier_frames);
  tcase_add_test (tc, test_messages_in_bytes_segment);
  tcase_add_test (tc, test_smoothing);
  tcase_add_test (tc, test_attach_attention);
  tcase_add_test (tc, test_qos_skips_inference);
  tcase_add_test (tc, test_missing_model);
  tcase_add_test (tc, test_looping_link_model);
  tcase_add_test (tc, test_empty_model_means_default);
  tcase_add_test (tc, test_model_blurb);
  tcase_add_test (tc, test_corrupt_model);
  tcase_add_test (tc, test_model_in_wrong_state);
  tcase_add_test (tc, test_threads_in_wrong_state);
  return s;
}

SANL_CHECK_MAIN (sanldetect);
