/* placeholder: being written */
#include "../core/internal.h"
static glia_status ni(glia_graph *g, glia_node *n) { (void)g; (void)n; return glia__err(GLIA_EINVAL, "not implemented"); }
static void nb(glia_graph *g, glia_node *n) { (void)g; (void)n; }
const glia_op_def glia__op_dropout = {"dropout", "", "", "", 1, 16, 0, ni, ni, nb};
glia_status glia_dropout(glia_graph *g, const char *name, int x, float p, int *out) { (void)p; return glia__add_op(g, "dropout", name, 1, &x, NULL, 0, NULL, 0, out); }
