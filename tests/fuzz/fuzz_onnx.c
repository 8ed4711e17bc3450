/* fuzz_onnx.c: the ONNX reader (glia_onnx_parse: protobuf, tensors, attributes, folding of
 * shape arithmetic, the mapping onto glia ops). A model that imports must also run forward
 * (inputs at 0.5) without a crash; either step may fail only with an error that says why.
 * Seeds: small models of ONNX's node tests (Debian libonnx-testdata, Apache-2.0). */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    glia_onnx *m = NULL;
    glia_onnx_options o = {.batch = 1};
    glia_status s = glia_onnx_parse(data, size, "fuzz.onnx", &o, &m);
    FUZZ_ERR_OK(s);
    if (!s) {
        glia_graph *g = glia_onnx_graph(m);
        for (int i = 0; i < glia_onnx_num_inputs(m); i++) {
            int node = glia_onnx_input_node(m, i);
            float *x = node >= 0 ? glia_node_value(g, node) : NULL;
            glia_shape sh;
            if (x && !glia_node_shape(g, node, &sh))
                for (int64_t k = 0; k < glia_shape_numel(&sh); k++) x[k] = 0.5f;
        }
        FUZZ_ERR_OK(glia_graph_forward(g));
    }
    glia_onnx_free(m);
    return 0;
}
