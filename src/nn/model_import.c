/* model_import.c: an ONNX model as glia model text (glia import): the graph the importer built
 * (model_onnx.c), read back op by op into the text format's layers, and the file's weights
 * copied into the parameters those layers make. Op by op (glia op -> section):
 *   conv2d [+ activation]      [conv] filters, size, stride, pad (top, bottom, left, right),
 *                              dilation, groups, bias, activation
 *   dense [+ activation]       [dense] units, bias, activation (a flattening reshape before it,
 *                              read by it alone, is the flattening dense does itself)
 *   conv_transpose2d [+ act.]  [deconv] filters, size, stride, pad, out_pad, dilation, groups, bias
 *   resize                     [upsample] scale, mode, align_corners (whole scales, nn.Upsample's
 *                              mappings: nearest floor(o / s), bilinear / bicubic half_pixel)
 *   maxpool2d, avgpool2d       [maxpool], [avgpool] size, stride, pad
 *   global_avgpool, dropout, batchnorm, lrn, softmax (2-D), reshape to [N, rest] (flatten),
 *   add [+ activation] of two layers, mul of two (a channel scale), concat along channels, an
 *   activation alone (relu6, hard_sigmoid and hard_swish too)
 *   a sequence model's (inputs data [T, N, 1] and lengths [N]):
 *   embedding [+ reshape]      [embedding] vocab, dim; [onehot] vocab when the table is the
 *                              constant identity "<layer>.identity"
 *   lstm, gru, rnn             [lstm] / [gru] / [rnn]: the nodes of one stack ("lstm", "lstm.l1",
 *                              with the Y layout's reshapes and a dropout between) as `layers`;
 *                              return = sequence, last (seq_last), mean or max (seq_pool)
 *   time_flatten + dense       [seqdense] units, bias, activation
 * An activation is fused into the layer before it when it is that layer's only reader (leaky
 * with the text format's slope 0.01, elu with alpha 1). Anything else (an op the text format has
 * no layer for, such as sub, mul, scale, slice, log_softmax, a recurrent node with initial states
 * or Y_c, or a constant
 * where a layer input is expected) is an error naming the ONNX node and op it came from. */
#include "model_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    glia_model *src;
    const glia_graph *g;
    char **name;   /* per node: the layer (or "data") whose output it is, NULL if none */
    int *readers;  /* per node: how many op nodes read it (+1 for the model's output) */
    bool *fused;   /* per node: written as part of the layer before it */
    bool *need;    /* per node: the output depends on it */
    FILE *f;
    /* the weights to copy: source node -> parameter name in the text model */
    int *w_src;
    char (*w_name)[GLIA_NAME_MAX];
    int n_w;
} imp;

/* the ONNX node that made glia node n, by its op and (first) output, which ONNX names uniquely */
static void onnx_node(const imp *c, int n, char *buf, size_t len) {
    snprintf(buf, len, "glia node '%s'", c->g->nodes[n].name);
    for (int i = 0; i < c->src->n_layers; i++) {
        const model_layer *l = &c->src->layers[i];
        int end = i + 1 < c->src->n_layers ? c->src->layers[i + 1].first_node : c->src->end_node;
        if (n >= l->first_node && n < end) snprintf(buf, len, "the %s node of output '%s'", l->def->type, l->name);
    }
}

static glia_status refuse(const imp *c, int n, const char *why) {
    char where[GLIA_NAME_MAX + 64];
    onnx_node(c, n, where, sizeof where);
    return glia__err(GLIA_EINVAL, "%s: %s does not fit glia's model text: %s (glia run and the other "
                     "commands take the .onnx file itself)", c->src->onnx_path, where, why);
}

/* a node name as a layer name: PyTorch's exports name values by module path and op,
 * "/layer1/layer1.0/conv1/Conv_output_0": the path alone, "layer1.0.conv1" */
static void clean_name(const char *s, char *out, size_t len) {
    char buf[GLIA_NAME_MAX], *part[GLIA_NAME_MAX];
    snprintf(buf, sizeof buf, "%s", s[0] == '/' ? s + 1 : s);
    char *o = strstr(buf, "_output_");
    if (o && o[8] && strspn(o + 8, "0123456789") == strlen(o + 8)) *o = 0;
    int n = 0;
    for (char *p = buf; p; ) {
        part[n++] = p;
        if ((p = strchr(p, '/'))) *p++ = 0;
    }
    if (n > 1 && part[n - 1][0] >= 'A' && part[n - 1][0] <= 'Z' && !strchr(part[n - 1], '.')) n--; /* the op */
    size_t u = 0;
    out[0] = 0;
    for (int k = 0; k < n && u < len; k++) {
        size_t l = strlen(part[k]);
        if (k + 1 < n && !strncmp(part[k + 1], part[k], l) && part[k + 1][l] == '.') continue; /* layer1/layer1.0 */
        u += (size_t)snprintf(out + u, len - u, "%s%s", u ? "." : "", part[k]);
    }
}

/* a layer name for main node a (b: the activation fused after it, or NULL): the text format's
 * characters, short enough for "<name>.running_mean", and new. glia's own "<layer>.conv" +
 * "<layer>.relu" (an exported glia model) give back "<layer>". */
static glia_status layer_name(imp *c, const char *a, const char *b, int node, char *out) {
    char base[GLIA_NAME_MAX], ca[GLIA_NAME_MAX];
    const char *dot = strrchr(a, '.');
    size_t pre = dot ? (size_t)(dot - a) : 0;
    if (b && dot && (!strcmp(dot, ".conv") || !strcmp(dot, ".fc")) && !strncmp(a, b, pre + 1)) {
        snprintf(ca, sizeof ca, "%.*s", (int)pre, a);
    } else {
        clean_name(a, ca, sizeof ca);
    }
    size_t len = strlen(ca), max = GLIA_NAME_MAX - 16;
    const char *src = ca;
    if (len > max) { src += len - max; len = max; } /* the end says most */
    for (size_t k = 0; k < len; k++) {
        char ch = src[k];
        base[k] = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '_' || ch == '.' || ch == '-' ? ch : '_';
    }
    base[len] = 0;
    if (!len || !strcmp(base, "data")) snprintf(base, sizeof base, "layer%d", node);
    snprintf(out, GLIA_NAME_MAX, "%s", base);
    for (int k = 2;; k++) {
        bool taken = false;
        for (int i = 0; i < c->g->n_nodes && !taken; i++) taken = c->name[i] && !strcmp(c->name[i], out);
        if (!taken) return GLIA_OK;
        snprintf(out, GLIA_NAME_MAX, "%.*s_%d", (int)(GLIA_NAME_MAX - 16), base, k);
    }
}

/* the layer (or data) that input node x is, or an error about node n */
static glia_status input_of(imp *c, int n, int x, const char **out) {
    if (x < 0 || !c->name[x]) {
        char why[GLIA_NAME_MAX + 160];
        snprintf(why, sizeof why, "it reads '%s', which is not a layer's output (a constant or a "
                 "value the text format cannot name)", x >= 0 ? c->g->nodes[x].name : "?");
        return refuse(c, n, why);
    }
    *out = c->name[x];
    return GLIA_OK;
}

static glia_status weight(imp *c, int src, const char *layer, const char *suffix) {
    if (src < 0) return GLIA_OK;
    c->w_src[c->n_w] = src;
    if (snprintf(c->w_name[c->n_w++], GLIA_NAME_MAX, "%s.%s", layer, suffix) >= GLIA_NAME_MAX)
        return glia__err(GLIA_EINVAL, "layer name '%s' is too long", layer); /* layer_name keeps room */
    return GLIA_OK;
}

/* the activation that only reads node n, fused into its layer ("linear" if none) */
static const char *fusable_act(imp *c, int n, int *act) {
    *act = -1;
    if (c->readers[n] != 1) return "linear";
    for (int i = n + 1; i < c->g->n_nodes; i++) {
        const glia_node *r = &c->g->nodes[i];
        if (!c->need[i] || r->kind != NODE_OP || r->n_in < 1 || r->in[0] != n) continue;
        const char *t = r->op == GLIA_OP_relu ? "relu" : r->op == GLIA_OP_sigmoid ? "sigmoid"
                      : r->op == GLIA_OP_tanh ? "tanh" : r->op == GLIA_OP_relu6 ? "relu6"
                      : r->op == GLIA_OP_hard_sigmoid ? "hard_sigmoid" : r->op == GLIA_OP_hard_swish ? "hard_swish"
                      : r->op == GLIA_OP_leaky_relu && r->fa[LEAKY_RELU_SLOPE] == 0.01f ? "leaky"
                      : r->op == GLIA_OP_elu && r->fa[ELU_ALPHA] == 1.0f ? "elu" : NULL;
        if (t) *act = i;
        return t ? t : "linear";
    }
    return "linear";
}

/* an activation op alone: its text name, NULL if the text has none for it */
static const char *act_type(const glia_node *n) {
    switch (n->op) {
    case GLIA_OP_relu: return "relu";
    case GLIA_OP_sigmoid: return "sigmoid";
    case GLIA_OP_tanh: return "tanh";
    case GLIA_OP_relu6: return "relu6";
    case GLIA_OP_hard_sigmoid: return "hard_sigmoid";
    case GLIA_OP_hard_swish: return "hard_swish";
    case GLIA_OP_linear: return "linear";
    case GLIA_OP_leaky_relu: return n->fa[LEAKY_RELU_SLOPE] == 0.01f ? "leaky" : NULL;
    case GLIA_OP_elu: return n->fa[ELU_ALPHA] == 1.0f ? "elu" : NULL;
    default: return NULL;
    }
}

/* the one op the output needs that reads node n (-1: none, or more than one reader) */
static int only_reader(const imp *c, int n) {
    if (c->readers[n] != 1) return -1;
    for (int i = n + 1; i < c->g->n_nodes; i++) {
        const glia_node *r = &c->g->nodes[i];
        for (int k = 0; c->need[i] && r->kind == NODE_OP && k < r->n_in; k++)
            if (r->in[k] == n) return i;
    }
    return -1;
}

/* the end of the reshapes and transposes after node n (each its sole reader) that gives back a
 * value of shape *want: how the importer lays a recurrent node's Y and Y_h out as ONNX's and the
 * export's Transpose / Reshape take them back (n itself when none does; -1 when no node of
 * that shape is reached). glia import's check on a random input confirms the values. */
static int passthrough_end(const imp *c, int n, const glia_shape *want) {
    int end = glia__shape_eq(&c->g->nodes[n].shape, want) ? n : -1;
    for (int r = only_reader(c, n); r >= 0; r = only_reader(c, r)) {
        const glia_node *x = &c->g->nodes[r];
        if (x->op != GLIA_OP_reshape && x->op != GLIA_OP_transpose) break;
        if (glia__shape_eq(&x->shape, want)) end = r;
    }
    return end;
}

static void fuse_to(imp *c, int from, int to) { /* the nodes after from, to to, are from's layer */
    for (int r = only_reader(c, from); from != to && r >= 0; r = only_reader(c, r)) {
        c->fused[r] = true;
        if (r == to) break;
    }
}

/* [embedding] / [onehot]: the lookup of the token ids in a table, and the reshape to [T, N, dim]
 * after it; the one-hot table is a constant "<layer>.identity", the identity */
static glia_status lookup_section(imp *c, int n, const char *in) {
    const glia_graph *g = c->g;
    const glia_node *x = &g->nodes[n];
    const glia_node *t = &g->nodes[x->in[1]];
    int r = only_reader(c, n);
    if (x->in[0] != c->src->input || c->src->seq_T <= 0)
        return refuse(c, n, "a lookup of other values than the model's token ids 'data' [T, N, 1]");
    if (r < 0 || g->nodes[r].op != GLIA_OP_reshape || g->nodes[r].shape.ndim != 3 || x->ia[EMBEDDING_PADDING_IDX] >= 0)
        return refuse(c, n, "a lookup that is not an [embedding] or [onehot] ([T, N, dim], no padding index)");
    int64_t V = t->shape.dim[0], E = t->shape.dim[1];
    const char *tn = glia_node_name(g, x->in[1]);
    size_t tl = strlen(tn);
    bool onehot = tl > 9 && !strcmp(tn + tl - 9, ".identity") && V == E && t->kind != NODE_PARAM;
    const float *v = glia_node_value((glia_graph *)g, x->in[1]);
    for (int64_t i = 0; onehot && v && i < V * V; i++) onehot = v[i] == (i / V == i % V);
    if (!onehot && t->kind != NODE_PARAM) return refuse(c, n, "its table is neither a parameter nor the identity");
    char nm[GLIA_NAME_MAX];
    glia_status s = layer_name(c, g->nodes[r].name, NULL, n, nm);
    if (s) return s;
    if (onehot) fprintf(c->f, "\n[onehot]\nname = %s\ninput = %s\nvocab = %lld\n", nm, in, (long long)V);
    else fprintf(c->f, "\n[embedding]\nname = %s\ninput = %s\nvocab = %lld\ndim = %lld\n", nm, in, (long long)V, (long long)E);
    if (!onehot && (s = weight(c, x->in[1], nm, "weight"))) return s;
    c->fused[r] = true;
    if (!(c->name[r] = glia__strdup(nm))) return glia__err(GLIA_ENOMEM, "out of memory");
    return GLIA_OK;
}

/* the parameter base of recurrent node n ("lstm" of "lstm.weight_ih_l1") and its layer (1) */
static int recurrent_base(const imp *c, int n, char *base) {
    const char *p = glia_node_name(c->g, c->g->nodes[n].in[1]), *w = strstr(p, ".weight_");
    const char *l = w ? strstr(w, "_l") : NULL;
    if (!w || !l) return -1;
    snprintf(base, GLIA_NAME_MAX, "%.*s", (int)(w - p), p);
    return atoi(l + 2);
}

/* [rnn] / [lstm] / [gru]: recurrent nodes stacked as the text's `layers` make them (each reading
 * the one before, through the Y layout's reshapes and a dropout), reading the model's lengths
 * and no initial states; return = sequence (Y), last (Y_h, glia's seq_last), or mean or max (glia's
 * seq_pool of Y) */
static glia_status recurrent_section(imp *c, int n, const char *in) {
    const glia_graph *g = c->g;
    const glia_node *x = &g->nodes[n];
    const int *ia = x->ia, dirs = ia[RNN_DIRS];
    const glia_op_id cell = x->op;
    const int n_par = 4 + (cell == GLIA_OP_lstm && ia[RNN_PEEPHOLE]);
    char base[GLIA_NAME_MAX], nb[GLIA_NAME_MAX], nm[GLIA_NAME_MAX];
    if (recurrent_base(c, n, base) != 0) return refuse(c, n, "its parameters are not named '<layer>.weight_ih_l0' ...");
    if (ia[RNN_HAS_H0] || ia[RNN_HAS_C0] || ia[RNN_CELL_OUT] || ia[RNN_INPUT_FORGET])
        return refuse(c, n, "it has initial states, a final cell state (Y_c) or input_forget, which the text's layers do not");
    float p = 0;
    int layers = 1, y = n;
    for (;;) { /* the stack: node y, layer layers - 1 */
        const glia_node *yn = &g->nodes[y];
        if (!yn->ia[RNN_HAS_LENGTHS] || yn->in[1 + dirs * n_par] != c->src->lengths)
            return refuse(c, y, "it does not read the model's 'lengths' input");
        glia_shape ys = yn->shape;
        int e = passthrough_end(c, y, &ys), d = e >= 0 ? only_reader(c, e) : -1;
        int nx = d >= 0 && g->nodes[d].op == GLIA_OP_dropout ? only_reader(c, d) : d;
        if (nx < 0 || g->nodes[nx].kind != NODE_OP || g->nodes[nx].op != cell || g->nodes[nx].in[0] != (d == nx ? e : d) ||
            memcmp(g->nodes[nx].ia, ia, sizeof(int) * RNN_N_IA) || recurrent_base(c, nx, nb) != layers || strcmp(nb, base))
            break;
        if (d != nx) p = g->nodes[d].fa[DROPOUT_P];
        fuse_to(c, y, nx);
        c->fused[nx] = true;
        y = nx;
        layers++;
    }
    /* the read-out: Y through its layout, or Y_h alone */
    int last = -1, end;
    const char *pool = NULL;
    for (int i = y + 1; i < g->n_nodes; i++) {
        const glia_node *r = &g->nodes[i];
        if (c->need[i] && r->kind == NODE_OP && r->op == GLIA_OP_seq_last && r->in[0] == y) last = i;
    }
    if (last >= 0) {
        const glia_node *r = &g->nodes[last];
        glia_shape hs = r->shape;
        if (c->readers[y] != 1 || r->in[1] != c->src->lengths || r->ia[SEQ_LAST_DIRS] != dirs)
            return refuse(c, y, "both its Y and its Y_h are read (the text's layers return one)");
        if ((end = passthrough_end(c, last, &hs)) < 0) return refuse(c, y, "its Y_h is not read as [N, dirs * hidden]");
        c->fused[last] = true;
        fuse_to(c, last, end);
    } else {
        glia_shape ys = g->nodes[y].shape;
        if ((end = passthrough_end(c, y, &ys)) < 0) return refuse(c, y, "its Y is not read as [T, N, dirs * hidden]");
        fuse_to(c, y, end);
        int r = only_reader(c, end); /* return = mean or max: glia's seq_pool of Y */
        if (r >= 0 && g->nodes[r].op == GLIA_OP_seq_pool && g->nodes[r].in[0] == end && g->nodes[r].n_in > 1 &&
            g->nodes[r].in[1] == c->src->lengths) {
            pool = g->nodes[r].ia[SEQ_POOL_MODE] == GLIA_SEQ_POOL_MAX ? "max" : "mean";
            c->fused[end = r] = true;
        }
    }
    glia_status s = layer_name(c, base, NULL, n, nm);
    if (s) return s;
    const char *type = cell == GLIA_OP_lstm ? "lstm" : cell == GLIA_OP_gru ? "gru" : "rnn";
    fprintf(c->f, "\n[%s]\nname = %s\ninput = %s\nhidden = %d\nlayers = %d\nbidirectional = %d\ndropout = %.9g\n"
            "return = %s\n", type, nm, in, ia[RNN_HIDDEN], layers, dirs == 2, p, last >= 0 ? "last" : pool ? pool : "sequence");
    if (cell == GLIA_OP_lstm) fprintf(c->f, "peepholes = %d\n", ia[RNN_PEEPHOLE]);
    if (cell == GLIA_OP_gru) fprintf(c->f, "reset_before = %d\n", ia[RNN_RESET_BEFORE]);
    if (cell == GLIA_OP_rnn)
        fprintf(c->f, "activation = %s\ninit = pytorch\n", ia[RNN_ACTIVATION] == GLIA_RNN_RELU ? "relu" : "tanh");
    /* the parameters keep their names past the base: "<layer>.weight_ih_l1_reverse" */
    for (int k = 0, r = n; k < layers; k++) {
        for (int q = 0; q < dirs * n_par; q++) {
            int w = g->nodes[r].in[1 + q];
            if ((s = weight(c, w, nm, glia_node_name(g, w) + strlen(base) + 1))) return s;
        }
        while (k + 1 < layers && (r = only_reader(c, r)) >= 0 && g->nodes[r].op != cell) {}
    }
    if (!(c->name[end] = glia__strdup(nm))) return glia__err(GLIA_ENOMEM, "out of memory");
    return GLIA_OK;
}

/* a dense on rows [T*N, D] of a sequence src [T, N, D] (the text's time_flatten): [seqdense] */
static bool seqdense(const imp *c, int src, int rows) {
    const glia_shape *a = &c->g->nodes[src].shape, *b = &c->g->nodes[rows].shape;
    return c->src->seq_T > 0 && src != rows && a->ndim == 3 && b->ndim == 2 && b->dim[0] == a->dim[0] * a->dim[1] &&
           b->dim[1] == a->dim[2];
}

/* node n (and the activation fused after it) as one section */
static glia_status section(imp *c, int n) {
    const glia_graph *g = c->g;
    const glia_node *x = &g->nodes[n];
    int act = -1, last = n;
    const char *a = "linear", *in = NULL, *in2 = NULL;
    char nm[GLIA_NAME_MAX], why[160];
    glia_status s;
    bool bias = x->n_in > 2 && x->in[2] >= 0;
    switch (x->op) {
    case GLIA_OP_conv2d:
    case GLIA_OP_conv_transpose2d:
    case GLIA_OP_dense:
    case GLIA_OP_add:
        a = fusable_act(c, n, &act);
        if (act >= 0) last = act;
        break;
    default: break;
    }
    int src = x->in[0];
    if (x->op == GLIA_OP_dense && src >= 0 && g->nodes[src].kind == NODE_OP &&
        g->nodes[src].op == GLIA_OP_reshape && g->nodes[src].shape.ndim == 2 && c->readers[src] == 1 &&
        c->fused[src]) /* the flattening reshape, left to dense */
        src = g->nodes[src].in[0];
    bool seq = x->op == GLIA_OP_dense && src >= 0 && g->nodes[src].kind == NODE_OP && g->nodes[src].op == GLIA_OP_time_flatten &&
               c->fused[src];
    if (seq) src = g->nodes[src].in[0]; /* [T, N, D] as rows [T*N, D]: [seqdense] */
    seq = seq || (x->op == GLIA_OP_dense && seqdense(c, src, x->in[0]));
    if ((s = input_of(c, n, src, &in))) return s;
    if (x->op == GLIA_OP_embedding) return lookup_section(c, n, in);
    if (x->op == GLIA_OP_lstm || x->op == GLIA_OP_gru || x->op == GLIA_OP_rnn) return recurrent_section(c, n, in);
    if ((s = layer_name(c, x->name, last != n ? g->nodes[last].name : NULL, n, nm))) return s;
    FILE *f = c->f;
    switch (x->op) {
    case GLIA_OP_conv2d: {
        const glia_shape *w = &g->nodes[x->in[1]].shape;
        const int *p = x->ia;
        if (g->nodes[x->in[1]].kind != NODE_PARAM) return refuse(c, n, "its weights are not a parameter");
        fprintf(f, "\n[conv]\nname = %s\ninput = %s\nfilters = %lld\nsize = %lld, %lld\nstride = %d, %d\n"
                "pad = %d, %d, %d, %d\ndilation = %d, %d\ngroups = %d\nbias = %d\nactivation = %s\n",
                nm, in, (long long)w->dim[0], (long long)w->dim[2], (long long)w->dim[3], p[CONV_STRIDE_H],
                p[CONV_STRIDE_W], p[CONV_PAD_TOP], p[CONV_PAD_BOTTOM], p[CONV_PAD_LEFT], p[CONV_PAD_RIGHT],
                p[CONV_DILATION_H], p[CONV_DILATION_W], p[CONV_GROUPS], bias, a);
        if ((s = weight(c, x->in[1], nm, "weight")) || (s = weight(c, bias ? x->in[2] : -1, nm, "bias"))) return s;
        break;
    }
    case GLIA_OP_conv_transpose2d: {
        const glia_shape *w = &g->nodes[x->in[1]].shape;
        const int *p = x->ia;
        if (g->nodes[x->in[1]].kind != NODE_PARAM) return refuse(c, n, "its weights are not a parameter");
        fprintf(f, "\n[deconv]\nname = %s\ninput = %s\nfilters = %lld\nsize = %lld, %lld\nstride = %d, %d\n"
                "pad = %d, %d, %d, %d\nout_pad = %d, %d\ndilation = %d, %d\ngroups = %d\nbias = %d\n"
                "activation = %s\n", nm, in, (long long)(w->dim[1] * p[CONV_GROUPS]), (long long)w->dim[2],
                (long long)w->dim[3], p[CONV_STRIDE_H], p[CONV_STRIDE_W], p[CONV_PAD_TOP], p[CONV_PAD_BOTTOM],
                p[CONV_PAD_LEFT], p[CONV_PAD_RIGHT], p[DECONV_OUT_PAD_H], p[DECONV_OUT_PAD_W], p[CONV_DILATION_H],
                p[CONV_DILATION_W], p[CONV_GROUPS], bias, a);
        if ((s = weight(c, x->in[1], nm, "weight")) || (s = weight(c, bias ? x->in[2] : -1, nm, "bias"))) return s;
        break;
    }
    case GLIA_OP_resize: { /* [upsample]: whole scales, PyTorch's mappings (nn.Upsample's) */
        const glia_shape *xs = &g->nodes[x->in[0]].shape;
        int sh = (int)(x->shape.dim[2] / xs->dim[2]), sw = (int)(x->shape.dim[3] / xs->dim[3]);
        int mode = x->ia[RESIZE_MODE], coord = x->ia[RESIZE_COORD], near = x->ia[RESIZE_NEAREST];
        bool whole = sh * xs->dim[2] == x->shape.dim[2] && sw * xs->dim[3] == x->shape.dim[3] &&
                     (!x->fa[RESIZE_SCALE_H] || x->fa[RESIZE_SCALE_H] == sh) &&
                     (!x->fa[RESIZE_SCALE_W] || x->fa[RESIZE_SCALE_W] == sw);
        bool fits = mode == GLIA_RESIZE_NEAREST
                        ? coord == GLIA_RESIZE_ASYMMETRIC && (near == GLIA_RESIZE_FLOOR || near == GLIA_RESIZE_SIMPLE)
                        : (coord == GLIA_RESIZE_HALF_PIXEL || coord == GLIA_RESIZE_ALIGN_CORNERS ||
                           (coord == GLIA_RESIZE_PYTORCH_HALF_PIXEL && x->shape.dim[2] > 1 && x->shape.dim[3] > 1)) &&
                              !x->ia[RESIZE_EXCLUDE_OUTSIDE] && (mode == GLIA_RESIZE_LINEAR || x->fa[RESIZE_CUBIC_A] == -0.75f);
        if (!whole || !fits)
            return refuse(c, n, "it is not an [upsample] (whole scales; nearest with floor(o / s), or "
                          "bilinear / bicubic (a = -0.75) with half_pixel or align_corners)");
        fprintf(f, "\n[upsample]\nname = %s\ninput = %s\nscale = %d, %d\nmode = %s\nalign_corners = %d\n", nm, in,
                sh, sw, mode == GLIA_RESIZE_NEAREST ? "nearest" : mode == GLIA_RESIZE_LINEAR ? "bilinear" : "bicubic",
                coord == GLIA_RESIZE_ALIGN_CORNERS);
        break;
    }
    case GLIA_OP_dense:
        if (g->nodes[x->in[1]].kind != NODE_PARAM) return refuse(c, n, "its weights are not a parameter");
        fprintf(f, "\n[%s]\nname = %s\ninput = %s\nunits = %lld\nbias = %d\nactivation = %s\n",
                seq ? "seqdense" : "dense", nm, in, (long long)g->nodes[x->in[1]].shape.dim[0],
                bias, a);
        if ((s = weight(c, x->in[1], nm, "weight")) || (s = weight(c, bias ? x->in[2] : -1, nm, "bias"))) return s;
        break;
    case GLIA_OP_maxpool2d:
    case GLIA_OP_avgpool2d: {
        const int *p = x->ia;
        fprintf(f, "\n[%s]\nname = %s\ninput = %s\nsize = %d, %d\nstride = %d, %d\npad = %d, %d\n",
                x->op == GLIA_OP_maxpool2d ? "maxpool" : "avgpool", nm, in, p[POOL_KERNEL_H], p[POOL_KERNEL_W],
                p[POOL_STRIDE_H], p[POOL_STRIDE_W], p[POOL_PAD_H], p[POOL_PAD_W]);
        break;
    }
    case GLIA_OP_global_avgpool: fprintf(f, "\n[globalavgpool]\nname = %s\ninput = %s\n", nm, in); break;
    case GLIA_OP_dropout: fprintf(f, "\n[dropout]\nname = %s\ninput = %s\np = %.9g\n", nm, in, x->fa[DROPOUT_P]); break;
    case GLIA_OP_batchnorm:
        for (int k = 1; k <= 4; k++)
            if (g->nodes[x->in[k]].kind != NODE_PARAM && g->nodes[x->in[k]].kind != NODE_BUFFER)
                return refuse(c, n, "its statistics are computed");
        fprintf(f, "\n[batchnorm]\nname = %s\ninput = %s\neps = %.9g\nmomentum = %.9g\n", nm, in,
                x->fa[BN_EPS], x->fa[BN_MOMENTUM]);
        if ((s = weight(c, x->in[1], nm, "weight")) || (s = weight(c, x->in[2], nm, "bias")) ||
            (s = weight(c, x->in[3], nm, "running_mean")) || (s = weight(c, x->in[4], nm, "running_var")))
            return s;
        break;
    case GLIA_OP_lrn:
        fprintf(f, "\n[lrn]\nname = %s\ninput = %s\nsize = %d\nalpha = %.9g\nbeta = %.9g\nk = %.9g\n", nm, in,
                x->ia[LRN_SIZE], x->fa[LRN_ALPHA], x->fa[LRN_BETA], x->fa[LRN_K]);
        break;
    case GLIA_OP_softmax:
        if (x->shape.ndim != 2) return refuse(c, n, "a softmax of a tensor that is not [N, classes]");
        fprintf(f, "\n[softmax]\nname = %s\ninput = %s\n", nm, in);
        break;
    case GLIA_OP_reshape:
        if (x->shape.ndim != 2) return refuse(c, n, "a reshape other than flattening to [N, features]");
        fprintf(f, "\n[flatten]\nname = %s\ninput = %s\n", nm, in);
        break;
    case GLIA_OP_add:
        if ((s = input_of(c, n, x->in[1], &in2))) return s;
        if (!glia__shape_eq(&g->nodes[x->in[0]].shape, &g->nodes[x->in[1]].shape))
            return refuse(c, n, "an add that broadcasts");
        fprintf(f, "\n[add]\nname = %s\ninputs = %s, %s\nactivation = %s\n", nm, in, in2, a);
        break;
    case GLIA_OP_mul: /* squeeze-and-excitation's channel scale */
        if ((s = input_of(c, n, x->in[1], &in2))) return s;
        fprintf(f, "\n[mul]\nname = %s\ninputs = %s, %s\n", nm, in, in2);
        break;
    case GLIA_OP_concat: {
        if (x->ia[CONCAT_AXIS] != 1 || x->n_in < 2) return refuse(c, n, "a concatenation along another axis than channels");
        fprintf(f, "\n[concat]\nname = %s\ninputs = %s", nm, in);
        for (int k = 1; k < x->n_in; k++) {
            if ((s = input_of(c, n, x->in[k], &in2))) return s;
            fprintf(f, ", %s", in2);
        }
        fprintf(f, "\n");
        break;
    }
    default: {
        const char *t = act_type(x);
        if (!t) {
            snprintf(why, sizeof why, "the text format has no layer for glia op '%s'%s", glia__ops[x->op]->name,
                     x->op == GLIA_OP_leaky_relu || x->op == GLIA_OP_elu ? " with this slope" : "");
            return refuse(c, n, why);
        }
        fprintf(f, "\n[activation]\nname = %s\ninput = %s\ntype = %s\n", nm, in, t);
    }
    }
    if (!(c->name[last] = glia__strdup(nm))) return glia__err(GLIA_ENOMEM, "out of memory");
    if (act >= 0) c->fused[act] = true;
    return GLIA_OK;
}

glia_status glia_model_import(const char *path, int64_t batch, uint64_t seed, glia_model **out) {
    if (!path || !out) return glia__err(GLIA_EINVAL, "glia_model_import: NULL argument");
    *out = NULL;
    glia_model *src;
    glia_status s = glia_model_load(path, batch, seed, &src);
    if (s) return s;
    if (!src->onnx_path) {
        glia_model_free(src);
        return glia__err(GLIA_EINVAL, "%s: not an ONNX model (an .onnx file)", path);
    }
    imp c = {.src = src, .g = src->g};
    int N = src->g->n_nodes;
    char *text = NULL;
    size_t len = 0;
    c.name = glia__calloc((size_t)N, sizeof *c.name);
    c.readers = glia__calloc((size_t)N, sizeof *c.readers);
    c.fused = glia__calloc((size_t)N, sizeof *c.fused);
    c.w_src = glia__calloc((size_t)N, sizeof *c.w_src);
    c.w_name = glia__calloc((size_t)N, sizeof *c.w_name);
    bool *need = c.need = glia__calloc((size_t)N, sizeof *need);
    c.f = open_memstream(&text, &len);
    if (!c.name || !c.readers || !c.fused || !c.w_src || !c.w_name || !need || !c.f)
        s = glia__err(GLIA_ENOMEM, "out of memory");
    /* the nodes the output needs, and how many of those read each node */
    if (!s) need[src->output] = true;
    for (int i = N - 1; !s && i >= 0; i--) {
        const glia_node *x = &src->g->nodes[i];
        if (!need[i] || x->kind != NODE_OP) continue;
        for (int k = 0; k < x->n_in; k++)
            if (x->in[k] >= 0) {
                need[x->in[k]] = true;
                c.readers[x->in[k]]++;
            }
    }
    if (!s) {
        c.readers[src->output]++;
        c.name[src->input] = glia__strdup("data");
        if (!c.name[src->input]) s = glia__err(GLIA_ENOMEM, "out of memory");
    }
    /* a flattening reshape (or a sequence's time_flatten) read by one dense alone: that dense
     * flattens ([dense], or [seqdense]) */
    for (int i = 0; !s && i < N; i++) {
        const glia_node *x = &src->g->nodes[i];
        if (need[i] && x->kind == NODE_OP && x->op == GLIA_OP_dense && x->in[0] >= 0) {
            const glia_node *r = &src->g->nodes[x->in[0]];
            if (r->kind == NODE_OP && (r->op == GLIA_OP_time_flatten || (r->op == GLIA_OP_reshape && r->shape.ndim == 2)) &&
                c.readers[x->in[0]] == 1)
                c.fused[x->in[0]] = true;
        }
    }
    /* [net]: the model's settings as glia_model_to_text writes them, without onnx */
    char *net = NULL;
    char seq[24];
    snprintf(seq, sizeof seq, "%lld", (long long)src->seq_T);
    if (!s && src->seq_T > 0) s = glia_model_set_option(src, "sequence", seq);
    if (!s && !(s = glia_model_set_option(src, "onnx", "")) && !(s = glia_model_to_text(src, &net)))
        fputs(net, c.f);
    free(net);
    for (int i = 0; !s && i < N; i++)
        if (need[i] && src->g->nodes[i].kind == NODE_OP && !c.fused[i]) s = section(&c, i);
    if (c.f && fclose(c.f) && !s) s = glia__err(GLIA_ENOMEM, "out of memory");
    if (!s && !c.name[src->output]) s = refuse(&c, src->output, "the output is not a layer's");
    glia_model *m = NULL;
    if (!s && (s = glia_model_parse(text, path, batch, seed, &m)))
        s = glia__err(s, "%s: the model text made from it does not build: %s", path, glia_last_error());
    for (int i = 0; !s && i < c.n_w; i++) { /* the file's weights, into the layers' parameters */
        int to;
        glia_shape a, b;
        if (glia_graph_find(m->g, c.w_name[i], &to)) {
            s = glia__err(GLIA_EINVAL, "%s: no parameter '%s' in the model text made from it", path, c.w_name[i]);
            break;
        }
        glia_node_shape(src->g, c.w_src[i], &a);
        glia_node_shape(m->g, to, &b);
        if (glia_shape_numel(&a) != glia_shape_numel(&b)) {
            s = glia__err(GLIA_ESHAPE, "%s: '%s' has %lld values, the file's '%s' %lld", path, c.w_name[i],
                          (long long)glia_shape_numel(&b), src->g->nodes[c.w_src[i]].name,
                          (long long)glia_shape_numel(&a));
            break;
        }
        memcpy(glia_node_value(m->g, to), glia_node_value(src->g, c.w_src[i]),
               (size_t)glia_shape_numel(&a) * sizeof(float));
    }
    for (int i = 0; c.name && i < N; i++) free(c.name[i]);
    free(c.name);
    free(c.readers);
    free(c.fused);
    free(c.w_src);
    free(c.w_name);
    free(need);
    free(text);
    glia_model_free(src);
    if (s) {
        glia_model_free(m);
        return s;
    }
    *out = m;
    return GLIA_OK;
}
