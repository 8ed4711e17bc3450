/* elementwise.c: add, sub, mul with NumPy broadcasting, and scale.
 *
 * Shapes are aligned on the right; a dimension of 1 (or a missing one) is repeated:
 * [N,C,H,W] + [C,1,1] adds a per-channel bias, [N,C,H,W] + [N,C,H,W] is a residual add.
 *   add: y = a + b   da += dy            db += dy
 *   sub: y = a - b   da += dy            db -= dy
 *   mul: y = a * b   da += dy * b        db += dy * a
 * Gradients of a broadcast operand are summed over the repeated positions (in a fixed,
 * sequential order, so bit-exact for any thread count).
 *   scale: y = alpha x, dx += alpha dy (fa[0] = alpha). */
#include "../core/internal.h"
#include <string.h>

enum { EW_ADD, EW_SUB, EW_MUL };

/* strides of `s` seen through the output shape `o` (0 on broadcast dimensions) */
static void bstrides(const glia_shape *s, const glia_shape *o, int64_t *st) {
    int64_t acc = 1;
    for (int d = o->ndim - 1, k = s->ndim - 1; d >= 0; d--, k--) {
        if (k >= 0 && s->dim[k] != 1) {
            st[d] = acc;
            acc *= s->dim[k];
        } else {
            st[d] = 0;
            if (k >= 0) acc *= s->dim[k];
        }
    }
}

static glia_status ew_infer(glia_graph *g, glia_node *n) {
    const glia_shape *a = &glia__in(g, n, 0)->shape, *b = &glia__in(g, n, 1)->shape;
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    n->shape.ndim = nd;
    for (int d = nd - 1, i = a->ndim - 1, j = b->ndim - 1; d >= 0; d--, i--, j--) {
        int64_t da = i >= 0 ? a->dim[i] : 1, db = j >= 0 ? b->dim[j] : 1;
        if (da != db && da != 1 && db != 1) {
            char x[96], y[96];
            return glia__err(GLIA_ESHAPE, "%s: shapes %s ('%s') and %s ('%s') do not broadcast "
                             "(dimension %d: %lld vs %lld)", glia__where(g, n),
                             glia_shape_str(a, x, sizeof x), glia__in(g, n, 0)->name,
                             glia_shape_str(b, y, sizeof y), glia__in(g, n, 1)->name, d,
                             (long long)da, (long long)db);
        }
        n->shape.dim[d] = da > db ? da : db;
    }
    return GLIA_OK;
}

/* offset of output element i in an operand with broadcast strides st */
static inline int64_t boff(int64_t i, const glia_shape *o, const int64_t *st) {
    int64_t off = 0;
    for (int d = o->ndim - 1; d >= 0; d--) {
        int64_t q = i % o->dim[d];
        i /= o->dim[d];
        off += q * st[d];
    }
    return off;
}

static glia_status ew_forward(glia_graph *g, glia_node *n) {
    const glia_node *A = glia__in(g, n, 0), *B = glia__in(g, n, 1);
    const float *a = A->val, *b = B->val;
    float *y = n->val;
    int kind = n->ia[0];
    int64_t N = glia__numel(n);
    if (glia__shape_eq(&A->shape, &n->shape) && glia__shape_eq(&B->shape, &n->shape)) {
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
        for (int64_t i = 0; i < N; i++)
            y[i] = kind == EW_ADD ? a[i] + b[i] : kind == EW_SUB ? a[i] - b[i] : a[i] * b[i];
        return GLIA_OK;
    }
    int64_t sa[GLIA_MAX_DIMS], sb[GLIA_MAX_DIMS];
    bstrides(&A->shape, &n->shape, sa);
    bstrides(&B->shape, &n->shape, sb);
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        float u = a[boff(i, &n->shape, sa)], v = b[boff(i, &n->shape, sb)];
        y[i] = kind == EW_ADD ? u + v : kind == EW_SUB ? u - v : u * v;
    }
    return GLIA_OK;
}

static void ew_backward(glia_graph *g, glia_node *n) {
    const glia_node *A = glia__in(g, n, 0), *B = glia__in(g, n, 1);
    const float *dy = n->grad;
    int kind = n->ia[0];
    int64_t N = glia__numel(n);
    int64_t sa[GLIA_MAX_DIMS], sb[GLIA_MAX_DIMS];
    bstrides(&A->shape, &n->shape, sa);
    bstrides(&B->shape, &n->shape, sb);
    for (int side = 0; side < 2; side++) {
        const glia_node *X = side ? B : A, *O = side ? A : B;
        float *dx = X->grad;
        if (!dx) continue;
        const int64_t *sx = side ? sb : sa, *so = side ? sa : sb;
        float sign = (side && kind == EW_SUB) ? -1.0f : 1.0f;
        if (glia__shape_eq(&X->shape, &n->shape)) { /* no reduction: parallel is exact */
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
            for (int64_t i = 0; i < N; i++)
                dx[i] += kind == EW_MUL ? dy[i] * O->val[boff(i, &n->shape, so)] : sign * dy[i];
        } else {
            for (int64_t i = 0; i < N; i++)
                dx[boff(i, &n->shape, sx)] +=
                    kind == EW_MUL ? dy[i] * O->val[boff(i, &n->shape, so)] : sign * dy[i];
        }
    }
}

const glia_op_def glia__op_add = {"add", "elementwise a + b with broadcasting", "a, b", "y",
                                  2, 2, 0, ew_infer, ew_forward, ew_backward};
const glia_op_def glia__op_sub = {"sub", "elementwise a - b with broadcasting", "a, b", "y",
                                  2, 2, 0, ew_infer, ew_forward, ew_backward};
const glia_op_def glia__op_mul = {"mul", "elementwise a * b with broadcasting", "a, b", "y",
                                  2, 2, OPF_BWD_INPUTS, ew_infer, ew_forward, ew_backward};

static glia_status ew(glia_graph *g, const char *op, int kind, const char *name, int a, int b,
                      int *out) {
    int in[2] = {a, b};
    return glia__add_op(g, op, name, 2, in, &kind, 1, NULL, 0, out);
}
glia_status glia_add(glia_graph *g, const char *name, int a, int b, int *out) {
    return ew(g, "add", EW_ADD, name, a, b, out);
}
glia_status glia_sub(glia_graph *g, const char *name, int a, int b, int *out) {
    return ew(g, "sub", EW_SUB, name, a, b, out);
}
glia_status glia_mul(glia_graph *g, const char *name, int a, int b, int *out) {
    return ew(g, "mul", EW_MUL, name, a, b, out);
}

static glia_status scale_infer(glia_graph *g, glia_node *n) {
    n->shape = glia__in(g, n, 0)->shape;
    return GLIA_OK;
}
static glia_status scale_forward(glia_graph *g, glia_node *n) {
    const float *x = glia__in(g, n, 0)->val;
    float alpha = n->fa[0], *y = n->val;
    int64_t N = glia__numel(n);
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) y[i] = alpha * x[i];
    return GLIA_OK;
}
static void scale_backward(glia_graph *g, glia_node *n) {
    float *dx = glia__in(g, n, 0)->grad, alpha = n->fa[0];
    const float *dy = n->grad;
    if (!dx) return;
    int64_t N = glia__numel(n);
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) dx[i] += alpha * dy[i];
}
const glia_op_def glia__op_scale = {"scale", "y = alpha * x", "x", "y", 1, 1, 0, scale_infer,
                                    scale_forward, scale_backward};

glia_status glia_scale(glia_graph *g, const char *name, int x, float alpha, int *out) {
    return glia__add_op(g, "scale", name, 1, &x, NULL, 0, &alpha, 1, out);
}
