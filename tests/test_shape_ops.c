/* test_shape_ops.c: concat, slice, reshape/flatten. */
#include "test.h"
#include <string.h>

TEST(shape_concat_channels) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int a, b, c, y;
    OK(glia_input(g, "a", 4, (int64_t[]){2, 1, 3, 3}, &a));
    OK(glia_param(g, "b", 4, (int64_t[]){2, 2, 3, 3}, &b));
    OK(glia_param(g, "c", 4, (int64_t[]){2, 3, 3, 3}, &c));
    OK(glia_concat(g, "cat", 3, (int[]){a, b, c}, 1, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 4 && s.dim[1] == 6 && s.dim[2] == 3);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, a), 18, -1, 1, 1);
    fill_uniform(glia_node_value(g, b), 36, -1, 1, 2);
    fill_uniform(glia_node_value(g, c), 54, -1, 1, 3);
    OK(glia_graph_forward(g));
    /* naive: output channel 1..2 of sample 1 is b's sample 1 */
    const float *Y = glia_node_value(g, y), *B = glia_node_value(g, b);
    for (int i = 0; i < 18; i++) CHECK(Y[(1 * 6 + 1) * 9 + i] == B[18 + i]);
    GRADCHECK(g, y, a, 1e-2);
    GRADCHECK(g, y, c, 1e-2);
    GOLDEN_CHECK(g, "basic_concat", y, 3, ((const char *[]){"a", "b", "c"}), ((int[]){a, b, c}), 1e-6);
    int bad;
    int d;
    OK(glia_input(g, "d", 4, (int64_t[]){2, 1, 4, 3}, &d));
    CHECK(glia_concat(g, "cat2", 2, (int[]){a, d}, 1, &bad) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "cat2") && strstr(glia_last_error(), "[2, 1, 4, 3]"));
    glia_graph_free(g);
}

TEST(shape_slice) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y, bad;
    OK(glia_input(g, "x", 3, (int64_t[]){2, 5, 3}, &x));
    OK(glia_slice(g, "sl", x, 1, 1, 4, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 30, -1, 1, 4);
    OK(glia_graph_forward(g));
    const float *X = glia_node_value(g, x), *Y = glia_node_value(g, y);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 3; i++) CHECK(Y[(n * 3 + c) * 3 + i] == X[(n * 5 + c + 1) * 3 + i]);
    GRADCHECK(g, y, x, 1e-2);
    GOLDEN_CHECK(g, "basic_slice", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-6);
    CHECK(glia_slice(g, "sl2", x, 1, 3, 9, &bad) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "sl2"));
    OK(glia_slice(g, "neg", x, 2, -2, 3, &bad)); /* Python-style negative start */
    glia_shape s;
    OK(glia_node_shape(g, bad, &s));
    CHECK(s.dim[2] == 2);
    glia_graph_free(g);
}

TEST(shape_reshape_flatten) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y, f, bad;
    OK(glia_input(g, "x", 4, (int64_t[]){2, 4, 3, 2}, &x));
    OK(glia_reshape(g, "r", x, 2, (int64_t[]){3, -1}, &y));
    OK(glia_flatten(g, "f", x, &f));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 3 && s.dim[0] == 2 && s.dim[1] == 3 && s.dim[2] == 8);
    OK(glia_node_shape(g, f, &s));
    CHECK(s.ndim == 2 && s.dim[1] == 24);
    GOLDEN_CHECK(g, "basic_reshape", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-6);
    GRADCHECK(g, y, x, 1e-2);
    CHECK(glia_reshape(g, "r5", x, 1, (int64_t[]){5}, &bad) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "r5") && strstr(glia_last_error(), "[2, 4, 3, 2]"));
    /* batch changes carry through reshape */
    OK(glia_graph_set_batch(g, 5));
    OK(glia_node_shape(g, y, &s));
    CHECK(s.dim[0] == 5 && s.dim[2] == 8);
    glia_graph_free(g);
}
