/* placeholder: being written */
#include "../core/internal.h"
static glia_status ni(glia_graph *g, glia_node *n) { (void)g; (void)n; return glia__err(GLIA_EINVAL, "not implemented"); }
static void nb(glia_graph *g, glia_node *n) { (void)g; (void)n; }
const glia_op_def glia__op_conv2d = {"conv2d", "", "", "", 1, 16, 0, ni, ni, nb};
glia_status glia_conv2d(glia_graph *g, const char *name, int x, int w, int b, const glia_conv2d_params *p, int *out) { (void)p; int in[3] = {x, w, b}; return glia__add_op(g, "conv2d", name, 3, in, NULL, 0, NULL, 0, out); }
