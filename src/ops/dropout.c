/* dropout.c: inverted dropout (Srivastava et al. 2014, scaled at training time as PyTorch does).
 *
 *   training:  keep_i = (u_i >= p), u_i = glia_rng_uniform(&g->rng) drawn in element order
 *              y_i = keep_i ? x_i * s : 0,  s = 1 / (1 - p) (a float, as PyTorch's scale)
 *              dx_i += keep_i ? dy_i * s : 0
 *   inference: y = x, dx += dy
 * E[y] = x in training, so nothing changes at inference. With p = 0 no number is drawn.
 *
 * The mask is drawn sequentially from the graph's generator, so it depends only on the
 * generator's state (glia_gradcheck resets the state before each forward: the mask repeats).
 * The multiply runs in parallel; it is elementwise, so results do not depend on the number of
 * threads either.
 *
 * Saved state (n->saved, numel + 1 bytes): byte 0 is 1 if the last forward ran in training mode
 * (backward follows the mode of the forward it differentiates), bytes 1..numel the keep mask.
 *
 * Attribute: p, the probability of dropping an element, in [0, 1). */
#include "../core/internal.h"
#include <math.h>

static glia_status dropout_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    n->shape = x->shape;
    n->ws_bytes = 0;
    n->saved_bytes = (size_t)glia__numel(x) + 1;
    return GLIA_OK;
}

static glia_status dropout_forward(glia_graph *g, glia_node *n) {
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
    unsigned char *st = n->saved, *keep = st + 1;
    const int64_t m = glia__numel(n);
    const float p = n->fa[DROPOUT_P];
    if (!g->training) {
        st[0] = 0;
#pragma omp parallel for schedule(static) if (m >= GLIA_PAR_MIN)
            for (int64_t i = 0; i < m; i++) y[i] = x[i];
        return GLIA_OK;
    }
    st[0] = 1;
    if (p > 0.0f) /* sequential: the mask is a function of the generator's state alone */
        for (int64_t i = 0; i < m; i++) keep[i] = glia_rng_uniform(&g->rng) >= p;
    else
        for (int64_t i = 0; i < m; i++) keep[i] = 1;
    const float s = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (m >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < m; i++) y[i] = keep[i] ? x[i] * s : 0.0f;
    return GLIA_OK;
}

static void dropout_backward(glia_graph *g, glia_node *n) {
    float *dx = glia__in(g, n, 0)->grad;
    if (!dx) return;
    const float *dy = n->grad;
    const unsigned char *st = n->saved, *keep = st + 1;
    const int64_t m = glia__numel(n);
    if (!st[0]) {
#pragma omp parallel for schedule(static) if (m >= GLIA_PAR_MIN)
        for (int64_t i = 0; i < m; i++) dx[i] += dy[i];
        return;
    }
    const float s = 1.0f / (1.0f - n->fa[DROPOUT_P]);
#pragma omp parallel for schedule(static) if (m >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < m; i++) dx[i] += keep[i] ? dy[i] * s : 0.0f;
}

static const glia_attr_def dropout_attrs[] = {
    GLIA_ATTR_F("p", DROPOUT_P, 0.5, 0, 1, GLIA_ATTR_OPEN_MAX)};
const glia_op_def glia__op_dropout = {
    .name = "dropout",
    .summary = "inverted dropout: training y = x * mask / (1 - p), inference y = x",
    .inputs = "x[...]", .outputs = "y[...]", .min_in = 1, .max_in = 1, .infer = dropout_infer,
    .forward = dropout_forward, .backward = dropout_backward, GLIA_ATTRS(dropout_attrs)};

glia_status glia_dropout(glia_graph *g, const char *name, int x, float p, int *out) {
    return glia__add_op(g, GLIA_OP_dropout, name, 1, &x, NULL, 0, &p, 1, out);
}
