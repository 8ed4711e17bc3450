#!/usr/bin/python3
"""tests/models/onnx/reduce_mean.onnx and .safetensors (committed; rerun after changing this
script): ReduceMean over trailing axes and Pow(x, 2), the pieces of a layer norm (PaddleOCR's
recogniser), with numpy's values for tests/test_onnx.c:

  m   = ReduceMean(x, axes=[-1], keepdims=1)        x [2, 3, 4]
  var = ReduceMean(Pow(x - m, 2), axes=[-1])        (keepdims 1)
  s   = ReduceMean(x, axes=[1, 2], keepdims=0)      [2]

usage: /usr/bin/python3 scripts/onnx/make_reduce_model.py  (Debian python3-onnx, python3-numpy)
"""
import os, sys

import numpy as np
import onnx
from onnx import helper, TensorProto

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "models", "onnx")


def save_safetensors(path, tensors):
    import json, struct
    header, off, blobs = {}, 0, []
    for name, a in tensors:
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[-1], keepdims=1),
        helper.make_node("Sub", ["x", "m"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["d2"]),
        helper.make_node("ReduceMean", ["d2"], ["var"], axes=[-1], keepdims=1),
        helper.make_node("ReduceMean", ["x"], ["s"], axes=[1, 2], keepdims=0),
    ]
    g = helper.make_graph(nodes, "reduce_mean",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
                          [helper.make_tensor_value_info("var", TensorProto.FLOAT, ["N", 3, 1]),
                           helper.make_tensor_value_info("s", TensorProto.FLOAT, ["N"])],
                          [helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(OUT, "reduce_mean.onnx"))
    x = np.random.default_rng(3).uniform(-1, 1, (2, 3, 4)).astype(np.float32)
    xd = x.astype(np.float64)
    var = ((xd - xd.mean(-1, keepdims=True)) ** 2).mean(-1, keepdims=True)
    save_safetensors(os.path.join(OUT, "reduce_mean.safetensors"),
                     [("x", x), ("var", var.astype(np.float32)), ("s", xd.mean((1, 2)).astype(np.float32))])
    print("wrote", os.path.join(OUT, "reduce_mean.onnx"))


if __name__ == "__main__":
    main()
