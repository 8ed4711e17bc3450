/* onnx_import.c: an ONNX model (protobuf, read with protobuf-c) into a glia graph.
 *
 * The graph is built for fixed input shapes (the file's, or the caller's: a symbolic batch
 * takes options->batch), so that shape arithmetic on constants folds at load time
 * (onnx_value.c) and every remaining node maps onto glia ops, which then give gradients for
 * free. ONNX ops without a glia op of their own are compositions of exact ones:
 *   Clip(x, lo, hi)    = lo + relu(x - lo) - relu(x - hi)  (Clip(x, 0, 6): relu6)
 *   HardSigmoid(x)     = relu(t) - relu(t - 1),  t = alpha x + beta  (alpha 1/6, beta 1/2:
 *                        glia's hard_sigmoid; HardSwish, and Mul(x, HardSigmoid(x; 1/6, 1/2)),
 *                        as torch.onnx writes it below opset 14: glia's hard_swish)
 *   Div(a, b const)    = a * (1/b)
 *   AveragePool without counting the padding = glia's (which counts it) * K / count[oh, ow]
 *   asymmetric or ceil_mode padding = concatenation of constant blocks (0, or -FLT_MAX to max)
 * An op, attribute or data type that has no exact mapping is an error naming the node, the op
 * and the attribute (and sets options->unsupported). */
#include "io/onnx_internal.h"
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct glia_onnx {
    glia_graph *g;
    int n_in, n_out;
    char **in_name, **out_name;
    int *in_node, *out_node;
    glia_shape *out_shape; /* ONNX's shapes of the outputs (a view's differs from its node's) */
    glia_onnx_step *steps; /* the ONNX nodes that added glia nodes, in order */
    int n_steps;
    char **step_text;      /* their op types and names (step i: [2i], [2i + 1]) */
};

/* records ONNX node n as a step when it added glia nodes [first, end) (at most one step per
 * node: m->steps has room for every node) */
static glia_status add_step(glia_onnx *m, ox_ctx *c, const Onnx__NodeProto *n, int first) {
    int end = glia_graph_num_nodes(c->g);
    ox_value *v = n->output[0][0] ? ox_find(c, n->output[0]) : NULL;
    if (end == first || !v || v->node < first) return GLIA_OK; /* folded, or an alias */
    glia_onnx_step *st = &m->steps[m->n_steps];
    char **t = &m->step_text[2 * m->n_steps];
    if (!(t[0] = glia__strdup(n->op_type)) ||
        !(t[1] = glia__strdup(n->name && n->name[0] ? n->name : n->output[0])))
        return glia__err(GLIA_ENOMEM, "out of memory");
    m->n_steps++;
    *st = (glia_onnx_step){t[0], t[1], first, end, v->node};
    return GLIA_OK;
}

/* ---------------------------------------------------------------- helpers */
static glia_status set_out(ox_ctx *c, int k, int node) {
    if (k >= (int)c->node->n_output || !c->node->output[k][0]) return GLIA_OK;
    ox_value *v;
    glia_status s = ox_add(c, c->node->output[k], &v);
    if (!s) v->node = node;
    return s;
}
/* input k as a node holding its elements in ONNX's order; *view = the value's shape when the
 * node's differs (onnx_internal.h), else NULL */
static glia_status in_flat(ox_ctx *c, int k, int *node, const glia_shape **view) {
    ox_value *v;
    glia_status s = ox_in(c, k, &v);
    if (s) return s;
    *view = NULL;
    if (v && v->view && !v->swapped12) {
        *node = v->node;
        *view = &v->shape;
        return GLIA_OK;
    }
    return ox_in_node(c, k, false, node);
}
/* output k is node, seen as `view` (NULL: in the node's shape) */
static glia_status set_out_view(ox_ctx *c, int k, int node, const glia_shape *view) {
    glia_shape keep = view ? *view : (glia_shape){0, {0}};
    glia_status s = set_out(c, k, node);
    if (s || !view || k >= (int)c->node->n_output || !c->node->output[k][0]) return s;
    ox_value *v = ox_find(c, c->node->output[k]);
    glia_shape ns;
    glia_node_shape(c->g, node, &ns);
    if (!glia__shape_eq(&ns, &keep)) {
        v->view = true;
        v->shape = keep;
    }
    return GLIA_OK;
}

/* the glia name of output k (the ONNX value's name, shortened if needed) */
static const char *out_name(ox_ctx *c, int k, char *buf, size_t len) {
    ox_node_name(c, c->node->output[k], buf, len);
    return buf;
}
/* wraps a builder's failure with the node's name */
static glia_status built(ox_ctx *c, glia_status s) {
    return s ? ox_fail(c, s, "%s", glia_last_error()) : GLIA_OK;
}
/* a constant leaf of shape s filled with `value` */
static glia_status const_fill(ox_ctx *c, const glia_shape *s, float value, int *out) {
    glia_status st = built(c, glia_buffer(c->g, NULL, s->ndim, s->dim, out));
    if (st) return st;
    float *p = glia_node_value(c->g, *out);
    for (int64_t i = 0; i < glia_shape_numel(s); i++) p[i] = value;
    return GLIA_OK;
}
static glia_status scalar(ox_ctx *c, float value, int *out) {
    glia_shape s = {1, {1}};
    return const_fill(c, &s, value, out);
}
/* a constant input's values (NULL if the input is absent); a run-time one is unsupported */
static glia_status in_const(ox_ctx *c, int k, const char *what, ox_value **out) {
    glia_status s = ox_in(c, k, out);
    if (s || !*out) return s;
    if (!(*out)->is_const) return ox_unsupported(c, "%s '%s' is computed at run time", what, (*out)->name);
    return GLIA_OK;
}

/* the helpers above for the ops in other files (onnx_internal.h) */
glia_status ox_set_out(ox_ctx *c, int k, int node) { return set_out(c, k, node); }
const char *ox_out_name(ox_ctx *c, int k, char *buf, size_t len) { return out_name(c, k, buf, len); }
glia_status ox_built(ox_ctx *c, glia_status s) { return built(c, s); }
glia_status ox_in_const(ox_ctx *c, int k, const char *what, ox_value **out) { return in_const(c, k, what, out); }

/* x reshaped to `to`: glia's reshape keeps dimension 0 (the batch), so that is what fits */
static glia_status reshape_to(ox_ctx *c, int x, const glia_shape *to, const char *name, int *out) {
    glia_shape xs;
    glia_node_shape(c->g, x, &xs);
    if (glia__shape_eq(&xs, to)) {
        *out = x;
        return GLIA_OK;
    }
    if (xs.ndim < 1 || to->ndim < 1 || to->dim[0] != xs.dim[0] || to->ndim > GLIA_MAX_DIMS) {
        char a[96], b[96];
        return ox_unsupported(c, "reshaping %s to %s changes the first (batch) dimension",
                              glia_shape_str(&xs, a, sizeof a), glia_shape_str(to, b, sizeof b));
    }
    int64_t dims[GLIA_MAX_DIMS];
    for (int d = 1; d < to->ndim; d++) dims[d - 1] = to->dim[d];
    return built(c, glia_reshape(c->g, name, x, to->ndim - 1, dims, out));
}

/* ---------------------------------------------------------------- ops */
typedef glia_status (*ox_handler)(ox_ctx *c);

static glia_status op_unary(ox_ctx *c) {
    const char *op = c->node->op_type;
    char nm[GLIA_NAME_MAX];
    int x, y;
    const glia_shape *view;
    glia_status s = in_flat(c, 0, &x, &view);
    if (s) return s;
    out_name(c, 0, nm, sizeof nm);
    float a;
    if (!strcmp(op, "Relu")) s = glia_relu(c->g, nm, x, &y);
    else if (!strcmp(op, "Sigmoid")) s = glia_sigmoid(c->g, nm, x, &y);
    else if (!strcmp(op, "Tanh")) s = glia_tanh(c->g, nm, x, &y);
    else if (!strcmp(op, "Sqrt")) s = glia_sqrt(c->g, nm, x, &y);
    else if (!strcmp(op, "Log")) s = glia_log(c->g, nm, x, &y);
    else if (!strcmp(op, "Neg")) s = glia_scale(c->g, nm, x, -1.0f, &y);
    else if (!strcmp(op, "LeakyRelu")) {
        if ((s = ox_attr_f(c, "alpha", 0.01f, &a))) return s;
        s = glia_leaky_relu(c->g, nm, x, a, &y);
    } else {
        if ((s = ox_attr_f(c, "alpha", 1.0f, &a))) return s;
        if (a < 0) return ox_unsupported(c, "attribute 'alpha' = %g < 0", a);
        s = glia_elu(c->g, nm, x, a, &y);
    }
    if ((s = built(c, s))) return s;
    return set_out_view(c, 0, y, view);
}

/* y = relu(x - lo) - relu(x - hi) + lo, pieces dropped for an absent bound */
static glia_status clip_node(ox_ctx *c, int x, bool has_lo, float lo, bool has_hi, float hi,
                             const char *name, int *out) {
    glia_status s;
    int t, k, r, h;
    if (has_lo && has_hi && lo > hi) {
        /* ONNX: min > max gives max everywhere */
        glia_shape xs;
        glia_node_shape(c->g, x, &xs);
        if ((s = scalar(c, 0, &k)) || (s = built(c, glia_mul(c->g, NULL, x, k, &t))) ||
            (s = scalar(c, hi, &k)))
            return s;
        return built(c, glia_add(c->g, name, t, k, out));
    }
    if (!has_lo && !has_hi) return built(c, glia_linear(c->g, name, x, out));
    if (has_lo && has_hi && lo == 0 && hi == 6) /* ReLU6 (MobileNetV2): one op, exact above 6 */
        return built(c, glia_relu6(c->g, name, x, out));
    if (has_lo) {
        if (lo == 0) {
            if ((s = built(c, glia_relu(c->g, has_hi ? NULL : name, x, &r)))) return s;
        } else if ((s = scalar(c, lo, &k)) || (s = built(c, glia_sub(c->g, NULL, x, k, &t))) ||
                   (s = built(c, glia_relu(c->g, NULL, t, &r))))
            return s;
    } else r = x;
    if (has_hi) {
        if ((s = scalar(c, hi, &k)) || (s = built(c, glia_sub(c->g, NULL, x, k, &t))) ||
            (s = built(c, glia_relu(c->g, NULL, t, &h))) ||
            (s = built(c, glia_sub(c->g, has_lo && lo != 0 ? NULL : name, r, h, &r))))
            return s;
    }
    if (has_lo && lo != 0) {
        if ((s = scalar(c, lo, &k))) return s;
        return built(c, glia_add(c->g, name, r, k, out));
    }
    *out = r;
    return GLIA_OK;
}

static glia_status op_clip(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int x, y;
    float lo = -FLT_MAX, hi = FLT_MAX;
    bool has_lo = false, has_hi = false;
    const glia_shape *view;
    glia_status s = in_flat(c, 0, &x, &view);
    if (s) return s;
    if (c->opset < 11) {
        has_lo = ox_attr(c, "min") != NULL;
        has_hi = ox_attr(c, "max") != NULL;
        if ((s = ox_attr_f(c, "min", lo, &lo)) || (s = ox_attr_f(c, "max", hi, &hi))) return s;
    } else {
        for (int k = 1; k <= 2; k++) {
            ox_value *v;
            if ((s = in_const(c, k, k == 1 ? "min" : "max", &v))) return s;
            if (!v) continue;
            if (glia_shape_numel(&v->shape) != 1) return ox_fail(c, GLIA_EINVAL, "'%s' is not a scalar", v->name);
            if (k == 1) has_lo = true, lo = (float)v->v[0];
            else has_hi = true, hi = (float)v->v[0];
        }
    }
    if ((s = clip_node(c, x, has_lo, lo, has_hi, hi, out_name(c, 0, nm, sizeof nm), &y))) return s;
    return set_out_view(c, 0, y, view);
}

/* HardSigmoid (alpha, beta) and HardSwish (x * HardSigmoid(x; 1/6, 1/2)) */
static glia_status op_hard(ox_ctx *c) {
    bool swish = !strcmp(c->node->op_type, "HardSwish");
    char nm[GLIA_NAME_MAX];
    float alpha = 1.0f / 6, beta = 0.5f;
    int x, t, k, y;
    const glia_shape *view;
    glia_status s = in_flat(c, 0, &x, &view);
    if (s) return s;
    if (!swish && ((s = ox_attr_f(c, "alpha", 0.2f, &alpha)) || (s = ox_attr_f(c, "beta", 0.5f, &beta))))
        return s;
    out_name(c, 0, nm, sizeof nm);
    if (swish || (fabsf(alpha - 1.0f / 6) <= 1e-7f && beta == 0.5f)) { /* PyTorch's: glia's ops */
        if ((s = built(c, (swish ? glia_hard_swish : glia_hard_sigmoid)(c->g, nm, x, &y)))) return s;
        return set_out_view(c, 0, y, view);
    }
    if ((s = built(c, glia_scale(c->g, NULL, x, alpha, &t))) || (s = scalar(c, beta, &k)) ||
        (s = built(c, glia_add(c->g, NULL, t, k, &t))) ||
        (s = clip_node(c, t, true, 0, true, 1, swish ? NULL : nm, &y)))
        return s;
    if (swish && (s = built(c, glia_mul(c->g, nm, x, y, &y)))) return s;
    return set_out_view(c, 0, y, view);
}

/* a's view va and b's shape sb: b broadcasts into va's last dimensions, which the node's shape
 * na shares, so the op can run on a's node and its output be seen as va */
static bool trailing_fit(const glia_shape *va, const glia_shape *na, const glia_shape *sb) {
    if (sb->ndim > va->ndim || sb->ndim > na->ndim) return false;
    for (int i = 1; i <= sb->ndim; i++) {
        int64_t d = va->dim[va->ndim - i];
        if (d != na->dim[na->ndim - i] || (sb->dim[sb->ndim - i] != d && sb->dim[sb->ndim - i] != 1)) return false;
    }
    return true;
}

/* Mul(x, hard_sigmoid(x)) in either order (PyTorch's hardswish below opset 14): glia's
 * hard_swish of x (*done = true), else nothing */
static glia_status hard_swish_mul(ox_ctx *c, bool *done, int *out) {
    ox_value *v[2];
    glia_status s;
    if ((s = ox_in(c, 0, &v[0])) || (s = ox_in(c, 1, &v[1]))) return s;
    for (int k = 0; k < 2; k++) {
        const ox_value *h = v[k], *x = v[1 - k];
        if (!h || !x || h->node < 0 || x->node < 0 || h->view || x->view || h->swapped12 || x->swapped12 || h->int_cast)
            continue;
        const glia_node *hn = &c->g->nodes[h->node];
        if (hn->kind != NODE_OP || hn->op != GLIA_OP_hard_sigmoid || hn->in[0] != x->node) continue;
        char nm[GLIA_NAME_MAX];
        *done = true;
        return built(c, glia_hard_swish(c->g, out_name(c, 0, nm, sizeof nm), x->node, out));
    }
    return GLIA_OK;
}

static glia_status op_binary(ox_ctx *c) {
    const char *op = c->node->op_type;
    char nm[GLIA_NAME_MAX];
    int a, b, y;
    const glia_shape *va = NULL, *vb = NULL;
    glia_status s;
    out_name(c, 0, nm, sizeof nm);
    if (c->opset < 7 && ox_attr(c, "broadcast")) return ox_unsupported(c, "attribute 'broadcast'");
    ox_value *d = NULL;
    if (!strcmp(op, "Div") && (s = ox_in(c, 1, &d))) return s;
    if (!strcmp(op, "Div") && !d) return ox_fail(c, GLIA_EINVAL, "input 1 is missing");
    bool swish = false;
    if (!strcmp(op, "Mul") && ((s = hard_swish_mul(c, &swish, &y)) || swish)) return s ? s : set_out(c, 0, y);
    bool div = d && !d->is_const; /* by a run-time value: glia's div; by a constant: times 1/d */
    if (d && d->is_const) {
        int64_t n = glia_shape_numel(&d->shape);
        char rn[GLIA_NAME_MAX + 8];
        snprintf(rn, sizeof rn, "%s(1/)", d->name);
        ox_value *rv = ox_find(c, rn);
        if (!rv) {
            double *r = glia__malloc((size_t)(n ? n : 1) * sizeof *r);
            if (!r) return glia__err(GLIA_ENOMEM, "out of memory");
            for (int64_t i = 0; i < n; i++) r[i] = 1.0 / d->v[i];
            if ((s = ox_add_const(c, rn, d->dtype, &d->shape, r))) return s;
            rv = ox_find(c, rn);
        }
        if (rv->node < 0) {
            char bn[GLIA_NAME_MAX];
            ox_node_name(c, rn, bn, sizeof bn);
            if ((s = built(c, glia_buffer(c->g, bn, rv->shape.ndim, rv->shape.dim, &rv->node)))) return s;
            float *p = glia_node_value(c->g, rv->node);
            for (int64_t i = 0; i < n; i++) p[i] = (float)rv->v[i];
        }
        b = rv->node;
    } else if ((s = in_flat(c, 1, &b, &vb))) return s;
    if ((s = in_flat(c, 0, &a, &va))) return s;
    if (va || vb) { /* a view [1, ..., 1, rest] of a node [rest] (leading ones dropped): as
                     * the node; NumPy's broadcasting aligns on the right, so nothing else changes */
        glia_shape sa, sb, out;
        glia_node_shape(c->g, a, &sa);
        glia_node_shape(c->g, b, &sb);
        const glia_shape *xa = va ? va : &sa, *xb = vb ? vb : &sb;
        bool ok = true;
        for (int k = 0; k < 2 && ok; k++) {
            const glia_shape *v = k ? vb : va;
            if (!v) continue;
            glia_shape st = {0, {0}}, ns = k ? sb : sa;
            int lead = 0;
            while (lead < v->ndim - 1 && v->dim[lead] == 1) lead++;
            for (int e = lead; e < v->ndim; e++) st.dim[st.ndim++] = v->dim[e];
            ok = lead > 0 && st.dim[0] == ns.dim[0];
            if (ok && (s = reshape_to(c, k ? b : a, &st, NULL, k ? &b : &a))) return s;
        }
        if (ok) {
            out.ndim = xa->ndim > xb->ndim ? xa->ndim : xb->ndim;
            for (int e = out.ndim - 1, i = xa->ndim - 1, j = xb->ndim - 1; e >= 0; e--, i--, j--) {
                int64_t da = i >= 0 ? xa->dim[i] : 1, db = j >= 0 ? xb->dim[j] : 1;
                out.dim[e] = da > db ? da : db;
            }
            s = op[0] == 'A' ? glia_add(c->g, nm, a, b, &y) : op[0] == 'S' ? glia_sub(c->g, nm, a, b, &y)
              : div          ? glia_div(c->g, nm, a, b, &y)
                             : glia_mul(c->g, nm, a, b, &y);
            if ((s = built(c, s))) return s;
            return set_out_view(c, 0, y, &out);
        }
    }
    if (va && vb) return ox_unsupported(c, "two inputs held in other shapes than theirs");
    if (va || vb) { /* one operand is a view: the other must fit its last dimensions */
        glia_shape na, sb;
        glia_node_shape(c->g, va ? a : b, &na);
        glia_node_shape(c->g, va ? b : a, &sb);
        const glia_shape *vs = va ? va : vb;
        bool rows = glia__shape_eq(vs, &sb) && vs->ndim >= 3 && na.ndim == vs->ndim - 1 &&
                    na.dim[0] == vs->dim[0] * vs->dim[1];
        for (int k = 1; rows && k < na.ndim; k++) rows = na.dim[k] == vs->dim[k + 1];
        if (rows) { /* the other operand has the value's shape [T, N, ...]: as rows [T N, ...] too */
            int *o = va ? &b : &a;
            if ((s = built(c, glia_time_flatten(c->g, NULL, *o, o)))) return s;
        } else if (!trailing_fit(vs, &na, &sb)) {
            /* make the view a node of its own shape (if glia's reshape can) */
            if ((s = va ? ox_in_node(c, 0, true, &a) : ox_in_node(c, 1, true, &b))) return s;
            va = vb = NULL;
        }
    }
    s = op[0] == 'A' ? glia_add(c->g, nm, a, b, &y) : op[0] == 'S' ? glia_sub(c->g, nm, a, b, &y)
      : div          ? glia_div(c->g, nm, a, b, &y)
                     : glia_mul(c->g, nm, a, b, &y);
    if ((s = built(c, s))) return s;
    return set_out_view(c, 0, y, va ? va : vb);
}

static glia_status op_sum(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int acc, x;
    glia_status s = ox_in_node(c, 0, true, &acc);
    if (s) return s;
    out_name(c, 0, nm, sizeof nm);
    if (c->node->n_input == 1) {
        if ((s = built(c, glia_linear(c->g, nm, acc, &acc)))) return s;
    }
    for (size_t k = 1; k < c->node->n_input; k++) {
        if ((s = ox_in_node(c, (int)k, true, &x)) ||
            (s = built(c, glia_add(c->g, k + 1 == c->node->n_input ? nm : NULL, acc, x, &acc))))
            return s;
    }
    return set_out(c, 0, acc);
}

static glia_status op_alias(ox_ctx *c) {
    const char *op = c->node->op_type;
    ox_value *v;
    glia_status s = ox_in(c, 0, &v);
    if (s) return s;
    if (!v) return ox_fail(c, GLIA_EINVAL, "input 0 is missing");
    if (!strcmp(op, "Dropout")) {
        float p = 0.5f;
        if (c->node->n_output > 1 && c->node->output[1][0]) return ox_unsupported(c, "output 'mask'");
        if (c->opset < 12) {
            if ((s = ox_attr_f(c, "ratio", 0.5f, &p))) return s;
        } else {
            ox_value *r, *t;
            if ((s = in_const(c, 1, "ratio", &r)) || (s = in_const(c, 2, "training_mode", &t))) return s;
            if (r) p = (float)r->v[0];
            if (t && t->v[0] != 0) return ox_unsupported(c, "training_mode = 1");
        }
        if (!(p >= 0 && p < 1)) return ox_fail(c, GLIA_EINVAL, "ratio %g is outside [0, 1)", p);
        /* inverted dropout in training (fine-tuning), the identity at inference, as ONNX */
        int x, y;
        char nm[GLIA_NAME_MAX];
        if ((s = ox_in_node(c, 0, false, &x)) ||
            (s = built(c, glia_dropout(c->g, out_name(c, 0, nm, sizeof nm), x, p, &y))))
            return s;
        return set_out(c, 0, y);
    }
    if (!strcmp(op, "Cast")) {
        int64_t to;
        if ((s = ox_attr_i(c, "to", 1, &to))) return s;
        bool to_int = to == ONNX__TENSOR_PROTO__DATA_TYPE__INT32 || to == ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        if (to_int && v->node >= 0 && !v->view && !v->swapped12 && !v->is_const) {
            /* ids or lengths held as floats (glia's): the same node, for the readers of integers */
            int node = v->node;
            ox_value *o;
            if ((s = ox_add(c, c->node->output[0], &o))) return s;
            o->node = node;
            o->int_cast = true;
            o->dtype = (int)to;
            return GLIA_OK;
        }
        if (to != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) return ox_unsupported(c, "a cast to data type %lld", (long long)to);
    }
    if (!strcmp(op, "Transpose")) {
        int64_t perm[GLIA_MAX_DIMS];
        int n;
        glia_shape xs = ox_shape(c, v);
        if ((s = ox_attr_ints(c, "perm", perm, GLIA_MAX_DIMS, &n))) return s;
        if (v->swapped12) { /* [T, dirs, N, H] held as [T, N, dirs, H]: this is the node */
            if (n != 4 || perm[0] != 0 || perm[1] != 2 || perm[2] != 1 || perm[3] != 3)
                return ox_unsupported(c, "a bidirectional Y transposed other than by (0, 2, 1, 3)");
            return set_out(c, 0, v->node);
        }
        bool same = n < 0 ? xs.ndim <= 1 : n == xs.ndim;
        /* a permutation that only moves size-1 dimensions keeps the order of the values */
        glia_shape to = xs;
        int last = -1;
        for (int d = 0; same && d < xs.ndim; d++) {
            int64_t p = n < 0 ? xs.ndim - 1 - d : perm[d];
            if (p < 0 || p >= xs.ndim) return ox_fail(c, GLIA_EINVAL, "perm holds %lld", (long long)p);
            to.dim[d] = xs.dim[p];
            if (xs.dim[p] != 1) {
                same = p > last;
                last = (int)p;
            }
        }
        int x, y;
        char nm[GLIA_NAME_MAX];
        if (!same || (xs.ndim > 0 && to.dim[0] != xs.dim[0])) {
            /* values move (or the first dimension changes, which glia's reshape keeps): glia's
             * transpose op (a view's node has another shape) */
            int p[GLIA_MAX_DIMS];
            if (n >= 0 && n != xs.ndim) return ox_fail(c, GLIA_EINVAL, "perm has %d values for %d axes", n, xs.ndim);
            bool seen[GLIA_MAX_DIMS] = {false};
            for (int d = 0; d < xs.ndim; d++) {
                p[d] = n < 0 ? xs.ndim - 1 - d : (int)perm[d];
                if (p[d] < 0 || p[d] >= xs.ndim || seen[p[d]]) return ox_fail(c, GLIA_EINVAL, "perm is not a permutation of 0..%d", xs.ndim - 1);
                seen[p[d]] = true;
            }
            if (v->view) { /* held in another shape: permute the axes that are not 1 */
                int at[GLIA_MAX_DIMS], m = 0, q[GLIA_MAX_DIMS], k = 0;
                glia_shape st = {0, {0}}, ns, os = xs;
                for (int d = 0; d < xs.ndim; d++)
                    if (xs.dim[d] != 1) at[d] = m, st.dim[m++] = xs.dim[d];
                st.ndim = m;
                glia_node_shape(c->g, v->node, &ns);
                for (int d = 0; d < xs.ndim; d++) {
                    os.dim[d] = xs.dim[p[d]];
                    if (xs.dim[p[d]] != 1) q[k++] = at[p[d]];
                }
                if (m < 1 || st.dim[0] != ns.dim[0])
                    return ox_unsupported(c, "a transpose of '%s', which glia holds in another shape", v->name);
                if ((s = reshape_to(c, v->node, &st, NULL, &x)) ||
                    (s = built(c, glia_transpose(c->g, out_name(c, 0, nm, sizeof nm), x, m, q, &y))))
                    return s;
                return set_out_view(c, 0, y, &os);
            }
            if ((s = ox_in_node(c, 0, false, &x)) ||
                (s = built(c, glia_transpose(c->g, out_name(c, 0, nm, sizeof nm), x, xs.ndim, p, &y))))
                return s;
            return set_out(c, 0, y);
        }
        if ((s = ox_in_node(c, 0, false, &x)) || (s = reshape_to(c, x, &to, out_name(c, 0, nm, sizeof nm), &y)))
            return s;
        return set_out(c, 0, y);
    }
    if (v->view) {
        glia_shape vs = v->shape;
        return set_out_view(c, 0, v->node, &vs);
    }
    if (v->node < 0) { /* a constant stays one */
        double *d = glia__malloc((size_t)(glia_shape_numel(&v->shape) + 1) * sizeof *d);
        if (!d) return glia__err(GLIA_ENOMEM, "out of memory");
        memcpy(d, v->v, (size_t)glia_shape_numel(&v->shape) * sizeof *d);
        return ox_add_const(c, c->node->output[0], v->dtype, &v->shape, d);
    }
    return set_out(c, 0, v->node);
}

/* Reshape, Flatten, Squeeze, Unsqueeze on run-time values */
static glia_status op_reshape(ox_ctx *c) {
    const char *op = c->node->op_type;
    char nm[GLIA_NAME_MAX];
    int x, y;
    glia_shape xs, to, ns;
    const glia_shape *view;
    glia_status s = in_flat(c, 0, &x, &view);
    if (s) return s;
    glia_node_shape(c->g, x, &ns);
    xs = view ? *view : ns;
    if (!strcmp(op, "Reshape")) {
        ox_value *sh;
        int64_t want[GLIA_MAX_DIMS + 1], az;
        if (c->opset < 5) return ox_unsupported(c, "Reshape-1 (shape as an attribute)");
        if ((s = in_const(c, 1, "shape", &sh))) return s;
        if (!sh) return ox_fail(c, GLIA_EINVAL, "input 'shape' is missing");
        int64_t m = glia_shape_numel(&sh->shape);
        if (m > GLIA_MAX_DIMS) return ox_unsupported(c, "a shape of %lld dimensions", (long long)m);
        for (int64_t i = 0; i < m; i++) want[i] = ox_i64(sh->v[i]);
        if ((s = ox_attr_i(c, "allowzero", 0, &az)) ||
            (s = ox_reshape_dims(c, &xs, want, (int)m, (int)az, &to)))
            return s;
    } else if (!strcmp(op, "Flatten")) {
        int64_t axis;
        if ((s = ox_attr_i(c, "axis", 1, &axis))) return s;
        if (axis < 0) axis += xs.ndim;
        if (axis < 0 || axis > xs.ndim) return ox_fail(c, GLIA_EINVAL, "attribute 'axis' = %lld", (long long)axis);
        to.ndim = 2;
        to.dim[0] = 1;
        for (int d = 0; d < axis; d++) to.dim[0] *= xs.dim[d];
        to.dim[1] = to.dim[0] ? glia_shape_numel(&xs) / to.dim[0] : 0;
    } else if ((s = ox_squeeze_shape(c, &xs, op[0] == 'S', &to))) return s;
    /* glia's reshape keeps the first dimension; another shape is a view of the same node */
    if (ns.ndim < 1 || to.ndim < 1 || ns.dim[0] != to.dim[0]) return set_out_view(c, 0, x, &to);
    if ((s = reshape_to(c, x, &to, out_name(c, 0, nm, sizeof nm), &y))) return s;
    return set_out(c, 0, y);
}

/* explicit pads around a 4-D x by concatenating constant blocks of `value` */
static glia_status pad_blocks(ox_ctx *c, int x, const int64_t pad[4], float value, int *out) {
    glia_status s;
    for (int axis = 2; axis <= 3; axis++) {
        int64_t before = pad[axis - 2], after = pad[axis];
        if (!before && !after) continue;
        glia_shape xs;
        glia_node_shape(c->g, x, &xs);
        int parts[3], n = 0;
        if (before) {
            glia_shape b = xs;
            b.dim[axis] = before;
            if ((s = const_fill(c, &b, value, &parts[n++]))) return s;
        }
        parts[n++] = x;
        if (after) {
            glia_shape b = xs;
            b.dim[axis] = after;
            if ((s = const_fill(c, &b, value, &parts[n++]))) return s;
        }
        if ((s = built(c, glia_concat(c->g, NULL, n, parts, axis, &x)))) return s;
    }
    *out = x;
    return GLIA_OK;
}

/* kernel, strides, dilations and pads (top, left, bottom, right) of a 2-D Conv or pool, with
 * auto_pad resolved from the input's size */
typedef struct { int64_t k[2], st[2], dil[2], pad[4]; } win2d;
static glia_status window(ox_ctx *c, const glia_shape *xs, const int64_t *wk, win2d *w) {
    int64_t v[8];
    int n;
    glia_status s;
    char ap[32];
    if (xs->ndim != 4) return ox_unsupported(c, "an input of %d dimensions (2-D [N, C, H, W] only)", xs->ndim);
    if ((s = ox_attr_ints(c, "kernel_shape", v, 8, &n))) return s;
    if (n >= 0 && n != 2) return ox_unsupported(c, "attribute 'kernel_shape' of %d values (2-D only)", n);
    if (n < 0 && !wk) return ox_fail(c, GLIA_EINVAL, "attribute 'kernel_shape' is required");
    for (int i = 0; i < 2; i++) {
        w->k[i] = n == 2 ? v[i] : wk[i];
        if (wk && w->k[i] != wk[i]) return ox_fail(c, GLIA_EINVAL, "attribute 'kernel_shape' differs from the weights");
        if (w->k[i] < 1 || w->k[i] > 4096) return ox_fail(c, GLIA_EINVAL, "attribute 'kernel_shape' holds %lld", (long long)w->k[i]);
    }
    const char *names[3] = {"strides", "dilations", "pads"};
    int64_t *dst[3] = {w->st, w->dil, w->pad};
    for (int a = 0; a < 3; a++) {
        int want = a == 2 ? 4 : 2;
        if ((s = ox_attr_ints(c, names[a], v, 8, &n))) return s;
        if (n >= 0 && n != want) return ox_unsupported(c, "attribute '%s' of %d values (2-D only)", names[a], n);
        for (int i = 0; i < want; i++) {
            dst[a][i] = n < 0 ? (a == 2 ? 0 : 1) : v[i];
            if (dst[a][i] < (a == 2 ? 0 : 1) || dst[a][i] > 4096)
                return ox_fail(c, GLIA_EINVAL, "attribute '%s' holds %lld", names[a], (long long)dst[a][i]);
        }
    }
    if ((s = ox_attr_s(c, "auto_pad", "NOTSET", ap, sizeof ap))) return s;
    if (!strcmp(ap, "VALID")) memset(w->pad, 0, sizeof w->pad);
    else if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
        for (int i = 0; i < 2; i++) {
            int64_t in = xs->dim[2 + i], o = (in + w->st[i] - 1) / w->st[i];
            int64_t total = (o - 1) * w->st[i] + (w->k[i] - 1) * w->dil[i] + 1 - in;
            if (total < 0) total = 0;
            int64_t small = total / 2;
            w->pad[i] = ap[5] == 'U' ? small : total - small;
            w->pad[i + 2] = total - w->pad[i];
        }
    } else if (strcmp(ap, "NOTSET")) return ox_fail(c, GLIA_EINVAL, "attribute 'auto_pad' = '%s'", ap);
    return GLIA_OK;
}

/* a 1-D Conv (x [N, C, L], w [O, C/group, K]: an STFT as a convolution, Silero's encoder) is
 * glia's conv2d on [N, C, 1, L] with w seen as [O, C/group, 1, K] */
static glia_status conv1d(ox_ctx *c, int x, int w, int b, const glia_shape *xs, const glia_shape *ws) {
    int64_t v[4], k = ws->dim[2], st = 1, dil = 1, pad[2] = {0, 0}, group;
    int n;
    char ap[32], nm[GLIA_NAME_MAX];
    glia_status s;
    if ((s = ox_attr_ints(c, "kernel_shape", v, 4, &n))) return s;
    if (n >= 0 && (n != 1 || v[0] != k)) return ox_fail(c, GLIA_EINVAL, "attribute 'kernel_shape' does not fit the weights");
    if ((s = ox_attr_ints(c, "strides", v, 4, &n))) return s;
    if (n >= 0 && (n != 1 || (st = v[0]) < 1 || st > 4096)) return ox_fail(c, GLIA_EINVAL, "attribute 'strides' is not one value in 1..4096");
    if ((s = ox_attr_ints(c, "dilations", v, 4, &n))) return s;
    if (n >= 0 && (n != 1 || (dil = v[0]) < 1 || dil > 4096)) return ox_fail(c, GLIA_EINVAL, "attribute 'dilations' is not one value in 1..4096");
    if ((s = ox_attr_ints(c, "pads", v, 4, &n))) return s;
    if (n >= 0 && (n != 2 || v[0] < 0 || v[1] < 0 || v[0] > 4096 || v[1] > 4096)) return ox_fail(c, GLIA_EINVAL, "attribute 'pads' is not two values in 0..4096");
    if (n == 2) pad[0] = v[0], pad[1] = v[1];
    if ((s = ox_attr_s(c, "auto_pad", "NOTSET", ap, sizeof ap)) || (s = ox_attr_i(c, "group", 1, &group))) return s;
    if (!strcmp(ap, "VALID")) pad[0] = pad[1] = 0;
    else if (strcmp(ap, "NOTSET")) return ox_unsupported(c, "attribute 'auto_pad' = '%s' on a 1-D convolution", ap);
    if (group < 1 || group > xs->dim[1]) return ox_fail(c, GLIA_EINVAL, "attribute 'group' = %lld", (long long)group);
    glia_shape x4 = {4, {xs->dim[0], xs->dim[1], 1, xs->dim[2]}}, w4 = {4, {ws->dim[0], ws->dim[1], 1, k}};
    glia_conv2d_params p = {1, (int)st, 0, 0, (int)pad[0], (int)pad[1], 1, (int)dil, (int)group};
    int y;
    glia_shape ys;
    if ((s = reshape_to(c, x, &x4, NULL, &x)) || (s = reshape_to(c, w, &w4, NULL, &w)) ||
        (s = built(c, glia_conv2d(c->g, NULL, x, w, b, &p, &y))))
        return s;
    glia_node_shape(c->g, y, &ys);
    glia_shape y3 = {3, {ys.dim[0], ys.dim[1], ys.dim[3]}};
    if ((s = reshape_to(c, y, &y3, out_name(c, 0, nm, sizeof nm), &y))) return s;
    return set_out(c, 0, y);
}

static glia_status op_conv(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int x, w, b = -1, y;
    glia_shape xs, ws;
    win2d win;
    int64_t group;
    glia_status s;
    if ((s = ox_in_node(c, 0, false, &x)) || (s = ox_in_node(c, 1, true, &w))) return s;
    if (c->node->n_input > 2 && c->node->input[2][0] && (s = ox_in_node(c, 2, true, &b))) return s;
    glia_node_shape(c->g, x, &xs);
    glia_node_shape(c->g, w, &ws);
    if (ws.ndim == 3 && xs.ndim == 3) return conv1d(c, x, w, b, &xs, &ws);
    if (ws.ndim != 4) return ox_unsupported(c, "weights of %d dimensions (1-D and 2-D convolutions only)", ws.ndim);
    if ((s = window(c, &xs, ws.dim + 2, &win)) || (s = ox_attr_i(c, "group", 1, &group))) return s;
    if (group < 1 || group > xs.dim[1]) return ox_fail(c, GLIA_EINVAL, "attribute 'group' = %lld", (long long)group);
    glia_conv2d_params p = {(int)win.st[0], (int)win.st[1], (int)win.pad[0], (int)win.pad[2],
                            (int)win.pad[1], (int)win.pad[3], (int)win.dil[0], (int)win.dil[1],
                            (int)group};
    if ((s = built(c, glia_conv2d(c->g, out_name(c, 0, nm, sizeof nm), x, w, b, &p, &y)))) return s;
    return set_out(c, 0, y);
}

static glia_status op_pool(ox_ctx *c) {
    const char *op = c->node->op_type;
    bool is_max = strstr(op, "Max") != NULL, global = !strncmp(op, "Global", 6);
    char nm[GLIA_NAME_MAX];
    int x, y;
    glia_shape xs;
    win2d w;
    glia_status s = ox_in_node(c, 0, false, &x);
    if (s) return s;
    glia_node_shape(c->g, x, &xs);
    out_name(c, 0, nm, sizeof nm);
    if (global) {
        if (xs.ndim != 4) return ox_unsupported(c, "an input of %d dimensions (2-D [N, C, H, W] only)", xs.ndim);
        if (!is_max) {
            if ((s = built(c, glia_global_avgpool(c->g, nm, x, &y)))) return s;
            return set_out(c, 0, y);
        }
        glia_pool2d_params p = {(int)xs.dim[2], (int)xs.dim[3], 1, 1, 0, 0, 0};
        if ((s = built(c, glia_maxpool2d(c->g, nm, x, &p, &y)))) return s;
        return set_out(c, 0, y);
    }
    int64_t ceil_mode, cip, so;
    if ((s = window(c, &xs, NULL, &w)) || (s = ox_attr_i(c, "ceil_mode", 0, &ceil_mode)) ||
        (s = ox_attr_i(c, "count_include_pad", 0, &cip)) || (s = ox_attr_i(c, "storage_order", 0, &so)))
        return s;
    if (w.dil[0] != 1 || w.dil[1] != 1) return ox_unsupported(c, "attribute 'dilations' other than 1");
    if (c->node->n_output > 1 && c->node->output[1][0]) return ox_unsupported(c, "output 'Indices'");
    /* output size, then the end padding that gives it with floor division */
    int64_t o[2], extra[2];
    for (int i = 0; i < 2; i++) {
        int64_t span = xs.dim[2 + i] + w.pad[i] + w.pad[i + 2] - w.k[i];
        if (span < 0) return ox_fail(c, GLIA_ESHAPE, "the kernel is larger than the padded input");
        o[i] = (ceil_mode ? (span + w.st[i] - 1) / w.st[i] : span / w.st[i]) + 1;
        /* PyTorch and ONNX Runtime drop a last window that starts in the end padding */
        if (ceil_mode && (o[i] - 1) * w.st[i] >= xs.dim[2 + i] + w.pad[i]) o[i]--;
        extra[i] = (o[i] - 1) * w.st[i] + w.k[i] - (xs.dim[2 + i] + w.pad[i] + w.pad[i + 2]);
        if (extra[i] < 0) extra[i] = 0;
    }
    int64_t pad[4] = {w.pad[0], w.pad[1], w.pad[2] + extra[0], w.pad[3] + extra[1]};
    glia_pool2d_params p = {(int)w.k[0], (int)w.k[1], (int)w.st[0], (int)w.st[1], 0, 0, 0};
    if (pad[0] == pad[2] && pad[1] == pad[3] && pad[0] <= w.k[0] / 2 && pad[1] <= w.k[1] / 2) {
        p.pad_h = (int)pad[0];
        p.pad_w = (int)pad[1];
    } else {
        if ((s = pad_blocks(c, x, pad, is_max ? -FLT_MAX : 0.0f, &x))) return s;
    }
    /* glia's average counts every position of the window: the ONNX divisor counts the input
     * (and, with count_include_pad, the explicit pads but not the ceil_mode extension) */
    bool fix = false;
    glia_shape fs = {4, {1, 1, o[0], o[1]}};
    float *f = NULL;
    if (!is_max) {
        f = glia__malloc((size_t)(o[0] * o[1]) * sizeof *f);
        if (!f) return glia__err(GLIA_ENOMEM, "out of memory");
        for (int64_t i = 0; i < o[0]; i++)
            for (int64_t j = 0; j < o[1]; j++) {
                int64_t cnt[2], at[2] = {i, j};
                for (int a = 0; a < 2; a++) {
                    int64_t lo = at[a] * w.st[a] - w.pad[a], hi = lo + w.k[a];
                    int64_t L = cip ? -w.pad[a] : 0, H = xs.dim[2 + a] + (cip ? w.pad[a + 2] : 0);
                    cnt[a] = (hi < H ? hi : H) - (lo > L ? lo : L);
                }
                f[i * o[1] + j] = (float)((double)(w.k[0] * w.k[1]) / (double)(cnt[0] * cnt[1]));
                fix |= f[i * o[1] + j] != 1.0f;
            }
    }
    s = built(c, (is_max ? glia_maxpool2d : glia_avgpool2d)(c->g, fix ? NULL : nm, x, &p, &y));
    if (!s && fix) {
        int k;
        if (!(s = built(c, glia_buffer(c->g, NULL, 4, fs.dim, &k)))) {
            memcpy(glia_node_value(c->g, k), f, (size_t)(o[0] * o[1]) * sizeof *f);
            s = built(c, glia_mul(c->g, nm, y, k, &y));
        }
    }
    free(f);
    if (s) return s;
    return set_out(c, 0, y);
}

static glia_status op_batchnorm(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int x, g, b, m, v, y;
    float eps, mom;
    int64_t spatial, train;
    glia_status s;
    for (size_t k = 1; k < c->node->n_output; k++)
        if (c->node->output[k][0]) return ox_unsupported(c, "output %zu (training statistics)", k);
    if ((s = ox_attr_f(c, "epsilon", 1e-5f, &eps)) || (s = ox_attr_f(c, "momentum", 0.9f, &mom)) ||
        (s = ox_attr_i(c, "spatial", 1, &spatial)) || (s = ox_attr_i(c, "training_mode", 0, &train)))
        return s;
    if (!spatial) return ox_unsupported(c, "attribute 'spatial' = 0");
    if (train) return ox_unsupported(c, "attribute 'training_mode' = 1");
    if (!(eps > 0) || !(mom >= 0 && mom <= 1)) return ox_fail(c, GLIA_EINVAL, "epsilon %g or momentum %g", eps, mom);
    for (int k = 3; k <= 4; k++) {
        ox_value *st;
        if ((s = in_const(c, k, "running statistic", &st))) return s;
    }
    if ((s = ox_in_node(c, 0, false, &x)) || (s = ox_in_node(c, 1, true, &g)) ||
        (s = ox_in_node(c, 2, true, &b)) || (s = ox_in_node(c, 3, false, &m)) ||
        (s = ox_in_node(c, 4, false, &v)))
        return s;
    /* ONNX: running = running * momentum + batch * (1 - momentum); glia uses PyTorch's */
    if ((s = built(c, glia_batchnorm(c->g, out_name(c, 0, nm, sizeof nm), x, g, b, m, v, eps, 1 - mom, &y))))
        return s;
    return set_out(c, 0, y);
}

static glia_status op_lrn(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int x, y;
    int64_t size;
    float alpha, beta, bias;
    glia_status s;
    if ((s = ox_in_node(c, 0, false, &x)) || (s = ox_attr_i(c, "size", 0, &size)) ||
        (s = ox_attr_f(c, "alpha", 1e-4f, &alpha)) || (s = ox_attr_f(c, "beta", 0.75f, &beta)) ||
        (s = ox_attr_f(c, "bias", 1.0f, &bias)))
        return s;
    /* ONNX's window is [c - (size-1)/2, c + size/2 rounded up], glia's (PyTorch's) [c - size/2,
     * c + (size-1)/2]: the same for odd sizes only */
    if (size < 1 || size % 2 == 0 || size > 4096) return ox_unsupported(c, "attribute 'size' = %lld (odd sizes only)", (long long)size);
    if ((s = built(c, glia_lrn(c->g, out_name(c, 0, nm, sizeof nm), x, (int)size, alpha, beta, bias, &y))))
        return s;
    return set_out(c, 0, y);
}

/* Softmax/LogSoftmax: glia's work along axis 1. Before opset 13 ONNX flattens x to
 * [prod(dims < axis), prod(dims >= axis)]; from 13 it works along one axis. */
static glia_status op_softmax(ox_ctx *c) {
    bool logsm = c->node->op_type[0] == 'L';
    char nm[GLIA_NAME_MAX];
    int x, y;
    glia_shape xs;
    int64_t axis;
    const glia_shape *view;
    glia_status s = in_flat(c, 0, &x, &view);
    if (s) return s;
    glia_node_shape(c->g, x, &xs);
    const glia_shape vs = view ? *view : xs;
    if ((s = ox_attr_i(c, "axis", c->opset < 13 ? 1 : -1, &axis))) return s;
    if (axis < 0) axis += vs.ndim;
    if (axis < 0 || axis >= vs.ndim) return ox_fail(c, GLIA_EINVAL, "attribute 'axis' is outside the input's %d dimensions", vs.ndim);
    out_name(c, 0, nm, sizeof nm);
    if (view) { /* held as another shape with the same last axis: over the node's last axis */
        if (axis != vs.ndim - 1 || xs.dim[xs.ndim - 1] != vs.dim[vs.ndim - 1] || xs.ndim < 2)
            return ox_unsupported(c, "a softmax of '%s', which glia holds in another shape", c->node->input[0]);
        axis = xs.ndim - 1;
    }
    if (xs.ndim == 2 && axis == 1 && view) {
        if ((s = built(c, (logsm ? glia_log_softmax : glia_softmax)(c->g, nm, x, &y)))) return s;
        return set_out_view(c, 0, y, view);
    }
    if (xs.ndim > 2 && axis == xs.ndim - 1) {
        /* over the last axis (the same for every opset: flattening from the last axis keeps it
         * alone): moved to axis 1 by glia's transpose, and back (a swap is its own inverse) */
        int perm[GLIA_MAX_DIMS];
        for (int d = 0; d < xs.ndim; d++) perm[d] = d;
        perm[1] = (int)axis;
        perm[axis] = 1;
        if ((s = built(c, glia_transpose(c->g, NULL, x, xs.ndim, perm, &x))) ||
            (s = built(c, (logsm ? glia_log_softmax : glia_softmax)(c->g, NULL, x, &y))) ||
            (s = built(c, glia_transpose(c->g, nm, y, xs.ndim, perm, &y))))
            return s;
        return set_out_view(c, 0, y, view);
    }
    bool flat = c->opset < 13 && xs.ndim > 2;
    if (axis != 1 || (!flat && xs.ndim > 2 && c->opset < 13))
        return ox_unsupported(c, "attribute 'axis' = %lld for an input of %d dimensions (axis 1 only)", (long long)axis, xs.ndim);
    int t = x;
    if (flat && (s = built(c, glia_flatten(c->g, NULL, x, &t)))) return s;
    if ((s = built(c, (logsm ? glia_log_softmax : glia_softmax)(c->g, flat ? NULL : nm, t, &y)))) return s;
    if (flat && (s = reshape_to(c, y, &xs, nm, &y))) return s;
    return set_out(c, 0, y);
}

/* a 2-D constant B [K, M] as a parameter W [M, K] = B^T (glia's dense takes PyTorch's layout) */
static glia_status transposed_param(ox_ctx *c, const ox_value *b, int *out) {
    char nm[GLIA_NAME_MAX], want[GLIA_NAME_MAX + 4];
    snprintf(want, sizeof want, "%s^T", b->name);
    ox_node_name(c, want, nm, sizeof nm);
    int64_t K = b->shape.dim[0], M = b->shape.dim[1];
    glia_status s = built(c, (b->init ? glia_param : glia_buffer)(c->g, nm, 2, (int64_t[]){M, K}, out));
    if (s) return s;
    float *w = glia_node_value(c->g, *out);
    for (int64_t i = 0; i < K; i++)
        for (int64_t j = 0; j < M; j++) w[j * K + i] = (float)b->v[i * M + j];
    return GLIA_OK;
}

/* Gemm: y = alpha A' B' + beta C; MatMul: y = A B with A [N, K] and B a constant [K, M] */
static glia_status op_gemm(ox_ctx *c) {
    bool gemm = c->node->op_type[0] == 'G';
    char nm[GLIA_NAME_MAX];
    int a, w, bias = -1, y;
    int64_t ta = 0, tb = 0;
    float alpha = 1, beta = 1;
    glia_status s;
    ox_value *B, *C = NULL;
    if (gemm && ((s = ox_attr_i(c, "transA", 0, &ta)) || (s = ox_attr_i(c, "transB", 0, &tb)) ||
                 (s = ox_attr_f(c, "alpha", 1, &alpha)) || (s = ox_attr_f(c, "beta", 1, &beta))))
        return s;
    if (ta) return ox_unsupported(c, "attribute 'transA' = 1");
    const glia_shape *view;
    if ((s = in_flat(c, 0, &a, &view)) || (s = ox_in(c, 1, &B)) || (gemm && (s = ox_in(c, 2, &C)))) return s;
    if (!B) return ox_fail(c, GLIA_EINVAL, "input 'B' is missing");
    glia_shape as, bs = ox_shape(c, B), ns;
    glia_node_shape(c->g, a, &ns);
    as = view ? *view : ns;
    if (!gemm && !B->is_const) { /* two run-time values (attention): glia's batched matmul */
        int b;
        if ((s = ox_in_node(c, 0, false, &a)) || (s = ox_in_node(c, 1, false, &b))) return s;
        if ((s = built(c, glia_matmul(c->g, out_name(c, 0, nm, sizeof nm), a, b, &y)))) return s;
        return set_out(c, 0, y);
    }
    glia_shape out3 = {0, {0}}; /* MatMul of [T, N, K] rows: the output seen as [T, N, M] */
    if (!gemm && as.ndim == 3 && bs.ndim == 2) {
        out3 = (glia_shape){3, {as.dim[0], as.dim[1], bs.dim[1]}};
        if (!(ns.ndim == 2 && ns.dim[0] == as.dim[0] * as.dim[1] && ns.dim[1] == as.dim[2]) &&
            (s = built(c, glia_time_flatten(c->g, NULL, a, &a))))
            return s;
        as = (glia_shape){2, {as.dim[0] * as.dim[1], as.dim[2]}};
    } else if (view && (s = ox_in_node(c, 0, false, &a))) return s;
    if (as.ndim != 2 || bs.ndim != 2)
        return ox_unsupported(c, "a product of %d-D and %d-D tensors (2-D, or [T, N, K] by [K, M])", as.ndim, bs.ndim);
    if (tb) s = ox_in_node(c, 1, true, &w);
    else if (B->is_const && B->node < 0) s = transposed_param(c, B, &w);
    else return ox_unsupported(c, "B computed at run time without transB");
    if (s) return s;
    glia_shape ws;
    glia_node_shape(c->g, w, &ws);
    int64_t M = ws.dim[0];
    out_name(c, 0, nm, sizeof nm);
    bool plain = alpha == 1 && (!C || beta == 1);
    if (C && plain) {
        glia_shape cs = ox_shape(c, C);
        if ((cs.ndim == 1 && cs.dim[0] == M) || (cs.ndim == 2 && cs.dim[0] == 1 && cs.dim[1] == M)) {
            if (cs.ndim == 2 && C->is_const && C->node < 0) C->shape = (glia_shape){1, {M}};
            if (cs.ndim == 1 || C->shape.ndim == 1) {
                if ((s = ox_in_node(c, 2, true, &bias))) return s;
                C = NULL;
            }
        }
    }
    bool tail = C || alpha != 1;
    if ((s = built(c, glia_dense(c->g, tail ? NULL : nm, a, w, bias, &y)))) return s;
    if (alpha != 1 && (s = built(c, glia_scale(c->g, C ? NULL : nm, y, alpha, &y)))) return s;
    if (C) {
        int cn;
        if ((s = ox_in_node(c, 2, true, &cn))) return s;
        if (beta != 1 && (s = built(c, glia_scale(c->g, NULL, cn, beta, &cn)))) return s;
        if ((s = built(c, glia_add(c->g, nm, y, cn, &y)))) return s;
    }
    return set_out_view(c, 0, y, out3.ndim ? &out3 : NULL);
}

/* Pow(x, 2) = x * x (a layer norm's variance); other exponents have no glia op */
static glia_status op_pow(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    ox_value *e;
    int x, y;
    glia_status s = in_const(c, 1, "exponent", &e);
    if (s) return s;
    if (!e || glia_shape_numel(&e->shape) != 1 || e->v[0] != 2)
        return ox_unsupported(c, "an exponent other than the constant 2");
    if ((s = ox_in_node(c, 0, false, &x)) || (s = built(c, glia_mul(c->g, out_name(c, 0, nm, sizeof nm), x, x, &y))))
        return s;
    return set_out(c, 0, y);
}

/* Gather(x, indices) of run-time x at constant indices (Silero's state[0], state[1]): x's
 * slices at the indices along the axis (ox_take); a scalar index drops the axis (a view of the
 * slice when that is the first axis) */
static glia_status gather_rows(ox_ctx *c, int64_t axis, const ox_value *ix) {
    char nm[GLIA_NAME_MAX];
    int x, y;
    glia_shape xs;
    glia_status s = ox_in_node(c, 0, false, &x);
    if (s) return s;
    glia_node_shape(c->g, x, &xs);
    if (axis < 0) axis += xs.ndim;
    if (axis < 0 || axis >= xs.ndim) return ox_fail(c, GLIA_EINVAL, "attribute 'axis' is outside the %d dimensions", xs.ndim);
    int64_t n = glia_shape_numel(&ix->shape), D = xs.dim[axis];
    if (ix->shape.ndim > 1 || n < 1) return ox_unsupported(c, "indices of shape other than [] or [k] on run-time data");
    int64_t *idx = glia__malloc((size_t)n * sizeof *idx);
    if (!idx) return glia__err(GLIA_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n && !s; i++) {
        int64_t q = ox_i64(ix->v[i]);
        idx[i] = q < 0 ? q + D : q;
        if (idx[i] < 0 || idx[i] >= D)
            s = ox_fail(c, GLIA_ERANGE, "index %g is outside axis %lld (%lld)", ix->v[i], (long long)axis, (long long)D);
    }
    out_name(c, 0, nm, sizeof nm);
    bool scalar = ix->shape.ndim == 0;
    if (!s) s = ox_take(c, x, (int)axis, idx, n, scalar ? NULL : nm, &y);
    free(idx);
    if (s || !scalar) return s ? s : set_out(c, 0, y);
    glia_shape to = xs; /* a scalar index: the axis goes */
    for (int d = (int)axis; d + 1 < xs.ndim; d++) to.dim[d] = xs.dim[d + 1];
    to.ndim--;
    if (axis == 0 || to.ndim < 1) return set_out_view(c, 0, y, &to);
    if ((s = reshape_to(c, y, &to, nm, &y))) return s;
    return set_out(c, 0, y);
}

/* Gather(data, indices) on axis 0 with constant data [V, ...] and run-time integer indices (a
 * Cast of glia's float ids): glia's embedding, data a parameter when it is an initialiser */
static glia_status op_gather(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int64_t axis;
    ox_value *d, *ix;
    int w, y;
    glia_status s;
    if ((s = ox_attr_i(c, "axis", 0, &axis)) || (s = ox_in(c, 0, &d)) || (s = ox_in(c, 1, &ix))) return s;
    if (!d || !ix) return ox_fail(c, GLIA_EINVAL, "inputs data and indices are required");
    if (!d->is_const && ix->is_const) return gather_rows(c, axis, ix);
    if ((s = in_const(c, 0, "data", &d))) return s;
    if (axis != 0) return ox_unsupported(c, "attribute 'axis' = %lld on run-time indices", (long long)axis);
    if (!ix->int_cast) return ox_unsupported(c, "indices '%s' are not glia's ids (a Cast of floats to integers)", ix->name);
    if ((s = ox_in_node(c, 0, true, &w)) ||
        (s = built(c, glia_embedding(c->g, out_name(c, 0, nm, sizeof nm), ix->node, w, -1, &y))))
        return s;
    return set_out(c, 0, y);
}

static glia_status op_concat(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int xs[GLIA_MAX_INPUTS], n = 0, y = -1;
    int64_t axis;
    glia_status s = ox_attr_i(c, "axis", 1, &axis);
    if (s) return s;
    glia_shape s0 = {0, {0}};
    out_name(c, 0, nm, sizeof nm);
    /* more inputs than a glia node takes (DenseNet's blocks): concatenations of concatenations,
     * the first input of each next one the previous result */
    size_t last = 0;
    for (size_t k = 0; k < c->node->n_input; k++)
        if (c->node->input[k][0]) last = k;
    for (size_t k = 0; k < c->node->n_input; k++) {
        if (!c->node->input[k][0]) continue;
        if ((s = ox_in_node(c, (int)k, true, &xs[n++]))) return s;
        if (n == 1 && y < 0) {
            glia_node_shape(c->g, xs[0], &s0);
            if (axis < 0) axis += s0.ndim;
            if (axis < 0 || axis >= s0.ndim)
                return ox_fail(c, GLIA_EINVAL, "attribute 'axis' is outside the %d dimensions", s0.ndim);
        }
        if (n == GLIA_MAX_INPUTS || k == last) {
            if ((s = built(c, glia_concat(c->g, k == last ? nm : NULL, n, xs, (int)axis, &y)))) return s;
            xs[0] = y;
            n = 1;
        }
    }
    if (y < 0) return ox_fail(c, GLIA_EINVAL, "no inputs");
    return set_out(c, 0, y);
}

static glia_status op_split(ox_ctx *c) {
    int x, y;
    int64_t axis, sizes[64];
    int n = -1;
    glia_shape xs;
    glia_status s = ox_in_node(c, 0, false, &x);
    if (s || (s = ox_attr_i(c, "axis", 0, &axis))) return s;
    glia_node_shape(c->g, x, &xs);
    if (axis < 0) axis += xs.ndim;
    if (axis < 0 || axis >= xs.ndim) return ox_fail(c, GLIA_EINVAL, "attribute 'axis' is outside the %d dimensions", xs.ndim);
    int outs = (int)c->node->n_output;
    if (outs < 1 || outs > 64) return ox_unsupported(c, "%d outputs", outs);
    if (c->opset < 13) {
        if ((s = ox_attr_ints(c, "split", sizes, 64, &n))) return s;
    } else {
        ox_value *v;
        if ((s = in_const(c, 1, "split", &v))) return s;
        if (v) {
            n = (int)glia_shape_numel(&v->shape);
            if (n > 64) return ox_unsupported(c, "%d parts", n);
            for (int i = 0; i < n; i++) sizes[i] = ox_i64(v->v[i]);
        }
    }
    if (n < 0) {
        if (xs.dim[axis] % outs) return ox_fail(c, GLIA_ESHAPE, "axis %lld of size %lld does not split in %d", (long long)axis, (long long)xs.dim[axis], outs);
        for (int i = 0; i < outs; i++) sizes[i] = xs.dim[axis] / outs;
        n = outs;
    }
    if (n != outs) return ox_fail(c, GLIA_EINVAL, "%d sizes for %d outputs", n, outs);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        char nm[GLIA_NAME_MAX];
        if (sizes[i] <= 0 || at + sizes[i] > xs.dim[axis])
            return ox_unsupported(c, "part %d of size %lld (non-empty parts that fit only)", i, (long long)sizes[i]);
        if (c->node->output[i][0]) {
            if ((s = built(c, glia_slice(c->g, out_name(c, i, nm, sizeof nm), x, (int)axis, at, at + sizes[i], &y))) ||
                (s = set_out(c, i, y)))
                return s;
        }
        at += sizes[i];
    }
    if (at != xs.dim[axis]) return ox_fail(c, GLIA_ESHAPE, "the parts add up to %lld, not %lld", (long long)at, (long long)xs.dim[axis]);
    return GLIA_OK;
}

/* Slice with steps (negative ones: Silero's reversed slices), as ONNX clamps them: each axis's
 * indices picked by ox_take, one axis after the other */
static glia_status slice_steps(ox_ctx *c, int x, const glia_shape *xs, const int64_t *st, const int64_t *en,
                               const int64_t *ax, const int64_t *sp, int ns) {
    char nm[GLIA_NAME_MAX];
    int y = x;
    out_name(c, 0, nm, sizeof nm);
    for (int i = 0; i < ns; i++) {
        int64_t a = ax ? ax[i] : i, k = sp[i];
        if (a < 0) a += xs->ndim;
        if (a < 0 || a >= xs->ndim || k == 0) return ox_fail(c, GLIA_EINVAL, "axis %lld or step %lld is invalid", (long long)a, (long long)k);
        int64_t D = xs->dim[a], b = st[i], e = en[i], n = 0;
        if (b < 0) b += D;
        if (e < 0) e += D;
        if (k > 0) {
            b = b < 0 ? 0 : b > D ? D : b;
            e = e < 0 ? 0 : e > D ? D : e;
        } else {
            b = b < 0 ? -1 : b > D - 1 ? D - 1 : b;
            e = e < -1 ? -1 : e > D - 1 ? D - 1 : e;
        }
        int64_t *idx = malloc((size_t)(D + 1) * sizeof *idx);
        if (!idx) return glia__err(GLIA_ENOMEM, "out of memory");
        for (int64_t j = b; k > 0 ? j < e : j > e; j += k) idx[n++] = j;
        glia_status s = n ? ox_take(c, y, (int)a, idx, n, i == ns - 1 ? nm : NULL, &y)
                          : ox_unsupported(c, "an empty slice of axis %lld", (long long)a);
        free(idx);
        if (s) return s;
    }
    return set_out(c, 0, y);
}

static glia_status op_slice(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int x;
    glia_shape xs;
    int64_t st[GLIA_MAX_DIMS], en[GLIA_MAX_DIMS], ax[GLIA_MAX_DIMS], sp[GLIA_MAX_DIMS];
    int ns = -1, ne = -1, na = -1, np = -1;
    glia_status s = ox_in_node(c, 0, false, &x);
    if (s) return s;
    glia_node_shape(c->g, x, &xs);
    if (c->opset < 10) {
        if ((s = ox_attr_ints(c, "starts", st, GLIA_MAX_DIMS, &ns)) || (s = ox_attr_ints(c, "ends", en, GLIA_MAX_DIMS, &ne)) ||
            (s = ox_attr_ints(c, "axes", ax, GLIA_MAX_DIMS, &na)))
            return s;
    } else {
        int64_t *dst[4] = {st, en, ax, sp};
        int *cnt[4] = {&ns, &ne, &na, &np};
        for (int k = 1; k <= 4; k++) {
            ox_value *v;
            if ((s = in_const(c, k, "starts/ends/axes/steps", &v))) return s;
            if (!v) continue;
            int64_t m = glia_shape_numel(&v->shape);
            if (m > GLIA_MAX_DIMS) return ox_fail(c, GLIA_EINVAL, "'%s' holds %lld values", v->name, (long long)m);
            for (int64_t i = 0; i < m; i++) dst[k - 1][i] = ox_i64(v->v[i]);
            *cnt[k - 1] = (int)m;
        }
    }
    if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (np >= 0 && np != ns))
        return ox_fail(c, GLIA_EINVAL, "starts, ends, axes and steps differ in length");
    int64_t sa[GLIA_MAX_DIMS], sb[GLIA_MAX_DIMS], se[GLIA_MAX_DIMS];
    int m = 0, y = x;
    for (int i = 0; np >= 0 && i < ns; i++)
        if (sp[i] != 1) return slice_steps(c, x, &xs, st, en, na >= 0 ? ax : NULL, sp, ns);
    for (int i = 0; i < ns; i++) {
        int64_t a = na >= 0 ? ax[i] : i;
        if (a < 0) a += xs.ndim;
        if (a < 0 || a >= xs.ndim) return ox_fail(c, GLIA_EINVAL, "axis %lld is outside the %d dimensions", (long long)a, xs.ndim);
        int64_t D = xs.dim[a], b = st[i], e = en[i];
        if (b < 0) b = b < -D ? 0 : b + D;
        if (e < 0) e = e < -D ? 0 : e + D;
        b = b > D ? D : b;
        e = e > D ? D : e;
        if (e <= b) return ox_unsupported(c, "an empty slice of axis %lld", (long long)a);
        if (b == 0 && e == D) continue;
        sa[m] = a, sb[m] = b, se[m++] = e;
    }
    out_name(c, 0, nm, sizeof nm);
    for (int j = 0; j < m; j++)
        if ((s = built(c, glia_slice(c->g, j == m - 1 ? nm : NULL, y, (int)sa[j], sb[j], se[j], &y)))) return s;
    if (!m && (s = built(c, glia_linear(c->g, nm, x, &y)))) return s;
    return set_out(c, 0, y);
}

static glia_status op_pad(ox_ctx *c) {
    char mode[16];
    int64_t pads[2 * GLIA_MAX_DIMS];
    int n = -1;
    glia_status s = ox_attr_s(c, "mode", "constant", mode, sizeof mode);
    if (s) return s;
    bool copies = !strcmp(mode, "reflect") || !strcmp(mode, "edge"); /* onnx_pad.c */
    if (strcmp(mode, "constant") && !copies) return ox_unsupported(c, "attribute 'mode' = '%s'", mode);
    float value = 0;
    if (c->opset < 11) {
        if ((s = ox_attr_ints(c, "pads", pads, 2 * GLIA_MAX_DIMS, &n)) || (s = ox_attr_f(c, "value", 0, &value))) return s;
    } else {
        ox_value *p, *v;
        if ((s = in_const(c, 1, "pads", &p)) || (s = in_const(c, 2, "constant_value", &v))) return s;
        if (c->node->n_input > 3 && c->node->input[3][0]) return ox_unsupported(c, "input 'axes'");
        if (p) {
            n = (int)glia_shape_numel(&p->shape);
            if (n > 2 * GLIA_MAX_DIMS) return ox_fail(c, GLIA_EINVAL, "%d pads", n);
            for (int i = 0; i < n; i++) pads[i] = ox_i64(p->v[i]);
        }
        if (v) value = (float)v->v[0];
    }
    int x, y;
    glia_shape xs;
    if ((s = ox_in_node(c, 0, false, &x))) return s;
    glia_node_shape(c->g, x, &xs);
    if (n != 2 * xs.ndim) return ox_fail(c, GLIA_EINVAL, "%d pads for %d dimensions", n, xs.ndim);
    char nm[GLIA_NAME_MAX];
    if (copies) { /* any axis but the first (the batch), one after the other */
        int last = -1;
        for (int d = 0; d < xs.ndim; d++) {
            if (pads[d] < 0 || pads[d + xs.ndim] < 0) return ox_unsupported(c, "negative pads (cropping)");
            if (pads[d] > 4096 || pads[d + xs.ndim] > 4096) return ox_fail(c, GLIA_EINVAL, "pads over 4096");
            if (pads[d] || pads[d + xs.ndim]) last = d;
        }
        if (last == 0 || (pads[0] || pads[xs.ndim])) return ox_unsupported(c, "padding the first (batch) axis");
        y = x;
        for (int d = 1; d <= last && !s; d++)
            if (pads[d] || pads[d + xs.ndim])
                s = ox_pad_edges(c, y, d, pads[d], pads[d + xs.ndim], mode[0] == 'r',
                                 d == last ? out_name(c, 0, nm, sizeof nm) : NULL, &y);
        if (s) return s;
        if (last < 0 && (s = built(c, glia_linear(c->g, out_name(c, 0, nm, sizeof nm), x, &y)))) return s;
        return set_out(c, 0, y);
    }
    for (int d = 0; d < xs.ndim; d++) {
        if (pads[d] < 0 || pads[d + xs.ndim] < 0) return ox_unsupported(c, "negative pads (cropping)");
        if ((pads[d] || pads[d + xs.ndim]) && (xs.ndim != 4 || d < 2)) return ox_unsupported(c, "padding outside H and W of [N, C, H, W]");
        if (pads[d] > 4096 || pads[d + xs.ndim] > 4096) return ox_fail(c, GLIA_EINVAL, "pads over 4096");
    }
    if (xs.ndim == 4) {
        int64_t p4[4] = {pads[2], pads[3], pads[6], pads[7]};
        if ((s = pad_blocks(c, x, p4, value, &y))) return s;
    } else y = x;
    if ((s = built(c, glia_linear(c->g, out_name(c, 0, nm, sizeof nm), y, &y)))) return s;
    return set_out(c, 0, y);
}

/* ReduceMean over trailing axes [k, r) of x [N, ...] (k >= 1: the batch stays): x as [N, M, R, 1]
 * (M: the kept dimensions' product, R: the reduced ones') through glia's global average pooling
 * (the exact mean over R), then reshaped to the output (over H and W of [N, C, H, W]: the pooling
 * alone). A layer norm's mean over the last axis is one. */
/* ReduceMean over inner axes of x (not the first; Silero's mean over frequencies, axis 1 of
 * [N, F, T]): glia's transpose moves them last, in order, then the mean over trailing axes as
 * below; the kept axes keep their order, so the result is a reshape of the output */
static glia_status mean_inner_axes(ox_ctx *c, int x, const glia_shape *xs, const bool *red, int64_t keep) {
    char nm[GLIA_NAME_MAX];
    int perm[GLIA_MAX_DIMS], m = 0, y;
    int64_t M = 1, R = 1;
    glia_shape to = {0, {0}};
    glia_status s;
    for (int d = 0; d < xs->ndim; d++)
        if (!red[d]) perm[m++] = d, M *= d ? xs->dim[d] : 1;
    for (int d = 0; d < xs->ndim; d++)
        if (red[d]) perm[m++] = d, R *= xs->dim[d];
    for (int d = 0; d < xs->ndim; d++)
        if (!red[d] || keep) to.dim[to.ndim++] = red[d] ? 1 : xs->dim[d];
    glia_shape p4 = {4, {xs->dim[0], M, R, 1}};
    if ((s = built(c, glia_transpose(c->g, NULL, x, xs->ndim, perm, &y))) || (s = reshape_to(c, y, &p4, NULL, &y)) ||
        (s = built(c, glia_global_avgpool(c->g, NULL, y, &y))) || (s = reshape_to(c, y, &to, out_name(c, 0, nm, sizeof nm), &y)))
        return s;
    return set_out(c, 0, y);
}

static glia_status op_reduce_mean(ox_ctx *c) {
    char nm[GLIA_NAME_MAX];
    int x, y;
    int64_t ax[GLIA_MAX_DIMS], keep;
    int n;
    glia_shape xs, ns;
    const glia_shape *view;
    glia_status s = in_flat(c, 0, &x, &view);
    if (s || (s = ox_attr_i(c, "keepdims", 1, &keep)) || (s = ox_axes(c, ax, GLIA_MAX_DIMS, &n))) return s;
    glia_node_shape(c->g, x, &ns);
    xs = view ? *view : ns;
    bool red[GLIA_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++) {
        int64_t a = ax[i] < 0 ? ax[i] + xs.ndim : ax[i];
        if (a < 0 || a >= xs.ndim) return ox_fail(c, GLIA_EINVAL, "axis %lld of a %d-D tensor", (long long)ax[i], xs.ndim);
        red[a] = true;
    }
    int k = xs.ndim;
    while (k > 1 && red[k - 1]) k--;
    bool fits = n > 0 && k >= 1 && k < xs.ndim;
    for (int d = 0; d < k; d++) fits &= !red[d];
    if (!fits && n > 0 && !red[0] && !view) return mean_inner_axes(c, x, &xs, red, keep);
    if (!fits) return ox_unsupported(c, "a mean over axes other than trailing ones after the first (batch) axis");
    int64_t M = 1, R = 1;
    for (int d = 1; d < k; d++) M *= xs.dim[d];
    for (int d = k; d < xs.ndim; d++) R *= xs.dim[d];
    glia_shape to = xs; /* the output */
    to.ndim = keep ? xs.ndim : k;
    for (int d = k; d < to.ndim; d++) to.dim[d] = 1;
    out_name(c, 0, nm, sizeof nm);
    if (view) { /* held as the node ns: reduce ns's trailing axes of the same product R */
        int64_t tail = 1;
        int kn = ns.ndim;
        while (kn > 1 && tail < R) tail *= ns.dim[--kn];
        if (tail != R) return ox_unsupported(c, "a mean over axes of '%s', which glia holds in another shape", c->node->input[0]);
        M = glia_shape_numel(&ns) / ns.dim[0] / R;
        glia_shape p4 = {4, {ns.dim[0], M, R, 1}};
        if ((s = reshape_to(c, x, &p4, NULL, &x)) || (s = built(c, glia_global_avgpool(c->g, nm, x, &y)))) return s;
        return set_out_view(c, 0, y, &to); /* [N', M, 1, 1] holds the mean in the value's order */
    }
    glia_shape p4 = {4, {xs.dim[0], M, R, 1}}, g4 = {4, {xs.dim[0], M, 1, 1}};
    if ((s = reshape_to(c, x, &p4, NULL, &x)) || (s = built(c, glia_global_avgpool(c->g, glia__shape_eq(&g4, &to) ? nm : NULL, x, &y))) ||
        (s = reshape_to(c, y, &to, nm, &y)))
        return s;
    return set_out(c, 0, y);
}

/* ---------------------------------------------------------------- recurrent layers
 * ONNX's RNN, LSTM and GRU (layout 0: X [T, N, I]) onto glia's ops, which follow PyTorch:
 * the weights W [dirs, G*H, I], R [dirs, G*H, H], B [dirs, 2*G*H] (W's biases, then R's) are
 * copied gate by gate from ONNX's order (LSTM i, o, f, c; GRU z, r, h) into PyTorch's (LSTM i,
 * f, g, o; GRU r, z, n). GRU with linear_before_reset = 1 is PyTorch's cell (what torch.onnx
 * exports), with 0 (ONNX's default) glia's gru with reset_before. Y [T, dirs, N, H] is glia's y [T, N, dirs*H]: the same values for one direction;
 * for two it is held as [T, N, dirs, H] and read through the Transpose(0, 2, 1, 3) that follows
 * it in exported models (a graph output gets a transpose). layout = 1 (batch first) is glia's
 * transpose op on X, the initial states, Y and Y_h. Y_h is glia's seq_last of y; Y_c is the
 * row T that glia's lstm appends to y with cell_out (the final cell states). LSTM peepholes P
 * are glia's peepholes, input_forget glia's input_forget. */
/* An lstm built with cell_out: *y [T+1, N, dirs H] -> output 2 (Y_c) from its row T, as
 * [dirs, N, H] ([N, dirs, H] with layout = 1), and *y becomes the steps' rows [T, N, dirs H] */
static glia_status recurrent_yc(ox_ctx *c, int *y, int64_t T, int64_t N, int64_t H, int dirs, int64_t layout) {
    static const int swap01[3] = {1, 0, 2};
    glia_shape nd = {3, {N, dirs, H}};
    int yc;
    ox_value *v;
    glia_status s;
    if ((s = built(c, glia_slice(c->g, NULL, *y, 0, T, T + 1, &yc))) || /* [1, N, dirs H] -> [N, 1, dirs H] */
        (s = built(c, glia_transpose(c->g, NULL, yc, 3, swap01, &yc))) || (s = reshape_to(c, yc, &nd, NULL, &yc)) ||
        (!layout && (s = built(c, glia_transpose(c->g, NULL, yc, 3, swap01, &yc)))) ||
        (s = ox_add(c, c->node->output[2], &v)))
        return s;
    v->node = yc;
    return built(c, glia_slice(c->g, NULL, *y, 0, 0, T, y));
}

/* The recurrent op's base name and layer k: its parameters are "<base>.weight_ih_l<k>", ...
 * (glia_lstm's names, PyTorch's state_dict's). From the node's name: glia's export names it as
 * its op, "<base>" or "<base>.l<k>"; PyTorch's "/<module path>/<op type>[_<k>]" (the k-th
 * layer of one module: "/rnn/LSTM", "/rnn/LSTM_1"; the path's '/' become '.'). A name that is
 * neither, too long, or whose parameters or op name are taken: the node's first output, layer 0. */
static void recurrent_name(ox_ctx *c, char *base, size_t len, int *layer) {
    const char *nm = c->node->name ? c->node->name : "", *op = c->node->op_type;
    char b[GLIA_NAME_MAX] = "", probe[GLIA_NAME_MAX + 32];
    const char *tail = NULL; /* digits of the layer, after "_" or ".l" */
    size_t n = strlen(nm), ol = strlen(op);
    const char *slash = strrchr(nm, '/');
    *layer = 0;
    if (nm[0] == '/' && slash && slash > nm && !strncmp(slash + 1, op, ol) &&
        (!slash[1 + ol] || (slash[1 + ol] == '_' && (tail = slash + 2 + ol)))) {
        size_t k = (size_t)(slash - nm - 1);
        if (k < 64) memcpy(b, nm + 1, k), b[k] = 0;
        for (char *p = b; *p; p++)
            if (*p == '/') *p = '.';
    } else if (nm[0] && !strchr(nm, '/') && n < 64) {
        snprintf(b, sizeof b, "%s", nm);
        char *l = strrchr(b, '.');
        if (l && l[1] == 'l' && l[2] && strspn(l + 2, "0123456789") == strlen(l + 2)) tail = nm + (l + 2 - b), *l = 0;
    }
    if (tail && (!*tail || strspn(tail, "0123456789") != strlen(tail) || strlen(tail) > 3)) b[0] = 0;
    else if (tail) *layer = atoi(tail);
    int dummy;
    if (b[0]) { /* free: the op's name and its first parameter's */
        snprintf(probe, sizeof probe, *layer ? "%s.l%d" : "%s", b, *layer);
        bool taken = !glia_graph_find(c->g, probe, &dummy);
        snprintf(probe, sizeof probe, "%s.weight_ih_l%d", b, *layer);
        if (!taken && glia_graph_find(c->g, probe, &dummy)) {
            snprintf(base, len, "%s", b);
            return;
        }
    }
    *layer = 0;
    const char *want = op[0] == 'L' ? "lstm" : op[0] == 'G' ? "gru" : "rnn";
    for (size_t k = 0; k < c->node->n_output; k++)
        if (c->node->output[k][0]) {
            want = c->node->output[k];
            break;
        }
    snprintf(b, sizeof b, "%.24s", want);
    ox_node_name(c, b, base, len);
}

static glia_status op_recurrent(ox_ctx *c) {
    const char *op = c->node->op_type;
    int cell = op[0] == 'L' ? 1 : op[0] == 'G' ? 2 : 0; /* rnn, lstm, gru */
    static const int G[3] = {1, 4, 3};
    /* PyTorch gate k comes from ONNX gate from[cell][k] */
    static const int from[3][4] = {{0}, {0, 2, 3, 1}, {1, 0, 2}};
    glia_status s;
    int64_t H, layout, input_forget, lbr;
    char dir[32], acts[3][16] = {"", "", ""};
    if ((s = ox_attr_i(c, "hidden_size", 0, &H)) || (s = ox_attr_i(c, "layout", 0, &layout)) ||
        (s = ox_attr_i(c, "input_forget", 0, &input_forget)) ||
        (s = ox_attr_i(c, "linear_before_reset", 0, &lbr)) ||
        (s = ox_attr_s(c, "direction", "forward", dir, sizeof dir)))
        return s;
    if (ox_attr(c, "clip")) return ox_unsupported(c, "attribute 'clip'");
    if (ox_attr(c, "activation_alpha") || ox_attr(c, "activation_beta"))
        return ox_unsupported(c, "attribute 'activation_alpha' or 'activation_beta'");
    int dirs = !strcmp(dir, "bidirectional") ? 2 : 1;
    if (strcmp(dir, "forward") && dirs == 1) return ox_unsupported(c, "attribute 'direction' = '%s'", dir);
    const Onnx__AttributeProto *aa = ox_attr(c, "activations");
    int act = GLIA_RNN_TANH;
    if (aa) {
        static const char *const want[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh", "Tanh"}, {"Sigmoid", "Tanh"}};
        int per = cell == 1 ? 3 : cell == 2 ? 2 : 1;
        if (aa->n_strings != (size_t)(per * dirs)) return ox_unsupported(c, "attribute 'activations' with %zu values", aa->n_strings);
        for (size_t i = 0; i < aa->n_strings; i++) {
            size_t len = aa->strings[i].len < 15 ? aa->strings[i].len : 15;
            memcpy(acts[0], aa->strings[i].data, len);
            acts[0][len] = 0;
            if (cell == 0 && !strcmp(acts[0], "Relu") && (i == 0 || act == GLIA_RNN_RELU)) act = GLIA_RNN_RELU;
            else if (strcmp(acts[0], want[cell][i % per]) || (cell == 0 && act == GLIA_RNN_RELU))
                return ox_unsupported(c, "attribute 'activations' value '%s'", acts[0]);
        }
    }
    ox_value *W, *R, *B, *L, *P;
    if ((s = in_const(c, 1, "W", &W)) || (s = in_const(c, 2, "R", &R)) || (s = in_const(c, 3, "B", &B)) ||
        (s = ox_in(c, 4, &L)) || (cell == 1 && (s = in_const(c, 7, "P", &P))))
        return s;
    if (L && !L->is_const && !L->int_cast) return ox_unsupported(c, "sequence_lens '%s' computed at run time", L->name);
    if (!W || !R) return ox_fail(c, GLIA_EINVAL, "inputs W and R are required");
    int x, h0 = -1, c0 = -1, lengths = -1, y;
    static const int swap01[3] = {1, 0, 2}; /* layout = 1 (batch first) <-> glia's time-major */
    if ((s = ox_in_node(c, 0, false, &x))) return s;
    if (layout && (s = built(c, glia_transpose(c->g, NULL, x, 3, swap01, &x)))) return s;
    glia_shape xs;
    glia_node_shape(c->g, x, &xs);
    const int g = G[cell];
    if (xs.ndim != 3 || H < 1 || H > (1 << 20)) return ox_fail(c, GLIA_ESHAPE, "X must be [T, N, I] and hidden_size positive");
    int64_t T = xs.dim[0], N = xs.dim[1], I = xs.dim[2];
    if (W->shape.ndim != 3 || W->shape.dim[0] != dirs || W->shape.dim[1] != g * H || W->shape.dim[2] != I ||
        R->shape.ndim != 3 || R->shape.dim[0] != dirs || R->shape.dim[1] != g * H || R->shape.dim[2] != H ||
        (B && (B->shape.ndim != 2 || B->shape.dim[0] != dirs || B->shape.dim[1] != 2 * g * H)))
        return ox_fail(c, GLIA_ESHAPE, "W, R or B does not fit hidden_size %lld, %d direction(s) and %lld inputs",
                       (long long)H, dirs, (long long)I);
    bool peep = false; /* P [dirs, 3H] = p_i, p_o, p_f: glia's peepholes (all zero: none) */
    if (cell == 1 && P) {
        if (P->shape.ndim != 2 || P->shape.dim[0] != dirs || P->shape.dim[1] != 3 * H)
            return ox_fail(c, GLIA_ESHAPE, "P does not fit hidden_size %lld and %d direction(s)", (long long)H, dirs);
        for (int64_t i = 0; i < glia_shape_numel(&P->shape); i++) peep |= P->v[i] != 0;
    }
    if (L && !L->is_const) { /* run-time lengths: the floats of an integer cast */
        glia_shape ls;
        glia_node_shape(c->g, L->node, &ls);
        if (glia_shape_numel(&ls) != N) return ox_fail(c, GLIA_ESHAPE, "sequence_lens has %lld values for %lld sequences", (long long)glia_shape_numel(&ls), (long long)N);
        lengths = L->node;
    } else if (L) {
        bool full = true;
        for (int64_t i = 0; i < glia_shape_numel(&L->shape); i++) full &= L->v[i] == (double)T;
        if (glia_shape_numel(&L->shape) != N) return ox_fail(c, GLIA_ESHAPE, "sequence_lens has %lld values for %lld sequences", (long long)glia_shape_numel(&L->shape), (long long)N);
        if (!full) {
            if ((s = ox_in_node(c, 4, false, &lengths))) return s;
        }
    }
    if (c->node->n_input > 5 && c->node->input[5][0] && (s = ox_in_node(c, 5, false, &h0))) return s;
    if (cell == 1 && c->node->n_input > 6 && c->node->input[6][0] && (s = ox_in_node(c, 6, false, &c0))) return s;
    if (layout && h0 >= 0 && (s = built(c, glia_transpose(c->g, NULL, h0, 3, swap01, &h0)))) return s;
    if (layout && c0 >= 0 && (s = built(c, glia_transpose(c->g, NULL, c0, 3, swap01, &c0)))) return s;
    /* the op's name: its parameters are "<name>.weight_ih_l0" ..., so it must be short */
    char nm[GLIA_NAME_MAX];
    int layer = 0;
    recurrent_name(c, nm, sizeof nm, &layer);
    const bool want_yc = cell == 1 && c->node->n_output > 2 && c->node->output[2][0];
    glia_rnn_config cfg = {.hidden = (int)H, .bidirectional = dirs == 2, .activation = act, .peephole = peep,
                           .layer = layer, .cell_out = want_yc, .reset_before = cell == 2 && !lbr,
                           .input_forget = cell == 1 && input_forget};
    s = cell == 1 ? glia_lstm(c->g, nm, x, h0, c0, lengths, &cfg, &y)
      : cell == 2 ? glia_gru(c->g, nm, x, h0, lengths, &cfg, &y)
                  : glia_rnn(c->g, nm, x, h0, lengths, &cfg, &y);
    if ((s = built(c, s))) return s;
    for (int d = 0; d < dirs; d++) {
        static const char *const part[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
        for (int p = 0; p < 4; p++) {
            char pn[GLIA_NAME_MAX + 32];
            int node;
            snprintf(pn, sizeof pn, "%s.%s_l%d%s", nm, part[p], layer, d ? "_reverse" : "");
            if ((s = built(c, glia_graph_find(c->g, pn, &node)))) return s;
            float *dst = glia_node_value(c->g, node);
            int64_t cols = p == 0 ? I : p == 1 ? H : 1;
            for (int k = 0; k < g; k++) { /* PyTorch gate k <- ONNX gate from[cell][k] */
                int64_t src_gate = from[cell][k];
                for (int64_t r = 0; r < H; r++)
                    for (int64_t j = 0; j < cols; j++) {
                        double v;
                        if (p == 0) v = W->v[((d * g + src_gate) * H + r) * I + j];
                        else if (p == 1) v = R->v[((d * g + src_gate) * H + r) * H + j];
                        else v = B ? B->v[d * 2 * g * H + (p == 3 ? g * H : 0) + src_gate * H + r] : 0;
                        dst[(k * H + r) * cols + j] = (float)v;
                    }
            }
        }
    }
    for (int d = 0; peep && d < dirs; d++) { /* glia's rows: w_ci, w_cf, w_co = ONNX's p_i, p_f, p_o */
        char pn[GLIA_NAME_MAX + 32];
        int node;
        static const int onnx_row[3] = {0, 2, 1};
        snprintf(pn, sizeof pn, "%s.weight_peephole_l%d%s", nm, layer, d ? "_reverse" : "");
        if ((s = built(c, glia_graph_find(c->g, pn, &node)))) return s;
        float *dst = glia_node_value(c->g, node);
        for (int k = 0; k < 3; k++)
            for (int64_t r = 0; r < H; r++) dst[k * H + r] = (float)P->v[(d * 3 + onnx_row[k]) * H + r];
    }
    /* outputs: Y; Y_h, the state at each sequence's end (glia_seq_last: the forward direction's
     * at t = length - 1, the reverse's at t = 0); Y_c, y's row T (cell_out) */
    ox_value *v;
    if (want_yc && (s = recurrent_yc(c, &y, T, N, H, dirs, layout))) return s;
    if (c->node->n_output > 1 && c->node->output[1][0]) {
        int yh;
        glia_shape nd = {3, {N, dirs, H}};
        if ((s = built(c, glia_seq_last(c->g, NULL, y, lengths, dirs, &yh))) ||
            (s = reshape_to(c, yh, &nd, NULL, &yh)) ||
            (!layout && (s = built(c, glia_transpose(c->g, NULL, yh, 3, swap01, &yh)))))
            return s;
        ox_value *hv;
        if ((s = ox_add(c, c->node->output[1], &hv))) return s;
        hv->node = yh;
    }
    if (c->node->output[0][0] && layout) { /* [T, N, dirs H] -> [N, T, dirs H], seen as [N, T, dirs, H] */
        int yt;
        glia_shape ys = {4, {N, T, dirs, H}};
        if ((s = built(c, glia_transpose(c->g, NULL, y, 3, swap01, &yt))) || (s = reshape_to(c, yt, &ys, NULL, &yt)) ||
            (s = set_out(c, 0, yt)))
            return s;
    } else if (c->node->output[0][0]) {
        if (dirs == 1) {
            glia_shape ys = {4, {T, 1, N, H}};
            if ((s = reshape_to(c, y, &ys, NULL, &y)) || (s = set_out(c, 0, y))) return s;
        } else {
            int y4;
            glia_shape ys = {4, {T, N, 2, H}};
            if ((s = reshape_to(c, y, &ys, NULL, &y4)) || (s = ox_add(c, c->node->output[0], &v))) return s;
            v->node = y4;
            v->swapped12 = true;
        }
    }
    return GLIA_OK;
}

typedef struct {
    const char *op;
    ox_handler fn;
    const char *attrs; /* the attributes the handler reads, comma-separated */
} ox_op;
static const ox_op OPS[] = {
    {"Relu", op_unary, ""}, {"Sigmoid", op_unary, ""}, {"Tanh", op_unary, ""}, {"Sqrt", op_unary, ""},
    {"Log", op_unary, ""}, {"Neg", op_unary, ""},
    {"LeakyRelu", op_unary, "alpha"}, {"Elu", op_unary, "alpha"},
    {"Clip", op_clip, "min,max"}, {"HardSigmoid", op_hard, "alpha,beta"}, {"HardSwish", op_hard, ""},
    {"Add", op_binary, ""}, {"Sub", op_binary, ""}, {"Mul", op_binary, ""}, {"Div", op_binary, ""},
    {"Sum", op_sum, ""},
    {"Identity", op_alias, ""}, {"Dropout", op_alias, "ratio,seed"}, {"Cast", op_alias, "to,saturate"},
    {"Transpose", op_alias, "perm"},
    {"Reshape", op_reshape, "allowzero"}, {"Flatten", op_reshape, "axis"},
    {"Squeeze", op_reshape, "axes"}, {"Unsqueeze", op_reshape, "axes"},
    {"Conv", op_conv, "auto_pad,dilations,group,kernel_shape,pads,strides"},
    {"ConvTranspose", ox_op_conv_transpose, "auto_pad,dilations,group,kernel_shape,output_padding,output_shape,pads,strides"},
    {"Resize", ox_op_resize, "coordinate_transformation_mode,cubic_coeff_a,exclude_outside,extrapolation_value,mode,nearest_mode"},
    {"Upsample", ox_op_resize, "mode,scales"},
    {"MaxPool", op_pool, "auto_pad,ceil_mode,dilations,kernel_shape,pads,storage_order,strides"},
    {"AveragePool", op_pool, "auto_pad,ceil_mode,count_include_pad,kernel_shape,pads,strides"},
    {"GlobalAveragePool", op_pool, ""}, {"GlobalMaxPool", op_pool, ""},
    {"BatchNormalization", op_batchnorm, "epsilon,momentum,spatial,training_mode"},
    {"LRN", op_lrn, "alpha,beta,bias,size"},
    {"Softmax", op_softmax, "axis"}, {"LogSoftmax", op_softmax, "axis"},
    {"Gemm", op_gemm, "alpha,beta,transA,transB"}, {"MatMul", op_gemm, ""},
    {"Concat", op_concat, "axis"}, {"Split", op_split, "axis,split"}, {"Gather", op_gather, "axis"},
    {"Pow", op_pow, ""},
    {"Slice", op_slice, "starts,ends,axes"}, {"Pad", op_pad, "mode,pads,value"},
    {"ReduceMean", op_reduce_mean, "axes,keepdims"},
    {"RNN", op_recurrent, "activation_alpha,activation_beta,activations,clip,direction,hidden_size,layout"},
    {"LSTM", op_recurrent, "activation_alpha,activation_beta,activations,clip,direction,hidden_size,input_forget,layout"},
    {"GRU", op_recurrent, "activation_alpha,activation_beta,activations,clip,direction,hidden_size,layout,linear_before_reset"},
    /* control flow and the logic of its conditions, at load time (onnx_control.c) */
    {"If", ox_op_if, "then_branch,else_branch"},
    {"Equal", ox_op_logic, ""}, {"Less", ox_op_logic, ""}, {"Greater", ox_op_logic, ""},
    {"LessOrEqual", ox_op_logic, ""}, {"GreaterOrEqual", ox_op_logic, ""},
    {"And", ox_op_logic, ""}, {"Or", ox_op_logic, ""}, {"Xor", ox_op_logic, ""}, {"Not", ox_op_logic, ""},
};

static bool listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return true;
        p += len + (e != NULL);
    }
    return false;
}

static glia_status import_node(ox_ctx *c) {
    const Onnx__NodeProto *n = c->node;
    glia_status s;
    if (!n->op_type) return ox_fail(c, GLIA_EINVAL, "a node without op_type");
    if (n->domain && !strcmp(n->domain, GLIA_ONNX_DOMAIN) && n->n_output == 1 && n->output[0] && n->output[0][0])
        return ox_glia_op(c);
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
        return ox_unsupported(c, "domain '%s'", n->domain);
    for (size_t k = 0; k < n->n_output; k++)
        if (!n->output[k]) return ox_fail(c, GLIA_EINVAL, "an output without a name");
    for (size_t k = 0; k < n->n_input; k++)
        if (!n->input[k]) return ox_fail(c, GLIA_EINVAL, "an input without a name");
    if (n->n_output < 1) return ox_fail(c, GLIA_EINVAL, "a node without outputs");
    int done;
    if ((s = ox_fold(c, &done)) || done) return s;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if (strcmp(OPS[i].op, n->op_type)) continue;
        for (size_t k = 0; k < n->n_attribute; k++) {
            const char *an = n->attribute[k]->name ? n->attribute[k]->name : "";
            if (!listed(OPS[i].attrs, an)) return ox_unsupported(c, "attribute '%s'", an);
        }
        return OPS[i].fn(c);
    }
    return ox_unsupported(c, "op '%s' is not supported", n->op_type);
}

glia_status ox_import_node(ox_ctx *c) {
    int first = glia_graph_num_nodes(c->g);
    glia_status s;
    bool inlined = c->node->op_type && !strcmp(c->node->op_type, "If"); /* its nodes are steps */
    if ((s = import_node(c)) || (!inlined && (s = add_step(c->model, c, c->node, first)))) return s;
    for (size_t k = 0; k < c->node->n_output; k++)
        if (c->node->output[k][0] && !ox_find(c, c->node->output[k]))
            return ox_unsupported(c, "output '%s'", c->node->output[k]);
    return GLIA_OK;
}

/* ---------------------------------------------------------------- the model */
static void *pb_alloc(void *data, size_t size) {
    (void)data;
    return glia__malloc(size ? size : 1);
}
static void pb_free(void *data, void *p) {
    (void)data;
    free(p);
}

static glia_status import_graph(ox_ctx *c, const Onnx__GraphProto *gp, const glia_onnx_options *o,
                                glia_onnx *m) {
    glia_status s;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *t = gp->initializer[i];
        glia_shape sh;
        double *v;
        if (!t->name) return ox_fail(c, GLIA_EINVAL, "an initialiser without a name");
        if ((s = ox_tensor(c, t, &sh, &v)) || (s = ox_add_const(c, t->name, t->data_type, &sh, v))) return s;
        c->vals[c->n_vals - 1].init = true;
    }
    m->in_name = glia__calloc(gp->n_input + 1, sizeof *m->in_name);
    m->in_node = glia__calloc(gp->n_input + 1, sizeof *m->in_node);
    m->out_name = glia__calloc(gp->n_output + 1, sizeof *m->out_name);
    m->out_node = glia__calloc(gp->n_output + 1, sizeof *m->out_node);
    m->out_shape = glia__calloc(gp->n_output + 1, sizeof *m->out_shape);
    if (!m->in_name || !m->in_node || !m->out_name || !m->out_node || !m->out_shape)
        return glia__err(GLIA_ENOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name) return ox_fail(c, GLIA_EINVAL, "an input without a name");
        if (ox_find(c, vi->name)) continue; /* an initialiser listed as an input (IR < 4) */
        const glia_onnx_input *given = NULL;
        for (int k = 0; o && k < o->n_inputs; k++)
            if (o->inputs[k].name && !strcmp(o->inputs[k].name, vi->name)) given = &o->inputs[k];
        const Onnx__TypeProto__Tensor *tt = vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? vi->type->tensor_type : NULL;
        if (!tt) return ox_unsupported(c, "input '%s' is not a tensor", vi->name);
        glia_shape sh = {0, {0}};
        int batch_axis = 0;
        if (given && given->ndim >= 0) {
            if (given->ndim > GLIA_MAX_DIMS) return ox_fail(c, GLIA_EINVAL, "input '%s': %d dimensions", vi->name, given->ndim);
            sh.ndim = given->ndim;
            for (int d = 0; d < sh.ndim; d++) sh.dim[d] = given->dims[d];
        } else {
            if (!tt->shape) return ox_fail(c, GLIA_EINVAL, "input '%s' has no shape: give one", vi->name);
            if (tt->shape->n_dim > GLIA_MAX_DIMS) return ox_unsupported(c, "input '%s' has %zu dimensions", vi->name, tt->shape->n_dim);
            sh.ndim = (int)tt->shape->n_dim;
            /* the batch: the one dimension that is not fixed (a sequence [T, N, ...] has it
             * second), else the first */
            int free_dim = -1;
            for (int d = 0; d < sh.ndim; d++) {
                const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[d];
                bool known = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dm->dim_value > 0;
                if (!known && free_dim >= 0) return ox_fail(c, GLIA_EINVAL, "input '%s': dimensions %d and %d are not fixed: give the shape", vi->name, free_dim, d);
                if (!known) free_dim = d;
                sh.dim[d] = known ? dm->dim_value : (o && o->batch > 0 ? o->batch : 1);
            }
            /* a constant of fixed shape is no batch of examples: it keeps the file's */
            if (free_dim < 0 && sh.ndim > 0 && o && o->batch > 0 && !(given && given->values)) sh.dim[0] = o->batch;
            batch_axis = free_dim > 0 ? free_dim : 0;
        }
        m->in_name[m->n_in] = glia__strdup(vi->name);
        if (!m->in_name[m->n_in]) return glia__err(GLIA_ENOMEM, "out of memory");
        m->in_node[m->n_in++] = -1;
        int64_t numel = glia_shape_numel(&sh);
        if (!numel) return ox_unsupported(c, "input '%s' is empty (glia tensors have no 0-size dimensions)", vi->name);
        if (given && given->values) {
            /* n_values: the input's size, or one value for every element */
            int64_t nv = given->n_values;
            if (nv > 0 && nv != 1 && nv != numel)
                return ox_fail(c, GLIA_EINVAL, "input '%s' (%d dimensions, %lld elements) takes %lld values "
                               "or 1 for all, not %lld", vi->name, sh.ndim, (long long)numel,
                               (long long)numel, (long long)nv);
            int32_t et = tt->has_elem_type ? tt->elem_type : ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
            bool whole = et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && et != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
                         et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 && et != ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
            double *v = glia__malloc((size_t)(numel ? numel : 1) * sizeof *v);
            if (!v) return glia__err(GLIA_ENOMEM, "out of memory");
            for (int64_t k = 0; k < numel; k++) v[k] = given->values[nv == 1 ? 0 : k];
            for (int64_t k = 0; whole && k < (nv == 1 ? 1 : numel); k++)
                if (v[k] != floor(v[k])) {
                    free(v);
                    return ox_fail(c, GLIA_EINVAL, "input '%s' holds integers (ONNX type %d): %g is not one",
                                   vi->name, (int)et, given->values[k]);
                }
            if ((s = ox_add_const(c, vi->name, tt->has_elem_type ? tt->elem_type : 1, &sh, v))) return s;
            continue;
        }
        ox_value *v;
        if (tt->has_elem_type && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
            /* glia's tensors are floats: an integer or boolean input (a sample rate, a flag) is a
             * constant given at load; a node that reads it without one says so */
            if ((s = ox_add(c, vi->name, &v))) return s;
            v->dtype = (int)tt->elem_type;
            v->shape = sh;
            v->why = "a non-float input, which glia takes as a constant: give its value at load "
                     "(--const NAME=VALUE, [net] onnx_const, or glia_onnx_input.values)";
            continue;
        }
        char nm[GLIA_NAME_MAX];
        ox_node_name(c, vi->name, nm, sizeof nm);
        if ((s = ox_add(c, vi->name, &v))) return s;
        v->dtype = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        if ((s = glia_input(c->g, nm, sh.ndim, sh.dim, &v->node)))
            return ox_fail(c, s, "input '%s': %s", vi->name, glia_last_error());
        if (sh.ndim == 0) glia_node_set_batch_axis(c->g, v->node, -1);
        else if (batch_axis) glia_node_set_batch_axis(c->g, v->node, batch_axis);
        m->in_node[m->n_in - 1] = v->node;
    }
    for (int k = 0; o && k < o->n_inputs; k++) { /* values for a name the file does not take */
        int found = !o->inputs[k].values || !o->inputs[k].name;
        for (int i = 0; !found && i < m->n_in; i++) found = !strcmp(m->in_name[i], o->inputs[k].name);
        if (found) continue;
        char names[256] = "";
        for (int i = 0; i < m->n_in; i++) {
            size_t u = strlen(names);
            snprintf(names + u, sizeof names - u, "%s'%s'", i ? ", " : "", m->in_name[i]);
        }
        return ox_fail(c, GLIA_EINVAL, "a value is given for '%s', which is not an input (the inputs: %s)",
                       o->inputs[k].name, m->n_in ? names : "none");
    }
    size_t all = ox_count_nodes(gp); /* an inlined If's branch adds steps of its own */
    m->steps = glia__calloc(all + 1, sizeof *m->steps);
    m->step_text = glia__calloc(2 * all + 1, sizeof *m->step_text);
    if (!m->steps || !m->step_text) return glia__err(GLIA_ENOMEM, "out of memory");
    c->model = m;
    for (size_t i = 0; i < gp->n_node; i++) {
        c->node = gp->node[i];
        if ((s = ox_import_node(c))) return s;
    }
    c->node = NULL;
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name;
        ox_value *v = name ? ox_find(c, name) : NULL;
        if (!v) return ox_fail(c, GLIA_EINVAL, "graph output '%s' is never computed", name ? name : "?");
        if (v->why) return ox_unsupported(c, "graph output '%s': %s", name, v->why);
        if (v->swapped12) { /* a bidirectional Y held as [T, N, dirs, H]: ONNX's [T, dirs, N, H] */
            char nm[GLIA_NAME_MAX];
            ox_node_name(c, name, nm, sizeof nm);
            if ((s = glia_transpose(c->g, nm, v->node, 4, (const int[]){0, 2, 1, 3}, &v->node)))
                return ox_fail(c, s, "output '%s': %s", name, glia_last_error());
            v->swapped12 = false;
        }
        if (v->node < 0 && !glia_shape_numel(&v->shape))
            return ox_unsupported(c, "output '%s' is empty (glia tensors have no 0-size dimensions)", name);
        if (v->node < 0) { /* a folded constant: a buffer that holds it */
            char nm[GLIA_NAME_MAX];
            ox_node_name(c, name, nm, sizeof nm);
            if ((s = glia_buffer(c->g, nm, v->shape.ndim, v->shape.dim, &v->node)))
                return ox_fail(c, s, "output '%s': %s", name, glia_last_error());
            float *p = glia_node_value(c->g, v->node);
            for (int64_t k = 0; k < glia_shape_numel(&v->shape); k++) p[k] = (float)v->v[k];
        } else if ((s = glia_node_retain(c->g, v->node))) return s;
        m->out_shape[m->n_out] = ox_shape(c, v);
        m->out_name[m->n_out] = glia__strdup(name);
        if (!m->out_name[m->n_out]) return glia__err(GLIA_ENOMEM, "out of memory");
        m->out_node[m->n_out++] = v->node;
    }
    return GLIA_OK;
}

glia_status glia_onnx_parse(const void *data, size_t len, const char *name,
                            const glia_onnx_options *o, glia_onnx **out) {
    if (!out || (!data && len)) return glia__err(GLIA_EINVAL, "glia_onnx_parse: NULL argument");
    *out = NULL;
    if (o && o->unsupported) *o->unsupported = 0;
    ox_ctx c = {.file = name ? name : "(memory)", .unsupported = o ? o->unsupported : NULL};
    ProtobufCAllocator alloc = {pb_alloc, pb_free, NULL};
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&alloc, len, data);
    if (!mp) return glia__err(GLIA_EINVAL, "onnx %s: not an ONNX model (the protobuf does not parse)", c.file);
    glia_status s = GLIA_OK;
    c.opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain;
        if (!d || !d[0] || !strcmp(d, "ai.onnx")) c.opset = (int)mp->opset_import[i]->version;
    }
    glia_onnx *m = glia__calloc(1, sizeof *m);
    if (!m) s = glia__err(GLIA_ENOMEM, "out of memory");
    else if (!mp->graph) s = ox_fail(&c, GLIA_EINVAL, "the model has no graph");
    else if (c.opset < 7 || c.opset > 17) s = ox_unsupported(&c, "opset %d (7 to 17 supported)", c.opset);
    else if (!(s = glia_graph_new(&m->g))) {
        c.g = m->g;
        s = import_graph(&c, mp->graph, o, m);
        if (!s) glia_graph_set_training(m->g, 0);
    }
    for (int i = 0; i < c.n_vals; i++) {
        free(c.vals[i].name);
        free(c.vals[i].v);
    }
    free(c.vals);
    onnx__model_proto__free_unpacked(mp, &alloc);
    if (s) {
        glia_onnx_free(m);
        return s;
    }
    *out = m;
    return GLIA_OK;
}

glia_status glia_onnx_load(const char *path, const glia_onnx_options *o, glia_onnx **out) {
    char *data;
    size_t len;
    if (!path || !out) return glia__err(GLIA_EINVAL, "glia_onnx_load: NULL argument");
    glia_status s = glia__read_file(path, &data, &len);
    if (s) return s;
    s = glia_onnx_parse(data, len, path, o, out);
    free(data);
    return s;
}

void glia_onnx_free(glia_onnx *m) {
    if (!m) return;
    glia_graph_free(m->g);
    for (int i = 0; i < m->n_in; i++) free(m->in_name[i]);
    for (int i = 0; i < m->n_out; i++) free(m->out_name[i]);
    free(m->in_name);
    free(m->out_name);
    free(m->in_node);
    free(m->out_node);
    free(m->out_shape);
    for (int i = 0; i < 2 * m->n_steps; i++) free(m->step_text[i]);
    free(m->step_text);
    free(m->steps);
    free(m);
}
glia_graph *glia__onnx_release_graph(glia_onnx *m) {
    glia_graph *g = m ? m->g : NULL;
    if (m) m->g = NULL;
    return g;
}
int glia_onnx_num_steps(const glia_onnx *m) { return m ? m->n_steps : 0; }
glia_status glia_onnx_step_info(const glia_onnx *m, int i, glia_onnx_step *out) {
    if (!m || i < 0 || i >= m->n_steps || !out) return glia__err(GLIA_EINVAL, "glia_onnx_step_info: no step %d", i);
    *out = m->steps[i];
    return GLIA_OK;
}
glia_graph *glia_onnx_graph(glia_onnx *m) { return m ? m->g : NULL; }
int glia_onnx_num_inputs(const glia_onnx *m) { return m ? m->n_in : 0; }
const char *glia_onnx_input_name(const glia_onnx *m, int i) { return m && i >= 0 && i < m->n_in ? m->in_name[i] : NULL; }
int glia_onnx_input_node(const glia_onnx *m, int i) { return m && i >= 0 && i < m->n_in ? m->in_node[i] : -1; }
int glia_onnx_num_outputs(const glia_onnx *m) { return m ? m->n_out : 0; }
const char *glia_onnx_output_name(const glia_onnx *m, int i) { return m && i >= 0 && i < m->n_out ? m->out_name[i] : NULL; }
int glia_onnx_output_node(const glia_onnx *m, int i) { return m && i >= 0 && i < m->n_out ? m->out_node[i] : -1; }
glia_status glia_onnx_output_shape(const glia_onnx *m, int i, glia_shape *out) {
    if (!m || i < 0 || i >= m->n_out || !out) return glia__err(GLIA_EINVAL, "glia_onnx_output_shape: no output %d", i);
    *out = m->out_shape[i];
    return GLIA_OK;
}
