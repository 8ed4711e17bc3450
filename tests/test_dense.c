/* test_dense.c: dense layer against a naive loop, finite differences, and PyTorch. */
#include "test.h"

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
