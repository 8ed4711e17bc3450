/* seq2seq_layers.c: sequence to sequence in the model text (docs/model-format.md).
 *
 * [net] sequence = S and target = T2 > 0 make an encoder-decoder: besides data [S, N, 1] (the
 * source ids) and lengths [N], the model has the inputs
 *   target [T2, N, 1]      the decoder's input ids: <s>, then the target shifted by one
 *                          (teacher forcing), as PyTorch's seq2seq tutorials feed it
 *   target_lengths [N]     the live steps of target (its length + 1, for </s>)
 * A layer reads `input = target` as it reads `input = data`; a layer's lengths are those of its
 * first input's sequence, so the decoder's recurrent layers mask the target's padding and the
 * encoder's the source's. The decoder runs over all T2 steps at once (teacher forcing); its
 * outputs at step t depend on steps <= t only (the recurrence is causal, attention looks at the
 * encoder, not at later decoder steps), which is what lets decoding (seq2seq_decode.c) run the
 * same graph on a growing prefix.
 *
 *   [attention] memory = ENC, score = dot | general | additive, units = A (additive; 0: the
 *   query's size), output = concat | context
 *     the query sequence (its input) [T2, N, Dq] attends to layer ENC's [S, N, Dk] over ENC's
 *     live steps (glia_attention); output = concat gives [context; query] [T2, N, Dk + Dq],
 *     the input of Luong et al.'s attentional layer h~ = tanh(W_c [c; h]) (a [seqdense] with
 *     activation = tanh), context gives c alone. Parameters: general `<layer>.weight` [Dq, Dk];
 *     additive `<layer>.query_weight` [A, Dq], `<layer>.key_weight` [A, Dk], `<layer>.v` [A],
 *     all U(+-1/sqrt(fan_in)) as PyTorch's nn.Linear. */
#include "model_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

glia_status glia__seq2seq_inputs(glia_model *m, int64_t batch) {
    m->target = m->target_lengths = -1;
    m->tgt_T = strtoll(glia_model_option(m, "target"), NULL, 10);
    if (m->tgt_T <= 0) return GLIA_OK;
    if (m->seq_T <= 0 || strcmp(m->net_val[0], "1"))
        return glia__err(GLIA_EINVAL, "%s: [net] target = %lld (an encoder-decoder) needs "
                         "sequence = S > 0 and input = 1 (source token ids)", m->filename,
                         (long long)m->tgt_T);
    glia_status s;
    if ((s = glia_input(m->g, "target", 3, (int64_t[]){m->tgt_T, batch, 1}, &m->target)) ||
        (s = glia_node_set_batch_axis(m->g, m->target, 1)) ||
        (s = glia_input(m->g, "target_lengths", 1, &batch, &m->target_lengths)))
        return s;
    float *len = glia_node_value(m->g, m->target_lengths); /* NULL: shapes only (load_shapes) */
    for (int64_t i = 0; len && i < batch; i++) len[i] = (float)m->tgt_T;
    return GLIA_OK;
}

static void uniform(glia_model *m, int node, float bound) {
    glia_shape s;
    glia_node_shape(m->g, node, &s);
    float *v = glia_node_value(m->g, node); /* NULL: shapes only (glia_model_load_shapes) */
    for (int64_t i = 0; v && i < glia_shape_numel(&s); i++) v[i] = bound * (2 * glia_rng_uniform(&m->rng) - 1);
}

static glia_status param(glia_model *m, const model_layer *l, const char *what, int nd, int64_t d0,
                         int64_t d1, int64_t fan_in, int *out) {
    char nm[GLIA_NAME_MAX];
    glia_status s = glia__layer_name(l, what, nm);
    if (s || (s = glia_param(m->g, nm, nd, (int64_t[]){d0, d1}, out))) return s;
    uniform(m, *out, 1.0f / sqrtf((float)fan_in));
    return GLIA_OK;
}

glia_status glia__b_attention(glia_model *m, model_layer *l) {
    static const char *const scores[] = {"dot", "general", "additive"};
    const char *mem = glia__layer_str(l, "memory"), *sc = glia__layer_str(l, "score"),
               *output = glia__layer_str(l, "output");
    int score = -1, j = glia__model_find_layer(m, mem);
    for (int i = 0; i < 3; i++)
        if (!strcmp(sc, scores[i])) score = i;
    if (score < 0) return glia__err(GLIA_EINVAL, "score = %s: expected dot, general or additive", sc);
    if (strcmp(output, "concat") && strcmp(output, "context"))
        return glia__err(GLIA_EINVAL, "output = %s: expected concat or context", output);
    if (j < 0 || !strcmp(m->layers[j].name, l->name))
        return glia__err(GLIA_EINVAL, "memory = %s: not a layer defined above", mem);
    const model_layer *enc = &m->layers[j];
    glia_shape qs, ks;
    char a[96], b[96];
    glia_node_shape(m->g, l->in[0], &qs);
    glia_node_shape(m->g, enc->out, &ks);
    if (qs.ndim != 3 || ks.ndim != 3 || qs.dim[1] != ks.dim[1])
        return glia__err(GLIA_ESHAPE, "the query %s and memory '%s' %s must be sequences [T, N, D] "
                         "and [S, N, D] (recurrent layers with return = sequence)",
                         glia_shape_str(&qs, a, sizeof a), mem, glia_shape_str(&ks, b, sizeof b));
    const int64_t Dq = qs.dim[2], Dk = ks.dim[2];
    int64_t A = glia__layer_int(l, "units");
    if (!A) A = Dq;
    int p[3] = {-1, -1, -1}, ctx;
    glia_status s = GLIA_OK;
    if (score == GLIA_ATTENTION_GENERAL) s = param(m, l, "weight", 2, Dq, Dk, Dk, &p[0]);
    if (score == GLIA_ATTENTION_ADDITIVE && !(s = param(m, l, "query_weight", 2, A, Dq, Dq, &p[0])) &&
        !(s = param(m, l, "key_weight", 2, A, Dk, Dk, &p[1])))
        s = param(m, l, "v", 1, A, 0, A, &p[2]);
    if (s) return s;
    char nm[GLIA_NAME_MAX];
    int concat = !strcmp(output, "concat");
    if (concat) s = glia__layer_name(l, "context", nm);
    else snprintf(nm, sizeof nm, "%s", l->name);
    if (s || (s = glia_attention(m->g, nm, score, l->in[0], enc->out, p, enc->lengths, &ctx))) return s;
    l->macs = qs.dim[0] * ks.dim[0] * (score == GLIA_ATTENTION_ADDITIVE ? A : Dk) + qs.dim[0] * ks.dim[0] * Dk;
    if (!concat) {
        l->out = ctx;
        return GLIA_OK;
    }
    return glia_concat(m->g, l->name, 2, (int[]){ctx, l->in[0]}, 2, &l->out);
}

int glia_model_target(const glia_model *m) { return m ? m->target : -1; }
int glia_model_target_lengths(const glia_model *m) { return m ? m->target_lengths : -1; }
int glia_model_target_steps(const glia_model *m) { return m && m->target >= 0 ? (int)m->tgt_T : 0; }

int glia_model_attention(const glia_model *m) {
    for (int i = 0; m && i < m->g->n_nodes; i++)
        if (m->g->nodes[i].kind == NODE_OP && m->g->nodes[i].op == GLIA_OP_attention) return i;
    return -1;
}

/* the vocab of the [embedding] or [onehot] layer that reads node x, 0 if none */
static int vocab_of(const glia_model *m, int x) {
    for (int i = 0; i < m->n_layers; i++) {
        const model_layer *l = &m->layers[i];
        if (l->n_in && l->in[0] == x &&
            (!strcmp(l->def->type, "embedding") || !strcmp(l->def->type, "onehot")))
            return (int)glia__layer_int(l, "vocab");
    }
    return 0;
}

int glia_model_seq2seq_vocabs(const glia_model *m, int *source, int *target) {
    if (!m || m->target < 0) return 0;
    if (source) *source = vocab_of(m, m->input);
    if (target) *target = vocab_of(m, m->target);
    return 1;
}
