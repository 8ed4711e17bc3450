"""Golden values for local2d, the locally connected layer (tests/golden/local_*.txt): PyTorch has
no such layer, so it is written as DeepFace's definition with F.unfold:
  y = einsum("nkp,pok->nop", F.unfold(x, (kh, kw), padding=(ph, pw), stride=(sh, sw)), w) + b
computed in float64 from float32 inputs in [0, 1), with the gradients of sum(seed * y)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import write, rand  # noqa: E402


def case(name, x_shape, out, k, stride, pad, bias, comment):
    n, c, h, w_ = x_shape
    oh = (h + 2 * pad[0] - k[0]) // stride[0] + 1
    ow = (w_ + 2 * pad[1] - k[1]) // stride[1] + 1
    x = rand(*x_shape, lo=0.0).double().requires_grad_(True)
    w = rand(oh * ow, out, c * k[0] * k[1], lo=0.0).double().requires_grad_(True)
    b = rand(out, oh, ow, lo=0.0).double().requires_grad_(True) if bias else None
    cols = F.unfold(x, k, padding=pad, stride=stride)
    y = torch.einsum("nkp,pok->nop", cols, w).reshape(n, out, oh, ow)
    if bias:
        y = y + b
    seed = rand(*y.shape, lo=0.0).double()
    (y * seed).sum().backward()
    t = [("x", x), ("w", w)] + ([("b", b)] if bias else []) + [("y", y), ("seed", seed), ("dx", x.grad),
                                                              ("dw", w.grad)]
    if bias:
        t.append(("db", b.grad))
    write(name, t, comment)


if __name__ == "__main__":
    torch.manual_seed(17)
    case("local_basic", (2, 3, 5, 5), 4, (3, 3), (1, 1), (0, 0), True,
         "local2d 3x3, 3 -> 4 channels on 5x5, with bias")
    case("local_stride_pad", (2, 2, 6, 7), 3, (2, 3), (2, 2), (1, 1), False,
         "local2d 2x3 kernel, stride 2, pad 1, no bias")
