/* device.h: devices behind a table (as ggml's backends): where a graph's buffers live and which
 * kernels run its ops.
 *
 * A device is one glia_device: its buffers (alloc, free, zero), copies between host memory and
 * them (upload, download), per op a pair of kernels (kernel: forward and backward, with the op
 * contract of internal.h), supports_op, and the workspace a node needs there (ws_bytes). A graph
 * has one, chosen by name with glia_graph_set_device ("cpu" by default). Who uses it:
 *   compile.c  takes the plan's blocks from it (arena, workspace, saved state, the gradients of
 *              parameters and inputs), checks supports_op and copies each op node's kernels into
 *              n->kern, fuses ReLUs only where the device says its kernels do
 *              (GLIA_DEVICE_FUSE_RELU), and, on a device without host memory, copies the leaves
 *              (inputs, parameters, buffers, whose home is host memory from graph.c) into one
 *              block of its memory, and back home when the plan is freed (the next compile,
 *              another device, glia_graph_free);
 *   run.c      calls n->kern.forward / n->kern.backward (one indirect call per node, no more
 *              than before), zeroes gradients and writes the backward seed through it;
 *              glia_node_read / glia_node_write / glia_node_read_grad copy through it, the way
 *              to reach values that works on every device; glia_node_value and glia_node_grad
 *              hand out pointers only where the memory is the host's;
 *   optim.c    steps on host copies of the values and gradients on such a device;
 *   gradcheck.c, glia_rnn_final_state read and write node memory through it.
 * Nothing in src/nn or src/train names a device.
 *
 * The devices (device.c lists them):
 *   cpu        today's kernels (the glia_op_def functions of src/ops) and host memory
 *              (GLIA_DEVICE_HOST_MEMORY: node pointers are its fast path); ReLU fusion.
 *   reference  plain loops for every op, forward and backward, written for clarity rather than
 *              speed (src/device/ref_*.c), to check the cpu device on whole networks and per op
 *              (tests/test_device.c). Its buffers are host allocations of its own, but it does
 *              not declare host memory, so everything reaches them through this table as it
 *              would a GPU's.
 *
 * A CUDA device, later: src/device/cuda*.c (built only when CUDA is found) fills this table and
 * adds itself to device.c's list; compile.c and run.c stay as they are, and so do src/nn and
 * src/train.
 *   alloc, free       cudaMalloc, cudaFree (a plan is the 4 blocks above and the leaves' copy)
 *   zero              cudaMemsetAsync on the device's stream
 *   upload, download  cudaMemcpyAsync host -> device, device -> host (download synchronises)
 *   supports_op       the ops it has kernels for; compile fails on another, naming the node
 *   kernel            per op, the launches of its kernels or cuBLAS/cuDNN calls, with the
 *                     attributes read from n->ia / n->fa as the cpu kernels read them and its
 *                     state in n->saved (whose layout stays the op's where the host reads it:
 *                     the recurrent ops' final state); dropout masks drawn from g->rng on the
 *                     host and uploaded, so that every device drops the same elements; the ops
 *                     that check ids, labels or lengths on forward download those small inputs
 *   ws_bytes          cuDNN's workspace sizes
 *   flags             not GLIA_DEVICE_HOST_MEMORY; GLIA_DEVICE_FUSE_RELU if its convolution
 *                     and batch norm apply the ReLU
 * On glia_node_read/write where the memory is not the host's (node pointers kept on the cpu):
 * the weights files and checkpoints (any glia_st_entry that names a graph's node,
 * src/io/safetensors.c), the training loop's batches, outputs and loss (src/train/loop.c:
 * glia__loop_in, glia__loop_out), glia_evaluate, src/viz (probe.c's host buffers) and the
 * commands (tools/node_io.c). The optimiser's host staging costs two copies of the parameters
 * per step; a device step (an `optim` entry here) would remove them. */
#ifndef GLIA_DEVICE_H
#define GLIA_DEVICE_H

#include "internal.h"

#define GLIA_DEVICE_HOST_MEMORY 1u /* its buffers are host memory: node pointers are usable */
#define GLIA_DEVICE_FUSE_RELU 2u   /* kernels of OPF_FUSE_RELU ops honour n->fuse_relu */
#define GLIA_DEVICE_FOLD_BINARIZE 4u /* binarize honours n->folded, conv2d and dense read the
                                      * folded operand and n->cache (ops/binary.h) */
#define GLIA_DEVICE_FOLD_BN 8u     /* conv2d honours n->fold_bn (compile.c) */

typedef struct glia_device {
    const char *name;
    const char *summary;
    unsigned flags;
    /* device memory: bytes aligned to 64 (NULL when out of memory), released by free */
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    void (*zero)(void *p, size_t bytes);
    /* host src -> device dst, and device src -> host dst */
    glia_status (*upload)(void *dst, const void *src, size_t bytes);
    glia_status (*download)(void *dst, const void *src, size_t bytes);
    /* 1 if it can run op node n (with n's shapes and attributes) */
    int (*supports_op)(const glia_graph *g, const glia_node *n);
    /* op's forward and backward on this device */
    glia_kernel (*kernel)(glia_op_id op);
    /* node n's workspace in bytes on this device; NULL: n->ws_bytes (what infer sized for the
     * cpu kernels). Saved state is the op's n->saved_bytes on every device. */
    size_t (*ws_bytes)(const glia_graph *g, const glia_node *n);
} glia_device;

extern const glia_device glia__device_cpu;
extern const glia_device glia__device_reference; /* src/device/ref_device.c */

/* 1 when the graph's device uses host memory (node pointers may be read directly) */
static inline int glia__dev_host(const glia_graph *g) {
    return (g->dev->flags & GLIA_DEVICE_HOST_MEMORY) != 0;
}

/* Copies between host memory and node memory of a compiled graph (an op node's buffers or
 * saved state, a leaf's value or gradient): bytes from mem to host, and from host to mem. */
static inline glia_status glia__dev_read(const glia_graph *g, void *host, const void *mem,
                                         size_t bytes) {
    return g->dev->download(host, mem, bytes);
}
static inline glia_status glia__dev_write(const glia_graph *g, void *mem, const void *host,
                                          size_t bytes) {
    return g->dev->upload(mem, host, bytes);
}

#endif
