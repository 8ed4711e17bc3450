/* test_viz.c: seeing inside a network: input and feature-map gradients against finite
 * differences, CAM / Grad-CAM / Grad-CAM++ against direct computation on a small fixed
 * network, saliency, attacks, input-ascent loops, image helpers and the tile picture. */
#include "test.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* conv(tanh) 2x3x3 -> conv(tanh) 4x3x3 -> global average pooling -> dense 3: smooth (no kinks),
 * ends in GAP + dense so CAM applies. The tail takes c1's output as its input. */
static const char *NET =
    "[net]\ninput = 1, 8, 8\nclasses = 3\nbatch = 1\n"
    "[conv]\nname = c1\nfilters = 2\nsize = 3\nactivation = tanh\n"
    "[conv]\nname = c2\nfilters = 4\nsize = 3\nactivation = tanh\n"
    "[globalavgpool]\nname = gap\n[dense]\nname = fc\nunits = 3\n";
static const char *TAIL =
    "[net]\ninput = 2, 6, 6\nclasses = 3\nbatch = 1\n"
    "[conv]\nname = c2\nfilters = 4\nsize = 3\nactivation = tanh\n"
    "[globalavgpool]\nname = gap\n[dense]\nname = fc\nunits = 3\n";

static float *param(glia_model *m, const char *name) {
    int n;
    if (glia_graph_find(glia_model_graph(m), name, &n)) return NULL;
    return glia_node_value(glia_model_graph(m), n);
}

/* the image: a smooth ramp with a bump, in (0, 1) */
static void image(float *x) {
    for (int i = 0; i < 64; i++) x[i] = 0.2f + 0.05f * (float)(i % 8) + 0.3f * (i / 8 == 3 || i / 8 == 4);
}

/* logits of the tail for feature maps f [2,6,6] */
static const float *tail_logits(glia_model *t, const float *f) {
    glia_graph *g = glia_model_graph(t);
    glia_node_set(g, glia_model_input(t), f, 72);
    glia_graph_forward(g);
    return glia_node_value(g, glia_model_output(t));
}

TEST(viz_input_gradient_matches_finite_differences) {
    glia_model *m;
    OK(glia_model_parse(NET, "net", 1, 3, &m));
    glia_graph *g = glia_model_graph(m);
    int x = glia_model_input(m), y = glia_model_output(m);
    OK(glia_node_requires_grad(g, x, 1));
    float img[64], h = 1e-3f;
    image(img);
    OK(glia_node_set(g, x, img, 64));
    GRADCHECK(g, y, x, 1e-2);
    /* saliency = |dS_c/dx| against central differences of the score through glia_viz_predict's
     * forward (logits read back from the graph) */
    glia_heatmap hm;
    OK(glia_explain(m, img, GLIA_MAP_SALIENCY, NULL, 1, &hm));
    CHECK(hm.h == 8 && hm.w == 8 && hm.cls == 1);
    float probs[3];
    for (int i = 0; i < 64; i += 7) {
        float keep = img[i];
        img[i] = keep + h;
        OK(glia_viz_predict(m, img, probs, NULL));
        double up = glia_node_value(g, y)[1];
        img[i] = keep - h;
        OK(glia_viz_predict(m, img, probs, NULL));
        double down = glia_node_value(g, y)[1];
        img[i] = keep;
        CHECK_NEAR(hm.map[i], fabs(up - down) / (2 * h), 2e-3 + 2e-2 * hm.map[i]);
    }
    glia_heatmap_free(&hm);
    glia_model_free(m);
}

TEST(viz_feature_map_gradient_and_gradcam_match_finite_differences) {
    glia_model *m, *t;
    OK(glia_model_parse(NET, "net", 1, 3, &m));
    OK(glia_model_parse(TAIL, "tail", 1, 9, &t));
    const char *names[] = {"c2.weight", "c2.bias", "fc.weight", "fc.bias"};
    const int sizes[] = {72, 4, 12, 3};
    for (int k = 0; k < 4; k++) memcpy(param(t, names[k]), param(m, names[k]), sizes[k] * sizeof(float));
    float img[64], f[72];
    image(img);
    OK(glia_viz_activations(m, img, "c1", f));
    /* Grad-CAM at c1: alpha_k = sum_xy dS_c/df_k(x,y) by central differences on the tail */
    int c = 2;
    double alpha[2] = {0, 0}, h = 1e-3;
    for (int i = 0; i < 72; i++) {
        float keep = f[i];
        f[i] = keep + (float)h;
        double up = tail_logits(t, f)[c];
        f[i] = keep - (float)h;
        double down = tail_logits(t, f)[c];
        f[i] = keep;
        alpha[i / 36] += (up - down) / (2 * h);
    }
    glia_heatmap hm;
    OK(glia_explain(m, img, GLIA_MAP_GRADCAM, "c1", c, &hm));
    CHECK(hm.h == 6 && hm.w == 6 && hm.cls == c);
    for (int i = 0; i < 36; i++) {
        double want = alpha[0] * f[i] + alpha[1] * f[36 + i];
        CHECK_NEAR(hm.map[i], want > 0 ? want : 0, 1e-3);
    }
    glia_heatmap_free(&hm);
    /* the retained feature map's gradient itself, element by element */
    glia_graph *g = glia_model_graph(m);
    glia_layer_info li;
    OK(glia_viz_layer(m, "c1", &li));
    int c1 = li.output;
    OK(glia_node_retain(g, c1));
    OK(glia_graph_forward(g));
    float seed[3] = {0, 0, 1};
    OK(glia_graph_backward(g, glia_model_output(m), seed, 0));
    const float *gf = glia_node_grad(g, c1);
    CHECK(gf);
    for (int i = 0; i < 72; i += 5) {
        float keep = f[i];
        f[i] = keep + (float)h;
        double up = tail_logits(t, f)[c];
        f[i] = keep - (float)h;
        double down = tail_logits(t, f)[c];
        f[i] = keep;
        CHECK_NEAR(gf[i], (up - down) / (2 * h), 2e-4);
    }
    glia_model_free(m);
    glia_model_free(t);
}

TEST(viz_cam_gradcam_gradcampp_direct) {
    glia_model *m;
    OK(glia_model_parse(NET, "net", 1, 5, &m));
    float img[64], f[64], probs[3];
    image(img);
    OK(glia_viz_activations(m, img, "c2", f)); /* [4, 4, 4] */
    const float *w = param(m, "fc.weight");   /* [3, 4] */
    int pred;
    OK(glia_viz_predict(m, img, probs, &pred));
    for (int c = 0; c < 3; c++) {
        glia_heatmap cam, gc, pp;
        OK(glia_explain(m, img, GLIA_MAP_CAM, NULL, c, &cam));
        OK(glia_explain(m, img, GLIA_MAP_GRADCAM, "c2", c, &gc));
        OK(glia_explain(m, img, GLIA_MAP_GRADCAM_PP, "c2", c, &pp));
        CHECK(cam.h == 4 && cam.w == 4 && gc.h == 4 && pp.w == 4);
        CHECK(cam.pred == pred && gc.pred == pred);
        CHECK_NEAR(cam.prob, probs[c], 1e-6);
        /* dS_c/df_k(x,y) = w_ck / 16 everywhere: Grad-CAM's alpha_k = w_ck, so Grad-CAM is
         * ReLU(CAM); Grad-CAM++: a = g^2 / (2 g^2 + sum f_k g^3), w_k = 16 a ReLU(g) */
        double wk[4];
        for (int k = 0; k < 4; k++) {
            double g1 = w[c * 4 + k] / 16.0, fs = 0;
            for (int i = 0; i < 16; i++) fs += f[k * 16 + i];
            double den = 2 * g1 * g1 + fs * g1 * g1 * g1;
            wk[k] = 16 * (den != 0 ? g1 * g1 / den : 0) * (g1 > 0 ? g1 : 0);
        }
        for (int i = 0; i < 16; i++) {
            double m_cam = 0, m_pp = 0;
            for (int k = 0; k < 4; k++) m_cam += w[c * 4 + k] * f[k * 16 + i], m_pp += wk[k] * f[k * 16 + i];
            CHECK_NEAR(cam.map[i], m_cam, 1e-5);
            CHECK_NEAR(gc.map[i], m_cam > 0 ? m_cam : 0, 1e-5);
            CHECK_NEAR(pp.map[i], m_pp > 0 ? m_pp : 0, 1e-5);
        }
        glia_heatmap_free(&cam), glia_heatmap_free(&gc), glia_heatmap_free(&pp);
    }
    glia_heatmap bad;
    CHECK(glia_explain(m, img, GLIA_MAP_GRADCAM, "nope", 0, &bad) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "no layer 'nope'"));
    CHECK(glia_explain(m, img, GLIA_MAP_CAM, NULL, 7, &bad) == GLIA_EINVAL);
    glia_model_free(m);
    /* CAM on a network without GAP + dense is an error that says so */
    OK(glia_model_parse("[net]\ninput = 1, 6, 6\nclasses = 2\nbatch = 1\n[conv]\nfilters = 2\nsize = 3\n"
                        "[dense]\nunits = 2\n", "nogap", 1, 1, &m));
    float img36[36] = {0};
    CHECK(glia_explain(m, img36, GLIA_MAP_CAM, NULL, -1, &bad) == GLIA_EINVAL);
    CHECK(strstr(glia_last_error(), "global average pooling"));
    glia_model_free(m);
}

TEST(viz_attacks) {
    glia_model *m;
    OK(glia_model_parse(NET, "net", 1, 7, &m));
    float img[64], adv[64], probs[3];
    image(img);
    int pred;
    OK(glia_viz_predict(m, img, probs, &pred));
    glia_attack_options o = {(pred + 1) % 3, 0, 0, 0.01f, 0.05f, 200};
    glia_attack_result r;
    OK(glia_attack(m, img, pred, &o, adv, &r));
    CHECK(r.success && r.adv_pred == o.target && r.pred == pred && r.steps > 0);
    OK(glia_viz_predict(m, adv, probs, &pred));
    CHECK(pred == o.target);
    double l2 = 0, linf = 0;
    for (int i = 0; i < 64; i++) {
        CHECK(adv[i] >= 0 && adv[i] <= 1);
        double d = fabs(adv[i] - img[i]);
        l2 += d * d, linf = d > linf ? d : linf;
    }
    CHECK_NEAR(r.l2, sqrt(l2), 1e-4);
    CHECK_NEAR(r.linf, linf, 1e-6);
    /* FGSM moves every pixel by eps (or to the box) against the label's gradient */
    glia_attack_options f = {-1, 1, 0.05f, 0, 0, 0};
    OK(glia_attack(m, img, r.pred, &f, adv, &r));
    CHECK(r.steps == 1 && r.linf <= 0.05f + 1e-6f && r.linf >= 0.05f - 1e-6f);
    o.target = -1;
    CHECK(glia_attack(m, img, 0, &o, adv, &r) == GLIA_EINVAL);
    glia_model_free(m);
}

TEST(viz_ascent_loops_improve_their_objectives) {
    glia_model *m;
    OK(glia_model_parse(NET, "net", 1, 11, &m));
    float img[64], x[64], a0[64], a1[64], v;
    for (int i = 0; i < 64; i++) x[i] = 0.5f;
    OK(glia_viz_activations(m, x, "c2", a0));
    glia_ascent_options o = {40, 0.02f, 0, 0, 0, 1, 0.5f, 4, 3};
    OK(glia_maximize(m, "c2", 1, &o, x, &v));
    OK(glia_viz_activations(m, x, "c2", a1));
    double before = 0, after = 0;
    for (int i = 0; i < 16; i++) before += a0[16 + i] / 16, after += a1[16 + i] / 16;
    CHECK(after > before + 0.05);
    CHECK_NEAR(v, after, 1e-5);
    for (int i = 0; i < 64; i++) CHECK(x[i] >= 0 && x[i] <= 1);
    /* inversion from grey gets closer to the target's features */
    image(img);
    for (int i = 0; i < 64; i++) x[i] = 0.5f;
    float err0, err1;
    glia_ascent_options one = {1, 1e-6f, 0, 0, 0, 0, 0, 0, 1};
    OK(glia_invert(m, "c1", img, &one, x, &err0));
    glia_ascent_options inv = {100, 0.01f, 0, 0, 0.01f, 0, 0, 0, 1};
    OK(glia_invert(m, "c1", img, &inv, x, &err1));
    CHECK(err1 < 0.5 * err0);
    /* the dream amplifies the layer's energy */
    memcpy(x, img, sizeof x);
    OK(glia_viz_activations(m, x, "c2", a0));
    glia_ascent_options d = {10, 0.01f, 0, 0, 0, 0, 0, 0, 1};
    OK(glia_dream(m, "c2", 2, 2.0f, &d, x));
    OK(glia_viz_activations(m, x, "c2", a1));
    double e0 = 0, e1 = 0;
    for (int i = 0; i < 64; i++) e0 += a0[i] * a0[i], e1 += a1[i] * a1[i];
    CHECK(e1 > e0);
    CHECK(glia_maximize(m, "c2", 4, &o, x, &v) == GLIA_EINVAL);
    CHECK(glia_dream(m, "c2", 0, 2.0f, &d, x) == GLIA_EINVAL);
    glia_model_free(m);
}

TEST(viz_tv_blur_resize) {
    float x[3 * 5 * 4], g[60] = {0};
    fill_uniform(x, 60, 0, 1, 5);
    glia_tv(x, 3, 5, 4, 1.0f, g);
    for (int i = 0; i < 60; i += 3) { /* dTV/dx by central differences */
        float keep = x[i], h = 1e-3f;
        x[i] = keep + h;
        double up = glia_tv(x, 3, 5, 4, 0, NULL);
        x[i] = keep - h;
        double down = glia_tv(x, 3, 5, 4, 0, NULL);
        x[i] = keep;
        CHECK_NEAR(g[i], (up - down) / (2 * h), 2e-3);
    }
    float c[30];
    for (int i = 0; i < 30; i++) c[i] = 0.25f;
    OK(glia_blur(c, 1, 5, 6, 1.0f));
    for (int i = 0; i < 30; i++) CHECK_NEAR(c[i], 0.25f, 1e-6);
    float spike[49] = {0};
    spike[24] = 1;
    OK(glia_blur(spike, 1, 7, 7, 0.7f));
    double sum = 0;
    for (int i = 0; i < 49; i++) sum += spike[i];
    CHECK_NEAR(sum, 1.0, 1e-4);
    CHECK(spike[24] < 1 && spike[23] > 0 && spike[23] == spike[25] && spike[17] == spike[31]);
    float small[4] = {0, 1, 2, 3}, big[16];
    glia_resize_bilinear(small, 1, 2, 2, big, 4, 4);
    CHECK_NEAR(big[0], 0, 1e-6);   /* corners clamp */
    CHECK_NEAR(big[15], 3, 1e-6);
    CHECK_NEAR(big[5], 0.75, 1e-6); /* (1.5 * 2/4 - 0.5) = 0.25 along each axis */
}

TEST(viz_tiles_png_roundtrip) {
    char path[] = "/tmp/glia-tiles-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    float black[20] = {0}, ramp[20], heat[4] = {0, 1, 2, 3};
    for (int i = 0; i < 20; i++) ramp[i] = (float)i;
    glia_tile t[3] = {{black, 1, 5, 4, 0, 1, NULL, 0, 0, NULL},
                      {ramp, 1, 5, 4, 0, 0, NULL, 0, 0, NULL},
                      {black, 1, 5, 4, 0, 1, heat, 2, 2, NULL}};
    int W, H;
    OK(glia_tiles_save_png(path, NULL, t, 3, 0, 2, &W, &H));
    /* 2 columns x 2 rows of 8 x 10 tiles, gaps of 6 and margins of 6 */
    CHECK(W == 6 + 8 + 6 + 8 + 6 && H == 6 + 10 + 6 + 10 + 6);
    glia_tensor *img;
    OK(glia_image_load(path, 3, 0, 0, &img));
    CHECK(img->shape.dim[0] == 3 && img->shape.dim[1] == H && img->shape.dim[2] == W);
    const float *p = img->data;
    CHECK(p[0] == 1.0f);                      /* margin: white */
    CHECK(p[6 * W + 6] == 0.0f);              /* tile 0: black */
    CHECK(p[(6 + 9) * W + 20 + 7] == 1.0f);   /* tile 1: its maximum is white */
    CHECK(p[6 * W + 20] == 0.0f);             /* ... its minimum black */
    float r = p[(22 + 9) * W + 6 + 7], gch = p[(size_t)H * W + (22 + 9) * W + 6 + 7];
    CHECK(r > 0.3f && gch > 0.3f);            /* tile 2: yellow where the heat is largest */
    glia_tensor_free(img);
    OK(glia_tiles_save_png(path, "a title", t, 3, 3, 1, &W, &H));
    CHECK(W >= 6 + 3 * 10 - 6 && H == 6 + 16 + 5 + 6);
    CHECK(glia_tiles_save_png(path, NULL, t, 0, 0, 1, &W, &H) == GLIA_EINVAL);
    unlink(path);
}

/* max |a - b| over max |b| (1 when b is all zeros) */
static double viz_rel(const float *a, const float *b, int n) {
    double d = 0, m = 0;
    for (int i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        d = e > d || e != e ? e : d;
        m = fabs((double)b[i]) > m ? fabs((double)b[i]) : m;
    }
    return d / (m > 0 ? m : 1);
}

/* The pictures on a model moved to the reference device (no host memory: every value goes
 * through the device's copies) are the cpu's, within 1e-4 of their scale. */
TEST(viz_reference_device_matches_cpu) {
    glia_model *m[2];
    float img[64], probs[2][3], act[2][64], ascent[2][64], v[2];
    int pred[2];
    glia_heatmap h[2][4];
    const glia_map_kind kinds[4] = {GLIA_MAP_SALIENCY, GLIA_MAP_CAM, GLIA_MAP_GRADCAM, GLIA_MAP_GRADCAM_PP};
    image(img);
    for (int d = 0; d < 2; d++) {
        OK(glia_model_parse(NET, "net", 1, 5, &m[d]));
        if (d) {
            OK(glia_graph_set_device(glia_model_graph(m[d]), "reference"));
            int w;
            OK(glia_graph_find(glia_model_graph(m[d]), "fc.weight", &w));
            CHECK(glia_node_value(glia_model_graph(m[d]), w) == NULL);
        }
        OK(glia_viz_predict(m[d], img, probs[d], &pred[d]));
        OK(glia_viz_activations(m[d], img, "c2", act[d]));
        for (int k = 0; k < 4; k++) OK(glia_explain(m[d], img, kinds[k], "c2", 1, &h[d][k]));
        glia_ascent_options o = {5, 0.02f, 0, 0, 0, 0, 0, 0, 1};
        for (int i = 0; i < 64; i++) ascent[d][i] = 0.5f;
        OK(glia_maximize(m[d], "c2", 1, &o, ascent[d], &v[d]));
    }
    CHECK(pred[0] == pred[1]);
    CHECK_MSG(viz_rel(probs[1], probs[0], 3) < 1e-4, "predict: %.3g", viz_rel(probs[1], probs[0], 3));
    CHECK_MSG(viz_rel(act[1], act[0], 64) < 1e-4, "activations: %.3g", viz_rel(act[1], act[0], 64));
    for (int k = 0; k < 4; k++) {
        CHECK(h[0][k].h == h[1][k].h && h[0][k].w == h[1][k].w && h[0][k].pred == h[1][k].pred);
        double e = viz_rel(h[1][k].map, h[0][k].map, h[0][k].h * h[0][k].w);
        CHECK_MSG(e < 1e-4, "map kind %d differs by %.3g", (int)kinds[k], e);
        glia_heatmap_free(&h[0][k]), glia_heatmap_free(&h[1][k]);
    }
    CHECK_MSG(viz_rel(ascent[1], ascent[0], 64) < 1e-4, "maximize: %.3g", viz_rel(ascent[1], ascent[0], 64));
    CHECK_NEAR(v[1], v[0], 1e-4 * (1 + fabs(v[0])));
    /* an adversarial example too */
    glia_attack_options a = {(pred[0] + 1) % 3, 0, 0, 0.01f, 0.05f, 200};
    glia_attack_result r[2];
    float adv[2][64];
    for (int d = 0; d < 2; d++) OK(glia_attack(m[d], img, pred[0], &a, adv[d], &r[d]));
    CHECK(r[0].success == r[1].success && r[0].adv_pred == r[1].adv_pred && r[0].steps == r[1].steps);
    CHECK_MSG(viz_rel(adv[1], adv[0], 64) < 1e-4, "attack: %.3g", viz_rel(adv[1], adv[0], 64));
    glia_model_free(m[0]);
    glia_model_free(m[1]);
}
