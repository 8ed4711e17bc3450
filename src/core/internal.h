/* internal.h: the graph's node structure and the contract every op follows.
 *
 * One op = one glia_op_def: shape inference (which also sizes the op's workspace and saved
 * state), forward, backward. Backward ADDS into the gradients of its inputs (the runner zeroes
 * each gradient buffer before its first writer), so a node that feeds several consumers gets
 * the sum of their contributions. */
#ifndef GLIA_INTERNAL_H
#define GLIA_INTERNAL_H

#include "glia.h"
#include "ops/attrs.h"
#include "ops/op_list.h"
#include "core/checked.h"
#include <stdbool.h>
#include <stddef.h>

/* The op enum: GLIA_OP_conv2d, GLIA_OP_relu, ... in the order of the op table (op_list.h), so
 * node->op compares with it directly (no name strings). */
#define GLIA__OP_ENUM(op) GLIA_OP_##op,
typedef enum { GLIA_OPS(GLIA__OP_ENUM) GLIA_OP_COUNT } glia_op_id;

#define GLIA_MAX_INPUTS 16
#define GLIA_NAME_MAX 64
#define GLIA_IA 16 /* integer attributes per node */
#define GLIA_FA 4  /* float attributes per node */
/* Work (elements) below which an OpenMP loop costs more to start than it saves: loops use
 * `#pragma omp parallel for if (work >= GLIA_PAR_MIN)`. */
#define GLIA_PAR_MIN 16384

typedef enum { NODE_INPUT, NODE_PARAM, NODE_BUFFER, NODE_OP } glia_node_kind;

typedef struct glia_node glia_node;
/* One op's kernels on one device, with the contract above (backward adds into the inputs'
 * gradients). compile.c copies the graph's device's pair into each op node (n->kern), so that
 * run.c makes one indirect call per node (src/core/device.h). */
typedef struct glia_kernel {
    glia_status (*forward)(glia_graph *g, glia_node *n);
    void (*backward)(glia_graph *g, glia_node *n);
} glia_kernel;

struct glia_node {
    glia_node_kind kind;
    glia_op_id op;                  /* index into the op table (NODE_OP) */
    char name[GLIA_NAME_MAX];
    int n_in;
    int in[GLIA_MAX_INPUTS];
    glia_shape shape;
    int ia[GLIA_IA];                /* attributes: declared in the op's attrs, slots in attrs.h */
    float fa[GLIA_FA];

    /* sizes from infer */
    size_t ws_bytes;                /* scratch used during forward or backward only */
    size_t saved_bytes;             /* state kept from forward to backward (argmax, masks) */

    /* flags */
    bool trainable;                 /* params */
    float lr_factor;                /* params: the optimiser's lr times this (1 unless set) */
    bool user_requires_grad;        /* inputs */
    bool state;                     /* inputs: carried from one forward to the next (glia_node_set_state) */
    int batch_axis;                 /* inputs: the dim glia_graph_set_batch sets, -1 none (0 by default) */
    bool retained;

    /* set by compile */
    bool needs_grad;                /* gradient flows through this node */
    bool bwd_runs;                  /* its backward is called (needs_grad and an input needs grad) */
    bool fuse_relu;                 /* this op applies the ReLU of its only consumer (compile.c) */
    bool fuse_relu6;                /* ... and that is a ReLU6 */
    bool fused;                     /* a ReLU done by its input's op: forward and backward skip it */
    int rec_at;                     /* recomputed in backward just before node rec_at's backward,
                                     * into rec_val (compile.c); -1: kept from the forward pass */
    float *fwd_val, *rec_val;       /* a recomputed node's forward and backward buffers */
    bool folded;                    /* a binarize whose XNOR consumers binarize its input while
                                     * packing it (compile.c): its forward writes nothing */
    int fold_bn;                    /* conv2d: the batch norm it does in inference mode, with
                                     * folded weights in the workspace (compile.c), else -1 */
    bool bn_in_conv;                /* a batch norm so done: skipped while not training */
    size_t cache_bytes;             /* kept from one forward to the next (compile.c: the packed
                                     * weights of an XNOR node); in the saved block after saved */
    void *cache;
    glia_kernel kern;               /* op nodes: the kernels of the graph's device */
    float *val;                     /* device memory (host memory on the cpu device) */
    float *grad;
    void *saved;
    float *owned_val;               /* inputs, params, buffers: their values in host memory; on a
                                     * device without host memory, val is a copy on the device
                                     * while the graph is compiled (compile.c) */
};

/* op flags: what backward reads, so the memory plan keeps those values alive */
#define OPF_BWD_INPUTS 1u  /* backward reads the inputs' values */
#define OPF_BWD_OUTPUT 2u  /* backward reads the output value */
/* the op can take over a ReLU or ReLU6 that is its only consumer (n->fuse_relu, fuse_relu6):
 * forward writes glia__act(y, act) (a NaN stays NaN), backward first masks its output gradient
 * (glia__act_grad); its value and gradient are then the ReLU node's buffers (compile.c) */
#define OPF_FUSE_RELU 4u

/* 1 when this CPU runs AVX-512F code: the kernels compiled for it (conv_direct.c,
 * pool_max2x2.c, the recurrent cells) are picked at run time, as glia builds without -march
 * (valgrind, for one, reports no AVX-512) */
static inline int glia__cpu_avx512f(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* ReLU, for activation.c and the ops that fuse it: y = max(x, 0), a NaN kept a NaN as in
 * PyTorch; its gradient dy where y > 0, else 0 (0 at x == 0, as PyTorch). Selects, not
 * branches, so that loops over them vectorise. */
static inline float glia__relu(float x) { return x < 0 ? 0.0f : x; }
static inline float glia__relu_grad(float y, float dy) { return y > 0 ? dy : 0.0f; }

/* The activation an op applies to its own output when a ReLU or ReLU6 is fused into it
 * (compile.c): GLIA_ACT_NONE, GLIA_ACT_RELU (max(x, 0)) or GLIA_ACT_RELU6 (min(max(x, 0), 6),
 * activation.c's relu6; gradient dy where 0 < y < 6). glia__act_of(n) reads the node's flags. */
enum { GLIA_ACT_NONE, GLIA_ACT_RELU, GLIA_ACT_RELU6 };
static inline float glia__act(float x, int act) {
    float r = glia__relu(x);
    return act == GLIA_ACT_NONE ? x : act == GLIA_ACT_RELU6 && r > 6.0f ? 6.0f : r;
}
static inline float glia__act_grad(float y, float dy, int act) {
    return act == GLIA_ACT_RELU6 ? (y > 0 && y < 6.0f ? dy : 0.0f) : glia__relu_grad(y, dy);
}
/* a conv's workspace with a folded batch norm (compile.c): its own scratch (ws bytes), then
 * the folded weights (as many as w's) and bias (w's dim 0), at glia__bn_fold_at */
static inline size_t glia__bn_fold_at(size_t ws) { return (ws + 63) / 64 * 64; }
static inline size_t glia__bn_fold_ws(size_t ws, const glia_node *w) {
    return glia__bn_fold_at(ws) + (size_t)(glia_shape_numel(&w->shape) + w->shape.dim[0]) * sizeof(float);
}
#define glia__act_of(n) ((n)->fuse_relu ? ((n)->fuse_relu6 ? GLIA_ACT_RELU6 : GLIA_ACT_RELU) : GLIA_ACT_NONE)

/* An op attribute, declared once in its op's glia_op_def. The value lives in the node's
 * positional arrays (n->ia, or n->fa for GLIA_ATTR_FLOAT) at a slot named in ops/attrs.h, so
 * kernels read it at no cost; the declaration is what glia__add_op fills defaults from and
 * checks values against (errors name the attribute), and what glia__node_attrs_text, glia ops
 * and exporters print. */
typedef enum {
    GLIA_ATTR_INT,
    GLIA_ATTR_BOOL,  /* 0 or 1 */
    GLIA_ATTR_ENUM,  /* min .. max, value v named names[v] */
    GLIA_ATTR_FLOAT, /* finite, in n->fa */
    GLIA_ATTR_INTS   /* a list: ia[slot] = its length (min_len .. max_len), ia[slot+1 ..] values */
} glia_attr_type;
#define GLIA_ATTR_OPEN_MIN 1u /* the range excludes min (float attributes) */
#define GLIA_ATTR_OPEN_MAX 2u /* the range excludes max */
typedef struct glia_attr_def {
    const char *name;
    glia_attr_type type;
    int slot;
    bool required;            /* no default: the builder always gives it */
    double def;               /* the default */
    double min, max;          /* allowed values (each value of a list) */
    unsigned open;            /* GLIA_ATTR_OPEN_MIN | GLIA_ATTR_OPEN_MAX */
    const char *const *names; /* GLIA_ATTR_ENUM */
    int min_len, max_len;     /* GLIA_ATTR_INTS */
} glia_attr_def;

/* Declarations for an op's attrs table (INT_MAX, HUGE_VAL for no upper bound). */
#define GLIA_ATTR_I(nm, sl, d, lo, hi) {nm, GLIA_ATTR_INT, sl, false, d, lo, hi, 0, NULL, 0, 0}
#define GLIA_ATTR_I_REQ(nm, sl, lo, hi) {nm, GLIA_ATTR_INT, sl, true, 0, lo, hi, 0, NULL, 0, 0}
#define GLIA_ATTR_B(nm, sl, d) {nm, GLIA_ATTR_BOOL, sl, false, d, 0, 1, 0, NULL, 0, 0}
#define GLIA_ATTR_E(nm, sl, d, names)                                                             \
    {nm, GLIA_ATTR_ENUM, sl, false, d, 0, sizeof(names) / sizeof(names)[0] - 1, 0, names, 0, 0}
#define GLIA_ATTR_F(nm, sl, d, lo, hi, open)                                                      \
    {nm, GLIA_ATTR_FLOAT, sl, false, d, lo, hi, open, NULL, 0, 0}
#define GLIA_ATTR_LIST(nm, sl, lo, hi, maxlen)                                                    \
    {nm, GLIA_ATTR_INTS, sl, true, 0, lo, hi, 0, NULL, 0, maxlen}
/* .attrs and .n_attrs of a glia_op_def from a static array */
#define GLIA_ATTRS(arr) .attrs = arr, .n_attrs = (int)(sizeof(arr) / sizeof(arr)[0])

typedef struct glia_op_def {
    const char *name;
    const char *summary;
    const char *inputs;
    const char *outputs;
    int min_in, max_in;
    unsigned flags;
    /* Sets n->shape (and ws_bytes, saved_bytes) from the inputs' shapes and attributes. */
    glia_status (*infer)(glia_graph *g, glia_node *n);
    glia_status (*forward)(glia_graph *g, glia_node *n);
    void (*backward)(glia_graph *g, glia_node *n);
    const glia_attr_def *attrs;
    int n_attrs;
    /* true for an input that by nature has no gradient (ids, labels, lengths, running
     * statistics): backward leaves it alone. NULL: every input is differentiable. */
    bool (*no_grad)(const glia_node *n, int k);
} glia_op_def;

struct glia_graph {
    glia_node *nodes;
    int n_nodes, cap_nodes;
    bool training;
    bool compiled;
    bool shapes_only;               /* leaves have shapes, no values (glia_model_load_shapes): it
                                     * can be planned (GLIA_COMPILE_PLAN_ONLY), not run */
    bool planned;                   /* the *_bytes below hold a plan (compiled or plan-only) */
    bool forward_done;              /* a forward pass finished since the last compile (backward
                                     * needs its values) */
    bool check_numerics;            /* glia_graph_set_check_numerics */
    unsigned compile_flags;
    glia_rng rng;
    const struct glia_device *dev;  /* where buffers live and kernels run (device.h; never NULL) */

    /* compiled plan */
    int *order;                     /* topological order (nodes are created in order, so 0..n-1) */
    unsigned char *grad_ready;      /* per backward pass: gradient buffer holds data */
    void *arena;                    /* activations and gradients, reused by lifetime */
    void *workspace;
    void *saved_block;
    float *param_grads;             /* the gradients of parameters and inputs that need one */
    /* a device without host memory: the leaves' copies on it (leaf_bytes[i] > 0: node i's val
     * is in leaf_block, for i < leaf_n), and a host buffer as large as the largest node (seeds,
     * numerics checks) */
    void *leaf_block;
    size_t *leaf_bytes;
    int leaf_n;
    float *stage;
    size_t arena_bytes, arena_no_reuse, ws_bytes, saved_bytes_total, param_bytes;
    int *n_consumers;
    /* the recomputed nodes (rec_at >= 0) by rec_at descending, then index ascending, so that a
     * node's recomputed inputs come first; `recomputing` is true while run.c redoes a forward */
    int *rec, n_rec;
    bool recomputing;
    /* glia_graph_set_profile: seconds in each node's forward [2 i] and backward [2 i + 1]
     * (the zeroing of its inputs' gradients included), for prof_n nodes; NULL when off */
    double *prof;
    int prof_n;
    /* Backward calls grad_hook(grad_hook_ctx, i) for each parameter i that needs a gradient as
     * soon as that gradient is final for the pass (its lowest consuming op has run; those no
     * path reached, after they are zeroed), so that a caller can send it while backward goes
     * on (data-parallel training's buckets, src/train/dist.c); an error stops backward. NULL:
     * none. grad_hook_at: per pass, each node's lowest consuming op, -1 once reported. */
    glia_status (*grad_hook)(void *ctx, int param);
    void *grad_hook_ctx;
    int *grad_hook_at;
};

/* Memory (src/core/alloc.c): every allocation in the library goes through these; release with
 * free(). Test hooks: glia__alloc_fail_at(k) makes the k-th allocation from now (0-based) fail
 * (k < 0: none) and restarts the count glia__alloc_count() returns; glia__alloc_set_limit(b)
 * fails every allocation over b bytes (0: no limit), for fuzzers; glia__alloc_trace(sites, cap)
 * records the call site (an address) of allocation k in sites[k] (NULL: stop recording). */
void *glia__malloc(size_t n);
void *glia__calloc(size_t count, size_t size);
void *glia__realloc(void *p, size_t n);
void *glia__aligned_alloc(size_t align, size_t n);
/* A leaf's values (inputs, parameters, buffers): 64-byte aligned like the plan's blocks, so that
 * the kernels' vector loads of them never straddle a cache line whatever the heap's state */
static inline void *glia__leaf_alloc(size_t bytes) { return glia__aligned_alloc(64, bytes); }
char *glia__strdup(const char *s);
void glia__alloc_fail_at(int64_t k);
int64_t glia__alloc_count(void);
void glia__alloc_set_limit(size_t bytes);
void glia__alloc_trace(void **sites, int64_t cap);

/* threads (threads.c): around an OpenMP loop whose iterations each call BLAS, OpenBLAS runs
 * single-threaded (begin returns its thread count, end restores it) */
int glia__blas_serial_begin(void);
void glia__blas_serial_end(int prev);

/* errors */
glia_status glia__err(glia_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* op table (ops.c) */
extern const glia_op_def *const glia__ops[];
int glia__op_count(void);
/* the op named `name` (files, the command line), -1 if none; code uses glia_op_id */
int glia__op_index(const char *name);
/* the op of a node; GLIA_OP_COUNT for inputs, parameters and buffers (and bad indices) */
glia_op_id glia__node_op(const glia_graph *g, int node);
/* glia_op_def.no_grad for ops whose ids, labels or lengths are input 0, input 1 */
bool glia__no_grad_in0(const glia_node *n, int k);
bool glia__no_grad_in1(const glia_node *n, int k);
/* forward and backward of the ops whose output is their input's values in the same order, in
 * another shape (reshape, time_flatten; shape_ops.c): a copy, and dy added to dx */
glia_status glia__same_values_forward(glia_graph *g, glia_node *n);
void glia__same_values_backward(glia_graph *g, glia_node *n);

/* Attributes (ops.c). glia__op_attr: the declaration of op's attribute held in n->ia[slot]
 * (n->fa[slot] if is_float), NULL if none. glia__attrs_check: checks full ia, fa arrays (fa
 * may be NULL when op has no float attribute) against op's declarations; the error starts
 * with `where` ("conv2d 'c1': attribute stride_h = 0 must be >= 1"), and also rejects a
 * nonzero slot that no attribute declares. glia__attrs_set (glia__add_op): n->ia, n->fa = the
 * declared defaults, then the first n_ia, n_fa values given, then checked. */
const glia_attr_def *glia__op_attr(glia_op_id op, int slot, bool is_float);
/* The attribute `attr` of the op named `op`, by names (the model text's layer keys that set an
 * op attribute take their defaults from it); NULL if there is no such op or attribute. */
const glia_attr_def *glia__op_attr_named(const char *op, const char *attr);
/* a's default as text that reads back to the same value: an enum's name, a number to 9
 * significant digits (enough for every float); "" when a is required. */
void glia__attr_default_text(const glia_attr_def *a, char *buf, size_t len);
glia_status glia__attrs_check(glia_op_id op, const char *where, const int *ia, const float *fa);
glia_status glia__attrs_set(const glia_graph *g, glia_node *n, const int *ia, int n_ia,
                            const float *fa, int n_fa);
/* the attributes of op node n as "stride_h=1 stride_w=1 ..." (enums by name), "" for none;
 * truncated to fit len */
void glia__node_attrs_text(const glia_node *n, char *buf, size_t len);

/* graph helpers for ops */
static inline glia_node *glia__in(glia_graph *g, const glia_node *n, int k) {
    return &g->nodes[n->in[k]];
}
glia_status glia__add_op(glia_graph *g, glia_op_id op, const char *name, int n_in,
                         const int *in, const int *ia, int n_ia, const float *fa, int n_fa,
                         int *out);
glia_status glia__check_node(const glia_graph *g, int node);
/* A forward pass over the ops i with run[i] != 0 only (run NULL: all, glia_graph_forward); the
 * others' outputs that those ops read must be retained (glia_node_retain) and still hold the
 * values of an earlier pass: incremental decoding (seq2seq_decode.c) reruns the decoder's ops
 * of one step while the encoder's output stays from the first. */
glia_status glia__graph_forward_ops(glia_graph *g, const unsigned char *run);
/* "op 'conv2d' node 'conv1'": for error messages */
const char *glia__where(const glia_graph *g, const glia_node *n);
/* An op's infer rejecting an input's shape: GLIA_ESHAPE "<where>: <role> '<name>' has shape
 * <shape>; <need>", need formatted from fmt ("conv2d needs [N, C, H, W]") */
glia_status glia__bad_shape(const glia_graph *g, const glia_node *n, const char *role,
                            const glia_node *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static inline int64_t glia__numel(const glia_node *n) { return glia_shape_numel(&n->shape); }
/* Shape equality. */
bool glia__shape_eq(const glia_shape *a, const glia_shape *b);

/* Files (src/io/atomic_file.c). Every file glia writes goes through "<path>.tmp.<pid>", fsync,
 * rename over path and fsync of the directory, so that path holds the old content or the new,
 * never a mix, whenever a crash comes; on an error the temporary file is removed. */
glia_status glia__write_atomic(const char *path, const void *data, size_t len);
/* The same for data written piece by piece: open, write (a failure is kept and reported by
 * commit), then commit (which frees a) or abort (removes the temporary file, frees a). */
typedef struct glia__atomic glia__atomic;
glia_status glia__atomic_open(const char *path, glia__atomic **out);
void glia__atomic_write(glia__atomic *a, const void *data, size_t len);
glia_status glia__atomic_commit(glia__atomic *a);
void glia__atomic_abort(glia__atomic *a);
/* All or nothing for a group of files (a training epoch's): after stage_begin, this thread's
 * commits write, flush and sync their temporary files but rename nothing; stage_end(ok) then
 * renames them all in commit order when ok (the first failure stops it and removes the rest), or
 * removes them all. */
void glia__atomic_stage_begin(void);
glia_status glia__atomic_stage_end(int ok);
/* A whole file into *data (glia__malloc'd, NUL-terminated after its *len bytes; len may be
 * NULL); errors name the path. _max refuses a file over max bytes. */
glia_status glia__read_file(const char *path, char **data, size_t *len);
glia_status glia__read_file_max(const char *path, size_t max, char **data, size_t *len);
/* The graph of an imported ONNX model, handed over to the caller (onnx_import.c): m keeps its
 * names and steps, and glia_onnx_free(m) no longer frees the graph (a glia_model built on an
 * .onnx file owns it, src/nn/model_onnx.c). */
glia_graph *glia__onnx_release_graph(glia_onnx *m);
/* An IDX file of images (idx.c): a ubyte file's values kept as bytes in *bytes (shape in *shape,
 * *out NULL); any other type as floats times 1/255 in *out (*bytes NULL). */
glia_status glia__idx_load_bytes(const char *path, glia_tensor **out, uint8_t **bytes, glia_shape *shape);
/* A data set of images kept as bytes (value = byte / 255), as glia_dataset_new takes floats:
 * pixels (shape [N, C, H, W] or [N, F]) and labels pass to it, also on failure. */
glia_status glia__dataset_new_bytes(uint8_t *pixels, const glia_shape *shape, glia_tensor *labels,
                                    int classes, const char *const *names, glia_dataset **out);

/* Monotonic seconds from an arbitrary start, for timing (src/core/clock.c). */
double glia__now(void);

#endif
