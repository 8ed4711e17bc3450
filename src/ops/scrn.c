/* scrn.c: the structurally constrained recurrent network (Mikolov, Joulin, Chopra, Mathieu,
 * Ranzato 2015, "Learning longer memory in recurrent neural networks"): beside a sigmoid hidden
 * layer h [H], a slow context s [S] whose recurrence is a fixed decay a (the paper's alpha,
 * 0.95), so that it keeps a longer memory than h:
 *   s_t = (1 - a) B x_t + a s_{t-1}
 *   h_t = sigmoid(P s_t + A x_t + R h_{t-1} + b)
 *   y_t = [h_t, s_t]                            (the paper's output reads both: U h_t + V s_t)
 * Inputs: x [T, N, I], per direction B [S, I] (weight_xs), A [H, I] (weight_xh), P [H, S]
 * (weight_sh), R [H, H] (weight_hh), b [H] (bias_h); then h0 [dirs, N, H]?, s0 [dirs, N, S]?
 * (the c0 slot: RNN_HAS_C0), lengths [N]? (rnn_common.h's attributes, RNN_CONTEXT = S,
 * fa[SCRN_ALPHA] = a). Output y [T, N, dirs*(H+S)].
 *
 * Forward per direction: s does not depend on h, so all of it comes first:
 *   U = x B^T                                   one GEMM for all steps, into the s_t rows
 *   s_t = (1 - a) U_t + a s_{t-1}               a scan in the direction's order
 *   Z = b + x A^T + S P^T                       two GEMMs for all steps, into the h_t rows
 *   per step: Z_t += h_{t-1} R^T (one GEMM), h_t = sigmoid(Z_t)
 * Backward (L = sum(dy y)), steps in the opposite order carrying dh:
 *   dZ_t = (dh + dy_h) h_t (1 - h_t),  dh = dZ_t R                 (per step)
 *   dS = dZ P + dy_s,  then the scan backward carrying ds:
 *     dU_t = (1 - a) (dS_t + ds),  ds = a (dS_t + ds)
 *   dx += dZ A + dU B, dA += dZ^T x, dB += dU^T x, dP += dZ^T S, dR += dZ^T H_prev,
 *   db += column sums of dZ, dh0 += dh, ds0 += ds                  (all steps at once)
 * Padding (t >= lengths[n]) as in rnn_common.h: h and s carried, output 0, no gradient through
 * the step (dh and ds pass unchanged).
 *
 * Saved state: rnn_common.h's header, then per direction Hs [T+1, N, H] and Ss [T+1, N, S],
 * laid out as the other cells' Hs (forward: h_prev(t) = Hs[t], h_t = Hs[t+1]; reverse:
 * h_prev(t) = Hs[t+1], h_t = Hs[t]), so glia_rnn_final_state reads them as it reads the others.
 * Workspace (backward): dZ [T*N, H], dS [T*N, S], dh [N, H], ds [N, S]. */
#include "rnn_common.h"
#include <cblas.h>
#include <stdio.h>

typedef struct {
    int T, N, In, H, S, dirs, i_h0, i_s0, i_len;
    float a;
    size_t hdr, dir;
} scrn_geo;

static scrn_geo geometry(glia_graph *g, const glia_node *n) {
    const glia_node *x = glia__in(g, n, 0);
    scrn_geo r;
    r.T = (int)x->shape.dim[0], r.N = (int)x->shape.dim[1], r.In = (int)x->shape.dim[2];
    r.H = n->ia[RNN_HIDDEN], r.S = n->ia[RNN_CONTEXT], r.dirs = n->ia[RNN_DIRS];
    r.a = n->fa[SCRN_ALPHA];
    int k = 1 + r.dirs * 5;
    r.i_h0 = n->ia[RNN_HAS_H0] ? k++ : -1;
    r.i_s0 = n->ia[RNN_HAS_C0] ? k++ : -1;
    r.i_len = n->ia[RNN_HAS_LENGTHS] ? k++ : -1;
    r.hdr = glia__rnn_saved_header(r.N);
    r.dir = glia__scrn_saved_dir(r.T, r.N, r.H, r.S);
    return r;
}

static glia_status scrn_infer(glia_graph *g, glia_node *n) {
    glia_node *x = glia__in(g, n, 0);
    char a[96];
    if (x->shape.ndim != 3)
        return glia__bad_shape(g, n, "input", x, "recurrent layers take time-major sequences "
                               "[T, N, features]");
    const scrn_geo r = geometry(g, n);
    int want = 1 + r.dirs * 5 + n->ia[RNN_HAS_H0] + n->ia[RNN_HAS_C0] + n->ia[RNN_HAS_LENGTHS];
    if (n->n_in != want)
        return glia__err(GLIA_EINVAL, "%s: %d inputs, but its attributes call for %d",
                         glia__where(g, n), n->n_in, want);
    const int64_t T = x->shape.dim[0], N = x->shape.dim[1], In = x->shape.dim[2], H = r.H, S = r.S;
    if (T * N > INT_MAX / 8 || In > INT_MAX || H + S > INT_MAX / 2 || N * (H + S) > INT_MAX)
        return glia__err(GLIA_ESHAPE, "%s: input %s with hidden size %lld and context %lld is too "
                         "large for one GEMM", glia__where(g, n),
                         glia_shape_str(&x->shape, a, sizeof a), (long long)H, (long long)S);
    static const char *const role[] = {"weight_xs (B)", "weight_xh (A)", "weight_sh (P)",
                                       "weight_hh (R)", "bias_h (b)"};
    const int64_t shape[5][2] = {{S, In}, {H, In}, {H, S}, {H, H}, {H, 0}};
    glia_status s;
    for (int d = 0; d < r.dirs; d++)
        for (int p = 0; p < 5; p++)
            if ((s = glia__rnn_check_shape(g, n, glia__in(g, n, 1 + d * 5 + p), role[p], d,
                                           shape[p][1] ? 2 : 1, shape[p][0], shape[p][1], 0)))
                return s;
    const glia_node *h0 = r.i_h0 >= 0 ? glia__in(g, n, r.i_h0) : NULL,
                    *s0 = r.i_s0 >= 0 ? glia__in(g, n, r.i_s0) : NULL,
                    *ln = r.i_len >= 0 ? glia__in(g, n, r.i_len) : NULL;
    if ((h0 && (s = glia__rnn_check_shape(g, n, h0, "h0", -1, 3, r.dirs, N, H))) ||
        (s0 && (s = glia__rnn_check_shape(g, n, s0, "s0", -1, 3, r.dirs, N, S))) ||
        (ln && (s = glia__rnn_check_shape(g, n, ln, "lengths", -1, 1, N, 0, 0))))
        return s;
    n->shape.ndim = 3;
    n->shape.dim[0] = T;
    n->shape.dim[1] = N;
    n->shape.dim[2] = r.dirs * (H + S);
    n->ws_bytes = ((size_t)T * N + N) * (size_t)(H + S) * sizeof(float);
    n->saved_bytes = (r.hdr + r.dirs * r.dir) * sizeof(float);
    return GLIA_OK;
}

/* direction d's state blocks: Hs, Ss */
static void blocks(const glia_node *n, const scrn_geo *r, int d, float **Hs, float **Ss) {
    *Hs = (float *)n->saved + r->hdr + (size_t)d * r->dir;
    *Ss = *Hs + (size_t)(r->T + 1) * r->N * r->H;
}

static void forward_dir(glia_graph *g, glia_node *n, const scrn_geo *r, int d, const int32_t *len) {
    const int T = r->T, N = r->N, In = r->In, H = r->H, S = r->S, rev = d == 1, D = r->dirs * (H + S);
    const size_t NH = (size_t)N * H, NS = (size_t)N * S;
    const int64_t rows = (int64_t)T * N;
    const int b = 1 + d * 5;
    const float *x = glia__in(g, n, 0)->val, *B = glia__in(g, n, b)->val;
    const float *A = glia__in(g, n, b + 1)->val, *P = glia__in(g, n, b + 2)->val;
    const float *R = glia__in(g, n, b + 3)->val, *bias = glia__in(g, n, b + 4)->val;
    const float a = r->a;
    float *Hs, *Ss;
    blocks(n, r, d, &Hs, &Ss);
    float *h0 = Hs + (rev ? (size_t)T * NH : 0), *s0 = Ss + (rev ? (size_t)T * NS : 0);
    if (r->i_h0 >= 0) memcpy(h0, glia__in(g, n, r->i_h0)->val + d * NH, NH * sizeof(float));
    else memset(h0, 0, NH * sizeof(float));
    if (r->i_s0 >= 0) memcpy(s0, glia__in(g, n, r->i_s0)->val + d * NS, NS * sizeof(float));
    else memset(s0, 0, NS * sizeof(float));
    float *Scur = Ss + (rev ? 0 : NS), *Hcur = Hs + (rev ? 0 : NH); /* s_t, h_t of every t */

    /* the context: U = x B^T, then s_t = (1 - a) U_t + a s_{t-1} in the direction's order */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, S, In, 1.0f, x, In, B, In,
                0.0f, Scur, S);
    for (int k = 0; k < T; k++) {
        const int t = rev ? T - 1 - k : k;
        const float *sp = Ss + (size_t)(rev ? t + 1 : t) * NS;
        float *sc = Ss + (size_t)(rev ? t : t + 1) * NS;
#pragma omp parallel for schedule(static) if ((int64_t)NS >= GLIA_RNN_STEP_PAR_MIN)
        for (int i = 0; i < N; i++) {
            float *c = sc + (size_t)i * S;
            const float *p = sp + (size_t)i * S;
            if (t < len[i])
                for (int j = 0; j < S; j++) c[j] = (1.0f - a) * c[j] + a * p[j];
            else
                memcpy(c, p, (size_t)S * sizeof(float));
        }
    }
    /* Z = b + x A^T + S P^T for every step, into the h_t rows */
#pragma omp parallel for schedule(static) if (rows * H >= GLIA_PAR_MIN)
    for (int64_t i = 0; i < rows; i++) memcpy(Hcur + (size_t)i * H, bias, (size_t)H * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, H, In, 1.0f, x, In, A, In, 1.0f,
                Hcur, H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, H, S, 1.0f, Scur, S, P, S, 1.0f,
                Hcur, H);
    for (int k = 0; k < T; k++) {
        const int t = rev ? T - 1 - k : k;
        const float *hp = Hs + (size_t)(rev ? t + 1 : t) * NH, *sc = Ss + (size_t)(rev ? t : t + 1) * NS;
        float *h = Hs + (size_t)(rev ? t : t + 1) * NH;
        if (k > 0 || r->i_h0 >= 0) /* Z_t += h_{t-1} R^T (h0 = 0: nothing to add) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, H, H, 1.0f, hp, H, R, H, 1.0f,
                        h, H);
        float *y = n->val + (size_t)t * N * D + (size_t)d * (H + S);
#pragma omp parallel for schedule(static) if ((int64_t)NH >= GLIA_RNN_STEP_PAR_MIN)
        for (int i = 0; i < N; i++) {
            float *hi = h + (size_t)i * H, *yi = y + (size_t)i * D;
            if (t >= len[i]) { /* padding: h carried (s was in the scan), output 0 */
                memcpy(hi, hp + (size_t)i * H, (size_t)H * sizeof(float));
                memset(yi, 0, (size_t)(H + S) * sizeof(float));
                continue;
            }
            for (int j = 0; j < H; j++) hi[j] = glia__sigmoidf(hi[j]);
            memcpy(yi, hi, (size_t)H * sizeof(float));
            memcpy(yi + H, sc + (size_t)i * S, (size_t)S * sizeof(float));
        }
    }
}

static glia_status scrn_forward(glia_graph *g, glia_node *n) {
    const scrn_geo r = geometry(g, n);
    int32_t *hdr = n->saved;
    hdr[0] = 0;
    glia_status s = glia__read_lengths(g, n, r.i_len, r.T, r.N, hdr + 2);
    if (s) return s;
    for (int d = 0; d < r.dirs; d++) forward_dir(g, n, &r, d, hdr + 2);
    hdr[0] = 1;
    return GLIA_OK;
}

static void backward_dir(glia_graph *g, glia_node *n, const scrn_geo *r, int d, const int32_t *len) {
    const int T = r->T, N = r->N, In = r->In, H = r->H, S = r->S, rev = d == 1, D = r->dirs * (H + S);
    const size_t NH = (size_t)N * H, NS = (size_t)N * S;
    const int64_t rows = (int64_t)T * N;
    const int b = 1 + d * 5;
    glia_node *X = glia__in(g, n, 0), *Bn = glia__in(g, n, b), *An = glia__in(g, n, b + 1);
    glia_node *Pn = glia__in(g, n, b + 2), *Rn = glia__in(g, n, b + 3), *bn = glia__in(g, n, b + 4);
    glia_node *H0 = r->i_h0 >= 0 ? glia__in(g, n, r->i_h0) : NULL;
    glia_node *S0 = r->i_s0 >= 0 ? glia__in(g, n, r->i_s0) : NULL;
    const float a = r->a;
    float *Hs, *Ss;
    blocks(n, r, d, &Hs, &Ss);
    float *dZ = g->workspace, *dS = dZ + (size_t)rows * H, *dh = dS + (size_t)rows * S, *ds = dh + NH;
    memset(dh, 0, NH * sizeof(float));
    memset(ds, 0, NS * sizeof(float));
    const int need_dh0 = H0 && H0->grad;

    for (int k = T - 1; k >= 0; k--) { /* h, carrying dh */
        const int t = rev ? T - 1 - k : k;
        const float *h = Hs + (size_t)(rev ? t : t + 1) * NH, *dy = n->grad + (size_t)t * N * D + (size_t)d * (H + S);
        float *dz = dZ + (size_t)t * NH;
#pragma omp parallel for schedule(static) if ((int64_t)NH >= GLIA_RNN_STEP_PAR_MIN)
        for (int i = 0; i < N; i++) {
            float *dzi = dz + (size_t)i * H, *dhi = dh + (size_t)i * H;
            if (t >= len[i]) { /* padding: dh passes through */
                memset(dzi, 0, (size_t)H * sizeof(float));
                continue;
            }
            const float *hi = h + (size_t)i * H, *dyi = dy + (size_t)i * D;
            for (int j = 0; j < H; j++) {
                dzi[j] = (dhi[j] + dyi[j]) * hi[j] * (1.0f - hi[j]);
                dhi[j] = 0.0f;
            }
        }
        if (k > 0 || need_dh0) /* dL/dh_{t-1} += dZ_t R */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, H, 1.0f, dz, H, Rn->val, H,
                        1.0f, dh, H);
    }
    if (need_dh0) {
        float *g0 = H0->grad + (size_t)d * NH;
        for (size_t i = 0; i < NH; i++) g0[i] += dh[i];
    }
    /* s: dS = dZ P + dy_s, then the scan backward carrying ds; dS becomes dU in place */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, S, H, 1.0f, dZ, H, Pn->val, S,
                0.0f, dS, S);
    for (int k = T - 1; k >= 0; k--) {
        const int t = rev ? T - 1 - k : k;
        const float *dy = n->grad + (size_t)t * N * D + (size_t)d * (H + S) + H;
        float *du = dS + (size_t)t * NS;
#pragma omp parallel for schedule(static) if ((int64_t)NS >= GLIA_RNN_STEP_PAR_MIN)
        for (int i = 0; i < N; i++) {
            float *dui = du + (size_t)i * S, *dsi = ds + (size_t)i * S;
            if (t >= len[i]) { /* padding: ds passes through */
                memset(dui, 0, (size_t)S * sizeof(float));
                continue;
            }
            const float *dyi = dy + (size_t)i * D;
            for (int j = 0; j < S; j++) {
                float tot = dui[j] + dyi[j] + dsi[j];
                dui[j] = (1.0f - a) * tot;
                dsi[j] = a * tot;
            }
        }
    }
    if (S0 && S0->grad) {
        float *g0 = S0->grad + (size_t)d * NS;
        for (size_t i = 0; i < NS; i++) g0[i] += ds[i];
    }
    const float *x = X->val, *Scur = Ss + (rev ? 0 : NS), *Hprev = Hs + (rev ? NH : 0);
    if (X->grad) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, In, H, 1.0f, dZ, H,
                    An->val, In, 1.0f, X->grad, In);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, In, S, 1.0f, dS, S,
                    Bn->val, In, 1.0f, X->grad, In);
    }
    if (An->grad)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, In, (int)rows, 1.0f, dZ, H, x, In,
                    1.0f, An->grad, In);
    if (Bn->grad)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, S, In, (int)rows, 1.0f, dS, S, x, In,
                    1.0f, Bn->grad, In);
    if (Pn->grad)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, S, (int)rows, 1.0f, dZ, H, Scur, S,
                    1.0f, Pn->grad, S);
    if (Rn->grad)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, (int)rows, 1.0f, dZ, H, Hprev, H,
                    1.0f, Rn->grad, H);
    if (bn->grad) glia__colsum_add(bn->grad, dZ, H, NULL, 0, rows, H);
}

static void scrn_backward(glia_graph *g, glia_node *n) {
    const scrn_geo r = geometry(g, n);
    const int32_t *len = (const int32_t *)n->saved + 2;
    for (int d = 0; d < r.dirs; d++) backward_dir(g, n, &r, d, len);
}

static const glia_attr_def scrn_attrs[] = {
    GLIA_ATTR_I_REQ("hidden", RNN_HIDDEN, 1, INT_MAX),
    GLIA_ATTR_I("dirs", RNN_DIRS, 1, 1, 2),
    GLIA_ATTR_B("has_h0", RNN_HAS_H0, 0),
    GLIA_ATTR_B("has_s0", RNN_HAS_C0, 0),
    GLIA_ATTR_B("has_lengths", RNN_HAS_LENGTHS, 0),
    GLIA_ATTR_I_REQ("context", RNN_CONTEXT, 1, INT_MAX),
    GLIA_ATTR_F("alpha", SCRN_ALPHA, 0.95, 0.0, 1.0, GLIA_ATTR_OPEN_MAX),
};
const glia_op_def glia__op_scrn = {
    .name = "scrn",
    .summary = "SCRN layer over a time-major sequence: slow context s_t = (1-a) B x_t + a s_{t-1}, "
               "h_t = sigmoid(P s_t + A x_t + R h_{t-1} + b), y = [h_t, s_t]; bidirectional, h0, "
               "s0, lengths",
    .inputs = "x[T,N,I], params, h0?, s0?, len[N]?", .outputs = "y[T,N,D*(H+S)]", .min_in = 6,
    .max_in = 14, .flags = OPF_BWD_INPUTS, .infer = scrn_infer, .forward = scrn_forward,
    .backward = scrn_backward, GLIA_ATTRS(scrn_attrs), .no_grad = glia__recurrent_no_grad};

glia_status glia_scrn(glia_graph *g, const char *name, int x, int h0, int s0, int lengths,
                      const glia_rnn_config *cfg, int *out) {
    return glia__recurrent_build(g, CELL_SCRN, name, x, h0, s0, lengths, cfg, out);
}
