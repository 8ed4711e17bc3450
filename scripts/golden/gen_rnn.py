"""Golden values for the recurrent ops (rnn, lstm, gru), seq_last, embedding and embedding_bag.

Each case runs PyTorch's nn.RNN / nn.LSTM / nn.GRU (time-major, batch_first=False) on small
random data and writes the inputs, the parameters under their state_dict names, the padded
output y [T, N, dirs*H], the final states, a seed, and the gradients of sum(seed * y) with
respect to x, every parameter and the initial states ("d" + name). Variable lengths go through
pack_padded_sequence + pad_packed_sequence (total_length = T), which is what glia's lengths
input reproduces. Multi-layer cases split h0/c0/h_n per layer: h0_l0 = h0[0:dirs], ...

The ONNX variants (the cases at the end, seeded on their own): an LSTM with cell_out (y gets a
row T, the final cell states c_n, directions side by side: ONNX's Y_c), a GRU with the reset
gate before W_hn (ONNX's linear_before_reset = 0) and an LSTM with coupled input and forget
gates (ONNX's input_forget), which PyTorch has no modules for: Explicit below writes the cells'
formulas out and autograd differentiates them; without the option it must equal nn.GRU and
nn.LSTM, checked here. Their files hold "cell_out" / "reset_before" / "input_forget" = 1.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402
from common import write, rand  # noqa: E402


class Explicit(torch.nn.Module):
    """One GRU or LSTM layer written out step by step (time-major, PyTorch's gate orders r, z, n
    and i, f, g, o and parameter names), for the variants PyTorch has no module for:
    gru, option set: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn) (ONNX's linear_before_reset
    = 0), else PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn));
    lstm, option set: f = 1 - i (ONNX's input_forget), else PyTorch's cell.
    lengths: sequence b runs steps t < lengths[b]; y is 0 after; the reverse direction starts
    at lengths[b] - 1 (what pack_padded_sequence gives)."""

    def __init__(self, kind, I, H, bidir, option):
        super().__init__()
        self.kind, self.H, self.dirs, self.option = kind, H, 2 if bidir else 1, option
        G = 4 if kind == "lstm" else 3
        for d in range(self.dirs):
            sfx = "_l0" + ("_reverse" if d else "")
            for pn, shape in (("weight_ih", (G * H, I)), ("weight_hh", (G * H, H)),
                              ("bias_ih", (G * H,)), ("bias_hh", (G * H,))):
                self.register_parameter(pn + sfx, torch.nn.Parameter(torch.zeros(*shape)))

    def step(self, x, h, c, Wi, Wh, bi, bh):
        H = self.H
        a = x @ Wi.t() + bi
        if self.kind == "lstm":
            a = a + h @ Wh.t() + bh
            i = torch.sigmoid(a[:, :H])
            f = 1 - i if self.option else torch.sigmoid(a[:, H:2 * H])
            c = f * c + i * torch.tanh(a[:, 2 * H:3 * H])
            return torch.sigmoid(a[:, 3 * H:]) * torch.tanh(c), c
        u = h @ Wh[:2 * H].t() + bh[:2 * H]
        r = torch.sigmoid(a[:, :H] + u[:, :H])
        z = torch.sigmoid(a[:, H:2 * H] + u[:, H:])
        if self.option:
            n = torch.tanh(a[:, 2 * H:] + (r * h) @ Wh[2 * H:].t() + bh[2 * H:])
        else:
            n = torch.tanh(a[:, 2 * H:] + r * (h @ Wh[2 * H:].t() + bh[2 * H:]))
        return (1 - z) * n + z * h, c

    def forward(self, x, state, lengths=None):
        T, N = x.shape[0], x.shape[1]
        h0, c0 = state if self.kind == "lstm" else (state, torch.zeros_like(state))
        L = torch.tensor(lengths if lengths is not None else [T] * N)
        ys, hn, cn = [], [], []
        for d in range(self.dirs):
            sfx = "_l0" + ("_reverse" if d else "")
            p = [getattr(self, pn + sfx) for pn in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            h, c, out = h0[d], c0[d], [None] * T
            for t in (range(T - 1, -1, -1) if d else range(T)):
                live = (t < L).float().unsqueeze(1)
                hv, cv = self.step(x[t], h, c, *p)
                h, c = live * hv + (1 - live) * h, live * cv + (1 - live) * c
                out[t] = live * hv
            ys.append(torch.stack(out))
            hn.append(h)
            cn.append(c)
        hn = torch.stack(hn)
        return torch.cat(ys, 2), ((hn, torch.stack(cn)) if self.kind == "lstm" else hn)


def run(module, x, h0, c0, lengths):
    """y (padded, [T, N, D*H]) and the final states of module on x."""
    T = x.shape[0]
    if isinstance(module, Explicit):
        return module(x, (h0, c0) if c0 is not None else h0, lengths)
    state = (h0, c0) if c0 is not None else h0
    if lengths is None:
        y, hn = module(x, state)
    else:
        packed = pack_padded_sequence(x, torch.tensor(lengths, dtype=torch.int64),
                                      enforce_sorted=False)
        y, hn = module(packed, state)
        y, _ = pad_packed_sequence(y, total_length=T)
    return y, hn


def case(name, kind, T, N, I, H, layers=1, bidir=False, nonlinearity="tanh", lengths=None,
         comment="", many_to_one=False, cell_out=False):
    dirs = 2 if bidir else 1
    if kind == "gru_rb":
        m = Explicit("gru", I, H, bidir, option=True)
    elif kind == "lstm_if":
        m = Explicit("lstm", I, H, bidir, option=True)
    elif kind == "rnn":
        m = torch.nn.RNN(I, H, num_layers=layers, nonlinearity=nonlinearity, bidirectional=bidir)
    elif kind == "lstm":
        m = torch.nn.LSTM(I, H, num_layers=layers, bidirectional=bidir)
    else:
        m = torch.nn.GRU(I, H, num_layers=layers, bidirectional=bidir)
    with torch.no_grad():  # wider than PyTorch's default init, so the gates leave the linear zone
        for p in m.parameters():
            p.copy_(rand(*p.shape, lo=-0.8, hi=0.8))
    x = rand(T, N, I).requires_grad_(True)
    h0 = rand(layers * dirs, N, H, lo=-0.5, hi=0.5).requires_grad_(True)
    c0 = rand(layers * dirs, N, H, lo=-0.5, hi=0.5).requires_grad_(True) if "lstm" in kind else None
    y, hn = run(m, x, h0, c0, lengths)
    hn, cn = hn if "lstm" in kind else (hn, None)
    if many_to_one:  # what seq_last reads: the last layer's h_n, directions side by side
        y = torch.cat([hn[-2], hn[-1]], 1) if bidir else hn[-1]
    if cell_out:  # y[T]: c_n, directions side by side (one layer)
        y = torch.cat([y, torch.cat(list(cn), 1).unsqueeze(0)], 0)
    seed = rand(*y.shape)
    (y * seed).sum().backward()

    out = [("x", x)]
    if cell_out:
        out.append(("cell_out", torch.ones(1)))
    if kind == "gru_rb":
        out.append(("reset_before", torch.ones(1)))
    if kind == "lstm_if":
        out.append(("input_forget", torch.ones(1)))
    if lengths is not None:
        out.append(("lengths", torch.tensor(lengths, dtype=torch.float32)))
    params = list(m.named_parameters())
    out += [(pn, p) for pn, p in params]
    states = [("h0", h0)] + ([("c0", c0)] if c0 is not None else [])

    def per_layer(tname, t):
        if layers == 1:
            return [(tname, t)]
        return [("%s_l%d" % (tname, k), t[k * dirs:(k + 1) * dirs]) for k in range(layers)]

    for sn, s in states:
        out += per_layer(sn, s.detach())
    out += [("y", y), ("seed", seed)]
    out += per_layer("h_n", hn)
    if cn is not None:
        out += per_layer("c_n", cn)
    out += [("dx", x.grad)]
    out += [("d" + pn, p.grad) for pn, p in params]
    for sn, s in states:
        out += per_layer("d" + sn, s.grad)
    write(name, out, comment)


torch.manual_seed(0)
case("rnn_rnn_tanh", "rnn", T=4, N=3, I=3, H=4, comment="nn.RNN tanh, h0")
case("rnn_rnn_relu_bidir_len", "rnn", T=4, N=3, I=3, H=4, bidir=True, nonlinearity="relu",
     lengths=[4, 2, 3], comment="nn.RNN relu, bidirectional, h0, lengths (packed)")
case("rnn_lstm", "lstm", T=5, N=2, I=3, H=4, comment="nn.LSTM, h0, c0")
case("rnn_lstm_bidir_len", "lstm", T=5, N=3, I=3, H=4, bidir=True, lengths=[3, 5, 1],
     comment="nn.LSTM bidirectional, h0, c0, lengths (packed)")
case("rnn_gru", "gru", T=5, N=2, I=3, H=4, comment="nn.GRU, h0")
case("rnn_gru_bidir_len", "gru", T=4, N=3, I=2, H=3, bidir=True, lengths=[2, 4, 3],
     comment="nn.GRU bidirectional, h0, lengths (packed)")
case("rnn_lstm_2layer_bidir", "lstm", T=4, N=2, I=3, H=3, layers=2, bidir=True,
     comment="nn.LSTM num_layers=2, bidirectional, h0, c0")
case("rnn_gru_2layer_len", "gru", T=5, N=3, I=3, H=4, layers=2, lengths=[5, 2, 4],
     comment="nn.GRU num_layers=2, h0, lengths (packed)")
case("rnn_lstm_many_to_one", "lstm", T=5, N=3, I=3, H=4, bidir=True, lengths=[2, 5, 4],
     many_to_one=True,
     comment="nn.LSTM bidirectional, lengths; y = cat(h_n[-2], h_n[-1]) (seq_last)")

# embedding: ids [3, 4] in [0, 6) with padding_idx 2 present, weight [6, 5]
ids = torch.tensor([[0, 2, 5, 1], [3, 3, 2, 4], [5, 0, 1, 2]])
w = rand(6, 5).requires_grad_(True)
y = torch.nn.functional.embedding(ids, w, padding_idx=2)
seed = rand(*y.shape)
(y * seed).sum().backward()
write("rnn_embedding", [("indices", ids.float()), ("weight", w), ("y", y), ("seed", seed),
                        ("dweight", w.grad)], "F.embedding, padding_idx = 2")

# embedding_bag: ids [3, 2, 4] (bags of K = 4 slots, -1 empty; one bag all empty, one id twice
# in a bag), weight [7, 5]. F.embedding_bag(mode='sum') with -1 mapped to padding_idx = 7, an
# extra row that PyTorch leaves out of every bag.
ids = torch.tensor([[[0, 3, -1, -1], [6, 6, 2, 1]], [[-1, -1, -1, -1], [4, -1, 5, -1]],
                    [[1, 2, 3, 4], [5, -1, -1, 0]]])
w = rand(7, 5).requires_grad_(True)
bags = torch.where(ids < 0, torch.full_like(ids, 7), ids).reshape(6, 4)
y = torch.nn.functional.embedding_bag(bags, torch.cat([w, torch.zeros(1, 5)]), mode="sum",
                                      padding_idx=7).reshape(3, 2, 5)
seed = rand(*y.shape)
(y * seed).sum().backward()
write("rnn_embedding_bag", [("indices", ids.float()), ("weight", w), ("y", y), ("seed", seed),
                            ("dweight", w.grad)], "F.embedding_bag, mode = 'sum'; -1: empty slot")

# the ONNX variants (seeded on their own, so the files above stay as they were)
torch.manual_seed(1)
with torch.no_grad():  # Explicit without its option is nn.GRU / nn.LSTM (packed lengths, both directions)
    for kind, ref in (("gru", torch.nn.GRU(3, 4, bidirectional=True)), ("lstm", torch.nn.LSTM(3, 4, bidirectional=True))):
        mine = Explicit(kind, 3, 4, True, option=False)
        mine.load_state_dict(ref.state_dict())
        xx, hh, cc = rand(5, 3, 3), rand(2, 3, 4), rand(2, 3, 4) if kind == "lstm" else None
        for lens in (None, [5, 2, 3]):
            (ya, ha), (yb, hb) = run(ref, xx, hh, cc, lens), run(mine, xx, hh, cc, lens)
            ha, hb = (torch.cat(ha), torch.cat(hb)) if kind == "lstm" else (ha, hb)
            assert (ya - yb).abs().max() < 1e-6 and (ha - hb).abs().max() < 1e-6, "Explicit != nn." + kind
case("rnn_lstm_cell_out_bidir_len", "lstm", T=5, N=3, I=3, H=4, bidir=True, lengths=[3, 5, 1],
     cell_out=True, comment="nn.LSTM bidirectional, h0, c0, lengths (packed); y = cat(y, c_n)")
case("rnn_gru_reset_before", "gru_rb", T=5, N=2, I=3, H=4,
     comment="GRU with the reset gate before W_hn (ONNX linear_before_reset = 0), h0")
case("rnn_gru_reset_before_bidir_len", "gru_rb", T=4, N=3, I=2, H=3, bidir=True, lengths=[2, 4, 3],
     comment="GRU reset gate before W_hn, bidirectional, h0, lengths")
# (after the files above, so that they stay as they were)
case("rnn_lstm_input_forget_bidir_len", "lstm_if", T=5, N=3, I=3, H=4, bidir=True, lengths=[3, 5, 1],
     comment="LSTM with f = 1 - i (ONNX input_forget), bidirectional, h0, c0, lengths")
