/* lane_sums.h: sums of float arrays in double, in a fixed order that does not wait on the add.
 *
 * One running sum s += x[i] is a chain of dependent adds (4 cycles each here): a 64 x 32 x 784
 * bias gradient took 1 ms that way. Instead lane l (of LANES) sums the elements i = l (mod
 * LANES) of each call, and the lanes are added in lane order at the end: still one fixed order
 * for given shapes (so the bits do not depend on threads), but LANES independent chains, which
 * the compiler also vectorises. The caller keeps a double acc[LANES] (zeroed) per sum. */
#ifndef GLIA_LANE_SUMS_H
#define GLIA_LANE_SUMS_H

#include <stdint.h>

#define GLIA_LANES 8

/* acc[l] += x[i] */
static inline void glia__lanes_sum(double *acc, const float *x, int64_t n) {
    double a[GLIA_LANES];
    for (int l = 0; l < GLIA_LANES; l++) a[l] = acc[l];
    int64_t i = 0;
    for (; i + GLIA_LANES <= n; i += GLIA_LANES)
        for (int l = 0; l < GLIA_LANES; l++) a[l] += x[i + l];
    for (int l = 0; i < n; i++, l++) a[l] += x[i];
    for (int l = 0; l < GLIA_LANES; l++) acc[l] = a[l];
}

/* acc[l] += (x[i] - mu)^2 */
static inline void glia__lanes_sumsq(double *acc, const float *x, double mu, int64_t n) {
    double a[GLIA_LANES];
    for (int l = 0; l < GLIA_LANES; l++) a[l] = acc[l];
    int64_t i = 0;
    for (; i + GLIA_LANES <= n; i += GLIA_LANES)
        for (int l = 0; l < GLIA_LANES; l++) {
            double v = x[i + l] - mu;
            a[l] += v * v;
        }
    for (int l = 0; i < n; i++, l++) {
        double v = x[i] - mu;
        a[l] += v * v;
    }
    for (int l = 0; l < GLIA_LANES; l++) acc[l] = a[l];
}

/* acc[l] += g[i];  accx[l] += g[i] (x[i] - mu) is */
static inline void glia__lanes_sum_dot(double *acc, double *accx, const float *g, const float *x,
                                       double mu, double is, int64_t n) {
    double a[GLIA_LANES], b[GLIA_LANES];
    for (int l = 0; l < GLIA_LANES; l++) a[l] = acc[l], b[l] = accx[l];
    int64_t i = 0;
    for (; i + GLIA_LANES <= n; i += GLIA_LANES)
        for (int l = 0; l < GLIA_LANES; l++) {
            a[l] += g[i + l];
            b[l] += g[i + l] * ((x[i + l] - mu) * is);
        }
    for (int l = 0; i < n; i++, l++) {
        a[l] += g[i];
        b[l] += g[i] * ((x[i] - mu) * is);
    }
    for (int l = 0; l < GLIA_LANES; l++) acc[l] = a[l], accx[l] = b[l];
}

/* the lanes' total, in lane order */
static inline double glia__lanes_total(const double *acc) {
    double s = 0;
    for (int l = 0; l < GLIA_LANES; l++) s += acc[l];
    return s;
}

#endif
