/* dense.c: fully connected layer, PyTorch's nn.Linear layout.
 *   y[N,O] = x[N,K] W[O,K]^T + b[O]
 *   dx += dy W,   dW += dy^T x,   db += sum_n dy[n,:]
 * When x and w are both binarize nodes (XNOR-Net), forward runs on packed bits with XNOR and
 * popcount instead (binary_conv.c, the same values); backward stays in floats.
 * x of rank > 2 is read as [N, K] with K the product of the other dimensions (flatten). */
#include "../core/internal.h"
#include "binary.h"
#include <cblas.h>
#include <stdio.h>

static glia_status dense_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    char a[96], b[96];
    if (x->shape.ndim < 2) return glia__bad_shape(g, n, "input", x, "dense needs [N, features...]");
    int64_t K = glia__numel(x) / x->shape.dim[0];
    if (w->shape.ndim != 2 || w->shape.dim[1] != K)
        return glia__err(GLIA_ESHAPE, "%s: weight '%s' has shape %s but input '%s' of shape %s needs "
                         "[out, %lld]", glia__where(g, n), w->name,
                         glia_shape_str(&w->shape, a, sizeof a), x->name,
                         glia_shape_str(&x->shape, b, sizeof b), (long long)K);
    if (n->n_in == 3) {
        glia_node *bias = glia__in(g, n, 2);
        if (glia__numel(bias) != w->shape.dim[0] || bias->shape.ndim != 1)
            return glia__err(GLIA_ESHAPE, "%s: bias '%s' has shape %s, expected [%lld]",
                             glia__where(g, n), bias->name,
                             glia_shape_str(&bias->shape, a, sizeof a), (long long)w->shape.dim[0]);
    }
    n->shape.ndim = 2;
    n->shape.dim[0] = x->shape.dim[0];
    n->shape.dim[1] = w->shape.dim[0];
    xnor_geom q;
    n->ws_bytes = glia__xnor_node(g, n, &q) ? glia__xnor_ws(&q) : 0;
    return GLIA_OK;
}

static glia_status dense_forward(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    int N = (int)n->shape.dim[0], O = (int)n->shape.dim[1], K = (int)w->shape.dim[1];
    float *y = n->val;
    if (glia__xnor_node_forward(g, n, n->n_in == 3 ? glia__in(g, n, 2)->val : NULL, 0, y))
        return GLIA_OK;
    if (n->n_in == 3) {
        const float *b = glia__in(g, n, 2)->val;
        for (int i = 0; i < N; i++)
            for (int o = 0; o < O; o++) y[(size_t)i * O + o] = b[o];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, K, 1.0f, x->val, K, w->val, K,
                n->n_in == 3 ? 1.0f : 0.0f, y, O);
    return GLIA_OK;
}

static void dense_backward(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    int N = (int)n->shape.dim[0], O = (int)n->shape.dim[1], K = (int)w->shape.dim[1];
    const float *dy = n->grad;
    if (x->grad)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, K, O, 1.0f, dy, O, w->val, K,
                    1.0f, x->grad, K);
    if (w->grad)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, K, N, 1.0f, dy, O, x->val, K, 1.0f,
                    w->grad, K);
    if (n->n_in == 3 && glia__in(g, n, 2)->grad) {
        float *db = glia__in(g, n, 2)->grad;
        for (int i = 0; i < N; i++) /* fixed order over the batch: bit-exact for any thread count */
            for (int o = 0; o < O; o++) db[o] += dy[(size_t)i * O + o];
    }
}

const glia_op_def glia__op_dense = {
    .name = "dense", .summary = "fully connected: y = x W^T + b",
    .inputs = "x[N,K...], w[O,K], b[O]?", .outputs = "y[N,O]", .min_in = 2, .max_in = 3,
    .flags = OPF_BWD_INPUTS, .infer = dense_infer, .forward = dense_forward,
    .backward = dense_backward};

glia_status glia_dense(glia_graph *g, const char *name, int x, int w, int b, int *out) {
    int in[3] = {x, w, b};
    return glia__add_op(g, GLIA_OP_dense, name, b >= 0 ? 3 : 2, in, NULL, 0, NULL, 0, out);
}
