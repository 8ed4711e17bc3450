/* clock.c: the one clock glia times with. */
#include "internal.h"
#include <time.h>

double glia__now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
