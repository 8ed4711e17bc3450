/* gradcheck.c: finite-difference check of any gradient the graph computes (as KANN's
 * kad_check_grad and Caffe's GradientChecker).
 *
 *   L(theta) = sum_j seed_j * y_j(theta),  seed random in [-1, 1]
 *   numeric dL/dtheta_i = (L(theta_i + eps) - L(theta_i - eps)) / (2 eps), summed in double
 *
 * At a kink (ReLU at 0, a max with a tie) the two one-sided differences disagree; such elements
 * are skipped, the way Caffe's checker skips a window around kinks. Values and gradients are read
 * and written through the graph's device, so any device's kernels can be checked. */
#include "device.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* yv: room for y's values */
static glia_status loss_at(glia_graph *g, int y, const float *seed, glia_rng rng0, float *yv,
                           double *out) {
    g->rng = rng0; /* same dropout masks every time */
    glia_status s = glia_graph_forward(g);
    if (s) return s;
    const glia_node *n = &g->nodes[y];
    if ((s = glia__dev_read(g, yv, n->val, (size_t)glia__numel(n) * sizeof(float)))) return s;
    double L = 0;
    for (int64_t j = 0; j < glia__numel(n); j++) L += (double)seed[j] * yv[j];
    *out = L;
    return GLIA_OK;
}

/* element i of leaf w's value: read (set 0) or written (set 1) */
static glia_status elem(glia_graph *g, glia_node *w, int64_t i, float *v, int set) {
    return set ? glia__dev_write(g, w->val + i, v, sizeof *v) : glia__dev_read(g, v, w->val + i, sizeof *v);
}

glia_status glia_gradcheck(glia_graph *g, int y, int wrt, float eps, double *max_rel_err,
                           int64_t *n_checked) {
    glia_status s;
    if ((s = glia__check_node(g, y)) || (s = glia__check_node(g, wrt))) return s;
    glia_node *w = &g->nodes[wrt];
    if (w->kind == NODE_OP)
        return glia__err(GLIA_EINVAL, "gradcheck: '%s' is computed by an op; check an input or a "
                         "parameter", w->name);
    if (w->kind == NODE_INPUT && (s = glia_node_requires_grad(g, wrt, 1))) return s;
    if (w->kind == NODE_PARAM && (s = glia_node_set_trainable(g, wrt, 1))) return s;
    if (!g->compiled || !(g->compile_flags & GLIA_COMPILE_BACKWARD))
        if ((s = glia_graph_compile(g, GLIA_COMPILE_BACKWARD))) return s;
    int64_t ny = glia__numel(&g->nodes[y]), nw = glia__numel(w);
    float *seed = glia__malloc((size_t)ny * sizeof *seed);
    float *analytic = glia__malloc((size_t)nw * sizeof *analytic);
    float *yv = glia__malloc((size_t)ny * sizeof *yv);
    if (!seed || !analytic || !yv) {
        free(seed);
        free(analytic);
        free(yv);
        return glia__err(GLIA_ENOMEM, "gradcheck: out of memory");
    }
    glia_rng r;
    glia_rng_seed(&r, 1234, 7);
    for (int64_t j = 0; j < ny; j++) seed[j] = 2 * glia_rng_uniform(&r) - 1;
    glia_rng rng0 = g->rng;
    double L0;
    if ((s = loss_at(g, y, seed, rng0, yv, &L0))) goto done;
    if ((s = glia_graph_backward(g, y, seed, 0))) goto done;
    if ((s = glia__dev_read(g, analytic, w->grad, (size_t)nw * sizeof *analytic))) goto done;

    double worst = 0;
    int64_t checked = 0;
    for (int64_t i = 0; i < nw; i++) {
        float orig, up, down;
        double lp, lm;
        if ((s = elem(g, w, i, &orig, 0))) goto done;
        up = orig + eps, down = orig - eps;
        if ((s = elem(g, w, i, &up, 1)) || (s = loss_at(g, y, seed, rng0, yv, &lp))) goto done;
        if ((s = elem(g, w, i, &down, 1)) || (s = loss_at(g, y, seed, rng0, yv, &lm))) goto done;
        if ((s = elem(g, w, i, &orig, 1))) goto done;
        /* the step actually taken in float */
        double hp = (double)(orig + eps) - orig, hm = orig - (double)(orig - eps);
        double num = (lp - lm) / (hp + hm);
        double right = (lp - L0) / hp, left = (L0 - lm) / hm;
        double scale = fabs(right) + fabs(left) + 1e-2;
        if (fabs(right - left) > 0.1 * scale) continue; /* a kink between theta-eps and theta+eps */
        double err = fabs(num - analytic[i]) / (fabs(num) + fabs(analytic[i]) + 1e-2);
        if (err > worst) worst = err;
        checked++;
    }
    g->rng = rng0;
    if (max_rel_err) *max_rel_err = worst;
    if (n_checked) *n_checked = checked;
done:
    free(seed);
    free(analytic);
    free(yv);
    return s;
}
