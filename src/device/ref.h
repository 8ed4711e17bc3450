/* ref.h: what the reference device's files share (src/device/ref_*.c, the table in
 * ref_device.c).
 *
 * The reference device runs every op with plain loops written to be read against the formula
 * beside them, not to be fast: no BLAS, no threads, no vectors, no fusion. Sums are taken in
 * double and each result rounded once to float, so that it is at least as accurate as the cpu
 * kernels it checks. Each kernel keeps the op's contract (internal.h, the op's file): the same
 * attributes (read at the slots named in src/ops/attrs.h, as the cpu kernels read them), backward adds
 * into the gradients that are not NULL, reads only what the op's flags let it read (the memory
 * plan reuses the rest), and the saved state has the op's size (n->saved_bytes) and, where
 * anything else reads it, its layout (the recurrent ops' final state); dropout draws its mask
 * from the graph's generator as the cpu kernel does. Node memory is host memory here, which the
 * kernels, and only they, read directly. */
#ifndef GLIA_DEVICE_REF_H
#define GLIA_DEVICE_REF_H

#include "../core/device.h"

/* every op's kernels: glia__ref_dense, glia__ref_conv2d, ... (ref_<family>.c) */
#define GLIA__REF_DECLARE(op) extern const glia_kernel glia__ref_##op;
GLIA_OPS(GLIA__REF_DECLARE)

/* the workspace of a recurrent node's backward (ref_rnn.c), of conv2d's (ref_conv.c) */
size_t glia__ref_rnn_ws_bytes(const glia_graph *g, const glia_node *n);
size_t glia__ref_scrn_ws_bytes(const glia_graph *g, const glia_node *n); /* ref_scrn.c */
size_t glia__ref_conv_ws_bytes(const glia_graph *g, const glia_node *n);

/* value and gradient of input k of n (the gradient NULL when none is wanted) */
static inline float *ref_x(glia_graph *g, const glia_node *n, int k) { return glia__in(g, n, k)->val; }
static inline float *ref_dx(glia_graph *g, const glia_node *n, int k) { return glia__in(g, n, k)->grad; }

/* [outer, dim(axis), inner] around an axis */
static inline void ref_around(const glia_shape *s, int axis, int64_t *outer, int64_t *inner) {
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= s->dim[d];
    for (int d = axis + 1; d < s->ndim; d++) *inner *= s->dim[d];
}

#endif
