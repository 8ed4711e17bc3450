/* cmd_dream.c: glia dream DIR IMAGE --layer L - Deep Dream: gradient ascent on ||phi(x)||^2 / 2
 * at several scales (octaves). */
#include "viz_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_dream(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia dream DIR IMAGE [--layer L] [options]\n\n"
               "Deep Dream: amplifies what a layer sees in IMAGE by gradient ascent on ||phi(x)||^2 / 2,\n"
               "phi the layer's output, over several octaves, coarse to fine: at octave k the step\n"
               "follows the gradient averaged down to 1/scale^k of the image and brought back up,\n"
               "so coarse octaves paint large strokes and the last one fine detail.\n"
               "IMAGE is a file or test:K (the K-th image of the run's test split).\n"
               "  --layer L     the layer (default: the last feature map larger than 1 x 1)\n"
               "  --octaves N   octaves (default 3)\n"
               "  --scale S     size ratio between octaves (default 1.5)\n"
               "  --steps N     steps per octave (default 20)\n"
               "  --lr X        step per pixel (default 0.01)\n"
               "  --jitter N    random shift of up to N pixels per step (default 1)\n"
               "  --out FILE    the PNG to write (default dream.png)\n"
               "  --invert      use 1 - pixel\n"
               CLI_CONST_HELP);
        return 0;
    }
    int octaves = 3, label, c, h, w, W, H;
    float scale = 1.5f;
    glia_ascent_options o = {20, 0.01f, 0, 0, 0, 1, 0, 4, 1};
    cli_opt opts[] = {{"--octaves", 'i', &octaves}, {"--scale", 'f', &scale}, {"--steps", 'i', &o.steps},
                      {"--lr", 'f', &o.lr},           {"--jitter", 'i', &o.jitter}, {NULL, 0, NULL}};
    viz_args a;
    int rc = viz_start(argc, argv, opts, 1, &a, "dream");
    if (rc) return rc;
    glia_layer_info li;
    float *px = viz_image(&a.r, a.image, a.invert, &label, "dream");
    viz_input_shape(&a.r, &c, &h, &w);
    size_t n = (size_t)c * h * w;
    float *x = malloc(n * sizeof *x);
    if (!px || !x) rc = 1;
    else if (glia_viz_layer(a.r.m, a.layer, &li)) rc = viz_fail("dream");
    if (!rc) memcpy(x, px, n * sizeof *x);
    if (!rc && glia_dream(a.r.m, li.name, octaves, scale, &o, x)) rc = viz_fail("dream");
    if (!rc) {
        char cap[200], title[200];
        snprintf(cap, sizeof cap, "dream of %s", li.name);
        snprintf(title, sizeof title, "Deep Dream: %d octaves x %d steps, scale %.2g", octaves, o.steps, scale);
        glia_tile t[2] = {{px, c, h, w, 0, 1, NULL, 0, 0, "original"}, {x, c, h, w, 0, 1, NULL, 0, 0, cap}};
        int zoom = viz_zoom(112, h);
        if (glia_tiles_save_png(a.out, title, t, 2, 2, zoom, &W, &H)) rc = viz_fail("dream");
        else printf("%s: dreamt %s over %d octaves\n", a.image, li.name, octaves), viz_wrote(a.out, W, H);
    }
    free(px), free(x);
    run_dir_free(&a.r);
    return rc;
}
