/* image_folder.c: a user's own images as a classification data set, as torchvision's
 * ImageFolder and Keras's image_dataset_from_directory read them:
 *   DIR/<class>/<...>/<image>   one subfolder per class (its name is the class name, the classes
 *                               in strcmp order of the names), images anywhere below it
 *   LIST.txt                    lines "path,label" (path relative to the list's folder unless
 *                               absolute; label a class name; an optional first line
 *                               "path,label"; blank lines skipped), classes in strcmp order
 * Images are PNG, JPEG, BMP, PGM, PPM (by extension, case ignored; other files are not images
 * and are passed over), decoded in parallel (OpenMP) by glia_image_load, grey or colour, resized
 * to the model's input, and kept as bytes (0..255, rounded: what an 8-bit file holds) in the
 * data set's store (stream.h): all of them, or the first ones up to the cache's cap, the others
 * read again when needed. A file that does not decode is skipped with a warning naming it, or is
 * an error when the caller says so; an empty class folder keeps its class (and its id), with a
 * warning. */
#include "data/stream.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char **path;
    int *label;
    int64_t n, cap;
} file_list;

static void files_free(file_list *f) {
    for (int64_t i = 0; i < f->n; i++) free(f->path[i]);
    free(f->path);
    free(f->label);
    memset(f, 0, sizeof *f);
}

/* takes ownership of path (freed on failure) */
static glia_status files_add(file_list *f, char *path, int label) {
    if (!path) return glia__err(GLIA_ENOMEM, "image folder: out of memory");
    if (f->n == f->cap) {
        int64_t cap = f->cap ? 2 * f->cap : 256;
        char **p = glia__realloc(f->path, (size_t)cap * sizeof *p);
        if (p) f->path = p;
        int *l = p ? glia__realloc(f->label, (size_t)cap * sizeof *l) : NULL;
        if (l) f->label = l;
        if (!p || !l) {
            free(path);
            return glia__err(GLIA_ENOMEM, "image folder: out of memory");
        }
        f->cap = cap;
    }
    f->path[f->n] = path;
    f->label[f->n++] = label;
    return GLIA_OK;
}

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = glia__malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

static int is_image_name(const char *name) {
    static const char *const ext[] = {"png", "jpg", "jpeg", "bmp", "pgm", "ppm", "pnm", NULL};
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (int i = 0; ext[i]; i++) {
        const char *a = dot + 1, *b = ext[i];
        while (*a && *b && tolower((unsigned char)*a) == *b) a++, b++;
        if (!*a && !*b) return 1;
    }
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* the entries of dir (not . and ..), sorted; *n of them */
static glia_status list_dir(const char *dir, char ***out, int64_t *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return glia__err(GLIA_EIO, "%s: cannot open the folder: %s", dir, strerror(errno));
    file_list f = {0};
    glia_status s = GLIA_OK;
    for (struct dirent *e; !s && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            s = files_add(&f, glia__strdup(e->d_name), 0);
    closedir(d);
    free(f.label);
    if (s) {
        for (int64_t i = 0; i < f.n; i++) free(f.path[i]);
        free(f.path);
        return s;
    }
    if (f.n) qsort(f.path, (size_t)f.n, sizeof *f.path, by_name);
    *out = f.path;
    *n = f.n;
    return GLIA_OK;
}

static void names_free(char **v, int64_t n) {
    for (int64_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static int is_dir(const char *path) {
    struct stat st;
    return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* every image below dir (subfolders too, to a depth of 16), in sorted order, with label */
static glia_status walk(const char *dir, int label, int depth, file_list *f) {
    char **names;
    int64_t n;
    glia_status s = list_dir(dir, &names, &n);
    for (int64_t i = 0; !s && i < n; i++) {
        char *p = join(dir, names[i]);
        if (!p) s = glia__err(GLIA_ENOMEM, "image folder: out of memory");
        else if (is_dir(p)) {
            if (depth < 16) s = walk(p, label, depth + 1, f);
            free(p);
        } else if (is_image_name(names[i])) s = files_add(f, p, label);
        else free(p);
    }
    names_free(names, n);
    return s;
}

/* the class id of name: its index in the given classes, or in the discovered ones (added) */
static int class_id(const glia_folder_options *o, char ***found, int *n_found, const char *name) {
    const char *const *v = o->classes ? o->classes : (const char *const *)*found;
    int n = o->classes ? o->n_classes : *n_found;
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], name)) return i;
    return -1;
}

static glia_status add_class(char ***found, int *n_found, const char *name) {
    char **v = glia__realloc(*found, (size_t)(*n_found + 1) * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "image folder: out of memory");
    *found = v;
    if (!(v[*n_found] = glia__strdup(name))) return glia__err(GLIA_ENOMEM, "image folder: out of memory");
    (*n_found)++;
    return GLIA_OK;
}

static glia_status from_folder(const char *dir, const glia_folder_options *o, file_list *f,
                               char ***found, int *n_found) {
    char **names;
    int64_t n;
    glia_status s = list_dir(dir, &names, &n);
    for (int64_t i = 0; !s && i < n; i++) {
        char *p = join(dir, names[i]);
        if (!p) {
            s = glia__err(GLIA_ENOMEM, "image folder: out of memory");
            break;
        }
        if (is_dir(p)) {
            if (!o->classes) s = add_class(found, n_found, names[i]);
            int id = s ? -1 : class_id(o, found, n_found, names[i]);
            if (!s && id < 0)
                s = glia__err(GLIA_EINVAL, "%s: class '%s' is not one of the model's %d classes "
                              "(its classes.txt)", p, names[i], o->n_classes);
            int64_t before = f->n;
            if (!s) s = walk(p, id, 0, f);
            if (!s && f->n == before && o->warn) {
                char msg[1200];
                snprintf(msg, sizeof msg, "%s: class '%s' has no images", p, names[i]);
                o->warn(o->ctx, msg);
            }
        }
        free(p);
    }
    names_free(names, n);
    if (!s && !o->classes && *n_found == 0)
        s = glia__err(GLIA_EINVAL, "%s: no class subfolders (an image folder holds one folder per "
                      "class, named after it)", dir);
    return s;
}

/* the folder part of path ("." when none) */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return glia__strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = glia__malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = 0;
    }
    return d;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
    return s;
}

static glia_status from_list(const char *list, const glia_folder_options *o, file_list *f,
                             char ***found, int *n_found) {
    char *text, *base = NULL;
    size_t len;
    glia_status s = glia__read_file(list, &text, &len);
    if (s) return s;
    if (!(base = dir_of(list))) s = glia__err(GLIA_ENOMEM, "%s: out of memory", list);
    /* the labels first (the classes, sorted), then the files */
    for (int pass = 0; pass < 2 && !s; pass++) {
        char *line = text;
        for (int ln = 1; !s && line < text + len; ln++) {
            char *nl = memchr(line, '\n', (size_t)(text + len - line)), *next = nl ? nl + 1 : text + len;
            size_t L = (size_t)(next - line) - (nl ? 1 : 0);
            char buf[4096];
            if (L >= sizeof buf) {
                s = glia__err(GLIA_EINVAL, "%s:%d: line longer than %zu bytes", list, ln, sizeof buf - 1);
                break;
            }
            memcpy(buf, line, L);
            buf[L] = 0;
            line = next;
            char *t = trim(buf), *comma = strrchr(t, ',');
            if (!*t || (ln == 1 && !strcmp(t, "path,label"))) continue;
            if (!comma || comma == t || !*trim(comma + 1)) {
                s = glia__err(GLIA_EINVAL, "%s:%d: expected 'path,label', got '%s'", list, ln, t);
                break;
            }
            *comma = 0;
            char *path = trim(t), *label = trim(comma + 1);
            int id = class_id(o, found, n_found, label);
            if (pass == 0) {
                if (id < 0 && !o->classes) s = add_class(found, n_found, label);
                else if (id < 0)
                    s = glia__err(GLIA_EINVAL, "%s:%d: label '%s' is not one of the model's %d "
                                  "classes (its classes.txt)", list, ln, label, o->n_classes);
                continue;
            }
            s = files_add(f, path[0] == '/' ? glia__strdup(path) : join(base, path), id);
        }
        if (pass == 0 && !s && !o->classes && *n_found) /* the classes in strcmp order */
            qsort(*found, (size_t)*n_found, sizeof **found, by_name);
    }
    free(base);
    free(text);
    return s;
}

int glia_image_folder_kind(const char *path) {
    if (!path) return 0;
    struct stat st;
    if (stat(path, &st)) return 0;
    if (S_ISREG(st.st_mode)) {
        const char *dot = strrchr(path, '.');
        return dot && (!strcmp(dot, ".txt") || !strcmp(dot, ".list")) ? 2 : 0;
    }
    if (!S_ISDIR(st.st_mode)) return 0;
    char **names;
    int64_t n;
    if (list_dir(path, &names, &n)) return 0;
    int sub = 0, idx = 0;
    for (int64_t i = 0; i < n; i++) {
        idx |= !strncmp(names[i], "train-images-idx3-ubyte", 23);
        char *p = join(path, names[i]);
        sub |= p && is_dir(p);
        free(p);
    }
    names_free(names, n);
    return sub && !idx ? 1 : 0;
}

glia_status glia_image_folder_load(const char *path, glia_folder_options *o, glia_dataset **out) {
    if (!path || !o || !out) return glia__err(GLIA_EINVAL, "glia_image_folder_load: NULL argument");
    *out = NULL;
    o->skipped = 0;
    const int C = o->channels, H = o->height, W = o->width;
    if ((C != 1 && C != 3 && C != 4) || H < 1 || W < 1)
        return glia__err(GLIA_EINVAL, "%s: images load as 1, 3 or 4 channels of a fixed size, not "
                         "%dx%dx%d (the model's input must be C,H,W)", path, C, H, W);
    if (o->classes && o->n_classes < 1)
        return glia__err(GLIA_EINVAL, "glia_image_folder_load: %d classes given", o->n_classes);
    file_list f = {0};
    char **found = NULL;
    int n_found = 0;
    int kind = glia_image_folder_kind(path);
    glia_status s = kind == 2 ? from_list(path, o, &f, &found, &n_found)
                  : kind == 1 ? from_folder(path, o, &f, &found, &n_found)
                  : glia__err(GLIA_EINVAL, "%s: neither a folder of class subfolders nor a list file "
                              "(.txt or .list, lines 'path,label')", path);
    if (!s && f.n == 0) s = glia__err(GLIA_EINVAL, "%s: no images (PNG, JPEG, BMP, PGM, PPM)", path);
    const int64_t per = (int64_t)C * H * W;
    /* the first images that fit in the cap are kept (slot i for file i); the rest are decoded
     * here only to be checked and summed, then read again when a batch needs them */
    int64_t cap = f.n;
    if (o->cache_bytes > 0 && o->cache_bytes / per < cap) cap = o->cache_bytes / per;
    glia_tensor *y = NULL;
    glia__image_store *st = NULL;
    char **why = NULL; /* each file's error, NULL when it loaded */
    const int64_t n_files = f.n;
    if (!s && (!(why = glia__calloc((size_t)f.n, sizeof *why)) || !(st = glia__calloc(1, sizeof *st)) ||
               (cap && !(st->cache = glia__malloc((size_t)(cap * per)))) ||
               !(st->sums = glia__malloc((size_t)(f.n * 2 * C) * sizeof *st->sums))))
        s = glia__err(GLIA_ENOMEM, "%s: out of memory for %lld images of %lldx%lldx%lld bytes", path,
                      (long long)(cap ? cap : f.n), (long long)C, (long long)H, (long long)W);
    if (st && pthread_mutex_init(&st->mu, NULL)) {
        free(st->cache);
        free(st->sums);
        free(st);
        st = NULL;
        if (!s) s = glia__err(GLIA_ENOMEM, "%s: cannot make a mutex", path);
    }
    if (!s) {
        int oom = 0;
        /* decoding dominates: one file per iteration, any thread; the error text is per thread */
#pragma omp parallel for schedule(dynamic, 8)
        for (int64_t i = 0; i < f.n; i++) {
            uint8_t *dst = i < cap ? st->cache + i * per : glia__malloc((size_t)per);
            if (!dst || glia__store_decode(f.path[i], C, H, W, dst, st->sums + i * 2 * C)) {
                if (!(why[i] = glia__strdup(dst ? glia_last_error() : "out of memory"))) {
#pragma omp atomic write
                    oom = 1;
                }
            }
            if (i >= cap) free(dst);
        }
        if (oom) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    }
    /* the loaded images moved down over the skipped ones, in file order: the cached ones stay
     * the first ones */
    int64_t kept = 0;
    for (int64_t i = 0; !s && i < f.n; i++) {
        if (why[i]) {
            if (o->strict) {
                s = glia__err(GLIA_EIO, "%s (unreadable images are errors here; without the "
                              "option they are skipped)", why[i]);
                break;
            }
            o->skipped++;
            if (o->warn) {
                char msg[1200];
                snprintf(msg, sizeof msg, "skipped %s", why[i]);
                o->warn(o->ctx, msg);
            }
            continue;
        }
        if (i < cap) {
            if (kept != i) memcpy(st->cache + kept * per, st->cache + i * per, (size_t)per);
            st->n_cached++;
        }
        memmove(st->sums + kept * 2 * C, st->sums + i * 2 * C, (size_t)(2 * C) * sizeof *st->sums);
        char *keep = f.path[i]; /* swapped: the skipped files' paths end up after the kept */
        f.path[i] = f.path[kept];
        f.path[kept] = keep;
        f.label[kept++] = f.label[i];
    }
    if (!s && kept == 0) s = glia__err(GLIA_EINVAL, "%s: none of its %lld images could be read", path, (long long)f.n);
    if (!s && st->n_cached < cap) { /* the exact size (shrinking: realloc fails only by keeping it) */
        uint8_t *k = glia__realloc(st->cache, (size_t)(st->n_cached * per));
        if (k || !st->n_cached) st->cache = k;
    }
    if (!s && !(s = glia_tensor_new(&y, 1, &kept)))
        for (int64_t i = 0; i < kept; i++) y->data[i] = (float)f.label[i];
    if (!s) { /* the paths go to the store */
        st->path = f.path;
        st->n = kept;
        st->per = per;
        st->C = C;
        st->H = H;
        st->W = W;
        for (int64_t i = kept; i < f.n; i++) free(f.path[i]);
        f.path = NULL;
        f.n = 0;
    }
    for (int64_t i = 0; why && i < n_files; i++) free(why[i]);
    free(why);
    files_free(&f);
    if (s) {
        glia__store_free(st);
        glia_tensor_free(y);
        names_free(found, n_found);
        return s;
    }
    int classes = o->classes ? o->n_classes : n_found;
    glia_shape shape = {.ndim = 4, .dim = {kept, C, H, W}};
    s = glia__dataset_new_store(st, &shape, y, classes, o->classes ? o->classes : (const char *const *)found, out);
    names_free(found, n_found);
    return s;
}
