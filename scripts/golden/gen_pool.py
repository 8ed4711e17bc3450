"""Golden values for maxpool2d, avgpool2d (count_include_pad=True, PyTorch's default) and
global average pooling (adaptive_avg_pool2d to 1x1).

Each file holds x, an "attr" tensor [kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w]
(then 1 for ceil_mode=True)
(absent for global pooling), the output y, a seed tensor and the gradient of sum(seed * y)
w.r.t. x. Inputs are random uniform in [-1, 1) (negative values check that padding never wins
a max), so ties in max pooling are unlikely. The float32 inputs are used in float64, so the
golden values are exact results rounded once to float32."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import write, rand  # noqa: E402


def case(name, fn, x_shape, attr, comment):
    x = rand(*x_shape).double().requires_grad_(True)
    y = fn(x)
    seed = rand(*y.shape).double()
    (y * seed).sum().backward()
    out = [("x", x)]
    if attr is not None:
        out.append(("attr", torch.tensor(attr, dtype=torch.float32)))
    out += [("y", y), ("seed", seed), ("dx", x.grad)]
    write(name, out, comment)


def maxp(k, s, p):
    return lambda x: F.max_pool2d(x, k, s, p)


def avgp(k, s, p):
    return lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=True)


torch.manual_seed(2)
for kind, fn in (("max", maxp), ("avg", avgp)):
    case("pool_%s_2x2" % kind, fn((2, 2), (2, 2), (0, 0)), (2, 3, 6, 6), [2, 2, 2, 2, 0, 0],
         "%s pooling 2x2 stride 2" % kind)
    case("pool_%s_k3s2p1" % kind, fn((3, 3), (2, 2), (1, 1)), (2, 2, 7, 8), [3, 3, 2, 2, 1, 1],
         "%s pooling 3x3 stride 2 padding 1 (overlapping windows)" % kind)
    case("pool_%s_rect" % kind, fn((3, 2), (2, 1), (1, 0)), (3, 2, 7, 5), [3, 2, 2, 1, 1, 0],
         "%s pooling kernel (3,2) stride (2,1) padding (1,0), odd sizes (floor)" % kind)
case("pool_global_avg", lambda x: F.adaptive_avg_pool2d(x, 1), (3, 4, 5, 7), None,
     "global average pooling [3,4,5,7] -> [3,4,1,1]")
case("pool_global_avg_long", lambda x: F.adaptive_avg_pool2d(x, 1), (2, 3, 31, 33), None,
     "global average pooling over 1023 values")

# ceil_mode=True (GoogLeNet's pools): windows past the padded input; with padding, PyTorch drops
# a last window that would start in the end padding (the rows: 5 + 2 - 2 = 5, ceil(5/2) + 1 = 4
# windows, the last starting at 6 >= 5 + 1: 3), and averages a window over its cells up to the
# padded end only
for kind, F_ in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
    case("pool_%s_ceil" % kind, lambda x, F_=F_: F_(x, 3, 2, 0, ceil_mode=True), (2, 2, 8, 10),
         [3, 3, 2, 2, 0, 0, 1], "%s pooling 3x3 stride 2 ceil_mode on 8x10 -> 4x5" % kind)
    case("pool_%s_ceil_pad" % kind, lambda x, F_=F_: F_(x, (2, 3), 2, 1, ceil_mode=True), (2, 3, 5, 6),
         [2, 3, 2, 2, 1, 1, 1], "%s pooling kernel (2,3) stride 2 padding 1 ceil_mode on 5x6 -> 3x4" % kind)
