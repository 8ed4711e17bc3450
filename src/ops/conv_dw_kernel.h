/* conv_dw_kernel.h: the depthwise convolution's plane kernel (conv_depthwise.c): the padded
 * copy, then the inner loop, written once and compiled once per instruction set:
 * conv_depthwise.c includes this file with
 *   VW       floats per vector;  KSUF  the set's suffix;  KTARGET  its target attribute (or none)
 * (undefined again at the end). One output plane from its padded, phase-split input plane xp
 * (conv_depthwise.c's header): output row oh, tap (i, j) reads
 *   xp + (oh sh + i dh) rs + ph[j] Lph + q[j] + ow          (ph, q: the tap's phase and offset)
 * contiguous in ow whatever the stride, so a block of NB vectors of a row sums its kh kw taps
 * in registers and is stored once, with the bias and activation. Rows of xp are long enough for
 * whole vectors past OW; the lanes past OW are dropped. */

#define KCAT_(a, b) a##_##b
#define KCAT(a, b) KCAT_(a, b)
#define KFN(f) KCAT(f, KSUF)
#define NB 4 /* vectors per block (4 accumulators, a broadcast and a load in registers) */

typedef float KFN(dwvec) __attribute__((vector_size(VW * sizeof(float))));

/* n lanes (n <= VW) of vector v, plus bias b, through the activation, to y */
KTARGET static inline void KFN(dw_store)(KFN(dwvec) v, float b, int act, float *y, int n) {
    float t[VW];
    memcpy(t, &v, sizeof t);
    for (int l = 0; l < n; l++) y[l] = glia__act(t[l] + b, act);
}

KTARGET static void KFN(dw_plane)(const conv_geom *c, const dw_geom *d, const float *x,
                                  float *xp, const dw_taps *tp, const float *w, float b, int act,
                                  float *y) {
    typedef KFN(dwvec) vec;
    const int kk = tp->kk, OH = c->OH, OW = c->OW;
    pad_plane(c, d, x, xp);
    vec wb[DW_MAX_TAPS];
    for (int t = 0; t < kk; t++)
        for (int l = 0; l < VW; l++) wb[t][l] = w[t];
    for (int oh = 0; oh < OH; oh++) {
        const float *row = xp + (size_t)oh * tp->row_step;
        float *yr = y + (size_t)oh * OW;
        int ow = 0;
        for (; ow + NB * VW <= OW; ow += NB * VW) {
            vec acc[NB] = {{0}};
            for (int t = 0; t < kk; t++) {
                const float *s = row + tp->off[t] + ow;
                for (int v = 0; v < NB; v++) {
                    vec xv;
                    memcpy(&xv, s + v * VW, sizeof xv);
                    acc[v] += wb[t] * xv;
                }
            }
            for (int v = 0; v < NB; v++) KFN(dw_store)(acc[v], b, act, yr + ow + v * VW, VW);
        }
        for (; ow < OW; ow += VW) { /* the rest, a vector at a time (the last one partly) */
            vec acc = {0};
            for (int t = 0; t < kk; t++) {
                vec xv;
                memcpy(&xv, row + tp->off[t] + ow, sizeof xv);
                acc += wb[t] * xv;
            }
            KFN(dw_store)(acc, b, act, yr + ow, OW - ow < VW ? OW - ow : VW);
        }
    }
}

#undef NB
#undef KFN
#undef KCAT
#undef KCAT_
#undef KSUF
#undef KTARGET
#undef VW
