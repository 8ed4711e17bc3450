/* atomic_file.c: the one way glia writes a file, and the one way it reads a whole one.
 *
 * Writing replaces a file so that a crash at any moment leaves either the old content or the
 * new: the data goes to "<path>.tmp.<pid>" beside it, which is flushed, fsync'ed and renamed
 * over path; then the directory is fsync'ed, so that the rename itself survives a power cut.
 * On any failure the temporary file is removed and path is untouched. */
#include "../core/internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct glia__atomic {
    FILE *f;
    const char *path;
    int err;          /* errno of the first failed write, or 0 */
    char tmp[];       /* "<path>.tmp.<pid>" */
};

glia_status glia__atomic_open(const char *path, glia__atomic **out) {
    *out = NULL;
    if (!path[0]) return glia__err(GLIA_EINVAL, "cannot write a file with an empty path");
    size_t n = strlen(path) + 32;
    glia__atomic *a = glia__malloc(sizeof *a + n);
    if (!a) return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    snprintf(a->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    a->path = path;
    a->err = 0;
    a->f = fopen(a->tmp, "wb");
    if (!a->f) {
        glia_status s = glia__err(GLIA_EIO, "%s: cannot create the temporary file %s: %s", path,
                                  a->tmp, strerror(errno));
        free(a);
        return s;
    }
    *out = a;
    return GLIA_OK;
}

void glia__atomic_write(glia__atomic *a, const void *data, size_t len) {
    if (a->err || !len) return;
    if (fwrite(data, 1, len, a->f) != len) a->err = errno ? errno : EIO;
}

void glia__atomic_abort(glia__atomic *a) {
    if (!a) return;
    fclose(a->f);
    remove(a->tmp);
    free(a);
}

/* fsync of the directory holding the file tmp names (tmp is cut to the directory's name), so
 * that the rename is durable. Errors are ignored: some file systems cannot sync a directory,
 * and the file's own data is already safe. */
static void sync_dir(char *tmp) {
    char *slash = strrchr(tmp, '/');
    const char *dir = tmp;
    if (!slash) dir = ".";
    else if (slash == tmp) tmp[1] = 0; /* "/name": the root */
    else *slash = 0;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Staging (stage_begin .. stage_end, per thread): committed temporary files waiting for their
 * rename, in commit order. */
typedef struct { char *tmp, *path; } staged_file;
static _Thread_local int staging;
static _Thread_local staged_file *staged;
static _Thread_local int n_staged, cap_staged;

void glia__atomic_stage_begin(void) {
    staging = 1;
    n_staged = 0;
}

/* a committed temporary file kept for stage_end: 0 when out of memory */
static int stage_add(const glia__atomic *a) {
    if (n_staged == cap_staged) {
        int cap = cap_staged ? 2 * cap_staged : 8;
        staged_file *p = glia__realloc(staged, (size_t)cap * sizeof *p);
        if (!p) return 0;
        staged = p;
        cap_staged = cap;
    }
    staged_file f = {glia__strdup(a->tmp), glia__strdup(a->path)};
    if (!f.tmp || !f.path) {
        free(f.tmp);
        free(f.path);
        return 0;
    }
    staged[n_staged++] = f;
    return 1;
}

glia_status glia__atomic_stage_end(int ok) {
    glia_status s = GLIA_OK;
    for (int i = 0; i < n_staged; i++) {
        staged_file *f = &staged[i];
        if (ok && !s && rename(f->tmp, f->path) != 0)
            s = glia__err(GLIA_EIO, "%s: cannot rename %s to it: %s", f->path, f->tmp, strerror(errno));
        if (!ok || s) remove(f->tmp); /* not renamed: nothing of it is left */
        if (ok && !s && i == n_staged - 1) sync_dir(f->tmp);
        free(f->tmp);
        free(f->path);
    }
    free(staged);
    staged = NULL;
    n_staged = cap_staged = 0;
    staging = 0;
    return s;
}

glia_status glia__atomic_commit(glia__atomic *a) {
    const char *what = "writing";
    int e = a->err, ok = !e;
    if (ok && fflush(a->f) != 0) { ok = 0; what = "flushing"; e = errno; }
    if (ok && fsync(fileno(a->f)) != 0) { ok = 0; what = "syncing"; e = errno; }
    if (fclose(a->f) != 0 && ok) { ok = 0; what = "closing"; e = errno; }
    glia_status s = GLIA_OK;
    if (!ok) {
        s = glia__err(GLIA_EIO, "%s: %s the temporary file %s failed: %s", a->path, what, a->tmp,
                      strerror(e));
        remove(a->tmp);
    } else if (staging) {
        if (!stage_add(a)) {
            s = glia__err(GLIA_ENOMEM, "%s: out of memory", a->path);
            remove(a->tmp);
        }
    } else if (rename(a->tmp, a->path) != 0) {
        s = glia__err(GLIA_EIO, "%s: cannot rename %s to it: %s", a->path, a->tmp, strerror(errno));
        remove(a->tmp);
    } else {
        sync_dir(a->tmp);
    }
    free(a);
    return s;
}

glia_status glia__write_atomic(const char *path, const void *data, size_t len) {
    glia__atomic *a;
    glia_status s = glia__atomic_open(path, &a);
    if (s) return s;
    glia__atomic_write(a, data, len);
    return glia__atomic_commit(a);
}

/* ------------------------------------------------------------------ reading */

glia_status glia__read_file_max(const char *path, size_t max, char **data, size_t *len) {
    *data = NULL;
    if (len) *len = 0;
    if (max > SIZE_MAX / 2) max = SIZE_MAX / 2; /* so that max + 1 and 2 * cap cannot wrap */
    FILE *f = fopen(path, "rb");
    if (!f) return glia__err(GLIA_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    glia_status s = GLIA_OK;
    if (fstat(fileno(f), &st) != 0) {
        s = glia__err(GLIA_EIO, "%s: cannot stat: %s", path, strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        s = glia__err(GLIA_EIO, "%s: is a directory, not a file", path);
    } else if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        s = glia__err(GLIA_EIO, "%s: %lld bytes, over the %zu-byte limit for this file", path,
                      (long long)st.st_size, max);
    }
    if (s) {
        fclose(f);
        return s;
    }
    /* a regular file's size is known: one allocation, one read; a pipe's (or a /proc file's)
     * is not: the buffer grows */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
    if (cap > max + 1) cap = max + 1; /* so that n <= max, always */
    char *buf = glia__malloc(cap);
    int over = 0;
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1) break; /* the end, or an error */
        int c = fgetc(f);       /* full: is there more? */
        if (c == EOF) break;
        if (n == max) { over = 1; break; }
        size_t ncap = cap > (max + 1) / 2 ? max + 1 : 2 * cap;
        char *nb = glia__realloc(buf, ncap);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap = ncap;
        buf[n++] = (char)c;
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (!buf) return glia__err(GLIA_ENOMEM, "%s: out of memory reading it (%zu bytes read)", path, n);
    if (err) s = glia__err(GLIA_EIO, "%s: read error: %s", path, strerror(err));
    else if (over) s = glia__err(GLIA_EIO, "%s: over the %zu-byte limit for this file", path, max);
    if (s) {
        free(buf);
        return s;
    }
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return GLIA_OK;
}

glia_status glia__read_file(const char *path, char **data, size_t *len) {
    return glia__read_file_max(path, SIZE_MAX, data, len);
}
