/* test_embedding.c: the embedding op (PyTorch's F.embedding) against a naive loop, finite
 * differences and PyTorch; out-of-range ids; feeding an LSTM. */
#include "test.h"
#include <string.h>

TEST(embedding_matches_naive_and_gradcheck) {
    enum { A = 2, B = 3, V = 7, E = 4, PAD = 3 };
    glia_graph *g;
    OK(glia_graph_new(&g));
    int ix, w, y;
    OK(glia_input(g, "ids", 2, (int64_t[]){A, B}, &ix));
    OK(glia_param(g, "emb", 2, (int64_t[]){V, E}, &w));
    OK(glia_embedding(g, "embed", ix, w, PAD, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 3 && s.dim[0] == A && s.dim[1] == B && s.dim[2] == E);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float ids[A * B] = {1, 3, 6, 1, 0, 3}, seed[A * B * E];
    OK(glia_node_set(g, ix, ids, A * B));
    float *W = glia_node_value(g, w);
    fill_uniform(W, V * E, -1, 1, 1);
    fill_uniform(seed, A * B * E, -1, 1, 2);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    float dw[V * E] = {0};
    const float *Y = glia_node_value(g, y), *DW = glia_node_grad(g, w);
    for (int i = 0; i < A * B; i++) {
        int id = (int)ids[i];
        for (int e = 0; e < E; e++) {
            CHECK(Y[i * E + e] == W[id * E + e]); /* the padding row is looked up too */
            if (id != PAD) dw[id * E + e] += seed[i * E + e];
        }
    }
    CHECK(max_rel_diff(DW, dw, V * E, 1e-3, NULL) < 1e-6);
    for (int e = 0; e < E; e++) CHECK(DW[PAD * E + e] == 0.0f && DW[2 * E + e] == 0.0f);
    ref_checked(g, y);
    glia_graph_free(g);
    /* finite differences (without padding_idx: its row deliberately gets no gradient) */
    OK(glia_graph_new(&g));
    OK(glia_input(g, "ids", 3, (int64_t[]){A, B, 1}, &ix));
    OK(glia_param(g, "emb", 2, (int64_t[]){V, E}, &w));
    OK(glia_embedding(g, "embed", ix, w, -1, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_node_set(g, ix, ids, A * B));
    fill_uniform(glia_node_value(g, w), V * E, -1, 1, 1);
    GRADCHECK(g, y, w, 1e-3);
    glia_graph_free(g);
}

TEST(embedding_golden_pytorch) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int ix, w, y;
    OK(glia_input(g, "indices", 2, (int64_t[]){3, 4}, &ix));
    OK(glia_param(g, "weight", 2, (int64_t[]){6, 5}, &w));
    OK(glia_embedding(g, "embed", ix, w, 2, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    golden *gd = golden_load("rnn_embedding");
    const float *ids = gd ? golden_get(gd, "indices", NULL) : NULL;
    CHECK(ids);
    OK(glia_node_set(g, ix, ids, 12));
    golden_free(gd);
    GOLDEN_CHECK(g, "rnn_embedding", y, 1, ((const char *[]){"weight"}), ((int[]){w}), 1e-6);
    glia_graph_free(g);
}

TEST(embedding_errors_name_node_and_id) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int ix, w, y;
    OK(glia_input(g, "tokens", 1, (int64_t[]){3}, &ix));
    OK(glia_param(g, "table", 2, (int64_t[]){5, 2}, &w));
    CHECK(glia_embedding(g, "e0", ix, w, 5, &y) == GLIA_EINVAL); /* padding_idx outside [0, 5) */
    CHECK(strstr(glia_last_error(), "e0") && strstr(glia_last_error(), "padding_idx"));
    CHECK(glia_embedding(g, "e0", ix, w, -2, &y) == GLIA_EINVAL);
    int w1;
    OK(glia_param(g, "flat", 1, (int64_t[]){5}, &w1));
    CHECK(glia_embedding(g, "e1", ix, w1, -1, &y) == GLIA_ESHAPE);
    OK(glia_embedding(g, "lookup", ix, w, -1, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float bad[][3] = {{0, 5, 1}, {0, -1, 1}, {2.5f, 0, 0}, {0, 0, NAN}};
    const char *want[] = {"id 5", "id -1", "id 2.5", "id nan"};
    for (int i = 0; i < 4; i++) {
        OK(glia_node_set(g, ix, bad[i], 3));
        CHECK(glia_graph_forward(g) == GLIA_ERANGE);
        CHECK_MSG(strstr(glia_last_error(), "lookup") && strstr(glia_last_error(), want[i]) &&
                  strstr(glia_last_error(), "tokens"), "%s", glia_last_error());
    }
    OK(glia_node_set(g, ix, (float[]){4, 0, 4}, 3));
    OK(glia_graph_forward(g));
    glia_graph_free(g);
}

/* token ids [T, N] -> embedding [T, N, E] -> LSTM -> many-to-one: gradients reach the table */
TEST(embedding_feeds_lstm) {
    enum { T = 4, N = 2, V = 6, E = 3, H = 3 };
    glia_graph *g;
    OK(glia_graph_new(&g));
    int ix, w, e, y, len, last;
    OK(glia_input(g, "ids", 2, (int64_t[]){T, N}, &ix));
    OK(glia_input(g, "len", 1, (int64_t[]){N}, &len));
    OK(glia_param(g, "emb", 2, (int64_t[]){V, E}, &w));
    OK(glia_embedding(g, "embed", ix, w, -1, &e));
    glia_rnn_config cfg = {.hidden = H, .bidirectional = 1};
    OK(glia_lstm(g, "lstm", e, -1, -1, len, &cfg, &y));
    OK(glia_seq_last(g, "last", y, len, 2, &last));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_node_set(g, ix, (float[]){1, 2, 5, 5, 3, 0, 4, 0}, T * N)); /* id 0 only in padding */
    OK(glia_node_set(g, len, (float[]){4, 2}, N));
    fill_uniform(glia_node_value(g, w), V * E, -1, 1, 3);
    for (int i = 0; i < glia_graph_num_nodes(g); i++)
        if (glia_node_is_param(g, i) && i != w) {
            glia_shape s;
            OK(glia_node_shape(g, i, &s));
            fill_uniform(glia_node_value(g, i), glia_shape_numel(&s), -0.6f, 0.6f, 10 + i);
        }
    GRADCHECK(g, last, w, 1e-2);
    /* id 0, seen only past sequence 1's length, got no gradient; the ids used did */
    const float *dw = glia_node_grad(g, w);
    CHECK(dw[0] == 0 && dw[1] == 0 && dw[2] == 0);
    CHECK(dw[1 * E] != 0 && dw[5 * E] != 0);
    glia_graph_free(g);
}
