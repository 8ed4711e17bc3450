/* seq_last.c: the many-to-one read-out of a recurrent layer's output sequence, what PyTorch's
 * h_n holds for the last layer (torch.cat([h_n[-2], h_n[-1]], 1) when bidirectional).
 *
 *   y [T, N, D], lengths [N]? (floats holding integers 1..T; T when absent), dirs = 1 or 2,
 *   Dh = D / dirs  ->  out [N, D]
 *     out[n, 0:Dh] = y[len_n - 1, n, 0:Dh]    the forward direction's last live step
 *     out[n, Dh:D] = y[0, n, Dh:D]            the reverse direction ends at t = 0
 *   Backward: dy at those positions += dout (y gets gradient nowhere else).
 *
 * Attribute: dirs. Saved state: the lengths as int32 [N], so backward reads no input. */
#include "rnn_common.h"
#include <string.h>

glia_status glia__seq_readout_infer(glia_graph *g, glia_node *n, int dirs) {
    glia_node *y = glia__in(g, n, 0);
    char a[96], b[96];
    if (y->shape.ndim != 3 || y->shape.dim[2] % dirs)
        return glia__bad_shape(g, n, "input", y, "%s needs a time-major sequence [T, N, D]%s",
                               glia__ops[n->op]->name,
                               dirs > 1 ? " with D divisible by dirs = 2" : "");
    if (n->n_in == 2) {
        glia_node *l = glia__in(g, n, 1);
        if (l->shape.ndim != 1 || l->shape.dim[0] != y->shape.dim[1])
            return glia__err(GLIA_ESHAPE, "%s: lengths '%s' has shape %s, expected [%lld] (input "
                             "'%s' %s)", glia__where(g, n), l->name,
                             glia_shape_str(&l->shape, a, sizeof a), (long long)y->shape.dim[1],
                             y->name, glia_shape_str(&y->shape, b, sizeof b));
    }
    if (y->shape.dim[0] > INT32_MAX)
        return glia__err(GLIA_ESHAPE, "%s: sequence of %lld steps is too long", glia__where(g, n),
                         (long long)y->shape.dim[0]);
    n->shape.ndim = 2;
    n->shape.dim[0] = y->shape.dim[1];
    n->shape.dim[1] = y->shape.dim[2];
    n->ws_bytes = 0;
    return GLIA_OK;
}

glia_status glia__seq_readout_add(glia_graph *g, glia_op_id op, const char *name, int y,
                                  int lengths, int attr, int *out) {
    int in[2] = {y, lengths};
    return glia__add_op(g, op, name, lengths >= 0 ? 2 : 1, in, &attr, 1, NULL, 0, out);
}

static glia_status seq_last_infer(glia_graph *g, glia_node *n) {
    glia_status s = glia__seq_readout_infer(g, n, n->ia[SEQ_LAST_DIRS]);
    if (s) return s;
    n->saved_bytes = (size_t)n->shape.dim[0] * sizeof(int32_t); /* the lengths */
    return GLIA_OK;
}

static glia_status seq_last_forward(glia_graph *g, glia_node *n) {
    glia_node *Y = glia__in(g, n, 0);
    int T = (int)Y->shape.dim[0], N = (int)Y->shape.dim[1];
    int64_t D = Y->shape.dim[2], Dh = D / n->ia[SEQ_LAST_DIRS];
    int32_t *len = n->saved;
    glia_status s = glia__read_lengths(g, n, n->n_in == 2 ? 1 : -1, T, N, len);
    if (s) return s;
    for (int i = 0; i < N; i++) {
        float *o = n->val + (size_t)i * D;
        memcpy(o, Y->val + ((size_t)(len[i] - 1) * N + i) * D, (size_t)Dh * sizeof(float));
        if (Dh < D) memcpy(o + Dh, Y->val + (size_t)i * D + Dh, (size_t)(D - Dh) * sizeof(float));
    }
    return GLIA_OK;
}

static void seq_last_backward(glia_graph *g, glia_node *n) {
    glia_node *Y = glia__in(g, n, 0);
    if (!Y->grad) return;
    int N = (int)Y->shape.dim[1];
    int64_t D = Y->shape.dim[2], Dh = D / n->ia[SEQ_LAST_DIRS];
    const int32_t *len = n->saved;
    for (int i = 0; i < N; i++) {
        const float *d = n->grad + (size_t)i * D;
        float *f = Y->grad + ((size_t)(len[i] - 1) * N + i) * D, *r = Y->grad + (size_t)i * D;
        for (int64_t j = 0; j < Dh; j++) f[j] += d[j];
        for (int64_t j = Dh; j < D; j++) r[j] += d[j];
    }
}

static const glia_attr_def seq_last_attrs[] = {GLIA_ATTR_I("dirs", SEQ_LAST_DIRS, 1, 1, 2)};
GLIA_SEQ_READOUT_DEF(seq_last, "many-to-one read-out of a recurrent output: the forward half at "
                               "t = length-1, the reverse half at t = 0 (PyTorch's h_n)")

glia_status glia_seq_last(glia_graph *g, const char *name, int y, int lengths, int dirs, int *out) {
    return glia__seq_readout_add(g, GLIA_OP_seq_last, name, y, lengths, dirs, out);
}
