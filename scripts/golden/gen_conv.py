"""Golden values for conv2d: stride, symmetric and asymmetric padding, dilation, groups,
depthwise, 1x1, no bias, a long reduction.

Each file holds x, w, (b), an "attr" tensor with glia's conv2d parameters
  [stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, dilation_h, dilation_w, groups,
   has_bias]
the output y, a seed tensor, and the gradients of sum(seed * y) w.r.t. x, w and b.
Asymmetric padding is done with F.pad first (torch's conv2d pads symmetrically).

The inputs are float32 values; torch computes with them in float64, so the golden values are
the exact results rounded once to float32 (no float32 summation error of torch's own). x, w, b
and the seed are drawn from [0, 1): no output or gradient is a sum that cancels to near zero,
where the tests' relative comparison (|got - want| / (1e-3 + |want|)) would measure float32
rounding instead of correctness. Mixed signs are covered by the plain-loop reference tests."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import write, rand  # noqa: E402


def case(name, x_shape, w_shape, bias=True, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1),
         groups=1, comment=""):
    """pad = (top, bottom, left, right)"""
    x = rand(*x_shape, lo=0.0).double().requires_grad_(True)
    w = rand(*w_shape, lo=0.0).double().requires_grad_(True)
    b = rand(w_shape[0], lo=0.0).double().requires_grad_(True) if bias else None
    top, bottom, left, right = pad
    if top == bottom and left == right:
        y = F.conv2d(x, w, b, stride=stride, padding=(top, left), dilation=dil, groups=groups)
    else:
        y = F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, stride=stride, dilation=dil,
                     groups=groups)
    seed = rand(*y.shape, lo=0.0).double()
    (y * seed).sum().backward()
    attr = torch.tensor([stride[0], stride[1], top, bottom, left, right, dil[0], dil[1], groups,
                         1 if bias else 0],
                        dtype=torch.float32)
    out = [("attr", attr), ("x", x), ("w", w)]
    if bias:
        out.append(("b", b))
    out += [("y", y), ("seed", seed), ("dx", x.grad), ("dw", w.grad)]
    if bias:
        out.append(("db", b.grad))
    write(name, out, comment)


torch.manual_seed(1)
case("conv_basic", (2, 3, 5, 5), (4, 3, 3, 3), pad=(1, 1, 1, 1), comment="3x3, padding 1")
case("conv_stride_pad", (2, 3, 7, 6), (5, 3, 3, 2), stride=(2, 1), pad=(1, 1, 0, 0),
     comment="stride (2,1), padding (1,0), non-square kernel and input")
case("conv_asym_pad", (1, 2, 5, 6), (3, 2, 3, 3), stride=(2, 2), pad=(1, 0, 2, 1),
     comment="stride 2, padding top 1 bottom 0 left 2 right 1")
case("conv_dilation", (2, 2, 8, 7), (3, 2, 3, 2), dil=(2, 1), pad=(2, 2, 1, 1),
     comment="dilation (2,1), padding (2,1)")
case("conv_groups", (2, 4, 6, 5), (6, 2, 3, 3), groups=2, pad=(1, 1, 1, 1), comment="groups 2")
case("conv_depthwise", (2, 3, 6, 6), (3, 1, 3, 3), groups=3, stride=(2, 2), pad=(1, 1, 1, 1),
     comment="depthwise, stride 2, padding 1")
case("conv_1x1", (3, 4, 5, 5), (6, 4, 1, 1), comment="1x1, stride 1 (no im2col)")
case("conv_nobias", (3, 2, 6, 5), (4, 2, 2, 3), bias=False, stride=(1, 2), pad=(0, 1, 1, 0),
     comment="no bias, stride (1,2), asymmetric padding")
case("conv_long", (2, 16, 12, 12), (8, 16, 5, 5), pad=(2, 2, 2, 2),
     comment="a long reduction: K = 400 per output, 288 per weight gradient")
case("conv_direct_wide", (5, 6, 9, 8), (24, 6, 3, 3), pad=(1, 1, 1, 1),
     comment="stride 1 with 24 filters: the direct path with the output channels in the vector "
             "lanes of the weight gradient; batch 5 = image groups of 4 + 1")
