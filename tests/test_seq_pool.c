/* test_seq_pool.c: many-to-one mean and max over time (src/ops/seq_pool.c) against a naive loop,
 * finite differences and PyTorch (scripts/golden/gen_seq_pool.py), padding excluded. */
#include "test.h"
#include <string.h>

enum { T = 5, N = 3, D = 4 };

static glia_status build(glia_graph **g, int mode, int *y, int *len, int *out) {
    glia_status s;
    if ((s = glia_graph_new(g)) || (s = glia_input(*g, "y", 3, (int64_t[]){T, N, D}, y)) ||
        (s = glia_input(*g, "len", 1, (int64_t[]){N}, len)) ||
        (s = glia_seq_pool(*g, "pool", *y, *len, mode, out)) ||
        (s = glia_node_requires_grad(*g, *y, 1)))
        return s;
    return glia_graph_compile(*g, GLIA_COMPILE_BACKWARD);
}

TEST(seq_pool_matches_naive_and_gradcheck) {
    static const int L[N] = {2, 5, 1};
    for (int mode = 0; mode < 2; mode++) {
        glia_graph *g;
        int y, len, out;
        OK(build(&g, mode, &y, &len, &out));
        float *Y = glia_node_value(g, y), seed[N * D];
        fill_uniform(Y, T * N * D, -1, 1, 3 + mode);
        fill_uniform(seed, N * D, -1, 1, 9);
        OK(glia_node_set(g, len, (float[]){2, 5, 1}, N));
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, out, seed, 0));
        const float *o = glia_node_value(g, out), *dy = glia_node_grad(g, y);
        for (int n = 0; n < N; n++)
            for (int j = 0; j < D; j++) {
                /* naive: the reduction over t < L[n], and where its gradient goes */
                double acc = mode ? -INFINITY : 0;
                int arg = 0;
                for (int t = 0; t < L[n]; t++) {
                    float v = Y[(t * N + n) * D + j];
                    if (mode && v > acc) acc = v, arg = t;
                    if (!mode) acc += v;
                }
                if (!mode) acc /= L[n];
                CHECK_NEAR(o[n * D + j], acc, 1e-6);
                for (int t = 0; t < T; t++) {
                    double want = t >= L[n] ? 0 : mode ? (t == arg ? seed[n * D + j] : 0)
                                                       : seed[n * D + j] / L[n];
                    CHECK_NEAR(dy[(t * N + n) * D + j], want, 1e-7);
                }
            }
        ref_checked(g, out);
        GRADCHECK(g, out, y, 1e-3);
        glia_graph_free(g);
    }
}

/* without lengths every sequence has all T steps */
TEST(seq_pool_without_lengths_takes_every_step) {
    glia_graph *g;
    int y, out;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "y", 3, (int64_t[]){T, N, D}, &y));
    OK(glia_seq_pool(g, "mean", y, -1, GLIA_SEQ_POOL_MEAN, &out));
    OK(glia_graph_compile(g, 0));
    float *Y = glia_node_value(g, y);
    for (int i = 0; i < T * N * D; i++) Y[i] = (float)(i / (N * D)); /* y[t] = t */
    OK(glia_graph_forward(g));
    for (int i = 0; i < N * D; i++) CHECK(glia_node_value(g, out)[i] == 2.0f); /* mean of 0..4 */
    glia_graph_free(g);
}

static int golden_case(const char *file, int mode) {
    golden *gd = golden_load(file);
    if (!gd) return 0;
    glia_graph *g = NULL;
    int y, len, out, ok = 0;
    glia_shape s;
    const float *yin = golden_get(gd, "y_in", &s), *lens = golden_get(gd, "lengths", NULL),
                *want = golden_get(gd, "y", NULL), *seed = golden_get(gd, "seed", NULL),
                *dwant = golden_get(gd, "dy_in", NULL);
    if (!yin || !lens || !want || !seed || !dwant) goto done;
    if (build(&g, mode, &y, &len, &out) || glia_node_set(g, y, yin, T * N * D) ||
        glia_node_set(g, len, lens, N) || glia_graph_forward(g) ||
        glia_graph_backward(g, out, seed, 0)) {
        test_fail(__FILE__, __LINE__, "%s: %s", file, glia_last_error());
        goto done;
    }
    int64_t worst;
    double e1 = max_rel_diff(glia_node_value(g, out), want, N * D, 1e-3, &worst),
           e2 = max_rel_diff(glia_node_grad(g, y), dwant, T * N * D, 1e-3, &worst);
    if (e1 > 1e-5 || e2 > 1e-5) {
        test_fail(__FILE__, __LINE__, "%s: output error %g, gradient error %g", file, e1, e2);
        goto done;
    }
    golden_checked(g, out);
    ok = 1;
done:
    glia_graph_free(g);
    golden_free(gd);
    return ok;
}

TEST(seq_pool_golden_pytorch) {
    CHECK(golden_case("seq_pool_mean", GLIA_SEQ_POOL_MEAN));
    CHECK(golden_case("seq_pool_max", GLIA_SEQ_POOL_MAX));
}

TEST(seq_pool_errors_name_node) {
    glia_graph *g;
    int y, len, bad, out;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "y", 3, (int64_t[]){T, N, D}, &y));
    OK(glia_input(g, "len", 1, (int64_t[]){N}, &len));
    OK(glia_input(g, "flat", 2, (int64_t[]){T, N}, &bad));
    CHECK(glia_seq_pool(g, "p2d", bad, -1, GLIA_SEQ_POOL_MAX, &out) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "p2d") && strstr(glia_last_error(), "[T, N, D]"));
    CHECK(glia_seq_pool(g, "pmode", y, len, 7, &out) == GLIA_EINVAL);
    CHECK(glia_seq_pool(g, "plen", y, bad, GLIA_SEQ_POOL_MEAN, &out) == GLIA_ESHAPE);
    OK(glia_seq_pool(g, "pool", y, len, GLIA_SEQ_POOL_MEAN, &out));
    OK(glia_graph_compile(g, 0));
    OK(glia_node_set(g, len, (float[]){2, 6, 1}, N)); /* 6 > T */
    CHECK(glia_graph_forward(g) == GLIA_ERANGE && strstr(glia_last_error(), "pool"));
    glia_graph_free(g);
}
