/* task_table.c: regression on a CSV table (glia_csv_load) as a task of the training loop
 * (loop.h): the features [rows, F] in, the target columns [rows, T] as real-valued targets for
 * [net] loss = mse (or bce for 0/1 columns); the model's input is F, its outputs ([net]
 * classes) T. The rows are split by a fixed draw from the seed (the fraction val held out,
 * first), each epoch shuffles the rest; the held-out part is also the test part. Features are
 * normalised as images are, (x - mean) / std with one [net] mean and std measured over every
 * feature of the training part (scale very different columns yourself). A held-out batch's tail
 * is padded with its last row, which the loop does not count (fill returns the live rows). */
#include "train/loop.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    glia_table *tab;
    int64_t *split, *order, n_train;
    float mean, std;
} table;

static glia_status setup(glia__loop *L, const glia_train_options *o) {
    (void)o;
    table *t = glia__calloc(1, sizeof *t);
    if (!t) return glia__err(GLIA_ENOMEM, "training: out of memory");
    L->ts = t;
    glia_model *m = L->m;
    L->g = glia_model_graph(m);
    L->x = glia_model_input(m);
    L->out = glia_model_output(m);
    L->rows = L->batch;
    L->classes = atoi(glia_model_option(m, "classes"));
    glia_status s = glia_csv_load(L->data, L->target, 0, &t->tab);
    if (s) return s;
    glia_shape in;
    if ((s = glia_node_shape(L->g, L->x, &in))) return s;
    int64_t F = t->tab->features, T = t->tab->targets, N = t->tab->x->shape.dim[0];
    if (glia_shape_numel(&in) / in.dim[0] != F)
        return glia__err(GLIA_ESHAPE, "%s: %lld feature columns, but the model's input takes %lld "
                         "values ([net] input = %lld)", L->data, (long long)F,
                         (long long)(glia_shape_numel(&in) / in.dim[0]), (long long)F);
    if (L->classes != T)
        return glia__err(GLIA_ESHAPE, "%s: %lld target column%s (%s), but the model has %d outputs "
                         "([net] classes)", L->data, (long long)T, T == 1 ? "" : "s", L->target, L->classes);
    if (!(t->split = glia__malloc((size_t)N * sizeof *t->split)) ||
        !(t->order = glia__malloc((size_t)N * sizeof *t->order)))
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    for (int64_t i = 0; i < N; i++) t->split[i] = i;
    glia_rng sr;
    glia_rng_seed(&sr, L->seed, 0x5b117);
    glia__shuffle(t->split, N, &sr);
    L->n_val = (int64_t)((double)L->val * (double)N);
    t->n_train = N - L->n_val;
    if (L->limit > 0 && t->n_train > L->limit) t->n_train = L->limit;
    L->batches = t->n_train / (L->batch * L->shards); /* global batches */
    if (L->n_val < 1)
        return glia__err(GLIA_EINVAL, "%s: a table has no test part of its own: hold out a part "
                         "(--val F > 0; %lld rows)", L->data, (long long)N);
    if (L->batches < 1)
        return glia__err(GLIA_EINVAL, "training: %lld training rows, fewer than a batch of %lld",
                         (long long)t->n_train, (long long)(L->batch * L->shards));
    if (o->normalize && !L->resuming) { /* one mean and std over every training feature */
        double sum = 0, sum2 = 0, cnt = (double)t->n_train * (double)F;
        for (int64_t i = 0; i < t->n_train; i++) {
            const float *p = t->tab->x->data + t->split[L->n_val + i] * F;
            for (int64_t k = 0; k < F; k++) {
                sum += p[k];
                sum2 += (double)p[k] * p[k];
            }
        }
        double mu = sum / cnt, var = sum2 / cnt - mu * mu;
        float mean = (float)mu, std = var > 1e-12 ? (float)sqrt(var) : 1.0f;
        if ((s = glia_model_set_normalization(m, 1, &mean, &std))) return s;
    }
    if ((s = glia_model_normalization(m, 1, &t->mean, &t->std))) return s;
    return glia_graph_set_batch(L->g, L->batch);
}

static void epoch_order(glia__loop *L, glia_rng *r) {
    table *t = L->ts;
    memcpy(t->order, t->split + L->n_val, (size_t)t->n_train * sizeof *t->order);
    glia__shuffle(t->order, t->n_train, r);
}

/* the held-out part (also the test part) in chunks of a batch; a data-parallel process (shard
 * r of K) takes chunks r, r + K, r + 2K, ... */
static int64_t eval_batches(glia__loop *L, glia__split sp) {
    (void)sp;
    int64_t chunks = (L->n_val + L->batch - 1) / L->batch;
    return chunks > L->shard ? (chunks - L->shard + L->shards - 1) / L->shards : 0;
}

static int64_t fill(glia__loop *L, glia__split sp, int64_t b, glia_rng *aug) {
    (void)aug;
    table *t = L->ts;
    const int64_t B = L->batch, F = t->tab->features, T = t->tab->targets;
    float *x = glia__loop_in(L, L->x), *y = glia__loop_in(L, L->label);
    if (!x || !y) return 0; /* out of memory: the upload that follows says so */
    /* shard r of global batch b, or of the held-out part this process's chunk */
    b = b * L->shards + L->shard;
    int64_t live = B;
    if (sp != GLIA__TRAIN) live = L->n_val - b * B < B ? L->n_val - b * B : B;
    const float inv = 1.0f / t->std;
    for (int64_t i = 0; i < B; i++) {
        int64_t r = sp == GLIA__TRAIN ? t->order[b * B + i] : t->split[b * B + (i < live ? i : live - 1)];
        const float *src = t->tab->x->data + r * F;
        for (int64_t k = 0; k < F; k++) x[i * F + k] = (src[k] - t->mean) * inv;
        memcpy(y + i * T, t->tab->y->data + r * T, (size_t)T * sizeof *y);
    }
    return live;
}

static glia_status write_files(glia__loop *L) {
    table *t = L->ts;
    return glia__write_lines(L, "targets.txt", (const char *const *)t->tab->target_names, t->tab->targets);
}

static void task_free(void *ts) {
    table *t = ts;
    glia_table_free(t->tab);
    free(t->split);
    free(t->order);
}

const glia__task_ops glia__task_table = {
    .name = "table", .unit = "rows", .extra_col = "unused", .rng_stream = 0x7ab1e, .setup = setup,
    .epoch_order = epoch_order, .fill = fill, .eval_batches = eval_batches,
    .write_files = write_files, .free = task_free, .real_targets = 1, .sharded = 1};
