/* libFuzzer target: sanl_model_load on arbitrary bytes must fail with a
 * GError or succeed, never crash, read out of bounds or leak.
 *
 * The loader reads files, so each input goes to one scratch file first.
 * Build and run with tests/fuzz/build.sh, or with meson under clang. */

#include "sanl.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <glib/gstdio.h>

static char *scratch;

static void
remove_scratch (void)
{
  g_unlink (scratch);
  g_free (scratch);
}

static void
ignore_log (const char *domain, GLogLevelFlags level, const char *message,
    gpointer data)
{
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GError *error = NULL;
  SanlModel *model;
  FILE *f;

  if (scratch == NULL) {
    int fd = g_file_open_tmp ("fuzz-model-XXXXXX.safetensors", &scratch, NULL);

    if (fd < 0)
      abort ();
    close (fd);
    atexit (remove_scratch);
    g_log_set_handler ("sanl", G_LOG_LEVEL_DEBUG, ignore_log, NULL);
  }

  f = fopen (scratch, "wb");
  if (f == NULL || fwrite (data, 1, size, f) != size || fclose (f) != 0)
    abort ();

  model = sanl_model_load (scratch, &error);

  /* Exactly one of a model and an error, and the error is ours. */
  if ((model == NULL) == (error == NULL))
    abort ();
  if (error != NULL && error->domain != SANL_ERROR)
    abort ();

  /* A model that loads answers its accessors. */
  if (model != NULL) {
    for (int k = 0; k < sanl_model_get_n_landmarks (model); k++)
      if (sanl_model_get_landmark_name (model, k) == NULL)
        abort ();
    if (sanl_model_get_macs (model, SANL_ATTENTION_GRADCAM) <= 0.0)
      abort ();
  }

  g_clear_error (&error);
  sanl_model_unref (model);
  return 0;
}
