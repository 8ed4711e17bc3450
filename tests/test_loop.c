/* test_loop.c: the one training loop (src/train/loop.c) as each task and loss uses it:
 * the run directories that the two loops before it wrote (tests/data/old-ckpt, formats
 * glia-checkpoint-1 and glia-seq-checkpoint-1) resume under the one checkpoint reader and end
 * at the epochs asked for with their earlier metrics kept; a resumed run writes format 2 and
 * resumes again; [net] loss = mse and bce train a classifier's data; [net] clip_norm is honoured
 * by an image model (once only the sequence loop read it); a bad loss is an error naming it;
 * the loop trains on the reference device (no host memory: batches, outputs and checkpoints go
 * through the device's copies) to the same weights as on the cpu, and resumes there. */
#include "test.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *blob_cfg =
    "[net]\ninput = 1, 8, 8\nclasses = 4\nbatch = 16\nepochs = 4\nlr = 0.05\noptimizer = sgd\n"
    "%s\n"
    "[dense]\nname = fc1\nunits = 16\nactivation = relu\n"
    "[dense]\nname = fc2\nunits = 4\n";

/* class c: a bright 3x3 blob in quadrant c, plus noise */
static glia_dataset *blobs(int n, uint64_t seed) {
    glia_tensor *x, *y;
    if (glia_tensor_new(&x, 4, (int64_t[]){n, 1, 8, 8}) || glia_tensor_new(&y, 1, (int64_t[]){n})) return NULL;
    glia_rng r;
    glia_rng_seed(&r, seed, 3);
    for (int i = 0; i < n; i++) {
        int c = (int)glia_rng_below(&r, 4), oy = (c / 2) * 4 + (int)glia_rng_below(&r, 2), ox = (c % 2) * 4 + (int)glia_rng_below(&r, 2);
        y->data[i] = (float)c;
        for (int p = 0; p < 64; p++) x->data[i * 64 + p] = 0.3f * glia_rng_uniform(&r);
        for (int dy = 0; dy < 3; dy++)
            for (int dx = 0; dx < 3; dx++) x->data[i * 64 + (oy + dy) * 8 + ox + dx] = 1.0f;
    }
    glia_dataset *d;
    if (glia_dataset_new(x, y, 4, NULL, &d)) return NULL;
    return d;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = calloc(1, 1 << 20);
    size_t n = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
    (void)n;
    fclose(f);
    return b;
}

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
    char *before = slurp(path);
    CHECK(before && count_lines(before) == 2);
    glia_train_options o = {0};
    glia_train_result r;
    glia_model *m = NULL;
    glia_status s = glia_train_resume(dir, 2, &o, &m, &r);
    glia_model_free(m);
    char *after = slurp(path);
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
    glia_dataset *tr = blobs(400, 1), *te = blobs(200, 2);
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
    /* and its checkpoint (written through the device's copies) resumes there */
    glia_train_options o = {0};
    o.device = "reference";
    glia_train_result r;
    glia_model *m = NULL;
    glia_dataset *tr = blobs(400, 1), *te = blobs(200, 2);
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
