/* placeholder: being written */
#include "../core/internal.h"
static glia_status ni(glia_graph *g, glia_node *n) { (void)g; (void)n; return glia__err(GLIA_EINVAL, "not implemented"); }
static void nb(glia_graph *g, glia_node *n) { (void)g; (void)n; }
const glia_op_def glia__op_batchnorm = {"batchnorm", "", "", "", 1, 16, 0, ni, ni, nb};
glia_status glia_batchnorm(glia_graph *g, const char *name, int x, int gamma, int beta, int running_mean, int running_var, float eps, float momentum, int *out) { (void)eps; (void)momentum; int in[5] = {x, gamma, beta, running_mean, running_var}; return glia__add_op(g, "batchnorm", name, 5, in, NULL, 0, NULL, 0, out); }
