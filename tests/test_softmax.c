/* test_softmax.c: softmax and log_softmax along axis 1: finite differences, a double-precision
 * reference built from the Jacobian, PyTorch's values, large inputs, thread counts, rank errors. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

typedef glia_status (*sm_builder)(glia_graph *, const char *, int, int *);
static const sm_builder builders[2] = {glia_softmax, glia_log_softmax};
static const char *const sm_names[2] = {"softmax", "log_softmax"};

/* x [N, C, S...] as [N, C, S]: y and, for L = sum(seed * y), dx_i = sum_j seed_j dy_j/dx_i with
 * softmax: dp_j/dx_i = p_j (delta_ij - p_i), log_softmax: dlog p_j/dx_i = delta_ij - p_i */
static void naive(int log_out, const float *x, const float *seed, int64_t N, int64_t C, int64_t S,
                  float *y, float *dx) {
    double *p = malloc((size_t)C * sizeof *p);
    for (int64_t n = 0; n < N; n++)
        for (int64_t s = 0; s < S; s++) {
#define AT(a, c) a[(n * C + (c)) * S + s]
            double m = AT(x, 0), sum = 0;
            for (int64_t c = 1; c < C; c++) m = AT(x, c) > m ? AT(x, c) : m;
            for (int64_t c = 0; c < C; c++) sum += exp(AT(x, c) - m);
            for (int64_t c = 0; c < C; c++) {
                p[c] = exp(AT(x, c) - m) / sum;
                AT(y, c) = (float)(log_out ? AT(x, c) - m - log(sum) : p[c]);
            }
            for (int64_t i = 0; i < C; i++) {
                double d = 0;
                for (int64_t j = 0; j < C; j++) {
                    double jac = log_out ? (i == j) - p[i] : p[j] * ((i == j) - p[i]);
                    d += AT(seed, j) * jac;
                }
                AT(dx, i) = (float)d;
            }
#undef AT
        }
    free(p);
}

TEST(softmax_gradcheck) {
    const int64_t shapes[2][4] = {{3, 4, 5}, {2, 6, 3, 3}};
    for (int op = 0; op < 2; op++)
        for (int sh = 0; sh < 2; sh++) {
            glia_graph *g;
            int x, y, nd = sh ? 4 : 3;
            OK(glia_graph_new(&g));
            OK(glia_input(g, "x", nd, shapes[sh], &x));
            OK(builders[op](g, sm_names[op], x, &y));
            OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
            fill_uniform(glia_node_value(g, x), sh ? 108 : 60, -3, 3, 20 + 2 * op + sh);
            GRADCHECK(g, y, x, 2e-2); /* seen: 1.3e-2 (float rounding of y over eps = 1e-3) */
            glia_graph_free(g);
        }
}

/* [N,C] rows, a [2,6,3,3] map, and [2,3,10,13] (130 positions: more than one block of 64, the
 * last one partial) against the naive reference; values in [-20, 20] */
TEST(softmax_matches_naive) {
    const struct { int nd; int64_t d[4]; } cases[] = {
        {2, {5, 10}}, {4, {2, 6, 3, 3}}, {4, {2, 3, 10, 13}}, {3, {3, 1, 7}}};
    for (int op = 0; op < 2; op++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            glia_graph *g;
            int x, y;
            glia_shape sh = {cases[c].nd, {0}};
            for (int i = 0; i < sh.ndim; i++) sh.dim[i] = cases[c].d[i];
            int64_t n = glia_shape_numel(&sh), S = n / (sh.dim[0] * sh.dim[1]);
            OK(glia_graph_new(&g));
            OK(glia_input(g, "x", sh.ndim, sh.dim, &x));
            OK(builders[op](g, sm_names[op], x, &y));
            OK(glia_node_requires_grad(g, x, 1));
            OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
            float *X = glia_node_value(g, x), *seed = malloc((size_t)n * sizeof *seed),
                  *ry = malloc((size_t)n * sizeof *ry), *rdx = malloc((size_t)n * sizeof *rdx);
            CHECK(seed && ry && rdx);
            fill_uniform(X, n, -20, 20, 30 + c);
            fill_uniform(seed, n, -1, 1, 40 + c);
            OK(glia_graph_forward(g));
            OK(glia_graph_backward(g, y, seed, 0));
            naive(op, X, seed, sh.dim[0], sh.dim[1], S, ry, rdx);
            int64_t w;
            double ey = max_rel_diff(glia_node_value(g, y), ry, n, 1e-3, &w);
            double ed = max_rel_diff(glia_node_grad(g, x), rdx, n, 1e-3, NULL);
            free(seed);
            free(ry);
            free(rdx);
            /* dx = y (dy - sum dy y) cancels where one p is near 1: an absolute error of a
             * float ulp of 1 or two (PyTorch's formula too), up to 1e-4 relative to the floor */
            CHECK_MSG(ey < 1e-5 && ed < 3e-4, "%s case %zu: y error %.3g (at %lld), dx error %.3g",
                      sm_names[op], c, ey, (long long)w, ed);
            ref_checked(g, y);
            glia_graph_free(g);
        }
}

TEST(softmax_golden_pytorch) {
    const char *files[4] = {"act_softmax", "act_softmax_2d", "act_log_softmax", "act_log_softmax_2d"};
    for (int i = 0; i < 4; i++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        if (i % 2) OK(glia_input(g, "x", 2, (int64_t[]){4, 7}, &x));
        else OK(glia_input(g, "x", 4, (int64_t[]){2, 5, 2, 3}, &x));
        OK(builders[i / 2](g, NULL, x, &y));
        GOLDEN_CHECK(g, files[i], y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-5);
        glia_graph_free(g);
    }
}

/* inputs whose exponentials overflow float (e^1000) or underflow it (e^-1000): the max is
 * subtracted first, so the results are finite and exact */
TEST(softmax_large_inputs_stable) {
    const float xs[3][3] = {{1000, 1001, 1002}, {-1000, -999, -998}, {0, 1e4f, -1e4f}};
    const double p[3] = {0.09003057317038046, 0.24472847105479764, 0.6652409557748219};
    for (int op = 0; op < 2; op++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 2, (int64_t[]){3, 3}, &x));
        OK(builders[op](g, NULL, x, &y));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        OK(glia_node_set(g, x, &xs[0][0], 9));
        OK(glia_graph_forward(g));
        const float *Y = glia_node_value(g, y);
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++) {
                double want = op ? log(p[c]) : p[c];
                CHECK_NEAR(Y[r * 3 + c], want, 1e-6);
            }
        if (op) {
            CHECK_NEAR(Y[6], -1e4, 1e-2);
            CHECK(Y[7] == 0);
            CHECK_NEAR(Y[8], -2e4, 1e-2);
        } else {
            CHECK(Y[6] == 0 && Y[7] == 1 && Y[8] == 0);
        }
        float seed[9] = {1, 0, 0, 0, 0, 1, 0, 1, 0};
        OK(glia_graph_backward(g, y, seed, 0));
        const float *dx = glia_node_grad(g, x);
        for (int i = 0; i < 9; i++) CHECK_MSG(isfinite(dx[i]), "dx[%d] = %g", i, (double)dx[i]);
        /* softmax: dp0/dx = p0 (e0 - p); log_softmax: e0 - p */
        for (int c = 0; c < 3; c++) {
            double want = op ? (c == 0) - p[c] : p[0] * ((c == 0) - p[c]);
            CHECK_NEAR(dx[c], want, 1e-6);
        }
        glia_graph_free(g);
    }
}

/* blocks of positions run in parallel; results do not depend on the number of threads */
TEST(softmax_threads_bitexact) {
    enum { N = 4, C = 10, H = 30, W = 30, NUM = N * C * H * W };
    float *seed = malloc(NUM * sizeof *seed), *y1 = malloc(NUM * sizeof *y1), *d1 = malloc(NUM * sizeof *d1);
    CHECK(seed && y1 && d1);
    fill_uniform(seed, NUM, -1, 1, 50);
    for (int op = 0; op < 2; op++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 4, (int64_t[]){N, C, H, W}, &x));
        OK(builders[op](g, NULL, x, &y));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        fill_uniform(glia_node_value(g, x), NUM, -10, 10, 51 + op);
        for (int t = 0; t < 2; t++) {
            glia_set_num_threads(t ? 3 : 1);
            OK(glia_graph_forward(g));
            OK(glia_graph_backward(g, y, seed, 0));
            if (!t) {
                memcpy(y1, glia_node_value(g, y), NUM * sizeof *y1);
                memcpy(d1, glia_node_grad(g, x), NUM * sizeof *d1);
            }
        }
        glia_set_num_threads(0);
        CHECK(!memcmp(y1, glia_node_value(g, y), NUM * sizeof *y1));
        CHECK(!memcmp(d1, glia_node_grad(g, x), NUM * sizeof *d1));
        glia_graph_free(g);
    }
    free(seed);
    free(y1);
    free(d1);
}

/* axis 1 does not exist in a rank-1 (or scalar) input */
TEST(softmax_rank1_errors) {
    for (int op = 0; op < 2; op++) {
        glia_graph *g;
        int x, s, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 1, (int64_t[]){5}, &x));
        OK(glia_input(g, "s", 0, NULL, &s));
        CHECK(builders[op](g, "probs", x, &y) == GLIA_ESHAPE);
        CHECK_MSG(strstr(glia_last_error(), "probs") && strstr(glia_last_error(), "[5]") &&
                  strstr(glia_last_error(), sm_names[op]), "%s", glia_last_error());
        CHECK(builders[op](g, "probs", s, &y) == GLIA_ESHAPE);
        CHECK(glia_graph_num_nodes(g) == 2);
        glia_graph_free(g);
    }
}
