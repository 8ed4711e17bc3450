#!/usr/bin/python3
"""fmnist-subset.py: a Fashion-MNIST subset as a directory glia train --data DIR reads (IDX files
and classes.txt): the classes FIRST..LAST (relabelled from 0), all their training images or N per
class picked with SEED, and all their test images. For the transfer-learning experiment
(scripts/transfer-experiment.sh). Usage: fmnist-subset.py OUT FIRST LAST [N SEED]"""
import gzip
import random
import struct
import sys

SRC = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
         "Ankle boot"]


def read(split):
    with gzip.open("%s/%s-images-idx3-ubyte.gz" % (SRC, split)) as f:
        _, n, h, w = struct.unpack(">IIII", f.read(16))
        px = f.read()
    with gzip.open("%s/%s-labels-idx1-ubyte.gz" % (SRC, split)) as f:
        f.read(8)
        lab = f.read()
    return [px[i * h * w:(i + 1) * h * w] for i in range(n)], lab, h, w


def write(out, split, imgs, labs, h, w):
    with open("%s/%s-images-idx3-ubyte" % (out, split), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(imgs), h, w) + b"".join(imgs))
    with open("%s/%s-labels-idx1-ubyte" % (out, split), "wb") as f:
        f.write(struct.pack(">II", 0x801, len(labs)) + bytes(labs))


def main():
    out, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    per = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    for split in ("train", "t10k"):
        imgs, lab, h, w = read(split)
        idx = [i for i in range(len(lab)) if lo <= lab[i] <= hi]
        if split == "train" and per:
            idx = sorted(sum((rng.sample([i for i in idx if lab[i] == c], per) for c in range(lo, hi + 1)), []))
        write(out, split, [imgs[i] for i in idx], [lab[i] - lo for i in idx], h, w)
    with open(out + "/classes.txt", "w") as f:
        f.write("\n".join(NAMES[lo:hi + 1]) + "\n")


if __name__ == "__main__":
    main()
