/* pool_max2x2.c: the forward of max pooling's most common case, 2x2 windows with stride 2 and
 * no padding, 16 windows of an output row at a time in AVX-512 registers (pool.c runs its
 * scalar loops where these cannot run): one select chain per window was 11% of a LeNet-5
 * training step (pool1).
 *
 * Forward, for the 16 windows at columns 2 ow .. of rows 2 oh, 2 oh + 1: their 32 cells of each
 * row are loaded (the tail masked) and split into even and odd columns, giving the windows'
 * cells a = x[2oh][2ow], b = x[2oh][2ow+1], c = x[2oh+1][2ow], d = x[2oh+1][2ow+1] in four
 * vectors; then, as in the scalar scan (pool.c's take_if_larger), in this order:
 *   best = a, idx = 0;  for (v, i) in (b, 1), (c, W), (d, W + 1):
 *     if (v > best || v is NaN) best = v, idx = i
 *   y = best, arg = 2 oh W + 2 ow + idx
 * Backward stays pool.c's scatter, dx[arg] += dy. */
#include "../core/internal.h"
#include "pool.h"

int glia__pool_algo; /* test hook, see pool.h */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

int glia__max2x2_simd(void) { return glia__pool_algo == 0 && glia__cpu_avx512f(); }

/* lanes 0..15 of the cells of n (1..16) windows: the first row's lanes and the second's */
static inline __mmask16 lo_cells(int n) { return n >= 8 ? 0xFFFF : (__mmask16)((1u << 2 * n) - 1); }
static inline __mmask16 hi_cells(int n) {
    return n <= 8 ? 0 : n == 16 ? 0xFFFF : (__mmask16)((1u << (2 * n - 16)) - 1);
}

__attribute__((target("avx512f"))) void glia__max2x2_forward(const float *x, float *y,
                                                              int32_t *arg, int W, int OH,
                                                              int OW) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i one = _mm512_set1_epi32(1), down = _mm512_set1_epi32(W),
                  diag = _mm512_set1_epi32(W + 1);
    for (int oh = 0; oh < OH; oh++) {
        const float *r0 = x + (size_t)2 * oh * W, *r1 = r0 + W;
        for (int ow = 0; ow < OW; ow += 16) {
            int n = OW - ow < 16 ? OW - ow : 16, c0 = 2 * ow;
            __mmask16 mo = (__mmask16)((1u << n) - 1), ml = lo_cells(n), mh = hi_cells(n);
            __m512 l0 = _mm512_maskz_loadu_ps(ml, r0 + c0), h0 = _mm512_maskz_loadu_ps(mh, r0 + c0 + 16);
            __m512 l1 = _mm512_maskz_loadu_ps(ml, r1 + c0), h1 = _mm512_maskz_loadu_ps(mh, r1 + c0 + 16);
            __m512 best = _mm512_permutex2var_ps(l0, even, h0);
            __m512i idx = _mm512_setzero_si512();
            const __m512 v[3] = {_mm512_permutex2var_ps(l0, odd, h0),
                                 _mm512_permutex2var_ps(l1, even, h1),
                                 _mm512_permutex2var_ps(l1, odd, h1)};
            const __m512i at[3] = {one, down, diag};
            for (int k = 0; k < 3; k++) {
                __mmask16 take = _mm512_cmp_ps_mask(v[k], best, _CMP_GT_OQ) |
                                 _mm512_cmp_ps_mask(v[k], v[k], _CMP_UNORD_Q);
                best = _mm512_mask_mov_ps(best, take, v[k]);
                idx = _mm512_mask_mov_epi32(idx, take, at[k]);
            }
            /* arg = 2 oh W + 2 (ow + lane) + idx */
            idx = _mm512_add_epi32(idx, _mm512_add_epi32(even, _mm512_set1_epi32(2 * oh * W + c0)));
            _mm512_mask_storeu_ps(y + (size_t)oh * OW + ow, mo, best);
            _mm512_mask_storeu_epi32(arg + (size_t)oh * OW + ow, mo, idx);
        }
    }
}

#else
int glia__max2x2_simd(void) { return 0; }
void glia__max2x2_forward(const float *x, float *y, int32_t *arg, int W, int OH, int OW) {
    (void)x, (void)y, (void)arg, (void)W, (void)OH, (void)OW;
}
#endif
