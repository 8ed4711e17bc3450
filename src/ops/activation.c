/* activation.c: elementwise activations, PyTorch's definitions. The output has the input's shape.
 *
 *   relu        y = max(x, 0)                      dx += dy * (y > 0)          (0 at x == 0)
 *   relu6       y = min(max(x, 0), 6)              dx += dy * (0 < y < 6)      (0 at 0 and 6)
 *   leaky_relu  y = x > 0 ? x : slope x            dx += dy * (y > 0 ? 1 : slope)
 *   elu         y = x > 0 ? x : alpha (e^x - 1)    dx += dy * (y > 0 ? 1 : y + alpha)
 *   sigmoid     y = 1 / (1 + e^-x)                 dx += dy * y (1 - y)
 *   tanh        y = tanh x                         dx += dy * (1 - y^2)   (glia__tanhf: 3 ulp)
 *   linear      y = x                              dx += dy
 *   sqrt        y = sqrt x                         dx += dy / (2 y)   (x < 0: NaN, x = 0: inf,
 *                                                                      as PyTorch)
 *   hard_sigmoid y = min(max(x + 3, 0), 6) / 6      dx += dy / 6 * (0 < y < 1)  (0 at -3 and 3)
 *   hard_swish  y = x min(max(x + 3, 0), 6) / 6    dx += dy * (x < -3 ? 0 : x < 3 ? x / 3 + 1/2 : 1)
 *   log         y = ln x                           dx += dy / x       (x < 0: NaN, x = 0: -inf)
 *
 * Attributes: leaky_relu's slope (finite, >= 0), elu's alpha (finite, > 0), in n->fa.
 * Every backward but hard_swish's and log's reads only the output (OPF_BWD_OUTPUT), never the
 * input, so the input's buffer can be reused as soon as the forward has run; linear reads neither;
 * hard_swish (not monotonic) and log (dy / x is exact where dy e^-y is not) read the input.
 * hard_sigmoid and hard_swish are PyTorch's (MobileNetV3), their gradients at the kinks too. Reading the output needs
 * y > 0 <=> x > 0, which is why slope must be >= 0 and alpha > 0 (PyTorch's in-place leaky_relu
 * has the same restriction). At x == 0 the gradients are PyTorch's: relu 0, leaky_relu slope,
 * elu alpha; relu6 (MobileNetV2's; PyTorch's hardtanh(0, 6)) 0 at 0 and at 6, as 0 < y < 6 <=>
 * 0 < x < 6.
 *
 * All seven ops share one infer, one forward and one backward, which switch on the op once and
 * run one OpenMP loop over the elements; every element is computed on its own, so the result is
 * bit-exact for any number of threads. */
#include "../core/internal.h"
#include "fast_math.h"
#include <math.h>
#include <string.h>

/* for every i < count: `body` with the loop index i (one parallel loop per op) */
#define ACT_LOOP(count, body)                                                                     \
    do {                                                                                          \
        int64_t cnt_ = (count);                                                                   \
        _Pragma("omp parallel for schedule(static) if (cnt_ >= GLIA_PAR_MIN)")                     \
        for (int64_t i = 0; i < cnt_; i++) { body; }                                              \
    } while (0)
/* tanh by glia__tanhf (fast_math.h), whose loop vectorises: glibc's tanhf goes through expm1f
 * and took 7.6 ns an element (the G2P decoder's attentional layer spent 4% of a training step
 * there). Compiled for the baseline and for AVX-512; the same polynomial, so one result. */
enum { TANH_BLOCK = 4096 };
#define TANH_DEF(name, attr)                                                                      \
    attr static void name(const float *x, float *y, int n) {                                     \
        for (int i = 0; i < n; i++) y[i] = glia__tanhf(x[i]);                                    \
    }
TANH_DEF(tanh_block, )
TANH_DEF(tanh_block_avx512, GLIA_AVX512)

static glia_status act_infer(glia_graph *g, glia_node *n) {
    n->shape = glia__in(g, n, 0)->shape;
    n->ws_bytes = n->saved_bytes = 0;
    return GLIA_OK;
}

static glia_status act_forward(glia_graph *g, glia_node *n) {
    const float *x = glia__in(g, n, 0)->val;
    float *y = n->val;
    const float slope = n->fa[LEAKY_RELU_SLOPE], alpha = n->fa[ELU_ALPHA];
    int64_t cnt = glia__numel(n);
    switch (n->op) {
    case GLIA_OP_relu:
        ACT_LOOP(cnt, y[i] = glia__relu(x[i]));
        break;
    case GLIA_OP_relu6: /* a NaN stays NaN, as in relu */
        ACT_LOOP(cnt, y[i] = x[i] > 6.0f ? 6.0f : glia__relu(x[i]));
        break;
    case GLIA_OP_leaky_relu:
        ACT_LOOP(cnt, y[i] = x[i] > 0 ? x[i] : slope * x[i]);
        break;
    case GLIA_OP_elu:
        ACT_LOOP(cnt, y[i] = x[i] > 0 ? x[i] : alpha * expm1f(x[i]));
        break;
    case GLIA_OP_sigmoid: /* e^x never overflows: the exponent is <= 0 */
        ACT_LOOP(cnt, {
            float e = expf(-fabsf(x[i]));
            y[i] = x[i] >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
        });
        break;
    case GLIA_OP_tanh: { /* blocks of TANH_BLOCK elements, each in one vectorised call */
        void (*f)(const float *, float *, int) = glia__cpu_avx512f() ? tanh_block_avx512 : tanh_block;
        int64_t blocks = (cnt + TANH_BLOCK - 1) / TANH_BLOCK;
        ACT_LOOP(blocks, {
            int64_t o = i * TANH_BLOCK;
            f(x + o, y + o, (int)(cnt - o < TANH_BLOCK ? cnt - o : TANH_BLOCK));
        });
        break;
    }
    case GLIA_OP_sqrt:
        ACT_LOOP(cnt, y[i] = sqrtf(x[i]));
        break;
    case GLIA_OP_hard_sigmoid: /* as PyTorch: relu6(x + 3) / 6 */
        ACT_LOOP(cnt, {
            float t = x[i] + 3.0f;
            y[i] = (t > 6.0f ? 6.0f : glia__relu(t)) / 6.0f;
        });
        break;
    case GLIA_OP_hard_swish:
        ACT_LOOP(cnt, {
            float t = x[i] + 3.0f;
            y[i] = x[i] * (t > 6.0f ? 6.0f : glia__relu(t)) / 6.0f;
        });
        break;
    case GLIA_OP_log:
        ACT_LOOP(cnt, y[i] = logf(x[i]));
        break;
    case GLIA_OP_linear:
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
    const float slope = n->fa[LEAKY_RELU_SLOPE], alpha = n->fa[ELU_ALPHA];
    int64_t cnt = glia__numel(n);
    switch (n->op) {
    case GLIA_OP_relu: /* dy read unconditionally: a select, which -O3 vectorises; as a branch it
                    * mispredicted on every other activation (a VGG step's ReLUs: 27.5 ms as
                    * branches, 4.6 ms vectorised) */
        ACT_LOOP(cnt, dx[i] += glia__relu_grad(y[i], dy[i]));
        break;
    case GLIA_OP_relu6:
        ACT_LOOP(cnt, dx[i] += y[i] > 0 && y[i] < 6.0f ? dy[i] : 0.0f);
        break;
    case GLIA_OP_leaky_relu:
        ACT_LOOP(cnt, dx[i] += y[i] > 0 ? dy[i] : slope * dy[i]);
        break;
    case GLIA_OP_elu: /* for x <= 0: d/dx alpha (e^x - 1) = alpha e^x = y + alpha */
        ACT_LOOP(cnt, dx[i] += y[i] > 0 ? dy[i] : dy[i] * (y[i] + alpha));
        break;
    case GLIA_OP_sigmoid:
        ACT_LOOP(cnt, dx[i] += dy[i] * (1.0f - y[i]) * y[i]);
        break;
    case GLIA_OP_tanh:
        ACT_LOOP(cnt, dx[i] += dy[i] * (1.0f - y[i] * y[i]));
        break;
    case GLIA_OP_sqrt:
        ACT_LOOP(cnt, dx[i] += dy[i] * 0.5f / y[i]);
        break;
    case GLIA_OP_hard_sigmoid:
        ACT_LOOP(cnt, dx[i] += y[i] > 0 && y[i] < 1.0f ? dy[i] / 6.0f : 0.0f);
        break;
    case GLIA_OP_hard_swish: {
        const float *x = glia__in(g, n, 0)->val;
        ACT_LOOP(cnt, dx[i] += x[i] < -3.0f ? 0.0f : x[i] < 3.0f ? dy[i] * (x[i] / 3.0f + 0.5f) : dy[i]);
        break;
    }
    case GLIA_OP_log: {
        const float *x = glia__in(g, n, 0)->val;
        ACT_LOOP(cnt, dx[i] += dy[i] / x[i]);
        break;
    }
    case GLIA_OP_linear:
    default:
        ACT_LOOP(cnt, dx[i] += dy[i]);
        break;
    }
}

static const glia_attr_def leaky_relu_attrs[] = {
    GLIA_ATTR_F("slope", LEAKY_RELU_SLOPE, 0.01, 0, HUGE_VAL, 0)};
static const glia_attr_def elu_attrs[] = {
    GLIA_ATTR_F("alpha", ELU_ALPHA, 1.0, 0, HUGE_VAL, GLIA_ATTR_OPEN_MIN)};

/* attrs: GLIA_ATTRS(...) or .attrs = NULL */
#define ACT_DEF(op, what, fl, attr_tab)                                                           \
    const glia_op_def glia__op_##op = {                                                           \
        .name = #op, .summary = what, .inputs = "x[any shape]", .outputs = "y[same shape]",       \
        .min_in = 1, .max_in = 1, .flags = fl, .infer = act_infer, .forward = act_forward,        \
        .backward = act_backward, attr_tab};
ACT_DEF(relu, "rectified linear unit: y = max(x, 0)", OPF_BWD_OUTPUT, .attrs = NULL)
ACT_DEF(relu6, "ReLU capped at 6 (MobileNetV2): y = min(max(x, 0), 6)", OPF_BWD_OUTPUT, .attrs = NULL)
ACT_DEF(leaky_relu, "leaky ReLU: y = x > 0 ? x : slope * x (slope >= 0)", OPF_BWD_OUTPUT,
        GLIA_ATTRS(leaky_relu_attrs))
ACT_DEF(elu, "exponential linear unit: y = x > 0 ? x : alpha * (exp(x) - 1)", OPF_BWD_OUTPUT,
        GLIA_ATTRS(elu_attrs))
ACT_DEF(sigmoid, "logistic sigmoid: y = 1 / (1 + exp(-x))", OPF_BWD_OUTPUT, .attrs = NULL)
ACT_DEF(tanh, "hyperbolic tangent", OPF_BWD_OUTPUT, .attrs = NULL)
ACT_DEF(linear, "identity: y = x", 0, .attrs = NULL)
ACT_DEF(sqrt, "square root: y = sqrt(x) (a layer norm's, ONNX Sqrt)", OPF_BWD_OUTPUT, .attrs = NULL)
ACT_DEF(hard_sigmoid, "hard sigmoid (MobileNetV3): y = min(max(x + 3, 0), 6) / 6", OPF_BWD_OUTPUT, .attrs = NULL)
ACT_DEF(hard_swish, "hard swish (MobileNetV3): y = x min(max(x + 3, 0), 6) / 6", OPF_BWD_INPUTS, .attrs = NULL)
ACT_DEF(log, "natural logarithm: y = ln(x) (ONNX Log: Silero VAD's log spectrum)", OPF_BWD_INPUTS, .attrs = NULL)

static glia_status act_add(glia_graph *g, glia_op_id op, const char *name, int x, int *out) {
    return glia__add_op(g, op, name, 1, &x, NULL, 0, NULL, 0, out);
}

glia_status glia_relu(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_relu, name, x, out);
}
glia_status glia_relu6(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_relu6, name, x, out);
}
glia_status glia_leaky_relu(glia_graph *g, const char *name, int x, float slope, int *out) {
    return glia__add_op(g, GLIA_OP_leaky_relu, name, 1, &x, NULL, 0, &slope, 1, out);
}
glia_status glia_elu(glia_graph *g, const char *name, int x, float alpha, int *out) {
    return glia__add_op(g, GLIA_OP_elu, name, 1, &x, NULL, 0, &alpha, 1, out);
}
glia_status glia_sigmoid(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_sigmoid, name, x, out);
}
glia_status glia_tanh(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_tanh, name, x, out);
}
glia_status glia_sqrt(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_sqrt, name, x, out);
}
glia_status glia_hard_sigmoid(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_hard_sigmoid, name, x, out);
}
glia_status glia_hard_swish(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_hard_swish, name, x, out);
}
glia_status glia_log(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_log, name, x, out);
}
glia_status glia_linear(glia_graph *g, const char *name, int x, int *out) {
    return act_add(g, GLIA_OP_linear, name, x, out);
}
