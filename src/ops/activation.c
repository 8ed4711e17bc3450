/* activation.c: elementwise activations, PyTorch's definitions. The output has the input's shape.
 *
 *   relu        y = max(x, 0)                      dx += dy * (y > 0)          (0 at x == 0)
 *   leaky_relu  y = x > 0 ? x : slope x            dx += dy * (y > 0 ? 1 : slope)
 *   elu         y = x > 0 ? x : alpha (e^x - 1)    dx += dy * (y > 0 ? 1 : y + alpha)
 *   sigmoid     y = 1 / (1 + e^-x)                 dx += dy * y (1 - y)
 *   tanh        y = tanh x                         dx += dy * (1 - y^2)
 *   linear      y = x                              dx += dy
 *
 * Attributes: fa[0] = slope (leaky_relu, finite, >= 0), fa[0] = alpha (elu, finite, > 0).
 * Every backward reads only the output (OPF_BWD_OUTPUT), never the input, so the input's buffer
 * can be reused as soon as the forward has run; linear reads neither. Reading the output needs
 * y > 0 <=> x > 0, which is why slope must be >= 0 and alpha > 0 (PyTorch's in-place leaky_relu
 * has the same restriction). At x == 0 the gradients are PyTorch's: relu 0, leaky_relu slope,
 * elu alpha.
 *
 * All six ops share one infer, one forward and one backward, which switch on the op once and
 * run one OpenMP loop over the elements; every element is computed on its own, so the result is
 * bit-exact for any number of threads. */
#include "../core/internal.h"
#include <math.h>
#include <string.h>

enum act_kind { ACT_RELU, ACT_LEAKY_RELU, ACT_ELU, ACT_SIGMOID, ACT_TANH, ACT_LINEAR, ACT_COUNT };

extern const glia_op_def glia__op_relu, glia__op_leaky_relu, glia__op_elu, glia__op_sigmoid,
    glia__op_tanh, glia__op_linear;

static const glia_op_def *const act_defs[ACT_COUNT] = {
    &glia__op_relu, &glia__op_leaky_relu, &glia__op_elu,
    &glia__op_sigmoid, &glia__op_tanh, &glia__op_linear};

static enum act_kind act_kind(const glia_node *n) {
    for (int k = 0; k < ACT_COUNT; k++)
        if (glia__ops[n->op] == act_defs[k]) return (enum act_kind)k;
    return ACT_LINEAR; /* not reached: only the defs above use these functions */
}

/* for every i < count: `body` with the loop index i (one parallel loop per op) */
#define ACT_LOOP(count, body)                                                                     \
    do {                                                                                          \
        int64_t cnt_ = (count);                                                                   \
        _Pragma("omp parallel for schedule(static) if (cnt_ >= GLIA_PAR_MIN)")                     \
        for (int64_t i = 0; i < cnt_; i++) { body; }                                              \
    } while (0)
static glia_status act_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    enum act_kind k = act_kind(n);
    float a = n->fa[0];
    if (k == ACT_LEAKY_RELU && !(isfinite(a) && a >= 0))
        return glia__err(GLIA_EINVAL, "%s: slope is %g; it must be finite and >= 0",
                         glia__where(g, n), (double)a);
    if (k == ACT_ELU && !(isfinite(a) && a > 0))
        return glia__err(GLIA_EINVAL, "%s: alpha is %g; it must be finite and > 0",
                         glia__where(g, n), (double)a);
    n->shape = x->shape;
    n->ws_bytes = n->saved_bytes = 0;
    return GLIA_OK;
}

static glia_status act_forward(glia_graph *g, glia_node *n) {
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
    const float a = n->fa[0];
    int64_t cnt = glia__numel(n);
    switch (act_kind(n)) {
    case ACT_RELU:
        ACT_LOOP(cnt, y[i] = glia__relu(x[i]));
        break;
    case ACT_LEAKY_RELU:
        ACT_LOOP(cnt, y[i] = x[i] > 0 ? x[i] : a * x[i]);
        break;
    case ACT_ELU:
        ACT_LOOP(cnt, y[i] = x[i] > 0 ? x[i] : a * expm1f(x[i]));
        break;
    case ACT_SIGMOID: /* e^x never overflows: the exponent is <= 0 */
        ACT_LOOP(cnt, {
            float e = expf(-fabsf(x[i]));
            y[i] = x[i] >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
        });
        break;
    case ACT_TANH:
        ACT_LOOP(cnt, y[i] = tanhf(x[i]));
        break;
    case ACT_LINEAR:
    default:
        memcpy(y, x, (size_t)cnt * sizeof *y);
        break;
    }
    return GLIA_OK;
}

static void act_backward(glia_graph *g, glia_node *n) {
    float *dx = glia__in(g, n, 0)->grad;
    if (!dx) return;
    const float *y = n->val, *dy = n->grad;
    const float a = n->fa[0];
    int64_t cnt = glia__numel(n);
    switch (act_kind(n)) {
    case ACT_RELU: /* dy read unconditionally: a select, which -O3 vectorises; as a branch it
                    * mispredicted on every other activation (a VGG step's ReLUs: 27.5 ms as
                    * branches, 4.6 ms vectorised) */
        ACT_LOOP(cnt, dx[i] += glia__relu_grad(y[i], dy[i]));
        break;
    case ACT_LEAKY_RELU:
        ACT_LOOP(cnt, dx[i] += y[i] > 0 ? dy[i] : a * dy[i]);
        break;
    case ACT_ELU: /* for x <= 0: d/dx alpha (e^x - 1) = alpha e^x = y + alpha */
        ACT_LOOP(cnt, dx[i] += y[i] > 0 ? dy[i] : dy[i] * (y[i] + a));
        break;
    case ACT_SIGMOID:
        ACT_LOOP(cnt, dx[i] += dy[i] * (1.0f - y[i]) * y[i]);
        break;
    case ACT_TANH:
        ACT_LOOP(cnt, dx[i] += dy[i] * (1.0f - y[i] * y[i]));
        break;
    case ACT_LINEAR:
    default:
        ACT_LOOP(cnt, dx[i] += dy[i]);
        break;
    }
}

#define ACT_DEF(op, summary, flags) \
    const glia_op_def glia__op_##op = {#op, summary, "x[any shape]", "y[same shape]", 1, 1, \
                                       flags, act_infer, act_forward, act_backward};
ACT_DEF(relu, "rectified linear unit: y = max(x, 0)", OPF_BWD_OUTPUT)
ACT_DEF(leaky_relu, "leaky ReLU: y = x > 0 ? x : slope * x (slope >= 0)", OPF_BWD_OUTPUT)
ACT_DEF(elu, "exponential linear unit: y = x > 0 ? x : alpha * (exp(x) - 1)", OPF_BWD_OUTPUT)
ACT_DEF(sigmoid, "logistic sigmoid: y = 1 / (1 + exp(-x))", OPF_BWD_OUTPUT)
ACT_DEF(tanh, "hyperbolic tangent", OPF_BWD_OUTPUT)
ACT_DEF(linear, "identity: y = x", 0)

static glia_status act_add(glia_graph *g, const char *op, const char *name, int x, float attr,
                           int *out) {
    return glia__add_op(g, op, name, 1, &x, NULL, 0, &attr, 1, out);
}

glia_status glia_relu(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, "relu", name, x, 0, out);
}
glia_status glia_leaky_relu(glia_graph *g, const char *name, int x, float slope, int *out) {
    return act_add(g, "leaky_relu", name, x, slope, out);
}
glia_status glia_elu(glia_graph *g, const char *name, int x, float alpha, int *out) {
    return act_add(g, "elu", name, x, alpha, out);
}
glia_status glia_sigmoid(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, "sigmoid", name, x, 0, out);
}
glia_status glia_tanh(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, "tanh", name, x, 0, out);
}
glia_status glia_linear(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, "linear", name, x, 0, out);
}
