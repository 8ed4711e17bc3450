/* ref_norm.c: reference kernels of batch normalisation and local response normalisation (the
 * definitions of src/ops/batchnorm.c and lrn.c). */
#include "ref.h"
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- batchnorm
 * x [N, C, S...] (S the product of the rest), gamma, beta [C], running_mean, running_var [C]
 * buffers; M = N S values per channel.
 * Training:  mean_c = sum x / M,  var_c = sum (x - mean_c)^2 / M,  istd_c = 1 / sqrt(var_c + eps)
 *            running_mean = (1 - momentum) running_mean + momentum mean_c
 *            running_var  = (1 - momentum) running_var + momentum var_c M / (M - 1)
 *            (M < 2 is an error, as in PyTorch)
 * Inference: mean_c = running_mean, istd_c = 1 / sqrt(running_var + eps)
 *   xhat = (x - mean_c) istd_c,  y = gamma_c xhat + beta_c
 *   dbeta_c += sum dy,  dgamma_c += sum dy xhat
 *   dx += gamma_c istd_c (dy - sum(dy) / M - xhat sum(dy xhat) / M)   (training)
 *   dx += gamma_c istd_c dy                                           (inference)
 * Saved (batchnorm.c's layout): double mean[C], double istd[C], int mode (1: training). */
static double bn_eps(const glia_node *n) { return n->fa[BN_EPS]; }
static double bn_momentum(const glia_node *n) { return n->fa[BN_MOMENTUM]; }
enum { BN_X, BN_GAMMA, BN_BETA, BN_RMEAN, BN_RVAR };              /* its inputs */

static void bn_dims(glia_graph *g, const glia_node *n, int64_t *N, int64_t *C, int64_t *S) {
    const glia_node *x = glia__in(g, n, BN_X);
    *N = x->shape.dim[0];
    *C = x->shape.dim[1];
    *S = glia__numel(x) / (*N * *C);
}

static glia_status bn_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, BN_X), *gamma = ref_x(g, n, BN_GAMMA), *beta = ref_x(g, n, BN_BETA);
    float *rmean = ref_x(g, n, BN_RMEAN), *rvar = ref_x(g, n, BN_RVAR);
    int64_t N, C, S;
    bn_dims(g, n, &N, &C, &S);
    const int64_t M = N * S;
    double *mean = n->saved, *istd = mean + C;
    const int again = g->recomputing; /* y again from the saved statistics (compile.c) */
    int training = g->training;
    if (again) memcpy(&training, istd + C, sizeof training);
    if (training && M < 2) {
        char a[96];
        return glia__err(GLIA_ESHAPE, "%s: training needs more than one value per channel, but "
                         "input '%s' has shape %s", glia__where(g, n), glia__in(g, n, BN_X)->name,
                         glia_shape_str(&glia__in(g, n, BN_X)->shape, a, sizeof a));
    }
    memcpy(istd + C, &training, sizeof training);
    for (int64_t c = 0; c < C; c++) {
        if (again) { /* mean and istd as saved */
        } else if (training) {
            double s = 0, ss = 0;
            for (int64_t b = 0; b < N; b++)
                for (int64_t i = 0; i < S; i++) s += x[(b * C + c) * S + i];
            const double mu = s / (double)M;
            for (int64_t b = 0; b < N; b++)
                for (int64_t i = 0; i < S; i++) {
                    double d = x[(b * C + c) * S + i] - mu;
                    ss += d * d;
                }
            const double var = ss / (double)M, mom = bn_momentum(n);
            mean[c] = mu;
            istd[c] = 1.0 / sqrt(var + bn_eps(n));
            rmean[c] = (float)((1.0 - mom) * rmean[c] + mom * mu);
            rvar[c] = (float)((1.0 - mom) * rvar[c] + mom * var * (double)M / (double)(M - 1));
        } else {
            mean[c] = rmean[c];
            istd[c] = 1.0 / sqrt((double)rvar[c] + bn_eps(n));
        }
        for (int64_t b = 0; b < N; b++)
            for (int64_t i = 0; i < S; i++) {
                int64_t k = (b * C + c) * S + i;
                n->val[k] = (float)(gamma[c] * (x[k] - mean[c]) * istd[c] + beta[c]);
            }
    }
    return GLIA_OK;
}

static void bn_backward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, BN_X), *gamma = ref_x(g, n, BN_GAMMA), *dy = n->grad;
    float *dx = ref_dx(g, n, BN_X), *dgamma = ref_dx(g, n, BN_GAMMA), *dbeta = ref_dx(g, n, BN_BETA);
    int64_t N, C, S;
    bn_dims(g, n, &N, &C, &S);
    const int64_t M = N * S;
    const double *mean = n->saved, *istd = mean + C;
    int training;
    memcpy(&training, istd + C, sizeof training);
    for (int64_t c = 0; c < C; c++) {
        double sdy = 0, sdyx = 0; /* sum dy, sum dy xhat */
        for (int64_t b = 0; b < N; b++)
            for (int64_t i = 0; i < S; i++) {
                int64_t k = (b * C + c) * S + i;
                sdy += dy[k];
                sdyx += dy[k] * (x[k] - mean[c]) * istd[c];
            }
        if (dbeta) dbeta[c] += (float)sdy;
        if (dgamma) dgamma[c] += (float)sdyx;
        if (!dx) continue;
        for (int64_t b = 0; b < N; b++)
            for (int64_t i = 0; i < S; i++) {
                int64_t k = (b * C + c) * S + i;
                double xhat = (x[k] - mean[c]) * istd[c];
                double d = training ? dy[k] - sdy / (double)M - xhat * sdyx / (double)M : dy[k];
                dx[k] += (float)(gamma[c] * istd[c] * d);
            }
    }
}

const glia_kernel glia__ref_batchnorm = {bn_forward, bn_backward};

/* ---------------------------------------------------------------- lrn
 * PyTorch's definition taken literally, across the channels of x [N, C, S...] per (n, s): square,
 * pad size/2 zero channels before and (size-1)/2 after, average `size` consecutive ones:
 *   scale_c = k + alpha / size * sum_{c' in W(c)} x_c'^2,   W(c) = [c - size/2, c + (size-1)/2] in [0, C)
 *   y_c = x_c scale_c^-beta
 * Backward (reads x only), every dy_c/dx_j with the window's membership tested:
 *   dx_j += sum_c dy_c ([c = j] scale_c^-beta - 2 alpha beta / size x_c x_j scale_c^(-beta-1) [j in W(c)]) */
static int lrn_size(const glia_node *n) { return n->ia[LRN_SIZE]; }
static double lrn_alpha(const glia_node *n) { return n->fa[LRN_ALPHA]; }
static double lrn_beta(const glia_node *n) { return n->fa[LRN_BETA]; }
static double lrn_k(const glia_node *n) { return n->fa[LRN_K]; }

/* scale_c at (b, s) of x seen as [N, C, S] */
static double lrn_scale(const glia_node *n, const float *x, int64_t C, int64_t S, int64_t b,
                        int64_t s, int64_t c) {
    const int size = lrn_size(n);
    double sum = 0;
    for (int64_t q = c - size / 2; q <= c + (size - 1) / 2; q++)
        if (q >= 0 && q < C) {
            double v = x[(b * C + q) * S + s];
            sum += v * v;
        }
    return lrn_k(n) + lrn_alpha(n) / size * sum;
}

static glia_status lrn_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0);
    const int64_t N = n->shape.dim[0], C = n->shape.dim[1], S = glia__numel(n) / (N * C);
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++) {
                int64_t k = (b * C + c) * S + s;
                n->val[k] = (float)(x[k] * pow(lrn_scale(n, x, C, S, b, s, c), -lrn_beta(n)));
            }
    return GLIA_OK;
}

static void lrn_backward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0), *dy = n->grad;
    float *dx = ref_dx(g, n, 0);
    if (!dx) return;
    const int64_t N = n->shape.dim[0], C = n->shape.dim[1], S = glia__numel(n) / (N * C);
    const int size = lrn_size(n);
    const double beta = lrn_beta(n), coef = 2.0 * lrn_alpha(n) * beta / size;
    for (int64_t b = 0; b < N; b++)
        for (int64_t s = 0; s < S; s++)
            for (int64_t j = 0; j < C; j++) {
                const double xj = x[(b * C + j) * S + s];
                double acc = 0;
                for (int64_t c = 0; c < C; c++) {
                    const int64_t kc = (b * C + c) * S + s;
                    const double sc = lrn_scale(n, x, C, S, b, s, c);
                    double d = c == j ? pow(sc, -beta) : 0.0;
                    if (j >= c - size / 2 && j <= c + (size - 1) / 2)
                        d -= coef * x[kc] * xj * pow(sc, -beta - 1.0);
                    acc += dy[kc] * d;
                }
                dx[(b * C + j) * S + s] += (float)acc;
            }
}

const glia_kernel glia__ref_lrn = {lrn_forward, lrn_backward};
