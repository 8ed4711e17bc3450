/* image_store.c: an image folder's images, kept as bytes up to a cap and read again from their
 * files beyond it (stream.h). The cache holds the first images in file order: with batches
 * drawn at random, any choice of which images to keep hits as often (the cached fraction), and a
 * fixed one needs no lock, no eviction and no bookkeeping per access. */
#include "data/stream.h"
#include <stdlib.h>
#include <string.h>

glia_status glia__store_decode(const char *path, int C, int H, int W, uint8_t *dst, int64_t *sums) {
    glia_tensor *t = NULL;
    glia_status s = glia_image_load(path, C, H, W, &t);
    if (s) return s;
    const int64_t plane = (int64_t)H * W;
    for (int64_t c = 0; c < C; c++) {
        int64_t s1 = 0, s2 = 0;
        for (int64_t k = c * plane; k < (c + 1) * plane; k++) { /* [0, 1] -> 0..255, rounded */
            float v = t->data[k] * 255.0f + 0.5f;
            uint8_t b = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : v);
            dst[k] = b;
            s1 += b;
            s2 += (int64_t)b * b;
        }
        if (sums) {
            sums[c] = s1;
            sums[C + c] = s2;
        }
    }
    glia_tensor_free(t);
    return GLIA_OK;
}

const uint8_t *glia__store_image(glia__image_store *s, int64_t k, uint8_t *scratch) {
    if (k < s->n_cached) return s->cache + k * s->per;
    __atomic_fetch_add(&s->decodes, 1, __ATOMIC_RELAXED);
    if (!glia__store_decode(s->path[k], s->C, s->H, s->W, scratch, NULL)) return scratch;
    /* the file changed or went away since it was first read: zeros, and said once */
    memset(scratch, 0, (size_t)s->per);
    __atomic_fetch_add(&s->failures, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&s->mu);
    if (!s->failed && !s->told) s->failed = glia__strdup(glia_last_error());
    pthread_mutex_unlock(&s->mu);
    return scratch;
}

char *glia__store_failure(glia__image_store *s) {
    if (!__atomic_load_n(&s->failures, __ATOMIC_RELAXED)) return NULL;
    pthread_mutex_lock(&s->mu);
    char *m = s->failed;
    s->failed = NULL;
    s->told = 1;
    pthread_mutex_unlock(&s->mu);
    return m;
}

void glia__store_free(glia__image_store *s) {
    if (!s) return;
    for (int64_t i = 0; s->path && i < s->n; i++) free(s->path[i]);
    free(s->path);
    free(s->cache);
    free(s->sums);
    free(s->failed);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
