/* embedding.c: a lookup table, PyTorch's nn.Embedding / F.embedding.
 *
 *   indices [any shape, up to 7 dimensions] holding integer ids in [0, V), weight [V, E]
 *     ->  y [indices' shape..., E],   y[i, :] = weight[id_i, :]
 *   Backward: dweight[id_i, :] += dy[i, :] for every i whose id is not padding_idx; the indices
 *   get no gradient. An id that is not an integer in [0, V) fails forward with GLIA_ERANGE
 *   naming the node, the position and the id.
 *
 * Attribute: padding_idx in [0, V), or -1 for none (PyTorch's negative padding_idx,
 * counted from the end, is not taken: pass V - k). As in PyTorch the padding row is still looked
 * up (nn.Embedding initialises it to zeros; here it is whatever the weight holds).
 * Saved state: the ids as int32, so backward reads no input. Backward splits the E columns among
 * threads and adds the rows in index order: bit-identical for any thread count. */
#include "embedding.h"
#include <limits.h>
#include <math.h>
#include <string.h>

static glia_status embedding_infer(glia_graph *g, glia_node *n) {
    glia_node *ix = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    char a[96], b[96];
    if (w->shape.ndim != 2) return glia__bad_shape(g, n, "weight", w, "embedding needs [V, E]");
    if (ix->shape.ndim >= GLIA_MAX_DIMS)
        return glia__err(GLIA_ESHAPE, "%s: indices '%s' %s have %d dimensions; at most %d (the "
                         "output adds one)", glia__where(g, n), ix->name,
                         glia_shape_str(&ix->shape, a, sizeof a), ix->shape.ndim, GLIA_MAX_DIMS - 1);
    int64_t V = w->shape.dim[0];
    if (n->ia[EMBEDDING_PADDING_IDX] >= V)
        return glia__err(GLIA_EINVAL, "%s: padding_idx %d is outside [0, %lld) of weight '%s' %s "
                         "(-1 for none)", glia__where(g, n), n->ia[EMBEDDING_PADDING_IDX],
                         (long long)V, w->name,
                         glia_shape_str(&w->shape, b, sizeof b));
    if (V > INT32_MAX)
        return glia__err(GLIA_ESHAPE, "%s: %lld rows is too many", glia__where(g, n), (long long)V);
    n->shape = ix->shape;
    n->shape.dim[n->shape.ndim++] = w->shape.dim[1];
    n->ws_bytes = 0;
    n->saved_bytes = (size_t)glia__numel(ix) * sizeof(int32_t);
    return GLIA_OK;
}

glia_status glia__embedding_ids(glia_graph *g, glia_node *n, bool empty_ok, int32_t *id) {
    glia_node *ix = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    const int64_t MK = glia__numel(ix), V = w->shape.dim[0];
    for (int64_t i = 0; i < MK; i++) {
        float v = ix->val[i];
        if (!((empty_ok && v == -1.0f) || (v >= 0.0f && (double)v < (double)V && v == floorf(v)))) {
            char a[96];
            return glia__err(GLIA_ERANGE, "%s: id %g at position %lld of indices '%s' is out of "
                             "range: ids must be integers in [0, %lld)%s (weight '%s' %s)",
                             glia__where(g, n), (double)v, (long long)i, ix->name, (long long)V,
                             empty_ok ? ", or -1 for an empty slot" : "", w->name,
                             glia_shape_str(&w->shape, a, sizeof a));
        }
        id[i] = (int32_t)v;
    }
    return GLIA_OK;
}

static glia_status embedding_forward(glia_graph *g, glia_node *n) {
    glia_node *ix = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    int64_t M = glia__numel(ix), E = w->shape.dim[1];
    int32_t *id = n->saved;
    glia_status s = glia__embedding_ids(g, n, false, id);
    if (s) return s;
#pragma omp parallel for schedule(static) if (M * E >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < M; i++)
        memcpy(n->val + i * E, w->val + (int64_t)id[i] * E, (size_t)E * sizeof(float));
    return GLIA_OK;
}

static void embedding_backward(glia_graph *g, glia_node *n) {
    glia__embedding_backward(g, n, 1, n->ia[EMBEDDING_PADDING_IDX]);
}

static const glia_attr_def embedding_attrs[] = {
    GLIA_ATTR_I("padding_idx", EMBEDDING_PADDING_IDX, -1, -1, INT_MAX)};
const glia_op_def glia__op_embedding = {
    .name = "embedding",
    .summary = "lookup table: y[..., :] = weight[id, :] (ids as floats); optional padding_idx "
               "gets no gradient",
    .inputs = "indices[...], weight[V,E]", .outputs = "y[...,E]", .min_in = 2, .max_in = 2,
    .infer = embedding_infer, .forward = embedding_forward, .backward = embedding_backward,
    GLIA_ATTRS(embedding_attrs), .no_grad = glia__no_grad_in0};

glia_status glia_embedding(glia_graph *g, const char *name, int indices, int weight,
                           int padding_idx, int *out) {
    int in[2] = {indices, weight};
    return glia__add_op(g, GLIA_OP_embedding, name, 2, in, &padding_idx, 1, NULL, 0, out);
}
