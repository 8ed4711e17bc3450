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

/* [attention_decoder]: an LSTM decoder with attention at every step, unrolled over the T2
 * target steps, optionally with input feeding (Luong et al. 2015, sec. 3.3). Per step t, rows
 * [N, .], e_t the step's input (its input sequence at t), all states 0 before step 0:
 *   x_t = [e_t; h~_{t-1}]  (feed = 1; feed = 0: x_t = e_t)
 *   [i f g o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh    (PyTorch's nn.LSTM, its gate order)
 *   c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g),   h_t = sigmoid(o) tanh(c_t)
 *   ctx_t = attention(h_t, memory)                     (glia_attention: score, masked softmax)
 *   h~_t = tanh(W_c [ctx_t; h_t] + b_c)                (the attentional vector)
 * Output: the h~_t one step after the other, [T2 N, units] (row t N + n), as [seqdense]'s. With
 * feed = 0 it computes what [lstm], [attention] and [seqdense] with activation = tanh compute
 * (test seq2seq_attention_decoder), one step at a time. Built from the graph's ops (dense,
 * slice, sigmoid, tanh, mul, add, attention), so backward is theirs. The states before step 0
 * are the state inputs <layer>.h0, .c0, .feed0 [N, .] (zeros in training); decoding one step at
 * a time (seq2seq_step.c) sets them to the previous step's h_t, c_t, h~_t (m->dec_state).
 * Parameters: weight_ih [4H, E (+ units)], weight_hh [4H, H], bias_ih, bias_hh [4H], all
 * U(+-1/sqrt(H)); the score's as [attention]'s; attentional_weight [units, Dk + H],
 * attentional_bias [units], U(+-1/sqrt(Dk + H)). */
static glia_status dec_state_input(glia_model *m, const model_layer *l, const char *what, int64_t D, int *out) {
    char nm[GLIA_NAME_MAX];
    glia_shape s;
    glia_node_shape(m->g, m->target, &s);
    glia_status st = glia__layer_name(l, what, nm);
    if (!st) st = glia_input(m->g, nm, 2, (int64_t[]){s.dim[1], D}, out);
    if (!st) st = glia_node_set_state(m->g, *out, 1);
    return st;
}

glia_status glia__b_attention_decoder(glia_model *m, model_layer *l) {
    static const char *const scores[] = {"dot", "general", "additive"};
    const char *mem = glia__layer_str(l, "memory"), *sc = glia__layer_str(l, "score");
    int score = -1, j = glia__model_find_layer(m, mem);
    for (int i = 0; i < 3; i++)
        if (!strcmp(sc, scores[i])) score = i;
    if (score < 0) return glia__err(GLIA_EINVAL, "score = %s: expected dot, general or additive", sc);
    if (j < 0 || !strcmp(m->layers[j].name, l->name))
        return glia__err(GLIA_EINVAL, "memory = %s: not a layer defined above", mem);
    if (m->dec_n)
        return glia__err(GLIA_EINVAL, "a second [attention_decoder]: a model has at most one");
    const model_layer *enc = &m->layers[j];
    glia_shape xs, ks;
    char a[96], b[96];
    glia_node_shape(m->g, l->in[0], &xs);
    glia_node_shape(m->g, enc->out, &ks);
    if (xs.ndim != 3 || ks.ndim != 3 || xs.dim[1] != ks.dim[1] || m->target < 0)
        return glia__err(GLIA_ESHAPE, "the input %s and memory '%s' %s must be sequences [T2, N, E] "
                         "and [S, N, D] of an encoder-decoder ([net] target > 0)",
                         glia_shape_str(&xs, a, sizeof a), mem, glia_shape_str(&ks, b, sizeof b));
    const int64_t T = xs.dim[0], E = xs.dim[2], Dk = ks.dim[2], H = glia__layer_int(l, "hidden");
    int64_t U = glia__layer_int(l, "units"), A = glia__layer_int(l, "attention_units");
    const int feed = (int)glia__layer_int(l, "feed");
    if (H < 1) return glia__err(GLIA_EINVAL, "hidden must be >= 1");
    if (!U) U = H;
    if (!A) A = H;
    if (score == GLIA_ATTENTION_DOT && H != Dk)
        return glia__err(GLIA_ESHAPE, "score = dot needs hidden = the memory's size (%lld), not %lld",
                         (long long)Dk, (long long)H);
    int wih, whh, bih, bhh, wc, bc, p[3] = {-1, -1, -1};
    glia_status s;
    if ((s = param(m, l, "weight_ih", 2, 4 * H, E + (feed ? U : 0), H, &wih)) ||
        (s = param(m, l, "weight_hh", 2, 4 * H, H, H, &whh)) || (s = param(m, l, "bias_ih", 1, 4 * H, 0, H, &bih)) ||
        (s = param(m, l, "bias_hh", 1, 4 * H, 0, H, &bhh)))
        return s;
    if (score == GLIA_ATTENTION_GENERAL) s = param(m, l, "weight", 2, H, Dk, Dk, &p[0]);
    if (score == GLIA_ATTENTION_ADDITIVE && !(s = param(m, l, "query_weight", 2, A, H, H, &p[0])) &&
        !(s = param(m, l, "key_weight", 2, A, Dk, Dk, &p[1])))
        s = param(m, l, "v", 1, A, 0, A, &p[2]);
    if (s || (s = param(m, l, "attentional_weight", 2, U, Dk + H, Dk + H, &wc)) ||
        (s = param(m, l, "attentional_bias", 1, U, 0, Dk + H, &bc)))
        return s;
    int h, c, f;
    if ((s = dec_state_input(m, l, "h0", H, &h)) || (s = dec_state_input(m, l, "c0", H, &c)) ||
        (s = dec_state_input(m, l, "feed0", U, &f)))
        return s;
    m->dec_state[0][0] = h, m->dec_state[1][0] = c, m->dec_state[2][0] = f;
    int *outs = glia__malloc((size_t)T * sizeof *outs);
    if (!(m->dec_att = glia__malloc((size_t)T * sizeof *m->dec_att)) || !outs) {
        free(outs);
        return glia__err(GLIA_ENOMEM, "[attention_decoder]: out of memory");
    }
    m->dec_n = (int)T;
    glia_graph *g = m->g;
    for (int64_t t = 0; t < T && !s; t++) {
        int st = -1, e = -1, x = -1, z = -1, zr = -1, gi = -1, gf = -1, gg = -1, go = -1, u = -1, v = -1,
            hq = -1, q = -1, ctx = -1, cf = -1, cat = -1, o = -1;
        s = glia_slice(g, NULL, l->in[0], 0, t, t + 1, &st);
        if (!s) s = glia_time_flatten(g, NULL, st, &e);
        x = e;
        if (!s && feed) s = glia_concat(g, NULL, 2, (int[]){e, f}, 1, &x);
        if (!s) s = glia_dense(g, NULL, x, wih, bih, &z);
        if (!s) s = glia_dense(g, NULL, h, whh, bhh, &zr);
        if (!s) s = glia_add(g, NULL, z, zr, &z);
        if (!s) s = glia_slice(g, NULL, z, 1, 0, H, &gi);
        if (!s) s = glia_slice(g, NULL, z, 1, H, 2 * H, &gf);
        if (!s) s = glia_slice(g, NULL, z, 1, 2 * H, 3 * H, &gg);
        if (!s) s = glia_slice(g, NULL, z, 1, 3 * H, 4 * H, &go);
        if (!s) s = glia_sigmoid(g, NULL, gi, &gi);
        if (!s) s = glia_sigmoid(g, NULL, gf, &gf);
        if (!s) s = glia_tanh(g, NULL, gg, &gg);
        if (!s) s = glia_sigmoid(g, NULL, go, &go);
        if (!s) s = glia_mul(g, NULL, gf, c, &u);
        if (!s) s = glia_mul(g, NULL, gi, gg, &v);
        if (!s) s = glia_add(g, NULL, u, v, &c);      /* c_t */
        if (!s) s = glia_tanh(g, NULL, c, &u);
        if (!s) s = glia_mul(g, NULL, go, u, &h);     /* h_t */
        /* the query [1, N, H]: h_t [N, H] as [N, 1, H], axes 0 and 1 swapped */
        if (!s) s = glia_reshape(g, NULL, h, 2, (int64_t[]){1, H}, &hq);
        if (!s) s = glia_transpose(g, NULL, hq, 3, (int[]){1, 0, 2}, &q);
        if (!s) s = glia_attention(g, NULL, score, q, enc->out, p, enc->lengths, &m->dec_att[t]);
        if (!s) s = glia_time_flatten(g, NULL, m->dec_att[t], &ctx);
        if (!s) s = glia_concat(g, NULL, 2, (int[]){ctx, h}, 1, &cat);
        if (!s) s = glia_dense(g, NULL, cat, wc, bc, &cf);
        if (!s) s = glia_tanh(g, NULL, cf, &o);        /* h~_t */
        if (!s) outs[t] = f = o;
    }
    m->dec_state[0][1] = h, m->dec_state[1][1] = c, m->dec_state[2][1] = f;
    for (int k = 0; k < 3 && !s; k++) s = glia_node_retain(g, m->dec_state[k][1]);
    if (!s && T > 1) s = glia__concat_many(m, l->name, (int)T, outs, 0, &l->out);
    else if (!s) l->out = outs[0];
    free(outs);
    l->macs = T * (4 * H * (E + (feed ? U : 0) + H) + ks.dim[0] * (score == GLIA_ATTENTION_ADDITIVE ? A : Dk) +
                   ks.dim[0] * Dk + U * (Dk + H));
    return s;
}
