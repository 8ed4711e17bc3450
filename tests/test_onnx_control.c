/* test_onnx_control.c: an ONNX If inlined at load time (src/io/onnx_control.c) and the ops of
 * its branches (reflect and edge Pad, 1-D Conv, Gather of run-time rows, an LSTM's Y_c) on
 * tests/models/onnx/if_sr.onnx (scripts/onnx/make_control_models.py, numpy's values): each
 * branch's outputs, gradients through the inlined graph, the steps it records, and errors; and
 * MobileNetV3's hard activations and channel scale imported into glia's model text. */
#include "test.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define DIR "tests/models/onnx/"

/* if_sr.onnx with sr fixed to `rate` (0: not given), inputs x [2, 8] and state [2, 2, 3] */
static glia_status load_if(float rate, glia_onnx **m) {
    static float sr;
    sr = rate;
    glia_onnx_input in[1] = {{"sr", 0, NULL, &sr, 1}};
    glia_onnx_options o = {.inputs = in, .n_inputs = rate > 0};
    return glia_onnx_load(DIR "if_sr.onnx", &o, m);
}

static int read_file_tensors(const char *path, glia_st_entry **e, int *n) {
    if (glia_safetensors_list(path, e, n)) return 0;
    for (int i = 0; i < *n; i++) (*e)[i].data = calloc((size_t)glia_shape_numel(&(*e)[i].shape) + 1, sizeof(float));
    return !glia_safetensors_read(path, *e, *n, NULL);
}
static float *find(glia_st_entry *e, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(e[i].name, name)) return e[i].data;
    return NULL;
}

/* both branches against numpy: sr = 16000 takes then (reflect pad), 8000 else (edge pad, x2) */
TEST(onnx_if_inlines_the_branch_taken) {
    const struct { float rate; const char *file; } cases[2] = {{16000, DIR "if_sr_16k.safetensors"},
                                                               {8000, DIR "if_sr_8k.safetensors"}};
    for (int k = 0; k < 2; k++) {
        glia_onnx *m = NULL;
        glia_st_entry *e = NULL;
        int n = 0;
        OK(load_if(cases[k].rate, &m));
        CHECK(read_file_tensors(cases[k].file, &e, &n));
        glia_graph *g = glia_onnx_graph(m);
        CHECK(glia_onnx_num_inputs(m) == 3 && glia_onnx_input_node(m, 2) < 0); /* sr: a constant */
        for (int i = 0; i < 2; i++) {
            const char *name = glia_onnx_input_name(m, i);
            glia_shape s;
            glia_node_shape(g, glia_onnx_input_node(m, i), &s);
            OK(glia_node_write(g, glia_onnx_input_node(m, i), find(e, n, name), glia_shape_numel(&s)));
        }
        OK(glia_graph_forward(g));
        for (int i = 0; i < glia_onnx_num_outputs(m); i++) {
            const char *name = glia_onnx_output_name(m, i);
            float got[16], *want = find(e, n, name);
            glia_shape s;
            OK(glia_onnx_output_shape(m, i, &s));
            CHECK(want && glia_shape_numel(&s) == (strcmp(name, "y") ? 12 : 6));
            OK(glia_node_read(g, glia_onnx_output_node(m, i), got, glia_shape_numel(&s)));
            for (int64_t j = 0; j < glia_shape_numel(&s); j++)
                CHECK_MSG(fabs(got[j] - want[j]) <= 1e-5 + 1e-4 * fabs(want[j]), "sr %g: %s[%lld] = %g, numpy %g",
                          cases[k].rate, name, (long long)j, got[j], want[j]);
        }
        /* the inlined nodes are the model's steps (layers): the branch's Pad, Conv, LSTM, ... */
        bool pad = false, lstm = false;
        for (int i = 0; i < glia_onnx_num_steps(m); i++) {
            glia_onnx_step st;
            OK(glia_onnx_step_info(m, i, &st));
            CHECK(strcmp(st.op, "If") != 0);
            pad |= !strcmp(st.op, "Pad");
            lstm |= !strcmp(st.op, "LSTM");
        }
        CHECK(pad && lstm);
        for (int i = 0; i < n; i++) free(e[i].data);
        glia_st_list_free(e, n);
        glia_onnx_free(m);
    }
}

/* gradients through the inlined branch (reflect pad = slices + concat, the 1-D convolution, the
 * LSTM and its recomputed Y_c) against central differences, for the input and the state */
TEST(onnx_if_gradients_flow) {
    glia_onnx *m = NULL;
    OK(load_if(16000, &m));
    glia_graph *g = glia_onnx_graph(m);
    glia_graph_set_training(g, 1);
    for (int i = 0; i < 2; i++) {
        int node = glia_onnx_input_node(m, i);
        glia_shape s;
        glia_node_shape(g, node, &s);
        float v[16];
        for (int64_t j = 0; j < glia_shape_numel(&s); j++) v[j] = 0.9f * sinf(1.7f * (float)(j + 3 * i) + 0.3f);
        OK(glia_node_write(g, node, v, glia_shape_numel(&s)));
        OK(glia_node_requires_grad(g, node, 1));
    }
    for (int out = 0; out < 2; out++)
        for (int i = 0; i < 2; i++) {
            double err;
            int64_t checked;
            OK(glia_gradcheck(g, glia_onnx_output_node(m, out), glia_onnx_input_node(m, i), 1e-3f, &err, &checked));
            CHECK_MSG(err < 1e-2 && checked > 0, "d %s / d %s: relative error %g (%lld checked)",
                      glia_onnx_output_name(m, out), glia_onnx_input_name(m, i), err, (long long)checked);
        }
    glia_onnx_free(m);
}

TEST(onnx_if_errors_name_the_node) {
    glia_onnx *m = NULL;
    int unsup = 0;
    CHECK(load_if(0, &m) == GLIA_EINVAL && !m); /* sr not given: the Equal that reads it says so */
    CHECK_MSG(strstr(glia_last_error(), "node 'sr_is_16k' (Equal): input 'sr'") &&
              strstr(glia_last_error(), "--const"), "%s", glia_last_error());
    glia_onnx_options o = {.unsupported = &unsup};
    CHECK(glia_onnx_load(DIR "if_data.onnx", &o, &m) == GLIA_EINVAL && unsup == 1);
    CHECK_MSG(strstr(glia_last_error(), "node 'by_sign' (If)") &&
              strstr(glia_last_error(), "data-dependent"), "%s", glia_last_error());
}

/* MobileNetV3's pieces (scripts/onnx/make_se_model.py: PyTorch's hard swish, squeeze-and-excitation
 * with hard sigmoid, exported by torch.onnx as Mul(x, HardSigmoid(x)) and Mul(scale, x)) import
 * into glia's model text (src/nn/model_import.c): hard_swish and hard_sigmoid activations and a
 * [mul] layer, with PyTorch's output */
TEST(onnx_import_se_block_to_model_text) {
    glia_model *mi = NULL;
    glia_st_entry *e = NULL;
    int n = 0;
    OK(glia_model_import(DIR "se_block.onnx", 2, 1, &mi));
    CHECK(read_file_tensors(DIR "se_block.safetensors", &e, &n));
    char *text = NULL;
    OK(glia_model_to_text(mi, &text));
    CHECK_MSG(strstr(text, "activation = hard_swish") && strstr(text, "activation = hard_sigmoid") &&
              strstr(text, "[mul]\nname = Mul_1\ninputs = fc2, conv"), "%s", text);
    free(text);
    glia_graph *g = glia_model_graph(mi);
    glia_graph_set_training(g, 0);
    float y[10], *want = find(e, n, "y");
    OK(glia_node_write(g, glia_model_input(mi), find(e, n, "x"), 2 * 3 * 6 * 6));
    OK(glia_graph_forward(g));
    OK(glia_node_read(g, glia_model_output(mi), y, 10));
    for (int i = 0; i < 10; i++)
        CHECK_MSG(fabs(y[i] - want[i]) <= 1e-5 + 1e-4 * fabs(want[i]), "y[%d] = %g, PyTorch %g", i, y[i], want[i]);
    for (int i = 0; i < n; i++) free(e[i].data);
    glia_st_list_free(e, n);
    glia_model_free(mi);
}

/* Silero legacy's other ops (scripts/onnx/make_control_models.py, legacy_ops.onnx): a mean over
 * an inner axis (transposed last), a reversed Slice (one-wide slices concatenated), Neg, Log:
 * gradients against central differences */
TEST(onnx_legacy_ops_gradients) {
    glia_onnx *m = NULL;
    OK(glia_onnx_load(DIR "legacy_ops.onnx", NULL, &m));
    glia_graph *g = glia_onnx_graph(m);
    glia_graph_set_training(g, 1);
    int x = glia_onnx_input_node(m, 0);
    float v[48];
    for (int j = 0; j < 48; j++) v[j] = 1.5f * sinf(0.9f * (float)j + 0.2f);
    OK(glia_node_write(g, x, v, 48));
    OK(glia_node_requires_grad(g, x, 1));
    for (int out = 0; out < 2; out++) {
        double err;
        int64_t checked;
        OK(glia_gradcheck(g, glia_onnx_output_node(m, out), x, 1e-3f, &err, &checked));
        CHECK_MSG(err < 1e-2 && checked > 0, "d %s / d x: relative error %g", glia_onnx_output_name(m, out), err);
    }
    glia_onnx_free(m);
}
