/* viz_heatmap.c: the body of glia cam, gradcam and saliency (each a thin cmd_*.c). */
#include "viz_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IMAGES 64
static const char *const kind_names[] = {"saliency", "CAM", "Grad-CAM", "Grad-CAM++"};

int viz_heatmap_cmd(int argc, char **argv, const char *cmd, glia_map_kind kind) {
    const char *layer = NULL, *out = NULL, *pos[MAX_IMAGES + 1];
    int cls = -1, invert = 0, plus = 0, npos;
    /* --layer and --plus belong to gradcam only */
    cli_opt opts[] = {{"--out", 's', &out}, {"--class", 'i', &cls}, {"--invert", 'b', &invert},
                      CLI_CONST_OPT, {"--layer", 's', &layer}, {"--plus", 'b', &plus}, {NULL, 0, NULL}};
    if (kind != GLIA_MAP_GRADCAM) opts[4].name = NULL;
    if (!cli_parse(argc, argv, opts, pos, MAX_IMAGES + 1, &npos, cmd)) return 2;
    if (npos < 2) {
        fprintf(stderr, "glia %s: need DIR and at least one IMAGE (see glia %s --help)\n", cmd, cmd);
        return 2;
    }
    if (plus) kind = GLIA_MAP_GRADCAM_PP;
    char def_out[64];
    snprintf(def_out, sizeof def_out, "%s.png", cmd);
    if (!out) out = def_out;
    run_dir r;
    if (!viz_open(pos[0], &r, cmd)) return 1;
    int n = npos - 1, rc = 0, W, H, c, h, w;
    viz_input_shape(&r, &c, &h, &w);
    int per = kind == GLIA_MAP_SALIENCY ? 3 : 2; /* input, [raw saliency,] overlay */
    glia_tile *t = calloc((size_t)n * per, sizeof *t);
    float **px = calloc((size_t)n, sizeof *px);
    glia_heatmap *hm = calloc((size_t)n, sizeof *hm);
    char(*cap)[2][200] = calloc((size_t)n, sizeof *cap);
    if (!t || !px || !hm || !cap) rc = 1;
    for (int i = 0; !rc && i < n; i++) {
        int label;
        if (!(px[i] = viz_image(&r, pos[i + 1], invert, &label, cmd))) { rc = 1; break; }
        if (glia_explain(r.m, px[i], kind, layer, cls, &hm[i])) { rc = viz_fail(cmd); break; }
        char a[160], b[160];
        viz_class_str(&r, hm[i].pred, hm[i].pred_prob, a, sizeof a);
        viz_class_str(&r, hm[i].cls, hm[i].prob, b, sizeof b);
        if (label >= 0) snprintf(cap[i][0], sizeof cap[i][0], "label %s\npred %s", r.names[label], a);
        else snprintf(cap[i][0], sizeof cap[i][0], "pred %s", a);
        snprintf(cap[i][1], sizeof cap[i][1], "%s\n%s", kind_names[kind], b);
        glia_tile *ti = &t[(size_t)i * per];
        ti[0] = (glia_tile){px[i], c, h, w, 0, 1, NULL, 0, 0, cap[i][0]};
        if (per == 3) ti[1] = (glia_tile){hm[i].map, 1, hm[i].h, hm[i].w, 0, 0, NULL, 0, 0, "|dS/dx|"};
        ti[per - 1] = (glia_tile){px[i], c, h, w, 0, 1, hm[i].map, hm[i].h, hm[i].w, cap[i][1]};
        printf("%s: pred %s; %s of class %s (%d x %d map)\n", pos[i + 1], a, kind_names[kind], b, hm[i].h, hm[i].w);
    }
    int zoom = viz_zoom(112, h), cols = per * (n < 3 ? n : 3);
    char title[200];
    snprintf(title, sizeof title, "%s%s%s", kind_names[kind], layer && kind >= GLIA_MAP_GRADCAM ? " at " : "",
             layer && kind >= GLIA_MAP_GRADCAM ? layer : "");
    if (!rc && glia_tiles_save_png(out, title, t, n * per, cols, zoom, &W, &H)) rc = viz_fail(cmd);
    if (!rc) viz_wrote(out, W, H);
    for (int i = 0; px && hm && i < n; i++) free(px[i]), glia_heatmap_free(&hm[i]);
    free(t), free(px), free(hm), free(cap);
    run_dir_free(&r);
    return rc;
}
