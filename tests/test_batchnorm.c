/* test_batchnorm.c: batch normalisation against finite differences (training on [N,C] and
 * [N,C,H,W], inference), the reference device (forward, running statistics, backward), PyTorch
 * golden values, bit-identical results across thread counts, and argument/shape errors. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    glia_graph *g;
    int x, gamma, beta, rm, rv, y;
} bn_net;

/* x of the given shape, gamma/beta params, running stats buffers; values filled after compile */
static glia_status bn_build(bn_net *b, int ndim, const int64_t *dims, float eps, float mom) {
    glia_status s;
    memset(b, 0, sizeof *b);
    int64_t C = dims[1];
    if ((s = glia_graph_new(&b->g))) return s;
    if ((s = glia_input(b->g, "x", ndim, dims, &b->x))) return s;
    if ((s = glia_param(b->g, "gamma", 1, &C, &b->gamma))) return s;
    if ((s = glia_param(b->g, "beta", 1, &C, &b->beta))) return s;
    if ((s = glia_buffer(b->g, "running_mean", 1, &C, &b->rm))) return s;
    if ((s = glia_buffer(b->g, "running_var", 1, &C, &b->rv))) return s;
    return glia_batchnorm(b->g, "bn", b->x, b->gamma, b->beta, b->rm, b->rv, eps, mom, &b->y);
}

/* max_rel_diff(got, want) <= tol, reporting the worst element */
#define CHECK_REL(what, got, want, n, tol)                                                     \
    do {                                                                                       \
        int64_t w_;                                                                            \
        double d_ = max_rel_diff(got, want, n, 1e-3, &w_);                                     \
        CHECK_MSG(d_ <= (tol), "%s: element %lld is %.9g, expected %.9g (relative %.3g > %.3g)", \
                  what, (long long)w_, (got)[w_], (want)[w_], d_, (double)(tol));              \
    } while (0)

static int64_t numel_of(int ndim, const int64_t *dims) {
    int64_t m = 1;
    for (int i = 0; i < ndim; i++) m *= dims[i];
    return m;
}

/* fills x (shifted so the batch mean is not 0), gamma, beta, running stats */
static void bn_fill(bn_net *b, int64_t nx, int64_t C, uint64_t seed) {
    fill_uniform(glia_node_value(b->g, b->x), nx, -1.0f, 2.0f, seed);
    fill_uniform(glia_node_value(b->g, b->gamma), C, 0.5f, 1.5f, seed + 1);
    fill_uniform(glia_node_value(b->g, b->beta), C, -1.0f, 1.0f, seed + 2);
    fill_uniform(glia_node_value(b->g, b->rm), C, -0.5f, 0.5f, seed + 3);
    fill_uniform(glia_node_value(b->g, b->rv), C, 0.5f, 1.5f, seed + 4);
}

static void bn_gradcheck(int ndim, const int64_t *dims, int training) {
    bn_net b;
    OK(bn_build(&b, ndim, dims, 1e-5f, 0.1f));
    glia_graph_set_training(b.g, training);
    OK(glia_graph_compile(b.g, GLIA_COMPILE_BACKWARD));
    bn_fill(&b, numel_of(ndim, dims), dims[1], 11);
    /* x: up to 8e-3 from float rounding of L over 72 outputs; gamma, beta: up to 3e-4 */
    GRADCHECK(b.g, b.y, b.x, 1e-2);
    GRADCHECK(b.g, b.y, b.gamma, 2e-3);
    GRADCHECK(b.g, b.y, b.beta, 2e-3);
    glia_graph_free(b.g);
}

TEST(batchnorm_gradcheck_training_2d) { bn_gradcheck(2, (int64_t[]){5, 3}, 1); }
TEST(batchnorm_gradcheck_training_4d) { bn_gradcheck(4, (int64_t[]){3, 2, 3, 4}, 1); }
TEST(batchnorm_gradcheck_training_3d) { bn_gradcheck(3, (int64_t[]){2, 3, 5}, 1); }
TEST(batchnorm_gradcheck_inference) { bn_gradcheck(4, (int64_t[]){2, 3, 2, 3}, 0); }

/* z = bn(x) + x, gamma also scaling z: backward must add into dx and dgamma, not overwrite
 * what the later ops already put there (training and inference) */
TEST(batchnorm_backward_accumulates) {
    for (int training = 1; training >= 0; training--) {
        bn_net b;
        int z, zz;
        OK(bn_build(&b, 2, (int64_t[]){4, 3}, 1e-5f, 0.1f));
        OK(glia_add(b.g, "z", b.y, b.x, &z));
        OK(glia_mul(b.g, "zz", z, b.gamma, &zz));
        glia_graph_set_training(b.g, training);
        OK(glia_graph_compile(b.g, GLIA_COMPILE_BACKWARD));
        bn_fill(&b, 12, 3, 21);
        GRADCHECK(b.g, zz, b.x, 1e-2);
        GRADCHECK(b.g, zz, b.gamma, 2e-3);
        glia_graph_free(b.g);
    }
}

/* The cpu kernels against the reference device's plain loops (src/device/ref_norm.c: sums in
 * double) on a twin graph with the same values: y, dx, dgamma, dbeta, the running statistics.
 * flip_mode: the training mode changes between forward and backward on the cpu (backward
 * differentiates the forward that ran, whatever the mode is now), not on the reference. */
static void bn_vs_reference(int ndim, const int64_t *dims, int training, int flip_mode) {
    const int N = (int)dims[0], C = (int)dims[1], S = (int)(numel_of(ndim, dims) / (N * C));
    const int nx = N * C * S;
    const float eps = 1e-3f, mom = 0.25f;
    bn_net b, r;
    OK(bn_build(&b, ndim, dims, eps, mom));
    OK(bn_build(&r, ndim, dims, eps, mom));
    OK(glia_node_requires_grad(b.g, b.x, 1));
    OK(glia_node_requires_grad(r.g, r.x, 1));
    glia_graph_set_training(b.g, training);
    glia_graph_set_training(r.g, training);
    OK(glia_graph_compile(b.g, GLIA_COMPILE_BACKWARD));
    OK(glia_graph_compile(r.g, GLIA_COMPILE_BACKWARD));
    bn_fill(&b, nx, C, 31);
    bn_fill(&r, nx, C, 31);
    float *seed = malloc((size_t)nx * 4), *y = malloc((size_t)nx * 4), *dx = malloc((size_t)nx * 4);
    float dg[64], db[64], rm1[64], rv1[64];
    fill_uniform(seed, nx, -1, 1, 32);
    OK(glia_graph_forward(b.g));
    if (flip_mode) glia_graph_set_training(b.g, !training);
    OK(glia_graph_backward(b.g, b.y, seed, 0));
    int ok = reference_run(r.g, r.y, seed, 3, (int[]){r.x, r.gamma, r.beta},
                           (const float *const[]){NULL, NULL, NULL}, y, (float *const[]){dx, dg, db});
    ok = ok && !glia_node_read(r.g, r.rm, rm1, C) && !glia_node_read(r.g, r.rv, rv1, C);
    glia_graph_free(r.g);
    CHECK_MSG(ok, "reference: %s", glia_last_error());
    CHECK_REL("y", glia_node_value(b.g, b.y), y, nx, 1e-5);
    CHECK_REL("dx", glia_node_grad(b.g, b.x), dx, nx, 1e-5);
    CHECK_REL("dgamma", glia_node_grad(b.g, b.gamma), dg, C, 1e-5);
    CHECK_REL("dbeta", glia_node_grad(b.g, b.beta), db, C, 1e-5);
    CHECK_REL("running_mean", glia_node_value(b.g, b.rm), rm1, C, 1e-6);
    CHECK_REL("running_var", glia_node_value(b.g, b.rv), rv1, C, 1e-6);
    ref_checked(b.g, b.y);
    free(seed);
    free(y);
    free(dx);
    glia_graph_free(b.g);
}

TEST(batchnorm_matches_reference_training_2d) { bn_vs_reference(2, (int64_t[]){7, 5}, 1, 0); }
TEST(batchnorm_matches_reference_training_4d) { bn_vs_reference(4, (int64_t[]){3, 4, 5, 3}, 1, 0); }
TEST(batchnorm_matches_reference_inference) { bn_vs_reference(4, (int64_t[]){2, 3, 4, 4}, 0, 0); }
/* channels in blocks of 16 per job on [N, C]: 37 channels leave a partial block */
TEST(batchnorm_matches_reference_many_channels) { bn_vs_reference(2, (int64_t[]){6, 37}, 1, 0); }
TEST(batchnorm_backward_follows_forward_mode) {
    bn_vs_reference(2, (int64_t[]){4, 3}, 1, 1);
    if (test_failed_flag) return;
    bn_vs_reference(2, (int64_t[]){4, 3}, 0, 1);
}

/* running stats after several training steps move toward the batch statistics: with a fixed
 * batch, running_mean -> batch mean and running_var -> unbiased batch variance */
TEST(batchnorm_running_stats_converge) {
    enum { N = 8, C = 2 };
    bn_net b;
    OK(bn_build(&b, 2, (int64_t[]){N, C}, 1e-5f, 0.5f));
    glia_graph_set_training(b.g, 1);
    OK(glia_graph_compile(b.g, GLIA_COMPILE_BACKWARD));
    bn_fill(&b, N * C, C, 41);
    const float *x = glia_node_value(b.g, b.x);
    for (int step = 0; step < 60; step++) OK(glia_graph_forward(b.g));
    for (int c = 0; c < C; c++) {
        double m = 0, v = 0;
        for (int i = 0; i < N; i++) m += x[i * C + c];
        m /= N;
        for (int i = 0; i < N; i++) v += (x[i * C + c] - m) * (x[i * C + c] - m);
        v /= N - 1;
        CHECK_NEAR(glia_node_value(b.g, b.rm)[c], m, 1e-6);
        CHECK_NEAR(glia_node_value(b.g, b.rv)[c], v, 1e-6);
    }
    /* inference now normalises with those: the batch comes out with mean beta */
    glia_graph_set_training(b.g, 0);
    OK(glia_graph_forward(b.g));
    for (int c = 0; c < C; c++) {
        double m = 0;
        for (int i = 0; i < N; i++) m += glia_node_value(b.g, b.y)[i * C + c];
        CHECK_NEAR(m / N, glia_node_value(b.g, b.beta)[c], 1e-5);
    }
    glia_graph_free(b.g);
}

/* golden: PyTorch's F.batch_norm; running stats compared after the one forward */
static void bn_golden(const char *file, int ndim, const int64_t *dims, double tol) {
    golden *gd = golden_load(file);
    if (!gd) return;
    glia_shape s;
    const float *attr = golden_get(gd, "attr", &s);
    const float *rm0 = golden_get(gd, "running_mean", NULL), *rv0 = golden_get(gd, "running_var", NULL);
    const float *rm1 = golden_get(gd, "running_mean_after", NULL);
    const float *rv1 = golden_get(gd, "running_var_after", NULL);
    if (!attr || !rm0 || !rv0 || !rm1 || !rv1) {
        golden_free(gd);
        return;
    }
    bn_net b;
    glia_status st = bn_build(&b, ndim, dims, attr[0], attr[1]);
    if (st) {
        golden_free(gd);
        glia_graph_free(b.g);
        OK(st);
    }
    int64_t C = dims[1];
    glia_graph_set_training(b.g, attr[2] != 0);
    int ok = !glia_node_set(b.g, b.rm, rm0, C) && !glia_node_set(b.g, b.rv, rv0, C);
    ok = ok && golden_check(b.g, file, b.y, 3, (const char *[]){"x", "gamma", "beta"},
                            (int[]){b.x, b.gamma, b.beta}, tol);
    double drm = max_rel_diff(glia_node_value(b.g, b.rm), rm1, C, 1e-3, NULL);
    double drv = max_rel_diff(glia_node_value(b.g, b.rv), rv1, C, 1e-3, NULL);
    golden_free(gd);
    glia_graph_free(b.g);
    CHECK_MSG(ok, "%s: %s", file, glia_last_error());
    CHECK_MSG(drm < 1e-6 && drv < 1e-6, "%s: running stats differ from PyTorch (%.3g, %.3g)", file,
              drm, drv);
}

TEST(batchnorm_golden_pytorch_2d) { bn_golden("norm_bn_2d", 2, (int64_t[]){6, 5}, 1e-5); }
TEST(batchnorm_golden_pytorch_4d) { bn_golden("norm_bn_4d", 4, (int64_t[]){4, 3, 5, 6}, 1e-5); }
TEST(batchnorm_golden_pytorch_inference) {
    bn_golden("norm_bn_eval", 4, (int64_t[]){3, 4, 3, 3}, 1e-5);
}
TEST(batchnorm_golden_pytorch_long) {
    bn_golden("norm_bn_long", 4, (int64_t[]){4, 2, 24, 26}, 1e-4);
}

/* a size where the channel loop runs in parallel: 1 and 3 threads give the same bits */
static int bn_run_threads(int threads, float *out, int64_t nx) {
    glia_set_num_threads(threads);
    bn_net b;
    int ok = 0;
    if (bn_build(&b, 4, (int64_t[]){4, 8, 32, 32}, 1e-5f, 0.1f)) goto done;
    if (glia_node_requires_grad(b.g, b.x, 1)) goto done;
    glia_graph_set_training(b.g, 1);
    if (glia_graph_compile(b.g, GLIA_COMPILE_BACKWARD)) goto done;
    bn_fill(&b, nx, 8, 51);
    float *seed = malloc((size_t)nx * 4);
    if (!seed) goto done;
    fill_uniform(seed, nx, -1, 1, 52);
    if (!glia_graph_forward(b.g) && !glia_graph_backward(b.g, b.y, seed, 0)) {
        memcpy(out, glia_node_value(b.g, b.y), (size_t)nx * 4);
        memcpy(out + nx, glia_node_grad(b.g, b.x), (size_t)nx * 4);
        memcpy(out + 2 * nx, glia_node_grad(b.g, b.gamma), 8 * 4);
        memcpy(out + 2 * nx + 8, glia_node_value(b.g, b.rv), 8 * 4);
        ok = 1;
    }
    free(seed);
done:
    glia_graph_free(b.g);
    glia_set_num_threads(0);
    return ok;
}

TEST(batchnorm_bit_identical_across_threads) {
    const int64_t nx = 4 * 8 * 32 * 32, total = 2 * nx + 16;
    float *a = malloc((size_t)total * 4), *b = malloc((size_t)total * 4);
    int ok = a && b && bn_run_threads(1, a, nx) && bn_run_threads(3, b, nx);
    int same = ok && memcmp(a, b, (size_t)total * 4) == 0;
    free(a);
    free(b);
    CHECK_MSG(ok, "%s", glia_last_error());
    CHECK_MSG(same, "batch norm results differ between 1 and 3 threads");
}

TEST(batchnorm_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, x1, gm, gbad, bt, rm, rv, rvp, y;
    OK(glia_input(g, "x", 4, (int64_t[]){2, 3, 4, 4}, &x));
    OK(glia_input(g, "x1", 1, (int64_t[]){3}, &x1));
    OK(glia_param(g, "gamma", 1, (int64_t[]){3}, &gm));
    OK(glia_param(g, "gamma4", 1, (int64_t[]){4}, &gbad));
    OK(glia_param(g, "beta", 1, (int64_t[]){3}, &bt));
    OK(glia_buffer(g, "rm", 1, (int64_t[]){3}, &rm));
    OK(glia_buffer(g, "rv", 1, (int64_t[]){3}, &rv));
    OK(glia_param(g, "rv_param", 1, (int64_t[]){3}, &rvp));
    int n0 = glia_graph_num_nodes(g);
    /* gamma of the wrong size: a shape error naming the node, gamma and both shapes */
    CHECK(glia_batchnorm(g, "bn1", x, gbad, bt, rm, rv, 1e-5f, 0.1f, &y) == GLIA_ESHAPE);
    const char *e = glia_last_error();
    CHECK_MSG(strstr(e, "bn1") && strstr(e, "gamma4") && strstr(e, "[4]") &&
              strstr(e, "[2, 3, 4, 4]"), "%s", e);
    /* beta and running stats too */
    CHECK(glia_batchnorm(g, "bn2", x, gm, gbad, rm, rv, 1e-5f, 0.1f, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "bn2") && strstr(glia_last_error(), "beta"));
    CHECK(glia_batchnorm(g, "bn3", x, gm, bt, rm, gbad, 1e-5f, 0.1f, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "running_var"));
    /* running statistics must be buffers */
    CHECK(glia_batchnorm(g, "bn4", x, gm, bt, rm, rvp, 1e-5f, 0.1f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "bn4") && strstr(glia_last_error(), "rv_param"));
    /* rank 1 input */
    CHECK(glia_batchnorm(g, "bn5", x1, gm, bt, rm, rv, 1e-5f, 0.1f, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "bn5") && strstr(glia_last_error(), "[3]"));
    /* eps and momentum */
    CHECK(glia_batchnorm(g, "bn6", x, gm, bt, rm, rv, 0.0f, 0.1f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "bn6") && strstr(glia_last_error(), "eps"));
    CHECK(glia_batchnorm(g, "bn7", x, gm, bt, rm, rv, -1e-5f, 0.1f, &y) == GLIA_EINVAL);
    CHECK(glia_batchnorm(g, "bn8", x, gm, bt, rm, rv, NAN, 0.1f, &y) == GLIA_EINVAL);
    CHECK(glia_batchnorm(g, "bn9", x, gm, bt, rm, rv, 1e-5f, 1.5f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "momentum"));
    CHECK(glia_batchnorm(g, "bn10", x, gm, bt, rm, rv, 1e-5f, -0.1f, &y) == GLIA_EINVAL);
    CHECK(glia_graph_num_nodes(g) == n0); /* no failed op was added */
    /* one value per channel cannot be normalised in training */
    OK(glia_batchnorm(g, "bn_ok", x, gm, bt, rm, rv, 1e-5f, 0.1f, &y));
    glia_graph_free(g);
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){1, 3}, &x));
    OK(glia_param(g, "gamma", 1, (int64_t[]){3}, &gm));
    OK(glia_param(g, "beta", 1, (int64_t[]){3}, &bt));
    OK(glia_buffer(g, "rm", 1, (int64_t[]){3}, &rm));
    OK(glia_buffer(g, "rv", 1, (int64_t[]){3}, &rv));
    OK(glia_batchnorm(g, "bn_single", x, gm, bt, rm, rv, 1e-5f, 0.1f, &y));
    glia_graph_set_training(g, 1);
    CHECK(glia_graph_forward(g) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "bn_single") && strstr(glia_last_error(), "[1, 3]"));
    glia_graph_set_training(g, 0);
    OK(glia_graph_forward(g)); /* inference with one sample is fine */
    glia_graph_free(g);
}
