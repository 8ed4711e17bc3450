/* binary_conv.c: XNOR convolution and dense on packed bits (XNOR-Net, Rastegari et al. 2016),
 * the layout and formula in binary.h. conv2d.c and dense.c call glia__xnor_forward when both
 * operands of the node are binarize nodes (binarize.c): their values are then +-s, one bit each
 * and a scale, and the product of 64 pairs is one XOR and one popcount instead of 64 multiplies.
 *
 * Kernels, picked at run time as conv_direct.c's are (glia builds without -march):
 *   avx512-vpopcntdq  8 output channels per 512-bit vector, _mm512_popcnt_epi64;
 *   avx2              4 per 256-bit vector, popcount by nibble lookup (vpshufb) and vpsadbw
 *                     (Mula, Kurz and Lemire 2018);
 *   generic           __builtin_popcountll per word.
 * All give the same integers (tests/test_binary.c checks them against plain loops). Threads:
 * tiles of output rows of one image split in fixed chunks, every sum an integer: bit-exact for any
 * thread count.
 * Where the time went (glia-bench binary, a 64 -> 64 3x3 layer on 14x14, batch 64; perf): the
 * popcounts are 9 taps x 8 vectors per output position, a fraction of the layer; the first
 * version spent more on packing the input channel by channel (a read-modify-write of memory per
 * value) and on writing the float outputs channel by channel across a whole row (a store to a
 * different cache line per value). Now: activations are packed 8 pixels at a time (AVX-512: one
 * compare per 8 values, the bits or-ed in under its mask), and outputs are computed for a tile
 * of rows as counts with channels innermost, then 16 positions x 16 channels at a time
 * transposed in registers (AVX-512) and scaled into y[n, o, :], whole cache lines.
 * Packing stays branch-free: the signs are random, a branch per value mispredicted every other
 * time (8x slower). */
#include "../core/internal.h"
#include "binary.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86_POPCNT_SETS 1
#endif

int glia__xnor_algo = 0;

/* up to this many kernel taps (kh kw) per output position; larger kernels stay in floats */
#define XNOR_MAX_TAPS 121

/* acc[o] = sum over taps t < nt and words k < Wd of popcount(xb[xo[t] + k] ^ wt[t][k ld + o]), for
 * o < no (a multiple of 8), with a[t] = xb + xo[t] (the tap's activation words) */
typedef void (*counts_fn)(const uint64_t *xb, const int64_t *xo, const uint64_t *const *wt, int nt,
                          int Wd, int ld, int no, int32_t *acc);

static void counts_generic(const uint64_t *xb, const int64_t *xo, const uint64_t *const *wt, int nt,
                           int Wd, int ld, int no, int32_t *acc) {
    for (int o = 0; o < no; o++) acc[o] = 0;
    for (int t = 0; t < nt; t++)
        for (int k = 0; k < Wd; k++) {
            const uint64_t av = xb[xo[t] + k], *row = wt[t] + (size_t)k * ld;
            for (int o = 0; o < no; o++) acc[o] += (int32_t)__builtin_popcountll(av ^ row[o]);
        }
}

#ifdef HAVE_X86_POPCNT_SETS
__attribute__((target("avx512f,avx512vpopcntdq"))) static void
counts_avx512(const uint64_t *xb, const int64_t *xo, const uint64_t *const *wt, int nt, int Wd,
              int ld, int no, int32_t *acc) {
    int ob = 0;
    for (; ob + 64 <= no; ob += 64) { /* eight accumulators: one broadcast per 64 channels */
        __m512i s[8];
        for (int v = 0; v < 8; v++) s[v] = _mm512_setzero_si512();
        for (int t = 0; t < nt; t++)
            for (int k = 0; k < Wd; k++) {
                const __m512i av = _mm512_set1_epi64((long long)xb[xo[t] + k]);
                const uint64_t *row = wt[t] + (size_t)k * ld + ob;
                for (int v = 0; v < 8; v++)
                    s[v] = _mm512_add_epi64(s[v], _mm512_popcnt_epi64(_mm512_xor_si512(av, _mm512_loadu_si512(row + 8 * v))));
            }
        for (int v = 0; v < 8; v++)
            _mm256_storeu_si256((__m256i *)(acc + ob + 8 * v), _mm512_cvtepi64_epi32(s[v]));
    }
    for (; ob + 32 <= no; ob += 32) { /* four independent accumulators */
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
        for (int t = 0; t < nt; t++)
            for (int k = 0; k < Wd; k++) {
                const __m512i av = _mm512_set1_epi64((long long)xb[xo[t] + k]);
                const uint64_t *row = wt[t] + (size_t)k * ld + ob;
                s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_xor_si512(av, _mm512_loadu_si512(row))));
                s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(_mm512_xor_si512(av, _mm512_loadu_si512(row + 8))));
                s2 = _mm512_add_epi64(s2, _mm512_popcnt_epi64(_mm512_xor_si512(av, _mm512_loadu_si512(row + 16))));
                s3 = _mm512_add_epi64(s3, _mm512_popcnt_epi64(_mm512_xor_si512(av, _mm512_loadu_si512(row + 24))));
            }
        _mm256_storeu_si256((__m256i *)(acc + ob), _mm512_cvtepi64_epi32(s0));
        _mm256_storeu_si256((__m256i *)(acc + ob + 8), _mm512_cvtepi64_epi32(s1));
        _mm256_storeu_si256((__m256i *)(acc + ob + 16), _mm512_cvtepi64_epi32(s2));
        _mm256_storeu_si256((__m256i *)(acc + ob + 24), _mm512_cvtepi64_epi32(s3));
    }
    for (; ob < no; ob += 8) {
        __m512i s = _mm512_setzero_si512();
        for (int t = 0; t < nt; t++)
            for (int k = 0; k < Wd; k++) {
                const __m512i av = _mm512_set1_epi64((long long)xb[xo[t] + k]);
                const __m512i wv = _mm512_loadu_si512(wt[t] + (size_t)k * ld + ob);
                s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_xor_si512(av, wv)));
            }
        _mm256_storeu_si256((__m256i *)(acc + ob), _mm512_cvtepi64_epi32(s));
    }
}

/* popcount of each 64-bit lane: per-nibble counts by table lookup, summed per lane by vpsadbw */
__attribute__((target("avx2"))) static inline __m256i popcnt256(__m256i v) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                         2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i m = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, m), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
    __m256i c = _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
    return _mm256_sad_epu8(c, _mm256_setzero_si256());
}

__attribute__((target("avx2"))) static void counts_avx2(const uint64_t *xb, const int64_t *xo,
                                                        const uint64_t *const *wt, int nt, int Wd,
                                                        int ld, int no, int32_t *acc) {
    for (int ob = 0; ob < no; ob += 8) {
        __m256i s0 = _mm256_setzero_si256(), s1 = s0;
        for (int t = 0; t < nt; t++)
            for (int k = 0; k < Wd; k++) {
                const __m256i av = _mm256_set1_epi64x((long long)xb[xo[t] + k]);
                const uint64_t *row = wt[t] + (size_t)k * ld + ob;
                s0 = _mm256_add_epi64(s0, popcnt256(_mm256_xor_si256(av, _mm256_loadu_si256((const __m256i *)row))));
                s1 = _mm256_add_epi64(s1, popcnt256(_mm256_xor_si256(av, _mm256_loadu_si256((const __m256i *)(row + 4)))));
            }
        int64_t l[8]; /* counts <= 2^31: each fits an int32 */
        _mm256_storeu_si256((__m256i *)l, s0);
        _mm256_storeu_si256((__m256i *)(l + 4), s1);
        for (int i = 0; i < 8; i++) acc[ob + i] = (int32_t)l[i];
    }
}
#endif

static counts_fn pick(const char **name) {
#ifdef HAVE_X86_POPCNT_SETS
    __builtin_cpu_init();
    if (glia__xnor_algo < 2 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vpopcntdq")) {
        *name = "avx512-vpopcntdq";
        return counts_avx512;
    }
    if (glia__xnor_algo < 3 && __builtin_cpu_supports("avx2")) {
        *name = "avx2";
        return counts_avx2;
    }
#endif
    *name = "generic";
    return counts_generic;
}

const char *glia__xnor_kernel_name(void) {
    const char *name;
    pick(&name);
    return name;
}

/* the words of pixels [p0, p1) of one image, plain C: per pixel, its channels' signs in a
 * register (no read-modify-write of memory per channel) */
static void pack_pixels_generic(const float *xn, int C, int64_t HW, int Wd, int64_t p0, int64_t p1,
                                uint64_t *pn) {
    for (int64_t p = p0; p < p1; p++)
        for (int k = 0; k < Wd; k++) {
            const int c1 = C < 64 * (k + 1) ? C : 64 * (k + 1);
            uint64_t v = 0;
            for (int c = 64 * k; c < c1; c++) /* no branch: the signs are random, a branch
                                               * mispredicted every other value */
                v |= (uint64_t)!(xn[(size_t)c * HW + p] < 0) << (c % 64);
            pn[p * Wd + k] = v;
        }
}

#ifdef HAVE_X86_POPCNT_SETS
/* 8 pixels at a time, one per 64-bit lane: per channel c, one compare of 8 floats gives a mask,
 * and the masked lanes get bit c (3 instructions per 8 values instead of ~4 per value) */
__attribute__((target("avx512f,avx512vl"))) static int64_t
pack_pixels_avx512(const float *xn, int C, int64_t HW, int Wd, uint64_t *pn) {
    int64_t p = 0;
    for (; p + 8 <= HW; p += 8)
        for (int k = 0; k < Wd; k++) {
            const int c1 = C < 64 * (k + 1) ? C : 64 * (k + 1);
            __m512i v = _mm512_setzero_si512();
            for (int c = 64 * k; c < c1; c++) {
                __mmask8 m = _mm256_cmp_ps_mask(_mm256_loadu_ps(xn + (size_t)c * HW + p),
                                                _mm256_setzero_ps(), _CMP_NLT_UQ); /* !(x < 0) */
                v = _mm512_mask_or_epi64(v, m, v, _mm512_set1_epi64((long long)(1ULL << (c % 64))));
            }
            if (Wd == 1) {
                _mm512_storeu_si512(pn + p, v);
            } else {
                uint64_t l[8];
                _mm512_storeu_si512(l, v);
                for (int i = 0; i < 8; i++) pn[(p + i) * Wd + k] = l[i];
            }
        }
    return p;
}
#endif

/* s_g of an operand's slice v[0, m): binarize.c's, the same bits */
static float slice_scale(const xnor_operand *op, const float *v, int64_t m) {
    if (!op->raw) return v[0] < 0 ? -v[0] : v[0];
    return op->scaled ? (float)glia__binary_scale(v, m) : 1.0f;
}

#ifdef HAVE_X86_POPCNT_SETS
/* glia__binary_scale of k <= 4 slices x[j m, (j + 1) m) at once, the same bits: lane i of
 * sample j's vector is its partial sum s[i] of binarize.c (elements i mod 4, in order), the
 * tail into s[0], then ((s0 + s1) + (s2 + s3)) / m. One slice alone is a chain of dependent
 * adds (their latency, not the loads, set its speed); four slices are four chains at once. */
__attribute__((target("avx2"))) static void scales4(const float *x, int64_t m, int k,
                                                    float *out) {
    const __m128 mag = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    __m256d s[4];
    const float *p[4];
    for (int j = 0; j < 4; j++) s[j] = _mm256_setzero_pd(), p[j] = x + (size_t)(j < k ? j : 0) * m;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4)
        for (int j = 0; j < 4; j++)
            s[j] = _mm256_add_pd(s[j], _mm256_cvtps_pd(_mm_and_ps(_mm_loadu_ps(p[j] + i), mag)));
    for (int j = 0; j < k; j++) {
        double l[4];
        _mm256_storeu_pd(l, s[j]);
        for (int64_t t = i; t < m; t++) l[0] += fabs((double)p[j][t]);
        out[j] = m ? (float)(((l[0] + l[1]) + (l[2] + l[3])) / (double)m) : 0.0f;
    }
}
#endif

/* the scales of the k slices of m values from v (k <= 4) */
static void scales_of(const xnor_operand *op, const float *v, int64_t m, int k, float *out) {
#ifdef HAVE_X86_POPCNT_SETS
    if (op->raw && op->scaled && glia__xnor_algo < 3 && __builtin_cpu_supports("avx2")) {
        scales4(v, m, k, out);
        return;
    }
#endif
    for (int j = 0; j < k; j++) out[j] = slice_scale(op, v + (size_t)j * m, m);
}

void glia__xnor_pack_acts(const xnor_geom *q, xnor_operand x, uint64_t *xp, float *scale) {
    const int Wd = glia__xnor_words(q->C);
    const int64_t HW = (int64_t)q->H * q->W, m = q->C * HW;
    int wide = 0;
#ifdef HAVE_X86_POPCNT_SETS
    __builtin_cpu_init();
    wide = glia__xnor_algo < 3 && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512vl");
#endif
    /* four samples at a time: their scales (scales4), then their bits, from the cache */
#pragma omp parallel for schedule(static) if ((int64_t)q->N * q->C * HW >= GLIA_PAR_MIN)
    for (int n0 = 0; n0 < q->N; n0 += 4) {
        const int k = q->N - n0 < 4 ? q->N - n0 : 4;
        scales_of(&x, x.v + (size_t)n0 * m, m, k, scale + n0);
        for (int n = n0; n < n0 + k; n++) {
            const float *xn = x.v + (size_t)n * m;
            uint64_t *pn = xp + (size_t)n * HW * Wd;
            int64_t p = 0;
#ifdef HAVE_X86_POPCNT_SETS
            if (wide) p = pack_pixels_avx512(xn, q->C, HW, Wd, pn);
#endif
            (void)wide;
            pack_pixels_generic(xn, q->C, HW, Wd, p, HW, pn);
        }
    }
}

void glia__xnor_pack_weights(const xnor_geom *q, xnor_operand w, uint64_t *wq, float *alpha) {
    const int Wd = glia__xnor_words(q->C), Op = glia__xnor_opad(q->O), T = q->kh * q->kw;
    memset(wq, 0, sizeof *wq * (size_t)T * Wd * Op);
    for (int o = 0; o < q->O; o++) {
        const float *wo = w.v + (size_t)o * q->C * T;
        for (int c = 0; c < q->C; c++)
            for (int t = 0; t < T; t++) /* no branch, as in glia__xnor_pack_acts */
                wq[((size_t)t * Wd + c / 64) * Op + o] |= (uint64_t)!(wo[(size_t)c * T + t] < 0)
                                                          << (c % 64);
        alpha[o] = slice_scale(&w, wo, (int64_t)q->C * T);
    }
}

/* the valid taps of output (oh, ow) of image n: their activation words' offsets in xp and
 * their weight blocks */
static int taps_at(const xnor_geom *q, const uint64_t *wq, int n, int oh, int ow, int64_t *xo,
                   const uint64_t **wt) {
    const int Wd = glia__xnor_words(q->C), Op = glia__xnor_opad(q->O);
    int nt = 0;
    for (int i = 0; i < q->kh; i++) {
        int ih = oh * q->sh - q->pt + i;
        if (ih < 0 || ih >= q->H) continue;
        for (int j = 0; j < q->kw; j++) {
            int iw = ow * q->sw - q->pl + j;
            if (iw < 0 || iw >= q->W) continue;
            xo[nt] = (((int64_t)n * q->H + ih) * q->W + iw) * Wd;
            wt[nt++] = wq + (size_t)(i * q->kw + j) * Wd * Op;
        }
    }
    return nt;
}

/* the popcounts of output row oh of image n: cnt[ow Op + o] = sum over the valid taps of
 * popcount(x bits XOR filter o's bits), taps[ow] = the number of valid taps. A position whose
 * window lies inside the image (most of them) reads every tap at the same offsets from its
 * corner, listed once per row (listing each position's taps cost a sixth of the layer) */
static void row_counts(const xnor_geom *q, counts_fn counts, const uint64_t *xp,
                       const uint64_t *wq, int n, int oh, int32_t *cnt, int *taps) {
    const int Op = glia__xnor_opad(q->O), Wd = glia__xnor_words(q->C), T = q->kh * q->kw;
    const int ih0 = oh * q->sh - q->pt, rows_in = ih0 >= 0 && ih0 + q->kh <= q->H;
    const uint64_t *wt[XNOR_MAX_TAPS], *wall[XNOR_MAX_TAPS];
    int64_t xo[XNOR_MAX_TAPS], xall[XNOR_MAX_TAPS];
    for (int t = 0; t < T && rows_in; t++) {
        xall[t] = ((int64_t)(t / q->kw) * q->W + t % q->kw) * Wd;
        wall[t] = wq + (size_t)t * Wd * Op;
    }
    for (int ow = 0; ow < q->OW; ow++) {
        const int iw0 = ow * q->sw - q->pl;
        if (rows_in && iw0 >= 0 && iw0 + q->kw <= q->W) {
            taps[ow] = T;
            counts(xp + (((int64_t)n * q->H + ih0) * q->W + iw0) * Wd, xall, wall, T, Wd, Op, Op,
                   cnt + (size_t)ow * Op);
        } else {
            int nt = taps[ow] = taps_at(q, wq, n, oh, ow, xo, wt);
            counts(xp, xo, wt, nt, Wd, Op, Op, cnt + (size_t)ow * Op);
        }
    }
}

/* per thread: a row's counts and valid taps */
static size_t row_bytes(const xnor_geom *q) {
    return (size_t)q->OW * glia__xnor_opad(q->O) * 4 + (size_t)q->OW * sizeof(int);
}

void glia__xnor_dots(const xnor_geom *q, const uint64_t *xp, const uint64_t *wq, int n,
                     int32_t *dots) {
    const char *name;
    counts_fn counts = pick(&name);
    const int P = q->OH * q->OW, Op = glia__xnor_opad(q->O);
    char *rows = glia__malloc(row_bytes(q) * (size_t)q->OH);
    if (!rows) return; /* a test helper: its caller sees the untouched dots */
#pragma omp parallel for schedule(static)
    for (int oh = 0; oh < q->OH; oh++) {
        int32_t *cnt = (int32_t *)(rows + row_bytes(q) * (size_t)oh);
        int *taps = (int *)(cnt + (size_t)q->OW * Op);
        row_counts(q, counts, xp, wq, n, oh, cnt, taps);
        for (int o = 0; o < q->O; o++)
            for (int ow = 0; ow < q->OW; ow++)
                dots[(size_t)o * P + (size_t)oh * q->OW + ow] =
                    q->C * taps[ow] - 2 * cnt[(size_t)ow * Op + o];
    }
    free(rows);
}

/* 64-byte steps, so that every part of the workspace starts aligned */
static size_t up64(size_t b) { return (b + 63) / 64 * 64; }

/* glia__xnor_forward's tiles: rb output rows of one image, small enough for the cache (about
 * 64 KiB of float outputs), and enough of them for the threads even at batch 1; slots = the
 * scratch areas, one per chunk of tiles */
typedef struct {
    int rb, per_image, tiles, slots;
} xnor_tiles;

#define XNOR_SLOTS 32

static xnor_tiles tiles_of(const xnor_geom *q) {
    xnor_tiles t;
    const int row = q->OW * glia__xnor_opad(q->O), want = q->N >= 8 ? 1 : (8 + q->N - 1) / q->N;
    t.rb = (q->OH + want - 1) / want;
    if ((int64_t)t.rb * row > 16384) t.rb = 16384 / row > 1 ? 16384 / row : 1;
    t.per_image = (q->OH + t.rb - 1) / t.rb;
    t.tiles = q->N * t.per_image;
    t.slots = t.tiles < XNOR_SLOTS ? t.tiles : XNOR_SLOTS;
    return t;
}

/* a slot: the tile's counts [rb OW][Op] and valid taps [rb OW], s_n alpha_o and biases */
static size_t slot_bytes(const xnor_geom *q, const xnor_tiles *t) {
    const size_t Op = (size_t)glia__xnor_opad(q->O), np = (size_t)t->rb * q->OW;
    return up64(np * Op * 4) + up64(np * sizeof(int)) + up64(2 * Op * 4);
}

size_t glia__xnor_ws(const xnor_geom *q) {
    const size_t Wd = (size_t)glia__xnor_words(q->C), Op = (size_t)glia__xnor_opad(q->O);
    const xnor_tiles t = tiles_of(q);
    return up64((size_t)q->N * q->H * q->W * Wd * 8) + up64((size_t)q->kh * q->kw * Wd * Op * 8) +
           up64((size_t)q->O * 4) + up64((size_t)q->N * 4) + slot_bytes(q, &t) * (size_t)t.slots;
}

/* the weight cache: a word saying it is filled, the packed weights [T Wd Op], alpha [O] and the
 * float weights [O C T] they come from */
size_t glia__xnor_cache_bytes(const xnor_geom *q) {
    const size_t Wd = (size_t)glia__xnor_words(q->C), Op = (size_t)glia__xnor_opad(q->O),
                 T = (size_t)q->kh * q->kw;
    return 64 + up64(T * Wd * Op * 8) + up64((size_t)q->O * 4) + up64((size_t)q->O * q->C * T * 4);
}

/* the cached packing of w (raw), repacked when the weights differ from those it was made from;
 * *wq and *alpha point into the cache */
static void cached_weights(const xnor_geom *q, xnor_operand w, char *cache, uint64_t **wq,
                           float **alpha) {
    const size_t Wd = (size_t)glia__xnor_words(q->C), Op = (size_t)glia__xnor_opad(q->O),
                 T = (size_t)q->kh * q->kw, nw = (size_t)q->O * q->C * T * 4;
    uint64_t *filled = (uint64_t *)cache;
    *wq = (uint64_t *)(cache + 64);
    *alpha = (float *)(cache + 64 + up64(T * Wd * Op * 8));
    float *from = (float *)((char *)*alpha + up64((size_t)q->O * 4));
    if (*filled && !memcmp(from, w.v, nw)) return;
    glia__xnor_pack_weights(q, w, *wq, *alpha);
    memcpy(from, w.v, nw);
    *filled = 1;
}

#ifdef HAVE_X86_POPCNT_SETS
/* 16 positions j x 16 channels o of a tile: the counts c[j][o] transposed in registers (the
 * usual unpack / shuffle / 128-bit-lane shuffle network), then per channel o along j
 *   y[o][j] = s alpha_o (C taps_j - 2 c[j][o]) + b_o
 * with the same float operations as the plain loop (a multiply, then an add: no FMA) */
__attribute__((target("avx512f"))) static void out16_avx512(const int32_t *c, size_t Op,
                                                            const int *taps, int C,
                                                            const float *sa, const float *b,
                                                            int relu, float *y, size_t P) {
    __m512 r[16], t[16];
    for (int j = 0; j < 16; j++) r[j] = _mm512_castsi512_ps(_mm512_loadu_si512(c + (size_t)j * Op));
    for (int j = 0; j < 16; j += 2) {
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 16; j += 4) {
        r[j] = _mm512_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int h = 0; h < 16; h += 8)
        for (int j = 0; j < 4; j++) {
            t[h + j] = _mm512_shuffle_f32x4(r[h + j], r[h + j + 4], 0x88);
            t[h + j + 4] = _mm512_shuffle_f32x4(r[h + j], r[h + j + 4], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
    }
    const __m512i ct = _mm512_mullo_epi32(_mm512_loadu_si512(taps), _mm512_set1_epi32(C));
    for (int o = 0; o < 16; o++) {
        __m512i d = _mm512_sub_epi32(ct, _mm512_slli_epi32(_mm512_castps_si512(r[o]), 1));
        __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(sa[o]), _mm512_cvtepi32_ps(d)),
                                 _mm512_set1_ps(b[o]));
        if (relu) /* v < 0 ? 0 : v, as glia__relu (-0 and NaN kept) */
            v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLT_UQ), v);
        _mm512_storeu_ps(y + (size_t)o * P, v);
    }
}
#endif

/* the outputs of rows [oh0, oh1) of image n into y */
static void xnor_tile(const xnor_geom *q, counts_fn counts, int wide, const uint64_t *xp,
                      const uint64_t *wq, const float *scale, const float *alpha, const float *bias,
                      int relu, int n, int oh0, int oh1, char *slot, float *y) {
    const size_t Op = (size_t)glia__xnor_opad(q->O), P = (size_t)q->OH * q->OW;
    const xnor_tiles t = tiles_of(q);
    const size_t np = (size_t)(oh1 - oh0) * q->OW, npmax = (size_t)t.rb * q->OW;
    int32_t *cnt = (int32_t *)slot;
    int *taps = (int *)(slot + up64(npmax * Op * 4));
    float *sa = (float *)(slot + up64(npmax * Op * 4) + up64(npmax * sizeof(int))), *b = sa + Op;
    for (int o = 0; o < q->O; o++) sa[o] = scale[n] * alpha[o], b[o] = bias ? bias[o] : 0.0f;
    for (int oh = oh0; oh < oh1; oh++)
        row_counts(q, counts, xp, wq, n, oh, cnt + (size_t)(oh - oh0) * q->OW * Op,
                   taps + (size_t)(oh - oh0) * q->OW);
    /* y[n, o, rows] (the tile's positions are contiguous in y) = s_n alpha_o (C taps - 2 counts)
     * + b_o, 16 positions at a time: each o writes a whole cache line, the 16 rows of counts
     * read stay in L1 */
    float *yn = y + (size_t)n * q->O * P + (size_t)oh0 * q->OW;
    for (size_t j0 = 0; j0 < np; j0 += 16) {
        const size_t j1 = j0 + 16 < np ? j0 + 16 : np;
        int o = 0;
#ifdef HAVE_X86_POPCNT_SETS
        if (wide && j1 == j0 + 16)
            for (; o + 16 <= q->O; o += 16)
                out16_avx512(cnt + j0 * Op + o, Op, taps + j0, q->C, sa + o, b + o, relu,
                             yn + (size_t)o * P + j0, P);
#endif
        for (; o < q->O; o++) {
            float *yo = yn + (size_t)o * P;
            for (size_t j = j0; j < j1; j++) {
                float v = sa[o] * (float)(q->C * taps[j] - 2 * cnt[j * Op + o]) + b[o];
                yo[j] = relu ? glia__relu(v) : v;
            }
        }
    }
}

void glia__xnor_forward(const xnor_geom *q, xnor_operand x, xnor_operand w, const float *bias,
                        int relu, float *y, void *ws, void *cache) {
    const char *name;
    counts_fn counts = pick(&name);
    const size_t Wd = (size_t)glia__xnor_words(q->C), Op = (size_t)glia__xnor_opad(q->O);
    const xnor_tiles t = tiles_of(q);
    char *base = ws;
    uint64_t *xp = (uint64_t *)base;
    base += up64((size_t)q->N * q->H * q->W * Wd * 8);
    uint64_t *wq = (uint64_t *)base;
    base += up64((size_t)q->kh * q->kw * Wd * Op * 8);
    float *alpha = (float *)base;
    base += up64((size_t)q->O * 4);
    float *scale = (float *)base;
    base += up64((size_t)q->N * 4);
    if (cache && w.raw)
        cached_weights(q, w, cache, &wq, &alpha);
    else
        glia__xnor_pack_weights(q, w, wq, alpha);
    glia__xnor_pack_acts(q, x, xp, scale);
    int wide = 0;
#ifdef HAVE_X86_POPCNT_SETS
    wide = glia__xnor_algo < 3 && __builtin_cpu_supports("avx512f");
#endif
    /* tiles (n, rows) in `slots` fixed chunks, chunk k using scratch k; every output an integer
     * times the same scale: bit-exact for any thread count */
/* each output costs ~taps popcounts of 8 lanes: worth threads sooner than an elementwise op */
#pragma omp parallel for schedule(static) if ((int64_t)q->N * q->OH * q->OW * q->O >= GLIA_PAR_MIN / 4)
    for (int k = 0; k < t.slots; k++) {
        char *slot = base + slot_bytes(q, &t) * (size_t)k;
        for (int i = (int)((int64_t)t.tiles * k / t.slots); i < (int)((int64_t)t.tiles * (k + 1) / t.slots); i++) {
            const int n = i / t.per_image, oh0 = i % t.per_image * t.rb,
                      oh1 = oh0 + t.rb < q->OH ? oh0 + t.rb : q->OH;
            xnor_tile(q, counts, wide, xp, wq, scale, alpha, bias, relu, n, oh0, oh1, slot, y);
        }
    }
}

/* node n (conv2d or dense) runs on bits: both operands binarize nodes, and for conv2d one group,
 * no dilation, at most XNOR_MAX_TAPS taps; fills *q */
int glia__xnor_node(const glia_graph *g, const glia_node *n, xnor_geom *q) {
    if (glia__xnor_algo == 1 || n->n_in < 2) return 0;
    const glia_node *x = &g->nodes[n->in[0]], *w = &g->nodes[n->in[1]];
    if (x->kind != NODE_OP || x->op != GLIA_OP_binarize || w->kind != NODE_OP ||
        w->op != GLIA_OP_binarize)
        return 0;
    memset(q, 0, sizeof *q);
    q->N = (int)x->shape.dim[0];
    q->O = (int)w->shape.dim[0];
    q->sh = q->sw = q->kh = q->kw = q->H = q->W = q->OH = q->OW = 1;
    if (n->op == GLIA_OP_dense) {
        q->C = (int)w->shape.dim[1];
        return q->C > 0;
    }
    if (n->op != GLIA_OP_conv2d || n->ia[CONV_GROUPS] != 1 || n->ia[CONV_DILATION_H] != 1 ||
        n->ia[CONV_DILATION_W] != 1 || w->shape.dim[2] * w->shape.dim[3] > XNOR_MAX_TAPS)
        return 0;
    q->C = (int)x->shape.dim[1];
    q->H = (int)x->shape.dim[2];
    q->W = (int)x->shape.dim[3];
    q->kh = (int)w->shape.dim[2];
    q->kw = (int)w->shape.dim[3];
    q->OH = (int)n->shape.dim[2];
    q->OW = (int)n->shape.dim[3];
    q->sh = n->ia[CONV_STRIDE_H];
    q->sw = n->ia[CONV_STRIDE_W];
    q->pt = n->ia[CONV_PAD_TOP];
    q->pl = n->ia[CONV_PAD_LEFT];
    return 1;
}

int glia__xnor_runs(const glia_graph *g, const glia_node *n, xnor_geom *q) {
    return glia__xnor_node(g, n, q) && n->ws_bytes >= glia__xnor_ws(q);
}

int glia__xnor_node_forward(glia_graph *g, glia_node *n, const float *bias, int relu, float *y) {
    xnor_geom q;
    if (!glia__xnor_runs(g, n, &q)) return 0;
    xnor_operand op[2];
    for (int k = 0; k < 2; k++) { /* binarize nodes (glia__xnor_node); folded: read their input */
        const glia_node *b = glia__in(g, n, k);
        op[k] = (xnor_operand){b->folded ? glia__in(g, b, 0)->val : b->val, b->folded,
                               b->ia[BIN_SCALED]};
    }
    glia__xnor_forward(&q, op[0], op[1], bias, relu, y, g->workspace, n->cache);
    return 1;
}
