/* clockwork.c: the Clockwork RNN (Koutnik, Greff, Gomez, Schmidhuber 2014, "A Clockwork RNN"):
 * an Elman tanh RNN whose H units are split into g modules with periods base^0, base^1, ...,
 * base^(g-1). The time loop, GEMMs, inputs and saved state are the Elman cell's (rnn.c,
 * rnn_common.h); what differs is here.
 *
 * Module i holds units [s_i, s_{i+1}), s_i = floor(i H / g), and has period T_i = base^i. At step
 * k of a sequence (forward k = clock + t, the clock input giving the chunk's first step, 0 without
 * it; reverse k = L_n - 1 - t, from each sequence's last step):
 *   a_t = W_ih x_t + b_ih + Wm h_{t-1} + b_hh      Wm = W_hh masked to its block upper triangle:
 *                                                  row r of module i reads columns >= s_i, the
 *                                                  modules of periods >= T_i (slow feeds fast)
 *   h_t[j] = tanh(a_t[j])   if k mod T_i == 0      (module i of unit j is active)
 *   h_t[j] = h_{t-1}[j]     otherwise              (it keeps its state)
 * Since T_i divides T_{i+1}, the active modules are always 0 .. m-1: the units [0, e_k) with
 * e_k = s_m, so a step's recurrent GEMM needs only Wm's rows [0, e) (the paper's saving: the
 * slow modules cost nothing between their periods).
 *
 * Backward, one step (dh = carried dL/dh_t + dy_t):
 *   active j:    da_j = dh_j (1 - h_t[j]^2),  nothing passes to h_{t-1}[j] directly
 *   inactive j:  da_j = 0,                     dL/dh_{t-1}[j] = dh_j   (the copy)
 *   dL/dh_{t-1} += da Wm (rnn.c);  dW_hh += da^T h_{t-1} on the block upper triangle only, so
 *   the masked entries of weight_hh get no gradient (they change nothing). */
#include "rnn_common.h"
#include <cblas.h>

/* module i's first unit */
static inline int mod_start(int i, int H, int g) { return (int)((int64_t)i * H / g); }

int glia__clockwork_end(int k, int H, int g, int base) {
    int m = 1; /* module 0 (period 1) always updates */
    for (int64_t p = base; m < g && k % p == 0; m++)
        if (p <= INT_MAX) p *= base; /* past every k: only k = 0 divides */
    return mod_start(m, H, g);
}

glia_status glia__clockwork_clock(glia_graph *g, glia_node *n, int input, int32_t *clock) {
    *clock = 0;
    if (input < 0) return GLIA_OK;
    const glia_node *c = glia__in(g, n, input);
    float v = c->val[0];
    if (!(v >= 0.0f && v < 16777216.0f && v == floorf(v)))
        return glia__err(GLIA_ERANGE, "%s: clock is %g (input '%s'); the clock must be an integer "
                         "in [0, 2^24)", glia__where(g, n), (double)v, c->name);
    *clock = (int32_t)v;
    return GLIA_OK;
}

/* row n's step k in its sequence */
static inline int row_step(const rnn_step *s, int n) {
    return s->rev ? s->len[n] - 1 - s->t : s->clock + s->t;
}

int glia__clockwork_step_end(const rnn_step *s) {
    int e = 0;
    for (int n = 0; n < s->N && e < s->H; n++) {
        if (s->t >= s->len[n]) continue;
        int en = glia__clockwork_end(row_step(s, n), s->H, s->modules, s->base);
        if (en > e) e = en;
    }
    return e;
}

void glia__clockwork_mask(const float *W, int H, int g, float *Wm) {
    for (int i = 0; i < g; i++)
        for (int r = mod_start(i, H, g), s = r; r < mod_start(i + 1, H, g); r++) {
            memset(Wm + (size_t)r * H, 0, (size_t)s * sizeof(float));
            memcpy(Wm + (size_t)r * H + s, W + (size_t)r * H + s, (size_t)(H - s) * sizeof(float));
        }
}

void glia__clockwork_dweight(float *dW, const float *dA, const float *Hp, int64_t rows, int H,
                             int g) {
    for (int i = 0; i < g; i++) { /* module i's rows [s, e), columns [s, H) */
        int s = mod_start(i, H, g), e = mod_start(i + 1, H, g);
        if (e > s)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, e - s, H - s, (int)rows, 1.0f,
                        dA + s, H, Hp + s, H, 1.0f, dW + (size_t)s * H + s, H);
    }
}

/* row n's active units [0, e) at this step */
static int row_end(const rnn_step *s, int n) {
    return glia__clockwork_end(row_step(s, n), s->H, s->modules, s->base);
}

void glia__clockwork_step_forward(const rnn_step *s) {
    const int N = s->N, H = s->H;
#pragma omp parallel for schedule(static) if ((int64_t)N * H >= GLIA_RNN_STEP_PAR_MIN)
    for (int n = 0; n < N; n++) {
        if (s->t >= s->len[n]) {
            glia__rnn_pad_forward(s, n);
            continue;
        }
        const int e = row_end(s, n);
        float *h = s->h + (size_t)n * H, *y = s->y + (size_t)n * s->ldy;
        const float *hp = s->hp + (size_t)n * H;
        for (int j = 0; j < e; j++) h[j] = glia__tanhf(h[j]);
        memcpy(h + e, hp + e, (size_t)(H - e) * sizeof(float));
        memcpy(y, h, (size_t)H * sizeof(float));
    }
}

void glia__clockwork_step_backward(const rnn_step *s) {
    const int N = s->N, H = s->H;
#pragma omp parallel for schedule(static) if ((int64_t)N * H >= GLIA_RNN_STEP_PAR_MIN)
    for (int n = 0; n < N; n++) {
        if (s->t >= s->len[n]) {
            glia__rnn_pad_backward(s, n, 1);
            continue;
        }
        const int e = row_end(s, n);
        float *dg = s->dg + (size_t)n * H, *dh = s->dh + (size_t)n * H;
        const float *h = s->h + (size_t)n * H, *dy = s->dy + (size_t)n * s->ldy;
        for (int j = 0; j < e; j++) {
            float v = h[j];
            dg[j] = (dh[j] + dy[j]) * (1.0f - v * v);
            dh[j] = 0.0f;
        }
        for (int j = e; j < H; j++) { /* kept state: dL/dh_{t-1} = dh */
            dg[j] = 0.0f;
            dh[j] += dy[j];
        }
    }
}

static const glia_attr_def clockwork_attrs[] = {
    GLIA_ATTR_I_REQ("hidden", RNN_HIDDEN, 1, INT_MAX),
    GLIA_ATTR_I("dirs", RNN_DIRS, 1, 1, 2),
    GLIA_ATTR_B("has_h0", RNN_HAS_H0, 0),
    GLIA_ATTR_B("has_clock", RNN_HAS_C0, 0),
    GLIA_ATTR_B("has_lengths", RNN_HAS_LENGTHS, 0),
    GLIA_ATTR_I_REQ("modules", RNN_MODULES, 1, INT_MAX),
    GLIA_ATTR_I_REQ("period_base", RNN_PERIOD_BASE, 2, 1 << 16),
};
GLIA_RECURRENT_DEF(clockwork, CELL_CLOCKWORK,
                   "Clockwork RNN over a time-major sequence: tanh units in `modules` modules, "
                   "module i updated every period_base^i steps, fed by modules i' >= i; "
                   "bidirectional, h0, the clock at t = 0, lengths",
                   "x[T,N,I], params, h0?, clock[1]?, len[N]?", 12)

glia_status glia_clockwork(glia_graph *g, const char *name, int x, int h0, int clock, int lengths,
                           const glia_rnn_config *cfg, int *out) {
    return glia__recurrent_build(g, CELL_CLOCKWORK, name, x, h0, clock, lengths, cfg, out);
}
