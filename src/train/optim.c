/* optim.c: SGD, RMSProp, Adam and AdamW as PyTorch 1.13's torch.optim (single-tensor paths),
 * with gradient clipping as torch.nn.utils.clip_grad_value_ / clip_grad_norm_.
 *
 * Per element, in float (g is the gradient after clipping, w the parameter):
 *   SGD      d = g + wd w;  if momentum: v = momentum v + d, d = nesterov ? d + momentum v : v;
 *            w = w - lr d.  (PyTorch starts v as a copy of d; v = 0 * momentum + d is the same.)
 *   RMSProp  d = g + wd w;  s = alpha s + (1 - alpha) d^2;  w = w - lr d / (sqrt(s) + eps)
 *   Adam     d = g + wd w;  m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2;
 *            w = w - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   AdamW    w = w (1 - lr wd), then Adam with d = g.
 * t is the step count after this step (glia_optim_steps), one count for all parameters.
 * A parameter's learning-rate factor f (glia_node_set_lr_factor) makes its lr = lr f, computed
 * in double from both decimals as a PyTorch parameter group's lr (f = 1: lr itself, same bits).
 * Scalars PyTorch computes in Python (1 - beta, bias corrections, lr / (1 - b1^t), 1 - lr wd) are
 * computed in double from the decimal the float setting was written as (see dec()).
 *
 * Clipping, before the update: each gradient element clamped to [-clip_value, clip_value]
 * (clip_value > 0), then all gradients multiplied by clip_norm / (||g|| + 1e-6) when that is
 * below 1 (clip_norm > 0), ||g|| the 2-norm over every covered parameter's (value-clipped)
 * gradient. The gradient buffers themselves are left as backward wrote them; clipping is
 * applied on the fly. glia_optim_last_grad_norm() reports ||g|| of the raw gradients.
 *
 * The optimiser covers the parameters trainable when it is created, held by node id (the graph's
 * node array may move; gradient buffers move when the graph recompiles, so they are looked up at
 * every step). A covered parameter that is frozen now, or has no gradient buffer, is skipped.
 * All state is allocated by glia_optim_new; a step allocates nothing.
 *
 * On a device without host memory (glia_graph_set_device) the step runs on host copies: the
 * gradients and values are copied out through the device, updated here, and the values copied
 * back (the copies' host buffer is allocated by the first such step).
 *
 * Threads: updates are elementwise (`omp parallel for` above GLIA_PAR_MIN elements). Norms are
 * summed in double per fixed chunk of NORM_CHUNK elements (chunks computed in parallel), then
 * the chunk sums are added in chunk order by one thread: bit-identical for any thread count. */
#include "../core/device.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NORM_CHUNK = 4096, STATE_NAME_MAX = GLIA_NAME_MAX + 16 };

typedef struct {
    int param;        /* index into o->node */
    int64_t start, len;
} norm_chunk;

struct glia_optim {
    glia_graph *g;
    glia_optim_config cfg;  /* defaults resolved */
    int n_params;
    int *node;              /* node ids */
    int64_t *numel, total;  /* elements per parameter, and in all */
    float *stage;           /* device without host memory: gradients [total], values [total] */
    float **grad;           /* per step: the gradient buffer, or NULL to skip */
    int n_slots;            /* state tensors per parameter */
    float **state;          /* [n_params * n_slots] */
    char (*state_name)[STATE_NAME_MAX];
    float *state_block;
    int n_chunks;
    norm_chunk *chunks;
    double *chunk_sq, *chunk_sq_clipped;
    double lr_d, b1_d, b2_d, wd_d; /* the settings as decimals (dec()), for Python-side scalars */
    int64_t steps;
    float last_norm;
};

static const char *const slot_names[][2] = {
    [GLIA_SGD] = {"momentum", NULL},
    [GLIA_RMSPROP] = {"square_avg", NULL},
    [GLIA_ADAM] = {"exp_avg", "exp_avg_sq"},
    [GLIA_ADAMW] = {"exp_avg", "exp_avg_sq"},
};

static const char *kind_name(glia_optim_kind k) {
    switch (k) {
    case GLIA_SGD: return "SGD";
    case GLIA_RMSPROP: return "RMSProp";
    case GLIA_ADAM: return "Adam";
    case GLIA_ADAMW: return "AdamW";
    }
    return "?";
}

/* A float hyperparameter as the decimal the user wrote: the shortest decimal that rounds to it
 * (0.999f -> 0.999). PyTorch's hyperparameters are Python floats (doubles), so 1 - beta2 is
 * 0.001 there; 1 - (double)0.999f would be 0.00099998713, 1.3e-5 away. */
static double dec(float x) {
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)x);
        double d = strtod(buf, NULL);
        if ((float)d == x) return d;
    }
    return (double)x;
}

static glia_status check_config(glia_optim_config *c) {
    if ((int)c->kind < GLIA_SGD || (int)c->kind > GLIA_ADAMW)
        return glia__err(GLIA_EINVAL, "glia_optim_new: unknown optimiser kind %d", (int)c->kind);
    const char *k = kind_name(c->kind);
    if (c->kind == GLIA_RMSPROP) {
        if (c->beta2 == 0.0f) c->beta2 = 0.99f;
    } else if (c->kind != GLIA_SGD) {
        if (c->beta1 == 0.0f) c->beta1 = 0.9f;
        if (c->beta2 == 0.0f) c->beta2 = 0.999f;
    }
    if (c->eps == 0.0f) c->eps = 1e-8f;
    if (!(c->lr >= 0.0f) || isinf(c->lr))
        return glia__err(GLIA_EINVAL, "%s: invalid learning rate %g (must be finite and >= 0)", k,
                         (double)c->lr);
    if (!(c->weight_decay >= 0.0f) || isinf(c->weight_decay))
        return glia__err(GLIA_EINVAL, "%s: invalid weight_decay %g (must be finite and >= 0)", k,
                         (double)c->weight_decay);
    if (!(c->eps > 0.0f) || isinf(c->eps))
        return glia__err(GLIA_EINVAL, "%s: invalid eps %g (must be > 0; 0 means 1e-8)", k,
                         (double)c->eps);
    if (!(c->clip_value >= 0.0f) || isinf(c->clip_value))
        return glia__err(GLIA_EINVAL, "%s: invalid clip_value %g (0: no clipping, > 0: clip)", k,
                         (double)c->clip_value);
    if (!(c->clip_norm >= 0.0f) || isinf(c->clip_norm))
        return glia__err(GLIA_EINVAL, "%s: invalid clip_norm %g (0: no clipping, > 0: clip)", k,
                         (double)c->clip_norm);
    if (c->kind == GLIA_SGD) {
        if (!(c->momentum >= 0.0f) || isinf(c->momentum))
            return glia__err(GLIA_EINVAL, "SGD: invalid momentum %g (must be finite and >= 0)",
                             (double)c->momentum);
        if (c->nesterov && !(c->momentum > 0.0f))
            return glia__err(GLIA_EINVAL, "SGD: Nesterov momentum requires a momentum > 0");
    } else {
        if (c->momentum != 0.0f || c->nesterov)
            return glia__err(GLIA_EINVAL, "%s: momentum and nesterov are SGD settings (got momentum "
                             "%g, nesterov %d); set them to 0", k, (double)c->momentum, c->nesterov);
        if (c->kind == GLIA_RMSPROP) {
            if (!(c->beta2 > 0.0f && c->beta2 < 1.0f))
                return glia__err(GLIA_EINVAL, "RMSProp: invalid alpha (beta2) %g (must be in [0, 1); "
                                 "0 means 0.99)", (double)c->beta2);
        } else {
            if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f))
                return glia__err(GLIA_EINVAL, "%s: invalid beta1 %g (must be in [0, 1); 0 means 0.9)",
                                 k, (double)c->beta1);
            if (!(c->beta2 >= 0.0f && c->beta2 < 1.0f))
                return glia__err(GLIA_EINVAL, "%s: invalid beta2 %g (must be in [0, 1); 0 means "
                                 "0.999)", k, (double)c->beta2);
        }
    }
    return GLIA_OK;
}

void glia_optim_free(glia_optim *o) {
    if (!o) return;
    free(o->node);
    free(o->numel);
    free(o->grad);
    free(o->state);
    free(o->state_name);
    free(o->state_block);
    free(o->chunks);
    free(o->chunk_sq);
    free(o->chunk_sq_clipped);
    free(o->stage);
    free(o);
}

glia_status glia_optim_new(glia_graph *g, const glia_optim_config *cfg, glia_optim **out) {
    if (out) *out = NULL;
    if (!g || !cfg || !out) return glia__err(GLIA_EINVAL, "glia_optim_new: NULL argument");
    glia_optim_config c = *cfg;
    glia_status s = check_config(&c);
    if (s) return s;
    int np = 0;
    int64_t total = 0, n_chunks = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        if (n->kind != NODE_PARAM || !n->trainable) continue;
        np++;
        total += glia__numel(n);
        n_chunks += (glia__numel(n) + NORM_CHUNK - 1) / NORM_CHUNK;
    }
    if (np == 0)
        return glia__err(GLIA_EINVAL, "%s: the graph has no trainable parameter to optimise",
                         kind_name(c.kind));
    if (n_chunks > INT32_MAX)
        return glia__err(GLIA_EINVAL, "%s: too many parameters", kind_name(c.kind));
    glia_optim *o = glia__calloc(1, sizeof *o);
    if (!o) return glia__err(GLIA_ENOMEM, "glia_optim_new: out of memory");
    o->g = g;
    o->cfg = c;
    o->lr_d = dec(c.lr);
    o->b1_d = dec(c.beta1);
    o->b2_d = dec(c.beta2);
    o->wd_d = dec(c.weight_decay);
    o->n_params = np;
    o->total = total;
    o->n_slots = c.kind == GLIA_SGD ? (c.momentum > 0.0f ? 1 : 0)
               : c.kind == GLIA_RMSPROP ? 1 : 2;
    o->n_chunks = (int)n_chunks;
    size_t ns = (size_t)np * (size_t)o->n_slots;
    o->node = glia__malloc((size_t)np * sizeof *o->node);
    o->numel = glia__malloc((size_t)np * sizeof *o->numel);
    o->grad = glia__calloc((size_t)np, sizeof *o->grad);
    o->chunks = glia__malloc((size_t)n_chunks * sizeof *o->chunks);
    o->chunk_sq = glia__malloc((size_t)n_chunks * sizeof *o->chunk_sq);
    o->chunk_sq_clipped = glia__malloc((size_t)n_chunks * sizeof *o->chunk_sq_clipped);
    if (ns) {
        o->state = glia__malloc(ns * sizeof *o->state);
        o->state_name = glia__malloc(ns * sizeof *o->state_name);
        o->state_block = glia__calloc((size_t)total * (size_t)o->n_slots, sizeof(float));
    }
    if (!o->node || !o->numel || !o->grad || !o->chunks || !o->chunk_sq || !o->chunk_sq_clipped ||
        (ns && (!o->state || !o->state_name || !o->state_block))) {
        glia_optim_free(o);
        return glia__err(GLIA_ENOMEM, "glia_optim_new: out of memory for the state of %lld "
                         "parameters", (long long)total);
    }
    int p = 0, ch = 0;
    float *st = o->state_block;
    for (int i = 0; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        if (n->kind != NODE_PARAM || !n->trainable) continue;
        o->node[p] = i;
        o->numel[p] = glia__numel(n);
        for (int64_t a = 0; a < o->numel[p]; a += NORM_CHUNK) {
            o->chunks[ch].param = p;
            o->chunks[ch].start = a;
            o->chunks[ch].len = o->numel[p] - a < NORM_CHUNK ? o->numel[p] - a : NORM_CHUNK;
            ch++;
        }
        for (int k = 0; k < o->n_slots; k++) {
            int j = p * o->n_slots + k;
            o->state[j] = st;
            st += o->numel[p];
            snprintf(o->state_name[j], STATE_NAME_MAX, "%s.%s", n->name, slot_names[c.kind][k]);
        }
        p++;
    }
    *out = o;
    return GLIA_OK;
}

/* the gradient after value clipping */
static inline float clampv(float x, float cv) {
    return x < -cv ? -cv : x > cv ? cv : x;
}

/* Adam without weight decay or clipping by value: the update of the header with d = g scale (scale 1
 * unless clipping by norm scaled the gradients: x * 1 is x). Its own function so that the loop
 * has no branches and its arrays are restrict: the compiler vectorises it (with -fno-math-errno;
 * sqrt and division are IEEE, so the same bits as one at a time), which made the G2P training
 * step's Adam 3x faster. */
static void adam_plain(float *restrict w, const float *restrict gr, float *restrict m,
                       float *restrict v, int64_t n, float scale, float b1, float one_m_b1,
                       float b2, float one_m_b2, float bc2_sqrt, float eps, float step_size) {
#pragma omp parallel for schedule(static) if (n >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        const float d = gr[i] * scale;
        m[i] = m[i] * b1 + one_m_b1 * d;
        v[i] = v[i] * b2 + one_m_b2 * (d * d);
        const float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        w[i] = w[i] - step_size * (m[i] / denom);
    }
}

glia_status glia_optim_step(glia_optim *o) {
    if (!o) return glia__err(GLIA_EINVAL, "glia_optim_step: optimiser is NULL");
    const glia_optim_config *c = &o->cfg;
    if (!(c->lr >= 0.0f) || isinf(c->lr))
        return glia__err(GLIA_EINVAL, "%s: invalid learning rate %g (from glia_optim_set_lr; must "
                         "be finite and >= 0)", kind_name(c->kind), (double)c->lr);
    glia_graph *g = o->g;
    const bool staged = !glia__dev_host(g); /* host copies (see the top) */
    if (staged && !o->stage && !(o->stage = glia__malloc((size_t)o->total * 2 * sizeof(float))))
        return glia__err(GLIA_ENOMEM, "%s step: out of memory for host copies of %lld parameters",
                         kind_name(c->kind), (long long)o->total);
    int live = 0;
    int64_t off = 0;
    for (int p = 0; p < o->n_params; off += o->numel[p], p++) {
        const glia_node *n = &g->nodes[o->node[p]];
        o->grad[p] = n->trainable ? n->grad : NULL;
        live += o->grad[p] != NULL;
        if (!staged || !o->grad[p]) continue;
        size_t bytes = (size_t)o->numel[p] * sizeof(float);
        glia_status s = glia__dev_read(g, o->stage + off, o->grad[p], bytes);
        if (!s) s = glia__dev_read(g, o->stage + o->total + off, n->val, bytes);
        if (s) return s;
        o->grad[p] = o->stage + off;
    }
    if (!live)
        return glia__err(GLIA_ESTATE, "%s step: no parameter has a gradient (compile with "
                         "GLIA_COMPILE_BACKWARD and run glia_graph_backward first)",
                         kind_name(c->kind));

    /* norms: per fixed chunk in double, then added in chunk order */
    const float cv = c->clip_value;
    const bool clip_v = cv > 0.0f, clip_n = c->clip_norm > 0.0f, both = clip_v && clip_n;
    const int nc = o->n_chunks;
    int64_t total = 0;
    for (int p = 0; p < o->n_params; p++) total += o->grad[p] ? o->numel[p] : 0;
    const norm_chunk *chunks = o->chunks;
    float *const *grads = o->grad;
    double *sq = o->chunk_sq, *sqc = o->chunk_sq_clipped;
#pragma omp parallel for schedule(static) if (total >= GLIA_PAR_MIN)
    for (int k = 0; k < nc; k++) {
        const float *gr = grads[chunks[k].param];
        double a = 0, b = 0;
        if (gr) {
            gr += chunks[k].start;
            for (int64_t i = 0; i < chunks[k].len; i++) {
                const double x = gr[i];
                a += x * x;
                if (both) {
                    const double y = clampv(gr[i], cv);
                    b += y * y;
                }
            }
        }
        sq[k] = a;
        sqc[k] = b;
    }
    double sum = 0, sumc = 0;
    for (int k = 0; k < nc; k++) {
        sum += sq[k];
        sumc += sqc[k];
    }
    const double norm = sqrt(sum);
    o->last_norm = (float)norm;
    float scale = 1.0f;
    bool scaled = false;
    if (clip_n) {
        const double cn = both ? sqrt(sumc) : norm;
        const float coef = (float)((double)c->clip_norm / (cn + 1e-6));
        if (coef < 1.0f) scale = coef, scaled = true;
    }

    o->steps++;
    const float wd = c->weight_decay, eps = c->eps;
    const float mom = c->momentum, b1 = c->beta1, b2 = c->beta2;
    const double b1_d = o->b1_d, b2_d = o->b2_d;
    const float one_m_b1 = (float)(1.0 - b1_d), one_m_b2 = (float)(1.0 - b2_d);
    const bool nesterov = c->nesterov != 0;
    /* Adam: bias corrections in double as PyTorch's Python floats */
    const double t = (double)o->steps;
    const float bc2_sqrt = (float)sqrt(1.0 - pow(b2_d, t));

    off = 0;
    for (int p = 0; p < o->n_params; off += o->numel[p], p++) {
        const float *gr = o->grad[p];
        if (!gr) continue;
        const float f = g->nodes[o->node[p]].lr_factor;
        const double lr_d = f == 1.0f ? o->lr_d : o->lr_d * dec(f); /* this parameter's lr */
        const float lr = (float)lr_d;
        const float step_size = (float)(lr_d / (1.0 - pow(b1_d, t)));
        const float decay = (float)(1.0 - lr_d * o->wd_d); /* AdamW */
        float *w = staged ? o->stage + o->total + off : g->nodes[o->node[p]].val;
        const int64_t n = o->numel[p];
        float *s0 = o->n_slots > 0 ? o->state[p * o->n_slots] : NULL;
        float *s1 = o->n_slots > 1 ? o->state[p * o->n_slots + 1] : NULL;
#define GRAD(i) (clip_v ? (scaled ? clampv(gr[i], cv) * scale : clampv(gr[i], cv)) \
                        : (scaled ? gr[i] * scale : gr[i]))
        switch (c->kind) {
        case GLIA_SGD:
#pragma omp parallel for schedule(static) if (n >= GLIA_PAR_MIN)
            for (int64_t i = 0; i < n; i++) {
                float d = GRAD(i);
                if (wd != 0.0f) d = d + wd * w[i];
                if (s0) {
                    s0[i] = s0[i] * mom + d;
                    d = nesterov ? d + mom * s0[i] : s0[i];
                }
                w[i] = w[i] - lr * d;
            }
            break;
        case GLIA_RMSPROP:
#pragma omp parallel for schedule(static) if (n >= GLIA_PAR_MIN)
            for (int64_t i = 0; i < n; i++) {
                float d = GRAD(i);
                if (wd != 0.0f) d = d + wd * w[i];
                s0[i] = s0[i] * b2 + one_m_b2 * (d * d);
                w[i] = w[i] - lr * (d / (sqrtf(s0[i]) + eps));
            }
            break;
        case GLIA_ADAM:
        case GLIA_ADAMW: {
            const bool adamw = c->kind == GLIA_ADAMW;
            if (!clip_v && wd == 0.0f) { /* the usual case, in a loop the compiler vectorises */
                adam_plain(w, gr, s0, s1, n, scale, b1, one_m_b1, b2, one_m_b2, bc2_sqrt, eps, step_size);
                break;
            }
#pragma omp parallel for schedule(static) if (n >= GLIA_PAR_MIN)
            for (int64_t i = 0; i < n; i++) {
                float d = GRAD(i);
                float wi = w[i];
                if (wd != 0.0f) {
                    if (adamw) wi = wi * decay;
                    else d = d + wd * wi;
                }
                s0[i] = s0[i] * b1 + one_m_b1 * d;
                s1[i] = s1[i] * b2 + one_m_b2 * (d * d);
                const float denom = sqrtf(s1[i]) / bc2_sqrt + eps;
                w[i] = wi - step_size * (s0[i] / denom);
            }
            break;
        }
        }
#undef GRAD
        if (staged) {
            glia_status s = glia__dev_write(g, g->nodes[o->node[p]].val, w, (size_t)n * sizeof(float));
            if (s) return s;
        }
    }
    return GLIA_OK;
}

void glia_optim_set_lr(glia_optim *o, float lr) {
    if (!o) return;
    o->cfg.lr = lr; /* checked by the next step */
    o->lr_d = dec(lr);
}

float glia_optim_last_grad_norm(const glia_optim *o) { return o ? o->last_norm : 0.0f; }

int glia_optim_num_state(const glia_optim *o) { return o ? o->n_params * o->n_slots : 0; }

glia_status glia_optim_state(glia_optim *o, int i, const char **name, float **data, int64_t *n) {
    if (!o) return glia__err(GLIA_EINVAL, "glia_optim_state: optimiser is NULL");
    int ns = o->n_params * o->n_slots;
    if (i < 0 || i >= ns)
        return glia__err(GLIA_EINVAL, "glia_optim_state: state %d does not exist (%s has %d state "
                         "tensors)", i, kind_name(o->cfg.kind), ns);
    if (name) *name = o->state_name[i];
    if (data) *data = o->state[i];
    if (n) *n = o->numel[i / o->n_slots];
    return GLIA_OK;
}

int64_t glia_optim_steps(const glia_optim *o) { return o ? o->steps : 0; }

void glia_optim_set_steps(glia_optim *o, int64_t steps) {
    if (o) o->steps = steps < 0 ? 0 : steps;
}
