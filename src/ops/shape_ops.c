/* shape_ops.c: concat, slice, reshape (and flatten), transpose — ops that move values without
 * arithmetic.
 *
 * A tensor seen around one axis is [outer, dim(axis), inner] with outer the product of the
 * dimensions before the axis and inner the product after it; concat and slice copy runs of
 * `inner`-sized blocks, and their backward copies (adds) the same runs the other way. */
#include "../core/internal.h"
#include <limits.h>
#include <string.h>

static void around(const glia_shape *s, int axis, int64_t *outer, int64_t *inner) {
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= s->dim[d];
    for (int d = axis + 1; d < s->ndim; d++) *inner *= s->dim[d];
}

/* ---------------------------------------------------------------- concat */
static glia_status concat_infer(glia_graph *g, glia_node *n) {
    int axis = n->ia[CONCAT_AXIS];
    const glia_shape *s0 = &glia__in(g, n, 0)->shape;
    if (axis < 0 || axis >= s0->ndim)
        return glia__err(GLIA_ESHAPE, "%s: axis %d is outside the %d dimensions of '%s'",
                         glia__where(g, n), axis, s0->ndim, glia__in(g, n, 0)->name);
    n->shape = *s0;
    for (int k = 1; k < n->n_in; k++) {
        const glia_shape *s = &glia__in(g, n, k)->shape;
        bool fits = s->ndim == s0->ndim;
        for (int d = 0; fits && d < s->ndim; d++) fits = d == axis || s->dim[d] == s0->dim[d];
        if (!fits) {
            char a[96], b[96];
            return glia__err(GLIA_ESHAPE, "%s: '%s' %s and '%s' %s differ outside axis %d",
                             glia__where(g, n), glia__in(g, n, 0)->name,
                             glia_shape_str(s0, a, sizeof a), glia__in(g, n, k)->name,
                             glia_shape_str(s, b, sizeof b), axis);
        }
        n->shape.dim[axis] += s->dim[axis];
    }
    return GLIA_OK;
}

/* copies (or, backward, adds) input k's block into the output at its channel offset */
static void concat_move(glia_graph *g, glia_node *n, bool backward) {
    int axis = n->ia[CONCAT_AXIS];
    int64_t outer, inner, off = 0, total = n->shape.dim[axis];
    around(&n->shape, axis, &outer, &inner);
    for (int k = 0; k < n->n_in; k++) {
        glia_node *x = glia__in(g, n, k);
        int64_t run = x->shape.dim[axis] * inner;
        if (!backward || x->grad) {
#pragma omp parallel for schedule(static) if (outer * run >= GLIA_PAR_MIN)
            for (int64_t o = 0; o < outer; o++) {
                float *yb = (backward ? n->grad : n->val) + (o * total + off) * inner;
                if (!backward) memcpy(yb, x->val + o * run, (size_t)run * sizeof(float));
                else
                    for (int64_t i = 0; i < run; i++) x->grad[o * run + i] += yb[i];
            }
        }
        off += x->shape.dim[axis];
    }
}
static glia_status concat_forward(glia_graph *g, glia_node *n) {
    concat_move(g, n, false);
    return GLIA_OK;
}
static void concat_backward(glia_graph *g, glia_node *n) { concat_move(g, n, true); }

static const glia_attr_def concat_attrs[] = {GLIA_ATTR_I_REQ("axis", CONCAT_AXIS, 0, INT_MAX)};
const glia_op_def glia__op_concat = {
    .name = "concat", .summary = "concatenation along an axis (1: channels)",
    .inputs = "x1, x2, ... (equal outside the axis)", .outputs = "y", .min_in = 1,
    .max_in = GLIA_MAX_INPUTS, .infer = concat_infer, .forward = concat_forward,
    .backward = concat_backward, GLIA_ATTRS(concat_attrs)};

glia_status glia_concat(glia_graph *g, const char *name, int n, const int *xs, int axis, int *out) {
    if (n < 1 || n > GLIA_MAX_INPUTS || !xs)
        return glia__err(GLIA_EINVAL, "concat '%s': %d inputs (1..%d allowed)", name ? name : "?",
                         n, GLIA_MAX_INPUTS);
    return glia__add_op(g, GLIA_OP_concat, name, n, xs, &axis, 1, NULL, 0, out);
}

/* ---------------------------------------------------------------- slice */
static glia_status slice_infer(glia_graph *g, glia_node *n) {
    const glia_node *x = glia__in(g, n, 0);
    int axis = n->ia[SLICE_AXIS], start = n->ia[SLICE_START], end = n->ia[SLICE_END];
    char a[96];
    if (axis < 0 || axis >= x->shape.ndim)
        return glia__err(GLIA_ESHAPE, "%s: axis %d is outside the %d dimensions of '%s'",
                         glia__where(g, n), axis, x->shape.ndim, x->name);
    if (start < 0 || end > x->shape.dim[axis] || start >= end)
        return glia__err(GLIA_ESHAPE, "%s: [%d, %d) is not a non-empty range of axis %d of '%s' %s",
                         glia__where(g, n), start, end, axis, x->name,
                         glia_shape_str(&x->shape, a, sizeof a));
    n->shape = x->shape;
    n->shape.dim[axis] = end - start;
    return GLIA_OK;
}
static void slice_move(glia_graph *g, glia_node *n, bool backward) {
    glia_node *x = glia__in(g, n, 0);
    int axis = n->ia[SLICE_AXIS];
    int64_t outer, inner;
    around(&x->shape, axis, &outer, &inner);
    int64_t run = n->shape.dim[axis] * inner, xrun = x->shape.dim[axis] * inner;
    int64_t off = (int64_t)n->ia[SLICE_START] * inner;
    if (backward && !x->grad) return;
#pragma omp parallel for schedule(static) if (outer * run >= GLIA_PAR_MIN)
    for (int64_t o = 0; o < outer; o++) {
        if (!backward)
            memcpy(n->val + o * run, x->val + o * xrun + off, (size_t)run * sizeof(float));
        else
            for (int64_t i = 0; i < run; i++) x->grad[o * xrun + off + i] += n->grad[o * run + i];
    }
}
static glia_status slice_forward(glia_graph *g, glia_node *n) {
    slice_move(g, n, false);
    return GLIA_OK;
}
static void slice_backward(glia_graph *g, glia_node *n) { slice_move(g, n, true); }

static const glia_attr_def slice_attrs[] = {
    GLIA_ATTR_I_REQ("axis", SLICE_AXIS, 0, INT_MAX),
    GLIA_ATTR_I_REQ("start", SLICE_START, 0, INT_MAX),
    GLIA_ATTR_I_REQ("end", SLICE_END, 1, INT_MAX),
};
const glia_op_def glia__op_slice = {
    .name = "slice", .summary = "x[..., start:end, ...] along one axis", .inputs = "x",
    .outputs = "y", .min_in = 1, .max_in = 1, .infer = slice_infer, .forward = slice_forward,
    .backward = slice_backward, GLIA_ATTRS(slice_attrs)};

/* Negative start/end count from the end, as in Python. */
glia_status glia_slice(glia_graph *g, const char *name, int x, int axis, int64_t start,
                       int64_t end, int *out) {
    glia_status s = glia__check_node(g, x);
    if (s) return s;
    const glia_shape *xs = &g->nodes[x].shape;
    if (axis >= 0 && axis < xs->ndim) {
        if (start < 0) start += xs->dim[axis];
        if (end < 0) end += xs->dim[axis];
    }
    if (start < -1 || end > (int64_t)1 << 30 || start > (int64_t)1 << 30 || end < -1)
        return glia__err(GLIA_ESHAPE, "slice '%s': range [%lld, %lld) is out of bounds",
                         name ? name : "?", (long long)start, (long long)end);
    int ia[3] = {[SLICE_AXIS] = axis, [SLICE_START] = (int)start, [SLICE_END] = (int)end};
    return glia__add_op(g, GLIA_OP_slice, name, 1, &x, ia, 3, NULL, 0, out);
}

/* ---------------------------------------------------------------- reshape
 * Attribute shape: the per-sample dims (one may be -1); output [N, dims...] with N the input's
 * batch, so a reshape follows glia_graph_set_batch. Flatten is reshape to [N, -1]. */
static glia_status reshape_infer(glia_graph *g, glia_node *n) {
    const glia_node *x = glia__in(g, n, 0);
    const int k = n->ia[RESHAPE_SHAPE], *dims = n->ia + RESHAPE_SHAPE + 1;
    int free_dim = -1;
    char a[96];
    if (x->shape.ndim < 1)
        return glia__err(GLIA_ESHAPE, "%s: input '%s' is a scalar", glia__where(g, n), x->name);
    int64_t per = glia__numel(x) / x->shape.dim[0], known = 1;
    n->shape.ndim = k + 1;
    n->shape.dim[0] = x->shape.dim[0];
    for (int i = 0; i < k; i++) {
        int d = dims[i];
        if (d == -1 && free_dim < 0) free_dim = i;
        else if (d <= 0)
            return glia__err(GLIA_ESHAPE, "%s: dimension %d is %d (positive, or one -1)",
                             glia__where(g, n), i + 1, d);
        else known *= d;
        n->shape.dim[1 + i] = d;
    }
    if (free_dim >= 0) {
        if (per % known)
            return glia__err(GLIA_ESHAPE, "%s: cannot reshape '%s' %s: %lld values per sample are "
                             "not a multiple of %lld", glia__where(g, n), x->name,
                             glia_shape_str(&x->shape, a, sizeof a), (long long)per,
                             (long long)known);
        n->shape.dim[1 + free_dim] = per / known;
        known = per;
    }
    if (known != per)
        return glia__err(GLIA_ESHAPE, "%s: cannot reshape '%s' %s (%lld values per sample) to "
                         "%lld values per sample", glia__where(g, n), x->name,
                         glia_shape_str(&x->shape, a, sizeof a), (long long)per, (long long)known);
    return GLIA_OK;
}
glia_status glia__same_values_forward(glia_graph *g, glia_node *n) {
    memcpy(n->val, glia__in(g, n, 0)->val, (size_t)glia__numel(n) * sizeof(float));
    return GLIA_OK;
}
void glia__same_values_backward(glia_graph *g, glia_node *n) {
    float *dx = glia__in(g, n, 0)->grad;
    if (!dx) return;
    int64_t N = glia__numel(n);
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < N; i++) dx[i] += n->grad[i];
}
static const glia_attr_def reshape_attrs[] = {
    GLIA_ATTR_LIST("shape", RESHAPE_SHAPE, -1, INT_MAX, GLIA_MAX_DIMS - 1)};
const glia_op_def glia__op_reshape = {
    .name = "reshape", .summary = "same values, new per-sample shape (flatten)",
    .inputs = "x[N,...]", .outputs = "y[N,dims...]", .min_in = 1, .max_in = 1,
    .infer = reshape_infer, .forward = glia__same_values_forward,
    .backward = glia__same_values_backward,
    GLIA_ATTRS(reshape_attrs)};

glia_status glia_reshape(glia_graph *g, const char *name, int x, int ndim, const int64_t *dims,
                         int *out) {
    if (ndim < 0 || ndim > GLIA_MAX_DIMS - 1 || (ndim && !dims))
        return glia__err(GLIA_ESHAPE, "reshape '%s': %d per-sample dimensions (0..%d allowed)",
                         name ? name : "?", ndim, GLIA_MAX_DIMS - 1);
    int ia[GLIA_MAX_DIMS] = {[RESHAPE_SHAPE] = ndim};
    for (int i = 0; i < ndim; i++) {
        if (dims[i] > (int64_t)1 << 30 || dims[i] < -1)
            return glia__err(GLIA_ESHAPE, "reshape '%s': dimension %lld is out of range",
                             name ? name : "?", (long long)dims[i]);
        ia[RESHAPE_SHAPE + 1 + i] = (int)dims[i];
    }
    return glia__add_op(g, GLIA_OP_reshape, name, 1, &x, ia, ndim + 1, NULL, 0, out);
}

glia_status glia_flatten(glia_graph *g, const char *name, int x, int *out) {
    return glia_reshape(g, name, x, 1, (int64_t[]){-1}, out);
}

/* ---------------------------------------------------------------- transpose
 * y = x with its axes permuted: y.shape[k] = x.shape[perm[k]] and
 *   y[i_0, ..., i_{r-1}] = x[j] with j[perm[k]] = i_k,
 * so output element i reads x at sum_k i_k stride_x[perm[k]] (ONNX's Transpose, PyTorch's
 * permute); backward adds dy back to the same places (a permutation: each x element once). */
static glia_status transpose_infer(glia_graph *g, glia_node *n) {
    const glia_node *x = glia__in(g, n, 0);
    const int r = n->ia[TRANSPOSE_PERM], *perm = n->ia + TRANSPOSE_PERM + 1;
    bool seen[GLIA_MAX_DIMS] = {false};
    if (r != x->shape.ndim)
        return glia__err(GLIA_ESHAPE, "%s: perm has %d axes, '%s' %d", glia__where(g, n), r, x->name, x->shape.ndim);
    n->shape.ndim = r;
    for (int k = 0; k < r; k++) {
        if (perm[k] < 0 || perm[k] >= r || seen[perm[k]])
            return glia__err(GLIA_ESHAPE, "%s: perm is not a permutation of 0..%d", glia__where(g, n), r - 1);
        seen[perm[k]] = true;
        n->shape.dim[k] = x->shape.dim[perm[k]];
    }
    return GLIA_OK;
}
/* stride[k]: the step in x of output axis k */
static void transpose_strides(const glia_node *x, const glia_node *n, int64_t *stride) {
    int64_t xs[GLIA_MAX_DIMS], step = 1;
    for (int d = x->shape.ndim - 1; d >= 0; d--) {
        xs[d] = step;
        step *= x->shape.dim[d];
    }
    for (int k = 0; k < n->shape.ndim; k++) stride[k] = xs[n->ia[TRANSPOSE_PERM + 1 + k]];
}
static void transpose_move(glia_graph *g, glia_node *n, bool backward) {
    glia_node *x = glia__in(g, n, 0);
    if (backward && !x->grad) return;
    const int r = n->shape.ndim;
    int64_t stride[GLIA_MAX_DIMS], inner = r ? n->shape.dim[r - 1] : 1, N = glia__numel(n);
    transpose_strides(x, n, stride);
    const int64_t last = r ? stride[r - 1] : 1, rows = N / inner;
#pragma omp parallel for schedule(static) if (N >= GLIA_PAR_MIN)
    for (int64_t row = 0; row < rows; row++) { /* the offset of a row of the last output axis */
        int64_t rem = row, off = 0;
        for (int k = r - 2; k >= 0; k--) {
            off += rem % n->shape.dim[k] * stride[k];
            rem /= n->shape.dim[k];
        }
        float *y = (backward ? n->grad : n->val) + row * inner;
        if (!backward)
            for (int64_t i = 0; i < inner; i++) y[i] = x->val[off + i * last];
        else
            for (int64_t i = 0; i < inner; i++) x->grad[off + i * last] += y[i];
    }
}
static glia_status transpose_forward(glia_graph *g, glia_node *n) {
    transpose_move(g, n, false);
    return GLIA_OK;
}
static void transpose_backward(glia_graph *g, glia_node *n) { transpose_move(g, n, true); }

static const glia_attr_def transpose_attrs[] = {
    GLIA_ATTR_LIST("perm", TRANSPOSE_PERM, 0, GLIA_MAX_DIMS - 1, GLIA_MAX_DIMS)};
const glia_op_def glia__op_transpose = {
    .name = "transpose", .summary = "axes permuted: y.shape[k] = x.shape[perm[k]] (ONNX Transpose)",
    .inputs = "x", .outputs = "y", .min_in = 1, .max_in = 1, .infer = transpose_infer,
    .forward = transpose_forward, .backward = transpose_backward, GLIA_ATTRS(transpose_attrs)};

glia_status glia_transpose(glia_graph *g, const char *name, int x, int ndim, const int *perm, int *out) {
    if (ndim < 0 || ndim > GLIA_MAX_DIMS || (ndim && !perm))
        return glia__err(GLIA_ESHAPE, "transpose '%s': %d axes (0..%d allowed)", name ? name : "?", ndim,
                         GLIA_MAX_DIMS);
    int ia[GLIA_MAX_DIMS + 1] = {[TRANSPOSE_PERM] = ndim};
    for (int k = 0; k < ndim; k++) ia[TRANSPOSE_PERM + 1 + k] = perm[k];
    return glia__add_op(g, GLIA_OP_transpose, name, 1, &x, ia, ndim + 1, NULL, 0, out);
}
