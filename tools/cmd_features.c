/* cmd_features.c: glia features DIR IMAGE [--layer L] - a layer's feature maps as a grid. */
#include "viz_common.h"
#include <stdio.h>
#include <stdlib.h>

int cmd_features(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia features DIR IMAGE [--layer L] [--out FILE] [--invert]\n\n"
               "Runs the model trained in DIR on IMAGE and draws the feature maps (activations) of\n"
               "a layer as a grid, after the input image, on one grey scale for the whole layer\n"
               "(its minimum black, its maximum white), so weak maps look dark.\n"
               "IMAGE is a file (PNG, JPEG, PGM, ...; converted to the model's input) or test:K,\n"
               "the K-th image of the run's test split.\n"
               "  --layer L   a layer with a feature map [C, H, W] (default: the first layer)\n"
               "  --out FILE  the PNG to write (default features.png)\n"
               "  --invert    use 1 - pixel (for dark drawings on white, as predict --invert)\n"
               CLI_CONST_HELP);
        return 0;
    }
    viz_args a;
    int label, rc = viz_start(argc, argv, NULL, 1, &a, "features");
    if (rc) return rc;
    float *px = viz_image(&a.r, a.image, a.invert, &label, "features"), *act = NULL, *probs = NULL;
    glia_layer_info li;
    glia_tile *t = NULL;
    int pred = 0, W, H, c, h, w;
    rc = 1;
    if (!px) goto done;
    glia_layer_info first;
    if (glia_model_layer(a.r.m, 0, &first) || glia_viz_layer(a.r.m, a.layer ? a.layer : first.name, &li)) {
        viz_fail("features");
        goto done;
    }
    if (li.shape.ndim != 4) {
        fprintf(stderr, "glia features: layer '%s' has no feature map (its output is not [N, C, H, W])\n", li.name);
        goto done;
    }
    int C = (int)li.shape.dim[1], fh = (int)li.shape.dim[2], fw = (int)li.shape.dim[3];
    viz_input_shape(&a.r, &c, &h, &w);
    act = malloc((size_t)C * fh * fw * sizeof *act);
    probs = malloc((size_t)a.r.classes * sizeof *probs);
    t = calloc((size_t)C + 1, sizeof *t);
    char(*cap)[16] = calloc((size_t)C, sizeof *cap);
    char incap[200], p[160];
    if (!act || !probs || !t || !cap || glia_viz_activations(a.r.m, px, li.name, act) ||
        glia_viz_predict(a.r.m, px, probs, &pred)) {
        free(cap);
        viz_fail("features");
        goto done;
    }
    viz_class_str(&a.r, pred, probs[pred], p, sizeof p);
    snprintf(incap, sizeof incap, "input\n%s", p);
    float lo = act[0], hi = act[0];
    for (int i = 0; i < C * fh * fw; i++) lo = act[i] < lo ? act[i] : lo, hi = act[i] > hi ? act[i] : hi;
    int zoom = viz_zoom(56, fh);
    t[0] = (glia_tile){px, c, h, w, 0, 1, NULL, 0, 0, incap};
    for (int k = 0; k < C; k++) {
        snprintf(cap[k], sizeof cap[k], "%d", k);
        t[k + 1] = (glia_tile){act + (size_t)k * fh * fw, 1, fh, fw, lo, hi > lo ? hi : lo + 1, NULL, 0, 0, cap[k]};
    }
    char title[300];
    snprintf(title, sizeof title, "%s: %d maps %dx%d, values %.3g..%.3g", li.name, C, fh, fw, lo, hi);
    rc = glia_tiles_save_png(a.out, title, t, C + 1, 0, zoom, &W, &H) ? viz_fail("features") : 0;
    if (!rc) viz_wrote(a.out, W, H), printf("%s: %d maps of %d x %d; prediction %s\n", li.name, C, fh, fw, p);
    free(cap);
done:
    free(px), free(act), free(probs), free(t);
    run_dir_free(&a.r);
    return rc;
}
