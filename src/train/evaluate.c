/* evaluate.c: classification metrics from logits (cross-entropy, top-1, top-5, confusion
 * matrix), and glia_evaluate, which runs a model over a data set. */
#include "train/loop.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void glia__metrics_add(glia__metrics *mt, const float *z, const float *labels, int64_t n, int classes) {
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0) continue; /* an ignored row (padding of a sequence) */
        const float *zi = z + i * classes;
        int y = (int)labels[i], best = 0, above = 0;
        double mx = zi[0];
        for (int c = 1; c < classes; c++) {
            if (zi[c] > zi[best]) best = c;
            if (zi[c] > mx) mx = zi[c];
        }
        double se = 0; /* loss = log sum_c exp(z_c) - z_y, shifted by max z */
        for (int c = 0; c < classes; c++) {
            se += exp((double)zi[c] - mx);
            above += zi[c] > zi[y];
        }
        mt->loss += log(se) + mx - (double)zi[y];
        mt->correct += best == y;
        mt->top5 += above < 5;
        mt->n++;
        if (mt->confusion) mt->confusion[(int64_t)y * classes + best]++;
    }
}

/* Inference over samples idx[0..n) (idx NULL: 0..n) in full batches of the compiled size, each
 * image as view shows it (glia_augment_eval). On a device without host memory the batch and the
 * logits pass through host copies. */
static glia_status eval_split(glia_graph *g, int x, int logits, const glia_dataset *d,
                             const int64_t *idx, int64_t n, const float *mean, const float *std, int64_t batch,
                             const glia_augment *view, glia__metrics *mt) {
    int classes = d->classes;
    glia_shape zs;
    glia_status s = glia_node_shape(g, logits, &zs);
    if (s) return s;
    if (glia_shape_numel(&zs) != batch * classes)
        return glia__err(GLIA_ESHAPE, "the model's output has %lld values per sample but the "
                         "data set has %d classes", (long long)(glia_shape_numel(&zs) / batch), classes);
    glia_graph_set_training(g, 0);
    int64_t ids[512], per = glia_shape_numel(&d->images->shape) / d->images->shape.dim[0];
    float *xv = glia_node_value(g, x), *z = glia_node_value(g, logits), *own = NULL;
    if (!xv || !z) { /* not host memory */
        if (!(own = glia__malloc((size_t)(batch * per + batch * classes) * sizeof *own)))
            return glia__err(GLIA_ENOMEM, "evaluate: out of memory");
        xv = own;
        z = own + batch * per;
    }
    for (int64_t b = 0; b < n && !s; b += batch) {
        /* full batches always (the plan stays as compiled): a short last batch is padded with
         * its last sample, whose extra outputs are not counted */
        int64_t bs = n - b < batch ? n - b : batch;
        for (int64_t i = 0; i < batch; i += 512) {
            int64_t k = batch - i < 512 ? batch - i : 512;
            for (int64_t j = 0; j < k; j++) {
                int64_t p = b + (i + j < bs ? i + j : bs - 1);
                ids[j] = idx ? idx[p] : p;
            }
            glia_dataset_batch(d, ids, k, mean, std, view, NULL, xv + i * per, NULL);
        }
        if ((own && (s = glia_node_write(g, x, xv, batch * per))) || (s = glia_graph_forward(g)) ||
            (own && (s = glia_node_read(g, logits, z, batch * classes))))
            break;
        float lab[512];
        for (int64_t i = 0; i < bs; i += 512) {
            int64_t k = bs - i < 512 ? bs - i : 512;
            for (int64_t j = 0; j < k; j++) lab[j] = d->labels->data[idx ? idx[b + i + j] : b + i + j];
            glia__metrics_add(mt, z + i * classes, lab, k, classes);
        }
    }
    free(own);
    return s;
}

void glia_eval_result_free(glia_eval_result *r) {
    if (!r) return;
    free(r->confusion);
    r->confusion = NULL;
}

glia_status glia__metrics_result(const glia__metrics *mt, int classes, glia_eval_result *out) {
    out->n = mt->n;
    out->classes = classes;
    double n = mt->n ? (double)mt->n : 1;
    out->loss = mt->loss / n;
    out->acc = (double)mt->correct / n;
    out->top5 = (double)mt->top5 / n;
    out->confusion = mt->confusion;
    return GLIA_OK;
}

glia_status glia_evaluate(glia_model *m, const glia_dataset *d, const int64_t *idx, int64_t n,
                          glia_eval_result *out) {
    if (!m || !d || !out) return glia__err(GLIA_EINVAL, "glia_evaluate: NULL argument");
    memset(out, 0, sizeof *out);
    if (!idx) n = d->images->shape.dim[0];
    glia_graph *g = glia_model_graph(m);
    int x = glia_model_input(m);
    glia_shape in;
    glia_status s = glia_node_shape(g, x, &in);
    if (s) return s;
    if ((s = glia__check_data_fits(&in, d))) return s;
    if ((s = glia_graph_compile(g, 0))) return s;
    float *norm;
    if ((s = glia__data_norm(m, d, &norm))) return s;
    glia__metrics mt = {0};
    mt.confusion = glia__calloc((size_t)d->classes * (size_t)d->classes, sizeof *mt.confusion);
    if (!mt.confusion) {
        free(norm);
        return glia__err(GLIA_ENOMEM, "glia_evaluate: out of memory");
    }
    glia_augment view = glia_augment_eval(m); /* the centre box for a model trained with crop */
    s = eval_split(g, x, glia_model_output(m), d, idx, n, norm, norm + glia__data_channels(d), in.dim[0],
                   &view, &mt);
    free(norm);
    if (s) {
        free(mt.confusion);
        return s;
    }
    return glia__metrics_result(&mt, d->classes, out);
}

glia_status glia__check_data_fits(const glia_shape *in, const glia_dataset *d) {
    int64_t per_model = glia_shape_numel(in) / in->dim[0];
    int64_t per_data = glia_shape_numel(&d->images->shape) / d->images->shape.dim[0];
    if (per_model != per_data) {
        char a[96], b[96];
        return glia__err(GLIA_ESHAPE, "the model takes %s (batch first) but the data's images are "
                         "%s", glia_shape_str(in, a, sizeof a),
                         glia_shape_str(&d->images->shape, b, sizeof b));
    }
    return GLIA_OK;
}

int64_t glia__data_channels(const glia_dataset *d) {
    return d->images->shape.ndim == 4 ? d->images->shape.dim[1] : 1;
}

glia_status glia__data_norm(const glia_model *m, const glia_dataset *d, float **norm) {
    int64_t C = glia__data_channels(d);
    if (!(*norm = glia__malloc((size_t)(2 * C) * sizeof **norm)))
        return glia__err(GLIA_ENOMEM, "normalisation: out of memory");
    glia_status s = glia_model_normalization(m, (int)C, *norm, *norm + C);
    if (s) {
        free(*norm);
        *norm = NULL;
    }
    return s;
}
