/* test_transfer.c: transfer learning (glia_model_transfer*): loaded layers equal the source
 * run's, frozen layers are bit-identical after training while the others learn, a shape
 * mismatch is an error naming the layer unless the layer is listed as new, and the report
 * counts loaded, frozen and new layers. */
#include "test.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *src_cfg =
    "[net]\ninput = 1, 8, 8\nclasses = 4\nbatch = 16\nepochs = 1\nlr = 0.05\nmomentum = 0.9\n"
    "[conv]\nname = c1\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
    "[conv]\nname = c2\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n"
    "[dense]\nname = fc\nunits = %d\n";

static glia_model *model(int units, uint64_t seed) {
    char text[1024];
    snprintf(text, sizeof text, src_cfg, units);
    glia_model *m = NULL;
    if (glia_model_parse(text, "transfer.cfg", 1, seed, &m)) return NULL;
    return m;
}

static const float *val(glia_model *m, const char *name, int64_t *n) {
    int id;
    glia_shape s;
    if (glia_graph_find(glia_model_graph(m), name, &id) || glia_node_shape(glia_model_graph(m), id, &s)) return NULL;
    *n = glia_shape_numel(&s);
    return glia_node_value(glia_model_graph(m), id);
}

/* 1 if tensor `name` holds the same bits in a and b */
static int same(glia_model *a, glia_model *b, const char *name) {
    int64_t na = 0, nb = 0;
    const float *x = val(a, name, &na), *y = val(b, name, &nb);
    return x && y && na == nb && !memcmp(x, y, (size_t)na * sizeof *x);
}

static glia_status train(glia_model *m, const char *dir, glia_dataset *tr) {
    glia_train_options o = {0};
    o.train_set = tr;
    o.test_set = tr;
    o.out_dir = dir;
    o.seed = 3;
    o.val = 0.1f;
    o.normalize = 0;
    glia_train_result res;
    glia_status s = glia_train(m, &o, &res);
    if (!s) glia_eval_result_free(&res.test);
    return s;
}

static void rm_run(const char *dir) {
    static const char *const files[] = {"model.cfg", "weights.safetensors", "classes.txt", "metrics.csv",
                                        "curves.png", "checkpoint.safetensors"};
    char p[1024];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        remove(p);
    }
    rmdir(dir);
}

TEST(transfer_loads_freezes_and_trains_the_rest) {
    char sdir[] = "/tmp/glia-transfer-src-XXXXXX", ndir[] = "/tmp/glia-transfer-new-XXXXXX";
    CHECK(mkdtemp(sdir) && mkdtemp(ndir));
    glia_dataset *tr = test_blobs(96, 5);
    glia_model *src = model(4, 1), *m = model(4, 2);
    glia_transfer_report r = {0};
    glia_status s = !tr || !src || !m ? GLIA_ENOMEM : train(src, sdir, tr);
    if (!s) s = glia_model_transfer_from_run(m, sdir, &(glia_transfer_options){"c1", "fc"}, &r);
    int loaded = !s && same(m, src, "c1.weight") && same(m, src, "c1.bias") && same(m, src, "c2.weight");
    int fc_fresh = !s && !same(m, src, "fc.weight");
    float c2_before = 0, fc_before = 0;
    int64_t n;
    if (!s) c2_before = val(m, "c2.weight", &n)[0], fc_before = val(m, "fc.weight", &n)[0];
    if (!s) s = train(m, ndir, tr);
    int frozen = !s && same(m, src, "c1.weight") && same(m, src, "c1.bias");
    int learnt = !s && val(m, "c2.weight", &n)[0] != c2_before && val(m, "fc.weight", &n)[0] != fc_before;
    glia_model_free(src);
    glia_model_free(m);
    glia_dataset_free(tr);
    rm_run(sdir);
    rm_run(ndir);
    char *text = r.text;
    OK(s);
    CHECK_MSG(loaded, "the loaded layers differ from the source run's");
    CHECK(fc_fresh);
    CHECK_MSG(frozen, "the frozen layer c1 changed in training");
    CHECK_MSG(learnt, "the layers not frozen did not train");
    CHECK_MSG(r.loaded == 2 && r.frozen == 1 && r.fresh == 1, "loaded %d frozen %d new %d", r.loaded, r.frozen,
              r.fresh);
    CHECK(r.frozen_values == 4 * 9 + 4 && r.fresh_values == 4 * 16 * 4 + 4);
    CHECK_MSG(text && strstr(text, "c1") && strstr(text, "frozen") && strstr(text, "new"), "report: %s",
              text ? text : "(none)");
    free(text);
}

TEST(transfer_errors_name_the_layer) {
    glia_model *src = model(4, 1), *m = model(3, 2);
    CHECK(src && m);
    int64_t n;
    float before = val(m, "c1.weight", &n)[0];
    glia_status s = glia_model_transfer(m, src, NULL, NULL); /* fc: [3, 64] here, [4, 64] there */
    const char *e = glia_last_error();
    int shape_err = s == GLIA_ESHAPE && strstr(e, "layer 'fc'") && strstr(e, "[3, 64]") && strstr(e, "[4, 64]");
    int unchanged = val(m, "c1.weight", &n)[0] == before;
    glia_status s2 = glia_model_transfer(m, src, &(glia_transfer_options){"nosuch", NULL}, NULL);
    int unknown = s2 == GLIA_EINVAL && strstr(glia_last_error(), "'nosuch' is not a layer");
    glia_status s3 = glia_model_transfer(m, src, &(glia_transfer_options){"fc", "fc"}, NULL);
    int fresh_frozen = s3 == GLIA_EINVAL && strstr(glia_last_error(), "freezing it");
    glia_status s4 = glia_model_transfer(m, src, &(glia_transfer_options){NULL, "fc"}, NULL);
    int ok = !s4 && same(m, src, "c1.weight") && same(m, src, "c2.weight") && !same(m, src, "fc.bias");
    glia_status s5 = glia_model_transfer_from_run(m, "/nonexistent/run", NULL, NULL);
    int no_run = s5 != GLIA_OK && strstr(glia_last_error(), "/nonexistent/run/model.cfg");
    glia_model_free(src);
    glia_model_free(m);
    CHECK_MSG(shape_err, "status %d: %s", s, e);
    CHECK(unchanged && unknown && fresh_frozen && no_run);
    CHECK(ok);
}

/* a run with a frozen layer, stopped after its first batch and resumed: the checkpoint records
 * the frozen parameters, so the resumed run keeps them bit-identical to the source's */
TEST(transfer_frozen_layers_stay_frozen_on_resume) {
    char sdir[] = "/tmp/glia-transfer-src-XXXXXX", ndir[] = "/tmp/glia-transfer-new-XXXXXX";
    CHECK(mkdtemp(sdir) && mkdtemp(ndir));
    glia_dataset *tr = test_blobs(96, 5);
    glia_model *src = model(4, 1), *m = model(4, 2), *r = NULL;
    glia_status s = !tr || !src || !m ? GLIA_ENOMEM : train(src, sdir, tr);
    if (!s) s = glia_model_transfer_from_run(m, sdir, &(glia_transfer_options){"c1", NULL}, NULL);
    volatile int stop = 1; /* stops after the first batch, with a checkpoint */
    glia_train_options o = {0};
    o.train_set = tr;
    o.test_set = tr;
    o.out_dir = ndir;
    o.seed = 3;
    o.val = 0.1f;
    o.stop = &stop;
    glia_train_result res;
    glia_status stopped = s ? s : glia_train(m, &o, &res);
    stop = 0;
    if (!s && stopped == GLIA_EINTR) s = glia_train_resume(ndir, 3, &o, &r, &res);
    if (!s) glia_eval_result_free(&res.test);
    int frozen = !s && r && same(r, src, "c1.weight") && same(r, src, "c1.bias");
    int learnt = !s && r && !same(r, m, "c2.weight");
    glia_model_free(src);
    glia_model_free(m);
    glia_model_free(r);
    glia_dataset_free(tr);
    rm_run(sdir);
    rm_run(ndir);
    CHECK_MSG(stopped == GLIA_EINTR, "the run did not stop: status %d", stopped);
    if (s) fprintf(stderr, "  %s\n", glia_last_error());
    OK(s);
    CHECK_MSG(frozen, "the frozen layer c1 changed after resume");
    CHECK_MSG(learnt, "the resumed run did not train c2");
}

/* --lr-factor (glia_model_set_lr_factors): a layer of factor 0 stays bit-identical through a run
 * stopped after its first batch and resumed (the checkpoint keeps the factors), while a layer of
 * factor 0.5 learns; bad lists are errors that set nothing */
TEST(transfer_lr_factors_kept_on_resume) {
    char dir[] = "/tmp/glia-lr-factor-XXXXXX";
    CHECK(mkdtemp(dir));
    glia_dataset *tr = test_blobs(96, 5);
    glia_model *m = model(4, 2), *init = model(4, 2), *r = NULL;
    CHECK(tr && m && init);
    static const char *const bad[] = {"c9=1", "c1", "c1=x", "c1=-1", "c1=inf", "c1=0,c2=", "fc=1,c3=2"};
    int rejected = 1;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rejected &= glia_model_set_lr_factors(m, bad[i]) == GLIA_EINVAL;
    int fc_w;
    glia_graph_find(glia_model_graph(m), "fc.weight", &fc_w);
    rejected &= glia_node_lr_factor(glia_model_graph(m), fc_w) == 1.0f; /* nothing set */
    glia_status s = glia_model_set_lr_factors(m, "c1=0, c2=0.5");
    volatile int stop = 1;
    glia_train_options o = {0};
    o.train_set = tr;
    o.test_set = tr;
    o.out_dir = dir;
    o.seed = 3;
    o.val = 0.1f;
    o.stop = &stop;
    glia_train_result res;
    glia_status stopped = s ? s : glia_train(m, &o, &res);
    stop = 0;
    if (!s && stopped == GLIA_EINTR) s = glia_train_resume(dir, 3, &o, &r, &res);
    if (!s) glia_eval_result_free(&res.test);
    int c2_w = -1;
    if (r) glia_graph_find(glia_model_graph(r), "c2.weight", &c2_w);
    int kept = !s && r && same(r, init, "c1.weight") && same(r, init, "c1.bias");
    int learnt = !s && r && !same(r, init, "c2.weight") && !same(r, init, "fc.weight");
    float f2 = r ? glia_node_lr_factor(glia_model_graph(r), c2_w) : 0;
    glia_model_free(m);
    glia_model_free(init);
    glia_model_free(r);
    glia_dataset_free(tr);
    rm_run(dir);
    CHECK_MSG(rejected, "a bad list was taken");
    CHECK_MSG(stopped == GLIA_EINTR, "the run did not stop: status %d", stopped);
    OK(s);
    CHECK_MSG(kept, "the layer of factor 0 changed after resume");
    CHECK_MSG(learnt, "the resumed run did not train c2 and fc");
    CHECK_MSG(f2 == 0.5f, "c2.weight's factor after resume: %g", (double)f2);
}
