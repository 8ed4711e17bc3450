/* style.c: neural style transfer (Gatys, Ecker, Bethge 2016) with the features of a network
 * with random filters at several scales (Ustyuzhaninov et al. 2016: random multi-scale filters
 * already capture texture). The image x is optimised by Adam on
 *   L(x) = wc Lc + ws sum_l Ls_l + wtv TV(x)
 *   Lc   = mean_{k,m} (F_km(x) - P_km)^2              on one layer (F: K maps of M pixels)
 *   Ls_l = sum_ij (G_ij - A_ij)^2 / K^2,  G = F F^T / M  (the Gram matrix; A the style image's)
 *   TV   = mean over neighbours of (x[i+1,j] - x[i,j])^2 + (x[i,j+1] - x[i,j])^2
 * The graph gives dL/dx: one backward pass per feature layer seeded with dL/dF, summed. A trained
 * model's [conv] layers can give the features instead (glia_style_options.model). */
#include "../core/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STYLE_LEVELS 4

double glia_style_gram_loss(const float *F, int K, int64_t M, const float *A, float *dF) {
    /* G = F F^T / M;  dLs/dF_km = 4 / (K^2 M) sum_j (G_kj - A_kj) F_jm */
    double *G = glia__malloc((size_t)K * K * sizeof *G);
    if (!G) return NAN;
    double loss = 0;
    for (int i = 0; i < K; i++)
        for (int j = i; j < K; j++) {
            double s = 0;
            for (int64_t m = 0; m < M; m++) s += (double)F[i * M + m] * F[j * M + m];
            G[i * K + j] = G[j * K + i] = s / (double)M;
        }
    for (int i = 0; i < K * K; i++) {
        double d = G[i] - A[i];
        loss += d * d;
        G[i] = d; /* from here on, G - A */
    }
    loss /= (double)K * K;
    if (dF) {
        double c = 4.0 / ((double)K * K * (double)M);
        for (int k = 0; k < K; k++)
            for (int64_t m = 0; m < M; m++) {
                double s = 0;
                for (int j = 0; j < K; j++) s += G[k * K + j] * F[j * M + m];
                dF[k * M + m] = (float)(c * s);
            }
    }
    free(G);
    return loss;
}

/* the Gram matrix F F^T / M into A (K x K) */
static void gram(const float *F, int K, int64_t M, float *A) {
    for (int i = 0; i < K; i++)
        for (int j = i; j < K; j++) {
            double s = 0;
            for (int64_t m = 0; m < M; m++) s += (double)F[i * M + m] * F[j * M + m];
            A[i * K + j] = A[j * K + i] = (float)(s / (double)M);
        }
}

typedef struct {
    glia_graph *g;
    int own;                     /* the graph is ours (random features), not a model's */
    int levels, content;         /* feature layers, the content layer among them */
    int x, feat[STYLE_LEVELS], K[STYLE_LEVELS];
    int64_t M[STYLE_LEVELS];
    float mean[3], std[3];       /* the input's normalisation: x = (pixel - mean) / std */
} features;

/* A trained model's features: the outputs of its first STYLE_LEVELS [conv] layers (or an ONNX
 * model's Conv nodes) (the content
 * layer the middle one), on the model's input size, normalised with its [net] mean and std;
 * its parameters frozen, so that only d/d(input) is computed. */
static glia_status from_model(features *f, glia_model *m, int C, int H, int W) {
    f->g = glia_model_graph(m);
    f->x = glia_model_input(m);
    glia_graph *g = f->g;
    glia_shape in;
    glia_status s = glia_node_shape(g, f->x, &in);
    if (s) return s;
    if (in.ndim != 4 || in.dim[1] != C || in.dim[2] != H || in.dim[3] != W)
        return glia__err(GLIA_ESHAPE, "style: the model takes %s; the images are [%d, %d, %d]",
                         glia_shape_str(&in, (char[96]){0}, 96), C, H, W);
    if ((s = glia_model_normalization(m, C, f->mean, f->std)) || (s = glia_graph_set_batch(g, 1))) return s;
    for (int i = 0; i < glia_model_num_layers(m) && f->levels < STYLE_LEVELS; i++) {
        glia_layer_info li;
        if ((s = glia_model_layer(m, i, &li))) return s;
        /* a glia [conv] layer (its activation included), or an ONNX model's Conv node: then
         * the Relu that follows it when one does, as Gatys et al. take relu outputs */
        int onnx_conv = !strcmp(li.type, "Conv");
        if ((strcmp(li.type, "conv") && !onnx_conv) || li.shape.ndim != 4) continue;
        glia_layer_info next;
        if (onnx_conv && i + 1 < glia_model_num_layers(m) && !glia_model_layer(m, i + 1, &next) &&
            !strcmp(next.type, "Relu") && glia__shape_eq(&next.shape, &li.shape))
            li.output = next.output;
        f->feat[f->levels] = li.output;
        f->K[f->levels] = (int)li.shape.dim[1];
        f->M[f->levels] = li.shape.dim[2] * li.shape.dim[3];
        if ((s = glia_node_retain(g, li.output))) return s;
        f->levels++;
    }
    if (!f->levels) return glia__err(GLIA_EINVAL, "style: the model has no [conv] layer to take features from");
    f->content = f->levels / 2;
    for (int i = 0; i < glia_graph_num_nodes(g); i++)
        if (glia_node_is_param(g, i) && glia_node_trainable(g, i) && (s = glia_node_set_trainable(g, i, 0)))
            return s;
    glia_graph_set_training(g, 0);
    if ((s = glia_node_requires_grad(g, f->x, 1))) return s;
    return glia_graph_compile(g, GLIA_COMPILE_BACKWARD);
}

/* conv 3x3 (random He-normal filters, no bias) + relu at each scale, 2x2 average pooling
 * between scales: the maps after each relu are the features */
static glia_status build(features *f, int C, int H, int W, int filters, uint64_t seed) {
    glia_rng rng;
    glia_rng_seed(&rng, seed, 0x57e1e);
    glia_status s = glia_graph_new(&f->g);
    if (s) return s;
    f->own = 1;
    f->levels = STYLE_LEVELS;
    f->content = 2;
    for (int c = 0; c < 3; c++) f->mean[c] = 0.5f, f->std[c] = 1; /* centred pixels */
    glia_graph *g = f->g;
    if ((s = glia_input(g, "image", 4, (int64_t[]){1, C, H, W}, &f->x))) return s;
    int cur = f->x, c = C;
    int64_t h = H, w = W;
    glia_conv2d_params cp = {.pad_top = 1, .pad_bottom = 1, .pad_left = 1, .pad_right = 1};
    glia_pool2d_params pp = {.kernel_h = 2, .kernel_w = 2};
    for (int l = 0; l < STYLE_LEVELS; l++) {
        char name[32];
        int wt, conv;
        snprintf(name, sizeof name, "w%d", l);
        if ((s = glia_param(g, name, 4, (int64_t[]){filters, c, 3, 3}, &wt)) ||
            (s = glia_init_param(g, wt, GLIA_INIT_HE_NORMAL, 0, &rng)) ||
            (s = glia_node_set_trainable(g, wt, 0)))
            return s;
        snprintf(name, sizeof name, "conv%d", l);
        if ((s = glia_conv2d(g, name, cur, wt, -1, &cp, &conv))) return s;
        snprintf(name, sizeof name, "relu%d", l);
        if ((s = glia_relu(g, name, conv, &f->feat[l])) || (s = glia_node_retain(g, f->feat[l]))) return s;
        f->K[l] = filters;
        f->M[l] = h * w;
        c = filters;
        if (l + 1 < STYLE_LEVELS) {
            if (h < 2 || w < 2) return glia__err(GLIA_EINVAL, "style: the image is too small (%lldx%lld at scale %d)",
                                                 (long long)h, (long long)w, l);
            snprintf(name, sizeof name, "pool%d", l);
            if ((s = glia_avgpool2d(g, name, f->feat[l], &pp, &cur))) return s;
            h /= 2;
            w /= 2;
        }
    }
    if ((s = glia_node_requires_grad(g, f->x, 1))) return s;
    return glia_graph_compile(g, GLIA_COMPILE_BACKWARD);
}

/* forward on pixels, normalised: x = (pixel - mean[c]) / std[c] (planes of hw pixels) */
static glia_status run(features *f, const float *px, int64_t n, int64_t hw) {
    float *x = glia_node_value(f->g, f->x);
    if (!x) return glia__err(GLIA_ESTATE, "style: the input is not in host memory");
    for (int64_t i = 0; i < n; i++) x[i] = (px[i] - f->mean[i / hw]) / f->std[i / hw];
    return glia_graph_forward(f->g);
}

glia_status glia_style_transfer(const float *content, const float *style, int C, int H, int W,
                                const glia_style_options *opt, float *out, double *final_loss) {
    if (!content || !style || !out || (C != 1 && C != 3) || H < 8 || W < 8)
        return glia__err(GLIA_EINVAL, "glia_style_transfer: bad arguments (%d channels, %dx%d; "
                         "need 1 or 3 channels and at least 8x8)", C, H, W);
    glia_style_options o = opt ? *opt : (glia_style_options){0};
    if (o.steps <= 0) o.steps = 300;
    if (!(o.lr > 0)) o.lr = 0.02f;
    if (!(o.content_weight > 0)) o.content_weight = 1;
    if (!(o.style_weight > 0)) o.style_weight = 1e4f;
    if (!(o.tv >= 0)) o.tv = 0;
    if (o.filters <= 0) o.filters = 32;
    const int64_t n = (int64_t)C * H * W, hw = (int64_t)H * W;
    features f = {0};
    glia_status s = o.model ? from_model(&f, o.model, C, H, W) : build(&f, C, H, W, o.filters, o.seed);
    const int content_layer = f.content, levels = f.levels;
    float *A[STYLE_LEVELS] = {0}, *P = NULL, *seed = NULL, *grad = NULL, *m1 = NULL, *m2 = NULL;
    int64_t most = 0;
    for (int l = 0; !s && l < levels; l++) most = f.K[l] * f.M[l] > most ? f.K[l] * f.M[l] : most;
    if (!s && (!(seed = glia__malloc((size_t)most * sizeof *seed)) || !(grad = glia__calloc((size_t)n, sizeof *grad)) ||
               !(m1 = glia__calloc((size_t)n, sizeof *m1)) || !(m2 = glia__calloc((size_t)n, sizeof *m2))))
        s = glia__err(GLIA_ENOMEM, "style: out of memory");
    /* the targets: the style image's Gram matrices, the content image's content layer */
    if (!s) s = run(&f, style, n, hw);
    for (int l = 0; !s && l < levels; l++) {
        if (!(A[l] = glia__malloc((size_t)f.K[l] * f.K[l] * sizeof *A[l]))) s = glia__err(GLIA_ENOMEM, "style: out of memory");
        else gram(glia_node_value(f.g, f.feat[l]), f.K[l], f.M[l], A[l]);
    }
    if (!s) s = run(&f, content, n, hw);
    int64_t pn = f.K[content_layer] * f.M[content_layer];
    if (!s && !(P = glia__malloc((size_t)pn * sizeof *P))) s = glia__err(GLIA_ENOMEM, "style: out of memory");
    if (!s) memcpy(P, glia_node_value(f.g, f.feat[content_layer]), (size_t)pn * sizeof *P);
    memcpy(out, content, (size_t)n * sizeof *out); /* start from the content image */
    double loss = 0;
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    for (int step = 1; !s && step <= o.steps; step++) {
        if ((s = run(&f, out, n, hw))) break;
        memset(grad, 0, (size_t)n * sizeof *grad);
        loss = 0;
        for (int l = 0; !s && l < levels; l++) {
            const float *F = glia_node_value(f.g, f.feat[l]);
            int64_t kn = f.K[l] * f.M[l];
            double ls = glia_style_gram_loss(F, f.K[l], f.M[l], A[l], seed);
            if (isnan(ls)) {
                s = glia__err(GLIA_ENOMEM, "style: out of memory");
                break;
            }
            loss += o.style_weight * ls;
            for (int64_t i = 0; i < kn; i++) seed[i] *= o.style_weight;
            if (l == content_layer) { /* Lc = mean (F - P)^2, dLc/dF = 2 (F - P) / n */
                double lc = 0;
                for (int64_t i = 0; i < kn; i++) {
                    double d = (double)F[i] - P[i];
                    lc += d * d;
                    seed[i] += (float)(o.content_weight * 2 * d / (double)kn);
                }
                loss += o.content_weight * lc / (double)kn;
            }
            if ((s = glia_graph_backward(f.g, f.feat[l], seed, 0))) break;
            const float *gx = glia_node_grad(f.g, f.x);
            if (!gx) {
                s = glia__err(GLIA_ESTATE, "style: no gradient with respect to the input");
                break;
            }
            for (int64_t i = 0; i < n; i++) grad[i] += gx[i] / f.std[i / hw]; /* d/dpixel = d/dx / std */
        }
        if (s) break;
        if (o.tv > 0) { /* TV = mean of squared differences to the right and below neighbours */
            double tv = 0, k = (double)C * ((H - 1) * W + H * (W - 1));
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++) {
                        int64_t i = ((int64_t)c * H + y) * W + x;
                        if (y + 1 < H) {
                            double d = out[i + W] - out[i];
                            tv += d * d;
                            grad[i + W] += (float)(o.tv * 2 * d / k);
                            grad[i] -= (float)(o.tv * 2 * d / k);
                        }
                        if (x + 1 < W) {
                            double d = out[i + 1] - out[i];
                            tv += d * d;
                            grad[i + 1] += (float)(o.tv * 2 * d / k);
                            grad[i] -= (float)(o.tv * 2 * d / k);
                        }
                    }
            loss += o.tv * tv / k;
        }
        /* Adam on the pixels, kept in [0, 1] */
        float c1 = 1 - powf(b1, (float)step), c2 = 1 - powf(b2, (float)step);
        for (int64_t i = 0; i < n; i++) {
            m1[i] = b1 * m1[i] + (1 - b1) * grad[i];
            m2[i] = b2 * m2[i] + (1 - b2) * grad[i] * grad[i];
            float v = out[i] - o.lr * (m1[i] / c1) / (sqrtf(m2[i] / c2) + eps);
            out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        if (o.progress) o.progress(o.ctx, step, o.steps, loss);
    }
    if (final_loss) *final_loss = loss;
    for (int l = 0; l < STYLE_LEVELS; l++) free(A[l]);
    free(P);
    free(seed);
    free(grad);
    free(m1);
    free(m2);
    if (f.own) glia_graph_free(f.g);
    return s;
}
