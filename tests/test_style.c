/* test_style.c: style transfer (src/viz/style.c): the Gram-matrix style loss's gradient against
 * central finite differences, and the whole optimisation: from the content image, 40 Adam steps
 * on a 16x16 picture lower the total loss several times over, keep the pixels in [0, 1], and
 * give the same picture again for the same seed. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

TEST(style_gram_loss_gradient) {
    enum { K = 3, M = 5 };
    float F[K * M], A[K * K], dF[K * M];
    fill_uniform(F, K * M, -1, 1, 3);
    fill_uniform(A, K * K, -0.5f, 0.5f, 4);
    for (int i = 0; i < K; i++) /* a symmetric target, as a Gram matrix is */
        for (int j = 0; j < i; j++) A[i * K + j] = A[j * K + i];
    double l = glia_style_gram_loss(F, K, M, A, dF);
    CHECK(l > 0);
    for (int i = 0; i < K * M; i++) {
        float keep = F[i], h = 1e-2f;
        F[i] = keep + h;
        double lp = glia_style_gram_loss(F, K, M, A, NULL);
        F[i] = keep - h;
        double lm = glia_style_gram_loss(F, K, M, A, NULL);
        F[i] = keep;
        double fd = (lp - lm) / (2 * (double)h);
        CHECK_MSG(fabs(fd - dF[i]) <= 2e-3 * (fabs(fd) + 1e-2), "dF[%d] = %g, finite differences %g", i, (double)dF[i], fd);
    }
}

static double first_loss;
static void note(void *ctx, int step, int steps, double loss) {
    (void)ctx, (void)steps;
    if (step == 1) first_loss = loss;
}

TEST(style_transfer_lowers_the_loss) {
    enum { C = 3, H = 16, W = 16 };
    static float content[C * H * W], style[C * H * W], out[C * H * W], again[C * H * W];
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                content[(c * H + y) * W + x] = (x + y) / 30.0f; /* a smooth ramp */
                style[(c * H + y) * W + x] = ((x / 2 + y / 2 + c) % 2) ? 0.9f : 0.1f; /* a checkerboard */
            }
    glia_style_options o = {.steps = 40, .lr = 0.05f, .filters = 8, .seed = 5, .tv = 0.1f, .progress = note};
    double last;
    OK(glia_style_transfer(content, style, C, H, W, &o, out, &last));
    CHECK_MSG(last < first_loss / 3, "loss %g after 40 steps, %g at the first", last, first_loss);
    for (int i = 0; i < C * H * W; i++) CHECK(out[i] >= 0 && out[i] <= 1);
    CHECK(memcmp(out, content, sizeof out));
    OK(glia_style_transfer(content, style, C, H, W, &o, again, NULL));
    CHECK(!memcmp(out, again, sizeof out));
    CHECK(glia_style_transfer(content, style, 2, H, W, &o, out, NULL) == GLIA_EINVAL);
}

/* a model's own features: its [conv] layers at its input size, its [net] mean and std */
TEST(style_transfer_with_a_models_features) {
    enum { C = 3, H = 16, W = 16 };
    glia_model *m;
    OK(glia_model_parse("[net]\ninput = 3, 16, 16\nclasses = 4\nbatch = 8\nmean = 0.4, 0.5, 0.6\nstd = 0.3\n"
                        "[conv]\nfilters = 6\nsize = 3\npad = 1\nactivation = relu\n[maxpool]\nsize = 2\n"
                        "[conv]\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n"
                        "[dense]\nunits = 4\n", "s.cfg", 8, 3, &m));
    static float content[C * H * W], style[C * H * W], out[C * H * W];
    for (int i = 0; i < C * H * W; i++) {
        content[i] = (float)(i % W) / W;
        style[i] = (i / 2 % 2) ? 0.8f : 0.2f;
    }
    glia_style_options o = {.steps = 30, .lr = 0.05f, .model = m, .progress = note};
    double last;
    OK(glia_style_transfer(content, style, C, H, W, &o, out, &last));
    CHECK_MSG(last < first_loss / 2, "loss %g after 30 steps, %g at the first", last, first_loss);
    CHECK(glia_style_transfer(content, style, C, 8, 8, &o, out, NULL) == GLIA_ESHAPE); /* not its size */
    glia_model_free(m);
    OK(glia_model_parse("[net]\ninput = 3, 16, 16\nclasses = 4\n[dense]\nunits = 4\n", "d.cfg", 1, 3, &m));
    o.model = m;
    CHECK(glia_style_transfer(content, style, C, H, W, &o, out, NULL) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "no [conv] layer"), "%s", glia_last_error());
    glia_model_free(m);
}
