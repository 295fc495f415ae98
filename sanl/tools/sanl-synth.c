/* sanl-synth: renders garments with exact landmarks, in the FLD layout.
 *
 *   sanl-synth --out DIR --count 1000 --seed 1
 *
 * writes DIR/img/NNNNNN_<garment>.png, DIR/list_landmarks.txt,
 * DIR/list_bbox.txt and DIR/list_eval_partition.txt (every fifth image is
 * val). Each garment (tee, long sleeve, jacket, dress, skirt, trousers) is
 * a polygon built from random shape parameters whose landmarks are vertices
 * or midpoints of the outline, so the labels are exact under the affine map
 * that places it. Garments are worn by a simple figure (a top and a bottom
 * per figure, each labelled under its own image name) or laid flat. The
 * same seed gives the same images.
 *
 *   sanl-synth --video --out DIR --frames 65 --size 480x640 --seed 1
 *
 * renders a clip of a figure in a tee and a skirt squatting and swaying:
 * DIR/frame_NNNN.png, and the lists (split "test") naming hard links
 * DIR/img/frame_NNNN_top.png and DIR/img/frame_NNNN_skirt.png.
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
draw_garment (cairo_t *cr, Rng *r, const Garment *g, const Affine *m)
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
draw_background (cairo_t *cr, Rng *r, int w, int h)
{
  Rgb a = random_colour (r), b = random_colour (r);
  cairo_pattern_t *grad = cairo_pattern_create_linear (0, 0, uni (r, 0, w), h);
  int i, n = pick (r, 8);

  cairo_pattern_add_color_stop_rgb (grad, 0, a.r, a.g, a.b);
  cairo_pattern_add_color_stop_rgb (grad, 1, b.r, b.g, b.b);
  cairo_set_source (cr, grad);
  cairo_paint (cr);
  cairo_pattern_destroy (grad);

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
    cairo_set_source_rgb (cr, c.r, c.g, c.b);
    cairo_rectangle (cr, 0, h * uni (r, 0.6, 0.95), w, h);
    cairo_fill (cr);
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

/* ------------------------------------------------------------------------ */
/* Scenes: a figure wearing a top and a bottom, or one garment laid flat */

typedef struct
{
  Garment g;
  Affine m;
} Placed;

/* A standing figure: top of the head at y0, height hgt, centre cx. squat
 * (0..1) bends the knees and lowers the body. */
typedef struct
{
  double cx, y0, hgt, arm_l, arm_r, leg_l, leg_r, squat, lean;
  Rgb skin;
} Figure;

static double
figure_unit (const Figure *f)
{
  return f->hgt * 0.12; /* shoulder half-width in pixels */
}

static void
draw_figure (cairo_t *cr, const Figure *f)
{
  double u = figure_unit (f), drop = f->squat * f->hgt * 0.18;
  Pt shoulder_l = pt (f->cx - u, f->y0 + f->hgt * 0.18 + drop);
  Pt shoulder_r = pt (f->cx + u, shoulder_l.y);
  Pt hip_l = pt (f->cx - u * 0.5, f->y0 + f->hgt * 0.52 + drop);
  Pt hip_r = pt (f->cx + u * 0.5, hip_l.y);
  Pt dl = limb_dir (f->arm_l, -1), dr = limb_dir (f->arm_r, 1);
  double arm = f->hgt * 0.37, thigh = f->hgt * 0.25;
  double knee_out = f->squat * thigh * 0.6;
  Pt knee_l = pt (hip_l.x - knee_out - thigh * sin (f->leg_l),
      hip_l.y + thigh * sqrt (1 - f->squat * 0.5));
  Pt knee_r = pt (hip_r.x + knee_out + thigh * sin (f->leg_r), knee_l.y);
  Pt foot_l = pt (hip_l.x - thigh * sin (f->leg_l) * 1.5, f->y0 + f->hgt);
  Pt foot_r = pt (hip_r.x + thigh * sin (f->leg_r) * 1.5, foot_l.y);

  cairo_set_source_rgb (cr, f->skin.r, f->skin.g, f->skin.b);
  limb (cr, shoulder_l,
      pt (shoulder_l.x + dl.x * arm, shoulder_l.y + dl.y * arm), u * 0.35);
  limb (cr, shoulder_r,
      pt (shoulder_r.x + dr.x * arm, shoulder_r.y + dr.y * arm), u * 0.35);
  limb (cr, hip_l, knee_l, u * 0.5);
  limb (cr, knee_l, foot_l, u * 0.42);
  limb (cr, hip_r, knee_r, u * 0.5);
  limb (cr, knee_r, foot_r, u * 0.42);
  /* torso, neck, head */
  cairo_move_to (cr, shoulder_l.x, shoulder_l.y);
  cairo_line_to (cr, shoulder_r.x, shoulder_r.y);
  cairo_line_to (cr, hip_r.x + u * 0.3, hip_r.y);
  cairo_line_to (cr, hip_l.x - u * 0.3, hip_l.y);
  cairo_close_path (cr);
  cairo_fill (cr);
  limb (cr, pt (f->cx, shoulder_l.y), pt (f->cx, f->y0 + f->hgt * 0.1 + drop),
      u * 0.4);
  cairo_new_sub_path (cr);
  cairo_arc (
      cr, f->cx, f->y0 + f->hgt * 0.065 + drop, f->hgt * 0.065, 0, 2 * G_PI);
  cairo_fill (cr);
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

static void
random_figure (Rng *r, Figure *f, int w, int h)
{
  f->hgt = h * uni (r, 0.55, 0.95);
  f->y0 = uni (r, 0.0, h - f->hgt);
  f->cx = uni (r, 0.25, 0.75) * w;
  f->arm_l = uni (r, 0.08, 0.9);
  f->arm_r = uni (r, 0.08, 0.9);
  f->leg_l = uni (r, 0.0, 0.2);
  f->leg_r = uni (r, 0.0, 0.2);
  f->squat = uni (r, 0, 1) < 0.3 ? uni (r, 0, 0.8) : 0.0;
  f->lean = uni (r, -0.08, 0.08);
  f->skin.r = uni (r, 0.35, 0.95);
  f->skin.g = f->skin.r * uni (r, 0.7, 0.85);
  f->skin.b = f->skin.r * uni (r, 0.5, 0.75);
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

/* One row per garment; landmarks under the garment drawn over it
 * (over, may be NULL) are occluded, those outside the picture cut off. */
static void
lists_add (Lists *l, const char *name, const Placed *p, const Placed *over,
    int w, int h, const char *split)
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
render_one (const char *dir, Lists *l, guint64 seed, int index, int w, int h,
    gboolean val)
{
  Rng r = { seed * 1000003ULL + (guint64) index };
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (s);
  const char *split = val ? "val" : "train";
  Placed placed[2];
  int n = 0, i;
  gboolean ok = TRUE;

  draw_background (cr, &r, w, h);
  if (uni (&r, 0, 1) < 0.55) {
    Figure f;
    GarmentKind top, bottom;
    random_figure (&r, &f, w, h);
    draw_figure (cr, &f);
    top = (GarmentKind) pick (&r, 4);
    bottom = uni (&r, 0, 1) < 0.5 ? G_SKIRT : G_TROUSERS;
    if (top != G_DRESS) {
      dress_bottom (&r, &f, &placed[n], bottom);
      draw_garment (cr, &r, &placed[n].g, &placed[n].m);
      n++;
    }
    dress_top (&r, &f, &placed[n], top);
    draw_garment (cr, &r, &placed[n].g, &placed[n].m);
    n++;
  } else {
    lay_flat (&r, &placed[0], w, h);
    draw_garment (cr, &r, &placed[0].g, &placed[0].m);
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
      lists_add (
          l, name, &placed[i], i + 1 < n ? &placed[i + 1] : NULL, w, h, split);
    g_free (path);
    g_free (name);
  }
  cairo_surface_destroy (s);
  return ok;
}

/* One frame of the demo clip: a figure in a tee and a skirt squatting. */
static gboolean
render_frame (const char *dir, Lists *l, guint64 seed, int frame, int n_frames,
    int w, int h)
{
  Rng scene = { seed }, r;
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create (s);
  double t = (double) frame / MAX (n_frames - 1, 1);
  double phase = sin (2 * G_PI * 2 * t);
  Figure f;
  Placed top, skirt;
  char *name, *path;
  gboolean ok;
  int i;

  /* the same background every frame: replay the scene's generator */
  draw_background (cr, &scene, w, h);
  random_figure (&scene, &f, w, h);
  f.hgt = h * 0.85;
  f.y0 = h * 0.08;
  f.cx = w * (0.5 + 0.1 * sin (2 * G_PI * t));
  f.squat = 0.5 * (1 - cos (2 * G_PI * 2 * t)) * 0.6;
  f.arm_l = 0.3 + 0.4 * MAX (phase, 0);
  f.arm_r = 0.3 + 0.4 * MAX (phase, 0);
  f.leg_l = f.leg_r = 0.08;
  f.lean = 0.0;
  draw_figure (cr, &f);

  /* the same garments every frame */
  r = scene;
  dress_bottom (&r, &f, &skirt, G_SKIRT);
  draw_garment (cr, &r, &skirt.g, &skirt.m);
  dress_top (&r, &f, &top, G_TEE);
  draw_garment (cr, &r, &top.g, &top.m);
  cairo_destroy (cr);

  /* the frame for the clip, and a hard link per garment for the lists */
  name = g_strdup_printf ("frame_%04d.png", frame);
  path = g_build_filename (dir, name, NULL);
  ok = write_png (s, path);
  for (i = 0; i < 2 && ok; i++) {
    char *label = g_strdup_printf (
        "img/frame_%04d_%s.png", frame, i == 0 ? "top" : "skirt");
    char *link_path = g_build_filename (dir, label, NULL);
    g_unlink (link_path);
    ok = link (path, link_path) == 0;
    if (!ok)
      g_printerr ("sanl-synth: %s: %s\n", link_path, g_strerror (errno));
    else if (i == 0)
      lists_add (l, label, &top, NULL, w, h, "test");
    else
      lists_add (l, label, &skirt, &top, w, h, "test");
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
  char *out = NULL, *size = NULL;
  int count = 100, frames = 65, val_every = 5, i, w = 0, h = 0;
  gint64 seed = 1;
  gboolean video = FALSE, ok = TRUE;
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
    { NULL } };
  GOptionContext *ctx;
  GError *error = NULL;
  Lists l;
  char *img_dir;

  /* messages in the user's language and charset; numbers in the lists
   * always with a decimal point */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");

  ctx = g_option_context_new ("- render garments with landmarks in the FLD "
                              "layout");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("sanl-synth: %s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (!check_options (argc, argv, out, count, size, val_every, frames, &w, &h))
    return 2;
  l = (Lists){ g_string_new (NULL), g_string_new (NULL), g_string_new (NULL),
    0 };

  img_dir = g_build_filename (out, "img", NULL);
  if (g_mkdir_with_parents (img_dir, 0755) != 0) {
    g_printerr ("sanl-synth: %s: %s\n", img_dir, g_strerror (errno));
    return 1;
  }
  if (video) {
    for (i = 0; i < frames && ok; i++)
      ok = render_frame (
          out, &l, (guint64) seed, i, frames, w ? w : 480, h ? h : 640);
  } else {
    Rng sizes = { (guint64) seed ^ 0x5eedULL };
    for (i = 0; i < count && ok; i++) {
      int pw = w ? w : 256 + 32 * pick (&sizes, 9);
      int ph = h ? h : 256 + 32 * pick (&sizes, 9);
      ok = render_one (
          out, &l, (guint64) seed, i, pw, ph, i % val_every == val_every - 1);
    }
  }
  ok = ok && lists_write (&l, out);
  g_free (img_dir);
  g_free (out);
  g_free (size);
  g_string_free (l.marks, TRUE);
  g_string_free (l.boxes, TRUE);
  g_string_free (l.parts, TRUE);
  return ok ? 0 : 1;
}
