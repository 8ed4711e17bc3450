/* ref_act.c: reference kernels of the activations, softmax and log-softmax, maxout and dropout
 * (the definitions are those of src/ops/activation.c, softmax.c, maxout.c, dropout.c). */
#include "ref.h"
#include <math.h>

/* ---------------------------------------------------------------- elementwise activations
 * Backward reads the output y only (the op's flags: x's buffer may be reused by then):
 *   relu        y = max(x, 0) (NaN stays NaN)     dx += y > 0 ? dy : 0
 *   relu6       y = min(max(x, 0), 6)             dx += 0 < y < 6 ? dy : 0
 *   leaky_relu  y = x > 0 ? x : slope x           dx += y > 0 ? dy : slope dy
 *   elu         y = x > 0 ? x : alpha (e^x - 1)   dx += y > 0 ? dy : dy (y + alpha)
 *   sigmoid     y = 1 / (1 + e^-x)                dx += dy y (1 - y)
 *   tanh        y = tanh x                        dx += dy (1 - y^2)
 *   linear      y = x                             dx += dy
 *   sqrt        y = sqrt x                        dx += dy / (2 y)
 *   hard_sigmoid y = min(max(x + 3, 0), 6) / 6     dx += 0 < y < 1 ? dy / 6 : 0
 * and from the input x:
 *   hard_swish  y = x min(max(x + 3, 0), 6) / 6   dx += x < -3 ? 0 : x < 3 ? dy (x / 3 + 1/2) : dy
 *   log         y = ln x                          dx += dy / x */
/* leaky_relu's slope, elu's alpha */
static double act_param(const glia_node *n) {
    return n->op == GLIA_OP_leaky_relu ? n->fa[LEAKY_RELU_SLOPE] : n->fa[ELU_ALPHA];
}

static double act(const glia_node *n, double x) {
    switch (n->op) {
    case GLIA_OP_relu: return x < 0 ? 0.0 : x;
    case GLIA_OP_relu6: return x < 0 ? 0.0 : x > 6 ? 6.0 : x;
    case GLIA_OP_leaky_relu: return x > 0 ? x : act_param(n) * x;
    case GLIA_OP_elu: return x > 0 ? x : act_param(n) * expm1(x);
    case GLIA_OP_sigmoid: return 1.0 / (1.0 + exp(-x));
    case GLIA_OP_tanh: return tanh(x);
    case GLIA_OP_sqrt: return sqrt(x);
    case GLIA_OP_hard_sigmoid: return x <= -3 ? 0.0 : x >= 3 ? 1.0 : (x + 3) / 6;
    case GLIA_OP_hard_swish: return x <= -3 ? 0.0 : x >= 3 ? x : x * (x + 3) / 6;
    case GLIA_OP_log: return log(x);
    default: return x; /* linear */
    }
}

/* dL/dx from y (x for hard_swish and log) and dy */
static double act_grad(const glia_node *n, double x, double y, double dy) {
    switch (n->op) {
    case GLIA_OP_hard_sigmoid: return y > 0 && y < 1 ? dy / 6 : 0.0;
    case GLIA_OP_hard_swish: return x < -3 ? 0.0 : x < 3 ? dy * (x / 3 + 0.5) : dy;
    case GLIA_OP_log: return dy / x;
    case GLIA_OP_relu: return y > 0 ? dy : 0.0;
    case GLIA_OP_relu6: return y > 0 && y < 6 ? dy : 0.0;
    case GLIA_OP_leaky_relu: return y > 0 ? dy : act_param(n) * dy;
    case GLIA_OP_elu: return y > 0 ? dy : dy * (y + act_param(n));
    case GLIA_OP_sigmoid: return dy * y * (1.0 - y);
    case GLIA_OP_tanh: return dy * (1.0 - y * y);
    case GLIA_OP_sqrt: return dy / (2.0 * y);
    default: return dy;
    }
}

static glia_status act_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0);
    for (int64_t i = 0; i < glia__numel(n); i++) n->val[i] = (float)act(n, x[i]);
    return GLIA_OK;
}

static void act_backward(glia_graph *g, glia_node *n) {
    float *dx = ref_dx(g, n, 0);
    if (!dx) return;
    bool reads_x = n->op == GLIA_OP_hard_swish || n->op == GLIA_OP_log;
    const float *x = reads_x ? ref_x(g, n, 0) : NULL;
    for (int64_t i = 0; i < glia__numel(n); i++)
        dx[i] += (float)act_grad(n, x ? x[i] : 0, n->val[i], n->grad[i]);
}

const glia_kernel glia__ref_relu = {act_forward, act_backward};
const glia_kernel glia__ref_relu6 = {act_forward, act_backward};
const glia_kernel glia__ref_leaky_relu = {act_forward, act_backward};
const glia_kernel glia__ref_elu = {act_forward, act_backward};
const glia_kernel glia__ref_sigmoid = {act_forward, act_backward};
const glia_kernel glia__ref_tanh = {act_forward, act_backward};
const glia_kernel glia__ref_linear = {act_forward, act_backward};
const glia_kernel glia__ref_sqrt = {act_forward, act_backward};
const glia_kernel glia__ref_hard_sigmoid = {act_forward, act_backward};
const glia_kernel glia__ref_hard_swish = {act_forward, act_backward};
const glia_kernel glia__ref_log = {act_forward, act_backward};

/* ---------------------------------------------------------------- softmax, log_softmax
 * Along axis 1 of x [N, C, S...] (S the product of the rest), per (n, s), m = max_c x_c:
 *   softmax      y_c = e^(x_c - m) / sum_c' e^(x_c' - m)       dx_c += y_c (dy_c - sum_c' dy_c' y_c')
 *   log_softmax  y_c = x_c - m - log sum_c' e^(x_c' - m)       dx_c += dy_c - e^(y_c) sum_c' dy_c'
 * (backward reads y only) */
static void sm_dims(const glia_node *n, int64_t *N, int64_t *C, int64_t *S) {
    *N = n->shape.dim[0];
    *C = n->shape.dim[1];
    *S = glia__numel(n) / (*N * *C);
}

static glia_status sm_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0);
    int64_t N, C, S;
    sm_dims(n, &N, &C, &S);
    for (int64_t b = 0; b < N; b++)
        for (int64_t s = 0; s < S; s++) {
            const float *xr = x + b * C * S + s;
            float *yr = n->val + b * C * S + s;
            double m = xr[0], sum = 0;
            for (int64_t c = 1; c < C; c++) m = xr[c * S] > m ? xr[c * S] : m;
            for (int64_t c = 0; c < C; c++) sum += exp(xr[c * S] - m);
            for (int64_t c = 0; c < C; c++)
                yr[c * S] = (float)(n->op == GLIA_OP_softmax ? exp(xr[c * S] - m) / sum
                                                             : xr[c * S] - m - log(sum));
        }
    return GLIA_OK;
}

static void sm_backward(glia_graph *g, glia_node *n) {
    float *dx = ref_dx(g, n, 0);
    if (!dx) return;
    int64_t N, C, S;
    sm_dims(n, &N, &C, &S);
    for (int64_t b = 0; b < N; b++)
        for (int64_t s = 0; s < S; s++) {
            const int64_t o = b * C * S + s;
            const float *y = n->val + o, *dy = n->grad + o;
            double acc = 0; /* softmax: sum dy y; log_softmax: sum dy */
            for (int64_t c = 0; c < C; c++)
                acc += n->op == GLIA_OP_softmax ? (double)dy[c * S] * y[c * S] : dy[c * S];
            for (int64_t c = 0; c < C; c++)
                dx[o + c * S] += (float)(n->op == GLIA_OP_softmax ? y[c * S] * (dy[c * S] - acc)
                                                                  : dy[c * S] - exp(y[c * S]) * acc);
        }
}

const glia_kernel glia__ref_softmax = {sm_forward, sm_backward};
const glia_kernel glia__ref_log_softmax = {sm_forward, sm_backward};

/* ---------------------------------------------------------------- maxout
 * x [N, k M, S...] -> y [N, M, S...]:  y[n,m,s] = max_{j<k} x[n, m k + j, s] (the first maximum
 * wins a tie, the first NaN wins over numbers); the winning j saved as int32 per output;
 * dx[n, m k + j*, s] += dy[n,m,s]. */
static int maxout_k(const glia_node *n) { return n->ia[MAXOUT_K]; }

static glia_status maxout_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0);
    int32_t *arg = n->saved;
    const int k = maxout_k(n);
    const int64_t rows = n->shape.dim[0] * n->shape.dim[1], S = glia__numel(n) / rows;
    for (int64_t r = 0; r < rows; r++) /* r = n M + m: its inputs are rows r k .. r k + k - 1 */
        for (int64_t s = 0; s < S; s++) {
            int best = 0;
            for (int j = 1; j < k; j++) {
                float v = x[(r * k + j) * S + s], b = x[(r * k + best) * S + s];
                if (v > b || (isnan(v) && !isnan(b))) best = j;
            }
            n->val[r * S + s] = x[(r * k + best) * S + s];
            arg[r * S + s] = best;
        }
    return GLIA_OK;
}

static void maxout_backward(glia_graph *g, glia_node *n) {
    float *dx = ref_dx(g, n, 0);
    const int32_t *arg = n->saved;
    if (!dx) return;
    const int k = maxout_k(n);
    const int64_t rows = n->shape.dim[0] * n->shape.dim[1], S = glia__numel(n) / rows;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t s = 0; s < S; s++) dx[(r * k + arg[r * S + s]) * S + s] += n->grad[r * S + s];
}

const glia_kernel glia__ref_maxout = {maxout_forward, maxout_backward};

/* ---------------------------------------------------------------- dropout
 * Training: keep_i = u_i >= p with u_i = glia_rng_uniform(&g->rng) drawn in element order (none
 * drawn when p = 0), y_i = keep_i ? x_i s : 0 with s = 1 / (1 - p) in float (PyTorch's scale);
 * dx_i += keep_i ? dy_i s : 0. Inference: y = x, dx += dy. The same draws as the cpu kernel, so
 * both devices drop the same elements. Saved: byte 0 the forward's mode (1: training), then
 * the keep mask, one byte per element (dropout.c's layout). */
static float dropout_p(const glia_node *n) { return n->fa[DROPOUT_P]; }

static glia_status dropout_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0);
    unsigned char *mode = n->saved, *keep = mode + 1;
    const float p = dropout_p(n), s = 1.0f / (1.0f - p);
    *mode = g->training ? 1 : 0;
    for (int64_t i = 0; i < glia__numel(n); i++) {
        if (!g->training) {
            n->val[i] = x[i];
            continue;
        }
        keep[i] = p > 0.0f ? glia_rng_uniform(&g->rng) >= p : 1;
        n->val[i] = keep[i] ? x[i] * s : 0.0f;
    }
    return GLIA_OK;
}

static void dropout_backward(glia_graph *g, glia_node *n) {
    float *dx = ref_dx(g, n, 0);
    const unsigned char *mode = n->saved, *keep = mode + 1;
    const float s = 1.0f / (1.0f - dropout_p(n));
    if (!dx) return;
    for (int64_t i = 0; i < glia__numel(n); i++)
        dx[i] += !*mode ? n->grad[i] : keep[i] ? n->grad[i] * s : 0.0f;
}

const glia_kernel glia__ref_dropout = {dropout_forward, dropout_backward};
