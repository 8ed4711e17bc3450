/* test_robust.c: bad input gives a clear error, never a crash: the cases the other test files do
 * not cover (labels out of range, an empty data set, images of the wrong size or channels for
 * the model), and the inputs the fuzzers (tests/fuzz) found, kept as regressions. */
#include "test.h"
#include <stdlib.h>
#include <string.h>
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
