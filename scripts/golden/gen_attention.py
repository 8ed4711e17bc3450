"""Golden values for attention: dot, general (Luong et al. 2015) and additive (Bahdanau et al.
2015) scores, a softmax over each row's live encoder steps s < L_n, the weighted sum of k.

q [T, N, Dq], k [S, N, Dk] time-major, lengths [N]. Written with PyTorch's own ops:
  dot       e = einsum('tnd,snd->nts', q, k)
  general   e = einsum('tnd,de,sne->nts', q, W, k)                  W [Dq, Dk]
  additive  e = tanh(q Wq^T [:, None] + k Wk^T [None]) @ v          Wq [A, Dq], Wk [A, Dk], v [A]
masked with -inf beyond L_n, softmax over s, out = einsum('nts,snd->tnd', a, k). The padded
steps of k hold large values, which must reach neither the output nor get a gradient.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from common import write, rand  # noqa: E402

torch.manual_seed(11)
T, S, N, A = 3, 4, 3, 5
lengths = [4, 2, 1]


def case(score, Dq, Dk):
    q = rand(T, N, Dq).requires_grad_(True)
    base = rand(S, N, Dk)
    for n, L in enumerate(lengths):
        base[L:, n] = 50.0
    k = base.clone().requires_grad_(True)
    params = []
    if score == "dot":
        e = torch.einsum("tnd,snd->nts", q, k)
    elif score == "general":
        W = rand(Dq, Dk).requires_grad_(True)
        params = [("W", W)]
        e = torch.einsum("tnd,de,sne->nts", q, W, k)
    else:
        Wq, Wk, v = rand(A, Dq).requires_grad_(True), rand(A, Dk).requires_grad_(True), rand(A).requires_grad_(True)
        params = [("Wq", Wq), ("Wk", Wk), ("v", v)]
        pq = torch.einsum("tnd,ad->nta", q, Wq)
        pk = torch.einsum("snd,ad->nsa", k, Wk)
        e = torch.tanh(pq[:, :, None, :] + pk[:, None, :, :]) @ v
    mask = torch.arange(S)[None, :] >= torch.tensor(lengths)[:, None]  # [N, S]
    e = e.masked_fill(mask[:, None, :], float("-inf"))
    a = torch.softmax(e, dim=2)
    out = torch.einsum("nts,snd->tnd", a, k)
    seed = rand(T, N, Dk)
    (out * seed).sum().backward()
    tensors = [("q", q), ("k", base)] + params + [("lengths", torch.tensor(lengths, dtype=torch.float32)),
                                                ("y", out), ("seed", seed), ("dq", q.grad), ("dk", k.grad)]
    tensors += [("d" + nm, p.grad) for nm, p in params]
    write("attention_" + score, tensors, "%s score, T %d S %d N %d, lengths %s, padding = 50" % (score, T, S, N, lengths))


case("dot", 4, 4)
case("general", 3, 4)
case("additive", 3, 4)
