/* cmd_predict.c: glia predict DIR IMAGE... - each image converted to the model's input (grey or
 * RGB, resized, normalised as in training) and the five most probable classes; for a sequence
 * model, glia predict DIR SENTENCE... (predict_text.c). */
#include "cli.h"
#include "io/json.h" /* glia__json_escape */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void predict_json_str(const char *s) {
    char *q = malloc(glia__json_escape(NULL, s) + 1);
    if (q) glia__json_escape(q, s);
    fputs(q ? q : "\"\"", stdout);
    free(q);
}

void predict_softmax_top(const float *z, int C, int top, double *p, int *order) {
    double mx = z[0], sum = 0; /* softmax */
    for (int c = 1; c < C; c++) if (z[c] > mx) mx = z[c];
    for (int c = 0; c < C; c++) sum += p[c] = exp((double)z[c] - mx);
    for (int c = 0; c < C; c++) { p[c] /= sum; order[c] = c; }
    for (int a = 0; a < top; a++) /* partial selection sort: the top K */
        for (int b = a + 1; b < C; b++)
            if (p[order[b]] > p[order[a]]) { int tmp = order[a]; order[a] = order[b]; order[b] = tmp; }
}

/* xv = the centre box of image t (glia_augment_eval's view), normalised: the same pixels as
 * glia eval's batches (glia_dataset_batch); 0 on error */
static int center_view(glia_tensor *t, float *xv, const glia_augment *view, int nc, const float *mean,
                       const float *std, int invert) {
    const int64_t C = t->shape.dim[0], n = glia_shape_numel(&t->shape);
    float m[4], sd[4];
    for (int64_t c = 0; c < C && c < 4; c++) {
        m[c] = mean[nc > 1 ? c : 0];
        sd[c] = std[nc > 1 ? c : 0];
    }
    glia_tensor *img = NULL, *lab = NULL;
    glia_dataset *d = NULL;
    if (glia_tensor_new(&img, 4, (int64_t[]){1, C, t->shape.dim[1], t->shape.dim[2]}) ||
        glia_tensor_new(&lab, 1, (int64_t[]){1})) {
        glia_tensor_free(img);
        return 0;
    }
    for (int64_t k = 0; k < n; k++) img->data[k] = invert ? 1 - t->data[k] : t->data[k];
    lab->data[0] = 0;
    if (glia_dataset_new(img, lab, 1, NULL, &d)) return 0;
    glia_dataset_batch(d, NULL, 1, m, sd, view, NULL, xv, NULL);
    glia_dataset_free(d);
    return 1;
}

int cmd_predict(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia predict DIR IMAGE... [--invert] [--top K] [--max-pixels N] [--json]\n"
               "                  [--weights FILE]\n"
               "       glia predict DIR SENTENCE... [--top K] [--json] [--weights FILE]\n\n"
               "Classifies each image (PNG, JPEG, PGM/PPM, BMP, ...) with the model trained in DIR:\n"
               "converts it to the model's channels (grey or RGB), resizes it to the model's input\n"
               "size, normalises it as in training, and prints the K most probable classes.\n"
               "For a sequence model trained on sentences (glia train --data movie-reviews,\n"
               "pos-tags, sentences:FILE, tags:FILE), each argument is a sentence: its words\n"
               "(lowercased, split at spaces, as in training; the model's first `sequence` words)\n"
               "get the K most probable classes of the sentence, or a tag each from a tagger.\n"
               "  --invert   use 1 - pixel (Fashion-MNIST and MNIST are light objects on black;\n"
               "             photos are usually dark objects on white)\n"
               "  --top K    how many classes to list (default 5)\n"
               "  --max-pixels N  refuse images larger than N pixels before decoding them\n"
               "             (default 67108864, 8192 x 8192)\n"
               "  --json     print {\"predictions\": [{\"image\", \"probs\", \"top\": [{\"class\",\n"
               "             \"name\", \"p\"}]}]} instead of a table\n"
               "  --weights FILE  the weights to use (default DIR/weights.safetensors): a\n"
               "             safetensors file, or a packed weights file written by glia pack\n"
               "             (one bit per binarized weight); DIR may also be given as a\n"
               "             weights file in it (glia predict DIR/weights.packed.safetensors ...)\n"
               CLI_CONST_HELP);
        return 0;
    }
    const char *dir = NULL, *weights = NULL;
    int invert = 0, top = 5, json = 0, n_img = 0;
    const char **imgs = calloc((size_t)argc, sizeof *imgs);
    if (!imgs) return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--invert")) invert = 1;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "--top") && i + 1 < argc) top = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--weights") && i + 1 < argc) weights = argv[++i];
        else if (!strcmp(argv[i], "--const") && i + 1 < argc) cli_const_arg(argc, argv, &i, "predict");
        else if (!strcmp(argv[i], "--max-pixels") && i + 1 < argc) {
            uint64_t mp;
            if (!cli_u64(argv[++i], &mp) || mp < 1 || mp > INT64_MAX) {
                fprintf(stderr, "glia predict: bad --max-pixels '%s' (a count of pixels, >= 1)\n", argv[i]);
                free(imgs);
                return 2;
            }
            glia_image_set_max_pixels((int64_t)mp);
        }
        else if (argv[i][0] == '-') {
            fprintf(stderr, "glia predict: unknown or incomplete option '%s' (see glia predict --help)\n", argv[i]);
            free(imgs);
            return 2;
        } else if (!dir) dir = argv[i];
        else imgs[n_img++] = argv[i];
    }
    if (!dir || !n_img || top < 1) {
        fprintf(stderr, "glia predict: need DIR and at least one IMAGE or SENTENCE, --top >= 1 (see glia predict --help)\n");
        free(imgs);
        return 2;
    }
    run_dir r;
    if (!run_dir_open_weights(dir, weights, 1, &r, "predict")) { free(imgs); return 1; }
    dir = r.dir;
    if (glia_model_target_steps(r.m) > 0) {
        fprintf(stderr, "glia predict: %s holds an encoder-decoder: use glia translate %s INPUT...\n", dir, dir);
        run_dir_free(&r);
        free(imgs);
        return 1;
    }
    if (glia_model_sequence(r.m) > 0) {
        int rc = predict_text(&r, dir, imgs, n_img, top, json);
        run_dir_free(&r);
        free(imgs);
        return rc;
    }
    glia_graph *g = glia_model_graph(r.m);
    int x = glia_model_input(r.m), out = glia_model_output(r.m), rc = 0;
    glia_shape in;
    glia_node_shape(g, x, &in);
    if (in.ndim != 4 || glia_graph_compile(g, 0)) {
        fprintf(stderr, "glia predict: the model does not take images [N, C, H, W]%s%s\n",
                glia_last_error()[0] ? ": " : "", glia_last_error());
        run_dir_free(&r);
        free(imgs);
        return 1;
    }
    /* per channel: one value for every channel, or one each (colour models) */
    float mean[GLIA_MAX_CHANNELS], std[GLIA_MAX_CHANNELS];
    int nc = in.dim[1] <= GLIA_MAX_CHANNELS ? (int)in.dim[1] : 1;
    if (glia_model_normalization(r.m, nc, mean, std)) {
        fprintf(stderr, "glia predict: %s\n", glia_last_error());
        run_dir_free(&r);
        free(imgs);
        return 1;
    }
    const int64_t plane = in.dim[2] * in.dim[3];
    /* a model trained with random resized crops sees the centre box, as glia eval shows it */
    const glia_augment view = glia_augment_eval(r.m);
    int C = r.classes;
    if (top > C) top = C;
    double *p = malloc((size_t)C * sizeof *p);
    int *order = malloc((size_t)C * sizeof *order);
    float *xc = NULL, *zc = NULL; /* host copies on a device without host memory */
    if (json) printf("{\"predictions\": [");
    for (int i = 0; i < n_img && p && order; i++) {
        glia_tensor *t = NULL;
        glia_status s = glia_image_load(imgs[i], (int)in.dim[1], (int)in.dim[2], (int)in.dim[3], &t);
        if (s) {
            fprintf(stderr, "glia predict: %s\n", glia_last_error());
            rc = 1;
            continue;
        }
        float *xv = node_host(g, x, &xc, "predict");
        int64_t n = glia_shape_numel(&t->shape);
        for (int64_t k = 0; xv && k < n; k++) {
            int c = nc > 1 ? (int)(k / plane) : 0;
            xv[k] = ((invert ? 1 - t->data[k] : t->data[k]) - mean[c]) / std[c];
        }
        if (xv && view.center > 0 && !center_view(t, xv, &view, nc, mean, std, invert)) {
            fprintf(stderr, "glia predict: %s\n", glia_last_error());
            glia_tensor_free(t);
            rc = 1;
            continue;
        }
        glia_tensor_free(t);
        if (!xv || !node_sync(g, x, xv, xc, "predict")) {
            rc = 1;
            break;
        }
        glia_graph_set_training(g, 0);
        if (glia_graph_forward(g)) {
            fprintf(stderr, "glia predict: %s\n", glia_last_error());
            rc = 1;
            continue;
        }
        const float *z = node_host(g, out, &zc, "predict");
        if (!z) {
            rc = 1;
            break;
        }
        predict_softmax_top(z, C, top, p, order);
        if (json) {
            printf("%s{\"image\": ", i ? ", " : "");
            predict_json_str(imgs[i]);
            printf(", \"probs\": [");
            for (int c = 0; c < C; c++) printf("%s%.9g", c ? ", " : "", p[c]);
            printf("], \"top\": [");
            for (int a = 0; a < top; a++) {
                printf("%s{\"class\": %d, \"name\": ", a ? ", " : "", order[a]);
                predict_json_str(r.names[order[a]]);
                printf(", \"p\": %.9g}", p[order[a]]);
            }
            printf("]}");
        } else {
            printf("%s\n", imgs[i]);
            for (int a = 0; a < top; a++)
                printf("  %6.2f%%  %d %s\n", 100 * p[order[a]], order[a], r.names[order[a]]);
        }
    }
    if (json) printf("]}\n");
    free(p);
    free(order);
    free(xc);
    free(zc);
    free(imgs);
    run_dir_free(&r);
    return rc;
}
