/* test_robust.c: bad input gives a clear error, never a crash: the cases the other test files do
 * not cover (labels out of range, an empty data set, images of the wrong size or channels for
 * the model), and the inputs the fuzzers (tests/fuzz) found, kept as regressions. */
#include "test.h"
#include <stb/stb_image_write.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int has(const char *want) { return strstr(glia_last_error(), want) != NULL; }

static glia_dataset *images(int n, int c, int h, int w) {
    glia_tensor *x, *y;
    glia_dataset *d;
    if (glia_tensor_new(&x, 4, (int64_t[]){n, c, h, w}) || glia_tensor_new(&y, 1, (int64_t[]){n})) return NULL;
    for (int i = 0; i < n; i++) y->data[i] = (float)(i % 2);
    return glia_dataset_new(x, y, 2, NULL, &d) ? NULL : d;
}

TEST(robust_labels_out_of_range_and_empty_data) {
    glia_tensor *x, *y;
    glia_dataset *d = NULL;
    OK(glia_tensor_new(&x, 4, (int64_t[]){3, 1, 2, 2}));
    OK(glia_tensor_new(&y, 1, (int64_t[]){3}));
    y->data[2] = 5;
    glia_status s = glia_dataset_new(x, y, 2, NULL, &d);
    CHECK(s == GLIA_ERANGE && !d);
    CHECK_MSG(has("label 5 of sample 2 is not a class id"), "%s", glia_last_error());
    OK(glia_tensor_new(&x, 4, (int64_t[]){3, 1, 2, 2}));
    OK(glia_tensor_new(&y, 1, (int64_t[]){3}));
    y->data[0] = 0.5f; /* not a whole number */
    CHECK(glia_dataset_new(x, y, 2, NULL, &d) == GLIA_ERANGE);
    /* a tensor cannot have a zero dimension, so an empty data set is a missing directory's */
    s = glia_dataset_load("/nonexistent/glia-data", "train", &d);
    CHECK(s != GLIA_OK && !d);
    CHECK_MSG(has("/nonexistent/glia-data"), "%s", glia_last_error());
}

/* training data whose images do not fit the model's input: the message has both shapes */
TEST(robust_images_of_the_wrong_size_or_channels) {
    const char *cfg = "[net]\ninput = 1, 8, 8\nclasses = 2\nbatch = 2\nepochs = 1\n[dense]\nunits = 2\n";
    const int shapes[2][3] = {{1, 6, 6}, {3, 8, 8}};
    const char *want[2] = {"[4, 1, 6, 6]", "[4, 3, 8, 8]"};
    for (int k = 0; k < 2; k++) {
        glia_dataset *d = images(4, shapes[k][0], shapes[k][1], shapes[k][2]);
        CHECK(d);
        glia_model *m;
        OK(glia_model_parse(cfg, "w.cfg", 1, 1, &m));
        glia_train_options o = {0};
        o.train_set = o.test_set = d;
        o.out_dir = "/tmp/glia-robust-never";
        glia_train_result r;
        glia_status s = glia_train(m, &o, &r);
        char msg[1100];
        snprintf(msg, sizeof msg, "%s", glia_last_error());
        glia_model_free(m);
        glia_dataset_free(d);
        remove("/tmp/glia-robust-never/.glia-lock");
        rmdir("/tmp/glia-robust-never");
        CHECK(s == GLIA_ESHAPE);
        CHECK_MSG(strstr(msg, "[1, 1, 8, 8]") && strstr(msg, want[k]), "%s", msg);
    }
}

static const char *write_tmp(const char *name, const void *data, size_t n) {
    static char path[256];
    snprintf(path, sizeof path, "/tmp/glia-robust-%d-%s", (int)getpid(), name);
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

/* fuzz_idx: dimensions 0x3f00*0x3d00*... whose product overflowed int64 (UB) before the size
 * check */
TEST(robust_fuzz_idx_dimension_overflow) {
    static const unsigned char b[] = {0, 0, 8, 3, 0, 0, 0x3f, 0, 2, 0, 0, 0, 0x3d, 0, 3, 0,
                                      0, 0, 3, 0, 0x0e, 0x1c};
    const char *p = write_tmp("dims.idx", b, sizeof b);
    CHECK(p);
    glia_tensor *t = NULL;
    glia_status s = glia_idx_load(p, 1, &t);
    remove(p);
    CHECK(s == GLIA_EIO && !t);
    CHECK_MSG(has("more than 2^40 elements"), "%s", glia_last_error());
}

/* fuzz_image: bytes stb_image decodes "successfully" as a 0x0 picture; resizing it read out of
 * bounds */
TEST(robust_fuzz_image_of_no_pixels) {
    unsigned char b[142];
    memset(b, 0xff, 0x80);
    static const unsigned char tail[] = {0x50, 0x35, 0x26, 0x7e, 0x02, 0x00, 0x40, 0x60,
                                         0x00, 0x00, 0xc8, 0xa7, 0xff, 0xff};
    memcpy(b + 0x80, tail, sizeof tail);
    const char *p = write_tmp("empty.img", b, sizeof b);
    CHECK(p);
    glia_tensor *t = NULL;
    glia_status s = glia_image_load(p, 3, 1, 5, &t);
    remove(p);
    CHECK(s != GLIA_OK && !t);
    CHECK_MSG(has("the image is empty (0x0 pixels)"), "%s", glia_last_error());
}

/* ------------------------------------------------------------------ issue 23: the second attack */

/* labels [2] for images [3, ...]: the message showed the shapes of tensors it had just freed
 * (ASan: heap-use-after-free; a plain build printed garbage) */
TEST(robust_dataset_count_mismatch_names_both_shapes) {
    glia_tensor *x, *y;
    glia_dataset *d = (glia_dataset *)&d; /* must become NULL */
    OK(glia_tensor_new(&x, 4, (int64_t[]){3, 1, 2, 2}));
    OK(glia_tensor_new(&y, 1, (int64_t[]){2}));
    CHECK(glia_dataset_new(x, y, 2, NULL, &d) == GLIA_ESHAPE && !d);
    CHECK_MSG(has("images [3, 1, 2, 2] and labels [2] do not match"), "%s", glia_last_error());
    /* out NULL: an error, not a crash (the tensors, owned by the call, are freed) */
    OK(glia_tensor_new(&x, 4, (int64_t[]){2, 1, 2, 2}));
    OK(glia_tensor_new(&y, 1, (int64_t[]){2}));
    CHECK(glia_dataset_new(x, y, 2, NULL, NULL) == GLIA_EINVAL);
    CHECK_MSG(has("out is NULL"), "%s", glia_last_error());
}

/* {2^40, 2^24}: the count wrapped to 0 (signed overflow) and passed the size limit */
TEST(robust_dimension_product_overflow_is_refused) {
    const int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 24};
    const int64_t huge3[3] = {(int64_t)1 << 21, (int64_t)1 << 21, (int64_t)1 << 22};
    glia_tensor *t = NULL;
    CHECK(glia_tensor_new(&t, 2, huge) == GLIA_ESHAPE && !t);
    CHECK(glia_tensor_new(&t, 3, huge3) == GLIA_ESHAPE && !t);
    OK(glia_tensor_new(&t, 2, (int64_t[]){4, 6}));
    CHECK(glia_tensor_reshape(t, 2, huge) == GLIA_ESHAPE);
    CHECK(glia_tensor_reshape(t, 3, (int64_t[]){-1, (int64_t)1 << 40, (int64_t)1 << 24}) == GLIA_ESHAPE);
    glia_tensor_free(t);
    glia_graph *g;
    OK(glia_graph_new(&g));
    int id = -1;
    CHECK(glia_input(g, "x", 2, huge, &id) == GLIA_ESHAPE && id == -1);
    CHECK_MSG(has("input 'x': too many elements"), "%s", glia_last_error());
    CHECK(glia_param(g, "w", 2, huge, &id) == GLIA_ESHAPE && id == -1);
    CHECK(glia_buffer(g, "b", 3, huge3, &id) == GLIA_ESHAPE && id == -1);
    CHECK(glia_graph_num_nodes(g) == 0);
    glia_graph_free(g);
    /* the shape helpers saturate and never read past the dims */
    glia_shape s = {.ndim = 2, .dim = {(int64_t)1 << 40, (int64_t)1 << 24}};
    CHECK(glia_shape_numel(&s) == INT64_MAX);
    s.dim[0] = -3;
    CHECK(glia_shape_numel(&s) == -1);
    CHECK(glia_shape_numel(NULL) == -1);
    char buf[64];
    s.ndim = 9;
    CHECK_MSG(!strcmp(glia_shape_str(&s, buf, sizeof buf), "(bad shape: 9 dimensions)"), "%s", buf);
    CHECK(!strcmp(glia_shape_str(NULL, buf, sizeof buf), "(null)"));
    CHECK(glia_shape_str(&s, NULL, 0) == NULL);
}

/* ------------------------------------------------------------------ training runs */

static const char *small_cfg =
    "[net]\ninput = 1, 8, 8\nclasses = 4\nbatch = 16\nepochs = %d\nlr = %s\noptimizer = sgd\n"
    "[dense]\nname = fc1\nunits = 8\nactivation = relu\n[dense]\nname = fc2\nunits = 4\n";

static glia_model *small_model(int epochs, const char *lr) {
    char text[512];
    snprintf(text, sizeof text, small_cfg, epochs, lr);
    glia_model *m = NULL;
    return glia_model_parse(text, "small.cfg", 1, 1, &m) ? NULL : m;
}

/* The hook of the tests below: a callback that acts at a given point of a run. */
typedef struct {
    const char *dir;
    int at_epoch;          /* during this epoch (its first batch) */
    int done_seen;         /* epoch lines reported */
    int batches_seen;
    glia_status inner;     /* the second run's status (lock test) */
    char inner_msg[1100];
    glia_dataset *data;
    char obstacle[700];    /* a directory planted where a temporary file must go */
} hook;

static void second_run(hook *h) { /* a second run on the same directory, inside the first */
    glia_model *m = small_model(1, "0.05");
    glia_train_options o = {0};
    o.train_set = o.test_set = h->data;
    o.out_dir = h->dir;
    glia_train_result r;
    h->inner = glia_train(m, &o, &r);
    snprintf(h->inner_msg, sizeof h->inner_msg, "%s", glia_last_error());
    if (!h->inner) glia_eval_result_free(&r.test);
    glia_model_free(m);
}

static void on_progress(void *ctx, const glia_train_progress *p) {
    hook *h = ctx;
    if (p->epoch_done) {
        h->done_seen++;
        return;
    }
    if (h->batches_seen++ || p->epoch != h->at_epoch) {
        if (p->epoch != h->at_epoch) h->batches_seen = 0;
        return;
    }
    if (h->data) second_run(h);
    if (h->obstacle[0] && mkdir(h->obstacle, 0755)) h->obstacle[0] = 0;
}

/* two runs on one directory: the second is refused, naming the directory and the holder */
TEST(robust_run_directory_is_locked) {
    char dir[256], want[64];
    snprintf(dir, sizeof dir, "/tmp/glia-robust-lock-%d", (int)getpid());
    test_rm_rf(dir);
    glia_dataset *d = test_blobs(64, 3);
    hook h = {.dir = dir, .at_epoch = 1, .data = d};
    glia_model *m = small_model(2, "0.05");
    CHECK(d && m);
    glia_train_options o = {0};
    o.train_set = o.test_set = d;
    o.out_dir = dir;
    o.progress = on_progress;
    o.ctx = &h;
    glia_train_result r;
    OK(glia_train(m, &o, &r));
    glia_eval_result_free(&r.test);
    CHECK(h.inner == GLIA_ESTATE);
    snprintf(want, sizeof want, "PID %d", (int)getpid());
    CHECK_MSG(strstr(h.inner_msg, dir) && strstr(h.inner_msg, want) && strstr(h.inner_msg, "in use"),
              "%s", h.inner_msg);
    /* the lock ends with the run: a third run on the directory goes ahead */
    h.data = NULL;
    glia_model_free(m);
    m = small_model(1, "0.05");
    OK(glia_train(m, &o, &r));
    glia_eval_result_free(&r.test);
    glia_model_free(m);
    glia_dataset_free(d);
    test_rm_rf(dir);
}

/* a run directory that cannot be written is found before any training (it was found after the
 * first epoch); /proc/self is a directory no one, root included, can create files in */
TEST(robust_unwritable_run_directory_fails_at_once) {
    glia_dataset *d = test_blobs(64, 3);
    glia_model *m = small_model(1, "0.05");
    hook h = {.at_epoch = 99};
    glia_train_options o = {0};
    o.train_set = o.test_set = d;
    o.out_dir = "/proc/self";
    o.progress = on_progress;
    o.ctx = &h;
    glia_train_result r;
    glia_status s = glia_train(m, &o, &r);
    CHECK(s == GLIA_EIO && h.batches_seen == 0 && h.done_seen == 0);
    CHECK_MSG(has("/proc/self: the run directory cannot be written"), "%s", glia_last_error());
    glia_model_free(m);
    glia_dataset_free(d);
}

/* temporary files left by a killed process are removed when the directory is next opened for
 * writing; those of live processes (this one) are kept */
TEST(robust_stale_temporary_files_are_removed) {
    char dir[256], dead[400], live[400], other[400];
    snprintf(dir, sizeof dir, "/tmp/glia-robust-tmp-%d", (int)getpid());
    test_rm_rf(dir);
    CHECK(mkdir(dir, 0755) == 0);
    /* PID 2^22 + 1 is above Linux's largest (pid_max is at most 2^22): no such process */
    snprintf(dead, sizeof dead, "%s/weights.safetensors.tmp.4194305", dir);
    snprintf(live, sizeof live, "%s/notes.csv.tmp.%d", dir, (int)getpid());
    snprintf(other, sizeof other, "%s/notes.tmp.txt", dir);
    const char *files[3] = {dead, live, other};
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(files[i], "w");
        CHECK(f);
        if (f) fclose(f);
    }
    glia_dataset *d = test_blobs(64, 3);
    glia_model *m = small_model(1, "0.05");
    glia_train_options o = {0};
    o.train_set = o.test_set = d;
    o.out_dir = dir;
    glia_train_result r;
    OK(glia_train(m, &o, &r));
    glia_eval_result_free(&r.test);
    CHECK_MSG(access(dead, F_OK) != 0, "%s was not removed", dead);
    CHECK(access(live, F_OK) == 0 && access(other, F_OK) == 0);
    glia_model_free(m);
    glia_dataset_free(d);
    test_rm_rf(dir);
}

/* a file of epoch 2 that cannot be written: the directory keeps epoch 1's files, all of them
 * (the checkpoint used to say epoch 2 beside the weights and metrics of epoch 1), the epoch's
 * line is still reported, and the error says what happened */
TEST(robust_epoch_files_agree_after_a_failed_write) {
    char dir[256], path[600];
    snprintf(dir, sizeof dir, "/tmp/glia-robust-epoch-%d", (int)getpid());
    test_rm_rf(dir);
    glia_dataset *d = test_blobs(64, 3);
    glia_model *m = small_model(3, "0.05");
    hook h = {.at_epoch = 2};
    snprintf(h.obstacle, sizeof h.obstacle, "%s/weights.safetensors.tmp.%d", dir, (int)getpid());
    glia_train_options o = {0};
    o.train_set = o.test_set = d;
    o.out_dir = dir;
    o.progress = on_progress;
    o.ctx = &h;
    glia_train_result r;
    glia_status s = glia_train(m, &o, &r);
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", glia_last_error());
    CHECK(s == GLIA_EIO && h.obstacle[0] && h.done_seen == 2);
    CHECK_MSG(strstr(msg, "epoch 2 finished, but writing its files failed") &&
              strstr(msg, "keeps the files of epoch 1"), "%s", msg);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    glia_st_meta meta;
    OK(glia_safetensors_read_meta(path, &meta));
    const char *e = glia_st_meta_get(&meta, "epoch");
    CHECK_MSG(e && !strcmp(e, "1"), "the checkpoint says epoch %s", e ? e : "(none)");
    glia_st_meta_free(&meta);
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    char *mt = test_read_file(path, 0);
    CHECK_MSG(mt && strstr(mt, "\n1,") && !strstr(mt, "\n2,"), "%s", mt ? mt : "(none)");
    free(mt);
    /* nothing of epoch 2 is left behind under a temporary name but the obstacle */
    rmdir(h.obstacle);
    snprintf(path, sizeof path, "ls -a '%s' | grep -q '\\.tmp\\.'", dir);
    CHECK_MSG(system(path) != 0, "temporary files left in %s", dir);
    /* and the run resumes from epoch 1 to the end */
    glia_model *m2 = NULL;
    o.progress = NULL;
    OK(glia_train_resume(dir, 3, &o, &m2, &r));
    CHECK(r.epochs_done == 3);
    glia_eval_result_free(&r.test);
    glia_model_free(m2);
    glia_model_free(m);
    glia_dataset_free(d);
    test_rm_rf(dir);
}

/* a NaN in the first epoch: there is no checkpoint, and the message says so */
TEST(robust_nan_in_first_epoch_says_no_checkpoint) {
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/glia-robust-nan-%d", (int)getpid());
    test_rm_rf(dir);
    glia_dataset *d = test_blobs(64, 3);
    glia_model *m = small_model(1, "1e30");
    glia_train_options o = {0};
    o.train_set = o.test_set = d;
    o.out_dir = dir;
    glia_train_result r;
    glia_status s = glia_train(m, &o, &r);
    CHECK(s == GLIA_ERANGE);
    CHECK_MSG(has("no checkpoint was written") && !has("last checkpoint is kept"), "%s",
              glia_last_error());
    glia_model_free(m);
    glia_dataset_free(d);
    test_rm_rf(dir);
}

/* ------------------------------------------------------------------ pictures */

/* a 20000x20000 PNG header (a 389 KB file decoded to 2 GB in 10 s, then shrunk to 28x28): refused
 * from its header, before any decoding, with the size and the limit; the limit can be raised */
TEST(robust_image_over_the_pixel_limit_is_not_decoded) {
    static const unsigned char png[] = {
        0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
        0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20, 8, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78};
    const char *p = write_tmp("huge.png", png, sizeof png);
    CHECK(p);
    glia_tensor *t = NULL;
    glia_status s = glia_image_load(p, 1, 28, 28, &t);
    CHECK(s == GLIA_ERANGE && !t);
    CHECK_MSG(has("a 20000x20000 image (400000000 pixels) is over the limit of 67108864 pixels"),
              "%s", glia_last_error());
    int64_t old = glia_image_set_max_pixels(500000000);
    CHECK(old == GLIA_IMAGE_MAX_PIXELS);
    s = glia_image_load(p, 1, 28, 28, &t); /* now decoded: it has no pixel data */
    CHECK(s == GLIA_EIO && !t && !has("over the limit"));
    glia_image_set_max_pixels(0);
    remove(p);
    /* the same for PGM, glia's own reader */
    static const char pgm[] = "P5 20000 20000 255\n";
    p = write_tmp("huge.pgm", pgm, sizeof pgm - 1);
    CHECK(glia_image_load(p, 1, 28, 28, &t) == GLIA_ERANGE && !t);
    CHECK_MSG(has("over the limit"), "%s", glia_last_error());
    remove(p);
}

static void sink_file(void *ctx, void *data, int size) { fwrite(data, 1, (size_t)size, ctx); }

/* a truncated JPEG was reported as "bad png sig" (the last format stb_image tried): the message
 * names the file's real type and the JPEG decoder's reason */
TEST(robust_truncated_jpeg_says_jpeg) {
    unsigned char px[16 * 16 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (unsigned char)(i * 7);
    char path[256];
    snprintf(path, sizeof path, "/tmp/glia-robust-%d-cut.jpg", (int)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f && stbi_write_jpg_to_func(sink_file, f, 16, 16, 3, px, 90));
    long full = f ? ftell(f) : 0;
    if (f) fclose(f);
    glia_tensor *t = NULL;
    OK(glia_image_load(path, 3, 0, 0, &t)); /* whole: fine */
    glia_tensor_free(t);
    t = NULL;
    CHECK(full > 40 && truncate(path, 20) == 0); /* cut inside its header */
    glia_status s = glia_image_load(path, 3, 0, 0, &t);
    remove(path);
    CHECK(s == GLIA_EIO && !t);
    CHECK_MSG(has("a broken or truncated JPEG file (20 bytes): stb_image: ") && !has("png"), "%s",
              glia_last_error());
}

/* ------------------------------------------------------------------ model text and the API */

/* a UTF-8 byte-order mark first in a model file (Windows editors write one) is skipped */
TEST(robust_model_text_with_a_byte_order_mark) {
    glia_model *m = NULL;
    OK(glia_model_parse("\xEF\xBB\xBF[net]\ninput = 4\nclasses = 2\n[dense]\nunits = 2\n", "bom.cfg", 1,
                        1, &m));
    glia_model_free(m);
}

/* an integer key over its limit says what the limit is (it said "a non-negative integer") */
TEST(robust_integer_key_over_its_limit_names_it) {
    glia_model *m = NULL;
    CHECK(glia_model_parse("[net]\ninput = 4\nclasses = 2\n[dense]\nunits = 2000000000\n", "big.cfg",
                           1, 1, &m) == GLIA_EINVAL && !m);
    CHECK_MSG(has("big.cfg:5: units = 2000000000: expected an integer from 0 to 1073741824 (2^30)"),
              "%s", glia_last_error());
    CHECK(glia_model_parse("[net]\ninput = 1, 3000000000, 4\nclasses = 2\n[dense]\nunits = 2\n",
                           "big.cfg", 1, 1, &m) == GLIA_EINVAL && !m);
    CHECK_MSG(has("integers from 1 to 1073741824"), "%s", glia_last_error());
}

/* backward before any forward returned OK with zero gradients; unknown flags were ignored */
TEST(robust_backward_before_forward_and_unknown_flags) {
    glia_graph *g;
    OK(glia_graph_new(&g));
    int x, w, t, l;
    OK(glia_input(g, "x", 2, (int64_t[]){2, 3}, &x));
    OK(glia_input(g, "t", 2, (int64_t[]){2, 3}, &t));
    OK(glia_param(g, "w", 2, (int64_t[]){2, 3}, &w));
    OK(glia_mul(g, "y", x, w, &l));
    OK(glia_mse_loss(g, "l", l, t, &l));
    CHECK(glia_graph_compile(g, 0x10 | GLIA_COMPILE_BACKWARD) == GLIA_EINVAL);
    CHECK_MSG(has("unknown flags 0x10"), "%s", glia_last_error());
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));
    CHECK(glia_graph_backward(g, l, NULL, 0) == GLIA_ESTATE);
    CHECK_MSG(has("no forward pass since the graph was compiled"), "%s", glia_last_error());
    OK(glia_graph_forward(g));
    CHECK(glia_graph_backward(g, l, NULL, 0x4) == GLIA_EINVAL);
    CHECK_MSG(has("unknown flags 0x4"), "%s", glia_last_error());
    OK(glia_graph_backward(g, l, NULL, GLIA_BACKWARD_ACCUMULATE));
    OK(glia_graph_backward(g, l, NULL, 0));
    glia_graph_free(g);
}

/* a plan far over the machine's memory (a convolution padded to 32006 x 32006 pixels, 16
 * channels, 4 images: 244 GiB an activation) is refused before anything is allocated, with the figures; it was killed by the
 * kernel at its first forward */
TEST(robust_training_plan_larger_than_memory_is_refused) {
    static const char *cfg =
        "[net]\ninput = 1, 8, 8\nclasses = 4\nbatch = 4\nepochs = 1\n"
        "[conv]\nfilters = 16\nsize = 3\npad = 16000\nactivation = relu\n"
        "[globalavgpool]\n[flatten]\n[dense]\nunits = 4\n";
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/glia-robust-mem-%d", (int)getpid());
    glia_dataset *d = test_blobs(64, 3);
    glia_model *m = NULL;
    OK(glia_model_parse(cfg, "huge.cfg", 1, 1, &m));
    glia_train_options o = {0};
    o.train_set = o.test_set = d;
    o.out_dir = dir;
    glia_train_result r;
    glia_status s = glia_train(m, &o, &r);
    CHECK_MSG(s == GLIA_ENOMEM, "%s", glia_last_error());
    CHECK_MSG(has("training needs") && has("GiB more memory for a batch of 4 ") &&
              has("is available (MemAvailable)") && has("--force-memory"), "%s", glia_last_error());
    /* the plan is sized, never allocated: glia_graph_memory has the figures */
    glia_memory_stats ms;
    OK(glia_graph_memory(glia_model_graph(m), &ms));
    CHECK_MSG(ms.arena > ((size_t)1 << 38) && ms.inputs < 4096, "arena %zu inputs %zu", ms.arena, ms.inputs);
    glia_model_free(m);
    glia_dataset_free(d);
    test_rm_rf(dir);
}

/* glia summary's load of a model with 10 billion parameters: shapes and counts, no memory for
 * the values (glia_model_load allocated and initialised 40 GB); it cannot run */
TEST(robust_shapes_only_model_of_billions_of_parameters) {
    static const char cfg[] = "[net]\ninput = 100000\nclasses = 10\n[dense]\nname = big\n"
                              "units = 100000\n[batchnorm]\n[dense]\nunits = 10\n";
    const char *p = write_tmp("big.cfg", cfg, sizeof cfg - 1);
    glia_model *m = NULL;
    OK(glia_model_load_shapes(p, 1, &m));
    remove(p);
    glia_layer_info li;
    OK(glia_model_layer(m, 0, &li));
    CHECK_MSG(li.params == 10000100000LL, "%lld", (long long)li.params);
    glia_graph *g = glia_model_graph(m);
    CHECK(glia_graph_forward(g) == GLIA_ESTATE);
    CHECK_MSG(has("shapes but no values"), "%s", glia_last_error());
    OK(glia_graph_compile(g, GLIA_COMPILE_BACKWARD | GLIA_COMPILE_PLAN_ONLY));
    glia_memory_stats ms;
    OK(glia_graph_memory(g, &ms));
    CHECK(ms.params > (size_t)40000000000LL && ms.param_grads < ms.params && ms.param_grads > ms.params - 1000000);
    glia_model_free(m);
}
