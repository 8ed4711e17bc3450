/* onnx_export_internal.h: what the ONNX exporter's files share (onnx_export.c: the model and
 * the ops with a one-to-one ONNX mapping; onnx_export_ops.c: the glia ops that ONNX has no op
 * for, written as calls of model-local functions).
 *
 * Every piece of the message is allocated in ex_ctx and freed together. The helpers keep short
 * names in the exporter's files; the macros give them library-private symbols. */
#ifndef GLIA_ONNX_EXPORT_INTERNAL_H
#define GLIA_ONNX_EXPORT_INTERNAL_H
#include "core/internal.h"
#include "onnx/onnx.pb-c.h"
#include "onnx_internal.h"

typedef struct ex_ctx {
    void **blocks;
    int n_blocks, cap_blocks;
    bool oom;
    Onnx__NodeProto **nodes; /* the graph's nodes, or a function's body while it is written */
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    Onnx__FunctionProto **fns; /* model-local functions (domain GLIA_ONNX_DOMAIN) */
    size_t n_fns, cap_fns;
    int tmp; /* counter for names of extra values */
} ex_ctx;

#define ex_alloc glia__ex_alloc
#define ex_str glia__ex_str
#define ex_fmt glia__ex_fmt
#define ex_push glia__ex_push
#define attr_base glia__ex_attr_base
#define attr_i glia__ex_attr_i
#define attr_f glia__ex_attr_f
#define attr_s glia__ex_attr_s
#define attr_ints glia__ex_attr_ints
#define attr_strings glia__ex_attr_strings
#define add_node glia__ex_add_node
#define add_node_n glia__ex_add_node_n
#define tensor glia__ex_tensor

void *ex_alloc(ex_ctx *c, size_t n);
char *ex_str(ex_ctx *c, const char *s);
char *ex_fmt(ex_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
bool ex_push(ex_ctx *c, void ***arr, size_t *n, size_t *cap, void *item);
Onnx__AttributeProto *attr_base(ex_ctx *c, const char *name, Onnx__AttributeProto__AttributeType t);
Onnx__AttributeProto *attr_i(ex_ctx *c, const char *name, int64_t v);
Onnx__AttributeProto *attr_f(ex_ctx *c, const char *name, float v);
Onnx__AttributeProto *attr_s(ex_ctx *c, const char *name, const char *v);
Onnx__AttributeProto *attr_ints(ex_ctx *c, const char *name, int n, const int64_t *v);
Onnx__AttributeProto *attr_strings(ex_ctx *c, const char *name, int n, const char *const *v);
/* a node: op, inputs (NULL-terminated; "" an omitted optional one), outputs (NULL-terminated),
 * attributes (NULL-terminated) */
bool add_node_n(ex_ctx *c, const char *op, const char *name, const char *const *in,
                const char *const *outs, Onnx__AttributeProto *const *attrs);
/* the same with one output */
bool add_node(ex_ctx *c, const char *op, const char *name, const char *const *in, const char *out,
              Onnx__AttributeProto *const *attrs);
/* a tensor: float data (f) or int64 data (i) */
Onnx__TensorProto *tensor(ex_ctx *c, const char *name, int ndim, const int64_t *dims, const float *f,
                          const int64_t *i);

/* glia's own ops in exported files: domain GLIA_ONNX_DOMAIN (onnx_internal.h), version 1 */
/* Writes glia op n as a call of a model-local function (onnx_export_ops.c) when glia knows how
 * to write its body in ONNX ops: *done = false for an op it does not know. */
glia_status glia__onnx_export_fn(ex_ctx *c, glia_graph *g, const glia_node *n, bool *done);
#endif
