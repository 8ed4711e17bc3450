/* cmd_style.c: glia style CONTENT STYLE --out OUT.png - neural style transfer (Gatys et al.)
 * with random multi-scale features, or a trained run's (--model) (glia_style_transfer,
 * src/viz/style.c). Writes the result,
 * and with --panel a PNG of content, style and result side by side. */
#include "cli.h"
#include "glia.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void) {
    printf("usage: glia style CONTENT STYLE --out OUT.png [options]\n\n"
           "Neural style transfer (Gatys, Ecker, Bethge 2016): the content image repainted with\n"
           "the textures of the style image, by gradient descent on the pixels. The features are\n"
           "those of a network of random 3x3 filters at four scales (no trained network needed:\n"
           "random multi-scale filters capture texture, Ustyuzhaninov et al. 2016).\n"
           "  --out F         the result (PNG; required)\n"
           "  --panel F       also content, style and result side by side (PNG)\n"
           "  --size S        working size S x S pixels (default 128; both images are resized)\n"
           "  --steps N       Adam steps (300)\n"
           "  --lr X          step size on pixels in [0, 1] (0.02)\n"
           "  --style-weight W  weight of the style (Gram matrix) loss against the content's (1e4)\n"
           "  --tv W          total-variation smoothing weight (0)\n"
           "  --filters K     random filters per scale (32)\n"
           "  --seed S        seed of the random filters (1)\n"
           "  --grey          work in grey levels\n"
           "  --model DIR     take the features from a trained run instead (glia train's DIR),\n"
           "                  or from an ONNX model (FILE.onnx): its first four [conv] layers\n"
           "                  (an ONNX model's Conv nodes, each with its Relu when one follows),\n"
           "                  at its input size and channels\n"
           CLI_CONST_HELP);
}

typedef struct { int tty; } view;
static void progress(void *ctx, int step, int steps, double loss) {
    const view *v = ctx;
    if (!v->tty || (step % 10 && step != steps)) return;
    int width = 30, fill = width * step / steps;
    printf("\r[");
    for (int i = 0; i < width; i++) putchar(i < fill ? '=' : ' ');
    printf("] %d/%d  loss %.4g ", step, steps, loss);
    if (step == steps) printf("\n");
    fflush(stdout);
}

int cmd_style(int argc, char **argv) {
    if (wants_help(argc, argv)) { usage(); return 0; }
    const char *paths[2] = {NULL, NULL}, *out = NULL, *panel = NULL, *model = NULL;
    int n_paths = 0, size = 128, grey = 0;
    glia_style_options o = {.seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        char *end = "";
        if (!strcmp(a, "--out") && has) out = argv[++i];
        else if (!strcmp(a, "--panel") && has) panel = argv[++i];
        else if (!strcmp(a, "--size") && has) size = (int)strtol(argv[++i], &end, 10);
        else if (!strcmp(a, "--steps") && has) o.steps = (int)strtol(argv[++i], &end, 10);
        else if (!strcmp(a, "--lr") && has) o.lr = strtof(argv[++i], &end);
        else if (!strcmp(a, "--style-weight") && has) o.style_weight = strtof(argv[++i], &end);
        else if (!strcmp(a, "--tv") && has) o.tv = strtof(argv[++i], &end);
        else if (!strcmp(a, "--filters") && has) o.filters = (int)strtol(argv[++i], &end, 10);
        else if (!strcmp(a, "--seed") && has) o.seed = strtoull(argv[++i], &end, 10);
        else if (!strcmp(a, "--grey")) grey = 1;
        else if (!strcmp(a, "--model") && has) model = argv[++i];
        else if (!strcmp(a, "--const") && has) cli_const_arg(argc, argv, &i, "style");
        else if (a[0] != '-' && n_paths < 2) paths[n_paths++] = a;
        else {
            fprintf(stderr, "glia style: unknown or incomplete option '%s' (see glia style --help)\n", a);
            return 2;
        }
        if (*end || size < 16 || size > 1024 || o.steps < 0 || o.filters < 0 || o.filters > 256 ||
            !(o.lr >= 0) || !(o.tv >= 0) || !(o.style_weight >= 0)) {
            fprintf(stderr, "glia style: bad value '%s' for %s\n", argv[i], a);
            return 2;
        }
    }
    if (n_paths != 2 || !out) {
        fprintf(stderr, "glia style: need CONTENT, STYLE and --out OUT.png (see glia style --help)\n");
        return 2;
    }
    int C = grey ? 1 : 3, H = size, W = size;
    run_dir r = {0};
    if (model) { /* the run's input size and channels */
        if (!run_dir_open(model, 1, &r, "style")) return 1;
        glia_shape in;
        glia_node_shape(glia_model_graph(r.m), glia_model_input(r.m), &in);
        if (in.ndim != 4 || (in.dim[1] != 1 && in.dim[1] != 3)) {
            fprintf(stderr, "glia style: the model in %s does not take grey or colour images\n", model);
            run_dir_free(&r);
            return 1;
        }
        C = (int)in.dim[1];
        H = (int)in.dim[2];
        W = (int)in.dim[3];
        o.model = r.m;
    }
    glia_tensor *img[2] = {NULL, NULL};
    glia_status s = GLIA_OK;
    for (int k = 0; k < 2 && !s; k++) s = glia_image_load(paths[k], C, H, W, &img[k]);
    const int64_t n = (int64_t)C * H * W;
    float *res = s ? NULL : malloc((size_t)n * sizeof *res);
    if (!s && !res) s = GLIA_ENOMEM;
    view v = {isatty(STDOUT_FILENO)};
    o.progress = progress;
    o.ctx = &v;
    double loss = 0;
    if (!s) {
        if (model) printf("style transfer: %s in the style of %s, %dx%d, features of %s\n", paths[0],
                          paths[1], H, W, model);
        else printf("style transfer: %s in the style of %s, %dx%d, random features (seed %llu)\n",
                    paths[0], paths[1], H, W, (unsigned long long)o.seed);
        fflush(stdout);
        s = glia_style_transfer(img[0]->data, img[1]->data, C, H, W, &o, res, &loss);
    }
    if (!s) s = glia_image_save_png(out, res, C, H, W);
    if (!s && panel) { /* content | style | result, 4 pixels apart on white */
        int pw = 3 * W + 8;
        float *p = malloc((size_t)C * H * pw * sizeof *p);
        if (!p) s = GLIA_ENOMEM;
        for (int64_t i = 0; p && i < (int64_t)C * H * pw; i++) p[i] = 1;
        const float *src[3] = {img[0]->data, img[1]->data, res};
        for (int k = 0; p && k < 3; k++)
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    memcpy(p + ((int64_t)c * H + y) * pw + k * (W + 4),
                           src[k] + ((int64_t)c * H + y) * W, (size_t)W * sizeof *p);
        if (p) s = glia_image_save_png(panel, p, C, H, pw);
        free(p);
    }
    if (s) fprintf(stderr, "glia style: %s\n", s == GLIA_ENOMEM && !glia_last_error()[0] ? "out of memory" : glia_last_error());
    else printf("loss %.4g; wrote %s%s%s\n", loss, out, panel ? " and " : "", panel ? panel : "");
    glia_tensor_free(img[0]);
    glia_tensor_free(img[1]);
    free(res);
    if (model) run_dir_free(&r);
    return s ? 1 : 0;
}
