#!/usr/bin/python3
"""The small ONNX models and PyTorch values of glia's ONNX unit tests (tests/test_onnx.c),
written to tests/models/onnx/ (committed; rerun after changing this script):

  small_cnn.onnx  a PyTorch network exported with torch.onnx.export (opset 13): convolutions
                  with asymmetric padding, groups and dilation, batch norm, ReLU6 (Clip),
                  hard swish, ceil-mode max pooling, average pooling without the padding in the
                  divisor, concatenation, a residual add, x.view(x.size(0), -1) (Shape, Gather,
                  Unsqueeze, Concat, Reshape: folded at load time), dropout, a linear layer,
                  log-softmax
  small_cnn.safetensors  input x [2,3,12,12], PyTorch's output y, and the gradients of
                  sum(y * seed) w.r.t. x, c2.weight and fc.bias (seed included)
  lstm_state.onnx  a bidirectional nn.LSTM with initial states exported with its final states
                  (ONNX LSTM outputs Y, Y_h and Y_c)
  lstm_state.safetensors  x, h0, c0, PyTorch's y, h_n, c_n, and dx, dh0, dc0 of
                  sum(c_n * seed) (seed included)
  bad_op.onnx     a Relu then a Hardmax (unsupported): the error must name the node and op
  bad_attr.onnx   a Relu with an attribute ONNX does not define for it

usage: /usr/bin/python3 scripts/onnx/make_test_models.py  (Debian python3-torch, python3-onnx)
"""
import os, sys

import onnx
from onnx import helper, TensorProto
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from export_torch import save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "models", "onnx")


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4)
        self.c3 = nn.Conv2d(8, 4, 1)
        self.fc = nn.Linear(8 * 4 * 4, 5)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        x = F.pad(x, (0, 1, 1, 0))                        # asymmetric: [2,3,13,13]
        x = F.relu6(self.bn(self.c1(x)))                 # Clip(0, 6)
        x = x + F.hardswish(self.c2(x))                  # residual add
        x = F.max_pool2d(x, 2, ceil_mode=True)           # 13 -> 7
        a = F.avg_pool2d(self.c3(x), 3, stride=2, padding=1, count_include_pad=False)  # 7 -> 4
        b = F.avg_pool2d(self.c3(x) * 0.5, 3, stride=2, padding=1)                      # 7 -> 4
        x = torch.cat([a, b], 1)                         # [2,8,4,4]
        x = self.drop(x.view(x.size(0), -1))
        return F.log_softmax(self.fc(x), dim=1)


class LstmState(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, bidirectional=True)

    def forward(self, x, h0, c0):
        y, (h, c) = self.rnn(x, (h0, c0))
        return y, h, c


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    m = SmallCNN()
    with torch.no_grad():
        m.bn.running_mean.uniform_(-0.5, 0.5)
        m.bn.running_var.uniform_(0.5, 1.5)
        m.bn.weight.uniform_(0.5, 1.5)
        m.bn.bias.uniform_(-0.5, 0.5)
    m.eval()
    x = torch.randn(2, 3, 12, 12, requires_grad=True)
    y = m(x)
    seed = torch.randn(y.shape)
    (y * seed).sum().backward()
    torch.onnx.export(m, x, os.path.join(OUT, "small_cnn.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=13, do_constant_folding=True,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    save_safetensors(os.path.join(OUT, "small_cnn.safetensors"), {
        "x": x, "y": y, "seed": seed, "dx": x.grad, "dc2.weight": m.c2.weight.grad,
        "dfc.bias": m.fc.bias.grad})

    torch.manual_seed(1)
    m = LstmState()
    with torch.no_grad():  # wider than PyTorch's default init, so the gates leave the linear zone
        for p in m.parameters():
            p.uniform_(-0.8, 0.8)
    x = torch.randn(5, 2, 3, requires_grad=True)
    h0 = (torch.rand(2, 2, 4) - 0.5).requires_grad_(True)
    c0 = (torch.rand(2, 2, 4) - 0.5).requires_grad_(True)
    y, h, c = m(x, h0, c0)
    seed = torch.randn(c.shape)
    (c * seed).sum().backward()
    torch.onnx.export(m, (x, h0, c0), os.path.join(OUT, "lstm_state.onnx"), input_names=["x", "h0", "c0"],
                      output_names=["y", "h_n", "c_n"], opset_version=13, do_constant_folding=True)
    save_safetensors(os.path.join(OUT, "lstm_state.safetensors"), {
        "x": x, "h0": h0, "c0": c0, "y": y, "h_n": h, "c_n": c, "seed": seed, "dx": x.grad,
        "dh0": h0.grad, "dc0": c0.grad})

    def model(nodes, name, inp=("x", [2, 3]), out=("y", [2, 3])):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info(inp[0], TensorProto.FLOAT, inp[1])],
                              [helper.make_tensor_value_info(out[0], TensorProto.FLOAT, out[1])])
        mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        onnx.save(mp, os.path.join(OUT, name + ".onnx"))
    model([helper.make_node("Relu", ["x"], ["r"], name="first"),
           helper.make_node("Hardmax", ["r"], ["y"], name="pick")], "bad_op")
    model([helper.make_node("Relu", ["x"], ["y"], name="act", slope=0.5)], "bad_attr")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
