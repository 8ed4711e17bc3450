/* task_images.c: image classification as a task of the training loop (loop.h). The data: a
 * named set or IDX folder (glia_dataset_load), or the user's own images (an image folder or list
 * file, glia_image_folder_load, at the model's input size; its test part the val_data folder, or
 * else the held-out part). The training images are split by a fixed draw from the seed (the
 * fraction val held out, first); each epoch shuffles the rest; a batch is augmented (the model's
 * shift and flip) and normalised per channel ((x - mean[c]) / std[c], measured on the training
 * part into [net] mean and std unless the run was told not to). The remainder of an epoch is
 * dropped; a held-out or test pass pads its last batch with its last image, labelled -1 (not
 * counted), and shows a model trained with a random resized crop the centre box of its images
 * (glia_augment_eval). Batches are planned here (samples and draws, in order from the run's
 * generator) and made by the prefetcher (stream.h): for an image folder in background threads,
 * a few batches ahead; for data in memory when the loop asks. */
#include "train/loop.h"
#include "data/stream.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    glia_dataset *own_train, *own_test;
    const glia_dataset *train, *test; /* test NULL: the held-out part is the test part */
    int64_t *split;              /* all training-split indices: validation first, then training */
    int64_t n_train;
    int64_t *order;              /* this epoch's order */
    float *norm;                 /* mean[C], then std[C] */
    glia_augment aug, eval_aug;  /* training's draws; evaluation's centre box */
    glia__prefetch *pf;          /* makes the planned batches */
    void (*warn)(void *ctx, const char *message);
    void *ctx;
} images;

/* the user's images: an image folder or list file, at the model's input size in (C, H, W);
 * names: map onto these classes (NULL: the folder's) */
static glia_status load_folder(const char *path, const glia_shape *in, const glia_train_options *o,
                               const glia_dataset *names, glia_dataset **out) {
    /* one cap for the training and the test folder together: the test folder gets what the
     * training folder left (1 byte: nothing kept) */
    int64_t cap = o->cache_bytes, used = names && names->store ? names->store->n_cached * names->store->per : 0;
    if (cap > 0) cap = cap - used > 0 ? cap - used : 1;
    if (in->ndim != 4)
        return glia__err(GLIA_ESHAPE, "%s: an image folder needs a model whose input is C,H,W", path);
    glia_folder_options fo = {.channels = (int)in->dim[1], .height = (int)in->dim[2],
                              .width = (int)in->dim[3], .strict = o->strict_images,
                              .warn = o->warn, .ctx = o->ctx, .cache_bytes = cap};
    if (names) {
        fo.classes = (const char *const *)names->class_names;
        fo.n_classes = names->classes;
    }
    glia_status s = glia_image_folder_load(path, &fo, out);
    if (!s && fo.skipped && o->warn) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %lld unreadable image%s skipped, %lld loaded", path,
                 (long long)fo.skipped, fo.skipped == 1 ? "" : "s", (long long)(*out)->images->shape.dim[0]);
        o->warn(o->ctx, msg);
    }
    return s;
}

/* a CSV table's features [rows, F] and its label column's classes */
static glia_status load_table(const char *path, const char *target, glia_dataset **out) {
    glia_table *tab;
    glia_status s = glia_csv_load(path, target, 1, &tab);
    if (s) return s;
    s = glia_dataset_new(tab->x, tab->y, tab->classes, (const char *const *)tab->class_names, out);
    tab->x = tab->y = NULL; /* the data set's now, also on failure */
    glia_table_free(tab);
    return s;
}

/* the training part's per-channel statistics into [net] mean and std (more channels than [net]
 * holds values: one mean and std over them all, from the channels' moments) */
static glia_status measure(glia__loop *L, images *t) {
    int64_t C = glia__data_channels(t->train);
    float *v = glia__malloc((size_t)(2 * C) * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "training: out of memory");
    glia_dataset_stats(t->train, t->split + L->n_val, t->n_train, v, v + C);
    if (C > GLIA_MAX_CHANNELS) { /* E[x^2] = var + mean^2 per channel; the planes are equal in size */
        double m = 0, m2 = 0;
        for (int64_t c = 0; c < C; c++) {
            m += v[c] / (double)C;
            m2 += ((double)v[C + c] * v[C + c] + (double)v[c] * v[c]) / (double)C;
        }
        v[0] = (float)m;
        v[C] = m2 - m * m > 1e-12 ? (float)sqrt(m2 - m * m) : 1.0f;
    }
    glia_status s = glia_model_set_normalization(L->m, C > GLIA_MAX_CHANNELS ? 1 : (int)C, v, v + C);
    free(v);
    return s;
}

static int plan(void *ctx, int split, int64_t b, glia_rng *aug, glia__batch_plan *p);

static glia_status setup(glia__loop *L, const glia_train_options *o) {
    images *t = glia__calloc(1, sizeof *t);
    if (!t) return glia__err(GLIA_ENOMEM, "training: out of memory");
    L->ts = t;
    glia_model *m = L->m;
    L->g = glia_model_graph(m);
    L->x = glia_model_input(m);
    L->out = glia_model_output(m);
    L->rows = L->batch;
    L->classes = atoi(glia_model_option(m, "classes"));
    glia_shape in;
    glia_status s;
    if ((s = glia_node_shape(L->g, L->x, &in))) return s;
    in.dim[0] = 1;
    t->train = o->train_set;
    t->test = o->test_set;
    /* the user's own data (folders, lists, tables) has no test part of its own */
    int table = !t->train && L->target[0], folder = !t->train && !table && glia_image_folder_kind(L->data);
    if (!t->train) {
        if ((s = table    ? load_table(L->data, L->target, &t->own_train)
                 : folder ? load_folder(L->data, &in, o, NULL, &t->own_train)
                          : glia_dataset_load(L->data, "train", &t->own_train)))
            return s;
        t->train = t->own_train;
    }
    if (folder && L->val_data[0]) {
        if ((s = load_folder(L->val_data, &in, o, t->train, &t->own_test))) return s;
        t->test = t->own_test;
    } else if ((folder || table) && !(L->val > 0)) {
        return glia__err(GLIA_EINVAL, "%s: %s has no test part of its own: %shold out a part "
                         "(--val F > 0)", L->data, table ? "a table" : "an image folder",
                         table ? "" : "give a folder for it (--val-dir) or ");
    } else if (!t->test && !folder && !table) {
        if ((s = glia_dataset_load(L->data, "test", &t->own_test))) return s;
        t->test = t->own_test;
    }
    if ((s = glia__check_data_fits(&in, t->train)) || (t->test && (s = glia__check_data_fits(&in, t->test))))
        return s;
    if (L->classes != t->train->classes || (t->test && t->test->classes > L->classes))
        return glia__err(GLIA_ESHAPE, "the model has %d classes ([net] classes) but the data has %d",
                         L->classes, t->train->classes);
    /* the split: a fixed draw from the seed, validation first */
    int64_t N = t->train->images->shape.dim[0];
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
    if (L->batches < 1)
        return glia__err(GLIA_EINVAL, "training: %lld training images, fewer than a batch of %lld",
                         (long long)t->n_train, (long long)(L->batch * L->shards));
    if (!t->test && L->n_val < 1)
        return glia__err(GLIA_EINVAL, "%s: --val %g holds out no image of %lld for the test part",
                         L->data, (double)L->val, (long long)N);
    if (o->normalize && !L->resuming && (s = measure(L, t))) return s;
    if ((s = glia__data_norm(m, t->train, &t->norm))) return s;
    t->aug.shift = atoi(glia_model_option(m, "shift"));
    t->aug.hflip = atoi(glia_model_option(m, "flip"));
    t->aug.crop = strtof(glia_model_option(m, "crop"), NULL);
    t->aug.jitter = strtof(glia_model_option(m, "jitter"), NULL);
    if (!(t->aug.crop >= 0 && t->aug.crop <= 1) || !(t->aug.jitter >= 0 && t->aug.jitter < 1))
        return glia__err(GLIA_EINVAL, "[net] crop = %g, jitter = %g: crop is a fraction of the area "
                         "in [0, 1] (0: off), jitter in [0, 1)", (double)t->aug.crop, (double)t->aug.jitter);
    t->eval_aug = glia_augment_eval(m);
    t->warn = o->warn;
    t->ctx = o->ctx;
    /* files read as needed: in background threads; data in memory: when asked, unless the
     * caller asks for threads */
    int streamed = t->train->store || (t->test && t->test->store);
    int threads = o->decode_threads < 0 ? 0 : o->decode_threads ? o->decode_threads
                : streamed ? glia__decode_threads_default() : 0;
    if ((s = glia__prefetch_new(threads, 3, L->batch, glia_shape_numel(&in), plan, L, t->norm,
                                t->norm + glia__data_channels(t->train), &t->pf)))
        return s;
    return glia_graph_set_batch(L->g, L->batch);
}

static void epoch_order(glia__loop *L, glia_rng *r) {
    images *t = L->ts;
    glia__prefetch_reset(t->pf); /* the queued batches were planned from the old order */
    memcpy(t->order, t->split + L->n_val, (size_t)t->n_train * sizeof *t->order);
    glia__shuffle(t->order, t->n_train, r);
}

/* A held-out or test part is read in chunks of a batch; a data-parallel process (shard r of K)
 * takes chunks r, r + K, r + 2K, ... */
static int64_t eval_batches(glia__loop *L, glia__split sp) {
    images *t = L->ts;
    int64_t n = sp == GLIA__VAL || !t->test ? L->n_val : t->test->images->shape.dim[0];
    int64_t chunks = (n + L->batch - 1) / L->batch;
    return chunks > L->shard ? (chunks - L->shard + L->shards - 1) / L->shards : 0;
}

/* Plans batch b of a split (prefetch.c calls it in batch order, under its lock): TRAIN, shard
 * r of global batch b, the other shards' draws skipped; a held-out or test batch, samples
 * [b B, b B + live) of the part, padded with its last one (class -1). */
static int plan(void *ctx, int split, int64_t b, glia_rng *aug, glia__batch_plan *p) {
    glia__loop *L = ctx;
    images *t = L->ts;
    glia__split sp = (glia__split)split;
    if (sp == GLIA__TEST && !t->test) sp = GLIA__VAL; /* the held-out part is the test part */
    const glia_dataset *d = sp == GLIA__TEST ? t->test : t->train;
    const int64_t B = L->batch;
    const float *labels = d->labels->data;
    p->d = d;
    p->n = B;
    if (sp == GLIA__TRAIN) {
        if (b >= L->batches) return 0;
        const glia_augment *a = aug ? &t->aug : NULL;
        const int64_t *idx = t->order + (b * L->shards + L->shard) * B;
        glia_augment_skip(d, a, aug, L->shard * B);
        glia__augment_draw(d, a, aug, B, p->draw);
        glia_augment_skip(d, a, aug, (L->shards - 1 - L->shard) * B);
        for (int64_t i = 0; i < B; i++) p->ids[i] = labels[p->idx[i] = idx[i]];
        p->live = B;
        return 1;
    }
    if (b >= eval_batches(L, (glia__split)split)) return 0;
    b = b * L->shards + L->shard; /* this process's chunk */
    const int64_t *idx = sp == GLIA__VAL ? t->split : NULL;
    int64_t n = sp == GLIA__VAL ? L->n_val : d->images->shape.dim[0];
    int64_t live = n - b * B < B ? n - b * B : B;
    for (int64_t i = 0; i < B; i++) {
        int64_t q = b * B + (i < live ? i : live - 1);
        p->idx[i] = idx ? idx[q] : q;
        p->ids[i] = i < live ? labels[p->idx[i]] : -1;
    }
    glia__augment_draw(d, &t->eval_aug, NULL, B, p->draw);
    p->live = live;
    return 1;
}

static int64_t fill(glia__loop *L, glia__split sp, int64_t b, glia_rng *aug) {
    images *t = L->ts;
    float *x = glia__loop_in(L, L->x), *ids = glia__loop_ids(L);
    if (!x || !ids) return 0; /* out of memory: the upload that follows says so */
    int64_t live = glia__prefetch_get(t->pf, sp, b, sp == GLIA__TRAIN ? aug : NULL, x, ids);
    /* a file that no longer decodes (changed since the start): zeros stood in, said once */
    for (int i = 0; i < 2 && t->warn; i++) {
        const glia_dataset *d = i ? t->test : t->train;
        char *why = d && d->store ? glia__store_failure(d->store) : NULL;
        if (why) {
            char msg[1400];
            snprintf(msg, sizeof msg, "%s (read again for a batch; a zero image stands in for it "
                     "and any other that fails)", why);
            t->warn(t->ctx, msg);
            free(why);
        }
    }
    return sp == GLIA__TRAIN ? L->batch : live;
}

static glia_status write_files(glia__loop *L) {
    images *t = L->ts;
    return glia__write_lines(L, "classes.txt", (const char *const *)t->train->class_names, t->train->classes);
}

static void task_free(void *ts) {
    images *t = ts;
    glia__prefetch_free(t->pf); /* its threads stop before the data they read goes */
    glia_dataset_free(t->own_train);
    glia_dataset_free(t->own_test);
    free(t->split);
    free(t->order);
    free(t->norm);
}

/* no recurrent state to carry; a test part of its own */
const glia__task_ops glia__task_images = {
    .name = "images", .unit = "img", .extra_col = "val_top5", .rng_stream = 0xda7a, .setup = setup,
    .epoch_order = epoch_order, .fill = fill, .eval_batches = eval_batches,
    .write_files = write_files, .free = task_free, .sharded = 1};
