/* Reader of .safetensors files: an 8-byte little-endian header length N,
 * N bytes of JSON describing every tensor, then the raw tensor data.
 *
 * The file is mapped, not read; every rule of the format is checked before
 * a tensor is handed out, so a tensor's data always lies inside the file and
 * has exactly the size its dtype and shape imply. Not installed.
 *
 *   SanlSafetensors *st = sanl_safetensors_open ("model.safetensors", &err);
 *   const SanlSafetensor *t = sanl_safetensors_find (st, "fc.weight");
 *   float *w = sanl_safetensor_to_float (t);       (t->n_elements floats)
 *   g_free (w);
 *   sanl_safetensors_free (st);
 */

#ifndef SANL_SAFETENSORS_H
#define SANL_SAFETENSORS_H

#include <glib.h>

G_BEGIN_DECLS

/* The most dimensions a tensor may have. */
#define SANL_SAFETENSOR_MAX_DIMS 4

/* The largest JSON header accepted, in bytes. */
#define SANL_SAFETENSORS_MAX_HEADER (64 * 1024 * 1024)

typedef enum
{
  SANL_DTYPE_F32,
  SANL_DTYPE_F16,
  SANL_DTYPE_BF16,
  SANL_DTYPE_I64, /* only for *.num_batches_tracked */
} SanlDtype;

typedef struct
{
  const char *name;
  SanlDtype dtype;
  int n_dims; /* 0 for a scalar */
  gint64 shape[SANL_SAFETENSOR_MAX_DIMS];
  gint64 n_elements;
  const guint8 *data; /* inside the mapping; may be unaligned */
  gsize size;         /* bytes */
} SanlSafetensor;

typedef struct
{
  char *path;
  GBytes *bytes; /* the whole file */
  int n_tensors;
  SanlSafetensor *tensors; /* in header order */
  GHashTable *index;       /* name -> SanlSafetensor * */
  GHashTable *metadata;    /* "__metadata__": string -> string */
  GStringChunk *names;     /* storage of the tensor names */
} SanlSafetensors;

/* Maps and validates the file at path. Errors are SANL_ERROR_IO (cannot be
 * opened or mapped) or SANL_ERROR_FORMAT (breaks a rule of the format);
 * their message names the file and, where one is to blame, the tensor. */
SanlSafetensors *sanl_safetensors_open (const char *path, GError **error);

/* Same, on a file already in memory; path only names it in errors. */
SanlSafetensors *sanl_safetensors_open_bytes (
    GBytes *bytes, const char *path, GError **error);

void sanl_safetensors_free (SanlSafetensors *st);

/* The tensor called name, or NULL. */
const SanlSafetensor *sanl_safetensors_find (
    const SanlSafetensors *st, const char *name);

/* The metadata string under key, or NULL. */
const char *sanl_safetensors_get_metadata (
    const SanlSafetensors *st, const char *key);

/* Size in bytes of one element of dtype. */
gsize sanl_dtype_size (SanlDtype dtype);

const char *sanl_dtype_name (SanlDtype dtype);

/* out (n) = the n little-endian elements of dtype at data, as float32.
 * data needs no alignment. F16 and BF16 convert exactly, subnormals,
 * infinities and NaNs included. */
void sanl_dtype_to_float (
    SanlDtype dtype, const guint8 *data, gsize n, float *out);

/* A newly allocated (n_elements) float32 copy of the tensor; g_free it. */
float *sanl_safetensor_to_float (const SanlSafetensor *tensor);

/* NULL when every backslash escape in the length bytes of JSON text at
 * json is one JSON has and none is a NUL (\u0000); else what is wrong,
 * for a message. The header and sanl.config are checked so. */
const char *sanl_json_check_escapes (const char *json, gsize length);

G_END_DECLS

#endif /* SANL_SAFETENSORS_H */
