/* checked.h: products of sizes (dimensions, element and byte counts) checked BEFORE they are
 * formed, so that a huge shape from a file, a model text or an API call becomes an error and
 * never a wrapped count (signed overflow is undefined behaviour; {2^40, 2^24} used to wrap to 0
 * elements and pass every size check). Every reader and builder that multiplies sizes uses these. */
#ifndef GLIA_CHECKED_H
#define GLIA_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* The most elements one tensor, input, parameter or op output may have. */
#define GLIA_MAX_ELEMENTS ((int64_t)1 << 40)

/* *out = a * b when a, b >= 0 and a * b <= max; otherwise false and *out untouched.
 * The test is a division, so the product is only formed when it fits. */
static inline bool glia__mul_within(int64_t a, int64_t b, int64_t max, int64_t *out) {
    if (a < 0 || b < 0 || (a && b > max / a)) return false;
    *out = a * b;
    return true;
}

/* The element count of dims[0 .. ndim): -1 - i when dims[i] < 1 (the first such i), -1 - ndim
 * when the count exceeds max, so callers can name the culprit. */
static inline int64_t glia__dims_count(int ndim, const int64_t *dims, int64_t max) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 1) return -1 - i;
    for (int i = 0; i < ndim; i++)
        if (!glia__mul_within(n, dims[i], max, &n)) return -1 - ndim;
    return n;
}

#endif
