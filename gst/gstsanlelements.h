/* GStreamer fashion landmark plugin
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SANL_ELEMENTS_H__
#define __GST_SANL_ELEMENTS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/* Translations of the plugin's own strings; the domain is bound in
 * plugin_init, so the element files only mark strings. */
#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) dgettext (GETTEXT_PACKAGE, (s))
#else
#define _(s) (s)
#endif
#define N_(s) (s)

GST_ELEMENT_REGISTER_DECLARE (sanldetect);
GST_ELEMENT_REGISTER_DECLARE (sanloverlay);
GST_ELEMENT_REGISTER_DECLARE (sanljson);

G_END_DECLS

#endif /* __GST_SANL_ELEMENTS_H__ */
