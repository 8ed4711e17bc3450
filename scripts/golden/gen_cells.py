"""Golden values for the course's other recurrent cells: the Clockwork RNN (Koutnik et al. 2014)
and the SCRN (Mikolov et al. 2015). PyTorch has neither, so each is written here by hand, step
by step from the papers' equations, one sequence and direction at a time (the reverse direction
runs from each sequence's last live step, as PyTorch's packed sequences do), and autograd gives
the gradients of sum(seed * y).

Clockwork: H units in g modules (module i: units floor(i H/g) .. floor((i+1) H/g) - 1) of period
base^i; at the sequence's step k (forward: clock + t, the clock a chunk starts at; reverse: from
each sequence's last step) module i updates iff k % base^i == 0, else keeps its state;
a_t = W_ih x_t + b_ih + (W_hh * M) h_{t-1} + b_hh, M[r, c] = module(c) >= module(r).
SCRN: s_t = (1 - a) B x_t + a s_{t-1}, h_t = sigmoid(P s_t + A x_t + R h_{t-1} + b),
y_t = [h_t, s_t].

Each file holds the inputs, the parameters under glia's names, the configuration ("modules",
"base" and "clock" (0: glia's clock input left out), or "alpha"), y, the seed, the final states (h_n, and s_n for the SCRN) and every
gradient ("d" + name). Multi-layer cases name states per layer: h0_l0, ...
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from common import write, rand  # noqa: E402


def clockwork_dir(x, p, h0, lengths, rev, modules, base, clock):
    """One direction of a clockwork layer: y [T, N, H] (0 past each length), h_n [N, H]."""
    T, N, _ = x.shape
    H = p["weight_hh"].shape[0]
    module = [max(i for i in range(modules) if (i * H) // modules <= j) for j in range(H)]
    mask = torch.tensor([[1.0 if module[c] >= module[r] else 0.0 for c in range(H)]
                         for r in range(H)])
    whh = p["weight_hh"] * mask
    ys, hn = [[None] * N for _ in range(T)], []
    for n in range(N):
        L = lengths[n]
        h = h0[n]
        steps = range(L - 1, -1, -1) if rev else range(L)
        for i, t in enumerate(steps):
            k = i if rev else clock + i
            a = p["weight_ih"] @ x[t, n] + p["bias_ih"] + whh @ h + p["bias_hh"]
            active = torch.tensor([k % (base ** module[j]) == 0 for j in range(H)])
            h = torch.where(active, torch.tanh(a), h)
            ys[t][n] = h
        hn.append(h)
        for t in range(L, T):
            ys[t][n] = torch.zeros(H)
    return torch.stack([torch.stack(row) for row in ys]), torch.stack(hn)


def scrn_dir(x, p, h0, s0, lengths, rev, alpha):
    """One direction of an SCRN layer: y [T, N, H+S], h_n [N, H], s_n [N, S]."""
    T, N, _ = x.shape
    H, S = p["weight_hh"].shape[0], p["weight_xs"].shape[0]
    ys, hn, sn = [[None] * N for _ in range(T)], [], []
    for n in range(N):
        L = lengths[n]
        h, s = h0[n], s0[n]
        for t in (range(L - 1, -1, -1) if rev else range(L)):
            s = (1 - alpha) * (p["weight_xs"] @ x[t, n]) + alpha * s
            h = torch.sigmoid(p["weight_sh"] @ s + p["weight_xh"] @ x[t, n] + p["weight_hh"] @ h
                              + p["bias_h"])
            ys[t][n] = torch.cat([h, s])
        hn.append(h)
        sn.append(s)
        for t in range(L, T):
            ys[t][n] = torch.zeros(H + S)
    return torch.stack([torch.stack(row) for row in ys]), torch.stack(hn), torch.stack(sn)


def case(name, kind, T, N, I, H, S=0, layers=1, bidir=False, lengths=None, modules=0, base=2,
         clock=0, alpha=0.95, comment=""):
    dirs = 2 if bidir else 1
    lens = lengths if lengths is not None else [T] * N
    x = rand(T, N, I).requires_grad_(True)
    out_states, params, config = [], [], []
    if kind == "clockwork":
        config = [("modules", torch.tensor([float(modules)])), ("base", torch.tensor([float(base)])),
                  ("clock", torch.tensor([float(clock)]))]
    else:
        config = [("alpha", torch.tensor([alpha]))]
    y, inp, finals, states = x, I, [], []
    for k in range(layers):
        h0 = rand(dirs, N, H, lo=-0.5, hi=0.5).requires_grad_(True)
        s0 = rand(dirs, N, S, lo=-0.5, hi=0.5).requires_grad_(True) if kind == "scrn" else None
        sfx = "_l%d" % k if layers > 1 else ""
        states.append(("h0" + sfx, h0))
        if s0 is not None:
            states.append(("s0" + sfx, s0))
        outs, hns, sns = [], [], []
        for d in range(dirs):
            p = {}
            if kind == "clockwork":
                shapes = [("weight_ih", (H, inp)), ("weight_hh", (H, H)), ("bias_ih", (H,)),
                          ("bias_hh", (H,))]
            else:
                shapes = [("weight_xs", (S, inp)), ("weight_xh", (H, inp)), ("weight_sh", (H, S)),
                          ("weight_hh", (H, H)), ("bias_h", (H,))]
            for role, shape in shapes:  # wider than a default init: the units leave the linear zone
                p[role] = rand(*shape, lo=-0.8, hi=0.8).requires_grad_(True)
                params.append(("%s_l%d%s" % (role, k, "_reverse" if d else ""), p[role]))
            if kind == "clockwork":
                o, hn = clockwork_dir(y, p, h0[d], lens, d == 1, modules, base, clock)
            else:
                o, hn, sn = scrn_dir(y, p, h0[d], s0[d], lens, d == 1, alpha)
                sns.append(sn)
            outs.append(o)
            hns.append(hn)
        y = torch.cat(outs, 2)
        inp = y.shape[2]
        finals.append(("h_n" + sfx, torch.stack(hns)))
        if kind == "scrn":
            finals.append(("s_n" + sfx, torch.stack(sns)))
    seed = rand(*y.shape)
    (y * seed).sum().backward()
    out = [("x", x)]
    if lengths is not None:
        out.append(("lengths", torch.tensor(lengths, dtype=torch.float32)))
    out += config + params + [(n, t.detach()) for n, t in states]
    out += [("y", y), ("seed", seed)] + finals + [("dx", x.grad)]
    out += [("d" + n, t.grad) for n, t in params] + [("d" + n, t.grad) for n, t in states]
    write(name, out, comment)


torch.manual_seed(0)
case("cells_clockwork", "clockwork", T=9, N=2, I=3, H=5, modules=3, base=2,
     comment="clockwork RNN by hand: 5 units in modules of 1, 2, 2 (periods 1, 2, 4), h0")
case("cells_clockwork_bidir_len", "clockwork", T=7, N=3, I=2, H=6, modules=2, base=3,
     bidir=True, lengths=[7, 4, 1], clock=5,
     comment="clockwork RNN by hand: 2 modules of 3 (periods 1, 3), bidirectional, h0, lengths, "
     "the forward direction's clock at 5")
case("cells_scrn", "scrn", T=5, N=2, I=3, H=4, S=3, alpha=0.95, comment="SCRN by hand, h0, s0")
case("cells_scrn_bidir_len", "scrn", T=5, N=3, I=3, H=3, S=2, alpha=0.8, bidir=True,
     lengths=[2, 5, 4], comment="SCRN by hand, bidirectional, h0, s0, lengths")
case("cells_scrn_2layer_len", "scrn", T=4, N=3, I=2, H=3, S=2, alpha=0.9, layers=2,
     lengths=[4, 1, 3], comment="SCRN by hand, 2 layers, h0, s0, lengths")
