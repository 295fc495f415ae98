/* OpenBLAS kernels that match the processor.
 *
 * An OpenBLAS built with DYNAMIC_ARCH picks its kernels once, when it is
 * loaded, from the processor's model number. A processor newer than the
 * library falls through its table: OpenBLAS 0.3.21 (Debian 12) runs its
 * SSE3 "Prescott" kernels on a 2023 Xeon with AVX-512, and the engine's
 * products take three times as long as with its "SkylakeX" ones.
 *
 * The instruction sets the processor and the kernel of the operating
 * system both support say which kernel family fits; when OpenBLAS chose
 * an older family, the engine asks it to choose again, by name, through
 * the same switch OPENBLAS_CORETYPE sets at load. A user who sets
 * OPENBLAS_CORETYPE has chosen: the engine leaves that choice alone. */

#include "sanl-private.h"

#include <cblas.h>

/* A DYNAMIC_ARCH build exports these; another build leaves them NULL. */
extern void gotoblas_dynamic_init (void) __attribute__ ((weak));
extern void gotoblas_dynamic_quit (void) __attribute__ ((weak));

/* x86-64 kernel families of OpenBLAS, by the widest vectors they use. */
typedef enum
{
  FAMILY_SSE = 1, /* Prescott, Core2, Nehalem, Barcelona, ... */
  FAMILY_AVX,     /* Sandybridge, Bulldozer, Piledriver */
  FAMILY_AVX2,    /* Haswell, Zen, Steamroller, Excavator */
  FAMILY_AVX512,  /* SkylakeX, Cooperlake, SapphireRapids */
} Family;

typedef struct
{
  const char *name;
  Family family;
} Core;

/* The names openblas_get_corename gives on x86-64; a name not here is
 * left alone. */
static const Core cores[] = {
  { "prescott", FAMILY_SSE },
  { "core2", FAMILY_SSE },
  { "penryn", FAMILY_SSE },
  { "dunnington", FAMILY_SSE },
  { "nehalem", FAMILY_SSE },
  { "atom", FAMILY_SSE },
  { "nano", FAMILY_SSE },
  { "opteron", FAMILY_SSE },
  { "opteron_sse3", FAMILY_SSE },
  { "barcelona", FAMILY_SSE },
  { "bobcat", FAMILY_SSE },
  { "sandybridge", FAMILY_AVX },
  { "bulldozer", FAMILY_AVX },
  { "piledriver", FAMILY_AVX },
  { "steamroller", FAMILY_AVX2 },
  { "excavator", FAMILY_AVX2 },
  { "haswell", FAMILY_AVX2 },
  { "zen", FAMILY_AVX2 },
  { "skylakex", FAMILY_AVX512 },
  { "cooperlake", FAMILY_AVX512 },
  { "sapphirerapids", FAMILY_AVX512 },
};

/* The kernel each family asks for by name. */
static const char *const family_kernels[] = {
  [FAMILY_SSE] = NULL,
  [FAMILY_AVX] = "Sandybridge",
  [FAMILY_AVX2] = "Haswell",
  [FAMILY_AVX512] = "SkylakeX",
};

/* 0 when the name is not an x86-64 core of OpenBLAS. */
static Family
core_family (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cores); i++)
    if (g_ascii_strcasecmp (name, cores[i].name) == 0)
      return cores[i].family;
  return 0;
}

const char *
sanl_blas_kernel_for (
    const char *current, gboolean avx512, gboolean avx2, gboolean avx)
{
  Family have = core_family (current);
  Family fits = avx512 ? FAMILY_AVX512
                : avx2 ? FAMILY_AVX2
                : avx  ? FAMILY_AVX
                       : FAMILY_SSE;

  if (have == 0 || have >= fits)
    return NULL;
  return family_kernels[fits];
}

/* What this processor and operating system run; libgcc checks that the
 * system saves the wider registers before it reports them. */
static void
processor_features (gboolean *avx512, gboolean *avx2, gboolean *avx)
{
  *avx512 = *avx2 = *avx = FALSE;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  *avx = __builtin_cpu_supports ("avx");
  *avx2 = *avx && __builtin_cpu_supports ("avx2")
          && __builtin_cpu_supports ("fma");
  /* the SkylakeX kernels use the F, BW, DQ and VL subsets */
  *avx512 = *avx2 && __builtin_cpu_supports ("avx512f")
            && __builtin_cpu_supports ("avx512bw")
            && __builtin_cpu_supports ("avx512dq")
            && __builtin_cpu_supports ("avx512vl");
#endif
}

gboolean
sanl_blas_switch_kernel (const char *name)
{
  char *saved;

  if (gotoblas_dynamic_init == NULL || gotoblas_dynamic_quit == NULL)
    return FALSE;
  saved = g_strdup (g_getenv ("OPENBLAS_CORETYPE"));

  /* OpenBLAS reads the name only from its environment variable, and only
   * while it has no kernels; the variable is put back as it was */
  g_setenv ("OPENBLAS_CORETYPE", name, TRUE);
  gotoblas_dynamic_quit ();
  gotoblas_dynamic_init ();
  if (saved)
    g_setenv ("OPENBLAS_CORETYPE", saved, TRUE);
  else
    g_unsetenv ("OPENBLAS_CORETYPE");
  g_free (saved);

  return g_ascii_strcasecmp (openblas_get_corename (), name) == 0;
}

void
sanl_blas_choose_kernels (void)
{
  char *current = g_strdup (openblas_get_corename ());
  gboolean avx512, avx2, avx;
  const char *wanted;

  processor_features (&avx512, &avx2, &avx);
  wanted = sanl_blas_kernel_for (current, avx512, avx2, avx);

  if (wanted == NULL) {
    g_debug ("OpenBLAS kernels: %s", current);
  } else if (g_getenv ("OPENBLAS_CORETYPE") != NULL) {
    /* OpenBLAS read the variable when it loaded, if it was set by then */
    g_debug ("OpenBLAS kernels: %s, left as they are because "
             "OPENBLAS_CORETYPE is set (to \"%s\"); this processor runs %s",
        current, g_getenv ("OPENBLAS_CORETYPE"), wanted);
  } else if (sanl_blas_switch_kernel (wanted)) {
    g_debug (
        "OpenBLAS kernels: %s for this processor, not %s", wanted, current);
  } else {
    g_warning ("OpenBLAS runs its %s kernels on a processor that runs its "
               "%s ones, several times faster, and this build of it cannot "
               "switch; set OPENBLAS_CORETYPE=%s before starting the program",
        current, wanted, wanted);
  }
  g_free (current);
}

void
sanl_blas_match_processor (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    sanl_blas_choose_kernels ();
    g_once_init_leave (&done, 1);
  }
}

const char *
sanl_get_blas_kernels (void)
{
  return openblas_get_corename ();
}
