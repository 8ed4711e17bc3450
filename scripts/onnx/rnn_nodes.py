#!/usr/bin/python3
"""Single-node ONNX models of the recurrent variants glia maps onto its own ops, for the
onnxruntime check in tests/onnx_ref_test.sh: an LSTM with all three outputs (Y, Y_h and the
final cell state Y_c), the same with input_forget = 1 (f = 1 - i) and peepholes, and a GRU with
linear_before_reset = 0 (ONNX's default), all
bidirectional, with sequence_lens (5, 2, 4) and initial states, layout 0 (onnxruntime refuses
layout 1), seeded uniform weights. Writes OUT/lstm_yc.onnx, OUT/lstm_if.onnx and
OUT/gru_lbr0.onnx; inputs x [5, 3, 4], h0 (and c0) [2, 3, 3].

usage: /usr/bin/python3 scripts/onnx/rnn_nodes.py OUT   (Debian python3-onnx, python3-numpy)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(path, op, G, peepholes=False, **attrs):
    T, N, I, H, D = 5, 3, 4, 3, 2
    rng = np.random.default_rng(G)
    inits = [numpy_helper.from_array(rng.uniform(-0.8, 0.8, (D, G * H, I)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.uniform(-0.8, 0.8, (D, G * H, H)).astype(np.float32), "R"),
             numpy_helper.from_array(rng.uniform(-0.5, 0.5, (D, 2 * G * H)).astype(np.float32), "B"),
             numpy_helper.from_array(np.array([5, 2, 4], np.int32), "L")]
    if peepholes:
        inits.append(numpy_helper.from_array(rng.uniform(-0.8, 0.8, (D, 3 * H)).astype(np.float32), "P"))
    states = ["h0", "c0"] if op == "LSTM" else ["h0"]
    outs = ["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"]

    def info(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    node = helper.make_node(op, ["x", "W", "R", "B", "L"] + states + (["P"] if peepholes else []), outs,
                            name="rec", hidden_size=H,
                            direction="bidirectional", **attrs)
    g = helper.make_graph([node], op.lower(), [info("x", [T, N, I])] + [info(s, [D, N, H]) for s in states],
                          [info("Y", [T, D, N, H])] + [info(o, [D, N, H]) for o in outs[1:]], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)


if __name__ == "__main__":
    model(sys.argv[1] + "/lstm_yc.onnx", "LSTM", 4)
    model(sys.argv[1] + "/lstm_if.onnx", "LSTM", 4, peepholes=True, input_forget=1)
    model(sys.argv[1] + "/gru_lbr0.onnx", "GRU", 3, linear_before_reset=0)
