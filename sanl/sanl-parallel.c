/* Fork-join over the engine's loops (tile transforms, im2col, softmax,
 * elementwise passes) and its matrix products (sanl-gemm.c).
 *
 * The engine's threads are these: OpenBLAS is set to one thread, and
 * products are cut into slices that run on the pool, so no OpenBLAS worker
 * competes for a core with a worker of the pool.
 *
 * One process-wide pool of worker threads, grown on demand to the engine's
 * thread count less one (the caller is the first way) and never shrunk, so
 * that no frame after the first creates a thread or allocates. A job is
 * published by bumping a generation counter; workers spin on it for a
 * short while, then sleep on a condition variable. The range is cut into
 * a few contiguous chunks per way that the caller and the workers take in
 * turn, so a worker slow to wake only does less; once no chunk is left the
 * caller closes the job and waits for the workers that entered it.
 *
 * Callers that find the pool busy (another session's job, or a call from
 * inside a job) run the whole range themselves: results never depend on
 * the split, only the time does.
 *
 * At exit the workers are told to stop and are joined, so that leak
 * checkers find no thread left unjoined; a job still running then
 * finishes on its caller. */

#include "sanl-private.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause ()
#else
#define cpu_relax() ((void) 0)
#endif

/* Pause iterations a worker spins before it sleeps: about 0.1 ms, longer
 * than the gap between two back-to-back jobs, far shorter than a GEMM. */
#define SPIN 256

/* Chunks per way: the ways take them in turn, so a late one costs
 * little. */
#define CHUNKS_PER_WAY 4

typedef struct
{
  SanlParallelFunc fn;
  gpointer data;
  int n;
  int chunks;
} Job;

/* state: the job's generation in the high half; in the low half, the
 * workers inside the job, and CLOSED once the caller takes no more */
#define CLOSED ((guint64) 1 << 31)
#define INSIDE_MASK (CLOSED - 1)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_t workers[SANL_PARALLEL_MAX_WAYS - 1];
static int n_workers;
static Job job;
static guint64 state = CLOSED; /* atomic */
static int next_chunk;         /* atomic: the first chunk not yet taken */
static int sleepers;           /* atomic */
static int busy;               /* atomic: a caller holds the pool */
static int stopping;           /* atomic: the process is exiting */
static __thread gboolean inside_job;

static guint32
generation_of (guint64 s)
{
  return (guint32) (s >> 32);
}

/* Takes chunks of j until none is left; each is [start, end) of n. */
static void
run_chunks (const Job *j, int way)
{
  int c;

  while (
      (c = __atomic_fetch_add (&next_chunk, 1, __ATOMIC_RELAXED)) < j->chunks) {
    int start = (int) ((gint64) j->n * c / j->chunks);
    int end = (int) ((gint64) j->n * (c + 1) / j->chunks);

    j->fn (start, end, way, j->data);
  }
}

/* Blocks until the generation differs from seen, or the pool stops;
 * returns the generation it last read. */
static guint32
wait_generation (guint32 seen)
{
  guint32 gen;

  for (int i = 0; i < SPIN; i++) {
    gen = generation_of (__atomic_load_n (&state, __ATOMIC_ACQUIRE));
    if (gen != seen || __atomic_load_n (&stopping, __ATOMIC_ACQUIRE))
      return gen;
    cpu_relax ();
  }

  /* sleepers goes up before the state is read again, and the caller
   * publishes the state before it reads sleepers: one of the two sees
   * the other, so no wake-up is lost; stopping is set under the lock */
  pthread_mutex_lock (&lock);
  __atomic_add_fetch (&sleepers, 1, __ATOMIC_SEQ_CST);
  while (
      (gen = generation_of (__atomic_load_n (&state, __ATOMIC_SEQ_CST))) == seen
      && !__atomic_load_n (&stopping, __ATOMIC_SEQ_CST))
    pthread_cond_wait (&wake, &lock);
  __atomic_sub_fetch (&sleepers, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock (&lock);
  return gen;
}

/* Enters job gen unless it has closed or moved on; TRUE when inside. */
static gboolean
enter (guint32 gen)
{
  guint64 s = __atomic_load_n (&state, __ATOMIC_ACQUIRE);

  do {
    if (generation_of (s) != gen || (s & CLOSED))
      return FALSE;
  } while (!__atomic_compare_exchange_n (
      &state, &s, s + 1, TRUE, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE));
  return TRUE;
}

static void *
worker_main (void *arg)
{
  int way = GPOINTER_TO_INT (arg);
  guint32 seen = 0;

  inside_job = TRUE;
  for (;;) {
    seen = wait_generation (seen);
    if (__atomic_load_n (&stopping, __ATOMIC_ACQUIRE))
      break;
    /* a job the caller already finished alone is skipped */
    if (!enter (seen))
      continue;
    run_chunks (&job, way);
    __atomic_sub_fetch (&state, 1, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* A forked child has none of its parent's workers, and its copies of the
 * lock and the condition may still count them: it starts afresh. */
static void
forget_workers (void)
{
  n_workers = 0;
  sleepers = 0;
  pthread_mutex_init (&lock, NULL);
  pthread_cond_init (&wake, NULL);
}

/* At exit: every worker leaves its wait (or the job it is in) and is
 * joined. A caller still running a job takes the chunks left itself. */
__attribute__ ((destructor)) static void
stop_pool (void)
{
  pthread_mutex_lock (&lock);
  __atomic_store_n (&stopping, 1, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast (&wake);
  pthread_mutex_unlock (&lock);
  for (int i = 0; i < n_workers; i++)
    pthread_join (workers[i], NULL);
  n_workers = 0;
}

/* Grows the pool to want workers; called with the pool held and idle. */
static void
grow_pool (int want)
{
  static gboolean fork_handled;

  if (!fork_handled && n_workers < want) {
    pthread_atfork (NULL, NULL, forget_workers);
    fork_handled = TRUE;
  }
  while (n_workers < want && !__atomic_load_n (&stopping, __ATOMIC_ACQUIRE)) {
    if (pthread_create (&workers[n_workers], NULL, worker_main,
            GINT_TO_POINTER (n_workers + 1))
        != 0) {
      g_warning ("cannot start a worker thread; %d ways only", n_workers + 1);
      return;
    }
    n_workers++;
  }
}

/* The engine's thread count; 0 until sanl_set_threads or the first job. */
static int engine_threads; /* atomic */

static void
set_ways (int threads)
{
  __atomic_store_n (&engine_threads, CLAMP (threads, 1, SANL_PARALLEL_MAX_WAYS),
      __ATOMIC_RELEASE);
  sanl_blas_match_processor ();
  openblas_set_num_threads (1);
}

void
sanl_set_threads (int n_threads)
{
  if (n_threads > 0)
    set_ways (n_threads);
}

int
sanl_parallel_ways (void)
{
  static gsize first = 0;

  /* OpenBLAS's own default: the processors this process may use */
  if (g_once_init_enter (&first)) {
    if (__atomic_load_n (&engine_threads, __ATOMIC_ACQUIRE) == 0)
      set_ways (openblas_get_num_threads ());
    g_once_init_leave (&first, 1);
  }
  return __atomic_load_n (&engine_threads, __ATOMIC_ACQUIRE);
}

void
sanl_parallel_for (int n, SanlParallelFunc fn, gpointer data)
{
  int ways = MIN (sanl_parallel_ways (), n);
  int expected = 0;

  if (n <= 0)
    return;

  /* one way, a nested call, or the pool in use: all on this thread */
  if (ways <= 1 || inside_job
      || !__atomic_compare_exchange_n (
          &busy, &expected, 1, FALSE, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    fn (0, n, 0, data);
    return;
  }

  grow_pool (ways - 1);
  ways = MIN (ways, n_workers + 1);

  /* publish the job in a few chunks per way, then wake whoever sleeps;
   * generations start at 1, the one no worker has seen */
  job = (Job){ fn, data, n, MIN (n, ways * CHUNKS_PER_WAY) };
  __atomic_store_n (&next_chunk, 0, __ATOMIC_RELAXED);
  __atomic_store_n (
      &state, ((guint64) (generation_of (state) + 1) << 32), __ATOMIC_SEQ_CST);
  if (__atomic_load_n (&sleepers, __ATOMIC_SEQ_CST) > 0) {
    pthread_mutex_lock (&lock);
    pthread_cond_broadcast (&wake);
    pthread_mutex_unlock (&lock);
  }

  /* chunks here until none is left, so that a worker slow to wake costs
   * nothing; then close the job and wait for the workers inside it */
  inside_job = TRUE;
  run_chunks (&job, 0);
  inside_job = FALSE;
  __atomic_fetch_or (&state, CLOSED, __ATOMIC_SEQ_CST);
  for (int i = 0; __atomic_load_n (&state, __ATOMIC_ACQUIRE) & INSIDE_MASK;
       i++) {
    if (i < SPIN)
      cpu_relax ();
    else
      sched_yield ();
  }

  __atomic_store_n (&busy, 0, __ATOMIC_RELEASE);
}

void
sanl_parallel_for_sized (
    int n, gsize floats, SanlParallelFunc fn, gpointer data)
{
  if (floats < SANL_PARALLEL_MIN_FLOATS) {
    if (n > 0)
      fn (0, n, 0, data);
    return;
  }
  sanl_parallel_for (n, fn, data);
}
