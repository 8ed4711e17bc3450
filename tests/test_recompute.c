/* test_recompute.c: the memory-efficient dense block (compile.c's recomputation, Pleiss et al.
 * 2017): a concatenation and the batch norm + ReLU after it are redone in backward instead of
 * kept. Same loss, gradients and running statistics bit for bit as keeping them (on the cpu and
 * on the reference device), finite-difference gradients, and a plan that grows linearly with
 * the block's depth where keeping them grows with its square. */
#include "test.h"
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>

/* A DenseNet block of `layers` layers (growth 2, bottleneck 8) on [batch, 3, hw, hw], then the
 * final norm, ReLU, global average pool and 3 classes: torchvision's layout (densenet121.cfg) */
static void block_text(char *t, size_t cap, int layers, int hw) {
    size_t u = (size_t)snprintf(t, cap, "[net]\ninput = 3, %d, %d\nclasses = 3\n"
                                "[conv]\nname = c0\nfilters = 4\nsize = 3\npad = 1\nbias = 0\n", hw, hw);
    for (int l = 1; l <= layers && u < cap; l++) { /* each layer reads the layer above it */
        if (l > 1) {
            u += (size_t)snprintf(t + u, cap - u, "[concat]\nname = l%d.cat\ninputs = c0", l);
            for (int j = 1; j < l; j++) u += (size_t)snprintf(t + u, cap - u, ", l%d.c2", j);
            u += (size_t)snprintf(t + u, cap - u, "\n");
        }
        u += (size_t)snprintf(t + u, cap - u,
                              "[batchnorm]\nname = l%d.n1\n[activation]\nname = l%d.r1\ntype = relu\n"
                              "[conv]\nname = l%d.c1\nfilters = 8\nsize = 1\nbias = 0\n"
                              "[batchnorm]\nname = l%d.n2\n[activation]\nname = l%d.r2\ntype = relu\n"
                              "[conv]\nname = l%d.c2\nfilters = 2\nsize = 3\npad = 1\nbias = 0\n",
                              l, l, l, l, l, l);
    }
    u += (size_t)snprintf(t + u, cap - u, "[concat]\nname = cat\ninputs = c0");
    for (int j = 1; j <= layers; j++) u += (size_t)snprintf(t + u, cap - u, ", l%d.c2", j);
    snprintf(t + u, cap - u, "\n[batchnorm]\nname = n5\n[activation]\nname = r5\ntype = relu\n"
             "[globalavgpool]\nname = pool\n[dense]\nname = fc\nunits = 3\n");
}

typedef struct {
    glia_model *m;
    glia_graph *g;
    int x, labels, loss;
} block;

static glia_status block_new(block *b, int layers, int hw, int batch, unsigned flags,
                             const char *device) {
    char text[16384];
    block_text(text, sizeof text, layers, hw);
    glia_status s = glia_model_parse(text, "block.cfg", batch, 5, &b->m);
    if (s) return s;
    b->g = glia_model_graph(b->m);
    b->x = glia_model_input(b->m);
    if ((s = glia_input(b->g, "labels", 1, (int64_t[]){batch}, &b->labels)) ||
        (s = glia_softmax_cross_entropy(b->g, "loss", glia_model_output(b->m), b->labels, &b->loss)) ||
        (s = glia_node_requires_grad(b->g, b->x, 1)) ||
        (device && (s = glia_graph_set_device(b->g, device))))
        return s;
    glia_graph_set_training(b->g, 1);
    return glia_graph_compile(b->g, GLIA_COMPILE_BACKWARD | flags);
}

static int recomputed(const glia_graph *g, const char *name) {
    int id;
    if (glia_graph_find((glia_graph *)g, name, &id)) return -2;
    return g->nodes[id].rec_at;
}

/* every node's value or gradient readable on the host: the leaves (values, gradients) and the loss */
static int same_node(block *a, block *b, int i, int grad) {
    int64_t n = glia__numel(&a->g->nodes[i]);
    float *p = malloc((size_t)n * sizeof *p), *q = malloc((size_t)n * sizeof *q);
    int ok = p && q &&
             !(grad ? glia_node_read_grad(a->g, i, p, n) : glia_node_read(a->g, i, p, n)) &&
             !(grad ? glia_node_read_grad(b->g, i, q, n) : glia_node_read(b->g, i, q, n)) &&
             !memcmp(p, q, (size_t)n * sizeof *p);
    free(p);
    free(q);
    return ok;
}

static void recompute_matches_kept(const char *device) {
    block b[2] = {{0}, {0}};
    for (int k = 0; k < 2 && !test_failed_flag; k++)
        OK(block_new(&b[k], 4, 6, 3, k ? GLIA_COMPILE_NO_RECOMPUTE : 0, device));
    if (test_failed_flag) goto done;
    /* the concatenations and their norm + ReLU are recomputed, the rest kept */
    CHECK_MSG(recomputed(b[0].g, "l3.cat") >= 0 && recomputed(b[0].g, "cat") >= 0 &&
                  recomputed(b[0].g, "l3.r1.relu") >= 0 && recomputed(b[0].g, "l3.c1") < 0 &&
                  recomputed(b[0].g, "l3.n2") < 0 && recomputed(b[0].g, "l1.n1") < 0,
              "recomputed: l3.cat %d, cat %d, l3.r1 %d, l3.c1 %d, l3.n2 %d, l1.n1 %d",
              recomputed(b[0].g, "l3.cat"), recomputed(b[0].g, "cat"), recomputed(b[0].g, "l3.r1.relu"),
              recomputed(b[0].g, "l3.c1"), recomputed(b[0].g, "l3.n2"), recomputed(b[0].g, "l1.n1"));
    CHECK(b[1].g->n_rec == 0);
    int64_t nx = 3 * 3 * 6 * 6;
    float x[3 * 3 * 6 * 6], lab[3] = {0, 2, 1};
    fill_uniform(x, nx, -1, 1, 9);
    for (int step = 0; step < 2; step++) /* twice: nothing stale from the first backward */
        for (int k = 0; k < 2; k++) {
            OK(glia_node_write(b[k].g, b[k].x, x, nx));
            OK(glia_node_write(b[k].g, b[k].labels, lab, 3));
            OK(glia_graph_forward(b[k].g));
            OK(glia_graph_backward(b[k].g, b[k].loss, NULL, 0));
        }
    CHECK_MSG(same_node(&b[0], &b[1], b[0].loss, 0), "loss differs");
    CHECK_MSG(same_node(&b[0], &b[1], b[0].x, 1), "input gradient differs");
    for (int i = 0; i < b[0].g->n_nodes; i++) {
        const glia_node *n = &b[0].g->nodes[i];
        if (n->kind == NODE_PARAM) CHECK_MSG(same_node(&b[0], &b[1], i, 1), "gradient of %s differs", n->name);
        if (n->kind == NODE_BUFFER) /* running statistics: updated once per step, not twice */
            CHECK_MSG(same_node(&b[0], &b[1], i, 0), "%s differs", n->name);
    }
done:
    for (int k = 0; k < 2; k++) glia_model_free(b[k].m);
}

TEST(dense_block_recompute_matches_kept) { recompute_matches_kept(NULL); }
TEST(dense_block_recompute_matches_kept_reference_device) { recompute_matches_kept("reference"); }

/* through every recomputed concat and norm + ReLU to the input (3 layers on 3x3, batch 4: few
 * ReLU kinks within a step of 1e-3) */
TEST(dense_block_recompute_gradcheck) {
    block b = {0};
    OK(block_new(&b, 3, 3, 4, 0, NULL));
    CHECK(b.g->n_rec > 0);
    float x[4 * 3 * 3 * 3], lab[4] = {1, 2, 0, 1};
    fill_uniform(x, 4 * 3 * 3 * 3, -1, 1, 3);
    OK(glia_node_write(b.g, b.x, x, 4 * 3 * 3 * 3));
    OK(glia_node_write(b.g, b.labels, lab, 4));
    const char *wrt[] = {"data", "l2.n1.weight", "l3.n1.weight", "l3.n1.bias", "l2.c1.weight", "n5.weight"};
    for (int k = 0; k < 6; k++) {
        int id;
        double err;
        int64_t n;
        OK(glia_graph_find(b.g, wrt[k], &id));
        OK(test_gradcheck(b.g, b.loss, id, 1e-3f, &err, &n));
        CHECK_MSG(n > 0 && err < 1e-2, "%s: max relative error %g over %lld", wrt[k], err, (long long)n);
    }
    glia_model_free(b.m);
}

/* planned arena bytes of a block of `layers` layers (16x16, batch 4) */
static size_t arena_of(int layers, unsigned flags) {
    block b = {0};
    size_t a = 0;
    if (!block_new(&b, layers, 16, 4, flags | GLIA_COMPILE_PLAN_ONLY, NULL)) {
        glia_memory_stats ms;
        if (!glia_graph_memory(b.g, &ms)) a = ms.arena;
    }
    glia_model_free(b.m);
    return a;
}

/* arena(L) = a + b L + c L^2: doubling the depth from 16 to 32 adds twice what 8 to 16 added when
 * c = 0 (linear), four times as much when a and b are negligible (quadratic; measured 1.91 and
 * 3.23) */
TEST(dense_block_memory_linear_in_depth) {
    double r[2];
    for (int k = 0; k < 2; k++) {
        unsigned f = k ? GLIA_COMPILE_NO_RECOMPUTE : 0;
        size_t a8 = arena_of(8, f), a16 = arena_of(16, f), a32 = arena_of(32, f);
        CHECK(a8 && a16 > a8 && a32 > a16);
        r[k] = (double)(a32 - a16) / (double)(a16 - a8);
    }
    printf("     arena growth 16->32 layers over 8->16: %.2f recomputed, %.2f kept\n", r[0], r[1]);
    CHECK_MSG(r[0] < 2.3, "recomputed: the arena grows %.2fx from 16 to 32 layers", r[0]);
    CHECK_MSG(r[1] > 2.8, "kept: the arena grows %.2fx (expected quadratic)", r[1]);
}
