/* viz_common.c: helpers shared by the picture commands (see viz_common.h). */
#include "viz_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void viz_input_shape(run_dir *r, int *c, int *h, int *w) {
    glia_shape s;
    glia_node_shape(glia_model_graph(r->m), glia_model_input(r->m), &s);
    *c = s.ndim == 4 ? (int)s.dim[1] : 0;
    *h = s.ndim == 4 ? (int)s.dim[2] : 0;
    *w = s.ndim == 4 ? (int)s.dim[3] : 0;
}

float *viz_image(run_dir *r, const char *spec, int invert, int *label, const char *cmd) {
    int c, h, w;
    viz_input_shape(r, &c, &h, &w);
    if (!c) {
        fprintf(stderr, "glia %s: the model does not take images [N, C, H, W]\n", cmd);
        return NULL;
    }
    size_t n = (size_t)c * h * w;
    float *px = malloc(n * sizeof *px);
    if (!px) return NULL;
    *label = -1;
    if (!strncmp(spec, "test:", 5)) {
        char *end;
        long k = strtol(spec + 5, &end, 10);
        glia_dataset *d = NULL;
        if (*end || k < 0) {
            fprintf(stderr, "glia %s: bad image '%s' (test:K with K >= 0)\n", cmd, spec);
            free(px);
            return NULL;
        }
        if (glia_dataset_load(r->data, "test", &d)) {
            fprintf(stderr, "glia %s: %s\n", cmd, glia_last_error());
            free(px);
            return NULL;
        }
        glia_shape *is = &d->images->shape;
        if (k >= is->dim[0] || (size_t)(glia_shape_numel(is) / is->dim[0]) != n) {
            fprintf(stderr, "glia %s: %s has %lld test images of %lld values; asked for image %ld of %zu\n",
                    cmd, r->data, (long long)is->dim[0], (long long)(glia_shape_numel(is) / is->dim[0]), k, n);
            glia_dataset_free(d);
            free(px);
            return NULL;
        }
        glia_dataset_image(d, k, px);
        *label = (int)d->labels->data[k];
        glia_dataset_free(d);
    } else {
        glia_tensor *t = NULL;
        if (glia_image_load(spec, c, h, w, &t)) {
            fprintf(stderr, "glia %s: %s\n", cmd, glia_last_error());
            free(px);
            return NULL;
        }
        memcpy(px, t->data, n * sizeof *px);
        glia_tensor_free(t);
    }
    if (invert)
        for (size_t i = 0; i < n; i++) px[i] = 1 - px[i];
    return px;
}

void viz_class_str(const run_dir *r, int cls, float p, char *buf, size_t n) {
    snprintf(buf, n, "%s %.1f%%", cls >= 0 && cls < r->classes ? r->names[cls] : "?", 100 * p);
}

int viz_zoom(int size, int h) { return size / h > 1 ? size / h : 1; }

int viz_fail(const char *cmd) {
    fprintf(stderr, "glia %s: %s\n", cmd, glia_last_error());
    return 1;
}

void viz_wrote(const char *path, int w, int h) { printf("wrote %s (%d x %d)\n", path, w, h); }

int viz_start(int argc, char **argv, const cli_opt *opts, int image, viz_args *a, const char *cmd) {
    enum { MAX_OPTS = 32 };
    memset(a, 0, sizeof *a);
    snprintf(a->out_default, sizeof a->out_default, "%s.png", cmd);
    a->out = a->out_default;
    /* the shared options (--invert only with an IMAGE), then the command's */
    uint64_t max_px = 0;
    cli_opt all[MAX_OPTS] = {CLI_CONST_OPT, {"--layer", 's', &a->layer}, {"--out", 's', &a->out},
                             {"--invert", 'b', &a->invert}, {"--max-pixels", 'u', &max_px}};
    int n = image ? 5 : 3;
    for (int k = 0; opts && opts[k].name; k++) {
        if (n == MAX_OPTS - 1) {
            fprintf(stderr, "glia %s: more than %d options\n", cmd, MAX_OPTS - 1);
            return 2;
        }
        all[n++] = opts[k];
    }
    all[n] = (cli_opt){NULL, 0, NULL};
    const char *pos[2];
    int want = image ? 2 : 1, got;
    if (!cli_parse(argc, argv, all, pos, want, &got, cmd)) return 2;
    if (max_px > INT64_MAX) {
        fprintf(stderr, "glia %s: bad --max-pixels\n", cmd);
        return 2;
    }
    if (max_px) glia_image_set_max_pixels((int64_t)max_px); /* IMAGE's pixel limit */
    if (got != want) {
        fprintf(stderr, "glia %s: %s (see glia %s --help)\n", cmd,
                image ? "need DIR and IMAGE" : "which run directory?", cmd);
        return 2;
    }
    a->image = image ? pos[1] : NULL;
    return viz_open(pos[0], &a->r, cmd) ? 0 : 1;
}

int viz_open(const char *dir, run_dir *r, const char *cmd) {
    if (!run_dir_open(dir, 1, r, cmd)) return 0;
    /* One image at a time: for a small network the threads cost more than they save (100
     * attacks on LeNet-5 took 29 s with 2 threads on a busy 2-core machine, 2.5 s with 1). */
    int64_t macs = 0;
    for (int i = 0; i < glia_model_num_layers(r->m); i++) {
        glia_layer_info li;
        if (!glia_model_layer(r->m, i, &li)) macs += li.macs;
    }
    if (macs < 50000000) glia_set_num_threads(1);
    return 1;
}
