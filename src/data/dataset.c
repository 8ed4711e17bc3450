/* dataset.c: image classification data sets (images [N, C, H, W] in [0, 1], labels [N], class
 * names), loaded by name (fashion-mnist, mnist) or from a directory of IDX files, and the
 * batch filler that normalises and augments. */
#include "../core/internal.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
/* The mnist digits have no test split of their own: a fixed permutation (this seed, whatever
 * the run's) puts 20% of them aside. */
#define MNIST_SPLIT_SEED 20161

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                              "Ankle boot"};

void glia_dataset_free(glia_dataset *d) {
    if (!d) return;
    glia_tensor_free(d->images);
    glia_tensor_free(d->labels);
    for (int i = 0; d->class_names && i < d->classes; i++) free(d->class_names[i]);
    free(d->class_names);
    free(d);
}

glia_status glia_dataset_new(glia_tensor *images, glia_tensor *labels, int classes,
                             const char *const *names, glia_dataset **out) {
    if (!out) { /* ownership passes also on failure (glia.h): freed, not leaked */
        glia_tensor_free(images);
        glia_tensor_free(labels);
        return glia__err(GLIA_EINVAL, "glia_dataset_new: out is NULL");
    }
    *out = NULL;
    glia_dataset *d = glia__calloc(1, sizeof *d);
    if (!d) {
        glia_tensor_free(images);
        glia_tensor_free(labels);
        return glia__err(GLIA_ENOMEM, "glia_dataset_new: out of memory");
    }
    d->images = images;
    d->labels = labels;
    if (!images || !labels) {
        glia_dataset_free(d);
        return glia__err(GLIA_EINVAL, "glia_dataset_new: NULL tensor");
    }
    char a[96], b[96];
    int64_t n = images->shape.ndim ? images->shape.dim[0] : 0;
    if (images->shape.ndim < 2 || labels->shape.ndim != 1 || labels->shape.dim[0] != n) {
        /* the message first: freeing d frees the tensors whose shapes it shows */
        glia_status s = glia__err(GLIA_ESHAPE, "data set: images %s and labels %s do not match "
                                  "(need images [N, ...] and labels [N])",
                                  glia_shape_str(&images->shape, a, sizeof a),
                                  glia_shape_str(&labels->shape, b, sizeof b));
        glia_dataset_free(d);
        return s;
    }
    if (n == 0) {
        glia_dataset_free(d);
        return glia__err(GLIA_EINVAL, "data set: it holds no images");
    }
    if (classes < 1) {
        glia_dataset_free(d);
        return glia__err(GLIA_EINVAL, "data set: %d classes", classes);
    }
    for (int64_t i = 0; i < n; i++) {
        float v = labels->data[i];
        if (!(v >= 0 && v < (float)classes) || v != floorf(v)) {
            glia_dataset_free(d);
            return glia__err(GLIA_ERANGE, "data set: label %g of sample %lld is not a class id in "
                             "[0, %d)", (double)v, (long long)i, classes);
        }
    }
    d->classes = classes;
    d->class_names = glia__calloc((size_t)classes, sizeof *d->class_names);
    for (int c = 0; d->class_names && c < classes; c++) {
        char num[16];
        snprintf(num, sizeof num, "%d", c);
        if (!(d->class_names[c] = glia__strdup(names && names[c] ? names[c] : num))) break;
    }
    if (!d->class_names || !d->class_names[classes - 1]) {
        glia_dataset_free(d);
        return glia__err(GLIA_ENOMEM, "data set: out of memory");
    }
    *out = d;
    return GLIA_OK;
}

/* DIR/PREFIX-images-idx3-ubyte[.gz] and the labels beside it; images [N, H, W] become
 * [N, 1, H, W] */
static glia_status load_idx_pair(const char *dir, const char *prefix, glia_tensor **x,
                                 glia_tensor **y) {
    char pi[1024], pl[1024];
    snprintf(pi, sizeof pi, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(pl, sizeof pl, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (access(pi, R_OK)) { /* raw files as an alternative */
        snprintf(pi, sizeof pi, "%s/%s-images-idx3-ubyte", dir, prefix);
        snprintf(pl, sizeof pl, "%s/%s-labels-idx1-ubyte", dir, prefix);
    }
    glia_status s = glia_idx_load(pi, 1.0f / 255, x);
    if (s) return s;
    if ((s = glia_idx_load(pl, 1.0f, y))) {
        glia_tensor_free(*x);
        *x = NULL;
        return s;
    }
    if ((*x)->shape.ndim == 3) {
        int64_t d[4] = {(*x)->shape.dim[0], 1, (*x)->shape.dim[1], (*x)->shape.dim[2]};
        glia_tensor_reshape(*x, 4, d);
    }
    if ((*x)->shape.ndim != 4) {
        char a[96];
        s = glia__err(GLIA_ESHAPE, "%s: images of shape %s; expected [N, H, W] or [N, C, H, W]",
                      pi, glia_shape_str(&(*x)->shape, a, sizeof a));
        glia_tensor_free(*x);
        glia_tensor_free(*y);
        *x = *y = NULL;
    }
    return s;
}

/* DIR/classes.txt: one name per line (what glia train writes with glia__write_lines); a line
 * ends at \n, a \r ends its name early (Windows line ends), trailing blanks are dropped; the
 * text after the last \n is a name if it is not empty. Absent: no names, not an error (a data
 * set's names are optional, a language model's run has none). */
glia_status glia_class_names_load(const char *dir, char ***names, int *n) {
    if (!names || !n) return glia__err(GLIA_EINVAL, "glia_class_names_load: NULL argument");
    *names = NULL;
    *n = 0;
    if (!dir) return glia__err(GLIA_EINVAL, "glia_class_names_load: NULL directory");
    char path[1024];
    if (snprintf(path, sizeof path, "%s/classes.txt", dir) >= (int)sizeof path)
        return glia__err(GLIA_EINVAL, "%s/classes.txt: path too long", dir);
    if (access(path, F_OK) != 0 && errno == ENOENT) return GLIA_OK;
    char *text;
    size_t len;
    glia_status s = glia__read_file_max(path, (size_t)16 << 20, &text, &len); /* names, not data */
    if (s) return s;
    int k = 0;
    for (size_t i = 0; i < len; i++) k += text[i] == '\n';
    if (len && text[len - 1] != '\n') k++; /* the last line, unterminated */
    char **v = k ? glia__calloc((size_t)k, sizeof *v) : NULL;
    if (k && !v) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    char *line = text, *end = text + len;
    for (int i = 0; !s && i < k; i++) {
        char *nl = memchr(line, '\n', (size_t)(end - line)), *next = nl ? nl + 1 : end;
        size_t L = strcspn(line, "\r\n");
        while (L && (line[L - 1] == ' ' || line[L - 1] == '\t')) L--;
        line[L] = 0;
        if (!(v[i] = glia__strdup(line))) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        line = next;
    }
    free(text);
    if (s) {
        glia_class_names_free(v, k);
        return s;
    }
    *names = v;
    *n = k;
    return GLIA_OK;
}

void glia_class_names_free(char **names, int n) {
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

static int max_label(const glia_tensor *y) {
    float m = 0;
    for (int64_t i = 0; i < glia_shape_numel(&y->shape); i++)
        if (y->data[i] > m && y->data[i] < 1e6f) m = y->data[i];
    return (int)m;
}

/* The mnist digits' split: the test set is the first 20% of a fixed permutation. */
static glia_status mnist_split(glia_tensor **x, glia_tensor **y, int test) {
    int64_t n = (*x)->shape.dim[0], per = glia_shape_numel(&(*x)->shape) / n;
    int64_t *perm = glia__malloc((size_t)n * sizeof *perm);
    if (!perm) return glia__err(GLIA_ENOMEM, "mnist: out of memory");
    glia_rng r;
    glia_rng_seed(&r, MNIST_SPLIT_SEED, 1);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)glia_rng_below(&r, (uint32_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    int64_t n_test = n / 5, from = test ? 0 : n_test, k = test ? n_test : n - n_test;
    glia_tensor *nx, *ny;
    int64_t dx[GLIA_MAX_DIMS];
    memcpy(dx, (*x)->shape.dim, sizeof dx);
    dx[0] = k;
    glia_status s = glia_tensor_new(&nx, (*x)->shape.ndim, dx);
    if (s) { free(perm); return s; }
    if ((s = glia_tensor_new(&ny, 1, &k))) { glia_tensor_free(nx); free(perm); return s; }
    for (int64_t i = 0; i < k; i++) {
        int64_t src = perm[from + i];
        memcpy(nx->data + i * per, (*x)->data + src * per, (size_t)per * sizeof(float));
        ny->data[i] = (*y)->data[src];
    }
    free(perm);
    glia_tensor_free(*x);
    glia_tensor_free(*y);
    *x = nx;
    *y = ny;
    return GLIA_OK;
}

glia_status glia_dataset_load(const char *name, const char *split, glia_dataset **out) {
    if (!name || !split || !out) return glia__err(GLIA_EINVAL, "glia_dataset_load: NULL argument");
    *out = NULL;
    int test = !strcmp(split, "test");
    if (!test && strcmp(split, "train"))
        return glia__err(GLIA_EINVAL, "data set %s: split '%s' is neither 'train' nor 'test'", name, split);
    glia_tensor *x = NULL, *y = NULL;
    glia_status s;
    if (!strcmp(name, "mnist")) {
        const char *root = getenv("GLIA_DATA");
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/mnist/digits", root && *root ? root : "data");
        if ((s = glia_mnist_json_load(dir, &x, &y)))
            return glia__err(s, "%s (fetch the digits with scripts/fetch-data mnist)", glia_last_error());
        if ((s = mnist_split(&x, &y, test))) {
            glia_tensor_free(x);
            glia_tensor_free(y);
            return s;
        }
        return glia_dataset_new(x, y, 10, NULL, out);
    }
    int fashion = !strcmp(name, "fashion-mnist");
    const char *dir = fashion ? FASHION_DIR : name;
    if ((s = load_idx_pair(dir, test ? "t10k" : "train", &x, &y))) {
        if (fashion)
            return glia__err(s, "%s (install Fashion-MNIST with scripts/fetch-data fashion-mnist)",
                             glia_last_error());
        return s;
    }
    if (fashion) return glia_dataset_new(x, y, 10, fashion_names, out);
    char **names;
    int n_names;
    if ((s = glia_class_names_load(dir, &names, &n_names))) {
        glia_tensor_free(x);
        glia_tensor_free(y);
        return s;
    }
    int classes = n_names ? n_names : max_label(y) + 1;
    s = glia_dataset_new(x, y, classes, (const char *const *)names, out);
    glia_class_names_free(names, n_names);
    if (s) return glia__err(s, "%s: %s", dir, glia_last_error());
    return GLIA_OK;
}

void glia_dataset_stats(const glia_dataset *d, const int64_t *idx, int64_t n, float *mean, float *std) {
    int64_t per = glia_shape_numel(&d->images->shape) / d->images->shape.dim[0];
    double s = 0, s2 = 0; /* double sums: 47 million pixels lose nothing */
    for (int64_t i = 0; i < n; i++) {
        const float *p = d->images->data + (idx ? idx[i] : i) * per;
        for (int64_t j = 0; j < per; j++) {
            s += p[j];
            s2 += (double)p[j] * p[j];
        }
    }
    double cnt = (double)n * (double)per, m = cnt > 0 ? s / cnt : 0, v = cnt > 0 ? s2 / cnt - m * m : 0;
    *mean = (float)m;
    *std = v > 1e-12 ? (float)sqrt(v) : 1.0f;
}

/* One image [C, H, W], shifted by (dy, dx) with zeros coming in, flipped if asked, normalised:
 * out(c, y, x) = src(c, y + dy, x' + dx) with x' = flip ? W-1-x : x. */
static void copy_image(const float *src, float *dst, int64_t C, int64_t H, int64_t W, int dy,
                       int dx, int flip, float mean, float inv_std) {
    float zero = (0 - mean) * inv_std;
    for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < H; y++) {
            int64_t sy = y + dy;
            float *o = dst + (c * H + y) * W;
            if (sy < 0 || sy >= H) {
                for (int64_t x = 0; x < W; x++) o[x] = zero;
                continue;
            }
            const float *row = src + (c * H + sy) * W;
            for (int64_t x = 0; x < W; x++) {
                int64_t sx = (flip ? W - 1 - x : x) + dx;
                o[x] = sx < 0 || sx >= W ? zero : (row[sx] - mean) * inv_std;
            }
        }
}

void glia_dataset_batch(const glia_dataset *d, const int64_t *idx, int64_t n, float mean,
                        float std, const glia_augment *aug, glia_rng *rng, float *x, float *y) {
    const glia_shape *s = &d->images->shape;
    int64_t per = glia_shape_numel(s) / s->dim[0];
    int64_t C = s->ndim == 4 ? s->dim[1] : 1, H = s->ndim == 4 ? s->dim[2] : 1,
            W = s->ndim == 4 ? s->dim[3] : per;
    float inv = std > 0 ? 1.0f / std : 1.0f;
    int shift = aug && rng ? aug->shift : 0, hflip = aug && rng && aug->hflip;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = idx ? idx[i] : i;
        int dy = 0, dx = 0, flip = 0;
        /* draws in a fixed order per sample, so a run is reproducible from its seed */
        if (shift) {
            dy = (int)glia_rng_below(rng, (uint32_t)(2 * shift + 1)) - shift;
            dx = (int)glia_rng_below(rng, (uint32_t)(2 * shift + 1)) - shift;
        }
        if (hflip) flip = glia_rng_u32(rng) >> 31;
        copy_image(d->images->data + k * per, x + i * per, C, H, W, dy, dx, flip, mean, inv);
        if (y) y[i] = d->labels->data[k];
    }
}
