/* probe.c: feeding one image to a trained model and asking the graph for gradients with respect
 * to the image or a feature map (src/viz never differentiates anything itself). */
#include "viz/probe.h"
#include "core/device.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

glia_status glia_viz_layer(const glia_model *m, const char *name, glia_layer_info *out) {
    if (!m || !out) return glia__err(GLIA_EINVAL, "glia_viz_layer: NULL argument");
    int n = glia_model_num_layers(m), found = -1;
    for (int i = 0; i < n; i++) {
        glia_layer_info li;
        glia_status s = glia_model_layer(m, i, &li);
        if (s) return s;
        if (name && name[0] ? !strcmp(li.name, name) : li.shape.ndim == 4 && li.shape.dim[2] * li.shape.dim[3] > 1) {
            found = i;
            *out = li;
            if (name && name[0]) break;
        }
    }
    if (found >= 0) return GLIA_OK;
    if (name && name[0]) {
        char list[512] = "";
        for (int i = 0; i < n; i++) {
            glia_layer_info li;
            if (glia_model_layer(m, i, &li)) break;
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", li.name);
        }
        return glia__err(GLIA_EINVAL, "the model has no layer '%s' (layers: %s)", name, list);
    }
    return glia__err(GLIA_EINVAL, "the model has no layer with a feature map [N, C, H, W] larger than 1 x 1");
}

glia_status viz_layer_node(const glia_model *m, const char *layer, int *node, glia_shape *shape) {
    glia_layer_info li;
    glia_status s = glia_viz_layer(m, layer, &li);
    if (s) return s;
    *node = li.output;
    if (shape) *shape = li.shape;
    return GLIA_OK;
}

glia_status viz_probe_open(glia_model *m, int node, viz_probe *p) {
    if (p) memset(p, 0, sizeof *p);
    if (!m || !p) return glia__err(GLIA_EINVAL, "viz: NULL model");
    p->m = m;
    p->g = glia_model_graph(m);
    p->x = glia_model_input(m);
    p->out = glia_model_output(m);
    glia_shape in, out;
    glia_node_shape(p->g, p->x, &in);
    glia_node_shape(p->g, p->out, &out);
    if (in.ndim != 4 || out.ndim != 2)
        return glia__err(GLIA_ESHAPE, "viz: the model must take images [N, C, H, W] and output "
                         "class scores [N, classes]");
    p->batch = in.dim[0];
    p->c = (int)in.dim[1];
    p->h = (int)in.dim[2];
    p->w = (int)in.dim[3];
    p->numel = (int64_t)p->c * p->h * p->w;
    p->classes = (int)out.dim[1];
    glia_status s = glia_model_normalization(m, p->c <= GLIA_MAX_CHANNELS ? p->c : 1, p->mean, p->std);
    if (s) return s;
    /* no parameter gradients: only d/d(input) and d/d(feature maps) are wanted */
    for (int i = 0; i < glia_graph_num_nodes(p->g); i++)
        if (glia_node_is_param(p->g, i) && glia_node_trainable(p->g, i))
            glia_node_set_trainable(p->g, i, 0);
    s = glia_node_requires_grad(p->g, p->x, 1);
    if (!s && node >= 0) s = glia_node_retain(p->g, node);
    glia_graph_set_training(p->g, 0);
    return s;
}

void viz_probe_close(viz_probe *p) {
    for (int i = 0; p && i < VIZ_SLOTS; i++) {
        free(p->buf[i]);
        p->buf[i] = NULL;
        p->buf_n[i] = 0;
    }
}

/* host buffer `slot` with room for n floats, or NULL (message set) */
static float *slot_buf(viz_probe *p, viz_slot slot, int64_t n) {
    if (p->buf_n[slot] < n || !p->buf[slot]) {
        float *b = glia__realloc(p->buf[slot], (size_t)(n > 0 ? n : 1) * sizeof *b);
        if (!b) {
            glia__err(GLIA_ENOMEM, "viz: out of memory for a copy of %lld floats", (long long)n);
            return NULL;
        }
        p->buf[slot] = b;
        p->buf_n[slot] = n;
    }
    return p->buf[slot];
}

glia_status viz_probe_forward(viz_probe *p, const float *pixels) {
    glia_graph *g = p->g;
    glia_status s;
    if (!g->compiled || !(g->compile_flags & GLIA_COMPILE_BACKWARD)) {
        if ((s = glia_graph_compile(g, GLIA_COMPILE_BACKWARD))) return s;
    }
    const int host = glia__dev_host(g);
    const int64_t n = p->numel * p->batch;
    float *x = host ? glia_node_value(g, p->x) : slot_buf(p, VIZ_SLOT_INPUT, n);
    if (!x) return host ? GLIA_ESTATE : GLIA_ENOMEM;
    memset(x, 0, (size_t)n * sizeof *x);
    for (int64_t i = 0; i < p->numel; i++) {
        int64_t c = viz_probe_channel(p, i);
        x[i] = (pixels[i] - p->mean[c]) / p->std[c];
    }
    if (!host && (s = glia_node_write(g, p->x, x, n))) return s;
    return glia_graph_forward(g);
}

glia_status viz_probe_read(viz_probe *p, int node, int grad, viz_slot slot, const float **out) {
    *out = NULL;
    if (glia__dev_host(p->g)) { /* the node's own memory; glia_node_value says why not */
        *out = grad ? glia_node_grad(p->g, node) : glia_node_value(p->g, node);
        return *out ? GLIA_OK : GLIA_ESTATE;
    }
    glia_shape s;
    glia_status st = glia_node_shape(p->g, node, &s);
    if (st) return st;
    const int64_t n = glia_shape_numel(&s);
    float *b = slot_buf(p, slot, n);
    if (!b) return GLIA_ENOMEM;
    st = grad ? glia_node_read_grad(p->g, node, b, n) : glia_node_read(p->g, node, b, n);
    if (!st) *out = b;
    return st;
}

glia_status viz_probe_value(viz_probe *p, int node, const float **out, int64_t *per_sample) {
    glia_shape s;
    glia_status st = glia_node_shape(p->g, node, &s);
    if (st) return st;
    if (per_sample) *per_sample = glia_shape_numel(&s) / s.dim[0];
    return viz_probe_read(p, node, 0, VIZ_SLOT_VALUE, out);
}

glia_status viz_probe_backward(viz_probe *p, int node, const float *seed, float *grad_pixels) {
    glia_shape s;
    glia_status st = glia_node_shape(p->g, node, &s);
    if (st) return st;
    int64_t n = glia_shape_numel(&s), per = n / s.dim[0];
    float *full = glia__calloc((size_t)n, sizeof *full);
    if (!full) return glia__err(GLIA_ENOMEM, "viz: out of memory for a seed of %lld floats", (long long)n);
    memcpy(full, seed, (size_t)per * sizeof *full);
    st = glia_graph_backward(p->g, node, full, 0);
    free(full);
    if (st || !grad_pixels) return st;
    const float *gx;
    if ((st = viz_probe_read(p, p->x, 1, VIZ_SLOT_GRAD, &gx))) return st;
    /* x = (pixel - mean) / std, so dL/dpixel = dL/dx / std */
    for (int64_t i = 0; i < p->numel; i++) grad_pixels[i] = gx[i] / p->std[viz_probe_channel(p, i)];
    return GLIA_OK;
}

glia_status viz_probe_softmax(viz_probe *p, float *probs, int *pred) {
    const float *z;
    glia_status st = viz_probe_read(p, p->out, 0, VIZ_SLOT_LOGITS, &z);
    if (st) return st;
    int best = 0;
    double mx = z[0], sum = 0;
    for (int c = 1; c < p->classes; c++)
        if (z[c] > mx) mx = z[c], best = c;
    for (int c = 0; c < p->classes; c++) sum += probs[c] = (float)exp((double)z[c] - mx);
    for (int c = 0; c < p->classes; c++) probs[c] = (float)(probs[c] / sum);
    if (pred) *pred = best;
    return GLIA_OK;
}

glia_status glia_viz_predict(glia_model *m, const float *image, float *probs, int *pred) {
    viz_probe p;
    glia_status s = viz_probe_open(m, -1, &p);
    if (!s) s = viz_probe_forward(&p, image);
    if (!s) s = viz_probe_softmax(&p, probs, pred);
    viz_probe_close(&p);
    return s;
}

glia_status glia_viz_activations(glia_model *m, const float *image, const char *layer, float *out) {
    int node;
    glia_status s = viz_layer_node(m, layer, &node, NULL);
    viz_probe p = {0};
    if (!s) s = viz_probe_open(m, node, &p);
    if (!s) s = viz_probe_forward(&p, image);
    int64_t per;
    const float *v;
    if (!s && !(s = viz_probe_value(&p, node, &v, &per))) memcpy(out, v, (size_t)per * sizeof *out);
    viz_probe_close(&p);
    return s;
}
