#!/usr/bin/python3
"""glia's model text (.cfg, docs/model-format.md) as a PyTorch module, and glia's safetensors
weights in and out of it (Debian's python3-torch; the `safetensors` package is not needed: the
format is read and written by scripts/safetensors_check.py's st_read/st_write).

    import torch_model                       # with scripts/ on sys.path
    net = torch_model.build("models/lenet5.cfg")      # a torch.nn.Module, initialised from a seed
    torch_model.load_glia_weights(net, "runs/lenet5/weights.safetensors")   # strict
    y = net.eval()(x)                        # x [N, C, H, W] (or [N, F]): glia's output
    outs = net.forward_all(x)                # every layer's output, by layer name
    torch_model.save_glia_weights(net, "w.safetensors")   # glia_safetensors_load reads it

The module's state_dict holds exactly glia's parameters and buffers, under glia's names and with
glia's shapes: "<layer>.weight", "<layer>.bias", "<layer>.bn.{weight,bias,running_mean,
running_var}" for a conv/dense layer with batchnorm = 1, "<layer>.{weight,...}" for a
[batchnorm] layer. Batch normalisation keeps no num_batches_tracked (glia has none).

The parser follows src/io/cfg.c and src/nn/model.c: the same syntax, schemas, defaults, value
checks and canonical values (to_text() writes what glia_model_to_text writes), and it is as
strict: an unknown section or key, a missing or badly formed value, a reference to a layer not
defined above, a duplicate node name or a shape that does not fit raises CfgError naming
file:line. It is stricter in three places: a layer taking itself as input (glia silently reads
the network input then), a layer name PyTorch cannot hold in a state_dict (an empty part
between dots, or a part that is an attribute of the module holding it), and shapes that fit
only at batch 1 (shapes are inferred with a batch of 2: [add] broadcasts over every axis, the
batch included) are errors. build() initialises the weights with glia's initialisers' own
distributions (the `init` key; biases U(+-1/sqrt(fan_in)); batch norm 1, 0, 0, 1) from
PyTorch's generator: the same distributions as glia's, not the same numbers.

Each layer is computed as glia computes it (src/nn/model.c, src/ops/):
    conv        F.conv2d(stride, symmetric pad, dilation, groups) [-> batch norm] -> activation
    dense       flatten to [N, K] -> F.linear [-> batch norm] -> activation
    maxpool     F.max_pool2d (padding is -inf; stride 0 or absent = size; ceil_mode)
    avgpool     F.avg_pool2d (count_include_pad=True; ceil_mode)
    globalavgpool  mean over H, W, keepdim
    dropout     F.dropout(p) in training, identity in eval
    batchnorm   F.batch_norm over axis 1 (eps, momentum; batch norm inside conv/dense: 1e-5, 0.1)
    lrn         F.local_response_norm(size, alpha, beta, k): x / (k + alpha/size sum x^2)^beta
    activation  linear, relu, relu6, leaky (slope 0.01), elu (alpha 1), sigmoid, tanh, hard_sigmoid,
                hard_swish (F.hardsigmoid, F.hardswish)
    softmax     F.softmax(dim=1);  flatten: x.flatten(1)
    maxout      x.reshape(N, C/k, k, ...).max(dim=2): groups of k CONSECUTIVE channels
    add         sum (NumPy broadcasting) -> activation;  concat: torch.cat(dim=1)
    mul         xs[0] * xs[1] (NumPy broadcasting: squeeze-and-excitation's channel scale)
Float keys are used as glia uses them: printed with %.9g, then read back as float32. The [net]
keys (training defaults, and `mean`/`std`, which glia applies to images before the graph's input)
are checked and kept, but are not part of forward; preprocess(pixels) applies mean and std.
The schemas mirror src/nn/model.c and must follow it when the format changes
(tests/test_crossload.c compares both canonical texts and fails when they drift apart).

Command line:
    torch_model.py summary MODEL.cfg          layers, output shapes, parameters, state_dict keys
    torch_model.py text MODEL.cfg             the canonical text (as glia_model_to_text)
    torch_model.py init MODEL.cfg OUT.safetensors [--seed S]   weights initialised by PyTorch
    torch_model.py load MODEL.cfg WEIGHTS.safetensors          strict load, then a forward
"""
import argparse
import collections
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_check import st_read, st_write  # noqa: E402

NAME_MAX = 64     # GLIA_NAME_MAX: names are shorter than this
MAX_INPUTS = 16   # GLIA_MAX_INPUTS


class CfgError(ValueError):
    """A model text glia would refuse (or PyTorch cannot represent); the message names file:line."""


# ------------------------------------------------------------------ syntax (src/io/cfg.c)
_C_SPACE = " \t\n\v\f\r"
_WORD = re.compile(r"[A-Za-z0-9_.\-]+\Z")


def parse_sections(text, filename="<text>"):
    """-> [(type, line, OrderedDict key -> (value, line))], as cfg_parse."""
    if "\0" in text:
        raise CfgError("%s: contains a NUL byte; not a text file" % filename)
    secs = []
    for line, raw in enumerate(text.split("\n"), 1):
        cut = len(raw)
        for c in "#;":
            k = raw.find(c)
            if k >= 0:
                cut = min(cut, k)
        s = raw[:cut].strip(_C_SPACE)
        for ch in s:
            if ord(ch) < 32 and ch != "\t":
                raise CfgError("%s:%d: control character 0x%02x in the line" % (filename, line, ord(ch)))
        if not s:
            continue
        if s[0] == "[":
            close = s.find("]")
            if close < 0 or close != len(s) - 1:
                raise CfgError("%s:%d: a section header is '[type]' alone on its line, not '%s'"
                               % (filename, line, s[:60]))
            typ = s[1:close].strip(_C_SPACE)
            if not _WORD.match(typ):
                raise CfgError("%s:%d: '%s' is not a section type" % (filename, line, s[:60]))
            secs.append((typ, line, collections.OrderedDict()))
            continue
        eq = s.find("=")
        if eq < 0:
            raise CfgError("%s:%d: expected 'key = value' or '[section]', got '%s'"
                           % (filename, line, s[:60]))
        if not secs:
            raise CfgError("%s:%d: '%s' comes before any [section]" % (filename, line, s[:60]))
        key, val = s[:eq].strip(_C_SPACE), s[eq + 1:].strip(_C_SPACE)
        if not _WORD.match(key):
            raise CfgError("%s:%d: '%s' is not a key name" % (filename, line, key[:60]))
        if not val:
            raise CfgError("%s:%d: key '%s' has no value" % (filename, line, key))
        kv = secs[-1][2]
        if key in kv:
            raise CfgError("%s:%d: key '%s' given twice in [%s] (line %d first)"
                           % (filename, line, key, secs[-1][0], kv[key][1]))
        kv[key] = (val, line)
    if not secs:
        raise CfgError("%s: no sections (a model starts with [net])" % filename)
    return secs


# ------------------------------------------------------------------ schemas (src/nn/model.c)
INT, FLOAT, BOOL, STR, NAME, NAMES, SHAPE, ACT, INIT, BINARY, FLOATS = range(11)
ACTIVATIONS = ("linear", "relu", "relu6", "leaky", "elu", "sigmoid", "tanh", "hard_sigmoid", "hard_swish")
BINARIES = ("none", "weights", "xnor")
INITS = ("pytorch", "he_uniform", "he_normal", "xavier_uniform", "xavier_normal", "orthogonal",
         "delta_orthogonal")

NET_KEYS = [("input", SHAPE, None), ("classes", INT, "10"), ("batch", INT, "64"),
            ("epochs", INT, "5"), ("lr", FLOAT, "0.01"), ("optimizer", STR, "sgd"),
            ("momentum", FLOAT, "0.9"), ("weight_decay", FLOAT, "0"), ("schedule", STR, "constant"),
            ("step_size", INT, "1"), ("gamma", FLOAT, "0.1"), ("warmup", INT, "0"),
            ("shift", INT, "0"), ("flip", BOOL, "0"), ("mean", FLOATS, "0"), ("std", FLOATS, "1"),
            ("crop", FLOAT, "0"), ("jitter", FLOAT, "0"), ("sequence", INT, "0"), ("clip_norm", FLOAT, "0"),
            ("loss", STR, "softmax_ce")]
_POOL = [("size", INT, None), ("stride", INT, "0"), ("pad", INT, "0"), ("ceil_mode", BOOL, "0")]
LAYERS = collections.OrderedDict([
    ("conv", [("filters", INT, None), ("size", INT, None), ("stride", INT, "1"),
              ("pad", INT, "0"), ("dilation", INT, "1"), ("groups", INT, "1"),
              ("bias", BOOL, "1"), ("batchnorm", BOOL, "0"), ("binary", BINARY, "none"),
              ("activation", ACT, "linear"), ("init", INIT, "pytorch"), ("dirac", BOOL, "0")]),
    ("dense", [("units", INT, None), ("bias", BOOL, "1"), ("batchnorm", BOOL, "0"),
               ("binary", BINARY, "none"), ("activation", ACT, "linear"),
               ("init", INIT, "pytorch")]),
    ("maxpool", _POOL), ("avgpool", _POOL), ("globalavgpool", []),
    ("dropout", [("p", FLOAT, "0.5")]),
    ("batchnorm", [("eps", FLOAT, "1e-05"), ("momentum", FLOAT, "0.1")]),
    ("lrn", [("size", INT, "5"), ("alpha", FLOAT, "0.0001"), ("beta", FLOAT, "0.75"),
             ("k", FLOAT, "1")]),
    ("activation", [("type", ACT, None)]),
    ("softmax", []), ("flatten", []),
    ("maxout", [("pieces", INT, None)]),
    ("add", [("activation", ACT, "linear")]),
    ("concat", []),
    ("mul", []),
])
MULTI_INPUT = ("add", "concat", "mul")

_KIND_DOC = {
    INT: "a non-negative integer", FLOAT: "a finite number", BOOL: "0 or 1", STR: "a word",
    NAME: "a layer name", NAMES: "two or more layer names separated by commas",
    SHAPE: "C,H,W or a feature count (positive integers)",
    ACT: "one of " + ", ".join(ACTIVATIONS), INIT: "one of " + ", ".join(INITS),
    BINARY: "one of " + ", ".join(BINARIES),
    FLOATS: "a finite number, or one per channel separated by commas"}

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_DEC_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_HEX_RE = re.compile(r"([+-]?)0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)([pP][+-]?[0-9]+)?\Z")
_DBL_MIN = 2.2250738585072014e-308


def _strtod(v):
    """strtod with glia's checks (whole string, no ERANGE, finite) -> float or None."""
    if _DEC_RE.match(v):
        x = float(v)
        mant = re.match(r"[+-]?([0-9.]*)", v).group(1)
    else:
        m = _HEX_RE.match(v)
        if not m:
            return None   # also inf, nan, "1_0": strtod leaves them unparsed or glia refuses them
        body = m.group(2) + (m.group(3) or "p0")
        try:
            x = float.fromhex(m.group(1) + "0x" + body)
        except OverflowError:
            return None
        mant = m.group(2)
    if not math.isfinite(x):
        return None          # overflow: ERANGE
    if abs(x) < _DBL_MIN and any(c not in "0." for c in mant):
        return None          # underflow: ERANGE (glibc sets it for subnormal results too)
    return x


def check_value(kind, v, limit=256):
    """glia's check_value: the canonical string of value v, or None if v is not of that kind."""
    if kind == INT:
        if not _INT_RE.match(v):
            return None
        x = int(v)
        return str(x) if 0 <= x <= (1 << 30) else None
    if kind == FLOAT:
        x = _strtod(v)
        return None if x is None else "%.9g" % x
    if kind == FLOATS:  # 1 to 4 numbers separated by commas (strtod skips leading blanks)
        parts = v.split(",")
        xs = [_strtod(q.strip()) for q in parts]
        if len(parts) > 4 or any(x is None for x in xs):
            return None
        return ", ".join("%.9g" % x for x in xs)
    if kind == BOOL:
        return v if v in ("0", "1") else None
    if kind == ACT:
        return v if v in ACTIVATIONS else None
    if kind == INIT:
        return v if v in INITS else None
    if kind == BINARY:
        return v if v in BINARIES else None
    if kind in (STR, NAME):
        return v if _WORD.match(v) and len(v) < NAME_MAX else None
    # NAMES, SHAPE: comma-separated items, blanks around them
    items, p, n = [], 0, len(v)
    while True:
        while p < n and v[p] in _C_SPACE:
            p += 1
        b = p
        while p < n and v[p] != "," and v[p] not in _C_SPACE:
            p += 1
        if p == b or p - b >= NAME_MAX:
            return None
        item = check_value(INT if kind == SHAPE else NAME, v[b:p])
        if item is None or (kind == SHAPE and int(item) == 0):
            return None
        items.append(item)
        while p < n and v[p] in _C_SPACE:
            p += 1
        if p >= n:
            break
        if v[p] != ",":
            return None
        p += 1
    out = ", ".join(items)
    if len(out) >= limit:
        return None
    ok = len(items) <= 3 if kind == SHAPE else 2 <= len(items) <= MAX_INPUTS
    return out if ok else None


def _f32(canonical):
    """a FLOAT key as glia uses it: strtof of the canonical text."""
    return float(np.float32(float(canonical)))


class Layer:
    def __init__(self, typ, name, line, vals, inputs, input_text):
        self.type, self.name, self.line = typ, name, line
        self.vals = vals              # key -> canonical string, schema order
        self.inputs = inputs          # layer names or "data"
        self.input_text = input_text  # canonical `input` / `inputs` value

    def i(self, key):
        return int(self.vals[key])

    def f(self, key):
        return _f32(self.vals[key])

    def s(self, key):
        return self.vals[key]


class Spec:
    """A parsed model: [net] values and layers, with canonical values."""

    def __init__(self, filename, net, layers):
        self.filename, self.net, self.layers = filename, net, layers

    @property
    def input_shape(self):
        return [int(d) for d in self.net["input"].split(",")]

    def to_text(self):
        """glia_model_to_text's canonical form."""
        out = ["[net]"] + ["%s = %s" % (k, self.net[k]) for k, _, _ in NET_KEYS]
        for l in self.layers:
            out += ["", "[%s]" % l.type, "name = %s" % l.name,
                    "%s = %s" % ("inputs" if l.type in MULTI_INPUT else "input", l.input_text)]
            out += ["%s = %s" % (k, v) for k, v in l.vals.items()]
        return "\n".join(out) + "\n"


def _read_keys(fn, typ, sline, kv, schema):
    vals = collections.OrderedDict()
    for key, kind, default in schema:
        if key not in kv and default is None:
            raise CfgError("%s:%d: [%s] needs '%s' (%s)" % (fn, sline, typ, key, _KIND_DOC[kind]))
        v, line = kv[key] if key in kv else (default, sline)
        c = check_value(kind, v)
        if c is None:
            raise CfgError("%s:%d: %s = %s: expected %s" % (fn, line, key, v, _KIND_DOC[kind]))
        vals[key] = c
    return vals


def _unknown_keys(fn, typ, kv, schema, known_extra):
    known = set(known_extra) | {k for k, _, _ in schema}
    for key, (_, line) in kv.items():
        if key not in known:
            raise CfgError("%s:%d: unknown key '%s' in [%s] (known: %s)" % (
                fn, line, key, typ, ", ".join(list(known_extra) + [k for k, _, _ in schema]) or "none"))


def parse(text, filename="<text>"):
    """Parses and checks a model text -> Spec (shapes are checked by build)."""
    secs = parse_sections(text, filename)
    typ, line, kv = secs[0]
    if typ != "net":
        raise CfgError("%s:%d: a model starts with [net], not [%s]" % (filename, line, typ))
    net = _read_keys(filename, typ, line, kv, NET_KEYS)
    _unknown_keys(filename, typ, kv, NET_KEYS, ())
    layers, names = [], {}
    for i, (typ, sline, kv) in enumerate(secs[1:], 1):
        if typ not in LAYERS:
            raise CfgError("%s:%d: unknown layer type [%s] (known: %s)"
                           % (filename, sline, typ, ", ".join(LAYERS)))
        schema, multi = LAYERS[typ], typ in MULTI_INPUT
        if "name" in kv:
            v, nline = kv["name"]
            name = check_value(NAME, v)
            if name is None or name == "data":
                raise CfgError("%s:%d: name = %s: expected a word of letters, digits, '_', '.', "
                               "'-' (and not 'data')" % (filename, nline, v))
        else:
            name, nline = "%s%d" % (typ, i), sline
        if name in names:
            raise CfgError("%s:%d: a layer named '%s' exists already (line %d)"
                           % (filename, nline, name, names[name]))
        names[name] = sline
        vals = _read_keys(filename, typ, sline, kv, schema)
        ikey = "inputs" if multi else "input"
        if ikey in kv:
            v, iline = kv[ikey]
            text_in = check_value(NAMES if multi else NAME, v, 1024)
            if text_in is None:
                raise CfgError("%s:%d: %s = %s: expected %s" % (filename, iline, ikey, v,
                                                                 _KIND_DOC[NAMES if multi else NAME]))
        elif multi:
            raise CfgError("%s:%d: [%s] needs 'inputs' (%s)" % (filename, sline, typ, _KIND_DOC[NAMES]))
        else:
            text_in, iline = layers[-1].name if layers else "data", sline
        inputs = [t.strip() for t in text_in.split(",")]
        for t in inputs:
            if t == name:
                raise CfgError("%s:%d: layer '%s' takes itself as input (glia would read the "
                               "network input 'data' there)" % (filename, iline, name))
            if t != "data" and t not in names:
                raise CfgError("%s:%d: layer '%s' takes input '%s', which is not a layer defined "
                               "above it ('data' is the network input)" % (filename, iline, name, t))
        _unknown_keys(filename, typ, kv, schema, ("name", ikey))
        layers.append(Layer(typ, name, sline, vals, inputs, text_in))
    if not layers:
        raise CfgError("%s: the model has no layers after [net]" % filename)
    return Spec(filename, net, layers)


def node_names(l):
    """The graph nodes glia's builder makes for layer l (src/nn/model.c), in order."""
    n, t = l.name, l.type
    if t in ("conv", "dense"):
        bn, act = l.i("batchnorm"), l.s("activation") != "linear"
        out = [n + ".weight"] + ([n + ".bias"] if l.i("bias") else [])
        out.append(n + (".conv" if t == "conv" else ".fc") if (bn or act) else n)
        if bn:
            out += [n + ".bn." + s for s in ("weight", "bias", "running_mean", "running_var")]
            out.append(n + ".bn" if act else n)
        return out + ([n + "." + l.s("activation")] if act else [])
    if t == "batchnorm":
        return [n + "." + s for s in ("weight", "bias", "running_mean", "running_var")] + [n]
    if t == "activation":
        return [n if l.s("type") == "linear" else n + "." + l.s("type")]
    if t == "add":
        act, k = l.s("activation") != "linear", len(l.inputs)
        out = [n if (i == k - 1 and not act) else "%s.add%d" % (n, i) for i in range(1, k)]
        return out + ([n + "." + l.s("activation")] if act else [])
    return [n]


# ------------------------------------------------------------------ the module
def _act(x, a):
    if a == "linear":
        return x
    if a == "relu":
        return F.relu(x)
    if a == "relu6":
        return F.relu6(x)
    if a == "leaky":
        return F.leaky_relu(x, 0.01)
    if a == "elu":
        return F.elu(x, 1.0)
    if a == "sigmoid":
        return torch.sigmoid(x)
    if a == "hard_sigmoid":
        return F.hardsigmoid(x)
    if a == "hard_swish":
        return F.hardswish(x)
    return torch.tanh(x)


class Params(nn.Module):
    """Holds one layer's parameters (weight [, bias]) and its batch norm as child 'bn'."""

    def __init__(self, weight_shape, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(weight_shape))
        if bias:
            self.bias = nn.Parameter(torch.zeros(weight_shape[0]))


class BatchNorm(nn.Module):
    """PyTorch's BatchNorm without num_batches_tracked (glia has no such tensor)."""

    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))


class Container(nn.Module):
    """An empty module standing for the part 'a' of layer names 'a.b'."""


def _bn(x, m, training, momentum, eps):
    return F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias, training, momentum, eps)


class GliaNet(nn.Module):
    """The network of a glia model text. forward(x) returns the last layer's output;
    forward_all(x) every layer's output by name."""

    def __init__(self, spec, seed=0):
        super().__init__()
        object.__setattr__(self, "glia_spec", spec)      # plain attributes, not modules
        object.__setattr__(self, "_glia_holders", {})    # layer name -> module holding its tensors
        gen = torch.Generator().manual_seed(seed)
        # shapes with a batch of 2, so that no layer fits only thanks to broadcasting over a
        # batch of 1 ([add] broadcasts over every axis, the batch included)
        shapes = {"data": [2] + spec.input_shape}
        nodes = {"data": spec.layers[0].line if spec.layers else 0}
        for l in spec.layers:
            where = "%s:%d: layer '%s' [%s]" % (spec.filename, l.line, l.name, l.type)
            if l.type in ("conv", "dense") and l.s("binary") != "none":
                raise CfgError("%s: binary = %s: binary layers are glia's only (torch_model.py "
                               "builds real layers)" % (where, l.s("binary")))
            for nn_name in node_names(l):
                if len(nn_name) >= NAME_MAX:
                    raise CfgError("%s: name '%s' is too long (%d characters at most)"
                                   % (where, nn_name, NAME_MAX - 1))
                if nn_name in nodes:
                    raise CfgError("%s: a node named '%s' already exists" % (where, nn_name))
                nodes[nn_name] = l.line
            ins = [shapes[t] for t in l.inputs]
            try:
                holder = self._make_holder(l, ins[0], gen)
                if holder is not None:
                    self._place(l.name, holder)
                    self._glia_holders[l.name] = holder
                with torch.no_grad():
                    y = self._layer(l, [torch.zeros(s) for s in ins], False)
            except CfgError as e:
                raise CfgError("%s: %s" % (where, e)) from None
            except (RuntimeError, ValueError, IndexError) as e:
                raise CfgError("%s: %s" % (where, str(e).splitlines()[0])) from None
            shapes[l.name] = list(y.shape)
        object.__setattr__(self, "glia_shapes", {k: v[1:] for k, v in shapes.items()})

    # -- construction
    def _place(self, name, module):
        """Registers module under the dotted path `name`, so its tensors are '<name>.weight'."""
        parts = name.split(".")
        if "" in parts:
            raise CfgError("PyTorch cannot name a module '%s' (an empty part between dots)" % name)
        parent = self
        for p in parts[:-1]:
            child = parent._modules.get(p)
            if child is None:
                if hasattr(parent, p):
                    raise CfgError("PyTorch cannot hold '%s': '%s' is an attribute of %s"
                                   % (name, p, type(parent).__name__))
                child = Container()
                parent.add_module(p, child)
            parent = child
        last, old = parts[-1], parent._modules.get(parts[-1])
        if old is not None:   # a Container made for an earlier 'name.x': move its children
            for k, m in old._modules.items():
                if hasattr(module, k):
                    raise CfgError("PyTorch cannot hold '%s.%s': '%s' is an attribute of %s"
                                   % (name, k, k, type(module).__name__))
                module.add_module(k, m)
            parent._modules[last] = module
        else:
            if hasattr(parent, last):
                raise CfgError("PyTorch cannot hold '%s': '%s' is an attribute of %s"
                               % (name, last, type(parent).__name__))
            parent.add_module(last, module)

    def _make_holder(self, l, xs, gen):
        t = l.type
        if t == "conv":
            if len(xs) != 4:
                raise CfgError("conv needs an image input [N, C, H, W], got %d dimensions" % len(xs))
            O, k, G = l.i("filters"), l.i("size"), l.i("groups")
            if min(O, k, G, l.i("stride"), l.i("dilation")) < 1:
                raise CfgError("filters, size, stride, dilation and groups must be >= 1")
            if xs[1] % G:
                raise CfgError("groups = %d does not divide the %d input channels" % (G, xs[1]))
            if O % G:
                raise CfgError("groups = %d does not divide the %d output channels" % (G, O))
            if l.i("dirac"):
                raise CfgError("dirac = 1 (DiracNet) is glia's only; torch_model.py does not build it")
            h = Params([O, xs[1] // G, k, k], l.i("bias"))
        elif t == "dense":
            if len(xs) < 2:
                raise CfgError("dense needs an input [N, features...]")
            if l.i("units") < 1:
                raise CfgError("units must be >= 1")
            h = Params([l.i("units"), int(np.prod(xs[1:]))], l.i("bias"))
        elif t == "batchnorm":
            if len(xs) < 2:
                raise CfgError("batch norm needs [N, C, ...]")
            if not (l.f("eps") > 0 and math.isfinite(l.f("eps"))):
                raise CfgError("eps = %g must be positive and finite" % l.f("eps"))
            if not 0 <= l.f("momentum") <= 1:
                raise CfgError("momentum = %g must be in [0, 1]" % l.f("momentum"))
            return BatchNorm(xs[1])
        else:
            return None
        init_weight(h.weight, l.s("init"), gen)
        if l.i("bias"):
            fan_in = h.weight[0].numel()
            with torch.no_grad():
                h.bias.copy_(_uniform(h.bias.shape, 1.0 / math.sqrt(fan_in), gen))
        if l.i("batchnorm"):
            h.add_module("bn", BatchNorm(h.weight.shape[0]))
        return h

    # -- forward
    def _layer(self, l, xs, training):
        t, x, h = l.type, xs[0], self._glia_holders.get(l.name)
        if t in ("maxpool", "avgpool", "globalavgpool") and x.dim() != 4:
            raise CfgError("pooling needs [N, C, H, W], got %d dimensions" % x.dim())
        if t == "conv":
            s, p, d, g = l.i("stride"), l.i("pad"), l.i("dilation"), l.i("groups")
            y = F.conv2d(x, h.weight, h.bias if l.i("bias") else None, s, p, d, g)
            if l.i("batchnorm"):
                y = _bn(y, h.bn, training, 0.1, 1e-5)
            return _act(y, l.s("activation"))
        if t == "dense":
            y = F.linear(x.flatten(1), h.weight, h.bias if l.i("bias") else None)
            if l.i("batchnorm"):
                y = _bn(y, h.bn, training, 0.1, 1e-5)
            return _act(y, l.s("activation"))
        if t in ("maxpool", "avgpool"):
            k, s, p = l.i("size"), l.i("stride") or l.i("size"), l.i("pad")
            if k < 1:
                raise CfgError("size = %d must be >= 1" % k)
            if p > k // 2:
                raise CfgError("padding %d must be at most half the kernel %d" % (p, k))
            cm = bool(l.i("ceil_mode"))
            if t == "maxpool":
                return F.max_pool2d(x, k, s, p, ceil_mode=cm)
            return F.avg_pool2d(x, k, s, p, ceil_mode=cm, count_include_pad=True)
        if t == "globalavgpool":
            return x.mean(dim=(2, 3), keepdim=True)
        if t == "dropout":
            p = l.f("p")
            if not 0 <= p < 1:
                raise CfgError("drop probability p = %g must be in [0, 1)" % p)
            return F.dropout(x, p, training)
        if t == "batchnorm":
            return _bn(x, h, training, l.f("momentum"), l.f("eps"))
        if t == "lrn":
            size, alpha, beta, k = l.i("size"), l.f("alpha"), l.f("beta"), l.f("k")
            if size < 1 or not alpha >= 0 or not k > 0:
                raise CfgError("size >= 1, alpha >= 0 and k > 0 are needed")
            if x.dim() < 3:
                raise CfgError("local response normalisation needs [N, C, ...] (rank >= 3)")
            return F.local_response_norm(x, size, alpha, beta, k)
        if t == "activation":
            return _act(x, l.s("type"))
        if t == "softmax":
            return F.softmax(x, dim=1)
        if t == "flatten":
            return x.flatten(1)
        if t == "maxout":
            k = l.i("pieces")
            if k < 1 or x.shape[1] % k:
                raise CfgError("maxout: %d channels are not a multiple of pieces = %d" % (x.shape[1], k))
            return x.reshape(x.shape[0], x.shape[1] // k, k, *x.shape[2:]).max(dim=2).values
        if t == "add":
            y = xs[0]
            for z in xs[1:]:
                try:
                    torch.broadcast_shapes(y.shape, z.shape)
                except RuntimeError:
                    raise CfgError("shapes %s and %s do not broadcast (the batch axis counts: "
                                   "here N = %d)" % (list(y.shape), list(z.shape), y.shape[0])) from None
                y = y + z
            return _act(y, l.s("activation"))
        if t == "mul":
            if len(xs) != 2:
                raise CfgError("mul takes two inputs")
            return xs[0] * xs[1]
        if t == "concat":
            if len({z.dim() for z in xs}) != 1:
                raise CfgError("concat inputs differ in rank")
            return torch.cat(xs, dim=1)
        raise CfgError("unknown layer type [%s]" % t)

    def preprocess(self, pixels):
        """(pixels - mean) / std with [net] mean and std: what glia train and glia's evaluation
        feed to the graph's input. Not part of forward (nor of glia's graph)."""
        mean = [_f32(v) for v in self.glia_spec.net["mean"].split(",")]
        std = [_f32(v) for v in self.glia_spec.net["std"].split(",")]
        if len(mean) == 1 and len(std) == 1:
            return (pixels - mean[0]) / std[0]
        c = pixels.shape[1]  # one value per channel (colour models), or one for all
        m = torch.tensor(mean * c if len(mean) == 1 else mean, dtype=pixels.dtype).view(1, c, 1, 1)
        s = torch.tensor(std * c if len(std) == 1 else std, dtype=pixels.dtype).view(1, c, 1, 1)
        return (pixels - m) / s

    def forward_all(self, x):
        want = self.glia_spec.input_shape
        if list(x.shape[1:]) != want:
            raise ValueError("input has shape %s; the model takes [N, %s]"
                             % (list(x.shape), ", ".join(map(str, want))))
        out = collections.OrderedDict(data=x)
        for l in self.glia_spec.layers:
            out[l.name] = self._layer(l, [out[t] for t in l.inputs], self.training)
        return out

    def forward(self, x):
        return next(reversed(self.forward_all(x).values()))


# ------------------------------------------------------------------ initialisation (src/nn/init.c)
def _uniform(shape, b, gen):
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 * b - b).float()


def _orthogonal(rows, cols, gen):
    a = torch.randn(rows, cols, generator=gen, dtype=torch.float64)
    if rows < cols:
        a = a.t()
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    return (q.t() if rows < cols else q).float()


def init_weight(w, kind, gen):
    """glia's initialisers (same distributions as glia_init_param, not the same numbers)."""
    shape = w.shape
    fan_in, fan_out = w.numel() // shape[0], w.numel() // shape[1]
    with torch.no_grad():
        if kind == "pytorch":
            w.copy_(_uniform(shape, 1 / math.sqrt(fan_in), gen))
        elif kind == "he_uniform":
            w.copy_(_uniform(shape, math.sqrt(6 / fan_in), gen))
        elif kind == "he_normal":
            w.copy_(torch.randn(shape, generator=gen) * math.sqrt(2 / fan_in))
        elif kind == "xavier_uniform":
            w.copy_(_uniform(shape, math.sqrt(6 / (fan_in + fan_out)), gen))
        elif kind == "xavier_normal":
            w.copy_(torch.randn(shape, generator=gen) * math.sqrt(2 / (fan_in + fan_out)))
        elif kind == "orthogonal":
            w.copy_(_orthogonal(shape[0], fan_in, gen).reshape(shape))
        elif kind == "delta_orthogonal":
            if w.dim() != 4 or shape[0] < shape[1]:
                raise CfgError("delta_orthogonal init needs a conv weight [out, in, kh, kw] with "
                               "out >= in, but it has shape %s" % list(shape))
            w.zero_()
            w[:, :, shape[2] // 2, shape[3] // 2] = _orthogonal(shape[0], shape[1], gen)
        else:
            raise CfgError("unknown init '%s'" % kind)


# ------------------------------------------------------------------ public functions
def build_text(text, filename="<text>", seed=0):
    return GliaNet(parse(text, filename), seed)


def build(cfg_path, seed=0):
    """The torch.nn.Module of a glia model file, initialised from `seed` (PyTorch's generator)."""
    with open(cfg_path, "rb") as f:
        data = f.read()
    if len(data) > 16 << 20:
        raise CfgError("%s: larger than 16 MB; not a model file" % cfg_path)
    return build_text(data.decode("utf-8"), cfg_path, seed)


def _float_dtypes():
    return (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def load_glia_weights(module, path):
    """Loads a glia safetensors file strictly: every tensor of the state dict present with its
    shape, no other tensor, a float dtype (F32; F16, BF16, F64 converted, as glia does)."""
    _, tensors = st_read(path)
    sd = module.state_dict()
    missing = [k for k in sd if k not in tensors]
    extra = [k for k in tensors if k not in sd]
    if missing or extra:
        raise ValueError("%s: %s%s%s" % (path, "missing %s" % missing if missing else "",
                                         "; " if missing and extra else "",
                                         "not in the model %s" % extra if extra else ""))
    new = collections.OrderedDict()
    for k, v in sd.items():
        t = tensors[k]
        if list(t.shape) != list(v.shape):
            raise ValueError("%s: tensor '%s' has shape %s in the file, the model %s"
                             % (path, k, list(t.shape), list(v.shape)))
        if t.dtype not in _float_dtypes():
            raise ValueError("%s: tensor '%s' has dtype %s" % (path, k, t.dtype))
        new[k] = t.to(torch.float32)
    module.load_state_dict(new, strict=True)
    return module


def save_glia_weights(module, path):
    """Writes the state dict as F32 safetensors (glia_safetensors_load reads it)."""
    sd = collections.OrderedDict(
        (k, v.detach().to(torch.float32).contiguous()) for k, v in module.state_dict().items()
        if not k.endswith("num_batches_tracked"))
    st_write(path, sd, {"format": "pt", "producer": "scripts/torch_model.py"})


def summary(net):
    lines = ["%-16s %-14s %-20s %10s" % ("layer", "type", "output shape", "params")]
    total = 0
    for l in net.glia_spec.layers:
        h = net._glia_holders.get(l.name)
        own = [] if h is None else list(h._parameters.values()) + list(h._buffers.values())
        if h is not None and l.type != "batchnorm" and l.i("batchnorm"):
            own += list(h.bn._parameters.values()) + list(h.bn._buffers.values())
        n = sum(t.numel() for t in own if t is not None)
        total += n
        shape = "[N, %s]" % ", ".join(map(str, net.glia_shapes[l.name]))
        lines.append("%-16s %-14s %-20s %10d" % (l.name, l.type, shape, n))
    lines.append("total params: %d" % total)
    lines.append("state_dict:")
    lines += ["  %-32s %s" % (k, list(v.shape)) for k, v in net.state_dict().items()]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("summary", help="layers, shapes, parameters, state_dict keys")
    p.add_argument("model")
    p = sub.add_parser("text", help="the canonical text (glia_model_to_text)")
    p.add_argument("model")
    p = sub.add_parser("init", help="write PyTorch-initialised weights")
    p.add_argument("model")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("load", help="strict load of glia weights, then a forward of random input")
    p.add_argument("model")
    p.add_argument("weights")
    a = ap.parse_args(argv)
    try:
        net = build(a.model, getattr(a, "seed", 0))
    except CfgError as e:
        print("torch_model.py: %s" % e, file=sys.stderr)
        return 1
    if a.cmd == "summary":
        print(summary(net))
    elif a.cmd == "text":
        sys.stdout.write(net.glia_spec.to_text())
    elif a.cmd == "init":
        save_glia_weights(net, a.out)
        print("wrote %s (%d tensors)" % (a.out, len(net.state_dict())))
    else:
        try:
            load_glia_weights(net, a.weights)
        except (ValueError, OSError, KeyError) as e:
            print("torch_model.py: %s" % e, file=sys.stderr)
            return 1
        x = torch.rand([2] + net.glia_spec.input_shape, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            y = net.eval()(x)
        print("loaded %s: %d tensors; output %s, sum %.9g" % (a.weights, len(net.state_dict()),
                                                              list(y.shape), y.double().sum()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
