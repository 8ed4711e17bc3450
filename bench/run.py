#!/usr/bin/python3
"""Runs glia's benchmark suite side by side with PyTorch and prints a Markdown table.

Each benchmark runs as build/glia-bench NAME (glia) and bench/torch_bench.py NAME (PyTorch),
alternately (glia, torch, glia, torch, ...) for --rounds rounds, so that both see the same
machine load; the table gives each figure's median, the speed-up of glia over PyTorch
(higher is better for glia, for throughputs and latencies alike) and each side's peak memory
(max RSS, median over rounds). PyTorch runs with its best thread setting for the kind of work
(../shared measurements: CNNs torch.set_num_threads(2) with OPENBLAS_NUM_THREADS=1); glia with
2 threads.

OpenBLAS picks its kernels for the CPU it finds (on an AVX-512 CPU, AVX-512 ones) unless
OPENBLAS_CORETYPE names a core; the suite removes that variable from both sides' environment,
so both get the CPU's own choice (some machines set OPENBLAS_CORETYPE=Haswell, which halves
sgemm on an AVX-512 CPU: 163 against 290 GFLOP/s measured), unless --keep-blas-env is given.
The table's header names the core OpenBLAS used. A second table compares glia with itself:
binary networks' XNOR layers and networks on packed bits against the same in floats
(glia-bench binary; PyTorch has no binary kernels to compare with).

Usage: /usr/bin/python3 bench/run.py [--rounds R] [--seconds S] [--only NAME,...] [--build DIR]
                                     [--keep-blas-env]"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys

# glia on bits against glia in floats (no PyTorch twin: PyTorch has no binary kernels): pairs
# of results "xnor-NAME" and "float-NAME", printed as a second table
GLIA_ONLY = ["binary"]
BENCHES = ["lenet-train", "lenet-infer256", "lenet-infer1", "vgg-train", "lstm-train",
           "gru-train", "g2p-train", "conv-all-fwd", "conv-all-bwd", "sgemm",
           "resnet20-train", "resnet50-infer1", "resnet50-infer8", "mobilenetv2-infer8",
           "mobilenetv2-jit-infer8",
           "densenet121-train8", "densenet121-me-train8"]
# PyTorch's environment per benchmark, its fastest on 2 cores (../shared/DATA.md): threads for
# torch.set_num_threads, OpenBLAS threads. CNNs: 2 and 1; LSTM/GRU (and the G2P LSTM
# encoder-decoder): 1 and 2.
TORCH_THREADS = {"default": (2, "1"), "lstm-train": (1, "2"), "gru-train": (1, "2"),
                 "g2p-train": (1, "2")}


def run(cmd, env):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench/run.py: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    out = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "RESULT":
            out[f[1]] = (float(f[2]), f[3], int(f[4]))
    return out


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def blas_core(bench, env):
    """the kernel family OpenBLAS chooses in env (it says so when OPENBLAS_VERBOSE=2)"""
    p = subprocess.run([bench, "sgemm", "--seconds", "0.1"], capture_output=True, text=True,
                       env=dict(env, OPENBLAS_VERBOSE="2"))
    cores = [line.split(":", 1)[1].strip() for line in (p.stdout + p.stderr).splitlines()
             if line.startswith("Core:")]
    return cores[-1] if cores else "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--build", default="build")
    ap.add_argument("--keep-blas-env", action="store_true")
    a = ap.parse_args(argv)
    names = [n for n in a.only.split(",") if n] or BENCHES + GLIA_ONLY
    glia_only = [n for n in names if n in GLIA_ONLY]
    names = [n for n in names if n not in GLIA_ONLY]
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    base_env = dict(os.environ)
    if not a.keep_blas_env:
        base_env.pop("OPENBLAS_CORETYPE", None)
    glia_env = dict(base_env)
    core = blas_core(os.path.join(root, a.build, "glia-bench"), glia_env)
    results = {}  # name -> {"glia": [...], "torch": [...]}
    extra = []    # figures only glia measures (the FMA peak)
    for n in names:
        t_threads, ob = TORCH_THREADS.get(n, TORCH_THREADS["default"])
        # PyTorch's OpenMP and OpenBLAS get the wait settings glia runs with (passive and a
        # short OpenBLAS spin unless set; src/core/thread_env.h), so that neither side's idle
        # threads spin while the other's work shares the cores.
        torch_env = dict(base_env, OPENBLAS_NUM_THREADS=ob, OMP_NUM_THREADS=str(t_threads),
                         OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "passive"),
                         OPENBLAS_THREAD_TIMEOUT=os.environ.get("OPENBLAS_THREAD_TIMEOUT", "4"))
        for r in range(a.rounds):
            g = run([os.path.join(root, a.build, "glia-bench"), n, "--seconds", str(a.seconds)],
                    glia_env)
            t = run(["/usr/bin/python3", os.path.join(here, "torch_bench.py"), n, "--seconds",
                     str(a.seconds), "--threads", str(t_threads)], torch_env)
            for k, v in g.items():
                results.setdefault(k, {"glia": [], "torch": []})["glia"].append(v)
            for k, v in t.items():
                results.setdefault(k, {"glia": [], "torch": []})["torch"].append(v)
            print(f"  {n} round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
    pairs = {}  # NAME -> {"xnor": [...], "float": [...]}
    for n in glia_only:
        for r in range(a.rounds):
            g = run([os.path.join(root, a.build, "glia-bench"), n, "--seconds", str(a.seconds)],
                    glia_env)
            for k, v in g.items():
                side, _, rest = k.partition("-")
                pairs.setdefault(rest, {"xnor": [], "float": []})[side].append(v)
            print(f"  {n} round {r + 1}/{a.rounds} done", file=sys.stderr, flush=True)
    peak = run([os.path.join(root, a.build, "glia-bench"), "fma-peak"], glia_env)
    for k, v in peak.items():
        extra.append((k, v))

    date = datetime.date.today().isoformat()
    print(f"Benchmarks on {cpu_name()}, {os.cpu_count()} cores, {date}; medians of {a.rounds} "
          f"alternating rounds of about {a.seconds:g} s each; OpenBLAS core: {core}.\n")
    print("| benchmark | unit | glia | PyTorch | glia speed-up | glia max RSS | PyTorch max RSS |")
    print("|---|---|---|---|---|---|---|")
    for k, v in results.items():
        if not v["glia"] or not v["torch"]:
            continue
        gv = statistics.median(x[0] for x in v["glia"])
        tv = statistics.median(x[0] for x in v["torch"])
        unit = v["glia"][0][1]
        lower_better = unit.startswith("us")
        speed = (tv / gv) if lower_better else (gv / tv)
        gm = statistics.median(x[2] for x in v["glia"]) / 1024
        tm = statistics.median(x[2] for x in v["torch"]) / 1024
        print(f"| {k} | {unit} | {gv:,.1f} | {tv:,.1f} | {speed:.2f}x | {gm:,.0f} MiB | "
              f"{tm:,.0f} MiB |")
    for k, v in extra:
        print(f"| {k} | {v[1]} | {v[0]:,.1f} | | | | |")
    if pairs:
        print("\nBinary networks: glia's XNOR layers on packed bits (binarize while packing, "
              "XNOR + popcount) against the same layers in floats in glia, medians over rounds "
              "of the fastest step of 4 alternating runs.\n")
        print("| benchmark | unit | XNOR (bits) | float | XNOR speed-up |")
        print("|---|---|---|---|---|")
        for k, v in pairs.items():
            if not v["xnor"] or not v["float"]:
                continue
            xv = statistics.median(x[0] for x in v["xnor"])
            fv = statistics.median(x[0] for x in v["float"])
            unit = v["xnor"][0][1]
            speed = (fv / xv) if unit.startswith("us") else (xv / fv)
            print(f"| {k} | {unit} | {xv:,.1f} | {fv:,.1f} | {speed:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
