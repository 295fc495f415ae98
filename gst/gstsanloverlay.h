/* GStreamer fashion landmark overlay
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SANL_OVERLAY_H__
#define __GST_SANL_OVERLAY_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

G_BEGIN_DECLS

#define GST_TYPE_SANL_OVERLAY (gst_sanl_overlay_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSanlOverlay, gst_sanl_overlay, GST, SANL_OVERLAY, GstVideoFilter)

struct _GstSanlOverlay
{
  GstVideoFilter videofilter;

  /* properties, under the object lock */
  gboolean show_labels;
  gboolean show_box;
  gboolean show_category;
  gboolean show_outline;
  gboolean show_attention;
  gfloat min_score;
  gdouble point_size;
  gdouble line_width;

  /* streaming state: the frame as it came, for formats with alpha */
  guint8 *saved;
  gsize saved_size;
};

G_END_DECLS

#endif /* __GST_SANL_OVERLAY_H__ */
