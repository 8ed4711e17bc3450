/* test_binary.c: binary-weight and XNOR networks: binarize (finite differences, the
 * straight-through estimator by its definition, the reference device, PyTorch and NumPy), the
 * XNOR / popcount kernels against plain integer loops on odd shapes (every kernel this CPU has),
 * conv2d and dense on binarized operands against the reference device's float loops. */
#include "test.h"
#include "core/internal.h"
#include "ops/binary.h"
#include "io/f16.h"
#include "io/packed.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* uniform values with |x| >= 0.05: a finite-difference step never flips a sign */
static void fill_away_from_zero(float *x, int64_t n, uint64_t seed) {
    fill_uniform(x, n, -2, 2, seed);
    for (int64_t i = 0; i < n; i++)
        if (fabsf(x[i]) < 0.05f) x[i] = x[i] < 0 ? x[i] - 0.05f : x[i] + 0.05f;
}

/* binarize on x of shape d: value and gradient against the definitions, in double:
 *   y = s sign(x), dx = s dy 1{|x| <= clip} + (scaled) sign(x_j) / m sum_i dy_i sign(x_i) */
static int by_definition(int nd, const int64_t *d, int scaled, float clip, uint64_t rs,
                         const char *file, int line) {
    glia_graph *g = NULL;
    int x, y, ok = 0;
    float *seed = NULL;
    if (glia_graph_new(&g) || glia_input(g, "x", nd, d, &x) ||
        glia_binarize(g, "bin", x, scaled, clip, &y) || glia_node_requires_grad(g, x, 1) ||
        glia_graph_compile(g, GLIA_COMPILE_BACKWARD)) {
        test_fail(file, line, "build: %s", glia_last_error());
        goto done;
    }
    glia_shape sh;
    glia_node_shape(g, x, &sh);
    int64_t n = glia_shape_numel(&sh), G = d[0], m = n / G;
    float *X = glia_node_value(g, x);
    fill_uniform(X, n, -2, 2, rs); /* inside and outside the window |x| <= clip */
    seed = malloc((size_t)n * sizeof *seed);
    fill_uniform(seed, n, -1, 1, rs + 1);
    if (glia_graph_forward(g) || glia_graph_backward(g, y, seed, 0)) {
        test_fail(file, line, "run: %s", glia_last_error());
        goto done;
    }
    const float *Y = glia_node_value(g, y), *dX = glia_node_grad(g, x);
    for (int64_t gi = 0; gi < G; gi++) {
        double s = 0, t = 0;
        for (int64_t i = 0; i < m; i++) {
            s += fabs(X[gi * m + i]);
            t += seed[gi * m + i] * (X[gi * m + i] < 0 ? -1.0 : 1.0);
        }
        s = scaled ? s / m : 1.0;
        t /= m;
        for (int64_t i = 0; i < m; i++) {
            int64_t k = gi * m + i;
            double sg = X[k] < 0 ? -1.0 : 1.0;
            double want_y = s * sg, want_dx = (fabs(X[k]) <= clip ? s * seed[k] : 0.0) +
                                              (scaled ? sg * t : 0.0);
            if (fabs(Y[k] - want_y) > 1e-6 * (1 + fabs(want_y)) ||
                fabs(dX[k] - want_dx) > 1e-5 * (1 + fabs(want_dx))) {
                test_fail(file, line, "element %lld (x = %g): y %g dx %g, by definition %g %g",
                          (long long)k, (double)X[k], (double)Y[k], (double)dX[k], want_y, want_dx);
                goto done;
            }
        }
    }
    ok = 1;
done:
    free(seed);
    glia_graph_free(g);
    return ok;
}
#define BY_DEFINITION(nd, d, scaled, clip, rs)                                                    \
    do { if (!by_definition(nd, d, scaled, clip, rs, __FILE__, __LINE__)) return; } while (0)

/* With clip = 0 the backward is the exact derivative of y = s sign(x) (through s only): finite
 * differences check it; with clip > 0 the straight-through term is added, checked against its
 * definition (no finite difference sees it: sign is flat). */
TEST(binarize_gradcheck) {
    const struct { int nd; int64_t d[4]; } cases[] = {{4, {4, 3, 3, 3}}, {2, {3, 10}}, {4, {2, 2, 3, 3}}};
    for (int c = 0; c < 3; c++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", cases[c].nd, cases[c].d, &x));
        OK(glia_binarize(g, "bin", x, 1, 0.0f, &y));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        glia_shape sh;
        OK(glia_node_shape(g, x, &sh));
        fill_away_from_zero(glia_node_value(g, x), glia_shape_numel(&sh), 30 + c);
        GRADCHECK(g, y, x, 1e-3);
        glia_graph_free(g);
    }
    BY_DEFINITION(4, ((int64_t[]){4, 3, 3, 3}), 1, 1.0f, 40);
    BY_DEFINITION(2, ((int64_t[]){3, 10}), 1, 0.5f, 42);
    BY_DEFINITION(2, ((int64_t[]){3, 10}), 0, 1.0f, 44);   /* sign alone: the hard-tanh STE */
    BY_DEFINITION(4, ((int64_t[]){64, 16, 8, 8}), 1, 1.0f, 46); /* the parallel loop */
}

/* the cpu kernels against the reference device's loops: binarize alone, then conv2d and dense
 * whose operands are binarize nodes, which the cpu runs on packed bits (XNOR and popcount) and
 * the reference device in floats; the gradients flow back through the binarize nodes */
static int xnor_vs_reference(int conv, const int64_t *xd, const int64_t *wd,
                             const glia_conv2d_params *p, int bias, int relu, uint64_t rs,
                             const char *file, int line) {
    glia_graph *g = NULL;
    int x, w, b = -1, xb, wb, y, ok = 0;
    int xnd = conv ? 4 : 2;
    float *buf = NULL;
    if (glia_graph_new(&g) || glia_input(g, "x", xnd, xd, &x) ||
        glia_param(g, "w", conv ? 4 : 2, wd, &w) ||
        (bias && glia_param(g, "b", 1, wd, &b)) || glia_binarize(g, "xb", x, 1, 1.0f, &xb) ||
        glia_binarize(g, "wb", w, 1, 1.0f, &wb) ||
        (conv ? glia_conv2d(g, "conv", xb, wb, b, p, &y) : glia_dense(g, "fc", xb, wb, b, &y)) ||
        (relu && glia_relu(g, "relu", y, &y)) || glia_node_requires_grad(g, x, 1) ||
        glia_graph_compile(g, GLIA_COMPILE_BACKWARD)) {
        test_fail(file, line, "build: %s", glia_last_error());
        goto done;
    }
    xnor_geom q;
    int conv_node = relu ? g->nodes[y].in[0] : y;
    if (!glia__xnor_node(g, &g->nodes[conv_node], &q)) {
        test_fail(file, line, "the node does not run on bits");
        goto done;
    }
    glia_shape sx, sw, sy;
    glia_node_shape(g, x, &sx);
    glia_node_shape(g, w, &sw);
    glia_node_shape(g, y, &sy);
    int64_t nx = glia_shape_numel(&sx), nw = glia_shape_numel(&sw), ny = glia_shape_numel(&sy);
    int64_t nb = bias ? wd[0] : 0;
    buf = malloc(sizeof(float) * (size_t)(2 * nx + 2 * nw + 2 * nb + 3 * ny + 3));
    float *X = buf, *W = X + nx, *B = W + nw, *seed = B + nb, *cy = seed + ny, *ry = cy + ny,
          *rdx = ry + ny, *rdw = rdx + nx, *rdb = rdw + nw;
    fill_uniform(X, nx, -2, 2, rs);
    fill_uniform(W, nw, -1, 1, rs + 1);
    fill_uniform(B, nb, -1, 1, rs + 2);
    fill_uniform(seed, ny, -1, 1, rs + 3);
    memcpy(glia_node_value(g, x), X, sizeof(float) * (size_t)nx);
    memcpy(glia_node_value(g, w), W, sizeof(float) * (size_t)nw);
    if (bias) memcpy(glia_node_value(g, b), B, sizeof(float) * (size_t)nb);
    if (glia_graph_forward(g) || glia_graph_backward(g, y, seed, 0)) {
        test_fail(file, line, "run: %s", glia_last_error());
        goto done;
    }
    memcpy(cy, glia_node_value(g, y), sizeof(float) * (size_t)ny);
    float *cdx = malloc(sizeof(float) * (size_t)(nx + nw + nb + 1));
    memcpy(cdx, glia_node_grad(g, x), sizeof(float) * (size_t)nx);
    memcpy(cdx + nx, glia_node_grad(g, w), sizeof(float) * (size_t)nw);
    if (bias) memcpy(cdx + nx + nw, glia_node_grad(g, b), sizeof(float) * (size_t)nb);
    int ran = reference_run(g, y, seed, bias ? 3 : 2, (int[]){x, w, b},
                            (const float *const[]){X, W, B}, ry,
                            (float *const[]){rdx, rdw, rdb});
    if (ran) {
        double ey = max_rel_diff(cy, ry, ny, 1e-3, NULL), ex = max_rel_diff(cdx, rdx, nx, 1e-3, NULL),
               ew = max_rel_diff(cdx + nx, rdw, nw, 1e-3, NULL),
               eb = bias ? max_rel_diff(cdx + nx + nw, rdb, nb, 1e-3, NULL) : 0;
        if (ey > 1e-4 || ex > 1e-3 || ew > 1e-3 || eb > 1e-3)
            test_fail(file, line, "%s on bits differs from the reference device: y %g dx %g dw %g "
                      "db %g", conv ? "conv2d" : "dense", ey, ex, ew, eb);
        else {
            ref_checked(g, y);
            ok = 1;
        }
    }
    free(cdx);
done:
    free(buf);
    glia_graph_free(g);
    return ok;
}
#define XNOR_VS_REF(conv, xd, wd, p, bias, relu, rs)                                               \
    do { if (!xnor_vs_reference(conv, xd, wd, p, bias, relu, rs, __FILE__, __LINE__)) return; } while (0)

TEST(binarize_matches_reference) {
    const glia_conv2d_params pad1 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1},
                             s2 = {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 1,
                                   .pad_left = 2, .pad_right = 2},
                             none = {0};
    XNOR_VS_REF(1, ((int64_t[]){2, 5, 7, 6}), ((int64_t[]){3, 5, 3, 3}), &pad1, 1, 0, 100);
    XNOR_VS_REF(1, ((int64_t[]){2, 70, 6, 5}), ((int64_t[]){9, 70, 3, 3}), &s2, 0, 1, 102);
    XNOR_VS_REF(1, ((int64_t[]){3, 64, 4, 4}), ((int64_t[]){64, 64, 3, 3}), &pad1, 1, 1, 104);
    XNOR_VS_REF(1, ((int64_t[]){1, 3, 6, 6}), ((int64_t[]){4, 3, 1, 1}), &none, 1, 0, 106);
    XNOR_VS_REF(0, ((int64_t[]){4, 130}), ((int64_t[]){10, 130}), NULL, 1, 0, 108);
    XNOR_VS_REF(0, ((int64_t[]){3, 64}), ((int64_t[]){5, 64}), NULL, 0, 1, 110);
}

/* PyTorch (autograd: s through abs and mean, sign through a straight-through function) and
 * NumPy's scale per slice, np.abs(x).mean over the slice */
static int golden_case(const char *file, int64_t nd, const int64_t *d, int scaled, float clip) {
    glia_graph *g;
    int x, y;
    if (glia_graph_new(&g) || glia_input(g, "x", (int)nd, d, &x) ||
        glia_binarize(g, NULL, x, scaled, clip, &y)) {
        test_fail(__FILE__, __LINE__, "%s", glia_last_error());
        return 0;
    }
    int ok = golden_check(g, file, y, 1, (const char *[]){"x"}, (int[]){x}, 1e-5);
    if (ok) { /* |y| of each slice is the scale NumPy computed */
        golden *gd = golden_load(file);
        glia_shape sa;
        const float *alpha = gd ? golden_get(gd, "alpha", &sa) : NULL;
        const float *Y = glia_node_value(g, y);
        int64_t m = 1;
        for (int i = 1; i < nd; i++) m *= d[i];
        for (int64_t gi = 0; ok && alpha && gi < d[0]; gi++) {
            double want = scaled ? alpha[gi] : 1.0;
            if (fabs(fabsf(Y[gi * m]) - want) > 1e-6 * want) {
                test_fail(__FILE__, __LINE__, "%s: scale of slice %lld is %g, NumPy %g", file,
                          (long long)gi, (double)fabsf(Y[gi * m]), want);
                ok = 0;
            }
        }
        if (!alpha) ok = 0, test_fail(__FILE__, __LINE__, "%s has no alpha", file);
        golden_free(gd);
    }
    glia_graph_free(g);
    return ok;
}

TEST(binarize_golden_pytorch) {
    CHECK(golden_case("binary_weight", 4, (int64_t[]){4, 3, 3, 3}, 1, 1.0f));
    CHECK(golden_case("binary_act", 4, (int64_t[]){3, 2, 4, 4}, 1, 1.0f));
    CHECK(golden_case("binary_sign", 2, (int64_t[]){2, 7}, 0, 0.5f));
}

/* ---------------------------------------------------------------- the packed kernels */

/* plain loops on +-1 integers: dot[o][p] over the taps inside the image */
static void dots_plain(const xnor_geom *q, const int8_t *xs, const int8_t *ws, int n, int32_t *out) {
    for (int o = 0; o < q->O; o++)
        for (int oh = 0; oh < q->OH; oh++)
            for (int ow = 0; ow < q->OW; ow++) {
                int32_t acc = 0;
                for (int c = 0; c < q->C; c++)
                    for (int i = 0; i < q->kh; i++)
                        for (int j = 0; j < q->kw; j++) {
                            int ih = oh * q->sh - q->pt + i, iw = ow * q->sw - q->pl + j;
                            if (ih < 0 || ih >= q->H || iw < 0 || iw >= q->W) continue;
                            acc += xs[(((size_t)n * q->C + c) * q->H + ih) * q->W + iw] *
                                   ws[(((size_t)o * q->C + c) * q->kh + i) * q->kw + j];
                        }
                out[((size_t)o * q->OH + oh) * q->OW + ow] = acc;
            }
}

/* channel counts around the 64-bit word (1, 63, 64, 65, 130), padding, stride 2, rectangular
 * and 1x1 kernels, output channels not a multiple of 8: each kernel the CPU has, bit for bit */
TEST(xnor_kernels_match_plain_loops) {
    const struct { int N, C, H, W, O, kh, kw, sh, sw, pt, pb, pl, pr; } cases[] = {
        {2, 1, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1},    {1, 63, 6, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1},
        {2, 64, 5, 4, 64, 3, 3, 1, 1, 1, 1, 1, 1},  {1, 65, 7, 5, 17, 3, 2, 2, 1, 0, 2, 1, 0},
        {1, 130, 4, 4, 33, 1, 1, 1, 1, 0, 0, 0, 0}, {2, 100, 9, 9, 40, 5, 5, 2, 2, 2, 2, 2, 2},
        {3, 257, 1, 1, 300, 1, 1, 1, 1, 0, 0, 0, 0},
        /* tiles of 24 and 36 positions: whole 16 x 16 output blocks and their tails */
        {1, 70, 12, 12, 48, 3, 3, 1, 1, 1, 1, 1, 1}, {8, 64, 6, 6, 32, 3, 3, 1, 1, 1, 1, 1, 1}};
    const int saved = glia__xnor_algo;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        xnor_geom q = {cases[c].N, cases[c].C, cases[c].H, cases[c].W, cases[c].O, cases[c].kh,
                       cases[c].kw, 0, 0, cases[c].sh, cases[c].sw, cases[c].pt, cases[c].pl};
        q.OH = (q.H + cases[c].pt + cases[c].pb - q.kh) / q.sh + 1;
        q.OW = (q.W + cases[c].pl + cases[c].pr - q.kw) / q.sw + 1;
        size_t nx = (size_t)q.N * q.C * q.H * q.W, nw = (size_t)q.O * q.C * q.kh * q.kw,
               P = (size_t)q.OH * q.OW, Wd = (size_t)glia__xnor_words(q.C);
        float *xf = malloc(nx * 4), *wf = malloc(nw * 4), scale[8], *alpha = malloc((size_t)q.O * 4);
        int8_t *xs = malloc(nx), *wsg = malloc(nw);
        uint64_t *xp = malloc((size_t)q.N * q.H * q.W * Wd * 8),
                 *wq = malloc((size_t)q.kh * q.kw * Wd * glia__xnor_opad(q.O) * 8);
        int32_t *want = malloc((size_t)q.O * P * 4), *got = malloc((size_t)q.O * P * 4);
        fill_uniform(xf, (int64_t)nx, -1, 1, 200 + c);
        fill_uniform(wf, (int64_t)nw, -1, 1, 300 + c);
        for (size_t i = 0; i < nx; i++) xs[i] = xf[i] < 0 ? -1 : 1, xf[i] = 0.5f * xs[i];
        for (size_t i = 0; i < nw; i++) wsg[i] = wf[i] < 0 ? -1 : 1, wf[i] = 0.25f * wsg[i];
        const xnor_operand xo = {xf, 0, 1}, wo = {wf, 0, 1}; /* binarize's outputs */
        glia__xnor_pack_weights(&q, wo, wq, alpha);
        /* the packing of activations: the plain C one, and the widest this CPU has the same */
        const size_t nxp = (size_t)q.N * q.H * q.W * Wd;
        uint64_t *xp_plain = malloc(nxp * 8);
        glia__xnor_algo = 3;
        glia__xnor_pack_acts(&q, xo, xp_plain, scale);
        glia__xnor_algo = saved;
        glia__xnor_pack_acts(&q, xo, xp, scale);
        int bad = scale[0] != 0.5f || alpha[q.O - 1] != 0.25f;
        for (size_t i = 0; i < nxp && !bad; i++) /* the layout of binary.h, bit by bit */
            for (int ch = 64 * (int)(i % Wd); ch < 64 * (int)(i % Wd + 1) && !bad; ch++) {
                const size_t px = i / Wd, n = px / ((size_t)q.H * q.W), hw = px % ((size_t)q.H * q.W);
                const int bit = ch < q.C && xs[(n * q.C + (size_t)ch) * q.H * q.W + hw] > 0;
                bad = (int)(xp_plain[i] >> (ch % 64) & 1) != bit;
            }
        if (!bad && memcmp(xp, xp_plain, nxp * 8))
            bad = 1, test_fail(__FILE__, __LINE__, "case %zu: the packed activations differ "
                               "between the plain and the wide packing", c);
        else if (bad)
            test_fail(__FILE__, __LINE__, "case %zu: packed activations or scales wrong", c);
        free(xp_plain);
        for (int algo = 0; algo <= 3 && !bad; algo++) {
            if (algo == 1) continue; /* 1 = off */
            glia__xnor_algo = algo;
            for (int n = 0; n < q.N && !bad; n++) {
                dots_plain(&q, xs, wsg, n, want);
                memset(got, 0x55, (size_t)q.O * P * 4);
                glia__xnor_dots(&q, xp, wq, n, got);
                if (memcmp(want, got, (size_t)q.O * P * 4)) {
                    bad = 1;
                    test_fail(__FILE__, __LINE__, "case %zu image %d: the %s kernel differs from "
                              "the plain loops", c, n, glia__xnor_kernel_name());
                }
            }
        }
        /* the whole forward (packing, counts, the tiles' outputs: 16 x 16 blocks in registers
         * and the plain tails) against y = s alpha dots + b from the plain loops, bit for bit */
        const size_t ny = (size_t)q.N * q.O * P;
        float *yw = malloc(ny * 4), *yg = malloc(ny * 4), *bias = malloc((size_t)q.O * 4);
        void *wsp = malloc(glia__xnor_ws(&q));
        const int relu = (int)(c % 2);
        fill_uniform(bias, q.O, -2, 2, 400 + c);
        for (int n = 0; n < q.N; n++) {
            dots_plain(&q, xs, wsg, n, want);
            for (size_t i = 0; i < (size_t)q.O * P; i++) {
                float v = (0.5f * 0.25f) * (float)want[i] + bias[i / P];
                yw[(size_t)n * q.O * P + i] = relu && v < 0 ? 0.0f : v;
            }
        }
        for (int algo = 0; algo <= 3 && !bad; algo++) {
            if (algo == 1) continue;
            glia__xnor_algo = algo;
            memset(yg, 0x55, ny * 4);
            glia__xnor_forward(&q, xo, wo, bias, relu, yg, wsp, NULL);
            if (memcmp(yw, yg, ny * 4))
                bad = 1, test_fail(__FILE__, __LINE__, "case %zu: the forward (%s kernel, relu %d) "
                                   "differs from s alpha dots + b", c, glia__xnor_kernel_name(), relu);
        }
        /* folded binarize: the raw values (the same signs, other magnitudes) with their scales
         * s_n, alpha_o = mean |v| as binarize computes them; the weights from a cache, filled on
         * the first call, used on the second, refilled on the third after a weight changed */
        const int64_t mx = (int64_t)q.C * q.H * q.W, mw = (int64_t)q.C * q.kh * q.kw;
        float *xr = malloc(nx * 4), *wr = malloc(nw * 4), *sn = malloc((size_t)q.N * 4);
        void *cache = calloc(1, glia__xnor_cache_bytes(&q));
        fill_uniform(xr, (int64_t)nx, 0.01, 3, 500 + c);
        fill_uniform(wr, (int64_t)nw, 0.01, 1, 600 + c);
        for (size_t i = 0; i < nx; i++) xr[i] *= (float)xs[i];
        for (size_t i = 0; i < nw; i++) wr[i] *= (float)wsg[i];
        for (int n = 0; n < q.N; n++) sn[n] = (float)glia__binary_scale(xr + n * mx, mx);
        for (int call = 0; call < 3 && !bad; call++) {
            if (call == 2) { /* filter O-1 flips its last sign */
                wsg[nw - 1] = (int8_t)-wsg[nw - 1];
                wr[nw - 1] = -wr[nw - 1];
            }
            for (int n = 0; n < q.N; n++) {
                dots_plain(&q, xs, wsg, n, want);
                for (size_t i = 0; i < (size_t)q.O * P; i++) {
                    const int64_t o = (int64_t)(i / P);
                    float v = (sn[n] * (float)glia__binary_scale(wr + o * mw, mw)) * (float)want[i] +
                              bias[o];
                    yw[(size_t)n * q.O * P + i] = relu && v < 0 ? 0.0f : v;
                }
            }
            memset(yg, 0x55, ny * 4);
            glia__xnor_forward(&q, (xnor_operand){xr, 1, 1}, (xnor_operand){wr, 1, 1}, bias, relu,
                               yg, wsp, cache);
            if (memcmp(yw, yg, ny * 4))
                bad = 1, test_fail(__FILE__, __LINE__, "case %zu, call %d: the forward on raw "
                                   "operands (weights cached) differs from s alpha dots + b", c, call);
        }
        free(xr), free(wr), free(sn), free(cache);
        glia__xnor_algo = saved;
        free(yw), free(yg), free(bias), free(wsp);
        free(xf), free(wf), free(alpha), free(xs), free(wsg), free(xp), free(wq), free(want), free(got);
        if (bad) return;
    }
}

/* the bits path and the float path (glia__xnor_algo = 1) of one conv2d give the same outputs */
TEST(xnor_conv_same_as_floats) {
    glia_graph *g;
    int x, w, b, xb, wb, y;
    const glia_conv2d_params pad1 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){4, 96, 7, 7}, &x));
    OK(glia_param(g, "w", 4, (int64_t[]){20, 96, 3, 3}, &w));
    OK(glia_param(g, "b", 1, (int64_t[]){20}, &b));
    OK(glia_binarize(g, "xb", x, 1, 1.0f, &xb));
    OK(glia_binarize(g, "wb", w, 1, 1.0f, &wb));
    OK(glia_conv2d(g, "conv", xb, wb, b, &pad1, &y));
    OK(glia_graph_compile(g, 0));
    xnor_geom q;
    CHECK_MSG(glia__xnor_node(g, &g->nodes[y], &q) && q.C == 96 && q.OH == 7, "not on bits");
    fill_uniform(glia_node_value(g, x), 4 * 96 * 49, -1, 1, 9);
    fill_uniform(glia_node_value(g, w), 20 * 96 * 9, -1, 1, 10);
    fill_uniform(glia_node_value(g, b), 20, -1, 1, 11);
    const int n = 4 * 20 * 49;
    float *bits = malloc(n * sizeof(float));
    OK(glia_graph_forward(g));
    memcpy(bits, glia_node_value(g, y), n * sizeof(float));
    const int saved = glia__xnor_algo;
    glia__xnor_algo = 1;
    glia_status s = glia_graph_forward(g);
    glia__xnor_algo = saved;
    double e = max_rel_diff(bits, glia_node_value(g, y), n, 1e-3, NULL);
    free(bits);
    glia_graph_free(g);
    OK(s);
    CHECK_MSG(e < 1e-4, "bits and floats differ by %g", e);
}

/* ---------------------------------------------------------------- packed file, training */

/* a real first layer, an XNOR 3x3 convolution 64 -> 64 (the VGG-style network's), a
 * binary-weight dense, a real last layer */
static const char *xnor_cfg =
    "[net]\ninput = 1, 8, 8\nclasses = 4\nbatch = 4\n"
    "[conv]\nname = c1\nfilters = 64\nsize = 3\npad = 1\nactivation = relu\n"
    "[batchnorm]\nname = bn2\n"
    "[conv]\nname = c2\nfilters = 64\nsize = 3\npad = 1\nbinary = xnor\n"
    "[maxpool]\nsize = 2\n"
    "[dense]\nname = fc1\nunits = 20\nbinary = weights\nactivation = relu\n"
    "[dense]\nname = fc2\nunits = 4\n";

static int logits_of(glia_model *m, const float *x, float *out) {
    glia_graph *g = glia_model_graph(m);
    return !glia_node_write(g, glia_model_input(m), x, 4 * 64) && !glia_graph_forward(g) &&
           !glia_node_read(g, glia_model_output(m), out, 16);
}

/* every binarized parameter of gb holds alpha sign(W) of ga's W, with alpha ga's scale rounded to
 * F16 (half) or as float (format 1); the rows checked, -1 on a mismatch. *rounded counts the
 * rows whose F16 scale is not the float one. */
static int packed_values_match(glia_graph *ga, glia_graph *gb, int half, int *rounded) {
    int rows = 0;
    for (int i = 0; i < ga->n_nodes; i++) {
        const glia_node *bn = &ga->nodes[i];
        if (bn->kind != NODE_OP || bn->op != GLIA_OP_binarize ||
            ga->nodes[bn->in[0]].kind != NODE_PARAM)
            continue;
        const int p = bn->in[0];
        const int64_t k = glia__numel(&ga->nodes[p]), O = ga->nodes[p].shape.dim[0], m = k / O;
        float *wa = malloc((size_t)k * sizeof *wa), *wb = malloc((size_t)k * sizeof *wb);
        int bad = !wa || !wb || glia_node_read(ga, p, wa, k) || glia_node_read(gb, p, wb, k);
        for (int64_t o = 0; o < O && !bad; o++, rows++) {
            float al = bn->ia[BIN_SCALED] ? (float)glia__binary_scale(wa + o * m, m) : 1.0f;
            float ah = glia__f16_to_float(glia__f16_from_float(al));
            *rounded += ah != al;
            for (int64_t j = 0; j < m; j++)
                bad |= wb[o * m + j] != (wa[o * m + j] < 0 ? -(half ? ah : al) : (half ? ah : al));
        }
        free(wa), free(wb);
        if (bad) return -1;
    }
    return rows;
}

/* compiled for inference, the binarize nodes of an XNOR layer are folded into it: it binarizes
 * its input while packing it and keeps its packed weights from one forward to the next. The
 * logits are those of the same network compiled for training (the binarize nodes run), bit for
 * bit: on new inputs, after the weights changed in place (the cache repacks) and after a write;
 * with numerics checking on (the folded nodes' unwritten outputs are not checked). */
TEST(xnor_folded_inference_exact) {
    glia_model *m[2];
    OK(glia_model_parse(xnor_cfg, "xnor.cfg", 4, 7, &m[0]));
    OK(glia_model_parse(xnor_cfg, "xnor.cfg", 4, 7, &m[1]));
    glia_graph *g[2] = {glia_model_graph(m[0]), glia_model_graph(m[1])};
    OK(glia_graph_compile(g[0], 0));
    OK(glia_graph_compile(g[1], GLIA_COMPILE_BACKWARD));
    glia_graph_set_check_numerics(g[0], 1);
    int folded[2] = {0, 0}, cached = 0, c2, w;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < g[k]->n_nodes; i++) folded[k] += g[k]->nodes[i].folded;
    OK(glia_graph_find(g[0], "c2", &c2));
    OK(glia_graph_find(g[0], "c2.weight", &w));
    cached = g[0]->nodes[c2].cache != NULL;
    /* c2's input and weights (fc1 has binary weights only: its binarize runs) */
    CHECK_MSG(folded[0] == 2 && folded[1] == 0 && cached, "folded %d and %d, cache %d", folded[0],
              folded[1], cached);
    float x[256], y[2][16];
    int same = 1;
    for (int round = 0; round < 4 && same; round++) {
        fill_uniform(x, 256, -1, 1, 70 + round);
        for (int k = 0; k < 2; k++) {
            float *wv = glia_node_value(g[k], w);
            if (round == 2) /* in place: a sign flipped and a filter rescaled */
                for (int i = 0; i < 64 * 9 * 2; i++) wv[i * 7] = -0.5f * wv[i * 7];
            if (round == 3) {
                float nw[64 * 64 * 9];
                fill_uniform(nw, 64 * 64 * 9, -1, 1, 80);
                OK(glia_node_write(g[k], w, nw, 64 * 64 * 9));
            }
            same &= logits_of(m[k], x, y[k]);
        }
        same = same && !memcmp(y[0], y[1], sizeof y[0]);
        CHECK_MSG(same, "round %d: inference logits %g, training-compiled %g (%s)", round,
                  (double)y[0][0], (double)y[1][0], glia_last_error());
    }
    glia_model_free(m[0]);
    glia_model_free(m[1]);
}

/* a folded binarize's input lives until the XNOR layer has read it: here a node written between
 * them (t) would otherwise take its memory; inference and training compiles agree bit for bit */
TEST(xnor_folded_input_lifetime) {
    float y[2][2 * 8 * 36];
    for (int k = 0; k < 2; k++) {
        glia_graph *g;
        int x, z, w, a, xb, wb, t, c, out;
        const glia_conv2d_params pad1 = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 4, (int64_t[]){2, 8, 6, 6}, &x));
        OK(glia_input(g, "z", 4, (int64_t[]){2, 8, 6, 6}, &z));
        OK(glia_param(g, "w", 4, (int64_t[]){8, 8, 3, 3}, &w));
        OK(glia_scale(g, "a", x, 2.0f, &a));
        OK(glia_binarize(g, "xb", a, 1, 1.0f, &xb));
        OK(glia_scale(g, "t", z, -3.0f, &t));
        OK(glia_binarize(g, "wb", w, 1, 1.0f, &wb));
        OK(glia_conv2d(g, "conv", xb, wb, -1, &pad1, &c));
        OK(glia_add(g, "out", c, t, &out));
        OK(glia_graph_compile(g, k ? GLIA_COMPILE_BACKWARD : 0));
        CHECK(g->nodes[xb].folded == !k && g->nodes[wb].folded == !k);
        fill_uniform(glia_node_value(g, x), 2 * 8 * 36, -1, 1, 90);
        fill_uniform(glia_node_value(g, z), 2 * 8 * 36, -1, 1, 91);
        fill_uniform(glia_node_value(g, w), 8 * 8 * 9, -1, 1, 92);
        glia_status s = glia_graph_forward(g);
        if (!s) s = glia_node_read(g, out, y[k], 2 * 8 * 36);
        glia_graph_free(g);
        OK(s);
    }
    CHECK_MSG(!memcmp(y[0], y[1], sizeof y[0]), "inference %g, training-compiled %g",
              (double)y[0][0], (double)y[1][0]);
}

TEST(binary_packed_file_round_trip) {
    glia_model *a = NULL, *b = NULL, *c = NULL;
    OK(glia_model_parse(xnor_cfg, "xnor.cfg", 4, 7, &a));
    OK(glia_model_parse(xnor_cfg, "xnor.cfg", 4, 8, &b)); /* other initial weights */
    OK(glia_model_parse(xnor_cfg, "xnor.cfg", 4, 9, &c));
    char path[] = "/tmp/glia-packed-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    glia_packed_info info, info1;
    float x[256], ya[16], yb[16], y1[16];
    fill_uniform(x, 256, 0, 1, 5);
    int rounded = 0, rounded1 = 0;
    /* format 2 (F16 scales) into b: W = alpha_f16 sign exactly */
    glia_status s = glia_packed_save(glia_model_graph(a), path, &info);
    int loaded = !s && !glia_packed_load(glia_model_graph(b), path);
    int rows = loaded ? packed_values_match(glia_model_graph(a), glia_model_graph(b), 1, &rounded) : 0;
    /* format 1 (F32 scales, still read) into c: W = alpha sign, the same logits as a */
    glia_status s1 = glia__packed_save_version(glia_model_graph(a), path, 1, &info1);
    int loaded1 = !s1 && !glia_packed_load(glia_model_graph(c), path);
    int rows1 = loaded1 ? packed_values_match(glia_model_graph(a), glia_model_graph(c), 0, &rounded1) : 0;
    int ran = loaded && loaded1 && logits_of(a, x, ya) && logits_of(b, x, yb) && logits_of(c, x, y1);
    /* a damaged file (a byte short, or not a packed one) is an error and changes nothing */
    FILE *f = fopen(path, "r+b");
    long len = f && !fseek(f, 0, SEEK_END) ? ftell(f) : -1;
    if (f) fclose(f);
    int cut = len > 0 && !truncate(path, len - 1);
    glia_status trunc = cut ? glia_packed_load(glia_model_graph(b), path) : GLIA_OK;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", glia_last_error());
    float yc[16];
    int same_after = logits_of(b, x, yc) && !memcmp(yb, yc, sizeof yc);
    OK(glia_safetensors_save(glia_model_graph(a), path));
    glia_status notpacked = glia_packed_load(glia_model_graph(b), path);
    remove(path);
    glia_model_free(a);
    glia_model_free(b);
    glia_model_free(c);
    OK(s);
    OK(s1);
    CHECK_MSG(loaded && loaded1 && ran, "%s", glia_last_error());
    CHECK_MSG(rows == 64 + 20, "format 2: the loaded weights are not alpha_f16 sign (%d)", rows);
    CHECK_MSG(rows1 == 64 + 20, "format 1: the loaded weights are not alpha sign (%d)", rows1);
    CHECK_MSG(rounded > 0, "no scale changed when rounded to F16: the test would not see F32 ones");
    CHECK_MSG(!memcmp(ya, y1, sizeof ya), "format 1: the loaded network computes other logits "
              "(%g vs %g)", (double)ya[0], (double)y1[0]);
    /* the scales' rounding (relative 2^-11 at most) moves the logits little */
    double e = max_rel_diff(yb, ya, 16, 1e-2, NULL);
    CHECK_MSG(e < 2e-3, "format 2: logits differ by %g", e);
    CHECK(info.binary == 2 && info.binary_values == 64 * 64 * 9 + 20 * 64 * 4 * 4);
    /* c2: 64 rows of 576 bits (72 bytes) and a scale; fc1: 20 rows of 1024 bits and a scale */
    CHECK(info.binary_packed_bytes == 64 * 74 + 20 * 130);
    CHECK(info1.binary_packed_bytes == 64 * 76 + 20 * 132);
    CHECK_MSG(info.binary_float_bytes >= 30 * info.binary_packed_bytes, "only %.1fx smaller",
              (double)info.binary_float_bytes / (double)info.binary_packed_bytes);
    CHECK(cut && trunc != GLIA_OK && same_after);
    CHECK_MSG(strstr(msg, "glia-packed") || strstr(msg, "data_offsets") || strstr(msg, "header"),
              "%s", msg);
    CHECK(notpacked != GLIA_OK && strstr(glia_last_error(), "glia-packed-2"));
}

/* half floats: rounding to nearest, ties to even, at the normal and subnormal ends, overflow,
 * and every half back and forth */
TEST(f16_conversion) {
    static const struct { float f; uint16_t h; } cases[] = {
        {1.0f, 0x3C00}, {-2.0f, 0xC000}, {65504.0f, 0x7BFF}, {65519.0f, 0x7BFF},
        {65520.0f, 0x7C00}, {1e10f, 0x7C00}, {1.0f + 0x1p-11f, 0x3C00}, /* tie: to even */
        {1.0f + 3 * 0x1p-11f, 0x3C02}, {1.0f + 0x1p-11f + 0x1p-20f, 0x3C01},
        {0x1p-14f, 0x0400}, {0x1p-24f, 0x0001}, {0x1p-25f, 0x0000}, {3 * 0x1p-25f, 0x0002},
        {0x1p-14f - 0x1p-25f, 0x0400}, {0.0f, 0x0000}, {-0.0f, 0x8000}, {0.1f, 0x2E66},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK_MSG(glia__f16_from_float(cases[i].f) == cases[i].h, "%a -> %#x, not %#x",
                  (double)cases[i].f, glia__f16_from_float(cases[i].f), cases[i].h);
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue; /* NaN */
        uint16_t back = glia__f16_from_float(glia__f16_to_float((uint16_t)h));
        CHECK_MSG(back == h, "%#x -> %a -> %#x", h, (double)glia__f16_to_float((uint16_t)h), back);
    }
}

/* an XNOR network trained on 600 Fashion-MNIST images beats 70% on 1,000 others (77.7% here) (chance: 10%) */
TEST(binary_training_fashion_mnist) {
    const char *ip = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    if (access(ip, R_OK)) {
        fprintf(stderr, "  note: %s is absent, binary_training_fashion_mnist skipped "
                "(scripts/fetch-data fashion-mnist)\n", ip);
        return;
    }
    glia_dataset *all = NULL, *tr = NULL, *te = NULL;
    OK(glia_dataset_load("fashion-mnist", "test", &all));
    glia_tensor *ti, *tl, *ei, *el;
    const int ntr = 600, nte = 1000;
    OK(glia_tensor_new(&ti, 4, (int64_t[]){ntr, 1, 28, 28}));
    OK(glia_tensor_new(&tl, 1, (int64_t[]){ntr}));
    OK(glia_tensor_new(&ei, 4, (int64_t[]){nte, 1, 28, 28}));
    OK(glia_tensor_new(&el, 1, (int64_t[]){nte}));
    /* the images as floats in [0, 1] (the data set may keep them as bytes) */
    for (int i = 0; i < ntr; i++) glia_dataset_image(all, i, ti->data + (size_t)i * 784);
    for (int i = 0; i < nte; i++) glia_dataset_image(all, ntr + i, ei->data + (size_t)i * 784);
    memcpy(tl->data, all->labels->data, sizeof(float) * ntr);
    memcpy(el->data, all->labels->data + ntr, sizeof(float) * nte);
    glia_dataset_free(all);
    OK(glia_dataset_new(ti, tl, 10, NULL, &tr));
    OK(glia_dataset_new(ei, el, 10, NULL, &te));
    static const char *cfg =
        "[net]\ninput = 1, 28, 28\nclasses = 10\nbatch = 32\nepochs = 6\nlr = 0.003\n"
        "optimizer = adam\n"
        "[conv]\nname = c1\nfilters = 16\nsize = 3\npad = 1\nactivation = relu\n"
        "[maxpool]\nsize = 2\n"
        "[batchnorm]\nname = bn2\n"
        "[conv]\nname = c2\nfilters = 32\nsize = 3\npad = 1\nbinary = xnor\n"
        "[maxpool]\nsize = 2\n"
        "[batchnorm]\nname = bn3\n"
        "[dense]\nname = fc1\nunits = 64\nbinary = xnor\nbatchnorm = 1\nactivation = relu\n"
        "[dense]\nname = fc2\nunits = 10\n";
    glia_model *m = NULL;
    char d[] = "/tmp/glia-binary-train-XXXXXX";
    CHECK(mkdtemp(d));
    glia_status s = glia_model_parse(cfg, "xnor-small.cfg", 1, 3, &m);
    glia_train_options o = {0};
    o.train_set = tr;
    o.test_set = te;
    o.out_dir = d;
    o.seed = 1;
    o.normalize = 1;
    glia_train_result r = {0};
    if (!s) s = glia_train(m, &o, &r);
    const char *files[] = {"model.cfg", "weights.safetensors", "classes.txt", "metrics.csv",
                           "curves.png", "checkpoint.safetensors"};
    char p[300];
    for (int i = 0; i < 6; i++) {
        snprintf(p, sizeof p, "%s/%s", d, files[i]);
        remove(p);
    }
    rmdir(d);
    double acc = s ? 0 : r.test.acc;
    if (!s) glia_eval_result_free(&r.test);
    glia_model_free(m);
    glia_dataset_free(tr);
    glia_dataset_free(te);
    OK(s);
    fprintf(stderr, "  note: XNOR network, 600 training images: %.2f%% test accuracy\n", 100 * acc);
    CHECK_MSG(acc > 0.70, "test accuracy %.2f%%", 100 * acc);
}
