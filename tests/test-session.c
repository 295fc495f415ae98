/* Sessions: no heap allocation per frame, deterministic results, parallel
 * sessions on one model, and clear errors for unusable frames. */

#define _GNU_SOURCE
#include "sanl.h"

#include <dlfcn.h>

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Counting allocator: this executable's malloc family wraps glibc's, so
 * every allocation in the process is seen. Allocations made from inside
 * OpenBLAS (its small-matrix kernels pack into malloc'd scratch on some
 * CPUs) are counted apart: they are the BLAS's, not the engine's. */

extern void *__libc_malloc (size_t size);
extern void *__libc_calloc (size_t n, size_t size);
extern void *__libc_realloc (void *p, size_t size);
extern void *__libc_memalign (size_t align, size_t size);
extern void __libc_free (void *p);

static volatile gint n_allocations;
static volatile gint n_blas_allocations;
static __thread gboolean in_count;

static void
count (void *caller)
{
  Dl_info info;

  if (in_count)
    return;
  in_count = TRUE;
  if (dladdr (caller, &info) && info.dli_fname
      && strstr (info.dli_fname, "libopenblas"))
    g_atomic_int_inc (&n_blas_allocations);
  else
    g_atomic_int_inc (&n_allocations);
  in_count = FALSE;
}

void *
malloc (size_t size)
{
  count (__builtin_return_address (0));
  return __libc_malloc (size);
}

void *
calloc (size_t n, size_t size)
{
  count (__builtin_return_address (0));
  return __libc_calloc (n, size);
}

void *
realloc (void *p, size_t size)
{
  count (__builtin_return_address (0));
  return __libc_realloc (p, size);
}

void *
memalign (size_t align, size_t size)
{
  count (__builtin_return_address (0));
  return __libc_memalign (align, size);
}

int
posix_memalign (void **p, size_t align, size_t size)
{
  count (__builtin_return_address (0));
  *p = __libc_memalign (align, size);
  return *p ? 0 : 12;
}

void *
aligned_alloc (size_t align, size_t size)
{
  count (__builtin_return_address (0));
  return __libc_memalign (align, size);
}

void
free (void *p)
{
  __libc_free (p);
}

/* ---------------------------------------------------------------------- */

#define WIDTH 67
#define HEIGHT 41

static SanlModel *
load_fixture (void)
{
  g_autofree char *path = NULL;
  GError *error = NULL;
  SanlModel *model;

  path = g_build_filename (g_getenv ("SANL_SOURCE_ROOT"), "tests", "fixtures",
      "tiny-seed1.safetensors", NULL);
  model = sanl_model_load (path, &error);
  g_assert_no_error (error);
  return model;
}

/* A deterministic RGB picture: a bright blob on a gradient. */
static guint8 *
make_frame (int width, int height, int stride)
{
  guint8 *rgb = g_malloc0 ((gsize) stride * height);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      guint8 *p = rgb + (gsize) y * stride + x * 3;
      int dx = x - width / 3, dy = y - height / 2;
      int blob = dx * dx + dy * dy < 100 ? 200 : 0;

      p[0] = (guint8) MIN (255, x * 3 + blob);
      p[1] = (guint8) (y * 5);
      p[2] = (guint8) ((x * y) & 0xff);
    }
  return rgb;
}

static void
test_no_allocation_per_frame (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  SanlResult result;
  gint before, blas_before;

  /* The first run may warm up OpenBLAS's own buffers. */
  g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));

  before = g_atomic_int_get (&n_allocations);
  blas_before = g_atomic_int_get (&n_blas_allocations);
  for (int i = 0; i < 100; i++)
    g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
  g_assert_cmpint (g_atomic_int_get (&n_allocations) - before, ==, 0);
  g_test_message ("OpenBLAS allocated %d times in 100 frames",
      g_atomic_int_get (&n_blas_allocations) - blas_before);

  sanl_session_free (session);
  sanl_model_unref (model);
}

static void
test_runs_are_deterministic (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  SanlResult first, second;

  g_assert_true (sanl_session_run (session, &image, NULL, &first, NULL));
  g_assert_true (sanl_session_run (session, &image, NULL, &second, NULL));
  g_assert_cmpint (memcmp (&first, &second, sizeof first), ==, 0);
  g_assert_cmpint (first.n_landmarks, ==, 8);
  g_assert_cmpint (first.category, >=, 0);

  sanl_session_free (session);
  sanl_model_unref (model);
}

typedef struct
{
  SanlModel *model;
  const SanlImage *image;
  SanlResult result;
} Worker;

static gpointer
run_worker (gpointer data)
{
  Worker *worker = data;
  SanlSession *session = sanl_session_new (worker->model, NULL);

  for (int i = 0; i < 5; i++)
    sanl_session_run (session, worker->image, NULL, &worker->result, NULL);
  sanl_session_free (session);
  return NULL;
}

static void
test_parallel_sessions_agree (void)
{
  SanlModel *model = load_fixture ();
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  Worker workers[3];
  GThread *threads[3];
  SanlSession *serial = sanl_session_new (model, NULL);
  SanlResult expected;

  g_assert_true (sanl_session_run (serial, &image, NULL, &expected, NULL));
  for (int i = 0; i < 3; i++) {
    workers[i].model = model;
    workers[i].image = &image;
    threads[i] = g_thread_new ("session", run_worker, &workers[i]);
  }
  for (int i = 0; i < 3; i++) {
    g_thread_join (threads[i]);
    g_assert_cmpint (
        memcmp (&workers[i].result, &expected, sizeof expected), ==, 0);
  }

  sanl_session_free (serial);
  sanl_model_unref (model);
}

static void
test_attention_none_has_no_category (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  SanlResult result;

  sanl_session_set_attention (session, SANL_ATTENTION_NONE);
  g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
  g_assert_cmpint (result.category, ==, -1);
  g_assert_null (
      sanl_session_get_output (session, SANL_OUTPUT_ATTENTION_1).data);
  g_assert_null (sanl_session_get_output (session, SANL_OUTPUT_LOGITS).data);

  sanl_session_free (session);
  sanl_model_unref (model);
}

/* A frame 97 wide and 3 high is mostly letterbox padding, where random
 * weights put most peaks; every point must still lie on the frame. */
static void
test_landmarks_stay_inside_region (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (97, 3, 97 * 3);
  SanlImage image = { SANL_PIXEL_RGB, 97, 3, { rgb }, { 97 * 3 } };
  SanlRect region = { 10.0f, 0.0f, 20.0f, 2.0f };
  SanlResult result;

  g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
  for (int i = 0; i < result.n_landmarks; i++) {
    g_assert_cmpfloat (result.landmarks[i].x, >=, -0.5f);
    g_assert_cmpfloat (result.landmarks[i].x, <=, 96.5f);
    g_assert_cmpfloat (result.landmarks[i].y, >=, -0.5f);
    g_assert_cmpfloat (result.landmarks[i].y, <=, 2.5f);
  }

  g_assert_true (sanl_session_run (session, &image, &region, &result, NULL));
  for (int i = 0; i < result.n_landmarks; i++) {
    g_assert_cmpfloat (result.landmarks[i].x, >=, 9.5f);
    g_assert_cmpfloat (result.landmarks[i].x, <=, 29.5f);
    g_assert_cmpfloat (result.landmarks[i].y, >=, -0.5f);
    g_assert_cmpfloat (result.landmarks[i].y, <=, 1.5f);
  }

  sanl_session_free (session);
  sanl_model_unref (model);
}

static void
test_bad_frames_are_errors (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  guint8 pixel[4] = { 1, 2, 3, 4 };
  SanlImage empty = { SANL_PIXEL_RGB, 0, 5, { pixel }, { 3 } };
  SanlImage short_stride = { SANL_PIXEL_RGBX, 2, 1, { pixel }, { 4 } };
  SanlImage no_chroma = { SANL_PIXEL_I420, 1, 1, { pixel }, { 1 } };
  SanlImage one = { SANL_PIXEL_RGB, 1, 1, { pixel }, { 3 } };
  SanlRect flat = { 0.0f, 0.0f, 1.0f, 0.0f };
  SanlResult result;
  GError *error = NULL;

  g_assert_false (sanl_session_run (session, &empty, NULL, &result, &error));
  g_assert_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (
      sanl_session_run (session, &short_stride, NULL, &result, &error));
  g_assert_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "stride 4"));
  g_clear_error (&error);

  g_assert_false (
      sanl_session_run (session, &no_chroma, NULL, &result, &error));
  g_assert_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (sanl_session_run (session, &one, &flat, &result, &error));
  g_assert_error (error, SANL_ERROR, SANL_ERROR_ARGUMENT);
  g_clear_error (&error);

  /* A single pixel is a frame like any other. */
  g_assert_true (sanl_session_run (session, &one, NULL, &result, &error));
  g_assert_no_error (error);

  sanl_session_free (session);
  sanl_model_unref (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  sanl_set_threads (1);

  g_test_add_func (
      "/session/no-allocation-per-frame", test_no_allocation_per_frame);
  g_test_add_func (
      "/session/runs-are-deterministic", test_runs_are_deterministic);
  g_test_add_func (
      "/session/parallel-sessions-agree", test_parallel_sessions_agree);
  g_test_add_func ("/session/attention-none-has-no-category",
      test_attention_none_has_no_category);
  g_test_add_func ("/session/landmarks-stay-inside-region",
      test_landmarks_stay_inside_region);
  g_test_add_func (
      "/session/bad-frames-are-errors", test_bad_frames_are_errors);
  return g_test_run ();
}
