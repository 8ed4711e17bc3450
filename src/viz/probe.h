/* probe.h: one image through a trained model and gradients back to it, for the pictures of
 * src/viz (heat maps, ascent, attacks). Pixels are [C, H, W] in [0, 1]; the network sees
 * (pixel - mean) / std in sample 0 of its batch (the other samples are zeros).
 *
 * Node memory is reached on every device: through the node's pointer where the graph's device
 * has host memory (the cpu, no copy), else through copies in the probe's host buffers, one per
 * use (viz_slot), so that the values a picture needs at once (a feature map and its gradient)
 * do not overwrite each other. viz_probe_close frees them. */
#ifndef GLIA_VIZ_PROBE_H
#define GLIA_VIZ_PROBE_H
#include "glia.h"

/* the probe's host buffers (used only on a device without host memory) */
typedef enum viz_slot {
    VIZ_SLOT_INPUT,  /* the input batch viz_probe_forward writes */
    VIZ_SLOT_VALUE,  /* viz_probe_value */
    VIZ_SLOT_GRAD,   /* gradients: the input's (viz_probe_backward), a feature map's */
    VIZ_SLOT_LOGITS, /* viz_probe_softmax */
    VIZ_SLOT_OTHER,  /* anything else read at the same time (CAM's dense weights) */
    VIZ_SLOTS
} viz_slot;

typedef struct viz_probe {
    glia_model *m;
    glia_graph *g;
    int x, out;              /* input and logits nodes */
    int c, h, w, classes;    /* image channels and size; number of classes */
    int64_t numel;           /* C * H * W */
    int64_t batch;
    float mean[GLIA_MAX_CHANNELS], std[GLIA_MAX_CHANNELS]; /* per channel; more channels: [0] for all */
    float *buf[VIZ_SLOTS];   /* host copies (a device without host memory), buf_n floats each */
    int64_t buf_n[VIZ_SLOTS];
} viz_probe;
/* the normalisation channel of pixel i of an image (mean[], std[] index) */
static inline int64_t viz_probe_channel(const viz_probe *p, int64_t i) {
    return p->c <= GLIA_MAX_CHANNELS ? i / ((int64_t)p->h * p->w) : 0;
}

/* Freezes the parameters, makes the input require a gradient, retains `node` (-1: none) so its
 * value and gradient stay readable, sets inference mode. Call viz_probe_close afterwards, also
 * when it failed (p non-NULL). */
glia_status viz_probe_open(glia_model *m, int node, viz_probe *p);
void viz_probe_close(viz_probe *p);
/* Forward on one image. */
glia_status viz_probe_forward(viz_probe *p, const float *pixels);
/* A node's whole value (grad 0) or gradient (grad 1), sample 0 first, as host floats in *out:
 * the node's memory, or a copy in buffer `slot`, valid until that slot is read again. */
glia_status viz_probe_read(viz_probe *p, int node, int grad, viz_slot slot, const float **out);
/* Sample 0's part of a node's value (VIZ_SLOT_VALUE) and its per-sample size. */
glia_status viz_probe_value(viz_probe *p, int node, const float **out, int64_t *per_sample);
/* Backward from `node` seeded with seed (its sample-0 part; the other samples get 0), then
 * d/d(pixels) = d/d(input) / std into grad_pixels (may be NULL). */
glia_status viz_probe_backward(viz_probe *p, int node, const float *seed, float *grad_pixels);
/* Softmax of sample 0's logits into probs, the argmax in *pred (may be NULL). */
glia_status viz_probe_softmax(viz_probe *p, float *probs, int *pred);
/* The node of a layer by name (NULL or "": glia_viz_layer's default). */
glia_status viz_layer_node(const glia_model *m, const char *layer, int *node, glia_shape *shape);
#endif
