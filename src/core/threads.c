/* threads.c: one knob for OpenMP (glia's kernels) and OpenBLAS (GEMM).
 * The two pools never nest: BLAS is called either outside OpenMP regions (OpenBLAS then splits
 * each GEMM among its own threads), or inside one, for many small independent GEMMs (one per
 * image of a convolution), with OpenBLAS set to one thread meanwhile (glia__blas_serial). */
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

int glia__blas_serial_begin(void) {
    int prev = openblas_get_num_threads();
    if (prev != 1) openblas_set_num_threads(1);
    return prev;
}

void glia__blas_serial_end(int prev) {
    if (prev != 1) openblas_set_num_threads(prev);
}
