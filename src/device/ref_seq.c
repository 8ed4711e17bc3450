/* ref_seq.c: reference kernels of the lookup tables (embedding, embedding_bag) and the
 * many-to-one read-outs of sequences (seq_last, seq_pool); the definitions are those of
 * src/ops/embedding.c, embedding_bag.c, seq_last.c, seq_pool.c. */
#include "ref.h"
#include "../ops/rnn_common.h"
#include <math.h>

/* ---------------------------------------------------------------- embedding, embedding_bag
 * weight [V, E]; ids are floats holding integers in [0, V) (else GLIA_ERANGE), saved as int32
 * (the ops' layout), so backward reads no input.
 *   embedding      indices [...] -> y [..., E]:  y[i, :] = weight[id_i, :]
 *                  dweight[id_i, :] += dy[i, :] unless id_i is padding_idx
 *   embedding_bag  indices [..., K] -> y [..., E]:  y[i, :] = sum_{k: id_ik != -1} weight[id_ik, :]
 *                  dweight[id_ik, :] += dy[i, :]   (-1: an empty slot) */
static int emb_padding(const glia_node *n) { return n->ia[EMBEDDING_PADDING_IDX]; }

/* ids of input 0 into n->saved; empty: -1 allowed (a bag's empty slot) */
static glia_status read_ids(glia_graph *g, glia_node *n, int empty) {
    const glia_node *ix = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    const int64_t V = w->shape.dim[0];
    int32_t *id = n->saved;
    for (int64_t i = 0; i < glia__numel(ix); i++) {
        float v = ix->val[i];
        if (!((empty && v == -1.0f) || (v >= 0.0f && (double)v < (double)V && v == floorf(v)))) {
            char a[96];
            return glia__err(GLIA_ERANGE, "%s: id %g at position %lld of indices '%s' is out of "
                             "range: ids must be integers in [0, %lld)%s (weight '%s' %s)",
                             glia__where(g, n), (double)v, (long long)i, ix->name, (long long)V,
                             empty ? ", or -1 for an empty slot" : "", w->name,
                             glia_shape_str(&w->shape, a, sizeof a));
        }
        id[i] = (int32_t)v;
    }
    return GLIA_OK;
}

static glia_status embedding_forward(glia_graph *g, glia_node *n) {
    glia_status s = read_ids(g, n, 0);
    if (s) return s;
    const float *w = ref_x(g, n, 1);
    const int32_t *id = n->saved;
    const int64_t M = glia__numel(glia__in(g, n, 0)), E = glia__in(g, n, 1)->shape.dim[1];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < E; j++) n->val[i * E + j] = w[id[i] * E + j];
    return GLIA_OK;
}

static void embedding_backward(glia_graph *g, glia_node *n) {
    float *dw = ref_dx(g, n, 1);
    const int32_t *id = n->saved;
    if (!dw) return;
    const int64_t M = glia__numel(glia__in(g, n, 0)), E = glia__in(g, n, 1)->shape.dim[1];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < E && id[i] != emb_padding(n); j++) dw[id[i] * E + j] += n->grad[i * E + j];
}

const glia_kernel glia__ref_embedding = {embedding_forward, embedding_backward};

static glia_status bag_forward(glia_graph *g, glia_node *n) {
    glia_status s = read_ids(g, n, 1);
    if (s) return s;
    const glia_shape *is = &glia__in(g, n, 0)->shape;
    const float *w = ref_x(g, n, 1);
    const int32_t *id = n->saved;
    const int64_t K = is->dim[is->ndim - 1], M = glia__numel(glia__in(g, n, 0)) / K;
    const int64_t E = glia__in(g, n, 1)->shape.dim[1];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < E; j++) {
            double sum = 0;
            for (int64_t k = 0; k < K; k++)
                if (id[i * K + k] >= 0) sum += w[id[i * K + k] * E + j];
            n->val[i * E + j] = (float)sum;
        }
    return GLIA_OK;
}

static void bag_backward(glia_graph *g, glia_node *n) {
    float *dw = ref_dx(g, n, 1);
    const int32_t *id = n->saved;
    if (!dw) return;
    const glia_shape *is = &glia__in(g, n, 0)->shape;
    const int64_t K = is->dim[is->ndim - 1], M = glia__numel(glia__in(g, n, 0)) / K;
    const int64_t E = glia__in(g, n, 1)->shape.dim[1];
    for (int64_t i = 0; i < M; i++)
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < E && id[i * K + k] >= 0; j++)
                dw[id[i * K + k] * E + j] += n->grad[i * E + j];
}

const glia_kernel glia__ref_embedding_bag = {bag_forward, bag_backward};

/* ---------------------------------------------------------------- seq_last, seq_pool
 * y [T, N, D], lengths [N]? (L_n, T when absent; validated as the recurrent ops do) -> out [N, D]
 *   seq_last (dirs directions, Dh = D / dirs):
 *     out[n, j] = y[L_n - 1, n, j] for j < Dh,  y[0, n, j] for j >= Dh (the reverse direction)
 *     dy at those places += dout
 *   seq_pool mean: out[n, j] = 1/L_n sum_{t < L_n} y[t, n, j];  dy[t, n, j] += dout[n, j] / L_n
 *   seq_pool max:  out[n, j] = y[t*, n, j], t* the first t < L_n with the largest value (a NaN
 *                  wins, the first one);  dy[t*, n, j] += dout[n, j]
 * Saved (the ops' layout): lengths int32 [N], then for max t* int32 [N, D]. */
static int seq_last_dirs(const glia_node *n) { return n->ia[SEQ_LAST_DIRS]; }
static int seq_pool_max(const glia_node *n) { return n->ia[SEQ_POOL_MODE] == GLIA_SEQ_POOL_MAX; }

static glia_status lengths_of(glia_graph *g, glia_node *n) {
    const glia_shape *ys = &glia__in(g, n, 0)->shape;
    return glia__read_lengths(g, n, n->n_in == 2 ? 1 : -1, (int)ys->dim[0], (int)ys->dim[1], n->saved);
}

static glia_status seq_last_forward(glia_graph *g, glia_node *n) {
    glia_status s = lengths_of(g, n);
    if (s) return s;
    const glia_shape *ys = &glia__in(g, n, 0)->shape;
    const float *y = ref_x(g, n, 0);
    const int32_t *len = n->saved;
    const int64_t N = ys->dim[1], D = ys->dim[2], Dh = D / seq_last_dirs(n);
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < D; j++) {
            int64_t t = j < Dh ? len[i] - 1 : 0;
            n->val[i * D + j] = y[(t * N + i) * D + j];
        }
    return GLIA_OK;
}

static void seq_last_backward(glia_graph *g, glia_node *n) {
    float *dy = ref_dx(g, n, 0);
    if (!dy) return;
    const glia_shape *ys = &glia__in(g, n, 0)->shape;
    const int32_t *len = n->saved;
    const int64_t N = ys->dim[1], D = ys->dim[2], Dh = D / seq_last_dirs(n);
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < D; j++) {
            int64_t t = j < Dh ? len[i] - 1 : 0;
            dy[(t * N + i) * D + j] += n->grad[i * D + j];
        }
}

const glia_kernel glia__ref_seq_last = {seq_last_forward, seq_last_backward};

static glia_status seq_pool_forward(glia_graph *g, glia_node *n) {
    glia_status s = lengths_of(g, n);
    if (s) return s;
    const glia_shape *ys = &glia__in(g, n, 0)->shape;
    const float *y = ref_x(g, n, 0);
    const int64_t N = ys->dim[1], D = ys->dim[2];
    const int32_t *len = n->saved;
    int32_t *arg = (int32_t *)n->saved + N;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < D; j++) {
            double sum = 0;
            int32_t best = 0;
            for (int32_t t = 0; t < len[i]; t++) {
                float v = y[(t * N + i) * D + j], b = y[(best * N + i) * D + j];
                sum += v;
                if (v > b || (isnan(v) && !isnan(b))) best = t;
            }
            if (seq_pool_max(n)) {
                n->val[i * D + j] = y[(best * N + i) * D + j];
                arg[i * D + j] = best;
            } else {
                n->val[i * D + j] = (float)(sum / len[i]);
            }
        }
    return GLIA_OK;
}

static void seq_pool_backward(glia_graph *g, glia_node *n) {
    float *dy = ref_dx(g, n, 0);
    if (!dy) return;
    const glia_shape *ys = &glia__in(g, n, 0)->shape;
    const int64_t N = ys->dim[1], D = ys->dim[2];
    const int32_t *len = n->saved, *arg = len + N;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < D; j++) {
            if (seq_pool_max(n)) {
                dy[(arg[i * D + j] * N + i) * D + j] += n->grad[i * D + j];
                continue;
            }
            for (int32_t t = 0; t < len[i]; t++)
                dy[(t * N + i) * D + j] += (float)((double)n->grad[i * D + j] / len[i]);
        }
}

const glia_kernel glia__ref_seq_pool = {seq_pool_forward, seq_pool_backward};
