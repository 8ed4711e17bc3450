/* ref_scrn.c: reference kernels of the scrn op (Mikolov et al. 2015; inputs, attributes and
 * saved state as in src/ops/scrn.c). Each sequence (row n) and direction runs on its own, step by
 * step, unit by unit, sums in double:
 *   s_t[j] = (1 - a) sum_i B[j,i] x_t[i] + a s_{t-1}[j]
 *   h_t[j] = sigmoid(b[j] + sum_i A[j,i] x_t[i] + sum_c P[j,c] s_t[c] + sum_k R[j,k] h_{t-1}[k])
 *   y_t = [h_t, s_t]
 * only at the steps t < L_n (elsewhere the states are carried and y is 0); the reverse direction
 * runs t = T-1 .. 0 from h0, s0.
 * Backward, one live step in the opposite order, with dh, ds carried from the step after:
 *   dz_j = (dh_j + dy_h[j]) h_t[j] (1 - h_t[j])
 *   g_c = ds_c + dy_s[c] + sum_j dz_j P[j,c]          (all of dL/ds_t)
 *   du_c = (1 - a) g_c,   ds_c = a g_c,   dh_k = sum_j dz_j R[j,k]
 *   dA += dz x^T, dB += du x^T, dP += dz s_t^T, dR += dz h_{t-1}^T, db += dz,
 *   dx_t += A^T dz + B^T du
 * and what leaves the first step goes to dh0 and ds0. Workspace: dh, dz, the next dh [H], ds,
 * du [S], in double. */
#include "ref.h"
#include "../ops/rnn_common.h"
#include <math.h>
#include <string.h>

typedef struct {
    int T, N, I, H, S, dirs, i_h0, i_s0, i_len;
    double a;
} scrn_dims;

static scrn_dims dims_of(glia_graph *g, const glia_node *n) {
    const glia_shape *x = &glia__in(g, n, 0)->shape;
    scrn_dims d;
    d.T = (int)x->dim[0], d.N = (int)x->dim[1], d.I = (int)x->dim[2];
    d.H = n->ia[RNN_HIDDEN], d.S = n->ia[RNN_CONTEXT], d.dirs = n->ia[RNN_DIRS];
    d.a = n->fa[SCRN_ALPHA];
    int k = 1 + 5 * d.dirs;
    d.i_h0 = n->ia[RNN_HAS_H0] ? k++ : -1;
    d.i_s0 = n->ia[RNN_HAS_C0] ? k++ : -1;
    d.i_len = n->ia[RNN_HAS_LENGTHS] ? k++ : -1;
    return d;
}

size_t glia__ref_scrn_ws_bytes(const glia_graph *g, const glia_node *n) {
    scrn_dims d = dims_of((glia_graph *)g, n);
    return (size_t)(3 * d.H + 2 * d.S) * sizeof(double);
}

/* direction dir's blocks: Hs [T+1, N, H], Ss [T+1, N, S] */
static void blocks(const glia_node *n, const scrn_dims *d, int dir, float **Hs, float **Ss) {
    *Hs = (float *)n->saved + glia__rnn_saved_header(d->N) +
          (size_t)dir * glia__scrn_saved_dir(d->T, d->N, d->H, d->S);
    *Ss = *Hs + (size_t)(d->T + 1) * d->N * d->H;
}

/* sum_k W[r,k] v[k] */
static double dot(const float *W, int r, const float *v, int K) {
    double s = 0;
    for (int k = 0; k < K; k++) s += (double)W[(size_t)r * K + k] * v[k];
    return s;
}

static float *at(float *block, int t, int N, int n, int width) {
    return block + ((size_t)t * N + n) * width;
}

static glia_status scrn_forward(glia_graph *g, glia_node *n) {
    const scrn_dims d = dims_of(g, n);
    const int T = d.T, N = d.N, H = d.H, S = d.S, D = d.dirs * (H + S);
    int32_t *hdr = n->saved, *len = hdr + 2;
    hdr[0] = 0;
    glia_status st = glia__read_lengths(g, n, d.i_len, T, N, len);
    if (st) return st;
    const float *x = ref_x(g, n, 0);
    for (int dir = 0; dir < d.dirs; dir++) {
        const int rev = dir == 1, b0 = 1 + 5 * dir;
        const float *B = ref_x(g, n, b0), *A = ref_x(g, n, b0 + 1), *P = ref_x(g, n, b0 + 2);
        const float *R = ref_x(g, n, b0 + 3), *bias = ref_x(g, n, b0 + 4);
        float *Hs, *Ss;
        blocks(n, &d, dir, &Hs, &Ss);
        for (int b = 0; b < N; b++) {
            float *h0 = at(Hs, rev ? T : 0, N, b, H), *s0 = at(Ss, rev ? T : 0, N, b, S);
            for (int j = 0; j < H; j++)
                h0[j] = d.i_h0 >= 0 ? ref_x(g, n, d.i_h0)[((size_t)dir * N + b) * H + j] : 0.0f;
            for (int j = 0; j < S; j++)
                s0[j] = d.i_s0 >= 0 ? ref_x(g, n, d.i_s0)[((size_t)dir * N + b) * S + j] : 0.0f;
            for (int k = 0; k < T; k++) {
                const int t = rev ? T - 1 - k : k;
                const float *xt = x + ((size_t)t * N + b) * d.I;
                const float *hp = at(Hs, rev ? t + 1 : t, N, b, H), *sp = at(Ss, rev ? t + 1 : t, N, b, S);
                float *h = at(Hs, rev ? t : t + 1, N, b, H), *s = at(Ss, rev ? t : t + 1, N, b, S);
                float *y = n->val + ((size_t)t * N + b) * D + (size_t)dir * (H + S);
                if (t >= len[b]) { /* padding: states carried, output 0 */
                    memcpy(h, hp, (size_t)H * sizeof(float));
                    memcpy(s, sp, (size_t)S * sizeof(float));
                    memset(y, 0, (size_t)(H + S) * sizeof(float));
                    continue;
                }
                for (int j = 0; j < S; j++) s[j] = (float)((1 - d.a) * dot(B, j, xt, d.I) + d.a * sp[j]);
                for (int j = 0; j < H; j++) {
                    double z = bias[j] + dot(A, j, xt, d.I) + dot(P, j, s, S) + dot(R, j, hp, H);
                    h[j] = (float)(1.0 / (1.0 + exp(-z)));
                }
                memcpy(y, h, (size_t)H * sizeof(float));
                memcpy(y + H, s, (size_t)S * sizeof(float));
            }
        }
    }
    hdr[0] = 1;
    return GLIA_OK;
}

static void scrn_backward(glia_graph *g, glia_node *n) {
    const scrn_dims d = dims_of(g, n);
    const int T = d.T, N = d.N, H = d.H, S = d.S, I = d.I, D = d.dirs * (H + S);
    const int32_t *len = (const int32_t *)n->saved + 2;
    const float *x = ref_x(g, n, 0);
    float *dx = ref_dx(g, n, 0);
    float *dh0 = d.i_h0 >= 0 ? ref_dx(g, n, d.i_h0) : NULL;
    float *ds0 = d.i_s0 >= 0 ? ref_dx(g, n, d.i_s0) : NULL;
    double *dh = g->workspace, *dz = dh + H, *dhn = dz + H, *ds = dhn + H, *du = ds + S;
    for (int dir = 0; dir < d.dirs; dir++) {
        const int rev = dir == 1, b0 = 1 + 5 * dir;
        const float *A = ref_x(g, n, b0 + 1), *B = ref_x(g, n, b0), *P = ref_x(g, n, b0 + 2);
        const float *R = ref_x(g, n, b0 + 3);
        float *dB = ref_dx(g, n, b0), *dA = ref_dx(g, n, b0 + 1), *dP = ref_dx(g, n, b0 + 2);
        float *dR = ref_dx(g, n, b0 + 3), *db = ref_dx(g, n, b0 + 4);
        float *Hs, *Ss;
        blocks(n, &d, dir, &Hs, &Ss);
        for (int b = 0; b < N; b++) {
            for (int j = 0; j < H; j++) dh[j] = 0;
            for (int j = 0; j < S; j++) ds[j] = 0;
            for (int k = T - 1; k >= 0; k--) {
                const int t = rev ? T - 1 - k : k;
                if (t >= len[b]) continue; /* padding: dh, ds pass through */
                const float *xt = x + ((size_t)t * N + b) * I;
                const float *hp = at(Hs, rev ? t + 1 : t, N, b, H), *h = at(Hs, rev ? t : t + 1, N, b, H);
                const float *s = at(Ss, rev ? t : t + 1, N, b, S);
                const float *dy = n->grad + ((size_t)t * N + b) * D + (size_t)dir * (H + S);
                for (int j = 0; j < H; j++) dz[j] = (dh[j] + dy[j]) * h[j] * (1.0 - h[j]);
                for (int c = 0; c < S; c++) {
                    double gc = ds[c] + dy[H + c];
                    for (int j = 0; j < H; j++) gc += dz[j] * P[(size_t)j * S + c];
                    du[c] = (1 - d.a) * gc;
                    ds[c] = d.a * gc;
                }
                for (int kk = 0; kk < H; kk++) {
                    double v = 0;
                    for (int j = 0; j < H; j++) v += dz[j] * R[(size_t)j * H + kk];
                    dhn[kk] = v;
                }
                for (int j = 0; j < H; j++) {
                    if (db) db[j] += (float)dz[j];
                    for (int i = 0; dA && i < I; i++) dA[(size_t)j * I + i] += (float)(dz[j] * xt[i]);
                    for (int c = 0; dP && c < S; c++) dP[(size_t)j * S + c] += (float)(dz[j] * s[c]);
                    for (int q = 0; dR && q < H; q++) dR[(size_t)j * H + q] += (float)(dz[j] * hp[q]);
                }
                for (int c = 0; dB && c < S; c++)
                    for (int i = 0; i < I; i++) dB[(size_t)c * I + i] += (float)(du[c] * xt[i]);
                if (dx)
                    for (int i = 0; i < I; i++) {
                        double v = 0;
                        for (int j = 0; j < H; j++) v += dz[j] * A[(size_t)j * I + i];
                        for (int c = 0; c < S; c++) v += du[c] * B[(size_t)c * I + i];
                        dx[((size_t)t * N + b) * I + i] += (float)v;
                    }
                memcpy(dh, dhn, (size_t)H * sizeof(double));
            }
            for (int j = 0; dh0 && j < H; j++) dh0[((size_t)dir * N + b) * H + j] += (float)dh[j];
            for (int j = 0; ds0 && j < S; j++) ds0[((size_t)dir * N + b) * S + j] += (float)ds[j];
        }
    }
}

const glia_kernel glia__ref_scrn = {scrn_forward, scrn_backward};
