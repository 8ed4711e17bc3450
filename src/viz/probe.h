/* probe.h: one image through a trained model and gradients back to it, for the pictures of
 * src/viz (heat maps, ascent, attacks). Pixels are [C, H, W] in [0, 1]; the network sees
 * (pixel - mean) / std in sample 0 of its batch (the other samples are zeros). */
#ifndef GLIA_VIZ_PROBE_H
#define GLIA_VIZ_PROBE_H
#include "glia.h"

typedef struct viz_probe {
    glia_model *m;
    glia_graph *g;
    int x, out;              /* input and logits nodes */
    int c, h, w, classes;    /* image channels and size; number of classes */
    int64_t numel;           /* C * H * W */
    int64_t batch;
    float mean, std;
} viz_probe;

/* Freezes the parameters, makes the input require a gradient, retains `node` (-1: none) so its
 * value and gradient stay readable, sets inference mode. */
glia_status viz_probe_open(glia_model *m, int node, viz_probe *p);
/* Forward on one image. */
glia_status viz_probe_forward(viz_probe *p, const float *pixels);
/* Sample 0's part of a node's value and its per-sample size. */
const float *viz_probe_value(viz_probe *p, int node, int64_t *per_sample);
/* Backward from `node` seeded with seed (its sample-0 part; the other samples get 0), then
 * d/d(pixels) = d/d(input) / std into grad_pixels (may be NULL). */
glia_status viz_probe_backward(viz_probe *p, int node, const float *seed, float *grad_pixels);
/* Softmax of sample 0's logits into probs; returns the argmax. */
int viz_probe_softmax(viz_probe *p, float *probs);
/* The node of a layer by name (NULL or "": glia_viz_layer's default). */
glia_status viz_layer_node(const glia_model *m, const char *layer, int *node, glia_shape *shape);
#endif
