/* test_tensor.c: standalone tensors: creation, six and more dimensions, reshape, indexing. */
#include "test.h"
#include <string.h>

TEST(tensor_six_dims_and_indexing) {
    glia_tensor *t;
    OK(glia_tensor_new(&t, 6, (int64_t[]){2, 3, 1, 2, 2, 3}));
    CHECK(glia_shape_numel(&t->shape) == 72);
    for (int i = 0; i < 72; i++) CHECK(t->data[i] == 0);
    float *p = glia_tensor_at(t, (int64_t[]){1, 2, 0, 1, 0, 2});
    CHECK(p == t->data + ((((1 * 3 + 2) * 1 + 0) * 2 + 1) * 2 + 0) * 3 + 2);
    CHECK(glia_tensor_at(t, (int64_t[]){1, 3, 0, 0, 0, 0}) == NULL);
    CHECK(strstr(glia_last_error(), "axis 1") && strstr(glia_last_error(), "[2, 3, 1, 2, 2, 3]"));
    OK(glia_tensor_reshape(t, 2, (int64_t[]){-1, 12}));
    CHECK(t->shape.ndim == 2 && t->shape.dim[0] == 6);
    CHECK(glia_tensor_reshape(t, 2, (int64_t[]){5, -1}) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "[6, 12]"));
    CHECK(glia_tensor_reshape(t, 2, (int64_t[]){-1, -1}) == GLIA_ESHAPE);
    glia_tensor_free(t);
    CHECK(glia_tensor_new(&t, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}) == GLIA_ESHAPE);
    CHECK(glia_tensor_new(&t, 2, (int64_t[]){3, 0}) == GLIA_ESHAPE);
    OK(glia_tensor_new(&t, 8, (int64_t[]){1, 2, 1, 2, 1, 2, 1, 2}));
    glia_tensor_free(t);
}
