/* main.c: runs every registered test (or those whose name contains argv[1]). */
#include "test.h"
#include "core/thread_env.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TESTS 1024
static struct { const char *name, *file; test_fn fn; } tests[MAX_TESTS];
static int n_tests;
int test_failed_flag;

void test_register(const char *name, const char *file, test_fn fn) {
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].file = file;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    test_failed_flag = 1;
}

int test_registered(const char *name) {
    for (int i = 0; i < n_tests; i++)
        if (!strcmp(tests[i].name, name)) return 1;
    return 0;
}

static int by_file_then_name(const void *a, const void *b) {
    const char *const *x = a, *const *y = b; /* name, file */
    int c = strcmp(x[1], y[1]);
    return c ? c : strcmp(x[0], y[0]);
}

int main(int argc, char **argv) {
    glia_thread_env_defaults(argv);
    const char *filter = argc > 1 ? argv[1] : NULL;
    qsort(tests, (size_t)n_tests, sizeof tests[0], by_file_then_name);
    glia_set_num_threads(0);
    int passed = 0, failed = 0;
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        test_failed_flag = 0;
        op_case_begin(tests[i].name);
        tests[i].fn();
        op_case_end(tests[i].name);
        if (test_failed_flag) {
            failed++;
            fprintf(stderr, "FAIL %s (%s)\n", tests[i].name, tests[i].file);
        } else {
            passed++;
            if (getenv("GLIA_TEST_VERBOSE")) printf("ok   %s\n", tests[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
