/* op_list.h: every op, once. The op table (ops.c) and the op enum (glia_op_id, internal.h) are
 * both made from this list, so an op's enum value is its index in the table. */
#ifndef GLIA_OP_LIST_H
#define GLIA_OP_LIST_H
#define GLIA_OPS(X)                                                                               \
    X(dense) X(add) X(sub) X(mul) X(scale) X(concat) X(slice) X(reshape)                          \
    X(conv2d) X(maxpool2d) X(avgpool2d) X(global_avgpool)                                         \
    X(relu) X(leaky_relu) X(elu) X(sigmoid) X(tanh) X(linear) X(softmax) X(log_softmax) X(maxout) \
    X(dropout) X(batchnorm) X(lrn) X(relu6)                                                       \
    X(softmax_cross_entropy) X(mse_loss) X(bce_with_logits)                                       \
    X(rnn) X(lstm) X(gru) X(seq_last) X(seq_pool) X(embedding) X(embedding_bag) X(time_flatten)   \
    /* binary networks (binarize.c) */                                                            \
    X(binarize)                                                                                   \
    /* locally connected (local2d.c) */                                                           \
    X(local2d)                                                                                    \
    /* sequence to sequence (attention.c) */                                                      \
    X(attention)                                                                                  \
    /* ONNX's Transpose on run-time values (shape_ops.c) */                                       \
    X(transpose)                                                                                  \
    /* what ONNX models need besides (activation.c, elementwise.c, matmul.c) */                  \
    X(sqrt) X(div) X(matmul)                                                                      \
    /* the course's other recurrent cells (clockwork.c, scrn.c) */                                \
    X(clockwork) X(scrn)                                                                          \
    /* decoders and segmentation heads (conv_transpose.c, resize.c) */                            \
    X(conv_transpose2d) X(resize)                                                                  \
    /* MobileNetV3's activations, Silero VAD's log (activation.c) */                              \
    X(hard_sigmoid) X(hard_swish) X(log)
#endif
