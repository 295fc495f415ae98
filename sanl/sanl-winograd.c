/* Winograd F(4x4, 3x3): a 3x3 stride-1 convolution padded by 1 computed on
 * 6x6 input tiles that each give a 4x4 output tile, as 36 GEMMs instead of
 * one GEMM nine times larger in its inner dimension:
 *
 *   U = G g G^T      (36, cout, cin)   per filter, once at load
 *   V = B^T d B      (36, cin, T)      per input tile, T tiles
 *   M = U V          (36, cout, T)     one GEMM per tile position
 *   y = A^T M A      (cout, oh, ow)    + bias, then ReLU
 *
 * It does 36 multiplications per channel pair and tile where im2col does
 * 4 * 4 * 9 = 144, at the price of the two tile transforms; those only pay
 * on maps with enough tiles, so small maps keep the im2col path. The
 * interpolation points are 0, 1, -1, 2, -2 and infinity, whose transforms
 * keep float results within a few units of 1e-6 of the direct sum. */

#include "sanl-private.h"

#include <string.h>

#define TILE 4   /* output tile side */
#define WINDOW 6 /* input tile side: TILE + 3 - 1 */
#define POINTS (WINDOW * WINDOW)

/* Output side, in pixels, below which im2col stays: a 14x14 map has only
 * 16 tiles, too thin a GEMM to be more than a few percent faster, while its
 * transformed weights take four times the memory of the direct ones (ResNet-
 * 101's stage 3 alone: 220 MB). -DSANL_WINOGRAD_MIN_SIDE=N to measure. */
#ifndef SANL_WINOGRAD_MIN_SIDE
#define SANL_WINOGRAD_MIN_SIDE 16
#endif
#define MIN_SIDE SANL_WINOGRAD_MIN_SIDE

/* ---------------------------------------------------------------------- */
/* Transforms of one column of six (or three) values                       */

/* Tiles go through the transforms LANES at a time, each value a short
 * array over the tiles of one tile row: loops of this fixed length become
 * vector instructions. */
#define LANES 8

/* g (3) -> G g (6), in double: the weights are transformed once. */
static void
filter_column (const double *g, int stride, double *out, int out_stride)
{
  double a = g[0], b = g[stride], c = g[2 * stride];

  out[0] = a / 4.0;
  out[out_stride] = -(a + b + c) / 6.0;
  out[2 * out_stride] = -(a - b + c) / 6.0;
  out[3 * out_stride] = a / 24.0 + b / 12.0 + c / 6.0;
  out[4 * out_stride] = a / 24.0 - b / 12.0 + c / 6.0;
  out[5 * out_stride] = c;
}

/* d (6, LANES) -> B^T d (6, LANES); stride counts whole lane groups. */
static inline void
input_column (
    const float (*d)[LANES], int stride, float (*out)[LANES], int out_stride)
{
  for (int t = 0; t < LANES; t++) {
    float d0 = d[0][t], d1 = d[stride][t], d2 = d[2 * stride][t];
    float d3 = d[3 * stride][t], d4 = d[4 * stride][t];
    float d5 = d[5 * stride][t];

    out[0][t] = 4.0f * d0 - 5.0f * d2 + d4;
    out[out_stride][t] = -4.0f * (d1 + d2) + d3 + d4;
    out[2 * out_stride][t] = 4.0f * (d1 - d2) - d3 + d4;
    out[3 * out_stride][t] = 2.0f * (d3 - d1) - d2 + d4;
    out[4 * out_stride][t] = 2.0f * (d1 - d3) - d2 + d4;
    out[5 * out_stride][t] = 4.0f * d1 - 5.0f * d3 + d5;
  }
}

/* m (6, LANES) -> A^T m (4, LANES). */
static inline void
output_column (
    const float (*m)[LANES], int stride, float (*out)[LANES], int out_stride)
{
  for (int t = 0; t < LANES; t++) {
    float m0 = m[0][t], m1 = m[stride][t], m2 = m[2 * stride][t];
    float m3 = m[3 * stride][t], m4 = m[4 * stride][t];
    float m5 = m[5 * stride][t];
    float plus12 = m1 + m2, minus12 = m1 - m2;
    float plus34 = m3 + m4, minus34 = m3 - m4;

    out[0][t] = m0 + plus12 + plus34;
    out[out_stride][t] = minus12 + 2.0f * minus34;
    out[2 * out_stride][t] = plus12 + 4.0f * plus34;
    out[3 * out_stride][t] = minus12 + 8.0f * minus34 + m5;
  }
}

/* ---------------------------------------------------------------------- */
/* Weights                                                                 */

gboolean
sanl_winograd_suits (const SanlConv *conv)
{
  return conv->kernel == 3 && conv->stride == 1 && conv->pad == 1;
}

void
sanl_winograd_transform_weights (SanlConv *conv, GPtrArray *allocations)
{
  gsize planes = (gsize) conv->cout * conv->cin;
  float *u = g_new (float, POINTS *planes); /* (36, cout, cin) */

  /* U = G g G^T for each (o, c): columns first, then rows */
  for (gsize oc = 0; oc < planes; oc++) {
    const float *g = conv->weight + oc * 9; /* (3, 3) */
    double gd[9], half[WINDOW * 3], full[POINTS];

    for (int i = 0; i < 9; i++)
      gd[i] = g[i];
    for (int j = 0; j < 3; j++)
      filter_column (gd + j, 3, half + j, 3); /* (6, 3) */
    for (int i = 0; i < WINDOW; i++)
      filter_column (half + i * 3, 1, full + i * WINDOW, 1); /* (6, 6) */
    for (int p = 0; p < POINTS; p++)
      u[p * planes + oc] = (float) full[p];
  }

  conv->winograd = u;
  g_ptr_array_add (allocations, u);
}

/* ---------------------------------------------------------------------- */
/* Forward                                                                 */

gboolean
sanl_winograd_applies (const SanlConv *conv, int h, int w)
{
  return conv->winograd != NULL && h >= MIN_SIDE && w >= MIN_SIDE;
}

/* Tile columns rounded up to whole lane groups. */
static int
padded_tiles (int tw)
{
  return (tw + LANES - 1) / LANES * LANES;
}

/* Width of the strip of six input rows that one tile row reads: the
 * padded tiles' columns, the left padding column and the right one. */
static int
strip_width (int tw)
{
  return padded_tiles (tw) * TILE + 2;
}

gsize
sanl_winograd_workspace (const SanlConv *conv, int h, int w)
{
  int tw = (w + TILE - 1) / TILE;
  gsize tiles = (gsize) ((h + TILE - 1) / TILE) * tw;

  /* V (36, cin, T), M (36, cout, T), then one strip per way */
  return POINTS * tiles * (conv->cin + conv->cout)
         + (gsize) SANL_PARALLEL_MAX_WAYS * WINDOW * strip_width (tw);
}

/* strip (6, strip_width): input rows 4 ty - 1 ... 4 ty + 4 of xc (h, w)
 * from column -1 on, zero outside the map. */
static void
fill_strip (const float *xc, int h, int w, int ty, int width, float *strip)
{
  for (int i = 0; i < WINDOW; i++) {
    float *row = strip + (gsize) i * width;
    int iy = ty * TILE - 1 + i;

    memset (row, 0, sizeof (float) * width);
    if (iy >= 0 && iy < h)
      memcpy (row + 1, xc + (gsize) iy * w, sizeof (float) * w);
  }
}

/* V (36, cin, T) from x (cin, h, w), channels [c0, c1): every 6x6 window
 * whose top-left pixel is (4 ty - 1, 4 tx - 1), zero outside the map. */
SANL_VECTORIZE static void
input_tiles (const float *x, int cin, int c0, int c1, int h, int w, int th,
    int tw, float *v, float *strip)
{
  gsize plane = (gsize) cin * th * tw;
  int width = strip_width (tw);

  for (int c = c0; c < c1; c++)
    for (int ty = 0; ty < th; ty++) {
      fill_strip (x + (gsize) c * h * w, h, w, ty, width, strip);

      for (int tx0 = 0; tx0 < tw; tx0 += LANES) {
        float d[POINTS][LANES], half[POINTS][LANES], out[POINTS][LANES];
        float *dst = v + ((gsize) c * th + ty) * tw + tx0;
        int valid = MIN (LANES, tw - tx0);

        /* d (6, 6, LANES): lane t is tile tx0 + t */
        for (int i = 0; i < WINDOW; i++)
          for (int j = 0; j < WINDOW; j++)
            for (int t = 0; t < LANES; t++)
              d[i * WINDOW + j][t]
                  = strip[(gsize) i * width + (tx0 + t) * TILE + j];

        for (int j = 0; j < WINDOW; j++)
          input_column (d + j, WINDOW, half + j, WINDOW);
        for (int i = 0; i < WINDOW; i++)
          input_column (half + i * WINDOW, 1, out + i * WINDOW, 1);

        /* whole groups in fixed-length copies, the last one lane by lane */
        for (int p = 0; p < POINTS; p++)
          if (valid == LANES)
            for (int t = 0; t < LANES; t++)
              dst[p * plane + t] = out[p][t];
          else
            for (int t = 0; t < valid; t++)
              dst[p * plane + t] = out[p][t];
      }
    }
}

/* y (cout, oh, ow) from M (36, cout, T), channels [o0, o1), cropped at
 * the map's edge, plus the bias and the residual (laid out as y, or
 * NULL), then ReLU when relu. */
SANL_VECTORIZE static void
output_tiles (const SanlConv *conv, const float *m, int o0, int o1, int oh,
    int ow, int th, int tw, float *y, const float *residual, gboolean relu)
{
  gsize plane = (gsize) conv->cout * th * tw;

  for (int o = o0; o < o1; o++)
    for (int ty = 0; ty < th; ty++)
      for (int tx0 = 0; tx0 < tw; tx0 += LANES) {
        float mt[POINTS][LANES], half[TILE * WINDOW][LANES];
        float out[TILE * TILE][LANES], row[LANES * TILE];
        const float *src = m + ((gsize) o * th + ty) * tw + tx0;
        int valid = MIN (LANES, tw - tx0);
        int rows = MIN (TILE, oh - ty * TILE);
        int cols = MIN (LANES * TILE, ow - tx0 * TILE);
        float b = conv->bias[o];

        /* mt (36, LANES); lanes past the last tile are zero */
        for (int p = 0; p < POINTS; p++)
          if (valid == LANES)
            for (int t = 0; t < LANES; t++)
              mt[p][t] = src[p * plane + t];
          else
            for (int t = 0; t < LANES; t++)
              mt[p][t] = t < valid ? src[p * plane + t] : 0.0f;

        for (int j = 0; j < WINDOW; j++)
          output_column (mt + j, WINDOW, half + j, WINDOW); /* (4, 6) */
        for (int i = 0; i < TILE; i++)
          output_column (half + i * WINDOW, 1, out + i * TILE, 1);

        /* each output row of the LANES tiles, then into y */
        for (int i = 0; i < rows; i++) {
          gsize at = ((gsize) o * oh + ty * TILE + i) * ow + tx0 * TILE;

          for (int t = 0; t < LANES; t++)
            for (int j = 0; j < TILE; j++)
              row[t * TILE + j] = out[i * TILE + j][t] + b;
          /* the residual only where the row holds output pixels */
          if (residual)
            for (int c = 0; c < cols; c++)
              row[c] += residual[at + c];
          if (relu)
            for (int c = 0; c < cols; c++)
              row[c] = row[c] < 0.0f ? 0.0f : row[c];
          memcpy (y + at, row, sizeof (float) * cols);
        }
      }
}

/* One Winograd call's buffers, shared by the ways of its transforms. */
typedef struct
{
  const SanlConv *conv;
  const float *x;
  int h, w, th, tw;
  float *v, *m, *strips, *y;
  const float *residual;
  gboolean relu;
} WinogradJob;

static void
input_way (int start, int end, int way, gpointer data)
{
  const WinogradJob *j = data;
  float *strip = j->strips + (gsize) way * WINDOW * strip_width (j->tw);

  input_tiles (
      j->x, j->conv->cin, start, end, j->h, j->w, j->th, j->tw, j->v, strip);
}

static void
output_way (int start, int end, int way, gpointer data)
{
  const WinogradJob *j = data;

  output_tiles (j->conv, j->m, start, end, j->h, j->w, j->th, j->tw, j->y,
      j->residual, j->relu);
}

static void
product_way (int start, int end, int way, gpointer data)
{
  const WinogradJob *j = data;
  const SanlConv *conv = j->conv;
  int tiles = j->th * j->tw;

  (void) way;
  for (int p = start; p < end; p++)
    sanl_gemm (FALSE, FALSE, conv->cout, tiles, conv->cin, 1.0f,
        conv->winograd + (gsize) p * conv->cout * conv->cin, conv->cin,
        j->v + (gsize) p * conv->cin * tiles, tiles, 0.0f,
        j->m + (gsize) p * conv->cout * tiles, tiles);
}

void
sanl_winograd_forward (const SanlConv *conv, const float *x, int h, int w,
    float *y, const float *residual, gboolean relu, float *work)
{
  int th = (h + TILE - 1) / TILE, tw = (w + TILE - 1) / TILE;
  int tiles = th * tw;
  float *v = work;                                      /* (36, cin, T) */
  float *m = work + (gsize) POINTS * conv->cin * tiles; /* (36, cout, T) */
  float *strip = m + (gsize) POINTS * conv->cout * tiles;
  WinogradJob job = { conv, x, h, w, th, tw, v, m, strip, y, residual, relu };

  /* V: the channels split among the ways, each with its own strip */
  sanl_parallel_for_sized (
      conv->cin, (gsize) POINTS * conv->cin * tiles, input_way, &job);

  /* M[p] (cout, T) = U[p] (cout, cin) V[p] (cin, T): 36 products, shared
   * among the ways whole */
  sanl_parallel_for_sized (
      POINTS, (gsize) POINTS * conv->cout * tiles, product_way, &job);

  sanl_parallel_for_sized (
      conv->cout, (gsize) POINTS * conv->cout * tiles, output_way, &job);
}

/* ---------------------------------------------------------------------- */
/* Model                                                                   */

/* Transforms conv when its forward pass will run at side x side. */
static void
prepare_conv (SanlModel *model, SanlConv *conv, int side)
{
  if (sanl_winograd_suits (conv) && side >= MIN_SIDE)
    sanl_winograd_transform_weights (conv, model->allocations);
}

/* Stage l of a ResNet runs every stride-1 3x3 convolution at S / 4 / 2^l;
 * the strided ones are not suitable anyway. */
static void
prepare_resnet (SanlModel *model, SanlResNet *net, int size)
{
  for (int l = 0; l < 4; l++)
    for (int b = 0; b < net->spec.depths[l]; b++) {
      SanlBlock *blk = &net->blocks[l][b];
      int side = size / 4 >> l;

      prepare_conv (model, &blk->conv1, side);
      prepare_conv (model, &blk->conv2, side);
    }
}

void
sanl_winograd_prepare_model (SanlModel *model)
{
  int size = model->config.input_size;
  SanlHead *heads[2] = { &model->coarse, &model->fine };

  /* The classifier keeps its direct weights too: Grad-CAM's backward
   * pass reads them. */
  prepare_resnet (model, &model->classifier, size);
  prepare_resnet (model, &model->backbone, size);
  prepare_conv (model, &model->pyramid.smooth2, size / 4);
  prepare_conv (model, &model->pyramid.smooth5, size / 32);
  for (int i = 0; i < 2; i++) {
    prepare_conv (model, &heads[i]->conv1, size / 4);
    prepare_conv (model, &heads[i]->conv2, size / 4);
  }
}
