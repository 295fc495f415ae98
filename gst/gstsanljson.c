/* GStreamer fashion landmark JSON writer
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-sanljson
 * @title: sanljson
 * @see_also: sanldetect
 *
 * Passes video through untouched and writes the #GstSanlMeta of every
 * frame as JSON Lines: one object per frame, frames without garments
 * included. A file already at #GstSanlJson:location is replaced when the
 * first frame (or the end of an empty stream) arrives, so a pipeline that
 * fails before that leaves it as it was, and leaves no file where there
 * was none.
 *
 * |[
 * {"pts": 33333333, "frame": 1, "width": 640, "height": 480,
 *  "garments": [{"box": [0, 0, 640, 480], "category": "tee",
 *  "category_score": 0.91, "roi_id": null, "landmarks": [{"name":
 *  "left_collar", "x": 301.5, "y": 88.2, "score": 0.87,
 *  "visibility": 0.98, "visible": true}, ...]}]}
 * ]|
 * (one line in the file). "pts" is in nanoseconds, or null; "box" is
 * x, y, width, height of the region the network analysed; "roi_id" is the
 * id of the upstream region of interest, or null.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     sanldetect ! sanljson location=landmarks.jsonl ! fakesink
 * ]| Writes the landmarks of every frame of clip.mp4 to landmarks.jsonl.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gstsanlelements.h"
#include "gstsanljson.h"
#include "sanl/gstsanlmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_sanl_json_debug);
#define GST_CAT_DEFAULT gst_sanl_json_debug

#define DEFAULT_LOCATION NULL

enum
{
  PROP_0,
  PROP_LOCATION,
};

static GstStaticPadTemplate gst_sanl_json_sink_template
    = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS ("video/x-raw(ANY)"));

static GstStaticPadTemplate gst_sanl_json_src_template
    = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS ("video/x-raw(ANY)"));

static void gst_sanl_json_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sanl_json_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static void gst_sanl_json_finalize (GObject *object);

static gboolean gst_sanl_json_start (GstBaseTransform *trans);
static gboolean gst_sanl_json_stop (GstBaseTransform *trans);
static gboolean gst_sanl_json_sink_event (
    GstBaseTransform *trans, GstEvent *event);
static gboolean gst_sanl_json_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps);
static GstFlowReturn gst_sanl_json_transform_ip (
    GstBaseTransform *trans, GstBuffer *buffer);

#define gst_sanl_json_parent_class parent_class
G_DEFINE_TYPE (GstSanlJson, gst_sanl_json, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    sanljson, "sanljson", GST_RANK_NONE, GST_TYPE_SANL_JSON);

static void
gst_sanl_json_class_init (GstSanlJsonClass *klass)
{
  GObjectClass *gobject_class = (GObjectClass *) klass;
  GstElementClass *element_class = (GstElementClass *) klass;
  GstBaseTransformClass *trans_class = (GstBaseTransformClass *) klass;

  GST_DEBUG_CATEGORY_INIT (
      gst_sanl_json_debug, "sanljson", 0, "Fashion landmark JSON writer");

  gobject_class->set_property = gst_sanl_json_set_property;
  gobject_class->get_property = gst_sanl_json_get_property;
  gobject_class->finalize = gst_sanl_json_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "File to write the JSON Lines to (standard output when unset)",
          DEFAULT_LOCATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));

  gst_element_class_set_metadata (element_class,
      _ ("Fashion landmark JSON writer"), "Filter/Video",
      _ ("Writes the garment landmarks of every frame as JSON Lines"),
      "The gst-sanl authors");

  gst_element_class_add_static_pad_template (
      element_class, &gst_sanl_json_sink_template);
  gst_element_class_add_static_pad_template (
      element_class, &gst_sanl_json_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_sanl_json_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sanl_json_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_sanl_json_sink_event);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_sanl_json_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_sanl_json_transform_ip);
}

static void
gst_sanl_json_init (GstSanlJson *self)
{
  self->location = g_strdup (DEFAULT_LOCATION);

  /* Only looks at the buffers: transform_ip sees them read-only */
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_sanl_json_set_location (GstSanlJson *self, const gchar *location)
{
  GstState state;

  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  if (state != GST_STATE_NULL && state != GST_STATE_READY) {
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        (_ ("The output file can only be changed while the element is "
            "stopped.")),
        ("ignored location \"%s\"", GST_STR_NULL (location)));
    return;
  }

  g_free (self->location);
  self->location = g_strdup (location);
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sanl_json_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSanlJson *self = GST_SANL_JSON (object);

  switch (prop_id) {
    case PROP_LOCATION:
      gst_sanl_json_set_location (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_sanl_json_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSanlJson *self = GST_SANL_JSON (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sanl_json_finalize (GObject *object)
{
  GstSanlJson *self = GST_SANL_JSON (object);

  g_free (self->location);
  g_free (self->created);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* Drops the note of a file this run created, removing the file first when
 * remove is set. */
static void
gst_sanl_json_forget_created (GstSanlJson *self, gboolean remove)
{
  if (self->created && remove) {
    GST_DEBUG_OBJECT (self, "removing %s: no frame reached it", self->created);
    g_unlink (self->created);
  }
  g_clear_pointer (&self->created, g_free);
}

static gboolean
gst_sanl_json_start (GstBaseTransform *trans)
{
  GstSanlJson *self = GST_SANL_JSON (trans);
  gchar *location;
  int fd;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);

  self->frame_count = 0;
  self->width = self->height = 0;

  if (!location || !*location) {
    self->file = stdout;
    self->own_file = FALSE;
    g_free (location);
    return TRUE;
  }

  /* Opened without truncating: a pipeline that fails before its first
   * frame (a missing model upstream, say) leaves an earlier run's
   * landmarks alone. The file is emptied when this run's first frame or
   * its end of stream arrives. */
  fd = g_open (location, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0 && errno == ENOENT) {
    fd = g_open (location, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0)
      self->created = g_strdup (location);
  }
  self->file = fd >= 0 ? fdopen (fd, "w") : NULL;
  if (!self->file) {
    if (fd >= 0)
      close (fd);
    gst_sanl_json_forget_created (self, TRUE);
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
        (_ ("Could not open file \"%s\" for writing."), location),
        GST_ERROR_SYSTEM);
    g_free (location);
    return FALSE;
  }
  self->own_file = TRUE;
  self->emptied = FALSE;
  GST_INFO_OBJECT (self, "writing to %s", location);
  g_free (location);
  return TRUE;
}

static gboolean
gst_sanl_json_stop (GstBaseTransform *trans)
{
  GstSanlJson *self = GST_SANL_JSON (trans);

  if (self->file && self->own_file)
    fclose (self->file);
  else if (self->file)
    fflush (self->file);
  self->file = NULL;
  self->own_file = FALSE;
  /* a file this run created and never got to write stays no result */
  gst_sanl_json_forget_created (self, !self->emptied);

  return TRUE;
}

static gboolean
gst_sanl_json_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstSanlJson *self = GST_SANL_JSON (trans);
  GstStructure *s = gst_caps_get_structure (incaps, 0);

  /* Any video will do; the size is only reported */
  self->width = self->height = 0;
  gst_structure_get_int (s, "width", &self->width);
  gst_structure_get_int (s, "height", &self->height);

  return TRUE;
}

/* Empties a regular output file once, before this run's first line (a
 * pipe or a device is written as it is). */
static gboolean
gst_sanl_json_empty_file (GstSanlJson *self)
{
  GStatBuf st;
  int fd;

  if (!self->own_file || self->emptied)
    return TRUE;
  self->emptied = TRUE;
  fd = fileno (self->file);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    return TRUE;
  if (ftruncate (fd, 0) != 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        (_ ("Could not write the landmarks.")), GST_ERROR_SYSTEM);
    return FALSE;
  }
  return TRUE;
}

/* A stream that ends before its first frame still leaves a file that
 * holds this run's (no) landmarks. */
static gboolean
gst_sanl_json_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSanlJson *self = GST_SANL_JSON (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    gst_sanl_json_empty_file (self);

  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* JSON has no NaN or infinity: a meta made elsewhere may hold them. */
static void
add_number (JsonBuilder *b, gdouble value)
{
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_landmark (JsonBuilder *b, const GstSanlMeta *meta, guint k)
{
  const GstSanlLandmark *l = &meta->landmarks[k];
  const gchar *name = g_quark_to_string (l->name);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  if (name)
    json_builder_add_string_value (b, name);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "x");
  add_number (b, l->x);
  json_builder_set_member_name (b, "y");
  add_number (b, l->y);
  json_builder_set_member_name (b, "score");
  add_number (b, l->score);
  json_builder_set_member_name (b, "visibility");
  add_number (b, l->visibility);
  json_builder_set_member_name (b, "visible");
  json_builder_add_boolean_value (b, l->visible);
  json_builder_end_object (b);
}

static void
add_garment (JsonBuilder *b, const GstSanlMeta *meta)
{
  const gchar *category = gst_sanl_meta_get_category_name (meta);
  guint k;

  json_builder_begin_object (b);

  json_builder_set_member_name (b, "box");
  json_builder_begin_array (b);
  add_number (b, meta->x);
  add_number (b, meta->y);
  add_number (b, meta->width);
  add_number (b, meta->height);
  json_builder_end_array (b);

  json_builder_set_member_name (b, "category");
  if (category)
    json_builder_add_string_value (b, category);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "category_score");
  add_number (b, meta->category_score);
  json_builder_set_member_name (b, "roi_id");
  if (meta->roi_id >= 0)
    json_builder_add_int_value (b, meta->roi_id);
  else
    json_builder_add_null_value (b);

  json_builder_set_member_name (b, "landmarks");
  json_builder_begin_array (b);
  for (k = 0; k < MIN (meta->n_landmarks, GST_SANL_META_MAX_LANDMARKS); k++)
    add_landmark (b, meta, k);
  json_builder_end_array (b);

  json_builder_end_object (b);
}

/* One frame as one line of JSON. */
static gchar *
gst_sanl_json_frame_to_line (GstSanlJson *self, GstBuffer *buffer)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen;
  JsonNode *root;
  gpointer state = NULL;
  GstMeta *meta;
  gchar *line;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "pts");
  if (GST_BUFFER_PTS_IS_VALID (buffer))
    json_builder_add_int_value (b, (gint64) GST_BUFFER_PTS (buffer));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "frame");
  json_builder_add_int_value (b, (gint64) self->frame_count);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, self->width);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, self->height);

  json_builder_set_member_name (b, "garments");
  json_builder_begin_array (b);
  while ((meta = gst_buffer_iterate_meta_filtered (
              buffer, &state, GST_SANL_META_API_TYPE)))
    add_garment (b, (GstSanlMeta *) meta);
  json_builder_end_array (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  line = json_generator_to_data (gen, NULL);

  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return line;
}

static GstFlowReturn
gst_sanl_json_transform_ip (GstBaseTransform *trans, GstBuffer *buffer)
{
  GstSanlJson *self = GST_SANL_JSON (trans);
  gchar *line;
  gboolean ok;

  if (!gst_sanl_json_empty_file (self))
    return GST_FLOW_ERROR;
  line = gst_sanl_json_frame_to_line (self, buffer);

  /* Flushed per line, so a reader can follow the file as it grows */
  ok = fputs (line, self->file) >= 0 && fputc ('\n', self->file) != EOF
       && fflush (self->file) == 0;
  g_free (line);
  self->frame_count++;

  if (!ok) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
        (_ ("Could not write the landmarks.")), GST_ERROR_SYSTEM);
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}
