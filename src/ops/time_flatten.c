/* time_flatten.c: [T, N, ...] -> [T*N, ...], the rows of a time-major sequence as one batch of
 * T*N rows (PyTorch's y.reshape(T * N, D)), so that a dense layer and the softmax cross-entropy
 * apply at every time step (a many-to-many head). The values do not move: row t*N + n is step t
 * of sequence n. [T, N] -> [T*N] too: per-step labels kept as an input [T, N] with batch axis 1
 * follow glia_graph_set_batch, as a [T*N] input cannot. Forward and backward are reshape's
 * (shape_ops.c). No attributes. */
#include "../core/internal.h"

static glia_status tf_infer(glia_graph *g, glia_node *n) {
    const glia_node *x = glia__in(g, n, 0);
    if (x->shape.ndim < 2)
        return glia__bad_shape(g, n, "input", x, "time_flatten needs a time-major sequence "
                               "[T, N, ...]");
    n->shape.ndim = x->shape.ndim - 1;
    n->shape.dim[0] = x->shape.dim[0] * x->shape.dim[1];
    for (int d = 2; d < x->shape.ndim; d++) n->shape.dim[d - 1] = x->shape.dim[d];
    return GLIA_OK;
}
const glia_op_def glia__op_time_flatten = {
    .name = "time_flatten",
    .summary = "[T, N, ...] -> [T*N, ...]: every step of a sequence as a row (many-to-many heads)",
    .inputs = "x[T,N,...]", .outputs = "y[T*N,...]", .min_in = 1, .max_in = 1, .infer = tf_infer,
    .forward = glia__same_values_forward, .backward = glia__same_values_backward};

glia_status glia_time_flatten(glia_graph *g, const char *name, int x, int *out) {
    return glia__add_op(g, GLIA_OP_time_flatten, name, 1, &x, NULL, 0, NULL, 0, out);
}
