/* dataset.c: image classification data sets (images [N, C, H, W] in [0, 1], labels [N], class
 * names), loaded by name (fashion-mnist, mnist) or from a directory of IDX files, and the
 * batch filler that normalises and augments. */
#include "data/stream.h"
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
    free(d->pixels);
    glia__store_free(d->store);
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

glia_status glia__dataset_new_bytes(uint8_t *pixels, const glia_shape *shape, glia_tensor *labels,
                                    int classes, const char *const *names, glia_dataset **out) {
    /* a shape-only images tensor: checked and named by glia_dataset_new, data NULL */
    glia_tensor *img = glia__calloc(1, sizeof *img);
    if (!img || !pixels) {
        free(img);
        free(pixels);
        glia_tensor_free(labels);
        return glia__err(pixels ? GLIA_ENOMEM : GLIA_EINVAL, "data set: %s", pixels ? "out of memory" : "NULL pixels");
    }
    img->shape = *shape;
    /* the constructor never reads images->data; on failure it frees img (data NULL) and labels */
    glia_status s = glia_dataset_new(img, labels, classes, names, out);
    if (s) free(pixels);
    else (*out)->pixels = pixels;
    return s;
}

glia_status glia__dataset_new_store(glia__image_store *st, const glia_shape *shape, glia_tensor *labels,
                                    int classes, const char *const *names, glia_dataset **out) {
    glia_tensor *img = glia__calloc(1, sizeof *img); /* shape only, as glia__dataset_new_bytes */
    if (!img) {
        glia__store_free(st);
        glia_tensor_free(labels);
        return glia__err(GLIA_ENOMEM, "data set: out of memory");
    }
    img->shape = *shape;
    glia_status s = glia_dataset_new(img, labels, classes, names, out);
    if (s) glia__store_free(st);
    else (*out)->store = st;
    return s;
}

void glia_dataset_image(const glia_dataset *d, int64_t i, float *out) {
    int64_t per = glia_shape_numel(&d->images->shape) / d->images->shape.dim[0];
    if (d->store) { /* the bytes, read into the end of out (a quarter of it) when not cached */
        uint8_t *tmp = (uint8_t *)(out + per) - per;
        const uint8_t *b = glia__store_image(d->store, i, tmp);
        for (int64_t k = 0; k < per; k++) out[k] = (float)b[k] * (1.0f / 255);
        return;
    }
    if (!d->pixels) {
        memcpy(out, d->images->data + i * per, (size_t)per * sizeof *out);
        return;
    }
    const uint8_t *b = d->pixels + i * per;
    for (int64_t k = 0; k < per; k++) out[k] = (float)b[k] * (1.0f / 255); /* as idx.c's floats */
}

/* DIR/PREFIX-images-idx3-ubyte[.gz] and the labels beside it; images [N, H, W] become
 * [N, 1, H, W] */
static glia_status load_idx_pair(const char *dir, const char *prefix, glia_tensor **x,
                                 uint8_t **bytes, glia_shape *shape, glia_tensor **y) {
    char pi[1024], pl[1024];
    snprintf(pi, sizeof pi, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(pl, sizeof pl, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (access(pi, R_OK)) { /* raw files as an alternative */
        snprintf(pi, sizeof pi, "%s/%s-images-idx3-ubyte", dir, prefix);
        snprintf(pl, sizeof pl, "%s/%s-labels-idx1-ubyte", dir, prefix);
    }
    glia_status s = glia__idx_load_bytes(pi, x, bytes, shape);
    if (s) return s;
    if ((s = glia_idx_load(pl, 1.0f, y))) {
        glia_tensor_free(*x);
        free(*bytes);
        *x = NULL;
        *bytes = NULL;
        return s;
    }
    glia_shape *sh = *x ? &(*x)->shape : shape;
    if (sh->ndim == 3) {
        int64_t d[4] = {sh->dim[0], 1, sh->dim[1], sh->dim[2]};
        sh->ndim = 4;
        memcpy(sh->dim, d, sizeof d);
    }
    if (sh->ndim != 4) {
        char a[96];
        s = glia__err(GLIA_ESHAPE, "%s: images of shape %s; expected [N, H, W] or [N, C, H, W]",
                      pi, glia_shape_str(sh, a, sizeof a));
        glia_tensor_free(*x);
        glia_tensor_free(*y);
        free(*bytes);
        *x = *y = NULL;
        *bytes = NULL;
    }
    return s;
}

/* the images as bytes or floats (whichever the file held), with labels, as a data set */
static glia_status idx_dataset(glia_tensor *x, uint8_t *bytes, const glia_shape *shape, glia_tensor *y,
                               int classes, const char *const *names, glia_dataset **out) {
    return bytes ? glia__dataset_new_bytes(bytes, shape, y, classes, names, out)
                 : glia_dataset_new(x, y, classes, names, out);
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
    uint8_t *bytes = NULL;
    glia_shape shape;
    if ((s = load_idx_pair(dir, test ? "t10k" : "train", &x, &bytes, &shape, &y))) {
        if (fashion)
            return glia__err(s, "%s (install Fashion-MNIST with scripts/fetch-data fashion-mnist)",
                             glia_last_error());
        return s;
    }
    if (fashion) return idx_dataset(x, bytes, &shape, y, 10, fashion_names, out);
    char **names;
    int n_names;
    if ((s = glia_class_names_load(dir, &names, &n_names))) {
        glia_tensor_free(x);
        glia_tensor_free(y);
        free(bytes);
        return s;
    }
    int classes = n_names ? n_names : max_label(y) + 1;
    s = idx_dataset(x, bytes, &shape, y, classes, (const char *const *)names, out);
    glia_class_names_free(names, n_names);
    if (s) return glia__err(s, "%s: %s", dir, glia_last_error());
    return GLIA_OK;
}

/* C, H, W of a data set's images ([N, F]: one channel of F pixels) */
static void image_dims(const glia_shape *s, int64_t *C, int64_t *H, int64_t *W) {
    int64_t per = glia_shape_numel(s) / s->dim[0];
    *C = s->ndim == 4 ? s->dim[1] : 1;
    *H = s->ndim == 4 ? s->dim[2] : 1;
    *W = s->ndim == 4 ? s->dim[3] : per;
}

/* a store's statistics from its images' byte sums, exact in integers (any order, any cache):
 * mean = S1 / (255 cnt), var = S2 / (255^2 cnt) - mean^2 */
static void store_stats(const glia__image_store *st, const int64_t *idx, int64_t n, float *mean, float *std) {
    const int64_t C = st->C;
    for (int64_t c = 0; c < C; c++) {
        int64_t s1 = 0, s2 = 0;
        for (int64_t i = 0; i < n; i++) {
            const int64_t *sm = st->sums + (idx ? idx[i] : i) * 2 * C;
            s1 += sm[c];
            s2 += sm[C + c];
        }
        double cnt = (double)n * (double)st->H * (double)st->W;
        double m = cnt > 0 ? (double)s1 / (255.0 * cnt) : 0;
        double v = cnt > 0 ? (double)s2 / (255.0 * 255.0 * cnt) - m * m : 0;
        mean[c] = (float)m;
        std[c] = v > 1e-12 ? (float)sqrt(v) : 1.0f;
    }
}

void glia_dataset_stats(const glia_dataset *d, const int64_t *idx, int64_t n, float *mean, float *std) {
    if (d->store) {
        store_stats(d->store, idx, n, mean, std);
        return;
    }
    int64_t C, H, W;
    image_dims(&d->images->shape, &C, &H, &W);
    int64_t plane = H * W;
    for (int64_t c = 0; c < C; c++) {
        double s = 0, s2 = 0; /* double sums: 47 million pixels lose nothing */
        for (int64_t i = 0; i < n; i++) {
            int64_t at = ((idx ? idx[i] : i) * C + c) * plane;
            for (int64_t j = 0; j < plane; j++) {
                float v = d->pixels ? (float)d->pixels[at + j] * (1.0f / 255) : d->images->data[at + j];
                s += v;
                s2 += (double)v * v;
            }
        }
        double cnt = (double)n * (double)plane, m = cnt > 0 ? s / cnt : 0, v = cnt > 0 ? s2 / cnt - m * m : 0;
        mean[c] = (float)m;
        std[c] = v > 1e-12 ? (float)sqrt(v) : 1.0f;
    }
}

/* One image [C, H, W], shifted by (dy, dx) with zeros coming in, flipped if asked, normalised:
 * out(c, y, x) = (src(c, y + dy, x' + dx) - mean[c]) / std[c] with x' = flip ? W-1-x : x. */
static void copy_image(const float *src, const uint8_t *src8, float *dst, int64_t C, int64_t H,
                       int64_t W, int dy, int dx, int flip, const float *mean, const float *std) {
    for (int64_t c = 0; c < C; c++) {
        float m = mean ? mean[c] : 0, inv = std && std[c] > 0 ? 1.0f / std[c] : 1.0f, zero = (0 - m) * inv;
        for (int64_t y = 0; y < H; y++) {
            int64_t sy = y + dy;
            float *o = dst + (c * H + y) * W;
            if (sy < 0 || sy >= H) {
                for (int64_t x = 0; x < W; x++) o[x] = zero;
                continue;
            }
            const float *row = src ? src + (c * H + sy) * W : NULL;
            const uint8_t *row8 = src8 ? src8 + (c * H + sy) * W : NULL;
            for (int64_t x = 0; x < W; x++) {
                int64_t sx = (flip ? W - 1 - x : x) + dx;
                /* bytes: the same float as idx.c's conversion, so results do not change */
                float v = sx < 0 || sx >= W ? 0 : row ? row[sx] : (float)row8[sx] * (1.0f / 255);
                o[x] = sx < 0 || sx >= W ? zero : (v - m) * inv;
            }
        }
    }
}

void glia_augment_crop_box(int H, int W, float crop, glia_rng *r, int *y0, int *x0, int *h, int *w) {
    double area = (double)H * W, lo = log(3.0 / 4), hi = log(4.0 / 3);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (crop + (1 - crop) * glia_rng_uniform(r));
        double ratio = exp(lo + (hi - lo) * glia_rng_uniform(r));
        int cw = (int)lround(sqrt(target * ratio)), ch = (int)lround(sqrt(target / ratio));
        if (cw > 0 && cw <= W && ch > 0 && ch <= H) {
            *y0 = (int)glia_rng_below(r, (uint32_t)(H - ch + 1));
            *x0 = (int)glia_rng_below(r, (uint32_t)(W - cw + 1));
            *h = ch;
            *w = cw;
            return;
        }
    }
    *y0 = *x0 = 0; /* the whole image (its ratio is within bounds for the images glia takes) */
    *h = H;
    *w = W;
}

/* pixel at of one image, as a float in [0, 1]: its floats, or its bytes / 255 */
static inline float pixel(const float *f, const uint8_t *b, int64_t at) {
    return b ? (float)b[at] * (1.0f / 255) : f[at];
}

/* The resampled path (crop, jitter, a centre box): out(c, y, x) = bilinear sample of the box at
 * the shifted, flipped position (pixel centres aligned, zeros outside), then (a->jitter)
 * brightness and contrast, then (x - mean[c]) / std[c]. */
static void augment_image(const float *f, const uint8_t *b, float *o, int64_t C, int64_t H, int64_t W,
                          const glia__aug_draw *a, const float *mean, const float *std) {
    double sum = 0;
    const int by = a->by, bx = a->bx, bh = a->bh, bw = a->bw;
    const float sy = (float)bh / (float)H, sx = (float)bw / (float)W;
    for (int64_t c = 0; c < C; c++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t x = 0; x < W; x++) {
                int64_t cy = y + a->dy, cx = (a->flip ? W - 1 - x : x) + a->dx;
                float v = 0;
                if (cy >= 0 && cy < H && cx >= 0 && cx < W) {
                    float fy = by + ((float)cy + 0.5f) * sy - 0.5f, fx = bx + ((float)cx + 0.5f) * sx - 0.5f;
                    fy = fy < by ? (float)by : fy > by + bh - 1 ? (float)(by + bh - 1) : fy;
                    fx = fx < bx ? (float)bx : fx > bx + bw - 1 ? (float)(bx + bw - 1) : fx;
                    int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
                    int64_t y1 = y0 + 1 < by + bh ? y0 + 1 : y0, x1 = x0 + 1 < bx + bw ? x0 + 1 : x0;
                    float wy = fy - (float)y0, wx = fx - (float)x0;
                    const int64_t p = c * H * W;
                    v = (1 - wy) * ((1 - wx) * pixel(f, b, p + y0 * W + x0) + wx * pixel(f, b, p + y0 * W + x1)) +
                        wy * ((1 - wx) * pixel(f, b, p + y1 * W + x0) + wx * pixel(f, b, p + y1 * W + x1));
                }
                if (a->jitter) v *= a->bright;
                o[(c * H + y) * W + x] = v;
                sum += v;
            }
    float m = (float)(sum / (double)(C * H * W));
    for (int64_t c = 0; c < C; c++) {
        float mc = mean ? mean[c] : 0, inv = std && std[c] > 0 ? 1.0f / std[c] : 1.0f;
        float *p = o + c * H * W;
        for (int64_t i = 0; i < H * W; i++) {
            float v = p[i];
            if (a->jitter) {
                v = (v - m) * a->contrast + m;
                v = v < 0 ? 0 : v > 1 ? 1 : v;
            }
            p[i] = (v - mc) * inv;
        }
    }
}

/* One sample's augmentation draws, in a fixed order per sample and only for what is on, so a
 * run is reproducible from its seed (and a process can skip samples: glia_augment_skip). */
static void draw(int shift, int hflip, float crop, float jitter, int64_t H, int64_t W, glia_rng *rng,
                 glia__aug_draw *o) {
    *o = (glia__aug_draw){0, 0, 0, 0, 0, (int)H, (int)W, 1, 1, 0, 0};
    if (shift) {
        o->dy = (int)glia_rng_below(rng, (uint32_t)(2 * shift + 1)) - shift;
        o->dx = (int)glia_rng_below(rng, (uint32_t)(2 * shift + 1)) - shift;
    }
    if (hflip) o->flip = (int)(glia_rng_u32(rng) >> 31);
    if (crop > 0) glia_augment_crop_box((int)H, (int)W, crop, rng, &o->by, &o->bx, &o->bh, &o->bw);
    if (jitter > 0) {
        o->bright = 1 - jitter + 2 * jitter * glia_rng_uniform(rng);
        o->contrast = 1 - jitter + 2 * jitter * glia_rng_uniform(rng);
    }
    /* crop alone goes through the jitter's arithmetic with factors 1, as it always has */
    o->resample = o->jitter = crop > 0 || jitter > 0;
}

/* the augmentations that are on: shift, flip, crop in (0, 1], jitter > 0 (none without rng) */
static void aug_on(const glia_augment *aug, const glia_rng *rng, int *shift, int *hflip, float *crop,
                   float *jitter) {
    *shift = aug && rng ? aug->shift : 0;
    *hflip = aug && rng && aug->hflip;
    *crop = aug && rng && aug->crop > 0 && aug->crop <= 1 ? aug->crop : 0;
    *jitter = aug && rng && aug->jitter > 0 ? aug->jitter : 0;
}

void glia_augment_center_box(int H, int W, float f, int *y0, int *x0, int *h, int *w) {
    *h = (int)lround((double)f * H);
    *w = (int)lround((double)f * W);
    *h = *h < 1 ? 1 : *h > H ? H : *h;
    *w = *w < 1 ? 1 : *w > W ? W : *w;
    *y0 = (int)nearbyint((H - *h) / 2.0); /* halves to even, as Python's round */
    *x0 = (int)nearbyint((W - *w) / 2.0);
}

glia_augment glia_augment_eval(const glia_model *m) {
    glia_augment a = {0};
    if (m && strtof(glia_model_option(m, "crop"), NULL) > 0) a.center = 0.875f; /* 224 / 256 */
    return a;
}

void glia__augment_draw(const glia_dataset *d, const glia_augment *aug, glia_rng *rng, int64_t n,
                        glia__aug_draw *out) {
    int shift, hflip;
    float crop, jitter;
    aug_on(aug, rng, &shift, &hflip, &crop, &jitter);
    int64_t C, H, W;
    image_dims(&d->images->shape, &C, &H, &W);
    glia__aug_draw a;
    if (!rng) { /* evaluation: the image, or its centre box */
        a = (glia__aug_draw){0, 0, 0, 0, 0, (int)H, (int)W, 1, 1, 0, 0};
        if (aug && aug->center > 0 && aug->center < 1) {
            glia_augment_center_box((int)H, (int)W, aug->center, &a.by, &a.bx, &a.bh, &a.bw);
            a.resample = 1;
        }
        for (int64_t i = 0; out && i < n; i++) out[i] = a;
        return;
    }
    for (int64_t i = 0; i < n; i++) draw(shift, hflip, crop, jitter, H, W, rng, out ? out + i : &a);
}

void glia_augment_skip(const glia_dataset *d, const glia_augment *aug, glia_rng *rng, int64_t n) {
    if (d && rng) glia__augment_draw(d, aug, rng, n, NULL);
}

void glia__dataset_sample(const glia_dataset *d, int64_t k, const glia__aug_draw *a,
                          const float *mean, const float *std, uint8_t *scratch, float *out) {
    int64_t C, H, W;
    image_dims(&d->images->shape, &C, &H, &W);
    const int64_t per = C * H * W;
    const float *f = NULL;
    const uint8_t *b = d->pixels ? d->pixels + k * per : NULL;
    if (d->store) b = glia__store_image(d->store, k, scratch);
    else if (!b) f = d->images->data + k * per;
    if (a->resample) augment_image(f, b, out, C, H, W, a, mean, std);
    else copy_image(f, b, out, C, H, W, a->dy, a->dx, a->flip, mean, std);
}

void glia_dataset_batch(const glia_dataset *d, const int64_t *idx, int64_t n, const float *mean,
                        const float *std, const glia_augment *aug, glia_rng *rng, float *x, float *y) {
    int64_t C, H, W;
    image_dims(&d->images->shape, &C, &H, &W);
    int64_t per = C * H * W;
    /* an image read again from its file lands here; without it (out of memory) a zero image */
    uint8_t *scratch = d->store ? glia__malloc((size_t)per) : NULL;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = idx ? idx[i] : i;
        glia__aug_draw a;
        glia__augment_draw(d, aug, rng, 1, &a);
        if (d->store && !scratch && k >= d->store->n_cached) {
            for (int64_t j = 0; j < per; j++) x[i * per + j] = 0;
        } else {
            glia__dataset_sample(d, k, &a, mean, std, scratch, x + i * per);
        }
        if (y) y[i] = d->labels->data[k];
    }
    free(scratch);
}
