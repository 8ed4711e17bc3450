"""Golden values for the losses (tests/golden/loss_*.txt): F.cross_entropy on logits with
integer labels, F.mse_loss and F.binary_cross_entropy_with_logits, all with reduction='mean'.

Each file holds the inputs, the loss y (shape [1], as glia's scalar losses) and the gradient of
the loss itself with respect to each input that has one (dlogits; dpred and dtarget; dlogits
and dtarget). Labels are written as floats (glia's labels are class indices stored as floats).
Inputs include extreme logits (+-80, +-40) to test numerical stability. Evaluated in float64
from float32 inputs, so the golden values are exact results rounded once to float32."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import write, rand  # noqa: E402


def ce_case(name, n, c, comment, extreme=False):
    logits = rand(n, c, lo=-3.0, hi=3.0)
    if extreme:
        logits[0, :] = torch.linspace(-80.0, 80.0, c)   # one class dominates completely
        logits[1, :] = 50.0                              # all equal, shifted far from 0
        logits[2, 0] = -90.0                             # the labelled class is hopeless
    labels = torch.randint(0, c, (n,))
    if extreme:
        labels[0], labels[1], labels[2] = c - 1, 0, 0
    x = logits.double().requires_grad_(True)
    y = F.cross_entropy(x, labels, reduction="mean")
    y.backward()
    write(name, [("logits", logits), ("labels", labels.float()), ("y", y.reshape(1)),
                 ("dlogits", x.grad)], comment)


def mse_case(name, shape, comment):
    pred = rand(*shape, lo=-2.0, hi=2.0)
    target = rand(*shape)
    p = pred.double().requires_grad_(True)
    t = target.double().requires_grad_(True)
    y = F.mse_loss(p, t, reduction="mean")
    y.backward()
    write(name, [("pred", pred), ("target", target), ("y", y.reshape(1)), ("dpred", p.grad),
                 ("dtarget", t.grad)], comment)


def bce_case(name, shape, comment):
    logits = rand(*shape, lo=-4.0, hi=4.0)
    special = [40.0, -40.0, 0.0, 1e-3, -1e-3, 80.0, -80.0, 15.0, -15.0]
    logits.view(-1)[: len(special)] = torch.tensor(special)
    target = rand(*shape, lo=0.0, hi=1.0)             # soft targets
    target.view(-1)[: len(special)] = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    x = logits.double().requires_grad_(True)
    t = target.double().requires_grad_(True)
    y = F.binary_cross_entropy_with_logits(x, t, reduction="mean")
    y.backward()
    write(name, [("logits", logits), ("target", target), ("y", y.reshape(1)),
                 ("dlogits", x.grad), ("dtarget", t.grad)], comment)


torch.manual_seed(4)
ce_case("loss_ce", 6, 5, "cross-entropy [6,5] with extreme rows (+-80, all equal 50, -90)",
        extreme=True)
ce_case("loss_ce_long", 16, 257, "cross-entropy [16,257]")
mse_case("loss_mse", (4, 3, 5), "mse [4,3,5]")
bce_case("loss_bce", (5, 7), "bce with logits [5,7], extreme logits, hard and soft targets")


def ce_ignore_case(name, n, c, comment):
    """ignore_index=-1: the rows labelled -1 (padding of sequences) count for nothing"""
    logits = rand(n, c, lo=-3.0, hi=3.0)
    labels = torch.randint(0, c, (n,))
    labels[1] = labels[4] = labels[5] = -1
    x = logits.double().requires_grad_(True)
    y = F.cross_entropy(x, labels, reduction="mean", ignore_index=-1)
    y.backward()
    write(name, [("logits", logits), ("labels", labels.float()), ("y", y.reshape(1)),
                 ("dlogits", x.grad)], comment)


torch.manual_seed(5)
ce_ignore_case("loss_ce_ignore", 7, 4, "cross-entropy [7,4], rows 1, 4, 5 labelled -1 (ignored)")


def ce_smooth_case(name, n, c, eps, comment, ignore=()):
    """label_smoothing=eps: the target (1 - eps) onehot + eps / C; rows in `ignore` labelled -1"""
    logits = rand(n, c, lo=-3.0, hi=3.0)
    logits[0, :] = torch.linspace(-40.0, 40.0, c)       # a confident row: the smoothing term large
    labels = torch.randint(0, c, (n,))
    for i in ignore:
        labels[i] = -1
    x = logits.double().requires_grad_(True)
    y = F.cross_entropy(x, labels, reduction="mean", ignore_index=-1, label_smoothing=eps)
    y.backward()
    write(name, [("logits", logits), ("labels", labels.float()), ("y", y.reshape(1)),
                 ("dlogits", x.grad)], comment)


torch.manual_seed(6)
ce_smooth_case("loss_ce_smooth", 6, 5, 0.1, "cross-entropy [6,5], label_smoothing=0.1")
ce_smooth_case("loss_ce_smooth_ignore", 7, 9, 0.25,
               "cross-entropy [7,9], label_smoothing=0.25, rows 2 and 5 labelled -1 (ignored)",
               ignore=(2, 5))
