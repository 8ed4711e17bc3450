/* conv_direct_kernels.h: the direct convolution's two inner loops, written once and compiled
 * once per instruction set: conv_direct.c includes this file with
 *   VW        floats per vector
 *   CB, NV    forward register block: CB output channels x NV vectors of positions
 *   CBW, KXB  weight-gradient register block (dw): CBW output channels x KXB kernel columns
 *   TB, OVW   weight-gradient register block (dwt): TB kernel taps x OVW vectors of channels
 *   KFN(f)    f with the set's suffix;  KTARGET  the set's target attribute (or nothing)
 *   KEEP(v)   keeps vector v in a register (GCC otherwise re-reads a value used by several
 *             FMAs from memory in each, and the dw loop becomes bound by its loads)
 * (all undefined again at the end of this file). The accumulators are GCC/clang vector types; -O3 unrolls the constant-size block loops and
 * keeps every accumulator in a register. */

typedef float KFN(vec) __attribute__((vector_size(VW * sizeof(float))));

/* ye[o][p] = sum_c sum_{i,j} wp[o][c][i kw + j] xp[c][p + i Wp + j]   for p < len (a multiple
 * of VW NV), for nblk blocks of CB output channels; wp is packed [block][c][i][j][CB] (zero past
 * the last channel), ye is [nblk CB][len]. One tap: NV vector loads, CB broadcasts, CB NV FMAs. */
KTARGET static void KFN(fwd)(const float *xp, size_t xcs, int C, const float *wp, int nblk,
                             int kh, int kw, int Wp, int len, float *ye) {
    typedef KFN(vec) vec;
    for (int b = 0; b < nblk; b++) {
        const float *wb = wp + (size_t)b * C * kh * kw * CB;
        float *yb = ye + (size_t)b * CB * len;
        for (int p0 = 0; p0 < len; p0 += VW * NV) {
            vec acc[CB][NV];
            for (int j = 0; j < CB; j++)
                for (int v = 0; v < NV; v++) acc[j][v] = (vec){0};
            const float *wk = wb;
            for (int c = 0; c < C; c++) {
                for (int i = 0; i < kh; i++) {
                    const float *xr = xp + (size_t)c * xcs + (size_t)i * Wp + p0;
                    for (int t = 0; t < kw; t++, wk += CB) {
                        vec in[NV];
                        for (int v = 0; v < NV; v++) memcpy(&in[v], xr + t + v * VW, sizeof(vec));
                        for (int j = 0; j < CB; j++)
                            for (int v = 0; v < NV; v++) acc[j][v] += in[v] * wk[j];
                    }
                }
            }
            for (int j = 0; j < CB; j++)
                for (int v = 0; v < NV; v++)
                    memcpy(yb + (size_t)j * len + p0 + v * VW, &acc[j][v], sizeof(vec));
        }
    }
}

/* dwi[o][c][i][j] += sum_k sum_{p < len} dye_k[o][p] xp_k[c][p + i Wp + j]   for the nimg images
 * k (dye_k = dye + k dys, xp_k = xp + k xps), o < O and every c, i, j. dye is [O rounded up to
 * CBW][len], zero in its junk columns and extra rows, so the kernel columns past kw (in the
 * last block of KXB) and the extra rows are computed and dropped. Each sum runs per vector lane
 * over the images and positions, then over the lanes in a fixed tree: a fixed order. */
KTARGET static void KFN(dw)(const float *dye, size_t dys, int O, int len, const float *xp,
                            size_t xps, size_t xcs, int C, int kh, int kw, int Wp, int nimg,
                            float *dwi) {
    typedef KFN(vec) vec;
    for (int o0 = 0; o0 < O; o0 += CBW)
        for (int c = 0; c < C; c++)
            for (int i = 0; i < kh; i++)
                for (int j0 = 0; j0 < kw; j0 += KXB) {
                    vec acc[CBW][KXB];
                    for (int o = 0; o < CBW; o++)
                        for (int j = 0; j < KXB; j++) acc[o][j] = (vec){0};
                    for (int k = 0; k < nimg; k++) {
                        const float *xr = xp + k * xps + (size_t)c * xcs + (size_t)i * Wp + j0;
                        const float *dr = dye + k * dys + (size_t)o0 * len;
                        for (int p0 = 0; p0 < len; p0 += VW) {
                            vec xv[KXB];
                            for (int j = 0; j < KXB; j++) memcpy(&xv[j], xr + p0 + j, sizeof(vec));
                            for (int o = 0; o < CBW; o++) {
                                vec d;
                                memcpy(&d, dr + (size_t)o * len + p0, sizeof(vec));
                                KEEP(d);
                                for (int j = 0; j < KXB; j++) acc[o][j] += d * xv[j];
                            }
                        }
                    }
                    for (int o = 0; o < CBW && o0 + o < O; o++)
                        for (int j = 0; j < KXB && j0 + j < kw; j++) {
                            float t[VW]; /* lanes summed pairwise: log2(VW) dependent adds */
                            memcpy(t, &acc[o][j], sizeof t);
                            for (int h = VW / 2; h >= 1; h /= 2)
                                for (int l = 0; l < h; l++) t[l] += t[l + h];
                            dwi[(((size_t)(o0 + o) * C + c) * kh + i) * kw + j0 + j] += t[0];
                        }
                }
}

/* The weight gradient with the output channels in the vectors, for layers with enough of them:
 *   dwt[c][t][o] += sum_k sum_{p < len} xp_k[c][p + off(t)] dyt_k[p][o]     off(t) = i Wp + j
 * for t = i kw + j < kh kw and every o < Ot, images k < nimg (xp_k = xp + k xps, dyt_k = dyt +
 * k dts). dyt is dy transposed to [len][Ot] (Ot: O rounded up to VW OVW), zero in junk rows and
 * extra channels. A step over p: OVW vector loads, TB broadcasts, TB OVW FMAs, and no sum
 * across lanes (each lane is its own output channel), so short planes cost no reductions. */
KTARGET static void KFN(dwt)(const float *dyt, size_t dts, int Ot, int len, const float *xp,
                             size_t xps, size_t xcs, int C, int kh, int kw, int Wp, int nimg,
                             float *dwt) {
    typedef KFN(vec) vec;
    int kk = kh * kw;
    for (int o0 = 0; o0 < Ot; o0 += VW * OVW)
        for (int c = 0; c < C; c++)
            for (int t0 = 0; t0 < kk; t0 += TB) {
                int off[TB]; /* taps past the kernel read tap 0 and are dropped */
                for (int b = 0; b < TB; b++)
                    off[b] = t0 + b < kk ? (t0 + b) / kw * Wp + (t0 + b) % kw : 0;
                vec acc[TB][OVW];
                for (int b = 0; b < TB; b++)
                    for (int v = 0; v < OVW; v++) acc[b][v] = (vec){0};
                for (int k = 0; k < nimg; k++) {
                    const float *xr = xp + k * xps + (size_t)c * xcs;
                    const float *dr = dyt + k * dts + o0;
                    for (int p = 0; p < len; p++, dr += Ot) {
                        vec d[OVW];
                        for (int v = 0; v < OVW; v++) {
                            memcpy(&d[v], dr + v * VW, sizeof(vec));
                            KEEP(d[v]);
                        }
                        for (int b = 0; b < TB; b++) {
                            float xv = xr[p + off[b]];
                            for (int v = 0; v < OVW; v++) acc[b][v] += d[v] * xv;
                        }
                    }
                }
                for (int b = 0; b < TB && t0 + b < kk; b++)
                    for (int v = 0; v < OVW; v++) {
                        float *o = dwt + ((size_t)c * kk + t0 + b) * Ot + o0 + v * VW;
                        vec s;
                        memcpy(&s, o, sizeof(vec));
                        s += acc[b][v];
                        memcpy(o, &s, sizeof(vec));
                    }
            }
}

static const kernel_set KFN(set) = {VW, CB, NV, CBW, KXB, TB, OVW, KFN(fwd), KFN(dw), KFN(dwt)};

#undef VW
#undef CB
#undef NV
#undef CBW
#undef KXB
#undef TB
#undef OVW
#undef KFN
#undef KTARGET
