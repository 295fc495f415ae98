/* libsanl: the Spatial-Aware Non-Local fashion landmark network in C.
 *
 * A model is loaded once from a .safetensors file and is read-only after
 * that; any number of sessions may share it, one per thread. A session owns
 * every buffer a frame needs, so sanl_session_run() allocates nothing.
 *
 *   SanlModel *model = sanl_model_load ("default.safetensors", &error);
 *   SanlSession *session = sanl_session_new (model, &error);
 *   SanlImage image = { SANL_PIXEL_RGB, width, height, { pixels },
 *     { width * 3 } };
 *   SanlResult result;
 *   if (sanl_session_run (session, &image, NULL, &result, &error))
 *     ... result.landmarks[k].x, .y, .score, .visible ...
 *   sanl_session_free (session);
 *   sanl_model_unref (model);
 */

#ifndef SANL_H
#define SANL_H

#include <glib.h>

G_BEGIN_DECLS

/* The most landmarks a model may have; SanlResult holds them inline. */
#define SANL_MAX_LANDMARKS 32

#define SANL_ERROR (sanl_error_quark ())
GQuark sanl_error_quark (void);

typedef enum
{
  SANL_ERROR_IO,       /* a file could not be opened or read */
  SANL_ERROR_FORMAT,   /* the file breaks a rule of safetensors */
  SANL_ERROR_CONFIG,   /* sanl.config is missing or invalid */
  SANL_ERROR_TENSOR,   /* a tensor is missing, extra or misshapen */
  SANL_ERROR_ARGUMENT, /* a caller passed an unusable value */
  SANL_ERROR_NUMERIC,  /* the network computed NaN or infinity */
} SanlError;

typedef enum
{
  SANL_PIXEL_RGB, /* 3 bytes per pixel */
  SANL_PIXEL_BGR,
  SANL_PIXEL_RGBX, /* 4 bytes per pixel; X or A ignored */
  SANL_PIXEL_BGRX,
  SANL_PIXEL_XRGB,
  SANL_PIXEL_XBGR,
  SANL_PIXEL_I420, /* planar Y, U, V; chroma halved both ways */
  SANL_PIXEL_NV12, /* Y plane, interleaved UV plane */
  SANL_PIXEL_YUY2, /* packed Y0 U Y1 V */
} SanlPixelFormat;

/* A frame in memory. Plane 0 is the only plane of packed formats. YUV is
 * read as BT.601 limited range, as GStreamer's default for SD sizes. */
typedef struct
{
  SanlPixelFormat format;
  int width;
  int height;
  const guint8 *data[3];
  int stride[3];
} SanlImage;

/* A region of a frame in pixels; (x, y) is the top-left corner. */
typedef struct
{
  float x;
  float y;
  float width;
  float height;
} SanlRect;

typedef struct
{
  float x; /* frame pixels, pixel centres at integers */
  float y;
  float score;      /* peak height times visibility, 0..1 */
  float visibility; /* probability that the point is visible */
  gboolean visible; /* visibility >= 0.5 */
} SanlLandmark;

typedef struct
{
  int n_landmarks;
  SanlLandmark landmarks[SANL_MAX_LANDMARKS];
  int category;         /* index into the class names; -1 if none */
  float category_score; /* softmax probability of category */
  SanlRect region;      /* the region the network saw */
} SanlResult;

typedef enum
{
  SANL_ATTENTION_GRADCAM, /* Grad-CAM maps steer the SANL blocks */
  SANL_ATTENTION_NONE,    /* plain non-local blocks; no classifier */
} SanlAttention;

/* Raw outputs of the last run, for parity tests and visualisation. */
typedef enum
{
  SANL_OUTPUT_INPUT,           /* (3, S, S) normalised network input */
  SANL_OUTPUT_ATTENTION_1,     /* (1, S/4, S/4) */
  SANL_OUTPUT_ATTENTION_2,     /* (1, S/8, S/8) */
  SANL_OUTPUT_ATTENTION_3,     /* (1, S/16, S/16) */
  SANL_OUTPUT_ATTENTION_4,     /* (1, S/32, S/32) */
  SANL_OUTPUT_LOGITS,          /* (N_classes) */
  SANL_OUTPUT_HEATMAPS_COARSE, /* (K, S/4, S/4) */
  SANL_OUTPUT_HEATMAPS_FINE,   /* (K, S/4, S/4) */
  SANL_OUTPUT_VISIBILITY,      /* (K) after the sigmoid */
  SANL_N_OUTPUTS
} SanlOutput;

typedef struct
{
  const float *data; /* NULL when the last run did not make it */
  int n_dims;
  int shape[4];
} SanlTensor;

/* Milliseconds spent in each stage of the last run. */
typedef struct
{
  double preprocess;
  double attention_forward;
  double attention_backward;
  double backbone;
  double sanl;
  double pyramid;
  double heads;
  double decode;
  double total;
} SanlTimings;

typedef struct _SanlModel SanlModel;
typedef struct _SanlSession SanlSession;

/* Model */
SanlModel *sanl_model_load (const char *path, GError **error);
SanlModel *sanl_model_ref (SanlModel *model);
void sanl_model_unref (SanlModel *model);
const char *sanl_model_get_path (const SanlModel *model);
const char *sanl_model_get_name (const SanlModel *model);
int sanl_model_get_input_size (const SanlModel *model);
int sanl_model_get_n_landmarks (const SanlModel *model);
const char *sanl_model_get_landmark_name (const SanlModel *model, int k);
int sanl_model_get_n_classes (const SanlModel *model);
const char *sanl_model_get_class_name (const SanlModel *model, int c);
/* Multiply-accumulates of one run with the given attention mode. */
double sanl_model_get_macs (const SanlModel *model, SanlAttention attention);

/* Session */
SanlSession *sanl_session_new (SanlModel *model, GError **error);
void sanl_session_free (SanlSession *session);
SanlModel *sanl_session_get_model (SanlSession *session);
void sanl_session_set_attention (SanlSession *session, SanlAttention mode);

/**
 * sanl_session_reuse_attention:
 * @session: a #SanlSession
 * @reuse: %TRUE to keep the attention maps of an earlier run
 *
 * Lets the next runs skip the attention generator. While @reuse is %TRUE
 * and an earlier run in %SANL_ATTENTION_GRADCAM mode made attention maps,
 * each run steers the SANL blocks with those stored maps: neither the
 * classifier's forward pass nor the Grad-CAM backward pass runs, the
 * result's category and category_score are the stored ones, and the
 * attention timings are 0. A session that has no maps yet computes them
 * as usual, and they become the stored maps. With @reuse %FALSE (the
 * default) every Grad-CAM run computes fresh maps.
 *
 * The maps belong to the picture they were computed on, so reuse them
 * only for later frames of the same region of a slowly changing scene.
 */
void sanl_session_reuse_attention (SanlSession *session, gboolean reuse);

/* Runs the network on @region of @image (the whole image when NULL), or
 * on a prepared (3, S, S) @input, into @result. Fails with
 * %SANL_ERROR_ARGUMENT for an unusable image or region, and with
 * %SANL_ERROR_NUMERIC when the outputs hold NaN or infinity (weights that
 * overflow float on this input); the raw outputs of such a run stay
 * readable through sanl_session_get_output, to see where they went bad. */
gboolean sanl_session_run (SanlSession *session, const SanlImage *image,
    const SanlRect *region, SanlResult *result, GError **error);
gboolean sanl_session_run_input (SanlSession *session, const float *input,
    SanlResult *result, GError **error);
SanlTensor sanl_session_get_output (SanlSession *session, SanlOutput which);
const SanlTimings *sanl_session_get_timings (SanlSession *session);
gsize sanl_session_get_arena_size (SanlSession *session);

/* Threads the engine computes with, in this process (0 = leave it: at
 * first use, OpenBLAS's default count, one per processor unless
 * OPENBLAS_NUM_THREADS says otherwise). The engine runs its own workers
 * and sets OpenBLAS to one thread, so OpenBLAS calls made elsewhere in the
 * process run single-threaded too. Results are the same bits at any
 * count. */
void sanl_set_threads (int n_threads);

/* The OpenBLAS kernels the engine's products run on ("SkylakeX",
 * "Haswell", ...). From the first model load on, the ones this processor
 * runs best, unless OPENBLAS_CORETYPE chose others: OpenBLAS falls back
 * to older kernels on processors newer than itself, and the engine
 * switches it, for the whole process. A program whose other threads call
 * OpenBLAS loads its first model before they start, or sets
 * OPENBLAS_CORETYPE itself. */
const char *sanl_get_blas_kernels (void);

G_END_DECLS

#endif /* SANL_H */
