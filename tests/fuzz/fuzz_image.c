/* fuzz_image.c: picture loading (glia_image_load: stb_image for PNG/JPEG/..., glia's own
 * PGM/PPM reader, channel conversion, resizing). The first input byte picks the channels and
 * the resize; the rest is the file. stb_image allocates outside glia's allocator, so files whose
 * header declares more than 2^22 pixels are skipped (a size limit, not a bug). */
#include "fuzz.h"
#include <math.h>
#include <stb/stb_image.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0];
    data++;
    size--;
    int w, h, n;
    if (stbi_info_from_memory(data, (int)size, &w, &h, &n) && (int64_t)w * h > (1 << 22))
        return 0;
    static const int chans[4] = {1, 3, 4, 3};
    static const int sides[4] = {0, 1, 5, 40};
    int c = chans[mode & 3], oh = sides[(mode >> 2) & 3], ow = sides[(mode >> 4) & 3];
    const char *path = fuzz_write("in.img", data, size);
    glia_tensor *t = NULL;
    glia_status s = glia_image_load(path, c, oh, ow, &t);
    FUZZ_ERR_OK(s);
    if (!s) {
        FUZZ_CHECK(t->shape.ndim == 3 && t->shape.dim[0] == c);
        FUZZ_CHECK(!oh || t->shape.dim[1] == oh);
        FUZZ_CHECK(!ow || t->shape.dim[2] == ow);
        int64_t k = glia_shape_numel(&t->shape);
        for (int64_t i = 0; i < k; i++) FUZZ_CHECK(t->data[i] >= 0 && t->data[i] <= 1);
        glia_tensor_free(t);
    }
    return 0;
}
