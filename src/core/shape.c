/* shape.c: tensor shapes (up to GLIA_MAX_DIMS dimensions, contiguous row-major). */
#include "internal.h"
#include <stdio.h>

/* Saturates instead of wrapping: a product over INT64_MAX is INT64_MAX, so a size check after it
 * still fails (core/checked.h); a negative dimension gives -1. */
int64_t glia_shape_numel(const glia_shape *s) {
    if (!s) return -1;
    int64_t n = 1;
    int nd = s->ndim < 0 ? 0 : s->ndim > GLIA_MAX_DIMS ? GLIA_MAX_DIMS : s->ndim;
    for (int i = 0; i < nd; i++)
        if (s->dim[i] < 0) return -1;
    for (int i = 0; i < nd; i++)
        if (!glia__mul_within(n, s->dim[i], INT64_MAX, &n)) return INT64_MAX;
    return n;
}

/* "[2, 3]"; a shape whose ndim is outside 0..GLIA_MAX_DIMS is shown as such, never read past
 * its dims; NULL shows as "(null)". Always NUL-terminated when n > 0. */
char *glia_shape_str(const glia_shape *s, char *buf, size_t n) {
    if (!buf || n == 0) return buf;
    if (!s) {
        snprintf(buf, n, "(null)");
        return buf;
    }
    if (s->ndim < 0 || s->ndim > GLIA_MAX_DIMS) {
        snprintf(buf, n, "(bad shape: %d dimensions)", s->ndim);
        return buf;
    }
    size_t used = 0;
    buf[0] = 0;
    used += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld", (long long)s->dim[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

bool glia__shape_eq(const glia_shape *a, const glia_shape *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}
