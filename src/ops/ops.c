/* ops.c: the table of every op. An op is added by writing its glia_op_def in its family's file
 * and listing it in op_list.h. */
#include "../core/internal.h"
#include <string.h>

#define DECLARE(op) extern const glia_op_def glia__op_##op;
GLIA_OPS(DECLARE)
#define ENTRY(op) &glia__op_##op,
const glia_op_def *const glia__ops[] = {GLIA_OPS(ENTRY) NULL};

int glia__op_count(void) { return (int)(sizeof glia__ops / sizeof glia__ops[0]) - 1; }

int glia__op_index(const char *name) {
    for (int i = 0; glia__ops[i]; i++)
        if (!strcmp(glia__ops[i]->name, name)) return i;
    return -1;
}

int glia_num_ops(void) { return glia__op_count(); }

const glia_op_info *glia_op_get(int i) {
    static _Thread_local glia_op_info info;
    if (i < 0 || i >= glia__op_count()) return NULL;
    info.name = glia__ops[i]->name;
    info.summary = glia__ops[i]->summary;
    info.inputs = glia__ops[i]->inputs;
    info.outputs = glia__ops[i]->outputs;
    return &info;
}
