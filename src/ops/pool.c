/* placeholder: being written */
#include "../core/internal.h"
static glia_status ni(glia_graph *g, glia_node *n) { (void)g; (void)n; return glia__err(GLIA_EINVAL, "not implemented"); }
static void nb(glia_graph *g, glia_node *n) { (void)g; (void)n; }
const glia_op_def glia__op_maxpool2d = {"maxpool2d", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_avgpool2d = {"avgpool2d", "", "", "", 1, 16, 0, ni, ni, nb};
const glia_op_def glia__op_global_avgpool = {"global_avgpool", "", "", "", 1, 16, 0, ni, ni, nb};
glia_status glia_maxpool2d(glia_graph *g, const char *name, int x, const glia_pool2d_params *p, int *out) { (void)p; return glia__add_op(g, "maxpool2d", name, 1, &x, NULL, 0, NULL, 0, out); }
glia_status glia_avgpool2d(glia_graph *g, const char *name, int x, const glia_pool2d_params *p, int *out) { (void)p; return glia__add_op(g, "avgpool2d", name, 1, &x, NULL, 0, NULL, 0, out); }
glia_status glia_global_avgpool(glia_graph *g, const char *name, int x, int *out) { return glia__add_op(g, "global_avgpool", name, 1, &x, NULL, 0, NULL, 0, out); }
