/* sanl_parallel_for: every index of [0, n) is visited exactly once, in
 * contiguous chunks, whatever the thread count; a call from inside a job
 * runs on its own. */

#include "sanl-private.h"

#include <cblas.h>

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
    openblas_set_num_threads (threads);
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

  openblas_set_num_threads (2);
  sanl_parallel_for (8, inner_job, &v);
  for (int i = 0; i < MAX_N; i++)
    g_assert_cmpint (v.visits[i], ==, i < 8 ? 1 : 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parallel/each-index-once", test_each_index_once);
  g_test_add_func ("/parallel/nested", test_nested);
  return g_test_run ();
}
