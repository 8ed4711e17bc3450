/* test_conv.c: conv2d against finite differences, the reference device's plain loops (forward
 * and all gradients), PyTorch golden values, the course's worked example, and shape errors. */
#include "test.h"
#include "ops/conv.h"
#include "core/lane_sums.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *what;
    int N, C, H, W, O, kh, kw;
    glia_conv2d_params p;
    int bias;
} conv_case;

/* odd shapes: every feature on its own and some together */
static const conv_case CASES[] = {
    {"stride 2, padding 1", 2, 3, 7, 6, 4, 3, 3,
     {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1}, 1},
    {"asymmetric padding, non-square kernel and input, stride (1,2)", 1, 2, 5, 7, 3, 2, 3,
     {.stride_w = 2, .pad_top = 0, .pad_bottom = 2, .pad_left = 1, .pad_right = 0}, 1},
    {"groups 2", 2, 4, 5, 6, 6, 3, 3,
     {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .groups = 2}, 1},
    {"depthwise, stride (2,1)", 2, 3, 6, 5, 3, 3, 3,
     {.stride_h = 2, .pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .groups = 3}, 1},
    {"depthwise with multiplier 2", 1, 2, 5, 5, 4, 2, 2, {.groups = 2}, 1},
    {"dilation 2", 1, 2, 9, 8, 3, 3, 2,
     {.pad_top = 2, .pad_bottom = 2, .pad_left = 1, .pad_right = 1, .dilation_h = 2, .dilation_w = 2}, 1},
    {"batch 3, no bias, floor of output size", 3, 2, 6, 5, 2, 2, 2, {.stride_h = 2, .stride_w = 2}, 0},
    {"1x1, stride 1 (no im2col)", 3, 4, 4, 5, 5, 1, 1, {0}, 1},
    {"1x1, groups 2 (no im2col)", 2, 4, 3, 3, 6, 1, 1, {.groups = 2}, 1},
    {"1x1, stride 2", 2, 3, 5, 5, 2, 1, 1, {.stride_h = 2, .stride_w = 2}, 1},
    /* stride 1, dilation 1, one group: the direct path (conv_direct.c) */
    {"direct: asymmetric padding, non-square kernel and input", 2, 3, 6, 7, 5, 3, 2,
     {.pad_top = 0, .pad_bottom = 2, .pad_left = 1, .pad_right = 0}, 1},
    {"direct: padding = kernel - 1", 1, 2, 5, 5, 3, 3, 3,
     {.pad_top = 2, .pad_bottom = 2, .pad_left = 2, .pad_right = 2}, 0},
    {"direct: batch 9 (image groups 4 + 4 + 1), 19 filters (channel blocks and a rest), 5x5", 9,
     2, 6, 5, 19, 5, 5, {.pad_top = 2, .pad_bottom = 1, .pad_left = 2, .pad_right = 2}, 1},
    {"direct: padding beyond the kernel (3x2 kernel, padding 3, 0, 2, 1)", 2, 3, 4, 5, 4, 3, 2,
     {.pad_top = 3, .pad_bottom = 0, .pad_left = 2, .pad_right = 1}, 1},
    {"direct: 12 filters (AVX-512 dw: one vector of filters), batch 5", 5, 6, 7, 6, 12, 3, 3,
     {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1}, 1},
    {"direct: one input channel, 1x5 kernel", 5, 1, 12, 11, 7, 1, 5,
     {.pad_left = 2, .pad_right = 2}, 1},
    /* one input channel per group: the depthwise forward (conv_depthwise.c) */
    {"depthwise: 3x3, stride 2, 8 channels of 37x70 (vector blocks and a rest)", 2,
     8, 37, 70, 8, 3, 3, {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 1,
                          .pad_left = 1, .pad_right = 1, .groups = 8}, 1},
    {"depthwise: 5x5, dilation 2, multiplier 2, asymmetric padding", 1, 3, 9, 20, 6, 5, 5,
     {.pad_top = 4, .pad_bottom = 3, .pad_left = 2, .pad_right = 4, .dilation_h = 2,
      .dilation_w = 2, .groups = 3}, 0},
    {"depthwise: 3x2 kernel, stride (1,3), padding wider than the kernel", 3, 4, 6, 17, 4, 3, 2,
     {.stride_w = 3, .pad_top = 3, .pad_bottom = 0, .pad_left = 3, .pad_right = 1, .groups = 4},
     1},
    {"everything: batch 3, stride 2, asymmetric padding, dilation (2,1), groups 2", 3, 4, 8, 7, 2,
     3, 2, {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 2, .pad_left = 0,
            .pad_right = 1, .dilation_h = 2, .dilation_w = 1, .groups = 2}, 1},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

static int dflt(int v) { return v ? v : 1; }
static int out_size(int in, int pb, int pe, int d, int k, int s) {
    return (in + pb + pe - d * (k - 1) - 1) / s + 1;
}

/* x input, w param, b param (or -1), y = conv(x, w, b); batch given separately */
static glia_status build(const conv_case *c, int batch, glia_graph **g, int *x, int *w, int *b,
                         int *y) {
    glia_status s;
    int G = dflt(c->p.groups);
    if ((s = glia_graph_new(g))) return s;
    *b = -1;
    if ((s = glia_input(*g, "x", 4, (int64_t[]){batch, c->C, c->H, c->W}, x))) return s;
    if ((s = glia_param(*g, "w", 4, (int64_t[]){c->O, c->C / G, c->kh, c->kw}, w))) return s;
    if (c->bias && (s = glia_param(*g, "b", 1, (int64_t[]){c->O}, b))) return s;
    return glia_conv2d(*g, "conv", *x, *w, *b, &c->p, y);
}

/* The reference: the reference device's plain loops (src/device/ref_conv.c), in double,
 * straight from the definition,
 *   y[n,o,oh,ow] = b[o] + sum_{c,i,j} x[n, g Cg + c, oh sh - pt + i dh, ow sw - pl + j dw] w[o,c,i,j]
 * (g = o / Og; out-of-range x is zero), and for L = sum(seed * y) every term above adds seed * w
 * to dx and seed * x to dw; db[o] = sum of seed.
 * Each result also gets a scale: the same sum over the magnitudes of its terms, which is the
 * reference run again on |x|, |w|, |b| and |seed|. A float32 sum of such terms is off by at most
 * ~(terms) * 6e-8 of that scale, however much the terms cancel, so |fast - reference| / scale
 * measures the op's error without being fooled by results near zero (where a plain relative
 * difference measures float rounding, not correctness). */
typedef struct {
    float *y, *dx, *dw, *db;     /* reference values */
    float *sy, *sdx, *sdw, *sdb; /* their scales */
} conv_ref;

static void ref_free(conv_ref *r) {
    free(r->y), free(r->dx), free(r->dw), free(r->db);
    free(r->sy), free(r->sdx), free(r->sdw), free(r->sdb);
}

static float *absolute(const float *v, int n) {
    float *a = malloc((size_t)n * sizeof *a);
    for (int i = 0; i < n; i++) a[i] = fabsf(v[i]);
    return a;
}

/* returns 0 (the test failed) on error */
static int reference_conv(const conv_case *c, const float *x, const float *w, const float *b,
                          const float *seed, conv_ref *r) {
    int OH = out_size(c->H, c->p.pad_top, c->p.pad_bottom, dflt(c->p.dilation_h), c->kh,
                      dflt(c->p.stride_h));
    int OW = out_size(c->W, c->p.pad_left, c->p.pad_right, dflt(c->p.dilation_w), c->kw,
                      dflt(c->p.stride_w));
    int nx = c->N * c->C * c->H * c->W, nw = c->O * (c->C / dflt(c->p.groups)) * c->kh * c->kw;
    int ny = c->N * c->O * OH * OW, ok = 1;
    memset(r, 0, sizeof *r);
    r->y = malloc((size_t)ny * sizeof(float)), r->sy = malloc((size_t)ny * sizeof(float));
    r->dx = malloc((size_t)nx * sizeof(float)), r->sdx = malloc((size_t)nx * sizeof(float));
    r->dw = malloc((size_t)nw * sizeof(float)), r->sdw = malloc((size_t)nw * sizeof(float));
    r->db = malloc((size_t)c->O * sizeof(float)), r->sdb = malloc((size_t)c->O * sizeof(float));
    float *ax = absolute(x, nx), *aw = absolute(w, nw), *ab = b ? absolute(b, c->O) : NULL;
    float *as = absolute(seed, ny);
    for (int pass = 0; pass < 2 && ok; pass++) { /* the values, then their scales */
        glia_graph *g;
        int xi, wi, bi, yi;
        if (build(c, c->N, &g, &xi, &wi, &bi, &yi) || glia_node_requires_grad(g, xi, 1)) {
            test_fail(__FILE__, __LINE__, "%s: %s", c->what, glia_last_error());
            glia_graph_free(g);
            ok = 0;
            break;
        }
        const float *vals[3] = {pass ? ax : x, pass ? aw : w, pass ? ab : b};
        float *grads[3] = {pass ? r->sdx : r->dx, pass ? r->sdw : r->dw, pass ? r->sdb : r->db};
        ok = reference_run(g, yi, pass ? as : seed, b ? 3 : 2, (int[]){xi, wi, bi}, vals,
                           pass ? r->sy : r->y, grads);
        glia_graph_free(g);
    }
    free(ax), free(aw), free(ab), free(as);
    return ok;
}

/* max over i of |got - want| / scale (0 where all three are 0: an input no output reads) */
static double scaled_err(const float *got, const float *want, const float *scale, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (d == 0) continue;
        d /= scale[i];
        if (!(d <= m)) m = d; /* NaN sticks */
    }
    return m;
}

/* Fast op vs the reference on one case; the graph is built with batch `build_batch`, then
 * resized to c->N (the workspace and shapes must follow). */
static void check_vs_reference(const conv_case *c, int build_batch) {
    glia_graph *g;
    int x, w, b, y;
    OK(build(c, build_batch, &g, &x, &w, &b, &y));
    if (build_batch != c->N) OK(glia_graph_set_batch(g, c->N));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    glia_shape ys;
    OK(glia_node_shape(g, y, &ys));
    int OH = out_size(c->H, c->p.pad_top, c->p.pad_bottom, dflt(c->p.dilation_h), c->kh,
                      dflt(c->p.stride_h));
    int OW = out_size(c->W, c->p.pad_left, c->p.pad_right, dflt(c->p.dilation_w), c->kw,
                      dflt(c->p.stride_w));
    CHECK_MSG(ys.ndim == 4 && ys.dim[0] == c->N && ys.dim[1] == c->O && ys.dim[2] == OH &&
              ys.dim[3] == OW, "%s: output shape [%lld, %lld, %lld, %lld], expected [%d, %d, %d, %d]",
              c->what, (long long)ys.dim[0], (long long)ys.dim[1], (long long)ys.dim[2],
              (long long)ys.dim[3], c->N, c->O, OH, OW);
    int ny = c->N * c->O * OH * OW, nx = c->N * c->C * c->H * c->W;
    int nw = c->O * (c->C / dflt(c->p.groups)) * c->kh * c->kw;
    float *X = glia_node_value(g, x), *W = glia_node_value(g, w);
    float *B = c->bias ? glia_node_value(g, b) : NULL;
    float *seed = malloc((size_t)ny * sizeof *seed);
    fill_uniform(X, nx, -1, 1, 11);
    fill_uniform(W, nw, -1, 1, 12);
    if (B) fill_uniform(B, c->O, -1, 1, 13);
    fill_uniform(seed, ny, -1, 1, 14);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    conv_ref r;
    if (!reference_conv(c, X, W, B, seed, &r)) {
        ref_free(&r);
        free(seed);
        glia_graph_free(g);
        return;
    }
    double ey = scaled_err(glia_node_value(g, y), r.y, r.sy, ny);
    double ex = scaled_err(glia_node_grad(g, x), r.dx, r.sdx, nx);
    double ew = scaled_err(glia_node_grad(g, w), r.dw, r.sdw, nw);
    double eb = B ? scaled_err(glia_node_grad(g, b), r.db, r.sdb, c->O) : 0;
    free(seed);
    ref_free(&r);
    if (getenv("GLIA_TEST_VERBOSE"))
        printf("     %-75s y %.2g dx %.2g dw %.2g db %.2g\n", c->what, ey, ex, ew, eb);
    CHECK_MSG(ey < 1e-5 && ex < 1e-5 && ew < 1e-5 && eb < 1e-5,
              "%s: differences from the reference device (relative to the sum of magnitudes): y %.3g, "
              "dx %.3g, dw %.3g, db %.3g", c->what, ey, ex, ew, eb);
    ref_checked(g, y);
    glia_graph_free(g);
}

TEST(conv_matches_reference) {
    for (int k = 0; k < N_CASES && !test_failed_flag; k++) check_vs_reference(&CASES[k], CASES[k].N);
}

/* The same cases with the im2col + GEMM path forced: the stride-1 ones above otherwise take the
 * direct path only. */
TEST(conv_matches_reference_im2col_only) {
    glia__conv_algo = 1;
    for (int k = 0; k < N_CASES && !test_failed_flag; k++) check_vs_reference(&CASES[k], CASES[k].N);
    glia__conv_algo = 0;
}

/* The direct path's narrower kernel sets (AVX2, plain C vectors), which this CPU may not pick
 * by itself; AVX2 only where the CPU has it. */
TEST(conv_direct_every_kernel_set) {
    for (int algo = 2; algo <= 3 && !test_failed_flag; algo++) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
        if (algo == 2 && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
            continue;
#else
        if (algo == 2) continue;
#endif
        glia__conv_algo = algo;
        for (int k = 0; k < N_CASES && !test_failed_flag; k++) check_vs_reference(&CASES[k], CASES[k].N);
        glia__conv_algo = 0;
    }
}

/* Images whose column buffers do not all fit in the workspace at once (8 MiB) are processed in
 * chunks: 3.7 MB of columns per image gives chunks of 2 + 1 images, 4.3 MB chunks of 1, and
 * stride 2 with odd padding exercises the in-range column bounds of im2col and col2im. */
TEST(conv_matches_reference_in_chunks) {
    static const conv_case big[] = {
        {"chunks of 2 + 1 images", 3, 16, 80, 80, 4, 3, 3,
         {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1}, 1},
        {"chunks of 1 image, stride 2, asymmetric padding", 3, 64, 86, 85, 3, 3, 3,
         {.stride_h = 2, .stride_w = 2, .pad_top = 2, .pad_bottom = 0, .pad_left = 1,
          .pad_right = 2}, 0},
    };
    for (int k = 0; k < 2 && !test_failed_flag; k++) check_vs_reference(&big[k], big[k].N);
}

/* The direct path keeps its padded images within 8 MiB of workspace too: 32 channels of 90x90
 * (1.1 MB padded per image; in backward 6.3 MB per group of 4 with one image's dx buffers)
 * give chunks of 4 + 2 images. */
TEST(conv_direct_matches_reference_in_chunks) {
    const conv_case c = {"direct, chunks of 4 + 2 images", 6, 32, 90, 90, 3, 3, 3,
                         {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1}, 1};
    check_vs_reference(&c, c.N);
}

/* Batches of 8 or more images run their GEMMs one image per thread and sum the weight gradient
 * in fixed groups of 4 images (9 = 4 + 4 + 1); with im2col and without (1x1) */
TEST(conv_matches_reference_image_groups) {
    static const conv_case many[] = {
        {"batch 9, groups 2, padding 1", 9, 4, 7, 6, 6, 3, 3,
         {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1, .groups = 2}, 1},
        {"batch 10, 1x1 (no im2col)", 10, 3, 5, 4, 5, 1, 1, {0}, 0},
    };
    for (int k = 0; k < 2 && !test_failed_flag; k++) check_vs_reference(&many[k], many[k].N);
}

/* built with batch 1, run with the case's batch: re-inferred shapes and a larger workspace */
TEST(conv_matches_reference_after_set_batch) {
    for (int k = 0; k < N_CASES && !test_failed_flag; k++) check_vs_reference(&CASES[k], 1);
}

/* GRADCHECK with a step of 0.05 instead of 1e-3. conv is linear in each of x, w and b, so
 * central differences have no truncation error at any step; a larger step only shrinks the
 * float32 rounding noise of the forwards, which with 1e-3 reaches ~1e-2 relative on small
 * gradients and would hide real errors of that size. */
static int gradcheck_linear(glia_graph *g, int y, int wrt, double tol, const char *what, int line) {
    double err = 0;
    int64_t n = 0;
    if (test_gradcheck(g, y, wrt, 0.05f, &err, &n)) {
        test_fail(__FILE__, line, "%s: gradcheck of %s: %s", what, glia_node_name(g, wrt),
                  glia_last_error());
        return 0;
    }
    if (n == 0 || !(err <= tol)) {
        test_fail(__FILE__, line, "%s: gradcheck of %s: relative error %.3g > %.3g (%lld elements)",
                  what, glia_node_name(g, wrt), err, tol, (long long)n);
        return 0;
    }
    if (getenv("GLIA_TEST_VERBOSE"))
        printf("     %-75s d%s %.2g\n", what, glia_node_name(g, wrt), err);
    return 1;
}
#define GRADCHECK_LINEAR(g, y, wrt, tol, what) \
    do { if (!gradcheck_linear(g, y, wrt, tol, what, __LINE__)) return; } while (0)

static void gradcheck_case(const conv_case *c) {
    glia_graph *g;
    int x, w, b, y;
    OK(build(c, c->N, &g, &x, &w, &b, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), (int64_t)c->N * c->C * c->H * c->W, -1, 1, 21);
    fill_uniform(glia_node_value(g, w),
                 (int64_t)c->O * (c->C / dflt(c->p.groups)) * c->kh * c->kw, -1, 1, 22);
    if (c->bias) fill_uniform(glia_node_value(g, b), c->O, -1, 1, 23);
    GRADCHECK_LINEAR(g, y, x, 1e-3, c->what);
    GRADCHECK_LINEAR(g, y, w, 1e-3, c->what);
    if (c->bias) GRADCHECK_LINEAR(g, y, b, 1e-3, c->what);
    glia_graph_free(g);
}

TEST(conv_gradcheck) {
    for (int k = 0; k < N_CASES && !test_failed_flag; k++) gradcheck_case(&CASES[k]);
}

/* Golden files carry their own geometry: attr = [stride_h, stride_w, pad_top, pad_bottom,
 * pad_left, pad_right, dilation_h, dilation_w, groups, has_bias], and x, w give the shapes. */
static void golden_case(const char *file, double tol) {
    golden *gd = golden_load(file);
    if (!gd) return;
    glia_shape xs, ws, as;
    const float *attr = golden_get(gd, "attr", &as);
    const float *xv = golden_get(gd, "x", &xs), *wv = golden_get(gd, "w", &ws);
    int good = attr && xv && wv && as.ndim == 1 && as.dim[0] == 10 && xs.ndim == 4 && ws.ndim == 4;
    if (!good) golden_free(gd);
    CHECK_MSG(good, "%s: attr, x or w is missing or malformed", file);
    int has_b = attr[9] != 0;
    glia_conv2d_params p = {(int)attr[0], (int)attr[1], (int)attr[2], (int)attr[3],
                            (int)attr[4], (int)attr[5], (int)attr[6], (int)attr[7], (int)attr[8]};
    golden_free(gd);
    glia_graph *g;
    int x, w, b = -1, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, xs.dim, &x));
    OK(glia_param(g, "w", 4, ws.dim, &w));
    if (has_b) OK(glia_param(g, "b", 1, (int64_t[]){ws.dim[0]}, &b));
    OK(glia_conv2d(g, "conv", x, w, b, &p, &y));
    GOLDEN_CHECK(g, file, y, has_b ? 3 : 2, ((const char *[]){"x", "w", "b"}), ((int[]){x, w, b}),
                 tol);
    glia_graph_free(g);
}

TEST(conv_golden_pytorch) {
    static const char *const files[] = {"conv_basic", "conv_stride_pad", "conv_asym_pad",
                                        "conv_dilation", "conv_groups", "conv_depthwise",
                                        "conv_1x1", "conv_nobias"};
    for (int k = 0; k < (int)(sizeof files / sizeof files[0]) && !test_failed_flag; k++)
        golden_case(files[k], 1e-5);
}

/* K = 16*5*5 = 400 terms per output, 2*12*12 = 288 per weight gradient */
TEST(conv_golden_pytorch_long_reduction) { golden_case("conv_long", 1e-4); }
TEST(conv_golden_pytorch_direct_wide) { golden_case("conv_direct_wide", 1e-4); }

/* The course's worked example: a 6x6 binary image and two 3x3 filters. */
static const float COURSE_IMG[36] = {
    1, 0, 0, 0, 0, 1,
    0, 1, 0, 0, 1, 0,
    0, 0, 1, 1, 0, 0,
    1, 0, 0, 0, 1, 0,
    0, 1, 0, 0, 1, 0,
    0, 0, 1, 0, 1, 0};
static const float COURSE_FILTERS[18] = {
    1, -1, -1, -1, 1, -1, -1, -1, 1,  /* filter 1 */
    -1, 1, -1, -1, 1, -1, -1, 1, -1}; /* filter 2 */

TEST(conv_course_example) {
    static const float want1[16] = {3, -1, -3, -1, -3, 1, 0, -3, -3, -3, 0, 1, 3, -2, -2, -1};
    static const float want2[16] = {-1, -1, -1, -1, -1, -1, -2, 1, -1, -1, -2, 1, -1, 0, -4, 3};
    static const float want_s2[4] = {3, -3, -3, 0}; /* filter 1, stride 2 */
    glia_graph *g;
    int x, w, y, y2;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "image", 4, (int64_t[]){1, 1, 6, 6}, &x));
    OK(glia_param(g, "filters", 4, (int64_t[]){2, 1, 3, 3}, &w));
    OK(glia_conv2d(g, "conv_s1", x, w, -1, &(glia_conv2d_params){0}, &y));
    OK(glia_conv2d(g, "conv_s2", x, w, -1, &(glia_conv2d_params){.stride_h = 2, .stride_w = 2}, &y2));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 4 && s.dim[1] == 2 && s.dim[2] == 4 && s.dim[3] == 4); /* (6-3)/1+1 = 4 */
    OK(glia_node_shape(g, y2, &s));
    CHECK(s.ndim == 4 && s.dim[1] == 2 && s.dim[2] == 2 && s.dim[3] == 2); /* (6-3)/2+1 = 2 */
    OK(glia_graph_compile(g, 0));
    OK(glia_node_set(g, x, COURSE_IMG, 36));
    OK(glia_node_set(g, w, COURSE_FILTERS, 18));
    OK(glia_graph_forward(g));
    const float *Y = glia_node_value(g, y), *Y2 = glia_node_value(g, y2);
    for (int i = 0; i < 16; i++) {
        CHECK_MSG(Y[i] == want1[i], "filter 1 at (%d,%d): %g, course says %g", i / 4, i % 4, Y[i], want1[i]);
        CHECK_MSG(Y[16 + i] == want2[i], "filter 2 at (%d,%d): %g, course says %g", i / 4, i % 4,
                  Y[16 + i], want2[i]);
    }
    for (int i = 0; i < 4; i++)
        CHECK_MSG(Y2[i] == want_s2[i], "stride 2 at (%d,%d): %g, course says %g", i / 2, i % 2,
                  Y2[i], want_s2[i]);
    glia_graph_free(g);

    /* 4 filters of 3x3 over 3 channels: 4*3*3*3 weights + 4 biases = 112 parameters */
    int b, y3;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "rgb", 4, (int64_t[]){1, 3, 8, 8}, &x));
    OK(glia_param(g, "w", 4, (int64_t[]){4, 3, 3, 3}, &w));
    OK(glia_param(g, "b", 1, (int64_t[]){4}, &b));
    OK(glia_conv2d(g, "conv", x, w, b, NULL, &y3));
    int64_t params = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++)
        if (glia_node_is_param(g, i)) {
            OK(glia_node_shape(g, i, &s));
            params += glia_shape_numel(&s);
        }
    CHECK(params == 112);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    glia_memory_stats ms;
    OK(glia_graph_memory(g, &ms));
    CHECK(ms.params == 112 * sizeof(float));
    glia_graph_free(g);
}

/* A node used twice: both backward passes must ADD into the shared gradients (dx and dw of
 * y = conv(x, w) + conv(x, w) are twice those of one conv), on the im2col and the 1x1 paths. */
TEST(conv_backward_accumulates) {
    static const conv_case cs[2] = {
        {"3x3 pad 1", 2, 3, 5, 4, 2, 3, 3,
         {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1}, 1},
        {"1x1", 2, 3, 5, 4, 2, 1, 1, {0}, 1}};
    for (int k = 0; k < 2; k++) {
        const conv_case *c = &cs[k];
        glia_graph *g;
        int x, w, b, y1, y2, z;
        OK(build(c, c->N, &g, &x, &w, &b, &y1));
        OK(glia_conv2d(g, "conv_again", x, w, b, &c->p, &y2));
        OK(glia_add(g, "sum", y1, y2, &z));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        int nx = c->N * c->C * c->H * c->W, nw = c->O * c->C * c->kh * c->kw;
        int OH = out_size(c->H, c->p.pad_top, c->p.pad_bottom, 1, c->kh, 1);
        int OW = out_size(c->W, c->p.pad_left, c->p.pad_right, 1, c->kw, 1);
        int ny = c->N * c->O * OH * OW;
        float *X = glia_node_value(g, x), *W = glia_node_value(g, w), *B = glia_node_value(g, b);
        float seed[200];
        CHECK(ny <= 200);
        fill_uniform(X, nx, -1, 1, 31);
        fill_uniform(W, nw, -1, 1, 32);
        fill_uniform(B, c->O, -1, 1, 33);
        fill_uniform(seed, ny, -1, 1, 34);
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, z, seed, 0));
        conv_ref r;
        if (!reference_conv(c, X, W, B, seed, &r)) {
            ref_free(&r);
            glia_graph_free(g);
            return;
        }
        /* twice the single conv's values, and twice the scales */
        for (int i = 0; i < ny; i++) r.y[i] *= 2, r.sy[i] *= 2;
        for (int i = 0; i < nx; i++) r.dx[i] *= 2, r.sdx[i] *= 2;
        for (int i = 0; i < nw; i++) r.dw[i] *= 2, r.sdw[i] *= 2;
        for (int i = 0; i < c->O; i++) r.db[i] *= 2, r.sdb[i] *= 2;
        double e[4] = {scaled_err(glia_node_value(g, z), r.y, r.sy, ny),
                       scaled_err(glia_node_grad(g, x), r.dx, r.sdx, nx),
                       scaled_err(glia_node_grad(g, w), r.dw, r.sdw, nw),
                       scaled_err(glia_node_grad(g, b), r.db, r.sdb, c->O)};
        ref_free(&r);
        CHECK_MSG(e[0] < 1e-5 && e[1] < 1e-5 && e[2] < 1e-5 && e[3] < 1e-5,
                  "%s: y %.3g, dx %.3g, dw %.3g, db %.3g", c->what, e[0], e[1], e[2], e[3]);
        glia_graph_free(g);
    }
}

/* Only some gradients wanted: x needs none, w frozen, b trainable. Backward must compute db
 * and touch nothing else (x and w have no gradient buffer). */
TEST(conv_partial_gradients) {
    const conv_case *c = &CASES[0];
    glia_graph *g;
    int x, w, b, y;
    OK(build(c, c->N, &g, &x, &w, &b, &y));
    OK(glia_node_set_trainable(g, w, 0));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    int nx = c->N * c->C * c->H * c->W, nw = c->O * c->C * c->kh * c->kw;
    int ny = c->N * c->O * 4 * 3;
    float *X = glia_node_value(g, x), *W = glia_node_value(g, w), *B = glia_node_value(g, b);
    float seed[96];
    fill_uniform(X, nx, -1, 1, 41);
    fill_uniform(W, nw, -1, 1, 42);
    fill_uniform(B, c->O, -1, 1, 43);
    fill_uniform(seed, ny, -1, 1, 44);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    CHECK(glia_node_grad(g, x) == NULL && glia_node_grad(g, w) == NULL);
    conv_ref r;
    if (!reference_conv(c, X, W, B, seed, &r)) {
        ref_free(&r);
        glia_graph_free(g);
        return;
    }
    double ey = scaled_err(glia_node_value(g, y), r.y, r.sy, ny);
    double eb = scaled_err(glia_node_grad(g, b), r.db, r.sdb, c->O);
    ref_free(&r);
    CHECK_MSG(ey < 1e-5 && eb < 1e-5, "y %.3g, db %.3g", ey, eb);
    glia_graph_free(g);
}

/* Bit-identical results with 1 and 3 threads (no float sum is split across threads). */
static void threads_bit_identical(const conv_case *cp) {
    const conv_case c = *cp;
    glia_graph *g;
    int x, w, b, y;
    OK(build(&c, c.N, &g, &x, &w, &b, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    int nx = c.N * c.C * c.H * c.W, nw = c.O * (c.C / dflt(c.p.groups)) * c.kh * c.kw;
    glia_shape ys;
    OK(glia_node_shape(g, y, &ys));
    int ny = (int)glia_shape_numel(&ys);
    fill_uniform(glia_node_value(g, x), nx, -1, 1, 51);
    fill_uniform(glia_node_value(g, w), nw, -1, 1, 52);
    fill_uniform(glia_node_value(g, b), c.O, -1, 1, 53);
    float *seed = malloc((size_t)ny * sizeof *seed);
    fill_uniform(seed, ny, -1, 1, 54);
    size_t total = (size_t)(ny + nx + nw + c.O);
    float *run[2] = {malloc(total * sizeof(float)), malloc(total * sizeof(float))};
    int threads[2] = {1, 3}, ok = 1;
    for (int r = 0; r < 2 && ok; r++) {
        glia_set_num_threads(threads[r]);
        ok = !glia_graph_forward(g) && !glia_graph_backward(g, y, seed, 0);
        float *o = run[r];
        memcpy(o, glia_node_value(g, y), (size_t)ny * sizeof(float));
        memcpy(o + ny, glia_node_grad(g, x), (size_t)nx * sizeof(float));
        memcpy(o + ny + nx, glia_node_grad(g, w), (size_t)nw * sizeof(float));
        memcpy(o + ny + nx + nw, glia_node_grad(g, b), (size_t)c.O * sizeof(float));
    }
    glia_set_num_threads(0);
    int same = ok && !memcmp(run[0], run[1], total * sizeof(float));
    free(run[0]), free(run[1]), free(seed);
    CHECK_MSG(ok, "run failed: %s", glia_last_error());
    CHECK_MSG(same, "%s: results differ between 1 and 3 threads", c.what);
    glia_graph_free(g);
}

TEST(conv_threads_bit_identical) {
    const conv_case im2col = {"im2col: big enough to run in parallel, image groups", 10, 8, 21,
                              20, 8, 3, 3, {.stride_w = 2, .pad_top = 1, .pad_bottom = 1,
                                            .pad_left = 1, .pad_right = 1, .groups = 2}, 1};
    /* 12 filters: dw sums across vector lanes (the dw kernel); 20: one lane per filter (dwt) */
    const conv_case direct = {"direct: big enough to run in parallel, image groups", 10, 8, 21,
                              20, 12, 3, 3, {.pad_top = 1, .pad_bottom = 1, .pad_left = 1,
                                             .pad_right = 1}, 1};
    conv_case direct_wide = direct;
    direct_wide.O = 20;
    threads_bit_identical(&im2col);
    if (!test_failed_flag) threads_bit_identical(&direct);
    if (!test_failed_flag) threads_bit_identical(&direct_wide);
}

/* dy transposed for the dwt kernel: 16 x 16 blocks (AVX-512), the positions and channels past
 * the last full block, and the bias lanes with the bits of glia__lanes_sum, added over two
 * images; element by element (avx512 = 0) the same. Channels O..Ot-1 are left alone. */
TEST(conv_dyt_blocks_and_bias_lanes) {
    enum { O = 37, P = 50, Ot = 48 };
    float *dy = malloc(sizeof(float) * 2 * O * P), *dk = malloc(sizeof(float) * P * Ot);
    fill_uniform(dy, 2 * O * P, -1, 1, 21);
    int sets = 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx512f")) sets = 2;
#endif
    for (int avx512 = 0; avx512 < sets && !test_failed_flag; avx512++) {
        double dbl[O][GLIA_LANES], ref[O][GLIA_LANES];
        for (int o = 0; o < O; o++)
            for (int l = 0; l < GLIA_LANES; l++) dbl[o][l] = ref[o][l] = 0.25 * (o - l);
        int bad = 0;
        for (int k = 0; k < 2; k++) {
            const float *d = dy + (size_t)k * O * P;
            for (int i = 0; i < P * Ot; i++) dk[i] = -7.0f;
            glia__conv_dyt(d, O, P, Ot, dk, &dbl[0][0], avx512);
            for (int o = 0; o < O; o++) glia__lanes_sum(ref[o], d + (size_t)o * P, P);
            for (int p = 0; p < P; p++)
                for (int o = 0; o < Ot; o++)
                    bad += dk[p * Ot + o] != (o < O ? d[o * P + p] : -7.0f);
        }
        CHECK_MSG(bad == 0, "avx512 %d: %d elements of dyt wrong", avx512, bad);
        CHECK_MSG(memcmp(dbl, ref, sizeof dbl) == 0, "avx512 %d: bias lanes differ from glia__lanes_sum",
                  avx512);
    }
    free(dy);
    free(dk);
}

static int msg_has(const char *a, const char *b, const char *c) {
    const char *e = glia_last_error();
    return strstr(e, a) && (!b || strstr(e, b)) && (!c || strstr(e, c));
}

TEST(conv_shape_errors) {
    glia_graph *g;
    int x, w, w2, w3, w4, w6, bad_b, y, x1, k5;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){1, 3, 6, 6}, &x));
    OK(glia_param(g, "w", 4, (int64_t[]){4, 2, 3, 3}, &w));
    /* channel mismatch: weight expects 2 input channels, x has 3 */
    CHECK(glia_conv2d(g, "convA", x, w, -1, NULL, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("convA", "[1, 3, 6, 6]", "[4, 2, 3, 3]"), "message: %s", glia_last_error());
    /* with groups 3 it needs 1 channel per group, not 2 */
    OK(glia_param(g, "w6", 4, (int64_t[]){6, 2, 3, 3}, &w6));
    CHECK(glia_conv2d(g, "convA2", x, w6, -1, &(glia_conv2d_params){.groups = 3}, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("convA2", "[1, 3, 6, 6]", "[6, 2, 3, 3]"), "message: %s", glia_last_error());
    /* kernel larger than the input (5x5 over 4x4), fine once padded to 6x6 */
    OK(glia_input(g, "small", 4, (int64_t[]){1, 1, 4, 4}, &x1));
    OK(glia_param(g, "k5", 4, (int64_t[]){2, 1, 5, 5}, &k5));
    CHECK(glia_conv2d(g, "convB", x1, k5, -1, NULL, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("convB", "[1, 1, 4, 4]", "[2, 1, 5, 5]"), "message: %s", glia_last_error());
    /* dilation 2 makes a 3x3 kernel span 5x5 */
    OK(glia_param(g, "k3", 4, (int64_t[]){2, 1, 3, 3}, &w4));
    CHECK(glia_conv2d(g, "convB2", x1, w4, -1, &(glia_conv2d_params){.dilation_h = 2}, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("convB2", "[1, 1, 4, 4]", NULL), "message: %s", glia_last_error());
    /* groups dividing C but not O */
    OK(glia_param(g, "w3", 4, (int64_t[]){5, 1, 3, 3}, &w3));
    CHECK(glia_conv2d(g, "convC", x, w3, -1, &(glia_conv2d_params){.groups = 3}, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("convC", "[5, 1, 3, 3]", "groups"), "message: %s", glia_last_error());
    /* bias of the wrong size */
    OK(glia_param(g, "w2", 4, (int64_t[]){4, 3, 3, 3}, &w2));
    OK(glia_param(g, "bad_b", 1, (int64_t[]){3}, &bad_b));
    CHECK(glia_conv2d(g, "convD", x, w2, bad_b, NULL, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("convD", "bad_b", "[3]"), "message: %s", glia_last_error());
    /* not an image */
    CHECK(glia_conv2d(g, "convE", bad_b, w2, -1, NULL, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("convE", "[3]", NULL), "message: %s", glia_last_error());
    /* negative attributes are errors, not defaults */
    CHECK(glia_conv2d(g, "convF", x, w2, -1, &(glia_conv2d_params){.stride_w = -1}, &y) == GLIA_EINVAL);
    CHECK_MSG(msg_has("convF", "stride_w", NULL), "message: %s", glia_last_error());
    CHECK(glia_conv2d(g, "convG", x, w2, -1, &(glia_conv2d_params){.pad_left = -2}, &y) == GLIA_EINVAL);
    CHECK_MSG(msg_has("convG", "pad_left", NULL), "message: %s", glia_last_error());
    int before = glia_graph_num_nodes(g);
    /* and the valid ones go through */
    OK(glia_conv2d(g, "convH", x1, k5, -1, &(glia_conv2d_params){.pad_top = 1, .pad_bottom = 1,
                                                                   .pad_left = 1, .pad_right = 1}, &y));
    CHECK(glia_graph_num_nodes(g) == before + 1);
    CHECK(before == 9); /* 9 leaves; none of the failed convs was added */
    glia_graph_free(g);
}
