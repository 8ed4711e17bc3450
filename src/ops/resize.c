/* resize.c: resizing the last two axes of x[N,C,H,W] to [OH, OW] (ONNX's Resize and Upsample,
 * PyTorch's F.interpolate): nearest, linear (bilinear) and cubic (bicubic).
 *
 * Each axis on its own: output index o maps to an input coordinate
 *   half_pixel                 u = (o + 0.5) / s - 0.5
 *   asymmetric                 u = o / s
 *   align_corners              u = o (in - 1) / (L - 1)          (0 when L <= 1)
 *   pytorch_half_pixel         u = L > 1 ? (o + 0.5) / s - 0.5 : 0
 *   tf_half_pixel_for_nearest  u = (o + 0.5) / s
 * with s the scale given (n->fa, as ONNX's scales input) or else out / in, and L = in s the
 * resized length before rounding down to out (as ONNX's reference: out itself when the sizes
 * are given), and takes taps
 * (input index, weight) from it:
 *   nearest  one tap, weight 1, at u rounded by nearest_mode (round half down or up, floor,
 *            ceil; simple: floor where s >= 1, ceil where s < 1, as onnxruntime's opset < 11)
 *   linear   u clamped to [0, in - 1]: (floor u, 1 - t), (floor u + 1, t), t = u - floor u
 *   cubic    (floor u + k, c_k(t)) for k = -1 .. 2, Keys' kernel with coefficient a:
 *              c(d) = (a + 2)|d|^3 - (a + 3)|d|^2 + 1          |d| <= 1
 *                     a|d|^3 - 5a|d|^2 + 8a|d| - 4a             1 < |d| < 2,  d = t - k
 *            exclude_outside: taps outside the input get 0 and the rest are divided by their sum
 * every index clamped to [0, in - 1] (the edge repeats). Then
 *   y[n,c,oh,ow] = sum_{a,b} wh[oh][a] ww[ow][b] x[n, c, ih[oh][a], iw[ow][b]]
 * (nearest: a plain gather) and backward adds wh ww dy to the same places (each plane on one
 * thread, in output order: the bits do not depend on the number of threads). The taps are
 * computed once per pass into the workspace. */
#include "../core/internal.h"
#include <limits.h>
#include <math.h>

#define RESIZE_TAPS 4

typedef struct {
    int n;      /* taps per output index: 1, 2 or 4 */
    int *idx;   /* [out][n] */
    float *wt;  /* [out][n] */
} resize_axis;

static double src_coord(int coord, double o, double s, double L, int in) {
    switch (coord) {
    case GLIA_RESIZE_ASYMMETRIC: return o / s;
    case GLIA_RESIZE_ALIGN_CORNERS: return L > 1 ? o * (in - 1) / (L - 1) : 0.0;
    case GLIA_RESIZE_PYTORCH_HALF_PIXEL: return L > 1 ? (o + 0.5) / s - 0.5 : 0.0;
    case GLIA_RESIZE_TF_HALF_PIXEL_FOR_NEAREST: return (o + 0.5) / s;
    default: return (o + 0.5) / s - 0.5; /* half_pixel */
    }
}

static int clampi(double v, int in) { return v < 0 ? 0 : v > in - 1 ? in - 1 : (int)v; }

static int nearest(int mode, double u, double s) {
    double f = floor(u);
    switch (mode) {
    case GLIA_RESIZE_ROUND_PREFER_FLOOR: return (int)(u - f == 0.5 ? f : floor(u + 0.5));
    case GLIA_RESIZE_ROUND_PREFER_CEIL: return (int)(u - f == 0.5 ? f + 1 : floor(u + 0.5));
    case GLIA_RESIZE_CEIL: return (int)ceil(u);
    case GLIA_RESIZE_SIMPLE: return (int)(s < 1 ? ceil(u) : f);
    default: return (int)f; /* floor */
    }
}

static double cubic(double d, double a) {
    d = fabs(d);
    return d <= 1 ? ((a + 2) * d - (a + 3)) * d * d + 1 : d < 2 ? ((a * d - 5 * a) * d + 8 * a) * d - 4 * a : 0.0;
}

/* the taps of one axis: in -> out, scale s (0: out / in) */
static void axis_taps(const glia_node *n, int in, int out, float scale, resize_axis *t) {
    const int mode = n->ia[RESIZE_MODE];
    const double s = scale > 0 ? scale : (double)out / in, a = n->fa[RESIZE_CUBIC_A];
    const double L = scale > 0 ? in * s : out; /* the resized length before rounding down */
    t->n = mode == GLIA_RESIZE_NEAREST ? 1 : mode == GLIA_RESIZE_LINEAR ? 2 : RESIZE_TAPS;
    for (int o = 0; o < out; o++) {
        double u = src_coord(n->ia[RESIZE_COORD], o, s, L, in);
        int *ix = t->idx + (size_t)o * t->n;
        float *w = t->wt + (size_t)o * t->n;
        if (mode == GLIA_RESIZE_NEAREST) {
            ix[0] = clampi(nearest(n->ia[RESIZE_NEAREST], u, s), in);
            w[0] = 1.0f;
        } else if (mode == GLIA_RESIZE_LINEAR) {
            u = u < 0 ? 0 : u > in - 1 ? in - 1 : u;
            double f = floor(u);
            ix[0] = (int)f;
            ix[1] = clampi(f + 1, in);
            w[0] = (float)(1 - (u - f));
            w[1] = (float)(u - f);
        } else {
            double f = floor(u), c[RESIZE_TAPS], sum = 0;
            for (int k = 0; k < RESIZE_TAPS; k++) {
                double at = f + k - 1;
                c[k] = cubic(u - at, a);
                if (n->ia[RESIZE_EXCLUDE_OUTSIDE] && (at < 0 || at > in - 1)) c[k] = 0;
                sum += c[k];
                ix[k] = clampi(at, in);
            }
            for (int k = 0; k < RESIZE_TAPS; k++)
                w[k] = (float)(n->ia[RESIZE_EXCLUDE_OUTSIDE] && sum != 0 ? c[k] / sum : c[k]);
        }
    }
}

/* the taps of both axes, in the workspace */
static void taps(glia_graph *g, const glia_node *n, resize_axis *h, resize_axis *w) {
    const glia_node *x = glia__in(g, n, 0);
    int H = (int)x->shape.dim[2], W = (int)x->shape.dim[3];
    int OH = (int)n->shape.dim[2], OW = (int)n->shape.dim[3];
    float *ws = g->workspace;
    h->wt = ws;
    w->wt = ws + (size_t)OH * RESIZE_TAPS;
    h->idx = (int *)(ws + (size_t)(OH + OW) * RESIZE_TAPS);
    w->idx = h->idx + (size_t)OH * RESIZE_TAPS;
    axis_taps(n, H, OH, n->fa[RESIZE_SCALE_H], h);
    axis_taps(n, W, OW, n->fa[RESIZE_SCALE_W], w);
}

static glia_status resize_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    if (x->shape.ndim != 4) return glia__bad_shape(g, n, "input", x, "resize needs [N, C, H, W]");
    if (x->shape.dim[2] > INT_MAX || x->shape.dim[3] > INT_MAX)
        return glia__bad_shape(g, n, "input", x, "resize needs H and W below 2^31");
    n->shape = x->shape;
    n->shape.dim[2] = n->ia[RESIZE_OUT_H];
    n->shape.dim[3] = n->ia[RESIZE_OUT_W];
    n->ws_bytes = (size_t)(n->ia[RESIZE_OUT_H] + n->ia[RESIZE_OUT_W]) * RESIZE_TAPS * (sizeof(float) + sizeof(int));
    n->saved_bytes = 0;
    return GLIA_OK;
}

static glia_status resize_forward(glia_graph *g, glia_node *n) {
    const glia_node *X = glia__in(g, n, 0);
    resize_axis th, tw;
    taps(g, n, &th, &tw);
    const int64_t H = X->shape.dim[2], W = X->shape.dim[3], OH = n->shape.dim[2], OW = n->shape.dim[3];
    const int64_t planes = n->shape.dim[0] * n->shape.dim[1];
#pragma omp parallel for schedule(static) if (planes * OH * OW >= GLIA_PAR_MIN)
    for (int64_t p = 0; p < planes; p++) {
        const float *x = X->val + p * H * W;
        float *y = n->val + p * OH * OW;
        if (th.n == 1 && tw.n == 1) { /* nearest: a gather, weights 1 */
            for (int64_t oh = 0; oh < OH; oh++) {
                const float *xr = x + (int64_t)th.idx[oh] * W;
                for (int64_t ow = 0; ow < OW; ow++) y[oh * OW + ow] = xr[tw.idx[ow]];
            }
            continue;
        }
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                float s = 0;
                for (int a = 0; a < th.n; a++) {
                    const float *xr = x + (int64_t)th.idx[oh * th.n + a] * W, wa = th.wt[oh * th.n + a];
                    float r = 0;
                    for (int b = 0; b < tw.n; b++) r += tw.wt[ow * tw.n + b] * xr[tw.idx[ow * tw.n + b]];
                    s += wa * r;
                }
                y[oh * OW + ow] = s;
            }
    }
    return GLIA_OK;
}

static void resize_backward(glia_graph *g, glia_node *n) {
    glia_node *X = glia__in(g, n, 0);
    if (!X->grad) return;
    resize_axis th, tw;
    taps(g, n, &th, &tw);
    const int64_t H = X->shape.dim[2], W = X->shape.dim[3], OH = n->shape.dim[2], OW = n->shape.dim[3];
    const int64_t planes = n->shape.dim[0] * n->shape.dim[1];
#pragma omp parallel for schedule(static) if (planes * OH * OW >= GLIA_PAR_MIN)
    for (int64_t p = 0; p < planes; p++) {
        float *dx = X->grad + p * H * W;
        const float *dy = n->grad + p * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++)
                for (int a = 0; a < th.n; a++) {
                    float *dr = dx + (int64_t)th.idx[oh * th.n + a] * W;
                    float d = th.wt[oh * th.n + a] * dy[oh * OW + ow];
                    for (int b = 0; b < tw.n; b++) dr[tw.idx[ow * tw.n + b]] += tw.wt[ow * tw.n + b] * d;
                }
    }
}

static const char *const resize_modes[] = {"nearest", "linear", "cubic"};
static const char *const resize_coords[] = {"half_pixel", "asymmetric", "align_corners",
                                            "pytorch_half_pixel", "tf_half_pixel_for_nearest"};
static const char *const resize_nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                             "ceil", "simple"};
static const glia_attr_def resize_attrs[] = {
    GLIA_ATTR_I_REQ("out_h", RESIZE_OUT_H, 1, INT_MAX),
    GLIA_ATTR_I_REQ("out_w", RESIZE_OUT_W, 1, INT_MAX),
    GLIA_ATTR_E("mode", RESIZE_MODE, GLIA_RESIZE_NEAREST, resize_modes),
    GLIA_ATTR_E("coordinate_transformation_mode", RESIZE_COORD, GLIA_RESIZE_HALF_PIXEL, resize_coords),
    GLIA_ATTR_E("nearest_mode", RESIZE_NEAREST, GLIA_RESIZE_ROUND_PREFER_FLOOR, resize_nearest),
    GLIA_ATTR_B("exclude_outside", RESIZE_EXCLUDE_OUTSIDE, 0),
    GLIA_ATTR_F("scale_h", RESIZE_SCALE_H, 0, 0, HUGE_VAL, 0),
    GLIA_ATTR_F("scale_w", RESIZE_SCALE_W, 0, 0, HUGE_VAL, 0),
    GLIA_ATTR_F("cubic_a", RESIZE_CUBIC_A, -0.75, -HUGE_VAL, HUGE_VAL, 0),
};

const glia_op_def glia__op_resize = {
    .name = "resize",
    .summary = "resizing H and W: nearest, linear or cubic, ONNX's coordinate mappings (ONNX "
               "Resize, Upsample; F.interpolate)",
    .inputs = "x[N,C,H,W]", .outputs = "y[N,C,out_h,out_w]", .min_in = 1, .max_in = 1,
    .infer = resize_infer, .forward = resize_forward, .backward = resize_backward,
    GLIA_ATTRS(resize_attrs)};

glia_status glia_resize(glia_graph *g, const char *name, int x, const glia_resize_params *p, int *out) {
    if (!p) return glia__err(GLIA_EINVAL, "resize '%s': no parameters", name ? name : "?");
    int ia[RESIZE_N_IA] = {[RESIZE_OUT_H] = p->out_h, [RESIZE_OUT_W] = p->out_w,
                           [RESIZE_MODE] = (int)p->mode, [RESIZE_COORD] = (int)p->coord,
                           [RESIZE_NEAREST] = (int)p->nearest,
                           [RESIZE_EXCLUDE_OUTSIDE] = p->exclude_outside};
    float fa[RESIZE_N_FA] = {[RESIZE_SCALE_H] = p->scale_h, [RESIZE_SCALE_W] = p->scale_w,
                             [RESIZE_CUBIC_A] = p->cubic_a ? p->cubic_a : -0.75f};
    return glia__add_op(g, GLIA_OP_resize, name, 1, &x, ia, RESIZE_N_IA, fa, RESIZE_N_FA, out);
}
