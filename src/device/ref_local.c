/* ref_local.c: the reference kernels of local2d (the locally connected layer), from the
 * definition in src/ops/local2d.c, written the other way round where it can be: dx gathers, for
 * each input pixel, the taps that read it (the cpu kernel scatters them). Sums in double.
 *   y[n,o,oh,ow] = b[o,oh,ow] + sum_{c,i,j} w[oh OW + ow, o, (c kh + i) kw + j]
 *                                          x[n, c, oh sh - ph + i, ow sw - pw + j]   (0 outside) */
#include "ref.h"

typedef struct {
    int64_t N, C, H, W, O, OH, OW, K;
    int kh, kw, sh, sw, ph, pw;
} ldims;

static ldims dims_of(glia_graph *g, const glia_node *n) {
    const glia_shape *x = &glia__in(g, n, 0)->shape, *w = &glia__in(g, n, 1)->shape;
    ldims d = {x->dim[0], x->dim[1], x->dim[2], x->dim[3], w->dim[1], n->shape.dim[2], n->shape.dim[3], w->dim[2],
               n->ia[LOCAL_KERNEL_H], n->ia[LOCAL_KERNEL_W], n->ia[LOCAL_STRIDE_H], n->ia[LOCAL_STRIDE_W],
               n->ia[LOCAL_PAD_H], n->ia[LOCAL_PAD_W]};
    return d;
}

/* x[n, c, oh sh - ph + i, ow sw - pw + j], 0 in the padding */
static double xat(const float *x, const ldims *d, int64_t n, int64_t c, int64_t oh, int64_t ow, int i, int j) {
    int64_t h = oh * d->sh - d->ph + i, w = ow * d->sw - d->pw + j;
    return h < 0 || h >= d->H || w < 0 || w >= d->W ? 0.0 : x[((n * d->C + c) * d->H + h) * d->W + w];
}

static glia_status local_forward(glia_graph *g, glia_node *n) {
    const ldims d = dims_of(g, n);
    const float *x = ref_x(g, n, 0), *w = ref_x(g, n, 1), *b = n->n_in == 3 ? ref_x(g, n, 2) : NULL;
    float *y = n->val;
    for (int64_t s = 0; s < d.N; s++)
        for (int64_t o = 0; o < d.O; o++)
            for (int64_t oh = 0; oh < d.OH; oh++)
                for (int64_t ow = 0; ow < d.OW; ow++) {
                    const float *wp = w + ((oh * d.OW + ow) * d.O + o) * d.K;
                    double acc = b ? b[(o * d.OH + oh) * d.OW + ow] : 0.0;
                    for (int64_t c = 0; c < d.C; c++)
                        for (int i = 0; i < d.kh; i++)
                            for (int j = 0; j < d.kw; j++)
                                acc += (double)wp[(c * d.kh + i) * d.kw + j] * xat(x, &d, s, c, oh, ow, i, j);
                    y[((s * d.O + o) * d.OH + oh) * d.OW + ow] = (float)acc;
                }
    return GLIA_OK;
}

static void local_backward(glia_graph *g, glia_node *n) {
    const ldims d = dims_of(g, n);
    const float *x = ref_x(g, n, 0), *w = ref_x(g, n, 1), *dy = n->grad;
    float *dx = ref_dx(g, n, 0), *dw = ref_dx(g, n, 1), *db = n->n_in == 3 ? ref_dx(g, n, 2) : NULL;
    const int64_t L = d.OH * d.OW;
    for (int64_t p = 0; p < L; p++)
        for (int64_t o = 0; o < d.O; o++) {
            double sb = 0;
            for (int64_t s = 0; s < d.N; s++) sb += dy[(s * d.O + o) * L + p];
            if (db) db[o * L + p] += (float)sb;
            for (int64_t c = 0; dw && c < d.C; c++)
                for (int i = 0; i < d.kh; i++)
                    for (int j = 0; j < d.kw; j++) {
                        double acc = 0;
                        for (int64_t s = 0; s < d.N; s++)
                            acc += (double)dy[(s * d.O + o) * L + p] * xat(x, &d, s, c, p / d.OW, p % d.OW, i, j);
                        dw[(p * d.O + o) * d.K + (c * d.kh + i) * d.kw + j] += (float)acc;
                    }
        }
    if (!dx) return;
    /* dx[n,c,h,w]: the taps (i, j) of the positions (oh, ow) with oh sh - ph + i = h, ... */
    for (int64_t s = 0; s < d.N; s++)
        for (int64_t c = 0; c < d.C; c++)
            for (int64_t h = 0; h < d.H; h++)
                for (int64_t x_ = 0; x_ < d.W; x_++) {
                    double acc = 0;
                    for (int i = 0; i < d.kh; i++) {
                        int64_t t = h + d.ph - i;
                        if (t < 0 || t % d.sh || t / d.sh >= d.OH) continue;
                        for (int j = 0; j < d.kw; j++) {
                            int64_t u = x_ + d.pw - j;
                            if (u < 0 || u % d.sw || u / d.sw >= d.OW) continue;
                            int64_t p = (t / d.sh) * d.OW + u / d.sw;
                            for (int64_t o = 0; o < d.O; o++)
                                acc += (double)dy[(s * d.O + o) * L + p] *
                                       w[(p * d.O + o) * d.K + (c * d.kh + i) * d.kw + j];
                        }
                    }
                    dx[((s * d.C + c) * d.H + h) * d.W + x_] += (float)acc;
                }
}

const glia_kernel glia__ref_local2d = {local_forward, local_backward};
