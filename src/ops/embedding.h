/* embedding.h: what embedding.c and embedding_bag.c share: reading the ids, and backward. */
#ifndef GLIA_OPS_EMBEDDING_H
#define GLIA_OPS_EMBEDDING_H

#include "../core/internal.h"

/* The ids of input 0 (floats) as int32 in id; GLIA_ERANGE naming the node, the position and the
 * id for one that is not an integer in [0, V) of weight input 1, nor -1 when empty_ok (an
 * embedding_bag's empty slot). embedding.c. */
glia_status glia__embedding_ids(glia_graph *g, glia_node *n, bool empty_ok, int32_t *id);

/* dweight[id[i], :] += dy[i / K, :] for every saved id i but those equal to skip (embedding:
 * K 1, its padding_idx or -1; embedding_bag: K slots per bag, -1 the empty slots). Threads split
 * the E columns and add the rows in index order: bit-identical for any thread count. Inlined
 * with K a constant for embedding (no division per row). */
static inline __attribute__((always_inline)) void glia__embedding_backward(glia_graph *g,
                                                                           glia_node *n, int64_t K,
                                                                           int32_t skip) {
    glia_node *ix = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    if (!w->grad) return;
    const int64_t MK = glia__numel(ix), E = w->shape.dim[1];
    const int32_t *id = n->saved;
#pragma omp parallel for schedule(static) if (MK * E >= GLIA_PAR_MIN)
    for (int64_t j0 = 0; j0 < E; j0 += 64) {
        int64_t j1 = j0 + 64 < E ? j0 + 64 : E;
        for (int64_t i = 0; i < MK; i++) {
            if (id[i] == skip) continue;
            float *dw = w->grad + (int64_t)id[i] * E;
            const float *dy = n->grad + (i / K) * E;
            for (int64_t j = j0; j < j1; j++) dw[j] += dy[j];
        }
    }
}

#endif
