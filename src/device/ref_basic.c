/* ref_basic.c: reference kernels of dense, the elementwise ops (add, sub, mul with broadcasting,
 * scale) and the ops that move values (concat, slice, reshape, time_flatten). */
#include "ref.h"

/* ---------------------------------------------------------------- dense
 *   y[n,o] = b[o] + sum_k x[n,k] w[o,k]            x read as [N, K]
 *   dx[n,k] += sum_o dy[n,o] w[o,k]    dw[o,k] += sum_n dy[n,o] x[n,k]    db[o] += sum_n dy[n,o] */
static glia_status dense_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0), *w = ref_x(g, n, 1), *b = n->n_in == 3 ? ref_x(g, n, 2) : NULL;
    const int64_t N = n->shape.dim[0], O = n->shape.dim[1], K = glia__in(g, n, 1)->shape.dim[1];
    for (int64_t i = 0; i < N; i++)
        for (int64_t o = 0; o < O; o++) {
            double s = b ? b[o] : 0.0;
            for (int64_t k = 0; k < K; k++) s += (double)x[i * K + k] * w[o * K + k];
            n->val[i * O + o] = (float)s;
        }
    return GLIA_OK;
}

static void dense_backward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0), *w = ref_x(g, n, 1), *dy = n->grad;
    float *dx = ref_dx(g, n, 0), *dw = ref_dx(g, n, 1), *db = n->n_in == 3 ? ref_dx(g, n, 2) : NULL;
    const int64_t N = n->shape.dim[0], O = n->shape.dim[1], K = glia__in(g, n, 1)->shape.dim[1];
    if (dx)
        for (int64_t i = 0; i < N; i++)
            for (int64_t k = 0; k < K; k++) {
                double s = 0;
                for (int64_t o = 0; o < O; o++) s += (double)dy[i * O + o] * w[o * K + k];
                dx[i * K + k] += (float)s;
            }
    if (dw)
        for (int64_t o = 0; o < O; o++)
            for (int64_t k = 0; k < K; k++) {
                double s = 0;
                for (int64_t i = 0; i < N; i++) s += (double)dy[i * O + o] * x[i * K + k];
                dw[o * K + k] += (float)s;
            }
    if (db)
        for (int64_t o = 0; o < O; o++) {
            double s = 0;
            for (int64_t i = 0; i < N; i++) s += dy[i * O + o];
            db[o] += (float)s;
        }
}

const glia_kernel glia__ref_dense = {dense_forward, dense_backward};

/* ---------------------------------------------------------------- add, sub, mul
 * NumPy broadcasting: shapes aligned on the right, a dimension of 1 (or a missing one) repeats.
 *   add y = a + b: da += dy, db += dy;  sub y = a - b: da += dy, db -= dy;
 *   mul y = a b:   da += dy b, db += dy a;  div y = a / b: da += dy / b, db -= dy a / b^2
 * (the op itself says which: add, sub, mul and div are four ops) */

/* the element of operand shape s that output element i of shape o reads */
static int64_t bcast_index(const glia_shape *o, const glia_shape *s, int64_t i) {
    int64_t idx = 0, stride = 1;
    for (int d = o->ndim - 1, k = s->ndim - 1; d >= 0; d--, k--) {
        int64_t coord = i % o->dim[d];
        i /= o->dim[d];
        if (k < 0) continue;
        if (s->dim[k] != 1) idx += coord * stride;
        stride *= s->dim[k];
    }
    return idx;
}

static glia_status ew_forward(glia_graph *g, glia_node *n) {
    const glia_node *A = glia__in(g, n, 0), *B = glia__in(g, n, 1);
    for (int64_t i = 0; i < glia__numel(n); i++) {
        float a = A->val[bcast_index(&n->shape, &A->shape, i)];
        float b = B->val[bcast_index(&n->shape, &B->shape, i)];
        n->val[i] = n->op == GLIA_OP_add ? a + b : n->op == GLIA_OP_sub ? a - b : n->op == GLIA_OP_mul ? a * b : a / b;
    }
    return GLIA_OK;
}

static void ew_backward(glia_graph *g, glia_node *n) {
    const glia_node *A = glia__in(g, n, 0), *B = glia__in(g, n, 1);
    for (int64_t i = 0; i < glia__numel(n); i++) {
        int64_t ia = bcast_index(&n->shape, &A->shape, i), ib = bcast_index(&n->shape, &B->shape, i);
        float dy = n->grad[i];
        double a = A->val[ia], b = B->val[ib];
        if (A->grad) A->grad[ia] += (float)(n->op == GLIA_OP_mul ? dy * b : n->op == GLIA_OP_div ? dy / b : dy);
        if (B->grad)
            B->grad[ib] += (float)(n->op == GLIA_OP_mul   ? dy * a
                                   : n->op == GLIA_OP_div ? -dy * a / (b * b)
                                   : n->op == GLIA_OP_sub ? -dy : dy);
    }
}

const glia_kernel glia__ref_add = {ew_forward, ew_backward};
const glia_kernel glia__ref_sub = {ew_forward, ew_backward};
const glia_kernel glia__ref_mul = {ew_forward, ew_backward};
const glia_kernel glia__ref_div = {ew_forward, ew_backward};

/* ---------------------------------------------------------------- scale: y = alpha x, dx += alpha dy */
static float scale_alpha(const glia_node *n) { return n->fa[SCALE_ALPHA]; }

static glia_status scale_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0);
    for (int64_t i = 0; i < glia__numel(n); i++) n->val[i] = scale_alpha(n) * x[i];
    return GLIA_OK;
}

static void scale_backward(glia_graph *g, glia_node *n) {
    float *dx = ref_dx(g, n, 0);
    if (!dx) return;
    for (int64_t i = 0; i < glia__numel(n); i++) dx[i] += scale_alpha(n) * n->grad[i];
}

const glia_kernel glia__ref_scale = {scale_forward, scale_backward};

/* ---------------------------------------------------------------- concat, slice
 * Around the axis a tensor is [outer, dim, inner]:
 *   concat   y[o, off_k + j, i] = x_k[o, j, i]   (off_k: the sizes of the inputs before k)
 *   slice    y[o, j, i] = x[o, start + j, i],  j < end - start
 * and backward adds dy back to the same places. */
static int concat_axis(const glia_node *n) { return n->ia[CONCAT_AXIS]; }
static int slice_axis(const glia_node *n) { return n->ia[SLICE_AXIS]; }
static int slice_start(const glia_node *n) { return n->ia[SLICE_START]; } /* the end: n's shape */

static void concat_move(glia_graph *g, glia_node *n, int backward) {
    const int axis = concat_axis(n);
    int64_t outer, inner, off = 0;
    const int64_t D = n->shape.dim[axis];
    ref_around(&n->shape, axis, &outer, &inner);
    for (int k = 0; k < n->n_in; k++) {
        glia_node *x = glia__in(g, n, k);
        const int64_t Dk = x->shape.dim[axis];
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < Dk; j++)
                for (int64_t i = 0; i < inner; i++) {
                    int64_t yi = (o * D + off + j) * inner + i, xi = (o * Dk + j) * inner + i;
                    if (!backward) n->val[yi] = x->val[xi];
                    else if (x->grad) x->grad[xi] += n->grad[yi];
                }
        off += Dk;
    }
}
static glia_status concat_forward(glia_graph *g, glia_node *n) {
    concat_move(g, n, 0);
    return GLIA_OK;
}
static void concat_backward(glia_graph *g, glia_node *n) { concat_move(g, n, 1); }

const glia_kernel glia__ref_concat = {concat_forward, concat_backward};

static void slice_move(glia_graph *g, glia_node *n, int backward) {
    glia_node *x = glia__in(g, n, 0);
    const int axis = slice_axis(n);
    int64_t outer, inner;
    const int64_t D = x->shape.dim[axis], Dy = n->shape.dim[axis], start = slice_start(n);
    ref_around(&x->shape, axis, &outer, &inner);
    if (backward && !x->grad) return;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < Dy; j++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t yi = (o * Dy + j) * inner + i, xi = (o * D + start + j) * inner + i;
                if (!backward) n->val[yi] = x->val[xi];
                else x->grad[xi] += n->grad[yi];
            }
}
static glia_status slice_forward(glia_graph *g, glia_node *n) {
    slice_move(g, n, 0);
    return GLIA_OK;
}
static void slice_backward(glia_graph *g, glia_node *n) { slice_move(g, n, 1); }

const glia_kernel glia__ref_slice = {slice_forward, slice_backward};

/* ---------------------------------------------------------------- reshape, time_flatten
 * The same values in the same order under another shape: y[i] = x[i], dx[i] += dy[i]. */
static glia_status same_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0);
    for (int64_t i = 0; i < glia__numel(n); i++) n->val[i] = x[i];
    return GLIA_OK;
}
static void same_backward(glia_graph *g, glia_node *n) {
    float *dx = ref_dx(g, n, 0);
    if (!dx) return;
    for (int64_t i = 0; i < glia__numel(n); i++) dx[i] += n->grad[i];
}

const glia_kernel glia__ref_reshape = {same_forward, same_backward};
const glia_kernel glia__ref_time_flatten = {same_forward, same_backward};

/* ---------------------------------------------------------------- transpose
 * y[i] = x[j] with j's digit perm[k] = i's digit k (digits in each tensor's own shape);
 * backward dx[j] += dy[i]. */
static void transpose_move(glia_graph *g, glia_node *n, int backward) {
    glia_node *x = glia__in(g, n, 0);
    const int r = n->shape.ndim;
    if (backward && !x->grad) return;
    for (int64_t i = 0; i < glia__numel(n); i++) {
        int64_t digit[GLIA_MAX_DIMS], rem = i, j = 0;
        for (int k = r - 1; k >= 0; k--) {
            digit[k] = rem % n->shape.dim[k];
            rem /= n->shape.dim[k];
        }
        int64_t xd[GLIA_MAX_DIMS];
        for (int k = 0; k < r; k++) xd[n->ia[TRANSPOSE_PERM + 1 + k]] = digit[k];
        for (int d = 0; d < r; d++) j = j * x->shape.dim[d] + xd[d];
        if (!backward) n->val[i] = x->val[j];
        else x->grad[j] += n->grad[i];
    }
}
static glia_status transpose_forward(glia_graph *g, glia_node *n) {
    transpose_move(g, n, 0);
    return GLIA_OK;
}
static void transpose_backward(glia_graph *g, glia_node *n) { transpose_move(g, n, 1); }

const glia_kernel glia__ref_transpose = {transpose_forward, transpose_backward};

/* ---------------------------------------------------------------- matmul
 *   y[b, m, n] = sum_k a[b, m, k] b[b, k, n];  da[b, m, k] += sum_n dy[b, m, n] b[b, k, n];
 *   db[b, k, n] += sum_m a[b, m, k] dy[b, m, n]   (sums in double) */
static void matmul_dims(const glia_node *a, const glia_node *y, int64_t *M, int64_t *K, int64_t *N, int64_t *B) {
    int r = a->shape.ndim;
    *M = a->shape.dim[r - 2];
    *K = a->shape.dim[r - 1];
    *N = y->shape.dim[r - 1];
    *B = glia__numel(y) / (*M * *N);
}
static glia_status matmul_forward(glia_graph *g, glia_node *n) {
    const glia_node *A = glia__in(g, n, 0), *Bn = glia__in(g, n, 1);
    int64_t M, K, N, B;
    matmul_dims(A, n, &M, &K, &N, &B);
    for (int64_t b = 0; b < B; b++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++) s += (double)A->val[(b * M + m) * K + k] * Bn->val[(b * K + k) * N + j];
                n->val[(b * M + m) * N + j] = (float)s;
            }
    return GLIA_OK;
}
static void matmul_backward(glia_graph *g, glia_node *n) {
    glia_node *A = glia__in(g, n, 0), *Bn = glia__in(g, n, 1);
    int64_t M, K, N, B;
    matmul_dims(A, n, &M, &K, &N, &B);
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < K; k++) {
            for (int64_t m = 0; A->grad && m < M; m++) {
                double s = 0;
                for (int64_t j = 0; j < N; j++) s += (double)n->grad[(b * M + m) * N + j] * Bn->val[(b * K + k) * N + j];
                A->grad[(b * M + m) * K + k] += (float)s;
            }
            for (int64_t j = 0; Bn->grad && j < N; j++) {
                double s = 0;
                for (int64_t m = 0; m < M; m++) s += (double)A->val[(b * M + m) * K + k] * n->grad[(b * M + m) * N + j];
                Bn->grad[(b * K + k) * N + j] += (float)s;
            }
        }
}

const glia_kernel glia__ref_matmul = {matmul_forward, matmul_backward};
