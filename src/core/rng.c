/* rng.c: PCG32 (O'Neill 2014, "PCG: a family of simple fast space-efficient statistically good
 * algorithms"): 64-bit LCG state, output = rotate(xorshift(state)). Same sequence on every
 * platform, so runs are reproducible from a seed. */
#include "glia.h"
#include <math.h>

uint32_t glia_rng_u32(glia_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

void glia_rng_seed(glia_rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    glia_rng_u32(r);
    r->state += seed;
    glia_rng_u32(r);
}

/* 24 random bits -> a float in [0, 1) with every value exactly representable */
float glia_rng_uniform(glia_rng *r) { return (float)(glia_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float glia_rng_normal(glia_rng *r) {
    /* Box-Muller: z = sqrt(-2 ln u1) cos(2 pi u2), u1 in (0, 1] */
    double u1 = ((double)glia_rng_u32(r) + 1.0) / 4294967296.0;
    double u2 = (double)glia_rng_u32(r) / 4294967296.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* Lemire's rejection: no modulo bias */
uint32_t glia_rng_below(glia_rng *r, uint32_t n) {
    if (n == 0) return 0;
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = glia_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}
