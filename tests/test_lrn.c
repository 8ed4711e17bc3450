/* test_lrn.c: local response normalisation against finite differences (size 1, 3, 4, 5 and a
 * window wider than C; C not a multiple of the size; rank 3, 4 and 5 inputs), the reference
 * device (src/device/ref_norm.c: PyTorch's definition taken literally, in double, backward as an
 * explicit Jacobian-vector product), PyTorch golden values, bit-identical results across thread
 * counts, and argument/shape errors. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

#define CHECK_REL(what, got, want, n, tol)                                                     \
    do {                                                                                       \
        int64_t w_;                                                                            \
        double d_ = max_rel_diff(got, want, n, 1e-3, &w_);                                     \
        CHECK_MSG(d_ <= (tol), "%s: element %lld is %.9g, expected %.9g (relative %.3g > %.3g)", \
                  what, (long long)w_, (got)[w_], (want)[w_], d_, (double)(tol));              \
    } while (0)

typedef struct {
    int ndim;
    int64_t dims[5];
    int size;
    float alpha, beta, k;
} lrn_case;

static const lrn_case CASES[] = {
    {4, {2, 7, 3, 4}, 3, 0.5f, 0.75f, 1.0f},    /* C = 7, not a multiple of 3 */
    {4, {2, 11, 2, 3}, 5, 0.3f, 0.75f, 2.0f},   /* C = 11, not a multiple of 5 */
    {4, {2, 6, 3, 2}, 4, 0.2f, 0.5f, 1.5f},     /* even size: window [c-2, c+1] */
    {4, {1, 5, 2, 2}, 1, 0.8f, 0.75f, 1.0f},    /* size 1: each channel alone */
    {4, {1, 4, 2, 3}, 9, 0.5f, 1.0f, 1.0f},     /* window wider than C */
    {3, {3, 9, 7}, 5, 0.4f, 0.6f, 1.0f},        /* rank 3 [N, C, L] */
    {5, {1, 6, 2, 3, 2}, 3, 0.5f, 0.75f, 1.0f}, /* rank 5 [N, C, D, H, W] */
};
#define N_CASES ((int)(sizeof CASES / sizeof CASES[0]))

static int64_t numel_of(const lrn_case *c) {
    int64_t m = 1;
    for (int i = 0; i < c->ndim; i++) m *= c->dims[i];
    return m;
}

static glia_status lrn_build(const lrn_case *c, glia_graph **g, int *x, int *y) {
    glia_status s;
    if ((s = glia_graph_new(g))) return s;
    if ((s = glia_input(*g, "x", c->ndim, c->dims, x))) return s;
    return glia_lrn(*g, "lrn", *x, c->size, c->alpha, c->beta, c->k, y);
}

TEST(lrn_gradcheck) {
    for (int i = 0; i < N_CASES; i++) {
        const lrn_case *c = &CASES[i];
        glia_graph *g = NULL;
        int x, y;
        OK(lrn_build(c, &g, &x, &y));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        fill_uniform(glia_node_value(g, x), numel_of(c), -2.0f, 2.0f, 100 + (uint64_t)i);
        double err = 0;
        int64_t n = 0;
        OK(test_gradcheck(g, y, x, 1e-3f, &err, &n));
        glia_graph_free(g);
        CHECK_MSG(n > numel_of(c) / 2 && err < 5e-3,
                  "case %d (size %d): gradcheck relative error %.3g (%lld elements checked)", i,
                  c->size, err, (long long)n);
    }
}

/* z = lrn(x) + x: backward must add into dx */
TEST(lrn_backward_accumulates) {
    const lrn_case *c = &CASES[1];
    glia_graph *g;
    int x, y, z;
    OK(lrn_build(c, &g, &x, &y));
    OK(glia_add(g, "z", y, x, &z));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), numel_of(c), -2.0f, 2.0f, 7);
    GRADCHECK(g, z, x, 5e-3);
    glia_graph_free(g);
}

static void lrn_vs_reference(const lrn_case *c, int i) {
    const int64_t m = numel_of(c);
    glia_graph *g = NULL;
    int x, y;
    glia_status st = lrn_build(c, &g, &x, &y);
    if (st) glia_graph_free(g);
    OK(st);
    float *seed = malloc((size_t)m * 4), *ry = malloc((size_t)m * 4), *rdx = malloc((size_t)m * 4);
    double ey = INFINITY, ed = INFINITY;
    int64_t wy = 0, wd = 0;
    if (seed && ry && rdx && !glia_node_requires_grad(g, x, 1) &&
        !glia_graph_compile(g, GLIA_COMPILE_BACKWARD)) {
        float *X = glia_node_value(g, x);
        fill_uniform(X, m, -3.0f, 3.0f, 200 + (uint64_t)i);
        fill_uniform(seed, m, -1.0f, 1.0f, 300 + (uint64_t)i);
        glia_graph *rg = NULL; /* the reference device on a twin graph */
        int rx, ryn;
        int ok = !lrn_build(c, &rg, &rx, &ryn) && !glia_node_requires_grad(rg, rx, 1) &&
                 reference_run(rg, ryn, seed, 1, &rx, (const float *const[]){X}, ry,
                               (float *const[]){rdx});
        glia_graph_free(rg);
        if (ok && !glia_graph_forward(g) && !glia_graph_backward(g, y, seed, 0)) {
            ey = max_rel_diff(glia_node_value(g, y), ry, m, 1e-3, &wy);
            ed = max_rel_diff(glia_node_grad(g, x), rdx, m, 1e-3, &wd);
        }
    }
    free(seed);
    free(ry);
    free(rdx);
    if (ey < 1e-5 && ed < 1e-5) ref_checked(g, y);
    glia_graph_free(g);
    CHECK_MSG(ey < 1e-5 && ed < 1e-5, "case %d (size %d): y relative %.3g (element %lld), dx "
              "relative %.3g (element %lld) %s", i, c->size, ey, (long long)wy, ed, (long long)wd,
              ey == INFINITY ? glia_last_error() : "");
}

TEST(lrn_matches_reference) {
    for (int i = 0; i < N_CASES && !test_failed_flag; i++) lrn_vs_reference(&CASES[i], i);
}

/* 5 samples x 15 blocks of 64 positions = 75 jobs: backward runs in two waves */
TEST(lrn_matches_reference_many_jobs) {
    static const lrn_case c = {4, {5, 3, 30, 30}, 3, 0.5f, 0.75f, 1.0f};
    lrn_vs_reference(&c, -1);
}

static void lrn_golden(const char *file, int ndim, const int64_t *dims, double tol) {
    golden *gd = golden_load(file);
    if (!gd) return;
    const float *attr = golden_get(gd, "attr", NULL);
    lrn_case c = {ndim, {0}, attr ? (int)attr[0] : 0, attr ? attr[1] : 0, attr ? attr[2] : 0,
                  attr ? attr[3] : 0};
    golden_free(gd);
    if (!attr) return;
    memcpy(c.dims, dims, (size_t)ndim * sizeof *dims);
    glia_graph *g = NULL;
    int x, y;
    glia_status s = lrn_build(&c, &g, &x, &y);
    if (s) glia_graph_free(g);
    OK(s);
    int ok = golden_check(g, file, y, 1, (const char *[]){"x"}, (int[]){x}, tol);
    glia_graph_free(g);
    CHECK(ok);
}

TEST(lrn_golden_pytorch_size3) { lrn_golden("norm_lrn_s3", 4, (int64_t[]){2, 7, 4, 5}, 1e-5); }
TEST(lrn_golden_pytorch_size5) { lrn_golden("norm_lrn_s5", 4, (int64_t[]){2, 11, 3, 3}, 1e-5); }
TEST(lrn_golden_pytorch_size4_even) {
    lrn_golden("norm_lrn_s4", 4, (int64_t[]){2, 6, 3, 4}, 1e-5);
}
TEST(lrn_golden_pytorch_rank3) { lrn_golden("norm_lrn_3d", 3, (int64_t[]){3, 9, 7}, 1e-5); }
TEST(lrn_golden_pytorch_alexnet) {
    lrn_golden("norm_lrn_alexnet", 4, (int64_t[]){2, 16, 5, 5}, 1e-5);
}
TEST(lrn_golden_pytorch_wide_window) {
    lrn_golden("norm_lrn_wide", 4, (int64_t[]){1, 4, 2, 3}, 1e-5);
}

/* large enough to run in parallel: 1 and 3 threads give the same bits */
static int lrn_run_threads(int threads, float *out, int64_t m) {
    static const lrn_case c = {4, {3, 12, 20, 20}, 5, 0.3f, 0.75f, 2.0f};
    glia_set_num_threads(threads);
    glia_graph *g = NULL;
    int x, y, ok = 0;
    float *seed = malloc((size_t)m * 4);
    if (!seed || lrn_build(&c, &g, &x, &y) || glia_node_requires_grad(g, x, 1) ||
        glia_graph_compile(g, GLIA_COMPILE_BACKWARD))
        goto done;
    fill_uniform(glia_node_value(g, x), m, -2, 2, 61);
    fill_uniform(seed, m, -1, 1, 62);
    if (glia_graph_forward(g) || glia_graph_backward(g, y, seed, 0)) goto done;
    memcpy(out, glia_node_value(g, y), (size_t)m * 4);
    memcpy(out + m, glia_node_grad(g, x), (size_t)m * 4);
    ok = 1;
done:
    free(seed);
    glia_graph_free(g);
    glia_set_num_threads(0);
    return ok;
}

TEST(lrn_bit_identical_across_threads) {
    const int64_t m = 3 * 12 * 20 * 20;
    float *a = malloc((size_t)m * 8), *b = malloc((size_t)m * 8);
    int ok = a && b && lrn_run_threads(1, a, m) && lrn_run_threads(3, b, m);
    int same = ok && memcmp(a, b, (size_t)m * 8) == 0;
    free(a);
    free(b);
    CHECK_MSG(ok, "%s", glia_last_error());
    CHECK_MSG(same, "LRN results differ between 1 and 3 threads");
}

TEST(lrn_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, x2, y;
    OK(glia_input(g, "x", 4, (int64_t[]){2, 3, 4, 4}, &x));
    OK(glia_input(g, "x2", 2, (int64_t[]){2, 3}, &x2));
    int n0 = glia_graph_num_nodes(g);
    CHECK(glia_lrn(g, "lrn1", x, 0, 1e-4f, 0.75f, 2.0f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "lrn1") && strstr(glia_last_error(), "size"));
    CHECK(glia_lrn(g, "lrn2", x, -3, 1e-4f, 0.75f, 2.0f, &y) == GLIA_EINVAL);
    CHECK(glia_lrn(g, "lrn3", x, 5, -1e-4f, 0.75f, 2.0f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "lrn3") && strstr(glia_last_error(), "alpha"));
    CHECK(glia_lrn(g, "lrn4", x, 5, 1e-4f, NAN, 2.0f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "beta"));
    CHECK(glia_lrn(g, "lrn5", x, 5, 1e-4f, 0.75f, 0.0f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "lrn5") && strstr(glia_last_error(), "k ="));
    CHECK(glia_lrn(g, "lrn6", x, 5, 1e-4f, 0.75f, INFINITY, &y) == GLIA_EINVAL);
    CHECK(glia_lrn(g, "lrn7", x2, 5, 1e-4f, 0.75f, 2.0f, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "lrn7") && strstr(glia_last_error(), "[2, 3]"));
    CHECK(glia_graph_num_nodes(g) == n0);
    OK(glia_lrn(g, "lrn_ok", x, 5, 1e-4f, 0.75f, 2.0f, &y));
    glia_graph_free(g);
}
