/* test_init.c: parameter initialisation: statistics of the random kinds against their formulas,
 * orthogonality (and torch's QR sign convention), identity, delta-orthogonal, reproducibility,
 * errors. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

/* a graph holding one parameter of the given shape */
static glia_graph *one_param(const char *name, int ndim, const int64_t *dims, int *id) {
    glia_graph *g;
    if (glia_graph_new(&g)) return NULL;
    if (glia_param(g, name, ndim, dims, id)) {
        glia_graph_free(g);
        return NULL;
    }
    return g;
}

typedef struct {
    double mean, std, maxabs;
} stats;

static stats stats_of(const float *w, int64_t n) {
    double s = 0, ss = 0, m = 0;
    for (int64_t i = 0; i < n; i++) s += w[i];
    double mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) {
        ss += (w[i] - mean) * (w[i] - mean);
        if (fabs(w[i]) > m) m = fabs(w[i]);
    }
    return (stats){mean, sqrt(ss / (double)n), m};
}

/* Checks mean ~ 0 (within 5 standard errors), std within 2% of `std`, and for uniform kinds
 * (bound > 0) every |w| <= bound and the largest near it. */
static void check_random(glia_init_kind kind, const char *what, int ndim, const int64_t *dims,
                         double std, double bound) {
    int id;
    glia_graph *g = one_param(what, ndim, dims, &id);
    CHECK(g);
    glia_rng r;
    glia_rng_seed(&r, 7, 1);
    glia_status s = glia_init_param(g, id, kind, 0, &r);
    if (s) {
        test_fail(__FILE__, __LINE__, "%s: %s", what, glia_last_error());
        glia_graph_free(g);
        return;
    }
    glia_shape sh;
    glia_node_shape(g, id, &sh);
    const int64_t n = glia_shape_numel(&sh);
    const float *w = glia_node_value(g, id);
    stats st = stats_of(w, n);
    glia_graph_free(g);
    CHECK_MSG(fabs(st.mean) <= 5 * std / sqrt((double)n), "%s: mean %g (std %g, %lld values)", what,
              st.mean, std, (long long)n);
    CHECK_MSG(fabs(st.std / std - 1) <= 0.02, "%s: std %.6g, formula %.6g", what, st.std, std);
    if (bound > 0) {
        CHECK_MSG(st.maxabs <= bound * (1 + 1e-6), "%s: |w| up to %.6g > bound %.6g", what,
                  st.maxabs, bound);
        CHECK_MSG(st.maxabs >= 0.99 * bound, "%s: |w| only up to %.6g, bound %.6g", what,
                  st.maxabs, bound);
    }
}

TEST(init_he_statistics) {
    /* conv [128, 64, 3, 3]: fan_in 576; dense [100, 400]: fan_in 400 */
    const int64_t conv[] = {128, 64, 3, 3}, fc[] = {100, 400};
    check_random(GLIA_INIT_HE_UNIFORM, "he_uniform_conv", 4, conv, sqrt(6.0 / 576) / sqrt(3.0), sqrt(6.0 / 576));
    check_random(GLIA_INIT_HE_NORMAL, "he_normal_conv", 4, conv, sqrt(2.0 / 576), 0);
    check_random(GLIA_INIT_HE_UNIFORM, "he_uniform_fc", 2, fc, sqrt(6.0 / 400) / sqrt(3.0), sqrt(6.0 / 400));
    check_random(GLIA_INIT_HE_NORMAL, "he_normal_fc", 2, fc, sqrt(2.0 / 400), 0);
}

TEST(init_xavier_statistics) {
    /* conv [128, 64, 3, 3]: fan_in 576, fan_out 1152; dense [300, 200]: 200 + 300 */
    const int64_t conv[] = {128, 64, 3, 3}, fc[] = {300, 200};
    check_random(GLIA_INIT_XAVIER_UNIFORM, "xavier_uniform_conv", 4, conv,
                 sqrt(6.0 / 1728) / sqrt(3.0), sqrt(6.0 / 1728));
    check_random(GLIA_INIT_XAVIER_NORMAL, "xavier_normal_conv", 4, conv, sqrt(2.0 / 1728), 0);
    check_random(GLIA_INIT_XAVIER_UNIFORM, "xavier_uniform_fc", 2, fc, sqrt(6.0 / 500) / sqrt(3.0),
                 sqrt(6.0 / 500));
    check_random(GLIA_INIT_XAVIER_NORMAL, "xavier_normal_fc", 2, fc, sqrt(2.0 / 500), 0);
}

TEST(init_pytorch_statistics) {
    const int64_t conv[] = {96, 48, 5, 5}, fc[] = {200, 300};
    check_random(GLIA_INIT_PYTORCH, "pytorch_conv", 4, conv, 1 / sqrt(1200.0) / sqrt(3.0), 1 / sqrt(1200.0));
    check_random(GLIA_INIT_PYTORCH, "pytorch_fc", 2, fc, 1 / sqrt(300.0) / sqrt(3.0), 1 / sqrt(300.0));
}

TEST(init_constant) {
    int id;
    glia_graph *g = one_param("bias", 1, (int64_t[]){10}, &id);
    CHECK(g);
    float *w = glia_node_value(g, id);
    OK(glia_init_param(g, id, GLIA_INIT_CONSTANT, 0.25f, NULL));
    for (int i = 0; i < 10; i++) CHECK(w[i] == 0.25f);
    OK(glia_init_param(g, id, GLIA_INIT_CONSTANT, 0.0f, NULL));
    for (int i = 0; i < 10; i++) CHECK(w[i] == 0.0f);
    glia_graph_free(g);
}

/* max |A A^T - gain^2 I| over the rows of a [r, c] matrix (or of its columns if cols) */
static double gram_error(const float *w, int64_t r, int64_t c, int cols, double gain2) {
    const int64_t n = cols ? c : r, len = cols ? r : c;
    double worst = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t k = 0; k < len; k++)
                s += cols ? (double)w[k * c + i] * w[k * c + j] : (double)w[i * c + k] * w[j * c + k];
            double e = fabs(s - (i == j ? gain2 : 0.0));
            if (e > worst) worst = e;
        }
    return worst;
}

/* Reproduces the N(0,1) draws (row-major [rows, cols]) and checks that W is the Q of their QR
 * with a positive diagonal of R, as torch.nn.init.orthogonal_ after its sign correction:
 * R = Q^T M upper triangular with R_ii > 0, where M = A (rows >= cols) or A^T. */
static int torch_qr_convention(const float *w, int64_t rows, int64_t cols, uint64_t seed,
                               uint64_t stream) {
    float *a = malloc((size_t)(rows * cols) * sizeof *a);
    if (!a) return 0;
    glia_rng r;
    glia_rng_seed(&r, seed, stream);
    for (int64_t i = 0; i < rows * cols; i++) a[i] = glia_rng_normal(&r);
    const int tall = rows >= cols;
    const int64_t n = tall ? cols : rows, m = tall ? rows : cols;
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++)
        for (int64_t j = 0; j <= i && ok; j++) {
            double s = 0; /* R[i][j] = q_i . m_j */
            for (int64_t k = 0; k < m; k++)
                s += tall ? (double)w[k * cols + i] * a[k * cols + j]
                          : (double)w[i * cols + k] * a[j * cols + k];
            if (i == j ? !(s > 0.05) : !(fabs(s) < 1e-4)) {
                test_fail(__FILE__, __LINE__, "R[%lld][%lld] = %g", (long long)i, (long long)j, s);
                ok = 0;
            }
        }
    free(a);
    return ok;
}

TEST(init_orthogonal) {
    static const struct {
        int ndim;
        int64_t dims[4];
        float gain;
    } cases[] = {
        {2, {64, 128}, 0},   /* wide: orthonormal rows */
        {2, {128, 64}, 0},   /* tall: orthonormal columns */
        {2, {50, 50}, 0},
        {2, {20, 10}, 2.0f}, /* gain */
        {4, {16, 8, 3, 3}, 0}, /* [16, 72] */
        {4, {40, 2, 2, 2}, 0}, /* [40, 8] */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int id;
        glia_graph *g = one_param("w", cases[c].ndim, cases[c].dims, &id);
        CHECK(g);
        glia_rng r;
        glia_rng_seed(&r, 100 + c, 5);
        glia_status s = glia_init_param(g, id, GLIA_INIT_ORTHOGONAL, cases[c].gain, &r);
        if (s) {
            test_fail(__FILE__, __LINE__, "case %zu: %s", c, glia_last_error());
            glia_graph_free(g);
            return;
        }
        const int64_t rows = cases[c].dims[0];
        int64_t cols = 1;
        for (int d = 1; d < cases[c].ndim; d++) cols *= cases[c].dims[d];
        const float *w = glia_node_value(g, id);
        const double gain = cases[c].gain ? cases[c].gain : 1.0;
        double e = gram_error(w, rows, cols, rows > cols, gain * gain);
        int conv = gain != 1.0 || torch_qr_convention(w, rows, cols, 100 + c, 5);
        glia_graph_free(g);
        CHECK_MSG(e <= 1e-5 * gain * gain, "case %zu [%lld, %lld]: |W W^T - I| = %g", c,
                  (long long)rows, (long long)cols, e);
        CHECK_MSG(conv, "case %zu: not the Q of torch's sign-corrected QR", c);
    }
}

TEST(init_identity) {
    int id;
    glia_graph *g = one_param("rec", 2, (int64_t[]){6, 6}, &id);
    CHECK(g);
    const float *w = glia_node_value(g, id);
    OK(glia_init_param(g, id, GLIA_INIT_IDENTITY, 0, NULL)); /* value 0: gain 1 */
    for (int i = 0; i < 36; i++) CHECK(w[i] == (i % 7 == 0 ? 1.0f : 0.0f));
    OK(glia_init_param(g, id, GLIA_INIT_IDENTITY, -0.5f, NULL));
    for (int i = 0; i < 36; i++) CHECK(w[i] == (i % 7 == 0 ? -0.5f : 0.0f));
    glia_graph_free(g);
    g = one_param("rect", 2, (int64_t[]){6, 5}, &id);
    CHECK(g);
    CHECK(glia_init_param(g, id, GLIA_INIT_IDENTITY, 1, NULL) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "rect"));
    glia_graph_free(g);
    g = one_param("conv", 4, (int64_t[]){3, 3, 1, 1}, &id);
    CHECK(g);
    CHECK(glia_init_param(g, id, GLIA_INIT_IDENTITY, 1, NULL) == GLIA_ESHAPE);
    glia_graph_free(g);
}

TEST(init_delta_orthogonal) {
    static const struct {
        int64_t dims[4];
        float gain;
    } cases[] = {{{16, 8, 3, 3}, 0}, {{12, 12, 2, 4}, 1.5f}, {{5, 1, 5, 5}, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int id;
        glia_graph *g = one_param("conv.weight", 4, cases[c].dims, &id);
        CHECK(g);
        float *w = glia_node_value(g, id);
        const int64_t O = cases[c].dims[0], I = cases[c].dims[1], KH = cases[c].dims[2],
                      KW = cases[c].dims[3], n = O * I * KH * KW;
        for (int64_t i = 0; i < n; i++) w[i] = 9.0f; /* overwritten everywhere */
        glia_rng r;
        glia_rng_seed(&r, 3, 3);
        glia_status s = glia_init_param(g, id, GLIA_INIT_DELTA_ORTHOGONAL, cases[c].gain, &r);
        if (s) {
            test_fail(__FILE__, __LINE__, "case %zu: %s", c, glia_last_error());
            glia_graph_free(g);
            return;
        }
        float *m = malloc((size_t)(O * I) * sizeof *m);
        int zero = 1;
        for (int64_t o = 0; o < O; o++)
            for (int64_t i = 0; i < I; i++)
                for (int64_t y = 0; y < KH; y++)
                    for (int64_t x = 0; x < KW; x++) {
                        float v = w[((o * I + i) * KH + y) * KW + x];
                        if (y == KH / 2 && x == KW / 2) m[o * I + i] = v;
                        else if (v != 0.0f) zero = 0;
                    }
        const double gain = cases[c].gain ? cases[c].gain : 1.0;
        double e = gram_error(m, O, I, 1, gain * gain); /* columns orthonormal: M^T M = I */
        free(m);
        glia_graph_free(g);
        CHECK_MSG(zero, "case %zu: a tap other than the centre is not zero", c);
        CHECK_MSG(e <= 1e-5 * gain * gain, "case %zu: |M^T M - I| = %g", c, e);
    }
    /* out < in, or not 4-D: errors that leave the weight alone */
    int id;
    glia_graph *g = one_param("narrow", 4, (int64_t[]){8, 16, 3, 3}, &id);
    CHECK(g);
    glia_rng r;
    glia_rng_seed(&r, 3, 3);
    glia_node_value(g, id)[0] = 5.0f;
    CHECK(glia_init_param(g, id, GLIA_INIT_DELTA_ORTHOGONAL, 0, &r) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "narrow") && strstr(glia_last_error(), "out >= in"));
    CHECK(glia_node_value(g, id)[0] == 5.0f);
    glia_graph_free(g);
    g = one_param("flat", 2, (int64_t[]){16, 8}, &id);
    CHECK(g);
    CHECK(glia_init_param(g, id, GLIA_INIT_DELTA_ORTHOGONAL, 0, &r) == GLIA_ESHAPE);
    glia_graph_free(g);
}

TEST(init_reproducible) {
    static const glia_init_kind kinds[] = {GLIA_INIT_HE_UNIFORM, GLIA_INIT_HE_NORMAL,
                                           GLIA_INIT_XAVIER_UNIFORM, GLIA_INIT_XAVIER_NORMAL,
                                           GLIA_INIT_PYTORCH, GLIA_INIT_ORTHOGONAL,
                                           GLIA_INIT_DELTA_ORTHOGONAL};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int id;
        glia_graph *g = one_param("w", 4, (int64_t[]){6, 4, 3, 3}, &id);
        CHECK(g);
        float a[216], b[216], c[216];
        const float *w = glia_node_value(g, id);
        glia_rng r;
        glia_rng_seed(&r, 42, 9);
        glia_status s = glia_init_param(g, id, kinds[k], 0, &r);
        memcpy(a, w, sizeof a);
        s = s ? s : glia_init_param(g, id, kinds[k], 0, &r); /* the rng moved on */
        memcpy(c, w, sizeof c);
        glia_rng_seed(&r, 42, 9);
        s = s ? s : glia_init_param(g, id, kinds[k], 0, &r);
        memcpy(b, w, sizeof b);
        glia_graph_free(g);
        CHECK_MSG(!s, "kind %d: %s", (int)kinds[k], glia_last_error());
        CHECK_MSG(!memcmp(a, b, sizeof a), "kind %d: not reproducible from the seed", (int)kinds[k]);
        CHECK_MSG(memcmp(a, c, sizeof a), "kind %d: a second draw gave the same weights", (int)kinds[k]);
    }
}

TEST(init_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, b;
    OK(glia_input(g, "x_input", 2, (int64_t[]){2, 3}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){4, 3}, &w));
    OK(glia_param(g, "fc.bias", 1, (int64_t[]){4}, &b));
    glia_rng r;
    glia_rng_seed(&r, 1, 1);
    CHECK(glia_init_param(g, x, GLIA_INIT_HE_UNIFORM, 0, &r) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "x_input") && strstr(glia_last_error(), "not a parameter"));
    CHECK(glia_init_param(g, 99, GLIA_INIT_HE_UNIFORM, 0, &r) == GLIA_EINVAL);
    CHECK(glia_init_param(g, -1, GLIA_INIT_HE_UNIFORM, 0, &r) == GLIA_EINVAL);
    CHECK(glia_init_param(NULL, w, GLIA_INIT_HE_UNIFORM, 0, &r) == GLIA_EINVAL);
    CHECK(glia_init_param(g, w, (glia_init_kind)42, 0, &r) == GLIA_EINVAL);
    CHECK(glia_init_param(g, w, GLIA_INIT_HE_NORMAL, 0, NULL) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "'w'") && strstr(glia_last_error(), "rng"));
    CHECK(glia_init_param(g, w, GLIA_INIT_CONSTANT, NAN, NULL) == GLIA_EINVAL);
    static const glia_init_kind fan_kinds[] = {GLIA_INIT_HE_UNIFORM, GLIA_INIT_HE_NORMAL,
                                               GLIA_INIT_XAVIER_UNIFORM, GLIA_INIT_XAVIER_NORMAL,
                                               GLIA_INIT_PYTORCH, GLIA_INIT_ORTHOGONAL};
    for (size_t k = 0; k < sizeof fan_kinds / sizeof fan_kinds[0]; k++) {
        CHECK_MSG(glia_init_param(g, b, fan_kinds[k], 0, &r) == GLIA_ESHAPE, "kind %d on a 1-D "
                  "parameter", (int)fan_kinds[k]);
        CHECK(strstr(glia_last_error(), "fc.bias"));
    }
    OK(glia_init_param(g, b, GLIA_INIT_CONSTANT, 0.1f, NULL)); /* constant takes any rank */
    CHECK(glia_init_param(g, w, GLIA_INIT_IDENTITY, 0, NULL) == GLIA_ESHAPE); /* [4, 3] */
    glia_graph_free(g);
}
