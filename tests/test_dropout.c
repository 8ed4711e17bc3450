/* test_dropout.c: inverted dropout. PyTorch's generator cannot reproduce glia's masks, so the
 * tests check the statistics (fraction dropped ~ p, kept values exactly x / (1 - p), the mean
 * preserved), inference as the identity, the backward against the mask, finite differences in
 * training mode, determinism given the generator state (and across thread counts), the masks
 * against a Python copy of glia's PCG32 (tests/golden/dropout_mask.txt), and bad arguments. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

static glia_status drop_build(glia_graph **g, int ndim, const int64_t *dims, float p, int *x,
                              int *y) {
    glia_status s;
    if ((s = glia_graph_new(g))) return s;
    if ((s = glia_input(*g, "x", ndim, dims, x))) return s;
    return glia_dropout(*g, "drop", *x, p, y);
}

/* fraction dropped within 5 standard deviations of p; kept values exactly x * (1 / (1 - p));
 * E[y] = x: the mean of y over a constant x = 1.5 stays 1.5 */
static void drop_stats(float p) {
    enum { M = 200000 };
    glia_graph *g;
    int x, y;
    OK(drop_build(&g, 2, (int64_t[]){400, 500}, p, &x, &y));
    glia_graph_set_training(g, 1);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float *X = glia_node_value(g, x);
    fill_uniform(X, M, 0.5f, 2.0f, 5); /* never 0: a dropped element is told by y == 0 */
    OK(glia_graph_forward(g));
    const float *Y = glia_node_value(g, y);
    const float s = 1.0f / (1.0f - p);
    int64_t dropped = 0, bad = -1;
    for (int64_t i = 0; i < M; i++) {
        if (Y[i] == 0.0f) dropped++;
        else if (Y[i] != X[i] * s && bad < 0) bad = i;
    }
    double frac = (double)dropped / M, sd = sqrt(p * (1 - p) / M);
    CHECK_MSG(bad < 0, "p %g: kept element %lld is %.9g, expected %.9g * %.9g", (double)p,
              (long long)bad, bad < 0 ? 0.0 : Y[bad], bad < 0 ? 0.0 : X[bad], (double)s);
    CHECK_MSG(fabs(frac - p) <= 5 * sd + 1e-12, "p %g: %.5f of the elements dropped", (double)p, frac);
    for (int64_t i = 0; i < M; i++) X[i] = 1.5f;
    OK(glia_graph_forward(g));
    double mean = 0;
    for (int64_t i = 0; i < M; i++) mean += Y[i];
    mean /= M;
    /* sd of the mean: 1.5 sqrt(p / (1 - p) / M) */
    CHECK_MSG(fabs(mean - 1.5) <= 5 * 1.5 * sqrt(p / (1 - p) / M) + 1e-6,
              "p %g: mean of y is %.6f, expected 1.5", (double)p, mean);
    glia_graph_free(g);
}

TEST(dropout_training_statistics) {
    const float ps[] = {0.1f, 0.3f, 0.5f, 0.9f};
    for (int i = 0; i < 4 && !test_failed_flag; i++) drop_stats(ps[i]);
}

/* p = 0 in training is the identity and draws no random number */
TEST(dropout_p0_is_identity) {
    glia_graph *g;
    int x, y;
    OK(drop_build(&g, 2, (int64_t[]){7, 9}, 0.0f, &x, &y));
    glia_graph_set_training(g, 1);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 63, -1, 1, 8);
    glia_rng before = *glia_graph_rng(g);
    OK(glia_graph_forward(g));
    CHECK(memcmp(glia_node_value(g, y), glia_node_value(g, x), 63 * sizeof(float)) == 0);
    CHECK(glia_graph_rng(g)->state == before.state);
    glia_graph_free(g);
}

/* inference: y = x and dx = dy bit for bit, whatever the generator */
TEST(dropout_inference_identity) {
    enum { M = 3 * 4 * 5 };
    glia_graph *g;
    int x, y;
    OK(drop_build(&g, 3, (int64_t[]){3, 4, 5}, 0.5f, &x, &y));
    OK(glia_node_requires_grad(g, x, 1));
    glia_graph_set_training(g, 0);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[M];
    fill_uniform(glia_node_value(g, x), M, -1, 1, 9);
    fill_uniform(seed, M, -1, 1, 10);
    glia_rng before = *glia_graph_rng(g);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    CHECK(memcmp(glia_node_value(g, y), glia_node_value(g, x), sizeof seed) == 0);
    CHECK(memcmp(glia_node_grad(g, x), seed, sizeof seed) == 0);
    CHECK(glia_graph_rng(g)->state == before.state); /* no number drawn */
    glia_graph_free(g);
}

/* backward uses the forward's mask: dx = seed * s where kept, 0 where dropped; and it follows
 * the mode of the forward even if the mode changed in between */
TEST(dropout_backward_uses_mask) {
    enum { M = 1000 };
    glia_graph *g;
    int x, y;
    const float p = 0.4f, s = 1.0f / (1.0f - p);
    OK(drop_build(&g, 2, (int64_t[]){10, 100}, p, &x, &y));
    OK(glia_node_requires_grad(g, x, 1));
    glia_graph_set_training(g, 1);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[M];
    fill_uniform(glia_node_value(g, x), M, 0.5f, 1.0f, 11);
    fill_uniform(seed, M, -1, 1, 12);
    OK(glia_graph_forward(g));
    glia_graph_set_training(g, 0);
    OK(glia_graph_backward(g, y, seed, 0));
    const float *Y = glia_node_value(g, y), *DX = glia_node_grad(g, x);
    int64_t kept = 0;
    for (int i = 0; i < M; i++) {
        float want = Y[i] != 0.0f ? seed[i] * s : 0.0f;
        CHECK_MSG(DX[i] == want, "element %d: dx %.9g, expected %.9g", i, DX[i], want);
        kept += Y[i] != 0.0f;
    }
    CHECK(kept > 0 && kept < M);
    glia_graph_free(g);
}

/* training forward and backward against plain loops that draw the mask from a copy of the
 * generator: element i is kept when its uniform number u_i >= p, then y = x / (1 - p) and
 * dx = dy / (1 - p) there, 0 elsewhere */
TEST(dropout_matches_naive) {
    enum { M = 3 * 70 };
    const float p = 0.3f, s = 1.0f / (1.0f - p);
    glia_graph *g;
    int x, y;
    OK(drop_build(&g, 2, (int64_t[]){3, 70}, p, &x, &y));
    OK(glia_node_requires_grad(g, x, 1));
    glia_graph_set_training(g, 1);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[M], ry[M], rdx[M];
    const float *X = glia_node_value(g, x);
    fill_uniform(glia_node_value(g, x), M, -1, 1, 16);
    fill_uniform(seed, M, -1, 1, 17);
    glia_rng r = *glia_graph_rng(g);
    for (int i = 0; i < M; i++) {
        int keep = glia_rng_uniform(&r) >= p;
        ry[i] = keep ? X[i] * s : 0.0f;
        rdx[i] = keep ? seed[i] * s : 0.0f;
    }
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    CHECK(!memcmp(glia_node_value(g, y), ry, sizeof ry));
    CHECK(!memcmp(glia_node_grad(g, x), rdx, sizeof rdx));
    ref_checked(g, y);
    glia_graph_free(g);
}

TEST(dropout_gradcheck_training) {
    glia_graph *g;
    int x, y;
    OK(drop_build(&g, 2, (int64_t[]){4, 25}, 0.4f, &x, &y));
    glia_graph_set_training(g, 1);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 100, -1, 1, 13);
    GRADCHECK(g, y, x, 1e-3);
    /* the same mask every time (gradcheck resets the generator), and some elements dropped */
    OK(glia_graph_forward(g));
    int zeros = 0;
    for (int i = 0; i < 100; i++) zeros += glia_node_value(g, y)[i] == 0.0f;
    CHECK(zeros > 10 && zeros < 90);
    glia_graph_free(g);
}

TEST(dropout_gradcheck_inference) {
    glia_graph *g;
    int x, y;
    OK(drop_build(&g, 2, (int64_t[]){3, 7}, 0.4f, &x, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 21, -1, 1, 14);
    GRADCHECK(g, y, x, 1e-3);
    glia_graph_free(g);
}

/* z = dropout(x) + x: backward adds into dx (training and inference) */
TEST(dropout_backward_accumulates) {
    for (int training = 1; training >= 0; training--) {
        glia_graph *g;
        int x, y, z;
        OK(drop_build(&g, 2, (int64_t[]){4, 10}, 0.5f, &x, &y));
        OK(glia_add(g, "z", y, x, &z));
        glia_graph_set_training(g, training);
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        fill_uniform(glia_node_value(g, x), 40, -1, 1, 15);
        GRADCHECK(g, z, x, 1e-3);
        glia_graph_free(g);
    }
}

/* the keep rule at its boundary: an element is dropped when u < p, kept when u >= p. With p set
 * to exactly the first number the generator will draw, the first element is kept; with the
 * next float above it, dropped. */
TEST(dropout_keep_rule_at_boundary) {
    for (int k = 0; k < 2; k++) {
        glia_rng r;
        glia_rng_seed(&r, 5, 6);
        glia_rng probe = r;
        float u = glia_rng_uniform(&probe);
        float p = k == 0 ? u : nextafterf(u, 1.0f);
        glia_graph *g;
        int x, y;
        OK(drop_build(&g, 1, (int64_t[]){1}, p, &x, &y));
        glia_graph_set_training(g, 1);
        OK(glia_graph_compile(g, 0));
        glia_node_value(g, x)[0] = 1.0f;
        *glia_graph_rng(g) = r;
        OK(glia_graph_forward(g));
        float got = glia_node_value(g, y)[0];
        glia_graph_free(g);
        CHECK_MSG(k == 0 ? got != 0.0f : got == 0.0f, "u = p + %d ulp: y = %g", k, got);
    }
}

/* the mask of a forward depends only on the generator state: the same seed gives the same
 * mask with 1 or 3 threads, and the next forward draws a new mask */
static int drop_masks(int threads, uint64_t seed, float *y1, float *y2, int64_t m) {
    glia_set_num_threads(threads);
    glia_graph *g = NULL;
    int x, y, ok = 0;
    if (drop_build(&g, 2, (int64_t[]){m / 1000, 1000}, 0.5f, &x, &y)) goto done;
    glia_graph_set_training(g, 1);
    if (glia_graph_compile(g, GLIA_COMPILE_BACKWARD)) goto done;
    for (int64_t i = 0; i < m; i++) glia_node_value(g, x)[i] = 1.0f;
    glia_rng_seed(glia_graph_rng(g), seed, 1);
    if (glia_graph_forward(g)) goto done;
    memcpy(y1, glia_node_value(g, y), (size_t)m * 4);
    if (glia_graph_forward(g)) goto done;
    memcpy(y2, glia_node_value(g, y), (size_t)m * 4);
    ok = 1;
done:
    glia_graph_free(g);
    glia_set_num_threads(0);
    return ok;
}

TEST(dropout_deterministic_given_rng) {
    enum { M = 100000 };
    float *a1 = malloc(M * 4), *a2 = malloc(M * 4), *b1 = malloc(M * 4), *b2 = malloc(M * 4),
          *c1 = malloc(M * 4), *c2 = malloc(M * 4);
    int ok = a1 && a2 && b1 && b2 && c1 && c2 && drop_masks(1, 99, a1, a2, M) &&
             drop_masks(3, 99, b1, b2, M) && drop_masks(1, 100, c1, c2, M);
    int same = ok && !memcmp(a1, b1, M * 4) && !memcmp(a2, b2, M * 4);
    int step_differs = ok && memcmp(a1, a2, M * 4) != 0;
    int seed_differs = ok && memcmp(a1, c1, M * 4) != 0;
    free(a1), free(a2), free(b1), free(b2), free(c1), free(c2);
    CHECK_MSG(ok, "%s", glia_last_error());
    CHECK_MSG(same, "the same generator state gave different masks with 1 and 3 threads");
    CHECK_MSG(step_differs, "two forwards in a row drew the same mask");
    CHECK_MSG(seed_differs, "two seeds gave the same mask");
}

/* the masks of two training forwards equal those of a Python copy of glia's PCG32 */
TEST(dropout_golden_mask) {
    golden *gd = golden_load("dropout_mask");
    if (!gd) return;
    glia_shape s;
    const float *attr = golden_get(gd, "attr", NULL), *X = golden_get(gd, "x", &s);
    const char *names[2][3] = {{"y", "seed", "dx"}, {"y2", "seed2", "dx2"}};
    const float *want[2][3];
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 3; j++) want[k][j] = golden_get(gd, names[k][j], NULL);
    glia_graph *g = NULL;
    int x, y, ok = attr && X && want[0][0] && want[0][1] && want[0][2] && want[1][0] &&
                       want[1][1] && want[1][2];
    const int64_t m = glia_shape_numel(&s);
    ok = ok && !drop_build(&g, s.ndim, s.dim, attr[0], &x, &y) &&
         !glia_node_requires_grad(g, x, 1) && !glia_graph_compile(g, GLIA_COMPILE_BACKWARD) &&
         !glia_node_set(g, x, X, m);
    if (ok) {
        glia_graph_set_training(g, 1);
        glia_rng_seed(glia_graph_rng(g), (uint64_t)attr[1], (uint64_t)attr[2]);
    }
    for (int k = 0; k < 2 && ok; k++) {
        ok = !glia_graph_forward(g) && !glia_graph_backward(g, y, want[k][1], 0);
        if (!ok) break;
        const float *Y = glia_node_value(g, y), *DX = glia_node_grad(g, x);
        for (int64_t i = 0; i < m; i++)
            if (Y[i] != want[k][0][i] || DX[i] != want[k][2][i]) {
                test_fail(__FILE__, __LINE__, "forward %d, element %lld: y %.9g dx %.9g, expected "
                          "%.9g and %.9g", k + 1, (long long)i, Y[i], DX[i], want[k][0][i],
                          want[k][2][i]);
                break;
            }
    }
    if (!ok) test_fail(__FILE__, __LINE__, "dropout_mask: %s", glia_last_error());
    else if (!test_failed_flag) golden_checked(g, y);
    glia_graph_free(g);
    golden_free(gd);
}

TEST(dropout_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    CHECK(glia_dropout(g, "drop1", x, 1.0f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "drop1") && strstr(glia_last_error(), "[0, 1)"));
    CHECK(glia_dropout(g, "drop2", x, -0.1f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "drop2"));
    CHECK(glia_dropout(g, "drop3", x, NAN, &y) == GLIA_EINVAL);
    CHECK(glia_dropout(g, "drop4", x, 1.5f, &y) == GLIA_EINVAL);
    CHECK(glia_graph_num_nodes(g) == 1);
    OK(glia_dropout(g, "drop_ok", x, 0.999f, &y));
    glia_graph_free(g);
}
