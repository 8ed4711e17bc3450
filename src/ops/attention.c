/* attention.c: the decoder looking back at every live encoder step (Bahdanau et al. 2015,
 * Luong et al. 2015). For every query step t and row n, a score per encoder step s, a softmax
 * over the live steps s < L_n only (the padding gets weight 0 and no gradient), and the weighted
 * sum of the encoder states:
 *
 *   q [T, N, Dq] (decoder states), k [S, N, Dk] (encoder states), lengths [N]? (S when absent)
 *   score = dot:       e[t,n,s] = q_t . k_s                                (Dq = Dk)
 *           general:   e[t,n,s] = q_t . (W k_s) = (W^T q_t) . k_s          W [Dq, Dk]
 *           additive:  e[t,n,s] = v . tanh(Wq q_t + Wk k_s)               Wq [A, Dq], Wk [A, Dk], v [A]
 *   a[t,n,s] = exp(e - max) / sum_{s' < L_n} exp(e' - max)   for s < L_n, else 0
 *   out c[t,n,:] = sum_s a[t,n,s] k_s                                      [T, N, Dk]
 * Backward (dc given):
 *   dk_s += a_s dc_t;  da_s = dc_t . k_s;  de_s = a_s (da_s - sum_s' a_s' da_s')
 *   dot:      dq_t += sum_s de_s k_s;       dk_s += de_s q_t
 *   general:  qw_t = W^T q_t; dqw_t = sum_s de_s k_s; dk_s += de_s qw_t;
 *             dq_t += W dqw_t; dW += q_t dqw_t^T
 *   additive: u = tanh(pq_t + pk_s) (pq = Wq q, pk = Wk k); dv += de u; dz = de v (1 - u^2);
 *             dpq_t += sum_s dz; dpk_s += sum_t dz; dq = Wq^T dpq, dWq += dpq q^T (k alike)
 *
 * Inputs: q, k, the score's parameters (none, W, or Wq Wk v), then lengths when given.
 * Attribute: score (GLIA_ATTENTION_DOT, _GENERAL, _ADDITIVE). Saved state (floats): the lengths
 * (int32 [N], padded to 16), the weights a [T, N, S] (glia_attention_weights reads them: the
 * pictures), then general: qw [T, N, Dk]; additive: pq [T, N, A], pk [S, N, A]. */
#include "../core/internal.h"
#include "rnn_common.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

static int n_params(int score) { return score == GLIA_ATTENTION_DOT ? 0 : score == GLIA_ATTENTION_GENERAL ? 1 : 3; }

/* the geometry of an attention node */
typedef struct {
    int T, S, N, Dq, Dk, A, score, i_len;
    size_t hdr;                 /* floats before the weights */
} att_geo;

static att_geo geo_of(glia_graph *g, const glia_node *n) {
    att_geo r;
    const glia_node *q = glia__in(g, n, 0), *k = glia__in(g, n, 1);
    r.T = (int)q->shape.dim[0];
    r.N = (int)q->shape.dim[1];
    r.Dq = (int)q->shape.dim[2];
    r.S = (int)k->shape.dim[0];
    r.Dk = (int)k->shape.dim[2];
    r.score = n->ia[ATTENTION_SCORE];
    r.A = r.score == GLIA_ATTENTION_ADDITIVE ? (int)glia__in(g, n, 2)->shape.dim[0] : 0;
    r.i_len = n->n_in > 2 + n_params(r.score) ? 2 + n_params(r.score) : -1;
    r.hdr = ((size_t)r.N + 15) / 16 * 16;
    return r;
}

size_t glia__attention_saved_floats(const glia_graph *g, const glia_node *n) {
    att_geo r = geo_of((glia_graph *)g, n);
    size_t TN = (size_t)r.T * r.N, SN = (size_t)r.S * r.N;
    size_t extra = r.score == GLIA_ATTENTION_GENERAL ? TN * r.Dk
                   : r.score == GLIA_ATTENTION_ADDITIVE ? (TN + SN) * r.A : 0;
    return r.hdr + TN * r.S + extra;
}

static bool attention_no_grad(const glia_node *n, int k) {
    return k == 2 + n_params(n->ia[ATTENTION_SCORE]);
}

static glia_status want(const glia_graph *g, const glia_node *n, const glia_node *p, int nd,
                        const int64_t *d, const char *role) {
    bool ok = p->shape.ndim == nd;
    for (int i = 0; ok && i < nd; i++) ok = p->shape.dim[i] == d[i];
    if (ok) return GLIA_OK;
    char need[64];
    if (nd == 1) snprintf(need, sizeof need, "[%lld]", (long long)d[0]);
    else snprintf(need, sizeof need, "[%lld, %lld]", (long long)d[0], (long long)d[1]);
    return glia__bad_shape(g, n, role, p, "expected %s", need);
}

static glia_status attention_infer(glia_graph *g, glia_node *n) {
    const int score = n->ia[ATTENTION_SCORE], np = n_params(score);
    if (n->n_in != 2 + np && n->n_in != 3 + np)
        return glia__err(GLIA_EINVAL, "%s: score %d takes %d parameter inputs (and lengths), got "
                         "%d inputs", glia__where(g, n), score, np, n->n_in);
    glia_node *q = glia__in(g, n, 0), *k = glia__in(g, n, 1);
    if (q->shape.ndim != 3)
        return glia__bad_shape(g, n, "query", q, "attention needs a time-major query [T, N, Dq]");
    if (k->shape.ndim != 3 || k->shape.dim[1] != q->shape.dim[1])
        return glia__bad_shape(g, n, "memory", k, "attention needs encoder states [S, N, Dk] with "
                               "the query's N = %lld", (long long)q->shape.dim[1]);
    const int64_t Dq = q->shape.dim[2], Dk = k->shape.dim[2];
    glia_status s = GLIA_OK;
    if (score == GLIA_ATTENTION_DOT && Dq != Dk)
        return glia__bad_shape(g, n, "memory", k, "the dot score needs Dk = Dq = %lld", (long long)Dq);
    if (score == GLIA_ATTENTION_GENERAL) s = want(g, n, glia__in(g, n, 2), 2, (int64_t[]){Dq, Dk}, "W");
    if (score == GLIA_ATTENTION_ADDITIVE) {
        const glia_node *wq = glia__in(g, n, 2);
        if (wq->shape.ndim != 2) return glia__bad_shape(g, n, "Wq", wq, "expected [A, Dq]");
        const int64_t A = wq->shape.dim[0];
        if (!(s = want(g, n, wq, 2, (int64_t[]){A, Dq}, "Wq")) &&
            !(s = want(g, n, glia__in(g, n, 3), 2, (int64_t[]){A, Dk}, "Wk")))
            s = want(g, n, glia__in(g, n, 4), 1, (int64_t[]){A}, "v");
    }
    if (!s && n->n_in == 3 + np) s = want(g, n, glia__in(g, n, 2 + np), 1, &q->shape.dim[1], "lengths");
    if (s) return s;
    if (k->shape.dim[0] > INT32_MAX) return glia__err(GLIA_ESHAPE, "%s: memory too long", glia__where(g, n));
    n->shape.ndim = 3;
    n->shape.dim[0] = q->shape.dim[0];
    n->shape.dim[1] = q->shape.dim[1];
    n->shape.dim[2] = Dk;
    n->saved_bytes = glia__attention_saved_floats(g, n) * sizeof(float);
    att_geo r = geo_of(g, n);
    /* backward: dot, general: de [N, T, S], and general's dqw [T, N, Dk]; additive: de over s,
     * dpq, dpk */
    size_t TN = (size_t)r.T * r.N, SN = (size_t)r.S * r.N;
    size_t ws = score == GLIA_ATTENTION_ADDITIVE ? (size_t)r.S + (TN + SN) * r.A + r.A
                : TN * r.S + (score == GLIA_ATTENTION_GENERAL ? TN * r.Dk : 0);
    n->ws_bytes = ws * sizeof(float);
    return GLIA_OK;
}

/* additive: row (t, n)'s scores e[s], s < L, from the saved projections */
static void scores(const att_geo *r, glia_graph *g, const glia_node *n, const float *sv, int t,
                   int i, int L, float *e) {
    const size_t N = (size_t)r->N;
    const float *pq = sv + (t * N + i) * r->A, *pk0 = sv + (size_t)r->T * N * r->A;
    const float *v = glia__in(g, n, 4)->val;
    for (int s = 0; s < L; s++) {
        const float *pk = pk0 + (s * N + i) * r->A;
        float acc = 0;
        for (int a = 0; a < r->A; a++) acc += v[a] * tanhf(pq[a] + pk[a]);
        e[s] = acc;
    }
}

/* dot and general, one batch row i at a time, as three (forward) and four (backward) small
 * GEMMs rather than a loop per (t, s) pair: Q_i [T, Dk] the row's queries (q, or general's qw =
 * q W), K_i [L, Dk] its live keys, A_i [T, L] its weights; rows of stride N Dk and N S in the
 * time-major tensors. Rows are independent (each writes only its own rows of c, dq, dk), so they
 * run on threads with OpenBLAS serial inside, and the result does not depend on the threads.
 *   forward:  E = Q_i K_i^T,  A_i = softmax(E) over the L live steps (0 after),  C_i = A_i K_i
 *   backward: dA = dC_i K_i^T,  dK_i += A_i^T dC_i,  dE = A_i (dA - rowsum(A_i dA)),
 *             dQ_i += dE K_i,  dK_i += dE^T Q_i */
static void item_forward(const att_geo *r, const float *qt, const float *k, float *w, float *c,
                         int i, int L) {
    const int N = r->N, S = r->S, Dk = r->Dk, ldk = N * Dk, lda = N * S;
    const float *Qi = qt + (size_t)i * Dk, *Ki = k + (size_t)i * Dk;
    float *Ai = w + (size_t)i * S;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r->T, L, Dk, 1.0f, Qi, ldk, Ki, ldk, 0.0f,
                Ai, lda);
    for (int t = 0; t < r->T; t++) {
        float *a = Ai + (size_t)t * lda, mx = a[0], sum = 0;
        for (int s = 1; s < L; s++) mx = a[s] > mx ? a[s] : mx;
        for (int s = 0; s < L; s++) sum += a[s] = expf(a[s] - mx);
        for (int s = 0; s < L; s++) a[s] /= sum;
        for (int s = L; s < S; s++) a[s] = 0;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r->T, Dk, L, 1.0f, Ai, lda, Ki, ldk,
                0.0f, c + (size_t)i * Dk, ldk);
}

/* dqt: dq (dot) or dqw (general), NULL when not wanted; de: this row's [T, S] */
static void item_backward(const att_geo *r, const float *qt, const float *k, const float *w,
                          const float *dc, float *dqt, float *dk, float *de, int i, int L) {
    const int N = r->N, S = r->S, Dk = r->Dk, T = r->T, ldk = N * Dk, lda = N * S;
    const float *Qi = qt + (size_t)i * Dk, *Ki = k + (size_t)i * Dk, *Ai = w + (size_t)i * S;
    const float *dCi = dc + (size_t)i * Dk;
    float *dKi = dk ? dk + (size_t)i * Dk : NULL;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, L, Dk, 1.0f, dCi, ldk, Ki, ldk, 0.0f,
                de, S);
    if (dKi)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, Dk, T, 1.0f, Ai, lda, dCi, ldk, 1.0f,
                    dKi, ldk);
    for (int t = 0; t < T; t++) {
        const float *a = Ai + (size_t)t * lda;
        float *d = de + (size_t)t * S, dot = 0;
        for (int s = 0; s < L; s++) dot += a[s] * d[s];
        for (int s = 0; s < L; s++) d[s] = a[s] * (d[s] - dot);
    }
    if (dqt)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, Dk, L, 1.0f, de, S, Ki, ldk, 1.0f,
                    dqt + (size_t)i * Dk, ldk);
    if (dKi)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, Dk, T, 1.0f, de, S, Qi, ldk, 1.0f,
                    dKi, ldk);
}

/* threads over the batch rows when there is enough work for two */
static int items_parallel(const att_geo *r) {
    return r->N > 1 && (int64_t)r->T * r->S * r->Dk * r->N >= GLIA_PAR_MIN;
}

static glia_status attention_forward(glia_graph *g, glia_node *n) {
    const att_geo r = geo_of(g, n);
    float *saved = n->saved, *w = saved + r.hdr, *sv = w + (size_t)r.T * r.N * r.S;
    int32_t *len = n->saved;
    glia_status st = glia__read_lengths(g, n, r.i_len, r.S, r.N, len);
    if (st) return st;
    const float *q = glia__in(g, n, 0)->val, *k = glia__in(g, n, 1)->val;
    const int TN = r.T * r.N, SN = r.S * r.N;
    /* projections: qw = q W (rows [TN, Dk]); pq = q Wq^T, pk = k Wk^T */
    if (r.score == GLIA_ATTENTION_GENERAL)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, TN, r.Dk, r.Dq, 1.0f, q, r.Dq,
                    glia__in(g, n, 2)->val, r.Dk, 0.0f, sv, r.Dk);
    if (r.score == GLIA_ATTENTION_ADDITIVE) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, TN, r.A, r.Dq, 1.0f, q, r.Dq,
                    glia__in(g, n, 2)->val, r.Dq, 0.0f, sv, r.A);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, SN, r.A, r.Dk, 1.0f, k, r.Dk,
                    glia__in(g, n, 3)->val, r.Dk, 0.0f, sv + (size_t)TN * r.A, r.A);
    }
    if (r.score != GLIA_ATTENTION_ADDITIVE) {
        const float *qt = r.score == GLIA_ATTENTION_DOT ? q : sv;
        const int par = items_parallel(&r), prev = glia__blas_serial_begin();
#pragma omp parallel for schedule(static) if (par)
        for (int i = 0; i < r.N; i++) item_forward(&r, qt, k, w, n->val, i, len[i]);
        glia__blas_serial_end(prev);
        return GLIA_OK;
    }
#pragma omp parallel for if ((int64_t)TN * r.S * (r.A + r.Dk) >= GLIA_PAR_MIN)
    for (int row = 0; row < TN; row++) {
        const int t = row / r.N, i = row % r.N, L = len[i];
        float *a = w + (size_t)row * r.S, *c = n->val + (size_t)row * r.Dk;
        scores(&r, g, n, sv, t, i, L, a);
        float mx = a[0], sum = 0;
        for (int s = 1; s < L; s++) mx = a[s] > mx ? a[s] : mx;
        for (int s = 0; s < L; s++) sum += a[s] = expf(a[s] - mx);
        for (int s = 0; s < L; s++) a[s] /= sum;
        for (int s = L; s < r.S; s++) a[s] = 0;
        memset(c, 0, (size_t)r.Dk * sizeof *c);
        for (int s = 0; s < L; s++) {
            const float *ks = k + ((size_t)s * r.N + i) * r.Dk;
            for (int j = 0; j < r.Dk; j++) c[j] += a[s] * ks[j];
        }
    }
    return GLIA_OK;
}

static void attention_backward(glia_graph *g, glia_node *n) {
    const att_geo r = geo_of(g, n);
    const float *saved = n->saved, *w = saved + r.hdr, *sv = w + (size_t)r.T * r.N * r.S;
    const int32_t *len = n->saved;
    glia_node *Q = glia__in(g, n, 0), *K = glia__in(g, n, 1);
    const float *q = Q->val, *k = K->val;
    float *dq = Q->grad, *dk = K->grad;
    const size_t N = (size_t)r.N, TN = (size_t)r.T * N, SN = (size_t)r.S * N;
    float *ws = g->workspace, *de = ws;
    float *dqw = ws + (r.score == GLIA_ATTENTION_ADDITIVE ? (size_t)r.S : TN * r.S); /* general's, or additive's dpq */
    float *dpk = dqw + TN * r.A, *uu = dpk + SN * r.A;
    if (r.score == GLIA_ATTENTION_GENERAL) memset(dqw, 0, TN * r.Dk * sizeof(float));
    if (r.score == GLIA_ATTENTION_ADDITIVE) memset(dqw, 0, (TN + SN) * r.A * sizeof(float));
    const float *v = r.score == GLIA_ATTENTION_ADDITIVE ? glia__in(g, n, 4)->val : NULL;
    float *dv = r.score == GLIA_ATTENTION_ADDITIVE ? glia__in(g, n, 4)->grad : NULL;
    if (r.score != GLIA_ATTENTION_ADDITIVE) {
        const float *qt = r.score == GLIA_ATTENTION_DOT ? q : sv;
        float *dqt = r.score == GLIA_ATTENTION_DOT ? dq : dqw;
        const int par = items_parallel(&r), prev = glia__blas_serial_begin();
#pragma omp parallel for schedule(static) if (par)
        for (int i = 0; i < r.N; i++)
            item_backward(&r, qt, k, w, n->grad, dqt, dk, de + (size_t)i * r.T * r.S, i, len[i]);
        glia__blas_serial_end(prev);
    }
    /* additive: one fixed order of every sum (rows in turn): the gradients do not depend on
     * threads */
    for (size_t row = 0; r.score == GLIA_ATTENTION_ADDITIVE && row < TN; row++) {
        const int i = (int)(row % N), L = len[i];
        const float *a = w + row * r.S, *dc = n->grad + row * r.Dk;
        float dot = 0;
        for (int s = 0; s < L; s++) {
            const float *ks = k + (s * N + i) * r.Dk;
            float da = 0;
            for (int j = 0; j < r.Dk; j++) da += dc[j] * ks[j];
            de[s] = da;
            dot += a[s] * da;
            if (dk) {
                float *dks = dk + (s * N + i) * r.Dk;
                for (int j = 0; j < r.Dk; j++) dks[j] += a[s] * dc[j];
            }
        }
        for (int s = 0; s < L; s++) de[s] = a[s] * (de[s] - dot);
        const float *pq = sv + row * r.A, *pk0 = sv + TN * r.A;
        float *dpq = dqw + row * r.A;
        for (int s = 0; s < L; s++) {
            const float *pk = pk0 + (s * N + i) * r.A;
            float *dps = dpk + (s * N + i) * r.A;
            for (int a2 = 0; a2 < r.A; a2++) {
                float u = tanhf(pq[a2] + pk[a2]);
                uu[a2] = u;
                float dz = de[s] * v[a2] * (1 - u * u);
                dpq[a2] += dz;
                dps[a2] += dz;
            }
            if (dv)
                for (int a2 = 0; a2 < r.A; a2++) dv[a2] += de[s] * uu[a2];
        }
    }
    if (r.score == GLIA_ATTENTION_GENERAL) {
        /* qw = q W: dq += dqw W^T, dW += q^T dqw */
        glia_node *W = glia__in(g, n, 2);
        if (dq)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)TN, r.Dq, r.Dk, 1.0f, dqw,
                        r.Dk, W->val, r.Dk, 1.0f, dq, r.Dq);
        if (W->grad)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r.Dq, r.Dk, (int)TN, 1.0f, q,
                        r.Dq, dqw, r.Dk, 1.0f, W->grad, r.Dk);
    }
    if (r.score == GLIA_ATTENTION_ADDITIVE) {
        /* pq = q Wq^T: dq += dpq Wq, dWq += dpq^T q; pk, k and Wk alike */
        glia_node *Wq = glia__in(g, n, 2), *Wk = glia__in(g, n, 3);
        if (dq)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)TN, r.Dq, r.A, 1.0f, dqw,
                        r.A, Wq->val, r.Dq, 1.0f, dq, r.Dq);
        if (Wq->grad)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r.A, r.Dq, (int)TN, 1.0f, dqw,
                        r.A, q, r.Dq, 1.0f, Wq->grad, r.Dq);
        if (dk)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)SN, r.Dk, r.A, 1.0f, dpk,
                        r.A, Wk->val, r.Dk, 1.0f, dk, r.Dk);
        if (Wk->grad)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r.A, r.Dk, (int)SN, 1.0f, dpk,
                        r.A, k, r.Dk, 1.0f, Wk->grad, r.Dk);
    }
}

/* the names of GLIA_ATTENTION_DOT, _GENERAL, _ADDITIVE */
static const char *const attention_scores[] = {"dot", "general", "additive"};
static const glia_attr_def attention_attrs[] = {
    GLIA_ATTR_E("score", ATTENTION_SCORE, GLIA_ATTENTION_DOT, attention_scores)};

const glia_op_def glia__op_attention = {
    .name = "attention",
    .summary = "masked softmax attention of queries over encoder states (dot, general, additive)",
    .inputs = "q[T,N,Dq], k[S,N,Dk], W[Dq,Dk] | Wq[A,Dq] Wk[A,Dk] v[A], lengths[N]?",
    .outputs = "context[T,N,Dk]",
    .min_in = 2, .max_in = 6, .flags = OPF_BWD_INPUTS,
    .infer = attention_infer, .forward = attention_forward, .backward = attention_backward,
    GLIA_ATTRS(attention_attrs), .no_grad = attention_no_grad};

glia_status glia_attention(glia_graph *g, const char *name, int score, int q, int k,
                           const int *params, int lengths, int *out) {
    if (score < 0 || score > GLIA_ATTENTION_ADDITIVE)
        return glia__err(GLIA_EINVAL, "attention '%s': score %d is not dot (0), general (1) or "
                         "additive (2)", name ? name : "", score);
    int in[6] = {q, k}, np = n_params(score), m = 2;
    for (int i = 0; i < np; i++) {
        if (!params) return glia__err(GLIA_EINVAL, "attention '%s': params is NULL", name ? name : "");
        in[m++] = params[i];
    }
    if (lengths >= 0) in[m++] = lengths;
    return glia__add_op(g, GLIA_OP_attention, name, m, in, &score, 1, NULL, 0, out);
}

glia_status glia_attention_weights(glia_graph *g, int node, float *out) {
    if (glia__node_op(g, node) != GLIA_OP_attention || !out)
        return glia__err(GLIA_EINVAL, "glia_attention_weights: node %d is not an attention node", node);
    glia_node *n = &g->nodes[node];
    if (!g->compiled || !n->saved)
        return glia__err(GLIA_EINVAL, "glia_attention_weights: '%s' has not run forward", n->name);
    const att_geo r = geo_of(g, n);
    memcpy(out, (const float *)n->saved + r.hdr, (size_t)r.T * r.N * r.S * sizeof(float));
    return GLIA_OK;
}
