/* run_dir.c: opening a trained run's directory (what glia train writes): model.cfg,
 * weights.safetensors (or another weights file, packed ones included), classes.txt, and the data
 * set named in checkpoint.safetensors. */
#include "cli.h"
#include "glia.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void run_dir_free(run_dir *r) {
    glia_model_free(r->m);
    for (int i = 0; r->names && i < r->classes; i++) free(r->names[i]);
    free(r->names);
    memset(r, 0, sizeof *r);
}

/* a weights file (safetensors, packed ones included) rather than a model file */
static int is_weights_file(const char *path) {
    size_t n = strlen(path), k = strlen(".safetensors");
    return n >= k && !strcmp(path + n - k, ".safetensors");
}

int run_dir_open(const char *dir, int64_t batch, run_dir *r, const char *cmd) {
    struct stat st;
    if (!stat(dir, &st) && !S_ISDIR(st.st_mode) && is_weights_file(dir)) {
        fprintf(stderr, "glia %s: %s is not a directory (a run directory written by glia train)\n",
                cmd, dir);
        memset(r, 0, sizeof *r);
        return 0;
    }
    return run_dir_open_weights(dir, NULL, batch, r, cmd);
}

int run_dir_open_weights(const char *path, const char *weights, int64_t batch, run_dir *r,
                         const char *cmd) {
    memset(r, 0, sizeof *r);
    struct stat st;
    snprintf(r->dir, sizeof r->dir, "%s", path);
    int file = !stat(path, &st) && !S_ISDIR(st.st_mode);
    /* a model file (an .onnx, or model text) instead of a run: its own weights, no data set */
    int model_file = file && !is_weights_file(path);
    if (file && !model_file) { /* a weights file: its directory's run */
        char *slash = strrchr(r->dir, '/');
        if (!weights) weights = path;
        if (slash == r->dir) slash[1] = 0;
        else if (slash) *slash = 0;
        else snprintf(r->dir, sizeof r->dir, ".");
    }
    const char *dir = r->dir;
    char p[1200];
    snprintf(p, sizeof p, model_file ? "%s" : "%s/model.cfg", dir);
    glia_status s = cli_model_load(p, batch, 1, 0, &r->m);
    if (weights) snprintf(r->weights, sizeof r->weights, "%s", weights);
    else if (!model_file) snprintf(r->weights, sizeof r->weights, "%s/weights.safetensors", dir);
    if (!s && r->weights[0]) s = glia_weights_load(glia_model_graph(r->m), r->weights, &r->packed);
    if (s) {
        if (weights && r->m) /* the model read: the weights file is the trouble */
            fprintf(stderr, "glia %s: %s\n", cmd, glia_last_error());
        else
            fprintf(stderr, "glia %s: %s\n(is %s a directory written by glia train, or a model file?)\n",
                    cmd, glia_last_error(), dir);
        run_dir_free(r);
        return 0;
    }
    r->classes = atoi(glia_model_option(r->m, "classes"));
    char **names = NULL;
    int n = 0;
    if (!model_file && glia_class_names_load(dir, &names, &n)) {
        fprintf(stderr, "glia %s: %s\n", cmd, glia_last_error());
        run_dir_free(r);
        return 0;
    }
    r->names = r->classes > 0 ? calloc((size_t)r->classes, sizeof *r->names) : NULL;
    int oom = r->classes > 0 && !r->names;
    for (int c = 0; r->names && c < r->classes; c++) { /* a class without a name: its number */
        char num[16];
        snprintf(num, sizeof num, "%d", c);
        oom |= !(r->names[c] = strdup(c < n ? names[c] : num));
    }
    glia_class_names_free(names, n);
    if (oom) {
        fprintf(stderr, "glia %s: out of memory\n", cmd);
        run_dir_free(r);
        return 0;
    }
    r->named = n;
    snprintf(r->data, sizeof r->data, "fashion-mnist");
    snprintf(p, sizeof p, "%s/checkpoint.safetensors", dir);
    glia_st_meta meta;
    if (!glia_safetensors_read_meta(p, &meta)) {
        const char *d = glia_st_meta_get(&meta, "data");
        if (d) snprintf(r->data, sizeof r->data, "%s", d);
        if ((d = glia_st_meta_get(&meta, "val_data"))) snprintf(r->val_data, sizeof r->val_data, "%s", d);
        if ((d = glia_st_meta_get(&meta, "target"))) snprintf(r->target, sizeof r->target, "%s", d);
        glia_st_meta_free(&meta);
    }
    return 1;
}
