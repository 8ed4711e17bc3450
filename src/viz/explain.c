/* explain.c: heat maps of what makes a network say class c: saliency (|dS_c/dx|), CAM, Grad-CAM
 * and Grad-CAM++. The formulas are in include/glia.h next to glia_explain. */
#include "viz/probe.h"
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void glia_heatmap_free(glia_heatmap *h) {
    if (!h) return;
    free(h->map);
    h->map = NULL;
}

/* Skips ops that do not change values (flatten, reshape, dropout at inference, identity). */
static int through(glia_graph *g, int node) {
    for (;;) {
        glia_op_id op = glia__node_op(g, node);
        if (op != GLIA_OP_reshape && op != GLIA_OP_dropout && op != GLIA_OP_linear) return node;
        node = g->nodes[node].in[0];
    }
}

/* CAM needs logits = dense(global_avgpool(f)): returns f's node and the dense weight node. */
static glia_status cam_layers(viz_probe *p, int *feature, int *weight) {
    glia_graph *g = p->g;
    int d = through(g, p->out);
    if (glia__node_op(g, d) != GLIA_OP_dense)
        return glia__err(GLIA_EINVAL, "CAM needs a network that ends in global average pooling + "
                         "dense; its output comes from '%s' (%s) (use Grad-CAM instead)",
                         glia_node_name(g, d), glia_node_op(g, d));
    int gap = through(g, g->nodes[d].in[0]);
    if (glia__node_op(g, gap) != GLIA_OP_global_avgpool)
        return glia__err(GLIA_EINVAL, "CAM needs a network that ends in global average pooling + "
                         "dense; the dense layer '%s' reads '%s' (%s) (use Grad-CAM instead)",
                         glia_node_name(g, d), glia_node_name(g, gap), glia_node_op(g, gap));
    *feature = g->nodes[gap].in[0];
    *weight = g->nodes[d].in[1];
    return GLIA_OK;
}

/* The map (out->h x out->w) of class out->cls, once the probe has run forward on the image. */
static glia_status explain_map(viz_probe *p, glia_map_kind kind, int feat, int wnode,
                               glia_heatmap *out) {
    glia_status s = GLIA_OK;
    int K = 1, H = p->h, W = p->w;
    if (feat >= 0) {
        glia_shape fs;
        glia_node_shape(p->g, feat, &fs);
        if (fs.ndim != 4)
            return glia__err(GLIA_ESHAPE, "glia_explain: layer '%s' is not a feature map [N, C, H, W]",
                             glia_node_name(p->g, feat));
        K = (int)fs.dim[1], H = (int)fs.dim[2], W = (int)fs.dim[3];
    }
    int64_t hw = (int64_t)H * W;
    out->h = H, out->w = W;
    out->map = glia__calloc((size_t)hw, sizeof *out->map);
    float *seed = glia__calloc((size_t)p->classes, sizeof *seed);
    float *grad = glia__malloc((size_t)(p->numel > K * hw ? p->numel : K * hw) * sizeof *grad);
    if (!out->map || !seed || !grad) {
        free(seed), free(grad);
        return glia__err(GLIA_ENOMEM, "glia_explain: out of memory");
    }
    seed[out->cls] = 1.0f; /* d S_c / d logits */
    if (kind == GLIA_MAP_CAM) {
        /* M(x,y) = sum_k w_ck f_k(x,y): no backward needed */
        const float *f, *wt;
        if (!(s = viz_probe_value(p, feat, &f, NULL)) &&
            !(s = viz_probe_read(p, wnode, 0, VIZ_SLOT_OTHER, &wt)))
            for (int k = 0; k < K; k++)
                for (int64_t i = 0; i < hw; i++) out->map[i] += wt[(int64_t)out->cls * K + k] * f[k * hw + i];
    } else if (kind == GLIA_MAP_SALIENCY) {
        s = viz_probe_backward(p, p->out, seed, grad);
        for (int64_t i = 0; !s && i < hw; i++)
            for (int c = 0; c < p->c; c++) out->map[i] = fmaxf(out->map[i], fabsf(grad[c * hw + i]));
    } else {
        const float *f = NULL, *gf = NULL;
        if (!(s = viz_probe_backward(p, p->out, seed, NULL)) && !(s = viz_probe_value(p, feat, &f, NULL)))
            s = viz_probe_read(p, feat, 1, VIZ_SLOT_GRAD, &gf);
        for (int k = 0; !s && k < K; k++) {
            const float *fk = f + k * hw, *gk = gf + k * hw;
            double wk = 0;
            if (kind == GLIA_MAP_GRADCAM) {
                for (int64_t i = 0; i < hw; i++) wk += gk[i]; /* alpha_k = sum dS/df_k */
            } else {
                double fsum = 0;
                for (int64_t i = 0; i < hw; i++) fsum += fk[i];
                for (int64_t i = 0; i < hw; i++) {
                    /* a = g^2 / (2 g^2 + sum f g^3); w_k = sum a ReLU(g) */
                    double g1 = gk[i], g2 = g1 * g1, den = 2 * g2 + fsum * g2 * g1;
                    double a = den != 0 ? g2 / den : 0;
                    wk += a * (g1 > 0 ? g1 : 0);
                }
            }
            for (int64_t i = 0; i < hw; i++) out->map[i] += (float)(wk * fk[i]);
        }
        for (int64_t i = 0; i < hw; i++) out->map[i] = fmaxf(out->map[i], 0.0f); /* ReLU */
    }
    free(seed);
    free(grad);
    return s;
}

glia_status glia_explain(glia_model *m, const float *image, glia_map_kind kind, const char *layer,
                         int cls, glia_heatmap *out) {
    if (!m || !image || !out) return glia__err(GLIA_EINVAL, "glia_explain: NULL argument");
    memset(out, 0, sizeof *out);
    if (kind < GLIA_MAP_SALIENCY || kind > GLIA_MAP_GRADCAM_PP)
        return glia__err(GLIA_EINVAL, "glia_explain: unknown map kind %d", (int)kind);
    viz_probe p;
    glia_status s = viz_probe_open(m, -1, &p);
    int feat = -1, wnode = -1;
    if (!s && kind == GLIA_MAP_CAM) s = cam_layers(&p, &feat, &wnode);
    else if (!s && kind != GLIA_MAP_SALIENCY) s = viz_layer_node(m, layer, &feat, NULL);
    if (!s && feat >= 0) s = glia_node_retain(p.g, feat);
    if (!s) s = viz_probe_forward(&p, image);
    float *probs = s ? NULL : glia__malloc((size_t)p.classes * sizeof *probs);
    if (!s && !probs) s = glia__err(GLIA_ENOMEM, "glia_explain: out of memory");
    if (!s) s = viz_probe_softmax(&p, probs, &out->pred);
    if (!s) {
        out->pred_prob = probs[out->pred];
        out->cls = cls < 0 ? out->pred : cls;
        if (out->cls >= p.classes)
            s = glia__err(GLIA_EINVAL, "glia_explain: class %d, but the model has %d classes", cls, p.classes);
        else out->prob = probs[out->cls];
    }
    free(probs);
    if (!s) s = explain_map(&p, kind, feat, wnode, out);
    viz_probe_close(&p);
    if (s) glia_heatmap_free(out);
    return s;
}
