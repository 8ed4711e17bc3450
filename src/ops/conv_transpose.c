/* conv_transpose.c: 2-D transposed convolution (PyTorch's F.conv_transpose2d, ONNX's
 * ConvTranspose), the adjoint of conv2d (conv2d.c) with the same stride, padding, dilation and
 * groups:
 *
 *   x[N,C,H,W], w[C,O/G,kh,kw], b[O] (optional)  ->  y[N,O,OH,OW]
 *   OH = (H - 1) sh - pt - pb + dh (kh - 1) + 1 + out_pad_h                 (same for OW)
 *   y[n, o, h sh - pt + i dh, w sw - pl + j dw] += x[n, c, h, w] w[c, o - g Og, i, j]
 *     for every c of group g = o / Og (Og = O/G output, Cg = C/G input channels per group)
 *
 * It is conv2d's backward-data pass run forward: seen from y, the geometry is a convolution
 * of y (O channels, OH x OW) into x (C channels, H x W), so conv2d's column matrix serves
 * (glia__conv_im2col / glia__conv_col2im_add, conv.h). Per image and group, K = Og kh kw,
 * P = H W:
 *   col[g] (K x P)  = w[g]^T (K x Cg) . x[n][g] (Cg x P),   y[n] = col2im(col) (+ b)
 * Backward, L = sum(dy * y), dcol = im2col(dy[n]):
 *   dx[n][g] += w[g] (Cg x K) . dcol[g] (K x P)
 *   dw[g]    += x[n][g] (Cg x P) . dcol[g]^T (P x K)          (images in order)
 *   db[o]    += sum over n, then p, of dy[n][o][p]            (in double, lane_sums.h)
 * One image's columns live in the workspace; every sum has a fixed order (the GEMMs run
 * outside OpenMP regions, col2im gives each channel to one thread), so results do not depend
 * on the number of threads.
 *
 * Attributes: conv2d's (stride_h .. groups, slots CONV_*) and out_pad_h, out_pad_w. */
#include "../core/internal.h"
#include "conv.h"
#include "../core/lane_sums.h"
#include <cblas.h>
#include <limits.h>
#include <string.h>

/* the convolution of y into x that this node is the transpose of (conv.h's geometry, with
 * C, H, W those of y and O, OH, OW those of x) */
static void dual_geom(glia_graph *g, const glia_node *n, conv_geom *c) {
    const glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    memset(c, 0, sizeof *c);
    c->N = (int)x->shape.dim[0];
    c->O = (int)x->shape.dim[1];
    c->OH = (int)x->shape.dim[2];
    c->OW = (int)x->shape.dim[3];
    c->C = (int)n->shape.dim[1];
    c->H = (int)n->shape.dim[2];
    c->W = (int)n->shape.dim[3];
    c->kh = (int)w->shape.dim[2];
    c->kw = (int)w->shape.dim[3];
    c->sh = n->ia[CONV_STRIDE_H], c->sw = n->ia[CONV_STRIDE_W];
    c->pt = n->ia[CONV_PAD_TOP], c->pb = n->ia[CONV_PAD_BOTTOM];
    c->pl = n->ia[CONV_PAD_LEFT], c->pr = n->ia[CONV_PAD_RIGHT];
    c->dh = n->ia[CONV_DILATION_H], c->dw = n->ia[CONV_DILATION_W];
    c->G = n->ia[CONV_GROUPS];
    c->Cg = c->C / c->G; /* output channels of a group (y's) */
    c->Og = c->O / c->G; /* input channels of a group (x's) */
    c->K = c->Cg * c->kh * c->kw;
    c->P = c->OH * c->OW;
    c->nb = 1;
}

static glia_status deconv_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    char a[96], b[96];
    if (x->shape.ndim != 4) return glia__bad_shape(g, n, "input", x, "conv_transpose2d needs [N, C, H, W]");
    if (w->shape.ndim != 4)
        return glia__bad_shape(g, n, "weight", w, "conv_transpose2d needs [in, out/groups, kh, kw]");
    int64_t C = x->shape.dim[1], H = x->shape.dim[2], W = x->shape.dim[3];
    int64_t G = n->ia[CONV_GROUPS], O = w->shape.dim[1] * G, kh = w->shape.dim[2], kw = w->shape.dim[3];
    if (w->shape.dim[0] != C || C % G)
        return glia__err(GLIA_ESHAPE, "%s: weight '%s' %s needs [%lld, out/groups, kh, kw] for input "
                         "'%s' %s with groups = %lld (divisible by the groups)", glia__where(g, n),
                         w->name, glia_shape_str(&w->shape, a, sizeof a), (long long)C, x->name,
                         glia_shape_str(&x->shape, b, sizeof b), (long long)G);
    if (n->n_in == 3) {
        glia_node *bias = glia__in(g, n, 2);
        if (bias->shape.ndim != 1 || bias->shape.dim[0] != O)
            return glia__err(GLIA_ESHAPE, "%s: bias '%s' has shape %s, expected [%lld] (weight '%s' %s)",
                             glia__where(g, n), bias->name, glia_shape_str(&bias->shape, a, sizeof a),
                             (long long)O, w->name, glia_shape_str(&w->shape, b, sizeof b));
    }
    int64_t OH = (H - 1) * n->ia[CONV_STRIDE_H] - n->ia[CONV_PAD_TOP] - n->ia[CONV_PAD_BOTTOM] +
                 (int64_t)n->ia[CONV_DILATION_H] * (kh - 1) + 1 + n->ia[DECONV_OUT_PAD_H];
    int64_t OW = (W - 1) * n->ia[CONV_STRIDE_W] - n->ia[CONV_PAD_LEFT] - n->ia[CONV_PAD_RIGHT] +
                 (int64_t)n->ia[CONV_DILATION_W] * (kw - 1) + 1 + n->ia[DECONV_OUT_PAD_W];
    if (OH < 1 || OW < 1)
        return glia__err(GLIA_ESHAPE, "%s: the padding leaves an output of %lldx%lld from input '%s' %s",
                         glia__where(g, n), (long long)OH, (long long)OW, x->name,
                         glia_shape_str(&x->shape, a, sizeof a));
    if (OH > INT_MAX || OW > INT_MAX || OH * OW > INT_MAX || O * kh * kw > INT_MAX ||
        H * W > INT_MAX || x->shape.dim[0] > INT_MAX)
        return glia__err(GLIA_ESHAPE, "%s: input %s with weight %s is too large for one GEMM",
                         glia__where(g, n), glia_shape_str(&x->shape, a, sizeof a),
                         glia_shape_str(&w->shape, b, sizeof b));
    n->shape.ndim = 4;
    n->shape.dim[0] = x->shape.dim[0];
    n->shape.dim[1] = O;
    n->shape.dim[2] = OH;
    n->shape.dim[3] = OW;
    n->ws_bytes = (size_t)O * (size_t)(kh * kw) * (size_t)(H * W) * sizeof(float); /* one image's columns */
    n->saved_bytes = 0;
    return GLIA_OK;
}

static glia_status deconv_forward(glia_graph *g, glia_node *n) {
    conv_geom c;
    dual_geom(g, n, &c);
    const float *x = glia__in(g, n, 0)->val, *w = glia__in(g, n, 1)->val;
    const float *bias = n->n_in == 3 ? glia__in(g, n, 2)->val : NULL;
    float *y = n->val, *col = g->workspace;
    size_t xstride = (size_t)c.O * c.P, ystride = (size_t)c.C * c.H * c.W, plane = (size_t)c.H * c.W;
    int64_t planes = (int64_t)c.N * c.C;
#pragma omp parallel for schedule(static) if (planes * (int64_t)plane >= GLIA_PAR_MIN)
    for (int64_t t = 0; t < planes; t++) { /* y starts as the bias */
        float bo = bias ? bias[t % c.C] : 0.0f, *yo = y + (size_t)t * plane;
        for (size_t p = 0; p < plane; p++) yo[p] = bo;
    }
    for (int i = 0; i < c.N; i++) {
        for (int gr = 0; gr < c.G; gr++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c.K, c.P, c.Og, 1.0f,
                        w + (size_t)gr * c.Og * c.K, c.K, x + i * xstride + (size_t)gr * c.Og * c.P,
                        c.P, 0.0f, col + (size_t)gr * c.K * c.P, c.P);
        glia__conv_col2im_add(&c, col, 1, y + i * ystride);
    }
    return GLIA_OK;
}

static void deconv_backward(glia_graph *g, glia_node *n) {
    conv_geom c;
    dual_geom(g, n, &c);
    glia_node *X = glia__in(g, n, 0), *Wn = glia__in(g, n, 1);
    const float *x = X->val, *w = Wn->val, *dy = n->grad;
    float *dx = X->grad, *dw = Wn->grad, *col = g->workspace;
    float *db = n->n_in == 3 ? glia__in(g, n, 2)->grad : NULL;
    size_t xstride = (size_t)c.O * c.P, ystride = (size_t)c.C * c.H * c.W, plane = (size_t)c.H * c.W;
    if (db) {
#pragma omp parallel for schedule(static) if ((int64_t)c.N * c.C * (int64_t)plane >= GLIA_PAR_MIN)
        for (int o = 0; o < c.C; o++) {
            double s[GLIA_LANES] = {0}; /* images in order, positions in lanes (lane_sums.h) */
            for (int i = 0; i < c.N; i++) glia__lanes_sum(s, dy + i * ystride + (size_t)o * plane, (int64_t)plane);
            db[o] += (float)glia__lanes_total(s);
        }
    }
    if (!dx && !dw) return;
    for (int i = 0; i < c.N; i++) {
        glia__conv_im2col(&c, dy + i * ystride, 1, col);
        for (int gr = 0; gr < c.G; gr++) {
            const float *dcol = col + (size_t)gr * c.K * c.P, *wg = w + (size_t)gr * c.Og * c.K;
            size_t xo = i * xstride + (size_t)gr * c.Og * c.P;
            if (dx)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c.Og, c.P, c.K, 1.0f, wg,
                            c.K, dcol, c.P, 1.0f, dx + xo, c.P);
            if (dw)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c.Og, c.K, c.P, 1.0f, x + xo,
                            c.P, dcol, c.P, 1.0f, dw + (size_t)gr * c.Og * c.K, c.K);
        }
    }
}

static const glia_attr_def deconv_attrs[] = {
    GLIA_ATTR_I("stride_h", CONV_STRIDE_H, 1, 1, INT_MAX),
    GLIA_ATTR_I("stride_w", CONV_STRIDE_W, 1, 1, INT_MAX),
    GLIA_ATTR_I("pad_top", CONV_PAD_TOP, 0, 0, INT_MAX),
    GLIA_ATTR_I("pad_bottom", CONV_PAD_BOTTOM, 0, 0, INT_MAX),
    GLIA_ATTR_I("pad_left", CONV_PAD_LEFT, 0, 0, INT_MAX),
    GLIA_ATTR_I("pad_right", CONV_PAD_RIGHT, 0, 0, INT_MAX),
    GLIA_ATTR_I("dilation_h", CONV_DILATION_H, 1, 1, INT_MAX),
    GLIA_ATTR_I("dilation_w", CONV_DILATION_W, 1, 1, INT_MAX),
    GLIA_ATTR_I("groups", CONV_GROUPS, 1, 1, INT_MAX),
    GLIA_ATTR_I("out_pad_h", DECONV_OUT_PAD_H, 0, 0, INT_MAX),
    GLIA_ATTR_I("out_pad_w", DECONV_OUT_PAD_W, 0, 0, INT_MAX),
};

const glia_op_def glia__op_conv_transpose2d = {
    .name = "conv_transpose2d",
    .summary = "transposed 2-D convolution (GEMM + col2im): stride, asymmetric padding, "
               "output padding, dilation, groups",
    .inputs = "x[N,C,H,W], w[C,O/groups,kh,kw], b[O]?", .outputs = "y[N,O,OH,OW]",
    .min_in = 2, .max_in = 3, .flags = OPF_BWD_INPUTS,
    .infer = deconv_infer, .forward = deconv_forward, .backward = deconv_backward,
    GLIA_ATTRS(deconv_attrs)};

glia_status glia_conv_transpose2d(glia_graph *g, const char *name, int x, int w, int b,
                                  const glia_conv_transpose2d_params *p, int *out) {
    static const glia_conv_transpose2d_params none = {{0}, 0, 0};
    if (!p) p = &none;
    const glia_conv2d_params *q = &p->conv;
    int ia[DECONV_N_IA] = {q->stride_h, q->stride_w, q->pad_top, q->pad_bottom, q->pad_left,
                           q->pad_right, q->dilation_h, q->dilation_w, q->groups,
                           p->out_pad_h, p->out_pad_w};
    for (int i = 0; i < CONV_N_IA; i++) /* the params' 0 means the default */
        if (!ia[i]) ia[i] = (int)glia__op_attr(GLIA_OP_conv_transpose2d, i, false)->def;
    int in[3] = {x, w, b};
    return glia__add_op(g, GLIA_OP_conv_transpose2d, name, b >= 0 ? 3 : 2, in, ia, DECONV_N_IA,
                        NULL, 0, out);
}
