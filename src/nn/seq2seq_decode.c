/* seq2seq_decode.c: decoding an encoder-decoder model (seq2seq_layers.c): greedy and beam
 * search.
 *
 * Each step gives p(y_t | y_<t, x) for the rows of a batch (several beams or sequences at once):
 * incrementally (seq2seq_step.c: the encoder once, then one decoder step per forward from the
 * carried state, O(T2) steps per sequence), or, with glia_seq2seq_set_incremental(m, 0), by
 * running the model's whole-target graph on the prefix decoded so far: target = [<s>, y_1, ...,
 * y_{t-1}, pad...], the row of step t (O(T2^2) decoder steps; the decoder is causal, so both
 * give the same: the tests check it).
 *
 * Beam search (glia_beam_search) keeps the `beam` best prefixes by their summed log-probability;
 * a prefix that emits </s> is finished (the `beam` best finished are kept); the search stops
 * when `beam` are finished and the best live prefix scores no better than the best finished
 * one, when none is live, or after max_len steps (with none finished, the best live prefix is
 * the result). The result is the
 * finished sequence with the best log p / len^alpha (Wu et al. 2016's length normalisation in
 * its simple form; alpha = 0: the plain sum; len counts </s>). With beam = 1 this is greedy
 * decoding: one prefix, extended by its most probable token until </s>.
 *
 * An ensemble of models (glia_seq2seq_decode_ensemble, glia_seq2seq_greedy_ensemble;
 * glia__ensemble_step) decodes with the
 * mean of their next-token distributions at every step, as fairseq's and OpenNMT's ensembles:
 *   log p(v | y_<t, x) = log (1/K sum_k p_k(v | y_<t, x))     (a log-sum-exp over the models)
 * each model carrying its own decoder state. */
#include "model_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int *tok;    /* [max_len] */
    int len;     /* tokens, </s> included when finished */
    double logp;
    int row;     /* live: its parent's place among the step before's live prefixes */
} hyp;

typedef struct {
    int row, token;
    double score;
} cand;

static int cand_cmp(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    if (x->row != y->row) return x->row - y->row; /* a fixed order on ties */
    return x->token - y->token;
}

static double norm_score(const hyp *h, float alpha) {
    return alpha == 0 ? h->logp : h->logp / pow((double)(h->len > 0 ? h->len : 1), alpha);
}

/* one source's search: its live prefixes, best first, and the `beam` best finished ones */
typedef struct {
    int K, vocab, eos, max_len;
    float alpha;
    hyp *live, *next, *fin; /* [K] each */
    int n_live, n_fin;
    int *tokbuf;            /* [3 K max_len]: the hyps' tokens */
    cand *c;                /* [K vocab] */
} beam_state;

static void beam_reset(beam_state *b) {
    b->n_live = 1, b->n_fin = 0;
    b->live[0].len = 0, b->live[0].logp = 0, b->live[0].row = 0;
}

static void beam_close(beam_state *b) {
    free(b->live), free(b->fin), free(b->tokbuf), free(b->c);
    memset(b, 0, sizeof *b);
}

static glia_status beam_open(beam_state *b, int vocab, int eos, int K, float alpha, int max_len) {
    *b = (beam_state){K, vocab, eos, max_len, alpha, NULL, NULL, NULL, 0, 0, NULL, NULL};
    b->live = glia__calloc((size_t)K * 2, sizeof *b->live);
    b->fin = glia__calloc((size_t)K, sizeof *b->fin);
    b->tokbuf = glia__malloc((size_t)K * 3 * max_len * sizeof *b->tokbuf);
    b->c = glia__malloc((size_t)K * vocab * sizeof *b->c);
    if (!b->live || !b->fin || !b->tokbuf || !b->c) {
        beam_close(b);
        return glia__err(GLIA_ENOMEM, "beam search: out of memory");
    }
    b->next = b->live + K;
    for (int i = 0; i < K; i++) {
        b->live[i].tok = b->tokbuf + (size_t)i * max_len;
        b->next[i].tok = b->tokbuf + (size_t)(K + i) * max_len;
        b->fin[i].tok = b->tokbuf + (size_t)(2 * K + i) * max_len;
    }
    beam_reset(b);
    return GLIA_OK;
}

/* 1 when the search ends before step t: nothing live, max_len reached, or `beam` finished and
 * none live can overtake the best of them (exact for alpha = 0, where a prefix's log p only
 * falls as it grows) */
static int beam_over(const beam_state *b, int t) {
    if (b->n_live == 0 || t >= b->max_len) return 1;
    if (b->n_fin < b->K) return 0;
    double bf = -INFINITY;
    for (int i = 0; i < b->n_fin; i++) bf = fmax(bf, norm_score(&b->fin[i], b->alpha));
    return norm_score(&b->live[0], b->alpha) <= bf;
}

/* step t: extends the live prefixes by logp [n_live, vocab], keeping the K best live ones and
 * the K best finished ones (each live one notes its parent's row) */
static void beam_advance(beam_state *b, int t, const float *logp) {
    const int K = b->K, V = b->vocab;
    int nc = 0;
    for (int i = 0; i < b->n_live; i++)
        for (int v = 0; v < V; v++) {
            double lp = logp[(size_t)i * V + v];
            if (lp == -INFINITY || isnan(lp)) continue;
            b->c[nc++] = (cand){i, v, b->live[i].logp + lp};
        }
    qsort(b->c, (size_t)nc, sizeof *b->c, cand_cmp);
    int n_next = 0;
    for (int j = 0; j < nc && n_next < K; j++) {
        const cand *c = &b->c[j];
        const hyp *from = &b->live[c->row];
        hyp *h;
        if (c->token == b->eos) { /* finished: kept among the K best finished */
            hyp cand_h = {NULL, t + 1, c->score, 0};
            int worst = 0;
            for (int i = 1; i < b->n_fin; i++)
                if (norm_score(&b->fin[i], b->alpha) < norm_score(&b->fin[worst], b->alpha)) worst = i;
            if (b->n_fin < K) h = &b->fin[b->n_fin++];
            else if (norm_score(&cand_h, b->alpha) > norm_score(&b->fin[worst], b->alpha)) h = &b->fin[worst];
            else continue;
        } else {
            h = &b->next[n_next++];
        }
        memcpy(h->tok, from->tok, (size_t)t * sizeof *h->tok);
        h->tok[t] = c->token;
        h->len = t + 1;
        h->logp = c->score;
        h->row = c->row;
    }
    for (int i = 0; i < n_next; i++) { /* swap the buffers */
        hyp tmp = b->live[i];
        b->live[i] = b->next[i];
        b->next[i] = tmp;
    }
    b->n_live = n_next;
}

/* the finished sequence with the best normalised score (none finished: the best live one) */
static void beam_result(beam_state *b, int *out, int *out_len, float *out_score) {
    if (b->n_fin == 0 && b->n_live > 0) {
        hyp tmp = b->fin[0];
        b->fin[0] = b->live[0];
        b->live[0] = tmp;
        b->n_fin = 1;
    }
    int best = 0;
    for (int i = 1; i < b->n_fin; i++)
        if (norm_score(&b->fin[i], b->alpha) > norm_score(&b->fin[best], b->alpha)) best = i;
    const hyp *h = &b->fin[best];
    int L = b->n_fin == 0 ? 0 : h->len > 0 && h->tok[h->len - 1] == b->eos ? h->len - 1 : h->len;
    if (L) memcpy(out, h->tok, (size_t)L * sizeof *out);
    *out_len = L;
    if (out_score) *out_score = b->n_fin ? (float)h->logp : -INFINITY;
}

glia_status glia_beam_search(glia_beam_step_fn step, void *ctx, int vocab, int eos, int beam,
                             float alpha, int max_len, int *out, int *out_len, float *out_score) {
    if (!step || !out || !out_len || vocab < 2 || eos < 0 || eos >= vocab || beam < 1 || max_len < 1 ||
        !(alpha >= 0))
        return glia__err(GLIA_EINVAL, "glia_beam_search: bad arguments (vocab %d, eos %d, beam %d, "
                         "max_len %d, alpha %g)", vocab, eos, beam, max_len, (double)alpha);
    beam_state b;
    glia_status s = beam_open(&b, vocab, eos, beam, alpha, max_len);
    if (s) return s;
    int *prefix = glia__malloc((size_t)beam * max_len * sizeof *prefix);
    float *logp = glia__malloc((size_t)beam * vocab * sizeof *logp);
    if (!prefix || !logp) s = glia__err(GLIA_ENOMEM, "glia_beam_search: out of memory");
    for (int t = 0; !s && !beam_over(&b, t); t++) {
        for (int i = 0; i < b.n_live; i++)
            memcpy(prefix + (size_t)i * max_len, b.live[i].tok, (size_t)t * sizeof *prefix);
        if (!(s = step(ctx, t, b.n_live, prefix, max_len, logp))) beam_advance(&b, t, logp);
    }
    if (!s) beam_result(&b, out, out_len, out_score);
    free(prefix);
    free(logp);
    beam_close(&b);
    return s;
}

/* ---------------------------------------------------------------- ensembles */

/* the mean of K models' distributions, work [K][nv] log p's, into logp [nv]:
 * log (1/K sum_k e^{l_k}) = m + log sum_k e^{l_k - m} - log K, m = max_k l_k */
static void mean_logp(const float *work, int K, size_t nv, float *logp) {
    const double logk = log((double)K);
    for (size_t i = 0; i < nv; i++) {
        double m = -INFINITY, sum = 0;
        for (int k = 0; k < K; k++) m = fmax(m, (double)work[(size_t)k * nv + i]);
        if (m == -INFINITY) {
            logp[i] = -INFINITY;
            continue;
        }
        for (int k = 0; k < K; k++) sum += exp((double)work[(size_t)k * nv + i] - m);
        logp[i] = (float)(m + log(sum) - logk);
    }
}

glia_status glia__ensemble_step(void *ctx, int t, int n, const int *prefix, int ldp, float *logp) {
    glia__ensemble *e = ctx;
    const size_t nv = (size_t)n * e->vocab;
    for (int k = 0; k < e->n; k++) {
        glia_status s = e->step[k](e->ctx[k], t, n, prefix, ldp, e->work + (size_t)k * nv);
        if (s) return s;
    }
    mean_logp(e->work, e->n, nv, logp);
    return GLIA_OK;
}

/* ---------------------------------------------------------------- on a model */



/* fills the batch's rows: row r reads source r (source 0 from n_src on) and target
 * <s> + prefix r (steps 1..t, for rows r < n) */
static glia_status put_inputs(glia_model *m, int rows, int T2, int n_src, const int *const *srcs,
                              const int *src_lens, int n, const int *prefix, int ldp, int t) {
    glia_graph *g = m->g;
    float *x = glia_node_value(g, m->input), *len = glia_node_value(g, m->lengths);
    float *y = glia_node_value(g, m->target), *ylen = glia_node_value(g, m->target_lengths);
    if (!x || !len || !y || !ylen)
        return glia__err(GLIA_EINVAL, "decoding runs on a device with host memory (the cpu)");
    const int S = (int)m->seq_T;
    for (int r = 0; r < rows; r++) {
        const int k = r < n_src ? r : 0, L = src_lens[k];
        for (int s = 0; s < S; s++) x[(size_t)s * rows + r] = s < L ? (float)srcs[k][s] : 0.0f;
        len[r] = (float)L;
        for (int i = 0; i < T2; i++)
            y[(size_t)i * rows + r] = i == 0 || i > t || r >= n ? (float)GLIA_SEQ2SEQ_BOS
                                                                : (float)prefix[(size_t)r * ldp + i - 1];
        ylen[r] = (float)(t + 1);
    }
    return GLIA_OK;
}

/* log softmax of the logits o [n, V] (the rows of one step) into logp [n, V] */
static void step_logp(const float *o, int n, int V, float *logp) {
    for (int r = 0; r < n; r++) {
        const float *z = o + (size_t)r * V;
        float mx = z[0];
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        double sum = 0;
        for (int v = 0; v < V; v++) sum += exp((double)z[v] - mx);
        const double lse = mx + log(sum);
        for (int v = 0; v < V; v++) logp[(size_t)r * V + v] = (float)(z[v] - lse);
    }
}

/* the logits of step t's rows in m's whole-target graph */
static const float *prefix_logits(glia_model *m, int rows, int t, int V) {
    return (const float *)glia_node_value(m->g, m->output) + (size_t)t * rows * V;
}

/* checks m is an encoder-decoder, sets its batch (recompiled for inference when it changes) */
static glia_status prepare(glia_model *m, int rows, int *S, int *T2, int *V) {
    if (!m || m->target < 0)
        return glia__err(GLIA_EINVAL, "decoding needs an encoder-decoder model ([net] target = T2)");
    glia_graph *g = m->g;
    glia_status s;
    if (glia_graph_batch(g) != rows && (s = glia_graph_set_batch(g, rows))) return s;
    glia_graph_set_training(g, 0);
    if ((s = glia_graph_compile(g, 0))) return s;
    glia_shape os;
    glia_node_shape(g, m->output, &os);
    *S = (int)m->seq_T;
    *T2 = (int)m->tgt_T;
    *V = (int)os.dim[1];
    if (os.ndim != 2 || os.dim[0] != (int64_t)*T2 * rows)
        return glia__err(GLIA_ESHAPE, "the decoder's output must be a row per target step and "
                         "sequence, [T2*N, classes] (end in [seqdense] or [dense] after one)");
    return GLIA_OK;
}

static glia_status check_source(const glia_model *m, const int *src, int L, int V) {
    if (!src || L < 1 || L > m->seq_T)
        return glia__err(GLIA_EINVAL, "a source of %d tokens: the model reads 1..%lld", L,
                         (long long)m->seq_T);
    (void)V;
    return GLIA_OK;
}

/* an ensemble is distinct glia_model objects: each carries its own decoder state */
static glia_status distinct_models(glia_model *const *models, int K, const char *fn) {
    if (!models || K < 1) return glia__err(GLIA_EINVAL, "%s: no models", fn);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < k; j++)
            if (models[k] == models[j])
                return glia__err(GLIA_EINVAL, "ensemble: models %d and %d are one model (each "
                                 "carries its own decoder state: load it twice)", j, k);
    return GLIA_OK;
}

/* readies K models for decoding at `rows` rows: the same shapes (T2 target steps, V classes),
 * the n sources in range, each model's step model (st[k], NULL: the prefix way) */
static glia_status open_models(glia_model *const *models, int K, int rows, int n,
                               const int *const *srcs, const int *src_lens, glia__s2s_step **st,
                               int *T2, int *V) {
    int S = 0;
    for (int k = 0; k < K; k++) {
        int Sk = 0, T2k = 0, Vk = 0;
        glia_status s = prepare(models[k], rows, &Sk, &T2k, &Vk);
        if (s) return s;
        if (k == 0) S = Sk, *T2 = T2k, *V = Vk;
        else if (Sk != S || T2k != *T2 || Vk != *V)
            return glia__err(GLIA_EINVAL, "ensemble: model %d reads %d source and %d target steps "
                             "into %d classes, model 0 %d, %d and %d: the models must share their "
                             "shapes and vocabularies", k, Sk, T2k, Vk, S, *T2, *V);
        for (int i = 0; i < n; i++)
            if ((s = check_source(models[k], srcs[i], src_lens[i], *V))) return s;
        if ((s = glia__s2s_step_open(models[k], rows, &st[k]))) return s;
    }
    return GLIA_OK;
}

/* step t of K models at `rows` rows (the first n reading srcs and prefix [n, T2], the rest
 * source 0), t > 0 reading tok [rows] after the state of parent [rows] (NULL: its own): the log p
 * of the first n rows, model k's in work + k n V, their mean (K > 1) in logp */
static glia_status models_step(glia_model *const *models, int K, glia__s2s_step **st, int rows,
                               int t, int n, const int *const *srcs, const int *src_lens,
                               const int *tok, const int *parent, const int *prefix, int T2, int V,
                               float *work, float *logp) {
    const size_t nv = (size_t)n * V;
    for (int k = 0; k < K; k++) {
        glia_model *m = models[k];
        glia_status s;
        if (st[k] && t == 0) s = glia__s2s_step_begin(st[k], n, srcs, src_lens);
        else if (st[k]) s = glia__s2s_step_next(st[k], tok, parent);
        else if (!(s = put_inputs(m, rows, T2, n, srcs, src_lens, n, prefix, T2, t))) s = glia_graph_forward(m->g);
        if (s) return s;
        step_logp(st[k] ? glia__s2s_step_logits(st[k]) : prefix_logits(m, rows, t, V), n, V, work + (size_t)k * nv);
    }
    if (K > 1) mean_logp(work, K, nv, logp);
    return GLIA_OK;
}

/* Beam search of n sources at once with K models (one: its own distribution; more: their mean),
 * `per` sources a forward. Source i of a group owns rows [i beam, (i+1) beam) of the batch: they
 * read its source (the encoder runs once for them), its live prefixes take the first of them,
 * and each continues its parent's state (beam_state's row: the parent's place in the block). */
static glia_status beam_models(glia_model *const *models, int K, int n, const int *const *srcs,
                               const int *src_lens, const glia_decode_options *d, int per,
                               int *outs, int *out_lens, float *scores) {
    if (n < 0 || (n && (!srcs || !src_lens || !outs || !out_lens)) || per < 1 || d->beam < 1 ||
        !(d->alpha >= 0))
        return glia__err(GLIA_EINVAL, "seq2seq decoding: bad arguments (%d sources, %d a forward, "
                         "beam %d, alpha %g)", n, per, d->beam, (double)d->alpha);
    if (n == 0) return GLIA_OK;
    if (per > n) per = n; /* no rows for sources that are not there */
    if ((int64_t)per * d->beam > 1 << 20)
        return glia__err(GLIA_EINVAL, "seq2seq decoding: %d sources a forward at beam %d is more "
                         "than 2^20 rows", per, d->beam);
    const int B = d->beam, R = per * B;
    int T2 = 0, V = 0;
    glia_status s = GLIA_OK;
    glia__s2s_step **st = glia__calloc((size_t)K, sizeof *st);
    beam_state *bs = glia__calloc((size_t)per, sizeof *bs);
    if (!st || !bs) s = glia__err(GLIA_ENOMEM, "seq2seq decoding: out of memory");
    if (!s) s = open_models(models, K, R, n, srcs, src_lens, st, &T2, &V);
    const int max_len = d->max_len > 0 && d->max_len < T2 ? d->max_len : T2;
    for (int i = 0; i < per && !s; i++) s = beam_open(&bs[i], V, GLIA_SEQ2SEQ_EOS, B, d->alpha, max_len);
    const size_t nv = (size_t)R * V;
    float *logp = s ? NULL : glia__malloc(nv * (K > 1 ? (size_t)K + 1 : 1) * sizeof *logp);
    float *work = K > 1 && logp ? logp + nv : logp; /* model k's log p: work + k nv */
    const int **rsrc = s ? NULL : glia__malloc((size_t)R * sizeof *rsrc);
    int *ibuf = s ? NULL : glia__calloc((size_t)R * (3 + (size_t)T2) + per, sizeof *ibuf);
    int *rlen = ibuf, *tok = ibuf ? ibuf + R : NULL, *parent = tok ? tok + R : NULL;
    int *prefix = parent ? parent + R : NULL, *act = prefix ? prefix + (size_t)R * T2 : NULL;
    if (!s && (!logp || !rsrc || !ibuf)) s = glia__err(GLIA_ENOMEM, "seq2seq decoding: out of memory");
    for (int g0 = 0; g0 < n && !s; g0 += per) {
        const int ng = n - g0 < per ? n - g0 : per;
        for (int r = 0; r < R; r++) { /* the rows past the group's read its first source */
            const int i = r / B < ng ? g0 + r / B : g0;
            rsrc[r] = srcs[i], rlen[r] = src_lens[i];
        }
        for (int i = 0; i < ng; i++) beam_reset(&bs[i]);
        for (int t = 0; !s; t++) {
            int active = 0;
            for (int i = 0; i < ng; i++) active += act[i] = !beam_over(&bs[i], t);
            if (!active) break;
            /* a row that holds no live prefix reads <s> after its own state; its output is unused */
            for (int r = 0; r < R; r++) tok[r] = GLIA_SEQ2SEQ_BOS, parent[r] = r;
            for (int i = 0; i < ng; i++)
                for (int j = 0; act[i] && j < bs[i].n_live; j++) {
                    const hyp *h = &bs[i].live[j];
                    const int r = i * B + j;
                    parent[r] = i * B + h->row;
                    if (t > 0) tok[r] = h->tok[t - 1];
                    memcpy(prefix + (size_t)r * T2, h->tok, (size_t)t * sizeof *prefix);
                }
            if ((s = models_step(models, K, st, R, t, R, rsrc, rlen, tok, parent, prefix, T2, V, work, logp)))
                break;
            for (int i = 0; i < ng; i++)
                if (act[i]) beam_advance(&bs[i], t, logp + (size_t)i * B * V);
        }
        for (int i = 0; i < ng && !s; i++)
            beam_result(&bs[i], outs + (size_t)(g0 + i) * T2, &out_lens[g0 + i], scores ? &scores[g0 + i] : NULL);
    }
    for (int i = 0; bs && i < per; i++) beam_close(&bs[i]);
    free(bs), free(st), free(logp), free(rsrc), free(ibuf);
    return s;
}

/* one source: the group of one */
static glia_status decode_models(glia_model *const *models, int K, const int *src, int src_len,
                                 const glia_decode_options *d, int *out, int *out_len, float *score) {
    if (!src) return glia__err(GLIA_EINVAL, "seq2seq decoding: no source");
    return beam_models(models, K, 1, &src, &src_len, d, 1, out, out_len, score);
}

glia_status glia_seq2seq_decode_ensemble(glia_model *const *models, int n_models, const int *src,
                                         int src_len, const glia_decode_options *o, int *out,
                                         int *out_len, float *score) {
    glia_decode_options d = {1, 0.0f, 0};
    if (o) d = *o;
    glia_status s = distinct_models(models, n_models, "glia_seq2seq_decode_ensemble");
    if (s) return s;
    return decode_models(models, n_models, src, src_len, &d, out, out_len, score);
}

glia_status glia_seq2seq_decode(glia_model *m, const int *src, int src_len,
                                const glia_decode_options *o, int *out, int *out_len,
                                float *score, float *attn) {
    glia_decode_options d = {1, 0.0f, 0};
    if (o) d = *o;
    glia_status s = decode_models(&m, 1, src, src_len, &d, out, out_len, score);
    const int S = m ? (int)m->seq_T : 0, T2 = m ? (int)m->tgt_T : 0;
    if (s) return s;
    if (!attn) return GLIA_OK;
    /* the attention of the result: the decoded sequence fed back in row 0, weights [T2, rows, S] */
    int att = m->dec_n ? m->dec_att[0] : glia_model_attention(m);
    if (att < 0) return glia__err(GLIA_EINVAL, "the model has no [attention] layer");
    int steps = *out_len < T2 ? *out_len + 1 : T2; /* the tokens and </s> */
    if ((s = put_inputs(m, d.beam, T2, 1, (const int *const[]){src}, (int[]){src_len}, 1, out, T2,
                             steps - 1)) ||
        (s = glia_graph_forward(m->g)))
        return s;
    float *w = glia__malloc((size_t)T2 * d.beam * S * sizeof *w);
    if (!w) return glia__err(GLIA_ENOMEM, "glia_seq2seq_decode: out of memory");
    if (m->dec_n) /* an [attention_decoder]: one attention op per step, [1, rows, S] each */
        for (int t = 0; t < T2 && !s; t++) {
            if (t < steps) s = glia_attention_weights(m->g, m->dec_att[t], w + (size_t)t * d.beam * S);
            else memset(w + (size_t)t * d.beam * S, 0, (size_t)d.beam * S * sizeof *w);
        }
    else s = glia_attention_weights(m->g, att, w);
    if (!s)
        for (int t = 0; t < T2; t++)
            for (int j = 0; j < S; j++) attn[(size_t)t * S + j] = t < steps ? w[((size_t)t * d.beam) * S + j] : 0.0f;
    free(w);
    return s;
}

/* batched greedy decoding with K models (K = 1: one model's own distribution, K > 1: their
 * mean, as glia__ensemble_step); each model keeps its rows' states */
static glia_status greedy_models(glia_model *const *models, int K, int n, const int *const *srcs,
                                 const int *src_lens, int batch, int *outs, int *out_lens) {
    if (n < 0 || (n && (!srcs || !src_lens || !outs || !out_lens)) || batch < 1)
        return glia__err(GLIA_EINVAL, "glia_seq2seq_greedy: bad arguments");
    int T2 = 0, V = 0;
    glia__s2s_step **st = glia__calloc((size_t)K, sizeof *st);
    if (!st) return glia__err(GLIA_ENOMEM, "glia_seq2seq_greedy: out of memory");
    glia_status s = open_models(models, K, batch, n, srcs, src_lens, st, &T2, &V);
    const size_t nv = (size_t)batch * V;
    float *logp = s ? NULL : glia__malloc(nv * (K > 1 ? (size_t)K + 1 : 1) * sizeof *logp);
    float *work = K > 1 && logp ? logp + nv : logp; /* model k's log p: work + k nv */
    int *done = s ? NULL : glia__malloc((size_t)batch * 2 * sizeof *done), *tok = done ? done + batch : NULL;
    if (!s && (!logp || !done)) s = glia__err(GLIA_ENOMEM, "glia_seq2seq_greedy: out of memory");
    for (int b0 = 0; b0 < n && !s; b0 += batch) {
        const int rows = n - b0 < batch ? n - b0 : batch;
        int *pre = outs + (size_t)b0 * T2, live = rows;
        for (int r = 0; r < rows; r++) done[r] = 0, out_lens[b0 + r] = 0;
        /* a finished row keeps reading <s> (an id the embedding takes) after its end */
        memset(pre, 0, (size_t)rows * T2 * sizeof *pre);
        for (int t = 0; t < T2 && live && !s; t++) {
            /* rows keep their places: each continues its own state */
            for (int r = 0; t > 0 && r < batch; r++) tok[r] = r < rows ? pre[(size_t)r * T2 + t - 1] : GLIA_SEQ2SEQ_BOS;
            if ((s = models_step(models, K, st, batch, t, rows, srcs + b0, src_lens + b0, tok, NULL, pre, T2, V,
                                 work, logp)))
                break;
            for (int r = 0; r < rows; r++) {
                if (done[r]) continue;
                int best = 0;
                for (int v = 1; v < V; v++)
                    if (logp[(size_t)r * V + v] > logp[(size_t)r * V + best]) best = v;
                if (best == GLIA_SEQ2SEQ_EOS) {
                    done[r] = 1;
                    live--;
                    continue;
                }
                pre[(size_t)r * T2 + t] = best;
                out_lens[b0 + r] = t + 1;
            }
        }
    }
    free(logp);
    free(done);
    free(st);
    return s;
}

glia_status glia_seq2seq_greedy(glia_model *m, int n, const int *const *srcs, const int *src_lens,
                                int batch, int *outs, int *out_lens) {
    return greedy_models(&m, 1, n, srcs, src_lens, batch, outs, out_lens);
}

glia_status glia_seq2seq_greedy_ensemble(glia_model *const *models, int n_models, int n,
                                         const int *const *srcs, const int *src_lens, int batch,
                                         int *outs, int *out_lens) {
    glia_status s = distinct_models(models, n_models, "glia_seq2seq_greedy_ensemble");
    if (s) return s;
    return greedy_models(models, n_models, n, srcs, src_lens, batch, outs, out_lens);
}

glia_status glia_seq2seq_decode_batch(glia_model *const *models, int n_models, int n,
                                      const int *const *srcs, const int *src_lens,
                                      const glia_decode_options *o, int per, int *outs,
                                      int *out_lens, float *scores) {
    glia_decode_options d = {1, 0.0f, 0};
    if (o) d = *o;
    glia_status s = distinct_models(models, n_models, "glia_seq2seq_decode_batch");
    if (s) return s;
    return beam_models(models, n_models, n, srcs, src_lens, &d, per, outs, out_lens, scores);
}
