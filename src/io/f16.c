/* f16.c: IEEE 754 half precision (binary16: 1 sign, 5 exponent bits with bias 15, 10 mantissa
 * bits) <-> float. */
#include "f16.h"
#include <string.h>

float glia__f16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F) bits = sign | 0x7F800000u | (man << 13); /* inf, nan */
    else if (exp) bits = sign | ((exp + 112) << 23) | (man << 13);
    else if (!man) bits = sign;
    else { /* subnormal: normalise */
        exp = 113;
        while (!(man & 0x400)) { man <<= 1; exp--; }
        bits = sign | (exp << 23) | ((man & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t glia__f16_from_float(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return sign | 0x7E00;           /* NaN */
    if (ax >= 0x477FF000u) return sign | 0x7C00;          /* >= 65520 (and inf): inf */
    if (ax < 0x38800000u) {                               /* below 2^-14: subnormal or 0 */
        /* |f| + 0.5 in float rounds |f| to a multiple of 2^-24 (the ulp of 0.5), ties to
         * even, and leaves that multiple k in the low bits: k = half's bits (k = 1024 is the
         * smallest normal, 2^-14, which the encoding gives as well) */
        float a;
        memcpy(&a, &ax, 4);
        a += 0.5f;
        uint32_t u;
        memcpy(&u, &a, 4);
        return (uint16_t)(sign | (u - 0x3F000000u));
    }
    /* normal: rebias the exponent (127 -> 15), keep 10 of 23 mantissa bits, round the 13
     * dropped bits to nearest, ties to even (a carry into the exponent is right) */
    uint32_t h = ((ax >> 23) - 112) << 10 | (ax & 0x7FFFFF) >> 13, rest = ax & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}
