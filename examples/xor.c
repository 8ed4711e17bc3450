/* xor.c: the smallest complete use of glia — a 2-8-1 network learns XOR with plain SGD.
 * Build against an installed glia:  cc xor.c $(pkg-config --cflags --libs glia) -lm -o xor */
#include <glia.h>
#include <math.h>
#include <stdio.h>

#define TRY(call) do { if ((call) != GLIA_OK) { fprintf(stderr, "xor: %s\n", glia_last_error()); return 1; } } while (0)

int main(void) {
    glia_graph *g;
    int x, t, w1, b1, w2, b2, h, y, loss;
    TRY(glia_graph_new(&g));
    TRY(glia_input(g, "x", 2, (int64_t[]){4, 2}, &x));
    TRY(glia_input(g, "target", 2, (int64_t[]){4, 1}, &t));
    TRY(glia_param(g, "fc1.weight", 2, (int64_t[]){8, 2}, &w1));
    TRY(glia_param(g, "fc1.bias", 1, (int64_t[]){8}, &b1));
    TRY(glia_param(g, "fc2.weight", 2, (int64_t[]){1, 8}, &w2));
    TRY(glia_param(g, "fc2.bias", 1, (int64_t[]){1}, &b2));
    TRY(glia_dense(g, "fc1", x, w1, b1, &h));
    TRY(glia_tanh(g, "tanh", h, &h));
    TRY(glia_dense(g, "fc2", h, w2, b2, &y));
    TRY(glia_bce_with_logits(g, "loss", y, t, &loss));
    TRY(glia_node_retain(g, y)); /* keep the logits readable after a step */
    TRY(glia_graph_compile(g, GLIA_COMPILE_BACKWARD));

    const float xs[8] = {0, 0, 0, 1, 1, 0, 1, 1}, ts[4] = {0, 1, 1, 0};
    TRY(glia_node_set(g, x, xs, 8));
    TRY(glia_node_set(g, t, ts, 4));
    glia_rng r;
    glia_rng_seed(&r, 1, 1);
    float *W1 = glia_node_value(g, w1), *W2 = glia_node_value(g, w2);
    for (int i = 0; i < 16; i++) W1[i] = glia_rng_normal(&r);
    for (int i = 0; i < 8; i++) W2[i] = glia_rng_normal(&r) * 0.5f;

    int params[4] = {w1, b1, w2, b2};
    int64_t sizes[4] = {16, 8, 8, 1};
    for (int step = 0; step <= 2000; step++) {
        TRY(glia_graph_forward(g));
        TRY(glia_graph_backward(g, loss, NULL, 0));
        for (int k = 0; k < 4; k++) { /* SGD: w -= lr * dL/dw */
            float *w = glia_node_value(g, params[k]), *dw = glia_node_grad(g, params[k]);
            for (int64_t i = 0; i < sizes[k]; i++) w[i] -= 0.5f * dw[i];
        }
        if (step % 500 == 0) printf("step %4d  loss %.4f\n", step, glia_node_value(g, loss)[0]);
    }
    TRY(glia_graph_forward(g));
    const float *out = glia_node_value(g, y);
    int right = 0;
    for (int i = 0; i < 4; i++) {
        printf("%g xor %g -> %.3f\n", xs[2 * i], xs[2 * i + 1], 1 / (1 + expf(-out[i])));
        right += (out[i] > 0) == (ts[i] > 0.5f);
    }
    glia_graph_free(g);
    printf("%d of 4 right\n", right);
    return right == 4 ? 0 : 1;
}
