/* model.c: glia's model text, checked against each layer's schema and built into a graph.
 *
 * Every section type has a schema: its keys, their kinds and defaults (NULL: required; a key
 * that sets an op attribute takes the default the op declares, key_default). The
 * check marks each key it reads; a key left unmarked is unknown, a required key absent is
 * missing; both are errors with file:line, as is a value of the wrong kind. The canonical text
 * (glia_model_to_text) writes every key of the schema with its value or default, so it parses
 * back to the same network. */
#include "../core/internal.h"
#include "../io/cfg.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* ---------------------------------------------------------------- schemas */
static glia_status b_conv(glia_model *, model_layer *), b_dense(glia_model *, model_layer *),
    b_pool(glia_model *, model_layer *), b_gap(glia_model *, model_layer *),
    b_dropout(glia_model *, model_layer *), b_bn(glia_model *, model_layer *),
    b_lrn(glia_model *, model_layer *), b_act(glia_model *, model_layer *),
    b_softmax(glia_model *, model_layer *), b_flatten(glia_model *, model_layer *),
    b_maxout(glia_model *, model_layer *), b_add(glia_model *, model_layer *),
    b_concat(glia_model *, model_layer *), b_highway(glia_model *, model_layer *),
    b_mul(glia_model *, model_layer *),
    b_bias(glia_model *, model_layer *), b_local(glia_model *, model_layer *),
    b_deconv(glia_model *, model_layer *), b_upsample(glia_model *, model_layer *);

static const key_def net_keys[MAX_KEYS] = {
    KEY("input", K_SHAPE, NULL),      KEY("classes", K_INT, "10"),   KEY("batch", K_INT, "64"),
    KEY("epochs", K_INT, "5"),        KEY("lr", K_FLOAT, "0.01"),    KEY("optimizer", K_STR, "sgd"),
    KEY("momentum", K_FLOAT, "0.9"),  KEY("weight_decay", K_FLOAT, "0"), KEY("schedule", K_STR, "constant"),
    KEY("step_size", K_INT, "1"),     KEY("gamma", K_FLOAT, "0.1"),  KEY("warmup", K_INT, "0"),
    KEY("shift", K_INT, "0"),         KEY("flip", K_BOOL, "0"),     KEY("mean", K_FLOATS, "0"),
    KEY("std", K_FLOATS, "1"), /* one value, or one per channel (colour) */
    KEY("crop", K_FLOAT, "0"),        KEY("jitter", K_FLOAT, "0"), /* augmentation (glia_augment) */
    /* sequence models (seq_layers.c) */
    KEY("sequence", K_INT, "0"),      KEY("clip_norm", K_FLOAT, "0"),
    /* the training loss (src/train/loop.c): softmax_ce, mse or bce */
    KEY("loss", K_STR, "softmax_ce"),
    /* sequence to sequence (seq2seq_layers.c): the decoder's input `target` [target, N, 1];
     * written by glia_model_to_text only when set, so other models' text is unchanged */
    KEY("target", K_INT, "0"),
    /* the seq2seq task's length buckets (task_seq2seq.c): batches per length-sorted chunk, 0
     * off; written only when not the default */
    KEY("bucket", K_INT, "0"),
    /* label smoothing eps of softmax_ce (src/train/loop.c), in [0, 1); written only when set */
    KEY("label_smoothing", K_FLOAT, "0"),
    /* a network from an ONNX file (model_onnx.c): its graph instead of layer sections; written by
     * glia_model_to_text only when set */
    KEY("onnx", K_PATH, ""),
    /* its inputs fixed at load (glia_onnx_consts_parse: sr=16000), also written only when set */
    KEY("onnx_const", K_PATH, ""), KEY_END};

/* the last keys of the layers with weights (conv, dense, seqdense): the activation after, the
 * weights' init */
#define ACT_INIT_KEYS KEY("activation", K_ACT, "linear"), KEY("init", K_INIT, "pytorch")
/* conv and dense: none, weights (binary-weight network: the layer multiplies by alpha sign(W)
 * with alpha = mean |W| per filter) or xnor (XNOR-Net: its input binarized too, beta sign(x) per
 * sample; forward on packed bits) */
#define BINARY_KEY KEY("binary", K_BINARY, "none")
/* rnn, lstm, gru: their size and stacking, then each cell's own keys */
#define RECURRENT_KEYS                                                                            \
    KEY("hidden", K_INT, NULL), KEY("layers", K_INT, "1"), KEY("bidirectional", K_BOOL, "0"),     \
        KEY("dropout", K_FLOAT, "0")

static const layer_def layer_defs[] = {
    /* size, stride, dilation: "k" or "kh, kw"; pad: "p" (all four sides), "ph, pw" or "top,
     * bottom, left, right" (rectangular kernels, asymmetric padding); dirac = 1 adds a*x
     * (DiracNet) */
    {"conv", "convolution [+ batch norm] + activation",
     {KEY("filters", K_INT, NULL), KEY("size", K_INTS, NULL), OP_KEY("stride", K_INTS, "conv2d", "stride_h"),
      OP_KEY("pad", K_INTS, "conv2d", "pad_top"), OP_KEY("dilation", K_INTS, "conv2d", "dilation_h"),
      OP_KEY("groups", K_INT, "conv2d", "groups"), KEY("bias", K_BOOL, "1"), KEY("batchnorm", K_BOOL, "0"),
      BINARY_KEY, ACT_INIT_KEYS, KEY("dirac", K_BOOL, "0")},
     b_conv, 0},
    /* decoders and segmentation heads: weight [C, filters/groups, kh, kw] (PyTorch's
     * ConvTranspose2d), output (H - 1) stride - pad_top - pad_bottom + dilation (kh - 1) + 1 +
     * out_pad; pad as conv's, out_pad "p" or "ph, pw" */
    {"deconv", "transposed convolution [+ batch norm] + activation",
     {KEY("filters", K_INT, NULL), KEY("size", K_INTS, NULL),
      OP_KEY("stride", K_INTS, "conv_transpose2d", "stride_h"), OP_KEY("pad", K_INTS, "conv_transpose2d", "pad_top"),
      OP_KEY("out_pad", K_INTS, "conv_transpose2d", "out_pad_h"),
      OP_KEY("dilation", K_INTS, "conv_transpose2d", "dilation_h"), OP_KEY("groups", K_INT, "conv_transpose2d", "groups"),
      KEY("bias", K_BOOL, "1"), KEY("batchnorm", K_BOOL, "0"), ACT_INIT_KEYS},
     b_deconv, 0},
    /* PyTorch's nn.Upsample(scale_factor, mode, align_corners): scale "s" or "sh, sw" */
    {"upsample", "resizing H and W by whole factors: nearest, bilinear or bicubic",
     {KEY("scale", K_INTS, "2"), KEY("mode", K_STR, "nearest"), KEY("align_corners", K_BOOL, "0")}, b_upsample, 0},
    {"dense", "fully connected [+ batch norm] + activation",
     {KEY("units", K_INT, NULL), KEY("bias", K_BOOL, "1"), KEY("batchnorm", K_BOOL, "0"), BINARY_KEY,
      ACT_INIT_KEYS},
     b_dense, 0},
    /* the pools' stride 0 is the layer's own: the size (the op's stride is required) */
    /* size, stride, pad: "k" or "kh, kw" */
    {"maxpool", "max pooling",
     {KEY("size", K_INTS, NULL), KEY("stride", K_INTS, "0"), OP_KEY("pad", K_INTS, "maxpool2d", "pad_h"),
      OP_KEY("ceil_mode", K_BOOL, "maxpool2d", "ceil_mode")},
     b_pool, 0},
    {"avgpool", "average pooling",
     {KEY("size", K_INTS, NULL), KEY("stride", K_INTS, "0"), OP_KEY("pad", K_INTS, "avgpool2d", "pad_h"),
      OP_KEY("ceil_mode", K_BOOL, "avgpool2d", "ceil_mode")},
     b_pool, 0},
    {"globalavgpool", "global average pooling to [N, C, 1, 1]", {KEY_END}, b_gap, 0},
    {"dropout", "inverted dropout", {OP_KEY("p", K_FLOAT, "dropout", "p")}, b_dropout, 0},
    {"batchnorm", "batch normalisation",
     {OP_KEY("eps", K_FLOAT, "batchnorm", "eps"), OP_KEY("momentum", K_FLOAT, "batchnorm", "momentum")},
     b_bn, 0},
    /* size 5 is the layer's (AlexNet's): the op, as PyTorch's LocalResponseNorm, has none */
    {"lrn", "local response normalisation",
     {KEY("size", K_INT, "5"), OP_KEY("alpha", K_FLOAT, "lrn", "alpha"), OP_KEY("beta", K_FLOAT, "lrn", "beta"),
      OP_KEY("k", K_FLOAT, "lrn", "k")},
     b_lrn, 0},
    {"activation", "an activation alone", {KEY("type", K_ACT, NULL)}, b_act, 0},
    {"softmax", "softmax over axis 1", {KEY_END}, b_softmax, 0},
    {"flatten", "[N, ...] -> [N, rest]", {KEY_END}, b_flatten, 0},
    {"maxout", "max over groups of `pieces` channels", {KEY("pieces", K_INT, NULL)}, b_maxout, 0},
    {"add", "elementwise sum (residual connection)", {KEY("activation", K_ACT, "linear")}, b_add, 1},
    {"concat", "concatenation along channels (any number of inputs)", {KEY_END}, b_concat, 1},
    /* squeeze-and-excitation (MobileNetV3): x [N, C, H, W] times a channel scale [N, C, 1, 1] */
    {"mul", "elementwise product of two layers (NumPy broadcasting: a channel scale)", {KEY_END}, b_mul, 1},
    /* highway layer (Srivastava et al. 2015): a negative gate bias starts it near the identity */
    {"highway", "y = H(x) T(x) + x (1 - T(x)), T = sigmoid(W_T x + b_T)",
     {KEY("activation", K_ACT, "relu"), KEY("gate_bias", K_FLOAT, "-2"), KEY("init", K_INIT, "pytorch")},
     b_highway, 0},
    {"bias", "a learned bias per position: y = x + b, b of the input's per-sample shape", {KEY_END},
     b_bias, 0},
    /* size, stride, pad: "k" or "kh, kw" */
    {"local", "locally connected (unshared weights per position) + activation",
     {KEY("filters", K_INT, NULL), KEY("size", K_INTS, NULL), OP_KEY("stride", K_INTS, "local2d", "stride_h"),
      OP_KEY("pad", K_INTS, "local2d", "pad_h"), KEY("bias", K_BOOL, "1"), KEY("activation", K_ACT, "linear")},
     b_local, 0},
    /* sequence layers (seq_layers.c) */
    {"embedding", "token ids [T, N, 1] -> learned vectors [T, N, dim]",
     {KEY("vocab", K_INT, NULL), KEY("dim", K_INT, NULL)}, glia__b_embedding, 0},
    {"onehot", "token ids [T, N, 1] -> one-hot [T, N, vocab] (the last id is 'other')",
     {KEY("vocab", K_INT, NULL)}, glia__b_onehot, 0},
    {"wordhash", "letter-trigram ids [T, N, K] -> sum of learned vectors [T, N, dim]",
     {KEY("buckets", K_INT, NULL), KEY("dim", K_INT, NULL)}, glia__b_wordhash, 0},
    {"rnn", "Elman RNN layers (tanh or relu; init = irnn: relu with identity recurrence)",
     {RECURRENT_KEYS, OP_KEY("activation", K_STR, "rnn", "activation"), KEY("init", K_STR, "pytorch"),
      KEY("return", K_STR, "sequence")},
     glia__b_recurrent, 0},
    {"lstm", "LSTM layers (optional peepholes, forget-gate bias)",
     {RECURRENT_KEYS, OP_KEY("peepholes", K_BOOL, "lstm", "peephole"), KEY("forget_bias", K_FLOAT, "0"),
      KEY("return", K_STR, "sequence")},
     glia__b_recurrent, 0},
    {"gru", "GRU layers (PyTorch's gate conventions; reset_before: Cho et al.'s, ONNX's default)",
     {RECURRENT_KEYS, OP_KEY("reset_before", K_BOOL, "gru", "reset_before"), KEY("return", K_STR, "sequence")},
     glia__b_recurrent, 0},
    /* the course's other recurrent cells: Clockwork RNN (Koutnik et al. 2014), SCRN (Mikolov et
     * al. 2015); glia_clockwork, glia_scrn in glia.h */
    {"clockwork", "Clockwork RNN layers (tanh modules updated every base^i steps)",
     {RECURRENT_KEYS, OP_KEY("modules", K_INT, "clockwork", "modules"), KEY("base", K_INT, "2"),
      KEY("return", K_STR, "sequence")},
     glia__b_recurrent, 0},
    {"scrn", "SCRN layers: a sigmoid hidden layer beside a slow context with fixed decay alpha",
     {RECURRENT_KEYS, OP_KEY("context", K_INT, "scrn", "context"), OP_KEY("alpha", K_FLOAT, "scrn", "alpha"),
      KEY("return", K_STR, "sequence")},
     glia__b_recurrent, 0},
    {"seqdense", "dense at every time step: [T, N, D] -> [T*N, units]",
     {KEY("units", K_INT, NULL), KEY("bias", K_BOOL, "1"), ACT_INIT_KEYS}, glia__b_seqdense, 0},
    /* sequence to sequence (seq2seq_layers.c) */
    {"attention", "the query sequence attends to `memory` (encoder states): [context; query]",
     {KEY("memory", K_NAME, NULL), OP_KEY("score", K_STR, "attention", "score"), KEY("units", K_INT, "0"),
      KEY("output", K_STR, "concat")},
     glia__b_attention, 0},
    {"attention_decoder", "an LSTM decoder attending to `memory` at every step; feed = 1: input feeding",
     {KEY("memory", K_NAME, NULL), KEY("hidden", K_INT, NULL), OP_KEY("score", K_STR, "attention", "score"),
      KEY("units", K_INT, "0"), KEY("attention_units", K_INT, "0"), KEY("feed", K_BOOL, "1")},
     glia__b_attention_decoder, 0},
};
#define N_LAYER_DEFS (int)(sizeof layer_defs / sizeof layer_defs[0])

static const char *const activations[] = {"linear", "relu", "relu6", "leaky", "elu", "sigmoid", "tanh",
                                          "hard_sigmoid", "hard_swish", NULL};
static const char *const inits[] = {"pytorch", "he_uniform", "he_normal", "xavier_uniform",
                                    "xavier_normal", "orthogonal", "delta_orthogonal", NULL};
static const glia_init_kind init_kinds[] = {GLIA_INIT_PYTORCH, GLIA_INIT_HE_UNIFORM,
                                            GLIA_INIT_HE_NORMAL, GLIA_INIT_XAVIER_UNIFORM,
                                            GLIA_INIT_XAVIER_NORMAL, GLIA_INIT_ORTHOGONAL,
                                            GLIA_INIT_DELTA_ORTHOGONAL};

static const char *const binaries[] = {"none", "weights", "xnor", NULL};

static int index_of(const char *const *list, const char *s) {
    for (int i = 0; list[i]; i++)
        if (!strcmp(list[i], s)) return i;
    return -1;
}

/* ---------------------------------------------------------------- values */
static char *xstrdup(const char *s) {
    char *d = glia__malloc(strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

/* The largest integer key (filters, units, sizes...): larger ones are refused with this figure */
#define KEY_INT_MAX (1LL << 30)

/* Checks value v of kind k; writes its canonical form into buf. */
static int check_value(key_kind k, const char *v, char *buf, size_t n) {
    char *end;
    errno = 0;
    switch (k) {
    case K_INT: {
        long long x = strtoll(v, &end, 10);
        if (*end || errno || x < 0 || x > KEY_INT_MAX) return 0;
        snprintf(buf, n, "%lld", x);
        return 1;
    }
    case K_FLOAT: {
        double x = strtod(v, &end);
        if (*end || errno || !isfinite(x)) return 0;
        snprintf(buf, n, "%.9g", x);
        return 1;
    }
    case K_FLOATS: { /* 1 to 4 numbers separated by commas (one per channel) */
        size_t used = 0;
        int count = 0;
        for (const char *p = v;; count++) {
            double x = strtod(p, &end);
            if (end == p || errno || !isfinite(x) || count == 4) return 0;
            used += (size_t)snprintf(buf + used, n > used ? n - used : 0, "%s%.9g", count ? ", " : "", x);
            if (used >= n) return 0;
            while (isspace((unsigned char)*end)) end++;
            if (!*end) break;
            if (*end != ',') return 0;
            p = end + 1;
        }
        return 1;
    }
    case K_PATH: /* a file name: one line that the text format keeps as written */
        if (strlen(v) >= n || strpbrk(v, "#;\n")) return 0;
        snprintf(buf, n, "%s", v);
        return 1;
    case K_BOOL:
        if (strcmp(v, "0") && strcmp(v, "1")) return 0;
        snprintf(buf, n, "%s", v);
        return 1;
    case K_ACT: return index_of(activations, v) >= 0 && snprintf(buf, n, "%s", v) > 0;
    case K_INIT: return index_of(inits, v) >= 0 && snprintf(buf, n, "%s", v) > 0;
    case K_BINARY: return index_of(binaries, v) >= 0 && snprintf(buf, n, "%s", v) > 0;
    case K_STR:
    case K_NAME:
        for (const char *p = v; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') return 0;
        snprintf(buf, n, "%s", v);
        return strlen(v) < GLIA_NAME_MAX;
    case K_NAMES:
    case K_INTS:
    case K_SHAPE: { /* comma-separated names or positive integers */
        size_t used = 0;
        buf[0] = 0;
        const char *p = v;
        int count = 0;
        for (;;) {
            while (isspace((unsigned char)*p)) p++;
            const char *b = p;
            while (*p && *p != ',' && !isspace((unsigned char)*p)) p++;
            if (p == b || p - b >= GLIA_NAME_MAX) return 0;
            char item[GLIA_NAME_MAX];
            memcpy(item, b, (size_t)(p - b));
            item[p - b] = 0;
            char tmp[GLIA_NAME_MAX];
            if (!check_value(k == K_NAMES ? K_NAME : K_INT, item, tmp, sizeof tmp)) return 0;
            if (k == K_SHAPE && atoll(tmp) == 0) return 0;
            used += (size_t)snprintf(buf + used, n > used ? n - used : 0, "%s%s", count ? ", " : "", tmp);
            if (used >= n) return 0;
            count++;
            while (isspace((unsigned char)*p)) p++;
            if (!*p) break;
            if (*p != ',') return 0;
            p++;
        }
        return k == K_SHAPE ? count <= 3 : k == K_INTS ? count <= 4 : count >= 2 && count <= MODEL_MAX_INPUTS;
    }
    }
    return 0;
}

static const char *kind_doc(key_kind k) {
    switch (k) {
    case K_INT: return "an integer from 0 to 1073741824 (2^30)";
    case K_FLOAT: return "a finite number";
    case K_FLOATS: return "a finite number, or one per channel separated by commas";
    case K_BOOL: return "0 or 1";
    case K_STR: return "a word";
    case K_NAME: return "a layer name";
    case K_NAMES: return "two or more layer names separated by commas (at most 256)";
    case K_INTS: return "1 to 4 non-negative integers separated by commas";
    case K_SHAPE: return "C,H,W or a feature count (integers from 1 to 1073741824, 2^30)";
    case K_ACT: return "one of linear, relu, relu6, leaky, elu, sigmoid, tanh, hard_sigmoid, hard_swish";
    case K_BINARY: return "one of none, weights, xnor";
    case K_PATH: return "a file name (no '#' or ';')";
    case K_INIT: return "one of pytorch, he_uniform, he_normal, xavier_uniform, xavier_normal, orthogonal, delta_orthogonal";
    }
    return "?";
}

/* k's default as text, NULL when k is required: its own, or that of the op attribute it sets
 * (a required attribute, or one that is not there, makes the key required) */
static const char *key_default(const key_def *k, char *buf, size_t n) {
    if (!k->op) return k->def;
    const glia_attr_def *a = glia__op_attr_named(k->op, k->attr);
    if (!a || a->required) return NULL;
    glia__attr_default_text(a, buf, n);
    return buf;
}

/* Reads every schema key of section s into vals (canonical strings). */
static glia_status read_keys(const char *file, cfg_section *s, const key_def *keys, char **vals) {
    for (int i = 0; i < MAX_KEYS && keys[i].key; i++) {
        cfg_kv *kv = cfg_find(s, keys[i].key);
        char buf[256], def[64];
        const char *v = kv ? kv->value : key_default(&keys[i], def, sizeof def);
        if (!v)
            return glia__err(GLIA_EINVAL, "%s:%d: [%s] needs '%s' (%s)", file, s->line, s->type,
                             keys[i].key, kind_doc(keys[i].kind));
        if (!check_value(keys[i].kind, v, buf, sizeof buf))
            return glia__err(GLIA_EINVAL, "%s:%d: %s = %s: expected %s", file, kv ? kv->line : s->line,
                             keys[i].key, v, kind_doc(keys[i].kind));
        if (kv) kv->used = 1;
        if (!(vals[i] = xstrdup(buf))) return glia__err(GLIA_ENOMEM, "%s: out of memory", file);
    }
    return GLIA_OK;
}

static glia_status unknown_keys(const char *file, cfg_section *s, const key_def *keys, int common) {
    for (int k = 0; k < s->n_kv; k++) {
        if (s->kv[k].used) continue;
        char known[512] = "";
        size_t u = 0;
        if (common) u += (size_t)snprintf(known, sizeof known, "name, %s", common == 2 ? "inputs" : "input");
        for (int i = 0; i < MAX_KEYS && keys[i].key && u < sizeof known; i++)
            u += (size_t)snprintf(known + u, sizeof known - u, "%s%s", u ? ", " : "", keys[i].key);
        return glia__err(GLIA_EINVAL, "%s:%d: unknown key '%s' in [%s] (known: %s)", file,
                         s->kv[k].line, s->kv[k].key, s->type, known[0] ? known : "none");
    }
    return GLIA_OK;
}

static int64_t ival(const model_layer *l, const char *key) {
    for (int i = 0; i < MAX_KEYS && l->def->keys[i].key; i++)
        if (!strcmp(l->def->keys[i].key, key)) return atoll(l->val[i]);
    return 0;
}
static float fval(const model_layer *l, const char *key) {
    for (int i = 0; i < MAX_KEYS && l->def->keys[i].key; i++)
        if (!strcmp(l->def->keys[i].key, key)) return strtof(l->val[i], NULL);
    return 0;
}
static const char *sval(const model_layer *l, const char *key) {
    for (int i = 0; i < MAX_KEYS && l->def->keys[i].key; i++)
        if (!strcmp(l->def->keys[i].key, key)) return l->val[i];
    return "";
}
/* a K_INTS key of l into v[4]; returns how many values it holds */
static int ints(const model_layer *l, const char *key, int64_t *v) {
    char *p = (char *)sval(l, key);
    int n = 0;
    while (*p && n < 4) {
        v[n++] = strtoll(p, &p, 10);
        while (*p == ',' || *p == ' ') p++;
    }
    return n;
}
/* a "k" or "kh, kw" key as (h, w); 0 when it holds more values */
static int pair(const model_layer *l, const char *key, int64_t *h, int64_t *w) {
    int64_t v[4];
    int n = ints(l, key, v);
    if (n < 1 || n > 2) return 0;
    *h = v[0];
    *w = v[n - 1];
    return 1;
}
int64_t glia__layer_int(const model_layer *l, const char *key) { return ival(l, key); }
float glia__layer_float(const model_layer *l, const char *key) { return fval(l, key); }
const char *glia__layer_str(const model_layer *l, const char *key) { return sval(l, key); }

/* ---------------------------------------------------------------- builders */
glia_status glia__layer_name(const model_layer *l, const char *suffix, char *buf) {
    if (snprintf(buf, GLIA_NAME_MAX, "%s.%s", l->name, suffix) >= GLIA_NAME_MAX)
        return glia__err(GLIA_EINVAL, "layer name '%s' is too long", l->name);
    return GLIA_OK;
}

/* the default op declares for attr: for an op a layer builds with no key for that attribute
 * (leaky's slope, a conv's batch norm eps); 0 if the op has no such attribute */
static float op_default(const char *op, const char *attr) {
    const glia_attr_def *a = glia__op_attr_named(op, attr);
    return a ? (float)a->def : 0.0f;
}

glia_status glia__layer_activation(glia_model *m, const model_layer *l, const char *act, int x,
                                   int *out) {
    if (!strcmp(act, "linear")) { *out = x; return GLIA_OK; } /* no node, so no name to fit */
    char nm[GLIA_NAME_MAX];
    glia_status s = glia__layer_name(l, act, nm);
    if (s) return s;
    glia_graph *g = m->g;
    if (!strcmp(act, "relu")) return glia_relu(g, nm, x, out);
    if (!strcmp(act, "relu6")) return glia_relu6(g, nm, x, out);
    if (!strcmp(act, "leaky")) return glia_leaky_relu(g, nm, x, op_default("leaky_relu", "slope"), out);
    if (!strcmp(act, "elu")) return glia_elu(g, nm, x, op_default("elu", "alpha"), out);
    if (!strcmp(act, "sigmoid")) return glia_sigmoid(g, nm, x, out);
    if (!strcmp(act, "hard_sigmoid")) return glia_hard_sigmoid(g, nm, x, out);
    if (!strcmp(act, "hard_swish")) return glia_hard_swish(g, nm, x, out);
    return glia_tanh(g, nm, x, out);
}

glia_init_kind glia__layer_init(const model_layer *l) {
    int kind = index_of(inits, sval(l, "init"));
    return init_kinds[kind < 0 ? 0 : kind];
}

/* U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default bias init */
static void bias_init(glia_model *m, int b, int64_t fan_in) {
    glia_shape s;
    glia_node_shape(m->g, b, &s);
    float bound = 1.0f / sqrtf((float)fan_in), *v = glia_node_value(m->g, b);
    for (int64_t i = 0; v && i < s.dim[0]; i++) v[i] = bound * (2 * glia_rng_uniform(&m->rng) - 1);
}

/* batch norm with parameters <layer><prefix>weight, ...bias, ...running_mean, ...running_var
 * (PyTorch's BatchNorm names), its op node named node_name */
static glia_status batchnorm(glia_model *m, model_layer *l, const char *prefix, const char *node_name,
                             int x, float eps, float mom, int *out) {
    glia_shape xs;
    glia_status s;
    glia_node_shape(m->g, x, &xs);
    if (xs.ndim < 2) return glia__err(GLIA_ESHAPE, "batch norm needs [N, C, ...]");
    int64_t C = xs.dim[1];
    int p[4];
    const char *suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    char nm[GLIA_NAME_MAX];
    for (int i = 0; i < 4; i++) {
        if (snprintf(nm, sizeof nm, "%s%s%s", l->name, prefix, suffix[i]) >= (int)sizeof nm)
            return glia__err(GLIA_EINVAL, "layer name '%s' is too long", l->name);
        s = i < 2 ? glia_param(m->g, nm, 1, &C, &p[i]) : glia_buffer(m->g, nm, 1, &C, &p[i]);
        if (s) return s;
        float *v = i == 0 || i == 3 ? glia_node_value(m->g, p[i]) : NULL;
        for (int64_t c = 0; v && c < C; c++) v[c] = 1.0f; /* gamma = 1, running variance = 1 */
    }
    return glia_batchnorm(m->g, node_name, x, p[0], p[1], p[2], p[3], eps, mom, out);
}

static glia_status weights(glia_model *m, model_layer *l, int ndim, const int64_t *dims, int bias,
                           int *w, int *b) {
    char nm[GLIA_NAME_MAX];
    glia_status s;
    if ((s = glia__layer_name(l, "weight", nm)) || (s = glia_param(m->g, nm, ndim, dims, w))) return s;
    if ((s = glia_init_param(m->g, *w, glia__layer_init(l), 0, &m->rng))) return s;
    *b = -1;
    if (bias) {
        if ((s = glia__layer_name(l, "bias", nm)) || (s = glia_param(m->g, nm, 1, dims, b))) return s;
        int64_t fan_in = 1;
        for (int i = 1; i < ndim; i++) fan_in *= dims[i];
        bias_init(m, *b, fan_in);
    }
    return GLIA_OK;
}

/* name of the layer's main op node: the layer name itself when nothing follows it */
static glia_status main_name(model_layer *l, int followed, const char *what, char *buf) {
    if (!followed) return snprintf(buf, GLIA_NAME_MAX, "%s", l->name), GLIA_OK;
    return glia__layer_name(l, what, buf);
}

/* the batch norm of conv and dense with batchnorm = 1: the op's default eps and momentum */
static glia_status fused_bn(glia_model *m, model_layer *l, const char *nm, int x, int *out) {
    return batchnorm(m, l, ".bn.", nm, x, op_default("batchnorm", "eps"),
                     op_default("batchnorm", "momentum"), out);
}

/* the layer's binary key: the weight w and input x its op reads instead (binarize nodes named
 * <layer>.wbin, <layer>.xbin), as the key asks */
static glia_status binary_operands(glia_model *m, model_layer *l, int *x, int *w) {
    const char *b = sval(l, "binary");
    char nm[GLIA_NAME_MAX];
    glia_status s;
    if (!strcmp(b, "none")) return GLIA_OK;
    float clip = op_default("binarize", "clip");
    if ((s = glia__layer_name(l, "wbin", nm)) || (s = glia_binarize(m->g, nm, *w, 1, clip, w)))
        return s;
    if (!strcmp(b, "weights")) return GLIA_OK;
    if ((s = glia__layer_name(l, "xbin", nm)) || (s = glia_binarize(m->g, nm, *x, 1, clip, x)))
        return s;
    return GLIA_OK;
}

/* DiracNet (Zagoruyko & Komodakis 2017): conv(x, diag(a) I + W) = conv(x, W) + a x, with a per
 * channel ("<layer>.dirac" [C, 1, 1], starting at 1); it needs an output the shape of the input */
static glia_status dirac_sum(glia_model *m, model_layer *l, int followed, int *y) {
    glia_shape xs, ys;
    char nm[GLIA_NAME_MAX], a[96], b[96];
    glia_node_shape(m->g, l->in[0], &xs);
    glia_node_shape(m->g, *y, &ys);
    if (!glia__shape_eq(&xs, &ys))
        return glia__err(GLIA_ESHAPE, "dirac = 1 needs an output shaped as the input: %s -> %s (same "
                         "filters as input channels, stride 1, padding that keeps the size)",
                         glia_shape_str(&xs, a, sizeof a), glia_shape_str(&ys, b, sizeof b));
    int p, ax;
    glia_status s;
    if ((s = glia__layer_name(l, "dirac", nm)) || (s = glia_param(m->g, nm, 3, (int64_t[]){xs.dim[1], 1, 1}, &p)))
        return s;
    float *a1 = glia_node_value(m->g, p); /* NULL: shapes only */
    for (int64_t c = 0; a1 && c < xs.dim[1]; c++) a1[c] = 1.0f;
    if ((s = glia__layer_name(l, "dirac_x", nm)) || (s = glia_mul(m->g, nm, p, l->in[0], &ax))) return s;
    return (s = main_name(l, followed, "dirac_sum", nm)) ? s : glia_add(m->g, nm, *y, ax, y);
}

static glia_status b_conv(glia_model *m, model_layer *l) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    if (xs.ndim != 4)
        return glia__err(GLIA_ESHAPE, "conv needs an image input [N, C, H, W], got %d dimensions", xs.ndim);
    int64_t O = ival(l, "filters"), G = ival(l, "groups"), kh, kw, sh, sw, dh, dw, pd[4];
    int bn = ival(l, "batchnorm") != 0, np = ints(l, "pad", pd), dirac = ival(l, "dirac") != 0;
    if (!pair(l, "size", &kh, &kw) || !pair(l, "stride", &sh, &sw) || !pair(l, "dilation", &dh, &dw) || np == 3)
        return glia__err(GLIA_EINVAL, "size, stride and dilation take 1 or 2 values (h, w); pad takes 1, "
                         "2 (h, w) or 4 (top, bottom, left, right)");
    if (np == 1) pd[1] = pd[2] = pd[3] = pd[0];
    if (np == 2) pd[2] = pd[3] = pd[1], pd[1] = pd[0];
    if (O < 1 || kh < 1 || kw < 1 || G < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1)
        return glia__err(GLIA_EINVAL, "filters, size, stride, dilation and groups must be >= 1");
    if (xs.dim[1] % G)
        return glia__err(GLIA_ESHAPE, "groups = %lld does not divide the %lld input channels",
                         (long long)G, (long long)xs.dim[1]);
    int w, b, y;
    int x = l->in[0];
    glia_status s = weights(m, l, 4, (int64_t[]){O, xs.dim[1] / G, kh, kw}, (int)ival(l, "bias"), &w, &b);
    if (s || (s = binary_operands(m, l, &x, &w))) return s;
    glia_conv2d_params p = {(int)sh, (int)sw, (int)pd[0], (int)pd[1], (int)pd[2], (int)pd[3],
                            (int)dh, (int)dw, (int)G};
    char nm[GLIA_NAME_MAX];
    int act = strcmp(sval(l, "activation"), "linear") != 0;
    if ((s = main_name(l, bn || act || dirac, "conv", nm)) || (s = glia_conv2d(m->g, nm, x, w, b, &p, &y))) return s;
    if (dirac && (s = dirac_sum(m, l, bn || act, &y))) return s;
    if (bn && ((s = main_name(l, act, "bn", nm)) || (s = fused_bn(m, l, nm, y, &y))))
        return s;
    if ((s = glia__layer_activation(m, l, sval(l, "activation"), y, &l->out))) return s;
    glia_shape ys;
    glia_node_shape(m->g, y, &ys);
    l->macs = ys.dim[1] * ys.dim[2] * ys.dim[3] * (xs.dim[1] / G) * kh * kw;
    return GLIA_OK;
}

/* conv's pad key into (top, bottom, left, right); 0 if it has 3 values */
static int pads4(const model_layer *l, int64_t *pd) {
    int np = ints(l, "pad", pd);
    if (np == 1) pd[1] = pd[2] = pd[3] = pd[0];
    if (np == 2) pd[2] = pd[3] = pd[1], pd[1] = pd[0];
    return np != 3;
}

static glia_status b_deconv(glia_model *m, model_layer *l) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    if (xs.ndim != 4)
        return glia__err(GLIA_ESHAPE, "deconv needs an image input [N, C, H, W], got %d dimensions", xs.ndim);
    int64_t O = ival(l, "filters"), G = ival(l, "groups"), C = xs.dim[1], kh, kw, sh, sw, dh, dw, oh, ow, pd[4];
    if (!pair(l, "size", &kh, &kw) || !pair(l, "stride", &sh, &sw) || !pair(l, "dilation", &dh, &dw) ||
        !pair(l, "out_pad", &oh, &ow) || !pads4(l, pd))
        return glia__err(GLIA_EINVAL, "size, stride, dilation and out_pad take 1 or 2 values (h, w); pad "
                         "takes 1, 2 (h, w) or 4 (top, bottom, left, right)");
    if (O < 1 || kh < 1 || kw < 1 || G < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1)
        return glia__err(GLIA_EINVAL, "filters, size, stride, dilation and groups must be >= 1");
    if (C % G || O % G)
        return glia__err(GLIA_ESHAPE, "groups = %lld does not divide the %lld input channels and %lld filters",
                         (long long)G, (long long)C, (long long)O);
    int bn = ival(l, "batchnorm") != 0, act = strcmp(sval(l, "activation"), "linear") != 0, w, b = -1, y;
    char nm[GLIA_NAME_MAX];
    glia_status s;
    if ((s = glia__layer_name(l, "weight", nm)) || (s = glia_param(m->g, nm, 4, (int64_t[]){C, O / G, kh, kw}, &w)) ||
        (s = glia_init_param(m->g, w, glia__layer_init(l), 0, &m->rng)))
        return s;
    if (ival(l, "bias")) { /* PyTorch's: U(+-1/sqrt(fan_in)), fan_in = O/G kh kw as for the weight */
        if ((s = glia__layer_name(l, "bias", nm)) || (s = glia_param(m->g, nm, 1, &O, &b))) return s;
        bias_init(m, b, O / G * kh * kw);
    }
    glia_conv_transpose2d_params p = {{(int)sh, (int)sw, (int)pd[0], (int)pd[1], (int)pd[2], (int)pd[3],
                                       (int)dh, (int)dw, (int)G}, (int)oh, (int)ow};
    if ((s = main_name(l, bn || act, "deconv", nm)) || (s = glia_conv_transpose2d(m->g, nm, l->in[0], w, b, &p, &y)))
        return s;
    if (bn && ((s = main_name(l, act, "bn", nm)) || (s = fused_bn(m, l, nm, y, &y)))) return s;
    l->macs = C * xs.dim[2] * xs.dim[3] * (O / G) * kh * kw; /* every input element meets a filter */
    return glia__layer_activation(m, l, sval(l, "activation"), y, &l->out);
}

/* nn.Upsample's modes: nearest maps o to floor(o / s) (ONNX's asymmetric, floor), bilinear and
 * bicubic (a = -0.75) take half_pixel, or align_corners */
static glia_status b_upsample(glia_model *m, model_layer *l) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    int64_t sh, sw;
    const char *mode = sval(l, "mode");
    int ac = ival(l, "align_corners") != 0;
    if (xs.ndim != 4)
        return glia__err(GLIA_ESHAPE, "upsample needs an image input [N, C, H, W], got %d dimensions", xs.ndim);
    if (!pair(l, "scale", &sh, &sw) || sh < 1 || sw < 1 || sh > 64 || sw > 64)
        return glia__err(GLIA_EINVAL, "scale takes 1 or 2 whole factors (h, w) from 1 to 64");
    glia_resize_params p = {(int)(xs.dim[2] * sh), (int)(xs.dim[3] * sw), GLIA_RESIZE_NEAREST, GLIA_RESIZE_ASYMMETRIC,
                            GLIA_RESIZE_FLOOR, (float)sh, (float)sw, -0.75f, 0};
    if (!strcmp(mode, "bilinear") || !strcmp(mode, "bicubic")) {
        p.mode = mode[2] == 'l' ? GLIA_RESIZE_LINEAR : GLIA_RESIZE_CUBIC;
        p.coord = ac ? GLIA_RESIZE_ALIGN_CORNERS : GLIA_RESIZE_HALF_PIXEL;
    } else if (strcmp(mode, "nearest") || ac)
        return glia__err(GLIA_EINVAL, "mode = %s%s: nearest, bilinear or bicubic (align_corners with "
                         "the last two)", mode, ac ? " with align_corners" : "");
    return glia_resize(m->g, l->name, l->in[0], &p, &l->out);
}

static glia_status b_dense(glia_model *m, model_layer *l) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    if (xs.ndim < 2) return glia__err(GLIA_ESHAPE, "dense needs an input [N, features...]");
    int64_t K = glia_shape_numel(&xs) / xs.dim[0], O = ival(l, "units");
    if (O < 1) return glia__err(GLIA_EINVAL, "units must be >= 1");
    int bn = ival(l, "batchnorm") != 0, act = strcmp(sval(l, "activation"), "linear") != 0;
    int w, b, y, x = l->in[0];
    char nm[GLIA_NAME_MAX];
    glia_status s = weights(m, l, 2, (int64_t[]){O, K}, (int)ival(l, "bias"), &w, &b);
    if (s || (s = binary_operands(m, l, &x, &w)) || (s = main_name(l, bn || act, "fc", nm)) ||
        (s = glia_dense(m->g, nm, x, w, b, &y)))
        return s;
    if (bn && ((s = main_name(l, act, "bn", nm)) || (s = fused_bn(m, l, nm, y, &y))))
        return s;
    l->macs = K * O;
    return glia__layer_activation(m, l, sval(l, "activation"), y, &l->out);
}

static glia_status b_pool(glia_model *m, model_layer *l) {
    int64_t kh, kw, sh, sw, ph, pw;
    if (!pair(l, "size", &kh, &kw) || !pair(l, "stride", &sh, &sw) || !pair(l, "pad", &ph, &pw))
        return glia__err(GLIA_EINVAL, "size, stride and pad take 1 or 2 values (h, w)");
    glia_pool2d_params p = {(int)kh, (int)kw, (int)sh, (int)sw, (int)ph, (int)pw, (int)ival(l, "ceil_mode")};
    return strcmp(l->def->type, "maxpool") ? glia_avgpool2d(m->g, l->name, l->in[0], &p, &l->out)
                                           : glia_maxpool2d(m->g, l->name, l->in[0], &p, &l->out);
}
static glia_status b_gap(glia_model *m, model_layer *l) {
    return glia_global_avgpool(m->g, l->name, l->in[0], &l->out);
}
static glia_status b_dropout(glia_model *m, model_layer *l) {
    return glia_dropout(m->g, l->name, l->in[0], fval(l, "p"), &l->out);
}
static glia_status b_bn(glia_model *m, model_layer *l) {
    return batchnorm(m, l, ".", l->name, l->in[0], fval(l, "eps"), fval(l, "momentum"), &l->out);
}
static glia_status b_lrn(glia_model *m, model_layer *l) {
    return glia_lrn(m->g, l->name, l->in[0], (int)ival(l, "size"), fval(l, "alpha"), fval(l, "beta"),
                    fval(l, "k"), &l->out);
}
static glia_status b_act(glia_model *m, model_layer *l) {
    if (!strcmp(sval(l, "type"), "linear")) return glia_linear(m->g, l->name, l->in[0], &l->out);
    glia_status s = glia__layer_activation(m, l, sval(l, "type"), l->in[0], &l->out);
    return s;
}
static glia_status b_softmax(glia_model *m, model_layer *l) {
    return glia_softmax(m->g, l->name, l->in[0], &l->out);
}
static glia_status b_flatten(glia_model *m, model_layer *l) {
    return glia_flatten(m->g, l->name, l->in[0], &l->out);
}
static glia_status b_maxout(glia_model *m, model_layer *l) {
    return glia_maxout(m->g, l->name, l->in[0], (int)ival(l, "pieces"), &l->out);
}
static glia_status b_add(glia_model *m, model_layer *l) {
    int act = strcmp(sval(l, "activation"), "linear") != 0, y = l->in[0];
    char nm[GLIA_NAME_MAX];
    glia_status s;
    glia_shape a, b;
    char sa[96], sb[96];
    glia_node_shape(m->g, l->in[0], &a);
    for (int i = 1; i < l->n_in; i++) { /* a residual sum: the same shape, no broadcasting */
        glia_node_shape(m->g, l->in[i], &b);
        if (!glia__shape_eq(&a, &b))
            return glia__err(GLIA_ESHAPE, "[add] '%s': inputs have shapes %s and %s; a residual "
                             "sum needs equal shapes", l->name, glia_shape_str(&a, sa, sizeof sa),
                             glia_shape_str(&b, sb, sizeof sb));
    }
    for (int i = 1; i < l->n_in; i++) {
        if (i == l->n_in - 1 && !act) snprintf(nm, sizeof nm, "%s", l->name);
        else if (snprintf(nm, sizeof nm, "%s.add%d", l->name, i) >= (int)sizeof nm)
            return glia__err(GLIA_EINVAL, "layer name too long");
        if ((s = glia_add(m->g, nm, y, l->in[i], &y))) return s;
    }
    return glia__layer_activation(m, l, sval(l, "activation"), y, &l->out);
}
static glia_status b_mul(glia_model *m, model_layer *l) {
    if (l->n_in != 2) return glia__err(GLIA_EINVAL, "[mul] '%s': two inputs, not %d", l->name, l->n_in);
    return glia_mul(m->g, l->name, l->in[0], l->in[1], &l->out);
}

/* more inputs than one op takes: runs of GLIA_MAX_INPUTS concatenated first ("<name>.partK"),
 * then those, in order */
glia_status glia__concat_many(glia_model *m, const char *name, int n, const int *in, int axis, int *out) {
    int xs[MODEL_MAX_INPUTS], part = 0;
    if (n > MODEL_MAX_INPUTS) return glia__err(GLIA_EINVAL, "'%s': more than %d inputs", name, MODEL_MAX_INPUTS);
    memcpy(xs, in, (size_t)n * sizeof *xs);
    while (n > GLIA_MAX_INPUTS) {
        int k = 0;
        for (int i = 0; i < n; i += GLIA_MAX_INPUTS) {
            int len = n - i < GLIA_MAX_INPUTS ? n - i : GLIA_MAX_INPUTS;
            char nm[GLIA_NAME_MAX];
            glia_status s;
            if (len == 1) {
                xs[k++] = xs[i];
                continue;
            }
            if (snprintf(nm, sizeof nm, "%s.part%d", name, part++) >= (int)sizeof nm)
                return glia__err(GLIA_EINVAL, "layer name '%s' is too long", name);
            if ((s = glia_concat(m->g, nm, len, xs + i, axis, &xs[k++]))) return s;
        }
        n = k;
    }
    return glia_concat(m->g, name, n, xs, axis, out);
}

static glia_status b_concat(glia_model *m, model_layer *l) {
    return glia__concat_many(m, l->name, l->n_in, l->in, 1, &l->out);
}

/* Highway layer (Srivastava, Greff & Schmidhuber 2015) on [N, D]:
 *   H = act(W x + b), T = sigmoid(W_T x + b_T),  y = H T + x (1 - T) = x + T (H - x)
 * parameters <layer>.weight, .bias (H) and <layer>.gate.weight, .gate.bias (T, bias = gate_bias:
 * negative, so that the layer starts by carrying x through) */
static glia_status b_highway(glia_model *m, model_layer *l) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    if (xs.ndim != 2)
        return glia__err(GLIA_ESHAPE, "highway needs [N, features] (a [flatten] or [dense] before it), "
                         "got %d dimensions", xs.ndim);
    int64_t D = xs.dim[1];
    int w, b, wt, bt, h, t, d, x = l->in[0];
    char nm[GLIA_NAME_MAX];
    glia_status s;
    if ((s = weights(m, l, 2, (int64_t[]){D, D}, 1, &w, &b))) return s;
    if ((s = glia__layer_name(l, "gate.weight", nm)) || (s = glia_param(m->g, nm, 2, (int64_t[]){D, D}, &wt)) ||
        (s = glia_init_param(m->g, wt, glia__layer_init(l), 0, &m->rng)) ||
        (s = glia__layer_name(l, "gate.bias", nm)) || (s = glia_param(m->g, nm, 1, &D, &bt)))
        return s;
    float *gb = glia_node_value(m->g, bt); /* NULL: shapes only */
    for (int64_t i = 0; gb && i < D; i++) gb[i] = fval(l, "gate_bias");
    if ((s = glia__layer_name(l, "fc", nm)) || (s = glia_dense(m->g, nm, x, w, b, &h)) ||
        (s = glia__layer_activation(m, l, sval(l, "activation"), h, &h)) ||
        (s = glia__layer_name(l, "gate.fc", nm)) || (s = glia_dense(m->g, nm, x, wt, bt, &t)) ||
        (s = glia__layer_name(l, "gate", nm)) || (s = glia_sigmoid(m->g, nm, t, &t)) ||
        (s = glia__layer_name(l, "h_minus_x", nm)) || (s = glia_sub(m->g, nm, h, x, &d)) ||
        (s = glia__layer_name(l, "gated", nm)) || (s = glia_mul(m->g, nm, t, d, &d)))
        return s;
    l->macs = 2 * D * D;
    return glia_add(m->g, l->name, x, d, &l->out);
}

/* Locally connected layer (DeepFace, Taigman et al. 2014): <layer>.weight [OH OW, O, C kh kw],
 * <layer>.bias [O, OH, OW], both U(+-1/sqrt(C kh kw)) as PyTorch starts a convolution's */
static glia_status b_local(glia_model *m, model_layer *l) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    if (xs.ndim != 4) return glia__err(GLIA_ESHAPE, "local needs an image input [N, C, H, W], got %d dimensions", xs.ndim);
    int64_t O = ival(l, "filters"), kh, kw, sh, sw, ph, pw;
    if (!pair(l, "size", &kh, &kw) || !pair(l, "stride", &sh, &sw) || !pair(l, "pad", &ph, &pw))
        return glia__err(GLIA_EINVAL, "size, stride and pad take 1 or 2 values (h, w)");
    if (O < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1)
        return glia__err(GLIA_EINVAL, "filters, size and stride must be >= 1");
    int64_t PH = xs.dim[2] + 2 * ph, PW = xs.dim[3] + 2 * pw, K = xs.dim[1] * kh * kw;
    if (kh > PH || kw > PW)
        return glia__err(GLIA_ESHAPE, "a %lldx%lld kernel does not fit the %lldx%lld input (after padding)",
                         (long long)kh, (long long)kw, (long long)PH, (long long)PW);
    int64_t OH = (PH - kh) / sh + 1, OW = (PW - kw) / sw + 1;
    int w, b = -1, y, act = strcmp(sval(l, "activation"), "linear") != 0;
    char nm[GLIA_NAME_MAX];
    glia_status s;
    if ((s = glia__layer_name(l, "weight", nm)) || (s = glia_param(m->g, nm, 3, (int64_t[]){OH * OW, O, K}, &w)))
        return s;
    if (ival(l, "bias") && ((s = glia__layer_name(l, "bias", nm)) ||
                            (s = glia_param(m->g, nm, 3, (int64_t[]){O, OH, OW}, &b))))
        return s;
    float bound = 1.0f / sqrtf((float)K);
    for (int t = 0; t < 2; t++) {
        int p = t ? b : w;
        if (p < 0) continue;
        glia_shape ps;
        glia_node_shape(m->g, p, &ps);
        float *v = glia_node_value(m->g, p);
        for (int64_t i = 0; v && i < glia_shape_numel(&ps); i++) v[i] = bound * (2 * glia_rng_uniform(&m->rng) - 1);
    }
    glia_local2d_params p = {(int)kh, (int)kw, (int)sh, (int)sw, (int)ph, (int)pw};
    if ((s = main_name(l, act, "local", nm)) || (s = glia_local2d(m->g, nm, l->in[0], w, b, &p, &y))) return s;
    l->macs = OH * OW * O * K;
    return glia__layer_activation(m, l, sval(l, "activation"), y, &l->out);
}

/* y = x + b, b ("<layer>.bias", zeros) shaped as one sample of x: a bias per position and
 * channel (the AlphaGo policy network's last 1x1 convolution, "a different bias for each
 * position") */
static glia_status b_bias(glia_model *m, model_layer *l) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    if (xs.ndim < 2) return glia__err(GLIA_ESHAPE, "bias needs [N, ...]");
    int b;
    char nm[GLIA_NAME_MAX];
    glia_status s;
    if ((s = glia__layer_name(l, "bias", nm)) || (s = glia_param(m->g, nm, xs.ndim - 1, xs.dim + 1, &b))) return s;
    return glia_add(m->g, l->name, l->in[0], b, &l->out);
}

/* ---------------------------------------------------------------- the model */
void glia_model_free(glia_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_layers; i++) {
        for (int k = 0; k < MAX_KEYS; k++) free(m->layers[i].val[k]);
        free(m->layers[i].input_text);
    }
    for (int k = 0; k < MAX_KEYS; k++) free(m->net_val[k]);
    free(m->layers);
    free(m->filename);
    free(m->onnx_path);
    for (int i = 0; m->onnx_defs && i < m->n_layers; i++) free((char *)m->onnx_defs[i].type);
    free(m->onnx_defs);
    glia__s2s_step_free(m->step);
    free(m->dec_att);
    glia_graph_free(m->g);
    free(m);
}

static int find_layer(const glia_model *m, const char *name) {
    for (int i = 0; i < m->n_layers; i++)
        if (!strcmp(m->layers[i].name, name)) return i;
    return -1;
}
int glia__model_find_layer(const glia_model *m, const char *name) { return find_layer(m, name); }

/* resolves `input` / `inputs` of section s for layer l (index li) */
static glia_status resolve_inputs(glia_model *m, cfg_section *s, model_layer *l, int li) {
    const char *file = m->filename;
    cfg_kv *kv = cfg_find(s, l->def->multi_input ? "inputs" : "input");
    char buf[MODEL_MAX_INPUTS * (GLIA_NAME_MAX + 2)];
    if (l->def->multi_input) {
        if (!kv)
            return glia__err(GLIA_EINVAL, "%s:%d: [%s] needs 'inputs' (%s)", file, s->line, s->type,
                             kind_doc(K_NAMES));
        if (!check_value(K_NAMES, kv->value, buf, sizeof buf))
            return glia__err(GLIA_EINVAL, "%s:%d: inputs = %s: expected %s", file, kv->line,
                             kv->value, kind_doc(K_NAMES));
    } else if (kv) {
        if (!check_value(K_NAME, kv->value, buf, sizeof buf))
            return glia__err(GLIA_EINVAL, "%s:%d: input = %s: expected %s", file, kv->line,
                             kv->value, kind_doc(K_NAME));
    } else {
        snprintf(buf, sizeof buf, "%s", li ? m->layers[li - 1].name : "data");
    }
    if (kv) kv->used = 1;
    if (!(l->input_text = xstrdup(buf))) return glia__err(GLIA_ENOMEM, "out of memory");
    l->n_in = 0;
    for (char *tok = buf; tok && *tok;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = 0;
        while (*tok == ' ') tok++;
        int j = !strcmp(tok, "data") ? -2 : find_layer(m, tok);
        if (j == li)
            return glia__err(GLIA_EINVAL, "%s:%d: layer '%s' takes itself as input (a cycle); inputs "
                             "must be layers defined above it", file, kv ? kv->line : s->line, l->name);
        if (j == -1 && m->target >= 0 && !strcmp(tok, "target")) j = -3;
        if (j == -1)
            return glia__err(GLIA_EINVAL, "%s:%d: layer '%s' takes input '%s', which is not a layer "
                             "defined above it ('data' is the network input)", file,
                             kv ? kv->line : s->line, l->name, tok);
        /* the lengths that hold for a layer are those of its first input's sequence: the
         * source's (data) or the target's (a seq2seq decoder) */
        if (l->n_in == 0)
            l->lengths = j == -2 ? m->lengths : j == -3 ? m->target_lengths : m->layers[j].lengths;
        l->in[l->n_in++] = j == -2 ? m->input : j == -3 ? m->target : m->layers[j].out;
        tok = comma ? comma + 1 : NULL;
    }
    return GLIA_OK;
}

/* A sequence model ([net] sequence = T > 0) takes data [T, N, input] (time-major) and gets a
 * "lengths" input [N], set to T, that its recurrent layers read. */
static glia_status seq_input(glia_model *m, int64_t *dims, int *nd) {
    m->lengths = -1;
    m->seq_T = strtoll(glia_model_option(m, "sequence"), NULL, 10);
    if (m->seq_T <= 0) return GLIA_OK;
    if (*nd != 2)
        return glia__err(GLIA_EINVAL, "%s: [net] sequence = %lld needs input = a feature count "
                         "per step (1 for token ids), not %s", m->filename, (long long)m->seq_T,
                         m->net_val[0]);
    int64_t N = dims[0], F = dims[1];
    dims[0] = m->seq_T;
    dims[1] = N;
    dims[2] = F;
    *nd = 3;
    glia_status s = glia_input(m->g, "lengths", 1, &N, &m->lengths);
    if (s) return s;
    float *len = glia_node_value(m->g, m->lengths); /* NULL: shapes only */
    for (int64_t i = 0; len && i < N; i++) len[i] = (float)m->seq_T;
    return GLIA_OK;
}

/* shapes_only: the leaves get no memory and no values (glia_model_load_shapes) */
static glia_status parse(const char *text, const char *filename, int64_t batch, uint64_t seed,
                         int shapes_only, glia_model **out) {
    if (!out) return glia__err(GLIA_EINVAL, "glia_model_parse: out is NULL");
    if (batch < 1) return glia__err(GLIA_EINVAL, "glia_model_parse: batch %lld must be >= 1", (long long)batch);
    cfg *c;
    glia_status s = cfg_parse(text, filename, &c);
    if (s) return s;
    const char *file = c->filename;
    glia_onnx *ox = NULL; /* [net] onnx = FILE, imported */
    glia_model *m = glia__calloc(1, sizeof *m);
    if (!m || !(m->filename = xstrdup(file)) || !(m->layers = glia__calloc((size_t)c->n, sizeof *m->layers))) {
        glia_model_free(m);
        s = glia__err(GLIA_ENOMEM, "%s: out of memory", file); /* file lives in c */
        cfg_free(c);
        return s;
    }
    glia_rng_seed(&m->rng, seed, 0x6d6f64656cULL);
    m->incremental = 1;
    cfg_section *net = &c->sec[0];
    if (strcmp(net->type, "net")) {
        s = glia__err(GLIA_EINVAL, "%s:%d: a model starts with [net], not [%s]", file, net->line, net->type);
        goto fail;
    }
    /* [net] onnx = FILE: the graph is the file's, and input defaults to its input's shape */
    key_def keys[MAX_KEYS];
    memcpy(keys, net_keys, sizeof keys);
    char onnx_input[256];
    cfg_kv *onnx = cfg_find(net, "onnx");
    cfg_kv *consts = cfg_find(net, "onnx_const");
    if (consts && consts->value[0] && !(onnx && onnx->value[0])) {
        s = glia__err(GLIA_EINVAL, "%s:%d: onnx_const fixes inputs of an ONNX file: it needs onnx = FILE",
                      file, consts->line);
        goto fail;
    }
    if (onnx && onnx->value[0]) {
        if ((s = glia__model_onnx_open(m, onnx->value, consts ? consts->value : "", file, batch, &ox,
                                       onnx_input, sizeof onnx_input)))
            goto fail;
        keys[0].def = onnx_input;
    }
    if ((s = read_keys(file, net, keys, m->net_val)) || (s = unknown_keys(file, net, keys, 0))) goto fail;
    if (ox) {
        if (strcmp(m->net_val[0], onnx_input))
            s = glia__err(GLIA_EINVAL, "%s: input = %s, but the ONNX model takes %s", file, m->net_val[0], onnx_input);
        else s = glia__model_onnx_build(m, ox, c->n, cfg_find(net, "classes") != NULL);
        glia_onnx_free(ox);
        ox = NULL;
        if (s) goto fail;
        cfg_free(c);
        *out = m;
        return GLIA_OK;
    }
    if ((s = glia_graph_new(&m->g))) goto fail;
    m->g->shapes_only = shapes_only != 0;
    int64_t dims[5] = {batch};
    int nd = 1;
    for (char *p = m->net_val[0]; p && *p; nd++) {
        dims[nd] = strtoll(p, &p, 10);
        while (*p == ',' || *p == ' ') p++;
    }
    if ((s = seq_input(m, dims, &nd)) || (s = glia__seq2seq_inputs(m, batch))) goto fail;
    if ((s = glia_input(m->g, "data", nd, dims, &m->input))) goto fail;
    /* time-major [T, N, input]: set_batch changes N */
    if (m->seq_T > 0 && (s = glia_node_set_batch_axis(m->g, m->input, 1))) goto fail;
    for (int i = 1; i < c->n; i++) {
        cfg_section *sec = &c->sec[i];
        const layer_def *d = NULL;
        for (int k = 0; k < N_LAYER_DEFS; k++)
            if (!strcmp(layer_defs[k].type, sec->type)) d = &layer_defs[k];
        if (!d) {
            char known[512];
            size_t u = 0;
            for (int k = 0; k < N_LAYER_DEFS; k++)
                u += (size_t)snprintf(known + u, sizeof known - u, "%s%s", k ? ", " : "", layer_defs[k].type);
            s = glia__err(GLIA_EINVAL, "%s:%d: unknown layer type [%s] (known: %s)", file, sec->line,
                          sec->type, known);
            goto fail;
        }
        model_layer *l = &m->layers[m->n_layers];
        l->def = d;
        l->line = sec->line;
        cfg_kv *nk = cfg_find(sec, "name");
        char buf[GLIA_NAME_MAX];
        if (nk) {
            nk->used = 1;
            if (!check_value(K_NAME, nk->value, buf, sizeof buf) || !strcmp(buf, "data")) {
                s = glia__err(GLIA_EINVAL, "%s:%d: name = %s: expected a word of letters, digits, "
                              "'_', '.', '-' (and not 'data')", file, nk->line, nk->value);
                goto fail;
            }
            snprintf(l->name, sizeof l->name, "%s", buf);
        } else {
            snprintf(l->name, sizeof l->name, "%s%d", d->type, i);
        }
        if (find_layer(m, l->name) >= 0) {
            s = glia__err(GLIA_EINVAL, "%s:%d: a layer named '%s' exists already (line %d)", file,
                          nk ? nk->line : sec->line, l->name, m->layers[find_layer(m, l->name)].line);
            goto fail;
        }
        m->n_layers++;
        if ((s = read_keys(file, sec, d->keys, l->val)) || (s = resolve_inputs(m, sec, l, m->n_layers - 1)) ||
            (s = unknown_keys(file, sec, d->keys, 1 + d->multi_input)))
            goto fail;
        l->first_node = glia_graph_num_nodes(m->g);
        if ((s = d->build(m, l))) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", glia_last_error());
            s = glia__err(s, "%s:%d: layer '%s' [%s]: %s", file, sec->line, l->name, d->type, msg);
            goto fail;
        }
    }
    if (m->n_layers == 0) {
        s = glia__err(GLIA_EINVAL, "%s: the model has no layers after [net]", file);
        goto fail;
    }
    m->end_node = glia_graph_num_nodes(m->g);
    m->output = m->layers[m->n_layers - 1].out;
    if ((s = glia_node_retain(m->g, m->output))) goto fail;
    cfg_free(c);
    *out = m;
    return GLIA_OK;
fail:
    glia_onnx_free(ox);
    glia_model_free(m);
    cfg_free(c);
    return s;
}

glia_status glia_model_parse(const char *text, const char *filename, int64_t batch, uint64_t seed,
                             glia_model **out) {
    return parse(text, filename, batch, seed, 0, out);
}

static glia_status load(const char *path, const char *consts, int64_t batch, uint64_t seed,
                        int shapes_only, glia_model **out) {
    if (!path) return glia__err(GLIA_EINVAL, "glia_model_load: path is NULL");
    size_t pl = strlen(path);
    if (pl > 5 && !strcmp(path + pl - 5, ".onnx")) { /* the file's graph, [net]'s defaults */
        if (consts && strpbrk(consts, "#;\n"))
            return glia__err(GLIA_EINVAL, "%s: const '%s': no '#', ';' or line breaks", path, consts);
        char text[4200];
        const char *base = strrchr(path, '/'); /* onnx = is relative to the text's directory */
        int has = consts && consts[0];
        if (snprintf(text, sizeof text, "[net]\nonnx = %s\n%s%s%s", base ? base + 1 : path,
                     has ? "onnx_const = " : "", has ? consts : "", has ? "\n" : "") >= (int)sizeof text)
            return glia__err(GLIA_EINVAL, "%s: the path or the constants are too long", path);
        return parse(text, path, batch, seed, shapes_only, out);
    }
    if (consts && consts[0])
        return glia__err(GLIA_EINVAL, "%s: constants (%s) fix inputs of an .onnx file; a model text "
                         "or run gives them in [net] onnx_const", path, consts);
    char *text;
    size_t n;
    glia_status s = glia__read_file_max(path, (size_t)16 << 20, &text, &n); /* no model is larger */
    if (s) return s;
    if (strlen(text) != n) { free(text); return glia__err(GLIA_EINVAL, "%s: contains a NUL byte; not a text file", path); }
    s = parse(text, path, batch, seed, shapes_only, out);
    free(text);
    return s;
}

glia_status glia_model_load(const char *path, int64_t batch, uint64_t seed, glia_model **out) {
    return load(path, NULL, batch, seed, 0, out);
}

glia_status glia_model_load_shapes(const char *path, int64_t batch, glia_model **out) {
    return load(path, NULL, batch, 1, 1, out);
}

glia_status glia_model_load_const(const char *path, const char *consts, int64_t batch, uint64_t seed,
                                  int shapes_only, glia_model **out) {
    return load(path, consts, batch, seed, shapes_only, out);
}

glia_graph *glia_model_graph(glia_model *m) { return m ? m->g : NULL; }
int glia_model_input(const glia_model *m) { return m ? m->input : -1; }
int glia_model_output(const glia_model *m) { return m ? m->output : -1; }
int glia_model_num_layers(const glia_model *m) { return m ? m->n_layers : 0; }

glia_status glia_model_set_option(glia_model *m, const char *key, const char *value) {
    if (!m || !key || !value) return glia__err(GLIA_EINVAL, "glia_model_set_option: NULL argument");
    for (int i = 0; i < MAX_KEYS && net_keys[i].key; i++) {
        if (strcmp(net_keys[i].key, key)) continue;
        char buf[256];
        if (i == 0 || !check_value(net_keys[i].kind, value, buf, sizeof buf))
            return glia__err(GLIA_EINVAL, "[net] %s = %s: expected %s", key, value,
                             i == 0 ? "no change (the input shape is fixed once built)"
                                    : kind_doc(net_keys[i].kind));
        char *v = xstrdup(buf);
        if (!v) return glia__err(GLIA_ENOMEM, "glia_model_set_option: out of memory");
        free(m->net_val[i]);
        m->net_val[i] = v;
        return GLIA_OK;
    }
    return glia__err(GLIA_EINVAL, "[net] has no key '%s'", key);
}

const char *glia_model_option(const glia_model *m, const char *key) {
    for (int i = 0; m && key && i < MAX_KEYS && net_keys[i].key; i++)
        if (!strcmp(net_keys[i].key, key)) return m->net_val[i];
    return NULL;
}

glia_status glia_model_layer(const glia_model *m, int i, glia_layer_info *out) {
    if (!m || !out || i < 0 || i >= m->n_layers)
        return glia__err(GLIA_EINVAL, "glia_model_layer: no layer %d", i);
    const model_layer *l = &m->layers[i];
    int end = i + 1 < m->n_layers ? m->layers[i + 1].first_node : m->end_node;
    out->name = l->name;
    out->type = l->def->type;
    out->output = l->out;
    glia_node_shape(m->g, l->out, &out->shape);
    out->params = out->trainable_params = 0;
    for (int n = l->first_node; n < end; n++) {
        const glia_node *x = &m->g->nodes[n];
        if (x->kind != NODE_PARAM && x->kind != NODE_BUFFER) continue;
        out->params += glia__numel(x);
        if (x->kind == NODE_PARAM && x->trainable) out->trainable_params += glia__numel(x);
    }
    out->macs = l->macs;
    return GLIA_OK;
}

/* the [net] keys that glia_model_to_text writes only when not at their default, so the text
 * of models that do not use them stays as it was */
static bool net_key_quiet(const char *key) {
    static const char *const quiet[] = {"target", "bucket", "label_smoothing", "onnx", "onnx_const"};
    for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++)
        if (!strcmp(key, quiet[i])) return true;
    return false;
}

glia_status glia_model_to_text(const glia_model *m, char **out) {
    if (!m || !out) return glia__err(GLIA_EINVAL, "glia_model_to_text: NULL argument");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return glia__err(GLIA_ENOMEM, "glia_model_to_text: out of memory");
    fprintf(f, "[net]\n");
    for (int i = 0; i < MAX_KEYS && net_keys[i].key; i++)
        if (!net_key_quiet(net_keys[i].key) || strcmp(m->net_val[i], net_keys[i].def))
            fprintf(f, "%s = %s\n", net_keys[i].key, m->net_val[i]);
    for (int i = 0; !m->onnx_path && i < m->n_layers; i++) { /* an ONNX model's are the file's */
        const model_layer *l = &m->layers[i];
        fprintf(f, "\n[%s]\nname = %s\n%s = %s\n", l->def->type, l->name,
                l->def->multi_input ? "inputs" : "input", l->input_text);
        for (int k = 0; k < MAX_KEYS && l->def->keys[k].key; k++)
            fprintf(f, "%s = %s\n", l->def->keys[k].key, l->val[k]);
    }
    if (fclose(f) || !buf) {
        free(buf);
        return glia__err(GLIA_ENOMEM, "glia_model_to_text: out of memory");
    }
    *out = buf;
    return GLIA_OK;
}
