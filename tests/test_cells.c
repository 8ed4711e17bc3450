/* test_cells.c: the course's other recurrent cells, the Clockwork RNN (clockwork) and the SCRN
 * (scrn): finite differences through time, the reference device (src/device/ref_rnn.c,
 * ref_scrn.c), padding, PyTorch golden values (scripts/golden/gen_cells.py: each cell written
 * by hand in PyTorch), what the clock does, and the model-file layers. The helpers live in
 * test_rnn.c (seq_cases.h); the final state across chunks is checked there too. */
#include "seq_cases.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- clockwork */

/* 5 units in 3 modules (1, 2, 2 units: floors of i 5/3), periods 1, 2, 4 over T 6 */
TEST(clockwork_gradcheck_bidir_lengths_h0) {
    seq_case c = {.kind = K_CLOCKWORK, .T = 6, .N = 2, .I = 3, .H = 5, .bidir = 1, .with_h0 = 1,
                  .with_len = 1, .len = {6, 4}, .modules = 3, .base = 2};
    CHECK(seq_gradcheck(&c, 61, 1e-2));
}

TEST(clockwork_gradcheck_base3_no_initial_state) {
    seq_case c = {.kind = K_CLOCKWORK, .T = 7, .N = 2, .I = 2, .H = 4, .modules = 2, .base = 3};
    CHECK(seq_gradcheck(&c, 62, 1e-2));
}

TEST(clockwork_matches_reference) {
    seq_case c = {.kind = K_CLOCKWORK, .T = 9, .N = 3, .I = 3, .H = 7, .bidir = 1, .with_h0 = 1,
                  .with_len = 1, .len = {9, 4, 1}, .modules = 3, .base = 2};
    CHECK(seq_reference_check(&c, 63, 2e-4));
    seq_case u = {.kind = K_CLOCKWORK, .T = 5, .N = 2, .I = 4, .H = 6, .modules = 6, .base = 2};
    CHECK(seq_reference_check(&u, 64, 2e-4));
}

TEST(clockwork_padding_changes_nothing) { CHECK(seq_padding_check(K_CLOCKWORK)); }

TEST(clockwork_golden_pytorch) {
    CHECK(seq_golden("cells_clockwork", K_CLOCKWORK, 1, 0, 0, 0, 0, 1e-4));
    CHECK(seq_golden("cells_clockwork_bidir_len", K_CLOCKWORK, 1, 1, 0, 1, 0, 1e-4));
}

/* The clock itself, from the definition: with modules of periods 1, 2, 4, a slow unit's output
 * changes only at its steps and holds between them; one module of period 1 is the Elman RNN
 * (glia_rnn, tanh) whatever W_hh holds; the entries below the blocks change nothing and get
 * no gradient. */
TEST(clockwork_clock_holds_and_one_module_is_elman) {
    seq_case c = {.kind = K_CLOCKWORK, .T = 9, .N = 2, .I = 3, .H = 6, .modules = 3, .base = 2,
                  .with_h0 = 1};
    seq_net s;
    if (!seq_build(&c, &s, 65)) return;
    int whh;
    OK(glia_graph_find(s.g, "m.weight_hh_l0", &whh));
    enum { NY = 9 * 2 * 6 };
    float seed[NY], y0[NY];
    fill_uniform(seed, NY, -1, 1, 66);
    OK(glia_graph_forward(s.g));
    OK(glia_graph_backward(s.g, s.y, seed, 0));
    const float *y = glia_node_value(s.g, s.y), *dw = glia_node_grad(s.g, whh);
    for (int t = 1; t < 9; t++) /* unit j in module j / 2, period 2^(j/2) */
        for (int n = 0; n < 2; n++)
            for (int j = 0; j < 6; j++) {
                int period = 1 << (j / 2);
                float now = y[(t * 2 + n) * 6 + j], before = y[((t - 1) * 2 + n) * 6 + j];
                CHECK_MSG((t % period != 0) == (now == before),
                          "t %d unit %d (period %d): %g then %g", t, j, period, (double)before,
                          (double)now);
            }
    for (int r = 0; r < 6; r++)
        for (int k = 0; k < 6; k++)
            if (k / 2 < r / 2) CHECK_MSG(dw[r * 6 + k] == 0.0f, "dW_hh[%d,%d] = %g", r, k, (double)dw[r * 6 + k]);
            else CHECK_MSG(dw[r * 6 + k] != 0.0f, "dW_hh[%d,%d] is 0", r, k);
    memcpy(y0, y, sizeof y0);
    float *w = glia_node_value(s.g, whh);
    for (int r = 2; r < 6; r++) w[r * 6 + 0] = 100.0f; /* below the blocks: never read */
    OK(glia_graph_forward(s.g));
    CHECK(!memcmp(glia_node_value(s.g, s.y), y0, sizeof y0));
    glia_graph_free(s.g);

    seq_case e = {.kind = K_RNN, .T = 5, .N = 2, .I = 3, .H = 4, .with_h0 = 1};
    seq_case k1 = e;
    k1.kind = K_CLOCKWORK, k1.modules = 1, k1.base = 2;
    seq_net a, b;
    if (!seq_build(&e, &a, 67)) return;
    if (!seq_build(&k1, &b, 67)) {
        glia_graph_free(a.g);
        return;
    }
    OK(glia_graph_forward(a.g));
    OK(glia_graph_forward(b.g));
    const float *ya = glia_node_value(a.g, a.y), *yb = glia_node_value(b.g, b.y);
    for (int i = 0; i < 5 * 2 * 4; i++) CHECK(fabsf(ya[i] - yb[i]) <= 1e-6f);
    glia_graph_free(a.g);
    glia_graph_free(b.g);
}

TEST(clockwork_builder_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y, id;
    OK(glia_input(g, "x", 3, (int64_t[]){4, 2, 3}, &x));
    glia_rnn_config cfg = {.hidden = 4, .modules = 5, .period_base = 2};
    int nn = glia_graph_num_nodes(g);
    CHECK(glia_clockwork(g, "cw", x, -1, -1, -1, &cfg, &y) == GLIA_EINVAL); /* 5 modules of 4 units */
    CHECK(strstr(glia_last_error(), "cw") && strstr(glia_last_error(), "modules"));
    cfg.modules = 2, cfg.period_base = 1;
    CHECK(glia_clockwork(g, "cw", x, -1, -1, -1, &cfg, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "period_base"));
    cfg.period_base = 2;
    glia_rnn_config gru = cfg; /* modules belong to the clockwork */
    CHECK(glia_gru(g, "g", x, -1, -1, &gru, &y) == GLIA_EINVAL);
    CHECK(glia_graph_num_nodes(g) == nn);
    int clock;
    OK(glia_input(g, "clock", 1, (int64_t[]){1}, &clock));
    OK(glia_clockwork(g, "cw", x, -1, clock, -1, &cfg, &y));
    CHECK(!strcmp(glia_node_op(g, y), "clockwork"));
    OK(glia_graph_find(g, "cw.weight_hh_l0", &id));
    OK(glia_graph_compile(g, 0));
    float bad[] = {-1, 2.5f, 16777216.0f, NAN};
    for (int i = 0; i < 4; i++) { /* the clock: an integer in [0, 2^24) */
        OK(glia_node_set(g, clock, &bad[i], 1));
        CHECK(glia_graph_forward(g) == GLIA_ERANGE);
        CHECK(strstr(glia_last_error(), "cw") && strstr(glia_last_error(), "clock"));
    }
    OK(glia_node_set(g, clock, (float[]){7}, 1));
    OK(glia_graph_forward(g));
    glia_graph_free(g);
}

/* ---------------------------------------------------------------- scrn */

TEST(scrn_gradcheck_bidir_lengths_h0_s0) {
    seq_case c = {.kind = K_SCRN, .T = 4, .N = 2, .I = 3, .H = 3, .bidir = 1, .with_h0 = 1,
                  .with_c0 = 1, .with_len = 1, .len = {4, 2}, .S = 2, .alpha = 0.9f};
    CHECK(seq_gradcheck(&c, 71, 1e-2));
}

TEST(scrn_gradcheck_no_initial_state) {
    seq_case c = {.kind = K_SCRN, .T = 5, .N = 2, .I = 2, .H = 3, .S = 4, .alpha = 0.5f};
    CHECK(seq_gradcheck(&c, 72, 1e-2));
}

TEST(scrn_matches_reference) {
    seq_case c = {.kind = K_SCRN, .T = 5, .N = 3, .I = 3, .H = 4, .bidir = 1, .with_h0 = 1,
                  .with_c0 = 1, .with_len = 1, .len = {1, 4, 5}, .S = 3, .alpha = 0.95f};
    CHECK(seq_reference_check(&c, 73, 2e-4));
    seq_case u = {.kind = K_SCRN, .T = 3, .N = 2, .I = 5, .H = 2, .S = 6, .alpha = 0.0f};
    CHECK(seq_reference_check(&u, 74, 2e-4));
}

TEST(scrn_padding_changes_nothing) { CHECK(seq_padding_check(K_SCRN)); }

TEST(scrn_golden_pytorch) {
    CHECK(seq_golden("cells_scrn", K_SCRN, 1, 0, 0, 0, 0, 1e-4));
    CHECK(seq_golden("cells_scrn_bidir_len", K_SCRN, 1, 1, 0, 1, 0, 1e-4));
}

TEST(scrn_two_layer_stack_golden_pytorch) {
    CHECK(seq_golden("cells_scrn_2layer_len", K_SCRN, 2, 0, 0, 1, 0, 1e-4));
}

/* the context from the definition: with B = I (I = S) and x_t = 1 at t = 0 only, s_t is
 * (1 - a) a^t: the slow decay, whatever A, P, R hold */
TEST(scrn_context_decays_by_alpha) {
    seq_case c = {.kind = K_SCRN, .T = 6, .N = 1, .I = 2, .H = 3, .S = 2, .alpha = 0.9f};
    seq_net s;
    if (!seq_build(&c, &s, 75)) return;
    int B;
    OK(glia_graph_find(s.g, "m.weight_xs_l0", &B));
    OK(glia_node_set(s.g, B, (float[]){1, 0, 0, 1}, 4));
    float *x = glia_node_value(s.g, s.x);
    memset(x, 0, 6 * 2 * sizeof *x);
    x[0] = 1.0f;
    OK(glia_graph_forward(s.g));
    const float *y = glia_node_value(s.g, s.y);
    for (int t = 0; t < 6; t++) {
        CHECK(fabs(y[t * 5 + 3] - 0.1 * pow(0.9, t)) < 1e-6);
        CHECK(y[t * 5 + 4] == 0.0f);
        for (int j = 0; j < 3; j++) CHECK(y[t * 5 + j] > 0.0f && y[t * 5 + j] < 1.0f); /* sigmoid */
    }
    glia_graph_free(s.g);
}

TEST(scrn_builder_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y, s0;
    OK(glia_input(g, "x", 3, (int64_t[]){4, 2, 3}, &x));
    OK(glia_input(g, "s0", 3, (int64_t[]){1, 2, 4}, &s0)); /* context 5 needs [1, 2, 5] */
    glia_rnn_config cfg = {.hidden = 4, .context = 5, .alpha = 1.0f};
    int nn = glia_graph_num_nodes(g);
    CHECK(glia_scrn(g, "sc", x, -1, -1, -1, &cfg, &y) == GLIA_EINVAL); /* alpha 1: no input */
    CHECK(strstr(glia_last_error(), "sc") && strstr(glia_last_error(), "alpha"));
    cfg.alpha = 0.95f;
    CHECK(glia_scrn(g, "sc", x, -1, s0, -1, &cfg, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "s0") && strstr(glia_last_error(), "[1, 2, 5]"));
    cfg.context = 0;
    CHECK(glia_scrn(g, "sc", x, -1, -1, -1, &cfg, &y) == GLIA_EINVAL);
    CHECK(glia_graph_num_nodes(g) == nn);
    cfg.context = 5;
    OK(glia_scrn(g, "sc", x, -1, -1, -1, &cfg, &y));
    glia_shape sh;
    OK(glia_node_shape(g, y, &sh));
    CHECK(sh.ndim == 3 && sh.dim[0] == 4 && sh.dim[1] == 2 && sh.dim[2] == 9);
    glia_graph_free(g);
}

/* ---------------------------------------------------------------- model files */

static int64_t model_params(const glia_model *m) {
    int64_t p = 0;
    glia_layer_info li;
    for (int i = 0; i < glia_model_num_layers(m); i++)
        if (!glia_model_layer(m, i, &li)) p += li.params;
    return p;
}

/* [clockwork] and [scrn] in a character model: they build (stacked, bidirectional, read out
 * many-to-one), the canonical text parses back to the same network, the parameters count what
 * the layers hold, and the clockwork's entries no module reads start at 0 */
TEST(cells_model_layers) {
    static const char *const text[] = {
        "[net]\ninput = 1\nsequence = 8\nclasses = 5\nbatch = 2\n[onehot]\nname = c\nvocab = 5\n"
        "[clockwork]\nname = cw\nhidden = 6\nmodules = 3\nlayers = 2\nbidirectional = 1\n"
        "[seqdense]\nname = head\nunits = 5\n",
        "[net]\ninput = 1\nsequence = 8\nclasses = 5\nbatch = 2\n[onehot]\nname = c\nvocab = 5\n"
        "[scrn]\nname = sc\nhidden = 4\ncontext = 3\nalpha = 0.9\nlayers = 2\nreturn = last\n"
        "[dense]\nname = head\nunits = 5\n"};
    /* clockwork: per layer and direction 6 I + 36 + 12, I = 5 then 12; head 12*5 + 5.
     * scrn: per layer 3 I + 4 I + 12 + 16 + 4, I = 5 then 7; head 7*5 + 5 */
    const int64_t want[] = {2 * (6 * 5 + 48) + 2 * (6 * 12 + 48) + 65,
                            (7 * 5 + 32) + (7 * 7 + 32) + 40};
    for (int i = 0; i < 2; i++) {
        glia_model *m = NULL, *m2 = NULL;
        OK(glia_model_parse(text[i], "cells.cfg", 2, 1, &m));
        if (!m) continue;
        CHECK_MSG(model_params(m) == want[i], "model %d: %lld parameters, want %lld", i,
                  (long long)model_params(m), (long long)want[i]);
        char *canon = NULL;
        OK(glia_model_to_text(m, &canon));
        if (canon) {
            OK(glia_model_parse(canon, "canonical.cfg", 2, 1, &m2));
            if (m2) CHECK(model_params(m2) == want[i]);
            CHECK(strstr(canon, i ? "alpha = 0.9" : "base = 2") != NULL);
        }
        if (i == 0) {
            glia_graph *g = glia_model_graph(m);
            int w;
            OK(glia_graph_find(g, "cw.weight_hh_l1_reverse", &w));
            const float *v = glia_node_value(g, w);
            for (int r = 0; r < 6; r++)
                for (int k = 0; k < 6; k++)
                    CHECK((k / 2 < r / 2) == (v[r * 6 + k] == 0.0f));
        }
        free(canon);
        glia_model_free(m2);
        glia_model_free(m);
    }
    /* the clockwork's clock, a state: + T per chunk modulo the longest period (4), 0 on reset */
    glia_model *m = NULL;
    OK(glia_model_parse("[net]\ninput = 1\nsequence = 3\nclasses = 5\n[onehot]\nname = c\nvocab = 5\n"
                        "[clockwork]\nname = cw\nhidden = 6\nmodules = 3\n[seqdense]\nname = head\n"
                        "units = 5\n", "clock.cfg", 2, 1, &m));
    if (m) {
        glia_graph *g = glia_model_graph(m);
        int clock;
        OK(glia_graph_find(g, "cw.clock_l0", &clock));
        CHECK(glia_node_is_state(g, clock));
        OK(glia_graph_compile(g, 0));
        const float tick[] = {3, 2, 1, 0};
        for (int i = 0; i < 4; i++) {
            OK(glia_graph_forward(g));
            OK(glia_model_carry_state(m, 0));
            CHECK_MSG(glia_node_value(g, clock)[0] == tick[i], "chunk %d: clock %g, want %g", i,
                      (double)glia_node_value(g, clock)[0], (double)tick[i]);
        }
        OK(glia_model_carry_state(m, 1));
        CHECK(glia_node_value(g, clock)[0] == 0.0f);
        glia_model_free(m);
    }
    glia_model *bad = NULL;
    CHECK(glia_model_parse("[net]\ninput = 1\nsequence = 8\nclasses = 5\n[onehot]\nname = c\n"
                           "vocab = 5\n[scrn]\nname = s\nhidden = 4\n", "bad.cfg", 2, 1, &bad) != GLIA_OK);
    CHECK(strstr(glia_last_error(), "context"));
    glia_model_free(bad);
}
