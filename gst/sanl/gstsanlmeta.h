/* GStreamer fashion landmark metadata
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SANL_META_H__
#define __GST_SANL_META_H__

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/**
 * GST_SANL_META_MAX_LANDMARKS:
 *
 * The most landmarks one #GstSanlMeta holds.
 */
#define GST_SANL_META_MAX_LANDMARKS 32

/**
 * GST_SANL_META_N_ATTENTION:
 *
 * The number of attention maps a #GstSanlMeta may carry, one per stage
 * of the network (strides 4, 8, 16 and 32).
 */
#define GST_SANL_META_N_ATTENTION 4

#define GST_SANL_META_API_TYPE (gst_sanl_meta_api_get_type ())
#define GST_SANL_META_INFO (gst_sanl_meta_get_info ())

typedef struct _GstSanlMeta GstSanlMeta;

/**
 * GstSanlLandmark:
 * @x: horizontal position in frame pixels (pixel centres at integers)
 * @y: vertical position in frame pixels
 * @score: confidence of the point, 0..1 (peak height times visibility)
 * @visibility: probability that the point is visible, 0..1
 * @visible: whether @visibility is at least 0.5
 * @name: the landmark's name from the model, as a #GQuark (0 if none)
 *
 * One landmark of a garment.
 */
typedef struct
{
  gfloat x;
  gfloat y;
  gfloat score;
  gfloat visibility;
  gboolean visible;
  GQuark name;
} GstSanlLandmark;

/**
 * GstSanlAttentionMap:
 * @width: columns of @data
 * @height: rows of @data
 * @data: (array): @height rows of @width values in 0..1, owned by the meta
 *
 * A Grad-CAM attention map over the square the network saw.
 */
typedef struct
{
  guint width;
  guint height;
  gfloat *data;
} GstSanlAttentionMap;

/**
 * GstSanlMeta:
 * @meta: parent #GstMeta
 * @x: left edge of the region the network analysed, in frame pixels
 * @y: top edge of the region
 * @width: width of the region
 * @height: height of the region
 * @category: index of the garment category in the model's classes, or -1
 * @category_name: name of @category as a #GQuark (0 if none)
 * @category_score: probability of @category, 0..1
 * @roi_id: id of the upstream #GstVideoRegionOfInterestMeta this garment
 *   refines, or -1 when the region came from the whole frame
 * @n_landmarks: number of valid entries in @landmarks
 * @landmarks: the garment's landmarks in the model's order
 * @attention_x: left edge, in frame pixels, of the square the attention
 *   maps cover (the network's letterboxed input)
 * @attention_y: top edge of that square
 * @attention_width: width of that square in frame pixels
 * @attention_height: height of that square in frame pixels
 * @n_attention: number of valid entries in @attention (0 when none)
 * @attention: the attention maps, finest first
 *
 * Fashion landmarks of one garment region of a video frame. A buffer
 * carries one such meta per garment region.
 */
struct _GstSanlMeta
{
  GstMeta meta;

  gfloat x;
  gfloat y;
  gfloat width;
  gfloat height;

  gint category;
  GQuark category_name;
  gfloat category_score;
  gint roi_id;

  guint n_landmarks;
  GstSanlLandmark landmarks[GST_SANL_META_MAX_LANDMARKS];

  gfloat attention_x;
  gfloat attention_y;
  gfloat attention_width;
  gfloat attention_height;
  guint n_attention;
  GstSanlAttentionMap attention[GST_SANL_META_N_ATTENTION];
};

GType gst_sanl_meta_api_get_type (void);
const GstMetaInfo *gst_sanl_meta_get_info (void);

GstSanlMeta *gst_buffer_add_sanl_meta (GstBuffer *buffer);

/**
 * gst_buffer_get_sanl_meta:
 * @b: a #GstBuffer
 *
 * Returns: (nullable): the first #GstSanlMeta of @b. Use
 * gst_buffer_iterate_meta_filtered() with %GST_SANL_META_API_TYPE to see
 * every garment.
 */
#define gst_buffer_get_sanl_meta(b)                                            \
  ((GstSanlMeta *) gst_buffer_get_meta ((b), GST_SANL_META_API_TYPE))

const gchar *gst_sanl_meta_get_category_name (const GstSanlMeta *meta);
const gchar *gst_sanl_meta_get_landmark_name (
    const GstSanlMeta *meta, guint index);
void gst_sanl_meta_set_attention (GstSanlMeta *meta, guint index, guint width,
    guint height, const gfloat *data);
void gst_sanl_meta_copy_contents (GstSanlMeta *dest, const GstSanlMeta *src);

G_END_DECLS

#endif /* __GST_SANL_META_H__ */
