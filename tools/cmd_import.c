/* cmd_import.c: glia import MODEL.onnx --out DIR — an ONNX model as a run directory in glia's
 * own format (model.cfg + weights.safetensors; glia_model_import), when its graph fits the
 * model text; otherwise the error names the node and op that does not. Checks the result: the
 * text model and the file's graph on the same random input, the largest difference printed. */
#include "cli.h"
#include "glia.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* both models on one input in [0, 1): the largest |difference| of the outputs, -1 on an error */
static double compare(glia_model *a, glia_model *b) {
    glia_graph *ga = glia_model_graph(a), *gb = glia_model_graph(b);
    glia_shape xs, ys;
    glia_node_shape(ga, glia_model_input(a), &xs);
    glia_node_shape(ga, glia_model_output(a), &ys);
    int64_t nx = glia_shape_numel(&xs), ny = glia_shape_numel(&ys);
    float *x = malloc((size_t)nx * sizeof *x), *ya = malloc((size_t)ny * sizeof *ya), *yb = malloc((size_t)ny * sizeof *yb);
    double worst = -1;
    glia_rng r;
    glia_rng_seed(&r, 1, 2);
    /* a sequence model: token ids 0 and 1 (every vocabulary has them), and the lengths T, T - 1, ... */
    const int T = glia_model_sequence(a), la = glia_model_lengths(a), lb = glia_model_lengths(b);
    for (int64_t i = 0; x && i < nx; i++) x[i] = T > 0 ? (float)(glia_rng_uniform(&r) < 0.5f) : glia_rng_uniform(&r);
    float len[64];
    int64_t nl = T > 0 && glia_node_shape(ga, la, &ys) == GLIA_OK ? glia_shape_numel(&ys) : 0;
    for (int64_t i = 0; i < nl && i < 64; i++) len[i] = (float)(T - i % T);
    glia_node_shape(ga, glia_model_output(a), &ys);
    glia_graph_set_training(ga, 0);
    glia_graph_set_training(gb, 0);
    int ok = nl <= 64 && (!nl || (glia_model_sequence(b) == T && !glia_node_write(ga, la, len, nl) &&
                                  !glia_node_write(gb, lb, len, nl)));
    if (ok && x && ya && yb && !glia_node_write(ga, glia_model_input(a), x, nx) && !glia_node_write(gb, glia_model_input(b), x, nx) &&
        !glia_graph_forward(ga) && !glia_graph_forward(gb) && !glia_node_read(ga, glia_model_output(a), ya, ny) &&
        !glia_node_read(gb, glia_model_output(b), yb, ny)) {
        worst = 0;
        for (int64_t i = 0; i < ny; i++) worst = fmax(worst, fabs((double)ya[i] - yb[i]));
    }
    free(x);
    free(ya);
    free(yb);
    return worst;
}

int cmd_import(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia import MODEL.onnx --out DIR\n\n"
               "Writes the ONNX model as a run directory in glia's own format: DIR/model.cfg\n"
               "(model text: [conv], [dense], pools, [batchnorm], [add], [concat], [embedding],\n"
               "[onehot], [lstm], [gru], [rnn], [seqdense], ...) and\n"
               "DIR/weights.safetensors (the file's weights under the layers' names), which\n"
               "every command takes as it takes a trained run. A node that the model text\n"
               "cannot express is an error naming it and its op (the .onnx file itself still\n"
               "works wherever a model goes). Checks the text model against the file's graph\n"
               "on a random input and prints the largest difference.\n");
        return 0;
    }
    const char *pos[1], *out = NULL;
    int n_pos = 0;
    const cli_opt opts[] = {{"--out", 's', &out}, {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, pos, 1, &n_pos, "import")) return 2;
    if (n_pos != 1 || !out) {
        fprintf(stderr, "glia import: MODEL.onnx and --out DIR are required (see glia import --help)\n");
        return 2;
    }
    glia_model *m = NULL, *src = NULL;
    char path[1200], *text = NULL;
    int rc = 1;
    double diff = -1;
    if (glia_model_import(pos[0], 2, 1, &m) || glia_model_load(pos[0], 2, 1, &src) || glia_model_to_text(m, &text)) {
        fprintf(stderr, "glia import: %s\n", glia_last_error());
    } else if ((diff = compare(src, m)) < 0 || diff > 1e-4) {
        fprintf(stderr, "glia import: the model text's output differs from the file's graph by %g\n", diff);
    } else if (mkdir(out, 0777) && errno != EEXIST) {
        fprintf(stderr, "glia import: %s: cannot create: %s\n", out, strerror(errno));
    } else {
        snprintf(path, sizeof path, "%s/model.cfg", out);
        FILE *f = fopen(path, "w");
        int ok = f && fputs(text, f) >= 0;
        if (f && fclose(f)) ok = 0;
        if (!ok) fprintf(stderr, "glia import: %s: cannot write: %s\n", path, strerror(errno));
        snprintf(path, sizeof path, "%s/weights.safetensors", out);
        if (ok && glia_safetensors_save(glia_model_graph(m), path)) {
            fprintf(stderr, "glia import: %s\n", glia_last_error());
            ok = 0;
        }
        if (ok) {
            printf("glia import: %s -> %s/{model.cfg,weights.safetensors}: %d layers; output equal to the "
                   "file's graph within %.2g on a random input\n", pos[0], out, glia_model_num_layers(m), diff);
            rc = 0;
        }
    }
    free(text);
    glia_model_free(m);
    glia_model_free(src);
    return rc;
}
