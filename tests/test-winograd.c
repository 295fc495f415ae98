/* The Winograd F(4x4, 3x3) and F(2x2, 3x3) convolutions against a naive
 * direct loop in double, on maps whose sides are no multiple of the output
 * tile and channel counts that are no multiple of a SIMD width, and
 * through sanl_conv_forward, which must take that path on large enough
 * maps only. */

#include "sanl-private.h"

#include <math.h>

#define SEED 20190709
#define TOLERANCE 1e-5 /* relative to the largest |reference| */

typedef struct
{
  int tile, cin, cout, h, w;
} Shape;

static const Shape shapes[] = {
  { 4, 5, 7, 17, 19 },  /* partial tiles on both axes */
  { 4, 3, 2, 16, 16 },  /* exactly four tiles a side, the smallest map */
  { 4, 17, 9, 20, 18 }, /* one axis whole tiles, the other not */
  { 4, 1, 1, 16, 21 },
  { 2, 5, 7, 9, 11 },   /* partial 2x2 tiles on both axes */
  { 2, 3, 2, 8, 8 },    /* four tiles a side, the smallest map */
  { 2, 17, 9, 14, 14 }, /* a ResNet's stage 3 map at input 224 */
  { 2, 1, 1, 8, 13 },
};

static float *
random_floats (GRand *rand, gsize n)
{
  float *v = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, -1.0, 1.0);
  return v;
}

/* y (cout, h, w) = 3x3 correlation of x (cin, h, w) padded by 1, + bias. */
static void
ref_conv3 (
    const SanlConv *c, const float *x, int h, int w, double *y, gboolean relu)
{
  for (int o = 0; o < c->cout; o++)
    for (int oy = 0; oy < h; oy++)
      for (int ox = 0; ox < w; ox++) {
        double sum = c->bias[o];

        for (int i = 0; i < c->cin; i++)
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
              int iy = oy + ky - 1, ix = ox + kx - 1;

              if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                sum += (double) c->weight[((o * c->cin + i) * 3 + ky) * 3 + kx]
                       * x[((gsize) i * h + iy) * w + ix];
            }
        y[((gsize) o * h + oy) * w + ox] = relu && sum < 0.0 ? 0.0 : sum;
      }
}

/* Fails unless every y[i] is within TOLERANCE * max |ref| of ref[i]. */
static void
assert_close (const float *y, const double *ref, gsize n)
{
  double scale = 0.0, worst = 0.0;

  for (gsize i = 0; i < n; i++)
    scale = MAX (scale, fabs (ref[i]));
  for (gsize i = 0; i < n; i++)
    worst = MAX (worst, fabs (y[i] - ref[i]));
  g_test_message ("max |error| %.3g, max |ref| %.3g", worst, scale);
  g_assert_cmpfloat (worst, <=, TOLERANCE * scale);
}

/* Runs one shape through the chosen entry point, with or without a
 * residual added before the ReLU, and checks it against the direct sum. */
static void
check_shape (
    const Shape *s, gboolean relu, gboolean through_conv, gboolean residual)
{
  GRand *rand = g_rand_new_with_seed (SEED + s->cin * 31 + s->h);
  SanlConv conv = { s->cin, s->cout, 3, 1, 1, NULL, NULL, NULL, 0 };
  GPtrArray *allocations = g_ptr_array_new_with_free_func (g_free);
  gsize ny = (gsize) s->cout * s->h * s->w;
  float *x = random_floats (rand, (gsize) s->cin * s->h * s->w);
  float *y = g_new (float, ny);
  double *ref = g_new (double, ny);
  float *res = residual ? random_floats (rand, ny) : NULL;
  float *work;

  conv.weight = random_floats (rand, (gsize) s->cout * s->cin * 9);
  conv.bias = random_floats (rand, s->cout);
  g_assert_true (sanl_winograd_suits (&conv));
  sanl_winograd_transform_weights (&conv, s->tile, allocations);
  g_assert_cmpint (conv.winograd_tile, ==, s->tile);
  g_assert_true (sanl_winograd_applies (&conv, s->h, s->w));

  work = g_new (float, sanl_conv_workspace (&conv, s->h, s->w));
  if (through_conv)
    sanl_conv_forward_residual (&conv, x, s->h, s->w, y, res, relu, work);
  else
    sanl_winograd_forward (&conv, x, s->h, s->w, y, res, relu, work);
  ref_conv3 (&conv, x, s->h, s->w, ref, relu && !res);
  if (res)
    for (gsize i = 0; i < ny; i++) {
      ref[i] += res[i];
      if (relu)
        ref[i] = MAX (ref[i], 0.0);
    }
  assert_close (y, ref, ny);

  g_free (work);
  g_free (res);
  g_free (ref);
  g_free (y);
  g_free (x);
  g_free (conv.weight);
  g_free (conv.bias);
  g_ptr_array_unref (allocations);
  g_rand_free (rand);
}

static void
test_forward_matches_direct (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_shape (&shapes[i], FALSE, FALSE, FALSE);
}

static void
test_forward_relu_matches_direct (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_shape (&shapes[i], TRUE, FALSE, FALSE);
}

static void
test_conv_forward_takes_winograd (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    check_shape (&shapes[i], TRUE, TRUE, FALSE);
}

/* A residual block's sum and ReLU fused into the output transform; the
 * shapes' ragged edges check that the residual is read only where the
 * output has pixels. */
static void
test_forward_residual_matches_direct (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    check_shape (&shapes[i], TRUE, FALSE, TRUE);
    check_shape (&shapes[i], FALSE, TRUE, TRUE);
  }
}

/* Strided, unpadded and 1x1 layers are not Winograd problems; maps under
 * 16 pixels a side stay off the 4x4 tile and under 8 off the 2x2 one,
 * even with transformed weights. */
static void
test_suits_and_applies (void)
{
  float u = 0.0f;
  SanlConv strided = { 4, 4, 3, 2, 1, NULL, NULL, NULL, 0 };
  SanlConv unpadded = { 4, 4, 3, 1, 0, NULL, NULL, NULL, 0 };
  SanlConv pointwise = { 4, 4, 1, 1, 0, NULL, NULL, NULL, 0 };
  SanlConv ready = { 4, 4, 3, 1, 1, NULL, NULL, &u, 4 };
  SanlConv small = { 4, 4, 3, 1, 1, NULL, NULL, &u, 2 };

  g_assert_false (sanl_winograd_suits (&strided));
  g_assert_false (sanl_winograd_suits (&unpadded));
  g_assert_false (sanl_winograd_suits (&pointwise));
  g_assert_true (sanl_winograd_applies (&ready, 16, 16));
  g_assert_false (sanl_winograd_applies (&ready, 15, 40));
  g_assert_true (sanl_winograd_applies (&small, 8, 8));
  g_assert_true (sanl_winograd_applies (&small, 40, 40));
  g_assert_false (sanl_winograd_applies (&small, 7, 40));
  ready.winograd = NULL;
  g_assert_false (sanl_winograd_applies (&ready, 40, 40));

  /* the tile a model prepares for each side of map */
  g_assert_cmpint (sanl_winograd_tile_for (56), ==, 4);
  g_assert_cmpint (sanl_winograd_tile_for (16), ==, 4);
  g_assert_cmpint (sanl_winograd_tile_for (15), ==, 2);
  g_assert_cmpint (sanl_winograd_tile_for (8), ==, 2);
  g_assert_cmpint (sanl_winograd_tile_for (7), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/winograd/forward-matches-direct", test_forward_matches_direct);
  g_test_add_func ("/winograd/forward-relu-matches-direct",
      test_forward_relu_matches_direct);
  g_test_add_func ("/winograd/conv-forward-takes-winograd",
      test_conv_forward_takes_winograd);
  g_test_add_func ("/winograd/forward-residual-matches-direct",
      test_forward_residual_matches_direct);
  g_test_add_func ("/winograd/suits-and-applies", test_suits_and_applies);
  return g_test_run ();
}
