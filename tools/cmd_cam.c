/* cmd_cam.c: glia cam DIR IMAGE... - class activation maps (Zhou et al. 2016). */
#include "viz_common.h"
#include <stdio.h>

int cmd_cam(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia cam DIR IMAGE... [--class c] [--out FILE] [--invert]\n\n"
               "Class activation map of a network that ends in global average pooling + dense\n"
               "(models/gap-cnn.cfg): M(x,y) = sum_k w_ck f_k(x,y), f_k the maps the pooling reads,\n"
               "w_c the dense weights of class c. Writes each input with its prediction next to\n"
               "the map (upsampled, viridis) over it.\n"
               "IMAGE is a file or test:K (the K-th image of the run's test split).\n"
               "  --class c   the class to explain (default: the predicted one)\n"
               "  --out FILE  the PNG to write (default cam.png)\n"
               "  --invert    use 1 - pixel\n"
               CLI_CONST_HELP);
        return 0;
    }
    return viz_heatmap_cmd(argc, argv, "cam", GLIA_MAP_CAM);
}
