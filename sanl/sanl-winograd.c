/* Winograd convolution for 3x3 stride-1 layers padded by 1, in two sizes:
 * F(4x4, 3x3) reads 6x6 input tiles that each give a 4x4 output tile,
 * F(2x2, 3x3) reads 4x4 tiles that each give 2x2. With a window of
 * W = tile + 2 pixels a side and P = W * W points:
 *
 *   U = G g G^T      (P, cout, cin)   per filter, once at load
 *   V = B^T d B      (P, cin, T)      per input tile, T tiles
 *   M = U V          (P, cout, T)     one GEMM per tile position
 *   y = A^T M A      (cout, oh, ow)   + bias, then ReLU
 *
 * F(4x4, 3x3) does 36 multiplications per channel pair and tile where
 * im2col does 4 * 4 * 9 = 144; F(2x2, 3x3) does 16 where im2col does 36.
 * Both cost two tile transforms, which only pay off on maps with enough
 * tiles: large maps take the larger tile, middling ones (a 14x14 map has
 * 49 tiles of 2x2 but only 16 of 4x4) the smaller, small ones keep
 * im2col. F(4x4, 3x3) interpolates at 0, 1, -1, 2, -2 and infinity, whose
 * transforms keep float results within a few units of 1e-6 of the direct
 * sum; F(2x2, 3x3) at 0, 1, -1 and infinity, whose transforms only add,
 * subtract and halve. */

#include "sanl-private.h"

#include <string.h>

/* Output sides, in pixels, from which each tile size is taken. At 14x14
 * the 4x4 tile's GEMMs are too thin (16 tiles) to be more than a few
 * percent faster than im2col while its transformed weights take four
 * times the memory of the direct ones (ResNet-101's stage 3 alone:
 * 220 MB); the 2x2 tile gives 49-column GEMMs and 16 / 9 of the memory.
 * -DSANL_WINOGRAD_MIN_SIDE=N or -DSANL_WINOGRAD_SMALL_MIN_SIDE=N to
 * measure. */
#ifndef SANL_WINOGRAD_MIN_SIDE
#define SANL_WINOGRAD_MIN_SIDE 16
#endif
#ifndef SANL_WINOGRAD_SMALL_MIN_SIDE
#define SANL_WINOGRAD_SMALL_MIN_SIDE 8
#endif

#define MAX_TILE 4 /* the larger output tile's side */
#define MAX_WINDOW (MAX_TILE + 2)
#define MAX_POINTS (MAX_WINDOW * MAX_WINDOW)

static int
window_of (int tile)
{
  return tile + 2;
}

static int
points_of (int tile)
{
  return window_of (tile) * window_of (tile);
}

static int
min_side_of (int tile)
{
  return tile == MAX_TILE ? SANL_WINOGRAD_MIN_SIDE
                          : SANL_WINOGRAD_SMALL_MIN_SIDE;
}

/* ---------------------------------------------------------------------- */
/* Transforms of one column of values                                      */

/* Tiles go through the transforms LANES at a time, each value a short
 * array over the tiles of one tile row: loops of this fixed length become
 * vector instructions. */
#define LANES 8

/* g (3) -> G g (W), in double: the weights are transformed once. */
static void
filter_column (
    int tile, const double *g, int stride, double *out, int out_stride)
{
  double a = g[0], b = g[stride], c = g[2 * stride];

  if (tile == 2) {
    out[0] = a;
    out[out_stride] = (a + b + c) / 2.0;
    out[2 * out_stride] = (a - b + c) / 2.0;
    out[3 * out_stride] = c;
    return;
  }
  out[0] = a / 4.0;
  out[out_stride] = -(a + b + c) / 6.0;
  out[2 * out_stride] = -(a - b + c) / 6.0;
  out[3 * out_stride] = a / 24.0 + b / 12.0 + c / 6.0;
  out[4 * out_stride] = a / 24.0 - b / 12.0 + c / 6.0;
  out[5 * out_stride] = c;
}

/* d (W, LANES) -> B^T d (W, LANES); stride counts whole lane groups. */
static inline void
input_column (int tile, const float (*d)[LANES], int stride,
    float (*out)[LANES], int out_stride)
{
  if (tile == 2) {
    for (int t = 0; t < LANES; t++) {
      float d0 = d[0][t], d1 = d[stride][t], d2 = d[2 * stride][t];
      float d3 = d[3 * stride][t];

      out[0][t] = d0 - d2;
      out[out_stride][t] = d1 + d2;
      out[2 * out_stride][t] = d2 - d1;
      out[3 * out_stride][t] = d1 - d3;
    }
    return;
  }
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

/* m (W, LANES) -> A^T m (tile, LANES). */
static inline void
output_column (int tile, const float (*m)[LANES], int stride,
    float (*out)[LANES], int out_stride)
{
  if (tile == 2) {
    for (int t = 0; t < LANES; t++) {
      float m0 = m[0][t], m1 = m[stride][t], m2 = m[2 * stride][t];
      float m3 = m[3 * stride][t];

      out[0][t] = m0 + m1 + m2;
      out[out_stride][t] = m1 - m2 - m3;
    }
    return;
  }
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

int
sanl_winograd_tile_for (int side)
{
  if (side >= min_side_of (4))
    return 4;
  return side >= min_side_of (2) ? 2 : 0;
}

void
sanl_winograd_transform_weights (
    SanlConv *conv, int tile, GPtrArray *allocations)
{
  int window, points;
  gsize planes = (gsize) conv->cout * conv->cin;
  float *u;

  g_return_if_fail (tile == 2 || tile == 4);
  window = window_of (tile);
  points = points_of (tile);
  u = g_new (float, points *planes); /* (P, cout, cin) */

  /* U = G g G^T for each (o, c): columns first, then rows */
  for (gsize oc = 0; oc < planes; oc++) {
    const float *g = conv->weight + oc * 9; /* (3, 3) */
    double gd[9], half[MAX_WINDOW * 3], full[MAX_POINTS];

    for (int i = 0; i < 9; i++)
      gd[i] = g[i];
    for (int j = 0; j < 3; j++)
      filter_column (tile, gd + j, 3, half + j, 3); /* (W, 3) */
    for (int i = 0; i < window; i++)
      filter_column (tile, half + i * 3, 1, full + i * window, 1); /* (W, W) */
    for (int p = 0; p < points; p++)
      u[p * planes + oc] = (float) full[p];
  }

  conv->winograd = u;
  conv->winograd_tile = tile;
  g_ptr_array_add (allocations, u);
}

/* ---------------------------------------------------------------------- */
/* Forward                                                                 */

gboolean
sanl_winograd_applies (const SanlConv *conv, int h, int w)
{
  int least;

  if (conv->winograd == NULL)
    return FALSE;
  least = min_side_of (conv->winograd_tile);
  return h >= least && w >= least;
}

/* Tile columns rounded up to whole lane groups. */
static int
padded_tiles (int tw)
{
  return (tw + LANES - 1) / LANES * LANES;
}

/* Width of the strip of W input rows that one tile row reads: the padded
 * tiles' columns, the left padding column and the right one. */
static int
strip_width (int tile, int tw)
{
  return padded_tiles (tw) * tile + 2;
}

gsize
sanl_winograd_workspace (const SanlConv *conv, int h, int w)
{
  int tile = conv->winograd_tile;
  int tw = (w + tile - 1) / tile;
  gsize tiles = (gsize) ((h + tile - 1) / tile) * tw;

  /* V (P, cin, T), M (P, cout, T), then one strip per way */
  return points_of (tile) * tiles * (conv->cin + conv->cout)
         + (gsize) SANL_PARALLEL_MAX_WAYS * window_of (tile)
               * strip_width (tile, tw);
}

/* strip (W, width): input rows tile * ty - 1 ... tile * ty + tile of xc
 * (h, w) from column -1 on, zero outside the map. */
static void
fill_strip (
    int tile, const float *xc, int h, int w, int ty, int width, float *strip)
{
  for (int i = 0; i < window_of (tile); i++) {
    float *row = strip + (gsize) i * width;
    int iy = ty * tile - 1 + i;

    memset (row, 0, sizeof (float) * width);
    if (iy >= 0 && iy < h)
      memcpy (row + 1, xc + (gsize) iy * w, sizeof (float) * w);
  }
}

/* V (P, cin, T) from x (cin, h, w), channels [c0, c1): every W x W window
 * whose top-left pixel is (tile * ty - 1, tile * tx - 1), zero outside the
 * map. Inlined into one copy per tile size, so that the loops over the
 * window have fixed lengths. */
static inline __attribute__ ((always_inline)) void
input_tiles (const int tile, const float *x, int cin, int c0, int c1, int h,
    int w, int th, int tw, float *v, float *strip)
{
  const int window = window_of (tile), points = points_of (tile);
  gsize plane = (gsize) cin * th * tw;
  int width = strip_width (tile, tw);

  for (int c = c0; c < c1; c++)
    for (int ty = 0; ty < th; ty++) {
      fill_strip (tile, x + (gsize) c * h * w, h, w, ty, width, strip);

      for (int tx0 = 0; tx0 < tw; tx0 += LANES) {
        float d[MAX_POINTS][LANES], half[MAX_POINTS][LANES];
        float out[MAX_POINTS][LANES];
        float *dst = v + ((gsize) c * th + ty) * tw + tx0;
        int valid = MIN (LANES, tw - tx0);

        /* d (W, W, LANES): lane t is tile tx0 + t */
        for (int i = 0; i < window; i++)
          for (int j = 0; j < window; j++)
            for (int t = 0; t < LANES; t++)
              d[i * window + j][t]
                  = strip[(gsize) i * width + (tx0 + t) * tile + j];

        for (int j = 0; j < window; j++)
          input_column (tile, d + j, window, half + j, window);
        for (int i = 0; i < window; i++)
          input_column (tile, half + i * window, 1, out + i * window, 1);

        /* whole groups in fixed-length copies, the last one lane by lane */
        for (int p = 0; p < points; p++)
          if (valid == LANES)
            for (int t = 0; t < LANES; t++)
              dst[p * plane + t] = out[p][t];
          else
            for (int t = 0; t < valid; t++)
              dst[p * plane + t] = out[p][t];
      }
    }
}

SANL_VECTORIZE static void
input_tiles_4 (const float *x, int cin, int c0, int c1, int h, int w, int th,
    int tw, float *v, float *strip)
{
  input_tiles (4, x, cin, c0, c1, h, w, th, tw, v, strip);
}

SANL_VECTORIZE static void
input_tiles_2 (const float *x, int cin, int c0, int c1, int h, int w, int th,
    int tw, float *v, float *strip)
{
  input_tiles (2, x, cin, c0, c1, h, w, th, tw, v, strip);
}

/* y (cout, oh, ow) from M (P, cout, T), channels [o0, o1), cropped at
 * the map's edge, plus the bias and the residual (laid out as y, or
 * NULL), then ReLU when relu. Inlined like input_tiles. */
static inline __attribute__ ((always_inline)) void
output_tiles (const int tile, const SanlConv *conv, const float *m, int o0,
    int o1, int oh, int ow, int th, int tw, float *y, const float *residual,
    gboolean relu)
{
  const int window = window_of (tile), points = points_of (tile);
  gsize plane = (gsize) conv->cout * th * tw;

  for (int o = o0; o < o1; o++)
    for (int ty = 0; ty < th; ty++)
      for (int tx0 = 0; tx0 < tw; tx0 += LANES) {
        float mt[MAX_POINTS][LANES], half[MAX_TILE * MAX_WINDOW][LANES];
        float out[MAX_TILE * MAX_TILE][LANES], row[LANES * MAX_TILE];
        const float *src = m + ((gsize) o * th + ty) * tw + tx0;
        int valid = MIN (LANES, tw - tx0);
        int rows = MIN (tile, oh - ty * tile);
        int cols = MIN (LANES * tile, ow - tx0 * tile);
        float b = conv->bias[o];

        /* mt (P, LANES); lanes past the last tile are zero */
        for (int p = 0; p < points; p++)
          if (valid == LANES)
            for (int t = 0; t < LANES; t++)
              mt[p][t] = src[p * plane + t];
          else
            for (int t = 0; t < LANES; t++)
              mt[p][t] = t < valid ? src[p * plane + t] : 0.0f;

        /* half (tile, W), then out (tile, tile) */
        for (int j = 0; j < window; j++)
          output_column (tile, mt + j, window, half + j, window);
        for (int i = 0; i < tile; i++)
          output_column (tile, half + i * window, 1, out + i * tile, 1);

        /* each output row of the LANES tiles, then into y */
        for (int i = 0; i < rows; i++) {
          gsize at = ((gsize) o * oh + ty * tile + i) * ow + tx0 * tile;

          for (int t = 0; t < LANES; t++)
            for (int j = 0; j < tile; j++)
              row[t * tile + j] = out[i * tile + j][t] + b;
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

SANL_VECTORIZE static void
output_tiles_4 (const SanlConv *conv, const float *m, int o0, int o1, int oh,
    int ow, int th, int tw, float *y, const float *residual, gboolean relu)
{
  output_tiles (4, conv, m, o0, o1, oh, ow, th, tw, y, residual, relu);
}

SANL_VECTORIZE static void
output_tiles_2 (const SanlConv *conv, const float *m, int o0, int o1, int oh,
    int ow, int th, int tw, float *y, const float *residual, gboolean relu)
{
  output_tiles (2, conv, m, o0, o1, oh, ow, th, tw, y, residual, relu);
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
  int tile = j->conv->winograd_tile;
  float *strip
      = j->strips + (gsize) way * window_of (tile) * strip_width (tile, j->tw);

  if (tile == 2)
    input_tiles_2 (
        j->x, j->conv->cin, start, end, j->h, j->w, j->th, j->tw, j->v, strip);
  else
    input_tiles_4 (
        j->x, j->conv->cin, start, end, j->h, j->w, j->th, j->tw, j->v, strip);
}

static void
output_way (int start, int end, int way, gpointer data)
{
  const WinogradJob *j = data;

  (void) way;
  if (j->conv->winograd_tile == 2)
    output_tiles_2 (j->conv, j->m, start, end, j->h, j->w, j->th, j->tw, j->y,
        j->residual, j->relu);
  else
    output_tiles_4 (j->conv, j->m, start, end, j->h, j->w, j->th, j->tw, j->y,
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
  int tile = conv->winograd_tile, points = points_of (tile);
  int th = (h + tile - 1) / tile, tw = (w + tile - 1) / tile;
  int tiles = th * tw;
  float *v = work;                                      /* (P, cin, T) */
  float *m = work + (gsize) points * conv->cin * tiles; /* (P, cout, T) */
  float *strip = m + (gsize) points * conv->cout * tiles;
  WinogradJob job = { conv, x, h, w, th, tw, v, m, strip, y, residual, relu };

  /* V: the channels split among the ways, each with its own strip */
  sanl_parallel_for_sized (
      conv->cin, (gsize) points * conv->cin * tiles, input_way, &job);

  /* M[p] (cout, T) = U[p] (cout, cin) V[p] (cin, T): one product per
   * point, shared among the ways whole */
  sanl_parallel_for_sized (
      points, (gsize) points * conv->cout * tiles, product_way, &job);

  sanl_parallel_for_sized (
      conv->cout, (gsize) points * conv->cout * tiles, output_way, &job);
}

/* ---------------------------------------------------------------------- */
/* Model                                                                   */

/* Transforms conv for the tile that suits side x side, the map its
 * forward pass runs at, if any. */
static void
prepare_conv (SanlModel *model, SanlConv *conv, int side)
{
  int tile = sanl_winograd_tile_for (side);

  if (sanl_winograd_suits (conv) && tile != 0)
    sanl_winograd_transform_weights (conv, tile, model->allocations);
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
