/* stream.h: image data read as it is needed. Internal.
 *
 * An image folder's images live in a store (image_store.c): the file of each image, the first
 * ones (in file order) kept as bytes in a cache of at most a given size, the others read and
 * decoded again each time a batch needs them; and each image's per-channel byte sums, taken
 * when the folder was first read, so the training part's mean and standard deviation cost
 * nothing later and are exact (integer sums) whatever the cache holds.
 *
 * A batch is made in two steps: its draws (the augmentation of each sample, taken in order from
 * the run's generator: glia__augment_draw), then each sample's pixels from its draw
 * (glia__dataset_sample, any thread, any order). The prefetcher (prefetch.c) does the second
 * step in background threads for the batches that follow the one the training loop asked for,
 * into a bounded queue; since the draws are taken in batch order before any pixel is made, a
 * batch is the same whatever the number of threads, and the same as glia_dataset_batch's. */
#ifndef GLIA_DATA_STREAM_H
#define GLIA_DATA_STREAM_H
#include "core/internal.h"
#include <pthread.h>

/* ---------------------------------------------------------------- the store (image_store.c) */
struct glia__image_store {
    char **path;             /* [n] each image's file */
    int64_t n, per;          /* images; bytes per image (C H W) */
    int C, H, W;
    uint8_t *cache;          /* [n_cached][per]: images 0 .. n_cached-1 */
    int64_t n_cached;
    int64_t *sums;           /* [n][2 C]: per channel, the sum of the bytes, then of their squares */
    int64_t decodes;         /* files read again since loading (atomic): the cache's misses */
    int failures;            /* of those, files that no longer decode (atomic); zeros stand in */
    pthread_mutex_t mu;      /* guards failed and told */
    char *failed;            /* the first such file's error, reported once (glia__store_failure) */
    int told;
};
typedef struct glia__image_store glia__image_store;

/* Decodes path into dst (C H W bytes, the value rounded from glia_image_load's [0, 1]) and adds
 * its per-channel sums to sums[2 C] (NULL: not wanted). */
glia_status glia__store_decode(const char *path, int C, int H, int W, uint8_t *dst, int64_t *sums);
/* Image k's bytes: the cache's, or its file decoded again into scratch (per bytes); a file that
 * no longer decodes gives zeros, counted in failures. Any thread. */
const uint8_t *glia__store_image(glia__image_store *s, int64_t k, uint8_t *scratch);
/* The first re-read failure's message, once (NULL when none or already taken); free it. */
char *glia__store_failure(glia__image_store *s);
void glia__store_free(glia__image_store *s);
/* A data set of the store's images (shape [n, C, H, W]); the store, labels (and on failure
 * both) pass to it. */
glia_status glia__dataset_new_store(glia__image_store *st, const glia_shape *shape, glia_tensor *labels,
                                    int classes, const char *const *names, glia_dataset **out);

/* ---------------------------------------------------------------- one sample (dataset.c) */
/* One sample's augmentation: shift, flip, the box resampled (crop), jitter factors. */
typedef struct glia__aug_draw {
    int dy, dx, flip;
    int by, bx, bh, bw;      /* the box resized to the image (resample) */
    float bright, contrast;
    int resample, jitter;    /* 0: copied (shift and flip alone); jitter: factors applied */
} glia__aug_draw;
/* n samples' draws into out (NULL: drawn and dropped, glia_augment_skip); no generator: nothing
 * is drawn, and each sample is the image as kept, or with aug->center > 0 its centre box of
 * that fraction of each side resized back (evaluation of a model trained with crop). */
void glia__augment_draw(const glia_dataset *d, const glia_augment *aug, glia_rng *rng, int64_t n,
                        glia__aug_draw *out);
/* Sample k of d made by draw a, normalised, into out (C H W floats); scratch: per bytes, used
 * when d's image must be read from its file. Any thread. */
void glia__dataset_sample(const glia_dataset *d, int64_t k, const glia__aug_draw *a,
                          const float *mean, const float *std, uint8_t *scratch, float *out);

/* ---------------------------------------------------------------- the prefetcher (prefetch.c) */
/* What a batch holds, as its task plans it (under the prefetcher's lock, in batch order). */
typedef struct glia__batch_plan {
    const glia_dataset *d;
    int64_t n;               /* samples (<= the prefetcher's batch) */
    int64_t live;            /* what the task's fill returns */
    int64_t *idx;            /* [batch] the samples */
    glia__aug_draw *draw;    /* [batch] their draws */
    float *ids;              /* [batch] each sample's class, -1 for padding */
} glia__batch_plan;
/* Plans batch b of split into p (advancing rng when given); 0 when there is no such batch. */
typedef int (*glia__plan_fn)(void *ctx, int split, int64_t b, glia_rng *rng, glia__batch_plan *p);

typedef struct glia__prefetch glia__prefetch;
/* threads background threads (0: every batch made when asked, in the caller's thread), a queue
 * of depth batches of up to batch samples of per floats; mean and std as glia_dataset_batch. */
glia_status glia__prefetch_new(int threads, int depth, int64_t batch, int64_t per, glia__plan_fn plan,
                               void *ctx, const float *mean, const float *std, glia__prefetch **out);
/* Batch b of split into x (n per floats) and ids (n); rng (NULL at evaluation) is the
 * generator before the batch, and after it on return. The queued batches are used when they
 * were planned from the same position; otherwise the queue starts again from this one. Returns
 * the plan's live. */
int64_t glia__prefetch_get(glia__prefetch *P, int split, int64_t b, glia_rng *rng, float *x, float *ids);
/* Empties the queue (before what the plans read changes: an epoch's order). */
void glia__prefetch_reset(glia__prefetch *P);
/* Stops the threads (each finishes its sample) and frees everything. */
void glia__prefetch_free(glia__prefetch *P);
/* Threads for decoding when the caller gives 0: the cores, at most 4. */
int glia__decode_threads_default(void);
#endif
