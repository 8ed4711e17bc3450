/* ref_attention.c: the reference device's attention (the definition is src/ops/attention.c's):
 *   e[t,n,s] = q_t . k_s | q_t . (W k_s) | v . tanh(Wq q_t + Wk k_s),   s < L_n
 *   a = softmax_s(e) over s < L_n (0 beyond),  c[t,n,:] = sum_s a[t,n,s] k_s
 *   de_s = a_s (da_s - sum_s' a_s' da_s'),  da_s = dc_t . k_s
 * Each score's derivative is written out term by term; the scores, the softmax and the context
 * are summed in double, each gradient term is rounded once to float as it is added. The saved
 * state has the op's layout where glia_attention_weights reads it: the lengths, then the
 * weights. */
#include "ref.h"
#include "../ops/rnn_common.h"
#include <math.h>

typedef struct {
    int64_t T, S, N, Dq, Dk, A;
    int score, i_len;
    size_t hdr;
} geo;

static geo geo_of(glia_graph *g, const glia_node *n) {
    const glia_shape *qs = &glia__in(g, n, 0)->shape, *ks = &glia__in(g, n, 1)->shape;
    geo r = {qs->dim[0], ks->dim[0], qs->dim[1], qs->dim[2], ks->dim[2], 0, n->ia[ATTENTION_SCORE], -1, 0};
    int np = r.score == GLIA_ATTENTION_DOT ? 0 : r.score == GLIA_ATTENTION_GENERAL ? 1 : 3;
    if (r.score == GLIA_ATTENTION_ADDITIVE) r.A = glia__in(g, n, 2)->shape.dim[0];
    if (n->n_in > 2 + np) r.i_len = 2 + np;
    r.hdr = ((size_t)r.N + 15) / 16 * 16;
    return r;
}

/* the score e of query row (t, n) and memory row (s, n) */
static double score(glia_graph *g, const glia_node *n, const geo *r, int64_t t, int64_t i, int64_t s) {
    const float *q = ref_x(g, n, 0) + (t * r->N + i) * r->Dq, *k = ref_x(g, n, 1) + (s * r->N + i) * r->Dk;
    double e = 0;
    if (r->score == GLIA_ATTENTION_DOT)
        for (int64_t j = 0; j < r->Dk; j++) e += (double)q[j] * k[j];
    if (r->score == GLIA_ATTENTION_GENERAL) {
        const float *W = ref_x(g, n, 2);
        for (int64_t a = 0; a < r->Dq; a++)
            for (int64_t j = 0; j < r->Dk; j++) e += (double)q[a] * W[a * r->Dk + j] * k[j];
    }
    if (r->score == GLIA_ATTENTION_ADDITIVE) {
        const float *Wq = ref_x(g, n, 2), *Wk = ref_x(g, n, 3), *v = ref_x(g, n, 4);
        for (int64_t a = 0; a < r->A; a++) {
            double z = 0;
            for (int64_t j = 0; j < r->Dq; j++) z += (double)Wq[a * r->Dq + j] * q[j];
            for (int64_t j = 0; j < r->Dk; j++) z += (double)Wk[a * r->Dk + j] * k[j];
            e += v[a] * tanh(z);
        }
    }
    return e;
}

static glia_status att_forward(glia_graph *g, glia_node *n) {
    const geo r = geo_of(g, n);
    int32_t *len = n->saved;
    glia_status st = glia__read_lengths(g, n, r.i_len, (int)r.S, (int)r.N, len);
    if (st) return st;
    float *w = (float *)n->saved + r.hdr;
    const float *k = ref_x(g, n, 1);
    for (int64_t t = 0; t < r.T; t++)
        for (int64_t i = 0; i < r.N; i++) {
            float *a = w + (t * r.N + i) * r.S;
            double mx = -INFINITY, sum = 0;
            for (int64_t s = 0; s < len[i]; s++) mx = fmax(mx, score(g, n, &r, t, i, s));
            for (int64_t s = 0; s < len[i]; s++) sum += exp(score(g, n, &r, t, i, s) - mx);
            for (int64_t s = 0; s < r.S; s++)
                a[s] = s < len[i] ? (float)(exp(score(g, n, &r, t, i, s) - mx) / sum) : 0.0f;
            for (int64_t j = 0; j < r.Dk; j++) {
                double c = 0;
                for (int64_t s = 0; s < len[i]; s++) c += (double)a[s] * k[(s * r.N + i) * r.Dk + j];
                n->val[(t * r.N + i) * r.Dk + j] = (float)c;
            }
        }
    return GLIA_OK;
}

static void att_backward(glia_graph *g, glia_node *n) {
    const geo r = geo_of(g, n);
    const int32_t *len = n->saved;
    const float *w = (const float *)n->saved + r.hdr, *q = ref_x(g, n, 0), *k = ref_x(g, n, 1);
    float *dq = ref_dx(g, n, 0), *dk = ref_dx(g, n, 1);
    for (int64_t t = 0; t < r.T; t++)
        for (int64_t i = 0; i < r.N; i++) {
            const float *a = w + (t * r.N + i) * r.S, *dc = n->grad + (t * r.N + i) * r.Dk;
            const float *qt = q + (t * r.N + i) * r.Dq;
            double dot = 0;
            for (int64_t s = 0; s < len[i]; s++)
                for (int64_t j = 0; j < r.Dk; j++) dot += (double)a[s] * dc[j] * k[(s * r.N + i) * r.Dk + j];
            for (int64_t s = 0; s < len[i]; s++) {
                const float *ks = k + (s * r.N + i) * r.Dk;
                double da = 0;
                for (int64_t j = 0; j < r.Dk; j++) da += (double)dc[j] * ks[j];
                const double de = a[s] * (da - dot);
                float *dks = dk ? dk + (s * r.N + i) * r.Dk : NULL;
                for (int64_t j = 0; dks && j < r.Dk; j++) dks[j] += (float)((double)a[s] * dc[j]);
                if (r.score == GLIA_ATTENTION_DOT)
                    for (int64_t j = 0; j < r.Dk; j++) {
                        if (dq) dq[(t * r.N + i) * r.Dq + j] += (float)(de * ks[j]);
                        if (dks) dks[j] += (float)(de * qt[j]);
                    }
                if (r.score == GLIA_ATTENTION_GENERAL) {
                    const float *W = ref_x(g, n, 2);
                    float *dW = ref_dx(g, n, 2);
                    for (int64_t x = 0; x < r.Dq; x++)
                        for (int64_t j = 0; j < r.Dk; j++) {
                            const double wxj = W[x * r.Dk + j];
                            if (dq) dq[(t * r.N + i) * r.Dq + x] += (float)(de * wxj * ks[j]);
                            if (dks) dks[j] += (float)(de * qt[x] * wxj);
                            if (dW) dW[x * r.Dk + j] += (float)(de * qt[x] * ks[j]);
                        }
                }
                if (r.score == GLIA_ATTENTION_ADDITIVE) {
                    const float *Wq = ref_x(g, n, 2), *Wk = ref_x(g, n, 3), *v = ref_x(g, n, 4);
                    float *dWq = ref_dx(g, n, 2), *dWk = ref_dx(g, n, 3), *dv = ref_dx(g, n, 4);
                    for (int64_t x = 0; x < r.A; x++) {
                        double z = 0;
                        for (int64_t j = 0; j < r.Dq; j++) z += (double)Wq[x * r.Dq + j] * qt[j];
                        for (int64_t j = 0; j < r.Dk; j++) z += (double)Wk[x * r.Dk + j] * ks[j];
                        const double u = tanh(z), gz = de * v[x] * (1 - u * u);
                        if (dv) dv[x] += (float)(de * u);
                        for (int64_t j = 0; j < r.Dq; j++) {
                            if (dq) dq[(t * r.N + i) * r.Dq + j] += (float)(gz * Wq[x * r.Dq + j]);
                            if (dWq) dWq[x * r.Dq + j] += (float)(gz * qt[j]);
                        }
                        for (int64_t j = 0; j < r.Dk; j++) {
                            if (dks) dks[j] += (float)(gz * Wk[x * r.Dk + j]);
                            if (dWk) dWk[x * r.Dk + j] += (float)(gz * ks[j]);
                        }
                    }
                }
            }
        }
}

const glia_kernel glia__ref_attention = {att_forward, att_backward};
