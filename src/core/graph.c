/* graph.c: building a graph node by node. Nodes are appended, and an op's inputs must already
 * exist, so creation order is a topological order and cycles cannot be built. */
#include "device.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void glia__plan_free(glia_graph *g); /* compile.c */

glia_status glia_graph_new(glia_graph **out) {
    if (!out) return glia__err(GLIA_EINVAL, "glia_graph_new: out is NULL");
    glia_graph *g = glia__calloc(1, sizeof *g);
    if (!g) return glia__err(GLIA_ENOMEM, "glia_graph_new: out of memory");
    glia_rng_seed(&g->rng, 42, 54);
    g->dev = &glia__device_cpu;
    *out = g;
    return GLIA_OK;
}

void glia_graph_free(glia_graph *g) {
    if (!g) return;
    glia__plan_free(g);
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i].owned_val);
    }
    free(g->nodes);
    free(g->prof);
    free(g->grad_hook_at);
    free(g);
}

glia_status glia__check_node(const glia_graph *g, int node) {
    if (!g) return glia__err(GLIA_EINVAL, "graph is NULL");
    if (node < 0 || node >= g->n_nodes)
        return glia__err(GLIA_EINVAL, "node %d does not exist (the graph has %d nodes)", node,
                         g->n_nodes);
    return GLIA_OK;
}

const char *glia__where(const glia_graph *g, const glia_node *n) {
    static _Thread_local char buf[160];
    const char *op = n->kind == NODE_OP ? glia__ops[n->op]->name : glia_node_op(g, (int)(n - g->nodes));
    snprintf(buf, sizeof buf, "%s '%s'", op, n->name);
    return buf;
}

glia_status glia__bad_shape(const glia_graph *g, const glia_node *n, const char *role,
                            const glia_node *t, const char *fmt, ...) {
    char need[256], shape[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(need, sizeof need, fmt, ap);
    va_end(ap);
    return glia__err(GLIA_ESHAPE, "%s: %s '%s' has shape %s; %s", glia__where(g, n), role, t->name,
                     glia_shape_str(&t->shape, shape, sizeof shape), need);
}

static glia_status new_node(glia_graph *g, glia_node_kind kind, const char *prefix,
                            const char *name, glia_node **out) {
    if (name) {
        if (strlen(name) >= GLIA_NAME_MAX)
            return glia__err(GLIA_EINVAL, "node name '%.40s...' is longer than %d characters", name,
                             GLIA_NAME_MAX - 1);
        if (!name[0]) return glia__err(GLIA_EINVAL, "node name is empty");
        for (int i = 0; i < g->n_nodes; i++)
            if (!strcmp(g->nodes[i].name, name))
                return glia__err(GLIA_EINVAL, "a node named '%s' already exists", name);
    }
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 32;
        glia_node *nn = glia__realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn) return glia__err(GLIA_ENOMEM, "out of memory adding node '%s'", name ? name : prefix);
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    glia_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->lr_factor = 1.0f;
    if (name) snprintf(n->name, sizeof n->name, "%s", name);
    else snprintf(n->name, sizeof n->name, "%s_%d", prefix, g->n_nodes);
    *out = n;
    return GLIA_OK;
}

static glia_status make_leaf(glia_graph *g, glia_node_kind kind, const char *what, const char *name,
                             int ndim, const int64_t *dims, int *out) {
    if (!g || !out) return glia__err(GLIA_EINVAL, "glia_%s: graph or out is NULL", what);
    if (ndim < 0 || ndim > GLIA_MAX_DIMS || (ndim > 0 && !dims))
        return glia__err(GLIA_ESHAPE, "%s '%s': %d dimensions (0..%d allowed)", what,
                         name ? name : "?", ndim, GLIA_MAX_DIMS);
    int64_t numel = glia__dims_count(ndim, dims, GLIA_MAX_ELEMENTS); /* core/checked.h */
    if (numel < 0 && numel >= -ndim)
        return glia__err(GLIA_ESHAPE, "%s '%s': dimension %d is %lld (must be positive)", what,
                         name ? name : "?", (int)(-1 - numel), (long long)dims[-1 - numel]);
    if (numel < 0)
        return glia__err(GLIA_ESHAPE, "%s '%s': too many elements (more than 2^40)", what,
                         name ? name : "?");
    glia_node *n;
    glia_status s = new_node(g, kind, what, name, &n);
    if (s) return s;
    n->shape.ndim = ndim;
    for (int i = 0; i < ndim; i++) n->shape.dim[i] = dims[i];
    n->trainable = kind == NODE_PARAM;
    if (ndim == 0) n->batch_axis = -1; /* a scalar has no batch */
    if (kind != NODE_INPUT && !g->shapes_only) { /* inputs get memory at compile: the batch may still change */
        n->owned_val = glia__leaf_alloc((size_t)numel * sizeof(float));
        if (!n->owned_val) return glia__err(GLIA_ENOMEM, "out of memory for %s '%s'", what, n->name);
        memset(n->owned_val, 0, (size_t)numel * sizeof(float));
        n->val = n->owned_val;
    }
    g->compiled = false;
    *out = g->n_nodes++;
    return GLIA_OK;
}

glia_status glia_input(glia_graph *g, const char *name, int ndim, const int64_t *dims, int *out) {
    return make_leaf(g, NODE_INPUT, "input", name, ndim, dims, out);
}
glia_status glia_param(glia_graph *g, const char *name, int ndim, const int64_t *dims, int *out) {
    return make_leaf(g, NODE_PARAM, "param", name, ndim, dims, out);
}
glia_status glia_buffer(glia_graph *g, const char *name, int ndim, const int64_t *dims, int *out) {
    return make_leaf(g, NODE_BUFFER, "buffer", name, ndim, dims, out);
}

/* an op's inferred output: every dimension positive and at most 2^40 elements, checked
 * without forming an overflowing product (an attribute can make any dimension huge) */
static glia_status out_size_ok(const glia_graph *g, const glia_node *n) {
    int64_t c = glia__dims_count(n->shape.ndim, n->shape.dim, GLIA_MAX_ELEMENTS);
    if (c > 0) return GLIA_OK;
    char sh[160];
    return glia__err(GLIA_ESHAPE, "%s: the output would have shape %s, %s", glia__where(g, n),
                     glia_shape_str(&n->shape, sh, sizeof sh),
                     c >= -n->shape.ndim ? "a dimension below 1" : "more than 2^40 elements");
}

glia_status glia__add_op(glia_graph *g, glia_op_id op, const char *name, int n_in,
                         const int *in, const int *ia, int n_ia, const float *fa, int n_fa,
                         int *out) {
    if ((int)op < 0 || op >= GLIA_OP_COUNT) return glia__err(GLIA_EINVAL, "unknown op %d", (int)op);
    const glia_op_def *d = glia__ops[op];
    const char *opname = d->name;
    if (!g || !out) return glia__err(GLIA_EINVAL, "%s: graph or out is NULL", opname);
    if (n_in < d->min_in || n_in > d->max_in || n_in > GLIA_MAX_INPUTS)
        return glia__err(GLIA_EINVAL, "%s '%s': %d inputs given, %d..%d expected", opname,
                         name ? name : "?", n_in, d->min_in, d->max_in);
    for (int k = 0; k < n_in; k++)
        if (in[k] < 0 || in[k] >= g->n_nodes)
            return glia__err(GLIA_EINVAL, "%s '%s': input %d is node %d, which does not exist",
                             opname, name ? name : "?", k, in[k]);
    glia_node *n;
    glia_status s = new_node(g, NODE_OP, opname, name, &n);
    if (s) return s;
    n->op = op;
    n->n_in = n_in;
    memcpy(n->in, in, (size_t)n_in * sizeof *in);
    s = glia__attrs_set(g, n, ia, n_ia, fa, n_fa);
    if (!s) s = d->infer(g, n);
    if (s) return s; /* the node is not kept: n_nodes was not advanced */
    if ((s = out_size_ok(g, n))) return s;
    g->compiled = false;
    *out = g->n_nodes++;
    return GLIA_OK;
}

int glia_graph_num_nodes(const glia_graph *g) { return g ? g->n_nodes : 0; }

glia_status glia_graph_find(const glia_graph *g, const char *name, int *out) {
    if (!g || !name || !out) return glia__err(GLIA_EINVAL, "glia_graph_find: NULL argument");
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) {
            *out = i;
            return GLIA_OK;
        }
    return glia__err(GLIA_EINVAL, "no node named '%s'", name);
}

const char *glia_node_name(const glia_graph *g, int node) {
    return glia__check_node(g, node) ? NULL : g->nodes[node].name;
}

const char *glia_node_op(const glia_graph *g, int node) {
    if (glia__check_node(g, node)) return NULL;
    switch (g->nodes[node].kind) {
    case NODE_INPUT: return "input";
    case NODE_PARAM: return "param";
    case NODE_BUFFER: return "buffer";
    case NODE_OP: return glia__ops[g->nodes[node].op]->name;
    }
    return NULL;
}

glia_status glia_node_shape(const glia_graph *g, int node, glia_shape *out) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    if (!out) return glia__err(GLIA_EINVAL, "glia_node_shape: out is NULL");
    *out = g->nodes[node].shape;
    return GLIA_OK;
}

int glia_node_is_param(const glia_graph *g, int node) {
    return !glia__check_node(g, node) && g->nodes[node].kind == NODE_PARAM;
}

/* The node a setter of parameters or inputs changes: *out when node exists and is of kind
 * (NODE_PARAM or NODE_INPUT), else GLIA_EINVAL "node 'x' is not a parameter<why>" */
static glia_status node_of_kind(glia_graph *g, int node, glia_node_kind kind, const char *why,
                                glia_node **out) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    if (g->nodes[node].kind != kind)
        return glia__err(GLIA_EINVAL, "node '%s' is not %s%s", g->nodes[node].name,
                         kind == NODE_PARAM ? "a parameter" : "an input", why);
    *out = &g->nodes[node];
    return GLIA_OK;
}

glia_status glia_node_set_trainable(glia_graph *g, int node, int trainable) {
    glia_node *n = NULL;
    glia_status s = node_of_kind(g, node, NODE_PARAM, "; only parameters can be frozen", &n);
    if (s) return s;
    if (n->trainable != (trainable != 0)) g->compiled = false;
    n->trainable = trainable != 0;
    return GLIA_OK;
}

int glia_node_trainable(const glia_graph *g, int node) {
    return !glia__check_node(g, node) && g->nodes[node].trainable;
}

glia_status glia_node_set_lr_factor(glia_graph *g, int node, float factor) {
    glia_node *n = NULL;
    glia_status s = node_of_kind(g, node, NODE_PARAM, "; only parameters have a learning rate", &n);
    if (s) return s;
    if (!(factor >= 0.0f) || isinf(factor))
        return glia__err(GLIA_EINVAL, "parameter '%s': learning-rate factor %g must be finite and "
                         ">= 0", n->name, (double)factor);
    n->lr_factor = factor;
    return GLIA_OK;
}

float glia_node_lr_factor(const glia_graph *g, int node) {
    return glia__check_node(g, node) || g->nodes[node].kind != NODE_PARAM ? 1.0f
                                                                           : g->nodes[node].lr_factor;
}

glia_status glia_node_requires_grad(glia_graph *g, int node, int on) {
    glia_node *n = NULL;
    glia_status s = node_of_kind(g, node, NODE_INPUT, " (use glia_node_set_trainable for "
                                 "parameters)", &n);
    if (s) return s;
    if (n->user_requires_grad != (on != 0)) g->compiled = false;
    n->user_requires_grad = on != 0;
    return GLIA_OK;
}

glia_status glia_node_retain(glia_graph *g, int node) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    if (!g->nodes[node].retained) g->compiled = false;
    g->nodes[node].retained = true;
    return GLIA_OK;
}

void glia_graph_set_training(glia_graph *g, int training) {
    if (g) g->training = training != 0;
}
int glia_graph_training(const glia_graph *g) { return g && g->training; }
glia_rng *glia_graph_rng(glia_graph *g) { return g ? &g->rng : NULL; }

glia_status glia_node_set_batch_axis(glia_graph *g, int node, int axis) {
    glia_node *n = NULL;
    glia_status s = node_of_kind(g, node, NODE_INPUT, "; only inputs have a batch axis", &n);
    if (s) return s;
    if (axis < -1 || axis >= n->shape.ndim)
        return glia__err(GLIA_EINVAL, "input '%s' has %d dimensions: batch axis %d is not in "
                         "-1..%d", n->name, n->shape.ndim, axis, n->shape.ndim - 1);
    n->batch_axis = axis; /* the shapes stay as they are: nothing to recompile */
    return GLIA_OK;
}

int glia_node_batch_axis(const glia_graph *g, int node) {
    if (glia__check_node(g, node) || g->nodes[node].kind != NODE_INPUT) return -1;
    return g->nodes[node].batch_axis;
}

glia_status glia_node_set_state(glia_graph *g, int node, int on) {
    glia_node *n = NULL;
    glia_status s = node_of_kind(g, node, NODE_INPUT, "; only inputs can be states", &n);
    if (s) return s;
    n->state = on != 0;
    return GLIA_OK;
}

int glia_node_is_state(const glia_graph *g, int node) {
    return !glia__check_node(g, node) && g->nodes[node].kind == NODE_INPUT && g->nodes[node].state;
}

int64_t glia_graph_batch(const glia_graph *g) {
    for (int i = 0; g && i < g->n_nodes; i++)
        if (g->nodes[i].kind == NODE_INPUT && g->nodes[i].batch_axis >= 0)
            return g->nodes[i].shape.dim[g->nodes[i].batch_axis];
    return 0;
}

/* An input's values when its batch goes from `from` rows (slices along the batch axis) to the
 * node's current shape: the first rows are kept; a new row is 0 for a state (a new stream
 * starts from zero), else a copy of the last old row (so a model's lengths stay T). */
static void relayout_input(const glia_node *n, int64_t from, const float *old, float *v) {
    int a = n->batch_axis;
    int64_t to = n->shape.dim[a], outer = 1, inner = 1;
    for (int i = 0; i < a; i++) outer *= n->shape.dim[i];
    for (int i = a + 1; i < n->shape.ndim; i++) inner *= n->shape.dim[i];
    size_t row = (size_t)inner * sizeof(float);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t b = 0; b < to; b++) {
            float *dst = v + (o * to + b) * inner;
            if (b >= from && n->state) memset(dst, 0, row);
            else memcpy(dst, old + (o * from + (b < from ? b : from - 1)) * inner, row);
        }
}

/* every op's shape from its inputs again; the first error is returned */
static glia_status reinfer(glia_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *n = &g->nodes[i];
        if (n->kind != NODE_OP) continue;
        glia_status s = glia__ops[n->op]->infer(g, n);
        if (s) return s;
        if ((s = out_size_ok(g, n))) return s;
    }
    return GLIA_OK;
}

glia_status glia_graph_set_batch(glia_graph *g, int64_t batch) {
    if (!g) return glia__err(GLIA_EINVAL, "glia_graph_set_batch: graph is NULL");
    if (batch <= 0 || batch > GLIA_MAX_ELEMENTS)
        return glia__err(GLIA_EINVAL, "batch size %lld must be in 1..2^40", (long long)batch);
    bool any = false, same = true; /* unchanged: keep the compiled plan */
    for (int i = 0; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        if (n->kind != NODE_INPUT || n->batch_axis < 0) continue;
        any = true;
        int64_t per = glia__numel(n) / n->shape.dim[n->batch_axis], all;
        if (!glia__mul_within(per, batch, GLIA_MAX_ELEMENTS, &all))
            return glia__err(GLIA_ESHAPE, "input '%s': batch %lld gives too many elements", n->name,
                             (long long)batch);
        if (n->shape.dim[n->batch_axis] != batch) same = false;
    }
    if (!any) return glia__err(GLIA_EINVAL, "glia_graph_set_batch: no input has a batch axis");
    if (same) return GLIA_OK;
    /* per input: its old batch (0: unchanged) and new values; nothing changes on an error */
    int64_t *from = glia__calloc((size_t)g->n_nodes, sizeof *from);
    float **vals = glia__calloc((size_t)g->n_nodes, sizeof *vals);
    glia_status s = from && vals ? GLIA_OK : glia__err(GLIA_ENOMEM, "set_batch: out of memory");
    for (int i = 0; !s && i < g->n_nodes; i++) {
        glia_node *n = &g->nodes[i];
        if (n->kind != NODE_INPUT || n->batch_axis < 0 || n->shape.dim[n->batch_axis] == batch)
            continue;
        from[i] = n->shape.dim[n->batch_axis];
        size_t bytes = (size_t)(glia__numel(n) / from[i] * batch) * sizeof(float);
        if (n->owned_val && !(vals[i] = glia__leaf_alloc(bytes)))
            s = glia__err(GLIA_ENOMEM, "set_batch: out of memory for input '%s'", n->name);
    }
    for (int i = 0; !s && i < g->n_nodes; i++)
        if (from[i]) g->nodes[i].shape.dim[g->nodes[i].batch_axis] = batch;
    if (!s && (s = reinfer(g))) {
        for (int i = 0; i < g->n_nodes; i++)
            if (from[i]) g->nodes[i].shape.dim[g->nodes[i].batch_axis] = from[i];
        reinfer(g); /* back to the shapes that inferred before */
    }
    for (int i = 0; from && vals && i < g->n_nodes; i++) {
        glia_node *n = &g->nodes[i];
        if (!vals[i]) continue;
        if (s) {
            free(vals[i]);
            continue;
        }
        relayout_input(n, from[i], n->owned_val, vals[i]);
        free(n->owned_val);
        n->owned_val = n->val = vals[i];
    }
    free(from);
    free(vals);
    if (s) return s;
    g->compiled = false;
    return GLIA_OK;
}
