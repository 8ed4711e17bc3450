/* conv_direct_fwd.h: the direct convolution's forward kernel for one register block, included
 * by conv_direct_kernels.h once per block shape with
 *   FNAME     the function's name (before the instruction set's suffix)
 *   FCB, FNV  the block: FCB output channels x FNV vectors of positions
 * (undefined again at the end). Accumulators: FCB FNV vectors, inputs: FNV, and one broadcast
 * (a memory operand on AVX-512): within the 32 (AVX-512) or 16 (AVX2, SSE) vector registers.
 *
 * ye[o][p] = sum_c sum_{i,j} wp[o][c][i kw + j] xp[c][p + i Wp + j]   for p < len (a multiple
 * of VW), for nblk blocks of FCB output channels; wp is packed [block][c][i][j][FCB] (zero
 * past the last channel), ye is [nblk FCB][len]. One tap: FNV vector loads, FCB broadcasts,
 * FCB FNV FMAs; the last len mod (VW FNV) positions go one vector at a time. */

/* one block of FCB channels x nv vectors at positions p0.. (nv = FNV, or 1 in the tail: a
 * constant once inlined, so the loops unroll and the accumulators stay in registers) */
KTARGET static inline __attribute__((always_inline)) void
KFN(KCAT(FNAME, blk))(const float *xp, size_t xcs, int C, const float *wb, int kh, int kw,
                      int Wp, int len, int p0, int nv, float *yb) {
    typedef KFN(vec) vec;
    vec acc[FCB][FNV];
    for (int j = 0; j < FCB; j++)
        for (int v = 0; v < nv; v++) acc[j][v] = (vec){0};
    const float *wk = wb;
    for (int c = 0; c < C; c++) {
        for (int i = 0; i < kh; i++) {
            const float *xr = xp + (size_t)c * xcs + (size_t)i * Wp + p0;
            for (int t = 0; t < kw; t++, wk += FCB) {
                vec in[FNV];
                for (int v = 0; v < nv; v++) memcpy(&in[v], xr + t + v * VW, sizeof(vec));
                for (int j = 0; j < FCB; j++)
                    for (int v = 0; v < nv; v++) acc[j][v] += in[v] * wk[j];
            }
        }
    }
    for (int j = 0; j < FCB; j++)
        for (int v = 0; v < nv; v++)
            memcpy(yb + (size_t)j * len + p0 + v * VW, &acc[j][v], sizeof(vec));
}

/* pf (or NULL): prefetch streams, advanced once per block */
KTARGET static void KFN(FNAME)(const float *xp, size_t xcs, int C, const float *wp, int nblk,
                               int kh, int kw, int Wp, int len, float *ye, pf_streams *pf) {
    int full = len - len % (VW * FNV);
    pf_plan(pf, (size_t)nblk * (full / (VW * FNV) + (len - full) / VW));
    for (int b = 0; b < nblk; b++) {
        const float *wb = wp + (size_t)b * C * kh * kw * FCB;
        float *yb = ye + (size_t)b * FCB * len;
        int p0 = 0;
        for (; p0 < full; p0 += VW * FNV) {
            pf_next(pf);
            KFN(KCAT(FNAME, blk))(xp, xcs, C, wb, kh, kw, Wp, len, p0, FNV, yb);
        }
        for (; p0 < len; p0 += VW) {
            pf_next(pf);
            KFN(KCAT(FNAME, blk))(xp, xcs, C, wb, kh, kw, Wp, len, p0, 1, yb);
        }
    }
}

#undef FNAME
#undef FCB
#undef FNV
