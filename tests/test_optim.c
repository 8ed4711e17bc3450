/* test_optim.c: optimisers and learning-rate schedules against PyTorch (scripts/golden/
 * gen_optim.py), optimiser state, frozen parameters, configuration errors, thread determinism. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ golden: 5 steps vs torch */

/* x [5,4] -> dense (w [3,4], b [3]) -> mse_loss with target [5,3] */
typedef struct {
    glia_graph *g;
    int x, w, b, t, y, loss;
} tiny_net;

static int tiny_build(tiny_net *m) {
    memset(m, 0, sizeof *m);
    if (glia_graph_new(&m->g)) return 0;
    return !glia_input(m->g, "x", 2, (int64_t[]){5, 4}, &m->x) &&
           !glia_param(m->g, "w", 2, (int64_t[]){3, 4}, &m->w) &&
           !glia_param(m->g, "b", 1, (int64_t[]){3}, &m->b) &&
           !glia_input(m->g, "target", 2, (int64_t[]){5, 3}, &m->t) &&
           !glia_dense(m->g, "fc", m->x, m->w, m->b, &m->y) &&
           !glia_mse_loss(m->g, "loss", m->y, m->t, &m->loss) &&
           !glia_graph_compile(m->g, GLIA_COMPILE_BACKWARD);
}

/* worst |got - want| / (1e-3 + |want|) over all steps (parameters are O(1)), for the report */
static double golden_worst;
/* the learning-rate factors of w and b for the next run_golden (PyTorch: parameter groups) */
static float golden_factor[2] = {1, 1};

static void run_golden(const char *file, const glia_optim_config *cfg, double tol) {
    golden *gd = golden_load(file);
    if (!gd) return;
    golden_worst = 0;
    tiny_net m;
    glia_optim *o = NULL;
    if (!tiny_build(&m)) {
        test_fail(__FILE__, __LINE__, "%s: building the net: %s", file, glia_last_error());
        goto done;
    }
    static const char *const init[] = {"w0", "b0", "x", "target"};
    const int nodes[] = {m.w, m.b, m.x, m.t};
    for (int i = 0; i < 4; i++) {
        glia_shape s;
        const float *v = golden_get(gd, init[i], &s);
        if (!v || glia_node_set(m.g, nodes[i], v, glia_shape_numel(&s))) {
            test_fail(__FILE__, __LINE__, "%s: setting %s: %s", file, init[i], glia_last_error());
            goto done;
        }
    }
    if (glia_node_set_lr_factor(m.g, m.w, golden_factor[0]) ||
        glia_node_set_lr_factor(m.g, m.b, golden_factor[1]) || glia_optim_new(m.g, cfg, &o)) {
        test_fail(__FILE__, __LINE__, "%s: glia_optim_new: %s", file, glia_last_error());
        goto done;
    }
    const float *norms = golden_get(gd, "norm", NULL);
    if (!norms) goto done;
    for (int step = 1; step <= 5; step++) {
        if (glia_graph_forward(m.g) || glia_graph_backward(m.g, m.loss, NULL, 0) ||
            glia_optim_step(o)) {
            test_fail(__FILE__, __LINE__, "%s step %d: %s", file, step, glia_last_error());
            goto done;
        }
        CHECK_MSG(glia_optim_steps(o) == step, "%s: steps %lld after step %d", file,
                  (long long)glia_optim_steps(o), step);
        double nd = fabs(glia_optim_last_grad_norm(o) - norms[step - 1]) / norms[step - 1];
        CHECK_MSG(nd <= 1e-5, "%s step %d: gradient norm %.9g, PyTorch %.9g", file, step,
                  (double)glia_optim_last_grad_norm(o), (double)norms[step - 1]);
        for (int k = 0; k < 2; k++) {
            char nm[16];
            snprintf(nm, sizeof nm, "%c%d", k ? 'b' : 'w', step);
            glia_shape s;
            const float *want = golden_get(gd, nm, &s);
            if (!want) goto done;
            const float *got = glia_node_value(m.g, k ? m.b : m.w);
            int64_t worst;
            double d = max_rel_diff(got, want, glia_shape_numel(&s), 1e-3, &worst);
            if (d > golden_worst) golden_worst = d;
            if (!(d <= tol)) {
                test_fail(__FILE__, __LINE__, "%s: %s[%lld] = %.9g, PyTorch %.9g (relative %.3g > "
                          "%.3g)", file, nm, (long long)worst, (double)got[worst],
                          (double)want[worst], d, tol);
                goto done;
            }
        }
    }
    if (getenv("GLIA_TEST_VERBOSE")) printf("     %s: worst relative difference %.3g over 5 steps\n", file, golden_worst);
done:
    glia_optim_free(o);
    glia_graph_free(m.g);
    golden_free(gd);
}

#define TOL 1e-5
TEST(optim_sgd_golden) { run_golden("optim_sgd", &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f}, TOL); }
TEST(optim_sgd_momentum_golden) {
    run_golden("optim_sgd_momentum",
               &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f, .momentum = 0.9f}, TOL);
}
TEST(optim_sgd_nesterov_golden) {
    run_golden("optim_sgd_nesterov",
               &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f, .momentum = 0.9f, .nesterov = 1},
               TOL);
}
TEST(optim_sgd_wd_golden) {
    run_golden("optim_sgd_wd", &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f, .momentum = 0.5f,
                                                    .weight_decay = 0.1f}, TOL);
}
TEST(optim_rmsprop_golden) {
    run_golden("optim_rmsprop",
               &(glia_optim_config){.kind = GLIA_RMSPROP, .lr = 0.01f, .beta2 = 0.9f, .eps = 1e-3f},
               TOL);
}
TEST(optim_rmsprop_wd_golden) { /* defaults: alpha 0.99, eps 1e-8 */
    run_golden("optim_rmsprop_wd",
               &(glia_optim_config){.kind = GLIA_RMSPROP, .lr = 0.01f, .weight_decay = 0.1f}, TOL);
}
TEST(optim_adam_golden) { /* defaults: betas 0.9, 0.999, eps 1e-8 */
    run_golden("optim_adam", &(glia_optim_config){.kind = GLIA_ADAM, .lr = 0.01f}, TOL);
}
TEST(optim_adam_wd_golden) {
    run_golden("optim_adam_wd", &(glia_optim_config){.kind = GLIA_ADAM, .lr = 0.01f, .beta1 = 0.8f,
                                                     .beta2 = 0.99f, .eps = 1e-3f,
                                                     .weight_decay = 0.1f}, TOL);
}
TEST(optim_adamw_golden) {
    run_golden("optim_adamw", &(glia_optim_config){.kind = GLIA_ADAMW, .lr = 0.01f, .eps = 1e-3f,
                                                   .weight_decay = 0.1f}, TOL);
}
/* per-parameter learning-rate factors (w, b) against PyTorch's parameter groups */
static void run_golden_factors(const char *file, const glia_optim_config *cfg, float fw, float fb) {
    golden_factor[0] = fw, golden_factor[1] = fb;
    run_golden(file, cfg, TOL);
    golden_factor[0] = golden_factor[1] = 1;
}
TEST(optim_sgd_momentum_lr_factor_golden) {
    run_golden_factors("optim_sgd_momentum_lr_factor",
                       &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f, .momentum = 0.9f}, 0.5f, 0.0f);
}
TEST(optim_adamw_lr_factor_golden) {
    run_golden_factors("optim_adamw_lr_factor", &(glia_optim_config){.kind = GLIA_ADAMW, .lr = 0.01f,
                       .eps = 1e-3f, .weight_decay = 0.1f}, 0.3f, 2.0f);
}
TEST(optim_rmsprop_lr_factor_golden) {
    run_golden_factors("optim_rmsprop_lr_factor", &(glia_optim_config){.kind = GLIA_RMSPROP, .lr = 0.01f},
                       0.25f, 0.0f);
}

TEST(optim_sgd_clip_norm_golden) {
    run_golden("optim_sgd_clip_norm",
               &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f, .clip_norm = 0.5f}, TOL);
}
TEST(optim_sgd_clip_value_golden) {
    run_golden("optim_sgd_clip_value",
               &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f, .clip_value = 0.1f}, TOL);
}
TEST(optim_adam_clip_both_golden) {
    run_golden("optim_adam_clip_both", &(glia_optim_config){.kind = GLIA_ADAM, .lr = 0.01f,
                                                            .clip_value = 0.2f, .clip_norm = 0.3f},
               TOL);
}

/* ------------------------------------------------------------------ helpers: gradients by hand */

/* a graph of parameters only, compiled for backward so each has a gradient buffer */
static glia_graph *params_graph(int n, const char *const *names, const int64_t *sizes, int *ids) {
    glia_graph *g;
    if (glia_graph_new(&g)) return NULL;
    for (int i = 0; i < n; i++)
        if (glia_param(g, names[i], 1, &sizes[i], &ids[i])) {
            glia_graph_free(g);
            return NULL;
        }
    if (glia_graph_compile(g, GLIA_COMPILE_BACKWARD)) {
        glia_graph_free(g);
        return NULL;
    }
    return g;
}

TEST(optim_sgd_update_by_hand) {
    /* w = 1, g = 0.5, lr 0.1, momentum 0.9: v1 = 0.5, w1 = 0.95; v2 = 0.95, w2 = 0.855 */
    int id;
    glia_graph *g = params_graph(1, (const char *[]){"w"}, (int64_t[]){3}, &id);
    CHECK(g);
    glia_optim *o;
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f, .momentum = 0.9f}, &o));
    float *w = glia_node_value(g, id), *gr = glia_node_grad(g, id);
    CHECK(w && gr);
    for (int i = 0; i < 3; i++) w[i] = 1.0f, gr[i] = 0.5f;
    OK(glia_optim_step(o));
    CHECK_NEAR(w[0], 0.95, 1e-7);
    OK(glia_optim_step(o));
    CHECK_NEAR(w[2], 0.855, 1e-6);
    CHECK(gr[1] == 0.5f); /* the gradient buffer is not modified */
    glia_optim_free(o);
    glia_graph_free(g);
}

TEST(optim_clip_norm_by_hand) {
    int id[2];
    glia_graph *g = params_graph(2, (const char *[]){"a", "b"}, (int64_t[]){1, 1}, id);
    CHECK(g);
    glia_optim *o;
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 1.0f, .clip_norm = 1.0f}, &o));
    float *a = glia_node_value(g, id[0]), *b = glia_node_value(g, id[1]);
    glia_node_grad(g, id[0])[0] = 3.0f; /* norm 5 over both parameters */
    glia_node_grad(g, id[1])[0] = -4.0f;
    OK(glia_optim_step(o));
    CHECK_NEAR(glia_optim_last_grad_norm(o), 5.0, 1e-6);
    CHECK_NEAR(a[0], -3.0 / (5.0 + 1e-6), 1e-6);
    CHECK_NEAR(b[0], 4.0 / (5.0 + 1e-6), 1e-6);
    glia_optim_free(o);
    /* a norm below clip_norm is not scaled up */
    a[0] = b[0] = 0;
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 1.0f, .clip_norm = 10.0f}, &o));
    OK(glia_optim_step(o));
    CHECK(a[0] == -3.0f && b[0] == 4.0f);
    glia_optim_free(o);
    /* value clipping first, then the norm of the clipped gradients: (1, -1) -> norm sqrt 2 */
    a[0] = b[0] = 0;
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 1.0f, .clip_value = 1.0f,
                                              .clip_norm = 1.0f}, &o));
    OK(glia_optim_step(o));
    CHECK_NEAR(glia_optim_last_grad_norm(o), 5.0, 1e-6); /* reported before clipping */
    CHECK_NEAR(a[0], -1.0 / (sqrt(2.0) + 1e-6), 1e-6);
    CHECK_NEAR(b[0], 1.0 / (sqrt(2.0) + 1e-6), 1e-6);
    glia_optim_free(o);
    glia_graph_free(g);
}

/* ------------------------------------------------------------------ frozen parameters */

TEST(optim_frozen_untouched) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, f, h, y, t, loss;
    OK(glia_input(g, "x", 2, (int64_t[]){4, 3}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){3, 3}, &w));
    OK(glia_param(g, "f", 2, (int64_t[]){2, 3}, &f));
    OK(glia_dense(g, "h", x, w, -1, &h));
    OK(glia_dense(g, "y", h, f, -1, &y));
    OK(glia_input(g, "t", 2, (int64_t[]){4, 2}, &t));
    OK(glia_mse_loss(g, "loss", y, t, &loss));
    OK(glia_node_set_trainable(g, f, 0));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, x), 12, -1, 1, 11);
    fill_uniform(glia_node_value(g, w), 9, -1, 1, 12);
    fill_uniform(glia_node_value(g, f), 6, -1, 1, 13);
    fill_uniform(glia_node_value(g, t), 8, -1, 1, 14);
    float f0[6], w0[9];
    memcpy(f0, glia_node_value(g, f), sizeof f0);
    memcpy(w0, glia_node_value(g, w), sizeof w0);
    glia_optim *o;
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_ADAM, .lr = 0.1f, .weight_decay = 0.5f}, &o));
    CHECK(glia_optim_num_state(o) == 2); /* w only */
    const char *nm;
    OK(glia_optim_state(o, 1, &nm, NULL, NULL));
    CHECK(!strcmp(nm, "w.exp_avg_sq"));
    for (int s = 0; s < 3; s++) {
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, loss, NULL, 0));
        OK(glia_optim_step(o));
    }
    CHECK(!memcmp(f0, glia_node_value(g, f), sizeof f0));
    CHECK(memcmp(w0, glia_node_value(g, w), sizeof w0)); /* the trainable one moved */
    glia_optim_free(o);

    /* frozen after the optimiser was made: skipped from then on (before and after recompiling) */
    OK(glia_node_set_trainable(g, f, 1));
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f, .momentum = 0.9f}, &o));
    CHECK(glia_optim_num_state(o) == 2);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, loss, NULL, 0));
    OK(glia_node_set_trainable(g, f, 0));
    memcpy(f0, glia_node_value(g, f), sizeof f0);
    memcpy(w0, glia_node_value(g, w), sizeof w0);
    OK(glia_optim_step(o)); /* the old plan's gradient is still there; f is frozen now */
    CHECK(!memcmp(f0, glia_node_value(g, f), sizeof f0));
    CHECK(memcmp(w0, glia_node_value(g, w), sizeof w0));
    OK(glia_graph_forward(g)); /* recompiles: f has no gradient buffer */
    OK(glia_graph_backward(g, loss, NULL, 0));
    CHECK(glia_node_grad(g, f) == NULL);
    OK(glia_optim_step(o));
    CHECK(!memcmp(f0, glia_node_value(g, f), sizeof f0));
    glia_optim_free(o);
    glia_graph_free(g);
}

/* ------------------------------------------------------------------ learning-rate factors */

/* 3 steps of the tiny net with w's factor fw (b's 1): w after them in w_out */
static int factor_steps(const glia_optim_config *cfg, float fw, float *w_out) {
    tiny_net m;
    glia_optim *o = NULL;
    int ok = tiny_build(&m);
    if (ok) {
        fill_uniform(glia_node_value(m.g, m.w), 12, -1, 1, 21);
        fill_uniform(glia_node_value(m.g, m.b), 3, -1, 1, 22);
        fill_uniform(glia_node_value(m.g, m.x), 20, -2, 2, 23);
        fill_uniform(glia_node_value(m.g, m.t), 15, -1, 1, 24);
        ok = !glia_node_set_lr_factor(m.g, m.w, fw) && !glia_optim_new(m.g, cfg, &o);
    }
    for (int s = 0; ok && s < 3; s++)
        ok = !glia_graph_forward(m.g) && !glia_graph_backward(m.g, m.loss, NULL, 0) && !glia_optim_step(o);
    if (ok) memcpy(w_out, glia_node_value(m.g, m.w), 12 * sizeof *w_out);
    glia_optim_free(o);
    glia_graph_free(m.g);
    return ok;
}

/* factor 0 leaves a parameter bit-identical under every optimiser (weight decay included);
 * with SGD, factor 0.5 is the same bits as half the learning rate, so half the update */
TEST(optim_lr_factor_zero_and_half) {
    const glia_optim_config cfgs[] = {
        {.kind = GLIA_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.1f},
        {.kind = GLIA_RMSPROP, .lr = 0.01f, .weight_decay = 0.1f},
        {.kind = GLIA_ADAM, .lr = 0.01f, .weight_decay = 0.1f},
        {.kind = GLIA_ADAMW, .lr = 0.01f, .weight_decay = 0.1f}};
    float w0[12], w[12], full[12], half[12], halved_lr[12];
    fill_uniform(w0, 12, -1, 1, 21); /* factor_steps' initial w */
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        CHECK_MSG(factor_steps(&cfgs[k], 0.0f, w), "%s", glia_last_error());
        CHECK_MSG(!memcmp(w, w0, sizeof w), "optimiser %zu moved a parameter of factor 0", k);
        CHECK(factor_steps(&cfgs[k], 1.0f, w) && memcmp(w, w0, sizeof w));
    }
    glia_optim_config sgd = {.kind = GLIA_SGD, .lr = 0.1f}, sgd_half = {.kind = GLIA_SGD, .lr = 0.05f};
    tiny_net m;
    CHECK(tiny_build(&m));
    float *wv = glia_node_value(m.g, m.w);
    fill_uniform(wv, 12, -1, 1, 21);
    fill_uniform(glia_node_value(m.g, m.b), 3, -1, 1, 22);
    fill_uniform(glia_node_value(m.g, m.x), 20, -2, 2, 23);
    fill_uniform(glia_node_value(m.g, m.t), 15, -1, 1, 24);
    glia_optim *o[2];
    OK(glia_optim_new(m.g, &sgd, &o[0]));
    OK(glia_node_set_lr_factor(m.g, m.w, 0.5f));
    CHECK(glia_node_lr_factor(m.g, m.w) == 0.5f && glia_node_lr_factor(m.g, m.b) == 1.0f &&
          glia_node_lr_factor(m.g, m.x) == 1.0f);
    OK(glia_optim_new(m.g, &sgd_half, &o[1]));
    OK(glia_graph_forward(m.g));
    OK(glia_graph_backward(m.g, m.loss, NULL, 0));
    OK(glia_optim_step(o[0])); /* one step with factor 0.5 ... */
    memcpy(half, wv, sizeof half);
    memcpy(wv, w0, sizeof w0);
    OK(glia_node_set_lr_factor(m.g, m.w, 1.0f));
    OK(glia_optim_step(o[1])); /* ... is one step of lr / 2 ... */
    memcpy(halved_lr, wv, sizeof halved_lr);
    memcpy(wv, w0, sizeof w0);
    OK(glia_optim_step(o[0])); /* ... and half of a step of lr (the same gradient each time) */
    memcpy(full, wv, sizeof full);
    CHECK(!memcmp(half, halved_lr, sizeof half));
    for (int i = 0; i < 12; i++) CHECK_NEAR(w0[i] - half[i], 0.5 * (w0[i] - full[i]), 1e-6);
    CHECK(memcmp(half, w0, sizeof half));
    CHECK(glia_node_set_lr_factor(m.g, m.w, -1.0f) == GLIA_EINVAL);
    CHECK(glia_node_set_lr_factor(m.g, m.w, INFINITY) == GLIA_EINVAL);
    CHECK(glia_node_set_lr_factor(m.g, m.x, 0.5f) != GLIA_OK);
    for (int k = 0; k < 2; k++) glia_optim_free(o[k]);
    glia_graph_free(m.g);
}

TEST(optim_needs_gradients) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, y;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_param(g, "w", 2, (int64_t[]){2, 3}, &w));
    OK(glia_dense(g, "y", x, w, -1, &y));
    glia_optim *o;
    /* made before compiling: fine; a step before there is any gradient is an error */
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f}, &o));
    CHECK(glia_optim_step(o) == GLIA_ESTATE);
    CHECK(glia_optim_steps(o) == 0);
    OK(glia_graph_compile(g, 0)); /* inference only: no gradients */
    CHECK(glia_optim_step(o) == GLIA_ESTATE);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, NULL, 0));
    OK(glia_optim_step(o));
    CHECK(glia_optim_steps(o) == 1);
    glia_optim_free(o);
    glia_graph_free(g);
}

/* ------------------------------------------------------------------ state, steps, lr */

TEST(optim_state_names_and_sizes) {
    int id[2];
    glia_graph *g = params_graph(2, (const char *[]){"fc.weight", "fc.bias"}, (int64_t[]){12, 3}, id);
    CHECK(g);
    static const struct {
        glia_optim_config c;
        int n;
        const char *names[4];
    } cases[] = {
        {{.kind = GLIA_SGD, .lr = 0.1f}, 0, {NULL}},
        {{.kind = GLIA_SGD, .lr = 0.1f, .momentum = 0.9f}, 2, {"fc.weight.momentum", "fc.bias.momentum"}},
        {{.kind = GLIA_RMSPROP, .lr = 0.1f}, 2, {"fc.weight.square_avg", "fc.bias.square_avg"}},
        {{.kind = GLIA_ADAM, .lr = 0.1f}, 4, {"fc.weight.exp_avg", "fc.weight.exp_avg_sq", "fc.bias.exp_avg", "fc.bias.exp_avg_sq"}},
        {{.kind = GLIA_ADAMW, .lr = 0.1f}, 4, {"fc.weight.exp_avg", "fc.weight.exp_avg_sq", "fc.bias.exp_avg", "fc.bias.exp_avg_sq"}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        glia_optim *o;
        OK(glia_optim_new(g, &cases[c].c, &o));
        CHECK_MSG(glia_optim_num_state(o) == cases[c].n, "case %zu: %d state tensors, expected %d",
                  c, glia_optim_num_state(o), cases[c].n);
        for (int i = 0; i < cases[c].n; i++) {
            const char *nm;
            float *d;
            int64_t n;
            OK(glia_optim_state(o, i, &nm, &d, &n));
            CHECK_MSG(!strcmp(nm, cases[c].names[i]), "case %zu state %d is '%s', expected '%s'", c,
                      i, nm, cases[c].names[i]);
            CHECK(n == (strstr(nm, "weight") ? 12 : 3));
            for (int64_t j = 0; j < n; j++) CHECK(d[j] == 0.0f);
        }
        CHECK(glia_optim_state(o, cases[c].n, NULL, NULL, NULL) == GLIA_EINVAL);
        CHECK(glia_optim_state(o, -1, NULL, NULL, NULL) == GLIA_EINVAL);
        glia_optim_free(o);
    }
    /* Adam's state after one step: exp_avg = (1 - b1) g, exp_avg_sq = (1 - b2) g^2 */
    glia_optim *o;
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_ADAM, .lr = 0.1f}, &o));
    fill_uniform(glia_node_grad(g, id[0]), 12, -1, 1, 21);
    fill_uniform(glia_node_grad(g, id[1]), 3, -1, 1, 22);
    OK(glia_optim_step(o));
    for (int i = 0; i < 4; i++) {
        float *d;
        int64_t n;
        OK(glia_optim_state(o, i, NULL, &d, &n));
        const float *gr = glia_node_grad(g, id[i / 2]);
        for (int64_t j = 0; j < n; j++) {
            double want = i % 2 ? 0.001 * gr[j] * gr[j] : 0.1 * gr[j];
            CHECK_NEAR(d[j], want, 1e-6 * fabs(want) + 1e-12);
        }
    }
    glia_optim_free(o);
    glia_graph_free(g);
}

TEST(optim_steps_round_trip) {
    int id;
    glia_graph *g = params_graph(1, (const char *[]){"w"}, (int64_t[]){4}, &id);
    CHECK(g);
    glia_optim *o;
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_ADAM, .lr = 0.01f, .beta1 = 0.5f,
                                              .beta2 = 0.75f}, &o));
    CHECK(glia_optim_steps(o) == 0);
    float *w = glia_node_value(g, id), *gr = glia_node_grad(g, id);
    for (int i = 0; i < 4; i++) gr[i] = 1.0f;
    OK(glia_optim_step(o));
    OK(glia_optim_step(o));
    CHECK(glia_optim_steps(o) == 2);
    glia_optim_set_steps(o, 100);
    CHECK(glia_optim_steps(o) == 100);
    glia_optim_set_steps(o, 0);
    CHECK(glia_optim_steps(o) == 0);
    glia_optim_free(o);
    /* resuming at step k: the bias correction uses t = k + 1. With fresh moments and g = 1:
     * m = 0.5, v = 0.25, update = lr (0.5 / (1 - 0.5^t)) / (0.5 / sqrt(1 - 0.75^t) + eps) */
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_ADAM, .lr = 0.01f, .beta1 = 0.5f,
                                              .beta2 = 0.75f}, &o));
    glia_optim_set_steps(o, 2);
    for (int i = 0; i < 4; i++) w[i] = 0;
    OK(glia_optim_step(o));
    CHECK(glia_optim_steps(o) == 3);
    double want = -0.01 * (0.5 / (1 - 0.125)) / (0.5 / sqrt(1 - 0.421875) + 1e-8);
    CHECK_NEAR(w[0], want, 1e-7);
    glia_optim_free(o);
    glia_graph_free(g);
}

TEST(optim_set_lr) {
    int id;
    glia_graph *g = params_graph(1, (const char *[]){"w"}, (int64_t[]){2}, &id);
    CHECK(g);
    glia_optim *o;
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f}, &o));
    float *w = glia_node_value(g, id), *gr = glia_node_grad(g, id);
    gr[0] = gr[1] = 1.0f;
    glia_optim_set_lr(o, 0.25f);
    OK(glia_optim_step(o));
    CHECK(w[0] == -0.25f);
    glia_optim_set_lr(o, 0.0f);
    OK(glia_optim_step(o));
    CHECK(w[1] == -0.25f);
    glia_optim_set_lr(o, NAN); /* e.g. a bad schedule: the step refuses it */
    CHECK(glia_optim_step(o) == GLIA_EINVAL);
    glia_optim_set_lr(o, -1.0f);
    CHECK(glia_optim_step(o) == GLIA_EINVAL);
    CHECK(w[1] == -0.25f && glia_optim_steps(o) == 2);
    glia_optim_free(o);
    glia_graph_free(g);
}

/* ------------------------------------------------------------------ threads */

static int run_threads(int threads, float *w_out, float *state_out, float *norm_out) {
    int id[2];
    glia_graph *g = params_graph(2, (const char *[]){"big", "small"}, (int64_t[]){40000, 5000}, id);
    if (!g) return 0;
    glia_set_num_threads(threads);
    glia_optim *o = NULL;
    int ok = !glia_optim_new(g, &(glia_optim_config){.kind = GLIA_ADAMW, .lr = 0.01f,
                                                      .weight_decay = 0.1f, .clip_norm = 1.0f,
                                                      .clip_value = 0.02f}, &o);
    fill_uniform(glia_node_value(g, id[0]), 40000, -1, 1, 31);
    fill_uniform(glia_node_value(g, id[1]), 5000, -1, 1, 32);
    for (int s = 0; ok && s < 3; s++) {
        fill_uniform(glia_node_grad(g, id[0]), 40000, -0.03f, 0.03f, 40 + (uint64_t)s);
        fill_uniform(glia_node_grad(g, id[1]), 5000, -0.03f, 0.03f, 50 + (uint64_t)s);
        ok = !glia_optim_step(o);
        norm_out[s] = glia_optim_last_grad_norm(o);
    }
    if (ok) {
        memcpy(w_out, glia_node_value(g, id[0]), 40000 * sizeof(float));
        memcpy(w_out + 40000, glia_node_value(g, id[1]), 5000 * sizeof(float));
        for (int i = 0; i < 4; i++) {
            float *d;
            int64_t n;
            ok = ok && !glia_optim_state(o, i, NULL, &d, &n);
            if (ok) memcpy(state_out + (i / 2) * 80000 + (i % 2) * (i < 2 ? 40000 : 5000), d,
                           (size_t)n * sizeof(float));
        }
    }
    glia_optim_free(o);
    glia_graph_free(g);
    return ok;
}

TEST(optim_threads_bit_identical) {
    const int saved = glia_get_num_threads();
    enum { NW = 45000, NS = 2 * 80000 };
    float *w1 = calloc(NW, sizeof(float)), *w2 = calloc(NW, sizeof(float));
    float *s1 = calloc(NS, sizeof(float)), *s2 = calloc(NS, sizeof(float));
    float n1[3], n2[3];
    int ok = w1 && w2 && s1 && s2 && run_threads(1, w1, s1, n1);
    int same = 1;
    for (int t = 2; ok && t <= 4; t += 2) {
        ok = run_threads(t, w2, s2, n2);
        same = same && !memcmp(w1, w2, NW * sizeof(float)) && !memcmp(s1, s2, NS * sizeof(float)) &&
               !memcmp(n1, n2, sizeof n1);
    }
    glia_set_num_threads(saved);
    free(w1), free(w2), free(s1), free(s2);
    CHECK_MSG(ok, "run failed: %s", glia_last_error());
    CHECK_MSG(same, "results differ between 1 and 2 or 4 threads");
    CHECK(n1[0] > 1.0f); /* the norm clipping was active */
}

/* ------------------------------------------------------------------ configuration errors */

TEST(optim_config_errors) {
    int id;
    glia_graph *g = params_graph(1, (const char *[]){"w"}, (int64_t[]){2}, &id);
    CHECK(g);
    static const struct {
        glia_optim_config c;
        const char *msg;
    } bad[] = {
        {{.kind = GLIA_SGD, .lr = -0.1f}, "learning rate"},
        {{.kind = GLIA_SGD, .lr = NAN}, "learning rate"},
        {{.kind = GLIA_SGD, .lr = INFINITY}, "learning rate"},
        {{.kind = GLIA_SGD, .lr = 0.1f, .momentum = -0.5f}, "momentum"},
        {{.kind = GLIA_SGD, .lr = 0.1f, .nesterov = 1}, "Nesterov"},
        {{.kind = GLIA_SGD, .lr = 0.1f, .weight_decay = -1e-4f}, "weight_decay"},
        {{.kind = GLIA_ADAM, .lr = 0.1f, .beta1 = 1.0f}, "beta1"},
        {{.kind = GLIA_ADAM, .lr = 0.1f, .beta1 = -0.1f}, "beta1"},
        {{.kind = GLIA_ADAMW, .lr = 0.1f, .beta2 = 1.5f}, "beta2"},
        {{.kind = GLIA_RMSPROP, .lr = 0.1f, .beta2 = 1.0f}, "alpha"},
        {{.kind = GLIA_ADAM, .lr = 0.1f, .eps = -1e-8f}, "eps"},
        {{.kind = GLIA_ADAM, .lr = 0.1f, .momentum = 0.9f}, "momentum"},
        {{.kind = GLIA_SGD, .lr = 0.1f, .clip_norm = -1.0f}, "clip_norm"},
        {{.kind = GLIA_SGD, .lr = 0.1f, .clip_value = NAN}, "clip_value"},
        {{.kind = (glia_optim_kind)7, .lr = 0.1f}, "kind"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        glia_optim *o = (glia_optim *)&id;
        glia_status s = glia_optim_new(g, &bad[i].c, &o);
        CHECK_MSG(s == GLIA_EINVAL, "case %zu: %s", i, glia_status_name(s));
        CHECK_MSG(o == NULL, "case %zu: *out not cleared", i);
        CHECK_MSG(strstr(glia_last_error(), bad[i].msg), "case %zu: message '%s' lacks '%s'", i,
                  glia_last_error(), bad[i].msg);
    }
    glia_optim *o;
    /* lr 0 and betas 0 (defaults) are fine */
    OK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_ADAM}, &o));
    glia_optim_free(o);
    CHECK(glia_optim_new(NULL, &(glia_optim_config){.kind = GLIA_SGD}, &o) == GLIA_EINVAL);
    CHECK(glia_optim_new(g, NULL, &o) == GLIA_EINVAL);
    CHECK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD}, NULL) == GLIA_EINVAL);
    glia_optim_free(NULL);
    /* nothing to train */
    OK(glia_node_set_trainable(g, id, 0));
    CHECK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f}, &o) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "no trainable parameter"));
    glia_graph_free(g);
    OK(glia_graph_new(&g));
    int x;
    OK(glia_input(g, "x", 2, (int64_t[]){1, 2}, &x));
    CHECK(glia_optim_new(g, &(glia_optim_config){.kind = GLIA_SGD, .lr = 0.1f}, &o) == GLIA_EINVAL);
    glia_graph_free(g);
}

/* ------------------------------------------------------------------ learning-rate schedules */

TEST(lr_golden) {
    golden *gd = golden_load("optim_lr");
    if (!gd) return;
    static const struct {
        const char *name;
        glia_lr_schedule s;
    } cases[] = {
        {"constant", {GLIA_LR_CONSTANT, 0.1f, 0, 0, 0, 0, 0}},
        {"step", {GLIA_LR_STEP, 0.1f, 0.5f, 0, 7, 0, 0}},
        {"exp", {GLIA_LR_EXP, 0.1f, 0.9f, 0, 0, 0, 0}},
        {"cosine", {GLIA_LR_COSINE, 0.1f, 0, 0.001f, 0, 20, 0}},
        {"constant_warmup", {GLIA_LR_CONSTANT, 0.1f, 0, 0, 0, 0, 4}},
        {"step_warmup", {GLIA_LR_STEP, 0.1f, 0.1f, 0, 5, 0, 3}},
        {"exp_warmup", {GLIA_LR_EXP, 0.1f, 0.8f, 0, 0, 0, 6}},
        {"cosine_warmup", {GLIA_LR_COSINE, 0.1f, 0, 0, 0, 12, 5}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        glia_shape sh;
        const float *want = golden_get(gd, cases[c].name, &sh);
        if (!want) break;
        CHECK(sh.dim[0] == 31);
        for (int t = 0; t < 31; t++) {
            float got = glia_lr_at(&cases[c].s, t);
            double d = fabs((double)got - want[t]) / (1e-6 + fabs((double)want[t]));
            if (!(d <= 1e-5)) {
                test_fail(__FILE__, __LINE__, "%s: lr(%d) = %.9g, PyTorch %.9g", cases[c].name, t,
                          (double)got, (double)want[t]);
                break;
            }
        }
    }
    golden_free(gd);
}

TEST(lr_warmup_formula) {
    glia_lr_schedule s = {GLIA_LR_COSINE, 0.5f, 0, 0.1f, 0, 10, 4};
    for (int t = 0; t < 4; t++) CHECK(glia_lr_at(&s, t) == (float)(0.5 * (t + 1) / 4.0));
    CHECK(glia_lr_at(&s, 4) == 0.5f);                     /* the schedule starts at t = W */
    CHECK_NEAR(glia_lr_at(&s, 14), 0.1, 1e-7);            /* minimum at W + total */
    CHECK_NEAR(glia_lr_at(&s, 9), 0.1 + 0.4 * 0.5, 1e-7); /* half way */
    CHECK(glia_lr_at(&s, -3) == glia_lr_at(&s, 0));
    s = (glia_lr_schedule){GLIA_LR_STEP, 1.0f, 0.5f, 0, 3, 0, 0};
    CHECK(glia_lr_at(&s, 2) == 1.0f && glia_lr_at(&s, 3) == 0.5f && glia_lr_at(&s, 9) == 0.125f);
    /* invalid settings give NaN with a message */
    s.step_size = 0;
    CHECK(isnan(glia_lr_at(&s, 1)) && strstr(glia_last_error(), "step_size"));
    s = (glia_lr_schedule){GLIA_LR_COSINE, 1.0f, 0, 0, 0, 0, 0};
    CHECK(isnan(glia_lr_at(&s, 1)) && strstr(glia_last_error(), "total_steps"));
    s = (glia_lr_schedule){GLIA_LR_CONSTANT, 1.0f, 0, 0, 0, 0, -1};
    CHECK(isnan(glia_lr_at(&s, 1)));
    s.warmup_steps = 0;
    s.kind = (glia_lr_kind)9;
    CHECK(isnan(glia_lr_at(&s, 1)));
    CHECK(isnan(glia_lr_at(NULL, 1)));
}
