/* sanl-synth: renders garments with exact landmarks, in the FLD layout.
 *
 *   sanl-synth --out DIR --count 1000 --seed 1
 *
 * writes DIR/img/NNNNNN_<garment>.png, DIR/list_landmarks.txt,
 * DIR/list_bbox.txt and DIR/list_eval_partition.txt (every fifth image is
 * val). Each garment (tee, long sleeve, jacket, dress, skirt, trousers) is
 * a polygon built from random shape parameters whose landmarks are vertices
 * or midpoints of the outline, so the labels are exact under the affine map
 * that places it. Garments are worn by a drawn person (a top and a bottom
 * per person, each labelled under its own image name; forearms crossing in
 * front of the body occlude what they cover) or laid flat. The same seed
 * gives the same images.
 *
 *   sanl-synth --out DIR --count 2400 --seed 11 --textures PHOTOS
 *
 * also fills about half the garments, and some walls, with patches of the
 * JPEG and PNG pictures under PHOTOS (for example a folder-per-class
 * clothing set), so that cloth looks photographic. Textures change the
 * pixels only: the same seed gives the same landmarks with or without.
 *
 *   sanl-synth --video --out DIR --frames 65 --size 480x640 --seed 1
 *
 * renders a clip of a figure in a tee and a skirt squatting and swaying:
 * DIR/frame_NNNN.png, and the lists (split "test") naming hard links
 * DIR/img/frame_NNNN_top.png and DIR/img/frame_NNNN_skirt.png; with
 * --dress the figure wears one dress (DIR/img/frame_NNNN_dress.png).
 *
 * Coordinates follow FLD: pixel centres at integers, so a Cairo point
 * (X, Y) is written as (X - 0.5, Y - 0.5).
 */

#include <cairo.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sanl-image.h"

/* ------------------------------------------------------------------------ */
/* Random numbers: splitmix64, so a seed means the same thing everywhere */

typedef struct
{
  guint64 s;
} Rng;

static guint64
rng_next (Rng *r)
{
  guint64 z = (r->s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double
uni (Rng *r, double lo, double hi)
{
  return lo + (hi - lo) * ((rng_next (r) >> 11) * (1.0 / 9007199254740992.0));
}

static int
pick (Rng *r, int n)
{
  return (int) (rng_next (r) % (guint64) n);
}

/* ------------------------------------------------------------------------ */
/* Geometry */

typedef struct
{
  double x, y;
} Pt;

/* Garment space to image: p' = A p + t. */
typedef struct
{
  double a, b, c, d, tx, ty;
} Affine;

static Pt
apply (const Affine *m, Pt p)
{
  Pt q = { m->a * p.x + m->b * p.y + m->tx, m->c * p.x + m->d * p.y + m->ty };
  return q;
}

static Affine
affine_make (double scale, double angle, double tx, double ty, gboolean flip)
{
  double c = cos (angle) * scale, s = sin (angle) * scale;
  double f = flip ? -1.0 : 1.0;
  Affine m = { c * f, -s, s * f, c, tx, ty };
  return m;
}

static Pt
pt (double x, double y)
{
  Pt p = { x, y };
  return p;
}

static Pt
lerp (Pt a, Pt b, double t)
{
  return pt (a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t);
}

/* Direction at angle t from straight down, turning outwards to side s
 * (s = -1 towards the image's left). */
static Pt
limb_dir (double t, double s)
{
  return pt (s * sin (t), cos (t));
}

/* ------------------------------------------------------------------------ */
/* Garments: an outline and up to 8 landmarks in FLD slot order */

#define MAX_OUTLINE 64
#define K 8

typedef enum
{
  G_TEE,
  G_LONGSLEEVE,
  G_JACKET,
  G_DRESS,
  G_SKIRT,
  G_TROUSERS,
  G_N
} GarmentKind;

static const char *kind_names[G_N]
    = { "tee", "longsleeve", "jacket", "dress", "skirt", "trousers" };

/* FLD clothes type and the slots it fills. */
static const int kind_type[G_N] = { 1, 1, 1, 3, 2, 2 };

typedef struct
{
  GarmentKind kind;
  int n;
  Pt outline[MAX_OUTLINE]; /* closed polygon, garment units */
  gboolean has[K];
  Pt mark[K];        /* landmarks, garment units */
  Pt centre_line[2]; /* jacket opening, drawn as a seam */
} Garment;

static void
add (Garment *g, Pt p)
{
  if (g->n < MAX_OUTLINE)
    g->outline[g->n++] = p;
}

static void
set_mark (Garment *g, int k, Pt p)
{
  g->has[k] = TRUE;
  g->mark[k] = p;
}

/* Shape of a top: units are the shoulder half-width = 1; y grows down from
 * the shoulder line. arm_l, arm_r: sleeve angles from straight down. */
typedef struct
{
  double neck, neck_depth, length, hem, armpit, waist, waist_y;
  double sleeve_len, sleeve_w, arm_l, arm_r;
  gboolean sleeveless;
} TopShape;

/* One sleeve of a top, outer corner first. Returns the landmark. */
static Pt
add_sleeve (Garment *g, const TopShape *s, double side, gboolean going_out)
{
  double arm = side < 0 ? s->arm_l : s->arm_r;
  Pt shoulder = pt (side * 1.0, 0.06);
  Pt armpit = pt (side * s->armpit, MIN (0.06 + s->sleeve_w * 1.1, 0.6));
  Pt dir = limb_dir (arm, side);
  Pt normal = pt (-dir.y * side, dir.x * side); /* towards the body */
  Pt outer, inner;

  if (s->sleeveless) {
    /* narrow shoulder strap; the landmark is the armhole's lowest outer
     * point */
    Pt strap = pt (side * (s->neck + 0.25), 0.03);
    Pt low = pt (side * s->armpit, 0.45);
    if (going_out) {
      add (g, strap);
      add (g, low);
    } else {
      add (g, low);
      add (g, strap);
    }
    return low;
  }
  outer = pt (
      shoulder.x + dir.x * s->sleeve_len, shoulder.y + dir.y * s->sleeve_len);
  inner
      = pt (outer.x + normal.x * s->sleeve_w, outer.y + normal.y * s->sleeve_w);
  if (going_out) {
    add (g, shoulder);
    add (g, outer);
    add (g, inner);
    add (g, armpit);
  } else {
    add (g, armpit);
    add (g, inner);
    add (g, outer);
    add (g, shoulder);
  }
  return outer;
}

static void
build_top (Garment *g, const TopShape *s, gboolean full_body)
{
  Pt cl = pt (-s->neck, 0.0), cr = pt (s->neck, 0.0);
  Pt wl = pt (-s->waist, s->waist_y), wr = pt (s->waist, s->waist_y);
  Pt hl = pt (-s->hem, s->length), hr = pt (s->hem, s->length);
  Pt sl, sr;
  int i;

  /* neckline from the left collar point down and up to the right one */
  add (g, cl);
  for (i = 1; i < 6; i++) {
    double t = i / 6.0;
    add (g, pt (-s->neck + 2 * s->neck * t, s->neck_depth * sin (G_PI * t)));
  }
  add (g, cr);
  sr = add_sleeve (g, s, 1.0, TRUE);
  add (g, wr);
  add (g, hr);
  /* hem slightly curved */
  for (i = 1; i < 4; i++)
    add (g, pt (s->hem - 2 * s->hem * i / 4.0,
                s->length + 0.03 * sin (G_PI * i / 4.0)));
  add (g, hl);
  add (g, wl);
  sl = add_sleeve (g, s, -1.0, FALSE);

  set_mark (g, 0, cl);
  set_mark (g, 1, cr);
  set_mark (g, 2, sl);
  set_mark (g, 3, sr);
  if (full_body) {
    set_mark (g, 4, wl);
    set_mark (g, 5, wr);
  }
  set_mark (g, 6, hl);
  set_mark (g, 7, hr);
  g->centre_line[0] = pt (0, s->neck_depth);
  g->centre_line[1] = pt (0, s->length);
}

static void
random_top (Rng *r, TopShape *s, GarmentKind kind, gboolean worn)
{
  gboolean longs = kind == G_LONGSLEEVE || kind == G_JACKET;
  double spread = worn ? uni (r, 0.05, 0.6) : uni (r, 0.3, 1.2);

  s->neck = uni (r, 0.28, 0.42);
  s->neck_depth = uni (r, 0.08, 0.35);
  s->armpit = uni (r, 0.82, 0.95);
  s->waist_y = uni (r, 1.0, 1.35);
  s->waist = s->armpit * uni (r, 0.78, 0.98);
  s->length = kind == G_DRESS ? uni (r, 2.6, 4.0) : uni (r, 1.9, 2.6);
  s->hem = kind == G_DRESS ? uni (r, 0.9, 1.6) : s->armpit * uni (r, 0.9, 1.1);
  s->sleeve_len = longs ? uni (r, 1.9, 2.4) : uni (r, 0.45, 0.8);
  s->sleeve_w = longs ? uni (r, 0.32, 0.42) : uni (r, 0.4, 0.55);
  s->arm_l = spread + uni (r, -0.1, 0.1);
  s->arm_r = spread + uni (r, -0.1, 0.1);
  s->sleeveless = kind == G_DRESS && uni (r, 0, 1) < 0.35;
  if (kind == G_DRESS && !s->sleeveless)
    s->sleeve_len = uni (r, 0.3, 0.6);
}

static void
build_skirt (Garment *g, double waist, double hem, double length)
{
  Pt wl = pt (-waist, 0), wr = pt (waist, 0);
  Pt hl = pt (-hem, length), hr = pt (hem, length);
  int i;

  add (g, wl);
  add (g, wr);
  add (g, hr);
  for (i = 1; i < 6; i++)
    add (g, pt (hem - 2 * hem * i / 6.0, length + 0.06 * sin (G_PI * i / 6.0)));
  add (g, hl);
  set_mark (g, 4, wl);
  set_mark (g, 5, wr);
  set_mark (g, 6, hl);
  set_mark (g, 7, hr);
}

/* Trousers: legs at angles leg_l, leg_r from straight down; the hem
 * landmark is the middle of each leg's opening. */
static void
build_trousers (Garment *g, double waist, double length, double crotch,
    double leg_w, double leg_l, double leg_r)
{
  Pt wl = pt (-waist, 0), wr = pt (waist, 0);
  Pt dl = limb_dir (leg_l, -1.0), dr = limb_dir (leg_r, 1.0);
  Pt hip_l = pt (-waist * 0.5, 0.25), hip_r = pt (waist * 0.5, 0.25);
  Pt lo = pt (hip_l.x + dl.x * length - leg_w * 0.5, hip_l.y + dl.y * length);
  Pt li = pt (lo.x + leg_w, lo.y);
  Pt ro = pt (hip_r.x + dr.x * length + leg_w * 0.5, hip_r.y + dr.y * length);
  Pt ri = pt (ro.x - leg_w, ro.y);

  add (g, wl);
  add (g, wr);
  add (g, ro);
  add (g, ri);
  add (g, pt (0, crotch));
  add (g, li);
  add (g, lo);
  set_mark (g, 4, wl);
  set_mark (g, 5, wr);
  set_mark (g, 6, lerp (lo, li, 0.5));
  set_mark (g, 7, lerp (ro, ri, 0.5));
}

/* ------------------------------------------------------------------------ */
/* Photo textures: patches of real pictures fill garments and backgrounds,
 * so the network meets photographic cloth and clutter, not only flat
 * colour. */

/* Mixed into a picture's seed to start its texture generator. */
#define TEXTURE_STREAM 0x7e47a5e5c0ffee11ULL

typedef struct
{
  GPtrArray *paths; /* sorted, so a seed picks the same pictures */
  Rng rng;          /* every choice about textures, apart from the scene's own
                     * generator, so that textures change no landmark */
  const char *dir;
  gboolean failed; /* not one of its pictures could be read */
} Textures;

static gboolean
is_picture (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  return g_str_has_suffix (lower, ".jpg") || g_str_has_suffix (lower, ".jpeg")
         || g_str_has_suffix (lower, ".png");
}

/* JPEG and PNG files in dir and in its sub-folders, depth levels deep. */
static void
collect_pictures (GPtrArray *paths, const char *dir, int depth)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (!d)
    return;
  while ((name = g_dir_read_name (d))) {
    char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
      if (depth > 0)
        collect_pictures (paths, path, depth - 1);
      g_free (path);
    } else if (is_picture (name)) {
      g_ptr_array_add (paths, path);
    } else {
      g_free (path);
    }
  }
  g_dir_close (d);
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* FALSE, with a message, when dir holds no picture. */
static gboolean
textures_open (Textures *t, const char *dir)
{
  t->dir = dir;
  t->paths = g_ptr_array_new_with_free_func (g_free);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_printerr ("sanl-synth: --textures \"%s\" is not a folder\n", dir);
    return FALSE;
  }
  collect_pictures (t->paths, dir, 2);
  g_ptr_array_sort (t->paths, compare_paths);
  if (t->paths->len == 0) {
    g_printerr ("sanl-synth: no JPEG or PNG pictures in %s\n", dir);
    return FALSE;
  }
  return TRUE;
}

/* Byte offsets of red, green and blue in one pixel of a loaded picture. */
static int
channel_offsets (SanlPixelFormat format, int *bpp, int *ro, int *go, int *bo)
{
  switch (format) {
    case SANL_PIXEL_RGB:
      *bpp = 3, *ro = 0, *go = 1, *bo = 2;
      return TRUE;
    case SANL_PIXEL_RGBX:
      *bpp = 4, *ro = 0, *go = 1, *bo = 2;
      return TRUE;
    case SANL_PIXEL_BGRX:
      *bpp = 4, *ro = 2, *go = 1, *bo = 0;
      return TRUE;
    default:
      return FALSE;
  }
}

/* Whether one of t's pictures can be read: a folder of none fails before
 * anything is rendered, not after pictures drawn without textures. Those
 * that cannot be read are skipped, and said so, when picked. */
static gboolean
textures_readable (const Textures *t)
{
  for (guint i = 0; i < t->paths->len; i++) {
    SanlImage image;
    guint8 *pixels
        = sanl_image_load (g_ptr_array_index (t->paths, i), &image, NULL);
    int bpp, ro, go, bo;
    gboolean ok = pixels && channel_offsets (image.format, &bpp, &ro, &go, &bo);

    g_free (pixels);
    if (ok)
      return TRUE;
  }
  return FALSE;
}

/* A square patch from the middle of a random picture (where a clothing
 * photo shows cloth), as a Cairo surface; NULL, with a message on
 * stderr, when the picture cannot be read (the garment is drawn without). */
static cairo_surface_t *
texture_patch (Textures *t, double middle)
{
  Rng *r = &t->rng;
  const char *path;
  SanlImage image;
  GError *error = NULL;
  guint8 *pixels;
  cairo_surface_t *surface;
  unsigned char *dst;
  int bpp, ro, go, bo, side, x0, y0, x, y, stride, index;

  if (!t->paths || t->paths->len == 0)
    return NULL;
  index = pick (r, (int) t->paths->len);
  path = g_ptr_array_index (t->paths, index);
  pixels = sanl_image_load (path, &image, &error);
  if (pixels && !channel_offsets (image.format, &bpp, &ro, &go, &bo)) {
    g_set_error (&error, SANL_ERROR, SANL_ERROR_ARGUMENT,
        "%s: unexpected pixel format", path);
    g_clear_pointer (&pixels, g_free);
  }
  if (!pixels) {
    /* said once: the picture is not picked again */
    g_printerr ("sanl-synth: skipping texture: %s\n", error->message);
    g_error_free (error);
    g_ptr_array_remove_index (t->paths, index);
    if (t->paths->len == 0) {
      g_printerr ("sanl-synth: not one picture in %s could be read\n", t->dir);
      t->failed = TRUE;
    }
    return NULL;
  }
  side = MAX (8, (int) (MIN (image.width, image.height) * uni (r, 0.15, 0.4)));
  side = MIN (side, MIN (image.width, image.height));
  x0 = (int) ((image.width - side) * uni (r, 0.5 - middle, 0.5 + middle));
  y0 = (int) ((image.height - side) * uni (r, 0.5 - middle, 0.5 + middle));
  surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, side, side);
  dst = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (y = 0; y < side; y++)
    for (x = 0; x < side; x++) {
      const guint8 *s
          = image.data[0] + (gsize) (y0 + y) * image.stride[0] + (x0 + x) * bpp;
      guint32 *d = (guint32 *) (dst + (gsize) y * stride) + x;
      *d = ((guint32) s[ro] << 16) | ((guint32) s[go] << 8) | s[bo];
    }
  cairo_surface_mark_dirty (surface);
  g_free (pixels);
  return surface;
}

/* Sets the patch as cr's source, repeated by reflection, rotated, one patch
 * spanning span pixels; FALSE when there is no patch. */
static gboolean
set_texture_source (
    cairo_t *cr, Textures *t, double cx, double cy, double span, double middle)
{
  Rng *r = &t->rng;
  cairo_surface_t *patch = texture_patch (t, middle);
  cairo_pattern_t *pattern;
  cairo_matrix_t m;
  double side;

  if (!patch)
    return FALSE;
  side = cairo_image_surface_get_width (patch);
  pattern = cairo_pattern_create_for_surface (patch);
  cairo_pattern_set_extend (pattern, CAIRO_EXTEND_REFLECT);
  cairo_pattern_set_filter (pattern, CAIRO_FILTER_BILINEAR);
  /* pattern space = user space through m: patch pixels per user pixel */
  cairo_matrix_init_translate (&m, side / 2, side / 2);
  cairo_matrix_scale (&m, side / MAX (span, 1.0), side / MAX (span, 1.0));
  cairo_matrix_rotate (&m, uni (r, -G_PI, G_PI));
  cairo_matrix_translate (&m, -cx, -cy);
  cairo_pattern_set_matrix (pattern, &m);
  cairo_set_source (cr, pattern);
  cairo_pattern_destroy (pattern);
  cairo_surface_destroy (patch);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Drawing */

typedef struct
{
  double r, g, b;
} Rgb;

static Rgb
random_colour (Rng *r)
{
  Rgb c = { uni (r, 0, 1), uni (r, 0, 1), uni (r, 0, 1) };
  double dark = uni (r, 0, 1);
  if (dark < 0.2) {
    c.r *= 0.25;
    c.g *= 0.25;
    c.b *= 0.25;
  }
  return c;
}

static void
path_outline (cairo_t *cr, const Garment *g, const Affine *m)
{
  int i;
  for (i = 0; i < g->n; i++) {
    Pt p = apply (m, g->outline[i]);
    if (i == 0)
      cairo_move_to (cr, p.x, p.y);
    else
      cairo_line_to (cr, p.x, p.y);
  }
  cairo_close_path (cr);
}

/* Pattern over the clipped garment: plain, stripes, checks or dots. */
static void
draw_pattern (cairo_t *cr, Rng *r, double x0, double y0, double x1, double y1,
    double unit)
{
  int kind = pick (r, 5);
  Rgb c = random_colour (r);
  double step = unit * uni (r, 0.15, 0.5);
  double x, y;

  cairo_set_source_rgba (cr, c.r, c.g, c.b, uni (r, 0.5, 1.0));
  if (kind == 1 || kind == 2) {
    for (y = y0; y < y1; y += step)
      cairo_rectangle (cr, x0, y, x1 - x0, step * 0.45);
    cairo_fill (cr);
  }
  if (kind == 2) {
    for (x = x0; x < x1; x += step)
      cairo_rectangle (cr, x, y0, step * 0.45, y1 - y0);
    cairo_fill (cr);
  }
  if (kind == 3) {
    for (y = y0; y < y1; y += step)
      for (x = x0; x < x1; x += step) {
        cairo_new_sub_path (cr);
        cairo_arc (cr, x, y, step * 0.18, 0, 2 * G_PI);
      }
    cairo_fill (cr);
  }
}

static void
bounds (const Garment *g, const Affine *m, double *x0, double *y0, double *x1,
    double *y1)
{
  int i;
  *x0 = *y0 = 1e9;
  *x1 = *y1 = -1e9;
  for (i = 0; i < g->n; i++) {
    Pt p = apply (m, g->outline[i]);
    *x0 = MIN (*x0, p.x);
    *y0 = MIN (*y0, p.y);
    *x1 = MAX (*x1, p.x);
    *y1 = MAX (*y1, p.y);
  }
}

static void
draw_garment (
    cairo_t *cr, Rng *r, Textures *t, const Garment *g, const Affine *m)
{
  Rgb base = random_colour (r);
  double x0, y0, x1, y1, unit = hypot (m->a, m->c);
  cairo_pattern_t *light;
  int i, folds;

  bounds (g, m, &x0, &y0, &x1, &y1);
  cairo_save (cr);
  path_outline (cr, g, m);
  cairo_clip_preserve (cr);
  cairo_set_source_rgb (cr, base.r, base.g, base.b);
  cairo_fill (cr);
  draw_pattern (cr, r, x0, y0, x1, y1, unit);
  if (t->paths && uni (&t->rng, 0, 1) < 0.5
      && set_texture_source (cr, t, (x0 + x1) / 2, (y0 + y1) / 2,
          unit * uni (&t->rng, 0.6, 3.0), 0.12)) {
    /* photographic cloth over the pattern, sometimes tinted */
    cairo_paint (cr);
    cairo_set_source_rgba (cr, base.r, base.g, base.b, uni (&t->rng, 0, 0.5));
    cairo_paint (cr);
  }

  /* folds: a few soft darker curves */
  folds = pick (r, 5);
  for (i = 0; i < folds; i++) {
    cairo_move_to (cr, uni (r, x0, x1), uni (r, y0, y1));
    cairo_curve_to (cr, uni (r, x0, x1), uni (r, y0, y1), uni (r, x0, x1),
        uni (r, y0, y1), uni (r, x0, x1), uni (r, y0, y1));
    cairo_set_source_rgba (cr, 0, 0, 0, uni (r, 0.05, 0.2));
    cairo_set_line_width (cr, unit * uni (r, 0.03, 0.12));
    cairo_stroke (cr);
  }

  /* the jacket's opening and a dress's waist seam */
  if (g->kind == G_JACKET) {
    Pt a = apply (m, g->centre_line[0]), b = apply (m, g->centre_line[1]);
    cairo_move_to (cr, a.x, a.y);
    cairo_line_to (cr, b.x, b.y);
    cairo_set_source_rgba (cr, 0.1, 0.1, 0.1, 0.8);
    cairo_set_line_width (cr, unit * uni (r, 0.03, 0.1));
    cairo_stroke (cr);
  }

  /* lighting: a gradient of light to shadow across the garment */
  light
      = cairo_pattern_create_linear (uni (r, x0, x1), y0, uni (r, x0, x1), y1);
  cairo_pattern_add_color_stop_rgba (light, 0, 1, 1, 1, uni (r, 0, 0.25));
  cairo_pattern_add_color_stop_rgba (light, 1, 0, 0, 0, uni (r, 0, 0.35));
  cairo_set_source (cr, light);
  cairo_paint (cr);
  cairo_pattern_destroy (light);
  cairo_restore (cr);

  path_outline (cr, g, m);
  cairo_set_source_rgba (cr, base.r * 0.5, base.g * 0.5, base.b * 0.5, 0.8);
  cairo_set_line_width (cr, MAX (1.0, unit * 0.02));
  cairo_stroke (cr);
}

static void
draw_background (cairo_t *cr, Rng *r, Textures *t, int w, int h)
{
  Rgb a = random_colour (r), b = random_colour (r);
  cairo_pattern_t *grad = cairo_pattern_create_linear (0, 0, uni (r, 0, w), h);
  int i, n = pick (r, 8);

  cairo_pattern_add_color_stop_rgb (grad, 0, a.r, a.g, a.b);
  cairo_pattern_add_color_stop_rgb (grad, 1, b.r, b.g, b.b);
  cairo_set_source (cr, grad);
  cairo_paint (cr);
  cairo_pattern_destroy (grad);

  /* a photographic wall, blurred by its magnification */
  if (t->paths && uni (&t->rng, 0, 1) < 0.3
      && set_texture_source (
          cr, t, w / 2.0, h / 2.0, MAX (w, h) * uni (&t->rng, 0.5, 2.0), 0.3)) {
    cairo_paint_with_alpha (cr, uni (&t->rng, 0.5, 1.0));
  }

  /* clutter: furniture-like blocks and a floor line */
  for (i = 0; i < n; i++) {
    Rgb c = random_colour (r);
    cairo_set_source_rgba (cr, c.r, c.g, c.b, uni (r, 0.3, 1.0));
    cairo_rectangle (cr, uni (r, -0.2, 1) * w, uni (r, -0.2, 1) * h,
        uni (r, 0.05, 0.5) * w, uni (r, 0.05, 0.5) * h);
    cairo_fill (cr);
  }
  if (uni (r, 0, 1) < 0.5) {
    Rgb c = random_colour (r);
    double y = h * uni (r, 0.6, 0.95);
    cairo_pattern_t *floor = cairo_pattern_create_linear (0, y, 0, h);
    cairo_pattern_add_color_stop_rgb (floor, 0, c.r, c.g, c.b);
    cairo_pattern_add_color_stop_rgb (
        floor, 1, c.r * 0.7, c.g * 0.7, c.b * 0.7);
    cairo_set_source (cr, floor);
    cairo_rectangle (cr, 0, y, w, h);
    cairo_fill (cr);
    cairo_pattern_destroy (floor);
  }

  /* scaffolding, shelves, door and window frames: thin dark bars */
  if (uni (r, 0, 1) < 0.4) {
    int bars = 2 + pick (r, 8);
    double width = MIN (w, h) * uni (r, 0.005, 0.025);
    Rgb c = random_colour (r);
    cairo_set_source_rgba (
        cr, c.r * 0.4, c.g * 0.4, c.b * 0.4, uni (r, 0.6, 1.0));
    cairo_set_line_width (cr, width);
    for (i = 0; i < bars; i++) {
      if (uni (r, 0, 1) < 0.6) {
        double x = uni (r, 0, w);
        cairo_move_to (cr, x, uni (r, 0, 0.3) * h);
        cairo_line_to (cr, x + uni (r, -0.03, 0.03) * w, uni (r, 0.6, 1) * h);
      } else {
        double y = uni (r, 0, h), x = uni (r, -0.2, 0.7) * w;
        cairo_move_to (cr, x, y);
        cairo_line_to (cr, x + uni (r, 0.1, 0.6) * w, y);
      }
    }
    cairo_stroke (cr);
  }
}

static void
limb (cairo_t *cr, Pt a, Pt b, double width)
{
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_width (cr, width);
  cairo_move_to (cr, a.x, a.y);
  cairo_line_to (cr, b.x, b.y);
  cairo_stroke (cr);
}

/* A limb in colour c with a soft highlight along it, so it reads as round. */
static void
shaded_limb (cairo_t *cr, Rgb c, Pt a, Pt b, double width)
{
  cairo_set_source_rgb (cr, c.r, c.g, c.b);
  limb (cr, a, b, width);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.12);
  limb (cr, pt (a.x - width * 0.12, a.y), pt (b.x - width * 0.12, b.y),
      width * 0.4);
}

/* ------------------------------------------------------------------------ */
/* Scenes: a figure wearing a top and a bottom, or one garment laid flat */

typedef struct
{
  Garment g;
  Affine m;
} Placed;

/* A round-capped segment drawn over the garments (a forearm in front of
 * the body): landmarks under it are occluded. */
typedef struct
{
  Pt a, b;
  double width;
} Segment;

/* A standing figure: top of the head at y0, height hgt, centre cx. squat
 * (0..1) bends the knees and lowers the body; bend_l, bend_r turn the
 * forearms in and up, in front of the body past about 1.2 radians. */
typedef struct
{
  double cx, y0, hgt, arm_l, arm_r, bend_l, bend_r, leg_l, leg_r, squat, lean;
  double hair_len;  /* below 0.3 short, else down towards the shoulders */
  gboolean legwear; /* leggings or tights over the legs */
  Rgb skin, hair, legs, shoes;
} Figure;

typedef struct
{
  Pt shoulder[2], elbow[2], hand[2], hip[2], knee[2], foot[2];
} Joints;

static double
figure_unit (const Figure *f)
{
  return f->hgt * 0.12; /* shoulder half-width in pixels */
}

/* Joint positions; index 0 is the image's left. */
static Joints
figure_joints (const Figure *f)
{
  double u = figure_unit (f), drop = f->squat * f->hgt * 0.18;
  double upper = f->hgt * 0.19, fore = f->hgt * 0.17, thigh = f->hgt * 0.25;
  double knee_out = f->squat * thigh * 0.6;
  double arm[2] = { f->arm_l, f->arm_r }, bend[2] = { f->bend_l, f->bend_r };
  double leg[2] = { f->leg_l, f->leg_r };
  Joints j;
  int i;

  for (i = 0; i < 2; i++) {
    double side = i == 0 ? -1.0 : 1.0;
    Pt up = limb_dir (arm[i], side), down = limb_dir (arm[i] - bend[i], side);
    j.shoulder[i] = pt (f->cx + side * u, f->y0 + f->hgt * 0.18 + drop);
    j.elbow[i]
        = pt (j.shoulder[i].x + up.x * upper, j.shoulder[i].y + up.y * upper);
    j.hand[i] = pt (j.elbow[i].x + down.x * fore, j.elbow[i].y + down.y * fore);
    j.hip[i] = pt (f->cx + side * u * 0.5, f->y0 + f->hgt * 0.52 + drop);
    j.knee[i] = pt (j.hip[i].x + side * (knee_out + thigh * sin (leg[i])),
        j.hip[i].y + thigh * sqrt (1 - f->squat * 0.5));
    j.foot[i]
        = pt (j.hip[i].x + side * thigh * sin (leg[i]) * 1.5, f->y0 + f->hgt);
  }
  return j;
}

/* Forearms that cross in front of the body, drawn again over the garments;
 * returns how many (0..2) went to front. */
static int
front_forearms (const Figure *f, Segment *front)
{
  Joints j = figure_joints (f);
  double bend[2] = { f->bend_l, f->bend_r };
  int i, n = 0;

  for (i = 0; i < 2; i++)
    if (bend[i] > 1.2)
      front[n++] = (Segment){ j.elbow[i], j.hand[i], figure_unit (f) * 0.3 };
  return n;
}

static void
draw_forearms (cairo_t *cr, const Figure *f, const Segment *front, int n)
{
  int i;
  for (i = 0; i < n; i++) {
    shaded_limb (cr, f->skin, front[i].a, front[i].b, front[i].width);
    cairo_new_sub_path (cr);
    cairo_arc (
        cr, front[i].b.x, front[i].b.y, front[i].width * 0.75, 0, 2 * G_PI);
    cairo_fill (cr);
  }
}

static void
draw_figure (cairo_t *cr, const Figure *f)
{
  double u = figure_unit (f), drop = f->squat * f->hgt * 0.18;
  double head_r = f->hgt * 0.065, head_y = f->y0 + head_r + drop;
  Joints j = figure_joints (f);
  Rgb legs = f->legwear ? f->legs : f->skin;
  int i;

  /* hair that falls behind the neck and shoulders */
  if (f->hair_len > 0.3) {
    cairo_set_source_rgb (cr, f->hair.r, f->hair.g, f->hair.b);
    cairo_rectangle (cr, f->cx - head_r * 1.1, head_y, head_r * 2.2,
        head_r * 2.5 * f->hair_len);
    cairo_fill (cr);
  }
  for (i = 0; i < 2; i++) {
    shaded_limb (cr, f->skin, j.shoulder[i], j.elbow[i], u * 0.36);
    shaded_limb (cr, f->skin, j.elbow[i], j.hand[i], u * 0.3);
    cairo_new_sub_path (cr);
    cairo_arc (cr, j.hand[i].x, j.hand[i].y, u * 0.22, 0, 2 * G_PI);
    cairo_fill (cr);
    shaded_limb (cr, legs, j.hip[i], j.knee[i], u * 0.5);
    shaded_limb (cr, legs, j.knee[i], j.foot[i], u * 0.42);
    /* a shoe, pointing a little outwards */
    cairo_set_source_rgb (cr, f->shoes.r, f->shoes.g, f->shoes.b);
    cairo_save (cr);
    cairo_translate (
        cr, j.foot[i].x + (i == 0 ? -1 : 1) * u * 0.15, j.foot[i].y - u * 0.05);
    cairo_scale (cr, u * 0.38, u * 0.18);
    cairo_arc (cr, 0, 0, 1, 0, 2 * G_PI);
    cairo_restore (cr);
    cairo_fill (cr);
  }
  /* torso, neck, head */
  cairo_set_source_rgb (cr, f->skin.r, f->skin.g, f->skin.b);
  cairo_move_to (cr, j.shoulder[0].x, j.shoulder[0].y);
  cairo_line_to (cr, j.shoulder[1].x, j.shoulder[1].y);
  cairo_line_to (cr, j.hip[1].x + u * 0.3, j.hip[1].y);
  cairo_line_to (cr, j.hip[0].x - u * 0.3, j.hip[0].y);
  cairo_close_path (cr);
  cairo_fill (cr);
  limb (cr, pt (f->cx, j.shoulder[0].y),
      pt (f->cx, f->y0 + f->hgt * 0.1 + drop), u * 0.4);
  cairo_save (cr);
  cairo_translate (cr, f->cx, head_y);
  cairo_scale (cr, head_r * 0.85, head_r);
  cairo_arc (cr, 0, 0, 1, 0, 2 * G_PI);
  cairo_restore (cr);
  cairo_fill (cr);
  /* hair on top of the head, eyes and a mouth */
  cairo_set_source_rgb (cr, f->hair.r, f->hair.g, f->hair.b);
  cairo_save (cr);
  cairo_translate (cr, f->cx, head_y);
  cairo_scale (cr, head_r * 0.92, head_r * 1.05);
  cairo_arc (cr, 0, 0, 1, G_PI * 1.0, G_PI * 2.0);
  cairo_restore (cr);
  cairo_fill (cr);
  cairo_set_source_rgba (cr, 0.1, 0.07, 0.05, 0.8);
  for (i = -1; i <= 1; i += 2) {
    cairo_new_sub_path (cr);
    cairo_arc (cr, f->cx + i * head_r * 0.35, head_y + head_r * 0.1,
        head_r * 0.09, 0, 2 * G_PI);
  }
  cairo_fill (cr);
  cairo_set_source_rgba (cr, 0.5, 0.15, 0.15, 0.6);
  cairo_set_line_width (cr, head_r * 0.08);
  cairo_move_to (cr, f->cx - head_r * 0.25, head_y + head_r * 0.55);
  cairo_line_to (cr, f->cx + head_r * 0.25, head_y + head_r * 0.55);
  cairo_stroke (cr);
}

/* Place a top on the figure's shoulders. */
static void
dress_top (Rng *r, const Figure *f, Placed *p, GarmentKind kind)
{
  TopShape s;
  double u = figure_unit (f), drop = f->squat * f->hgt * 0.18;

  memset (p, 0, sizeof (*p));
  p->g.kind = kind;
  random_top (r, &s, kind, TRUE);
  s.arm_l = f->arm_l;
  s.arm_r = f->arm_r;
  if (kind != G_DRESS)
    s.length = f->hgt * uni (r, 0.3, 0.4) / u;
  build_top (&p->g, &s, kind == G_DRESS);
  p->m = affine_make (u * uni (r, 1.0, 1.12), f->lean, f->cx,
      f->y0 + f->hgt * 0.18 + drop, FALSE);
}

/* Place a skirt or trousers on the figure's hips. */
static void
dress_bottom (Rng *r, const Figure *f, Placed *p, GarmentKind kind)
{
  double u = figure_unit (f), drop = f->squat * f->hgt * 0.18;
  double waist = uni (r, 0.7, 0.85);

  memset (p, 0, sizeof (*p));
  p->g.kind = kind;
  if (kind == G_SKIRT)
    build_skirt (&p->g, waist, waist * uni (r, 1.05, 1.7) + f->squat * 0.4,
        f->hgt * uni (r, 0.15, 0.4) / u);
  else
    build_trousers (&p->g, waist, f->hgt * (0.48 - f->squat * 0.1) / u,
        uni (r, 0.5, 0.9), uni (r, 0.5, 0.75), f->leg_l + f->squat * 0.3,
        f->leg_r + f->squat * 0.3);
  p->m = affine_make (
      u, f->lean * 0.5, f->cx, f->y0 + f->hgt * 0.47 + drop, FALSE);
}

static Rgb
random_skin (Rng *r)
{
  Rgb c;
  c.r = uni (r, 0.3, 0.95);
  c.g = c.r * uni (r, 0.68, 0.85);
  c.b = c.r * uni (r, 0.5, 0.75);
  return c;
}

static void
random_figure (Rng *r, Figure *f, int w, int h)
{
  double dark = uni (r, 0.02, 0.45);

  /* from a small figure in the scene to one cut at the picture's edges */
  f->hgt = h * uni (r, 0.55, 1.05);
  f->y0 = uni (r, MIN (0.0, h - f->hgt), MAX (0.0, h - f->hgt));
  f->cx = uni (r, 0.25, 0.75) * w;
  f->arm_l = uni (r, 0.08, 0.9);
  f->arm_r = uni (r, 0.08, 0.9);
  f->bend_l = f->bend_r = 0.0;
  if (uni (r, 0, 1) < 0.35) {
    /* hands together in front of the chest */
    f->arm_l = uni (r, 0.05, 0.45);
    f->arm_r = uni (r, 0.05, 0.45);
    f->bend_l = uni (r, 1.6, 2.8);
    f->bend_r = uni (r, 1.6, 2.8);
  } else if (uni (r, 0, 1) < 0.5) {
    f->bend_l = uni (r, 0, 0.8);
    f->bend_r = uni (r, 0, 0.8);
  }
  f->leg_l = uni (r, 0.0, 0.2);
  f->leg_r = uni (r, 0.0, 0.2);
  f->squat = uni (r, 0, 1) < 0.35 ? uni (r, 0, 0.8) : 0.0;
  f->lean = uni (r, -0.08, 0.08);
  f->skin = random_skin (r);
  f->hair = (Rgb){ dark, dark * uni (r, 0.6, 0.9), dark * uni (r, 0.4, 0.8) };
  f->hair_len = uni (r, 0, 1);
  f->legwear = uni (r, 0, 1) < 0.5;
  f->legs = random_colour (r);
  if (uni (r, 0, 1) < 0.6)
    f->legs = (Rgb){ dark * 0.3, dark * 0.3, dark * 0.3 };
  f->shoes = random_colour (r);
}

/* One garment laid flat or hanging, filling much of the picture. */
static void
lay_flat (Rng *r, Placed *p, int w, int h)
{
  GarmentKind kind = (GarmentKind) pick (r, G_N);
  double x0, y0, x1, y1, s;

  memset (p, 0, sizeof (*p));
  p->g.kind = kind;
  if (kind == G_SKIRT) {
    double waist = uni (r, 0.6, 0.9);
    build_skirt (&p->g, waist, waist * uni (r, 1.1, 2.0), uni (r, 1.2, 3.0));
  } else if (kind == G_TROUSERS) {
    double spread = uni (r, 0.0, 0.25);
    build_trousers (&p->g, uni (r, 0.7, 0.9), uni (r, 1.5, 3.2),
        uni (r, 0.6, 1.0), uni (r, 0.5, 0.8), spread, spread);
  } else {
    TopShape s;
    random_top (r, &s, kind, FALSE);
    build_top (&p->g, &s, kind == G_DRESS);
  }

  /* scale so the garment spans 45..95% of the picture, then centre it */
  p->m = affine_make (1.0, uni (r, -0.25, 0.25), 0, 0, FALSE);
  bounds (&p->g, &p->m, &x0, &y0, &x1, &y1);
  s = MIN (w / (x1 - x0), h / (y1 - y0)) * uni (r, 0.45, 0.95);
  p->m = affine_make (s, atan2 (p->m.c, p->m.a), 0, 0, FALSE);
  bounds (&p->g, &p->m, &x0, &y0, &x1, &y1);
  p->m.tx = uni (r, -x0, w - x1);
  p->m.ty = uni (r, -y0, h - y1);
}

/* ------------------------------------------------------------------------ */
/* Output in the FLD layout */

typedef struct
{
  GString *marks, *boxes, *parts;
  int rows;
} Lists;

/* Whether image point q lies inside the placed garment (even-odd rule). */
static gboolean
covers (const Placed *p, Pt q)
{
  gboolean in = FALSE;
  int i, j;
  for (i = 0, j = p->g.n - 1; i < p->g.n; j = i++) {
    Pt a = apply (&p->m, p->g.outline[i]), b = apply (&p->m, p->g.outline[j]);
    if ((a.y > q.y) != (b.y > q.y)
        && q.x < a.x + (b.x - a.x) * (q.y - a.y) / (b.y - a.y))
      in = !in;
  }
  return in;
}

/* Whether q lies under a round-capped segment. */
static gboolean
under_segment (const Segment *s, Pt q)
{
  double dx = s->b.x - s->a.x, dy = s->b.y - s->a.y;
  double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((q.x - s->a.x) * dx + (q.y - s->a.y) * dy) / len2 : 0;
  t = CLAMP (t, 0.0, 1.0);
  return hypot (q.x - (s->a.x + t * dx), q.y - (s->a.y + t * dy))
         <= s->width / 2;
}

/* One row per garment; landmarks under the garment drawn over it
 * (over, may be NULL) or under one of the n_front segments drawn over
 * everything are occluded, those outside the picture cut off. */
static void
lists_add (Lists *l, const char *name, const Placed *p, const Placed *over,
    const Segment *front, int n_front, int w, int h, const char *split)
{
  int type = kind_type[p->g.kind], k;
  double x0, y0, x1, y1;

  g_string_append_printf (l->marks, "%s %d 1", name, type);
  for (k = 0; k < K; k++) {
    Pt q;
    int vis;
    if (!p->g.has[k])
      continue;
    q = apply (&p->m, p->g.mark[k]);
    vis = over && covers (over, q) ? 1 : 0;
    for (int i = 0; i < n_front; i++)
      if (under_segment (&front[i], q))
        vis = 1;
    q.x -= 0.5;
    q.y -= 0.5;
    if (q.x < 0 || q.y < 0 || q.x > w - 1 || q.y > h - 1)
      g_string_append (l->marks, " 2 0 0");
    else
      g_string_append_printf (l->marks, " %d %.2f %.2f", vis, q.x, q.y);
  }
  g_string_append_c (l->marks, '\n');

  bounds (&p->g, &p->m, &x0, &y0, &x1, &y1);
  g_string_append_printf (l->boxes, "%s %.2f %.2f %.2f %.2f\n", name,
      CLAMP (x0 - 0.5, 0, w - 1), CLAMP (y0 - 0.5, 0, h - 1),
      CLAMP (x1 - 0.5, 0, w - 1), CLAMP (y1 - 0.5, 0, h - 1));
  g_string_append_printf (l->parts, "%s %s\n", name, split);
  l->rows++;
}

static gboolean
lists_write (const Lists *l, const char *dir)
{
  const char *files[3]
      = { "list_landmarks.txt", "list_bbox.txt", "list_eval_partition.txt" };
  const char *headers[3]
      = { "image_name clothes_type variation_type landmark_visibility_1 "
          "landmark_location_x_1 landmark_location_y_1 ...",
          "image_name x_1 y_1 x_2 y_2", "image_name evaluation_status" };
  GString *bodies[3] = { l->marks, l->boxes, l->parts };
  int i;

  for (i = 0; i < 3; i++) {
    char *path = g_build_filename (dir, files[i], NULL);
    char *text
        = g_strdup_printf ("%d\n%s\n%s", l->rows, headers[i], bodies[i]->str);
    GError *error = NULL;
    gboolean ok = g_file_set_contents (path, text, -1, &error);
    if (!ok) {
      g_printerr ("sanl-synth: %s\n", error->message);
      g_error_free (error);
    }
    g_free (text);
    g_free (path);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

/* Grain, so the network cannot rely on flat colour. */
static void
add_noise (cairo_surface_t *surface, Rng *r, double amount)
{
  unsigned char *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  int w = cairo_image_surface_get_width (surface);
  int h = cairo_image_surface_get_height (surface);
  int x, y, c;

  cairo_surface_flush (surface);
  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++)
      for (c = 0; c < 3; c++) {
        unsigned char *v = data + y * stride + x * 4 + c;
        int n = *v + (int) uni (r, -amount, amount);
        *v = (unsigned char) CLAMP (n, 0, 255);
      }
  cairo_surface_mark_dirty (surface);
}

static gboolean
write_png (cairo_surface_t *surface, const char *path)
{
  cairo_status_t st = cairo_surface_write_to_png (surface, path);
  if (st != CAIRO_STATUS_SUCCESS) {
    g_printerr ("sanl-synth: %s: %s\n", path, cairo_status_to_string (st));
    return FALSE;
  }
  return TRUE;
}

/* One training picture: a dressed figure (two labelled garments, one image
 * file per garment) or a flat garment. */
static gboolean
render_one (const char *dir, Lists *l, Textures *t, guint64 seed, int index,
    int w, int h, gboolean val)
{
  Rng r = { seed * 1000003ULL + (guint64) index };
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (s);
  const char *split = val ? "val" : "train";
  Placed placed[2];
  Segment front[2];
  int n = 0, n_front = 0, i;
  gboolean ok = TRUE;

  t->rng = (Rng){ r.s ^ TEXTURE_STREAM };
  draw_background (cr, &r, t, w, h);
  if (uni (&r, 0, 1) < 0.65) {
    Figure f;
    GarmentKind top, bottom;
    random_figure (&r, &f, w, h);
    top = (GarmentKind) pick (&r, 4);
    /* long sleeves follow a straight arm */
    if (top == G_LONGSLEEVE || top == G_JACKET)
      f.bend_l = f.bend_r = 0.0;
    draw_figure (cr, &f);
    bottom = uni (&r, 0, 1) < 0.5 ? G_SKIRT : G_TROUSERS;
    if (top != G_DRESS) {
      dress_bottom (&r, &f, &placed[n], bottom);
      draw_garment (cr, &r, t, &placed[n].g, &placed[n].m);
      n++;
    }
    dress_top (&r, &f, &placed[n], top);
    draw_garment (cr, &r, t, &placed[n].g, &placed[n].m);
    n++;
    n_front = front_forearms (&f, front);
    draw_forearms (cr, &f, front, n_front);
  } else {
    lay_flat (&r, &placed[0], w, h);
    draw_garment (cr, &r, t, &placed[0].g, &placed[0].m);
    n = 1;
  }
  cairo_destroy (cr);
  add_noise (s, &r, uni (&r, 0, 12));

  for (i = 0; i < n && ok; i++) {
    char *name = g_strdup_printf (
        "img/%06d_%s.png", index, kind_names[placed[i].g.kind]);
    char *path = g_build_filename (dir, name, NULL);
    ok = write_png (s, path);
    if (ok)
      lists_add (l, name, &placed[i], i + 1 < n ? &placed[i + 1] : NULL, front,
          n_front, w, h, split);
    g_free (path);
    g_free (name);
  }
  cairo_surface_destroy (s);
  return ok;
}

/* One frame of the demo clip: a figure in a tee and a skirt (or in one
 * dress) squatting and swaying. */
static gboolean
render_frame (const char *dir, Lists *l, Textures *t, guint64 seed, int frame,
    int n_frames, int w, int h, gboolean dress)
{
  Rng scene = { seed }, r;
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (s);
  double when = (double) frame / MAX (n_frames - 1, 1);
  double phase = sin (2 * G_PI * 2 * when);
  Figure f;
  Placed worn[2]; /* top (or dress), skirt */
  const char *names[2] = { dress ? "dress" : "top", "skirt" };
  int n = dress ? 1 : 2, i;
  char *name, *path;
  gboolean ok;

  /* the same background and cloth every frame: replay the generators */
  t->rng = (Rng){ scene.s ^ TEXTURE_STREAM };
  draw_background (cr, &scene, t, w, h);
  random_figure (&scene, &f, w, h);
  f.hgt = h * 0.85;
  f.y0 = h * 0.08;
  f.cx = w * (0.5 + 0.1 * sin (2 * G_PI * when));
  f.squat = 0.5 * (1 - cos (2 * G_PI * 2 * when)) * 0.6;
  f.arm_l = 0.3 + 0.4 * MAX (phase, 0);
  f.arm_r = 0.3 + 0.4 * MAX (phase, 0);
  f.bend_l = f.bend_r = 0.0;
  f.leg_l = f.leg_r = 0.08;
  f.lean = 0.0;
  draw_figure (cr, &f);

  /* the same garments every frame */
  r = scene;
  if (!dress) {
    dress_bottom (&r, &f, &worn[1], G_SKIRT);
    draw_garment (cr, &r, t, &worn[1].g, &worn[1].m);
  }
  dress_top (&r, &f, &worn[0], dress ? G_DRESS : G_TEE);
  draw_garment (cr, &r, t, &worn[0].g, &worn[0].m);
  cairo_destroy (cr);

  /* the frame for the clip, and a hard link per garment for the lists */
  name = g_strdup_printf ("frame_%04d.png", frame);
  path = g_build_filename (dir, name, NULL);
  ok = write_png (s, path);
  for (i = 0; i < n && ok; i++) {
    char *label = g_strdup_printf ("img/frame_%04d_%s.png", frame, names[i]);
    char *link_path = g_build_filename (dir, label, NULL);
    g_unlink (link_path);
    ok = link (path, link_path) == 0;
    if (!ok)
      g_printerr ("sanl-synth: %s: %s\n", link_path, g_strerror (errno));
    else
      lists_add (
          l, label, &worn[i], i == 1 ? &worn[0] : NULL, NULL, 0, w, h, "test");
    g_free (link_path);
    g_free (label);
  }
  g_free (path);
  g_free (name);
  cairo_surface_destroy (s);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Options */

/* Largest picture side: 4096x4096 RGB24 is 64 MiB per picture. */
#define MAX_SIDE 4096

/* w, h: the sides in "WxH", plain decimal, each 16..MAX_SIDE. */
static gboolean
parse_size (const char *size, int *w, int *h)
{
  g_auto (GStrv) sides = g_strsplit (size, "x", -1);
  guint64 side[2];

  if (g_strv_length (sides) != 2)
    return FALSE;
  for (int i = 0; i < 2; i++) {
    if (!g_ascii_string_to_unsigned (
            sides[i], 10, 16, MAX_SIDE, &side[i], NULL))
      return FALSE;
  }
  *w = (int) side[0];
  *h = (int) side[1];
  return TRUE;
}

/* The first bad option, named with its value on stderr; FALSE then. */
static gboolean
check_options (int argc, char **argv, const char *out, int count,
    const char *size, int val_every, int frames, int *w, int *h)
{
  if (argc > 1) {
    g_printerr (
        "sanl-synth: unexpected argument \"%s\" (see --help)\n", argv[1]);
    return FALSE;
  }
  if (!out) {
    g_printerr ("sanl-synth: --out DIR is required\n");
    return FALSE;
  }
  if (count < 0) {
    g_printerr ("sanl-synth: --count must be 0 or more, not %d\n", count);
    return FALSE;
  }
  if (val_every < 1) {
    g_printerr (
        "sanl-synth: --val-every must be 1 or more, not %d\n", val_every);
    return FALSE;
  }
  if (frames < 1) {
    g_printerr ("sanl-synth: --frames must be 1 or more, not %d\n", frames);
    return FALSE;
  }
  if (size && !parse_size (size, w, h)) {
    g_printerr ("sanl-synth: --size must be WxH, each side from 16 to %d, "
                "not \"%s\"\n",
        MAX_SIDE, size);
    return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------------ */

int
main (int argc, char **argv)
{
  char *out = NULL, *size = NULL, *textures_dir = NULL;
  int count = 100, frames = 65, val_every = 5, i, w = 0, h = 0;
  gint64 seed = 1;
  gboolean video = FALSE, dress = FALSE, ok = TRUE;
  GOptionEntry entries[] = { { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
                                 "Output folder", "DIR" },
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "Pictures to render", "N" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "Random seed", "S" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size,
        "Picture size (default: random per picture; video 480x640)", "WxH" },
    { "val-every", 0, 0, G_OPTION_ARG_INT, &val_every,
        "Every Nth picture goes to the val split", "N" },
    { "video", 0, 0, G_OPTION_ARG_NONE, &video,
        "Render the demo clip as frame_NNNN.png", NULL },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "Frames of the clip", "N" },
    { "dress", 0, 0, G_OPTION_ARG_NONE, &dress,
        "In the clip, dress the figure in one dress, not a tee and a skirt",
        NULL },
    { "textures", 0, 0, G_OPTION_ARG_FILENAME, &textures_dir,
        "Also fill garments and walls with patches of the JPEG and PNG "
        "pictures in DIR and two levels of its sub-folders",
        "DIR" },
    { NULL } };
  Textures textures = { NULL };
  GOptionContext *ctx;
  GError *error = NULL;
  Lists l;
  char *img_dir = NULL;
  int status;

  /* messages in the user's language and charset; numbers in the lists
   * always with a decimal point */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");

  ctx = g_option_context_new ("- render garments with landmarks in the FLD "
                              "layout");
  g_option_context_add_main_entries (ctx, entries, NULL);
  l = (Lists){ g_string_new (NULL), g_string_new (NULL), g_string_new (NULL),
    0 };
  ok = g_option_context_parse (ctx, &argc, &argv, &error);
  g_option_context_free (ctx);
  if (!ok) {
    g_printerr ("sanl-synth: %s\n", error->message);
    g_error_free (error);
    status = 2;
    goto out;
  }
  if (!check_options (argc, argv, out, count, size, val_every, frames, &w, &h)
      || (textures_dir && !textures_open (&textures, textures_dir))) {
    status = 2;
    goto out;
  }
  if (textures_dir && !textures_readable (&textures)) {
    g_printerr (
        "sanl-synth: not one picture in %s could be read\n", textures_dir);
    status = 1;
    goto out;
  }
  img_dir = g_build_filename (out, "img", NULL);
  if (g_mkdir_with_parents (img_dir, 0755) != 0) {
    g_printerr ("sanl-synth: %s: %s\n", img_dir, g_strerror (errno));
    status = 1;
    goto out;
  }
  if (video) {
    for (i = 0; i < frames && ok && !textures.failed; i++)
      ok = render_frame (out, &l, &textures, (guint64) seed, i, frames,
          w ? w : 480, h ? h : 640, dress);
  } else {
    Rng sizes = { (guint64) seed ^ 0x5eedULL };
    for (i = 0; i < count && ok && !textures.failed; i++) {
      int pw = w ? w : 256 + 32 * pick (&sizes, 9);
      int ph = h ? h : 256 + 32 * pick (&sizes, 9);
      /* a third are video frames, upright or lying (16:9) */
      if (!w && pick (&sizes, 3) == 0) {
        if (pick (&sizes, 2) == 0)
          ph = pw * 16 / 9;
        else
          pw = ph * 16 / 9;
      }
      ok = render_one (out, &l, &textures, (guint64) seed, i, pw, ph,
          i % val_every == val_every - 1);
    }
  }
  ok = ok && !textures.failed && lists_write (&l, out);
  status = ok ? 0 : 1;

out:
  if (textures.paths)
    g_ptr_array_unref (textures.paths);
  g_free (textures_dir);
  g_free (img_dir);
  g_free (out);
  g_free (size);
  g_string_free (l.marks, TRUE);
  g_string_free (l.boxes, TRUE);
  g_string_free (l.parts, TRUE);
  return status;
}
