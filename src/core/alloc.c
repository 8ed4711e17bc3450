/* alloc.c: the one place libglia allocates memory. Every allocation in src/ goes through these
 * wrappers so that tests can make any of them fail (glia__alloc_fail_at) and prove that an
 * allocation failure becomes GLIA_ENOMEM with nothing leaked, and so that fuzzers can cap the
 * size of one allocation (glia__alloc_set_limit) to tell "a huge but valid shape" (a clean
 * error) from a real bug. Memory from these wrappers is released with free(). */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

/* Test hooks. Relaxed atomics: allocations made inside OpenMP regions still count once each. */
static int64_t fail_at = -1;   /* the index (0-based, counted from the last reset) to fail */
static int64_t fail_count;     /* allocations seen since the last reset */
static size_t size_limit;      /* 0: none */
static void **trace;           /* when set: the call site of allocation k goes to trace[k] */
static int64_t trace_cap;

void glia__alloc_fail_at(int64_t k) {
    __atomic_store_n(&fail_count, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fail_at, k, __ATOMIC_RELAXED);
}
int64_t glia__alloc_count(void) { return __atomic_load_n(&fail_count, __ATOMIC_RELAXED); }
void glia__alloc_set_limit(size_t bytes) { size_limit = bytes; }
void glia__alloc_trace(void **sites, int64_t cap) {
    trace = sites;
    trace_cap = sites ? cap : 0;
}

/* 1 when this allocation must fail (injected failure or over the size limit). site: the
 * wrapper's return address, i.e. the library line that allocates. */
static int must_fail(size_t bytes, void *site) {
    int64_t k = __atomic_fetch_add(&fail_count, 1, __ATOMIC_RELAXED);
    if (trace && k < trace_cap) trace[k] = site;
    if (size_limit && bytes > size_limit) return 1;
    int64_t f = __atomic_load_n(&fail_at, __ATOMIC_RELAXED);
    return f >= 0 && k == f;
}

#define SITE __builtin_return_address(0)
#define NOINLINE __attribute__((noinline))

NOINLINE void *glia__malloc(size_t n) { return must_fail(n, SITE) ? NULL : malloc(n ? n : 1); }

NOINLINE void *glia__calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    return must_fail(count * size, SITE) ? NULL : calloc(count ? count : 1, size ? size : 1);
}

NOINLINE void *glia__realloc(void *p, size_t n) {
    return must_fail(n, SITE) ? NULL : realloc(p, n ? n : 1);
}

NOINLINE void *glia__aligned_alloc(size_t align, size_t n) {
    n = (n + align - 1) / align * align; /* C11: the size must be a multiple of the alignment */
    return must_fail(n, SITE) ? NULL : aligned_alloc(align, n ? n : align);
}

NOINLINE char *glia__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = must_fail(n, SITE) ? NULL : malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
