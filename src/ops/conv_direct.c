/* conv_direct.c: direct 2-D convolution for stride 1, dilation 1, one group: no im2col.
 *
 * An image's C planes are copied, zero-padded, into rows of width Wp = W + pl + pr (one plane
 * every xcs floats, zero slack after each). Flattened, output position p = oh Wp + ow reads the
 * tap (i, j) at input position p + i Wp + j, so the whole convolution is
 *   ye[o][p] = sum_{c,i,j} w[o][c][i][j] xp[c][p + i Wp + j]            p < OH Wp
 * one long 1-D loop per (o, c, i, j) with constant offsets, vectorised over p and blocked over
 * o, with the accumulators in registers (conv_direct_kernels.h). Columns ow >= OW of ye are
 * junk, dropped when y is copied out. Backward, L = sum(dy * y):
 *   dw[o][c][i][j] = sum_p dye[o][p] xp[c][p + i Wp + j]     dye = dy laid out like ye, junk = 0
 *   dx = the same forward kernel on dyp, dye's planes after M = (kh-1) Wp + kw - 1 zeros, with
 *        w rotated by 180 degrees and its in/out channels swapped: at padded-input position q
 *          dxe[c][q] = sum_{o,i,j} w[o][c][kh-1-i][kw-1-j] dyp[o][q + i Wp + j]
 *                    = sum_{o,i,j} w[o][c][i][j] dye[o][q - i Wp - j]
 *        and dx[c][h][v] = dxe[c][(h + pt) Wp + v + pl]. A tap left of column 0 wraps into the
 *        previous row's last kw - 1 columns, which are dye's junk (zero): no extra padding,
 *        any padding works, and dx's rows are as wide as the input's (Wp).
 *
 * Images are independent: forward and dx give each image to one thread; dw sums each fixed
 * group of DW_GROUP images (in order) into its own partial, added to dw in group order. So the
 * bits are the same for any number of threads. The kernels are compiled for AVX-512, AVX2 and
 * plain C vectors and picked at run time from the CPU (pick); results differ between those
 * sets by float rounding only. */
#include "../core/internal.h"
#include "conv.h"
#include "../core/lane_sums.h"
#include <limits.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
/* a * b + c as one FMA: GCC turns contraction off in ISO C modes (-std=c11); clang contracts
 * within one expression by default */
#pragma GCC optimize("fp-contract=fast")
#endif

int glia__conv_algo; /* test hook, see conv.h */

/* Prefetch streams: data the next steps read cold (the next image's x and dy, this image's dx),
 * touched a few cache lines at a time from inside the kernels, so that those reads overlap
 * the FMAs instead of stalling the copies (pad_planes, glia__conv_dyt, unpack) that follow:
 * VGG-style conv backward +0-4% (glia-bench conv-all-bwd, alternating builds); the forward
 * measured no faster with it and passes none. A kernel with nsteps steps calls pf_plan once,
 * then pf_next once per step. */
#define PF_N 4
typedef struct {
    const char *p[PF_N], *end[PF_N];
    size_t step[PF_N]; /* lines per pf_next */
} pf_streams;

static inline void pf_plan(pf_streams *s, size_t nsteps) {
    if (nsteps < 1) nsteps = 1;
    for (int i = 0; s && i < PF_N; i++) {
        size_t lines = s->p[i] ? (size_t)(s->end[i] - s->p[i] + 63) / 64 : 0;
        s->step[i] = (lines + nsteps - 1) / nsteps;
    }
}

static inline void pf_next(pf_streams *s) {
    for (int i = 0; s && i < PF_N; i++)
        for (size_t j = 0; j < s->step[i] && s->p[i] < s->end[i]; j++, s->p[i] += 64)
            __builtin_prefetch(s->p[i]);
}

/* stream i covers the n floats at a */
static inline void pf_add(pf_streams *s, int i, const float *a, size_t n) {
    s->p[i] = (const char *)a;
    s->end[i] = (const char *)(a + n);
}

/* one instruction set's kernels and their block sizes (conv_direct_kernels.h): two forward
 * blocks and two dwt blocks, so that a layer with few channels can take the block that wastes
 * fewer of its lanes (pick_fwd, pick_dwt) */
typedef void fwd_fn(const float *xp, size_t xcs, int C, const float *wp, int nblk, int kh,
                    int kw, int Wp, int len, float *ye, pf_streams *pf);
typedef void dw_fn(const float *dye, size_t dys, int O, int len, const float *xp, size_t xps,
                   size_t xcs, int C, int kh, int kw, int Wp, int nimg, float *dwi);
typedef void dwt_fn(const float *dyt, size_t dts, int Ot, int OH, int OW, const float *xp,
                    size_t xps, size_t xcs, int C, int kh, int kw, int Wp, int nimg, float *dwt,
                    pf_streams *pf);
typedef struct {
    fwd_fn *run;
    int cb; /* output channels per block */
} fwd_kernel;
typedef struct {
    dwt_fn *run;
    int tb, ovw;
} dwt_kernel;
typedef struct {
    int vw, cbw, kxb;
    fwd_kernel fwd[2];
    dw_fn *dw;
    dwt_kernel dwt[2];
} kernel_set;

/* Register budgets: AVX-512 has 32 vector registers and FMAs that broadcast from memory; AVX2
 * and SSE have 16 and need a register for the broadcast (SSE also one for the product). */
#define KSUF generic
#define KTARGET
#define KEEP(v) ((void)0)
#define VW 4
#define CB0 4
#define NV0 3
#define CB1 3
#define NV1 3
#define CBW 3
#define KXB 3
#define TB0 6
#define OVW0 2
#define TB1 9
#define OVW1 1
#include "conv_direct_kernels.h"
#undef KEEP

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_SETS 1
#define KEEP(v) __asm__("" : "+v"(v))
#define KSUF avx2
#define KTARGET __attribute__((target("avx2,fma")))
#define VW 8
#define CB0 4
#define NV0 3
#define CB1 3
#define NV1 3
#define CBW 3
#define KXB 3
#define TB0 6
#define OVW0 2
#define TB1 9
#define OVW1 1
#include "conv_direct_kernels.h"

#define KSUF avx512
#define KTARGET __attribute__((target("avx512f")))
#define VW 16
#define CB0 8
#define NV0 3
#define CB1 6
#define NV1 4
#define CBW 6
#define KXB 3
#define TB0 9
#define OVW0 2
#define TB1 9
#define OVW1 1
#include "conv_direct_kernels.h"
#undef KEEP
#endif


/* the widest set this CPU runs (valgrind, for one, reports no AVX-512), or narrower when the
 * test hook glia__conv_algo asks for it */
static kernel_set pick(void) {
#ifdef HAVE_X86_SETS
    __builtin_cpu_init();
    if (glia__conv_algo < 2 && glia__cpu_avx512f()) return set_avx512;
    if (glia__conv_algo < 3 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return set_avx2;
#endif
    return set_generic;
}

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

/* The forward block for n output rows: the one with fewer padded rows, round_up(n, cb) (the
 * first on a tie; positions are rounded to one vector whatever the block). LeNet-5's dx (6
 * channels) takes the AVX-512 6 x 4 block instead of 8 x 3. */
static fwd_kernel pick_fwd(const kernel_set *k, int n) {
    return round_up((size_t)n, (size_t)k->fwd[1].cb) < round_up((size_t)n, (size_t)k->fwd[0].cb)
               ? k->fwd[1]
               : k->fwd[0];
}

/* The dwt block for O output channels and kk taps, by the same rule: 16 filters take one
 * vector of 16 (AVX-512) rather than two with half their lanes idle. */
static dwt_kernel pick_dwt(const kernel_set *k, int O, int kk) {
    size_t w0 = round_up((size_t)O, (size_t)k->vw * k->dwt[0].ovw) * round_up((size_t)kk, (size_t)k->dwt[0].tb);
    size_t w1 = round_up((size_t)O, (size_t)k->vw * k->dwt[1].ovw) * round_up((size_t)kk, (size_t)k->dwt[1].tb);
    return w1 < w0 ? k->dwt[1] : k->dwt[0];
}

/* Sizes (in floats) of the buffers of the direct path */
typedef struct {
    kernel_set k;
    fwd_kernel kf, kx; /* the forward's block; dx's block */
    dwt_kernel kt;     /* the dwt block */
    int kk;          /* kh kw */
    int Wp, len;     /* padded input row width; extended output length OH Wp, rounded up */
    size_t xcs;      /* plane stride of the padded input: every read of the kernels fits */
    int Ob;          /* O rounded up to the forward channel block: rows of ye */
    int Orows;       /* O rounded up to the weight-gradient block: rows of dye (dw kernel) */
    int Ot;          /* O rounded up to the dwt block: columns of dyt (dwt kernel) */
    int use_t;       /* dw by the dwt kernel: at least half its vector lanes are channels */
    int lenq;        /* dx: extended dx length H Wp, rounded up */
    size_t dcs;      /* plane stride of the padded dy (dyp) */
    int Cb;          /* C rounded up to dx's channel block: rows of the extended dx */
    int nb, ng;      /* images per chunk; groups of DW_GROUP images per chunk */
    size_t xps, dys; /* dw: one image's padded input; its dy in the dye or dyt layout */
    size_t wpk, slot_f, slot_b, part; /* packed weights; one image (forward); one group
                                          (backward: its images' xp and dye, then one image's
                                          dx buffers; its dw partial, then its db lanes) */
    size_t dwb;      /* the floats of a backward slot before the dx buffers */
    size_t part_w;   /* the dw partial's floats (then O x GLIA_LANES doubles of db lanes) */
} dgeom;

static void dgeom_init(const conv_geom *c, dgeom *d) {
    kernel_set k = pick();
    d->k = k;
    d->kk = c->kh * c->kw;
    /* reads reach p + (kh-1) W + kw - 1, and up to kxb - 1 columns more in the dw kernel */
    d->Wp = c->W + c->pl + c->pr;
    d->kf = pick_fwd(&k, c->O);
    d->len = (int)round_up((size_t)c->OH * d->Wp, (size_t)k.vw);
    d->xcs = round_up((size_t)d->len + (size_t)(c->kh - 1) * d->Wp + c->kw + k.kxb, 16);
    d->Ob = (int)round_up((size_t)c->O, (size_t)d->kf.cb);
    d->Orows = (int)round_up((size_t)c->O, (size_t)k.cbw);
    d->kt = pick_dwt(&k, c->O, d->kk);
    d->Ot = (int)round_up((size_t)c->O, (size_t)k.vw * d->kt.ovw);
    d->use_t = 2 * c->O >= k.vw * d->kt.ovw;
    d->kx = pick_fwd(&k, c->C);
    d->lenq = (int)round_up((size_t)c->H * d->Wp, (size_t)k.vw);
    /* dx's reads reach dyp[pt Wp + q + (kh-1) Wp + kw - 1] for q < lenq */
    d->dcs = round_up((size_t)d->lenq + (size_t)(c->kh - 1 + c->pt) * d->Wp + c->kw, 16);
    d->Cb = (int)round_up((size_t)c->C, (size_t)d->kx.cb);
    size_t a = (size_t)d->Ob * c->C * d->kk, b = (size_t)d->Cb * c->O * d->kk;
    d->wpk = round_up(a > b ? a : b, 16);
    d->slot_f = round_up((size_t)c->C * d->xcs + (size_t)d->Ob * d->len, 16);
    d->xps = (size_t)c->C * d->xcs;
    d->dys = round_up(d->use_t ? (size_t)d->Ot * c->P : (size_t)d->Orows * d->len, 16);
    d->dwb = round_up(DW_GROUP * (d->xps + d->dys), 16);
    d->slot_b = round_up(d->dwb + (size_t)c->O * d->dcs + (size_t)d->Cb * d->lenq, 16);
    d->part_w = round_up((size_t)(d->use_t ? d->Ot : c->O) * c->C * d->kk, 16);
    d->part = d->part_w + round_up((size_t)c->O * GLIA_LANES * sizeof(double) / sizeof(float), 16);
    /* as many images as keep the buffers within 8 MiB (at least one), whole groups if >= 1 */
    size_t budget = ((size_t)8 << 20) / sizeof(float);
    size_t nf = budget / d->slot_f, nbk = budget / (d->slot_b + d->part) * DW_GROUP;
    size_t nb = nf < nbk ? nf : nbk;
    if (nb > (size_t)c->N) nb = (size_t)c->N;
    /* whole groups, and an even number of them when there are two or more: an odd count
     * leaves one thread of two idle for a group's time (VGG-style conv2: 9 groups a chunk, 5
     * + 4, 11% slower); shapes alone decide, so the bits still do not depend on threads */
    if (nb >= 2 * DW_GROUP) nb -= nb % (2 * DW_GROUP);
    else if (nb >= DW_GROUP) nb -= nb % DW_GROUP;
    d->nb = nb < 1 ? 1 : (int)nb;
    d->ng = (d->nb + DW_GROUP - 1) / DW_GROUP;
}

/* Where the direct path beats im2col + GEMM. Measured forward + backward (dx and dw), batch
 * 32-64, 2 threads, AVX-512, GFLOP/s im2col -> direct: LeNet-5 5x5 layers 69 -> 71 and 99 ->
 * 129, VGG-style 3x3 with 32-64 channels 136 -> 238 and 192 -> 250, 3x3 64 ch on 56x56 100 ->
 * 179, 128 ch on 28x28 96 -> 167, on 8x8 140 -> 170; but 256 ch on 14x14 185 -> 142 and 512 ch
 * on 7x7 181 -> 32: with a long reduction (C kh kw = 2304 and up) the GEMM wins. */
#define DIRECT_MAX_K 1152
int glia__conv_direct_ok(const conv_geom *c) {
    if (glia__conv_algo == 1) return 0;
    /* the kernels index a padded plane (forward and dx) with int */
    int64_t plane = ((int64_t)c->H + c->kh + 64) * ((int64_t)c->W + 2 * c->kw + 64);
    return c->sh == 1 && c->sw == 1 && c->dh == 1 && c->dw == 1 && c->G == 1 && !c->fast &&
           (int64_t)c->C * c->kh * c->kw <= DIRECT_MAX_K && plane <= INT_MAX / 2;
}

size_t glia__conv_direct_ws(const conv_geom *c) {
    dgeom d;
    dgeom_init(c, &d);
    size_t f = (size_t)d.nb * d.slot_f, b = (size_t)d.ng * (d.slot_b + d.part);
    return (d.wpk + (f > b ? f : b)) * sizeof(float);
}

/* wp[b][ci][t][j] = W(co = b cb + j, ci, t), 0 for co >= nco, t = i kw + j over the kernel:
 *   rot = 0: W(co, ci, t) = w[co][ci][t]            (forward: co = o, ci = c)
 *   rot = 1: W(co, ci, t) = w[ci][co][kk - 1 - t]   (dx: co = c, ci = o, kernel rotated 180) */
static void pack(const float *w, int nco, int nci, int kk, int cb, int rot, float *wp) {
    int nblk = (nco + cb - 1) / cb;
    for (int b = 0; b < nblk; b++)
        for (int ci = 0; ci < nci; ci++)
            for (int t = 0; t < kk; t++)
                for (int j = 0; j < cb; j++) {
                    int co = b * cb + j;
                    float v = 0;
                    if (co < nco)
                        v = rot ? w[((size_t)ci * nco + co) * kk + (kk - 1 - t)]
                                : w[((size_t)co * nci + ci) * kk + t];
                    wp[(((size_t)b * nci + ci) * kk + t) * cb + j] = v;
                }
}

/* xp[c][(h + top) Wr + v + left] = x[c][h][v], zero elsewhere (borders and slack) */
static void pad_planes(const float *x, int C, int H, int W, int top, int left, int Wr,
                       size_t cs, float *xp) {
    memset(xp, 0, sizeof(float) * (size_t)C * cs);
    for (int c = 0; c < C; c++)
        for (int h = 0; h < H; h++)
            memcpy(xp + (size_t)c * cs + (size_t)(h + top) * Wr + left,
                   x + ((size_t)c * H + h) * W, sizeof(float) * (size_t)W);
}

/* out[o][h][v] = ye[o][h Wr + v] + bias[o] (add = 0; then glia__act(., act)) or
 * out[o][h][v] += ye[o][h Wr + v] (add = 1), for o < n, h < rows, v < cols */
static void unpack(const float *ye, int n, int len, int rows, int cols, int Wr,
                   const float *bias, int add, int act, float *out) {
    for (int o = 0; o < n; o++) {
        float b = bias ? bias[o] : 0.0f;
        for (int h = 0; h < rows; h++) {
            const float *s = ye + (size_t)o * len + (size_t)h * Wr;
            float *d = out + ((size_t)o * rows + h) * cols;
            if (add)
                for (int v = 0; v < cols; v++) d[v] += s[v];
            else if (act == GLIA_ACT_RELU6)
                for (int v = 0; v < cols; v++) d[v] = glia__act(s[v] + b, GLIA_ACT_RELU6);
            else if (act)
                for (int v = 0; v < cols; v++) d[v] = glia__relu(s[v] + b);
            else
                for (int v = 0; v < cols; v++) d[v] = s[v] + b;
        }
    }
}

/* streams 0-2: image i's dy, its fused ReLU's output (if any) and, with_x, its x: what the
 * backward reads first of that image */
static void next_image(const conv_geom *c, size_t i, const float *x, int with_x,
                       const float *dy, const float *relu_y, pf_streams *pf) {
    size_t xs = (size_t)c->C * c->H * c->W, ys = (size_t)c->O * c->P;
    pf_add(pf, 0, dy + i * ys, ys);
    if (relu_y) pf_add(pf, 1, relu_y + i * ys, ys);
    if (with_x) pf_add(pf, 2, x + i * xs, xs);
}

/* worth waking the threads for: the multiply-adds of nimg images */
static int parallel_for(const conv_geom *c, int nimg) {
    return nimg > 1 && (int64_t)nimg * c->O * c->P * c->K >= GLIA_PAR_MIN;
}

void glia__conv_direct_forward(const conv_geom *c, const float *x, const float *w,
                               const float *bias, int act, float *y, float *ws) {
    dgeom d;
    dgeom_init(c, &d);
    float *wp = ws, *slots = ws + d.wpk;
    pack(w, c->O, c->C, d.kk, d.kf.cb, 0, wp);
    size_t xstride = (size_t)c->C * c->H * c->W, ystride = (size_t)c->O * c->P;
    for (int i0 = 0; i0 < c->N; i0 += d.nb) {
        int nb = c->N - i0 < d.nb ? c->N - i0 : d.nb;
#pragma omp parallel for schedule(static) if (parallel_for(c, nb))
        for (int k = 0; k < nb; k++) {
            float *xp = slots + (size_t)k * d.slot_f, *ye = xp + (size_t)c->C * d.xcs;
            pad_planes(x + (size_t)(i0 + k) * xstride, c->C, c->H, c->W, c->pt, c->pl, d.Wp,
                       d.xcs, xp);
            d.kf.run(xp, d.xcs, c->C, wp, d.Ob / d.kf.cb, c->kh, c->kw, d.Wp, d.len, ye, NULL);
            /* (prefetching the next image's x here measured no faster) */
            unpack(ye, c->O, d.len, c->OH, c->OW, d.Wp, bias, 0, act,
                   y + (size_t)(i0 + k) * ystride);
        }
    }
}

void glia__conv_direct_backward(const conv_geom *c, const float *x, const float *w, float *dy,
                                const float *relu_y, int act, float *dx, float *dw,
                                float *db, float *ws) {
    if (!dx && !dw) return;
    dgeom d;
    dgeom_init(c, &d);
    float *wp = ws, *slots = ws + d.wpk;
    if (dx) pack(w, c->C, c->O, d.kk, d.kx.cb, 1, wp);
    size_t xstride = (size_t)c->C * c->H * c->W, ystride = (size_t)c->O * c->P;
    size_t wsize = (size_t)c->O * c->C * d.kk;
    for (int i0 = 0; i0 < c->N; i0 += d.nb) {
        int nb = c->N - i0 < d.nb ? c->N - i0 : d.nb, ng = (nb + DW_GROUP - 1) / DW_GROUP;
#pragma omp parallel for schedule(static) if (ng > 1 && parallel_for(c, nb))
        for (int q = 0; q < ng; q++) {
            float *s = slots + (size_t)q * (d.slot_b + d.part), *part = s + d.slot_b;
            double *dbl = (double *)(part + d.part_w); /* [o][lane] */
            float *xp = s, *dye = s + DW_GROUP * d.xps;                /* dw: the group */
            float *dyp = s + d.dwb, *dxe = dyp + (size_t)c->O * d.dcs; /* dx: one image */
            if (dw) memset(part, 0, sizeof(float) * d.part);
            int k0 = q * DW_GROUP, k1 = k0 + DW_GROUP < nb ? k0 + DW_GROUP : nb;
            /* image by image, dy read from memory once (into dx's padded planes, then from
             * cache into dw's layout), x padded, dx computed; then dw on the group */
            for (int k = k0; k < k1; k++) {
                size_t i = (size_t)(i0 + k);
                float *dyi = dy + i * ystride;
                if (relu_y) /* the fused ReLU's (or ReLU6's) backward */
                    for (size_t e = 0; e < ystride; e++)
                        dyi[e] = glia__act_grad(relu_y[i * ystride + e], dyi[e], act);
                if (dx)
                    pad_planes(dyi, c->O, c->OH, c->OW, c->kh - 1, c->kw - 1, d.Wp, d.dcs, dyp);
                if (dw) { /* xp, then dy in the extended layout (dye or dyt) */
                    float *dk = dye + (size_t)(k - k0) * d.dys;
                    if (db && !d.use_t) /* db: images in order, lanes (dyt's do it too) */
                        for (int o = 0; o < c->O; o++)
                            glia__lanes_sum(dbl + (size_t)o * GLIA_LANES, dyi + (size_t)o * c->P,
                                            c->P);
                    pad_planes(x + i * xstride, c->C, c->H, c->W, c->pt, c->pl, d.Wp, d.xcs,
                               xp + (size_t)(k - k0) * d.xps);
                    if (d.use_t) { /* dyt[p][o], zero in channels O..Ot-1 */
                        if (d.Ot > c->O) memset(dk, 0, sizeof(float) * d.dys);
                        glia__conv_dyt(dyi, c->O, c->P, d.Ot, dk, db ? dbl : NULL, d.k.vw == 16);
                    } else { /* dye[o][h Wp + v], zero in junk columns and extra rows */
                        memset(dk, 0, sizeof(float) * d.dys);
                        for (int o = 0; o < c->O; o++)
                            for (int h = 0; h < c->OH; h++)
                                memcpy(dk + (size_t)o * d.len + (size_t)h * d.Wp,
                                       dyi + ((size_t)o * c->OH + h) * c->OW,
                                       sizeof(float) * (size_t)c->OW);
                    }
                }
                if (dx) { /* meanwhile the next image of the group and this dx come in */
                    pf_streams pf;
                memset(&pf, 0, sizeof pf);
                    if (k + 1 < k1) next_image(c, i + 1, x, dw != NULL, dy, relu_y, &pf);
                    pf_add(&pf, 3, dx + i * xstride, xstride);
                    d.kx.run(dyp + (size_t)c->pt * d.Wp, d.dcs, c->O, wp, d.Cb / d.kx.cb,
                             c->kh, c->kw, d.Wp, d.lenq, dxe, &pf);
                    unpack(dxe + c->pl, c->C, d.lenq, c->H, c->W, d.Wp, NULL, 1, 0,
                           dx + i * xstride);
                }
            }
            if (dw) { /* meanwhile the next group's first image comes in */
                pf_streams pf;
                memset(&pf, 0, sizeof pf);
                if (i0 + k1 < c->N) next_image(c, (size_t)(i0 + k1), x, 1, dy, relu_y, &pf);
                if (d.use_t)
                    d.kt.run(dye, d.dys, d.Ot, c->OH, c->OW, xp, d.xps, d.xcs, c->C, c->kh,
                             c->kw, d.Wp, k1 - k0, part, &pf);
                else
                    d.k.dw(dye, d.dys, c->O, d.len, xp, d.xps, d.xcs, c->C, c->kh, c->kw, d.Wp,
                           k1 - k0, part);
            }
        }
        if (dw) { /* dw[o][r] (r = c kk + t) += the groups' partials, in group order, by
                   * blocks of 16 r: their rows of the partials (dwt's are [r][Ot]) stay in
                   * cache over the o loop, rather than a line from L3 per element; db too */
            size_t ostride = d.use_t ? 1 : wsize / c->O, rstride = d.use_t ? (size_t)d.Ot : 1;
            const float *p0 = slots + d.slot_b;
            size_t qs = d.slot_b + d.part, R = wsize / c->O;
            int nrb = (int)((R + 15) / 16);
#pragma omp parallel for schedule(static) if ((int64_t)wsize * ng >= GLIA_PAR_MIN)
            for (int rb = 0; rb < nrb; rb++) {
                size_t r0 = (size_t)rb * 16, r1 = r0 + 16 < R ? r0 + 16 : R;
                for (int o = 0; o < c->O; o++)
                    for (size_t r = r0; r < r1; r++) {
                        float v = dw[(size_t)o * R + r];
                        const float *p = p0 + (size_t)o * ostride + r * rstride;
                        for (int q = 0; q < ng; q++) v += p[(size_t)q * qs];
                        dw[(size_t)o * R + r] = v;
                    }
            }
            for (int o = 0; db && o < c->O; o++) {
                double t = 0;
                for (int q = 0; q < ng; q++)
                    t += glia__lanes_total((const double *)(p0 + (size_t)q * qs + d.part_w) +
                                           (size_t)o * GLIA_LANES);
                db[o] += (float)t;
            }
        }
    }
}
