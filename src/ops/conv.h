/* conv.h: what conv2d.c (im2col + GEMM) and conv_direct.c (direct, stride 1) share: the
 * geometry of one conv node and the direct path's entry points. */
#ifndef GLIA_OPS_CONV_H
#define GLIA_OPS_CONV_H

#include <stddef.h>
#include <stdint.h>

/* geometry of one conv node, read from its inputs and attributes */
typedef struct {
    int N, C, H, W, O, kh, kw, OH, OW;
    int sh, sw, pt, pb, pl, pr, dh, dw, G;
    int Cg, Og, K;  /* per group: input channels, output channels, K = Cg kh kw */
    int P;          /* OH OW */
    int fast;       /* 1x1, stride 1, no padding: no im2col */
    int nb;         /* images whose columns share the workspace at once (chunk_images) */
} conv_geom;

/* The weight gradient is summed per fixed group of this many images (each group into its own
 * partial, partials added in group order), on both paths: the bits of dw then depend on the
 * shapes only, not on the number of threads. */
#define DW_GROUP 4

/* The column matrix of nb images (conv2d.c), and its adjoint. c needs C, H, W, kh, kw, OH, OW,
 * the strides, pad_top, pad_left and dilations (OH, OW need not follow from the others: the
 * transposed convolution runs them with x and y swapped). im2col:
 *   col[(ch kh + i) kw + j][oh OW + ow] = x[ch][oh sh - pt + i dh][ow sw - pl + j dw] (0 outside)
 * col2im_add adds each col element back into dx at the place im2col read it from. */
void glia__conv_im2col(const conv_geom *c, const float *x, int nb, float *col);
void glia__conv_col2im_add(const conv_geom *c, const float *col, int nb, float *dx);

/* Direct convolution (conv_direct.c). ok: the node takes the direct path (stride 1, dilation
 * 1, one group, not 1x1, and glia__conv_algo allows it); ws: its workspace
 * in bytes; forward writes y (+ bias, then glia__act(., act)); backward adds into dx, dw and db (any may be NULL; db only with dw:
 * summed while dy is packed for dw, no pass of its own); relu_y (or NULL): a fused ReLU's
 * output, by which each image's dy is first masked in place (glia__act_grad(relu_y, dy, act)). */
int glia__conv_direct_ok(const conv_geom *c);
/* test hook: 0 = the path by shape, widest kernels the CPU has (default); 1 = im2col + GEMM
 * only; 2 = direct kernels no wider than AVX2; 3 = direct kernels in plain C vectors */
extern int glia__conv_algo;
size_t glia__conv_direct_ws(const conv_geom *c);
void glia__conv_direct_forward(const conv_geom *c, const float *x, const float *w,
                               const float *bias, int act, float *y, float *ws);
void glia__conv_direct_backward(const conv_geom *c, const float *x, const float *w, float *dy,
                                const float *relu_y, int act, float *dx, float *dw, float *db,
                                float *ws);

/* Depthwise convolution's forward (conv_depthwise.c): one input channel per group (G > 1, any
 * stride, padding, dilation, channel multiplier), unless glia__conv_algo is 1; ws: its
 * workspace in bytes; forward writes y (+ bias, then glia__act(., act)). */
int glia__conv_dw_ok(const conv_geom *c);
size_t glia__conv_dw_ws(const conv_geom *c);
void glia__conv_dw_forward(const conv_geom *c, const float *x, const float *w, const float *bias,
                           int act, float *y, float *ws);

/* dy of one image ([O][P]) transposed to dk[p Ot + o] for the dwt kernel, and, if dbl, the bias
 * gradient's lanes: dbl[o][*] gets the adds of glia__lanes_sum(dbl + o GLIA_LANES, dy + o P, P).
 * avx512: by 16 x 16 blocks in registers (the CPU must have AVX-512F); else element by element
 * (conv_dyt.c). */
void glia__conv_dyt(const float *dy, int O, int P, int Ot, float *dk, double *dbl, int avx512);

/* batchnorm.c: batch norm bn's running statistics folded into weights w [O][K] and bias b (or
 * NULL): wf [O][K], bf [O] (compile.c's fold_batchnorm) */
struct glia_graph;
struct glia_node;
void glia__bn_fold(struct glia_graph *g, const struct glia_node *bn, const float *w,
                   const float *b, int O, int64_t K, float *wf, float *bf);

#endif
