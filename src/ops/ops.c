/* ops.c: the table of every op. An op is added by writing its glia_op_def in its family's file
 * and listing it here. */
#include "../core/internal.h"
#include <string.h>

#define OPS(X)                                                                                    \
    X(dense) X(add) X(sub) X(mul) X(scale) X(concat) X(slice) X(reshape)                          \
    X(conv2d) X(maxpool2d) X(avgpool2d) X(global_avgpool)                                         \
    X(relu) X(leaky_relu) X(elu) X(sigmoid) X(tanh) X(linear) X(softmax) X(log_softmax) X(maxout) \
    X(dropout) X(batchnorm) X(lrn)                                                                \
    X(softmax_cross_entropy) X(mse_loss) X(bce_with_logits)                                       \
    X(rnn) X(lstm) X(gru) X(seq_last) X(seq_pool) X(embedding) X(embedding_bag) X(time_flatten)

#define DECLARE(op) extern const glia_op_def glia__op_##op;
OPS(DECLARE)
#define ENTRY(op) &glia__op_##op,
const glia_op_def *const glia__ops[] = {OPS(ENTRY) NULL};

int glia__op_count(void) { return (int)(sizeof glia__ops / sizeof glia__ops[0]) - 1; }

int glia__op_index(const char *name) {
    for (int i = 0; glia__ops[i]; i++)
        if (!strcmp(glia__ops[i]->name, name)) return i;
    return -1;
}

int glia_num_ops(void) { return glia__op_count(); }

const glia_op_info *glia_op_get(int i) {
    static _Thread_local glia_op_info info;
    if (i < 0 || i >= glia__op_count()) return NULL;
    info.name = glia__ops[i]->name;
    info.summary = glia__ops[i]->summary;
    info.inputs = glia__ops[i]->inputs;
    info.outputs = glia__ops[i]->outputs;
    return &info;
}
