/* ref_rnn.c: reference kernels of the recurrent ops rnn, lstm, gru (PyTorch's nn.RNN, nn.LSTM
 * with optional peepholes, nn.GRU) and clockwork (Koutnik et al. 2014), their inputs, attributes
 * and saved state as in src/ops/rnn_common.h. Each sequence (row n) and direction runs on its
 * own, step by step, unit by unit, with the pre-activations summed in double; backward is
 * backpropagation through time written out per step.
 *
 * Per step, the pre-activations of gate row r (G*H rows; gates rnn: a, lstm: i f g o, gru: r z n):
 *   ax_r = b_ih[r] + sum_i W_ih[r,i] x_t[i]        ah_r = b_hh[r] + sum_j W_hh[r,j] h_{t-1}[j]
 *   rnn   h_t = act(ax + ah)                               act = tanh or relu
 *   lstm  i = s(ax_i + ah_i + w_ci c_{t-1}), f = s(ax_f + ah_f + w_cf c_{t-1}), g = tanh(ax_g + ah_g),
 *         c_t = f c_{t-1} + i g,  o = s(ax_o + ah_o + w_co c_t),  h_t = o tanh(c_t)   (s = sigmoid)
 *   gru   r = s(ax_r + ah_r), z = s(ax_z + ah_z), n = tanh(ax_n + r ah_n),
 *         h_t = (1 - z) n + z h_{t-1}
 *         reset_before: n = tanh(ax_n + b_hn[j] + sum_k W_hn[j,k] q_k), q = r h_{t-1} (every r of
 *         the step first)
 *   clockwork  unit j in module i (floor(i H/g) <= j < floor((i+1) H/g)), period base^i, at the
 *         sequence's k-th step (k = clock + t forward, L_n - 1 - t reverse; the clock input, 0
 *         without it, is kept in the header's [1]): ah_j sums only over the units
 *         of modules i' >= i; h_t[j] = tanh(ax + ah) if base^i divides k, else h_{t-1}[j]
 * A row is live at step t iff t < L_n (its length): elsewhere its state is carried unchanged, its
 * output is 0 and no gradient flows through that step. The forward direction runs t = 0 .. T-1
 * from h0, the reverse one t = T-1 .. 0 from h0 (so it starts at t = L_n - 1).
 *
 * Backward of one live step, with dh = dL/dh_t (carried from the step after, plus dy_t) and
 * dc = dL/dc_t (lstm, carried), the gradients of the pre-activations dA (x side) and dAh (h side,
 * the same but for gru's n) give
 *   dW_ih[r,i] += dA_r x_t[i],  db_ih[r] += dA_r,  dx_t[i] += sum_r dA_r W_ih[r,i]
 *   dW_hh[r,j] += dAh_r h_{t-1}[j],  db_hh[r] += dAh_r,
 *   dL/dh_{t-1}[j] = (gru: z dh_j) + sum_r dAh_r W_hh[r,j]
 *   rnn   dA = dh act'(h_t)  (tanh: 1 - h_t^2; relu: h_t > 0)
 *   lstm  dA_o = dh tanh(c_t) o (1 - o);  dc += dh o (1 - tanh(c_t)^2) + dA_o w_co;
 *         dA_i = dc g i (1 - i),  dA_f = dc c_{t-1} f (1 - f),  dA_g = dc i (1 - g^2);
 *         dL/dc_{t-1} = dc f + dA_i w_ci + dA_f w_cf;
 *         dw_ci += dA_i c_{t-1},  dw_cf += dA_f c_{t-1},  dw_co += dA_o c_t;
 *         input_forget: f = 1 - i, dA_f = 0, dA_i = (dc g - dc c_{t-1}) i (1 - i)
 *   gru   dA_n = dh (1 - z) (1 - n^2),  dA_z = dh (h_{t-1} - n) z (1 - z),  dA_r = dA_n ah_n r (1 - r);
 *         dAh = dA except dAh_n = r dA_n
 *         reset_before: dA_n, dA_z as above, dq_j = sum_k dA_n,k W_hn[k,j],
 *         dA_r = dq h_{t-1} r (1 - r), dAh = dA; dL/dh_{t-1} = z dh + r dq + the rows r, z of
 *         W_hh; dW_hh's rows n take q in place of h_{t-1}
 *   clockwork  an active unit as rnn tanh; an inactive one dA = 0 and dL/dh_{t-1}[j] = dh (the
 *         copy); W_hh's entries outside the modules' connections neither act nor get gradient
 * and what is carried out of the first step goes to dh0 (and dc0). An lstm with cell_out also
 * writes each direction's final cell state to y[T], and backward starts dc from its gradient.
 *
 * Saved state: rnn_common.h's layout (the cpu kernels' and glia_rnn_final_state's): the int32
 * header ([0] 1 once forward ran, [2 ..] the lengths), then per direction Hs [T+1, N, H] (the
 * forward direction's h_prev(t) = Hs[t], h_t = Hs[t+1]; the reverse one's h_prev(t) = Hs[t+1],
 * h_t = Hs[t]), Cs likewise (lstm), and Gs [T, N, GS] (lstm: i f g o tanh(c_t); gru: r z n ah_n).
 * Workspace (backward): dh, dc, the next dh, dA and dAh of one row, in double. */
#include "ref.h"
#include "../ops/rnn_common.h"
#include <math.h>
#include <string.h>

typedef struct {
    rnn_cell cell;
    int T, N, I, H, G, GS, dirs, peep, relu, modules, base;
    int cell_out;                   /* lstm: y[T] = the final cell states */
    int rb;                         /* gru: reset_before */
    int couple;                     /* lstm: input_forget, f = 1 - i */
    int per_dir, i_h0, i_c0, i_len; /* inputs: per direction, h0, c0, lengths (-1: absent) */
} rnn_dims;

/* rnn_common.h's attribute slots (attrs.h RNN_*) and input order */
static rnn_dims rnn_of(glia_graph *g, const glia_node *n) {
    const glia_shape *x = &glia__in(g, n, 0)->shape;
    rnn_dims d;
    d.cell = n->op == GLIA_OP_rnn    ? CELL_RNN
             : n->op == GLIA_OP_lstm ? CELL_LSTM
             : n->op == GLIA_OP_gru  ? CELL_GRU
                                     : CELL_CLOCKWORK;
    d.modules = n->ia[RNN_MODULES], d.base = n->ia[RNN_PERIOD_BASE];
    d.T = (int)x->dim[0], d.N = (int)x->dim[1], d.I = (int)x->dim[2];
    d.H = n->ia[RNN_HIDDEN];
    d.dirs = n->ia[RNN_DIRS];
    d.peep = d.cell == CELL_LSTM && n->ia[RNN_PEEPHOLE];
    d.cell_out = d.cell == CELL_LSTM && n->ia[RNN_CELL_OUT];
    d.rb = d.cell == CELL_GRU && n->ia[RNN_RESET_BEFORE];
    d.couple = d.cell == CELL_LSTM && n->ia[RNN_INPUT_FORGET];
    d.relu = d.cell == CELL_RNN && n->ia[RNN_ACTIVATION] == GLIA_RNN_RELU;
    d.G = d.cell == CELL_LSTM ? 4 : d.cell == CELL_GRU ? 3 : 1;
    d.GS = d.cell == CELL_LSTM ? 5 * d.H : d.cell == CELL_GRU ? 4 * d.H : 0;
    d.per_dir = 4 + d.peep;
    int k = 1 + d.dirs * d.per_dir;
    d.i_h0 = n->ia[RNN_HAS_H0] ? k++ : -1;
    d.i_c0 = (d.cell == CELL_LSTM || d.cell == CELL_CLOCKWORK) && n->ia[RNN_HAS_C0] ? k++ : -1;
    d.i_len = n->ia[RNN_HAS_LENGTHS] ? k++ : -1;
    return d;
}

size_t glia__ref_rnn_ws_bytes(const glia_graph *g, const glia_node *n) {
    rnn_dims d = rnn_of((glia_graph *)g, n);
    return (size_t)(3 * d.H + 2 * d.G * d.H) * sizeof(double);
}

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

/* clockwork: the module of unit j; whether unit r reads unit c (module(c) >= module(r)); whether
 * module i updates at step k (base^i divides k) */
static int cw_module(const rnn_dims *d, int j) {
    int i = 0;
    while (i + 1 < d->modules && (int64_t)(i + 1) * d->H / d->modules <= j) i++;
    return i;
}
static int cw_reads(const rnn_dims *d, int r, int c) {
    return d->cell != CELL_CLOCKWORK || cw_module(d, c) >= cw_module(d, r);
}
static int cw_active(const rnn_dims *d, int j, int k) {
    if (d->cell != CELL_CLOCKWORK || k == 0) return 1;
    int64_t p = 1;
    for (int q = cw_module(d, j); q > 0; q--)
        if ((p *= d->base) > k) return 0;
    return k % p == 0;
}
/* b_hh[r] + sum over the units c that unit r reads of W_hh[r,c] h[c] */
static double affine_hh(const rnn_dims *d, const float *W, const float *b, int r, const float *h) {
    double s = b[r];
    for (int c = 0; c < d->H; c++)
        if (cw_reads(d, r, c)) s += (double)W[(size_t)r * d->H + c] * h[c];
    return s;
}

/* one direction's parameters and state blocks */
typedef struct {
    const float *wih, *whh, *bih, *bhh, *peep; /* peep: [3, H] (w_ci, w_cf, w_co) or NULL */
    float *dwih, *dwhh, *dbih, *dbhh, *dpeep;  /* their gradients (NULL: not wanted) */
    float *Hs, *Cs, *Gs;
} rnn_dir;

static rnn_dir dir_of(glia_graph *g, const glia_node *n, const rnn_dims *d, int dir) {
    const int b = 1 + dir * d->per_dir;
    const size_t NH = (size_t)d->N * d->H;
    rnn_dir r = {ref_x(g, n, b), ref_x(g, n, b + 1), ref_x(g, n, b + 2), ref_x(g, n, b + 3),
                 d->peep ? ref_x(g, n, b + 4) : NULL, ref_dx(g, n, b), ref_dx(g, n, b + 1),
                 ref_dx(g, n, b + 2), ref_dx(g, n, b + 3), d->peep ? ref_dx(g, n, b + 4) : NULL,
                 NULL, NULL, NULL};
    r.Hs = (float *)n->saved + glia__rnn_saved_header(d->N) +
           (size_t)dir * glia__rnn_saved_dir(d->cell, d->T, d->N, d->H);
    r.Cs = d->cell == CELL_LSTM ? r.Hs + (size_t)(d->T + 1) * NH : NULL;
    r.Gs = r.Hs + (size_t)(d->T + 1) * NH * (d->cell == CELL_LSTM ? 2 : 1);
    return r;
}

/* b[r] + sum_k W[r,k] v[k] */
static double affine(const float *W, const float *b, int r, const float *v, int K) {
    double s = b[r];
    for (int k = 0; k < K; k++) s += (double)W[(size_t)r * K + k] * v[k];
    return s;
}

/* the rows of step t of the block [T+1 or T, N, width]: row n */
static float *row(float *block, int t, int N, int n, int width) {
    return block + ((size_t)t * N + n) * width;
}

static glia_status rnn_forward(glia_graph *g, glia_node *n) {
    const rnn_dims d = rnn_of(g, n);
    const int T = d.T, N = d.N, H = d.H;
    int32_t *hdr = n->saved, *len = hdr + 2;
    hdr[0] = 0;
    glia_status s = glia__read_lengths(g, n, d.i_len, T, N, len);
    if (!s && d.cell == CELL_CLOCKWORK) s = glia__clockwork_clock(g, n, d.i_c0, &hdr[1]);
    if (s) return s;
    const float *x = ref_x(g, n, 0);
    for (int dir = 0; dir < d.dirs; dir++) {
        rnn_dir p = dir_of(g, n, &d, dir);
        const int rev = dir == 1;
        for (int b = 0; b < N; b++) {
            /* h0 (c0) into the slot the first step reads: Hs[0], or Hs[T] in reverse */
            float *h0 = row(p.Hs, rev ? T : 0, N, b, H), *c0 = p.Cs ? row(p.Cs, rev ? T : 0, N, b, H) : NULL;
            for (int j = 0; j < H; j++) {
                h0[j] = d.i_h0 >= 0 ? ref_x(g, n, d.i_h0)[((size_t)dir * N + b) * H + j] : 0.0f;
                if (c0) c0[j] = d.i_c0 >= 0 ? ref_x(g, n, d.i_c0)[((size_t)dir * N + b) * H + j] : 0.0f;
            }
            for (int k = 0; k < T; k++) {
                const int t = rev ? T - 1 - k : k;
                const float *xt = x + ((size_t)t * N + b) * d.I;
                const float *hp = row(p.Hs, rev ? t + 1 : t, N, b, H);
                float *h = row(p.Hs, rev ? t : t + 1, N, b, H);
                const float *cp = p.Cs ? row(p.Cs, rev ? t + 1 : t, N, b, H) : NULL;
                float *c = p.Cs ? row(p.Cs, rev ? t : t + 1, N, b, H) : NULL;
                float *gs = d.GS ? row(p.Gs, t, N, b, d.GS) : NULL;
                float *y = n->val + ((size_t)t * N + b) * d.dirs * H + (size_t)dir * H;
                const int step = rev ? len[b] - 1 - t : hdr[1] + t; /* the sequence's own step */
#define PRE(q) (affine(p.wih, p.bih, (q) * H + j, xt, d.I) + affine(p.whh, p.bhh, (q) * H + j, hp, H))
                for (int j = 0; d.rb && t < len[b] && j < H; j++) { /* r and q = r h_{t-1} first */
                    gs[j] = (float)sigm(PRE(0));
                    gs[3 * H + j] = gs[j] * hp[j];
                }
                for (int j = 0; j < H; j++) {
                    if (t >= len[b]) { /* padding: state carried, output 0 */
                        h[j] = hp[j];
                        if (c) c[j] = cp[j];
                        y[j] = 0.0f;
                        continue;
                    }
                    if (!cw_active(&d, j, step)) { /* clockwork: the module keeps its state */
                        h[j] = hp[j];
                        y[j] = hp[j];
                        continue;
                    }
                    double hv;
                    if (d.cell == CELL_CLOCKWORK) {
                        hv = tanh(affine(p.wih, p.bih, j, xt, d.I) + affine_hh(&d, p.whh, p.bhh, j, hp));
                    } else if (d.cell == CELL_RNN) {
                        double a = PRE(0);
                        hv = d.relu ? (a > 0 ? a : 0.0) : tanh(a);
                    } else if (d.cell == CELL_LSTM) {
                        const double wci = p.peep ? p.peep[j] : 0, wcf = p.peep ? p.peep[H + j] : 0,
                                     wco = p.peep ? p.peep[2 * H + j] : 0;
                        double i = sigm(PRE(0) + wci * cp[j]);
                        double f = d.couple ? 1 - i : sigm(PRE(1) + wcf * cp[j]);
                        double gg = tanh(PRE(2)), cv = f * cp[j] + i * gg;
                        double o = sigm(PRE(3) + wco * cv);
                        hv = o * tanh(cv);
                        c[j] = (float)cv;
                        gs[j] = (float)i, gs[H + j] = (float)f, gs[2 * H + j] = (float)gg;
                        gs[3 * H + j] = (float)o, gs[4 * H + j] = (float)tanh(cv);
                    } else if (d.rb) {
                        double z = sigm(PRE(1)); /* r is in gs[j] already */
                        double ahn = affine(p.whh + (size_t)2 * H * H, p.bhh + 2 * H, j, gs + 3 * H, H);
                        double nv = tanh(affine(p.wih, p.bih, 2 * H + j, xt, d.I) + ahn);
                        hv = (1 - z) * nv + z * hp[j];
                        gs[H + j] = (float)z, gs[2 * H + j] = (float)nv;
                    } else {
                        double ahn = affine(p.whh, p.bhh, 2 * H + j, hp, H);
                        double r = sigm(PRE(0)), z = sigm(PRE(1));
                        double nv = tanh(affine(p.wih, p.bih, 2 * H + j, xt, d.I) + r * ahn);
                        hv = (1 - z) * nv + z * hp[j];
                        gs[j] = (float)r, gs[H + j] = (float)z, gs[2 * H + j] = (float)nv;
                        gs[3 * H + j] = (float)ahn;
                    }
#undef PRE
                    h[j] = (float)hv;
                    y[j] = (float)hv;
                }
            }
            if (d.cell_out) { /* y[T]: the state after the direction's last step */
                const float *cT = row(p.Cs, rev ? 0 : T, N, b, H);
                float *y = n->val + ((size_t)T * N + b) * d.dirs * H + (size_t)dir * H;
                for (int j = 0; j < H; j++) y[j] = cT[j];
            }
        }
    }
    hdr[0] = 1;
    return GLIA_OK;
}

static void rnn_backward(glia_graph *g, glia_node *n) {
    const rnn_dims d = rnn_of(g, n);
    const int T = d.T, N = d.N, H = d.H, GH = d.G * d.H;
    const int32_t *len = (const int32_t *)n->saved + 2;
    const float *x = ref_x(g, n, 0);
    float *dx = ref_dx(g, n, 0);
    float *dh0 = d.i_h0 >= 0 ? ref_dx(g, n, d.i_h0) : NULL;
    float *dc0 = d.cell == CELL_LSTM && d.i_c0 >= 0 ? ref_dx(g, n, d.i_c0) : NULL;
    double *dh = g->workspace, *dc = dh + H, *dhp = dc + H, *dA = dhp + H, *dAh = dA + GH;
    for (int dir = 0; dir < d.dirs; dir++) {
        rnn_dir p = dir_of(g, n, &d, dir);
        const int rev = dir == 1;
        for (int b = 0; b < N; b++) {
            for (int j = 0; j < H; j++) { /* cell_out: y[T]'s gradient is dL/dc_final */
                dh[j] = 0;
                dc[j] = d.cell_out ? n->grad[((size_t)T * N + b) * d.dirs * H + (size_t)dir * H + j] : 0;
            }
            for (int k = T - 1; k >= 0; k--) { /* the steps in the opposite order */
                const int t = rev ? T - 1 - k : k;
                if (t >= len[b]) continue; /* padding: dh, dc pass through */
                const float *xt = x + ((size_t)t * N + b) * d.I;
                const float *hp = row(p.Hs, rev ? t + 1 : t, N, b, H);
                const float *h = row(p.Hs, rev ? t : t + 1, N, b, H);
                const float *cp = p.Cs ? row(p.Cs, rev ? t + 1 : t, N, b, H) : NULL;
                const float *c = p.Cs ? row(p.Cs, rev ? t : t + 1, N, b, H) : NULL;
                const float *gs = d.GS ? row(p.Gs, t, N, b, d.GS) : NULL;
                const float *dy = n->grad + ((size_t)t * N + b) * d.dirs * H + (size_t)dir * H;
                const int step = rev ? len[b] - 1 - t : len[-1] + t; /* len[-1]: the clock */
                for (int j = 0; j < H; j++) {
                    const double dhj = dh[j] + dy[j];
                    dhp[j] = 0;
                    if (!cw_active(&d, j, step)) { /* clockwork: the copy h_t = h_{t-1} */
                        dA[j] = dAh[j] = 0;
                        dhp[j] = dhj;
                    } else if (d.cell == CELL_RNN || d.cell == CELL_CLOCKWORK) {
                        dA[j] = d.relu ? (h[j] > 0 ? dhj : 0.0) : dhj * (1.0 - (double)h[j] * h[j]);
                        dAh[j] = dA[j];
                    } else if (d.cell == CELL_LSTM) {
                        const double i = gs[j], f = gs[H + j], gg = gs[2 * H + j], o = gs[3 * H + j],
                                     tc = gs[4 * H + j];
                        const double wci = p.peep ? p.peep[j] : 0, wcf = p.peep ? p.peep[H + j] : 0,
                                     wco = p.peep ? p.peep[2 * H + j] : 0;
                        const double dao = dhj * tc * o * (1 - o);
                        const double dcv = dc[j] + dhj * o * (1 - tc * tc) + dao * wco;
                        /* input_forget: f = 1 - i, so dL/di gains -dL/df = -dc c_{t-1}, and a_f has none */
                        const double dai = (dcv * gg - (d.couple ? dcv * cp[j] : 0)) * i * (1 - i);
                        const double daf = d.couple ? 0 : dcv * cp[j] * f * (1 - f);
                        dA[j] = dai, dA[H + j] = daf, dA[2 * H + j] = dcv * i * (1 - gg * gg);
                        dA[3 * H + j] = dao;
                        for (int q = 0; q < 4; q++) dAh[q * H + j] = dA[q * H + j];
                        dc[j] = dcv * f + dai * wci + daf * wcf; /* dL/dc_{t-1} */
                        if (p.dpeep) {
                            p.dpeep[j] += (float)(dai * cp[j]);
                            p.dpeep[H + j] += (float)(daf * cp[j]);
                            p.dpeep[2 * H + j] += (float)(dao * c[j]);
                        }
                    } else if (d.rb) { /* dA_r after this loop, from every unit's dA_n */
                        const double z = gs[H + j], nv = gs[2 * H + j];
                        dA[2 * H + j] = dAh[2 * H + j] = dhj * (1 - z) * (1 - nv * nv);
                        dA[H + j] = dAh[H + j] = dhj * (hp[j] - nv) * z * (1 - z);
                        dhp[j] = z * dhj;
                    } else {
                        const double r = gs[j], z = gs[H + j], nv = gs[2 * H + j], ahn = gs[3 * H + j];
                        const double dan = dhj * (1 - z) * (1 - nv * nv);
                        dA[2 * H + j] = dan;
                        dA[H + j] = dhj * (hp[j] - nv) * z * (1 - z);
                        dA[j] = dan * ahn * r * (1 - r);
                        dAh[j] = dA[j], dAh[H + j] = dA[H + j], dAh[2 * H + j] = r * dan;
                        dhp[j] = z * dhj; /* h_{t-1}'s direct path into h_t */
                    }
                }
                for (int j = 0; d.rb && j < H; j++) { /* dq_j, dA_r, and r dq into dL/dh_{t-1} */
                    double dq = 0, r = gs[j];
                    for (int u = 0; u < H; u++) dq += dA[2 * H + u] * p.whh[(size_t)(2 * H + u) * H + j];
                    dA[j] = dAh[j] = dq * hp[j] * r * (1 - r);
                    dhp[j] += r * dq;
                }
                for (int r = 0; r < GH; r++) {
                    if (p.dbih) p.dbih[r] += (float)dA[r];
                    if (p.dbhh) p.dbhh[r] += (float)dAh[r];
                    for (int i = 0; p.dwih && i < d.I; i++) p.dwih[(size_t)r * d.I + i] += (float)(dA[r] * xt[i]);
                    const float *in = d.rb && r >= 2 * H ? gs + 3 * H : hp; /* reset_before: q */
                    for (int j = 0; p.dwhh && j < H; j++)
                        if (cw_reads(&d, r, j)) p.dwhh[(size_t)r * H + j] += (float)(dAh[r] * in[j]);
                }
                if (dx)
                    for (int i = 0; i < d.I; i++) {
                        double s = 0;
                        for (int r = 0; r < GH; r++) s += dA[r] * p.wih[(size_t)r * d.I + i];
                        dx[((size_t)t * N + b) * d.I + i] += (float)s;
                    }
                for (int j = 0; j < H; j++) { /* dL/dh_{t-1} */
                    double s = dhp[j];
                    for (int r = 0; r < (d.rb ? 2 * H : GH); r++) /* reset_before: rows n via dq */
                        if (cw_reads(&d, r, j)) s += dAh[r] * p.whh[(size_t)r * H + j];
                    dh[j] = s;
                }
            }
            for (int j = 0; j < H; j++) { /* what leaves the first step */
                if (dh0) dh0[((size_t)dir * N + b) * H + j] += (float)dh[j];
                if (dc0) dc0[((size_t)dir * N + b) * H + j] += (float)dc[j];
            }
        }
    }
}

const glia_kernel glia__ref_rnn = {rnn_forward, rnn_backward};
const glia_kernel glia__ref_lstm = {rnn_forward, rnn_backward};
const glia_kernel glia__ref_gru = {rnn_forward, rnn_backward};
const glia_kernel glia__ref_clockwork = {rnn_forward, rnn_backward};
