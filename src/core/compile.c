/* compile.c: gradient requirements and the memory plan.
 *
 * Time line of one step with n nodes (creation order is topological):
 *   forward of node i at time i, backward of node i at time 2n-1-i.
 * Every activation and every gradient of an op node is an interval [first write, last read]
 * on that line with a size. Intervals that do not overlap in time may share memory; they are
 * placed in one arena, largest first, each at the lowest offset that does not collide with an
 * already placed interval that overlaps it in time (greedy first fit, as in TensorFlow's BFC
 * planner and ggml's allocator). Inputs, parameters and buffers own their memory, parameter and
 * input gradients have a block of their own; so a step allocates nothing.
 *
 * The blocks come from the graph's device (device.h), which also gives each op node its kernels
 * (n->kern) and may size the workspace; on a device without host memory the leaves' values are
 * copied into a block on it for as long as the plan lives.
 *
 * Fusion: a ReLU or ReLU6 whose input is an op that can take it over (OPF_FUSE_RELU: conv2d,
 * batchnorm; n->fuse_relu6 for a ReLU6), feeding only the ReLU, is done by that op
 * (one pass over the activation less each way, and one buffer less), on a device whose kernels
 * do it (GLIA_DEVICE_FUSE_RELU). The pair
 * shares the ReLU's value and gradient buffers, live from the producer's forward to its
 * backward. Not when either value or gradient must stay readable (retained nodes, outputs): the
 * producer's gradient is masked in place.
 *
 * Recomputation (unless GLIA_COMPILE_NO_RECOMPUTE; Pleiss et al. 2017, "Memory-efficient
 * implementation of DenseNets"): a concatenation, and a batch norm or ReLU (fused or not) applied
 * to a recomputed value, is not kept from its forward to the backwards that read it. Its value
 * gets two intervals: the forward one, [its forward, its last consumer's forward], and a
 * backward one, [rec_at, its last backward reader], where rec_at is the first backward (the
 * highest node) that reads it, directly or through a recomputed consumer; run.c redoes its
 * forward there (batch norm with the statistics saved by the forward pass). In a dense block
 * each layer's concatenation and normalised copy of it then live for one layer's forward or
 * backward, in memory the planner gives every layer in turn, so the block keeps only what its
 * layers add (growth rate channels each): memory linear in the depth, not quadratic.
 *
 * Folding, for inference (no backward): a binarize whose every consumer is a conv2d or dense
 * that runs on bits (XNOR, ops/binary.h) is folded into them (n->folded; a device with
 * GLIA_DEVICE_FOLD_BINARIZE): its forward writes nothing, and they take signs and scales from
 * its input while packing it (one float pass and one write of the activation less); that input
 * lives until they have run. A consumer whose folded weight operand is a parameter keeps the
 * packed weights from one forward to the next (n->cache, glia__xnor_cache_bytes, in the saved
 * block, zeroed here: empty).
 * A batch norm whose input is a conv2d feeding only it (not retained, not on bits) is done by
 * that conv while the graph is not training (c->fold_bn = the batch norm, b->bn_in_conv; a
 * device with GLIA_DEVICE_FOLD_BN): the conv's forward folds the running statistics into its
 * weights and bias (glia__bn_fold, into the workspace after the conv's own scratch: a copy
 * kept in the saved block made ResNet-50's peak 128 -> 221 MiB), writes the batch norm's buffer (with the batch
 * norm's fused ReLU or ReLU6), and the batch norm's forward is skipped: one pass over the
 * activation less. In training mode both run as usual, so both buffers stay: the batch norm's
 * (or its fused ReLU's) lives from the conv's forward on. */
#include "device.h"
#include "../ops/binary.h"
#include <stdlib.h>
#include <string.h>

#define ALIGN 64

typedef struct {
    int node;
    int is_grad; /* 0 value, 1 gradient, 2 a recomputed value's backward buffer */
    long start, end;
    size_t bytes, offset;
} interval;

static bool is_leaf(const glia_node *x) { return x->kind != NODE_OP; }

/* A device without host memory: the leaves' values go back to their host memory (download
 * cannot fail on the devices there are; a failure would leave the host copy as it was). */
static void leaves_home(glia_graph *g) {
    for (int i = 0; g->leaf_bytes && i < g->leaf_n; i++) {
        glia_node *x = &g->nodes[i];
        if (!g->leaf_bytes[i]) continue;
        (void)g->dev->download(x->owned_val, x->val, g->leaf_bytes[i]);
        x->val = x->owned_val;
    }
    if (g->leaf_block) g->dev->free(g->leaf_block);
    free(g->leaf_bytes);
    g->leaf_block = NULL;
    g->leaf_bytes = NULL;
    g->leaf_n = 0;
}

void glia__plan_free(glia_graph *g) {
    const glia_device *dev = g->dev;
    leaves_home(g);
    if (g->arena) dev->free(g->arena);
    if (g->workspace) dev->free(g->workspace);
    if (g->saved_block) dev->free(g->saved_block);
    if (g->param_grads) dev->free(g->param_grads);
    free(g->grad_ready);
    free(g->n_consumers);
    free(g->stage);
    free(g->rec);
    g->rec = NULL;
    g->n_rec = 0;
    g->arena = g->workspace = g->saved_block = NULL;
    g->param_grads = g->stage = NULL;
    g->grad_ready = NULL;
    g->n_consumers = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *n = &g->nodes[i];
        if (n->kind == NODE_OP) n->val = NULL;
        n->grad = NULL;
        n->saved = NULL;
        n->rec_at = -1;
        n->fwd_val = n->rec_val = NULL;
        n->cache = NULL;
    }
    g->compiled = false;
}

static size_t align_up(size_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

static int by_size_desc(const void *a, const void *b) {
    const interval *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Greedy first fit: returns the arena size. */
static size_t place(interval *iv, int m) {
    qsort(iv, (size_t)m, sizeof *iv, by_size_desc);
    size_t total = 0;
    for (int i = 0; i < m; i++) {
        size_t off = 0;
        for (;;) { /* move past every placed, time-overlapping block we collide with */
            int moved = 0;
            for (int j = 0; j < i; j++) {
                if (iv[j].end < iv[i].start || iv[i].end < iv[j].start) continue;
                if (off + iv[i].bytes <= iv[j].offset || iv[j].offset + iv[j].bytes <= off) continue;
                off = iv[j].offset + iv[j].bytes;
                moved = 1;
            }
            if (!moved) break;
        }
        iv[i].offset = off;
        if (off + iv[i].bytes > total) total = off + iv[i].bytes;
    }
    return total;
}

/* n->folded and n->cache_bytes (the comment at the top) */
static void fold_binarize(glia_graph *g, bool bwd, bool can) {
    for (int i = 0; i < g->n_nodes; i++) {
        g->nodes[i].folded = false;
        g->nodes[i].cache_bytes = 0;
        g->nodes[i].cache = NULL;
    }
    for (int i = 0; i < g->n_nodes && !bwd && can; i++) {
        glia_node *b = &g->nodes[i];
        if (b->kind != NODE_OP || b->op != GLIA_OP_binarize || b->retained || !g->n_consumers[i])
            continue;
        bool all = true;
        xnor_geom q;
        for (int c = i + 1; c < g->n_nodes && all; c++)
            for (int k = 0; k < g->nodes[c].n_in; k++)
                if (g->nodes[c].in[k] == i && !glia__xnor_runs(g, &g->nodes[c], &q)) all = false;
        b->folded = all;
    }
    for (int c = 0; c < g->n_nodes; c++) {
        glia_node *y = &g->nodes[c];
        xnor_geom q;
        if (y->kind != NODE_OP || y->n_in < 2 || !g->nodes[y->in[1]].folded ||
            g->nodes[g->nodes[y->in[1]].in[0]].kind != NODE_PARAM || !glia__xnor_runs(g, y, &q))
            continue;
        y->cache_bytes = glia__xnor_cache_bytes(&q);
    }
}

/* c->fold_bn and b->bn_in_conv (the comment at the top) */
static void fold_batchnorm(glia_graph *g, bool bwd, bool can) {
    for (int i = 0; i < g->n_nodes; i++) {
        g->nodes[i].fold_bn = -1;
        g->nodes[i].bn_in_conv = false;
    }
    for (int i = 0; i < g->n_nodes && !bwd && can; i++) {
        glia_node *b = &g->nodes[i], *c;
        xnor_geom q;
        if (b->kind != NODE_OP || b->op != GLIA_OP_batchnorm) continue;
        c = glia__in(g, b, 0);
        if (c->kind != NODE_OP || c->op != GLIA_OP_conv2d || c->retained ||
            g->n_consumers[b->in[0]] != 1 || glia__xnor_node(g, c, &q))
            continue;
        c->fold_bn = i;
        b->bn_in_conv = true;
    }
}

/* the last node reading folded node f (its consumers read its input instead) */
static long folded_last_use(const glia_graph *g, int f) {
    long last = f;
    for (int c = f + 1; c < g->n_nodes; c++)
        for (int k = 0; k < g->nodes[c].n_in; k++)
            if (g->nodes[c].in[k] == f) last = c;
    return last;
}

static glia_status nomem(const char *what, size_t bytes) {
    return glia__err(GLIA_ENOMEM, "compile: out of memory allocating %zu bytes for %s", bytes, what);
}

/* A device without host memory: every leaf's value copied into one block of its memory (val
 * points there until leaves_home), and the host stage, as large as the largest node. */
static glia_status leaves_to_device(glia_graph *g) {
    const glia_device *dev = g->dev;
    size_t total = 0, most = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        size_t b = (size_t)glia__numel(&g->nodes[i]) * sizeof(float);
        if (b > most) most = b;
        if (is_leaf(&g->nodes[i])) total += align_up(b);
    }
    g->leaf_bytes = glia__calloc((size_t)g->n_nodes, sizeof *g->leaf_bytes);
    g->stage = glia__malloc(most);
    g->leaf_block = total ? dev->alloc(total) : NULL;
    if (!g->leaf_bytes || !g->stage || (total && !g->leaf_block))
        return nomem("the leaves' copy on the device", total + most);
    g->leaf_n = g->n_nodes;
    size_t off = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *x = &g->nodes[i];
        if (!is_leaf(x)) continue;
        size_t b = (size_t)glia__numel(x) * sizeof(float);
        float *d = (float *)((char *)g->leaf_block + off);
        glia_status s = dev->upload(d, x->owned_val, b);
        if (s) return s;
        x->val = d;
        g->leaf_bytes[i] = b; /* from now on leaves_home brings it back */
        off += align_up(b);
    }
    return GLIA_OK;
}

/* Recomputable (compile.c's header): a concatenation, or a batch norm or ReLU (its buffer owner
 * x, the ReLU when fused) whose input is recomputable; never a value that must stay readable. */
static bool recomputable(glia_graph *g, int i, const bool *cand) {
    glia_node *x = &g->nodes[i];
    if (x->kind != NODE_OP || x->retained || g->n_consumers[i] == 0 || x->fuse_relu) return false;
    if (x->op == GLIA_OP_concat) return x->n_in >= 2;
    const glia_node *run = x->fused ? glia__in(g, x, 0) : x;
    return (run->op == GLIA_OP_batchnorm || run->op == GLIA_OP_relu) && cand[run->in[0]];
}

/* Sets x->rec_at for every recomputed value (-1 for the rest) and g->rec, their order. owner[c]:
 * the node holding c's buffers (its ReLU when that is fused into c). rec_at is the highest node
 * whose backward reads the value, or whose recomputation does (a recomputed consumer's rec_at). */
static glia_status plan_recompute(glia_graph *g, const int *owner) {
    int n = g->n_nodes, k = 0;
    bool *cand = glia__calloc((size_t)n, sizeof *cand);
    if (!cand) return nomem("the plan", (size_t)n);
    for (int i = 0; i < n; i++) cand[i] = recomputable(g, i, cand);
    for (int i = n - 1; i >= 0; i--) {
        glia_node *x = &g->nodes[i];
        if (!cand[i]) continue;
        int ri = x->fused ? x->in[0] : i, r = -1;
        const glia_node *run = &g->nodes[ri];
        if (run->bwd_runs && (x->fused || (glia__ops[run->op]->flags & OPF_BWD_OUTPUT))) r = ri;
        for (int c = i + 1; c < n; c++) {
            const glia_node *y = &g->nodes[c];
            for (int j = 0; j < y->n_in; j++) {
                if (y->in[j] != i) continue;
                if (y->bwd_runs && (glia__ops[y->op]->flags & OPF_BWD_INPUTS) && r < c) r = c;
                if (r < g->nodes[owner[c]].rec_at) r = g->nodes[owner[c]].rec_at;
            }
        }
        x->rec_at = r;
        if (r >= 0) k++;
    }
    free(cand);
    if (k && !(g->rec = glia__malloc((size_t)k * sizeof *g->rec))) return nomem("the plan", (size_t)k * 4);
    /* by rec_at descending, then index ascending (insertion: few, mostly in order already) */
    for (int i = 0; i < n; i++) {
        int at = g->nodes[i].rec_at, j = g->n_rec++;
        if (at < 0) {
            g->n_rec--;
            continue;
        }
        while (j > 0 && g->nodes[g->rec[j - 1]].rec_at < at) {
            g->rec[j] = g->rec[j - 1];
            j--;
        }
        g->rec[j] = i;
    }
    return GLIA_OK;
}

glia_status glia_graph_compile(glia_graph *g, unsigned flags) {
    if (!g) return glia__err(GLIA_EINVAL, "glia_graph_compile: graph is NULL");
    const unsigned known = GLIA_COMPILE_BACKWARD | GLIA_COMPILE_PLAN_ONLY | GLIA_COMPILE_NO_RECOMPUTE;
    if (flags & ~known)
        return glia__err(GLIA_EINVAL, "glia_graph_compile: unknown flags 0x%x (the flags are "
                         "GLIA_COMPILE_BACKWARD 0x%x, GLIA_COMPILE_PLAN_ONLY 0x%x and "
                         "GLIA_COMPILE_NO_RECOMPUTE 0x%x)", flags & ~known, GLIA_COMPILE_BACKWARD,
                         GLIA_COMPILE_PLAN_ONLY, GLIA_COMPILE_NO_RECOMPUTE);
    const bool plan_only = (flags & GLIA_COMPILE_PLAN_ONLY) != 0;
    if (g->shapes_only && !plan_only)
        return glia__err(GLIA_ESTATE, "compile: the graph has shapes but no values (loaded with "
                         "glia_model_load_shapes): it can be planned, not run");
    glia__plan_free(g);
    g->forward_done = g->planned = false;
    const glia_device *dev = g->dev;
    int n = g->n_nodes;
    if (n <= 0) return glia__err(GLIA_ESTATE, "compile: the graph is empty");
    bool bwd = (flags & GLIA_COMPILE_BACKWARD) != 0;
    if (!plan_only) g->compile_flags = flags;

    /* inputs get their memory at the first compile (glia_graph_set_batch resizes it later) */
    for (int i = 0; i < n && !plan_only; i++) {
        glia_node *x = &g->nodes[i];
        if (x->kind != NODE_INPUT || x->owned_val) continue;
        size_t bytes = (size_t)glia__numel(x) * sizeof(float);
        float *v = glia__leaf_alloc(bytes);
        if (!v) return nomem(x->name, bytes);
        memset(v, 0, bytes);
        x->owned_val = x->val = v;
    }

    /* gradient requirements flow forward from trainable parameters and inputs that ask */
    g->n_consumers = glia__calloc((size_t)n, sizeof(int));
    g->grad_ready = glia__calloc((size_t)n, 1);
    if (!g->n_consumers || !g->grad_ready) return nomem("the plan", (size_t)n * 5);
    for (int i = 0; i < n; i++) {
        glia_node *x = &g->nodes[i];
        x->needs_grad = false;
        x->bwd_runs = false;
        if (!bwd) continue;
        if (x->kind == NODE_PARAM) x->needs_grad = x->trainable;
        else if (x->kind == NODE_INPUT) x->needs_grad = x->user_requires_grad;
        else if (x->kind == NODE_OP)
            for (int k = 0; k < x->n_in; k++)
                if (glia__in(g, x, k)->needs_grad) x->needs_grad = x->bwd_runs = true;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) g->n_consumers[g->nodes[i].in[k]]++;
    for (int i = 0; i < n; i++) {
        glia_node *r = &g->nodes[i], *p;
        r->fuse_relu = r->fuse_relu6 = r->fused = false;
        if (r->kind != NODE_OP || (r->op != GLIA_OP_relu && r->op != GLIA_OP_relu6) || r->retained ||
            g->n_consumers[i] == 0 || !(dev->flags & GLIA_DEVICE_FUSE_RELU))
            continue;
        p = glia__in(g, r, 0);
        if (p->kind == NODE_OP && (glia__ops[p->op]->flags & OPF_FUSE_RELU) && !p->retained &&
            g->n_consumers[r->in[0]] == 1) {
            p->fuse_relu = r->fused = true;
            p->fuse_relu6 = r->op == GLIA_OP_relu6;
        }
    }
    fold_binarize(g, bwd, dev->flags & GLIA_DEVICE_FOLD_BINARIZE);
    fold_batchnorm(g, bwd, dev->flags & GLIA_DEVICE_FOLD_BN);

    /* owner[i]: the node whose buffers hold i's value (its ReLU when that is fused into i) */
    int *owner = glia__malloc((size_t)n * sizeof *owner);
    if (!owner) return nomem("the plan", (size_t)n * sizeof *owner);
    for (int i = 0; i < n; i++) owner[i] = i;
    for (int i = 0; i < n; i++)
        if (g->nodes[i].fused) owner[g->nodes[i].in[0]] = i;
    if (bwd && !(flags & GLIA_COMPILE_NO_RECOMPUTE)) {
        glia_status s = plan_recompute(g, owner);
        if (s) {
            free(owner);
            return s;
        }
    }

    /* the device's kernels for every op node */
    for (int i = 0; i < n; i++) {
        glia_node *x = &g->nodes[i];
        if (x->kind != NODE_OP) continue;
        if (!dev->supports_op(g, x)) {
            free(owner);
            return glia__err(GLIA_EINVAL, "compile: device '%s' cannot run %s", dev->name,
                             glia__where(g, x));
        }
        x->kern = dev->kernel(x->op);
    }

    /* lifetimes */
    interval *iv = glia__calloc((size_t)3 * (size_t)n, sizeof *iv);
    if (!iv) {
        free(owner);
        return nomem("the plan", (size_t)n * sizeof *iv * 3);
    }
    int m = 0;
    long T = 2L * n; /* end of step */
    size_t ws = 0, saved = 0, pgrad = 0;
    for (int i = 0; i < n; i++) {
        glia_node *x = &g->nodes[i];
        if (is_leaf(x) && x->needs_grad) pgrad += align_up((size_t)glia__numel(x) * 4);
        if (x->kind != NODE_OP) continue;
        const glia_op_def *d = glia__ops[x->op];
        size_t xws = dev->ws_bytes ? dev->ws_bytes(g, x) : x->ws_bytes;
        if (x->fold_bn >= 0) /* the folded weights and bias, after its scratch */
            xws = glia__bn_fold_ws(x->ws_bytes, glia__in(g, x, 1));
        if (xws > ws) ws = xws;
        saved += align_up(x->saved_bytes) + align_up(x->cache_bytes);
        if (x->fuse_relu) continue; /* its buffers are its ReLU's, below */
        bool output = g->n_consumers[i] == 0;
        bool keep = output || x->retained;
        interval v = {i, 0, i, i, align_up((size_t)glia__numel(x) * sizeof(float)), 0};
        if (x->bwd_runs && (d->flags & OPF_BWD_OUTPUT)) v.end = 2 * n - 1 - i;
        if (keep) v.end = T;
        interval gr = {i, 1, T, -1, v.bytes, 0};
        if (keep && x->needs_grad) gr.start = n, gr.end = T;
        if (x->bwd_runs && gr.end < 2 * n - 1 - i) gr.end = 2 * n - 1 - i;
        long fwd_end = i; /* its last forward reader */
        for (int c = i + 1; c < n; c++) {
            glia_node *y = &g->nodes[c];
            for (int k = 0; k < y->n_in; k++) {
                if (y->in[k] != i) continue;
                if (v.end < c) v.end = c;
                if (fwd_end < c) fwd_end = c;
                long tr = T - 1 - g->nodes[owner[c]].rec_at; /* a recomputation reads it */
                if (g->nodes[owner[c]].rec_at >= 0 && v.end < tr) v.end = tr;
                if (y->folded && v.end < folded_last_use(g, c)) v.end = folded_last_use(g, c);
                if (y->bwd_runs) {
                    long tb = 2L * n - 1 - c;
                    if ((glia__ops[y->op]->flags & OPF_BWD_INPUTS) && v.end < tb) v.end = tb;
                    if (x->needs_grad && gr.start > tb) gr.start = tb;
                }
            }
        }
        if (x->fused) { /* from the producer's forward to its backward (which reads both) */
            int pi = x->in[0];
            v.start = pi;
            if (g->nodes[pi].bwd_runs && v.end < 2L * n - 1 - pi) v.end = 2L * n - 1 - pi;
            if (x->needs_grad && gr.end < 2L * n - 1 - pi) gr.end = 2L * n - 1 - pi;
        }
        const glia_node *producer = x->fused ? glia__in(g, x, 0) : x;
        if (producer->bn_in_conv) v.start = producer->in[0]; /* the conv writes it */
        if (x->rec_at >= 0) { /* [forward, last forward reader], [recomputed, last reader] */
            interval w = v;
            w.is_grad = 2;
            w.start = T - 1 - x->rec_at;
            iv[m++] = w;
            v.end = fwd_end;
        }
        iv[m++] = v;
        if (x->needs_grad) {
            if (gr.end < gr.start) gr.end = gr.start;
            iv[m++] = gr;
        }
    }
    free(owner);
    size_t no_reuse = 0; /* every value and gradient in a buffer of its own, kept */
    for (int j = 0; j < m; j++) no_reuse += iv[j].is_grad == 2 ? 0 : iv[j].bytes;
    size_t arena = place(iv, m);
    g->arena_bytes = arena;
    g->arena_no_reuse = no_reuse;
    g->ws_bytes = ws;
    g->saved_bytes_total = saved;
    g->param_bytes = pgrad;
    if (plan_only) { /* sized, nothing allocated */
        free(iv);
        glia__plan_free(g);
        g->planned = true;
        return GLIA_OK;
    }

    g->arena = arena ? dev->alloc(arena) : NULL;
    g->workspace = ws ? dev->alloc(align_up(ws)) : NULL;
    g->saved_block = saved ? dev->alloc(saved) : NULL;
    g->param_grads = pgrad ? dev->alloc(pgrad) : NULL;
    if ((arena && !g->arena) || (ws && !g->workspace) || (saved && !g->saved_block) ||
        (pgrad && !g->param_grads)) {
        free(iv);
        glia__plan_free(g);
        return nomem("activations", arena + ws + saved + pgrad);
    }
    if (saved) dev->zero(g->saved_block, saved);
    if (pgrad) dev->zero(g->param_grads, pgrad);
    for (int j = 0; j < m; j++) {
        glia_node *x = &g->nodes[iv[j].node];
        float *p = (float *)((char *)g->arena + iv[j].offset);
        if (iv[j].is_grad == 1) x->grad = p;
        else if (iv[j].is_grad == 2) x->rec_val = p;
        else x->val = x->fwd_val = p;
    }
    free(iv);
    for (int i = 0; i < n; i++)
        if (g->nodes[i].fused) {
            glia_node *p = glia__in(g, &g->nodes[i], 0);
            p->val = g->nodes[i].val;
            p->grad = g->nodes[i].grad;
        }
    size_t so = 0, po = 0;
    for (int i = 0; i < n; i++) {
        glia_node *x = &g->nodes[i];
        if (x->kind == NODE_OP && x->saved_bytes) {
            x->saved = (char *)g->saved_block + so;
            so += align_up(x->saved_bytes);
        }
        if (x->kind == NODE_OP && x->cache_bytes) {
            x->cache = (char *)g->saved_block + so;
            so += align_up(x->cache_bytes);
        }
        if (is_leaf(x) && x->needs_grad) {
            x->grad = (float *)((char *)g->param_grads + po);
            po += align_up((size_t)glia__numel(x) * 4);
        }
    }
    glia_status s = glia__dev_host(g) ? GLIA_OK : leaves_to_device(g);
    if (s) {
        glia__plan_free(g);
        return s;
    }
    g->planned = g->compiled = true;
    return GLIA_OK;
}

glia_status glia_graph_memory(const glia_graph *g, glia_memory_stats *out) {
    if (!g || !out) return glia__err(GLIA_EINVAL, "glia_graph_memory: NULL argument");
    if (!g->compiled && !g->planned)
        return glia__err(GLIA_ESTATE, "glia_graph_memory: the graph is not compiled");
    out->arena = g->arena_bytes;
    out->arena_no_reuse = g->arena_no_reuse;
    out->workspace = g->ws_bytes;
    out->saved = g->saved_bytes_total;
    size_t p = 0, in = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        size_t b = (size_t)glia__numel(&g->nodes[i]) * sizeof(float);
        if (g->nodes[i].kind == NODE_PARAM || g->nodes[i].kind == NODE_BUFFER) p += b;
        if (g->nodes[i].kind == NODE_INPUT) in += b;
    }
    out->params = p;
    out->inputs = in;
    out->param_grads = g->param_bytes;
    return GLIA_OK;
}
