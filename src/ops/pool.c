/* pool.c: 2-D max and average pooling over windows, and global average pooling (PyTorch's
 * MaxPool2d, AvgPool2d with count_include_pad=True, AdaptiveAvgPool2d(1)).
 *
 *   x[N,C,H,W] -> y[N,C,OH,OW],  OH = floor((H + 2 pad_h - kernel_h) / stride_h) + 1
 * ceil_mode (GoogLeNet's pools): OH = ceil(...) + 1, less one if the last window would start at
 * or past H + pad_h (PyTorch's rule: it must start inside the input or the left padding). The
 * windows of the extra row or column reach past the padded input; what they cover there is not
 * counted (max: never chosen; average: not in the divisor).
 *
 * Max pooling: padding acts as -infinity (padded cells are never chosen); the first maximum of
 * a window in row-major order wins a tie, and a NaN wins over numbers (as PyTorch). The index
 * of the chosen input cell (ih W + iw, within its [H, W] plane; int32) is saved per output in
 * n->saved, so backward is dx[argmax] += dy and reads neither x nor y.
 * Average pooling divides the window sum by the window's cells inside the padded input,
 * hend = min(h0 + kernel_h, H + pad_h) (kernel_h kernel_w without ceil_mode), padded cells
 * counting as zeros (PyTorch's divisor with count_include_pad=True).
 * Global average pooling: y[n,c] = mean over H W (summed in double).
 *
 * Threads: every loop is split by [H, W] plane (n, c); inside a plane one thread works in a
 * fixed order, so no sum is split across threads and results are bit-identical for any number
 * of threads (backward adds into dx of its own plane only).
 *
 * Attributes of maxpool2d/avgpool2d (pool_attrs below; slots POOL_* in attrs.h): kernel_h,
 * kernel_w, stride_h, stride_w, pad_h, pad_w (the builder turns stride 0 into the kernel size),
 * ceil_mode.
 * global_avgpool has none. */
#include "../core/internal.h"
#include "pool.h"
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int64_t planes;             /* N C */
    int H, W, OH, OW, kh, kw, sh, sw, ph, pw;
    bool inside;                /* every window inside the padded input (always without ceil_mode) */
    size_t in_plane, out_plane; /* H W, OH OW */
    bool par;                   /* enough work for the planes to run in parallel */
} pool_geom;

static void pgeom(glia_graph *g, const glia_node *n, pool_geom *p) {
    const glia_node *x = glia__in(g, n, 0);
    p->planes = x->shape.dim[0] * x->shape.dim[1];
    p->H = (int)x->shape.dim[2];
    p->W = (int)x->shape.dim[3];
    p->OH = (int)n->shape.dim[2];
    p->OW = (int)n->shape.dim[3];
    p->kh = n->ia[POOL_KERNEL_H], p->kw = n->ia[POOL_KERNEL_W];
    p->sh = n->ia[POOL_STRIDE_H], p->sw = n->ia[POOL_STRIDE_W];
    p->ph = n->ia[POOL_PAD_H], p->pw = n->ia[POOL_PAD_W];
    p->inside = (int64_t)(p->OH - 1) * p->sh + p->kh <= (int64_t)p->H + 2 * p->ph &&
                (int64_t)(p->OW - 1) * p->sw + p->kw <= (int64_t)p->W + 2 * p->pw;
    p->in_plane = (size_t)p->H * p->W;
    p->out_plane = (size_t)p->OH * p->OW;
    p->par = p->planes * (int64_t)p->out_plane >= GLIA_PAR_MIN / 2;
}

static glia_status need_nchw(glia_graph *g, glia_node *n, const glia_node *x) {
    char a[96];
    if (x->shape.ndim != 4) return glia__bad_shape(g, n, "input", x, "pooling needs [N, C, H, W]");
    if (x->shape.dim[2] * x->shape.dim[3] > INT_MAX)
        return glia__err(GLIA_ESHAPE, "%s: input '%s' %s has planes too large for int32 indices",
                         glia__where(g, n), x->name, glia_shape_str(&x->shape, a, sizeof a));
    return GLIA_OK;
}

static glia_status pool_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    char a[96];
    glia_status s = need_nchw(g, n, x);
    if (s) return s;
    const int kh = n->ia[POOL_KERNEL_H], kw = n->ia[POOL_KERNEL_W];
    const int ph = n->ia[POOL_PAD_H], pw = n->ia[POOL_PAD_W];
    if (ph > kh / 2 || pw > kw / 2)
        return glia__err(GLIA_EINVAL, "%s: padding %dx%d must be at most half the kernel %dx%d",
                         glia__where(g, n), ph, pw, kh, kw);
    int64_t PH = x->shape.dim[2] + 2 * (int64_t)ph, PW = x->shape.dim[3] + 2 * (int64_t)pw;
    if (kh > PH || kw > PW)
        return glia__err(GLIA_ESHAPE, "%s: kernel %dx%d is larger than input '%s' %s padded to "
                         "%lldx%lld", glia__where(g, n), kh, kw, x->name,
                         glia_shape_str(&x->shape, a, sizeof a), (long long)PH, (long long)PW);
    n->shape.ndim = 4;
    n->shape.dim[0] = x->shape.dim[0];
    n->shape.dim[1] = x->shape.dim[1];
    const int64_t sh = n->ia[POOL_STRIDE_H], sw = n->ia[POOL_STRIDE_W];
    if (n->ia[POOL_CEIL_MODE]) { /* the last window starts before H + pad (PyTorch) */
        int64_t oh = (PH - kh + sh - 1) / sh + 1, ow = (PW - kw + sw - 1) / sw + 1;
        if ((oh - 1) * sh >= x->shape.dim[2] + ph) oh--;
        if ((ow - 1) * sw >= x->shape.dim[3] + pw) ow--;
        n->shape.dim[2] = oh;
        n->shape.dim[3] = ow;
    } else {
        n->shape.dim[2] = (PH - kh) / sh + 1;
        n->shape.dim[3] = (PW - kw) / sw + 1;
    }
    n->ws_bytes = 0;
    n->saved_bytes = 0;
    return GLIA_OK;
}

static glia_status maxpool_infer(glia_graph *g, glia_node *n) {
    glia_status s = pool_infer(g, n);
    if (s) return s;
    /* the argmax of each output, for backward */
    n->saved_bytes = (size_t)glia_shape_numel(&n->shape) * sizeof(int32_t);
    return GLIA_OK;
}

/* pool_max2x2.c's AVX-512 kernels: 2x2 windows, stride 2, no padding, and rows of at least 8
 * windows (with fewer, a vector's fixed cost per row made them slower than the scalar loops:
 * LeNet-5's 10x10 -> 5x5 pool) */
static int use_simd(const pool_geom *p) {
    return p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2 && p->ph == 0 && p->pw == 0 &&
           p->inside && p->OW >= 8 && glia__max2x2_simd();
}

/* best, idx = v, i when v > best or v is NaN, by masks rather than a branch (compilers turned
 * the plain select into a branch, mispredicted half the time on activations: 12 ns per 2x2
 * window) */
static inline void take_if_larger(float v, int32_t i, float *best, int32_t *idx) {
    uint32_t m = -(uint32_t)((v > *best) | (v != v)), vb, bb;
    memcpy(&vb, &v, 4);
    memcpy(&bb, best, 4);
    bb = (vb & m) | (bb & ~m);
    memcpy(best, &bb, 4);
    *idx = (int32_t)(((uint32_t)i & m) | ((uint32_t)*idx & ~m));
}

/* The common 2x2 window without padding, over one plane: no bounds to check, the four cells
 * compared in the order of the general scan (same argmax, NaN wins). The sizes come in as
 * values, so that the compiler need not reload them after every store (in maxpool_forward's
 * body, where the argmax's int32 stores may alias the geometry's ints, the loop ran 75
 * instructions per window; a LeNet-5 inference at batch 256 spent 55% of its time here). */
static inline void max2x2_plane(const float *restrict xp, float *restrict yp, int32_t *restrict ap,
                         int W, int OH, int OW, int sh, int sw) {
    for (int oh = 0; oh < OH; oh++) {
        const float *r0 = xp + (size_t)oh * sh * W, *r1 = r0 + W;
        float *yr = yp + (size_t)oh * OW;
        int32_t *ar = ap + (size_t)oh * OW, base = oh * sh * W;
        for (int ow = 0; ow < OW; ow++) {
            const int c = ow * sw;
            float best = r0[c];
            int32_t idx = 0;
            take_if_larger(r0[c + 1], 1, &best, &idx);
            take_if_larger(r1[c], W, &best, &idx);
            take_if_larger(r1[c + 1], W + 1, &best, &idx);
            yr[ow] = best;
            ar[ow] = base + c + idx;
        }
    }
}

/* max with a NaN winning, as the scan's take_if_larger: a select, so that loops vectorise */
static inline float max_nan(float best, float v) { return v > best || v != v ? v : best; }

/* Max pooling's values only, for a node whose backward does not run (inference): no argmax,
 * so the window is separable. Per output row, the column maxima of its kh input rows go into
 * row (the input's columns at pw.., -infinity in the padding, which a max never picks: the
 * scan's rule), then y[ow] = the max of row[ow sw + j], j < kw. The first cell of each max is
 * taken as is and NaNs win, so the values are the scan's (bar the sign of a zero tied with a
 * zero). ResNet-18's 3x3 stride-2 pool: 11% of its batch-8 inference in the scan, 5x faster
 * so. Not for 2x2 windows without padding, whose scan is specialised (max2x2_plane) and was 20x
 * faster than this on LeNet-5's 10x10 planes (the per-row set-up dominates). */
#define MAX_ROW 4096
static int values_only_fits(const pool_geom *p) {
    return (int64_t)p->W + 2 * p->pw + p->kw + (int64_t)p->OW * p->sw <= MAX_ROW;
}
static void max_plane_values(const pool_geom *p, const float *xp, float *yp) {
    float row[MAX_ROW];
    const int Wr = (p->OW - 1) * p->sw + p->kw; /* the columns the windows read */
    for (int oh = 0; oh < p->OH; oh++) {
        int h0 = oh * p->sh - p->ph, i0 = h0 < 0 ? 0 : h0, i1 = h0 + p->kh > p->H ? p->H : h0 + p->kh;
        for (int c = 0; c < Wr; c++) row[c] = -INFINITY;
        float *r = row + p->pw;
        int wn = p->W < Wr - p->pw ? p->W : Wr - p->pw; /* (ceil_mode may leave columns unread) */
        if (i0 < i1) memcpy(r, xp + (size_t)i0 * p->W, (size_t)wn * sizeof(float));
        for (int ih = i0 + 1; ih < i1; ih++) {
            const float *xr = xp + (size_t)ih * p->W;
            for (int c = 0; c < wn; c++) r[c] = max_nan(r[c], xr[c]);
        }
        float *yr = yp + (size_t)oh * p->OW;
        for (int ow = 0; ow < p->OW; ow++) yr[ow] = row[ow * p->sw];
        for (int j = 1; j < p->kw; j++)
            for (int ow = 0; ow < p->OW; ow++) yr[ow] = max_nan(yr[ow], row[ow * p->sw + j]);
    }
}

static glia_status maxpool_forward(glia_graph *g, glia_node *n) {
    pool_geom p;
    pgeom(g, n, &p);
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
    int32_t *arg = n->saved;
    int simd = use_simd(&p);
    const int two = p.kh == 2 && p.kw == 2 && p.ph == 0 && p.pw == 0 && p.inside;
    if (!simd && !two && !n->bwd_runs && values_only_fits(&p) && glia__pool_algo != 1) {
#pragma omp parallel for schedule(static) if (p.par)
        for (int64_t q = 0; q < p.planes; q++)
            max_plane_values(&p, x + q * p.in_plane, y + q * p.out_plane);
        return GLIA_OK;
    }
#pragma omp parallel for schedule(static) if (p.par)
    for (int64_t q = 0; q < p.planes; q++) {
        const float *xp = x + q * p.in_plane;
        float *yp = y + q * p.out_plane;
        int32_t *ap = arg + q * p.out_plane;
        if (simd) {
            glia__max2x2_forward(xp, yp, ap, p.W, p.OH, p.OW);
            continue;
        }
        if (two) {
            if (p.sh == 2 && p.sw == 2) /* constant strides: the compiler specialises (2x faster) */
                max2x2_plane(xp, yp, ap, p.W, p.OH, p.OW, 2, 2);
            else
                max2x2_plane(xp, yp, ap, p.W, p.OH, p.OW, p.sh, p.sw);
            continue;
        }
        for (int oh = 0; oh < p.OH; oh++)
            for (int ow = 0; ow < p.OW; ow++) {
                int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
                float best = -INFINITY;
                int32_t idx = -1;
                for (int i = 0; i < p.kh; i++) {
                    int ih = h0 + i;
                    if (ih < 0 || ih >= p.H) continue;
                    for (int j = 0; j < p.kw; j++) {
                        int iw = w0 + j;
                        if (iw < 0 || iw >= p.W) continue;
                        float v = xp[(size_t)ih * p.W + iw];
                        if (idx < 0 || v > best || isnan(v)) {
                            best = v;
                            idx = ih * p.W + iw;
                        }
                    }
                }
                yp[(size_t)oh * p.OW + ow] = best;
                ap[(size_t)oh * p.OW + ow] = idx;
            }
    }
    return GLIA_OK;
}

static void maxpool_backward(glia_graph *g, glia_node *n) {
    float *dx = glia__in(g, n, 0)->grad;
    if (!dx) return;
    pool_geom p;
    pgeom(g, n, &p);
    const float *dy = n->grad;
    const int32_t *arg = n->saved;
    /* (an AVX-512 version writing each row pair of dx from registers measured faster warm but
     * slower in a training step, dx cold: its partial-line stores read every line first, where
     * run.c's memset writes whole lines and the scatter then finds them in cache) */
#pragma omp parallel for schedule(static) if (p.par)
    for (int64_t q = 0; q < p.planes; q++) {
        float *dxp = dx + q * p.in_plane;
        const float *dyp = dy + q * p.out_plane;
        const int32_t *ap = arg + q * p.out_plane;
        for (size_t o = 0; o < p.out_plane; o++)
            if (ap[o] >= 0) dxp[ap[o]] += dyp[o];
    }
}

/* the divisor of the window starting at h0, w0: its cells inside the padded input (count_include_pad) */
static inline float window_area(const pool_geom *p, int h0, int w0) {
    int he = h0 + p->kh < p->H + p->ph ? h0 + p->kh : p->H + p->ph;
    int we = w0 + p->kw < p->W + p->pw ? w0 + p->kw : p->W + p->pw;
    return (float)(he - h0) * (float)(we - w0);
}

static glia_status avgpool_forward(glia_graph *g, glia_node *n) {
    pool_geom p;
    pgeom(g, n, &p);
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
#pragma omp parallel for schedule(static) if (p.par)
    for (int64_t q = 0; q < p.planes; q++) {
        const float *xp = x + q * p.in_plane;
        float *yp = y + q * p.out_plane;
        for (int oh = 0; oh < p.OH; oh++)
            for (int ow = 0; ow < p.OW; ow++) {
                int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
                float s = 0.0f;
                for (int i = 0; i < p.kh; i++) {
                    int ih = h0 + i;
                    if (ih < 0 || ih >= p.H) continue;
                    for (int j = 0; j < p.kw; j++) {
                        int iw = w0 + j;
                        if (iw >= 0 && iw < p.W) s += xp[(size_t)ih * p.W + iw];
                    }
                }
                yp[(size_t)oh * p.OW + ow] = s / window_area(&p, h0, w0);
            }
    }
    return GLIA_OK;
}

static void avgpool_backward(glia_graph *g, glia_node *n) {
    float *dx = glia__in(g, n, 0)->grad;
    if (!dx) return;
    pool_geom p;
    pgeom(g, n, &p);
    const float *dy = n->grad;
#pragma omp parallel for schedule(static) if (p.par)
    for (int64_t q = 0; q < p.planes; q++) {
        float *dxp = dx + q * p.in_plane;
        const float *dyp = dy + q * p.out_plane;
        for (int oh = 0; oh < p.OH; oh++)
            for (int ow = 0; ow < p.OW; ow++) {
                int h0 = oh * p.sh - p.ph, w0 = ow * p.sw - p.pw;
                float d = dyp[(size_t)oh * p.OW + ow] / window_area(&p, h0, w0);
                for (int i = 0; i < p.kh; i++) {
                    int ih = h0 + i;
                    if (ih < 0 || ih >= p.H) continue;
                    for (int j = 0; j < p.kw; j++) {
                        int iw = w0 + j;
                        if (iw >= 0 && iw < p.W) dxp[(size_t)ih * p.W + iw] += d;
                    }
                }
            }
    }
}

static glia_status gap_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    glia_status s = need_nchw(g, n, x);
    if (s) return s;
    n->shape.ndim = 4;
    n->shape.dim[0] = x->shape.dim[0];
    n->shape.dim[1] = x->shape.dim[1];
    n->shape.dim[2] = 1;
    n->shape.dim[3] = 1;
    n->ws_bytes = 0;
    n->saved_bytes = 0;
    return GLIA_OK;
}

static glia_status gap_forward(glia_graph *g, glia_node *n) {
    const glia_node *X = glia__in(g, n, 0);
    const float *x = X->val;
    float *y = n->val;
    int64_t planes = X->shape.dim[0] * X->shape.dim[1];
    size_t hw = (size_t)(X->shape.dim[2] * X->shape.dim[3]);
#pragma omp parallel for schedule(static) if (planes * (int64_t)hw >= GLIA_PAR_MIN / 2)
    for (int64_t q = 0; q < planes; q++) {
        const float *xp = x + q * hw;
        double s = 0;
        for (size_t i = 0; i < hw; i++) s += xp[i];
        y[q] = (float)(s / (double)hw);
    }
    return GLIA_OK;
}

static void gap_backward(glia_graph *g, glia_node *n) {
    const glia_node *X = glia__in(g, n, 0);
    float *dx = X->grad;
    if (!dx) return;
    const float *dy = n->grad;
    int64_t planes = X->shape.dim[0] * X->shape.dim[1];
    size_t hw = (size_t)(X->shape.dim[2] * X->shape.dim[3]);
    float inv = 1.0f / (float)hw;
#pragma omp parallel for schedule(static) if (planes * (int64_t)hw >= GLIA_PAR_MIN / 2)
    for (int64_t q = 0; q < planes; q++) {
        float *dxp = dx + q * hw, d = dy[q] * inv;
        for (size_t i = 0; i < hw; i++) dxp[i] += d;
    }
}

static const glia_attr_def pool_attrs[] = {
    GLIA_ATTR_I_REQ("kernel_h", POOL_KERNEL_H, 1, INT_MAX),
    GLIA_ATTR_I_REQ("kernel_w", POOL_KERNEL_W, 1, INT_MAX),
    GLIA_ATTR_I_REQ("stride_h", POOL_STRIDE_H, 1, INT_MAX),
    GLIA_ATTR_I_REQ("stride_w", POOL_STRIDE_W, 1, INT_MAX),
    GLIA_ATTR_I("pad_h", POOL_PAD_H, 0, 0, INT_MAX),
    GLIA_ATTR_I("pad_w", POOL_PAD_W, 0, 0, INT_MAX),
    GLIA_ATTR_B("ceil_mode", POOL_CEIL_MODE, 0),
};

const glia_op_def glia__op_maxpool2d = {
    .name = "maxpool2d",
    .summary = "2-D max pooling (argmax kept for backward; padding acts as -inf)",
    .inputs = "x[N,C,H,W]", .outputs = "y[N,C,OH,OW]", .min_in = 1, .max_in = 1,
    .infer = maxpool_infer, .forward = maxpool_forward, .backward = maxpool_backward,
    GLIA_ATTRS(pool_attrs)};
const glia_op_def glia__op_avgpool2d = {
    .name = "avgpool2d",
    .summary = "2-D average pooling (padding counts as zeros: count_include_pad)",
    .inputs = "x[N,C,H,W]", .outputs = "y[N,C,OH,OW]", .min_in = 1, .max_in = 1,
    .infer = pool_infer, .forward = avgpool_forward, .backward = avgpool_backward,
    GLIA_ATTRS(pool_attrs)};
const glia_op_def glia__op_global_avgpool = {
    .name = "global_avgpool", .summary = "mean over each channel's H x W", .inputs = "x[N,C,H,W]",
    .outputs = "y[N,C,1,1]", .min_in = 1, .max_in = 1,
    .infer = gap_infer, .forward = gap_forward, .backward = gap_backward};

static glia_status pool_add(glia_graph *g, glia_op_id op, const char *name, int x,
                            const glia_pool2d_params *p, int *out) {
    if (!p)
        return glia__err(GLIA_EINVAL, "%s '%s': the pooling parameters are NULL",
                         glia__ops[op]->name, name ? name : "?");
    int ia[POOL_N_IA] = {p->kernel_h, p->kernel_w,
                         p->stride_h ? p->stride_h : p->kernel_h,
                         p->stride_w ? p->stride_w : p->kernel_w,
                         p->pad_h, p->pad_w, p->ceil_mode};
    return glia__add_op(g, op, name, 1, &x, ia, POOL_N_IA, NULL, 0, out);
}

glia_status glia_maxpool2d(glia_graph *g, const char *name, int x, const glia_pool2d_params *p,
                           int *out) {
    return pool_add(g, GLIA_OP_maxpool2d, name, x, p, out);
}
glia_status glia_avgpool2d(glia_graph *g, const char *name, int x, const glia_pool2d_params *p,
                           int *out) {
    return pool_add(g, GLIA_OP_avgpool2d, name, x, p, out);
}
glia_status glia_global_avgpool(glia_graph *g, const char *name, int x, int *out) {
    return glia__add_op(g, GLIA_OP_global_avgpool, name, 1, &x, NULL, 0, NULL, 0, out);
}
