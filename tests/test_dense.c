/* test_dense.c: dense layer against the reference device, finite differences, and PyTorch. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

TEST(dense_gradcheck) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, b, y;
    OK(glia_input(g, "x", 2, (int64_t[]){3, 5}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){4, 5}, &w));
    OK(glia_param(g, "b", 1, (int64_t[]){4}, &b));
    OK(glia_dense(g, "fc", x, w, b, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 15, -1, 1, 1);
    fill_uniform(glia_node_value(g, w), 20, -1, 1, 2);
    fill_uniform(glia_node_value(g, b), 4, -1, 1, 3);
    GRADCHECK(g, y, x, 1e-2);
    GRADCHECK(g, y, w, 1e-2);
    GRADCHECK(g, y, b, 1e-2);
    glia_graph_free(g);
}

/* the reference device's plain loops (y[n,o] = b[o] + sum_k x[n,k] w[o,k]; dx, dw, db for
 * L = sum(seed * y)) */
TEST(dense_matches_reference) {
    enum { N = 3, K = 7, O = 5 };
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, b, y;
    OK(glia_input(g, "x", 2, (int64_t[]){N, K}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){O, K}, &w));
    OK(glia_param(g, "b", 1, (int64_t[]){O}, &b));
    OK(glia_dense(g, "fc", x, w, b, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float *X = glia_node_value(g, x), *W = glia_node_value(g, w), *B = glia_node_value(g, b);
    float seed[N * O];
    fill_uniform(X, N * K, -1, 1, 4);
    fill_uniform(W, O * K, -1, 1, 5);
    fill_uniform(B, O, -1, 1, 6);
    fill_uniform(seed, N * O, -1, 1, 7);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    float ry[N * O], rdx[N * K], rdw[O * K], rdb[O];
    glia_graph *rg; /* the reference device on a twin graph */
    int rx, rw, rb, ryn;
    OK(glia_graph_new(&rg));
    OK(glia_input(rg, "x", 2, (int64_t[]){N, K}, &rx));
    OK(glia_param(rg, "w", 2, (int64_t[]){O, K}, &rw));
    OK(glia_param(rg, "b", 1, (int64_t[]){O}, &rb));
    OK(glia_dense(rg, "fc", rx, rw, rb, &ryn));
    OK(glia_node_requires_grad(rg, rx, 1));
    int ran = reference_run(rg, ryn, seed, 3, (int[]){rx, rw, rb}, (const float *const[]){X, W, B}, ry,
                            (float *const[]){rdx, rdw, rdb});
    glia_graph_free(rg);
    CHECK(ran);
    CHECK(max_rel_diff(glia_node_value(g, y), ry, N * O, 1e-3, NULL) < 1e-5);
    CHECK(max_rel_diff(glia_node_grad(g, x), rdx, N * K, 1e-3, NULL) < 1e-5);
    CHECK(max_rel_diff(glia_node_grad(g, w), rdw, O * K, 1e-3, NULL) < 1e-5);
    CHECK(max_rel_diff(glia_node_grad(g, b), rdb, O, 1e-3, NULL) < 1e-5);
    ref_checked(g, y);
    glia_graph_free(g);
}

TEST(dense_golden_pytorch) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, b, y;
    OK(glia_input(g, "x", 4, (int64_t[]){3, 2, 2, 2}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){5, 8}, &w));
    OK(glia_param(g, "b", 1, (int64_t[]){5}, &b));
    OK(glia_dense(g, "fc", x, w, b, &y));
    GOLDEN_CHECK(g, "basic_dense", y, 3, ((const char *[]){"x", "w", "b"}), ((int[]){x, w, b}), 1e-5);
    glia_graph_free(g);
}

TEST(dense_shape_error_names_node) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, y;
    OK(glia_input(g, "x", 2, (int64_t[]){3, 5}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){4, 6}, &w));
    CHECK(glia_dense(g, "fc1", x, w, -1, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "fc1") && strstr(glia_last_error(), "[4, 6]") &&
          strstr(glia_last_error(), "[3, 5]"));
    CHECK(glia_graph_num_nodes(g) == 2); /* the failed op was not added */
    glia_graph_free(g);
}
