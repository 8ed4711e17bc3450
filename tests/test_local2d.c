/* test_local2d.c: the locally connected layer: finite differences, the reference device's loops,
 * PyTorch's unfold + einsum, shape errors, and the model file's [local] layer. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t x[4];
    int out;
    glia_local2d_params p;
    int bias;
} local_case;

/* builds x, w, b? -> local2d -> y; returns 0 on error */
static int build(glia_graph **g, const local_case *c, int *x, int *w, int *b, int *y) {
    int64_t PH = c->x[2] + 2 * c->p.pad_h, PW = c->x[3] + 2 * c->p.pad_w;
    int sh = c->p.stride_h ? c->p.stride_h : 1, sw = c->p.stride_w ? c->p.stride_w : 1;
    int64_t OH = (PH - c->p.kernel_h) / sh + 1, OW = (PW - c->p.kernel_w) / sw + 1;
    *b = -1;
    return !glia_graph_new(g) && !glia_input(*g, "x", 4, c->x, x) &&
           !glia_param(*g, "w", 3, (int64_t[]){OH * OW, c->out, c->x[1] * c->p.kernel_h * c->p.kernel_w}, w) &&
           (!c->bias || !glia_param(*g, "b", 3, (int64_t[]){c->out, OH, OW}, b)) &&
           !glia_local2d(*g, "lc", *x, *w, *b, &c->p, y);
}

static const local_case cases[] = {
    {{2, 3, 5, 5}, 4, {3, 3, 1, 1, 0, 0}, 1},
    {{2, 2, 6, 7}, 3, {2, 3, 2, 2, 1, 1}, 0},
    {{3, 1, 4, 4}, 2, {1, 1, 1, 1, 0, 0}, 1},
};

/* finite differences with a step of 0.05: local2d is linear in each of x, w and b, so central
 * differences have no truncation error, and a larger step shrinks float32 rounding noise (as
 * test_conv.c's GRADCHECK_LINEAR) */
static int grad_linear(glia_graph *g, int y, int wrt, size_t i, int line) {
    double err = 0;
    int64_t n = 0;
    if (test_gradcheck(g, y, wrt, 0.05f, &err, &n) || n == 0 || !(err <= 1e-3)) {
        test_fail(__FILE__, line, "case %zu: gradcheck of %s: error %.3g (%lld elements) %s", i,
                  glia_node_name(g, wrt), err, (long long)n, glia_last_error());
        return 0;
    }
    return 1;
}

TEST(local2d_gradcheck) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        glia_graph *g;
        int x, w, b, y;
        CHECK_MSG(build(&g, &cases[i], &x, &w, &b, &y), "case %zu: %s", i, glia_last_error());
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        glia_shape s;
        int nodes[3] = {x, w, b};
        for (int k = 0; k < 3; k++) {
            if (nodes[k] < 0) continue;
            OK(glia_node_shape(g, nodes[k], &s));
            fill_uniform(glia_node_value(g, nodes[k]), glia_shape_numel(&s), -1, 1, 100 + 10 * i + k);
        }
        if (!grad_linear(g, y, x, i, __LINE__) || !grad_linear(g, y, w, i, __LINE__) ||
            (b >= 0 && !grad_linear(g, y, b, i, __LINE__)))
            return;
        glia_graph_free(g);
    }
}

TEST(local2d_matches_reference) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        glia_graph *g, *rg;
        int x, w, b, y, rx, rw, rb, ry;
        CHECK(build(&g, &cases[i], &x, &w, &b, &y) && build(&rg, &cases[i], &rx, &rw, &rb, &ry));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_node_requires_grad(rg, rx, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        int nodes[3] = {x, w, b}, rnodes[3] = {rx, rw, rb}, k_n = b >= 0 ? 3 : 2;
        int64_t sz[3];
        glia_shape s, ys;
        float *vals[3], *grads[3];
        for (int k = 0; k < k_n; k++) {
            OK(glia_node_shape(g, nodes[k], &s));
            sz[k] = glia_shape_numel(&s);
            vals[k] = glia_node_value(g, nodes[k]);
            fill_uniform(vals[k], sz[k], -1, 1, 200 + 10 * i + k);
            grads[k] = malloc((size_t)sz[k] * sizeof(float));
        }
        OK(glia_node_shape(g, y, &ys));
        int64_t ny = glia_shape_numel(&ys);
        float *seed = malloc((size_t)ny * sizeof *seed), *ref_y = malloc((size_t)ny * sizeof *ref_y);
        fill_uniform(seed, ny, -1, 1, 300 + i);
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, y, seed, 0));
        int ran = reference_run(rg, ry, seed, k_n, rnodes, (const float *const *)vals, ref_y, grads);
        double ey = ran ? max_rel_diff(glia_node_value(g, y), ref_y, ny, 1e-3, NULL) : 1, eg = 0;
        for (int k = 0; ran && k < k_n; k++) {
            double e = max_rel_diff(glia_node_grad(g, nodes[k]), grads[k], sz[k], 1e-3, NULL);
            eg = e > eg ? e : eg;
        }
        if (ran && ey < 1e-5 && eg < 1e-5) ref_checked(g, y);
        for (int k = 0; k < k_n; k++) free(grads[k]);
        free(seed);
        free(ref_y);
        glia_graph_free(g);
        glia_graph_free(rg);
        CHECK_MSG(ran && ey < 1e-5 && eg < 1e-5, "case %zu: y %g, gradients %g from the reference", i, ey, eg);
    }
}

TEST(local2d_golden_pytorch) {
    glia_graph *g;
    int x, w, b, y;
    CHECK(build(&g, &cases[0], &x, &w, &b, &y));
    GOLDEN_CHECK(g, "local_basic", y, 3, ((const char *[]){"x", "w", "b"}), ((int[]){x, w, b}), 1e-5);
    glia_graph_free(g);
    CHECK(build(&g, &cases[1], &x, &w, &b, &y));
    GOLDEN_CHECK(g, "local_stride_pad", y, 2, ((const char *[]){"x", "w"}), ((int[]){x, w}), 1e-5);
    glia_graph_free(g);
}

TEST(local2d_shape_errors) {
    glia_graph *g;
    int x, w, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){1, 2, 5, 5}, &x));
    OK(glia_param(g, "w", 3, (int64_t[]){8, 3, 18}, &w)); /* 9 positions for a 3x3 kernel */
    CHECK(glia_local2d(g, "lc", x, w, -1, &(glia_local2d_params){3, 3, 1, 1, 0, 0}, &y) == GLIA_ESHAPE);
    CHECK_MSG(strstr(glia_last_error(), "lc") && strstr(glia_last_error(), "[positions 9, out, C*kh*kw 18]"),
              "%s", glia_last_error());
    CHECK(glia_local2d(g, "lc2", x, w, -1, &(glia_local2d_params){6, 6, 1, 1, 0, 0}, &y) == GLIA_ESHAPE);
    CHECK(glia_local2d(g, "lc3", x, w, -1, NULL, &y) == GLIA_EINVAL);
    glia_graph_free(g);
}

/* [local]: DeepFace's unshared layers in a model file; parameter count L O K + O L */
TEST(model_local_layer) {
    glia_model *m;
    OK(glia_model_parse("[net]\ninput = 2, 6, 6\n[local]\nname = l4\nfilters = 3\nsize = 3\nactivation = relu\n"
                        "[dense]\nunits = 2\n",
                        "local.cfg", 2, 1, &m));
    glia_layer_info li;
    OK(glia_model_layer(m, 0, &li));
    CHECK(li.shape.dim[1] == 3 && li.shape.dim[2] == 4 && li.shape.dim[3] == 4);
    CHECK_MSG(li.trainable_params == 16 * 3 * 18 + 3 * 16, "%lld", (long long)li.trainable_params);
    CHECK(li.macs == 16 * 3 * 18);
    glia_graph *g = glia_model_graph(m);
    fill_uniform(glia_node_value(g, glia_model_input(m)), 144, 0, 1, 9);
    OK(glia_graph_forward(g));
    glia_model_free(m);
}
