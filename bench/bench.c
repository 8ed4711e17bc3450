/* bench.c: glia's side of the benchmark suite (bench/run.py pairs it with bench/torch_bench.py).
 *
 *   build/glia-bench NAME [--seconds S]
 *
 * runs one benchmark for about S seconds after a warm-up and prints one line
 *   RESULT <name> <value> <unit> <max RSS in KiB>
 * Names: lenet-train, lenet-infer256, lenet-infer1, vgg-train, lstm-train, gru-train, g2p-train,
 * resnet20-train, resnet50-infer1, resnet50-infer8, mobilenetv2-infer8 (and mobilenetv2-jit-infer8,
 * the same glia run against PyTorch's frozen TorchScript), densenet121-train8 and
 * densenet121-me-train8 (the model zoo's files; the last two for their peak memory: the same glia
 * run, against PyTorch's DenseNet-121 with memory_efficient False and True),
 * conv-<layer>-fwd|bwd, sgemm, fma-peak, binary (see usage()). Data are synthetic (normal pixels, uniform labels): speed does not
 * depend on the values. Networks come from the same model files the CLI trains (models/). */
#include "core/internal.h"
#include "core/thread_env.h"
#include "glia.h"
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static long max_rss_kib(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss; /* KiB on Linux */
}

static void result(const char *name, double value, const char *unit) {
    printf("RESULT %s %.6g %s %ld\n", name, value, unit, max_rss_kib());
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        if ((call) != GLIA_OK) {                                                                   \
            fprintf(stderr, "bench: %s\n", glia_last_error());                                     \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static void fill_normal(float *p, int64_t n, glia_rng *r) {
    for (int64_t i = 0; i < n; i++) p[i] = glia_rng_normal(r);
}

/* Runs step() until `seconds` have passed (at least 3 times) after `warm` warm-up calls;
 * returns the seconds per call. With --profile, times graph g's ops over those calls. */
typedef int (*step_fn)(void *ctx);
static void print_profile(glia_graph *g, int64_t steps);
static int profile_ops;
static double time_steps(step_fn step, void *ctx, int warm, double seconds, glia_graph *g) {
    for (int i = 0; i < warm; i++)
        if (step(ctx)) return -1;
    if (profile_ops && g && glia_graph_set_profile(g, 1)) return -1;
    int64_t n = 0;
    double t0 = glia__now(), t;
    do {
        if (step(ctx)) return -1;
        n++;
        t = glia__now();
    } while (t - t0 < seconds || n < 3);
    if (profile_ops && g) print_profile(g, n);
    return (t - t0) / (double)n;
}

/* --profile: after the timed steps, each op's share of the time (glia_graph_set_profile),
 * summed by op type and for the slowest nodes, on stderr */

static void print_profile(glia_graph *g, int64_t steps) {
    enum { MAXT = 64 };
    const char *type[MAXT];
    double tf[MAXT] = {0}, tb[MAXT] = {0}, total = 0;
    int nt = 0, nn = glia_graph_num_nodes(g);
    for (int i = 0; i < nn; i++) {
        double f, b;
        if (glia_graph_profile(g, i, &f, &b) || f + b == 0) continue;
        const char *op = glia_node_op(g, i);
        int k = 0;
        while (k < nt && strcmp(type[k], op)) k++;
        if (k == nt) {
            if (nt == MAXT) continue;
            type[nt++] = op;
        }
        tf[k] += f;
        tb[k] += b;
        total += f + b;
    }
    fprintf(stderr, "profile over %lld steps: %.3f ms of ops per step\n", (long long)steps,
            1e3 * total / (double)steps);
    fprintf(stderr, "  %-24s %10s %10s %7s\n", "op", "fwd ms", "bwd ms", "share");
    for (int done = 0; done < nt; done++) { /* by time, largest first */
        int best = -1;
        for (int k = 0; k < nt; k++)
            if (type[k] && (best < 0 || tf[k] + tb[k] > tf[best] + tb[best])) best = k;
        fprintf(stderr, "  %-24s %10.3f %10.3f %6.1f%%\n", type[best], 1e3 * tf[best] / steps,
                1e3 * tb[best] / steps, 100 * (tf[best] + tb[best]) / total);
        type[best] = NULL;
    }
    fprintf(stderr, "  nodes:\n");
    for (int i = 0; i < nn; i++) {
        double f, b;
        if (glia_graph_profile(g, i, &f, &b) || f + b < 0.02 * total) continue;
        fprintf(stderr, "  %-24s %10.3f %10.3f %6.1f%%  (%s)\n", glia_node_name(g, i),
                1e3 * f / steps, 1e3 * b / steps, 100 * (f + b) / total, glia_node_op(g, i));
    }
}

/* ------------------------------------------------------------ whole networks */
typedef struct net_ctx {
    glia_model *m;
    glia_graph *g;
    glia_optim *opt;
    int loss;
} net_ctx;

static int train_step(void *p) {
    net_ctx *c = p;
    if (glia_graph_forward(c->g) || glia_graph_backward(c->g, c->loss, NULL, 0) ||
        glia_optim_step(c->opt)) {
        fprintf(stderr, "bench: %s\n", glia_last_error());
        return 1;
    }
    return 0;
}

static int infer_step(void *p) {
    net_ctx *c = p;
    if (glia_graph_forward(c->g)) {
        fprintf(stderr, "bench: %s\n", glia_last_error());
        return 1;
    }
    return 0;
}

/* Training (optimiser from `kind`) or inference of a model file at a batch size. */
/* --no-recompute: training plans keep every value backward reads (GLIA_COMPILE_NO_RECOMPUTE) */
static unsigned train_compile_flags;

static int bench_net(const char *name, const char *path, int64_t batch, int train,
                     glia_optim_kind kind, double seconds, const char *unit) {
    net_ctx c = {0};
    glia_rng r;
    glia_rng_seed(&r, 7, 1);
    TRY(glia_model_load(path, batch, 1, &c.m));
    c.g = glia_model_graph(c.m);
    int x = glia_model_input(c.m), logits = glia_model_output(c.m), labels;
    glia_shape xs, ls;
    TRY(glia_node_shape(c.g, x, &xs));
    TRY(glia_node_shape(c.g, logits, &ls));
    if (train) {
        TRY(glia_input(c.g, "labels", 1, (int64_t[]){batch}, &labels));
        TRY(glia_softmax_cross_entropy(c.g, "loss", logits, labels, &c.loss));
        TRY(glia_graph_compile(c.g, GLIA_COMPILE_BACKWARD | train_compile_flags));
        glia_graph_set_training(c.g, 1);
        glia_optim_config oc = {.kind = kind, .lr = kind == GLIA_SGD ? 0.01f : 0.001f,
                                .momentum = kind == GLIA_SGD ? 0.9f : 0.0f};
        TRY(glia_optim_new(c.g, &oc, &c.opt));
        float *lab = glia_node_value(c.g, labels);
        for (int64_t i = 0; i < batch; i++) lab[i] = (float)glia_rng_below(&r, (uint32_t)ls.dim[1]);
    } else {
        TRY(glia_graph_compile(c.g, 0));
        glia_graph_set_training(c.g, 0);
    }
    fill_normal(glia_node_value(c.g, x), glia_shape_numel(&xs), &r);
    double s = time_steps(train ? train_step : infer_step, &c, 5, seconds, c.g);
    glia_optim_free(c.opt);
    glia_model_free(c.m);
    if (s < 0) return 1;
    if (!strcmp(unit, "us/img")) result(name, 1e6 * s / (double)batch, unit);
    else result(name, (double)batch / s, unit);
    return 0;
}

/* labels [rows] and a softmax cross-entropy on the logits, compiled for training, Adam with
 * gradients clipped to norm 5 (the sequence models' training steps) */
static glia_status adam_training(net_ctx *c, int logits, int64_t rows, float lr, int *labels) {
    glia_status s;
    if ((s = glia_input(c->g, "labels", 1, &rows, labels)) ||
        (s = glia_softmax_cross_entropy(c->g, "loss", logits, *labels, &c->loss)) ||
        (s = glia_graph_compile(c->g, GLIA_COMPILE_BACKWARD)))
        return s;
    glia_graph_set_training(c->g, 1);
    glia_optim_config oc = {.kind = GLIA_ADAM, .lr = lr, .clip_norm = 5};
    return glia_optim_new(c->g, &oc, &c->opt);
}

/* A character model of bench/ (sequence T, batch N, one-hot input): training steps of Adam with
 * gradients clipped to norm 5 on random tokens; tokens/s = T N / step. */
static int bench_seq(const char *name, const char *path, double seconds) {
    net_ctx c = {0};
    glia_rng r;
    glia_rng_seed(&r, 7, 4);
    TRY(glia_model_load(path, 32, 1, &c.m));
    c.g = glia_model_graph(c.m);
    int x = glia_model_input(c.m), logits = glia_model_output(c.m), labels;
    int64_t T = glia_model_sequence(c.m), vocab = glia_model_vocab(c.m);
    glia_shape xs, ls;
    TRY(glia_node_shape(c.g, x, &xs));
    TRY(glia_node_shape(c.g, logits, &ls));
    TRY(adam_training(&c, logits, ls.dim[0], 0.002f, &labels));
    float *xv = glia_node_value(c.g, x), *lab = glia_node_value(c.g, labels);
    for (int64_t i = 0; i < glia_shape_numel(&xs); i++) xv[i] = (float)glia_rng_below(&r, (uint32_t)vocab);
    for (int64_t i = 0; i < ls.dim[0]; i++) lab[i] = (float)glia_rng_below(&r, (uint32_t)ls.dim[1]);
    double s = time_steps(train_step, &c, 3, seconds, c.g);
    glia_optim_free(c.opt);
    glia_model_free(c.m);
    if (s < 0) return 1;
    result(name, (double)(T * xs.dim[1]) / s, "tok/s");
    return 0;
}

/* The G2P encoder-decoder (bench/g2p-bench.cfg: models/g2p.cfg's shapes without dropout) on
 * full-length random pairs (every source S letters, every target T2 - 1 phonemes + </s>, so
 * both sides do the same work with no padding): teacher-forced training steps of Adam with
 * gradients clipped to norm 5; tokens/s = the target tokens T2 N / step. */
static int bench_seq2seq(const char *name, const char *path, double seconds) {
    net_ctx c = {0};
    glia_rng r;
    glia_rng_seed(&r, 7, 5);
    TRY(glia_model_load(path, 64, 1, &c.m));
    c.g = glia_model_graph(c.m);
    int x = glia_model_input(c.m), len = glia_model_lengths(c.m), y = glia_model_target(c.m);
    int ylen = glia_model_target_lengths(c.m), logits = glia_model_output(c.m), labels, sv = 0, tv = 0;
    if (y < 0 || !glia_model_seq2seq_vocabs(c.m, &sv, &tv)) {
        fprintf(stderr, "bench: %s is not an encoder-decoder\n", path);
        return 1;
    }
    glia_shape xs, ys, ls;
    TRY(glia_node_shape(c.g, x, &xs));
    TRY(glia_node_shape(c.g, y, &ys));
    TRY(glia_node_shape(c.g, logits, &ls));
    const int64_t S = xs.dim[0], N = xs.dim[1], T2 = ys.dim[0];
    TRY(adam_training(&c, logits, ls.dim[0], 0.003f, &labels));
    float *xv = glia_node_value(c.g, x), *lv = glia_node_value(c.g, len), *yv = glia_node_value(c.g, y);
    float *ylv = glia_node_value(c.g, ylen), *lab = glia_node_value(c.g, labels);
    for (int64_t i = 0; i < S * N; i++) xv[i] = (float)(1 + glia_rng_below(&r, (uint32_t)sv - 1));
    /* row t*N + n: decoder input y_t (<s> first), label y_{t+1} (</s> last) */
    for (int64_t i = 0; i < T2 * N; i++) lab[i] = (float)(2 + glia_rng_below(&r, (uint32_t)tv - 2));
    for (int64_t n = 0; n < N; n++) {
        lv[n] = (float)S, ylv[n] = (float)T2;
        yv[n] = GLIA_SEQ2SEQ_BOS;
        lab[(T2 - 1) * N + n] = GLIA_SEQ2SEQ_EOS;
    }
    for (int64_t i = N; i < T2 * N; i++) yv[i] = lab[i - N];
    double s = time_steps(train_step, &c, 3, seconds, c.g);
    glia_optim_free(c.opt);
    glia_model_free(c.m);
    if (s < 0) return 1;
    result(name, (double)(T2 * N) / s, "tok/s");
    return 0;
}

/* ------------------------------------------------------------ one convolution layer */
typedef struct conv_ctx {
    glia_graph *g;
    int y;
    float *seed;
    int bwd;
} conv_ctx;

static int conv_step(void *p) {
    conv_ctx *c = p;
    if (c->bwd ? glia_graph_backward(c->g, c->y, c->seed, 0) : glia_graph_forward(c->g)) {
        fprintf(stderr, "bench: %s\n", glia_last_error());
        return 1;
    }
    return 0;
}

/* The conv layers of the benchmarked networks at their training batch. bwd: the gradients of
 * the weights and bias and, except for a first layer, of the input. */
static const struct conv_shape {
    const char *name;
    int n, c, h, w, o, k, pad, first;
} conv_shapes[] = {
    {"lenet-conv1", 64, 1, 28, 28, 6, 5, 2, 1},  {"lenet-conv2", 64, 6, 14, 14, 16, 5, 0, 0},
    {"vgg-conv1", 64, 1, 28, 28, 32, 3, 1, 1},   {"vgg-conv2", 64, 32, 28, 28, 32, 3, 1, 0},
    {"vgg-conv3", 64, 32, 14, 14, 64, 3, 1, 0},  {"vgg-conv4", 64, 64, 14, 14, 64, 3, 1, 0},
};

static int bench_conv(const struct conv_shape *cs, int bwd, double seconds) {
    conv_ctx c = {0};
    glia_rng r;
    glia_rng_seed(&r, 7, 2);
    int x, w, b;
    TRY(glia_graph_new(&c.g));
    TRY(glia_input(c.g, "x", 4, (int64_t[]){cs->n, cs->c, cs->h, cs->w}, &x));
    TRY(glia_param(c.g, "w", 4, (int64_t[]){cs->o, cs->c, cs->k, cs->k}, &w));
    TRY(glia_param(c.g, "b", 1, (int64_t[]){cs->o}, &b));
    glia_conv2d_params p = {.pad_top = cs->pad, .pad_bottom = cs->pad, .pad_left = cs->pad,
                            .pad_right = cs->pad};
    TRY(glia_conv2d(c.g, "conv", x, w, b, &p, &c.y));
    if (bwd && !cs->first) TRY(glia_node_requires_grad(c.g, x, 1));
    TRY(glia_graph_compile(c.g, bwd ? GLIA_COMPILE_BACKWARD : 0));
    glia_shape ys;
    TRY(glia_node_shape(c.g, c.y, &ys));
    fill_normal(glia_node_value(c.g, x), (int64_t)cs->n * cs->c * cs->h * cs->w, &r);
    fill_normal(glia_node_value(c.g, w), (int64_t)cs->o * cs->c * cs->k * cs->k, &r);
    TRY(glia_graph_forward(c.g));
    c.bwd = bwd;
    c.seed = malloc(sizeof(float) * (size_t)glia_shape_numel(&ys));
    if (!c.seed) return 1;
    fill_normal(c.seed, glia_shape_numel(&ys), &r);
    double s = time_steps(conv_step, &c, 3, seconds, NULL);
    free(c.seed);
    glia_graph_free(c.g);
    if (s < 0) return 1;
    /* forward: 2 N O Ho Wo C k^2 flops; backward: the same for dW, and again for dX */
    double flops = 2.0 * (double)glia_shape_numel(&ys) * cs->c * cs->k * cs->k;
    if (bwd) flops *= cs->first ? 1 : 2;
    char name[64];
    snprintf(name, sizeof name, "conv-%s-%s", cs->name + 0, bwd ? "bwd" : "fwd");
    result(name, flops / s * 1e-9, "GFLOP/s");
    return 0;
}

/* ------------------------------------------------------------ binary networks
 * glia on bits against glia in floats, in one process, alternately, each the fastest step of
 * its rounds (best_step) (bench/run.py prints them as a table of their own): a 3x3 convolution
 * of the VGG-style network as an XNOR layer (compiled for inference: binarizing x while packing
 * it, the packed weights cached, XNOR + popcount; the whole of it timed) against the same float
 * conv2d; and whole networks' inference, the XNOR model file against itself with binary = none. */
static int xnor_layer(const struct conv_shape *cs, int xnor, glia_graph **out, int *y) {
    glia_rng r;
    glia_rng_seed(&r, 7, 3);
    glia_graph *g;
    int x, w, b;
    TRY(glia_graph_new(&g));
    *out = g;
    TRY(glia_input(g, "x", 4, (int64_t[]){cs->n, cs->c, cs->h, cs->w}, &x));
    TRY(glia_param(g, "w", 4, (int64_t[]){cs->o, cs->c, cs->k, cs->k}, &w));
    TRY(glia_param(g, "b", 1, (int64_t[]){cs->o}, &b));
    fill_normal(glia_node_value(g, x), (int64_t)cs->n * cs->c * cs->h * cs->w, &r);
    fill_normal(glia_node_value(g, w), (int64_t)cs->o * cs->c * cs->k * cs->k, &r);
    if (xnor) {
        TRY(glia_binarize(g, "xb", x, 1, 1.0f, &x));
        TRY(glia_binarize(g, "wb", w, 1, 1.0f, &w));
    }
    glia_conv2d_params p = {.pad_top = cs->pad, .pad_bottom = cs->pad, .pad_left = cs->pad,
                            .pad_right = cs->pad};
    TRY(glia_conv2d(g, "conv", x, w, b, &p, y));
    TRY(glia_graph_compile(g, 0));
    return 0;
}

/* the fastest single step of those run for `seconds` (at least 3) after `warm` ones: on a
 * machine shared with other jobs, the step they disturbed least (a mean over the window counts
 * every time the scheduler took the cores away) */
static double best_step(step_fn step, void *ctx, int warm, double seconds) {
    for (int i = 0; i < warm; i++)
        if (step(ctx)) return -1;
    double best = 1e30, t0 = glia__now(), t = t0;
    for (int64_t n = 0; t - t0 < seconds || n < 3; n++) {
        const double a = glia__now();
        if (step(ctx)) return -1;
        t = glia__now();
        if (t - a < best) best = t - a;
    }
    return best;
}

static int forward_step(void *p) {
    if (glia_graph_forward(p)) {
        fprintf(stderr, "bench: %s\n", glia_last_error());
        return 1;
    }
    return 0;
}

/* the model file's text with every "binary = xnor" (or weights) replaced by "binary = none" */
static char *float_twin(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *t = calloc(1 << 16, 1);
    size_t n = t ? fread(t, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    for (char *q = t; t && n && (q = strstr(q, "binary = ")); q += 9) {
        char *v = q + 9;
        size_t k = strcspn(v, "\n");
        memset(v, ' ', k);
        memcpy(v, "none", 4);
    }
    return t;
}

static int net_infer_pair(const char *name, const char *path, int64_t batch, double seconds) {
    char *twin = float_twin(path);
    if (!twin) return 1;
    glia_model *m[2] = {NULL, NULL};
    glia_rng r;
    glia_rng_seed(&r, 7, 5);
    TRY(glia_model_load(path, batch, 1, &m[0]));
    TRY(glia_model_parse(twin, path, batch, 1, &m[1]));
    free(twin);
    double best[2] = {1e30, 1e30};
    for (int k = 0; k < 2; k++) {
        glia_graph *g = glia_model_graph(m[k]);
        glia_shape xs;
        TRY(glia_graph_compile(g, 0));
        glia_graph_set_training(g, 0);
        TRY(glia_node_shape(g, glia_model_input(m[k]), &xs));
        fill_normal(glia_node_value(g, glia_model_input(m[k])), glia_shape_numel(&xs), &r);
    }
    for (int round = 0; round < 4; round++) /* alternately: both see the same machine load */
        for (int k = 0; k < 2; k++) {
            double s = best_step(forward_step, glia_model_graph(m[k]), 2, seconds / 8);
            if (s < 0) return 1;
            if (s < best[k]) best[k] = s;
        }
    glia_model_free(m[0]);
    glia_model_free(m[1]);
    char nm[96];
    snprintf(nm, sizeof nm, "xnor-%s", name);
    result(nm, (double)batch / best[0], "img/s");
    snprintf(nm, sizeof nm, "float-%s", name);
    result(nm, (double)batch / best[1], "img/s");
    return 0;
}

static int bench_binary(double seconds) {
    for (size_t i = 3; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++) { /* vgg-conv2..4 */
        glia_graph *g[2] = {NULL, NULL};
        int y[2];
        double best[2] = {1e30, 1e30};
        for (int k = 0; k < 2; k++)
            if (xnor_layer(&conv_shapes[i], k == 0, &g[k], &y[k])) return 1;
        for (int round = 0; round < 4; round++)
            for (int k = 0; k < 2; k++) {
                double s = best_step(forward_step, g[k], 2, seconds / 12);
                if (s < 0) return 1;
                if (s < best[k]) best[k] = s;
            }
        glia_graph_free(g[0]);
        glia_graph_free(g[1]);
        char nm[96];
        snprintf(nm, sizeof nm, "xnor-conv-%s-fwd", conv_shapes[i].name);
        result(nm, 1e6 * best[0], "us/batch");
        snprintf(nm, sizeof nm, "float-conv-%s-fwd", conv_shapes[i].name);
        result(nm, 1e6 * best[1], "us/batch");
    }
    return net_infer_pair("vgg-infer64", "models/vgg-small-xnor.cfg", 64, seconds) ||
           net_infer_pair("lenet-infer256", "models/lenet5-xnor.cfg", 256, seconds);
}

/* ------------------------------------------------------------ the machine's figures */
static int bench_sgemm(double seconds) {
    const int n = 2048;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    if (!a || !b || !c) return 1;
    glia_rng r;
    glia_rng_seed(&r, 7, 3);
    fill_normal(a, (int64_t)n * n, &r);
    fill_normal(b, (int64_t)n * n, &r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    int64_t k = 0;
    double t0 = glia__now(), t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        k++;
        t = glia__now();
    } while (t - t0 < seconds || k < 3);
    free(a);
    free(b);
    free(c);
    result("sgemm-2048", 2.0 * n * n * n * (double)k / (t - t0) * 1e-9, "GFLOP/s");
    return 0;
}

/* FMA peak: 12 independent chains of fused multiply-adds per thread (enough to hide the FMA
 * latency on two pipes), with AVX2 (8 floats) and, where the CPU has it, AVX-512 (16 floats);
 * the figure is the faster. Intrinsics, because ISO C mode does not contract a*b+c into FMAs. */
__attribute__((target("avx2,fma"))) static float fma_chains_avx2(int64_t iters) {
    __m256 acc[12], m = _mm256_set1_ps(1.0000001f), a = _mm256_set1_ps(1e-7f);
    for (int j = 0; j < 12; j++) acc[j] = _mm256_set1_ps((float)j * 1e-7f);
    __m256 a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5], a6 = acc[6],
           a7 = acc[7], a8 = acc[8], a9 = acc[9], a10 = acc[10], a11 = acc[11];
    for (int64_t i = 0; i < iters; i++) { /* named registers: an array would go through memory */
        a0 = _mm256_fmadd_ps(a0, m, a), a1 = _mm256_fmadd_ps(a1, m, a), a2 = _mm256_fmadd_ps(a2, m, a), a3 = _mm256_fmadd_ps(a3, m, a);
        a4 = _mm256_fmadd_ps(a4, m, a), a5 = _mm256_fmadd_ps(a5, m, a), a6 = _mm256_fmadd_ps(a6, m, a), a7 = _mm256_fmadd_ps(a7, m, a);
        a8 = _mm256_fmadd_ps(a8, m, a), a9 = _mm256_fmadd_ps(a9, m, a), a10 = _mm256_fmadd_ps(a10, m, a), a11 = _mm256_fmadd_ps(a11, m, a);
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3, acc[4] = a4, acc[5] = a5, acc[6] = a6;
    acc[7] = a7, acc[8] = a8, acc[9] = a9, acc[10] = a10, acc[11] = a11;
    float out[8], s = 0;
    for (int j = 0; j < 12; j++) {
        _mm256_storeu_ps(out, acc[j]);
        for (int e = 0; e < 8; e++) s += out[e];
    }
    return s;
}

__attribute__((target("avx512f"))) static float fma_chains_avx512(int64_t iters) {
    __m512 acc[12], m = _mm512_set1_ps(1.0000001f), a = _mm512_set1_ps(1e-7f);
    for (int j = 0; j < 12; j++) acc[j] = _mm512_set1_ps((float)j * 1e-7f);
    __m512 a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5], a6 = acc[6],
           a7 = acc[7], a8 = acc[8], a9 = acc[9], a10 = acc[10], a11 = acc[11];
    for (int64_t i = 0; i < iters; i++) { /* named registers: an array would go through memory */
        a0 = _mm512_fmadd_ps(a0, m, a), a1 = _mm512_fmadd_ps(a1, m, a), a2 = _mm512_fmadd_ps(a2, m, a), a3 = _mm512_fmadd_ps(a3, m, a);
        a4 = _mm512_fmadd_ps(a4, m, a), a5 = _mm512_fmadd_ps(a5, m, a), a6 = _mm512_fmadd_ps(a6, m, a), a7 = _mm512_fmadd_ps(a7, m, a);
        a8 = _mm512_fmadd_ps(a8, m, a), a9 = _mm512_fmadd_ps(a9, m, a), a10 = _mm512_fmadd_ps(a10, m, a), a11 = _mm512_fmadd_ps(a11, m, a);
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3, acc[4] = a4, acc[5] = a5, acc[6] = a6;
    acc[7] = a7, acc[8] = a8, acc[9] = a9, acc[10] = a10, acc[11] = a11;
    float s = 0;
    for (int j = 0; j < 12; j++) s += _mm512_reduce_add_ps(acc[j]);
    return s;
}

static double fma_gflops(int width, int threads) {
    const int64_t iters = 20000000;
    volatile float sink = 0;
    double t0 = glia__now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += width == 16 ? fma_chains_avx512(iters) : fma_chains_avx2(iters);
    double t = glia__now() - t0;
    (void)sink;
    return 2.0 * width * 12 * (double)iters * threads / t * 1e-9;
}

static int bench_fma(void) {
    int threads = glia_get_num_threads();
    double best = fma_gflops(8, threads);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        double w = fma_gflops(16, threads);
        if (w > best) best = w;
    }
    result("fma-peak", best, "GFLOP/s");
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: glia-bench NAME [--seconds S] [--threads T] [--profile] [--no-recompute]\n\n"
               "Runs one benchmark for about S seconds (default 3) after a warm-up and prints\n"
               "  RESULT NAME VALUE UNIT MAX_RSS_KIB\n"
               "names: lenet-train lenet-infer256 lenet-infer1 vgg-train lstm-train gru-train\n"
               "       g2p-train (the grapheme-to-phoneme encoder-decoder with attention)\n"
               "       resnet20-train resnet50-infer1 resnet50-infer8 mobilenetv2-infer8\n"
               "       mobilenetv2-jit-infer8 (the same glia run; PyTorch's TorchScript)\n"
               "       densenet121-train8 densenet121-me-train8 (the same glia run)\n"
               "       sgemm fma-peak\n"
               "       binary (XNOR layers and networks on bits against the same in floats)\n"
               "       conv-all-fwd conv-all-bwd (every conv layer of LeNet-5 and the VGG net)\n"
               "--profile: also print, on stderr, the time of each op type and of the slowest\n"
               "           nodes per step (whole-network benchmarks)\n"
               "--no-recompute: training keeps every value backward reads instead of recomputing\n"
               "           concatenations and their batch norm + ReLU (GLIA_COMPILE_NO_RECOMPUTE)\n"
               "Run the whole suite against PyTorch with `make bench` (bench/run.py).\n");
}

int main(int argc, char **argv) {
    glia_thread_env_defaults(argv);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    double seconds = 3;
    int threads = 2;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--profile")) profile_ops = 1;
        else if (!strcmp(argv[i], "--no-recompute")) train_compile_flags = GLIA_COMPILE_NO_RECOMPUTE;
        else {
            fprintf(stderr, "bench: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    glia_set_num_threads(threads);
    const char *n = argv[1];
    if (!strcmp(n, "lenet-train"))
        return bench_net(n, "models/lenet5.cfg", 64, 1, GLIA_SGD, seconds, "img/s");
    if (!strcmp(n, "lenet-infer256"))
        return bench_net(n, "models/lenet5.cfg", 256, 0, GLIA_SGD, seconds, "img/s");
    if (!strcmp(n, "lenet-infer1"))
        return bench_net(n, "models/lenet5.cfg", 1, 0, GLIA_SGD, seconds, "us/img");
    if (!strcmp(n, "vgg-train"))
        return bench_net(n, "bench/vgg-bench.cfg", 64, 1, GLIA_SGD, seconds, "img/s");
    /* the model zoo: ResNet-20 on 28x28 (training), ResNet-50 and MobileNetV2 on 224x224 */
    if (!strcmp(n, "resnet20-train"))
        return bench_net(n, "models/zoo/resnet20.cfg", 64, 1, GLIA_SGD, seconds, "img/s");
    if (!strcmp(n, "resnet50-infer1"))
        return bench_net(n, "models/zoo/resnet50.cfg", 1, 0, GLIA_SGD, seconds, "us/img");
    if (!strcmp(n, "resnet50-infer8"))
        return bench_net(n, "models/zoo/resnet50.cfg", 8, 0, GLIA_SGD, seconds, "img/s");
    if (!strcmp(n, "mobilenetv2-infer8") || !strcmp(n, "mobilenetv2-jit-infer8"))
        return bench_net(n, "models/zoo/mobilenet_v2.cfg", 8, 0, GLIA_SGD, seconds, "img/s");
    if (!strcmp(n, "densenet121-train8") || !strcmp(n, "densenet121-me-train8"))
        return bench_net(n, "models/zoo/densenet121.cfg", 8, 1, GLIA_SGD, seconds, "img/s");
    if (!strcmp(n, "lstm-train")) return bench_seq(n, "bench/char-lstm-bench.cfg", seconds);
    if (!strcmp(n, "gru-train")) return bench_seq(n, "bench/char-gru-bench.cfg", seconds);
    if (!strcmp(n, "g2p-train")) return bench_seq2seq(n, "bench/g2p-bench.cfg", seconds);
    if (!strcmp(n, "sgemm")) return bench_sgemm(seconds);
    if (!strcmp(n, "fma-peak")) return bench_fma();
    if (!strcmp(n, "binary")) return bench_binary(seconds);
    if (!strcmp(n, "conv-all-fwd") || !strcmp(n, "conv-all-bwd")) {
        for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++)
            if (bench_conv(&conv_shapes[i], n[9] == 'b', seconds / 4)) return 1;
        return 0;
    }
    fprintf(stderr, "bench: unknown benchmark '%s'\n\n", n);
    usage(stderr);
    return 2;
}
