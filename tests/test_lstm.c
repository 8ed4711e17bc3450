/* test_lstm.c: the LSTM op (PyTorch's nn.LSTM, optional peepholes): finite differences through
 * time, the reference device, padding, PyTorch golden values (one layer, bidirectional with
 * packed lengths, a 2-layer bidirectional stack), and determinism across thread counts. The
 * helpers live in test_rnn.c. */
#include "test.h"
#include <math.h>
#include "ops/rnn_common.h"
#include <stdlib.h>
#include <string.h>

#include "seq_cases.h"

TEST(lstm_gradcheck_bidir_lengths_h0_c0) {
    seq_case c = {.kind = K_LSTM, .T = 4, .N = 2, .I = 3, .H = 3, .bidir = 1, .with_h0 = 1,
                  .with_c0 = 1, .with_len = 1, .len = {4, 2}};
    CHECK(seq_gradcheck(&c, 21, 1e-2));
}

TEST(lstm_gradcheck_peepholes) {
    seq_case c = {.kind = K_LSTM, .T = 5, .N = 2, .I = 2, .H = 3, .bidir = 1, .peep = 1,
                  .with_h0 = 1, .with_c0 = 1, .with_len = 1, .len = {3, 5}};
    CHECK(seq_gradcheck(&c, 22, 1e-2));
}

/* cell_out: y[T] holds the final cell states (ONNX's Y_c); their gradient runs back through
 * every step, the lengths deciding which step's state is final in each direction */
TEST(lstm_gradcheck_cell_out) {
    seq_case c = {.kind = K_LSTM, .T = 4, .N = 3, .I = 2, .H = 3, .bidir = 1, .peep = 1,
                  .with_h0 = 1, .with_c0 = 1, .with_len = 1, .len = {4, 1, 2}, .cell_out = 1};
    CHECK(seq_gradcheck(&c, 29, 1e-2));
}

/* input_forget (ONNX's): f = 1 - i; the forget gate's weights get gradient 0 */
TEST(lstm_gradcheck_input_forget) {
    seq_case c = {.kind = K_LSTM, .T = 4, .N = 3, .I = 2, .H = 3, .bidir = 1, .peep = 1,
                  .with_h0 = 1, .with_c0 = 1, .with_len = 1, .len = {2, 4, 3}, .input_forget = 1};
    CHECK(seq_gradcheck(&c, 31, 1e-2));
}

TEST(lstm_gradcheck_no_initial_state) {
    seq_case c = {.kind = K_LSTM, .T = 3, .N = 2, .I = 4, .H = 2};
    CHECK(seq_gradcheck(&c, 23, 1e-2));
}

TEST(lstm_matches_reference) {
    seq_case c = {.kind = K_LSTM, .T = 5, .N = 3, .I = 3, .H = 4, .bidir = 1, .with_h0 = 1,
                  .with_c0 = 1, .with_len = 1, .len = {3, 5, 1}};
    CHECK(seq_reference_check(&c, 24, 2e-4));
    c.peep = 1;
    CHECK(seq_reference_check(&c, 25, 2e-4));
    seq_case u = {.kind = K_LSTM, .T = 4, .N = 2, .I = 5, .H = 3, .peep = 1, .with_c0 = 1};
    CHECK(seq_reference_check(&u, 26, 2e-4)); /* c0 without h0 */
    c.cell_out = 1; /* y[T]: the final cell states, and their gradient */
    CHECK(seq_reference_check(&c, 30, 2e-4));
    c.input_forget = 1; /* f = 1 - i */
    CHECK(seq_reference_check(&c, 32, 2e-4));
    c.peep = 0;
    CHECK(seq_reference_check(&c, 33, 2e-4));
}

/* The cells' loops over units run compiled for AVX-512 where the CPU has it (rnn_common.h):
 * 20 units fill a vector of 16 and a tail; the baseline build (glia__rnn_algo = 1) too. */
TEST(lstm_matches_reference_wide_rows) {
    for (int algo = 0; algo <= 1 && !test_failed_flag; algo++) {
        glia__rnn_algo = algo;
        seq_case c = {.kind = K_LSTM, .T = 3, .N = 2, .I = 3, .H = 20, .with_c0 = 1};
        CHECK(seq_reference_check(&c, 27, 2e-4));
        c.peep = 1;
        CHECK(seq_reference_check(&c, 28, 2e-4));
        c.input_forget = 1;
        CHECK(seq_reference_check(&c, 34, 2e-4));
    }
    glia__rnn_algo = 0;
}

static double ulps(float got, double want) {
    double w = fabs(want), up = (double)nextafterf((float)w, INFINITY) - (double)(float)w;
    return fabs((double)got - want) / up;
}

/* The cells' e^x, sigmoid and tanh (arithmetic only, so that they vectorise) against double
 * precision: within 1, 2.5 and 1.5 ulp over their working ranges (measured 0.95, 2.39, 1.24),
 * sigmoid below -87 within 1e-38 of its (denormal) value; NaN stays NaN, infinities saturate. */
TEST(cell_math_accuracy) {
    double e = 0, sg = 0, th = 0, tiny = 0;
    for (float x = -87.0f; x <= 88.0f; x += 7.3e-4f) e = fmax(e, ulps(glia__expf(x), exp(x)));
    for (float x = -87.0f; x <= 100.0f; x += 3.1e-4f)
        sg = fmax(sg, ulps(glia__sigmoidf(x), 1.0 / (1.0 + exp(-(double)x))));
    for (float x = -100.0f; x <= 100.0f; x += 3.7e-4f) th = fmax(th, ulps(glia__tanhf(x), tanh(x)));
    for (float x = -200.0f; x < -87.0f; x += 0.01f)
        tiny = fmax(tiny, fabs(glia__sigmoidf(x) - 1.0 / (1.0 + exp(-(double)x))));
    CHECK_MSG(e <= 1.0 && sg <= 2.5 && th <= 1.5 && tiny <= 1e-38,
              "exp %.2f ulp, sigmoid %.2f ulp, tanh %.2f ulp, sigmoid below -87 off by %g", e, sg,
              th, tiny);
    CHECK(isnan(glia__expf(NAN)) && isnan(glia__sigmoidf(NAN)) && isnan(glia__tanhf(NAN)));
    CHECK(glia__tanhf(INFINITY) == 1.0f && glia__tanhf(-INFINITY) == -1.0f);
    CHECK(glia__sigmoidf(INFINITY) == 1.0f && glia__sigmoidf(-INFINITY) < 1e-38f);
    CHECK(glia__expf(-INFINITY) < 1e-37f && glia__expf(INFINITY) > 1e38f);
}

TEST(lstm_padding_changes_nothing) { CHECK(seq_padding_check(K_LSTM)); }

TEST(lstm_golden_pytorch) {
    CHECK(seq_golden("rnn_lstm", K_LSTM, 1, 0, 0, 0, 0, 1e-4));
    CHECK(seq_golden("rnn_lstm_bidir_len", K_LSTM, 1, 1, 0, 1, 0, 1e-4));
    /* cell_out: y = cat(y, c_n), the gradient of c_n included */
    CHECK(seq_golden("rnn_lstm_cell_out_bidir_len", K_LSTM, 1, 1, 0, 1, 0, 1e-4));
    /* input_forget: an explicit autograd LSTM (scripts/golden/gen_rnn.py) */
    CHECK(seq_golden("rnn_lstm_input_forget_bidir_len", K_LSTM, 1, 1, 0, 1, 0, 1e-4));
}

/* two glia ops, the second fed the first's [T, N, 2H], against nn.LSTM(num_layers=2) */
TEST(lstm_two_layer_stack_golden_pytorch) {
    CHECK(seq_golden("rnn_lstm_2layer_bidir", K_LSTM, 2, 1, 0, 0, 0, 1e-4));
}

/* glia's own kernels (the fused passes, bias fills, bias and peephole sums) give bit-identical
 * results for 1 and 2 threads. The shape makes every one of those OpenMP loops run in parallel
 * while keeping each GEMM at M*N*K <= 2^18, below which OpenBLAS runs single-threaded: above
 * it, OpenBLAS 0.3.21's sgemm itself rounds differently with 1 and 2 threads (the next test). */
TEST(lstm_determinism_across_thread_counts) {
    seq_case c = {.kind = K_LSTM, .T = 4, .N = 1024, .I = 4, .H = 4, .bidir = 1, .peep = 1,
                  .with_h0 = 1, .with_c0 = 1, .with_len = 1, .len = {4, 1, 3, 2, 4, 4, 2, 3}};
    enum { CAP = 1 << 17 };
    float *a = malloc(sizeof(float) * CAP), *b = malloc(sizeof(float) * CAP);
    int64_t na = 0, nb = 0;
    int ra = seq_run_threads(1, &c, a, CAP, &na), rb = seq_run_threads(2, &c, b, CAP, &nb);
    glia_set_num_threads(0);
    int same = ra && rb && na == nb && na > 60000 && !memcmp(a, b, sizeof(float) * na);
    free(a);
    free(b);
    CHECK_MSG(ra && rb, "%s", glia_last_error());
    CHECK_MSG(same, "results differ between 1 and 2 threads (%lld vs %lld values)", (long long)na,
              (long long)nb);
}

/* At a size where OpenBLAS threads its GEMMs: the same thread count gives the same bits run
 * after run; 1 and 2 threads agree to float rounding. */
TEST(lstm_reproducible_large) {
    seq_case c = {.kind = K_LSTM, .T = 6, .N = 32, .I = 64, .H = 128, .bidir = 1,
                  .with_h0 = 1, .with_c0 = 1, .with_len = 1, .len = {6, 1, 5, 2, 6, 6, 3, 4}};
    enum { CAP = 1 << 19 };
    float *a = malloc(sizeof(float) * CAP), *b = malloc(sizeof(float) * CAP);
    float *o = malloc(sizeof(float) * CAP);
    int64_t na = 0, nb = 0, no = 0;
    int ok = seq_run_threads(2, &c, a, CAP, &na) && seq_run_threads(2, &c, b, CAP, &nb) &&
             seq_run_threads(1, &c, o, CAP, &no);
    glia_set_num_threads(0);
    int same = ok && na == nb && na == no && na > 270000 && !memcmp(a, b, sizeof(float) * na);
    double d = ok && na == no ? max_rel_diff(o, a, na, 0.1, NULL) : INFINITY; /* values ~0.1 */
    free(a);
    free(b);
    free(o);
    CHECK_MSG(ok, "%s", glia_last_error());
    CHECK_MSG(same, "two runs with 2 threads differ");
    CHECK_MSG(d < 1e-4, "1 and 2 threads differ by %.3g", d);
}

TEST(lstm_peephole_parameter_and_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y, id, c0;
    OK(glia_input(g, "x", 3, (int64_t[]){3, 2, 4}, &x));
    glia_rnn_config cfg = {.hidden = 5, .peephole = 1, .bidirectional = 1};
    OK(glia_lstm(g, "lstm", x, -1, -1, -1, &cfg, &y));
    glia_shape s;
    OK(glia_graph_find(g, "lstm.weight_peephole_l0_reverse", &id));
    OK(glia_node_shape(g, id, &s));
    CHECK(s.ndim == 2 && s.dim[0] == 3 && s.dim[1] == 5);
    OK(glia_graph_find(g, "lstm.weight_ih_l0", &id));
    OK(glia_node_shape(g, id, &s));
    CHECK(s.dim[0] == 20 && s.dim[1] == 4);
    OK(glia_input(g, "c0", 3, (int64_t[]){2, 2, 4}, &c0)); /* H is 5 */
    int nn = glia_graph_num_nodes(g);
    CHECK(glia_lstm(g, "l2", x, -1, c0, -1, &cfg, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "l2") && strstr(glia_last_error(), "c0"));
    CHECK(glia_graph_num_nodes(g) == nn);
    cfg.activation = GLIA_RNN_RELU;
    CHECK(glia_lstm(g, "l3", x, -1, -1, -1, &cfg, &y) == GLIA_EINVAL);
    cfg.activation = 0;
    cfg.cell_out = 1; /* y [T+1, N, dirs H] */
    OK(glia_lstm(g, "l4", x, -1, -1, -1, &cfg, &y));
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 3 && s.dim[0] == 4 && s.dim[1] == 2 && s.dim[2] == 10);
    cfg.cell_out = 2;
    CHECK(glia_lstm(g, "l5", x, -1, -1, -1, &cfg, &y) == GLIA_EINVAL);
    glia_rnn_config gc = {.hidden = 5, .cell_out = 1}; /* an lstm option */
    CHECK(glia_gru(g, "g1", x, -1, -1, &gc, &y) == GLIA_EINVAL && strstr(glia_last_error(), "cell_out"));
    glia_graph_free(g);
}
