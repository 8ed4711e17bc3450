/* conv_depthwise.c: the forward of a depthwise convolution (one input channel per group:
 * MobileNet's 3x3 layers, any stride, padding, dilation and channel multiplier) directly, one
 * output plane at a time, instead of im2col + one GEMM per group (a 1 x kh kw by kh kw x P
 * product per channel, where the copies cost more than the multiply-adds: MobileNetV2 batch 1
 * spent 23% in im2col and 8% in memmove). Backward stays conv2d.c's im2col + GEMM.
 *
 *   y[n][o][oh][ow] = b[o] + sum_{i,j} w[o][0][i][j] x[n][o / m][oh sh - pt + i dh][ow sw - pl + j dw]
 *   (m = O / G output channels per input channel)
 *
 * Each plane's input is first copied into a slot of the workspace, zero-padded and split into
 * sw phases per row: padded row r (input row r - pt) holds, for phase ph < sw, the Lph values
 *   xp[r][ph][k] = x[r - pt][k sw + ph - pl]         (0 outside the input)
 * so that tap column ow sw + j dw = sw (ow + q) + ph, with ph = j dw mod sw, q = j dw / sw, is
 * xp[r][ph][ow + q]: contiguous in ow for any stride, vectorised without gathers
 * (conv_dw_kernel.h). Only the rows the output reads are kept: (OH - 1) sh + (kh - 1) dh + 1.
 *
 * Planes are independent: a chunk of planes (as many slots as fit in DW_CHUNK_BYTES) is spread
 * over the threads, each plane written by one thread with its taps summed in a fixed order
 * (i, j), so the bits do not depend on the number of threads. The kernels are compiled for
 * AVX-512, AVX2 and plain C vectors and picked from the CPU (glia__conv_algo 2 and 3 ask for
 * the narrower ones, as for conv_direct.c). */
#include "../core/internal.h"
#include "conv.h"
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast") /* a * b + c as one FMA (see conv_direct.c) */
#endif

#define DW_MAX_TAPS 64
#define DW_CHUNK_BYTES ((size_t)4 << 20)
#define DW_VMAX 16 /* the widest vector: rows are padded for it whatever set runs */

/* one plane's tap offsets in its padded slot */
typedef struct {
    int kk;
    size_t row_step;        /* floats from one output row's first padded row to the next's */
    size_t off[DW_MAX_TAPS]; /* tap t = i kw + j: (i dh) rs + ph Lph + q */
} dw_taps;

/* the padded slot's geometry */
typedef struct {
    int Hp, Lph;
    size_t rs, slot; /* floats per padded row (sw phases), per slot */
    int nslots;
} dw_geom;

/* input plane x [H][W] into slot xp (the header's layout); inlined into each set's kernel
 * (conv_dw_kernel.h), where the stride-2 split vectorises */
static inline __attribute__((always_inline)) void pad_plane(const conv_geom *c, const dw_geom *d, const float *x, float *xp) {
    for (int r = 0; r < d->Hp; r++) {
        float *row = xp + (size_t)r * d->rs;
        int ih = r - c->pt;
        if (ih < 0 || ih >= c->H) {
            memset(row, 0, d->rs * sizeof(float));
            continue;
        }
        const float *xr = x + (size_t)ih * c->W;
        for (int ph = 0; ph < c->sw; ph++) {
            float *o = row + (size_t)ph * d->Lph;
            /* k in [lo, hi): column k sw + ph - pl inside [0, W) */
            int first = c->pl - ph, lo = first <= 0 ? 0 : (first + c->sw - 1) / c->sw;
            int hi = (c->W - 1 + c->pl - ph) < 0 ? 0 : (c->W - 1 + c->pl - ph) / c->sw + 1;
            if (hi > d->Lph) hi = d->Lph;
            if (lo > hi) lo = hi;
            memset(o, 0, (size_t)lo * sizeof(float));
            const float *xs = xr + ph - c->pl; /* o[k] = xs[k sw] */
            if (c->sw == 1) memcpy(o + lo, xr + lo - c->pl, (size_t)(hi - lo) * sizeof(float));
            else if (c->sw == 2) /* a constant stride: vectorised (a run-time one was 20x slower) */
                for (int k = lo; k < hi; k++) o[k] = xs[2 * k];
            else
                for (int k = lo; k < hi; k++) o[k] = xr[k * c->sw + ph - c->pl];
            memset(o + hi, 0, (size_t)(d->Lph - hi) * sizeof(float));
        }
    }
    memset(xp + (size_t)d->Hp * d->rs, 0, DW_VMAX * sizeof(float));
}

#define KSUF generic
#define KTARGET
#define VW 4
#include "conv_dw_kernel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_SETS 1
#define KSUF avx2
#define KTARGET __attribute__((target("avx2,fma")))
#define VW 8
#include "conv_dw_kernel.h"
#define KSUF avx512
#define KTARGET __attribute__((target("avx512f")))
#define VW 16
#include "conv_dw_kernel.h"
#endif

typedef void plane_fn(const conv_geom *c, const dw_geom *d, const float *x, float *xp,
                      const dw_taps *tp, const float *w, float b, int act, float *y);

static plane_fn *pick(void) {
#ifdef HAVE_X86_SETS
    __builtin_cpu_init();
    if (glia__conv_algo < 2 && glia__cpu_avx512f()) return dw_plane_avx512;
    if (glia__conv_algo < 3 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return dw_plane_avx2;
#endif
    return dw_plane_generic;
}

static void dgeom(const conv_geom *c, dw_geom *d) {
    d->Hp = (c->OH - 1) * c->sh + (c->kh - 1) * c->dh + 1;
    int ow_r = (c->OW + DW_VMAX - 1) / DW_VMAX * DW_VMAX;
    d->Lph = ow_r + (c->kw - 1) * c->dw / c->sw + 1;
    d->rs = (size_t)c->sw * (size_t)d->Lph;
    d->slot = (size_t)d->Hp * d->rs + DW_VMAX;
    int64_t planes = (int64_t)c->N * c->O;
    int64_t fit = (int64_t)(DW_CHUNK_BYTES / (d->slot * sizeof(float)));
    d->nslots = (int)(fit < 1 ? 1 : fit > planes ? planes : fit);
}

int glia__conv_dw_ok(const conv_geom *c) {
    if (glia__conv_algo == 1 || c->Cg != 1 || c->G < 2 || c->kh * c->kw > DW_MAX_TAPS) return 0;
    /* the slot's index arithmetic in size_t, its rows' in int */
    int64_t lph = (int64_t)c->OW + DW_VMAX + (int64_t)c->kw * c->dw;
    int64_t hp = (int64_t)c->OH * c->sh + (int64_t)c->kh * c->dh;
    return lph * c->sw < (1 << 24) && hp < (1 << 24);
}

size_t glia__conv_dw_ws(const conv_geom *c) {
    dw_geom d;
    dgeom(c, &d);
    return (size_t)d.nslots * d.slot * sizeof(float);
}

void glia__conv_dw_forward(const conv_geom *c, const float *x, const float *w, const float *bias,
                           int act, float *y, float *ws) {
    dw_geom d;
    dgeom(c, &d);
    dw_taps tp;
    tp.kk = c->kh * c->kw;
    tp.row_step = (size_t)c->sh * d.rs;
    for (int i = 0; i < c->kh; i++)
        for (int j = 0; j < c->kw; j++) {
            int col = j * c->dw;
            tp.off[i * c->kw + j] = (size_t)i * c->dh * d.rs + (size_t)(col % c->sw) * d.Lph +
                                    (size_t)(col / c->sw);
        }
    plane_fn *run = pick();
    int64_t planes = (int64_t)c->N * c->O;
    size_t xplane = (size_t)c->H * c->W;
    int m = c->Og; /* output channels per input channel */
    for (int64_t t0 = 0; t0 < planes; t0 += d.nslots) {
        int nb = planes - t0 < d.nslots ? (int)(planes - t0) : d.nslots;
#pragma omp parallel for schedule(static) if ((int64_t)nb * c->P * tp.kk >= GLIA_PAR_MIN)
        for (int k = 0; k < nb; k++) {
            int64_t t = t0 + k, n = t / c->O, o = t % c->O;
            float *xp = ws + (size_t)k * d.slot;
            run(c, &d, x + ((size_t)n * c->C + (size_t)(o / m)) * xplane, xp, &tp,
                w + (size_t)o * tp.kk, bias ? bias[o] : 0.0f, act, y + (size_t)t * c->P);
        }
    }
}
