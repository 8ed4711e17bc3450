/* fuzz_mnist_json.c: the MNIST JSON digits reader (glia_mnist_json_load). The input is 0.json;
 * 1.json .. 9.json hold one valid image each, so that an input that parses loads a data set. */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    char name[16], buf[784 * 2 + 16];
    size_t n = 0;
    n += (size_t)sprintf(buf, "{\"data\":[");
    for (int i = 0; i < 784; i++) n += (size_t)sprintf(buf + n, i ? ",0" : "0");
    n += (size_t)sprintf(buf + n, "]}");
    for (int d = 1; d < 10; d++) {
        snprintf(name, sizeof name, "%d.json", d);
        fuzz_write(name, (const uint8_t *)buf, n);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write("0.json", data, size);
    glia_tensor *x = NULL, *y = NULL;
    glia_status s = glia_mnist_json_load(fuzz_tmpdir(), &x, &y);
    FUZZ_ERR_OK(s);
    if (!s) {
        FUZZ_CHECK(x->shape.dim[0] == y->shape.dim[0] && x->shape.dim[0] >= 10);
        glia_tensor_free(x);
        glia_tensor_free(y);
    }
    return 0;
}
