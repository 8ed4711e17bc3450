#!/usr/bin/python3
"""tests/models/onnx/se_block.onnx and .safetensors (committed; rerun after changing this script):
MobileNetV3's pieces exported by torch.onnx (opset 13, which writes hardswish as
Mul(x, HardSigmoid(x))): a convolution with hard swish, a squeeze-and-excitation block (global
average pooling, 1x1 convolutions with ReLU and hard sigmoid, the channel scale times the map),
a linear layer; with PyTorch's output for tests/test_onnx_control.c, which imports it into
glia's model text (hard_swish, hard_sigmoid, [mul]).

usage: /usr/bin/python3 scripts/onnx/make_se_model.py  (Debian python3-torch, python3-onnx)
"""
import os, sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from export_torch import save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "models", "onnx")


class SE(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc1 = nn.Conv2d(8, 4, 1)
        self.fc2 = nn.Conv2d(4, 8, 1)
        self.fc = nn.Linear(8 * 6 * 6, 5)

    def forward(self, x):
        x = F.hardswish(self.conv(x))
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return self.fc((s * x).flatten(1))


def main():
    torch.manual_seed(18)
    m = SE().eval()
    x = torch.randn(2, 3, 6, 6) * 2
    with torch.no_grad():
        y = m(x)
    torch.onnx.export(m, x, os.path.join(OUT, "se_block.onnx"), input_names=["x"], output_names=["y"],
                      opset_version=13, dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    save_safetensors(os.path.join(OUT, "se_block.safetensors"), {"x": x, "y": y})
    print("wrote", os.path.join(OUT, "se_block.onnx"))


if __name__ == "__main__":
    main()
