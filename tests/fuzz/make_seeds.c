/* make_seeds.c: writes the small seed corpora of the fuzz targets into tests/fuzz/corpus/
 * (`make fuzz-seeds`; the files are committed). Each seed is a valid input of its reader. */
#include "core/internal.h"
#include "io/packed.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <stb/stb_image_write.h>

static const char *root;

static void die(const char *what) {
    fprintf(stderr, "make_seeds: %s: %s\n", what, glia_last_error());
    exit(1);
}

static void put(const char *target, const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) die(path);
}

static void put_gz(const char *target, const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    gzFile f = gzopen(path, "wb9");
    if (!f || gzwrite(f, data, (unsigned)n) != (int)n || gzclose(f) != Z_OK) die(path);
}

static void copy_file(const char *target, const char *name, const char *src) {
    FILE *f = fopen(src, "rb");
    if (!f) die(src);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    put(target, name, buf, n);
}

static void idx_seeds(void) {
    /* labels: 4 x ubyte; images: 2 x 3 x 3 ubyte; a float and a short file */
    uint8_t lab[] = {0, 0, 8, 1, 0, 0, 0, 4, 1, 0, 3, 2};
    uint8_t img[4 + 12 + 18] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3};
    for (int i = 0; i < 18; i++) img[16 + i] = (uint8_t)(i * 14);
    uint8_t flt[] = {0, 0, 0x0d, 1, 0, 0, 0, 2, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0};
    uint8_t sht[] = {0, 0, 0x0b, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe};
    put("fuzz_idx", "labels.idx1", lab, sizeof lab);
    put("fuzz_idx", "images.idx3", img, 16 + 18);
    put("fuzz_idx", "float.idx1", flt, sizeof flt);
    put("fuzz_idx", "short.idx2", sht, sizeof sht);
    put_gz("fuzz_idx", "labels.idx1.gz", lab, sizeof lab);
    put_gz("fuzz_idx", "images.idx3.gz", img, 16 + 18);
}

/* the JSON parser's own target: an object with every kind of value, numbers, escapes */
static void json_parser_seeds(void) {
    static const char obj[] = "{\"a\": [1, -2.5e3, true, false, null], "
                              "\"b\\u00e9\\ud83d\\ude00\": {\"c\": \"x\\ny\"}}";
    static const char num[] = "[0, 0.5, 1, 1e400, 123456789012345678901234567890]";
    static const char str[] = "\"caf\xc3\xa9 \\\"q\\\" \\\\ \\t\"";
    put("fuzz_json", "object.json", obj, sizeof obj - 1);
    put("fuzz_json", "numbers.json", num, sizeof num - 1);
    put("fuzz_json", "string.json", str, sizeof str - 1);
}

static void json_seeds(void) {
    static char buf[2 * 784 * 8 + 64];
    int n = sprintf(buf, "{\"data\": [");
    for (int i = 0; i < 784; i++) n += sprintf(buf + n, "%s%s", i ? "," : "", i % 3 ? "0" : i % 2 ? "1" : "0.5");
    n += sprintf(buf + n, "]}\n");
    put("fuzz_mnist_json", "one.json", buf, (size_t)n);
    n = sprintf(buf, " {\"data\":[");
    for (int i = 0; i < 2 * 784; i++) n += sprintf(buf + n, "%s%s", i ? ", " : "", i % 5 ? "0.25" : "1e-1");
    n += sprintf(buf + n, "]} ");
    put("fuzz_mnist_json", "two.json", buf, (size_t)n);
}

/* stb_image_write output collected in memory, behind the byte fuzz_image reads as its mode */
typedef struct { uint8_t buf[1 << 14]; size_t n; } membuf;
static void sink(void *ctx, void *data, int size) {
    membuf *m = ctx;
    if (m->n + (size_t)size > sizeof m->buf) die("seed too big");
    memcpy(m->buf + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

static void image_seeds(void) {
    static membuf m;
    uint8_t px[6 * 5 * 4];
    char name[32];
    for (int i = 0; i < (int)sizeof px; i++) px[i] = (uint8_t)(i * 11);
    for (int c = 1; c <= 4; c++) {
        m.buf[0] = (uint8_t)(c * 21);
        m.n = 1;
        if (!stbi_write_png_to_func(sink, &m, 6, 5, c, px, 6 * c)) die("png");
        snprintf(name, sizeof name, "png%d.png", c);
        put("fuzz_image", name, m.buf, m.n);
    }
    for (int c = 1; c <= 3; c += 2) {
        m.buf[0] = (uint8_t)(c * 37);
        m.n = 1;
        if (!stbi_write_jpg_to_func(sink, &m, 6, 5, c, px, 60)) die("jpeg");
        snprintf(name, sizeof name, "jpeg%d.jpg", c);
        put("fuzz_image", name, m.buf, m.n);
    }
    char pgm[64 + 30];
    int n = sprintf(pgm, "%cP5\n# c\n6 5\n255\n", 0);
    memcpy(pgm + n, px, 30);
    put("fuzz_image", "grey.pgm", pgm, (size_t)n + 30);
    n = sprintf(pgm, "%cP6 2 2 65535\n", 5);
    memcpy(pgm + n, px, 24);
    put("fuzz_image", "rgb16.ppm", pgm, (size_t)n + 24);
}

static void safetensors_seeds(void) {
    glia_graph *g;
    int x, w, b, y;
    if (glia_graph_new(&g) || glia_input(g, "x", 2, (int64_t[]){1, 4}, &x) ||
        glia_param(g, "fc.weight", 2, (int64_t[]){3, 4}, &w) ||
        glia_param(g, "fc.bias", 1, (int64_t[]){3}, &b) || glia_dense(g, "fc", x, w, b, &y))
        die("graph");
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz_safetensors/fc.safetensors", root);
    if (glia_safetensors_save(g, path)) die(path);
    glia_graph_free(g);
    float v[3] = {1, 2, 3};
    glia_st_entry e = {.name = "t", .shape = {1, {3}}, .data = v};
    const char *meta[] = {"format", "pt", "note", "a \"quoted\" \\ value"};
    snprintf(path, sizeof path, "%s/fuzz_safetensors/meta.safetensors", root);
    if (glia_safetensors_write(path, &e, 1, meta, 2)) die(path);
}

/* a binary dense layer's packed weights (glia_packed_save), in both formats */
static void packed_seed(void) {
    glia_graph *g;
    int x, w, b, xb, wb, y;
    if (glia_graph_new(&g) || glia_input(g, "x", 2, (int64_t[]){1, 10}, &x) ||
        glia_param(g, "fc.weight", 2, (int64_t[]){3, 10}, &w) ||
        glia_param(g, "fc.bias", 1, (int64_t[]){3}, &b) ||
        glia_binarize(g, "fc.xbin", x, 1, 1.0f, &xb) ||
        glia_binarize(g, "fc.wbin", w, 1, 1.0f, &wb) || glia_dense(g, "fc", xb, wb, b, &y))
        die("graph");
    float *wv = glia_node_value(g, w);
    for (int i = 0; i < 30; i++) wv[i] = (float)((i * 7) % 5) - 2.0f;
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz_packed/fc.safetensors", root);
    if (glia_packed_save(g, path, NULL)) die(path);
    /* the format 1 that glia_packed_load still reads (F32 scales) */
    snprintf(path, sizeof path, "%s/fuzz_packed/format1_fc.safetensors", root);
    if (glia__packed_save_version(g, path, 1, NULL)) die(path);
    glia_graph_free(g);
}

static void checkpoint_seed(void) {
    const char *text = "[net]\ninput = 1, 4, 4\nclasses = 2\nbatch = 2\nepochs = 1\n"
                       "optimizer = adam\nlr = 0.01\n\n[conv]\nname = c1\nfilters = 2\nsize = 3\n"
                       "pad = 1\nbatchnorm = 1\nactivation = relu\n\n[dense]\nname = fc\nunits = 2\n";
    glia_model *m;
    if (glia_model_parse(text, "seed.cfg", 1, 1, &m)) die("model");
    glia_tensor *xs, *ys;
    glia_dataset *d, *t;
    if (glia_tensor_new(&xs, 4, (int64_t[]){8, 1, 4, 4}) || glia_tensor_new(&ys, 1, (int64_t[]){8}))
        die("tensor");
    for (int i = 0; i < 8 * 16; i++) xs->data[i] = (float)((i * 7) % 11) / 10;
    for (int i = 0; i < 8; i++) ys->data[i] = (float)(i % 2);
    if (glia_dataset_new(xs, ys, 2, NULL, &d)) die("dataset");
    if (glia_tensor_new(&xs, 4, (int64_t[]){4, 1, 4, 4}) || glia_tensor_new(&ys, 1, (int64_t[]){4}))
        die("tensor");
    if (glia_dataset_new(xs, ys, 2, NULL, &t)) die("dataset");
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/../ckpt-tmp", root);
    glia_train_options o = {0};
    o.train_set = d;
    o.test_set = t;
    o.out_dir = dir;
    o.seed = 3;
    glia_train_result r;
    if (glia_train(m, &o, &r)) die("train");
    glia_eval_result_free(&r.test);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    copy_file("fuzz_checkpoint", "epoch1.safetensors", path);
    glia_model_free(m);
    glia_dataset_free(d);
    glia_dataset_free(t);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    idx_seeds();
    json_seeds();
    json_parser_seeds();
    image_seeds();
    safetensors_seeds();
    packed_seed();
    checkpoint_seed();
    return 0;
}
