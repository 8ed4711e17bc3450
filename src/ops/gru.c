/* gru.c: the GRU cell (Cho et al. 2014) as PyTorch's nn.GRU (the reset gate applied to
 * W_hn h + b_hn, after the matrix product). The time loop, GEMMs, inputs and saved state are
 * shared with rnn and lstm (rnn.c, rnn_common.h).
 *
 * Forward, one step, per row and unit (x-side pre-activations a_* = W_i* x_t + b_i* (+ b_h* for
 * r and z), hidden side u_* = W_h* h_{t-1}, PyTorch's gate order r, z, n):
 *   r = sigmoid(a_r + u_r)                 reset gate
 *   z = sigmoid(a_z + u_z)                 update gate
 *   m = u_n + b_hn                         (saved: the reset gate multiplies it)
 *   n = tanh(a_n + r m)                    candidate
 *   h_t = (1 - z) n + z h_{t-1}
 * Saved per step and row: r, z, n, m ([N, 4H]).
 *
 * Backward, one step (dh = carried dL/dh_t + dy_t):
 *   dn' = dh (1 - z) (1 - n^2)             gradient of n's pre-activation
 *   dz' = dh (h_{t-1} - n) z (1 - z)
 *   dr' = dn' m r (1 - r)
 *   input side  dG  = [dr', dz', dn']      (dx, dW_ih, db_ih)
 *   hidden side dGh = [dr', dz', r dn']    (dW_hh, db_hh)
 *   dL/dh_{t-1} = z dh + dGh W_hh          (the pass leaves z dh, the GEMM in rnn.c adds) */
#include "rnn_common.h"

/* one row's units (inlined into the baseline and the AVX-512 build, rnn_common.h) */
static inline __attribute__((always_inline)) void fwd_row(const rnn_step *s, int n) {
    const int H = s->H, GS = 4 * H, GH = 3 * H;
    const float *bhn = s->b_hn, *hp = s->hp + (size_t)n * H;
    float *h = s->h + (size_t)n * H, *y = s->y + (size_t)n * s->ldy;
    float *gr = s->gates + (size_t)n * GS, *gz = gr + H, *gn = gz + H, *gm = gn + H;
    const float *ur = s->hh + (size_t)n * GH, *uz = ur + H, *un = uz + H;
#pragma omp simd /* the units are independent (the arrays never overlap) */
    for (int j = 0; j < H; j++) {
        float r = glia__sigmoidf(gr[j] + ur[j]), z = glia__sigmoidf(gz[j] + uz[j]);
        float m = un[j] + bhn[j];
        float nv = glia__tanhf(gn[j] + r * m);
        float hv = (1.0f - z) * nv + z * hp[j];
        gr[j] = r;
        gz[j] = z;
        gn[j] = nv;
        gm[j] = m;
        h[j] = hv;
        y[j] = hv;
    }
}

static inline __attribute__((always_inline)) void bwd_row(const rnn_step *s, int n) {
    const int H = s->H, GS = 4 * H, GH = 3 * H;
    float *dg = s->dg + (size_t)n * GH, *dgh = s->dgh + (size_t)n * GH, *dh = s->dh + (size_t)n * H;
    const float *gr = s->gates + (size_t)n * GS, *gz = gr + H, *gn = gz + H, *gm = gn + H;
    const float *hp = s->hp + (size_t)n * H, *dy = s->dy + (size_t)n * s->ldy;
#pragma omp simd /* the units are independent (the arrays never overlap) */
    for (int j = 0; j < H; j++) {
        float d = dh[j] + dy[j], r = gr[j], z = gz[j], nv = gn[j];
        float dan = d * (1.0f - z) * (1.0f - nv * nv);
        float daz = d * (hp[j] - nv) * z * (1.0f - z);
        float dar = dan * gm[j] * r * (1.0f - r);
        dg[j] = dgh[j] = dar;
        dg[H + j] = dgh[H + j] = daz;
        dg[2 * H + j] = dan;
        dgh[2 * H + j] = dan * r;
        dh[j] = d * z;
    }
}

GLIA_RNN_ROWS(fwd_rows, fwd_row(s, n))
GLIA_RNN_ROWS(bwd_rows, bwd_row(s, n))

void glia__gru_step_forward(const rnn_step *s) {
    glia__rnn_step_rows(s, GLIA_RNN_PICK(fwd_rows), 3, 4 * s->H, 0);
}
void glia__gru_step_backward(const rnn_step *s) {
    glia__rnn_step_rows(s, GLIA_RNN_PICK(bwd_rows), 3, 4 * s->H, 1);
}

static const glia_attr_def gru_attrs[] = {
    GLIA_ATTR_I_REQ("hidden", RNN_HIDDEN, 1, INT_MAX),
    GLIA_ATTR_I("dirs", RNN_DIRS, 1, 1, 2),
    GLIA_ATTR_B("has_h0", RNN_HAS_H0, 0),
    GLIA_ATTR_B("has_lengths", RNN_HAS_LENGTHS, 0),
};
GLIA_RECURRENT_DEF(gru, CELL_GRU,
                   "GRU layer over a time-major sequence (PyTorch's gates r,z,n); bidirectional, "
                   "h0, lengths",
                   "x[T,N,I], params, h0?, len[N]?", 11)

glia_status glia_gru(glia_graph *g, const char *name, int x, int h0, int lengths,
                     const glia_rnn_config *cfg, int *out) {
    return glia__recurrent_build(g, CELL_GRU, name, x, h0, -1, lengths, cfg, out);
}
