/* test_upsample.c: conv_transpose2d and resize (decoders, segmentation heads, ONNX's
 * ConvTranspose, Resize and Upsample) against finite differences, the reference device's plain
 * loops (src/device/ref_conv.c, forward and every gradient), PyTorch's values
 * (scripts/golden/gen_upsample.py) and their shape errors. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

/* Both ops are linear in each input, so central differences are exact at any step: a step of
 * 0.05 keeps float32 rounding of the forwards far below the tolerance. */
static int gradcheck_linear(glia_graph *g, int y, int wrt, const char *what, int line) {
    double err = 0;
    int64_t n = 0;
    if (test_gradcheck(g, y, wrt, 0.05f, &err, &n)) {
        test_fail(__FILE__, line, "%s: gradcheck of %s: %s", what, glia_node_name(g, wrt), glia_last_error());
        return 0;
    }
    if (n == 0 || !(err <= 1e-3)) {
        test_fail(__FILE__, line, "%s: gradcheck of %s: relative error %.3g (%lld elements)", what,
                  glia_node_name(g, wrt), err, (long long)n);
        return 0;
    }
    return 1;
}
#define GRADCHECK_LINEAR(g, y, wrt, what) \
    do { if (!gradcheck_linear(g, y, wrt, what, __LINE__)) return; } while (0)

/* the cpu device's y and gradients against the reference device's on the same values: nodes
 * [0] the input, then parameters; returns 0 (the test failed) on a difference */
static int matches_reference(glia_graph *g, int y, int n, const int *nodes, const char *what) {
    glia_shape ys, s;
    if (glia_graph_compile(g, GLIA_COMPILE_BACKWARD) || glia_node_shape(g, y, &ys)) {
        test_fail(__FILE__, __LINE__, "%s: %s", what, glia_last_error());
        return 0;
    }
    int64_t ny = glia_shape_numel(&ys), sizes[4];
    float *vals[4], *grads[4], *refg[4], *seed = malloc((size_t)ny * sizeof *seed);
    float *yv = malloc((size_t)ny * sizeof *yv), *ry = malloc((size_t)ny * sizeof *ry);
    fill_uniform(seed, ny, -1, 1, 99);
    for (int k = 0; k < n; k++) {
        glia_node_shape(g, nodes[k], &s);
        sizes[k] = glia_shape_numel(&s);
        vals[k] = malloc((size_t)sizes[k] * sizeof(float));
        grads[k] = malloc((size_t)sizes[k] * sizeof(float));
        refg[k] = malloc((size_t)sizes[k] * sizeof(float));
        fill_uniform(vals[k], sizes[k], -1, 1, 31 + (uint64_t)k);
    }
    int ok = 1;
    for (int k = 0; k < n && ok; k++) ok = !glia_node_write(g, nodes[k], vals[k], sizes[k]);
    ok = ok && !glia_graph_forward(g) && !glia_node_read(g, y, yv, ny) && !glia_graph_backward(g, y, seed, 0);
    for (int k = 0; k < n && ok; k++) ok = !glia_node_read_grad(g, nodes[k], grads[k], sizes[k]);
    if (!ok) test_fail(__FILE__, __LINE__, "%s: %s", what, glia_last_error());
    ok = ok && reference_run(g, y, seed, n, nodes, (const float *const *)vals, ry, refg);
    int64_t worst;
    double e = ok ? max_rel_diff(yv, ry, ny, 1.0, &worst) : 0;
    for (int k = 0; k < n && ok; k++) {
        double ek = max_rel_diff(grads[k], refg[k], sizes[k], 1.0, &worst);
        e = ek > e ? ek : e;
    }
    if (ok && !(e < 1e-5)) {
        test_fail(__FILE__, __LINE__, "%s: differs from the reference device by %.3g", what, e);
        ok = 0;
    }
    if (ok) ref_checked(g, y);
    for (int k = 0; k < n; k++) free(vals[k]), free(grads[k]), free(refg[k]);
    free(seed), free(yv), free(ry);
    return ok;
}

/* ---------------------------------------------------------------- conv_transpose2d */
typedef struct {
    const char *what;
    int N, C, H, W, O, kh, kw;
    glia_conv_transpose2d_params p;
    int bias;
} deconv_case;

static const deconv_case DECONV[] = {
    {"3x3, stride 1", 2, 3, 4, 5, 4, 3, 3, {{0}, 0, 0}, 1},
    {"2x2, stride 2 (PaddleOCR's head)", 2, 4, 3, 3, 2, 2, 2, {{.stride_h = 2, .stride_w = 2}, 0, 0}, 1},
    {"stride (2,3), padding (1,0), output padding (1,2)", 1, 2, 4, 3, 3, 3, 2,
     {{.stride_h = 2, .stride_w = 3, .pad_top = 1, .pad_bottom = 1}, 1, 2}, 1},
    {"groups 2, dilation (2,1), asymmetric padding, no bias", 3, 4, 3, 4, 6, 2, 3,
     {{.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 0, .pad_left = 2, .pad_right = 1,
       .dilation_h = 2, .groups = 2}, 0, 1}, 0},
    {"depthwise, stride 2, padding 1", 2, 3, 5, 4, 3, 3, 3,
     {{.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1,
       .groups = 3}, 1, 1}, 1},
};
#define N_DECONV ((int)(sizeof DECONV / sizeof DECONV[0]))

static glia_status deconv_build(const deconv_case *c, glia_graph **g, int *x, int *w, int *b, int *y) {
    glia_status s;
    int G = c->p.conv.groups ? c->p.conv.groups : 1;
    if ((s = glia_graph_new(g))) return s;
    *b = -1;
    if ((s = glia_input(*g, "x", 4, (int64_t[]){c->N, c->C, c->H, c->W}, x))) return s;
    if ((s = glia_param(*g, "w", 4, (int64_t[]){c->C, c->O / G, c->kh, c->kw}, w))) return s;
    if (c->bias && (s = glia_param(*g, "b", 1, (int64_t[]){c->O}, b))) return s;
    return glia_conv_transpose2d(*g, "deconv", *x, *w, *b, &c->p, y);
}

TEST(deconv_gradcheck) {
    for (int k = 0; k < N_DECONV && !test_failed_flag; k++) {
        const deconv_case *c = &DECONV[k];
        glia_graph *g;
        int x, w, b, y;
        OK(deconv_build(c, &g, &x, &w, &b, &y));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        glia_shape s;
        glia_node_shape(g, w, &s);
        fill_uniform(glia_node_value(g, x), (int64_t)c->N * c->C * c->H * c->W, -1, 1, 21);
        fill_uniform(glia_node_value(g, w), glia_shape_numel(&s), -1, 1, 22);
        if (c->bias) fill_uniform(glia_node_value(g, b), c->O, -1, 1, 23);
        GRADCHECK_LINEAR(g, y, x, c->what);
        GRADCHECK_LINEAR(g, y, w, c->what);
        if (c->bias) GRADCHECK_LINEAR(g, y, b, c->what);
        glia_graph_free(g);
    }
}

/* the output size (H - 1) s - pt - pb + d (k - 1) + 1 + out_pad, and the values and every
 * gradient against the reference device's gathers */
TEST(deconv_matches_reference) {
    for (int k = 0; k < N_DECONV && !test_failed_flag; k++) {
        const deconv_case *c = &DECONV[k];
        const glia_conv2d_params *q = &c->p.conv;
        glia_graph *g;
        int x, w, b, y;
        OK(deconv_build(c, &g, &x, &w, &b, &y));
        glia_shape s;
        OK(glia_node_shape(g, y, &s));
        int sh = q->stride_h ? q->stride_h : 1, sw = q->stride_w ? q->stride_w : 1;
        int dh = q->dilation_h ? q->dilation_h : 1, dw = q->dilation_w ? q->dilation_w : 1;
        CHECK_MSG(s.dim[0] == c->N && s.dim[1] == c->O &&
                  s.dim[2] == (c->H - 1) * sh - q->pad_top - q->pad_bottom + dh * (c->kh - 1) + 1 + c->p.out_pad_h &&
                  s.dim[3] == (c->W - 1) * sw - q->pad_left - q->pad_right + dw * (c->kw - 1) + 1 + c->p.out_pad_w,
                  "%s: output shape", c->what);
        OK(glia_node_requires_grad(g, x, 1));
        int nodes[3] = {x, w, b};
        int ok = matches_reference(g, y, c->bias ? 3 : 2, nodes, c->what);
        glia_graph_free(g);
        if (!ok) return;
    }
}

TEST(deconv_golden_pytorch) {
    static const char *const files[] = {"deconv_basic", "deconv_stride_pad", "deconv_groups_dil",
                                        "deconv_asym_nobias", "deconv_2x2s2"};
    for (int k = 0; k < 5 && !test_failed_flag; k++) {
        golden *gd = golden_load(files[k]);
        if (!gd) return;
        glia_shape xs, ws, as;
        const float *a = golden_get(gd, "attr", &as);
        int good = a && golden_get(gd, "x", &xs) && golden_get(gd, "w", &ws) && as.dim[0] == 12;
        glia_conv_transpose2d_params p = {{0}, 0, 0};
        int has_b = 0;
        if (good) {
            p = (glia_conv_transpose2d_params){{(int)a[0], (int)a[1], (int)a[2], (int)a[3], (int)a[4],
                                                (int)a[5], (int)a[6], (int)a[7], (int)a[8]},
                                               (int)a[9], (int)a[10]};
            has_b = a[11] != 0;
        }
        golden_free(gd);
        CHECK_MSG(good, "%s: attr, x or w is missing", files[k]);
        glia_graph *g;
        int x, w, b = -1, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 4, xs.dim, &x));
        OK(glia_param(g, "w", 4, ws.dim, &w));
        if (has_b) OK(glia_param(g, "b", 1, (int64_t[]){ws.dim[1] * p.conv.groups}, &b));
        OK(glia_conv_transpose2d(g, "deconv", x, w, b, &p, &y));
        GOLDEN_CHECK(g, files[k], y, has_b ? 3 : 2, ((const char *[]){"x", "w", "b"}), ((int[]){x, w, b}), 1e-5);
        glia_graph_free(g);
    }
}

TEST(deconv_shape_errors) {
    glia_graph *g;
    int x, w, w2, bias, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){1, 4, 3, 3}, &x));
    OK(glia_param(g, "w", 4, (int64_t[]){3, 2, 2, 2}, &w));
    OK(glia_param(g, "w2", 4, (int64_t[]){4, 2, 2, 2}, &w2));
    OK(glia_param(g, "bias", 1, (int64_t[]){3}, &bias));
    CHECK(glia_conv_transpose2d(g, "d1", x, w, -1, NULL, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "d1") && strstr(glia_last_error(), "needs [4, out/groups"));
    CHECK(glia_conv_transpose2d(g, "d2", x, w2, bias, NULL, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "bias 'bias'") && strstr(glia_last_error(), "expected [2]"));
    glia_conv_transpose2d_params p = {{.pad_top = 2, .pad_bottom = 2}, 0, 0};
    CHECK(glia_conv_transpose2d(g, "d3", x, w2, -1, &p, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "leaves an output of 0x4"));
    p = (glia_conv_transpose2d_params){{.groups = 3}, 0, 0};
    CHECK(glia_conv_transpose2d(g, "d4", x, w2, -1, &p, &y) == GLIA_ESHAPE);
    glia_graph_free(g);
}

/* ---------------------------------------------------------------- resize */
typedef struct {
    const char *what;
    int N, C, H, W;
    glia_resize_params p;
} resize_case;

static const resize_case RESIZE[] = {
    {"nearest x2, asymmetric, floor", 2, 3, 3, 4, {6, 8, GLIA_RESIZE_NEAREST, GLIA_RESIZE_ASYMMETRIC, GLIA_RESIZE_FLOOR, 2, 2, 0, 0}},
    {"nearest 5x7 -> 3x10, half_pixel, round half down", 1, 2, 5, 7,
     {3, 10, GLIA_RESIZE_NEAREST, GLIA_RESIZE_HALF_PIXEL, GLIA_RESIZE_ROUND_PREFER_FLOOR, 0, 0, 0, 0}},
    {"nearest 4x5 -> 7x2, align_corners, round half up", 1, 2, 4, 5,
     {7, 2, GLIA_RESIZE_NEAREST, GLIA_RESIZE_ALIGN_CORNERS, GLIA_RESIZE_ROUND_PREFER_CEIL, 0, 0, 0, 0}},
    {"nearest 4x6 -> 9x3, tf_half_pixel_for_nearest, ceil", 1, 1, 4, 6,
     {9, 3, GLIA_RESIZE_NEAREST, GLIA_RESIZE_TF_HALF_PIXEL_FOR_NEAREST, GLIA_RESIZE_CEIL, 0, 0, 0, 0}},
    {"nearest simple (opset 10), scales 2 and 0.5", 1, 2, 3, 6,
     {6, 3, GLIA_RESIZE_NEAREST, GLIA_RESIZE_ASYMMETRIC, GLIA_RESIZE_SIMPLE, 2, 0.5f, 0, 0}},
    {"linear 4x5 -> 7x3, half_pixel", 2, 2, 4, 5,
     {7, 3, GLIA_RESIZE_LINEAR, GLIA_RESIZE_HALF_PIXEL, 0, 0, 0, 0, 0}},
    {"linear 4x5 -> 1x9, pytorch_half_pixel", 1, 2, 4, 5,
     {1, 9, GLIA_RESIZE_LINEAR, GLIA_RESIZE_PYTORCH_HALF_PIXEL, 0, 0, 0, 0, 0}},
    {"linear align_corners, asymmetric scale 1.7", 1, 2, 4, 5,
     {6, 8, GLIA_RESIZE_LINEAR, GLIA_RESIZE_ASYMMETRIC, 0, 1.7f, 1.7f, 0, 0}},
    {"cubic 5x6 -> 8x4, half_pixel, a = -0.75", 1, 2, 5, 6,
     {8, 4, GLIA_RESIZE_CUBIC, GLIA_RESIZE_HALF_PIXEL, 0, 0, 0, 0, 0}},
    {"cubic 4x4 -> 3x7, align_corners, a = -0.5, exclude_outside", 2, 1, 4, 4,
     {3, 7, GLIA_RESIZE_CUBIC, GLIA_RESIZE_ALIGN_CORNERS, 0, 0, 0, -0.5f, 1}},
};
#define N_RESIZE ((int)(sizeof RESIZE / sizeof RESIZE[0]))

TEST(resize_gradcheck) {
    for (int k = 0; k < N_RESIZE && !test_failed_flag; k++) {
        const resize_case *c = &RESIZE[k];
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 4, (int64_t[]){c->N, c->C, c->H, c->W}, &x));
        OK(glia_resize(g, "up", x, &c->p, &y));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        fill_uniform(glia_node_value(g, x), (int64_t)c->N * c->C * c->H * c->W, -1, 1, 41);
        GRADCHECK_LINEAR(g, y, x, c->what);
        glia_graph_free(g);
    }
}

/* the reference device's weights come from the definitions (a hat for linear, Keys' kernel
 * summed over clamped taps for cubic), not from resize.c's tap tables; a by-hand check of
 * nearest x2 (y[2i + a][2j + b] = x[i][j]) and of the linear weights at one point besides */
TEST(resize_matches_reference) {
    for (int k = 0; k < N_RESIZE && !test_failed_flag; k++) {
        const resize_case *c = &RESIZE[k];
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 4, (int64_t[]){c->N, c->C, c->H, c->W}, &x));
        OK(glia_resize(g, "up", x, &c->p, &y));
        OK(glia_node_requires_grad(g, x, 1));
        int ok = matches_reference(g, y, 1, &x, c->what);
        glia_graph_free(g);
        if (!ok) return;
    }
    glia_graph *g;
    int x, y, z;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){1, 1, 2, 3}, &x));
    OK(glia_resize(g, "up", x, &RESIZE[0].p, &y)); /* 2x3 -> 6x8 reads x only up to row 2, col 3 */
    glia_resize_params lin = {3, 5, GLIA_RESIZE_LINEAR, GLIA_RESIZE_ALIGN_CORNERS, 0, 0, 0, 0, 0};
    OK(glia_resize(g, "lin", x, &lin, &z));
    OK(glia_graph_compile(g, 0));
    float *X = glia_node_value(g, x);
    for (int i = 0; i < 6; i++) X[i] = (float)(i * i);
    OK(glia_graph_forward(g));
    const float *Y = glia_node_value(g, y), *Z = glia_node_value(g, z);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 8; j++) {
            int si = i / 2 < 1 ? i / 2 : 1, sj = j / 2 < 2 ? j / 2 : 2; /* floor(o / 2), clamped */
            CHECK(Y[i * 8 + j] == X[si * 3 + sj]);
        }
    /* align_corners 2x3 -> 3x5: row 1 is halfway between the rows, column 1 halfway (u = 0.5) */
    CHECK_NEAR(Z[1 * 5 + 1], 0.25 * (X[0] + X[1] + X[3] + X[4]), 1e-6);
    glia_graph_free(g);
}

TEST(resize_golden_pytorch) {
    static const char *const files[] = {"resize_nearest_x2", "resize_nearest_size", "resize_nearest_exact",
                                        "resize_bilinear", "resize_bilinear_ac", "resize_bilinear_scale",
                                        "resize_bicubic", "resize_bicubic_ac"};
    for (int k = 0; k < 8 && !test_failed_flag; k++) {
        golden *gd = golden_load(files[k]);
        if (!gd) return;
        glia_shape xs, as;
        const float *a = golden_get(gd, "attr", &as);
        int good = a && golden_get(gd, "x", &xs) && as.dim[0] == 9;
        glia_resize_params p = {0};
        if (good)
            p = (glia_resize_params){(int)a[0], (int)a[1], (glia_resize_mode)a[2], (glia_resize_coord)a[3],
                                     (glia_resize_nearest)a[4], a[6], a[7], a[8], (int)a[5]};
        golden_free(gd);
        CHECK_MSG(good, "%s: attr or x is missing", files[k]);
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 4, xs.dim, &x));
        OK(glia_resize(g, "up", x, &p, &y));
        GOLDEN_CHECK(g, files[k], y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-5);
        glia_graph_free(g);
    }
}

TEST(resize_errors) {
    glia_graph *g;
    int x, x3, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){1, 2, 3, 3}, &x));
    OK(glia_input(g, "x3", 3, (int64_t[]){1, 3, 3}, &x3));
    glia_resize_params p = {6, 6, GLIA_RESIZE_LINEAR, 0, 0, 0, 0, 0, 0};
    CHECK(glia_resize(g, "r1", x3, &p, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "r1") && strstr(glia_last_error(), "[N, C, H, W]"));
    p.out_h = 0;
    CHECK(glia_resize(g, "r2", x, &p, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "out_h"));
    p.out_h = 6, p.mode = (glia_resize_mode)7;
    CHECK(glia_resize(g, "r3", x, &p, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "mode"));
    CHECK(glia_resize(g, "r4", x, NULL, &y) == GLIA_EINVAL);
    glia_graph_free(g);
}
