/* prefetch.c: batches made in background threads while the graph trains (stream.h).
 *
 * A ring of `depth` slots holds the batches that follow the last one asked for, in order. Any
 * thread (under the lock) plans the next batch into a free slot: the task's plan function
 * chooses its samples and takes their augmentation draws from a copy of the generator, the
 * position after the previous planned batch. The threads (and the caller, while it waits) then
 * make the planned samples, a few at a time, the oldest batch first: read or decode the image,
 * augment it by its draw, normalise it into the slot. Nothing a thread does depends on which
 * thread does it, so the batches are the same for any number of threads, and the same as the
 * task made them one by one.
 *
 * A request that is not the next planned batch from the same generator position (a new epoch,
 * an evaluation, a resumed run) empties the ring and plans again from there. Signals go to the
 * caller's thread (the threads block them), where the training loop's stop flag is set. */
#include "data/stream.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CHUNK = 8 }; /* samples a thread takes at a time: a decode each, or a copy each */

typedef struct slot {
    int split, has_rng;
    int64_t b;
    glia_rng rng_in, rng_out;    /* the generator before the batch and after it */
    glia__batch_plan plan;
    float *x;                    /* [batch][per] */
    int64_t next, done;          /* samples taken by a thread; made */
} slot;

struct glia__prefetch {
    pthread_mutex_t mu;
    pthread_cond_t work, made;   /* work for the threads; a sample made (for the caller) */
    pthread_t *th;
    int threads, quit, hold, busy; /* hold: no sample is taken (emptying); busy: threads making */
    slot *ring;
    int n_ring, n_scratch;       /* allocated: slots, scratch buffers */
    int depth, head, count;      /* ring[head .. head + count) are planned, in batch order */
    int plan_on, split, has_rng; /* the next batch to plan: (split, next_b) from rng */
    int64_t next_b;
    glia_rng rng;
    int64_t batch, per;
    glia__plan_fn plan;
    void *ctx;
    const float *mean, *std;
    uint8_t **scratch;           /* [threads + 1]: a file read again lands here (the caller's last) */
};

int glia__decode_threads_default(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* plans the next batch into a free slot; 0 when there is none to plan or no room */
static int plan_next(glia__prefetch *P) {
    if (!P->plan_on || P->count == P->depth) return 0;
    slot *s = &P->ring[(P->head + P->count) % P->depth];
    glia_rng r = P->rng;
    if (!P->plan(P->ctx, P->split, P->next_b, P->has_rng ? &r : NULL, &s->plan)) {
        P->plan_on = 0; /* the split's end */
        return 0;
    }
    s->split = P->split;
    s->b = P->next_b++;
    s->has_rng = P->has_rng;
    s->rng_in = P->rng;
    s->rng_out = P->rng = r;
    s->next = s->done = 0;
    P->count++;
    return 1;
}

/* takes up to CHUNK samples of the oldest batch that has some left (only the head: head_only) */
static slot *take(glia__prefetch *P, int head_only, int64_t *first, int64_t *k) {
    for (int i = 0; !P->hold && i < (head_only ? (P->count > 0) : P->count); i++) {
        slot *s = &P->ring[(P->head + i) % P->depth];
        if (s->next < s->plan.n) {
            *first = s->next;
            *k = s->plan.n - s->next < CHUNK ? s->plan.n - s->next : CHUNK;
            s->next += *k;
            P->busy++;
            return s;
        }
    }
    return NULL;
}

/* makes samples [first, first + k) of s, outside the lock, then counts them under it */
static void make(glia__prefetch *P, slot *s, int64_t first, int64_t k, uint8_t *scratch) {
    pthread_mutex_unlock(&P->mu);
    const glia__batch_plan *p = &s->plan;
    for (int64_t j = first; j < first + k; j++)
        glia__dataset_sample(p->d, p->idx[j], &p->draw[j], P->mean, P->std, scratch, s->x + j * P->per);
    pthread_mutex_lock(&P->mu);
    s->done += k;
    P->busy--;
    pthread_cond_broadcast(&P->made);
}

static void *worker(void *arg) {
    glia__prefetch *P = arg;
    pthread_mutex_lock(&P->mu);
    int me = 0;
    while (me < P->threads && !pthread_equal(P->th[me], pthread_self())) me++;
    uint8_t *scratch = P->scratch[me < P->threads ? me : 0];
    while (!P->quit) {
        int64_t first, k;
        slot *s = take(P, 0, &first, &k);
        if (s) make(P, s, first, k, scratch);
        else if (!plan_next(P)) pthread_cond_wait(&P->work, &P->mu);
    }
    pthread_mutex_unlock(&P->mu);
    return NULL;
}

void glia__prefetch_free(glia__prefetch *P) {
    if (!P) return;
    if (P->threads) {
        pthread_mutex_lock(&P->mu);
        P->quit = 1;
        pthread_cond_broadcast(&P->work);
        pthread_mutex_unlock(&P->mu);
        for (int i = 0; i < P->threads; i++) pthread_join(P->th[i], NULL);
    }
    for (int i = 0; P->ring && i < P->n_ring; i++) {
        free(P->ring[i].x);
        free(P->ring[i].plan.idx);
        free(P->ring[i].plan.draw);
        free(P->ring[i].plan.ids);
    }
    for (int i = 0; P->scratch && i < P->n_scratch; i++) free(P->scratch[i]);
    free(P->scratch);
    free(P->ring);
    free(P->th);
    pthread_cond_destroy(&P->work);
    pthread_cond_destroy(&P->made);
    pthread_mutex_destroy(&P->mu);
    free(P);
}

glia_status glia__prefetch_new(int threads, int depth, int64_t batch, int64_t per, glia__plan_fn plan,
                               void *ctx, const float *mean, const float *std, glia__prefetch **out) {
    *out = NULL;
    if (threads < 0) threads = 0;
    if (depth < 1 || !threads) depth = 1;
    glia__prefetch *P = glia__calloc(1, sizeof *P);
    if (!P) return glia__err(GLIA_ENOMEM, "prefetch: out of memory");
    if (pthread_mutex_init(&P->mu, NULL) || pthread_cond_init(&P->work, NULL) || pthread_cond_init(&P->made, NULL)) {
        free(P); /* (an initialisation of these fails only for want of memory) */
        return glia__err(GLIA_ENOMEM, "prefetch: cannot make a mutex");
    }
    P->depth = depth;
    P->batch = batch;
    P->per = per;
    P->plan = plan;
    P->ctx = ctx;
    P->mean = mean;
    P->std = std;
    int ok = (P->ring = glia__calloc((size_t)depth, sizeof *P->ring)) &&
             (P->scratch = glia__calloc((size_t)threads + 1, sizeof *P->scratch)) &&
             (P->th = glia__calloc((size_t)threads + 1, sizeof *P->th));
    if (ok) {
        P->n_ring = depth;
        P->n_scratch = threads + 1;
    }
    for (int i = 0; ok && i < depth; i++) {
        slot *s = &P->ring[i];
        /* without threads the caller's own buffer is filled: no x */
        ok = (!threads || (s->x = glia__malloc((size_t)(batch * per) * sizeof *s->x))) &&
             (s->plan.idx = glia__malloc((size_t)batch * sizeof *s->plan.idx)) &&
             (s->plan.draw = glia__malloc((size_t)batch * sizeof *s->plan.draw)) &&
             (s->plan.ids = glia__malloc((size_t)batch * sizeof *s->plan.ids));
    }
    for (int i = 0; ok && i <= threads; i++) ok = (P->scratch[i] = glia__malloc((size_t)per)) != NULL;
    if (!ok) {
        glia__prefetch_free(P);
        return glia__err(GLIA_ENOMEM, "prefetch: out of memory for %d batches of %lld samples",
                         depth, (long long)batch);
    }
    /* the threads block the signals: SIGINT and SIGTERM reach the training loop's thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_mutex_lock(&P->mu); /* a thread finds its index once every thread is made */
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&P->th[P->threads], NULL, worker, P)) break;
        P->threads++;
    }
    pthread_mutex_unlock(&P->mu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!P->threads) P->depth = 1; /* none could start: batches made when asked, into x */
    *out = P;
    return GLIA_OK;
}

/* empties the ring once no thread is making a sample (under the lock) */
static void empty(glia__prefetch *P) {
    P->hold = 1;
    while (P->busy) pthread_cond_wait(&P->made, &P->mu);
    P->hold = 0;
    P->head = P->count = 0;
    P->plan_on = 0;
}

void glia__prefetch_reset(glia__prefetch *P) {
    pthread_mutex_lock(&P->mu);
    empty(P);
    pthread_mutex_unlock(&P->mu);
}

int64_t glia__prefetch_get(glia__prefetch *P, int split, int64_t b, glia_rng *rng, float *x, float *ids) {
    if (!P->threads) { /* made here, into x */
        glia__batch_plan *p = &P->ring[0].plan;
        glia_rng r = rng ? *rng : (glia_rng){0, 0};
        if (!P->plan(P->ctx, split, b, rng ? &r : NULL, p)) return 0;
        for (int64_t j = 0; j < p->n; j++)
            glia__dataset_sample(p->d, p->idx[j], &p->draw[j], P->mean, P->std, P->scratch[0], x + j * P->per);
        memcpy(ids, p->ids, (size_t)p->n * sizeof *ids);
        if (rng) *rng = r;
        return p->live;
    }
    pthread_mutex_lock(&P->mu);
    slot *h = P->count ? &P->ring[P->head] : NULL;
    if (!h || h->split != split || h->b != b || h->has_rng != (rng != NULL) ||
        (rng && (h->rng_in.state != rng->state || h->rng_in.inc != rng->inc))) {
        empty(P); /* not what was planned: plan again from this batch */
        P->plan_on = 1;
        P->split = split;
        P->next_b = b;
        P->has_rng = rng != NULL;
        if (rng) P->rng = *rng;
        if (!plan_next(P)) {
            pthread_mutex_unlock(&P->mu);
            return 0;
        }
        h = &P->ring[P->head];
        pthread_cond_broadcast(&P->work);
    }
    /* the caller makes samples of its batch too rather than wait idle */
    while (h->done < h->plan.n) {
        int64_t first, k;
        slot *s = take(P, 1, &first, &k);
        if (s) make(P, s, first, k, P->scratch[P->threads]);
        else pthread_cond_wait(&P->made, &P->mu);
    }
    pthread_mutex_unlock(&P->mu);
    /* the slot stays counted (no thread plans into it or takes from it) while it is read */
    memcpy(x, h->x, (size_t)(h->plan.n * P->per) * sizeof *x);
    memcpy(ids, h->plan.ids, (size_t)h->plan.n * sizeof *ids);
    if (rng) *rng = h->rng_out;
    int64_t live = h->plan.live;
    pthread_mutex_lock(&P->mu);
    P->head = (P->head + 1) % P->depth;
    P->count--;
    pthread_cond_broadcast(&P->work);
    pthread_mutex_unlock(&P->mu);
    return live;
}
