#!/usr/bin/python3
"""Cross-checks glia's safetensors files with PyTorch (Debian's python3-torch; the `safetensors`
package is not needed: the format is implemented here with struct + json + torch.frombuffer).

    safetensors_check.py write OUT.safetensors
        Writes the state dict of a seeded nn.Sequential(OrderedDict(fc=nn.Linear(4, 3)))
        ("fc.weight" [3, 4], "fc.bias" [3]) and, next to it, OUT's stem + ".txt" in the golden
        text format of scripts/golden/common.py: the two tensors, an input x [2, 4] and the
        module's output y = fc(x). `make`-free regeneration of the test fixture:
            /usr/bin/python3 scripts/safetensors_check.py write tests/golden/st_from_pytorch.safetensors
    safetensors_check.py read FILE
        Prints the metadata and each tensor's name, dtype, shape and sum. If the file holds
        exactly "fc.weight" [3, 4] and "fc.bias" [3] (as glia saves a graph with those
        parameters), loads them into the same nn.Linear with load_state_dict(strict=True) and
        prints fc(x) for the x above.
"""
import collections
import json
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}
NAMES = {v: k for k, v in DTYPES.items()}


def st_read(path):
    """-> (metadata dict, OrderedDict name -> tensor), checking the layout as the reference does."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    data = buf[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    out, end = collections.OrderedDict(), 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, e = info["data_offsets"]
        assert b == end and e >= b, "tensor %s: offsets %s not contiguous" % (name, (b, e))
        end = e
        dt = DTYPES[info["dtype"]]
        t = torch.frombuffer(bytearray(data[b:e]), dtype=dt) if e > b else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"])  # little-endian host assumed (x86, arm64)
    assert end == len(data), "%d trailing bytes" % (len(data) - end)
    return meta, collections.OrderedDict((k, out[k]) for k in header)  # header order


def st_write(path, tensors, metadata=None):
    """tensors: dict name -> tensor; written in order, contiguous, header padded to 8 bytes."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        raw = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def model():
    torch.manual_seed(1234)
    return torch.nn.Sequential(collections.OrderedDict(fc=torch.nn.Linear(4, 3)))


def example_input():
    return torch.linspace(-1.0, 1.0, 8).reshape(2, 4)


def golden_write(path, tensors, comment):
    """The text format of scripts/golden/common.py (read by tests/util.c golden_load)."""
    with open(path, "w") as f:
        f.write("# " + comment + "\n")
        for name, t in tensors:
            t = t.detach().to(torch.float32).contiguous()
            f.write("tensor %s %d %s\n" % (name, t.dim(), " ".join(str(d) for d in t.shape)))
            f.write(" ".join("%.9g" % v for v in t.flatten().tolist()) + "\n")


def cmd_write(out):
    m = model()
    sd = m.state_dict()
    st_write(out, sd, {"format": "pt", "producer": "scripts/safetensors_check.py"})
    x = example_input()
    with torch.no_grad():
        y = m(x)
    txt = os.path.splitext(out)[0] + ".txt"
    golden_write(txt, [("fc.weight", sd["fc.weight"]), ("fc.bias", sd["fc.bias"]), ("x", x),
                       ("y", y)], "written by scripts/safetensors_check.py write %s"
                 % os.path.basename(out))
    print("wrote %s (%d bytes) and %s" % (out, os.path.getsize(out), txt))
    cmd_read(out)


def cmd_read(path):
    meta, sd = st_read(path)
    (n,) = struct.unpack("<Q", open(path, "rb").read(8))
    print("%s: header %d bytes (%s), metadata %s" % (path, n, "8-byte aligned" if n % 8 == 0
                                                     else "NOT 8-byte aligned", json.dumps(meta)))
    for name, t in sd.items():
        print("  %-24s %-5s %-16s sum %.9g" % (name, NAMES[t.dtype], list(t.shape),
                                             t.double().sum().item()))
    if set(sd) == {"fc.weight", "fc.bias"} and list(sd["fc.weight"].shape) == [3, 4]:
        m = model()
        m.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
        with torch.no_grad():
            y = m(example_input())
        print("  fc(x) for x = linspace(-1, 1, 8).reshape(2, 4):")
        for row in y.tolist():
            print("   " + " ".join("%.9g" % v for v in row))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "read"):
        sys.exit(__doc__)
    (cmd_write if sys.argv[1] == "write" else cmd_read)(sys.argv[2])
