/* predict_text.c: glia predict DIR SENTENCE... for sequence models trained on sentences.
 * Each sentence is read as training read it (src/data/text.c): split at white space, every
 * word lowercased; a word-id model looks each word up in the run's vocab.txt (unknown words are
 * the last id, "<other>"), a [wordhash] model takes each word's letter trigrams (any word, seen
 * or not). The first T words (T = the model's sequence) fill x [T, 1, K] and the lengths input.
 * A sentence classifier (output [1, C]) prints its K most probable classes; a tagger (output
 * [T, C], one row per step) prints word/TAG for each word. */
#include "cli.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the sentence's words, lowercased, at most max; returns the count (0 for none) */
static int split_words(const char *s, char (*words)[VOCAB_WORD_MAX], int max) {
    int n = 0;
    while (*s && n < max) {
        while (*s && isspace((unsigned char)*s)) s++;
        if (!*s) break;
        size_t L = 0;
        for (; *s && !isspace((unsigned char)*s); s++)
            if (L < VOCAB_WORD_MAX - 1) words[n][L++] = (char)tolower((unsigned char)*s);
        words[n++][L] = 0;
    }
    return n;
}

int predict_text(run_dir *r, const char *dir, const char **texts, int n, int top, int json) {
    if (!r->named) { /* run_dir_open read classes.txt: none there */
        fprintf(stderr, "glia predict: %s has no classes.txt: a character language model? "
                        "(glia generate %s writes text from one)\n", dir, dir);
        return 1;
    }
    char path[1200];
    glia_model *m = r->m;
    glia_graph *g = glia_model_graph(m);
    int x = glia_model_input(m), len = glia_model_lengths(m), out = glia_model_output(m);
    int K = 1, buckets = glia_model_wordhash(m, &K), V = 0, C = r->classes;
    glia_shape xs, os;
    glia_node_shape(g, x, &xs);
    glia_node_shape(g, out, &os);
    const int T = (int)xs.dim[0];
    const int tagger = os.ndim == 2 && os.dim[0] == T && T > 1;
    char **vocab = NULL;
    if (!buckets) {
        snprintf(path, sizeof path, "%s/vocab.txt", dir);
        vocab = vocab_read(path, &V);
        if (!vocab || V < 2) {
            if (vocab) fprintf(stderr, "glia predict: %s: no vocabulary\n", path);
            else fprintf(stderr, "glia predict: %s\n", glia_last_error());
            vocab_free(vocab, V);
            return 1;
        }
    }
    if (len < 0 || xs.ndim != 3 || xs.dim[1] != 1 || xs.dim[2] != K || os.ndim != 2 ||
        os.dim[1] != C || glia_graph_compile(g, 0)) {
        fprintf(stderr, "glia predict: the model in %s does not read sentences of words "
                        "(input [T, 1, %d], an output of %d classes)%s%s\n", dir, K, C,
                glia_last_error()[0] ? ": " : "", glia_last_error());
        vocab_free(vocab, V);
        return 1;
    }
    glia_graph_set_training(g, 0);
    char (*words)[VOCAB_WORD_MAX] = malloc((size_t)T * sizeof *words);
    double *p = malloc((size_t)C * sizeof *p);
    int *order = malloc((size_t)C * sizeof *order), rc = 0;
    int32_t *ids = malloc((size_t)K * sizeof *ids);
    if (!words || !p || !order || !ids) {
        fprintf(stderr, "glia predict: out of memory\n");
        free(words), free(p), free(order), free(ids), vocab_free(vocab, V);
        return 1;
    }
    if (top > C) top = C;
    if (json) printf("{\"predictions\": [");
    for (int i = 0; i < n; i++) {
        int L = split_words(texts[i], words, T);
        if (!L) {
            fprintf(stderr, "glia predict: sentence %d has no words\n", i + 1);
            rc = 1;
            continue;
        }
        float *xv = glia_node_value(g, x);
        for (int64_t k = 0; k < (int64_t)T * K; k++) xv[k] = buckets ? -1.0f : 0.0f;
        for (int t = 0; t < L; t++) {
            if (buckets) { /* the word's trigram buckets, -1 in empty slots */
                glia_word_trigrams(words[t], buckets, ids, K);
                for (int j = 0; j < K; j++) xv[(size_t)t * K + j] = (float)ids[j];
                continue;
            }
            int id = V - 1; /* <other> */
            for (int v = 0; v < V - 1; v++)
                if (!strcmp(vocab[v], words[t])) { id = v; break; }
            xv[t] = (float)id;
        }
        glia_node_value(g, len)[0] = (float)L;
        if (glia_graph_forward(g)) {
            fprintf(stderr, "glia predict: %s\n", glia_last_error());
            rc = 1;
            continue;
        }
        const float *z = glia_node_value(g, out);
        if (json) {
            printf("%s{\"text\": ", i ? ", " : "");
            predict_json_str(texts[i]);
        } else printf("%s\n", texts[i]);
        if (tagger) { /* row t: the tag of word t */
            if (json) printf(", \"tags\": [");
            for (int t = 0; t < L; t++) {
                predict_softmax_top(z + (size_t)t * C, C, 1, p, order);
                if (json) {
                    printf("%s{\"word\": ", t ? ", " : "");
                    predict_json_str(words[t]);
                    printf(", \"tag\": ");
                    predict_json_str(r->names[order[0]]);
                    printf(", \"p\": %.9g}", p[order[0]]);
                } else printf("%s%s/%s", t ? " " : "  ", words[t], r->names[order[0]]);
            }
            printf(json ? "]}" : "\n");
            continue;
        }
        predict_softmax_top(z, C, top, p, order);
        if (json) {
            printf(", \"probs\": [");
            for (int c = 0; c < C; c++) printf("%s%.9g", c ? ", " : "", p[c]);
            printf("], \"top\": [");
            for (int a = 0; a < top; a++) {
                printf("%s{\"class\": %d, \"name\": ", a ? ", " : "", order[a]);
                predict_json_str(r->names[order[a]]);
                printf(", \"p\": %.9g}", p[order[a]]);
            }
            printf("]}");
        } else
            for (int a = 0; a < top; a++)
                printf("  %6.2f%%  %d %s\n", 100 * p[order[a]], order[a], r->names[order[a]]);
    }
    if (json) printf("]}\n");
    free(words), free(p), free(order), free(ids), vocab_free(vocab, V);
    return rc;
}
