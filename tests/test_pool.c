/* test_pool.c: max/average/global-average pooling against finite differences, the reference
 * device's plain loops, PyTorch golden values, the course's worked example, PyTorch's tie and
 * padding rules, and shape errors. */
#include "test.h"
#include "ops/pool.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *what;
    int N, C, H, W;
    glia_pool2d_params p;
} pool_case;

static const pool_case CASES[] = {
    {"2x2, default stride, odd input (floor)", 2, 3, 7, 5, {2, 2, 0, 0, 0, 0, 0}},
    {"3x3 stride 2 padding 1 (overlapping windows)", 2, 2, 7, 8, {3, 3, 2, 2, 1, 1, 0}},
    {"kernel (3,2) stride (2,1) padding (1,0)", 3, 2, 7, 5, {3, 2, 2, 1, 1, 0, 0}},
    {"3x3 stride 1 padding 1", 1, 2, 5, 6, {3, 3, 1, 1, 1, 1, 0}},
    {"kernel (2,4) stride (1,3) padding (1,2)", 1, 1, 6, 9, {2, 4, 1, 3, 1, 2, 0}},
    {"one window covering the input", 2, 2, 4, 3, {4, 3, 0, 0, 0, 0, 0}},
    {"2x2 stride 1 (overlapping windows, no padding)", 2, 2, 5, 6, {2, 2, 1, 1, 0, 0, 0}},
    /* 2x2 stride 2: pool_max2x2.c's vectors of 16 windows, full and masked */
    {"2x2 stride 2, rows of 20 windows (16 + 4)", 1, 2, 5, 40, {2, 2, 2, 2, 0, 0, 0}},
    {"2x2, odd width 37 (18 windows a row)", 1, 2, 6, 37, {2, 2, 0, 0, 0, 0, 0}},
    {"2x2, rows of 9 windows (the second half of a vector's cells)", 1, 2, 4, 18, {2, 2, 0, 0, 0, 0, 0}},
    /* ceil_mode: windows past the padded input (GoogLeNet's pools), a last one dropped */
    {"3x3 stride 2 ceil_mode (GoogLeNet's)", 2, 2, 8, 10, {3, 3, 2, 2, 0, 0, 1}},
    {"kernel (2,3) stride 2 padding 1 ceil_mode (last row dropped)", 1, 2, 5, 6, {2, 3, 2, 2, 1, 1, 1}},
    {"2x2 stride 2 ceil_mode, odd sizes (not the 2x2 paths)", 1, 2, 5, 37, {2, 2, 2, 2, 0, 0, 1}},
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

enum { MAX, AVG, GLOBAL };
static const char *const KIND[] = {"max", "avg", "global"};

static int stride_of(int s, int k) { return s ? s : k; }

static void out_hw(const pool_case *c, int kind, int *OH, int *OW) {
    if (kind == GLOBAL) {
        *OH = *OW = 1;
        return;
    }
    const int sh = stride_of(c->p.stride_h, c->p.kernel_h), sw = stride_of(c->p.stride_w, c->p.kernel_w);
    const int ah = c->H + 2 * c->p.pad_h - c->p.kernel_h, aw = c->W + 2 * c->p.pad_w - c->p.kernel_w;
    *OH = (c->p.ceil_mode ? (ah + sh - 1) / sh : ah / sh) + 1;
    *OW = (c->p.ceil_mode ? (aw + sw - 1) / sw : aw / sw) + 1;
    /* PyTorch's pooling_output_shape: the last window must start inside the input or the
     * left padding */
    if (c->p.ceil_mode && (*OH - 1) * sh >= c->H + c->p.pad_h) --*OH;
    if (c->p.ceil_mode && (*OW - 1) * sw >= c->W + c->p.pad_w) --*OW;
}

static glia_status build(const pool_case *c, int kind, glia_graph **g, int *x, int *y) {
    glia_status s;
    if ((s = glia_graph_new(g))) return s;
    if ((s = glia_input(*g, "x", 4, (int64_t[]){c->N, c->C, c->H, c->W}, x))) return s;
    if (kind == MAX) return glia_maxpool2d(*g, "pool", *x, &c->p, y);
    if (kind == AVG) return glia_avgpool2d(*g, "pool", *x, &c->p, y);
    return glia_global_avgpool(*g, "pool", *x, y);
}

static void check_vs_reference(const pool_case *c, int kind) {
    glia_graph *g;
    int x, y;
    OK(build(c, kind, &g, &x, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    int OH, OW;
    out_hw(c, kind, &OH, &OW);
    glia_shape ys;
    OK(glia_node_shape(g, y, &ys));
    CHECK_MSG(ys.ndim == 4 && ys.dim[0] == c->N && ys.dim[1] == c->C && ys.dim[2] == OH &&
              ys.dim[3] == OW, "%s %s: output shape [%lld, %lld, %lld, %lld], expected [%d, %d, %d, %d]",
              KIND[kind], c->what, (long long)ys.dim[0], (long long)ys.dim[1],
              (long long)ys.dim[2], (long long)ys.dim[3], c->N, c->C, OH, OW);
    int nx = c->N * c->C * c->H * c->W, ny = c->N * c->C * OH * OW;
    float *X = glia_node_value(g, x);
    float *seed = malloc((size_t)ny * sizeof *seed), *ry = malloc((size_t)ny * sizeof *ry);
    float *rdx = malloc((size_t)nx * sizeof *rdx);
    fill_uniform(X, nx, -1, 1, 61 + kind);
    fill_uniform(seed, ny, -1, 1, 64);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    /* the reference device's plain loops (src/device/ref_conv.c) on a twin graph */
    glia_graph *rg;
    int rx, ryn;
    OK(build(c, kind, &rg, &rx, &ryn));
    OK(glia_node_requires_grad(rg, rx, 1));
    int ok = reference_run(rg, ryn, seed, 1, &rx, (const float *const[]){X}, ry,
                           (float *const[]){rdx});
    glia_graph_free(rg);
    CHECK(ok);
    double ey = max_rel_diff(glia_node_value(g, y), ry, ny, 1e-3, NULL);
    double ex = max_rel_diff(glia_node_grad(g, x), rdx, nx, 1e-3, NULL);
    free(seed), free(ry), free(rdx);
    if (getenv("GLIA_TEST_VERBOSE"))
        printf("     %-6s %-50s y %.2g dx %.2g\n", KIND[kind], c->what, ey, ex);
    /* max pooling picks values: its output must be exact */
    CHECK_MSG((kind == MAX ? ey == 0 : ey < 1e-5) && ex < 1e-5,
              "%s pooling, %s: relative differences from the reference device: y %.3g, dx %.3g",
              KIND[kind], c->what, ey, ex);
    ref_checked(g, y);
    glia_graph_free(g);
}

TEST(pool_matches_reference) {
    for (int kind = MAX; kind <= GLOBAL; kind++)
        for (int k = 0; k < N_CASES && !test_failed_flag; k++) check_vs_reference(&CASES[k], kind);
}

/* n distinct values spread evenly over [-1, 1) in a random order: any two differ by 2/n, far
 * more than the checker's step of 1e-3, so no step changes a window's argmax. (With random
 * uniform values some pairs in a window differ by less than the step; the checker skips only
 * the clear kinks, and a half-crossed one shows up as a large error.) */
static void fill_separated(float *x, int n, uint64_t seed) {
    glia_rng r;
    glia_rng_seed(&r, seed, 5);
    for (int i = 0; i < n; i++) x[i] = -1.0f + 2.0f * ((float)i + 0.5f) / (float)n;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)glia_rng_below(&r, (uint32_t)i + 1);
        float t = x[i];
        x[i] = x[j], x[j] = t;
    }
}

static void gradcheck_case(const pool_case *c, int kind) {
    glia_graph *g;
    int x, y;
    OK(build(c, kind, &g, &x, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    int nx = c->N * c->C * c->H * c->W;
    if (kind == MAX) fill_separated(glia_node_value(g, x), nx, 71);
    else fill_uniform(glia_node_value(g, x), nx, -1, 1, 71 + kind);
    /* Average pooling is linear in x: central differences are exact at any step, and a step
     * of 0.05 keeps float32 rounding noise (~1e-3 relative with a step of 1e-3) out of the
     * check. Max pooling keeps GRADCHECK's 1e-3, well below the 2/n between values. */
    double err = 0;
    int64_t n = 0;
    OK(test_gradcheck(g, y, x, kind == MAX ? 1e-3f : 0.05f, &err, &n));
    if (getenv("GLIA_TEST_VERBOSE"))
        printf("     %-6s %-50s dx %.2g (%lld of %d checked)\n", KIND[kind], c->what, err,
               (long long)n, nx);
    /* every element is checked: with separated values no window has a kink */
    CHECK_MSG(n == nx, "%s pooling, %s: only %lld of %d elements checked", KIND[kind], c->what,
              (long long)n, nx);
    CHECK_MSG(err <= 1e-3, "%s pooling, %s: gradcheck relative error %.3g > 1e-3", KIND[kind],
              c->what, err);
    glia_graph_free(g);
}

TEST(pool_gradcheck) {
    for (int kind = MAX; kind <= GLOBAL; kind++)
        for (int k = 0; k < N_CASES; k++) {
            gradcheck_case(&CASES[k], kind);
            CHECK_MSG(!test_failed_flag, "%s pooling, %s", KIND[kind], CASES[k].what);
        }
}

/* Golden files carry x and attr = [kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w] and
 * for ceil_mode a 7th value, 1. */
static void golden_case(const char *file, int kind, double tol) {
    golden *gd = golden_load(file);
    if (!gd) return;
    glia_shape xs, as;
    const float *xv = golden_get(gd, "x", &xs);
    const float *attr = kind == GLOBAL ? NULL : golden_get(gd, "attr", &as);
    int good = xv && xs.ndim == 4 &&
               (kind == GLOBAL || (attr && as.ndim == 1 && (as.dim[0] == 6 || as.dim[0] == 7)));
    glia_pool2d_params p = {0};
    if (good && attr)
        p = (glia_pool2d_params){(int)attr[0], (int)attr[1], (int)attr[2], (int)attr[3],
                                 (int)attr[4], (int)attr[5], as.dim[0] == 7 ? (int)attr[6] : 0};
    golden_free(gd);
    CHECK_MSG(good, "%s: x or attr is missing or malformed", file);
    pool_case c = {file, (int)xs.dim[0], (int)xs.dim[1], (int)xs.dim[2], (int)xs.dim[3], p};
    glia_graph *g;
    int x, y;
    OK(build(&c, kind, &g, &x, &y));
    GOLDEN_CHECK(g, file, y, 1, ((const char *[]){"x"}), ((int[]){x}), tol);
    glia_graph_free(g);
}

TEST(pool_golden_pytorch) {
    static const struct { const char *file; int kind; } files[] = {
        {"pool_max_2x2", MAX}, {"pool_max_k3s2p1", MAX}, {"pool_max_rect", MAX},
        {"pool_avg_2x2", AVG}, {"pool_avg_k3s2p1", AVG}, {"pool_avg_rect", AVG},
        {"pool_max_ceil", MAX}, {"pool_max_ceil_pad", MAX}, {"pool_avg_ceil", AVG},
        {"pool_avg_ceil_pad", AVG},
        {"pool_global_avg", GLOBAL}};
    for (int k = 0; k < (int)(sizeof files / sizeof files[0]) && !test_failed_flag; k++)
        golden_case(files[k].file, files[k].kind, 1e-5);
}

/* a mean of 31*33 = 1023 values */
TEST(pool_golden_pytorch_long_reduction) { golden_case("pool_global_avg_long", GLOBAL, 1e-4); }

/* The course: 2x2 max pooling of the two feature maps of the 6x6 example image. */
TEST(pool_course_example) {
    static const float img[36] = {
        1, 0, 0, 0, 0, 1,
        0, 1, 0, 0, 1, 0,
        0, 0, 1, 1, 0, 0,
        1, 0, 0, 0, 1, 0,
        0, 1, 0, 0, 1, 0,
        0, 0, 1, 0, 1, 0};
    static const float filters[18] = {1, -1, -1, -1, 1, -1, -1, -1, 1,
                                      -1, 1, -1, -1, 1, -1, -1, 1, -1};
    static const float want[8] = {3, 0, 3, 1,   /* filter 1 */
                                  -1, 1, 0, 3}; /* filter 2 */
    glia_graph *g;
    int x, w, f, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "image", 4, (int64_t[]){1, 1, 6, 6}, &x));
    OK(glia_param(g, "filters", 4, (int64_t[]){2, 1, 3, 3}, &w));
    OK(glia_conv2d(g, "features", x, w, -1, NULL, &f));
    OK(glia_maxpool2d(g, "pooled", f, &(glia_pool2d_params){.kernel_h = 2, .kernel_w = 2}, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 4 && s.dim[1] == 2 && s.dim[2] == 2 && s.dim[3] == 2);
    OK(glia_graph_compile(g, 0));
    OK(glia_node_set(g, x, img, 36));
    OK(glia_node_set(g, w, filters, 18));
    OK(glia_graph_forward(g));
    const float *Y = glia_node_value(g, y);
    for (int i = 0; i < 8; i++)
        CHECK_MSG(Y[i] == want[i], "filter %d, pooled (%d,%d): %g, course says %g", i / 4 + 1,
                  i % 4 / 2, i % 2, Y[i], want[i]);
    glia_graph_free(g);
}

/* PyTorch's rules: the first of tied maxima gets the gradient; padding is -infinity (never
 * chosen, even when every real value is negative); average pooling counts padded zeros. */
/* A NaN in a window makes the maximum NaN and takes the gradient, the last NaN in scan order
 * (row by row) winning, as in PyTorch (val > max || isnan(val)); 2x2 windows take a path of
 * their own, and 2x3 the general one: both must agree. */
TEST(maxpool_nan) {
    const float nan = NAN;
    /* 2x6 input; 2x2 windows: [1 nan; 3 2], [nan 5; nan 0], [7 8; 9 6] */
    const float in[12] = {1, nan, nan, 5, 7, 8, 3, 2, nan, 0, 9, 6};
    const int kw[2] = {2, 3};
    for (int t = 0; t < 2; t++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 4, (int64_t[]){1, 1, 2, 6}, &x));
        OK(glia_maxpool2d(g, "max", x, &(glia_pool2d_params){2, kw[t], 2, kw[t], 0, 0, 0}, &y));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        OK(glia_node_set(g, x, in, 12));
        OK(glia_graph_forward(g));
        const float *yv = glia_node_value(g, y);
        float seed[3] = {1, 2, 3};
        OK(glia_graph_backward(g, y, seed, 0));
        const float *dx = glia_node_grad(g, x);
        if (t == 0) {
            CHECK_MSG(isnan(yv[0]) && isnan(yv[1]) && yv[2] == 9, "2x2: y = %g %g %g", yv[0],
                      yv[1], yv[2]);
            static const float want[12] = {0, 1, 0, 0, 0, 0, 0, 0, 2, 0, 3, 0};
            for (int i = 0; i < 12; i++)
                CHECK_MSG(dx[i] == want[i], "2x2: dx[%d] = %g, expected %g", i, dx[i], want[i]);
        } else { /* 2x3 windows: [1 nan nan; 3 2 nan] and [5 7 8; 0 9 6] */
            CHECK_MSG(isnan(yv[0]) && yv[1] == 9, "2x3: y = %g %g", yv[0], yv[1]);
            static const float want[12] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0};
            for (int i = 0; i < 12; i++)
                CHECK_MSG(dx[i] == want[i], "2x3: dx[%d] = %g, expected %g", i, dx[i], want[i]);
        }
        glia_graph_free(g);
    }
}

TEST(pool_ties_and_padding) {
    glia_graph *g;
    int x, ym, ya;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){1, 1, 4, 4}, &x));
    OK(glia_maxpool2d(g, "max", x, &(glia_pool2d_params){2, 2, 0, 0, 0, 0, 0}, &ym));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float ones[16], seed[4] = {1, 2, 3, 4};
    for (int i = 0; i < 16; i++) ones[i] = 1;
    OK(glia_node_set(g, x, ones, 16));
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, ym, seed, 0));
    const float *dx = glia_node_grad(g, x);
    /* windows start at (0,0), (0,2), (2,0), (2,2): those cells take the whole gradient */
    static const float want[16] = {1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        CHECK_MSG(dx[i] == want[i], "dx[%d] = %g, expected %g", i, dx[i], want[i]);
    glia_graph_free(g);

    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){1, 1, 3, 3}, &x));
    OK(glia_maxpool2d(g, "max", x, &(glia_pool2d_params){3, 3, 1, 1, 1, 1, 0}, &ym));
    OK(glia_avgpool2d(g, "avg", x, &(glia_pool2d_params){3, 3, 1, 1, 1, 1, 0}, &ya));
    OK(glia_graph_compile(g, 0));
    float neg[9];
    for (int i = 0; i < 9; i++) neg[i] = -5.0f - (float)i;
    OK(glia_node_set(g, x, neg, 9));
    OK(glia_graph_forward(g));
    const float *Y = glia_node_value(g, ym);
    /* each 3x3 window (padded) holds its largest real neighbour, never a padded 0 */
    static const float want_max[9] = {-5, -5, -6, -5, -5, -6, -8, -8, -9};
    for (int i = 0; i < 9; i++)
        CHECK_MSG(Y[i] == want_max[i], "max y[%d] = %g, expected %g", i, Y[i], want_max[i]);
    for (int i = 0; i < 9; i++) ones[i] = 1;
    OK(glia_node_set(g, x, ones, 9));
    OK(glia_graph_forward(g));
    Y = glia_node_value(g, ya);
    /* count_include_pad: a corner sees 4 real cells of 9, an edge 6, the centre 9 */
    static const float cnt[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    for (int i = 0; i < 9; i++)
        CHECK_MSG(Y[i] == cnt[i] / 9.0f, "avg y[%d] = %.9g, expected %.9g", i, Y[i], cnt[i] / 9.0f);
    glia_graph_free(g);
}

/* one forward and backward (seed on y); out = y, then dx: what two runs compare bit for bit */
static int run_into(glia_graph *g, int x, int y, const float *seed, int nx, int ny, float *out) {
    if (glia_graph_forward(g) || glia_graph_backward(g, y, seed, 0)) return 0;
    memcpy(out, glia_node_value(g, y), (size_t)ny * 4);
    memcpy(out + ny, glia_node_grad(g, x), (size_t)nx * 4);
    return 1;
}

/* Bit-identical results with 1 and 3 threads. */
TEST(pool_threads_bit_identical) {
    const pool_case c = {"large", 4, 8, 33, 30, {3, 3, 2, 2, 1, 1, 0}};
    for (int kind = MAX; kind <= GLOBAL; kind++) {
        glia_graph *g;
        int x, y;
        OK(build(&c, kind, &g, &x, &y));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        int OH, OW;
        out_hw(&c, kind, &OH, &OW);
        int nx = c.N * c.C * c.H * c.W, ny = c.N * c.C * OH * OW;
        fill_uniform(glia_node_value(g, x), nx, -1, 1, 81);
        float *seed = malloc((size_t)ny * sizeof *seed);
        fill_uniform(seed, ny, -1, 1, 82);
        float *run[2] = {malloc((size_t)(nx + ny) * 4), malloc((size_t)(nx + ny) * 4)};
        int threads[2] = {1, 3}, ok = 1;
        for (int r = 0; r < 2 && ok; r++) {
            glia_set_num_threads(threads[r]);
            ok = run_into(g, x, y, seed, nx, ny, run[r]);
        }
        glia_set_num_threads(0);
        int same = ok && !memcmp(run[0], run[1], (size_t)(nx + ny) * 4);
        free(run[0]), free(run[1]), free(seed);
        CHECK_MSG(ok, "%s: run failed: %s", KIND[kind], glia_last_error());
        CHECK_MSG(same, "%s pooling: results differ between 1 and 3 threads", KIND[kind]);
        glia_graph_free(g);
    }
}

/* 2x2 windows with stride 2: the AVX-512 forward (rows of 8 windows or more) and the scalar
 * loops give the same bits for y and dx (the argmax), with many ties (values from {0, 1, 2}),
 * NaNs, odd heights and row widths from 1 to 35 windows. */
TEST(maxpool_2x2_simd_matches_scalar) {
    if (!glia__max2x2_simd()) return; /* nothing to compare on this CPU */
    for (int W = 2; W <= 71 && !test_failed_flag; W += 3) {
        const pool_case c = {"2x2", 2, 3, 7, W, {2, 2, 0, 0, 0, 0, 0}};
        glia_graph *g;
        int x, y;
        OK(build(&c, MAX, &g, &x, &y));
        OK(glia_node_requires_grad(g, x, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        int OH, OW;
        out_hw(&c, MAX, &OH, &OW);
        int nx = c.N * c.C * c.H * c.W, ny = c.N * c.C * OH * OW;
        float *X = glia_node_value(g, x), *seed = malloc((size_t)ny * sizeof *seed);
        fill_uniform(X, nx, 0, 3, 91 + W);
        for (int i = 0; i < nx; i++) X[i] = i % 29 == 5 ? NAN : floorf(X[i]);
        fill_uniform(seed, ny, -1, 1, 92);
        float *run[2] = {malloc((size_t)(nx + ny) * 4), malloc((size_t)(nx + ny) * 4)};
        int ok = 1;
        for (int r = 0; r < 2 && ok; r++) {
            glia__pool_algo = r;
            ok = run_into(g, x, y, seed, nx, ny, run[r]);
        }
        glia__pool_algo = 0;
        int same = ok && !memcmp(run[0], run[1], (size_t)(nx + ny) * 4);
        free(run[0]), free(run[1]), free(seed);
        CHECK_MSG(ok, "width %d: run failed: %s", W, glia_last_error());
        CHECK_MSG(same, "width %d: AVX-512 and scalar 2x2 max pooling differ", W);
        glia_graph_free(g);
    }
}

/* Inference (no backward): max pooling's values-only path (pool.c, max_plane_values) gives the
 * scan's values for every case (padding, strides, ceil_mode), with ties (values from {-1, 0, 1},
 * no negative zeros) and NaNs. */
TEST(maxpool_values_only_matches_scan) {
    for (int k = 0; k < N_CASES && !test_failed_flag; k++) {
        const pool_case *c = &CASES[k];
        glia_graph *g;
        int x, y, OH, OW;
        OK(build(c, MAX, &g, &x, &y));
        OK(glia_graph_compile(g, 0));
        out_hw(c, MAX, &OH, &OW);
        int nx = c->N * c->C * c->H * c->W, ny = c->N * c->C * OH * OW;
        float *X = glia_node_value(g, x), *out[2];
        fill_uniform(X, nx, 0, 3, 95 + k);
        for (int i = 0; i < nx; i++) X[i] = i % 23 == 7 ? NAN : floorf(X[i]) - 1.0f;
        int ok = 1;
        for (int r = 0; r < 2; r++) {
            out[r] = malloc((size_t)ny * sizeof(float));
            glia__pool_algo = r; /* 0: values only (the 2x2 kernel where it runs); 1: the scan */
            ok = ok && !glia_graph_forward(g) && !glia_node_read(g, y, out[r], ny);
        }
        glia__pool_algo = 0;
        int same = ok && !memcmp(out[0], out[1], (size_t)ny * sizeof(float));
        int nans = 0;
        for (int i = 0; ok && i < ny; i++) nans += out[1][i] != out[1][i];
        free(out[0]), free(out[1]);
        glia_graph_free(g);
        CHECK_MSG(ok, "%s: run failed: %s", c->what, glia_last_error());
        CHECK_MSG(same, "%s: values-only max pooling differs from the scan", c->what);
        CHECK_MSG(nans > 0 && nans < ny, "%s: %d of %d outputs NaN", c->what, nans, ny);
    }
}

static int msg_has(const char *a, const char *b) {
    const char *e = glia_last_error();
    return strstr(e, a) && (!b || strstr(e, b));
}

TEST(pool_errors) {
    glia_graph *g;
    int x, flat, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){2, 3, 4, 5}, &x));
    OK(glia_input(g, "flat", 2, (int64_t[]){2, 60}, &flat));
    /* kernel larger than the input: 5x5 over 4x5 */
    CHECK(glia_maxpool2d(g, "poolA", x, &(glia_pool2d_params){5, 5, 0, 0, 0, 0, 0}, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("poolA", "[2, 3, 4, 5]"), "message: %s", glia_last_error());
    CHECK(glia_avgpool2d(g, "poolB", x, &(glia_pool2d_params){2, 6, 0, 0, 0, 0, 0}, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("poolB", "[2, 3, 4, 5]"), "message: %s", glia_last_error());
    /* not [N, C, H, W] */
    CHECK(glia_maxpool2d(g, "poolC", flat, &(glia_pool2d_params){2, 2, 0, 0, 0, 0, 0}, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("poolC", "[2, 60]"), "message: %s", glia_last_error());
    CHECK(glia_global_avgpool(g, "poolD", flat, &y) == GLIA_ESHAPE);
    CHECK_MSG(msg_has("poolD", "[2, 60]"), "message: %s", glia_last_error());
    /* padding more than half the kernel (PyTorch refuses it too) */
    CHECK(glia_maxpool2d(g, "poolE", x, &(glia_pool2d_params){3, 3, 1, 1, 2, 1, 0}, &y) == GLIA_EINVAL);
    CHECK_MSG(msg_has("poolE", "padding"), "message: %s", glia_last_error());
    /* bad attributes */
    CHECK(glia_maxpool2d(g, "poolF", x, &(glia_pool2d_params){0, 2, 0, 0, 0, 0, 0}, &y) == GLIA_EINVAL);
    CHECK_MSG(msg_has("poolF", "kernel_h"), "message: %s", glia_last_error());
    CHECK(glia_avgpool2d(g, "poolG", x, &(glia_pool2d_params){2, 2, -1, 0, 0, 0, 0}, &y) == GLIA_EINVAL);
    CHECK_MSG(msg_has("poolG", "stride_h"), "message: %s", glia_last_error());
    CHECK(glia_avgpool2d(g, "poolH", x, NULL, &y) == GLIA_EINVAL);
    CHECK_MSG(msg_has("poolH", NULL), "message: %s", glia_last_error());
    CHECK(glia_graph_num_nodes(g) == 2); /* no failed op was added */
    /* the same kernel fits once padded: 5x5 with padding 2 over 4x5 (8x9 padded) */
    OK(glia_maxpool2d(g, "poolI", x, &(glia_pool2d_params){5, 5, 1, 1, 2, 2, 0}, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.dim[2] == 4 && s.dim[3] == 5);
    glia_graph_free(g);
}
