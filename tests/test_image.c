/* test_image.c: glia_image_load / glia_image_save_png, the viz canvas and glia_plot_curves.
 * Pictures are written with stb_image_write (PNG, BMP, JPEG) or by hand (PGM/PPM, 8 and 16
 * bit) into a fresh mkdtemp directory, loaded back and compared: exactly for lossless formats,
 * within a tolerance for JPEG. Resizing is compared with naive references: area averaging as
 * "replicate every pixel `out` times, then average blocks of `in`" (exact for any ratio), and
 * bilinear by its formula. Errors must name the file. Charts are decoded back with stb_image
 * and searched for each series' colour. */
#include "test.h"
#include "viz/canvas.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

/* ------------------------------------------------------------------ temp files */

static int img_tmpdir(char *dir, size_t n) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/glia-img-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(dir) != NULL;
}

/* Removes the directory, its plain files and empty subdirectories. */
static void img_rmdir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (remove(p) != 0) fprintf(stderr, "  note: could not remove %s\n", p);
        }
        closedir(d);
    }
    if (rmdir(dir) != 0) fprintf(stderr, "  note: could not remove %s\n", dir);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static int write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0) & (w == n);
}

/* Deterministic test pixels: w*h*n bytes. */
static void fill_bytes(uint8_t *p, size_t n, unsigned seed) {
    uint32_t s = seed * 2654435761u + 12345u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (uint8_t)(s >> 24);
    }
}

/* Checks t is [c, h, w] and t[c][y][x] == bytes[(y*w + x)*n + c] / 255 for every value. */
static int planar_matches(const glia_tensor *t, const uint8_t *px, int n, int c, int h, int w) {
    if (t->shape.ndim != 3 || t->shape.dim[0] != c || t->shape.dim[1] != h || t->shape.dim[2] != w)
        return 0;
    for (int k = 0; k < c; k++)
        for (int i = 0; i < h * w; i++) {
            float want = px[(size_t)i * n + k] / 255.0f;
            if (fabsf(t->data[(size_t)k * h * w + i] - want) > 1e-6f) return 0;
        }
    return 1;
}

#define TMPDIR_OR_FAIL(dir) CHECK_MSG(img_tmpdir(dir, sizeof dir), "mkdtemp failed")

/* ------------------------------------------------------------------ loading */

TEST(image_png_exact) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    enum { W = 7, H = 5 };
    uint8_t px[W * H * 4];
    glia_tensor *t = NULL;
    int ok = 1;
    /* grey as 1 channel, RGB as 3, RGBA (alpha 255) as 4 */
    const int native[3] = {1, 3, 4};
    for (int k = 0; k < 3 && ok; k++) {
        int n = native[k];
        fill_bytes(px, sizeof px, 10u + (unsigned)k);
        if (n == 4) for (int i = 0; i < W * H; i++) px[i * 4 + 3] = 255;
        snprintf(path, sizeof path, "%s/p%d.png", dir, n);
        ok = stbi_write_png(path, W, H, n, px, W * n) != 0;
        ok = ok && glia_image_load(path, n, 0, 0, &t) == GLIA_OK;
        ok = ok && planar_matches(t, px, n, n, H, W);
        if (!ok) fprintf(stderr, "  native %d channels: %s\n", n, glia_last_error());
        glia_tensor_free(t);
        t = NULL;
    }
    img_rmdir(dir);
    CHECK(ok);
}

TEST(image_pnm_exact) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    enum { W = 6, H = 4 };
    uint8_t buf[64 + W * H * 6], px[W * H * 3];
    glia_tensor *t = NULL;
    int ok = 1;
    /* P5 (grey) and P6 (RGB), 8 bits */
    for (int n = 1; n <= 3 && ok; n += 2) {
        fill_bytes(px, sizeof px, 20u + (unsigned)n);
        int hl = snprintf((char *)buf, 64, "P%d\n# a comment\n%d %d\n255\n", n == 1 ? 5 : 6, W, H);
        memcpy(buf + hl, px, (size_t)W * H * n);
        snprintf(path, sizeof path, "%s/p.%s", dir, n == 1 ? "pgm" : "ppm");
        ok = write_bytes(path, buf, (size_t)hl + W * H * n);
        ok = ok && glia_image_load(path, n, 0, 0, &t) == GLIA_OK && planar_matches(t, px, n, n, H, W);
        if (!ok) fprintf(stderr, "  P%d: %s\n", n == 1 ? 5 : 6, glia_last_error());
        glia_tensor_free(t);
        t = NULL;
    }
    /* 16-bit PGM: big-endian samples, kept to 16 bits (v / 65535) */
    int hl = snprintf((char *)buf, 64, "P5\n%d %d\n65535\n", W, H);
    uint16_t v16[W * H];
    for (int i = 0; i < W * H; i++) {
        v16[i] = (uint16_t)(i * 2731 + 1);
        buf[hl + 2 * i] = (uint8_t)(v16[i] >> 8);
        buf[hl + 2 * i + 1] = (uint8_t)v16[i];
    }
    snprintf(path, sizeof path, "%s/p16.pgm", dir);
    ok = ok && write_bytes(path, buf, (size_t)hl + 2 * W * H);
    ok = ok && glia_image_load(path, 1, 0, 0, &t) == GLIA_OK;
    for (int i = 0; ok && i < W * H; i++)
        if (fabsf(t->data[i] - v16[i] / 65535.0f) > 1e-7f) {
            fprintf(stderr, "  16-bit PGM value %d: %.9g, want %.9g\n", i, t->data[i], v16[i] / 65535.0f);
            ok = 0;
        }
    glia_tensor_free(t);
    t = NULL;
    /* any maxval: v / maxval (maxval 15 in one byte, 1000 in two) */
    hl = snprintf((char *)buf, 64, "P5 3 1 15\n");
    memcpy(buf + hl, (uint8_t[]){0, 5, 15}, 3);
    snprintf(path, sizeof path, "%s/m15.pgm", dir);
    ok = ok && write_bytes(path, buf, (size_t)hl + 3) && glia_image_load(path, 1, 0, 0, &t) == GLIA_OK;
    ok = ok && fabsf(t->data[0]) < 1e-7f && fabsf(t->data[1] - 5 / 15.0f) < 1e-6f && fabsf(t->data[2] - 1) < 1e-7f;
    glia_tensor_free(t);
    t = NULL;
    hl = snprintf((char *)buf, 64, "P6\n1 1\n1000\n");
    memcpy(buf + hl, (uint8_t[]){0x03, 0xE8, 0x01, 0xF4, 0x00, 0x00}, 6); /* 1000, 500, 0 */
    snprintf(path, sizeof path, "%s/m1000.ppm", dir);
    ok = ok && write_bytes(path, buf, (size_t)hl + 6) && glia_image_load(path, 3, 0, 0, &t) == GLIA_OK;
    ok = ok && fabsf(t->data[0] - 1) < 1e-7f && fabsf(t->data[1] - 0.5f) < 1e-7f && fabsf(t->data[2]) < 1e-7f;
    glia_tensor_free(t);
    img_rmdir(dir);
    CHECK_MSG(ok, "%s", glia_last_error());
}

TEST(image_bmp_exact) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    enum { W = 9, H = 3 };
    uint8_t px[W * H * 3];
    fill_bytes(px, sizeof px, 30);
    snprintf(path, sizeof path, "%s/a.bmp", dir);
    glia_tensor *t = NULL;
    int ok = stbi_write_bmp(path, W, H, 3, px) != 0;
    ok = ok && glia_image_load(path, 3, 0, 0, &t) == GLIA_OK && planar_matches(t, px, 3, 3, H, W);
    glia_tensor_free(t);
    img_rmdir(dir);
    CHECK_MSG(ok, "BMP round trip: %s", glia_last_error());
}

TEST(image_jpeg_close) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    enum { W = 32, H = 24 };
    uint8_t px[W * H * 3];
    for (int y = 0; y < H; y++) /* smooth colour gradients survive JPEG well */
        for (int x = 0; x < W; x++) {
            px[(y * W + x) * 3 + 0] = (uint8_t)(x * 255 / (W - 1));
            px[(y * W + x) * 3 + 1] = (uint8_t)(y * 255 / (H - 1));
            px[(y * W + x) * 3 + 2] = 128;
        }
    snprintf(path, sizeof path, "%s/a.jpg", dir);
    glia_tensor *t = NULL;
    int ok = stbi_write_jpg(path, W, H, 3, px, 95) != 0;
    ok = ok && glia_image_load(path, 3, 0, 0, &t) == GLIA_OK;
    double worst = 0, sum = 0;
    if (ok) {
        CHECK(t->shape.ndim == 3 && t->shape.dim[0] == 3 && t->shape.dim[1] == H && t->shape.dim[2] == W);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < W * H; i++) {
                double d = fabs(t->data[c * W * H + i] - px[i * 3 + c] / 255.0);
                worst = fmax(worst, d);
                sum += d;
            }
    }
    glia_tensor_free(t);
    img_rmdir(dir);
    CHECK_MSG(ok, "JPEG: %s", glia_last_error());
    CHECK_MSG(worst < 0.08 && sum / (3 * W * H) < 0.01, "JPEG error: worst %g, mean %g", worst,
              sum / (3 * W * H));
}

TEST(image_channel_conversion) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    enum { W = 5, H = 4 };
    uint8_t rgb[W * H * 3], grey[W * H], rgba[W * H * 4];
    fill_bytes(rgb, sizeof rgb, 40);
    fill_bytes(grey, sizeof grey, 41);
    fill_bytes(rgba, sizeof rgba, 42);
    glia_tensor *t = NULL;
    int ok = 1;
    /* colour -> grey: 0.299 R + 0.587 G + 0.114 B */
    snprintf(path, sizeof path, "%s/rgb.png", dir);
    ok = stbi_write_png(path, W, H, 3, rgb, W * 3) && glia_image_load(path, 1, 0, 0, &t) == GLIA_OK;
    for (int i = 0; ok && i < W * H; i++) {
        double want = (0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2]) / 255;
        if (fabs(t->data[i] - want) > 1e-6) { fprintf(stderr, "  grey %d: %g vs %g\n", i, t->data[i], want); ok = 0; }
    }
    glia_tensor_free(t);
    t = NULL;
    /* grey -> RGB: replicated */
    snprintf(path, sizeof path, "%s/grey.png", dir);
    ok = ok && stbi_write_png(path, W, H, 1, grey, W) && glia_image_load(path, 3, 0, 0, &t) == GLIA_OK;
    for (int c = 0; ok && c < 3; c++)
        for (int i = 0; ok && i < W * H; i++)
            if (fabsf(t->data[c * W * H + i] - grey[i] / 255.0f) > 1e-6f) { fprintf(stderr, "  replicate %d,%d\n", c, i); ok = 0; }
    glia_tensor_free(t);
    t = NULL;
    /* RGBA -> RGB and grey: composited over white; -> 4 channels: alpha kept */
    snprintf(path, sizeof path, "%s/rgba.png", dir);
    ok = ok && stbi_write_png(path, W, H, 4, rgba, W * 4);
    ok = ok && glia_image_load(path, 3, 0, 0, &t) == GLIA_OK;
    for (int c = 0; ok && c < 3; c++)
        for (int i = 0; ok && i < W * H; i++) {
            double a = rgba[i * 4 + 3] / 255.0, want = rgba[i * 4 + c] / 255.0 * a + (1 - a);
            if (fabs(t->data[c * W * H + i] - want) > 1e-6) { fprintf(stderr, "  over white %d,%d\n", c, i); ok = 0; }
        }
    glia_tensor_free(t);
    t = NULL;
    ok = ok && glia_image_load(path, 1, 0, 0, &t) == GLIA_OK;
    for (int i = 0; ok && i < W * H; i++) {
        double a = rgba[i * 4 + 3] / 255.0, v[3];
        for (int c = 0; c < 3; c++) v[c] = rgba[i * 4 + c] / 255.0 * a + (1 - a);
        if (fabs(t->data[i] - (0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2])) > 1e-6) { fprintf(stderr, "  grey over white %d\n", i); ok = 0; }
    }
    glia_tensor_free(t);
    t = NULL;
    ok = ok && glia_image_load(path, 4, 0, 0, &t) == GLIA_OK && planar_matches(t, rgba, 4, 4, H, W);
    glia_tensor_free(t);
    img_rmdir(dir);
    CHECK_MSG(ok, "conversion: %s", glia_last_error());
}

/* ------------------------------------------------------------------ resizing */

/* Area average of one axis, naively: each input repeated `out` times, blocks of `in` averaged. */
static void naive_area(const double *src, int in, double *dst, int out) {
    for (int o = 0; o < out; o++) {
        double s = 0;
        for (int j = o * in; j < (o + 1) * in; j++) s += src[j / out];
        dst[o] = s / in;
    }
}

static void naive_bilinear(const double *src, int in, double *dst, int out) {
    for (int o = 0; o < out; o++) {
        double x = (o + 0.5) * in / out - 0.5;
        x = x < 0 ? 0 : x > in - 1 ? in - 1 : x;
        int i0 = (int)floor(x), i1 = i0 + 1 < in ? i0 + 1 : i0;
        dst[o] = src[i0] + (x - i0) * (src[i1] - src[i0]);
    }
}

static void naive_axis(const double *src, int in, double *dst, int out) {
    if (out < in) naive_area(src, in, dst, out);
    else naive_bilinear(src, in, dst, out);
}

/* Reference resize of one h x w plane to oh x ow: rows, then columns. */
static void naive_resize(const float *src, int h, int w, double *dst, int oh, int ow) {
    double *mid = malloc(sizeof(double) * h * ow), line[512], col[512], res[512];
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) line[x] = src[y * w + x];
        naive_axis(line, w, mid + y * ow, ow);
    }
    for (int x = 0; x < ow; x++) {
        for (int y = 0; y < h; y++) col[y] = mid[y * ow + x];
        naive_axis(col, h, res, oh);
        for (int y = 0; y < oh; y++) dst[y * ow + x] = res[y];
    }
    free(mid);
}

TEST(image_resize_matches_reference) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    enum { W = 14, H = 10 };
    uint8_t px[W * H];
    fill_bytes(px, sizeof px, 50);
    snprintf(path, sizeof path, "%s/g.png", dir);
    glia_tensor *full = NULL, *t = NULL;
    int ok = stbi_write_png(path, W, H, 1, px, W) && glia_image_load(path, 1, 0, 0, &full) == GLIA_OK;
    CHECK_MSG(ok, "%s", glia_last_error());
    /* an exact 2x shrink is the mean of each 2x2 block */
    ok = glia_image_load(path, 1, H / 2, W / 2, &t) == GLIA_OK && t->shape.dim[1] == H / 2 &&
         t->shape.dim[2] == W / 2;
    for (int y = 0; ok && y < H / 2; y++)
        for (int x = 0; ok && x < W / 2; x++) {
            const float *f = full->data;
            double m = (f[2 * y * W + 2 * x] + f[2 * y * W + 2 * x + 1] + f[(2 * y + 1) * W + 2 * x] +
                        f[(2 * y + 1) * W + 2 * x + 1]) / 4;
            if (fabs(t->data[y * (W / 2) + x] - m) > 1e-6) {
                fprintf(stderr, "  2x2 mean at %d,%d: %g vs %g\n", y, x, t->data[y * (W / 2) + x], m);
                ok = 0;
            }
        }
    glia_tensor_free(t);
    t = NULL;
    /* odd ratios, shrinking, growing, and one axis of each */
    static const int sizes[][2] = {{3, 5}, {7, 9}, {1, 1}, {25, 31}, {4, 20}, {17, 6}, {10, 14}};
    double ref[64 * 64];
    for (size_t k = 0; ok && k < sizeof sizes / sizeof sizes[0]; k++) {
        int oh = sizes[k][0], ow = sizes[k][1];
        ok = glia_image_load(path, 1, oh, ow, &t) == GLIA_OK && t->shape.dim[1] == oh && t->shape.dim[2] == ow;
        if (ok) naive_resize(full->data, H, W, ref, oh, ow);
        for (int i = 0; ok && i < oh * ow; i++)
            if (fabs(t->data[i] - ref[i]) > 2e-6) {
                fprintf(stderr, "  %dx%d -> %dx%d at %d: %.9g vs %.9g\n", H, W, oh, ow, i, t->data[i], ref[i]);
                ok = 0;
            }
        glia_tensor_free(t);
        t = NULL;
    }
    glia_tensor_free(full);
    img_rmdir(dir);
    CHECK_MSG(ok, "resize: %s", glia_last_error());
}

TEST(image_resize_bilinear_values) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    /* a 1x2 picture [0, 255] grown to width 4: centres at -0.25, 0.25, 0.75, 1.25 (clamped) */
    uint8_t two[2] = {0, 255}, flat[6 * 5 * 3];
    memset(flat, 77, sizeof flat);
    snprintf(path, sizeof path, "%s/two.png", dir);
    glia_tensor *t = NULL;
    int ok = stbi_write_png(path, 2, 1, 1, two, 2) && glia_image_load(path, 1, 3, 4, &t) == GLIA_OK;
    static const float want[4] = {0, 0.25f, 0.75f, 1};
    for (int y = 0; ok && y < 3; y++)
        for (int x = 0; ok && x < 4; x++)
            if (fabsf(t->data[y * 4 + x] - want[x]) > 1e-6f) ok = 0;
    glia_tensor_free(t);
    t = NULL;
    /* a constant picture stays constant when grown, shrunk or both */
    snprintf(path, sizeof path, "%s/flat.png", dir);
    ok = ok && stbi_write_png(path, 6, 5, 3, flat, 18);
    static const int sizes[][2] = {{50, 61}, {2, 3}, {13, 4}};
    for (int k = 0; ok && k < 3; k++) {
        ok = glia_image_load(path, 3, sizes[k][0], sizes[k][1], &t) == GLIA_OK;
        for (int64_t i = 0; ok && i < glia_shape_numel(&t->shape); i++)
            if (fabsf(t->data[i] - 77 / 255.0f) > 1e-6f) ok = 0;
        glia_tensor_free(t);
        t = NULL;
    }
    /* 0 keeps the file's size on that axis only */
    ok = ok && glia_image_load(path, 1, 0, 9, &t) == GLIA_OK && t->shape.dim[1] == 5 && t->shape.dim[2] == 9;
    glia_tensor_free(t);
    t = NULL;
    ok = ok && glia_image_load(path, 1, 8, 0, &t) == GLIA_OK && t->shape.dim[1] == 8 && t->shape.dim[2] == 6;
    glia_tensor_free(t);
    img_rmdir(dir);
    CHECK_MSG(ok, "bilinear: %s", glia_last_error());
}

/* ------------------------------------------------------------------ errors */

/* The call must fail with status want and a message holding `path` and `word`. */
static int fails_naming(glia_status got, glia_status want, const char *path, const char *word) {
    const char *m = glia_last_error();
    if (got == want && strstr(m, path) && (!word || strstr(m, word))) return 1;
    fprintf(stderr, "  %s: got %s, message \"%s\" (want %s naming the path%s%s)\n", path,
            glia_status_name(got), m, glia_status_name(want), word ? " and " : "", word ? word : "");
    return 0;
}

TEST(image_load_errors) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    static glia_tensor dummy;
    glia_tensor *t = &dummy; /* must come back NULL */
    int ok = 1;
    snprintf(path, sizeof path, "%s/missing.png", dir);
    ok &= fails_naming(glia_image_load(path, 3, 0, 0, &t), GLIA_EIO, path, "No such file");
    ok &= t == NULL;
    snprintf(path, sizeof path, "%s/notes.png", dir);
    ok &= write_bytes(path, "this is text, not a picture\n", 28);
    ok &= fails_naming(glia_image_load(path, 3, 0, 0, &t), GLIA_EIO, path, "not an image");
    ok &= fails_naming(glia_image_load(dir, 3, 0, 0, &t), GLIA_EIO, dir, "directory");
    snprintf(path, sizeof path, "%s/empty.png", dir);
    ok &= write_bytes(path, "", 0);
    ok &= fails_naming(glia_image_load(path, 1, 0, 0, &t), GLIA_EIO, path, "not an image");
    /* a PNG cut in half: the header reads, the pixels do not */
    uint8_t px[64 * 64 * 3];
    fill_bytes(px, sizeof px, 60);
    snprintf(path, sizeof path, "%s/whole.png", dir);
    ok &= stbi_write_png(path, 64, 64, 3, px, 64 * 3) != 0;
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/cut.png", dir);
    ok &= n > 100 && write_bytes(path, buf, n / 2);
    ok &= fails_naming(glia_image_load(path, 3, 0, 0, &t), GLIA_EIO, path, "cannot decode");
    /* PGM: truncated pixels, a broken header */
    snprintf(path, sizeof path, "%s/short.pgm", dir);
    ok &= write_bytes(path, "P5\n4 4\n255\nabc", 15);
    ok &= fails_naming(glia_image_load(path, 1, 0, 0, &t), GLIA_EIO, path, "truncated");
    snprintf(path, sizeof path, "%s/bad.pgm", dir);
    ok &= write_bytes(path, "P5\n4 x\n255\nabc", 15);
    ok &= fails_naming(glia_image_load(path, 1, 0, 0, &t), GLIA_EIO, path, "header");
    snprintf(path, sizeof path, "%s/big.pgm", dir);
    ok &= write_bytes(path, "P5 4 4 70000\n", 13);
    ok &= fails_naming(glia_image_load(path, 1, 0, 0, &t), GLIA_EIO, path, "maxval");
    /* bad arguments */
    snprintf(path, sizeof path, "%s/whole.png", dir);
    ok &= fails_naming(glia_image_load(path, 2, 0, 0, &t), GLIA_EINVAL, path, "channels");
    ok &= fails_naming(glia_image_load(path, 3, -1, 4, &t), GLIA_EINVAL, path, "size");
    ok &= t == NULL;
    img_rmdir(dir);
    CHECK(ok);
}

/* ------------------------------------------------------------------ saving */

TEST(image_save_png_roundtrip) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    enum { W = 11, H = 7 };
    float chw[4 * W * H];
    fill_uniform(chw, 4 * W * H, -0.2f, 1.2f, 7); /* some values need clamping */
    chw[5] = NAN;
    chw[6] = 0.6f / 255; /* rounds up to 1 */
    chw[7] = 0.4f / 255; /* rounds down to 0 */
    int ok = 1;
    for (int c = 1; c <= 4 && ok; c++) {
        if (c == 2) continue;
        snprintf(path, sizeof path, "%s/s%d.png", dir, c);
        ok = glia_image_save_png(path, chw, c, H, W) == GLIA_OK;
        int w, h, n;
        uint8_t *px = ok ? stbi_load(path, &w, &h, &n, 0) : NULL;
        ok = px && w == W && h == H && n == c;
        for (int k = 0; ok && k < c; k++)
            for (int i = 0; ok && i < W * H; i++) {
                float v = chw[k * W * H + i];
                int want = v != v ? 0 : (int)lround(fmin(fmax(v, 0), 1) * 255.0);
                if (px[i * c + k] != want) {
                    fprintf(stderr, "  %d channels, value %d,%d: %d, want %d (from %g)\n", c, k, i, px[i * c + k], want, v);
                    ok = 0;
                }
            }
        stbi_image_free(px);
        /* what was written loads back as the same picture, to 8 bits */
        glia_tensor *t = NULL;
        if (ok && c != 4) {
            ok = glia_image_load(path, c, 0, 0, &t) == GLIA_OK;
            for (int i = 0; ok && i < c * W * H; i++) {
                float v = chw[i], want = v != v ? 0 : fminf(fmaxf(v, 0), 1);
                if (fabsf(t->data[i] - want) > 0.5f / 255 + 1e-6f) ok = 0;
            }
            glia_tensor_free(t);
        }
    }
    CHECK_MSG(ok, "%s", glia_last_error());
    /* saving over an existing file replaces it and leaves no temporary file */
    snprintf(path, sizeof path, "%s/s1.png", dir);
    float ones[W * H];
    for (int i = 0; i < W * H; i++) ones[i] = 1;
    ok = glia_image_save_png(path, ones, 1, H, W) == GLIA_OK;
    int w, h, n;
    uint8_t *px = ok ? stbi_load(path, &w, &h, &n, 1) : NULL;
    ok = px && px[0] == 255 && px[W * H - 1] == 255;
    stbi_image_free(px);
    ok = ok && count_entries(dir) == 3;
    /* errors name the file */
    snprintf(path, sizeof path, "%s/no/such/dir/x.png", dir);
    ok = ok && fails_naming(glia_image_save_png(path, ones, 1, H, W), GLIA_EIO, path, NULL);
    snprintf(path, sizeof path, "%s/bad.png", dir);
    ok = ok && fails_naming(glia_image_save_png(path, ones, 2, H, W), GLIA_EINVAL, path, "channels");
    ok = ok && fails_naming(glia_image_save_png(path, ones, 1, 0, W), GLIA_EINVAL, path, "size");
    ok = ok && count_entries(dir) == 3;
    img_rmdir(dir);
    CHECK(ok);
}

/* ------------------------------------------------------------------ canvas */

static int px_is(viz_canvas *c, int x, int y, const uint8_t rgb[3]) {
    const uint8_t *p = viz_pixel(c, x, y);
    return p && p[0] == rgb[0] && p[1] == rgb[1] && p[2] == rgb[2];
}

/* Pixels in [x0, x1) x [y0, y1) that differ from rgb. */
static int count_not(viz_canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3]) {
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) n += !px_is(c, x, y, rgb);
    return n;
}

TEST(canvas_rect_and_line) {
    static const uint8_t black[3] = {0, 0, 0}, red[3] = {255, 0, 0}, blue[3] = {0, 0, 255};
    viz_canvas *c;
    OK(viz_canvas_new(40, 30, black, &c));
    viz_fill_rect(c, 5, 6, 10, 4, red);
    int ok = px_is(c, 5, 6, red) && px_is(c, 14, 9, red) && !px_is(c, 15, 9, red) &&
             !px_is(c, 4, 6, red) && !px_is(c, 5, 10, red) && !px_is(c, 5, 5, red);
    ok &= count_not(c, 0, 0, 40, 30, black) == 40;
    viz_fill_rect(c, -5, -5, 8, 7, blue); /* partly outside: clipped */
    viz_fill_rect(c, 35, 25, 1000000, 1000000, blue);
    ok &= px_is(c, 0, 0, blue) && px_is(c, 2, 1, blue) && !px_is(c, 3, 1, blue) && !px_is(c, 0, 2, blue);
    ok &= px_is(c, 39, 29, blue) && px_is(c, 35, 25, blue) && !px_is(c, 34, 25, blue);
    CHECK_MSG(ok, "rectangles");
    viz_canvas_free(c);

    OK(viz_canvas_new(40, 30, black, &c));
    /* a 1-pixel horizontal line along row 20; a 2-pixel vertical one on columns 9 and 10 */
    viz_line(c, 2, 20.5, 30, 20.5, 1, red);
    viz_line(c, 10, 2, 10, 25, 2, blue);
    for (int x = 3; x < 30; x++)
        if (x != 9 && x != 10) CHECK_MSG(px_is(c, x, 20, red), "row 20, x %d", x);
    CHECK(!px_is(c, 20, 19, red) && px_is(c, 20, 19, black) && px_is(c, 20, 21, black));
    CHECK(px_is(c, 35, 20, black));
    for (int y = 3; y < 25; y++) CHECK_MSG(px_is(c, 9, y, blue) && px_is(c, 10, y, blue), "column 9/10 at y %d", y);
    CHECK(px_is(c, 8, 12, black) && px_is(c, 11, 12, black) && px_is(c, 9, 28, black));
    /* clipped: a line across the whole canvas only marks the clip rectangle */
    viz_canvas_free(c);
    OK(viz_canvas_new(40, 30, black, &c));
    viz_clip(c, 10, 0, 10, 30);
    viz_line(c, -100, 15.5, 100, 15.5, 1, red);
    viz_clip_reset(c);
    CHECK(px_is(c, 10, 15, red) && px_is(c, 19, 15, red) && px_is(c, 9, 15, black) && px_is(c, 20, 15, black));
    CHECK(count_not(c, 0, 0, 40, 30, black) == 10);
    /* a diagonal passes through the centre pixel; anti-aliasing stays near it */
    viz_line(c, 0, 0, 30, 30, 1, blue);
    CHECK(px_is(c, 5, 5, blue) && px_is(c, 25, 25, blue) && px_is(c, 25, 20, black));
    viz_line(c, NAN, 0, 3, 3, 1, blue); /* ignored */
    /* anti-aliasing: a 1-pixel line on the border of rows 27 and 28 half covers both */
    viz_line(c, 32, 28, 38, 28, 1, red);
    const uint8_t *p27 = viz_pixel(c, 35, 27), *p28 = viz_pixel(c, 35, 28);
    CHECK_MSG(abs(p27[0] - 128) <= 1 && abs(p28[0] - 128) <= 1 && p27[1] == 0 && px_is(c, 35, 26, black),
              "half-covered pixels: %d, %d", p27[0], p28[0]);
    viz_canvas_free(c);
}

TEST(canvas_text) {
    static const uint8_t white[3] = {255, 255, 255}, ink[3] = {10, 20, 30};
    viz_canvas *c;
    OK(viz_canvas_new(60, 40, NULL, &c));
    /* '-' is the font's row 3, columns 0..3 */
    int w = viz_text(c, 0, 0, "-", 1, ink);
    CHECK(w == 6 && w == viz_text_width("-", 1));
    CHECK(px_is(c, 0, 3, ink) && px_is(c, 3, 3, ink) && px_is(c, 4, 3, white) && px_is(c, 0, 2, white));
    CHECK(count_not(c, 0, 0, 60, 40, white) == 4);
    /* scale 2 doubles every font pixel; capitals stay inside 7 x 2 rows */
    viz_canvas_free(c);
    OK(viz_canvas_new(60, 40, NULL, &c));
    w = viz_text(c, 10, 10, "HI", 2, ink);
    CHECK(w == 2 * viz_text_width("HI", 1) && w > 0);
    int inside = 60 * 40 - count_not(c, 0, 0, 60, 40, ink);
    int in_box = 0;
    for (int y = 10; y < 10 + 14; y++)
        for (int x = 10; x < 10 + w; x++) in_box += px_is(c, x, y, ink);
    CHECK_MSG(inside > 20 && in_box == inside, "%d inked pixels, %d inside the text box", inside, in_box);
    CHECK(inside % 4 == 0); /* whole 2x2 blocks */
    /* turned upwards: '-' (width 6) from (0, 0) covers column 3, rows 2..5 */
    viz_canvas_free(c);
    OK(viz_canvas_new(60, 40, NULL, &c));
    viz_text_up(c, 0, 0, "-", 1, ink);
    CHECK(px_is(c, 3, 2, ink) && px_is(c, 3, 5, ink) && px_is(c, 3, 1, white) && px_is(c, 3, 6, white));
    CHECK(count_not(c, 0, 0, 60, 40, white) == 4);
    /* non-ASCII bytes draw as '?' instead of reading outside the font's tables */
    CHECK(viz_text_width("\xc3\xa9", 1) == 2 * viz_text_width("?", 1));
    viz_text(c, 55, 35, "\xff\x01 clipped", 2, ink);
    viz_canvas_free(c);
}

TEST(canvas_blit_and_colormap) {
    viz_canvas *c;
    OK(viz_canvas_new(20, 20, NULL, &c));
    const float grey[4] = {0, 1, 0.5f, 2};
    OK(viz_blit(c, 1, 1, grey, 1, 2, 2, 0, 1, 3));
    static const uint8_t g0[3] = {0, 0, 0}, g255[3] = {255, 255, 255}, g128[3] = {128, 128, 128};
    for (int y = 1; y < 4; y++)
        for (int x = 1; x < 4; x++) CHECK(px_is(c, x, y, g0) && px_is(c, x + 3, y, g255) &&
                                          px_is(c, x, y + 3, g128) && px_is(c, x + 3, y + 3, g255));
    CHECK(px_is(c, 0, 0, g255) && px_is(c, 7, 7, g255));
    /* RGB planes, range -1..1 */
    const float rgb[3] = {1, -1, 0};
    OK(viz_blit(c, 10, 10, rgb, 3, 1, 1, -1, 1, 2));
    static const uint8_t want[3] = {255, 0, 128};
    CHECK(px_is(c, 10, 10, want) && px_is(c, 11, 11, want) && !px_is(c, 12, 12, want));
    CHECK(viz_blit(c, 0, 0, rgb, 2, 1, 1, 0, 1, 1) == GLIA_EINVAL);
    CHECK(viz_blit(c, 0, 0, rgb, 1, 1, 1, 0, 1, 0) == GLIA_EINVAL);
    /* colour map: viridis ends, NaN as 0, luminance rising all the way */
    uint8_t a[3], b[3];
    viz_colormap(0, a);
    CHECK(a[0] == 68 && a[1] == 1 && a[2] == 84);
    viz_colormap(1, a);
    CHECK(a[0] == 253 && a[1] == 231 && a[2] == 37);
    viz_colormap(NAN, a);
    viz_colormap(-3, b);
    CHECK(!memcmp(a, b, 3) && a[0] == 68);
    double prev = -1;
    for (int i = 0; i <= 100; i++) {
        viz_colormap(i / 100.0f, a);
        double lum = 0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2];
        CHECK_MSG(lum > prev, "luminance at %d", i);
        prev = lum;
    }
    /* a heat map with alpha 1 shows the map's colours; alpha 0.5 mixes with what is there */
    const float heat[2] = {0, 10};
    OK(viz_blit_heat(c, 14, 0, heat, 1, 2, 0, 10, 2, 1.0f));
    viz_colormap(1, a);
    CHECK(px_is(c, 16, 0, a) && px_is(c, 17, 1, a));
    OK(viz_blit_heat(c, 14, 4, heat, 1, 1, 0, 10, 1, 0.5f)); /* over white */
    viz_colormap(0, a);
    const uint8_t *p = viz_pixel(c, 14, 4);
    CHECK(abs(p[0] - (68 + 255 + 1) / 2) <= 1 && abs(p[1] - (1 + 255 + 1) / 2) <= 1);
    /* saved and decoded back exactly */
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    snprintf(path, sizeof path, "%s/canvas.png", dir);
    OK(viz_canvas_save_png(c, path));
    int w, h, n;
    uint8_t *px = stbi_load(path, &w, &h, &n, 3);
    int same = px && w == 20 && h == 20 && !memcmp(px, c->px, 20 * 20 * 3);
    stbi_image_free(px);
    viz_canvas_free(c);
    img_rmdir(dir);
    CHECK(same);
}

/* ------------------------------------------------------------------ charts */

/* Pixels of exactly colour rgb in columns [x0, x1) of an RGB picture. */
static int count_colour(const uint8_t *px, int w, int h, int x0, int x1, const uint8_t rgb[3]) {
    int n = 0;
    for (int y = 0; y < h; y++)
        for (int x = x0; x < x1; x++) n += !memcmp(px + ((size_t)y * w + x) * 3, rgb, 3);
    return n;
}

/* Writes a chart, decodes it and returns its pixels (NULL and a failed message otherwise). */
static uint8_t *plot_and_load(const char *path, const double *x, int n, int panels,
                              const char *const *yl, const glia_plot_series *s, int ns, int *w,
                              int *h) {
    glia_status st = glia_plot_curves(path, "test chart", "epoch", x, n, panels, yl, s, ns);
    if (st) {
        fprintf(stderr, "  glia_plot_curves: %s\n", glia_last_error());
        return NULL;
    }
    int c;
    return stbi_load(path, w, h, &c, 3);
}

TEST(plot_curves_png) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    enum { N = 12 };
    double x[N], tl[N], vl[N], ta[N], va[N];
    for (int i = 0; i < N; i++) {
        x[i] = i + 1;
        tl[i] = 2.3 * exp(-0.3 * i) + 0.1;
        vl[i] = 2.2 * exp(-0.25 * i) + 0.3;
        ta[i] = 1 - 0.9 * exp(-0.3 * i);
        va[i] = 0.95 - 0.9 * exp(-0.25 * i);
    }
    vl[5] = NAN; /* a gap */
    const glia_plot_series s[] = {
        {"train loss", tl, 0}, {"val loss", vl, 0}, {"train acc", ta, 1}, {"val acc", va, 1}};
    const char *yl[] = {"loss", "accuracy"};
    uint8_t c0[3], c1[3], c2[3];
    viz_palette(0, c0);
    viz_palette(1, c1);
    viz_palette(2, c2);
    int w = 0, h = 0;
    snprintf(path, sizeof path, "%s/curves.png", dir);
    uint8_t *px = plot_and_load(path, x, N, 2, yl, s, 4, &w, &h);
    int ok = px && w == 1000 && h == 420;
    if (ok) {
        /* both series colours in each panel, well beyond the legend's few pixels */
        int n00 = count_colour(px, w, h, 0, w / 2, c0), n01 = count_colour(px, w, h, 0, w / 2, c1);
        int n10 = count_colour(px, w, h, w / 2, w, c0), n11 = count_colour(px, w, h, w / 2, w, c1);
        int n2 = count_colour(px, w, h, 0, w, c2);
        if (!(n00 > 300 && n01 > 300 && n10 > 300 && n11 > 300 && n2 == 0)) {
            fprintf(stderr, "  colour pixels: %d %d | %d %d, third colour %d\n", n00, n01, n10, n11, n2);
            ok = 0;
        }
        /* the title: dark pixels in the top band, centred */
        int dark = 0;
        for (int y = 0; y < 40; y++)
            for (int xx = 0; xx < w; xx++) dark += px[(y * w + xx) * 3] < 100 && (xx > 350 && xx < 650);
        if (dark < 50) { fprintf(stderr, "  title pixels: %d\n", dark); ok = 0; }
    }
    stbi_image_free(px);
    CHECK(ok);

    /* one point (unnamed series: no legend, so the colour is the point's); constant series;
       one panel without labels */
    const glia_plot_series s1[] = {{NULL, tl, 0}, {NULL, vl, 0}, {NULL, ta, 1}, {NULL, va, 1}};
    snprintf(path, sizeof path, "%s/one.png", dir);
    px = plot_and_load(path, x, 1, 2, yl, s1, 4, &w, &h);
    ok = px && w == 1000 && h == 420 && count_colour(px, w, h, 0, w / 2, c0) > 10 &&
         count_colour(px, w, h, w / 2, w, c1) > 10;
    stbi_image_free(px);
    CHECK_MSG(ok, "one point");
    double flat[N];
    for (int i = 0; i < N; i++) flat[i] = 0.5;
    const glia_plot_series fs[] = {{"flat", flat, 0}, {NULL, tl, 0}};
    snprintf(path, sizeof path, "%s/flat.png", dir);
    px = plot_and_load(path, x, N, 1, NULL, fs, 1, &w, &h);
    ok = px && w == 510 && h == 420 && count_colour(px, w, h, 0, w, c0) > 300;
    stbi_image_free(px);
    CHECK_MSG(ok, "constant series");
    px = plot_and_load(path, x, N, 1, NULL, fs, 2, &w, &h);
    ok = px && count_colour(px, w, h, 0, w, c1) > 300;
    stbi_image_free(px);
    CHECK_MSG(ok, "unnamed series");
    const glia_plot_series nan_only[] = {{"nothing", (double[]){NAN, NAN}, 0}};
    px = plot_and_load(path, x, 2, 1, NULL, nan_only, 1, &w, &h);
    ok = px && count_colour(px, w, h, 0, w, c0) < 100; /* only the legend's sample */
    stbi_image_free(px);
    CHECK_MSG(ok, "all-NaN series");
    CHECK(count_entries(dir) == 3);
    img_rmdir(dir);
}

TEST(plot_curves_errors) {
    char dir[256], path[512];
    TMPDIR_OR_FAIL(dir);
    double x[3] = {1, 2, 3}, y[3] = {3, 2, 1};
    glia_plot_series s[] = {{"a", y, 0}};
    int ok = 1;
    snprintf(path, sizeof path, "%s/p.png", dir);
    ok &= fails_naming(glia_plot_curves(path, "t", "x", x, 0, 1, NULL, s, 1), GLIA_EINVAL, path, "no points");
    ok &= fails_naming(glia_plot_curves(path, "t", "x", x, 3, 0, NULL, s, 1), GLIA_EINVAL, path, "panels");
    s[0].panel = 1;
    ok &= fails_naming(glia_plot_curves(path, "t", "x", x, 3, 1, NULL, s, 1), GLIA_EINVAL, path, "'a'");
    s[0].panel = 0;
    s[0].y = NULL;
    ok &= fails_naming(glia_plot_curves(path, "t", "x", x, 3, 1, NULL, s, 1), GLIA_EINVAL, path, "no y");
    s[0].y = y;
    x[1] = INFINITY;
    ok &= fails_naming(glia_plot_curves(path, "t", "x", x, 3, 1, NULL, s, 1), GLIA_EINVAL, path, "x[1]");
    x[1] = 2;
    ok &= count_entries(dir) == 0;
    snprintf(path, sizeof path, "%s/missing/p.png", dir);
    ok &= fails_naming(glia_plot_curves(path, "t", "x", x, 3, 1, NULL, s, 1), GLIA_EIO, path, NULL);
    ok &= glia_plot_curves(NULL, "t", "x", x, 3, 1, NULL, s, 1) == GLIA_EINVAL;
    img_rmdir(dir);
    CHECK(ok);
}
