/* loss.c: scalar losses (output shape [1]), averaged like PyTorch's reduction='mean'.
 *
 * softmax_cross_entropy(logits [N,C], labels [N]) (PyTorch's F.cross_entropy): labels hold
 *   class indices as floats. Fused and stable: with m = max_c x_c,
 *     log p_c = (x_c - m) - log sum_c' e^(x_c' - m)   (e^(x - m) <= 1 never overflows)
 *     L = -1/N sum_n log p_{n, label_n}
 *     dlogits += (p - onehot(label)) dL / N;  labels get no gradient.
 *   A label of -1 marks a row to ignore (PyTorch's ignore_index=-1: padding in a batch of
 *   sequences): it adds nothing to the loss or the gradient, and the mean is over the other
 *   rows, N' of them (L = 0 and no gradient when N' = 0, where PyTorch gives NaN).
 *   Label smoothing (attribute smoothing = eps in [0, 1), PyTorch's label_smoothing): the target
 *   is q = (1 - eps) onehot(label) + eps / C, so per row (x_c - m: the shifted logits)
 *     loss = (1 - eps)(-log p_label) + eps mean_c(-log p_c)
 *          = log sum - (1 - eps)(x_label - m) - eps mean_c (x_c - m)
 *     dlogits += (p - q) dL / N'      (eps = 0: the lines above, bit for bit)
 *   Ignored rows stay ignored (PyTorch averages both terms over the same N' rows).
 *   Any other label that is not an integer in [0, C) (or NaN) makes forward fail with GLIA_ERANGE,
 *   naming the node, the batch row and the value. The log of the sum is taken as log1p of the
 *   sum less 1 (the maxima, each adding exactly 1, counted apart), so a confident row's tiny
 *   loss (1e-13) keeps its relative precision. Saved state (n->saved): the probabilities
 *   p [N, C] (float), then the labels as int32 [N] and N'; backward reads no input.
 * mse_loss(pred, target) (F.mse_loss): same shapes, L = mean (pred - target)^2,
 *   dpred += 2 (pred - target) dL / numel,  dtarget -= the same.
 * bce_with_logits(x, t) (F.binary_cross_entropy_with_logits): same shapes,
 *   L = mean of max(x, 0) - x t + log(1 + e^-|x|)   (stable for any x)
 *   dx += (sigmoid(x) - t) dL / numel,  dt += -x dL / numel.
 * dL is the upstream gradient n->grad[0] (1 for a loss that backward starts from).
 * Gradients go only to inputs whose gradient pointer is set.
 *
 * Threads: per-row (cross-entropy) or per-chunk (LOSS_CHUNK elements, mse and bce) partial sums
 * in double go to the workspace and are added in index order by one thread, so the loss is
 * bit-identical for any number of threads. */
#include "../core/internal.h"
#include <math.h>

enum { LOSS_CHUNK = 8192 };

static void scalar_shape(glia_node *n) {
    n->shape.ndim = 1;
    n->shape.dim[0] = 1;
}

/* ------------------------------------------------------------- softmax cross-entropy */

static glia_status ce_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0), *lab = glia__in(g, n, 1);
    char a[96], b[96];
    if (x->shape.ndim != 2)
        return glia__err(GLIA_ESHAPE, "%s: logits '%s' have shape %s; softmax cross-entropy needs "
                         "[N, C]", glia__where(g, n), x->name, glia_shape_str(&x->shape, a, sizeof a));
    if (lab->shape.ndim != 1 || lab->shape.dim[0] != x->shape.dim[0])
        return glia__err(GLIA_ESHAPE, "%s: labels '%s' have shape %s but logits '%s' of shape %s "
                         "need [%lld] (one class index per row)", glia__where(g, n), lab->name,
                         glia_shape_str(&lab->shape, a, sizeof a), x->name,
                         glia_shape_str(&x->shape, b, sizeof b), (long long)x->shape.dim[0]);
    if (x->shape.dim[1] > INT32_MAX)
        return glia__err(GLIA_ESHAPE, "%s: %lld classes are too many", glia__where(g, n),
                         (long long)x->shape.dim[1]);
    scalar_shape(n);
    size_t N = (size_t)x->shape.dim[0], C = (size_t)x->shape.dim[1];
    n->ws_bytes = N * sizeof(double);
    n->saved_bytes = N * C * sizeof(float) + (N + 1) * sizeof(int32_t);
    return GLIA_OK;
}

static glia_status ce_forward(glia_graph *g, glia_node *n) {
    glia_node *xn = glia__in(g, n, 0), *ln = glia__in(g, n, 1);
    const float *x = xn->val, *labf = ln->val;
    const int64_t N = xn->shape.dim[0], C = xn->shape.dim[1];
    float *p = n->saved;
    int32_t *lab = (int32_t *)(p + N * C);
    double *row_loss = g->workspace;
    const double eps = n->fa[CE_SMOOTHING];
    int32_t counted = 0;
    for (int64_t i = 0; i < N; i++) {
        float v = labf[i];
        if (v == -1.0f) { /* ignored row */
            lab[i] = -1;
            continue;
        }
        counted++;
        if (!(v >= 0.0f && (double)v < (double)C && v == floorf(v)))
            return glia__err(GLIA_ERANGE, "%s: label %g in batch row %lld (of labels '%s') is not "
                             "a class index: labels must be integers in [0, %lld) (or -1: ignored)",
                             glia__where(g, n), (double)v, (long long)i, ln->name, (long long)C);
        lab[i] = (int32_t)v;
    }
    lab[N] = counted;
#pragma omp parallel for schedule(static) if (N > 1 && N * C >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        const float *xr = x + i * C;
        float *pr = p + i * C;
        float m = xr[0];
        for (int64_t c = 1; c < C; c++) m = xr[c] > m ? xr[c] : m;
        /* sum = 1 + rest: each maximum adds exactly 1, the other terms are summed apart, so
         * log sum = log1p(rest) keeps its digits when the row is confident (rest ~ 1e-13) */
        double rest = 0, ties = -1;
        for (int64_t c = 0; c < C; c++) {
            float e = expf(xr[c] - m);
            pr[c] = e;
            if (xr[c] == m) ties += 1;
            else rest += e; /* a NaN lands here */
        }
        rest += ties;
        const float inv = (float)(1.0 / (1.0 + rest));
        for (int64_t c = 0; c < C; c++) pr[c] *= inv;
        if (lab[i] < 0) {
            row_loss[i] = 0.0;
        } else if (eps > 0) { /* smoothed: the mean of the shifted logits in double */
            double mean = 0;
            for (int64_t c = 0; c < C; c++) mean += (double)xr[c] - m;
            row_loss[i] = log1p(rest) - (1.0 - eps) * ((double)xr[lab[i]] - m) - eps * mean / (double)C;
        } else {
            row_loss[i] = log1p(rest) - ((double)xr[lab[i]] - m);
        }
    }
    double total = 0;
    for (int64_t i = 0; i < N; i++) total += row_loss[i];
    n->val[0] = counted ? (float)(total / (double)counted) : 0.0f;
    return GLIA_OK;
}

static void ce_backward(glia_graph *g, glia_node *n) {
    glia_node *xn = glia__in(g, n, 0);
    float *dx = xn->grad;
    if (!dx) return; /* labels never get a gradient */
    const int64_t N = xn->shape.dim[0], C = xn->shape.dim[1];
    const float *p = n->saved;
    const int32_t *lab = (const int32_t *)(p + N * C);
    if (!lab[N]) return; /* every row ignored */
    const float s = (float)((double)n->grad[0] / (double)lab[N]);
    /* q_c = off, q_label = hit (eps = 0: 0 and 1 exactly) */
    const float eps = n->fa[CE_SMOOTHING], off = (float)((double)eps / (double)C),
                hit = (float)(1.0 - (double)eps + (double)eps / (double)C);
#pragma omp parallel for schedule(static) if (N > 1 && N * C >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        if (lab[i] < 0) continue;
        const float *pr = p + i * C;
        float *dr = dx + i * C;
        for (int64_t c = 0; c < C; c++) dr[c] += (pr[c] - (c == lab[i] ? hit : off)) * s;
    }
}

/* ------------------------------------------------------------- elementwise losses */

static glia_status pair_infer(glia_graph *g, glia_node *n) {
    glia_node *a = glia__in(g, n, 0), *b = glia__in(g, n, 1);
    if (!glia__shape_eq(&a->shape, &b->shape)) {
        char sa[96], sb[96];
        return glia__err(GLIA_ESHAPE, "%s: '%s' has shape %s but '%s' has shape %s; the two "
                         "inputs of the loss must have the same shape", glia__where(g, n), a->name,
                         glia_shape_str(&a->shape, sa, sizeof sa), b->name,
                         glia_shape_str(&b->shape, sb, sizeof sb));
    }
    scalar_shape(n);
    int64_t m = glia__numel(a);
    n->ws_bytes = (size_t)((m + LOSS_CHUNK - 1) / LOSS_CHUNK) * sizeof(double);
    n->saved_bytes = 0;
    return GLIA_OK;
}

static inline double bce_elem(float x, float t) {
    return (double)(x > 0.0f ? x : 0.0f) - (double)x * t + log1pf(expf(-fabsf(x)));
}

enum { MSE, BCE };

/* the mean over all elements of (a - b)^2 or bce(a, b): partial sums of fixed chunks */
static void pair_mean(glia_graph *g, glia_node *n, int kind) {
    const float *A = glia__in(g, n, 0)->val, *B = glia__in(g, n, 1)->val;
    const int64_t m = glia__numel(glia__in(g, n, 0));
    const int64_t nch = (m + LOSS_CHUNK - 1) / LOSS_CHUNK;
    double *part = g->workspace;
#pragma omp parallel for schedule(static) if (nch > 1)
    for (int64_t ch = 0; ch < nch; ch++) {
        const int64_t i0 = ch * LOSS_CHUNK, i1 = i0 + LOSS_CHUNK < m ? i0 + LOSS_CHUNK : m;
        double acc = 0;
        if (kind == MSE)
            for (int64_t i = i0; i < i1; i++) {
                double d = (double)A[i] - B[i];
                acc += d * d;
            }
        else
            for (int64_t i = i0; i < i1; i++) acc += bce_elem(A[i], B[i]);
        part[ch] = acc;
    }
    double total = 0;
    for (int64_t ch = 0; ch < nch; ch++) total += part[ch];
    n->val[0] = (float)(total / (double)m);
}

static glia_status mse_forward(glia_graph *g, glia_node *n) {
    pair_mean(g, n, MSE);
    return GLIA_OK;
}

/* sigmoid without overflow for any x; in double: sigmoid(x) - t cancels */
static inline double sigmoid(double x) {
    double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* da += d(loss)/da, db += d(loss)/db at every element, times dL / m: mse 2 (a - b) and 2 (b - a),
 * bce sigmoid(a) - b and -a. Inlined into each op with kind a constant: one loop each. */
static inline __attribute__((always_inline)) void pair_backward(glia_graph *g, glia_node *n,
                                                                int kind) {
    glia_node *an = glia__in(g, n, 0), *bn = glia__in(g, n, 1);
    const float *A = an->val, *B = bn->val;
    float *da = an->grad, *db = bn->grad;
    const int64_t m = glia__numel(an);
    const double s = (kind == MSE ? 2.0 : 1.0) * n->grad[0] / (double)m;
#pragma omp parallel for schedule(static) if (m >= 65536)
    for (int64_t i = 0; i < m; i++) {
        const double a = A[i], b = B[i];
        if (da) da[i] += (float)((kind == MSE ? a - b : sigmoid(a) - b) * s);
        if (db) db[i] += (float)((kind == MSE ? b - a : -a) * s);
    }
}

static void mse_backward(glia_graph *g, glia_node *n) { pair_backward(g, n, MSE); }

static glia_status bce_forward(glia_graph *g, glia_node *n) {
    pair_mean(g, n, BCE);
    return GLIA_OK;
}

static void bce_backward(glia_graph *g, glia_node *n) { pair_backward(g, n, BCE); }

static const glia_attr_def ce_attrs[] = {
    GLIA_ATTR_F("smoothing", CE_SMOOTHING, 0, 0, 1, GLIA_ATTR_OPEN_MAX)};
const glia_op_def glia__op_softmax_cross_entropy = {
    .name = "softmax_cross_entropy",
    .summary = "mean over the batch of -log softmax(logits)[label] (fused, stable; smoothing: "
               "the label-smoothed target (1 - eps) onehot + eps / C)",
    .inputs = "logits[N,C], labels[N]", .outputs = "loss[1]", .min_in = 2, .max_in = 2,
    .infer = ce_infer, .forward = ce_forward, .backward = ce_backward,
    .no_grad = glia__no_grad_in1, GLIA_ATTRS(ce_attrs)};
const glia_op_def glia__op_mse_loss = {
    .name = "mse_loss", .summary = "mean squared error: mean (pred - target)^2",
    .inputs = "pred[...], target[same]", .outputs = "loss[1]", .min_in = 2, .max_in = 2,
    .flags = OPF_BWD_INPUTS, .infer = pair_infer, .forward = mse_forward, .backward = mse_backward};
const glia_op_def glia__op_bce_with_logits = {
    .name = "bce_with_logits",
    .summary = "binary cross-entropy on logits: mean max(x,0) - x t + log(1 + e^-|x|)",
    .inputs = "logits[...], target[same]", .outputs = "loss[1]", .min_in = 2, .max_in = 2,
    .flags = OPF_BWD_INPUTS, .infer = pair_infer, .forward = bce_forward, .backward = bce_backward};

glia_status glia_softmax_cross_entropy(glia_graph *g, const char *name, int logits, int labels,
                                       int *out) {
    return glia_softmax_cross_entropy_smoothed(g, name, logits, labels, 0.0f, out);
}
glia_status glia_softmax_cross_entropy_smoothed(glia_graph *g, const char *name, int logits,
                                                int labels, float smoothing, int *out) {
    int in[2] = {logits, labels};
    return glia__add_op(g, GLIA_OP_softmax_cross_entropy, name, 2, in, NULL, 0, &smoothing, 1, out);
}
glia_status glia_mse_loss(glia_graph *g, const char *name, int pred, int target, int *out) {
    int in[2] = {pred, target};
    return glia__add_op(g, GLIA_OP_mse_loss, name, 2, in, NULL, 0, NULL, 0, out);
}
glia_status glia_bce_with_logits(glia_graph *g, const char *name, int logits, int target,
                                 int *out) {
    int in[2] = {logits, target};
    return glia__add_op(g, GLIA_OP_bce_with_logits, name, 2, in, NULL, 0, NULL, 0, out);
}
