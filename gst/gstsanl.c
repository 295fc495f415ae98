/* GStreamer fashion landmark plugin
 * Copyright (C) 2024 The gst-sanl authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsanlelements.h"

/* SANL_LOCALEDIR points the plugin at another catalogue tree, such as the
 * build tree's po/ directory, so translations work before installing. */
static void
gst_sanl_bind_textdomain (void)
{
#ifdef ENABLE_NLS
  const gchar *localedir = g_getenv ("SANL_LOCALEDIR");

  bindtextdomain (GETTEXT_PACKAGE, localedir ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
#endif
}

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ret = FALSE;

  gst_sanl_bind_textdomain ();

  ret |= GST_ELEMENT_REGISTER (sanldetect, plugin);
  ret |= GST_ELEMENT_REGISTER (sanloverlay, plugin);
  ret |= GST_ELEMENT_REGISTER (sanljson, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, sanl,
    "Fashion landmark detection with a Spatial-Aware Non-Local network",
    plugin_init, VERSION, "LGPL", PACKAGE, PACKAGE_ORIGIN)
