/* viz_common.h: what the picture commands (filters, features, maximize, cam, gradcam, saliency,
 * fool, invert, dream) share: their start, images by file or test index, captions. */
#ifndef GLIA_VIZ_COMMON_H
#define GLIA_VIZ_COMMON_H
#include "cli.h"

/* run_dir_open with batch 1 (one image at a time), and one thread for small models. */
int viz_open(const char *dir, run_dir *r, const char *cmd);
/* What the picture commands dream, invert, features, filters and maximize share: DIR, IMAGE
 * for those that take one, --layer L, --out FILE (default CMD.png) and, with IMAGE, --invert and
 * --max-pixels N (glia_image_set_max_pixels). */
typedef struct viz_args {
    run_dir r;          /* DIR, opened */
    const char *image;  /* IMAGE; NULL for a command without */
    const char *layer;  /* NULL: the command's default layer */
    const char *out;
    int invert;
    char out_default[64];
} viz_args;
/* Their start: cli_parse of those options and the command's own (opts, NULL for none), then
 * the positional arguments (DIR, and IMAGE if image), then viz_open of DIR. Returns 0 with a->r
 * open (run_dir_free it), or the exit code (2: bad arguments, 1: the run). */
int viz_start(int argc, char **argv, const cli_opt *opts, int image, viz_args *a, const char *cmd);
/* An image for the model in r: a file (converted to the model's channels and size, pixels in
 * [0, 1], 1 - pixel with invert) or "test:K", the K-th image of the run's test split (its label
 * in *label, else -1). NULL after printing why. free() it. */
float *viz_image(run_dir *r, const char *spec, int invert, int *label, const char *cmd);
/* The model's input channels, height and width. */
void viz_input_shape(run_dir *r, int *c, int *h, int *w);
/* "name p%" of a class */
void viz_class_str(const run_dir *r, int cls, float p, char *buf, size_t n);
/* The zoom (pixels per pixel, at least 1) that draws an image h pixels high about `size` high */
int viz_zoom(int size, int h);
/* Prints "glia CMD: <last error>" and returns 1. */
int viz_fail(const char *cmd);
/* Prints "wrote PATH (W x H)". */
void viz_wrote(const char *path, int w, int h);

/* glia cam / gradcam / saliency: DIR IMAGE... [--class c] [--layer L] [--plus] [--out FILE]:
 * per image the input (with the prediction) and the heat map over it. */
int viz_heatmap_cmd(int argc, char **argv, const char *cmd, glia_map_kind kind);
#endif
