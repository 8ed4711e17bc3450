/* test_attrs.c: the ops' attribute declarations (glia_op_def.attrs): well formed for every op,
 * the defaults builders take from them, errors that name the attribute, the node description
 * (glia__node_attrs_text), the public catalogue (glia_op_attr_get). */
#include "test.h"
#include "core/internal.h"
#include <limits.h>
#include <string.h>

/* every declaration fits the node's arrays, no two share a slot or a name, and defaults are
 * allowed values */
TEST(attrs_declarations_well_formed) {
    for (int op = 0; op < GLIA_OP_COUNT; op++) {
        const glia_op_def *d = glia__ops[op];
        bool ia_used[GLIA_IA] = {false}, fa_used[GLIA_FA] = {false};
        CHECK_MSG(d->n_attrs == 0 || d->attrs, "%s: n_attrs %d without attrs", d->name, d->n_attrs);
        for (int i = 0; i < d->n_attrs; i++) {
            const glia_attr_def *a = &d->attrs[i];
            bool fl = a->type == GLIA_ATTR_FLOAT;
            int last = a->slot + (a->type == GLIA_ATTR_INTS ? a->max_len : 0);
            CHECK_MSG(a->name && a->slot >= 0 && last < (fl ? GLIA_FA : GLIA_IA),
                      "%s: attribute %d (%s) is outside the node's arrays", d->name, i, a->name);
            for (int k = a->slot; k <= last; k++) {
                bool *used = fl ? &fa_used[k] : &ia_used[k];
                CHECK_MSG(!*used, "%s: two attributes share slot %d (%s)", d->name, k, a->name);
                *used = true;
            }
            for (int j = 0; j < i; j++)
                CHECK_MSG(strcmp(a->name, d->attrs[j].name), "%s: two attributes named %s", d->name,
                          a->name);
            CHECK_MSG(a->min <= a->max, "%s.%s: empty range", d->name, a->name);
            if (a->type == GLIA_ATTR_ENUM)
                for (int v = 0; v <= (int)a->max; v++)
                    CHECK_MSG(a->names && a->names[v], "%s.%s: value %d has no name", d->name,
                              a->name, v);
        }
        /* every attribute at its default (a required one at its least value) passes */
        int ia[GLIA_IA] = {0};
        float fa[GLIA_FA] = {0};
        for (int i = 0; i < d->n_attrs; i++) {
            const glia_attr_def *a = &d->attrs[i];
            double v = a->required ? a->min : a->def;
            if (a->type == GLIA_ATTR_FLOAT) fa[a->slot] = (float)v;
            else if (a->type != GLIA_ATTR_INTS) ia[a->slot] = (int)v;
        }
        CHECK_MSG(!glia__attrs_check((glia_op_id)op, d->name, ia, fa),
                  "the defaults of %s are not allowed: %s", d->name, glia_last_error());
    }
}

/* a graph with x [2, 4, 6, 6] and w [4, 4, 3, 3] */
static glia_graph *conv_graph(int *x, int *w) {
    glia_graph *g = NULL;
    if (glia_graph_new(&g) || glia_input(g, "x", 4, (int64_t[]){2, 4, 6, 6}, x) ||
        glia_param(g, "w", 4, (int64_t[]){4, 4, 3, 3}, w)) {
        glia_graph_free(g);
        return NULL;
    }
    return g;
}

static int error_is(glia_status s, const char *want) {
    if (s == GLIA_EINVAL && !strcmp(glia_last_error(), want)) return 1;
    test_fail(__FILE__, __LINE__, "got %s \"%s\", want \"%s\"", glia_status_name(s),
              glia_last_error(), want);
    return 0;
}

TEST(attrs_errors_name_the_attribute) {
    int x, w, y, r;
    glia_graph *g = conv_graph(&x, &w);
    CHECK(g);
    int before = glia_graph_num_nodes(g);
    glia_status s = glia_conv2d(g, "conv1", x, w, -1, &(glia_conv2d_params){.stride_h = -2}, &y);
    if (!error_is(s, "conv2d 'conv1': attribute stride_h = -2 must be >= 1")) goto done;
    s = glia_conv2d(g, "conv2", x, w, -1, &(glia_conv2d_params){.pad_left = -1}, &y);
    if (!error_is(s, "conv2d 'conv2': attribute pad_left = -1 must be >= 0")) goto done;
    s = glia_dropout(g, "drop", x, 1.0f, &y);
    if (!error_is(s, "dropout 'drop': attribute p = 1 must be in [0, 1)")) goto done;
    s = glia_elu(g, "elu", x, 0.0f, &y);
    if (!error_is(s, "elu 'elu': attribute alpha = 0 must be > 0")) goto done;
    s = glia_leaky_relu(g, "lr", x, NAN, &y);
    if (!error_is(s, "leaky_relu 'lr': attribute slope = nan must be >= 0")) goto done;
    s = glia_maxout(g, NULL, x, 0, &y); /* an unnamed node is named by its op and index */
    char want[96];
    snprintf(want, sizeof want, "maxout 'maxout_%d': attribute k = 0 must be >= 1", before);
    if (!error_is(s, want)) goto done;
    s = glia_reshape(g, "rs", x, 2, (int64_t[]){-1, -1}, &y); /* the list is allowed, infer says */
    CHECK_MSG(s == GLIA_ESHAPE, "%s", glia_last_error());
    int in[1] = {x};
    int ia[2] = {0, 5};
    s = glia__add_op(g, GLIA_OP_seq_pool, "sp", 1, in, ia + 1, 1, NULL, 0, &y);
    if (!error_is(s, "seq_pool 'sp': attribute mode = 5 must be mean (0) or max (1)")) goto done;
    s = glia__add_op(g, GLIA_OP_maxpool2d, "mp", 1, in, NULL, 0, NULL, 0, &y);
    if (!error_is(s, "maxpool2d 'mp': attribute kernel_h is required")) goto done;
    ia[0] = 1; /* add declares no attribute: a value in its slot 0 means nothing */
    s = glia__add_op(g, GLIA_OP_add, "a", 2, (int[]){x, x}, ia, 1, NULL, 0, &y);
    if (!error_is(s, "add 'a': integer slot 0 holds 1, but add declares no attribute there"))
        goto done;
    s = glia__add_op(g, GLIA_OP_relu, "relu", 1, in, NULL, 0, (float[]){0.5f}, 1, &y);
    if (!error_is(s, "relu 'relu': float slot 0 holds 0.5, but relu declares no attribute there"))
        goto done;
    /* the recurrent builders check before they make the parameters, and leave none behind */
    int seq;
    OK(glia_input(g, "seq", 3, (int64_t[]){5, 2, 3}, &seq));
    before = glia_graph_num_nodes(g);
    s = glia_rnn(g, "r", seq, -1, -1, &(glia_rnn_config){.hidden = 0}, &r);
    if (!error_is(s, "rnn 'r': attribute hidden = 0 must be >= 1")) goto done;
    s = glia_rnn(g, "r", seq, -1, -1, &(glia_rnn_config){.hidden = 4, .activation = 7}, &r);
    if (!error_is(s, "rnn 'r': attribute activation = 7 must be tanh (0) or relu (1)")) goto done;
    CHECK(glia_graph_num_nodes(g) == before);
done:
    glia_graph_free(g);
}

static int text_is(glia_graph *g, int node, const char *want) {
    char buf[256];
    glia__node_attrs_text(&g->nodes[node], buf, sizeof buf);
    if (!strcmp(buf, want)) return 1;
    test_fail(__FILE__, __LINE__, "node '%s': \"%s\", want \"%s\"", glia_node_name(g, node), buf,
              want);
    return 0;
}

TEST(attrs_text_describes_nodes_and_builders_take_defaults) {
    int x, w, w2, c0, c1, p, rs, sp, rl, seq, lstm;
    glia_graph *g = conv_graph(&x, &w);
    CHECK(g);
    OK(glia_param(g, "w2", 4, (int64_t[]){4, 2, 3, 3}, &w2));
    OK(glia_conv2d(g, "c0", x, w, -1, NULL, &c0)); /* NULL: every default */
    OK(glia_conv2d(g, "c1", x, w2, -1,
                   &(glia_conv2d_params){.stride_h = 2, .pad_top = 1, .pad_bottom = 1, .groups = 2},
                   &c1));
    OK(glia_maxpool2d(g, "p", x, &(glia_pool2d_params){.kernel_h = 2, .kernel_w = 3}, &p));
    OK(glia_reshape(g, "rs", x, 2, (int64_t[]){4, -1}, &rs));
    OK(glia_relu(g, "relu", x, &rl));
    OK(glia_input(g, "seq", 3, (int64_t[]){5, 2, 3}, &seq));
    OK(glia_seq_pool(g, "sp", seq, -1, GLIA_SEQ_POOL_MAX, &sp));
    glia_rnn_config cfg = {.hidden = 4, .bidirectional = 1};
    OK(glia_lstm(g, "l", seq, -1, -1, -1, &cfg, &lstm));
    int ok = text_is(g, c0, "stride_h=1 stride_w=1 pad_top=0 pad_bottom=0 pad_left=0 pad_right=0 "
                            "dilation_h=1 dilation_w=1 groups=1") &&
             text_is(g, c1, "stride_h=2 stride_w=1 pad_top=1 pad_bottom=1 pad_left=0 pad_right=0 "
                            "dilation_h=1 dilation_w=1 groups=2") &&
             text_is(g, p, "kernel_h=2 kernel_w=3 stride_h=2 stride_w=3 pad_h=0 pad_w=0 ceil_mode=0") &&
             text_is(g, rs, "shape=[4,-1]") && text_is(g, rl, "") && text_is(g, x, "") &&
             text_is(g, sp, "mode=max") &&
             text_is(g, lstm, "hidden=4 dirs=2 peephole=0 has_h0=0 has_c0=0 has_lengths=0 "
                              "cell_out=0 input_forget=0");
    /* the public one, and a buffer too small: cut, still a string */
    char small[12];
    ok = ok && !glia_node_attrs(g, c1, small, sizeof small) && !strcmp(small, "stride_h=2 ");
    CHECK(ok);
    glia_graph_free(g);
}

TEST(attrs_public_catalogue) {
    int conv = -1, pool = -1;
    for (int i = 0; i < glia_num_ops(); i++) {
        if (!strcmp(glia_op_get(i)->name, "conv2d")) conv = i;
        if (!strcmp(glia_op_get(i)->name, "maxpool2d")) pool = i;
    }
    CHECK(conv >= 0 && pool >= 0 && glia_op_get(conv)->n_attrs == CONV_N_IA);
    const glia_op_attr_info *a = glia_op_attr_get(conv, CONV_GROUPS);
    CHECK(a && !strcmp(a->name, "groups") && !strcmp(a->type, "int") && !strcmp(a->def, "1") &&
          !strcmp(a->range, ">= 1"));
    a = glia_op_attr_get(pool, POOL_KERNEL_H);
    CHECK(a && !strcmp(a->name, "kernel_h") && !a->def);
    CHECK(!glia_op_attr_get(conv, CONV_N_IA) && !glia_op_attr_get(-1, 0));
}
