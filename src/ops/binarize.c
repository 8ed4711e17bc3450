/* binarize.c: binary weights and binary activations (BinaryConnect, XNOR-Net, Rastegari et al.
 * 2016), the one op both are made of.
 *
 *   x[G, ...] -> y[same shape]: for each slice g along dim 0 (a filter of a weight [O, C, kh, kw]
 *   or [O, K]; a sample of an activation [N, C, H, W] or [N, K]) with m elements:
 *     s_g = mean_i |x_gi|   (scaled = 1; s_g = 1 when scaled = 0)
 *     y_gi = s_g sign(x_gi),  sign(v) = v < 0 ? -1 : +1      (0 maps to +1: one bit per value)
 *
 * Backward, L = sum(dy * y): the product rule, with sign's derivative (0 almost everywhere)
 * replaced by the straight-through estimator 1{|x| <= clip} (Hinton; Bengio et al. 2013):
 *     dx_gj += s_g dy_gj 1{|x_gj| <= clip}                      (straight through sign)
 *            + sign(x_gj) / m  sum_i dy_gi sign(x_gi)            (through s_g, when scaled)
 * clip = 0 leaves the exact derivative of the function (what finite differences see); the
 * default clip = 1 is XNOR-Net's. This is the paper's dW = dW~ (1/n + alpha dsign/dW) with the
 * scale's term summed exactly. Backward reads x (OPF_BWD_INPUTS) and recomputes s_g.
 *
 * conv2d and dense whose two operands are binarize nodes compute with XNOR and popcount on packed
 * bits instead of floats (binary_conv.c): y reads back as s_g times one bit per value.
 * Every slice is computed on its own (sums in double, in order): bit-exact for any number of
 * threads. */
#include "../core/internal.h"
#include "binary.h"
#include <math.h>
#include <stdio.h>

static glia_status bin_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    if (x->shape.ndim < 1 || x->shape.dim[0] < 1)
        return glia__bad_shape(g, n, "input", x, "binarize needs [G, ...] with G >= 1");
    n->shape = x->shape;
    n->ws_bytes = n->saved_bytes = 0;
    return GLIA_OK;
}

/* four partial sums (in a fixed order: the same bits for any thread count), so that the adds
 * do not wait on each other */
double glia__binary_scale(const float *x, int64_t m) {
    double s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
        for (int k = 0; k < 4; k++) s[k] += fabs((double)x[i + k]);
    for (; i < m; i++) s[0] += fabs((double)x[i]);
    return m ? ((s[0] + s[1]) + (s[2] + s[3])) / (double)m : 0.0;
}

static glia_status bin_forward(glia_graph *g, glia_node *n) {
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
    int64_t G = n->shape.dim[0], m = glia__numel(n) / G;
    const int scaled = n->ia[BIN_SCALED];
    if (n->folded && glia__xnor_algo != 1) return GLIA_OK; /* its consumers binarize x as they pack */
#pragma omp parallel for schedule(static) if (G * m >= GLIA_PAR_MIN)
    for (int64_t gi = 0; gi < G; gi++) {
        const float *xg = x + gi * m;
        float *yg = y + gi * m;
        float s = scaled ? (float)glia__binary_scale(xg, m) : 1.0f;
        for (int64_t i = 0; i < m; i++) yg[i] = xg[i] < 0 ? -s : s;
    }
    return GLIA_OK;
}

static void bin_backward(glia_graph *g, glia_node *n) {
    glia_node *X = glia__in(g, n, 0);
    float *dx = X->grad;
    if (!dx) return;
    const float *x = X->val, *dy = n->grad;
    int64_t G = n->shape.dim[0], m = glia__numel(n) / G;
    const int scaled = n->ia[BIN_SCALED];
    const float clip = n->fa[BIN_CLIP];
#pragma omp parallel for schedule(static) if (G * m >= GLIA_PAR_MIN)
    for (int64_t gi = 0; gi < G; gi++) {
        const float *xg = x + gi * m, *dyg = dy + gi * m;
        float *dxg = dx + gi * m;
        float s = 1.0f, t = 0.0f; /* t = (1/m) sum_i dy_i sign(x_i) */
        if (scaled) {
            double acc = 0;
            for (int64_t i = 0; i < m; i++) acc += xg[i] < 0 ? -(double)dyg[i] : (double)dyg[i];
            t = (float)(acc / (double)m);
            s = (float)glia__binary_scale(xg, m);
        }
        for (int64_t i = 0; i < m; i++) {
            float ste = fabsf(xg[i]) <= clip ? s * dyg[i] : 0.0f;
            dxg[i] += ste + (scaled ? (xg[i] < 0 ? -t : t) : 0.0f);
        }
    }
}

static const glia_attr_def bin_attrs[] = {
    GLIA_ATTR_B("scaled", BIN_SCALED, 1),
    GLIA_ATTR_F("clip", BIN_CLIP, 1.0, 0, HUGE_VAL, 0),
};

const glia_op_def glia__op_binarize = {
    .name = "binarize",
    .summary = "y = s sign(x) per slice of dim 0, s = mean |x| (scaled) or 1; straight-through "
               "gradient where |x| <= clip",
    .inputs = "x[G, ...]", .outputs = "y[same shape]", .min_in = 1, .max_in = 1,
    .flags = OPF_BWD_INPUTS, .infer = bin_infer, .forward = bin_forward,
    .backward = bin_backward, GLIA_ATTRS(bin_attrs)};

glia_status glia_binarize(glia_graph *g, const char *name, int x, int scaled, float clip,
                          int *out) {
    int ia[1] = {scaled};
    float fa[1] = {clip};
    return glia__add_op(g, GLIA_OP_binarize, name, 1, &x, ia, 1, fa, 1, out);
}
