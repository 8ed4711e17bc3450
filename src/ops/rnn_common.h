/* rnn_common.h: what the recurrent ops (rnn.c, lstm.c, gru.c, clockwork.c; scrn.c in part)
 * share: their attributes, their inputs, the saved-state layout and the time loop (in rnn.c),
 * which calls one fused elementwise pass per time step written by each cell. The clockwork RNN
 * is the Elman cell with modules (clockwork.c); the SCRN has two states and its own loop
 * (scrn.c), and shares the attributes, lengths, builder, column sums and final state.
 *
 * Inputs, in order (PyTorch's names and shapes, G gates: rnn and clockwork 1, lstm 4 (i f g o),
 * gru 3 (r z n)):
 *   x [T, N, I]                                            time-major
 *   per direction d (forward, then reverse when bidirectional):
 *     weight_ih [G*H, I], weight_hh [G*H, H], bias_ih [G*H], bias_hh [G*H],
 *     lstm with peepholes: weight_peephole [3, H] (rows w_ci, w_cf, w_co)
 *   h0 [dirs, N, H]?  c0 [dirs, N, H]? (lstm; clockwork: its clock [1])  lengths [N]?
 *   (present as the flags say)
 * (Three [H] peephole inputs per direction would put a bidirectional LSTM with h0, c0 and lengths
 * at 18 inputs, over GLIA_MAX_INPUTS = 16; so they are one [3, H] tensor.)
 *
 * Attributes (slots RNN_* in attrs.h, declared in each op's file): hidden (H), dirs (1 or 2),
 * has_h0, has_c0 (lstm), has_lengths (which optional inputs are given), peephole (lstm),
 * activation (rnn: GLIA_RNN_TANH or GLIA_RNN_RELU), cell_out (lstm: y [T+1, N, D*H], row T
 * the final cell states, whose gradient starts backward's dc), input_forget (lstm: lstm.c),
 * reset_before (gru: gru.c). The
 * lengths get no gradient.
 *
 * Saved state (n->saved), written by forward, read by backward and glia_rnn_final_state:
 *   int32 header: [0] 1 once a forward finished, [1] the clockwork's clock (else 0), [2 .. 2+N)
 *   the lengths
 *   (padded to 16 floats), then per direction:
 *     Hs [T+1, N, H]   hidden states in time order: forward Hs[0] = h0, Hs[t+1] = h_t;
 *                      reverse Hs[t] = h_t, Hs[T] = h0. So the state each step t reads,
 *                      h_prev(t), is Hs[t] (forward) or Hs[t+1] (reverse), and all T of them
 *                      are one contiguous [T*N, H] block: dW_hh is one GEMM.
 *     Cs [T+1, N, H]   lstm: the cell states, laid out as Hs
 *     Gs [T, N, GS]    per step and row the cell's gate values (lstm: i f g o tanh(c), GS = 5H;
 *                      gru: r z n (W_hn h_prev + b_hn), GS = 4H, with reset_before r z n
 *                      (r h_prev); rnn: none, h_t is in Hs)
 * A row n is live at step t iff t < lengths[n]; at other steps its state is copied from the
 * previous step (forward) or still h0 (reverse), its output is 0 and its gate gradients are 0. */
#ifndef GLIA_RNN_COMMON_H
#define GLIA_RNN_COMMON_H
#include "../core/internal.h"
#include "fast_math.h"
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef enum { CELL_RNN, CELL_LSTM, CELL_GRU, CELL_CLOCKWORK, CELL_SCRN } rnn_cell;

/* The saved state's layout, in floats (above): the header, and each direction's block after it
 * (rnn.c; the reference device's kernels write the same, src/device/ref_rnn.c). */
static inline size_t glia__rnn_saved_header(int N) { return ((size_t)N + 2 + 15) / 16 * 16; }
static inline size_t glia__rnn_saved_dir(rnn_cell cell, int T, int N, int H) {
    size_t NH = (size_t)N * H,
           GS = cell == CELL_LSTM ? 5 * (size_t)H : cell == CELL_GRU ? 4 * (size_t)H : 0;
    return (size_t)(T + 1) * NH * (cell == CELL_LSTM ? 2 : 1) + (size_t)T * N * GS;
}

/* One step's fused elementwise pass: every pointer is this step's block. */
typedef struct rnn_step {
    int N, H, t;
    const int32_t *len;        /* row n is live iff t < len[n] */
    float *gates;              /* Gs at step t [N, GS]; forward: pre-activations on entry */
    const float *hh;           /* gru forward: h_prev W_hh^T [N, 3H]; reset_before backward: dq */
    const float *hp, *cp;      /* h_prev, c_prev [N, H] */
    float *h, *c;              /* h_t, c_t [N, H] (forward writes them, backward reads) */
    float *y;                  /* forward: output rows of this direction, row stride ldy */
    const float *dy;           /* backward: the output's gradient, row stride ldy */
    int ldy;
    const float *b_hn;         /* gru: bias_hh's n part [H] */
    const float *peep;         /* lstm: [3, H] or NULL */
    int couple;                /* lstm: input_forget (f = 1 - i) */
    int act;                   /* rnn */
    float *dh, *dc;            /* backward: carried dL/dh, dL/dc [N, H] (in: from step t+1) */
    float *dg, *dgh;           /* backward: gate gradients [N, G*H], input side, hidden side */
    int modules, base, rev;    /* clockwork: g, the periods' base, 1 in the reverse direction, */
    int clock;                 /* and the forward direction's step at t = 0 */
} rnn_step;

/* A step's padded rows (t >= len[n]): forward carries the state (h, and c for the lstm) and
 * writes output 0; backward zeroes the row's G*H gate gradients (both sides for the gru), so
 * that dh and dc pass through unchanged. */
static inline void glia__rnn_pad_forward(const rnn_step *s, int n) {
    const size_t H = (size_t)s->H;
    memcpy(s->h + n * H, s->hp + n * H, H * sizeof(float));
    if (s->c) memcpy(s->c + n * H, s->cp + n * H, H * sizeof(float));
    memset(s->y + (size_t)n * s->ldy, 0, H * sizeof(float));
}
static inline void glia__rnn_pad_backward(const rnn_step *s, int n, int G) {
    const size_t GH = (size_t)G * s->H;
    memset(s->dg + n * GH, 0, GH * sizeof(float));
    if (s->dgh != s->dg) memset(s->dgh + n * GH, 0, GH * sizeof(float));
}

/* cell passes (rnn.c, lstm.c, gru.c) */
void glia__rnn_step_forward(const rnn_step *s);
void glia__rnn_step_backward(const rnn_step *s);
void glia__lstm_step_forward(const rnn_step *s);
void glia__lstm_step_backward(const rnn_step *s);
void glia__gru_step_forward(const rnn_step *s);
void glia__gru_step_backward(const rnn_step *s);
/* the gru with reset_before: its step's passes around the GEMMs of rnn.c (gru.c) */
void glia__gru_rb_step_gates(const rnn_step *s);
void glia__gru_rb_step_out(const rnn_step *s);
void glia__gru_rb_step_back1(const rnn_step *s);
void glia__gru_rb_step_back2(const rnn_step *s);
void glia__clockwork_step_forward(const rnn_step *s);
void glia__clockwork_step_backward(const rnn_step *s);

/* Clockwork modules (clockwork.c). Module i holds units [i H / g, (i+1) H / g) (floors) and has
 * period base^i; at a sequence's step k (k = clock + t forward, L_n - 1 - t reverse) the modules that
 * update are 0 .. m-1, m = 1 + the largest i < g with base^i | k (all g at k = 0): always a
 * prefix, so the active units are [0, glia__clockwork_end(k, ...)). */
int glia__clockwork_end(int k, int H, int g, int base);
/* the clock input (a float holding an integer in [0, 2^24)) of node n, 0 when input < 0;
 * GLIA_ERANGE naming the node otherwise */
glia_status glia__clockwork_clock(glia_graph *g, glia_node *n, int input, int32_t *clock);
/* the largest active end over the live rows of step s->t (0 when none is live): the columns
 * of the step's recurrent GEMMs */
int glia__clockwork_step_end(const rnn_step *s);
/* Wm = W_hh with the entries outside the block upper triangle zeroed (row r of module i keeps
 * columns >= i H / g): [H, H] */
void glia__clockwork_mask(const float *W, int H, int g, float *Wm);
/* dW_hh += dA^T Hp on the block upper triangle only: dA [rows, H], Hp [rows, H] */
void glia__clockwork_dweight(float *dW, const float *dA, const float *Hp, int64_t rows, int H,
                             int g);

/* the SCRN's saved state per direction (scrn.c): Hs [T+1, N, H] then Ss [T+1, N, S], laid out
 * as the other cells' Hs (after the same header) */
static inline size_t glia__scrn_saved_dir(int T, int N, int H, int S) {
    return (size_t)(T + 1) * N * ((size_t)H + S);
}
/* acc[j] += sum over rows i, in order, of a[i lda + j] (times b[i ldb + j] when b), j < cols;
 * threads split the columns, so each sum has one fixed order (rnn.c) */
void glia__colsum_add(float *acc, const float *a, int lda, const float *b, int ldb, int64_t rows,
                      int cols);
/* GLIA_ESHAPE unless input t has shape [d0, d1, d2][:ndim], naming `what` (of direction d >= 0) */
glia_status glia__rnn_check_shape(glia_graph *g, glia_node *n, const glia_node *t,
                                  const char *what, int d, int ndim, int64_t d0, int64_t d1,
                                  int64_t d2);

/* the shared op functions (rnn.c) */
glia_status glia__recurrent_infer(glia_graph *g, glia_node *n, rnn_cell cell);
glia_status glia__recurrent_forward(glia_graph *g, glia_node *n, rnn_cell cell);
void glia__recurrent_backward(glia_graph *g, glia_node *n, rnn_cell cell);
/* glia_op_def.no_grad of the recurrent ops: the lengths, the last input when given */
bool glia__recurrent_no_grad(const glia_node *n, int k);
/* The op def of cell (rnn, lstm, gru; CELL its rnn_cell) from <cell>_attrs: its infer, forward
 * and backward are the shared ones above for CELL, and what the three share (the output, at
 * least x and one direction's four parameters, backward reads the inputs, no gradient for the
 * lengths) is said once */
#define GLIA_RECURRENT_DEF(cell, CELL, what, in, max)                                             \
    static glia_status cell##_infer(glia_graph *g, glia_node *n) {                                \
        return glia__recurrent_infer(g, n, CELL);                                                 \
    }                                                                                             \
    static glia_status cell##_forward(glia_graph *g, glia_node *n) {                              \
        return glia__recurrent_forward(g, n, CELL);                                               \
    }                                                                                             \
    static void cell##_backward(glia_graph *g, glia_node *n) {                                    \
        glia__recurrent_backward(g, n, CELL);                                                     \
    }                                                                                             \
    const glia_op_def glia__op_##cell = {                                                         \
        .name = #cell, .summary = what, .inputs = in, .outputs = "y[T,N,D*H]", .min_in = 5,       \
        .max_in = max, .flags = OPF_BWD_INPUTS, .infer = cell##_infer,                            \
        .forward = cell##_forward, .backward = cell##_backward, GLIA_ATTRS(cell##_attrs),         \
        .no_grad = glia__recurrent_no_grad};
/* lengths input (floats holding integers 1..T) -> int32, GLIA_ERANGE naming the node for a bad
 * one; input < 0: all T (rnn.c; seq_last.c uses it too) */
glia_status glia__read_lengths(glia_graph *g, glia_node *n, int input, int T, int N, int32_t *len);
/* The many-to-one read-outs (seq_last.c, seq_pool.c): y [T, N, D], lengths [N]? -> out [N, D].
 * Their infer's checks (D divisible by dirs) and output shape; the caller sets saved_bytes. */
glia_status glia__seq_readout_infer(glia_graph *g, glia_node *n, int dirs);
/* their builder: attr their one attribute */
glia_status glia__seq_readout_add(glia_graph *g, glia_op_id op, const char *name, int y,
                                  int lengths, int attr, int *out);
/* the op def of a read-out from <op>_infer, _forward, _backward and _attrs: the inputs, the
 * output and no gradient for the lengths said once */
#define GLIA_SEQ_READOUT_DEF(op, what)                                                            \
    const glia_op_def glia__op_##op = {                                                           \
        .name = #op, .summary = what, .inputs = "y[T,N,D], lengths[N]?", .outputs = "out[N,D]",   \
        .min_in = 1, .max_in = 2, .infer = op##_infer, .forward = op##_forward,                   \
        .backward = op##_backward, GLIA_ATTRS(op##_attrs), .no_grad = glia__no_grad_in1};
/* builds the parameters and the op node; on error nothing is added to the graph (c0: the
 * lstm's c0 or the scrn's s0) */
glia_status glia__recurrent_build(glia_graph *g, rnn_cell cell, const char *name, int x, int h0,
                                  int c0, int lengths, const glia_rnn_config *cfg, int *out);

/* Work (units x gates) from which a step's fused pass splits rows among OpenMP threads. A
 * compile-time knob (-DGLIA_RNN_STEP_PAR_MIN=...) to measure the per-step OpenMP regions, which
 * alternate with OpenBLAS's own threads 2T times per direction. Vectorised, an LSTM step of 32
 * rows x 256 units took 27 us forward and 8 us backward on one thread, 39 and 28 on two
 * (waking the second thread costs more than it saves), so it runs on one. */
#ifndef GLIA_RNN_STEP_PAR_MIN
#define GLIA_RNN_STEP_PAR_MIN (8 * GLIA_PAR_MIN)
#endif

#ifdef __clang__
/* the cells' `omp simd` loops are not vectorised at -O1 (the fuzzing and sanitizer builds),
 * which clang reports as an error under -Werror; they are correct either way */
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

/* The cells' loops over one row's units are compiled twice: for the baseline (SSE2; glia builds
 * without -march) and for AVX-512, 5.5x faster there (LSTM forward, N 32, H 256, one thread).
 * GLIA_RNN_ROWS(name, call) defines name(s, n) and name_avx512(s, n), each running `call` (an
 * always_inline row function, so it is compiled into each); GLIA_RNN_PICK(name) is the one
 * this CPU runs. glia__rnn_algo is a test hook: 1 keeps the baseline build. */
extern int glia__rnn_algo;
typedef void glia_rnn_rows(const rnn_step *s, int n);
#define GLIA_RNN_ROWS(name, call)                                                      \
    static void name(const rnn_step *s, int n) { call; }                               \
    GLIA_AVX512 static void name##_avx512(const rnn_step *s, int n) { call; }
#define GLIA_RNN_PICK(name) \
    (glia__rnn_algo == 0 && glia__cpu_avx512f() ? name##_avx512 : name)
/* The lstm's and gru's step passes (rnn.c): rows(s, n) on each live row, the padding above on
 * the others (G gates, GS saved floats per unit); rows split among threads from
 * GLIA_RNN_STEP_PAR_MIN units x GS */
void glia__rnn_step_rows(const rnn_step *s, glia_rnn_rows *rows, int G, int GS, int backward);

#endif
