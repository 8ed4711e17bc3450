/* test_fusion.c: a ReLU done by the conv or batch norm that feeds it (compile.c, OPF_FUSE_RELU)
 * gives the same bits as the two ops run one after the other, and is only done where nothing
 * else can see the producer's own output. */
#include "test.h"
#include "core/internal.h"
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

