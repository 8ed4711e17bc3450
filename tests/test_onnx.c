/* test_onnx.c: the ONNX importer on small models made by scripts/onnx/make_test_models.py
 * (tests/models/onnx): a PyTorch network's outputs and gradients, any batch size, errors that
 * name the node, op and attribute, malformed files. ONNX's own operator tests are in
 * test_onnx_conformance.c. */
#include "test.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR "tests/models/onnx/"

/* the named tensors of small_cnn.safetensors, read whole */
typedef struct { glia_st_entry *e; int n; } tensors;
static void tensors_free(tensors *t) {
    for (int i = 0; t->e && i < t->n; i++) free(t->e[i].data);
    glia_st_list_free(t->e, t->n);
}
static int tensors_read(const char *path, tensors *t) {
    if (glia_safetensors_list(path, &t->e, &t->n)) return 0;
    for (int i = 0; i < t->n; i++) t->e[i].data = calloc((size_t)glia_shape_numel(&t->e[i].shape) + 1, sizeof(float));
    return !glia_safetensors_read(path, t->e, t->n, NULL);
}
static const glia_st_entry *tensor(const tensors *t, const char *name) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->e[i].name, name)) return &t->e[i];
    return NULL;
}

/* |a - b| <= 1e-4 |b| + 1e-5 everywhere */
static int close_to(const float *a, const float *b, int64_t n, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(a[i] - b[i]) <= 1e-4 * fabs(b[i]) + 1e-5)) {
            fprintf(stderr, "  %s[%lld] = %.7g, PyTorch %.7g\n", what, (long long)i, a[i], b[i]);
            return 0;
        }
    return 1;
}

/* Conv (asymmetric pads, groups, dilation; batch norm folded in by the exporter), Clip, hard
 * swish, ceil-mode max pooling, average pooling both ways, Pad, Concat, the Shape arithmetic of
 * x.view(x.size(0), -1), Gemm, log-softmax: outputs and gradients as PyTorch's */
TEST(onnx_small_cnn_matches_pytorch) {
    tensors t = {0};
    glia_onnx *m = NULL;
    float *got = NULL;
    CHECK(tensors_read(DIR "small_cnn.safetensors", &t));
    const glia_st_entry *x = tensor(&t, "x"), *y = tensor(&t, "y"), *seed = tensor(&t, "seed");
    const glia_st_entry *dx = tensor(&t, "dx"), *dw = tensor(&t, "dc2.weight"), *db = tensor(&t, "dfc.bias");
    CHECK(x && y && seed && dx && dw && db);
    glia_onnx_options o = {.batch = x->shape.dim[0]};
    OK(glia_onnx_load(DIR "small_cnn.onnx", &o, &m));
    glia_graph *g = glia_onnx_graph(m);
    CHECK(glia_onnx_num_inputs(m) == 1 && glia_onnx_num_outputs(m) == 1);
    CHECK(!strcmp(glia_onnx_input_name(m, 0), "x") && !strcmp(glia_onnx_output_name(m, 0), "y"));
    int xn = glia_onnx_input_node(m, 0), yn = glia_onnx_output_node(m, 0), w, b;
    OK(glia_graph_find(g, "c2.weight", &w)); /* initialisers are parameters, by their names */
    OK(glia_graph_find(g, "fc.bias", &b));
    CHECK(glia_node_is_param(g, w) && glia_node_trainable(g, w));
    OK(glia_node_requires_grad(g, xn, 1));
    OK(glia_node_write(g, xn, x->data, glia_shape_numel(&x->shape)));
    OK(glia_graph_forward(g));
    int64_t ny = glia_shape_numel(&y->shape);
    got = malloc((size_t)glia_shape_numel(&x->shape) * sizeof *got);
    OK(glia_node_read(g, yn, got, ny));
    int ok = close_to(got, y->data, ny, "y");
    /* gradients of sum(y * seed): through every imported op */
    OK(glia_graph_backward(g, yn, seed->data, 0));
    OK(glia_node_read_grad(g, xn, got, glia_shape_numel(&x->shape)));
    ok &= close_to(got, dx->data, glia_shape_numel(&x->shape), "dx");
    OK(glia_node_read_grad(g, w, got, glia_shape_numel(&dw->shape)));
    ok &= close_to(got, dw->data, glia_shape_numel(&dw->shape), "dc2.weight");
    OK(glia_node_read_grad(g, b, got, glia_shape_numel(&db->shape)));
    ok &= close_to(got, db->data, glia_shape_numel(&db->shape), "dfc.bias");
    CHECK(ok);
    glia_onnx_free(m);
    m = NULL;
    /* another batch size: the Shape arithmetic folds again for it; sample 0 is the same */
    glia_onnx_options o3 = {.batch = 3};
    OK(glia_onnx_load(DIR "small_cnn.onnx", &o3, &m));
    g = glia_onnx_graph(m);
    glia_shape s;
    OK(glia_node_shape(g, glia_onnx_output_node(m, 0), &s));
    CHECK(s.ndim == 2 && s.dim[0] == 3 && s.dim[1] == y->shape.dim[1]);
    float *x3 = glia_node_value(g, glia_onnx_input_node(m, 0));
    CHECK(x3 != NULL);
    int64_t per = glia_shape_numel(&x->shape) / x->shape.dim[0];
    for (int k = 0; k < 3; k++) memcpy(x3 + k * per, x->data, (size_t)per * sizeof(float));
    OK(glia_graph_forward(g));
    float y3[3 * 16];
    CHECK(y->shape.dim[1] <= 16);
    OK(glia_node_read(g, glia_onnx_output_node(m, 0), y3, 3 * y->shape.dim[1]));
    CHECK(close_to(y3 + 2 * y->shape.dim[1], y->data, y->shape.dim[1], "y (batch 3)"));
    glia_onnx_free(m);
    free(got);
    tensors_free(&t);
}

/* errors name the file, the node and the op (and the attribute), and say unsupported */
TEST(onnx_errors_name_node_op_attribute) {
    glia_onnx *m = (glia_onnx *)1;
    int unsup = 0;
    glia_onnx_options o = {.unsupported = &unsup};
    CHECK(glia_onnx_load(DIR "bad_op.onnx", &o, &m) == GLIA_EINVAL);
    CHECK(m == NULL && unsup == 1);
    const char *e = glia_last_error();
    CHECK_MSG(strstr(e, "bad_op.onnx") && strstr(e, "'pick'") && strstr(e, "Hardmax"), "%s", e);
    unsup = 0;
    CHECK(glia_onnx_load(DIR "bad_attr.onnx", &o, &m) == GLIA_EINVAL && unsup == 1);
    e = glia_last_error();
    CHECK_MSG(strstr(e, "'act'") && strstr(e, "Relu") && strstr(e, "'slope'"), "%s", e);
    /* a file that is not there, and one that is not a model */
    CHECK(glia_onnx_load(DIR "absent.onnx", NULL, &m) == GLIA_EIO);
    unsup = 0;
    CHECK(glia_onnx_parse("\x0a\xff\xff\xff", 4, "junk.onnx", &o, &m) == GLIA_EINVAL && !unsup);
    CHECK(strstr(glia_last_error(), "junk.onnx") != NULL);
}

/* glia_onnx_consts_parse (--const, [net] onnx_const) and glia_onnx_load's checks of the values:
 * a name the file lacks, a count that is neither the input's size nor 1, a fraction for an
 * integer input; if_gain.onnx's If picks Relu (sr = 16000) or Sigmoid */
TEST(onnx_const_inputs) {
    glia_onnx_input *in = NULL;
    int n = -1;
    OK(glia_onnx_consts_parse("a=1,2.5,-3,b=16000", &in, &n));
    CHECK(n == 2 && !strcmp(in[0].name, "a") && in[0].n_values == 3 && in[0].ndim == -1);
    CHECK(in[0].values[1] == 2.5f && in[0].values[2] == -3.0f);
    CHECK(!strcmp(in[1].name, "b") && in[1].n_values == 1 && in[1].values[0] == 16000.0f);
    free(in);
    OK(glia_onnx_consts_parse("", &in, &n));
    CHECK(n == 0);
    free(in);
    const char *bad[] = {"1,a=2", "a", "=1", "a=", "a=1,", "a=1,,2", "a=x", "a=1e99", "a=nan", "a=1,a=2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        in = (glia_onnx_input *)1;
        CHECK_MSG(glia_onnx_consts_parse(bad[i], &in, &n) == GLIA_EINVAL && in == NULL, "%s", bad[i]);
    }
    glia_onnx *m = NULL;
    const char *cases[][2] = {{"sr=16000", "relu"},
                              {"sr=8000", "sigmoid"},
                              {"sr=16000,rate=1", "'rate', which is not an input (the inputs: 'x', 'sr')"},
                              {"sr=1,2", "takes 1 values or 1 for all, not 2"},
                              {"sr=0.5", "input 'sr' holds integers (ONNX type 7): 0.5 is not one"}};
    for (int k = 0; k < 5; k++) {
        OK(glia_onnx_consts_parse(cases[k][0], &in, &n));
        glia_onnx_options o = {.inputs = in, .n_inputs = n, .batch = 2};
        glia_status s = glia_onnx_load(DIR "if_gain.onnx", &o, &m);
        free(in);
        if (k < 2) {
            OK(s);
            glia_graph *g = glia_onnx_graph(m);
            const char *last = glia_node_op(g, glia_graph_num_nodes(g) - 1);
            CHECK_MSG(!strcmp(last, cases[k][1]), "%s: %s", cases[k][0], last);
            glia_onnx_free(m);
        } else
            CHECK_MSG(s == GLIA_EINVAL && strstr(glia_last_error(), cases[k][1]), "%s", glia_last_error());
        m = NULL;
    }
    /* as a model: [net] onnx_const, which its text (a trained run's model.cfg) keeps */
    glia_model *md = NULL;
    char *text = NULL;
    OK(glia_model_load_const(DIR "if_gain.onnx", "sr=8000", 2, 1, 0, &md));
    OK(glia_model_to_text(md, &text));
    CHECK_MSG(strstr(text, "onnx_const = sr=8000\n") != NULL, "%s", text);
    free(text);
    glia_model_free(md);
    CHECK(glia_model_load_const(DIR "if_gain.onnx", NULL, 2, 1, 0, &md) == GLIA_EINVAL);
    CHECK(glia_model_load_const("models/lenet5.cfg", "sr=1", 2, 1, 0, &md) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "[net] onnx_const") != NULL);
}

/* every prefix of a real model and bytes flipped in it: an error or a model, never a crash
 * (the fuzz target fuzz_onnx goes further) */
TEST(onnx_truncated_and_corrupt_files) {
    char *data = test_read_file(DIR "small_cnn.onnx", 0);
    CHECK(data != NULL);
    FILE *f = fopen(DIR "small_cnn.onnx", "rb");
    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fclose(f);
    int imported = 0;
    for (long n = 0; n < len; n += 97) {
        glia_onnx *m = NULL;
        glia_status s = glia_onnx_parse(data, (size_t)n, "cut.onnx", NULL, &m);
        CHECK((s == GLIA_OK) == (m != NULL) && (s == GLIA_OK || glia_last_error()[0]));
        imported += s == GLIA_OK;
        glia_onnx_free(m);
    }
    for (long i = 0; i < len; i += 13) {
        glia_onnx *m = NULL;
        data[i] ^= 0x5a;
        glia_status s = glia_onnx_parse(data, (size_t)len, "flip.onnx", NULL, &m);
        if (!s) s = glia_graph_forward(glia_onnx_graph(m));
        CHECK(s == GLIA_OK || glia_last_error()[0]);
        glia_onnx_free(m);
        data[i] ^= 0x5a;
    }
    CHECK(imported < len / 97); /* most cuts fall inside a field */
    free(data);
}

/* glia_onnx_save then glia_onnx_load: the zoo's CNNs come back with the same parameter names
 * and give the same outputs, at another batch size too */
TEST(onnx_export_round_trip) {
    const char *models[] = {"models/lenet5.cfg", "models/vgg-small.cfg", "models/gap-cnn.cfg",
                            "tests/models/relu6_ceil.cfg", /* ReLU6 as Clip, ceil_mode pools */
                            "tests/models/decoder.cfg"};   /* ConvTranspose, Resize */
    char path[] = "/tmp/glia-onnx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    for (int i = 0; i < (int)(sizeof models / sizeof models[0]); i++) {
        glia_model *md;
        glia_onnx *m = NULL;
        OK(glia_model_load(models[i], 3, 7, &md));
        glia_graph *g = glia_model_graph(md);
        glia_graph_set_training(g, 0);
        int x = glia_model_input(md), y = glia_model_output(md);
        glia_shape xs, ys;
        OK(glia_node_shape(g, x, &xs));
        OK(glia_node_shape(g, y, &ys));
        int64_t nx = glia_shape_numel(&xs), ny = glia_shape_numel(&ys);
        float *in = malloc((size_t)nx * sizeof *in), *want = malloc((size_t)ny * sizeof *want);
        float *got = malloc((size_t)ny * sizeof *got);
        fill_uniform(in, nx, -1, 1, 3);
        OK(glia_node_write(g, x, in, nx));
        OK(glia_graph_forward(g));
        OK(glia_node_read(g, y, want, ny));
        OK(glia_onnx_save(g, &y, 1, path));
        glia_onnx_options o = {.batch = 3};
        glia_status s = glia_onnx_load(path, &o, &m);
        if (!s) {
            glia_graph *g2 = glia_onnx_graph(m);
            int w2;
            CHECK(glia_onnx_num_inputs(m) == 1 && glia_onnx_num_outputs(m) == 1);
            CHECK(!strcmp(glia_onnx_input_name(m, 0), glia_node_name(g, x)));
            CHECK(!strcmp(glia_onnx_output_name(m, 0), glia_node_name(g, y)));
            for (int k = 0; k < glia_graph_num_nodes(g); k++)
                if (glia_node_is_param(g, k)) {
                    OK(glia_graph_find(g2, glia_node_name(g, k), &w2));
                    CHECK(glia_node_is_param(g2, w2) && glia_node_trainable(g2, w2));
                }
            OK(glia_node_write(g2, glia_onnx_input_node(m, 0), in, nx));
            OK(glia_graph_forward(g2));
            OK(glia_node_read(g2, glia_onnx_output_node(m, 0), got, ny));
            CHECK_MSG(close_to(got, want, ny, models[i]), "%s: outputs differ after the round trip", models[i]);
        }
        glia_onnx_free(m);
        glia_model_free(md);
        free(in);
        free(want);
        free(got);
        OK(s);
    }
    unlink(path);
    /* an op without an ONNX mapping (a loss) is an error naming it */
    glia_graph *g;
    int x, t, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){2, 6}, &x));
    OK(glia_input(g, "t", 2, (int64_t[]){2, 6}, &t));
    OK(glia_mse_loss(g, "loss", x, t, &y));
    CHECK(glia_onnx_save(g, &y, 1, path) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "mse_loss 'loss'") != NULL, "%s", glia_last_error());
    glia_graph_free(g);
}

/* models/lenet5.cfg (batch, seed) exported to dir/lenet5.onnx in a new directory: *md, path */
static int lenet5_onnx(char *dir, char *path, size_t len, int64_t batch, uint64_t seed, glia_model **md) {
    if (!mkdtemp(dir)) return 0;
    snprintf(path, len, "%s/lenet5.onnx", dir);
    if (glia_model_load("models/lenet5.cfg", batch, seed, md)) return 0;
    int y = glia_model_output(*md);
    return !glia_onnx_save(glia_model_graph(*md), &y, 1, path);
}

/* An .onnx file as a model (src/nn/model_onnx.c): input and classes from the file, its nodes as
 * layers, the text naming the file, outputs as the original's at another batch size (set_batch),
 * and gradients reaching the imported parameters. */
TEST(onnx_file_as_model) {
    char dir[] = "/tmp/glia-onnx-XXXXXX", path[64];
    glia_model *md = NULL, *mo = NULL;
    CHECK(lenet5_onnx(dir, path, sizeof path, 1, 7, &md));
    glia_graph *g = glia_model_graph(md);
    int y = glia_model_output(md);
    glia_status s = glia_model_load(path, 1, 1, &mo);
    if (!s) {
        glia_graph *g2 = glia_model_graph(mo);
        CHECK(!strcmp(glia_model_onnx_path(mo), path) && glia_model_onnx_path(md) == NULL);
        CHECK(!strcmp(glia_model_option(mo, "input"), "1, 28, 28"));
        CHECK(!strcmp(glia_model_option(mo, "classes"), "10"));
        glia_layer_info li;
        CHECK(glia_model_num_layers(mo) == 12);
        OK(glia_model_layer(mo, 0, &li));
        CHECK_MSG(!strcmp(li.name, "conv1.conv") && !strcmp(li.type, "Conv") && li.params == 156,
                  "layer 0: %s %s %lld", li.name, li.type, (long long)li.params);
        char *text = NULL;
        OK(glia_model_to_text(mo, &text));
        const char *base = strrchr(path, '/') + 1;
        CHECK_MSG(text && strstr(text, "onnx = ") && strstr(text, base) && !strstr(text, "[conv]"), "%s", text);
        free(text);
        /* batch 3, as glia train and eval set it */
        OK(glia_graph_set_batch(g, 3));
        OK(glia_graph_set_batch(g2, 3));
        glia_graph_set_training(g, 0);
        float in[3 * 784], want[30], got[30], seed[30];
        fill_uniform(in, 3 * 784, 0, 1, 5);
        fill_uniform(seed, 30, -1, 1, 6);
        OK(glia_node_write(g, glia_model_input(md), in, 3 * 784));
        OK(glia_node_write(g2, glia_model_input(mo), in, 3 * 784));
        OK(glia_graph_forward(g));
        OK(glia_graph_forward(g2));
        OK(glia_node_read(g, y, want, 30));
        OK(glia_node_read(g2, glia_model_output(mo), got, 30));
        CHECK(close_to(got, want, 30, "lenet5 from .onnx"));
        /* d(sum(y * seed))/d(fc3.bias) = the seed summed over the batch */
        int b;
        OK(glia_graph_find(g2, "fc3.bias", &b));
        CHECK(glia_node_trainable(g2, b));
        OK(glia_graph_backward(g2, glia_model_output(mo), seed, 0));
        float db[10];
        OK(glia_node_read_grad(g2, b, db, 10));
        for (int k = 0; k < 10; k++) CHECK(fabs(db[k] - (seed[k] + seed[10 + k] + seed[20 + k])) < 1e-5);
    }
    glia_model_free(mo);
    glia_model_free(md);
    OK(s);
    /* [net] onnx = FILE whose file is missing: the error names it */
    CHECK(glia_model_parse("[net]\nonnx = nope.onnx\n", "/tmp/x.cfg", 1, 1, &mo) != GLIA_OK);
    CHECK_MSG(strstr(glia_last_error(), "/tmp/nope.onnx") != NULL, "%s", glia_last_error());
    /* a device is refused before it is read (/dev/zero would never end) */
    CHECK(glia_model_parse("[net]\nonnx = /dev/zero\n", "x.cfg", 1, 1, &mo) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "not a regular file") != NULL, "%s", glia_last_error());
    unlink(path);
    rmdir(dir);
}

/* glia_model_import (src/nn/model_import.c): an exported LeNet-5 comes back as its own model
 * text (layer names, activations fused), with the same outputs; a node that does not fit is
 * an error naming its op and output. */
TEST(onnx_import_to_model_text) {
    char dir[] = "/tmp/glia-onnx-XXXXXX", path[64];
    glia_model *md = NULL, *mi = NULL;
    CHECK(lenet5_onnx(dir, path, sizeof path, 2, 9, &md));
    glia_graph *g = glia_model_graph(md);
    int y = glia_model_output(md);
    glia_status s = glia_model_import(path, 2, 1, &mi);
    if (!s) {
        CHECK(glia_model_onnx_path(mi) == NULL && glia_model_num_layers(mi) == 7);
        /* the layers of models/lenet5.cfg: names, types, shapes, parameter counts */
        for (int i = 0; i < 7; i++) {
            glia_layer_info a, b;
            OK(glia_model_layer(md, i, &a));
            OK(glia_model_layer(mi, i, &b));
            CHECK_MSG(!strcmp(a.name, b.name) && !strcmp(a.type, b.type) && a.shape.ndim == b.shape.ndim && a.shape.dim[1] == b.shape.dim[1] &&
                      a.params == b.params, "layer %d: %s %s, imported %s %s", i, a.name, a.type, b.name, b.type);
        }
        glia_graph *g2 = glia_model_graph(mi);
        glia_graph_set_training(g, 0);
        glia_graph_set_training(g2, 0);
        float in[2 * 784], a[20], b[20];
        fill_uniform(in, 2 * 784, 0, 1, 8);
        OK(glia_node_write(g, glia_model_input(md), in, 2 * 784));
        OK(glia_node_write(g2, glia_model_input(mi), in, 2 * 784));
        OK(glia_graph_forward(g));
        OK(glia_graph_forward(g2));
        OK(glia_node_read(g, y, a, 20));
        OK(glia_node_read(g2, glia_model_output(mi), b, 20));
        CHECK(!memcmp(a, b, sizeof a));
    }
    glia_model_free(mi);
    glia_model_free(md);
    OK(s);
    CHECK(glia_model_import(DIR "small_cnn.onnx", 1, 1, &mi) == GLIA_EINVAL && mi == NULL);
    CHECK_MSG(strstr(glia_last_error(), "the Pad node of output '/Pad_output_0' does not fit") != NULL, "%s",
              glia_last_error());
    CHECK(glia_model_import("models/lenet5.cfg", 1, 1, &mi) == GLIA_EINVAL);
    unlink(path);
    rmdir(dir);
}

/* glia's transpose exports as Transpose(perm) and imports back onto the transpose op */
TEST(onnx_transpose_round_trip) {
    char path[] = "/tmp/glia-onnx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    glia_graph *g;
    int x, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 3, (int64_t[]){2, 3, 4}, &x));
    OK(glia_transpose(g, "t", x, 3, (const int[]){2, 0, 1}, &y));
    float in[24], want[24], got[24];
    fill_uniform(in, 24, -1, 1, 4);
    OK(glia_node_write(g, x, in, 24));
    OK(glia_graph_forward(g));
    OK(glia_node_read(g, y, want, 24));
    OK(glia_onnx_save(g, &y, 1, path));
    glia_graph_free(g);
    glia_onnx *m = NULL;
    glia_onnx_options o = {.batch = 2};
    glia_status s = glia_onnx_load(path, &o, &m);
    if (!s) {
        glia_graph *g2 = glia_onnx_graph(m);
        glia_shape ys;
        OK(glia_node_shape(g2, glia_onnx_output_node(m, 0), &ys));
        CHECK(ys.ndim == 3 && ys.dim[0] == 4 && ys.dim[1] == 2 && ys.dim[2] == 3);
        OK(glia_node_write(g2, glia_onnx_input_node(m, 0), in, 24));
        OK(glia_graph_forward(g2));
        OK(glia_node_read(g2, glia_onnx_output_node(m, 0), got, 24));
        CHECK(!memcmp(got, want, sizeof got));
    }
    glia_onnx_free(m);
    unlink(path);
    OK(s);
}

/* A sequence model md on N sequences of token ids [T, N] and their lengths: its output, malloc'ed
 * (*ny values), or NULL */
static float *seq_model_run(glia_model *md, int N, const float *ids, const float *len, int64_t *ny) {
    glia_graph *g = glia_model_graph(md);
    glia_shape ys;
    glia_graph_set_training(g, 0);
    if (glia_node_write(g, glia_model_input(md), ids, (int64_t)N * glia_model_sequence(md)) ||
        glia_node_write(g, glia_model_lengths(md), len, N) || glia_graph_forward(g) ||
        glia_node_shape(g, glia_model_output(md), &ys))
        return NULL;
    *ny = glia_shape_numel(&ys);
    float *y = malloc((size_t)*ny * sizeof *y);
    if (y && glia_node_read(g, glia_model_output(md), y, *ny)) {
        free(y);
        return NULL;
    }
    return y;
}

/* the same through its export, imported as m (inputs "data" and "lengths"): its first output */
static int seq_onnx_run(glia_onnx *m, int N, int T, const float *ids, const float *len, float *y, int64_t ny) {
    glia_graph *g = glia_onnx_graph(m);
    if (glia_onnx_num_inputs(m) != 2) return 0;
    for (int k = 0; k < 2; k++) {
        int data = !strcmp(glia_onnx_input_name(m, k), "data");
        if (glia_node_write(g, glia_onnx_input_node(m, k), data ? ids : len, data ? (int64_t)N * T : N)) return 0;
    }
    return !glia_graph_forward(g) && !glia_node_read(g, glia_onnx_output_node(m, 0), y, ny);
}

/* Recurrent models exported (ONNX LSTM / GRU nodes in ONNX's gate order, the lengths as
 * sequence_lens, a many-to-one read-out as Y_h) and imported back: the same outputs on the same
 * ids and lengths, at another batch size than the export's */
TEST(onnx_export_recurrent_round_trip) {
    const char *models[] = {"models/char-lstm.cfg", "models/char-gru.cfg", "models/sentiment-lstm.cfg",
                            "models/sentiment-gru.cfg", "models/tagger-bilstm.cfg"};
    char path[] = "/tmp/glia-onnx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    for (int i = 0; i < 5; i++) {
        glia_model *md;
        glia_onnx *m = NULL;
        OK(glia_model_load(models[i], 1, 11, &md));
        glia_graph *g = glia_model_graph(md);
        int y = glia_model_output(md), T = glia_model_sequence(md), V = glia_model_vocab(md);
        OK(glia_onnx_save(g, &y, 1, path));
        OK(glia_graph_set_batch(g, 3));
        float ids[3 * 64], len[3] = {(float)T, 1, (float)(T / 2 + 1)};
        glia_rng r;
        glia_rng_seed(&r, 5, (uint64_t)i);
        for (int k = 0; k < 3 * T; k++) ids[k] = (float)(int)(glia_rng_uniform(&r) * V);
        int64_t ny = 0;
        float *want = seq_model_run(md, 3, ids, len, &ny), *got = malloc((size_t)(ny + 1) * sizeof *got);
        CHECK_MSG(want != NULL, "%s: %s", models[i], glia_last_error());
        glia_onnx_options o = {.batch = 3};
        glia_status s = glia_onnx_load(path, &o, &m);
        if (!s && want) {
            CHECK_MSG(seq_onnx_run(m, 3, T, ids, len, got, ny), "%s: %s", models[i], glia_last_error());
            CHECK_MSG(close_to(got, want, ny, models[i]), "%s: outputs differ after the round trip", models[i]);
        }
        glia_onnx_free(m);
        glia_model_free(md);
        free(want);
        free(got);
        OK(s);
    }
    unlink(path);
}

/* An LSTM's final cell state (ONNX's Y_c, from glia's lstm with cell_out): PyTorch's
 * bidirectional nn.LSTM with initial states exported with y, h_n and c_n; all three as
 * PyTorch's, and the gradients of sum(c_n * seed) w.r.t. x, h0 and c0; the parameters under
 * PyTorch's names */
TEST(onnx_lstm_final_cell_state) {
    tensors t = {0};
    glia_onnx *m = NULL;
    CHECK(tensors_read(DIR "lstm_state.safetensors", &t));
    const char *in_names[3] = {"x", "h0", "c0"}, *out_names[3] = {"y", "h_n", "c_n"};
    const glia_st_entry *seed = tensor(&t, "seed");
    CHECK(seed != NULL);
    glia_onnx_input shapes[3]; /* the file's own shapes (x is time-major: no batch first) */
    for (int i = 0; i < 3; i++) shapes[i] = (glia_onnx_input){in_names[i], -1, NULL, NULL, 0};
    glia_onnx_options o = {.inputs = shapes, .n_inputs = 3};
    OK(glia_onnx_load(DIR "lstm_state.onnx", &o, &m));
    glia_graph *g = glia_onnx_graph(m);
    CHECK(glia_onnx_num_inputs(m) == 3 && glia_onnx_num_outputs(m) == 3);
    int id; /* node '/rnn/LSTM': PyTorch's state_dict names */
    OK(glia_graph_find(g, "rnn.weight_hh_l0_reverse", &id));
    CHECK(glia_node_is_param(g, id));
    int ok = 1;
    for (int i = 0; i < 3; i++) {
        const glia_st_entry *e = tensor(&t, in_names[i]);
        int node = glia_onnx_input_node(m, i);
        CHECK(e && !strcmp(glia_onnx_input_name(m, i), in_names[i]));
        OK(glia_node_requires_grad(g, node, 1));
        OK(glia_node_write(g, node, e->data, glia_shape_numel(&e->shape)));
    }
    OK(glia_graph_forward(g));
    float got[128];
    for (int k = 0; k < 3; k++) {
        const glia_st_entry *e = tensor(&t, out_names[k]);
        CHECK(e && !strcmp(glia_onnx_output_name(m, k), out_names[k]) && glia_shape_numel(&e->shape) <= 128);
        OK(glia_node_read(g, glia_onnx_output_node(m, k), got, glia_shape_numel(&e->shape)));
        ok &= close_to(got, e->data, glia_shape_numel(&e->shape), out_names[k]);
    }
    OK(glia_graph_backward(g, glia_onnx_output_node(m, 2), seed->data, 0));
    for (int i = 0; i < 3; i++) {
        char dn[8];
        snprintf(dn, sizeof dn, "d%s", in_names[i]);
        const glia_st_entry *e = tensor(&t, dn);
        CHECK(e && glia_shape_numel(&e->shape) <= 128);
        OK(glia_node_read_grad(g, glia_onnx_input_node(m, i), got, glia_shape_numel(&e->shape)));
        ok &= close_to(got, e->data, glia_shape_numel(&e->shape), dn);
    }
    CHECK(ok);
    glia_onnx_free(m);
    tensors_free(&t);
}

/* An lstm with cell_out exports as an ONNX LSTM with Y_c (y = Concat(the steps, Y_c's row)),
 * a gru with reset_before as a GRU with linear_before_reset = 0; both import back to the same
 * values */
TEST(onnx_export_recurrent_options_round_trip) {
    char path[] = "/tmp/glia-onnx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    enum { T = 4, N = 2, I = 3, H = 3, NY = (T + 1) * N * 2 * H };
    glia_status s = GLIA_OK;
    for (int lstm = 1; lstm >= 0 && !s; lstm--) {
        glia_graph *g;
        int x, y;
        OK(glia_graph_new(&g));
        OK(glia_input(g, "x", 3, (int64_t[]){T, N, I}, &x));
        glia_rnn_config cfg = {.hidden = H, .bidirectional = 1, .cell_out = lstm, .reset_before = !lstm};
        OK(lstm ? glia_lstm(g, "enc", x, -1, -1, -1, &cfg, &y) : glia_gru(g, "enc", x, -1, -1, &cfg, &y));
        OK(glia_graph_compile(g, 0));
        for (int i = 0; i < glia_graph_num_nodes(g); i++) {
            glia_shape sh;
            OK(glia_node_shape(g, i, &sh));
            fill_uniform(glia_node_value(g, i), glia_shape_numel(&sh), -0.8f, 0.8f, 40 + (uint64_t)i);
        }
        const int64_t ny = (T + lstm) * N * 2 * H;
        float want[NY], got[NY], in[T * N * I];
        memcpy(in, glia_node_value(g, x), sizeof in);
        OK(glia_graph_forward(g));
        OK(glia_node_read(g, y, want, ny));
        OK(glia_onnx_save(g, &y, 1, path));
        glia_graph_free(g);
        glia_onnx *m = NULL;
        glia_onnx_input shape = {"x", 3, (int64_t[]){T, N, I}, NULL, 0};
        glia_onnx_options o = {.inputs = &shape, .n_inputs = 1};
        s = glia_onnx_load(path, &o, &m);
        if (!s) {
            glia_graph *g2 = glia_onnx_graph(m);
            glia_shape ys;
            char sh[96];
            OK(glia_node_shape(g2, glia_onnx_output_node(m, 0), &ys));
            CHECK_MSG(ys.ndim == 3 && ys.dim[0] == T + lstm && ys.dim[1] == N && ys.dim[2] == 2 * H,
                      "y is %s", glia_shape_str(&ys, sh, sizeof sh));
            OK(glia_node_write(g2, glia_onnx_input_node(m, 0), in, T * N * I));
            OK(glia_graph_forward(g2));
            OK(glia_node_read(g2, glia_onnx_output_node(m, 0), got, ny));
            CHECK_MSG(close_to(got, want, ny, "y"), "%s", lstm ? "lstm cell_out" : "gru reset_before");
        }
        glia_onnx_free(m);
    }
    unlink(path);
    OK(s);
}

/* glia export then import keeps a recurrent model's parameter names (PyTorch's, "lstm.weight_ih_l1",
 * "..._reverse": the op's name and layer from the ONNX node's), so the original run's weights load
 * into the imported graph by name: a model exported with one seed's weights, imported, given
 * another seed's weights file tensor by tensor (every parameter of the import among them), gives
 * that seed's outputs. tagger-bilstm's file loads whole (glia_safetensors_load); the one-hot
 * models' imports also hold the one-hot table, a constant the file lacks. */
TEST(onnx_recurrent_names_round_trip) {
    const char *models[] = {"models/char-lstm.cfg", "models/char-gru.cfg", "models/tagger-bilstm.cfg"};
    char path[] = "/tmp/glia-onnx-XXXXXX", wpath[64];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    snprintf(wpath, sizeof wpath, "%s.safetensors", path);
    for (int i = 0; i < 3 && !test_failed_flag; i++) {
        glia_model *ma, *mb;
        glia_onnx *m = NULL;
        OK(glia_model_load(models[i], 2, 11, &ma));
        OK(glia_onnx_save(glia_model_graph(ma), (int[]){glia_model_output(ma)}, 1, path));
        glia_model_free(ma);
        OK(glia_model_load(models[i], 2, 12, &mb)); /* the run's own weights: another seed */
        OK(glia_safetensors_save(glia_model_graph(mb), wpath));
        int T = glia_model_sequence(mb), V = glia_model_vocab(mb);
        float ids[2 * 64], len[2] = {(float)T, (float)(T / 2 + 1)};
        for (int k = 0; k < 2 * T; k++) ids[k] = (float)((k * 7 + 3) % V);
        int64_t ny = 0;
        float *want = seq_model_run(mb, 2, ids, len, &ny), *got = malloc((size_t)(ny + 1) * sizeof *got);
        CHECK_MSG(want != NULL, "%s: %s", models[i], glia_last_error());
        glia_onnx_options o = {.batch = 2};
        glia_status s = glia_onnx_load(path, &o, &m);
        tensors t = {0};
        if (!s && want && tensors_read(wpath, &t)) {
            glia_graph *g2 = glia_onnx_graph(m);
            int params = 0, found = 0;
            for (int k = 0; k < glia_graph_num_nodes(g2); k++) params += glia_node_is_param(g2, k);
            for (int k = 0; k < t.n; k++) {
                int node;
                glia_shape sh;
                if (glia_graph_find(g2, t.e[k].name, &node) || glia_node_shape(g2, node, &sh) ||
                    glia_shape_numel(&sh) != glia_shape_numel(&t.e[k].shape) || sh.ndim != t.e[k].shape.ndim || !glia_node_is_param(g2, node)) {
                    test_fail(__FILE__, __LINE__, "%s: the import has no parameter '%s' of the run's shape",
                              models[i], t.e[k].name);
                    continue;
                }
                found++;
                OK(glia_node_write(g2, node, t.e[k].data, glia_shape_numel(&sh)));
            }
            CHECK_MSG(found == params && found == t.n, "%s: %d of the run's %d tensors found, the import has %d parameters",
                      models[i], found, t.n, params);
            CHECK_MSG(seq_onnx_run(m, 2, T, ids, len, got, ny), "%s: %s", models[i], glia_last_error());
            CHECK_MSG(!memcmp(got, want, (size_t)ny * sizeof *got), "%s: outputs differ with the run's weights", models[i]);
            if (i == 2) OK(glia_safetensors_load(g2, wpath));
        } else {
            CHECK(!s);
        }
        tensors_free(&t);
        glia_onnx_free(m);
        glia_model_free(mb);
        free(want);
        free(got);
    }
    unlink(path);
    unlink(wpath);
}

/* glia_model_import of recurrent graphs: an exported char-lstm (one-hot, 2 LSTM layers,
 * seqdense), char-gru, sentiment-lstm (embedding, bidirectional LSTM, return = last, dense) and
 * tagger-bilstm come back as the model text's own layers (names, types, parameter counts), and
 * another seed's weights file of the model text loads into the import whole and gives that
 * seed's outputs at uneven lengths, bit for bit */
TEST(onnx_import_recurrent_to_model_text) {
    const char *models[] = {"models/char-lstm.cfg", "models/char-gru.cfg", "models/sentiment-lstm.cfg",
                            "models/tagger-bilstm.cfg"};
    char path[] = "/tmp/glia-onnx-XXXXXX", onnx[64], wpath[64];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    snprintf(onnx, sizeof onnx, "%s.onnx", path);
    snprintf(wpath, sizeof wpath, "%s.safetensors", path);
    for (int i = 0; i < 4 && !test_failed_flag; i++) {
        glia_model *ma, *mb, *mi = NULL;
        OK(glia_model_load(models[i], 2, 11, &ma));
        OK(glia_onnx_save(glia_model_graph(ma), (int[]){glia_model_output(ma)}, 1, onnx));
        glia_model_free(ma);
        OK(glia_model_load(models[i], 2, 12, &mb)); /* the run's own weights: another seed */
        OK(glia_safetensors_save(glia_model_graph(mb), wpath));
        glia_status s = glia_model_import(onnx, 2, 1, &mi);
        CHECK_MSG(!s, "%s: %s", models[i], glia_last_error());
        int T = glia_model_sequence(mb), V = glia_model_vocab(mb);
        float ids[2 * 64], len[2] = {(float)T, (float)(T / 2 + 1)};
        for (int k = 0; k < 2 * T; k++) ids[k] = (float)((k * 7 + 3) % V);
        int64_t na = 0, nb = 0;
        float *want = seq_model_run(mb, 2, ids, len, &na), *got = NULL;
        if (!s) {
            CHECK(glia_model_num_layers(mi) == glia_model_num_layers(mb) && glia_model_sequence(mi) == T);
            for (int k = 0; k < glia_model_num_layers(mb) && k < glia_model_num_layers(mi); k++) {
                glia_layer_info a, b;
                OK(glia_model_layer(mb, k, &a));
                OK(glia_model_layer(mi, k, &b));
                CHECK_MSG(!strcmp(a.name, b.name) && !strcmp(a.type, b.type) && a.params == b.params,
                          "%s layer %d: %s %s, imported %s %s", models[i], k, a.name, a.type, b.name, b.type);
            }
            OK(glia_safetensors_load(glia_model_graph(mi), wpath));
            got = seq_model_run(mi, 2, ids, len, &nb);
            CHECK_MSG(want && got && na == nb && !memcmp(got, want, (size_t)na * sizeof *got),
                      "%s: the import's outputs differ with the run's weights", models[i]);
        }
        glia_model_free(mi);
        glia_model_free(mb);
        free(want);
        free(got);
    }
    unlink(path);
    unlink(onnx);
    unlink(wpath);
}


/* glia's own ops (binarize, embedding_bag, local2d, attention, clockwork and scrn in both
 * directions, seq_last, seq_pool, maxout, XNOR conv and dense), exported as calls of ONNX functions, import back as the same ops with the same
 * outputs at another batch size; tests/onnx_export_test.sh runs the same files in onnxruntime */
TEST(onnx_export_glia_ops_round_trip) {
    const char *models[] = {"models/lenet5-xnor.cfg", "models/sentiment-trigram.cfg", "models/char-clockwork.cfg",
                            "models/char-scrn.cfg", "models/g2p-small.cfg", "tests/models/onnx_local_pad.cfg",
                            "tests/models/onnx_cells.cfg", "tests/models/onnx_pools.cfg"};
    const char *op_node[] = {"conv2.wbin", "words", "cw", "scrn", "attention.context", "L1.local", "mo", "sc_mean.mean"};
    const char *op[] = {"binarize", "embedding_bag", "clockwork", "scrn", "attention", "local2d", "maxout", "seq_pool"};
    char path[] = "/tmp/glia-onnx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    for (int i = 0; i < 8; i++) {
        glia_model *md;
        glia_onnx *m = NULL;
        OK(glia_model_load(models[i], 1, 3, &md));
        glia_graph *g = glia_model_graph(md);
        int y = glia_model_output(md);
        OK(glia_onnx_save(g, &y, 1, path));
        OK(glia_graph_set_batch(g, 3));
        glia_graph_set_training(g, 0);
        glia_onnx_options o = {.batch = 3};
        glia_status s = glia_onnx_load(path, &o, &m);
        if (s) {
            glia_model_free(md);
            OK(s);
            continue;
        }
        glia_graph *g2 = glia_onnx_graph(m);
        int k2;
        OK(glia_graph_find(g2, op_node[i], &k2));
        CHECK_MSG(!strcmp(glia_node_op(g2, k2), op[i]), "%s: %s is %s", models[i], op_node[i], glia_node_op(g2, k2));
        /* every input: token ids in [0, 7) (the smallest vocabulary), lengths in 1..T, images in [-1, 1) */
        for (int k = 0; k < glia_onnx_num_inputs(m); k++) {
            const char *name = glia_onnx_input_name(m, k);
            int node;
            glia_shape xs;
            OK(glia_graph_find(g, name, &node));
            OK(glia_node_shape(g, node, &xs));
            int64_t nx = glia_shape_numel(&xs);
            float *v = malloc((size_t)nx * sizeof *v);
            fill_uniform(v, nx, 0, 1, 9 + k);
            int len = strstr(name, "lengths") != NULL, ids = xs.ndim == 3;
            int64_t T = len && !strcmp(name, "lengths") ? glia_model_sequence(md) : 5;
            for (int64_t j = 0; j < nx; j++)
                v[j] = len ? (float)(1 + (int)(v[j] * (float)T) % T) : ids ? (float)(int)(v[j] * 7) : 2 * v[j] - 1;
            OK(glia_node_write(g, node, v, nx));
            OK(glia_node_write(g2, glia_onnx_input_node(m, k), v, nx));
            free(v);
        }
        glia_shape ys;
        OK(glia_node_shape(g, y, &ys));
        int64_t ny = glia_shape_numel(&ys);
        float *want = malloc((size_t)ny * sizeof *want), *got = malloc((size_t)ny * sizeof *got);
        OK(glia_graph_forward(g));
        OK(glia_graph_forward(g2));
        OK(glia_node_read(g, y, want, ny));
        OK(glia_node_read(g2, glia_onnx_output_node(m, 0), got, ny));
        CHECK_MSG(close_to(got, want, ny, models[i]), "%s: outputs differ after the round trip", models[i]);
        glia_onnx_free(m);
        glia_model_free(md);
        free(want);
        free(got);
    }
    unlink(path);
}


/* the ops glia's importer makes of ONNX's Sqrt, Div and MatMul export as those ops again */
TEST(onnx_export_sqrt_div_matmul) {
    char path[] = "/tmp/glia-onnx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    glia_graph *g;
    int x, sq, a, t, ta, m, m2, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 3, (int64_t[]){2, 3, 4}, &x));
    OK(glia_mul(g, "sq", x, x, &sq));
    OK(glia_sqrt(g, "abs", sq, &a));                                /* |x| */
    OK(glia_transpose(g, "t", x, 3, (const int[]){0, 2, 1}, &t));
    OK(glia_transpose(g, "ta", a, 3, (const int[]){0, 2, 1}, &ta));
    OK(glia_matmul(g, "m", a, t, &m));                              /* [2, 3, 3] */
    OK(glia_matmul(g, "m2", a, ta, &m2));                           /* > 0 */
    OK(glia_div(g, "y", m, m2, &y));
    float in[24], want[18], got[18];
    fill_uniform(in, 24, -1, 1, 8);
    OK(glia_node_write(g, x, in, 24));
    OK(glia_graph_forward(g));
    OK(glia_node_read(g, y, want, 18));
    OK(glia_onnx_save(g, &y, 1, path));
    glia_graph_free(g);
    glia_onnx *mo = NULL;
    glia_onnx_options o = {.batch = 2};
    glia_status s = glia_onnx_load(path, &o, &mo);
    if (!s) {
        glia_graph *g2 = glia_onnx_graph(mo);
        int k;
        OK(glia_graph_find(g2, "m", &k));
        CHECK(!strcmp(glia_node_op(g2, k), "matmul"));
        OK(glia_node_write(g2, glia_onnx_input_node(mo, 0), in, 24));
        OK(glia_graph_forward(g2));
        OK(glia_node_read(g2, glia_onnx_output_node(mo, 0), got, 18));
        CHECK(close_to(got, want, 18, "sqrt, div, matmul"));
    }
    glia_onnx_free(mo);
    unlink(path);
    OK(s);
}
