/* model_internal.h: what model.c (the text format and the generic layers) shares with the
 * files that add more layer builders (seq_layers.c: embedding, one-hot, word hashing,
 * rnn/lstm/gru, per-step dense). Internal. */
#ifndef GLIA_MODEL_INTERNAL_H
#define GLIA_MODEL_INTERNAL_H
#include "../core/internal.h"

/* K_INTS: 1 to 4 non-negative integers separated by commas (a kernel size "k" or "kh, kw"; a
 * padding "p", "ph, pw" or "top, bottom, left, right") */
typedef enum { K_INT, K_FLOAT, K_BOOL, K_STR, K_NAME, K_NAMES, K_SHAPE, K_ACT, K_INIT, K_BINARY, K_INTS, K_FLOATS, K_PATH } key_kind;
/* A section's key: its kind and default as text (NULL: required). A key that sets an op's
 * attribute (dropout's p, batchnorm's eps) names the op and attribute instead, and its default
 * is the one the op declares (src/ops/<op>.c, its attrs table), so the two cannot drift apart. */
typedef struct {
    const char *key;
    key_kind kind;
    const char *def;
    const char *op, *attr;
} key_def;
#define KEY(key, kind, def) {key, kind, def, NULL, NULL}
#define OP_KEY(key, kind, op, attr) {key, kind, NULL, op, attr}
#define KEY_END {NULL, 0, NULL, NULL, NULL}

#define MAX_KEYS 28
/* inputs of one [concat] or [add] (a dense block's concatenation takes every earlier layer); the
 * builder splits a concatenation of more than GLIA_MAX_INPUTS into a tree of concat ops */
#define MODEL_MAX_INPUTS 256
typedef struct layer_def layer_def;
typedef struct glia__s2s_step glia__s2s_step;
typedef struct model_layer model_layer;
typedef glia_status (*build_fn)(glia_model *m, model_layer *l);

struct layer_def {
    const char *type, *summary;
    key_def keys[MAX_KEYS]; /* after the common `name` and `input` (or `inputs`) */
    build_fn build;
    int multi_input;        /* add, concat: `inputs = a, b, ...` */
};

struct model_layer {
    const layer_def *def;
    char name[GLIA_NAME_MAX];
    char *val[MAX_KEYS];    /* canonical values, schema order */
    int in[MODEL_MAX_INPUTS], n_in; /* input nodes */
    char *input_text;       /* the input/inputs value as written (canonical) */
    int line;
    int out;
    int lengths;            /* the lengths input of its first input's sequence (-1: none) */
    int first_node;         /* nodes [first_node, next layer's first_node) belong to the layer */
    int64_t macs;
};

struct glia_model {
    glia_graph *g;
    int input, output;
    char *filename;
    char *net_val[MAX_KEYS];
    model_layer *layers;
    int n_layers;
    int end_node;
    glia_rng rng;
    /* sequence models ([net] sequence = T > 0): data is [T, N, input]; lengths [N] (all T unless
     * the caller fills them) feeds every recurrent layer */
    int lengths;
    int64_t seq_T;
    /* sequence to sequence ([net] target = T2 > 0, seq2seq_layers.c): the decoder's input ids
     * `target` [T2, N, 1] and their lengths `target_lengths` [N]; -1 when not seq2seq */
    int target, target_lengths;
    int64_t tgt_T;
    /* a model from an ONNX file ([net] onnx = FILE, model_onnx.c): the file as found (relative to
     * the model text's directory), and a layer type per layer (its ONNX op); NULL otherwise */
    char *onnx_path;
    layer_def *onnx_defs;
    /* decoding one step per forward (seq2seq_step.c): on unless glia_seq2seq_set_incremental
     * turned it off; the step model, made at the first decode */
    int incremental;
    glia__s2s_step *step;
    /* the [attention_decoder] (seq2seq_layers.c), dec_n steps (0: none): its attention op of
     * each step; its state inputs h0, c0, feed0 ([k][0]) and their values after the last step
     * ([k][1], retained), which decoding one step at a time carries */
    int dec_n, *dec_att, dec_state[3][2];
};

/* a layer's canonical key values (model.c) */
int64_t glia__layer_int(const model_layer *l, const char *key);
float glia__layer_float(const model_layer *l, const char *key);
const char *glia__layer_str(const model_layer *l, const char *key);

/* what every builder uses (model.c): "<layer>.<suffix>" into buf[GLIA_NAME_MAX]; the
 * activation act (a K_ACT value: linear, relu, leaky, ...) of x as node "<layer>.<act>" (linear:
 * *out = x); the layer's `init` key as a glia_init_kind */
glia_status glia__layer_name(const model_layer *l, const char *suffix, char *buf);
glia_status glia__layer_activation(glia_model *m, const model_layer *l, const char *act, int x,
                                   int *out);
glia_init_kind glia__layer_init(const model_layer *l);

/* builders of the sequence layers (seq_layers.c) */
glia_status glia__b_embedding(glia_model *m, model_layer *l);
glia_status glia__b_onehot(glia_model *m, model_layer *l);
glia_status glia__b_wordhash(glia_model *m, model_layer *l);
glia_status glia__b_recurrent(glia_model *m, model_layer *l);
glia_status glia__b_seqdense(glia_model *m, model_layer *l);
/* sequence to sequence (seq2seq_layers.c): the inputs `target` and `target_lengths` when
 * [net] target > 0 (m->target = -1 otherwise); the [attention] layer */
glia_status glia__seq2seq_inputs(glia_model *m, int64_t batch);
glia_status glia__b_attention(glia_model *m, model_layer *l);
glia_status glia__b_attention_decoder(glia_model *m, model_layer *l);
/* the concatenation of n nodes along axis, any n up to MODEL_MAX_INPUTS (a tree of concat ops
 * "<name>.partK" when n > GLIA_MAX_INPUTS) (model.c) */
glia_status glia__concat_many(glia_model *m, const char *name, int n, const int *in, int axis, int *out);
/* [net] onnx = value (model_onnx.c): imports the file (relative to text_file's directory) for
 * `batch` and writes its input's per-sample shape as [net] input text into input[len]; then,
 * after [net]'s keys are read, _build takes the graph from ox as the model's (sections: how
 * many the text has, [net] included; classes_given: [net] sets classes, else the output's) */
typedef struct glia_onnx glia_onnx;
glia_status glia__model_onnx_open(glia_model *m, const char *value, const char *consts, const char *text_file,
                                  int64_t batch, glia_onnx **ox, char *input, size_t len);
glia_status glia__model_onnx_build(glia_model *m, glia_onnx *ox, int sections, int classes_given);
/* incremental decoding (seq2seq_step.c): _open gives m's step model at `rows` rows with m's
 * current weights (*out NULL: decode the old way: turned off, or the decoder is not causal);
 * _begin runs the encoder and step 0 (row r reads source r, source 0 from n_src on); _next runs
 * one more step, row r reading tokens[r] after the state of row parent[r] (NULL: r); the
 * logits of the last step are [rows, classes] */
/* An ensemble of beam-search steps (seq2seq_decode.c): logp = log of the mean of the n steps'
 * distributions, each step writing into work [n, rows, vocab] first */
typedef struct glia__ensemble {
    glia_beam_step_fn *step;
    void **ctx;
    int n, vocab;
    float *work;
} glia__ensemble;
glia_status glia__ensemble_step(void *ctx, int t, int n, const int *prefix, int ldp, float *logp);
glia_status glia__s2s_step_open(glia_model *m, int rows, glia__s2s_step **out);
glia_status glia__s2s_step_begin(glia__s2s_step *st, int n_src, const int *const *srcs,
                                 const int *src_lens);
glia_status glia__s2s_step_next(glia__s2s_step *st, const int *tokens, const int *parent);
const float *glia__s2s_step_logits(const glia__s2s_step *st);
void glia__s2s_step_free(glia__s2s_step *st);
/* the index of the layer named name, -1 if none (model.c) */
int glia__model_find_layer(const glia_model *m, const char *name);
#endif
