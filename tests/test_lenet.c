/* test_lenet.c: a whole network against PyTorch: LeNet-5 forward (logits, loss) and backward
 * (the gradient of every parameter and of the input), from scripts/golden/gen_lenet.py. */
#include "test.h"
#include <string.h>

/* value i of tensor k: b * sin(1.7 i + k) in double, rounded to float (as gen_lenet.py) */
static void formula(float *v, int64_t n, int k, double b) {
    for (int64_t i = 0; i < n; i++) v[i] = (float)(b * sin(1.7 * (double)i + k));
}

TEST(lenet5_matches_pytorch) {
    static const char *names[5] = {"conv1", "conv2", "fc1", "fc2", "fc3"};
    static const int64_t wshape[5][4] = {{6, 1, 5, 5}, {16, 6, 5, 5}, {120, 400}, {84, 120}, {10, 84}};
    static const int wnd[5] = {4, 4, 2, 2, 2};
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, lab, w[5], b[5], h, logits, loss;
    char nm[64];
    OK(glia_input(g, "x", 4, (int64_t[]){4, 1, 28, 28}, &x));
    OK(glia_input(g, "labels", 1, (int64_t[]){4}, &lab));
    for (int k = 0; k < 5; k++) {
        snprintf(nm, sizeof nm, "%s.weight", names[k]);
        OK(glia_param(g, nm, wnd[k], wshape[k], &w[k]));
        snprintf(nm, sizeof nm, "%s.bias", names[k]);
        OK(glia_param(g, nm, 1, (int64_t[]){wshape[k][0]}, &b[k]));
    }
    glia_conv2d_params pad2 = {.pad_top = 2, .pad_bottom = 2, .pad_left = 2, .pad_right = 2}, nopad = {0};
    glia_pool2d_params pool = {.kernel_h = 2, .kernel_w = 2};
    OK(glia_conv2d(g, "conv1", x, w[0], b[0], &pad2, &h));
    OK(glia_relu(g, NULL, h, &h));
    OK(glia_maxpool2d(g, NULL, h, &pool, &h));
    OK(glia_conv2d(g, "conv2", h, w[1], b[1], &nopad, &h));
    OK(glia_relu(g, NULL, h, &h));
    OK(glia_maxpool2d(g, NULL, h, &pool, &h));
    OK(glia_flatten(g, NULL, h, &h));
    OK(glia_dense(g, "fc1", h, w[2], b[2], &h));
    OK(glia_relu(g, NULL, h, &h));
    OK(glia_dense(g, "fc2", h, w[3], b[3], &h));
    OK(glia_relu(g, NULL, h, &h));
    OK(glia_dense(g, "fc3", h, w[4], b[4], &logits));
    OK(glia_softmax_cross_entropy(g, "loss", logits, lab, &loss));
    OK(glia_node_retain(g, logits));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));

    int64_t total = 0;
    for (int k = 0; k < 5; k++) {
        glia_shape s;
        OK(glia_node_shape(g, w[k], &s));
        int64_t n = glia_shape_numel(&s);
        double bound = 1.0 / sqrt((double)(n / s.dim[0]));
        formula(glia_node_value(g, w[k]), n, 2 * k, bound);
        formula(glia_node_value(g, b[k]), s.dim[0], 2 * k + 1, bound);
        total += n + s.dim[0];
    }
    CHECK(total == 61706);
    float *X = glia_node_value(g, x);
    for (int i = 0; i < 4 * 784; i++) X[i] = (float)(0.5 + 0.5 * sin(0.91 * i));

    golden *gd = golden_load("lenet5");
    CHECK(gd);
    glia_shape s;
    const float *labels = golden_get(gd, "labels", &s);
    const float *want_logits = golden_get(gd, "logits", NULL), *want_loss = golden_get(gd, "loss", NULL);
    CHECK(labels && want_logits && want_loss);
    OK(glia_node_set(g, lab, labels, 4));
    OK(glia_graph_forward(g));
    int64_t worst;
    double d = max_rel_diff(glia_node_value(g, logits), want_logits, 40, 1e-3, &worst);
    CHECK_MSG(d < 1e-4, "logits differ from PyTorch by %.3g at %lld", d, (long long)worst);
    CHECK_NEAR(glia_node_value(g, loss)[0], want_loss[0], 1e-5 * fabs(want_loss[0]));
    OK(glia_graph_backward(g, loss, NULL, 0));
    for (int k = 0; k < 10; k++) {
        int node = k < 5 ? w[k] : b[k - 5];
        snprintf(nm, sizeof nm, "d%s", glia_node_name(g, node));
        const float *want = golden_get(gd, nm, &s);
        CHECK(want);
        d = max_rel_diff(glia_node_grad(g, node), want, glia_shape_numel(&s), 1e-3, &worst);
        CHECK_MSG(d < 1e-4, "%s differs from PyTorch by %.3g at %lld", nm, d, (long long)worst);
    }
    const float *want_dx = golden_get(gd, "dx", NULL);
    CHECK(want_dx);
    d = max_rel_diff(glia_node_grad(g, x), want_dx, 4 * 784, 1e-3, &worst);
    CHECK_MSG(d < 1e-4, "dx differs from PyTorch by %.3g at %lld", d, (long long)worst);
    golden_free(gd);
    glia_graph_free(g);
}
