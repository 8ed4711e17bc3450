/* test_safetensors.c: glia_safetensors_save / glia_safetensors_load. A round trip of a small
 * CNN's parameters and buffers (bit-exact, 8-byte-aligned header, inputs not saved, no temporary
 * file left, overwriting), the exact header glia writes, names that need JSON escaping, F16 /
 * BF16 / F64 conversion, a file written by PyTorch (scripts/safetensors_check.py), then every
 * error: truncation at many lengths, lying header lengths, malformed JSON (with the byte
 * offset), missing fields, unsupported dtypes, bad/overlapping/gapped offsets, trailing bytes,
 * missing, extra, duplicate and mis-shaped tensors, unwritable paths (no temporary file left) -
 * each checking the status, that the message names the path and the tensor, and that the
 * graph's values are unchanged. A mutation fuzz loop runs last. Files live in a fresh mkdtemp
 * directory that each test removes. */
#include "test.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ temp files */

static int make_tmpdir(char *dir, size_t n) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/glia-st-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(dir) != NULL;
}

/* Removes the directory, the plain files in it and empty subdirectories. */
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

/* How many entries of dir contain ".tmp." (temporary files a save left behind). */
static int count_tmp_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static int write_raw(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    return (fclose(f) == 0) & (w == n);
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = malloc((1 << 20) + 1);
    *n = b ? fread(b, 1, 1 << 20, f) : 0;
    if (b) b[*n] = 0; /* the header can be searched as a string */
    fclose(f);
    return b;
}

static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* A safetensors file: header length `hlen` (the real one if hlen is UINT64_MAX), the header
 * text, then n data bytes. */
static int write_st_len(const char *path, uint64_t hlen, const char *header, const void *data,
                        size_t n) {
    size_t h = strlen(header);
    unsigned char *b = malloc(8 + h + n + 1);
    if (!b) return 0;
    put_le64(b, hlen == UINT64_MAX ? h : hlen);
    memcpy(b + 8, header, h);
    if (n) memcpy(b + 8 + h, data, n);
    int ok = write_raw(path, b, 8 + h + n);
    free(b);
    return ok;
}
static int write_st(const char *path, const char *header, const void *data, size_t n) {
    return write_st_len(path, UINT64_MAX, header, data, n);
}

/* ------------------------------------------------------------------ graphs */

/* A copy of every parameter's and buffer's values, in node order (free() it), read with
 * glia_node_read so that it works on every device. */
static float *snapshot(glia_graph *g, int64_t *total) {
    int64_t n = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        const char *op = glia_node_op(g, i);
        glia_shape s;
        if (strcmp(op, "param") && strcmp(op, "buffer")) continue;
        glia_node_shape(g, i, &s);
        n += glia_shape_numel(&s);
    }
    float *snap = malloc((size_t)(n ? n : 1) * sizeof(float));
    int64_t k = 0;
    for (int i = 0; snap && i < glia_graph_num_nodes(g); i++) {
        const char *op = glia_node_op(g, i);
        glia_shape s;
        if (strcmp(op, "param") && strcmp(op, "buffer")) continue;
        glia_node_shape(g, i, &s);
        if (glia_node_read(g, i, snap + k, glia_shape_numel(&s))) {
            free(snap);
            return NULL;
        }
        k += glia_shape_numel(&s);
    }
    if (total) *total = n;
    return snap;
}

/* 1 if the graph's parameters and buffers hold exactly `snap` (bit for bit). */
static int same_as(glia_graph *g, const float *snap) {
    int64_t n;
    float *now = snapshot(g, &n);
    int same = now && snap && memcmp(now, snap, (size_t)n * sizeof(float)) == 0;
    free(now);
    return same;
}

static void fill_node(glia_graph *g, int node, uint64_t seed) {
    glia_shape s;
    glia_node_shape(g, node, &s);
    fill_uniform(glia_node_value(g, node), glia_shape_numel(&s), -2.0f, 2.0f, seed);
}

/* A small CNN: conv (4-D weight, frozen bias) -> batch norm (two buffers) -> dense. */
typedef struct cnn {
    glia_graph *g;
    int x, cw, cb, gm, bt, rm, rv, fw, fb, y;
} cnn;

static glia_status cnn_new(cnn *c, uint64_t seed) {
    memset(c, 0, sizeof *c);
    glia_status s;
    int h, b, f;
    if ((s = glia_graph_new(&c->g))) return s;
    glia_graph *g = c->g;
    if ((s = glia_input(g, "x", 4, (int64_t[]){2, 3, 8, 8}, &c->x)) ||
        (s = glia_param(g, "conv1.weight", 4, (int64_t[]){4, 3, 3, 3}, &c->cw)) ||
        (s = glia_param(g, "conv1.bias", 1, (int64_t[]){4}, &c->cb)) ||
        (s = glia_conv2d(g, "conv1", c->x, c->cw, c->cb, NULL, &h)) ||
        (s = glia_param(g, "bn1.weight", 1, (int64_t[]){4}, &c->gm)) ||
        (s = glia_param(g, "bn1.bias", 1, (int64_t[]){4}, &c->bt)) ||
        (s = glia_buffer(g, "bn1.running_mean", 1, (int64_t[]){4}, &c->rm)) ||
        (s = glia_buffer(g, "bn1.running_var", 1, (int64_t[]){4}, &c->rv)) ||
        (s = glia_batchnorm(g, "bn1", h, c->gm, c->bt, c->rm, c->rv, 1e-5f, 0.1f, &b)) ||
        (s = glia_flatten(g, "flat", b, &f)) ||
        (s = glia_param(g, "fc.weight", 2, (int64_t[]){5, 144}, &c->fw)) ||
        (s = glia_param(g, "fc.bias", 1, (int64_t[]){5}, &c->fb)) ||
        (s = glia_dense(g, "fc", f, c->fw, c->fb, &c->y)) ||
        (s = glia_node_set_trainable(g, c->cb, 0)))
        return s;
    if (seed) {
        const int ids[] = {c->cw, c->cb, c->gm, c->bt, c->rm, c->rv, c->fw, c->fb};
        for (int i = 0; i < 8; i++) fill_node(g, ids[i], seed * 100 + (uint64_t)i);
    }
    return GLIA_OK;
}

/* A tiny graph for hand-made files: param "w" [2, 2], buffer "rm" [2], random values. */
static glia_status small_new(glia_graph **g, int *w, int *rm) {
    glia_status s;
    if ((s = glia_graph_new(g)) ||
        (s = glia_param(*g, "w", 2, (int64_t[]){2, 2}, w)) ||
        (s = glia_buffer(*g, "rm", 1, (int64_t[]){2}, rm)))
        return s;
    fill_node(*g, *w, 11);
    fill_node(*g, *rm, 12);
    return GLIA_OK;
}

/* 24 data bytes for "w" [2, 2] then "rm" [2]: the floats 1..6 */
static const float SIX[6] = {1, 2, 3, 4, 5, 6};
#define HDR_W "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"
#define HDR_RM "\"rm\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}"

/* Loading `path` into g must fail with `want`, a message naming the path and holding each
 * non-NULL fragment, and leave the graph's values as they were. */
static int load_fails(glia_graph *g, const char *path, glia_status want, const char *frag1,
                      const char *frag2, const char *file, int line) {
    float *snap = snapshot(g, NULL);
    glia_status s = glia_safetensors_load(g, path);
    const char *msg = glia_last_error();
    int ok = 1;
    if (s != want) {
        test_fail(file, line, "load of %s: status %s, expected %s (%s)", path, glia_status_name(s),
                  glia_status_name(want), s ? msg : "no error");
        ok = 0;
    } else if (!strstr(msg, path)) {
        test_fail(file, line, "message does not name the path: %s", msg);
        ok = 0;
    } else if ((frag1 && !strstr(msg, frag1)) || (frag2 && !strstr(msg, frag2))) {
        test_fail(file, line, "message lacks '%s' / '%s': %s", frag1 ? frag1 : "",
                  frag2 ? frag2 : "", msg);
        ok = 0;
    } else if (!same_as(g, snap)) {
        test_fail(file, line, "a failed load changed the graph (%s)", msg);
        ok = 0;
    }
    free(snap);
    return ok;
}
#define LOAD_FAILS(g, path, want, f1, f2) \
    do { if (!load_fails(g, path, want, f1, f2, __FILE__, __LINE__)) goto out; } while (0)

/* Writes a file with this header and data, then LOAD_FAILS. */
#define CRAFT_FAILS(header, data, n, want, f1, f2)                                      \
    do {                                                                                \
        CHECK_MSG(write_st(path, header, data, n), "cannot write %s", path);            \
        LOAD_FAILS(g, path, want, f1, f2);                                              \
    } while (0)

/* ------------------------------------------------------------------ round trips */

TEST(safetensors_roundtrip_cnn) {
    char dir[512], path[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    cnn a, b;
    OK(cnn_new(&a, 7));
    OK(cnn_new(&b, 0));
    OK(glia_safetensors_save(a.g, path));
    CHECK(count_tmp_files(dir) == 0);
    float *want = snapshot(a.g, NULL);
    CHECK(!same_as(b.g, want)); /* b starts different (zeros), so the load has work to do */
    OK(glia_safetensors_load(b.g, path));
    CHECK_MSG(same_as(b.g, want), "loaded values differ from the saved ones");

    /* the file: 8-byte aligned header, size = 8 + N + 4 * (params + buffers), no input */
    size_t n;
    unsigned char *file = read_all(path, &n);
    CHECK(file && n >= 8);
    uint64_t hlen = get_le64(file);
    CHECK_MSG(hlen % 8 == 0, "header length %llu is not a multiple of 8", (unsigned long long)hlen);
    CHECK(hlen < n);
    int64_t numel;
    free(snapshot(a.g, &numel));
    CHECK(numel == 108 + 4 + 4 * 4 + 720 + 5);
    CHECK_MSG(n == 8 + hlen + 4 * (uint64_t)numel, "file %zu bytes, header %llu", n,
              (unsigned long long)hlen);
    char *hdr = calloc(1, hlen + 1);
    memcpy(hdr, file + 8, hlen);
    CHECK(hdr[0] == '{' && (hdr[hlen - 1] == ' ' || hdr[hlen - 1] == '}'));
    CHECK(strstr(hdr, "\"__metadata__\":{\"format\":\"pt\",\"producer\":\"glia\"}"));
    CHECK(strstr(hdr, "\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[4,3,3,3],\"data_offsets\":[0,432]}"));
    CHECK(strstr(hdr, "\"conv1.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[432,448]}"));
    CHECK(strstr(hdr, "\"bn1.running_var\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[496,512]}"));
    CHECK(strstr(hdr, "\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[3392,3412]}"));
    CHECK(!strstr(hdr, "\"x\"") && !strstr(hdr, "\"conv1\"") && !strstr(hdr, "\"fc\""));
    /* the first data bytes are conv1.weight[0], little-endian */
    float w0;
    uint32_t bits = (uint32_t)file[8 + hlen] | (uint32_t)file[9 + hlen] << 8 |
                    (uint32_t)file[10 + hlen] << 16 | (uint32_t)file[11 + hlen] << 24;
    memcpy(&w0, &bits, 4);
    CHECK(w0 == glia_node_value(a.g, a.cw)[0]);

    /* saving again over the file replaces it */
    fill_node(a.g, a.fw, 999);
    OK(glia_safetensors_save(a.g, path));
    CHECK(count_tmp_files(dir) == 0);
    OK(glia_safetensors_load(b.g, path));
    free(want);
    want = snapshot(a.g, NULL);
    CHECK(same_as(b.g, want));
    /* the loaded graph still runs */
    OK(glia_graph_forward(b.g));
    free(hdr);
    free(file);
    free(want);
    glia_graph_free(a.g);
    glia_graph_free(b.g);
    remove_tmpdir(dir);
}

TEST(safetensors_roundtrip_special_names_and_values) {
    /* names JSON must escape, a scalar, a 1-element tensor, special float values */
    char dir[512], path[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/odd.safetensors", dir);
    glia_graph *a, *b;
    int pa[4], pb[4];
    const char *names[4] = {"quote\"back\\slash", "tab\there", "caf\xc3\xa9.w", "scalar"};
    OK(glia_graph_new(&a));
    OK(glia_graph_new(&b));
    for (int i = 0; i < 4; i++) {
        int nd = i == 3 ? 0 : 1;
        OK(glia_param(a, names[i], nd, (int64_t[]){5}, &pa[i]));
        OK(glia_param(b, names[i], nd, (int64_t[]){5}, &pb[i]));
    }
    float *v = glia_node_value(a, pa[0]);
    v[0] = INFINITY; v[1] = -INFINITY; v[2] = -0.0f; v[3] = 1e-45f; v[4] = NAN;
    fill_node(a, pa[1], 1);
    fill_node(a, pa[2], 2);
    glia_node_value(a, pa[3])[0] = 3.25f;
    OK(glia_safetensors_save(a, path));
    OK(glia_safetensors_load(b, path));
    float *want = snapshot(a, NULL);
    CHECK_MSG(same_as(b, want), "values differ after a round trip");
    size_t n;
    unsigned char *file = read_all(path, &n);
    CHECK(file && n > 8);
    CHECK(strstr((char *)file + 8, "\"quote\\\"back\\\\slash\":"));
    CHECK(strstr((char *)file + 8, "\"tab\\u0009here\":"));
    CHECK(strstr((char *)file + 8, "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\""));
    free(file);
    free(want);
    glia_graph_free(a);
    glia_graph_free(b);
    remove_tmpdir(dir);
}

TEST(safetensors_empty_graph) {
    char dir[512], path[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    glia_graph *g;
    int x;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){1, 3}, &x));
    OK(glia_safetensors_save(g, path));
    OK(glia_safetensors_load(g, path));
    size_t n;
    unsigned char *file = read_all(path, &n);
    CHECK(file && n == 8 + get_le64(file) && n % 8 == 0);
    free(file);
    glia_graph_free(g);
    remove_tmpdir(dir);
}

TEST(safetensors_handmade_files_load) {
    /* the layouts other writers produce: any tensor order, spaces, \u escapes, unknown keys,
     * metadata absent or null, no padding */
    char dir[512], path[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/hand.safetensors", dir);
    glia_graph *g;
    int w, rm;
    OK(small_new(&g, &w, &rm));
    const char *headers[] = {
        "{" HDR_W "," HDR_RM "}",
        "{" HDR_RM "," HDR_W "}",
        " { \"__metadata__\" : null , \"\\u0077\" : { \"data_offsets\" : [ 0 , 16 ] , \"shape\" :"
        " [2,2], \"dtype\":\"F32\", \"extra\": {\"a\": [1, -2.5e3, true, false, null]} },\r\n\t"
        HDR_RM " }        ",
        "{\"__metadata__\":{},\"r\\u006d\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
        HDR_W "}",
    };
    for (int i = 0; i < 4; i++) {
        fill_node(g, w, 50 + (uint64_t)i);
        CHECK(write_st(path, headers[i], SIX, sizeof SIX));
        glia_status s = glia_safetensors_load(g, path);
        CHECK_MSG(s == GLIA_OK, "header %d: %s", i, glia_last_error());
        CHECK(memcmp(glia_node_value(g, w), SIX, 16) == 0);
        CHECK(memcmp(glia_node_value(g, rm), SIX + 4, 8) == 0);
    }
    glia_graph_free(g);
    remove_tmpdir(dir);
}

static void put_le16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }

TEST(safetensors_converts_f16_bf16_f64) {
    char dir[512], path[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/conv.safetensors", dir);
    glia_graph *g;
    int w, rm;
    OK(small_new(&g, &w, &rm));
    /* w as F64 (32 bytes), rm as F16 (4 bytes) */
    unsigned char data[40];
    const double wd[4] = {1.5, -2.25, 1e-3, 3e38};
    for (int i = 0; i < 4; i++) {
        uint64_t bits;
        memcpy(&bits, &wd[i], 8);
        put_le64(data + 8 * i, bits);
    }
    put_le16(data + 32, 0x3C00); /* 1.0 */
    put_le16(data + 34, 0x0001); /* 2^-24, the smallest subnormal */
    CHECK(write_st(path, "{\"w\":{\"dtype\":\"F64\",\"shape\":[2,2],\"data_offsets\":[0,32]},"
                         "\"rm\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[32,36]}}",
                   data, 36));
    OK(glia_safetensors_load(g, path));
    const float *v = glia_node_value(g, w), *r = glia_node_value(g, rm);
    CHECK(v[0] == 1.5f && v[1] == -2.25f && v[2] == (float)1e-3 && v[3] == 3e38f);
    CHECK(r[0] == 1.0f && r[1] == ldexpf(1.0f, -24));
    /* rm as F16 specials, w as BF16 */
    put_le16(data + 0, 0x3F80);  /* bf16 1.0 */
    put_le16(data + 2, 0xC0A0);  /* bf16 -5.0 */
    put_le16(data + 4, 0x7F80);  /* bf16 inf */
    put_le16(data + 6, 0x0000);
    put_le16(data + 8, 0xFC00);  /* f16 -inf */
    put_le16(data + 10, 0x7BFF); /* f16 65504, the largest */
    CHECK(write_st(path, "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                         "\"rm\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[8,12]}}",
                   data, 12));
    OK(glia_safetensors_load(g, path));
    CHECK(v[0] == 1.0f && v[1] == -5.0f && isinf(v[2]) && v[2] > 0 && v[3] == 0.0f);
    CHECK(isinf(r[0]) && r[0] < 0 && r[1] == 65504.0f);
    glia_graph_free(g);
    remove_tmpdir(dir);
}

TEST(safetensors_loads_pytorch_file) {
    /* tests/golden/st_from_pytorch.safetensors: nn.Linear(4, 3)'s state dict, written by
     * scripts/safetensors_check.py from PyTorch; its .txt holds the values and fc(x). */
    const char *dir = getenv("GLIA_GOLDEN_DIR");
    char path[512];
    snprintf(path, sizeof path, "%s/st_from_pytorch.safetensors", dir ? dir : "tests/golden");
    golden *gd = golden_load("st_from_pytorch");
    CHECK(gd);
    glia_shape ws, bs, xs, ys;
    const float *gw = golden_get(gd, "fc.weight", &ws), *gb = golden_get(gd, "fc.bias", &bs);
    const float *gx = golden_get(gd, "x", &xs), *gy = golden_get(gd, "y", &ys);
    CHECK(gw && gb && gx && gy);
    glia_graph *g;
    int x, w, b, y;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "x", 2, (int64_t[]){2, 4}, &x));
    OK(glia_param(g, "fc.weight", 2, (int64_t[]){3, 4}, &w));
    OK(glia_param(g, "fc.bias", 1, (int64_t[]){3}, &b));
    OK(glia_dense(g, "fc", x, w, b, &y));
    OK(glia_safetensors_load(g, path));
    CHECK(glia_shape_numel(&ws) == 12 && glia_shape_numel(&bs) == 3);
    for (int i = 0; i < 12; i++) CHECK(glia_node_value(g, w)[i] == gw[i]); /* %.9g is exact */
    for (int i = 0; i < 3; i++) CHECK(glia_node_value(g, b)[i] == gb[i]);
    OK(glia_graph_compile(g, 0));
    OK(glia_node_set(g, x, gx, 8));
    OK(glia_graph_forward(g));
    for (int i = 0; i < 6; i++) CHECK_NEAR(glia_node_value(g, y)[i], gy[i], 1e-6);
    glia_graph_free(g);
    golden_free(gd);
}

/* ------------------------------------------------------------------ errors */

TEST(safetensors_error_truncated) {
    char dir[512], path[600], cut[640];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/full.safetensors", dir);
    snprintf(cut, sizeof cut, "%s/cut.safetensors", dir);
    cnn a, b;
    OK(cnn_new(&a, 3));
    OK(cnn_new(&b, 4));
    OK(glia_safetensors_save(a.g, path));
    size_t n;
    unsigned char *file = read_all(path, &n);
    CHECK(file && n > 100);
    size_t hlen = (size_t)get_le64(file);
    const size_t lens[] = {0, 1, 7, 8, 9, 8 + hlen / 2, 8 + hlen - 1, 8 + hlen, 8 + hlen + 1,
                           8 + hlen + 431, 8 + hlen + 432, n - 4, n - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        CHECK(write_raw(cut, file, lens[i]));
        const char *frag = lens[i] < 8 ? "too short for the 8-byte header length"
                         : lens[i] < 8 + hlen ? "header length"
                         : lens[i] < 8 + hlen + 432 ? "'conv1.weight'"
                         : lens[i] >= n - 20 ? "'fc.bias'" : NULL;
        if (!load_fails(b.g, cut, GLIA_EIO, frag, NULL, __FILE__, __LINE__)) {
            fprintf(stderr, "  (file cut to %zu of %zu bytes)\n", lens[i], n);
            goto out;
        }
    }
    /* the full file loads (the control) */
    OK(glia_safetensors_load(b.g, path));
out:
    free(file);
    glia_graph_free(a.g);
    glia_graph_free(b.g);
    remove_tmpdir(dir);
}

TEST(safetensors_error_header_length) {
    char dir[512], path[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/len.safetensors", dir);
    glia_graph *g;
    int w, rm;
    OK(small_new(&g, &w, &rm));
    const char *hdr = "{" HDR_W "," HDR_RM "}";
    uint64_t h = strlen(hdr);
    /* the control: the right length loads */
    CHECK(write_st_len(path, h, hdr, SIX, 24));
    OK(glia_safetensors_load(g, path));
    fill_node(g, w, 77);
    /* longer than the file, absurd, huge */
    CHECK(write_st_len(path, h + 25, hdr, SIX, 24));
    LOAD_FAILS(g, path, GLIA_EIO, "header length", "more than");
    CHECK(write_st_len(path, 200000000, hdr, SIX, 24));
    LOAD_FAILS(g, path, GLIA_EIO, "header length 200000000", "limit");
    CHECK(write_st_len(path, UINT64_MAX - 3, hdr, SIX, 24));
    LOAD_FAILS(g, path, GLIA_EIO, "header length", "limit");
    /* shorter: the JSON is cut, or the data is mistaken for header */
    CHECK(write_st_len(path, h - 1, hdr, SIX, 24));
    LOAD_FAILS(g, path, GLIA_EIO, "malformed header JSON", NULL);
    CHECK(write_st_len(path, 0, hdr, SIX, 24));
    LOAD_FAILS(g, path, GLIA_EIO, "malformed header JSON at byte 0", NULL);
    CHECK(write_st_len(path, h + 8, hdr, SIX, 24));
    LOAD_FAILS(g, path, GLIA_EIO, "malformed header JSON", NULL);
out:
    glia_graph_free(g);
    remove_tmpdir(dir);
}

TEST(safetensors_error_bad_json) {
    char dir[512], path[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/json.safetensors", dir);
    glia_graph *g;
    int w, rm;
    OK(small_new(&g, &w, &rm));
    static const struct { const char *header, *frag; } cases[] = {
        {"{\"w\" \"x\"}", "at byte 5 of the header (file offset 13): expected ':'"},
        {"[" HDR_W "]", "at byte 0 "},
        {"{" HDR_W "," HDR_RM, "end of the header"},
        {"{" HDR_W "," HDR_RM "} x", "at byte 114 "},
        {"{" HDR_W ",," HDR_RM "}", "at byte 57 "},
        {"{" HDR_W "," HDR_RM ",}", "at byte 113 "},
        {"{\"w\":{\"dtype\":\"F32\" \"shape\":[2,2]}}", "expected ',' or '}'"},
        {"{\"w\":{\"dtype\":F32}}", "dtype must be a string"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,16]}}", "negative"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2.0],\"data_offsets\":[0,16]}}", "integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2e0],\"data_offsets\":[0,16]}}", "integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[02,2],\"data_offsets\":[0,16]}}", "leading zero"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,99999999999999999999]}}", "too large"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", "more than 8"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16,24]}}", "more than 2"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16]}}", "2 numbers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,16]}}", "shape must be an array"},
        {"{\"w\":[]}", "tensor entry must be an object"},
        {"{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", "appears twice"},
        {"{\"__metadata__\":{\"a\":1}}", "values must be strings"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", "appears twice"},
        {"{\"w\\q\":{}}", "bad escape"},
        {"{\"w\\u12\":{}}", "escape"},
        {"{\"w\\ud800\":{}}", "surrogate"},
        {"{\"w\\udc00\":{}}", "surrogate"},
        {"{\"w\\u0000\":{}}", "NUL"},
        {"{\"w\n\":{}}", "control character"},
        {"{\"w\xff\":{}}", "UTF-8"},
        {"{\"w\xc0\xaf\":{}}", "UTF-8"},
        {"{\"w\":{\"x\":tru}}", "bad literal"},
        {"{\"w\":{\"x\":-}}", "expected a number, found '-'"},
        {"{\"w\":{\"x\":1.}}", "expected a number, found '1.'"},
        {"{\"w\":{\"x\":{\"a\" 1}}}", "expected ':'"},
        {"", "at byte 0 "},
        {"        ", "at byte 8 "},
        {"{\"w", "unterminated string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(write_st(path, cases[i].header, SIX, 24));
        if (!load_fails(g, path, GLIA_EIO, "malformed header JSON", cases[i].frag, __FILE__, __LINE__)) {
            fprintf(stderr, "  (case %zu: %s)\n", i, cases[i].header);
            goto out;
        }
    }
    /* deep nesting is refused, not a stack overflow */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 64);
    CHECK(deep);
    strcpy(deep, "{\"w\":{\"x\":");
    size_t k = strlen(deep);
    memset(deep + k, '[', depth);
    memset(deep + k + depth, ']', depth);
    strcpy(deep + k + 2 * depth, "}}");
    int ok = write_st(path, deep, SIX, 24);
    free(deep);
    CHECK(ok);
    LOAD_FAILS(g, path, GLIA_EIO, "nested too deeply", NULL);
out:
    glia_graph_free(g);
    remove_tmpdir(dir);
}

TEST(safetensors_error_entries) {
    char dir[512], path[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/entries.safetensors", dir);
    glia_graph *g;
    int w, rm;
    OK(small_new(&g, &w, &rm));
    /* control */
    CHECK(write_st(path, "{" HDR_W "," HDR_RM "}", SIX, 24));
    OK(glia_safetensors_load(g, path));
    CHECK(memcmp(glia_node_value(g, w), SIX, 16) == 0);
    fill_node(g, w, 5);
    fill_node(g, rm, 6);
    const float seven[7] = {1, 2, 3, 4, 5, 6, 7};
    /* a missing field */
    CRAFT_FAILS("{\"w\":{\"shape\":[2,2],\"data_offsets\":[0,16]}," HDR_RM "}", SIX, 24, GLIA_EIO,
                "'w'", "no \"dtype\"");
    CRAFT_FAILS("{" HDR_W ",\"rm\":{\"dtype\":\"F32\",\"data_offsets\":[16,24]}}", SIX, 24, GLIA_EIO,
                "'rm'", "no \"shape\"");
    CRAFT_FAILS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2]}," HDR_RM "}", SIX, 24, GLIA_EIO, "'w'",
                "no \"data_offsets\"");
    /* dtypes */
    CRAFT_FAILS("{\"w\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}," HDR_RM "}",
                SIX, 24, GLIA_EIO, "tensor 'w' has dtype 'I64'", "F32");
    CRAFT_FAILS("{" HDR_W ",\"rm\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[16,24]}}",
                SIX, 24, GLIA_EIO, "'rm' has dtype 'f32'", "not supported");
    /* offsets: end before begin, size mismatch, past the end, overlap, gap, trailing bytes */
    CRAFT_FAILS("{" HDR_W ",\"rm\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,16]}}",
                SIX, 24, GLIA_EIO, "'rm'", "before the beginning");
    CRAFT_FAILS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}," HDR_RM "}",
                SIX, 24, GLIA_EIO, "'w'", "need 16 bytes");
    CRAFT_FAILS("{\"w\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,16]}," HDR_RM "}",
                SIX, 24, GLIA_EIO, "'w'", "dtype F16 and shape [2, 2] need 8 bytes");
    CRAFT_FAILS("{" HDR_W ",\"rm\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}",
                SIX, 24, GLIA_EIO, "'rm'", "past the end");
    CRAFT_FAILS("{" HDR_W ",\"rm\":{\"dtype\":\"F32\",\"shape\":[2],"
                "\"data_offsets\":[4611686018427387800,4611686018427387808]}}",
                SIX, 24, GLIA_EIO, "'rm'", "past the end");
    CRAFT_FAILS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387903,2],"
                "\"data_offsets\":[0,16]}," HDR_RM "}", SIX, 24, GLIA_EIO, "'w'", "too many elements");
    CRAFT_FAILS("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693951,2],"
                "\"data_offsets\":[0,16]}," HDR_RM "}", SIX, 24, GLIA_EIO, "'w'", "need over 2^62 bytes");
    CRAFT_FAILS("{" HDR_W ",\"rm\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                SIX, 16, GLIA_EIO, "'w' [0, 16] and 'rm' [8, 16] overlap", NULL);
    CRAFT_FAILS("{" HDR_W ",\"rm\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                SIX, 16, GLIA_EIO, "overlap", "'w'");
    CRAFT_FAILS("{" HDR_W ",\"rm\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]}}",
                seven, 28, GLIA_EIO, "bytes [16, 20)", "'rm'");
    CRAFT_FAILS("{" HDR_W "," HDR_RM "}", seven, 28, GLIA_EIO, "4 bytes after the last tensor", NULL);
    /* matching the graph: missing, extra, renamed, duplicate, wrong shape */
    CRAFT_FAILS("{" HDR_W "}", SIX, 16, GLIA_EIO, "buffer 'rm' [2] is not in the file", NULL);
    CRAFT_FAILS("{" HDR_RM ",\"w2\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}",
                SIX, 24, GLIA_EIO, "parameter 'w' [2, 2] is not in the file", "has tensor 'w2'");
    CRAFT_FAILS("{" HDR_W "," HDR_RM ",\"extra.bias\":{\"dtype\":\"F32\",\"shape\":[1],"
                "\"data_offsets\":[24,28]}}", seven, 28, GLIA_EIO, "tensor 'extra.bias'", "strict");
    CRAFT_FAILS("{" HDR_W "," HDR_RM ",\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}",
                SIX, 24, GLIA_EIO, "'w' appears twice", NULL);
    CRAFT_FAILS("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}," HDR_RM "}",
                SIX, 24, GLIA_ESHAPE, "'w' has shape [4] in the file", "[2, 2]");
    CRAFT_FAILS("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                "\"rm\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[16,24]}}",
                SIX, 24, GLIA_ESHAPE, "'rm' has shape [2, 1]", "buffer has shape [2]");
    /* a graph with a parameter more than the file: missing, named */
    int extra;
    OK(glia_param(g, "head.weight", 1, (int64_t[]){3}, &extra));
    CRAFT_FAILS("{" HDR_W "," HDR_RM "}", SIX, 24, GLIA_EIO, "'head.weight' [3] is not in the file",
                NULL);
out:
    glia_graph_free(g);
    remove_tmpdir(dir);
}

TEST(safetensors_error_paths) {
    char dir[512], path[600], sub[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    glia_graph *g;
    int w, rm;
    OK(small_new(&g, &w, &rm));
    /* loading: missing file, a directory */
    snprintf(path, sizeof path, "%s/absent.safetensors", dir);
    LOAD_FAILS(g, path, GLIA_EIO, "cannot open", NULL);
    LOAD_FAILS(g, dir, GLIA_EIO, "directory", NULL);
    /* saving into a missing directory */
    snprintf(path, sizeof path, "%s/no/such/dir/w.safetensors", dir);
    CHECK(glia_safetensors_save(g, path) == GLIA_EIO);
    CHECK_MSG(strstr(glia_last_error(), path), "%s", glia_last_error());
    /* saving over a directory: the rename fails and the temporary file is removed */
    snprintf(sub, sizeof sub, "%s/taken.safetensors", dir);
    CHECK(mkdir(sub, 0700) == 0);
    glia_status s = glia_safetensors_save(g, sub);
    int left = count_tmp_files(dir);
    rmdir(sub);
    CHECK(s == GLIA_EIO);
    CHECK_MSG(strstr(glia_last_error(), sub) && strstr(glia_last_error(), "rename"), "%s",
              glia_last_error());
    CHECK_MSG(left == 0, "%d temporary files left after a failed save", left);
    /* NULL arguments */
    CHECK(glia_safetensors_save(NULL, path) == GLIA_EINVAL);
    CHECK(glia_safetensors_save(g, NULL) == GLIA_EINVAL);
    CHECK(glia_safetensors_load(NULL, path) == GLIA_EINVAL);
    CHECK(glia_safetensors_load(g, NULL) == GLIA_EINVAL);
    /* a node name the format reserves */
    int m;
    OK(glia_param(g, "__metadata__", 1, (int64_t[]){1}, &m));
    snprintf(path, sizeof path, "%s/reserved.safetensors", dir);
    CHECK(glia_safetensors_save(g, path) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "__metadata__"));
    CHECK(count_tmp_files(dir) == 0);
out:
    glia_graph_free(g);
    remove_tmpdir(dir);
}

/* Random corruptions of a valid file: every load must fail cleanly (graph unchanged) or
 * succeed; under the sanitizer build any out-of-bounds read or leak fails the run. */
TEST(safetensors_fuzz_mutations) {
    char dir[512], path[600], bad[640];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/seed.safetensors", dir);
    snprintf(bad, sizeof bad, "%s/mutant.safetensors", dir);
    glia_graph *g;
    int w, rm;
    OK(small_new(&g, &w, &rm));
    OK(glia_safetensors_save(g, path));
    size_t n;
    unsigned char *file = read_all(path, &n);
    CHECK(file && n > 16);
    unsigned char *m = malloc(n + 64);
    glia_rng r;
    glia_rng_seed(&r, 2024, 1);
    int failures = 0, successes = 0;
    for (int it = 0; it < 3000; it++) {
        size_t len = n;
        memcpy(m, file, n);
        int edits = 1 + (int)glia_rng_below(&r, 4);
        for (int e = 0; e < edits; e++) {
            uint32_t kind = glia_rng_below(&r, 4);
            size_t at = glia_rng_below(&r, (uint32_t)len);
            if (kind == 0) m[at] = (unsigned char)glia_rng_u32(&r);              /* random byte */
            else if (kind == 1) m[at] ^= (unsigned char)(1u << glia_rng_below(&r, 8)); /* bit */
            else if (kind == 2) len = at;                                       /* truncate */
            else m[at] = "{}[]\",:0123456789-eE\\ u"[glia_rng_below(&r, 24)];   /* JSON byte */
            if (!len) break;
        }
        CHECK(write_raw(bad, m, len));
        float *snap = snapshot(g, NULL);
        glia_status s = glia_safetensors_load(g, bad);
        int same = same_as(g, snap);
        free(snap);
        if (s == GLIA_OK) { successes++; continue; }
        failures++;
        CHECK_MSG(same, "iteration %d: a failed load changed the graph: %s", it, glia_last_error());
        CHECK_MSG(strstr(glia_last_error(), bad), "iteration %d: %s", it, glia_last_error());
    }
    CHECK(failures > 1000); /* most mutants are broken */
    free(m);
    free(file);
    glia_graph_free(g);
    remove_tmpdir(dir);
}

/* ------------------------------------------------------------------ entry lists + metadata */

TEST(safetensors_entries_and_metadata) {
    char dir[256], path[512];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/e.safetensors", dir);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {-1, 0.5f}, ra[6] = {0}, rb[2] = {0};
    glia_st_entry w[2] = {{.name = "opt.a", .shape = {2, {2, 3}}, .data = a},
                          {.name = "step \"b\"", .shape = {1, {2}}, .data = b}};
    const char *meta[] = {"epoch", "3", "rng", "0123456789abcdef:\n\"x\""};
    OK(glia_safetensors_write(path, w, 2, meta, 2));
    glia_st_entry r[2] = {{.name = "step \"b\"", .shape = {1, {2}}, .data = rb},
                          {.name = "opt.a", .shape = {2, {2, 3}}, .data = ra}};
    glia_st_meta m;
    OK(glia_safetensors_read(path, r, 2, &m));
    CHECK(!memcmp(a, ra, sizeof a) && !memcmp(b, rb, sizeof b));
    CHECK(m.n == 2 && glia_st_meta_get(&m, "epoch") && !strcmp(glia_st_meta_get(&m, "epoch"), "3"));
    CHECK(!strcmp(glia_st_meta_get(&m, "rng"), "0123456789abcdef:\n\"x\""));
    CHECK(glia_st_meta_get(&m, "nope") == NULL);
    glia_st_meta_free(&m);
    /* asking for a tensor the file lacks names it, with the entry's label; data untouched */
    float rc[1] = {7};
    glia_st_entry r3[3] = {r[0], r[1], {.name = "opt.c", .shape = {1, {1}}, .data = rc, .what = "optimizer state"}};
    CHECK(glia_safetensors_read(path, r3, 3, &m) != GLIA_OK);
    CHECK_MSG(strstr(glia_last_error(), "optimizer state 'opt.c'"), "%s", glia_last_error());
    CHECK(m.n == 0 && rc[0] == 7);
    /* and a file tensor nobody asked for is an error too */
    CHECK(glia_safetensors_read(path, r, 1, NULL) != GLIA_OK);
    CHECK_MSG(strstr(glia_last_error(), "opt.a"), "%s", glia_last_error());
    remove_tmpdir(dir);
}

/* ------------------------------------------------------------------ a device without host memory */

/* Weights of a graph compiled on the reference device (no host memory: values reached only
 * through the device's copies) after one training step: saved, then loaded into the cpu device,
 * into a reference graph compiled and not yet compiled, and as checkpoint-style entries (graph
 * nodes beside host arrays); a failed load leaves the device's values as they were. */
TEST(safetensors_device_without_host_memory) {
    char dir[512], path[600], epath[600];
    CHECK(make_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/weights.safetensors", dir);
    snprintf(epath, sizeof epath, "%s/entries.safetensors", dir);
    cnn a = {0}, b = {0}, c = {0}, d = {0};
    float *want = NULL, *got = NULL, x[2 * 3 * 8 * 8], seed[10];
    glia_optim *o = NULL;
    OK(cnn_new(&a, 7));
    OK(glia_graph_set_device(a.g, "reference"));
    OK(glia_graph_compile(a.g, GLIA_COMPILE_BACKWARD));
    CHECK(glia_node_value(a.g, a.fw) == NULL); /* the values are in the device's memory */
    fill_uniform(x, 2 * 3 * 8 * 8, -1, 1, 5);
    fill_uniform(seed, 10, -1, 1, 6);
    OK(glia_node_write(a.g, a.x, x, 2 * 3 * 8 * 8));
    glia_optim_config oc = {.kind = GLIA_SGD, .lr = 0.1f};
    OK(glia_optim_new(a.g, &oc, &o));
    glia_graph_set_training(a.g, 1); /* the step also moves the running statistics (buffers) */
    OK(glia_graph_forward(a.g));
    OK(glia_graph_backward(a.g, a.y, seed, 0));
    OK(glia_optim_step(o));
    OK(glia_node_write(a.g, a.fb, (const float[]){1, -2, 3, -4, 5}, 5));
    CHECK((want = snapshot(a.g, NULL)) != NULL);
    OK(glia_safetensors_save(a.g, path));

    /* into the cpu device: bit for bit, read through the node pointers too */
    OK(cnn_new(&b, 0));
    OK(glia_safetensors_load(b.g, path));
    CHECK_MSG(same_as(b.g, want), "the cpu graph loaded other values than the reference one saved");
    CHECK(glia_node_value(b.g, a.fb) && glia_node_value(b.g, a.fb)[3] == -4);

    /* into a reference graph, compiled (the device's copies) and not (values still at home) */
    OK(cnn_new(&c, 0));
    OK(glia_graph_set_device(c.g, "reference"));
    OK(glia_graph_compile(c.g, GLIA_COMPILE_BACKWARD));
    OK(glia_safetensors_load(c.g, path));
    CHECK(same_as(c.g, want));
    OK(cnn_new(&d, 0));
    OK(glia_graph_set_device(d.g, "reference"));
    OK(glia_safetensors_load(d.g, path));
    OK(glia_graph_compile(d.g, GLIA_COMPILE_BACKWARD));
    CHECK(same_as(d.g, want));
    OK(glia_graph_set_device(d.g, "cpu")); /* the device's copies brought home */
    CHECK(same_as(d.g, want));
    /* the loaded graphs run alike (training mode: some running variances are negative) */
    float yb[10], yc[10];
    glia_graph_set_training(b.g, 1);
    glia_graph_set_training(c.g, 1);
    OK(glia_node_write(b.g, b.x, x, 2 * 3 * 8 * 8));
    OK(glia_node_write(c.g, c.x, x, 2 * 3 * 8 * 8));
    OK(glia_graph_forward(b.g));
    OK(glia_graph_forward(c.g));
    OK(glia_node_read(b.g, b.y, yb, 10));
    OK(glia_node_read(c.g, c.y, yc, 10));
    for (int i = 0; i < 10; i++) CHECK_MSG(fabsf(yb[i] - yc[i]) <= 1e-5f * (1 + fabsf(yb[i])), "y[%d]: %g vs %g", i, yb[i], yc[i]);

    /* a failed load (a tensor of another shape) leaves the device's values unchanged */
    glia_graph_free(c.g);
    OK(cnn_new(&c, 3));
    OK(glia_graph_set_device(c.g, "reference"));
    OK(glia_graph_compile(c.g, GLIA_COMPILE_BACKWARD));
    snprintf(epath, sizeof epath, "%s/short.safetensors", dir);
    const char *hdr = "{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
    CHECK(write_st(epath, hdr, SIX, 16));
    {
        glia_graph *g = c.g;
        LOAD_FAILS(g, epath, GLIA_EIO, "conv1.weight", NULL);
    }

    /* entries, as a checkpoint lists them: nodes of a reference graph beside a host array */
    snprintf(epath, sizeof epath, "%s/entries.safetensors", dir);
    float host[3] = {0.5f, -1.5f, 2.5f}, host2[3] = {0};
    glia_st_entry w[3] = {{.name = "fc.weight", .shape = {2, {5, 144}}, .graph = a.g, .node = a.fw},
                          {.name = "opt.m", .shape = {1, {3}}, .data = host},
                          {.name = "bn1.running_var", .shape = {1, {4}}, .graph = a.g, .node = a.rv}};
    OK(glia_safetensors_write(epath, w, 3, NULL, 0));
    glia_st_entry r[3] = {{.name = "opt.m", .shape = {1, {3}}, .data = host2},
                          {.name = "bn1.running_var", .shape = {1, {4}}, .graph = c.g, .node = c.rv},
                          {.name = "fc.weight", .shape = {2, {5, 144}}, .graph = c.g, .node = c.fw}};
    OK(glia_safetensors_read(epath, r, 3, NULL));
    CHECK(!memcmp(host, host2, sizeof host));
    got = malloc(720 * sizeof *got);
    float *ref = malloc(720 * sizeof *ref);
    CHECK(got && ref);
    OK(glia_node_read(c.g, c.fw, got, 720));
    OK(glia_node_read(a.g, a.fw, ref, 720));
    CHECK(!memcmp(got, ref, 720 * sizeof *got));
    OK(glia_node_read(c.g, c.rv, got, 4));
    OK(glia_node_read(a.g, a.rv, ref, 4));
    CHECK(!memcmp(got, ref, 4 * sizeof *got));
    free(ref);
    /* a node entry must match its node, and name one */
    glia_st_entry bad = {.name = "fc.weight", .shape = {2, {5, 143}}, .graph = a.g, .node = a.fw};
    CHECK(glia_safetensors_write(epath, &bad, 1, NULL, 0) == GLIA_ESHAPE);
    CHECK_MSG(strstr(glia_last_error(), "fc.weight") && strstr(glia_last_error(), epath), "%s",
              glia_last_error());
    bad.shape.dim[1] = 144;
    bad.node = 9999;
    CHECK(glia_safetensors_read(epath, &bad, 1, NULL) == GLIA_EINVAL);
    CHECK(count_tmp_files(dir) == 0);
out:
    glia_optim_free(o);
    free(want);
    free(got);
    glia_graph_free(a.g);
    glia_graph_free(b.g);
    glia_graph_free(c.g);
    glia_graph_free(d.g);
    remove_tmpdir(dir);
}
