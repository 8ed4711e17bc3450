/* run_dir.c: opening a trained run's directory (what glia train writes): model.cfg,
 * weights.safetensors, classes.txt, and the data set named in checkpoint.safetensors. */
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

int run_dir_open(const char *dir, int64_t batch, run_dir *r, const char *cmd) {
    memset(r, 0, sizeof *r);
    char path[1200];
    struct stat st;
    /* a model file (an .onnx, or model text) instead of a run: its own weights, no data set */
    int file = !stat(dir, &st) && S_ISREG(st.st_mode);
    snprintf(path, sizeof path, file ? "%s" : "%s/model.cfg", dir);
    glia_status s = glia_model_load(path, batch, 1, &r->m);
    if (!s && !file) {
        snprintf(path, sizeof path, "%s/weights.safetensors", dir);
        s = glia_safetensors_load(glia_model_graph(r->m), path);
    }
    if (s) {
        fprintf(stderr, "glia %s: %s\n(is %s a directory written by glia train, or a model file?)\n",
                cmd, glia_last_error(), dir);
        run_dir_free(r);
        return 0;
    }
    r->classes = atoi(glia_model_option(r->m, "classes"));
    char **names = NULL;
    int n = 0;
    if (!file && glia_class_names_load(dir, &names, &n)) {
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
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    glia_st_meta meta;
    if (!glia_safetensors_read_meta(path, &meta)) {
        const char *d = glia_st_meta_get(&meta, "data");
        if (d) snprintf(r->data, sizeof r->data, "%s", d);
        if ((d = glia_st_meta_get(&meta, "val_data"))) snprintf(r->val_data, sizeof r->val_data, "%s", d);
        if ((d = glia_st_meta_get(&meta, "target"))) snprintf(r->target, sizeof r->target, "%s", d);
        glia_st_meta_free(&meta);
    }
    return 1;
}
