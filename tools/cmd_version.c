/* cmd_version.c: glia version */
#include "cli.h"
#include "glia.h"
#include <cblas.h>
#include <stdio.h>

int cmd_version(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia version\n\nPrints glia's version, the OpenBLAS build and the thread count.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "glia version: unexpected argument '%s' (see glia version --help)\n", argv[1]);
        return 2;
    }
    printf("glia %s\n", glia_version());
    printf("openblas %s\n", openblas_get_config());
    printf("threads %d\n", glia_get_num_threads());
    return 0;
}
