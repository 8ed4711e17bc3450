/* onnx_value.c: the importer's values (glia nodes and load-time constants), ONNX tensors and
 * attributes, and the folding of shape arithmetic on constants (onnx_internal.h). */
#include "io/onnx_internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static glia_status vfail(ox_ctx *c, glia_status s, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (c->node) {
        /* the node's name, else its first named output */
        const char *nm = c->node->name && c->node->name[0] ? c->node->name : "?";
        for (size_t k = 0; nm[0] == '?' && k < c->node->n_output; k++)
            if (c->node->output[k] && c->node->output[k][0]) nm = c->node->output[k];
        return glia__err(s, "onnx %s: node '%s' (%s): %s", c->file, nm,
                         c->node->op_type ? c->node->op_type : "?", msg);
    }
    return glia__err(s, "onnx %s: %s", c->file, msg);
}
glia_status ox_fail(ox_ctx *c, glia_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    s = vfail(c, s, fmt, ap);
    va_end(ap);
    return s;
}
glia_status ox_unsupported(ox_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    glia_status s = vfail(c, GLIA_EINVAL, fmt, ap);
    va_end(ap);
    if (c->unsupported) *c->unsupported = 1;
    return s;
}

/* ---------------------------------------------------------------- values */
ox_value *ox_find(ox_ctx *c, const char *name) {
    for (int i = c->n_vals - 1; i >= 0; i--)
        if (!strcmp(c->vals[i].name, name)) return &c->vals[i];
    return NULL;
}

glia_status ox_add(ox_ctx *c, const char *name, ox_value **out) {
    if (!name || !name[0]) return ox_fail(c, GLIA_EINVAL, "a value has an empty name");
    if (ox_find(c, name)) return ox_fail(c, GLIA_EINVAL, "value '%s' is assigned twice", name);
    if (c->n_vals == c->cap_vals) {
        int cap = c->cap_vals ? 2 * c->cap_vals : 64;
        ox_value *nv = glia__realloc(c->vals, (size_t)cap * sizeof *nv);
        if (!nv) return glia__err(GLIA_ENOMEM, "onnx %s: out of memory", c->file);
        c->vals = nv;
        c->cap_vals = cap;
    }
    ox_value *v = &c->vals[c->n_vals];
    memset(v, 0, sizeof *v);
    v->node = -1;
    v->name = glia__strdup(name);
    if (!v->name) return glia__err(GLIA_ENOMEM, "onnx %s: out of memory", c->file);
    c->n_vals++;
    *out = v;
    return GLIA_OK;
}

glia_status ox_add_const(ox_ctx *c, const char *name, int dtype, const glia_shape *s, double *v) {
    ox_value *o;
    glia_shape sh = *s; /* s may point into c->vals, which ox_add can move */
    glia_status st = ox_add(c, name, &o);
    if (st) {
        free(v);
        return st;
    }
    o->is_const = true;
    o->dtype = dtype;
    o->shape = sh;
    o->v = v;
    return GLIA_OK;
}

void ox_node_name(ox_ctx *c, const char *name, char *buf, size_t len) {
    int dummy;
    size_t n = strlen(name);
    /* too long: keep the end, which tells values apart ("/layer1/layer1.0/conv1/Conv_output_0") */
    if (n < GLIA_NAME_MAX && n < len) snprintf(buf, len, "%s", name);
    else snprintf(buf, len, "~%s", name + n - (GLIA_NAME_MAX - 10));
    glia_status saved = glia_graph_find(c->g, buf, &dummy);
    if (saved) return; /* free */
    char base[GLIA_NAME_MAX];
    snprintf(base, sizeof base, "%.*s", GLIA_NAME_MAX - 12, buf);
    for (int k = 1;; k++) {
        snprintf(buf, len, "%s#%d", base, k);
        if (glia_graph_find(c->g, buf, &dummy)) return;
    }
}

glia_shape ox_shape(ox_ctx *c, const ox_value *v) {
    glia_shape s = v->shape;
    if (v->node >= 0 && !v->view) glia_node_shape(c->g, v->node, &s);
    return s;
}

glia_status ox_in(ox_ctx *c, int k, ox_value **out) {
    *out = NULL;
    if (k >= (int)c->node->n_input || !c->node->input[k][0]) return GLIA_OK;
    *out = ox_find(c, c->node->input[k]);
    if (!*out) return ox_fail(c, GLIA_EINVAL, "input '%s' is not defined before it", c->node->input[k]);
    if ((*out)->why) return ox_unsupported(c, "input '%s': %s", (*out)->name, (*out)->why);
    return GLIA_OK;
}

/* a view whose first dimension differs from its node's by a leading 1 ([N, H] held as [1, N, H],
 * or the reverse: PyTorch's unsqueeze(0) / squeeze(0) around a recurrent state): the values keep
 * their order when a size-1 axis moves, so glia's transpose of axes 0 and 1 (after a reshape that
 * keeps the first dimension) changes the first dimension; v->node becomes that node, ns its shape */
static glia_status lead_one(ox_ctx *c, ox_value *v, glia_shape *ns) {
    glia_status s;
    int node = v->node;
    int64_t numel = glia_shape_numel(ns);
    static const int swap01[GLIA_MAX_DIMS] = {1, 0, 2, 3, 4, 5, 6, 7};
    if (ns->dim[0] != 1) { /* [n0, rest] -> [n0, 1, rest] -> [1, n0, rest] */
        int64_t d[2] = {1, ns->dim[0] ? numel / ns->dim[0] : 0};
        if ((s = glia_reshape(c->g, NULL, node, 2, d, &node)) ||
            (s = glia_transpose(c->g, NULL, node, 3, swap01, &node)))
            return ox_fail(c, s, "input '%s': %s", v->name, glia_last_error());
    } else if (ns->ndim >= 2) { /* [1, n1, ...] -> [n1, 1, ...] */
        if ((s = glia_transpose(c->g, NULL, node, ns->ndim, swap01, &node)))
            return ox_fail(c, s, "input '%s': %s", v->name, glia_last_error());
    } else return GLIA_OK;
    glia_node_shape(c->g, node, ns);
    if (ns->dim[0] != v->shape.dim[0]) return GLIA_OK; /* the caller says it does not fit */
    v->node = node;
    if (glia__shape_eq(ns, &v->shape)) v->view = false;
    return GLIA_OK;
}

glia_status ox_in_node(ox_ctx *c, int k, bool as_param, int *out) {
    ox_value *v;
    glia_status s = ox_in(c, k, &v);
    if (s) return s;
    if (!v) return ox_fail(c, GLIA_EINVAL, "input %d is missing", k);
    if (v->swapped12)
        return ox_unsupported(c, "input '%s' (a bidirectional recurrent Y) is read other than by "
                              "Transpose with perm (0, 2, 1, 3)", v->name);
    if (v->int_cast)
        return ox_unsupported(c, "input '%s' is a run-time value cast to integers, which glia reads "
                              "as Gather's indices or as sequence_lens only", v->name);
    if (v->view) { /* a node of the value's own shape, if glia's reshape can make it */
        glia_shape ns;
        glia_node_shape(c->g, v->node, &ns);
        char a[96], b[96];
        bool rows = ns.ndim >= 3 && v->shape.ndim == ns.ndim - 1 && v->shape.dim[0] == ns.dim[0] * ns.dim[1];
        for (int d = 1; rows && d < v->shape.ndim; d++) rows = v->shape.dim[d] == ns.dim[d + 1];
        if (rows) { /* [T, N, ...] seen as [T N, ...]: glia's time_flatten */
            int node;
            if ((s = glia_time_flatten(c->g, NULL, v->node, &node))) return ox_fail(c, s, "input '%s': %s", v->name, glia_last_error());
            v->node = node;
            v->view = false;
        } else if (v->shape.ndim >= 1 && ns.ndim >= 1 && v->shape.dim[0] != ns.dim[0] &&
                   (ns.dim[0] == 1 || v->shape.dim[0] == 1)) {
            if ((s = lead_one(c, v, &ns))) return s;
        }
        if (v->view && (v->shape.ndim < 1 || ns.ndim < 1 || v->shape.dim[0] != ns.dim[0]))
            return ox_unsupported(c, "input '%s' is %s, held as %s: glia's reshape keeps the first "
                                  "(batch) dimension, and this op needs the value in its shape",
                                  v->name, glia_shape_str(&v->shape, a, sizeof a), glia_shape_str(&ns, b, sizeof b));
        if (v->view) {
            int node;
            s = glia_reshape(c->g, NULL, v->node, v->shape.ndim - 1, v->shape.dim + 1, &node);
            if (s) return ox_fail(c, s, "input '%s': %s", v->name, glia_last_error());
            v->node = node;
            v->view = false;
        }
    }
    if (v->node < 0) { /* a constant, made a leaf of the graph on first use */
        int64_t n = glia_shape_numel(&v->shape);
        if (!n) return ox_unsupported(c, "input '%s' is empty (glia tensors have no 0-size dimensions)", v->name);
        char nm[GLIA_NAME_MAX];
        ox_node_name(c, v->name, nm, sizeof nm);
        s = (as_param && v->init ? glia_param : glia_buffer)(c->g, nm, v->shape.ndim,
                                                             v->shape.dim, &v->node);
        if (s) return ox_fail(c, s, "input '%s': %s", v->name, glia_last_error());
        float *dst = glia_node_value(c->g, v->node);
        if (!dst) return ox_fail(c, GLIA_ESTATE, "input '%s': %s", v->name, glia_last_error());
        for (int64_t i = 0; i < n; i++) dst[i] = (float)v->v[i];
    }
    *out = v->node;
    return GLIA_OK;
}

/* ---------------------------------------------------------------- tensors */
static int64_t rd_le(const uint8_t *p, int bytes) {
    uint64_t u = 0;
    for (int i = bytes - 1; i >= 0; i--) u = u << 8 | p[i];
    return (int64_t)u;
}
static double half_to_double(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

glia_status ox_tensor(ox_ctx *c, const Onnx__TensorProto *t, glia_shape *s, double **out) {
    *out = NULL;
    const char *nm = t->name ? t->name : "?";
    if (t->n_dims > GLIA_MAX_DIMS)
        return ox_unsupported(c, "tensor '%s' has %zu dimensions (at most %d)", nm, t->n_dims,
                              GLIA_MAX_DIMS);
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return ox_unsupported(c, "tensor '%s' keeps its data in an external file", nm);
    s->ndim = (int)t->n_dims;
    int64_t n = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->dims[d] < 0 || t->dims[d] > ((int64_t)1 << 31) || (n *= t->dims[d]) > ((int64_t)1 << 31))
            return ox_fail(c, GLIA_EINVAL, "tensor '%s': dimension %zu is %lld", nm, d,
                           (long long)t->dims[d]);
        s->dim[d] = t->dims[d];
    }
    int bytes;
    switch (t->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: bytes = 8; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: bytes = 4; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: bytes = 2; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: bytes = 1; break;
    default: return ox_unsupported(c, "tensor '%s' has data type %d", nm, (int)t->data_type);
    }
    double *v = glia__malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "onnx %s: out of memory for tensor '%s'", c->file, nm);
    const int dt = t->data_type;
    size_t have;
    if (t->has_raw_data) {
        have = t->raw_data.len / (size_t)bytes;
        if (t->raw_data.len % (size_t)bytes) have = (size_t)-1;
    } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) have = t->n_float_data;
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) have = t->n_double_data;
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) have = t->n_int64_data;
    else have = t->n_int32_data;
    if (have != (size_t)n) {
        free(v);
        return ox_fail(c, GLIA_EINVAL, "tensor '%s' holds %lld values for %lld elements", nm,
                       have == (size_t)-1 ? -1LL : (long long)have, (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        if (t->has_raw_data) {
            const uint8_t *p = t->raw_data.data + i * bytes;
            int64_t u = rd_le(p, bytes);
            switch (dt) {
            case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
                uint32_t w = (uint32_t)u;
                float f;
                memcpy(&f, &w, 4);
                v[i] = f;
                break;
            }
            case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: memcpy(&v[i], &u, 8); break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: v[i] = (int32_t)(uint32_t)u; break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: v[i] = (int16_t)(uint16_t)u; break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: v[i] = (int8_t)(uint8_t)u; break;
            case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: v[i] = half_to_double((uint16_t)u); break;
            default: v[i] = (double)u; break; /* int64, unsigned, bool */
            }
        } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) v[i] = t->float_data[i];
        else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) v[i] = t->double_data[i];
        else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) v[i] = (double)t->int64_data[i];
        else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16) v[i] = half_to_double((uint16_t)t->int32_data[i]);
        else v[i] = t->int32_data[i];
    }
    *out = v;
    return GLIA_OK;
}

/* ---------------------------------------------------------------- attributes */
const Onnx__AttributeProto *ox_attr(ox_ctx *c, const char *name) {
    for (size_t i = 0; i < c->node->n_attribute; i++)
        if (c->node->attribute[i]->name && !strcmp(c->node->attribute[i]->name, name))
            return c->node->attribute[i];
    return NULL;
}
static glia_status attr_type(ox_ctx *c, const Onnx__AttributeProto *a, int type) {
    if (a->has_type && (int)a->type != type)
        return ox_fail(c, GLIA_EINVAL, "attribute '%s' has type %d, not %d", a->name, (int)a->type, type);
    return GLIA_OK;
}
glia_status ox_attr_i(ox_ctx *c, const char *name, int64_t def, int64_t *out) {
    const Onnx__AttributeProto *a = ox_attr(c, name);
    *out = def;
    if (!a) return GLIA_OK;
    glia_status s = attr_type(c, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (!s) *out = a->i;
    return s;
}
glia_status ox_attr_f(ox_ctx *c, const char *name, float def, float *out) {
    const Onnx__AttributeProto *a = ox_attr(c, name);
    *out = def;
    if (!a) return GLIA_OK;
    glia_status s = attr_type(c, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (!s) *out = a->f;
    if (!s && !isfinite(*out))
        return ox_fail(c, GLIA_EINVAL, "attribute '%s' is not finite", name);
    return s;
}
glia_status ox_attr_ints(ox_ctx *c, const char *name, int64_t *v, int max, int *n) {
    const Onnx__AttributeProto *a = ox_attr(c, name);
    *n = -1;
    if (!a) return GLIA_OK;
    glia_status s = attr_type(c, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (s) return s;
    if (a->n_ints > (size_t)max)
        return ox_unsupported(c, "attribute '%s' has %zu values (at most %d)", name, a->n_ints, max);
    for (size_t i = 0; i < a->n_ints; i++) v[i] = a->ints[i];
    *n = (int)a->n_ints;
    return GLIA_OK;
}
glia_status ox_attr_s(ox_ctx *c, const char *name, const char *def, char *buf, size_t len) {
    const Onnx__AttributeProto *a = ox_attr(c, name);
    snprintf(buf, len, "%s", def);
    if (!a) return GLIA_OK;
    glia_status s = attr_type(c, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    if (s) return s;
    if (!a->has_s || a->s.len >= len || memchr(a->s.data, 0, a->s.len))
        return ox_fail(c, GLIA_EINVAL, "attribute '%s' is not a short string", name);
    memcpy(buf, a->s.data, a->s.len);
    buf[a->s.len] = 0;
    return GLIA_OK;
}

/* ---------------------------------------------------------------- folding */
static bool is_int_type(int dt) {
    return dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
           dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
}
static glia_status out_const(ox_ctx *c, int k, int dtype, const glia_shape *s, double *v) {
    if (k >= (int)c->node->n_output || !c->node->output[k][0]) {
        free(v);
        return GLIA_OK;
    }
    return ox_add_const(c, c->node->output[k], dtype, s, v);
}
static double *dup_vals(ox_ctx *c, const double *v, int64_t n) {
    double *o = glia__malloc((size_t)(n ? n : 1) * sizeof *o);
    if (o && n) memcpy(o, v, (size_t)n * sizeof *o);
    if (!o) glia__err(GLIA_ENOMEM, "onnx %s: out of memory", c->file);
    return o;
}
/* a constant that lists dimensions or axes: rank <= 1, at most max values */
static glia_status const_list(ox_ctx *c, const ox_value *v, int64_t *out, int max, int *n) {
    int64_t m = glia_shape_numel(&v->shape);
    if (v->shape.ndim > 1 || m > max)
        return ox_unsupported(c, "'%s' lists %lld values (at most %d)", v->name, (long long)m, max);
    for (int64_t i = 0; i < m; i++) {
        if (isnan(v->v[i])) return ox_fail(c, GLIA_EINVAL, "'%s' holds NaN", v->name);
        out[i] = ox_i64(v->v[i]); /* INT64_MAX (Slice's "to the end") becomes 2^62 */
    }
    *n = (int)m;
    return GLIA_OK;
}

/* out = a (op) b with NumPy broadcasting, on doubles; integer division truncates as C's;
 * comparisons and logic (onnx_internal.h) give booleans */
glia_status ox_fold_binary(ox_ctx *c, char op, const ox_value *a, const ox_value *b) {
    glia_shape o;
    const glia_shape *sa = &a->shape, *sb = &b->shape;
    o.ndim = sa->ndim > sb->ndim ? sa->ndim : sb->ndim;
    for (int d = 0; d < o.ndim; d++) {
        int i = d - (o.ndim - sa->ndim), j = d - (o.ndim - sb->ndim);
        int64_t x = i >= 0 ? sa->dim[i] : 1, y = j >= 0 ? sb->dim[j] : 1;
        if (x != y && x != 1 && y != 1)
            return ox_fail(c, GLIA_ESHAPE, "'%s' and '%s' do not broadcast", a->name, b->name);
        o.dim[d] = x == 1 ? y : x;
    }
    int64_t n = glia_shape_numel(&o);
    double *v = glia__malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "onnx %s: out of memory", c->file);
    bool ints = is_int_type(a->dtype);
    for (int64_t e = 0; e < n; e++) {
        int64_t r = e, ia = 0, ib = 0, ma = 1, mb = 1;
        for (int d = o.ndim - 1; d >= 0; d--) {
            int64_t idx = r % o.dim[d];
            r /= o.dim[d];
            int i = d - (o.ndim - sa->ndim), j = d - (o.ndim - sb->ndim);
            if (i >= 0) {
                ia += (sa->dim[i] == 1 ? 0 : idx) * ma;
                ma *= sa->dim[i];
            }
            if (j >= 0) {
                ib += (sb->dim[j] == 1 ? 0 : idx) * mb;
                mb *= sb->dim[j];
            }
        }
        double x = a->v[ia], y = b->v[ib];
        switch (op) {
        case '+': v[e] = x + y; break;
        case '-': v[e] = x - y; break;
        case '*': v[e] = x * y; break;
        case '/': v[e] = ints ? (y == 0 ? 0 : trunc(x / y)) : x / y; break;
        case '=': v[e] = x == y; break;
        case '<': v[e] = x < y; break;
        case '>': v[e] = x > y; break;
        case 'l': v[e] = x <= y; break;
        case 'g': v[e] = x >= y; break;
        case '&': v[e] = x != 0 && y != 0; break;
        case '|': v[e] = x != 0 || y != 0; break;
        default: v[e] = (x != 0) != (y != 0); break; /* '^' */
        }
        if (!ints) v[e] = (float)v[e];
    }
    bool arith = op == '+' || op == '-' || op == '*' || op == '/';
    return out_const(c, 0, arith ? a->dtype : ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, &o, v);
}

static glia_status fold_gather(ox_ctx *c, const ox_value *data, const ox_value *idx) {
    int64_t axis;
    glia_status s = ox_attr_i(c, "axis", 0, &axis);
    if (s) return s;
    const glia_shape *ds = &data->shape, *is = &idx->shape;
    if (axis < 0) axis += ds->ndim;
    if (axis < 0 || axis >= ds->ndim || ds->ndim - 1 + is->ndim > GLIA_MAX_DIMS)
        return ox_fail(c, GLIA_EINVAL, "axis %lld does not fit '%s'", (long long)axis, data->name);
    glia_shape o;
    o.ndim = 0;
    for (int d = 0; d < axis; d++) o.dim[o.ndim++] = ds->dim[d];
    for (int d = 0; d < is->ndim; d++) o.dim[o.ndim++] = is->dim[d];
    for (int d = (int)axis + 1; d < ds->ndim; d++) o.dim[o.ndim++] = ds->dim[d];
    int64_t outer = 1, inner = 1, K = ds->dim[axis], m = glia_shape_numel(is);
    for (int d = 0; d < axis; d++) outer *= ds->dim[d];
    for (int d = (int)axis + 1; d < ds->ndim; d++) inner *= ds->dim[d];
    int64_t total = outer * m * inner;
    double *v = glia__malloc((size_t)(total > 0 ? total : 1) * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "onnx %s: out of memory", c->file);
    for (int64_t o_ = 0; o_ < outer; o_++)
        for (int64_t j = 0; j < m; j++) {
            double q = idx->v[j];
            if (q < 0) q += (double)K;
            if (!(q >= 0 && q < (double)K)) {
                free(v);
                return ox_fail(c, GLIA_ERANGE, "index %g is outside axis %lld of '%s' (%lld)",
                               idx->v[j], (long long)axis, data->name, (long long)K);
            }
            memcpy(v + (o_ * m + j) * inner, data->v + (o_ * K + (int64_t)q) * inner,
                   (size_t)inner * sizeof *v);
        }
    return out_const(c, 0, data->dtype, &o, v);
}

static glia_status fold_concat(ox_ctx *c) {
    int64_t axis;
    glia_status s = ox_attr_i(c, "axis", 0, &axis);
    if (s) return s;
    ox_value *v0;
    if ((s = ox_in(c, 0, &v0)) || !v0) return s ? s : ox_fail(c, GLIA_EINVAL, "no inputs");
    glia_shape o = v0->shape;
    if (axis < 0) axis += o.ndim;
    if (axis < 0 || axis >= o.ndim) return ox_fail(c, GLIA_EINVAL, "axis %lld out of range", (long long)axis);
    o.dim[axis] = 0;
    for (size_t k = 0; k < c->node->n_input; k++) {
        ox_value *v;
        if ((s = ox_in(c, (int)k, &v))) return s;
        if (!v) continue;
        bool fits = v->shape.ndim == o.ndim;
        for (int d = 0; fits && d < o.ndim; d++) fits = d == axis || v->shape.dim[d] == o.dim[d];
        if (!fits) return ox_fail(c, GLIA_ESHAPE, "'%s' does not fit the concatenation", v->name);
        o.dim[axis] += v->shape.dim[axis];
    }
    int64_t outer = 1, inner = 1, off = 0;
    for (int d = 0; d < axis; d++) outer *= o.dim[d];
    for (int d = (int)axis + 1; d < o.ndim; d++) inner *= o.dim[d];
    int64_t n = glia_shape_numel(&o), run = o.dim[axis] * inner;
    double *out = glia__malloc((size_t)(n ? n : 1) * sizeof *out);
    if (!out) return glia__err(GLIA_ENOMEM, "onnx %s: out of memory", c->file);
    for (size_t k = 0; k < c->node->n_input; k++) {
        ox_value *v;
        ox_in(c, (int)k, &v);
        if (!v) continue;
        int64_t r = v->shape.dim[axis] * inner;
        for (int64_t i = 0; i < outer; i++) memcpy(out + i * run + off, v->v + i * r, (size_t)r * sizeof *out);
        off += r;
    }
    return out_const(c, 0, v0->dtype, &o, out);
}

static glia_status fold_slice(ox_ctx *c, const ox_value *x) {
    int64_t st[GLIA_MAX_DIMS], en[GLIA_MAX_DIMS], ax[GLIA_MAX_DIMS], sp[GLIA_MAX_DIMS];
    int ns, ne, na = -1, np = -1;
    glia_status s;
    const glia_shape *xs = &x->shape;
    if (c->opset < 10) {
        if ((s = ox_attr_ints(c, "starts", st, GLIA_MAX_DIMS, &ns)) ||
            (s = ox_attr_ints(c, "ends", en, GLIA_MAX_DIMS, &ne)) ||
            (s = ox_attr_ints(c, "axes", ax, GLIA_MAX_DIMS, &na)))
            return s;
    } else {
        ox_value *v[5];
        for (int k = 1; k < 5; k++)
            if ((s = ox_in(c, k, &v[k]))) return s;
        if (!v[1] || !v[2]) return ox_fail(c, GLIA_EINVAL, "starts and ends are required");
        if ((s = const_list(c, v[1], st, GLIA_MAX_DIMS, &ns)) || (s = const_list(c, v[2], en, GLIA_MAX_DIMS, &ne)) ||
            (v[3] && (s = const_list(c, v[3], ax, GLIA_MAX_DIMS, &na))) ||
            (v[4] && (s = const_list(c, v[4], sp, GLIA_MAX_DIMS, &np))))
            return s;
    }
    if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (np >= 0 && np != ns))
        return ox_fail(c, GLIA_EINVAL, "starts, ends, axes and steps differ in length");
    int64_t lo[GLIA_MAX_DIMS], step[GLIA_MAX_DIMS];
    glia_shape o = *xs;
    for (int d = 0; d < xs->ndim; d++) lo[d] = 0, step[d] = 1;
    for (int i = 0; i < ns; i++) {
        int64_t a = na >= 0 ? ax[i] : i, k = np >= 0 ? sp[i] : 1;
        if (k > ((int64_t)1 << 40) || k < -((int64_t)1 << 40)) k = k > 0 ? (int64_t)1 << 40 : -((int64_t)1 << 40);
        if (a < 0) a += xs->ndim;
        if (a < 0 || a >= xs->ndim || k == 0)
            return ox_fail(c, GLIA_EINVAL, "axis %lld or step %lld is invalid", (long long)a, (long long)k);
        int64_t D = xs->dim[a], b = st[i], e = en[i];
        if (b < 0) b += D;
        if (e < 0) e += D;
        if (k > 0) {
            b = b < 0 ? 0 : b > D ? D : b;
            e = e < 0 ? 0 : e > D ? D : e;
            o.dim[a] = e > b ? (e - b + k - 1) / k : 0;
        } else {
            b = b < 0 ? -1 : b > D - 1 ? D - 1 : b;
            e = e < -1 ? -1 : e > D - 1 ? D - 1 : e;
            o.dim[a] = b > e ? (b - e - k - 1) / -k : 0;
        }
        lo[a] = b;
        step[a] = k;
    }
    int64_t n = glia_shape_numel(&o);
    double *v = glia__malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "onnx %s: out of memory", c->file);
    for (int64_t e = 0; e < n; e++) {
        int64_t r = e, src = 0, m = 1;
        for (int d = o.ndim - 1; d >= 0; d--) {
            int64_t idx = r % o.dim[d];
            r /= o.dim[d];
            src += (lo[d] + idx * step[d]) * m;
            m *= xs->dim[d];
        }
        v[e] = x->v[src];
    }
    return out_const(c, 0, x->dtype, &o, v);
}

glia_status ox_reshape_dims(ox_ctx *c, const glia_shape *in, const int64_t *want, int n,
                            int allowzero, glia_shape *out) {
    if (n > GLIA_MAX_DIMS) return ox_unsupported(c, "a shape of %d dimensions", n);
    int64_t known = 1, total = glia_shape_numel(in);
    int free_d = -1;
    out->ndim = n;
    for (int i = 0; i < n; i++) {
        int64_t d = want[i];
        if (d == 0 && !allowzero) {
            if (i >= in->ndim) return ox_fail(c, GLIA_ESHAPE, "shape entry %d is 0 beyond the input's rank", i);
            d = in->dim[i];
        }
        if (d == -1) {
            if (free_d >= 0) return ox_fail(c, GLIA_ESHAPE, "two -1 entries in the shape");
            free_d = i;
            continue;
        }
        if (d < 0 || d > ((int64_t)1 << 40)) return ox_fail(c, GLIA_ESHAPE, "shape entry %d is %lld", i, (long long)d);
        out->dim[i] = d;
        if (d && known > ((int64_t)1 << 40) / d) return ox_fail(c, GLIA_ESHAPE, "shape too large"); /* before it overflows */
        known *= d;
    }
    if (free_d >= 0) {
        if (!known || total % known)
            return ox_fail(c, GLIA_ESHAPE, "cannot infer the -1 entry: %lld elements", (long long)total);
        out->dim[free_d] = total / known;
        known = total;
    }
    if (known != total)
        return ox_fail(c, GLIA_ESHAPE, "the new shape has %lld elements, the input %lld",
                       (long long)known, (long long)total);
    return GLIA_OK;
}

glia_status ox_axes(ox_ctx *c, int64_t *ax, int max, int *n) {
    *n = -1;
    if (c->opset < 13 || !strcmp(c->node->op_type, "ReduceMean")) return ox_attr_ints(c, "axes", ax, max, n);
    ox_value *v;
    glia_status s = ox_in(c, 1, &v);
    if (s || !v) return s;
    if (!v->is_const) return ox_unsupported(c, "axes '%s' are computed at run time", v->name);
    return const_list(c, v, ax, max, n);
}

glia_status ox_squeeze_shape(ox_ctx *c, const glia_shape *in, bool squeeze, glia_shape *out) {
    int64_t ax[GLIA_MAX_DIMS];
    int n;
    glia_status s = ox_axes(c, ax, GLIA_MAX_DIMS, &n);
    if (s) return s;
    bool mark[GLIA_MAX_DIMS * 2] = {false};
    int rank = squeeze ? in->ndim : in->ndim + (n > 0 ? n : 0);
    if (!squeeze && n < 0) return ox_fail(c, GLIA_EINVAL, "axes are required");
    if (rank > GLIA_MAX_DIMS) return ox_unsupported(c, "%d dimensions", rank);
    for (int i = 0; i < n; i++) {
        int64_t a = ax[i] < 0 ? ax[i] + rank : ax[i];
        if (a < 0 || a >= rank || mark[a]) return ox_fail(c, GLIA_EINVAL, "axis %lld is invalid", (long long)ax[i]);
        if (squeeze && in->dim[a] != 1)
            return ox_fail(c, GLIA_ESHAPE, "axis %lld has size %lld, not 1", (long long)a, (long long)in->dim[a]);
        mark[a] = true;
    }
    out->ndim = 0;
    if (squeeze) {
        for (int d = 0; d < in->ndim; d++)
            if (!(n < 0 ? in->dim[d] == 1 : mark[d])) out->dim[out->ndim++] = in->dim[d];
    } else {
        for (int d = 0, k = 0; d < rank; d++) out->dim[out->ndim++] = mark[d] ? 1 : in->dim[k++];
    }
    return GLIA_OK;
}

glia_status ox_fold(ox_ctx *c, int *done) {
    const char *op = c->node->op_type;
    glia_status s;
    *done = 0;
    ox_value *in[8] = {NULL};
    size_t nin = c->node->n_input < 8 ? c->node->n_input : 8;
    bool all = true;
    for (size_t k = 0; k < nin; k++) {
        if ((s = ox_in(c, (int)k, &in[k]))) return s;
        if (in[k] && !in[k]->is_const) all = false;
    }
    if (!strcmp(op, "Constant")) {
        static const char *const kinds[] = {"value", "value_float", "value_floats", "value_int", "value_ints"};
        for (size_t k = 0; k < c->node->n_attribute; k++) {
            const Onnx__AttributeProto *a = c->node->attribute[k];
            bool known = false;
            for (size_t j = 0; j < 5; j++) known |= a->name && !strcmp(a->name, kinds[j]);
            if (!known) return ox_unsupported(c, "attribute '%s'", a->name ? a->name : "?");
        }
        glia_shape sh = {0};
        double *v = NULL;
        int dt = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        const Onnx__AttributeProto *a;
        if ((a = ox_attr(c, "value")) && a->t) {
            if ((s = ox_tensor(c, a->t, &sh, &v))) return s;
            dt = a->t->data_type;
        } else if ((a = ox_attr(c, "value_float")) || (a = ox_attr(c, "value_int"))) {
            if (!(v = dup_vals(c, &(double){a->name[6] == 'f' ? a->f : (double)a->i}, 1))) return GLIA_ENOMEM;
            if (a->name[6] == 'i') dt = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        } else if ((a = ox_attr(c, "value_floats")) || (a = ox_attr(c, "value_ints"))) {
            bool fl = a->name[6] == 'f';
            size_t m = fl ? a->n_floats : a->n_ints;
            if (m > ((size_t)1 << 30)) return ox_fail(c, GLIA_EINVAL, "too many values");
            sh.ndim = 1;
            sh.dim[0] = (int64_t)m;
            if (!(v = glia__malloc((m ? m : 1) * sizeof *v))) return glia__err(GLIA_ENOMEM, "out of memory");
            for (size_t i = 0; i < m; i++) v[i] = fl ? a->floats[i] : (double)a->ints[i];
            if (!fl) dt = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        } else return ox_unsupported(c, "a Constant without value, value_float(s) or value_int(s)");
        *done = 1;
        return out_const(c, 0, dt, &sh, v);
    }
    if (!strcmp(op, "Shape") && in[0]) {
        glia_shape is = ox_shape(c, in[0]), o = {1, {0}};
        int64_t start, end;
        if ((s = ox_attr_i(c, "start", 0, &start)) || (s = ox_attr_i(c, "end", is.ndim, &end))) return s;
        if (start < 0) start += is.ndim;
        if (end < 0) end += is.ndim;
        start = start < 0 ? 0 : start > is.ndim ? is.ndim : start;
        end = end < start ? start : end > is.ndim ? is.ndim : end;
        o.dim[0] = end - start;
        double *v = glia__malloc(GLIA_MAX_DIMS * sizeof *v);
        if (!v) return glia__err(GLIA_ENOMEM, "out of memory");
        for (int64_t d = start; d < end; d++) v[d - start] = (double)is.dim[d];
        *done = 1;
        return out_const(c, 0, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, &o, v);
    }
    if (!strcmp(op, "Size") && in[0]) {
        glia_shape is = ox_shape(c, in[0]), o = {0, {0}};
        double *v = dup_vals(c, &(double){(double)glia_shape_numel(&is)}, 1);
        if (!v) return GLIA_ENOMEM;
        *done = 1;
        return out_const(c, 0, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, &o, v);
    }
    if (!all || !nin || !in[0]) return GLIA_OK;
    const ox_value *x = in[0];
    int64_t n = glia_shape_numel(&x->shape);
    if (!strcmp(op, "Identity") || !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze") ||
        !strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Cast")) {
        glia_shape o = x->shape;
        int dt = x->dtype;
        if (op[0] == 'S' || op[0] == 'U') s = ox_squeeze_shape(c, &x->shape, op[0] == 'S', &o);
        else if (op[0] == 'R') {
            int64_t want[GLIA_MAX_DIMS + 1], az;
            int m = 0;
            if (!in[1]) return ox_fail(c, GLIA_EINVAL, "no shape input");
            if ((s = const_list(c, in[1], want, GLIA_MAX_DIMS + 1, &m)) ||
                (s = ox_attr_i(c, "allowzero", 0, &az)) ||
                (s = ox_reshape_dims(c, &x->shape, want, m, (int)az, &o)))
                return s;
        } else if (op[0] == 'F') {
            int64_t axis;
            if ((s = ox_attr_i(c, "axis", 1, &axis))) return s;
            if (axis < 0) axis += x->shape.ndim;
            if (axis < 0 || axis > x->shape.ndim) return ox_fail(c, GLIA_EINVAL, "axis %lld", (long long)axis);
            o.ndim = 2;
            o.dim[0] = 1;
            for (int d = 0; d < axis; d++) o.dim[0] *= x->shape.dim[d];
            o.dim[1] = o.dim[0] ? n / o.dim[0] : 0;
        } else if (op[0] == 'C') {
            int64_t to;
            if ((s = ox_attr_i(c, "to", 1, &to))) return s;
            dt = (int)to;
            /* 16-bit floats would need their rounding */
            if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16 ||
                x->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 || x->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16 ||
                dt == ONNX__TENSOR_PROTO__DATA_TYPE__STRING || x->dtype == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
                return ox_unsupported(c, "a cast from data type %d to %d", x->dtype, dt);
        }
        if (s) return s;
        double *v = dup_vals(c, x->v, n);
        if (!v) return GLIA_ENOMEM;
        if (op[0] == 'C')
            for (int64_t i = 0; i < n; i++)
                v[i] = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? (double)(float)v[i]
                       : dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? (v[i] != 0)
                       : is_int_type(dt) ? trunc(v[i]) : v[i];
        *done = 1;
        return out_const(c, 0, dt, &o, v);
    }
    if ((!strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") || !strcmp(op, "Div")) && in[1]) {
        *done = 1;
        return ox_fold_binary(c, op[0] == 'A' ? '+' : op[0] == 'S' ? '-' : op[0] == 'M' ? '*' : '/', x, in[1]);
    }
    if (!strcmp(op, "Expand") && in[1]) { /* x * ones(shape), broadcast both ways */
        int64_t dims[GLIA_MAX_DIMS];
        int m = 0;
        if ((s = const_list(c, in[1], dims, GLIA_MAX_DIMS, &m))) return s;
        ox_value ones = {.name = in[1]->name, .dtype = x->dtype, .shape = {m, {0}}};
        for (int i = 0; i < m; i++) {
            if (dims[i] < 0 || dims[i] > (1 << 24)) return ox_fail(c, GLIA_EINVAL, "shape entry %lld", (long long)dims[i]);
            ones.shape.dim[i] = dims[i];
        }
        int64_t total = glia_shape_numel(&ones.shape);
        if (total > (1 << 24)) return ox_unsupported(c, "a constant of %lld elements", (long long)total);
        if (!(ones.v = glia__malloc((size_t)(total ? total : 1) * sizeof *ones.v))) return glia__err(GLIA_ENOMEM, "out of memory");
        for (int64_t i = 0; i < total; i++) ones.v[i] = 1;
        *done = 1;
        s = ox_fold_binary(c, '*', x, &ones);
        free(ones.v);
        return s;
    }
    if (!strcmp(op, "Gather") && in[1]) {
        *done = 1;
        return fold_gather(c, x, in[1]);
    }
    if (!strcmp(op, "Concat")) {
        *done = 1;
        return fold_concat(c);
    }
    if (!strcmp(op, "Slice")) {
        *done = 1;
        return fold_slice(c, x);
    }
    if (!strcmp(op, "Transpose")) {
        int64_t perm[GLIA_MAX_DIMS];
        int np_;
        const glia_shape *xs = &x->shape;
        if ((s = ox_attr_ints(c, "perm", perm, GLIA_MAX_DIMS, &np_))) return s;
        if (np_ >= 0 && np_ != xs->ndim) return ox_fail(c, GLIA_EINVAL, "attribute 'perm' has %d values for %d dimensions", np_, xs->ndim);
        glia_shape o = *xs;
        int64_t stride[GLIA_MAX_DIMS], m = 1;
        bool seen[GLIA_MAX_DIMS] = {false};
        for (int d = xs->ndim - 1; d >= 0; d--) stride[d] = m, m *= xs->dim[d];
        for (int d = 0; d < xs->ndim; d++) {
            if (np_ < 0) perm[d] = xs->ndim - 1 - d;
            if (perm[d] < 0 || perm[d] >= xs->ndim || seen[perm[d]])
                return ox_fail(c, GLIA_EINVAL, "attribute 'perm' is not a permutation");
            seen[perm[d]] = true;
            o.dim[d] = xs->dim[perm[d]];
        }
        double *v = glia__malloc((size_t)(n ? n : 1) * sizeof *v);
        if (!v) return glia__err(GLIA_ENOMEM, "out of memory");
        for (int64_t e = 0; e < n; e++) {
            int64_t r = e, src = 0;
            for (int d = o.ndim - 1; d >= 0; d--) {
                src += (r % o.dim[d]) * stride[perm[d]];
                r /= o.dim[d];
            }
            v[e] = x->v[src];
        }
        *done = 1;
        return out_const(c, 0, x->dtype, &o, v);
    }
    if (!strcmp(op, "ConstantOfShape")) {
        int64_t dims[GLIA_MAX_DIMS];
        int m = 0;
        if ((s = const_list(c, x, dims, GLIA_MAX_DIMS, &m))) return s;
        glia_shape o = {m, {0}};
        for (int i = 0; i < m; i++) {
            if (dims[i] < 0 || dims[i] > (1 << 24)) return ox_fail(c, GLIA_EINVAL, "dimension %lld", (long long)dims[i]);
            o.dim[i] = dims[i];
        }
        int64_t total = glia_shape_numel(&o);
        if (total > (1 << 24)) return ox_unsupported(c, "a constant of %lld elements", (long long)total);
        double fill = 0, *fv = NULL;
        int dt = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        const Onnx__AttributeProto *a = ox_attr(c, "value");
        if (a && a->t) {
            glia_shape vs;
            if ((s = ox_tensor(c, a->t, &vs, &fv))) return s;
            if (glia_shape_numel(&vs) != 1) {
                free(fv);
                return ox_fail(c, GLIA_EINVAL, "attribute 'value' is not one value");
            }
            fill = fv[0];
            dt = a->t->data_type;
            free(fv);
        }
        double *v = glia__malloc((size_t)(total ? total : 1) * sizeof *v);
        if (!v) return glia__err(GLIA_ENOMEM, "out of memory");
        for (int64_t i = 0; i < total; i++) v[i] = fill;
        *done = 1;
        return out_const(c, 0, dt, &o, v);
    }
    return GLIA_OK;
}

glia_status glia__onnx_tensor_file(const char *path, char **name, int *dtype, glia_shape *s,
                                   double **v) {
    char *data;
    size_t len;
    *v = NULL;
    if (name) *name = NULL;
    glia_status st = glia__read_file(path, &data, &len);
    if (st) return st;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, (const uint8_t *)data);
    free(data);
    if (!t) return glia__err(GLIA_EINVAL, "onnx %s: not a TensorProto", path);
    ox_ctx c = {.file = path};
    st = ox_tensor(&c, t, s, v);
    *dtype = t->data_type;
    if (!st && name && t->name && !(*name = glia__strdup(t->name))) {
        free(*v);
        *v = NULL;
        st = glia__err(GLIA_ENOMEM, "out of memory");
    }
    onnx__tensor_proto__free_unpacked(t, NULL);
    return st;
}
