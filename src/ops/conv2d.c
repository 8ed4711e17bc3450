/* conv2d.c: 2-D convolution (cross-correlation, as PyTorch's nn.Conv2d), by im2col + GEMM, or
 * directly (conv_direct.c) when glia__conv_direct_ok says so (stride 1, one group, ...); a
 * depthwise forward (one input channel per group) by conv_depthwise.c.
 *
 *   x[N,C,H,W], w[O,C/G,kh,kw], b[O] (optional)  ->  y[N,O,OH,OW]
 *   OH = (H + pad_top + pad_bottom - dil_h (kh - 1) - 1) / stride_h + 1   (floor), same for OW
 *
 * For each image and each group g (G groups, Cg = C/G input and Og = O/G output channels,
 * K = Cg kh kw, P = OH OW):
 *   col[C kh kw, P] = im2col(x[n])                      (zero padding, dilation, stride)
 *   y[n][g]  = w[g] (Og x K) . col[g] (K x P)           (+ b)
 * Backward, L = sum(dy * y):
 *   dw[g] += dy[n][g] (Og x P) . col[g]^T                (images in order, in fixed groups)
 *   col[g] = w[g]^T (K x Og) . dy[n][g]                 then dx[n] += col2im(col)
 *   db[o] += sum over n, then p, of dy[n][o][p]          (a fixed order, in double, lane_sums.h)
 * With a ReLU fused (n->fuse_relu, compile.c) y = max(y, 0) is written instead, and backward
 * first masks dy by y > 0 in place (dy is then the ReLU node's gradient, which nothing else
 * reads).
 * When x and w are both binarize nodes (XNOR-Net), forward runs on packed bits with XNOR and
 * popcount instead (binary_conv.c, the same values); backward stays in floats.
 * A 1x1, stride-1, unpadded convolution skips im2col: the image [C, H*W] already is the column
 * matrix, and dx is accumulated straight into x->grad by the GEMM (beta = 1).
 *
 * The column buffer lives in the graph's shared workspace (n->ws_bytes, sized by infer) and
 * holds the columns of a chunk of images (up to CONV_CHUNK_BYTES), built in one parallel loop;
 * it is scratch only: backward recomputes im2col instead of keeping anything from forward.
 *
 * Threads and determinism: cblas_sgemm is never called inside an OpenMP region (OpenBLAS has
 * its own pool; nesting the two oversubscribes). The OpenMP loops (im2col, col2im, bias, db)
 * each give every output element to exactly one thread and sum it in a fixed order: im2col is
 * split by column row, col2im by input channel (a channel's rows are added serially, in kernel
 * order), db by output channel. No loop splits one sum across threads, so results are
 * bit-identical for any number of OpenMP threads.
 *
 * Attributes (conv_attrs below; slots CONV_* in attrs.h): stride_h, stride_w, pad_top,
 * pad_bottom, pad_left, pad_right, dilation_h, dilation_w, groups. */
#include "../core/internal.h"
#include "conv.h"
#include "binary.h"
#include "../core/lane_sums.h"
#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>

/* Column buffers of several images are built in one parallel loop, so that a batch costs a few
 * thread wake-ups rather than a few per image: as many images as fit in this many bytes. */
#define CONV_CHUNK_BYTES ((size_t)8 << 20)
static int chunk_images(int64_t N, int64_t rows, int64_t P) {
    size_t per = (size_t)rows * (size_t)P * sizeof(float);
    int64_t nb = per ? (int64_t)(CONV_CHUNK_BYTES / per) : N;
    return (int)(nb < 1 ? 1 : nb > N ? N : nb);
}

/* The weight gradient sums a GEMM per image. Summed image after image, each GEMM is small and
 * OpenBLAS splits it among threads at a wake-up and a join per image; instead a chunk's images
 * are cut into fixed groups of DW_GROUP (conv.h), each group summed (in image order) into its
 * own partial on one thread, and the partials added to dw in group order. */
static int dw_groups(int nb) { return nb >= 2 * DW_GROUP ? (nb + DW_GROUP - 1) / DW_GROUP : 0; }

static void geom(glia_graph *g, const glia_node *n, conv_geom *c) {
    const glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    c->N = (int)x->shape.dim[0];
    c->C = (int)x->shape.dim[1];
    c->H = (int)x->shape.dim[2];
    c->W = (int)x->shape.dim[3];
    c->O = (int)w->shape.dim[0];
    c->kh = (int)w->shape.dim[2];
    c->kw = (int)w->shape.dim[3];
    c->sh = n->ia[CONV_STRIDE_H], c->sw = n->ia[CONV_STRIDE_W];
    c->pt = n->ia[CONV_PAD_TOP], c->pb = n->ia[CONV_PAD_BOTTOM];
    c->pl = n->ia[CONV_PAD_LEFT], c->pr = n->ia[CONV_PAD_RIGHT];
    c->dh = n->ia[CONV_DILATION_H], c->dw = n->ia[CONV_DILATION_W];
    c->G = n->ia[CONV_GROUPS];
    c->OH = (int)n->shape.dim[2];
    c->OW = (int)n->shape.dim[3];
    c->Cg = c->C / c->G;
    c->Og = c->O / c->G;
    c->K = c->Cg * c->kh * c->kw;
    c->P = c->OH * c->OW;
    c->fast = c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && c->pt == 0 &&
              c->pb == 0 && c->pl == 0 && c->pr == 0;
    c->nb = chunk_images(c->N, (int64_t)c->C * c->kh * c->kw, c->P);
}

static glia_status conv_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0), *w = glia__in(g, n, 1);
    char a[96], b[96];
    if (x->shape.ndim != 4) return glia__bad_shape(g, n, "input", x, "conv2d needs [N, C, H, W]");
    if (w->shape.ndim != 4)
        return glia__bad_shape(g, n, "weight", w, "conv2d needs [out, in/groups, kh, kw]");
    int64_t C = x->shape.dim[1], H = x->shape.dim[2], W = x->shape.dim[3];
    int64_t O = w->shape.dim[0], Cg = w->shape.dim[1], kh = w->shape.dim[2], kw = w->shape.dim[3];
    int G = n->ia[CONV_GROUPS];
    if (C % G)
        return glia__err(GLIA_ESHAPE, "%s: groups = %d does not divide the %lld input channels of "
                         "'%s' %s (weight '%s' %s)", glia__where(g, n), G, (long long)C, x->name,
                         glia_shape_str(&x->shape, a, sizeof a), w->name,
                         glia_shape_str(&w->shape, b, sizeof b));
    if (O % G)
        return glia__err(GLIA_ESHAPE, "%s: groups = %d does not divide the %lld output channels of "
                         "weight '%s' %s (input '%s' %s)", glia__where(g, n), G, (long long)O,
                         w->name, glia_shape_str(&w->shape, a, sizeof a), x->name,
                         glia_shape_str(&x->shape, b, sizeof b));
    if (Cg * G != C)
        return glia__err(GLIA_ESHAPE, "%s: channel mismatch: input '%s' %s has %lld channels, but "
                         "weight '%s' %s with groups = %d expects %lld (weight dim 1 must be "
                         "C/groups = %lld)", glia__where(g, n), x->name,
                         glia_shape_str(&x->shape, a, sizeof a), (long long)C, w->name,
                         glia_shape_str(&w->shape, b, sizeof b), G, (long long)(Cg * G),
                         (long long)(C / G));
    if (n->n_in == 3) {
        glia_node *bias = glia__in(g, n, 2);
        if (bias->shape.ndim != 1 || bias->shape.dim[0] != O)
            return glia__err(GLIA_ESHAPE, "%s: bias '%s' has shape %s, expected [%lld] (weight '%s' "
                             "%s)", glia__where(g, n), bias->name,
                             glia_shape_str(&bias->shape, a, sizeof a), (long long)O, w->name,
                             glia_shape_str(&w->shape, b, sizeof b));
    }
    int64_t PH = H + n->ia[CONV_PAD_TOP] + n->ia[CONV_PAD_BOTTOM];
    int64_t PW = W + n->ia[CONV_PAD_LEFT] + n->ia[CONV_PAD_RIGHT];
    int64_t eh = (int64_t)n->ia[CONV_DILATION_H] * (kh - 1) + 1;
    int64_t ew = (int64_t)n->ia[CONV_DILATION_W] * (kw - 1) + 1;
    if (eh > PH || ew > PW)
        return glia__err(GLIA_ESHAPE, "%s: kernel of weight '%s' %s spans %lldx%lld (with dilation "
                         "%dx%d) but input '%s' %s is only %lldx%lld after padding",
                         glia__where(g, n), w->name, glia_shape_str(&w->shape, b, sizeof b),
                         (long long)eh, (long long)ew, n->ia[CONV_DILATION_H],
                         n->ia[CONV_DILATION_W], x->name,
                         glia_shape_str(&x->shape, a, sizeof a), (long long)PH, (long long)PW);
    int64_t OH = (PH - eh) / n->ia[CONV_STRIDE_H] + 1, OW = (PW - ew) / n->ia[CONV_STRIDE_W] + 1;
    /* BLAS takes int sizes; keep every GEMM dimension and index well inside int */
    int64_t rows = C * kh * kw;
    if (OH * OW > INT_MAX || rows > INT_MAX || O > INT_MAX || H * W > INT_MAX ||
        PH > INT_MAX || PW > INT_MAX || x->shape.dim[0] > INT_MAX)
        return glia__err(GLIA_ESHAPE, "%s: input %s with weight %s is too large for one GEMM",
                         glia__where(g, n), glia_shape_str(&x->shape, a, sizeof a),
                         glia_shape_str(&w->shape, b, sizeof b));
    n->shape.ndim = 4;
    n->shape.dim[0] = x->shape.dim[0];
    n->shape.dim[1] = O;
    n->shape.dim[2] = OH;
    n->shape.dim[3] = OW;
    conv_geom c;
    geom(g, n, &c);
    if (glia__conv_direct_ok(&c))
        n->ws_bytes = glia__conv_direct_ws(&c);
    else
        n->ws_bytes = (c.fast ? 0 : (size_t)rows * (size_t)c.P * sizeof(float) * (size_t)c.nb) +
                      (size_t)dw_groups(c.nb) * (size_t)O * (size_t)(Cg * kh * kw) * sizeof(float);
    if (glia__conv_dw_ok(&c) && glia__conv_dw_ws(&c) > n->ws_bytes) /* (backward: im2col) */
        n->ws_bytes = glia__conv_dw_ws(&c);
    xnor_geom q; /* binarized operands: forward on bits (binary_conv.c), backward in floats */
    if (glia__xnor_node(g, n, &q) && glia__xnor_ws(&q) > n->ws_bytes) n->ws_bytes = glia__xnor_ws(&q);
    n->saved_bytes = 0;
    return GLIA_OK;
}

/* The output columns ow whose input column iw = ow sw + iw0 lies in [0, W): [*lo, *hi). */
static void valid_cols(const conv_geom *c, int iw0, int *lo, int *hi) {
    int l = iw0 >= 0 ? 0 : (-iw0 + c->sw - 1) / c->sw;
    int h = iw0 >= c->W ? 0 : (c->W - 1 - iw0) / c->sw + 1;
    if (h > c->OW) h = c->OW;
    if (l > c->OW) l = c->OW;
    *lo = l;
    *hi = h > l ? h : l;
}

/* col[(c kh + i) kw + j][oh OW + ow] = x[c][oh sh - pt + i dh][ow sw - pl + j dw], 0 outside;
 * for images i0 .. i0+nb-1, image k's columns at col + k rows P. */
void glia__conv_im2col(const conv_geom *c, const float *x, int nb, float *col) {
    int64_t rows = (int64_t)c->C * c->kh * c->kw, all = rows * nb;
    size_t xstride = (size_t)c->C * c->H * c->W;
#pragma omp parallel for schedule(static) if (all * c->P >= GLIA_PAR_MIN)
    for (int64_t t = 0; t < all; t++) {
        int64_t img = t / rows, r = t % rows;
        int ch = (int)(r / (c->kh * c->kw)), i = (int)(r / c->kw % c->kh), j = (int)(r % c->kw);
        const float *xc = x + (size_t)img * xstride + (size_t)ch * c->H * c->W;
        float *out = col + (size_t)t * c->P;
        int iw0 = j * c->dw - c->pl, lo, hi;
        valid_cols(c, iw0, &lo, &hi);
        for (int oh = 0; oh < c->OH; oh++) {
            int ih = oh * c->sh - c->pt + i * c->dh;
            float *o = out + (size_t)oh * c->OW;
            if (ih < 0 || ih >= c->H) {
                memset(o, 0, sizeof(float) * (size_t)c->OW);
                continue;
            }
            const float *xr = xc + (size_t)ih * c->W + iw0;
            for (int ow = 0; ow < lo; ow++) o[ow] = 0.0f;
            if (c->sw == 1) memcpy(o + lo, xr + lo, sizeof(float) * (size_t)(hi - lo));
            else
                for (int ow = lo; ow < hi; ow++) o[ow] = xr[(ptrdiff_t)ow * c->sw];
            for (int ow = hi; ow < c->OW; ow++) o[ow] = 0.0f;
        }
    }
}

/* dx[c][ih][iw] += col[(c, i, j)][oh, ow] at the positions im2col read, for nb images laid out
 * as im2col writes them; one thread per (image, channel), rows of a channel added in the fixed
 * order (i, j, oh, ow) */
void glia__conv_col2im_add(const conv_geom *c, const float *col, int nb, float *dx) {
    int kk = c->kh * c->kw;
    int64_t all = (int64_t)nb * c->C;
    size_t xstride = (size_t)c->C * c->H * c->W;
#pragma omp parallel for schedule(static) if (all * kk * c->P >= GLIA_PAR_MIN)
    for (int64_t t = 0; t < all; t++) {
        int64_t img = t / c->C, ch = t % c->C;
        float *xc = dx + (size_t)img * xstride + (size_t)ch * c->H * c->W;
        for (int r = 0; r < kk; r++) {
            int i = r / c->kw, j = r % c->kw;
            const float *in = col + ((size_t)t * kk + r) * c->P;
            int iw0 = j * c->dw - c->pl, lo, hi;
            valid_cols(c, iw0, &lo, &hi);
            for (int oh = 0; oh < c->OH; oh++) {
                int ih = oh * c->sh - c->pt + i * c->dh;
                if (ih < 0 || ih >= c->H) continue;
                float *xr = xc + (size_t)ih * c->W + iw0;
                const float *o = in + (size_t)oh * c->OW;
                if (c->sw == 1)
                    for (int ow = lo; ow < hi; ow++) xr[ow] += o[ow];
                else
                    for (int ow = lo; ow < hi; ow++) xr[(ptrdiff_t)ow * c->sw] += o[ow];
            }
        }
    }
}

/* Per-image GEMMs run one per thread (OpenBLAS single-threaded) when a chunk has at least two
 * images per thread: a small GEMM split by OpenBLAS among threads costs a wake-up and a join
 * each. LeNet-5's are 6x784x25 and 16x100x150; measured (glia-bench lenet-train --profile,
 * 2 threads, with the grouped weight gradient) conv time per step 4.1 -> 2.2 ms. */
static int images_in_parallel(int nb) {
    int t = glia_get_num_threads();
    return t > 1 && nb >= 2 * t;
}

/* One image's output yi [O][P] = w . col (+ bias, then the activation), by blocks of columns
 * whose output (Og x pc floats, about EPI_BYTES) is still in cache when the bias and the
 * activation are applied: the bias is written first and the GEMM adds to it (beta = 1, which
 * also spares OpenBLAS zeroing the block), the activation follows. Before, a separate pass
 * over the whole output after the GEMMs was 7% of MobileNetV2's inference (batch 1) and
 * OpenBLAS's zeroing of C another 2.5%. */
#define EPI_BYTES ((size_t)512 << 10)
static void gemm_epilogue(const conv_geom *c, const float *w, const float *col, const float *bias,
                          int act, float *yi) {
    int pc = c->P;
    if (bias || act) {
        size_t fit = EPI_BYTES / sizeof(float) / (size_t)c->Og;
        pc = fit < 256 ? 256 : fit >= (size_t)c->P ? c->P : (int)(fit / 64 * 64);
    }
    for (int gr = 0; gr < c->G; gr++)
        for (int p0 = 0; p0 < c->P; p0 += pc) {
            int np = c->P - p0 < pc ? c->P - p0 : pc;
            float *yg = yi + (size_t)gr * c->Og * c->P + p0;
            const float *bg = bias ? bias + (size_t)gr * c->Og : NULL;
            if (bg) {
#pragma omp parallel for schedule(static) if ((int64_t)c->Og * np >= GLIA_PAR_MIN)
                for (int o = 0; o < c->Og; o++)
                    for (int p = 0; p < np; p++) yg[(size_t)o * c->P + p] = bg[o];
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->Og, np, c->K, 1.0f,
                        w + (size_t)gr * c->Og * c->K, c->K, col + (size_t)gr * c->K * c->P + p0,
                        c->P, bias ? 1.0f : 0.0f, yg, c->P);
            if (!act) continue;
#pragma omp parallel for schedule(static) if ((int64_t)c->Og * np >= GLIA_PAR_MIN)
            for (int o = 0; o < c->Og; o++) {
                float *yo = yg + (size_t)o * c->P;
                if (act == GLIA_ACT_RELU6)
                    for (int p = 0; p < np; p++) yo[p] = glia__act(yo[p], GLIA_ACT_RELU6);
                else
                    for (int p = 0; p < np; p++) yo[p] = glia__relu(yo[p]);
            }
        }
}

static glia_status conv_forward(glia_graph *g, glia_node *n) {
    conv_geom c;
    geom(g, n, &c);
    const float *x = glia__in(g, n, 0)->val, *w = glia__in(g, n, 1)->val;
    const float *bias = n->n_in == 3 ? glia__in(g, n, 2)->val : NULL;
    float *y = n->val, *ws = g->workspace;
    int act = glia__act_of(n);
    if (n->fold_bn >= 0 && !g->training) { /* its batch norm too (compile.c), into its buffer */
        const glia_node *bn = &g->nodes[n->fold_bn];
        float *wf = (float *)((char *)ws + glia__bn_fold_at(n->ws_bytes)), *bf = wf + (size_t)c.O * c.K;
        glia__bn_fold(g, bn, w, bias, c.O, c.K, wf, bf);
        w = wf, bias = bf, y = bn->val, act = glia__act_of(bn);
    }
    if (glia__xnor_node_forward(g, n, bias, n->fuse_relu, y)) {
        if (act == GLIA_ACT_RELU6) /* (the bit kernels apply a ReLU only) */
            for (int64_t i = 0, m = glia__numel(n); i < m; i++) y[i] = glia__act(y[i], act);
        return GLIA_OK;
    }
    if (glia__conv_dw_ok(&c)) {
        glia__conv_dw_forward(&c, x, w, bias, act, y, ws);
        return GLIA_OK;
    }
    if (glia__conv_direct_ok(&c)) {
        glia__conv_direct_forward(&c, x, w, bias, act, y, ws);
        return GLIA_OK;
    }
    size_t xstride = (size_t)c.C * c.H * c.W, ystride = (size_t)c.O * c.P;
    size_t cstride = (size_t)c.C * c.kh * c.kw * c.P; /* one image's columns */
    for (int i0 = 0; i0 < c.N; i0 += c.nb) {
        int nb = c.N - i0 < c.nb ? c.N - i0 : c.nb;
        if (!c.fast) glia__conv_im2col(&c, x + i0 * xstride, nb, ws);
        /* the images' GEMMs are independent: spread over the threads, one each, when there are
         * several (each writes only its own image's output, so any split gives the same bits) */
        int par = images_in_parallel(nb), prev = par ? glia__blas_serial_begin() : 0;
#pragma omp parallel for schedule(static) if (par)
        for (int k = 0; k < nb; k++) {
            const float *col = c.fast ? x + (i0 + k) * xstride : ws + k * cstride;
            gemm_epilogue(&c, w, col, bias, act, y + (i0 + k) * ystride);
        }
        if (par) glia__blas_serial_end(prev);
    }
    return GLIA_OK;
}

static void conv_backward(glia_graph *g, glia_node *n) {
    conv_geom c;
    geom(g, n, &c);
    glia_node *X = glia__in(g, n, 0), *Wn = glia__in(g, n, 1);
    const float *x = X->val, *w = Wn->val, *dy = n->grad;
    float *dx = X->grad, *dw = Wn->grad, *ws = g->workspace;
    float *db = n->n_in == 3 ? glia__in(g, n, 2)->grad : NULL;
    size_t xstride = (size_t)c.C * c.H * c.W, ystride = (size_t)c.O * c.P;
    /* the fused ReLU's backward, in place: dy = y > 0 ? dy : 0; by the direct path image by
     * image (while they are in cache) when it runs over all images (it does with dw) */
    int direct = glia__conv_direct_ok(&c), mask_later = n->fuse_relu && direct && dw;
    const int act = glia__act_of(n);
    if (n->fuse_relu && !mask_later) {
        float *gy = n->grad;
        const float *yv = n->val;
        int64_t cnt = (int64_t)c.N * c.O * c.P;
#pragma omp parallel for schedule(static) if (cnt >= GLIA_PAR_MIN)
        for (int64_t i = 0; i < cnt; i++) gy[i] = glia__act_grad(yv[i], gy[i], act);
    }
    if (db && !(direct && dw)) { /* (the direct path sums db with dw) */
#pragma omp parallel for schedule(static) if ((int64_t)c.N * c.O * c.P >= GLIA_PAR_MIN)
        for (int o = 0; o < c.O; o++) {
            double s[GLIA_LANES] = {0}; /* images in order, positions in lanes (lane_sums.h) */
            for (int i = 0; i < c.N; i++) glia__lanes_sum(s, dy + i * ystride + (size_t)o * c.P, c.P);
            db[o] += (float)glia__lanes_total(s);
        }
    }
    if (!dw && !dx) return;
    if (direct) {
        glia__conv_direct_backward(&c, x, w, n->grad, mask_later ? n->val : NULL, act, dx, dw,
                                   dw ? db : NULL, ws);
        return;
    }
    size_t cstride = (size_t)c.C * c.kh * c.kw * c.P; /* one image's columns */
    for (int i0 = 0; i0 < c.N; i0 += c.nb) {
        int nb = c.N - i0 < c.nb ? c.N - i0 : c.nb;
        if (dw) {
            if (!c.fast) glia__conv_im2col(&c, x + i0 * xstride, nb, ws);
            int ng = dw_groups(nb); /* 0: images in order straight into dw */
            size_t wsize = (size_t)c.O * c.K;                 /* dw's floats */
            float *part = ws + (c.fast ? 0 : (size_t)c.nb * cstride);
            int prev = ng ? glia__blas_serial_begin() : 0;
#pragma omp parallel for schedule(static) if (ng > 1 && glia_get_num_threads() > 1)
            for (int q = 0; q < (ng ? ng : 1); q++) {
                int k0 = ng ? q * DW_GROUP : 0, k1 = ng ? k0 + DW_GROUP : nb;
                if (k1 > nb) k1 = nb;
                float *acc = ng ? part + (size_t)q * wsize : dw;
                for (int k = k0; k < k1; k++) { /* images in order: a fixed summation order */
                    const float *col = c.fast ? x + (i0 + k) * xstride : ws + k * cstride;
                    const float *dyi = dy + (i0 + k) * ystride;
                    float beta = ng && k == k0 ? 0.0f : 1.0f;
                    for (int gr = 0; gr < c.G; gr++)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c.Og, c.K, c.P, 1.0f,
                                    dyi + (size_t)gr * c.Og * c.P, c.P,
                                    col + (size_t)gr * c.K * c.P, c.P, beta,
                                    acc + (size_t)gr * c.Og * c.K, c.K);
                }
            }
            if (ng) {
                glia__blas_serial_end(prev);
#pragma omp parallel for schedule(static) if ((int64_t)wsize * ng >= GLIA_PAR_MIN)
                for (size_t j = 0; j < wsize; j++) { /* groups in order */
                    float s = dw[j];
                    for (int q = 0; q < ng; q++) s += part[(size_t)q * wsize + j];
                    dw[j] = s;
                }
            }
        }
        if (dx) {
            int par = images_in_parallel(nb), prev = par ? glia__blas_serial_begin() : 0;
#pragma omp parallel for schedule(static) if (par)
            for (int k = 0; k < nb; k++) {
                const float *dyi = dy + (i0 + k) * ystride;
                /* fast path: the "columns" are dx itself, so the GEMM adds into it (beta = 1) */
                float *dcol = c.fast ? dx + (i0 + k) * xstride : ws + k * cstride;
                for (int gr = 0; gr < c.G; gr++)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c.K, c.P, c.Og, 1.0f,
                                w + (size_t)gr * c.Og * c.K, c.K,
                                dyi + (size_t)gr * c.Og * c.P, c.P, c.fast ? 1.0f : 0.0f,
                                dcol + (size_t)gr * c.K * c.P, c.P);
            }
            if (par) glia__blas_serial_end(prev);
            if (!c.fast) glia__conv_col2im_add(&c, ws, nb, dx + i0 * xstride);
        }
    }
}

static const glia_attr_def conv_attrs[] = {
    GLIA_ATTR_I("stride_h", CONV_STRIDE_H, 1, 1, INT_MAX),
    GLIA_ATTR_I("stride_w", CONV_STRIDE_W, 1, 1, INT_MAX),
    GLIA_ATTR_I("pad_top", CONV_PAD_TOP, 0, 0, INT_MAX),
    GLIA_ATTR_I("pad_bottom", CONV_PAD_BOTTOM, 0, 0, INT_MAX),
    GLIA_ATTR_I("pad_left", CONV_PAD_LEFT, 0, 0, INT_MAX),
    GLIA_ATTR_I("pad_right", CONV_PAD_RIGHT, 0, 0, INT_MAX),
    GLIA_ATTR_I("dilation_h", CONV_DILATION_H, 1, 1, INT_MAX),
    GLIA_ATTR_I("dilation_w", CONV_DILATION_W, 1, 1, INT_MAX),
    GLIA_ATTR_I("groups", CONV_GROUPS, 1, 1, INT_MAX),
};

const glia_op_def glia__op_conv2d = {
    .name = "conv2d",
    .summary = "2-D convolution (direct at stride 1 and depthwise, else im2col + GEMM): stride, "
               "asymmetric padding, dilation, groups",
    .inputs = "x[N,C,H,W], w[O,C/groups,kh,kw], b[O]?", .outputs = "y[N,O,OH,OW]",
    .min_in = 2, .max_in = 3, .flags = OPF_BWD_INPUTS | OPF_FUSE_RELU,
    .infer = conv_infer, .forward = conv_forward, .backward = conv_backward,
    GLIA_ATTRS(conv_attrs)};

/* p == NULL: all defaults (stride 1, no padding, dilation 1, one group) */
glia_status glia_conv2d(glia_graph *g, const char *name, int x, int w, int b,
                        const glia_conv2d_params *p, int *out) {
    static const glia_conv2d_params none = {0};
    if (!p) p = &none;
    int ia[CONV_N_IA] = {p->stride_h, p->stride_w, p->pad_top, p->pad_bottom, p->pad_left,
                         p->pad_right, p->dilation_h, p->dilation_w, p->groups};
    for (int i = 0; i < CONV_N_IA; i++) /* the params' 0 means the default */
        if (!ia[i]) ia[i] = (int)glia__op_attr(GLIA_OP_conv2d, i, false)->def;
    int in[3] = {x, w, b};
    return glia__add_op(g, GLIA_OP_conv2d, name, b >= 0 ? 3 : 2, in, ia, CONV_N_IA, NULL, 0, out);
}
