/* lrn.c: local response normalisation across channels (Krizhevsky et al. 2012, AlexNet; the
 * definition of PyTorch's nn.LocalResponseNorm(size, alpha, beta, k)).
 *
 * For x [N, C, ...] (rank >= 3), read as [N, C, S] with S the product of the spatial sizes:
 *   scale_c = k + alpha / size * sum_{c' in W(c)} x_c'^2,   W(c) = [c - size/2, c + (size-1)/2]
 *   y_c = x_c / scale_c^beta
 * W(c) is clipped to [0, C): PyTorch pads size/2 zero channels before and (size-1)/2 after and
 * averages over `size`, so the divisor stays `size` at the borders. An even size gives an
 * asymmetric window, as in PyTorch.
 * Backward (j in W(c) iff c in [j - (size-1)/2, j + size/2] = V(j)):
 *   dx_j += q_j - 2 alpha beta / size * x_j * sum_{c in V(j)} r_c,
 *   q_c = dy_c scale_c^-beta,  r_c = q_c x_c / scale_c   (dy_c y_c / scale_c)
 * Backward reads x only (OPF_BWD_INPUTS): it recomputes the scales, so nothing is saved, and
 * keeps q and r in the workspace: jobs run in waves of LRN_WAVE, each job using its own slot of
 * 2 C LRN_BLOCK doubles, so the workspace is bounded by 64 x that however large the batch.
 *
 * Precision: window sums, powers and both gradient terms are in double and each result is
 * rounded once to float. The two terms of dx cancel where the normalisation is strong; in float
 * (or from a float scale or y) their 1e-7 relative errors would be amplified there.
 *
 * Threads: jobs are blocks of up to LRN_BLOCK consecutive spatial positions of one sample
 * (chan_blocks.h); every window sum (in double) runs over c' in order inside one job, so
 * results are bit-identical for any number of threads.
 *
 * Attributes: size (>= 1), alpha (>= 0), beta, k (> 0, so the scale is never 0). */
#include "chan_blocks.h"
#include <limits.h>
#include <math.h>

enum { LRN_BLOCK = 64, LRN_WAVE = 64 }; /* positions per job; jobs per backward wave */

typedef struct {
    chan_blocks b;
    int64_t lo, hi; /* W(c) = [c - lo, c + hi] */
} lrn_dims;

static lrn_dims ldims(const glia_node *n) {
    lrn_dims d = {chan_blocks_of(&n->shape, LRN_BLOCK), n->ia[LRN_SIZE] / 2,
                  (n->ia[LRN_SIZE] - 1) / 2};
    return d;
}

static glia_status lrn_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    if (x->shape.ndim < 3)
        return glia__bad_shape(g, n, "input", x, "local response normalisation needs [N, C, ...] "
                               "(rank >= 3, as PyTorch)");
    n->shape = x->shape;
    /* backward: q and r of one job ([C, LRN_BLOCK] doubles each) for each job of a wave */
    const lrn_dims d = ldims(n);
    const int64_t slots = d.b.jobs < LRN_WAVE ? d.b.jobs : LRN_WAVE;
    n->ws_bytes = (size_t)slots * 2 * (size_t)d.b.C * LRN_BLOCK * sizeof(double);
    n->saved_bytes = 0;
    return GLIA_OK;
}

/* scale_c for the channels of one job, in double: k + alpha/size * window sum of squares */
static void job_scales(const lrn_dims *d, const float *xb, int bs, double a, double k, int64_t c,
                       double *sc) {
    const int64_t C = d->b.C, S = d->b.S;
    int64_t lo = c - d->lo < 0 ? 0 : c - d->lo, hi = c + d->hi > C - 1 ? C - 1 : c + d->hi;
    double acc[LRN_BLOCK] = {0};
    for (int64_t q = lo; q <= hi; q++)
        for (int t = 0; t < bs; t++) {
            double v = xb[q * S + t];
            acc[t] += v * v;
        }
    for (int t = 0; t < bs; t++) sc[t] = k + a * acc[t];
}

static glia_status lrn_forward(glia_graph *g, glia_node *n) {
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
    const lrn_dims d = ldims(n);
    const int64_t C = d.b.C, S = d.b.S, jobs = d.b.jobs;
    const double a = (double)n->fa[LRN_ALPHA] / n->ia[LRN_SIZE], k = n->fa[LRN_K],
                 beta = n->fa[LRN_BETA];
#pragma omp parallel for schedule(static) if (jobs > 1 && jobs * LRN_BLOCK * C >= GLIA_PAR_MIN)
    for (int64_t job = 0; job < jobs; job++) {
        int bs;
        const int64_t off = chan_block_at(&d.b, job, &bs);
        const float *xb = x + off;
        float *yb = y + off;
        double sc[LRN_BLOCK];
        for (int64_t c = 0; c < C; c++) {
            job_scales(&d, xb, bs, a, k, c, sc);
            for (int t = 0; t < bs; t++)
                yb[c * S + t] = (float)(xb[c * S + t] * pow(sc[t], -beta));
        }
    }
    return GLIA_OK;
}

static void lrn_backward(glia_graph *g, glia_node *n) {
    glia_node *xn = glia__in(g, n, 0);
    float *dx = xn->grad;
    if (!dx) return;
    const float *x = xn->val, *dy = n->grad;
    const lrn_dims d = ldims(n);
    const int64_t C = d.b.C, S = d.b.S, jobs = d.b.jobs;
    const double a = (double)n->fa[LRN_ALPHA] / n->ia[LRN_SIZE], k = n->fa[LRN_K],
                 beta = n->fa[LRN_BETA], coef = 2.0 * a * beta;
    double *ws = g->workspace;
    /* waves of up to LRN_WAVE jobs, each job with its own slot of the workspace */
    for (int64_t w0 = 0; w0 < jobs; w0 += LRN_WAVE) {
        const int64_t w1 = w0 + LRN_WAVE < jobs ? w0 + LRN_WAVE : jobs;
#pragma omp parallel for schedule(static) if (w1 - w0 > 1 && (w1 - w0) * LRN_BLOCK * C >= GLIA_PAR_MIN)
        for (int64_t job = w0; job < w1; job++) {
            int bs;
            const int64_t off = chan_block_at(&d.b, job, &bs);
            const float *xb = x + off, *gb = dy + off;
            float *db = dx + off;
            /* q_c = dy_c scale_c^-beta, r_c = q_c x_c / scale_c, as [C, LRN_BLOCK] */
            double *qb = ws + (job - w0) * 2 * C * LRN_BLOCK, *rb = qb + C * LRN_BLOCK;
            double sc[LRN_BLOCK];
            for (int64_t c = 0; c < C; c++) {
                job_scales(&d, xb, bs, a, k, c, sc);
                for (int t = 0; t < bs; t++) {
                    int64_t i = c * S + t;
                    double q = gb[i] * pow(sc[t], -beta);
                    qb[c * LRN_BLOCK + t] = q;
                    rb[c * LRN_BLOCK + t] = q * xb[i] / sc[t];
                }
            }
            for (int64_t j = 0; j < C; j++) {
                /* V(j) = [j - (size-1)/2, j + size/2] */
                int64_t lo = j - d.hi < 0 ? 0 : j - d.hi, hi = j + d.lo > C - 1 ? C - 1 : j + d.lo;
                double acc[LRN_BLOCK] = {0};
                for (int64_t c = lo; c <= hi; c++)
                    for (int t = 0; t < bs; t++) acc[t] += rb[c * LRN_BLOCK + t];
                for (int t = 0; t < bs; t++)
                    db[j * S + t] += (float)(qb[j * LRN_BLOCK + t] - coef * xb[j * S + t] * acc[t]);
            }
        }
    }
}

static const glia_attr_def lrn_attrs[] = {
    GLIA_ATTR_I_REQ("size", LRN_SIZE, 1, INT_MAX),
    GLIA_ATTR_F("alpha", LRN_ALPHA, 1e-4, 0, HUGE_VAL, 0),
    GLIA_ATTR_F("beta", LRN_BETA, 0.75, -HUGE_VAL, HUGE_VAL, 0),
    GLIA_ATTR_F("k", LRN_K, 1.0, 0, HUGE_VAL, GLIA_ATTR_OPEN_MIN),
};
const glia_op_def glia__op_lrn = {
    .name = "lrn",
    .summary = "local response normalisation across channels: y = x / (k + alpha/size sum "
               "x^2)^beta",
    .inputs = "x[N,C,...]", .outputs = "y[N,C,...]", .min_in = 1, .max_in = 1,
    .flags = OPF_BWD_INPUTS, .infer = lrn_infer, .forward = lrn_forward, .backward = lrn_backward,
    GLIA_ATTRS(lrn_attrs)};

glia_status glia_lrn(glia_graph *g, const char *name, int x, int size, float alpha, float beta,
                     float k, int *out) {
    float fa[3] = {alpha, beta, k};
    return glia__add_op(g, GLIA_OP_lrn, name, 1, &x, &size, 1, fa, 3, out);
}
