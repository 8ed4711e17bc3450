/* fuzz_safetensors.c: the safetensors reader, into a graph (glia_safetensors_load: names,
 * shapes, dtypes, offsets) and the metadata-only path (glia_safetensors_read_meta). On error
 * the graph's weights must be unchanged. */
#include "fuzz.h"

static glia_graph *g;
static int w, b;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    int x, y;
    if (glia_graph_new(&g) || glia_input(g, "x", 2, (int64_t[]){1, 4}, &x) ||
        glia_param(g, "fc.weight", 2, (int64_t[]){3, 4}, &w) ||
        glia_param(g, "fc.bias", 1, (int64_t[]){3}, &b) || glia_dense(g, "fc", x, w, b, &y))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write("in.safetensors", data, size);
    float *wv = glia_node_value(g, w), *bv = glia_node_value(g, b);
    for (int i = 0; i < 12; i++) wv[i] = 7;
    for (int i = 0; i < 3; i++) bv[i] = 7;
    glia_status s = glia_safetensors_load(g, path);
    FUZZ_ERR_OK(s);
    if (s) {
        for (int i = 0; i < 12; i++) FUZZ_CHECK(wv[i] == 7);
        for (int i = 0; i < 3; i++) FUZZ_CHECK(bv[i] == 7);
    }
    glia_st_meta meta;
    s = glia_safetensors_read_meta(path, &meta);
    FUZZ_ERR_OK(s);
    if (!s) {
        for (int i = 0; i < meta.n; i++) FUZZ_CHECK(meta.key[i] && meta.value[i]);
        glia_st_meta_free(&meta);
    }
    return 0;
}
