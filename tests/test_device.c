/* test_device.c: the device seam (src/core/device.h). The reference device (plain loops) against
 * the cpu device: every op of the op table on a small case (forward, and backward into every
 * input and parameter), with the reference's own gradients checked by finite differences; whole
 * networks (LeNet-5, the small VGG with batch norm and dropout, the char-LSTM, the branching
 * all_layers net), outputs and all parameter gradients; moving a graph between devices, the
 * optimiser and the carried state of a sequence model there, and the calls that reach values on
 * every device (glia_node_read / write / read_grad).
 *
 * A graph is run on the cpu device, then moved to the reference device and run again from the
 * same leaf values and the same generator state (so dropout drops the same elements). Every
 * tensor is compared by max |cpu - reference| / max |reference|, its largest difference relative
 * to its scale; a gradient's scale is at least 1e-2 of the largest gradient of the run (some are
 * 0 but for rounding: a bias before a batch norm). */
#include "test.h"
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the harness */

enum { F_UNIFORM, F_LABELS, F_IDS, F_LENGTHS }; /* how an input is filled */
enum { MAX_SPECIAL = 8 };

typedef struct {
    glia_graph *g;
    int y;                 /* the node compared and seeded for backward */
    int inference;         /* run in inference mode (default: training) */
    int n_special;
    struct { int node, kind; float a; } special[MAX_SPECIAL]; /* inputs filled otherwise */
} net;

/* one run's results: y, and per node its gradient (if any) and, for buffers, its value */
typedef struct {
    int n;
    float *y, **grad, **buf;
} results;

static int64_t numel_of(glia_graph *g, int node) {
    glia_shape s;
    glia_node_shape(g, node, &s);
    return glia_shape_numel(&s);
}

static int special_of(const net *t, int node) {
    for (int i = 0; i < t->n_special; i++)
        if (t->special[i].node == node) return i;
    return -1;
}

/* an input filled with class labels (a = classes; every third is -1, ignored), ids (a = V) or
 * lengths (a = T) */
static void mark(net *t, int node, int kind, float a) {
    t->special[t->n_special].node = node;
    t->special[t->n_special].kind = kind;
    t->special[t->n_special++].a = a;
}

static int is_input(glia_graph *g, int i) { return !strcmp(glia_node_op(g, i), "input"); }
static int is_buffer(glia_graph *g, int i) { return !strcmp(glia_node_op(g, i), "buffer"); }

/* Fills every leaf from fixed seeds, through glia_node_write (any device). */
static int fill_leaves(net *t) {
    glia_graph *g = t->g;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        if (!is_input(g, i) && !glia_node_is_param(g, i) && !is_buffer(g, i)) continue;
        int64_t m = numel_of(g, i);
        float *v = malloc((size_t)m * sizeof *v);
        int k = special_of(t, i);
        glia_rng r;
        glia_rng_seed(&r, 1000 + (uint64_t)i, 9);
        if (k < 0) /* buffers are running statistics: a variance must be positive */
            fill_uniform(v, m, is_buffer(g, i) ? 0.5f : -1.0f, is_buffer(g, i) ? 1.5f : 1.0f, 100 + (uint64_t)i);
        else
            for (int64_t j = 0; j < m; j++) {
                float a = t->special[k].a;
                switch (t->special[k].kind) {
                case F_LABELS: v[j] = j % 3 == 2 ? -1.0f : (float)glia_rng_below(&r, (uint32_t)a); break;
                case F_IDS: v[j] = (float)glia_rng_below(&r, (uint32_t)a); break;
                default: v[j] = 1.0f + (float)glia_rng_below(&r, (uint32_t)a); break; /* lengths */
                }
            }
        glia_status s = glia_node_write(g, i, v, m);
        free(v);
        if (s) {
            test_fail(__FILE__, __LINE__, "filling %s: %s", glia_node_name(g, i), glia_last_error());
            return 0;
        }
    }
    return 1;
}

static void results_free(results *r) {
    for (int i = 0; i < r->n && r->grad; i++) free(r->grad[i]), free(r->buf[i]);
    free(r->grad);
    free(r->buf);
    free(r->y);
    memset(r, 0, sizeof *r);
}

/* forward and backward (seed fixed) from the leaves' fixed values and the generator state rng0 */
static int run_once(net *t, glia_rng rng0, results *r) {
    glia_graph *g = t->g;
    glia_status s;
    *glia_graph_rng(g) = rng0;
    glia_graph_set_training(g, !t->inference);
    if (!fill_leaves(t)) return 0;
    r->n = glia_graph_num_nodes(g);
    r->grad = calloc((size_t)r->n, sizeof *r->grad);
    r->buf = calloc((size_t)r->n, sizeof *r->buf);
    int64_t ny = numel_of(g, t->y);
    float *seed = malloc((size_t)ny * sizeof *seed);
    r->y = malloc((size_t)ny * sizeof *r->y);
    fill_uniform(seed, ny, -1, 1, 77);
    if ((s = glia_graph_forward(g)) || (s = glia_node_read(g, t->y, r->y, ny)) ||
        (s = glia_graph_backward(g, t->y, seed, 0))) {
        free(seed);
        test_fail(__FILE__, __LINE__, "run on %s: %s", glia_graph_device(g), glia_last_error());
        return 0;
    }
    free(seed);
    for (int i = 0; i < r->n; i++) {
        int64_t m = numel_of(g, i);
        int grad = glia_node_is_param(g, i) || (is_input(g, i) && special_of(t, i) < 0);
        if (grad) {
            r->grad[i] = malloc((size_t)m * sizeof(float));
            s = glia_node_read_grad(g, i, r->grad[i], m);
        }
        if (!s && is_buffer(g, i)) {
            r->buf[i] = malloc((size_t)m * sizeof(float));
            s = glia_node_read(g, i, r->buf[i], m);
        }
        if (s) {
            test_fail(__FILE__, __LINE__, "reading %s: %s", glia_node_name(g, i), glia_last_error());
            return 0;
        }
    }
    return 1;
}

static double max_abs(const float *a, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fabs((double)a[i]) > m ? fabs((double)a[i]) : m;
    return m;
}

/* max |a - b| / max(max |b|, floor) (NaN: infinity) */
static double rel_diff(const float *a, const float *b, int64_t n, double floor) {
    double d = 0, m = max_abs(b, n);
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e != e) return INFINITY;
        if (e > d) d = e;
    }
    m = m > floor ? m : floor;
    return d == 0 ? 0 : d / (m > 0 ? m : 1e-30);
}

typedef struct {
    double y, grad, buf; /* the largest differences */
    char grad_at[80];    /* where the largest gradient difference is */
} diffs;

/* Runs t's graph on the cpu device, then on the reference device, and compares. */
static int compare_devices(net *t, diffs *d) {
    glia_graph *g = t->g;
    results a = {0}, b = {0};
    memset(d, 0, sizeof *d);
    int ok = 0;
    glia_rng rng0 = *glia_graph_rng(g);
    if (glia_graph_set_device(g, "cpu") || !run_once(t, rng0, &a)) goto done;
    if (glia_graph_set_device(g, "reference") || !run_once(t, rng0, &b)) goto done;
    d->y = rel_diff(a.y, b.y, numel_of(g, t->y), 0);
    double big = 0; /* the largest gradient */
    for (int i = 0; i < a.n; i++)
        if (b.grad[i] && max_abs(b.grad[i], numel_of(g, i)) > big) big = max_abs(b.grad[i], numel_of(g, i));
    for (int i = 0; i < a.n; i++) {
        int64_t m = numel_of(g, i);
        double e = a.grad[i] ? rel_diff(a.grad[i], b.grad[i], m, 1e-2 * big) : 0;
        if (!(e <= d->grad)) {
            d->grad = e;
            snprintf(d->grad_at, sizeof d->grad_at, "%s", glia_node_name(g, i));
        }
        if (a.buf[i]) {
            e = rel_diff(a.buf[i], b.buf[i], m, 0);
            if (!(e <= d->buf)) d->buf = e;
        }
    }
    ok = 1;
done:
    if (!ok && !test_failed_flag)
        test_fail(__FILE__, __LINE__, "device switch: %s", glia_last_error());
    results_free(&a);
    results_free(&b);
    return ok;
}

/* ---------------------------------------------------------------- one small case per op */

static int in(net *t, const char *name, int ndim, const int64_t *dims) {
    int x = -1;
    if (glia_input(t->g, name, ndim, dims, &x)) return -1;
    return x;
}
static int par(net *t, const char *name, int ndim, const int64_t *dims) {
    int x = -1;
    if (glia_param(t->g, name, ndim, dims, &x)) return -1;
    return x;
}
#define D(...) (const int64_t[]){__VA_ARGS__}
#define NDIM(...) ((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)))
#define IN(t, name, ...) in(t, name, NDIM(__VA_ARGS__), D(__VA_ARGS__))
#define PAR(t, name, ...) par(t, name, NDIM(__VA_ARGS__), D(__VA_ARGS__))

typedef glia_status (*case_fn)(net *t);

static glia_status c_dense(net *t) {
    return glia_dense(t->g, "y", IN(t, "x", 3, 4), PAR(t, "w", 5, 4), PAR(t, "b", 5), &t->y);
}
static glia_status c_dense_flat(net *t) {
    return glia_dense(t->g, "y", IN(t, "x", 2, 2, 3, 2), PAR(t, "w", 4, 12), -1, &t->y);
}
static glia_status c_add(net *t) {
    return glia_add(t->g, "y", IN(t, "a", 2, 3, 4, 5), PAR(t, "b", 3, 1, 1), &t->y);
}
static glia_status c_sub(net *t) {
    return glia_sub(t->g, "y", IN(t, "a", 3, 1, 4), IN(t, "b", 2, 4), &t->y);
}
static glia_status c_mul(net *t) {
    return glia_mul(t->g, "y", IN(t, "a", 2, 3, 4), IN(t, "b", 2, 1, 4), &t->y);
}
static glia_status c_scale(net *t) { return glia_scale(t->g, "y", IN(t, "x", 3, 5), 0.7f, &t->y); }
static glia_status c_concat(net *t) {
    int xs[3] = {IN(t, "a", 2, 1, 3), IN(t, "b", 2, 3, 3), IN(t, "c", 2, 2, 3)};
    return glia_concat(t->g, "y", 3, xs, 1, &t->y);
}
static glia_status c_slice(net *t) {
    return glia_slice(t->g, "y", IN(t, "x", 2, 3, 6, 2), 2, 1, -2, &t->y);
}
static glia_status c_transpose(net *t) {
    return glia_transpose(t->g, "y", IN(t, "x", 2, 3, 4, 5), 4, (const int[]){2, 0, 3, 1}, &t->y);
}
static glia_status c_sqrt(net *t) { /* of a positive value */
    int p;
    glia_status s = glia_sigmoid(t->g, "p", IN(t, "x", 2, 3, 4), &p);
    return s ? s : glia_sqrt(t->g, "y", p, &t->y);
}
static glia_status c_div(net *t) {
    int p;
    glia_status s = glia_sigmoid(t->g, "p", PAR(t, "b", 3, 1), &p);
    return s ? s : glia_div(t->g, "y", IN(t, "x", 2, 3, 4), p, &t->y);
}
static glia_status c_matmul(net *t) {
    return glia_matmul(t->g, "y", IN(t, "x", 2, 3, 4, 5), PAR(t, "w", 2, 3, 5, 2), &t->y);
}
static glia_status c_deconv(net *t) { /* stride, asymmetric and output padding, dilation, groups */
    glia_conv_transpose2d_params p = {{.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_right = 1,
                                       .dilation_w = 2, .groups = 2}, 1, 0};
    return glia_conv_transpose2d(t->g, "y", IN(t, "x", 2, 4, 3, 4), PAR(t, "w", 4, 3, 3, 2), PAR(t, "b", 6),
                                 &p, &t->y);
}
static glia_status c_resize(net *t) {
    glia_resize_params p = {5, 7, GLIA_RESIZE_CUBIC, GLIA_RESIZE_HALF_PIXEL, 0, 0, 0, 0, 0};
    return glia_resize(t->g, "y", IN(t, "x", 2, 3, 4, 3), &p, &t->y);
}
static glia_status c_reshape(net *t) {
    return glia_reshape(t->g, "y", IN(t, "x", 2, 3, 4), 2, D(2, -1), &t->y);
}
static glia_status c_time_flatten(net *t) {
    return glia_time_flatten(t->g, "y", IN(t, "x", 3, 2, 4), &t->y);
}
static glia_status conv_case(net *t, int N, int C, int H, int W, int O, int kh, int kw,
                             const glia_conv2d_params *p, int bias, int relu) {
    int G = p && p->groups ? p->groups : 1, c;
    glia_status s = glia_conv2d(t->g, "conv", IN(t, "x", N, C, H, W), PAR(t, "w", O, C / G, kh, kw),
                                bias ? PAR(t, "b", O) : -1, p, relu ? &c : &t->y);
    return s || !relu ? s : glia_relu(t->g, "y", c, &t->y);
}
static glia_status c_conv_everything(net *t) { /* stride, asymmetric padding, dilation, groups */
    glia_conv2d_params p = {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 2,
                            .pad_right = 1, .dilation_h = 2, .groups = 2};
    return conv_case(t, 3, 4, 8, 7, 2, 3, 2, &p, 1, 0);
}
static glia_status c_conv_direct_relu(net *t) { /* the cpu's direct path, with the ReLU fused */
    glia_conv2d_params p = {.pad_top = 1, .pad_bottom = 1, .pad_left = 2, .pad_right = 0};
    return conv_case(t, 2, 3, 6, 5, 5, 3, 3, &p, 1, 1);
}
static glia_status c_conv_1x1(net *t) { return conv_case(t, 2, 4, 3, 3, 6, 1, 1, NULL, 0, 0); }
/* binarize on both operands of a padded conv2d, which the cpu runs on packed bits (XNOR and
 * popcount) and the reference device in floats; no finite differences: the gradient passes
 * sign straight through (tests/test_binary.c checks it by its definition) */
static glia_status c_binarize_xnor_conv(net *t) {
    glia_conv2d_params p = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    int xb, wb;
    glia_status s = glia_binarize(t->g, "xb", IN(t, "x", 2, 5, 4, 4), 1, 1.0f, &xb);
    if (!s) s = glia_binarize(t->g, "wb", PAR(t, "w", 3, 5, 3, 3), 1, 1.0f, &wb);
    return s ? s : glia_conv2d(t->g, "y", xb, wb, PAR(t, "b", 3), &p, &t->y);
}
static glia_status c_maxpool(net *t) {
    glia_pool2d_params p = {.kernel_h = 3, .kernel_w = 2, .stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 1};
    return glia_maxpool2d(t->g, "y", IN(t, "x", 2, 3, 7, 6), &p, &t->y);
}
static glia_status c_maxpool2x2(net *t) {
    glia_pool2d_params p = {.kernel_h = 2, .kernel_w = 2};
    return glia_maxpool2d(t->g, "y", IN(t, "x", 2, 2, 8, 18), &p, &t->y);
}
static glia_status c_avgpool(net *t) {
    glia_pool2d_params p = {.kernel_h = 3, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1};
    return glia_avgpool2d(t->g, "y", IN(t, "x", 2, 3, 7, 6), &p, &t->y);
}
static glia_status c_gap(net *t) { return glia_global_avgpool(t->g, "y", IN(t, "x", 2, 3, 4, 5), &t->y); }
static glia_status c_relu(net *t) { return glia_relu(t->g, "y", IN(t, "x", 4, 6), &t->y); }
static glia_status c_relu6(net *t) { return glia_relu6(t->g, "y", IN(t, "x", 4, 6), &t->y); }
static glia_status c_hard_sigmoid(net *t) { return glia_hard_sigmoid(t->g, "y", IN(t, "x", 4, 6), &t->y); }
static glia_status c_hard_swish(net *t) { return glia_hard_swish(t->g, "y", IN(t, "x", 4, 6), &t->y); }
static glia_status c_log(net *t) { /* of a positive value */
    int p;
    glia_status s = glia_sigmoid(t->g, "p", IN(t, "x", 2, 3, 4), &p);
    return s ? s : glia_log(t->g, "y", p, &t->y);
}
static glia_status c_leaky(net *t) { return glia_leaky_relu(t->g, "y", IN(t, "x", 4, 6), 0.1f, &t->y); }
static glia_status c_elu(net *t) { return glia_elu(t->g, "y", IN(t, "x", 4, 6), 0.8f, &t->y); }
static glia_status c_sigmoid(net *t) { return glia_sigmoid(t->g, "y", IN(t, "x", 4, 6), &t->y); }
static glia_status c_tanh(net *t) { return glia_tanh(t->g, "y", IN(t, "x", 4, 6), &t->y); }
static glia_status c_linear(net *t) { return glia_linear(t->g, "y", IN(t, "x", 4, 6), &t->y); }
static glia_status c_softmax(net *t) { return glia_softmax(t->g, "y", IN(t, "x", 2, 4, 3), &t->y); }
static glia_status c_log_softmax(net *t) { return glia_log_softmax(t->g, "y", IN(t, "x", 3, 5), &t->y); }
static glia_status c_maxout(net *t) { return glia_maxout(t->g, "y", IN(t, "x", 2, 6, 2), 3, &t->y); }
static glia_status c_local2d(net *t) { /* 2x3 kernel, stride 2, padding 1: 3 x 3 positions */
    glia_local2d_params p = {.kernel_h = 2, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1};
    return glia_local2d(t->g, "y", IN(t, "x", 2, 2, 5, 5), PAR(t, "w", 9, 3, 12), PAR(t, "b", 3, 3, 3), &p, &t->y);
}
static glia_status c_dropout(net *t) { return glia_dropout(t->g, "y", IN(t, "x", 3, 40), 0.4f, &t->y); }
static glia_status bn_case(net *t, int ndim, const int64_t *dims, int relu) {
    int64_t C = dims[1];
    int rm, rv, c;
    glia_status s;
    if ((s = glia_buffer(t->g, "rm", 1, &C, &rm)) || (s = glia_buffer(t->g, "rv", 1, &C, &rv))) return s;
    s = glia_batchnorm(t->g, "bn", in(t, "x", ndim, dims), PAR(t, "gamma", C), PAR(t, "beta", C), rm,
                       rv, 1e-3f, 0.2f, relu ? &c : &t->y);
    return s || !relu ? s : glia_relu(t->g, "y", c, &t->y);
}
static glia_status c_bn_train_relu(net *t) { return bn_case(t, 4, D(4, 3, 2, 3), 1); }
static glia_status c_bn_inference(net *t) {
    t->inference = 1;
    return bn_case(t, 2, D(3, 5), 0);
}
static glia_status c_lrn(net *t) { return glia_lrn(t->g, "y", IN(t, "x", 2, 5, 2, 3), 3, 0.5f, 0.75f, 2, &t->y); }
static glia_status c_lrn_even(net *t) { return glia_lrn(t->g, "y", IN(t, "x", 2, 6, 3), 4, 0.9f, 0.6f, 1, &t->y); }
static glia_status c_ce(net *t) {
    int lab = IN(t, "labels", 7);
    mark(t, lab, F_LABELS, 5);
    return glia_softmax_cross_entropy(t->g, "y", IN(t, "x", 7, 5), lab, &t->y);
}
static glia_status c_ce_smoothed(net *t) { /* label smoothing 0.15 */
    int lab = IN(t, "labels", 7);
    mark(t, lab, F_LABELS, 5);
    return glia_softmax_cross_entropy_smoothed(t->g, "y", IN(t, "x", 7, 5), lab, 0.15f, &t->y);
}
static glia_status c_mse(net *t) { return glia_mse_loss(t->g, "y", IN(t, "a", 3, 4), IN(t, "b", 3, 4), &t->y); }
static glia_status c_bce(net *t) {
    return glia_bce_with_logits(t->g, "y", IN(t, "x", 3, 4), IN(t, "t", 3, 4), &t->y);
}
/* a recurrent layer [T 5, N 3, I 3] -> H 4, bidirectional, with h0 (c0) and lengths */
static glia_status rec_case(net *t, int kind, int peep, int act, int bidir) {
    int dirs = bidir ? 2 : 1, len = IN(t, "lengths", 3);
    int x = IN(t, "x", 5, 3, 3), h0 = in(t, "h0", 3, D(dirs, 3, 4));
    glia_rnn_config cfg = {.hidden = 4, .bidirectional = bidir, .peephole = peep, .activation = act};
    mark(t, len, F_LENGTHS, 5);
    if (kind == 0) return glia_rnn(t->g, "y", x, h0, len, &cfg, &t->y);
    if (kind == 2) return glia_gru(t->g, "y", x, h0, len, &cfg, &t->y);
    return glia_lstm(t->g, "y", x, h0, in(t, "c0", 3, D(dirs, 3, 4)), len, &cfg, &t->y);
}
static glia_status c_rnn_tanh(net *t) { return rec_case(t, 0, 0, GLIA_RNN_TANH, 1); }
static glia_status c_rnn_relu(net *t) { return rec_case(t, 0, 0, GLIA_RNN_RELU, 0); }
static glia_status c_lstm_peep(net *t) { return rec_case(t, 1, 1, 0, 1); }
static glia_status c_lstm_plain(net *t) {
    glia_rnn_config cfg = {.hidden = 5};
    return glia_lstm(t->g, "y", IN(t, "x", 4, 2, 3), -1, -1, -1, &cfg, &t->y);
}
static glia_status c_gru(net *t) { return rec_case(t, 2, 0, 0, 1); }
/* clockwork: 4 units in 3 modules (sizes 1, 1, 2), periods 1, 2, 4 over T 5, the clock at
 * 1..5; scrn: H 4, S 3 */
static glia_status c_clockwork(net *t) {
    int len = IN(t, "lengths", 3), x = IN(t, "x", 5, 3, 3), h0 = in(t, "h0", 3, D(2, 3, 4));
    int clock = IN(t, "clock", 1);
    glia_rnn_config cfg = {.hidden = 4, .bidirectional = 1, .modules = 3, .period_base = 2};
    mark(t, len, F_LENGTHS, 5);
    mark(t, clock, F_LENGTHS, 5);
    return glia_clockwork(t->g, "y", x, h0, clock, len, &cfg, &t->y);
}
static glia_status c_scrn(net *t) {
    int len = IN(t, "lengths", 3), x = IN(t, "x", 5, 3, 3), h0 = in(t, "h0", 3, D(2, 3, 4));
    glia_rnn_config cfg = {.hidden = 4, .bidirectional = 1, .context = 3, .alpha = 0.8f};
    mark(t, len, F_LENGTHS, 5);
    return glia_scrn(t->g, "y", x, h0, in(t, "s0", 3, D(2, 3, 3)), len, &cfg, &t->y);
}
static glia_status c_seq_last(net *t) {
    int len = IN(t, "lengths", 3);
    mark(t, len, F_LENGTHS, 4);
    return glia_seq_last(t->g, "y", IN(t, "x", 4, 3, 6), len, 2, &t->y);
}
static glia_status c_seq_pool(net *t, int mode) {
    int len = IN(t, "lengths", 3);
    mark(t, len, F_LENGTHS, 4);
    return glia_seq_pool(t->g, "y", IN(t, "x", 4, 3, 5), len, mode, &t->y);
}
static glia_status c_seq_pool_mean(net *t) { return c_seq_pool(t, GLIA_SEQ_POOL_MEAN); }
static glia_status c_seq_pool_max(net *t) { return c_seq_pool(t, GLIA_SEQ_POOL_MAX); }
static glia_status c_embedding(net *t) {
    int ids = IN(t, "ids", 3, 4);
    mark(t, ids, F_IDS, 6);
    return glia_embedding(t->g, "y", ids, PAR(t, "w", 6, 5), 2, &t->y);
}
static glia_status c_embedding_bag(net *t) {
    int ids = IN(t, "ids", 2, 3, 4);
    mark(t, ids, F_IDS, 7);
    return glia_embedding_bag(t->g, "y", ids, PAR(t, "w", 7, 3), &t->y);
}

static glia_status c_attention(net *t, int score) {
    int len = IN(t, "lengths", 2), p[3] = {-1, -1, -1};
    mark(t, len, F_LENGTHS, 4);
    if (score == GLIA_ATTENTION_GENERAL) p[0] = PAR(t, "w", 3, 4);
    if (score == GLIA_ATTENTION_ADDITIVE) p[0] = PAR(t, "wq", 5, 3), p[1] = PAR(t, "wk", 5, 4), p[2] = PAR(t, "v", 5);
    int q = score == GLIA_ATTENTION_DOT ? IN(t, "q", 3, 2, 4) : IN(t, "q", 3, 2, 3);
    return glia_attention(t->g, "y", score, q, IN(t, "k", 4, 2, 4), p, len, &t->y);
}
static glia_status c_attention_dot(net *t) { return c_attention(t, GLIA_ATTENTION_DOT); }
static glia_status c_attention_general(net *t) { return c_attention(t, GLIA_ATTENTION_GENERAL); }
static glia_status c_attention_additive(net *t) { return c_attention(t, GLIA_ATTENTION_ADDITIVE); }

static glia_status c_embedding_nopad(net *t) {
    int ids = IN(t, "ids", 5);
    mark(t, ids, F_IDS, 4);
    return glia_embedding(t->g, "y", ids, PAR(t, "w", 4, 3), -1, &t->y);
}

/* what: the case; build: adds its nodes, t->y the output; no_fd: the gradient differs from
 * finite differences by definition (a padding row gets none) */
static const struct {
    const char *what;
    case_fn build;
    int no_fd;
} OP_CASES[] = {
    {"dense", c_dense, 0},
    {"dense, rank-4 input, no bias", c_dense_flat, 0},
    {"add, broadcast bias", c_add, 0},
    {"sub, both broadcast", c_sub, 0},
    {"mul, broadcast", c_mul, 0},
    {"scale", c_scale, 0},
    {"concat", c_concat, 0},
    {"slice", c_slice, 0},
    {"reshape", c_reshape, 0},
    {"transpose", c_transpose, 0},
    {"conv_transpose2d", c_deconv, 0},
    {"resize (cubic)", c_resize, 0},
    {"sqrt", c_sqrt, 0},
    {"div", c_div, 0},
    {"matmul", c_matmul, 0},
    {"time_flatten", c_time_flatten, 0},
    {"conv2d, stride, asymmetric padding, dilation, groups", c_conv_everything, 0},
    {"conv2d, direct path, fused ReLU on the cpu", c_conv_direct_relu, 0},
    {"conv2d, 1x1", c_conv_1x1, 0},
    {"maxpool2d, padded, overlapping", c_maxpool, 0},
    {"maxpool2d 2x2 (the cpu's vector kernel)", c_maxpool2x2, 0},
    {"avgpool2d, padded", c_avgpool, 0},
    {"global_avgpool", c_gap, 0},
    {"relu", c_relu, 0},
    {"relu6", c_relu6, 0},
    {"hard_sigmoid", c_hard_sigmoid, 0},
    {"hard_swish", c_hard_swish, 0},
    {"log", c_log, 0},
    {"leaky_relu", c_leaky, 0},
    {"elu", c_elu, 0},
    {"sigmoid", c_sigmoid, 0},
    {"tanh", c_tanh, 0},
    {"linear", c_linear, 0},
    {"softmax", c_softmax, 0},
    {"log_softmax", c_log_softmax, 0},
    {"maxout", c_maxout, 0},
    {"binarize, XNOR conv2d on bits", c_binarize_xnor_conv, 1},
    {"local2d, stride, padding, bias", c_local2d, 0},
    {"dropout, training", c_dropout, 0},
    {"batchnorm, training, fused ReLU on the cpu", c_bn_train_relu, 0},
    {"batchnorm, inference", c_bn_inference, 0},
    {"lrn", c_lrn, 0},
    {"lrn, even size", c_lrn_even, 0},
    {"softmax_cross_entropy, ignored rows", c_ce, 0},
    {"softmax_cross_entropy, label smoothing, ignored rows", c_ce_smoothed, 0},
    {"mse_loss", c_mse, 0},
    {"bce_with_logits", c_bce, 0},
    {"rnn tanh, bidirectional, h0, lengths", c_rnn_tanh, 0},
    {"rnn relu", c_rnn_relu, 0},
    {"lstm, peepholes, bidirectional, h0, c0, lengths", c_lstm_peep, 0},
    {"lstm, no state, no lengths", c_lstm_plain, 0},
    {"gru, bidirectional, h0, lengths", c_gru, 0},
    {"clockwork, 3 modules, bidirectional, h0, lengths", c_clockwork, 0},
    {"scrn, bidirectional, h0, s0, lengths", c_scrn, 0},
    {"seq_last", c_seq_last, 0},
    {"seq_pool mean", c_seq_pool_mean, 0},
    {"seq_pool max", c_seq_pool_max, 0},
    {"embedding, padding_idx", c_embedding, 1},
    {"embedding", c_embedding_nopad, 0},
    {"embedding_bag", c_embedding_bag, 0},
    {"attention dot, lengths", c_attention_dot, 0},
    {"attention general, lengths", c_attention_general, 0},
    {"attention additive, lengths", c_attention_additive, 0},
};
#define N_OP_CASES ((int)(sizeof OP_CASES / sizeof OP_CASES[0]))

/* Every op of the table has a case; each case agrees on both devices (forward, every gradient,
 * buffers), and the reference's gradients agree with finite differences. */
TEST(device_reference_matches_cpu_every_op) {
    int *covered = calloc((size_t)glia_num_ops(), sizeof *covered);
    double worst = 0;
    const char *worst_at = "";
    for (int c = 0; c < N_OP_CASES && !test_failed_flag; c++) {
        net t = {0};
        OK(glia_graph_new(&t.g));
        glia_status s = OP_CASES[c].build(&t);
        CHECK_MSG(!s, "%s: building: %s", OP_CASES[c].what, glia_last_error());
        for (int i = 0; i < glia_graph_num_nodes(t.g); i++)
            for (int k = 0; k < glia_num_ops(); k++)
                if (!strcmp(glia_node_op(t.g, i), glia_op_get(k)->name)) covered[k] = 1;
        for (int i = 0; i < glia_graph_num_nodes(t.g); i++)
            if (is_input(t.g, i) && special_of(&t, i) < 0) OK(glia_node_requires_grad(t.g, i, 1));
        diffs d;
        if (!compare_devices(&t, &d)) {
            glia_graph_free(t.g);
            break;
        }
        double e = d.y > d.grad ? d.y : d.grad;
        e = d.buf > e ? d.buf : e;
        if (getenv("GLIA_TEST_VERBOSE"))
            printf("     %-55s y %.2g grad %.2g (%s) buffers %.2g\n", OP_CASES[c].what, d.y, d.grad,
                   d.grad_at, d.buf);
        if (!(e <= worst)) worst = e, worst_at = OP_CASES[c].what;
        CHECK_MSG(e < 1e-5, "%s: cpu and reference differ: y %.3g, gradients %.3g (%s), buffers %.3g",
                  OP_CASES[c].what, d.y, d.grad, d.grad_at, d.buf);
        /* the reference's gradients (the graph is on the reference device now) */
        for (int i = 0; i < glia_graph_num_nodes(t.g) && !test_failed_flag && !OP_CASES[c].no_fd; i++)
            if (glia_node_is_param(t.g, i) || (is_input(t.g, i) && special_of(&t, i) < 0))
                GRADCHECK(t.g, t.y, i, 2e-2);
        glia_graph_free(t.g);
    }
    for (int k = 0; k < glia_num_ops() && !test_failed_flag; k++)
        CHECK_MSG(covered[k], "op '%s' has no case in OP_CASES", glia_op_get(k)->name);
    free(covered);
    printf("  device: every op, cpu vs reference: largest difference %.2g (%s)\n", worst, worst_at);
}

/* ---------------------------------------------------------------- whole networks */

/* replaces the first "key = old" line's value in text (which has room to spare) */
static int set_key(char *text, const char *line, const char *value_line) {
    char *p = strstr(text, line);
    if (!p) return 0;
    size_t a = strlen(line), b = strlen(value_line);
    memmove(p + b, p + a, strlen(p + a) + 1);
    memcpy(p, value_line, b);
    return 1;
}

/* A model from the zoo (edits: "old line", "new line" pairs applied to its text), run on both
 * devices in training mode: outputs, every parameter gradient, the image input's gradient, the
 * running statistics. Prints the largest differences. */
static void model_case(const char *what, const char *path, int64_t batch, const char *const *edits,
                       int n_edits, double tol) {
    char *text = test_read_file(path, 4096);
    CHECK_MSG(text, "cannot read %s", path);
    for (int i = 0; i < n_edits; i++) CHECK_MSG(set_key(text, edits[2 * i], edits[2 * i + 1]), "%s: no '%s'", path, edits[2 * i]);
    glia_model *m;
    glia_status s = glia_model_parse(text, path, batch, 3, &m);
    free(text);
    OK(s);
    net t = {.g = glia_model_graph(m), .y = glia_model_output(m)};
    int x = glia_model_input(m);
    if (glia_model_vocab(m) > 0) mark(&t, x, F_IDS, (float)glia_model_vocab(m));
    else OK(glia_node_requires_grad(t.g, x, 1));
    if (glia_model_lengths(m) >= 0) mark(&t, glia_model_lengths(m), F_LENGTHS, (float)glia_model_sequence(m));
    for (int i = 0; i < glia_graph_num_nodes(t.g); i++) /* initial recurrent states */
        if (is_input(t.g, i) && special_of(&t, i) < 0 && i != x) OK(glia_node_requires_grad(t.g, i, 1));
    diffs d;
    int ok = compare_devices(&t, &d);
    glia_model_free(m);
    if (!ok) return;
    printf("  device: %s, cpu vs reference: output %.2g, gradients %.2g (largest: %s), running "
           "statistics %.2g\n", what, d.y, d.grad, d.grad_at, d.buf);
    CHECK_MSG(d.y < tol && d.grad < tol && d.buf < tol, "%s: cpu and reference differ: output %.3g, "
              "gradients %.3g (%s), buffers %.3g (tolerance %g)", what, d.y, d.grad, d.grad_at, d.buf, tol);
}

TEST(device_reference_matches_cpu_lenet5) {
    model_case("LeNet-5", "models/lenet5.cfg", 4, NULL, 0, 1e-4);
}

TEST(device_reference_matches_cpu_vgg_small) { /* batch norm, fused ReLUs on the cpu, dropout */
    model_case("VGG (vgg-small: batch norm, dropout)", "models/vgg-small.cfg", 2, NULL, 0, 1e-4);
}

TEST(device_reference_matches_cpu_char_lstm) { /* two LSTM layers, dropout, random lengths */
    static const char *const edits[] = {"sequence = 64", "sequence = 12", "hidden = 256", "hidden = 32"};
    model_case("char-LSTM (T 12, H 32)", "models/char-lstm.cfg", 3, edits, 2, 1e-4);
}

TEST(device_reference_matches_cpu_all_layers) { /* every layer type, branches */
    model_case("all_layers", "tests/models/all_layers.cfg", 4, NULL, 0, 1e-4);
}

/* ---------------------------------------------------------------- the API */

TEST(device_list_and_errors) {
    CHECK(glia_num_devices() == 2);
    CHECK(!strcmp(glia_device_name(0), "cpu") && !strcmp(glia_device_name(1), "reference"));
    CHECK(!glia_device_name(2) && !glia_device_name(-1) && glia_device_summary(1));
    glia_graph *g;
    int x, w, y, h;
    float v[6] = {1, -2, 3, -4, 5, -6}, out[6];
    OK(glia_graph_new(&g));
    CHECK(!strcmp(glia_graph_device(g), "cpu"));
    OK(glia_input(g, "x", 2, D(1, 3), &x));
    OK(glia_param(g, "w", 2, D(2, 3), &w));
    OK(glia_dense(g, "h", x, w, -1, &h));
    OK(glia_relu(g, "y", h, &y));
    OK(glia_node_write(g, w, v, 6));
    CHECK(glia_graph_set_device(g, "gpu") == GLIA_EINVAL && strstr(glia_last_error(), "cpu, reference"));
    OK(glia_graph_set_device(g, "reference"));
    CHECK(!strcmp(glia_graph_device(g), "reference"));
    /* no host pointers there; the copies work */
    CHECK(!glia_node_value(g, w) && strstr(glia_last_error(), "glia_node_read"));
    CHECK(!glia_node_grad(g, w));
    OK(glia_node_read(g, w, out, 6));
    CHECK(!memcmp(out, v, sizeof v));
    OK(glia_node_write(g, x, (const float[]){1, 1, 1}, 3));
    OK(glia_graph_forward(g));
    OK(glia_node_read(g, y, out, 2));
    CHECK(out[0] == 2 && out[1] == 0); /* relu(1 - 2 + 3), relu(-4 + 5 - 6) */
    OK(glia_graph_backward(g, y, NULL, 0));
    OK(glia_node_read_grad(g, w, out, 6));
    CHECK(out[0] == 1 && out[2] == 1 && out[3] == 0 && out[5] == 0);
    /* errors name what is wrong */
    CHECK(glia_node_read(g, w, out, 5) == GLIA_ESHAPE && strstr(glia_last_error(), "'w'"));
    CHECK(glia_node_write(g, y, out, 2) == GLIA_EINVAL);
    CHECK(glia_node_read(g, h, out, 2) == GLIA_ESTATE && strstr(glia_last_error(), "glia_node_retain"));
    CHECK(glia_node_read_grad(g, x, out, 3) == GLIA_ESTATE);
    CHECK(glia_node_read(g, w, NULL, 6) == GLIA_EINVAL);
    /* the values come home with the graph */
    OK(glia_node_write(g, w, (const float[]){6, 5, 4, 3, 2, 1}, 6));
    OK(glia_graph_set_device(g, "cpu"));
    CHECK(glia_node_value(g, w)[0] == 6 && glia_node_value(g, w)[5] == 1);
    CHECK(glia_node_value(g, x)[0] == 1);
    /* numerics checking reads through the device */
    OK(glia_graph_set_device(g, "reference"));
    glia_graph_set_check_numerics(g, 1);
    OK(glia_node_write(g, x, (const float[]){1, NAN, 1}, 3));
    CHECK(glia_graph_forward(g) == GLIA_ERANGE && strstr(glia_last_error(), "'x'"));
    glia_graph_free(g);
}

/* A few optimiser steps (Adam, clipping) give the same parameters on both devices. */
TEST(device_optimizer_steps_agree) {
    float w[2][40];
    for (int dev = 0; dev < 2; dev++) {
        glia_graph *g;
        int x, w1, b1, w2, lab, h, a, z, loss;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 2, D(6, 4), &x));
        OK(glia_input(g, "labels", 1, D(6), &lab));
        OK(glia_param(g, "w1", 2, D(5, 4), &w1));
        OK(glia_param(g, "b1", 1, D(5), &b1));
        OK(glia_param(g, "w2", 2, D(3, 5), &w2));
        OK(glia_dense(g, "h", x, w1, b1, &h));
        OK(glia_tanh(g, "a", h, &a));
        OK(glia_dense(g, "z", a, w2, -1, &z));
        OK(glia_softmax_cross_entropy(g, "loss", z, lab, &loss));
        OK(glia_graph_set_device(g, glia_device_name(dev)));
        float v[40];
        fill_uniform(v, 20, -1, 1, 1);
        OK(glia_node_write(g, w1, v, 20));
        fill_uniform(v, 5, -1, 1, 2);
        OK(glia_node_write(g, b1, v, 5));
        fill_uniform(v, 15, -1, 1, 3);
        OK(glia_node_write(g, w2, v, 15));
        fill_uniform(v, 24, -1, 1, 4);
        OK(glia_node_write(g, x, v, 24));
        OK(glia_node_write(g, lab, (const float[]){0, 1, 2, 2, 1, 0}, 6));
        glia_optim_config cfg = {.kind = GLIA_ADAM, .lr = 0.05f, .weight_decay = 0.01f, .clip_norm = 0.5f};
        glia_optim *o;
        OK(glia_optim_new(g, &cfg, &o));
        for (int step = 0; step < 4; step++) {
            OK(glia_graph_forward(g));
            OK(glia_graph_backward(g, loss, NULL, 0));
            OK(glia_optim_step(o));
        }
        OK(glia_node_read(g, w1, w[dev], 20));
        OK(glia_node_read(g, w2, w[dev] + 20, 15));
        glia_optim_free(o);
        glia_graph_free(g);
    }
    double e = rel_diff(w[0], w[1], 35, 0);
    CHECK_MSG(e < 1e-5, "parameters after 4 Adam steps differ by %.3g", e);
}

/* A sequence model's state carried across chunks (glia_model_carry_state) on the reference
 * device gives the cpu's outputs. */
TEST(device_carry_state_agrees) {
    const char *cfg = "[net]\ninput = 1\nsequence = 5\nclasses = 7\n[onehot]\nname = chars\nvocab = 7\n"
                      "[lstm]\nname = lstm\nhidden = 6\n[seqdense]\nname = head\nunits = 7\n";
    float y[2][3 * 5 * 2 * 7];
    for (int dev = 0; dev < 2; dev++) {
        glia_model *m;
        OK(glia_model_parse(cfg, "carry.cfg", 2, 5, &m));
        glia_graph *g = glia_model_graph(m);
        OK(glia_graph_set_device(g, glia_device_name(dev)));
        OK(glia_model_carry_state(m, 1));
        for (int chunk = 0; chunk < 3; chunk++) {
            float ids[10];
            for (int i = 0; i < 10; i++) ids[i] = (float)((i * 3 + chunk * 5) % 7);
            OK(glia_node_write(g, glia_model_input(m), ids, 10));
            OK(glia_graph_forward(g));
            OK(glia_node_read(g, glia_model_output(m), y[dev] + chunk * 70, 70));
            OK(glia_model_carry_state(m, 0));
        }
        glia_model_free(m);
    }
    double e = rel_diff(y[0], y[1], 3 * 70, 0);
    CHECK_MSG(e < 1e-5, "outputs over three carried chunks differ by %.3g", e);
}
