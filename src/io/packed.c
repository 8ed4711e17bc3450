/* packed.c: the packed weights file of a binary network: a safetensors file in which every
 * binarized parameter is stored as one bit per value and its scales.
 *
 * The convention (docs/model-format.md, "Packed weights"): a parameter W[O, ...] that a binarize
 * node reads (a layer with binary = weights or xnor; m = the values per slice) is stored as two
 * tensors instead of W:
 *   "<W>.bits"   dtype U8, shape [O, ceil(m / 8)]: value k of slice o is bit k % 8 (least
 *                significant first) of byte k / 8 of row o, 1 for +1 (W >= 0), 0 for -1;
 *                unused bits 0
 *   "<W>.alpha"  dtype F16, shape [O]: the scale mean |W| of each slice (1 when unscaled),
 *                rounded to the nearest half (ties to even; a scale from 65520 on is an error)
 * and "__metadata__" says "format": "glia-packed-2" and, per binarized tensor, "<W>": its
 * shape ("16,6,5,5"). Every other parameter and buffer is stored as in weights.safetensors (F32,
 * its node's name and shape). The real-valued weights behind the signs are not kept: the file
 * is for inference. Loading sets W = alpha_o sign with alpha_o the stored half, from which
 * binarize gives back the same alpha_o (mean of m equal values, summed in double: exact) and
 * the same signs, so a loaded network computes what the trained one did with its scales
 * rounded to 11 significant bits (relative error <= 2^-11). Format 1, "glia-packed-1", the
 * same with F32 scales (exactly the trained network), is still read. Little-endian, as
 * safetensors. */
#include "../core/internal.h"
#include "f16.h"
#include "json.h"
#include "packed.h"
#include "../ops/binary.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PACKED_FORMAT "glia-packed-2" /* the one written; "glia-packed-1" is read too */

/* the binarize node reading param node p, or NULL */
static const glia_node *binarizer(const glia_graph *g, int p) {
    for (int i = p + 1; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        if (n->kind == NODE_OP && n->op == GLIA_OP_binarize && n->in[0] == p) return n;
    }
    return NULL;
}

static int saved(const glia_node *n) { return n->kind == NODE_PARAM || n->kind == NODE_BUFFER; }

/* a growing text buffer for the header */
typedef struct { char *p; size_t n, cap; int oom; } text;
static void put(text *t, const char *s) {
    size_t k = strlen(s);
    if (t->oom) return;
    if (t->n + k + 1 > t->cap) {
        size_t cap = (t->cap ? t->cap * 2 : 1024) + k;
        char *q = glia__realloc(t->p, cap);
        if (!q) { t->oom = 1; return; }
        t->p = q, t->cap = cap;
    }
    memcpy(t->p + t->n, s, k + 1);
    t->n += k;
}
static void put_name(text *t, const char *name, const char *suffix) {
    char raw[GLIA_NAME_MAX + 16], q[6 * (GLIA_NAME_MAX + 16) + 3];
    snprintf(raw, sizeof raw, "%s%s", name, suffix);
    glia__json_escape(q, raw);
    put(t, q);
}
static void put_entry(text *t, const char *name, const char *suffix, const char *dtype, int nd,
                      const int64_t *dim, uint64_t *off, uint64_t bytes) {
    char b[160];
    put(t, ",");
    put_name(t, name, suffix);
    snprintf(b, sizeof b, ":{\"dtype\":\"%s\",\"shape\":[", dtype);
    put(t, b);
    for (int d = 0; d < nd; d++) {
        snprintf(b, sizeof b, "%s%lld", d ? "," : "", (long long)dim[d]);
        put(t, b);
    }
    snprintf(b, sizeof b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)*off,
             (unsigned long long)(*off + bytes));
    put(t, b);
    *off += bytes;
}

static void le32(unsigned char *b, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(u >> (8 * i));
}
static float from_le32(const unsigned char *b) {
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* rows, values per row, bytes per packed row of a binarized node */
static void slices(const glia_node *n, int64_t *O, int64_t *m, int64_t *rb) {
    *O = n->shape.dim[0];
    *m = glia__numel(n) / *O;
    *rb = (*m + 7) / 8;
}

glia_status glia_packed_save(glia_graph *g, const char *path, glia_packed_info *info) {
    return glia__packed_save_version(g, path, 2, info);
}

glia_status glia__packed_save_version(glia_graph *g, const char *path, int version,
                                      glia_packed_info *info) {
    if (!g || !path) return glia__err(GLIA_EINVAL, "glia_packed_save: NULL argument");
    if (version != 1 && version != 2)
        return glia__err(GLIA_EINVAL, "glia_packed_save: no format version %d", version);
    const int ab = version == 1 ? 4 : 2; /* bytes per scale: F32 or F16 */
    glia_packed_info inf = {0};
    text h = {0};
    uint64_t off = 0;
    put(&h, version == 1 ? "{\"__metadata__\":{\"format\":\"glia-packed-1\""
                         : "{\"__metadata__\":{\"format\":\"" PACKED_FORMAT "\"");
    for (int i = 0; i < g->n_nodes; i++) { /* the binarized tensors' shapes */
        const glia_node *n = &g->nodes[i];
        if (!saved(n) || !binarizer(g, i)) continue;
        char sh[160] = "";
        for (int d = 0; d < n->shape.ndim; d++)
            snprintf(sh + strlen(sh), sizeof sh - strlen(sh), "%s%lld", d ? "," : "",
                     (long long)n->shape.dim[d]);
        put(&h, ",");
        put_name(&h, n->name, "");
        put(&h, ":\"");
        put(&h, sh);
        put(&h, "\"");
    }
    put(&h, "}");
    int64_t most = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        const glia_node *n = &g->nodes[i];
        if (!saved(n)) continue;
        if (glia__numel(n) > most) most = glia__numel(n);
        if (binarizer(g, i)) {
            int64_t O, m, rb;
            slices(n, &O, &m, &rb);
            put_entry(&h, n->name, ".bits", "U8", 2, (int64_t[]){O, rb}, &off, (uint64_t)(O * rb));
            put_entry(&h, n->name, ".alpha", ab == 4 ? "F32" : "F16", 1, &O, &off,
                      (uint64_t)(O * ab));
            inf.binary++;
            inf.binary_values += O * m;
            inf.binary_float_bytes += O * m * 4;
            inf.binary_packed_bytes += O * rb + O * ab;
        } else {
            put_entry(&h, n->name, "", "F32", n->shape.ndim, n->shape.dim, &off,
                      (uint64_t)glia__numel(n) * 4);
        }
    }
    put(&h, "}");
    while (!h.oom && h.n % 8) put(&h, " ");
    float *v = glia__malloc((size_t)most * sizeof *v);
    unsigned char *b = glia__malloc((size_t)most * 4 + 8);
    glia_status s = GLIA_OK;
    if (h.oom || !v || !b) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    glia__atomic *a = NULL;
    if (!s && !(s = glia__atomic_open(path, &a))) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
        glia__atomic_write(a, len8, 8);
        glia__atomic_write(a, h.p, h.n);
        for (int i = 0; i < g->n_nodes && !s; i++) {
            const glia_node *n = &g->nodes[i];
            if (!saved(n)) continue;
            int64_t k = glia__numel(n);
            if ((s = glia_node_read(g, i, v, k))) break;
            const glia_node *bn = binarizer(g, i);
            if (!bn) {
                for (int64_t j = 0; j < k; j++) le32(b + 4 * j, v[j]);
                glia__atomic_write(a, b, (size_t)k * 4);
                continue;
            }
            int64_t O, m, rb;
            slices(n, &O, &m, &rb);
            memset(b, 0, (size_t)(O * rb));
            for (int64_t o = 0; o < O; o++)
                for (int64_t j = 0; j < m; j++)
                    if (!(v[o * m + j] < 0)) b[o * rb + j / 8] |= (unsigned char)(1u << (j % 8));
            glia__atomic_write(a, b, (size_t)(O * rb));
            for (int64_t o = 0; o < O && !s; o++) { /* binarize's own scale of the slice */
                float al = bn->ia[BIN_SCALED] ? (float)glia__binary_scale(v + o * m, m) : 1.0f;
                uint16_t hf = glia__f16_from_float(al);
                if (ab == 4) le32(b + 4 * o, al);
                else if ((hf & 0x7C00) == 0x7C00)
                    s = glia__err(GLIA_ERANGE, "%s: parameter '%s': the scale of filter %lld is "
                                  "%g, beyond a half float's 65504", path, n->name, (long long)o,
                                  (double)al);
                else b[2 * o] = (unsigned char)hf, b[2 * o + 1] = (unsigned char)(hf >> 8);
            }
            if (!s) glia__atomic_write(a, b, (size_t)(O * ab));
        }
        if (s) glia__atomic_abort(a);
        else s = glia__atomic_commit(a);
    }
    inf.file_bytes = (int64_t)(8 + h.n + off);
    free(h.p);
    free(v);
    free(b);
    if (!s && info) *info = inf;
    return s;
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    char *name;
    int size;            /* bytes per value: 1 U8, 2 F16, 4 F32 */
    int nd;
    uint64_t dim[8];
    uint64_t begin, end;
} ptensor;

typedef struct {
    ptensor *t;
    int n, cap;
    char *format;
} pheader;

static void header_free(pheader *p) {
    for (int i = 0; i < p->n; i++) free(p->t[i].name);
    free(p->t);
    free(p->format);
}

static glia_status parse_tensor(glia_json *j, ptensor *t) {
    char *key = NULL;
    int have = 0;
    if (glia__json_enter(j, '{')) return j->err;
    while (glia__json_next(j)) {
        if (glia__json_key(j, &key, NULL)) return j->err;
        if (!strcmp(key, "dtype")) {
            char *dt = NULL;
            if (!glia__json_string(j, &dt, NULL)) {
                if (!strcmp(dt, "U8")) t->size = 1;
                else if (!strcmp(dt, "F16")) t->size = 2;
                else if (!strcmp(dt, "F32")) t->size = 4;
                else
                    glia__json_fail(j, "tensor '%.100s' has dtype '%.20s': a packed file holds "
                                    "U8, F16 and F32", t->name, dt);
            }
            free(dt);
            have |= 1;
        } else if (!strcmp(key, "shape") || !strcmp(key, "data_offsets")) {
            int shape = key[0] == 's', k = 0;
            uint64_t v;
            if (glia__json_enter(j, '[')) { free(key); return j->err; }
            while (glia__json_next(j)) {
                if (glia__json_uint(j, key, (uint64_t)1 << 50, &v)) break;
                if (k >= (shape ? 8 : 2)) { glia__json_fail(j, "too many values in %s", key); break; }
                if (shape) t->dim[k] = v;
                else if (k == 0) t->begin = v;
                else t->end = v;
                k++;
            }
            if (shape) t->nd = k, have |= 2;
            else if (k == 2) have |= 4;
        } else {
            glia__json_skip(j);
        }
        free(key);
        key = NULL;
        if (j->err) return j->err;
    }
    if (j->err) return j->err;
    if (have != 7 || t->end < t->begin)
        return glia__json_fail(j, "tensor '%.100s' needs dtype, shape and data_offsets", t->name);
    return GLIA_OK;
}

/* the header; meta_only: its "__metadata__" only, every tensor skipped */
static glia_status parse_header(glia_json *j, pheader *p, int meta_only) {
    char *key = NULL;
    if (glia__json_enter(j, '{')) return j->err;
    while (glia__json_next(j)) {
        if (glia__json_key(j, &key, NULL)) return j->err;
        if (!strcmp(key, "__metadata__")) {
            free(key);
            key = NULL;
            if (glia__json_enter(j, '{')) return j->err;
            while (glia__json_next(j)) {
                if (glia__json_key(j, &key, NULL)) return j->err;
                if (!strcmp(key, "format")) { /* the last one counts, as in JSON readers */
                    free(p->format);
                    p->format = NULL;
                    glia__json_string(j, &p->format, NULL);
                }
                else glia__json_skip(j);
                free(key);
                key = NULL;
                if (j->err) return j->err;
            }
            if (j->err) return j->err;
            continue;
        }
        if (meta_only) {
            free(key);
            key = NULL;
            if (glia__json_skip(j)) return j->err;
            continue;
        }
        if (p->n == p->cap) {
            int cap = p->cap ? 2 * p->cap : 16;
            ptensor *t = glia__realloc(p->t, (size_t)cap * sizeof *t);
            if (!t) { free(key); return glia__json_stop(j, glia__err(GLIA_ENOMEM, "%s: out of memory", j->path)); }
            p->t = t, p->cap = cap;
        }
        ptensor *t = &p->t[p->n++];
        memset(t, 0, sizeof *t);
        t->name = key;
        key = NULL;
        if (parse_tensor(j, t)) return j->err;
    }
    if (j->err) return j->err;
    return glia__json_end(j);
}

static const ptensor *find(const pheader *p, const char *name, const char *suffix) {
    char full[GLIA_NAME_MAX + 16];
    snprintf(full, sizeof full, "%s%s", name, suffix);
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->t[i].name, full)) return &p->t[i];
    return NULL;
}

static const char *dtype_name(int size) { return size == 1 ? "U8" : size == 2 ? "F16" : "F32"; }

/* tensor name+suffix: present, of dtype size (bytes per value), with shape dims[0..nd), inside
 * the data */
static glia_status expect(const pheader *p, const char *path, const char *name,
                          const char *suffix, int size, int nd, const int64_t *dims, uint64_t data,
                          const ptensor **out) {
    const ptensor *t = find(p, name, suffix);
    if (!t) return glia__err(GLIA_EIO, "%s: tensor '%s%s' is missing", path, name, suffix);
    uint64_t count = 1;
    int same = t->nd == nd && t->size == size;
    for (int d = 0; d < nd && same; d++) same = t->dim[d] == (uint64_t)dims[d], count *= t->dim[d];
    if (!same) {
        char want[160] = "";
        for (int d = 0; d < nd; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? ", " : "",
                     (long long)dims[d]);
        return glia__err(GLIA_ESHAPE, "%s: tensor '%s%s' is not %s [%s]", path, name, suffix,
                         dtype_name(size), want);
    }
    if (t->end - t->begin != count * (uint64_t)size || t->end > data)
        return glia__err(GLIA_EIO, "%s: tensor '%s%s' has data_offsets [%llu, %llu] that do not "
                         "fit its shape or the file", path, name, suffix,
                         (unsigned long long)t->begin, (unsigned long long)t->end);
    *out = t;
    return GLIA_OK;
}

glia_status glia_packed_load(glia_graph *g, const char *path) {
    if (!g || !path) return glia__err(GLIA_EINVAL, "glia_packed_load: NULL argument");
    char *file = NULL;
    size_t len = 0;
    glia_status s = glia__read_file(path, &file, &len);
    if (s) return s;
    const unsigned char *u = (const unsigned char *)file;
    uint64_t hl = 0;
    for (int i = 0; len >= 8 && i < 8; i++) hl |= (uint64_t)u[i] << (8 * i);
    pheader p = {0};
    float **vals = glia__calloc((size_t)g->n_nodes + 1, sizeof *vals);
    if (!vals) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    else if (len < 8 || hl > len - 8)
        s = glia__err(GLIA_EIO, "%s: not a safetensors file (header length %llu, file %zu bytes)",
                      path, (unsigned long long)hl, len);
    if (!s) {
        glia_json j;
        glia__json_init(&j, path, file + 8, (size_t)hl);
        j.doc = "header JSON";
        s = parse_header(&j, &p, 0);
    }
    int v1 = !s && p.format && !strcmp(p.format, "glia-packed-1"); /* F32 scales */
    if (!s && !v1 && (!p.format || strcmp(p.format, PACKED_FORMAT)))
        s = glia__err(GLIA_EIO, "%s: metadata \"format\" is %s%s%s, not \"" PACKED_FORMAT "\" "
                      "or \"glia-packed-1\" (glia pack writes one)", path, p.format ? "\"" : "",
                      p.format ? p.format : "absent", p.format ? "\"" : "");
    const unsigned char *data = s ? u : u + 8 + hl; /* (hl is checked once s is OK) */
    uint64_t dlen = s ? 0 : len - 8 - hl;
    for (int i = 0; i < g->n_nodes && !s; i++) { /* everything checked and staged first */
        const glia_node *n = &g->nodes[i];
        if (!saved(n)) continue;
        const glia_node *bn = binarizer(g, i);
        int64_t k = glia__numel(n);
        float *v = vals[i] = glia__malloc((size_t)(k ? k : 1) * sizeof *v);
        if (!v) { s = glia__err(GLIA_ENOMEM, "%s: out of memory", path); break; }
        const ptensor *t = NULL, *ta = NULL;
        if (!bn) {
            if ((s = expect(&p, path, n->name, "", 4, n->shape.ndim, n->shape.dim, dlen, &t))) break;
            for (int64_t j = 0; j < k; j++) v[j] = from_le32(data + t->begin + 4 * j);
            continue;
        }
        int64_t O, m, rb;
        slices(n, &O, &m, &rb);
        if ((s = expect(&p, path, n->name, ".bits", 1, 2, (int64_t[]){O, rb}, dlen, &t)) ||
            (s = expect(&p, path, n->name, ".alpha", v1 ? 4 : 2, 1, &O, dlen, &ta)))
            break;
        for (int64_t o = 0; o < O; o++) {
            const unsigned char *ap = data + ta->begin + (uint64_t)(o * ta->size);
            float a = v1 ? from_le32(ap) : glia__f16_to_float((uint16_t)(ap[0] | ap[1] << 8));
            if (!(a >= 0) || a > 3.4e38f) {
                s = glia__err(GLIA_ERANGE, "%s: tensor '%s.alpha' holds %g at %lld: a scale is "
                              "finite and >= 0", path, n->name, (double)a, (long long)o);
                break;
            }
            const unsigned char *row = data + t->begin + o * rb;
            for (int64_t j = 0; j < m; j++) v[o * m + j] = (row[j / 8] >> (j % 8)) & 1 ? a : -a;
        }
    }
    for (int i = 0; i < g->n_nodes && !s; i++)
        if (vals[i]) s = glia_node_write(g, i, vals[i], glia__numel(&g->nodes[i]));
    for (int i = 0; vals && i < g->n_nodes; i++) free(vals[i]);
    free(vals);
    header_free(&p);
    free(file);
    return s;
}

/* the metadata's "format" of path's header begins with glia-packed- (read: the header alone) */
static int is_packed(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char u[8];
    uint64_t hl = 0;
    char *h = NULL;
    int yes = 0;
    if (f && fread(u, 1, 8, f) == 8) {
        for (int i = 0; i < 8; i++) hl |= (uint64_t)u[i] << (8 * i);
        if (hl <= ((uint64_t)1 << 30) && (h = glia__malloc((size_t)hl + 1)) &&
            fread(h, 1, (size_t)hl, f) == hl) {
            pheader p = {0};
            glia_json j;
            glia__json_init(&j, path, h, (size_t)hl);
            yes = !parse_header(&j, &p, 1) && p.format && !strncmp(p.format, "glia-packed-", 12);
            header_free(&p);
        }
    }
    free(h);
    if (f) fclose(f);
    return yes;
}

glia_status glia_weights_load(glia_graph *g, const char *path, int *packed) {
    if (!g || !path) return glia__err(GLIA_EINVAL, "glia_weights_load: NULL argument");
    const int pk = is_packed(path); /* (not a readable header: safetensors' load says why) */
    if (packed) *packed = pk;
    return pk ? glia_packed_load(g, path) : glia_safetensors_load(g, path);
}
