/* transfer.c: transfer learning, the course's recipe: start a new model from a trained one,
 * layer by layer (same name and shape: loaded; listed as fresh or absent: new, as initialised;
 * listed as frozen: loaded and no longer trainable), then train what is left.
 *
 * Everything is checked before anything is copied, so an error leaves the model as it was. */
#include "model_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 if name is one of the comma-separated names in list */
static int listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t k = strcspn(p, ", ");
        if (k == n && !strncmp(p, name, n)) return 1;
        p += k;
    }
    return 0;
}

static int find_layer(const glia_model *m, const char *name, size_t len) {
    for (int i = 0; i < m->n_layers; i++)
        if (strlen(m->layers[i].name) == len && !strncmp(m->layers[i].name, name, len)) return i;
    return -1;
}

/* every name in list (what: "freeze") is a layer of m */
static glia_status check_list(const glia_model *m, const char *list, const char *what) {
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t k = strcspn(p, ", ");
        if (k && find_layer(m, p, k) < 0)
            return glia__err(GLIA_EINVAL, "%s: '%.*s' is not a layer of %s (glia summary lists them)",
                             what, (int)k, p, m->filename);
        p += k;
    }
    return GLIA_OK;
}

/* the nodes of layer i: [*a, *b) */
static void layer_nodes(const glia_model *m, int i, int *a, int *b) {
    *a = m->layers[i].first_node;
    *b = i + 1 < m->n_layers ? m->layers[i + 1].first_node : m->end_node;
}

static int is_tensor(const glia_node *x) { return x->kind == NODE_PARAM || x->kind == NODE_BUFFER; }

typedef enum { L_NONE, L_NEW, L_LOADED, L_FROZEN } layer_fate;

/* what happens to layer i of m (checked against src); an error names the layer */
static glia_status fate(const glia_model *m, const glia_model *src, const glia_transfer_options *o, int i,
                        layer_fate *out, int64_t *values) {
    const model_layer *l = &m->layers[i];
    int a, b, found = 0, tensors = 0, missing = -1;
    layer_nodes(m, i, &a, &b);
    *values = 0;
    for (int n = a; n < b; n++) {
        const glia_node *x = &m->g->nodes[n];
        if (!is_tensor(x)) continue;
        tensors++;
        *values += glia__numel(x);
        int id;
        if (glia_graph_find(src->g, x->name, &id) || !is_tensor(&src->g->nodes[id])) {
            missing = n;
            continue;
        }
        found++;
        const glia_node *y = &src->g->nodes[id];
        char sa[96], sb[96];
        if (!glia__shape_eq(&x->shape, &y->shape) && !listed(o->fresh, l->name))
            return glia__err(GLIA_ESHAPE, "layer '%s': %s is %s here but %s in %s; list the layer as "
                             "new (glia train --new LAYER) to train it from scratch", l->name, x->name,
                             glia_shape_str(&x->shape, sa, sizeof sa), glia_shape_str(&y->shape, sb, sizeof sb),
                             src->filename);
    }
    if (!tensors) *out = L_NONE;
    else if (listed(o->fresh, l->name) || !found) *out = L_NEW;
    else if (missing >= 0)
        return glia__err(GLIA_EINVAL, "layer '%s': %s has no '%s'; the layer is there only in part (list "
                         "it as new to train it from scratch)", l->name, src->filename,
                         m->g->nodes[missing].name);
    else *out = listed(o->freeze, l->name) ? L_FROZEN : L_LOADED;
    if (*out != L_FROZEN && *out != L_NONE && listed(o->freeze, l->name))
        return glia__err(GLIA_EINVAL, "layer '%s' is new (not loaded from %s): freezing it would keep "
                         "its random start", l->name, src->filename);
    if (*out == L_NONE && (listed(o->freeze, l->name) || listed(o->fresh, l->name)))
        return glia__err(GLIA_EINVAL, "layer '%s' has no parameters to freeze or start afresh", l->name);
    return GLIA_OK;
}

/* copies layer i's tensors from src; frozen: its parameters are no longer trainable */
static glia_status load_layer(glia_model *m, const glia_model *src, int i, int freeze) {
    int a, b;
    layer_nodes(m, i, &a, &b);
    for (int n = a; n < b; n++) {
        glia_node *x = &m->g->nodes[n];
        if (!is_tensor(x)) continue;
        int id;
        int64_t k = glia__numel(x);
        glia_status s = glia_graph_find(src->g, x->name, &id);
        float *buf = s ? NULL : malloc((size_t)(k ? k : 1) * sizeof *buf);
        if (!s && !buf) s = glia__err(GLIA_ENOMEM, "out of memory copying %s", x->name);
        if (!s) s = glia_node_read(src->g, id, buf, k);
        if (!s) s = glia_node_write(m->g, n, buf, k);
        free(buf);
        if (!s && freeze && x->kind == NODE_PARAM) s = glia_node_set_trainable(m->g, n, 0);
        if (s) return s;
    }
    return GLIA_OK;
}

glia_status glia_model_transfer(glia_model *m, const glia_model *src, const glia_transfer_options *o,
                                glia_transfer_report *r) {
    static const glia_transfer_options none = {0};
    if (!m || !src) return glia__err(GLIA_EINVAL, "glia_model_transfer: NULL model");
    if (!o) o = &none;
    if (r) memset(r, 0, sizeof *r);
    glia_status s;
    if ((s = check_list(m, o->freeze, "freeze")) || (s = check_list(m, o->fresh, "new layers"))) return s;
    layer_fate *f = calloc((size_t)m->n_layers + 1, sizeof *f);
    int64_t *vals = calloc((size_t)m->n_layers + 1, sizeof *vals);
    char *text = NULL;
    size_t tlen = 0;
    FILE *tf = r ? open_memstream(&text, &tlen) : NULL;
    if (!f || !vals || (r && !tf)) s = glia__err(GLIA_ENOMEM, "glia_model_transfer: out of memory");
    for (int i = 0; !s && i < m->n_layers; i++) s = fate(m, src, o, i, &f[i], &vals[i]);
    for (int i = 0; !s && i < m->n_layers; i++)
        if (f[i] == L_LOADED || f[i] == L_FROZEN) s = load_layer(m, src, i, f[i] == L_FROZEN);
    static const char *const what[] = {"", "new", "loaded", "frozen"};
    for (int i = 0; !s && r && i < m->n_layers; i++) {
        if (f[i] == L_NONE) continue;
        fprintf(tf, "  %-24s %-6s (%lld values)\n", m->layers[i].name, what[f[i]], (long long)vals[i]);
        if (f[i] == L_NEW) r->fresh++, r->fresh_values += vals[i];
        else r->loaded++, r->loaded_values += vals[i];
        if (f[i] == L_FROZEN) r->frozen++, r->frozen_values += vals[i];
    }
    if (!s) s = glia_model_set_option(m, "mean", glia_model_option(src, "mean"));
    if (!s) s = glia_model_set_option(m, "std", glia_model_option(src, "std"));
    if (tf && fclose(tf) && !s) s = glia__err(GLIA_ENOMEM, "glia_model_transfer: out of memory");
    if (r && !s) r->text = text;
    else free(text);
    free(f);
    free(vals);
    return s;
}

glia_status glia_model_transfer_from_run(glia_model *m, const char *run_dir, const glia_transfer_options *o,
                                         glia_transfer_report *r) {
    if (!m || !run_dir) return glia__err(GLIA_EINVAL, "glia_model_transfer_from_run: NULL argument");
    char path[1200];
    glia_model *src = NULL;
    snprintf(path, sizeof path, "%s/model.cfg", run_dir);
    glia_status s = glia_model_load(path, 1, 1, &src);
    if (!s) {
        snprintf(path, sizeof path, "%s/weights.safetensors", run_dir);
        s = glia_safetensors_load(src->g, path);
    }
    if (!s) s = glia_model_transfer(m, src, o, r);
    glia_model_free(src);
    return s;
}

/* "LAYER=F,LAYER=F": checked whole (layers of m with parameters, F finite and >= 0), then set */
glia_status glia_model_set_lr_factors(glia_model *m, const char *list) {
    if (!m) return glia__err(GLIA_EINVAL, "glia_model_set_lr_factors: NULL model");
    for (int pass = 0; pass < 2; pass++)
        for (const char *p = list; p && *p;) {
            while (*p == ' ' || *p == ',') p++;
            size_t k = strcspn(p, "=, "), len = strcspn(p, ", ");
            if (!len) break;
            char num[64] = "", *end = NULL;
            if (p[k] == '=' && len - k - 1 < sizeof num) memcpy(num, p + k + 1, len - k - 1);
            float f = strtof(num, &end);
            int i = find_layer(m, p, k), a = 0, b = 0, params = 0;
            if (p[k] != '=' || !*num || *end || !(f >= 0.0f) || isinf(f))
                return glia__err(GLIA_EINVAL, "lr factors: '%.*s' is not LAYER=F with F a finite "
                                 "number >= 0", (int)len, p);
            if (i < 0)
                return glia__err(GLIA_EINVAL, "lr factors: '%.*s' is not a layer of %s (glia summary "
                                 "lists them)", (int)k, p, m->filename);
            layer_nodes(m, i, &a, &b);
            for (int j = a; j < b; j++) {
                if (m->g->nodes[j].kind != NODE_PARAM) continue;
                params++;
                if (pass) m->g->nodes[j].lr_factor = f;
            }
            if (!params)
                return glia__err(GLIA_EINVAL, "lr factors: layer '%s' has no parameters",
                                 m->layers[i].name);
            p += len;
        }
    return GLIA_OK;
}
