/* cmd_summary.c: glia summary MODEL — each layer's output shape, parameters and
 * multiply-adds, like Keras's model.summary(); --json for machines. */
#include "cli.h"
#include "glia.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An ONNX file: the imported graph's op nodes (batch 1) with their output shapes, and the
 * parameters (initialisers read as tensors) each op reads directly. */
static int summary_onnx(const char *path, const char *shapes, int json) {
    glia_onnx *m;
    glia_onnx_input *fixed = NULL, *in = NULL; /* --const, then --input's shapes */
    glia_st_entry *e = NULL;
    int n_fixed = 0, n_e = 0;
    if (glia_onnx_consts_parse(cli_const ? cli_const : "", &fixed, &n_fixed)) {
        fprintf(stderr, "glia summary: --const: %s\n", glia_last_error());
        return 1;
    }
    glia_status st = shapes ? glia_safetensors_list(shapes, &e, &n_e) : GLIA_OK;
    if (!st && !(in = calloc((size_t)(n_fixed + n_e) + 1, sizeof *in))) st = GLIA_ENOMEM;
    if (!st) {
        for (int i = 0; i < n_fixed; i++) in[i] = fixed[i];
        for (int i = 0; i < n_e; i++) in[n_fixed + i] = (glia_onnx_input){e[i].name, e[i].shape.ndim, e[i].shape.dim, NULL, 0};
        glia_onnx_options o = {.inputs = in, .n_inputs = n_fixed + n_e, .batch = 1};
        st = glia_onnx_load(path, &o, &m);
    }
    free(fixed);
    free(in);
    glia_st_list_free(e, n_e);
    if (st) {
        fprintf(stderr, "glia summary: %s\n", glia_last_error());
        return 1;
    }
    glia_graph *g = glia_onnx_graph(m);
    int64_t total = 0, trainable = 0;
    if (json) printf("{\"model\": \"onnx\", \"nodes\": [");
    else printf("%-40s %-16s %-22s %12s\n", "node", "op", "output shape", "params");
    int first = 1;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        glia_shape s;
        char shape[96];
        glia_node_shape(g, i, &s);
        glia_shape_str(&s, shape, sizeof shape);
        if (glia_node_is_param(g, i)) {
            total += glia_shape_numel(&s);
            if (glia_node_trainable(g, i)) trainable += glia_shape_numel(&s);
            continue;
        }
        const char *op = glia_node_op(g, i);
        if (!strcmp(op, "buffer")) continue;
        if (json) {
            printf("%s\n  {\"name\": ", first ? "" : ",");
            predict_json_str(glia_node_name(g, i));
            printf(", \"op\": \"%s\", \"shape\": \"%s\"}", op, shape);
        } else printf("%-40s %-16s %-22s\n", glia_node_name(g, i), op, shape);
        first = 0;
    }
    if (json) printf("\n], \"total_params\": %lld, \"trainable_params\": %lld}\n", (long long)total, (long long)trainable);
    else printf("total params: %lld\ntrainable params: %lld\n(glia graph of %s for batch 1)\n",
                (long long)total, (long long)trainable, path);
    glia_onnx_free(m);
    return 0;
}

int cmd_summary(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia summary MODEL.cfg|MODEL.onnx [--json] [--input IN.safetensors] [--const ...]\n\n"
               "Prints each layer of the model with its output shape (batch first; for\n"
               "sequence models time first, [T, None, ...], and [T*None, ...] for the rows of\n"
               "every step), its parameter count and its multiply-adds per sample (per\n"
               "sequence), then the totals.\n"
               "An ONNX file: the nodes of the glia graph it imports into (batch 1), their\n"
               "ops and output shapes, and the parameter count.\n"
               "Then the memory one training step takes at the model's [net] batch (activations\n"
               "and gradients as planned, with the bytes that reuse saves and, for networks\n"
               "with concatenations, what recomputing them in backward saves; workspace; saved\n"
               "state; inputs; parameters and their gradients), without allocating any of it.\n"
               "  --json  the same as JSON: {\"layers\":[...], \"total_params\": N,\n"
               "          \"trainable_params\": N, \"total_macs\": N, \"memory\": {...}}\n"
               "  --input IN  an .onnx model: its inputs take the shapes of IN's tensors of\n"
               "              the same names (as glia run's; needed where the file leaves more\n"
               "              than the batch free, e.g. Silero VAD's [N, samples])\n"
               CLI_CONST_HELP);
        return 0;
    }
    const char *path = NULL, *shapes = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int k = cli_const_arg(argc, argv, &i, "summary");
        if (k < 0) return 2;
        if (k) continue;
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--input") && i + 1 < argc) shapes = argv[++i];
        else if (argv[i][0] == '-' || path) {
            fprintf(stderr, "glia summary: unexpected argument '%s' (see glia summary --help)\n", argv[i]);
            return 2;
        } else path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "glia summary: which model? (see glia summary --help)\n");
        return 2;
    }
    size_t plen = strlen(path);
    if (plen > 5 && !strcmp(path + plen - 5, ".onnx")) return summary_onnx(path, shapes, json);
    if (shapes) {
        fprintf(stderr, "glia summary: --input gives an .onnx file's input shapes; %s is model text\n", path);
        return 2;
    }
    glia_model *m;
    if (cli_model_load(path, 1, 1, 1, &m)) { /* no weights: billions of parameters are fine */
        fprintf(stderr, "glia summary: %s\n", glia_last_error());
        return 1;
    }
    int64_t total = 0, trainable = 0, macs = 0;
    if (json) {
        printf("{\"model\": ");
        predict_json_str(path); /* a path may hold quotes */
        printf(", \"layers\": [");
    }
    else printf("%-16s %-14s %-20s %12s %14s\n", "layer", "type", "output shape", "params", "MACs");
    for (int i = 0; i < glia_model_num_layers(m); i++) {
        glia_layer_info li;
        glia_model_layer(m, i, &li);
        char shape[96] = "[None"; /* the batch, as Keras shows it */
        /* sequence models: [T, None, ...] time-major, [T*None, ...] for every step's rows */
        int T = glia_model_sequence(m), first = 1;
        if (T > 0 && li.shape.ndim >= 3) snprintf(shape, sizeof shape, "[%d, None", T), first = 2;
        else if (T > 1 && li.shape.ndim == 2 && li.shape.dim[0] == T) snprintf(shape, sizeof shape, "[%d*None", T);
        size_t u = strlen(shape);
        for (int d = first; d < li.shape.ndim && u < sizeof shape; d++)
            u += (size_t)snprintf(shape + u, sizeof shape - u, ", %lld", (long long)li.shape.dim[d]);
        if (u < sizeof shape) snprintf(shape + u, sizeof shape - u, "]");
        if (json) {
            printf("%s\n  {\"name\": \"%s\", \"type\": \"%s\", \"output_shape\": [", i ? "," : "", li.name, li.type);
            if (first == 2) printf("%d, null", T);
            else if (shape[1] != 'N') printf("\"%d*null\"", T);
            else printf("null");
            for (int d = first; d < li.shape.ndim; d++) printf(", %lld", (long long)li.shape.dim[d]);
            printf("], \"params\": %lld, \"trainable_params\": %lld, \"macs\": %lld}", (long long)li.params,
                   (long long)li.trainable_params, (long long)li.macs);
        } else {
            printf("%-16s %-14s %-20s %12lld %14lld\n", li.name, li.type, shape, (long long)li.params,
                   (long long)li.macs);
        }
        total += li.params;
        trainable += li.trainable_params;
        macs += li.macs;
    }
    /* the training step's memory at [net] batch, planned without allocating */
    glia_graph *g = glia_model_graph(m);
    long long batch = atoll(glia_model_option(m, "batch"));
    glia_memory_stats ms;
    glia_memory_stats kept; /* the plan that recomputes nothing (GLIA_COMPILE_NO_RECOMPUTE) */
    int have_mem = batch > 0 && !glia_graph_set_batch(g, batch) &&
                   !glia_graph_compile(g, GLIA_COMPILE_BACKWARD | GLIA_COMPILE_PLAN_ONLY |
                                              GLIA_COMPILE_NO_RECOMPUTE) &&
                   !glia_graph_memory(g, &kept) &&
                   !glia_graph_compile(g, GLIA_COMPILE_BACKWARD | GLIA_COMPILE_PLAN_ONLY) &&
                   !glia_graph_memory(g, &ms);
    const double mib = 1024.0 * 1024;
    if (json) {
        printf("\n], \"total_params\": %lld, \"trainable_params\": %lld, \"total_macs\": %lld",
               (long long)total, (long long)trainable, (long long)macs);
        if (have_mem)
            printf(", \"memory\": {\"batch\": %lld, \"activations_and_gradients\": %zu, "
                   "\"without_reuse\": %zu, \"workspace\": %zu, \"saved\": %zu, \"inputs\": %zu, "
                   "\"params\": %zu, \"param_grads\": %zu, \"without_recompute\": %zu}", batch,
                   ms.arena, ms.arena_no_reuse, ms.workspace, ms.saved, ms.inputs, ms.params,
                   ms.param_grads, kept.arena);
        printf("}\n");
    } else {
        printf("total params: %lld\ntrainable params: %lld\nnon-trainable params: %lld\n"
               "multiply-adds per sample: %lld\n", (long long)total, (long long)trainable,
               (long long)(total - trainable), (long long)macs);
        char rec[96] = "";
        if (have_mem && kept.arena != ms.arena) /* concatenations recomputed in backward */
            snprintf(rec, sizeof rec, "; %.1f MiB keeping what is recomputed", kept.arena / mib);
        if (have_mem)
            printf("memory of a training step, batch %lld: activations and gradients %.1f MiB "
                   "(%.1f MiB without reuse%s), workspace %.1f MiB, saved %.1f MiB, inputs %.1f MiB, "
                   "parameters %.1f MiB + gradients %.1f MiB (+ the optimiser's state)\n", batch,
                   ms.arena / mib, ms.arena_no_reuse / mib, rec, ms.workspace / mib, ms.saved / mib,
                   ms.inputs / mib, ms.params / mib, ms.param_grads / mib);
        else
            printf("memory of a training step: not planned (%s)\n", glia_last_error());
    }
    glia_model_free(m);
    return 0;
}
