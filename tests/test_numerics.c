/* test_numerics.c: NaN and infinity. With numerics checking on, a forward stops at the first
 * non-finite value and names the node; training stops at a non-finite loss naming the first
 * op that went non-finite, and the last checkpoint stays as it was (and still resumes). */
#include "test.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TEST(numerics_check_names_the_first_nonfinite_op) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, t, a, b, c, loss;
    OK(glia_input(g, "x", 2, (int64_t[]){1, 2}, &x));
    OK(glia_input(g, "t", 2, (int64_t[]){1, 2}, &t));
    OK(glia_scale(g, "big1", x, 1e30f, &a));
    OK(glia_scale(g, "big2", a, 1e30f, &b));
    OK(glia_scale(g, "after", b, 2, &c));
    OK(glia_mse_loss(g, "loss", c, t, &loss));
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    OK(glia_node_set(g, x, (float[]){1, -2}, 2));
    OK(glia_node_set(g, t, (float[]){0, 0}, 2));
    /* off (the default): the forward runs through and the loss is infinite */
    OK(glia_graph_forward(g));
    CHECK(isinf(glia_node_value(g, loss)[0]));
    glia_graph_set_check_numerics(g, 1);
    glia_status s = glia_graph_forward(g);
    const char *e = glia_last_error();
    int named = strstr(e, "scale 'big2': output became non-finite (inf at element 0 of shape [1, 2])") != NULL;
    /* a NaN input is reported as the input, before any op runs */
    OK(glia_node_set(g, x, (float[]){NAN, 1}, 2));
    glia_status s2 = glia_graph_forward(g);
    int named_in = strstr(glia_last_error(), "input 'x': value became non-finite (nan at element 0") != NULL;
    char msg2[300];
    snprintf(msg2, sizeof msg2, "%s", glia_last_error());
    glia_graph_free(g);
    CHECK(s == GLIA_ERANGE);
    CHECK_MSG(named, "message: %s", e);
    CHECK(s2 == GLIA_ERANGE);
    CHECK_MSG(named_in, "message: %s", msg2);
}

static const char *nan_cfg =
    "[net]\ninput = 1, 4, 4\nclasses = 2\nbatch = 4\nepochs = 1\nlr = 0.05\noptimizer = sgd\n"
    "[conv]\nname = c1\nfilters = 3\nsize = 3\npad = 1\nactivation = relu\n"
    "[dense]\nname = fc\nunits = 2\n";

static glia_dataset *set(int n, float value) {
    glia_tensor *x, *y;
    glia_dataset *d;
    if (glia_tensor_new(&x, 4, (int64_t[]){n, 1, 4, 4}) || glia_tensor_new(&y, 1, (int64_t[]){n})) return NULL;
    for (int i = 0; i < n * 16; i++) x->data[i] = value * (float)((i * 7) % 11) / 10;
    for (int i = 0; i < n; i++) y->data[i] = (float)(i % 2);
    return glia_dataset_new(x, y, 2, NULL, &d) ? NULL : d;
}

static char *slurp(const char *path, long *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)*n + 1);
    if (b && fread(b, 1, (size_t)*n, f) != (size_t)*n) { free(b); b = NULL; }
    fclose(f);
    return b;
}

static void rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            remove(p);
        }
    if (d) closedir(d);
    rmdir(dir);
}

/* Epoch 1 on good data; epoch 2 on images 1e30 times brighter (as from a wrong scale; the
 * gradients blow the weights up and the next forward overflows): the run must stop with the op named and the checkpoint of epoch 1 intact; resuming from it on good
 * data then works. check: numerics checking on every step, or only after the bad loss. */
static void nan_case(int check) {
    glia_dataset *good = set(16, 1), *bad = set(16, 1e30f), *test = set(8, 1);
    CHECK(good && bad && test);
    char dir[] = "/tmp/glia-nan-XXXXXX", path[300];
    CHECK(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    glia_model *m = NULL, *m2 = NULL, *m3 = NULL;
    glia_train_options o = {0};
    o.train_set = good;
    o.test_set = test;
    o.out_dir = dir;
    o.seed = 2;
    o.check_numerics = check;
    glia_train_result r;
    glia_status s = glia_model_parse(nan_cfg, "nan.cfg", 1, 2, &m);
    if (!s && !(s = glia_train(m, &o, &r))) glia_eval_result_free(&r.test);
    long n1 = 0, n2 = 0;
    char *before = s ? NULL : slurp(path, &n1);
    o.train_set = bad;
    glia_status s_bad = s ? GLIA_OK : glia_train_resume(dir, 2, &o, &m2, &r);
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", glia_last_error());
    char *after = slurp(path, &n2);
    o.train_set = good;
    glia_status s_again = glia_train_resume(dir, 2, &o, &m3, &r);
    if (!s_again) glia_eval_result_free(&r.test);
    int same = before && after && n1 == n2 && !memcmp(before, after, (size_t)n1);
    free(before);
    free(after);
    glia_model_free(m);
    glia_model_free(m2);
    glia_model_free(m3);
    glia_dataset_free(good);
    glia_dataset_free(bad);
    glia_dataset_free(test);
    rm_dir(dir);
    CHECK_MSG(!s, "first epoch: %s", glia_last_error());
    CHECK_MSG(s_bad == GLIA_ERANGE, "the bad epoch gave %s: %s", glia_status_name(s_bad), msg);
    CHECK_MSG(strstr(msg, "training stopped at epoch 2, batch ") &&
              strstr(msg, "became non-finite (first ") && strstr(msg, "output became non-finite"),
              "message: %s", msg);
    CHECK_MSG(same, "the checkpoint changed after the non-finite loss");
    CHECK_MSG(s_again == GLIA_OK, "resuming from the kept checkpoint failed");
}

TEST(numerics_nan_loss_stops_training_and_keeps_the_checkpoint) { nan_case(0); }
TEST(numerics_check_every_step_stops_training_and_keeps_the_checkpoint) { nan_case(1); }
