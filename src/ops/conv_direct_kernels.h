/* conv_direct_kernels.h: the direct convolution's inner loops, written once and compiled
 * once per instruction set: conv_direct.c includes this file with
 *   VW        floats per vector
 *   CB0, NV0  forward register blocks (conv_direct_fwd.h): CB output channels x NV vectors of
 *   CB1, NV1  positions; each layer takes the one that wastes fewer lanes (conv_direct.c)
 *   CBW, KXB  weight-gradient register block (dw): CBW output channels x KXB kernel columns
 *   TB0, OVW0 weight-gradient register blocks (dwt, conv_direct_dwt.h): TB kernel taps x OVW
 *   TB1, OVW1 vectors of output channels
 *   KSUF      the set's suffix on every function name;  KTARGET  its target attribute (or none)
 *   KEEP(v)   keeps vector v in a register (GCC otherwise re-reads a value used by several
 *             FMAs from memory in each, and the dw loop becomes bound by its loads)
 * (all undefined again at the end of this file). The accumulators are GCC/clang vector types;
 * -O3 unrolls the constant-size block loops and keeps every accumulator in a register. */

#define KCAT_(a, b) a##_##b
#define KCAT(a, b) KCAT_(a, b)
#define KFN(f) KCAT(f, KSUF)

typedef float KFN(vec) __attribute__((vector_size(VW * sizeof(float))));

#define FNAME fwd0
#define FCB CB0
#define FNV NV0
#include "conv_direct_fwd.h"
#define FNAME fwd1
#define FCB CB1
#define FNV NV1
#include "conv_direct_fwd.h"

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

#define DNAME dwt0
#define TB TB0
#define OVW OVW0
#include "conv_direct_dwt.h"
#define DNAME dwt1
#define TB TB1
#define OVW OVW1
#include "conv_direct_dwt.h"

static const kernel_set KFN(set) = {VW, CBW, KXB,
                                    {{KFN(fwd0), CB0}, {KFN(fwd1), CB1}}, KFN(dw),
                                    {{KFN(dwt0), TB0, OVW0}, {KFN(dwt1), TB1, OVW1}}};

#undef VW
#undef CB0
#undef NV0
#undef CB1
#undef NV1
#undef CBW
#undef KXB
#undef TB0
#undef OVW0
#undef TB1
#undef OVW1
#undef KSUF
#undef KFN
#undef KCAT
#undef KCAT_
#undef KTARGET
