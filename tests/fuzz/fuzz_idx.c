/* fuzz_idx.c: the IDX reader (glia_idx_load), raw and gzipped (told apart by content). A tensor
 * that loads must have the shape's element count of finite values. */
#include "fuzz.h"
#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("in.idx", data, size);
    glia_tensor *t = NULL;
    glia_status s = glia_idx_load(path, 1.0f / 255, &t);
    FUZZ_ERR_OK(s);
    if (!s) {
        int64_t n = glia_shape_numel(&t->shape);
        FUZZ_CHECK(n >= 0);
        volatile float sum = 0; /* touches every element: ASan sees a short buffer */
        for (int64_t i = 0; i < n; i++) sum += t->data[i];
        (void)sum;
        glia_tensor_free(t);
    }
    return 0;
}
