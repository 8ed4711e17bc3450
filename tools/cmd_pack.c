/* cmd_pack.c: glia pack DIR - a binary network's weights packed one bit per value (the packed
 * weights file, src/io/packed.c), with the sizes, and optionally the test accuracy of the
 * packed network (its scales rounded to half precision) against the run's own weights. */
#include "cli.h"
#include "glia.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? -1 : (long long)st.st_size;
}

/* the test accuracy of run r with the weights in path (packed: glia_packed_load) */
static int accuracy(const char *dir, const char *path, int packed, const char *data, double *acc) {
    run_dir r;
    if (!run_dir_open(dir, 256, &r, "pack")) return 0;
    glia_dataset *d = NULL;
    glia_eval_result e = {0};
    glia_status s = packed ? glia_packed_load(glia_model_graph(r.m), path) : GLIA_OK;
    if (!s) s = glia_dataset_load(data ? data : r.data, "test", &d);
    if (!s) s = glia_evaluate(r.m, d, NULL, 0, &e);
    if (s) fprintf(stderr, "glia pack: %s\n", glia_last_error());
    else *acc = e.acc;
    glia_eval_result_free(&e);
    glia_dataset_free(d);
    run_dir_free(&r);
    return !s;
}

int cmd_pack(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia pack DIR [--out FILE] [--eval] [--data D]\n\n"
               "Writes the weights of the binary network trained in DIR (layers with binary =\n"
               "weights or xnor) as a packed weights file: each binarized weight as one bit per\n"
               "value and one half-float (F16) scale per filter, the other parameters as float32\n"
               "(a safetensors file, format glia-packed-2: docs/model-format.md). Prints the sizes.\n"
               "  --out FILE  where to write (default DIR/weights.packed.safetensors)\n"
               "  --eval      also evaluate the network on the test set with its own weights\n"
               "              and with the packed file read back (its scales rounded to half\n"
               "              precision: the two may differ slightly)\n"
               "  --data D    the data set for --eval (default: the run's)\n");
        return 0;
    }
    const char *dir = NULL, *out = NULL, *data = NULL;
    int eval = 0;
    const cli_opt opts[] = {{"--out", 's', &out}, {"--eval", 'b', &eval}, {"--data", 's', &data}, {NULL, 0, NULL}};
    int npos = 0;
    if (!cli_parse(argc, argv, opts, &dir, 1, &npos, "pack")) return 2;
    if (!dir) {
        fprintf(stderr, "glia pack: which run directory? (see glia pack --help)\n");
        return 2;
    }
    char def[1200], wpath[1200];
    if (!out) snprintf(def, sizeof def, "%s/weights.packed.safetensors", dir), out = def;
    snprintf(wpath, sizeof wpath, "%s/weights.safetensors", dir);
    run_dir r;
    if (!run_dir_open(dir, 1, &r, "pack")) return 1;
    glia_packed_info in;
    glia_status s = glia_packed_save(glia_model_graph(r.m), out, &in);
    run_dir_free(&r);
    if (s) {
        fprintf(stderr, "glia pack: %s\n", glia_last_error());
        return 1;
    }
    if (!in.binary)
        fprintf(stderr, "glia pack: note: %s has no binary layer; every parameter stays float32\n", dir);
    long long wf = file_size(wpath), pf = file_size(out);
    printf("wrote %s\n", out);
    printf("binarized parameters  %d tensors, %lld values\n", in.binary, (long long)in.binary_values);
    if (in.binary)
        printf("  as float32          %lld bytes\n  packed              %lld bytes (bits + scales): "
               "%.1fx smaller\n", (long long)in.binary_float_bytes,
               (long long)in.binary_packed_bytes,
               (double)in.binary_float_bytes / (double)in.binary_packed_bytes);
    printf("weights file          %lld bytes (%s)\npacked file           %lld bytes: %.1fx smaller\n",
           wf, wpath, pf, pf > 0 ? (double)wf / (double)pf : 0.0);
    if (!eval) return 0;
    double a = 0, b = 0;
    if (!accuracy(dir, wpath, 0, data, &a) || !accuracy(dir, out, 1, data, &b)) return 1;
    printf("test accuracy         %.2f%% with weights.safetensors, %.2f%% with the packed file "
           "(%+.2f points: F16 scales)\n", 100 * a, 100 * b, 100 * (b - a));
    return 0;
}
