/* cmd_filters.c: glia filters DIR [--layer L] - a conv layer's filters as a grid of images. */
#include "viz_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_filters(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia filters DIR [--layer L] [--out FILE] [--zoom Z]\n\n"
               "Draws the filters (weights) of a convolution layer of the model trained in DIR as\n"
               "a grid of images, each normalised to its own minimum (black) and maximum (white).\n"
               "A layer reading 1 or 3 channels (the first layer) shows one grey or RGB patch per\n"
               "filter; a deeper layer one row per filter and one column per input channel.\n"
               "  --layer L   the conv layer (default: the first)\n"
               "  --out FILE  the PNG to write (default filters.png)\n"
               "  --zoom Z    pixels per weight (default: about 40 pixels per filter)\n"
               CLI_CONST_HELP);
        return 0;
    }
    int zoom = 0;
    cli_opt opts[] = {{"--zoom", 'i', &zoom}, {NULL, 0, NULL}};
    viz_args a;
    int rc = viz_start(argc, argv, opts, 0, &a, "filters");
    if (rc) return rc;
    glia_graph *g = glia_model_graph(a.r.m);
    char name[256] = "";
    for (int i = 0; i < glia_model_num_layers(a.r.m) && !name[0]; i++) {
        glia_layer_info li;
        glia_model_layer(a.r.m, i, &li);
        if (a.layer ? !strcmp(li.name, a.layer) : !strcmp(li.type, "conv")) {
            if (strcmp(li.type, "conv")) {
                fprintf(stderr, "glia filters: layer '%s' is a %s layer, not conv\n", a.layer, li.type);
                run_dir_free(&a.r);
                return 1;
            }
            snprintf(name, sizeof name, "%s", li.name);
        }
    }
    int w = -1;
    char pname[300];
    snprintf(pname, sizeof pname, "%s.weight", name);
    if (!name[0] || glia_graph_find(g, pname, &w)) {
        fprintf(stderr, "glia filters: the model has no conv layer%s%s\n", a.layer ? " named " : "", a.layer ? a.layer : "");
        run_dir_free(&a.r);
        return 1;
    }
    glia_shape s;
    glia_node_shape(g, w, &s); /* [O, C, kh, kw] */
    int O = (int)s.dim[0], C = (int)s.dim[1], kh = (int)s.dim[2], kw = (int)s.dim[3];
    int patches = C == 1 || C == 3, n = patches ? O : O * C;
    if (zoom <= 0) zoom = viz_zoom(40, kh > kw ? kh : kw);
    float *copy = NULL;
    const float *wv = node_host(g, w, &copy, "filters");
    glia_tile *t = calloc((size_t)n, sizeof *t);
    char(*cap)[16] = calloc((size_t)n, sizeof *cap);
    int W = 0, H = 0;
    if (!wv || !t || !cap) rc = 1;
    for (int i = 0; !rc && i < n; i++) {
        t[i].image = wv + (size_t)i * (patches ? C : 1) * kh * kw;
        t[i].channels = patches ? C : 1;
        t[i].h = kh, t[i].w = kw;
        if (patches) snprintf(cap[i], sizeof cap[i], "%d", i), t[i].caption = cap[i];
    }
    char title[400];
    if (patches) snprintf(title, sizeof title, "%s: %d filters %dx%d", name, O, kh, kw);
    else snprintf(title, sizeof title, "%s: %d filters (rows) x %d input channels (columns), %dx%d",
                  name, O, C, kh, kw);
    if (!rc && glia_tiles_save_png(a.out, title, t, n, patches ? 0 : C, zoom, &W, &H)) rc = viz_fail("filters");
    if (!rc) viz_wrote(a.out, W, H), printf("%s: %d filters of %d x %d x %d\n", name, O, C, kh, kw);
    free(t);
    free(cap);
    free(copy);
    run_dir_free(&a.r);
    return rc;
}
