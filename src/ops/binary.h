/* binary.h: what binarize.c, binary_conv.c, conv2d.c, dense.c and the packed weights file share:
 * the scale of a slice, and the XNOR / popcount kernels over packed bits.
 *
 * The kernels' bit layout (the packed weights file has its own, src/io/packed.c): bit b of word
 * k holds element 64 k + b, 1 for +1 (a value >= 0), 0 for -1; bits past the end are 0.
 * Activations x[N, C, H, W] are packed per pixel, channels innermost:
 *   xp[((n H + h) W + w) Wd + k], Wd = ceil(C / 64) words per pixel;
 * weights w[O, C, kh, kw] per kernel tap, output channels innermost (the vector lanes):
 *   wq[((i kw + j) Wd + k) Op + o], Op = O rounded up to 8 (extra channels 0).
 * For ±1 vectors a, b of length K, a . b = K - 2 popcount(a XOR b); a conv output sums that over
 * the taps inside the image only (zero padding adds nothing), K = C per tap, so
 *   y[n, o, p] = s_n alpha_o (C T_p - 2 sum popcount) + b_o,   T_p = the valid taps at p. */
#ifndef GLIA_OPS_BINARY_H
#define GLIA_OPS_BINARY_H

#include <stddef.h>
#include <stdint.h>

/* mean |x_i| over m values, summed in double in order */
double glia__binary_scale(const float *x, int64_t m);

/* one XNOR convolution (dense: H = W = kh = kw = 1, C = K features) */
typedef struct {
    int N, C, H, W, O, kh, kw, OH, OW, sh, sw, pt, pl;
} xnor_geom;

/* test hook, as glia__conv_algo: 0 = the widest kernels this CPU has (AVX-512 VPOPCNTDQ, AVX2,
 * plain C), 1 = off (conv2d and dense multiply the binarized floats), 2 = no wider than AVX2,
 * 3 = plain C */
extern int glia__xnor_algo;
/* the kernel glia__xnor_dots uses now: "avx512-vpopcntdq", "avx2" or "generic" */
const char *glia__xnor_kernel_name(void);

static inline int glia__xnor_words(int C) { return (C + 63) / 64; }
static inline int glia__xnor_opad(int O) { return (O + 7) / 8 * 8; }

/* An operand as the kernels read it: the output of its binarize node, every value of slice g
 * (a sample, a filter) +-s_g; or, where compile.c folded that binarize into its XNOR consumers
 * (GLIA_DEVICE_FOLD_BINARIZE, inference: nothing else reads its output), the binarize's input,
 * whose signs and scales s_g = mean |v_g| (binarize.c's glia__binary_scale, the same bits; 1
 * when unscaled) are taken while packing: no float pass writing +-s_g. */
typedef struct {
    const float *v;
    int raw;    /* v is the binarize's input */
    int scaled; /* raw: s_g = mean |v_g| (else 1) */
} xnor_operand;

/* xp from x (one bit per value, the layout above) and scale[n] = s_n */
void glia__xnor_pack_acts(const xnor_geom *q, xnor_operand x, uint64_t *xp, float *scale);
/* wq and alpha[o] from w, the same way */
void glia__xnor_pack_weights(const xnor_geom *q, xnor_operand w, uint64_t *wq, float *alpha);
/* dots[o P + p] = the ±1 dot product of image n's receptive field at p with filter o (exact
 * integers; the layout above), P = OH OW */
void glia__xnor_dots(const xnor_geom *q, const uint64_t *xp, const uint64_t *wq, int n,
                     int32_t *dots);
/* the workspace of glia__xnor_forward: packed x and w, scales, dots */
size_t glia__xnor_ws(const xnor_geom *q);
/* Packed weights kept from one forward to the next (inference, a folded binarize of a
 * parameter): the packed bits and scales, and the float weights they were packed from, compared
 * with the parameter on each forward (memcmp: a weight changed by any means repacks them). Its
 * memory: glia__xnor_cache_bytes, zeroed = empty (compile.c places it in the saved block). */
size_t glia__xnor_cache_bytes(const xnor_geom *q);
/* y[N, O, OH, OW] = s_n alpha_o dots + bias (bias may be NULL), then max(., 0) if relu; cache:
 * NULL, or the packed weights of w (raw) kept as above */
void glia__xnor_forward(const xnor_geom *q, xnor_operand x, xnor_operand w, const float *bias,
                        int relu, float *y, void *ws, void *cache);

/* node n (conv2d, dense; its shape inferred) runs on bits: both operands are binarize nodes (and
 * for conv2d: one group, no dilation, a kernel of at most 121 taps); fills *q. 0: floats. */
struct glia_node;
struct glia_graph;
int glia__xnor_node(const struct glia_graph *g, const struct glia_node *n, xnor_geom *q);
/* glia__xnor_node, and n's workspace holds glia__xnor_ws: its forward runs on bits */
int glia__xnor_runs(const struct glia_graph *g, const struct glia_node *n, xnor_geom *q);
/* conv2d's and dense's forward on bits, where glia__xnor_runs (else 0: the caller computes in
 * floats): reads its operands, folded or not, and its weight cache (n->cache) */
int glia__xnor_node_forward(struct glia_graph *g, struct glia_node *n, const float *bias, int relu,
                            float *y);

#endif
