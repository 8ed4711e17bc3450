/* ref_device.c: the reference device's table (src/core/device.h): host allocations of its own,
 * which it does not declare as host memory (so the library reaches them through upload and
 * download, as it would a GPU's), and the plain-loop kernels of ref_*.c for every op. */
#include "ref.h"
#include <stdlib.h>
#include <string.h>

static void *ref_alloc(size_t bytes) { return glia__aligned_alloc(64, bytes); }
static void ref_free(void *p) { free(p); }
static void ref_zero(void *p, size_t bytes) { memset(p, 0, bytes); }
static glia_status ref_copy(void *dst, const void *src, size_t bytes) {
    memcpy(dst, src, bytes);
    return GLIA_OK;
}

/* one entry per op, in the op table's order (a missing kernel does not link) */
#define REF_ENTRY(op) &glia__ref_##op,
static const glia_kernel *const kernels[] = {GLIA_OPS(REF_ENTRY)};
_Static_assert(sizeof kernels / sizeof kernels[0] == GLIA_OP_COUNT,
               "the reference device has one kernel pair per op");

static int ref_supports_op(const glia_graph *g, const glia_node *n) {
    (void)g;
    return (int)n->op < GLIA_OP_COUNT && kernels[n->op]->forward && kernels[n->op]->backward;
}

static glia_kernel ref_kernel(glia_op_id op) { return *kernels[op]; }

/* scratch: the recurrent backward's carried state, conv2d's dx sums; the rest needs none */
static size_t ref_ws_bytes(const glia_graph *g, const glia_node *n) {
    switch (n->op) {
    case GLIA_OP_conv2d: return glia__ref_conv_ws_bytes(g, n);
    case GLIA_OP_rnn:
    case GLIA_OP_lstm:
    case GLIA_OP_gru:
    case GLIA_OP_clockwork: return glia__ref_rnn_ws_bytes(g, n);
    case GLIA_OP_scrn: return glia__ref_scrn_ws_bytes(g, n);
    default: return 0;
    }
}

const glia_device glia__device_reference = {
    "reference", "plain loops for every op (no BLAS, threads or fusion), sums in double: a check "
    "of the cpu device",
    0, ref_alloc, ref_free, ref_zero, ref_copy, ref_copy, ref_supports_op, ref_kernel, ref_ws_bytes};
