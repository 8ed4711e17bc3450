/* thread_env.h: makes idle threads sleep instead of spin, for programs that link glia.
 *
 * Two thread pools share the cores in a glia process: libgomp's (the OpenMP loops of the ops)
 * and OpenBLAS's own pthreads (inside sgemm). Both keep idle threads spinning by default:
 *   OMP_WAIT_POLICY=passive     libgomp's threads spin at barriers. When the cores are shared (a
 *       laptop doing other work, two trainings at once, CI), spinning threads steal the time
 *       slices of the threads doing the work: LeNet-5 training measured 101 img/s with the
 *       default and 1,675 img/s with passive while other glia runs shared the 2 cores (and
 *       5,208 vs 3,396 img/s on an idle machine).
 *   OPENBLAS_THREAD_TIMEOUT=4   after each GEMM, OpenBLAS's workers spin for 2^28 cycles (its
 *       default, about 0.1 s) before they sleep, so the OpenMP loop that follows a GEMM (bias,
 *       ReLU, pooling, im2col) found one of its two cores taken: 2^4 cycles (the minimum) made
 *       VGG-style training 1.7-2.3x faster (397-554 -> 683-901 img/s, 2 cores, alternating runs).
 * Neither library reads its variable after its own constructor, which runs before main(), nor
 * offers a call to change it later; so when main() finds a variable unset, it sets it and
 * executes the program again (once: the second run finds them set). Values the user set are kept
 * (OMP_WAIT_POLICY=active on a machine the run has to itself). valgrind does not follow that
 * exec (without --trace-children): set both variables when running under it (make valgrind
 * does).
 *
 * Use: glia_thread_env_defaults(argv) first thing in main(). */
#ifndef GLIA_THREAD_ENV_H
#define GLIA_THREAD_ENV_H
#include <stdlib.h>
#include <unistd.h>

static inline void glia_thread_env_defaults(char **argv) {
    int changed = 0;
    if (!getenv("OMP_WAIT_POLICY")) changed |= setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
    if (!getenv("OPENBLAS_THREAD_TIMEOUT"))
        changed |= setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) == 0;
    if (!changed) return;
#ifdef __linux__
    /* the file itself rather than /proc/self/exe, so that ps and top still say "glia" */
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = '\0';
    execv(path, argv); /* returns only on failure: then run on as we are */
#else
    (void)argv;
#endif
}
#endif
