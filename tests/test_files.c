/* test_files.c: glia's one file writer and one whole-file reader (src/io/atomic_file.c) and its
 * one clock (src/core/clock.c): content, no temporary file left behind, clear errors naming the
 * path (missing directory, a file in the way, a directory in the way, a size limit). */
#include "test.h"
#include "core/internal.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A fresh directory for one test: its path in dir. */
static int new_dir(char *dir, size_t n) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/glia-files-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(dir) != NULL;
}

/* The names in dir (other than . and ..), counted; those with ".tmp." in *tmp. */
static int count_entries(const char *dir, int *tmp) {
    DIR *d = opendir(dir);
    int n = 0;
    *tmp = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        n++;
        *tmp += strstr(e->d_name, ".tmp.") != NULL;
    }
    if (d) closedir(d);
    return n;
}

/* path must hold exactly the n bytes of want (read back with glia__read_file) */
static int holds(const char *path, const void *want, size_t n) {
    char *data = NULL;
    size_t len = 0;
    int ok = !glia__read_file(path, &data, &len) && len == n && !memcmp(data, want, n) &&
             data[n] == 0;
    free(data);
    return ok;
}

TEST(files_write_atomic_content) {
    char dir[512], path[600];
    CHECK(new_dir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/out.bin", dir);
    const char bytes[] = "line one\n\0binary\xff";
    OK(glia__write_atomic(path, bytes, sizeof bytes));
    CHECK(holds(path, bytes, sizeof bytes));
    /* replacing it, and an empty file */
    OK(glia__write_atomic(path, "new", 3));
    CHECK(holds(path, "new", 3));
    OK(glia__write_atomic(path, NULL, 0));
    CHECK(holds(path, "", 0));
    int tmp, n = count_entries(dir, &tmp);
    CHECK_MSG(n == 1 && tmp == 0, "%d entries, %d temporary", n, tmp);
    /* piece by piece */
    glia__atomic *a;
    OK(glia__atomic_open(path, &a));
    glia__atomic_write(a, "ab", 2);
    glia__atomic_write(a, NULL, 0);
    glia__atomic_write(a, "cde", 3);
    OK(glia__atomic_commit(a));
    CHECK(holds(path, "abcde", 5));
    /* an abort leaves the old file and no temporary one */
    OK(glia__atomic_open(path, &a));
    glia__atomic_write(a, "zz", 2);
    glia__atomic_abort(a);
    CHECK(holds(path, "abcde", 5));
    n = count_entries(dir, &tmp);
    CHECK_MSG(n == 1 && tmp == 0, "%d entries, %d temporary", n, tmp);
    remove(path);
    rmdir(dir);
}

TEST(files_write_atomic_errors) {
    char dir[512], path[600], sub[600];
    CHECK(new_dir(dir, sizeof dir));
    CHECK(glia__write_atomic("", "x", 1) == GLIA_EINVAL);
    /* a directory that is not there */
    snprintf(path, sizeof path, "%s/no/such/dir/out.txt", dir);
    CHECK(glia__write_atomic(path, "x", 1) == GLIA_EIO);
    CHECK_MSG(strstr(glia_last_error(), path) && strstr(glia_last_error(), "cannot create"), "%s",
              glia_last_error());
    /* a file where the directory should be */
    snprintf(sub, sizeof sub, "%s/plain", dir);
    OK(glia__write_atomic(sub, "x", 1));
    snprintf(path, sizeof path, "%s/plain/out.txt", dir);
    CHECK(glia__write_atomic(path, "x", 1) == GLIA_EIO);
    CHECK_MSG(strstr(glia_last_error(), path) && strstr(glia_last_error(), "Not a directory"), "%s",
              glia_last_error());
    remove(sub);
    /* a directory where the file should be: the rename fails, the temporary file goes */
    snprintf(sub, sizeof sub, "%s/taken", dir);
    CHECK(mkdir(sub, 0700) == 0);
    glia_status s = glia__write_atomic(sub, "x", 1);
    int tmp, n = count_entries(dir, &tmp);
    rmdir(sub);
    CHECK(s == GLIA_EIO);
    CHECK_MSG(strstr(glia_last_error(), sub) && strstr(glia_last_error(), "rename"), "%s",
              glia_last_error());
    CHECK_MSG(n == 1 && tmp == 0, "%d entries, %d temporary", n, tmp);
    n = count_entries(dir, &tmp);
    CHECK_MSG(n == 0, "%d entries left", n);
    rmdir(dir);
}

TEST(files_read_file) {
    char dir[512], path[600];
    CHECK(new_dir(dir, sizeof dir));
    char *data = (char *)&data;
    size_t len = 77;
    /* missing: the path and the reason, outputs cleared */
    snprintf(path, sizeof path, "%s/absent.txt", dir);
    CHECK(glia__read_file(path, &data, &len) == GLIA_EIO && !data && len == 0);
    CHECK_MSG(strstr(glia_last_error(), path) && strstr(glia_last_error(), "cannot open") &&
              strstr(glia_last_error(), "No such file"), "%s", glia_last_error());
    /* a directory */
    CHECK(glia__read_file(dir, &data, &len) == GLIA_EIO && !data);
    CHECK_MSG(strstr(glia_last_error(), dir) && strstr(glia_last_error(), "directory"), "%s",
              glia_last_error());
    /* empty: an empty NUL-terminated string, not NULL */
    snprintf(path, sizeof path, "%s/empty.txt", dir);
    OK(glia__write_atomic(path, NULL, 0));
    OK(glia__read_file(path, &data, &len));
    CHECK(data && len == 0 && data[0] == 0);
    free(data);
    OK(glia__read_file(path, &data, NULL)); /* len may be NULL */
    free(data);
    /* bytes as they are, NULs included; the limit */
    const char ten[10] = "abc\0efghij";
    OK(glia__write_atomic(path, ten, 10));
    OK(glia__read_file_max(path, 10, &data, &len));
    CHECK(len == 10 && !memcmp(data, ten, 10) && data[10] == 0);
    free(data);
    CHECK(glia__read_file_max(path, 9, &data, &len) == GLIA_EIO && !data);
    CHECK_MSG(strstr(glia_last_error(), path) && strstr(glia_last_error(), "9-byte limit"), "%s",
              glia_last_error());
    remove(path);
    rmdir(dir);
    /* a file whose size stat does not know (Linux's /proc): read until its end */
    if (access("/proc/self/status", R_OK) == 0) {
        OK(glia__read_file("/proc/self/status", &data, &len));
        CHECK(len > 0 && strlen(data) == len && strstr(data, "Name:"));
        free(data);
        CHECK(glia__read_file_max("/proc/self/status", 8, &data, &len) == GLIA_EIO && !data);
        CHECK_MSG(strstr(glia_last_error(), "8-byte limit"), "%s", glia_last_error());
    }
}

TEST(files_read_file_large) {
    /* 1 MB + 1 byte, written and read back whole */
    char dir[512], path[600];
    CHECK(new_dir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/big.bin", dir);
    size_t n = ((size_t)1 << 20) + 1;
    char *big = malloc(n), *data = NULL;
    CHECK(big);
    for (size_t i = 0; i < n; i++) big[i] = (char)(i * 7 + 3);
    glia_status s = glia__write_atomic(path, big, n);
    size_t len = 0;
    int ok = !s && !glia__read_file(path, &data, &len) && len == n && !memcmp(data, big, n);
    free(big);
    free(data);
    remove(path);
    rmdir(dir);
    CHECK_MSG(ok, "%s", glia_last_error());
}

TEST(files_clock) {
    double a = glia__now(), b = glia__now();
    CHECK(a > 0 && b >= a);
    nanosleep(&(struct timespec){0, 2000000}, NULL);
    double c = glia__now();
    CHECK_MSG(c - b >= 0.0015 && c - b < 5, "%g s for a 2 ms sleep", c - b);
}
