/* test_graph.c: the graph core: memory plan, gradient accumulation, gradients with respect to
 * inputs and intermediate nodes, freezing, batch changes, errors, reproducible random numbers. */
#include "test.h"
#include <string.h>

/* a chain x -> scale -> scale -> ... -> y of length L */
static glia_graph *chain(int L, int *x, int *y, int64_t width) {
    glia_graph *g;
    if (glia_graph_new(&g)) return NULL;
    int cur;
    glia_input(g, "x", 2, (int64_t[]){4, width}, x);
    cur = *x;
    for (int i = 0; i < L; i++) glia_scale(g, NULL, cur, 1.01f, &cur);
    *y = cur;
    return g;
}

TEST(graph_memory_plan_reuses_buffers) {
    int x, y;
    glia_graph *g = chain(20, &x, &y, 1000);
    CHECK(g);
    glia_memory_stats ms;
    OK(glia_graph_compile(g, 0)); /* inference: only two activations live at a time */
    OK(glia_graph_memory(g, &ms));
    CHECK_MSG(ms.arena <= 2 * 4 * 1000 * 4 + 256, "inference arena %zu bytes", ms.arena);
    CHECK(ms.arena_no_reuse >= 20 * 4 * 1000 * 4);
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_graph_memory(g, &ms));
    /* scale's backward reads nothing: activations die early and gradients share too */
    CHECK_MSG(ms.arena < ms.arena_no_reuse / 4, "training arena %zu of %zu", ms.arena, ms.arena_no_reuse);
    fill_uniform(glia_node_value(g, x), 4000, -1, 1, 1);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, NULL, 0));
    double want = 1;
    for (int i = 0; i < 20; i++) want *= 1.01f;
    CHECK_NEAR(glia_node_grad(g, x)[17], want, 1e-5);
    CHECK_NEAR(glia_node_value(g, y)[3], glia_node_value(g, x)[3] * want, 1e-5);
    glia_graph_free(g);
}

/* y = a*x + x*x: x feeds three consumers; dy/dx = a + 2x */
TEST(graph_gradients_accumulate_over_consumers) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, a, ax, xx, y;
    OK(glia_input(g, "x", 2, (int64_t[]){1, 5}, &x));
    OK(glia_param(g, "a", 2, (int64_t[]){1, 5}, &a));
    OK(glia_mul(g, "ax", a, x, &ax));
    OK(glia_mul(g, "xx", x, x, &xx));
    OK(glia_add(g, "y", ax, xx, &y));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float *X = glia_node_value(g, x), *A = glia_node_value(g, a);
    fill_uniform(X, 5, -1, 1, 2);
    fill_uniform(A, 5, -1, 1, 3);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, NULL, 0));
    for (int i = 0; i < 5; i++) {
        CHECK_NEAR(glia_node_grad(g, x)[i], A[i] + 2 * X[i], 1e-6);
        CHECK_NEAR(glia_node_grad(g, a)[i], X[i], 1e-6);
    }
    /* a second backward overwrites parameter gradients; ACCUMULATE adds */
    OK(glia_graph_backward(g, y, NULL, 0));
    CHECK_NEAR(glia_node_grad(g, a)[0], X[0], 1e-6);
    OK(glia_graph_backward(g, y, NULL, GLIA_BACKWARD_ACCUMULATE));
    CHECK_NEAR(glia_node_grad(g, a)[0], 2 * X[0], 1e-6);
    glia_graph_free(g);
}

/* d(score)/d(feature map) and d(score)/d(input), as Grad-CAM and saliency need */
TEST(graph_grad_wrt_intermediate_and_input) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, h, r, w2, y;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){4, 3}, &w));
    OK(glia_param(g, "w2", 2, (int64_t[]){2, 4}, &w2));
    OK(glia_dense(g, "h", x, w, -1, &h));
    OK(glia_scale(g, "r", h, 3.0f, &r));
    OK(glia_dense(g, "y", r, w2, -1, &y));
    OK(glia_node_retain(g, h));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    CHECK(glia_node_value(g, r) == NULL); /* not retained: its buffer is reused */
    CHECK(strstr(glia_last_error(), "glia_node_retain"));
    float *W = glia_node_value(g, w), *W2 = glia_node_value(g, w2);
    fill_uniform(glia_node_value(g, x), 6, -1, 1, 4);
    fill_uniform(W, 12, -1, 1, 5);
    fill_uniform(W2, 8, -1, 1, 6);
    OK(glia_graph_forward(g));
    float seed[4] = {0, 1, 0, 0}; /* score of class 1 for sample 0 */
    OK(glia_graph_backward(g, y, seed, 0));
    const float *dh = glia_node_grad(g, h), *dx = glia_node_grad(g, x);
    CHECK(dh && dx);
    for (int j = 0; j < 4; j++) CHECK_NEAR(dh[j], 3 * W2[4 + j], 1e-6);
    for (int j = 0; j < 4; j++) CHECK(dh[4 + j] == 0);
    for (int k = 0; k < 3; k++) {
        double s = 0;
        for (int j = 0; j < 4; j++) s += 3.0 * W2[4 + j] * W[j * 3 + k];
        CHECK_NEAR(dx[k], s, 1e-5);
    }
    /* backward from the retained intermediate node itself */
    float seed_h[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    OK(glia_graph_backward(g, h, seed_h, 0));
    for (int k = 0; k < 3; k++) CHECK_NEAR(glia_node_grad(g, x)[k], W[k], 1e-6);
    CHECK(glia_node_grad(g, w2)[0] == 0); /* w2 lies after h: untouched, reported as zero */
    glia_graph_free(g);
}

TEST(graph_freezing) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, b, y;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){4, 3}, &w));
    OK(glia_param(g, "b", 1, (int64_t[]){4}, &b));
    OK(glia_dense(g, "fc", x, w, b, &y));
    OK(glia_node_set_trainable(g, w, 0));
    CHECK(!glia_node_trainable(g, w) && glia_node_trainable(g, b));
    fill_uniform(glia_node_value(g, w), 12, -1, 1, 7);
    OK(glia_graph_forward(g)); /* compiles on demand */
    OK(glia_graph_backward(g, y, NULL, 0));
    CHECK(glia_node_grad(g, w) == NULL);
    CHECK(glia_node_grad(g, b) && glia_node_grad(g, b)[0] == 2.0f);
    OK(glia_node_set_trainable(g, b, 0));
    OK(glia_graph_forward(g));
    CHECK(glia_graph_backward(g, y, NULL, 0) == GLIA_ESTATE); /* nothing left to train */
    CHECK(glia_node_set_trainable(g, x, 0) == GLIA_EINVAL);
    glia_graph_free(g);
}

TEST(graph_set_batch_and_inference_mode) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, y;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){4, 3}, &w));
    OK(glia_dense(g, "fc", x, w, -1, &y));
    fill_uniform(glia_node_value(g, w), 12, -1, 1, 8);
    OK(glia_graph_compile(g, 0));
    float xs[21];
    fill_uniform(xs, 21, -1, 1, 9);
    OK(glia_node_set(g, x, xs, 6));
    OK(glia_graph_forward(g));
    float first = glia_node_value(g, y)[0];
    CHECK(glia_graph_backward(g, y, NULL, 0) == GLIA_ESTATE);
    OK(glia_graph_set_batch(g, 7));
    CHECK(glia_node_set(g, x, xs, 6) == GLIA_ESHAPE);
    OK(glia_node_set(g, x, xs, 21));
    OK(glia_graph_forward(g));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.dim[0] == 7);
    CHECK(glia_node_value(g, y)[0] == first);
    glia_graph_free(g);
}

TEST(graph_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y;
    CHECK(glia_graph_compile(g, 0) == GLIA_ESTATE);
    CHECK(glia_input(g, "x", 2, (int64_t[]){0, 3}, &x) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "'x'"));
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    CHECK(glia_input(g, "x", 1, (int64_t[]){2}, &y) == GLIA_EINVAL); /* duplicate name */
    CHECK(strstr(glia_last_error(), "already exists"));
    CHECK(glia_scale(g, "r", 99, 1.0f, &y) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "99"));
    CHECK(glia_graph_find(g, "nope", &y) == GLIA_EINVAL);
    OK(glia_graph_find(g, "x", &y));
    CHECK(y == x);
    CHECK(glia_node_value(g, 1234) == NULL);
    glia_graph_free(g);
}

TEST(graph_rng_reproducible) {
    glia_rng a, b;
    glia_rng_seed(&a, 7, 1);
    glia_rng_seed(&b, 7, 1);
    for (int i = 0; i < 1000; i++) CHECK(glia_rng_u32(&a) == glia_rng_u32(&b));
    glia_rng_seed(&b, 8, 1);
    CHECK(glia_rng_u32(&a) != glia_rng_u32(&b));
    /* moments of the normal generator */
    double s = 0, s2 = 0;
    for (int i = 0; i < 100000; i++) {
        double z = glia_rng_normal(&a);
        s += z;
        s2 += z * z;
    }
    CHECK_NEAR(s / 100000, 0, 0.02);
    CHECK_NEAR(s2 / 100000, 1, 0.02);
    int counts[3] = {0};
    for (int i = 0; i < 30000; i++) counts[glia_rng_below(&a, 3)]++;
    for (int i = 0; i < 3; i++) CHECK(counts[i] > 9500 && counts[i] < 10500);
    /* PCG32 reference output for seed 42, stream 54 (pcg32-demo) */
    glia_rng_seed(&a, 42, 54);
    CHECK(glia_rng_u32(&a) == 0xa15c02b7u);
    CHECK(glia_rng_u32(&a) == 0x7b47f409u);
}

/* per-op timing: nothing when off; when on, every op node that ran forward and backward has
 * positive sums, inputs none; turning it off forgets */
TEST(graph_profile_times_each_op) {
    glia_graph *g;
    int x, w, y, r, l;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){64, 256}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){256, 256}, &w));
    OK(glia_dense(g, "fc", x, w, -1, &y));
    OK(glia_relu(g, "relu", y, &r));
    OK(glia_mse_loss(g, "loss", r, x, &l));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 64 * 256, -1, 1, 1);
    fill_uniform(glia_node_value(g, w), 256 * 256, -1, 1, 2);
    double f = -1, b = -1;
    OK(glia_graph_forward(g));
    OK(glia_graph_profile(g, y, &f, &b));
    CHECK(f == 0 && b == 0);
    OK(glia_graph_set_profile(g, 1));
    for (int i = 0; i < 3; i++) {
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, l, NULL, 0));
    }
    int ops[3] = {y, r, l};
    for (int i = 0; i < 3; i++) {
        OK(glia_graph_profile(g, ops[i], &f, &b));
        CHECK_MSG(f > 0 && b > 0, "node %d: forward %g s, backward %g s", ops[i], f, b);
    }
    OK(glia_graph_profile(g, x, &f, &b));
    CHECK(f == 0 && b == 0);
    CHECK(glia_graph_profile(g, 99, &f, &b) == GLIA_EINVAL);
    OK(glia_graph_set_profile(g, 0));
    OK(glia_graph_profile(g, y, &f, &b));
    CHECK(f == 0 && b == 0);
    glia_graph_free(g);
}
