/* sanloverlay: what it draws and where, in each of its formats. */

#include <math.h>
#include <gst/check/gstharness.h>

#include "gst-sanl-check.h"

#define W 64
#define H 48
#define RADIUS 3.0

/* Three landmarks: a collar point, a sleeve point and a hem point; the
 * other five score too low to be drawn. */
static const gfloat pts[8][3] = {
  { 10, 12, 0.9f },
  { 0, 0, 0.0f },
  { 40, 30, 0.8f },
  { 0, 0, 0.0f },
  { 0, 0, 0.0f },
  { 0, 0, 0.0f },
  { 0, 0, 0.0f },
  { 25.5f, 40.25f, 0.7f },
};

static GstBuffer *
grey_frame (GstVideoFormat format, guint8 alpha)
{
  GstVideoInfo info;
  GstBuffer *buf;
  GstVideoFrame frame;
  gint x, y;

  gst_video_info_set_format (&info, format, W, H);
  buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE);
  for (y = 0; y < H; y++) {
    guint8 *row = (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
                  + y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);

    for (x = 0; x < W; x++) {
      row[4 * x] = row[4 * x + 1] = row[4 * x + 2] = 100;
      row[4 * x + 3] = alpha;
    }
  }
  gst_video_frame_unmap (&frame);
  GST_BUFFER_PTS (buf) = 0;
  return buf;
}

static void
add_meta (GstBuffer *buf)
{
  GstSanlMeta *meta = gst_buffer_add_sanl_meta (buf);
  guint k;

  meta->x = 2;
  meta->y = 2;
  meta->width = 60;
  meta->height = 44;
  meta->n_landmarks = 8;
  for (k = 0; k < 8; k++) {
    meta->landmarks[k].x = pts[k][0];
    meta->landmarks[k].y = pts[k][1];
    meta->landmarks[k].score = pts[k][2];
  }
}

static GstBuffer *
overlay (const gchar *props, GstVideoFormat format, GstBuffer *in)
{
  gchar *caps = sanl_check_caps (format, W, H);
  gchar *launch = g_strdup_printf ("sanloverlay %s", props);
  GstHarness *h = gst_harness_new_parse (launch);
  GstBuffer *out;

  gst_harness_set_src_caps_str (h, caps);
  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
  out = gst_harness_pull (h);
  gst_harness_teardown (h);
  g_free (launch);
  g_free (caps);
  return out;
}

#define POINTS_ONLY                                                            \
  "show-box=false show-outline=false show-category=false "                     \
  "show-labels=false point-size=3 min-score=0.5"

/* Distance from pixel (x, y)'s centre to the nearest drawn landmark. */
static gdouble
nearest_point (gint x, gint y)
{
  gdouble best = G_MAXDOUBLE;
  guint k;

  for (k = 0; k < 8; k++) {
    if (pts[k][2] < 0.5f)
      continue;
    best = MIN (best, hypot (x - pts[k][0], y - pts[k][1]));
  }
  return best;
}

static const guint8 *
pixel (GstMapInfo *map, gint x, gint y)
{
  return map->data + (y * W + x) * 4;
}

/* With only points drawn, a pixel changes exactly when it touches a dot:
 * never farther than the radius plus half a pixel's diagonal, always at
 * the landmark itself, and the centre pixel takes the group's colour. */
GST_START_TEST (test_points_only_change_pixels_at_landmarks)
{
  GstBuffer *in = grey_frame (GST_VIDEO_FORMAT_BGRx, 255);
  GstBuffer *out;
  GstMapInfo map;
  gint x, y;
  guint changed = 0;

  add_meta (in);
  out = overlay (POINTS_ONLY, GST_VIDEO_FORMAT_BGRx, in);
  gst_buffer_map (out, &map, GST_MAP_READ);
  for (y = 0; y < H; y++) {
    for (x = 0; x < W; x++) {
      const guint8 *p = pixel (&map, x, y);
      gboolean diff = p[0] != 100 || p[1] != 100 || p[2] != 100;
      gdouble d = nearest_point (x, y);

      if (diff) {
        changed++;
        fail_unless (d <= RADIUS + M_SQRT1_2, "(%d,%d) changed at %f", x, y, d);
      }
      /* Fully inside a dot: its pixel is all dot */
      if (d <= RADIUS - M_SQRT1_2)
        fail_unless (diff, "(%d,%d) unchanged at %f", x, y, d);
    }
  }
  fail_unless (changed > 0);

  /* Collar red (1.0, 0.15, 0.15), sleeve yellow (1.0, 0.85, 0) in BGRx */
  fail_unless_equals_int (pixel (&map, 10, 12)[2], 255);
  fail_unless (abs (pixel (&map, 10, 12)[1] - 38) <= 1);
  fail_unless (abs (pixel (&map, 40, 30)[1] - 217) <= 1);
  fail_unless_equals_int (pixel (&map, 40, 30)[0], 0);

  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
}

GST_END_TEST;

/* RGBx is BGRx with red and blue swapped, pixel for pixel. */
GST_START_TEST (test_rgbx_matches_bgrx)
{
  GstBuffer *a = grey_frame (GST_VIDEO_FORMAT_BGRx, 255);
  GstBuffer *b = grey_frame (GST_VIDEO_FORMAT_RGBx, 255);
  GstMapInfo ma, mb;
  gsize i;

  add_meta (a);
  add_meta (b);
  a = overlay ("show-labels=true", GST_VIDEO_FORMAT_BGRx, a);
  b = overlay ("show-labels=true", GST_VIDEO_FORMAT_RGBx, b);
  gst_buffer_map (a, &ma, GST_MAP_READ);
  gst_buffer_map (b, &mb, GST_MAP_READ);
  for (i = 0; i < ma.size; i += 4) {
    fail_unless_equals_int (ma.data[i], mb.data[i + 2]);
    fail_unless_equals_int (ma.data[i + 1], mb.data[i + 1]);
    fail_unless_equals_int (ma.data[i + 2], mb.data[i]);
  }
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  gst_buffer_unref (a);
  gst_buffer_unref (b);
}

GST_END_TEST;

/* On an opaque BGRA frame the drawing equals BGRx's and alpha stays 255;
 * a translucent frame keeps its alpha where nothing is drawn. */
GST_START_TEST (test_bgra_straight_alpha)
{
  GstBuffer *a = grey_frame (GST_VIDEO_FORMAT_BGRx, 255);
  GstBuffer *b = grey_frame (GST_VIDEO_FORMAT_BGRA, 255);
  GstBuffer *c = grey_frame (GST_VIDEO_FORMAT_BGRA, 128);
  GstMapInfo ma, mb, mc;
  gsize i;

  add_meta (a);
  add_meta (b);
  add_meta (c);
  a = overlay ("", GST_VIDEO_FORMAT_BGRx, a);
  b = overlay ("", GST_VIDEO_FORMAT_BGRA, b);
  c = overlay (POINTS_ONLY, GST_VIDEO_FORMAT_BGRA, c);
  gst_buffer_map (a, &ma, GST_MAP_READ);
  gst_buffer_map (b, &mb, GST_MAP_READ);
  gst_buffer_map (c, &mc, GST_MAP_READ);
  for (i = 0; i < ma.size; i += 4) {
    fail_unless (memcmp (ma.data + i, mb.data + i, 3) == 0);
    fail_unless_equals_int (mb.data[i + 3], 255);
  }
  /* Far from any dot: straight colour 100 at alpha 128 survives */
  fail_unless_equals_int (pixel (&mc, 60, 2)[0], 100);
  fail_unless_equals_int (pixel (&mc, 60, 2)[3], 128);
  /* At a dot: opaque */
  fail_unless_equals_int (pixel (&mc, 10, 12)[3], 255);
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  gst_buffer_unmap (c, &mc);
  gst_buffer_unref (a);
  gst_buffer_unref (b);
  gst_buffer_unref (c);
}

GST_END_TEST;

/* Premultiplying keeps only a few levels of a nearly transparent colour
 * (at alpha 4, 96 comes back as 128): every pixel the dots leave alone
 * must come back exactly as it went in, on frames of several alphas. */
GST_START_TEST (test_translucent_pixels_kept_exactly)
{
  static const guint8 alphas[] = { 1, 4, 77, 128, 254 };

  for (guint n = 0; n < G_N_ELEMENTS (alphas); n++) {
    GstBuffer *in = grey_frame (GST_VIDEO_FORMAT_BGRA, alphas[n]);
    GstBuffer *out;
    GstMapInfo map;
    guint kept = 0;

    /* colours no premultiplied round trip keeps at low alpha */
    gst_buffer_map (in, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < map.size; i += 4) {
      map.data[i] = 96;
      map.data[i + 1] = (i / 4) % 256;
      map.data[i + 2] = 255 - (i / 4) % 256;
    }
    gst_buffer_unmap (in, &map);
    add_meta (in);
    out = overlay (POINTS_ONLY, GST_VIDEO_FORMAT_BGRA, gst_buffer_copy (in));

    gst_buffer_map (out, &map, GST_MAP_READ);
    for (gint y = 0; y < H; y++)
      for (gint x = 0; x < W; x++) {
        const guint8 *p = pixel (&map, x, y);
        guint8 want[4]
            = { 96, (y * W + x) % 256, 255 - (y * W + x) % 256, alphas[n] };

        if (nearest_point (x, y) <= RADIUS + M_SQRT1_2)
          continue;
        fail_unless (memcmp (p, want, 4) == 0,
            "alpha %u: (%d,%d) is %u %u %u %u", alphas[n], x, y, p[0], p[1],
            p[2], p[3]);
        kept++;
      }
    fail_unless (kept > W * H / 2);
    /* the dots themselves are drawn opaque */
    fail_unless_equals_int (pixel (&map, 10, 12)[3], 255);
    gst_buffer_unmap (out, &map);
    gst_buffer_unref (out);
    gst_buffer_unref (in);
  }
}

GST_END_TEST;

/* No meta, no drawing. */
GST_START_TEST (test_no_meta_untouched)
{
  GstBuffer *ref = grey_frame (GST_VIDEO_FORMAT_BGRA, 77);
  GstBuffer *out = overlay ("", GST_VIDEO_FORMAT_BGRA, gst_buffer_copy (ref));

  GstMapInfo m;

  gst_buffer_map (ref, &m, GST_MAP_READ);
  fail_unless (gst_buffer_memcmp (out, 0, m.data, m.size) == 0);
  gst_buffer_unmap (ref, &m);
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
}

GST_END_TEST;

/* The outline and box add pixels away from the dots; min-score=1 hides
 * every point and the outline with them. */
GST_START_TEST (test_outline_and_min_score)
{
  GstBuffer *a = grey_frame (GST_VIDEO_FORMAT_BGRx, 255);
  GstBuffer *b = grey_frame (GST_VIDEO_FORMAT_BGRx, 255);
  GstMapInfo ma, mb;
  gint x, y;
  guint far = 0, changed = 0;

  add_meta (a);
  add_meta (b);
  a = overlay ("show-box=false show-category=false point-size=3 "
               "line-width=1 min-score=0.5",
      GST_VIDEO_FORMAT_BGRx, a);
  b = overlay ("show-box=false show-category=false min-score=1.0",
      GST_VIDEO_FORMAT_BGRx, b);
  gst_buffer_map (a, &ma, GST_MAP_READ);
  gst_buffer_map (b, &mb, GST_MAP_READ);
  for (y = 0; y < H; y++) {
    for (x = 0; x < W; x++) {
      if (pixel (&ma, x, y)[1] != 100 && nearest_point (x, y) > RADIUS + 1)
        far++;
      if (pixel (&mb, x, y)[1] != 100)
        changed++;
    }
  }
  fail_unless (far > 10, "outline drew %u pixels", far);
  fail_unless_equals_int (changed, 0);
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  gst_buffer_unref (a);
  gst_buffer_unref (b);
}

GST_END_TEST;

static gboolean
same_bytes (GstBuffer *a, GstBuffer *b)
{
  GstMapInfo m;
  gboolean same;

  gst_buffer_map (a, &m, GST_MAP_READ);
  same = gst_buffer_get_size (b) == m.size
         && gst_buffer_memcmp (b, 0, m.data, m.size) == 0;
  gst_buffer_unmap (a, &m);
  return same;
}

/* Points millions of pixels off the frame, or not numbers, draw nothing:
 * Cairo's fixed point would wrap 2^24 + 32 to 32, inside the 64x48 frame.
 * A box wholly off the frame draws neither itself nor its category. */
GST_START_TEST (test_far_points_draw_nothing)
{
  static const gfloat far[][2] = { { 16777216.0f + 32, 20 },
    { 4294967296.0f + 32, 20 }, { -4294967296.0f + 32, 20 }, { 20, 1e20f },
    { NAN, 20 }, { 20, INFINITY } };
  GstBuffer *ref = grey_frame (GST_VIDEO_FORMAT_BGRx, 255);
  GstBuffer *in = gst_buffer_copy (ref);
  GstSanlMeta *meta = gst_buffer_add_sanl_meta (in);
  GstBuffer *out;
  guint k;

  meta->x = meta->y = -294967296.0f;
  meta->width = meta->height = 10;
  meta->category = 0;
  meta->category_name = g_quark_from_string ("t-shirt");
  meta->category_score = 0.9f;
  meta->n_landmarks = G_N_ELEMENTS (far);
  for (k = 0; k < G_N_ELEMENTS (far); k++) {
    meta->landmarks[k].x = far[k][0];
    meta->landmarks[k].y = far[k][1];
    meta->landmarks[k].score = 0.9f;
    meta->landmarks[k].name = g_quark_from_string ("left_collar");
  }

  out = overlay ("show-labels=true show-box=true show-outline=true "
                 "show-category=true",
      GST_VIDEO_FORMAT_BGRx, in);
  fail_unless (same_bytes (ref, out));
  gst_buffer_unref (out);
  gst_buffer_unref (ref);
}

GST_END_TEST;

/* A box reaching 2^26 pixels left of the frame (past Cairo's 2^23) draws
 * exactly like the same box starting just off the frame's left edge. */
GST_START_TEST (test_huge_box_drawn_cut)
{
  GstBuffer *a = grey_frame (GST_VIDEO_FORMAT_BGRx, 255);
  GstBuffer *b = grey_frame (GST_VIDEO_FORMAT_BGRx, 255);
  GstBuffer *ref = gst_buffer_copy (a);
  GstSanlMeta *ma = gst_buffer_add_sanl_meta (a);
  GstSanlMeta *mb = gst_buffer_add_sanl_meta (b);
  const gchar *props = "show-box=true show-category=false line-width=1";

  /* Exact in float: 2^26 and 2^26 + 32 */
  ma->x = -67108864.0f;
  ma->y = 10;
  ma->width = 67108896.0f;
  ma->height = 20;
  mb->x = -5;
  mb->y = 10;
  mb->width = 37;
  mb->height = 20;

  a = overlay (props, GST_VIDEO_FORMAT_BGRx, a);
  b = overlay (props, GST_VIDEO_FORMAT_BGRx, b);
  fail_if (same_bytes (ref, b));
  fail_unless (same_bytes (a, b));
  gst_buffer_unref (a);
  gst_buffer_unref (b);
  gst_buffer_unref (ref);
}

GST_END_TEST;

static Suite *
sanloverlay_suite (void)
{
  Suite *s = suite_create ("sanloverlay");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_points_only_change_pixels_at_landmarks);
  tcase_add_test (tc, test_rgbx_matches_bgrx);
  tcase_add_test (tc, test_bgra_straight_alpha);
  tcase_add_test (tc, test_translucent_pixels_kept_exactly);
  tcase_add_test (tc, test_no_meta_untouched);
  tcase_add_test (tc, test_outline_and_min_score);
  tcase_add_test (tc, test_far_points_draw_nothing);
  tcase_add_test (tc, test_huge_box_drawn_cut);
  return s;
}

SANL_CHECK_MAIN (sanloverlay);
