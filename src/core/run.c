/* run.c: forward and backward passes over a compiled graph. */
#include "internal.h"
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

/* GLIA_ERANGE naming node n (what: "output", "value") and the first bad element. */
static glia_status nonfinite_err(const glia_graph *g, const glia_node *n, const char *what, int64_t i) {
    char sh[96];
    double v = (double)n->val[i];
    return glia__err(GLIA_ERANGE, "%s: %s became non-finite (%s at element %lld of shape %s)",
                     glia__where(g, n), what, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf",
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

glia_status glia_graph_forward(glia_graph *g) {
    glia_status s = ensure_compiled(g);
    if (s) return s;
    if (g->check_numerics) /* inputs, weights and buffers first: a bad one is the cause */
        for (int i = 0; i < g->n_nodes; i++) {
            glia_node *n = &g->nodes[i];
            int64_t k = n->kind == NODE_OP || !n->val ? -1 : first_nonfinite(n->val, glia__numel(n));
            if (k >= 0) return nonfinite_err(g, n, "value", k);
        }
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *n = &g->nodes[i];
        if (n->kind != NODE_OP || n->fused) continue; /* (fused: done by its input's op) */
        double *tm = timer(g, i, 0), t0 = tm ? glia__now() : 0;
        s = glia__ops[n->op]->forward(g, n);
        if (tm) *tm += glia__now() - t0;
        if (s) return s;
        int64_t k = g->check_numerics ? first_nonfinite(n->val, glia__numel(n)) : -1;
        if (k >= 0) return nonfinite_err(g, n, "output", k);
    }
    return GLIA_OK;
}

glia_status glia_graph_backward(glia_graph *g, int node, const float *seed, unsigned flags) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    if (!g->compiled)
        return glia__err(GLIA_ESTATE, "backward: the graph changed since the last forward; run "
                         "glia_graph_forward first");
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
    int64_t ns = glia__numel(seedn);
    if (seed) memcpy(seedn->grad, seed, (size_t)ns * sizeof(float));
    else for (int64_t j = 0; j < ns; j++) seedn->grad[j] = 1.0f;
    g->grad_ready[node] = 1;

    for (int i = node; i >= 0; i--) {
        glia_node *n = &g->nodes[i];
        if (n->kind != NODE_OP || !n->bwd_runs || !g->grad_ready[i]) continue;
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
                memset(x->grad, 0, (size_t)glia__numel(x) * sizeof(float));
            g->grad_ready[xi] = 1;
        }
        glia__ops[n->op]->backward(g, n);
        if (tm) *tm += glia__now() - t0;
    }
    /* leaves no path reached have zero gradient */
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *x = &g->nodes[i];
        if (!x->needs_grad || g->grad_ready[i] || x->kind == NODE_OP) continue;
        if (!(x->kind == NODE_PARAM && (flags & GLIA_BACKWARD_ACCUMULATE)))
            memset(x->grad, 0, (size_t)glia__numel(x) * sizeof(float));
    }
    return GLIA_OK;
}

static bool readable(const glia_graph *g, const glia_node *n, int i) {
    return n->kind != NODE_OP || n->retained || g->n_consumers[i] == 0;
}

float *glia_node_value(glia_graph *g, int node) {
    if (glia__check_node(g, node)) return NULL;
    glia_node *n = &g->nodes[node];
    if (n->kind == NODE_PARAM || n->kind == NODE_BUFFER) return n->val;
    if (ensure_compiled(g)) return NULL;
    if (!readable(g, n, node)) {
        glia__err(GLIA_ESTATE, "the value of '%s' is not kept after the step (its memory is "
                  "reused); call glia_node_retain on it before compiling", n->name);
        return NULL;
    }
    return n->val;
}

float *glia_node_grad(glia_graph *g, int node) {
    if (glia__check_node(g, node)) return NULL;
    glia_node *n = &g->nodes[node];
    if (ensure_compiled(g)) return NULL;
    if (!n->grad) {
        glia__err(GLIA_ESTATE, "'%s' has no gradient (frozen, not requiring grad, or the graph "
                  "was compiled without GLIA_COMPILE_BACKWARD)", n->name);
        return NULL;
    }
    if (!readable(g, n, node)) {
        glia__err(GLIA_ESTATE, "the gradient of '%s' is not kept after the step; call "
                  "glia_node_retain on it before compiling", n->name);
        return NULL;
    }
    return n->grad;
}

glia_status glia_node_set(glia_graph *g, int node, const float *data, int64_t count) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    glia_node *n = &g->nodes[node];
    if (n->kind == NODE_OP)
        return glia__err(GLIA_EINVAL, "glia_node_set: '%s' is computed by an op and cannot be set",
                         n->name);
    if (!data) return glia__err(GLIA_EINVAL, "glia_node_set: data is NULL");
    char buf[96];
    if (count != glia__numel(n))
        return glia__err(GLIA_ESHAPE, "glia_node_set: '%s' has shape %s (%lld values) but %lld were "
                         "given", n->name, glia_shape_str(&n->shape, buf, sizeof buf),
                         (long long)glia__numel(n), (long long)count);
    if (n->kind == NODE_INPUT && (s = ensure_compiled(g))) return s;
    memcpy(n->val, data, (size_t)count * sizeof(float));
    return GLIA_OK;
}
