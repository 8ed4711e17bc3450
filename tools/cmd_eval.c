/* cmd_eval.c: glia eval DIR - a trained model's test loss, accuracy, top-5 accuracy, per-class
 * accuracy and confusion matrix with class names; with its weights.safetensors or another
 * weights file, a packed one (glia pack) included. */
#include "cli.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void warn(void *ctx, const char *msg) {
    (void)ctx;
    fprintf(stderr, "glia eval: warning: %s\n", msg);
}

/* a named set or IDX directory (its split), or an image folder or list file (every image, at
 * the model's input size, mapped onto the run's classes) */
static glia_status load_data(run_dir *r, const char *data, const char *split, long long cache_mb,
                             glia_dataset **d) {
    if (!glia_image_folder_kind(data)) return glia_dataset_load(data, split, d);
    glia_shape in;
    glia_graph *g = glia_model_graph(r->m);
    glia_status s = glia_node_shape(g, glia_model_input(r->m), &in);
    if (s) return s;
    glia_folder_options fo = {.channels = in.ndim == 4 ? (int)in.dim[1] : 0,
                              .height = in.ndim == 4 ? (int)in.dim[2] : 0,
                              .width = in.ndim == 4 ? (int)in.dim[3] : 0, .warn = warn,
                              .cache_bytes = (int64_t)cache_mb << 20};
    if (r->named) {
        fo.classes = (const char *const *)r->names;
        fo.n_classes = r->classes;
    }
    return glia_image_folder_load(data, &fo, d);
}

int cmd_eval(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia eval DIR [--data D] [--split test|train] [--batch B] [--weights FILE]\n"
               "       glia eval DIR/FILE.safetensors [options]\n\n"
               "Evaluates the model trained in DIR (model.cfg, weights.safetensors, classes.txt, as\n"
               "glia train writes them) on a data set: loss, accuracy, top-5 accuracy, per-class\n"
               "accuracy and the confusion matrix (rows: true class, columns: predicted).\n"
               "Given a weights file in DIR instead (or --weights), the model reads its weights\n"
               "from it: a safetensors file as DIR/weights.safetensors, or a packed weights file\n"
               "written by glia pack (glia-packed-2 or -1: one bit per binarized weight).\n"
               "  --data D    fashion-mnist, mnist, an IDX directory, or an image folder or list\n"
               "              file (all its images; class names as in DIR/classes.txt) (default:\n"
               "              the data set the run was trained on, from DIR/checkpoint.safetensors;\n"
               "              for an image folder run, its --val-dir folder; for a CSV table\n"
               "              run, the table's held-out part, split as glia train split it; a\n"
               "              regression run prints its loss there)\n"
               "  --split S   test (default) or train\n"
               "  --batch B   images per forward pass (default 256)\n"
               "  --cache-mb N  an image folder: keep at most N MiB of its decoded images (the\n"
               "              others are read again when their batch comes; default: all)\n"
               "  --weights FILE  the weights to evaluate (default DIR/weights.safetensors)\n"
               "A model trained with random resized crops ([net] crop) sees the centre 87.5%% of\n"
               "each side of its images, resized back (torchvision's Resize + CenterCrop).\n"
               CLI_CONST_HELP);
        return 0;
    }
    const char *dir = NULL, *data = NULL, *split = "test", *weights = NULL;
    long batch = 256;
    long long cache_mb = 0;
    for (int i = 1; i < argc; i++) {
        char *end = "";
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--split") && i + 1 < argc) split = argv[++i];
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
        else if (!strcmp(argv[i], "--const") && i + 1 < argc) cli_const_arg(argc, argv, &i, "eval");
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = strtol(argv[++i], &end, 10);
        else if (!strcmp(argv[i], "--cache-mb") && i + 1 < argc) cache_mb = strtoll(argv[++i], &end, 10);
        else if (argv[i][0] != '-' && !dir) dir = argv[i];
        else {
            fprintf(stderr, "glia eval: unknown or incomplete option '%s' (see glia eval --help)\n", argv[i]);
            return 2;
        }
        if (*end || batch < 1 || cache_mb < 0 || cache_mb > (1LL << 30)) {
            fprintf(stderr, "glia eval: bad value '%s' for %s\n", argv[i], argv[i - 1]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "glia eval: which run directory? (see glia eval --help)\n");
        return 2;
    }
    run_dir r;
    if (!run_dir_open_weights(dir, weights, batch, &r, "eval")) return 1;
    dir = r.dir;
    if (glia_model_target_steps(r.m) > 0) { /* decoding, not classification: translate */
        fprintf(stderr, "glia eval: %s holds an encoder-decoder; glia translate %s --test gives "
                        "its error rates\n", dir, dir);
        run_dir_free(&r);
        return 1;
    }
    if (!data) data = r.data[0] && r.val_data[0] && glia_image_folder_kind(r.data) && !strcmp(split, "test")
                      ? r.val_data : r.data;
    glia_dataset *d = NULL;
    glia_eval_result e = {0};
    /* a CSV table run: its held-out part, split as glia train split it (no test part of its own) */
    int table = r.target[0] && !strcmp(data, r.data);
    glia_status s = table ? glia_evaluate_run(r.m, dir, &e) : load_data(&r, data, split, cache_mb, &d);
    if (!s && table && isnan(e.acc)) { /* regression: the loss alone */
        printf("%s on %s (target %s, the held-out part, %lld rows)\ntest loss %.6g ([net] loss %s)\n",
               dir, data, r.target, (long long)e.n, e.loss, glia_model_option(r.m, "loss"));
        glia_eval_result_free(&e);
        run_dir_free(&r);
        return 0;
    }
    if (!s && d && d->classes > r.classes)
        s = GLIA_ESHAPE, fprintf(stderr, "glia eval: the data has %d classes, the model %d\n", d->classes, r.classes);
    else if (!s && d) s = glia_evaluate(r.m, d, NULL, 0, &e);
    if (s) {
        if (glia_last_error()[0]) fprintf(stderr, "glia eval: %s\n", glia_last_error());
        glia_dataset_free(d);
        run_dir_free(&r);
        return 1;
    }
    int C = e.classes;
    if (table) printf("%s on %s (target %s, the held-out part, %lld rows)\n", dir, data, r.target, (long long)e.n);
    else printf("%s on %s (%s split, %lld images)\n", dir, data, split, (long long)e.n);
    printf("weights %s%s\n", r.weights, r.packed ? " (packed: binarized weights one bit each)" : "");
    printf("accuracy %.2f%%  top-5 %.2f%%  loss %.4f\n\n", 100 * e.acc, 100 * e.top5, e.loss);
    int w = 5;
    for (int c = 0; c < C; c++) {
        int l = (int)strlen(r.names[c]);
        if (l > w) w = l;
    }
    if (w > 16) w = 16;
    printf("%-*s %8s  confusion (rows true, columns predicted)\n%-*s %8s ", w, "class", "accuracy", w, "", "");
    for (int c = 0; c < C; c++) printf("%6d", c);
    printf("\n");
    for (int t = 0; t < C; t++) {
        int64_t row = 0;
        for (int p = 0; p < C; p++) row += e.confusion[t * C + p];
        printf("%-*.*s %7.2f%% ", w, w, r.names[t], row ? 100.0 * (double)e.confusion[t * C + t] / (double)row : 0.0);
        for (int p = 0; p < C; p++) printf("%6lld", (long long)e.confusion[t * C + p]);
        printf("   %d\n", t);
    }
    glia_eval_result_free(&e);
    glia_dataset_free(d);
    run_dir_free(&r);
    return 0;
}
