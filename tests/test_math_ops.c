/* test_math_ops.c: sqrt, div and the batched matmul (what ONNX models need besides: a layer
 * norm's sqrt(var + eps) and (x - mean) / it, attention's Q K^T): each against naive loops
 * written from the definition, finite differences, and PyTorch's values (scripts/golden/
 * gen_basic.py). */
#include "test.h"
#include <math.h>
#include <string.h>

/* y = sqrt(x) on [3, 4, 5], x in [0.1, 3]: y, and dx = dy / (2 sqrt x) */
TEST(math_sqrt) {
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 3, (int64_t[]){3, 4, 5}, &x));
    OK(glia_sqrt(g, "s", x, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[60];
    fill_uniform(glia_node_value(g, x), 60, 0.1f, 3, 30);
    fill_uniform(seed, 60, -1, 1, 31);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    const float *X = glia_node_value(g, x), *Y = glia_node_value(g, y), *DX = glia_node_grad(g, x);
    for (int i = 0; i < 60; i++) {
        CHECK(fabs(Y[i] - sqrt(X[i])) <= 1e-6 * sqrt(X[i]));
        CHECK(fabs(DX[i] - seed[i] / (2 * sqrt(X[i]))) <= 1e-5 * (fabs(seed[i] / (2 * sqrt(X[i]))) + 1e-3));
    }
    ref_checked(g, y);
    GRADCHECK(g, y, x, 1e-2);
    GOLDEN_CHECK(g, "basic_sqrt", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-5);
    glia_graph_free(g);
}

/* y = ln(x) on [3, 4, 5], x in [0.05, 4]: y, and dx = dy / x (ONNX Log: Silero VAD's log spectrum) */
TEST(math_log) {
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 3, (int64_t[]){3, 4, 5}, &x));
    OK(glia_log(g, "l", x, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[60];
    fill_uniform(glia_node_value(g, x), 60, 0.05f, 4, 32);
    fill_uniform(seed, 60, -1, 1, 33);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    const float *X = glia_node_value(g, x), *Y = glia_node_value(g, y), *DX = glia_node_grad(g, x);
    for (int i = 0; i < 60; i++) {
        CHECK(fabs(Y[i] - log(X[i])) <= 1e-6 * (fabs(log(X[i])) + 1e-2));
        CHECK(fabs(DX[i] - seed[i] / X[i]) <= 1e-5 * (fabs(seed[i] / X[i]) + 1e-3));
    }
    ref_checked(g, y);
    GRADCHECK(g, y, x, 1e-2);
    GOLDEN_CHECK(g, "basic_log", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-5);
    glia_graph_free(g);
}

/* y = a / b, a [2, 3, 4], b [3, 1] in [0.5, 2] (broadcast): y, da = dy / b, db = -sum dy a / b^2 */
TEST(math_div) {
    glia_graph *g;
    int a, b, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "a", 3, (int64_t[]){2, 3, 4}, &a));
    OK(glia_param(g, "b", 2, (int64_t[]){3, 1}, &b));
    OK(glia_div(g, "d", a, b, &y));
    OK(glia_node_requires_grad(g, a, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[24];
    fill_uniform(glia_node_value(g, a), 24, -1, 1, 32);
    fill_uniform(glia_node_value(g, b), 3, 0.5f, 2, 33);
    fill_uniform(seed, 24, -1, 1, 34);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    const float *A = glia_node_value(g, a), *B = glia_node_value(g, b), *Y = glia_node_value(g, y);
    const float *DA = glia_node_grad(g, a), *DB = glia_node_grad(g, b);
    double db[3] = {0};
    for (int n = 0; n < 2; n++)
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < 4; k++) {
                int i = (n * 3 + c) * 4 + k;
                CHECK(fabs(Y[i] - (double)A[i] / B[c]) <= 1e-6 * (fabs(Y[i]) + 1e-6));
                CHECK(fabs(DA[i] - (double)seed[i] / B[c]) <= 1e-6 * (fabs(DA[i]) + 1e-6));
                db[c] -= (double)seed[i] * A[i] / ((double)B[c] * B[c]);
            }
    for (int c = 0; c < 3; c++) CHECK(fabs(DB[c] - db[c]) <= 1e-5 * (fabs(db[c]) + 1e-3));
    ref_checked(g, y);
    GRADCHECK(g, y, a, 1e-2);
    GRADCHECK(g, y, b, 1e-2);
    GOLDEN_CHECK(g, "basic_div", y, 2, ((const char *[]){"a", "b"}), ((int[]){a, b}), 1e-5);
    glia_graph_free(g);
}

/* y = a b, a [2, 3, 4, 5], b [2, 3, 5, 2]: each product summed in double, and the gradients
 * da = dy b^T, db = a^T dy; a shape error names the node */
TEST(math_matmul) {
    glia_graph *g;
    int a, b, y, bad;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "a", 4, (int64_t[]){2, 3, 4, 5}, &a));
    OK(glia_param(g, "b", 4, (int64_t[]){2, 3, 5, 2}, &b));
    OK(glia_matmul(g, "mm", a, b, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 4 && s.dim[2] == 4 && s.dim[3] == 2);
    OK(glia_node_requires_grad(g, a, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[48];
    fill_uniform(glia_node_value(g, a), 120, -1, 1, 35);
    fill_uniform(glia_node_value(g, b), 60, -1, 1, 36);
    fill_uniform(seed, 48, -1, 1, 37);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    const float *A = glia_node_value(g, a), *B = glia_node_value(g, b), *Y = glia_node_value(g, y);
    const float *DA = glia_node_grad(g, a), *DB = glia_node_grad(g, b);
    for (int m = 0; m < 6; m++) /* the 6 matrices */
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < 5; k++) {
                for (int j = 0; j < 2 && k == 0; j++) {
                    double v = 0;
                    for (int t = 0; t < 5; t++) v += (double)A[(m * 4 + i) * 5 + t] * B[(m * 5 + t) * 2 + j];
                    CHECK(fabs(Y[(m * 4 + i) * 2 + j] - v) <= 1e-5);
                }
                double da = 0;
                for (int j = 0; j < 2; j++) da += (double)seed[(m * 4 + i) * 2 + j] * B[(m * 5 + k) * 2 + j];
                CHECK(fabs(DA[(m * 4 + i) * 5 + k] - da) <= 1e-5);
            }
    for (int m = 0; m < 6; m++)
        for (int k = 0; k < 5; k++)
            for (int j = 0; j < 2; j++) {
                double db = 0;
                for (int i = 0; i < 4; i++) db += (double)A[(m * 4 + i) * 5 + k] * seed[(m * 4 + i) * 2 + j];
                CHECK(fabs(DB[(m * 5 + k) * 2 + j] - db) <= 1e-5);
            }
    ref_checked(g, y);
    GRADCHECK(g, y, a, 1e-2);
    GRADCHECK(g, y, b, 1e-2);
    GOLDEN_CHECK(g, "basic_matmul", y, 2, ((const char *[]){"a", "b"}), ((int[]){a, b}), 1e-5);
    CHECK(glia_matmul(g, "mm2", a, a, &bad) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "mm2") != NULL);
    glia_graph_free(g);
}
