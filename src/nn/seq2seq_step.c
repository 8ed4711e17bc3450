/* seq2seq_step.c: incremental decoding of an encoder-decoder (seq2seq_layers.c), one target
 * step per forward, O(T2) decoder steps per sequence instead of the O(T2^2) of rerunning the
 * decoder over the whole prefix (glia_seq2seq_set_incremental(m, 0) keeps that way, the check).
 *
 * The step model is a copy of the model with [net] target = 1, at `rows` rows, that reads the
 * model's own parameters: its parameter and buffer nodes point at the model's values (found by
 * name once, when the step model is built), so a decode call copies nothing and always sees
 * the weights as they are now (on a device without host memory they are copied instead). Its decoder ops are those that depend on the
 * input `target`; every other op (the encoder) runs once per source, at step 0, and the outputs
 * the decoder reads from it (the attention's memory) are retained so that they stay valid.
 * At step t >= 1 the decoder's recurrent ops start from the final state of step t - 1 (their
 * h0/c0 state inputs, glia_rnn_final_state), taken from the row's parent (beam search
 * reorders its prefixes), and only the decoder's ops run (glia__graph_forward_ops). That equals
 * the whole-prefix forward because the decoder is causal: its output at step t depends on its
 * inputs at steps <= t only (docs/model-format.md). An [attention_decoder] carries its h, c
 * and attentional vector the same way (its state inputs, m->dec_state). A decoder with a
 * bidirectional recurrent layer is not causal: such a model decodes the old way. */
#include "model_internal.h"
#include "../core/device.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int op, h0, c0; /* the recurrent op and its state inputs (c0 -1: not an lstm) */
    int64_t H;
} dec_rnn;

struct glia__s2s_step {
    glia_model *sm;     /* the model with target = 1 at `rows` rows */
    int rows;
    unsigned char *dec; /* [nodes]: the decoder's ops */
    dec_rnn *rnn;
    int n_rnn;
    int *twin;          /* [model nodes]: the step model's node of a parameter or buffer, -1 */
    int n_twin;
    float *tmp;         /* [2 rows Hmax]: final states h, c */
};

void glia__s2s_step_free(glia__s2s_step *st) {
    if (!st) return;
    glia_model_free(st->sm);
    free(st->dec);
    free(st->rnn);
    free(st->twin);
    free(st->tmp);
    free(st);
}

/* the model text with [net] target = 1 */
static glia_status step_text(const glia_model *m, char **out) {
    char *text;
    glia_status s = glia_model_to_text(m, &text);
    if (s) return s;
    char *p = strstr(text, "\ntarget = "), *e = p ? strchr(p + 1, '\n') : NULL;
    char *t = p && e ? glia__malloc(strlen(text) + 16) : NULL;
    if (t) sprintf(t, "%.*s\ntarget = 1%s", (int)(p - text), text, e);
    free(text);
    if (!t) return glia__err(GLIA_ENOMEM, "incremental decoding: out of memory");
    *out = t;
    return GLIA_OK;
}

/* marks the decoder's ops (those that depend on target) and finds its recurrent ops; *ok = 0
 * when one is bidirectional (not causal) */
static glia_status find_decoder(glia__s2s_step *st, int *ok) {
    glia_model *sm = st->sm;
    glia_graph *g = sm->g;
    *ok = 1;
    if (!(st->dec = glia__calloc((size_t)g->n_nodes, 1)) ||
        !(st->rnn = glia__calloc((size_t)g->n_nodes, sizeof *st->rnn)))
        return glia__err(GLIA_ENOMEM, "incremental decoding: out of memory");
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *n = &g->nodes[i];
        int dep = i == sm->target || i == sm->target_lengths;
        for (int k = 0; k < 3 && sm->dec_n; k++) dep |= i == sm->dec_state[k][0]; /* carried */
        for (int k = 0; k < n->n_in && !dep; k++) dep = st->dec[n->in[k]];
        st->dec[i] = (unsigned char)dep;
        if (!dep || n->kind != NODE_OP) continue;
        for (int k = 0; k < n->n_in; k++) { /* what the step reads from the encoder stays */
            const glia_node *x = &g->nodes[n->in[k]];
            glia_status s;
            if (x->kind == NODE_OP && !st->dec[n->in[k]] && (s = glia_node_retain(g, n->in[k]))) return s;
        }
        if (n->op != GLIA_OP_rnn && n->op != GLIA_OP_lstm && n->op != GLIA_OP_gru) continue;
        dec_rnn r = {i, -1, -1, 0};
        for (int k = 0; k < n->n_in; k++)
            if (glia_node_is_state(g, n->in[k])) {
                if (r.h0 < 0) r.h0 = n->in[k];
                else r.c0 = n->in[k];
            }
        if (r.h0 < 0 || g->nodes[r.h0].shape.dim[0] != 1 || (n->op == GLIA_OP_lstm && r.c0 < 0)) {
            *ok = 0; /* bidirectional (or no state inputs): decode the old way */
            return GLIA_OK;
        }
        r.H = g->nodes[r.h0].shape.dim[2];
        st->rnn[st->n_rnn++] = r;
    }
    return GLIA_OK;
}

static glia_status step_new(glia_model *m, int rows, glia__s2s_step **out) {
    *out = NULL;
    glia__s2s_step *st = glia__calloc(1, sizeof *st);
    char *text = NULL;
    if (!st) return glia__err(GLIA_ENOMEM, "incremental decoding: out of memory");
    st->rows = rows;
    int ok = 0;
    glia_status s = step_text(m, &text);
    if (!s) s = glia_model_parse(text, m->filename, rows, 1, &st->sm);
    free(text);
    if (!s) s = find_decoder(st, &ok);
    int64_t Hmax = 1;
    for (int k = 0; k < st->n_rnn; k++) Hmax = st->rnn[k].H > Hmax ? st->rnn[k].H : Hmax;
    for (int k = 0; !s && k < 3 && st->sm->dec_n; k++) { /* an [attention_decoder]'s states */
        glia_shape sh;
        glia_node_shape(st->sm->g, st->sm->dec_state[k][0], &sh);
        Hmax = sh.dim[1] > Hmax ? sh.dim[1] : Hmax;
    }
    if (!s && ok && !(st->tmp = glia__calloc(2 * (size_t)rows * (size_t)Hmax, sizeof *st->tmp)))
        s = glia__err(GLIA_ENOMEM, "incremental decoding: out of memory");
    if (!s && ok) {
        glia_graph_set_training(st->sm->g, 0);
        s = glia_graph_compile(st->sm->g, 0);
    }
    if (s || !ok) {
        glia__s2s_step_free(st);
        return s;
    }
    *out = st;
    return GLIA_OK;
}

/* the step model's twin of each of m's parameters and buffers (same name and size) */
static glia_status find_twins(glia_model *m, glia__s2s_step *st) {
    const glia_graph *g = m->g;
    if (!(st->twin = glia__malloc((size_t)g->n_nodes * sizeof *st->twin)))
        return glia__err(GLIA_ENOMEM, "incremental decoding: out of memory");
    st->n_twin = g->n_nodes;
    for (int i = 0; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        st->twin[i] = -1;
        if (n->kind != NODE_PARAM && n->kind != NODE_BUFFER) continue;
        int j;
        if (glia_graph_find(st->sm->g, n->name, &j) || glia__numel(&st->sm->g->nodes[j]) != glia__numel(n))
            return glia__err(GLIA_EINVAL, "incremental decoding: parameter '%s' of %s has no twin "
                             "in the step model", n->name, m->filename);
        st->twin[i] = j;
    }
    return GLIA_OK;
}

/* the step model reads m's parameters and buffers: their memory when it is host memory (the
 * step model's own copies are freed), else a copy */
static glia_status share_weights(glia_model *m, glia__s2s_step *st) {
    glia_graph *g = m->g, *sg = st->sm->g;
    const int host = glia__dev_host(g);
    for (int i = 0; i < g->n_nodes && i < st->n_twin; i++) {
        if (st->twin[i] < 0) continue;
        glia_node *n = &g->nodes[i], *x = &sg->nodes[st->twin[i]];
        if (host) {
            if (x->owned_val != n->val) free(x->owned_val);
            x->owned_val = NULL; /* not the step model's to free */
            x->val = n->val;
            continue;
        }
        const float *v = glia_node_value(g, i);
        glia_status s = v ? glia_node_write(sg, st->twin[i], v, glia__numel(n))
                          : glia__err(GLIA_EINVAL, "incremental decoding: no value of '%s'", n->name);
        if (s) return s;
    }
    return GLIA_OK;
}

glia_status glia__s2s_step_open(glia_model *m, int rows, glia__s2s_step **out) {
    *out = NULL;
    if (!m->incremental) return GLIA_OK;
    if (m->step && m->step->rows != rows) {
        glia__s2s_step_free(m->step);
        m->step = NULL;
    }
    glia_status s;
    if (!m->step && (s = step_new(m, rows, &m->step))) return s;
    if (!m->step) { /* not causal: the old way from now on */
        m->incremental = 0;
        return GLIA_OK;
    }
    if ((!m->step->twin && (s = find_twins(m, m->step))) || (s = share_weights(m, m->step))) return s;
    *out = m->step;
    return GLIA_OK;
}

glia_status glia__s2s_step_begin(glia__s2s_step *st, int n_src, const int *const *srcs,
                                 const int *src_lens) {
    glia_model *sm = st->sm;
    glia_graph *g = sm->g;
    float *x = glia_node_value(g, sm->input), *len = glia_node_value(g, sm->lengths);
    float *y = glia_node_value(g, sm->target), *ylen = glia_node_value(g, sm->target_lengths);
    const int S = (int)sm->seq_T, R = st->rows;
    for (int r = 0; r < R; r++) {
        const int k = r < n_src ? r : 0, L = src_lens[k];
        for (int s = 0; s < S; s++) x[(size_t)s * R + r] = s < L ? (float)srcs[k][s] : 0.0f;
        len[r] = (float)L;
        y[r] = (float)GLIA_SEQ2SEQ_BOS;
        ylen[r] = 1.0f;
    }
    for (int k = 0; k < st->n_rnn; k++) {
        const dec_rnn *d = &st->rnn[k];
        memset(glia_node_value(g, d->h0), 0, (size_t)R * d->H * sizeof(float));
        if (d->c0 >= 0) memset(glia_node_value(g, d->c0), 0, (size_t)R * d->H * sizeof(float));
    }
    for (int k = 0; k < 3 && sm->dec_n; k++) {
        glia_shape sh;
        glia_node_shape(g, sm->dec_state[k][0], &sh);
        memset(glia_node_value(g, sm->dec_state[k][0]), 0, (size_t)glia_shape_numel(&sh) * sizeof(float));
    }
    return glia_graph_forward(g);
}

glia_status glia__s2s_step_next(glia__s2s_step *st, const int *tokens, const int *parent) {
    glia_graph *g = st->sm->g;
    const int R = st->rows;
    for (int k = 0; k < st->n_rnn; k++) { /* h0, c0 = the parents' final states */
        const dec_rnn *d = &st->rnn[k];
        const size_t H = (size_t)d->H;
        float *h = st->tmp, *c = st->tmp + (size_t)R * H;
        glia_status s = glia_rnn_final_state(g, d->op, h, d->c0 >= 0 ? c : NULL);
        if (s) return s;
        float *h0 = glia_node_value(g, d->h0), *c0 = d->c0 >= 0 ? glia_node_value(g, d->c0) : NULL;
        for (int r = 0; r < R; r++) {
            const int p = parent ? parent[r] : r;
            memcpy(h0 + (size_t)r * H, h + (size_t)p * H, H * sizeof *h0);
            if (c0) memcpy(c0 + (size_t)r * H, c + (size_t)p * H, H * sizeof *c0);
        }
    }
    for (int k = 0; k < 3 && st->sm->dec_n; k++) { /* an [attention_decoder]'s h, c, h~ */
        glia_shape sh;
        glia_node_shape(g, st->sm->dec_state[k][0], &sh);
        const size_t D = (size_t)sh.dim[1];
        const float *last = glia_node_value(g, st->sm->dec_state[k][1]);
        float *in = glia_node_value(g, st->sm->dec_state[k][0]);
        memcpy(st->tmp, last, (size_t)R * D * sizeof *st->tmp);
        for (int r = 0; r < R; r++) memcpy(in + (size_t)r * D, st->tmp + (size_t)(parent ? parent[r] : r) * D, D * sizeof *in);
    }
    float *y = glia_node_value(g, st->sm->target);
    for (int r = 0; r < R; r++) y[r] = (float)tokens[r];
    return glia__graph_forward_ops(g, st->dec);
}

const float *glia__s2s_step_logits(const glia__s2s_step *st) {
    return glia_node_value(st->sm->g, st->sm->output);
}

void glia_seq2seq_set_incremental(glia_model *m, int on) {
    if (!m) return;
    m->incremental = on != 0;
    if (!on) {
        glia__s2s_step_free(m->step);
        m->step = NULL;
    }
}

int glia_seq2seq_incremental(const glia_model *m) { return m ? m->incremental : 0; }
