"""Golden values for conv_transpose2d (F.conv_transpose2d) and resize (F.interpolate).

conv_transpose2d files hold x, w, (b), an "attr" tensor with glia's parameters
  [stride_h, stride_w, pad_top, pad_bottom, pad_left, pad_right, dilation_h, dilation_w, groups,
   out_pad_h, out_pad_w, has_bias]
(asymmetric padding: torch's symmetric padding is 0 and the output is cropped), the output y, a
seed tensor and the gradients of sum(seed * y) w.r.t. x, w and b.

resize files hold x, an "attr" tensor
  [out_h, out_w, mode (0 nearest, 1 linear, 2 cubic), coordinate mapping (0 half_pixel,
   1 asymmetric, 2 align_corners), nearest mode (1 round_prefer_ceil, 2 floor), exclude_outside,
   scale_h, scale_w (0: out / in), cubic_a]
y, seed and dx. PyTorch's modes are these mappings: 'nearest' is asymmetric + floor,
'nearest-exact' half_pixel + round half up, 'bilinear'/'bicubic' half_pixel (align_corners
False) or align_corners, bicubic with a = -0.75 and the edge repeated; a scale_factor with
recompute_scale_factor=False maps by that scale, not by out / in.

Values are float32 numbers computed in float64 (see gen_conv.py), drawn from [0, 1)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from common import write, rand  # noqa: E402


def deconv(name, x_shape, w_shape, bias=True, stride=(1, 1), pad=(0, 0, 0, 0), dil=(1, 1),
           groups=1, out_pad=(0, 0), comment=""):
    """pad = (top, bottom, left, right)"""
    x = rand(*x_shape, lo=0.0).double().requires_grad_(True)
    w = rand(*w_shape, lo=0.0).double().requires_grad_(True)
    b = rand(w_shape[1] * groups, lo=0.0).double().requires_grad_(True) if bias else None
    top, bottom, left, right = pad
    if top == bottom and left == right:
        y = F.conv_transpose2d(x, w, b, stride=stride, padding=(top, left), output_padding=out_pad,
                               dilation=dil, groups=groups)
    else:  # unpadded, then cropped: padding removes rows and columns of the full output
        y = F.conv_transpose2d(x, w, b, stride=stride, output_padding=out_pad, dilation=dil,
                               groups=groups)
        y = y[:, :, top:y.shape[2] - bottom, left:y.shape[3] - right]
    seed = rand(*y.shape, lo=0.0).double()
    (y * seed).sum().backward()
    attr = torch.tensor([stride[0], stride[1], top, bottom, left, right, dil[0], dil[1], groups,
                         out_pad[0], out_pad[1], 1 if bias else 0], dtype=torch.float32)
    out = [("attr", attr), ("x", x), ("w", w)]
    if bias:
        out.append(("b", b))
    out += [("y", y), ("seed", seed), ("dx", x.grad), ("dw", w.grad)]
    if bias:
        out.append(("db", b.grad))
    write(name, out, comment)


MODES = {"nearest": (0, 1, 2), "nearest-exact": (0, 0, 1), "bilinear": (1, 0, 0),
         "bicubic": (2, 0, 0)}


def resize(name, x_shape, mode, size=None, scale=None, align_corners=None, comment=""):
    x = rand(*x_shape, lo=0.0).double().requires_grad_(True)
    kw = {} if align_corners is None else {"align_corners": align_corners}
    if size is not None:
        y = F.interpolate(x, size=size, mode=mode, **kw)
    else:
        y = F.interpolate(x, scale_factor=scale, mode=mode, recompute_scale_factor=False, **kw)
    seed = rand(*y.shape, lo=0.0).double()
    (y * seed).sum().backward()
    m, coord, near = MODES[mode]
    if align_corners:
        coord = 2
    sh, sw = scale if scale is not None else (0, 0)
    attr = torch.tensor([y.shape[2], y.shape[3], m, coord, near, 0, sh, sw, -0.75],
                        dtype=torch.float32)
    write(name, [("attr", attr), ("x", x), ("y", y), ("seed", seed), ("dx", x.grad)], comment)


torch.manual_seed(7)
deconv("deconv_basic", (2, 3, 4, 5), (3, 4, 3, 3), comment="3x3, stride 1, no padding")
deconv("deconv_stride_pad", (2, 2, 4, 3), (2, 3, 3, 2), stride=(2, 3), pad=(1, 1, 0, 0),
       out_pad=(1, 2), comment="stride (2,3), padding (1,0), output padding (1,2)")
deconv("deconv_groups_dil", (1, 4, 3, 4), (4, 3, 2, 3), groups=2, dil=(2, 1), stride=(2, 2),
       pad=(1, 1, 1, 1), comment="groups 2, dilation (2,1), stride 2, padding 1")
deconv("deconv_asym_nobias", (2, 3, 3, 3), (3, 2, 4, 4), bias=False, stride=(2, 2),
       pad=(1, 2, 0, 1), comment="asymmetric padding top 1 bottom 2 left 0 right 1, no bias")
deconv("deconv_2x2s2", (1, 4, 3, 3), (4, 2, 2, 2), stride=(2, 2),
       comment="2x2 stride 2 (PaddleOCR's detector head)")
resize("resize_nearest_x2", (2, 3, 3, 4), "nearest", scale=(2.0, 2.0),
       comment="nearest, scale 2 (asymmetric, floor: ONNX Upsample)")
resize("resize_nearest_size", (1, 2, 5, 7), "nearest", size=(3, 10),
       comment="nearest to 3x10 (down and up)")
resize("resize_nearest_exact", (1, 2, 5, 4), "nearest-exact", size=(7, 3),
       comment="nearest-exact: half_pixel, round half up")
resize("resize_bilinear", (2, 2, 4, 5), "bilinear", size=(7, 3), align_corners=False,
       comment="bilinear, half_pixel (align_corners False)")
resize("resize_bilinear_ac", (1, 3, 4, 5), "bilinear", size=(6, 9), align_corners=True,
       comment="bilinear, align_corners")
resize("resize_bilinear_scale", (1, 2, 4, 5), "bilinear", scale=(1.7, 0.6), align_corners=False,
       comment="bilinear, scales 1.7 and 0.6 (mapping by the scale)")
resize("resize_bicubic", (1, 2, 5, 6), "bicubic", size=(8, 4), align_corners=False,
       comment="bicubic a = -0.75, half_pixel")
resize("resize_bicubic_ac", (1, 1, 4, 4), "bicubic", size=(7, 6), align_corners=True,
       comment="bicubic, align_corners")
