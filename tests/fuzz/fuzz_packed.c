/* fuzz_packed.c: the packed weights reader (glia_packed_load: the header, U8 bits and F16
 * scales, or format 1's F32 ones, of a binarized weight, a float bias, offsets). On error the graph's weights must be
 * unchanged; on success every binarized weight is +-alpha with alpha >= 0 finite. */
#include "fuzz.h"
#include <math.h>

static glia_graph *g;
static int w, b;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    int x, xb, wb, y;
    if (glia_graph_new(&g) || glia_input(g, "x", 2, (int64_t[]){1, 10}, &x) ||
        glia_param(g, "fc.weight", 2, (int64_t[]){3, 10}, &w) ||
        glia_param(g, "fc.bias", 1, (int64_t[]){3}, &b) ||
        glia_binarize(g, "fc.xbin", x, 1, 1.0f, &xb) ||
        glia_binarize(g, "fc.wbin", w, 1, 1.0f, &wb) || glia_dense(g, "fc", xb, wb, b, &y))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("in.safetensors", data, size);
    float *wv = glia_node_value(g, w), *bv = glia_node_value(g, b);
    for (int i = 0; i < 30; i++) wv[i] = 7;
    for (int i = 0; i < 3; i++) bv[i] = 7;
    glia_status s = glia_packed_load(g, path);
    FUZZ_ERR_OK(s);
    if (s) {
        for (int i = 0; i < 30; i++) FUZZ_CHECK(wv[i] == 7);
        for (int i = 0; i < 3; i++) FUZZ_CHECK(bv[i] == 7);
    } else {
        for (int i = 0; i < 30; i++) FUZZ_CHECK(isfinite(wv[i]) && fabsf(wv[i]) == fabsf(wv[i / 10 * 10]));
    }
    return 0;
}
