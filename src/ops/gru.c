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
 *   dL/dh_{t-1} = z dh + dGh W_hh          (the pass leaves z dh, the GEMM in rnn.c adds)
 *
 * reset_before (the GRU of Cho et al. 2014, ONNX's default linear_before_reset = 0; Keras's
 * reset_after = False): the reset gate scales h_{t-1} before W_hn, so a step is two passes
 * with a GEMM between (b_hn is then in the x-side pre-activation a_n with the other biases):
 *   pass 1: r, z as above;  q = r h_{t-1}          (saved in m's place: r, z, n, q [N, 4H])
 *   GEMM:   u_n = q W_hn^T
 *   pass 2: n = tanh(a_n + u_n),  h_t = (1 - z) n + z h_{t-1}
 * Backward, one step:
 *   pass 1: dn' = dh (1 - z) (1 - n^2),  dz' = dh (h_{t-1} - n) z (1 - z);  dh <- z dh
 *   GEMM:   dq = dn' W_hn
 *   pass 2: dr' = dq h_{t-1} r (1 - r);  dh += r dq
 *   GEMM:   dh += [dr', dz'] W_h{r,z}  (rnn.c)
 * dG = dGh = [dr', dz', dn'] (one buffer); dW_hh's rows r, z take h_{t-1}, its rows n take q. */
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

/* reset_before: the passes around the GEMMs (above; s->hh: h_prev W_h{r,z}^T in columns
 * [0, 2H) and u_n in [2H, 3H) forward, dq [N, H] in backward's second pass) */
static inline __attribute__((always_inline)) void rb_gates_row(const rnn_step *s, int n) {
    const int H = s->H, GS = 4 * H, GH = 3 * H;
    const float *hp = s->hp + (size_t)n * H, *ur = s->hh + (size_t)n * GH, *uz = ur + H;
    float *gr = s->gates + (size_t)n * GS, *gz = gr + H, *gq = gz + 2 * H;
#pragma omp simd
    for (int j = 0; j < H; j++) {
        float r = glia__sigmoidf(gr[j] + ur[j]);
        gr[j] = r;
        gz[j] = glia__sigmoidf(gz[j] + uz[j]);
        gq[j] = r * hp[j];
    }
}

static inline __attribute__((always_inline)) void rb_out_row(const rnn_step *s, int n) {
    const int H = s->H, GS = 4 * H, GH = 3 * H;
    const float *hp = s->hp + (size_t)n * H, *un = s->hh + (size_t)n * GH + 2 * H;
    float *h = s->h + (size_t)n * H, *y = s->y + (size_t)n * s->ldy;
    const float *gz = s->gates + (size_t)n * GS + H;
    float *gn = s->gates + (size_t)n * GS + 2 * H;
#pragma omp simd
    for (int j = 0; j < H; j++) {
        float nv = glia__tanhf(gn[j] + un[j]), z = gz[j];
        float hv = (1.0f - z) * nv + z * hp[j];
        gn[j] = nv;
        h[j] = hv;
        y[j] = hv;
    }
}

static inline __attribute__((always_inline)) void rb_back1_row(const rnn_step *s, int n) {
    const int H = s->H, GS = 4 * H, GH = 3 * H;
    float *dg = s->dg + (size_t)n * GH, *dh = s->dh + (size_t)n * H;
    const float *gz = s->gates + (size_t)n * GS + H, *gn = gz + H;
    const float *hp = s->hp + (size_t)n * H, *dy = s->dy + (size_t)n * s->ldy;
#pragma omp simd
    for (int j = 0; j < H; j++) {
        float d = dh[j] + dy[j], z = gz[j], nv = gn[j];
        dg[2 * H + j] = d * (1.0f - z) * (1.0f - nv * nv);
        dg[H + j] = d * (hp[j] - nv) * z * (1.0f - z);
        dh[j] = d * z;
    }
}

static inline __attribute__((always_inline)) void rb_back2_row(const rnn_step *s, int n) {
    const int H = s->H, GS = 4 * H, GH = 3 * H;
    float *dg = s->dg + (size_t)n * GH, *dh = s->dh + (size_t)n * H;
    const float *gr = s->gates + (size_t)n * GS, *hp = s->hp + (size_t)n * H;
    const float *dq = s->hh + (size_t)n * H;
#pragma omp simd
    for (int j = 0; j < H; j++) {
        float r = gr[j];
        dg[j] = dq[j] * hp[j] * r * (1.0f - r);
        dh[j] += r * dq[j];
    }
}

GLIA_RNN_ROWS(rb_gates_rows, rb_gates_row(s, n))
GLIA_RNN_ROWS(rb_out_rows, rb_out_row(s, n))
GLIA_RNN_ROWS(rb_back1_rows, rb_back1_row(s, n))
GLIA_RNN_ROWS(rb_back2_rows, rb_back2_row(s, n))

/* pass 1 of a reset_before step: padded rows get q = 0 (the GEMM after reads every row) */
void glia__gru_rb_step_gates(const rnn_step *s) {
    glia_rnn_rows *rows = GLIA_RNN_PICK(rb_gates_rows);
    const int N = s->N, H = s->H;
#pragma omp parallel for schedule(static) if ((int64_t)N * 4 * H >= GLIA_RNN_STEP_PAR_MIN)
    for (int n = 0; n < N; n++) {
        if (s->t < s->len[n]) rows(s, n);
        else memset(s->gates + (size_t)n * 4 * H + 3 * H, 0, (size_t)H * sizeof(float));
    }
}
void glia__gru_rb_step_out(const rnn_step *s) {
    glia__rnn_step_rows(s, GLIA_RNN_PICK(rb_out_rows), 3, 4 * s->H, 0);
}
void glia__gru_rb_step_back1(const rnn_step *s) {
    glia__rnn_step_rows(s, GLIA_RNN_PICK(rb_back1_rows), 3, 4 * s->H, 1);
}
/* pass 2: padded rows keep their (zeroed) gate gradients and dh */
void glia__gru_rb_step_back2(const rnn_step *s) {
    glia_rnn_rows *rows = GLIA_RNN_PICK(rb_back2_rows);
    const int N = s->N, H = s->H;
#pragma omp parallel for schedule(static) if ((int64_t)N * 4 * H >= GLIA_RNN_STEP_PAR_MIN)
    for (int n = 0; n < N; n++)
        if (s->t < s->len[n]) rows(s, n);
}

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
    GLIA_ATTR_B("reset_before", RNN_RESET_BEFORE, 0),
};
GLIA_RECURRENT_DEF(gru, CELL_GRU,
                   "GRU layer over a time-major sequence (PyTorch's gates r,z,n); bidirectional, "
                   "h0, lengths; reset_before: r scales h before W_hn (ONNX's default)",
                   "x[T,N,I], params, h0?, len[N]?", 11)

glia_status glia_gru(glia_graph *g, const char *name, int x, int h0, int lengths,
                     const glia_rnn_config *cfg, int *out) {
    return glia__recurrent_build(g, CELL_GRU, name, x, h0, -1, lengths, cfg, out);
}
