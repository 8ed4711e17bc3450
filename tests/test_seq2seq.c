/* test_seq2seq.c: encoder-decoder models (src/nn/seq2seq_*.c, src/train/task_seq2seq.c,
 * src/data/pairs.c): beam search finds the best sequence of a tiny model with a known answer
 * where greedy decoding does not, beam 1 is greedy; a digit-reversal task is learnt perfectly by
 * the one training loop and decoded greedily and by beam search; a run stopped and resumed ends
 * with bit-identical weights; the model text's errors name file and line. */
#include "test.h"
#include "nn/model_internal.h" /* glia__ensemble_step */
#include "train/loop.h" /* glia__length_buckets */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- beam search, known answer
 * A tiny "model": tokens 1 = </s>, 2 = a, 3 = b. Step 0: a 0.6, b 0.4. After a: </s> 0.4,
 * a 0.3, b 0.3. After b: </s> 0.9, a 0.05, b 0.05. After two tokens: </s> 1. Greedy takes a
 * then </s> (p 0.24); the best sequence is b </s> (p 0.36). */
static double toy_p(const int *prefix, int t, int v) {
    if (v == 0) return 0; /* <s> is never emitted */
    if (t == 0) return v == 2 ? 0.6 : v == 3 ? 0.4 : 0;
    if (t >= 2) return v == 1;
    if (prefix[0] == 2) return v == 1 ? 0.4 : 0.3;
    return v == 1 ? 0.9 : 0.05;
}
/* a toy as a beam-search step: its probabilities p, a count of the calls */
typedef struct {
    double (*p)(const int *prefix, int t, int v);
    int calls;
} toy;
static glia_status toy_step(void *ctx, int t, int n, const int *prefix, int ldp, float *logp) {
    toy *k = ctx;
    k->calls++;
    for (int i = 0; i < n; i++)
        for (int v = 0; v < 4; v++) logp[i * 4 + v] = (float)log(k->p(prefix + i * ldp, t, v));
    return GLIA_OK;
}

/* every sequence of up to 3 tokens ending in </s>: the most probable */
static double brute_best(int *best, int *best_len) {
    double bp = -1;
    for (int len = 1; len <= 3; len++) {
        int seq[3], count = 1;
        for (int i = 0; i < len - 1; i++) count *= 3;
        for (int c = 0; c < count; c++) {
            int x = c;
            for (int i = 0; i < len - 1; i++) seq[i] = 1 + x % 3, x /= 3;
            seq[len - 1] = 1;
            int ok = 1;
            for (int i = 0; i < len - 1; i++) ok &= seq[i] != 1;
            double p = 1;
            for (int i = 0; ok && i < len; i++) p *= toy_p(seq, i, seq[i]);
            if (ok && p > bp) {
                bp = p;
                *best_len = len - 1;
                memcpy(best, seq, sizeof seq);
            }
        }
    }
    return bp;
}

TEST(seq2seq_beam_search_known_answer) {
    int best[3], best_len = 0, out[3], len = 0;
    toy calls = {toy_p, 0};
    double bp = brute_best(best, &best_len);
    CHECK_NEAR(bp, 0.36, 1e-9);
    float score;
    OK(glia_beam_search(toy_step, &calls, 4, 1, 1, 0.0f, 3, out, &len, &score));
    CHECK(len == 1 && out[0] == 2); /* greedy: a </s> */
    CHECK_NEAR(score, log(0.24), 1e-5);
    OK(glia_beam_search(toy_step, &calls, 4, 1, 3, 0.0f, 3, out, &len, &score));
    CHECK(len == best_len && !memcmp(out, best, (size_t)len * sizeof *out));
    CHECK_NEAR(score, log(bp), 1e-5);
    /* bad arguments are errors, not crashes */
    CHECK(glia_beam_search(toy_step, &calls, 4, 9, 2, 0.0f, 3, out, &len, NULL) == GLIA_EINVAL);
    CHECK(glia_beam_search(toy_step, &calls, 4, 1, 0, 0.0f, 3, out, &len, NULL) == GLIA_EINVAL);
}

/* ---------------------------------------------------------------- ensembles, known answer
 * A second toy: step 0: a 0.1, b 0.9; after a: </s> 0.9, a 0.05, b 0.05; after b: </s> 0.2,
 * a 0.4, b 0.4; after two tokens: </s> 1. Alone, greedy takes b a </s> (the first toy: a </s>).
 * The mean of the two: step 0 a 0.35, b 0.65; after b: </s> 0.55: greedy b </s> (0.3575). */
static double toy2_p(const int *prefix, int t, int v) {
    if (v == 0) return 0;
    if (t == 0) return v == 2 ? 0.1 : v == 3 ? 0.9 : 0;
    if (t >= 2) return v == 1;
    if (prefix[0] == 2) return v == 1 ? 0.9 : 0.05;
    return v == 1 ? 0.2 : 0.4;
}
TEST(seq2seq_ensemble_known_answer) {
    int out[3], len = 0;
    toy c1 = {toy_p, 0}, c2 = {toy2_p, 0};
    float work[2 * 4 * 4], score;
    glia__ensemble e = {(glia_beam_step_fn[]){toy_step, toy_step}, (void *[]){&c1, &c2}, 2, 4, work};
    OK(glia_beam_search(toy_step, &c2, 4, 1, 1, 0.0f, 3, out, &len, &score));
    CHECK(len == 2 && out[0] == 3 && out[1] == 2); /* the second toy alone: b a </s> */
    OK(glia_beam_search(glia__ensemble_step, &e, 4, 1, 1, 0.0f, 3, out, &len, &score));
    CHECK(len == 1 && out[0] == 3); /* together: b </s> */
    CHECK_NEAR(score, log(0.65 * 0.55), 1e-5);
    CHECK(c1.calls > 0 && c2.calls > 0);
    /* beam 3 finds the best sequence under the mean distribution (every sequence of up to three
     * tokens tried) */
    double bp = -1;
    int best[3] = {0}, best_len = 0;
    for (int a = 1; a <= 3; a++)
        for (int b = 1; b <= 3; b++) {
            int seq[3] = {a, b, 1}, L = a == 1 ? 1 : b == 1 ? 2 : 3;
            double p = 1;
            for (int i = 0; i < L; i++) p *= 0.5 * (toy_p(seq, i, seq[i]) + toy2_p(seq, i, seq[i]));
            if (p > bp) bp = p, best_len = L - 1, memcpy(best, seq, sizeof seq);
        }
    OK(glia_beam_search(glia__ensemble_step, &e, 4, 1, 3, 0.0f, 3, out, &len, &score));
    CHECK(len == best_len && !memcmp(out, best, (size_t)len * sizeof *out));
    CHECK_NEAR(score, log(bp), 1e-5);
}

/* ---------------------------------------------------------------- digit reversal */
static const char *rev_cfg =
    "[net]\ninput = 1\nsequence = 5\ntarget = 6\nclasses = 12\nbatch = 32\nepochs = 6\n"
    "lr = 0.01\noptimizer = adam\nclip_norm = 5\n"
    "[embedding]\nname = src\ninput = data\nvocab = 11\ndim = 16\n"
    "[lstm]\nname = enc\nhidden = 32\nbidirectional = 1\n"
    "[embedding]\nname = tgt\ninput = target\nvocab = 12\ndim = 16\n"
    "[lstm]\nname = dec\nhidden = 48\n"
    "[attention]\nname = att\nmemory = enc\nscore = %s\n"
    "[seqdense]\nname = mix\nunits = 48\nactivation = tanh\n"
    "[dense]\nname = out\nunits = 12\n";

/* n distinct strings of 1..5 digits and their reversals, "1 2 3<TAB>3 2 1" */
static int write_reversal(const char *path, int n) {
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    static const int pow10[6] = {1, 10, 100, 1000, 10000, 100000};
    static const int offset[6] = {0, 0, 10, 110, 1110, 11110}; /* strings shorter than len */
    uint64_t x = 12345;
    char *seen = calloc(111110, 1);
    for (int k = 0; k < n && seen;) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int len = 1 + (int)((x >> 33) % 5), v = (int)((x >> 20) % (uint64_t)pow10[len]), key = offset[len] + v;
        int d[5];
        for (int i = 0; i < len; i++) d[i] = v / pow10[i] % 10;
        if (seen[key]) continue;
        seen[key] = 1;
        for (int i = 0; i < len; i++) fprintf(f, "%s%d", i ? " " : "", d[i]);
        fprintf(f, "\t");
        for (int i = len - 1; i >= 0; i--) fprintf(f, "%d%s", d[i], i ? " " : "");
        fprintf(f, "\n");
        k++;
    }
    free(seen);
    return !fclose(f);
}

/* every parameter's values, concatenated */
static float *params_of(glia_model *m, int64_t *n) {
    glia_graph *g = glia_model_graph(m);
    float *all = NULL;
    *n = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        if (strcmp(glia_node_op(g, i), "param")) continue;
        glia_shape s;
        glia_node_shape(g, i, &s);
        int64_t k = glia_shape_numel(&s);
        float *p = realloc(all, (size_t)(*n + k) * sizeof *all);
        if (!p) { free(all); return NULL; }
        all = p;
        memcpy(all + *n, glia_node_value(g, i), (size_t)k * sizeof *all);
        *n += k;
    }
    return all;
}

static const char *rev_bucket; /* [net] bucket of train_rev's runs, NULL: the default */

static int train_rev(const char *data, const char *dir, const char *score, int epochs, volatile int *stop,
                     void (*progress)(void *, const glia_train_progress *), void *ctx, glia_model **out) {
    char cfg[2048], spec[600];
    snprintf(cfg, sizeof cfg, rev_cfg, score);
    snprintf(spec, sizeof spec, "pairs:%s", data);
    glia_model *m;
    if (glia_model_parse(cfg, "rev.cfg", 1, 3, &m)) return 0;
    if (epochs) glia_model_set_option(m, "epochs", epochs == 1 ? "1" : "2");
    if (rev_bucket) glia_model_set_option(m, "bucket", rev_bucket);
    glia_train_options o = {0};
    o.data = spec;
    o.out_dir = dir;
    o.seed = 5;
    o.stop = stop;
    o.progress = progress;
    o.ctx = ctx;
    glia_train_result r;
    glia_status s = glia_train(m, &o, &r);
    if (!s) glia_eval_result_free(&r.test);
    *out = m;
    return s == GLIA_OK ? 1 : s == GLIA_EINTR ? 2 : 0;
}

/* ---------------------------------------------------------------- incremental decoding
 * One decoder step per forward from the carried state (seq2seq_step.c) gives what rerunning the
 * decoder over the whole prefix gives: on untrained models (varied, long outputs), greedy in
 * batches and beam search, with a unidirectional encoder (whose state must not be carried), a
 * 2-layer LSTM and GRU decoders, the three scores. A decoder with a bidirectional
 * layer is not causal: it decodes the old way. */
static const char *step_cfg =
    "[net]\ninput = 1\nsequence = 6\ntarget = 9\nclasses = 12\n"
    "[embedding]\nname = src\ninput = data\nvocab = 11\ndim = 8\n"
    "[%s]\nname = enc\nhidden = 16\nbidirectional = %d\n"
    "[embedding]\nname = tgt\ninput = target\nvocab = 12\ndim = 8\n"
    "[%s]\nname = dec\nhidden = 16\nlayers = %d\nbidirectional = %d\n"
    "[attention]\nname = att\nmemory = enc\nscore = %s\n"
    "[seqdense]\nname = mix\nunits = 16\nactivation = tanh\n"
    "[dense]\nname = out\nunits = 12\n";

/* n sources of 1..6 ids in 1..10 (lengths cycling), from a fixed generator seeded x */
static void make_sources(int n, uint64_t x, int (*src)[6], int *lens, const int **srcs) {
    for (int i = 0; i < n; i++) {
        lens[i] = 1 + i % 6;
        for (int s = 0; s < lens[i]; s++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            src[i][s] = 1 + (int)((x >> 33) % 10);
        }
        srcs[i] = src[i];
    }
}

static void check_incremental_cfg(const char *cfg, const char *enc, const char *dec, const char *score,
                                  int want_incremental);
static const char *att_dec_cfg =
    "[net]\ninput = 1\nsequence = 6\ntarget = 9\nclasses = 12\n"
    "[embedding]\nname = src\ninput = data\nvocab = 11\ndim = 8\n"
    "[lstm]\nname = enc\nhidden = 8\nbidirectional = 1\n"
    "[embedding]\nname = tgt\ninput = target\nvocab = 12\ndim = 8\n"
    "[attention_decoder]\nname = dec\nmemory = enc\nhidden = 16\nscore = %s\nunits = 12\nfeed = %d\n"
    "[dense]\nname = out\nunits = 12\n";

static void check_incremental(const char *enc, int enc_bi, const char *dec, int layers, int dec_bi,
                              const char *score, int want_incremental) {
    char cfg[1024];
    snprintf(cfg, sizeof cfg, step_cfg, enc, enc_bi, dec, layers, dec_bi, score);
    check_incremental_cfg(cfg, enc, dec, score, want_incremental);
}

static void check_incremental_cfg(const char *cfg, const char *enc, const char *dec, const char *score,
                                  int want_incremental) {
    glia_model *m;
    OK(glia_model_parse(cfg, "step.cfg", 1, 11, &m));
    enum { N = 24 };
    int src[N][6], lens[N], out[2][N * 9], olen[2][N];
    const int *srcs[N];
    make_sources(N, 99, src, lens, srcs);
    int long_outputs = 0, differ = 0;
    for (int inc = 0; inc < 2; inc++) {
        glia_seq2seq_set_incremental(m, inc);
        OK(glia_seq2seq_greedy(m, N, srcs, lens, 5, out[inc], olen[inc]));
        CHECK(glia_seq2seq_incremental(m) == (inc && want_incremental));
    }
    for (int i = 0; i < N; i++) {
        differ += olen[0][i] != olen[1][i] || memcmp(out[0] + i * 9, out[1] + i * 9, (size_t)olen[0][i] * sizeof(int));
        long_outputs += olen[0][i] >= 3;
    }
    CHECK_MSG(differ == 0, "%s/%s/%s: %d of %d greedy outputs differ", enc, dec, score, differ, N);
    CHECK(long_outputs >= N / 4); /* the check sees more than a step or two */
    for (int i = 0; i < N; i += 3) {
        glia_decode_options d = {3, 0.6f, 0};
        int o[2][9], l[2] = {0, 0};
        float sc[2] = {0, 0};
        for (int inc = 0; inc < 2; inc++) {
            glia_seq2seq_set_incremental(m, inc);
            OK(glia_seq2seq_decode(m, srcs[i], lens[i], &d, o[inc], &l[inc], &sc[inc], NULL));
        }
        CHECK(l[0] == l[1] && !memcmp(o[0], o[1], (size_t)l[0] * sizeof(int)));
        CHECK_NEAR(sc[0], sc[1], 1e-4);
    }
    /* the step model reads the model's weights as they are now: changed after a decode, the
     * kept step model decodes as the whole-prefix way does with the new weights */
    if (want_incremental) {
        glia_seq2seq_set_incremental(m, 1);
        OK(glia_seq2seq_greedy(m, N, srcs, lens, 5, out[1], olen[1])); /* builds the step model */
        glia_graph *g = glia_model_graph(m);
        for (int i = 0; i < glia_graph_num_nodes(g); i++) {
            if (strcmp(glia_node_op(g, i), "param")) continue;
            glia_shape sh;
            glia_node_shape(g, i, &sh);
            float *v = glia_node_value(g, i);
            for (int64_t k = 0; k < glia_shape_numel(&sh); k++) v[k] = 0.05f * (float)((k * 7919 + i) % 11 - 5) - v[k];
        }
        int first[N * 9], first_len[N];
        memcpy(first, out[1], sizeof first);
        memcpy(first_len, olen[1], sizeof first_len);
        OK(glia_seq2seq_greedy(m, N, srcs, lens, 5, out[1], olen[1]));
        glia_seq2seq_set_incremental(m, 0);
        OK(glia_seq2seq_greedy(m, N, srcs, lens, 5, out[0], olen[0]));
        int changed = 0;
        differ = 0;
        for (int i = 0; i < N; i++) {
            differ += olen[0][i] != olen[1][i] || memcmp(out[0] + i * 9, out[1] + i * 9, (size_t)olen[0][i] * sizeof(int));
            changed += first_len[i] != olen[1][i] || memcmp(first + i * 9, out[1] + i * 9, (size_t)olen[1][i] * sizeof(int));
        }
        CHECK_MSG(differ == 0, "%s/%s/%s: %d of %d greedy outputs differ after the weights changed", enc, dec, score, differ, N);
        CHECK_MSG(changed > 0, "%s/%s/%s: the new weights decode the same", enc, dec, score);
    }
    glia_model_free(m);
}

TEST(seq2seq_incremental_decoding_equals_recompute) {
    check_incremental("lstm", 0, "lstm", 2, 0, "additive", 1);
    check_incremental("gru", 1, "gru", 1, 0, "general", 1);
    check_incremental("lstm", 0, "gru", 2, 0, "dot", 1);
    check_incremental("lstm", 1, "lstm", 1, 1, "dot", 0); /* not causal: the prefix way */
    /* an [attention_decoder] with input feeding carries h, c and the attentional vector */
    for (int feed = 0; feed < 2; feed++) {
        char cfg[1024];
        snprintf(cfg, sizeof cfg, att_dec_cfg, feed ? "general" : "additive", feed);
        check_incremental_cfg(cfg, "lstm", feed ? "attention_decoder feed" : "attention_decoder", "", 1);
    }
}

/* three untrained models of step_cfg (bidirectional encoder), seeds 101, 202, 303 */
static void three_models(const char *enc, const char *dec, int layers, const char *score, glia_model **m) {
    char cfg[1024];
    snprintf(cfg, sizeof cfg, step_cfg, enc, 1, dec, layers, 0, score);
    for (int k = 0; k < 3; k++) OK(glia_model_parse(cfg, "step.cfg", 1, 101 * (uint64_t)(k + 1), &m[k]));
}

/* Batched greedy decoding of an ensemble is beam search of width 1 over the mean distribution:
 * three untrained models (seeds 101, 202, 303; varied, long outputs), in batches of 5 across 24
 * sources, incrementally and the prefix way. The ensemble must decode some sources unlike each
 * of its models alone, or the check could not see a model left out. */
TEST(seq2seq_greedy_ensemble_equals_beam_1) {
    glia_model *m[3];
    three_models("lstm", "lstm", 1, "general", m);
    enum { N = 24 };
    int src[N][6], lens[N], out[N * 9], olen[N], alone[3][N * 9], alen[3][N];
    const int *srcs[N];
    make_sources(N, 7, src, lens, srcs);
    for (int k = 0; k < 3; k++) OK(glia_seq2seq_greedy(m[k], N, srcs, lens, 5, alone[k], alen[k]));
    for (int inc = 0; inc < 2; inc++) {
        for (int k = 0; k < 3; k++) glia_seq2seq_set_incremental(m[k], inc);
        OK(glia_seq2seq_greedy_ensemble(m, 3, N, srcs, lens, 5, out, olen));
        int differ = 0, unlike[3] = {0, 0, 0}, long_outputs = 0;
        for (int i = 0; i < N; i++) {
            int o[9], l = 0;
            OK(glia_seq2seq_decode_ensemble(m, 3, srcs[i], lens[i], NULL, o, &l, NULL));
            differ += l != olen[i] || memcmp(o, out + i * 9, (size_t)l * sizeof *o);
            for (int k = 0; k < 3; k++)
                unlike[k] += alen[k][i] != olen[i] || memcmp(alone[k] + i * 9, out + i * 9, (size_t)olen[i] * sizeof *out);
            long_outputs += olen[i] >= 3;
        }
        CHECK_MSG(differ == 0, "incremental %d: %d of %d batched ensemble outputs differ from beam 1", inc, differ, N);
        CHECK_MSG(unlike[0] && unlike[1] && unlike[2], "the ensemble decodes as a model alone: %d %d %d",
                  unlike[0], unlike[1], unlike[2]);
        CHECK(long_outputs >= N / 4);
    }
    /* one model: glia_seq2seq_greedy's own result */
    OK(glia_seq2seq_greedy_ensemble(m, 1, N, srcs, lens, 5, out, olen));
    CHECK(!memcmp(olen, alen[0], sizeof olen));
    for (int i = 0; i < N; i++) CHECK(!memcmp(out + i * 9, alone[0] + i * 9, (size_t)olen[i] * sizeof *out));
    CHECK(glia_seq2seq_greedy_ensemble((glia_model *[]){m[0], m[0]}, 2, N, srcs, lens, 5, out, olen) == GLIA_EINVAL);
    for (int k = 0; k < 3; k++) glia_model_free(m[k]);
}

/* Beam search of many sources at once (each source a block of `beam` rows, each prefix after
 * its parent's state) gives each source what decoding it alone gives: beam 3 with length
 * normalisation, 5 sources a forward over 24 (the last group short), one model and an
 * ensemble of three, incrementally and the prefix way; and with a maximum length. The
 * reference decodes each source alone the prefix way, which has no parents to get wrong. */
TEST(seq2seq_batched_beam_search_equals_one_at_a_time) {
    glia_model *m[3];
    three_models("gru", "lstm", 2, "additive", m);
    enum { N = 24 };
    int src[N][6], lens[N], out[N * 9], olen[N];
    float score[N];
    const int *srcs[N];
    make_sources(N, 5, src, lens, srcs);
    const glia_decode_options opts[2] = {{3, 0.6f, 0}, {4, 0.0f, 4}};
    for (int c = 0; c < 6; c++) {
        const int K = c % 3 == 2 ? 3 : 1, inc = c % 3 != 1, oi = c / 3;
        const glia_decode_options *d = &opts[oi];
        for (int k = 0; k < 3; k++) glia_seq2seq_set_incremental(m[k], inc);
        OK(glia_seq2seq_decode_batch(m, K, N, srcs, lens, d, 5, out, olen, score));
        int differ = 0, long_outputs = 0;
        for (int k = 0; k < 3; k++) glia_seq2seq_set_incremental(m[k], 0); /* the reference: the prefix way */
        for (int i = 0; i < N; i++) {
            int o[9], l = 0;
            float sc = 0;
            if (K == 1) OK(glia_seq2seq_decode(m[0], srcs[i], lens[i], d, o, &l, &sc, NULL));
            else OK(glia_seq2seq_decode_ensemble(m, K, srcs[i], lens[i], d, o, &l, &sc));
            differ += l != olen[i] || memcmp(o, out + i * 9, (size_t)l * sizeof *o) || fabsf(sc - score[i]) > 1e-4f;
            long_outputs += olen[i] >= 3;
            CHECK(olen[i] <= (d->max_len ? d->max_len : 9));
        }
        CHECK_MSG(differ == 0, "%d models, incremental %d, beam %d: %d of %d sources decode otherwise in a batch",
                  K, inc, d->beam, differ, N);
        CHECK(long_outputs >= N / 4);
    }
    /* more sources a forward than there are: one group of all; none: nothing to do */
    int out2[N * 9], olen2[N];
    OK(glia_seq2seq_decode_batch(m, 1, N, srcs, lens, &opts[0], 5, out, olen, NULL));
    OK(glia_seq2seq_decode_batch(m, 1, N, srcs, lens, &opts[0], 1000, out2, olen2, NULL));
    CHECK(!memcmp(olen, olen2, sizeof olen));
    for (int i = 0; i < N; i++) CHECK(!memcmp(out + i * 9, out2 + i * 9, (size_t)olen[i] * sizeof *out));
    OK(glia_seq2seq_decode_batch(m, 1, 0, NULL, NULL, &opts[0], 5, NULL, NULL, NULL));
    glia_decode_options bad = {0, 0.0f, 0};
    CHECK(glia_seq2seq_decode_batch(m, 1, N, srcs, lens, &bad, 5, out, olen, NULL) == GLIA_EINVAL);
    CHECK(glia_seq2seq_decode_batch(m, 1, N, srcs, lens, NULL, 0, out, olen, NULL) == GLIA_EINVAL);
    for (int k = 0; k < 3; k++) glia_model_free(m[k]);
}

TEST(seq2seq_reverses_digits_perfectly) {
    char dir[] = "/tmp/glia-s2s-XXXXXX", data[600], run[700];
    CHECK(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/rev.tsv", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    CHECK(write_reversal(data, 1500));
    glia_model *m = NULL;
    int ok = train_rev(data, run, "general", 0, NULL, NULL, NULL, &m);
    glia_model_free(m);
    CHECK_MSG(ok == 1, "training: %s", glia_last_error());
    /* the trained run as glia translate reads it: model.cfg and weights */
    char path[800];
    snprintf(path, sizeof path, "%s/model.cfg", run);
    OK(glia_model_load(path, 1, 1, &m));
    snprintf(path, sizeof path, "%s/weights.safetensors", run);
    OK(glia_safetensors_load(glia_model_graph(m), path));
    glia_pairs *p;
    char spec[700];
    snprintf(spec, sizeof spec, "pairs:%s", data);
    OK(glia_pairs_load(spec, &p));
    int n = 0, wrong = 0, beam_differs = 0;
    const int **srcs = malloc((size_t)p->n * sizeof *srcs);
    int *lens = malloc((size_t)p->n * sizeof *lens), *idx = malloc((size_t)p->n * sizeof *idx);
    int *outs = malloc((size_t)p->n * 6 * sizeof *outs), *olen = malloc((size_t)p->n * sizeof *olen);
    for (int i = 0; i < p->n; i++)
        if (p->split[i] == 2) {
            srcs[n] = p->src_ids + p->src_off[i];
            lens[n] = p->src_off[i + 1] - p->src_off[i];
            idx[n++] = i;
        }
    OK(glia_seq2seq_greedy(m, n, srcs, lens, 16, outs, olen));
    for (int i = 0; i < n; i++) {
        const int *ref = p->tgt_ids + p->tgt_off[idx[i]], rl = p->tgt_off[idx[i] + 1] - p->tgt_off[idx[i]];
        wrong += olen[i] != rl || memcmp(outs + i * 6, ref, (size_t)rl * sizeof *ref);
        /* beam 1 through the beam search is greedy; beam 3 finds the same here */
        int o1[6], l1 = 0, o3[6], l3 = 0;
        glia_decode_options d1 = {1, 0.0f, 0}, d3 = {3, 0.6f, 0};
        OK(glia_seq2seq_decode(m, srcs[i], lens[i], &d1, o1, &l1, NULL, NULL));
        CHECK(l1 == olen[i] && !memcmp(o1, outs + i * 6, (size_t)l1 * sizeof *o1));
        OK(glia_seq2seq_decode(m, srcs[i], lens[i], &d3, o3, &l3, NULL, NULL));
        beam_differs += l3 != rl || memcmp(o3, ref, (size_t)rl * sizeof *ref);
    }
    /* an ensemble of the model with itself (loaded twice) decodes as the model does, its score
     * log (1/2 (p + p)) = log p; one model object twice is refused */
    glia_model *m2 = NULL;
    snprintf(path, sizeof path, "%s/model.cfg", run);
    OK(glia_model_load(path, 1, 1, &m2));
    snprintf(path, sizeof path, "%s/weights.safetensors", run);
    OK(glia_safetensors_load(glia_model_graph(m2), path));
    for (int i = 0; i < n; i += 7) {
        int o1[6], l1 = 0, o2[6], l2 = 0;
        float s1 = 0, s2 = 0;
        glia_decode_options d3 = {3, 0.0f, 0};
        OK(glia_seq2seq_decode(m, srcs[i], lens[i], &d3, o1, &l1, &s1, NULL));
        OK(glia_seq2seq_decode_ensemble((glia_model *[]){m, m2}, 2, srcs[i], lens[i], &d3, o2, &l2, &s2));
        CHECK(l1 == l2 && !memcmp(o1, o2, (size_t)l1 * sizeof *o1));
        CHECK_NEAR(s1, s2, 1e-4);
    }
    int oo[6], ll = 0;
    CHECK(glia_seq2seq_decode_ensemble((glia_model *[]){m, m}, 2, srcs[0], lens[0], NULL, oo, &ll, NULL) == GLIA_EINVAL);
    glia_model_free(m2);
    /* the attention of a decoded sequence: rows sum to 1 over the source, 0 beyond it */
    float w[6 * 5];
    int o[6], ol = 0;
    OK(glia_seq2seq_decode(m, srcs[0], lens[0], NULL, o, &ol, NULL, w));
    for (int t = 0; t <= ol; t++) {
        double sum = 0;
        for (int s = 0; s < 5; s++) sum += w[t * 5 + s];
        CHECK_NEAR(sum, 1.0, 1e-5);
        for (int s = lens[0]; s < 5; s++) CHECK(w[t * 5 + s] == 0.0f);
    }
    free(srcs), free(lens), free(idx), free(outs), free(olen);
    glia_pairs_free(p);
    glia_model_free(m);
    test_rm_rf(run);
    test_rm_rf(dir);
    CHECK(n >= 40);
    CHECK_MSG(wrong == 0, "%d of %d test strings reversed wrongly (greedy)", wrong, n);
    CHECK_MSG(beam_differs == 0, "%d of %d test strings reversed wrongly (beam 3)", beam_differs, n);
}

typedef struct { volatile int *flag; int64_t at; } stopper;
static void stop_at(void *ctx, const glia_train_progress *pr) {
    stopper *s = ctx;
    if (pr->epoch == 1 && !pr->epoch_done && pr->batch == s->at) *s->flag = 1;
}

/* stopped in the middle of epoch 1 and resumed: the weights of an unbroken run, bit for bit
 * (with length buckets too: the order is drawn again from the epoch's generator state) */
static void resume_is_bit_exact(const char *bucket) {
    rev_bucket = bucket;
    char dir[] = "/tmp/glia-s2s-XXXXXX", data[600], a[700], b[700];
    CHECK(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/rev.tsv", dir);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    CHECK(write_reversal(data, 400));
    glia_model *ma = NULL, *mb = NULL;
    volatile int flag = 0;
    stopper st = {&flag, 5};
    int oka = train_rev(data, a, "additive", 2, NULL, NULL, NULL, &ma);
    int okb = train_rev(data, b, "additive", 2, &flag, stop_at, &st, &mb);
    glia_model_free(mb);
    mb = NULL;
    glia_train_result r;
    glia_status s = okb == 2 ? glia_train_resume(b, 0, &(glia_train_options){0}, &mb, &r) : GLIA_EINVAL;
    if (!s) glia_eval_result_free(&r.test);
    int64_t na = 0, nb = 0;
    float *wa = oka == 1 ? params_of(ma, &na) : NULL, *wb = !s ? params_of(mb, &nb) : NULL;
    int same = wa && wb && na == nb && na > 0 && !memcmp(wa, wb, (size_t)na * sizeof *wa);
    free(wa), free(wb);
    glia_model_free(ma);
    glia_model_free(mb);
    test_rm_rf(a), test_rm_rf(b), test_rm_rf(dir);
    CHECK(oka == 1);
    CHECK_MSG(okb == 2, "the run was not stopped (%d)", okb);
    CHECK_MSG(!s, "resume: %s", glia_last_error());
    CHECK_MSG(same, "weights differ after a stop at batch 5 and resume (bucket %s)", bucket ? bucket : "default");
    rev_bucket = NULL;
}

TEST(seq2seq_resume_is_bit_exact) {
    resume_is_bit_exact(NULL);
    resume_is_bit_exact("3");
}

TEST(seq2seq_model_errors_name_line) {
    glia_model *m;
    const char *no_seq = "[net]\ninput = 1\ntarget = 4\n[dense]\nunits = 2\n";
    CHECK(glia_model_parse(no_seq, "a.cfg", 1, 1, &m) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "a.cfg") && strstr(glia_last_error(), "target"));
    char cfg[2048];
    snprintf(cfg, sizeof cfg, rev_cfg, "cosine");
    CHECK(glia_model_parse(cfg, "b.cfg", 1, 1, &m) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "b.cfg:") && strstr(glia_last_error(), "score = cosine"));
    snprintf(cfg, sizeof cfg, rev_cfg, "dot"); /* dot needs equal sizes: 48 vs 64 */
    CHECK(glia_model_parse(cfg, "c.cfg", 1, 1, &m) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "c.cfg:") && strstr(glia_last_error(), "att"));
    /* the canonical text keeps target and the attention, and parses back */
    snprintf(cfg, sizeof cfg, rev_cfg, "additive");
    OK(glia_model_parse(cfg, "d.cfg", 2, 1, &m));
    char *text;
    OK(glia_model_to_text(m, &text));
    CHECK(strstr(text, "target = 6") && strstr(text, "memory = enc") && strstr(text, "score = additive"));
    glia_model *m2;
    OK(glia_model_parse(text, "canon.cfg", 2, 1, &m2));
    CHECK(glia_model_target_steps(m2) == 6 && glia_model_attention(m2) >= 0);
    free(text);
    glia_model_free(m2);
    glia_model_free(m);
    /* a model without target writes no target key (other models' text is unchanged) */
    OK(glia_model_parse("[net]\ninput = 4\n[dense]\nunits = 2\n", "e.cfg", 1, 1, &m));
    OK(glia_model_to_text(m, &text));
    CHECK(!strstr(text, "target"));
    free(text);
    glia_model_free(m);
}

TEST(seq2seq_pairs_split_and_errors) {
    char dir[] = "/tmp/glia-s2s-XXXXXX", path[600], spec[700];
    CHECK(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/p.tsv", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 200; i++) fprintf(f, "w %d\tX Y%d\n", i, i % 3);
    fclose(f);
    snprintf(spec, sizeof spec, "pairs:%s", path);
    glia_pairs *p;
    OK(glia_pairs_load(spec, &p));
    CHECK(p->n == 200 && p->tgt_vocab >= 3 && !strcmp(p->tgt_sym[1], "</s>"));
    int parts[3] = {0, 0, 0};
    for (int i = 0; i < p->n; i++) {
        char src[32];
        snprintf(src, sizeof src, "w %d", i);
        uint64_t h = glia_pairs_hash(src, strlen(src)) % 20;
        CHECK(p->split[i] == (h == 0 ? 2 : h == 1 ? 1 : 0));
        parts[p->split[i]]++;
    }
    CHECK(parts[1] > 0 && parts[2] > 0 && parts[0] > 150);
    glia_pairs_free(p);
    f = fopen(path, "w");
    fprintf(f, "a b\tc\nno tab here\n");
    fclose(f);
    CHECK(glia_pairs_load(spec, &p) == GLIA_EINVAL && strstr(glia_last_error(), ":2:"));
    remove(path);
    rmdir(dir);
}

/* length buckets (task_seq2seq.c): a permutation of the epoch's pairs whose batches are of
 * similar lengths (the sum of the batches' longest sources well below a plain shuffle's), the
 * same from the same generator state (resume), another from another */
static int64_t longest_sum(const glia_pairs *p, const int64_t *order, int64_t G, int64_t nb) {
    int64_t sum = 0;
    for (int64_t b = 0; b < nb; b++) {
        int64_t mx = 0;
        for (int64_t j = b * G; j < b * G + G; j++) {
            const int64_t l = p->src_off[order[j] + 1] - p->src_off[order[j]];
            mx = l > mx ? l : mx;
        }
        sum += mx;
    }
    return sum;
}

static int cmp_i64(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

TEST(seq2seq_length_buckets) {
    char dir[] = "/tmp/glia-s2s-XXXXXX", data[600], spec[700];
    CHECK(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/rev.tsv", dir);
    snprintf(spec, sizeof spec, "pairs:%s", data);
    CHECK(write_reversal(data, 400));
    glia_pairs *p;
    OK(glia_pairs_load(spec, &p));
    enum { G = 8, BUCKET = 5 };
    const int64_t n = p->n, nb = n / G - 1; /* a few pairs left out, as an epoch leaves them */
    int64_t *plain = malloc((size_t)n * sizeof *plain), *a = malloc((size_t)n * sizeof *a);
    int64_t *b = malloc((size_t)n * sizeof *b), *scratch = malloc((size_t)(2 * n) * sizeof *scratch);
    glia__keyed *keys = malloc((size_t)BUCKET * G * sizeof *keys);
    glia_rng r0, r;
    glia_rng_seed(&r0, 7, 1);
    for (int64_t i = 0; i < n; i++) plain[i] = i;
    glia__shuffle(plain, n, &r0);
    memcpy(a, plain, (size_t)n * sizeof *a);
    r = r0;
    glia__length_buckets(p, a, G, nb, BUCKET, &r, keys, scratch);
    memcpy(b, plain, (size_t)n * sizeof *b);
    r = r0;
    glia__length_buckets(p, b, G, nb, BUCKET, &r, keys, scratch);
    CHECK(!memcmp(a, b, (size_t)n * sizeof *a)); /* the same generator state: the same order */
    const int64_t sum_plain = longest_sum(p, plain, G, nb), sum_b = longest_sum(p, a, G, nb);
    CHECK_MSG(sum_b * 10 < sum_plain * 9, "buckets: the batches' longest sources sum to %lld, a "
              "plain shuffle's to %lld", (long long)sum_b, (long long)sum_plain);
    CHECK(!memcmp(a + nb * G, plain + nb * G, (size_t)(n - nb * G) * sizeof *a)); /* left out: kept */
    qsort(a, (size_t)(nb * G), sizeof *a, cmp_i64);
    qsort(b, (size_t)(nb * G), sizeof *b, cmp_i64);
    memcpy(b, plain, (size_t)(nb * G) * sizeof *b);
    qsort(b, (size_t)(nb * G), sizeof *b, cmp_i64);
    CHECK(!memcmp(a, b, (size_t)(nb * G) * sizeof *a)); /* the same pairs */
    glia_rng_seed(&r, 8, 1); /* another generator: another batch order */
    memcpy(a, plain, (size_t)n * sizeof *a);
    memcpy(b, plain, (size_t)n * sizeof *b);
    glia__length_buckets(p, b, G, nb, BUCKET, &r, keys, scratch);
    r = r0;
    glia__length_buckets(p, a, G, nb, BUCKET, &r, keys, scratch);
    CHECK(memcmp(a, b, (size_t)n * sizeof *a) != 0);
    free(plain), free(a), free(b), free(scratch), free(keys);
    glia_pairs_free(p);
    test_rm_rf(dir);
}

/* [attention_decoder] (seq2seq_layers.c): with feed = 0 it computes what the [lstm],
 * [attention], [seqdense] (tanh) stack computes with the same weights; with input feeding its
 * gradients match finite differences on a tiny model (source lengths 4 and 2 of 4) */
static const char *stack_cfg =
    "[net]\ninput = 1\nsequence = 4\ntarget = 5\nclasses = 7\n"
    "[embedding]\nname = src\ninput = data\nvocab = 6\ndim = 4\n"
    "[lstm]\nname = enc\nhidden = 3\nbidirectional = 1\n"
    "[embedding]\nname = tgt\ninput = target\nvocab = 7\ndim = 4\n"
    "[lstm]\nname = dec\nhidden = 5\n"
    "[attention]\nname = att\nmemory = enc\nscore = general\n"
    "[seqdense]\nname = mix\nunits = 4\nactivation = tanh\n"
    "[dense]\nname = out\nunits = 7\n";
static const char *feed_cfg =
    "[net]\ninput = 1\nsequence = 4\ntarget = 5\nclasses = 7\n"
    "[embedding]\nname = src\ninput = data\nvocab = 6\ndim = 4\n"
    "[lstm]\nname = enc\nhidden = 3\nbidirectional = 1\n"
    "[embedding]\nname = tgt\ninput = target\nvocab = 7\ndim = 4\n"
    "[attention_decoder]\nname = dec\nmemory = enc\nhidden = 5\nscore = %s\nunits = 4\nfeed = %d\n"
    "[dense]\nname = out\nunits = 7\n";

/* source and target ids of 2 rows, source lengths 4 and 2 */
static void feed_inputs(glia_model *m) {
    glia_graph *g = glia_model_graph(m);
    float *x = glia_node_value(g, glia_model_input(m)), *len = glia_node_value(g, glia_model_lengths(m));
    float *y = glia_node_value(g, glia_model_target(m)), *ylen = glia_node_value(g, glia_model_target_lengths(m));
    for (int i = 0; i < 4 * 2; i++) x[i] = (float)(1 + (i * 7) % 5);
    for (int i = 0; i < 5 * 2; i++) y[i] = (float)((i * 3) % 7);
    len[0] = 4, len[1] = 2, ylen[0] = ylen[1] = 5;
}

TEST(seq2seq_attention_decoder) {
    char cfg[1024];
    glia_model *a, *b;
    OK(glia_model_parse(stack_cfg, "stack.cfg", 2, 3, &a));
    snprintf(cfg, sizeof cfg, feed_cfg, "general", 0);
    OK(glia_model_parse(cfg, "feed0.cfg", 2, 4, &b));
    static const char *const map[][2] = {
        {"dec.weight_ih_l0", "dec.weight_ih"}, {"dec.weight_hh_l0", "dec.weight_hh"},
        {"dec.bias_ih_l0", "dec.bias_ih"}, {"dec.bias_hh_l0", "dec.bias_hh"}, {"att.weight", "dec.weight"},
        {"mix.weight", "dec.attentional_weight"}, {"mix.bias", "dec.attentional_bias"}};
    glia_graph *ga = glia_model_graph(a), *gb = glia_model_graph(b);
    int copied = 0, params_b = 0;
    for (int i = 0; i < glia_graph_num_nodes(gb); i++) params_b += !strcmp(glia_node_op(gb, i), "param");
    for (int i = 0; i < glia_graph_num_nodes(ga); i++) {
        if (strcmp(glia_node_op(ga, i), "param")) continue;
        const char *name = glia_node_name(ga, i);
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            if (!strcmp(name, map[k][0])) name = map[k][1];
        int j;
        glia_shape sa, sb;
        CHECK_MSG(glia_graph_find(gb, name, &j) == GLIA_OK, "no parameter %s", name);
        glia_node_shape(ga, i, &sa);
        glia_node_shape(gb, j, &sb);
        CHECK(glia_shape_numel(&sa) == glia_shape_numel(&sb));
        memcpy(glia_node_value(gb, j), glia_node_value(ga, i), (size_t)glia_shape_numel(&sa) * sizeof(float));
        copied++;
    }
    CHECK(copied == params_b);
    OK(glia_graph_compile(ga, 0));
    OK(glia_graph_compile(gb, 0));
    feed_inputs(a);
    feed_inputs(b);
    OK(glia_graph_forward(ga));
    OK(glia_graph_forward(gb));
    const float *ya = glia_node_value(ga, glia_model_output(a)), *yb = glia_node_value(gb, glia_model_output(b));
    double worst = 0;
    for (int i = 0; i < 5 * 2 * 7; i++) worst = fmax(worst, fabs((double)ya[i] - yb[i]));
    CHECK_MSG(worst < 1e-5, "feed = 0 and the [lstm] [attention] [seqdense] stack differ by %g", worst);
    glia_model_free(a);
    glia_model_free(b);
    /* input feeding: finite differences, every parameter of the decoder, two scores */
    for (int sc = 0; sc < 2; sc++) {
        snprintf(cfg, sizeof cfg, feed_cfg, sc ? "additive" : "general", 1);
        OK(glia_model_parse(cfg, "feed1.cfg", 2, 5 + (uint64_t)sc, &b));
        gb = glia_model_graph(b);
        OK(glia_graph_compile(gb, GLIA_COMPILE_BACKWARD));
        feed_inputs(b);
        int checked = 0;
        for (int i = 0; i < glia_graph_num_nodes(gb); i++) {
            if (strcmp(glia_node_op(gb, i), "param") || strncmp(glia_node_name(gb, i), "dec.", 4)) continue;
            /* a step of 9e-3: through 5 steps of LSTM, attention and tanh, float32 differences
             * at 1e-3 are noise of 1e-2 (the error falls as the step grows: not a wrong gradient) */
            double err = 1;
            int64_t n = 0;
            OK(test_gradcheck(gb, glia_model_output(b), i, 9e-3f, &err, &n));
            CHECK_MSG(n > 0 && err < 3e-3, "feed: gradcheck of %s: %g (%lld elements)", glia_node_name(gb, i),
                      err, (long long)n);
            checked++;
        }
        CHECK(checked == (sc ? 9 : 7));
        glia_model_free(b);
    }
}
