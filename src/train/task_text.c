/* task_text.c: sequence models ([net] sequence = T > 0) on text, as a task of the training loop
 * (loop.h). What is learned follows from the text data set (src/data/text.c):
 *
 *   chars      language model (many-to-many): the text's first 1 - val part is cut into N
 *              streams, one per batch row; batch b feeds characters [bT, bT + T) of every
 *              stream and the targets are the next characters. The recurrent state is carried
 *              from one batch to the next (truncated BPTT: gradients stop at the chunk's start)
 *              and reset at each epoch. Held out: the end of the text the same way, reported in
 *              nats and in bits per character (nats / ln 2).
 *   sentences  classification (many-to-one): a class per sequence; the model ends in [N, classes]
 *   tags       tagging (many-to-many): a class per step, rows in the order of time_flatten's
 *              (t*N + n), -1 at padded steps, so padding adds nothing to loss or gradients
 * Sentences and tags: a fixed draw (from the seed) holds out the fraction val of the sentences;
 * each epoch shuffles the rest; a sentence longer than T is cut to T (sentences) or split into
 * pieces of at most T words (tags: every word is tagged and counted); a batch row's length goes
 * to the model's lengths input (the recurrent ops mask the padding). The last partial batch of
 * a held-out pass is filled with length-1 rows labelled -1 (ignored).
 * A model that starts with [wordhash] reads words as letter trigrams: the data set is loaded
 * with every word kept (no "<other>": an unseen word still has its letters), each word's K
 * trigram buckets are computed once (glia_word_trigrams), and x [T, N, K] holds them, -1 in
 * empty slots and at padded steps. Models with [embedding] or [onehot] read x [T, N, 1], ids.
 *
 * The caller's model is trained in place: its graph takes the batch N with glia_graph_set_batch
 * (each input's batch axis: dim 1 of the time-major x [T, N, K] and of the states). */
#include "train/loop.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    glia_text_data *d;
    int lm, tags;
    int len;                     /* the model's lengths input */
    int64_t T, N;
    int64_t NT;                  /* a language model's streams: N of each of the processes */
    int K;                       /* x is [T, N, K]: K = 1, word ids; else trigram buckets */
    int32_t *trigrams;           /* [vocab, K]: each word's buckets ([wordhash]), else NULL */
    /* sequences: held-out first, then training ones */
    int64_t *seqs, n_train, *order;
    /* pieces (what a batch row holds): token start, length <= T, sentence */
    int64_t *pstart, *plen, *psent;
    /* chars: the training and held-out token ranges */
    int64_t lm_train_end, lm_val_begin;
} text;

/* fills batch rows from pieces ids[0..k) (k <= N; the rest padding rows); a word at step t of
 * row n is x[t, n, :], its id or its K trigram buckets */
static int64_t fill_seqs(glia__loop *L, const int64_t *ids, int64_t k) {
    text *t = L->ts;
    float *x = glia__loop_in(L, L->x), *len = glia__loop_in(L, t->len), *lab = glia__loop_ids(L);
    if (!x || !len || !lab) return 0; /* out of memory: the upload that follows says so */
    const glia_text_data *d = t->d;
    const int64_t T = t->T, N = t->N, K = t->K;
    int64_t tokens = 0;
    for (int64_t i = 0; i < T * N * K; i++) x[i] = t->trigrams ? -1 : 0;
    for (int64_t i = 0; i < L->rows; i++) lab[i] = -1;
    for (int64_t n = 0; n < N; n++) {
        if (n >= k) { len[n] = 1; continue; }
        int64_t a = t->pstart[ids[n]], P = t->plen[ids[n]];
        len[n] = (float)P;
        tokens += P;
        for (int64_t s = 0; s < P; s++) {
            int64_t w = d->tokens[a + s];
            for (int64_t j = 0; j < K; j++)
                x[(s * N + n) * K + j] = t->trigrams ? (float)t->trigrams[w * K + j] : (float)w;
            if (t->tags) lab[s * N + n] = (float)d->labels[a + s];
        }
        if (!t->tags) lab[n] = (float)d->labels[t->psent[ids[n]]];
    }
    return tokens;
}

/* language model chunk b of streams over tokens [begin, end): NT streams, of which a
 * data-parallel process (shard r) reads streams [r N, r N + N) */
static int64_t fill_lm(glia__loop *L, int64_t begin, int64_t end, int64_t b) {
    text *t = L->ts;
    float *x = glia__loop_in(L, L->x), *lab = glia__loop_ids(L);
    if (!x || !lab) return 0;
    const int64_t T = t->T, N = t->N, S = (end - begin) / t->NT;
    for (int64_t n = 0; n < N; n++)
        for (int64_t s = 0; s < T; s++) {
            int64_t at = begin + (L->shard * N + n) * S + b * T + s;
            x[s * N + n] = (float)t->d->tokens[at];
            lab[s * N + n] = (float)t->d->tokens[at + 1];
        }
    return T * N;
}
static int64_t lm_batches(const text *t, int64_t begin, int64_t end) {
    return ((end - begin) / t->NT - 1) / t->T; /* the target of a stream's last step stays inside */
}

static int64_t fill(glia__loop *L, glia__split sp, int64_t b, glia_rng *aug) {
    (void)aug;
    text *t = L->ts;
    if (t->lm) return sp == GLIA__TRAIN ? fill_lm(L, 0, t->lm_train_end, b)
                                        : fill_lm(L, t->lm_val_begin, t->d->n_tokens, b);
    /* shard r of global batch b; of the held-out part, chunks r, r + K, ... (eval_batches) */
    if (sp == GLIA__TRAIN) return fill_seqs(L, t->order + (b * L->shards + L->shard) * t->N, t->N);
    int64_t i = (b * L->shards + L->shard) * t->N, k = L->n_val - i < t->N ? L->n_val - i : t->N;
    return fill_seqs(L, t->seqs + i, k);
}

static int64_t eval_batches(glia__loop *L, glia__split sp) {
    text *t = L->ts;
    (void)sp; /* text has no test part: TEST is the held-out part */
    if (t->lm) return L->val > 0 ? lm_batches(t, t->lm_val_begin, t->d->n_tokens) : 0;
    int64_t chunks = (L->n_val + t->N - 1) / t->N;
    return chunks > L->shard ? (chunks - L->shard + L->shards - 1) / L->shards : 0;
}

static void epoch_order(glia__loop *L, glia_rng *r) {
    text *t = L->ts;
    if (t->lm) return; /* streams are read in order */
    memcpy(t->order, t->seqs + L->n_val, (size_t)t->n_train * sizeof *t->order);
    glia__shuffle(t->order, t->n_train, r);
}

static glia_status carry(glia__loop *L, int reset) {
    text *t = L->ts;
    return t->lm ? glia_model_carry_state(L->m, reset) : GLIA_OK;
}

/* the pieces of the sentences and the held-out split: a fixed draw from the seed */
static glia_status split_sentences(glia__loop *L) {
    text *t = L->ts;
    const glia_text_data *d = t->d;
    int64_t *sent = glia__malloc((size_t)d->n_seq * sizeof *sent), np = 0, nvs;
    if (!sent) return glia__err(GLIA_ENOMEM, "training: out of memory");
    for (int64_t i = 0; i < d->n_seq; i++) sent[i] = i;
    glia_rng sr;
    glia_rng_seed(&sr, L->seed, 0x5b117);
    glia__shuffle(sent, d->n_seq, &sr);
    nvs = (int64_t)((double)L->val * (double)d->n_seq);
    /* tagging splits a sentence longer than T into pieces of at most T words (no word goes
     * untagged); classification reads its first T words */
    for (int64_t i = 0; i < d->n_seq; i++) {
        int64_t n = d->offset[i + 1] - d->offset[i];
        np += t->tags ? (n + t->T - 1) / t->T : 1;
    }
    t->pstart = glia__malloc((size_t)np * 3 * sizeof *t->pstart);
    t->seqs = glia__malloc((size_t)np * sizeof *t->seqs);
    t->order = glia__malloc((size_t)np * sizeof *t->order);
    if (!t->pstart || !t->seqs || !t->order) {
        free(sent);
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    }
    t->plen = t->pstart + np;
    t->psent = t->plen + np;
    int64_t k = 0;
    for (int64_t i = 0; i < d->n_seq; i++) {
        if (i == nvs) L->n_val = k;
        int64_t a = d->offset[sent[i]], n = d->offset[sent[i] + 1] - a;
        for (int64_t p = 0; p < n && (p == 0 || t->tags); p += t->T, k++) {
            t->pstart[k] = a + p;
            t->plen[k] = n - p < t->T ? n - p : t->T;
            t->psent[k] = sent[i];
            t->seqs[k] = k;
        }
    }
    if (nvs >= d->n_seq) L->n_val = k;
    free(sent);
    t->n_train = np - L->n_val;
    if (L->limit > 0 && L->limit < t->n_train) t->n_train = L->limit;
    L->batches = t->n_train / (t->N * L->shards); /* global batches */
    return GLIA_OK;
}

/* the data, its vocabulary's trigrams, and the model rebuilt for batch N */
static glia_status setup(glia__loop *L, const glia_train_options *o) {
    if (o->train_set)
        return glia__err(GLIA_EINVAL, "a sequence model trains on a text data set (--data "
                         "moby-dick, movie-reviews, pos-tags, chars:FILE, ...), not images");
    text *t = glia__calloc(1, sizeof *t);
    if (!t) return glia__err(GLIA_ENOMEM, "training: out of memory");
    L->ts = t;
    glia_model *m = L->m;
    glia_status s;
    int K = 1, buckets = glia_model_wordhash(m, &K), V = buckets ? 0 : glia_model_vocab(m);
    t->N = L->batch;
    t->NT = t->N * L->shards;
    L->classes = atoi(glia_model_option(m, "classes"));
    if (!buckets && V < 2)
        return glia__err(GLIA_EINVAL, "a sequence model trained on text starts with an "
                         "[embedding] or [onehot] layer (its vocab sets the vocabulary) or a "
                         "[wordhash] layer");
    if ((s = glia_text_load(L->data, V, &t->d))) return s;
    const glia_text_data *d = t->d;
    t->lm = d->kind == GLIA_TEXT_CHARS;
    t->tags = d->kind == GLIA_TEXT_TAGS;
    if (buckets && t->lm)
        return glia__err(GLIA_EINVAL, "[wordhash] reads words as letter trigrams: it takes "
                         "sentences or tags (movie-reviews, pos-tags, sentences:FILE, tags:FILE), "
                         "not the characters of %s", L->data);
    if (t->tags && strcmp(glia_model_option(m, "loss"), "softmax_ce"))
        return glia__err(GLIA_EINVAL, "[net] loss = %s: tagging pads its batches, and only "
                         "softmax_ce ignores the padded steps", glia_model_option(m, "loss"));
    t->K = buckets ? K : 1;
    if (buckets) { /* each word's trigram buckets, once */
        if (!(t->trigrams = glia__malloc((size_t)d->vocab * (size_t)K * sizeof *t->trigrams)))
            return glia__err(GLIA_ENOMEM, "training: out of memory");
        for (int w = 0; w < d->vocab; w++)
            glia_word_trigrams(d->symbols[w], buckets, t->trigrams + (int64_t)w * K, K);
    }
    if (t->lm ? L->classes != V : L->classes != d->classes)
        return glia__err(GLIA_ESHAPE, "[net] classes = %d, but the data set %s has %d %s", L->classes,
                         L->data, t->lm ? V : d->classes, t->lm ? "symbols (the vocab: a "
                         "language model predicts the next one)" : "classes");
    /* the batch is the inputs' batch axis (dim 1 of the time-major x [T, N, K]) */
    L->g = glia_model_graph(m);
    if ((s = glia_graph_set_batch(L->g, t->N))) return s;
    L->x = glia_model_input(m);
    t->len = glia_model_lengths(m);
    L->out = glia_model_output(m);
    t->T = glia_model_sequence(m);
    glia_shape xs;
    glia_node_shape(L->g, L->x, &xs);
    if (xs.ndim != 3 || xs.dim[2] != t->K) {
        char a[96];
        return glia__err(GLIA_ESHAPE, "the model's input is %s; %s gives [T, N, %d] (%s)",
                         glia_shape_str(&xs, a, sizeof a), L->data, t->K,
                         buckets ? "[net] input = K, the trigrams per word of [wordhash]"
                                 : "[net] input = 1: a word or character id per step");
    }
    L->rows = t->lm || t->tags ? t->T * t->N : t->N;
    glia_shape ls;
    glia_node_shape(L->g, L->out, &ls);
    if (ls.ndim != 2 || ls.dim[0] != L->rows || ls.dim[1] != L->classes) {
        char a[96];
        return glia__err(GLIA_ESHAPE, "the model's output is %s; %s needs [%lld, %d] (%s)",
                         glia_shape_str(&ls, a, sizeof a), L->data, (long long)L->rows, L->classes,
                         t->lm || t->tags ? "a prediction at every step: end in [seqdense]"
                                          : "one per sequence: a recurrent layer with return = "
                                            "last, then [dense]");
    }
    if (t->lm) {
        t->lm_val_begin = t->lm_train_end = d->n_tokens - (int64_t)((double)L->val * (double)d->n_tokens);
        if (L->limit > 0 && L->limit < t->lm_train_end) t->lm_train_end = L->limit;
        L->batches = lm_batches(t, 0, t->lm_train_end);
        if (L->val > 0 && lm_batches(t, t->lm_val_begin, d->n_tokens) < 1)
            return glia__err(GLIA_EINVAL, "the validation part of %s is shorter than one batch of "
                             "%lld streams x %lld steps", L->data, (long long)t->NT, (long long)t->T);
    } else if ((s = split_sentences(L))) {
        return s;
    }
    if (L->batches < 1)
        return glia__err(GLIA_EINVAL, "%s: too little training data for one batch", L->data);
    return GLIA_OK;
}

/* vocab.txt: one symbol per line; characters C-escaped (\n, \t, \\, \xHH) so that every line
 * is one symbol; classes.txt for the classifiers and taggers */
static glia_status write_files(glia__loop *L) {
    text *t = L->ts;
    const glia_text_data *d = t->d;
    size_t cap = 64, n = 0;
    for (int i = 0; i < d->vocab; i++) cap += 4 * strlen(d->symbols[i]) + 2;
    char *b = glia__malloc(cap), path[1200];
    if (!b) return glia__err(GLIA_ENOMEM, "training: out of memory");
    for (int i = 0; i < d->vocab; i++) {
        for (const unsigned char *p = (const unsigned char *)d->symbols[i]; *p; p++) {
            if (*p == '\n') n += (size_t)sprintf(b + n, "\\n");
            else if (*p == '\t') n += (size_t)sprintf(b + n, "\\t");
            else if (*p == '\\') n += (size_t)sprintf(b + n, "\\\\");
            else if (*p < 32 || *p >= 127) n += (size_t)sprintf(b + n, "\\x%02x", *p);
            else b[n++] = (char)*p;
        }
        b[n++] = '\n';
    }
    snprintf(path, sizeof path, "%s/vocab.txt", L->out_dir);
    glia_status s = glia__write_atomic(path, b, n);
    free(b);
    if (!s && !t->lm) s = glia__write_lines(L, "classes.txt", (const char *const *)d->class_names, d->classes);
    return s;
}

static void task_free(void *ts) {
    text *t = ts;
    free(t->seqs);
    free(t->pstart);
    free(t->order);
    free(t->trigrams);
    glia_text_free(t->d);
}

/* the held-out part is the only one: it is also the result */
const glia__task_ops glia__task_text = {
    .name = "text", .unit = "tok", .extra_col = "val_bits_per_token", .rng_stream = 0x5e9, .setup = setup,
    .epoch_order = epoch_order, .fill = fill, .eval_batches = eval_batches, .carry = carry,
    .write_files = write_files, .free = task_free, .test_is_val = 1, .sharded = 1};
