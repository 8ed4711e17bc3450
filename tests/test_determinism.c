/* test_determinism.c: forward and backward give bit-identical results with 1 and 2 threads, and
 * the same seed gives the same dropout masks. */
#include "test.h"
#include <string.h>

static glia_status build(glia_graph *g, int *x, int *lab, int *loss, int *params, int *np) {
    glia_status s;
    int h, w1, b1, gm, bt, rm, rv, w2, b2;
    glia_conv2d_params cp = {.stride_h = 1, .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    glia_pool2d_params pp = {.kernel_h = 2, .kernel_w = 2};
#define S(c) if ((s = (c))) return s
    S(glia_input(g, "x", 4, (int64_t[]){8, 3, 12, 12}, x));
    S(glia_input(g, "label", 1, (int64_t[]){8}, lab));
    S(glia_param(g, "w1", 4, (int64_t[]){16, 3, 3, 3}, &w1));
    S(glia_param(g, "b1", 1, (int64_t[]){16}, &b1));
    S(glia_conv2d(g, "conv", *x, w1, b1, &cp, &h));
    S(glia_param(g, "gamma", 1, (int64_t[]){16}, &gm));
    S(glia_param(g, "beta", 1, (int64_t[]){16}, &bt));
    S(glia_buffer(g, "rm", 1, (int64_t[]){16}, &rm));
    S(glia_buffer(g, "rv", 1, (int64_t[]){16}, &rv));
    S(glia_batchnorm(g, "bn", h, gm, bt, rm, rv, 1e-5f, 0.1f, &h));
    S(glia_relu(g, "relu", h, &h));
    S(glia_maxpool2d(g, "pool", h, &pp, &h));
    S(glia_dropout(g, "drop", h, 0.3f, &h));
    S(glia_param(g, "w2", 2, (int64_t[]){10, 16 * 36}, &w2));
    S(glia_param(g, "b2", 1, (int64_t[]){10}, &b2));
    S(glia_dense(g, "fc", h, w2, b2, &h));
    S(glia_softmax_cross_entropy(g, "loss", h, *lab, loss));
#undef S
    int p[] = {w1, b1, gm, bt, w2, b2};
    memcpy(params, p, sizeof p);
    *np = 6;
    return GLIA_OK;
}

static int run(int threads, float *out, int64_t cap, int64_t *used) {
    glia_set_num_threads(threads);
    glia_graph *g;
    int x, lab, loss, params[6], np;
    if (glia_graph_new(&g)) return 0;
    int ok = 0;
    if (build(g, &x, &lab, &loss, params, &np)) goto done;
    glia_graph_set_training(g, 1);
    if (glia_graph_compile(g, GLIA_COMPILE_BACKWARD)) goto done;
    fill_uniform(glia_node_value(g, x), 8 * 3 * 144, -1, 1, 1);
    float labels[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    glia_node_set(g, lab, labels, 8);
    for (int k = 0; k < np; k++) {
        glia_shape s;
        glia_node_shape(g, params[k], &s);
        fill_uniform(glia_node_value(g, params[k]), glia_shape_numel(&s), -0.3f, 0.3f, 10 + k);
    }
    if (glia_graph_forward(g) || glia_graph_backward(g, loss, NULL, 0)) goto done;
    int64_t n = 0;
    out[n++] = glia_node_value(g, loss)[0];
    for (int k = 0; k < np; k++) {
        glia_shape s;
        glia_node_shape(g, params[k], &s);
        const float *gr = glia_node_grad(g, params[k]);
        for (int64_t i = 0; i < glia_shape_numel(&s) && n < cap; i++) out[n++] = gr[i];
    }
    *used = n;
    ok = 1;
done:
    glia_graph_free(g);
    return ok;
}

TEST(determinism_across_thread_counts) {
    static float a[20000], b[20000];
    int64_t na = 0, nb = 0;
    CHECK_MSG(run(1, a, 20000, &na), "%s", glia_last_error());
    CHECK_MSG(run(2, b, 20000, &nb), "%s", glia_last_error());
    glia_set_num_threads(0);
    CHECK(na == nb && na > 6000);
    CHECK_MSG(memcmp(a, b, (size_t)na * sizeof(float)) == 0, "results differ between 1 and 2 threads");
    CHECK(a[0] > 0);
}
