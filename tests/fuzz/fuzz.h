/* fuzz.h: what every libFuzzer target (tests/fuzz/fuzz_*.c, `make fuzz`) shares. The readers
 * take paths, so each input is written to a file in a private temporary directory first.
 * One allocation is capped at FUZZ_ALLOC_LIMIT (glia__alloc_set_limit): a header that asks
 * for gigabytes then gets a clean GLIA_ENOMEM instead of tripping the fuzzer's memory limit. */
#ifndef GLIA_FUZZ_H
#define GLIA_FUZZ_H
#include "core/internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_ALLOC_LIMIT ((size_t)64 << 20)

static char fuzz_dir[256];

/* The private directory, made once per process. */
__attribute__((unused)) static const char *fuzz_tmpdir(void) {
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/glia-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(fuzz_dir)) {
            perror("mkdtemp");
            abort();
        }
    }
    return fuzz_dir;
}

/* Writes data to <tmpdir>/<name> and returns the path (static buffer). */
__attribute__((unused)) static const char *fuzz_write(const char *name, const uint8_t *data, size_t size) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror(path);
        abort();
    }
    return path;
}

static void fuzz_setup(void) {
    glia__alloc_set_limit(FUZZ_ALLOC_LIMIT);
    glia_set_num_threads(1);
}

/* A property the target checks: a failure is a finding. */
#define FUZZ_CHECK(c)                                                                  \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "fuzz check failed: %s (%s)\n", #c, glia_last_error());    \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* An error must say something. */
#define FUZZ_ERR_OK(s) FUZZ_CHECK((s) == GLIA_OK || glia_last_error()[0] != 0)
#endif
