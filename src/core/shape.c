/* shape.c: tensor shapes (up to GLIA_MAX_DIMS dimensions, contiguous row-major). */
#include "internal.h"
#include <stdio.h>

int64_t glia_shape_numel(const glia_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= s->dim[i];
    return n;
}

char *glia_shape_str(const glia_shape *s, char *buf, size_t n) {
    size_t used = 0;
    if (n == 0) return buf;
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
