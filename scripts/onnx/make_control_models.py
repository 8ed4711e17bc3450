#!/usr/bin/python3
"""Small hand-made ONNX models of an If and the ops Silero VAD needs, with numpy's values
(committed under tests/models/onnx/; rerun after changing this script):

  if_sr.onnx   inputs x [2, 8], state [2, 2, 3], sr (int64 scalar), outputs y [2, 3], stateN [2, 2, 3]:
               If(Equal(sr, 16000)) whose branches read the outer graph (as Silero's do):
                 p  = Pad(x, [0, 2, 0, 2]) in mode reflect (then) or edge (else)
                 f  = Conv(Unsqueeze(p, 1), W1 [4, 1, 4], b1, strides 2)           [2, 4, 5]
                 g  = If(Equal(Shape(f)[2], 5)): Identity(f), else Neg(f)  (a nested If on a
                      shape: the branch not taken holds an op glia lacks)
                 X  = Transpose(g, [2, 0, 1])                                     [5, 2, 4]
                 h0 = Unsqueeze(Gather(state, 0), 0), c0 = Unsqueeze(Gather(state, 1), 0)
                 Y, Y_h, Y_c = LSTM(X, W, R, B, h0, c0), hidden 3
                 y  = Sigmoid(Squeeze(Y_h, 0)) * (1 in then, 2 in else); stateN = Concat(Y_h, Y_c)
  if_sr_16k.safetensors, if_sr_8k.safetensors  x, state, and numpy's y and stateN for sr = 16000
               (then) and sr = 8000 (else)
  if_gain.onnx x [N, 4] (N symbolic), sr (int64 scalar) -> y [N, 3] = Relu(x Wg + bg) when
               sr = 16000, else Sigmoid(x Wg + bg): one run-time input once sr is fixed, so every
               glia command takes it with --const sr=...; if_gain_16k/_8k.safetensors: x [2, 4], y
               (also as y_relu / y_sig, the output's name in glia export's file)
  if_data.onnx an If on Greater(mean(x[0]), 0): data-dependent, which glia refuses, naming it
  legacy_ops.onnx, .safetensors  the other ops of Silero VAD's legacy model, with numpy's values:
               x [2, 4, 6] -> m = ReduceMean(x, axes [1]) (an inner axis), r = Slice(m, 4, 0, axis 2,
               step -1) (reversed), y = Concat(Neg(r), m, axis 2), z = Log(x * x + 1)

usage: /usr/bin/python3 scripts/onnx/make_control_models.py  (Debian python3-onnx, python3-numpy)
"""
import os, sys

import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

sys.path.insert(0, os.path.dirname(__file__))
from make_reduce_model import save_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "models", "onnx")
rng = np.random.default_rng(18)
N, T, C, K, S, H = 2, 8, 4, 4, 2, 3
W1 = rng.uniform(-0.5, 0.5, (C, 1, K)).astype(np.float32)
b1 = rng.uniform(-0.5, 0.5, (C,)).astype(np.float32)
W = rng.uniform(-0.5, 0.5, (1, 4 * H, C)).astype(np.float32)
R = rng.uniform(-0.5, 0.5, (1, 4 * H, H)).astype(np.float32)
B = rng.uniform(-0.5, 0.5, (1, 8 * H)).astype(np.float32)


def i64(name, v):
    return numpy_helper.from_array(np.array(v, dtype=np.int64), name)


def branch(tag, mode, scale):
    """the nodes of one branch; names carry the tag (ONNX names are unique model-wide)"""
    t = lambda s: f"{tag}_{s}"  # noqa: E731
    inner_then = helper.make_graph([helper.make_node("Identity", [t("f")], [t("g_then")])], t("same"), [],
                                   [helper.make_tensor_value_info(t("g_then"), TensorProto.FLOAT, None)])
    inner_else = helper.make_graph([helper.make_node("Neg", [t("f")], [t("g_else")])], t("neg"), [],
                                   [helper.make_tensor_value_info(t("g_else"), TensorProto.FLOAT, None)])
    nodes = [
        helper.make_node("Pad", ["x", "pads"], [t("p")], mode=mode),
        helper.make_node("Unsqueeze", [t("p"), "ax1"], [t("u")]),
        helper.make_node("Conv", [t("u"), "W1", "b1"], [t("f")], kernel_shape=[K], strides=[S], pads=[0, 0]),
        helper.make_node("Shape", [t("f")], [t("fs")]),
        helper.make_node("Gather", [t("fs"), "two"], [t("len")], axis=0),
        helper.make_node("Equal", [t("len"), "five"], [t("is5")]),
        helper.make_node("If", [t("is5")], [t("g")], then_branch=inner_then, else_branch=inner_else),
        helper.make_node("Transpose", [t("g")], [t("X")], perm=[2, 0, 1]),
        helper.make_node("Gather", ["state", "zero"], [t("h")], axis=0),
        helper.make_node("Gather", ["state", "one"], [t("c")], axis=0),
        helper.make_node("Unsqueeze", [t("h"), "ax0"], [t("h0")]),
        helper.make_node("Unsqueeze", [t("c"), "ax0"], [t("c0")]),
        helper.make_node("LSTM", [t("X"), "W", "R", "B", "", t("h0"), t("c0")], [t("Y"), t("Yh"), t("Yc")], hidden_size=H),
        helper.make_node("Squeeze", [t("Yh"), "ax0"], [t("hN")]),
        helper.make_node("Sigmoid", [t("hN")], [t("sg")]),
        helper.make_node("Mul", [t("sg"), "one_f" if scale == 1 else "two_f"], [t("y")]),
        helper.make_node("Concat", [t("Yh"), t("Yc")], [t("stateN")], axis=0),
    ]
    return helper.make_graph(nodes, tag, [], [helper.make_tensor_value_info(t("y"), TensorProto.FLOAT, None),
                                               helper.make_tensor_value_info(t("stateN"), TensorProto.FLOAT, None)])


def if_sr():
    inits = [numpy_helper.from_array(a, n) for a, n in ((W1, "W1"), (b1, "b1"), (W, "W"), (R, "R"), (B, "B"))]
    inits += [i64("pads", [0, 2, 0, 2]), i64("ax0", [0]), i64("ax1", [1]), i64("two", 2), i64("five", 5),
              i64("zero", 0), i64("one", 1), i64("rate", 16000),
              numpy_helper.from_array(np.array(1, np.float32), "one_f"),
              numpy_helper.from_array(np.array(2, np.float32), "two_f")]
    nodes = [helper.make_node("Equal", ["sr", "rate"], ["is16k"], name="sr_is_16k"),
             helper.make_node("If", ["is16k"], ["y", "stateN"], name="by_rate",
                              then_branch=branch("hi", "reflect", 1), else_branch=branch("lo", "edge", 2))]
    g = helper.make_graph(nodes, "if_sr", [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [N, T]),
        helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, N, H]),
        helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [N, H]),
         helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, N, H])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, "if_sr.onnx"))


def if_gain():
    g_rng = np.random.default_rng(1818)  # its own stream: the other files stay as they were
    Wg = g_rng.uniform(-1, 1, (4, 3)).astype(np.float32)
    bg = g_rng.uniform(-0.5, 0.5, (3,)).astype(np.float32)
    x = g_rng.uniform(-1, 1, (2, 4)).astype(np.float32)
    then_g = helper.make_graph([helper.make_node("Relu", ["z"], ["y_relu"])], "relu", [],
                              [helper.make_tensor_value_info("y_relu", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Sigmoid", ["z"], ["y_sig"])], "sig", [],
                              [helper.make_tensor_value_info("y_sig", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("MatMul", ["x", "Wg"], ["xw"]), helper.make_node("Add", ["xw", "bg"], ["z"]),
             helper.make_node("Equal", ["sr", "rate"], ["is16k"], name="sr_is_16k"),
             helper.make_node("If", ["is16k"], ["y"], name="by_rate", then_branch=then_g, else_branch=else_g)]
    g = helper.make_graph(nodes, "if_gain", [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]),
        helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(Wg, "Wg"), numpy_helper.from_array(bg, "bg"), i64("rate", 16000)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, "if_gain.onnx"))
    z = x.astype(np.float64) @ Wg + bg
    # y again under the name glia export gives the output (its glia node's, the branch's)
    for name, y, br in (("if_gain_16k", np.maximum(z, 0), "y_relu"), ("if_gain_8k", sigmoid(z), "y_sig")):
        y = y.astype(np.float32)
        save_safetensors(os.path.join(OUT, name + ".safetensors"), [("x", x), ("y", y), (br, y)])


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def reference(x, state, mode, scale):
    """numpy: ONNX's Pad, a strided 1-D convolution, LSTM (gates i, o, f, c), as written"""
    p = np.pad(x.astype(np.float64), ((0, 0), (2, 2)), mode=mode)
    L = (p.shape[1] - K) // S + 1
    f = np.zeros((N, C, L))
    for n in range(N):
        for o in range(C):
            for t in range(L):
                f[n, o, t] = b1[o] + np.dot(W1[o, 0], p[n, t * S:t * S + K])
    X = f.transpose(2, 0, 1)
    h, c = state[0].astype(np.float64), state[1].astype(np.float64)
    for t in range(X.shape[0]):
        a = X[t] @ W[0].T + h @ R[0].T + B[0, :4 * H] + B[0, 4 * H:]
        i, o, fg, g = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
        c = fg * c + i * g
        h = o * np.tanh(c)
    return (sigmoid(h) * scale).astype(np.float32), np.stack([h, c]).astype(np.float32)


def if_data():
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=0),
             helper.make_node("Gather", ["m", "first"], ["m0"], axis=0),
             helper.make_node("Greater", ["m0", "zero"], ["pos"]),
             helper.make_node("If", ["pos"], ["y"], name="by_sign",
                              then_branch=helper.make_graph([helper.make_node("Relu", ["x"], ["r"])], "t", [],
                                                            [helper.make_tensor_value_info("r", TensorProto.FLOAT, None)]),
                              else_branch=helper.make_graph([helper.make_node("Sigmoid", ["x"], ["s"])], "e", [],
                                                            [helper.make_tensor_value_info("s", TensorProto.FLOAT, None)]))]
    g = helper.make_graph(nodes, "if_data", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [N, T])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [N, T])],
                          [numpy_helper.from_array(np.array(0, np.float32), "zero"), i64("first", 0)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, "if_data.onnx"))


def legacy_ops():
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], axes=[1], keepdims=1),
             helper.make_node("Slice", ["m", "st", "en", "ax", "sp"], ["r"]),
             helper.make_node("Neg", ["r"], ["nr"]),
             helper.make_node("Concat", ["nr", "m"], ["y"], axis=2),
             helper.make_node("Mul", ["x", "x"], ["x2"]),
             helper.make_node("Add", ["x2", "one_f"], ["x21"]),
             helper.make_node("Log", ["x21"], ["z"])]
    g = helper.make_graph(nodes, "legacy_ops", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 1, 10]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 4, 6])],
                          [i64("st", [4]), i64("en", [0]), i64("ax", [2]), i64("sp", [-1]),
                           numpy_helper.from_array(np.array(1, np.float32), "one_f")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, "legacy_ops.onnx"))
    x = rng.uniform(-2, 2, (2, 4, 6)).astype(np.float32)
    xd = x.astype(np.float64)
    mean = xd.mean(1, keepdims=True)
    y = np.concatenate([-mean[:, :, 4:0:-1], mean], axis=2)
    save_safetensors(os.path.join(OUT, "legacy_ops.safetensors"),
                     [("x", x), ("y", y.astype(np.float32)), ("z", np.log(xd * xd + 1).astype(np.float32))])


def main():
    os.makedirs(OUT, exist_ok=True)
    if_sr()
    if_data()
    x = rng.uniform(-1, 1, (N, T)).astype(np.float32)
    state = rng.uniform(-1, 1, (2, N, H)).astype(np.float32)
    for name, mode, scale in (("if_sr_16k", "reflect", 1), ("if_sr_8k", "edge", 2)):
        y, sN = reference(x, state, mode, scale)
        save_safetensors(os.path.join(OUT, name + ".safetensors"), [("x", x), ("state", state), ("y", y), ("stateN", sN)])
    legacy_ops()
    if_gain()
    print("wrote if_gain.*, if_sr.onnx, if_data.onnx, if_sr_16k.safetensors, if_sr_8k.safetensors, legacy_ops.* in", OUT)


if __name__ == "__main__":
    main()
