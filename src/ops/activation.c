/* placeholder: being written */
#include "../core/internal.h"
static glia_status ni(glia_graph *g, glia_node *n) { (void)g; (void)n; return glia__err(GLIA_EINVAL, "not implemented"); }
static void nb(glia_graph *g, glia_node *n) { (void)g; (void)n; }
const glia_op_def glia__op_relu = {"relu", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_leaky_relu = {"leaky_relu", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_elu = {"elu", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_sigmoid = {"sigmoid", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_tanh = {"tanh", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_linear = {"linear", "", "", "", 1, 16, 0, ni, ni, nb};
