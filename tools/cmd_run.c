/* cmd_run.c: glia run MODEL --input IN.safetensors --output OUT.safetensors — one forward pass
 * in inference mode on the caller's named tensors, every output written by name. MODEL is an
 * ONNX file (imported for the input file's shapes, so any batch size), a trained run's
 * directory or a model file (its named inputs and its output, the logits). How scripts run a model on their own
 * tensors, and how glia is compared with other tools on the same files. */
#include "cli.h"
#include "glia.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

/* reads every tensor of the file (names and shapes from its header) */
static int read_inputs(const char *path, glia_st_entry **e, int *n) {
    if (glia_safetensors_list(path, e, n)) return 0;
    for (int i = 0; i < *n; i++) {
        int64_t m = glia_shape_numel(&(*e)[i].shape);
        (*e)[i].data = malloc((size_t)(m ? m : 1) * sizeof(float));
        if (!(*e)[i].data) return 0;
    }
    return !glia_safetensors_read(path, *e, *n, NULL);
}
static void free_inputs(glia_st_entry *e, int n) {
    for (int i = 0; e && i < n; i++) free(e[i].data);
    glia_st_list_free(e, n);
}

/* --expect: every output against the same-named tensor of the file, |a - b| <= 1e-4 max(|b|, rms(b));
 * 1 when all match, -1 (after saying where) when one does not, 0 on an error */
static const char *expect_path;
static int expect_outputs(const glia_st_entry *out, int n) {
    glia_st_entry *ref = NULL;
    int nr = 0, ok = 1;
    if (!read_inputs(expect_path, &ref, &nr)) ok = 0;
    for (int k = 0; ok == 1 && k < n; k++) {
        int r = 0;
        while (r < nr && strcmp(ref[r].name, out[k].name)) r++;
        int64_t m = glia_shape_numel(&out[k].shape);
        if (r == nr || glia_shape_numel(&ref[r].shape) != m) {
            fprintf(stderr, "glia run: %s has no tensor '%s' of %lld values\n", expect_path,
                    out[k].name, (long long)m);
            ok = -1;
            break;
        }
        /* float32 sums over a deep network err relative to the tensor's scale, not to each
         * element: an element smaller than the tensor's RMS is held to 1e-4 of the RMS */
        double worst = 0, rel = 0, ss = 0;
        int64_t at = 0;
        for (int64_t i = 0; i < m; i++) ss += (double)ref[r].data[i] * ref[r].data[i];
        double rms = m ? sqrt(ss / (double)m) : 0;
        for (int64_t i = 0; i < m; i++) {
            double a = out[k].data[i], b = ref[r].data[i], d = fabs(a - b);
            double q = d / (1e-4 * fmax(fabs(b), rms) + 1e-7);
            if (!(q <= rel)) rel = q, at = i, worst = d; /* NaN counts as the worst */
        }
        printf("%s: max |glia - expected| %.3g at [%lld] (%.3g of the tolerance 1e-4 max(|expected|, "
               "rms %.3g))\n", out[k].name, worst, (long long)at, rel, rms);
        if (!(rel <= 1)) ok = -1;
    }
    free_inputs(ref, nr);
    return ok;
}

/* outputs[k] = node nodes[k] of g, written under names[k] */
static int write_outputs(glia_graph *g, const char *path, int n, const int *nodes,
                         const char *const *names, const glia_shape *shapes) {
    glia_st_entry *out = calloc((size_t)n + 1, sizeof *out);
    int ok = out != NULL;
    for (int k = 0; ok && k < n; k++) {
        out[k].name = names[k];
        glia_node_shape(g, nodes[k], &out[k].shape);
        if (shapes) out[k].shape = shapes[k]; /* the same values in the model's shape */
        int64_t m = glia_shape_numel(&out[k].shape);
        out[k].data = malloc((size_t)(m ? m : 1) * sizeof(float));
        ok = out[k].data && !glia_node_read(g, nodes[k], out[k].data, m);
    }
    ok = ok && (!path || !glia_safetensors_write(path, out, n, NULL, 0));
    if (ok && expect_path) ok = expect_outputs(out, n);
    for (int k = 0; out && k < n; k++) free(out[k].data);
    free(out);
    return ok;
}

/* --bench N: the median of N timed forward passes after 2 warm-up ones */
static int bench_runs;
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static int bench(glia_graph *g, const char *model) {
    double *t = malloc(((size_t)bench_runs + 1) * sizeof *t);
    if (!t) return 0;
    for (int i = 0; i < bench_runs + 2; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (glia_graph_forward(g)) {
            free(t);
            return 0;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (i >= 2) t[i - 2] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    qsort(t, (size_t)bench_runs, sizeof *t, cmp_double);
    printf("glia %s: median %.3f ms over %d runs, %d thread(s)\n", model, t[bench_runs / 2],
           bench_runs, glia_get_num_threads());
    free(t);
    return 1;
}

static int run_onnx(const char *model, glia_st_entry *in, int n_in, const char *out_path) {
    glia_onnx_input *fixed = NULL; /* --const */
    int n_const = 0;
    if (glia_onnx_consts_parse(cli_const ? cli_const : "", &fixed, &n_const)) {
        fprintf(stderr, "glia run: --const: %s\n", glia_last_error());
        return -1;
    }
    glia_onnx_input *gi = calloc((size_t)(n_in + n_const) + 1, sizeof *gi);
    if (!gi) { free(fixed); return 0; }
    for (int i = 0; i < n_in; i++) gi[i] = (glia_onnx_input){in[i].name, in[i].shape.ndim, in[i].shape.dim, NULL, 0};
    for (int i = 0; i < n_const; i++) gi[n_in + i] = fixed[i];
    glia_onnx_options o = {.inputs = gi, .n_inputs = n_in + n_const};
    glia_onnx *m;
    glia_status s = glia_onnx_load(model, &o, &m);
    free(gi);
    free(fixed);
    if (s) return 0;
    glia_graph *g = glia_onnx_graph(m);
    int ok = 1;
    for (int i = 0; ok && i < glia_onnx_num_inputs(m); i++) {
        const char *name = glia_onnx_input_name(m, i);
        if (glia_onnx_input_node(m, i) < 0) continue; /* a constant (--const), or never read */
        int k = 0;
        while (k < n_in && strcmp(in[k].name, name)) k++;
        if (k == n_in) {
            fprintf(stderr, "glia run: %s has no tensor '%s', an input of %s\n", "the input file", name, model);
            ok = -1;
        } else ok = !glia_node_write(g, glia_onnx_input_node(m, i), in[k].data, glia_shape_numel(&in[k].shape));
    }
    /* inference only: no gradient buffers, saved argmaxes or backward-shaped fusion choices
     * (the first forward would otherwise compile for a backward pass) */
    if (ok == 1) ok = !glia_graph_compile(g, 0) && !glia_graph_forward(g);
    if (ok == 1 && bench_runs > 0) ok = bench(g, model);
    if (ok == 1) {
        int n = glia_onnx_num_outputs(m);
        int *nodes = malloc(((size_t)n + 1) * sizeof *nodes);
        glia_shape *shapes = malloc(((size_t)n + 1) * sizeof *shapes);
        const char **names = malloc(((size_t)n + 1) * sizeof *names);
        ok = nodes && names && shapes;
        for (int k = 0; ok && k < n; k++) {
            nodes[k] = glia_onnx_output_node(m, k);
            names[k] = glia_onnx_output_name(m, k);
            glia_onnx_output_shape(m, k, &shapes[k]);
        }
        if (ok) ok = write_outputs(g, out_path, n, nodes, names, shapes);
        free(nodes);
        free(shapes);
        free(names);
    }
    glia_onnx_free(m);
    return ok;
}

/* a run directory or a model file (its seeded initial weights, as glia export writes them):
 * each tensor of the input file goes to the graph's input of its name (one tensor alone: to
 * the model's input), the batch from the model's input along its batch axis */
static int run_model(const char *path, glia_st_entry *in, int n_in, const char *out_path) {
    run_dir r;
    glia_model *m = NULL;
    int is_cfg = ends_with(path, ".cfg");
    if (is_cfg ? cli_model_load(path, 1, 1, 0, &m) != GLIA_OK : !run_dir_open(path, 1, &r, "run")) return is_cfg ? 0 : -1;
    if (!is_cfg) m = r.m;
    glia_graph *g = glia_model_graph(m);
    int x = glia_model_input(m), y = glia_model_output(m), ok = 1;
    int *dst = calloc((size_t)n_in + 1, sizeof *dst);
    if (!dst) ok = 0;
    for (int k = 0; ok == 1 && k < n_in; k++)
        if (n_in == 1) dst[k] = x;
        else if (glia_graph_find(g, in[k].name, &dst[k]) || glia_node_is_param(g, dst[k])) {
            fprintf(stderr, "glia run: input '%s': the model has no input of that name\n", in[k].name);
            ok = -1;
        }
    for (int k = 0; ok == 1 && k < n_in; k++) { /* the batch first, then every shape */
        int ax = glia_node_batch_axis(g, dst[k]);
        if (dst[k] == x && ax >= 0 && ax < in[k].shape.ndim && glia_graph_set_batch(g, in[k].shape.dim[ax])) ok = 0;
    }
    glia_graph_set_training(g, 0); /* compiled for inference (folding) before the inputs go in */
    if (ok == 1 && glia_graph_compile(g, 0)) ok = 0;
    for (int k = 0; ok == 1 && k < n_in; k++) {
        glia_shape xs;
        glia_node_shape(g, dst[k], &xs);
        if (glia_shape_numel(&xs) != glia_shape_numel(&in[k].shape)) {
            char a[96], b[96];
            fprintf(stderr, "glia run: input '%s' is %s; the model takes %s\n", in[k].name,
                    glia_shape_str(&in[k].shape, a, sizeof a), glia_shape_str(&xs, b, sizeof b));
            ok = -1;
        } else if (glia_node_write(g, dst[k], in[k].data, glia_shape_numel(&xs))) ok = 0;
    }
    if (ok == 1) ok = !glia_graph_forward(g);
    const char *name = glia_node_name(g, y);
    if (ok == 1) ok = write_outputs(g, out_path, 1, &y, &name, NULL);
    free(dst);
    if (is_cfg) glia_model_free(m);
    else run_dir_free(&r);
    return ok;
}

int cmd_run(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia run MODEL --input IN.safetensors [--output OUT.safetensors]\n"
               "                [--expect REF.safetensors]\n\n"
               "One forward pass in inference mode. MODEL is an ONNX file (.onnx), a trained\n"
               "run's directory or a model file (.cfg: its initial weights, seed 1, as glia\n"
               "export writes them). IN holds the input tensors by name (an ONNX model's graph\n"
               "inputs; a run's or model's inputs, or its one input alone), any batch size;\n"
               "OUT gets every output by name (a run's: its last layer, the logits), F32.\n"
               "  --expect REF  compare every output with REF's tensor of the same name:\n"
               "                prints the largest difference; exit 1 unless every element\n"
               "                is within 1e-4 of max(|expected|, the tensor's RMS)\n"
               "  --bench N     an ONNX model: also time N more forward passes (after 2\n"
               "                warm-up ones) and print the median in ms\n"
               CLI_CONST_HELP);
        return 0;
    }
    const char *pos[1], *in_path = NULL, *out_path = NULL;
    int n_pos = 0;
    const cli_opt opts[] = {{"--input", 's', &in_path}, {"--output", 's', &out_path},
                            {"--expect", 's', &expect_path}, {"--bench", 'i', &bench_runs},
                            CLI_CONST_OPT,
                            {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, pos, 1, &n_pos, "run")) return 2;
    if (n_pos != 1 || !in_path || (!out_path && !expect_path && bench_runs <= 0)) {
        fprintf(stderr, "glia run: MODEL, --input and --output, --expect or --bench are required (see glia run --help)\n");
        return 2;
    }
    glia_st_entry *in = NULL;
    int n_in = 0, ok;
    if (!read_inputs(in_path, &in, &n_in)) ok = 0;
    else if (ends_with(pos[0], ".onnx")) ok = run_onnx(pos[0], in, n_in, out_path);
    else ok = run_model(pos[0], in, n_in, out_path);
    free_inputs(in, n_in);
    if (ok == 1) return 0;
    if (!ok) fprintf(stderr, "glia run: %s\n", glia_last_error());
    return 1;
}
