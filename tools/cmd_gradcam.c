/* cmd_gradcam.c: glia gradcam DIR IMAGE... - Grad-CAM (Selvaraju et al.) and Grad-CAM++. */
#include "viz_common.h"
#include <stdio.h>

int cmd_gradcam(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia gradcam DIR IMAGE... [--class c] [--layer L] [--plus] [--out FILE] [--invert]\n\n"
               "Grad-CAM: alpha_k = sum_{x,y} dS_c/df_k(x,y), M = ReLU(sum_k alpha_k f_k), with S_c the\n"
               "score of class c and f_k the maps of a layer. With --plus, Grad-CAM++ (Chattopadhyay\n"
               "et al. 2018): weights sum_{x,y} a_kxy ReLU(g), a = g^2 / (2 g^2 + sum f_k g^3).\n"
               "Writes each input with its prediction next to the map (upsampled, viridis) over it.\n"
               "IMAGE is a file or test:K (the K-th image of the run's test split).\n"
               "  --class c   the class to explain (default: the predicted one)\n"
               "  --layer L   the feature layer (default: the last one larger than 1 x 1)\n"
               "  --plus      Grad-CAM++\n"
               "  --out FILE  the PNG to write (default gradcam.png)\n"
               "  --invert    use 1 - pixel\n"
               CLI_CONST_HELP);
        return 0;
    }
    return viz_heatmap_cmd(argc, argv, "gradcam", GLIA_MAP_GRADCAM);
}
