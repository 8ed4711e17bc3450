/* onnx_import_glia.c: glia's own ops in an ONNX file, the calls of model-local functions of
 * domain "ai.glia" that glia export writes for the ops ONNX has no op for (onnx_export_ops.c).
 * The call names the op (attribute glia_op) and holds its attributes (ia: the integer slots,
 * fa: the float slots, as glia's node keeps them); its inputs are the op's inputs in order
 * (initialisers become parameters under their names). The op is built as it was, so the
 * function's body (what other runtimes run) is not read: only the ops export writes so, their
 * declared attributes checked as a model file's are (glia__attrs_set), the shapes by the op's
 * infer. */
#include "onnx_internal.h"
#include <limits.h>
#include <string.h>

glia_status ox_glia_op(ox_ctx *c) {
    const Onnx__NodeProto *n = c->node;
    char opname[64];
    int64_t ia64[GLIA_IA];
    int ia[GLIA_IA] = {0}, n_ia, in[GLIA_MAX_INPUTS], out;
    float fa[GLIA_FA] = {0};
    glia_status s;
    for (size_t k = 0; k < n->n_attribute; k++) {
        const char *an = n->attribute[k]->name ? n->attribute[k]->name : "";
        if (strcmp(an, "glia_op") && strcmp(an, "ia") && strcmp(an, "fa"))
            return ox_unsupported(c, "attribute '%s'", an);
    }
    if ((s = ox_attr_s(c, "glia_op", "", opname, sizeof opname)) ||
        (s = ox_attr_ints(c, "ia", ia64, GLIA_IA, &n_ia)))
        return s;
    /* the ops glia export writes as functions only; and of the slots, the op's declared
     * attributes only (the others stay 0, as the op's builder leaves them), each checked */
    static const char *const ops[] = {"binarize", "embedding_bag", "local2d", "attention", "clockwork",
                                      "scrn", "seq_last", "seq_pool", "maxout", "conv2d", "dense"};
    int op = -1;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(opname, ops[i])) op = glia__op_index(opname);
    if (op < 0)
        return ox_unsupported(c, "glia op '%s': of its own ops glia reads those that glia export writes as "
                              "functions (binarize, embedding_bag, local2d, attention, clockwork, scrn, "
                              "seq_last, seq_pool, maxout, XNOR conv2d and dense)", opname);
    const Onnx__AttributeProto *fa_at = ox_attr(c, "fa");
    if (fa_at && (fa_at->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS || fa_at->n_floats > GLIA_FA))
        return ox_fail(c, GLIA_EINVAL, "attribute 'fa' is not a list of at most %d floats", GLIA_FA);
    const glia_op_def *d = glia__ops[op];
    for (int i = 0; i < d->n_attrs; i++) {
        int k = d->attrs[i].slot;
        if (d->attrs[i].type == GLIA_ATTR_FLOAT) {
            if (fa_at && (size_t)k < fa_at->n_floats) fa[k] = fa_at->floats[k];
        } else if (k < n_ia) {
            if (ia64[k] < INT_MIN || ia64[k] > INT_MAX) return ox_fail(c, GLIA_EINVAL, "attribute 'ia': value %d out of range", k);
            ia[k] = (int)ia64[k];
        }
    }
    if (n->n_input > GLIA_MAX_INPUTS) return ox_fail(c, GLIA_EINVAL, "%zu inputs", n->n_input);
    for (size_t k = 0; k < n->n_input; k++)
        if ((s = ox_in_node(c, (int)k, true, &in[k]))) return s;
    char nm[GLIA_NAME_MAX];
    ox_node_name(c, n->output[0], nm, sizeof nm);
    if ((s = glia__add_op(c->g, (glia_op_id)op, nm, (int)n->n_input, in, ia, GLIA_IA, fa, GLIA_FA, &out)))
        return ox_fail(c, s, "%s", glia_last_error());
    ox_value *v;
    if ((s = ox_add(c, n->output[0], &v))) return s;
    v->node = out;
    return GLIA_OK;
}
