/* test_batch.c: batch axes and state inputs (issue 16, item 4): glia_graph_set_batch on graphs
 * with inputs whose batch is not dim 0 or absent, what happens to input values, errors that
 * leave the graph unchanged, and the models of the zoo resized by set_batch giving the network
 * (shapes, outputs, gradients, carried state) that parsing with the new batch gives. */
#include "test.h"
#include "core/internal.h" /* glia__alloc_fail_at */
#include <stdlib.h>
#include <string.h>

TEST(batch_axis_and_state_api) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, sc, w, h0;
    OK(glia_input(g, "x", 3, (int64_t[]){4, 2, 3}, &x));
    OK(glia_input(g, "scalar", 0, NULL, &sc));
    OK(glia_param(g, "w", 2, (int64_t[]){3, 3}, &w));
    OK(glia_input(g, "h0", 3, (int64_t[]){1, 2, 3}, &h0));
    CHECK(glia_node_batch_axis(g, x) == 0 && glia_node_batch_axis(g, sc) == -1);
    CHECK(glia_node_batch_axis(g, w) == -1 && glia_node_batch_axis(g, 99) == -1);
    CHECK(glia_graph_batch(g) == 4);
    OK(glia_node_set_batch_axis(g, x, 1));
    CHECK(glia_node_batch_axis(g, x) == 1 && glia_graph_batch(g) == 2);
    /* bad axes, and nodes that are not inputs */
    CHECK(glia_node_set_batch_axis(g, x, 3) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "'x'") && strstr(glia_last_error(), "-1..2"));
    CHECK(glia_node_set_batch_axis(g, x, -2) == GLIA_EINVAL);
    CHECK(glia_node_set_batch_axis(g, sc, 0) == GLIA_EINVAL);
    CHECK(glia_node_set_batch_axis(g, w, 0) == GLIA_EINVAL && strstr(glia_last_error(), "'w'"));
    CHECK(glia_node_set_batch_axis(g, 99, 0) == GLIA_EINVAL);
    CHECK(glia_node_batch_axis(g, x) == 1);
    /* the state flag */
    CHECK(!glia_node_is_state(g, h0) && !glia_node_is_state(g, w) && !glia_node_is_state(g, -1));
    OK(glia_node_set_state(g, h0, 1));
    CHECK(glia_node_is_state(g, h0) && !glia_node_is_state(g, x));
    CHECK(glia_node_set_state(g, w, 1) == GLIA_EINVAL && !glia_node_is_state(g, w));
    OK(glia_node_set_state(g, h0, 0));
    CHECK(!glia_node_is_state(g, h0));
    /* no input with a batch: set_batch has nothing to set */
    OK(glia_node_set_batch_axis(g, x, -1));
    OK(glia_node_set_batch_axis(g, h0, -1));
    CHECK(glia_graph_batch(g) == 0);
    CHECK(glia_graph_set_batch(g, 3) == GLIA_EINVAL && strstr(glia_last_error(), "batch axis"));
    CHECK(glia_graph_set_batch(NULL, 3) == GLIA_EINVAL);
    OK(glia_node_set_batch_axis(g, x, 1));
    CHECK(glia_graph_set_batch(g, 0) == GLIA_EINVAL);
    OK(glia_graph_set_batch(g, 5)); /* a scalar input has no batch and is left alone */
    glia_shape s;
    OK(glia_node_shape(g, x, &s));
    CHECK(s.dim[0] == 4 && s.dim[1] == 5 && s.dim[2] == 3);
    OK(glia_node_shape(g, h0, &s));
    CHECK(s.dim[1] == 2);
    glia_graph_free(g);
}

/* an input with no batch (a table) keeps its shape and values; batched rows follow */
TEST(batch_set_batch_leaves_unbatched_inputs) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int ids, table, y;
    OK(glia_input(g, "ids", 1, (int64_t[]){2}, &ids));
    OK(glia_input(g, "table", 2, (int64_t[]){4, 3}, &table));
    OK(glia_node_set_batch_axis(g, table, -1));
    OK(glia_embedding(g, "emb", ids, table, -1, &y));
    float tv[12];
    for (int i = 0; i < 12; i++) tv[i] = (float)i;
    OK(glia_node_set(g, table, tv, 12));
    OK(glia_node_set(g, ids, (float[]){3, 1}, 2));
    OK(glia_graph_forward(g));
    OK(glia_graph_set_batch(g, 5));
    glia_shape s;
    OK(glia_node_shape(g, table, &s));
    CHECK(s.ndim == 2 && s.dim[0] == 4 && s.dim[1] == 3);
    OK(glia_node_shape(g, y, &s));
    CHECK(s.ndim == 2 && s.dim[0] == 5 && s.dim[1] == 3);
    CHECK(!memcmp(glia_node_value(g, table), tv, sizeof tv));
    OK(glia_node_set(g, ids, (float[]){0, 1, 2, 3, 2}, 5));
    OK(glia_graph_forward(g));
    const float *Y = glia_node_value(g, y);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 3; j++) CHECK(Y[i * 3 + j] == (float)(((i == 4 ? 2 : i)) * 3 + j));
    glia_graph_free(g);
}

/* values across set_batch: rows kept, new rows copy the last one (a state's start at 0) */
TEST(batch_set_batch_keeps_rows) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int a, st, y;
    OK(glia_input(g, "a", 2, (int64_t[]){2, 3}, &a));
    OK(glia_input(g, "st", 2, (int64_t[]){2, 3}, &st));
    OK(glia_node_set_batch_axis(g, a, 1));
    OK(glia_node_set_batch_axis(g, st, 1));
    OK(glia_node_set_state(g, st, 1));
    OK(glia_add(g, "sum", a, st, &y));
    OK(glia_node_set(g, a, (float[]){0, 1, 2, 3, 4, 5}, 6));
    OK(glia_node_set(g, st, (float[]){6, 7, 8, 9, 10, 11}, 6));
    OK(glia_graph_set_batch(g, 4));
    const float wa[8] = {0, 1, 2, 2, 3, 4, 5, 5}, ws[8] = {6, 7, 8, 0, 9, 10, 11, 0};
    CHECK(!memcmp(glia_node_value(g, a), wa, sizeof wa));
    CHECK(!memcmp(glia_node_value(g, st), ws, sizeof ws));
    OK(glia_graph_forward(g));
    CHECK(glia_node_value(g, y)[7] == 5 && glia_node_value(g, y)[4] == 12);
    OK(glia_graph_set_batch(g, 1)); /* shrinking keeps the first rows */
    CHECK(glia_node_value(g, a)[0] == 0 && glia_node_value(g, a)[1] == 3);
    CHECK(glia_node_value(g, st)[0] == 6 && glia_node_value(g, st)[1] == 9);
    glia_graph_free(g);
}

/* an op whose shape cannot follow the new batch fails set_batch, and the graph is as before */
TEST(batch_set_batch_error_leaves_graph) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, c, y;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_input(g, "c", 2, (int64_t[]){2, 3}, &c));
    OK(glia_node_set_batch_axis(g, c, -1));
    OK(glia_add(g, "sum", x, c, &y));
    OK(glia_node_set(g, x, (float[]){1, 2, 3, 4, 5, 6}, 6));
    OK(glia_node_set(g, c, (float[]){1, 1, 1, 2, 2, 2}, 6));
    OK(glia_graph_forward(g));
    CHECK(glia_graph_set_batch(g, 5) == GLIA_ESHAPE && strstr(glia_last_error(), "sum"));
    CHECK(glia_graph_batch(g) == 2);
    glia_shape s;
    OK(glia_node_shape(g, y, &s));
    CHECK(s.dim[0] == 2 && s.dim[1] == 3);
    OK(glia_graph_forward(g));
    CHECK(glia_node_value(g, y)[5] == 8 && glia_node_value(g, x)[5] == 6);
    glia_graph_free(g);
}

/* out of memory part way through set_batch: GLIA_ENOMEM and the graph as before */
TEST(batch_set_batch_out_of_memory) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, h, y;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_input(g, "h", 2, (int64_t[]){2, 3}, &h));
    OK(glia_add(g, "sum", x, h, &y));
    OK(glia_node_set(g, x, (float[]){1, 2, 3, 4, 5, 6}, 6));
    OK(glia_node_set(g, h, (float[]){1, 1, 1, 2, 2, 2}, 6));
    for (int k = 0; k < 4; k++) { /* the two tables, then each input's new values */
        glia__alloc_fail_at(k);
        glia_status s = glia_graph_set_batch(g, 4);
        glia__alloc_fail_at(-1);
        CHECK(s == GLIA_ENOMEM && strstr(glia_last_error(), "out of memory"));
        CHECK(glia_graph_batch(g) == 2);
        OK(glia_graph_forward(g));
        CHECK(glia_node_value(g, y)[5] == 8);
    }
    OK(glia_graph_set_batch(g, 4));
    OK(glia_graph_forward(g));
    CHECK(glia_node_value(g, y)[11] == 8);
    glia_graph_free(g);
}

static float id_at(int64_t r, int64_t c, int64_t mod) { /* a fixed id for (row, column) */
    return (float)(((uint64_t)r * 2654435761u + (uint64_t)c * 40503u + 7) % (uint64_t)mod);
}

/* Fills the model's data with rows that depend only on their index n (sequence: step t of row n,
 * ids in [0, vocab), or [-1, buckets) for [wordhash]; images: uniform), and its lengths: lens 0
 * leaves them, 1 sets all T, 2 varied ones */
static void fill_rows(glia_model *m, int64_t N, int lens) {
    glia_graph *g = glia_model_graph(m);
    glia_shape xs;
    glia_node_shape(g, glia_model_input(m), &xs);
    float *x = glia_node_value(g, glia_model_input(m));
    int64_t T = glia_model_sequence(m);
    if (!T) {
        int64_t per = glia_shape_numel(&xs) / N;
        for (int64_t n = 0; n < N; n++) fill_uniform(x + n * per, per, -1, 1, 100 + (uint64_t)n);
        return;
    }
    int k = 1, buckets = glia_model_wordhash(m, &k), V = glia_model_vocab(m);
    for (int64_t t = 0; t < T; t++)
        for (int64_t n = 0; n < N; n++)
            for (int j = 0; j < k; j++)
                x[(t * N + n) * k + j] = buckets ? id_at(n, t * k + j, buckets + 1) - 1
                                                 : id_at(n, t, V);
    if (lens) {
        float *len = glia_node_value(g, glia_model_lengths(m));
        for (int64_t n = 0; n < N; n++) len[n] = (float)(lens == 1 ? T : 1 + (n * 5 + 3) % T);
    }
}

/* the same network: every node's name, op and shape */
static int same_graph(glia_graph *a, glia_graph *b) {
    if (glia_graph_num_nodes(a) != glia_graph_num_nodes(b)) return 0;
    for (int i = 0; i < glia_graph_num_nodes(a); i++) {
        glia_shape sa, sb;
        glia_node_shape(a, i, &sa);
        glia_node_shape(b, i, &sb);
        if (strcmp(glia_node_name(a, i), glia_node_name(b, i)) ||
            strcmp(glia_node_op(a, i), glia_node_op(b, i)) || sa.ndim != sb.ndim ||
            glia_node_batch_axis(a, i) != glia_node_batch_axis(b, i) ||
            glia_node_is_state(a, i) != glia_node_is_state(b, i))
            return 0;
        for (int d = 0; d < sa.ndim; d++)
            if (sa.dim[d] != sb.dim[d]) return 0;
    }
    return 1;
}

/* output and every parameter's gradient (states reset, all lengths T; varied lengths; a second
 * chunk after glia_model_carry_state): `a` and `b` agree */
static int same_run(glia_model *a, glia_model *b, int64_t N, const char *what) {
    glia_model *m[2] = {a, b};
    float *out[2] = {NULL, NULL}, *grads[2] = {NULL, NULL};
    int ok = 1;
    for (int pass = 0; pass < 3 && ok; pass++) {
        int64_t n_out = 0, n_grad = 0;
        for (int k = 0; k < 2; k++) {
            glia_graph *g = glia_model_graph(m[k]);
            if (glia_model_carry_state(m[k], pass < 2)) return 0;
            fill_rows(m[k], N, pass ? 2 : 1);
            glia_shape ys;
            glia_node_shape(g, glia_model_output(m[k]), &ys);
            if (glia_graph_forward(g) || glia_graph_backward(g, glia_model_output(m[k]), NULL, 0))
                return 0;
            n_out = glia_shape_numel(&ys);
            free(out[k]);
            out[k] = malloc((size_t)n_out * sizeof(float));
            memcpy(out[k], glia_node_value(g, glia_model_output(m[k])), (size_t)n_out * sizeof(float));
            n_grad = 0;
            for (int i = 0; i < glia_graph_num_nodes(g); i++) {
                glia_shape ps;
                if (!glia_node_is_param(g, i) || glia_node_shape(g, i, &ps)) continue;
                grads[k] = realloc(grads[k], (size_t)(n_grad + glia_shape_numel(&ps)) * sizeof(float));
                memcpy(grads[k] + n_grad, glia_node_grad(g, i), (size_t)glia_shape_numel(&ps) * sizeof(float));
                n_grad += glia_shape_numel(&ps);
            }
        }
        double d = max_rel_diff(out[0], out[1], n_out, 1e-3, NULL);
        double dg = max_rel_diff(grads[0], grads[1], n_grad, 1e-3, NULL);
        if (!(d < 1e-5 && dg < 1e-4)) {
            test_fail(__FILE__, __LINE__, "%s, pass %d: outputs differ by %g, gradients by %g",
                      what, pass, d, dg);
            ok = 0;
        }
    }
    free(out[0]), free(out[1]), free(grads[0]), free(grads[1]);
    return ok;
}

/* parse with 3, set_batch 5 then 2: each time the network parsing with that batch gives */
static void check_resized(const char *text, const char *what) {
    glia_model *m, *ref;
    OK(glia_model_parse(text, what, 3, 11, &m));
    glia_graph *g = glia_model_graph(m);
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    fill_rows(m, 3, 0);
    OK(glia_graph_forward(g)); /* the ops' saved state sized for N = 3 */
    for (int r = 0; r < 2; r++) {
        int64_t N = r ? 2 : 5, T = glia_model_sequence(m);
        OK(glia_graph_set_batch(g, N));
        CHECK(glia_graph_batch(g) == N);
        for (int64_t n = 0; T && !r && n < N; n++) /* the new rows' lengths: T, as parsed */
            CHECK(glia_node_value(g, glia_model_lengths(m))[n] == (float)T);
        OK(glia_model_parse(text, what, N, 11, &ref));
        OK(glia_graph_compile(glia_model_graph(ref), GLIA_COMPILE_BACKWARD));
        CHECK_MSG(same_graph(g, glia_model_graph(ref)), "%s: set_batch(%lld) differs from a parse "
                  "with batch %lld", what, (long long)N, (long long)N);
        int ok = same_run(m, ref, N, what);
        glia_model_free(ref);
        if (!ok) break;
    }
    glia_model_free(m);
}

/* a model file's text, its sequence (if any) cut to 6 steps to keep the test short */
static char *slurp(const char *path) {
    char *t = test_read_file(path, 0);
    char *q = t ? strstr(t, "\nsequence = ") : NULL;
    if (q) { /* the edit only shortens the text */
        q += strlen("\nsequence = ");
        size_t digits = strspn(q, "0123456789");
        memmove(q + 1, q + digits, strlen(q + digits) + 1);
        *q = '6';
    }
    return t;
}
TEST(batch_zoo_models_follow_set_batch) {
    const char *files[] = {"models/char-lstm.cfg", "models/tagger-bilstm.cfg",
                           "models/sentiment-lstm.cfg", "models/sentiment-trigram.cfg",
                           "models/char-gru.cfg", "models/lenet5.cfg", "models/gap-cnn.cfg"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *t = slurp(files[i]);
        CHECK_MSG(t, "cannot read %s", files[i]);
        check_resized(t, files[i]);
        free(t);
        if (test_failed_flag) return;
    }
}

/* sentence classifiers reading the sequence out with seq_pool (mean, max) and seq_last, stacked
 * bidirectional layers, a relu RNN and peepholes */
TEST(batch_sentence_models_follow_set_batch) {
    check_resized("[net]\ninput = 1\nsequence = 7\nclasses = 3\n[embedding]\nvocab = 30\ndim = 6\n"
                  "[rnn]\nhidden = 5\nlayers = 2\nbidirectional = 1\nactivation = relu\n"
                  "return = max\n[dense]\nunits = 3\n", "rnn-max.cfg");
    if (test_failed_flag) return;
    check_resized("[net]\ninput = 1\nsequence = 5\nclasses = 4\n[onehot]\nvocab = 12\n"
                  "[lstm]\nhidden = 4\npeepholes = 1\n[gru]\nhidden = 3\nbidirectional = 1\n"
                  "return = mean\n[dense]\nunits = 4\n", "lstm-gru-mean.cfg");
    if (test_failed_flag) return;
    check_resized("[net]\ninput = 1\nsequence = 6\nclasses = 2\n[embedding]\nvocab = 9\ndim = 3\n"
                  "[lstm]\nhidden = 4\nlayers = 2\nbidirectional = 1\nreturn = last\n"
                  "[dense]\nunits = 2\n", "lstm-last.cfg");
}

/* the model marks its inputs: batch axes (data 1, lengths 0, states 1, a constant table none)
 * and the recurrent layers' h0/c0 as states, nothing else */
TEST(batch_model_marks_inputs) {
    glia_model *m;
    OK(glia_model_parse("[net]\ninput = 1\nsequence = 4\nclasses = 5\n[onehot]\nname = oh\n"
                        "vocab = 5\n[lstm]\nname = l\nhidden = 3\nlayers = 2\n[gru]\nname = r\n"
                        "hidden = 2\nbidirectional = 1\n[seqdense]\nunits = 5\n",
                        "marks.cfg", 2, 1, &m));
    glia_graph *g = glia_model_graph(m);
    CHECK(glia_node_batch_axis(g, glia_model_input(m)) == 1);
    CHECK(glia_node_batch_axis(g, glia_model_lengths(m)) == 0);
    int states = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        const char *nm = glia_node_name(g, i);
        int is_h = strstr(nm, ".h0_l") || strstr(nm, ".c0_l");
        CHECK_MSG(glia_node_is_state(g, i) == is_h, "%s", nm);
        if (is_h) CHECK(glia_node_batch_axis(g, i) == 1);
        states += is_h;
    }
    CHECK(states == 2 + 2 + 1); /* l: h0, c0 per layer; r: h0 */
    int eye;
    OK(glia_graph_find(g, "oh.identity", &eye));
    CHECK(glia_node_batch_axis(g, eye) == -1 && !glia_node_is_state(g, eye));
    glia_model_free(m);
    /* image models: data at 0, no states */
    OK(glia_model_load("models/lenet5.cfg", 2, 1, &m));
    g = glia_model_graph(m);
    CHECK(glia_node_batch_axis(g, glia_model_input(m)) == 0 && glia_graph_batch(g) == 2);
    for (int i = 0; i < glia_graph_num_nodes(g); i++) CHECK(!glia_node_is_state(g, i));
    glia_model_free(m);
}

/* what a training loop does: per-step labels [T, N] (batch axis 1) flattened to the model's
 * rows; after set_batch the loss equals that of a model parsed with the new batch */
TEST(batch_step_labels_follow_set_batch) {
    const char *txt = "[net]\ninput = 1\nsequence = 5\nclasses = 6\n[onehot]\nvocab = 6\n"
                      "[gru]\nhidden = 4\n[seqdense]\nunits = 6\n";
    double loss[2];
    for (int k = 0; k < 2; k++) {
        glia_model *m;
        OK(glia_model_parse(txt, "lm.cfg", k ? 4 : 2, 5, &m));
        glia_graph *g = glia_model_graph(m);
        int lab, rows, ce;
        OK(glia_input(g, "label", 2, (int64_t[]){5, k ? 4 : 2}, &lab));
        OK(glia_node_set_batch_axis(g, lab, 1));
        OK(glia_time_flatten(g, "label_rows", lab, &rows));
        OK(glia_softmax_cross_entropy(g, "loss", glia_model_output(m), rows, &ce));
        if (!k) OK(glia_graph_set_batch(g, 4));
        fill_rows(m, 4, 0);
        float *L = glia_node_value(g, lab);
        for (int i = 0; i < 20; i++) L[i] = i % 7 == 6 ? -1 : (float)((i * 5) % 6);
        OK(glia_graph_forward(g));
        loss[k] = glia_node_value(g, ce)[0];
        glia_model_free(m);
    }
    CHECK_NEAR(loss[0], loss[1], 1e-6);
}
