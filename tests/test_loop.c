/* test_loop.c: the one training loop (src/train/loop.c) as each task and loss uses it:
 * the run directories that the two loops before it wrote (tests/data/old-ckpt, formats
 * glia-checkpoint-1 and glia-seq-checkpoint-1) resume under the one checkpoint reader and end
 * at the epochs asked for with their earlier metrics kept; a resumed run writes format 2 and
 * resumes again; [net] loss = mse and bce train a classifier's data; [net] clip_norm is honoured
 * by an image model (once only the sequence loop read it); a bad loss is an error naming it;
 * a task of its own (regression with real-valued targets) plugs into the loop unchanged;
 * the loop trains on the reference device (no host memory: batches, outputs and checkpoints go
 * through the device's copies) to the same weights as on the cpu, and resumes there. */
#include "test.h"
#include "train/loop.h" /* a task of the test's own: the seam new tasks plug into */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *blob_cfg =
    "[net]\ninput = 1, 8, 8\nclasses = 4\nbatch = 16\nepochs = 4\nlr = 0.05\noptimizer = sgd\n"
    "%s\n"
    "[dense]\nname = fc1\nunits = 16\nactivation = relu\n"
    "[dense]\nname = fc2\nunits = 4\n";

static int count_lines(const char *s) {
    int n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* copies tests/data/old-ckpt/NAME to a fresh directory (returned in dir) */
static int copy_run(const char *name, char *dir, size_t len) {
    snprintf(dir, len, "/tmp/glia-oldckpt-%s-%d", name, (int)getpid());
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r tests/data/old-ckpt/%s %s", dir, name, dir);
    return system(cmd) == 0;
}
static void rm_run(const char *dir) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
}

/* an old run directory: resumed to 2 epochs, then (format 2 now) to 3 */
static void old_run_resumes(const char *name, const char *old_format) {
    char dir[512], path[600];
    CHECK(copy_run(name, dir, sizeof dir));
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    glia_st_meta meta;
    OK(glia_safetensors_read_meta(path, &meta));
    const char *f = glia_st_meta_get(&meta, "format");
    int was_old = f && !strcmp(f, old_format);
    glia_st_meta_free(&meta);
    CHECK_MSG(was_old, "%s: the committed checkpoint is not in format %s", path, old_format);
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    char *before = test_read_file(path, 0);
    CHECK(before && count_lines(before) == 2);
    glia_train_options o = {0};
    glia_train_result r;
    glia_model *m = NULL;
    glia_status s = glia_train_resume(dir, 2, &o, &m, &r);
    glia_model_free(m);
    char *after = test_read_file(path, 0);
    int kept = after && !strncmp(after, before, strlen(before)) && count_lines(after) == 3;
    free(before);
    free(after);
    if (s) rm_run(dir);
    OK(s);
    glia_eval_result_free(&r.test);
    CHECK_MSG(kept, "%s: the earlier epoch's line is not kept, or no line was added", path);
    CHECK(r.epochs_done == 2 && r.test.n > 0 && r.test.acc > 0.2);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    OK(glia_safetensors_read_meta(path, &meta));
    f = glia_st_meta_get(&meta, "format");
    int now_new = f && !strcmp(f, "glia-checkpoint-2") && glia_st_meta_get(&meta, "task");
    glia_st_meta_free(&meta);
    CHECK_MSG(now_new, "%s: a resumed run writes format glia-checkpoint-2 with its task", path);
    s = glia_train_resume(dir, 3, &o, &m, &r);
    glia_model_free(m);
    rm_run(dir);
    OK(s);
    glia_eval_result_free(&r.test);
    CHECK(r.epochs_done == 3);
}
TEST(loop_resumes_old_image_checkpoint) { old_run_resumes("image", "glia-checkpoint-1"); }
TEST(loop_resumes_old_sequence_checkpoint) { old_run_resumes("chars", "glia-seq-checkpoint-1"); }

/* trains blob_cfg with the [net] lines `net` on 400 blobs (on `device`, NULL: the cpu), keeping
 * the run directory when keep_dir is given; test accuracy in *acc, the model in *out if given */
static glia_status train_blobs_on(const char *net, const char *device, double *acc,
                                  float *fc2_first, const char *keep_dir, glia_model **out) {
    char text[1024], dir[256];
    snprintf(text, sizeof text, blob_cfg, net);
    snprintf(dir, sizeof dir, "%s", keep_dir ? keep_dir : "/tmp/glia-loop");
    if (!keep_dir) snprintf(dir, sizeof dir, "/tmp/glia-loop-%d", (int)getpid());
    glia_dataset *tr = test_blobs(400, 1), *te = test_blobs(200, 2);
    glia_model *m = NULL;
    glia_status s = tr && te ? glia_model_parse(text, "blobs.cfg", 1, 7, &m) : GLIA_ENOMEM;
    glia_train_options o = {0};
    o.train_set = tr;
    o.test_set = te;
    o.out_dir = dir;
    o.seed = 3;
    o.device = device;
    glia_train_result r;
    memset(&r, 0, sizeof r);
    if (!s) s = glia_train(m, &o, &r);
    *acc = r.test.acc;
    if (!s && fc2_first) {
        int id;
        if (!glia_graph_find(glia_model_graph(m), "fc2.weight", &id)) *fc2_first = glia_node_value(glia_model_graph(m), id)[0];
    }
    glia_eval_result_free(&r.test);
    if (out) *out = m;
    else glia_model_free(m);
    glia_dataset_free(tr);
    glia_dataset_free(te);
    if (!keep_dir) rm_run(dir);
    return s;
}
static glia_status train_blobs(const char *net, double *acc, float *fc2_first) {
    return train_blobs_on(net, NULL, acc, fc2_first, NULL, NULL);
}

/* every parameter of m, read through the device */
static float *params(glia_model *m, int64_t *n) {
    glia_graph *g = glia_model_graph(m);
    float *all = NULL;
    *n = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        if (!glia_node_is_param(g, i)) continue;
        glia_shape sh;
        glia_node_shape(g, i, &sh);
        int64_t k = glia_shape_numel(&sh);
        float *p = realloc(all, (size_t)(*n + k) * sizeof *all);
        if (!p || glia_node_read(g, i, p + *n, k)) { free(p ? p : all); return NULL; }
        all = p;
        *n += k;
    }
    return all;
}

TEST(loop_trains_on_the_reference_device) {
    glia_model *a = NULL, *b = NULL;
    double acc_cpu, acc_ref;
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/glia-loop-ref-%d", (int)getpid());
    glia_status s = train_blobs_on("momentum = 0.5", NULL, &acc_cpu, NULL, NULL, &a);
    if (!s) s = train_blobs_on("momentum = 0.5", "reference", &acc_ref, NULL, dir, &b);
    int64_t na = 0, nb = 0;
    float *pa = s ? NULL : params(a, &na), *pb = s ? NULL : params(b, &nb);
    /* glia_evaluate on both devices */
    glia_eval_result ea = {0}, eb = {0};
    glia_dataset *te0 = test_blobs(200, 2);
    if (!s) s = glia_evaluate(a, te0, NULL, 0, &ea);
    if (!s) s = glia_evaluate(b, te0, NULL, 0, &eb);
    int same_eval = !s && ea.n == 200 && eb.n == 200 && fabs(ea.loss - eb.loss) < 1e-4;
    glia_eval_result_free(&ea);
    glia_eval_result_free(&eb);
    glia_dataset_free(te0);
    double worst = pa && pb && na == nb ? max_rel_diff(pb, pa, na, 1e-2, NULL) : 1;
    const char *dev = b ? glia_graph_device(glia_model_graph(b)) : "";
    free(pa);
    free(pb);
    glia_model_free(a);
    glia_model_free(b);
    if (s) rm_run(dir);
    OK(s);
    printf("     loop: 4 epochs on the reference device against the cpu: parameters within %.2g, "
           "test accuracy %.3f and %.3f\n", worst, acc_ref, acc_cpu);
    CHECK_MSG(!strcmp(dev, "reference"), "the model trained on '%s'", dev);
    CHECK(worst < 1e-3 && fabs(acc_cpu - acc_ref) < 0.02);
    CHECK_MSG(same_eval, "glia_evaluate differs between the devices");
    /* and its checkpoint (written through the device's copies) resumes there */
    glia_train_options o = {0};
    o.device = "reference";
    glia_train_result r;
    glia_model *m = NULL;
    glia_dataset *tr = test_blobs(400, 1), *te = test_blobs(200, 2);
    o.train_set = tr;
    o.test_set = te;
    s = glia_train_resume(dir, 5, &o, &m, &r);
    glia_model_free(m);
    glia_dataset_free(tr);
    glia_dataset_free(te);
    rm_run(dir);
    OK(s);
    glia_eval_result_free(&r.test);
    CHECK(r.epochs_done == 5 && r.test.acc > 0.8);
}

TEST(loop_loss_mse_and_bce_learn) {
    double ce, mse, bce;
    OK(train_blobs("momentum = 0.9", &ce, NULL));
    OK(train_blobs("momentum = 0.9\nloss = mse", &mse, NULL));
    OK(train_blobs("momentum = 0.9\nloss = bce", &bce, NULL));
    /* chance is 25%: each loss learns the blobs */
    CHECK_MSG(ce > 0.9 && mse > 0.8 && bce > 0.8, "test accuracy: softmax_ce %.3f, mse %.3f, bce %.3f",
              ce, mse, bce);
}

TEST(loop_clip_norm_from_the_model_file) {
    /* a global gradient norm of 1e-6 per step leaves the weights where they started */
    double acc0, acc1;
    float w0 = 0, w1 = 0, w_init;
    OK(train_blobs("clip_norm = 1e-6", &acc1, &w1));
    OK(train_blobs("", &acc0, &w0));
    glia_model *m = NULL;
    char text[1024];
    snprintf(text, sizeof text, blob_cfg, "");
    OK(glia_model_parse(text, "blobs.cfg", 1, 7, &m));
    int id;
    OK(glia_graph_find(glia_model_graph(m), "fc2.weight", &id));
    w_init = glia_node_value(glia_model_graph(m), id)[0];
    glia_model_free(m);
    CHECK_MSG(fabsf(w1 - w_init) < 1e-4f && fabsf(w0 - w_init) > 1e-3f,
              "fc2.weight[0]: initial %g, clipped %g, unclipped %g", (double)w_init, (double)w1, (double)w0);
}

TEST(loop_bad_loss_is_an_error) {
    double acc;
    glia_status s = train_blobs("loss = hinge", &acc, NULL);
    CHECK(s == GLIA_EINVAL && strstr(glia_last_error(), "loss = hinge"));
}

/* A regression task, written here as a new task would be: y = 0.5 x0 - x1 + 2 x2 + 0.25 x3 + 1
 * over features drawn from the sample's index; 256 training rows, 64 held out, 64 test. */
static void reg_row(int64_t i, float *x, float *y) {
    glia_rng r;
    glia_rng_seed(&r, (uint64_t)i, 77);
    for (int k = 0; k < 4; k++) x[k] = 2 * glia_rng_uniform(&r) - 1;
    *y = 0.5f * x[0] - x[1] + 2 * x[2] + 0.25f * x[3] + 1;
}
static glia_status reg_setup(glia__loop *L, const glia_train_options *o) {
    (void)o;
    L->g = glia_model_graph(L->m);
    L->x = glia_model_input(L->m);
    L->out = glia_model_output(L->m);
    L->rows = L->batch;
    L->classes = 1;
    L->batches = 256 / L->batch;
    L->n_val = 64;
    return glia_graph_set_batch(L->g, L->batch);
}
static int64_t reg_fill(glia__loop *L, glia__split sp, int64_t b, glia_rng *aug) {
    (void)aug;
    float *x = glia__loop_in(L, L->x), *y = glia__loop_in(L, L->label);
    int64_t base = sp == GLIA__TRAIN ? 0 : sp == GLIA__VAL ? 1000 : 2000;
    for (int64_t i = 0; i < L->batch; i++) reg_row(base + b * L->batch + i, x + 4 * i, y + i);
    return L->batch;
}
static int64_t reg_eval_batches(glia__loop *L, glia__split sp) { (void)sp; return 64 / L->batch; }
static void reg_order(glia__loop *L, glia_rng *r) { (void)L, (void)r; }
static glia_status reg_files(glia__loop *L) { (void)L; return GLIA_OK; }
static void reg_free(void *ts) { (void)ts; }
static const glia__task_ops reg_task = {
    .name = "regression-test", .extra_col = "unused", .rng_stream = 1, .setup = reg_setup,
    .epoch_order = reg_order, .fill = reg_fill, .eval_batches = reg_eval_batches,
    .write_files = reg_files, .free = reg_free, .real_targets = 1};

TEST(loop_takes_a_new_task_regression) {
    const char *cfg = "[net]\ninput = 4\nclasses = 1\nbatch = 16\nepochs = 30\nlr = 0.05\n"
                      "optimizer = adam\nloss = mse\n[dense]\nname = fc\nunits = 1\n";
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/glia-loop-reg-%d", (int)getpid());
    glia_model *m = NULL;
    glia_train_options o = {0};
    o.data = "(the task's own)";
    o.out_dir = dir;
    o.seed = 5;
    glia_train_result r;
    memset(&r, 0, sizeof r);
    glia_status s = glia_model_parse(cfg, "reg.cfg", 1, 5, &m);
    if (!s) s = glia__train_task(m, &reg_task, &o, &r);
    float w[4] = {0};
    int id;
    if (!s && !glia_graph_find(glia_model_graph(m), "fc.weight", &id)) glia_node_read(glia_model_graph(m), id, w, 4);
    glia_model_free(m);
    glia_eval_result_free(&r.test);
    /* softmax_ce cannot take real targets: named */
    glia_model *m2 = NULL;
    glia_status s2 = glia_model_parse("[net]\ninput = 4\nclasses = 1\n[dense]\nunits = 1\n", "reg2.cfg", 1, 5, &m2);
    glia_train_result r2;
    if (!s2) s2 = glia__train_task(m2, &reg_task, &o, &r2);
    int named = s2 == GLIA_EINVAL && strstr(glia_last_error(), "use mse");
    glia_model_free(m2);
    rm_run(dir);
    OK(s);
    printf("     loop: regression task: test mse %.2g, weights %.3f %.3f %.3f %.3f\n", r.test.loss,
           (double)w[0], (double)w[1], (double)w[2], (double)w[3]);
    CHECK(r.test.loss < 1e-3 && isnan(r.test.acc));
    CHECK(fabsf(w[0] - 0.5f) < 0.02f && fabsf(w[1] + 1) < 0.02f && fabsf(w[2] - 2) < 0.02f);
    CHECK_MSG(named, "softmax_ce on real targets: %s", glia_last_error());
}
