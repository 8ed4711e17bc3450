/* cmd_invert.c: glia invert DIR IMAGE --layer L - feature inversion (Mahendran & Vedaldi 2015). */
#include "viz_common.h"
#include <stdio.h>
#include <stdlib.h>

int cmd_invert(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia invert DIR IMAGE [--layer L] [options]\n\n"
               "Feature inversion: from noise, find x minimising ||phi(x) - phi(x0)||^2 / ||phi(x0)||^2\n"
               "+ tv TV(x), phi the output of a layer and x0 = IMAGE, by gradient descent on x: what\n"
               "the layer keeps of the image. Writes the original and the reconstruction.\n"
               "IMAGE is a file or test:K (the K-th image of the run's test split).\n"
               "  --layer L   the layer (default: the last feature map larger than 1 x 1)\n"
               "  --steps N   steps (default 300)\n"
               "  --lr X      step per pixel (default 0.01)\n"
               "  --tv X      total-variation weight (default 0.1)\n"
               "  --jitter N  random shift of up to N pixels per step (default 0)\n"
               "  --out FILE  the PNG to write (default invert.png)\n"
               "  --invert    use 1 - pixel\n"
               CLI_CONST_HELP);
        return 0;
    }
    int label, c, h, w, W, H;
    glia_ascent_options o = {300, 0.01f, 0, 0, 0.1f, 0, 0, 4, 1};
    cli_opt opts[] = {{"--steps", 'i', &o.steps}, {"--lr", 'f', &o.lr}, {"--tv", 'f', &o.tv},
                      {"--jitter", 'i', &o.jitter}, {NULL, 0, NULL}};
    viz_args a;
    int rc = viz_start(argc, argv, opts, 1, &a, "invert");
    if (rc) return rc;
    glia_layer_info li;
    float *px = viz_image(&a.r, a.image, a.invert, &label, "invert"), err = 0;
    viz_input_shape(&a.r, &c, &h, &w);
    size_t n = (size_t)c * h * w;
    float *x = malloc(n * sizeof *x);
    if (!px || !x) rc = 1;
    else if (glia_viz_layer(a.r.m, a.layer, &li)) rc = viz_fail("invert");
    glia_rng rng;
    glia_rng_seed(&rng, 1, 9);
    for (size_t i = 0; !rc && i < n; i++) x[i] = 0.4f + 0.2f * glia_rng_uniform(&rng);
    if (!rc && glia_invert(a.r.m, li.name, px, &o, x, &err)) rc = viz_fail("invert");
    if (!rc) {
        char cap[200], title[200];
        snprintf(cap, sizeof cap, "from %s\nrel. error %.3f", li.name, err);
        snprintf(title, sizeof title, "feature inversion of %s (TV %.3g, %d steps)", li.name, o.tv, o.steps);
        glia_tile t[2] = {{px, c, h, w, 0, 1, NULL, 0, 0, "original"}, {x, c, h, w, 0, 1, NULL, 0, 0, cap}};
        int zoom = viz_zoom(112, h);
        if (glia_tiles_save_png(a.out, title, t, 2, 2, zoom, &W, &H)) rc = viz_fail("invert");
        else printf("%s: inverted %s, relative feature error %.4f\n", a.image, li.name, err), viz_wrote(a.out, W, H);
    }
    free(px), free(x);
    run_dir_free(&a.r);
    return rc;
}
