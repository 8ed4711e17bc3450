/* seq_cases.h: the recurrent ops' shared test machinery (test_rnn.c), used by test_rnn.c,
 * test_lstm.c, test_gru.c and test_cells.c: one case description, its graph, and the checks
 * every recurrent op gets (finite differences, the reference device, padding, PyTorch golden
 * values). */
#ifndef GLIA_TEST_SEQ_CASES_H
#define GLIA_TEST_SEQ_CASES_H
#include "test.h"

enum { K_RNN, K_LSTM, K_GRU, K_CLOCKWORK, K_SCRN };
typedef struct seq_case {
    int kind, T, N, I, H, bidir, peep, act, with_h0, with_c0, with_len;
    int len[8];        /* lengths with_len; past 8 rows the 8 repeat (seq_build only) */
    int modules, base; /* clockwork (with_c0: its clock input, set to clock) */
    int clock;
    int S;             /* scrn: the context's size (with_c0: its s0) */
    float alpha;       /* scrn: the context's decay */
    int cell_out;      /* lstm: y[T] = the final cell states */
    int reset_before;  /* gru: the reset gate before W_hn (ONNX's linear_before_reset = 0) */
    int input_forget;  /* lstm: f = 1 - i (ONNX's input_forget) */
} seq_case;
typedef struct seq_net {
    glia_graph *g;
    int x, h0, c0, len, y;  /* c0: the lstm's c0, the scrn's s0 or the clockwork's clock */
    int leaf[24], n_leaf;   /* x, the parameters in op input order, h0, c0 */
} seq_net;

int seq_build(const seq_case *c, seq_net *s, uint64_t seed);
int seq_reference_check(const seq_case *c, uint64_t seed, double tol);
int seq_gradcheck(const seq_case *c, uint64_t seed, double tol);
int seq_padding_check(int kind);
/* with `threads` threads: forward, backward from a fixed seed; the output then every leaf's
 * gradient into out (at most cap values, *used of them) */
int seq_run_threads(int threads, const seq_case *c, float *out, int64_t cap, int64_t *used);
/* (a file with a tensor "cell_out", "reset_before" or "input_forget" holding 1 builds its ops
 * with that option) */
int seq_golden(const char *file, int kind, int layers, int bidir, int act, int with_len,
               int many_to_one, double tol);
#endif
