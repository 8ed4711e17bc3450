/* rnn.c: the time loop shared by the recurrent ops (rnn, lstm, gru, clockwork), and the Elman
 * cell (PyTorch's nn.RNN, tanh or relu). The inputs, attributes and saved state are described in
 * rnn_common.h; the LSTM, GRU and clockwork cells are in lstm.c, gru.c and clockwork.c (the
 * clockwork RNN is the Elman cell with W_hh masked to its block upper triangle, Wm, and units
 * that keep their state between their module's periods).
 *
 * One op node is one layer (one or both directions) unfolded over all T steps with shared
 * weights, so backward is backpropagation through time (BPTT). Per direction:
 *
 *   Forward
 *     P = x W_ih^T + b_ih + b_hh       one GEMM [T*N, I] x [I, G*H] for every step at once,
 *                                      written straight into the saved gate rows (rnn: into Hs;
 *                                      gru: b_hh only for r and z, b_hn stays inside r (.))
 *     for each step t (forward direction 0..T-1, reverse T-1..0):
 *       P_t += h_prev W_hh^T           one GEMM [N, H] x [H, G*H] (gru: into a scratch;
 *                                      skipped at the first step when there is no h0)
 *       one fused pass over the step: gate nonlinearities, new state, output (the cell's file)
 *   Backward, L = sum(dy * y), steps in the opposite order, carrying dh (and dc for the LSTM):
 *       one fused pass: dh += dy_t; the gradients of the gate pre-activations dG_t (input side)
 *         and dGh_t (hidden side); dc_prev; dh = the part of dL/dh_prev that bypasses W_hh
 *         (gru: z dh; the others 0)
 *       dh += dGh_t W_hh               one GEMM [N, G*H] x [G*H, H]
 *     then for all steps at once (the weights are shared, their gradients are sums over t):
 *       dx     += dG W_ih              [T*N, G*H] x [G*H, I]
 *       dW_ih  += dG^T x               [G*H, T*N] x [T*N, I]
 *       dW_hh  += dGh^T h_prev         [G*H, T*N] x [T*N, H]  (h_prev(t) of every t: one block)
 *       db_ih  += column sums of dG,   db_hh += column sums of dGh
 *       dh0 += dh, dc0 += dc           what is carried out of the first step
 *   dG and dGh differ only for the GRU (n = tanh(a + r b): da = dn', db = r dn'); not with
 *   reset_before, whose step has two passes and two GEMMs each way (gru.c).
 *   Padding (t >= lengths[n]): the row's state is carried unchanged, its output is 0, its gate
 *   gradients are 0 and the carried dh, dc pass through the step unchanged (dy there is
 *   ignored: the output there is the constant 0). Steps at or after the longest length are
 *   padding for every row: both passes skip them (live_steps), GEMMs included.
 *
 * The Elman cell (this file), with a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh:
 *   h_t = tanh(a)  ->  da = dh (1 - h_t^2)         h_t = relu(a)  ->  da = dh [h_t > 0]
 *
 * Workspace: gru forward: h_prev W_hh^T [N, 3H]; backward: dG [T, N, G*H] (gru: and dGh), dh
 * and dc [N, H]. The two directions run one after the other and share it.
 *
 * Threads: with two or more, the two directions of a bidirectional layer run at once, and a
 * one-way layer's batch runs through the time loop as two blocks of rows, one thread each with
 * OpenBLAS serial inside (dirs_parallel, row_blocks). Otherwise the fused passes split rows among
 * OpenMP threads (from GLIA_RNN_STEP_PAR_MIN units x gates); column sums split columns, each
 * summed over the rows in order; the whole-layer GEMMs (input projection, weight gradients,
 * dL/dx) run outside OpenMP regions. glia's loops are bit-identical for any thread count;
 * OpenBLAS's sgemm (0.3.21, measured) is not once it starts threads (M*N*K > 2^18): 1 and 2
 * threads then differ in the last bits, while a given thread count repeats exactly. */
#include "rnn_common.h"
#include "../core/device.h"
#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int glia__rnn_algo; /* test hook, see rnn_common.h */

typedef struct {
    rnn_cell cell;
    int T, N, In, H, G, GH, GS, dirs, peep, per_dir, act, modules, base;
    int cell_out;               /* lstm: y[T] holds the final cell states */
    int couple;                 /* lstm: input_forget */
    int rb;                     /* gru: reset_before (gru.c) */
    int i_h0, i_c0, i_len;      /* input indices, -1 when absent (c0: lstm, clockwork's clock) */
    int clock;                  /* clockwork: the saved header's clock (forward, backward) */
    size_t hdr, dir;            /* saved floats: header, each direction */
} geo;

static const glia_op_id cell_op[] = {GLIA_OP_rnn, GLIA_OP_lstm, GLIA_OP_gru, GLIA_OP_clockwork,
                                     GLIA_OP_scrn};

static void geometry(glia_graph *g, const glia_node *n, rnn_cell cell, geo *r) {
    const glia_node *x = glia__in(g, n, 0);
    r->cell = cell;
    r->T = (int)x->shape.dim[0];
    r->N = (int)x->shape.dim[1];
    r->In = (int)x->shape.dim[2];
    r->H = n->ia[RNN_HIDDEN];
    r->dirs = n->ia[RNN_DIRS];
    r->peep = cell == CELL_LSTM && n->ia[RNN_PEEPHOLE];
    r->cell_out = cell == CELL_LSTM && n->ia[RNN_CELL_OUT];
    r->couple = cell == CELL_LSTM && n->ia[RNN_INPUT_FORGET];
    r->rb = cell == CELL_GRU && n->ia[RNN_RESET_BEFORE];
    r->act = n->ia[RNN_ACTIVATION];
    r->modules = n->ia[RNN_MODULES];
    r->base = n->ia[RNN_PERIOD_BASE];
    r->G = cell == CELL_LSTM ? 4 : cell == CELL_GRU ? 3 : 1;
    r->GH = r->G * r->H;
    r->GS = cell == CELL_LSTM ? 5 * r->H : cell == CELL_GRU ? 4 * r->H : 0;
    r->per_dir = 4 + r->peep;
    int k = 1 + r->dirs * r->per_dir;
    r->i_h0 = n->ia[RNN_HAS_H0] ? k++ : -1;
    r->i_c0 = (cell == CELL_LSTM || cell == CELL_CLOCKWORK) && n->ia[RNN_HAS_C0] ? k++ : -1;
    r->clock = 0;
    r->i_len = n->ia[RNN_HAS_LENGTHS] ? k++ : -1;
    r->hdr = glia__rnn_saved_header(r->N);
    r->dir = glia__rnn_saved_dir(cell, r->T, r->N, r->H);
}

/* direction d's blocks of the saved state (rnn_common.h): Hs, Cs (lstm, else NULL), Gs */
static void dir_blocks(const glia_node *n, const geo *r, int d, float **Hs, float **Cs,
                       float **Gs) {
    const size_t states = (size_t)(r->T + 1) * r->N * r->H;
    *Hs = (float *)n->saved + r->hdr + (size_t)d * r->dir;
    *Cs = r->cell == CELL_LSTM ? *Hs + states : NULL;
    *Gs = *Hs + states * (*Cs ? 2 : 1);
}

/* Workspace floats of one direction (the directions may run at once, each in its own):
 * forward: gru h_prev W_hh^T [N, G*H]; clockwork the masked W_hh [H, H]. backward: dG (gru: and
 * dGh; with reset_before they are one, and dq [N, H] follows dh), dh and dc [N, H], the masked
 * W_hh. */
static size_t ws_forward(const geo *r) {
    return (r->cell == CELL_GRU ? (size_t)r->N * r->GH : 0) +
           (r->cell == CELL_CLOCKWORK ? (size_t)r->H * r->H : 0);
}
static size_t ws_backward(const geo *r) {
    size_t rows = (size_t)r->T * r->N, NH = (size_t)r->N * r->H;
    return rows * r->GH * (r->cell == CELL_GRU && !r->rb ? 2 : 1) +
           NH * (r->cell == CELL_LSTM || r->rb ? 2 : 1) +
           (r->cell == CELL_CLOCKWORK ? (size_t)r->H * r->H : 0);
}

/* The two directions of a bidirectional layer are independent until dL/dx: with two threads
 * or more they run at once, one thread each with OpenBLAS serial inside (a step's GEMM, [N, H]
 * x [H, G H], is too small to split well: the G2P encoder's two layers took 46% of a training
 * step, and OpenBLAS's two threads on each GEMM gained nothing). Every GEMM is then serial, as
 * with one thread, so the result does not depend on the thread count. */
static int dirs_parallel(const geo *r) {
    return r->dirs == 2 && glia_get_num_threads() > 1;
}

/* A one-direction layer's rows are independent through the time loop: with two threads or
 * more, the batch is split in two blocks of rows, each running every step on its own thread with
 * OpenBLAS serial inside (no barrier per step); the input projection before the loop and the
 * weight gradients after it stay whole GEMMs. Not for the clockwork, whose step's GEMM width
 * depends on its rows. */
static int row_blocks(const geo *r) {
    return r->dirs == 1 && r->N >= 16 && glia_get_num_threads() > 1 &&
                   (r->cell == CELL_RNN || r->cell == CELL_LSTM || r->cell == CELL_GRU)
               ? 2
               : 1;
}

/* rows [r0, r0 + s->N) of a step's arrays: s at step t (step_at) moved to row r0 */
static void rows_from(rnn_step *s, const geo *r, int r0) {
    const size_t o = (size_t)r0 * r->H;
    s->hp += o;
    s->h += o;
    if (s->c) {
        s->cp += o;
        s->c += o;
    }
    s->gates += (size_t)r0 * r->GS;
}

/* s at step t of direction rev (1: reverse): h_prev(t) and h_t in Hs (and c_prev, c_t in Cs),
 * Hs[t] and Hs[t + 1] in the order of the direction's steps, and the step's gates in Gs */
static void step_at(rnn_step *s, const geo *r, float *Hs, float *Cs, float *Gs, int t, int rev) {
    const size_t NH = (size_t)r->N * r->H, prev = (size_t)(rev ? t + 1 : t) * NH,
                 cur = (size_t)(rev ? t : t + 1) * NH;
    s->t = t;
    s->hp = Hs + prev;
    s->h = Hs + cur;
    if (Cs) {
        s->cp = Cs + prev;
        s->c = Cs + cur;
    }
    s->gates = Gs + (size_t)t * r->N * r->GS;
}

/* ---------------------------------------------------------------- shapes */

glia_status glia__rnn_check_shape(glia_graph *g, glia_node *n, const glia_node *t,
                                  const char *what, int d, int ndim, int64_t d0, int64_t d1,
                                  int64_t d2) {
    int64_t want[3] = {d0, d1, d2};
    bool ok = t->shape.ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape.dim[i] == want[i];
    if (ok) return GLIA_OK;
    glia_shape w = {ndim, {d0, d1, d2}};
    char a[96], b[96], dir[32] = "";
    if (d >= 0) snprintf(dir, sizeof dir, " of direction %d", d);
    return glia__err(GLIA_ESHAPE, "%s: %s%s ('%s') has shape %s, expected %s", glia__where(g, n),
                     what, dir, t->name, glia_shape_str(&t->shape, a, sizeof a),
                     glia_shape_str(&w, b, sizeof b));
}

glia_status glia__recurrent_infer(glia_graph *g, glia_node *n, rnn_cell cell) {
    glia_node *x = glia__in(g, n, 0);
    char a[96];
    int H = n->ia[RNN_HIDDEN], dirs = n->ia[RNN_DIRS];
    if (x->shape.ndim != 3)
        return glia__bad_shape(g, n, "input", x, "recurrent layers take time-major sequences "
                               "[T, N, features]");
    geo r;
    geometry(g, n, cell, &r);
    int want = 1 + dirs * r.per_dir + n->ia[RNN_HAS_H0] + n->ia[RNN_HAS_C0] +
               n->ia[RNN_HAS_LENGTHS];
    if (n->n_in != want)
        return glia__err(GLIA_EINVAL, "%s: %d inputs, but its attributes call for %d",
                         glia__where(g, n), n->n_in, want);
    int64_t T = x->shape.dim[0], N = x->shape.dim[1], In = x->shape.dim[2], GH = (int64_t)r.G * H;
    if (T * N > INT_MAX / 8 || In > INT_MAX || GH * 5 > INT_MAX || N * GH > INT_MAX)
        return glia__err(GLIA_ESHAPE, "%s: input %s with hidden size %d is too large for one GEMM",
                         glia__where(g, n), glia_shape_str(&x->shape, a, sizeof a), H);
    static const char *const role[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                       "weight_peephole"};
    glia_status s;
    for (int d = 0; d < dirs; d++) {
        int b = 1 + d * r.per_dir;
        if ((s = glia__rnn_check_shape(g, n, glia__in(g, n, b), role[0], d, 2, GH, In, 0)) ||
            (s = glia__rnn_check_shape(g, n, glia__in(g, n, b + 1), role[1], d, 2, GH, H, 0)) ||
            (s = glia__rnn_check_shape(g, n, glia__in(g, n, b + 2), role[2], d, 1, GH, 0, 0)) ||
            (s = glia__rnn_check_shape(g, n, glia__in(g, n, b + 3), role[3], d, 1, GH, 0, 0)) ||
            (r.peep && (s = glia__rnn_check_shape(g, n, glia__in(g, n, b + 4), role[4], d, 2, 3, H, 0))))
            return s;
    }
    const glia_node *h0 = r.i_h0 >= 0 ? glia__in(g, n, r.i_h0) : NULL,
                    *c0 = r.i_c0 >= 0 ? glia__in(g, n, r.i_c0) : NULL,
                    *ln = r.i_len >= 0 ? glia__in(g, n, r.i_len) : NULL;
    if ((h0 && (s = glia__rnn_check_shape(g, n, h0, "h0", -1, 3, dirs, N, H))) ||
        (c0 && cell == CELL_LSTM && (s = glia__rnn_check_shape(g, n, c0, "c0", -1, 3, dirs, N, H))) ||
        (c0 && cell == CELL_CLOCKWORK &&
         (s = glia__rnn_check_shape(g, n, c0, "clock", -1, 1, 1, 0, 0))) ||
        (ln && (s = glia__rnn_check_shape(g, n, ln, "lengths", -1, 1, N, 0, 0))))
        return s;
    n->shape.ndim = 3;
    n->shape.dim[0] = T + r.cell_out; /* cell_out: row T, the final cell states */
    n->shape.dim[1] = N;
    n->shape.dim[2] = (int64_t)dirs * H;
    size_t fwd_ws = ws_forward(&r), bwd_ws = ws_backward(&r); /* each direction its own */
    n->ws_bytes = (fwd_ws > bwd_ws ? fwd_ws : bwd_ws) * dirs * sizeof(float);
    n->saved_bytes = (r.hdr + dirs * r.dir) * sizeof(float);
    return GLIA_OK;
}

/* lengths [N] (floats holding integers 1..T) -> int32; all T when there is no lengths input */
glia_status glia__read_lengths(glia_graph *g, glia_node *n, int input, int T, int N, int32_t *len) {
    if (input < 0) {
        for (int i = 0; i < N; i++) len[i] = T;
        return GLIA_OK;
    }
    const glia_node *ln = glia__in(g, n, input);
    for (int i = 0; i < N; i++) {
        float v = ln->val[i];
        if (!(v >= 1.0f && v <= (float)T && v == floorf(v)))
            return glia__err(GLIA_ERANGE, "%s: lengths[%d] is %g (input '%s'); a length must be an "
                             "integer in [1, %d] (the T of the sequence)", glia__where(g, n), i,
                             (double)v, ln->name, T);
        len[i] = (int32_t)v;
    }
    return GLIA_OK;
}

/* The steps some row is live at, 0..TL-1 (TL = the longest length): the later ones are
 * padding for every row, so forward and backward skip them (their outputs are 0, the state
 * passes through unchanged; a batch of short sequences, as length buckets make, costs its
 * longest one, not T). */
static int live_steps(const int32_t *len, int N) {
    int TL = 1;
    for (int i = 0; i < N; i++) TL = len[i] > TL ? len[i] : TL;
    return TL;
}

/* ---------------------------------------------------------------- forward */

static void forward_dir(glia_graph *g, glia_node *n, const geo *r, int d, const int32_t *len) {
    float *scratch = (float *)g->workspace + (size_t)d * ws_forward(r);
    const int T = r->T, N = r->N, In = r->In, H = r->H, GH = r->GH, rev = d == 1;
    const int TL = live_steps(len, N);
    const size_t NH = (size_t)N * H;
    const int b = 1 + d * r->per_dir;
    const float *x = glia__in(g, n, 0)->val, *Wih = glia__in(g, n, b)->val;
    const float *Whh = glia__in(g, n, b + 1)->val, *bih = glia__in(g, n, b + 2)->val;
    const float *bhh = glia__in(g, n, b + 3)->val;
    float *Hs, *Cs, *Gs;
    dir_blocks(n, r, d, &Hs, &Cs, &Gs);

    float *h0 = Hs + (rev ? (size_t)T * NH : 0);
    if (r->i_h0 >= 0) memcpy(h0, glia__in(g, n, r->i_h0)->val + d * NH, NH * sizeof(float));
    else memset(h0, 0, NH * sizeof(float));
    if (Cs) {
        float *c0 = Cs + (rev ? (size_t)T * NH : 0);
        if (r->i_c0 >= 0) memcpy(c0, glia__in(g, n, r->i_c0)->val + d * NH, NH * sizeof(float));
        else memset(c0, 0, NH * sizeof(float));
    }

    /* input projection of every step: P = b_ih + b_hh (gru: not b_hn, unless reset_before),
     * then P += x W_ih^T */
    const int elman = r->cell == CELL_RNN || r->cell == CELL_CLOCKWORK;
    float *P = elman ? Hs + (rev ? 0 : NH) : Gs;
    const int ldp = elman ? H : r->GS, nb = r->cell == CELL_GRU && !r->rb ? 2 * H : GH;
    const int64_t rows = (int64_t)TL * N;
    float *p0 = P; /* the first row, copied to the others */
    for (int j = 0; j < nb; j++) p0[j] = bih[j] + bhh[j];
    for (int j = nb; j < GH; j++) p0[j] = bih[j];
#pragma omp parallel for schedule(static) if (rows * GH >= GLIA_PAR_MIN)
    for (int64_t i = 1; i < rows; i++) memcpy(P + (size_t)i * ldp, p0, (size_t)GH * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, GH, In, 1.0f, x, In, Wih, In,
                1.0f, P, ldp);

    if (rev && TL < T) { /* the reverse direction's state enters at step TL - 1 unchanged */
        memcpy(Hs + (size_t)TL * NH, h0, NH * sizeof(float));
        if (Cs) memcpy(Cs + (size_t)TL * NH, Cs + (size_t)T * NH, NH * sizeof(float));
    }
    for (int t = TL; t < T; t++) /* padding everywhere: output 0 */
        for (int i = 0; i < N; i++)
            memset(n->val + ((size_t)t * N + i) * r->dirs * H + (size_t)d * H, 0, (size_t)H * sizeof(float));
    if (r->cell == CELL_CLOCKWORK) glia__clockwork_mask(Whh, H, r->modules, scratch);
    const int blocks = row_blocks(r), prev = blocks > 1 ? glia__blas_serial_begin() : 0;
#pragma omp parallel for num_threads(2) schedule(static, 1) if (blocks > 1)
    for (int blk = 0; blk < blocks; blk++) {
    const int r0 = (int)((int64_t)N * blk / blocks), M = (int)((int64_t)N * (blk + 1) / blocks) - r0;
    rnn_step s = {.N = M, .H = H, .len = len + r0, .ldy = r->dirs * H, .act = r->act,
                  .b_hn = r->cell == CELL_GRU ? bhh + 2 * H : NULL,
                  .peep = r->peep ? glia__in(g, n, b + 4)->val : NULL, .couple = r->couple,
                  .modules = r->modules,
                  .base = r->base, .rev = rev, .clock = r->clock};
    float *sc = r->cell == CELL_GRU ? scratch + (size_t)r0 * GH : scratch; /* gru: its rows */
    for (int k = 0; k < TL; k++) {
        int t = rev ? TL - 1 - k : k;
        int zero_h = k == 0 && r->i_h0 < 0; /* h_prev = 0: skip its GEMM */
        step_at(&s, r, Hs, Cs, Gs, t, rev);
        rows_from(&s, r, r0);
        s.y = n->val + ((size_t)t * N + r0) * s.ldy + (size_t)d * H;
        switch (r->cell) {
        case CELL_RNN: /* h_t holds a_t until the pass */
            if (!zero_h)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, H, H, 1.0f, s.hp, H, Whh, H,
                            1.0f, s.h, H);
            glia__rnn_step_forward(&s);
            break;
        case CELL_LSTM:
            if (!zero_h)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, GH, H, 1.0f, s.hp, H, Whh, H,
                            1.0f, s.gates, r->GS);
            glia__lstm_step_forward(&s);
            break;
        case CELL_GRU:
            if (r->rb) { /* h_prev W_h{r,z}^T, pass 1, u_n = (r h_prev) W_hn^T, pass 2 */
                if (zero_h) memset(sc, 0, (size_t)M * GH * sizeof(float));
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, 2 * H, H, 1.0f, s.hp, H,
                                Whh, H, 0.0f, sc, GH);
                s.hh = sc;
                glia__gru_rb_step_gates(&s);
                if (!zero_h)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, H, H, 1.0f, s.gates + 3 * H,
                                r->GS, Whh + (size_t)2 * H * H, H, 0.0f, sc + 2 * H, GH);
                glia__gru_rb_step_out(&s);
                break;
            }
            if (zero_h) memset(sc, 0, (size_t)M * GH * sizeof(float));
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, GH, H, 1.0f, s.hp, H, Whh, H,
                            0.0f, sc, GH);
            s.hh = sc;
            glia__gru_step_forward(&s);
            break;
        case CELL_CLOCKWORK: { /* only the active units' rows of Wm: [0, e) */
            int e = glia__clockwork_step_end(&s);
            if (!zero_h && e > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, e, H, 1.0f, s.hp, H,
                            scratch, H, 1.0f, s.h, H);
            glia__clockwork_step_forward(&s);
            break;
        }
        case CELL_SCRN: break; /* scrn.c */
        }
    }
    }
    if (blocks > 1) glia__blas_serial_end(prev);
    if (!rev && TL < T) { /* the final state (glia_rnn_final_state reads Hs[T]) */
        memcpy(Hs + (size_t)T * NH, Hs + (size_t)TL * NH, NH * sizeof(float));
        if (Cs) memcpy(Cs + (size_t)T * NH, Cs + (size_t)TL * NH, NH * sizeof(float));
    }
    if (r->cell_out) /* y[T]: the final cell state, Cs[T] (forward) or Cs[0] (reverse) */
        for (int i = 0; i < N; i++)
            memcpy(n->val + ((size_t)T * N + i) * r->dirs * H + (size_t)d * H,
                   Cs + (rev ? 0 : (size_t)T * NH) + (size_t)i * H, (size_t)H * sizeof(float));
}

glia_status glia__recurrent_forward(glia_graph *g, glia_node *n, rnn_cell cell) {
    geo r;
    geometry(g, n, cell, &r);
    int32_t *hdr = n->saved;
    hdr[0] = 0;
    glia_status s = glia__read_lengths(g, n, r.i_len, r.T, r.N, hdr + 2);
    if (!s && cell == CELL_CLOCKWORK) s = glia__clockwork_clock(g, n, r.i_c0, &hdr[1]);
    if (s) return s;
    r.clock = hdr[1];
    if (dirs_parallel(&r)) {
        int prev = glia__blas_serial_begin();
#pragma omp parallel for num_threads(2) schedule(static, 1)
        for (int d = 0; d < 2; d++) forward_dir(g, n, &r, d, hdr + 2);
        glia__blas_serial_end(prev);
    } else
        for (int d = 0; d < r.dirs; d++) forward_dir(g, n, &r, d, hdr + 2);
    hdr[0] = 1;
    return GLIA_OK;
}

/* ---------------------------------------------------------------- backward */

/* threads split the columns in blocks of 64 */
void glia__colsum_add(float *acc, const float *a, int lda, const float *b, int ldb, int64_t rows,
                      int cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= GLIA_PAR_MIN)
    for (int j0 = 0; j0 < cols; j0 += 64) {
        double s[64] = {0};
        int w = cols - j0 < 64 ? cols - j0 : 64;
        for (int64_t i = 0; i < rows; i++) {
            const float *ai = a + (size_t)i * lda + j0;
            if (b) {
                const float *bi = b + (size_t)i * ldb + j0;
                for (int k = 0; k < w; k++) s[k] += (double)ai[k] * bi[k];
            } else {
                for (int k = 0; k < w; k++) s[k] += ai[k];
            }
        }
        for (int k = 0; k < w; k++) acc[j0 + k] += (float)s[k];
    }
}

static void backward_dir(glia_graph *g, glia_node *n, const geo *r, int d, const int32_t *len) {
    const int N = r->N, In = r->In, H = r->H, GH = r->GH, rev = d == 1;
    const size_t NH = (size_t)N * H;
    const int TL = live_steps(len, N); /* the steps after are padding: dh, dc pass them unchanged */
    const int64_t rows = (int64_t)TL * N;
    const int b = 1 + d * r->per_dir;
    glia_node *X = glia__in(g, n, 0), *Wih = glia__in(g, n, b), *Whh = glia__in(g, n, b + 1);
    glia_node *Bih = glia__in(g, n, b + 2), *Bhh = glia__in(g, n, b + 3);
    glia_node *Pp = r->peep ? glia__in(g, n, b + 4) : NULL;
    glia_node *H0 = r->i_h0 >= 0 ? glia__in(g, n, r->i_h0) : NULL;
    glia_node *C0 = r->cell == CELL_LSTM && r->i_c0 >= 0 ? glia__in(g, n, r->i_c0) : NULL;
    float *Hs, *Cs, *Gs;
    dir_blocks(n, r, d, &Hs, &Cs, &Gs);

    float *dG = (float *)g->workspace + (size_t)d * ws_backward(r), *dGh = r->cell == CELL_GRU && !r->rb ? dG + (size_t)rows * GH : dG;
    float *dh = dGh + (size_t)rows * GH, *dc = Cs ? dh + NH : NULL;
    float *dq = r->rb ? dh + NH : NULL; /* gru reset_before: dL/d(r h_prev) of a step */
    float *Wm = r->cell == CELL_CLOCKWORK ? dh + NH : NULL; /* the masked W_hh */
    memset(dh, 0, NH * (Cs ? 2 : 1) * sizeof(float));
    if (r->cell_out) /* dL/dc of the final state, y[T]'s gradient, enters the last step */
        for (int i = 0; i < N; i++)
            memcpy(dc + (size_t)i * H, n->grad + ((size_t)r->T * N + i) * r->dirs * H + (size_t)d * H,
                   (size_t)H * sizeof(float));
    if (Wm) glia__clockwork_mask(Whh->val, H, r->modules, Wm);
    const int need_dh0 = H0 && H0->grad;

    const int blocks = row_blocks(r), prev = blocks > 1 ? glia__blas_serial_begin() : 0;
#pragma omp parallel for num_threads(2) schedule(static, 1) if (blocks > 1)
    for (int blk = 0; blk < blocks; blk++) {
        const int r0 = (int)((int64_t)N * blk / blocks), M = (int)((int64_t)N * (blk + 1) / blocks) - r0;
        float *dqb = dq ? dq + (size_t)r0 * H : NULL; /* gru reset_before: its rows */
        rnn_step s = {.N = M, .H = H, .len = len + r0, .ldy = r->dirs * H, .act = r->act,
                      .dh = dh + (size_t)r0 * H, .dc = dc ? dc + (size_t)r0 * H : NULL, .peep = Pp ? Pp->val : NULL, .couple = r->couple, .modules = r->modules,
                      .base = r->base,
                      .rev = rev, .clock = r->clock};
        for (int k = TL - 1; k >= 0; k--) {
            int t = rev ? TL - 1 - k : k;
            step_at(&s, r, Hs, Cs, Gs, t, rev);
            rows_from(&s, r, r0);
            s.dy = n->grad + ((size_t)t * N + r0) * s.ldy + (size_t)d * H;
            s.dg = dG + ((size_t)t * N + r0) * GH;
            s.dgh = dGh + ((size_t)t * N + r0) * GH;
            switch (r->cell) {
            case CELL_RNN: glia__rnn_step_backward(&s); break;
            case CELL_LSTM: glia__lstm_step_backward(&s); break;
            case CELL_GRU:
                if (!r->rb) {
                    glia__gru_step_backward(&s);
                    break;
                } /* pass 1, dq = dn' W_hn, pass 2; the GEMM below adds [dr', dz'] W_h{r,z} */
                glia__gru_rb_step_back1(&s);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, H, H, 1.0f, s.dg + 2 * H, GH,
                            Whh->val + (size_t)2 * H * H, H, 0.0f, dqb, H);
                s.hh = dqb;
                glia__gru_rb_step_back2(&s);
                break;
            case CELL_CLOCKWORK: glia__clockwork_step_backward(&s); break;
            case CELL_SCRN: break; /* scrn.c */
            }
            if (Wm) { /* dL/dh_prev += dA_t Wm, dA_t 0 past the active units [0, e) */
                int e = glia__clockwork_step_end(&s);
                if ((k > 0 || need_dh0) && e > 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, H, e, 1.0f, s.dgh, GH,
                                Wm, H, 1.0f, s.dh, H);
            } else if (k > 0 || need_dh0) /* dL/dh_prev += dGh_t W_hh (reset_before: rows r, z) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, H, r->rb ? 2 * H : GH, 1.0f,
                            s.dgh, GH, Whh->val, H, 1.0f, s.dh, H);
        }
    }
    if (blocks > 1) glia__blas_serial_end(prev);
    if (need_dh0) {
        float *g0 = H0->grad + (size_t)d * NH;
        for (size_t i = 0; i < NH; i++) g0[i] += dh[i];
    }
    if (C0 && C0->grad) {
        float *g0 = C0->grad + (size_t)d * NH;
        for (size_t i = 0; i < NH; i++) g0[i] += dc[i];
    }
    if (Wih->grad)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, GH, In, (int)rows, 1.0f, dG, GH, X->val,
                    In, 1.0f, Wih->grad, In);
    if (Whh->grad && Wm) /* the block upper triangle only */
        glia__clockwork_dweight(Whh->grad, dGh, Hs + (rev ? NH : 0), rows, H, r->modules);
    else if (Whh->grad) { /* h_prev of every live step: Hs[0..TL-1] (forward) or Hs[1..TL] (reverse) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r->rb ? 2 * H : GH, H, (int)rows, 1.0f,
                    dGh, GH, Hs + (rev ? NH : 0), H, 1.0f, Whh->grad, H);
        if (r->rb) /* rows n: dn'^T q, q = r h_prev saved in Gs */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, H, (int)rows, 1.0f, dGh + 2 * H,
                        GH, Gs + 3 * H, r->GS, 1.0f, Whh->grad + (size_t)2 * H * H, H);
    }
    if (Bih->grad) glia__colsum_add(Bih->grad, dG, GH, NULL, 0, rows, GH);
    if (Bhh->grad) glia__colsum_add(Bhh->grad, dGh, GH, NULL, 0, rows, GH);
    if (Pp && Pp->grad) { /* dw_ci += da_i c_prev, dw_cf += da_f c_prev, dw_co += da_o c_t */
        const float *cprev = Cs + (rev ? NH : 0), *ccur = Cs + (rev ? 0 : NH);
        glia__colsum_add(Pp->grad, dG, GH, cprev, H, rows, H);
        glia__colsum_add(Pp->grad + H, dG + H, GH, cprev, H, rows, H);
        glia__colsum_add(Pp->grad + 2 * H, dG + 3 * H, GH, ccur, H, rows, H);
    }
}

void glia__recurrent_backward(glia_graph *g, glia_node *n, rnn_cell cell) {
    geo r;
    geometry(g, n, cell, &r);
    const int32_t *len = (const int32_t *)n->saved + 2;
    r.clock = len[-1]; /* the header's [1] */
    if (dirs_parallel(&r)) {
        int prev = glia__blas_serial_begin();
#pragma omp parallel for num_threads(2) schedule(static, 1)
        for (int d = 0; d < 2; d++) backward_dir(g, n, &r, d, len);
        glia__blas_serial_end(prev);
    } else
        for (int d = 0; d < r.dirs; d++) backward_dir(g, n, &r, d, len);
    /* dL/dx += dG_d W_ih,d, the directions in turn (both add to all of dL/dx); dG_d is still in
     * direction d's workspace */
    glia_node *X = glia__in(g, n, 0);
    for (int d = 0; X->grad && d < r.dirs; d++) {
        const int64_t rows = (int64_t)live_steps(len, r.N) * r.N;
        const float *dG = (const float *)g->workspace + (size_t)d * ws_backward(&r);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, r.In, r.GH, 1.0f, dG,
                    r.GH, glia__in(g, n, 1 + d * r.per_dir)->val, r.In, 1.0f, X->grad, r.In);
    }
}

/* ---------------------------------------------------------------- the cells' steps */

void glia__rnn_step_rows(const rnn_step *s, glia_rnn_rows *rows, int G, int GS, int backward) {
    const int N = s->N;
#pragma omp parallel for schedule(static) if ((int64_t)N * GS >= GLIA_RNN_STEP_PAR_MIN)
    for (int n = 0; n < N; n++) {
        if (s->t < s->len[n]) rows(s, n);
        else if (backward) glia__rnn_pad_backward(s, n, G);
        else glia__rnn_pad_forward(s, n);
    }
}

/* the Elman cell: one loop per row, no AVX-512 build (it has no gates to vectorise) */
void glia__rnn_step_forward(const rnn_step *s) {
    const int N = s->N, H = s->H, relu = s->act == GLIA_RNN_RELU;
#pragma omp parallel for schedule(static) if ((int64_t)N * H >= GLIA_RNN_STEP_PAR_MIN)
    for (int n = 0; n < N; n++) {
        if (s->t >= s->len[n]) {
            glia__rnn_pad_forward(s, n);
            continue;
        }
        float *h = s->h + (size_t)n * H, *y = s->y + (size_t)n * s->ldy;
        for (int j = 0; j < H; j++) {
            float v = relu ? (h[j] > 0.0f ? h[j] : 0.0f) : glia__tanhf(h[j]);
            h[j] = v;
            y[j] = v;
        }
    }
}

void glia__rnn_step_backward(const rnn_step *s) {
    const int N = s->N, H = s->H, relu = s->act == GLIA_RNN_RELU;
#pragma omp parallel for schedule(static) if ((int64_t)N * H >= GLIA_RNN_STEP_PAR_MIN)
    for (int n = 0; n < N; n++) {
        if (s->t >= s->len[n]) {
            glia__rnn_pad_backward(s, n, 1);
            continue;
        }
        float *dg = s->dg + (size_t)n * H, *dh = s->dh + (size_t)n * H;
        const float *h = s->h + (size_t)n * H, *dy = s->dy + (size_t)n * s->ldy;
        for (int j = 0; j < H; j++) {
            float g = dh[j] + dy[j], v = h[j];
            dg[j] = relu ? (v > 0.0f ? g : 0.0f) : g * (1.0f - v * v);
            dh[j] = 0.0f;
        }
    }
}

/* ---------------------------------------------------------------- op, builders, final state */

bool glia__recurrent_no_grad(const glia_node *n, int k) {
    const int clock = 1 + n->ia[RNN_DIRS] * 4 + n->ia[RNN_HAS_H0]; /* the clockwork's clock */
    return (n->ia[RNN_HAS_LENGTHS] && k == n->n_in - 1) ||
           (n->op == GLIA_OP_clockwork && n->ia[RNN_HAS_C0] && k == clock);
}

/* the names of GLIA_RNN_TANH, GLIA_RNN_RELU */
static const char *const rnn_activations[] = {"tanh", "relu"};
static const glia_attr_def rnn_attrs[] = {
    GLIA_ATTR_I_REQ("hidden", RNN_HIDDEN, 1, INT_MAX),
    GLIA_ATTR_I("dirs", RNN_DIRS, 1, 1, 2),
    GLIA_ATTR_B("has_h0", RNN_HAS_H0, 0),
    GLIA_ATTR_B("has_lengths", RNN_HAS_LENGTHS, 0),
    GLIA_ATTR_E("activation", RNN_ACTIVATION, GLIA_RNN_TANH, rnn_activations),
};
GLIA_RECURRENT_DEF(rnn, CELL_RNN,
                   "Elman RNN layer over a time-major sequence: h_t = tanh|relu(W_ih x_t + b_ih "
                   "+ W_hh h_{t-1} + b_hh); bidirectional, h0, lengths",
                   "x[T,N,I], params, h0?, len[N]?", 11)

/* removes the nodes from index `start` on (the parameters of a failed builder) */
static void rollback(glia_graph *g, int start) {
    for (int i = g->n_nodes - 1; i >= start; i--) {
        free(g->nodes[i].owned_val);
        g->nodes[i].owned_val = NULL;
    }
    g->n_nodes = start;
}

glia_status glia__recurrent_build(glia_graph *g, rnn_cell cell, const char *name, int x, int h0,
                                  int c0, int lengths, const glia_rnn_config *cfg, int *out) {
    const char *op = glia__ops[cell_op[cell]]->name;
    if (!g || !cfg || !out) return glia__err(GLIA_EINVAL, "glia_%s: graph, cfg or out is NULL", op);
    const char *nm = name ? name : "?";
    if (cfg->bidirectional != 0 && cfg->bidirectional != 1)
        return glia__err(GLIA_EINVAL, "%s '%s': bidirectional is %d (0 or 1)", op, nm,
                         cfg->bidirectional);
    if (cfg->layer < 0 || cfg->layer > 999)
        return glia__err(GLIA_EINVAL, "%s '%s': layer %d (0..999)", op, nm, cfg->layer);
    if (cfg->peephole != 0 && (cell != CELL_LSTM || cfg->peephole != 1))
        return glia__err(GLIA_EINVAL, "%s '%s': peephole is %d; peepholes (0 or 1) are an lstm "
                         "option", op, nm, cfg->peephole);
    if ((cfg->cell_out && (cell != CELL_LSTM || cfg->cell_out != 1)) ||
        (cfg->input_forget && (cell != CELL_LSTM || cfg->input_forget != 1)) ||
        (cfg->reset_before && (cell != CELL_GRU || cfg->reset_before != 1)))
        return glia__err(GLIA_EINVAL, "%s '%s': cell_out %d, input_forget %d, reset_before %d; "
                         "cell_out and input_forget (0 or 1) are lstm options, reset_before (0 or "
                         "1) a gru option", op, nm, cfg->cell_out, cfg->input_forget,
                         cfg->reset_before);
    if (cell != CELL_RNN && cfg->activation != 0) /* glia_rnn's: its attribute, checked below */
        return glia__err(GLIA_EINVAL, "%s '%s': activation %d (an option of glia_rnn; the other "
                         "cells take none)", op, nm, cfg->activation);
    if ((cell != CELL_CLOCKWORK && (cfg->modules || cfg->period_base)) ||
        (cell != CELL_SCRN && (cfg->context || cfg->alpha != 0.0f)))
        return glia__err(GLIA_EINVAL, "%s '%s': modules and period_base are options of "
                         "glia_clockwork, context and alpha of glia_scrn", op, nm);
    int ia[GLIA_IA] = {0}; /* full: glia__attrs_check reads every slot */
    float fa[GLIA_FA] = {0};
    ia[RNN_HIDDEN] = cfg->hidden;
    ia[RNN_DIRS] = cfg->bidirectional ? 2 : 1;
    ia[RNN_PEEPHOLE] = cfg->peephole;
    ia[RNN_HAS_H0] = h0 >= 0;
    ia[RNN_HAS_C0] = c0 >= 0;
    ia[RNN_HAS_LENGTHS] = lengths >= 0;
    ia[RNN_ACTIVATION] = cfg->activation;
    ia[RNN_MODULES] = cfg->modules;
    ia[RNN_PERIOD_BASE] = cfg->period_base;
    ia[RNN_CONTEXT] = cfg->context;
    ia[RNN_CELL_OUT] = cfg->cell_out;
    ia[RNN_RESET_BEFORE] = cfg->reset_before;
    ia[RNN_INPUT_FORGET] = cfg->input_forget;
    fa[SCRN_ALPHA] = cfg->alpha;
    char where[GLIA_NAME_MAX + 16]; /* the attributes before the parameters they size */
    snprintf(where, sizeof where, "%s '%s'", op, nm);
    glia_status s = glia__attrs_check(cell_op[cell], where, ia, fa);
    if (s) return s;
    if (cell == CELL_CLOCKWORK && cfg->modules > cfg->hidden)
        return glia__err(GLIA_EINVAL, "%s: %d modules of %d units: at most one module per unit",
                         where, cfg->modules, cfg->hidden);
    if ((s = glia__check_node(g, x))) return s;
    const glia_node *xn = &g->nodes[x];
    char a[96];
    if (xn->shape.ndim != 3)
        return glia__err(GLIA_ESHAPE, "%s '%s': input '%s' has shape %s; recurrent layers take "
                         "time-major sequences [T, N, features]", op, nm, xn->name,
                         glia_shape_str(&xn->shape, a, sizeof a));
    const int opt[3] = {h0, c0, lengths};
    const char *const opt_name[3] = {
        "h0", cell == CELL_SCRN ? "s0" : cell == CELL_CLOCKWORK ? "clock" : "c0", "lengths"};
    for (int k = 0; k < 3; k++)
        if (opt[k] < -1 || opt[k] >= g->n_nodes)
            return glia__err(GLIA_EINVAL, "%s '%s': %s is node %d, which does not exist (-1 for "
                             "none)", op, nm, opt_name[k], opt[k]);

    /* names: parameters "<base>.weight_ih_l<k>[_reverse]", the op node base or "<base>.l<k>" */
    char base[GLIA_NAME_MAX], opname[GLIA_NAME_MAX + 16], pname[GLIA_NAME_MAX + 32];
    if (name) {
        if (strlen(name) >= GLIA_NAME_MAX - 32)
            return glia__err(GLIA_EINVAL, "%s '%.40s...': the name is too long for its parameter "
                             "names (at most %d characters)", op, name, GLIA_NAME_MAX - 33);
        snprintf(base, sizeof base, "%s", name);
    } else {
        snprintf(base, sizeof base, "%s_%d", op, g->n_nodes);
    }
    if (cfg->layer) snprintf(opname, sizeof opname, "%s.l%d", base, cfg->layer);
    else snprintf(opname, sizeof opname, "%s", base);

    const int dirs = ia[RNN_DIRS], scrn = cell == CELL_SCRN;
    const int n_par = scrn ? 5 : 4 + cfg->peephole;
    const int64_t H = cfg->hidden, S = cfg->context, In = xn->shape.dim[2],
                  GH = (cell == CELL_LSTM ? 4 : cell == CELL_GRU ? 3 : 1) * H;
    static const char *const roles[2][5] = {
        {"weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_peephole"},
        {"weight_xs", "weight_xh", "weight_sh", "weight_hh", "bias_h"}}; /* scrn: B A P R b */
    const char *const *role = roles[scrn];
    const int64_t shapes[2][5][2] = {{{GH, In}, {GH, H}, {GH, 0}, {GH, 0}, {3, H}},
                                     {{S, In}, {H, In}, {H, S}, {H, H}, {H, 0}}};
    int in[GLIA_MAX_INPUTS], k = 0, start = g->n_nodes;
    in[k++] = x;
    for (int d = 0; d < dirs; d++)
        for (int p = 0; p < n_par; p++) {
            const int64_t *shape = shapes[scrn][p];
            snprintf(pname, sizeof pname, "%s.%s_l%d%s", base, role[p], cfg->layer,
                     d ? "_reverse" : "");
            if ((s = glia_param(g, pname, shape[1] ? 2 : 1, shape, &in[k++]))) goto fail;
        }
    if (h0 >= 0) in[k++] = h0;
    if (c0 >= 0) in[k++] = c0;
    if (lengths >= 0) in[k++] = lengths;
    if ((s = glia__add_op(g, cell_op[cell], opname, k, in, ia, RNN_N_IA, fa, scrn, out))) goto fail;
    return GLIA_OK;
fail:
    rollback(g, start);
    return s;
}

glia_status glia_rnn(glia_graph *g, const char *name, int x, int h0, int lengths,
                     const glia_rnn_config *cfg, int *out) {
    return glia__recurrent_build(g, CELL_RNN, name, x, h0, -1, lengths, cfg, out);
}

glia_status glia_rnn_final_state(glia_graph *g, int node, float *h, float *c) {
    glia_status s = glia__check_node(g, node);
    if (s) return s;
    glia_node *n = &g->nodes[node];
    const glia_op_id op = glia__node_op(g, node);
    int cell = -1;
    for (int i = 0; i < (int)(sizeof cell_op / sizeof cell_op[0]); i++)
        if (op == cell_op[i]) cell = i;
    if (cell < 0)
        return glia__err(GLIA_EINVAL, "glia_rnn_final_state: node '%s' is a %s, not an rnn, lstm, "
                         "gru, clockwork or scrn", n->name, glia_node_op(g, node));
    if (!h && !c) return glia__err(GLIA_EINVAL, "glia_rnn_final_state: h and c are both NULL");
    if (c && cell != CELL_LSTM && cell != CELL_SCRN)
        return glia__err(GLIA_EINVAL, "glia_rnn_final_state: %s has no cell state (pass c = NULL)",
                         glia__where(g, n));
    int32_t ran = 0; /* (saved state is device memory: read through the device) */
    if (g->compiled && n->saved && (s = glia__dev_read(g, &ran, n->saved, sizeof ran))) return s;
    if (!ran)
        return glia__err(GLIA_ESTATE, "glia_rnn_final_state: %s has not run forward since the "
                         "graph was last compiled", glia__where(g, n));
    geo r;
    geometry(g, n, (rnn_cell)cell, &r);
    const size_t NH = (size_t)r.N * r.H, S = (size_t)n->ia[RNN_CONTEXT], NS = r.N * S;
    for (int d = 0; d < r.dirs && !s; d++) { /* forward: Hs[T] (frozen past the length); reverse: Hs[0] */
        float *Hs, *Cs, *Gs;
        if (cell == CELL_SCRN) { /* scrn.c: Hs then Ss (here Cs) */
            Hs = (float *)n->saved + r.hdr + d * glia__scrn_saved_dir(r.T, r.N, r.H, (int)S);
            Cs = Hs + (size_t)(r.T + 1) * NH;
        } else {
            dir_blocks(n, &r, d, &Hs, &Cs, &Gs);
        }
        size_t t = d == 0 ? (size_t)r.T : 0, nc = cell == CELL_SCRN ? NS : NH;
        if (h) s = glia__dev_read(g, h + d * NH, Hs + t * NH, NH * sizeof(float));
        if (c && !s) s = glia__dev_read(g, c + d * nc, Cs + t * nc, nc * sizeof(float));
    }
    return s;
}
