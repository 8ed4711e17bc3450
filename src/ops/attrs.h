/* attrs.h: where each op keeps its attributes in a node: the slot numbers of n->ia (ints, bools,
 * enums) and n->fa (floats), one enum per op family. Every kernel (the CPU ops here, other
 * devices) reads attributes through these names; what each attribute means, its type, default
 * and allowed values are declared once in the op's glia_op_def (its attrs table), which glia
 * ops prints. The numbers are part of the node layout: do not renumber. */
#ifndef GLIA_OPS_ATTRS_H
#define GLIA_OPS_ATTRS_H

/* conv2d, n->ia */
enum {
    CONV_STRIDE_H, CONV_STRIDE_W,
    CONV_PAD_TOP, CONV_PAD_BOTTOM, CONV_PAD_LEFT, CONV_PAD_RIGHT,
    CONV_DILATION_H, CONV_DILATION_W,
    CONV_GROUPS,
    CONV_N_IA
};

/* conv_transpose2d, n->ia: conv2d's slots (the stride, padding and dilation of the convolution
 * it is the transpose of), then the extra rows and columns added at the bottom and right */
enum { DECONV_OUT_PAD_H = CONV_N_IA, DECONV_OUT_PAD_W, DECONV_N_IA };

/* resize, n->ia and n->fa (resize.c): the output's height and width, how output positions map
 * to input ones, and the rounding of nearest; the scales the mapping divides by (0: out / in),
 * the cubic's coefficient a */
enum { RESIZE_OUT_H, RESIZE_OUT_W, RESIZE_MODE, RESIZE_COORD, RESIZE_NEAREST, RESIZE_EXCLUDE_OUTSIDE,
       RESIZE_N_IA };
enum { RESIZE_SCALE_H, RESIZE_SCALE_W, RESIZE_CUBIC_A, RESIZE_N_FA };

/* local2d, n->ia (locally connected layer, local2d.c) */
enum { LOCAL_KERNEL_H, LOCAL_KERNEL_W, LOCAL_STRIDE_H, LOCAL_STRIDE_W, LOCAL_PAD_H, LOCAL_PAD_W, LOCAL_N_IA };

/* maxpool2d, avgpool2d, n->ia (global_avgpool has none) */
enum { POOL_KERNEL_H, POOL_KERNEL_W, POOL_STRIDE_H, POOL_STRIDE_W, POOL_PAD_H, POOL_PAD_W, POOL_CEIL_MODE,
       POOL_N_IA };

/* leaky_relu, elu, n->fa (relu, sigmoid, tanh, linear have none) */
enum { LEAKY_RELU_SLOPE = 0 };
enum { ELU_ALPHA = 0 };

/* scale, n->fa (add, sub and mul have no attribute: the op says which) */
enum { SCALE_ALPHA = 0 };

/* concat, slice, reshape, n->ia; reshape's shape is a list: ia[RESHAPE_SHAPE] = its length k,
 * ia[RESHAPE_SHAPE + 1 .. k] the per-sample dimensions (one may be -1) */
enum { CONCAT_AXIS = 0 };
enum { SLICE_AXIS, SLICE_START, SLICE_END };
enum { RESHAPE_SHAPE = 0 };
/* transpose, n->ia: perm as a list, ia[TRANSPOSE_PERM] = ndim, then output axis k = input axis
 * ia[TRANSPOSE_PERM + 1 + k] */
enum { TRANSPOSE_PERM = 0 };

/* maxout, n->ia */
enum { MAXOUT_K = 0 };

/* dropout, n->fa */
enum { DROPOUT_P = 0 };

/* batchnorm, n->fa */
enum { BN_EPS, BN_MOMENTUM };

/* softmax_cross_entropy, n->fa: label smoothing eps (loss.c) */
enum { CE_SMOOTHING = 0 };

/* lrn: n->ia[LRN_SIZE]; n->fa[LRN_ALPHA], [LRN_BETA], [LRN_K] */
enum { LRN_SIZE = 0 };
enum { LRN_ALPHA, LRN_BETA, LRN_K };

/* rnn, lstm, gru, clockwork, scrn, n->ia: the hidden size, 1 or 2 directions, which optional
 * inputs are given (they follow the parameters in this order: h0, c0, lengths), rnn's activation
 * (GLIA_RNN_TANH, GLIA_RNN_RELU); lstm only: peepholes and c0; rnn only: activation; clockwork
 * only: the number of modules and the base of their periods; scrn only: the context size (its
 * s0 takes c0's place), and n->fa[SCRN_ALPHA], the context's fixed decay; lstm only: cell_out
 * (y gets a row T with the final cell states) and input_forget (f = 1 - i); gru only:
 * reset_before (ONNX's linear_before_reset = 0) */
enum {
    RNN_HIDDEN, RNN_DIRS, RNN_PEEPHOLE, RNN_HAS_H0, RNN_HAS_C0, RNN_HAS_LENGTHS, RNN_ACTIVATION,
    RNN_MODULES, RNN_PERIOD_BASE, RNN_CONTEXT, RNN_CELL_OUT, RNN_RESET_BEFORE, RNN_INPUT_FORGET,
    RNN_N_IA
};
enum { SCRN_ALPHA = 0 };

/* seq_last (directions of the recurrent output), seq_pool (GLIA_SEQ_POOL_MEAN or _MAX), n->ia */
enum { SEQ_LAST_DIRS = 0 };
enum { SEQ_POOL_MODE = 0 };

/* attention (GLIA_ATTENTION_DOT, _GENERAL, _ADDITIVE), n->ia */
enum { ATTENTION_SCORE = 0 };

/* embedding, n->ia: the row that gets no gradient, -1 for none */
enum { EMBEDDING_PADDING_IDX = 0 };

/* binarize: n->ia[BIN_SCALED] (scale by mean |x| per slice of dim 0), n->fa[BIN_CLIP] (the
 * straight-through estimator passes the gradient where |x| <= clip) */
enum { BIN_SCALED = 0 };
enum { BIN_CLIP = 0 };

#endif
