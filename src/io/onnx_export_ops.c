/* onnx_export_ops.c: the glia ops that ONNX has no op for, exported as calls of model-local
 * functions (ONNX IR 8): each such node becomes one node of domain "ai.glia" whose function
 * body computes the op with ONNX's own ops (opset 13), so that any runtime (onnxruntime,
 * onnx.checker, ...) runs it, while glia's importer reads the call itself (its attributes
 * glia_op, ia, fa are the node's op and attributes) and gets the very same glia op back. One
 * function per node (op_type "<op>_<k>"): the bodies bake in shapes, masks and the steps of an
 * unrolled loop.
 *
 *   binarize       s = ReduceMean(|x|) over all axes but 0 (scaled), y = Where(x < 0, -1, 1) s
 *   embedding_bag  y = ReduceSum(Gather(w, Cast(Relu(ids))) * (ids > -0.5), axis -2)  (-1: empty)
 *   local2d        col = Concat over (i, j) of Slice(Pad(x)) [N, C, kh kw, OH, OW] -> [N, K, L];
 *                  y[n,o,p] = sum_k w[p,o,k] col[n,k,p]: a MatMul batched over positions p
 *   attention      e = q.k (dot), (q W).k (general), v.tanh(Wq q + Wk k) (additive) as MatMuls
 *                  over [N, T, S], masked to s < L_n with Where, Softmax(axis -1), c = a k
 *   clockwork      unrolled over the model's T steps (the fixed [net] sequence): per step
 *                  a = x W_ih^T + b + h (W_hh masked)^T, the active units [0, e_t) tanh(a), the
 *                  others keep h (Concat); the clock starts at 0
 *   XNOR conv2d, dense (both operands binarize nodes): Conv / MatMul of the signs (exact
 *                  integers) times s_n alpha_o, as glia's packed kernels compute them
 *   scrn           unrolled: s_t = (1 - a) x B^T + a s_{t-1}, h_t = sigmoid(x A^T + b + s P^T +
 *                  h R^T), y_t = [h_t, s_t]
 *                  (both: the reverse direction on ReverseSequence of x, its output reversed back)
 *   seq_last       y[L_n - 1] by GatherElements along time (the reverse half: y[0]), when y is
 *                  not an ONNX RNN/LSTM/GRU node's (whose Y_h onnx_export.c reads)
 *   seq_pool       ReduceSum / L_n or ReduceMax over time, the padding steps 0 or -inf
 *   maxout         ReduceMax over k of x seen as [N, M, k, ...]
 * (And sqrt, div and matmul, the ops glia's importer makes of ONNX's, as those ONNX ops.)
 * Recurrent ops: their state inputs (h0, the clock, s0: zeros unless a caller
 * carries a state) are left out, as for ONNX's LSTM (the call's ia says has_h0 = has_c0 = 0, so
 * that import builds the op without them: the same outputs). Lengths: the outputs at t >= L_n
 * are 0 (Where); the states past a sequence's end are never read, since every later step is
 * padding too. Unrolling (rather than ONNX's Loop or Scan) keeps the bodies to plain ops that
 * every runtime runs and that need no subgraphs. */
#include "onnx_export_internal.h"
#include "ops/rnn_common.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- body pieces
 * Each returns the name of its output (a fresh local name), NULL out of memory. */
static const char *fresh(ex_ctx *c) { return ex_fmt(c, "v%d", c->tmp++); }

static const char *op_at(ex_ctx *c, const char *op, const char *const *in, Onnx__AttributeProto *a0,
                         Onnx__AttributeProto *a1) {
    const char *y = fresh(c);
    Onnx__AttributeProto *at[3] = {a0, a1, NULL};
    return y && add_node(c, op, y, in, y, at) ? y : NULL;
}
static const char *op1(ex_ctx *c, const char *op, const char *a) {
    const char *in[2] = {a, NULL};
    return a ? op_at(c, op, in, NULL, NULL) : NULL;
}
static const char *op2(ex_ctx *c, const char *op, const char *a, const char *b) {
    const char *in[3] = {a, b, NULL};
    return a && b ? op_at(c, op, in, NULL, NULL) : NULL;
}
/* a Constant node (functions have no initialisers): float values f or int64 values i */
static const char *k_tensor(ex_ctx *c, int ndim, const int64_t *dims, const float *f, const int64_t *i) {
    const char *y = fresh(c), *none[1] = {NULL};
    Onnx__AttributeProto *at[2] = {attr_base(c, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR), NULL};
    if (!y || !at[0] || !(at[0]->t = tensor(c, y, ndim, dims, f, i))) return NULL;
    return add_node(c, "Constant", y, none, y, at) ? y : NULL;
}
static const char *k_ints(ex_ctx *c, int n, const int64_t *v) {
    int64_t d[1] = {n};
    return k_tensor(c, 1, d, NULL, v);
}
static const char *k_float(ex_ctx *c, float v) { return k_tensor(c, 0, NULL, &v, NULL); }
static const char *transpose(ex_ctx *c, const char *x, int n, const int64_t *perm) {
    const char *in[2] = {x, NULL};
    return x ? op_at(c, "Transpose", in, attr_ints(c, "perm", n, perm), NULL) : NULL;
}
static const char *reshape(ex_ctx *c, const char *x, int n, const int64_t *dims) {
    return op2(c, "Reshape", x, k_ints(c, n, dims));
}
/* x[..., b:e, ...] along axis (step 1, or `step`) */
static const char *slice(ex_ctx *c, const char *x, int64_t axis, int64_t b, int64_t e, int64_t step) {
    const char *in[6] = {x, k_ints(c, 1, &b), k_ints(c, 1, &e), k_ints(c, 1, &axis), k_ints(c, 1, &step), NULL};
    return x && in[1] && in[2] && in[3] && in[4] ? op_at(c, "Slice", in, NULL, NULL) : NULL;
}
static const char *concat(ex_ctx *c, const char *const *in, int64_t axis) {
    return op_at(c, "Concat", in, attr_i(c, "axis", axis), NULL);
}
static const char *cast(ex_ctx *c, const char *x, int to) {
    const char *in[2] = {x, NULL};
    return x ? op_at(c, "Cast", in, attr_i(c, "to", to), NULL) : NULL;
}
static const char *where(ex_ctx *c, const char *cond, const char *a, const char *b) {
    const char *in[4] = {cond, a, b, NULL};
    return cond && a && b ? op_at(c, "Where", in, NULL, NULL) : NULL;
}
static const char *matmul_t(ex_ctx *c, const char *x, const char *w) { /* x w^T, w [out, in] */
    return op2(c, "MatMul", x, transpose(c, w, 2, (int64_t[]){1, 0}));
}
/* the live steps t < L_n of [T, N, ...] as booleans [T, N, 1]; lengths: floats [N] */
static const char *live_steps(ex_ctx *c, const char *lengths, int64_t T) {
    float *t = glia__malloc((size_t)T * sizeof *t);
    if (!t) return NULL;
    for (int64_t i = 0; i < T; i++) t[i] = (float)i;
    const char *tt = k_tensor(c, 3, (int64_t[]){T, 1, 1}, t, NULL);
    free(t);
    return op2(c, "Less", tt, reshape(c, lengths, 3, (int64_t[]){1, -1, 1}));
}
/* y [T, N, ...] with the padding steps t >= L_n set to 0 */
static const char *mask_steps(ex_ctx *c, const char *y, const char *lengths, int64_t T) {
    return where(c, live_steps(c, lengths, T), y, k_float(c, 0.0f));
}

/* ---------------------------------------------------------------- bodies
 * x[k]: the function's input for the glia node's input k (NULL: left out); the body's last
 * node writes "y". */
typedef const char *(*body_fn)(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x);

static const char *body_binarize(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    int r = g->nodes[n->in[0]].shape.ndim;
    const char *sgn = where(c, op2(c, "Less", x[0], k_float(c, 0.0f)), k_float(c, -1.0f), k_float(c, 1.0f));
    if (!n->ia[BIN_SCALED]) return sgn;
    const char *s = op1(c, "Abs", x[0]);
    if (r > 1) { /* s_g = mean |x_g.| over the slice of dim 0 */
        int64_t ax[GLIA_MAX_DIMS];
        for (int d = 1; d < r; d++) ax[d - 1] = d;
        const char *in[2] = {s, NULL};
        s = s ? op_at(c, "ReduceMean", in, attr_ints(c, "axes", r - 1, ax), attr_i(c, "keepdims", 1)) : NULL;
    }
    return op2(c, "Mul", sgn, s);
}

static const char *body_embedding_bag(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    int64_t r = g->nodes[n->in[0]].shape.ndim;
    const char *ids = cast(c, op1(c, "Relu", x[0]), ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    const char *rows = op2(c, "Gather", x[1], ids);                      /* [..., K, E] */
    const char *live = cast(c, op2(c, "Greater", x[0], k_float(c, -0.5f)), ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    const char *m = op2(c, "Unsqueeze", live, k_ints(c, 1, &r));        /* [..., K, 1] */
    int64_t ax = r - 1;
    const char *in[3] = {op2(c, "Mul", rows, m), k_ints(c, 1, &ax), NULL};
    return in[0] && in[1] ? op_at(c, "ReduceSum", in, attr_i(c, "keepdims", 0), NULL) : NULL;
}

static const char *body_local2d(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    const glia_shape *xs = &g->nodes[n->in[0]].shape, *ws = &g->nodes[n->in[1]].shape;
    const int64_t C = xs->dim[1], kh = n->ia[LOCAL_KERNEL_H], kw = n->ia[LOCAL_KERNEL_W];
    const int64_t sh = n->ia[LOCAL_STRIDE_H], sw = n->ia[LOCAL_STRIDE_W], ph = n->ia[LOCAL_PAD_H], pw = n->ia[LOCAL_PAD_W];
    const int64_t O = n->shape.dim[1], OH = n->shape.dim[2], OW = n->shape.dim[3], L = ws->dim[0];
    const char *xp = x[0];
    if (ph || pw) xp = op2(c, "Pad", xp, k_ints(c, 8, (int64_t[]){0, 0, ph, pw, 0, 0, ph, pw}));
    const char **parts = ex_alloc(c, (size_t)(kh * kw + 1) * sizeof *parts);
    if (!parts || !xp) return NULL;
    int64_t two = 2;
    for (int64_t i = 0; i < kh; i++)
        for (int64_t j = 0; j < kw; j++) { /* col rows (c, i, j): x[n, c, oh sh + i, ow sw + j] */
            const char *s = slice(c, slice(c, xp, 2, i, i + sh * (OH - 1) + 1, sh), 3, j, j + sw * (OW - 1) + 1, sw);
            if (!(parts[i * kw + j] = op2(c, "Unsqueeze", s, k_ints(c, 1, &two)))) return NULL;
        }
    const char *col = reshape(c, concat(c, parts, 2), 3, (int64_t[]){0, C * kh * kw, L});   /* [N, K, L] */
    const char *z = op2(c, "MatMul", transpose(c, col, 3, (int64_t[]){2, 0, 1}),           /* [L, N, K] */
                        transpose(c, x[1], 3, (int64_t[]){0, 2, 1}));                       /* [L, K, O] */
    const char *y = reshape(c, transpose(c, z, 3, (int64_t[]){1, 2, 0}), 4, (int64_t[]){0, O, OH, OW});
    return n->n_in > 2 ? op2(c, "Add", y, x[2]) : y;
}

static const char *body_attention(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    const int score = n->ia[ATTENTION_SCORE], n_par = score == GLIA_ATTENTION_DOT ? 0 : score == GLIA_ATTENTION_GENERAL ? 1 : 3;
    const int64_t S = g->nodes[n->in[1]].shape.dim[0];
    const int64_t nts[3] = {1, 0, 2};
    const char *q = transpose(c, x[0], 3, nts), *k = transpose(c, x[1], 3, nts); /* [N, T, Dq], [N, S, Dk] */
    const char *kT = transpose(c, k, 3, (int64_t[]){0, 2, 1});                   /* [N, Dk, S] */
    const char *e;                                                                /* [N, T, S] */
    if (score == GLIA_ATTENTION_DOT) e = op2(c, "MatMul", q, kT);
    else if (score == GLIA_ATTENTION_GENERAL) e = op2(c, "MatMul", op2(c, "MatMul", q, x[2]), kT);
    else { /* v . tanh(Wq q_t + Wk k_s): [N, T, 1, A] + [N, 1, S, A] */
        int64_t two = 2, one = 1;
        const char *pq = op2(c, "Unsqueeze", matmul_t(c, q, x[2]), k_ints(c, 1, &two));
        const char *pk = op2(c, "Unsqueeze", matmul_t(c, k, x[3]), k_ints(c, 1, &one));
        e = op2(c, "MatMul", op1(c, "Tanh", op2(c, "Add", pq, pk)), x[4]);
    }
    if (n->n_in > 2 + n_par) { /* the live steps s < L_n only */
        float *s = glia__malloc((size_t)S * sizeof *s);
        if (!s) return NULL;
        for (int64_t i = 0; i < S; i++) s[i] = (float)i;
        const char *ss = k_tensor(c, 1, &S, s, NULL);
        free(s);
        const char *live = op2(c, "Less", ss, reshape(c, x[2 + n_par], 3, (int64_t[]){-1, 1, 1}));
        e = where(c, live, e, k_float(c, -1e30f)); /* exp(-1e30 - max) = 0 */
    }
    const char *in[2] = {e, NULL};
    const char *a = e ? op_at(c, "Softmax", in, attr_i(c, "axis", -1), NULL) : NULL;
    return transpose(c, op2(c, "MatMul", a, k), 3, nts); /* [N, T, Dk] -> [T, N, Dk] */
}

/* conv2d and dense whose operands are both binarize nodes (XNOR-Net), as glia runs them
 * (binary_conv.c): the product of the signs, an integer that float sums hold exactly, times
 * s_n alpha_o. (Multiplying the +-s values in floats would round an exact 0, which the next
 * binarize maps to +1, to +-1e-9: a sign flip.) s and alpha: max |value| of the +-s slices. */
static const char *body_xnor(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    const int rx = g->nodes[n->in[0]].shape.ndim, rw = g->nodes[n->in[1]].shape.ndim;
    const char *sg[2], *sc[2];
    for (int k = 0; k < 2; k++) {
        int r = k ? rw : rx;
        int64_t ax[GLIA_MAX_DIMS];
        for (int d = 1; d < r; d++) ax[d - 1] = d;
        const char *in[2] = {op1(c, "Abs", x[k]), NULL};
        sg[k] = where(c, op2(c, "Less", x[k], k_float(c, 0.0f)), k_float(c, -1.0f), k_float(c, 1.0f));
        sc[k] = in[0] ? op_at(c, "ReduceMax", in, attr_ints(c, "axes", r - 1, ax), attr_i(c, "keepdims", 0)) : NULL;
    }
    const char *z, *s;
    if (n->op == GLIA_OP_dense) { /* [N, K] . [O, K]^T, then s [N, 1] alpha [O] */
        const char *in[2] = {sg[0], NULL};
        const char *flat = sg[0] && rx > 2 ? op_at(c, "Flatten", in, attr_i(c, "axis", 1), NULL) : sg[0];
        z = matmul_t(c, flat, sg[1]);
        s = op2(c, "Mul", reshape(c, sc[0], 2, (int64_t[]){-1, 1}), sc[1]);
    } else { /* Conv of the signs, then s [N, 1, 1, 1] alpha [1, O, 1, 1] */
        const glia_node *w = &g->nodes[n->in[1]];
        const char *in[3] = {sg[0], sg[1], NULL};
        int64_t pads[4] = {n->ia[CONV_PAD_TOP], n->ia[CONV_PAD_LEFT], n->ia[CONV_PAD_BOTTOM], n->ia[CONV_PAD_RIGHT]};
        Onnx__AttributeProto *at[6] = {
            attr_ints(c, "strides", 2, (int64_t[]){n->ia[CONV_STRIDE_H], n->ia[CONV_STRIDE_W]}),
            attr_ints(c, "pads", 4, pads), attr_ints(c, "kernel_shape", 2, w->shape.dim + 2),
            attr_ints(c, "dilations", 2, (int64_t[]){n->ia[CONV_DILATION_H], n->ia[CONV_DILATION_W]}),
            attr_i(c, "group", n->ia[CONV_GROUPS]), NULL};
        const char *y = fresh(c);
        z = sg[0] && sg[1] && y && add_node(c, "Conv", y, in, y, at) ? y : NULL;
        s = op2(c, "Mul", reshape(c, sc[0], 4, (int64_t[]){-1, 1, 1, 1}), reshape(c, sc[1], 4, (int64_t[]){1, -1, 1, 1}));
    }
    const char *y = op2(c, "Mul", z, s);
    if (n->n_in > 2 && n->op == GLIA_OP_conv2d) y = op2(c, "Add", y, reshape(c, x[2], 3, (int64_t[]){-1, 1, 1}));
    else if (n->n_in > 2) y = op2(c, "Add", y, x[2]);
    return y;
}

/* the lengths input of a recurrent op (after x, the parameters and the states that are left
 * out), NULL without */
static const char *rec_lengths(const glia_node *n, const char *const *x) {
    return n->ia[RNN_HAS_LENGTHS] ? x[n->n_in - 1] : NULL;
}
/* v [T, N, ...] with each sequence's live steps t < L_n in reverse order (ReverseSequence; the
 * padding stays), or all T steps without lengths */
static const char *reverse_steps(ex_ctx *c, const char *v, const char *lengths) {
    if (!lengths) return slice(c, v, 0, -1, INT64_MIN, -1);
    const char *in[3] = {v, cast(c, lengths, ONNX__TENSOR_PROTO__DATA_TYPE__INT64), NULL};
    return v && in[1] ? op_at(c, "ReverseSequence", in, attr_i(c, "batch_axis", 1), attr_i(c, "time_axis", 0)) : NULL;
}

/* one direction of a clockwork layer over x [T, N, I] in its own step order, from h = 0 with
 * the clock at 0; p: W_ih, W_hh, b_ih, b_hh */
static const char *clockwork_dir(ex_ctx *c, const glia_node *n, const char *x, const char *const *p) {
    const int64_t T = n->shape.dim[0], H = n->ia[RNN_HIDDEN];
    const int mods = n->ia[RNN_MODULES], base = n->ia[RNN_PERIOD_BASE];
    /* W_hh's block upper triangle: row r of module i reads columns >= s_i = floor(i H / g) */
    float *mask = glia__malloc((size_t)(H * H) * sizeof *mask);
    const char **ys = ex_alloc(c, (size_t)(T + 1) * sizeof *ys);
    if (!mask || !ys) {
        free(mask);
        return NULL;
    }
    for (int i = 0; i < mods; i++) {
        int64_t s = (int64_t)i * H / mods, e = (int64_t)(i + 1) * H / mods;
        for (int64_t r = s; r < e; r++)
            for (int64_t col = 0; col < H; col++) mask[r * H + col] = col >= s ? 1.0f : 0.0f;
    }
    const char *wm = op2(c, "Mul", p[1], k_tensor(c, 2, (int64_t[]){H, H}, mask, NULL));
    free(mask);
    const char *wmT = transpose(c, wm, 2, (int64_t[]){1, 0});
    const char *xw = op2(c, "Add", matmul_t(c, x, p[0]), op2(c, "Add", p[2], p[3])); /* [T, N, H] */
    const char *h = NULL;
    for (int64_t t = 0; t < T; t++) {
        const char *a = slice(c, xw, 0, t, t + 1, 1); /* [1, N, H] */
        if (h) a = op2(c, "Add", a, op2(c, "MatMul", h, wmT));
        int e = glia__clockwork_end((int)t, (int)H, mods, base); /* active units [0, e) */
        if (e >= H) h = op1(c, "Tanh", a);
        else {
            const char *in[3] = {op1(c, "Tanh", slice(c, a, 2, 0, e, 1)), slice(c, h, 2, e, H, 1), NULL};
            h = in[0] && in[1] ? concat(c, in, 2) : NULL;
        }
        if (!(ys[t] = h)) return NULL;
    }
    return concat(c, ys, 0);
}

/* one direction of an SCRN layer, from h = s = 0; p: B, A, P, R, b */
static const char *scrn_dir(ex_ctx *c, const glia_node *n, const char *x, const char *const *p) {
    const int64_t T = n->shape.dim[0];
    const float al = n->fa[SCRN_ALPHA];
    const char **ys = ex_alloc(c, (size_t)(T + 1) * sizeof *ys);
    if (!ys) return NULL;
    const char *u = op2(c, "Mul", matmul_t(c, x, p[0]), k_float(c, 1.0f - al)); /* (1 - a) x B^T */
    const char *xa = op2(c, "Add", matmul_t(c, x, p[1]), p[4]);                  /* x A^T + b */
    const char *pT = transpose(c, p[2], 2, (int64_t[]){1, 0}), *rT = transpose(c, p[3], 2, (int64_t[]){1, 0});
    const char *ka = k_float(c, al), *h = NULL, *s = NULL;
    for (int64_t t = 0; t < T; t++) {
        const char *ut = slice(c, u, 0, t, t + 1, 1);
        s = s ? op2(c, "Add", ut, op2(c, "Mul", s, ka)) : ut;
        const char *z = op2(c, "Add", slice(c, xa, 0, t, t + 1, 1), op2(c, "MatMul", s, pT));
        if (h) z = op2(c, "Add", z, op2(c, "MatMul", h, rT));
        h = op1(c, "Sigmoid", z);
        const char *in[3] = {h, s, NULL};
        if (!h || !s || !(ys[t] = concat(c, in, 2))) return NULL;
    }
    return concat(c, ys, 0);
}

/* clockwork, scrn: each direction over its steps (the reverse one on each sequence reversed: it
 * starts at the sequence's last live step, with the clockwork's step count k = L_n - 1 - t
 * counting from there), [forward, reverse] along the features, padding steps 0 */
static const char *body_cell(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    (void)g;
    const int per = n->op == GLIA_OP_scrn ? 5 : 4, dirs = n->ia[RNN_DIRS];
    const char *len = rec_lengths(n, x), *yd[3] = {NULL};
    for (int d = 0; d < dirs; d++) {
        const char *xin = d ? reverse_steps(c, x[0], len) : x[0];
        const char *y = xin ? (n->op == GLIA_OP_scrn ? scrn_dir : clockwork_dir)(c, n, xin, x + 1 + d * per) : NULL;
        if (!(yd[d] = d ? reverse_steps(c, y, len) : y)) return NULL;
    }
    const char *y = dirs > 1 ? concat(c, yd, 2) : yd[0];
    return len ? mask_steps(c, y, len, n->shape.dim[0]) : y;
}

/* seq_last of what is not an ONNX recurrent node's output: y[L_n - 1, n, :Dh] (GatherElements
 * along time), then y[0, n, Dh:] when bidirectional */
static const char *body_seq_last(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    const glia_shape *ys = &g->nodes[n->in[0]].shape;
    const int64_t T = ys->dim[0], D = ys->dim[2], dirs = n->ia[SEQ_LAST_DIRS], Dh = D / dirs;
    const char *yf = dirs > 1 ? slice(c, x[0], 2, 0, Dh, 1) : x[0], *last[3] = {NULL};
    if (n->n_in > 1) {
        const char *i = op2(c, "Sub", cast(c, x[1], ONNX__TENSOR_PROTO__DATA_TYPE__INT64), k_tensor(c, 0, NULL, NULL, (int64_t[]){1}));
        i = op2(c, "Expand", reshape(c, i, 3, (int64_t[]){1, -1, 1}), op1(c, "Shape", slice(c, yf, 0, 0, 1, 1)));
        const char *in[3] = {yf, i, NULL};
        last[0] = yf && i ? op_at(c, "GatherElements", in, attr_i(c, "axis", 0), NULL) : NULL;
    } else last[0] = slice(c, yf, 0, T - 1, T, 1);
    if (dirs > 1) last[1] = slice(c, slice(c, x[0], 2, Dh, D, 1), 0, 0, 1, 1);
    const char *y = dirs > 1 ? (last[0] && last[1] ? concat(c, last, 2) : NULL) : last[0];
    int64_t zero = 0;
    return op2(c, "Squeeze", y, k_ints(c, 1, &zero)); /* [N, D] */
}

/* seq_pool: the mean (ReduceSum / L_n) or max over the live steps (padding as 0 or -inf) */
static const char *body_seq_pool(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    const bool max = n->ia[SEQ_POOL_MODE] == GLIA_SEQ_POOL_MAX;
    const int64_t T = g->nodes[n->in[0]].shape.dim[0];
    const char *y = x[0];
    if (n->n_in > 1) y = where(c, live_steps(c, x[1], T), y, k_float(c, max ? -HUGE_VALF : 0.0f));
    const char *in[2] = {y, NULL};
    int64_t zero = 0;
    Onnx__AttributeProto *ax = attr_ints(c, "axes", 1, &zero), *kd = attr_i(c, "keepdims", 0);
    if (!y) return NULL;
    if (max) return op_at(c, "ReduceMax", in, ax, kd);
    if (n->n_in == 1) return op_at(c, "ReduceMean", in, ax, kd);
    return op2(c, "Div", op_at(c, "ReduceSum", (const char *[]){y, k_ints(c, 1, &zero), NULL}, kd, NULL),
               reshape(c, x[1], 2, (int64_t[]){-1, 1}));
}

/* maxout: x [N, M k, ...] as [N, M, k, ...], the max over k */
static const char *body_maxout(ex_ctx *c, glia_graph *g, const glia_node *n, const char *const *x) {
    const glia_shape *xs = &g->nodes[n->in[0]].shape;
    const int64_t k = n->ia[MAXOUT_K];
    int64_t dims[GLIA_MAX_DIMS + 1] = {0, xs->dim[1] / k, k}, two = 2;
    for (int d = 2; d < xs->ndim; d++) dims[d + 1] = xs->dim[d];
    const char *in[2] = {reshape(c, x[0], xs->ndim + 1, dims), NULL};
    return in[0] ? op_at(c, "ReduceMax", in, attr_ints(c, "axes", 1, &two), attr_i(c, "keepdims", 0)) : NULL;
}

/* ---------------------------------------------------------------- the call */
static Onnx__AttributeProto *attr_floats(ex_ctx *c, const char *name, int n, const float *v) {
    Onnx__AttributeProto *a = attr_base(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    if (!a || !(a->floats = ex_alloc(c, (size_t)n * sizeof *a->floats))) return NULL;
    memcpy(a->floats, v, (size_t)n * sizeof *a->floats);
    a->n_floats = (size_t)n;
    return a;
}

glia_status glia__onnx_export_fn(ex_ctx *c, glia_graph *g, const glia_node *n, bool *done) {
    body_fn body;
    bool rec = false;
    switch (n->op) {
    case GLIA_OP_binarize: body = body_binarize; break;
    case GLIA_OP_embedding_bag: body = body_embedding_bag; break;
    case GLIA_OP_local2d: body = body_local2d; break;
    case GLIA_OP_attention: body = body_attention; break;
    case GLIA_OP_clockwork:
    case GLIA_OP_scrn: body = body_cell, rec = true; break;
    case GLIA_OP_sqrt:
    case GLIA_OP_div:
    case GLIA_OP_matmul: { /* ONNX's own (what import made them of), one to one */
        const char *in[3] = {g->nodes[n->in[0]].name, n->n_in > 1 ? g->nodes[n->in[1]].name : NULL, NULL};
        *done = true;
        return add_node(c, n->op == GLIA_OP_sqrt ? "Sqrt" : n->op == GLIA_OP_div ? "Div" : "MatMul", n->name, in, n->name, NULL)
                   ? GLIA_OK
                   : glia__err(GLIA_ENOMEM, "onnx export: out of memory at %s", glia__where(g, n));
    }
    case GLIA_OP_seq_pool: body = body_seq_pool; break;
    case GLIA_OP_maxout: body = body_maxout; break;
    case GLIA_OP_seq_last: { /* an ONNX RNN/LSTM/GRU's Y_h does it in onnx_export.c */
        const glia_node *r = &g->nodes[n->in[0]];
        if (r->kind == NODE_OP && (r->op == GLIA_OP_lstm || r->op == GLIA_OP_gru || r->op == GLIA_OP_rnn) &&
            r->ia[RNN_DIRS] == n->ia[SEQ_LAST_DIRS]) {
            *done = false;
            return GLIA_OK;
        }
        body = body_seq_last;
        break;
    }
    case GLIA_OP_conv2d:
    case GLIA_OP_dense: {
        const glia_node *a = &g->nodes[n->in[0]], *b = &g->nodes[n->in[1]];
        if (a->kind == NODE_OP && a->op == GLIA_OP_binarize && b->kind == NODE_OP && b->op == GLIA_OP_binarize) {
            body = body_xnor;
            break;
        }
        *done = false;
        return GLIA_OK;
    }
    default: *done = false; return GLIA_OK;
    }
    *done = true;
    const char *op = glia__ops[n->op]->name;
    int64_t ia[GLIA_IA];
    float fa[GLIA_FA];
    for (int k = 0; k < GLIA_IA; k++) ia[k] = n->ia[k];
    for (int k = 0; k < GLIA_FA; k++) fa[k] = n->fa[k];
    bool keep[GLIA_MAX_INPUTS];
    for (int k = 0; k < n->n_in; k++) keep[k] = true;
    if (rec) {
        int k = 1 + n->ia[RNN_DIRS] * (n->op == GLIA_OP_scrn ? 5 : 4); /* x, the parameters, then h0?, c0?, lengths? */
        for (int st = 0; st < 2; st++) {
            int flag = st ? RNN_HAS_C0 : RNN_HAS_H0;
            if (!n->ia[flag]) continue;
            if (!glia_node_is_state(g, n->in[k]))
                return glia__err(GLIA_EINVAL, "onnx export: %s: an initial state other than a carried state "
                                 "input (the file starts from zeros)", glia__where(g, n));
            keep[k++] = false, ia[flag] = 0;
        }
    }
    /* the body, written into its own node list */
    Onnx__NodeProto **gn = c->nodes;
    size_t gn_n = c->n_nodes, gn_cap = c->cap_nodes;
    c->nodes = NULL, c->n_nodes = c->cap_nodes = 0;
    const char *x[GLIA_MAX_INPUTS + 1] = {NULL}, *formal[GLIA_MAX_INPUTS + 1] = {NULL}, *actual[GLIA_MAX_INPUTS + 1] = {NULL};
    int nf = 0;
    for (int k = 0; k < n->n_in; k++)
        if (keep[k]) {
            x[k] = formal[nf] = ex_fmt(c, "x%d", k);
            actual[nf++] = g->nodes[n->in[k]].name;
        }
    const char *out = body(c, g, n, x);
    const char *id_in[2] = {out, NULL};
    bool ok = out && add_node(c, "Identity", "y", id_in, "y", NULL);
    Onnx__NodeProto **bn = c->nodes;
    size_t bn_n = c->n_nodes;
    c->nodes = gn, c->n_nodes = gn_n, c->cap_nodes = gn_cap;

    Onnx__FunctionProto *fp = ex_alloc(c, sizeof *fp);
    Onnx__OperatorSetIdProto *os = ex_alloc(c, sizeof *os);
    Onnx__OperatorSetIdProto **osl = ex_alloc(c, sizeof *osl);
    char **fin = ex_alloc(c, (size_t)(nf + 1) * sizeof *fin), **fout = ex_alloc(c, sizeof *fout);
    char **fat = ex_alloc(c, 3 * sizeof *fat);
    if (!ok || !fp || !os || !osl || !fin || !fout || !fat) return glia__err(GLIA_ENOMEM, "onnx export: out of memory at %s", glia__where(g, n));
    onnx__function_proto__init(fp);
    onnx__operator_set_id_proto__init(os);
    os->domain = ex_str(c, "");
    os->has_version = 1;
    os->version = 13;
    osl[0] = os;
    for (int k = 0; k < nf; k++) fin[k] = (char *)formal[k];
    fout[0] = ex_str(c, "y");
    fat[0] = ex_str(c, "glia_op"), fat[1] = ex_str(c, "ia"), fat[2] = ex_str(c, "fa");
    fp->name = ex_fmt(c, "%s_%zu", op, c->n_fns);
    fp->domain = ex_str(c, GLIA_ONNX_DOMAIN);
    fp->doc_string = ex_fmt(c, "glia's %s: %s", op, glia__ops[n->op]->summary);
    fp->input = fin, fp->n_input = (size_t)nf;
    fp->output = fout, fp->n_output = 1;
    fp->attribute = fat, fp->n_attribute = 3;
    fp->node = bn, fp->n_node = bn_n;
    fp->opset_import = osl, fp->n_opset_import = 1;
    /* the call, named and writing as the glia node */
    Onnx__AttributeProto *at[4] = {attr_s(c, "glia_op", op), attr_ints(c, "ia", GLIA_IA, ia), attr_floats(c, "fa", GLIA_FA, fa), NULL};
    ok = fp->name && at[0] && at[1] && at[2] && ex_push(c, (void ***)&c->fns, &c->n_fns, &c->cap_fns, fp) &&
         add_node(c, fp->name, n->name, actual, n->name, at);
    if (ok) c->nodes[c->n_nodes - 1]->domain = ex_str(c, GLIA_ONNX_DOMAIN);
    return ok && !c->oom ? GLIA_OK : glia__err(GLIA_ENOMEM, "onnx export: out of memory at %s", glia__where(g, n));
}
