/* task_seq2seq.c: encoder-decoder models ([net] target = T2 > 0) on pairs of sequences
 * (src/data/pairs.c), as a task of the training loop (loop.h).
 *
 * A batch row n holds one pair (x, y): data [S, N, 1] gets x's ids (0 beyond its length),
 * lengths[n] = |x|; target [T2, N, 1] gets <s>, y_1 .. y_|y| (teacher forcing: the decoder reads
 * the true previous token), target_lengths[n] = |y| + 1; the class of output row t*N + n is
 * y_{t+1} for t < |y|, </s> at t = |y|, and -1 (padding: no loss, no gradient) beyond. So
 * softmax_ce averages the loss over the live target tokens of the batch, </s> included. A pair
 * whose source is longer than S or whose target (with </s>) is longer than T2 is left out (the
 * model cannot read it); the pairs' fixed split (a hash of the source) gives the training,
 * validation and test parts, and --val is not used; --limit N trains on a fixed draw (from the
 * seed) of N training pairs; evaluation runs in length order; [net] bucket = B > 0 forms each
 * epoch's training batches of pairs of similar lengths (epoch_order). The last partial batch of an evaluation
 * is padded with rows of length 1 labelled -1. Accuracy is per token (teacher forced); the
 * sequence metrics of decoding (phoneme and word error rates) are glia translate --test's. */
#include "train/loop.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    glia_pairs *p;
    int64_t S, T2, N;
    int x, len, y, ylen;
    int64_t *idx[3], n[3];       /* pairs of each part that fit the model */
    int64_t *order, *scratch;    /* this epoch's training order; [n[0]] for epoch_order */
    int64_t bucket;              /* [net] bucket: batches per length-sorted chunk, 0 off */
    glia__keyed *keys;           /* [bucket batches] for sorting a chunk */
    double batch_tokens;         /* target tokens (</s> included) of a mean training batch */
} s2s;

static int64_t fill_rows(glia__loop *L, const int64_t *ids, int64_t k) {
    s2s *t = L->ts;
    const glia_pairs *p = t->p;
    float *x = glia__loop_in(L, t->x), *len = glia__loop_in(L, t->len), *y = glia__loop_in(L, t->y);
    float *ylen = glia__loop_in(L, t->ylen), *lab = glia__loop_ids(L);
    if (!x || !len || !y || !ylen || !lab) return 0; /* out of memory: the upload says so */
    const int64_t S = t->S, T2 = t->T2, N = t->N;
    int64_t tokens = 0;
    memset(x, 0, (size_t)(S * N) * sizeof *x);
    for (int64_t i = 0; i < T2 * N; i++) y[i] = GLIA_SEQ2SEQ_BOS, lab[i] = -1;
    for (int64_t n = 0; n < N; n++) {
        if (n >= k) {
            len[n] = ylen[n] = 1;
            continue;
        }
        const int64_t i = ids[n], a = p->src_off[i], na = p->src_off[i + 1] - a;
        const int64_t b = p->tgt_off[i], nb = p->tgt_off[i + 1] - b;
        for (int64_t s = 0; s < na; s++) x[s * N + n] = (float)p->src_ids[a + s];
        len[n] = (float)na;
        for (int64_t s = 0; s < nb; s++) {
            y[(s + 1) * N + n] = (float)p->tgt_ids[b + s];
            lab[s * N + n] = (float)p->tgt_ids[b + s];
        }
        lab[nb * N + n] = GLIA_SEQ2SEQ_EOS;
        ylen[n] = (float)(nb + 1);
        tokens += nb + 1;
    }
    return tokens;
}

/* shard r of global batch b; of a held-out or test part, this process's chunk (eval_batches) */
static int64_t fill(glia__loop *L, glia__split sp, int64_t b, glia_rng *aug) {
    (void)aug;
    s2s *t = L->ts;
    b = b * L->shards + L->shard;
    if (sp == GLIA__TRAIN) {
        const int64_t tokens = fill_rows(L, t->order + b * t->N, t->N);
        /* length buckets: each batch's mean over its tokens, weighted by its tokens (over a
         * batch's mean count), weighs every token alike, as random batches do on average; else
         * a batch of short words would count as much as one of long words */
        if (t->bucket > 0) L->grad_scale = (float)((double)tokens / t->batch_tokens);
        return tokens;
    }
    const int part = sp == GLIA__VAL ? 1 : 2;
    const int64_t i = b * t->N, k = t->n[part] - i < t->N ? t->n[part] - i : t->N;
    return fill_rows(L, t->idx[part] + i, k);
}

/* chunks of a batch; a data-parallel process (shard r of K) takes chunks r, r + K, ... */
static int64_t eval_batches(glia__loop *L, glia__split sp) {
    s2s *t = L->ts;
    int64_t chunks = (t->n[sp == GLIA__VAL ? 1 : 2] + t->N - 1) / t->N;
    return chunks > L->shard ? (chunks - L->shard + L->shards - 1) / L->shards : 0;
}

/* evaluation runs in length order: a batch costs its longest source and target (the recurrent
 * ops skip the steps past the longest length, rnn.c), and the figures are sums over tokens */
typedef glia__keyed keyed;

static int keyed_cmp(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos; /* stable: a fixed order */
}

/* ids[0..n) sorted by (source length, target length), stable, with tmp [n] */
static void sort_by_length_in(const glia_pairs *p, int64_t *ids, int64_t n, keyed *tmp) {
    for (int64_t j = 0; j < n; j++) {
        const int64_t i = ids[j];
        tmp[j] = (keyed){(p->src_off[i + 1] - p->src_off[i]) * 4096 + p->tgt_off[i + 1] - p->tgt_off[i], j, i};
    }
    qsort(tmp, (size_t)n, sizeof *tmp, keyed_cmp);
    for (int64_t j = 0; j < n; j++) ids[j] = tmp[j].id;
}

static glia_status sort_by_length(const glia_pairs *p, int64_t *ids, int64_t n) {
    keyed *tmp = glia__malloc((size_t)(n + 1) * sizeof *tmp);
    if (!tmp) return glia__err(GLIA_ENOMEM, "training: out of memory");
    sort_by_length_in(p, ids, n, tmp);
    free(tmp);
    return GLIA_OK;
}

void glia__length_buckets(const glia_pairs *p, int64_t *order, int64_t G, int64_t nb, int64_t bucket,
                          glia_rng *r, glia__keyed *keys, int64_t *scratch) {
    const int64_t chunk = bucket * G;
    for (int64_t c = 0; c < nb * G; c += chunk)
        sort_by_length_in(p, order + c, c + chunk < nb * G ? chunk : nb * G - c, keys);
    int64_t *perm = scratch, *tmp = scratch + nb;
    for (int64_t b = 0; b < nb; b++) perm[b] = b;
    glia__shuffle(perm, nb, r);
    for (int64_t b = 0; b < nb; b++) memcpy(tmp + b * G, order + perm[b] * G, (size_t)G * sizeof *tmp);
    memcpy(order, tmp, (size_t)(nb * G) * sizeof *tmp);
}

/* a shuffle of the training pairs, then with [net] bucket = B, batches of similar lengths
 * (glia__length_buckets); drawn from r alone, so a resumed run (which replays r from the
 * epoch's start) gets the same order */
static void epoch_order(glia__loop *L, glia_rng *r) {
    s2s *t = L->ts;
    memcpy(t->order, t->idx[0], (size_t)t->n[0] * sizeof *t->order);
    glia__shuffle(t->order, t->n[0], r);
    if (t->bucket > 0)
        glia__length_buckets(t->p, t->order, t->N * L->shards, L->batches, t->bucket, r, t->keys, t->scratch);
}

static glia_status setup(glia__loop *L, const glia_train_options *o) {
    if (o->train_set)
        return glia__err(GLIA_EINVAL, "an encoder-decoder trains on pairs of sequences (--data "
                         "cmudict or pairs:FILE), not images");
    s2s *t = glia__calloc(1, sizeof *t);
    if (!t) return glia__err(GLIA_ENOMEM, "training: out of memory");
    L->ts = t;
    glia_model *m = L->m;
    glia_status s;
    if (strcmp(glia_model_option(m, "loss"), "softmax_ce"))
        return glia__err(GLIA_EINVAL, "[net] loss = %s: an encoder-decoder pads its targets, and "
                         "only softmax_ce ignores the padded steps", glia_model_option(m, "loss"));
    if ((s = glia_pairs_load(L->data, &t->p))) return s;
    const glia_pairs *p = t->p;
    int vs = 0, vt = 0;
    glia_model_seq2seq_vocabs(m, &vs, &vt);
    L->classes = atoi(glia_model_option(m, "classes"));
    if (vs < p->src_vocab || vt < p->tgt_vocab || L->classes < p->tgt_vocab)
        return glia__err(GLIA_ESHAPE, "%s has %d source symbols and %d target symbols (with "
                         "<unk>, <s>, </s>); the model's source [embedding] has vocab = %d, its "
                         "target [embedding] vocab = %d, [net] classes = %d: each must be at least "
                         "as large", L->data, p->src_vocab, p->tgt_vocab, vs, vt, L->classes);
    t->N = L->batch;
    L->g = glia_model_graph(m);
    if ((s = glia_graph_set_batch(L->g, t->N))) return s;
    L->x = t->x = glia_model_input(m);
    t->len = glia_model_lengths(m);
    t->y = glia_model_target(m);
    t->ylen = glia_model_target_lengths(m);
    L->out = glia_model_output(m);
    t->S = glia_model_sequence(m);
    t->T2 = glia_model_target_steps(m);
    L->rows = t->T2 * t->N;
    for (int k = 0; k < 3; k++)
        if (!(t->idx[k] = glia__malloc((size_t)(p->n + 1) * sizeof *t->idx[k])))
            return glia__err(GLIA_ENOMEM, "training: out of memory");
    if (!(t->order = glia__malloc((size_t)(p->n + 1) * sizeof *t->order)))
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    for (int64_t i = 0; i < p->n; i++) {
        const int64_t na = p->src_off[i + 1] - p->src_off[i], nb = p->tgt_off[i + 1] - p->tgt_off[i];
        if (na > t->S || nb + 1 > t->T2) continue; /* too long for the model */
        t->idx[p->split[i]][t->n[p->split[i]]++] = i;
    }
    if (L->limit > 0 && L->limit < t->n[0]) { /* a fixed draw of `limit` pairs, not the first */
        glia_rng r;
        glia_rng_seed(&r, L->seed, 0x11317);
        glia__shuffle(t->idx[0], t->n[0], &r);
        t->n[0] = L->limit;
    }
    /* evaluation in length order: the same figures, batches of similar lengths */
    if ((s = sort_by_length(p, t->idx[1], t->n[1])) || (s = sort_by_length(p, t->idx[2], t->n[2])))
        return s;
    L->n_val = t->n[1];
    L->batches = t->n[0] / (t->N * L->shards); /* global batches */
    t->bucket = atoll(glia_model_option(m, "bucket"));
    if (t->bucket < 0) return glia__err(GLIA_EINVAL, "[net] bucket = %lld: expected 0 (off) or a "
                                        "number of batches", (long long)t->bucket);
    if (t->bucket > L->batches) t->bucket = L->batches;
    for (int64_t j = 0; j < t->n[0]; j++)
        t->batch_tokens += p->tgt_off[t->idx[0][j] + 1] - p->tgt_off[t->idx[0][j]] + 1;
    t->batch_tokens = t->n[0] ? t->batch_tokens / (double)t->n[0] * (double)t->N : 1;
    if (t->bucket && (!(t->scratch = glia__malloc((size_t)(2 * t->n[0] + 1) * sizeof *t->scratch)) ||
                      !(t->keys = glia__malloc((size_t)(t->bucket * t->N * L->shards) * sizeof *t->keys))))
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    if (L->batches < 1)
        return glia__err(GLIA_EINVAL, "%s: too little training data for one batch of %lld (pairs "
                         "that fit [net] sequence = %lld and target = %lld: %lld)", L->data,
                         (long long)(t->N * L->shards), (long long)t->S, (long long)t->T2, (long long)t->n[0]);
    return GLIA_OK;
}

/* source_vocab.txt, target_vocab.txt: the symbol of each id, one per line */
static glia_status write_files(glia__loop *L) {
    s2s *t = L->ts;
    glia_status s = glia__write_lines(L, "source_vocab.txt", (const char *const *)t->p->src_sym, t->p->src_vocab);
    return s ? s : glia__write_lines(L, "target_vocab.txt", (const char *const *)t->p->tgt_sym, t->p->tgt_vocab);
}

static void task_free(void *ts) {
    s2s *t = ts;
    for (int k = 0; k < 3; k++) free(t->idx[k]);
    free(t->order);
    free(t->scratch);
    free(t->keys);
    glia_pairs_free(t->p);
}

const glia__task_ops glia__task_seq2seq = {
    .name = "seq2seq", .unit = "tok", .extra_col = "val_top5", .rng_stream = 0x525, .setup = setup,
    .epoch_order = epoch_order, .fill = fill, .eval_batches = eval_batches, .carry = NULL,
    .write_files = write_files, .free = task_free, .test_is_val = 0, .sharded = 1};
