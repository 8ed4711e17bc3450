/* placeholder: being written */
#include "../core/internal.h"
static glia_status ni(glia_graph *g, glia_node *n) { (void)g; (void)n; return glia__err(GLIA_EINVAL, "not implemented"); }
static void nb(glia_graph *g, glia_node *n) { (void)g; (void)n; }
const glia_op_def glia__op_lrn = {"lrn", "", "", "", 1, 16, 0, ni, ni, nb};
glia_status glia_lrn(glia_graph *g, const char *name, int x, int size, float alpha, float beta, float k, int *out) { (void)size; (void)alpha; (void)beta; (void)k; return glia__add_op(g, "lrn", name, 1, &x, NULL, 0, NULL, 0, out); }
