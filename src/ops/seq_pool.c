/* seq_pool.c: many-to-one pooling over time of a sequence, masked by the lengths, so that a
 * sentence is summarised by all its steps and not only by the last one (the "mean/max over
 * time" read-out of sentence classifiers; in PyTorch: y[:L].mean(0) or y[:L].max(0) per
 * sequence).
 *
 *   y [T, N, D], lengths [N]? (floats holding integers 1..T; T when absent)  ->  out [N, D]
 *     mean:  out[n, j] = (1 / L_n) sum_{t < L_n} y[t, n, j]
 *            dy[t, n, j] += dout[n, j] / L_n            for t < L_n (0 at padded steps)
 *     max:   out[n, j] = max_{t < L_n} y[t, n, j]   (the first t on ties; NaN wins, as torch)
 *            dy[t*, n, j] += dout[n, j]                  at that t* only
 * Padded steps never reach the output nor get gradient, whatever they hold.
 *
 * Attribute: mode (GLIA_SEQ_POOL_MEAN or GLIA_SEQ_POOL_MAX). Saved state: the lengths
 * as int32 [N], then for max the winning step of every output as int32 [N, D]. */
#include "rnn_common.h"
#include <math.h>
#include <string.h>

static glia_status seq_pool_infer(glia_graph *g, glia_node *n) {
    glia_status s = glia__seq_readout_infer(g, n, 1);
    if (s) return s;
    const int64_t N = n->shape.dim[0], D = n->shape.dim[1];
    const bool max = n->ia[SEQ_POOL_MODE] == GLIA_SEQ_POOL_MAX;
    n->saved_bytes = (size_t)(N + (max ? N * D : 0)) * sizeof(int32_t);
    return GLIA_OK;
}

static glia_status seq_pool_forward(glia_graph *g, glia_node *n) {
    glia_node *Y = glia__in(g, n, 0);
    const int T = (int)Y->shape.dim[0], N = (int)Y->shape.dim[1];
    const int64_t D = Y->shape.dim[2];
    int32_t *len = n->saved, *arg = len + N;
    glia_status s = glia__read_lengths(g, n, n->n_in == 2 ? 1 : -1, T, N, len);
    if (s) return s;
    const int max = n->ia[SEQ_POOL_MODE] == GLIA_SEQ_POOL_MAX;
    for (int i = 0; i < N; i++) {
        float *o = n->val + (size_t)i * D;
        int32_t *a = arg + (size_t)i * D;
        memcpy(o, Y->val + (size_t)i * D, (size_t)D * sizeof(float)); /* step 0 */
        if (max) memset(a, 0, (size_t)D * sizeof *a);
        for (int t = 1; t < len[i]; t++) {
            const float *v = Y->val + ((size_t)t * N + i) * D;
            if (!max) {
                for (int64_t j = 0; j < D; j++) o[j] += v[j];
                continue;
            }
            for (int64_t j = 0; j < D; j++)
                if (v[j] > o[j] || (isnan(v[j]) && !isnan(o[j]))) {
                    o[j] = v[j];
                    a[j] = t;
                }
        }
        if (!max) {
            const float inv = 1.0f / (float)len[i];
            for (int64_t j = 0; j < D; j++) o[j] *= inv;
        }
    }
    return GLIA_OK;
}

static void seq_pool_backward(glia_graph *g, glia_node *n) {
    glia_node *Y = glia__in(g, n, 0);
    if (!Y->grad) return;
    const int N = (int)Y->shape.dim[1];
    const int64_t D = Y->shape.dim[2];
    const int32_t *len = n->saved, *arg = len + N;
    for (int i = 0; i < N; i++) {
        const float *d = n->grad + (size_t)i * D;
        if (n->ia[SEQ_POOL_MODE] == GLIA_SEQ_POOL_MAX) {
            const int32_t *a = arg + (size_t)i * D;
            for (int64_t j = 0; j < D; j++) Y->grad[((size_t)a[j] * N + i) * D + j] += d[j];
            continue;
        }
        const float inv = 1.0f / (float)len[i];
        for (int t = 0; t < len[i]; t++) {
            float *dy = Y->grad + ((size_t)t * N + i) * D;
            for (int64_t j = 0; j < D; j++) dy[j] += d[j] * inv;
        }
    }
}

/* the names of GLIA_SEQ_POOL_MEAN, GLIA_SEQ_POOL_MAX */
static const char *const seq_pool_modes[] = {"mean", "max"};
static const glia_attr_def seq_pool_attrs[] = {
    GLIA_ATTR_E("mode", SEQ_POOL_MODE, GLIA_SEQ_POOL_MEAN, seq_pool_modes)};
GLIA_SEQ_READOUT_DEF(seq_pool, "many-to-one mean or max over the live steps of a sequence "
                               "(lengths mask the padding)")

glia_status glia_seq_pool(glia_graph *g, const char *name, int y, int lengths, int mode, int *out) {
    return glia__seq_readout_add(g, GLIA_OP_seq_pool, name, y, lengths, mode, out);
}
