/* sanl_parallel_for: every index of [0, n) is visited exactly once, in
 * contiguous chunks, whatever the thread count; a call from inside a job
 * runs on its own. sanl_gemm: the sliced product equals a naive one for
 * every transpose, both ways of slicing, strides wider than the rows, and
 * any thread count; sanl_gemm_fused adds bias, residual and ReLU to each
 * slice and nothing past it. A forked child's pool works and ends. */

#include "sanl-private.h"

#include <math.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_N 37

typedef struct
{
  int visits[MAX_N];
  int bad_way; /* atomic: a way outside [0, MAX_WAYS) was seen */
} Visits;

static void
count_visits (int start, int end, int way, gpointer data)
{
  Visits *v = data;

  if (way < 0 || way >= SANL_PARALLEL_MAX_WAYS)
    g_atomic_int_set (&v->bad_way, 1);
  for (int i = start; i < end; i++)
    g_atomic_int_inc (&v->visits[i]);
}

/* Every n from 0 to 37 at 1, 2, 3 and 4 threads: each count exactly 1,
 * every count past n still 0. */
static void
test_each_index_once (void)
{
  for (int threads = 1; threads <= 4; threads++) {
    sanl_set_threads (threads);
    for (int n = 0; n <= MAX_N; n++) {
      Visits v = { { 0 }, 0 };

      sanl_parallel_for (n, count_visits, &v);
      for (int i = 0; i < MAX_N; i++)
        g_assert_cmpint (v.visits[i], ==, i < n ? 1 : 0);
      g_assert_cmpint (v.bad_way, ==, 0);
    }
  }
}

/* A job's chunk that starts a job of its own: the inner one still
 * covers its whole range once. */
static void
inner_job (int start, int end, int way, gpointer data)
{
  Visits *outer = data;

  for (int i = start; i < end; i++) {
    Visits inner = { { 0 }, 0 };

    sanl_parallel_for (MAX_N, count_visits, &inner);
    for (int k = 0; k < MAX_N; k++)
      if (inner.visits[k] != 1)
        return;
    g_atomic_int_inc (&outer->visits[i]);
  }
}

static void
test_nested (void)
{
  Visits v = { { 0 }, 0 };

  sanl_set_threads (2);
  sanl_parallel_for (8, inner_job, &v);
  for (int i = 0; i < MAX_N; i++)
    g_assert_cmpint (v.visits[i], ==, i < 8 ? 1 : 0);
}

/* Deterministic values in [-1, 1) that are exact in binary. */
static float *
pattern (gsize n, int seed)
{
  float *v = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    v[i] = (float) ((int) ((i * 37 + seed * 101) % 64) - 32) / 32.0f;
  return v;
}

typedef struct
{
  gboolean ta, tb;
  int m, n, k;
} Shape;

/* Under the split threshold, columns sliced, rows sliced (m > n), sizes
 * off the 16-step, each transpose. */
static const Shape shapes[] = {
  { FALSE, FALSE, 5, 7, 3 },
  { FALSE, FALSE, 64, 1000, 40 },
  { TRUE, FALSE, 70, 933, 33 },
  { FALSE, TRUE, 45, 517, 80 },
  { TRUE, TRUE, 37, 300, 64 },
  { FALSE, FALSE, 1001, 60, 50 },
  { TRUE, FALSE, 611, 49, 77 },
  { FALSE, TRUE, 333, 17, 120 },
};

static void
check_gemm (const Shape *s, int threads)
{
  /* leading dimensions 3 wider than the rows they hold */
  int lda = (s->ta ? s->m : s->k) + 3, ldb = (s->tb ? s->k : s->n) + 3;
  int ldc = s->n + 3;
  int rows_a = s->ta ? s->k : s->m, rows_b = s->tb ? s->n : s->k;
  g_autofree float *a = pattern ((gsize) rows_a * lda, 1);
  g_autofree float *b = pattern ((gsize) rows_b * ldb, 2);
  g_autofree float *c = pattern ((gsize) s->m * ldc, 3);
  g_autofree float *c0 = g_memdup2 (c, (gsize) s->m * ldc * sizeof (float));

  sanl_set_threads (threads);
  sanl_gemm (
      s->ta, s->tb, s->m, s->n, s->k, 0.5f, a, lda, b, ldb, 2.0f, c, ldc);

  for (int i = 0; i < s->m; i++) {
    for (int j = 0; j < ldc; j++) {
      double want = c0[(gsize) i * ldc + j];

      /* the padding columns stay as they were */
      if (j < s->n) {
        double sum = 0.0;

        for (int p = 0; p < s->k; p++) {
          float av = s->ta ? a[(gsize) p * lda + i] : a[(gsize) i * lda + p];
          float bv = s->tb ? b[(gsize) j * ldb + p] : b[(gsize) p * ldb + j];

          sum += (double) av * bv;
        }
        want = 0.5 * sum + 2.0 * want;
      }
      /* products of multiples of 1/32 summed in float: within rounding */
      g_assert_cmpfloat_with_epsilon (
          c[(gsize) i * ldc + j], want, 1e-5 * (fabs (want) + s->k));
    }
  }
}

static void
test_gemm (void)
{
  for (int threads = 1; threads <= 3; threads++)
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
      check_gemm (&shapes[i], threads);
}

/* C = A B + beta C, then + bias per row + residual, then ReLU, against
 * the same sum done naively; half the values end up negative, so the
 * ReLU matters, and the padding columns of C must stay untouched. */
static void
check_fused (const Shape *s, int threads, gboolean with_bias,
    gboolean with_residual, gboolean relu, float beta)
{
  int lda = s->k + 3, ldb = s->n + 3, ldc = s->n + 3;
  g_autofree float *a = pattern ((gsize) s->m * lda, 4);
  g_autofree float *b = pattern ((gsize) s->k * ldb, 5);
  g_autofree float *c = pattern ((gsize) s->m * ldc, 6);
  g_autofree float *bias = pattern (s->m, 7);
  g_autofree float *res = pattern ((gsize) s->m * ldc, 8);
  g_autofree float *c0 = g_memdup2 (c, (gsize) s->m * ldc * sizeof (float));
  SanlEpilogue ep
      = { with_bias ? bias : NULL, with_residual ? res : NULL, relu };

  sanl_set_threads (threads);
  sanl_gemm_fused (s->m, s->n, s->k, a, lda, b, ldb, beta, c, ldc, &ep);

  for (int i = 0; i < s->m; i++)
    for (int j = 0; j < ldc; j++) {
      double want = c0[(gsize) i * ldc + j];

      if (j < s->n) {
        double sum = beta * want;

        for (int p = 0; p < s->k; p++)
          sum += (double) a[(gsize) i * lda + p] * b[(gsize) p * ldb + j];
        if (with_bias)
          sum += bias[i];
        if (with_residual)
          sum += res[(gsize) i * ldc + j];
        want = relu ? MAX (sum, 0.0) : sum;
      }
      g_assert_cmpfloat_with_epsilon (
          c[(gsize) i * ldc + j], want, 1e-5 * (fabs (want) + s->k + 2));
    }
}

static void
test_gemm_fused (void)
{
  for (int threads = 1; threads <= 3; threads++)
    for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
      if (shapes[i].ta || shapes[i].tb)
        continue;
      check_fused (&shapes[i], threads, TRUE, TRUE, TRUE, 0.0f);
      check_fused (&shapes[i], threads, TRUE, FALSE, TRUE, 0.0f);
      check_fused (&shapes[i], threads, FALSE, TRUE, FALSE, 0.0f);
      check_fused (&shapes[i], threads, TRUE, FALSE, FALSE, 1.0f);
    }
}

/* Visits of [0, MAX_N) on the pool, rounds times, with a pause after each
 * long enough for the worker to go to sleep, so that the next job wakes
 * it; TRUE when each index came once every time. */
static gboolean
each_index_once (int rounds)
{
  for (int r = 0; r < rounds; r++) {
    Visits v = { { 0 }, 0 };

    sanl_parallel_for (MAX_N, count_visits, &v);
    for (int i = 0; i < MAX_N; i++)
      if (v.visits[i] != 1)
        return FALSE;
    if (v.bad_way)
      return FALSE;
    g_usleep (1000);
  }
  return TRUE;
}

/* A child forked while the parent's worker sleeps runs jobs on workers of
 * its own and exits (joining them) within its alarm; the parent's pool
 * still works after. */
static void
test_fork (void)
{
  int status;
  pid_t child;

  sanl_set_threads (2);
  g_assert_true (each_index_once (100));
  g_usleep (G_USEC_PER_SEC / 10); /* the worker asleep at the fork */

  child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0) {
    alarm (20);
    _exit (each_index_once (100) ? 0 : 1);
  }
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);

  child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0) {
    alarm (20);
    exit (each_index_once (100) ? 0 : 1); /* exit: the pool's destructor runs */
  }
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);

  g_assert_true (each_index_once (10));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parallel/each-index-once", test_each_index_once);
  g_test_add_func ("/parallel/nested", test_nested);
  g_test_add_func ("/parallel/gemm", test_gemm);
  g_test_add_func ("/parallel/gemm-fused", test_gemm_fused);
  g_test_add_func ("/parallel/fork", test_fork);
  return g_test_run ();
}
