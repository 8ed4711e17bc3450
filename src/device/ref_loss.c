/* ref_loss.c: reference kernels of the losses (src/ops/loss.c): scalar outputs [1], means like
 * PyTorch's reduction='mean'; dL = n->grad[0], the gradient arriving at the loss. */
#include "ref.h"
#include <math.h>

/* ---------------------------------------------------------------- softmax cross-entropy
 * logits [N, C], labels [N] (class indices as floats; -1: the row is ignored; anything else
 * that is not an integer in [0, C) fails with GLIA_ERANGE). Over the N' rows not ignored:
 *   log p_c = x_c - m - log sum_c' e^(x_c' - m)   (m = max_c x_c)
 *   L = -1/N' sum_n log p_{n, label_n}            (0 when N' = 0)
 *   dlogits[n, c] += (p_c - [c == label_n]) dL / N'
 * With label smoothing eps (fa[CE_SMOOTHING]) the target is q = (1 - eps) onehot + eps / C:
 *   L = 1/N' sum_n sum_c -q_c log p_c,   dlogits[n, c] += (p_c - q_c) dL / N'
 * Saved (loss.c's layout; backward reads no input): p [N, C] float, labels int32 [N], N'. */
/* q_c of row label `lab` */
static double ce_target(const glia_node *n, int64_t c, int32_t lab, int64_t C) {
    const double eps = n->fa[CE_SMOOTHING];
    return (c == lab ? 1.0 - eps : 0.0) + eps / (double)C;
}

static glia_status ce_forward(glia_graph *g, glia_node *n) {
    const glia_node *xn = glia__in(g, n, 0), *ln = glia__in(g, n, 1);
    const int64_t N = xn->shape.dim[0], C = xn->shape.dim[1];
    float *p = n->saved;
    int32_t *lab = (int32_t *)(p + N * C), counted = 0;
    double total = 0;
    for (int64_t i = 0; i < N; i++) {
        const float v = ln->val[i], *x = xn->val + i * C;
        if (v != -1.0f && !(v >= 0.0f && (double)v < (double)C && v == floorf(v)))
            return glia__err(GLIA_ERANGE, "%s: label %g in batch row %lld (of labels '%s') is not "
                             "a class index: labels must be integers in [0, %lld) (or -1: ignored)",
                             glia__where(g, n), (double)v, (long long)i, ln->name, (long long)C);
        lab[i] = (int32_t)v;
        double m = x[0], sum = 0;
        for (int64_t c = 1; c < C; c++) m = x[c] > m ? x[c] : m;
        for (int64_t c = 0; c < C; c++) sum += exp(x[c] - m);
        for (int64_t c = 0; c < C; c++) p[i * C + c] = (float)(exp(x[c] - m) / sum);
        if (lab[i] < 0) continue;
        counted++;
        for (int64_t c = 0; c < C; c++) total += -ce_target(n, c, lab[i], C) * (x[c] - m - log(sum));
    }
    lab[N] = counted;
    n->val[0] = counted ? (float)(total / counted) : 0.0f;
    return GLIA_OK;
}

static void ce_backward(glia_graph *g, glia_node *n) {
    const glia_node *xn = glia__in(g, n, 0);
    float *dx = xn->grad;
    const int64_t N = xn->shape.dim[0], C = xn->shape.dim[1];
    const float *p = n->saved;
    const int32_t *lab = (const int32_t *)(p + N * C);
    if (!dx || !lab[N]) return; /* (labels get no gradient) */
    const double s = (double)n->grad[0] / lab[N];
    for (int64_t i = 0; i < N; i++)
        for (int64_t c = 0; c < C && lab[i] >= 0; c++)
            dx[i * C + c] += (float)((p[i * C + c] - ce_target(n, c, lab[i], C)) * s);
}

const glia_kernel glia__ref_softmax_cross_entropy = {ce_forward, ce_backward};

/* ---------------------------------------------------------------- mse_loss, bce_with_logits
 * a, b of the same shape, m elements:
 *   mse  L = 1/m sum (a - b)^2                          da += 2 (a - b) dL / m,  db -= the same
 *   bce  L = 1/m sum max(a, 0) - a b + log(1 + e^-|a|)  da += (sigmoid(a) - b) dL / m,
 *                                                       db += -a dL / m
 * (a: logits, b: targets; the stable form of -b log sigmoid(a) - (1 - b) log(1 - sigmoid(a))) */
static double pair_term(const glia_node *n, double a, double b) {
    return n->op == GLIA_OP_mse_loss ? (a - b) * (a - b)
                                     : (a > 0 ? a : 0) - a * b + log1p(exp(-fabs(a)));
}

static glia_status pair_forward(glia_graph *g, glia_node *n) {
    const float *a = ref_x(g, n, 0), *b = ref_x(g, n, 1);
    const int64_t m = glia__numel(glia__in(g, n, 0));
    double sum = 0;
    for (int64_t i = 0; i < m; i++) sum += pair_term(n, a[i], b[i]);
    n->val[0] = (float)(sum / (double)m);
    return GLIA_OK;
}

static void pair_backward(glia_graph *g, glia_node *n) {
    const float *a = ref_x(g, n, 0), *b = ref_x(g, n, 1);
    float *da = ref_dx(g, n, 0), *db = ref_dx(g, n, 1);
    const int64_t m = glia__numel(glia__in(g, n, 0));
    const double s = (double)n->grad[0] / (double)m;
    for (int64_t i = 0; i < m; i++) {
        if (n->op == GLIA_OP_mse_loss) {
            if (da) da[i] += (float)(2.0 * ((double)a[i] - b[i]) * s);
            if (db) db[i] -= (float)(2.0 * ((double)a[i] - b[i]) * s);
        } else {
            if (da) da[i] += (float)((1.0 / (1.0 + exp(-(double)a[i])) - b[i]) * s);
            if (db) db[i] += (float)(-(double)a[i] * s);
        }
    }
}

const glia_kernel glia__ref_mse_loss = {pair_forward, pair_backward};
const glia_kernel glia__ref_bce_with_logits = {pair_forward, pair_backward};
