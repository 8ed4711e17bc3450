#!/usr/bin/python3
"""PyTorch references for glia's ONNX importer: torchvision networks (and an LSTM and a GRU
model) with seeded random weights, exported with torch.onnx.export, with an input and
PyTorch's output for it.

usage: /usr/bin/python3 scripts/onnx/export_torch.py OUT_DIR [--size 64] [--batch 2] [MODEL...]
AlexNet and VGG need 224x224 (their adaptive pooling must divide the feature map); they are
exported at 224 with batch 1 whatever --size says.
Writes OUT_DIR/<model>.onnx, <model>.in.safetensors ({"input": x}) and
<model>.out.safetensors ({"output": y}, PyTorch's, in eval mode). torchvision ships no weights
here: every model is seeded (torch.manual_seed(0)) and its batch-norm statistics made
non-trivial, so that a wrong mapping shows. Needs Debian's python3-torch and python3-torchvision.
"""
import argparse, json, os, struct, sys

import torch
import torchvision


def save_safetensors(path, tensors):
    """The safetensors format by hand (8-byte header length, JSON header, F32 data)."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class Recurrent(torch.nn.Module):
    """A two-layer bidirectional LSTM or GRU over [T, N, I], then a linear layer on every step."""

    def __init__(self, kind):
        super().__init__()
        cell = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
        self.rnn = cell(8, 16, num_layers=2, bidirectional=True)
        self.fc = torch.nn.Linear(32, 5)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y)


CNNS = {
    "alexnet": torchvision.models.alexnet,
    "vgg11_bn": torchvision.models.vgg11_bn,
    "googlenet": lambda: torchvision.models.googlenet(aux_logits=False, init_weights=True),
    "resnet18": torchvision.models.resnet18,
    "resnet50": torchvision.models.resnet50,
    "resnext50_32x4d": torchvision.models.resnext50_32x4d,
    "densenet121": torchvision.models.densenet121,
    "squeezenet1_1": torchvision.models.squeezenet1_1,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "mobilenet_v3_small": torchvision.models.mobilenet_v3_small,
}


def build(name):
    torch.manual_seed(0)
    if name in ("lstm", "gru"):
        return Recurrent(name)
    m = CNNS[name]()
    g = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=64, help="image height and width (224: ImageNet's)")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("models", nargs="*", default=list(CNNS) + ["lstm", "gru"])
    a = ap.parse_intermixed_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(2)
    failed = 0
    for name in a.models:
        m = build(name).eval()
        g = torch.Generator().manual_seed(2)
        if name in ("lstm", "gru"):
            x = torch.randn(7, a.batch, 8, generator=g)
        else:
            big = name in ("alexnet", "vgg11_bn")
            size, batch = (224, 1) if big else (a.size, a.batch)
            x = torch.randn(batch, 3, size, size, generator=g)
        with torch.no_grad():
            y = m(x)
        base = os.path.join(a.out, name)
        try:
            torch.onnx.export(m, x, base + ".onnx", input_names=["input"], output_names=["output"],
                              opset_version=a.opset, do_constant_folding=True)
        except Exception as e:  # noqa: BLE001 (one model's failure must not hide the others)
            print(f"{name}: export failed: {e}".split("\n")[0], flush=True)
            failed += 1
            continue
        save_safetensors(base + ".in.safetensors", {"input": x})
        save_safetensors(base + ".out.safetensors", {"output": y})
        print(f"{name}: {base}.onnx, output {list(y.shape)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
