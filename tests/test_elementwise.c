/* test_elementwise.c: add/sub/mul with broadcasting, scale: gradients, a naive reference, PyTorch. */
#include "test.h"
#include <string.h>

static int build2(glia_graph **g, glia_status (*op)(glia_graph *, const char *, int, int, int *),
                  int na, const int64_t *da, int nb, const int64_t *db, int *a, int *b, int *y) {
    if (glia_graph_new(g)) return 0;
    if (glia_input(*g, "a", na, da, a) || glia_param(*g, "b", nb, db, b) ||
        op(*g, "op", *a, *b, y))
        return 0;
    return 1;
}

TEST(ew_gradcheck_broadcast) {
    glia_status (*ops[3])(glia_graph *, const char *, int, int, int *) = {glia_add, glia_sub, glia_mul};
    for (int k = 0; k < 3; k++) {
        glia_graph *g;
        int a, b, y;
        CHECK_MSG(build2(&g, ops[k], 4, (int64_t[]){2, 3, 2, 2}, 3, (int64_t[]){3, 1, 1}, &a, &b, &y),
                  "build: %s", glia_last_error());
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        fill_uniform(glia_node_value(g, a), 24, -1, 1, 10 + k);
        fill_uniform(glia_node_value(g, b), 3, -1, 1, 20 + k);
        GRADCHECK(g, y, a, 1e-2);
        GRADCHECK(g, y, b, 1e-2);
        glia_graph_free(g);
    }
}

/* naive loops over y [2, 3, 4] = a [2, 1, 4] (op) b [3, 1] (both sides broadcast), and
 * scale: forward, and each operand's gradient summed over the positions it was repeated to */
TEST(ew_matches_naive) {
    glia_status (*ops[3])(glia_graph *, const char *, int, int, int *) = {glia_add, glia_sub,
                                                                          glia_mul};
    for (int k = 0; k < 4; k++) {
        glia_graph *g;
        int a, b = -1, y;
        if (k < 3) {
            CHECK(build2(&g, ops[k], 3, (int64_t[]){2, 1, 4}, 2, (int64_t[]){3, 1}, &a, &b, &y));
        } else {
            OK(glia_graph_new(&g));
            OK(glia_input(g, "a", 3, (int64_t[]){2, 3, 4}, &a));
            OK(glia_scale(g, "op", a, -1.5f, &y));
        }
        OK(glia_node_requires_grad(g, a, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        float *A = glia_node_value(g, a), *B = b >= 0 ? glia_node_value(g, b) : NULL, seed[24];
        float ry[24], rda[24] = {0}, rdb[3] = {0};
        fill_uniform(A, k < 3 ? 8 : 24, -1, 1, 1 + k);
        if (B) fill_uniform(B, 3, -1, 1, 5 + k);
        fill_uniform(seed, 24, -1, 1, 9);
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, y, seed, 0));
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 4; i++) {
                    int j = (n * 3 + c) * 4 + i, ja = k < 3 ? n * 4 + i : j;
                    float u = A[ja], v = B ? B[c] : -1.5f, s = seed[j];
                    ry[j] = k == 0 ? u + v : k == 1 ? u - v : u * v;
                    rda[ja] += k == 0 || k == 1 ? s : s * v;
                    rdb[c] += k == 0 ? s : k == 1 ? -s : s * u;
                }
        CHECK_MSG(max_rel_diff(glia_node_value(g, y), ry, 24, 1e-3, NULL) == 0, "op %d: y", k);
        CHECK_MSG(max_rel_diff(glia_node_grad(g, a), rda, k < 3 ? 8 : 24, 1e-3, NULL) < 1e-6,
                  "op %d: da", k);
        if (B)
            CHECK_MSG(max_rel_diff(glia_node_grad(g, b), rdb, 3, 1e-3, NULL) < 1e-6, "op %d: db", k);
        ref_checked(g, y);
        glia_graph_free(g);
    }
}

/* the per-channel fast path (one operand [3, 1, 1] or [1, 3, 1, 1], on either side, against
 * [2, 3, 4, 5]; DiracNet's diag(a) x): forward and both gradients equal, bit for bit, naive loops
 * that sum in the order of the elements */
TEST(ew_per_channel_fast_path) {
    glia_status (*ops[3])(glia_graph *, const char *, int, int, int *) = {glia_add, glia_sub, glia_mul};
    enum { N = 2, C = 3, HW = 20, T = N * C * HW };
    for (int k = 0; k < 6; k++) {
        int left = k < 3, op = k % 3; /* left: the per-channel operand is a */
        glia_graph *g;
        int a, b, y;
        OK(glia_graph_new(&g));
        if (left) {
            OK(glia_param(g, "a", 3, (int64_t[]){C, 1, 1}, &a));
            OK(glia_param(g, "b", 4, (int64_t[]){N, C, 4, 5}, &b));
        } else {
            OK(glia_param(g, "a", 4, (int64_t[]){N, C, 4, 5}, &a));
            OK(glia_param(g, "b", 4, (int64_t[]){1, C, 1, 1}, &b));
        }
        OK(ops[op](g, "op", a, b, &y));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        float *A = glia_node_value(g, a), *B = glia_node_value(g, b), seed[T];
        fill_uniform(A, left ? C : T, -1, 1, 30 + k);
        fill_uniform(B, left ? T : C, -1, 1, 40 + k);
        fill_uniform(seed, T, -1, 1, 50 + k);
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, y, seed, 0));
        float ry[T], rda[T] = {0}, rdb[T] = {0};
        for (int i = 0; i < T; i++) {
            int c = i / HW % C, ia = left ? c : i, ib = left ? i : c;
            float u = A[ia], v = B[ib], s = seed[i];
            ry[i] = op == 0 ? u + v : op == 1 ? u - v : u * v;
            rda[ia] += op == 2 ? s * v : s;
            rdb[ib] += op == 0 ? s : op == 1 ? -s : s * u;
        }
        CHECK_MSG(!memcmp(glia_node_value(g, y), ry, sizeof ry), "case %d: y", k);
        CHECK_MSG(!memcmp(glia_node_grad(g, a), rda, (left ? C : T) * sizeof(float)), "case %d: da", k);
        CHECK_MSG(!memcmp(glia_node_grad(g, b), rdb, (left ? T : C) * sizeof(float)), "case %d: db", k);
        ref_checked(g, y);
        glia_graph_free(g);
    }
}

TEST(ew_golden_pytorch) {
    struct { const char *file; glia_status (*op)(glia_graph *, const char *, int, int, int *);
             int na; int64_t da[4]; int nb; int64_t db[4]; } cases[] = {
        {"basic_add_bias", glia_add, 4, {2, 3, 4, 5}, 3, {3, 1, 1}},
        {"basic_sub_bcast", glia_sub, 3, {2, 1, 4}, 2, {3, 1}},
        {"basic_mul_bcast", glia_mul, 3, {2, 3, 4}, 1, {4}},
        {"basic_residual", glia_add, 4, {2, 3, 4, 4}, 4, {2, 3, 4, 4}},
    };
    for (int k = 0; k < 4; k++) {
        glia_graph *g;
        int a, b, y;
        CHECK(build2(&g, cases[k].op, cases[k].na, cases[k].da, cases[k].nb, cases[k].db, &a, &b, &y));
        GOLDEN_CHECK(g, cases[k].file, y, 2, ((const char *[]){"a", "b"}), ((int[]){a, b}), 1e-5);
        glia_graph_free(g);
    }
    /* scale: the file holds alpha */
    golden *gd = golden_load("basic_scale");
    glia_shape xs;
    const float *alpha = golden_get(gd, "alpha", NULL);
    CHECK(gd && alpha && golden_get(gd, "x", &xs));
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", xs.ndim, xs.dim, &x));
    OK(glia_scale(g, "s", x, alpha[0], &y));
    golden_free(gd);
    GOLDEN_CHECK(g, "basic_scale", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-6);
    glia_graph_free(g);
}

TEST(ew_scale_and_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y, b, z;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_scale(g, "s", x, -2.5f, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float *X = glia_node_value(g, x);
    fill_uniform(X, 6, -1, 1, 9);
    OK(glia_graph_forward(g));
    for (int i = 0; i < 6; i++) CHECK(glia_node_value(g, y)[i] == -2.5f * X[i]);
    GRADCHECK(g, y, x, 1e-2);
    OK(glia_param(g, "b", 1, (int64_t[]){4}, &b));
    CHECK(glia_add(g, "bad_add", x, b, &z) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "bad_add") && strstr(glia_last_error(), "[2, 3]") &&
          strstr(glia_last_error(), "[4]"));
    glia_graph_free(g);
}
