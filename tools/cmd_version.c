/* cmd_version.c: glia version */
#include "cli.h"
#include "glia.h"
#include <cblas.h>
#include <stdio.h>

int cmd_version(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia version\n\nPrints glia's version, the OpenBLAS build, the thread count and\n"
               "the MPI library glia was built with (data-parallel training: glia train --help).\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "glia version: unexpected argument '%s' (see glia version --help)\n", argv[1]);
        return 2;
    }
    printf("glia %s\n", glia_version());
    printf("openblas %s\n", openblas_get_config());
    printf("threads %d\n", glia_get_num_threads());
    const char *mpi = glia_dist_backend();
    if (mpi) printf("mpi %s (data-parallel training under mpirun)\n", mpi);
    else printf("mpi none (built without MPI: scripts/install-deps --mpi, then make clean all)\n");
    return 0;
}
