/* omp_policy.h: makes idle OpenMP threads sleep instead of spin, for programs that link glia.
 *
 * libgomp's default keeps idle threads spinning at barriers. When the cores are shared (a
 * laptop doing other work, two trainings at once, CI), spinning threads steal the time slices
 * of the threads doing the work: LeNet-5 training measured 101 img/s with the default and
 * 1,675 img/s with OMP_WAIT_POLICY=passive while other glia runs shared the 2 cores.
 * libgomp reads the variable once, in its own constructor, before main() runs, and offers no
 * call to change it later; so when the variable is unset, main() sets it and executes the
 * program again (once: the second run finds it set). A value the user set is kept
 * (OMP_WAIT_POLICY=active on a machine the run has to itself). valgrind does not follow
 * that exec (without --trace-children): set the variable when running under it.
 *
 * Use: glia_omp_passive_by_default(argv) first thing in main(). */
#ifndef GLIA_OMP_POLICY_H
#define GLIA_OMP_POLICY_H
#include <stdlib.h>
#include <unistd.h>

static inline void glia_omp_passive_by_default(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
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
