/* attack.c: adversarial examples. Iterative targeted attack (Szegedy et al. 2014):
 * minimise CE(x + r, target) + c ||r||_2 with x + r in [0, 1], by projected normalised gradient
 * steps on r,
 * halving c when the target is not reached; FGSM (Goodfellow et al. 2015): one signed step. */
#include "viz/probe.h"
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* d CE(z, y) / dz = softmax(z) - onehot(y), into seed; the prediction in *pred. */
static glia_status ce_seed(viz_probe *p, int y, float *probs, float *seed, int *pred) {
    glia_status s = viz_probe_softmax(p, probs, pred);
    for (int c = 0; !s && c < p->classes; c++) seed[c] = probs[c] - (c == y ? 1.0f : 0.0f);
    return s;
}

static void sizes(const float *x, const float *adv, int64_t n, glia_attack_result *r) {
    double l2 = 0, linf = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)adv[i] - x[i]);
        l2 += d * d;
        if (d > linf) linf = d;
    }
    r->l2 = (float)sqrt(l2);
    r->linf = (float)linf;
}

glia_status glia_attack(glia_model *m, const float *image, int label, const glia_attack_options *opt,
                        float *adv, glia_attack_result *out) {
    if (!m || !image || !adv || !opt || !out) return glia__err(GLIA_EINVAL, "glia_attack: NULL argument");
    memset(out, 0, sizeof *out);
    glia_attack_options o = *opt;
    if (!(o.c > 0)) o.c = 0.01f;
    if (!(o.lr > 0)) o.lr = 0.1f;
    if (o.steps <= 0) o.steps = 100;
    viz_probe p;
    float *probs = NULL, *seed = NULL, *g = NULL;
    int pred;
    glia_status s = viz_probe_open(m, -1, &p);
    if (s) goto done;
    if (o.target >= p.classes || label >= p.classes) {
        s = glia__err(GLIA_EINVAL, "glia_attack: class %d, but the model has %d classes",
                      o.target >= p.classes ? o.target : label, p.classes);
        goto done;
    }
    if (!o.fgsm && o.target < 0) {
        s = glia__err(GLIA_EINVAL, "glia_attack: the iterative attack needs a target class");
        goto done;
    }
    if (o.fgsm && o.target < 0 && label < 0) {
        s = glia__err(GLIA_EINVAL, "glia_attack: untargeted FGSM needs the image's label");
        goto done;
    }
    int64_t n = p.numel;
    probs = glia__malloc((size_t)p.classes * sizeof *probs);
    seed = glia__malloc((size_t)p.classes * sizeof *seed);
    g = glia__malloc((size_t)n * sizeof *g);
    if (!probs || !seed || !g) {
        s = glia__err(GLIA_ENOMEM, "glia_attack: out of memory");
        goto done;
    }
    if ((s = viz_probe_forward(&p, image)) || (s = viz_probe_softmax(&p, probs, &out->pred))) goto done;
    out->prob = probs[out->pred];
    memcpy(adv, image, (size_t)n * sizeof *adv);
    if (o.fgsm) {
        /* untargeted: climb the loss of the true label; targeted: descend that of the target */
        int y = o.target >= 0 ? o.target : label;
        float dir = o.target >= 0 ? -1.0f : 1.0f;
        if ((s = ce_seed(&p, y, probs, seed, &pred)) || (s = viz_probe_backward(&p, p.out, seed, g)))
            goto done;
        for (int64_t i = 0; i < n; i++) {
            float v = image[i] + dir * o.eps * (g[i] > 0 ? 1.0f : g[i] < 0 ? -1.0f : 0.0f);
            adv[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        out->steps = 1;
    } else {
        /* normalised gradient descent on r = adv - image: d = dCE/dr + c r / ||r||,
         * r -= lr d / ||d||_2 (a step of L2 length lr), then project x + r into [0, 1] */
        float c = o.c;
        int t = 0;
        for (int round = 0; round < 5; round++, c *= 0.5f) {
            for (int k = 0; k <= o.steps; k++) {
                if ((s = viz_probe_forward(&p, adv)) || (s = ce_seed(&p, o.target, probs, seed, &pred)))
                    goto done;
                if (pred == o.target || k == o.steps) break;
                if ((s = viz_probe_backward(&p, p.out, seed, g))) goto done;
                double rn = 0, dn = 0;
                for (int64_t i = 0; i < n; i++) rn += (double)(adv[i] - image[i]) * (adv[i] - image[i]);
                rn = sqrt(rn);
                for (int64_t i = 0; i < n; i++) {
                    g[i] += rn > 0 ? (float)(c * (adv[i] - image[i]) / rn) : 0.0f;
                    dn += (double)g[i] * g[i];
                }
                float k2 = dn > 0 ? (float)(o.lr / sqrt(dn)) : 0.0f;
                for (int64_t i = 0; i < n; i++) {
                    float v = adv[i] - k2 * g[i];
                    adv[i] = v < 0 ? 0 : v > 1 ? 1 : v;
                }
                t++;
            }
            if ((s = viz_probe_softmax(&p, probs, &pred))) goto done;
            if (pred == o.target) break;
        }
        out->steps = t;
    }
    if ((s = viz_probe_forward(&p, adv)) || (s = viz_probe_softmax(&p, probs, &out->adv_pred))) goto done;
    out->adv_prob = probs[out->adv_pred];
    out->success = o.target >= 0 ? out->adv_pred == o.target : out->adv_pred != label;
    sizes(image, adv, n, out);
done:
    free(probs), free(seed), free(g);
    viz_probe_close(&p);
    return s;
}
