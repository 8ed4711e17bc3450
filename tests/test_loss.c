/* test_loss.c: softmax cross-entropy, mean squared error and binary cross-entropy on logits
 * against finite differences, naive double-precision references (also with extreme logits and
 * an upstream gradient other than 1), PyTorch golden values (the gradient of the loss itself,
 * backward seeded with NULL), bit-identical results across thread counts, label range errors
 * and shape errors. Cross-entropy also with label smoothing (eps > 0, PyTorch's label_smoothing)
 * and ignored rows (label -1). */
#include "test.h"
#include <stdlib.h>
#include <string.h>

enum { CE, MSE, BCE };
static const char *const KIND[] = {"softmax_cross_entropy", "mse_loss", "bce_with_logits"};

/* eps: CE's label smoothing (0 for the others) */
static glia_status add_loss(glia_graph *g, int kind, float eps, const char *name, int a, int b,
                            int *out) {
    if (kind == CE)
        return eps > 0 ? glia_softmax_cross_entropy_smoothed(g, name, a, b, eps, out)
                       : glia_softmax_cross_entropy(g, name, a, b, out);
    if (kind == MSE) return glia_mse_loss(g, name, a, b, out);
    return glia_bce_with_logits(g, name, a, b, out);
}

/* a [N, C] (logits or predictions) and b: labels [N] for CE, else the same shape as a */
static glia_status loss_build(int kind, float eps, int64_t N, int64_t C, glia_graph **g, int *a,
                              int *b, int *y) {
    glia_status s;
    if ((s = glia_graph_new(g))) return s;
    if ((s = glia_input(*g, "a", 2, (int64_t[]){N, C}, a))) return s;
    if (kind == CE) s = glia_input(*g, "b", 1, &N, b);
    else s = glia_input(*g, "b", 2, (int64_t[]){N, C}, b);
    if (s) return s;
    return add_loss(*g, kind, eps, "loss", *a, *b, y);
}

/* logits in [-3, 3]; labels cycling through the classes; targets in [0, 1] */
static void loss_fill(int kind, glia_graph *g, int a, int b, int64_t N, int64_t C, uint64_t seed) {
    float *A = glia_node_value(g, a), *B = glia_node_value(g, b);
    fill_uniform(A, N * C, -3.0f, 3.0f, seed);
    if (kind == CE)
        for (int64_t i = 0; i < N; i++) B[i] = (float)((i * 7 + 3) % C);
    else if (kind == MSE)
        fill_uniform(B, N * C, -1.0f, 1.0f, seed + 1);
    else
        fill_uniform(B, N * C, 0.0f, 1.0f, seed + 1);
}

/* the scalar loss and its gradients in double, dL scaling both gradients. CE: the target
 * q = (1 - eps) onehot + eps / C, loss -sum_c q_c log p_c, gradient p - q; rows labelled -1 add
 * nothing and the mean is over the others */
static double naive_loss(int kind, double eps, int64_t N, int64_t C, const float *A,
                         const float *B, double dL, float *da, float *db) {
    double total = 0;
    if (kind == CE) {
        int64_t live = 0;
        for (int64_t i = 0; i < N; i++) live += B[i] >= 0;
        for (int64_t i = 0; i < N; i++) {
            const float *r = A + i * C;
            int lab = (int)B[i];
            int64_t top = 0;
            for (int64_t c = 1; c < C; c++) top = r[c] > r[top] ? c : top;
            double m = r[top], rest = 0, z;
            for (int64_t c = 0; c < C; c++)
                if (c != top) rest += exp(r[c] - m);
            z = 1 + rest;
            for (int64_t c = 0; c < C; c++) {
                double q = (c == lab) * (1 - eps) + eps / C; /* -log p_c = log z - (r_c - m) */
                if (lab >= 0) total += q * (log1p(rest) - (r[c] - m));
                da[i * C + c] = lab < 0 ? 0.0f : (float)((exp(r[c] - m) / z - q) * dL / live);
            }
        }
        return total / live;
    }
    const int64_t M = N * C;
    for (int64_t i = 0; i < M; i++) {
        double x = A[i], t = B[i];
        if (kind == MSE) {
            total += (x - t) * (x - t);
            da[i] = (float)(2 * (x - t) * dL / M);
            db[i] = (float)(-2 * (x - t) * dL / M);
        } else {
            /* the textbook form -t log sigmoid(x) - (1 - t) log(1 - sigmoid(x)), with the logs
             * written so they do not overflow: log sigmoid(x) = -log1p(e^-x) for x >= 0 */
            double ls = x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x));     /* log sigmoid(x) */
            double l1s = x >= 0 ? -x - log1p(exp(-x)) : -log1p(exp(x));   /* log(1 - sigmoid) */
            total += -t * ls - (1 - t) * l1s;
            da[i] = (float)((exp(ls) - t) * dL / M);
            db[i] = (float)((l1s - ls) * dL / M); /* = -x dL / M */
        }
    }
    return total / M;
}

#define CHECK_REL(what, got, want, n, tol)                                                     \
    do {                                                                                       \
        int64_t w_;                                                                            \
        double d_ = max_rel_diff(got, want, n, 1e-3, &w_);                                     \
        CHECK_MSG(d_ <= (tol), "%s: element %lld is %.9g, expected %.9g (relative %.3g > %.3g)", \
                  what, (long long)w_, (got)[w_], (want)[w_], d_, (double)(tol));              \
    } while (0)

/* each loss; then CE with label smoothing 0.2 and row 1 ignored (-1) */
TEST(loss_gradcheck) {
    static const struct { int kind; float eps; } cases[] = {{CE, 0}, {MSE, 0}, {BCE, 0}, {CE, 0.2f}};
    for (int k = 0; k < 4; k++) {
        const int kind = cases[k].kind;
        const float eps = cases[k].eps;
        glia_graph *g = NULL;
        int a, b, y;
        OK(loss_build(kind, eps, 4, 5, &g, &a, &b, &y));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        loss_fill(kind, g, a, b, 4, 5, 20 + (uint64_t)k);
        if (eps > 0) glia_node_value(g, b)[1] = -1.0f;
        double err = 0, err_b = 0;
        int64_t n = 0, n_b = 1;
        OK(test_gradcheck(g, y, a, 1e-3f, &err, &n));
        if (kind != CE) OK(test_gradcheck(g, y, b, 1e-3f, &err_b, &n_b));
        glia_graph_free(g);
        CHECK_MSG(n == 20 && err < 5e-3, "%s (smoothing %g): gradcheck of the first input %.3g "
                  "(%lld checked)", KIND[kind], (double)eps, err, (long long)n);
        CHECK_MSG(n_b > 0 && err_b < 5e-3, "%s: gradcheck of the target %.3g", KIND[kind], err_b);
    }
}

/* forward and backward against the naive reference with an upstream gradient of 0.7 (backward
 * seeded at the loss with 0.7: the op must scale by n->grad[0]); the first rows/elements hold
 * extreme values. eps > 0 (CE): label smoothing, and the last row ignored (-1). */
static void loss_vs_naive(int kind, float eps, int64_t N, int64_t C, double tol) {
    glia_graph *g = NULL;
    int a, b, y;
    const int64_t M = N * C, MB = kind == CE ? N : M;
    OK(loss_build(kind, eps, N, C, &g, &a, &b, &y));
    OK(glia_node_requires_grad(g, a, 1));
    OK(glia_node_requires_grad(g, b, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    loss_fill(kind, g, a, b, N, C, 40 + (uint64_t)kind);
    float *A = glia_node_value(g, a), *B = glia_node_value(g, b);
    if (eps > 0) B[N - 1] = -1.0f;
    const float extreme[] = {100.0f, -100.0f, 1e4f, -1e4f, 0.0f, 40.0f, -40.0f, 1e-6f};
    for (int i = 0; i < 8 && i < M; i++) A[i] = extreme[i];
    if (N > 1) /* a row of equal logits far from 0 (CE: far below, where e^x underflows) */
        for (int64_t c = 0; c < C; c++) A[C + c] = kind == CE ? -1000.0f : 50.0f;
    float *da = calloc((size_t)M, 4), *db = calloc((size_t)MB, 4);
    const float up = 0.7f;
    double want = naive_loss(kind, eps, N, C, A, B, up, da, db);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, &up, 0));
    float got = glia_node_value(g, y)[0];
    const float *ga = glia_node_grad(g, a), *gb = glia_node_grad(g, b);
    int finite = 1;
    for (int64_t i = 0; i < M; i++) finite &= isfinite(ga[i]);
    float wantf = (float)want, zero[1] = {0};
    CHECK_MSG(isfinite(got) && finite, "%s: a loss or gradient is not finite", KIND[kind]);
    CHECK_REL(KIND[kind], &got, &wantf, 1, tol);
    CHECK_REL("gradient of the first input", ga, da, M, tol);
    if (kind == CE) /* labels get no gradient: theirs stays 0 */
        for (int64_t i = 0; i < N; i++) CHECK_REL("gradient of labels", gb + i, zero, 1, 0);
    else
        CHECK_REL("gradient of the target", gb, db, M, tol);
    ref_checked(g, y);
    free(da);
    free(db);
    glia_graph_free(g);
}

TEST(loss_ce_matches_naive) {
    loss_vs_naive(CE, 0.0f, 6, 7, 1e-6);
    loss_vs_naive(CE, 0.1f, 6, 7, 1e-6); /* label smoothing */
    loss_vs_naive(CE, 0.6f, 6, 7, 1e-6);
}
TEST(loss_mse_matches_naive) { loss_vs_naive(MSE, 0.0f, 5, 6, 1e-6); }
TEST(loss_bce_matches_naive) { loss_vs_naive(BCE, 0.0f, 5, 6, 1e-6); }
/* more rows and elements than one parallel chunk (8192 for mse/bce; 16384 logits for CE) */
TEST(loss_ce_matches_naive_large) {
    loss_vs_naive(CE, 0.0f, 300, 100, 1e-5);
    loss_vs_naive(CE, 0.1f, 300, 100, 1e-5);
}
TEST(loss_mse_matches_naive_large) { loss_vs_naive(MSE, 0.0f, 300, 100, 1e-5); }
TEST(loss_bce_matches_naive_large) { loss_vs_naive(BCE, 0.0f, 300, 100, 1e-5); }

/* confident predictions: losses of 1e-13 (CE) and 1e-9 (BCE) keep their relative precision
 * (compared with no absolute floor) */
TEST(loss_confident_predictions_keep_precision) {
    for (int kind = CE; kind <= BCE; kind += 2) {
        enum { N = 4, C = 5 };
        glia_graph *g = NULL;
        int a, b, y;
        OK(loss_build(kind, 0.0f, N, C, &g, &a, &b, &y));
        OK(glia_node_requires_grad(g, a, 1));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        float *A = glia_node_value(g, a), *B = glia_node_value(g, b), da[N * C], db[N * C];
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C; c++) {
                if (kind == CE) { /* the labelled class 30 above the rest */
                    B[i] = (float)(i % C);
                    A[i * C + c] = c == i % C ? 30.0f : 0.0f;
                } else { /* |x| = 20 on the side of a hard target */
                    B[i * C + c] = (float)((i + c) % 2);
                    A[i * C + c] = B[i * C + c] > 0 ? 20.0f : -20.0f;
                }
            }
        float want = (float)naive_loss(kind, 0.0, N, C, A, B, 1.0, da, db);
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, y, NULL, 0));
        const float *got = glia_node_value(g, y);
        CHECK_MSG(want > 0 && want < 1e-8f, "%s: naive loss %g", KIND[kind], want);
        CHECK_MSG(max_rel_diff(got, &want, 1, 0.0, NULL) < 1e-5, "%s: loss %.9g, expected %.9g",
                  KIND[kind], got[0], want);
        CHECK_REL("gradient", glia_node_grad(g, a), da, N * C, 1e-5);
        glia_graph_free(g);
    }
}

/* each loss's backward adds into its inputs' gradients: total = loss(a, b) + mse(0.5 a, b'),
 * where b' = 0.3 b (mse, bce) or another input (CE); the mse path runs backward first */
TEST(loss_backward_accumulates) {
    for (int kind = CE; kind <= BCE; kind++) {
        glia_graph *g = NULL;
        int a, b, y, sa, sb, l2, tot, t2 = -1;
        OK(loss_build(kind, 0.0f, 3, 4, &g, &a, &b, &y));
        OK(glia_scale(g, "sa", a, 0.5f, &sa));
        if (kind == CE) OK(glia_input(g, "t2", 2, (int64_t[]){3, 4}, &t2));
        else OK(glia_scale(g, "sb", b, 0.3f, &sb));
        OK(glia_mse_loss(g, "l2", sa, kind == CE ? t2 : sb, &l2));
        OK(glia_add(g, "total", y, l2, &tot));
        OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
        loss_fill(kind, g, a, b, 3, 4, 95);
        if (t2 >= 0) fill_uniform(glia_node_value(g, t2), 12, -1, 1, 96);
        GRADCHECK(g, tot, a, 5e-3);
        if (kind != CE) GRADCHECK(g, tot, b, 5e-3);
        glia_graph_free(g);
    }
}

/* PyTorch's F.cross_entropy / mse_loss / binary_cross_entropy_with_logits and their gradients
 * (backward from the loss with seed NULL). Input shapes come from the file. */
static void loss_golden(const char *file, int kind, float eps, const char *an, const char *bn,
                        double tol) {
    golden *gd = golden_load(file);
    if (!gd) return;
    glia_shape sa, sb, s;
    const float *A = golden_get(gd, an, &sa), *B = golden_get(gd, bn, &sb);
    const float *Y = golden_get(gd, "y", NULL);
    char dan[64], dbn[64];
    snprintf(dan, sizeof dan, "d%s", an);
    snprintf(dbn, sizeof dbn, "d%s", bn);
    const float *DA = golden_get(gd, dan, &s), *DB = kind == CE ? NULL : golden_get(gd, dbn, NULL);
    glia_graph *g = NULL;
    int a, b, y, ok = A && B && Y && DA && (kind == CE || DB);
    ok = ok && !glia_graph_new(&g) && !glia_input(g, an, sa.ndim, sa.dim, &a) &&
         !glia_input(g, bn, sb.ndim, sb.dim, &b) && !add_loss(g, kind, eps, "loss", a, b, &y) &&
         !glia_node_requires_grad(g, a, 1) && (kind == CE || !glia_node_requires_grad(g, b, 1)) &&
         !glia_graph_compile(g, GLIA_COMPILE_BACKWARD) &&
         !glia_node_set(g, a, A, glia_shape_numel(&sa)) &&
         !glia_node_set(g, b, B, glia_shape_numel(&sb)) && !glia_graph_forward(g) &&
         !glia_graph_backward(g, y, NULL, 0);
    if (!ok) {
        test_fail(__FILE__, __LINE__, "%s: %s", file, glia_last_error());
    } else {
        int64_t w;
        double dy = max_rel_diff(glia_node_value(g, y), Y, 1, 1e-3, NULL);
        double da = max_rel_diff(glia_node_grad(g, a), DA, glia_shape_numel(&sa), 1e-3, &w);
        double db = kind == CE ? 0 : max_rel_diff(glia_node_grad(g, b), DB, glia_shape_numel(&sb), 1e-3, NULL);
        if (!(dy <= tol && da <= tol && db <= tol))
            test_fail(__FILE__, __LINE__, "%s: differs from PyTorch: loss %.9g vs %.9g (relative "
                      "%.3g), %s relative %.3g (element %lld: %.9g vs %.9g), %s relative %.3g",
                      file, glia_node_value(g, y)[0], Y[0], dy, dan, da, (long long)w,
                      glia_node_grad(g, a)[w], DA[w], dbn, db);
        else
            golden_checked(g, y);
    }
    glia_graph_free(g);
    golden_free(gd);
}

TEST(loss_ce_golden_pytorch) {
    loss_golden("loss_ce", CE, 0.0f, "logits", "labels", 1e-5);
    /* label_smoothing=0.1; 0.25 with rows labelled -1 (ignore_index=-1) */
    loss_golden("loss_ce_smooth", CE, 0.1f, "logits", "labels", 1e-5);
    loss_golden("loss_ce_smooth_ignore", CE, 0.25f, "logits", "labels", 1e-5);
}
TEST(loss_ce_golden_pytorch_long) { loss_golden("loss_ce_long", CE, 0.0f, "logits", "labels", 1e-5); }
/* ignore_index=-1: padded rows add nothing, the mean is over the others */
TEST(loss_ce_golden_pytorch_ignore) {
    loss_golden("loss_ce_ignore", CE, 0.0f, "logits", "labels", 1e-5);
}
TEST(loss_mse_golden_pytorch) { loss_golden("loss_mse", MSE, 0.0f, "pred", "target", 1e-5); }
TEST(loss_bce_golden_pytorch) { loss_golden("loss_bce", BCE, 0.0f, "logits", "target", 1e-5); }

/* large enough to run in parallel: 1 and 3 threads give the same bits */
static int loss_run_threads(int kind, int threads, float *out) {
    enum { N = 400, C = 100 };
    glia_set_num_threads(threads);
    glia_graph *g = NULL;
    int a, b, y, ok = 0;
    if (loss_build(kind, 0.0f, N, C, &g, &a, &b, &y) || glia_node_requires_grad(g, a, 1) ||
        glia_graph_compile(g, GLIA_COMPILE_BACKWARD))
        goto done;
    loss_fill(kind, g, a, b, N, C, 70);
    if (glia_graph_forward(g) || glia_graph_backward(g, y, NULL, 0)) goto done;
    out[0] = glia_node_value(g, y)[0];
    memcpy(out + 1, glia_node_grad(g, a), N * C * 4);
    ok = 1;
done:
    glia_graph_free(g);
    glia_set_num_threads(0);
    return ok;
}

TEST(loss_bit_identical_across_threads) {
    enum { M = 400 * 100 + 1 };
    float *a = malloc(M * 4), *b = malloc(M * 4);
    for (int kind = CE; kind <= BCE && a && b; kind++) {
        int ok = loss_run_threads(kind, 1, a) && loss_run_threads(kind, 3, b);
        if (!ok || memcmp(a, b, M * 4)) {
            test_fail(__FILE__, __LINE__, "%s: %s", KIND[kind],
                      ok ? "results differ between 1 and 3 threads" : glia_last_error());
            break;
        }
    }
    free(a);
    free(b);
}

/* a label that is not a class index: GLIA_ERANGE naming the node, the row and the value */
TEST(loss_ce_label_out_of_range) {
    glia_graph *g;
    int a, b, y;
    OK(loss_build(CE, 0.0f, 4, 5, &g, &a, &b, &y));
    OK(glia_node_requires_grad(g, a, 1));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    loss_fill(CE, g, a, b, 4, 5, 80);
    float *B = glia_node_value(g, b);
    const float bad[] = {5.0f, -2.0f, 2.5f, NAN, 1e9f};
    const char *shown[] = {"label 5 ", "label -2 ", "label 2.5 ", "label nan ", "label 1e+09 "};
    for (int i = 0; i < 5; i++) {
        loss_fill(CE, g, a, b, 4, 5, 80);
        B[2] = bad[i];
        CHECK(glia_graph_forward(g) == GLIA_ERANGE);
        const char *e = glia_last_error();
        CHECK_MSG(strstr(e, "'loss'") && strstr(e, "row 2") && strstr(e, shown[i]) &&
                  strstr(e, "[0, 5)"), "%s", e);
    }
    loss_fill(CE, g, a, b, 4, 5, 80);
    B[3] = 4.0f; /* the last class is fine */
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, NULL, 0));
    glia_graph_free(g);
}

/* label smoothing outside [0, 1): refused when the node is added, naming it and the attribute */
TEST(loss_ce_smoothing_range) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int p, lab, y;
    OK(glia_input(g, "p", 2, (int64_t[]){4, 3}, &p));
    OK(glia_input(g, "lab", 1, (int64_t[]){4}, &lab));
    const float bad[] = {-0.1f, 1.0f, 1.5f, NAN, INFINITY};
    for (int i = 0; i < 5; i++) {
        CHECK(glia_softmax_cross_entropy_smoothed(g, "ls", p, lab, bad[i], &y) != GLIA_OK);
        const char *e = glia_last_error();
        CHECK_MSG(strstr(e, "'ls'") && strstr(e, "smoothing"), "%s", e);
    }
    OK(glia_softmax_cross_entropy_smoothed(g, "ls", p, lab, 0.999f, &y));
    glia_graph_free(g);
}

TEST(loss_shape_errors) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int p, t, t2, lab, lab2, x3, y;
    OK(glia_input(g, "p", 2, (int64_t[]){4, 3}, &p));
    OK(glia_input(g, "t", 2, (int64_t[]){4, 2}, &t));
    OK(glia_input(g, "t2", 1, (int64_t[]){12}, &t2));
    OK(glia_input(g, "lab", 1, (int64_t[]){5}, &lab));
    OK(glia_input(g, "lab2", 2, (int64_t[]){4, 1}, &lab2));
    OK(glia_input(g, "x3", 3, (int64_t[]){4, 3, 2}, &x3));
    int n0 = glia_graph_num_nodes(g);
    for (int kind = MSE; kind <= BCE; kind++) {
        CHECK(add_loss(g, kind, 0.0f, "l1", p, t, &y) == GLIA_ESHAPE);
        const char *e = glia_last_error();
        CHECK_MSG(strstr(e, "'l1'") && strstr(e, "[4, 3]") && strstr(e, "[4, 2]"), "%s", e);
        /* the same number of elements is not enough */
        CHECK(add_loss(g, kind, 0.0f, "l2", p, t2, &y) == GLIA_ESHAPE);
        CHECK(strstr(glia_last_error(), "[12]"));
    }
    CHECK(glia_softmax_cross_entropy(g, "ce1", p, lab, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "ce1") && strstr(glia_last_error(), "[5]") &&
          strstr(glia_last_error(), "[4, 3]"));
    CHECK(glia_softmax_cross_entropy(g, "ce2", p, lab2, &y) == GLIA_ESHAPE);
    CHECK(glia_softmax_cross_entropy(g, "ce3", x3, t2, &y) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "ce3") && strstr(glia_last_error(), "[4, 3, 2]"));
    CHECK(glia_graph_num_nodes(g) == n0);
    /* a scalar [1] output */
    OK(glia_mse_loss(g, "mse", p, p, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 1 && s.dim[0] == 1);
    glia_graph_free(g);
}

/* one input feeding both sides (mse(p, p) = 0) and the loss after another op: gradients are
 * added, and a frozen-side input (no gradient pointer) is skipped */
TEST(loss_gradients_only_where_wanted) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int p, t, y;
    OK(glia_input(g, "p", 2, (int64_t[]){3, 4}, &p));
    OK(glia_input(g, "t", 2, (int64_t[]){3, 4}, &t));
    OK(glia_bce_with_logits(g, "bce", p, t, &y));
    OK(glia_node_requires_grad(g, p, 1)); /* t gets no gradient buffer */
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, p), 12, -2, 2, 90);
    fill_uniform(glia_node_value(g, t), 12, 0, 1, 91);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, NULL, 0));
    CHECK(glia_node_grad(g, t) == NULL);
    GRADCHECK(g, y, p, 2e-3);
    glia_graph_free(g);

    OK(glia_graph_new(&g));
    OK(glia_input(g, "p", 2, (int64_t[]){3, 4}, &p));
    OK(glia_mse_loss(g, "mse", p, p, &y));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_uniform(glia_node_value(g, p), 12, -2, 2, 92);
    GRADCHECK(g, y, p, 1e-6); /* both contributions cancel: 0 exactly */
    OK(glia_graph_forward(g));
    CHECK(glia_node_value(g, y)[0] == 0.0f);
    for (int i = 0; i < 12; i++) CHECK(glia_node_grad(g, p)[i] == 0.0f);
    glia_graph_free(g);
}
