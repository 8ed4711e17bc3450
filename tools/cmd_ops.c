/* cmd_ops.c: glia ops — the op catalogue, each op with its declared attributes. */
#include "cli.h"
#include "glia.h"
#include <stdio.h>
#include <string.h>

int cmd_ops(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia ops [--names]\n\nLists every op glia implements (each has a forward "
               "and a backward) with its inputs and outputs, and under it its attributes: name,\n"
               "type, default (or 'required') and allowed values.\n"
               "  --names  print only the names\n");
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
        if (names) {
            printf("%s\n", op->name);
            continue;
        }
        printf("%-22s %-34s %-14s %s\n", op->name, op->inputs, op->outputs, op->summary);
        for (int k = 0; k < op->n_attrs; k++) {
            const glia_op_attr_info *a = glia_op_attr_get(i, k);
            char def[80];
            if (a->def) snprintf(def, sizeof def, "= %s", a->def);
            else snprintf(def, sizeof def, "required");
            printf("    %-14s %-9s %-12s %s\n", a->name, a->type, def, a->range);
        }
    }
    return 0;
}
