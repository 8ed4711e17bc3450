/* cmd_generate.c: glia generate DIR --prime TEXT --length N --temperature T --seed S.
 * Text from a character language model trained by glia train (one-to-many): the model is
 * rebuilt for one sequence of one step, the prime is fed character by character (the state
 * carried from step to step), then each next character is drawn from softmax(logits / T) and
 * fed back as the next input. */
#include "cli.h"
#include "glia.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void) {
    printf("usage: glia generate DIR [--prime TEXT] [--length N] [--temperature T] [--seed S]\n\n"
           "Prints text from the character language model trained in DIR (model.cfg,\n"
           "weights.safetensors, vocab.txt, as glia train writes them): the prime, then N\n"
           "characters, each drawn from the model's softmax(logits / T) and fed back as input.\n"
           "  --prime TEXT       the start (default \"The \"); unknown characters count as <other>\n"
           "  --length N         characters to generate (default 500)\n"
           "  --temperature T    > 0; low: likely, repetitive; high: varied, misspelt (default 0.8)\n"
           "  --seed S           for the draws (default 1)\n");
}

int cmd_generate(int argc, char **argv) {
    if (wants_help(argc, argv)) { usage(); return 0; }
    const char *dir = NULL, *prime = "The ";
    long length = 500;
    double temp = 0.8;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        int has = i + 1 < argc;
        char *end = "";
        if (!strcmp(argv[i], "--prime") && has) prime = argv[++i];
        else if (!strcmp(argv[i], "--length") && has) length = strtol(argv[++i], &end, 10);
        else if (!strcmp(argv[i], "--temperature") && has) temp = strtod(argv[++i], &end);
        else if (!strcmp(argv[i], "--seed") && has) end = cli_u64(argv[++i], &seed) ? "" : "bad";
        else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else {
            fprintf(stderr, "glia generate: unknown or incomplete option '%s' (see glia generate --help)\n", argv[i]);
            return 2;
        }
        if (*end || length < 0 || !(temp > 0) || !isfinite(temp)) {
            fprintf(stderr, "glia generate: bad value '%s' for %s\n", argv[i], argv[i - 1]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "glia generate: which run directory? (see glia generate --help)\n");
        return 2;
    }
    char path[1200], sym[65536];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    int V = 0;
    char **words = vocab_read(path, &V);
    if (!words || V < 2) {
        if (words) fprintf(stderr, "glia generate: %s: no vocabulary\n", path);
        else fprintf(stderr, "glia generate: %s\n", glia_last_error());
        vocab_free(words, V);
        return 1;
    }
    int n_words = V;
    if (V > (int)sizeof sym) V = (int)sizeof sym;
    for (int k = 0; k < V; k++) /* a character per symbol; "<other>" and words: 0 */
        sym[k] = strlen(words[k]) == 1 ? words[k][0] : 0;
    vocab_free(words, n_words);
    /* the model for one step of one sequence */
    glia_model *m = NULL, *m1 = NULL;
    char *text = NULL;
    snprintf(path, sizeof path, "%s/model.cfg", dir);
    glia_status s = glia_model_load(path, 1, seed, &m);
    if (!s && glia_model_sequence(m) < 1)
        s = GLIA_EINVAL, fprintf(stderr, "glia generate: %s is not a sequence model\n", path);
    else if (!s && glia_model_wordhash(m, NULL) > 0)
        s = GLIA_EINVAL, fprintf(stderr, "glia generate: %s reads words as letter trigrams "
                                 "([wordhash]); generate needs a character language model "
                                 "(glia predict %s SENTENCE... classifies sentences)\n", path, dir);
    else if (!s && (s = glia_model_set_option(m, "sequence", "1")) == GLIA_OK &&
             (s = glia_model_to_text(m, &text)) == GLIA_OK)
        s = glia_model_parse(text, path, 1, seed, &m1);
    free(text);
    glia_model_free(m);
    glia_graph *g = m1 ? glia_model_graph(m1) : NULL;
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    if (!s) s = glia_safetensors_load(g, path);
    glia_shape os;
    if (!s && (glia_node_shape(g, glia_model_output(m1), &os) || os.ndim != 2 || os.dim[1] != V ||
               glia_model_vocab(m1) != V)) {
        fprintf(stderr, "glia generate: the model in %s does not predict its %d-symbol vocabulary "
                        "(a character language model ends in [seqdense] units = vocab)\n", dir, V);
        glia_model_free(m1);
        return 1;
    }
    if (s) {
        if (s != GLIA_EINVAL || *glia_last_error()) fprintf(stderr, "glia generate: %s\n", glia_last_error());
        glia_model_free(m1);
        return 1;
    }
    glia_graph_set_training(g, 0);
    int xn = glia_model_input(m1), y = glia_model_output(m1);
    float *xc = NULL, *zc = NULL; /* host copies on a device without host memory */
    float *x = node_host(g, xn, &xc, "generate");
    int failed = !x; /* node_host / node_sync said why */
    double *p = x ? malloc((size_t)V * sizeof *p) : NULL;
    glia_rng rng;
    glia_rng_seed(&rng, seed, 0x9e4);
    glia_model_carry_state(m1, 1);
    fputs(prime, stdout);
    size_t np = strlen(prime);
    int next = V - 1;
    for (long i = 0; p && !s && i < (long)np + length; i++) {
        if (i < (long)np) { /* the prime's symbol, or <other> */
            next = V - 1;
            for (int k = 0; k < V - 1; k++)
                if (sym[k] == prime[i] && sym[k]) next = k;
        } else {
            putchar(sym[next] ? sym[next] : '?');
        }
        x[0] = (float)next;
        if (!node_sync(g, xn, x, xc, "generate")) {
            failed = 1;
            break;
        }
        if ((s = glia_graph_forward(g)) || (s = glia_model_carry_state(m1, 0))) break;
        if (i + 1 < (long)np) continue;
        const float *z = node_host(g, y, &zc, "generate"); /* sample from softmax(z / T) */
        if (!z) {
            failed = 1;
            break;
        }
        double mx = z[0], sum = 0;
        for (int k = 1; k < V; k++) mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < V; k++) sum += p[k] = exp(((double)z[k] - mx) / temp);
        double u = glia_rng_uniform(&rng) * sum;
        next = V - 1;
        for (int k = 0; k < V; k++)
            if ((u -= p[k]) < 0) { next = k; break; }
    }
    putchar('\n');
    free(p);
    free(xc);
    free(zc);
    if (s) fprintf(stderr, "glia generate: %s\n", glia_last_error());
    glia_model_free(m1);
    return s || failed ? 1 : 0;
}
