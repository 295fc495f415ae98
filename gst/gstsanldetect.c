/* GStreamer fashion landmark detection
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-sanldetect
 * @title: sanldetect
 * @see_also: sanloverlay, sanljson
 *
 * Finds the collar, sleeve, waistline and hem points of garments with a
 * Spatial-Aware Non-Local network and attaches them to each buffer as
 * #GstSanlMeta, one per garment region. The frame passes through
 * unchanged.
 *
 * By default the whole frame is one region; once a garment is found, the
 * next inference looks at the box around its landmarks (plus
 * #GstSanlDetect:track-margin) so that a small garment is seen at the
 * network's full resolution. The garment counts as lost, and the whole
 * frame is looked at again, when fewer than three confident landmarks
 * remain or when they bunch into a small part of the tracked box.
 *
 * With inference-region=roi-list every upstream
 * #GstVideoRegionOfInterestMeta is one garment region, cut to the frame
 * (regions wholly outside it are skipped); the first frame of a stream
 * that carries no region of interest at all posts a warning.
 *
 * Frames between two inferences (see #GstSanlDetect:inference-interval),
 * and frames that QoS says are running late, carry the last result
 * forward. The Grad-CAM attention maps may be kept for a few inferences
 * of the same region (see #GstSanlDetect:attention-interval), which
 * saves the garment classifier's forward and backward passes. A flush (a
 * seek) starts over: nothing learnt from the frames before it carries on.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! sanldetect ! sanloverlay ! \
 *     videoconvert ! autovideosink
 * ]| Draws the landmarks of the garment in front of the camera.
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     sanldetect inference-interval=2 post-messages=true ! \
 *     sanljson location=landmarks.jsonl ! fakesink
 * ]| Writes the landmarks of every frame of clip.mp4 as JSON Lines.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "gstsanlelements.h"
#include "gstsanldetect.h"
#include "sanl/gstsanlmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_sanl_detect_debug);
#define GST_CAT_DEFAULT gst_sanl_detect_debug

#define DEFAULT_INFERENCE_INTERVAL 1
/* Fresh maps on every inference: on a fixed region around the T-shirt of
 * a labelled clip of a woman doing squats (5 frames a second), reusing
 * the default model's maps for one more inference already moved its
 * landmarks by 33 pixels and raised the normalised error by 0.05, ten
 * times the 0.005 we accept (sanl/torch/attention_interval.py). */
#define DEFAULT_ATTENTION_INTERVAL 1
/* Scores are heatmap peak times visibility; the default model's scores at
 * the labelled points of its validation garments run from about 0.05 to
 * 0.43 (medians 0.13 and 0.18), so the default keeps nearly all of its
 * landmarks. Raise it for sharper models. */
#define DEFAULT_THRESHOLD 0.02f
#define DEFAULT_THREADS 0
#define DEFAULT_ATTENTION GST_SANL_DETECT_ATTENTION_GRADCAM
#define DEFAULT_INFERENCE_REGION GST_SANL_DETECT_REGION_FULL_FRAME
#define DEFAULT_SMOOTHING 0.0
#define DEFAULT_ATTACH_ATTENTION FALSE
#define DEFAULT_POST_MESSAGES FALSE
#define DEFAULT_TRACK TRUE
#define DEFAULT_TRACK_MARGIN 0.25

/* A tracked region is never smaller than this fraction of the frame's
 * shorter side, so one stray point cannot shrink it to nothing. */
#define TRACK_MIN_FRACTION 0.125
/* About one heatmap cell (stride 4 of a 192-pixel input), as a fraction
 * of the region's longer side. */
#define TRACK_EDGE_FRACTION 0.02f
/* A tracked region is the garment's landmark box plus a margin, so a
 * garment found in it spans most of it (two thirds of its side at the
 * default margin). Confident landmarks bunched into less than this
 * fraction of the region's longer side no longer describe the garment it
 * was made for: the garment is lost and the whole frame is looked at
 * again. */
#define TRACK_MIN_SPREAD 0.3f
/* Fewest confident landmarks that place a region: two are often one pair
 * (the hem's ends), a line that says nothing of the garment's height. */
#define TRACK_MIN_POINTS 3

/* Which region the stored attention maps were made for. */
typedef enum
{
  MAPS_NONE,
  MAPS_WHOLE_FRAME,
  MAPS_TRACKED,
  MAPS_ROI,
} GstSanlDetectMapsSource;

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_INFERENCE_INTERVAL,
  PROP_ATTENTION_INTERVAL,
  PROP_THRESHOLD,
  PROP_THREADS,
  PROP_ATTENTION,
  PROP_INFERENCE_REGION,
  PROP_SMOOTHING,
  PROP_ATTACH_ATTENTION,
  PROP_POST_MESSAGES,
  PROP_TRACK,
  PROP_TRACK_MARGIN,
};

#define VIDEO_FORMATS                                                          \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, "                           \
  "ARGB, ABGR, I420, NV12, YUY2 }"

static GstStaticPadTemplate gst_sanl_detect_sink_template
    = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (VIDEO_FORMATS)));

static GstStaticPadTemplate gst_sanl_detect_src_template
    = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS,
        GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (VIDEO_FORMATS)));

#define GST_TYPE_SANL_DETECT_ATTENTION (gst_sanl_detect_attention_get_type ())
static GType
gst_sanl_detect_attention_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SANL_DETECT_ATTENTION_GRADCAM,
        "Grad-CAM maps of the garment classifier steer the network",
        "gradcam" },
    { GST_SANL_DETECT_ATTENTION_NONE,
        "No attention: plain non-local blocks, no category", "none" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType _type = g_enum_register_static ("GstSanlDetectAttention", values);
    g_once_init_leave (&type, _type);
  }
  return type;
}

#define GST_TYPE_SANL_DETECT_REGION (gst_sanl_detect_region_get_type ())
static GType
gst_sanl_detect_region_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SANL_DETECT_REGION_FULL_FRAME,
        "One garment in the whole frame (tracked when track=true)",
        "full-frame" },
    { GST_SANL_DETECT_REGION_ROI_LIST,
        "One garment per upstream region of interest meta", "roi-list" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType _type = g_enum_register_static ("GstSanlDetectRegion", values);
    g_once_init_leave (&type, _type);
  }
  return type;
}

static void gst_sanl_detect_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_sanl_detect_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static void gst_sanl_detect_finalize (GObject *object);

static gboolean gst_sanl_detect_start (GstBaseTransform *trans);
static gboolean gst_sanl_detect_stop (GstBaseTransform *trans);
static gboolean gst_sanl_detect_sink_event (
    GstBaseTransform *trans, GstEvent *event);
static gboolean gst_sanl_detect_src_event (
    GstBaseTransform *trans, GstEvent *event);
static gboolean gst_sanl_detect_set_info (GstVideoFilter *filter,
    GstCaps *incaps, GstVideoInfo *in_info, GstCaps *outcaps,
    GstVideoInfo *out_info);
static GstFlowReturn gst_sanl_detect_transform_frame_ip (
    GstVideoFilter *filter, GstVideoFrame *frame);

#define gst_sanl_detect_parent_class parent_class
G_DEFINE_TYPE (GstSanlDetect, gst_sanl_detect, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (
    sanldetect, "sanldetect", GST_RANK_NONE, GST_TYPE_SANL_DETECT);

static void
gst_sanl_detect_class_init (GstSanlDetectClass *klass)
{
  GObjectClass *gobject_class = (GObjectClass *) klass;
  GstElementClass *element_class = (GstElementClass *) klass;
  GstBaseTransformClass *trans_class = (GstBaseTransformClass *) klass;
  GstVideoFilterClass *filter_class = (GstVideoFilterClass *) klass;

  GST_DEBUG_CATEGORY_INIT (
      gst_sanl_detect_debug, "sanldetect", 0, "Fashion landmark detection");

  gobject_class->set_property = gst_sanl_detect_set_property;
  gobject_class->get_property = gst_sanl_detect_get_property;
  gobject_class->finalize = gst_sanl_detect_finalize;

  /**
   * GstSanlDetect:model:
   *
   * The .safetensors model file. %NULL or an empty string means the
   * default: $SANL_MODEL when set, else the installed default model, else
   * (when the plugin runs from a build tree and nothing is installed) the
   * source tree's sanl/models/default.safetensors.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the .safetensors landmark model; empty or unset means "
          "the default: $SANL_MODEL, else the installed default model, "
          "else (run from a build tree) the source tree's "
          "sanl/models/default.safetensors",
          SANL_MODEL_INSTALLED,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint ("inference-interval", "Inference interval",
          "Run the network on every Nth frame; the frames in between carry "
          "the last result forward",
          1, G_MAXINT, DEFAULT_INFERENCE_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstSanlDetect:attention-interval:
   *
   * Compute the Grad-CAM attention maps on every Nth inference and steer
   * the inferences in between with the stored ones, skipping the garment
   * classifier. 1 computes them on every inference. The maps belong to one
   * region, so they are kept only while the region stays the same: the
   * whole frame, the tracked garment (made afresh whenever tracking starts
   * or is lost) or a single upstream region of interest with the same id.
   * Frames with several regions of interest always compute them. The
   * reported category is the one of the stored maps.
   */
  g_object_class_install_property (gobject_class, PROP_ATTENTION_INTERVAL,
      g_param_spec_uint ("attention-interval", "Attention interval",
          "Compute the attention maps on every Nth inference and reuse them "
          "in between, for one region at a time (1 = every inference)",
          1, G_MAXINT, DEFAULT_ATTENTION_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_float ("threshold", "Threshold",
          "Minimum landmark score: a region with no landmark at least this "
          "good holds no garment, and tracking starts over",
          0.0, 1.0, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "Threads of the inference engine, shared by the whole process "
          "(0 = one per processor); the matrix library runs "
          "single-threaded inside them",
          0, 256, DEFAULT_THREADS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_ATTENTION,
      g_param_spec_enum ("attention", "Attention",
          "Where the non-local blocks look", GST_TYPE_SANL_DETECT_ATTENTION,
          DEFAULT_ATTENTION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_INFERENCE_REGION,
      g_param_spec_enum ("inference-region", "Inference region",
          "Which parts of the frame hold garments", GST_TYPE_SANL_DETECT_REGION,
          DEFAULT_INFERENCE_REGION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_SMOOTHING,
      g_param_spec_double ("smoothing", "Smoothing",
          "Weight of the previous position when filtering each landmark "
          "over time (0 = off, 1 = frozen)",
          0.0, 1.0, DEFAULT_SMOOTHING,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_ATTACH_ATTENTION,
      g_param_spec_boolean ("attach-attention", "Attach attention",
          "Carry the four Grad-CAM attention maps in the meta (for "
          "sanloverlay show-attention=true)",
          DEFAULT_ATTACH_ATTENTION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an element message named \"sanldetect\" with the landmarks "
          "of every frame",
          DEFAULT_POST_MESSAGES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_TRACK,
      g_param_spec_boolean ("track", "Track",
          "In full-frame mode, look only around the last garment found "
          "(the whole frame again when it is lost)",
          DEFAULT_TRACK,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_TRACK_MARGIN,
      g_param_spec_double ("track-margin", "Track margin",
          "Margin added on each side of the tracked landmarks' box, as a "
          "fraction of its size",
          0.0, 4.0, DEFAULT_TRACK_MARGIN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_metadata (element_class,
      _ ("Fashion landmark detector"), "Filter/Analyzer/Video",
      _ ("Finds the collar, sleeve, waistline and hem points of garments "
         "and attaches them as metadata"),
      "The gst-sanl authors");

  gst_element_class_add_static_pad_template (
      element_class, &gst_sanl_detect_sink_template);
  gst_element_class_add_static_pad_template (
      element_class, &gst_sanl_detect_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_sanl_detect_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_sanl_detect_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_sanl_detect_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_sanl_detect_src_event);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_sanl_detect_set_info);
  filter_class->transform_frame_ip
      = GST_DEBUG_FUNCPTR (gst_sanl_detect_transform_frame_ip);

  gst_type_mark_as_plugin_api (GST_TYPE_SANL_DETECT_ATTENTION, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SANL_DETECT_REGION, 0);
}

/* $SANL_MODEL, else the installed model, else (uninstalled) the source
 * tree's; the installed path when none exists, so errors name it. */
static gchar *
gst_sanl_detect_default_model (void)
{
  const gchar *env = g_getenv ("SANL_MODEL");

  if (env && *env)
    return g_strdup (env);
  if (g_file_test (SANL_MODEL_INSTALLED, G_FILE_TEST_EXISTS))
    return g_strdup (SANL_MODEL_INSTALLED);
  if (g_file_test (SANL_MODEL_UNINSTALLED, G_FILE_TEST_EXISTS))
    return g_strdup (SANL_MODEL_UNINSTALLED);
  return g_strdup (SANL_MODEL_INSTALLED);
}

static void
gst_sanl_detect_init (GstSanlDetect *self)
{
  self->model_path = gst_sanl_detect_default_model ();
  self->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  self->attention_interval = DEFAULT_ATTENTION_INTERVAL;
  self->threshold = DEFAULT_THRESHOLD;
  self->threads = DEFAULT_THREADS;
  self->attention = DEFAULT_ATTENTION;
  self->inference_region = DEFAULT_INFERENCE_REGION;
  self->smoothing = DEFAULT_SMOOTHING;
  self->attach_attention = DEFAULT_ATTACH_ATTENTION;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->track = DEFAULT_TRACK;
  self->track_margin = DEFAULT_TRACK_MARGIN;
  self->earliest_time = GST_CLOCK_TIME_NONE;

  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
}

/* Takes the object lock and returns TRUE when the element is stopped
 * (NULL or READY); else warns with user_text and returns FALSE unlocked.
 * The model and the thread count are fixed while a stream runs. */
static gboolean
gst_sanl_detect_lock_stopped (
    GstSanlDetect *self, const gchar *user_text, const gchar *ignored)
{
  GstState state;

  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  if (state == GST_STATE_NULL || state == GST_STATE_READY)
    return TRUE;

  GST_OBJECT_UNLOCK (self);
  GST_WARNING_OBJECT (
      self, "%s in state %s", ignored, gst_element_state_get_name (state));
  GST_ELEMENT_WARNING (
      self, RESOURCE, SETTINGS, ("%s", user_text), ("%s", ignored));
  return FALSE;
}

static void
gst_sanl_detect_set_model (GstSanlDetect *self, const gchar *path)
{
  g_autofree gchar *ignored
      = g_strdup_printf ("ignored model \"%s\"", GST_STR_NULL (path));

  if (!gst_sanl_detect_lock_stopped (self,
          _ ("The model can only be changed while the element is stopped."),
          ignored))
    return;

  g_free (self->model_path);
  self->model_path
      = path && *path ? g_strdup (path) : gst_sanl_detect_default_model ();
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sanl_detect_set_threads (GstSanlDetect *self, gint threads)
{
  g_autofree gchar *ignored = g_strdup_printf ("ignored threads=%d", threads);

  if (!gst_sanl_detect_lock_stopped (self,
          _ ("The number of threads can only be changed while the element "
             "is stopped."),
          ignored))
    return;

  self->threads = threads;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sanl_detect_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSanlDetect *self = GST_SANL_DETECT (object);

  if (prop_id == PROP_MODEL) {
    gst_sanl_detect_set_model (self, g_value_get_string (value));
    return;
  }
  if (prop_id == PROP_THREADS) {
    gst_sanl_detect_set_threads (self, g_value_get_int (value));
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_INFERENCE_INTERVAL:
      self->inference_interval = g_value_get_uint (value);
      break;
    case PROP_ATTENTION_INTERVAL:
      self->attention_interval = g_value_get_uint (value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_float (value);
      break;
    case PROP_ATTENTION:
      self->attention = g_value_get_enum (value);
      break;
    case PROP_INFERENCE_REGION:
      self->inference_region = g_value_get_enum (value);
      self->tracking = FALSE;
      break;
    case PROP_SMOOTHING:
      self->smoothing = g_value_get_double (value);
      break;
    case PROP_ATTACH_ATTENTION:
      self->attach_attention = g_value_get_boolean (value);
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_TRACK:
      self->track = g_value_get_boolean (value);
      self->tracking = FALSE;
      break;
    case PROP_TRACK_MARGIN:
      self->track_margin = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sanl_detect_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSanlDetect *self = GST_SANL_DETECT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_INFERENCE_INTERVAL:
      g_value_set_uint (value, self->inference_interval);
      break;
    case PROP_ATTENTION_INTERVAL:
      g_value_set_uint (value, self->attention_interval);
      break;
    case PROP_THRESHOLD:
      g_value_set_float (value, self->threshold);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_ATTENTION:
      g_value_set_enum (value, self->attention);
      break;
    case PROP_INFERENCE_REGION:
      g_value_set_enum (value, self->inference_region);
      break;
    case PROP_SMOOTHING:
      g_value_set_double (value, self->smoothing);
      break;
    case PROP_ATTACH_ATTENTION:
      g_value_set_boolean (value, self->attach_attention);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_TRACK:
      g_value_set_boolean (value, self->track);
      break;
    case PROP_TRACK_MARGIN:
      g_value_set_double (value, self->track_margin);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sanl_detect_finalize (GObject *object)
{
  GstSanlDetect *self = GST_SANL_DETECT (object);

  g_free (self->model_path);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* Drops everything learnt from earlier frames: the result carried
 * forward (and smoothed against), the tracked region, the stored attention
 * maps and how late downstream was. After a flush the next frame may come
 * from anywhere in the stream. */
static void
gst_sanl_detect_forget (GstSanlDetect *self)
{
  gst_clear_buffer (&self->results);
  self->have_results = FALSE;
  self->frames_since_inference = 0;
  self->tracking = FALSE;
  self->maps_source = MAPS_NONE;
  self->maps_computed = FALSE;

  GST_OBJECT_LOCK (self);
  self->earliest_time = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_sanl_detect_reset (GstSanlDetect *self)
{
  gst_sanl_detect_forget (self);
  self->frame_count = 0;
  self->inference_duration = 0;
  self->warned_no_roi = FALSE;
}

static gboolean
gst_sanl_detect_start (GstBaseTransform *trans)
{
  GstSanlDetect *self = GST_SANL_DETECT (trans);
  GError *error = NULL;
  gchar *path;
  gint threads;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  threads = self->threads;
  GST_OBJECT_UNLOCK (self);

  /* a link that leads nowhere (or round in a loop) is there: the loader
   * says what is wrong with it */
  if (!path || !*path
      || !g_file_test (path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK))
    goto no_file;

  sanl_set_threads (threads);

  self->model = sanl_model_load (path, &error);
  if (!self->model)
    goto load_failed;
  self->session = sanl_session_new (self->model, &error);
  if (!self->session)
    goto session_failed;

  GST_INFO_OBJECT (self,
      "loaded model %s (%s): input %d, %d landmarks, "
      "%d classes; OpenBLAS %s kernels",
      path, sanl_model_get_name (self->model),
      sanl_model_get_input_size (self->model),
      sanl_model_get_n_landmarks (self->model),
      sanl_model_get_n_classes (self->model), sanl_get_blas_kernels ());

  gst_sanl_detect_reset (self);
  g_free (path);
  return TRUE;

no_file : {
  GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
      (_ ("The model file \"%s\" does not exist."), GST_STR_NULL (path)),
      ("set the model property or the SANL_MODEL environment variable "
       "to a .safetensors landmark model"));
  g_free (path);
  return FALSE;
}
load_failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
      (_ ("Could not load the model file \"%s\"."), path),
      ("%s", error->message));
  g_clear_error (&error);
  g_free (path);
  return FALSE;
}
session_failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
      (_ ("Could not prepare the model \"%s\" for inference."), path),
      ("%s", error->message));
  g_clear_error (&error);
  g_clear_pointer (&self->model, sanl_model_unref);
  g_free (path);
  return FALSE;
}
}

static gboolean
gst_sanl_detect_stop (GstBaseTransform *trans)
{
  GstSanlDetect *self = GST_SANL_DETECT (trans);

  gst_sanl_detect_reset (self);
  g_clear_pointer (&self->session, sanl_session_free);
  g_clear_pointer (&self->model, sanl_model_unref);

  return TRUE;
}

/* A new stream may lack regions of interest for reasons of its own: say
 * so again. A flush (a seek, say) breaks the frames' continuity: nothing
 * of the frames before it may carry over. */
static gboolean
gst_sanl_detect_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSanlDetect *self = GST_SANL_DETECT (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START)
    self->warned_no_roi = FALSE;
  else if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    GST_DEBUG_OBJECT (self, "flushed: forgetting earlier frames");
    gst_sanl_detect_forget (self);
  }

  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* Remember how late downstream is running; the base class drops frames
 * that are already late, we skip inference on those that would be. */
static gboolean
gst_sanl_detect_src_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSanlDetect *self = GST_SANL_DETECT (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;

    gst_event_parse_qos (event, &type, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK (self);
    if (diff > 0 || (GstClockTime) (-diff) < timestamp)
      self->earliest_time = timestamp + diff;
    else
      self->earliest_time = 0;
    GST_OBJECT_UNLOCK (self);
  }

  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

static gboolean
gst_sanl_detect_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstSanlDetect *self = GST_SANL_DETECT (filter);

  GST_DEBUG_OBJECT (self, "new caps %" GST_PTR_FORMAT, incaps);

  /* Old positions mean nothing in a frame of another size */
  gst_clear_buffer (&self->results);
  self->have_results = FALSE;
  self->tracking = FALSE;
  self->maps_source = MAPS_NONE;

  return TRUE;
}

/* The engine's view of a mapped frame; alpha is read as padding. */
static gboolean
gst_sanl_detect_frame_to_image (GstVideoFrame *frame, SanlImage *image)
{
  guint i;

  switch (GST_VIDEO_FRAME_FORMAT (frame)) {
    case GST_VIDEO_FORMAT_RGB:
      image->format = SANL_PIXEL_RGB;
      break;
    case GST_VIDEO_FORMAT_BGR:
      image->format = SANL_PIXEL_BGR;
      break;
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_RGBA:
      image->format = SANL_PIXEL_RGBX;
      break;
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_BGRA:
      image->format = SANL_PIXEL_BGRX;
      break;
    case GST_VIDEO_FORMAT_xRGB:
    case GST_VIDEO_FORMAT_ARGB:
      image->format = SANL_PIXEL_XRGB;
      break;
    case GST_VIDEO_FORMAT_xBGR:
    case GST_VIDEO_FORMAT_ABGR:
      image->format = SANL_PIXEL_XBGR;
      break;
    case GST_VIDEO_FORMAT_I420:
      image->format = SANL_PIXEL_I420;
      break;
    case GST_VIDEO_FORMAT_NV12:
      image->format = SANL_PIXEL_NV12;
      break;
    case GST_VIDEO_FORMAT_YUY2:
      image->format = SANL_PIXEL_YUY2;
      break;
    default:
      return FALSE;
  }

  image->width = GST_VIDEO_FRAME_WIDTH (frame);
  image->height = GST_VIDEO_FRAME_HEIGHT (frame);
  for (i = 0; i < 3; i++) {
    gboolean have = i < GST_VIDEO_FRAME_N_PLANES (frame);

    image->data[i] = have ? GST_VIDEO_FRAME_PLANE_DATA (frame, i) : NULL;
    image->stride[i] = have ? GST_VIDEO_FRAME_PLANE_STRIDE (frame, i) : 0;
  }
  return TRUE;
}

/* Whether a landmark lies on the edge of the region it was found in: the
 * decoder clamps peaks in the letterbox padding there, so such a point
 * says nothing about where the garment is. */
static gboolean
gst_sanl_detect_on_region_edge (
    const GstSanlMeta *meta, const GstSanlLandmark *l)
{
  gfloat edge = TRACK_EDGE_FRACTION * MAX (meta->width, meta->height);

  return l->x < meta->x + edge || l->x > meta->x + meta->width - edge
         || l->y < meta->y + edge || l->y > meta->y + meta->height - edge;
}

/* The next region to look at: the box of the confident landmarks plus a
 * margin, squared (the network letterboxes to a square anyway) and kept
 * inside the frame. FALSE when too few landmarks to place it, or when
 * min_spread is not zero and they bunch into less than that fraction of
 * the region they were found in.
 *
 * FIXME: apart from edge points, any result above the threshold is
 * trusted; when the first whole-frame result misses the garment, the
 * region can follow wrong points and never finds its way back. A
 * mean-score gate to start or keep tracking needs scores that separate a
 * garment from the rest, which the default model's do not: on a real
 * clip of a person, the mean landmark score is 0.18 on a region that
 * holds only her legs and 0.19 on the whole frame whose collars sit on
 * her neckline. */
static gboolean
gst_sanl_detect_track_region (const GstSanlMeta *meta, gfloat threshold,
    gdouble margin, gfloat min_spread, gint width, gint height,
    SanlRect *region)
{
  gfloat x0 = G_MAXFLOAT, y0 = G_MAXFLOAT, x1 = -G_MAXFLOAT, y1 = -G_MAXFLOAT;
  gfloat side, min_side, cx, cy, w, h;
  guint k, n = 0;

  for (k = 0; k < meta->n_landmarks; k++) {
    const GstSanlLandmark *l = &meta->landmarks[k];

    if (l->score < threshold || !l->visible
        || gst_sanl_detect_on_region_edge (meta, l))
      continue;
    x0 = MIN (x0, l->x);
    y0 = MIN (y0, l->y);
    x1 = MAX (x1, l->x);
    y1 = MAX (y1, l->y);
    n++;
  }
  if (n < TRACK_MIN_POINTS)
    return FALSE;
  if (MAX (x1 - x0, y1 - y0) < min_spread * MAX (meta->width, meta->height)) {
    GST_DEBUG ("landmarks bunched in %.1fx%.1f of a %.1fx%.1f region: lost",
        x1 - x0, y1 - y0, meta->width, meta->height);
    return FALSE;
  }

  /* Landmarks are pixel centres: the box spans their pixels */
  x0 -= 0.5f;
  y0 -= 0.5f;
  x1 += 0.5f;
  y1 += 0.5f;

  min_side = TRACK_MIN_FRACTION * MIN (width, height);
  side = MAX (x1 - x0, y1 - y0) * (1.0f + 2.0f * margin);
  side = MAX (side, min_side);

  cx = (x0 + x1) / 2.0f;
  cy = (y0 + y1) / 2.0f;
  w = MIN (side, width);
  h = MIN (side, height);
  region->x = CLAMP (cx - w / 2.0f, 0.0f, width - w);
  region->y = CLAMP (cy - h / 2.0f, 0.0f, height - h);
  region->width = w;
  region->height = h;
  return TRUE;
}

static GstSanlMeta *
gst_sanl_detect_find_result (GstBuffer *results, gint roi_id)
{
  gpointer state = NULL;
  GstMeta *meta;

  if (!results)
    return NULL;
  while ((meta = gst_buffer_iterate_meta_filtered (
              results, &state, GST_SANL_META_API_TYPE))) {
    if (((GstSanlMeta *) meta)->roi_id == roi_id)
      return (GstSanlMeta *) meta;
  }
  return NULL;
}

/* Exponential filter: keep `weight` of the old position per landmark. */
static void
gst_sanl_detect_smooth (
    GstSanlMeta *meta, const GstSanlMeta *previous, gdouble weight)
{
  guint k;

  if (!previous || weight <= 0.0 || previous->n_landmarks != meta->n_landmarks)
    return;

  for (k = 0; k < meta->n_landmarks; k++) {
    GstSanlLandmark *l = &meta->landmarks[k];
    const GstSanlLandmark *p = &previous->landmarks[k];

    l->x = (gfloat) (weight * p->x + (1.0 - weight) * l->x);
    l->y = (gfloat) (weight * p->y + (1.0 - weight) * l->y);
  }
}

/* The attention maps cover the network's square input: the region
 * centred in a square of its longer side. */
static void
gst_sanl_detect_attach_attention (GstSanlDetect *self, GstSanlMeta *meta)
{
  gfloat side = MAX (meta->width, meta->height);
  guint i;

  meta->attention_x = meta->x - (side - meta->width) / 2.0f;
  meta->attention_y = meta->y - (side - meta->height) / 2.0f;
  meta->attention_width = side;
  meta->attention_height = side;

  for (i = 0; i < GST_SANL_META_N_ATTENTION; i++) {
    SanlTensor t
        = sanl_session_get_output (self->session, SANL_OUTPUT_ATTENTION_1 + i);

    /* (1, h, w) */
    if (!t.data || t.n_dims != 3)
      continue;
    gst_sanl_meta_set_attention (meta, i, t.shape[2], t.shape[1], t.data);
  }
}

typedef struct
{
  gfloat threshold;
  gdouble smoothing;
  gboolean attach_attention;
  SanlAttention attention;
  guint attention_interval;
} InferenceSettings;

/* Tells the session whether to steer with its stored maps: only when they
 * were made for this very region (source, roi_id) less than
 * attention-interval inferences ago. Else it makes new ones, and they are
 * remembered as this region's. */
static void
gst_sanl_detect_choose_maps (GstSanlDetect *self, const InferenceSettings *s,
    GstSanlDetectMapsSource source, gint roi_id)
{
  gboolean reuse = source != MAPS_NONE && self->maps_source == (gint) source
                   && (source != MAPS_ROI || self->maps_roi_id == roi_id)
                   && self->inferences_since_maps < s->attention_interval;

  sanl_session_reuse_attention (self->session, reuse);
  if (s->attention != SANL_ATTENTION_GRADCAM)
    return;
  if (reuse) {
    GST_LOG_OBJECT (self, "reusing the attention maps of %u inferences ago",
        self->inferences_since_maps);
    return;
  }

  self->maps_source = source;
  self->maps_roi_id = roi_id;
  self->inferences_since_maps = 0;
  self->maps_computed = TRUE;
}

/* One region through the network into a meta on `results`; FALSE on an
 * engine error, *found FALSE when no landmark reaches the threshold. */
static gboolean
gst_sanl_detect_run_region (GstSanlDetect *self, const SanlImage *image,
    const SanlRect *region, GstSanlDetectMapsSource source, gint roi_id,
    const InferenceSettings *s, GstBuffer *results, GstSanlMeta **found,
    GError **error)
{
  SanlResult result;
  GstSanlMeta *meta;
  gfloat best = 0.0f;
  gint k;

  *found = NULL;
  gst_sanl_detect_choose_maps (self, s, source, roi_id);
  if (!sanl_session_run (self->session, image, region, &result, error))
    return FALSE;

  for (k = 0; k < result.n_landmarks; k++)
    best = MAX (best, result.landmarks[k].score);
  if (best < s->threshold || result.n_landmarks == 0)
    return TRUE;

  meta = gst_buffer_add_sanl_meta (results);
  meta->x = result.region.x;
  meta->y = result.region.y;
  meta->width = result.region.width;
  meta->height = result.region.height;
  meta->category = result.category;
  if (result.category >= 0)
    meta->category_name = g_quark_from_string (
        sanl_model_get_class_name (self->model, result.category));
  meta->category_score = result.category_score;
  meta->roi_id = roi_id;
  meta->n_landmarks = MIN (result.n_landmarks, GST_SANL_META_MAX_LANDMARKS);
  for (k = 0; k < (gint) meta->n_landmarks; k++) {
    GstSanlLandmark *l = &meta->landmarks[k];

    l->x = result.landmarks[k].x;
    l->y = result.landmarks[k].y;
    l->score = result.landmarks[k].score;
    l->visibility = result.landmarks[k].visibility;
    l->visible = result.landmarks[k].visible;
    l->name
        = g_quark_from_string (sanl_model_get_landmark_name (self->model, k));
  }

  gst_sanl_detect_smooth (
      meta, gst_sanl_detect_find_result (self->results, roi_id), s->smoothing);
  if (s->attach_attention && s->attention == SANL_ATTENTION_GRADCAM)
    gst_sanl_detect_attach_attention (self, meta);

  *found = meta;
  return TRUE;
}

/* An upstream region of interest cut to the frame. Its fields are guint,
 * so the far edges are summed in 64 bits where they cannot wrap. FALSE
 * when nothing of it lies inside the frame. */
static gboolean
gst_sanl_detect_clip_roi (const GstVideoRegionOfInterestMeta *roi, gint width,
    gint height, SanlRect *region)
{
  guint64 x0 = MIN ((guint64) roi->x, (guint64) width);
  guint64 y0 = MIN ((guint64) roi->y, (guint64) height);
  guint64 x1 = MIN ((guint64) roi->x + roi->w, (guint64) width);
  guint64 y1 = MIN ((guint64) roi->y + roi->h, (guint64) height);

  if (x1 <= x0 || y1 <= y0)
    return FALSE;
  region->x = x0;
  region->y = y0;
  region->width = x1 - x0;
  region->height = y1 - y0;
  return TRUE;
}

/* Said once per stream: in roi-list mode a frame with no region of
 * interest at all means nothing upstream makes them. */
static void
gst_sanl_detect_warn_no_roi (GstSanlDetect *self)
{
  if (self->warned_no_roi)
    return;
  self->warned_no_roi = TRUE;
  GST_ELEMENT_WARNING (self, STREAM, FORMAT,
      (_ ("A video frame arrived without any region of interest, so no "
          "garment was looked for in it.")),
      ("inference-region=roi-list analyses only the "
       "GstVideoRegionOfInterestMeta of each frame and frame %" G_GUINT64_FORMAT
       " has none: put an object detector upstream or use "
       "inference-region=full-frame",
          self->frame_count));
}

/* Every upstream region of interest, clipped to the frame. */
static gboolean
gst_sanl_detect_run_roi_list (GstSanlDetect *self, GstVideoFrame *frame,
    const SanlImage *image, const InferenceSettings *s, GstBuffer *results,
    GError **error)
{
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  gpointer state = NULL;
  GstMeta *m;
  guint n = 0;
  GstSanlDetectMapsSource source = MAPS_ROI;

  /* Stored maps fit one region; with several each needs its own. */
  if (gst_buffer_get_n_meta (
          frame->buffer, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)
      > 1)
    source = MAPS_NONE;

  while ((m = gst_buffer_iterate_meta_filtered (frame->buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) m;
    GstSanlMeta *found;
    SanlRect region;

    n++;
    if (!gst_sanl_detect_clip_roi (roi, width, height, &region)) {
      GST_DEBUG_OBJECT (self,
          "region of interest %d (%u,%u %ux%u) is outside the %dx%d "
          "frame: skipped",
          roi->id, roi->x, roi->y, roi->w, roi->h, width, height);
      continue;
    }
    GST_LOG_OBJECT (self, "region of interest %d is %.0f,%.0f %.0fx%.0f",
        roi->id, region.x, region.y, region.width, region.height);
    if (!gst_sanl_detect_run_region (
            self, image, &region, source, roi->id, s, results, &found, error))
      return FALSE;
  }

  if (n == 0)
    gst_sanl_detect_warn_no_roi (self);
  return TRUE;
}

/* The whole frame, or the tracked region; updates the tracking state. */
static gboolean
gst_sanl_detect_run_full_frame (GstSanlDetect *self, GstVideoFrame *frame,
    const SanlImage *image, const InferenceSettings *s, gboolean track,
    gdouble margin, GstBuffer *results, GError **error)
{
  gint width = GST_VIDEO_FRAME_WIDTH (frame);
  gint height = GST_VIDEO_FRAME_HEIGHT (frame);
  GstSanlMeta *found;
  SanlRect whole = { 0.0f, 0.0f, width, height };
  gboolean tracked = track && self->tracking;
  const SanlRect *region = tracked ? &self->track_region : &whole;

  GST_LOG_OBJECT (self, "region %.1f,%.1f %.1fx%.1f", region->x, region->y,
      region->width, region->height);
  if (!gst_sanl_detect_run_region (self, image, region,
          tracked ? MAPS_TRACKED : MAPS_WHOLE_FRAME, -1, s, results, &found,
          error))
    return FALSE;

  /* a garment found on the whole frame may be small in it; one found in
   * its tracked region should fill much of it */
  self->tracking = track && found
                   && gst_sanl_detect_track_region (found, s->threshold, margin,
                       tracked ? TRACK_MIN_SPREAD : 0.0f, width, height,
                       &self->track_region);
  return TRUE;
}

static gboolean
gst_sanl_detect_infer (GstSanlDetect *self, GstVideoFrame *frame)
{
  InferenceSettings s;
  SanlImage image;
  GstBuffer *results = gst_buffer_new ();
  GError *error = NULL;
  GstSanlDetectRegion mode;
  gboolean track, ok;
  gdouble margin;
  gint64 start = g_get_monotonic_time ();

  GST_OBJECT_LOCK (self);
  s.threshold = self->threshold;
  s.smoothing = self->smoothing;
  s.attach_attention = self->attach_attention;
  s.attention_interval = self->attention_interval;
  s.attention = self->attention == GST_SANL_DETECT_ATTENTION_NONE
                    ? SANL_ATTENTION_NONE
                    : SANL_ATTENTION_GRADCAM;
  mode = self->inference_region;
  track = self->track;
  margin = self->track_margin;
  GST_OBJECT_UNLOCK (self);

  gst_sanl_detect_frame_to_image (frame, &image);
  sanl_session_set_attention (self->session, s.attention);
  self->maps_computed = FALSE;
  if (s.attention != SANL_ATTENTION_GRADCAM)
    self->maps_source = MAPS_NONE;

  if (mode == GST_SANL_DETECT_REGION_ROI_LIST)
    ok = gst_sanl_detect_run_roi_list (
        self, frame, &image, &s, results, &error);
  else
    ok = gst_sanl_detect_run_full_frame (
        self, frame, &image, &s, track, margin, results, &error);

  if (!ok) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, (_ ("Landmark detection failed.")),
        ("%s", error->message));
    g_clear_error (&error);
    gst_buffer_unref (results);
    self->maps_source = MAPS_NONE;
    return FALSE;
  }

  gst_clear_buffer (&self->results);
  self->results = results;
  self->have_results = TRUE;
  self->inferences_since_maps++;
  self->inference_duration = (g_get_monotonic_time () - start) * GST_USECOND;
  GST_DEBUG_OBJECT (self,
      "frame %" G_GUINT64_FORMAT ": inference took %" GST_TIME_FORMAT,
      self->frame_count, GST_TIME_ARGS (self->inference_duration));
  return TRUE;
}

/* Running the network would make the frame miss its slot downstream. */
static gboolean
gst_sanl_detect_would_be_late (GstSanlDetect *self, GstBuffer *buffer)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime running_time, earliest;

  if (!gst_base_transform_is_qos_enabled (trans)
      || !GST_BUFFER_PTS_IS_VALID (buffer)
      || trans->segment.format != GST_FORMAT_TIME)
    return FALSE;

  GST_OBJECT_LOCK (self);
  earliest = self->earliest_time;
  GST_OBJECT_UNLOCK (self);
  if (!GST_CLOCK_TIME_IS_VALID (earliest))
    return FALSE;

  running_time = gst_segment_to_running_time (
      &trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  return GST_CLOCK_TIME_IS_VALID (running_time)
         && running_time <= earliest + self->inference_duration;
}

static void
gst_sanl_detect_copy_results (GstSanlDetect *self, GstBuffer *buffer)
{
  gpointer state = NULL;
  GstMeta *meta;

  if (!self->results)
    return;
  while ((meta = gst_buffer_iterate_meta_filtered (
              self->results, &state, GST_SANL_META_API_TYPE)))
    gst_sanl_meta_copy_contents (
        gst_buffer_add_sanl_meta (buffer), (GstSanlMeta *) meta);
}

static GstStructure *
gst_sanl_detect_garment_structure (const GstSanlMeta *meta)
{
  GValue landmarks = G_VALUE_INIT;
  GstStructure *s;
  guint k;

  g_value_init (&landmarks, GST_TYPE_LIST);
  for (k = 0; k < meta->n_landmarks; k++) {
    const GstSanlLandmark *l = &meta->landmarks[k];
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (
        &v, gst_structure_new ("landmark", "name", G_TYPE_STRING,
                g_quark_to_string (l->name), "x", G_TYPE_FLOAT, l->x, "y",
                G_TYPE_FLOAT, l->y, "score", G_TYPE_FLOAT, l->score,
                "visibility", G_TYPE_FLOAT, l->visibility, "visible",
                G_TYPE_BOOLEAN, l->visible, NULL));
    gst_value_list_append_and_take_value (&landmarks, &v);
  }

  s = gst_structure_new ("garment", "x", G_TYPE_FLOAT, meta->x, "y",
      G_TYPE_FLOAT, meta->y, "width", G_TYPE_FLOAT, meta->width, "height",
      G_TYPE_FLOAT, meta->height, "category", G_TYPE_STRING,
      g_quark_to_string (meta->category_name), "category-score", G_TYPE_FLOAT,
      meta->category_score, "roi-id", G_TYPE_INT, meta->roi_id, NULL);
  gst_structure_take_value (s, "landmarks", &landmarks);
  return s;
}

/* Like facedetect: timestamps, whether the network ran on this frame and
 * made fresh attention maps, and a list of garment structures. */
static void
gst_sanl_detect_post_message (
    GstSanlDetect *self, GstBuffer *buffer, gboolean inferred)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  GstClockTime stream_time = GST_CLOCK_TIME_NONE;
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  GValue garments = G_VALUE_INIT;
  GstStructure *s;
  gpointer state = NULL;
  GstMeta *meta;

  g_value_init (&garments, GST_TYPE_LIST);
  while ((meta = gst_buffer_iterate_meta_filtered (
              buffer, &state, GST_SANL_META_API_TYPE))) {
    GValue v = G_VALUE_INIT;

    g_value_init (&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed (
        &v, gst_sanl_detect_garment_structure ((GstSanlMeta *) meta));
    gst_value_list_append_and_take_value (&garments, &v);
  }

  /* a segment in another format (bytes from a plain appsrc, say) has no
   * times to convert to */
  if (trans->segment.format == GST_FORMAT_TIME) {
    stream_time
        = gst_segment_to_stream_time (&trans->segment, GST_FORMAT_TIME, pts);
    running_time
        = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, pts);
  }

  s = gst_structure_new ("sanldetect", "timestamp", G_TYPE_UINT64, pts,
      "stream-time", G_TYPE_UINT64, stream_time, "running-time", G_TYPE_UINT64,
      running_time, "duration", G_TYPE_UINT64, GST_BUFFER_DURATION (buffer),
      "frame", G_TYPE_UINT64, self->frame_count, "inferred", G_TYPE_BOOLEAN,
      inferred, "attention-computed", G_TYPE_BOOLEAN,
      inferred && self->maps_computed, NULL);
  gst_structure_take_value (s, "garments", &garments);

  gst_element_post_message (
      GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

static GstFlowReturn
gst_sanl_detect_transform_frame_ip (
    GstVideoFilter *filter, GstVideoFrame *frame)
{
  GstSanlDetect *self = GST_SANL_DETECT (filter);
  gboolean due, inferred = FALSE, post;
  guint interval;

  GST_OBJECT_LOCK (self);
  interval = self->inference_interval;
  post = self->post_messages;
  GST_OBJECT_UNLOCK (self);

  due = !self->have_results || self->frames_since_inference >= interval;
  if (due && self->have_results
      && gst_sanl_detect_would_be_late (self, frame->buffer)) {
    GST_DEBUG_OBJECT (self,
        "frame %" G_GUINT64_FORMAT " is late: carrying "
        "the last result forward",
        self->frame_count);
    due = FALSE;
  }

  if (due) {
    if (!gst_sanl_detect_infer (self, frame))
      return GST_FLOW_ERROR;
    inferred = TRUE;
    self->frames_since_inference = 0;
  }

  gst_sanl_detect_copy_results (self, frame->buffer);
  if (post)
    gst_sanl_detect_post_message (self, frame->buffer, inferred);

  self->frames_since_inference++;
  self->frame_count++;
  return GST_FLOW_OK;
}
