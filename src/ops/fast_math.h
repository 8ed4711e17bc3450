/* fast_math.h: e^x, sigmoid and tanh from arithmetic and bit operations only, so that loops over
 * them vectorise (the recurrent cells, the tanh op), and the AVX-512 target attribute those loops
 * are compiled a second time with (glibc's expf and tanhf are calls the compiler cannot
 * vectorise). */
#ifndef GLIA_FAST_MATH_H
#define GLIA_FAST_MATH_H
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GLIA_AVX512 __attribute__((target("avx512f")))
#else
#define GLIA_AVX512 /* never picked: glia__cpu_avx512f() is 0 */
#endif

/* e^x with arithmetic and bit operations only, so that the cells' loops over units vectorise
 * (a call to glibc's expf per gate and unit was half of an LSTM step: 5 per unit). Cephes'
 * expf: x = n ln2 + r (n = round(x log2 e), ln2 in two parts for an exact r), e^r by a degree-6
 * polynomial on |r| <= ln2/2, and 2^n written into the exponent bits. x is clamped to
 * [-87.3, 88] first (2^n stays a normal float; e^88 is 1.7e38, far past where the cells
 * saturate); a NaN passes through the clamps and the arithmetic. Within 2 ulp of expf over
 * [-87, 88] (measured against double). */
/* c ? a : b by bit masks: a select the compiler keeps as one (with a ternary it moved the
 * division of tanhf into a branch, which it may not then vectorise: the division could trap) */
static inline float glia__self(int c, float a, float b) {
    uint32_t m = -(uint32_t)(c != 0), ab, bb;
    memcpy(&ab, &a, sizeof ab);
    memcpy(&bb, &b, sizeof bb);
    ab = (ab & m) | (bb & ~m);
    memcpy(&a, &ab, sizeof a);
    return a;
}

static inline float glia__expf(float x) {
    x = glia__self(x > 88.0f, 88.0f, x);
    x = glia__self(x < -87.3f, -87.3f, x);
    float t = x * 1.44269504088896341f + 12582912.0f; /* 1.5 2^23: round to an integer */
    float n = t - 12582912.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * (r * r) +
              r + 1.0f;
    uint32_t sb = (tb - 0x4B400000u + 127u) << 23; /* 2^n: n + 127 in the exponent */
    float sc;
    memcpy(&sc, &sb, sizeof sc);
    return p * sc;
}

static inline float glia__sigmoidf(float v) { return 1.0f / (1.0f + glia__expf(-v)); }
/* tanh for the cells (glibc's tanhf goes through expm1f and cost 4x this). Cephes' tanhf: an
 * odd polynomial for |x| < 0.625, else 1 - 2 / (e^{2|x|} + 1); both computed and one selected,
 * so that loops vectorise; within 3 ulp of tanh over [-100, 100] (measured against double);
 * +-inf give +-1, NaN gives NaN. */
static inline float glia__tanhf(float x) {
    float a = fabsf(x), z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                    1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float r = 1.0f - 2.0f / (glia__expf(2.0f * a) + 1.0f);
    return glia__self(a < 0.625f, small, glia__self(x < 0.0f, -r, r));
}

#endif
