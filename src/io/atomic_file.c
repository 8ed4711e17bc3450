/* atomic_file.c: replacing a small file so that a crash at any moment leaves either the old
 * content or the new one: write a temporary file beside it, fsync, rename over the target. */
#include "../core/internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

glia_status glia__write_atomic(const char *path, const void *data, size_t len) {
    size_t n = strlen(path) + 32;
    char *tmp = glia__malloc(n);
    if (!tmp) return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        glia_status s = glia__err(GLIA_EIO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return s;
    }
    int ok = (len == 0 || fwrite(data, 1, len, f) == len) && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int e = errno;
    if (fclose(f) != 0 && ok) { ok = 0; e = errno; }
    if (ok && rename(tmp, path) != 0) { ok = 0; e = errno; }
    glia_status s = GLIA_OK;
    if (!ok) {
        s = glia__err(GLIA_EIO, "%s: cannot write it: %s", path, strerror(e));
        remove(tmp);
    }
    free(tmp);
    return s;
}
