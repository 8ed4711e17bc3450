/* test_embedding_bag.c: the embedding_bag op (PyTorch's nn.EmbeddingBag, mode = 'sum') against
 * a naive loop, finite differences and PyTorch; out-of-range ids; the same gradient for any
 * thread count. */
#include "test.h"
#include <string.h>

TEST(embedding_bag_matches_naive_and_gradcheck) {
    enum { A = 2, B = 3, K = 4, V = 7, E = 5 };
    glia_graph *g;
    OK(glia_graph_new(&g));
    int ix, w, y;
    OK(glia_input(g, "ids", 3, (int64_t[]){A, B, K}, &ix));
    OK(glia_param(g, "table", 2, (int64_t[]){V, E}, &w));
    OK(glia_embedding_bag(g, "bag", ix, w, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 3 && s.dim[0] == A && s.dim[1] == B && s.dim[2] == E);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    /* a repeated id, an all-empty bag, empty slots between ids; row 3 is never used */
    float ids[A * B * K] = {1, 6, -1, -1, 2, 2, 2, 0, -1, -1, -1, -1,
                            5, -1, 4, -1, 0, 1, 2, 4, -1, 6, -1, 5};
    float seed[A * B * E];
    OK(glia_node_set(g, ix, ids, A * B * K));
    float *W = glia_node_value(g, w);
    fill_uniform(W, V * E, -1, 1, 1);
    fill_uniform(seed, A * B * E, -1, 1, 2);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    float want[A * B * E] = {0}, dw[V * E] = {0};
    for (int i = 0; i < A * B; i++)
        for (int k = 0; k < K; k++) {
            int id = (int)ids[i * K + k];
            if (id < 0) continue;
            for (int e = 0; e < E; e++) {
                want[i * E + e] += W[id * E + e];
                dw[id * E + e] += seed[i * E + e];
            }
        }
    const float *Y = glia_node_value(g, y), *DW = glia_node_grad(g, w);
    CHECK(max_rel_diff(Y, want, A * B * E, 1e-3, NULL) < 1e-6);
    CHECK(max_rel_diff(DW, dw, V * E, 1e-3, NULL) < 1e-6);
    for (int e = 0; e < E; e++) CHECK(Y[2 * E + e] == 0.0f && DW[3 * E + e] == 0.0f);
    ref_checked(g, y);
    GRADCHECK(g, y, w, 1e-3);
    glia_graph_free(g);
}

TEST(embedding_bag_golden_pytorch) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int ix, w, y;
    OK(glia_input(g, "indices", 3, (int64_t[]){3, 2, 4}, &ix));
    OK(glia_param(g, "weight", 2, (int64_t[]){7, 5}, &w));
    OK(glia_embedding_bag(g, "bag", ix, w, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    golden *gd = golden_load("rnn_embedding_bag");
    const float *ids = gd ? golden_get(gd, "indices", NULL) : NULL;
    CHECK(ids);
    OK(glia_node_set(g, ix, ids, 24));
    golden_free(gd);
    GOLDEN_CHECK(g, "rnn_embedding_bag", y, 1, ((const char *[]){"weight"}), ((int[]){w}), 1e-6);
    glia_graph_free(g);
}

TEST(embedding_bag_errors_name_node_and_id) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int ix, w, w1, y;
    OK(glia_input(g, "trigrams", 2, (int64_t[]){1, 3}, &ix));
    OK(glia_param(g, "table", 2, (int64_t[]){5, 2}, &w));
    OK(glia_param(g, "flat", 1, (int64_t[]){5}, &w1));
    CHECK(glia_embedding_bag(g, "b1", ix, w1, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "b1") && strstr(glia_last_error(), "[V, E]"));
    OK(glia_embedding_bag(g, "hashes", ix, w, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float bad[][3] = {{0, 5, 1}, {0, -2, 1}, {2.5f, 0, 0}, {0, -1, NAN}};
    const char *want[] = {"id 5 at position 1", "id -2 at position 1", "id 2.5 at position 0",
                          "id nan at position 2"};
    for (int i = 0; i < 4; i++) {
        OK(glia_node_set(g, ix, bad[i], 3));
        CHECK(glia_graph_forward(g) == GLIA_ERANGE);
        CHECK_MSG(strstr(glia_last_error(), "hashes") && strstr(glia_last_error(), want[i]) &&
                  strstr(glia_last_error(), "trigrams"), "%s", glia_last_error());
    }
    OK(glia_node_set(g, ix, (float[]){4, -1, 0}, 3));
    OK(glia_graph_forward(g));
    glia_graph_free(g);
}

/* enough work for the threads to split the columns: the same bits with 1 thread and with 4 */
TEST(embedding_bag_deterministic_across_threads) {
    enum { M = 600, K = 6, V = 50, E = 70 };
    static float ids[M * K], seed[M * E], dw[2][V * E], y[2][M * E];
    fill_uniform(ids, M * K, 0, 1, 5);
    for (int i = 0; i < M * K; i++) ids[i] = ids[i] < 0.2f ? -1 : (float)(int)(ids[i] * V);
    fill_uniform(seed, M * E, -1, 1, 6);
    for (int r = 0; r < 2; r++) {
        glia_set_num_threads(r ? 4 : 1);
        glia_graph *g;
        OK(glia_graph_new(&g));
        int ix, w, out;
        OK(glia_input(g, "ids", 2, (int64_t[]){M, K}, &ix));
        OK(glia_param(g, "table", 2, (int64_t[]){V, E}, &w));
        OK(glia_embedding_bag(g, "bag", ix, w, &out));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        OK(glia_node_set(g, ix, ids, M * K));
        fill_uniform(glia_node_value(g, w), V * E, -1, 1, 7);
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, out, seed, 0));
        memcpy(y[r], glia_node_value(g, out), sizeof y[r]);
        memcpy(dw[r], glia_node_grad(g, w), sizeof dw[r]);
        glia_graph_free(g);
    }
    glia_set_num_threads(0);
    CHECK(!memcmp(y[0], y[1], sizeof y[0]) && !memcmp(dw[0], dw[1], sizeof dw[0]));
}
