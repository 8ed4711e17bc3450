"""Golden values for dense, broadcasting elementwise ops (div too), scale, concat, slice, reshape,
transpose, sqrt, batched matmul.

For each case: inputs, output y = op(inputs), a seed tensor, and the gradients of
sum(seed * y) with respect to every input (torch.autograd)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from common import write, rand  # noqa: E402


def case(name, fn, inputs, comment, attrs=()):
    """attrs: (name, tensor) pairs the test reads to build the op (written as they are)"""
    ts = [t.clone().requires_grad_(True) for _, t in inputs]
    y = fn(*ts)
    seed = rand(*y.shape)
    (y * seed).sum().backward()
    out = list(zip([n for n, _ in inputs], [t.detach() for t in ts]))
    out += list(attrs)
    out += [("y", y), ("seed", seed)]
    out += [("d" + n, t.grad) for (n, _), t in zip(inputs, ts)]
    write(name, out, comment)


torch.manual_seed(0)
case("basic_dense", lambda x, w, b: torch.nn.functional.linear(x.reshape(3, -1), w, b),
     [("x", rand(3, 2, 2, 2)), ("w", rand(5, 8)), ("b", rand(5))], "dense on a flattened [3,2,2,2]")
case("basic_add_bias", lambda a, b: a + b, [("a", rand(2, 3, 4, 5)), ("b", rand(3, 1, 1))],
     "per-channel bias broadcast")
case("basic_sub_bcast", lambda a, b: a - b, [("a", rand(2, 1, 4)), ("b", rand(3, 1))],
     "both sides broadcast: [2,1,4] - [3,1] -> [2,3,4]")
case("basic_mul_bcast", lambda a, b: a * b, [("a", rand(2, 3, 4)), ("b", rand(4))],
     "mul with a trailing-dimension broadcast")
case("basic_residual", lambda a, b: a + b, [("a", rand(2, 3, 4, 4)), ("b", rand(2, 3, 4, 4))],
     "residual add of two feature maps")
case("basic_concat", lambda a, b, c: torch.cat([a, b, c], 1),
     [("a", rand(2, 1, 3, 3)), ("b", rand(2, 2, 3, 3)), ("c", rand(2, 3, 3, 3))],
     "concat along channels")
case("basic_slice", lambda x: x[:, 1:4], [("x", rand(2, 5, 3))], "slice channels 1:4")
case("basic_reshape", lambda x: x.reshape(2, 3, -1), [("x", rand(2, 4, 3, 2))],
     "reshape [2,4,3,2] -> [2,3,8]")
case("basic_time_flatten", lambda x: x.reshape(-1, *x.shape[2:]), [("x", rand(3, 2, 4, 2))],
     "time_flatten [T=3,N=2,4,2] -> [6,4,2] (PyTorch: x.view(T * N, ...) before a per-step head)")
case("basic_scale", lambda x: -1.75 * x, [("x", rand(2, 3, 4))], "scale by alpha = -1.75",
     attrs=[("alpha", torch.tensor([-1.75]))])
case("basic_transpose", lambda x: x.permute(1, 3, 0, 2), [("x", rand(2, 3, 4, 5))],
     "transpose (ONNX Transpose perm = 1, 3, 0, 2): [2,3,4,5] -> [3,5,2,4]")
case("basic_div", lambda a, b: a / b, [("a", rand(2, 3, 4)), ("b", rand(3, 1, lo=0.5, hi=2))],
     "div with a broadcast divisor in [0.5, 2]: [2,3,4] / [3,1]")
case("basic_sqrt", torch.sqrt, [("x", rand(3, 4, 5, lo=0.1, hi=3))], "sqrt on [3,4,5] in [0.1, 3]")
case("basic_matmul", torch.matmul, [("a", rand(2, 3, 4, 5)), ("b", rand(2, 3, 5, 2))],
     "batched matmul [2,3,4,5] x [2,3,5,2] (attention's Q K^T)")
case("basic_log", torch.log, [("x", rand(3, 4, 5, lo=0.05, hi=4))], "log on [3,4,5] in [0.05, 4]")
