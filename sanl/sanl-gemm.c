/* Matrix products on the engine's own threads.
 *
 * OpenBLAS runs single-threaded inside libsanl (sanl_set_threads): the
 * engine's worker pool is the only set of threads, so OpenBLAS workers
 * never spin on a core while the pool's loops want it, and a product is
 * cut into slices that the pool's ways compute side by side, each with
 * one single-threaded sgemm. Products too small to pay for waking a
 * worker run whole on the calling thread. */

#include "sanl-private.h"

#include <cblas.h>

/* Rows or columns per slice step: keeps slices a multiple of the
 * register blocking of OpenBLAS's kernels. */
#define STEP 16

/* Slices per way: few, since each packs its share of A or B anew; two so
 * that a worker slow to wake only does less. */
#define CHUNKS_PER_WAY 2

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
} Gemm;

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
}

static void
gemm_way (int start, int end, int way, gpointer data)
{
  const Gemm *g = data;

  (void) way;
  if (g->by_columns)
    gemm_slice (g, 0, g->m, start * STEP, MIN (end * STEP, g->n));
  else
    gemm_slice (g, start * STEP, MIN (end * STEP, g->m), 0, g->n);
}

void
sanl_gemm (gboolean trans_a, gboolean trans_b, int m, int n, int k, float alpha,
    const float *a, int lda, const float *b, int ldb, float beta, float *c,
    int ldc)
{
  Gemm g = { trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
    n >= m };
  int steps = g.by_columns ? (n + STEP - 1) / STEP : (m + STEP - 1) / STEP;

  if (m <= 0 || n <= 0)
    return;
  if ((gint64) m * n * k < MIN_SPLIT_MACS || steps < 2) {
    gemm_slice (&g, 0, m, 0, n);
    return;
  }
  sanl_parallel_for_chunks (steps, CHUNKS_PER_WAY, gemm_way, &g);
}
