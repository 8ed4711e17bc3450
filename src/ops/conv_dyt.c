/* conv_dyt.c: one image's dy transposed for the direct path's dwt kernel, with the bias
 * gradient's lanes summed from the same loads.
 *
 *   dk[p Ot + o] = dy[o P + p]                           o < O, p < P
 *   dbl[o GLIA_LANES + p mod GLIA_LANES] += dy[o P + p]   p in increasing order per lane
 *
 * The bias lanes get exactly the adds of glia__lanes_sum(dbl + o GLIA_LANES, dy + o P, P), so
 * db has the same bits whichever code ran. Element by element this transposition was a quarter
 * of the VGG-style weight gradient's time (a store per float, 59 us per 4 images of 32 x 784);
 * on AVX-512 it goes by 16 x 16 blocks in registers: 16 loads, 64 shuffles, 16 stores. */
#include "conv.h"
#include "../core/lane_sums.h"

/* the scalar loops over o in [o0, o1), p in [p0, P): p by blocks of 16, whose dk rows stay in
 * L1 over the o loop (o inner) */
static void dyt_scalar(const float *dy, int o0, int o1, int p0, int P, int Ot, float *dk,
                       double *dbl) {
    for (int b = p0; b < P; b += 16) {
        int b1 = b + 16 < P ? b + 16 : P;
        for (int o = o0; o < o1; o++)
            for (int p = b; p < b1; p++) {
                float v = dy[(size_t)o * P + p];
                dk[(size_t)p * Ot + o] = v;
                if (dbl) dbl[(size_t)o * GLIA_LANES + p % GLIA_LANES] += v;
            }
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_DYT_AVX512 1
_Static_assert(GLIA_LANES == 8, "dyt_block16 adds a row's 16 floats as two sets of 8 lanes");

/* The 16 x 16 block at channels o0.., positions p0..: four rounds of shuffles, each pairing
 * rows at twice the distance of the one before (1, 2, then 4 and 8 by 128-bit quarters).
 * GLIA_LANES is 8: a row's 16 floats are lanes 0-7 twice, added low half first (p0 is a
 * multiple of 16). */
__attribute__((target("avx512f"))) static void dyt_block16(const float *dy, int P, int Ot,
                                                            int o0, int p0, float *dk,
                                                            double *dbl) {
    __m512 r[16], t[16], u[16];
    for (int i = 0; i < 16; i++) {
        r[i] = _mm512_loadu_ps(dy + (size_t)(o0 + i) * P + p0);
        if (dbl) {
            double *a = dbl + (size_t)(o0 + i) * GLIA_LANES;
            __m512d s = _mm512_loadu_pd(a);
            s = _mm512_add_pd(s, _mm512_cvtps_pd(_mm512_castps512_ps256(r[i])));
            s = _mm512_add_pd(
                s, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r[i]), 1))));
            _mm512_storeu_pd(a, s);
        }
    }
    /* per 128-bit quarter q (columns 4q..4q+3), rows a, b, c, d = 4i..4i+3:
     * t: a0 b0 a1 b1 | a2 b2 a3 b3;  u[4i + j]: a_j b_j c_j d_j (column 4q + j) */
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    /* column 4q + j = quarter q of u[j], u[4 + j], u[8 + j], u[12 + j]: gather the even and
     * odd quarters (0x88, 0xDD), then once more */
    for (int j = 0; j < 4; j++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
        __m512 v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        __m512 v3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
        float *d = dk + (size_t)p0 * Ot + o0;
        _mm512_storeu_ps(d + (size_t)j * Ot, _mm512_shuffle_f32x4(v0, v2, 0x88));
        _mm512_storeu_ps(d + (size_t)(8 + j) * Ot, _mm512_shuffle_f32x4(v0, v2, 0xDD));
        _mm512_storeu_ps(d + (size_t)(4 + j) * Ot, _mm512_shuffle_f32x4(v1, v3, 0x88));
        _mm512_storeu_ps(d + (size_t)(12 + j) * Ot, _mm512_shuffle_f32x4(v1, v3, 0xDD));
    }
}
#endif

void glia__conv_dyt(const float *dy, int O, int P, int Ot, float *dk, double *dbl,
                    int avx512) {
    int o16 = 0;
#ifdef HAVE_DYT_AVX512
    if (avx512) {
        o16 = O / 16 * 16;
        int p16 = P / 16 * 16;
        for (int p0 = 0; p0 < p16; p0 += 16)
            for (int o0 = 0; o0 < o16; o0 += 16) dyt_block16(dy, P, Ot, o0, p0, dk, dbl);
        dyt_scalar(dy, 0, o16, p16, P, Ot, dk, dbl); /* their last positions, in order */
    }
#endif
    dyt_scalar(dy, o16, O, 0, P, Ot, dk, dbl);
}
