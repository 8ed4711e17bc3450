/* cmd_saliency.c: glia saliency DIR IMAGE... - |dS_c/dx| (Simonyan et al. 2014). */
#include "viz_common.h"
#include <stdio.h>

int cmd_saliency(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia saliency DIR IMAGE... [--class c] [--out FILE] [--invert]\n\n"
               "Saliency map: |dS_c/dx| per pixel (the maximum over colour channels), S_c the score of\n"
               "class c: the pixels whose change would change the score most. Writes each input with\n"
               "its prediction, the map in grey, and the map over the input.\n"
               "IMAGE is a file or test:K (the K-th image of the run's test split).\n"
               "  --class c   the class to explain (default: the predicted one)\n"
               "  --out FILE  the PNG to write (default saliency.png)\n"
               "  --invert    use 1 - pixel\n"
               CLI_CONST_HELP);
        return 0;
    }
    return viz_heatmap_cmd(argc, argv, "saliency", GLIA_MAP_SALIENCY);
}
