/* run.c: forward and backward passes over a compiled graph, on its device (device.h), and
 * reading and writing node values. */
#include "device.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static glia_status ensure_compiled(glia_graph *g) {
    if (!g) return glia__err(GLIA_EINVAL, "graph is NULL");
    if (g->compiled) return GLIA_OK;
    return glia_graph_compile(g, g->compile_flags ? g->compile_flags : GLIA_COMPILE_BACKWARD);
}

void glia_graph_set_check_numerics(glia_graph *g, int on) {
    if (g) g->check_numerics = on != 0;
}

/* Index of the first NaN or infinity in x[0..n), or -1. */
static int64_t first_nonfinite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return i;
    return -1;
}

/* GLIA_OK if node n's value is finite, else GLIA_ERANGE naming n (what: "output", "value") and
 * the first bad element; on a device without host memory the values are read via the stage. */
static glia_status check_finite(glia_graph *g, const glia_node *n, const char *what) {
    const float *v = n->val;
    int64_t m = glia__numel(n);
    if (!glia__dev_host(g)) {
        glia_status s = g->dev->download(g->stage, n->val, (size_t)m * sizeof(float));
        if (s) return s;
        v = g->stage;
    }
    int64_t i = first_nonfinite(v, m);
    if (i < 0) return GLIA_OK;
    char sh[96];
    double x = (double)v[i];
    return glia__err(GLIA_ERANGE, "%s: %s became non-finite (%s at element %lld of shape %s)",
                     glia__where(g, n), what, isnan(x) ? "nan" : x > 0 ? "inf" : "-inf",
                     (long long)i, glia_shape_str(&n->shape, sh, sizeof sh));
}

/* ---------------------------------------------------------------- per-op timing */
glia_status glia_graph_set_profile(glia_graph *g, int on) {
    if (!g) return glia__err(GLIA_EINVAL, "glia_graph_set_profile: graph is NULL");
    free(g->prof);
    g->prof = NULL;
    g->prof_n = 0;
    if (!on || g->n_nodes == 0) return GLIA_OK;
    if (!(g->prof = glia__calloc((size_t)2 * (size_t)g->n_nodes, sizeof *g->prof)))
        return glia__err(GLIA_ENOMEM, "glia_graph_set_profile: out of memory");
    g->prof_n = g->n_nodes;
    return GLIA_OK;
}

glia_status glia_graph_profile(const glia_graph *g, int node, double *forward_s,
                               double *backward_s) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    int on = g->prof && node < g->prof_n;
    if (forward_s) *forward_s = on ? g->prof[2 * node] : 0;
    if (backward_s) *backward_s = on ? g->prof[2 * node + 1] : 0;
    return GLIA_OK;
}

/* the timer of node i's pass (0 forward, 1 backward), or NULL when not profiling it */
static double *timer(glia_graph *g, int i, int pass) {
    return g->prof && i < g->prof_n ? &g->prof[2 * i + pass] : NULL;
}

/* Recomputed values (compile.c): the forward pass writes them into their forward buffers; the
 * backward pass redoes their forward into their backward buffers (batch norm with the
 * statistics the forward pass saved, running statistics untouched) just before node rec_at's
 * backward. A fused ReLU's value is its producer's forward. */
static void point_values(glia_graph *g, glia_node *x, float *buf) {
    x->val = buf;
    if (x->fused) glia__in(g, x, 0)->val = buf;
}

static glia_status recompute(glia_graph *g, int i) {
    glia_node *x = &g->nodes[i], *run = x->fused ? glia__in(g, x, 0) : x;
    point_values(g, x, x->rec_val);
    double *tm = timer(g, (int)(run - g->nodes), 0), t0 = tm ? glia__now() : 0;
    g->recomputing = true;
    glia_status s = run->kern.forward(g, run);
    g->recomputing = false;
    if (tm) *tm += glia__now() - t0;
    return s;
}

glia_status glia_graph_forward(glia_graph *g) { return glia__graph_forward_ops(g, NULL); }

glia_status glia__graph_forward_ops(glia_graph *g, const unsigned char *run) {
    glia_status s = ensure_compiled(g);
    if (s) return s;
    g->forward_done = false; /* until this pass ends well */
    for (int r = 0; r < g->n_rec; r++) point_values(g, &g->nodes[g->rec[r]], g->nodes[g->rec[r]].fwd_val);
    if (g->check_numerics) /* inputs, weights and buffers first: a bad one is the cause */
        for (int i = 0; i < g->n_nodes; i++) {
            glia_node *n = &g->nodes[i];
            if (n->kind != NODE_OP && n->val && (s = check_finite(g, n, "value"))) return s;
        }
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *n = &g->nodes[i];
        if (n->kind != NODE_OP || n->fused || (run && !run[i])) continue; /* (fused: done by its input's op) */
        /* a batch norm done by its conv (compile.c), which wrote this node's buffer */
        bool by_conv = n->bn_in_conv && !g->training;
        double *tm = timer(g, i, 0), t0 = tm ? glia__now() : 0;
        if (!by_conv) s = n->kern.forward(g, n);
        if (tm) *tm += glia__now() - t0;
        if (s) return s;
        /* (folded: its consumers read its input, checked already; a conv that did its batch
         * norm wrote that node's buffer, checked there) */
        if (g->check_numerics && !n->folded && !(n->fold_bn >= 0 && !g->training) &&
            (s = check_finite(g, n, "output")))
            return s;
    }
    g->forward_done = true;
    return GLIA_OK;
}

/* grad_hook (internal.h): each parameter's lowest consuming op, where its gradient is final
 * (backward runs the ops from the last down); -1 for every other node */
static glia_status hook_start(glia_graph *g) {
    int *at = glia__realloc(g->grad_hook_at, (size_t)g->n_nodes * sizeof *at);
    if (!at) return glia__err(GLIA_ENOMEM, "backward: out of memory");
    g->grad_hook_at = at;
    for (int i = 0; i < g->n_nodes; i++) at[i] = g->nodes[i].kind == NODE_PARAM && g->nodes[i].needs_grad ? INT32_MAX : -1;
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const glia_node *n = &g->nodes[i];
        for (int k = 0; n->kind == NODE_OP && k < n->n_in; k++)
            if (at[n->in[k]] >= 0) at[n->in[k]] = i;
    }
    return GLIA_OK;
}
/* op i's backward has run (or was skipped): the parameters it is the last to add to; one that
 * no path reached yet is reported at the end, once zeroed */
static glia_status hook_after(glia_graph *g, const glia_node *n, int i) {
    for (int k = 0; k < n->n_in; k++) {
        int x = n->in[k];
        if (g->grad_hook_at[x] != i || !g->grad_ready[x]) continue;
        g->grad_hook_at[x] = -1;
        glia_status s = g->grad_hook(g->grad_hook_ctx, x);
        if (s) return s;
    }
    return GLIA_OK;
}

glia_status glia_graph_backward(glia_graph *g, int node, const float *seed, unsigned flags) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    if (flags & ~GLIA_BACKWARD_ACCUMULATE)
        return glia__err(GLIA_EINVAL, "glia_graph_backward: unknown flags 0x%x (the only flag is "
                         "GLIA_BACKWARD_ACCUMULATE, 0x%x)", flags & ~GLIA_BACKWARD_ACCUMULATE,
                         GLIA_BACKWARD_ACCUMULATE);
    if (!g->compiled)
        return glia__err(GLIA_ESTATE, "backward: the graph changed since the last forward; run "
                         "glia_graph_forward first");
    if (!g->forward_done) /* the gradients would be computed from values never written */
        return glia__err(GLIA_ESTATE, "backward: no forward pass since the graph was compiled "
                         "(or the last one failed); run glia_graph_forward first");
    if (!(g->compile_flags & GLIA_COMPILE_BACKWARD))
        return glia__err(GLIA_ESTATE, "backward: the graph was compiled for inference only "
                         "(compile with GLIA_COMPILE_BACKWARD)");
    glia_node *seedn = &g->nodes[node];
    if (!seedn->needs_grad)
        return glia__err(GLIA_ESTATE, "backward: node '%s' does not depend on anything that needs "
                         "a gradient (all parameters frozen?)", seedn->name);
    if (seedn->kind == NODE_OP && g->n_consumers[node] > 0 && !seedn->retained)
        return glia__err(GLIA_ESTATE, "backward: node '%s' is not an output; call glia_node_retain "
                         "on it before compiling to start backward there", seedn->name);
    memset(g->grad_ready, 0, (size_t)g->n_nodes);
    const glia_device *dev = g->dev;
    int64_t ns = glia__numel(seedn);
    if (glia__dev_host(g)) {
        if (seed) memcpy(seedn->grad, seed, (size_t)ns * sizeof(float));
        else for (int64_t j = 0; j < ns; j++) seedn->grad[j] = 1.0f;
    } else { /* through the host stage */
        if (!seed) {
            for (int64_t j = 0; j < ns; j++) g->stage[j] = 1.0f;
            seed = g->stage;
        }
        if ((s = dev->upload(seedn->grad, seed, (size_t)ns * sizeof(float)))) return s;
    }
    g->grad_ready[node] = 1;
    if (g->grad_hook && (s = hook_start(g))) return s;

    int r = 0; /* the next recomputation in g->rec */
    for (int i = node; i >= 0; i--) {
        for (; r < g->n_rec && g->nodes[g->rec[r]].rec_at >= i; r++)
            if ((s = recompute(g, g->rec[r]))) return s;
        glia_node *n = &g->nodes[i];
        if (n->kind != NODE_OP) continue;
        if (!n->bwd_runs || !g->grad_ready[i]) {
            if (g->grad_hook && (s = hook_after(g, n, i))) return s;
            continue;
        }
        if (n->fused) { /* the producer's gradient is this node's buffer: ready, not zeroed */
            g->grad_ready[n->in[0]] = 1;
            continue;
        }
        double *tm = timer(g, i, 1), t0 = tm ? glia__now() : 0;
        for (int k = 0; k < n->n_in; k++) {
            glia_node *x = glia__in(g, n, k);
            int xi = n->in[k];
            if (!x->needs_grad || g->grad_ready[xi]) continue;
            /* parameters accumulate across calls only when asked */
            if (!(x->kind == NODE_PARAM && (flags & GLIA_BACKWARD_ACCUMULATE)))
                dev->zero(x->grad, (size_t)glia__numel(x) * sizeof(float));
            g->grad_ready[xi] = 1;
        }
        n->kern.backward(g, n);
        if (tm) *tm += glia__now() - t0;
        if (g->grad_hook && (s = hook_after(g, n, i))) return s;
    }
    /* leaves no path reached have zero gradient */
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *x = &g->nodes[i];
        if (!x->needs_grad || g->grad_ready[i] || x->kind == NODE_OP) continue;
        if (!(x->kind == NODE_PARAM && (flags & GLIA_BACKWARD_ACCUMULATE)))
            dev->zero(x->grad, (size_t)glia__numel(x) * sizeof(float));
    }
    for (int i = 0; g->grad_hook && i < g->n_nodes; i++) /* the parameters not reported yet */
        if (g->grad_hook_at[i] >= 0 && (s = g->grad_hook(g->grad_hook_ctx, i))) return s;
    return GLIA_OK;
}

static bool readable(const glia_graph *g, const glia_node *n, int i) {
    return n->kind != NODE_OP || n->retained || g->n_consumers[i] == 0;
}

/* node's value (grad 0) or gradient (grad 1) in *out, after every check: compiled where
 * needed, readable, present */
static glia_status node_buffer(glia_graph *g, int node, int grad, const char *fn, float **out) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    glia_node *n = &g->nodes[node];
    if (grad || !(n->kind == NODE_PARAM || n->kind == NODE_BUFFER))
        if ((s = ensure_compiled(g))) return s;
    if (grad && !n->grad)
        return glia__err(GLIA_ESTATE, "%s: '%s' has no gradient (frozen, not requiring grad, or "
                         "the graph was compiled without GLIA_COMPILE_BACKWARD)", fn, n->name);
    if (n->kind == NODE_OP && !readable(g, n, node))
        return glia__err(GLIA_ESTATE, "%s: the %s of '%s' is not kept after the step (its memory "
                         "is reused); call glia_node_retain on it before compiling", fn,
                         grad ? "gradient" : "value", n->name);
    *out = grad ? n->grad : n->val;
    return GLIA_OK;
}

/* the host's view of node memory: device memory while the graph is compiled on a device
 * without host memory (op nodes' buffers, leaves copied there), else host memory */
static bool in_device_memory(const glia_graph *g, const glia_node *n, int node, int grad) {
    if (glia__dev_host(g)) return false;
    return grad || n->kind == NODE_OP || (node < g->leaf_n && g->leaf_bytes[node] > 0);
}

static glia_status count_err(const glia_graph *g, const glia_node *n, const char *fn, int64_t count) {
    char buf[96];
    return glia__err(GLIA_ESHAPE, "%s: '%s' has shape %s (%lld values) but %lld were given", fn,
                     n->name, glia_shape_str(&n->shape, buf, sizeof buf),
                     (long long)glia__numel(n), (long long)count);
}

static glia_status read_node(glia_graph *g, int node, int grad, float *dst, int64_t count,
                             const char *fn) {
    if (!dst) return glia__err(GLIA_EINVAL, "%s: dst is NULL", fn);
    float *p = NULL;
    glia_status s = node_buffer(g, node, grad, fn, &p);
    if (s) return s;
    glia_node *n = &g->nodes[node];
    if (count != glia__numel(n)) return count_err(g, n, fn, count);
    size_t bytes = (size_t)count * sizeof(float);
    if (in_device_memory(g, n, node, grad)) return g->dev->download(dst, p, bytes);
    memcpy(dst, p, bytes);
    return GLIA_OK;
}

/* node_buffer's pointer for fn (glia_node_value, glia_node_grad), NULL on an error; a device
 * without host memory has none to give (`instead` names the calls to use there) */
static float *host_buffer(glia_graph *g, int node, int grad, const char *fn, const char *instead) {
    if (g && !glia__dev_host(g)) {
        glia__err(GLIA_ESTATE, "%s: device '%s' keeps %s in its own memory; use %s", fn,
                  g->dev->name, grad ? "gradients" : "values", instead);
        return NULL;
    }
    float *p = NULL;
    return node_buffer(g, node, grad, fn, &p) ? NULL : p;
}

float *glia_node_value(glia_graph *g, int node) {
    return host_buffer(g, node, 0, "glia_node_value", "glia_node_read / glia_node_write");
}

float *glia_node_grad(glia_graph *g, int node) {
    return host_buffer(g, node, 1, "glia_node_grad", "glia_node_read_grad");
}

glia_status glia_node_read(glia_graph *g, int node, float *dst, int64_t count) {
    return read_node(g, node, 0, dst, count, "glia_node_read");
}

glia_status glia_node_read_grad(glia_graph *g, int node, float *dst, int64_t count) {
    return read_node(g, node, 1, dst, count, "glia_node_read_grad");
}

static glia_status write_node(glia_graph *g, int node, const float *data, int64_t count,
                              const char *fn) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    glia_node *n = &g->nodes[node];
    if (n->kind == NODE_OP)
        return glia__err(GLIA_EINVAL, "%s: '%s' is computed by an op and cannot be set", fn,
                         n->name);
    if (!data) return glia__err(GLIA_EINVAL, "%s: data is NULL", fn);
    if (count != glia__numel(n)) return count_err(g, n, fn, count);
    if (n->kind == NODE_INPUT && (s = ensure_compiled(g))) return s;
    size_t bytes = (size_t)count * sizeof(float);
    if (in_device_memory(g, n, node, 0)) return g->dev->upload(n->val, data, bytes);
    memcpy(n->val, data, bytes);
    return GLIA_OK;
}

glia_status glia_node_write(glia_graph *g, int node, const float *data, int64_t count) {
    return write_node(g, node, data, count, "glia_node_write");
}

glia_status glia_node_set(glia_graph *g, int node, const float *data, int64_t count) {
    return write_node(g, node, data, count, "glia_node_set");
}
