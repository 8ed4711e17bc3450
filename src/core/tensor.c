/* tensor.c: standalone float32 tensors, contiguous and row-major (NCHW for images). */
#include "internal.h"
#include <stdlib.h>

/* checks dims and returns the element count, or -1 with an error set */
static int64_t checked_numel(const char *what, int ndim, const int64_t *dims, int free_ok) {
    if (ndim < 0 || ndim > GLIA_MAX_DIMS || (ndim > 0 && !dims)) {
        glia__err(GLIA_ESHAPE, "%s: %d dimensions (0..%d allowed)", what, ndim, GLIA_MAX_DIMS);
        return -1;
    }
    int64_t n = 1;
    int frees = 0;
    for (int i = 0; i < ndim; i++) {
        if (free_ok && dims[i] == -1 && !frees++) continue;
        /* checked before the product is formed (core/checked.h) */
        if (dims[i] <= 0 || !glia__mul_within(n, dims[i], GLIA_MAX_ELEMENTS, &n)) {
            glia__err(GLIA_ESHAPE, "%s: dimension %d is %lld (positive, at most 2^40 elements "
                      "in all%s)", what, i, (long long)dims[i], free_ok ? ", one -1 allowed" : "");
            return -1;
        }
    }
    return n;
}

glia_status glia_tensor_new(glia_tensor **out, int ndim, const int64_t *dims) {
    if (!out) return glia__err(GLIA_EINVAL, "glia_tensor_new: out is NULL");
    int64_t n = checked_numel("glia_tensor_new", ndim, dims, 0);
    if (n < 0) return GLIA_ESHAPE;
    glia_tensor *t = glia__calloc(1, sizeof *t);
    float *d = glia__calloc((size_t)n, sizeof *d);
    if (!t || !d) {
        free(t);
        free(d);
        return glia__err(GLIA_ENOMEM, "glia_tensor_new: out of memory for %lld floats", (long long)n);
    }
    t->shape.ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape.dim[i] = dims[i];
    t->data = d;
    *out = t;
    return GLIA_OK;
}

void glia_tensor_free(glia_tensor *t) {
    if (!t) return;
    free(t->data);
    free(t);
}

glia_status glia_tensor_reshape(glia_tensor *t, int ndim, const int64_t *dims) {
    if (!t) return glia__err(GLIA_EINVAL, "glia_tensor_reshape: tensor is NULL");
    int64_t known = checked_numel("glia_tensor_reshape", ndim, dims, 1);
    if (known < 0) return GLIA_ESHAPE;
    int64_t n = glia_shape_numel(&t->shape);
    glia_shape s = {.ndim = ndim};
    for (int i = 0; i < ndim; i++) s.dim[i] = dims[i] == -1 ? (known ? n / known : 0) : dims[i];
    if (glia_shape_numel(&s) != n) {
        char a[96], b[96];
        for (int i = 0; i < ndim; i++) s.dim[i] = dims[i];
        return glia__err(GLIA_ESHAPE, "glia_tensor_reshape: %s (%lld values) cannot become %s",
                         glia_shape_str(&t->shape, a, sizeof a), (long long)n,
                         glia_shape_str(&s, b, sizeof b));
    }
    t->shape = s;
    return GLIA_OK;
}

float *glia_tensor_at(glia_tensor *t, const int64_t *index) {
    if (!t || !index) {
        glia__err(GLIA_EINVAL, "glia_tensor_at: NULL argument");
        return NULL;
    }
    int64_t off = 0;
    for (int i = 0; i < t->shape.ndim; i++) {
        if (index[i] < 0 || index[i] >= t->shape.dim[i]) {
            char a[96];
            glia__err(GLIA_ERANGE, "glia_tensor_at: index %lld on axis %d is outside %s",
                      (long long)index[i], i, glia_shape_str(&t->shape, a, sizeof a));
            return NULL;
        }
        off = off * t->shape.dim[i] + index[i];
    }
    return t->data + off;
}
