/* task_images.c: image classification as a task of the training loop (loop.h). The data set's
 * training images are split by a fixed draw from the seed (the fraction val held out, first);
 * each epoch shuffles the rest; a batch is augmented (the model's shift and flip) and normalised
 * ((x - mean) / std, measured on the training part into [net] mean and std unless the run was
 * told not to); the test part is the data set's own. The remainder of an epoch is dropped; a
 * held-out or test pass pads its last batch with its last image, labelled -1 (not counted). */
#include "train/loop.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    glia_dataset *own_train, *own_test;
    const glia_dataset *train, *test;
    int64_t *split;              /* all training-split indices: validation first, then training */
    int64_t n_train;
    int64_t *order;              /* this epoch's order */
    float mean, std;
    glia_augment aug;
} images;

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
    glia_status s;
    t->train = o->train_set;
    t->test = o->test_set;
    if (!t->train) {
        if ((s = glia_dataset_load(L->data, "train", &t->own_train))) return s;
        t->train = t->own_train;
    }
    if (!t->test) {
        if ((s = glia_dataset_load(L->data, "test", &t->own_test))) return s;
        t->test = t->own_test;
    }
    glia_shape in;
    if ((s = glia_node_shape(L->g, L->x, &in))) return s;
    in.dim[0] = 1;
    if ((s = glia__check_data_fits(&in, t->train)) || (s = glia__check_data_fits(&in, t->test))) return s;
    if (L->classes != t->train->classes || t->test->classes > L->classes)
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
    if (o->normalize && !L->resuming) {
        char v[32];
        glia_dataset_stats(t->train, t->split + L->n_val, t->n_train, &t->mean, &t->std);
        snprintf(v, sizeof v, "%.6g", (double)t->mean);
        if ((s = glia_model_set_option(m, "mean", v))) return s;
        snprintf(v, sizeof v, "%.6g", (double)t->std);
        if ((s = glia_model_set_option(m, "std", v))) return s;
    }
    t->mean = strtof(glia_model_option(m, "mean"), NULL);
    t->std = strtof(glia_model_option(m, "std"), NULL);
    if (!(t->std > 0)) return glia__err(GLIA_EINVAL, "[net] std = %g: must be > 0", (double)t->std);
    t->aug.shift = atoi(glia_model_option(m, "shift"));
    t->aug.hflip = atoi(glia_model_option(m, "flip"));
    return glia_graph_set_batch(L->g, L->batch);
}

static void epoch_order(glia__loop *L, glia_rng *r) {
    images *t = L->ts;
    memcpy(t->order, t->split + L->n_val, (size_t)t->n_train * sizeof *t->order);
    glia__shuffle(t->order, t->n_train, r);
}

/* A held-out or test part is read in chunks of a batch; a data-parallel process (shard r of K)
 * takes chunks r, r + K, r + 2K, ... */
static int64_t eval_batches(glia__loop *L, glia__split sp) {
    images *t = L->ts;
    int64_t n = sp == GLIA__VAL ? L->n_val : t->test->images->shape.dim[0];
    int64_t chunks = (n + L->batch - 1) / L->batch;
    return chunks > L->shard ? (chunks - L->shard + L->shards - 1) / L->shards : 0;
}

static int64_t fill(glia__loop *L, glia__split sp, int64_t b, glia_rng *aug) {
    images *t = L->ts;
    const glia_dataset *d = sp == GLIA__TEST ? t->test : t->train;
    const int64_t B = L->batch;
    float *x = glia__loop_in(L, L->x), *ids = glia__loop_ids(L);
    if (!x || !ids) return 0; /* out of memory: the upload that follows says so */
    if (sp == GLIA__TRAIN) { /* shard r of global batch b; the other shards' draws skipped */
        const glia_augment *a = aug ? &t->aug : NULL;
        glia_augment_skip(a, aug, L->shard * B);
        glia_dataset_batch(d, t->order + (b * L->shards + L->shard) * B, B, t->mean, t->std, a,
                           aug, x, ids);
        glia_augment_skip(a, aug, (L->shards - 1 - L->shard) * B);
        return B;
    }
    b = b * L->shards + L->shard; /* this process's chunk */
    /* a held-out or test batch: samples [b B, b B + live) of the part, padded */
    const int64_t *idx = sp == GLIA__VAL ? t->split : NULL;
    int64_t n = sp == GLIA__VAL ? L->n_val : d->images->shape.dim[0];
    int64_t live = n - b * B < B ? n - b * B : B, per = glia_shape_numel(&d->images->shape) / d->images->shape.dim[0];
    int64_t ids64[256];
    for (int64_t i = 0; i < B; i += 256) {
        int64_t k = B - i < 256 ? B - i : 256;
        for (int64_t j = 0; j < k; j++) {
            int64_t p = b * B + (i + j < live ? i + j : live - 1);
            ids64[j] = idx ? idx[p] : p;
        }
        glia_dataset_batch(d, ids64, k, t->mean, t->std, NULL, NULL, x + i * per, ids + i);
    }
    for (int64_t i = live; i < B; i++) ids[i] = -1;
    return live;
}

static glia_status write_files(glia__loop *L) {
    images *t = L->ts;
    return glia__write_lines(L, "classes.txt", (const char *const *)t->train->class_names, t->train->classes);
}

static void task_free(void *ts) {
    images *t = ts;
    glia_dataset_free(t->own_train);
    glia_dataset_free(t->own_test);
    free(t->split);
    free(t->order);
}

/* no recurrent state to carry; a test part of its own */
const glia__task_ops glia__task_images = {
    .name = "images", .extra_col = "val_top5", .rng_stream = 0xda7a, .setup = setup,
    .epoch_order = epoch_order, .fill = fill, .eval_batches = eval_batches,
    .write_files = write_files, .free = task_free};
