"""Golden values for batch normalisation, local response normalisation and dropout
(tests/golden/norm_*.txt, tests/golden/dropout_*.txt).

Batch norm (F.batch_norm): each file holds x, gamma, beta, the running statistics before the
step (running_mean, running_var), an "attr" tensor [eps, momentum, training], the output y, a
seed tensor, the gradients dx, dgamma, dbeta of sum(seed * y), and the running statistics after
the one forward (running_mean_after, running_var_after; PyTorch updates running_var with the
unbiased batch variance).

LRN (nn.LocalResponseNorm): x, "attr" [size, alpha, beta, k], y, seed, dx.

Dropout: PyTorch's generator cannot reproduce glia's masks, so the mask comes from a Python
copy of glia's PCG32 (src/core/rng.c) and glia_rng_uniform (24 bits / 2^24; an element is
dropped when u < p), drawn in element order; the output is x * mask * float32(1 / (1 - p))
computed in float32 as glia does. Two forwards in a row: the second mask continues the stream.
This checks the draw order and the keep rule against an independent implementation.

Everything else is evaluated in float64 from float32 inputs (exact results rounded once to
float32). The constants in "attr" are the ones tests/test_batchnorm.c, test_lrn.c and
test_dropout.c use."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import write, rand  # noqa: E402


def bn_case(name, x_shape, eps, momentum, training, comment, shift=0.5, scale=2.0):
    c = x_shape[1]
    x = (rand(*x_shape) * scale + shift).double().requires_grad_(True)
    gamma = rand(c, lo=0.5, hi=1.5).double().requires_grad_(True)
    beta = rand(c).double().requires_grad_(True)
    rm0 = rand(c, lo=-0.5, hi=0.5).double()
    rv0 = rand(c, lo=0.5, hi=1.5).double()
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x, rm, rv, gamma, beta, training=training, momentum=momentum, eps=eps)
    seed = rand(*y.shape).double()
    (y * seed).sum().backward()
    attr = torch.tensor([eps, momentum, 1.0 if training else 0.0])
    write(name, [("x", x), ("gamma", gamma), ("beta", beta), ("running_mean", rm0),
                 ("running_var", rv0), ("attr", attr), ("y", y), ("seed", seed), ("dx", x.grad),
                 ("dgamma", gamma.grad), ("dbeta", beta.grad), ("running_mean_after", rm),
                 ("running_var_after", rv)], comment)


def lrn_case(name, x_shape, size, alpha, beta, k, comment, lo=-2.0, hi=2.0):
    x = rand(*x_shape, lo=lo, hi=hi).double().requires_grad_(True)
    y = torch.nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=k)(x)
    seed = rand(*y.shape).double()
    (y * seed).sum().backward()
    attr = torch.tensor([size, alpha, beta, k])
    write(name, [("x", x), ("attr", attr), ("y", y), ("seed", seed), ("dx", x.grad)], comment)


M64 = (1 << 64) - 1


class PCG32:
    """glia's generator (src/core/rng.c)."""

    def __init__(self, seed, stream):
        self.state = 0
        self.inc = ((stream << 1) | 1) & M64
        self.u32()
        self.state = (self.state + seed) & M64
        self.u32()

    def u32(self):
        old = self.state
        self.state = (old * 6364136223846793005 + self.inc) & M64
        xs = (((old >> 18) ^ old) >> 27) & 0xFFFFFFFF
        rot = old >> 59
        return ((xs >> rot) | (xs << ((-rot) & 31))) & 0xFFFFFFFF

    def uniform(self):
        return (self.u32() >> 8) / 16777216.0  # exact in float32 and float64


def dropout_case(name, x_shape, p, rng_seed, rng_stream, comment):
    p32 = torch.tensor(p, dtype=torch.float32)
    scale = torch.tensor(1.0, dtype=torch.float32) / (1 - p32)  # float32, as glia
    gen = PCG32(rng_seed, rng_stream)
    x = rand(*x_shape)
    n = x.numel()
    out = [("x", x), ("attr", torch.tensor([p, rng_seed, rng_stream]))]
    for step in ("", "2"):
        keep = torch.tensor([gen.uniform() >= float(p32) for _ in range(n)]).reshape(x_shape)
        y = torch.where(keep, x * scale, torch.zeros_like(x))
        seed = rand(*x_shape)
        dx = torch.where(keep, seed * scale, torch.zeros_like(x))
        out += [("y" + step, y), ("seed" + step, seed), ("dx" + step, dx)]
    write(name, out, comment)


torch.manual_seed(3)
bn_case("norm_bn_2d", (6, 5), 1e-5, 0.1, True,
        "batch norm training on [6,5] (BatchNorm1d), eps 1e-5, momentum 0.1")
bn_case("norm_bn_4d", (4, 3, 5, 6), 1e-3, 0.3, True,
        "batch norm training on [4,3,5,6] (BatchNorm2d), eps 1e-3, momentum 0.3")
bn_case("norm_bn_eval", (3, 4, 3, 3), 1e-5, 0.1, False,
        "batch norm inference on [3,4,3,3] with the given running statistics")
bn_case("norm_bn_long", (4, 2, 24, 26), 1e-5, 0.1, True,
        "batch norm training on [4,2,24,26]: 2496 values per channel, mean 3",
        shift=3.0, scale=1.0)

lrn_case("norm_lrn_s3", (2, 7, 4, 5), 3, 0.5, 0.75, 1.0, "LRN size 3 alpha 0.5 beta 0.75 k 1, C=7")
lrn_case("norm_lrn_s5", (2, 11, 3, 3), 5, 0.3, 0.75, 2.0, "LRN size 5 alpha 0.3 beta 0.75 k 2, C=11")
lrn_case("norm_lrn_s4", (2, 6, 3, 4), 4, 0.2, 0.5, 1.5,
         "LRN size 4 (even: window c-2..c+1) alpha 0.2 beta 0.5 k 1.5, C=6")
lrn_case("norm_lrn_3d", (3, 9, 7), 5, 0.4, 0.6, 1.0, "LRN on a rank-3 input [3,9,7], size 5")
lrn_case("norm_lrn_alexnet", (2, 16, 5, 5), 5, 1e-4, 0.75, 2.0,
         "LRN with AlexNet's constants (size 5, alpha 1e-4, beta 0.75, k 2), x in [-30, 30]",
         lo=-30.0, hi=30.0)
lrn_case("norm_lrn_wide", (1, 4, 2, 3), 9, 0.5, 1.0, 1.0,
         "LRN size 9 wider than C=4 (every window clipped on both sides), beta 1")

dropout_case("dropout_mask", (4, 50), 0.3, 7, 11,
             "dropout p 0.3 on [4,50], glia_rng_seed(rng, 7, 11), two training forwards")
