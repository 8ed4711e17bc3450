/* ascent.c: gradient ascent on the input image: activation maximisation, feature inversion and
 * Deep Dream share one loop (jitter, regularisers, normalised step, decay, clamp, blur); each
 * supplies an objective on one node's value and its gradient there (the seed of backward). */
#include "viz/probe.h"
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Objective J(a) of the node's sample-0 value a (n floats); writes dJ/da into seed. */
typedef double (*objective_fn)(void *ctx, const float *a, int64_t n, float *seed);

typedef struct { int unit; int64_t hw; } unit_ctx;
static double obj_unit(void *ctx, const float *a, int64_t n, float *seed) {
    const unit_ctx *u = ctx;
    memset(seed, 0, (size_t)n * sizeof *seed);
    double v = 0; /* the mean of channel `unit` (hw = 1: one element) */
    for (int64_t i = 0; i < u->hw; i++) {
        v += a[u->unit * u->hw + i];
        seed[u->unit * u->hw + i] = 1.0f / (float)u->hw;
    }
    return v / (double)u->hw;
}

typedef struct { const float *target; double norm2; } invert_ctx;
static double obj_invert(void *ctx, const float *a, int64_t n, float *seed) {
    const invert_ctx *t = ctx;
    double e = 0; /* J = -||a - t||^2 / ||t||^2 */
    for (int64_t i = 0; i < n; i++) {
        double d = a[i] - t->target[i];
        e += d * d;
        seed[i] = (float)(-2 * d / t->norm2);
    }
    return -e / t->norm2;
}

static double obj_dream(void *ctx, const float *a, int64_t n, float *seed) {
    double e = 0; /* J = ||a||^2 / 2 */
    for (int64_t i = 0; i < n; i++) e += 0.5 * a[i] * a[i], seed[i] = a[i];
    return e;
}

/* dst = src shifted by (dy, dx), zeros entering */
static void shift(const float *src, int c, int h, int w, int dy, int dx, float *dst) {
    for (int k = 0; k < c; k++)
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                int si = i - dy, sj = j - dx;
                dst[((size_t)k * h + i) * w + j] =
                    si >= 0 && si < h && sj >= 0 && sj < w ? src[((size_t)k * h + si) * w + sj] : 0.0f;
            }
}

static void defaults(const glia_ascent_options *in, glia_ascent_options *o) {
    if (in) *o = *in;
    else memset(o, 0, sizeof *o);
    if (o->steps <= 0) o->steps = 200;
    if (!(o->lr > 0)) o->lr = 0.01f;
    if (o->blur_every <= 0) o->blur_every = 4;
    if (!o->seed) o->seed = 1;
}

/* The loop (see glia_ascent_options). octave_div > 1: the step follows the gradient averaged
 * down to 1/octave_div of the image size and brought back up. */
static glia_status ascend(viz_probe *p, int node, objective_fn f, void *ctx,
                          const glia_ascent_options *o, float octave_div, float *x, double *last) {
    int64_t n = p->numel, per;
    glia_shape ns;
    glia_node_shape(p->g, node, &ns);
    per = glia_shape_numel(&ns) / ns.dim[0];
    int sh = (int)fmaxf(1.0f, roundf(p->h / octave_div)), sw = (int)fmaxf(1.0f, roundf(p->w / octave_div));
    float *xs = glia__malloc((size_t)n * sizeof *xs), *g = glia__malloc((size_t)n * sizeof *g),
          *g2 = glia__malloc((size_t)n * sizeof *g2), *seed = glia__malloc((size_t)per * sizeof *seed),
          *small = glia__malloc((size_t)p->c * sh * sw * sizeof *small);
    glia_status s = GLIA_OK;
    if (!xs || !g || !g2 || !seed || !small) s = glia__err(GLIA_ENOMEM, "viz: out of memory");
    glia_rng rng;
    glia_rng_seed(&rng, o->seed, 77);
    for (int step = 0; !s && step < o->steps; step++) {
        int dy = 0, dx = 0;
        if (o->jitter > 0) {
            dy = (int)glia_rng_below(&rng, 2u * o->jitter + 1) - o->jitter;
            dx = (int)glia_rng_below(&rng, 2u * o->jitter + 1) - o->jitter;
        }
        shift(x, p->c, p->h, p->w, dy, dx, xs);
        const float *a;
        if ((s = viz_probe_forward(p, xs)) || (s = viz_probe_value(p, node, &a, NULL))) break;
        *last = f(ctx, a, per, seed);
        if ((s = viz_probe_backward(p, node, seed, g2))) break;
        shift(g2, p->c, p->h, p->w, -dy, -dx, g);
        if (octave_div > 1) {
            glia_resize_bilinear(g, p->c, p->h, p->w, small, sh, sw);
            glia_resize_bilinear(small, p->c, sh, sw, g, p->h, p->w);
        }
        /* the objective's gradient scaled to a mean |g| of 1, then the regularisers of
         * J - l1 sum|x| - tv TV(x) in those units */
        double mean_abs = 0;
        for (int64_t i = 0; i < n; i++) mean_abs += fabsf(g[i]);
        mean_abs /= (double)n;
        float k = (float)(1 / (mean_abs + 1e-8));
        for (int64_t i = 0; i < n; i++) g[i] = k * g[i] - o->l1 * (x[i] > 0 ? 1.0f : x[i] < 0 ? -1.0f : 0.0f);
        if (o->tv > 0) glia_tv(x, p->c, p->h, p->w, -o->tv, g);
        for (int64_t i = 0; i < n; i++) {
            float v = (x[i] + o->lr * g[i]) * (1.0f - o->l2);
            x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        if (o->blur > 0 && (step + 1) % o->blur_every == 0) s = glia_blur(x, p->c, p->h, p->w, o->blur);
    }
    free(xs), free(g), free(g2), free(seed), free(small);
    return s;
}

glia_status glia_maximize(glia_model *m, const char *layer, int unit, const glia_ascent_options *opt,
                          float *image, float *value) {
    if (!m || !image) return glia__err(GLIA_EINVAL, "glia_maximize: NULL argument");
    int node;
    glia_shape sh;
    glia_status s = viz_layer_node(m, layer, &node, &sh);
    if (s) return s;
    unit_ctx u = {unit, sh.ndim == 4 ? sh.dim[2] * sh.dim[3] : 1};
    int64_t units = sh.ndim >= 2 ? sh.dim[1] : 1;
    if (sh.ndim != 4 && sh.ndim != 2)
        return glia__err(GLIA_ESHAPE, "glia_maximize: layer '%s' has %d dimensions (2 or 4)", layer, sh.ndim);
    if (unit < 0 || unit >= units)
        return glia__err(GLIA_EINVAL, "glia_maximize: unit %d, but layer '%s' has %lld units",
                         unit, glia_node_name(glia_model_graph(m), node), (long long)units);
    viz_probe p;
    glia_ascent_options o;
    defaults(opt, &o);
    double last = 0;
    if (!(s = viz_probe_open(m, node, &p))) s = ascend(&p, node, obj_unit, &u, &o, 1, image, &last);
    /* the value at the final image, without jitter */
    const float *a;
    if (!s && value && !(s = viz_probe_forward(&p, image)) && !(s = viz_probe_value(&p, node, &a, NULL))) {
        double v = 0;
        for (int64_t i = 0; i < u.hw; i++) v += a[unit * u.hw + i];
        *value = (float)(v / (double)u.hw);
    }
    viz_probe_close(&p);
    return s;
}

glia_status glia_invert(glia_model *m, const char *layer, const float *target,
                        const glia_ascent_options *opt, float *image, float *rel_err) {
    if (!m || !image || !target) return glia__err(GLIA_EINVAL, "glia_invert: NULL argument");
    int node;
    glia_status s = viz_layer_node(m, layer, &node, NULL);
    viz_probe p = {0};
    int64_t per = 0;
    const float *a;
    float *phi0 = NULL;
    if (!s) s = viz_probe_open(m, node, &p);
    if (!s) s = viz_probe_forward(&p, target);
    if (!s) s = viz_probe_value(&p, node, &a, &per);
    if (!s && !(phi0 = glia__malloc((size_t)per * sizeof *phi0)))
        s = glia__err(GLIA_ENOMEM, "glia_invert: out of memory");
    if (s) {
        viz_probe_close(&p);
        return s;
    }
    memcpy(phi0, a, (size_t)per * sizeof *phi0);
    invert_ctx t = {phi0, 0};
    for (int64_t i = 0; i < per; i++) t.norm2 += (double)phi0[i] * phi0[i];
    if (t.norm2 <= 0) t.norm2 = 1;
    glia_ascent_options o;
    defaults(opt, &o);
    double last = 0;
    s = ascend(&p, node, obj_invert, &t, &o, 1, image, &last);
    if (!s && rel_err && !(s = viz_probe_forward(&p, image)) && !(s = viz_probe_value(&p, node, &a, NULL))) {
        float *seed = glia__malloc((size_t)per * sizeof *seed);
        if (!seed) s = glia__err(GLIA_ENOMEM, "glia_invert: out of memory");
        else *rel_err = (float)sqrt(-obj_invert(&t, a, per, seed));
        free(seed);
    }
    free(phi0);
    viz_probe_close(&p);
    return s;
}

glia_status glia_dream(glia_model *m, const char *layer, int octaves, float scale,
                       const glia_ascent_options *opt, float *image) {
    if (!m || !image) return glia__err(GLIA_EINVAL, "glia_dream: NULL argument");
    if (octaves < 1 || !(scale >= 1))
        return glia__err(GLIA_EINVAL, "glia_dream: octaves %d (>= 1) and scale %g (>= 1)", octaves, scale);
    int node;
    glia_status s = viz_layer_node(m, layer, &node, NULL);
    viz_probe p = {0};
    if (!s) s = viz_probe_open(m, node, &p);
    glia_ascent_options o;
    defaults(opt, &o);
    double last = 0;
    for (int k = octaves - 1; !s && k >= 0; k--) /* coarse to fine */
        s = ascend(&p, node, obj_dream, NULL, &o, powf(scale, (float)k), image, &last);
    viz_probe_close(&p);
    return s;
}
