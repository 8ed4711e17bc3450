/* test_rnn.c: the recurrent ops' shared test machinery (seq_cases.h: used by test_lstm.c,
 * test_gru.c and test_cells.c too), the Elman RNN's tests, seq_last and glia_rnn_final_state.
 *
 * Every recurrent op is checked four ways:
 *   - finite differences through time (glia_gradcheck) for x, every parameter, h0 and c0;
 *   - the reference device (src/device/ref_rnn.c): plain step-by-step loops, sums in double,
 *     sequence by sequence, running only the steps t < length (no GEMM, no masks), with its own
 *     BPTT written out per step (itself checked by finite differences in test_device.c);
 *   - PyTorch golden values (scripts/golden/gen_rnn.py), packed sequences included;
 *   - padding: garbage in the steps past the lengths changes nothing, and a batch with lengths
 *     equals each sequence run alone with its own T. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- shared helpers */

#include "seq_cases.h"

static const char *const roles[2][5] = {
    {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole"},
    {"weight_xs", "weight_xh", "weight_sh", "weight_hh", "bias_h"}}; /* scrn */
static const char *const kind_name[] = {"rnn", "lstm", "gru", "clockwork", "scrn"};

/* the parameters per direction; the width of the c0 input (lstm: H, scrn: S) */
static int n_params(const seq_case *c) { return c->kind == K_SCRN ? 5 : 4 + c->peep; }
static int c0_width(const seq_case *c) { return c->kind == K_SCRN ? c->S : c->H; }

static int64_t numel_of(glia_graph *g, int node) {
    glia_shape s;
    glia_node_shape(g, node, &s);
    return glia_shape_numel(&s);
}

/* Builds x [T,N,I] (+ h0, c0, lengths) and the op named "m", compiles, fills every leaf with
 * random values (weights wide enough to leave the gates' linear zone) and sets the lengths. */
int seq_build(const seq_case *c, seq_net *s, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->h0 = s->c0 = s->len = -1;
    int dirs = c->bidir ? 2 : 1;
    glia_rnn_config cfg = {.hidden = c->H, .bidirectional = c->bidir, .peephole = c->peep,
                           .activation = c->act, .modules = c->modules, .period_base = c->base,
                           .context = c->S, .alpha = c->alpha, .cell_out = c->cell_out,
                           .reset_before = c->reset_before, .input_forget = c->input_forget};
    glia_status st;
    if ((st = glia_graph_new(&s->g))) goto fail;
    glia_graph *g = s->g;
    if ((st = glia_input(g, "x", 3, (int64_t[]){c->T, c->N, c->I}, &s->x))) goto fail;
    if (c->with_h0 && (st = glia_input(g, "h0", 3, (int64_t[]){dirs, c->N, c->H}, &s->h0))) goto fail;
    if (c->with_c0 && c->kind == K_CLOCKWORK) { /* the clock: no gradient, not a leaf */
        if ((st = glia_input(g, "clock", 1, (int64_t[]){1}, &s->c0))) goto fail;
    } else if (c->with_c0 &&
               (st = glia_input(g, "c0", 3, (int64_t[]){dirs, c->N, c0_width(c)}, &s->c0))) {
        goto fail;
    }
    if (c->with_len && (st = glia_input(g, "lengths", 1, (int64_t[]){c->N}, &s->len))) goto fail;
    switch (c->kind) {
    case K_RNN: st = glia_rnn(g, "m", s->x, s->h0, s->len, &cfg, &s->y); break;
    case K_LSTM: st = glia_lstm(g, "m", s->x, s->h0, s->c0, s->len, &cfg, &s->y); break;
    case K_GRU: st = glia_gru(g, "m", s->x, s->h0, s->len, &cfg, &s->y); break;
    case K_CLOCKWORK: st = glia_clockwork(g, "m", s->x, s->h0, s->c0, s->len, &cfg, &s->y); break;
    default: st = glia_scrn(g, "m", s->x, s->h0, s->c0, s->len, &cfg, &s->y); break;
    }
    if (st) goto fail;
    s->leaf[s->n_leaf++] = s->x;
    for (int d = 0; d < dirs; d++)
        for (int p = 0; p < n_params(c); p++) {
            char nm[64];
            snprintf(nm, sizeof nm, "m.%s_l0%s", roles[c->kind == K_SCRN][p], d ? "_reverse" : "");
            if ((st = glia_graph_find(g, nm, &s->leaf[s->n_leaf++]))) goto fail;
        }
    if (s->h0 >= 0) s->leaf[s->n_leaf++] = s->h0;
    if (s->c0 >= 0 && c->kind != K_CLOCKWORK) s->leaf[s->n_leaf++] = s->c0;
    for (int i = 0; i < s->n_leaf; i++)
        if (s->leaf[i] != s->x) glia_node_requires_grad(g, s->leaf[i], 1); /* h0, c0 */
    glia_node_requires_grad(g, s->x, 1);
    if ((st = glia_graph_compile(g, GLIA_COMPILE_BACKWARD))) goto fail;
    for (int i = 0; i < s->n_leaf; i++) {
        int id = s->leaf[i];
        float lo = id == s->x ? -1.0f : (id == s->h0 || id == s->c0) ? -0.5f : -0.7f;
        fill_uniform(glia_node_value(g, id), numel_of(g, id), lo, -lo, seed + 17 * (uint64_t)i);
    }
    if (s->len >= 0) {
        float *lf = glia_node_value(g, s->len);
        for (int n = 0; n < c->N; n++) lf[n] = (float)c->len[n % 8]; /* N > 8: the 8 repeat */
    }
    if (c->kind == K_CLOCKWORK && s->c0 >= 0) glia_node_value(g, s->c0)[0] = (float)c->clock;
    return 1;
fail:
    test_fail(__FILE__, __LINE__, "building the %s case: %s", kind_name[c->kind], glia_last_error());
    glia_graph_free(s->g);
    s->g = NULL;
    return 0;
}

/* glia's fused forward and backward (the cpu device) against the reference device's
 * step-by-step loops (src/device/ref_rnn.c: one sequence and direction at a time, sums in
 * double, BPTT written out per step), on a twin graph with the same leaves: y and the gradient
 * of every leaf */
int seq_reference_check(const seq_case *c, uint64_t seed, double tol) {
    seq_net s, r;
    if (!seq_build(c, &s, seed)) return 0;
    if (!seq_build(c, &r, seed)) {
        glia_graph_free(s.g);
        return 0;
    }
    glia_graph *g = s.g;
    int ok = 0;
    int64_t ny = numel_of(g, s.y), w;
    float *sd = malloc(sizeof(float) * ny), *yr = malloc(sizeof(float) * ny), *gr[24] = {0};
    fill_uniform(sd, ny, -1, 1, seed + 1000);
    for (int i = 0; i < s.n_leaf; i++) gr[i] = malloc(sizeof(float) * numel_of(g, s.leaf[i]));
    if (glia_graph_forward(g) || glia_graph_backward(g, s.y, sd, 0)) {
        test_fail(__FILE__, __LINE__, "run: %s", glia_last_error());
        goto done;
    }
    if (!reference_run(r.g, r.y, sd, r.n_leaf, r.leaf, (const float *const[24]){0}, yr, gr)) goto done;
    double e = max_rel_diff(glia_node_value(g, s.y), yr, ny, 1e-3, &w);
    if (!(e <= tol)) {
        test_fail(__FILE__, __LINE__, "forward differs from the reference device: y[%lld] = %.9g, "
                  "reference %.9g (relative %.3g)", (long long)w, glia_node_value(g, s.y)[w], yr[w], e);
        goto done;
    }
    for (int i = 0; i < s.n_leaf; i++) {
        const float *got = glia_node_grad(g, s.leaf[i]);
        e = got ? max_rel_diff(got, gr[i], numel_of(g, s.leaf[i]), 1e-3, &w) : INFINITY;
        if (!(e <= tol)) {
            test_fail(__FILE__, __LINE__, "gradient of %s differs from the reference device: "
                      "element %lld is %.9g, reference %.9g (relative %.3g)",
                      glia_node_name(g, s.leaf[i]), (long long)w, got ? got[w] : NAN, gr[i][w], e);
            goto done;
        }
    }
    ref_checked(g, s.y);
    ok = 1;
done:
    for (int i = 0; i < s.n_leaf; i++) free(gr[i]);
    free(sd);
    free(yr);
    glia_graph_free(g);
    glia_graph_free(r.g);
    return ok;
}

/* finite differences through time for every leaf */
int seq_gradcheck(const seq_case *c, uint64_t seed, double tol) {
    seq_net s;
    if (!seq_build(c, &s, seed)) return 0;
    int ok = 1;
    for (int i = 0; i < s.n_leaf && ok; i++)
        ok = gradcheck_ok(s.g, s.y, s.leaf[i], tol, __FILE__, __LINE__);
    glia_graph_free(s.g);
    return ok;
}

/* Padding: (1) steps past the lengths filled with garbage (x and the seed there) give bit-for-bit
 * the same y and gradients as zeros there; y and dx there are exactly 0. (2) The batch equals
 * each sequence run alone, without lengths, with T = its length (y, dx, dh0, dc0; the weight
 * gradients equal the sum over the sequences). Bidirectional, h0 (and c0, peepholes; the gru
 * both ways, reset_before too). */
static int padding_case(int kind, int reset_before);
int seq_padding_check(int kind) {
    return padding_case(kind, 0) && (kind != K_GRU || padding_case(kind, 1));
}
static int padding_case(int kind, int reset_before) {
    seq_case c = {.kind = kind, .T = 5, .N = 3, .I = 3, .H = 4, .bidir = 1, .peep = kind == K_LSTM,
                  .with_h0 = 1, .with_c0 = kind == K_LSTM || kind == K_SCRN, .with_len = 1,
                  .len = {2, 5, 3}, .reset_before = reset_before};
    if (kind == K_CLOCKWORK) c.modules = 3, c.base = 2, c.with_c0 = 1, c.clock = 1;
    if (kind == K_SCRN) c.S = 3, c.alpha = 0.8f;
    enum { MAXV = 2048 };
    seq_net a, b;
    if (!seq_build(&c, &a, 7)) return 0;
    if (!seq_build(&c, &b, 7)) { glia_graph_free(a.g); return 0; }
    int ok = 0, dirs = 2, D = dirs * (c.H + (kind == K_SCRN ? c.S : 0));
    int64_t ny = numel_of(a.g, a.y);
    float sa[256], sb[256];
    fill_uniform(sa, ny, -1, 1, 99);
    memcpy(sb, sa, sizeof(float) * ny);
    float *xa = glia_node_value(a.g, a.x), *xb = glia_node_value(b.g, b.x);
    float junk[64];
    fill_uniform(junk, 64, -50, 50, 5);
    for (int t = 0; t < c.T; t++)
        for (int n = 0; n < c.N; n++) {
            if (t < c.len[n]) continue;
            for (int i = 0; i < c.I; i++) {
                xa[(t * c.N + n) * c.I + i] = 0.0f;
                xb[(t * c.N + n) * c.I + i] = junk[(t * 7 + n * 3 + i) % 64];
            }
            for (int j = 0; j < D; j++) {
                sa[(t * c.N + n) * D + j] = 0.0f;
                sb[(t * c.N + n) * D + j] = junk[(t * 5 + n + j) % 64] * 100;
            }
        }
    if (glia_graph_forward(a.g) || glia_graph_backward(a.g, a.y, sa, 0) ||
        glia_graph_forward(b.g) || glia_graph_backward(b.g, b.y, sb, 0)) {
        test_fail(__FILE__, __LINE__, "run: %s", glia_last_error());
        goto done;
    }
    if (memcmp(glia_node_value(a.g, a.y), glia_node_value(b.g, b.y), sizeof(float) * ny)) {
        test_fail(__FILE__, __LINE__, "garbage past the lengths changed y");
        goto done;
    }
    for (int i = 0; i < a.n_leaf; i++)
        if (memcmp(glia_node_grad(a.g, a.leaf[i]), glia_node_grad(b.g, b.leaf[i]),
                   sizeof(float) * numel_of(a.g, a.leaf[i]))) {
            test_fail(__FILE__, __LINE__, "garbage past the lengths changed the gradient of %s",
                      glia_node_name(a.g, a.leaf[i]));
            goto done;
        }
    const float *yb = glia_node_value(b.g, b.y), *dxb = glia_node_grad(b.g, b.x);
    for (int t = 0; t < c.T; t++)
        for (int n = 0; n < c.N; n++) {
            if (t < c.len[n]) continue;
            for (int j = 0; j < D; j++)
                if (yb[(t * c.N + n) * D + j] != 0.0f) {
                    test_fail(__FILE__, __LINE__, "y is not 0 past the length (t %d, n %d)", t, n);
                    goto done;
                }
            for (int i = 0; i < c.I; i++)
                if (dxb[(t * c.N + n) * c.I + i] != 0.0f) {
                    test_fail(__FILE__, __LINE__, "dx is not 0 past the length (t %d, n %d)", t, n);
                    goto done;
                }
        }

    /* (2) each sequence alone */
    static float wsum[24][MAXV];
    memset(wsum, 0, sizeof wsum);
    for (int n = 0; n < c.N; n++) {
        seq_case one = c;
        one.T = c.len[n];
        one.N = 1;
        one.with_len = 0;
        seq_net o;
        if (!seq_build(&one, &o, 7)) goto done;
        int L = one.T;
        float so[128];
        for (int i = 0; i < o.n_leaf; i++) { /* copy sample n's slice of every leaf */
            float *dst = glia_node_value(o.g, o.leaf[i]);
            const float *src = glia_node_value(a.g, a.leaf[i]);
            if (o.leaf[i] == o.x) {
                for (int t = 0; t < L; t++)
                    memcpy(dst + t * c.I, src + (t * c.N + n) * c.I, sizeof(float) * c.I);
            } else if (o.leaf[i] == o.h0 || o.leaf[i] == o.c0) {
                int W = o.leaf[i] == o.c0 ? c0_width(&c) : c.H;
                for (int d = 0; d < dirs; d++)
                    memcpy(dst + d * W, src + (d * c.N + n) * W, sizeof(float) * W);
            } else {
                memcpy(dst, src, sizeof(float) * numel_of(o.g, o.leaf[i]));
            }
        }
        for (int t = 0; t < L; t++) memcpy(so + t * D, sa + (t * c.N + n) * D, sizeof(float) * D);
        if (glia_graph_forward(o.g) || glia_graph_backward(o.g, o.y, so, 0)) {
            test_fail(__FILE__, __LINE__, "run: %s", glia_last_error());
            glia_graph_free(o.g);
            goto done;
        }
        const float *yo = glia_node_value(o.g, o.y), *ya = glia_node_value(a.g, a.y);
        const float *dxo = glia_node_grad(o.g, o.x), *dxa = glia_node_grad(a.g, a.x);
        int bad = 0;
        for (int t = 0; t < L && !bad; t++) {
            for (int j = 0; j < D; j++)
                if (fabsf(yo[t * D + j] - ya[(t * c.N + n) * D + j]) > 1e-6f) bad = 1;
            for (int i = 0; i < c.I; i++)
                if (fabsf(dxo[t * c.I + i] - dxa[(t * c.N + n) * c.I + i]) > 1e-5f) bad = 2;
        }
        for (int i = 0; i < o.n_leaf && !bad; i++) {
            const float *go = glia_node_grad(o.g, o.leaf[i]), *ga = glia_node_grad(a.g, a.leaf[i]);
            if (o.leaf[i] == o.x) continue;
            if (o.leaf[i] == o.h0 || o.leaf[i] == o.c0) {
                int W = o.leaf[i] == o.c0 ? c0_width(&c) : c.H;
                for (int d = 0; d < dirs; d++)
                    for (int j = 0; j < W; j++)
                        if (fabsf(go[d * W + j] - ga[(d * c.N + n) * W + j]) > 1e-5f) bad = 3;
            } else {
                for (int64_t j = 0; j < numel_of(o.g, o.leaf[i]); j++) wsum[i][j] += go[j];
            }
        }
        glia_graph_free(o.g);
        if (bad) {
            test_fail(__FILE__, __LINE__, "sequence %d run alone differs from the batch (%s)", n,
                      bad == 1 ? "y" : bad == 2 ? "dx" : "dh0/dc0");
            goto done;
        }
    }
    for (int i = 0; i < a.n_leaf; i++) {
        if (a.leaf[i] == a.x || a.leaf[i] == a.h0 || a.leaf[i] == a.c0) continue;
        int64_t w;
        double e = max_rel_diff(glia_node_grad(a.g, a.leaf[i]), wsum[i], numel_of(a.g, a.leaf[i]),
                                1e-3, &w);
        if (!(e < 1e-4)) {
            test_fail(__FILE__, __LINE__, "gradient of %s: batch with lengths %.9g, sum over the "
                      "sequences alone %.9g", glia_node_name(a.g, a.leaf[i]),
                      glia_node_grad(a.g, a.leaf[i])[w], wsum[i][w]);
            goto done;
        }
    }
    ok = 1;
done:
    glia_graph_free(a.g);
    glia_graph_free(b.g);
    return ok;
}

/* "h0" for one layer, "h0_l<k>" in a stack (the golden files' names) */
static void layer_name(char *buf, size_t n, const char *base, int layers, int k) {
    if (layers > 1) snprintf(buf, n, "%s_l%d", base, k);
    else snprintf(buf, n, "%s", base);
}

/* PyTorch golden file: a stack of `layers` ops named "m" (layer k: h0_l<k>, ...), optionally
 * followed by seq_last; y, every gradient and the final states h_n (c_n). Clockwork files hold
 * the modules and base as tensors "modules" and "base", scrn files alpha as "alpha" (the
 * context size is weight_xs's rows) and the context's s0, s_n in c0's and c_n's places. */
int seq_golden(const char *file, int kind, int layers, int bidir, int act, int with_len,
               int many_to_one, double tol) {
    golden *gd = golden_load(file);
    if (!gd) return 0;
    glia_shape xs, ws;
    int ok = 0, dirs = bidir ? 2 : 1;
    glia_graph *g = NULL;
    const float *lv = NULL;
    if (!golden_get(gd, "x", &xs) || !golden_get(gd, "weight_hh_l0", &ws)) goto done;
    if (with_len && !(lv = golden_get(gd, "lengths", NULL))) goto done;
    int64_t T = xs.dim[0], N = xs.dim[1], I = xs.dim[2], H = ws.dim[1], S = 0;
    const float *modules = NULL, *base = NULL, *clock = NULL, *alpha = NULL;
    if (kind == K_CLOCKWORK && (!(modules = golden_get(gd, "modules", NULL)) ||
                                !(base = golden_get(gd, "base", NULL)) ||
                                !(clock = golden_get(gd, "clock", NULL))))
        goto done;
    int clk = -1; /* the clockwork's clock input, when the file's clock is not 0 (one layer) */
    if (kind == K_SCRN) {
        glia_shape bs;
        if (!(alpha = golden_get(gd, "alpha", NULL)) || !golden_get(gd, "weight_xs_l0", &bs)) goto done;
        S = bs.dim[0];
    }
    const int with_c = kind == K_LSTM || kind == K_SCRN; /* c0: lstm c0, scrn s0 */
    const char *c_name = kind == K_SCRN ? "s0" : "c0", *cn_name = kind == K_SCRN ? "s_n" : "c_n";
    const int64_t CW = kind == K_SCRN ? S : H; /* c0's width */
    const char *names[64];
    int nodes[64], n = 0, ops[4], len = -1, y, x;
    static char store[64][40];
    glia_status st;
    if ((st = glia_graph_new(&g)) || (st = glia_input(g, "x", 3, (int64_t[]){T, N, I}, &x))) goto fail;
    if (with_len && (st = glia_input(g, "lengths", 1, (int64_t[]){N}, &len))) goto fail;
    if (clock && clock[0] != 0.0f && (st = glia_input(g, "clock", 1, (int64_t[]){1}, &clk))) goto fail;
    names[n] = "x";
    nodes[n++] = x;
    y = x;
    for (int k = 0; k < layers; k++) {
        int h0, c0 = -1;
        char *hn = store[n];
        layer_name(hn, 40, "h0", layers, k);
        if ((st = glia_input(g, hn, 3, (int64_t[]){dirs, N, H}, &h0))) goto fail;
        names[n] = hn;
        nodes[n++] = h0;
        if (with_c) {
            char *cn = store[n];
            layer_name(cn, 40, c_name, layers, k);
            if ((st = glia_input(g, cn, 3, (int64_t[]){dirs, N, CW}, &c0))) goto fail;
            names[n] = cn;
            nodes[n++] = c0;
        }
        glia_rnn_config cfg = {.hidden = (int)H, .bidirectional = bidir, .activation = act, .layer = k,
                               .cell_out = golden_option(gd, "cell_out", 0) == 1,
                               .reset_before = golden_option(gd, "reset_before", 0) == 1,
                               .input_forget = golden_option(gd, "input_forget", 0) == 1};
        if (modules) cfg.modules = (int)modules[0], cfg.period_base = (int)base[0];
        if (alpha) cfg.context = (int)S, cfg.alpha = alpha[0];
        switch (kind) {
        case K_RNN: st = glia_rnn(g, "m", y, h0, len, &cfg, &y); break;
        case K_LSTM: st = glia_lstm(g, "m", y, h0, c0, len, &cfg, &y); break;
        case K_GRU: st = glia_gru(g, "m", y, h0, len, &cfg, &y); break;
        case K_CLOCKWORK: st = glia_clockwork(g, "m", y, h0, clk, len, &cfg, &y); break;
        default: st = glia_scrn(g, "m", y, h0, c0, len, &cfg, &y); break;
        }
        if (st) goto fail;
        ops[k] = y;
        for (int d = 0; d < dirs; d++)
            for (int p = 0; p < (kind == K_SCRN ? 5 : 4); p++) {
                char *pn = store[n], full[80];
                snprintf(pn, 40, "%s_l%d%s", roles[kind == K_SCRN][p], k, d ? "_reverse" : "");
                snprintf(full, sizeof full, "m.%s", pn);
                if ((st = glia_graph_find(g, full, &nodes[n]))) goto fail;
                names[n++] = pn;
            }
    }
    if (many_to_one && (st = glia_seq_last(g, "last", y, len, dirs, &y))) goto fail;
    if ((st = glia_graph_compile(g, GLIA_COMPILE_BACKWARD))) goto fail;
    if (len >= 0 && (st = glia_node_set(g, len, lv, N))) goto fail;
    if (clk >= 0 && (st = glia_node_set(g, clk, clock, 1))) goto fail;
    if (!golden_check(g, file, y, n, names, nodes, tol)) goto done;
    if (!many_to_one) {
        for (int k = 0; k < layers; k++) {
            float h[64], c[64];
            char hn[40], cn[40];
            layer_name(hn, sizeof hn, "h_n", layers, k);
            layer_name(cn, sizeof cn, cn_name, layers, k);
            if ((st = glia_rnn_final_state(g, ops[k], h, with_c ? c : NULL))) goto fail;
            const float *wh = golden_get(gd, hn, NULL), *wc = with_c ? golden_get(gd, cn, NULL) : NULL;
            int64_t m = dirs * N * H, mc = dirs * N * CW, w;
            if (!wh || (with_c && !wc)) goto done;
            double e = max_rel_diff(h, wh, m, 1e-3, &w);
            if (with_c && max_rel_diff(c, wc, mc, 1e-3, NULL) > e)
                e = max_rel_diff(c, wc, mc, 1e-3, &w);
            if (!(e <= tol)) {
                test_fail(__FILE__, __LINE__, "%s: final state of layer %d differs from PyTorch's "
                          "(element %lld, relative %.3g)", file, k, (long long)w, e);
                goto done;
            }
        }
    }
    ok = 1;
    goto done;
fail:
    test_fail(__FILE__, __LINE__, "%s: %s", file, glia_last_error());
done:
    glia_graph_free(g);
    golden_free(gd);
    return ok;
}

/* ---------------------------------------------------------------- Elman RNN */

TEST(rnn_gradcheck_tanh_bidir_lengths_h0) {
    seq_case c = {.kind = K_RNN, .T = 4, .N = 2, .I = 3, .H = 3, .bidir = 1, .with_h0 = 1,
                  .with_len = 1, .len = {4, 2}};
    CHECK(seq_gradcheck(&c, 1, 1e-2));
}

TEST(rnn_gradcheck_relu_forward_only) {
    seq_case c = {.kind = K_RNN, .T = 5, .N = 2, .I = 2, .H = 3, .act = GLIA_RNN_RELU};
    CHECK(seq_gradcheck(&c, 2, 1e-2));
}

TEST(rnn_matches_reference) {
    seq_case c = {.kind = K_RNN, .T = 5, .N = 3, .I = 3, .H = 4, .bidir = 1, .with_h0 = 1,
                  .with_len = 1, .len = {3, 5, 1}};
    CHECK(seq_reference_check(&c, 3, 2e-4));
    c.act = GLIA_RNN_RELU;
    CHECK(seq_reference_check(&c, 4, 2e-4));
    seq_case u = {.kind = K_RNN, .T = 3, .N = 2, .I = 5, .H = 2}; /* no h0, no lengths */
    CHECK(seq_reference_check(&u, 5, 2e-4));
}

TEST(rnn_padding_changes_nothing) { CHECK(seq_padding_check(K_RNN)); }

TEST(rnn_golden_pytorch) {
    CHECK(seq_golden("rnn_rnn_tanh", K_RNN, 1, 0, GLIA_RNN_TANH, 0, 0, 1e-4));
    CHECK(seq_golden("rnn_rnn_relu_bidir_len", K_RNN, 1, 1, GLIA_RNN_RELU, 1, 0, 1e-4));
}

TEST(rnn_builder_names_and_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, x2, y, id;
    OK(glia_input(g, "x", 3, (int64_t[]){4, 2, 3}, &x));
    OK(glia_input(g, "x2", 2, (int64_t[]){4, 3}, &x2));
    glia_rnn_config cfg = {.hidden = 5, .bidirectional = 1};
    OK(glia_rnn(g, "enc", x, -1, -1, &cfg, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 3 && s.dim[0] == 4 && s.dim[1] == 2 && s.dim[2] == 10);
    CHECK(!strcmp(glia_node_name(g, y), "enc") && !strcmp(glia_node_op(g, y), "rnn"));
    OK(glia_graph_find(g, "enc.weight_ih_l0_reverse", &id));
    OK(glia_node_shape(g, id, &s));
    CHECK(s.ndim == 2 && s.dim[0] == 5 && s.dim[1] == 3);
    OK(glia_graph_find(g, "enc.bias_hh_l0", &id));
    CHECK(glia_node_is_param(g, id));
    int nn = glia_graph_num_nodes(g);
    /* errors leave the graph as it was (no stray parameters) and name the layer and shapes */
    CHECK(glia_rnn(g, "bad", x2, -1, -1, &cfg, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "bad") && strstr(glia_last_error(), "[4, 3]"));
    int h0;
    OK(glia_input(g, "h0", 3, (int64_t[]){1, 2, 5}, &h0)); /* bidirectional needs [2, 2, 5] */
    nn = glia_graph_num_nodes(g);
    CHECK(glia_rnn(g, "bad2", x, h0, -1, &cfg, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "bad2") && strstr(glia_last_error(), "h0") &&
          strstr(glia_last_error(), "[1, 2, 5]") && strstr(glia_last_error(), "[2, 2, 5]"));
    CHECK(glia_graph_num_nodes(g) == nn);
    CHECK(glia_graph_find(g, "bad2.weight_ih_l0", &id) == GLIA_EINVAL);
    cfg.peephole = 1;
    CHECK(glia_rnn(g, "bad3", x, -1, -1, &cfg, &y) == GLIA_EINVAL);
    cfg.peephole = 0;
    cfg.hidden = 0;
    CHECK(glia_rnn(g, "bad4", x, -1, -1, &cfg, &y) == GLIA_EINVAL);
    CHECK(glia_rnn(g, "enc", x, -1, -1, NULL, &y) == GLIA_EINVAL);
    cfg.hidden = 5;
    CHECK(glia_rnn(g, "enc", x, -1, -1, &cfg, &y) == GLIA_EINVAL); /* name taken */
    CHECK(glia_graph_num_nodes(g) == nn);
    OK(glia_rnn(g, NULL, x, -1, -1, &cfg, &y)); /* made-up names */
    CHECK(!strcmp(glia_node_op(g, y), "rnn"));
    glia_graph_free(g);
}

TEST(rnn_bad_length_is_a_forward_error) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, len, y;
    OK(glia_input(g, "x", 3, (int64_t[]){4, 2, 3}, &x));
    OK(glia_input(g, "lens", 1, (int64_t[]){2}, &len));
    glia_rnn_config cfg = {.hidden = 2};
    OK(glia_rnn(g, "r1", x, -1, len, &cfg, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float bad[][2] = {{4, 5}, {0, 2}, {2, 1.5f}, {NAN, 1}};
    for (int i = 0; i < 4; i++) {
        OK(glia_node_set(g, len, bad[i], 2));
        CHECK(glia_graph_forward(g) == GLIA_ERANGE);
        CHECK(strstr(glia_last_error(), "r1") && strstr(glia_last_error(), "lens"));
    }
    OK(glia_node_set(g, len, (float[]){4, 1}, 2));
    OK(glia_graph_forward(g));
    glia_graph_free(g);
}

/* ---------------------------------------------------------------- final state */

/* truncated BPTT: one run over T = 6 equals two chunks of 3 carrying the state across */
static int chunks_equal(int kind) {
    int T = 6, N = 2, I = 3, H = 4, K = kind, wc = K == K_LSTM || K == K_SCRN;
    /* clockwork: periods 1, 2, 4 and its clock input (the second chunk starts at step 3: odd);
     * scrn: a context of 3 */
    seq_case full = {.kind = K, .T = T, .N = N, .I = I, .H = H, .with_h0 = 1,
                     .with_c0 = wc || K == K_CLOCKWORK, .modules = K == K_CLOCKWORK ? 3 : 0,
                     .base = K == K_CLOCKWORK ? 2 : 0, .S = K == K_SCRN ? 3 : 0,
                     .alpha = K == K_SCRN ? 0.7f : 0.0f};
    const int C = c0_width(&full), D = H + (K == K_SCRN ? C : 0); /* c0's and y's widths */
    seq_case half = full;
    half.T = 3;
    seq_net f, h;
    if (!seq_build(&full, &f, 11)) return 0;
    if (!seq_build(&half, &h, 11)) { glia_graph_free(f.g); return 0; }
    int ok = 0;
    for (int i = 0; i < h.n_leaf; i++) /* same weights and initial state */
        if (h.leaf[i] != h.x)
            memcpy(glia_node_value(h.g, h.leaf[i]), glia_node_value(f.g, f.leaf[i]),
                   sizeof(float) * numel_of(f.g, f.leaf[i]));
    float hs[64], cs[64], hf[64], cf[64];
    const float *xf = glia_node_value(f.g, f.x);
    if (glia_graph_forward(f.g)) goto done;
    for (int chunk = 0; chunk < 2; chunk++) {
        memcpy(glia_node_value(h.g, h.x), xf + chunk * 3 * N * I, sizeof(float) * 3 * N * I);
        if (K == K_CLOCKWORK) glia_node_value(h.g, h.c0)[0] = (float)(3 * chunk);
        if (chunk) {
            memcpy(glia_node_value(h.g, h.h0), hs, sizeof(float) * N * H);
            if (wc) memcpy(glia_node_value(h.g, h.c0), cs, sizeof(float) * N * C);
        }
        if (glia_graph_forward(h.g)) goto done;
        if (glia_rnn_final_state(h.g, h.y, hs, wc ? cs : NULL)) goto done;
        const float *yh = glia_node_value(h.g, h.y), *yf = glia_node_value(f.g, f.y);
        for (int i = 0; i < 3 * N * D; i++)
            if (fabsf(yh[i] - yf[chunk * 3 * N * D + i]) > 1e-6f) {
                test_fail(__FILE__, __LINE__, "chunk %d differs from the full run at %d", chunk, i);
                goto done;
            }
    }
    if (glia_rnn_final_state(f.g, f.y, hf, wc ? cf : NULL)) goto done;
    const float *ylast = glia_node_value(f.g, f.y) + (T - 1) * N * D;
    for (int i = 0; i < N * H; i++) /* the final state is the last output (scrn: [h, s]) */
        if (hf[i] != ylast[i / H * D + i % H] || fabsf(hf[i] - hs[i]) > 1e-6f) {
            test_fail(__FILE__, __LINE__, "final state differs at %d", i);
            goto done;
        }
    for (int i = 0; wc && i < N * C; i++)
        if (fabsf(cf[i] - cs[i]) > 1e-6f ||
            (K == K_SCRN && cf[i] != ylast[i / C * D + H + i % C])) {
            test_fail(__FILE__, __LINE__, "final c (s) state differs at %d", i);
            goto done;
        }
    ok = 1;
done:
    if (!ok && !test_failed_flag) test_fail(__FILE__, __LINE__, "%s", glia_last_error());
    glia_graph_free(f.g);
    glia_graph_free(h.g);
    return ok;
}

/* Steps at or after the longest length are padding for every row and skipped (rnn.c,
 * live_steps): still finite differences and the reference device agree (bidirectional, h0, c0,
 * peepholes), y there is 0, and the final state is the state at each row's length (forward) and
 * at step 0 (reverse), the outputs there. */
TEST(rnn_skips_steps_past_the_longest_length) {
    for (int kind = K_RNN; kind <= K_GRU && !test_failed_flag; kind++) {
        seq_case c = {.kind = kind, .T = 6, .N = 3, .I = 3, .H = 4, .bidir = 1, .peep = kind == K_LSTM,
                      .with_h0 = 1, .with_c0 = kind == K_LSTM, .with_len = 1, .len = {3, 1, 2}};
        CHECK(seq_gradcheck(&c, 41 + (uint64_t)kind, 1e-2));
        CHECK(seq_reference_check(&c, 44 + (uint64_t)kind, 2e-4));
        seq_net s;
        if (!seq_build(&c, &s, 47)) continue;
        OK(glia_graph_forward(s.g));
        const float *y = glia_node_value(s.g, s.y);
        float h[2 * 3 * 4], cc[2 * 3 * 4];
        OK(glia_rnn_final_state(s.g, s.y, h, kind == K_LSTM ? cc : NULL));
        const int D = 2 * c.H;
        for (int t = 3; t < c.T; t++)
            for (int i = 0; i < c.N * D; i++) CHECK(y[t * c.N * D + i] == 0.0f);
        for (int n = 0; n < c.N; n++)
            for (int j = 0; j < c.H; j++) {
                CHECK(h[n * c.H + j] == y[((c.len[n] - 1) * c.N + n) * D + j]);
                CHECK(h[(c.N + n) * c.H + j] == y[n * D + c.H + j]);
            }
        glia_graph_free(s.g);
    }
}

TEST(rnn_final_state_carries_across_chunks) {
    CHECK(chunks_equal(K_RNN));
    CHECK(chunks_equal(K_LSTM));
    CHECK(chunks_equal(K_GRU));
    CHECK(chunks_equal(K_CLOCKWORK));
    CHECK(chunks_equal(K_SCRN));
}

TEST(rnn_final_state_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y, r;
    float h[8], c[8];
    OK(glia_input(g, "x", 3, (int64_t[]){2, 1, 2}, &x));
    glia_rnn_config cfg = {.hidden = 4};
    OK(glia_gru(g, "gru", x, -1, -1, &cfg, &y));
    OK(glia_relu(g, "relu", y, &r));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    CHECK(glia_rnn_final_state(g, y, h, NULL) == GLIA_ESTATE); /* no forward yet */
    OK(glia_graph_forward(g));
    OK(glia_rnn_final_state(g, y, h, NULL));
    CHECK(glia_rnn_final_state(g, y, h, c) == GLIA_EINVAL); /* a gru has no cell state */
    CHECK(glia_rnn_final_state(g, r, h, NULL) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "relu"));
    CHECK(glia_rnn_final_state(g, 99, h, NULL) == GLIA_EINVAL);
    glia_graph_free(g);
}

/* ---------------------------------------------------------------- seq_last */

TEST(seq_last_values_and_gradient) {
    enum { T = 4, N = 3, D = 6 };
    glia_graph *g;
    OK(glia_graph_new(&g));
    int y, len, out, out1;
    OK(glia_input(g, "y", 3, (int64_t[]){T, N, D}, &y));
    OK(glia_input(g, "len", 1, (int64_t[]){N}, &len));
    OK(glia_seq_last(g, "last", y, len, 2, &out));
    OK(glia_seq_last(g, "last1", y, -1, 1, &out1));
    glia_shape s;
    OK(glia_node_shape(g, out, &s));
    CHECK(s.ndim == 2 && s.dim[0] == N && s.dim[1] == D);
    OK(glia_node_requires_grad(g, y, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float *Y = glia_node_value(g, y), seed[N * D];
    fill_uniform(Y, T * N * D, -1, 1, 1);
    fill_uniform(seed, N * D, -1, 1, 2);
    int L[N] = {2, 4, 1};
    OK(glia_node_set(g, len, (float[]){2, 4, 1}, N));
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, out, seed, 0));
    const float *o = glia_node_value(g, out), *o1 = glia_node_value(g, out1), *dy = glia_node_grad(g, y);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < D; j++) {
            int t = j < D / 2 ? L[n] - 1 : 0;
            CHECK(o[n * D + j] == Y[(t * N + n) * D + j]);
            CHECK(o1[n * D + j] == Y[((T - 1) * N + n) * D + j]);
        }
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++)
            for (int j = 0; j < D; j++) {
                int want_t = j < D / 2 ? L[n] - 1 : 0;
                CHECK(dy[(t * N + n) * D + j] == (t == want_t ? seed[n * D + j] : 0.0f));
            }
    ref_checked(g, out);
    GRADCHECK(g, out, y, 1e-3);
    OK(glia_node_set(g, len, (float[]){2, 5, 1}, N));
    CHECK(glia_graph_forward(g) == GLIA_ERANGE && strstr(glia_last_error(), "last"));
    CHECK(glia_seq_last(g, "odd", y, -1, 3, &out) == GLIA_EINVAL);
    glia_graph_free(g);
}

/* an LSTM read out many-to-one (PyTorch's cat(h_n[-2], h_n[-1])), lengths, bidirectional */
TEST(seq_last_lstm_golden_pytorch) {
    CHECK(seq_golden("rnn_lstm_many_to_one", K_LSTM, 1, 1, 0, 1, 1, 1e-4));
}

int seq_run_threads(int threads, const seq_case *c, float *out, int64_t cap, int64_t *used) {
    glia_set_num_threads(threads);
    seq_net s;
    if (!seq_build(c, &s, 31)) return 0;
    glia_shape ys;
    glia_node_shape(s.g, s.y, &ys);
    int64_t ny = glia_shape_numel(&ys), n = 0;
    float *seed = malloc(sizeof(float) * ny);
    fill_uniform(seed, ny, -1, 1, 32);
    int ok = !glia_graph_forward(s.g) && !glia_graph_backward(s.g, s.y, seed, 0);
    for (int64_t i = 0; ok && i < ny && n < cap; i++) out[n++] = glia_node_value(s.g, s.y)[i];
    for (int k = 0; ok && k < s.n_leaf; k++) {
        glia_shape sh;
        glia_node_shape(s.g, s.leaf[k], &sh);
        const float *gr = glia_node_grad(s.g, s.leaf[k]);
        for (int64_t i = 0; i < glia_shape_numel(&sh) && n < cap; i++) out[n++] = gr[i];
    }
    *used = n;
    free(seed);
    glia_graph_free(s.g);
    return ok;
}

/* Two threads run a bidirectional layer's directions at once, and a one-direction layer's batch
 * as two blocks of rows through the time loop (rnn.c), each GEMM serial inside. Checked with two
 * threads against the reference device, and against one thread (to float rounding: the whole
 * GEMMs outside the loop are OpenBLAS's, threaded at these sizes). Cases: each cell one-way
 * (N 40: blocks of 20 rows, lengths, h0), the gru both ways, and the bidirectional lstm at the
 * G2P encoder's size. */
TEST(rnn_threads_split_rows_and_directions) {
    const seq_case cases[] = {
        {.kind = K_LSTM, .T = 5, .N = 40, .I = 24, .H = 64, .peep = 1, .with_h0 = 1, .with_c0 = 1,
         .with_len = 1, .len = {5, 1, 3, 2, 5, 4, 2, 3}},
        {.kind = K_GRU, .T = 5, .N = 40, .I = 24, .H = 64, .with_h0 = 1, .with_len = 1,
         .len = {5, 2, 3, 1, 5, 4, 2, 3}},
        {.kind = K_GRU, .T = 5, .N = 40, .I = 24, .H = 64, .reset_before = 1, .with_len = 1,
         .len = {5, 2, 3, 1, 5, 4, 2, 3}},
        {.kind = K_RNN, .T = 4, .N = 40, .I = 24, .H = 32, .with_h0 = 1},
        {.kind = K_LSTM, .T = 6, .N = 64, .I = 64, .H = 128, .bidir = 1, .with_len = 1,
         .len = {6, 1, 5, 2, 6, 6, 3, 4}},
    };
    enum { CAP = 1 << 20 };
    float *a = malloc(sizeof(float) * CAP), *b = malloc(sizeof(float) * CAP);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        glia_set_num_threads(2);
        /* 5e-3: float rounding over sums of up to 512 terms and 6 steps; a row or direction mixed up
         * is off by the values themselves */
        CHECK_MSG(seq_reference_check(&cases[k], 40 + k, 5e-3), "case %zu", k);
        int64_t na = 0, nb = 0;
        int ra = seq_run_threads(1, &cases[k], a, CAP, &na), rb = seq_run_threads(2, &cases[k], b, CAP, &nb);
        glia_set_num_threads(0);
        CHECK_MSG(ra && rb, "case %zu: %s", k, glia_last_error());
        double d = ra && rb && na == nb && na > 10000 ? max_rel_diff(a, b, na, 0.1, NULL) : INFINITY;
        CHECK_MSG(d < 1e-4, "case %zu: 1 and 2 threads differ by %.3g", k, d);
    }
    glia_set_num_threads(0);
    free(a);
    free(b);
}
