/* cmd_translate.c: glia translate and glia attention, for encoder-decoder runs ([net] target;
 * src/nn/seq2seq_*.c).
 *
 *   glia translate DIR INPUT... [--file F] [--beam K] [--alpha A] [--max-len N] [--json]
 *   glia translate DIR --test [--beam K] [--limit N]     phoneme/token and word error rates
 *   --recompute: decode by rerunning the decoder over the prefix (the O(T^2) check)
 *   --ensemble DIR2[,DIR3...]: decode with the mean distribution of several runs' models
 *   glia attention DIR INPUT [--beam K] [--out FILE]     the attention matrix as a PNG
 *
 * An INPUT with spaces is a list of source symbols; one without is read symbol by symbol, one
 * byte each ("knight" -> k n i g h t), as scripts/fetch-data cmudict writes words. A symbol the
 * training data never had becomes <unk>; one not found as written is tried lowercased. */
#include "cli.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    run_dir r;
    char **src, **tgt;
    int n_src, n_tgt, S, T2;
} s2s_run;

static void s2s_close(s2s_run *s) {
    vocab_free(s->src, s->n_src);
    vocab_free(s->tgt, s->n_tgt);
    run_dir_free(&s->r);
}

static int s2s_open(const char *dir, s2s_run *s, const char *cmd) {
    memset(s, 0, sizeof *s);
    if (!run_dir_open(dir, 1, &s->r, cmd)) return 0;
    char path[1200];
    s->S = glia_model_sequence(s->r.m);
    s->T2 = glia_model_target_steps(s->r.m);
    if (s->T2 < 1) {
        fprintf(stderr, "glia %s: the model in %s is not an encoder-decoder ([net] target = T2; "
                        "see docs/model-format.md)\n", cmd, dir);
        s2s_close(s);
        return 0;
    }
    snprintf(path, sizeof path, "%s/source_vocab.txt", dir);
    if ((s->src = vocab_read(path, &s->n_src))) {
        snprintf(path, sizeof path, "%s/target_vocab.txt", dir);
        s->tgt = vocab_read(path, &s->n_tgt);
    }
    if (!s->src || !s->tgt || s->n_tgt < 3) {
        fprintf(stderr, "glia %s: %s\n", cmd, s->tgt ? "target_vocab.txt is too short" : glia_last_error());
        s2s_close(s);
        return 0;
    }
    return 1;
}

static int src_id(const s2s_run *s, const char *sym) {
    for (int pass = 0; pass < 2; pass++)
        for (int i = 1; i < s->n_src; i++) {
            const char *a = s->src[i], *b = sym;
            while (*a && *b && *a == (pass ? (char)tolower((unsigned char)*b) : *b)) a++, b++;
            if (!*a && !*b) return i;
        }
    return 0; /* <unk> */
}

/* the source ids of an input (see the top), at most S; returns the count, -1 if too long */
static int read_input(const s2s_run *s, const char *in, int *ids, char labels[][VOCAB_WORD_MAX]) {
    int n = 0;
    if (!strchr(in, ' ')) {
        for (const char *p = in; *p; p++, n++) {
            if (n >= s->S) return -1;
            char sym[2] = {*p, 0};
            ids[n] = src_id(s, sym);
            if (labels) snprintf(labels[n], VOCAB_WORD_MAX, "%s", sym);
        }
        return n;
    }
    char buf[VOCAB_WORD_MAX];
    for (const char *p = in; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t L = 0;
        while (p[L] && p[L] != ' ') L++;
        if (n >= s->S) return -1;
        snprintf(buf, sizeof buf, "%.*s", (int)(L < sizeof buf - 1 ? L : sizeof buf - 1), p);
        ids[n] = src_id(s, buf);
        if (labels) snprintf(labels[n], VOCAB_WORD_MAX, "%s", buf);
        n++;
        p += L;
    }
    return n;
}

static const char *tgt_sym(const s2s_run *s, int id) { return id >= 0 && id < s->n_tgt ? s->tgt[id] : "?"; }

/* --ensemble: the other runs, whose vocabularies must be the first run's, symbol for symbol */
#define MAX_MODELS 8
typedef struct {
    s2s_run run[MAX_MODELS - 1];
    glia_model *m[MAX_MODELS]; /* the first run's model, then each other run's */
    int n;                     /* models in all */
} ensemble;

static int same_vocab(char **a, int na, char **b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i])) return 0;
    return 1;
}

static void ensemble_close(ensemble *e) {
    for (int i = 1; i < e->n; i++) s2s_close(&e->run[i - 1]);
    e->n = 0;
}

/* the first run, then the runs listed in `list` (comma-separated); 0 with a message on error */
static int ensemble_open(ensemble *e, s2s_run *first, const char *list, int recompute) {
    memset(e, 0, sizeof *e);
    e->m[0] = first->r.m;
    e->n = 1;
    for (const char *p = list; p && *p;) {
        size_t L = strcspn(p, ",");
        char dir[1024];
        snprintf(dir, sizeof dir, "%.*s", (int)(L < sizeof dir - 1 ? L : sizeof dir - 1), p);
        p += L + (p[L] == ',');
        if (!*dir) continue;
        if (e->n == MAX_MODELS) {
            fprintf(stderr, "glia translate: --ensemble: %d models at most\n", MAX_MODELS);
            ensemble_close(e);
            return 0;
        }
        s2s_run *r = &e->run[e->n - 1];
        if (!s2s_open(dir, r, "translate")) {
            ensemble_close(e);
            return 0;
        }
        e->m[e->n++] = r->r.m;
        if (!same_vocab(first->src, first->n_src, r->src, r->n_src) ||
            !same_vocab(first->tgt, first->n_tgt, r->tgt, r->n_tgt) || r->S != first->S ||
            r->T2 != first->T2) {
            fprintf(stderr, "glia translate: --ensemble: %s reads %d source and writes %d target "
                            "steps over vocabularies of %d and %d symbols, unlike %s (%d, %d, %d, "
                            "%d): an ensemble needs runs on the same data and shapes\n",
                    dir, r->S, r->T2, r->n_src, r->n_tgt, first->r.dir, first->S, first->T2,
                    first->n_src, first->n_tgt);
            ensemble_close(e);
            return 0;
        }
        glia_seq2seq_set_incremental(r->r.m, !recompute);
    }
    return 1;
}

/* Levenshtein distance between a[0..n) and b[0..m) */
static int edit_distance(const int *a, int n, const int *b, int m) {
    int *d = malloc((size_t)(m + 1) * 2 * sizeof *d), *prev = d, *cur = d + m + 1;
    if (!d) return n > m ? n : m;
    for (int j = 0; j <= m; j++) prev[j] = j;
    for (int i = 1; i <= n; i++) {
        cur[0] = i;
        for (int j = 1; j <= m; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]), del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        int *t = prev;
        prev = cur;
        cur = t;
    }
    int r = prev[m];
    free(d);
    return r;
}

/* --test: the run's test pairs decoded greedily (batched) or by beam search, scored against
 * their targets: token error rate (PER for G2P) and sequence error rate (WER) */
static int test_rates(s2s_run *s, const ensemble *e, const glia_decode_options *o, int limit,
                      int json) {
    glia_pairs *p;
    if (glia_pairs_load(s->r.data, &p)) {
        fprintf(stderr, "glia translate: %s\n", glia_last_error());
        return 1;
    }
    int n = 0, rc = 0;
    const int **srcs = malloc((size_t)p->n * sizeof *srcs);
    int *lens = malloc((size_t)p->n * sizeof *lens), *which = malloc((size_t)p->n * sizeof *which);
    int *outs = malloc((size_t)p->n * s->T2 * sizeof *outs), *olen = malloc((size_t)p->n * sizeof *olen);
    if (!srcs || !lens || !which || !outs || !olen) {
        fprintf(stderr, "glia translate: out of memory\n");
        rc = 1;
        goto done;
    }
    for (int i = 0; i < p->n && (limit <= 0 || n < limit); i++) {
        int L = p->src_off[i + 1] - p->src_off[i];
        if (p->split[i] != 2 || L > s->S) continue;
        srcs[n] = p->src_ids + p->src_off[i];
        lens[n] = L;
        which[n++] = i;
    }
    /* target ids: the pairs' and the run's vocabularies are both the training symbols in byte
     * order, so they agree; checked on the sizes */
    if (p->tgt_vocab != s->n_tgt || p->src_vocab != s->n_src) {
        fprintf(stderr, "glia translate: %s's vocabularies (%d, %d symbols) differ from the run's "
                        "(%d, %d)\n", s->r.data, p->src_vocab, p->tgt_vocab, s->n_src, s->n_tgt);
        rc = 1;
        goto done;
    }
    glia_status st = GLIA_OK;
    if (o->beam == 1 && !o->max_len) {
        st = e->n == 1 ? glia_seq2seq_greedy(s->r.m, n, srcs, lens, 64, outs, olen)
                       : glia_seq2seq_greedy_ensemble(e->m, e->n, n, srcs, lens, 64, outs, olen);
    } else {
        /* beam search, 64 rows a forward (64 / beam sources), shown every 256 sources */
        const int per = o->beam < 64 ? 64 / o->beam : 1;
        for (int i = 0; i < n && !st; i += 256) {
            const int k = n - i < 256 ? n - i : 256;
            st = glia_seq2seq_decode_batch(e->m, e->n, k, srcs + i, lens + i, o, per,
                                           outs + (size_t)i * s->T2, olen + i, NULL);
            if (isatty(2)) fprintf(stderr, "\r  beam %d: %d/%d words", o->beam, i + k, n);
        }
        if (isatty(2)) fprintf(stderr, "\n");
    }
    if (st) {
        fprintf(stderr, "glia translate: %s\n", glia_last_error());
        rc = 1;
        goto done;
    }
    long long errs = 0, toks = 0, wrong = 0;
    for (int i = 0; i < n; i++) {
        const int k = which[i], *ref = p->tgt_ids + p->tgt_off[k], m = p->tgt_off[k + 1] - p->tgt_off[k];
        int ed = edit_distance(outs + (size_t)i * s->T2, olen[i], ref, m);
        errs += ed;
        toks += m;
        wrong += ed > 0;
    }
    double per = toks ? 100.0 * (double)errs / (double)toks : 0, wer = n ? 100.0 * (double)wrong / n : 0;
    if (json)
        printf("{\"test_sequences\": %d, \"beam\": %d, \"models\": %d, \"token_error_rate\": %.4f, "
               "\"sequence_error_rate\": %.4f}\n", n, o->beam, e->n, per, wer);
    else
        printf("%s test part: %d sequences, beam %d%s: token (phoneme) error rate %.2f%%, sequence "
               "(word) error rate %.2f%%\n", s->r.data, n, o->beam, e->n > 1 ? ", ensemble" : "",
               per, wer);
done:
    free(srcs), free(lens), free(which), free(outs), free(olen);
    glia_pairs_free(p);
    return rc;
}

static int translate_help(void) {
    printf("usage: glia translate DIR INPUT... [--beam K] [--alpha A] [--max-len N] [--json]\n"
           "                      [--ensemble DIR2,...]\n"
           "       glia translate DIR --file F [INPUT...] [options as above]\n"
           "       glia translate DIR --test [--beam K] [--limit N] [--json] [--ensemble DIR2,...]\n\n"
           "Decodes each INPUT with the encoder-decoder trained in DIR (glia train of a model with\n"
           "[net] target; docs/model-format.md) and prints INPUT, a tab and the output sequence,\n"
           "a line each, in order. Inputs are decoded 64 rows at a time (64 / K with --beam K).\n"
           "An INPUT with spaces is a list of source symbols; one without is read one\n"
           "character per symbol (\"knight\" -> k n i g h t). Unknown symbols become <unk>.\n"
           "  --file F      also decode every line of F (- : standard input), up to its\n"
           "                first tab (so a \"source<TAB>target\" pairs file works); blank\n"
           "                lines skipped; a bad line is reported with its number, the rest\n"
           "                go on\n"
           "  --beam K      beam search with K beams (default 1: greedy)\n"
           "  --alpha A     length normalisation: the best log p / length^A wins (default 0)\n"
           "  --max-len N   output symbols at most (default: the model's target - 1)\n"
           "  --json        one JSON object: inputs, outputs and their log-probabilities\n"
           "  --test        decode the test part of the run's data set (the fixed hash split)\n"
           "                and print the token error rate (phonemes: PER) and the sequence\n"
           "                error rate (words: WER); 64 rows a forward (64 / K words with\n"
           "                --beam K)\n"
           "  --limit N     --test: the first N test sequences only\n"
           "  --recompute   rerun the decoder over the whole prefix at every step (O(T^2),\n"
           "                the old way; the same outputs as the default one-step decoding)\n"
           "  --ensemble DIR2[,DIR3...]  decode with DIR's model and these runs' models\n"
           "                together (up to %d; trained on the same data): at each step the\n"
           "                mean of their next-symbol distributions\n", MAX_MODELS);
    return 0;
}

#define MAX_INPUTS 256
#define FILE_CHUNK 1024 /* --file: lines decoded and printed at a time */

/* decodes n inputs (INPUTs, or lines lno[i] of --file `where`) in
 * batches of 64 rows and prints each as "INPUT<TAB>OUTPUT" (or a JSON object, *first_json: none
 * printed yet); an input with no or too many symbols is reported and skipped (returns 1), a
 * decoding error stops (returns -1) */
static int translate_inputs(const s2s_run *s, const ensemble *e, const glia_decode_options *o,
                            int json, const char *const *in, int n, const char *where,
                            const long *lno, int *first_json) {
    int rc = 0, nv = 0;
    const int **srcs = malloc((size_t)(n ? n : 1) * sizeof *srcs);
    int *ids = malloc((size_t)(n ? n : 1) * s->S * sizeof *ids), *lens = malloc((size_t)(n ? n : 1) * 3 * sizeof *lens);
    int *outs = malloc((size_t)(n ? n : 1) * s->T2 * sizeof *outs);
    float *scores = malloc((size_t)(n ? n : 1) * sizeof *scores);
    int *which = lens ? lens + n : NULL, *olen = which ? which + n : NULL;
    if (!srcs || !ids || !lens || !outs || !scores) {
        fprintf(stderr, "glia translate: out of memory\n");
        rc = -1;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        int *row = ids + (size_t)nv * s->S, L = read_input(s, in[i], row, NULL);
        if (L < 1) {
            if (where) fprintf(stderr, "glia translate: %s:%ld: ", where, lno[i]);
            else fprintf(stderr, "glia translate: ");
            fprintf(stderr, "'%s' has %s symbols; the model reads 1..%d\n", in[i],
                    L < 0 ? "too many" : "no", s->S);
            rc = 1;
            continue;
        }
        srcs[nv] = row, lens[nv] = L, which[nv++] = i;
    }
    /* 64 rows a forward: 64 / beam sources */
    if (nv && glia_seq2seq_decode_batch(e->m, e->n, nv, srcs, lens, o, o->beam < 64 ? 64 / o->beam : 1,
                                  outs, olen, scores)) {
        fprintf(stderr, "glia translate: %s\n", glia_last_error());
        rc = -1;
        goto done;
    }
    for (int k = 0; k < nv; k++) {
        const char *input = in[which[k]];
        const int *out = outs + (size_t)k * s->T2;
        if (json) {
            printf("%s{\"input\": ", *first_json ? "" : ", ");
            *first_json = 0;
            predict_json_str(input);
            printf(", \"output\": [");
            for (int t = 0; t < olen[k]; t++) {
                printf("%s", t ? ", " : "");
                predict_json_str(tgt_sym(s, out[t]));
            }
            if (isfinite(scores[k])) printf("], \"log_prob\": %.6g}", (double)scores[k]);
            else printf("], \"log_prob\": null}"); /* nothing decodable: a diverged model */
        } else {
            printf("%s\t", input);
            for (int t = 0; t < olen[k]; t++) printf("%s%s", t ? " " : "", tgt_sym(s, out[t]));
            printf("\n");
        }
    }
done:
    free(srcs), free(ids), free(lens), free(outs), free(scores);
    return rc;
}

/* --file F (- : standard input): a line per input, FILE_CHUNK lines at a time */
static int translate_file(const s2s_run *s, const ensemble *e, const glia_decode_options *o,
                          int json, const char *path, int *first_json) {
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f) {
        fprintf(stderr, "glia translate: %s: cannot open: %s\n", path, strerror(errno));
        return 1;
    }
    const char *name = f == stdin ? "<stdin>" : path;
    const int tty = isatty(fileno(f)); /* typed: each line answered at once */
    char **lines = calloc(FILE_CHUNK, sizeof *lines);
    long *lno = malloc(FILE_CHUNK * sizeof *lno), line = 0;
    int rc = lines && lno ? 0 : -1, n = 0;
    size_t cap = 0;
    char *buf = NULL;
    ssize_t got;
    while (rc >= 0) {
        got = getline(&buf, &cap, f);
        if (got >= 0) {
            line++;
            /* spaces, tabs and CR around the input are not symbols */
            char *p = buf;
            while (got > 0 && strchr(" \t\r\n", buf[got - 1])) buf[--got] = 0;
            while (*p == ' ' || *p == '\t') p++;
            char *tab = strchr(p, '\t'); /* "source<TAB>target" (a pairs file): the source */
            if (tab) *tab = 0;
            for (size_t L = strlen(p); L > 0 && p[L - 1] == ' ';) p[--L] = 0;
            if (!*p) continue; /* blank lines are skipped */
            if (!(lines[n] = strdup(p))) {
                fprintf(stderr, "glia translate: out of memory\n");
                rc = -1;
            } else {
                lno[n++] = line;
            }
        }
        if (n && (n == FILE_CHUNK || got < 0 || rc < 0 || tty)) {
            int r = rc < 0 ? -1 : translate_inputs(s, e, o, json, (const char *const *)lines, n, name, lno, first_json);
            for (int i = 0; i < n; i++) free(lines[i]);
            n = 0;
            if (r) rc = r;
            fflush(stdout);
        }
        if (got < 0) break;
    }
    if (!lines || !lno) fprintf(stderr, "glia translate: out of memory\n");
    else if (ferror(f)) {
        fprintf(stderr, "glia translate: %s: read error\n", name);
        rc = 1;
    }
    free(buf), free(lines), free(lno);
    if (f != stdin) fclose(f);
    return rc;
}


int cmd_translate(int argc, char **argv) {
    if (wants_help(argc, argv)) return translate_help();
    const char *pos[MAX_INPUTS + 1];
    int npos, beam = 1, max_len = 0, json = 0, test = 0, limit = 0, recompute = 0;
    float alpha = 0;
    const char *ens_list = NULL, *file = NULL;
    cli_opt opts[] = {{"--file", 's', &file}, {"--beam", 'i', &beam}, {"--alpha", 'f', &alpha},
                      {"--max-len", 'i', &max_len}, {"--json", 'b', &json}, {"--test", 'b', &test}, {"--limit", 'i', &limit},
                      {"--recompute", 'b', &recompute}, {"--ensemble", 's', &ens_list},
                      {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, pos, MAX_INPUTS + 1, &npos, "translate")) return 2;
    if (npos < 1 || (npos < 2 && !test && !file) || (test && file) || beam < 1 || beam > 64 ||
        max_len < 0 || !(alpha >= 0)) {
        fprintf(stderr, "glia translate: need DIR and INPUT... and/or --file F (or DIR --test), "
                        "--beam in 1..64, --alpha >= 0 (see glia translate --help)\n");
        return 2;
    }
    s2s_run s;
    if (!s2s_open(pos[0], &s, "translate")) return 1;
    glia_seq2seq_set_incremental(s.r.m, !recompute);
    ensemble e;
    if (!ensemble_open(&e, &s, ens_list, recompute)) {
        s2s_close(&s);
        return 1;
    }
    glia_decode_options o = {beam, alpha, max_len};
    int rc = 0;
    if (test) {
        rc = test_rates(&s, &e, &o, limit, json);
        ensemble_close(&e);
        s2s_close(&s);
        return rc;
    }
    int first_json = 1;
    if (json) printf("{\"beam\": %d, \"models\": %d, \"translations\": [", beam, e.n);
    if (npos > 1) rc = translate_inputs(&s, &e, &o, json, pos + 1, npos - 1, NULL, NULL, &first_json);
    if (file && rc >= 0) {
        int r = translate_file(&s, &e, &o, json, file, &first_json);
        rc = r ? r : rc;
    }
    if (json) printf("]}\n");
    ensemble_close(&e);
    s2s_close(&s);
    return rc ? 1 : 0;
}

int cmd_attention(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia attention DIR INPUT [--beam K] [--out FILE]\n\n"
               "Decodes INPUT with the encoder-decoder trained in DIR (as glia translate) and\n"
               "draws its attention: a row per output symbol (and </s>), a column per input\n"
               "symbol, each cell the weight the decoder gave that input (0 dark, 1 yellow).\n"
               "  --beam K    beam search with K beams (default 1: greedy)\n"
               "  --out FILE  the PNG (default attention.png)\n");
        return 0;
    }
    const char *pos[2], *out_png = "attention.png";
    int npos, beam = 1;
    cli_opt opts[] = {{"--beam", 'i', &beam}, {"--out", 's', &out_png}, {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, pos, 2, &npos, "attention")) return 2;
    if (npos != 2 || beam < 1 || beam > 64) {
        fprintf(stderr, "glia attention: need DIR and one INPUT, --beam in 1..64 (see glia "
                        "attention --help)\n");
        return 2;
    }
    s2s_run s;
    if (!s2s_open(pos[0], &s, "attention")) return 1;
    int rc = 1, len = 0;
    int *ids = malloc((size_t)s.S * sizeof *ids), *out = malloc((size_t)s.T2 * sizeof *out);
    char(*labels)[VOCAB_WORD_MAX] = malloc((size_t)s.S * sizeof *labels);
    float *w = malloc((size_t)s.T2 * s.S * sizeof *w);
    const char **rl = malloc((size_t)s.T2 * sizeof *rl), **cl = malloc((size_t)s.S * sizeof *cl);
    glia_decode_options o = {beam, 0.0f, 0};
    int n = ids && labels ? read_input(&s, pos[1], ids, labels) : 0;
    if (!ids || !out || !labels || !w || !rl || !cl) {
        fprintf(stderr, "glia attention: out of memory\n");
    } else if (n < 1) {
        fprintf(stderr, "glia attention: '%s' has %s symbols; the model reads 1..%d\n", pos[1],
                n < 0 ? "too many" : "no", s.S);
    } else if (glia_seq2seq_decode(s.r.m, ids, n, &o, out, &len, NULL, w)) {
        fprintf(stderr, "glia attention: %s\n", glia_last_error());
    } else {
        int rows = len < s.T2 ? len + 1 : s.T2;
        float *wc = malloc((size_t)rows * n * sizeof *wc); /* the live columns only */
        for (int t = 0; t < rows; t++) rl[t] = t < len ? tgt_sym(&s, out[t]) : "</s>";
        for (int j = 0; j < n; j++) cl[j] = labels[j];
        for (int t = 0; wc && t < rows; t++) memcpy(wc + (size_t)t * n, w + (size_t)t * s.S, (size_t)n * sizeof *wc);
        char title[300];
        snprintf(title, sizeof title, "attention: %s", pos[1]);
        if (!wc || glia_attention_png(out_png, title, wc, rows, n, rl, cl)) {
            fprintf(stderr, "glia attention: %s\n", wc ? glia_last_error() : "out of memory");
        } else {
            printf("%s\t", pos[1]);
            for (int t = 0; t < len; t++) printf("%s%s", t ? " " : "", rl[t]);
            printf("\nwrote %s (%d outputs x %d inputs)\n", out_png, rows, n);
            rc = 0;
        }
        free(wc);
    }
    free(ids), free(out), free(labels), free(w), free(rl), free(cl);
    s2s_close(&s);
    return rc;
}
