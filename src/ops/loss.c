/* placeholder: being written */
#include "../core/internal.h"
static glia_status ni(glia_graph *g, glia_node *n) { (void)g; (void)n; return glia__err(GLIA_EINVAL, "not implemented"); }
static void nb(glia_graph *g, glia_node *n) { (void)g; (void)n; }
const glia_op_def glia__op_softmax_cross_entropy = {"softmax_cross_entropy", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_mse_loss = {"mse_loss", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_bce_with_logits = {"bce_with_logits", "", "", "", 1, 16, 0, ni, ni, nb};
glia_status glia_softmax_cross_entropy(glia_graph *g, const char *name, int logits, int labels, int *out) { int in[2] = {logits, labels}; return glia__add_op(g, "softmax_cross_entropy", name, 2, in, NULL, 0, NULL, 0, out); }
glia_status glia_mse_loss(glia_graph *g, const char *name, int pred, int target, int *out) { int in[2] = {pred, target}; return glia__add_op(g, "mse_loss", name, 2, in, NULL, 0, NULL, 0, out); }
glia_status glia_bce_with_logits(glia_graph *g, const char *name, int logits, int target, int *out) { int in[2] = {logits, target}; return glia__add_op(g, "bce_with_logits", name, 2, in, NULL, 0, NULL, 0, out); }
