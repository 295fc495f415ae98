/* Internal structures of libsanl: the parsed config, the folded weights of
 * every layer, and the layer kernels. Not installed.
 *
 * Activations are single images in (C, H, W) order, row-major, float32. */

#ifndef SANL_PRIVATE_H
#define SANL_PRIVATE_H

#include "sanl.h"

G_BEGIN_DECLS

#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "sanl"
#endif

/* Marks a hot loop's function to be built also for AVX2 and AVX-512 and
 * picked at load by the CPU it runs on; plain elsewhere. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SANL_VECTORIZE                                                         \
  __attribute__ ((                                                             \
      target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SANL_VECTORIZE
#endif

/* ---------------------------------------------------------------------- */
/* Config (the JSON under __metadata__["sanl.config"])                     */

typedef struct
{
  gboolean bottleneck; /* "block": "basic" or "bottleneck" */
  int depths[4];
  int width;       /* stem channels; stage l has width * 2^l */
  int channels[4]; /* output channels of stages 1..4 */
} SanlResNetSpec;

typedef struct
{
  char *name;
  int input_size; /* S; a multiple of 32, at least 64 */
  float mean[3];
  float std[3];
  int n_landmarks;  /* K */
  char **landmarks; /* K names */
  int n_classes;
  char **classes;
  gboolean *attention_class; /* n_classes: its Grad-CAM may steer */
  SanlResNetSpec classifier;
  SanlResNetSpec backbone;
  int fpn_channels; /* F */
  int head_channels;
  float sigma_coarse;
  float sigma_fine;
} SanlConfig;

gboolean sanl_config_parse (
    SanlConfig *config, const char *json, const char *file, GError **error);
void sanl_config_clear (SanlConfig *config);

/* ---------------------------------------------------------------------- */
/* Layers with their weights (BatchNorm already folded in)                 */

typedef struct
{
  int cin;
  int cout;
  int kernel; /* square kernels only */
  int stride;
  int pad;
  float *weight;     /* (cout, cin * kernel * kernel) */
  float *bias;       /* (cout); zeros when the layer had none */
  float *winograd;   /* (P, cout, cin) transformed, or NULL */
  int winograd_tile; /* its output tile side, 4 or 2; 0 without */
} SanlConv;

typedef struct
{
  int cin;
  int cout;
  float *weight; /* (cout, cin) */
  float *bias;   /* (cout) */
} SanlLinear;

typedef struct
{
  SanlConv conv1;
  SanlConv conv2;
  SanlConv conv3; /* bottleneck only */
  SanlConv down;  /* valid when has_down */
  gboolean bottleneck;
  gboolean has_down;
} SanlBlock;

typedef struct
{
  SanlResNetSpec spec;
  SanlConv stem;        /* 7x7 stride 2, then 3x3/2 max-pool */
  SanlBlock *blocks[4]; /* spec.depths[l] blocks in stage l */
} SanlResNet;

typedef struct
{
  int channels;   /* C */
  int inner;      /* C / 2 (at least 1) */
  SanlConv theta; /* 1x1, C -> inner */
  SanlConv phi;
  SanlConv g;
  SanlConv out; /* 1x1, inner -> C, BatchNorm folded */
} SanlNonLocal;

typedef struct
{
  SanlConv lateral[4]; /* 1x1, C_l -> F */
  SanlConv smooth2;    /* 3x3, F -> F */
  SanlConv smooth5;
} SanlPyramid;

typedef struct
{
  SanlConv conv1; /* 3x3 conv-BN-ReLU */
  SanlConv conv2; /* 3x3 conv-BN-ReLU */
  SanlConv out;   /* 1x1 to K heatmaps */
} SanlHead;

struct _SanlModel
{
  gint ref_count;
  char *path;
  SanlConfig config;
  SanlResNet classifier;
  SanlLinear fc; /* classifier logits */
  SanlResNet backbone;
  SanlNonLocal nonlocal[4];
  SanlPyramid pyramid;
  SanlHead coarse;
  SanlHead fine;
  SanlLinear visibility;
  GPtrArray *allocations; /* every weight buffer, freed with the model */
};

/* Output size of a convolution or pooling window along one axis. */
static inline int
sanl_window_out (int in, int kernel, int stride, int pad)
{
  return (in + 2 * pad - kernel) / stride + 1;
}

/* im2col workspace, in floats, that sanl_conv_forward needs at (h, w). */
gsize sanl_conv_workspace (const SanlConv *conv, int h, int w);

/* y (cout, oh, ow) = conv(x (cin, h, w)) + bias, then ReLU when relu. */
void sanl_conv_forward (const SanlConv *conv, const float *x, int h, int w,
    float *y, gboolean relu, float *work);
/* The same plus residual (cout, oh, ow) before the ReLU, in the pass that
 * writes y: a residual block's sum and activation cost no pass of their
 * own. residual may be NULL; it must not overlap y. */
void sanl_conv_forward_residual (const SanlConv *conv, const float *x, int h,
    int w, float *y, const float *residual, gboolean relu, float *work);

/* dx (cin, h, w) = gradient of sum(dy * conv(x)) with respect to x, for
 * dy (cout, oh, ow). Needs the same workspace as the forward pass. */
void sanl_conv_backward_data (const SanlConv *conv, const float *dy, int h,
    int w, float *dx, float *work);

/* Winograd F(4x4, 3x3) and F(2x2, 3x3) for 3x3 stride-1 convolutions
 * padded by 1 (sanl-winograd.c); sanl_conv_forward takes this path on its
 * own when the weights are transformed and the map is large enough. */
gboolean sanl_winograd_suits (const SanlConv *conv);
/* The output tile side (4 or 2) for maps of side x side; 0: none pays. */
int sanl_winograd_tile_for (int side);
/* conv->winograd = the weights transformed for the tile (4 or 2), kept in
 * allocations. */
void sanl_winograd_transform_weights (
    SanlConv *conv, int tile, GPtrArray *allocations);
/* Transforms every suitable convolution of the model's forward passes. */
void sanl_winograd_prepare_model (SanlModel *model);
gboolean sanl_winograd_applies (const SanlConv *conv, int h, int w);
gsize sanl_winograd_workspace (const SanlConv *conv, int h, int w);
void sanl_winograd_forward (const SanlConv *conv, const float *x, int h, int w,
    float *y, const float *residual, gboolean relu, float *work);

/* y (c, oh, ow) = max over kernel x kernel windows; padding never wins. */
void sanl_max_pool (const float *x, int c, int h, int w, int kernel, int stride,
    int pad, float *y);

/* y (c) = mean of each (h * w) channel of x. */
void sanl_global_avg_pool (const float *x, int c, int hw, float *y);

/* y (cout) = W x + b. */
void sanl_linear_forward (const SanlLinear *linear, const float *x, float *y);

/* y += x, elementwise. */
void sanl_add (float *y, const float *x, gsize n);

/* y (c, 2h, 2w) += nearest 2x upsampling of x (c, h, w). */
void sanl_upsample2_add (float *y, const float *x, int c, int h, int w);

/* Softmax of each of rows rows of cols values, in place. */
void sanl_softmax_rows (float *x, int rows, int cols);

/* Workspace, in floats, of sanl_nonlocal_forward at (h, w). */
gsize sanl_nonlocal_workspace (const SanlNonLocal *block, int h, int w);

/* x (C, h, w) += out(sum_j softmax_j(theta_i . phi_j) a_j g_j), in place.
 * attention (h, w) in [0, 1], or NULL for a = 1 (plain non-local). */
void sanl_nonlocal_forward (const SanlNonLocal *block, float *x, int h, int w,
    const float *attention, float *work);

/* ---------------------------------------------------------------------- */
/* OpenBLAS kernels (sanl-blas.c)                                          */

/* Once per process, before the engine's first product: when OpenBLAS
 * picked kernels for narrower vectors than this processor runs, has it
 * take the fitting ones, unless OPENBLAS_CORETYPE chose them. */
void sanl_blas_match_processor (void);

/* What sanl_blas_match_processor does once, each time it is called. */
void sanl_blas_choose_kernels (void);

/* The OpenBLAS kernel name for a processor with these instruction sets
 * when current (an openblas_get_corename value) is of an older family;
 * NULL when current fits, or is not a known x86-64 kernel. */
const char *sanl_blas_kernel_for (
    const char *current, gboolean avx512, gboolean avx2, gboolean avx);

/* Has a DYNAMIC_ARCH OpenBLAS switch to the named kernels; FALSE when it
 * cannot (another build) or chose others. Not while products run. */
gboolean sanl_blas_switch_kernel (const char *name);

/* ---------------------------------------------------------------------- */
/* Fork-join over the engine's own loops (sanl-parallel.c)                 */

/* Most ways a loop is split into, the caller's thread included. */
#define SANL_PARALLEL_MAX_WAYS 16

/* Runs [start, end) of a range; way (0 ... ways - 1) tells apart the
 * chunks that run at once, for per-way scratch. May call cblas: OpenBLAS
 * is single-threaded inside libsanl. */
typedef void (*SanlParallelFunc) (int start, int end, int way, gpointer data);

/* The engine's thread count, fixed by sanl_set_threads (at first use,
 * OpenBLAS's default count); sets OpenBLAS to one thread the first time. */
int sanl_parallel_ways (void);

/* fn over [0, n) in contiguous chunks, a few per way, that persistent
 * worker threads and this one take in turn; returns when all are done. */
void sanl_parallel_for (int n, SanlParallelFunc fn, gpointer data);

/* The same when the loop touches at least SANL_PARALLEL_MIN_FLOATS floats
 * (floats), else fn (0, n, 0, data) here: waking a worker costs more than
 * a small loop. */
#define SANL_PARALLEL_MIN_FLOATS (1 << 16)
void sanl_parallel_for_sized (
    int n, gsize floats, SanlParallelFunc fn, gpointer data);

/* Row-major C (m, n) = alpha op(A) op(B) + beta C, as cblas_sgemm, cut
 * into slices of columns (or of rows, when m > n) that the ways compute
 * at once (sanl-gemm.c); inside a job, one after the other on its thread.
 * The slices, and so the result's bits, depend on the shape alone. */
void sanl_gemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
    float alpha, const float *a, int lda, const float *b, int ldb, float beta,
    float *c, int ldc);

/* What a fused product does to each slice of C right after computing it,
 * while the slice is still in cache: add bias[i] to row i, add residual
 * (laid out as C, at ldc), then clamp at zero when relu. */
typedef struct
{
  const float *bias;     /* (m), or NULL */
  const float *residual; /* (m, n) at ldc, or NULL; must not overlap C */
  gboolean relu;
} SanlEpilogue;

/* C (m, n) = A (m, k) B (k, n) + beta C, then the epilogue, slice by
 * slice, as sanl_gemm slices it. */
void sanl_gemm_fused (int m, int n, int k, const float *a, int lda,
    const float *b, int ldb, float beta, float *c, int ldc,
    const SanlEpilogue *epilogue);

/* ---------------------------------------------------------------------- */
/* Preprocessing and decoding                                              */

typedef struct
{
  float scale; /* network pixels per frame pixel */
  float ox;    /* left padding in network pixels */
  float oy;    /* top padding in network pixels */
} SanlLetterbox;

SanlLetterbox sanl_letterbox_geometry (const SanlRect *region, int size);

/* input (3, size, size): region of image letterboxed, bilinear, normalised
 * with mean and std; padding is 0 (the mean colour). */
void sanl_preprocess (const SanlImage *image, const SanlRect *region, int size,
    const float mean[3], const float std[3], float *input);

/* Sub-pixel peak of a (h, w) heatmap, in heatmap pixels; returns height. */
float sanl_heatmap_peak (
    const float *heatmap, int h, int w, float *px, float *py);

/* Heatmap pixel coordinates (stride 4) to frame pixel coordinates. */
void sanl_heatmap_to_frame (
    const SanlRect *region, int size, float hx, float hy, float *x, float *y);

G_END_DECLS

#endif /* SANL_PRIVATE_H */
