/* onnx_control.c: ONNX control flow at load time (onnx_internal.h).
 *
 * glia's graph is static, so an If is inlined: its condition must be known when the model is
 * imported, and the taken branch's nodes are then imported in place of the If, its outputs
 * becoming the If's. Most exporters' Ifs are of this kind: tests on shapes (PyTorch's
 * `if x.dim() == 3`, Silero's squeezes), which fold from the input shapes given at load, and
 * tests on an integer input such as a sample rate, which the caller gives a value at load
 * (--const sr=16000 on the command line, [net] onnx_const; glia_onnx_input.values). An If whose condition is computed from
 * run-time data is an error naming it. The comparisons and boolean ops that make conditions
 * (Equal, Less, Greater, LessOrEqual, GreaterOrEqual, And, Or, Xor, Not) fold on constants. */
#include "io/onnx_internal.h"
#include <stdlib.h>
#include <string.h>

size_t ox_count_nodes(const Onnx__GraphProto *g) {
    size_t n = 0;
    for (size_t i = 0; g && i < g->n_node; i++) {
        const Onnx__NodeProto *nd = g->node[i];
        n++;
        for (size_t k = 0; nd && k < nd->n_attribute; k++) {
            const Onnx__AttributeProto *a = nd->attribute[k];
            if (a && a->g) n += ox_count_nodes(a->g);
        }
    }
    return n;
}

glia_status ox_op_logic(ox_ctx *c) {
    static const struct { const char *op; char code; } bin[] = {
        {"Equal", '='}, {"Less", '<'}, {"Greater", '>'}, {"LessOrEqual", 'l'},
        {"GreaterOrEqual", 'g'}, {"And", '&'}, {"Or", '|'}, {"Xor", '^'}};
    const char *op = c->node->op_type;
    ox_value *a, *b = NULL;
    glia_status s = ox_in(c, 0, &a);
    bool is_not = !strcmp(op, "Not");
    if (s || (!is_not && (s = ox_in(c, 1, &b)))) return s;
    if (!a || (!is_not && !b)) return ox_fail(c, GLIA_EINVAL, "an input is missing");
    if (!a->is_const || (b && !b->is_const)) { /* an error for the node that reads it */
        ox_value *o;
        if ((s = ox_add(c, c->node->output[0], &o))) return s;
        o->why = "a comparison or logic of run-time values (glia has no boolean tensors, and an If "
                 "on it is data-dependent, which a static graph cannot inline)";
        return GLIA_OK;
    }
    if (is_not) {
        int64_t n = glia_shape_numel(&a->shape);
        double *v = glia__malloc((size_t)(n ? n : 1) * sizeof *v);
        if (!v) return glia__err(GLIA_ENOMEM, "out of memory");
        for (int64_t i = 0; i < n; i++) v[i] = a->v[i] == 0; /* not(x) */
        return ox_add_const(c, c->node->output[0], ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, &a->shape, v);
    }
    for (size_t i = 0; i < sizeof bin / sizeof bin[0]; i++)
        if (!strcmp(op, bin[i].op)) return ox_fold_binary(c, bin[i].code, a, b);
    return ox_unsupported(c, "op '%s' is not supported", op);
}

/* value `name` = value `from` (a node, a constant, or both), as Identity makes it */
static glia_status alias(ox_ctx *c, const char *from, const char *name) {
    ox_value *f = ox_find(c, from), *o;
    if (!f) return ox_fail(c, GLIA_EINVAL, "the branch never computes its output '%s'", from);
    double *v = NULL;
    int64_t n = glia_shape_numel(&f->shape);
    if (f->is_const) {
        if (!(v = glia__malloc((size_t)(n ? n : 1) * sizeof *v))) return glia__err(GLIA_ENOMEM, "out of memory");
        if (n) memcpy(v, f->v, (size_t)n * sizeof *v);
    }
    glia_status s = ox_add(c, name, &o);
    if (s) {
        free(v);
        return s;
    }
    f = ox_find(c, from); /* ox_add may have moved the values */
    char *keep = o->name;
    *o = *f;
    o->name = keep;
    o->v = v;
    o->init = false;
    return GLIA_OK;
}

glia_status ox_op_if(ox_ctx *c) {
    ox_value *cond;
    glia_status s = ox_in(c, 0, &cond);
    if (s) return s;
    if (!cond) return ox_fail(c, GLIA_EINVAL, "input 'cond' is missing");
    if (!cond->is_const)
        return ox_unsupported(c, "the condition '%s' is computed at run time: glia inlines an If "
                              "whose condition is known at load time (from constants, shapes, and "
                              "inputs given values: --const NAME=VALUE)", cond->name);
    if (glia_shape_numel(&cond->shape) != 1)
        return ox_fail(c, GLIA_EINVAL, "the condition '%s' has %lld values, not one", cond->name,
                       (long long)glia_shape_numel(&cond->shape));
    const char *which = cond->v[0] != 0 ? "then_branch" : "else_branch";
    const Onnx__AttributeProto *a = ox_attr(c, which);
    if (!a || !a->g) return ox_fail(c, GLIA_EINVAL, "attribute '%s' (a graph) is missing", which);
    const Onnx__GraphProto *b = a->g;
    if (b->n_input) return ox_unsupported(c, "a %s with %zu inputs", which, b->n_input);
    if (b->n_output != c->node->n_output)
        return ox_fail(c, GLIA_EINVAL, "the %s has %zu outputs, the If %zu", which, b->n_output, c->node->n_output);
    if (b->n_sparse_initializer) return ox_unsupported(c, "sparse initialisers in the %s", which);
    for (size_t i = 0; i < b->n_initializer; i++) { /* the branch's own constants */
        const Onnx__TensorProto *t = b->initializer[i];
        glia_shape sh;
        double *v;
        if (!t->name) return ox_fail(c, GLIA_EINVAL, "an initialiser of the %s without a name", which);
        if ((s = ox_tensor(c, t, &sh, &v)) || (s = ox_add_const(c, t->name, t->data_type, &sh, v))) return s;
        c->vals[c->n_vals - 1].init = true;
    }
    if (c->if_depth >= 64) return ox_unsupported(c, "Ifs nested more than 64 deep");
    const Onnx__NodeProto *self = c->node;
    c->if_depth++;
    for (size_t i = 0; i < b->n_node && !s; i++) {
        c->node = b->node[i];
        s = ox_import_node(c);
    }
    c->if_depth--;
    if (s) return s;
    c->node = self;
    for (size_t k = 0; k < b->n_output; k++) {
        const char *from = b->output[k] ? b->output[k]->name : NULL;
        if (!from) return ox_fail(c, GLIA_EINVAL, "an output of the %s without a name", which);
        if (self->output[k][0] && (s = alias(c, from, self->output[k]))) return s;
    }
    return GLIA_OK;
}
