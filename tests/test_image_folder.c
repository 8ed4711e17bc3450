/* test_image_folder.c: the user's own images as data (glia_image_folder_load): class
 * subfolders and list files, grey and colour, resizing, corrupt files skipped (or fatal), empty
 * class folders, mapping onto a trained run's classes; per-channel normalisation ([net] mean
 * and std lists, glia_dataset_stats and glia_dataset_batch per channel); and a colour model
 * trained from a folder with a test folder (--val-dir), its per-channel statistics written into
 * the model. */
#include "test.h"
#include "data/stream.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                struct stat st;
                if (!lstat(p, &st) && S_ISDIR(st.st_mode)) rm_tree(p);
                else remove(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* an h x w image of 3 channels, constant rgb[c], with a bright 3x3 blob (all channels 1) in the
 * top-left (class 0) or bottom-right (class 1) corner when blob >= 0 */
static int save_img(const char *path, int h, int w, const float rgb[3], int blob) {
    float *p = malloc((size_t)3 * h * w * sizeof *p);
    if (!p) return 0;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < h * w; i++) {
            int y = i / w, x = i % w, in = blob == 0 ? y < h / 3 && x < w / 3 : blob == 1 && y >= h - h / 3 && x >= w - w / 3;
            p[(c * h + y) * w + x] = in ? 1.0f : rgb[c];
        }
    glia_status s = glia_image_save_png(path, p, 3, h, w);
    free(p);
    return s == GLIA_OK;
}

typedef struct { int n; char last[1200]; int named_broken, named_empty; } warnings;
static void on_warn(void *ctx, const char *msg) {
    warnings *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
    w->named_broken |= strstr(msg, "broken.png") != NULL;
    w->named_empty |= strstr(msg, "empty") != NULL;
}

/* root/{cat,dog}/: n images each (sizes vary), cat darker than dog; plus root/cat/broken.png (not
 * an image), root/cat/notes.txt (not an image name: passed over), and root/empty/ when asked */
static int make_folder(const char *root, int n, int broken, int empty) {
    char p[1024];
    if (mkdir(root, 0755)) return 0;
    const char *cls[2] = {"cat", "dog"};
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/%s", root, cls[c]);
        if (mkdir(p, 0755)) return 0;
        for (int i = 0; i < n; i++) {
            float rgb[3] = {c ? 0.1f : 0.6f, 0.3f, c ? 0.7f : 0.2f};
            snprintf(p, sizeof p, "%s/%s/img%03d.png", root, cls[c], i);
            if (!save_img(p, 10 + i % 3, 12 - i % 2, rgb, c)) return 0;
        }
    }
    if (broken) {
        snprintf(p, sizeof p, "%s/cat/broken.png", root);
        write_text(p, "this is not a PNG file\n");
    }
    snprintf(p, sizeof p, "%s/cat/notes.txt", root);
    write_text(p, "not an image\n");
    if (empty) {
        snprintf(p, sizeof p, "%s/empty", root);
        if (mkdir(p, 0755)) return 0;
    }
    return 1;
}

TEST(folder_classes_skips_and_empty) {
    char root[] = "/tmp/glia-folder-XXXXXX";
    CHECK(mkdtemp(root));
    char dir[256];
    snprintf(dir, sizeof dir, "%s/data", root);
    CHECK(make_folder(dir, 5, 1, 1));
    CHECK(glia_image_folder_kind(dir) == 1);
    warnings w = {0};
    glia_folder_options o = {.channels = 3, .height = 6, .width = 6, .warn = on_warn, .ctx = &w};
    glia_dataset *d = NULL;
    glia_status s = glia_image_folder_load(dir, &o, &d);
    CHECK_MSG(s == GLIA_OK, "%s", glia_last_error());
    CHECK(d->classes == 3); /* the empty class keeps its place */
    CHECK(!strcmp(d->class_names[0], "cat") && !strcmp(d->class_names[1], "dog") &&
          !strcmp(d->class_names[2], "empty"));
    CHECK(d->images->shape.dim[0] == 10 && d->images->shape.dim[1] == 3 && d->images->shape.dim[2] == 6);
    CHECK(o.skipped == 1);
    CHECK(w.n == 2 && w.named_broken && w.named_empty);
    for (int i = 0; i < 10; i++) CHECK(d->labels->data[i] == (i < 5 ? 0 : 1)); /* file order */
    /* a dog image: its background (bottom-left corner, outside the blob) keeps its colour */
    CHECK(d->store && d->store->n_cached == d->store->n && !d->pixels && !d->images->data); /* kept as bytes */
    float img[3 * 36];
    glia_dataset_image(d, 5, img);
    CHECK_NEAR(img[0 * 36 + 5 * 6 + 0], 0.1, 1.0 / 255);
    CHECK_NEAR(img[1 * 36 + 5 * 6 + 0], 0.3, 1.0 / 255);
    CHECK_NEAR(img[2 * 36 + 5 * 6 + 0], 0.7, 1.0 / 255);
    CHECK_NEAR(img[0 * 36 + 5 * 6 + 5], 1.0, 1.0 / 255); /* the blob, bottom right */
    glia_dataset_free(d);

    /* grey: luminance 0.299 R + 0.587 G + 0.114 B of the cat background */
    o = (glia_folder_options){.channels = 1, .height = 4, .width = 4};
    OK(glia_image_folder_load(dir, &o, &d));
    glia_dataset_image(d, 0, img);
    CHECK_NEAR(img[15], 0.299 * 0.6 + 0.587 * 0.3 + 0.114 * 0.2, 2.0 / 255);
    CHECK(o.skipped == 1);
    glia_dataset_free(d);

    /* strict: the broken file is the error, named */
    o = (glia_folder_options){.channels = 3, .height = 6, .width = 6, .strict = 1};
    CHECK(glia_image_folder_load(dir, &o, &d) == GLIA_EIO && !d);
    CHECK_MSG(strstr(glia_last_error(), "broken.png"), "%s", glia_last_error());

    /* onto a run's classes: ids follow its order; a folder class it lacks is an error */
    const char *names[3] = {"empty", "dog", "cat"};
    o = (glia_folder_options){.channels = 3, .height = 6, .width = 6, .classes = names, .n_classes = 3};
    OK(glia_image_folder_load(dir, &o, &d));
    CHECK(d->labels->data[0] == 2 && d->labels->data[9] == 1 && !strcmp(d->class_names[0], "empty"));
    glia_dataset_free(d);
    o.n_classes = 2; /* "empty" not among them */
    names[0] = "dog";
    names[1] = "cat";
    CHECK(glia_image_folder_load(dir, &o, &d) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "'empty'"), "%s", glia_last_error());

    /* wrong sizes, no classes, not a folder */
    o = (glia_folder_options){.channels = 2, .height = 6, .width = 6};
    CHECK(glia_image_folder_load(dir, &o, &d) == GLIA_EINVAL);
    char lone[512];
    snprintf(lone, sizeof lone, "%s/dog", dir); /* images, no subfolders */
    CHECK(glia_image_folder_kind(lone) == 0);
    o.channels = 3;
    CHECK(glia_image_folder_load(lone, &o, &d) == GLIA_EINVAL);
    CHECK(glia_image_folder_load("/nonexistent/glia", &o, &d) == GLIA_EINVAL);
    rm_tree(root);
}

TEST(folder_list_file) {
    char root[] = "/tmp/glia-list-XXXXXX";
    CHECK(mkdtemp(root));
    char dir[256], list[256];
    snprintf(dir, sizeof dir, "%s/data", root);
    CHECK(make_folder(dir, 3, 1, 0));
    snprintf(list, sizeof list, "%s/labels.txt", root);
    char abs[512], text[2000];
    snprintf(abs, sizeof abs, "%s/data/dog/img001.png", root);
    snprintf(text, sizeof text,
             "path,label\n data/cat/img000.png , zebra\n\ndata/dog/img000.png,aardvark\r\n"
             "data/cat/broken.png,zebra\n%s,aardvark", abs);
    write_text(list, text);
    CHECK(glia_image_folder_kind(list) == 2);
    warnings w = {0};
    glia_folder_options o = {.channels = 3, .height = 5, .width = 5, .warn = on_warn, .ctx = &w};
    glia_dataset *d = NULL;
    OK(glia_image_folder_load(list, &o, &d));
    CHECK(d->classes == 2 && !strcmp(d->class_names[0], "aardvark") && !strcmp(d->class_names[1], "zebra"));
    CHECK(d->images->shape.dim[0] == 3 && o.skipped == 1 && w.named_broken);
    CHECK(d->labels->data[0] == 1 && d->labels->data[1] == 0 && d->labels->data[2] == 0);
    glia_dataset_free(d);
    /* a line without a label: the error names the file and line */
    write_text(list, "a.png,x\nb.png\n");
    CHECK(glia_image_folder_load(list, &o, &d) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "labels.txt:2"), "%s", glia_last_error());
    rm_tree(root);
}

TEST(normalization_per_channel) {
    const char *cfg = "[net]\ninput = 3, 2, 2\nclasses = 2\nmean = 0.5, 0.25 ,0.125\nstd = 2\n"
                      "[dense]\nunits = 2\n";
    glia_model *m;
    OK(glia_model_parse(cfg, "t.cfg", 1, 1, &m));
    float mean[3], std[3];
    OK(glia_model_normalization(m, 3, mean, std));
    CHECK(mean[0] == 0.5f && mean[1] == 0.25f && mean[2] == 0.125f);
    CHECK(std[0] == 2 && std[1] == 2 && std[2] == 2);
    CHECK(glia_model_normalization(m, 2, mean, std) == GLIA_EINVAL); /* 3 values, 2 channels */
    float sm[3] = {0.1f, 0.2f, 0.3f}, ss[3] = {1, 0.5f, 0.25f};
    OK(glia_model_set_normalization(m, 3, sm, ss));
    char *text;
    OK(glia_model_to_text(m, &text));
    glia_model *m2;
    OK(glia_model_parse(text, "t2.cfg", 1, 1, &m2)); /* the canonical text parses back */
    free(text);
    OK(glia_model_normalization(m2, 3, mean, std));
    CHECK(mean[2] == 0.3f && std[1] == 0.5f);
    CHECK(glia_model_set_option(m2, "mean", "1,2,3,4,5") == GLIA_EINVAL);
    CHECK(glia_model_set_option(m2, "std", "1,0,1") == GLIA_OK);
    CHECK(glia_model_normalization(m2, 3, mean, std) == GLIA_EINVAL); /* std must be > 0 */
    glia_model_free(m);
    glia_model_free(m2);

    /* statistics and the batch, per channel, on two 3-channel 1x2 images */
    glia_tensor *x, *y;
    OK(glia_tensor_new(&x, 4, (int64_t[]){2, 3, 1, 2}));
    OK(glia_tensor_new(&y, 1, (int64_t[]){2}));
    const float v[12] = {0, 1, 2, 2, 5, 5, /* image 0: channels 0, 1, 2 */ 1, 0, 2, 2, 5, 5};
    memcpy(x->data, v, sizeof v);
    glia_dataset *d;
    OK(glia_dataset_new(x, y, 1, NULL, &d));
    float dm[3], ds[3];
    glia_dataset_stats(d, NULL, 2, dm, ds);
    CHECK(dm[0] == 0.5f && dm[1] == 2 && dm[2] == 5);
    CHECK(ds[0] == 0.5f && ds[1] == 1 && ds[2] == 1); /* constant channel: std 1, not 0 */
    float out[12];
    glia_dataset_batch(d, NULL, 2, dm, ds, NULL, NULL, out, NULL);
    CHECK(out[0] == -1 && out[1] == 1 && out[2] == 0 && out[4] == 0 && out[6] == 1);
    glia_dataset_free(d);
}

static const char *colour_cfg =
    "[net]\ninput = 3, 8, 8\nclasses = 2\nbatch = 4\nepochs = 3\nlr = 0.05\nflip = 1\n"
    "[conv]\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n"
    "[dense]\nunits = 2\n";

TEST(folder_train_colour) {
    char root[] = "/tmp/glia-ftrain-XXXXXX";
    CHECK(mkdtemp(root));
    char train[256], test[256], out[256];
    snprintf(train, sizeof train, "%s/train", root);
    snprintf(test, sizeof test, "%s/test", root);
    snprintf(out, sizeof out, "%s/run", root);
    CHECK(make_folder(train, 12, 1, 0) && make_folder(test, 4, 0, 0));
    glia_model *m;
    OK(glia_model_parse(colour_cfg, "colour.cfg", 1, 3, &m));
    warnings w = {0};
    glia_train_options o = {.data = train, .val_data = test, .out_dir = out, .seed = 3, .val = 0.2f,
                            .normalize = 1, .warn = on_warn, .ctx = &w};
    glia_train_result r;
    OK(glia_train(m, &o, &r));
    CHECK(w.named_broken); /* the broken file, warned about */
    CHECK(r.test.n == 8);  /* the test folder's images */
    CHECK_MSG(r.test.acc == 1.0, "test accuracy %.3f", r.test.acc);
    glia_eval_result_free(&r.test);
    /* [net] mean and std: three values, the training part's red mean between the classes' */
    float mean[3], std[3];
    OK(glia_model_normalization(m, 3, mean, std));
    CHECK(strchr(glia_model_option(m, "mean"), ','));
    CHECK(mean[0] > 0.2f && mean[0] < 0.8f && mean[0] != mean[2] && std[0] > 0);
    char p[1200];
    snprintf(p, sizeof p, "%s/classes.txt", out);
    char *names = test_read_file(p, 0);
    CHECK(names && !strcmp(names, "cat\ndog\n"));
    free(names);
    glia_st_meta meta;
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", out);
    OK(glia_safetensors_read_meta(p, &meta));
    const char *vd = glia_st_meta_get(&meta, "val_data");
    CHECK(vd && !strcmp(vd, test));
    glia_st_meta_free(&meta);
    glia_model_free(m);

    /* no test folder and nothing held out: an error that says what to give */
    OK(glia_model_parse(colour_cfg, "colour.cfg", 1, 3, &m));
    o.val_data = NULL;
    o.val = 0;
    CHECK(glia_train(m, &o, &r) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "--val-dir"), "%s", glia_last_error());
    glia_model_free(m);
    rm_tree(root);
}

/* IDX ubyte images are kept as bytes: a quarter of the memory, and the same batches, statistics
 * and images to the bit as the floats they used to be converted to */
TEST(dataset_bytes_match_floats) {
    char dir[] = "/tmp/glia-bytes-XXXXXX";
    CHECK(mkdtemp(dir));
    enum { N = 6, H = 5, W = 4 };
    unsigned char img[16 + N * H * W] = {0, 0, 8, 3, 0, 0, 0, N, 0, 0, 0, H, 0, 0, 0, W};
    unsigned char lab[8 + N] = {0, 0, 8, 1, 0, 0, 0, N};
    for (int i = 0; i < N * H * W; i++) img[16 + i] = (unsigned char)(i * 37 + i / 7);
    for (int i = 0; i < N; i++) lab[8 + i] = (unsigned char)(i % 3);
    char pi[300], pl[300];
    snprintf(pi, sizeof pi, "%s/train-images-idx3-ubyte", dir);
    snprintf(pl, sizeof pl, "%s/train-labels-idx1-ubyte", dir);
    FILE *f = fopen(pi, "wb");
    CHECK(f && fwrite(img, 1, sizeof img, f) == sizeof img && !fclose(f));
    f = fopen(pl, "wb");
    CHECK(f && fwrite(lab, 1, sizeof lab, f) == sizeof lab && !fclose(f));
    glia_dataset *b, *fl;
    OK(glia_dataset_load(dir, "train", &b));
    CHECK(b->pixels && !b->images->data && b->images->shape.ndim == 4 && b->images->shape.dim[1] == 1);
    glia_tensor *x, *y;
    OK(glia_idx_load(pi, 1.0f / 255, &x));
    OK(glia_idx_load(pl, 1.0f, &y));
    OK(glia_tensor_reshape(x, 4, (int64_t[]){N, 1, H, W}));
    OK(glia_dataset_new(x, y, 3, NULL, &fl));
    float mb, sb, mf, sf;
    glia_dataset_stats(b, NULL, N, &mb, &sb);
    glia_dataset_stats(fl, NULL, N, &mf, &sf);
    CHECK(mb == mf && sb == sf);
    float xb[N * H * W], xf[N * H * W], yb[N], yf[N];
    glia_augment aug = {.shift = 1, .hflip = 1};
    glia_rng rb, rf;
    glia_rng_seed(&rb, 7, 1);
    glia_rng_seed(&rf, 7, 1);
    int64_t idx[N] = {5, 0, 3, 3, 1, 2};
    glia_dataset_batch(b, idx, N, &mb, &sb, &aug, &rb, xb, yb);
    glia_dataset_batch(fl, idx, N, &mf, &sf, &aug, &rf, xf, yf);
    CHECK(!memcmp(xb, xf, sizeof xb) && !memcmp(yb, yf, sizeof yb));
    glia_dataset_image(b, 4, xb);
    glia_dataset_image(fl, 4, xf);
    CHECK(!memcmp(xb, xf, H * W * sizeof *xb) && xb[0] == (float)img[16 + 4 * H * W] * (1.0f / 255));
    glia_dataset_free(b);
    glia_dataset_free(fl);
    remove(pi);
    remove(pl);
    rmdir(dir);
}

/* the augmentations on a 1-channel 4x6 image whose pixel (y, x) is (6 y + x) / 32: a flip
 * mirrors it pixel by pixel; a random resized crop is its box (glia_augment_crop_box, the same
 * draws) resized bilinearly, checked at every pixel; jitter keeps values in [0, 1] and the
 * image mean's place (contrast about the mean); the same seed gives the same batch */
TEST(augment_flip_crop_jitter) {
    enum { H = 4, W = 6 };
    glia_tensor *x, *y;
    OK(glia_tensor_new(&x, 4, (int64_t[]){1, 1, H, W}));
    OK(glia_tensor_new(&y, 1, (int64_t[]){1}));
    for (int i = 0; i < H * W; i++) x->data[i] = (float)(6 * (i / W) + i % W) / 32;
    glia_dataset *d;
    OK(glia_dataset_new(x, y, 1, NULL, &d));
    const float *src = d->images->data;
    float out[H * W], out2[H * W];
    glia_rng r, r2;
    /* flip alone, until a draw flips (p = 1/2) */
    glia_augment flip = {.hflip = 1};
    glia_rng_seed(&r, 1, 1);
    int flipped = 0;
    for (int t = 0; t < 20 && !flipped; t++) {
        glia_dataset_batch(d, NULL, 1, NULL, NULL, &flip, &r, out, NULL);
        flipped = out[0] != src[0];
        for (int i = 0; i < H * W; i++)
            CHECK(out[i] == (flipped ? src[(i / W) * W + W - 1 - i % W] : src[i]));
    }
    CHECK(flipped);
    /* a crop: the same draws give the box; bilinear sampling of a linear image is linear */
    glia_augment crop = {.crop = 0.3f};
    for (uint64_t seed = 1; seed <= 5; seed++) {
        glia_rng_seed(&r, seed, 1);
        r2 = r;
        int by, bx, bh, bw;
        glia_augment_crop_box(H, W, 0.3f, &r2, &by, &bx, &bh, &bw);
        CHECK(by >= 0 && bx >= 0 && bh >= 1 && bw >= 1 && by + bh <= H && bx + bw <= W);
        CHECK((double)bh * bw >= 0.3 * H * W - 3); /* rounding of the sides */
        glia_dataset_batch(d, NULL, 1, NULL, NULL, &crop, &r, out, NULL);
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++) {
                float fy = by + (yy + 0.5f) * bh / H - 0.5f, fx = bx + (xx + 0.5f) * bw / W - 0.5f;
                fy = fy < by ? by : fy > by + bh - 1 ? by + bh - 1 : fy;
                fx = fx < bx ? bx : fx > bx + bw - 1 ? bx + bw - 1 : fx;
                CHECK_NEAR(out[yy * W + xx], (6 * fy + fx) / 32, 1e-5);
            }
    }
    /* jitter: deterministic from the seed, within [0, 1] */
    glia_augment jit = {.jitter = 0.4f, .crop = 0.5f, .hflip = 1, .shift = 1};
    glia_rng_seed(&r, 9, 1);
    glia_rng_seed(&r2, 9, 1);
    glia_dataset_batch(d, NULL, 1, NULL, NULL, &jit, &r, out, NULL);
    glia_dataset_batch(d, NULL, 1, NULL, NULL, &jit, &r2, out2, NULL);
    CHECK(!memcmp(out, out2, sizeof out));
    int changed = 0;
    for (int i = 0; i < H * W; i++) {
        CHECK(out[i] >= 0 && out[i] <= 1);
        changed |= out[i] != src[i];
    }
    CHECK(changed);
    /* evaluation (no generator): the image as it is */
    glia_dataset_batch(d, NULL, 1, NULL, NULL, &jit, NULL, out, NULL);
    CHECK(!memcmp(out, src, sizeof out));
    glia_dataset_free(d);
}
