/* init.c: parameter initialisation (glia_init_param).
 *
 * Fans, as PyTorch's _calculate_fan_in_and_fan_out for a weight [out, in, k...] (rank >= 2):
 *   fan_in = numel / dim[0] = in * k...,   fan_out = numel / dim[1] = out * k...
 * Kinds:
 *   constant          every element `value`
 *   he_uniform        U(-b, b), b = sqrt(6 / fan_in)          (kaiming_uniform_, ReLU gain)
 *   he_normal         N(0, 2 / fan_in)                         (kaiming_normal_)
 *   xavier_uniform    U(-b, b), b = sqrt(6 / (fan_in + fan_out))
 *   xavier_normal     N(0, 2 / (fan_in + fan_out))
 *   pytorch           U(-b, b), b = 1 / sqrt(fan_in)           (nn.Linear / nn.Conv2d default)
 *   orthogonal        torch.nn.init.orthogonal_: the weight is read as A[rows, cols] with
 *                     rows = dim[0], cols = numel / rows; A is filled row-major with N(0, 1)
 *                     draws (glia_rng_normal); if rows < cols A is transposed; A = QR (thin QR,
 *                     modified Gram-Schmidt in double with one re-orthogonalisation pass, so the
 *                     diagonal of R is positive: the same Q as PyTorch's Householder QR followed
 *                     by its sign correction Q *= sign(diag R)); the weight is Q (or Q^T) * gain.
 *   identity          gain * I, square 2-D weights only
 *   delta_orthogonal  (Xiao et al. 2018) 4-D conv weight [out, in, kh, kw] with out >= in: zero
 *                     except w[o, i, kh/2, kw/2] = gain * orthogonal [out, in] (columns
 *                     orthonormal, drawn as above)
 * For orthogonal, identity and delta_orthogonal `value` is the gain and 0 means 1; the
 * fan-based kinds ignore `value`. Uniform draws are lo + (hi - lo) u with u in [0, 1) from
 * glia_rng_uniform, normal draws glia_rng_normal, in element order: the same rng state gives
 * the same weights on every platform and thread count. */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(glia_init_kind k) {
    switch (k) {
    case GLIA_INIT_CONSTANT: return "constant";
    case GLIA_INIT_HE_UNIFORM: return "he_uniform";
    case GLIA_INIT_HE_NORMAL: return "he_normal";
    case GLIA_INIT_XAVIER_UNIFORM: return "xavier_uniform";
    case GLIA_INIT_XAVIER_NORMAL: return "xavier_normal";
    case GLIA_INIT_ORTHOGONAL: return "orthogonal";
    case GLIA_INIT_IDENTITY: return "identity";
    case GLIA_INIT_DELTA_ORTHOGONAL: return "delta_orthogonal";
    case GLIA_INIT_PYTORCH: return "pytorch";
    }
    return "?";
}

static void fill_uniform(float *w, int64_t n, double bound, glia_rng *rng) {
    for (int64_t i = 0; i < n; i++)
        w[i] = (float)(-bound + 2.0 * bound * (double)glia_rng_uniform(rng));
}

static void fill_normal(float *w, int64_t n, double std, glia_rng *rng) {
    for (int64_t i = 0; i < n; i++) w[i] = (float)(std * (double)glia_rng_normal(rng));
}

/* Writes gain * (orthonormal rows or columns) of a rows x cols N(0,1) matrix into out
 * (row-major [rows, cols]). */
static glia_status orthogonal(float *out, int64_t rows, int64_t cols, double gain, glia_rng *rng,
                              const char *name) {
    if ((double)rows * (double)cols > (double)((size_t)-1 / sizeof(double)) / 2)
        return glia__err(GLIA_ENOMEM, "orthogonal init of '%s': matrix too large", name);
    /* the random matrix, drawn row-major [rows, cols] */
    double *a = glia__malloc((size_t)(rows * cols) * sizeof *a);
    if (!a) return glia__err(GLIA_ENOMEM, "orthogonal init of '%s': out of memory", name);
    for (int64_t i = 0; i < rows * cols; i++) a[i] = (double)glia_rng_normal(rng);
    /* QR of M [m, n], m >= n: M = A if rows >= cols, else A^T. Column j of M is stored as
     * contiguous vector q[j*m .. j*m+m). */
    const bool tr = rows < cols;
    const int64_t m = tr ? cols : rows, n = tr ? rows : cols;
    double *q = glia__malloc((size_t)(m * n) * sizeof *q);
    if (!q) {
        free(a);
        return glia__err(GLIA_ENOMEM, "orthogonal init of '%s': out of memory", name);
    }
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < m; i++) q[j * m + i] = tr ? a[j * cols + i] : a[i * cols + j];
    free(a);
    for (int64_t j = 0; j < n; j++) {
        double *v = q + j * m;
        for (int pass = 0; pass < 2; pass++) /* "twice is enough" (Giraud et al. 2005) */
            for (int64_t k = 0; k < j; k++) {
                const double *u = q + k * m;
                double r = 0;
                for (int64_t i = 0; i < m; i++) r += u[i] * v[i];
                for (int64_t i = 0; i < m; i++) v[i] -= r * u[i];
            }
        double nrm = 0;
        for (int64_t i = 0; i < m; i++) nrm += v[i] * v[i];
        nrm = sqrt(nrm);
        if (!(nrm > 1e-12)) { /* a rank-deficient draw: probability zero */
            free(q);
            return glia__err(GLIA_EINVAL, "orthogonal init of '%s': the random matrix is singular",
                             name);
        }
        for (int64_t i = 0; i < m; i++) v[i] /= nrm;
    }
    /* out = Q [m, n] (rows >= cols) or Q^T [n, m] (rows < cols), times gain */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            out[r * cols + c] = (float)(gain * (tr ? q[r * m + c] : q[c * m + r]));
    free(q);
    return GLIA_OK;
}

glia_status glia_init_param(glia_graph *g, int node, glia_init_kind kind, float value,
                            glia_rng *rng) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    glia_node *n = &g->nodes[node];
    if (n->kind != NODE_PARAM)
        return glia__err(GLIA_EINVAL, "glia_init_param: node '%s' is %s, not a parameter", n->name,
                         glia_node_op(g, node));
    if ((int)kind < GLIA_INIT_CONSTANT || (int)kind > GLIA_INIT_PYTORCH)
        return glia__err(GLIA_EINVAL, "glia_init_param: unknown init kind %d for '%s'", (int)kind,
                         n->name);
    if (!isfinite(value))
        return glia__err(GLIA_EINVAL, "glia_init_param: %s init of '%s': value %g is not finite",
                         kind_name(kind), n->name, (double)value);
    float *w = n->val;
    if (!w && g->shapes_only) return GLIA_OK; /* nothing to initialise */
    const int64_t numel = glia__numel(n);
    const glia_shape *sh = &n->shape;
    char buf[96];
    if (kind == GLIA_INIT_CONSTANT) {
        for (int64_t i = 0; i < numel; i++) w[i] = value;
        return GLIA_OK;
    }
    if (!rng && kind != GLIA_INIT_IDENTITY)
        return glia__err(GLIA_EINVAL, "glia_init_param: %s init of '%s' needs an rng (NULL given)",
                         kind_name(kind), n->name);
    const double gain = value == 0.0f ? 1.0 : (double)value;
    switch (kind) {
    case GLIA_INIT_IDENTITY:
        if (sh->ndim != 2 || sh->dim[0] != sh->dim[1])
            return glia__err(GLIA_ESHAPE, "glia_init_param: identity init of '%s' needs a square "
                             "2-D weight, but it has shape %s", n->name,
                             glia_shape_str(sh, buf, sizeof buf));
        memset(w, 0, (size_t)numel * sizeof *w);
        for (int64_t i = 0; i < sh->dim[0]; i++) w[i * sh->dim[0] + i] = (float)gain;
        return GLIA_OK;
    case GLIA_INIT_DELTA_ORTHOGONAL: {
        if (sh->ndim != 4 || sh->dim[0] < sh->dim[1])
            return glia__err(GLIA_ESHAPE, "glia_init_param: delta_orthogonal init of '%s' needs a "
                             "conv weight [out, in, kh, kw] with out >= in, but it has shape %s",
                             n->name, glia_shape_str(sh, buf, sizeof buf));
        const int64_t O = sh->dim[0], I = sh->dim[1], KH = sh->dim[2], KW = sh->dim[3];
        float *m = glia__malloc((size_t)(O * I) * sizeof *m);
        if (!m) return glia__err(GLIA_ENOMEM, "delta_orthogonal init of '%s': out of memory", n->name);
        s = orthogonal(m, O, I, gain, rng, n->name);
        if (s) {
            free(m);
            return s;
        }
        memset(w, 0, (size_t)numel * sizeof *w);
        for (int64_t o = 0; o < O; o++)
            for (int64_t i = 0; i < I; i++)
                w[((o * I + i) * KH + KH / 2) * KW + KW / 2] = m[o * I + i];
        free(m);
        return GLIA_OK;
    }
    default: break;
    }
    if (sh->ndim < 2)
        return glia__err(GLIA_ESHAPE, "glia_init_param: %s init of '%s' needs a weight of rank >= 2 "
                         "([out, in, ...]) to compute fans, but it has shape %s", kind_name(kind),
                         n->name, glia_shape_str(sh, buf, sizeof buf));
    if (kind == GLIA_INIT_ORTHOGONAL) return orthogonal(w, sh->dim[0], numel / sh->dim[0], gain, rng, n->name);
    const double fan_in = (double)(numel / sh->dim[0]), fan_out = (double)(numel / sh->dim[1]);
    switch (kind) {
    case GLIA_INIT_HE_UNIFORM: fill_uniform(w, numel, sqrt(6.0 / fan_in), rng); break;
    case GLIA_INIT_HE_NORMAL: fill_normal(w, numel, sqrt(2.0 / fan_in), rng); break;
    case GLIA_INIT_XAVIER_UNIFORM: fill_uniform(w, numel, sqrt(6.0 / (fan_in + fan_out)), rng); break;
    case GLIA_INIT_XAVIER_NORMAL: fill_normal(w, numel, sqrt(2.0 / (fan_in + fan_out)), rng); break;
    case GLIA_INIT_PYTORCH: fill_uniform(w, numel, 1.0 / sqrt(fan_in), rng); break;
    default: break;
    }
    return GLIA_OK;
}
