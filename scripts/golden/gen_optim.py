"""Golden files for glia's optimisers and learning-rate schedules (tests/test_optim.c).

optim_<config>.txt: a dense layer y = x w^T + b (w [3,4], b [3]) trained on a fixed x [5,4] and
target [5,3] with MSE loss (mean over all elements) for 5 steps of a torch.optim optimiser,
gradient clipping by torch.nn.utils.clip_grad_value_ / clip_grad_norm_ when set:
    w0 b0 x target    initial parameters and data
    w1 b1 ... w5 b5   parameters after each step
    norm [5]          the total 2-norm of the raw gradients at each step
optim_lr.txt: torch.optim.lr_scheduler values for t = 0..30, one tensor per schedule.

Run with Debian's PyTorch: /usr/bin/python3 scripts/golden/gen_optim.py
"""
import math
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import write, rand  # noqa: E402

STEPS = 5

# name: (optimiser, keyword arguments, clip_value, clip_norm); glia's configs in test_optim.c
CONFIGS = {
    "sgd": ("sgd", dict(lr=0.1), 0, 0),
    "sgd_momentum": ("sgd", dict(lr=0.1, momentum=0.9), 0, 0),
    "sgd_nesterov": ("sgd", dict(lr=0.1, momentum=0.9, nesterov=True), 0, 0),
    "sgd_wd": ("sgd", dict(lr=0.1, momentum=0.5, weight_decay=0.1), 0, 0),
    "rmsprop": ("rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-3), 0, 0),
    "rmsprop_wd": ("rmsprop", dict(lr=0.01, weight_decay=0.1), 0, 0),
    "adam": ("adam", dict(lr=0.01), 0, 0),
    "adam_wd": ("adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1), 0, 0),
    "adamw": ("adamw", dict(lr=0.01, eps=1e-3, weight_decay=0.1), 0, 0),
    "sgd_clip_norm": ("sgd", dict(lr=0.1), 0, 0.5),
    "sgd_clip_value": ("sgd", dict(lr=0.1), 0.1, 0),
    "adam_clip_both": ("adam", dict(lr=0.01), 0.2, 0.3),
}
# per-parameter learning-rate factors (glia_node_set_lr_factor): w's and b's lr = lr * factor, as
# parameter groups
FACTORS = {
    "sgd_momentum_lr_factor": ("sgd", dict(lr=0.1, momentum=0.9), 0, 0, (0.5, 0.0)),
    "adamw_lr_factor": ("adamw", dict(lr=0.01, eps=1e-3, weight_decay=0.1), 0, 0, (0.3, 2.0)),
    "rmsprop_lr_factor": ("rmsprop", dict(lr=0.01), 0, 0, (0.25, 0.0)),
}


def make(kind, params, kw):
    if kind == "sgd":
        return torch.optim.SGD(params, **kw)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, **kw)
    if kind == "adam":
        return torch.optim.Adam(params, **kw)
    return torch.optim.AdamW(params, **kw)


def optim_case(name, kind, kw, clip_value, clip_norm, factors=None):
    gen = torch.Generator().manual_seed(1234)
    w = rand(3, 4, gen=gen).requires_grad_()
    b = rand(3, lo=-0.5, hi=0.5, gen=gen).requires_grad_()
    x = rand(5, 4, lo=-2.0, hi=2.0, gen=gen)
    target = rand(5, 3, gen=gen)
    out = [("w0", w.detach().clone()), ("b0", b.detach().clone()), ("x", x), ("target", target)]
    groups = [w, b]
    if factors:
        groups = [{"params": [p], "lr": kw["lr"] * f} for p, f in zip((w, b), factors)]
    opt = make(kind, groups, kw)
    norms = []
    for step in range(1, STEPS + 1):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(torch.nn.functional.linear(x, w, b), target)
        loss.backward()
        raw = torch.norm(torch.stack([torch.norm(p.grad.double(), 2) for p in (w, b)]), 2)
        norms.append(raw.item())
        if clip_value > 0:
            torch.nn.utils.clip_grad_value_([w, b], clip_value)
        if clip_norm > 0:
            torch.nn.utils.clip_grad_norm_([w, b], clip_norm)
        opt.step()
        out += [("w%d" % step, w.detach().clone()), ("b%d" % step, b.detach().clone())]
    out.append(("norm", torch.tensor(norms)))
    write("optim_" + name, out, "%s %r clip_value=%g clip_norm=%g%s" % (
        kind, kw, clip_value, clip_norm, " lr factors w %g b %g" % factors if factors else ""))


def lr_values(make_sched, base=0.1, n=31):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = make_sched(opt)
    vals = []
    for _ in range(n):
        vals.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return torch.tensor(vals, dtype=torch.float64)


def with_warmup(warmup, main):
    """torch's own warm-up: LinearLR from base/W to base over W - 1 steps, then `main`."""
    def f(opt):
        lin = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / warmup, end_factor=1.0,
                                                total_iters=warmup - 1)
        return torch.optim.lr_scheduler.SequentialLR(opt, [lin, main(opt)], milestones=[warmup])
    return f


def lr_cases():
    S = torch.optim.lr_scheduler
    cases = [
        ("constant", lambda o: S.LambdaLR(o, lambda t: 1.0)),
        ("step", lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
        ("exp", lambda o: S.ExponentialLR(o, gamma=0.9)),
        ("cosine", lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001)),
        ("constant_warmup", with_warmup(4, lambda o: S.LambdaLR(o, lambda t: 1.0))),
        ("step_warmup", with_warmup(3, lambda o: S.StepLR(o, step_size=5, gamma=0.1))),
        ("exp_warmup", with_warmup(6, lambda o: S.ExponentialLR(o, gamma=0.8))),
        ("cosine_warmup", with_warmup(5, lambda o: S.CosineAnnealingLR(o, T_max=12, eta_min=0.0))),
    ]
    out = []
    for name, f in cases:
        v = lr_values(f)
        out.append((name, v))
    # the warm-up formula glia documents: base (t + 1) / W for t < W
    for name, f in cases:
        if not name.endswith("_warmup"):
            continue
        W = {"constant_warmup": 4, "step_warmup": 3, "exp_warmup": 6, "cosine_warmup": 5}[name]
        v = dict(out)[name]
        for t in range(W):
            want = 0.1 * (t + 1) / W
            assert math.isclose(v[t].item(), want, rel_tol=1e-9), (name, t, v[t].item(), want)
    write("optim_lr", out, "torch.optim.lr_scheduler, base lr 0.1, t = 0..30")


if __name__ == "__main__":
    # SequentialLR calls step(0) on the scheduler at the milestone, which warns
    warnings.filterwarnings("ignore", category=UserWarning, module="torch.optim.lr_scheduler")
    for name, (kind, kw, cv, cn) in CONFIGS.items():
        optim_case(name, kind, kw, cv, cn)
    for name, (kind, kw, cv, cn, factors) in FACTORS.items():
        optim_case(name, kind, kw, cv, cn, factors)
    lr_cases()
