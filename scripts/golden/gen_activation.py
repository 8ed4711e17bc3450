"""Golden values for the activations, softmax, log-softmax and maxout (tests/golden/act_*.txt).

For each case: the input x, the output y = op(x), a seed tensor, and dx, the gradient of
sum(seed * y) with respect to x (torch.autograd). Inputs mix ordinary values with exact zeros,
tiny values near 0 and large magnitudes (+-30 and beyond for softmax, to test stability).
The constants below (slope, alpha, k) are the ones tests/test_activation.c and
tests/test_maxout.c use."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import write, rand  # noqa: E402

LEAKY_SLOPE = 0.1
ELU_ALPHA = 1.3
SPECIAL = [0.0, 0.0, 1e-4, -1e-4, 1e-7, -1e-7, 30.0, -30.0, 12.0, -12.0, 4.5, -4.5]


def case(name, fn, x, comment, double=False):
    """double: evaluate in float64 (x and seed are float32 values either way) and round the
    results to float32."""
    x = x.clone()
    seed = rand(*fn(x).shape)
    xd = (x.double() if double else x).requires_grad_(True)
    y = fn(xd)
    (y * (seed.double() if double else seed)).sum().backward()
    write(name, [("x", x), ("y", y), ("seed", seed), ("dx", xd.grad)], comment)


def with_specials(x, specials):
    """x with its first len(specials) elements (in flat order) replaced."""
    x = x.clone()
    flat = x.view(-1)
    flat[: len(specials)] = torch.tensor(specials, dtype=x.dtype)
    return x


def maxout(x, k):
    n, c = x.shape[0], x.shape[1]
    return x.reshape(n, c // k, k, *x.shape[2:]).max(dim=2).values


torch.manual_seed(0)
ew = with_specials(rand(3, 4, 5, lo=-3, hi=3), SPECIAL)
case("act_relu", F.relu, ew, "relu on [3,4,5]; exact zeros get gradient 0")
case("act_leaky_relu", lambda x: F.leaky_relu(x, LEAKY_SLOPE), ew,
     "leaky_relu slope %g on [3,4,5]" % LEAKY_SLOPE)
# PyTorch 1.13's float kernel computes alpha * (exp(x) - 1), which keeps no correct digit for
# |x| < 1e-7 (-1.55e-7 for x = -1e-7 where the value is -1.3e-7); glia uses expm1 (as newer
# PyTorch does), so this case is evaluated in float64.
case("act_elu", lambda x: F.elu(x, ELU_ALPHA), ew,
     "elu alpha %g on [3,4,5], evaluated in float64" % ELU_ALPHA, double=True)
case("act_sigmoid", torch.sigmoid, ew, "sigmoid on [3,4,5]")
case("act_tanh", torch.tanh, ew, "tanh on [3,4,5]")
case("act_linear", lambda x: x * 1.0, ew, "identity on [3,4,5]")

# softmax / log_softmax over dim 1, with +-30, +-80 among the classes of one position, a tie
# for the max, and a position where every class is equal
sm4 = rand(2, 5, 2, 3, lo=-4, hi=4)
sm4[0, :, 0, 0] = torch.tensor([30.0, -30.0, 80.0, -80.0, 0.0])
sm4[0, :, 1, 2] = torch.tensor([30.0, 30.0, -30.0, 29.5, 1e-4])
sm4[1, :, 1, 1] = -7.0
sm2 = rand(4, 7, lo=-4, hi=4)
sm2[1] = torch.tensor([30.0, -30.0, 29.0, 0.0, -1e-4, 30.0, 15.0])
sm2[2] = 50.0  # all classes equal
sm2[3, 0] = 88.0  # the exponent of e^88 is near float's limit; the max keeps it finite
case("act_softmax", lambda x: F.softmax(x, 1), sm4, "softmax over dim 1 of [2,5,2,3]")
case("act_softmax_2d", lambda x: F.softmax(x, 1), sm2, "softmax over dim 1 of [4,7]")
case("act_log_softmax", lambda x: F.log_softmax(x, 1), sm4, "log_softmax over dim 1 of [2,5,2,3]")
case("act_log_softmax_2d", lambda x: F.log_softmax(x, 1), sm2, "log_softmax over dim 1 of [4,7]")

# maxout: random values (no ties), large magnitudes included
mo4 = with_specials(rand(2, 6, 3, 3, lo=-2, hi=2), [30.0, -30.0, 0.0, 1e-4])
mo2 = with_specials(rand(3, 12, lo=-2, hi=2), [-30.0, 30.0, 0.0, -1e-4])
case("act_maxout", lambda x: maxout(x, 3), mo4, "maxout k=3 on [2,6,3,3] -> [2,2,3,3]")
case("act_maxout_2d", lambda x: maxout(x, 4), mo2, "maxout k=4 on a dense output [3,12] -> [3,3]")

# relu6 (MobileNetV2; PyTorch's ReLU6 = hardtanh(0, 6)): values on both sides of both kinks, the
# kinks themselves (gradient 0 there) and large magnitudes
r6 = with_specials(rand(3, 4, 5, lo=-3, hi=9), [0.0, 6.0, 6.0, 1e-4, -1e-4, 5.9999, 6.0001, 30.0, -30.0])
case("act_relu6", F.relu6, r6, "relu6 on [3,4,5]; 0 and 6 get gradient 0")

# hard sigmoid and hard swish (MobileNetV3; PyTorch's hardsigmoid, hardswish): values on both
# sides of the kinks at -3 and 3, the kinks themselves (PyTorch 1.13's gradients there:
# hardsigmoid 0 at both, hardswish -0.5 at -3 and 1 at 3), large magnitudes
hk = with_specials(rand(3, 4, 5, lo=-5, hi=5), [-3.0, 3.0, -3.0001, -2.9999, 2.9999, 3.0001, 0.0, 1e-4, 30.0, -30.0])
case("act_hard_sigmoid", F.hardsigmoid, hk, "hardsigmoid on [3,4,5]; gradient 0 at -3 and 3")
case("act_hard_swish", F.hardswish, hk, "hardswish on [3,4,5]; gradient -0.5 at -3, 1 at 3")
