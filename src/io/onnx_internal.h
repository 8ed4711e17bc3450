/* onnx_internal.h: what the ONNX importer's files share (onnx_import.c: the graph walk and the
 * ops that become glia ops; onnx_value.c: tensors, constants and the folding of shape
 * arithmetic at load time).
 *
 * Every ONNX value name maps to one ox_value: a glia node (node >= 0), a constant known at
 * load time (is_const: initialisers, Constant nodes, inputs given with values, and whatever
 * an op computes from constants only, such as Shape -> Gather -> Unsqueeze -> Concat), or
 * both once a constant has been made a node because a glia op reads it. */
#ifndef GLIA_ONNX_INTERNAL_H
#define GLIA_ONNX_INTERNAL_H
#include "core/internal.h"
#include "onnx/onnx.pb-c.h"

typedef struct ox_value {
    char *name;
    int node;           /* glia node, -1 while only a constant */
    bool is_const;      /* values known at load time (v) */
    bool init;          /* an initialiser: a parameter (trainable) when an op reads it as a tensor */
    int dtype;          /* ONNX TensorProto data type of the constant (or of the input) */
    glia_shape shape;   /* the constant's shape (a node's is the graph's) */
    double *v;          /* constant values: doubles hold every float and int64 below 2^53 */
    bool swapped12;     /* the node holds this value with dimensions 1 and 2 swapped (a
                         * bidirectional recurrent Y [T, dirs, N, H] held as [T, N, dirs, H]):
                         * only Transpose(0, 2, 1, 3) may read it */
    const char *why;    /* non-NULL: an output glia does not compute; reading it is unsupported */
    bool int_cast;      /* a run-time float value Cast to an integer type: the node holds the
                         * floats (not truncated), so only readers of integer ids and lengths
                         * (Gather's indices, a recurrent op's sequence_lens) may read it */
    bool view;          /* the node holds this value's elements in order but in another shape
                         * (`shape`): glia's reshape keeps the first (batch) dimension, so a
                         * reshape that changes it, or a product over [T, N, K] rows, gives a
                         * view; element-wise ops and reshapes read views directly */
} ox_value;

typedef struct ox_ctx {
    glia_graph *g;
    const char *file;          /* for messages */
    int opset;
    ox_value *vals;
    int n_vals, cap_vals;
    const Onnx__NodeProto *node; /* the node being imported, for messages */
    int *unsupported;          /* set to 1 on an unsupported op, attribute or type */
    struct glia_onnx *model;   /* the model being built (its steps: ox_import_node) */
    int if_depth;              /* Ifs being inlined, one inside the other */
} ox_ctx;

/* Imports node c->node (folded, or into glia nodes recorded as a step of the model); what an
 * inlined If (onnx_control.c) calls for each node of its branch. */
glia_status ox_import_node(ox_ctx *c);

/* An error about the current node: "onnx FILE: node 'NAME' (OP): ...". ox_unsupported also
 * sets *unsupported, so that a conformance run counts the test as skipped, not failed. */
glia_status ox_fail(ox_ctx *c, glia_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
glia_status ox_unsupported(ox_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* a constant's value as an integer: clamped to +-2^62 (an out-of-range conversion is undefined),
 * NaN as 0 */
static inline int64_t ox_i64(double d) {
    const double lim = 4611686018427387904.0;
    return d != d ? 0 : d >= lim ? (int64_t)1 << 62 : d <= -lim ? -((int64_t)1 << 62) : (int64_t)d;
}

/* values (ox_add and ox_add_const may move c->vals: pointers to values do not survive them) */
ox_value *ox_find(ox_ctx *c, const char *name);
/* a new value (the name must be new: ONNX graphs assign each name once) */
glia_status ox_add(ox_ctx *c, const char *name, ox_value **out);
/* a new constant value taking ownership of v (freed on error) */
glia_status ox_add_const(ox_ctx *c, const char *name, int dtype, const glia_shape *s, double *v);
/* a name for value `name` that fits GLIA_NAME_MAX and is not yet in the graph */
void ox_node_name(ox_ctx *c, const char *name, char *buf, size_t len);
/* node input k as a glia node (a constant becomes a parameter if it is an initialiser and
 * as_param, else a buffer); errors name the node */
glia_status ox_in_node(ox_ctx *c, int k, bool as_param, int *out);
/* node input k if present (not omitted with ""), NULL otherwise; missing names are errors */
glia_status ox_in(ox_ctx *c, int k, ox_value **out);
/* the shape of a value, node or constant */
glia_shape ox_shape(ox_ctx *c, const ox_value *v);
/* an ONNX tensor into doubles (data types float, double, the integers, bool) */
glia_status ox_tensor(ox_ctx *c, const Onnx__TensorProto *t, glia_shape *s, double **v);

/* attributes of the current node: defaults when absent; type mismatches are errors */
const Onnx__AttributeProto *ox_attr(ox_ctx *c, const char *name);
glia_status ox_attr_i(ox_ctx *c, const char *name, int64_t def, int64_t *out);
glia_status ox_attr_f(ox_ctx *c, const char *name, float def, float *out);
/* ints: *n = -1 when absent; at most max values */
glia_status ox_attr_ints(ox_ctx *c, const char *name, int64_t *v, int max, int *n);
glia_status ox_attr_s(ox_ctx *c, const char *name, const char *def, char *buf, size_t len);

/* onnx_import.c's helpers for ops kept in files of their own: output k is glia node `node`;
 * the glia name of output k; a builder's failure wrapped with the node's name; a constant
 * input's values (NULL when absent; computed at run time: unsupported) */
glia_status ox_set_out(ox_ctx *c, int k, int node);
const char *ox_out_name(ox_ctx *c, int k, char *buf, size_t len);
glia_status ox_built(ox_ctx *c, glia_status s);
glia_status ox_in_const(ox_ctx *c, int k, const char *what, ox_value **out);
/* ConvTranspose, and Resize / Upsample (onnx_resample.c) */
glia_status ox_op_conv_transpose(ox_ctx *c);
glia_status ox_op_resize(ox_ctx *c);

/* The shape of Reshape's output: 0 copies the input's dimension (unless allowzero), one -1 is
 * inferred from the element count. */
glia_status ox_reshape_dims(ox_ctx *c, const glia_shape *in, const int64_t *want, int n,
                            int allowzero, glia_shape *out);
/* Squeeze/Unsqueeze/ReduceMean axes: an attribute before opset 13 (ReduceMean: to 17), an
 * input (a constant) from then on; *n = -1 when absent */
glia_status ox_axes(ox_ctx *c, int64_t *ax, int max, int *n);
/* the output shape of Squeeze (squeeze true) or Unsqueeze */
glia_status ox_squeeze_shape(ox_ctx *c, const glia_shape *in, bool squeeze, glia_shape *out);

/* Folds the current node when all its inputs are constants and it is shape arithmetic
 * (Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Reshape, Add, Sub, Mul, Div, Slice,
 * ConstantOfShape, Constant, Identity, Flatten, Range...). *done = 1 when folded. Shape folds
 * whatever its input, from the graph's static shape. */
glia_status ox_fold(ox_ctx *c, int *done);
/* out = a (op) b with NumPy broadcasting, on constants: op '+', '-', '*', '/' (the data type of
 * a), or '=', '<', '>', 'l' (<=), 'g' (>=), '&', '|', '^' (booleans) */
glia_status ox_fold_binary(ox_ctx *c, char op, const ox_value *a, const ox_value *b);

/* onnx_control.c: If with a condition known at load time, inlined (the taken branch's nodes
 * imported in place); Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor, Not on
 * constants (folded: glia has no boolean tensors, so on run-time values they are unsupported) */
glia_status ox_op_if(ox_ctx *c);
glia_status ox_op_logic(ox_ctx *c);
/* onnx_pad.c: y = x[..., idx[0..n-1], ...] along `axis` (runs of consecutive indices as one
 * slice); name: the result's (NULL: made up) */
glia_status ox_take(ox_ctx *c, int x, int axis, const int64_t *idx, int64_t n, const char *name, int *out);
/* x padded along `axis` by `before` and `after` copies of its own values, mirrored
 * without the edge (reflect) or repeating the edge (edge); name: the result's */
glia_status ox_pad_edges(ox_ctx *c, int x, int axis, int64_t before, int64_t after, bool reflect,
                         const char *name, int *out);
/* nodes of a graph, those of its subgraphs (If's branches) included */
size_t ox_count_nodes(const Onnx__GraphProto *g);

/* A TensorProto file (ONNX's test data: input_0.pb, output_0.pb) as doubles; *name (may be
 * NULL) is the tensor's name, malloc'd, NULL if it has none. For the tests and glia run. */
glia_status glia__onnx_tensor_file(const char *path, char **name, int *dtype, glia_shape *s,
                                   double **v);
/* A call of one of glia's own ops (domain "ai.glia", written by glia export for the ops ONNX
 * has no op for: onnx_import_glia.c) as that op. */
#define GLIA_ONNX_DOMAIN "ai.glia"
glia_status ox_glia_op(ox_ctx *c);
#endif
