"""Golden values for seq_pool: many-to-one mean and max over each sequence's live steps.

y [T, N, D] time-major with lengths; PyTorch reference per sequence n: y[:L_n, n].mean(0) or
y[:L_n, n].max(0).values. The padded steps hold large values, so a read-out that looked at
them would be far off; their gradient must be 0.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from common import write, rand  # noqa: E402

torch.manual_seed(7)
T, N, D = 5, 3, 4
lengths = [3, 5, 1]
base = rand(T, N, D)
for n, L in enumerate(lengths):
    base[L:, n] = 100.0  # padding: must not reach the output
for mode in ("mean", "max"):
    y = base.clone().requires_grad_(True)
    outs = []
    for n, L in enumerate(lengths):
        seq = y[:L, n]
        outs.append(seq.mean(0) if mode == "mean" else seq.max(0).values)
    out = torch.stack(outs)
    seed = rand(N, D)
    (out * seed).sum().backward()
    write("seq_pool_" + mode, [("y_in", base), ("lengths", torch.tensor(lengths, dtype=torch.float32)),
                              ("y", out), ("seed", seed), ("dy_in", y.grad)],
          "per sequence y[:L].%s(0), lengths %s, padding = 100" % (mode, lengths))
