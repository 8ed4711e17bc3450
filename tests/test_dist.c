/* test_dist.c: what data-parallel training (src/train/dist.c) rests on without mpirun: a shard
 * of an augmented batch filled by one process after skipping the others' draws
 * (glia_augment_skip) is the same rows as one process's whole batch, and leaves the generator
 * where the whole batch does; one process outside mpirun is rank 0 of 1. The runs under mpirun
 * are tests/mpi_test.sh. */
#include "test.h"
#include "core/internal.h" /* the graph's gradient hook */
#include <stdlib.h>
#include <string.h>

TEST(dist_shard_of_augmented_batch) {
    glia_dataset *d = test_blobs(24, 5);
    CHECK(d);
    enum { B = 12, K = 3, S = B / K, PER = 64 };
    int64_t idx[B];
    for (int i = 0; i < B; i++) idx[i] = (i * 7) % 24;
    glia_augment aug = {.shift = 2, .hflip = 1, .crop = 0.5f, .jitter = 0.2f}; /* every draw */
    const float mean = 0.5f, sd = 2.0f;
    float whole[B * PER], wy[B], part[S * PER], py[S];
    glia_rng r0, r;
    glia_rng_seed(&r0, 11, 0xda7a);
    r = r0;
    glia_dataset_batch(d, idx, B, &mean, &sd, &aug, &r, whole, wy);
    const glia_rng end = r;
    for (int k = 0; k < K; k++) { /* shard k: skip k S samples' draws, fill S, skip the rest */
        glia_rng q = r0;
        glia_augment_skip(d, &aug, &q, k * S);
        glia_dataset_batch(d, idx + k * S, S, &mean, &sd, &aug, &q, part, py);
        glia_augment_skip(d, &aug, &q, (K - 1 - k) * S);
        CHECK_MSG(!memcmp(part, whole + k * S * PER, sizeof part) && !memcmp(py, wy + k * S, sizeof py),
                  "shard %d differs from rows %d..%d of the whole batch", k, k * S, k * S + S - 1);
        CHECK_MSG(q.state == end.state && q.inc == end.inc, "shard %d leaves the generator elsewhere", k);
    }
    /* the augmentation really drew: another start gives other pixels */
    glia_rng_seed(&r, 12, 0xda7a);
    glia_dataset_batch(d, idx, S, &mean, &sd, &aug, &r, part, py);
    CHECK(memcmp(part, whole, sizeof part));
    glia_augment_skip(d, NULL, &r, 5); /* no augmentation: nothing to skip, no crash */
    glia_dataset_free(d);
}

TEST(dist_one_process) {
    CHECK(glia_dist_init() == GLIA_OK);
    CHECK(glia_dist_rank() == 0 && glia_dist_size() == 1);
    glia_dist_abort(1); /* returns: there is no other process */
}

/* backward's gradient hook (internal.h grad_hook), on which the gradient buckets rest: each
 * trainable parameter is reported once, when its gradient is final (a copy taken then equals
 * the gradient at the end), the last layer's first; a parameter two ops share is reported after
 * the lower one; one no path reaches, zeroed; a frozen one never; an error stops backward */
typedef struct {
    glia_graph *g;
    int order[8], n, fail_at;
    float copy[8][16];
} hook_log;
static glia_status log_grad(void *ctx, int p) {
    hook_log *h = ctx;
    if (h->n == h->fail_at) return GLIA_EIO;
    glia_shape sh;
    glia_node_shape(h->g, p, &sh);
    memcpy(h->copy[h->n], glia_node_grad(h->g, p), (size_t)glia_shape_numel(&sh) * sizeof(float));
    h->order[h->n++] = p;
    return GLIA_OK;
}
TEST(dist_grad_hook_reports_final_gradients) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w1, b, w2, u, h1, h2, r, y, dead;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_param(g, "w1", 2, (int64_t[]){3, 3}, &w1));
    OK(glia_param(g, "b", 1, (int64_t[]){3}, &b));
    OK(glia_param(g, "w2", 2, (int64_t[]){2, 3}, &w2));
    OK(glia_param(g, "u", 2, (int64_t[]){2, 2}, &u));
    OK(glia_dense(g, "h1", x, w1, b, &h1));
    OK(glia_relu(g, "r", h1, &r));
    OK(glia_dense(g, "h2", r, w1, -1, &h2)); /* w1 again, higher up */
    OK(glia_dense(g, "y", h2, w2, -1, &y));
    OK(glia_mul(g, "dead", y, u, &dead));    /* after the seed: u gets no gradient */
    OK(glia_node_retain(g, y));
    OK(glia_node_set_trainable(g, b, 0));
    fill_uniform(glia_node_value(g, x), 6, -1, 1, 21);
    fill_uniform(glia_node_value(g, w1), 9, -1, 1, 22);
    fill_uniform(glia_node_value(g, b), 3, -1, 1, 23);
    fill_uniform(glia_node_value(g, w2), 6, -1, 1, 24);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    hook_log h = {.g = g, .fail_at = -1};
    g->grad_hook = log_grad;
    g->grad_hook_ctx = &h;
    OK(glia_graph_forward(g));
    glia_node_grad(g, u)[0] = 5; /* stale: backward must zero it before reporting it */
    OK(glia_graph_backward(g, y, NULL, 0));
    CHECK_MSG(h.n == 3 && h.order[0] == w2 && h.order[1] == w1 && h.order[2] == u,
              "reported %d parameters: %d %d %d (w2 %d, w1 %d, u %d)", h.n, h.order[0],
              h.order[1], h.order[2], w2, w1, u);
    CHECK(!memcmp(h.copy[0], glia_node_grad(g, w2), 6 * sizeof(float)));
    CHECK(!memcmp(h.copy[1], glia_node_grad(g, w1), 9 * sizeof(float)));
    for (int i = 0; i < 4; i++) CHECK(h.copy[2][i] == 0);
    h.n = 0, h.fail_at = 1;
    CHECK(glia_graph_backward(g, y, NULL, 0) == GLIA_EIO);
    g->grad_hook = NULL;
    glia_graph_free(g);
}
