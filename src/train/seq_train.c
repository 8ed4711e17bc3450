/* seq_train.c: the training loop for sequence models ([net] sequence = T > 0), which glia_train
 * calls for them. The task follows from the text data set (src/data/text.c):
 *
 *   chars      language model (many-to-many): the text's first 1 - val part is cut into N
 *              streams, one per batch row; batch b feeds characters [bT, bT + T) of every
 *              stream and the targets are the next characters. The recurrent state is carried
 *              from one batch to the next (truncated BPTT: gradients stop at the chunk's start)
 *              and reset at each epoch. Validation: the held-out end of the text the same way,
 *              reported in nats and in bits per character (nats / ln 2).
 *   sentences  classification (many-to-one): labels [N]; the model ends in [N, classes]
 *   tags       tagging (many-to-many): labels [T*N] in the order of time_flatten's rows
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
 * The model is rebuilt from its canonical text for the batch N (a sequence graph cannot change
 * its batch), trained, and its parameters copied back into the caller's model. After every epoch
 * the run directory gets (atomically) model.cfg, weights.safetensors, vocab.txt, classes.txt,
 * metrics.csv and curves.png. Gradients are clipped to the global norm --clip-norm or else
 * [net] clip_norm. */
#include "train/run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    /* settings (saved in the checkpoint) */
    char data[512], out_dir[1024];
    uint64_t seed;
    float val, clip;
    int64_t limit;
    int epochs;
    /* the model for batch N, its data and optimiser */
    glia_model *m;
    glia_text_data *own;
    glia_optim *opt;
    glia_lr_schedule sc;
    int64_t batches;
    int lm, tags;
    int64_t *order;              /* this epoch's order of the training sequences */
    /* position (saved in the checkpoint) */
    int epoch;                   /* epochs completed */
    int64_t next_batch, step, tokens;
    glia_rng rng, epoch_rng;
    glia__metrics tm;            /* this epoch's training sums so far */
    double seconds, epoch_seconds;
    char *metrics;
    glia_graph *g;
    const glia_text_data *d;
    int x, len, logits, label, loss;
    int64_t T, N;
    int C;
    int K;                       /* x is [T, N, K]: K = 1, word ids; else trigram buckets */
    int32_t *trigrams;           /* [vocab, K]: each word's buckets ([wordhash]), else NULL */
    /* sequences: held-out first, then training ones */
    int64_t *seqs, n_val, n_train;
    /* pieces (what a batch row holds): token start, length <= T, sentence */
    int64_t *pstart, *plen, *psent;
    /* chars: the training and validation token ranges */
    int64_t lm_train_end, lm_val_begin;
} seq_run;

/* fills batch rows from sequences ids[0..k) (k <= N; the rest padding rows); a word at step t
 * of row n is x[t, n, :], its id or its K trigram buckets */
static void fill_seqs(seq_run *r, const int64_t *ids, int64_t k) {
    float *x = glia_node_value(r->g, r->x), *len = glia_node_value(r->g, r->len),
          *lab = glia_node_value(r->g, r->label);
    const glia_text_data *d = r->d;
    const int64_t T = r->T, N = r->N, K = r->K;
    int tags = d->kind == GLIA_TEXT_TAGS;
    for (int64_t i = 0; i < T * N * K; i++) x[i] = r->trigrams ? -1 : 0;
    for (int64_t i = 0; i < (tags ? T * N : N); i++) lab[i] = -1;
    for (int64_t n = 0; n < N; n++) {
        if (n >= k) { len[n] = 1; continue; }
        int64_t a = r->pstart[ids[n]], L = r->plen[ids[n]];
        len[n] = (float)L;
        for (int64_t t = 0; t < L; t++) {
            int64_t w = d->tokens[a + t];
            for (int64_t j = 0; j < K; j++)
                x[(t * N + n) * K + j] = r->trigrams ? (float)r->trigrams[w * K + j] : (float)w;
            if (tags) lab[t * N + n] = (float)d->labels[a + t];
        }
        if (!tags) lab[n] = (float)d->labels[r->psent[ids[n]]];
    }
}

/* language model chunk b of streams over tokens [begin, end) */
static void fill_lm(seq_run *r, int64_t begin, int64_t end, int64_t b) {
    float *x = glia_node_value(r->g, r->x), *lab = glia_node_value(r->g, r->label);
    const int64_t T = r->T, N = r->N, L = (end - begin) / N;
    for (int64_t n = 0; n < N; n++)
        for (int64_t t = 0; t < T; t++) {
            int64_t at = begin + n * L + b * T + t;
            x[t * N + n] = (float)r->d->tokens[at];
            lab[t * N + n] = (float)r->d->tokens[at + 1];
        }
}
static int64_t lm_batches(const seq_run *r, int64_t begin, int64_t end) {
    return ((end - begin) / r->N - 1) / r->T; /* the target of a stream's last step stays inside */
}

static void count(seq_run *r, glia__metrics *mt) {
    glia_shape ls;
    glia_node_shape(r->g, r->label, &ls);
    glia__metrics_add(mt, glia_node_value(r->g, r->logits), glia_node_value(r->g, r->label),
                      ls.dim[0], r->C);
}

/* the held-out part: loss and accuracy (chars: over every predicted character) */
static glia_status evaluate(seq_run *r, glia__metrics *mt) {
    glia_status s;
    glia_graph_set_training(r->g, 0);
    if ((s = glia_model_carry_state(r->m, 1))) return s;
    if (r->d->kind == GLIA_TEXT_CHARS) {
        int64_t nb = lm_batches(r, r->lm_val_begin, r->d->n_tokens);
        for (int64_t b = 0; b < nb; b++) {
            fill_lm(r, r->lm_val_begin, r->d->n_tokens, b);
            if ((s = glia_graph_forward(r->g)) || (s = glia_model_carry_state(r->m, 0))) return s;
            count(r, mt);
        }
        return GLIA_OK;
    }
    for (int64_t i = 0; i < r->n_val; i += r->N) {
        int64_t k = r->n_val - i < r->N ? r->n_val - i : r->N;
        fill_seqs(r, r->seqs + i, k);
        if ((s = glia_graph_forward(r->g))) return s;
        count(r, mt);
    }
    return GLIA_OK;
}

static void shuffle(int64_t *a, int64_t n, glia_rng *rng) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)glia_rng_below(rng, (uint32_t)(i + 1)), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static glia_status write_file(const char *dir, const char *name, const char *text, size_t n) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return glia__write_atomic(path, text, n);
}

/* one symbol per line; characters C-escaped (\n, \t, \\, \xHH) so every line is one symbol */
static glia_status write_vocab(const char *dir, const glia_text_data *d) {
    size_t cap = 64, n = 0;
    for (int i = 0; i < d->vocab; i++) cap += 4 * strlen(d->symbols[i]) + 2;
    char *b = glia__malloc(cap);
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
    glia_status s = write_file(dir, "vocab.txt", b, n);
    free(b);
    return s;
}

static glia_status write_outputs(seq_run *r, const char *dir, const char *metrics, int epochs_done,
                                 int lm) {
    char *text = NULL, path[1200];
    glia_status s = glia_model_to_text(r->m, &text);
    if (s) return s;
    s = write_file(dir, "model.cfg", text, strlen(text));
    free(text);
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    if (s || (s = glia_safetensors_save(r->g, path)) || (s = write_vocab(dir, r->d)) ||
        (s = write_file(dir, "metrics.csv", metrics, strlen(metrics))))
        return s;
    if (!lm) {
        size_t len = 1;
        for (int c = 0; c < r->d->classes; c++) len += strlen(r->d->class_names[c]) + 1;
        char *t = glia__malloc(len);
        if (!t) return glia__err(GLIA_ENOMEM, "training: out of memory");
        size_t at = 0;
        for (int c = 0; c < r->d->classes; c++) at += (size_t)sprintf(t + at, "%s\n", r->d->class_names[c]);
        s = write_file(dir, "classes.txt", t, at);
        free(t);
        if (s) return s;
    }
    /* curves.png: loss (and bits per character) and accuracy per epoch */
    int n = epochs_done;
    double *v = glia__malloc((size_t)n * 5 * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "training: out of memory");
    const char *p = strchr(metrics, '\n');
    int k = 0;
    while (p && k < n) {
        double e, tl, ta, vl, va;
        if (sscanf(p + 1, "%lf,%lf,%lf,%lf,%lf", &e, &tl, &ta, &vl, &va) == 5) {
            v[k] = e, v[n + k] = tl, v[2 * n + k] = vl, v[3 * n + k] = 100 * ta, v[4 * n + k] = 100 * va;
            k++;
        }
        p = strchr(p + 1, '\n');
    }
    snprintf(path, sizeof path, "%s/curves.png", dir);
    const char *yl[2] = {"loss (nats per token)", "accuracy %"};
    glia_plot_series se[4] = {{"train loss", v + n, 0}, {"val loss", v + 2 * n, 0},
                              {"train acc", v + 3 * n, 1}, {"val acc", v + 4 * n, 1}};
    s = k ? glia_plot_curves(path, "training curves (sequence model)", "epoch", v, k, 2, yl, se, 4)
          : GLIA_OK;
    free(v);
    return s;
}

/* copies every parameter of `from` into the parameter of the same name in `to` */
static void copy_params(glia_graph *to, glia_graph *from) {
    for (int i = 0; i < glia_graph_num_nodes(from); i++) {
        if (!glia_node_is_param(from, i)) continue;
        int j;
        glia_shape s;
        if (glia_graph_find(to, glia_node_name(from, i), &j) || glia_node_shape(from, i, &s)) continue;
        memcpy(glia_node_value(to, j), glia_node_value(from, i),
               (size_t)glia_shape_numel(&s) * sizeof(float));
    }
}

static glia_status setup_optim(glia_model *m, float clip, int64_t batches, int epochs,
                               glia_graph *g, glia_optim **opt, glia_lr_schedule *sc) {
    const char *on = glia_model_option(m, "optimizer");
    glia_optim_config oc = {0};
    oc.kind = !strcmp(on, "sgd") || !strcmp(on, "nesterov") ? GLIA_SGD : !strcmp(on, "rmsprop") ? GLIA_RMSPROP
            : !strcmp(on, "adam") ? GLIA_ADAM : !strcmp(on, "adamw") ? GLIA_ADAMW : (glia_optim_kind)-1;
    if ((int)oc.kind < 0)
        return glia__err(GLIA_EINVAL, "[net] optimizer = %s: expected sgd, nesterov, rmsprop, adam "
                         "or adamw", on);
    oc.nesterov = !strcmp(on, "nesterov");
    oc.lr = strtof(glia_model_option(m, "lr"), NULL);
    oc.momentum = oc.kind == GLIA_SGD ? strtof(glia_model_option(m, "momentum"), NULL) : 0;
    oc.weight_decay = strtof(glia_model_option(m, "weight_decay"), NULL);
    oc.clip_norm = clip;
    if (!(oc.lr > 0)) return glia__err(GLIA_EINVAL, "[net] lr = %g: must be > 0", (double)oc.lr);
    const char *sn = glia_model_option(m, "schedule");
    sc->kind = !strcmp(sn, "constant") ? GLIA_LR_CONSTANT : !strcmp(sn, "step") ? GLIA_LR_STEP
             : !strcmp(sn, "exp") ? GLIA_LR_EXP : !strcmp(sn, "cosine") ? GLIA_LR_COSINE : (glia_lr_kind)-1;
    if ((int)sc->kind < 0)
        return glia__err(GLIA_EINVAL, "[net] schedule = %s: expected constant, step, exp or cosine", sn);
    sc->base_lr = oc.lr;
    sc->gamma = strtof(glia_model_option(m, "gamma"), NULL);
    sc->step_size = strtoll(glia_model_option(m, "step_size"), NULL, 10) * batches;
    if (sc->kind == GLIA_LR_EXP) sc->gamma = powf(sc->gamma, 1.0f / (float)batches);
    sc->warmup_steps = strtoll(glia_model_option(m, "warmup"), NULL, 10);
    sc->total_steps = (int64_t)epochs * batches - sc->warmup_steps;
    if (sc->total_steps < 1) sc->total_steps = 1;
    if (sc->step_size < 1) sc->step_size = 1;
    return glia_optim_new(g, &oc, opt);
}

static void run_free(seq_run *r) {
    free(r->metrics);
    free(r->seqs);
    free(r->pstart);
    free(r->order);
    free(r->trigrams);
    glia_optim_free(r->opt);
    glia_model_free(r->m);
    glia_text_free(r->own);
}

/* data, the model for batch N (from the user's model: its text and parameters), loss, splits,
 * optimiser and schedule: everything but the position */
static glia_status run_setup(seq_run *r, glia_model *user) {
    glia_status s;
    int K = 1, buckets = glia_model_wordhash(user, &K), V = buckets ? 0 : glia_model_vocab(user);
    r->N = atoll(glia_model_option(user, "batch"));
    r->C = atoi(glia_model_option(user, "classes"));
    if (!buckets && V < 2)
        return glia__err(GLIA_EINVAL, "a sequence model trained on text starts with an "
                         "[embedding] or [onehot] layer (its vocab sets the vocabulary) or a "
                         "[wordhash] layer");
    if (r->epochs < 1 || r->N < 1)
        return glia__err(GLIA_EINVAL, "training needs epochs >= 1 and batch >= 1");
    if (!(r->val >= 0 && r->val < 1))
        return glia__err(GLIA_EINVAL, "val = %g is not in [0, 1)", (double)r->val);
    if ((s = glia__make_dir(r->out_dir)) || (s = glia_text_load(r->data, V, &r->own))) return s;
    const glia_text_data *d = r->d = r->own;
    r->lm = d->kind == GLIA_TEXT_CHARS;
    r->tags = d->kind == GLIA_TEXT_TAGS;
    if (buckets && r->lm)
        return glia__err(GLIA_EINVAL, "[wordhash] reads words as letter trigrams: it takes "
                         "sentences or tags (movie-reviews, pos-tags, sentences:FILE, tags:FILE), "
                         "not the characters of %s", r->data);
    r->K = buckets ? K : 1;
    if (buckets) { /* each word's trigram buckets, once */
        if (!(r->trigrams = glia__malloc((size_t)d->vocab * (size_t)K * sizeof *r->trigrams)))
            return glia__err(GLIA_ENOMEM, "training: out of memory");
        for (int w = 0; w < d->vocab; w++)
            glia_word_trigrams(d->symbols[w], buckets, r->trigrams + (int64_t)w * K, K);
    }
    if (r->lm ? r->C != V : r->C != d->classes)
        return glia__err(GLIA_ESHAPE, "[net] classes = %d, but the data set %s has %d %s", r->C,
                         r->data, r->lm ? V : d->classes, r->lm ? "symbols (the vocab: a "
                         "language model predicts the next one)" : "classes");
    char *text;
    if ((s = glia_model_to_text(user, &text))) return s;
    s = glia_model_parse(text, "model", r->N, r->seed, &r->m);
    free(text);
    if (s) return s;
    copy_params(glia_model_graph(r->m), glia_model_graph(user));
    r->g = glia_model_graph(r->m);
    r->x = glia_model_input(r->m);
    r->len = glia_model_lengths(r->m);
    r->logits = glia_model_output(r->m);
    r->T = glia_model_sequence(r->m);
    glia_shape xs, ls;
    glia_node_shape(r->g, r->x, &xs);
    if (xs.ndim != 3 || xs.dim[2] != r->K) {
        char a[96];
        return glia__err(GLIA_ESHAPE, "the model's input is %s; %s gives [T, N, %d] (%s)",
                         glia_shape_str(&xs, a, sizeof a), r->data, r->K,
                         buckets ? "[net] input = K, the trigrams per word of [wordhash]"
                                 : "[net] input = 1: a word or character id per step");
    }
    glia_node_shape(r->g, r->logits, &ls);
    int64_t rows = r->lm || r->tags ? r->T * r->N : r->N;
    if (ls.ndim != 2 || ls.dim[0] != rows || ls.dim[1] != r->C) {
        char a[96];
        return glia__err(GLIA_ESHAPE, "the model's output is %s; %s needs [%lld, %d] (%s)",
                         glia_shape_str(&ls, a, sizeof a), r->data, (long long)rows, r->C,
                         r->lm || r->tags ? "a prediction at every step: end in [seqdense]"
                                          : "one per sequence: a recurrent layer with return = "
                                            "last, then [dense]");
    }
    if ((s = glia_input(r->g, "label", 1, &rows, &r->label)) ||
        (s = glia_softmax_cross_entropy(r->g, "loss", r->logits, r->label, &r->loss)) ||
        (s = glia_graph_compile(r->g, GLIA_COMPILE_BACKWARD)))
        return s;
    if (r->lm) {
        r->lm_val_begin = r->lm_train_end = d->n_tokens - (int64_t)((double)r->val * (double)d->n_tokens);
        if (r->limit > 0 && r->limit < r->lm_train_end) r->lm_train_end = r->limit;
        r->batches = lm_batches(r, 0, r->lm_train_end);
        if (r->val > 0 && lm_batches(r, r->lm_val_begin, d->n_tokens) < 1)
            return glia__err(GLIA_EINVAL, "the validation part of %s is shorter than one batch of "
                             "%lld streams x %lld steps", r->data, (long long)r->N, (long long)r->T);
    } else { /* a fixed draw from the seed: held-out sentences first */
        int64_t *sent = glia__malloc((size_t)d->n_seq * sizeof *sent), np = 0, nvs;
        if (!sent) return glia__err(GLIA_ENOMEM, "training: out of memory");
        for (int64_t i = 0; i < d->n_seq; i++) sent[i] = i;
        glia_rng sr;
        glia_rng_seed(&sr, r->seed, 0x5b117);
        shuffle(sent, d->n_seq, &sr);
        nvs = (int64_t)((double)r->val * (double)d->n_seq);
        /* tagging splits a sentence longer than T into pieces of at most T words (no word goes
         * untagged); classification reads its first T words */
        for (int64_t i = 0; i < d->n_seq; i++) {
            int64_t L = d->offset[i + 1] - d->offset[i];
            np += r->tags ? (L + r->T - 1) / r->T : 1;
        }
        r->pstart = glia__malloc((size_t)np * 3 * sizeof *r->pstart);
        r->seqs = glia__malloc((size_t)np * sizeof *r->seqs);
        r->order = glia__malloc((size_t)np * sizeof *r->order);
        if (!r->pstart || !r->seqs || !r->order) {
            free(sent);
            return glia__err(GLIA_ENOMEM, "training: out of memory");
        }
        r->plen = r->pstart + np;
        r->psent = r->plen + np;
        int64_t k = 0;
        for (int64_t i = 0; i < d->n_seq; i++) {
            if (i == nvs) r->n_val = k;
            int64_t a = d->offset[sent[i]], L = d->offset[sent[i] + 1] - a;
            for (int64_t p = 0; p < L && (p == 0 || r->tags); p += r->T, k++) {
                r->pstart[k] = a + p;
                r->plen[k] = L - p < r->T ? L - p : r->T;
                r->psent[k] = sent[i];
                r->seqs[k] = k;
            }
        }
        if (nvs >= d->n_seq) r->n_val = k;
        free(sent);
        r->n_train = np - r->n_val;
        if (r->limit > 0 && r->limit < r->n_train) r->n_train = r->limit;
        r->batches = r->n_train / r->N;
    }
    if (r->batches < 1)
        return glia__err(GLIA_EINVAL, "%s: too little training data for one batch", r->data);
    return setup_optim(r->m, r->clip, r->batches, r->epochs, r->g, &r->opt, &r->sc);
}

/* ---------------------------------------------------------------- checkpoints
 * checkpoint.safetensors: every parameter, the optimiser state ("optimizer.<param>.<slot>"), the
 * carried recurrent states (the h0/c0 inputs: a language model continues its streams), and in
 * the metadata (format glia-seq-checkpoint-1) the model text, the settings and the position. */
static int carried(const glia_node *n) {
    return n->kind == NODE_INPUT && (strstr(n->name, ".h0_l") || strstr(n->name, ".c0_l"));
}

/* parameters, buffers and the carried states */
static int ck_keep(const glia_node *n) {
    return n->kind == NODE_PARAM || n->kind == NODE_BUFFER || carried(n);
}


#define CK_META 18
static const char *const ck_keys[CK_META] = {
    "seed", "val", "clip_norm", "limit", "epochs", "epoch", "next_batch", "step", "optim_steps",
    "rng", "epoch_rng", "graph_rng", "train_loss_sum", "train_correct", "train_n", "tokens",
    "seconds", "epoch_seconds"};

static glia_status ck_save(seq_run *r, glia_model *user) {
    char *model = NULL, path[1200], v[CK_META][48];
    glia_status s = glia_model_to_text(user, &model);
    if (s) return s;
    snprintf(v[0], 48, "%llu", (unsigned long long)r->seed);
    snprintf(v[1], 48, "%.9g", (double)r->val);
    snprintf(v[2], 48, "%.9g", (double)r->clip);
    snprintf(v[3], 48, "%lld", (long long)r->limit);
    snprintf(v[4], 48, "%d", r->epochs);
    snprintf(v[5], 48, "%d", r->epoch);
    snprintf(v[6], 48, "%lld", (long long)r->next_batch);
    snprintf(v[7], 48, "%lld", (long long)r->step);
    snprintf(v[8], 48, "%lld", (long long)glia_optim_steps(r->opt));
    glia__rng_hex(&r->rng, v[9], 48);
    glia__rng_hex(&r->epoch_rng, v[10], 48);
    glia__rng_hex(glia_graph_rng(r->g), v[11], 48);
    snprintf(v[12], 48, "%.17g", r->tm.loss);
    snprintf(v[13], 48, "%lld", (long long)r->tm.correct);
    snprintf(v[14], 48, "%lld", (long long)r->tm.n);
    snprintf(v[15], 48, "%lld", (long long)r->tokens);
    snprintf(v[16], 48, "%.17g", r->seconds);
    snprintf(v[17], 48, "%.17g", r->epoch_seconds);
    const char *meta[2 * (CK_META + 4)] = {"format", "glia-seq-checkpoint-1", "model", model,
                                           "data", r->data, "metrics", r->metrics};
    for (int i = 0; i < CK_META; i++) meta[8 + 2 * i] = ck_keys[i], meta[9 + 2 * i] = v[i];
    glia_st_entry *e;
    int n;
    char **nm;
    if (!(s = glia__ckpt_entries(r->g, r->opt, ck_keep, &e, &n, &nm))) {
        snprintf(path, sizeof path, "%s/checkpoint.safetensors", r->out_dir);
        s = glia_safetensors_write(path, e, n, meta, CK_META + 4);
        free(e);
        glia__ckpt_names_free(nm, r->opt);
    }
    free(model);
    return s;
}

static glia_status ck_restore(seq_run *r, const char *path, const glia_st_meta *meta) {
    glia_st_entry *e;
    int n;
    char **nm;
    glia_status s = glia__ckpt_entries(r->g, r->opt, ck_keep, &e, &n, &nm);
    if (s) return s;
    s = glia_safetensors_read(path, e, n, NULL);
    free(e);
    glia__ckpt_names_free(nm, r->opt);
    if (s) return s;
    const char *v[CK_META], *mt = glia_st_meta_get(meta, "metrics");
    for (int i = 0; i < CK_META; i++)
        if (!(v[i] = glia_st_meta_get(meta, ck_keys[i])))
            return glia__err(GLIA_EIO, "%s: the checkpoint's metadata has no '%s'", path, ck_keys[i]);
    r->epoch = atoi(v[5]);
    r->next_batch = strtoll(v[6], NULL, 10);
    r->step = strtoll(v[7], NULL, 10);
    glia_optim_set_steps(r->opt, strtoll(v[8], NULL, 10));
    int ok = glia__rng_parse(v[9], &r->rng) && glia__rng_parse(v[10], &r->epoch_rng) &&
             glia__rng_parse(v[11], glia_graph_rng(r->g)) && mt;
    r->tm.loss = strtod(v[12], NULL);
    r->tm.correct = strtoll(v[13], NULL, 10);
    r->tm.n = strtoll(v[14], NULL, 10);
    r->tokens = strtoll(v[15], NULL, 10);
    r->seconds = strtod(v[16], NULL);
    r->epoch_seconds = strtod(v[17], NULL);
    if (!ok || r->epoch < 0 || r->next_batch < 0 || r->next_batch >= r->batches || r->step < 0)
        return glia__err(GLIA_EIO, "%s: the checkpoint's position or generator states are "
                         "malformed (epoch %d, next batch %lld of %lld)", path, r->epoch,
                         (long long)r->next_batch, (long long)r->batches);
    free(r->metrics);
    if (!(r->metrics = glia__malloc(strlen(mt) + 1))) return glia__err(GLIA_ENOMEM, "out of memory");
    strcpy(r->metrics, mt);
    return GLIA_OK;
}

/* ---------------------------------------------------------------- the loop */
static glia_status run_loop(seq_run *r, glia_model *user, const glia_train_options *o,
                            glia_train_result *out) {
    glia_status s;
    glia__metrics vm = {0};
    double t_all = now();
    glia_graph_set_check_numerics(r->g, o->check_numerics);
    while (r->epoch < r->epochs) {
        if (r->next_batch == 0) { /* a new epoch: its order, fresh sums and state */
            r->epoch_rng = r->rng;
            memset(&r->tm, 0, sizeof r->tm);
            r->tokens = 0;
            r->epoch_seconds = 0;
            if ((s = glia_model_carry_state(r->m, 1))) return s;
        }
        if (!r->lm) { /* this epoch's shuffle, drawn from the generator's state at its start */
            glia_rng t = r->epoch_rng;
            memcpy(r->order, r->seqs + r->n_val, (size_t)r->n_train * sizeof *r->order);
            shuffle(r->order, r->n_train, &t);
            if (r->next_batch == 0) r->rng = t;
        }
        glia_graph_set_training(r->g, 1);
        double t0 = now(), sec0 = r->epoch_seconds;
        float lr = glia_lr_at(&r->sc, r->step);
        for (int64_t b = r->next_batch; b < r->batches; b++) {
            lr = glia_lr_at(&r->sc, r->step);
            glia_optim_set_lr(r->opt, lr);
            if (r->lm) fill_lm(r, 0, r->lm_train_end, b);
            else fill_seqs(r, r->order + b * r->N, r->N);
            float l;
            if ((s = glia__train_forward(r->g, r->loss, &l, r->epoch, b, r->step)) ||
                (s = glia_graph_backward(r->g, r->loss, NULL, 0)) || (s = glia_optim_step(r->opt)))
                return s;
            if (r->lm && (s = glia_model_carry_state(r->m, 0))) return s;
            count(r, &r->tm);
            const float *len = glia_node_value(r->g, r->len);
            for (int64_t n = 0; n < r->N; n++) r->tokens += (int64_t)len[n];
            r->step++;
            r->next_batch = b + 1;
            r->epoch_seconds = sec0 + (now() - t0);
            if (o->progress) {
                glia_train_progress p = {0};
                p.epoch = r->epoch + 1;
                p.epochs = r->epochs;
                p.batch = b + 1;
                p.batches = r->batches;
                p.loss = r->tm.loss / (double)(r->tm.n ? r->tm.n : 1);
                p.acc = (double)r->tm.correct / (double)(r->tm.n ? r->tm.n : 1);
                p.images_per_s = (double)r->tokens / (r->epoch_seconds > 0 ? r->epoch_seconds : 1e-9);
                p.eta_s = r->epoch_seconds / (double)(b + 1) * (double)(r->batches - b - 1);
                p.lr = lr;
                p.seconds = r->seconds + r->epoch_seconds;
                p.tokens = 1;
                o->progress(o->ctx, &p);
            }
            if (o->stop && *o->stop && b + 1 < r->batches) {
                if ((s = ck_save(r, user))) return s;
                return glia__err(GLIA_EINTR, "stopped at epoch %d, batch %lld; checkpoint saved "
                                 "in %s", r->epoch + 1, (long long)b + 1, r->out_dir);
            }
        }
        /* the epoch is done: validation, files, checkpoint */
        r->seconds += r->epoch_seconds;
        memset(&vm, 0, sizeof vm);
        if ((r->lm ? r->val > 0 : r->n_val > 0) && (s = evaluate(r, &vm))) return s;
        r->epoch++;
        r->next_batch = 0;
        double tl = r->tm.loss / (double)r->tm.n, ta = (double)r->tm.correct / (double)r->tm.n;
        double vl = vm.n ? vm.loss / (double)vm.n : NAN, va = vm.n ? (double)vm.correct / (double)vm.n : NAN;
        char line[256];
        int ln = snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f\n", r->epoch,
                          tl, ta, vl, va, vl / log(2.0), (double)lr, r->seconds);
        char *nm = glia__realloc(r->metrics, strlen(r->metrics) + (size_t)ln + 1);
        if (!nm) return glia__err(GLIA_ENOMEM, "training: out of memory");
        r->metrics = nm;
        strcat(r->metrics, line);
        copy_params(glia_model_graph(user), r->g);
        if ((s = write_outputs(r, r->out_dir, r->metrics, r->epoch, r->lm)) || (s = ck_save(r, user)))
            return s;
        if (o->progress) {
            glia_train_progress p = {0};
            p.epoch = r->epoch;
            p.epochs = r->epochs;
            p.batch = p.batches = r->batches;
            p.loss = tl;
            p.acc = ta;
            p.seconds = r->seconds;
            p.images_per_s = (double)r->tokens / (r->epoch_seconds > 0 ? r->epoch_seconds : 1e-9);
            p.lr = lr;
            p.epoch_done = 1;
            p.val_loss = vl;
            p.val_acc = va;
            p.val_top5 = NAN;
            p.val_bpc = r->lm ? vl / log(2.0) : NAN;
            p.tokens = 1;
            o->progress(o->ctx, &p);
        }
        out->epochs_done = r->epoch;
        if (o->stop && *o->stop && r->epoch < r->epochs)
            return glia__err(GLIA_EINTR, "stopped after epoch %d; checkpoint saved in %s",
                             r->epoch, r->out_dir);
    }
    out->epochs_done = r->epoch;
    out->train_seconds = now() - t_all;
    if (!vm.n && (r->lm ? r->val > 0 : r->n_val > 0) && (s = evaluate(r, &vm))) return s;
    out->test.loss = vm.n ? vm.loss / (double)vm.n : NAN;
    out->test.acc = vm.n ? (double)vm.correct / (double)vm.n : NAN;
    out->test.top5 = NAN;
    out->test.n = vm.n;
    out->test.classes = r->C;
    return GLIA_OK;
}

glia_status glia__train_seq(glia_model *user, const glia_train_options *o, glia_train_result *out) {
    if (o->train_set || !o->data)
        return glia__err(GLIA_EINVAL, "a sequence model trains on a text data set (--data "
                         "moby-dick, movie-reviews, pos-tags, chars:FILE, ...), not images");
    seq_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.data, sizeof r.data, "%s", o->data);
    snprintf(r.out_dir, sizeof r.out_dir, "%s", o->out_dir);
    r.seed = o->seed;
    r.val = o->val;
    r.clip = o->clip_norm > 0 ? o->clip_norm : strtof(glia_model_option(user, "clip_norm"), NULL);
    r.limit = o->limit;
    r.epochs = atoi(glia_model_option(user, "epochs"));
    const char *hdr = "epoch,train_loss,train_acc,val_loss,val_acc,val_bits_per_token,lr,seconds\n";
    glia_status s = run_setup(&r, user);
    if (!s && !(r.metrics = glia__malloc(strlen(hdr) + 1))) s = glia__err(GLIA_ENOMEM, "out of memory");
    if (!s) {
        strcpy(r.metrics, hdr);
        glia_rng_seed(&r.rng, r.seed, 0x5e9);
        glia_rng_seed(glia_graph_rng(r.g), r.seed, 0xd209);
        s = run_loop(&r, user, o, out);
    }
    run_free(&r);
    return s;
}

glia_status glia__train_seq_resume(const char *path, const glia_st_meta *meta, int epochs,
                                   const glia_train_options *o, glia_model **model,
                                   glia_train_result *out) {
    const char *k[] = {"model", "data", "seed", "val", "clip_norm", "limit", "epochs"};
    const char *v[7];
    for (int i = 0; i < 7; i++)
        if (!(v[i] = glia_st_meta_get(meta, k[i])))
            return glia__err(GLIA_EIO, "%s: the checkpoint's metadata has no '%s'", path, k[i]);
    seq_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.data, sizeof r.data, "%s", v[1]);
    snprintf(r.out_dir, sizeof r.out_dir, "%s", o->out_dir);
    r.seed = strtoull(v[2], NULL, 10);
    r.val = strtof(v[3], NULL);
    r.clip = strtof(v[4], NULL);
    r.limit = strtoll(v[5], NULL, 10);
    r.epochs = epochs > 0 ? epochs : atoi(v[6]);
    char e[32];
    snprintf(e, sizeof e, "%d", r.epochs);
    glia_status s = glia_model_parse(v[0], path, 1, r.seed, model);
    if (!s && !(s = glia_model_set_option(*model, "epochs", e)) && !(s = run_setup(&r, *model)) &&
        !(s = ck_restore(&r, path, meta)))
        s = run_loop(&r, *model, o, out);
    run_free(&r);
    return s;
}
