/* test_model_blocks.c: what the model zoo needs from the text format: rectangular kernels and
 * asymmetric padding, concatenation of any number of inputs, the highway layer, DiracNet's
 * identity-plus-weight convolution and a bias per position. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

static float *value_of(glia_model *m, const char *name) {
    int id;
    if (glia_graph_find(glia_model_graph(m), name, &id)) return NULL;
    return glia_node_value(glia_model_graph(m), id);
}

static int64_t model_params(glia_model *m) {
    int64_t t = 0;
    for (int i = 0; i < glia_model_num_layers(m); i++) {
        glia_layer_info li;
        if (glia_model_layer(m, i, &li)) return -1;
        t += li.trainable_params;
    }
    return t;
}

static void set_all(float *x, int64_t n, float v) {
    for (int64_t i = 0; i < n; i++) x[i] = v;
}

/* size = 1, 7 gives a [O, C, 1, 7] kernel; pad = top, bottom, left, right pads only where said:
 * a 2x2 box filter of ones on ones, padded below and right, sums 4 cells at the top left and 1 at
 * the bottom right */
TEST(model_conv_rectangular_kernel_and_asymmetric_pad) {
    const char *text = "[net]\ninput = 1, 6, 6\n"
                       "[conv]\nname = r\nfilters = 2\nsize = 1, 7\npad = 0, 3\n"
                       "[conv]\nname = box\ninput = data\nfilters = 1\nsize = 2\npad = 0, 1, 0, 1\nbias = 0\n";
    glia_model *m;
    OK(glia_model_parse(text, "rect.cfg", 1, 1, &m));
    glia_graph *g = glia_model_graph(m);
    glia_shape s;
    int w;
    OK(glia_graph_find(g, "r.weight", &w));
    OK(glia_node_shape(g, w, &s));
    CHECK(s.ndim == 4 && s.dim[0] == 2 && s.dim[1] == 1 && s.dim[2] == 1 && s.dim[3] == 7);
    glia_layer_info r, box;
    OK(glia_model_layer(m, 0, &r));
    OK(glia_model_layer(m, 1, &box));
    CHECK(r.shape.dim[2] == 6 && r.shape.dim[3] == 6);
    CHECK(r.macs == 2 * 36 * 7);
    CHECK_MSG(box.shape.dim[2] == 6 && box.shape.dim[3] == 6, "box %lld x %lld", (long long)box.shape.dim[2],
              (long long)box.shape.dim[3]); /* symmetric pad 1 would give 7 x 7 */
    set_all(value_of(m, "box.weight"), 4, 1);
    set_all(glia_node_value(g, glia_model_input(m)), 36, 1);
    OK(glia_graph_forward(g));
    const float *y = glia_node_value(g, box.output);
    CHECK(y[0] == 4 && y[5] == 2 && y[30] == 2 && y[35] == 1);
    char *t1, *t2;
    glia_model *m2;
    OK(glia_model_to_text(m, &t1));
    CHECK(strstr(t1, "size = 1, 7") && strstr(t1, "pad = 0, 1, 0, 1"));
    OK(glia_model_parse(t1, "rect2.cfg", 1, 1, &m2));
    OK(glia_model_to_text(m2, &t2));
    CHECK(!strcmp(t1, t2));
    free(t1);
    free(t2);
    glia_model_free(m2);
    glia_model_free(m);
}

TEST(model_pool_rectangular) {
    glia_model *m;
    OK(glia_model_parse("[net]\ninput = 1, 6, 8\n[maxpool]\nsize = 3, 2\nstride = 3, 2\n"
                        "[avgpool]\nsize = 1, 2\nstride = 1\npad = 0, 1\n",
                        "pool.cfg", 1, 1, &m));
    glia_layer_info a, b;
    OK(glia_model_layer(m, 0, &a));
    OK(glia_model_layer(m, 1, &b));
    CHECK(a.shape.dim[2] == 2 && a.shape.dim[3] == 4);
    CHECK(b.shape.dim[2] == 2 && b.shape.dim[3] == 5);
    glia_model_free(m);
}

/* 20 inputs (more than one concat op takes): channel i of the result is input i */
TEST(model_concat_of_many_inputs_keeps_order) {
    char text[4096] = "[net]\ninput = 1, 2, 2\n";
    size_t u = strlen(text);
    for (int i = 0; i < 20; i++)
        u += (size_t)snprintf(text + u, sizeof text - u, "[conv]\nname = c%d\ninput = data\nfilters = 1\nsize = 1\nbias = 0\n", i);
    u += (size_t)snprintf(text + u, sizeof text - u, "[concat]\nname = cat\ninputs = c0");
    for (int i = 1; i < 20; i++) u += (size_t)snprintf(text + u, sizeof text - u, ", c%d", i);
    snprintf(text + u, sizeof text - u, "\n");
    glia_model *m;
    OK(glia_model_parse(text, "cat.cfg", 1, 1, &m));
    glia_graph *g = glia_model_graph(m);
    for (int i = 0; i < 20; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "c%d.weight", i);
        value_of(m, nm)[0] = (float)i;
    }
    set_all(glia_node_value(g, glia_model_input(m)), 4, 1);
    OK(glia_graph_forward(g));
    glia_layer_info cat;
    OK(glia_model_layer(m, 20, &cat));
    CHECK(!strcmp(cat.name, "cat") && cat.shape.dim[1] == 20);
    const float *y = glia_node_value(g, cat.output);
    for (int i = 0; i < 20; i++) CHECK_MSG(y[4 * i + 3] == (float)i, "channel %d holds %g", i, y[4 * i + 3]);
    glia_model_free(m);
}

/* y = H T + x (1 - T): a gate shut by a very negative bias carries x through; open, y = H */
TEST(model_highway_gate_carries_or_transforms) {
    const char *text = "[net]\ninput = 4\n[highway]\nname = hw\nactivation = linear\ngate_bias = %s\n";
    for (int open = 0; open < 2; open++) {
        char t[256];
        snprintf(t, sizeof t, text, open ? "40" : "-40");
        glia_model *m;
        OK(glia_model_parse(t, "hw.cfg", 2, 3, &m));
        CHECK(model_params(m) == 2 * (16 + 4));
        glia_graph *g = glia_model_graph(m);
        CHECK(value_of(m, "hw.gate.bias")[3] == (open ? 40.0f : -40.0f));
        float *x = glia_node_value(g, glia_model_input(m));
        fill_uniform(x, 8, -1, 1, 5);
        OK(glia_graph_forward(g));
        const float *y = glia_node_value(g, glia_model_output(m)), *w = value_of(m, "hw.weight"),
                    *b = value_of(m, "hw.bias");
        for (int n = 0; n < 2; n++)
            for (int o = 0; o < 4; o++) {
                float h = b[o];
                for (int k = 0; k < 4; k++) h += w[o * 4 + k] * x[n * 4 + k];
                CHECK_NEAR(y[n * 4 + o], open ? h : x[n * 4 + o], 1e-5);
            }
        glia_model_free(m);
    }
}

/* dirac = 1: conv(x, W) + a x; with W = 0 and a = 1 (its start) the layer is the identity */
TEST(model_dirac_conv_is_identity_plus_weight) {
    glia_model *m;
    OK(glia_model_parse("[net]\ninput = 3, 5, 5\n[conv]\nname = d\nfilters = 3\nsize = 3\npad = 1\ndirac = 1\n"
                        "activation = relu\n",
                        "dirac.cfg", 2, 1, &m));
    CHECK(model_params(m) == 81 + 3 + 3);
    glia_graph *g = glia_model_graph(m);
    set_all(value_of(m, "d.weight"), 81, 0);
    set_all(value_of(m, "d.bias"), 3, 0);
    value_of(m, "d.dirac")[1] = 2;
    float *x = glia_node_value(g, glia_model_input(m));
    fill_uniform(x, 150, 0, 1, 2);
    OK(glia_graph_forward(g));
    const float *y = glia_node_value(g, glia_model_output(m));
    for (int i = 0; i < 150; i++) CHECK(y[i] == x[i] * ((i / 25) % 3 == 1 ? 2 : 1));
    glia_model_free(m);
    glia_model *bad = NULL;
    CHECK(glia_model_parse("[net]\ninput = 3, 5, 5\n[conv]\nfilters = 3\nsize = 3\nstride = 2\ndirac = 1\n",
                           "dirac.cfg", 1, 1, &bad) == GLIA_ESHAPE && !bad);
    CHECK(strstr(glia_last_error(), "dirac.cfg:3:") && strstr(glia_last_error(), "dirac = 1 needs"));
}

/* [bias]: one learned value per channel and position, the same for every sample */
TEST(model_bias_per_position) {
    glia_model *m;
    OK(glia_model_parse("[net]\ninput = 1, 3, 3\n[bias]\nname = b\n[flatten]\n[softmax]\n", "bias.cfg", 2, 1, &m));
    CHECK(model_params(m) == 9);
    float *b = value_of(m, "b.bias");
    CHECK_MSG(b, "%s", glia_last_error());
    for (int i = 0; i < 9; i++) {
        CHECK(b[i] == 0);
        b[i] = (float)i;
    }
    glia_graph *g = glia_model_graph(m);
    glia_layer_info li;
    OK(glia_model_layer(m, 0, &li));
    OK(glia_node_retain(g, li.output)); /* kept past the forward pass */
    set_all(glia_node_value(g, glia_model_input(m)), 18, 0.5f);
    OK(glia_graph_forward(g));
    const float *y = glia_node_value(g, li.output);
    for (int i = 0; i < 18; i++) CHECK(y[i] == 0.5f + (float)(i % 9));
    glia_model_free(m);
}

TEST(model_block_key_errors) {
    static const struct { const char *text, *want; } cases[] = {
        {"[net]\ninput = 1, 8, 8\n[conv]\nfilters = 2\nsize = 1, 2, 3\n", "size, stride and dilation take 1 or 2"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nfilters = 2\nsize = 3\npad = 1, 1, 1\n", "pad takes 1, 2"},
        {"[net]\ninput = 1, 8, 8\n[conv]\nfilters = 2\nsize = 3\npad = 1, 1, 1, 1, 1\n", "pad = 1, 1, 1, 1, 1"},
        {"[net]\ninput = 1, 8, 8\n[maxpool]\nsize = 2\npad = 0, 0, 1, 1\n", "take 1 or 2 values"},
        {"[net]\ninput = 1, 8, 8\n[highway]\n", "highway needs [N, features]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        glia_model *m = NULL;
        CHECK_MSG(glia_model_parse(cases[i].text, "m.cfg", 1, 1, &m) != GLIA_OK && !m, "case %zu parsed", i);
        CHECK_MSG(strstr(glia_last_error(), "m.cfg:") && strstr(glia_last_error(), cases[i].want),
                  "case %zu: '%s' lacks '%s'", i, glia_last_error(), cases[i].want);
    }
}
