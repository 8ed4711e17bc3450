/* test_maxout.c: maxout over groups of k consecutive channels: finite differences, the
 * reference device, PyTorch's reshape + max, ties, k = 1, a new batch size, shape errors. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

/* builds x -> maxout(k) -> y, checks forward and gradient against the reference device's loops
 * (src/device/ref_act.c) on a twin graph, exactly: a max and a routed gradient have no rounding */
static int run_reference(int nd, const int64_t *d, int k, uint64_t rs, const char *file, int line) {
    glia_graph *g = NULL;
    int x, y, ok = 0;
    glia_shape sh = {nd, {0}}, ysh;
    for (int i = 0; i < nd; i++) sh.dim[i] = d[i];
    int64_t n = glia_shape_numel(&sh), ny = n / k;
    float *seed = malloc((size_t)ny * sizeof *seed), *ry = malloc((size_t)ny * sizeof *ry),
          *rdx = malloc((size_t)n * sizeof *rdx);
    if (glia_graph_new(&g) || glia_input(g, "x", nd, d, &x) || glia_maxout(g, "mo", x, k, &y) ||
        glia_node_requires_grad(g, x, 1) || glia_graph_compile(g, GLIA_COMPILE_BACKWARD)) {
        test_fail(file, line, "build: %s", glia_last_error());
        goto done;
    }
    glia_node_shape(g, y, &ysh);
    if (ysh.ndim != nd || ysh.dim[0] != d[0] || ysh.dim[1] != d[1] / k) {
        test_fail(file, line, "output shape");
        goto done;
    }
    float *X = glia_node_value(g, x);
    fill_uniform(X, n, -5, 5, rs);
    fill_uniform(seed, ny, -1, 1, rs + 1);
    if (glia_graph_forward(g) || glia_graph_backward(g, y, seed, 0)) {
        test_fail(file, line, "run: %s", glia_last_error());
        goto done;
    }
    glia_graph *rg = NULL;
    int rx, ryn;
    int built = !glia_graph_new(&rg) && !glia_input(rg, "x", nd, d, &rx) &&
                !glia_maxout(rg, "mo", rx, k, &ryn) && !glia_node_requires_grad(rg, rx, 1);
    int ran = built && reference_run(rg, ryn, seed, 1, &rx, (const float *const[]){X}, ry,
                                     (float *const[]){rdx});
    glia_graph_free(rg);
    if (!ran) {
        if (!built) test_fail(file, line, "reference build: %s", glia_last_error());
        goto done;
    }
    if (memcmp(glia_node_value(g, y), ry, (size_t)ny * sizeof *ry) ||
        memcmp(glia_node_grad(g, x), rdx, (size_t)n * sizeof *rdx)) {
        test_fail(file, line, "maxout k=%d differs from the reference device (y %g, dx %g)", k,
                  max_rel_diff(glia_node_value(g, y), ry, ny, 1e-3, NULL),
                  max_rel_diff(glia_node_grad(g, x), rdx, n, 1e-3, NULL));
        goto done;
    }
    ref_checked(g, y);
    ok = 1;
done:
    free(seed);
    free(ry);
    free(rdx);
    glia_graph_free(g);
    return ok;
}
#define VS_REFERENCE(nd, d, k, rs) do { if (!run_reference(nd, d, k, rs, __FILE__, __LINE__)) return; } while (0)

TEST(maxout_gradcheck) {
    const struct { int nd; int64_t d[4]; int k; } cases[] = {
        {4, {2, 6, 3, 3}, 3}, {3, {3, 4, 5}, 2}, {2, {3, 12}, 4}};
    for (int c = 0; c < 3; c++) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", cases[c].nd, cases[c].d, &x));
        OK(glia_maxout(g, "mo", x, cases[c].k, &y));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        glia_shape sh;
        OK(glia_node_shape(g, x, &sh));
        fill_uniform(glia_node_value(g, x), glia_shape_numel(&sh), -2, 2, 60 + c);
        GRADCHECK(g, y, x, 1e-3);
        glia_graph_free(g);
    }
}

/* a [N, C] dense output (Goodfellow's maxout unit), feature maps, and a case big enough for the
 * parallel loop */
TEST(maxout_matches_reference) {
    VS_REFERENCE(2, ((int64_t[]){4, 12}), 4, 70);
    VS_REFERENCE(4, ((int64_t[]){2, 6, 3, 3}), 3, 72);
    VS_REFERENCE(3, ((int64_t[]){3, 10, 7}), 5, 74);
    VS_REFERENCE(4, ((int64_t[]){4, 20, 16, 16}), 4, 76);
    VS_REFERENCE(4, ((int64_t[]){2, 6, 3, 3}), 6, 78); /* one group: the max over all channels */
}

TEST(maxout_golden_pytorch) {
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){2, 6, 3, 3}, &x));
    OK(glia_maxout(g, NULL, x, 3, &y));
    GOLDEN_CHECK(g, "act_maxout", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-5);
    glia_graph_free(g);
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){3, 12}, &x));
    OK(glia_maxout(g, NULL, x, 4, &y));
    GOLDEN_CHECK(g, "act_maxout_2d", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-5);
    glia_graph_free(g);
}

/* equal values in a group: the first piece wins and gets the whole gradient */
TEST(maxout_ties_first_wins) {
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){1, 9}, &x));
    OK(glia_maxout(g, NULL, x, 3, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    const float xs[9] = {2, 2, -1, -1, 5, 5, 7, 7, 7}, seed[3] = {10, 20, 30};
    OK(glia_node_set(g, x, xs, 9));
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    const float *Y = glia_node_value(g, y), *dx = glia_node_grad(g, x);
    CHECK(Y[0] == 2 && Y[1] == 5 && Y[2] == 7);
    const float want[9] = {10, 0, 0, 0, 20, 0, 30, 0, 0};
    for (int i = 0; i < 9; i++) CHECK_MSG(dx[i] == want[i], "dx[%d] = %g, expected %g", i, (double)dx[i], (double)want[i]);
    glia_graph_free(g);
}

/* k = 1 is the identity */
TEST(maxout_k1_identity) {
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 3, (int64_t[]){2, 3, 4}, &x));
    OK(glia_maxout(g, NULL, x, 1, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float seed[24];
    fill_uniform(glia_node_value(g, x), 24, -1, 1, 80);
    fill_uniform(seed, 24, -1, 1, 81);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    CHECK(!memcmp(glia_node_value(g, y), glia_node_value(g, x), sizeof seed));
    CHECK(!memcmp(glia_node_grad(g, x), seed, sizeof seed));
    glia_graph_free(g);
}

/* the saved argmax is resized with the batch: a larger batch after compiling still runs right */
TEST(maxout_set_batch) {
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){1, 4, 2, 2}, &x));
    OK(glia_maxout(g, NULL, x, 2, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    glia_memory_stats m1, m2;
    OK(glia_graph_memory(g, &m1));
    OK(glia_graph_set_batch(g, 6));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_graph_memory(g, &m2));
    CHECK(m2.saved >= 6 * 2 * 2 * 2 * sizeof(int32_t) && m2.saved > m1.saved);
    float *X = glia_node_value(g, x), seed[48], rdx[96], ry[48];
    fill_uniform(X, 96, -1, 1, 90);
    fill_uniform(seed, 48, -1, 1, 91);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    glia_graph *rg; /* the reference device on a twin graph built with batch 6 */
    int rx, ryn;
    OK(glia_graph_new(&rg));
    OK(glia_input(rg, "x", 4, (int64_t[]){6, 4, 2, 2}, &rx));
    OK(glia_maxout(rg, NULL, rx, 2, &ryn));
    OK(glia_node_requires_grad(rg, rx, 1));
    int ran = reference_run(rg, ryn, seed, 1, &rx, (const float *const[]){X}, ry, (float *const[]){rdx});
    glia_graph_free(rg);
    CHECK(ran);
    CHECK(!memcmp(glia_node_value(g, y), ry, sizeof ry));
    CHECK(!memcmp(glia_node_grad(g, x), rdx, sizeof rdx));
    glia_graph_free(g);
}

TEST(maxout_shape_errors) {
    glia_graph *g;
    int x, v, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){2, 6, 3, 3}, &x));
    OK(glia_input(g, "v", 1, (int64_t[]){6}, &v));
    CHECK(glia_maxout(g, "mo1", x, 4, &y) == GLIA_ESHAPE);
    CHECK_MSG(strstr(glia_last_error(), "mo1") && strstr(glia_last_error(), "[2, 6, 3, 3]") &&
              strstr(glia_last_error(), "k = 4"), "%s", glia_last_error());
    CHECK(glia_maxout(g, "mo2", x, 0, &y) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "mo2"), "%s", glia_last_error());
    CHECK(glia_maxout(g, "mo3", x, -2, &y) == GLIA_EINVAL);
    CHECK(glia_maxout(g, "mo4", v, 2, &y) == GLIA_ESHAPE); /* no channel axis */
    CHECK_MSG(strstr(glia_last_error(), "mo4") && strstr(glia_last_error(), "[6]"), "%s",
              glia_last_error());
    CHECK(glia_graph_num_nodes(g) == 2);
    OK(glia_maxout(g, "mo5", x, 6, &y));
    glia_graph_free(g);
}
