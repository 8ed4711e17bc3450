/* pool.h: what pool.c takes from pool_max2x2.c, the AVX-512 forward of 2x2 max pooling with
 * stride 2 and no padding, one [H, W] plane per call (OH = H / 2, OW = W / 2 rounded down): y
 * and the argmax (ih W + iw) of each window, the same bits as pool.c's scalar loops. */
#ifndef GLIA_OPS_POOL_H
#define GLIA_OPS_POOL_H

#include <stdint.h>

/* 1 when the kernel may run: the CPU has AVX-512F and glia__pool_algo is 0 (elsewhere the
 * kernel is empty and never called) */
int glia__max2x2_simd(void);
/* test hook: 0 = the AVX-512 kernel where the CPU has it, and pool.c's values-only path for
 * inference (default); 1 = the scalar scan only */
extern int glia__pool_algo;
void glia__max2x2_forward(const float *x, float *y, int32_t *arg, int W, int OH, int OW);

#endif
