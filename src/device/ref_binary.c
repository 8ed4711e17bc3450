/* ref_binary.c: reference kernel of binarize (the definition is src/ops/binarize.c's), in double:
 *   s_g = mean_i |x_gi| (or 1),  y_gi = s_g (x_gi < 0 ? -1 : +1)
 *   dx_gj += s_g dy_gj [|x_gj| <= clip] + sign(x_gj) (1/m) sum_i dy_gi sign(x_gi)   (if scaled) */
#include "ref.h"
#include <math.h>

static double sgn(float v) { return v < 0 ? -1.0 : 1.0; }

/* s_g of slice x[0 .. m) */
static double slice_scale(const glia_node *n, const float *x, int64_t m) {
    if (!n->ia[BIN_SCALED]) return 1.0;
    double s = 0;
    for (int64_t i = 0; i < m; i++) s += fabs((double)x[i]);
    return s / (double)m;
}

static glia_status bin_forward(glia_graph *g, glia_node *n) {
    const float *x = ref_x(g, n, 0);
    int64_t G = n->shape.dim[0], m = glia__numel(n) / G;
    for (int64_t gi = 0; gi < G; gi++) {
        double s = slice_scale(n, x + gi * m, m);
        for (int64_t i = 0; i < m; i++) n->val[gi * m + i] = (float)(s * sgn(x[gi * m + i]));
    }
    return GLIA_OK;
}

static void bin_backward(glia_graph *g, glia_node *n) {
    float *dx = ref_dx(g, n, 0);
    if (!dx) return;
    const float *x = ref_x(g, n, 0), *dy = n->grad;
    int64_t G = n->shape.dim[0], m = glia__numel(n) / G;
    const double clip = n->fa[BIN_CLIP];
    for (int64_t gi = 0; gi < G; gi++) {
        const float *xg = x + gi * m, *dyg = dy + gi * m;
        double s = slice_scale(n, xg, m), t = 0;
        for (int64_t i = 0; i < m; i++) t += dyg[i] * sgn(xg[i]);
        t /= (double)m;
        for (int64_t j = 0; j < m; j++) {
            double d = fabs((double)xg[j]) <= clip ? s * dyg[j] : 0.0;
            if (n->ia[BIN_SCALED]) d += sgn(xg[j]) * t;
            dx[gi * m + j] += (float)d;
        }
    }
}

const glia_kernel glia__ref_binarize = {bin_forward, bin_backward};
