/* test_fusion.c: a ReLU done by the conv or batch norm that feeds it (compile.c, OPF_FUSE_RELU)
 * gives the same bits as the two ops run one after the other, and is only done where nothing
 * else can see the producer's own output. */
#include "test.h"
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int x, w, b, conv, relu, pool;
} net;

/* x (needs grad) -> conv2d -> relu (relu6 when six) -> maxpool 2x2 (the output); retain_conv
 * turns fusion off. O output channels: 5, or 8 with groups 4 (depthwise, multiplier 2). */
#define CONV_O(p) ((p)->groups == 4 ? 8 : 5)
static glia_status build(glia_graph **g, const glia_conv2d_params *p, int bias, int retain_conv,
                         int six, net *n) {
    glia_status s;
    const int64_t O = CONV_O(p), G = p->groups ? p->groups : 1;
    if ((s = glia_graph_new(g))) return s;
    if ((s = glia_input(*g, "x", 4, (int64_t[]){3, 4, 9, 8}, &n->x))) return s;
    if ((s = glia_node_requires_grad(*g, n->x, 1))) return s;
    if ((s = glia_param(*g, "w", 4, (int64_t[]){O, 4 / G, 3, 3}, &n->w))) return s;
    n->b = -1;
    if (bias && (s = glia_param(*g, "b", 1, (int64_t[]){O}, &n->b))) return s;
    if ((s = glia_conv2d(*g, "conv", n->x, n->w, n->b, p, &n->conv))) return s;
    if ((s = (six ? glia_relu6 : glia_relu)(*g, "relu", n->conv, &n->relu))) return s;
    glia_pool2d_params pp = {.kernel_h = 2, .kernel_w = 2};
    if ((s = glia_maxpool2d(*g, "pool", n->relu, &pp, &n->pool))) return s;
    if (retain_conv && (s = glia_node_retain(*g, n->conv))) return s;
    return glia_graph_compile(*g, GLIA_COMPILE_BACKWARD);
}

static int same(const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!(a[i] == b[i])) return 0; /* (+0 == -0: the unfused ReLU adds its mask to a zero) */
    return 1;
}

/* six: a ReLU6, with weights large enough that some outputs pass 6 */
static void fused_matches_unfused(const glia_conv2d_params *p, int bias, int six) {
    glia_graph *g[2] = {NULL, NULL};
    net n[2];
    for (int k = 0; k < 2 && !test_failed_flag; k++) OK(build(&g[k], p, bias, k, six, &n[k]));
    if (test_failed_flag) goto done;
    CHECK_MSG(g[0]->nodes[n[0].conv].fuse_relu && g[0]->nodes[n[0].relu].fused &&
                  g[0]->nodes[n[0].conv].fuse_relu6 == (six != 0),
              "conv + relu%s not fused", six ? "6" : "");
    CHECK_MSG(!g[1]->nodes[n[1].conv].fuse_relu && !g[1]->nodes[n[1].relu].fused,
              "fused although the conv is retained");
    glia_memory_stats m[2];
    for (int k = 0; k < 2; k++) OK(glia_graph_memory(g[k], &m[k]));
    CHECK_MSG(m[0].arena < m[1].arena, "fused arena %zu, unfused %zu", m[0].arena, m[1].arena);

    const int64_t O = CONV_O(p), nx = 3 * 4 * 9 * 8, nw = O * (4 / (p->groups ? p->groups : 1)) * 3 * 3;
    const float ws = six ? 4.0f : 0.5f;
    glia_shape ps;
    OK(glia_node_shape(g[0], n[0].pool, &ps));
    int64_t np = glia_shape_numel(&ps);
    float *seed = malloc((size_t)np * sizeof *seed);
    fill_uniform(seed, np, -1, 1, 7);
    for (int k = 0; k < 2; k++) {
        fill_uniform(glia_node_value(g[k], n[k].x), nx, -1, 1, 1);
        fill_uniform(glia_node_value(g[k], n[k].w), nw, -ws, ws, 2);
        if (bias) fill_uniform(glia_node_value(g[k], n[k].b), O, -0.3f, 0.3f, 3);
        for (int step = 0; step < 2; step++) { /* twice: nothing stale between steps */
            glia_status s = glia_graph_forward(g[k]);
            if (!s) s = glia_graph_backward(g[k], n[k].pool, seed, 0);
            if (s) {
                free(seed);
                OK(s);
            }
        }
    }
    free(seed);
    CHECK_MSG(same(glia_node_value(g[0], n[0].pool), glia_node_value(g[1], n[1].pool), np),
              "forward differs");
    CHECK_MSG(same(glia_node_grad(g[0], n[0].x), glia_node_grad(g[1], n[1].x), nx), "dx differs");
    CHECK_MSG(same(glia_node_grad(g[0], n[0].w), glia_node_grad(g[1], n[1].w), nw), "dw differs");
    if (bias)
        CHECK_MSG(same(glia_node_grad(g[0], n[0].b), glia_node_grad(g[1], n[1].b), O),
                  "db differs");
    if (six) { /* the test must see both sides of the cap (the unfused conv is retained) */
        const float *y = glia_node_value(g[1], n[1].conv);
        int64_t ny = glia__numel(&g[1]->nodes[n[1].conv]), capped = 0, inside = 0;
        for (int64_t i = 0; i < ny; i++) capped += y[i] > 6.0f, inside += y[i] > 0 && y[i] < 6.0f;
        CHECK_MSG(capped > 0 && inside > 0, "relu6: %lld capped, %lld inside (0, 6)",
                  (long long)capped, (long long)inside);
    }
done:
    glia_graph_free(g[0]);
    glia_graph_free(g[1]);
}

TEST(fused_conv_relu_direct_path) {
    glia_conv2d_params p = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    fused_matches_unfused(&p, 1, 0);
    fused_matches_unfused(&p, 1, 1);
}

TEST(fused_conv_relu_im2col_path) {
    glia_conv2d_params p = {.stride_h = 1, .stride_w = 2, .pad_top = 2, .pad_bottom = 1,
                            .pad_left = 1, .pad_right = 2, .dilation_h = 2};
    fused_matches_unfused(&p, 0, 0);
    fused_matches_unfused(&p, 0, 1);
}

/* the depthwise forward (conv_depthwise.c), stride 2 */
TEST(fused_conv_relu_depthwise_path) {
    glia_conv2d_params p = {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 1,
                            .pad_left = 1, .pad_right = 1, .groups = 4};
    fused_matches_unfused(&p, 1, 0);
    fused_matches_unfused(&p, 1, 1);
}

/* Not fused: the ReLU is an output (its gradient is seeded and readable), or retained, or the
 * conv has a second consumer. */
TEST(relu_not_fused_where_visible) {
    for (int k = 0; k < 3 && !test_failed_flag; k++) {
        glia_graph *g = NULL;
        int x, w, y, r, other;
        OK(glia_graph_new(&g));
        glia_status s = glia_input(g, "x", 4, (int64_t[]){2, 1, 5, 5}, &x);
        if (!s) s = glia_param(g, "w", 4, (int64_t[]){2, 1, 3, 3}, &w);
        if (!s) s = glia_conv2d(g, "conv", x, w, -1, NULL, &y);
        if (!s) s = glia_relu(g, "relu", y, &r);
        if (!s && k == 1) s = glia_sigmoid(g, "after", r, &other);
        if (!s && k == 1) s = glia_node_retain(g, r);
        if (!s && k == 2) s = glia_sigmoid(g, "second", y, &other);
        if (!s) s = glia_graph_compile(g, GLIA_COMPILE_BACKWARD);
        int fused = !s && (g->nodes[y].fuse_relu || g->nodes[r].fused);
        glia_graph_free(g);
        OK(s);
        CHECK_MSG(!fused, "case %d fused", k);
    }
}

/* x (needs grad) -> batchnorm -> relu (relu6 when six) -> maxpool 2x2; retain_bn turns fusion off */
static glia_status build_bn(glia_graph **g, int retain_bn, int six, int *x, int *gm, int *bt,
                            int *bn, int *relu, int *pool) {
    glia_status s;
    int rm, rv;
    if ((s = glia_graph_new(g))) return s;
    if ((s = glia_input(*g, "x", 4, (int64_t[]){3, 4, 6, 6}, x))) return s;
    if ((s = glia_node_requires_grad(*g, *x, 1))) return s;
    if ((s = glia_param(*g, "gamma", 1, (int64_t[]){4}, gm))) return s;
    if ((s = glia_param(*g, "beta", 1, (int64_t[]){4}, bt))) return s;
    if ((s = glia_buffer(*g, "rm", 1, (int64_t[]){4}, &rm))) return s;
    if ((s = glia_buffer(*g, "rv", 1, (int64_t[]){4}, &rv))) return s;
    if ((s = glia_batchnorm(*g, "bn", *x, *gm, *bt, rm, rv, 1e-5f, 0.1f, bn))) return s;
    if ((s = (six ? glia_relu6 : glia_relu)(*g, "relu", *bn, relu))) return s;
    glia_pool2d_params pp = {.kernel_h = 2, .kernel_w = 2};
    if ((s = glia_maxpool2d(*g, "pool", *relu, &pp, pool))) return s;
    if (retain_bn && (s = glia_node_retain(*g, *bn))) return s;
    float *v = glia_node_value(*g, rv);
    for (int c = 0; c < 4; c++) v[c] = 1.0f;
    return glia_graph_compile(*g, GLIA_COMPILE_BACKWARD);
}

/* training (twice: running statistics move) and then inference mode; six: a ReLU6, with
 * gammas large enough that some outputs pass 6 */
static void fused_bn_matches_unfused(int six) {
    glia_graph *g[2] = {NULL, NULL};
    int x[2], gm[2], bt[2], bn[2], relu[2], pool[2];
    for (int k = 0; k < 2 && !test_failed_flag; k++)
        OK(build_bn(&g[k], k, six, &x[k], &gm[k], &bt[k], &bn[k], &relu[k], &pool[k]));
    if (test_failed_flag) goto done;
    CHECK_MSG(g[0]->nodes[bn[0]].fuse_relu && g[0]->nodes[relu[0]].fused &&
                  g[0]->nodes[bn[0]].fuse_relu6 == (six != 0),
              "batchnorm + relu%s not fused", six ? "6" : "");
    CHECK_MSG(!g[1]->nodes[bn[1]].fuse_relu && !g[1]->nodes[relu[1]].fused,
              "fused although the batchnorm is retained");
    const int64_t nx = 3 * 4 * 6 * 6, np = 3 * 4 * 3 * 3;
    float seed[3 * 4 * 3 * 3];
    fill_uniform(seed, np, -1, 1, 9);
    for (int k = 0; k < 2; k++) {
        fill_uniform(glia_node_value(g[k], x[k]), nx, -1, 1, 4);
        fill_uniform(glia_node_value(g[k], gm[k]), 4, six ? 3.0f : 0.5f, six ? 6.0f : 1.5f, 5);
        fill_uniform(glia_node_value(g[k], bt[k]), 4, -0.5f, 0.5f, 6);
    }
    for (int mode = 0; mode < 3 && !test_failed_flag; mode++) {
        for (int k = 0; k < 2; k++) {
            glia_graph_set_training(g[k], mode < 2);
            OK(glia_graph_forward(g[k]));
            OK(glia_graph_backward(g[k], pool[k], seed, 0));
        }
        CHECK_MSG(same(glia_node_value(g[0], pool[0]), glia_node_value(g[1], pool[1]), np),
                  "mode %d: forward differs", mode);
        CHECK_MSG(same(glia_node_grad(g[0], x[0]), glia_node_grad(g[1], x[1]), nx),
                  "mode %d: dx differs", mode);
        CHECK_MSG(same(glia_node_grad(g[0], gm[0]), glia_node_grad(g[1], gm[1]), 4) &&
                      same(glia_node_grad(g[0], bt[0]), glia_node_grad(g[1], bt[1]), 4),
                  "mode %d: dgamma or dbeta differs", mode);
    }
done:
    glia_graph_free(g[0]);
    glia_graph_free(g[1]);
}

TEST(fused_batchnorm_relu) { fused_bn_matches_unfused(0); }
TEST(fused_batchnorm_relu6) { fused_bn_matches_unfused(1); }


/* Batch norm folded into the conv before it (compile.c, fold_batchnorm): compiled for
 * inference, conv -> batchnorm -> activation -> maxpool gives the unfolded graph's output
 * (compiled for training, where nothing is folded) within 1e-5 of the output's largest value;
 * in training mode the folded graph runs both ops (the same bits, the same running
 * statistics), and back in inference mode it folds the moved statistics. */
typedef struct {
    const char *what;
    glia_conv2d_params p;
    int O, kh, bias, act; /* act: 0 none, 1 relu, 2 relu6 */
} bn_fold_case;

static glia_status build_fold(glia_graph **g, const bn_fold_case *c, unsigned flags, int *io) {
    glia_status s;
    int x, w, b = -1, cv, gm, bt, rm, rv, bn, a, pool, G = c->p.groups ? c->p.groups : 1;
    glia_pool2d_params pp = {.kernel_h = 2, .kernel_w = 2};
    if ((s = glia_graph_new(g)) || (s = glia_input(*g, "x", 4, (int64_t[]){3, 4, 9, 8}, &x)) ||
        (s = glia_param(*g, "w", 4, (int64_t[]){c->O, 4 / G, c->kh, c->kh}, &w)) ||
        (c->bias && (s = glia_param(*g, "b", 1, (int64_t[]){c->O}, &b))) ||
        (s = glia_conv2d(*g, "conv", x, w, b, &c->p, &cv)) ||
        (s = glia_param(*g, "gamma", 1, (int64_t[]){c->O}, &gm)) ||
        (s = glia_param(*g, "beta", 1, (int64_t[]){c->O}, &bt)) ||
        (s = glia_buffer(*g, "rm", 1, (int64_t[]){c->O}, &rm)) ||
        (s = glia_buffer(*g, "rv", 1, (int64_t[]){c->O}, &rv)) ||
        (s = glia_batchnorm(*g, "bn", cv, gm, bt, rm, rv, 1e-3f, 0.1f, &bn)))
        return s;
    a = bn;
    if (c->act && (s = (c->act == 2 ? glia_relu6 : glia_relu)(*g, "act", bn, &a))) return s;
    if ((s = glia_maxpool2d(*g, "pool", a, &pp, &pool)) || (s = glia_graph_compile(*g, flags)))
        return s;
    int64_t nw = (int64_t)c->O * (4 / G) * c->kh * c->kh;
    fill_uniform(glia_node_value(*g, x), 3 * 4 * 9 * 8, -1, 1, 31);
    fill_uniform(glia_node_value(*g, w), nw, -1, 1, 32);
    if (c->bias) fill_uniform(glia_node_value(*g, b), c->O, -1, 1, 33);
    fill_uniform(glia_node_value(*g, gm), c->O, 0.5f, 4, 34);
    fill_uniform(glia_node_value(*g, bt), c->O, -1, 1, 35);
    fill_uniform(glia_node_value(*g, rm), c->O, -1, 1, 36);
    fill_uniform(glia_node_value(*g, rv), c->O, 0.2f, 2, 37);
    io[0] = cv, io[1] = bn, io[2] = pool, io[3] = rm, io[4] = rv;
    return GLIA_OK;
}

static void bn_fold_matches(const bn_fold_case *c) {
    glia_graph *g[2] = {NULL, NULL};
    int io[2][5];
    OK(build_fold(&g[0], c, 0, io[0]));
    OK(build_fold(&g[1], c, GLIA_COMPILE_BACKWARD, io[1]));
    CHECK_MSG(g[0]->nodes[io[0][0]].fold_bn == io[0][1] && g[0]->nodes[io[0][1]].bn_in_conv,
              "%s: not folded", c->what);
    CHECK_MSG(g[1]->nodes[io[1][0]].fold_bn < 0, "%s: folded in a graph compiled for training",
              c->what);
    glia_shape ps;
    OK(glia_node_shape(g[0], io[0][2], &ps));
    int64_t np = glia_shape_numel(&ps);
    for (int mode = 0; mode < 3 && !test_failed_flag; mode++) { /* eval, train, eval */
        for (int k = 0; k < 2; k++) {
            glia_graph_set_training(g[k], mode == 1);
            OK(glia_graph_forward(g[k]));
        }
        const float *y0 = glia_node_value(g[0], io[0][2]), *y1 = glia_node_value(g[1], io[1][2]);
        double top = 0, diff = 0;
        for (int64_t i = 0; i < np; i++) {
            top = fmax(top, fabs(y1[i]));
            diff = fmax(diff, fabs((double)y0[i] - y1[i]));
        }
        if (mode == 1)
            CHECK_MSG(same(y0, y1, np) &&
                          same(glia_node_value(g[0], io[0][3]), glia_node_value(g[1], io[1][3]), c->O) &&
                          same(glia_node_value(g[0], io[0][4]), glia_node_value(g[1], io[1][4]), c->O),
                      "%s: training mode differs", c->what);
        else
            CHECK_MSG(top > 0 && diff <= 1e-5 * top, "%s, mode %d: folded differs by %.3g (largest %.3g)",
                      c->what, mode, diff, top);
        if (getenv("GLIA_TEST_VERBOSE")) printf("     %-50s mode %d: %.3g of %.3g\n", c->what, mode, diff, top);
    }
    glia_graph_free(g[0]);
    glia_graph_free(g[1]);
}

TEST(batchnorm_folded_into_conv) {
    static const bn_fold_case cases[] = {
        {"direct 3x3, no bias, relu6", {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1}, 5, 3, 0, 2},
        {"depthwise stride 2, bias, relu", {.stride_h = 2, .stride_w = 2, .pad_top = 1, .pad_bottom = 1,
                                            .pad_left = 1, .pad_right = 1, .groups = 4}, 8, 3, 1, 1},
        {"1x1 (no im2col), bias, no activation", {0}, 6, 1, 1, 0},
        {"im2col, stride 2, groups 2, relu6", {.stride_h = 2, .stride_w = 2, .groups = 2}, 6, 3, 0, 2},
    };
    for (int k = 0; k < 4 && !test_failed_flag; k++) bn_fold_matches(&cases[k]);
}

/* not folded: the conv has a second consumer, or is retained */
TEST(batchnorm_not_folded_where_visible) {
    for (int k = 0; k < 2 && !test_failed_flag; k++) {
        glia_graph *g = NULL;
        int x, w, cv, gm, bt, rm, rv, bn, other;
        OK(glia_graph_new(&g));
        glia_status s = glia_input(g, "x", 4, (int64_t[]){2, 2, 5, 5}, &x);
        if (!s) s = glia_param(g, "w", 4, (int64_t[]){3, 2, 3, 3}, &w);
        if (!s) s = glia_conv2d(g, "conv", x, w, -1, NULL, &cv);
        if (!s) s = glia_param(g, "gamma", 1, (int64_t[]){3}, &gm);
        if (!s) s = glia_param(g, "beta", 1, (int64_t[]){3}, &bt);
        if (!s) s = glia_buffer(g, "rm", 1, (int64_t[]){3}, &rm);
        if (!s) s = glia_buffer(g, "rv", 1, (int64_t[]){3}, &rv);
        if (!s) s = glia_batchnorm(g, "bn", cv, gm, bt, rm, rv, 1e-5f, 0.1f, &bn);
        if (!s && k == 0) s = glia_sigmoid(g, "second", cv, &other);
        if (!s && k == 1) s = glia_node_retain(g, cv);
        if (!s) s = glia_graph_compile(g, 0);
        int folded = !s && (g->nodes[cv].fold_bn >= 0 || g->nodes[bn].bn_in_conv);
        glia_graph_free(g);
        OK(s);
        CHECK_MSG(!folded, "case %d folded", k);
    }
}
