/* GStreamer fashion landmark detection
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SANL_DETECT_H__
#define __GST_SANL_DETECT_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "sanl.h"

G_BEGIN_DECLS

#define GST_TYPE_SANL_DETECT (gst_sanl_detect_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSanlDetect, gst_sanl_detect, GST, SANL_DETECT, GstVideoFilter)

/**
 * GstSanlDetectAttention:
 * @GST_SANL_DETECT_ATTENTION_GRADCAM: Grad-CAM maps of the garment
 *   classifier steer the non-local blocks
 * @GST_SANL_DETECT_ATTENTION_NONE: plain non-local blocks, no classifier
 */
typedef enum
{
  GST_SANL_DETECT_ATTENTION_GRADCAM,
  GST_SANL_DETECT_ATTENTION_NONE,
} GstSanlDetectAttention;

/**
 * GstSanlDetectRegion:
 * @GST_SANL_DETECT_REGION_FULL_FRAME: one garment in the whole frame
 * @GST_SANL_DETECT_REGION_ROI_LIST: one garment per upstream
 *   #GstVideoRegionOfInterestMeta
 */
typedef enum
{
  GST_SANL_DETECT_REGION_FULL_FRAME,
  GST_SANL_DETECT_REGION_ROI_LIST,
} GstSanlDetectRegion;

struct _GstSanlDetect
{
  GstVideoFilter videofilter;

  /* properties, under the object lock */
  gchar *model_path;
  guint inference_interval;
  guint attention_interval;
  gfloat threshold;
  gint threads;
  GstSanlDetectAttention attention;
  GstSanlDetectRegion inference_region;
  gdouble smoothing;
  gboolean attach_attention;
  gboolean post_messages;
  gboolean track;
  gdouble track_margin;

  /* QoS: the earliest running time downstream still wants, under the
   * object lock */
  GstClockTime earliest_time;

  /* streaming state */
  SanlModel *model;
  SanlSession *session;
  GstBuffer *results; /* holds the last inference's metas */
  gboolean have_results;
  guint64 frame_count;
  guint64 frames_since_inference;
  GstClockTime inference_duration;
  gboolean tracking;
  SanlRect track_region;
  gboolean warned_no_roi; /* in roi-list mode, once per stream */

  /* the attention maps stored in the session: the region they were made
   * for and how many inferences ago */
  gint maps_source; /* a GstSanlDetectMapsSource */
  gint maps_roi_id;
  guint inferences_since_maps;
  gboolean maps_computed; /* the last inference made fresh maps */
};

G_END_DECLS

#endif /* __GST_SANL_DETECT_H__ */
