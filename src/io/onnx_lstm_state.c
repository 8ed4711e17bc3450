/* onnx_lstm_state.c: the final cell state Y_c of an ONNX LSTM (onnx_internal.h). glia's lstm op
 * gives the hidden states h_t only; Y_c is recomputed beside it from those h_t and the op's own
 * parameters (PyTorch's gate order i, f, g, o), as exact glia ops, so gradients reach the same
 * parameters along both paths:
 *   a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh       (h_{-1} = h0, h_t from the lstm op)
 *   i_t = sigmoid(a_t[0:H]), f_t = sigmoid(a_t[H:2H]), g_t = tanh(a_t[2H:3H])
 *   c_t = f_t * c_{t-1} + i_t * g_t                       (c_{-1} = c0), Y_c = c_{T-1}
 * All T steps' gates come from two products over [T N, .] rows; the recurrence on c is T
 * element-wise steps (Silero VAD's decoder: T = 1). Forward direction, full lengths, no
 * peepholes. */
#include "io/onnx_internal.h"
#include <stdio.h>

static glia_status ok(ox_ctx *c, glia_status s) {
    return s ? ox_fail(c, s, "Y_c: %s", glia_last_error()) : GLIA_OK;
}

/* a [1, N, H] state, or zeros when absent (-1), as [N, H] rows */
static glia_status state_rows(ox_ctx *c, int st, int64_t N, int64_t H, int *out) {
    glia_status s;
    if (st < 0) {
        if ((s = ok(c, glia_buffer(c->g, NULL, 2, (const int64_t[]){N, H}, out)))) return s;
        float *p = glia_node_value(c->g, *out);
        for (int64_t i = 0; i < N * H; i++) p[i] = 0;
        return GLIA_OK;
    }
    return ok(c, glia_time_flatten(c->g, NULL, st, out));
}

glia_status ox_lstm_cell_state(ox_ctx *c, const char *lstm, int x, int h0, int c0, int y,
                               int64_t T, int64_t N, int64_t H, int *out) {
    int w[4];
    static const char *const part[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    glia_status s;
    for (int p = 0; p < 4; p++) {
        char pn[GLIA_NAME_MAX + 32];
        snprintf(pn, sizeof pn, "%s.%s_l0", lstm, part[p]);
        if ((s = ok(c, glia_graph_find(c->g, pn, &w[p])))) return s;
    }
    int xr, hprev = h0, hr, gx, gh, a, gate[3];
    if (h0 < 0 && (s = ok(c, glia_buffer(c->g, NULL, 3, (const int64_t[]){1, N, H}, &hprev)))) return s;
    if (h0 < 0) {
        float *p = glia_node_value(c->g, hprev);
        for (int64_t i = 0; i < N * H; i++) p[i] = 0;
    }
    if (T > 1) { /* h_{t-1} for t = 0..T-1: h0, then y[0..T-2] */
        int prev;
        if ((s = ok(c, glia_slice(c->g, NULL, y, 0, 0, T - 1, &prev))) ||
            (s = ok(c, glia_concat(c->g, NULL, 2, (const int[]){hprev, prev}, 0, &hprev))))
            return s;
    }
    if ((s = ok(c, glia_time_flatten(c->g, NULL, x, &xr))) || (s = ok(c, glia_time_flatten(c->g, NULL, hprev, &hr))) ||
        (s = ok(c, glia_dense(c->g, NULL, xr, w[0], w[2], &gx))) || (s = ok(c, glia_dense(c->g, NULL, hr, w[1], w[3], &gh))) ||
        (s = ok(c, glia_add(c->g, NULL, gx, gh, &a))))
        return s;
    for (int k = 0; k < 3; k++) {
        int t;
        if ((s = ok(c, glia_slice(c->g, NULL, a, 1, k * H, (k + 1) * H, &t))) ||
            (s = ok(c, (k < 2 ? glia_sigmoid : glia_tanh)(c->g, NULL, t, &gate[k]))))
            return s;
    }
    int cs;
    if ((s = state_rows(c, c0, N, H, &cs))) return s;
    for (int64_t t = 0; t < T; t++) {
        int g3[3], fc, ig;
        for (int k = 0; k < 3; k++) {
            g3[k] = gate[k];
            if (T > 1 && (s = ok(c, glia_slice(c->g, NULL, gate[k], 0, t * N, (t + 1) * N, &g3[k])))) return s;
        }
        if ((s = ok(c, glia_mul(c->g, NULL, g3[1], cs, &fc))) || (s = ok(c, glia_mul(c->g, NULL, g3[0], g3[2], &ig))) ||
            (s = ok(c, glia_add(c->g, NULL, fc, ig, &cs))))
            return s;
    }
    *out = cs; /* [N, H] */
    return GLIA_OK;
}
