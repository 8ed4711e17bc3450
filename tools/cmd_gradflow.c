/* cmd_gradflow.c: glia gradflow — the vanishing and exploding gradient demonstration.
 *
 * A loss at the last of T steps, L = sum(y_T) / sqrt(H), is backpropagated through time and the
 * norm of its gradient with respect to each step's input, ||dL/dx_t||, is read at every distance
 * T - 1 - t from the loss. Networks (H = I = 8, W_ih = identity, inputs in [0.1, 1], so that the
 * ReLU stays in its linear part):
 *   rnn w     h_t = relu(x_t + w h_{t-1}), W_hh = w I: dL/dh_t = w^(T-1-t) dL/dh_{T-1}, so the
 *             norm goes as w^distance: 0.99 vanishes (0.99^999 = 4e-5), 1.01 explodes
 *             (1.01^999 = 2e4), only w = 1 (IRNN's initialisation) keeps it.
 *   lstm      W_hh = 0, the forget gate's bias b_f: open (b_f = 20, f = 1): dc_{t-1} = f dc_t
 *             carries the gradient unchanged over any distance (the constant error carousel);
 *             b_f = 0 (f = 1/2): it halves at every step.
 * Prints a table and writes a PNG of log10 ||dL/dx_t|| against the distance. */
#include "cli.h"
#include "glia.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { H = 8 };

/* ||dL/dx_t|| for t = 0..T-1 into norm; kind 0: rnn with weight w; 1: lstm with forget bias w */
static int run(int kind, float w, int T, double *norm) {
    glia_graph *g;
    int x, y, ok = 0;
    glia_rnn_config cfg = {0};
    cfg.hidden = H;
    cfg.activation = GLIA_RNN_RELU * (kind == 0);
    if (glia_graph_new(&g) || glia_input(g, "x", 3, (int64_t[]){T, 1, H}, &x) ||
        glia_node_requires_grad(g, x, 1) ||
        (kind == 0 ? glia_rnn(g, "rnn", x, -1, -1, &cfg, &y)
                   : glia_lstm(g, "rnn", x, -1, -1, -1, &cfg, &y)) ||
        glia_graph_compile(g, GLIA_COMPILE_BACKWARD))
        goto done;
    int wih, whh, bih;
    glia_graph_find(g, "rnn.weight_ih_l0", &wih);
    glia_graph_find(g, "rnn.weight_hh_l0", &whh);
    glia_graph_find(g, "rnn.bias_ih_l0", &bih);
    float *Wih = glia_node_value(g, wih), *Whh = glia_node_value(g, whh), *b = glia_node_value(g, bih);
    glia_rng r;
    glia_rng_seed(&r, 1, 7);
    float *xv = glia_node_value(g, x);
    for (int i = 0; i < T * H; i++) xv[i] = 0.1f + 0.9f * glia_rng_uniform(&r);
    if (kind == 0) {
        for (int i = 0; i < H; i++) Wih[i * H + i] = 1, Whh[i * H + i] = w;
    } else { /* gates i f g o: rows [0,H) [H,2H) [2H,3H) [3H,4H) */
        for (int i = 0; i < 4 * H * H; i++) Wih[i] = 0.5f * (2 * glia_rng_uniform(&r) - 1);
        for (int i = H; i < 2 * H; i++) b[i] = w;
    }
    float *seed = calloc((size_t)T * H, sizeof *seed);
    if (!seed) goto done;
    for (int i = 0; i < H; i++) seed[(size_t)(T - 1) * H + i] = 1.0f / sqrtf((float)H);
    if (!glia_graph_forward(g) && !glia_graph_backward(g, y, seed, 0)) {
        const float *dx = glia_node_grad(g, x);
        for (int t = 0; t < T; t++) {
            double s = 0;
            for (int i = 0; i < H; i++) s += (double)dx[t * H + i] * dx[t * H + i];
            norm[T - 1 - t] = sqrt(s); /* by distance from the loss */
        }
        ok = 1;
    }
    free(seed);
done:
    if (!ok) fprintf(stderr, "glia gradflow: %s\n", glia_last_error());
    glia_graph_free(g);
    return ok;
}

int cmd_gradflow(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia gradflow [--steps T] [--png FILE]\n\n"
               "The vanishing/exploding gradient demonstration: backpropagates a loss at the last\n"
               "of T steps (default 1000) and prints the gradient norm reaching the inputs at\n"
               "distances 0 .. T-1, for a ReLU RNN with recurrent weight w = 0.99, 1.0, 1.01 and\n"
               "for an LSTM with its forget gate open (bias 20) and half open (bias 0). Writes a\n"
               "plot of log10(norm) against the distance (default gradflow.png).\n");
        return 0;
    }
    int T = 1000, npos;
    const char *png = "gradflow.png";
    const cli_opt opts[] = {{"--steps", 'i', &T}, {"--png", 's', &png}, {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, NULL, 0, &npos, "gradflow")) return 2;
    if (T < 2 || T > 100000) {
        fprintf(stderr, "glia gradflow: --steps takes 2..100000\n");
        return 2;
    }
    enum { NS = 5 };
    const char *names[NS] = {"rnn w=0.99", "rnn w=1.00", "rnn w=1.01", "lstm forget open",
                             "lstm forget bias 0"};
    const int kinds[NS] = {0, 0, 0, 1, 1};
    const float ws[NS] = {0.99f, 1.0f, 1.01f, 20.0f, 0.0f};
    double *v = calloc((size_t)T * (2 * NS + 1), sizeof *v);
    if (!v) return 1;
    double *x = v + (size_t)2 * NS * T;
    for (int k = 0; k < NS; k++)
        if (!run(kinds[k], ws[k], T, v + (size_t)k * T)) { free(v); return 1; }
    printf("gradient norm ||dL/dx_t|| at distance d = T-1-t from the loss (T = %d)\n%-20s", T, "d");
    int ds[] = {0, 1, 10, 100, 500, T - 1};
    for (int j = 0; j < 6; j++) if (ds[j] < T) printf(" %11d", ds[j]);
    printf("\n");
    for (int k = 0; k < NS; k++) {
        printf("%-20s", names[k]);
        for (int j = 0; j < 6; j++) if (ds[j] < T) printf(" %11.4g", v[(size_t)k * T + ds[j]]);
        printf("\n");
    }
    glia_plot_series se[NS];
    for (int k = 0; k < NS; k++) {
        double *lg = v + (size_t)(NS + k) * T;
        for (int t = 0; t < T; t++) lg[t] = v[(size_t)k * T + t] > 0 ? log10(v[(size_t)k * T + t]) : NAN;
        se[k] = (glia_plot_series){names[k], lg, 0};
    }
    for (int t = 0; t < T; t++) x[t] = t;
    const char *yl[1] = {"log10 gradient norm"};
    glia_status s = glia_plot_curves(png, "gradient reaching each step (BPTT)", "distance from the loss (steps)",
                                     x, T, 1, yl, se, NS);
    free(v);
    if (s) { fprintf(stderr, "glia gradflow: %s\n", glia_last_error()); return 1; }
    printf("wrote %s\n", png);
    return 0;
}
