"""An image file as one named input tensor [1, 3, H, W] in a safetensors file, for `glia run`
and scripts/onnx/ort_run.js: the picture resized to H x W (bilinear; grey repeated into three
channels), then per channel (v / 255 - mean) / std, RGB order. The defaults are ImageNet's mean
and std, which PaddleOCR's detector takes.

Usage: /usr/bin/python3 scripts/onnx/image_input.py IMAGE OUT.safetensors NAME H W
Needs Debian's python3-pil."""
import array
import json
import struct
import sys

from PIL import Image

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def main():
    image, out, name, h, w = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    im = Image.open(image).convert("RGB").resize((w, h), Image.BILINEAR)
    px = im.load()
    data = array.array("f")
    for c in range(3):
        for y in range(h):
            for x in range(w):
                data.append((px[x, y][c] / 255.0 - MEAN[c]) / STD[c])
    if sys.byteorder != "little":
        data.byteswap()
    header = json.dumps({name: {"dtype": "F32", "shape": [1, 3, h, w],
                                "data_offsets": [0, 4 * len(data)]}}).encode()
    header += b" " * ((8 - len(header) % 8) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data.tobytes())


if __name__ == "__main__":
    main()
