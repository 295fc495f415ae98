/* GStreamer fashion landmark overlay
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-sanloverlay
 * @title: sanloverlay
 * @see_also: sanldetect
 *
 * Draws the #GstSanlMeta of each frame with Cairo: the landmarks coloured
 * by group (collar red, sleeve yellow, waistline green, hem blue), the
 * garment outline joining them, and optionally their names, the region
 * box, the category and a translucent attention heat map. Sizes follow
 * the frame unless #GstSanlOverlay:point-size and
 * #GstSanlOverlay:line-width are set.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! sanldetect attach-attention=true ! \
 *     sanloverlay show-labels=true show-attention=true ! videoconvert ! \
 *     autovideosink
 * ]| Shows the camera with the garment's landmarks, their names and where
 * the network looked.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <cairo.h>

#include "gstsanlelements.h"
#include "gstsanloverlay.h"
#include "sanl/gstsanlmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_sanl_overlay_debug);
#define GST_CAT_DEFAULT gst_sanl_overlay_debug

#define DEFAULT_SHOW_LABELS FALSE
#define DEFAULT_SHOW_BOX TRUE
#define DEFAULT_SHOW_CATEGORY TRUE
#define DEFAULT_SHOW_OUTLINE TRUE
#define DEFAULT_SHOW_ATTENTION FALSE
/* Matches sanldetect's default threshold, tuned to the default model. */
#define DEFAULT_MIN_SCORE 0.02f
#define DEFAULT_POINT_SIZE 0.0
#define DEFAULT_LINE_WIDTH 0.0

enum
{
  PROP_0,
  PROP_SHOW_LABELS,
  PROP_SHOW_BOX,
  PROP_SHOW_CATEGORY,
  PROP_SHOW_OUTLINE,
  PROP_SHOW_ATTENTION,
  PROP_MIN_SCORE,
  PROP_POINT_SIZE,
  PROP_LINE_WIDTH,
};

/* Cairo's pixels are native-endian 32-bit words: the first two formats
 * are its own, the other two have red and blue swapped. */
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define VIDEO_FORMATS "{ BGRx, BGRA, RGBx, RGBA }"
#define SWAPPED(f)                                                             \
  ((f) == GST_VIDEO_FORMAT_RGBx || (f) == GST_VIDEO_FORMAT_RGBA)
#else
#define VIDEO_FORMATS "{ xRGB, ARGB, xBGR, ABGR }"
#define SWAPPED(f)                                                             \
  ((f) == GST_VIDEO_FORMAT_xBGR || (f) == GST_VIDEO_FORMAT_ABGR)
#endif

static GstStaticPadTemplate gst_sanl_overlay_sink_template
    = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (VIDEO_FORMATS)));

static GstStaticPadTemplate gst_sanl_overlay_src_template
    = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (VIDEO_FORMATS)));

/* Group colours (collar, sleeve, waistline, hem), RGB */
static const gdouble group_colours[4][3] = {
  { 1.0, 0.15, 0.15 },
  { 1.0, 0.85, 0.0 },
  { 0.15, 0.9, 0.15 },
  { 0.2, 0.55, 1.0 },
};

/* The garment outline through the eight FLD landmarks: down the left side
 * (collar, sleeve, waistline, hem), back up the right. */
static const guint fld_outline[8] = { 0, 2, 4, 6, 7, 5, 3, 1 };

static void gst_sanl_overlay_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sanl_overlay_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);

static gboolean gst_sanl_overlay_stop (GstBaseTransform *trans);
static GstFlowReturn gst_sanl_overlay_transform_frame_ip (
    GstVideoFilter *filter, GstVideoFrame *frame);

#define gst_sanl_overlay_parent_class parent_class
G_DEFINE_TYPE (GstSanlOverlay, gst_sanl_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (
    sanloverlay, "sanloverlay", GST_RANK_NONE, GST_TYPE_SANL_OVERLAY);

static void
gst_sanl_overlay_class_init (GstSanlOverlayClass *klass)
{
  GObjectClass *gobject_class = (GObjectClass *) klass;
  GstElementClass *element_class = (GstElementClass *) klass;
  GstBaseTransformClass *trans_class = (GstBaseTransformClass *) klass;
  GstVideoFilterClass *filter_class = (GstVideoFilterClass *) klass;
  const GParamFlags flags
      = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT (
      gst_sanl_overlay_debug, "sanloverlay", 0, "Fashion landmark overlay");

  gobject_class->set_property = gst_sanl_overlay_set_property;
  gobject_class->get_property = gst_sanl_overlay_get_property;

  g_object_class_install_property (gobject_class, PROP_SHOW_LABELS,
      g_param_spec_boolean ("show-labels", "Show labels",
          "Write each landmark's name next to it", DEFAULT_SHOW_LABELS, flags));

  g_object_class_install_property (gobject_class, PROP_SHOW_BOX,
      g_param_spec_boolean ("show-box", "Show box",
          "Draw the box of the region the network analysed", DEFAULT_SHOW_BOX,
          flags));

  g_object_class_install_property (gobject_class, PROP_SHOW_CATEGORY,
      g_param_spec_boolean ("show-category", "Show category",
          "Write the garment category and its score above the box",
          DEFAULT_SHOW_CATEGORY, flags));

  g_object_class_install_property (gobject_class, PROP_SHOW_OUTLINE,
      g_param_spec_boolean ("show-outline", "Show outline",
          "Join the landmarks into the garment's outline", DEFAULT_SHOW_OUTLINE,
          flags));

  g_object_class_install_property (gobject_class, PROP_SHOW_ATTENTION,
      g_param_spec_boolean ("show-attention", "Show attention",
          "Draw the attention maps as a translucent heat map over the region "
          "(needs sanldetect attach-attention=true)",
          DEFAULT_SHOW_ATTENTION, flags));

  g_object_class_install_property (gobject_class, PROP_MIN_SCORE,
      g_param_spec_float ("min-score", "Minimum score",
          "Hide landmarks scoring below this", 0.0, 1.0, DEFAULT_MIN_SCORE,
          flags));

  g_object_class_install_property (gobject_class, PROP_POINT_SIZE,
      g_param_spec_double ("point-size", "Point size",
          "Radius of the landmark dots in pixels (0 = scale with the frame)",
          0.0, 1000.0, DEFAULT_POINT_SIZE, flags));

  g_object_class_install_property (gobject_class, PROP_LINE_WIDTH,
      g_param_spec_double ("line-width", "Line width",
          "Width of the outline and box in pixels (0 = scale with the "
          "frame)",
          0.0, 1000.0, DEFAULT_LINE_WIDTH, flags));

  gst_element_class_set_metadata (element_class, _ ("Fashion landmark overlay"),
      "Filter/Editor/Video",
      _ ("Draws garment landmarks, outlines and attention maps on the video"),
      "The gst-sanl authors");

  gst_element_class_add_static_pad_template (
      element_class, &gst_sanl_overlay_sink_template);
  gst_element_class_add_static_pad_template (
      element_class, &gst_sanl_overlay_src_template);

  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sanl_overlay_stop);
  filter_class->transform_frame_ip
      = GST_DEBUG_FUNCPTR (gst_sanl_overlay_transform_frame_ip);
}

static void
gst_sanl_overlay_init (GstSanlOverlay *self)
{
  self->show_labels = DEFAULT_SHOW_LABELS;
  self->show_box = DEFAULT_SHOW_BOX;
  self->show_category = DEFAULT_SHOW_CATEGORY;
  self->show_outline = DEFAULT_SHOW_OUTLINE;
  self->show_attention = DEFAULT_SHOW_ATTENTION;
  self->min_score = DEFAULT_MIN_SCORE;
  self->point_size = DEFAULT_POINT_SIZE;
  self->line_width = DEFAULT_LINE_WIDTH;
}

static gboolean
gst_sanl_overlay_stop (GstBaseTransform *trans)
{
  GstSanlOverlay *self = GST_SANL_OVERLAY (trans);

  g_clear_pointer (&self->saved, g_free);
  self->saved_size = 0;
  return TRUE;
}

static void
gst_sanl_overlay_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSanlOverlay *self = GST_SANL_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SHOW_LABELS:
      self->show_labels = g_value_get_boolean (value);
      break;
    case PROP_SHOW_BOX:
      self->show_box = g_value_get_boolean (value);
      break;
    case PROP_SHOW_CATEGORY:
      self->show_category = g_value_get_boolean (value);
      break;
    case PROP_SHOW_OUTLINE:
      self->show_outline = g_value_get_boolean (value);
      break;
    case PROP_SHOW_ATTENTION:
      self->show_attention = g_value_get_boolean (value);
      break;
    case PROP_MIN_SCORE:
      self->min_score = g_value_get_float (value);
      break;
    case PROP_POINT_SIZE:
      self->point_size = g_value_get_double (value);
      break;
    case PROP_LINE_WIDTH:
      self->line_width = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sanl_overlay_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSanlOverlay *self = GST_SANL_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SHOW_LABELS:
      g_value_set_boolean (value, self->show_labels);
      break;
    case PROP_SHOW_BOX:
      g_value_set_boolean (value, self->show_box);
      break;
    case PROP_SHOW_CATEGORY:
      g_value_set_boolean (value, self->show_category);
      break;
    case PROP_SHOW_OUTLINE:
      g_value_set_boolean (value, self->show_outline);
      break;
    case PROP_SHOW_ATTENTION:
      g_value_set_boolean (value, self->show_attention);
      break;
    case PROP_MIN_SCORE:
      g_value_set_float (value, self->min_score);
      break;
    case PROP_POINT_SIZE:
      g_value_set_double (value, self->point_size);
      break;
    case PROP_LINE_WIDTH:
      g_value_set_double (value, self->line_width);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* What one frame is drawn with: a copy of the properties, sizes resolved
 * for this frame, and whether red and blue trade places. */
typedef struct
{
  gboolean show_labels;
  gboolean show_box;
  gboolean show_category;
  gboolean show_outline;
  gboolean show_attention;
  gfloat min_score;
  gdouble radius;
  gdouble line_width;
  gboolean swap;
  gdouble width; /* of the frame */
  gdouble height;
} DrawSettings;

static void
set_colour (cairo_t *cr, const DrawSettings *d, gdouble r, gdouble g, gdouble b,
    gdouble a)
{
  if (d->swap)
    cairo_set_source_rgba (cr, b, g, r, a);
  else
    cairo_set_source_rgba (cr, r, g, b, a);
}

/* Landmarks are pixel centres at integers; Cairo's are at +0.5. */
#define CX(v) ((v) + 0.5)

/* Cairo keeps coordinates in 24.8 fixed point, which wraps: a point some
 * millions of pixels away would be drawn inside the frame. A point more
 * than a frame's size off the frame is not on the picture, so it is not
 * drawn, nor is one that is not a number. */
static gboolean
gst_sanl_overlay_on_canvas (const DrawSettings *d, gdouble x, gdouble y)
{
  return isfinite (x) && isfinite (y) && x >= -d->width && x <= 2.0 * d->width
         && y >= -d->height && y <= 2.0 * d->height;
}

/* A landmark to draw: scored high enough and on the canvas. */
static gboolean
gst_sanl_overlay_shown (const DrawSettings *d, const GstSanlLandmark *l)
{
  return l->score >= d->min_score && gst_sanl_overlay_on_canvas (d, l->x, l->y);
}

/* A meta made elsewhere may claim more landmarks than it holds. */
static guint
gst_sanl_overlay_n_landmarks (const GstSanlMeta *meta)
{
  return MIN (meta->n_landmarks, GST_SANL_META_MAX_LANDMARKS);
}

/* The region's box cut to the frame plus a margin wider than the line, so
 * edges off the frame stay off it; FALSE when nothing of it is left. */
static gboolean
gst_sanl_overlay_box (const GstSanlMeta *meta, const DrawSettings *d,
    gdouble *x0, gdouble *y0, gdouble *x1, gdouble *y1)
{
  gdouble m = d->line_width + 1.0;

  if (!isfinite (meta->x) || !isfinite (meta->y) || !isfinite (meta->width)
      || !isfinite (meta->height))
    return FALSE;
  *x0 = CLAMP ((gdouble) meta->x, -m, d->width + m);
  *y0 = CLAMP ((gdouble) meta->y, -m, d->height + m);
  *x1 = CLAMP ((gdouble) meta->x + meta->width, -m, d->width + m);
  *y1 = CLAMP ((gdouble) meta->y + meta->height, -m, d->height + m);
  return *x1 > *x0 && *y1 > *y0;
}

static void
gst_sanl_overlay_draw_points (
    cairo_t *cr, const GstSanlMeta *meta, const DrawSettings *d)
{
  guint k;

  for (k = 0; k < gst_sanl_overlay_n_landmarks (meta); k++) {
    const GstSanlLandmark *l = &meta->landmarks[k];
    const gdouble *c = group_colours[(k / 2) % 4];

    if (!gst_sanl_overlay_shown (d, l))
      continue;
    cairo_new_path (cr);
    cairo_arc (cr, CX (l->x), CX (l->y), d->radius, 0, 2 * G_PI);
    set_colour (cr, d, c[0], c[1], c[2], 1.0);
    cairo_fill (cr);
  }
}

static void
gst_sanl_overlay_draw_outline (
    cairo_t *cr, const GstSanlMeta *meta, const DrawSettings *d)
{
  guint i, n = 0, count = gst_sanl_overlay_n_landmarks (meta);

  cairo_new_path (cr);
  for (i = 0; i < count; i++) {
    guint k = count == 8 ? fld_outline[i] : i;
    const GstSanlLandmark *l = &meta->landmarks[k];

    if (!gst_sanl_overlay_shown (d, l))
      continue;
    if (n++ == 0)
      cairo_move_to (cr, CX (l->x), CX (l->y));
    else
      cairo_line_to (cr, CX (l->x), CX (l->y));
  }
  if (n < 2)
    return;

  cairo_close_path (cr);
  cairo_set_line_width (cr, d->line_width);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  set_colour (cr, d, 1.0, 1.0, 1.0, 0.8);
  cairo_stroke (cr);
}

static void
gst_sanl_overlay_draw_labels (
    cairo_t *cr, const GstSanlMeta *meta, const DrawSettings *d)
{
  guint k;

  cairo_select_font_face (
      cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, MAX (8.0, 3.0 * d->radius));
  for (k = 0; k < gst_sanl_overlay_n_landmarks (meta); k++) {
    const GstSanlLandmark *l = &meta->landmarks[k];
    const gchar *name = g_quark_to_string (l->name);

    if (!gst_sanl_overlay_shown (d, l) || !name)
      continue;
    cairo_move_to (
        cr, CX (l->x) + 1.5 * d->radius, CX (l->y) - 1.5 * d->radius);
    set_colour (cr, d, 1.0, 1.0, 1.0, 1.0);
    cairo_show_text (cr, name);
  }
}

static void
gst_sanl_overlay_draw_box (
    cairo_t *cr, const GstSanlMeta *meta, const DrawSettings *d)
{
  gdouble x0, y0, x1, y1;

  if (!gst_sanl_overlay_box (meta, d, &x0, &y0, &x1, &y1))
    return;
  cairo_new_path (cr);
  cairo_rectangle (cr, x0, y0, x1 - x0, y1 - y0);
  cairo_set_line_width (cr, d->line_width);
  set_colour (cr, d, 0.0, 1.0, 1.0, 1.0);
  cairo_stroke (cr);
}

static void
gst_sanl_overlay_draw_category (
    cairo_t *cr, const GstSanlMeta *meta, const DrawSettings *d)
{
  const gchar *name = gst_sanl_meta_get_category_name (meta);
  gchar *text;
  gdouble size = MAX (10.0, 4.0 * d->radius);
  gdouble x0, y0, x1, y1;

  if (!name || !gst_sanl_overlay_box (meta, d, &x0, &y0, &x1, &y1))
    return;

  text = g_strdup_printf ("%s %.0f%%", name, 100.0 * meta->category_score);
  cairo_select_font_face (
      cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, size);

  /* Inside the box's top edge, so it stays in the frame */
  cairo_move_to (cr, x0 + 0.5 * size + 1, y0 + 1.2 * size + 1);
  set_colour (cr, d, 0.0, 0.0, 0.0, 0.7);
  cairo_show_text (cr, text);
  cairo_move_to (cr, x0 + 0.5 * size, y0 + 1.2 * size);
  set_colour (cr, d, 1.0, 1.0, 1.0, 1.0);
  cairo_show_text (cr, text);
  g_free (text);
}

/* Blue (cold) through green and yellow to red (hot), premultiplied by a
 * translucency that grows with the value. */
static guint32
heat_pixel (gfloat v, gboolean swap)
{
  gdouble r, g, b, a;
  guint8 R, G, B, A;

  v = CLAMP (v, 0.0f, 1.0f);
  r = CLAMP (2.0 * v - 0.5, 0.0, 1.0);
  g = v < 0.5 ? 2.0 * v : 2.0 - 2.0 * v;
  b = CLAMP (1.0 - 2.0 * v, 0.0, 1.0);
  a = 0.15 + 0.45 * v;

  A = (guint8) (a * 255 + 0.5);
  R = (guint8) (r * a * 255 + 0.5);
  G = (guint8) (g * a * 255 + 0.5);
  B = (guint8) (b * a * 255 + 0.5);
  if (swap) {
    guint8 t = R;
    R = B;
    B = t;
  }
  return ((guint32) A << 24) | ((guint32) R << 16) | ((guint32) G << 8) | B;
}

/* The mean of the attention maps, sampled at the finest map's grid. */
static cairo_surface_t *
gst_sanl_overlay_heat_surface (const GstSanlMeta *meta, gboolean swap)
{
  const GstSanlAttentionMap *fine = &meta->attention[0];
  cairo_surface_t *surface;
  guint8 *data;
  gint stride, x, y;
  guint i, n;

  if (meta->n_attention == 0 || !fine->data || !fine->width || !fine->height)
    return NULL;

  surface = cairo_image_surface_create (
      CAIRO_FORMAT_ARGB32, fine->width, fine->height);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);

  for (y = 0; y < (gint) fine->height; y++) {
    guint32 *row = (guint32 *) (data + y * stride);

    for (x = 0; x < (gint) fine->width; x++) {
      gfloat sum = 0.0f;

      for (i = 0, n = 0; i < MIN (meta->n_attention, GST_SANL_META_N_ATTENTION);
           i++) {
        const GstSanlAttentionMap *m = &meta->attention[i];

        if (!m->data || !m->width || !m->height)
          continue;
        sum += m->data[(y * m->height / fine->height) * m->width
                       + x * m->width / fine->width];
        n++;
      }
      row[x] = heat_pixel (sum / n, swap);
    }
  }
  cairo_surface_mark_dirty (surface);
  return surface;
}

static void
gst_sanl_overlay_draw_attention (
    cairo_t *cr, const GstSanlMeta *meta, const DrawSettings *d)
{
  cairo_surface_t *heat;
  gdouble x0, y0, x1, y1;
  guint w, h;

  if (!(meta->attention_width > 0) || !(meta->attention_height > 0)
      || !gst_sanl_overlay_on_canvas (d, meta->attention_x, meta->attention_y)
      || !gst_sanl_overlay_on_canvas (d,
          meta->attention_x + meta->attention_width,
          meta->attention_y + meta->attention_height)
      || !gst_sanl_overlay_box (meta, d, &x0, &y0, &x1, &y1))
    return;
  heat = gst_sanl_overlay_heat_surface (meta, d->swap);
  if (!heat)
    return;
  w = cairo_image_surface_get_width (heat);
  h = cairo_image_surface_get_height (heat);

  /* The maps cover the network's square; show them on the region only */
  cairo_save (cr);
  cairo_rectangle (cr, x0, y0, x1 - x0, y1 - y0);
  cairo_clip (cr);
  cairo_translate (cr, meta->attention_x, meta->attention_y);
  cairo_scale (cr, meta->attention_width / w, meta->attention_height / h);
  cairo_set_source_surface (cr, heat, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_BILINEAR);
  cairo_paint (cr);
  cairo_restore (cr);
  cairo_surface_destroy (heat);
}

static void
gst_sanl_overlay_draw_meta (
    cairo_t *cr, const GstSanlMeta *meta, const DrawSettings *d)
{
  if (d->show_attention)
    gst_sanl_overlay_draw_attention (cr, meta, d);
  if (d->show_box)
    gst_sanl_overlay_draw_box (cr, meta, d);
  if (d->show_outline)
    gst_sanl_overlay_draw_outline (cr, meta, d);
  gst_sanl_overlay_draw_points (cr, meta, d);
  if (d->show_labels)
    gst_sanl_overlay_draw_labels (cr, meta, d);
  if (d->show_category)
    gst_sanl_overlay_draw_category (cr, meta, d);
}

/* Cairo's ARGB32 is premultiplied; GStreamer's alpha formats are not. */
static void
premultiply (guint8 *data, gint width, gint height, gint stride)
{
  gint x, y;

  for (y = 0; y < height; y++) {
    guint32 *row = (guint32 *) (data + y * stride);

    for (x = 0; x < width; x++) {
      guint32 p = row[x], a = p >> 24;
      guint32 c0 = ((p >> 16) & 0xff) * a + 127;
      guint32 c1 = ((p >> 8) & 0xff) * a + 127;
      guint32 c2 = (p & 0xff) * a + 127;

      if (a == 255)
        continue;
      row[x] = (a << 24) | ((c0 / 255) << 16) | ((c1 / 255) << 8) | c2 / 255;
    }
  }
}

/* Straight alpha of one premultiplied pixel. */
static guint32
unpremultiply_pixel (guint32 p)
{
  guint32 a = p >> 24, c0, c1, c2;

  if (a == 255)
    return p;
  if (a == 0)
    return 0;
  c0 = MIN (255, (((p >> 16) & 0xff) * 255 + a / 2) / a);
  c1 = MIN (255, (((p >> 8) & 0xff) * 255 + a / 2) / a);
  c2 = MIN (255, ((p & 0xff) * 255 + a / 2) / a);
  return (a << 24) | (c0 << 16) | (c1 << 8) | c2;
}

/* Back to straight alpha after drawing. Premultiplying loses the colour
 * of translucent pixels (at alpha 4 only 5 levels remain), so a pixel the
 * drawing left as it was gets its saved original back, bit for bit; only
 * drawn pixels are unpremultiplied. */
static void
restore_straight (
    guint8 *data, const guint8 *saved, gint width, gint height, gint stride)
{
  gint x, y;

  for (y = 0; y < height; y++) {
    guint32 *row = (guint32 *) (data + y * stride);
    const guint32 *orig = (const guint32 *) (saved + y * stride);

    for (x = 0; x < width; x++) {
      guint32 was = orig[x];

      premultiply ((guint8 *) &was, 1, 1, 4);
      row[x] = row[x] == was ? orig[x] : unpremultiply_pixel (row[x]);
    }
  }
}

static void
gst_sanl_overlay_get_settings (
    GstSanlOverlay *self, GstVideoFrame *frame, DrawSettings *d)
{
  gdouble shorter
      = MIN (GST_VIDEO_FRAME_WIDTH (frame), GST_VIDEO_FRAME_HEIGHT (frame));

  GST_OBJECT_LOCK (self);
  d->show_labels = self->show_labels;
  d->show_box = self->show_box;
  d->show_category = self->show_category;
  d->show_outline = self->show_outline;
  d->show_attention = self->show_attention;
  d->min_score = self->min_score;
  d->radius
      = self->point_size > 0 ? self->point_size : MAX (2.0, shorter / 120.0);
  d->line_width
      = self->line_width > 0 ? self->line_width : MAX (1.0, shorter / 360.0);
  GST_OBJECT_UNLOCK (self);

  d->swap = SWAPPED (GST_VIDEO_FRAME_FORMAT (frame));
  d->width = GST_VIDEO_FRAME_WIDTH (frame);
  d->height = GST_VIDEO_FRAME_HEIGHT (frame);
}

static GstFlowReturn
gst_sanl_overlay_transform_frame_ip (
    GstVideoFilter *filter, GstVideoFrame *frame)
{
  GstSanlOverlay *self = GST_SANL_OVERLAY (filter);
  guint8 *data = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gint stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  gboolean alpha = GST_VIDEO_INFO_HAS_ALPHA (&frame->info);
  cairo_surface_t *surface;
  DrawSettings d;
  cairo_t *cr;
  gpointer state = NULL;
  GstMeta *meta;

  if (!gst_buffer_get_sanl_meta (frame->buffer))
    return GST_FLOW_OK;

  gst_sanl_overlay_get_settings (self, frame, &d);

  if (alpha) {
    gsize size = (gsize) height * stride;

    /* grows with the frame size only, not per frame */
    if (self->saved_size < size) {
      g_free (self->saved);
      self->saved = g_malloc (size);
      self->saved_size = size;
    }
    memcpy (self->saved, data, size);
    premultiply (data, width, height, stride);
  }
  surface = cairo_image_surface_create_for_data (data,
      alpha ? CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24, width, height, stride);
  cr = cairo_create (surface);

  while ((meta = gst_buffer_iterate_meta_filtered (
              frame->buffer, &state, GST_SANL_META_API_TYPE)))
    gst_sanl_overlay_draw_meta (cr, (GstSanlMeta *) meta, &d);

  cairo_destroy (cr);
  cairo_surface_flush (surface);
  cairo_surface_destroy (surface);
  if (alpha)
    restore_straight (data, self->saved, width, height, stride);

  return GST_FLOW_OK;
}
