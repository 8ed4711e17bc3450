/* test_seq.c: sequence models: time_flatten, the sequence layers of the model text (parameter
 * counts as PyTorch's, padding that changes nothing, state carried between chunks), the text
 * readers. */
#include "test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(time_flatten_reference_and_gradcheck) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, y;
    OK(glia_input(g, "x", 3, (int64_t[]){3, 2, 5}, &x));
    OK(glia_node_requires_grad(g, x, 1));
    OK(glia_time_flatten(g, "rows", x, &y));
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 2 && s.dim[0] == 6 && s.dim[1] == 5);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float *X = glia_node_value(g, x), seed[30];
    fill_uniform(X, 30, -1, 1, 3);
    fill_uniform(seed, 30, -1, 1, 4);
    OK(glia_graph_forward(g));
    OK(glia_graph_backward(g, y, seed, 0));
    const float *Y = glia_node_value(g, y), *DX = glia_node_grad(g, x);
    for (int t = 0; t < 3; t++) /* row t*N + n is step t of sequence n; its gradient goes back */
        for (int n = 0; n < 2; n++)
            for (int k = 0; k < 5; k++) {
                int i = (t * 2 + n) * 5 + k;
                CHECK(Y[i] == X[i] && DX[i] == seed[i]);
            }
    ref_checked(g, y);
    GRADCHECK(g, y, x, 1e-3);
    int z, w;
    OK(glia_time_flatten(g, "labels", y, &z)); /* [T, N] -> [T*N] */
    OK(glia_node_shape(g, z, &s));
    CHECK(s.ndim == 1 && s.dim[0] == 30);
    CHECK(glia_time_flatten(g, "bad", z, &w) == GLIA_ESHAPE);
    glia_graph_free(g);

    /* PyTorch: y = x.reshape(T * N, ...), dx = dy reshaped back */
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 4, (int64_t[]){3, 2, 4, 2}, &x));
    OK(glia_time_flatten(g, "rows", x, &y));
    GOLDEN_CHECK(g, "basic_time_flatten", y, 1, ((const char *[]){"x"}), ((int[]){x}), 1e-6);
    glia_graph_free(g);
}

static const char *lstm_model =
    "[net]\ninput = 1\nsequence = 6\nclasses = 5\n\n[embedding]\nname = emb\nvocab = 11\ndim = 4\n\n"
    "[lstm]\nname = lstm\nhidden = 3\nlayers = 2\nbidirectional = 1\nforget_bias = 1\n"
    "return = last\n\n[dense]\nname = out\nunits = 5\n";

TEST(seq_model_params_as_pytorch) {
    glia_model *m;
    OK(glia_model_parse(lstm_model, "lstm.cfg", 4, 1, &m));
    int64_t total = 0;
    for (int i = 0; i < glia_model_num_layers(m); i++) {
        glia_layer_info li;
        OK(glia_model_layer(m, i, &li));
        total += li.params;
        if (!strcmp(li.name, "lstm")) { /* 4 (I H + H H + 2 H) per layer and direction */
            CHECK(li.params == 2 * 4 * (4 * 3 + 9 + 6) + 2 * 4 * (6 * 3 + 9 + 6));
            CHECK(li.shape.ndim == 2 && li.shape.dim[0] == 4 && li.shape.dim[1] == 6);
        }
    }
    CHECK(total == 11 * 4 + 216 + 264 + 6 * 5 + 5);
    CHECK(glia_model_sequence(m) == 6 && glia_model_vocab(m) == 11);
    /* forget gate rows of bias_ih start at forget_bias, bias_hh's at 0 */
    glia_graph *g = glia_model_graph(m);
    int b;
    OK(glia_graph_find(g, "lstm.bias_ih_l1_reverse", &b));
    CHECK(glia_node_value(g, b)[3] == 1.0f && glia_node_value(g, b)[5] == 1.0f);
    OK(glia_graph_find(g, "lstm.bias_hh_l1_reverse", &b));
    CHECK(glia_node_value(g, b)[4] == 0.0f);
    /* the canonical text parses back to the same network */
    char *text;
    OK(glia_model_to_text(m, &text));
    glia_model *m2;
    OK(glia_model_parse(text, "canonical", 4, 1, &m2));
    free(text);
    CHECK(glia_graph_num_nodes(glia_model_graph(m2)) == glia_graph_num_nodes(g));
    glia_model_free(m2);
    glia_model_free(m);
    /* IRNN: identity recurrent weights; irnn without relu is an error naming the line */
    OK(glia_model_parse("[net]\ninput = 3\nsequence = 4\n[rnn]\nname = r\nhidden = 2\n"
                        "activation = relu\ninit = irnn\n", "irnn.cfg", 1, 1, &m));
    OK(glia_graph_find(glia_model_graph(m), "r.weight_hh_l0", &b));
    const float *w = glia_node_value(glia_model_graph(m), b);
    CHECK(w[0] == 1 && w[1] == 0 && w[2] == 0 && w[3] == 1);
    glia_model_free(m);
    CHECK(glia_model_parse("[net]\ninput = 3\nsequence = 4\n[rnn]\nhidden = 2\ninit = irnn\n",
                           "bad.cfg", 1, 1, &m) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "bad.cfg:4") && strstr(glia_last_error(), "relu"));
    CHECK(glia_model_parse("[net]\ninput = 3, 4, 4\n[lstm]\nhidden = 2\n", "img.cfg", 1, 1, &m) ==
          GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "img.cfg"));
}

/* a padded sequence gives the same last output and gradients as the same sequence alone */
TEST(seq_model_padding_changes_nothing) {
    glia_model *m;
    OK(glia_model_parse(lstm_model, "lstm.cfg", 2, 7, &m));
    glia_graph *g = glia_model_graph(m);
    int x = glia_model_input(m), len = glia_model_lengths(m), y = glia_model_output(m);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    float ids[6 * 2], out[2][10], dW[2][44];
    int emb;
    OK(glia_graph_find(g, "emb.weight", &emb));
    float seed[10] = {0.3f, -1, 0.5f, 2, 0.1f, 0, 0, 0, 0, 0};
    for (int pad = 0; pad < 2; pad++) {
        for (int t = 0; t < 6; t++) {
            ids[t * 2] = (float)((t * 3 + 1) % 11);
            ids[t * 2 + 1] = t < 4 ? ids[t * 2] : (float)(pad ? 7 + t % 3 : 0);
        }
        OK(glia_node_set(g, x, ids, 12));
        glia_node_value(g, len)[0] = 6;
        glia_node_value(g, len)[1] = 6;
        if (pad) glia_node_value(g, len)[0] = 4, glia_node_value(g, len)[1] = 6;
        /* row 0: 4 live steps (pad = 1) and 2 padded ones holding junk ids */
        if (pad) for (int t = 4; t < 6; t++) ids[t * 2] = 9;
        OK(glia_node_set(g, x, ids, 12));
        OK(glia_graph_forward(g));
        OK(glia_graph_backward(g, y, seed, 0));
        memcpy(out[pad], glia_node_value(g, y), sizeof out[pad]);
        memcpy(dW[pad], glia_node_grad(g, emb), sizeof dW[pad]);
        if (!pad) { /* the reference: row 0 truncated to its first 4 steps, alone */
            glia_model *m4;
            char *t4 = strdup(lstm_model);
            t4[strstr(t4, "sequence = 6") - t4 + 11] = '4';
            OK(glia_model_parse(t4, "lstm4.cfg", 2, 7, &m4));
            free(t4);
            glia_graph *g4 = glia_model_graph(m4);
            OK(glia_graph_compile(g4, GLIA_COMPILE_BACKWARD));
            OK(glia_node_set(g4, glia_model_input(m4), ids, 8));
            OK(glia_graph_forward(g4));
            OK(glia_graph_backward(g4, glia_model_output(m4), seed, 0));
            memcpy(out[0], glia_node_value(g4, glia_model_output(m4)), 5 * sizeof(float));
            int e4;
            OK(glia_graph_find(g4, "emb.weight", &e4));
            memcpy(dW[0], glia_node_grad(g4, e4), sizeof dW[0]);
            glia_model_free(m4);
        }
    }
    CHECK(max_rel_diff(out[1], out[0], 5, 1e-3, NULL) < 1e-5);
    CHECK(max_rel_diff(dW[1], dW[0], 44, 1e-3, NULL) < 1e-4);
    glia_model_free(m);
}

TEST(seq_carry_state_equals_one_long_chunk) {
    const char *txt = "[net]\ninput = 1\nsequence = %d\nclasses = 6\n[onehot]\nvocab = 6\n"
                      "[gru]\nname = gru\nhidden = 4\nlayers = 2\n[seqdense]\nunits = 6\n";
    char a[256], b[256];
    snprintf(a, sizeof a, txt, 8);
    snprintf(b, sizeof b, txt, 4);
    glia_model *m8, *m4;
    OK(glia_model_parse(a, "8", 1, 3, &m8));
    OK(glia_model_parse(b, "4", 1, 3, &m4));
    float ids[8] = {1, 4, 2, 0, 5, 3, 3, 1};
    OK(glia_node_set(glia_model_graph(m8), glia_model_input(m8), ids, 8));
    OK(glia_graph_forward(glia_model_graph(m8)));
    const float *y8 = glia_node_value(glia_model_graph(m8), glia_model_output(m8));
    OK(glia_model_carry_state(m4, 1));
    for (int c = 0; c < 2; c++) {
        OK(glia_node_set(glia_model_graph(m4), glia_model_input(m4), ids + 4 * c, 4));
        OK(glia_graph_forward(glia_model_graph(m4)));
        OK(glia_model_carry_state(m4, 0));
        const float *y4 = glia_node_value(glia_model_graph(m4), glia_model_output(m4));
        CHECK(max_rel_diff(y4, y8 + 24 * c, 24, 1e-3, NULL) < 1e-5);
    }
    glia_model_free(m8);
    glia_model_free(m4);
}

TEST(text_readers) {
    char dir[] = "/tmp/glia_text_XXXXXX";
    CHECK(mkdtemp(dir));
    char p1[128], p2[128], p3[128], name[160];
    snprintf(p1, sizeof p1, "%s/c.txt", dir);
    snprintf(p2, sizeof p2, "%s/s.csv", dir);
    snprintf(p3, sizeof p3, "%s/t.txt", dir);
    FILE *f = fopen(p1, "w");
    fputs("abracadabra!", f);
    fclose(f);
    f = fopen(p2, "w");
    fputs("\xEF\xBB\xBF\"1\",\"A good \"\"film\"\" . \n\"\n\"-1\",\"bad film\"\n", f);
    fclose(f);
    f = fopen(p3, "w");
    fputs("The/DT cat/NN sat/VBD ./.\nA/DT dog/NN\n", f);
    fclose(f);
    glia_text_data *d;
    snprintf(name, sizeof name, "chars:%s", p1);
    OK(glia_text_load(name, 4, &d)); /* a b r, then <other> for c d ! */
    CHECK(d->kind == GLIA_TEXT_CHARS && d->n_seq == 1 && d->n_tokens == 12 && d->vocab == 4);
    CHECK(!strcmp(d->symbols[0], "a") && !strcmp(d->symbols[1], "b") && !strcmp(d->symbols[3], "<other>"));
    CHECK(d->tokens[0] == 0 && d->tokens[1] == 1 && d->tokens[4] == 3 && d->tokens[11] == 3);
    glia_text_free(d);
    snprintf(name, sizeof name, "sentences:%s", p2);
    OK(glia_text_load(name, 100, &d));
    CHECK(d->n_seq == 2 && d->classes == 2 && !strcmp(d->class_names[0], "-1"));
    CHECK(d->offset[1] == 4 && d->offset[2] == 6 && d->labels[0] == 1 && d->labels[1] == 0);
    CHECK(!strcmp(d->symbols[d->tokens[1]], "good") && !strcmp(d->symbols[d->tokens[2]], "\"film\""));
    glia_text_free(d);
    snprintf(name, sizeof name, "tags:%s", p3);
    OK(glia_text_load(name, 100, &d));
    CHECK(d->n_seq == 2 && d->n_tokens == 6 && d->classes == 4);
    CHECK(d->tokens[0] != d->tokens[4] && d->labels[0] == d->labels[4]); /* the, a: both DT */
    glia_text_free(d);
    f = fopen(p3, "w");
    fputs("The/DT cat\n", f);
    fclose(f);
    CHECK(glia_text_load(name, 100, &d) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "t.txt:1") && strstr(glia_last_error(), "word/TAG"));
    CHECK(glia_text_load("nonesuch", 10, &d) == GLIA_EINVAL);
    /* vocab = 0: every word its own id, no <other> (word hashing needs the words) */
    snprintf(name, sizeof name, "sentences:%s", p2);
    OK(glia_text_load(name, 0, &d));
    CHECK(d->vocab == 6 && d->n_tokens == 6);
    for (int i = 0; i < d->vocab; i++) CHECK(strcmp(d->symbols[i], "<other>"));
    CHECK(!strcmp(d->symbols[d->tokens[0]], "a") && !strcmp(d->symbols[d->tokens[5]], "film"));
    glia_text_free(d);
    CHECK(glia_text_load(name, 1, &d) == GLIA_EINVAL && strstr(glia_last_error(), "vocab 1"));
    CHECK(glia_text_load(name, -1, &d) == GLIA_EINVAL);
    remove(p1), remove(p2), remove(p3), rmdir(dir);
}

static int32_t fnv1a_bucket(const char *trigram, int buckets) {
    uint64_t h = 14695981039346656037ULL;
    for (int i = 0; i < 3; i++) h = (h ^ (unsigned char)trigram[i]) * 1099511628211ULL;
    return (int32_t)(h % (uint64_t)buckets);
}

TEST(word_trigrams_fnv1a) {
    int32_t ids[20];
    /* "#good#": #go goo ood od#; the buckets as Python computes 64-bit FNV-1a mod 30000 */
    CHECK(glia_word_trigrams("good", 30000, ids, 6) == 4);
    CHECK(ids[0] == 624 && ids[1] == 10092 && ids[2] == 13173 && ids[3] == 25719);
    CHECK(ids[4] == -1 && ids[5] == -1);
    const char *tri[] = {"#go", "goo", "ood", "od#"};
    CHECK(glia_word_trigrams("good", 1000003, ids, 4) == 4);
    for (int i = 0; i < 4; i++) CHECK(ids[i] == fnv1a_bucket(tri[i], 1000003));
    CHECK(glia_word_trigrams("a", 30000, ids, 3) == 1 && ids[0] == 24318 && ids[1] == -1);
    CHECK(glia_word_trigrams("", 30000, ids, 3) == 0 && ids[0] == -1 && ids[2] == -1);
    /* "#banana#": #ba ban ana nan ana na#: a repeated trigram counts twice */
    CHECK(glia_word_trigrams("banana", 97, ids, 8) == 6 && ids[2] == ids[4] && ids[6] == -1);
    /* a word longer than k keeps its first k trigrams */
    int32_t all[20];
    CHECK(glia_word_trigrams("unbelievably", 500, all, 20) == 12 && all[12] == -1);
    CHECK(glia_word_trigrams("unbelievably", 500, ids, 5) == 5);
    CHECK(!memcmp(ids, all, 5 * sizeof *ids));
    CHECK(all[0] == fnv1a_bucket("#un", 500) && all[11] == fnv1a_bucket("ly#", 500));
    CHECK(glia_word_trigrams("good", 30000, ids, 0) == 0);
    CHECK(glia_word_trigrams("good", 0, ids, 4) == -1 && strstr(glia_last_error(), "buckets"));
    CHECK(glia_word_trigrams(NULL, 10, ids, 4) == -1);
}

/* [wordhash] feeds a GRU like [embedding]: shapes, parameters, and the layer's output is the sum
 * of its words' trigram rows */
TEST(wordhash_model_builds) {
    const char *txt = "[net]\ninput = 5\nsequence = 6\nclasses = 3\n\n[wordhash]\nname = hash\n"
                      "buckets = 50\ndim = 4\n\n[gru]\nname = gru\nhidden = 3\nbidirectional = 1\n"
                      "return = last\n\n[dense]\nname = out\nunits = 3\n";
    glia_model *m;
    OK(glia_model_parse(txt, "hash.cfg", 2, 1, &m));
    int k = 0;
    CHECK(glia_model_wordhash(m, &k) == 50 && k == 5 && glia_model_vocab(m) == 0);
    glia_layer_info li;
    OK(glia_model_layer(m, 0, &li));
    CHECK(!strcmp(li.type, "wordhash") && li.params == 50 * 4);
    CHECK(li.shape.ndim == 3 && li.shape.dim[0] == 6 && li.shape.dim[1] == 2 && li.shape.dim[2] == 4);
    glia_graph *g = glia_model_graph(m);
    glia_shape ys;
    OK(glia_node_shape(g, glia_model_output(m), &ys));
    CHECK(ys.ndim == 2 && ys.dim[0] == 2 && ys.dim[1] == 3);
    int w;
    OK(glia_graph_find(g, "hash.weight", &w));
    const float *W = glia_node_value(g, w);
    double ss = 0; /* N(0, 1/K): variance 0.2 */
    for (int i = 0; i < 200; i++) ss += (double)W[i] * W[i];
    CHECK(ss / 200 > 0.1 && ss / 200 < 0.3);
    /* x [6, 2, 5]: row 0 "a good film", row 1 "bad"; -1 elsewhere */
    float x[6 * 2 * 5];
    int32_t ids[5];
    const char *words[4] = {"a", "bad", "good", "film"};
    int at[4] = {0, 1, 2, 4}; /* (t, n) = (0, 0), (0, 1), (1, 0), (2, 0) */
    for (int i = 0; i < 60; i++) x[i] = -1;
    for (int i = 0; i < 4; i++) {
        glia_word_trigrams(words[i], 50, ids, 5);
        for (int j = 0; j < 5; j++) x[at[i] * 5 + j] = (float)ids[j];
    }
    int h;
    OK(glia_graph_find(g, "hash", &h));
    OK(glia_node_retain(g, h));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_node_set(g, glia_model_input(m), x, 60));
    OK(glia_node_set(g, glia_model_lengths(m), (float[]){3, 1}, 2));
    OK(glia_graph_forward(g));
    const float *H = glia_node_value(g, h);
    W = glia_node_value(g, w); /* compiling moved the values */
    for (int e = 0; e < 4; e++) { /* step 1 of row 0: "good" = #go goo ood od# */
        float want = 0;
        for (int j = 0; j < 4; j++) want += W[(int)x[2 * 5 + j] * 4 + e];
        CHECK_NEAR(H[2 * 4 + e], want, 1e-6);
        CHECK(H[3 * 4 + e] == 0); /* step 1 of row 1: padding, no trigrams */
    }
    glia_model_free(m);
    CHECK(glia_model_parse("[net]\ninput = 5\nsequence = 6\n[wordhash]\nbuckets = 0\ndim = 4\n",
                           "bad.cfg", 1, 1, &m) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "bad.cfg:4") && strstr(glia_last_error(), "buckets"));
    CHECK(glia_model_parse("[net]\ninput = 5\nsequence = 6\n[wordhash]\ndim = 4\n", "bad.cfg", 1,
                           1, &m) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "buckets"));
}
