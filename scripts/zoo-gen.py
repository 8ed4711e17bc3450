#!/usr/bin/python3
"""zoo-gen.py: writes the model zoo, models/zoo/*.cfg, from the architectures' tables below.

Layers and parameters are named as torchvision names its modules and state_dict entries
(features.0.weight, layer1.0.conv1.weight, ...), so that tests/test_zoo.c can check every
parameter's shape and every layer's output against torchvision (scripts/zoo-counts.py). Plain
Python, no torch needed. Usage: scripts/zoo-gen.py [OUT_DIR]   (default models/zoo)
"""
import os
import sys

NET = "[net]\ninput = 3, 224, 224\nclasses = 1000\n"


class Cfg:
    def __init__(self, title, cite):
        self.lines = ["# %s" % title] + ["# %s" % c for c in cite] + [NET.rstrip("\n")]
        self.last = "data"

    def add(self, kind, name, input=None, **keys):
        s = ["", "[%s]" % kind, "name = %s" % name]
        if input is not None and kind in ("concat", "add"):
            s.append("inputs = %s" % ", ".join(input))
        elif input is not None and input != self.last:
            s.append("input = %s" % input)
        for k, v in keys.items():
            s.append("%s = %s" % (k, v))
        self.lines += s
        self.last = name
        return name

    def text(self):
        return "\n".join(self.lines) + "\n"


def conv_bn_relu(c, name, inp, filters, size, stride=1, pad=0, groups=1, eps=None, act=True,
                 conv="conv", bn="bn", relu=None):
    """torchvision's conv (no bias) + BatchNorm2d + ReLU, as three layers named <name>.conv ..."""
    keys = dict(filters=filters, size=size, bias=0)
    if stride != 1: keys["stride"] = stride
    if pad: keys["pad"] = pad
    if groups != 1: keys["groups"] = groups
    c.add("conv", conv, inp, **keys)
    c.add("batchnorm", bn, **({"eps": eps} if eps else {}))
    if act: c.add("activation", relu, type="relu")
    return c.last


# ------------------------------------------------------------------ AlexNet
def alexnet():
    c = Cfg("AlexNet, torchvision's one-tower variant (no LRN)",
            ["Krizhevsky, Sutskever, Hinton 2012, ImageNet Classification with Deep Convolutional",
             "Neural Networks; Krizhevsky 2014, One weird trick for parallelizing CNNs (this variant)"])
    c.add("conv", "features.0", filters=64, size=11, stride=4, pad=2, activation="relu")
    c.add("maxpool", "features.2", size=3, stride=2)
    c.add("conv", "features.3", filters=192, size=5, pad=2, activation="relu")
    c.add("maxpool", "features.5", size=3, stride=2)
    c.add("conv", "features.6", filters=384, size=3, pad=1, activation="relu")
    c.add("conv", "features.8", filters=256, size=3, pad=1, activation="relu")
    c.add("conv", "features.10", filters=256, size=3, pad=1, activation="relu")
    c.add("maxpool", "features.12", size=3, stride=2)
    c.add("flatten", "flatten")
    c.add("dropout", "classifier.0")
    c.add("dense", "classifier.1", units=4096, activation="relu")
    c.add("dropout", "classifier.3")
    c.add("dense", "classifier.4", units=4096, activation="relu")
    c.add("dense", "classifier.6", units=1000)
    return c


def alexnet_lrn():
    c = Cfg("AlexNet as in the paper: two towers (groups = 2 where the GPUs did not talk), LRN",
            ["Krizhevsky, Sutskever, Hinton 2012, ImageNet Classification with Deep Convolutional",
             "Neural Networks (227x227 input as the arithmetic needs; 224 in the paper's text)"])
    c.lines[-1] = c.lines[-1].replace("3, 224, 224", "3, 227, 227")
    c.add("conv", "conv1", filters=96, size=11, stride=4, activation="relu")
    c.add("lrn", "norm1", size=5, alpha=1e-4, beta=0.75, k=2)
    c.add("maxpool", "pool1", size=3, stride=2)
    c.add("conv", "conv2", filters=256, size=5, pad=2, groups=2, activation="relu")
    c.add("lrn", "norm2", size=5, alpha=1e-4, beta=0.75, k=2)
    c.add("maxpool", "pool2", size=3, stride=2)
    c.add("conv", "conv3", filters=384, size=3, pad=1, activation="relu")
    c.add("conv", "conv4", filters=384, size=3, pad=1, groups=2, activation="relu")
    c.add("conv", "conv5", filters=256, size=3, pad=1, groups=2, activation="relu")
    c.add("maxpool", "pool5", size=3, stride=2)
    c.add("dropout", "drop6")
    c.add("dense", "fc6", units=4096, activation="relu")
    c.add("dropout", "drop7")
    c.add("dense", "fc7", units=4096, activation="relu")
    c.add("dense", "fc8", units=1000)
    return c


def zfnet():
    c = Cfg("ZFNet: AlexNet with a 7x7 stride-2 first layer and 512/1024/512 middle filters",
            ["Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks (Fig. 3)"])
    c.add("conv", "conv1", filters=96, size=7, stride=2, pad=1, activation="relu")
    c.add("lrn", "norm1", size=5, alpha=1e-4, beta=0.75, k=2)
    c.add("maxpool", "pool1", size=3, stride=2, pad=1)
    c.add("conv", "conv2", filters=256, size=5, stride=2, activation="relu")
    c.add("lrn", "norm2", size=5, alpha=1e-4, beta=0.75, k=2)
    c.add("maxpool", "pool2", size=3, stride=2, pad=1)
    c.add("conv", "conv3", filters=384, size=3, pad=1, activation="relu")
    c.add("conv", "conv4", filters=384, size=3, pad=1, activation="relu")
    c.add("conv", "conv5", filters=256, size=3, pad=1, activation="relu")
    c.add("maxpool", "pool5", size=3, stride=2)
    c.add("dropout", "drop6")
    c.add("dense", "fc6", units=4096, activation="relu")
    c.add("dropout", "drop7")
    c.add("dense", "fc7", units=4096, activation="relu")
    c.add("dense", "fc8", units=1000)
    return c


# ------------------------------------------------------------------ VGG
VGG = {  # the paper's Table 1; (n, 1) is C's 1x1 convolution
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16_c": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
                512, 512, (512, 1), "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
VGG_LETTER = {"vgg11": "A", "vgg13": "B", "vgg16_c": "C", "vgg16": "D", "vgg19": "E"}


def vgg(name, bn=False, lrn=False):
    letter = VGG_LETTER[name]
    c = Cfg("VGG configuration %s%s%s" % (letter, "-LRN" if lrn else "", " with batch norm" if bn else ""),
            ["Simonyan & Zisserman 2015, Very Deep Convolutional Networks for Large-Scale Image",
             "Recognition (Table 1)" + ("; batch norm: Ioffe & Szegedy 2015" if bn else "")])
    i = 0
    for v in VGG[name]:
        if v == "M":
            c.add("maxpool", "features.%d" % i, size=2, stride=2)
            i += 1
            continue
        filters, size = v if isinstance(v, tuple) else (v, 3)
        keys = dict(filters=filters, size=size)
        if size == 3: keys["pad"] = 1
        if bn:
            c.add("conv", "features.%d" % i, **keys)
            c.add("batchnorm", "features.%d" % (i + 1))
            c.add("activation", "features.%d" % (i + 2), type="relu")
            i += 3
        else:
            c.add("conv", "features.%d" % i, activation="relu", **keys)
            i += 2
        if lrn and i == 2:  # A-LRN: LRN after the first layer (AlexNet's settings)
            c.add("lrn", "lrn", size=5, alpha=1e-4, beta=0.75, k=2)
    c.add("dense", "classifier.0", units=4096, activation="relu")
    c.add("dropout", "classifier.2")
    c.add("dense", "classifier.3", units=4096, activation="relu")
    c.add("dropout", "classifier.5")
    c.add("dense", "classifier.6", units=1000)
    return c


# ------------------------------------------------------------------ GoogLeNet
INCEPTION = [  # name, in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool proj (torchvision)
    ("inception3a", 64, 96, 128, 16, 32, 32), ("inception3b", 128, 128, 192, 32, 96, 64), "maxpool3",
    ("inception4a", 192, 96, 208, 16, 48, 64), ("inception4b", 160, 112, 224, 24, 64, 64),
    ("inception4c", 128, 128, 256, 24, 64, 64), ("inception4d", 112, 144, 288, 32, 64, 64),
    ("inception4e", 256, 160, 320, 32, 128, 128), "maxpool4",
    ("inception5a", 256, 160, 320, 32, 128, 128), ("inception5b", 384, 192, 384, 48, 128, 128),
]


def googlenet():
    c = Cfg("GoogLeNet (Inception v1) as torchvision builds it (batch norm, no auxiliary heads)",
            ["Szegedy et al. 2015, Going Deeper with Convolutions (Table 1). As torchvision: the",
             "'5x5' branch is a 3x3 convolution; its pools round up (ceil_mode = 1)"])

    def bc(name, inp, filters, size, stride=1, pad=0):
        return conv_bn_relu(c, name, inp, filters, size, stride, pad, eps=0.001, conv=name + ".conv",
                            bn=name + ".bn", relu=name)

    bc("conv1", "data", 64, 7, 2, 3)
    c.add("maxpool", "maxpool1", size=3, stride=2, ceil_mode=1)
    bc("conv2", None, 64, 1)
    bc("conv3", None, 192, 3, 1, 1)
    x = c.add("maxpool", "maxpool2", size=3, stride=2, ceil_mode=1)
    for blk in INCEPTION:
        if blk == "maxpool3":
            x = c.add("maxpool", "maxpool3", size=3, stride=2, ceil_mode=1)
            continue
        if blk == "maxpool4":
            x = c.add("maxpool", "maxpool4", size=2, stride=2, ceil_mode=1)
            continue
        n, c1, r3, c3, r5, c5, pp = blk
        b1 = bc(n + ".branch1", x, c1, 1)
        bc(n + ".branch2.0", x, r3, 1)
        b2 = bc(n + ".branch2.1", None, c3, 3, 1, 1)
        bc(n + ".branch3.0", x, r5, 1)
        b3 = bc(n + ".branch3.1", None, c5, 3, 1, 1)
        c.add("maxpool", n + ".branch4.0", x, size=3, stride=1, pad=1, ceil_mode=1)
        b4 = bc(n + ".branch4.1", None, pp, 1)
        x = c.add("concat", n, [b1, b2, b3, b4])
    c.add("globalavgpool", "avgpool")
    c.add("flatten", "flatten")
    c.add("dropout", "dropout", p=0.2)
    c.add("dense", "fc", units=1000)
    return c


# ------------------------------------------------------------------ ResNet, ResNeXt
def resnet(depth, bottleneck, blocks, groups=1, width_per_group=64, title=None):
    c = Cfg(title or "ResNet-%d" % depth,
            ["He, Zhang, Ren, Sun 2016, Deep Residual Learning for Image Recognition (Table 1)"] +
            (["Xie et al. 2017, Aggregated Residual Transformations for Deep Neural Networks"]
             if groups > 1 else []))
    conv_bn_relu(c, "conv1", "data", 64, 7, 2, 3, conv="conv1", bn="bn1", relu="relu")
    x = c.add("maxpool", "maxpool", size=3, stride=2, pad=1)
    inplanes, exp = 64, 4 if bottleneck else 1
    for li, (planes, n) in enumerate(zip([64, 128, 256, 512], blocks)):
        for b in range(n):
            p = "layer%d.%d" % (li + 1, b)
            stride = 2 if b == 0 and li > 0 else 1
            if bottleneck:
                width = planes * width_per_group // 64 * groups
                conv_bn_relu(c, p, x, width, 1, conv=p + ".conv1", bn=p + ".bn1", relu=p + ".relu1")
                conv_bn_relu(c, p, None, width, 3, stride, 1, groups, conv=p + ".conv2", bn=p + ".bn2",
                             relu=p + ".relu2")
                y = conv_bn_relu(c, p, None, planes * 4, 1, act=False, conv=p + ".conv3", bn=p + ".bn3")
            else:
                conv_bn_relu(c, p, x, planes, 3, stride, 1, conv=p + ".conv1", bn=p + ".bn1", relu=p + ".relu1")
                y = conv_bn_relu(c, p, None, planes, 3, 1, 1, act=False, conv=p + ".conv2", bn=p + ".bn2")
            if stride != 1 or inplanes != planes * exp:
                x = conv_bn_relu(c, p, x, planes * exp, 1, stride, act=False, conv=p + ".downsample.0",
                                 bn=p + ".downsample.1")
            x = c.add("add", p, [y, x], activation="relu")
            inplanes = planes * exp
    c.add("globalavgpool", "avgpool")
    c.add("dense", "fc", units=1000)
    return c


# ------------------------------------------------------------------ DenseNet
def dense_blocks(c, x, ch, blocks, growth):
    """DenseNet-BC's body after the stem (x, ch channels): dense blocks of bottleneck layers
    (BN-ReLU-1x1 conv of 4k, BN-ReLU-3x3 conv of k = growth), each layer's input the
    concatenation of every earlier output of its block; a transition (BN-ReLU-1x1 conv halving
    the channels, 2x2 average pool) between blocks; BN-ReLU and global average pooling at the end."""
    for bi, n in enumerate(blocks):
        blk = "features.denseblock%d" % (bi + 1)
        feats = [x]
        for j in range(n):
            p = "%s.denselayer%d" % (blk, j + 1)
            inp = feats[0] if j == 0 else c.add("concat", p + ".cat", list(feats))
            c.add("batchnorm", p + ".norm1", inp)
            c.add("activation", p + ".relu1", type="relu")
            c.add("conv", p + ".conv1", filters=4 * growth, size=1, bias=0)
            c.add("batchnorm", p + ".norm2")
            c.add("activation", p + ".relu2", type="relu")
            feats.append(c.add("conv", p + ".conv2", filters=growth, size=3, pad=1, bias=0))
        x = c.add("concat", blk, feats)
        ch += growth * n
        if bi < len(blocks) - 1:
            t = "features.transition%d" % (bi + 1)
            ch //= 2
            c.add("batchnorm", t + ".norm")
            c.add("activation", t + ".relu", type="relu")
            c.add("conv", t + ".conv", filters=ch, size=1, bias=0)
            x = c.add("avgpool", t + ".pool", size=2, stride=2)
    c.add("batchnorm", "features.norm5")
    c.add("activation", "features.relu5", type="relu")
    return c.add("globalavgpool", "avgpool")


def densenet121():
    c = Cfg("DenseNet-121 (growth 32, bottleneck 4k, compression 0.5)",
            ["Huang, Liu, van der Maaten, Weinberger 2017, Densely Connected Convolutional Networks"])
    conv_bn_relu(c, "f", "data", 64, 7, 2, 3, conv="features.conv0", bn="features.norm0", relu="features.relu0")
    x = c.add("maxpool", "features.pool0", size=3, stride=2, pad=1)
    dense_blocks(c, x, 64, [6, 12, 24, 16], 32)
    c.add("dense", "classifier", units=1000)
    return c


# ------------------------------------------------------------------ the rest of the course
def nin():
    c = Cfg("Network in Network for ImageNet: mlpconv blocks (a convolution, then two 1x1",
            ["convolutions), global average pooling instead of dense layers. Lin, Chen, Yan 2014,",
             "Network In Network (the ImageNet model of its Caffe model zoo)"])
    for i, (f, k, s, p) in enumerate([(96, 11, 4, 0), (256, 5, 1, 2), (384, 3, 1, 1), (1024, 3, 1, 1)]):
        c.add("conv", "mlpconv%d.conv" % (i + 1), filters=f, size=k, stride=s, pad=p, activation="relu")
        c.add("conv", "mlpconv%d.cccp1" % (i + 1), filters=f, size=1, activation="relu")
        c.add("conv", "mlpconv%d.cccp2" % (i + 1), filters=f if i < 3 else 1000, size=1, activation="relu")
        if i < 3: c.add("maxpool", "pool%d" % (i + 1), size=3, stride=2)
        if i == 2: c.add("dropout", "drop")
    c.add("globalavgpool", "avgpool")
    c.add("flatten", "flatten")
    return c


def highway():
    c = Cfg("A highway network: 30 highway layers of 50 units on 784 inputs (MNIST-sized)",
            ["Srivastava, Greff, Schmidhuber 2015, Training Very Deep Networks (the 50-unit, gate",
             "bias -2 setting of their depth experiment)"])
    c.lines[-1] = "[net]\ninput = 1, 28, 28\nclasses = 10"
    c.add("dense", "in", units=50, activation="relu")
    for i in range(30):
        c.add("highway", "hw%d" % (i + 1), activation="relu", gate_bias=-2)
    c.add("dense", "fc", units=10)
    return c


def diracnet18():
    c = Cfg("DiracNet-18: a plain chain of 3x3 convolutions with W = diag(a) I + W, no skip",
            ["connections. Zagoruyko & Komodakis 2017, DiracNets: Training Very Deep Neural Networks",
             "Without Skip-Connections (ImageNet DiracNet-18: 4 groups of 4 convs, widths 64..512)"])
    conv_bn_relu(c, "conv1", "data", 64, 7, 2, 3, conv="conv1", bn="bn1", relu="relu")
    c.add("maxpool", "maxpool", size=3, stride=2, pad=1)
    for gi, w in enumerate([64, 128, 256, 512]):
        for j in range(4):
            n = "group%d.%d" % (gi + 1, j)
            c.add("conv", n, filters=w, size=3, pad=1, bias=0, dirac=1 if gi == 0 or j > 0 else 0,
                  batchnorm=1, activation="relu")
        if gi < 3: c.add("maxpool", "group%d.pool" % (gi + 1), size=2, stride=2)
    c.add("globalavgpool", "avgpool")
    c.add("dense", "fc", units=1000)
    return c


def alphago_policy():
    c = Cfg("The AlphaGo supervised-learning policy network: 19x19x48 feature planes, a 5x5",
            ["convolution and 11 3x3 convolutions of 192 filters, a 1x1 convolution with a bias per",
             "board point, softmax over the 361 points. Silver et al. 2016, Mastering the game of Go",
             "with deep neural networks and tree search (Methods)"])
    c.lines[-1] = "[net]\ninput = 48, 19, 19\nclasses = 361"
    c.add("conv", "conv1", filters=192, size=5, pad=2, activation="relu")
    for i in range(2, 13):
        c.add("conv", "conv%d" % i, filters=192, size=3, pad=1, activation="relu")
    c.add("conv", "conv13", filters=1, size=1, bias=0)
    c.add("bias", "position_bias")
    c.add("flatten", "flatten")
    c.add("softmax", "softmax")
    return c


def deepface():
    c = Cfg("DeepFace's network after frontalisation: two convolutions, a max pool, three locally",
            ["connected layers (unshared weights at every position), two dense layers. Taigman, Yang,",
             "Ranzato, Wolf 2014, DeepFace: Closing the Gap to Human-Level Performance (Fig. 2)"])
    c.lines[-1] = "[net]\ninput = 3, 152, 152\nclasses = 4030"
    c.add("conv", "C1", filters=32, size=11, activation="relu")
    c.add("maxpool", "M2", size=3, stride=2, pad=1)
    c.add("conv", "C3", filters=16, size=9, activation="relu")
    c.add("local", "L4", filters=16, size=9, activation="relu")
    c.add("local", "L5", filters=16, size=7, stride=2, activation="relu")
    c.add("local", "L6", filters=16, size=5, activation="relu")
    c.add("dense", "F7", units=4096, activation="relu")
    c.add("dropout", "drop7")
    c.add("dense", "F8", units=4030)
    return c


def mobilenet_v2():
    c = Cfg("MobileNetV2 (width 1.0): inverted residual blocks of depthwise 3x3 convolutions",
            ["Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks (Table 2).",
             "Its activations are ReLU6 (min(max(x, 0), 6)), as torchvision's"])

    def cna(name, inp, filters, size, stride=1, groups=1, act=True):
        keys = dict(filters=filters, size=size, bias=0)
        if size == 3: keys["pad"] = 1
        if stride != 1: keys["stride"] = stride
        if groups != 1: keys["groups"] = groups
        c.add("conv", name + ".0", inp, **keys)
        c.add("batchnorm", name + ".1")
        if act: c.add("activation", name + ".2", type="relu6")
        return c.last

    x = cna("features.0", "data", 32, 3, 2)
    inp, i = 32, 1
    for t, ch, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                        (6, 160, 3, 2), (6, 320, 1, 1)]:
        for k in range(n):
            stride = s if k == 0 else 1
            p, j, hidden = "features.%d.conv" % i, 0, inp * t
            y = x
            if t != 1:
                y = cna("%s.%d" % (p, j), y, hidden, 1)
                j += 1
            cna("%s.%d" % (p, j), y, hidden, 3, stride, hidden)
            c.add("conv", "%s.%d" % (p, j + 1), filters=ch, size=1, bias=0)
            y = c.add("batchnorm", "%s.%d" % (p, j + 2))
            x = c.add("add", "features.%d" % i, [y, x]) if stride == 1 and inp == ch else y
            inp, i = ch, i + 1
    cna("features.18", x, 1280, 1)
    c.add("globalavgpool", "avgpool")
    c.add("flatten", "flatten")
    c.add("dropout", "classifier.0", p=0.2)
    c.add("dense", "classifier.1", units=1000)
    return c


def resnet20():
    c = Cfg("ResNet-20 for 28x28 grey images (Fashion-MNIST): the CIFAR ResNet, 3 stages of 3 basic",
            ["blocks of 16, 32, 64 channels, 1x1 projections where the shape changes (option B).",
             "He, Zhang, Ren, Sun 2016, Deep Residual Learning for Image Recognition (Section 4.2)"])
    c.lines[-1] = ("[net]\ninput = 1, 28, 28\nclasses = 10\nbatch = 128\nepochs = 30\nlr = 0.1\n"
                   "optimizer = nesterov\nmomentum = 0.9\nweight_decay = 0.0005\nschedule = cosine\n"
                   "warmup = 200\nshift = 2\nflip = 1")
    conv_bn_relu(c, "conv1", "data", 16, 3, 1, 1, conv="conv1", bn="bn1", relu="relu")
    x, inp = "relu", 16
    for li, planes in enumerate([16, 32, 64]):
        for b in range(3):
            p = "layer%d.%d" % (li + 1, b)
            stride = 2 if b == 0 and li > 0 else 1
            conv_bn_relu(c, p, x, planes, 3, stride, 1, conv=p + ".conv1", bn=p + ".bn1", relu=p + ".relu1")
            y = conv_bn_relu(c, p, None, planes, 3, 1, 1, act=False, conv=p + ".conv2", bn=p + ".bn2")
            if stride != 1 or inp != planes:
                x = conv_bn_relu(c, p, x, planes, 1, stride, act=False, conv=p + ".downsample.0",
                                 bn=p + ".downsample.1")
            x = c.add("add", p, [y, x], activation="relu")
            inp = planes
    c.add("globalavgpool", "avgpool")
    c.add("dense", "fc", units=10)
    return c


def all_models():
    m = {"alexnet": alexnet(), "alexnet_lrn": alexnet_lrn(), "zfnet": zfnet(),
         "vgg11_lrn": vgg("vgg11", lrn=True), "vgg16_c": vgg("vgg16_c")}
    for n in ["vgg11", "vgg13", "vgg16", "vgg19"]:
        m[n] = vgg(n)
        m[n + "_bn"] = vgg(n, bn=True)
    m["googlenet"] = googlenet()
    for d, bott, blocks in [(18, 0, [2, 2, 2, 2]), (34, 0, [3, 4, 6, 3]), (50, 1, [3, 4, 6, 3]),
                            (101, 1, [3, 4, 23, 3]), (152, 1, [3, 8, 36, 3])]:
        m["resnet%d" % d] = resnet(d, bott, blocks)
    m["resnext50_32x4d"] = resnet(50, 1, [3, 4, 6, 3], 32, 4, "ResNeXt-50 (32x4d): grouped 3x3 convolutions")
    m["densenet121"] = densenet121()
    m["nin"] = nin()
    m["highway30"] = highway()
    m["diracnet18"] = diracnet18()
    m["alphago_policy"] = alphago_policy()
    m["deepface"] = deepface()
    m["mobilenet_v2"] = mobilenet_v2()
    m["resnet20"] = resnet20()
    return m


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "models/zoo"
    os.makedirs(out, exist_ok=True)
    for name, c in all_models().items():
        with open(os.path.join(out, name + ".cfg"), "w") as f:
            f.write("# generated by scripts/zoo-gen.py; edit that, not this\n" + c.text())
    print("zoo-gen: %d models in %s" % (len(all_models()), out))
