/* GStreamer fashion landmark metadata
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:gstsanlmeta
 * @title: GstSanlMeta
 * @short_description: fashion landmarks of a garment region
 *
 * sanldetect attaches one #GstSanlMeta per garment region to each buffer:
 * the region's box, the garment category and its score, and the landmarks
 * (collar, sleeve, waistline, hem) in frame pixels. Elements that scale
 * the video (videoscale, videoconvertscale) rescale the coordinates;
 * copies of a buffer copy the meta. The meta is tagged "orientation", so
 * elements that flip or rotate the picture (videoflip) drop it rather
 * than pass on points that no longer lie on the garment; run sanldetect
 * after them instead.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "gstsanlmeta.h"

static void
gst_sanl_meta_clear_attention (GstSanlMeta *meta)
{
  guint i;

  for (i = 0; i < GST_SANL_META_N_ATTENTION; i++) {
    g_clear_pointer (&meta->attention[i].data, g_free);
    meta->attention[i].width = meta->attention[i].height = 0;
  }
  meta->n_attention = 0;
}

static gboolean
gst_sanl_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstSanlMeta *smeta = (GstSanlMeta *) meta;

  /* Everything zero except what means "none" */
  memset ((guint8 *) smeta + sizeof (GstMeta), 0,
      sizeof (GstSanlMeta) - sizeof (GstMeta));
  smeta->category = -1;
  smeta->roi_id = -1;

  return TRUE;
}

static void
gst_sanl_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  gst_sanl_meta_clear_attention ((GstSanlMeta *) meta);
}

/* Pixel centres sit at integers, so a point keeps its place relative to
 * the pixel grid: (x + 0.5) scales with the frame, not x. */
static gfloat
scale_point (gfloat v, gdouble ratio)
{
  return (gfloat) ((v + 0.5) * ratio - 0.5);
}

static void
gst_sanl_meta_scale (GstSanlMeta *meta, gdouble sx, gdouble sy)
{
  guint k;

  meta->x *= sx;
  meta->y *= sy;
  meta->width *= sx;
  meta->height *= sy;

  for (k = 0; k < meta->n_landmarks; k++) {
    meta->landmarks[k].x = scale_point (meta->landmarks[k].x, sx);
    meta->landmarks[k].y = scale_point (meta->landmarks[k].y, sy);
  }

  meta->attention_x *= sx;
  meta->attention_y *= sy;
  meta->attention_width *= sx;
  meta->attention_height *= sy;
}

static gboolean
gst_sanl_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  GstSanlMeta *src = (GstSanlMeta *) meta;
  GstSanlMeta *dmeta;

  if (GST_META_TRANSFORM_IS_COPY (type)) {
    dmeta = gst_buffer_add_sanl_meta (dest);
    if (!dmeta)
      return FALSE;
    gst_sanl_meta_copy_contents (dmeta, src);
    return TRUE;
  }

  if (GST_VIDEO_META_TRANSFORM_IS_SCALE (type)) {
    GstVideoMetaTransform *trans = data;
    gint in_w = GST_VIDEO_INFO_WIDTH (trans->in_info);
    gint in_h = GST_VIDEO_INFO_HEIGHT (trans->in_info);

    if (in_w <= 0 || in_h <= 0)
      return FALSE;

    dmeta = gst_buffer_add_sanl_meta (dest);
    if (!dmeta)
      return FALSE;
    gst_sanl_meta_copy_contents (dmeta, src);
    gst_sanl_meta_scale (dmeta,
        (gdouble) GST_VIDEO_INFO_WIDTH (trans->out_info) / in_w,
        (gdouble) GST_VIDEO_INFO_HEIGHT (trans->out_info) / in_h);
    return TRUE;
  }

  /* Flips, rotations, crops and anything else would need their own
   * mapping: dropping the meta is better than a stale one */
  return FALSE;
}

/**
 * gst_sanl_meta_api_get_type:
 *
 * Returns: the #GType of the #GstSanlMeta API, tagged "video", "size" and
 * "orientation": it depends on the frame's content, size and orientation.
 */
GType
gst_sanl_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { GST_META_TAG_VIDEO_STR,
    GST_META_TAG_VIDEO_SIZE_STR, GST_META_TAG_VIDEO_ORIENTATION_STR, NULL };

  if (g_once_init_enter (&type)) {
    GType _type = gst_meta_api_type_register ("GstSanlMetaAPI", tags);
    g_once_init_leave (&type, _type);
  }
  return type;
}

/**
 * gst_sanl_meta_get_info:
 *
 * Returns: the #GstMetaInfo of #GstSanlMeta.
 */
const GstMetaInfo *
gst_sanl_meta_get_info (void)
{
  static const GstMetaInfo *meta_info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) &meta_info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_SANL_META_API_TYPE,
        "GstSanlMeta", sizeof (GstSanlMeta), gst_sanl_meta_init,
        gst_sanl_meta_free, gst_sanl_meta_transform);
    g_once_init_leave ((GstMetaInfo **) &meta_info, (GstMetaInfo *) mi);
  }
  return meta_info;
}

/**
 * gst_buffer_add_sanl_meta:
 * @buffer: a writable #GstBuffer
 *
 * Adds an empty #GstSanlMeta (no landmarks, category -1, roi_id -1) for
 * the caller to fill in.
 *
 * Returns: (transfer none): the new meta
 */
GstSanlMeta *
gst_buffer_add_sanl_meta (GstBuffer *buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  return (GstSanlMeta *) gst_buffer_add_meta (buffer, GST_SANL_META_INFO, NULL);
}

/**
 * gst_sanl_meta_get_category_name:
 * @meta: a #GstSanlMeta
 *
 * Returns: (nullable): the garment category's name, or %NULL if none
 */
const gchar *
gst_sanl_meta_get_category_name (const GstSanlMeta *meta)
{
  g_return_val_if_fail (meta != NULL, NULL);

  return g_quark_to_string (meta->category_name);
}

/**
 * gst_sanl_meta_get_landmark_name:
 * @meta: a #GstSanlMeta
 * @index: a landmark index below @meta's n_landmarks
 *
 * Returns: (nullable): the landmark's name, or %NULL if none
 */
const gchar *
gst_sanl_meta_get_landmark_name (const GstSanlMeta *meta, guint index)
{
  g_return_val_if_fail (meta != NULL, NULL);
  g_return_val_if_fail (index < meta->n_landmarks, NULL);

  return g_quark_to_string (meta->landmarks[index].name);
}

/**
 * gst_sanl_meta_set_attention:
 * @meta: a #GstSanlMeta
 * @index: which map, 0 (finest) to %GST_SANL_META_N_ATTENTION - 1
 * @width: columns of @data
 * @height: rows of @data
 * @data: (array): @height rows of @width values, copied
 *
 * Stores a copy of one attention map; n_attention grows to cover @index.
 */
void
gst_sanl_meta_set_attention (GstSanlMeta *meta, guint index, guint width,
    guint height, const gfloat *data)
{
  GstSanlAttentionMap *map;

  g_return_if_fail (meta != NULL);
  g_return_if_fail (index < GST_SANL_META_N_ATTENTION);
  g_return_if_fail (data != NULL || width * height == 0);

  map = &meta->attention[index];
  g_free (map->data);
  map->data = g_memdup2 (data, sizeof (gfloat) * width * height);
  map->width = width;
  map->height = height;
  meta->n_attention = MAX (meta->n_attention, index + 1);
}

/**
 * gst_sanl_meta_copy_contents:
 * @dest: the #GstSanlMeta to overwrite
 * @src: the #GstSanlMeta to copy
 *
 * Copies every field of @src, attention maps included, into @dest.
 */
void
gst_sanl_meta_copy_contents (GstSanlMeta *dest, const GstSanlMeta *src)
{
  guint i;

  g_return_if_fail (dest != NULL && src != NULL);
  if (dest == src)
    return;

  gst_sanl_meta_clear_attention (dest);
  memcpy ((guint8 *) dest + sizeof (GstMeta),
      (const guint8 *) src + sizeof (GstMeta),
      sizeof (GstSanlMeta) - sizeof (GstMeta));

  /* The maps' memory belongs to src; give dest its own */
  dest->n_attention = 0;
  for (i = 0; i < GST_SANL_META_N_ATTENTION; i++) {
    dest->attention[i].data = NULL;
    dest->attention[i].width = dest->attention[i].height = 0;
    if (i < src->n_attention && src->attention[i].data)
      gst_sanl_meta_set_attention (dest, i, src->attention[i].width,
          src->attention[i].height, src->attention[i].data);
  }
  dest->n_attention = src->n_attention;
}
