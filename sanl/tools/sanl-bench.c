/* sanl-bench: per-stage timing of the engine on one model, against the
 * single-precision GEMM peak of this machine measured in the same run.
 *
 *   sanl-bench --model sanl/models/default.safetensors --frames 50 \
 *       --threads 2
 *
 * Under callgrind, skip the peak and count only the frames:
 *
 *   valgrind --tool=callgrind --toggle-collect=sanl_session_run \
 *       sanl-bench --model FILE --frames 3 --skip-peak
 *
 * --model defaults to $SANL_MODEL when that is set and not empty, as in
 * sanl-infer and sanl-eval.
 */

#include "sanl.h"

#include <cblas.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FRAMES 30
#define FRAME_WIDTH 640
#define FRAME_HEIGHT 360
#define PEAK_SIDE 768
#define PEAK_REPEATS 8

/* More engine threads than this is a typo, not a machine. */
#define MAX_THREADS 256

/* Best GFLOP/s of square SGEMMs, the most this machine's BLAS can do. */
static double
gemm_peak (void)
{
  gsize n = PEAK_SIDE;
  float *a = g_new (float, n *n);
  float *b = g_new (float, n *n);
  float *c = g_new0 (float, n *n);
  double best = 0.0;

  for (gsize i = 0; i < n * n; i++) {
    a[i] = (float) (i % 7) * 0.25f;
    b[i] = (float) (i % 5) * 0.5f;
  }
  for (int r = 0; r < PEAK_REPEATS; r++) {
    gint64 start = g_get_monotonic_time ();
    double seconds;

    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n,
        b, n, 0.0f, c, n);
    seconds = (g_get_monotonic_time () - start) / 1e6;
    best = MAX (best, 2.0 * n * n * n / seconds / 1e9);
  }
  g_free (a);
  g_free (b);
  g_free (c);
  return best;
}

/* Peak resident set of this process in MiB, from /proc. */
static double
resident_mib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0.0;
  line = strstr (status, "VmHWM:");
  return line ? g_ascii_strtod (line + 6, NULL) / 1024.0 : 0.0;
}

/* A moving gradient, so no two frames are alike. */
static void
fill_frame (guint8 *rgb, int frame)
{
  for (int y = 0; y < FRAME_HEIGHT; y++)
    for (int x = 0; x < FRAME_WIDTH; x++) {
      guint8 *p = rgb + ((gsize) y * FRAME_WIDTH + x) * 3;

      p[0] = (guint8) (x + frame);
      p[1] = (guint8) (y * 2);
      p[2] = (guint8) ((x ^ y) + frame * 3);
    }
}

static void
add_timings (SanlTimings *sum, const SanlTimings *t)
{
  sum->preprocess += t->preprocess;
  sum->attention_forward += t->attention_forward;
  sum->attention_backward += t->attention_backward;
  sum->backbone += t->backbone;
  sum->sanl += t->sanl;
  sum->pyramid += t->pyramid;
  sum->heads += t->heads;
  sum->decode += t->decode;
  sum->total += t->total;
}

static void
print_report (const SanlModel *model, SanlAttention attention,
    const SanlTimings *sum, int frames, int threads, double peak)
{
  const char *names[]
      = { "preprocess", "attention forward", "attention backward", "backbone",
          "sanl blocks", "pyramid", "heads", "decode" };
  const double values[]
      = { sum->preprocess, sum->attention_forward, sum->attention_backward,
          sum->backbone, sum->sanl, sum->pyramid, sum->heads, sum->decode };
  double total = sum->total / frames;
  double gflops
      = 2.0 * sanl_model_get_macs (model, attention) / 1e9 / (total / 1e3);

  printf ("model %s (%s), input %d, threads %d, frames %d, attention %s\n",
      sanl_model_get_path (model), sanl_model_get_name (model),
      sanl_model_get_input_size (model), threads, frames,
      attention == SANL_ATTENTION_NONE ? "none" : "gradcam");
  printf ("blas kernels %s\n", sanl_get_blas_kernels ());
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    printf ("%-20s %9.2f ms\n", names[i], values[i] / frames);
  printf ("%-20s %9.2f ms\n", "total", total);
  if (peak > 0.0)
    printf ("GFLOP/s %.1f, GEMM peak %.1f GFLOP/s, share %.1f%%\n", gflops,
        peak, 100.0 * gflops / peak);
  else
    printf ("GFLOP/s %.1f, GEMM peak not measured\n", gflops);
  printf ("peak resident memory %.1f MiB\n", resident_mib ());
  printf ("ms/frame %.3f\n", total);
}

/* The first bad option, named with its value on stderr; FALSE then.
 * model_path, when not given, is taken from $SANL_MODEL. */
static gboolean
check_options (int argc, char **argv, char **model_path, int frames,
    int threads, const char *attention_name, SanlAttention *attention)
{
  const char *env = g_getenv ("SANL_MODEL");

  if (!*model_path && env && *env)
    *model_path = g_strdup (env);
  if (argc > 1) {
    g_printerr (
        "sanl-bench: unexpected argument \"%s\" (see --help)\n", argv[1]);
    return FALSE;
  }
  if (*model_path == NULL) {
    g_printerr ("sanl-bench: --model FILE (or $SANL_MODEL) is required\n");
    return FALSE;
  }
  if (frames < 1) {
    g_printerr ("sanl-bench: --frames must be 1 or more, not %d\n", frames);
    return FALSE;
  }
  if (threads < 0 || threads > MAX_THREADS) {
    g_printerr ("sanl-bench: --threads must be from 0 (one per processor) "
                "to %d, not %d\n",
        MAX_THREADS, threads);
    return FALSE;
  }
  if (attention_name == NULL || strcmp (attention_name, "gradcam") == 0)
    *attention = SANL_ATTENTION_GRADCAM;
  else if (strcmp (attention_name, "none") == 0)
    *attention = SANL_ATTENTION_NONE;
  else {
    g_printerr ("sanl-bench: --attention must be gradcam or none, not "
                "\"%s\"\n",
        attention_name);
    return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autofree char *attention_name = NULL;
  int frames = DEFAULT_FRAMES, threads = 1;
  gboolean skip_peak = FALSE;
  GOptionEntry entries[]
      = { { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path,
              "Model file (.safetensors; default: $SANL_MODEL)", "FILE" },
          { "frames", 'n', 0, G_OPTION_ARG_INT, &frames,
              "Frames to time after one warm-up frame", "N" },
          { "threads", 't', 0, G_OPTION_ARG_INT, &threads,
              "Engine threads (0: one per processor)", "T" },
          { "attention", 'a', 0, G_OPTION_ARG_STRING, &attention_name,
              "gradcam (default) or none", "MODE" },
          { "skip-peak", 0, 0, G_OPTION_ARG_NONE, &skip_peak,
              "Do not measure the GEMM peak (faster under valgrind)", NULL },
          { NULL } };
  g_autoptr (GOptionContext) context = NULL;
  GError *error = NULL;
  SanlAttention attention = SANL_ATTENTION_GRADCAM;
  SanlModel *model;
  SanlSession *session;
  SanlTimings sum = { 0 };
  SanlImage image = { SANL_PIXEL_RGB, FRAME_WIDTH, FRAME_HEIGHT, { NULL },
    { FRAME_WIDTH * 3 } };
  g_autofree guint8 *rgb = NULL;
  SanlResult result;
  double peak = 0.0;

  /* messages in the user's language and charset; the report's numbers
   * always with a decimal point, for the scripts that read it */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");

  context = g_option_context_new ("- time the SANL engine stage by stage");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("sanl-bench: %s\n", error->message);
    return 2;
  }
  if (!check_options (
          argc, argv, &model_path, frames, threads, attention_name, &attention))
    return 2;

  sanl_set_threads (threads);
  if (threads == 0)
    threads = openblas_get_num_threads ();
  model = sanl_model_load (model_path, &error);
  if (model == NULL) {
    g_printerr ("sanl-bench: %s\n", error->message);
    return 1;
  }
  session = sanl_session_new (model, &error);
  if (session == NULL) {
    g_printerr ("sanl-bench: %s\n", error->message);
    sanl_model_unref (model);
    return 1;
  }
  sanl_session_set_attention (session, attention);
  /* the peak of OpenBLAS's own threading at the same count; the engine
   * runs OpenBLAS single-threaded on its own workers */
  if (!skip_peak) {
    openblas_set_num_threads (threads);
    peak = gemm_peak ();
    sanl_set_threads (threads);
  }

  /* One warm-up frame, then the timed ones. */
  rgb = g_malloc ((gsize) FRAME_WIDTH * FRAME_HEIGHT * 3);
  image.data[0] = rgb;
  for (int i = 0; i <= frames; i++) {
    fill_frame (rgb, i);
    if (!sanl_session_run (session, &image, NULL, &result, &error)) {
      g_printerr ("sanl-bench: %s\n", error->message);
      return 1;
    }
    if (i > 0)
      add_timings (&sum, sanl_session_get_timings (session));
  }

  print_report (model, attention, &sum, frames, threads, peak);
  sanl_session_free (session);
  sanl_model_unref (model);
  return 0;
}
