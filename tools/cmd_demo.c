/* cmd_demo.c: glia demo — builds LeNet-5 from ops, prints its layers, checks gradients by finite
 * differences, and trains it with SGD + momentum on a synthetic 10-class image task.
 * (The training issue replaces the synthetic task with Fashion-MNIST and `glia train`.) */
#include "cli.h"
#include "core/internal.h" /* glia__now */
#include "glia.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(call)                                                                        \
    do {                                                                                 \
        glia_status s_ = (call);                                                         \
        if (s_) {                                                                        \
            fprintf(stderr, "glia demo: %s: %s\n", glia_status_name(s_), glia_last_error()); \
            goto fail;                                                                   \
        }                                                                                \
    } while (0)

/* He (Kaiming) uniform for weights: U(-b, b), b = sqrt(6 / fan_in); biases zero */
static void he_uniform(glia_graph *g, int w, glia_rng *r) {
    glia_shape s;
    glia_node_shape(g, w, &s);
    int64_t n = glia_shape_numel(&s), fan_in = n / s.dim[0];
    float b = sqrtf(6.0f / (float)fan_in), *v = glia_node_value(g, w);
    for (int64_t i = 0; i < n; i++) v[i] = b * (2 * glia_rng_uniform(r) - 1);
}

/* Synthetic digits: class c is a bright 6x6 square at one of ten positions on a 3x3+1 grid,
 * over uniform noise; a CNN must find where the square is. */
static void make_batch(float *x, float *labels, int B, glia_rng *r) {
    for (int b = 0; b < B; b++) {
        int c = (int)glia_rng_below(r, 10);
        labels[b] = (float)c;
        float *img = x + (size_t)b * 784;
        for (int i = 0; i < 784; i++) img[i] = 0.3f * glia_rng_uniform(r);
        int y0 = 2 + (c % 3) * 8 + (int)glia_rng_below(r, 3), x0 = 2 + (c / 3) * 6 + (int)glia_rng_below(r, 2);
        if (c == 9) y0 = 11, x0 = 11;
        for (int y = y0; y < y0 + 6 && y < 28; y++)
            for (int xx = x0; xx < x0 + 6 && xx < 28; xx++) img[y * 28 + xx] = 1.0f;
    }
}

typedef struct { int conv1w, conv1b, conv2w, conv2b, fc1w, fc1b, fc2w, fc2b, fc3w, fc3b; } lenet_params;

static glia_status build_lenet(glia_graph *g, int B, int *x, int *labels, int *logits, int *loss,
                               lenet_params *p) {
    glia_status s;
    int h;
    glia_conv2d_params c1 = {.pad_top = 2, .pad_bottom = 2, .pad_left = 2, .pad_right = 2};
    glia_conv2d_params c2 = {0};
    glia_pool2d_params pool = {.kernel_h = 2, .kernel_w = 2};
#define S(call) if ((s = (call))) return s
    S(glia_input(g, "image", 4, (int64_t[]){B, 1, 28, 28}, x));
    S(glia_input(g, "label", 1, (int64_t[]){B}, labels));
    S(glia_param(g, "conv1.weight", 4, (int64_t[]){6, 1, 5, 5}, &p->conv1w));
    S(glia_param(g, "conv1.bias", 1, (int64_t[]){6}, &p->conv1b));
    S(glia_conv2d(g, "conv1", *x, p->conv1w, p->conv1b, &c1, &h));
    S(glia_relu(g, "relu1", h, &h));
    S(glia_maxpool2d(g, "pool1", h, &pool, &h));
    S(glia_param(g, "conv2.weight", 4, (int64_t[]){16, 6, 5, 5}, &p->conv2w));
    S(glia_param(g, "conv2.bias", 1, (int64_t[]){16}, &p->conv2b));
    S(glia_conv2d(g, "conv2", h, p->conv2w, p->conv2b, &c2, &h));
    S(glia_relu(g, "relu2", h, &h));
    S(glia_maxpool2d(g, "pool2", h, &pool, &h));
    S(glia_flatten(g, "flatten", h, &h));
    S(glia_param(g, "fc1.weight", 2, (int64_t[]){120, 400}, &p->fc1w));
    S(glia_param(g, "fc1.bias", 1, (int64_t[]){120}, &p->fc1b));
    S(glia_dense(g, "fc1", h, p->fc1w, p->fc1b, &h));
    S(glia_relu(g, "relu3", h, &h));
    S(glia_param(g, "fc2.weight", 2, (int64_t[]){84, 120}, &p->fc2w));
    S(glia_param(g, "fc2.bias", 1, (int64_t[]){84}, &p->fc2b));
    S(glia_dense(g, "fc2", h, p->fc2w, p->fc2b, &h));
    S(glia_relu(g, "relu4", h, &h));
    S(glia_param(g, "fc3.weight", 2, (int64_t[]){10, 84}, &p->fc3w));
    S(glia_param(g, "fc3.bias", 1, (int64_t[]){10}, &p->fc3b));
    S(glia_dense(g, "fc3", h, p->fc3w, p->fc3b, logits));
    S(glia_softmax_cross_entropy(g, "loss", *logits, *labels, loss));
    S(glia_node_retain(g, *logits));
#undef S
    return GLIA_OK;
}

int cmd_demo(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia demo [--steps N] [--seed S]\n\n"
               "Builds LeNet-5 (61,706 parameters) from glia's ops, prints each node with its\n"
               "shape and parameter count and the memory plan, checks the gradients of some\n"
               "parameters by finite differences, then trains it with SGD + momentum on a\n"
               "synthetic 10-class image task and reports loss, accuracy and images/s.\n"
               "  --steps N  training steps (default 300)\n  --seed S   random seed (default 1)\n");
        return 0;
    }
    int steps = 300, npos;
    uint64_t seed = 1;
    const cli_opt opts[] = {{"--steps", 'i', &steps}, {"--seed", 'u', &seed}, {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, NULL, 0, &npos, "demo")) return 2;
    if (steps < 0 || steps > 1000000) {
        fprintf(stderr, "glia demo: --steps takes 0..1000000\n");
        return 2;
    }
    enum { B = 64 };
    glia_graph *g = NULL;
    float *xb = NULL, *lb = NULL, *mom = NULL;
    int x, labels, logits, loss;
    lenet_params p;
    glia_rng r;
    glia_rng_seed(&r, seed, 1);
    TRY(glia_graph_new(&g));
    TRY(build_lenet(g, B, &x, &labels, &logits, &loss, &p));

    printf("LeNet-5, batch %d\n%-14s %-20s %-16s %10s  %s\n", B, "node", "op", "shape", "params",
           "attributes");
    int64_t total = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        glia_shape s;
        char buf[64], attrs[160];
        glia_node_shape(g, i, &s);
        glia_node_attrs(g, i, attrs, sizeof attrs);
        int64_t np = glia_node_is_param(g, i) ? glia_shape_numel(&s) : 0;
        total += np;
        printf("%-14s %-20s %-16s %10lld  %s\n", glia_node_name(g, i), glia_node_op(g, i),
               glia_shape_str(&s, buf, sizeof buf), (long long)np, attrs);
    }
    printf("total parameters: %lld (LeNet-5 for 28x28 input has 61,706)\n", (long long)total);

    int ws[] = {p.conv1w, p.conv2w, p.fc1w, p.fc2w, p.fc3w};
    for (int i = 0; i < 5; i++) he_uniform(g, ws[i], &r);
    TRY(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    glia_memory_stats ms;
    TRY(glia_graph_memory(g, &ms));
    printf("\nmemory plan: activations+gradients %.2f MB (%.2f MB without reuse), workspace %.2f MB,"
           " saved state %.2f MB, parameters %.2f MB\n", ms.arena / 1e6, ms.arena_no_reuse / 1e6,
           ms.workspace / 1e6, ms.saved / 1e6, ms.params / 1e6);

    /* finite-difference check on a batch of 2 */
    xb = malloc(sizeof(float) * B * 784);
    lb = malloc(sizeof(float) * B);
    if (!xb || !lb) { fprintf(stderr, "glia demo: out of memory\n"); goto fail; }
    TRY(glia_graph_set_batch(g, 2));
    make_batch(xb, lb, 2, &r);
    for (int i = 0; i < 2 * 784; i++) xb[i] = glia_rng_uniform(&r); /* noise: no ties in max pooling */
    TRY(glia_node_set(g, x, xb, 2 * 784));
    TRY(glia_node_set(g, labels, lb, 2));
    /* Through a whole ReLU + max-pool network a step of eps crosses a few kinks, so finite
     * differences agree only to a few percent there; each op alone is checked to 1e-3 and the
     * whole LeNet-5 against PyTorch's gradients in the test suite. */
    printf("\ngradient check (central differences, eps 1e-3, batch 2 of noise images):\n");
    int check[] = {p.conv1b, p.conv1w, p.conv2b, p.fc3b, p.fc3w};
    for (int i = 0; i < 5; i++) {
        double err;
        int64_t n;
        TRY(glia_gradcheck(g, loss, check[i], 1e-3f, &err, &n));
        printf("  %-14s %6lld elements checked, max relative error %.2e %s\n",
               glia_node_name(g, check[i]), (long long)n, err, err < 1e-1 ? "ok" : "FAILED");
    }

    /* SGD with momentum 0.9: v = 0.9 v + g; w -= lr v */
    TRY(glia_graph_set_batch(g, B));
    glia_graph_set_training(g, 1);
    int params[] = {p.conv1w, p.conv1b, p.conv2w, p.conv2b, p.fc1w, p.fc1b, p.fc2w, p.fc2b, p.fc3w, p.fc3b};
    mom = calloc((size_t)total, sizeof(float));
    if (!mom) { fprintf(stderr, "glia demo: out of memory\n"); goto fail; }
    printf("\ntraining %d steps, batch %d, SGD lr 0.01 momentum 0.9, synthetic 10-class images:\n", steps, B);
    double t0 = glia__now(), ttrain = 0, run_loss = 0;
    int correct = 0, seen = 0;
    for (int step = 1; step <= steps; step++) {
        make_batch(xb, lb, B, &r);
        double ts = glia__now();
        TRY(glia_node_set(g, x, xb, B * 784));
        TRY(glia_node_set(g, labels, lb, B));
        TRY(glia_graph_forward(g));
        TRY(glia_graph_backward(g, loss, NULL, 0));
        float *m = mom;
        for (int k = 0; k < 10; k++) {
            glia_shape s;
            glia_node_shape(g, params[k], &s);
            int64_t n = glia_shape_numel(&s);
            float *w = glia_node_value(g, params[k]), *gw = glia_node_grad(g, params[k]);
            for (int64_t j = 0; j < n; j++) {
                m[j] = 0.9f * m[j] + gw[j];
                w[j] -= 0.01f * m[j];
            }
            m += n;
        }
        ttrain += glia__now() - ts;
        run_loss += glia_node_value(g, loss)[0];
        const float *lg = glia_node_value(g, logits);
        for (int b = 0; b < B; b++) {
            int best = 0;
            for (int c = 1; c < 10; c++) if (lg[b * 10 + c] > lg[b * 10 + best]) best = c;
            correct += best == (int)lb[b];
        }
        seen += B;
        if (step % 50 == 0 || step == steps) {
            printf("  step %4d  loss %.4f  accuracy %5.1f%%  %.0f images/s\n", step,
                   run_loss / (step % 50 ? step % 50 : 50), 100.0 * correct / seen, step * (double)B / ttrain);
            run_loss = 0;
            correct = seen = 0;
        }
    }
    printf("done in %.1f s\n", glia__now() - t0);
    free(xb);
    free(lb);
    free(mom);
    glia_graph_free(g);
    return 0;
fail:
    free(xb);
    free(lb);
    free(mom);
    glia_graph_free(g);
    return 1;
}
