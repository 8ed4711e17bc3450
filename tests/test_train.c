/* test_train.c: the training loop on a small synthetic problem: it learns (accuracy well above
 * chance), its files appear, and a run stopped at any batch and resumed from its checkpoint
 * ends with bit-identical weights and losses to a run that was never stopped - also when
 * dropout, batch norm (running statistics), augmentation, momentum and a cosine schedule with
 * warm-up all draw on the saved state. */
#include "test.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tiny_cfg =
    "[net]\ninput = 1, 8, 8\nclasses = 4\nbatch = 16\nepochs = 3\nlr = 0.05\noptimizer = nesterov\n"
    "momentum = 0.9\nweight_decay = 0.0001\nschedule = cosine\nwarmup = 5\nshift = 1\n"
    "[conv]\nname = c1\nfilters = 6\nsize = 3\npad = 1\nbatchnorm = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n"
    "[dropout]\np = 0.2\n"
    "[dense]\nname = fc\nunits = 4\n";

/* the model run_to_end trains: tiny_cfg, or it with more augmentation (the resume test below) */
static const char *run_cfg;

typedef struct { int stop_epoch; int64_t stop_batch; volatile int *flag; int calls; } stopper;
static void stop_at(void *ctx, const glia_train_progress *p) {
    stopper *s = ctx;
    s->calls++;
    if (p->epoch == s->stop_epoch && (p->epoch_done ? p->batches : p->batch) == s->stop_batch) *s->flag = 1;
}

/* the values of every parameter and buffer, concatenated */
static float *weights(glia_model *m, int64_t *n) {
    glia_graph *g = glia_model_graph(m);
    const char *names[] = {"c1.weight", "c1.bn.weight", "c1.bn.bias", "c1.bn.running_mean",
                           "c1.bn.running_var", "fc.weight", "fc.bias"};
    float *all = NULL;
    *n = 0;
    for (int i = 0; i < 7; i++) {
        int id;
        glia_shape s;
        if (glia_graph_find(g, names[i], &id) || glia_node_shape(g, id, &s)) { free(all); return NULL; }
        int64_t k = glia_shape_numel(&s);
        all = realloc(all, (size_t)(*n + k) * sizeof *all);
        memcpy(all + *n, glia_node_value(g, id), (size_t)k * sizeof *all);
        *n += k;
    }
    return all;
}

/* the loss and accuracy columns of metrics.csv (the seconds column differs between runs) */
static void strip_seconds(char *csv) {
    for (char *line = csv; line && *line;) {
        char *nl = strchr(line, '\n'), *last = NULL;
        for (char *p = line; p < (nl ? nl : line + strlen(line)); p++)
            if (*p == ',') last = p;
        if (last && nl) memmove(last, nl, strlen(nl) + 1);
        nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
}

static int run_to_end(const char *dir, glia_dataset *tr, glia_dataset *te, stopper *st,
                      float **w, int64_t *nw, glia_train_result *res) {
    glia_model *m;
    if (glia_model_parse(run_cfg ? run_cfg : tiny_cfg, "tiny.cfg", 1, 7, &m)) return 0;
    volatile int flag = 0;
    glia_train_options o = {0};
    o.train_set = tr;
    o.test_set = te;
    o.out_dir = dir;
    o.seed = 7;
    o.val = 0.1f;
    o.normalize = 1;
    o.stop = &flag;
    if (st) {
        st->flag = &flag;
        o.progress = stop_at;
        o.ctx = st;
    }
    glia_status s = glia_train(m, &o, res);
    int resumes = 0;
    while (s == GLIA_EINTR && resumes++ < 3) {
        glia_model_free(m);
        flag = 0;
        st->stop_epoch = -1;
        s = glia_train_resume(dir, 0, &o, &m, res);
    }
    if (s) {
        fprintf(stderr, "  train: %s\n", glia_last_error());
        glia_model_free(m);
        return 0;
    }
    *w = weights(m, nw);
    glia_model_free(m);
    return resumes + 1;
}

static void resume_case(int stop_epoch, int64_t stop_batch) {
    glia_dataset *tr = test_blobs(400, 1), *te = test_blobs(100, 2);
    CHECK(tr && te);
    char a[] = "/tmp/glia-train-a-XXXXXX", b[] = "/tmp/glia-train-b-XXXXXX";
    CHECK(mkdtemp(a) && mkdtemp(b));
    float *wa = NULL, *wb = NULL;
    int64_t na = 0, nb = 0;
    glia_train_result ra, rb;
    stopper st = {stop_epoch, stop_batch, NULL, 0};
    int ok = run_to_end(a, tr, te, NULL, &wa, &na, &ra) == 1;
    int runs = ok ? run_to_end(b, tr, te, &st, &wb, &nb, &rb) : 0;
    char pa[300], pb[300];
    snprintf(pa, sizeof pa, "%s/metrics.csv", a);
    snprintf(pb, sizeof pb, "%s/metrics.csv", b);
    char *ma = test_read_file(pa, 0), *mb = test_read_file(pb, 0);
    if (ma && mb) { strip_seconds(ma); strip_seconds(mb); }
    int same_w = wa && wb && na == nb && na > 0 && !memcmp(wa, wb, (size_t)na * sizeof *wa);
    int same_m = ma && mb && !strcmp(ma, mb);
    double acc = ok ? ra.test.acc : 0, acc_b = runs ? rb.test.acc : -1;
    if (ok) glia_eval_result_free(&ra.test);
    if (runs) glia_eval_result_free(&rb.test);
    free(wa); free(wb); free(ma); free(mb);
    test_rm_rf(a); test_rm_rf(b);
    glia_dataset_free(tr);
    glia_dataset_free(te);
    CHECK(ok);
    CHECK_MSG(runs == 2, "the stopped run ran %d times (expected a stop and one resume)", runs);
    CHECK_MSG(same_w, "weights differ after stop at epoch %d batch %lld and resume", stop_epoch, (long long)stop_batch);
    CHECK_MSG(same_m, "metrics differ after stop and resume");
    CHECK(acc == acc_b);
    CHECK_MSG(acc > 0.8, "test accuracy %.3f on the blobs (chance 0.25)", acc);
}

/* Determinism: two whole runs (several epochs of steps, shuffling, validation) with the same seed
 * and thread count end with bit-identical weights. */
TEST(train_same_seed_same_weights) {
    glia_dataset *tr = test_blobs(400, 1), *te = test_blobs(100, 2);
    CHECK(tr && te);
    char a[] = "/tmp/glia-train-a-XXXXXX", b[] = "/tmp/glia-train-b-XXXXXX";
    CHECK(mkdtemp(a) && mkdtemp(b));
    float *wa = NULL, *wb = NULL;
    int64_t na = 0, nb = 0;
    glia_train_result ra, rb;
    int oka = run_to_end(a, tr, te, NULL, &wa, &na, &ra) == 1;
    int okb = run_to_end(b, tr, te, NULL, &wb, &nb, &rb) == 1;
    int same = oka && okb && na == nb && na > 0 && !memcmp(wa, wb, (size_t)na * sizeof *wa);
    if (oka) glia_eval_result_free(&ra.test);
    if (okb) glia_eval_result_free(&rb.test);
    free(wa);
    free(wb);
    test_rm_rf(a);
    test_rm_rf(b);
    glia_dataset_free(tr);
    glia_dataset_free(te);
    CHECK(oka && okb);
    CHECK_MSG(same, "two runs with seed 7 ended with different weights");
}

TEST(train_resume_mid_epoch_is_bit_exact) { resume_case(2, 7); }
TEST(train_resume_first_batch_is_bit_exact) { resume_case(1, 1); }
TEST(train_resume_epoch_boundary_is_bit_exact) { resume_case(1, 22); /* 360 / 16 = 22 batches */ }
/* random resized crops, flips and brightness/contrast jitter draw from the saved generator too */
TEST(train_resume_with_crop_and_jitter_is_bit_exact) {
    static char cfg[1024];
    snprintf(cfg, sizeof cfg, "%.*scrop = 0.9\njitter = 0.1\n%s", (int)(strstr(tiny_cfg, "[conv]") - tiny_cfg),
             tiny_cfg, strstr(tiny_cfg, "[conv]"));
    run_cfg = cfg;
    resume_case(2, 7);
    run_cfg = NULL;
}

TEST(train_writes_its_files) {
    glia_dataset *tr = test_blobs(200, 3), *te = test_blobs(50, 4);
    CHECK(tr && te);
    char d[] = "/tmp/glia-train-f-XXXXXX";
    CHECK(mkdtemp(d));
    glia_model *m;
    OK(glia_model_parse(tiny_cfg, "tiny.cfg", 1, 7, &m));
    glia_train_options o = {0};
    o.train_set = tr;
    o.test_set = te;
    o.out_dir = d;
    o.seed = 1;
    o.normalize = 1;
    glia_train_result r;
    glia_status s = glia_train(m, &o, &r);
    const char *files[] = {"model.cfg", "weights.safetensors", "classes.txt", "metrics.csv",
                           "curves.png", "checkpoint.safetensors"};
    int missing = -1;
    for (int i = 0; i < 6 && !s; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", d, files[i]);
        if (access(p, R_OK)) missing = i;
    }
    /* the written model has the measured normalisation; it reloads with the weights */
    char p[300];
    snprintf(p, sizeof p, "%s/model.cfg", d);
    glia_model *m2 = NULL;
    int reload = !s && !glia_model_load(p, 16, 1, &m2);
    snprintf(p, sizeof p, "%s/weights.safetensors", d);
    reload = reload && !glia_safetensors_load(glia_model_graph(m2), p);
    glia_eval_result e = {0};
    reload = reload && !glia_evaluate(m2, te, NULL, 0, &e);
    double mean = m2 ? strtod(glia_model_option(m2, "mean"), NULL) : 0;
    int64_t diag = 0;
    for (int c = 0; e.confusion && c < 4; c++) diag += e.confusion[c * 4 + c];
    CHECK_MSG(!s, "%s", glia_last_error());
    CHECK_MSG(missing < 0, "%s missing", files[missing]);
    CHECK(reload);
    CHECK_MSG(mean > 0.2 && mean < 0.5, "mean %g", mean);
    CHECK(e.n == 50 && e.acc == r.test.acc && e.loss > 0);
    CHECK(diag == (int64_t)(e.acc * 50 + 0.5));
    CHECK(e.top5 == 1.0); /* 4 classes */
    glia_eval_result_free(&e);
    glia_eval_result_free(&r.test);
    glia_model_free(m2);
    glia_model_free(m);
    test_rm_rf(d);
    glia_dataset_free(tr);
    glia_dataset_free(te);
}

TEST(train_bad_settings_are_errors) {
    glia_dataset *tr = test_blobs(40, 3), *te = test_blobs(10, 4);
    CHECK(tr && te);
    glia_model *m;
    OK(glia_model_parse(tiny_cfg, "tiny.cfg", 1, 7, &m));
    glia_train_options o = {0};
    o.train_set = tr;
    o.test_set = te;
    o.out_dir = "/tmp/glia-train-never";
    o.limit = 8; /* fewer than a batch of 16 */
    glia_train_result r;
    CHECK(glia_train(m, &o, &r) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "fewer than a batch"), "%s", glia_last_error());
    glia_model_free(m);
    OK(glia_model_parse(tiny_cfg, "tiny.cfg", 1, 7, &m));
    OK(glia_model_set_option(m, "optimizer", "adagrad"));
    o.limit = 0;
    CHECK(glia_train(m, &o, &r) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "adagrad"), "%s", glia_last_error());
    CHECK(glia_model_set_option(m, "flip", "2") == GLIA_EINVAL);
    glia_model_free(m);
    test_rm_rf("/tmp/glia-train-never");
    glia_dataset_free(tr);
    glia_dataset_free(te);
}
