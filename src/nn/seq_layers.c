/* seq_layers.c: the sequence layers of the model text (docs/model-format.md) built into graphs,
 * and what a caller needs to run a sequence model: its lengths input and the state carried
 * between consecutive chunks (truncated BPTT).
 *
 *   [embedding] vocab, dim      ids [T, N, 1] -> weight rows [T, N, dim]   (nn.Embedding, N(0,1))
 *   [onehot] vocab              ids [T, N, 1] -> [T, N, vocab]: an embedding whose table is the
 *                               constant identity (an input node, so no parameters); the data
 *                               readers map every unknown symbol to the last id, "other"
 *   [wordhash] buckets, dim     letter-trigram bucket ids [T, N, K] (glia_word_trigrams, -1:
 *                               empty slot) -> the sum of their rows [T, N, dim] (embedding_bag)
 *   [rnn] [lstm] [gru]          `layers` stacked ops (src/ops/rnn.c), dropout p between them,
 *   [clockwork] [scrn]          each with h0 (and c0) inputs "<name>.h0_l<k>" [dirs, N, H]
 *                               (scrn: and s0 "<name>.s0_l<k>" [dirs, N, context]; its y per
 *                               direction is [h, s], dirs*(H+S) wide; clockwork: and its clock
 *                               "<name>.clock_l<k>" [1], the step count at t = 0, a state
 *                               advanced by T per chunk)
 *                               (state inputs, batch axis 1; zeros unless the caller carries a
 *                               state), the model's lengths;
 *                               return = sequence: y [T, N, dirs*H]; last: [N, dirs*H]
 *                               (glia_seq_last, PyTorch's h_n of the last layer); mean, max:
 *                               [N, dirs*H] pooled over each sequence's steps (glia_seq_pool)
 *   [seqdense] units            [T, N, D] -> rows [T*N, D] (time_flatten) -> dense [T*N, units]
 * Parameters as PyTorch's nn.RNN/LSTM/GRU state_dict, initialised as PyTorch does:
 * U(-1/sqrt(H), 1/sqrt(H)) for all; lstm forget_bias b: bias_ih's forget rows = b, bias_hh's = 0
 * (so the gate starts at sigmoid(b), "open" for b = 1); rnn init = irnn (Le et al. 2015): relu,
 * weight_hh = identity, biases 0. Per layer and direction PyTorch counts
 * G (I H + H H + 2 H) parameters (G = 1, 4, 3), which glia summary shows. The clockwork RNN is
 * initialised as the rnn (its masked W_hh entries zeroed: they are never read), weight_hh and
 * its other parameters U(-1/sqrt(H), 1/sqrt(H)); the scrn's every parameter the same. */
#include "model_internal.h"
#include "../ops/rnn_common.h" /* glia__clockwork_mask */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static glia_status ids_input(glia_model *m, model_layer *l, int64_t *T, int64_t *N) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    char a[96];
    if (xs.ndim != 3 || xs.dim[2] != 1)
        return glia__err(GLIA_ESHAPE, "[%s] takes token ids [T, N, 1] ([net] sequence = T and "
                         "input = 1), got %s", l->def->type, glia_shape_str(&xs, a, sizeof a));
    *T = xs.dim[0];
    *N = xs.dim[1];
    return GLIA_OK;
}

/* "<layer>.<what><k>" */
static glia_status lnamek(const model_layer *l, const char *what, int k, char *buf) {
    char sfx[32];
    snprintf(sfx, sizeof sfx, "%s%d", what, k);
    return glia__layer_name(l, sfx, buf);
}

/* table [V, E] looked up by ids [T, N, 1] -> [T, N, E] (N left free, as set_batch changes it) */
static glia_status lookup(glia_model *m, model_layer *l, int table, int64_t E) {
    char nm[GLIA_NAME_MAX];
    int y;
    glia_status s;
    if ((s = glia__layer_name(l, "lookup", nm)) || (s = glia_embedding(m->g, nm, l->in[0], table, -1, &y)))
        return s;
    return glia_reshape(m->g, l->name, y, 2, (int64_t[]){-1, E}, &l->out);
}

glia_status glia__b_embedding(glia_model *m, model_layer *l) {
    int64_t T = 0, N = 0, V = glia__layer_int(l, "vocab"), E = glia__layer_int(l, "dim");
    glia_status s = ids_input(m, l, &T, &N);
    if (s) return s;
    if (V < 2 || E < 1) return glia__err(GLIA_EINVAL, "vocab must be >= 2 and dim >= 1");
    char nm[GLIA_NAME_MAX];
    int w;
    if ((s = glia__layer_name(l, "weight", nm)) || (s = glia_param(m->g, nm, 2, (int64_t[]){V, E}, &w)))
        return s;
    float *wv = glia_node_value(m->g, w); /* nn.Embedding: N(0, 1) */
    for (int64_t i = 0; wv && i < V * E; i++) wv[i] = glia_rng_normal(&m->rng);
    return lookup(m, l, w, E);
}

glia_status glia__b_onehot(glia_model *m, model_layer *l) {
    int64_t T = 0, N = 0, V = glia__layer_int(l, "vocab");
    glia_status s = ids_input(m, l, &T, &N);
    if (s) return s;
    if (V < 2 || V > 65536) return glia__err(GLIA_EINVAL, "vocab must be in 2..65536");
    char nm[GLIA_NAME_MAX];
    int eye;
    if ((s = glia__layer_name(l, "identity", nm)) || (s = glia_input(m->g, nm, 2, (int64_t[]){V, V}, &eye)) ||
        (s = glia_node_set_batch_axis(m->g, eye, -1))) /* a constant: no batch */
        return s;
    float *e = glia_node_value(m->g, eye);
    for (int64_t i = 0; e && i < V; i++) e[i * V + i] = 1.0f;
    return lookup(m, l, eye, V);
}

glia_status glia__b_wordhash(glia_model *m, model_layer *l) {
    int64_t B = glia__layer_int(l, "buckets"), E = glia__layer_int(l, "dim");
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    char a[96], nm[GLIA_NAME_MAX];
    if (xs.ndim != 3)
        return glia__err(GLIA_ESHAPE, "[wordhash] takes letter-trigram ids [T, N, K] ([net] "
                         "sequence = T and input = K, the most trigrams per word), got %s",
                         glia_shape_str(&xs, a, sizeof a));
    if (B < 1 || E < 1) return glia__err(GLIA_EINVAL, "buckets and dim must be >= 1");
    int w;
    glia_status s;
    if ((s = glia__layer_name(l, "weight", nm)) || (s = glia_param(m->g, nm, 2, (int64_t[]){B, E}, &w)))
        return s;
    /* N(0, 1/K): a word's vector sums up to K rows, so even the longest word starts with
     * variance <= 1, the scale of [embedding]'s N(0, 1) rows (a 5-letter word at K = 16: 5/16) */
    float *wv = glia_node_value(m->g, w), sd = 1.0f / sqrtf((float)xs.dim[2]);
    for (int64_t i = 0; wv && i < B * E; i++) wv[i] = sd * glia_rng_normal(&m->rng);
    return glia_embedding_bag(m->g, l->name, l->in[0], w, &l->out);
}

static void uniform(glia_model *m, int node, float bound) {
    glia_shape s;
    glia_node_shape(m->g, node, &s);
    float *v = glia_node_value(m->g, node);
    for (int64_t i = 0; v && i < glia_shape_numel(&s); i++)
        v[i] = bound * (2 * glia_rng_uniform(&m->rng) - 1);
}

/* finds parameter "<layer>.<role>_l<k>[_reverse]" */
static float *param(glia_model *m, const model_layer *l, const char *role, int k, int d) {
    char nm[GLIA_NAME_MAX + 48];
    int id;
    snprintf(nm, sizeof nm, "%s.%s_l%d%s", l->name, role, k, d ? "_reverse" : "");
    return glia_graph_find(m->g, nm, &id) ? NULL : glia_node_value(m->g, id);
}

/* an initial state h0 or c0 [dirs, N, H]: batch axis 1, marked as a state (carried between
 * chunks by glia_model_carry_state, kept by checkpoints) */
static glia_status state_input(glia_model *m, const char *name, int dirs, int64_t N, int64_t H,
                               int *out) {
    glia_status s = glia_input(m->g, name, 3, (int64_t[]){dirs, N, H}, out);
    if (!s) s = glia_node_set_batch_axis(m->g, *out, 1);
    if (!s) s = glia_node_set_state(m->g, *out, 1);
    return s;
}

glia_status glia__b_recurrent(glia_model *m, model_layer *l) {
    const char *type = l->def->type, *ret = glia__layer_str(l, "return");
    enum { RNN, LSTM, GRU, CLOCKWORK, SCRN };
    int cell = !strcmp(type, "rnn")         ? RNN
               : !strcmp(type, "lstm")      ? LSTM
               : !strcmp(type, "gru")       ? GRU
               : !strcmp(type, "clockwork") ? CLOCKWORK
                                            : SCRN;
    int64_t H = glia__layer_int(l, "hidden"), layers = glia__layer_int(l, "layers");
    int bidir = (int)glia__layer_int(l, "bidirectional"), dirs = bidir ? 2 : 1;
    float p = glia__layer_float(l, "dropout");
    /* many-to-one read-outs: the last states, or the mean or max over the live steps */
    int last = !strcmp(ret, "last"), pool = !strcmp(ret, "mean") ? GLIA_SEQ_POOL_MEAN
                                            : !strcmp(ret, "max") ? GLIA_SEQ_POOL_MAX : -1;
    if (!last && pool < 0 && strcmp(ret, "sequence"))
        return glia__err(GLIA_EINVAL, "return = %s: expected sequence, last, mean or max", ret);
    if (H < 1 || layers < 1 || layers > 16)
        return glia__err(GLIA_EINVAL, "hidden must be >= 1 and layers in 1..16");
    if (!(p >= 0 && p < 1)) return glia__err(GLIA_EINVAL, "dropout = %g: must be in [0, 1)", (double)p);
    if (l->lengths < 0)
        return glia__err(GLIA_EINVAL, "[%s] needs a sequence model: [net] sequence = T", type);
    glia_rnn_config cfg = {0};
    cfg.hidden = (int)H;
    cfg.bidirectional = bidir;
    int irnn = 0;
    if (cell == RNN) {
        const char *act = glia__layer_str(l, "activation"), *init = glia__layer_str(l, "init");
        if (strcmp(act, "tanh") && strcmp(act, "relu"))
            return glia__err(GLIA_EINVAL, "activation = %s: expected tanh or relu", act);
        if (strcmp(init, "pytorch") && strcmp(init, "irnn"))
            return glia__err(GLIA_EINVAL, "init = %s: expected pytorch or irnn", init);
        irnn = !strcmp(init, "irnn");
        if (irnn && strcmp(act, "relu"))
            return glia__err(GLIA_EINVAL, "init = irnn is the identity-initialised ReLU RNN: it "
                             "needs activation = relu");
        cfg.activation = !strcmp(act, "relu") ? GLIA_RNN_RELU : GLIA_RNN_TANH;
    } else if (cell == LSTM) {
        cfg.peephole = (int)glia__layer_int(l, "peepholes");
    } else if (cell == GRU) {
        cfg.reset_before = (int)glia__layer_int(l, "reset_before");
    } else if (cell == CLOCKWORK) {
        cfg.modules = (int)glia__layer_int(l, "modules");
        cfg.period_base = (int)glia__layer_int(l, "base");
    } else if (cell == SCRN) {
        cfg.context = (int)glia__layer_int(l, "context");
        cfg.alpha = glia__layer_float(l, "alpha");
    }
    const int64_t S = cfg.context, width = H + S; /* one direction's output */
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    char a[96], nm[GLIA_NAME_MAX];
    if (xs.ndim != 3)
        return glia__err(GLIA_ESHAPE, "[%s] takes a time-major sequence [T, N, features], got %s",
                         type, glia_shape_str(&xs, a, sizeof a));
    const int64_t N = xs.dim[1], T = xs.dim[0];
    int x = l->in[0];
    glia_status s;
    l->macs = 0;
    for (int k = 0; k < layers; k++) {
        int h0, c0 = -1, y;
        int64_t In = k ? dirs * width : xs.dim[2];
        if ((s = lnamek(l, "h0_l", k, nm)) || (s = state_input(m, nm, dirs, N, H, &h0))) return s;
        if (cell == LSTM) {
            if ((s = lnamek(l, "c0_l", k, nm)) || (s = state_input(m, nm, dirs, N, H, &c0))) return s;
        } else if (cell == SCRN) {
            if ((s = lnamek(l, "s0_l", k, nm)) || (s = state_input(m, nm, dirs, N, S, &c0))) return s;
        } else if (cell == CLOCKWORK) { /* the clock [1]: no batch axis */
            if ((s = lnamek(l, "clock_l", k, nm)) || (s = glia_input(m->g, nm, 1, (int64_t[]){1}, &c0)) ||
                (s = glia_node_set_batch_axis(m->g, c0, -1)) || (s = glia_node_set_state(m->g, c0, 1)))
                return s;
        }
        cfg.layer = k;
        s = cell == RNN         ? glia_rnn(m->g, l->name, x, h0, l->lengths, &cfg, &y)
            : cell == LSTM      ? glia_lstm(m->g, l->name, x, h0, c0, l->lengths, &cfg, &y)
            : cell == GRU       ? glia_gru(m->g, l->name, x, h0, l->lengths, &cfg, &y)
            : cell == CLOCKWORK ? glia_clockwork(m->g, l->name, x, h0, c0, l->lengths, &cfg, &y)
                                : glia_scrn(m->g, l->name, x, h0, c0, l->lengths, &cfg, &y);
        if (s) return s;
        int G = cell == LSTM ? 4 : cell == GRU ? 3 : 1;
        l->macs += cell == SCRN ? T * dirs * (S * In + H * (In + S + H))
                                : T * dirs * G * H * (In + H);
        /* PyTorch's initialisation, then the options */
        float bound = 1.0f / sqrtf((float)H);
        for (int d = 0; d < dirs; d++) {
            static const char *const roles[2][5] = {
                {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole"},
                {"weight_xs", "weight_xh", "weight_sh", "weight_hh", "bias_h"}};
            for (int r = 0; r < (cell == SCRN ? 5 : 4 + cfg.peephole); r++) {
                char pn[GLIA_NAME_MAX + 48];
                int id;
                snprintf(pn, sizeof pn, "%s.%s_l%d%s", l->name, roles[cell == SCRN][r], k,
                         d ? "_reverse" : "");
                if ((s = glia_graph_find(m->g, pn, &id))) return s;
                uniform(m, id, bound);
            }
            float *w = cell == CLOCKWORK ? param(m, l, "weight_hh", k, d) : NULL;
            if (w && !m->g->shapes_only) { /* the entries no module reads: 0 */
                float *wm = malloc((size_t)(H * H) * sizeof *wm);
                if (!wm) return glia__err(GLIA_ENOMEM, "out of memory");
                glia__clockwork_mask(w, (int)H, cfg.modules, wm);
                memcpy(w, wm, (size_t)(H * H) * sizeof *wm);
                free(wm);
            }
            if (irnn && !m->g->shapes_only) {
                float *whh = param(m, l, "weight_hh", k, d), *bi = param(m, l, "bias_ih", k, d),
                      *bh = param(m, l, "bias_hh", k, d);
                for (int64_t i = 0; i < H; i++) {
                    for (int64_t j = 0; j < H; j++) whh[i * H + j] = i == j;
                    bi[i] = bh[i] = 0;
                }
            }
            float fb = cell == LSTM ? glia__layer_float(l, "forget_bias") : 0;
            if (fb != 0 && !m->g->shapes_only) { /* gate order i f g o: the forget rows are [H, 2H) */
                float *bi = param(m, l, "bias_ih", k, d), *bh = param(m, l, "bias_hh", k, d);
                for (int64_t i = H; i < 2 * H; i++) {
                    bi[i] = fb;
                    bh[i] = 0;
                }
            }
        }
        if (k + 1 < layers && p > 0) {
            if ((s = lnamek(l, "drop_l", k, nm)) || (s = glia_dropout(m->g, nm, y, p, &y))) return s;
        }
        x = y;
    }
    l->out = x;
    if (last) {
        if ((s = glia__layer_name(l, "last", nm)) ||
            (s = glia_seq_last(m->g, nm, x, l->lengths, dirs, &l->out)))
            return s;
    } else if (pool >= 0) {
        if ((s = glia__layer_name(l, ret, nm)) || (s = glia_seq_pool(m->g, nm, x, l->lengths, pool, &l->out)))
            return s;
    }
    return GLIA_OK;
}

glia_status glia__b_seqdense(glia_model *m, model_layer *l) {
    glia_shape xs;
    glia_node_shape(m->g, l->in[0], &xs);
    char a[96], nm[GLIA_NAME_MAX];
    if (xs.ndim != 3)
        return glia__err(GLIA_ESHAPE, "[seqdense] takes a sequence [T, N, D] (an [rnn], [lstm] "
                         "or [gru] with return = sequence), got %s", glia_shape_str(&xs, a, sizeof a));
    int64_t D = xs.dim[2], O = glia__layer_int(l, "units");
    if (O < 1) return glia__err(GLIA_EINVAL, "units must be >= 1");
    int rows, w, b = -1, y;
    glia_status s;
    if ((s = glia__layer_name(l, "rows", nm)) || (s = glia_time_flatten(m->g, nm, l->in[0], &rows)) ||
        (s = glia__layer_name(l, "weight", nm)) || (s = glia_param(m->g, nm, 2, (int64_t[]){O, D}, &w)))
        return s;
    if ((s = glia_init_param(m->g, w, glia__layer_init(l), 0, &m->rng))) return s;
    if (glia__layer_int(l, "bias")) {
        if ((s = glia__layer_name(l, "bias", nm)) || (s = glia_param(m->g, nm, 1, &O, &b))) return s;
        uniform(m, b, 1.0f / sqrtf((float)D));
    }
    const char *act = glia__layer_str(l, "activation");
    int linear = !strcmp(act, "linear");
    if (linear) snprintf(nm, sizeof nm, "%s", l->name);
    else if ((s = glia__layer_name(l, "fc", nm))) return s;
    if ((s = glia_dense(m->g, nm, rows, w, b, &y))) return s;
    l->macs = xs.dim[0] * D * O; /* per sequence: T steps */
    return glia__layer_activation(m, l, act, y, &l->out);
}

/* ---------------------------------------------------------------- running sequence models */

int glia_model_sequence(const glia_model *m) { return m ? (int)m->seq_T : 0; }
int glia_model_lengths(const glia_model *m) { return m ? m->lengths : -1; }

/* The clockwork's clock input: 0 (reset), else + T, the chunk's steps, modulo the longest period
 * when it fits (the clock only decides which periods divide the step), kept below 2^24 (exact
 * as a float; the op refuses more) */
static glia_status advance_clock(glia_graph *g, const glia_node *n, int clock, int reset) {
    float v = 0;
    glia_status s = glia_node_read(g, clock, &v, 1);
    if (s) return s;
    int64_t T = g->nodes[n->in[0]].shape.dim[0], p = 1, c = reset ? 0 : (int64_t)v + T;
    for (int i = 1; i < n->ia[RNN_MODULES] && p <= (1 << 24); i++) p *= n->ia[RNN_PERIOD_BASE];
    if (p <= (1 << 24)) c %= p;
    else c %= 1 << 24; /* periods past 2^24 steps: only its multiples are kept exactly */
    v = (float)c;
    return glia_node_write(g, clock, &v, 1);
}

/* Every recurrent op's state inputs (glia_node_is_state; h0 before c0, as the op takes them)
 * get its final state, or zeros: the graph says which they are, no table or names. */
glia_status glia_model_carry_state(glia_model *m, int reset) {
    if (!m) return glia__err(GLIA_EINVAL, "glia_model_carry_state: model is NULL");
    glia_graph *g = m->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        if (n->kind != NODE_OP || (n->op != GLIA_OP_rnn && n->op != GLIA_OP_lstm &&
                                   n->op != GLIA_OP_gru && n->op != GLIA_OP_clockwork &&
                                   n->op != GLIA_OP_scrn))
            continue;
        int st[2] = {-1, -1}, k = 0;
        for (int j = 0; j < n->n_in && k < 2; j++)
            if (glia_node_is_state(g, n->in[j])) st[k++] = n->in[j];
        if (!k) continue;
        /* c0: the lstm's cell state or the scrn's context (its own size) */
        int h0 = st[0], c0 = n->op == GLIA_OP_lstm || n->op == GLIA_OP_scrn ? st[1] : -1;
        glia_shape hs, cs;
        glia_node_shape(g, h0, &hs);
        if (c0 >= 0) glia_node_shape(g, c0, &cs);
        size_t cnt = (size_t)glia_shape_numel(&hs), cc = c0 >= 0 ? (size_t)glia_shape_numel(&cs) : 0;
        float *h = glia_node_value(g, h0), *c = c0 >= 0 ? glia_node_value(g, c0) : NULL;
        float *copy = NULL; /* a device without host memory (h NULL): through host copies */
        if (!h) {
            if (!(copy = glia__malloc((cnt + cc) * sizeof *copy)))
                return glia__err(GLIA_ENOMEM, "glia_model_carry_state: out of memory");
            h = copy;
            c = c0 >= 0 ? copy + cnt : NULL;
        }
        glia_status s = GLIA_OK;
        /* the reverse direction of a bidirectional layer starts at the chunk's end: nothing to
         * carry from the previous chunk */
        if (reset || hs.dim[0] != 1) {
            memset(h, 0, cnt * sizeof *h);
            if (c) memset(c, 0, cc * sizeof *c);
        } else {
            s = glia_rnn_final_state(g, i, h, c);
        }
        if (copy && !s) s = glia_node_write(g, h0, h, (int64_t)cnt);
        if (copy && !s && c) s = glia_node_write(g, c0, c, (int64_t)cc);
        if (!s && n->op == GLIA_OP_clockwork && st[1] >= 0)
            s = advance_clock(g, n, st[1], reset || hs.dim[0] != 1);
        free(copy);
        if (s) return s;
    }
    return GLIA_OK;
}

int glia_model_wordhash(const glia_model *m, int *k) {
    for (int i = 0; m && i < m->n_layers; i++)
        if (!strcmp(m->layers[i].def->type, "wordhash")) {
            glia_shape xs;
            glia_node_shape(m->g, m->layers[i].in[0], &xs);
            if (k) *k = (int)xs.dim[xs.ndim - 1];
            return (int)glia__layer_int(&m->layers[i], "buckets");
        }
    return 0;
}

int glia_model_vocab(const glia_model *m) {
    for (int i = 0; m && i < m->n_layers; i++)
        if (!strcmp(m->layers[i].def->type, "embedding") || !strcmp(m->layers[i].def->type, "onehot"))
            return (int)glia__layer_int(&m->layers[i], "vocab");
    return 0;
}
