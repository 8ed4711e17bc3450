/* cli_opts.c: the option parser of the glia command's subcommands (cli.h). */
#include "cli.h"
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_u64(const char *v, uint64_t *out) {
    /* strtoull takes "-1" and gives 2^64 - 1 without a word: a seed or count is digits only */
    if (!v || v[0] < '0' || v[0] > '9') return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end) return 0;
    *out = x;
    return 1;
}

int cli_parse(int argc, char **argv, const cli_opt *opts, const char **pos, int max_pos,
              int *n_pos, const char *cmd) {
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const cli_opt *o = NULL;
        for (int k = 0; opts && opts[k].name; k++)
            if (!strcmp(argv[i], opts[k].name)) o = &opts[k];
        if (!o) {
            if (argv[i][0] == '-' && argv[i][1]) {
                fprintf(stderr, "glia %s: unknown option '%s' (see glia %s --help)\n", cmd, argv[i], cmd);
                return 0;
            }
            if (*n_pos >= max_pos) {
                fprintf(stderr, "glia %s: unexpected argument '%s' (see glia %s --help)\n", cmd, argv[i], cmd);
                return 0;
            }
            pos[(*n_pos)++] = argv[i];
            continue;
        }
        if (o->kind == 'b') {
            *(int *)o->dst = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "glia %s: %s needs a value (see glia %s --help)\n", cmd, o->name, cmd);
            return 0;
        }
        const char *v = argv[++i];
        char *end = NULL;
        int in_range = 1; /* an integer too large for its type is bad, not cut */
        errno = 0;
        if (o->kind == 's') {
            *(const char **)o->dst = v;
        } else if (o->kind == 'i') {
            long l = strtol(v, &end, 10);
            in_range = !errno && l >= INT_MIN && l <= INT_MAX;
            *(int *)o->dst = (int)l;
        } else if (o->kind == 'u') {
            in_range = cli_u64(v, (uint64_t *)o->dst);
        } else {
            *(float *)o->dst = strtof(v, &end);
        }
        if (!in_range || (end && (end == v || *end))) {
            fprintf(stderr, "glia %s: bad %s '%s'\n", cmd, o->name, v);
            return 0;
        }
    }
    return 1;
}

const char *cli_const;

int cli_const_arg(int argc, char **argv, int *i, const char *cmd) {
    if (strcmp(argv[*i], "--const")) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "glia %s: --const needs a value (see glia %s --help)\n", cmd, cmd);
        return -1;
    }
    cli_const = argv[++*i];
    return 1;
}

glia_status cli_model_load(const char *path, int64_t batch, uint64_t seed, int shapes_only, glia_model **m) {
    return glia_model_load_const(path, cli_const, batch, seed, shapes_only, m);
}
