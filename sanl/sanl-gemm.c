/* Matrix products on the engine's own threads.
 *
 * OpenBLAS runs single-threaded inside libsanl (sanl_set_threads): the
 * engine's worker pool is the only set of threads, so OpenBLAS workers
 * never spin on a core while the pool's loops want it, and a product is
 * cut into slices that the pool's ways compute side by side, each with
 * one single-threaded sgemm.
 *
 * The slices depend on the product's shape alone, never on the thread
 * count or on who runs them: OpenBLAS may round differently for another
 * shape of call, and a tracker fed by the results would amplify that, so
 * every thread count gives the same bits. Products too small to pay for
 * waking a worker are one slice. */

#include "sanl-private.h"

#include <cblas.h>

/* A product is cut into about this many slices, a few per way for two to
 * four ways, each at least MIN_SLICE rows or columns: every slice packs
 * the whole shared operand again (B when rows are cut, A when columns
 * are), which costs as much as about that many rows or columns of
 * arithmetic. 64 was faster than 16 by 9 % on ResNet-101 and no slower
 * on the small default model. */
#define SLICES 12
#define MIN_SLICE 64

/* Slice sides are multiples of this: the register blocking of OpenBLAS's
 * kernels. */
#define STEP 16

/* Below this many multiply-adds one thread does the product. */
#define MIN_SPLIT_MACS (1 << 19)

typedef struct
{
  gboolean trans_a, trans_b;
  int m, n, k;
  float alpha;
  const float *a;
  int lda;
  const float *b;
  int ldb;
  float beta;
  float *c;
  int ldc;
  gboolean by_columns;
  int slice;                    /* columns (or rows) per slice */
  const SanlEpilogue *epilogue; /* or NULL */
} Gemm;

/* The epilogue over rows [m0, m1) and columns [n0, n1) of C. */
SANL_VECTORIZE static void
finish_slice (const Gemm *g, int m0, int m1, int n0, int n1)
{
  const SanlEpilogue *ep = g->epilogue;

  for (int i = m0; i < m1; i++) {
    float *row = g->c + (gsize) i * g->ldc;
    const float *res = ep->residual ? ep->residual + (gsize) i * g->ldc : NULL;
    float b = ep->bias ? ep->bias[i] : 0.0f;

    if (res)
      for (int j = n0; j < n1; j++)
        row[j] = (row[j] + b) + res[j];
    else
      for (int j = n0; j < n1; j++)
        row[j] += b;
    if (ep->relu)
      for (int j = n0; j < n1; j++)
        row[j] = row[j] < 0.0f ? 0.0f : row[j]; /* NaN stays NaN */
  }
}

static void
gemm_slice (const Gemm *g, int m0, int m1, int n0, int n1)
{
  /* row i of op(A) starts at a + i * lda, or is column i when transposed;
   * column j of op(B) is column j of B, or row j when transposed */
  const float *a = g->trans_a ? g->a + m0 : g->a + (gsize) m0 * g->lda;
  const float *b = g->trans_b ? g->b + (gsize) n0 * g->ldb : g->b + n0;

  cblas_sgemm (CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
      g->trans_b ? CblasTrans : CblasNoTrans, m1 - m0, n1 - n0, g->k, g->alpha,
      a, g->lda, b, g->ldb, g->beta, g->c + (gsize) m0 * g->ldc + n0, g->ldc);
  if (g->epilogue)
    finish_slice (g, m0, m1, n0, n1);
}

/* Slices [start, end), one sgemm each. */
static void
gemm_way (int start, int end, int way, gpointer data)
{
  const Gemm *g = data;
  int side = g->by_columns ? g->n : g->m;

  (void) way;
  for (int i = start; i < end; i++) {
    int lo = i * g->slice, hi = MIN (lo + g->slice, side);

    if (g->by_columns)
      gemm_slice (g, 0, g->m, lo, hi);
    else
      gemm_slice (g, lo, hi, 0, g->n);
  }
}

static void
run (Gemm *g)
{
  int side = g->by_columns ? g->n : g->m;
  int slices;

  if (g->m <= 0 || g->n <= 0)
    return;
  if ((gint64) g->m * g->n * g->k < MIN_SPLIT_MACS || side <= MIN_SLICE) {
    gemm_slice (g, 0, g->m, 0, g->n);
    return;
  }

  g->slice = ((side + SLICES - 1) / SLICES + STEP - 1) / STEP * STEP;
  g->slice = MAX (g->slice, MIN_SLICE);
  slices = (side + g->slice - 1) / g->slice;
  sanl_parallel_for (slices, gemm_way, g);
}

void
sanl_gemm (gboolean trans_a, gboolean trans_b, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta, float *c,
    int ldc)
{
  Gemm g = { trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
    n >= m, 0, NULL };

  run (&g);
}

void
sanl_gemm_fused (int m, int n, int k, const float *a, int lda, const float *b,
    int ldb, float beta, float *c, int ldc, const SanlEpilogue *epilogue)
{
  Gemm g = { FALSE, FALSE, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc, n >= m,
    0, epilogue };

  run (&g);
}
