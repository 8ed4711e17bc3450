/* cmd_export.c: glia export RUN_DIR|MODEL.cfg OUT.onnx — a network as an ONNX model
 * (glia_onnx_save) for other runtimes: a trained run with its weights, or a model file with
 * its seeded initial weights. */
#include "cli.h"
#include "glia.h"
#include <stdio.h>
#include <string.h>

int cmd_export(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia export RUN_DIR OUT.onnx\n"
               "       glia export MODEL.cfg OUT.onnx [--seed S]\n\n"
               "Writes the network, from its input to its output (the logits), as an ONNX\n"
               "model (opset 13): the batch dimension is symbolic, the weights are stored\n"
               "under glia's (PyTorch's) parameter names. glia's own ops that ONNX lacks\n"
               "(binary layers, attention, clockwork, SCRN, ...) are ONNX functions (IR 8):\n"
               "other runtimes run their bodies, glia imports the ops back as they were.\n"
               "RUN_DIR is a directory written by glia train; a model file gives its initial\n"
               "weights (seeded by --seed, 1).\n"
               "Runs with `glia run OUT.onnx ...`, onnxruntime, and other ONNX tools.\n"
               CLI_CONST_HELP);
        return 0;
    }
    const char *pos[2];
    int n_pos = 0;
    unsigned long long seed = 1;
    const cli_opt opts[] = {{"--seed", 'u', &seed}, CLI_CONST_OPT, {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, pos, 2, &n_pos, "export")) return 2;
    if (n_pos != 2) {
        fprintf(stderr, "glia export: RUN_DIR (or MODEL.cfg) and OUT.onnx are required (see glia export --help)\n");
        return 2;
    }
    size_t n = strlen(pos[0]);
    glia_model *m = NULL;
    run_dir r;
    int is_cfg = n > 4 && !strcmp(pos[0] + n - 4, ".cfg");
    if (is_cfg) {
        if (cli_model_load(pos[0], 1, (uint64_t)seed, 0, &m)) {
            fprintf(stderr, "glia export: %s\n", glia_last_error());
            return 1;
        }
    } else {
        if (!run_dir_open(pos[0], 1, &r, "export")) return 1;
        m = r.m;
    }
    glia_graph *g = glia_model_graph(m);
    int y = glia_model_output(m);
    glia_status s = glia_onnx_save(g, &y, 1, pos[1]);
    if (s) fprintf(stderr, "glia export: %s\n", glia_last_error());
    else printf("glia export: %s -> %s (input '%s', output '%s')\n", pos[0], pos[1],
                glia_node_name(g, glia_model_input(m)), glia_node_name(g, y));
    if (is_cfg) glia_model_free(m);
    else run_dir_free(&r);
    return s ? 1 : 0;
}
