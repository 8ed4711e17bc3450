/* test_crossload.c: a glia model file and PyTorch agree. scripts/golden/gen_crossload.py builds
 * the PyTorch module of a .cfg (scripts/torch_model.py), writes its weights as safetensors and
 * its eval-mode output and input gradient; here glia loads the same .cfg and that PyTorch-written
 * file (strictly: every tensor, glia's names and shapes) and must reproduce both. The reverse
 * direction (glia-written weights into PyTorch) is scripts/crossload_check.py. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

static const char *golden_dir(void) {
    const char *d = getenv("GLIA_GOLDEN_DIR");
    return d ? d : "tests/golden";
}

/* cfg + tests/golden/crossload_<name>.safetensors -> glia, inference mode, batch 2 */
static int load_crossload(const char *cfg, const char *name, glia_model **m) {
    char path[512];
    snprintf(path, sizeof path, "%s/crossload_%s.safetensors", golden_dir(), name);
    glia_status s = glia_model_load(cfg, 2, 99, m);
    if (s) {
        test_fail(__FILE__, __LINE__, "%s: %s", cfg, glia_last_error());
        return 0;
    }
    if ((s = glia_safetensors_load(glia_model_graph(*m), path))) {
        test_fail(__FILE__, __LINE__, "%s: %s", path, glia_last_error());
        glia_model_free(*m);
        *m = NULL;
        return 0;
    }
    glia_graph_set_training(glia_model_graph(*m), 0);
    return 1;
}

/* glia's output and d sum(y * seed) / dx against PyTorch's, eval mode */
static void crossload_matches(const char *cfg, const char *name) {
    glia_model *m;
    if (!load_crossload(cfg, name, &m)) return;
    char gname[64];
    snprintf(gname, sizeof gname, "crossload_%s", name);
    const char *names[1] = {"x"};
    int nodes[1] = {glia_model_input(m)};
    int ok = golden_check(glia_model_graph(m), gname, glia_model_output(m), 1, names, nodes, 1e-4);
    glia_model_free(m);
    CHECK(ok);
}

TEST(crossload_all_layers_pytorch_weights) {
    crossload_matches("tests/models/all_layers.cfg", "all_layers");
}

TEST(crossload_lenet5_pytorch_weights) {
    crossload_matches("models/lenet5.cfg", "lenet5");
}

/* all_layers.cfg really uses every section kind, activation and initialiser of the format */
TEST(crossload_all_layers_covers_the_format) {
    glia_model *m;
    OK(glia_model_load("tests/models/all_layers.cfg", 2, 1, &m));
    char *text;
    OK(glia_model_to_text(m, &text));
    static const char *const want[] = {
        "[conv]", "[dense]", "[maxpool]", "[avgpool]", "[globalavgpool]", "[dropout]",
        "[batchnorm]", "[lrn]", "[activation]", "[softmax]", "[flatten]", "[maxout]", "[add]",
        "[concat]", "stride = 2", "pad = 2", "dilation = 2", "groups = 4", "batchnorm = 1",
        "bias = 0", "activation = linear", "activation = relu", "activation = leaky",
        "activation = elu", "activation = sigmoid", "activation = tanh", "init = pytorch",
        "init = he_uniform", "init = he_normal", "init = xavier_uniform", "init = xavier_normal",
        "init = orthogonal", "init = delta_orthogonal", "input = data", "inputs = a1, b_pool"};
    int missing = -1;
    for (size_t i = 0; i < sizeof want / sizeof want[0] && missing < 0; i++)
        if (!strstr(text, want[i])) missing = (int)i;
    free(text);
    glia_model_free(m);
    CHECK_MSG(missing < 0, "all_layers.cfg lacks '%s'", want[missing]);
}

/* glia's canonical text is PyTorch's side's (torch_model.py's to_text): same defaults, same
 * canonical values, same default names */
TEST(crossload_canonical_text_matches_python) {
    char path[512];
    snprintf(path, sizeof path, "%s/crossload_all_layers_canonical.cfg", golden_dir());
    char *want = test_read_file(path, 0);
    CHECK_MSG(want, "%s is missing (scripts/golden/gen_crossload.py)", path);
    glia_model *m = NULL;
    char *got = NULL;
    glia_status s = glia_model_load("tests/models/all_layers.cfg", 2, 1, &m);
    if (!s) s = glia_model_to_text(m, &got);
    glia_model_free(m);
    int same = got && !strcmp(got, want);
    if (!same && got) fprintf(stderr, "glia:\n%s\n--- torch_model.py:\n%s\n", got, want);
    free(got);
    free(want);
    CHECK_MSG(!s, "%s", glia_last_error());
    CHECK(same);
}

/* glia_model_to_text of all_layers.cfg parses back to the same layers, the same parameters and
 * (with the same weights) the same output, bit for bit */
TEST(crossload_all_layers_text_round_trip) {
    glia_model *a = NULL, *b = NULL;
    char *ta = NULL, *tb = NULL;
    if (!load_crossload("tests/models/all_layers.cfg", "all_layers", &a)) return;
    OK(glia_model_to_text(a, &ta));
    glia_status s = glia_model_parse(ta, "canonical.cfg", 2, 5, &b);
    if (s) {
        test_fail(__FILE__, __LINE__, "canonical text does not parse: %s\n%s", glia_last_error(), ta);
        goto out;
    }
    if ((s = glia_model_to_text(b, &tb)) || strcmp(ta, tb)) {
        test_fail(__FILE__, __LINE__, "canonical text is not a fixed point:\n%s\n---\n%s", ta, tb ? tb : "");
        goto out;
    }
    int n = glia_model_num_layers(a);
    if (n != glia_model_num_layers(b) || n != 20) {
        test_fail(__FILE__, __LINE__, "%d layers, then %d", n, glia_model_num_layers(b));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        glia_layer_info x, y;
        if (glia_model_layer(a, i, &x) || glia_model_layer(b, i, &y)) {
            test_fail(__FILE__, __LINE__, "layer %d: %s", i, glia_last_error());
            goto out;
        }
        int same = !strcmp(x.name, y.name) && !strcmp(x.type, y.type) && x.params == y.params &&
                   x.trainable_params == y.trainable_params && x.macs == y.macs &&
                   x.shape.ndim == y.shape.ndim;
        for (int d = 0; same && d < x.shape.ndim; d++) same = x.shape.dim[d] == y.shape.dim[d];
        if (!same) {
            test_fail(__FILE__, __LINE__, "layer %d: %s [%s] became %s [%s]", i, x.name, x.type,
                      y.name, y.type);
            goto out;
        }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/crossload_all_layers.safetensors", golden_dir());
    glia_graph *ga = glia_model_graph(a), *gb = glia_model_graph(b);
    if ((s = glia_safetensors_load(gb, path))) {
        test_fail(__FILE__, __LINE__, "the PyTorch weights do not load into the re-parsed model: %s",
                  glia_last_error());
        goto out;
    }
    glia_graph_set_training(gb, 0);
    golden *gd = golden_load("crossload_all_layers");
    glia_shape xs;
    const float *x = gd ? golden_get(gd, "x", &xs) : NULL;
    if (!x || glia_node_set(ga, glia_model_input(a), x, glia_shape_numel(&xs)) ||
        glia_node_set(gb, glia_model_input(b), x, glia_shape_numel(&xs)) || glia_graph_forward(ga) ||
        glia_graph_forward(gb)) {
        if (x) test_fail(__FILE__, __LINE__, "%s", glia_last_error());
        golden_free(gd);
        goto out;
    }
    golden_free(gd);
    glia_shape ys;
    glia_node_shape(ga, glia_model_output(a), &ys);
    const float *ya = glia_node_value(ga, glia_model_output(a)), *yb = glia_node_value(gb, glia_model_output(b));
    if (!ya || !yb || memcmp(ya, yb, (size_t)glia_shape_numel(&ys) * sizeof *ya))
        test_fail(__FILE__, __LINE__, "the re-parsed model gives another output");
out:
    free(ta);
    free(tb);
    glia_model_free(a);
    glia_model_free(b);
}
