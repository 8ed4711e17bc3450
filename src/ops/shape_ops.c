/* placeholder: being written */
#include "../core/internal.h"
static glia_status ni(glia_graph *g, glia_node *n) { (void)g; (void)n; return glia__err(GLIA_EINVAL, "not implemented"); }
static void nb(glia_graph *g, glia_node *n) { (void)g; (void)n; }
const glia_op_def glia__op_concat = {"concat", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_slice = {"slice", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_reshape = {"reshape", "", "", "", 1, 16, 0, ni, ni, nb};
