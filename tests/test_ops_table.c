/* test_ops_table.c: the op table harness, as ggml's test-backend-ops. Every op in glia__ops must
 * have three kinds of case:
 *   gradient   finite differences (test_gradcheck, GRADCHECK) of every input that has a gradient
 *              (the op's no_grad says which do not: ids, labels, lengths, running statistics);
 *   reference  forward and backward against plain loops written from the definition;
 *   golden     forward and backward against values PyTorch computed (scripts/golden/).
 * The cases are ordinary tests in the op's own test file; OPS below names, per op, one test of
 * each kind and the golden files that test reads. ops_table_covers_every_op fails for an op
 * with no row, a row with a kind missing (unless EXEMPT says why: the test prints it), a name
 * that is no test, or a golden file that is not there. And a test named in the table must check
 * what the table says: while it runs, the checks note what they checked (test.h), and
 * op_case_end (after every test, from main.c) fails it if it never checked the op that way, left
 * an input with a gradient unchecked, or did not read a listed golden file. */
#include "test.h"
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    glia_op_id op;
    const char *cases[OPK_COUNT]; /* test names: gradient, reference, golden */
    const char *files;            /* golden files the golden case reads, space separated */
} op_cases;

#define OP(o) GLIA_OP_##o
static const op_cases OPS[] = {
    {OP(dense), {"dense_gradcheck", "dense_matches_reference", "dense_golden_pytorch"}, "basic_dense"},
    {OP(add), {"ew_gradcheck_broadcast", "ew_matches_naive", "ew_golden_pytorch"},
     "basic_add_bias basic_residual"},
    {OP(sub), {"ew_gradcheck_broadcast", "ew_matches_naive", "ew_golden_pytorch"},
     "basic_sub_bcast"},
    {OP(mul), {"ew_gradcheck_broadcast", "ew_matches_naive", "ew_golden_pytorch"},
     "basic_mul_bcast"},
    {OP(scale), {"ew_scale_and_errors", "ew_matches_naive", "ew_golden_pytorch"}, "basic_scale"},
    {OP(concat), {"shape_concat_channels", "shape_concat_channels", "shape_concat_channels"},
     "basic_concat"},
    {OP(slice), {"shape_slice", "shape_slice", "shape_slice"}, "basic_slice"},
    {OP(reshape), {"shape_reshape_flatten", "shape_reshape_flatten", "shape_reshape_flatten"},
     "basic_reshape"},
    {OP(transpose), {"shape_transpose", "shape_transpose", "shape_transpose"}, "basic_transpose"},
    {OP(sqrt), {"math_sqrt", "math_sqrt", "math_sqrt"}, "basic_sqrt"},
    {OP(log), {"math_log", "math_log", "math_log"}, "basic_log"},
    {OP(div), {"math_div", "math_div", "math_div"}, "basic_div"},
    {OP(matmul), {"math_matmul", "math_matmul", "math_matmul"}, "basic_matmul"},
    {OP(conv2d), {"conv_gradcheck", "conv_matches_reference", "conv_golden_pytorch"},
     "conv_basic conv_stride_pad conv_asym_pad conv_dilation conv_groups conv_depthwise conv_1x1 "
     "conv_nobias"},
    {OP(maxpool2d), {"pool_gradcheck", "pool_matches_reference", "pool_golden_pytorch"},
     "pool_max_2x2 pool_max_k3s2p1 pool_max_rect pool_max_ceil pool_max_ceil_pad"},
    {OP(avgpool2d), {"pool_gradcheck", "pool_matches_reference", "pool_golden_pytorch"},
     "pool_avg_2x2 pool_avg_k3s2p1 pool_avg_rect pool_avg_ceil pool_avg_ceil_pad"},
    {OP(global_avgpool), {"pool_gradcheck", "pool_matches_reference", "pool_golden_pytorch"},
     "pool_global_avg"},
    {OP(relu), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"}, "act_relu"},
    {OP(leaky_relu), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"},
     "act_leaky_relu"},
    {OP(elu), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"}, "act_elu"},
    {OP(sigmoid), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"}, "act_sigmoid"},
    {OP(tanh), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"}, "act_tanh"},
    {OP(linear), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"}, "act_linear"},
    {OP(relu6), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"}, "act_relu6"},
    {OP(hard_sigmoid), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"}, "act_hard_sigmoid"},
    {OP(hard_swish), {"act_gradcheck", "act_matches_naive", "act_golden_pytorch"}, "act_hard_swish"},
    {OP(softmax), {"softmax_gradcheck", "softmax_matches_naive", "softmax_golden_pytorch"},
     "act_softmax act_softmax_2d"},
    {OP(log_softmax), {"softmax_gradcheck", "softmax_matches_naive", "softmax_golden_pytorch"},
     "act_log_softmax act_log_softmax_2d"},
    {OP(maxout), {"maxout_gradcheck", "maxout_matches_reference", "maxout_golden_pytorch"},
     "act_maxout act_maxout_2d"},
    {OP(local2d), {"local2d_gradcheck", "local2d_matches_reference", "local2d_golden_pytorch"},
     "local_basic local_stride_pad"},
    {OP(dropout), {"dropout_gradcheck_training", "dropout_matches_naive", "dropout_golden_mask"},
     "dropout_mask"},
    {OP(batchnorm),
     {"batchnorm_gradcheck_training_4d", "batchnorm_matches_reference_training_4d",
      "batchnorm_golden_pytorch_4d"},
     "norm_bn_4d"},
    {OP(lrn), {"lrn_gradcheck", "lrn_matches_reference", "lrn_golden_pytorch_size5"}, "norm_lrn_s5"},
    {OP(softmax_cross_entropy),
     {"loss_gradcheck", "loss_ce_matches_naive", "loss_ce_golden_pytorch"},
     "loss_ce loss_ce_smooth loss_ce_smooth_ignore"},
    {OP(mse_loss), {"loss_gradcheck", "loss_mse_matches_naive", "loss_mse_golden_pytorch"},
     "loss_mse"},
    {OP(bce_with_logits), {"loss_gradcheck", "loss_bce_matches_naive", "loss_bce_golden_pytorch"},
     "loss_bce"},
    {OP(rnn), {"rnn_gradcheck_tanh_bidir_lengths_h0", "rnn_matches_reference", "rnn_golden_pytorch"},
     "rnn_rnn_tanh rnn_rnn_relu_bidir_len"},
    {OP(lstm),
     {"lstm_gradcheck_bidir_lengths_h0_c0", "lstm_matches_reference", "lstm_golden_pytorch"},
     "rnn_lstm rnn_lstm_bidir_len rnn_lstm_cell_out_bidir_len rnn_lstm_input_forget_bidir_len"},
    {OP(gru), {"gru_gradcheck_bidir_lengths_h0", "gru_matches_reference", "gru_golden_pytorch"},
     "rnn_gru rnn_gru_bidir_len rnn_gru_reset_before rnn_gru_reset_before_bidir_len"},
    {OP(seq_last),
     {"seq_last_values_and_gradient", "seq_last_values_and_gradient",
      "seq_last_lstm_golden_pytorch"},
     "rnn_lstm_many_to_one"},
    {OP(seq_pool),
     {"seq_pool_matches_naive_and_gradcheck", "seq_pool_matches_naive_and_gradcheck",
      "seq_pool_golden_pytorch"},
     "seq_pool_mean seq_pool_max"},
    {OP(embedding),
     {"embedding_matches_naive_and_gradcheck", "embedding_matches_naive_and_gradcheck",
      "embedding_golden_pytorch"},
     "rnn_embedding"},
    {OP(embedding_bag),
     {"embedding_bag_matches_naive_and_gradcheck", "embedding_bag_matches_naive_and_gradcheck",
      "embedding_bag_golden_pytorch"},
     "rnn_embedding_bag"},
    {OP(time_flatten),
     {"time_flatten_reference_and_gradcheck", "time_flatten_reference_and_gradcheck",
      "time_flatten_reference_and_gradcheck"},
     "basic_time_flatten"},
    /* binary networks (test_binary.c) */
    {OP(binarize), {"binarize_gradcheck", "binarize_matches_reference", "binarize_golden_pytorch"},
     "binary_weight binary_act binary_sign"},
    {OP(attention), {"attention_gradcheck", "attention_matches_naive", "attention_golden_pytorch"},
     "attention_dot attention_general attention_additive"},
    /* the course's other recurrent cells (test_cells.c) */
    {OP(clockwork),
     {"clockwork_gradcheck_bidir_lengths_h0", "clockwork_matches_reference",
      "clockwork_golden_pytorch"},
     "cells_clockwork cells_clockwork_bidir_len"},
    {OP(scrn), {"scrn_gradcheck_bidir_lengths_h0_s0", "scrn_matches_reference", "scrn_golden_pytorch"},
     "cells_scrn cells_scrn_bidir_len"},
    /* decoders and segmentation heads (test_upsample.c) */
    {OP(conv_transpose2d), {"deconv_gradcheck", "deconv_matches_reference", "deconv_golden_pytorch"},
     "deconv_basic deconv_stride_pad deconv_groups_dil deconv_asym_nobias deconv_2x2s2"},
    {OP(resize), {"resize_gradcheck", "resize_matches_reference", "resize_golden_pytorch"},
     "resize_nearest_x2 resize_nearest_size resize_nearest_exact resize_bilinear resize_bilinear_ac "
     "resize_bilinear_scale resize_bicubic resize_bicubic_ac"},
};
#define N_OPS_ROWS (int)(sizeof OPS / sizeof OPS[0])

/* An op that truly cannot have a case of some kind says why here; the harness prints these. */
typedef struct {
    glia_op_id op;
    op_kind kind;
    const char *why;
} op_exemption;
static const op_exemption EXEMPT[] = {
    {GLIA_OP_COUNT, OPK_COUNT, NULL}, /* none today; the entry keeps the array non-empty */
};

static const char *const KIND_NAME[OPK_COUNT] = {"gradient", "reference", "golden"};

static const char *exemption(glia_op_id op, op_kind kind) {
    for (size_t i = 0; i < sizeof EXEMPT / sizeof EXEMPT[0]; i++)
        if (EXEMPT[i].op == op && EXEMPT[i].kind == kind) return EXEMPT[i].why;
    return NULL;
}

/* calls fn(word, len, arg) for each space-separated word of s */
static void each_word(const char *s, void (*fn)(const char *, size_t, void *), void *arg) {
    while (s && *s) {
        size_t n = strcspn(s, " ");
        if (n) fn(s, n, arg);
        s += n + (s[n] == ' ');
    }
}

static void file_exists(const char *w, size_t n, void *arg) {
    const op_cases *row = arg;
    char path[512];
    const char *dir = getenv("GLIA_GOLDEN_DIR");
    snprintf(path, sizeof path, "%s/%.*s.txt", dir ? dir : "tests/golden", (int)n, w);
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    else
        test_fail(__FILE__, __LINE__, "op '%s': golden file %s is missing",
                  glia__ops[row->op]->name, path);
}

TEST(ops_table_covers_every_op) {
    for (int op = 0; op < GLIA_OP_COUNT; op++) {
        const char *name = glia__ops[op]->name;
        const op_cases *row = NULL;
        for (int r = 0; r < N_OPS_ROWS; r++)
            if ((int)OPS[r].op == op) {
                CHECK_MSG(!row, "op '%s' has two rows in the op table", name);
                row = &OPS[r];
            }
        if (!row) {
            test_fail(__FILE__, __LINE__, "op '%s' has no gradient, reference or golden case (no "
                      "row in the op table, tests/test_ops_table.c)", name);
            continue;
        }
        for (int k = 0; k < OPK_COUNT; k++) {
            const char *why = exemption((glia_op_id)op, (op_kind)k), *test = row->cases[k];
            if (test && why)
                test_fail(__FILE__, __LINE__, "op '%s' has a %s case (%s) and an exemption",
                          name, KIND_NAME[k], test);
            else if (why)
                printf("  note: op %s has no %s case: %s\n", name, KIND_NAME[k], why);
            else if (!test)
                test_fail(__FILE__, __LINE__, "op '%s' has no %s case", name, KIND_NAME[k]);
            else if (!test_registered(test))
                test_fail(__FILE__, __LINE__, "op '%s': its %s case '%s' is no test", name,
                          KIND_NAME[k], test);
        }
        CHECK_MSG(!row->cases[OPK_GOLDEN] == !(row->files && row->files[0]),
                  "op '%s': a golden case goes with the golden files it reads", name);
        each_word(row->files, file_exists, (void *)row);
    }
}

/* ---------------------------------------------------------------- what a running test checked */

static struct {
    bool seen[OPK_COUNT][GLIA_OP_COUNT];
    /* gradient cases: the differentiable inputs of the op's nodes between wrt and y, and of
     * those the ones on a checked path (bit k: input k) */
    unsigned inputs[GLIA_OP_COUNT], checked[GLIA_OP_COUNT];
    char files[64][64];
    int n_files;
} noted;

void op_case_note_file(const char *golden_file) {
    if (noted.n_files < 64) snprintf(noted.files[noted.n_files++], 64, "%s", golden_file);
}

void op_case_note(const glia_graph *g, op_kind kind, int y, int wrt) {
    if (!g || y < 0 || y >= g->n_nodes || (kind == OPK_GRAD && (wrt < 0 || wrt > y))) return;
    /* up: y depends on the node; down: the node depends on wrt (nodes are in topological order) */
    unsigned char *up = calloc((size_t)y + 1, 2), *down = up ? up + y + 1 : NULL;
    if (!up) return;
    up[y] = 1;
    for (int i = y; i >= 0; i--)
        for (int k = 0; up[i] && k < g->nodes[i].n_in; k++) up[g->nodes[i].in[k]] = 1;
    if (kind == OPK_GRAD) {
        down[wrt] = 1;
        for (int i = wrt + 1; i <= y; i++)
            for (int k = 0; k < g->nodes[i].n_in; k++) down[i] |= down[g->nodes[i].in[k]];
    }
    for (int i = 0; i <= y; i++) {
        const glia_node *n = &g->nodes[i];
        if (!up[i] || n->kind != NODE_OP || (kind == OPK_GRAD && !down[i])) continue;
        noted.seen[kind][n->op] = true;
        if (kind != OPK_GRAD) continue;
        const glia_op_def *d = glia__ops[n->op];
        for (int k = 0; k < n->n_in; k++) {
            if (d->no_grad && d->no_grad(n, k)) continue;
            noted.inputs[n->op] |= 1u << k;
            if (down[n->in[k]]) noted.checked[n->op] |= 1u << k;
        }
    }
    free(up);
}

void op_case_begin(const char *test) { memset(&noted, 0, sizeof noted); }

static void file_read(const char *w, size_t n, void *arg) {
    const char *test = arg;
    for (int i = 0; i < noted.n_files; i++)
        if (strlen(noted.files[i]) == n && !strncmp(noted.files[i], w, n)) return;
    test_fail(__FILE__, __LINE__, "%s: the golden case did not read %.*s", test, (int)n, w);
}

void op_case_end(const char *test) {
    for (int r = 0; r < N_OPS_ROWS; r++)
        for (int k = 0; k < OPK_COUNT; k++) {
            const op_cases *row = &OPS[r];
            if (!row->cases[k] || strcmp(row->cases[k], test)) continue;
            const char *op = glia__ops[row->op]->name;
            if (!noted.seen[k][row->op]) {
                test_fail(__FILE__, __LINE__, "%s, the %s case of %s in the op table, checked no "
                          "%s node that way", test, KIND_NAME[k], op, op);
                continue;
            }
            unsigned left = noted.inputs[row->op] & ~noted.checked[row->op];
            for (int i = 0; k == OPK_GRAD && left && i < GLIA_MAX_INPUTS; i++)
                if (left & (1u << i))
                    test_fail(__FILE__, __LINE__, "%s: the gradient of input %d of %s was not "
                              "checked (or declare it in the op's no_grad)", test, i, op);
            if (k == OPK_GOLDEN) each_word(row->files, file_read, (void *)test);
        }
}
