/* elementwise.c: add, sub, mul, div with NumPy broadcasting, and scale.
 *
 * Shapes are aligned on the right; a dimension of 1 (or a missing one) is repeated:
 * [N,C,H,W] + [C,1,1] adds a per-channel bias, [N,C,H,W] + [N,C,H,W] is a residual add.
 *   add: y = a + b   da += dy            db += dy
 *   sub: y = a - b   da += dy            db -= dy
 *   mul: y = a * b   da += dy * b        db += dy * a
 *   div: y = a / b   da += dy / b        db -= dy * a / b^2 = dy * y / b
 * Gradients of a broadcast operand are summed over the repeated positions (in a fixed,
 * sequential order, so bit-exact for any thread count).
 * Fast path: an operand with one dimension of size > 1 (a per-channel [C, 1, 1] against
 * [N, C, H, W], DiracNet's diag(a) x) and the other of the output's shape go plane by plane,
 * without the per-element index arithmetic; the sums run in the same order, so the results are
 * the same bits.
 *   scale: y = alpha x, dx += alpha dy (attribute alpha).
 * add, sub, mul and div share infer, forward and backward, which tell them apart by n->op. */
#include "../core/internal.h"
#include <math.h>
#include <string.h>

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

/* The output [outer, C, inner] seen from an operand s whose only dimension of size > 1 is the
 * output's dimension d (size C): element i uses s[(i / inner) % C]. 0 if s is not like that. */
static int per_channel(const glia_shape *s, const glia_shape *o, int64_t *C, int64_t *inner) {
    int d0 = -1;
    for (int d = o->ndim - 1, k = s->ndim - 1; d >= 0; d--, k--)
        if (k >= 0 && s->dim[k] != 1) {
            if (d0 >= 0) return 0;
            d0 = d;
        }
    if (d0 < 0) return 0;
    *C = o->dim[d0];
    *inner = 1;
    for (int d = d0 + 1; d < o->ndim; d++) *inner *= o->dim[d];
    return 1;
}

static inline float ew_apply(glia_op_id kind, float u, float v) {
    return kind == GLIA_OP_add ? u + v
           : kind == GLIA_OP_sub ? u - v
           : kind == GLIA_OP_mul ? u * v
                                 : u / v;
}

static glia_status ew_forward(glia_graph *g, glia_node *n) {
    const glia_node *A = glia__in(g, n, 0), *B = glia__in(g, n, 1);
    const float *a = A->val, *b = B->val;
    float *y = n->val;
    const glia_op_id kind = n->op;
    int64_t N = glia__numel(n);
    if (glia__shape_eq(&A->shape, &n->shape) && glia__shape_eq(&B->shape, &n->shape)) {
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
        for (int64_t i = 0; i < N; i++)
            y[i] = kind == GLIA_OP_add   ? a[i] + b[i]
                   : kind == GLIA_OP_sub ? a[i] - b[i]
                   : kind == GLIA_OP_mul ? a[i] * b[i]
                                         : a[i] / b[i];
        return GLIA_OK;
    }
    /* one operand a single value (a scalar constant: the ONNX importer's Clip and hard sigmoid)
     * and the other the output's shape: no index arithmetic per element */
    if ((glia__numel(B) == 1 && glia__shape_eq(&A->shape, &n->shape)) ||
        (glia__numel(A) == 1 && glia__shape_eq(&B->shape, &n->shape))) {
        const bool bs = glia__numel(B) == 1;
        const float k = bs ? b[0] : a[0], *x = bs ? a : b;
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
        for (int64_t i = 0; i < N; i++) {
            float u = bs ? x[i] : k, v = bs ? k : x[i];
            y[i] = ew_apply(kind, u, v);
        }
        return GLIA_OK;
    }
    int64_t C, inner;
    const bool small_a = glia__shape_eq(&B->shape, &n->shape) && per_channel(&A->shape, &n->shape, &C, &inner);
    if (small_a || (glia__shape_eq(&A->shape, &n->shape) && per_channel(&B->shape, &n->shape, &C, &inner))) {
        const float *k = small_a ? a : b, *x = small_a ? b : a;
        const int64_t P = N / inner;
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
        for (int64_t p = 0; p < P; p++) {
            const float kc = k[p % C], *xp = x + p * inner;
            float *yp = y + p * inner;
            if (small_a)
                for (int64_t j = 0; j < inner; j++) yp[j] = ew_apply(kind, kc, xp[j]);
            else
                for (int64_t j = 0; j < inner; j++) yp[j] = ew_apply(kind, xp[j], kc);
        }
        return GLIA_OK;
    }
    int64_t sa[GLIA_MAX_DIMS], sb[GLIA_MAX_DIMS];
    bstrides(&A->shape, &n->shape, sa);
    bstrides(&B->shape, &n->shape, sb);
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) {
        float u = a[boff(i, &n->shape, sa)], v = b[boff(i, &n->shape, sb)];
        y[i] = ew_apply(kind, u, v);
    }
    return GLIA_OK;
}

static void ew_backward(glia_graph *g, glia_node *n) {
    const glia_node *A = glia__in(g, n, 0), *B = glia__in(g, n, 1);
    const float *dy = n->grad;
    const glia_op_id kind = n->op;
    int64_t N = glia__numel(n);
    int64_t sa[GLIA_MAX_DIMS], sb[GLIA_MAX_DIMS];
    bstrides(&A->shape, &n->shape, sa);
    bstrides(&B->shape, &n->shape, sb);
    for (int side = 0; side < 2; side++) {
        const glia_node *X = side ? B : A, *O = side ? A : B;
        float *dx = X->grad;
        if (!dx) continue;
        const int64_t *sx = side ? sb : sa, *so = side ? sa : sb;
        float sign = (side && kind == GLIA_OP_sub) ? -1.0f : 1.0f;
        const float *b = B->val;
        const int64_t *sbb = sb;
/* dL/d(side) at output element i */
#define EW_GRAD(i)                                                                                \
    (kind == GLIA_OP_mul   ? dy[i] * O->val[boff(i, &n->shape, so)]                                \
     : kind == GLIA_OP_div ? (side ? -dy[i] * n->val[i] : dy[i]) / b[boff(i, &n->shape, sbb)]      \
                           : sign * dy[i])
        const bool mul = kind == GLIA_OP_mul;
        int64_t C, inner;
        if (kind != GLIA_OP_div && glia__shape_eq(&X->shape, &n->shape) && per_channel(&O->shape, &n->shape, &C, &inner)) {
            const float *k = O->val; /* dx += dy * k[c] (mul) or sign * dy */
            const int64_t P = N / inner;
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
            for (int64_t p = 0; p < P; p++) {
                const float f = mul ? k[p % C] : sign;
                for (int64_t j = p * inner; j < (p + 1) * inner; j++) dx[j] += dy[j] * f;
            }
            continue;
        }
        if (kind != GLIA_OP_div && glia__shape_eq(&O->shape, &n->shape) && per_channel(&X->shape, &n->shape, &C, &inner)) {
            const float *o = O->val; /* dx[c] += sum of dy * o (mul) or sign * dy, in the order of i */
            const int64_t P = N / inner;
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
            for (int64_t c = 0; c < C; c++) {
                float acc = dx[c];
                for (int64_t p = c; p < P; p += C)
                    for (int64_t j = p * inner; j < (p + 1) * inner; j++) acc += mul ? dy[j] * o[j] : sign * dy[j];
                dx[c] = acc;
            }
            continue;
        }
        if (glia__shape_eq(&X->shape, &n->shape)) { /* no reduction: parallel is exact */
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
            for (int64_t i = 0; i < N; i++) dx[i] += EW_GRAD(i);
        } else {
            for (int64_t i = 0; i < N; i++) dx[boff(i, &n->shape, sx)] += EW_GRAD(i);
        }
#undef EW_GRAD
    }
}

#define EW_DEF(op, what, fl)                                                                      \
    const glia_op_def glia__op_##op = {.name = #op, .summary = what, .inputs = "a, b",            \
                                       .outputs = "y", .min_in = 2, .max_in = 2, .flags = fl,     \
                                       .infer = ew_infer, .forward = ew_forward,                  \
                                       .backward = ew_backward};
EW_DEF(add, "elementwise a + b with broadcasting", 0)
EW_DEF(sub, "elementwise a - b with broadcasting", 0)
EW_DEF(mul, "elementwise a * b with broadcasting", OPF_BWD_INPUTS)
EW_DEF(div, "elementwise a / b with broadcasting (ONNX Div by a run-time value)", OPF_BWD_INPUTS | OPF_BWD_OUTPUT)

static glia_status ew(glia_graph *g, glia_op_id op, const char *name, int a, int b, int *out) {
    int in[2] = {a, b};
    return glia__add_op(g, op, name, 2, in, NULL, 0, NULL, 0, out);
}
glia_status glia_add(glia_graph *g, const char *name, int a, int b, int *out) {
    return ew(g, GLIA_OP_add, name, a, b, out);
}
glia_status glia_sub(glia_graph *g, const char *name, int a, int b, int *out) {
    return ew(g, GLIA_OP_sub, name, a, b, out);
}
glia_status glia_mul(glia_graph *g, const char *name, int a, int b, int *out) {
    return ew(g, GLIA_OP_mul, name, a, b, out);
}
glia_status glia_div(glia_graph *g, const char *name, int a, int b, int *out) {
    return ew(g, GLIA_OP_div, name, a, b, out);
}

static glia_status scale_infer(glia_graph *g, glia_node *n) {
    n->shape = glia__in(g, n, 0)->shape;
    return GLIA_OK;
}
static glia_status scale_forward(glia_graph *g, glia_node *n) {
    const float *x = glia__in(g, n, 0)->val;
    float alpha = n->fa[SCALE_ALPHA], *y = n->val;
    int64_t N = glia__numel(n);
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) y[i] = alpha * x[i];
    return GLIA_OK;
}
static void scale_backward(glia_graph *g, glia_node *n) {
    float *dx = glia__in(g, n, 0)->grad, alpha = n->fa[SCALE_ALPHA];
    const float *dy = n->grad;
    if (!dx) return;
    int64_t N = glia__numel(n);
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) dx[i] += alpha * dy[i];
}
static const glia_attr_def scale_attrs[] = {
    GLIA_ATTR_F("alpha", SCALE_ALPHA, 1.0, -HUGE_VAL, HUGE_VAL, 0)};
const glia_op_def glia__op_scale = {
    .name = "scale", .summary = "y = alpha * x", .inputs = "x", .outputs = "y", .min_in = 1,
    .max_in = 1, .infer = scale_infer, .forward = scale_forward, .backward = scale_backward,
    GLIA_ATTRS(scale_attrs)};

glia_status glia_scale(glia_graph *g, const char *name, int x, float alpha, int *out) {
    return glia__add_op(g, GLIA_OP_scale, name, 1, &x, NULL, 0, &alpha, 1, out);
}
