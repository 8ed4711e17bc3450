/* local2d.c: a locally connected layer (unshared convolution, as DeepFace's L4-L6, Taigman et
 * al. 2014): a convolution whose filters differ at every output position.
 *
 *   x [N, C, H, W], w [L, O, K], b [O, OH, OW]?   (L = OH OW positions, K = C kh kw)
 *   y[n,o,p] = b[o,p] + sum_k w[p,o,k] col[n,k,p],   p = oh OW + ow,
 *   col[n, (c kh + i) kw + j, p] = x[n, c, oh sh - ph + i, ow sw - pw + j]   (0 outside)
 * which is PyTorch's einsum("nkp,pok->nop", F.unfold(x, (kh, kw), padding, stride), w) + b.
 *   dw[p,o,k] += sum_n dy[n,o,p] col[n,k,p]      db[o,p] += sum_n dy[n,o,p]
 *   dx[n,c,h,w] += sum over (o, p, k) that read it of dy[n,o,p] w[p,o,k]
 * Attributes: kernel_h, kernel_w (from w's K and C: given for the shape check), stride_h,
 * stride_w, pad_h, pad_w (symmetric). Threads: forward splits (n, o) rows, dw and db split
 * positions p, dx splits images n; every sum runs in a fixed order inside one thread, so the
 * results are bit-identical for any thread count. */
#include "../core/internal.h"
#include <limits.h>

typedef struct {
    int64_t N, C, H, W, O, OH, OW, L, K;
    int kh, kw, sh, sw, ph, pw;
} local_geom;

static void lgeom(glia_graph *g, const glia_node *n, local_geom *q) {
    const glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    q->N = x->shape.dim[0], q->C = x->shape.dim[1], q->H = x->shape.dim[2], q->W = x->shape.dim[3];
    q->O = w->shape.dim[1], q->K = w->shape.dim[2];
    q->OH = n->shape.dim[2], q->OW = n->shape.dim[3], q->L = q->OH * q->OW;
    q->kh = n->ia[LOCAL_KERNEL_H], q->kw = n->ia[LOCAL_KERNEL_W];
    q->sh = n->ia[LOCAL_STRIDE_H], q->sw = n->ia[LOCAL_STRIDE_W];
    q->ph = n->ia[LOCAL_PAD_H], q->pw = n->ia[LOCAL_PAD_W];
}

static glia_status local_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    char a[96], b[96];
    if (x->shape.ndim != 4) return glia__bad_shape(g, n, "input", x, "local2d needs [N, C, H, W]");
    int kh = n->ia[LOCAL_KERNEL_H], kw = n->ia[LOCAL_KERNEL_W];
    int64_t PH = x->shape.dim[2] + 2 * n->ia[LOCAL_PAD_H], PW = x->shape.dim[3] + 2 * n->ia[LOCAL_PAD_W];
    if (kh > PH || kw > PW)
        return glia__bad_shape(g, n, "input", x, "a %dx%d kernel does not fit (%lldx%lld after padding)", kh,
                               kw, (long long)PH, (long long)PW);
    int64_t OH = (PH - kh) / n->ia[LOCAL_STRIDE_H] + 1, OW = (PW - kw) / n->ia[LOCAL_STRIDE_W] + 1;
    int64_t K = x->shape.dim[1] * kh * kw;
    if (w->shape.ndim != 3 || w->shape.dim[0] != OH * OW || w->shape.dim[2] != K)
        return glia__err(GLIA_ESHAPE, "%s: weight '%s' has shape %s; for input '%s' %s it must be "
                         "[positions %lld, out, C*kh*kw %lld]", glia__where(g, n), w->name,
                         glia_shape_str(&w->shape, a, sizeof a), x->name,
                         glia_shape_str(&x->shape, b, sizeof b), (long long)(OH * OW), (long long)K);
    int64_t O = w->shape.dim[1];
    if (n->n_in == 3) {
        const glia_shape *bs = &glia__in(g, n, 2)->shape;
        if (bs->ndim != 3 || bs->dim[0] != O || bs->dim[1] != OH || bs->dim[2] != OW)
            return glia__err(GLIA_ESHAPE, "%s: bias '%s' has shape %s, expected [%lld, %lld, %lld]",
                             glia__where(g, n), glia__in(g, n, 2)->name, glia_shape_str(bs, a, sizeof a),
                             (long long)O, (long long)OH, (long long)OW);
    }
    n->shape.ndim = 4;
    n->shape.dim[0] = x->shape.dim[0];
    n->shape.dim[1] = O;
    n->shape.dim[2] = OH;
    n->shape.dim[3] = OW;
    n->ws_bytes = n->saved_bytes = 0;
    return GLIA_OK;
}

/* the input index read by tap k at position (oh, ow), -1 in the padding */
static inline int64_t tap(const local_geom *q, int64_t k, int64_t oh, int64_t ow, int64_t *c) {
    int64_t j = k % q->kw, i = (k / q->kw) % q->kh;
    *c = k / ((int64_t)q->kw * q->kh);
    int64_t h = oh * q->sh - q->ph + i, w = ow * q->sw - q->pw + j;
    return h < 0 || h >= q->H || w < 0 || w >= q->W ? -1 : h * q->W + w;
}

static glia_status local_forward(glia_graph *g, glia_node *n) {
    local_geom q;
    lgeom(g, n, &q);
    const float *x = glia__in(g, n, 0)->val, *w = glia__in(g, n, 1)->val;
    const float *b = n->n_in == 3 ? glia__in(g, n, 2)->val : NULL;
    float *y = n->val;
#pragma omp parallel for schedule(static) if (q.N * q.O * q.L * q.K >= GLIA_PAR_MIN)
    for (int64_t r = 0; r < q.N * q.O; r++) {
        int64_t nn = r / q.O, o = r % q.O;
        for (int64_t p = 0; p < q.L; p++) {
            const float *wp = w + (p * q.O + o) * q.K;
            float s = b ? b[o * q.L + p] : 0.0f;
            for (int64_t k = 0; k < q.K; k++) {
                int64_t c, at = tap(&q, k, p / q.OW, p % q.OW, &c);
                if (at >= 0) s += wp[k] * x[(nn * q.C + c) * q.H * q.W + at];
            }
            y[r * q.L + p] = s;
        }
    }
    return GLIA_OK;
}

static void local_backward(glia_graph *g, glia_node *n) {
    local_geom q;
    lgeom(g, n, &q);
    const float *x = glia__in(g, n, 0)->val, *w = glia__in(g, n, 1)->val, *dy = n->grad;
    float *dx = glia__in(g, n, 0)->grad, *dw = glia__in(g, n, 1)->grad;
    float *db = n->n_in == 3 ? glia__in(g, n, 2)->grad : NULL;
    const int par = q.N * q.O * q.L * q.K >= GLIA_PAR_MIN;
    if (dw || db) {
#pragma omp parallel for schedule(static) if (par)
        for (int64_t p = 0; p < q.L; p++)
            for (int64_t o = 0; o < q.O; o++) {
                float *dwp = dw ? dw + (p * q.O + o) * q.K : NULL;
                for (int64_t nn = 0; nn < q.N; nn++) {
                    float d = dy[(nn * q.O + o) * q.L + p];
                    if (db) db[o * q.L + p] += d;
                    for (int64_t k = 0; dwp && k < q.K; k++) {
                        int64_t c, at = tap(&q, k, p / q.OW, p % q.OW, &c);
                        if (at >= 0) dwp[k] += d * x[(nn * q.C + c) * q.H * q.W + at];
                    }
                }
            }
    }
    if (dx) {
#pragma omp parallel for schedule(static) if (par && q.N > 1)
        for (int64_t nn = 0; nn < q.N; nn++)
            for (int64_t o = 0; o < q.O; o++)
                for (int64_t p = 0; p < q.L; p++) {
                    float d = dy[(nn * q.O + o) * q.L + p];
                    const float *wp = w + (p * q.O + o) * q.K;
                    for (int64_t k = 0; k < q.K; k++) {
                        int64_t c, at = tap(&q, k, p / q.OW, p % q.OW, &c);
                        if (at >= 0) dx[(nn * q.C + c) * q.H * q.W + at] += d * wp[k];
                    }
                }
    }
}

static const glia_attr_def local_attrs[] = {
    GLIA_ATTR_I_REQ("kernel_h", LOCAL_KERNEL_H, 1, INT_MAX),
    GLIA_ATTR_I_REQ("kernel_w", LOCAL_KERNEL_W, 1, INT_MAX),
    GLIA_ATTR_I("stride_h", LOCAL_STRIDE_H, 1, 1, INT_MAX),
    GLIA_ATTR_I("stride_w", LOCAL_STRIDE_W, 1, 1, INT_MAX),
    GLIA_ATTR_I("pad_h", LOCAL_PAD_H, 0, 0, INT_MAX),
    GLIA_ATTR_I("pad_w", LOCAL_PAD_W, 0, 0, INT_MAX),
};

const glia_op_def glia__op_local2d = {
    .name = "local2d",
    .summary = "locally connected layer: a convolution with different weights at each output position",
    .inputs = "x[N,C,H,W], w[OH*OW,O,C*kh*kw], b[O,OH,OW]?", .outputs = "y[N,O,OH,OW]",
    .min_in = 2, .max_in = 3, .flags = OPF_BWD_INPUTS,
    .infer = local_infer, .forward = local_forward, .backward = local_backward,
    GLIA_ATTRS(local_attrs)};

glia_status glia_local2d(glia_graph *g, const char *name, int x, int w, int b, const glia_local2d_params *p,
                         int *out) {
    if (!p) return glia__err(GLIA_EINVAL, "glia_local2d: no parameters (the kernel size is required)");
    int ia[LOCAL_N_IA] = {p->kernel_h, p->kernel_w, p->stride_h ? p->stride_h : 1, p->stride_w ? p->stride_w : 1,
                          p->pad_h, p->pad_w};
    int in[3] = {x, w, b};
    return glia__add_op(g, GLIA_OP_local2d, name, b >= 0 ? 3 : 2, in, ia, LOCAL_N_IA, NULL, 0, out);
}
