/* checkpoint.c: a training run's whole state in one safetensors file, written atomically
 * (temporary file, fsync, rename), so that a crash at any moment leaves the previous checkpoint.
 * One writer, one reader, for every task of the training loop (loop.h). Format
 * "glia-checkpoint-2":
 *   tensors   every parameter and buffer under its name (as weights.safetensors), the carried
 *             recurrent states (a language model continues its streams; of the whole global
 *             batch under data-parallel training, glia__state_slice), and the optimiser's
 *             state as "optimizer.<param>.<slot>"
 *   metadata  format; task (images, text, table); model (the model text, [net] settings included);
 *             data, seed, val, clip_norm, limit, epochs, val_data, target (the run's settings;
 *             val_data, an image folder's test folder, and target, a CSV table's target
 *             columns, may be absent: ""); epoch, next_batch,
 *             step, optim_steps (the position); rng, epoch_rng, graph_rng (generator states in
 *             hex); train_loss_sum, train_correct, train_top5, train_n, samples, seconds,
 *             epoch_seconds (the current epoch's sums so far, doubles in %.17g so that they
 *             round-trip exactly); metrics (metrics.csv so far); frozen (the parameters not
 *             trainable, comma-separated: a run started with --freeze resumes with them frozen;
 *             absent in older checkpoints: none); lr_factors (the parameters' learning-rate
 *             factors other than 1, "name=F,...", F in %.9g; absent in older checkpoints: none).
 * The reader also takes the two formats glia wrote before the loop was one (tests/data/old-ckpt):
 *   glia-checkpoint-1      image classifiers: sum_loss, correct, seen, seconds (this epoch's)
 *   glia-seq-checkpoint-1  sequence models: train_loss_sum, train_correct, train_n, tokens,
 *                          seconds, epoch_seconds
 * with the same tensors and settings. */
#include "train/loop.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT "glia-checkpoint-2"

/* parameters, buffers and the carried states (inputs marked as state: the recurrent layers'
 * h0/c0) */
static int is_saved(const glia_node *n) {
    return n->kind == NODE_PARAM || n->kind == NODE_BUFFER || (n->kind == NODE_INPUT && n->state);
}

/* The checkpoint's tensors: the graph's nodes that keep() holds (as graph nodes, which the
 * safetensors reader and writer reach through the graph's device), then the optimiser's state
 * (host memory). */
static glia_status entries(glia_graph *g, glia_optim *opt, int (*keep)(const glia_node *),
                          glia_st_entry **out, int *n_out, char ***names) {
    int np = 0, no = glia_optim_num_state(opt);
    for (int i = 0; i < g->n_nodes; i++) np += keep(&g->nodes[i]);
    glia_st_entry *e = glia__calloc((size_t)(np + no) + 1, sizeof *e);
    char **nm = glia__calloc((size_t)no + 1, sizeof *nm);
    if (!e || !nm) {
        free(e);
        free(nm);
        return glia__err(GLIA_ENOMEM, "checkpoint: out of memory");
    }
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *nd = &g->nodes[i];
        if (!keep(nd)) continue;
        e[k].name = nd->name;
        e[k].shape = nd->shape;
        e[k].graph = g;
        e[k].node = i;
        e[k].what = nd->kind == NODE_PARAM    ? "parameter"
                    : nd->kind == NODE_BUFFER ? "buffer"
                                              : "recurrent state";
        k++;
    }
    for (int i = 0; i < no; i++) {
        const char *name;
        float *data;
        int64_t len;
        glia_status s = glia_optim_state(opt, i, &name, &data, &len);
        size_t L = strlen(name) + 16;
        if (!s && !(nm[i] = glia__malloc(L))) s = glia__err(GLIA_ENOMEM, "checkpoint: out of memory");
        if (s) {
            for (int j = 0; j < i; j++) free(nm[j]);
            free(nm);
            free(e);
            return s;
        }
        snprintf(nm[i], L, "optimizer.%s", name);
        e[k].name = nm[i];
        e[k].shape.ndim = 1;
        e[k].shape.dim[0] = len;
        e[k].data = data;
        e[k].what = "optimizer state";
        k++;
    }
    *out = e;
    *n_out = k;
    *names = nm;
    return GLIA_OK;
}

void glia__state_slice(const glia_node *n, int K, int r, float *whole, float *part, int to_whole) {
    const int a = n->batch_axis > 0 ? n->batch_axis : 0;
    int64_t outer = 1, inner = 1, N = n->shape.dim[a];
    for (int d = 0; d < a; d++) outer *= n->shape.dim[d];
    for (int d = a + 1; d < n->shape.ndim; d++) inner *= n->shape.dim[d];
    for (int64_t o = 0; o < outer; o++) { /* whole [outer, K N, inner], part [outer, N, inner] */
        float *w = whole + (o * K + r) * N * inner, *p = part + o * N * inner;
        memcpy(to_whole ? w : p, to_whole ? p : w, (size_t)(N * inner) * sizeof *w);
    }
}

/* Data-parallel (L->shards = K > 1): the carried states' entries become the global batch's,
 * [.., K N, ..] in host memory at `whole` (one after the other), instead of this process's
 * nodes. Returns the floats they take (whole NULL: only counts). */
static int64_t whole_states(const glia__loop *L, glia_st_entry *e, int n, float *whole) {
    int64_t at = 0;
    for (int k = 0; k < n && L->shards > 1; k++) {
        if (!e[k].graph || !glia_node_is_state(L->g, e[k].node)) continue;
        const glia_node *nd = &L->g->nodes[e[k].node];
        if (whole) {
            e[k].graph = NULL;
            e[k].data = whole + at;
            e[k].shape.dim[nd->batch_axis > 0 ? nd->batch_axis : 0] *= L->shards;
        }
        at += glia_shape_numel(&nd->shape) * L->shards;
    }
    return at;
}

static void names_free(char **names, glia_optim *opt) {
    for (int i = 0; names && i < glia_optim_num_state(opt); i++) free(names[i]);
    free(names);
}

void glia__rng_hex(const glia_rng *g, char *buf, size_t n) {
    snprintf(buf, n, "%016llx:%016llx", (unsigned long long)g->state, (unsigned long long)g->inc);
}
int glia__rng_parse(const char *s, glia_rng *g) {
    unsigned long long a, b;
    char tail;
    if (!s || sscanf(s, "%16llx:%16llx%c", &a, &b, &tail) != 2) return 0;
    g->state = a;
    g->inc = b;
    return 1;
}

/* the position and sums, in the order of the metadata keys */
#define N_POS 14
static const char *const pos_keys[N_POS] = {
    "epoch", "next_batch", "step", "optim_steps", "rng", "epoch_rng", "graph_rng",
    "train_loss_sum", "train_correct", "train_top5", "train_n", "samples", "seconds", "epoch_seconds"};

/* The graph's frozen parameters' names (factors 0) or its parameters with a learning-rate factor
 * other than 1 as "name=F" (factors 1), comma-separated ("" for none); NULL: out of memory */
static char *param_list(const glia_graph *g, int factors) {
    size_t len = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        if (n->kind == NODE_PARAM && (factors ? n->lr_factor != 1.0f : !n->trainable))
            len += strlen(n->name) + 2 + (factors ? 24 : 0);
    }
    char *out = glia__malloc(len), *p = out;
    if (!out) return NULL;
    *p = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        if (n->kind != NODE_PARAM || !(factors ? n->lr_factor != 1.0f : !n->trainable)) continue;
        p += sprintf(p, "%s%s", p == out ? "" : ",", n->name);
        if (factors) p += sprintf(p, "=%.9g", (double)n->lr_factor);
    }
    return out;
}

glia_status glia__checkpoint_param_settings(const char *path, const glia_st_meta *meta, glia_graph *g) {
    for (int factors = 0; factors < 2; factors++)
        for (const char *p = glia_st_meta_get(meta, factors ? "lr_factors" : "frozen"); p && *p;) {
            size_t n = strcspn(p, ","), k = factors ? strcspn(p, "=,") : n;
            char name[256], *end = NULL;
            int id;
            snprintf(name, sizeof name, "%.*s", (int)(k < 255 ? k : 255), p);
            float f = factors && p[k] == '=' ? strtof(p + k + 1, &end) : 0.0f;
            if (k >= 256 || glia_graph_find(g, name, &id) || !glia_node_is_param(g, id) ||
                (factors && (!end || end != p + n || glia_node_set_lr_factor(g, id, f))) ||
                (!factors && glia_node_set_trainable(g, id, 0)))
                return glia__err(GLIA_EIO, "%s: the checkpoint's %s '%.*s' is not %s of its model",
                                 path, factors ? "learning-rate factor" : "frozen parameter", (int)n,
                                 p, factors ? "NAME=F for a parameter" : "a parameter");
            p += n + (p[n] == ',');
        }
    return GLIA_OK;
}

glia_status glia__checkpoint_save(glia__loop *L) {
    char *model = NULL, *frozen = NULL, *factors = NULL, path[1200];
    glia_status s = glia_model_to_text(L->m, &model);
    if (s) return s;
    if (!(frozen = param_list(L->g, 0)) || !(factors = param_list(L->g, 1))) {
        free(model);
        free(frozen);
        return glia__err(GLIA_ENOMEM, "checkpoint: out of memory");
    }
    char v[5][48], pos[N_POS][48]; /* the settings; the position, in pos_keys' order */
    snprintf(v[0], 48, "%llu", (unsigned long long)L->seed);
    snprintf(v[1], 48, "%.9g", (double)L->val);
    snprintf(v[2], 48, "%.9g", (double)L->clip_norm);
    snprintf(v[3], 48, "%lld", (long long)L->limit);
    snprintf(v[4], 48, "%d", L->epochs);
    snprintf(pos[0], 48, "%d", L->epoch);
    snprintf(pos[1], 48, "%lld", (long long)L->next_batch);
    snprintf(pos[2], 48, "%lld", (long long)L->step);
    snprintf(pos[3], 48, "%lld", (long long)glia_optim_steps(L->opt));
    glia__rng_hex(&L->rng, pos[4], 48);
    glia__rng_hex(&L->epoch_rng, pos[5], 48);
    glia__rng_hex(glia_graph_rng(L->g), pos[6], 48);
    snprintf(pos[7], 48, "%.17g", L->tm.loss);
    snprintf(pos[8], 48, "%lld", (long long)L->tm.correct);
    snprintf(pos[9], 48, "%lld", (long long)L->tm.top5);
    snprintf(pos[10], 48, "%lld", (long long)L->tm.n);
    snprintf(pos[11], 48, "%lld", (long long)L->samples);
    snprintf(pos[12], 48, "%.17g", L->seconds);
    snprintf(pos[13], 48, "%.17g", L->epoch_seconds);
    enum { N_SET = 14 }; /* the pairs before the position's */
    const char *meta[2 * (N_SET + N_POS)] = {
        "format", FORMAT, "task", L->task->name, "model", model, "data", L->data,
        "metrics", L->metrics ? L->metrics : "", "seed", v[0], "val", v[1], "clip_norm", v[2],
        "limit", v[3], "epochs", v[4], "val_data", L->val_data, "target", L->target,
        "frozen", frozen, "lr_factors", factors};
    for (int i = 0; i < N_POS; i++) meta[2 * (N_SET + i)] = pos_keys[i], meta[2 * (N_SET + i) + 1] = pos[i];
    glia_st_entry *e;
    int n;
    char **nm;
    if (!(s = entries(L->g, L->opt, is_saved, &e, &n, &nm))) {
        if (L->dist_states) whole_states(L, e, n, L->dist_states); /* the global batch's states */
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", L->out_dir);
        s = glia_safetensors_write(path, e, n, meta, N_SET + N_POS);
        free(e);
        names_free(nm, L->opt);
    }
    free(model);
    free(frozen);
    free(factors);
    return s;
}

/* which of the formats: 2, 1 (images) or the sequence loop's 1; 0 for none */
static int format_of(const glia_st_meta *meta) {
    const char *f = glia_st_meta_get(meta, "format");
    return !f ? 0 : !strcmp(f, FORMAT) ? 2 : !strcmp(f, "glia-checkpoint-1") ? 1
         : !strcmp(f, "glia-seq-checkpoint-1") ? -1 : 0;
}

glia_status glia__checkpoint_settings(const char *path, const glia_st_meta *meta, glia__loop *L,
                                      const char **text) {
    int f = format_of(meta);
    if (!f)
        return glia__err(GLIA_EIO, "%s: not a glia checkpoint (its metadata has no format "
                         FORMAT ", glia-checkpoint-1 or glia-seq-checkpoint-1)", path);
    const char *k[] = {"model", "data", "seed", "val", "clip_norm", "limit", "epochs"};
    const char *v[7];
    for (int i = 0; i < 7; i++)
        if (!(v[i] = glia_st_meta_get(meta, k[i])))
            return glia__err(GLIA_EIO, "%s: the checkpoint's metadata has no '%s'", path, k[i]);
    const char *task = f == 2 ? glia_st_meta_get(meta, "task") : f == 1 ? "images" : "text";
    L->task = task && !strcmp(task, "images") ? &glia__task_images
            : task && !strcmp(task, "text")   ? &glia__task_text
            : task && !strcmp(task, "table")  ? &glia__task_table
            : task && !strcmp(task, "seq2seq") ? &glia__task_seq2seq : NULL;
    if (!L->task)
        return glia__err(GLIA_EIO, "%s: the checkpoint's task '%s' is not one this glia knows "
                         "(images, text, table)", path, task ? task : "(none)");
    *text = v[0];
    snprintf(L->data, sizeof L->data, "%s", v[1]);
    const char *vd = glia_st_meta_get(meta, "val_data"); /* absent before image folders */
    snprintf(L->val_data, sizeof L->val_data, "%s", vd ? vd : "");
    const char *tg = glia_st_meta_get(meta, "target"); /* absent before tables */
    snprintf(L->target, sizeof L->target, "%s", tg ? tg : "");
    L->seed = strtoull(v[2], NULL, 10);
    L->val = strtof(v[3], NULL);
    L->clip_norm = strtof(v[4], NULL);
    L->limit = strtoll(v[5], NULL, 10);
    L->epochs = atoi(v[6]);
    return GLIA_OK;
}

/* the training seconds of the epochs in metrics.csv, which format 1 wrote per epoch */
static double seconds_sum(const char *metrics) {
    double t = 0;
    for (const char *p = strchr(metrics, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        const char *e = strchr(p + 1, '\n'), *c = p + 1;
        for (const char *q = p + 1; *q && (!e || q < e); q++)
            if (*q == ',') c = q + 1;
        t += strtod(c, NULL);
    }
    return t;
}

glia_status glia__checkpoint_restore(glia__loop *L, const char *path) {
    glia_st_entry *e;
    int n;
    char **nm;
    glia_st_meta meta;
    glia_status s = entries(L->g, L->opt, is_saved, &e, &n, &nm);
    if (s) return s;
    /* data-parallel: the global batch's carried states, of which this process takes its part */
    int64_t nw = whole_states(L, e, n, NULL);
    float *whole = nw ? glia__malloc((size_t)nw * sizeof *whole) : NULL;
    int have_meta = 0;
    if (nw && !whole) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    if (!s) {
        whole_states(L, e, n, whole);
        have_meta = !(s = glia_safetensors_read(path, e, n, &meta));
    }
    int64_t at = 0;
    for (int k = 0; !s && whole && k < L->g->n_nodes; k++) {
        const glia_node *nd = &L->g->nodes[k];
        if (!is_saved(nd) || !nd->state) continue;
        int64_t cnt = glia_shape_numel(&nd->shape);
        float *part = glia__malloc((size_t)cnt * sizeof *part);
        if (!part) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        if (!s) glia__state_slice(nd, L->shards, L->shard, whole + at, part, 0);
        if (!s) s = glia_node_write(L->g, k, part, cnt);
        free(part);
        at += cnt * L->shards;
    }
    free(whole);
    free(e);
    names_free(nm, L->opt);
    if (s) {
        if (have_meta) glia_st_meta_free(&meta);
        return s;
    }
    /* each format's names for the position keys (NULL: not in that format) */
    static const char *const v1[N_POS] = {
        "epoch", "next_batch", "step", "optim_steps", "rng", "epoch_rng", "graph_rng",
        "sum_loss", "correct", NULL, "seen", "seen", NULL, "seconds"};
    static const char *const seq1[N_POS] = {
        "epoch", "next_batch", "step", "optim_steps", "rng", "epoch_rng", "graph_rng",
        "train_loss_sum", "train_correct", NULL, "train_n", "tokens", "seconds", "epoch_seconds"};
    int f = format_of(&meta);
    const char *const *keys = f == 2 ? pos_keys : f == 1 ? v1 : seq1;
    const char *v[N_POS], *mt = glia_st_meta_get(&meta, "metrics");
    for (int i = 0; i < N_POS; i++)
        if (!(v[i] = keys[i] ? glia_st_meta_get(&meta, keys[i]) : "0")) {
            s = glia__err(GLIA_EIO, "%s: the checkpoint's metadata has no '%s'", path, keys[i]);
            glia_st_meta_free(&meta);
            return s;
        }
    L->epoch = atoi(v[0]);
    L->next_batch = strtoll(v[1], NULL, 10);
    L->step = strtoll(v[2], NULL, 10);
    glia_optim_set_steps(L->opt, strtoll(v[3], NULL, 10));
    int ok = glia__rng_parse(v[4], &L->rng) && glia__rng_parse(v[5], &L->epoch_rng) &&
             glia__rng_parse(v[6], glia_graph_rng(L->g)) && mt;
    L->tm.loss = strtod(v[7], NULL);
    L->tm.correct = strtoll(v[8], NULL, 10);
    L->tm.top5 = strtoll(v[9], NULL, 10);
    L->tm.n = strtoll(v[10], NULL, 10);
    L->samples = strtoll(v[11], NULL, 10);
    L->seconds = f == 1 && mt ? seconds_sum(mt) : strtod(v[12], NULL);
    L->epoch_seconds = strtod(v[13], NULL);
    free(L->metrics);
    L->metrics = mt ? glia__strdup(mt) : NULL;
    glia_st_meta_free(&meta);
    if (ok && !L->metrics) return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    if (!ok || L->epoch < 0 || L->next_batch < 0 || L->next_batch >= L->batches || L->step < 0)
        return glia__err(GLIA_EIO, "%s: the checkpoint's position or generator states are malformed "
                         "(epoch %d, next batch %lld of %lld)", path, L->epoch,
                         (long long)L->next_batch, (long long)L->batches);
    return GLIA_OK;
}
