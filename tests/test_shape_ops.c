/* test_shape_ops.c: concat, slice, reshape/flatten: each against plain loops (forward and
 * backward), finite differences and PyTorch. */
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
    OK(glia_node_requires_grad(g, a, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, a), 18, -1, 1, 1);
    fill_uniform(glia_node_value(g, b), 36, -1, 1, 2);
    fill_uniform(glia_node_value(g, c), 54, -1, 1, 3);
    float seed[108];
    fill_uniform(seed, 108, -1, 1, 4);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    /* naive: output channels 0, 1..2, 3..5 of each sample are a's, b's, c's; each input's
     * gradient is its part of the seed */
    const int in[3] = {a, b, c}, ch[3] = {1, 2, 3}, first[3] = {0, 1, 3};
    const float *Y = glia_node_value(g, y);
    for (int k = 0; k < 3; k++) {
        const float *X = glia_node_value(g, in[k]), *DX = glia_node_grad(g, in[k]);
        for (int n = 0; n < 2; n++)
            for (int j = 0; j < ch[k] * 9; j++) {
                int yi = (n * 6 + first[k]) * 9 + j, xi = n * ch[k] * 9 + j;
                CHECK(Y[yi] == X[xi] && DX[xi] == seed[yi]);
            }
    }
    ref_checked(g, y);
    GRADCHECK(g, y, a, 1e-2);
    GRADCHECK(g, y, b, 1e-2);
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
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 30, -1, 1, 4);
    float seed[18];
    fill_uniform(seed, 18, -1, 1, 5);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    /* naive: y[n, c] = x[n, c + 1]; dx is the seed there, 0 in channels 0 and 4 */
    const float *X = glia_node_value(g, x), *Y = glia_node_value(g, y), *DX = glia_node_grad(g, x);
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 5; c++)
            for (int i = 0; i < 3; i++) {
                int xi = (n * 5 + c) * 3 + i, yi = (n * 3 + c - 1) * 3 + i;
                int in = c >= 1 && c < 4;
                CHECK(!in || Y[yi] == X[xi]);
                CHECK(DX[xi] == (in ? seed[yi] : 0.0f));
            }
    ref_checked(g, y);
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
    /* naive: the same values in the same order, and the gradient the seed's */
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[48];
    fill_uniform(glia_node_value(g, x), 48, -1, 1, 6);
    fill_uniform(seed, 48, -1, 1, 7);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    CHECK(!memcmp(glia_node_value(g, y), glia_node_value(g, x), sizeof seed));
    CHECK(!memcmp(glia_node_grad(g, x), seed, sizeof seed));
    ref_checked(g, y);
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

/* transpose: y = x.permute(1, 3, 0, 2) on [2, 3, 4, 5]: each element where the definition puts
 * it (naive index loops), the gradient the seed sent back, finite differences, PyTorch's values,
 * errors, and a permutation that moves the batch axis following glia_graph_set_batch */
TEST(shape_transpose) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y, bad;
    const int perm[4] = {1, 3, 0, 2};
    OK(glia_input(g, "x", 4, (int64_t[]){2, 3, 4, 5}, &x));
    OK(glia_transpose(g, "t", x, 4, perm, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 4 && s.dim[0] == 3 && s.dim[1] == 5 && s.dim[2] == 2 && s.dim[3] == 4);
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[120];
    fill_uniform(glia_node_value(g, x), 120, -1, 1, 8);
    fill_uniform(seed, 120, -1, 1, 9);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    const float *X = glia_node_value(g, x), *Y = glia_node_value(g, y), *DX = glia_node_grad(g, x);
    for (int a = 0; a < 2; a++) /* y[b, d, a, c] = x[a, b, c, d] */
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 5; d++) {
                    int xi = ((a * 3 + b) * 4 + c) * 5 + d, yi = ((b * 5 + d) * 2 + a) * 4 + c;
                    CHECK(Y[yi] == X[xi] && DX[xi] == seed[yi]);
                }
    ref_checked(g, y);
    GRADCHECK(g, y, x, 1e-2);
    GOLDEN_CHECK(g, "basic_transpose", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-6);
    CHECK(glia_transpose(g, "t3", x, 3, perm, &bad) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "t3") && strstr(glia_last_error(), "3 axes"));
    CHECK(glia_transpose(g, "tt", x, 4, (const int[]){0, 1, 1, 2}, &bad) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "not a permutation"));
    OK(glia_graph_set_batch(g, 6));
    OK(glia_node_shape(g, y, &s));
    CHECK(s.dim[2] == 6);
    glia_graph_free(g);
}
