/* onnx_export.c: a glia graph as an ONNX model (opset 13, IR 7), written with protobuf-c.
 *
 * The nodes that the chosen outputs depend on are written in graph order: inputs become graph
 * inputs (the batch dimension symbolic, "N"), parameters and buffers initialisers under their
 * node names, ops ONNX nodes whose outputs carry the glia node names, so that glia_onnx_load
 * gives back the same graph (parameter names included). Op by op (glia -> ONNX):
 *   dense          Flatten (rank > 2) then Gemm(transB = 1)
 *   conv2d         Conv (pads top, left, bottom, right; strides, dilations, group)
 *   maxpool2d      MaxPool;  avgpool2d AveragePool(count_include_pad = 1)
 *   batchnorm      BatchNormalization (momentum = 1 - glia's: ONNX weighs the running value)
 *   scale          Mul by a constant;  reshape Reshape with 0 for the batch dimension
 *   slice          Slice with constant starts, ends, axes;  transpose Transpose(perm)
 *   dropout        Dropout(ratio) (the identity at inference)
 * and the one-to-one ops (Add, Sub, Mul, Concat, Relu, LeakyRelu, Elu, Sigmoid, Tanh, Identity,
 * Softmax, LogSoftmax along axis 1, GlobalAveragePool, LRN). The ops that ONNX has no op for
 * (binarize, embedding_bag, local2d, attention, clockwork, scrn, seq_pool, maxout, XNOR conv2d
 * and dense, seq_last of those) become calls of model-local functions (onnx_export_ops.c). The
 * losses are an error naming the node. */
#include "onnx_export_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ex_alloc(ex_ctx *c, size_t n) {
    if (c->oom) return NULL;
    void *p = glia__calloc(1, n ? n : 1);
    if (p && c->n_blocks == c->cap_blocks) {
        int cap = c->cap_blocks ? 2 * c->cap_blocks : 256;
        void **nb = glia__realloc(c->blocks, (size_t)cap * sizeof *nb);
        if (!nb) {
            free(p);
            p = NULL;
        } else {
            c->blocks = nb;
            c->cap_blocks = cap;
        }
    }
    if (!p) {
        c->oom = true;
        return NULL;
    }
    c->blocks[c->n_blocks++] = p;
    return p;
}
char *ex_str(ex_ctx *c, const char *s) {
    size_t n = strlen(s);
    char *d = ex_alloc(c, n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}
char *ex_fmt(ex_ctx *c, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ex_str(c, buf);
}
bool ex_push(ex_ctx *c, void ***arr, size_t *n, size_t *cap, void *item) {
    if (!item) return false;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        void **na = ex_alloc(c, nc * sizeof *na);
        if (!na) return false;
        if (*n) memcpy(na, *arr, *n * sizeof *na);
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = item;
    return true;
}

/* ---------------------------------------------------------------- pieces */
Onnx__AttributeProto *attr_base(ex_ctx *c, const char *name, Onnx__AttributeProto__AttributeType t) {
    Onnx__AttributeProto *a = ex_alloc(c, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = ex_str(c, name);
    a->has_type = 1;
    a->type = t;
    return a;
}
Onnx__AttributeProto *attr_i(ex_ctx *c, const char *name, int64_t v) {
    Onnx__AttributeProto *a = attr_base(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a) a->has_i = 1, a->i = v;
    return a;
}
Onnx__AttributeProto *attr_f(ex_ctx *c, const char *name, float v) {
    Onnx__AttributeProto *a = attr_base(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a) a->has_f = 1, a->f = v;
    return a;
}
Onnx__AttributeProto *attr_strings(ex_ctx *c, const char *name, int n, const char *const *v) {
    Onnx__AttributeProto *a = attr_base(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    if (!a || !(a->strings = ex_alloc(c, (size_t)n * sizeof *a->strings))) return NULL;
    for (int i = 0; i < n; i++) {
        char *d = ex_str(c, v[i]);
        if (!d) return NULL;
        a->strings[i] = (ProtobufCBinaryData){strlen(d), (uint8_t *)d};
    }
    a->n_strings = (size_t)n;
    return a;
}
Onnx__AttributeProto *attr_s(ex_ctx *c, const char *name, const char *v) {
    Onnx__AttributeProto *a = attr_base(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *d = ex_str(c, v);
    if (!a || !d) return NULL;
    a->has_s = 1;
    a->s = (ProtobufCBinaryData){strlen(d), (uint8_t *)d};
    return a;
}
Onnx__AttributeProto *attr_ints(ex_ctx *c, const char *name, int n, const int64_t *v) {
    Onnx__AttributeProto *a = attr_base(c, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (!a) return NULL;
    a->ints = ex_alloc(c, (size_t)n * sizeof *a->ints);
    if (!a->ints) return NULL;
    memcpy(a->ints, v, (size_t)n * sizeof *a->ints);
    a->n_ints = (size_t)n;
    return a;
}

bool add_node(ex_ctx *c, const char *op, const char *name, const char *const *in,
                     const char *out, Onnx__AttributeProto *const *attrs) {
    const char *outs[2] = {out, NULL};
    return add_node_n(c, op, name, in, outs, attrs);
}
bool add_node_n(ex_ctx *c, const char *op, const char *name, const char *const *in,
                       const char *const *outs, Onnx__AttributeProto *const *attrs) {
    Onnx__NodeProto *n = ex_alloc(c, sizeof *n);
    if (!n) return false;
    onnx__node_proto__init(n);
    n->op_type = ex_str(c, op);
    n->name = ex_str(c, name);
    size_t ni = 0, na = 0, no = 0;
    while (in[ni]) ni++;
    while (outs[no]) no++;
    while (attrs && attrs[na]) na++;
    n->input = ex_alloc(c, (ni + 1) * sizeof *n->input);
    n->output = ex_alloc(c, (no + 1) * sizeof *n->output);
    n->attribute = ex_alloc(c, (na + 1) * sizeof *n->attribute);
    if (!n->input || !n->output || !n->attribute) return false;
    for (size_t i = 0; i < ni; i++) n->input[i] = ex_str(c, in[i]);
    n->n_input = ni;
    for (size_t i = 0; i < no; i++) n->output[i] = ex_str(c, outs[i]);
    n->n_output = no;
    for (size_t i = 0; i < na; i++) n->attribute[i] = attrs[i];
    n->n_attribute = na;
    return !c->oom && ex_push(c, (void ***)&c->nodes, &c->n_nodes, &c->cap_nodes, n);
}

/* a tensor: float data (f) or int64 data (i) */
Onnx__TensorProto *tensor(ex_ctx *c, const char *name, int ndim, const int64_t *dims, const float *f,
                                 const int64_t *i) {
    Onnx__TensorProto *t = ex_alloc(c, sizeof *t);
    if (!t) return NULL;
    onnx__tensor_proto__init(t);
    t->name = ex_str(c, name);
    t->has_data_type = 1;
    t->data_type = f ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT : ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    t->dims = ex_alloc(c, (size_t)(ndim + 1) * sizeof *t->dims);
    if (!t->dims) return NULL;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) t->dims[d] = dims[d], n *= dims[d];
    t->n_dims = (size_t)ndim;
    /* raw little-endian bytes, as exporters write them (glia runs on little-endian hosts) */
    size_t bytes = (size_t)n * (f ? 4 : 8);
    t->raw_data.data = ex_alloc(c, bytes);
    if (!t->raw_data.data) return NULL;
    memcpy(t->raw_data.data, f ? (const void *)f : (const void *)i, bytes);
    t->raw_data.len = bytes;
    t->has_raw_data = 1;
    return t;
}
/* an initialiser (a parameter or buffer) */
static bool add_init(ex_ctx *c, const char *name, int ndim, const int64_t *dims, const float *f,
                     const int64_t *i) {
    Onnx__TensorProto *t = tensor(c, name, ndim, dims, f, i);
    return t && ex_push(c, (void ***)&c->inits, &c->n_inits, &c->cap_inits, t);
}
static const char *const_ints(ex_ctx *c, int n, const int64_t *v) {
    char *name = ex_fmt(c, "const_%d", c->tmp++);
    int64_t dims[1] = {n};
    return name && add_init(c, name, 1, dims, NULL, v) ? name : NULL;
}
static const char *const_float(ex_ctx *c, float v) {
    char *name = ex_fmt(c, "const_%d", c->tmp++);
    return name && add_init(c, name, 0, NULL, &v, NULL) ? name : NULL;
}

static Onnx__ValueInfoProto *value_info(ex_ctx *c, const glia_node *n, int batch_axis) {
    Onnx__ValueInfoProto *v = ex_alloc(c, sizeof *v);
    Onnx__TypeProto *tp = ex_alloc(c, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ex_alloc(c, sizeof *tt);
    Onnx__TensorShapeProto *sp = ex_alloc(c, sizeof *sp);
    if (!v || !tp || !tt || !sp) return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sp);
    v->name = ex_str(c, n->name);
    v->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sp;
    sp->dim = ex_alloc(c, (size_t)(n->shape.ndim + 1) * sizeof *sp->dim);
    if (!sp->dim) return NULL;
    for (int d = 0; d < n->shape.ndim; d++) {
        Onnx__TensorShapeProto__Dimension *dm = ex_alloc(c, sizeof *dm);
        if (!dm) return NULL;
        onnx__tensor_shape_proto__dimension__init(dm);
        if (d == batch_axis || (d == 0 && batch_axis == -2)) { /* -2: a sequence's rows, T N */
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = ex_str(c, batch_axis == -2 ? "rows" : "N");
        } else {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = n->shape.dim[d];
        }
        sp->dim[d] = dm;
    }
    sp->n_dim = (size_t)n->shape.ndim;
    return v;
}

/* ---------------------------------------------------------------- recurrent ops
 * rnn, lstm, gru -> ONNX RNN, LSTM, GRU (layout 0, time-major as glia): W [dirs, G H, I],
 * R [dirs, G H, H], B [dirs, 2 G H] (bias_ih then bias_hh), LSTM P [dirs, 3H] (p_i, p_o, p_f),
 * gates reordered from PyTorch's (i f g o; r z n) to ONNX's (i o f c; z r h); GRU with
 * linear_before_reset = 1 (PyTorch's cell), 0 with reset_before; LSTM input_forget as glia's. The lengths become sequence_lens (Cast to int32);
 * state inputs (h0, c0: zeros unless a caller carries a state) are left out, so the file starts
 * from zeros; other h0/c0 become initial_h/initial_c. Outputs: Y, and Y_h "<name>/Y_h" that a
 * seq_last reading the op takes; an lstm with cell_out also Y_c, glia's row T of y. */
static const char *const_tensor(ex_ctx *c, const char *name, int ndim, const int64_t *dims, const float *v) {
    char *nm = ex_fmt(c, "%s", name);
    return nm && add_init(c, nm, ndim, dims, v, NULL) ? nm : NULL;
}
static bool export_recurrent(ex_ctx *c, glia_graph *g, const glia_node *n) {
    const int cell = n->op == GLIA_OP_lstm ? 1 : n->op == GLIA_OP_gru ? 2 : 0, G = cell == 1 ? 4 : cell == 2 ? 3 : 1;
    /* ONNX gate j <- PyTorch gate from[cell][j] */
    static const int from[3][4] = {{0}, {0, 3, 1, 2}, {1, 0, 2}};
    const int64_t H = n->ia[RNN_HIDDEN], D = n->ia[RNN_DIRS], I = g->nodes[n->in[0]].shape.dim[2];
    const bool peep = cell == 1 && n->ia[RNN_PEEPHOLE];
    const int per = 4 + peep;
    float *W = glia__calloc((size_t)(D * G * H * (I + H + 2) + D * 3 * H + 1), sizeof *W);
    if (!W) return false;
    float *R = W + D * G * H * I, *B = R + D * G * H * H, *P = B + D * 2 * G * H;
    for (int64_t d = 0; d < D; d++) {
        const float *wih = g->nodes[n->in[1 + d * per]].val, *whh = g->nodes[n->in[2 + d * per]].val;
        const float *bih = g->nodes[n->in[3 + d * per]].val, *bhh = g->nodes[n->in[4 + d * per]].val;
        for (int j = 0; j < G; j++) {
            int64_t k = from[cell][j];
            memcpy(W + (d * G + j) * H * I, wih + k * H * I, (size_t)(H * I) * sizeof *W);
            memcpy(R + (d * G + j) * H * H, whh + k * H * H, (size_t)(H * H) * sizeof *W);
            memcpy(B + d * 2 * G * H + j * H, bih + k * H, (size_t)H * sizeof *W);
            memcpy(B + d * 2 * G * H + (G + j) * H, bhh + k * H, (size_t)H * sizeof *W);
        }
        if (peep) { /* glia rows w_ci, w_cf, w_co -> p_i, p_o, p_f */
            const float *pv = g->nodes[n->in[5 + d * per]].val;
            memcpy(P + d * 3 * H, pv, (size_t)H * sizeof *W);
            memcpy(P + d * 3 * H + H, pv + 2 * H, (size_t)H * sizeof *W);
            memcpy(P + d * 3 * H + 2 * H, pv + H, (size_t)H * sizeof *W);
        }
    }
    char *base = ex_fmt(c, "%s", n->name);
    const char *in[9] = {g->nodes[n->in[0]].name, NULL};
    in[1] = base ? const_tensor(c, ex_fmt(c, "%s/W", base), 3, (int64_t[]){D, G * H, I}, W) : NULL;
    in[2] = base ? const_tensor(c, ex_fmt(c, "%s/R", base), 3, (int64_t[]){D, G * H, H}, R) : NULL;
    in[3] = base ? const_tensor(c, ex_fmt(c, "%s/B", base), 2, (int64_t[]){D, 2 * G * H}, B) : NULL;
    in[4] = in[5] = in[6] = "";
    int k = 1 + (int)D * per, last = 4;
    bool ok = in[1] && in[2] && in[3];
    for (int st = 0; st < 2; st++) { /* h0 (in 5), c0 (in 6) */
        if (!(st ? n->ia[RNN_HAS_C0] : n->ia[RNN_HAS_H0])) continue;
        int node = n->in[k++];
        if (!glia_node_is_state(g, node)) in[5 + st] = g->nodes[node].name, last = 5 + st;
    }
    if (n->ia[RNN_HAS_LENGTHS]) {
        const char *li[2] = {g->nodes[n->in[k]].name, NULL};
        char *cast = ex_fmt(c, "%s/lengths_int32", base ? base : "rnn");
        Onnx__AttributeProto *to[2] = {attr_i(c, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT32), NULL};
        ok = ok && cast && to[0] && add_node(c, "Cast", cast, li, cast, to);
        in[4] = cast;
        if (last < 4) last = 4;
    }
    if (peep) {
        in[7] = const_tensor(c, ex_fmt(c, "%s/P", base), 2, (int64_t[]){D, 3 * H}, P);
        ok = ok && in[7];
        last = 7;
    }
    in[last + 1] = NULL;
    if (last == 4 && !n->ia[RNN_HAS_LENGTHS]) in[4] = NULL;
    free(W);
    Onnx__AttributeProto *at[5] = {attr_i(c, "hidden_size", H),
                                   attr_s(c, "direction", D == 2 ? "bidirectional" : "forward"), NULL};
    if (cell == 2) at[2] = attr_i(c, "linear_before_reset", !n->ia[RNN_RESET_BEFORE]);
    if (cell == 1 && n->ia[RNN_INPUT_FORGET]) at[2] = attr_i(c, "input_forget", 1);
    if (cell == 0 && n->ia[RNN_ACTIVATION] == GLIA_RNN_RELU) {
        const char *acts[2] = {"Relu", "Relu"};
        at[2] = attr_strings(c, "activations", (int)D, acts);
    }
    /* Y [T, dirs, N, H] (ONNX's) -> glia's y [T, N, dirs H]: Transpose(0, 2, 1, 3) + Reshape */
    char *y4 = ex_fmt(c, "%s/Y", base), *yt = ex_fmt(c, "%s/Y_t", base), *yh = ex_fmt(c, "%s/Y_h", base);
    const bool cell_out = cell == 1 && n->ia[RNN_CELL_OUT];
    char *yc = cell_out ? ex_fmt(c, "%s/Y_c", base) : NULL;
    const char *outs[4] = {y4, yh, yc, NULL};
    /* the cell node named as the glia op, so that its import names the parameters as glia's */
    ok = ok && y4 && yt && yh && at[0] && at[1] &&
         add_node_n(c, cell == 1 ? "LSTM" : cell == 2 ? "GRU" : "RNN", base, in, outs, at);
    const char *ti[2] = {y4, NULL};
    Onnx__AttributeProto *tp[2] = {attr_ints(c, "perm", 4, (int64_t[]){0, 2, 1, 3}), NULL};
    ok = ok && tp[0] && add_node(c, "Transpose", yt, ti, yt, tp);
    const char *ri[3] = {yt, const_ints(c, 3, (int64_t[]){0, 0, -1}), NULL};
    char *rn = ex_fmt(c, "%s/y", base); /* node names are unique too */
    if (!cell_out) return ok && ri[1] && rn && add_node(c, "Reshape", rn, ri, n->name, NULL);
    /* cell_out: y = Concat(the steps, Y_c [dirs, N, H] -> Transpose(1, 0, 2) -> Reshape [N, 1,
     * dirs H] -> Transpose(1, 0, 2) -> [1, N, dirs H]); the reshape keeps the first dimension
     * (glia's importer holds the batch there) */
    char *ys = ex_fmt(c, "%s/y_steps", base), *ct = ex_fmt(c, "%s/Y_c_t", base), *cr = ex_fmt(c, "%s/Y_c_r", base),
         *row = ex_fmt(c, "%s/Y_c_row", base), *cn = ex_fmt(c, "%s/y_cat", base);
    const char *ci[2] = {yc, NULL}, *cri[3] = {ct, const_ints(c, 3, (int64_t[]){0, 1, -1}), NULL};
    const char *rwi[2] = {cr, NULL}, *cat[3] = {ys, row, NULL};
    Onnx__AttributeProto *cp[2] = {attr_ints(c, "perm", 3, (int64_t[]){1, 0, 2}), NULL};
    Onnx__AttributeProto *cp2[2] = {attr_ints(c, "perm", 3, (int64_t[]){1, 0, 2}), NULL};
    Onnx__AttributeProto *ax[2] = {attr_i(c, "axis", 0), NULL};
    return ok && ri[1] && rn && ys && ct && cr && row && cri[1] && cp[0] && cp2[0] && ax[0] &&
           add_node(c, "Reshape", rn, ri, ys, NULL) && add_node(c, "Transpose", ct, ci, ct, cp) &&
           add_node(c, "Reshape", cr, cri, cr, NULL) && add_node(c, "Transpose", row, rwi, row, cp2) &&
           cn && add_node(c, "Concat", cn, cat, n->name, ax); /* (node names are unique) */
}

/* seq_last of a recurrent op's y: the op's Y_h [dirs, N, H] -> [N, dirs H] (the forward
 * direction's state at the sequence's end, the reverse one's at t = 0, as glia's) */
static bool export_seq_last(ex_ctx *c, glia_graph *g, const glia_node *n) {
    const glia_node *r = &g->nodes[n->in[0]];
    if (r->kind != NODE_OP || (r->op != GLIA_OP_lstm && r->op != GLIA_OP_gru && r->op != GLIA_OP_rnn) ||
        r->ia[RNN_DIRS] != n->ia[SEQ_LAST_DIRS])
        return false;
    char *yh = ex_fmt(c, "%s/Y_h", r->name), *t = ex_fmt(c, "%s/Y_h_t", n->name);
    const char *ti[2] = {yh, NULL};
    Onnx__AttributeProto *tp[2] = {attr_ints(c, "perm", 3, (int64_t[]){1, 0, 2}), NULL};
    const char *ri[3] = {t, const_ints(c, 2, (int64_t[]){0, -1}), NULL};
    return yh && t && tp[0] && ri[1] && add_node(c, "Transpose", t, ti, t, tp) &&
           add_node(c, "Reshape", n->name, ri, n->name, NULL);
}

/* ---------------------------------------------------------------- ops */
static glia_status export_op(ex_ctx *c, glia_graph *g, const glia_node *n) {
    const char *in[GLIA_MAX_INPUTS + 2] = {NULL};
    for (int k = 0; k < n->n_in; k++) in[k] = g->nodes[n->in[k]].name;
    const char *out = n->name;
    Onnx__AttributeProto *at[8] = {NULL};
    bool ok = false;
    glia_status s = glia__onnx_export_fn(c, g, n, &ok); /* glia's own ops, as functions */
    if (s || ok) return s;
    switch (n->op) {
    case GLIA_OP_add: ok = add_node(c, "Add", out, in, out, NULL); break;
    case GLIA_OP_sub: ok = add_node(c, "Sub", out, in, out, NULL); break;
    case GLIA_OP_mul: ok = add_node(c, "Mul", out, in, out, NULL); break;
    case GLIA_OP_relu: ok = add_node(c, "Relu", out, in, out, NULL); break;
    case GLIA_OP_sigmoid: ok = add_node(c, "Sigmoid", out, in, out, NULL); break;
    case GLIA_OP_tanh: ok = add_node(c, "Tanh", out, in, out, NULL); break;
    case GLIA_OP_linear: ok = add_node(c, "Identity", out, in, out, NULL); break;
    case GLIA_OP_global_avgpool: ok = add_node(c, "GlobalAveragePool", out, in, out, NULL); break;
    case GLIA_OP_leaky_relu:
        at[0] = attr_f(c, "alpha", n->fa[LEAKY_RELU_SLOPE]);
        ok = add_node(c, "LeakyRelu", out, in, out, at);
        break;
    case GLIA_OP_elu:
        at[0] = attr_f(c, "alpha", n->fa[ELU_ALPHA]);
        ok = add_node(c, "Elu", out, in, out, at);
        break;
    case GLIA_OP_softmax:
    case GLIA_OP_log_softmax:
        if (n->shape.ndim != 2) /* opset 13's softmax is along one axis: axis 1 of [N, C] */
            return glia__err(GLIA_EINVAL, "onnx export: %s: softmax of a %d-D tensor", glia__where(g, n), n->shape.ndim);
        at[0] = attr_i(c, "axis", 1);
        ok = add_node(c, n->op == GLIA_OP_softmax ? "Softmax" : "LogSoftmax", out, in, out, at);
        break;
    case GLIA_OP_scale: {
        const char *k = const_float(c, n->fa[SCALE_ALPHA]);
        in[1] = k;
        ok = k && add_node(c, "Mul", out, in, out, NULL);
        break;
    }
    case GLIA_OP_concat:
        at[0] = attr_i(c, "axis", n->ia[CONCAT_AXIS]);
        ok = add_node(c, "Concat", out, in, out, at);
        break;
    case GLIA_OP_slice: {
        int64_t st = n->ia[SLICE_START], en = n->ia[SLICE_END], ax = n->ia[SLICE_AXIS];
        in[1] = const_ints(c, 1, &st);
        in[2] = const_ints(c, 1, &en);
        in[3] = const_ints(c, 1, &ax);
        ok = in[1] && in[2] && in[3] && add_node(c, "Slice", out, in, out, NULL);
        break;
    }
    case GLIA_OP_rnn:
    case GLIA_OP_lstm:
    case GLIA_OP_gru: ok = export_recurrent(c, g, n); break;
    case GLIA_OP_seq_last:
        if (!export_seq_last(c, g, n))
            return glia__err(GLIA_EINVAL, "onnx export: %s: a last step of something other than a "
                             "recurrent op's output", glia__where(g, n));
        ok = true;
        break;
    case GLIA_OP_embedding: { /* Gather(table, Cast(ids, int64)): ids are floats holding integers */
        char *cast = ex_fmt(c, "%s/ids", out);
        const char *ci[2] = {in[0], NULL}, *gi[3] = {in[1], cast, NULL};
        Onnx__AttributeProto *to[2] = {attr_i(c, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT64), NULL};
        ok = cast && to[0] && add_node(c, "Cast", cast, ci, cast, to) && add_node(c, "Gather", out, gi, out, NULL);
        break;
    }
    case GLIA_OP_transpose: {
        int64_t perm[GLIA_MAX_DIMS];
        for (int d = 0; d < n->ia[TRANSPOSE_PERM]; d++) perm[d] = n->ia[TRANSPOSE_PERM + 1 + d];
        at[0] = attr_ints(c, "perm", n->ia[TRANSPOSE_PERM], perm);
        ok = at[0] && add_node(c, "Transpose", out, in, out, at);
        break;
    }
    case GLIA_OP_reshape:
    case GLIA_OP_time_flatten: {
        int64_t dims[GLIA_MAX_DIMS];
        int k = n->shape.ndim;
        const glia_shape *xs = &g->nodes[n->in[0]].shape;
        for (int d = 0; d < k; d++) dims[d] = n->shape.dim[d];
        /* the batch, whatever it is: 0 copies the input's leading dimensions that stay (the
         * batch of [N, ...], T and N of a sequence [T, N, ...]); time_flatten's rows T N: -1 */
        for (int d = 0; n->op == GLIA_OP_reshape && d < k && d < xs->ndim && dims[d] == xs->dim[d]; d++) dims[d] = 0;
        if (n->op == GLIA_OP_reshape) dims[0] = 0;
        else dims[0] = -1;
        in[1] = const_ints(c, k, dims);
        ok = in[1] && add_node(c, "Reshape", out, in, out, NULL);
        break;
    }
    case GLIA_OP_dense: {
        const glia_node *x = &g->nodes[n->in[0]];
        if (x->shape.ndim > 2) {
            char *flat = ex_fmt(c, "%s/flatten", out);
            at[0] = attr_i(c, "axis", 1);
            const char *fin[2] = {in[0], NULL};
            if (!flat || !add_node(c, "Flatten", flat, fin, flat, at)) return glia__err(GLIA_ENOMEM, "onnx export: out of memory");
            in[0] = flat;
            at[0] = NULL;
        }
        at[0] = attr_i(c, "transB", 1);
        ok = add_node(c, "Gemm", out, in, out, at);
        break;
    }
    case GLIA_OP_conv2d: {
        int64_t st[2] = {n->ia[CONV_STRIDE_H], n->ia[CONV_STRIDE_W]};
        int64_t dil[2] = {n->ia[CONV_DILATION_H], n->ia[CONV_DILATION_W]};
        int64_t pads[4] = {n->ia[CONV_PAD_TOP], n->ia[CONV_PAD_LEFT], n->ia[CONV_PAD_BOTTOM], n->ia[CONV_PAD_RIGHT]};
        const glia_node *w = &g->nodes[n->in[1]];
        int64_t ks[2] = {w->shape.dim[2], w->shape.dim[3]};
        at[0] = attr_ints(c, "strides", 2, st);
        at[1] = attr_ints(c, "dilations", 2, dil);
        at[2] = attr_ints(c, "pads", 4, pads);
        at[3] = attr_ints(c, "kernel_shape", 2, ks);
        at[4] = attr_i(c, "group", n->ia[CONV_GROUPS]);
        ok = add_node(c, "Conv", out, in, out, at);
        break;
    }
    case GLIA_OP_conv_transpose2d: {
        int64_t st[2] = {n->ia[CONV_STRIDE_H], n->ia[CONV_STRIDE_W]};
        int64_t dil[2] = {n->ia[CONV_DILATION_H], n->ia[CONV_DILATION_W]};
        int64_t pads[4] = {n->ia[CONV_PAD_TOP], n->ia[CONV_PAD_LEFT], n->ia[CONV_PAD_BOTTOM], n->ia[CONV_PAD_RIGHT]};
        int64_t op[2] = {n->ia[DECONV_OUT_PAD_H], n->ia[DECONV_OUT_PAD_W]};
        const glia_node *w = &g->nodes[n->in[1]];
        int64_t ks[2] = {w->shape.dim[2], w->shape.dim[3]};
        at[0] = attr_ints(c, "strides", 2, st);
        at[1] = attr_ints(c, "dilations", 2, dil);
        at[2] = attr_ints(c, "pads", 4, pads);
        at[3] = attr_ints(c, "kernel_shape", 2, ks);
        at[4] = attr_i(c, "group", n->ia[CONV_GROUPS]);
        at[5] = attr_ints(c, "output_padding", 2, op);
        ok = add_node(c, "ConvTranspose", out, in, out, at);
        break;
    }
    case GLIA_OP_resize: { /* Resize-13 by scales (the batch stays symbolic): out = floor(in scale) */
        static const char *const modes[] = {"nearest", "linear", "cubic"};
        static const char *const coords[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                             "tf_half_pixel_for_nearest"};
        static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
        const glia_node *x = &g->nodes[n->in[0]];
        float sc[4] = {1, 1, n->fa[RESIZE_SCALE_H], n->fa[RESIZE_SCALE_W]};
        int near = n->ia[RESIZE_NEAREST];
        for (int i = 0; i < 2; i++) {
            int64_t in_i = x->shape.dim[2 + i], out_i = n->shape.dim[2 + i];
            if (!(sc[2 + i] > 0)) sc[2 + i] = (float)out_i / (float)in_i;
            if ((int64_t)floor((double)sc[2 + i] * (double)in_i) != out_i)
                return glia__err(GLIA_EINVAL, "onnx export: %s: no scale gives %lld from %lld", glia__where(g, n),
                                 (long long)out_i, (long long)in_i);
        }
        if (near == GLIA_RESIZE_SIMPLE) { /* floor where a scale >= 1, ceil where below */
            if ((sc[2] >= 1) != (sc[3] >= 1))
                return glia__err(GLIA_EINVAL, "onnx export: %s: nearest_mode simple with one scale "
                                 "above 1 and one below has no ONNX form", glia__where(g, n));
            near = sc[2] >= 1 ? GLIA_RESIZE_FLOOR : GLIA_RESIZE_CEIL;
        }
        char *scales = ex_fmt(c, "const_%d", c->tmp++);
        if (!scales || !add_init(c, scales, 1, (int64_t[]){4}, sc, NULL)) return glia__err(GLIA_ENOMEM, "onnx export: out of memory");
        in[1] = "", in[2] = scales;
        at[0] = attr_s(c, "mode", modes[n->ia[RESIZE_MODE]]);
        at[1] = attr_s(c, "coordinate_transformation_mode", coords[n->ia[RESIZE_COORD]]);
        at[2] = attr_s(c, "nearest_mode", nearest[near]);
        at[3] = attr_f(c, "cubic_coeff_a", n->fa[RESIZE_CUBIC_A]);
        at[4] = attr_i(c, "exclude_outside", n->ia[RESIZE_EXCLUDE_OUTSIDE]);
        ok = add_node(c, "Resize", out, in, out, at);
        break;
    }
    case GLIA_OP_maxpool2d:
    case GLIA_OP_avgpool2d: {
        int64_t ks[2] = {n->ia[POOL_KERNEL_H], n->ia[POOL_KERNEL_W]};
        int64_t st[2] = {n->ia[POOL_STRIDE_H], n->ia[POOL_STRIDE_W]};
        int64_t pads[4] = {n->ia[POOL_PAD_H], n->ia[POOL_PAD_W], n->ia[POOL_PAD_H], n->ia[POOL_PAD_W]};
        at[0] = attr_ints(c, "kernel_shape", 2, ks);
        at[1] = attr_ints(c, "strides", 2, st);
        at[2] = attr_ints(c, "pads", 4, pads);
        at[3] = attr_i(c, "ceil_mode", n->ia[POOL_CEIL_MODE]);
        if (n->op == GLIA_OP_avgpool2d) at[4] = attr_i(c, "count_include_pad", 1);
        ok = add_node(c, n->op == GLIA_OP_maxpool2d ? "MaxPool" : "AveragePool", out, in, out, at);
        break;
    }
    case GLIA_OP_batchnorm:
        at[0] = attr_f(c, "epsilon", n->fa[BN_EPS]);
        at[1] = attr_f(c, "momentum", 1 - n->fa[BN_MOMENTUM]);
        ok = add_node(c, "BatchNormalization", out, in, out, at);
        break;
    case GLIA_OP_lrn:
        at[0] = attr_i(c, "size", n->ia[LRN_SIZE]);
        at[1] = attr_f(c, "alpha", n->fa[LRN_ALPHA]);
        at[2] = attr_f(c, "beta", n->fa[LRN_BETA]);
        at[3] = attr_f(c, "bias", n->fa[LRN_K]);
        ok = add_node(c, "LRN", out, in, out, at);
        break;
    case GLIA_OP_log: ok = add_node(c, "Log", out, in, out, NULL); break;
    case GLIA_OP_hard_sigmoid:
    case GLIA_OP_hard_swish: { /* HardSigmoid(x; 1/6, 1/2), times x for hard swish (HardSwish is opset 14) */
        char *hs = n->op == GLIA_OP_hard_swish ? ex_fmt(c, "%s/hard_sigmoid", out) : (char *)out;
        at[0] = attr_f(c, "alpha", 1.0f / 6);
        at[1] = attr_f(c, "beta", 0.5f);
        const char *mi[3] = {in[0], hs, NULL};
        ok = hs && add_node(c, "HardSigmoid", hs, in, hs, at) &&
             (n->op == GLIA_OP_hard_sigmoid || add_node(c, "Mul", out, mi, out, NULL));
        break;
    }
    case GLIA_OP_relu6: { /* Clip(x, 0, 6), its bounds as inputs (opset 11 on) */
        in[1] = const_float(c, 0.0f);
        in[2] = const_float(c, 6.0f);
        ok = in[1] && in[2] && add_node(c, "Clip", out, in, out, NULL);
        break;
    }
    case GLIA_OP_dropout: {
        const char *r = const_float(c, n->fa[DROPOUT_P]);
        in[1] = r;
        ok = r && add_node(c, "Dropout", out, in, out, NULL);
        break;
    }
    default:
        return glia__err(GLIA_EINVAL, "onnx export: %s: no ONNX mapping for this op yet",
                         glia__where(g, n));
    }
    return ok && !c->oom ? GLIA_OK : glia__err(GLIA_ENOMEM, "onnx export: out of memory at %s", glia__where(g, n));
}

/* ---------------------------------------------------------------- the model */
static glia_status build(ex_ctx *c, glia_graph *g, const int *outs, int n_out, Onnx__ModelProto *m,
                         Onnx__GraphProto *gp) {
    int N = g->n_nodes;
    bool *need = glia__calloc((size_t)N + 1, sizeof *need);
    if (!need) return glia__err(GLIA_ENOMEM, "onnx export: out of memory");
    glia_status s = GLIA_OK;
    for (int k = 0; k < n_out; k++) {
        if (outs[k] < 0 || outs[k] >= N) {
            free(need);
            return glia__err(GLIA_EINVAL, "onnx export: output %d is node %d, not a node of the graph", k, outs[k]);
        }
        need[outs[k]] = true;
    }
    for (int i = N - 1; i >= 0; i--) /* nodes are in topological order */
        if (need[i])
            for (int k = 0; k < g->nodes[i].n_in; k++) {
                const glia_node *x = &g->nodes[i], *in = &g->nodes[x->in[k]];
                bool rec = x->kind == NODE_OP && (x->op == GLIA_OP_rnn || x->op == GLIA_OP_lstm || x->op == GLIA_OP_gru);
                bool cell = rec || (x->kind == NODE_OP && (x->op == GLIA_OP_clockwork || x->op == GLIA_OP_scrn));
                if (cell && in->kind == NODE_INPUT && glia_node_is_state(g, x->in[k])) continue; /* zeros */
                if (rec && in->kind == NODE_PARAM) continue; /* written as the op's W, R, B, P */
                need[x->in[k]] = true;
            }
    Onnx__ValueInfoProto **inputs = ex_alloc(c, (size_t)(N + 1) * sizeof *inputs);
    Onnx__ValueInfoProto **outputs = ex_alloc(c, (size_t)(n_out + 1) * sizeof *outputs);
    if (!inputs || !outputs) s = glia__err(GLIA_ENOMEM, "onnx export: out of memory");
    size_t n_in = 0;
    int seq_batch = 0; /* a sequence model's inputs [T, N, ...]: outputs' first dimension is not N */
    for (int i = 0; !s && i < N; i++) {
        const glia_node *n = &g->nodes[i];
        if (!need[i]) continue;
        if (n->kind == NODE_INPUT && (n->batch_axis >= 0 || n->shape.ndim == 0)) {
            if (!(inputs[n_in++] = value_info(c, n, n->batch_axis))) s = glia__err(GLIA_ENOMEM, "out of memory");
            if (n->batch_axis > 0) seq_batch = n->batch_axis;
        } else if (n->kind == NODE_INPUT) { /* a constant table ([onehot]'s identity): a Constant node */
            float *v = glia__malloc((size_t)glia__numel(n) * sizeof *v + 4);
            Onnx__AttributeProto *at[2] = {attr_base(c, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR), NULL};
            const char *none[1] = {NULL};
            if (!v || !at[0]) s = glia__err(GLIA_ENOMEM, "onnx export: out of memory");
            else if (!(s = glia_node_read(g, i, v, glia__numel(n))) &&
                     (!(at[0]->t = tensor(c, n->name, n->shape.ndim, n->shape.dim, v, NULL)) ||
                      !add_node(c, "Constant", n->name, none, n->name, at)))
                s = glia__err(GLIA_ENOMEM, "onnx export: out of memory");
            free(v);
        } else if (n->kind == NODE_PARAM || n->kind == NODE_BUFFER) {
            float *v = glia__malloc((size_t)glia__numel(n) * sizeof *v + 4);
            if (!v) s = glia__err(GLIA_ENOMEM, "onnx export: out of memory");
            else if (!(s = glia_node_read(g, i, v, glia__numel(n))) &&
                     !add_init(c, n->name, n->shape.ndim, n->shape.dim, v, NULL))
                s = glia__err(GLIA_ENOMEM, "onnx export: out of memory");
            free(v);
        } else s = export_op(c, g, n);
    }
    for (int k = 0; !s && k < n_out; k++) {
        const glia_node *n = &g->nodes[outs[k]];
        if (!(outputs[k] = value_info(c, n, n->shape.ndim > 0 ? seq_batch ? -2 : 0 : -1))) s = glia__err(GLIA_ENOMEM, "out of memory");
    }
    free(need);
    if (s) return s;
    gp->name = ex_str(c, "glia");
    gp->node = c->nodes;
    gp->n_node = c->n_nodes;
    gp->initializer = c->inits;
    gp->n_initializer = c->n_inits;
    gp->input = inputs;
    gp->n_input = n_in;
    gp->output = outputs;
    gp->n_output = (size_t)n_out;
    /* ONNX's ops at opset 13; with glia's own ops (model-local functions: IR 8 on) their domain */
    const int n_sets = c->n_fns ? 2 : 1;
    Onnx__OperatorSetIdProto *ops = ex_alloc(c, 2 * sizeof *ops);
    Onnx__OperatorSetIdProto **opl = ex_alloc(c, 2 * sizeof *opl);
    if (!ops || !opl) return glia__err(GLIA_ENOMEM, "onnx export: out of memory");
    for (int k = 0; k < n_sets; k++) {
        onnx__operator_set_id_proto__init(&ops[k]);
        ops[k].domain = ex_str(c, k ? GLIA_ONNX_DOMAIN : "");
        ops[k].has_version = 1;
        ops[k].version = k ? 1 : 13;
        opl[k] = &ops[k];
    }
    m->has_ir_version = 1;
    m->ir_version = c->n_fns ? 8 : 7;
    m->producer_name = ex_str(c, "glia");
    m->producer_version = ex_str(c, GLIA_VERSION);
    m->opset_import = opl;
    m->n_opset_import = (size_t)n_sets;
    m->functions = c->fns;
    m->n_functions = c->n_fns;
    m->graph = gp;
    return c->oom ? glia__err(GLIA_ENOMEM, "onnx export: out of memory") : GLIA_OK;
}

glia_status glia_onnx_save(glia_graph *g, const int *outputs, int n_outputs, const char *path) {
    if (!g || !outputs || n_outputs < 1 || !path) return glia__err(GLIA_EINVAL, "glia_onnx_save: NULL argument or no output");
    ex_ctx c = {0};
    Onnx__ModelProto m;
    Onnx__GraphProto gp;
    onnx__model_proto__init(&m);
    onnx__graph_proto__init(&gp);
    glia_status s = build(&c, g, outputs, n_outputs, &m, &gp);
    if (!s) {
        size_t len = onnx__model_proto__get_packed_size(&m);
        uint8_t *buf = glia__malloc(len + 1);
        if (!buf) s = glia__err(GLIA_ENOMEM, "onnx export: out of memory for %zu bytes", len);
        else {
            onnx__model_proto__pack(&m, buf);
            s = glia__write_atomic(path, buf, len);
            free(buf);
        }
    }
    for (int i = 0; i < c.n_blocks; i++) free(c.blocks[i]);
    free(c.blocks);
    return s;
}
