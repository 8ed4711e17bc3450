/* test_gru.c: the GRU op (PyTorch's nn.GRU): finite differences through time, the reference
 * device, padding, PyTorch golden values (one layer, bidirectional with packed lengths, a
 * 2-layer stack with lengths). The helpers live in test_rnn.c. */
#include "test.h"
#include "ops/rnn_common.h"
#include <string.h>

#include "seq_cases.h"

TEST(gru_gradcheck_bidir_lengths_h0) {
    seq_case c = {.kind = K_GRU, .T = 4, .N = 2, .I = 3, .H = 3, .bidir = 1, .with_h0 = 1,
                  .with_len = 1, .len = {2, 4}};
    CHECK(seq_gradcheck(&c, 41, 1e-2));
}

/* reset_before (ONNX's linear_before_reset = 0): r scales h_{t-1} before W_hn */
TEST(gru_gradcheck_reset_before) {
    seq_case c = {.kind = K_GRU, .T = 4, .N = 3, .I = 3, .H = 3, .bidir = 1, .with_h0 = 1,
                  .with_len = 1, .len = {2, 4, 1}, .reset_before = 1};
    CHECK(seq_gradcheck(&c, 47, 1e-2));
    seq_case u = {.kind = K_GRU, .T = 3, .N = 2, .I = 2, .H = 4, .reset_before = 1}; /* no h0 */
    CHECK(seq_gradcheck(&u, 48, 1e-2));
}

TEST(gru_gradcheck_no_initial_state) {
    seq_case c = {.kind = K_GRU, .T = 5, .N = 2, .I = 2, .H = 3};
    CHECK(seq_gradcheck(&c, 42, 1e-2));
}

TEST(gru_matches_reference) {
    seq_case c = {.kind = K_GRU, .T = 5, .N = 3, .I = 3, .H = 4, .bidir = 1, .with_h0 = 1,
                  .with_len = 1, .len = {1, 4, 5}};
    CHECK(seq_reference_check(&c, 43, 2e-4));
    seq_case u = {.kind = K_GRU, .T = 3, .N = 2, .I = 5, .H = 2};
    CHECK(seq_reference_check(&u, 44, 2e-4));
    c.reset_before = u.reset_before = 1; /* the reset gate before W_hn */
    CHECK(seq_reference_check(&c, 49, 2e-4));
    CHECK(seq_reference_check(&u, 50, 2e-4));
}

/* 20 units: a vector of 16 and a tail in the AVX-512 build of the cell loops, and the
 * baseline build (glia__rnn_algo = 1) */
TEST(gru_matches_reference_wide_rows) {
    for (int algo = 0; algo <= 1 && !test_failed_flag; algo++) {
        glia__rnn_algo = algo;
        seq_case c = {.kind = K_GRU, .T = 3, .N = 2, .I = 3, .H = 20, .with_h0 = 1};
        CHECK(seq_reference_check(&c, 45, 2e-4));
        c.reset_before = 1;
        CHECK(seq_reference_check(&c, 51, 2e-4));
    }
    glia__rnn_algo = 0;
}

TEST(gru_padding_changes_nothing) { CHECK(seq_padding_check(K_GRU)); }

TEST(gru_golden_pytorch) {
    CHECK(seq_golden("rnn_gru", K_GRU, 1, 0, 0, 0, 0, 1e-4));
    CHECK(seq_golden("rnn_gru_bidir_len", K_GRU, 1, 1, 0, 1, 0, 1e-4));
    /* reset_before: PyTorch has no such module; scripts/golden/gen_rnn.py's ExplicitGRU */
    CHECK(seq_golden("rnn_gru_reset_before", K_GRU, 1, 0, 0, 0, 0, 1e-4));
    CHECK(seq_golden("rnn_gru_reset_before_bidir_len", K_GRU, 1, 1, 0, 1, 0, 1e-4));
}

TEST(gru_two_layer_stack_golden_pytorch) {
    CHECK(seq_golden("rnn_gru_2layer_len", K_GRU, 2, 0, 0, 1, 0, 1e-4));
}

/* frozen weights: backward still gives dx and dh0 (the weight GEMMs are skipped), identical to
 * the unfrozen run's; a graph compiled for inference only runs forward to the same y */
TEST(gru_frozen_weights_and_inference_compile) {
    seq_case c = {.kind = K_GRU, .T = 4, .N = 3, .I = 3, .H = 4, .bidir = 1, .with_h0 = 1,
                  .with_len = 1, .len = {2, 4, 3}};
    seq_net s;
    if (!seq_build(&c, &s, 45)) return;
    glia_graph *g = s.g;
    enum { NY = 4 * 3 * 8, NX = 4 * 3 * 3, NH = 2 * 3 * 4 };
    float seed[NY], y[NY], dx[NX], dh0[NH];
    fill_uniform(seed, NY, -1, 1, 46);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, s.y, seed, 0));
    memcpy(y, glia_node_value(g, s.y), sizeof y);
    memcpy(dx, glia_node_grad(g, s.x), sizeof dx);
    memcpy(dh0, glia_node_grad(g, s.h0), sizeof dh0);
    for (int i = 0; i < s.n_leaf; i++)
        if (glia_node_is_param(g, s.leaf[i])) OK(glia_node_set_trainable(g, s.leaf[i], 0));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_node_set(g, s.len, (float[]){2, 4, 3}, 3)); /* inputs keep their values; to be sure */
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, s.y, seed, 0));
    CHECK(!memcmp(glia_node_grad(g, s.x), dx, sizeof dx));
    CHECK(!memcmp(glia_node_grad(g, s.h0), dh0, sizeof dh0));
    CHECK(glia_node_grad(g, s.leaf[1]) == NULL);
    OK(glia_graph_compile(g, 0));
    OK(glia_graph_forward(g));
    CHECK(!memcmp(glia_node_value(g, s.y), y, sizeof y));
    glia_graph_free(g);
}
