/* Sessions: no heap allocation per frame, deterministic results, parallel
 * sessions on one model, and clear errors for unusable frames. */

#define _GNU_SOURCE
#include "sanl.h"

#include <dlfcn.h>
#include <math.h>

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
load_model_fixture (const char *name)
{
  g_autofree char *path = NULL;
  GError *error = NULL;
  SanlModel *model;

  path = g_build_filename (
      g_getenv ("SANL_SOURCE_ROOT"), "tests", "fixtures", name, NULL);
  model = sanl_model_load (path, &error);
  g_assert_no_error (error);
  return model;
}

static SanlModel *
load_fixture (void)
{
  return load_model_fixture ("tiny-seed1.safetensors");
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

/* 100 frames after the first allocate nothing, at threads threads (the
 * first run may warm up OpenBLAS's own buffers and the worker pool). */
static void
check_no_allocation_per_frame (const char *fixture, int threads)
{
  SanlModel *model = load_model_fixture (fixture);
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  SanlResult result;
  gint before, blas_before;

  sanl_set_threads (threads);
  g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));

  before = g_atomic_int_get (&n_allocations);
  blas_before = g_atomic_int_get (&n_blas_allocations);
  for (int i = 0; i < 100; i++)
    g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
  g_assert_cmpint (g_atomic_int_get (&n_allocations) - before, ==, 0);
  g_test_message ("OpenBLAS allocated %d times in 100 frames",
      g_atomic_int_get (&n_blas_allocations) - blas_before);

  sanl_set_threads (1);
  sanl_session_free (session);
  sanl_model_unref (model);
}

static void
test_no_allocation_per_frame (void)
{
  check_no_allocation_per_frame ("tiny-seed1.safetensors", 1);
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

/* Three sessions run at once give the bits of a lone one, at threads
 * threads. */
static void
check_parallel_sessions_agree (const char *fixture, int threads)
{
  SanlModel *model = load_model_fixture (fixture);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  Worker workers[3];
  GThread *sessions[3];
  SanlSession *serial = sanl_session_new (model, NULL);
  SanlResult expected;

  sanl_set_threads (threads);
  g_assert_true (sanl_session_run (serial, &image, NULL, &expected, NULL));
  for (int i = 0; i < 3; i++) {
    workers[i].model = model;
    workers[i].image = &image;
    sessions[i] = g_thread_new ("session", run_worker, &workers[i]);
  }
  for (int i = 0; i < 3; i++) {
    g_thread_join (sessions[i]);
    g_assert_cmpint (
        memcmp (&workers[i].result, &expected, sizeof expected), ==, 0);
  }

  sanl_set_threads (1);
  sanl_session_free (serial);
  sanl_model_unref (model);
}

static void
test_parallel_sessions_agree (void)
{
  check_parallel_sessions_agree ("tiny-seed1.safetensors", 1);
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

/* A second picture: the same blob moved right and the gradient reversed. */
static guint8 *
make_other_frame (int width, int height, int stride)
{
  guint8 *rgb = make_frame (width, height, stride);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      guint8 *p = rgb + (gsize) y * stride + x * 3;
      int dx = x - 2 * width / 3, dy = y - height / 2;

      p[0] = (guint8) (255 - p[0]);
      if (dx * dx + dy * dy < 100)
        p[1] = 250;
    }
  return rgb;
}

/* Two length-n float arrays hold the same bits. */
static gboolean
same_floats (const float *a, const float *b, gsize n)
{
  return memcmp (a, b, n * sizeof (float)) == 0;
}

static gsize
tensor_size (SanlTensor t)
{
  gsize n = 1;

  for (int i = 0; i < t.n_dims; i++)
    n *= t.shape[i];
  return n;
}

/* Reusing maps made from the same picture changes nothing at all. */
static void
test_reuse_attention_same_frame_is_identical (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  SanlResult plain, reused;
  SanlTensor t;
  g_autofree float *fine = NULL;

  g_assert_true (sanl_session_run (session, &image, NULL, &plain, NULL));
  t = sanl_session_get_output (session, SANL_OUTPUT_HEATMAPS_FINE);
  fine = g_memdup2 (t.data, tensor_size (t) * sizeof (float));

  sanl_session_reuse_attention (session, TRUE);
  for (int i = 0; i < 2; i++) {
    g_assert_true (sanl_session_run (session, &image, NULL, &reused, NULL));
    g_assert_cmpint (memcmp (&plain, &reused, sizeof plain), ==, 0);
    t = sanl_session_get_output (session, SANL_OUTPUT_HEATMAPS_FINE);
    g_assert_true (same_floats (t.data, fine, tensor_size (t)));
  }

  sanl_session_free (session);
  sanl_model_unref (model);
}

/* On another picture the stored maps and category of the first steer the
 * network, while the landmarks come from the new picture. */
static void
test_reuse_attention_keeps_maps_of_first_frame (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb_a = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  g_autofree guint8 *rgb_b = make_other_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage a = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb_a }, { WIDTH * 3 } };
  SanlImage b = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb_b }, { WIDTH * 3 } };
  SanlResult on_a, on_b, fresh_b;
  g_autofree float *maps_a[4] = { NULL };
  g_autofree float *fine_a = NULL;
  g_autofree float *maps_fresh_b = NULL;
  SanlTensor t;

  /* Frame A computes the maps. */
  g_assert_true (sanl_session_run (session, &a, NULL, &on_a, NULL));
  for (int l = 0; l < 4; l++) {
    t = sanl_session_get_output (session, SANL_OUTPUT_ATTENTION_1 + l);
    maps_a[l] = g_memdup2 (t.data, tensor_size (t) * sizeof (float));
  }
  t = sanl_session_get_output (session, SANL_OUTPUT_HEATMAPS_FINE);
  fine_a = g_memdup2 (t.data, tensor_size (t) * sizeof (float));

  /* Frame B on its own makes other maps, so the check below can fail. */
  {
    SanlSession *other = sanl_session_new (model, NULL);

    g_assert_true (sanl_session_run (other, &b, NULL, &fresh_b, NULL));
    t = sanl_session_get_output (other, SANL_OUTPUT_ATTENTION_1);
    g_assert_false (same_floats (t.data, maps_a[0], tensor_size (t)));
    sanl_session_free (other);
  }

  /* Frame B with reuse keeps A's maps and category. */
  sanl_session_reuse_attention (session, TRUE);
  g_assert_true (sanl_session_run (session, &b, NULL, &on_b, NULL));
  g_assert_cmpint (on_b.category, ==, on_a.category);
  g_assert_cmpfloat (on_b.category_score, ==, on_a.category_score);
  for (int l = 0; l < 4; l++) {
    t = sanl_session_get_output (session, SANL_OUTPUT_ATTENTION_1 + l);
    g_assert_nonnull (t.data);
    g_assert_true (same_floats (t.data, maps_a[l], tensor_size (t)));
  }
  t = sanl_session_get_output (session, SANL_OUTPUT_HEATMAPS_FINE);
  g_assert_false (same_floats (t.data, fine_a, tensor_size (t)));
  g_assert_cmpint (
      memcmp (on_b.landmarks, fresh_b.landmarks, sizeof on_b.landmarks), !=, 0);

  /* Reuse off: B gets its own maps again, as a fresh session makes them. */
  sanl_session_reuse_attention (session, FALSE);
  g_assert_true (sanl_session_run (session, &b, NULL, &on_b, NULL));
  g_assert_cmpint (memcmp (&on_b, &fresh_b, sizeof on_b), ==, 0);

  sanl_session_free (session);
  sanl_model_unref (model);
}

/* Reuse skips the classifier and Grad-CAM: their timings are 0. A session
 * without maps yet computes them even with reuse on. */
static void
test_reuse_attention_skips_generator (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  const SanlTimings *timings = sanl_session_get_timings (session);
  SanlResult result;

  sanl_session_reuse_attention (session, TRUE);
  g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
  g_assert_cmpint (result.category, >=, 0);
  g_assert_cmpfloat (timings->attention_forward, >, 0.0);

  for (int i = 0; i < 3; i++) {
    g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
    g_assert_cmpfloat (timings->attention_forward, ==, 0.0);
    g_assert_cmpfloat (timings->attention_backward, ==, 0.0);
    g_assert_cmpfloat (timings->backbone, >, 0.0);
  }

  sanl_session_free (session);
  sanl_model_unref (model);
}

static void
test_reuse_attention_no_allocation (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  SanlResult result;
  gint before;

  g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
  sanl_session_reuse_attention (session, TRUE);

  before = g_atomic_int_get (&n_allocations);
  for (int i = 0; i < 100; i++) {
    /* Every fourth frame computes fresh maps, as the element does. */
    sanl_session_reuse_attention (session, i % 4 != 0);
    g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
  }
  g_assert_cmpint (g_atomic_int_get (&n_allocations) - before, ==, 0);

  sanl_session_free (session);
  sanl_model_unref (model);
}

/* Every output of a run, copied out of the session. */
typedef struct
{
  SanlResult result;
  float *outputs[SANL_OUTPUT_VISIBILITY + 1];
  gsize sizes[SANL_OUTPUT_VISIBILITY + 1];
} Outputs;

static void
outputs_take (Outputs *o, SanlSession *session, const SanlResult *result)
{
  o->result = *result;
  for (int i = 0; i <= SANL_OUTPUT_VISIBILITY; i++) {
    SanlTensor t = sanl_session_get_output (session, i);

    o->sizes[i] = t.data ? tensor_size (t) : 0;
    o->outputs[i]
        = t.data ? g_memdup2 (t.data, o->sizes[i] * sizeof (float)) : NULL;
  }
}

static void
outputs_assert_same (const Outputs *a, const Outputs *b)
{
  g_assert_cmpint (memcmp (&a->result, &b->result, sizeof a->result), ==, 0);
  for (int i = 0; i <= SANL_OUTPUT_VISIBILITY; i++) {
    g_assert_cmpuint (a->sizes[i], ==, b->sizes[i]);
    if (a->sizes[i] > 0)
      g_assert_true (same_floats (a->outputs[i], b->outputs[i], a->sizes[i]));
  }
}

static void
outputs_clear (Outputs *o)
{
  for (int i = 0; i <= SANL_OUTPUT_VISIBILITY; i++)
    g_clear_pointer (&o->outputs[i], g_free);
}

/* The lite fixture's products are large enough to be cut into slices;
 * the slices follow the shapes, so 1 to 4 threads give the same bits. */
static void
test_same_bits_at_any_thread_count (void)
{
  SanlModel *model = load_model_fixture ("lite.safetensors");
  SanlSession *session = sanl_session_new (model, NULL);
  g_autofree guint8 *rgb = make_frame (WIDTH, HEIGHT, WIDTH * 3);
  SanlImage image = { SANL_PIXEL_RGB, WIDTH, HEIGHT, { rgb }, { WIDTH * 3 } };
  Outputs one = { 0 };
  SanlResult result;

  g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
  outputs_take (&one, session, &result);
  g_assert_nonnull (one.outputs[SANL_OUTPUT_ATTENTION_1]);

  for (int threads = 2; threads <= 4; threads++) {
    Outputs more = { 0 };

    sanl_set_threads (threads);
    g_assert_true (sanl_session_run (session, &image, NULL, &result, NULL));
    outputs_take (&more, session, &result);
    outputs_assert_same (&one, &more);
    outputs_clear (&more);
  }

  sanl_set_threads (1);
  outputs_clear (&one);
  sanl_session_free (session);
  sanl_model_unref (model);
}

/* Sessions that run at once on two threads find the pool busy and run
 * their products alone: the same bits as one session on its own. */
static void
test_parallel_sessions_agree_on_two_threads (void)
{
  check_parallel_sessions_agree ("lite.safetensors", 2);
}

/* With the worker pool in use, frames after the first allocate nothing
 * either. */
static void
test_no_allocation_per_frame_on_two_threads (void)
{
  check_no_allocation_per_frame ("lite.safetensors", 2);
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

/* A NaN in the network's input spreads through the layers to the outputs
 * (ReLU keeps it, as PyTorch's does): the run fails with
 * SANL_ERROR_NUMERIC and its raw outputs stay readable, NaN where it
 * reached. A clean input on the same session runs as before. */
static void
test_nan_input_is_a_numeric_error (void)
{
  SanlModel *model = load_fixture ();
  SanlSession *session = sanl_session_new (model, NULL);
  int size = sanl_model_get_input_size (model);
  gsize n = (gsize) 3 * size * size;
  float *input = g_new (float, n);
  SanlResult result;
  GError *error = NULL;
  SanlTensor fine;
  gsize nan_values = 0;

  for (gsize i = 0; i < n; i++)
    input[i] = (float) ((i * 7919) % 1000) / 500.0f - 1.0f;
  input[n / 2 + size / 2] = NAN;

  g_assert_false (sanl_session_run_input (session, input, &result, &error));
  g_assert_error (error, SANL_ERROR, SANL_ERROR_NUMERIC);
  g_assert_nonnull (strstr (error->message, "not finite"));
  g_clear_error (&error);

  fine = sanl_session_get_output (session, SANL_OUTPUT_HEATMAPS_FINE);
  g_assert_nonnull (fine.data);
  for (gsize i = 0; i < (gsize) fine.shape[0] * fine.shape[1] * fine.shape[2];
       i++)
    nan_values += isnan (fine.data[i]);
  g_test_message (
      "%" G_GSIZE_FORMAT " NaN values in the fine heatmaps", nan_values);
  g_assert_cmpuint (nan_values, >, 0);

  input[n / 2 + size / 2] = 0.5f;
  g_assert_true (sanl_session_run_input (session, input, &result, &error));
  g_assert_no_error (error);

  g_free (input);
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
  g_test_add_func ("/session/same-bits-at-any-thread-count",
      test_same_bits_at_any_thread_count);
  g_test_add_func ("/session/parallel-sessions-agree-on-two-threads",
      test_parallel_sessions_agree_on_two_threads);
  g_test_add_func ("/session/no-allocation-per-frame-on-two-threads",
      test_no_allocation_per_frame_on_two_threads);
  g_test_add_func ("/session/attention-none-has-no-category",
      test_attention_none_has_no_category);
  g_test_add_func ("/session/landmarks-stay-inside-region",
      test_landmarks_stay_inside_region);
  g_test_add_func (
      "/session/bad-frames-are-errors", test_bad_frames_are_errors);
  g_test_add_func ("/session/nan-input-is-a-numeric-error",
      test_nan_input_is_a_numeric_error);
  g_test_add_func ("/session/reuse-attention/same-frame-is-identical",
      test_reuse_attention_same_frame_is_identical);
  g_test_add_func ("/session/reuse-attention/keeps-maps-of-first-frame",
      test_reuse_attention_keeps_maps_of_first_frame);
  g_test_add_func ("/session/reuse-attention/skips-generator",
      test_reuse_attention_skips_generator);
  g_test_add_func ("/session/reuse-attention/no-allocation",
      test_reuse_attention_no_allocation);
  return g_test_run ();
}
