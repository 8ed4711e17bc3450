#!/usr/bin/python3
"""Checks that a glia model and its glia-written weights give PyTorch's outputs: the direction
glia -> PyTorch of the cross-load (tests/test_crossload.c checks PyTorch -> glia).

    crossload_check.py MODEL.cfg WEIGHTS.safetensors      e.g. runs/lenet5/{model.cfg,weights.safetensors}
    crossload_check.py MODEL.cfg --glia-init SEED         weights initialised and written by glia

1. scripts/torch_model.py builds the PyTorch module of MODEL.cfg (strict parse) and loads
   WEIGHTS into it strictly (every tensor, glia's names and shapes, nothing else).
2. examples/forward_dump.c, compiled against BUILD/libglia.a into BUILD/forward_dump (redone when
   the source or the library is newer), runs glia on the same random batch: pixels U[0, 1)
   normalised with [net] mean and std, as glia feeds images. With --glia-init, forward_dump
   first initialises the model from SEED with glia's initialisers, runs training-mode forwards
   (so batch-norm running statistics are not 0 and 1) and writes WEIGHTS itself, into a
   temporary directory unless a WEIGHTS path is given.
3. PyTorch's eval-mode output is compared with glia's: the largest absolute difference, the
   largest relative one |glia - torch| / (1e-3 + |torch|) (the tests' measure) and the argmax
   agreement are printed, and, to tell rounding from a real difference, how far glia and
   float32 PyTorch each are from float64 PyTorch (an ill-conditioned model, e.g. a batch norm
   with a running variance far below eps, amplifies float32 rounding on both sides alike).
   The exit status is 1 when the relative difference exceeds --tol.
4. Then the reverse: PyTorch writes the weights it loaded (save_glia_weights) and glia, given
   that file, must give bit-identical outputs to step 2.

Options: --build DIR (default build), --batch N (8), --seed S (input, 0), --tol T (1e-4),
--torch-cfg OTHER.cfg (build the PyTorch side from another file: shows that a real difference
fails the check), --keep DIR (keep the files exchanged there).
Exit status: 0 match, 1 mismatch, 2 usage or setup error (a bad model, a missing library).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import torch  # noqa: E402
import torch_model  # noqa: E402
from safetensors_check import st_read, st_write  # noqa: E402

DEFAULT_LIBS = "-lopenblas -lstb -lz -lm"


def die(msg, status):
    print("crossload_check: " + msg, file=sys.stderr)
    sys.exit(status)


def libs():
    """LIBS of the Makefile (what libglia.a needs), or the default."""
    try:
        with open(os.path.join(ROOT, "Makefile")) as f:
            for line in f:
                m = re.match(r"LIBS\s*=\s*(.*)", line)
                if m:
                    return m.group(1).split()
    except OSError:
        pass
    return DEFAULT_LIBS.split()


def forward_dump(build):
    """BUILD/forward_dump, compiled if missing or older than its source or the library."""
    src = os.path.join(ROOT, "examples", "forward_dump.c")
    lib = os.path.join(build, "libglia.a")
    exe = os.path.join(build, "forward_dump")
    if not os.path.exists(lib):
        die("%s is missing: build glia first (make B=%s)" % (lib, build), 2)
    if (not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src)
            or os.path.getmtime(exe) < os.path.getmtime(lib)):
        cmd = [os.environ.get("CC", "cc"), "-std=c11", "-O2", src, "-I" + os.path.join(ROOT, "include"),
               lib] + libs() + ["-fopenmp", "-o", exe]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            die("compiling forward_dump failed:\n%s\n%s" % (" ".join(cmd), r.stderr), 2)
    return exe


def run_glia(exe, cfg, weights, x, tmp, tag, init=None):
    xin, yout = os.path.join(tmp, "x.safetensors"), os.path.join(tmp, "y_%s.safetensors" % tag)
    st_write(xin, {"x": x}, {"producer": "scripts/crossload_check.py"})
    cmd = [exe, "-n", str(x.shape[0])] + (["--init", str(init)] if init is not None else [])
    cmd += [cfg, weights, xin, yout]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        die("%s failed:\n%s" % (" ".join(cmd), r.stderr), 1)
    return st_read(yout)[1]["y"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("weights", nargs="?")
    ap.add_argument("--glia-init", type=int, metavar="SEED")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--torch-cfg")
    ap.add_argument("--keep")
    a = ap.parse_args(argv)
    if a.weights is None and a.glia_init is None:
        ap.error("give WEIGHTS.safetensors or --glia-init SEED")
    if a.batch < 1:
        ap.error("--batch must be >= 1")
    try:
        net = torch_model.build(a.torch_cfg or a.model)
    except (torch_model.CfgError, OSError) as e:
        print("crossload_check: %s" % e, file=sys.stderr)
        return 2
    exe = forward_dump(a.build)
    tmp = a.keep or tempfile.mkdtemp(prefix="crossload.")
    os.makedirs(tmp, exist_ok=True)
    try:
        gen = torch.Generator().manual_seed(a.seed)
        x = net.preprocess(torch.rand([a.batch] + net.glia_spec.input_shape, generator=gen))
        weights = a.weights or os.path.join(tmp, "weights.safetensors")
        y_glia = run_glia(exe, a.model, weights, x, tmp, "glia", a.glia_init)
        try:
            torch_model.load_glia_weights(net, weights)
        except (ValueError, KeyError) as e:
            print("crossload_check: PyTorch cannot load glia's weights: %s" % e)
            return 1
        with torch.no_grad():
            y_torch = net.eval()(x)
        if list(y_glia.shape) != list(y_torch.shape):
            print("crossload_check: glia's output is %s, PyTorch's %s"
                  % (list(y_glia.shape), list(y_torch.shape)))
            return 1
        d = (y_glia.double() - y_torch.double()).abs()
        max_abs = d.max().item()
        max_rel = (d / (1e-3 + y_torch.double().abs())).max().item()
        # float64 PyTorch as the exact reference: how far each float32 result is from it
        net64 = torch_model.build(a.torch_cfg or a.model).double()
        torch_model.load_glia_weights(net64, weights)
        with torch.no_grad():
            y64 = net64.eval()(x.double())
        rel64 = lambda y: ((y.double() - y64).abs() / (1e-3 + y64.abs())).max().item()  # noqa: E731
        y2 = y_glia.reshape(y_glia.shape[0], -1)
        agree = (y2.argmax(1) == y_torch.reshape(y2.shape).argmax(1)).sum().item()
        # the reverse: PyTorch writes the weights it holds, glia reads them
        resaved = os.path.join(tmp, "weights_from_pytorch.safetensors")
        torch_model.save_glia_weights(net, resaved)
        y_back = run_glia(exe, a.model, resaved, x, tmp, "back")
        same = torch.equal(y_back, y_glia)
        ok = max_rel <= a.tol and same
        src = ("glia-initialised weights (seed %d)" % a.glia_init if a.glia_init is not None
               else "weights " + weights)
        print("%s with %s, batch %d, output %s: max abs diff %.3g, max rel diff %.3g (tol %g), "
              "argmax agrees %d/%d; against float64 PyTorch: glia %.3g, float32 PyTorch %.3g; "
              "PyTorch-resaved weights give glia %s outputs: %s"
              % (a.model, src, a.batch, list(y_torch.shape), max_abs, max_rel, a.tol, agree,
                 y2.shape[0], rel64(y_glia), rel64(y_torch),
                 "identical" if same else "DIFFERENT", "ok" if ok else "MISMATCH"))
        return 0 if ok else 1
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
