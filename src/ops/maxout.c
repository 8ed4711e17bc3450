/* maxout.c: maxout (Goodfellow et al. 2013) over consecutive groups of k channels.
 *
 *   x [N, C, ...] with C = k M  ->  y [N, M, ...],   y[n,m,s] = max_{j<k} x[n, m k + j, s]
 *
 * For x = the [N, k M] output of a dense layer this is the paper's maxout unit with k pieces;
 * for [N, C, H, W] feature maps it is the convolutional maxout (the same spatial position across
 * k consecutive channels). It is PyTorch's x.reshape(N, M, k, ...).max(dim=2).
 * Attribute: k (>= 1, dividing C).
 * Saved state: the winning piece j (int32) of every output; ties go to the first piece, a NaN
 * wins (the first one) as in PyTorch. Backward routes dy to that piece only,
 *   dx[n, m k + j*, s] += dy[n, m, s],
 * and reads no value (flags 0). Rows (n, m) run in parallel and write disjoint parts of x and
 * dx, so results are bit-exact for any number of threads. */
#include "../core/internal.h"
#include <limits.h>
#include <stdint.h>

static glia_status maxout_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    int k = n->ia[MAXOUT_K];
    if (x->shape.ndim < 2)
        return glia__bad_shape(g, n, "input", x, "maxout needs [N, C, ...] (rank >= 2)");
    if (x->shape.dim[1] % k)
        return glia__bad_shape(g, n, "input", x, "its %lld channels are not a multiple of k = %d",
                               (long long)x->shape.dim[1], k);
    n->shape = x->shape;
    n->shape.dim[1] = x->shape.dim[1] / k;
    n->ws_bytes = 0;
    n->saved_bytes = (size_t)glia__numel(n) * sizeof(int32_t);
    return GLIA_OK;
}

static glia_status maxout_forward(glia_graph *g, glia_node *n) {
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
    int32_t *arg = n->saved;
    const int k = n->ia[MAXOUT_K];
    const int64_t rows = n->shape.dim[0] * n->shape.dim[1], S = glia__numel(n) / rows;
#pragma omp parallel for schedule(static) if (rows > 1 && rows * S * k >= GLIA_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) { /* r = n M + m; its inputs start at (n M + m) k S */
        const float *xr = x + r * k * S;
        float *yr = y + r * S;
        int32_t *ar = arg ? arg + r * S : NULL;
        for (int64_t s = 0; s < S; s++) yr[s] = xr[s];
        if (ar)
            for (int64_t s = 0; s < S; s++) ar[s] = 0;
        for (int j = 1; j < k; j++) {
            const float *xj = xr + (int64_t)j * S;
            for (int64_t s = 0; s < S; s++) {
                float v = xj[s], best = yr[s];
                if (v > best || (v != v && best == best)) {
                    yr[s] = v;
                    if (ar) ar[s] = j;
                }
            }
        }
    }
    return GLIA_OK;
}

static void maxout_backward(glia_graph *g, glia_node *n) {
    float *dx = glia__in(g, n, 0)->grad;
    const int32_t *arg = n->saved;
    if (!dx || !arg) return;
    const float *dy = n->grad;
    const int k = n->ia[MAXOUT_K];
    const int64_t rows = n->shape.dim[0] * n->shape.dim[1], S = glia__numel(n) / rows;
#pragma omp parallel for schedule(static) if (rows > 1 && rows * S >= GLIA_PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        float *dxr = dx + r * k * S;
        const float *dyr = dy + r * S;
        const int32_t *ar = arg + r * S;
        for (int64_t s = 0; s < S; s++) dxr[(int64_t)ar[s] * S + s] += dyr[s];
    }
}

static const glia_attr_def maxout_attrs[] = {GLIA_ATTR_I_REQ("k", MAXOUT_K, 1, INT_MAX)};
const glia_op_def glia__op_maxout = {
    .name = "maxout",
    .summary = "maxout over consecutive groups of k channels: y[m] = max_j x[m*k + j]",
    .inputs = "x[N,k*M,...]", .outputs = "y[N,M,...]", .min_in = 1, .max_in = 1,
    .infer = maxout_infer, .forward = maxout_forward, .backward = maxout_backward,
    GLIA_ATTRS(maxout_attrs)};

glia_status glia_maxout(glia_graph *g, const char *name, int x, int k, int *out) {
    return glia__add_op(g, GLIA_OP_maxout, name, 1, &x, &k, 1, NULL, 0, out);
}
