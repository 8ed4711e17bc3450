/* conv_direct_dwt.h: the weight gradient with the output channels in the vector lanes, for one
 * register block; included by conv_direct_kernels.h once per block shape with
 *   DNAME      the function's name (before the instruction set's suffix)
 *   TB, OVW    the block: TB kernel taps x OVW vectors of output channels
 * (undefined again at the end). TB is at most 9: the taps' offsets live in general registers.
 *
 *   dwt[c][t][o] += sum_k sum_{h < OH, v < OW} xp_k[c][h Wp + v + off(t)] dyt_k[h OW + v][o]
 * with off(t) = i Wp + j for t = i kw + j < kh kw, every o < Ot, images k < nimg (xp_k = xp +
 * k xps, dyt_k = dyt + k dts). dyt is dy transposed to [OH OW][Ot] (Ot: O rounded up to VW
 * OVW), zero in the extra channels. A step over an output position: OVW vector loads, TB
 * broadcasts, TB OVW FMAs, and no sum across lanes (each lane is its own output channel), so
 * short planes cost no reductions, and only real positions are visited (no junk columns). */
KTARGET static void KFN(DNAME)(const float *dyt, size_t dts, int Ot, int OH, int OW,
                               const float *xp, size_t xps, size_t xcs, int C, int kh, int kw,
                               int Wp, int nimg, float *dwt, pf_streams *pf) {
    typedef KFN(vec) vec;
    int kk = kh * kw;
    /* pf (or NULL): prefetch streams, advanced once per row of positions */
    pf_plan(pf, (size_t)(Ot / (VW * OVW)) * C * ((kk + TB - 1) / TB) * nimg * OH);
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
                    const float *dr = dyt + k * dts + o0;
                    for (int h = 0; h < OH; h++) {
                        pf_next(pf);
                        const float *xr = xp + k * xps + (size_t)c * xcs + (size_t)h * Wp;
                        for (int p = 0; p < OW; p++, dr += Ot) {
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

#undef DNAME
#undef TB
#undef OVW
