/* sanl-image: JPEG (libjpeg-turbo) and PNG (libpng) files decoded whole
 * into memory, in a pixel format the engine takes without a copy.
 *
 * JPEGs are decoded straight to BGRx and RGBA PNGs read as RGBx, so those
 * images go through the engine's BGRX and RGBX paths rather than RGB. */

#include "sanl-image.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

/* Most pixels an image may have: 256 Mpixel, 1 GiB as BGRx. */
#define MAX_PIXELS (1 << 28)

static gboolean
check_size (const char *path, guint64 width, guint64 height, GError **error)
{
  if (width == 0 || height == 0 || width * height > MAX_PIXELS) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "%s: image size %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
        " is not supported",
        path, width, height);
    return FALSE;
  }
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* JPEG                                                                    */

typedef struct
{
  struct jpeg_error_mgr base;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} JpegErrors;

static void
jpeg_fail (j_common_ptr cinfo)
{
  JpegErrors *errors = (JpegErrors *) cinfo->err;

  cinfo->err->format_message (cinfo, errors->message);
  longjmp (errors->jump, 1);
}

/* A warning means corrupt or truncated data: refuse the image rather than
 * run the network on libjpeg's grey fill. Trace messages are dropped. */
static void
jpeg_message (j_common_ptr cinfo, int level)
{
  if (level < 0)
    jpeg_fail (cinfo);
}

/* *pixels: the JPEG in data as BGRx, (height, width * 4) bytes. */
static gboolean
load_jpeg (const char *path, const guint8 *data, gsize size, SanlImage *image,
    guint8 **pixels, GError **error)
{
  struct jpeg_decompress_struct cinfo;
  JpegErrors errors;
  int stride;

  cinfo.err = jpeg_std_error (&errors.base);
  errors.base.error_exit = jpeg_fail;
  errors.base.emit_message = jpeg_message;
  if (setjmp (errors.jump)) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_FORMAT, "%s: bad JPEG: %s", path,
        errors.message);
    jpeg_destroy_decompress (&cinfo);
    g_clear_pointer (pixels, g_free);
    return FALSE;
  }
  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, data, size);
  jpeg_read_header (&cinfo, TRUE);

  if (cinfo.jpeg_color_space == JCS_CMYK
      || cinfo.jpeg_color_space == JCS_YCCK) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_FORMAT,
        "%s: CMYK JPEG images are not supported", path);
    jpeg_destroy_decompress (&cinfo);
    return FALSE;
  }
  if (!check_size (path, cinfo.image_width, cinfo.image_height, error)) {
    jpeg_destroy_decompress (&cinfo);
    return FALSE;
  }

  /* libjpeg's defaults otherwise (islow DCT, fancy upsampling), as the
   * twin's decoder uses them */
  cinfo.out_color_space = JCS_EXT_BGRX;
  jpeg_start_decompress (&cinfo);
  stride = cinfo.output_width * 4;
  *pixels = g_malloc ((gsize) stride * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = *pixels + (gsize) cinfo.output_scanline * stride;

    jpeg_read_scanlines (&cinfo, &row, 1);
  }
  jpeg_finish_decompress (&cinfo);

  *image = (SanlImage){ SANL_PIXEL_BGRX, cinfo.output_width,
    cinfo.output_height, { *pixels }, { stride } };
  jpeg_destroy_decompress (&cinfo);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* PNG                                                                     */

typedef struct
{
  const guint8 *data;
  gsize size;
  gsize at;
  char message[256];
} PngSource;

static void
png_read_memory (png_structp png, png_bytep out, png_size_t n)
{
  PngSource *src = png_get_io_ptr (png);

  if (n > src->size - src->at)
    png_error (png, "file is truncated");
  memcpy (out, src->data + src->at, n);
  src->at += n;
}

static void
png_fail (png_structp png, png_const_charp message)
{
  PngSource *src = png_get_error_ptr (png);

  g_strlcpy (src->message, message, sizeof src->message);
  png_longjmp (png, 1);
}

/* Warnings (odd colour profiles and the like) do not stop decoding. */
static void
png_warn (png_structp png, png_const_charp message)
{
  g_debug ("PNG warning: %s", message);
}

/* *pixels: the PNG in data, 8 bits per channel, as RGB or (with alpha)
 * RGBx, (height, width * channels) bytes. */
static gboolean
load_png (const char *path, const guint8 *data, gsize size, SanlImage *image,
    guint8 **pixels, GError **error)
{
  PngSource src = { data, size, 0, "" };
  png_structp png;
  png_infop info = NULL;
  png_uint_32 width, height;
  int channels, stride;
  png_bytep *volatile rows = NULL;

  png = png_create_read_struct (
      PNG_LIBPNG_VER_STRING, &src, png_fail, png_warn);
  if (png)
    info = png_create_info_struct (png);
  if (!png || !info) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_IO,
        "%s: cannot start the PNG decoder", path);
    png_destroy_read_struct (&png, NULL, NULL);
    return FALSE;
  }
  if (setjmp (png_jmpbuf (png))) {
    g_set_error (error, SANL_ERROR, SANL_ERROR_FORMAT, "%s: bad PNG: %s", path,
        src.message);
    png_destroy_read_struct (&png, &info, NULL);
    g_free (rows);
    g_clear_pointer (pixels, g_free);
    return FALSE;
  }
  png_set_read_fn (png, &src, png_read_memory);
  png_read_info (png, info);
  width = png_get_image_width (png, info);
  height = png_get_image_height (png, info);
  if (!check_size (path, width, height, error)) {
    png_destroy_read_struct (&png, &info, NULL);
    return FALSE;
  }

  /* palette, low bit depths and tRNS to 8-bit RGB(A); 16-bit to 8 */
  png_set_expand (png);
  png_set_strip_16 (png);
  png_set_gray_to_rgb (png);
  png_set_interlace_handling (png);
  png_read_update_info (png, info);
  channels = png_get_channels (png, info);
  if (channels != 3 && channels != 4)
    png_error (png, "unexpected channel count after expansion");

  stride = width * channels;
  *pixels = g_malloc ((gsize) stride * height);
  rows = g_new (png_bytep, height);
  for (png_uint_32 i = 0; i < height; i++)
    rows[i] = *pixels + (gsize) i * stride;
  png_read_image (png, rows);
  png_read_end (png, NULL);

  *image = (SanlImage){ channels == 4 ? SANL_PIXEL_RGBX : SANL_PIXEL_RGB, width,
    height, { *pixels }, { stride } };
  png_destroy_read_struct (&png, &info, NULL);
  g_free (rows);
  return TRUE;
}

/* ---------------------------------------------------------------------- */
/* Any image                                                               */

guint8 *
sanl_image_load (const char *path, SanlImage *image, GError **error)
{
  static const guint8 png_magic[8]
      = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  static const guint8 jpeg_magic[3] = { 0xff, 0xd8, 0xff };
  g_autofree guint8 *data = NULL;
  guint8 *pixels = NULL;
  gsize size;

  if (!g_file_get_contents (path, (char **) &data, &size, error))
    return NULL;
  if (size >= sizeof png_magic && !memcmp (data, png_magic, sizeof png_magic))
    load_png (path, data, size, image, &pixels, error);
  else if (size >= sizeof jpeg_magic
           && !memcmp (data, jpeg_magic, sizeof jpeg_magic))
    load_jpeg (path, data, size, image, &pixels, error);
  else
    g_set_error (error, SANL_ERROR, SANL_ERROR_FORMAT,
        "%s: not a JPEG or PNG image", path);
  return pixels;
}
