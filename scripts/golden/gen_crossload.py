"""Golden files for tests/test_crossload.c: a model file read by PyTorch, its weights written by
PyTorch, and PyTorch's outputs, which glia must reproduce from the same two files.

For each model (tests/models/all_layers.cfg, models/lenet5.cfg), scripts/torch_model.py builds
the equivalent torch.nn.Module from the .cfg; its weights are initialised from a seed (the
model's own initialisers, then random batch-norm affine parameters and running statistics, so
that batch normalisation is not the identity) and written by save_glia_weights to
tests/golden/crossload_<model>.safetensors (F32, glia's tensor names). Then, in eval mode, for
an input x [2, ...]:
    crossload_<model>.txt   x, y = model(x), seed (fixed random weights of y's shape) and
                            dx = d sum(y * seed) / dx   (the golden text format of common.py)
and tests/golden/crossload_all_layers_canonical.cfg holds the canonical text of all_layers.cfg
as torch_model.py writes it, which glia_model_to_text must reproduce byte for byte (the same
defaults and canonical values on both sides).
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, ".."))
import torch  # noqa: E402
from common import OUT, rand  # noqa: E402
import torch_model  # noqa: E402

ROOT = os.path.join(here, "..", "..")


def write(name, tensors, comment):
    """common.write's format, with 7 significant digits (5e-8 relative, far below the tests'
    1e-4) to keep the files small; x and seed lie on a 1/64 grid and are exact."""
    with open(os.path.join(OUT, name + ".txt"), "w") as f:
        f.write("# " + comment + "\n")
        for tname, t in tensors:
            t = t.detach().to(torch.float32).contiguous()
            f.write("tensor %s %d %s\n" % (tname, t.dim(), " ".join(str(d) for d in t.shape)))
            f.write(" ".join("%.7g" % v for v in t.flatten().tolist()) + "\n")


def grid(t):
    return torch.round(t * 64) / 64
MODELS = [("all_layers", "tests/models/all_layers.cfg", 11, -1.0, 1.0),
          ("lenet5", "models/lenet5.cfg", 12, 0.0, 1.0)]

for name, cfg, seed, lo, hi in MODELS:
    net = torch_model.build(os.path.join(ROOT, cfg), seed=seed)
    gen = torch.Generator().manual_seed(1000 + seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch_model.BatchNorm):
                c = m.weight.numel()
                m.weight.copy_(rand(c, lo=0.5, hi=1.5, gen=gen))
                m.bias.copy_(rand(c, lo=-0.3, hi=0.3, gen=gen))
                m.running_mean.copy_(rand(c, lo=-0.5, hi=0.5, gen=gen))
                m.running_var.copy_(rand(c, lo=0.5, hi=2.0, gen=gen))
    os.makedirs(OUT, exist_ok=True)
    torch_model.save_glia_weights(net, os.path.join(OUT, "crossload_%s.safetensors" % name))
    # inputs on a 1/64 grid: exact in float and short in the text file
    x = grid(rand(2, *net.glia_spec.input_shape, lo=lo, hi=hi, gen=gen))
    x.requires_grad_(True)
    net.eval()
    y = net(x)
    seed_t = grid(rand(*y.shape, gen=gen))
    (y * seed_t).sum().backward()
    write("crossload_" + name, [("x", x), ("y", y), ("seed", seed_t), ("dx", x.grad)],
          "%s: PyTorch (scripts/torch_model.py) in eval mode with the weights of "
          "crossload_%s.safetensors; dx = d sum(y * seed) / dx" % (cfg, name))
    if name == "all_layers":
        with open(os.path.join(OUT, "crossload_all_layers_canonical.cfg"), "w") as f:
            f.write(net.glia_spec.to_text())
