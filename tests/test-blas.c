/* OpenBLAS kernels: which family a processor asks for, and that switching
 * a running OpenBLAS to other kernels leaves its products right and the
 * environment as it was. */

#include "sanl-private.h"

#include <cblas.h>
#include <math.h>

/* ---------------------------------------------------------------------- */
/* The choice                                                              */

/* A kernel of an older family than the processor runs: the family that
 * fits, by its widest vectors; names in any case. */
static void
test_kernel_for_older_family (void)
{
  g_assert_cmpstr (
      sanl_blas_kernel_for ("Prescott", TRUE, TRUE, TRUE), ==, "SkylakeX");
  g_assert_cmpstr (
      sanl_blas_kernel_for ("PRESCOTT", TRUE, TRUE, TRUE), ==, "SkylakeX");
  g_assert_cmpstr (
      sanl_blas_kernel_for ("Prescott", FALSE, TRUE, TRUE), ==, "Haswell");
  g_assert_cmpstr (
      sanl_blas_kernel_for ("Nehalem", FALSE, FALSE, TRUE), ==, "Sandybridge");
  g_assert_cmpstr (
      sanl_blas_kernel_for ("Sandybridge", FALSE, TRUE, TRUE), ==, "Haswell");
  g_assert_cmpstr (
      sanl_blas_kernel_for ("Zen", TRUE, TRUE, TRUE), ==, "SkylakeX");
}

/* Kernels of the fitting family, or of a newer one than the processor
 * runs (a user's choice), or names that are not x86-64 kernels: no
 * switch. */
static void
test_kernel_for_fitting_or_unknown (void)
{
  g_assert_null (sanl_blas_kernel_for ("SkylakeX", TRUE, TRUE, TRUE));
  g_assert_null (sanl_blas_kernel_for ("Cooperlake", TRUE, TRUE, TRUE));
  g_assert_null (sanl_blas_kernel_for ("Haswell", FALSE, TRUE, TRUE));
  g_assert_null (sanl_blas_kernel_for ("Zen", FALSE, TRUE, TRUE));
  g_assert_null (sanl_blas_kernel_for ("SkylakeX", FALSE, TRUE, TRUE));
  g_assert_null (sanl_blas_kernel_for ("Prescott", FALSE, FALSE, FALSE));
  g_assert_null (sanl_blas_kernel_for ("armv8", TRUE, TRUE, TRUE));
  g_assert_null (sanl_blas_kernel_for ("", TRUE, TRUE, TRUE));
}

/* ---------------------------------------------------------------------- */
/* Switching a running OpenBLAS                                            */

/* The family this processor fits, worked out apart from sanl-blas.c. */
static const char *
expected_kernel (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
      && __builtin_cpu_supports ("avx512dq")
      && __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx2")
      && __builtin_cpu_supports ("fma"))
    return "SkylakeX";
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    return "Haswell";
  if (__builtin_cpu_supports ("avx"))
    return "Sandybridge";
#endif
  return "Prescott";
}

/* C (29, 41) = A (29, 37) B (37, 41) through cblas against a sum in
 * double, relative error within 1e-5 of each entry's magnitude sum. */
static void
assert_product_right (void)
{
  enum
  {
    M = 29,
    N = 41,
    K = 37
  };
  float a[M * K], b[K * N], c[M * N];

  for (int i = 0; i < M * K; i++)
    a[i] = (float) ((i * 37 % 101) - 50) / 25.0f;
  for (int i = 0; i < K * N; i++)
    b[i] = (float) ((i * 53 % 97) - 48) / 24.0f;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a, K,
      b, N, 0.0f, c, N);

  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double sum = 0.0, size = 0.0;

      for (int k = 0; k < K; k++) {
        sum += (double) a[i * K + k] * b[k * N + j];
        size += fabs ((double) a[i * K + k] * b[k * N + j]);
      }
      g_assert_cmpfloat (fabs (c[i * N + j] - sum), <=, 1e-5 * size);
    }
}

/* Switches OpenBLAS to Prescott's kernels with OPENBLAS_CORETYPE unset,
 * as OpenBLAS 0.3.21 leaves them on processors newer than itself; the
 * kernels before the switch in *original. FALSE, the test skipped, when
 * this OpenBLAS cannot switch. */
static gboolean
start_from_prescott (char **original)
{
  *original = g_strdup (openblas_get_corename ());
  g_unsetenv ("OPENBLAS_CORETYPE");
  if (sanl_blas_switch_kernel ("Prescott"))
    return TRUE;
  g_test_skip ("this OpenBLAS is not built with DYNAMIC_ARCH");
  g_free (*original);
  return FALSE;
}

/* To Prescott's kernels and back: the name reported follows, products
 * stay right, and OPENBLAS_CORETYPE is put back unset or as it was. */
static void
test_switch_keeps_products_and_environment (void)
{
  char *original;

  if (!start_from_prescott (&original))
    return;
  g_assert_cmpstr (openblas_get_corename (), ==, "Prescott");
  g_assert_null (g_getenv ("OPENBLAS_CORETYPE"));
  assert_product_right ();

  g_setenv ("OPENBLAS_CORETYPE", "Nehalem", TRUE);
  g_assert_true (sanl_blas_switch_kernel (original));
  g_assert_cmpstr (openblas_get_corename (), ==, original);
  g_assert_cmpstr (g_getenv ("OPENBLAS_CORETYPE"), ==, "Nehalem");
  assert_product_right ();

  g_unsetenv ("OPENBLAS_CORETYPE");
  g_free (original);
}

/* From Prescott's kernels, as OpenBLAS 0.3.21 picks them on processors
 * newer than itself, to the family this processor fits. */
static void
test_choose_leaves_generic_kernels (void)
{
  char *original;

  if (!start_from_prescott (&original))
    return;
  sanl_blas_choose_kernels ();
  g_assert_cmpstr (openblas_get_corename (), ==, expected_kernel ());
  g_assert_cmpstr (sanl_get_blas_kernels (), ==, expected_kernel ());
  assert_product_right ();

  g_assert_true (sanl_blas_switch_kernel (original));
  g_free (original);
}

/* OPENBLAS_CORETYPE set: the kernels stay as OpenBLAS has them. */
static void
test_choose_respects_user_choice (void)
{
  char *original;

  if (!start_from_prescott (&original))
    return;
  g_setenv ("OPENBLAS_CORETYPE", "Prescott", TRUE);
  sanl_blas_choose_kernels ();
  g_assert_cmpstr (openblas_get_corename (), ==, "Prescott");

  g_unsetenv ("OPENBLAS_CORETYPE");
  g_assert_true (sanl_blas_switch_kernel (original));
  g_free (original);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/blas/kernel-for-older-family", test_kernel_for_older_family);
  g_test_add_func ("/blas/kernel-for-fitting-or-unknown",
      test_kernel_for_fitting_or_unknown);
  g_test_add_func ("/blas/switch-keeps-products-and-environment",
      test_switch_keeps_products_and_environment);
  g_test_add_func ("/blas/choose-leaves-generic-kernels",
      test_choose_leaves_generic_kernels);
  g_test_add_func (
      "/blas/choose-respects-user-choice", test_choose_respects_user_choice);
  return g_test_run ();
}
