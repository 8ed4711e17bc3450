/* ref_conv.c: reference kernels of conv2d, conv_transpose2d, maxpool2d, avgpool2d, global_avgpool
 * and resize, straight from the definitions (src/ops/conv2d.c, conv_transpose.c, pool.c and
 * resize.c have the same ones, computed fast). */
#include "ref.h"
#include <math.h>

/* ---------------------------------------------------------------- conv2d
 * x[N,C,H,W], w[O,C/G,kh,kw], b[O]?  ->  y[N,O,OH,OW]   (OH, OW from the node's shape)
 * With Cg = C/G input and Og = O/G output channels per group, output channel o in group o/Og:
 *   y[n,o,oh,ow] = b[o] + sum_{c<Cg, i<kh, j<kw} x[n, (o/Og) Cg + c, oh sh - pt + i dh, ow sw - pl + j dw]
 *                                                w[o,c,i,j]            (x outside the image: 0)
 * For L = sum(dy y):
 *   dw[o,c,i,j] += sum_{n,oh,ow} dy[n,o,oh,ow] x[n, (o/Og) Cg + c, oh sh - pt + i dh, ow sw - pl + j dw]
 *   db[o]       += sum_{n,oh,ow} dy[n,o,oh,ow]
 *   dx: every term x[..] w[o,c,i,j] of y[n,o,oh,ow] adds dy[n,o,oh,ow] w[o,c,i,j] to the dx of
 *       the x it read (summed in double in the workspace, then added to dx) */
typedef struct {
    int N, C, H, W, O, OH, OW, kh, kw;
    int sh, sw, pt, pl, dh, dw, G, Cg, Og;
} conv_dims;

/* conv2d's attributes (attrs.h CONV_*; the bottom and right padding only shape the output,
 * which the node's shape already gives) */
static conv_dims conv_of(glia_graph *g, const glia_node *n) {
    const glia_shape *x = &glia__in(g, n, 0)->shape, *w = &glia__in(g, n, 1)->shape;
    conv_dims d = {(int)x->dim[0], (int)x->dim[1], (int)x->dim[2], (int)x->dim[3], (int)w->dim[0],
                   (int)n->shape.dim[2], (int)n->shape.dim[3], (int)w->dim[2], (int)w->dim[3],
                   n->ia[CONV_STRIDE_H], n->ia[CONV_STRIDE_W], n->ia[CONV_PAD_TOP], n->ia[CONV_PAD_LEFT],
                   n->ia[CONV_DILATION_H], n->ia[CONV_DILATION_W], n->ia[CONV_GROUPS], 0, 0};
    d.Cg = d.C / d.G;
    d.Og = d.O / d.G;
    return d;
}

static int64_t at4(int64_t a, int64_t b, int64_t c, int64_t e, int B, int C, int E) {
    return ((a * B + b) * C + c) * E + e;
}

static glia_status conv_forward(glia_graph *g, glia_node *n) {
    const conv_dims d = conv_of(g, n);
    const float *x = ref_x(g, n, 0), *w = ref_x(g, n, 1), *b = n->n_in == 3 ? ref_x(g, n, 2) : NULL;
    for (int i = 0; i < d.N; i++)
        for (int o = 0; o < d.O; o++)
            for (int oh = 0; oh < d.OH; oh++)
                for (int ow = 0; ow < d.OW; ow++) {
                    double s = b ? b[o] : 0.0;
                    for (int c = 0; c < d.Cg; c++)
                        for (int ki = 0; ki < d.kh; ki++)
                            for (int kj = 0; kj < d.kw; kj++) {
                                int h = oh * d.sh - d.pt + ki * d.dh, wc = ow * d.sw - d.pl + kj * d.dw;
                                if (h < 0 || h >= d.H || wc < 0 || wc >= d.W) continue;
                                int ch = o / d.Og * d.Cg + c;
                                s += (double)x[at4(i, ch, h, wc, d.C, d.H, d.W)] *
                                     w[at4(o, c, ki, kj, d.Cg, d.kh, d.kw)];
                            }
                    n->val[at4(i, o, oh, ow, d.O, d.OH, d.OW)] = (float)s;
                }
    return GLIA_OK;
}

static void conv_backward(glia_graph *g, glia_node *n) {
    const conv_dims d = conv_of(g, n);
    const float *x = ref_x(g, n, 0), *w = ref_x(g, n, 1), *dy = n->grad;
    float *dx = ref_dx(g, n, 0), *dw = ref_dx(g, n, 1), *db = n->n_in == 3 ? ref_dx(g, n, 2) : NULL;
    if (db)
        for (int o = 0; o < d.O; o++) {
            double s = 0;
            for (int i = 0; i < d.N; i++)
                for (int p = 0; p < d.OH * d.OW; p++) s += dy[((int64_t)i * d.O + o) * d.OH * d.OW + p];
            db[o] += (float)s;
        }
    if (dw)
        for (int o = 0; o < d.O; o++)
            for (int c = 0; c < d.Cg; c++)
                for (int ki = 0; ki < d.kh; ki++)
                    for (int kj = 0; kj < d.kw; kj++) {
                        double s = 0;
                        int ch = o / d.Og * d.Cg + c;
                        for (int i = 0; i < d.N; i++)
                            for (int oh = 0; oh < d.OH; oh++)
                                for (int ow = 0; ow < d.OW; ow++) {
                                    int h = oh * d.sh - d.pt + ki * d.dh, wc = ow * d.sw - d.pl + kj * d.dw;
                                    if (h < 0 || h >= d.H || wc < 0 || wc >= d.W) continue;
                                    s += (double)dy[at4(i, o, oh, ow, d.O, d.OH, d.OW)] *
                                         x[at4(i, ch, h, wc, d.C, d.H, d.W)];
                                }
                        dw[at4(o, c, ki, kj, d.Cg, d.kh, d.kw)] += (float)s;
                    }
    if (dx) { /* each term of y adds dy w to the dx of the x it read: scattered in double */
        double *acc = g->workspace;
        const int64_t nx = (int64_t)d.N * d.C * d.H * d.W;
        for (int64_t k = 0; k < nx; k++) acc[k] = 0;
        for (int i = 0; i < d.N; i++)
            for (int o = 0; o < d.O; o++)
                for (int oh = 0; oh < d.OH; oh++)
                    for (int ow = 0; ow < d.OW; ow++) {
                        const double gy = dy[at4(i, o, oh, ow, d.O, d.OH, d.OW)];
                        for (int c = 0; c < d.Cg; c++)
                            for (int ki = 0; ki < d.kh; ki++)
                                for (int kj = 0; kj < d.kw; kj++) {
                                    int h = oh * d.sh - d.pt + ki * d.dh, wc = ow * d.sw - d.pl + kj * d.dw;
                                    if (h < 0 || h >= d.H || wc < 0 || wc >= d.W) continue;
                                    int ch = o / d.Og * d.Cg + c;
                                    acc[at4(i, ch, h, wc, d.C, d.H, d.W)] +=
                                        gy * w[at4(o, c, ki, kj, d.Cg, d.kh, d.kw)];
                                }
                    }
        for (int64_t k = 0; k < nx; k++) dx[k] += (float)acc[k];
    }
}

/* dx's sums, in double */
size_t glia__ref_conv_ws_bytes(const glia_graph *g, const glia_node *n) {
    return (size_t)glia__numel(glia__in((glia_graph *)g, n, 0)) * sizeof(double);
}

const glia_kernel glia__ref_conv2d = {conv_forward, conv_backward};

/* ---------------------------------------------------------------- pooling
 * x[N,C,H,W] -> y[N,C,OH,OW]; the window of (oh, ow) covers rows oh sh - ph .. + kh - 1 and
 * columns ow sw - pw .. + kw - 1, cells outside the image being padding.
 *   max   y = the largest cell of the window (padding never chosen; the first largest in row
 *         order wins a tie, and a NaN wins over numbers, the last NaN as in PyTorch);
 *         dx[argmax] += dy (the argmax saved as int32 h W + w per output: backward reads no x)
 *   avg   y = sum of the window's cells / its area (padding counts as zeros; the area is kh kw,
 *         less what a ceil_mode window has past the padded input: min(h0 + kh, H + ph) - h0
 *         rows); dx[cell] += dy / area for every cell of the window
 *   global average: y[n,c] = sum over H W of x / (H W);  dx += dy / (H W) */
typedef struct {
    int64_t planes;
    int H, W, OH, OW, kh, kw, sh, sw, ph, pw;
} pool_dims;

/* maxpool2d's and avgpool2d's attributes (attrs.h POOL_*) */
static pool_dims pool_of(glia_graph *g, const glia_node *n) {
    const glia_shape *x = &glia__in(g, n, 0)->shape;
    pool_dims p = {x->dim[0] * x->dim[1], (int)x->dim[2], (int)x->dim[3], (int)n->shape.dim[2],
                   (int)n->shape.dim[3], n->ia[POOL_KERNEL_H], n->ia[POOL_KERNEL_W],
                   n->ia[POOL_STRIDE_H], n->ia[POOL_STRIDE_W], n->ia[POOL_PAD_H], n->ia[POOL_PAD_W]};
    return p;
}

static glia_status maxpool_forward(glia_graph *g, glia_node *n) {
    const pool_dims p = pool_of(g, n);
    const float *x = ref_x(g, n, 0);
    int32_t *arg = n->saved;
    for (int64_t q = 0; q < p.planes; q++)
        for (int oh = 0; oh < p.OH; oh++)
            for (int ow = 0; ow < p.OW; ow++) {
                float best = -INFINITY;
                int32_t at = -1;
                for (int i = 0; i < p.kh; i++)
                    for (int j = 0; j < p.kw; j++) {
                        int h = oh * p.sh - p.ph + i, w = ow * p.sw - p.pw + j;
                        if (h < 0 || h >= p.H || w < 0 || w >= p.W) continue;
                        float v = x[(q * p.H + h) * p.W + w];
                        if (at < 0 || v > best || isnan(v)) best = v, at = h * p.W + w;
                    }
                int64_t yi = (q * p.OH + oh) * p.OW + ow;
                n->val[yi] = best;
                arg[yi] = at;
            }
    return GLIA_OK;
}

static void maxpool_backward(glia_graph *g, glia_node *n) {
    const pool_dims p = pool_of(g, n);
    float *dx = ref_dx(g, n, 0);
    const int32_t *arg = n->saved;
    if (!dx) return;
    for (int64_t q = 0; q < p.planes; q++)
        for (int64_t o = 0; o < (int64_t)p.OH * p.OW; o++)
            if (arg[q * p.OH * p.OW + o] >= 0)
                dx[q * p.H * p.W + arg[q * p.OH * p.OW + o]] += n->grad[q * p.OH * p.OW + o];
}

const glia_kernel glia__ref_maxpool2d = {maxpool_forward, maxpool_backward};

/* the divisor of window (oh, ow): its cells inside the padded input */
static double area(const pool_dims *p, int oh, int ow) {
    int h0 = oh * p->sh - p->ph, w0 = ow * p->sw - p->pw;
    int he = h0 + p->kh < p->H + p->ph ? h0 + p->kh : p->H + p->ph;
    int we = w0 + p->kw < p->W + p->pw ? w0 + p->kw : p->W + p->pw;
    return (double)(he - h0) * (we - w0);
}

static glia_status avgpool_forward(glia_graph *g, glia_node *n) {
    const pool_dims p = pool_of(g, n);
    const float *x = ref_x(g, n, 0);
    for (int64_t q = 0; q < p.planes; q++)
        for (int oh = 0; oh < p.OH; oh++)
            for (int ow = 0; ow < p.OW; ow++) {
                double s = 0;
                for (int i = 0; i < p.kh; i++)
                    for (int j = 0; j < p.kw; j++) {
                        int h = oh * p.sh - p.ph + i, w = ow * p.sw - p.pw + j;
                        if (h >= 0 && h < p.H && w >= 0 && w < p.W) s += x[(q * p.H + h) * p.W + w];
                    }
                n->val[(q * p.OH + oh) * p.OW + ow] = (float)(s / area(&p, oh, ow));
            }
    return GLIA_OK;
}

static void avgpool_backward(glia_graph *g, glia_node *n) {
    const pool_dims p = pool_of(g, n);
    float *dx = ref_dx(g, n, 0);
    if (!dx) return;
    for (int64_t q = 0; q < p.planes; q++)
        for (int h = 0; h < p.H; h++)
            for (int w = 0; w < p.W; w++) {
                double s = 0; /* every window that covers (h, w) */
                for (int oh = 0; oh < p.OH; oh++)
                    for (int ow = 0; ow < p.OW; ow++) {
                        int i = h - (oh * p.sh - p.ph), j = w - (ow * p.sw - p.pw);
                        if (i >= 0 && i < p.kh && j >= 0 && j < p.kw)
                            s += n->grad[(q * p.OH + oh) * p.OW + ow] / area(&p, oh, ow);
                    }
                dx[(q * p.H + h) * p.W + w] += (float)s;
            }
}

const glia_kernel glia__ref_avgpool2d = {avgpool_forward, avgpool_backward};

static glia_status gap_forward(glia_graph *g, glia_node *n) {
    const glia_shape *xs = &glia__in(g, n, 0)->shape;
    const float *x = ref_x(g, n, 0);
    const int64_t planes = xs->dim[0] * xs->dim[1], hw = xs->dim[2] * xs->dim[3];
    for (int64_t q = 0; q < planes; q++) {
        double s = 0;
        for (int64_t i = 0; i < hw; i++) s += x[q * hw + i];
        n->val[q] = (float)(s / (double)hw);
    }
    return GLIA_OK;
}

static void gap_backward(glia_graph *g, glia_node *n) {
    const glia_shape *xs = &glia__in(g, n, 0)->shape;
    float *dx = ref_dx(g, n, 0);
    if (!dx) return;
    const int64_t planes = xs->dim[0] * xs->dim[1], hw = xs->dim[2] * xs->dim[3];
    for (int64_t q = 0; q < planes; q++)
        for (int64_t i = 0; i < hw; i++) dx[q * hw + i] += (float)((double)n->grad[q] / (double)hw);
}

const glia_kernel glia__ref_global_avgpool = {gap_forward, gap_backward};

/* ---------------------------------------------------------------- conv_transpose2d
 * x[N,C,H,W], w[C,O/G,kh,kw], b[O]?  ->  y[N,O,OH,OW], with Cg = C/G input and Og = O/G output
 * channels per group: every x[n,c,h,w] adds x w[c,o',i,j] to y[n, g Og + o', h sh - pt + i dh,
 * w sw - pl + j dw] (g = c / Cg) where that lies inside y. Written as gathers, each sum in double:
 *   y[n,o,oh,ow] = b[o] + sum over (c, i, j, h, w) that land on (oh, ow) of x[n,c,h,w] w[c,o',i,j]
 *   dx[n,c,h,w]  = sum_{o',i,j} dy[n, g Og + o', h sh - pt + i dh, w sw - pl + j dw] w[c,o',i,j]
 *   dw[c,o',i,j] = sum_{n,h,w} x[n,c,h,w] dy[n, g Og + o', h sh - pt + i dh, w sw - pl + j dw]
 *   db[o]        = sum_{n,oh,ow} dy[n,o,oh,ow] */
static conv_dims deconv_of(glia_graph *g, const glia_node *n) {
    const glia_shape *x = &glia__in(g, n, 0)->shape, *w = &glia__in(g, n, 1)->shape;
    conv_dims d = {(int)x->dim[0], (int)x->dim[1], (int)x->dim[2], (int)x->dim[3], (int)n->shape.dim[1],
                   (int)n->shape.dim[2], (int)n->shape.dim[3], (int)w->dim[2], (int)w->dim[3],
                   n->ia[CONV_STRIDE_H], n->ia[CONV_STRIDE_W], n->ia[CONV_PAD_TOP], n->ia[CONV_PAD_LEFT],
                   n->ia[CONV_DILATION_H], n->ia[CONV_DILATION_W], n->ia[CONV_GROUPS], 0, 0};
    d.Cg = d.C / d.G;
    d.Og = d.O / d.G;
    return d;
}

/* the output row (or column) that input row h reaches through kernel tap i; -1 if outside */
static int deconv_at(int h, int i, int s, int p, int dil, int len) {
    int o = h * s - p + i * dil;
    return o >= 0 && o < len ? o : -1;
}

static glia_status deconv_forward(glia_graph *g, glia_node *n) {
    const conv_dims d = deconv_of(g, n);
    const float *x = ref_x(g, n, 0), *w = ref_x(g, n, 1), *b = n->n_in == 3 ? ref_x(g, n, 2) : NULL;
    for (int i = 0; i < d.N; i++)
        for (int o = 0; o < d.O; o++)
            for (int oh = 0; oh < d.OH; oh++)
                for (int ow = 0; ow < d.OW; ow++) {
                    double s = b ? b[o] : 0.0;
                    int gr = o / d.Og, oo = o % d.Og;
                    for (int c = gr * d.Cg; c < (gr + 1) * d.Cg; c++)
                        for (int ki = 0; ki < d.kh; ki++)
                            for (int kj = 0; kj < d.kw; kj++)
                                for (int h = 0; h < d.H; h++) {
                                    if (deconv_at(h, ki, d.sh, d.pt, d.dh, d.OH) != oh) continue;
                                    for (int wc = 0; wc < d.W; wc++)
                                        if (deconv_at(wc, kj, d.sw, d.pl, d.dw, d.OW) == ow)
                                            s += (double)x[at4(i, c, h, wc, d.C, d.H, d.W)] *
                                                 w[at4(c, oo, ki, kj, d.Og, d.kh, d.kw)];
                                }
                    n->val[at4(i, o, oh, ow, d.O, d.OH, d.OW)] = (float)s;
                }
    return GLIA_OK;
}

static void deconv_backward(glia_graph *g, glia_node *n) {
    const conv_dims d = deconv_of(g, n);
    const float *x = ref_x(g, n, 0), *w = ref_x(g, n, 1), *dy = n->grad;
    float *dx = ref_dx(g, n, 0), *dw = ref_dx(g, n, 1), *db = n->n_in == 3 ? ref_dx(g, n, 2) : NULL;
    if (db)
        for (int o = 0; o < d.O; o++) {
            double s = 0;
            for (int i = 0; i < d.N; i++)
                for (int p = 0; p < d.OH * d.OW; p++) s += dy[((int64_t)i * d.O + o) * d.OH * d.OW + p];
            db[o] += (float)s;
        }
    for (int c = 0; c < d.C; c++) {
        int gr = c / d.Cg;
        for (int oo = 0; oo < d.Og && dw; oo++)
            for (int ki = 0; ki < d.kh; ki++)
                for (int kj = 0; kj < d.kw; kj++) {
                    double s = 0;
                    for (int i = 0; i < d.N; i++)
                        for (int h = 0; h < d.H; h++)
                            for (int wc = 0; wc < d.W; wc++) {
                                int oh = deconv_at(h, ki, d.sh, d.pt, d.dh, d.OH);
                                int ow = deconv_at(wc, kj, d.sw, d.pl, d.dw, d.OW);
                                if (oh >= 0 && ow >= 0)
                                    s += (double)x[at4(i, c, h, wc, d.C, d.H, d.W)] *
                                         dy[at4(i, gr * d.Og + oo, oh, ow, d.O, d.OH, d.OW)];
                            }
                    dw[at4(c, oo, ki, kj, d.Og, d.kh, d.kw)] += (float)s;
                }
        for (int i = 0; i < d.N && dx; i++)
            for (int h = 0; h < d.H; h++)
                for (int wc = 0; wc < d.W; wc++) {
                    double s = 0;
                    for (int oo = 0; oo < d.Og; oo++)
                        for (int ki = 0; ki < d.kh; ki++)
                            for (int kj = 0; kj < d.kw; kj++) {
                                int oh = deconv_at(h, ki, d.sh, d.pt, d.dh, d.OH);
                                int ow = deconv_at(wc, kj, d.sw, d.pl, d.dw, d.OW);
                                if (oh >= 0 && ow >= 0)
                                    s += (double)dy[at4(i, gr * d.Og + oo, oh, ow, d.O, d.OH, d.OW)] *
                                         w[at4(c, oo, ki, kj, d.Og, d.kh, d.kw)];
                            }
                    dx[at4(i, c, h, wc, d.C, d.H, d.W)] += (float)s;
                }
    }
}

const glia_kernel glia__ref_conv_transpose2d = {deconv_forward, deconv_backward};

/* ---------------------------------------------------------------- resize
 * y[n,c,oh,ow] = sum_{h,w} a_H(h; oh) a_W(w; ow) x[n,c,h,w], with the weight a(i; o) that input
 * index i gets for output o along an axis, from the coordinate u(o) (src/ops/resize.c, with the
 * resized length in * scale):
 *   nearest  1 where i is u rounded (round half down: ceil(u - 1/2), half up: floor(u + 1/2),
 *            floor, ceil; simple: floor for scale >= 1, else ceil), clamped into the input
 *   linear   the hat max(0, 1 - |clamp(u, 0, in - 1) - i|)
 *   cubic    sum of c(u - j) over the j with |u - j| < 2 that clamp to i (Keys' kernel; with
 *            exclude_outside only j inside the input, divided by the sum of their c)
 * dx[n,c,h,w] = sum_{oh,ow} a_H(h; oh) a_W(w; ow) dy[n,c,oh,ow] */
static double resize_u(const glia_node *n, int o, int in, int out, float scale) {
    double s = scale > 0 ? scale : (double)out / in, L = scale > 0 ? in * s : out;
    switch (n->ia[RESIZE_COORD]) {
    case GLIA_RESIZE_ASYMMETRIC: return o / s;
    case GLIA_RESIZE_ALIGN_CORNERS: return L <= 1 ? 0 : (double)o * (in - 1) / (L - 1);
    case GLIA_RESIZE_PYTORCH_HALF_PIXEL: return L <= 1 ? 0 : (o + 0.5) / s - 0.5;
    case GLIA_RESIZE_TF_HALF_PIXEL_FOR_NEAREST: return (o + 0.5) / s;
    default: return (o + 0.5) / s - 0.5;
    }
}
static double resize_keys(double d, double a) {
    d = fabs(d);
    if (d <= 1) return (a + 2) * d * d * d - (a + 3) * d * d + 1;
    if (d < 2) return a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a;
    return 0;
}
static double resize_a(const glia_node *n, int i, int o, int in, int out, float scale) {
    double u = resize_u(n, o, in, out, scale), s = scale > 0 ? scale : (double)out / in;
    if (n->ia[RESIZE_MODE] == GLIA_RESIZE_NEAREST) {
        double r;
        switch (n->ia[RESIZE_NEAREST]) {
        case GLIA_RESIZE_ROUND_PREFER_FLOOR: r = ceil(u - 0.5); break;
        case GLIA_RESIZE_ROUND_PREFER_CEIL: r = floor(u + 0.5); break;
        case GLIA_RESIZE_CEIL: r = ceil(u); break;
        case GLIA_RESIZE_SIMPLE: r = s >= 1 ? floor(u) : ceil(u); break;
        default: r = floor(u);
        }
        r = r < 0 ? 0 : r > in - 1 ? in - 1 : r;
        return r == i;
    }
    if (n->ia[RESIZE_MODE] == GLIA_RESIZE_LINEAR) {
        double uc = u < 0 ? 0 : u > in - 1 ? in - 1 : u;
        return fmax(0.0, 1.0 - fabs(uc - i));
    }
    double sum = 0, mine = 0;
    for (int j = (int)floor(u) - 2; j <= (int)floor(u) + 3; j++) {
        if (fabs(u - j) >= 2 || (n->ia[RESIZE_EXCLUDE_OUTSIDE] && (j < 0 || j >= in))) continue;
        double c = resize_keys(u - j, n->fa[RESIZE_CUBIC_A]);
        sum += c;
        if ((j < 0 ? 0 : j >= in ? in - 1 : j) == i) mine += c;
    }
    return n->ia[RESIZE_EXCLUDE_OUTSIDE] && sum != 0 ? mine / sum : mine;
}

static void resize_run(glia_graph *g, glia_node *n, int backward) {
    glia_node *X = glia__in(g, n, 0);
    if (backward && !X->grad) return;
    const int H = (int)X->shape.dim[2], W = (int)X->shape.dim[3];
    const int OH = (int)n->shape.dim[2], OW = (int)n->shape.dim[3];
    const float sh = n->fa[RESIZE_SCALE_H], sw = n->fa[RESIZE_SCALE_W];
    for (int64_t p = 0; p < n->shape.dim[0] * n->shape.dim[1]; p++) {
        const float *x = X->val + p * H * W, *dy = n->grad ? n->grad + p * OH * OW : NULL;
        if (!backward)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = 0;
                    for (int h = 0; h < H; h++)
                        for (int w = 0; w < W; w++)
                            s += resize_a(n, h, oh, H, OH, sh) * resize_a(n, w, ow, W, OW, sw) * x[h * W + w];
                    n->val[p * OH * OW + oh * OW + ow] = (float)s;
                }
        else
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++) {
                    double s = 0;
                    for (int oh = 0; oh < OH; oh++)
                        for (int ow = 0; ow < OW; ow++)
                            s += resize_a(n, h, oh, H, OH, sh) * resize_a(n, w, ow, W, OW, sw) * dy[oh * OW + ow];
                    X->grad[p * H * W + h * W + w] += (float)s;
                }
    }
}
static glia_status resize_forward(glia_graph *g, glia_node *n) {
    resize_run(g, n, 0);
    return GLIA_OK;
}
static void resize_backward(glia_graph *g, glia_node *n) { resize_run(g, n, 1); }

const glia_kernel glia__ref_resize = {resize_forward, resize_backward};
