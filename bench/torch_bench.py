#!/usr/bin/python3
"""PyTorch's side of the benchmark suite: the same benchmarks as build/glia-bench (bench/bench.c),
with the same shapes, synthetic data, optimiser and batch size, written as a PyTorch user would
(nn.Sequential, torch.optim). Prints one line per figure:
    RESULT <name> <value> <unit> <max RSS in KiB>
Usage: /usr/bin/python3 bench/torch_bench.py NAME [--seconds S] [--threads T]
Threads: torch.set_num_threads(T) (default 2); OPENBLAS_NUM_THREADS is the caller's (run.py)."""
import argparse
import resource
import sys
import time

import torch
import torch.nn as nn


def result(name, value, unit):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"RESULT {name} {value:.6g} {unit} {rss}", flush=True)


def time_steps(step, warm, seconds):
    for _ in range(warm):
        step()
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        t = time.perf_counter()
        if t - t0 >= seconds and n >= 3:
            return (t - t0) / n


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def vgg():
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(
        *block(1, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64), *block(64, 64),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Linear(256, 10))


def bench_net(name, net, batch, train, seconds, unit, shape=(1, 28, 28), classes=10):
    torch.manual_seed(7)
    x = torch.randn(batch, *shape)
    if train:
        y = torch.randint(0, classes, (batch,))
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        net.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x), y).backward()
            opt.step()
    else:
        net.eval()

        def step():
            with torch.inference_mode():
                net(x)
    s = time_steps(step, 5, seconds)
    result(name, 1e6 * s / batch if unit == "us/img" else batch / s, unit)


class BasicBlock(nn.Module):
    """ResNet's basic block with a 1x1 projection where the shape changes (models/zoo/resnet20.cfg)"""
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o)
        self.conv2, self.bn2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o)
        self.down = (nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
                     if stride != 1 or i != o else nn.Identity())

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + self.down(x))


def resnet20():
    layers, i = [nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for li, o in enumerate([16, 32, 64]):
        for b in range(3):
            layers.append(BasicBlock(i, o, 2 if b == 0 and li > 0 else 1))
            i = o
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def zoo(name, **kw):
    """torchvision's model (Debian python3-torchvision), as models/zoo/ has it (MobileNetV2's
    ReLU6 included)"""
    import torchvision.models as tvm
    return getattr(tvm, name)(weights=None, **kw)


class CharNet(nn.Module):
    """one-hot [T, N, 96] -> 2-layer LSTM/GRU, 256 hidden -> Linear at every step (bench/char-*-bench.cfg)"""
    def __init__(self, cell):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(96, 256, num_layers=2)
        self.head = nn.Linear(256, 96)

    def forward(self, tokens):
        x = nn.functional.one_hot(tokens, 96).float()
        y, _ = self.rnn(x)
        return self.head(y.reshape(-1, 256))


def bench_seq(name, cell, seconds):
    torch.manual_seed(7)
    T, N = 64, 32
    net = CharNet(cell).train()
    tokens = torch.randint(0, 96, (T, N))
    labels = torch.randint(0, 96, (T * N,))
    opt = torch.optim.Adam(net.parameters(), lr=0.002)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(tokens), labels).backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
    s = time_steps(step, 3, seconds)
    result(name, T * N / s, "tok/s")


class G2P(nn.Module):
    """bench/g2p-bench.cfg: letters -> embedding 64 -> 2-layer bidirectional LSTM 128; <s> +
    phonemes -> embedding 64 -> LSTM 256; Luong general attention (score h . (W k)); the
    attentional layer tanh(W_c [c; h]) 256; a Linear to 42 classes at every target step"""
    def __init__(self, src_vocab=30, tgt_vocab=42):
        super().__init__()
        self.letters = nn.Embedding(src_vocab, 64)
        self.encoder = nn.LSTM(64, 128, num_layers=2, bidirectional=True)
        self.phonemes = nn.Embedding(tgt_vocab, 64)
        self.decoder = nn.LSTM(64, 256)
        self.attention = nn.Linear(256, 256, bias=False)  # W [Dq, Dk]: q . (W k)
        self.attentional = nn.Linear(256 + 256, 256)
        self.classifier = nn.Linear(256, tgt_vocab)

    def forward(self, src, tgt):
        k, _ = self.encoder(self.letters(src))          # [S, N, 256]
        q, _ = self.decoder(self.phonemes(tgt))         # [T2, N, 256]
        scores = torch.einsum("tnd,snd->nts", q, self.attention(k))
        w = torch.softmax(scores, dim=2)                # over the source steps
        c = torch.einsum("nts,snd->tnd", w, k)
        h = torch.tanh(self.attentional(torch.cat([c, q], dim=2)))
        return self.classifier(h.reshape(-1, 256))


def bench_seq2seq(name, seconds):
    """full-length random pairs (no padding), teacher forcing, as bench/bench.c's"""
    torch.manual_seed(7)
    S, T2, N = 16, 17, 64
    net = G2P().train()
    src = torch.randint(1, 30, (S, N))
    labels = torch.randint(2, 42, (T2, N))
    labels[-1] = 1                                      # </s>
    tgt = torch.cat([torch.zeros(1, N, dtype=torch.long), labels[:-1]])  # <s>, shifted
    labels = labels.reshape(-1)
    opt = torch.optim.Adam(net.parameters(), lr=0.003)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(src, tgt), labels).backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
    s = time_steps(step, 3, seconds)
    result(name, T2 * N / s, "tok/s")


CONV_SHAPES = [  # name, n, c, h, w, o, k, pad, first
    ("lenet-conv1", 64, 1, 28, 28, 6, 5, 2, True), ("lenet-conv2", 64, 6, 14, 14, 16, 5, 0, False),
    ("vgg-conv1", 64, 1, 28, 28, 32, 3, 1, True), ("vgg-conv2", 64, 32, 28, 28, 32, 3, 1, False),
    ("vgg-conv3", 64, 32, 14, 14, 64, 3, 1, False), ("vgg-conv4", 64, 64, 14, 14, 64, 3, 1, False)]


def bench_conv(shape, bwd, seconds):
    name, n, c, h, w, o, k, pad, first = shape
    torch.manual_seed(7)
    conv = nn.Conv2d(c, o, k, padding=pad)
    x = torch.randn(n, c, h, w, requires_grad=bwd and not first)
    if bwd:
        y = conv(x)
        seed = torch.randn_like(y)

        def step():
            conv.zero_grad(set_to_none=True)
            y.backward(seed, retain_graph=True)
    else:
        def step():
            with torch.no_grad():
                conv(x)
    s = time_steps(step, 3, seconds)
    ho, wo = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    flops = 2.0 * n * o * ho * wo * c * k * k
    if bwd:
        flops *= 1 if first else 2
    result(f"conv-{name}-{'bwd' if bwd else 'fwd'}", flops / s * 1e-9, "GFLOP/s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    n = a.name
    if n == "lenet-train":
        bench_net(n, lenet(), 64, True, a.seconds, "img/s")
    elif n == "lenet-infer256":
        bench_net(n, lenet(), 256, False, a.seconds, "img/s")
    elif n == "lenet-infer1":
        bench_net(n, lenet(), 1, False, a.seconds, "us/img")
    elif n == "vgg-train":
        bench_net(n, vgg(), 64, True, a.seconds, "img/s")
    elif n == "resnet20-train":
        bench_net(n, resnet20(), 64, True, a.seconds, "img/s")
    elif n in ("densenet121-train8", "densenet121-me-train8"):
        # torchvision's default (memory_efficient=False) and Pleiss et al.'s checkpointed version
        net = zoo("densenet121", memory_efficient=n == "densenet121-me-train8")
        bench_net(n, net, 8, True, a.seconds, "img/s", (3, 224, 224), 1000)
    elif n == "mobilenetv2-jit-infer8":
        # PyTorch's own inference path: TorchScript, frozen, batch norm folded into the
        # convolutions, oneDNN's layout kept between them (torch.jit.optimize_for_inference)
        net = torch.jit.optimize_for_inference(torch.jit.script(zoo("mobilenet_v2").eval()))
        bench_net(n, net, 8, False, a.seconds, "img/s", (3, 224, 224), 1000)
    elif n in ("resnet50-infer1", "resnet50-infer8", "mobilenetv2-infer8"):
        net, batch = zoo("resnet50" if n.startswith("resnet") else "mobilenet_v2"), int(n[-1])
        bench_net(n, net, batch, False, a.seconds, "us/img" if batch == 1 else "img/s", (3, 224, 224), 1000)
    elif n in ("lstm-train", "gru-train"):
        bench_seq(n, n.split("-")[0], a.seconds)
    elif n == "g2p-train":
        bench_seq2seq(n, a.seconds)
    elif n in ("conv-all-fwd", "conv-all-bwd"):
        for s in CONV_SHAPES:
            bench_conv(s, n.endswith("bwd"), a.seconds / 4)
    elif n == "sgemm":
        a_, b_ = torch.randn(2048, 2048), torch.randn(2048, 2048)
        s = time_steps(lambda: torch.mm(a_, b_), 1, a.seconds)
        result("sgemm-2048", 2.0 * 2048 ** 3 / s * 1e-9, "GFLOP/s")
    else:
        print(f"torch_bench: unknown benchmark '{n}'", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
