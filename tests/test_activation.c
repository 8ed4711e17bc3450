/* test_activation.c: relu, leaky_relu, elu, sigmoid, tanh, linear, relu6, hard_sigmoid, hard_swish:
 * finite differences, a double
 * precision reference, PyTorch's values (tests/golden/act_*.txt), PyTorch's gradient at the kink,
 * bit-exactness across thread counts, attribute errors. */
#include "test.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the constants of scripts/golden/gen_activation.py */
#define SLOPE 0.1f
#define ALPHA 1.3f

enum { RELU, LEAKY, ELU, SIGMOID, TANH, LINEAR, RELU6, HSIG, HSWISH, NACT };
static const char *const act_names[NACT] = {"relu", "leaky_relu", "elu", "sigmoid", "tanh", "linear", "relu6",
                                            "hard_sigmoid", "hard_swish"};

static glia_status add_act(glia_graph *g, int kind, const char *name, int x, int *y) {
    switch (kind) {
    case RELU: return glia_relu(g, name, x, y);
    case LEAKY: return glia_leaky_relu(g, name, x, SLOPE, y);
    case ELU: return glia_elu(g, name, x, ALPHA, y);
    case SIGMOID: return glia_sigmoid(g, name, x, y);
    case TANH: return glia_tanh(g, name, x, y);
    case RELU6: return glia_relu6(g, name, x, y);
    case HSIG: return glia_hard_sigmoid(g, name, x, y);
    case HSWISH: return glia_hard_swish(g, name, x, y);
    default: return glia_linear(g, name, x, y);
    }
}

/* double-precision reference, the derivative taken from x (not from y as the op does) */
static double ref_f(int kind, double x) {
    switch (kind) {
    case RELU: return x > 0 ? x : 0;
    case LEAKY: return x > 0 ? x : SLOPE * x;
    case ELU: return x > 0 ? x : ALPHA * (exp(x) - 1);
    case SIGMOID: return 1 / (1 + exp(-x));
    case TANH: return tanh(x);
    case RELU6: return x > 6 ? 6 : x > 0 ? x : 0;
    case HSIG: return x > 3 ? 1 : x > -3 ? x / 6 + 0.5 : 0;
    case HSWISH: return x > 3 ? x : x > -3 ? x * (x + 3) / 6 : 0;
    default: return x;
    }
}
static double ref_df(int kind, double x) {
    switch (kind) {
    case RELU: return x > 0 ? 1 : 0;
    case LEAKY: return x > 0 ? 1 : SLOPE;
    case ELU: return x > 0 ? 1 : ALPHA * exp(x);
    case SIGMOID: return exp(-fabs(x)) / ((1 + exp(-fabs(x))) * (1 + exp(-fabs(x))));
    case TANH: return 1 / (cosh(x) * cosh(x));
    case RELU6: return x > 0 && x < 6 ? 1 : 0;
    case HSIG: return x > -3 && x < 3 ? 1.0 / 6 : 0;
    case HSWISH: return x < -3 ? 0 : x < 3 ? x / 3 + 0.5 : 1; /* PyTorch 1.13's, at -3 and 3 too */
    default: return 1;
    }
}

/* x [3,4,5] -> op -> y; finite differences of sum(seed * y) w.r.t. x (kinks skipped) */
TEST(act_gradcheck) {
    for (int k = 0; k < NACT; k++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 3, (int64_t[]){3, 4, 5}, &x));
        OK(add_act(g, k, act_names[k], x, &y));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        fill_uniform(glia_node_value(g, x), 60, -3, 3, 100 + k);
        GRADCHECK(g, y, x, 2e-3); /* worst seen: 5e-4 (tanh), float rounding in y */
        glia_graph_free(g);
    }
}

/* every op, forward and gradient, against the double reference, on enough elements that the
 * OpenMP loop runs in parallel */
TEST(act_matches_naive) {
    enum { N = 40000 };
    float *seed = malloc(N * sizeof *seed), *ry = malloc(N * sizeof *ry), *rdx = malloc(N * sizeof *rdx);
    CHECK(seed && ry && rdx);
    fill_uniform(seed, N, -1, 1, 5);
    for (int k = 0; k < NACT; k++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 2, (int64_t[]){8, N / 8}, &x));
        OK(add_act(g, k, act_names[k], x, &y));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        float *X = glia_node_value(g, x);
        fill_uniform(X, N, -8, 8, 6 + k);
        X[0] = 0;
        X[1] = 30;
        X[2] = -30;
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, y, seed, 0));
        for (int i = 0; i < N; i++) {
            ry[i] = (float)ref_f(k, X[i]);
            rdx[i] = (float)(seed[i] * ref_df(k, X[i]));
        }
        int64_t w;
        double ey = max_rel_diff(glia_node_value(g, y), ry, N, 1e-3, &w);
        CHECK_MSG(ey < 1e-6, "%s: y[%lld] relative error %.3g", act_names[k], (long long)w, ey);
        /* The gradients from a float y (as PyTorch's sigmoid and tanh) cancel where y is near
         * its limit: y (1 - y) or 1 - y^2 near |y| = 1, y + alpha near y = -alpha (elu), and
         * hard swish's x / 3 + 1/2 near x = -1.5; the absolute error is about one float ulp of
         * 1 (6e-8), 6e-5 relative to the floor 1e-3. */
        double edx = max_rel_diff(glia_node_grad(g, x), rdx, N, 1e-3, &w);
        CHECK_MSG(edx < (k == SIGMOID || k == TANH || k == ELU || k == HSWISH ? 1e-4 : 1e-6),
                  "%s: dx[%lld] relative error %.3g", act_names[k], (long long)w, edx);
        ref_checked(g, y);
        glia_graph_free(g);
    }
    free(seed);
    free(ry);
    free(rdx);
}

/* tests/golden/act_<op>.txt from scripts/golden/gen_activation.py: exact zeros, +-1e-4, +-1e-7,
 * +-30 among random values in [-3, 3] */
TEST(act_golden_pytorch) {
    for (int k = 0; k < NACT; k++) {
        glia_graph *g;
        int x, y;
        char file[64];
        snprintf(file, sizeof file, "act_%s", act_names[k]);
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 3, (int64_t[]){3, 4, 5}, &x));
        OK(add_act(g, k, act_names[k], x, &y));
        GOLDEN_CHECK(g, file, y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-5);
        glia_graph_free(g);
    }
}

/* PyTorch's gradients at x == 0: relu 0, leaky_relu slope, elu alpha (and 1 for x > 0) */
TEST(act_gradient_at_zero) {
    const float xs[4] = {-1, 0, -0.0f, 2}, seed[4] = {1, 1, 1, 1};
    const float want[3][4] = {{0, 0, 0, 1}, {SLOPE, SLOPE, SLOPE, 1}, {0, ALPHA, ALPHA, 1}};
    for (int k = RELU; k <= ELU; k++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 2, (int64_t[]){1, 4}, &x));
        OK(add_act(g, k, NULL, x, &y));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        OK(glia_node_set(g, x, xs, 4));
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, y, seed, 0));
        const float *dx = glia_node_grad(g, x), *Y = glia_node_value(g, y);
        CHECK(Y[1] == 0 && Y[2] == 0 && Y[3] == 2);
        for (int i = 0; i < 4; i++) {
            double w = i == 0 && k == ELU ? ALPHA * exp(-1.0) : want[k][i];
            CHECK_MSG(fabs(dx[i] - w) < 1e-6, "%s: dx at x = %g is %g, expected %g", act_names[k],
                      (double)xs[i], (double)dx[i], w);
        }
        glia_graph_free(g);
    }
}

/* relu6 at its kinks, as PyTorch's hardtanh(0, 6): gradient 0 at 0 and at 6, y = 6 above,
 * a NaN kept (its gradient 0) */
TEST(act_relu6_at_kinks) {
    const float xs[8] = {-1, 0, 3, 5.999f, 6, 6.001f, 30, NAN}, seed[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const float wy[7] = {0, 0, 3, 5.999f, 6, 6, 6}, wdx[8] = {0, 0, 1, 1, 0, 0, 0, 0};
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 1, (int64_t[]){8}, &x));
    OK(glia_relu6(g, "r6", x, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_node_set(g, x, xs, 8));
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    const float *dx = glia_node_grad(g, x), *Y = glia_node_value(g, y);
    for (int i = 0; i < 8; i++) {
        CHECK_MSG(i == 7 ? isnan(Y[i]) : Y[i] == wy[i], "y at x = %g is %g", (double)xs[i], (double)Y[i]);
        CHECK_MSG(dx[i] == wdx[i], "dx at x = %g is %g", (double)xs[i], (double)dx[i]);
    }
    glia_graph_free(g);
}

/* the forward and backward results do not depend on the number of threads */
TEST(act_threads_bitexact) {
    enum { N = 1 << 17 };
    float *seed = malloc(N * sizeof *seed), *y1 = malloc(N * sizeof *y1), *d1 = malloc(N * sizeof *d1);
    CHECK(seed && y1 && d1);
    fill_uniform(seed, N, -1, 1, 9);
    for (int k = 0; k < NACT; k++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 1, (int64_t[]){N}, &x));
        OK(add_act(g, k, NULL, x, &y));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        fill_uniform(glia_node_value(g, x), N, -5, 5, 10 + k);
        for (int t = 0; t < 2; t++) {
            glia_set_num_threads(t ? 4 : 1);
            OK(glia_graph_forward(g));
            OK(glia_graph_backward(g, y, seed, 0));
            if (!t) {
                memcpy(y1, glia_node_value(g, y), N * sizeof *y1);
                memcpy(d1, glia_node_grad(g, x), N * sizeof *d1);
            }
        }
        glia_set_num_threads(0);
        CHECK_MSG(!memcmp(y1, glia_node_value(g, y), N * sizeof *y1), "%s: y differs", act_names[k]);
        CHECK_MSG(!memcmp(d1, glia_node_grad(g, x), N * sizeof *d1), "%s: dx differs", act_names[k]);
        glia_graph_free(g);
    }
    free(seed);
    free(y1);
    free(d1);
}

/* A chain x -> tanh -> sigmoid -> elu -> leaky_relu -> linear -> relu -> tanh: the memory plan
 * reuses every intermediate buffer that no backward declares it reads (OPF_BWD_*), so a flag
 * that does not match what backward reads shows up as a wrong gradient here. */
TEST(act_chain_memory_plan) {
    const int kinds[] = {TANH, SIGMOID, ELU, LEAKY, LINEAR, RELU, TANH};
    glia_graph *g;
    int x, h;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 3, (int64_t[]){3, 4, 5}, &x));
    h = x;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) OK(add_act(g, kinds[i], NULL, h, &h));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    glia_memory_stats ms;
    OK(glia_graph_memory(g, &ms));
    CHECK(ms.arena < ms.arena_no_reuse); /* buffers are shared, so a wrong flag would matter */
    CHECK(ms.saved == 0);
    fill_uniform(glia_node_value(g, x), 60, -2, 2, 11);
    GRADCHECK(g, h, x, 1e-2); /* seen: 1.8e-3, rounding through 7 float ops */
    glia_graph_free(g);
}

/* x feeds two activations whose sum is the output: backward must add, not overwrite */
TEST(act_fanout_accumulates) {
    glia_graph *g;
    int x, a, b, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){4, 5}, &x));
    OK(glia_relu(g, "r", x, &a));
    OK(glia_sigmoid(g, "s", x, &b));
    OK(glia_add(g, "sum", a, b, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 20, -2, 2, 12);
    GRADCHECK(g, y, x, 2e-3);
    glia_graph_free(g);
}

/* shapes are kept, including a scalar, and follow a new batch size */
TEST(act_shape_and_batch) {
    glia_graph *g;
    int x, s, y, z;
    glia_shape sh;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){2, 3, 4, 5}, &x));
    OK(glia_input(g, "s", 0, NULL, &s));
    OK(glia_elu(g, "e", x, 0.5f, &y));
    OK(glia_tanh(g, "t", s, &z));
    OK(glia_node_shape(g, y, &sh));
    CHECK(sh.ndim == 4 && sh.dim[0] == 2 && sh.dim[1] == 3 && sh.dim[2] == 4 && sh.dim[3] == 5);
    OK(glia_node_shape(g, z, &sh));
    CHECK(sh.ndim == 0);
    glia_graph_free(g);

    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_leaky_relu(g, "l", x, 0.25f, &y));
    OK(glia_graph_set_batch(g, 5));
    OK(glia_node_shape(g, y, &sh));
    CHECK(sh.ndim == 2 && sh.dim[0] == 5 && sh.dim[1] == 3);
    OK(glia_graph_compile(g, 0));
    float *X = glia_node_value(g, x);
    for (int i = 0; i < 15; i++) X[i] = (float)(i - 7);
    OK(glia_graph_forward(g));
    const float *Y = glia_node_value(g, y);
    for (int i = 0; i < 15; i++) CHECK(Y[i] == (i < 7 ? 0.25f * (float)(i - 7) : (float)(i - 7)));
    glia_graph_free(g);
}

/* bad attributes fail with the node's name, and add no node */
TEST(act_attribute_errors) {
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    const float bad_alpha[] = {0.0f, -1.0f, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        CHECK(glia_elu(g, "elu1", x, bad_alpha[i], &y) == GLIA_EINVAL);
        CHECK_MSG(strstr(glia_last_error(), "elu1") && strstr(glia_last_error(), "alpha"), "%s",
                  glia_last_error());
    }
    const float bad_slope[] = {-0.1f, NAN, -INFINITY};
    for (int i = 0; i < 3; i++) {
        CHECK(glia_leaky_relu(g, "lrelu1", x, bad_slope[i], &y) == GLIA_EINVAL);
        CHECK_MSG(strstr(glia_last_error(), "lrelu1") && strstr(glia_last_error(), "slope"), "%s",
                  glia_last_error());
    }
    CHECK(glia_relu(g, "r", 7, &y) == GLIA_EINVAL); /* no node 7 */
    CHECK(glia_graph_num_nodes(g) == 1);
    OK(glia_leaky_relu(g, "lrelu0", x, 0.0f, &y)); /* slope 0 is relu */
    OK(glia_elu(g, "elu2", x, 1e-3f, &y));
    glia_graph_free(g);
}
