/* lstm.c: the LSTM cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al.
 * 2000), PyTorch's nn.LSTM, with optional peepholes (Gers & Schmidhuber 2000). The time loop,
 * GEMMs, inputs and saved state are shared with rnn and gru (rnn.c, rnn_common.h).
 *
 * Forward, one step, per row and unit (a_* = the rows of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
 * in PyTorch's gate order i, f, g, o; w_c* the peephole weights, 0 without peepholes):
 *   i = sigmoid(a_i + w_ci c_{t-1})        input gate
 *   f = sigmoid(a_f + w_cf c_{t-1})        forget gate
 *   g = tanh(a_g)                          candidate
 *   c_t = f c_{t-1} + i g
 *   o = sigmoid(a_o + w_co c_t)            output gate (its peephole sees the new cell)
 *   h_t = o tanh(c_t)
 * Saved per step and row: i, f, g, o, tanh(c_t) ([N, 5H]); c_t in Cs, h_t in Hs.
 *
 * Backward, one step (dh = carried dL/dh_t + dy_t, dc = carried dL/dc_t from step t+1):
 *   da_o = dh tanh(c_t) o (1 - o)
 *   dc  += dh o (1 - tanh(c_t)^2) + da_o w_co
 *   da_i = dc g i (1 - i),   da_f = dc c_{t-1} f (1 - f),   da_g = dc i (1 - g^2)
 *   dL/dc_{t-1} = dc f + da_i w_ci + da_f w_cf
 *   dL/dh_{t-1} = [da_i da_f da_g da_o] W_hh           (the GEMM in rnn.c)
 *   dw_ci += da_i c_{t-1},  dw_cf += da_f c_{t-1},  dw_co += da_o c_t   (summed after the loop)
 * One pass per step does all of it for a row; rows are split among threads.
 *
 * input_forget (ONNX's, the coupled input and forget gates of Greff et al. 2017; onnxruntime's
 * reading): f = 1 - i, so a_f and w_cf are unused (their gradients are 0) and backward, with
 * df = dc c_{t-1} the gradient of f, has da_i = (dc g - df) i (1 - i), dL/dc_{t-1} = dc f +
 * da_i w_ci.
 *
 * cell_out (ONNX's Y_c, PyTorch's c_n): y gets a row T holding each direction's final cell
 * state (forward: c at t = length - 1, reverse: c after t = 0); its gradient is the dc carried
 * into the last step backward runs (rnn.c). */
#include "rnn_common.h"

/* One row's units. peep and cpl (input_forget) are constants once inlined (the callers pass 0
 * or 1), so each version is a loop without branches, which the compiler vectorises (with the
 * peephole tests inside, it did not, and an LSTM step spent more time here than in its GEMM). */
static inline __attribute__((always_inline)) void fwd_row(const rnn_step *s, int n, int peep, int cpl) {
    const int H = s->H, GS = 5 * H;
    const float *wci = s->peep, *wcf = peep ? wci + H : NULL, *wco = peep ? wci + 2 * H : NULL;
    const float *cp = s->cp + (size_t)n * H;
    float *c = s->c + (size_t)n * H, *h = s->h + (size_t)n * H, *y = s->y + (size_t)n * s->ldy;
    float *gi = s->gates + (size_t)n * GS, *gf = gi + H, *gg = gf + H, *go = gg + H, *gt = go + H;
#pragma omp simd /* the units are independent (the arrays never overlap) */
    for (int j = 0; j < H; j++) {
        float ai = gi[j], af = gf[j], ao = go[j];
        if (peep) {
            ai += wci[j] * cp[j];
            af += wcf[j] * cp[j];
        }
        float i = glia__sigmoidf(ai), f = cpl ? 1.0f - i : glia__sigmoidf(af), gv = glia__tanhf(gg[j]);
        float cv = f * cp[j] + i * gv;
        if (peep) ao += wco[j] * cv;
        float o = glia__sigmoidf(ao), tc = glia__tanhf(cv), hv = o * tc;
        gi[j] = i;
        gf[j] = f;
        gg[j] = gv;
        go[j] = o;
        gt[j] = tc;
        c[j] = cv;
        h[j] = hv;
        y[j] = hv;
    }
}

GLIA_RNN_ROWS(fwd_rows, if (s->peep) fwd_row(s, n, 1, 0); else fwd_row(s, n, 0, 0))
GLIA_RNN_ROWS(fwd_rows_cpl, if (s->peep) fwd_row(s, n, 1, 1); else fwd_row(s, n, 0, 1))

void glia__lstm_step_forward(const rnn_step *s) {
    glia__rnn_step_rows(s, s->couple ? GLIA_RNN_PICK(fwd_rows_cpl) : GLIA_RNN_PICK(fwd_rows), 4,
                        5 * s->H, 0);
}

static inline __attribute__((always_inline)) void bwd_row(const rnn_step *s, int n, int peep, int cpl) {
    const int H = s->H, GS = 5 * H, GH = 4 * H;
    const float *wci = s->peep, *wcf = peep ? wci + H : NULL, *wco = peep ? wci + 2 * H : NULL;
    float *dg = s->dg + (size_t)n * GH, *dh = s->dh + (size_t)n * H, *dc = s->dc + (size_t)n * H;
    const float *gi = s->gates + (size_t)n * GS, *gf = gi + H, *gg = gf + H, *go = gg + H,
                *gt = go + H;
    const float *cp = s->cp + (size_t)n * H, *dy = s->dy + (size_t)n * s->ldy;
#pragma omp simd /* the units are independent (the arrays never overlap) */
    for (int j = 0; j < H; j++) {
        float d = dh[j] + dy[j];
        float i = gi[j], f = gf[j], gv = gg[j], o = go[j], tc = gt[j];
        float dao = d * tc * o * (1.0f - o);
        float dcv = dc[j] + d * o * (1.0f - tc * tc);
        if (peep) dcv += dao * wco[j];
        float dai = (dcv * gv - (cpl ? dcv * cp[j] : 0.0f)) * i * (1.0f - i);
        float daf = cpl ? 0.0f : dcv * cp[j] * f * (1.0f - f);
        float dag = dcv * i * (1.0f - gv * gv);
        float dcp = dcv * f;
        if (peep) dcp += dai * wci[j] + daf * wcf[j];
        dg[j] = dai;
        dg[H + j] = daf;
        dg[2 * H + j] = dag;
        dg[3 * H + j] = dao;
        dc[j] = dcp;
        dh[j] = 0.0f;
    }
}

GLIA_RNN_ROWS(bwd_rows, if (s->peep) bwd_row(s, n, 1, 0); else bwd_row(s, n, 0, 0))
GLIA_RNN_ROWS(bwd_rows_cpl, if (s->peep) bwd_row(s, n, 1, 1); else bwd_row(s, n, 0, 1))

void glia__lstm_step_backward(const rnn_step *s) {
    glia__rnn_step_rows(s, s->couple ? GLIA_RNN_PICK(bwd_rows_cpl) : GLIA_RNN_PICK(bwd_rows), 4,
                        5 * s->H, 1);
}

static const glia_attr_def lstm_attrs[] = {
    GLIA_ATTR_I_REQ("hidden", RNN_HIDDEN, 1, INT_MAX),
    GLIA_ATTR_I("dirs", RNN_DIRS, 1, 1, 2),
    GLIA_ATTR_B("peephole", RNN_PEEPHOLE, 0),
    GLIA_ATTR_B("has_h0", RNN_HAS_H0, 0),
    GLIA_ATTR_B("has_c0", RNN_HAS_C0, 0),
    GLIA_ATTR_B("has_lengths", RNN_HAS_LENGTHS, 0),
    GLIA_ATTR_B("cell_out", RNN_CELL_OUT, 0),
    GLIA_ATTR_B("input_forget", RNN_INPUT_FORGET, 0),
};
GLIA_RECURRENT_DEF(lstm, CELL_LSTM,
                   "LSTM layer over a time-major sequence (PyTorch's gates i,f,g,o); "
                   "bidirectional, peepholes, h0/c0, lengths; cell_out: y[T] = final cell states; "
                   "input_forget: f = 1 - i",
                   "x[T,N,I], params, h0?, c0?, len?", 14)

glia_status glia_lstm(glia_graph *g, const char *name, int x, int h0, int c0, int lengths,
                      const glia_rnn_config *cfg, int *out) {
    return glia__recurrent_build(g, CELL_LSTM, name, x, h0, c0, lengths, cfg, out);
}
