/* ops.c: the table of every op, and what reads the ops' attribute declarations (defaults, checks,
 * text). An op is added by writing its glia_op_def in its family's file and listing it in
 * op_list.h. */
#include "../core/internal.h"
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DECLARE(op) extern const glia_op_def glia__op_##op;
GLIA_OPS(DECLARE)
#define ENTRY(op) &glia__op_##op,
const glia_op_def *const glia__ops[] = {GLIA_OPS(ENTRY) NULL};

int glia__op_count(void) { return (int)(sizeof glia__ops / sizeof glia__ops[0]) - 1; }

int glia__op_index(const char *name) {
    for (int i = 0; glia__ops[i]; i++)
        if (!strcmp(glia__ops[i]->name, name)) return i;
    return -1;
}

glia_op_id glia__node_op(const glia_graph *g, int node) {
    if (!g || node < 0 || node >= g->n_nodes || g->nodes[node].kind != NODE_OP)
        return GLIA_OP_COUNT;
    return g->nodes[node].op;
}

bool glia__no_grad_in0(const glia_node *n, int k) { return k == 0; }
bool glia__no_grad_in1(const glia_node *n, int k) { return k == 1; }

/* ---------------------------------------------------------------- attributes */

const glia_attr_def *glia__op_attr(glia_op_id op, int slot, bool is_float) {
    if ((int)op < 0 || op >= GLIA_OP_COUNT) return NULL;
    const glia_op_def *d = glia__ops[op];
    for (int i = 0; i < d->n_attrs; i++)
        if (d->attrs[i].slot == slot && (d->attrs[i].type == GLIA_ATTR_FLOAT) == is_float)
            return &d->attrs[i];
    return NULL;
}

const glia_attr_def *glia__op_attr_named(const char *op, const char *attr) {
    int i = op && attr ? glia__op_index(op) : -1;
    for (int k = 0; i >= 0 && k < glia__ops[i]->n_attrs; k++)
        if (!strcmp(glia__ops[i]->attrs[k].name, attr)) return &glia__ops[i]->attrs[k];
    return NULL;
}

/* appends to buf[len] at *u, never past the end */
static void put(char *buf, size_t len, size_t *u, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void put(char *buf, size_t len, size_t *u, const char *fmt, ...) {
    if (*u >= len) return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *u, len - *u, fmt, ap);
    va_end(ap);
    *u = w < 0 ? len : *u + (size_t)w < len ? *u + (size_t)w : len - 1;
}

static bool unbounded_below(const glia_attr_def *a) {
    return a->type == GLIA_ATTR_FLOAT ? isinf(a->min) : a->min <= INT_MIN;
}
static bool unbounded_above(const glia_attr_def *a) {
    return a->type == GLIA_ATTR_FLOAT ? isinf(a->max) : a->max >= INT_MAX;
}

/* the allowed values in words: ">= 1", "in [0, 1)", "0 or 1", "tanh (0) or relu (1)" */
static void range_text(const glia_attr_def *a, char *buf, size_t len) {
    size_t u = 0;
    buf[0] = 0;
    bool lo = !unbounded_below(a), hi = !unbounded_above(a);
    if (a->type == GLIA_ATTR_BOOL) {
        put(buf, len, &u, "0 or 1");
    } else if (a->type == GLIA_ATTR_ENUM) {
        for (int v = 0; v <= (int)a->max; v++)
            put(buf, len, &u, "%s%s (%d)", v == 0 ? "" : v == (int)a->max ? " or " : ", ",
                a->names[v], v);
    } else if (lo && hi) {
        put(buf, len, &u, "in %c%.9g, %.9g%c", a->open & GLIA_ATTR_OPEN_MIN ? '(' : '[', a->min,
            a->max, a->open & GLIA_ATTR_OPEN_MAX ? ')' : ']');
    } else if (lo) {
        put(buf, len, &u, "%s %.9g", a->open & GLIA_ATTR_OPEN_MIN ? ">" : ">=", a->min);
    } else if (hi) {
        put(buf, len, &u, "%s %.9g", a->open & GLIA_ATTR_OPEN_MAX ? "<" : "<=", a->max);
    } else {
        put(buf, len, &u, "finite");
    }
}

static bool in_range(const glia_attr_def *a, double v) {
    if (a->type == GLIA_ATTR_FLOAT && !isfinite(v)) return false;
    if (v < a->min || (v == a->min && (a->open & GLIA_ATTR_OPEN_MIN))) return false;
    if (v > a->max || (v == a->max && (a->open & GLIA_ATTR_OPEN_MAX))) return false;
    return true;
}

static glia_status out_of_range(const char *where, const glia_attr_def *a, int index, double v) {
    char r[160], at[16] = "";
    range_text(a, r, sizeof r);
    if (index >= 0) snprintf(at, sizeof at, "[%d]", index);
    return glia__err(GLIA_EINVAL, "%s: attribute %s%s = %g must be %s", where, a->name, at, v, r);
}

glia_status glia__attrs_check(glia_op_id op, const char *where, const int *ia, const float *fa) {
    const glia_op_def *d = glia__ops[op];
    bool ia_used[GLIA_IA] = {false}, fa_used[GLIA_FA] = {false};
    for (int i = 0; i < d->n_attrs; i++) {
        const glia_attr_def *a = &d->attrs[i];
        if (a->type == GLIA_ATTR_FLOAT) {
            fa_used[a->slot] = true;
            if (!fa) return glia__err(GLIA_EINVAL, "%s: attribute %s is missing", where, a->name);
            if (!in_range(a, fa[a->slot])) return out_of_range(where, a, -1, fa[a->slot]);
        } else if (a->type == GLIA_ATTR_INTS) {
            int k = ia[a->slot];
            ia_used[a->slot] = true;
            if (k < a->min_len || k > a->max_len || a->slot + k >= GLIA_IA)
                return glia__err(GLIA_EINVAL, "%s: attribute %s has %d values (%d..%d allowed)",
                                 where, a->name, k, a->min_len, a->max_len);
            for (int j = 0; j < k; j++) {
                const int v = ia[a->slot + 1 + j];
                ia_used[a->slot + 1 + j] = true;
                if (!in_range(a, v)) return out_of_range(where, a, j, v);
            }
        } else {
            ia_used[a->slot] = true;
            if (!in_range(a, ia[a->slot])) return out_of_range(where, a, -1, ia[a->slot]);
        }
    }
    /* a slot no attribute declares stays 0: its value would mean nothing to anyone reading the
     * declarations (exporters, other devices) */
    for (int k = 0; k < GLIA_IA; k++)
        if (!ia_used[k] && ia[k])
            return glia__err(GLIA_EINVAL, "%s: integer slot %d holds %d, but %s declares no "
                             "attribute there", where, k, ia[k], d->name);
    for (int k = 0; fa && k < GLIA_FA; k++)
        if (!fa_used[k] && fa[k] != 0.0f)
            return glia__err(GLIA_EINVAL, "%s: float slot %d holds %g, but %s declares no "
                             "attribute there", where, k, (double)fa[k], d->name);
    return GLIA_OK;
}

glia_status glia__attrs_set(const glia_graph *g, glia_node *n, const int *ia, int n_ia,
                            const float *fa, int n_fa) {
    const glia_op_def *d = glia__ops[n->op];
    if (n_ia < 0 || n_ia > GLIA_IA || n_fa < 0 || n_fa > GLIA_FA || (n_ia && !ia) || (n_fa && !fa))
        return glia__err(GLIA_EINVAL, "%s: %d integer and %d float attribute values given",
                         glia__where(g, n), n_ia, n_fa);
    memset(n->ia, 0, sizeof n->ia);
    memset(n->fa, 0, sizeof n->fa);
    for (int i = 0; i < d->n_attrs; i++) {
        const glia_attr_def *a = &d->attrs[i];
        if (a->required) continue;
        if (a->type == GLIA_ATTR_FLOAT) n->fa[a->slot] = (float)a->def;
        else n->ia[a->slot] = (int)a->def;
    }
    if (n_ia) memcpy(n->ia, ia, (size_t)n_ia * sizeof *ia);
    if (n_fa) memcpy(n->fa, fa, (size_t)n_fa * sizeof *fa);
    for (int i = 0; i < d->n_attrs; i++) {
        const glia_attr_def *a = &d->attrs[i];
        int given = a->type == GLIA_ATTR_FLOAT ? n_fa : n_ia;
        if (a->required && a->slot >= given)
            return glia__err(GLIA_EINVAL, "%s: attribute %s is required", glia__where(g, n),
                             a->name);
    }
    return glia__attrs_check(n->op, glia__where(g, n), n->ia, n->fa);
}

static void value_text(const glia_attr_def *a, double v, char *buf, size_t len, size_t *u) {
    if (a->type == GLIA_ATTR_ENUM && v >= 0 && v <= a->max)
        put(buf, len, u, "%s", a->names[(int)v]);
    else
        put(buf, len, u, "%g", v);
}

void glia__attr_default_text(const glia_attr_def *a, char *buf, size_t len) {
    size_t u = 0;
    if (!buf || !len) return;
    buf[0] = 0;
    if (a->required) return;
    if (a->type == GLIA_ATTR_ENUM) value_text(a, a->def, buf, len, &u);
    else put(buf, len, &u, "%.9g", a->def); /* not %g: 0.1234567 must not become 0.123457 */
}

void glia__node_attrs_text(const glia_node *n, char *buf, size_t len) {
    if (!buf || !len) return;
    buf[0] = 0;
    if (n->kind != NODE_OP) return;
    const glia_op_def *d = glia__ops[n->op];
    size_t u = 0;
    for (int i = 0; i < d->n_attrs; i++) {
        const glia_attr_def *a = &d->attrs[i];
        put(buf, len, &u, "%s%s=", i ? " " : "", a->name);
        if (a->type == GLIA_ATTR_INTS) {
            int k = n->ia[a->slot];
            put(buf, len, &u, "[");
            for (int j = 0; j < k && a->slot + 1 + j < GLIA_IA; j++)
                put(buf, len, &u, "%s%d", j ? "," : "", n->ia[a->slot + 1 + j]);
            put(buf, len, &u, "]");
        } else {
            double v = a->type == GLIA_ATTR_FLOAT ? n->fa[a->slot] : n->ia[a->slot];
            value_text(a, v, buf, len, &u);
        }
    }
}

/* ---------------------------------------------------------------- public catalogue */

int glia_num_ops(void) { return glia__op_count(); }

const glia_op_info *glia_op_get(int i) {
    static _Thread_local glia_op_info info;
    if (i < 0 || i >= glia__op_count()) return NULL;
    info.name = glia__ops[i]->name;
    info.summary = glia__ops[i]->summary;
    info.inputs = glia__ops[i]->inputs;
    info.outputs = glia__ops[i]->outputs;
    info.n_attrs = glia__ops[i]->n_attrs;
    return &info;
}

const glia_op_attr_info *glia_op_attr_get(int op, int k) {
    static _Thread_local glia_op_attr_info info;
    static _Thread_local char def[64], range[160];
    static const char *const type[] = {"int", "bool", "enum", "float", "int list"};
    if (op < 0 || op >= glia__op_count() || k < 0 || k >= glia__ops[op]->n_attrs) return NULL;
    const glia_attr_def *a = &glia__ops[op]->attrs[k];
    glia__attr_default_text(a, def, sizeof def);
    range_text(a, range, sizeof range);
    info.name = a->name;
    info.type = type[a->type];
    info.def = a->required ? NULL : def;
    info.range = range;
    return &info;
}

glia_status glia_node_attrs(const glia_graph *g, int node, char *buf, size_t len) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    if (!buf || !len) return glia__err(GLIA_EINVAL, "glia_node_attrs: no buffer");
    glia__node_attrs_text(&g->nodes[node], buf, len);
    return GLIA_OK;
}
