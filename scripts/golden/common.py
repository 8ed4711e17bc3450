"""Writes golden files for glia's tests: tensors as text, readable by tests/util.c.

    tensor NAME NDIM D0 D1 ...
    v0 v1 v2 ...

Run with Debian's PyTorch: /usr/bin/python3 scripts/golden/gen_all.py
"""
import os
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden")


def write(name, tensors, comment=""):
    """tensors: list of (name, torch.Tensor); written as float32 with 9 significant digits."""
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        if comment:
            f.write("# " + comment + "\n")
        for tname, t in tensors:
            t = t.detach().to(torch.float32).contiguous()
            f.write("tensor %s %d %s\n" % (tname, t.dim(), " ".join(str(d) for d in t.shape)))
            f.write(" ".join("%.9g" % v for v in t.flatten().tolist()) + "\n")


def rand(*shape, lo=-1.0, hi=1.0, gen=None):
    return (torch.rand(*shape, generator=gen, dtype=torch.float64) * (hi - lo) + lo).float()
