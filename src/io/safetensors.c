/* safetensors.c: named float tensors (a graph's parameters and buffers, or any list of
 * entries, e.g. a checkpoint's optimiser state) as a safetensors file
 * (https://github.com/huggingface/safetensors), the format PyTorch's ecosystem uses for weights.
 *
 *   8 bytes    N, little-endian uint64: the header's length
 *   N bytes    UTF-8 JSON: {"__metadata__": {"k": "v", ...},
 *                           "name": {"dtype": "F32", "shape": [d0, ...], "data_offsets": [b, e]}, ...}
 *              padded with spaces so that the data starts at a multiple of 8 bytes
 *   the rest   raw little-endian tensor data; offsets are relative to the end of the header
 *
 * Saving a graph writes every NODE_PARAM and NODE_BUFFER (trainable or frozen) as F32 under its
 * node name, in graph order, contiguously (any entry list: in its order), through glia's atomic
 * writer (atomic_file.c), so `path` holds either the old file or the new one.
 *
 * Loading is strict, like PyTorch's load_state_dict(strict=True) and the reference reader:
 * the whole header is parsed and checked (UTF-8, JSON syntax with byte offsets in errors: json.c,
 * every entry's dtype/shape/data_offsets, sizes, offsets inside the data section, no overlap,
 * no gap, no trailing bytes), then matched against the graph (every parameter and buffer
 * present with the node's shape, no tensor the graph lacks; any entry list: the same), then the data is read into a
 * staging buffer. Only when all of that succeeded are the node values overwritten, so on any
 * error the graph is unchanged. F32 is read as is; F16, BF16 and F64 are converted to float.
 * The data is little-endian in the file; a big-endian host byte-swaps (detected at run time).
 * Whatever the file holds, the reader does not crash, leak, or read out of bounds: every
 * length is checked before use and the JSON parser's nesting depth is bounded.
 *
 * Where the values are: an entry's data pointer (host memory), or a graph's node (the graph
 * functions' entries, a checkpoint's). A node's pointer is used as it is where the graph's
 * device has host memory (the cpu: no copy); on a device without it (device.h) the node is read
 * into a host buffer and written from the staging buffer with glia_node_read / glia_node_write,
 * which know where the node's memory is (the device's copy of the leaves while compiled, host
 * memory otherwise). */
#include "../core/device.h"
#include "f16.h"
#include "json.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ST_MAX_HEADER 100000000ull    /* the reference implementation's limit */
#define ST_MAX_COUNT ((uint64_t)1 << 62) /* dims, element and byte counts */
#define ST_CHUNK (1u << 20)           /* bytes per block when converting or byte-swapping */

static int host_is_little_endian(void) {
    const uint16_t one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

static void swap32(void *p, size_t n) { /* n 4-byte words in place */
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        unsigned char t = b[0]; b[0] = b[3]; b[3] = t;
        t = b[1]; b[1] = b[2]; b[2] = t;
    }
}

/* ================================================================== saving */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

/* n more bytes at the end of b (and a NUL after them), or NULL (b->oom set) */
static char *sb_grow(sbuf *b, size_t n) {
    if (b->oom) return NULL;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = glia__realloc(b->p, cap);
        if (!p) { b->oom = 1; return NULL; }
        b->p = p;
        b->cap = cap;
    }
    char *at = b->p + b->n;
    b->n += n;
    b->p[b->n] = 0;
    return at;
}
static void sb_str(sbuf *b, const char *s) {
    size_t n = strlen(s);
    char *at = sb_grow(b, n);
    if (at) memcpy(at, s, n);
}
static void sb_json_string(sbuf *b, const char *s) {
    char *at = sb_grow(b, glia__json_escape(NULL, s));
    if (at) glia__json_escape(at, s); /* its NUL lands on sb_grow's */
}

static int is_saved(const glia_node *n) { return n->kind == NODE_PARAM || n->kind == NODE_BUFFER; }

/* Entry e's values in host memory (*host), or *host = NULL: a node of a graph on a device
 * without host memory, copied with glia_node_read / glia_node_write. */
static glia_status entry_place(const glia_st_entry *e, const char *path, float **host) {
    *host = e->data;
    if (!e->graph) return GLIA_OK;
    glia_status s = glia__check_node(e->graph, e->node);
    if (s) return glia__err(s, "%s: tensor '%s': %s", path, e->name, glia_last_error());
    const glia_node *n = &e->graph->nodes[e->node];
    if (!glia__shape_eq(&n->shape, &e->shape)) {
        char sa[160], sb[160];
        return glia__err(GLIA_ESHAPE, "%s: tensor '%s' is given shape %s, but its node %s has "
                         "shape %s", path, e->name, glia_shape_str(&e->shape, sa, sizeof sa),
                         glia__where(e->graph, n), glia_shape_str(&n->shape, sb, sizeof sb));
    }
    if (!glia__dev_host(e->graph)) {
        *host = NULL;
        return GLIA_OK;
    }
    *host = n->val;
    if (!n->val && glia__numel(n))
        return glia__err(GLIA_ESTATE, "%s: %s has no value", path, glia__where(e->graph, n));
    return GLIA_OK;
}

static glia_status check_name(const char *path, const char *name) {
    if (glia__utf8_bad(name, strlen(name)))
        return glia__err(GLIA_EINVAL, "%s: tensor name '%s' is not valid UTF-8, which a "
                         "safetensors header requires", path, name);
    if (!strcmp(name, "__metadata__"))
        return glia__err(GLIA_EINVAL, "%s: tensor name '__metadata__' is reserved by the "
                         "safetensors format", path);
    return GLIA_OK;
}

/* The header: metadata (key, value pairs), then each entry in order, padded with spaces to a
 * multiple of 8 bytes. */
static glia_status build_header(const glia_st_entry *t, int n, const char *const *meta, int n_meta,
                                const char *path, sbuf *b) {
    sb_str(b, "{\"__metadata__\":{");
    for (int i = 0; i < n_meta; i++) {
        glia_status s = check_name(path, meta[2 * i]);
        if (s) return s;
        if (glia__utf8_bad(meta[2 * i + 1], strlen(meta[2 * i + 1])))
            return glia__err(GLIA_EINVAL, "%s: metadata '%s' is not valid UTF-8", path, meta[2 * i]);
        if (i) sb_str(b, ",");
        sb_json_string(b, meta[2 * i]);
        sb_str(b, ":");
        sb_json_string(b, meta[2 * i + 1]);
    }
    sb_str(b, "}");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        glia_status s = check_name(path, t[i].name);
        if (s) return s;
        if (!t[i].graph && !t[i].data && glia_shape_numel(&t[i].shape))
            return glia__err(GLIA_ESTATE, "%s: tensor '%s' has no data", path, t[i].name);
        uint64_t bytes = (uint64_t)glia_shape_numel(&t[i].shape) * 4u;
        char num[64];
        sb_str(b, ",");
        sb_json_string(b, t[i].name);
        sb_str(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[i].shape.ndim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t[i].shape.dim[d]);
            sb_str(b, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + bytes));
        sb_str(b, num);
        off += bytes;
    }
    sb_str(b, "}");
    while (!b->oom && b->n % 8) sb_str(b, " ");
    if (b->oom) return glia__err(GLIA_ENOMEM, "%s: out of memory for the header", path);
    return GLIA_OK;
}

static void write_floats(glia__atomic *a, const float *x, size_t n, float *swapbuf) {
    if (!swapbuf) {
        glia__atomic_write(a, x, 4 * n);
        return;
    }
    while (n) { /* big-endian host: little-endian copies, a block at a time */
        size_t k = n < ST_CHUNK / 4 ? n : ST_CHUNK / 4;
        memcpy(swapbuf, x, k * 4);
        swap32(swapbuf, k);
        glia__atomic_write(a, swapbuf, 4 * k);
        x += k;
        n -= k;
    }
}

glia_status glia_safetensors_write(const char *path, const glia_st_entry *t, int n,
                                   const char *const *meta, int n_meta) {
    if (!path || (n && !t) || (n_meta && !meta) || n < 0 || n_meta < 0)
        return glia__err(GLIA_EINVAL, "glia_safetensors_write: NULL argument");
    if (!path[0]) return glia__err(GLIA_EINVAL, "glia_safetensors_write: empty path");
    size_t most = 0; /* floats: the largest entry in device memory (its host copy) */
    for (int i = 0; i < n; i++) {
        float *host;
        glia_status s = entry_place(&t[i], path, &host);
        if (s) return s;
        size_t k = (size_t)glia_shape_numel(&t[i].shape);
        if (!host && k > most) most = k;
    }
    sbuf hdr = {0};
    glia_status s = build_header(t, n, meta, n_meta, path, &hdr);
    if (s) { free(hdr.p); return s; }
    float *swapbuf = host_is_little_endian() ? NULL : glia__malloc(ST_CHUNK);
    float *devbuf = most ? glia__malloc(most * sizeof(float)) : NULL;
    if ((!host_is_little_endian() && !swapbuf) || (most && !devbuf)) {
        free(hdr.p);
        free(swapbuf);
        free(devbuf);
        return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    }
    glia__atomic *a;
    if (!(s = glia__atomic_open(path, &a))) {
        unsigned char len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hdr.n >> (8 * i));
        glia__atomic_write(a, len8, 8);
        glia__atomic_write(a, hdr.p, hdr.n);
        for (int i = 0; i < n && !s; i++) {
            size_t k = (size_t)glia_shape_numel(&t[i].shape);
            float *host;
            (void)entry_place(&t[i], path, &host); /* checked above */
            if (!host && k) {
                host = devbuf;
                if ((s = glia_node_read(t[i].graph, t[i].node, devbuf, (int64_t)k)))
                    s = glia__err(s, "%s: tensor '%s': %s", path, t[i].name, glia_last_error());
            }
            if (!s) write_floats(a, host, k, swapbuf);
        }
        if (s) glia__atomic_abort(a);
        else s = glia__atomic_commit(a);
    }
    free(hdr.p);
    free(swapbuf);
    free(devbuf);
    return s;
}

/* The graph's parameters and buffers as entries (NULL-free array of `count`), or NULL on OOM. */
static glia_st_entry *graph_entries(glia_graph *g, int *count) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += is_saved(&g->nodes[i]);
    glia_st_entry *e = glia__calloc(n ? (size_t)n : 1, sizeof *e);
    if (!e) return NULL;
    n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        glia_node *nd = &g->nodes[i];
        if (!is_saved(nd)) continue;
        e[n].name = nd->name;
        e[n].shape = nd->shape;
        e[n].what = nd->kind == NODE_PARAM ? "parameter" : "buffer";
        e[n].graph = g;
        e[n].node = i;
        n++;
    }
    *count = n;
    return e;
}

glia_status glia_safetensors_save(glia_graph *g, const char *path) {
    if (!g || !path) return glia__err(GLIA_EINVAL, "glia_safetensors_save: NULL argument");
    int n;
    glia_st_entry *e = graph_entries(g, &n);
    if (!e) return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    static const char *const meta[] = {"format", "pt", "producer", "glia"};
    glia_status s = glia_safetensors_write(path, e, n, meta, 2);
    free(e);
    return s;
}

/* ================================================================== the header's JSON */

enum { DT_F32, DT_F16, DT_BF16, DT_F64 };
static const char *const dt_name[] = {"F32", "F16", "BF16", "F64"};
static const unsigned dt_size[] = {4, 2, 2, 8};

typedef struct st_tensor {
    char *name;
    int dtype;
    int ndim;
    int64_t dim[GLIA_MAX_DIMS];
    uint64_t begin, end;
    uint64_t numel;
    int node;          /* the graph node it loads into, -1 if none */
    size_t stage;      /* float offset in the staging buffer */
} st_tensor;

typedef struct parser {
    glia_json j;       /* the header's text; its err is the first error */
    st_tensor *t;
    size_t nt, capt;
    glia_st_meta *meta; /* where __metadata__'s pairs go, or NULL to skip them */
} parser;

static glia_status oom(parser *p) {
    return glia__json_stop(&p->j, glia__err(GLIA_ENOMEM, "%s: out of memory reading the header",
                                            p->j.path));
}

/* "__metadata__": null or an object of string values. */
static glia_status parse_metadata(parser *p) {
    glia_json *j = &p->j;
    int c = glia__json_peek(j);
    if (c == 'n') return glia__json_skip(j);
    if (c != '{') return glia__json_fail(j, "__metadata__ must be an object of strings");
    glia__json_enter(j, '{');
    while (glia__json_next(j)) {
        char *k = NULL, *v = NULL;
        size_t kl = 0, vl = 0;
        char **want_k = p->meta ? &k : NULL, **want_v = p->meta ? &v : NULL;
        if (glia__json_key(j, want_k, &kl)) return j->err;
        if (glia__json_peek(j) != '"') {
            free(k);
            return glia__json_fail(j, "__metadata__ values must be strings");
        }
        if (glia__json_string(j, want_v, &vl)) { free(k); return j->err; }
        if (!p->meta) continue;
        if (strlen(k) != kl || strlen(v) != vl) { /* a NUL inside: refuse it */
            free(k);
            free(v);
            return glia__json_fail(j, "a __metadata__ string holds a NUL character");
        }
        glia_st_meta *m = p->meta;
        char **nk = glia__realloc(m->key, (size_t)(m->n + 1) * sizeof *nk);
        if (nk) m->key = nk;
        char **nv = nk ? glia__realloc(m->value, (size_t)(m->n + 1) * sizeof *nv) : NULL;
        if (nv) m->value = nv;
        if (!nk || !nv) {
            free(k);
            free(v);
            return oom(p);
        }
        m->key[m->n] = k;
        m->value[m->n++] = v;
    }
    return j->err;
}

/* A [a, b, ...] array of non-negative integers, at most `max` of them. */
static glia_status parse_uint_array(parser *p, const char *what, uint64_t *v, int max, int *count) {
    glia_json *j = &p->j;
    if (glia__json_peek(j) != '[') return glia__json_fail(j, "%s must be an array", what);
    glia__json_enter(j, '[');
    *count = 0;
    while (glia__json_next(j)) {
        uint64_t x = 0;
        if (glia__json_uint(j, what, ST_MAX_COUNT, &x)) return j->err;
        if (*count == max) return glia__json_fail(j, "%s has more than %d entries", what, max);
        v[(*count)++] = x;
    }
    return j->err;
}

static const char *shape_str(int ndim, const int64_t *dim, char *buf, size_t n) {
    glia_shape s;
    s.ndim = ndim;
    for (int i = 0; i < ndim; i++) s.dim[i] = dim[i];
    return glia_shape_str(&s, buf, n);
}

/* A tensor entry's dtype, a string, into t->dtype. */
static glia_status parse_dtype(parser *p, st_tensor *t) {
    glia_json *j = &p->j;
    char *dt = NULL;
    size_t dt_pos = j->pos;
    if (glia__json_peek(j) != '"') return glia__json_fail(j, "dtype must be a string");
    if (glia__json_string(j, &dt, NULL)) return j->err;
    t->dtype = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(dt, dt_name[i])) t->dtype = i;
    glia_status s = GLIA_OK;
    if (t->dtype < 0)
        s = glia__json_stop(j, glia__err(GLIA_EIO, "%s: tensor '%.200s' has dtype '%.40s' (header "
                                         "byte %zu); glia loads F32, and converts F16, BF16 and "
                                         "F64; other dtypes are not supported", j->path, t->name,
                                         dt, dt_pos));
    free(dt);
    return s;
}

/* One tensor entry {"dtype": ..., "shape": [...], "data_offsets": [b, e]} into t (its name is
 * already set). Unknown keys are skipped, as the reference reader does. */
static glia_status parse_entry(parser *p, st_tensor *t) {
    glia_json *j = &p->j;
    size_t entry_pos = j->pos;
    if (glia__json_peek(j) != '{') return glia__json_fail(j, "tensor entry must be an object");
    glia__json_enter(j, '{');
    int have_dtype = 0, have_shape = 0, have_off = 0;
    while (glia__json_next(j)) {
        char *key = NULL;
        size_t key_pos = j->pos;
        if (glia__json_key(j, &key, NULL)) return j->err;
        int *have = !strcmp(key, "dtype") ? &have_dtype : !strcmp(key, "shape") ? &have_shape
                  : !strcmp(key, "data_offsets") ? &have_off : NULL;
        if (have && *have) {
            j->pos = key_pos;
            glia__json_fail(j, "key \"%s\" appears twice in a tensor entry", key);
        } else if (have == &have_dtype) {
            parse_dtype(p, t);
        } else if (have == &have_shape) {
            uint64_t d[GLIA_MAX_DIMS];
            if (!parse_uint_array(p, "shape", d, GLIA_MAX_DIMS, &t->ndim))
                for (int i = 0; i < t->ndim; i++) t->dim[i] = (int64_t)d[i];
        } else if (have == &have_off) {
            uint64_t o[2] = {0, 0};
            int k = 0;
            size_t o_pos = j->pos;
            if (!parse_uint_array(p, "data_offsets", o, 2, &k) && k != 2) {
                j->pos = o_pos;
                glia__json_fail(j, "data_offsets must hold 2 numbers [begin, end]");
            }
            t->begin = o[0];
            t->end = o[1];
        } else {
            glia__json_skip(j);
        }
        if (have) *have = 1;
        free(key);
    }
    if (j->err) return j->err;
    const char *missing = !have_dtype ? "dtype" : !have_shape ? "shape" : !have_off ? "data_offsets" : NULL;
    if (missing)
        return glia__json_stop(j, glia__err(GLIA_EIO, "%s: tensor '%.200s' (header byte %zu) has "
                                            "no \"%s\"", j->path, t->name, entry_pos, missing));
    /* element and byte counts, overflow-checked */
    int64_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (!glia__mul_within(numel, t->dim[i], (int64_t)ST_MAX_COUNT, &numel)) {
            char sb[160];
            return glia__json_stop(j, glia__err(GLIA_EIO, "%s: tensor '%.200s' has shape %s: too "
                                                "many elements", j->path, t->name,
                                                shape_str(t->ndim, t->dim, sb, sizeof sb)));
        }
    }
    t->numel = (uint64_t)numel;
    return GLIA_OK;
}

static glia_status add_tensor(parser *p, char *name) {
    if (p->nt == p->capt) {
        size_t cap = p->capt ? 2 * p->capt : 16;
        st_tensor *nt = glia__realloc(p->t, cap * sizeof *nt);
        if (!nt) {
            free(name);
            return oom(p);
        }
        p->t = nt;
        p->capt = cap;
    }
    st_tensor *t = &p->t[p->nt++];
    memset(t, 0, sizeof *t);
    t->name = name;
    t->node = -1;
    return GLIA_OK;
}

static glia_status parse_header(parser *p) {
    glia_json *j = &p->j;
    if (glia__json_peek(j) != '{') return glia__json_fail(j, "the header must be a JSON object");
    glia__json_enter(j, '{');
    int have_meta = 0;
    while (glia__json_next(j)) {
        char *key = NULL;
        size_t key_pos = j->pos, klen = 0;
        if (glia__json_peek(j) != '"') return glia__json_fail(j, "expected a tensor name (a string)");
        if (glia__json_key(j, &key, &klen)) return j->err;
        if (!strcmp(key, "__metadata__")) {
            free(key);
            if (have_meta) {
                j->pos = key_pos;
                return glia__json_fail(j, "__metadata__ appears twice");
            }
            have_meta = 1;
            if (parse_metadata(p)) return j->err;
        } else {
            if (strlen(key) != klen) {
                free(key);
                j->pos = key_pos;
                return glia__json_fail(j, "a tensor name holds a NUL character");
            }
            if (add_tensor(p, key) || parse_entry(p, &p->t[p->nt - 1])) return j->err;
        }
    }
    return glia__json_end(j);
}

/* ================================================================== loading */

static _Thread_local const st_tensor *sort_base;
static int by_name(const void *a, const void *b) {
    return strcmp(sort_base[*(const size_t *)a].name, sort_base[*(const size_t *)b].name);
}
static int by_offset(const void *a, const void *b) {
    const st_tensor *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* index of the tensor named `name` through the name-sorted index, or -1 */
static long find_tensor(const st_tensor *t, const size_t *idx, size_t nt, const char *name) {
    size_t lo = 0, hi = nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t[idx[mid]].name, name);
        if (!c) return (long)idx[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* Converts k elements of little-endian dtype bytes to floats. */
static void convert(int dtype, const unsigned char *b, float *out, size_t k) {
    for (size_t i = 0; i < k; i++) {
        if (dtype == DT_F16) {
            out[i] = glia__f16_to_float((uint16_t)(b[2 * i] | b[2 * i + 1] << 8));
        } else if (dtype == DT_BF16) {
            uint32_t bits = (uint32_t)(b[2 * i] | b[2 * i + 1] << 8) << 16;
            memcpy(&out[i], &bits, 4);
        } else { /* F64 */
            uint64_t bits = 0;
            for (int j = 7; j >= 0; j--) bits = bits << 8 | b[8 * i + (size_t)j];
            double d;
            memcpy(&d, &bits, 8);
            out[i] = (float)d;
        }
    }
}

typedef struct loader {
    const char *path;
    FILE *f;
    unsigned char *header;
    parser p;
    size_t *by_name, *by_off;
    float *stage;
    unsigned char *chunk;
} loader;

static void loader_free(loader *L) {
    if (L->f) fclose(L->f);
    free(L->header);
    for (size_t i = 0; i < L->p.nt; i++) free(L->p.t[i].name);
    free(L->p.t);
    free(L->by_name);
    free(L->by_off);
    free(L->stage);
    free(L->chunk);
}

static glia_status read_exact(loader *L, void *buf, size_t n, const char *what, uint64_t at) {
    size_t got = fread(buf, 1, n, L->f);
    if (got == n) return GLIA_OK;
    if (ferror(L->f))
        return glia__err(GLIA_EIO, "%s: read error in %s: %s", L->path, what, strerror(errno));
    return glia__err(GLIA_EIO, "%s: truncated: %s (file offset %llu) needs %zu bytes, got %zu",
                     L->path, what, (unsigned long long)at, n, got);
}

/* Reads tensor t's data (the file is positioned at it) into its staging slot. */
static glia_status read_tensor(loader *L, const st_tensor *t, uint64_t file_off) {
    float *dst = L->stage + t->stage;
    char what[256];
    snprintf(what, sizeof what, "the data of tensor '%.200s'", t->name);
    if (t->dtype == DT_F32) {
        size_t left = (size_t)t->numel;
        while (left) { /* big blocks; the size cap keeps error offsets meaningful */
            size_t k = left < ((size_t)64 << 20) ? left : ((size_t)64 << 20);
            glia_status s = read_exact(L, dst, k * 4, what, file_off);
            if (s) return s;
            if (!host_is_little_endian()) swap32(dst, k);
            dst += k;
            left -= k;
            file_off += k * 4;
        }
        return GLIA_OK;
    }
    size_t es = dt_size[t->dtype], per = ST_CHUNK / es, left = (size_t)t->numel;
    while (left) {
        size_t k = left < per ? left : per;
        glia_status s = read_exact(L, L->chunk, k * es, what, file_off);
        if (s) return s;
        convert(t->dtype, L->chunk, dst, k);
        dst += k;
        left -= k;
        file_off += k * es;
    }
    return GLIA_OK;
}

static glia_status load(loader *L, glia_st_entry *e, int ne) {
    const char *path = L->path;
    L->f = fopen(path, "rb");
    if (!L->f) return glia__err(GLIA_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(L->f), &st) != 0)
        return glia__err(GLIA_EIO, "%s: cannot stat: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return glia__err(GLIA_EIO, "%s: is a directory, not a safetensors file", path);
    if (!S_ISREG(st.st_mode)) return glia__err(GLIA_EIO, "%s: not a regular file", path);
    uint64_t fsize = (uint64_t)st.st_size;

    /* the header's length */
    if (fsize < 8)
        return glia__err(GLIA_EIO, "%s: truncated: %llu bytes, too short for the 8-byte header "
                         "length of a safetensors file", path, (unsigned long long)fsize);
    unsigned char len8[8];
    glia_status s = read_exact(L, len8, 8, "the header length", 0);
    if (s) return s;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | len8[i];
    if (hlen > ST_MAX_HEADER)
        return glia__err(GLIA_EIO, "%s: header length %llu is over the %llu-byte limit (not a "
                         "safetensors file, or a corrupt one)", path, (unsigned long long)hlen,
                         ST_MAX_HEADER);
    if (hlen > fsize - 8)
        return glia__err(GLIA_EIO, "%s: header length %llu is more than the %llu bytes after it "
                         "(truncated file, or not a safetensors file)", path,
                         (unsigned long long)hlen, (unsigned long long)(fsize - 8));
    uint64_t data_size = fsize - 8 - hlen;

    /* the header */
    L->header = glia__malloc((size_t)hlen + 1);
    if (!L->header) return glia__err(GLIA_ENOMEM, "%s: out of memory for a %llu-byte header", path,
                                     (unsigned long long)hlen);
    if ((s = read_exact(L, L->header, (size_t)hlen, "the header", 8))) return s;
    L->header[hlen] = 0;
    glia__json_init(&L->p.j, path, L->header, (size_t)hlen);
    L->p.j.doc = "header JSON"; /* "malformed header JSON at byte K of the header (file offset K+8)" */
    L->p.j.part = "the header";
    L->p.j.base = 8;
    if (parse_header(&L->p)) return L->p.j.err;
    if (ne < 0) return GLIA_OK; /* the metadata was all that was asked for */
    st_tensor *t = L->p.t;
    size_t nt = L->p.nt;

    /* each tensor's size and place */
    for (size_t i = 0; i < nt; i++) {
        char sb[160];
        uint64_t es = dt_size[t[i].dtype];
        if (t[i].end < t[i].begin)
            return glia__err(GLIA_EIO, "%s: tensor '%.200s' has data_offsets [%llu, %llu]: the "
                             "end is before the beginning", path, t[i].name,
                             (unsigned long long)t[i].begin, (unsigned long long)t[i].end);
        if (t[i].numel > ST_MAX_COUNT / es || t[i].end - t[i].begin != t[i].numel * es) {
            char need[48];
            if (t[i].numel > ST_MAX_COUNT / es) snprintf(need, sizeof need, "over 2^62");
            else snprintf(need, sizeof need, "%llu", (unsigned long long)(t[i].numel * es));
            return glia__err(GLIA_EIO, "%s: tensor '%.200s' has data_offsets [%llu, %llu] (%llu "
                             "bytes), but dtype %s and shape %s need %s bytes", path, t[i].name,
                             (unsigned long long)t[i].begin, (unsigned long long)t[i].end,
                             (unsigned long long)(t[i].end - t[i].begin), dt_name[t[i].dtype],
                             shape_str(t[i].ndim, t[i].dim, sb, sizeof sb), need);
        }
        if (t[i].end > data_size)
            return glia__err(GLIA_EIO, "%s: tensor '%.200s' has data_offsets [%llu, %llu], past "
                             "the end of the %llu-byte data section (truncated file, or wrong "
                             "offsets)", path, t[i].name, (unsigned long long)t[i].begin,
                             (unsigned long long)t[i].end, (unsigned long long)data_size);
    }
    L->by_name = glia__malloc((nt ? nt : 1) * sizeof *L->by_name);
    L->by_off = glia__malloc((nt ? nt : 1) * sizeof *L->by_off);
    if (!L->by_name || !L->by_off) return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < nt; i++) L->by_name[i] = L->by_off[i] = i;
    sort_base = t; /* the comparators read it; qsort has no context argument in C11 */
    qsort(L->by_name, nt, sizeof *L->by_name, by_name);
    qsort(L->by_off, nt, sizeof *L->by_off, by_offset);
    sort_base = NULL;
    for (size_t i = 1; i < nt; i++)
        if (!strcmp(t[L->by_name[i]].name, t[L->by_name[i - 1]].name))
            return glia__err(GLIA_EIO, "%s: tensor '%.200s' appears twice in the header", path,
                             t[L->by_name[i]].name);
    /* the data section: tensors back to back, covering it exactly (as the reference requires) */
    uint64_t at = 0;
    for (size_t i = 0; i < nt; i++) {
        const st_tensor *x = &t[L->by_off[i]];
        if (x->begin < at) {
            const st_tensor *prev = &t[L->by_off[i - 1]];
            return glia__err(GLIA_EIO, "%s: tensors '%.200s' [%llu, %llu] and '%.200s' [%llu, %llu] "
                             "overlap in the data section", path, prev->name,
                             (unsigned long long)prev->begin, (unsigned long long)prev->end,
                             x->name, (unsigned long long)x->begin, (unsigned long long)x->end);
        }
        if (x->begin > at)
            return glia__err(GLIA_EIO, "%s: bytes [%llu, %llu) of the data section belong to no "
                             "tensor (a gap before tensor '%.200s')", path,
                             (unsigned long long)at, (unsigned long long)x->begin, x->name);
        at = x->end;
    }
    if (at != data_size)
        return glia__err(GLIA_EIO, "%s: %llu bytes after the last tensor's data belong to no tensor "
                         "(the data section has %llu bytes, the tensors %llu)", path,
                         (unsigned long long)(data_size - at), (unsigned long long)data_size,
                         (unsigned long long)at);

    /* match against the entries: every one present with its shape, and nothing else */
    size_t matched = 0, stage_n = 0;
    for (int i = 0; i < ne; i++) {
        const glia_st_entry *en = &e[i];
        const char *what = en->what ? en->what : "tensor";
        long k = find_tensor(t, L->by_name, nt, en->name);
        if (k < 0) {
            char hint[320] = "";
            for (size_t j = 0; j < nt && !hint[0]; j++) { /* a renamed tensor? show one not wanted */
                int wanted = 0;
                for (int q = 0; q < ne && !wanted; q++) wanted = !strcmp(e[q].name, t[j].name);
                if (!wanted)
                    snprintf(hint, sizeof hint, " (the file has tensor '%.200s', which is not "
                             "expected)", t[j].name);
            }
            char sb[160];
            return glia__err(GLIA_EIO, "%s: %s '%s' %s is not in the file%s", path, what,
                             en->name, glia_shape_str(&en->shape, sb, sizeof sb), hint);
        }
        glia_shape fs;
        fs.ndim = t[k].ndim;
        for (int d = 0; d < fs.ndim; d++) fs.dim[d] = t[k].dim[d];
        if (!glia__shape_eq(&fs, &en->shape)) {
            char sa[160], sb2[160];
            return glia__err(GLIA_ESHAPE, "%s: tensor '%s' has shape %s in the file, but the "
                             "%s has shape %s", path, en->name, glia_shape_str(&fs, sa, sizeof sa),
                             what, glia_shape_str(&en->shape, sb2, sizeof sb2));
        }
        if (t[k].node >= 0)
            return glia__err(GLIA_EINVAL, "%s: tensor '%s' is asked for twice", path, en->name);
        t[k].node = i;
        t[k].stage = stage_n;
        stage_n += (size_t)t[k].numel;
        matched++;
    }
    if (matched != nt) {
        for (size_t j = 0; j < nt; j++)
            if (t[j].node < 0)
                return glia__err(GLIA_EIO, "%s: the file has tensor '%.200s', which is not "
                                 "expected (%zu such tensors; loading is strict)", path,
                                 t[j].name, nt - matched);
    }

    /* the data, into a staging buffer, in file order (sequential reads) */
    L->stage = glia__malloc((stage_n ? stage_n : 1) * sizeof(float));
    L->chunk = glia__malloc(ST_CHUNK);
    if (!L->stage || !L->chunk)
        return glia__err(GLIA_ENOMEM, "%s: out of memory for %zu floats of weights", path, stage_n);
    for (size_t i = 0; i < nt; i++) {
        const st_tensor *x = &t[L->by_off[i]];
        if ((s = read_tensor(L, x, 8 + hlen + x->begin))) return s;
    }
    /* all checked and read: only now touch the graph (a device's copy can still fail, which
     * its own error explains) */
    for (size_t i = 0; i < nt; i++) {
        const glia_st_entry *en = &e[t[i].node];
        const float *src = L->stage + t[i].stage;
        float *host;
        if (!t[i].numel) continue;
        (void)entry_place(en, path, &host); /* checked by glia_safetensors_read */
        if (host) {
            memcpy(host, src, (size_t)t[i].numel * sizeof(float));
        } else if ((s = glia_node_write(en->graph, en->node, src, (int64_t)t[i].numel))) {
            return glia__err(s, "%s: tensor '%s': %s", path, en->name, glia_last_error());
        }
    }
    return GLIA_OK;
}

glia_status glia_safetensors_read(const char *path, glia_st_entry *e, int n, glia_st_meta *meta) {
    if (meta) memset(meta, 0, sizeof *meta);
    if (!path || (n && !e) || n < 0) return glia__err(GLIA_EINVAL, "glia_safetensors_read: NULL argument");
    for (int i = 0; i < n; i++) {
        if (!e[i].name || (!e[i].graph && !e[i].data && glia_shape_numel(&e[i].shape)))
            return glia__err(GLIA_EINVAL, "glia_safetensors_read: entry %d has no name or no data", i);
        float *host;
        glia_status s = entry_place(&e[i], path, &host);
        if (s) return s;
    }
    loader L;
    memset(&L, 0, sizeof L);
    L.path = path;
    L.p.meta = meta;
    glia_status s = load(&L, e, n);
    loader_free(&L);
    if (s && meta) glia_st_meta_free(meta);
    return s;
}

glia_status glia_safetensors_load(glia_graph *g, const char *path) {
    if (!g || !path) return glia__err(GLIA_EINVAL, "glia_safetensors_load: NULL argument");
    int n;
    glia_st_entry *e = graph_entries(g, &n);
    if (!e) return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    glia_status s = glia_safetensors_read(path, e, n, NULL);
    free(e);
    return s;
}

glia_status glia_safetensors_read_meta(const char *path, glia_st_meta *meta) {
    if (!path || !meta) return glia__err(GLIA_EINVAL, "glia_safetensors_read_meta: NULL argument");
    memset(meta, 0, sizeof *meta);
    loader L;
    memset(&L, 0, sizeof L);
    L.path = path;
    L.p.meta = meta;
    glia_status s = load(&L, NULL, -1);
    loader_free(&L);
    if (s) glia_st_meta_free(meta);
    return s;
}

glia_status glia_safetensors_list(const char *path, glia_st_entry **out, int *n) {
    if (!path || !out || !n) return glia__err(GLIA_EINVAL, "glia_safetensors_list: NULL argument");
    *out = NULL;
    *n = 0;
    loader L;
    memset(&L, 0, sizeof L);
    L.path = path;
    glia_status s = load(&L, NULL, -1);
    glia_st_entry *e = s ? NULL : glia__calloc(L.p.nt + 1, sizeof *e);
    if (!s && !e) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; !s && i < L.p.nt; i++) {
        e[i].name = L.p.t[i].name; /* taken over from the loader */
        L.p.t[i].name = NULL;
        e[i].shape.ndim = L.p.t[i].ndim;
        memcpy(e[i].shape.dim, L.p.t[i].dim, sizeof e[i].shape.dim);
        *n = (int)i + 1;
    }
    loader_free(&L);
    if (s) return s;
    *out = e;
    return GLIA_OK;
}

void glia_st_list_free(glia_st_entry *e, int n) {
    for (int i = 0; e && i < n; i++) free((char *)e[i].name);
    free(e);
}

void glia_st_meta_free(glia_st_meta *m) {
    if (!m) return;
    for (int i = 0; i < m->n; i++) {
        free(m->key[i]);
        free(m->value[i]);
    }
    free(m->key);
    free(m->value);
    memset(m, 0, sizeof *m);
}

const char *glia_st_meta_get(const glia_st_meta *m, const char *key) {
    for (int i = 0; m && i < m->n; i++)
        if (!strcmp(m->key[i], key)) return m->value[i];
    return NULL;
}
