/* allreduce.c: MPI_Allreduce (float, MPI_SUM, in place) of n floats, the call glia's
 * data-parallel training makes once a step (src/train/dist.c): the median seconds over R calls,
 * for the sizes given, to fit the ring model's latency and bandwidth terms (docs/scaling.md).
 * Built and run by bench/mpi_speed.sh:  mpicc -O2 bench/allreduce.c -o build/allreduce
 *   mpirun -np K build/allreduce N... */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    enum { R = 41 };
    for (int a = 1; a < argc; a++) {
        long n = atol(argv[a]);
        float *buf = calloc((size_t)n, sizeof *buf);
        double t[R];
        if (!buf) MPI_Abort(MPI_COMM_WORLD, 1);
        for (int r = 0; r < R; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            t[r] = MPI_Wtime() - t0;
        }
        qsort(t, R, sizeof *t, cmp);
        if (!rank) printf("allreduce K=%d floats=%ld bytes=%ld median_us=%.1f\n", size, n, 4 * n, 1e6 * t[R / 2]);
        free(buf);
    }
    MPI_Finalize();
    return 0;
}
