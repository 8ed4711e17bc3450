/* cmd_ops.c: glia ops — the op catalogue. */
#include "cli.h"
#include "glia.h"
#include <stdio.h>
#include <string.h>

int cmd_ops(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia ops [--names]\n\nLists every op glia implements (each has a forward "
               "and a backward) with its inputs and outputs.\n  --names  print only the names\n");
        return 0;
    }
    int names = argc > 1 && !strcmp(argv[1], "--names");
    if (argc > 1 && !names) {
        fprintf(stderr, "glia ops: unknown option '%s' (see glia ops --help)\n", argv[1]);
        return 2;
    }
    if (!names) printf("%-22s %-34s %-14s %s\n", "op", "inputs", "outputs", "what it computes");
    for (int i = 0; i < glia_num_ops(); i++) {
        const glia_op_info *op = glia_op_get(i);
        if (names) printf("%s\n", op->name);
        else printf("%-22s %-34s %-14s %s\n", op->name, op->inputs, op->outputs, op->summary);
    }
    return 0;
}
