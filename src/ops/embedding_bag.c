/* embedding_bag.c: a bag of table rows summed, PyTorch's nn.EmbeddingBag(mode='sum').
 *
 *   indices [..., K] holding integer ids in [0, V), or -1 for an empty slot, weight [V, E]
 *     ->  y [..., E],   y[i, :] = sum over k with id_ik != -1 of weight[id_ik, :]
 *   (a bag of empty slots only is 0). Backward: dweight[id_ik, :] += dy[i, :] for every id that
 *   is not -1; the indices get no gradient. An id that is neither -1 nor an integer in [0, V)
 *   fails forward with GLIA_ERANGE naming the node, the position and the id.
 *
 * The -1 slots are what PyTorch writes with padding_idx (excluded from the bag): they let bags
 * of different sizes share one rectangular tensor, e.g. a word's letter trigrams (word hashing,
 * Huang et al. 2013), at most K per word.
 * Saved state: the ids as int32, so backward reads no input. Forward adds a bag's rows in slot
 * order; backward splits the E columns among threads and adds the rows in index order:
 * bit-identical for any thread count, as in embedding.c. */
#include "embedding.h"
#include <string.h>

static glia_status embedding_bag_infer(glia_graph *g, glia_node *n) {
    glia_node *ix = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    if (w->shape.ndim != 2) return glia__bad_shape(g, n, "weight", w, "embedding_bag needs [V, E]");
    if (ix->shape.ndim < 1)
        return glia__err(GLIA_ESHAPE, "%s: indices '%s' are a scalar; embedding_bag needs "
                         "[..., K] (K slots per bag)", glia__where(g, n), ix->name);
    if (w->shape.dim[0] > INT32_MAX)
        return glia__err(GLIA_ESHAPE, "%s: %lld rows is too many", glia__where(g, n),
                         (long long)w->shape.dim[0]);
    n->shape = ix->shape;
    n->shape.dim[n->shape.ndim - 1] = w->shape.dim[1];
    n->ws_bytes = 0;
    n->saved_bytes = (size_t)glia__numel(ix) * sizeof(int32_t);
    return GLIA_OK;
}

static glia_status embedding_bag_forward(glia_graph *g, glia_node *n) {
    glia_node *ix = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    int64_t MK = glia__numel(ix), K = ix->shape.dim[ix->shape.ndim - 1], M = K ? MK / K : 0;
    int64_t E = w->shape.dim[1];
    int32_t *id = n->saved;
    glia_status s = glia__embedding_ids(g, n, true, id);
    if (s) return s;
#pragma omp parallel for schedule(static) if (MK * E >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < M; i++) {
        float *y = n->val + i * E;
        memset(y, 0, (size_t)E * sizeof(float));
        for (int64_t k = 0; k < K; k++) {
            if (id[i * K + k] < 0) continue;
            const float *row = w->val + (int64_t)id[i * K + k] * E;
            for (int64_t j = 0; j < E; j++) y[j] += row[j];
        }
    }
    return GLIA_OK;
}

static void embedding_bag_backward(glia_graph *g, glia_node *n) {
    const glia_node *ix = glia__in(g, n, 0);
    glia__embedding_backward(g, n, ix->shape.dim[ix->shape.ndim - 1], -1); /* slot i: bag i / K */
}

const glia_op_def glia__op_embedding_bag = {
    .name = "embedding_bag",
    .summary = "sum of table rows per bag: y[..., :] = sum_k weight[id_k, :] (ids as floats; -1: "
               "empty slot)",
    .inputs = "indices[...,K], weight[V,E]", .outputs = "y[...,E]", .min_in = 2, .max_in = 2,
    .infer = embedding_bag_infer, .forward = embedding_bag_forward,
    .backward = embedding_bag_backward, .no_grad = glia__no_grad_in0};

glia_status glia_embedding_bag(glia_graph *g, const char *name, int indices, int weight, int *out) {
    int in[2] = {indices, weight};
    return glia__add_op(g, GLIA_OP_embedding_bag, name, 2, in, NULL, 0, NULL, 0, out);
}
