/* softmax.c: softmax and log-softmax along axis 1 (PyTorch's dim=1), for x [N, C, ...] of rank
 * >= 2: [N, C] class scores or [N, C, H, W] per-pixel scores (each n and spatial position is
 * normalised over its C channels). No attributes.
 *
 *   m = max_c x_c                   (subtracted first, so e^(x - m) <= 1 never overflows)
 *   softmax      y_c = e^(x_c - m) / sum_c' e^(x_c' - m)
 *                dx_c += y_c (dy_c - sum_c' dy_c' y_c')
 *   log_softmax  y_c = (x_c - m) - log sum_c' e^(x_c' - m)   (the log as log1p, see below)
 *                dx_c += dy_c - e^(y_c) sum_c' dy_c'
 * Both backwards read only the output (OPF_BWD_OUTPUT).
 *
 * The loops run over jobs of SM_BLOCK spatial positions of one sample (chan_blocks.h), each sum
 * over c in order inside one job, so results are bit-exact for any number of threads. */
#include "chan_blocks.h"
#include <math.h>

enum { SM_BLOCK = 64 };

static glia_status sm_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    if (x->shape.ndim < 2)
        return glia__bad_shape(g, n, "input", x, "%s works along axis 1 and needs [N, C] or "
                               "[N, C, ...] (rank >= 2)", glia__ops[n->op]->name);
    n->shape = x->shape;
    n->ws_bytes = n->saved_bytes = 0;
    return GLIA_OK;
}

static void sm_forward_impl(glia_graph *g, glia_node *n, int log_out) {
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
    const chan_blocks d = chan_blocks_of(&n->shape, SM_BLOCK);
    const int64_t C = d.C, S = d.S, jobs = d.jobs;
#pragma omp parallel for schedule(static) if (jobs > 1 && C * S * jobs >= GLIA_PAR_MIN)
    for (int64_t job = 0; job < jobs; job++) {
        int bs;
        const int64_t off = chan_block_at(&d, job, &bs);
        const float *xb = x + off;
        float *yb = y + off;
        float mx[SM_BLOCK], sum[SM_BLOCK];
        for (int t = 0; t < bs; t++) {
            mx[t] = xb[t];
            sum[t] = 0;
        }
        for (int64_t c = 1; c < C; c++)
            for (int t = 0; t < bs; t++) {
                float v = xb[c * S + t];
                mx[t] = v > mx[t] ? v : mx[t];
            }
        if (log_out) {
            /* log sum = log1p(sum - 1): each maximum adds exactly 1, so the terms below the
             * maximum are summed apart (sum[]) and the maxima counted (ties[]); a log of a sum
             * near 1 would lose the digits of the small log-probabilities near 0 */
            float ties[SM_BLOCK];
            for (int t = 0; t < bs; t++) ties[t] = -1;
            for (int64_t c = 0; c < C; c++)
                for (int t = 0; t < bs; t++) {
                    float v = xb[c * S + t];
                    int top = v == mx[t];
                    ties[t] += top ? 1.0f : 0.0f;
                    sum[t] += top ? 0.0f : expf(v - mx[t]); /* a NaN lands here */
                }
            for (int t = 0; t < bs; t++) sum[t] = log1pf(sum[t] + ties[t]);
            for (int64_t c = 0; c < C; c++)
                for (int t = 0; t < bs; t++) yb[c * S + t] = (xb[c * S + t] - mx[t]) - sum[t];
        } else {
            for (int64_t c = 0; c < C; c++)
                for (int t = 0; t < bs; t++) {
                    float e = expf(xb[c * S + t] - mx[t]);
                    sum[t] += e;
                    yb[c * S + t] = e;
                }
            for (int t = 0; t < bs; t++) sum[t] = 1.0f / sum[t];
            for (int64_t c = 0; c < C; c++)
                for (int t = 0; t < bs; t++) yb[c * S + t] *= sum[t];
        }
    }
}

static void sm_backward_impl(glia_graph *g, glia_node *n, int log_out) {
    float *dx = glia__in(g, n, 0)->grad;
    if (!dx) return;
    const float *y = n->val, *dy = n->grad;
    const chan_blocks d = chan_blocks_of(&n->shape, SM_BLOCK);
    const int64_t C = d.C, S = d.S, jobs = d.jobs;
#pragma omp parallel for schedule(static) if (jobs > 1 && C * S * jobs >= GLIA_PAR_MIN)
    for (int64_t job = 0; job < jobs; job++) {
        int bs;
        const int64_t off = chan_block_at(&d, job, &bs);
        const float *yb = y + off, *gb = dy + off;
        float *xb = dx + off;
        float acc[SM_BLOCK];
        for (int t = 0; t < bs; t++) acc[t] = 0;
        if (log_out) { /* acc = sum_c dy_c */
            for (int64_t c = 0; c < C; c++)
                for (int t = 0; t < bs; t++) acc[t] += gb[c * S + t];
            for (int64_t c = 0; c < C; c++)
                for (int t = 0; t < bs; t++)
                    xb[c * S + t] += gb[c * S + t] - expf(yb[c * S + t]) * acc[t];
        } else { /* acc = sum_c dy_c y_c */
            for (int64_t c = 0; c < C; c++)
                for (int t = 0; t < bs; t++) acc[t] += gb[c * S + t] * yb[c * S + t];
            for (int64_t c = 0; c < C; c++)
                for (int t = 0; t < bs; t++)
                    xb[c * S + t] += yb[c * S + t] * (gb[c * S + t] - acc[t]);
        }
    }
}

static glia_status softmax_forward(glia_graph *g, glia_node *n) {
    sm_forward_impl(g, n, 0);
    return GLIA_OK;
}
static glia_status log_softmax_forward(glia_graph *g, glia_node *n) {
    sm_forward_impl(g, n, 1);
    return GLIA_OK;
}
static void softmax_backward(glia_graph *g, glia_node *n) { sm_backward_impl(g, n, 0); }
static void log_softmax_backward(glia_graph *g, glia_node *n) { sm_backward_impl(g, n, 1); }

const glia_op_def glia__op_softmax = {
    .name = "softmax", .summary = "softmax along axis 1: y = exp(x - max) / sum exp(x - max)",
    .inputs = "x[N,C,...]", .outputs = "y[N,C,...]", .min_in = 1, .max_in = 1,
    .flags = OPF_BWD_OUTPUT, .infer = sm_infer, .forward = softmax_forward,
    .backward = softmax_backward};
const glia_op_def glia__op_log_softmax = {
    .name = "log_softmax",
    .summary = "log of softmax along axis 1: y = x - max - log sum exp(x - max)",
    .inputs = "x[N,C,...]", .outputs = "y[N,C,...]", .min_in = 1, .max_in = 1,
    .flags = OPF_BWD_OUTPUT, .infer = sm_infer, .forward = log_softmax_forward,
    .backward = log_softmax_backward};

glia_status glia_softmax(glia_graph *g, const char *name, int x, int *out) {
    return glia__add_op(g, GLIA_OP_softmax, name, 1, &x, NULL, 0, NULL, 0, out);
}
glia_status glia_log_softmax(glia_graph *g, const char *name, int x, int *out) {
    return glia__add_op(g, GLIA_OP_log_softmax, name, 1, &x, NULL, 0, NULL, 0, out);
}
