/* cmd_fool.c: glia fool - adversarial examples (Szegedy et al. 2014; FGSM, Goodfellow et al.
 * 2015): one image side by side with its perturbation, or the fooling rate over test images. */
#include "viz_common.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Attacks test images 0..n-1: *rate = successes / attempted (targeted: images whose label is
 * not the target; untargeted: images the model classified correctly), mean L2 and Linf of the
 * successful perturbations. */
static int eval_set(run_dir *r, const glia_dataset *d, int n, const glia_attack_options *base,
                    int quiet, double *rate, double *l2, double *linf, int *attempted) {
    int64_t numel = glia_shape_numel(&d->images->shape) / d->images->shape.dim[0];
    float *adv = malloc((size_t)numel * sizeof *adv), *x = malloc((size_t)numel * sizeof *x);
    if (!adv || !x) {
        free(adv);
        free(x);
        return 0;
    }
    int ok = 0, tried = 0;
    double sl2 = 0, slinf = 0;
    for (int i = 0; i < n; i++) {
        glia_dataset_image(d, i, x); /* floats, however the set keeps them */
        int label = (int)d->labels->data[i];
        glia_attack_options o = *base;
        if (!o.fgsm && base->target < 0) o.target = (label + 1) % r->classes; /* the next class */
        if (o.target == label) continue;
        glia_attack_result res;
        if (glia_attack(r->m, x, label, &o, adv, &res)) {
            free(adv);
            free(x);
            return viz_fail("fool"), 0;
        }
        if (o.target < 0 && res.pred != label) continue; /* already wrong: nothing to fool */
        tried++;
        if (res.success) ok++, sl2 += res.l2, slinf += res.linf;
        if (!quiet && isatty(1)) fprintf(stdout, "\r%d/%d images, fooled %d", i + 1, n, ok), fflush(stdout);
    }
    if (!quiet && isatty(1)) printf("\n");
    free(adv);
    free(x);
    *attempted = tried;
    *rate = tried ? (double)ok / tried : 0;
    *l2 = ok ? sl2 / ok : 0;
    *linf = ok ? slinf / ok : 0;
    return 1;
}

int cmd_fool(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia fool DIR IMAGE --target y [--c C] [--lr X] [--steps N] [--out FILE]\n"
               "       glia fool DIR IMAGE --fgsm --eps E [--target y] [--out FILE]\n"
               "       glia fool DIR --eval N [--target y] [--fgsm --eps E] [--curve FILE]\n\n"
               "Adversarial examples for the model trained in DIR. Without --fgsm: find a small r\n"
               "with IMAGE + r in [0, 1] classified as y, minimising CE(IMAGE + r, y) + c ||r||_2\n"
               "(Szegedy et al. 2014) by projected gradient steps, stopping once the target is reached\n"
               "and halving c when it is not. With --fgsm: IMAGE + eps sign(grad CE(IMAGE, label))\n"
               "(Goodfellow et al. 2015), or - eps sign(grad CE(IMAGE, y)) with --target.\n"
               "Writes the original, the perturbation (amplified: grey 0, white +max|r|, black\n"
               "-max|r|) and the adversarial image side by side with the predictions.\n"
               "IMAGE is a file or test:K (the K-th image of the run's test split).\n"
               "  --target y   the class to reach (0-based)\n"
               "  --c C        penalty weight (default 0.01)\n"
               "  --lr X       L2 length of a step (default 0.1)\n"
               "  --steps N    steps per value of c (default 100)\n"
               "  --fgsm       the fast gradient sign method, with --eps E (default 0.1)\n"
               "  --eval N     attack the first N test images instead and print the fooling rate\n"
               "               and the mean L2 and Linf of the successful perturbations (targeted:\n"
               "               to --target, or else each image's label + 1)\n"
               "  --curve FILE with --eval: FGSM fooling rate for eps = 0, 0.02, ..., 0.3 as a PNG\n"
               "  --out FILE   the PNG to write (default fool.png)\n"
               "  --invert     use 1 - pixel\n"
               CLI_CONST_HELP);
        return 0;
    }
    const char *out = "fool.png", *curve = NULL, *pos[2];
    int npos, invert = 0, neval = 0;
    glia_attack_options o = {-1, 0, 0.1f, 0.01f, 0.1f, 100};
    cli_opt opts[] = {{"--target", 'i', &o.target}, {"--c", 'f', &o.c},    {"--lr", 'f', &o.lr},
                      {"--steps", 'i', &o.steps},   {"--fgsm", 'b', &o.fgsm}, {"--eps", 'f', &o.eps},
                      {"--eval", 'i', &neval},      {"--curve", 's', &curve}, {"--out", 's', &out},
                      {"--invert", 'b', &invert},   {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, pos, 2, &npos, "fool")) return 2;
    if (npos != (neval ? 1 : 2) || neval < 0 || (curve && !neval) || (!o.fgsm && !neval && o.target < 0)) {
        fprintf(stderr, "glia fool: need DIR IMAGE --target y, DIR IMAGE --fgsm, or DIR --eval N (see glia fool --help)\n");
        return 2;
    }
    run_dir r;
    if (!viz_open(pos[0], &r, "fool")) return 1;
    int rc = 0;
    if (o.target >= r.classes) {
        fprintf(stderr, "glia fool: --target %d, but the model has %d classes\n", o.target, r.classes);
        run_dir_free(&r);
        return 1;
    }
    if (neval) {
        glia_dataset *d = NULL;
        if (glia_dataset_load(r.data, "test", &d)) {
            run_dir_free(&r);
            return viz_fail("fool");
        }
        if (neval > d->images->shape.dim[0]) neval = (int)d->images->shape.dim[0];
        double rate, l2, linf;
        int tried;
        if (curve) {
            enum { NE = 16 };
            double eps[NE], fr[NE], ml2[NE];
            glia_attack_options f = o;
            f.fgsm = 1;
            for (int k = 0; k < NE && !rc; k++) {
                f.eps = (float)(eps[k] = 0.02 * k);
                if (!eval_set(&r, d, neval, &f, 1, &rate, &l2, &linf, &tried)) rc = 1;
                fr[k] = 100 * rate, ml2[k] = l2;
                if (!rc) printf("eps %.2f  fooling rate %5.1f%% of %d  mean L2 %.3f\n", eps[k], 100 * rate, tried, l2);
            }
            glia_plot_series s[2] = {{"fooling rate", fr, 0}, {"mean L2 of r", ml2, 1}};
            const char *yl[2] = {"fooled (%)", "L2 of r"};
            char title[300];
            snprintf(title, sizeof title, "FGSM on %s: %d test images (%s)", pos[0], neval,
                     o.target >= 0 ? "targeted" : "untargeted");
            if (!rc && glia_plot_curves(curve, title, "eps", eps, NE, 2, yl, s, 2)) rc = viz_fail("fool");
            if (!rc) printf("wrote %s\n", curve);
        } else if (!eval_set(&r, d, neval, &o, 0, &rate, &l2, &linf, &tried)) {
            rc = 1;
        } else {
            printf("%s attack on %d test images (%d attacked): fooling rate %.1f%%, mean L2 %.4f, mean Linf %.4f\n",
                   o.fgsm ? "FGSM" : "targeted", neval, tried, 100 * rate, l2, linf);
        }
        glia_dataset_free(d);
        run_dir_free(&r);
        return rc;
    }
    int label, c, h, w, W, H;
    viz_input_shape(&r, &c, &h, &w);
    float *px = viz_image(&r, pos[1], invert, &label, "fool");
    size_t n = (size_t)c * h * w;
    float *adv = malloc(n * sizeof *adv), *pert = malloc(n * sizeof *pert);
    glia_attack_result res;
    if (!px || !adv || !pert) rc = 1;
    else if (glia_attack(r.m, px, label, &o, adv, &res)) rc = viz_fail("fool");
    if (!rc) {
        char a[160], b[160], cap[3][200];
        viz_class_str(&r, res.pred, res.prob, a, sizeof a);
        viz_class_str(&r, res.adv_pred, res.adv_prob, b, sizeof b);
        for (size_t i = 0; i < n; i++) pert[i] = adv[i] - px[i];
        float m = res.linf > 0 ? res.linf : 1;
        snprintf(cap[0], sizeof cap[0], "original\npred %s", a);
        snprintf(cap[1], sizeof cap[1], "perturbation x%.0f\nL2 %.3f Linf %.3f", 0.5 / m, res.l2, res.linf);
        snprintf(cap[2], sizeof cap[2], "adversarial\npred %s", b);
        glia_tile t[3] = {{px, c, h, w, 0, 1, NULL, 0, 0, cap[0]},
                          {pert, c, h, w, -m, m, NULL, 0, 0, cap[1]},
                          {adv, c, h, w, 0, 1, NULL, 0, 0, cap[2]}};
        char title[200];
        if (o.fgsm) snprintf(title, sizeof title, "FGSM, eps %.3g%s%s", o.eps, o.target >= 0 ? ", target " : "",
                             o.target >= 0 ? r.names[o.target] : "");
        else snprintf(title, sizeof title, "targeted attack to %s: %s after %d steps", r.names[o.target],
                      res.success ? "reached" : "NOT reached", res.steps);
        int zoom = viz_zoom(112, h);
        if (glia_tiles_save_png(out, title, t, 3, 3, zoom, &W, &H)) rc = viz_fail("fool");
        else {
            printf("%s: %s -> %s (%s) in %d steps; L2 %.4f, Linf %.4f\n", pos[1], a, b,
                   res.success ? "fooled" : "not fooled", res.steps, res.l2, res.linf);
            viz_wrote(out, W, H);
        }
    }
    free(px), free(adv), free(pert);
    run_dir_free(&r);
    return rc;
}
