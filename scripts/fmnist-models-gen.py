#!/usr/bin/python3
"""fmnist-models-gen.py: writes the small 28x28x1 networks of the training experiments.

models/depth/   the course's point about depth: a 50-layer plain CNN against the same with
                residual connections, a 30-layer plain fully connected network against a
                highway network, a 32-layer plain CNN against the same as a DiracNet.
models/blocks/  a small Inception network and a small DenseNet, each with a plain network of
                the same parameter budget (widths chosen so that `glia summary` counts agree
                within 4%).
Uses scripts/zoo-gen.py's Cfg writer. Plain Python. Usage: scripts/fmnist-models-gen.py
"""
import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "zoo_gen", os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo-gen.py"))
zoo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zoo)
Cfg, conv_bn_relu = zoo.Cfg, zoo.conv_bn_relu

# The training settings of every file here: SGD with Nesterov momentum, cosine schedule,
# shifts by up to 2 pixels and flips (the ResNet-20 recipe); the commands in README override
# epochs and the number of images.
NET = ("[net]\ninput = 1, 28, 28\nclasses = 10\nbatch = 128\nepochs = 5\nlr = 0.1\n"
       "optimizer = nesterov\nmomentum = 0.9\nweight_decay = 0.0005\nschedule = cosine\n"
       "warmup = 100\nshift = 2\nflip = 1")


def small(title, cite, net=NET):
    c = Cfg(title, cite)
    c.lines[-1] = net
    return c


def cifar_resnet(n, widths, residual):
    """He et al. 2016 Section 4.2 for 28x28: 6n+2 layers (a 3x3 conv, 3 stages of n blocks of two
    3x3 convs, a dense layer); with residual = False the same chain without the adds."""
    depth = 6 * n + 2
    kind = "ResNet" if residual else "plain"
    c = small("A %d-layer %s CNN for 28x28 grey images: 3 stages of %d %s of two 3x3 convolutions "
              "(%s channels)" % (depth, kind, n, "residual blocks" if residual else "pairs",
                                 "/".join(map(str, widths))),
              ["He, Zhang, Ren, Sun 2016, Deep Residual Learning for Image Recognition (Section 4.2,",
               "Fig. 6: plain-56 trains worse than plain-20, ResNet-56 better than ResNet-20)."
               + (" 1x1 projections where the shape changes." if residual else "")])
    conv_bn_relu(c, "conv1", "data", widths[0], 3, 1, 1, conv="conv1", bn="bn1", relu="relu")
    x, inp = "relu", widths[0]
    for li, planes in enumerate(widths):
        for b in range(n):
            p = "layer%d.%d" % (li + 1, b)
            stride = 2 if b == 0 and li > 0 else 1
            conv_bn_relu(c, p, x, planes, 3, stride, 1, conv=p + ".conv1", bn=p + ".bn1", relu=p + ".relu1")
            y = conv_bn_relu(c, p, None, planes, 3, 1, 1, act=not residual, conv=p + ".conv2",
                             bn=p + ".bn2", relu=p + ".relu2")
            if residual:
                if stride != 1 or inp != planes:
                    x = conv_bn_relu(c, p, x, planes, 1, stride, act=False, conv=p + ".downsample.0",
                                     bn=p + ".downsample.1")
                y = c.add("add", p, [y, x], activation="relu")
            x, inp = y, planes
    c.add("globalavgpool", "avgpool")
    c.add("dense", "fc", units=10)
    return c


def fc_net(depth, highway):
    """Srivastava et al. 2015's depth experiment on 784 inputs: a dense layer to 50 units, then
    depth - 2 layers of 50 units (plain: dense + ReLU; highway: gated, bias -2), a classifier."""
    c = small("A %d-layer %s network of 50 units for 28x28 grey images" %
              (depth, "highway" if highway else "plain fully connected"),
              ["Srivastava, Greff, Schmidhuber 2015, Training Very Deep Networks (Fig. 1: plain",
               "networks this deep fail to train, highway networks train). y = H(x) T(x) + x (1 - T(x))."],
              "[net]\ninput = 1, 28, 28\nclasses = 10\nbatch = 128\nepochs = 5\nlr = 0.01\n"
              "optimizer = nesterov\nmomentum = 0.9\nschedule = cosine")
    c.add("dense", "in", units=50, activation="relu")
    for i in range(depth - 2):
        if highway:
            c.add("highway", "hw%d" % (i + 1), activation="relu", gate_bias=-2)
        else:
            c.add("dense", "fc%d" % (i + 1), units=50, activation="relu")
    c.add("dense", "fc", units=10)
    return c


def dirac_net(per_group, widths, dirac):
    """Zagoruyko & Komodakis 2017 for 28x28: 3 groups of per_group 3x3 conv + BN + ReLU (a max pool
    between groups), no skip connections; dirac = 1 parameterises W as diag(a) I + W."""
    depth = 3 * per_group + 2
    c = small("A %d-layer %s CNN for 28x28 grey images: 3 groups of %d 3x3 convolutions (%s channels), "
              "no skip connections" % (depth, "DiracNet" if dirac else "plain", per_group,
                                       "/".join(map(str, widths))),
              ["Zagoruyko & Komodakis 2017, DiracNets: Training Very Deep Neural Networks Without",
               "Skip-Connections." + (" Every conv whose input and output widths agree has dirac = 1."
                                      if dirac else " The DiracNet's twin with dirac = 0.")])
    conv_bn_relu(c, "conv1", "data", widths[0], 3, 1, 1, conv="conv1", bn="bn1", relu="relu")
    inp = widths[0]
    for gi, w in enumerate(widths):
        for j in range(per_group):
            c.add("conv", "group%d.%d" % (gi + 1, j), filters=w, size=3, pad=1, bias=0,
                  dirac=1 if dirac and inp == w else 0, batchnorm=1, activation="relu")
            inp = w
        if gi < len(widths) - 1:
            c.add("maxpool", "group%d.pool" % (gi + 1), size=2, stride=2)
    c.add("globalavgpool", "avgpool")
    c.add("dense", "fc", units=10)
    return c


# (name, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) as GoogLeNet's Table 1
INCEPTION_SMALL = [("inception3a", 32, 24, 32, 8, 16, 16), ("inception3b", 48, 24, 48, 12, 24, 24),
                   "maxpool3", ("inception4a", 64, 32, 64, 12, 32, 32)]


def inception_small():
    c = small("A small Inception network for 28x28 grey images: a 3x3 stem, three Inception blocks",
              ["(1x1, 1x1 -> 3x3, 1x1 -> 5x5, 3x3 pool -> 1x1 branches, concatenated), global average",
               "pooling. Szegedy et al. 2015, Going Deeper with Convolutions (Fig. 2b, Table 1)."])

    def bc(name, inp, filters, size, pad=0):
        return conv_bn_relu(c, name, inp, filters, size, 1, pad, conv=name + ".conv", bn=name + ".bn",
                            relu=name)

    bc("stem", "data", 32, 3, 1)
    x = c.add("maxpool", "maxpool2", size=2, stride=2)
    for blk in INCEPTION_SMALL:
        if blk == "maxpool3":
            x = c.add("maxpool", "maxpool3", size=2, stride=2)
            continue
        n, c1, r3, c3, r5, c5, pp = blk
        b1 = bc(n + ".branch1", x, c1, 1)
        bc(n + ".branch2.0", x, r3, 1)
        b2 = bc(n + ".branch2.1", None, c3, 3, 1)
        bc(n + ".branch3.0", x, r5, 1)
        b3 = bc(n + ".branch3.1", None, c5, 5, 2)
        c.add("maxpool", n + ".branch4.0", x, size=3, stride=1, pad=1)
        b4 = bc(n + ".branch4.1", None, pp, 1)
        x = c.add("concat", n, [b1, b2, b3, b4])
    c.add("globalavgpool", "avgpool")
    c.add("dense", "fc", units=10)
    return c


def densenet_small(blocks=(6, 6), growth=12):
    c = small("A small DenseNet-BC for 28x28 grey images: a 3x3 stem and a max pool to 14x14, dense",
              ["blocks of %s bottleneck layers (BN-ReLU-1x1 conv of 4k, BN-ReLU-3x3 conv of k = %d),"
               % (" and ".join(map(str, blocks)), growth),
               "each layer's input the concatenation of every earlier output of its block, a transition",
               "(BN-ReLU-1x1 conv halving the channels, 2x2 average pool) between blocks. Huang, Liu,",
               "van der Maaten, Weinberger 2017, Densely Connected Convolutional Networks (DenseNet-BC)."])
    ch = 2 * growth
    c.add("conv", "features.conv0", "data", filters=ch, size=3, pad=1, bias=0)
    x = c.add("maxpool", "features.pool0", size=2, stride=2)
    zoo.dense_blocks(c, x, ch, blocks, growth)
    c.add("dense", "classifier", units=10)
    return c


def plain_twin(w, twin):
    """A VGG-style chain with about the parameters of `twin`: 3x3 conv-BN-ReLU, one of w channels
    at 28x28, two of 2w at 14x14, two of 4w at 7x7 (max pools between), global average pooling."""
    c = small("A plain VGG-style CNN for 28x28 grey images (widths %d/%d/%d), the same parameter "
              "budget as %s" % (w, 2 * w, 4 * w, twin),
              ["Simonyan & Zisserman 2015 style: 3x3 convolutions with batch norm, no branches."])
    conv_bn_relu(c, "conv1", "data", w, 3, 1, 1, conv="conv1", bn="bn1", relu="relu1")
    k = 2
    for stage, width in [(2, 2 * w), (3, 4 * w)]:
        c.add("maxpool", "pool%d" % (stage - 1), size=2, stride=2)
        for _ in range(2):
            conv_bn_relu(c, "c", None, width, 3, 1, 1, conv="conv%d" % k, bn="bn%d" % k, relu="relu%d" % k)
            k += 1
    c.add("globalavgpool", "avgpool")
    c.add("dense", "fc", units=10)
    return c


def all_models():
    return {
        "depth/plain50": cifar_resnet(8, [8, 16, 32], False),
        "depth/resnet50": cifar_resnet(8, [8, 16, 32], True),
        "depth/plain30_fc": fc_net(30, False),
        "depth/highway30_fc": fc_net(30, True),
        "depth/plain32": dirac_net(10, [8, 16, 32], False),
        "depth/diracnet32": dirac_net(10, [8, 16, 32], True),
        "blocks/inception_small": inception_small(),
        "blocks/plain_inception_twin": plain_twin(18, "blocks/inception_small.cfg"),
        "blocks/densenet_small": densenet_small(),
        "blocks/plain_densenet_twin": plain_twin(20, "blocks/densenet_small.cfg"),
    }


if __name__ == "__main__":
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models")
    models = all_models()
    for name, c in models.items():
        path = os.path.join(root, name + ".cfg")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("# generated by scripts/fmnist-models-gen.py; edit that, not this\n" + c.text())
    print("fmnist-models-gen: %d models in models/depth and models/blocks" % len(models))
