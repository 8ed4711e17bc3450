"""Golden values for binarize (tests/golden/binary_*.txt), the op of binary-weight networks and
XNOR-Net (Rastegari et al. 2016).

y = s * sign(x) per slice of dim 0, s = mean |x| over the slice (scaled) or 1, sign(0) = +1.
Here autograd makes the gradient: s through torch's abs and mean (the exact term), sign through a
straight-through function whose backward is dy * 1{|x| <= clip} (Hubara et al. 2016). Evaluated
in float64 from float32 inputs. "alpha" is the scale computed separately with NumPy
(np.abs(x).mean over every axis but 0), which the test compares with |y| of each slice."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import write, rand  # noqa: E402


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, clip):
        ctx.save_for_backward(x)
        ctx.clip = clip
        return torch.where(x < 0, -torch.ones_like(x), torch.ones_like(x))

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        return dy * (x.abs() <= ctx.clip).to(dy.dtype), None


def binarize(x, scaled, clip):
    sign = SignSTE.apply(x, clip)
    if not scaled:
        return sign
    s = x.abs().reshape(x.shape[0], -1).mean(dim=1)
    return s.reshape(-1, *([1] * (x.dim() - 1))) * sign


def case(name, x, scaled, clip, comment):
    seed = rand(*x.shape)
    xd = x.double().requires_grad_(True)
    y = binarize(xd, scaled, clip)
    (y * seed.double()).sum().backward()
    alpha = np.abs(x.numpy().astype(np.float64)).reshape(x.shape[0], -1).mean(axis=1)
    write(name, [("x", x), ("y", y), ("seed", seed), ("dx", xd.grad),
                 ("alpha", torch.from_numpy(alpha))], comment)


torch.manual_seed(22)
# a conv weight [O, C, kh, kw]: values in (-1.5, 1.5), so some lie outside the STE's window
case("binary_weight", rand(4, 3, 3, 3, lo=-1.5, hi=1.5), True, 1.0,
     "binarize scaled, clip 1 on a weight [4,3,3,3]: alpha per filter")
# activations [N, C, H, W]: one scale per sample
case("binary_act", rand(3, 2, 4, 4, lo=-2, hi=2), True, 1.0,
     "binarize scaled, clip 1 on activations [3,2,4,4]: beta per sample")
# unscaled sign with the hard-tanh STE (BinaryConnect, BinaryNet), clip 0.5
case("binary_sign", rand(2, 7, lo=-1, hi=1), False, 0.5,
     "binarize unscaled, clip 0.5 on [2,7]")
