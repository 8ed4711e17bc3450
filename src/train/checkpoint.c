/* checkpoint.c: a training run's whole state in one safetensors file, written atomically
 * (temporary file, fsync, rename), so that a crash at any moment leaves the previous checkpoint:
 *   tensors   every parameter and buffer under its name (as weights.safetensors), and the
 *             optimiser's state as "optimizer.<param>.<slot>"
 *   metadata  format "glia-checkpoint-1"; model (the model text, [net] settings included);
 *             data, seed, val, clip_norm, limit, epochs (the run's settings); epoch, next_batch,
 *             step, optim_steps (the position); rng, epoch_rng, graph_rng (generator states in
 *             hex); sum_loss, correct, seen, seconds (the current epoch's sums so far, doubles
 *             in %.17g so they round-trip exactly); metrics (metrics.csv so far). */
#include "train/run.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_META 19

static int is_saved(const glia_node *n) { return n->kind == NODE_PARAM || n->kind == NODE_BUFFER; }

glia_status glia__ckpt_entries(glia_graph *g, glia_optim *opt, int (*keep)(const glia_node *),
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
        e[k].data = nd->val;
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

void glia__ckpt_names_free(char **names, glia_optim *opt) {
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

glia_status glia__checkpoint_save(glia__run *r) {
    char *model = NULL, path[1200];
    glia_status s = glia_model_to_text(r->m, &model);
    if (s) return s;
    char v[N_META][48];
    snprintf(v[0], 48, "%llu", (unsigned long long)r->seed);
    snprintf(v[1], 48, "%.9g", (double)r->val);
    snprintf(v[2], 48, "%.9g", (double)r->clip_norm);
    snprintf(v[3], 48, "%lld", (long long)r->limit);
    snprintf(v[4], 48, "%d", r->epochs);
    snprintf(v[5], 48, "%d", r->epoch);
    snprintf(v[6], 48, "%lld", (long long)r->next_batch);
    snprintf(v[7], 48, "%lld", (long long)r->step);
    snprintf(v[8], 48, "%lld", (long long)glia_optim_steps(r->opt));
    glia__rng_hex(&r->rng, v[9], 48);
    glia__rng_hex(&r->epoch_rng, v[10], 48);
    glia__rng_hex(glia_graph_rng(r->g), v[11], 48);
    snprintf(v[12], 48, "%.17g", r->sum_loss);
    snprintf(v[13], 48, "%lld", (long long)r->correct);
    snprintf(v[14], 48, "%lld", (long long)r->seen);
    snprintf(v[15], 48, "%.17g", r->seconds);
    const char *meta[] = {"format", "glia-checkpoint-1", "model", model, "data", r->data,
                          "metrics", r->metrics ? r->metrics : "",
                          "seed", v[0], "val", v[1], "clip_norm", v[2], "limit", v[3],
                          "epochs", v[4], "epoch", v[5], "next_batch", v[6], "step", v[7],
                          "optim_steps", v[8], "rng", v[9], "epoch_rng", v[10], "graph_rng", v[11],
                          "sum_loss", v[12], "correct", v[13], "seen", v[14], "seconds", v[15]};
    glia_st_entry *e;
    int n;
    char **nm;
    if (!(s = glia__ckpt_entries(r->g, r->opt, is_saved, &e, &n, &nm))) {
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", r->out_dir);
        s = glia_safetensors_write(path, e, n, meta, (int)(sizeof meta / sizeof *meta / 2));
        free(e);
        glia__ckpt_names_free(nm, r->opt);
    }
    free(model);
    return s;
}

glia_status glia__checkpoint_restore(glia__run *r, const char *path) {
    glia_st_entry *e;
    int n;
    char **nm;
    glia_st_meta meta;
    glia_status s = glia__ckpt_entries(r->g, r->opt, is_saved, &e, &n, &nm);
    if (s) return s;
    s = glia_safetensors_read(path, e, n, &meta);
    free(e);
    glia__ckpt_names_free(nm, r->opt);
    if (s) return s;
    const char *k[] = {"epoch", "next_batch", "step", "optim_steps", "rng", "epoch_rng",
                       "graph_rng", "sum_loss", "correct", "seen", "seconds", "metrics"};
    const char *v[12];
    for (int i = 0; i < 12; i++)
        if (!(v[i] = glia_st_meta_get(&meta, k[i]))) {
            s = glia__err(GLIA_EIO, "%s: the checkpoint's metadata has no '%s'", path, k[i]);
            glia_st_meta_free(&meta);
            return s;
        }
    r->epoch = atoi(v[0]);
    r->next_batch = strtoll(v[1], NULL, 10);
    r->step = strtoll(v[2], NULL, 10);
    glia_optim_set_steps(r->opt, strtoll(v[3], NULL, 10));
    int ok = glia__rng_parse(v[4], &r->rng) && glia__rng_parse(v[5], &r->epoch_rng) &&
             glia__rng_parse(v[6], glia_graph_rng(r->g));
    r->sum_loss = strtod(v[7], NULL);
    r->correct = strtoll(v[8], NULL, 10);
    r->seen = strtoll(v[9], NULL, 10);
    r->seconds = strtod(v[10], NULL);
    size_t ml = strlen(v[11]);
    free(r->metrics);
    r->metrics = glia__malloc(ml + 1);
    if (r->metrics) memcpy(r->metrics, v[11], ml + 1);
    r->metrics_len = ml;
    glia_st_meta_free(&meta);
    if (!r->metrics) return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    if (!ok || r->epoch < 0 || r->next_batch < 0 || r->next_batch >= r->batches || r->step < 0)
        return glia__err(GLIA_EIO, "%s: the checkpoint's position or generator states are malformed "
                         "(epoch %d, next batch %lld of %lld)", path, r->epoch,
                         (long long)r->next_batch, (long long)r->batches);
    return GLIA_OK;
}
