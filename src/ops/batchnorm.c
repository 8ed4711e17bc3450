/* batchnorm.c: batch normalisation over axis 1 (Ioffe & Szegedy 2015; PyTorch's BatchNorm1d on
 * [N, C] and BatchNorm2d on [N, C, H, W]; any rank >= 2 works: every axis but 1 is reduced).
 *
 * Inputs: x[N,C,...], gamma[C], beta[C] (usually parameters), running_mean[C], running_var[C]
 * (buffers made with glia_buffer: forward writes them in training mode).
 * x is read as [N, C, S] with S the product of the spatial sizes; M = N S values per channel.
 *
 * Training:
 *   mean_c = sum x / M,  var_c = sum (x - mean_c)^2 / M    (biased: used to normalise)
 *   xhat = (x - mean_c) istd_c,  istd_c = 1 / sqrt(var_c + eps),  y = gamma_c xhat + beta_c
 *   running_mean = (1 - momentum) running_mean + momentum mean_c
 *   running_var  = (1 - momentum) running_var  + momentum var_c M / (M - 1)   (unbiased, PyTorch)
 *   dbeta_c += sum dy,  dgamma_c += sum dy xhat,
 *   dx += gamma_c istd_c (dy - sum(dy) / M - xhat sum(dy xhat) / M)
 * Training needs M >= 2 (as PyTorch: one value per channel has no variance); forward fails
 * with GLIA_ESHAPE otherwise.
 * Inference: mean_c = running_mean, istd_c = 1 / sqrt(running_var + eps), y as above, and
 * backward is the gradient of that affine map: dx += gamma_c istd_c dy, dgamma and dbeta as above.
 *
 * Saved state (n->saved): double mean[C], double istd[C] of the last forward, then an int that
 * is 1 if it ran in training mode; backward differentiates that forward whatever the mode is now.
 * A forward redone in backward (g->recomputing, compile.c) writes y again from that state and
 * leaves the running statistics alone.
 * Backward reads x and gamma (OPF_BWD_INPUTS).
 * A ReLU that is its only consumer can be done here (OPF_FUSE_RELU, compile.c): forward writes
 * max(y, 0), backward first masks dy by y > 0 in place, plane by plane right before its sums
 * read it; same bits as the two ops one after the other (tests/test_fusion.c). A ReLU6 likewise
 * (n->fuse_relu6: y = min(max(y, 0), 6), dy masked by 0 < y < 6).
 *
 * Precision: sums, statistics and the per-element arithmetic are in double and each result is
 * rounded once to float. y = gamma xhat + beta and dx cancel where they are near 0; in float
 * their absolute error would be that of the O(1) terms (1e-7), in double it is 0.5 ulp of
 * the result.
 *
 * Threads: the work is split by blocks of whole channels. Every per-channel sum (in double)
 * runs over n then the spatial positions, in lanes of a fixed order (lane_sums.h), inside one
 * thread, and no sum is
 * ever split across threads, so results are bit-identical for any number of threads.
 *
 * Attributes: eps (> 0), momentum (in [0, 1]). Inputs 3 and 4, the running statistics, get
 * no gradient. */
#include "../core/internal.h"
#include "../core/lane_sums.h"
#include "conv.h"
#include <math.h>
#include <string.h>

enum { BN_X, BN_GAMMA, BN_BETA, BN_RMEAN, BN_RVAR };
enum { BN_CB = 16 }; /* channels per job when the planes are small ([N, C] inputs) */

typedef struct {
    int64_t N, C, S, M;
    int64_t cb, jobs; /* channels per job, number of jobs */
} bn_dims;

static bn_dims bdims(const glia_node *x) {
    bn_dims d = {x->shape.dim[0], x->shape.dim[1], 1, 0, 1, 0};
    for (int i = 2; i < x->shape.ndim; i++) d.S *= x->shape.dim[i];
    d.M = d.N * d.S;
    d.cb = d.S >= 64 ? 1 : BN_CB; /* the order of each sum does not depend on this */
    d.jobs = (d.C + d.cb - 1) / d.cb;
    return d;
}

static glia_status bn_infer(glia_graph *g, glia_node *n) {
    static const char *const role[] = {"x", "gamma", "beta", "running_mean", "running_var"};
    glia_node *x = glia__in(g, n, BN_X);
    char a[96], b[96];
    if (x->shape.ndim < 2)
        return glia__bad_shape(g, n, "input", x, "batch norm needs [N, C] or [N, C, ...] "
                               "(rank >= 2)");
    int64_t C = x->shape.dim[1];
    for (int k = BN_GAMMA; k <= BN_RVAR; k++) {
        glia_node *p = glia__in(g, n, k);
        if (p->shape.ndim != 1 || p->shape.dim[0] != C)
            return glia__err(GLIA_ESHAPE, "%s: %s '%s' has shape %s but input '%s' of shape %s "
                             "needs [%lld]", glia__where(g, n), role[k], p->name,
                             glia_shape_str(&p->shape, a, sizeof a), x->name,
                             glia_shape_str(&x->shape, b, sizeof b), (long long)C);
        if (k >= BN_RMEAN && p->kind != NODE_BUFFER)
            return glia__err(GLIA_EINVAL, "%s: %s '%s' is a %s; running statistics must be "
                             "buffers (glia_buffer), which forward updates in training mode",
                             glia__where(g, n), role[k], p->name,
                             glia_node_op(g, n->in[k]));
    }
    n->shape = x->shape;
    n->ws_bytes = 0;
    n->saved_bytes = 2 * (size_t)C * sizeof(double) + sizeof(int);
    return GLIA_OK;
}

static glia_status bn_forward(glia_graph *g, glia_node *n) {
    glia_node *xn = glia__in(g, n, BN_X);
    const float *x = xn->val, *gamma = glia__in(g, n, BN_GAMMA)->val,
                *beta = glia__in(g, n, BN_BETA)->val;
    float *rmean = glia__in(g, n, BN_RMEAN)->val, *rvar = glia__in(g, n, BN_RVAR)->val;
    float *y = n->val;
    double *mean = n->saved;
    const bn_dims d = bdims(xn);
    const int64_t C = d.C, S = d.S;
    double *istd = mean + C;
    const double eps = n->fa[BN_EPS], mom = n->fa[BN_MOMENTUM];
    /* recomputing (compile.c): y again from the statistics saved by this step's forward */
    const int again = g->recomputing;
    int training = g->training;
    if (again) memcpy(&training, istd + C, sizeof training);
    if (training && d.M < 2) {
        char a[96];
        return glia__err(GLIA_ESHAPE, "%s: training needs more than one value per channel, but "
                         "input '%s' has shape %s", glia__where(g, n), xn->name,
                         glia_shape_str(&xn->shape, a, sizeof a));
    }
    memcpy(istd + C, &training, sizeof training);
#pragma omp parallel for schedule(static) if (d.jobs > 1 && d.N * C * S >= GLIA_PAR_MIN)
    for (int64_t j = 0; j < d.jobs; j++) {
        const int64_t c0 = j * d.cb, c1 = c0 + d.cb < C ? c0 + d.cb : C;
        if (again) { /* mean and istd as saved */
        } else if (training) {
            double s1[BN_CB][GLIA_LANES] = {{0}}, s2[BN_CB][GLIA_LANES] = {{0}}, mus[BN_CB];
            for (int64_t b = 0; b < d.N; b++)
                for (int64_t c = c0; c < c1; c++) glia__lanes_sum(s1[c - c0], x + (b * C + c) * S, S);
            for (int64_t c = c0; c < c1; c++) mus[c - c0] = glia__lanes_total(s1[c - c0]) / (double)d.M;
            for (int64_t b = 0; b < d.N; b++)
                for (int64_t c = c0; c < c1; c++)
                    glia__lanes_sumsq(s2[c - c0], x + (b * C + c) * S, mus[c - c0], S);
            for (int64_t c = c0; c < c1; c++) {
                double mu = mus[c - c0], var = glia__lanes_total(s2[c - c0]) / (double)d.M;
                mean[c] = mu;
                istd[c] = 1.0 / sqrt(var + eps);
                rmean[c] = (float)((1.0 - mom) * rmean[c] + mom * mu);
                rvar[c] = (float)((1.0 - mom) * rvar[c] + mom * var * (double)d.M / (double)(d.M - 1));
            }
        } else {
            for (int64_t c = c0; c < c1; c++) {
                mean[c] = rmean[c];
                istd[c] = 1.0 / sqrt((double)rvar[c] + eps);
            }
        }
        for (int64_t b = 0; b < d.N; b++)
            for (int64_t c = c0; c < c1; c++) {
                const float *xp = x + (b * C + c) * S;
                float *yp = y + (b * C + c) * S;
                const double mu = mean[c], k = gamma[c] * istd[c], sh = beta[c];
                if (n->fuse_relu6) /* activation.c's relu6 */
                    for (int64_t s = 0; s < S; s++) {
                        const float v = (float)((xp[s] - mu) * k + sh);
                        yp[s] = v > 6.0f ? 6.0f : glia__relu(v);
                    }
                else if (n->fuse_relu) /* the ReLU that is this op's only consumer (compile.c) */
                    for (int64_t s = 0; s < S; s++) yp[s] = glia__relu((float)((xp[s] - mu) * k + sh));
                else
                    for (int64_t s = 0; s < S; s++) yp[s] = (float)((xp[s] - mu) * k + sh);
            }
    }
    return GLIA_OK;
}

/* g[o + s] = y[o + s] > 0 ? g[o + s] : 0 for s < S: a fused ReLU's backward on one plane
 * (a ReLU6's, six: also 0 where y = 6) */
static void relu_mask(float *g, const float *y, int64_t o, int64_t S, bool six) {
    if (six)
        for (int64_t s = 0; s < S; s++) g[o + s] = y[o + s] > 0 && y[o + s] < 6.0f ? g[o + s] : 0.0f;
    else
        for (int64_t s = 0; s < S; s++) g[o + s] = glia__relu_grad(y[o + s], g[o + s]);
}

static void bn_backward(glia_graph *g, glia_node *n) {
    glia_node *xn = glia__in(g, n, BN_X);
    const float *x = xn->val, *gamma = glia__in(g, n, BN_GAMMA)->val;
    float *dy = n->grad, *dx = xn->grad, *dgamma = glia__in(g, n, BN_GAMMA)->grad,
          *dbeta = glia__in(g, n, BN_BETA)->grad;
    const bn_dims d = bdims(xn);
    const int64_t C = d.C, S = d.S;
    const double *mean = n->saved, *istd = mean + C;
    int training;
    memcpy(&training, istd + C, sizeof training);
    /* the sums are needed for dgamma, dbeta, and for dx in training mode */
    const int need_sums = dgamma || dbeta || (dx && training);
#pragma omp parallel for schedule(static) if (d.jobs > 1 && d.N * C * S >= GLIA_PAR_MIN)
    for (int64_t j = 0; j < d.jobs; j++) {
        const int64_t c0 = j * d.cb, c1 = c0 + d.cb < C ? c0 + d.cb : C;
        double sdy[BN_CB] = {0}, sdyx[BN_CB] = {0}; /* sum dy, sum dy xhat */
        /* the fused ReLU's backward first, in place (dy = y > 0 ? dy : 0), plane by plane
         * right before the sums read the plane */
        const int mask = n->fuse_relu;
        if (mask && !need_sums)
            for (int64_t b = 0; b < d.N; b++)
                for (int64_t c = c0; c < c1; c++) relu_mask(dy, n->val, (b * C + c) * S, S, n->fuse_relu6);
        if (need_sums) {
            double l1[BN_CB][GLIA_LANES] = {{0}}, l2[BN_CB][GLIA_LANES] = {{0}};
            for (int64_t b = 0; b < d.N; b++)
                for (int64_t c = c0; c < c1; c++) {
                    if (mask) relu_mask(dy, n->val, (b * C + c) * S, S, n->fuse_relu6);
                    glia__lanes_sum_dot(l1[c - c0], l2[c - c0], dy + (b * C + c) * S,
                                        x + (b * C + c) * S, mean[c], istd[c], S);
                }
            for (int64_t c = c0; c < c1; c++) {
                sdy[c - c0] = glia__lanes_total(l1[c - c0]);
                sdyx[c - c0] = glia__lanes_total(l2[c - c0]);
                if (dbeta) dbeta[c] += (float)sdy[c - c0];
                if (dgamma) dgamma[c] += (float)sdyx[c - c0];
            }
        }
        if (!dx) continue;
        for (int64_t b = 0; b < d.N; b++)
            for (int64_t c = c0; c < c1; c++) {
                const float *xp = x + (b * C + c) * S, *gp = dy + (b * C + c) * S;
                float *dp = dx + (b * C + c) * S;
                const double mu = mean[c], is = istd[c], k = gamma[c] * is;
                if (training) {
                    const double m1 = sdy[c - c0] / (double)d.M, m2 = sdyx[c - c0] / (double)d.M;
                    for (int64_t s = 0; s < S; s++)
                        dp[s] += (float)(k * (gp[s] - m1 - (xp[s] - mu) * is * m2));
                } else {
                    for (int64_t s = 0; s < S; s++) dp[s] += (float)(k * gp[s]);
                }
            }
    }
}

/* Batch norm bn (inference: running statistics) folded into the conv before it (compile.c):
 *   k_o = gamma_o / sqrt(running_var_o + eps)      (in double, as bn_forward's istd)
 *   wf[o][i] = w[o][i] k_o,  bf[o] = (b_o - running_mean_o) k_o + beta_o   (b = 0 without bias)
 * so that conv(x, wf, bf) = bn(conv(x, w, b)) up to rounding; w is [O][K]. */
void glia__bn_fold(glia_graph *g, const glia_node *bn, const float *w, const float *b, int O,
                   int64_t K, float *wf, float *bf) {
    const float *gamma = glia__in(g, bn, BN_GAMMA)->val, *beta = glia__in(g, bn, BN_BETA)->val;
    const float *rm = glia__in(g, bn, BN_RMEAN)->val, *rv = glia__in(g, bn, BN_RVAR)->val;
    const double eps = bn->fa[BN_EPS];
    for (int o = 0; o < O; o++) {
        const double k = gamma[o] / sqrt((double)rv[o] + eps);
        for (int64_t i = 0; i < K; i++) wf[o * K + i] = (float)(w[o * K + i] * k);
        bf[o] = (float)(((b ? b[o] : 0.0) - rm[o]) * k + beta[o]);
    }
}

static const glia_attr_def bn_attrs[] = {
    GLIA_ATTR_F("eps", BN_EPS, 1e-5, 0, HUGE_VAL, GLIA_ATTR_OPEN_MIN),
    GLIA_ATTR_F("momentum", BN_MOMENTUM, 0.1, 0, 1, 0),
};
static bool bn_no_grad(const glia_node *n, int k) { return k >= BN_RMEAN; }

const glia_op_def glia__op_batchnorm = {
    .name = "batchnorm",
    .summary = "batch normalisation over axis 1: y = gamma (x - mean) / sqrt(var + eps) + beta",
    .inputs = "x[N,C,...], gamma beta rm rv [C]", .outputs = "y[N,C,...]", .min_in = 5,
    .max_in = 5, .flags = OPF_BWD_INPUTS | OPF_FUSE_RELU, .infer = bn_infer,
    .forward = bn_forward, .backward = bn_backward, GLIA_ATTRS(bn_attrs), .no_grad = bn_no_grad};

glia_status glia_batchnorm(glia_graph *g, const char *name, int x, int gamma, int beta,
                           int running_mean, int running_var, float eps, float momentum,
                           int *out) {
    int in[5] = {x, gamma, beta, running_mean, running_var};
    float fa[2] = {eps, momentum};
    return glia__add_op(g, GLIA_OP_batchnorm, name, 5, in, NULL, 0, fa, 2, out);
}
