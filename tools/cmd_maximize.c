/* cmd_maximize.c: glia maximize DIR [--layer L] [--unit k] - activation maximisation. */
#include "viz_common.h"
#include <stdio.h>
#include <stdlib.h>

int cmd_maximize(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia maximize DIR [--layer L] [--unit k] [options]\n\n"
               "Activation maximisation: x* = argmax_x a_k(x) - l1 sum|x_ij| - tv TV(x) by gradient\n"
               "ascent on the input image (pixels kept in [0, 1]), a_k the mean of channel k of a\n"
               "feature map or unit k of a vector layer (the last layer: the score of class k:\n"
               "\"can we see digits?\"). Writes one image per unit, or a grid of all of them.\n"
               "  --layer L     the layer (default: the last, i.e. the class scores)\n"
               "  --unit k      one unit (default: all units of the layer, up to 256)\n"
               "  --steps N     ascent steps (default 200)\n"
               "  --lr X        step per pixel (default 0.01)\n"
               "  --l1 X        weight of the L1 penalty sum|x| (default 0.3)\n"
               "  --l2 X        decay x *= 1 - X per step (default 0)\n"
               "  --tv X        weight of the total-variation penalty (default 0.3)\n"
               "  --jitter N    random shift of up to N pixels per step (default 1)\n"
               "  --blur S      Gaussian blur of std S pixels every 4 steps (default 0.5; 0: none)\n"
               "  --start X     the starting grey level, plus small noise (default 0)\n"
               "  --seed S      noise and jitter seed (default 1)\n"
               "  --out FILE    the PNG to write (default maximize.png)\n"
               CLI_CONST_HELP);
        return 0;
    }
    int unit = -1, seed = 1;
    float start = 0;
    glia_ascent_options o = {200, 0.01f, 0.3f, 0, 0.3f, 1, 0.5f, 4, 1};
    cli_opt opts[] = {{"--unit", 'i', &unit},    {"--steps", 'i', &o.steps}, {"--lr", 'f', &o.lr},
                      {"--l1", 'f', &o.l1},       {"--l2", 'f', &o.l2},       {"--tv", 'f', &o.tv},
                      {"--jitter", 'i', &o.jitter}, {"--blur", 'f', &o.blur}, {"--start", 'f', &start},
                      {"--seed", 'i', &seed},     {NULL, 0, NULL}};
    viz_args a;
    int rc = viz_start(argc, argv, opts, 0, &a, "maximize");
    if (rc) return rc;
    o.seed = (uint64_t)seed;
    glia_layer_info li;
    int c, h, w, W, H;
    if (!a.layer) glia_model_layer(a.r.m, glia_model_num_layers(a.r.m) - 1, &li);
    else if (glia_viz_layer(a.r.m, a.layer, &li)) rc = viz_fail("maximize");
    int units = rc ? 0 : (int)li.shape.dim[1], first = unit >= 0 ? unit : 0, n = unit >= 0 ? 1 : units;
    if (!rc && n > 256) n = 256;
    if (!rc && unit >= units) {
        fprintf(stderr, "glia maximize: --unit %d, but layer '%s' has %d units\n", unit, li.name, units);
        rc = 1;
    }
    viz_input_shape(&a.r, &c, &h, &w);
    size_t numel = (size_t)c * h * w;
    float *img = rc ? NULL : malloc((size_t)n * numel * sizeof *img);
    glia_tile *t = calloc((size_t)n, sizeof *t);
    char(*cap)[200] = calloc((size_t)n, sizeof *cap);
    if (!rc && (!img || !t || !cap)) rc = 1;
    glia_rng rng;
    glia_rng_seed(&rng, o.seed, 5);
    int last = glia_model_num_layers(a.r.m) - 1;
    glia_layer_info lastl;
    glia_model_layer(a.r.m, last, &lastl);
    int is_class = li.output == lastl.output;
    for (int i = 0; !rc && i < n; i++) {
        float *x = img + (size_t)i * numel, v = 0;
        for (size_t k = 0; k < numel; k++) x[k] = start + 0.02f * glia_rng_uniform(&rng);
        if (glia_maximize(a.r.m, li.name, first + i, &o, x, &v)) { rc = viz_fail("maximize"); break; }
        if (is_class) snprintf(cap[i], sizeof cap[i], "%s\n%.1f", a.r.names[first + i], v);
        else snprintf(cap[i], sizeof cap[i], "%d\n%.2f", first + i, v);
        t[i] = (glia_tile){x, c, h, w, 0, 1, NULL, 0, 0, cap[i]};
        if (is_class) printf("%s class %d (%s): score %.4g\n", li.name, first + i, a.r.names[first + i], v);
        else printf("%s unit %d: activation %.4g\n", li.name, first + i, v);
    }
    char title[200];
    snprintf(title, sizeof title, "%s: images maximising each %s", li.name, is_class ? "class score" : "unit");
    int zoom = viz_zoom(84, h);
    if (!rc && glia_tiles_save_png(a.out, title, t, n, n == 10 ? 5 : 0, zoom, &W, &H)) rc = viz_fail("maximize");
    if (!rc) viz_wrote(a.out, W, H);
    free(img), free(t), free(cap);
    run_dir_free(&a.r);
    return rc;
}
