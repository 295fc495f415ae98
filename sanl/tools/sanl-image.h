/* sanl-image: still images from JPEG and PNG files, for the command-line
 * tools.
 *
 *   SanlImage image;
 *   guint8 *pixels = sanl_image_load ("shirt.jpg", &image, &error);
 *
 *   if (pixels)
 *     sanl_session_run (session, &image, &region, &result, &error);
 *   g_free (pixels);
 */

#ifndef SANL_IMAGE_H
#define SANL_IMAGE_H

#include "sanl.h"

G_BEGIN_DECLS

/**
 * sanl_image_load:
 * @path: a JPEG or PNG file, told apart by its first bytes
 * @image: (out): set to describe the decoded pixels
 * @error: return location for a #GError naming @path and what went wrong
 *
 * Decodes the whole of @path, 8 bits per channel: a JPEG as
 * %SANL_PIXEL_BGRX, a PNG as %SANL_PIXEL_RGBX when it has alpha and
 * %SANL_PIXEL_RGB otherwise. A missing, truncated or corrupt file (a
 * libjpeg warning counts as corrupt), a CMYK JPEG, an image of no pixels
 * or more than 2^28 of them, or a file of any other format is an error.
 *
 * Returns: (transfer full): the pixels @image points into, to be freed with
 * g_free() once @image is no longer used; %NULL on error, @image then
 * untouched.
 */
guint8 *sanl_image_load (const char *path, SanlImage *image, GError **error);

G_END_DECLS

#endif /* SANL_IMAGE_H */
