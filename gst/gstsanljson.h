/* GStreamer fashion landmark JSON writer
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SANL_JSON_H__
#define __GST_SANL_JSON_H__

#include <stdio.h>

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_SANL_JSON (gst_sanl_json_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSanlJson, gst_sanl_json, GST, SANL_JSON, GstBaseTransform)

struct _GstSanlJson
{
  GstBaseTransform basetransform;

  /* properties, under the object lock */
  gchar *location;

  /* streaming state */
  FILE *file;
  gboolean own_file;
  gboolean emptied; /* the file's earlier contents are gone */
  gchar *created;   /* the path, when this run created the file */
  guint64 frame_count;
  gint width;
  gint height;
};

G_END_DECLS

#endif /* __GST_SANL_JSON_H__ */
