/* test_model.c: the model text format: the zoo's models, strict errors with file:line, the
 * canonical text round trip, branching (residual add, concat). */
#include "test.h"
#include <stdlib.h>
#include <string.h>

static int64_t total_params(glia_model *m, int64_t *macs) {
    int64_t t = 0, mc = 0;
    for (int i = 0; i < glia_model_num_layers(m); i++) {
        glia_layer_info li;
        if (glia_model_layer(m, i, &li)) return -1;
        t += li.params;
        mc += li.macs;
    }
    if (macs) *macs = mc;
    return t;
}

TEST(model_lenet5_has_61706_params) {
    glia_model *m;
    OK(glia_model_load("models/lenet5.cfg", 4, 1, &m));
    int64_t macs;
    CHECK(total_params(m, &macs) == 61706);
    /* conv1 28*28*6*25 + conv2 10*10*16*150 + 400*120 + 120*84 + 84*10 */
    CHECK(macs == 117600 + 240000 + 48000 + 10080 + 840);
    glia_shape s;
    OK(glia_node_shape(glia_model_graph(m), glia_model_output(m), &s));
    CHECK(s.ndim == 2 && s.dim[0] == 4 && s.dim[1] == 10);
    CHECK(!strcmp(glia_model_option(m, "optimizer"), "sgd"));
    int w;
    OK(glia_graph_find(glia_model_graph(m), "conv2.weight", &w));
    OK(glia_node_shape(glia_model_graph(m), w, &s));
    CHECK(s.ndim == 4 && s.dim[0] == 16 && s.dim[1] == 6 && s.dim[2] == 5);
    /* PyTorch's default init: |w| <= 1/sqrt(fan_in), not all equal */
    const float *v = glia_node_value(glia_model_graph(m), w);
    float lo = 1, hi = -1;
    for (int i = 0; i < 2400; i++) lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    CHECK(lo >= -1 / sqrtf(150) && hi <= 1 / sqrtf(150) && hi - lo > 0.1f);
    glia_model_free(m);
}

TEST(model_vgg_small_builds_and_runs) {
    glia_model *m;
    OK(glia_model_load("models/vgg-small.cfg", 2, 1, &m));
    int64_t p = total_params(m, NULL);
    /* convs 288+9216+18432+36864, bn 4*(32+32+64+64), fc 3136*256+256, 256*10+10 */
    CHECK_MSG(p == 288 + 9216 + 18432 + 36864 + 4 * 192 + 3136 * 256 + 256 + 2570, "params %lld", (long long)p);
    glia_graph *g = glia_model_graph(m);
    glia_graph_set_training(g, 1);
    fill_uniform(glia_node_value(g, glia_model_input(m)), 2 * 784, 0, 1, 3);
    OK(glia_graph_forward(g));
    glia_model_free(m);
}

/* [net] label_smoothing: written by the canonical text only when set (other models' text
 * unchanged), and kept through a round trip (a run's model.cfg: --resume trains with it) */
TEST(model_label_smoothing_text) {
    const char *plain = "[net]\ninput = 4\n[dense]\nunits = 3\n";
    const char *smooth = "[net]\ninput = 4\nlabel_smoothing = 0.2\n[dense]\nunits = 3\n";
    glia_model *a, *b, *c;
    char *ta, *tb, *tc;
    OK(glia_model_parse(plain, "p.cfg", 1, 1, &a));
    OK(glia_model_parse(smooth, "s.cfg", 1, 1, &b));
    OK(glia_model_to_text(a, &ta));
    OK(glia_model_to_text(b, &tb));
    OK(glia_model_parse(tb, "s2.cfg", 1, 1, &c));
    OK(glia_model_to_text(c, &tc));
    CHECK_MSG(!strstr(ta, "label_smoothing"), "%s", ta);
    CHECK_MSG(strstr(tb, "\nlabel_smoothing = 0.2\n") && !strcmp(tb, tc), "%s\n---\n%s", tb, tc);
    CHECK(!strcmp(glia_model_option(c, "label_smoothing"), "0.2"));
    OK(glia_model_set_option(a, "label_smoothing", "0.05"));
    CHECK(glia_model_set_option(a, "label_smoothing", "x") == GLIA_EINVAL);
    CHECK(!strcmp(glia_model_option(a, "label_smoothing"), "0.05"));
    free(ta);
    free(tb);
    free(tc);
    glia_model_free(a);
    glia_model_free(b);
    glia_model_free(c);
}

TEST(model_round_trip) {
    const char *text =
        "[net]\ninput = 3, 8, 8\n\n[conv]\nname = c1\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
        "[conv]\nname = c2\nfilters = 4\nsize = 3\npad = 1\nbatchnorm = 1\nbias = 0\n"
        "[add]\ninputs = c1, c2\nactivation = relu\n[concat]\nname = cat\ninputs = c1, add3\n"
        "[globalavgpool]\n[dense]\nunits = 5\n";
    glia_model *a, *b;
    OK(glia_model_parse(text, "t.cfg", 2, 7, &a));
    char *ta, *tb;
    OK(glia_model_to_text(a, &ta));
    OK(glia_model_parse(ta, "t2.cfg", 2, 7, &b));
    OK(glia_model_to_text(b, &tb));
    CHECK_MSG(!strcmp(ta, tb), "canonical text changed:\n%s\n---\n%s", ta, tb);
    CHECK(glia_model_num_layers(a) == 6 && glia_model_num_layers(b) == 6);
    for (int i = 0; i < 6; i++) {
        glia_layer_info x, y;
        OK(glia_model_layer(a, i, &x));
        OK(glia_model_layer(b, i, &y));
        CHECK(!strcmp(x.name, y.name) && x.params == y.params && x.macs == y.macs);
        CHECK(x.shape.ndim == y.shape.ndim && x.shape.dim[1] == y.shape.dim[1]);
    }
    glia_layer_info cat;
    OK(glia_model_layer(a, 3, &cat));
    CHECK(!strcmp(cat.name, "cat") && cat.shape.dim[1] == 8); /* concat of two 4-channel maps */
    /* same seed, same weights */
    int w1, w2;
    OK(glia_graph_find(glia_model_graph(a), "c1.weight", &w1));
    OK(glia_graph_find(glia_model_graph(b), "c1.weight", &w2));
    CHECK(!memcmp(glia_node_value(glia_model_graph(a), w1), glia_node_value(glia_model_graph(b), w2), 108 * 4));
    free(ta);
    free(tb);
    glia_model_free(a);
    glia_model_free(b);
}

/* the value of `key` in the first [type] section of a canonical text, "" if none */
static void canonical_value(const char *text, const char *type, const char *key, char *buf, size_t n) {
    char sec[64], line[64];
    snprintf(sec, sizeof sec, "\n[%s]\n", type);
    snprintf(line, sizeof line, "\n%s = ", key);
    const char *p = strstr(text, sec), *end = p ? strstr(p + 1, "\n[") : NULL;
    const char *v = p ? strstr(p, line) : NULL;
    buf[0] = 0;
    if (v && (!end || v < end)) {
        v += strlen(line);
        snprintf(buf, n, "%.*s", (int)strcspn(v, "\n"), v);
    }
}

/* the op's declared default of attribute attr (the op catalogue's text), NULL if none */
static const char *op_attr_default(const char *op, const char *attr) {
    for (int i = 0; i < glia_num_ops(); i++) {
        if (strcmp(glia_op_get(i)->name, op)) continue;
        for (int k = 0; k < glia_op_get(i)->n_attrs; k++)
            if (!strcmp(glia_op_attr_get(i, k)->name, attr)) return glia_op_attr_get(i, k)->def;
    }
    return NULL;
}

/* A layer key that sets an op attribute defaults to what the op declares (one source): the
 * canonical text of layers given no such key holds the op's default, written as before. */
TEST(model_layer_keys_default_to_the_ops_attributes) {
    static const struct { const char *type, *key, *op, *attr, *text; } keys[] = {
        {"conv", "stride", "conv2d", "stride_h", "1"},    {"conv", "pad", "conv2d", "pad_top", "0"},
        {"conv", "dilation", "conv2d", "dilation_h", "1"}, {"conv", "groups", "conv2d", "groups", "1"},
        {"maxpool", "pad", "maxpool2d", "pad_h", "0"},    {"avgpool", "pad", "avgpool2d", "pad_h", "0"},
        {"batchnorm", "eps", "batchnorm", "eps", "1e-05"},
        {"batchnorm", "momentum", "batchnorm", "momentum", "0.1"},
        {"lrn", "alpha", "lrn", "alpha", "0.0001"},       {"lrn", "beta", "lrn", "beta", "0.75"},
        {"lrn", "k", "lrn", "k", "1"},                    {"dropout", "p", "dropout", "p", "0.5"},
        {"rnn", "activation", "rnn", "activation", "tanh"},
        {"lstm", "peepholes", "lstm", "peephole", "0"},
    };
    const char *image = "[net]\ninput = 3, 8, 8\n[conv]\nfilters = 2\nsize = 3\n[maxpool]\nsize = 2\n"
                        "[avgpool]\nsize = 1\n[batchnorm]\n[lrn]\n[dropout]\n";
    const char *seq = "[net]\ninput = 3\nsequence = 4\n[rnn]\nhidden = 2\n[lstm]\nhidden = 2\n";
    glia_model *a, *b;
    OK(glia_model_parse(image, "image.cfg", 1, 1, &a));
    OK(glia_model_parse(seq, "seq.cfg", 1, 1, &b));
    char *ta = NULL, *tb = NULL;
    glia_status s = glia_model_to_text(a, &ta);
    if (!s) s = glia_model_to_text(b, &tb);
    glia_model_free(a);
    glia_model_free(b);
    int bad = -1;
    char got[64] = "";
    for (size_t i = 0; !s && bad < 0 && i < sizeof keys / sizeof keys[0]; i++) {
        const char *def = op_attr_default(keys[i].op, keys[i].attr);
        canonical_value(ta, keys[i].type, keys[i].key, got, sizeof got);
        if (!got[0]) canonical_value(tb, keys[i].type, keys[i].key, got, sizeof got);
        if (!def || strcmp(got, def) || strcmp(got, keys[i].text)) bad = (int)i;
    }
    free(ta);
    free(tb);
    OK(s);
    CHECK_MSG(bad < 0, "[%s] %s = '%s'; the op %s declares %s = %s; expected %s", keys[bad].type,
              keys[bad].key, got, keys[bad].op, keys[bad].attr,
              op_attr_default(keys[bad].op, keys[bad].attr) ? op_attr_default(keys[bad].op, keys[bad].attr) : "nothing",
              keys[bad].text);
}

/* each bad model gives its error with file:line and the words a person needs */
TEST(model_errors_name_file_and_line) {
    static const struct { const char *text, *want1, *want2; } cases[] = {
        {"[net]\ninput = 1, 8, 8\n[convolution]\nfilters = 2\n", "m.cfg:3:", "unknown layer type [convolution]"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nfilters = 2\nsize = 3\nfiltrs = 3\n", "m.cfg:6:", "unknown key 'filtrs'"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nsize = 3\n", "m.cfg:3:", "needs 'filters'"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nfilters = two\nsize = 3\n", "m.cfg:4:", "filters = two"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nfilters = 2\nsize = 9\n", "m.cfg:3:", "[1, 1, 8, 8]"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nfilters = 2\nsize = 3\ninput = later\n[conv]\nname = later\nfilters = 2\nsize = 3\n",
         "m.cfg:6:", "'later', which is not a layer defined above"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nname = a\nfilters = 2\nsize = 3\n[conv]\nname = a\nfilters = 2\nsize = 3\n",
         "m.cfg:8:", "exists already"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nname = a\nfilters = 2\nsize = 3\n[dense]\nname = b\nunits = 3\n[add]\ninputs = a, b\n",
         "m.cfg:10:", "needs equal shapes"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nname = a\nfilters = 8\nsize = 1\n[dense]\nname = b\nunits = 8\n[add]\ninputs = a, b\n",
         "m.cfg:10:", "[1, 8, 8, 8] and [1, 8]"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nname = a\nfilters = 2\nsize = 3\ninput = a\n", "m.cfg:7:", "takes itself as input"},
        {"[net]\ninput = 1, 8, 8\nfilters = 3\n", "m.cfg:3:", "unknown key 'filters' in [net]"},
        {"[net]\n[conv]\nfilters = 2\nsize = 3\n", "m.cfg:1:", "needs 'input'"},
        {"[conv]\nfilters = 2\n", "m.cfg:1:", "starts with [net]"},
        {"input = 3\n", "m.cfg:1:", "before any [section]"},
        {"[net]\ninput = 1, 8, 8\n[dense]\nunits = 3\nunits = 4\n", "m.cfg:5:", "given twice"},
        {"[net]\ninput = 1, 8, 8\n[dense\n", "m.cfg:3:", "section header"},
        {"[net]\ninput = 1, 8, 8\n[dropout]\np = 1.5\n", "m.cfg:3:", "p = 1.5"},
        {"[net]\ninput = 1, 8, 8\n", "m.cfg", "no layers"},
        {"", "m.cfg", "no sections"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        glia_model *m = NULL;
        glia_status s = glia_model_parse(cases[i].text, "m.cfg", 1, 1, &m);
        CHECK_MSG(s != GLIA_OK && m == NULL, "case %zu parsed", i);
        CHECK_MSG(strstr(glia_last_error(), cases[i].want1) && strstr(glia_last_error(), cases[i].want2),
                  "case %zu: message '%s' lacks '%s' / '%s'", i, glia_last_error(), cases[i].want1, cases[i].want2);
    }
    glia_model *m;
    CHECK(glia_model_load("no/such/model.cfg", 1, 1, &m) == GLIA_EIO);
    CHECK(strstr(glia_last_error(), "no/such/model.cfg"));
}
