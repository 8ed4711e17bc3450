/* threads.c: one knob for OpenMP (glia's kernels) and OpenBLAS (GEMM).
 * glia never calls BLAS inside an OpenMP parallel region, so the two pools never nest. */
#include "glia.h"
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void glia_set_num_threads(int n) {
#ifdef _OPENMP
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
#else
    if (n <= 0) n = 1;
#endif
    openblas_set_num_threads(n);
}

int glia_get_num_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
