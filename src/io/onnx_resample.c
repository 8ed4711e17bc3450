/* onnx_resample.c: ONNX's ConvTranspose, Resize and Upsample into glia's conv_transpose2d and
 * resize ops (the decoders and feature pyramids of segmentation and detection networks, such
 * as PaddleOCR's text detector).
 *
 * ConvTranspose (2-D, and 1-D as 2-D with H = 1): W [C, M/group, kh, kw] as glia's weight. Its output size is
 *   out = stride (in - 1) + output_padding + dilation (k - 1) + 1 - pad_begin - pad_end;
 * output_shape, or auto_pad SAME_* (out = in stride), sets the total padding from the size
 * wanted, split as the ONNX reference does (SAME_UPPER: the smaller half first); an output
 * larger than that covers gets the extra rows at the end (output padding), as onnxruntime.
 * Resize: opset 10 (scales; asymmetric mapping, onnxruntime's "simple" nearest rounding), 11 and
 * later (roi, scales or sizes; coordinate_transformation_mode, nearest_mode, cubic_coeff_a,
 * exclude_outside); Upsample (opset 7: a scales attribute, 9: an input) as Resize 10. The
 * scales and sizes are constants, and only H and W of [N, C, H, W] change: out = floor(in
 * scale) when scales are given (and the mapping divides by the scale), else the sizes. */
#include "io/onnx_internal.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

glia_status ox_op_conv_transpose(ox_ctx *c) {
    char nm[GLIA_NAME_MAX], ap[32];
    int x, w, b = -1, y, n;
    glia_shape xs, ws;
    glia_status s;
    if ((s = ox_in_node(c, 0, false, &x)) || (s = ox_in_node(c, 1, true, &w))) return s;
    if (c->node->n_input > 2 && c->node->input[2][0] && (s = ox_in_node(c, 2, true, &b))) return s;
    glia_node_shape(c->g, x, &xs);
    glia_node_shape(c->g, w, &ws);
    const int nd = xs.ndim - 2, off = 2 - nd; /* spatial axes; 1-D runs as H = 1 */
    if ((nd != 1 && nd != 2) || ws.ndim != xs.ndim)
        return ox_unsupported(c, "an input of %d dimensions (1-D [N, C, L] or 2-D [N, C, H, W] only)", xs.ndim);
    if (nd == 1) { /* [N, C, L] as [N, C, 1, L], W [C, M/g, k] as [C, M/g, 1, k] (glia's reshape keeps dim 0) */
        if ((s = ox_built(c, glia_reshape(c->g, NULL, x, 3, (int64_t[]){xs.dim[1], 1, xs.dim[2]}, &x))) ||
            (s = ox_built(c, glia_reshape(c->g, NULL, w, 3, (int64_t[]){ws.dim[1], 1, ws.dim[2]}, &w))))
            return s;
        glia_node_shape(c->g, x, &xs);
        glia_node_shape(c->g, w, &ws);
    }
    int64_t k[2] = {ws.dim[2], ws.dim[3]}, st[2] = {1, 1}, dil[2] = {1, 1}, op[2] = {0, 0};
    int64_t pad[4] = {0, 0, 0, 0}, shape[2], v[8], group;
    const char *names[5] = {"kernel_shape", "strides", "dilations", "output_padding", "pads"};
    int64_t *dst[5] = {k, st, dil, op, pad};
    for (int a = 0; a < 5; a++) {
        int want = a == 4 ? 2 * nd : nd;
        if ((s = ox_attr_ints(c, names[a], v, 8, &n))) return s;
        if (n >= 0 && n != want) return ox_fail(c, GLIA_EINVAL, "attribute '%s' has %d values for %d axes", names[a], n, nd);
        for (int i = 0; i < n; i++) {
            /* axis d's value, or for pads begin (i < nd) and end: 2-D slots (top, left, bottom, right) */
            int at = a < 4 ? off + i : i < nd ? off + i : 2 + off + i - nd;
            if (v[i] < (a < 3 ? 1 : 0) || v[i] > 4096)
                return ox_fail(c, GLIA_EINVAL, "attribute '%s' holds %lld", names[a], (long long)v[i]);
            if (a == 0 && v[i] != k[at]) return ox_fail(c, GLIA_EINVAL, "attribute 'kernel_shape' differs from the weights");
            dst[a][at] = v[i];
        }
    }
    if ((s = ox_attr_ints(c, "output_shape", v, 8, &n)) || (s = ox_attr_s(c, "auto_pad", "NOTSET", ap, sizeof ap)) ||
        (s = ox_attr_i(c, "group", 1, &group)))
        return s;
    if (group < 1 || group > xs.dim[1]) return ox_fail(c, GLIA_EINVAL, "attribute 'group' = %lld", (long long)group);
    bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    if (!same && strcmp(ap, "NOTSET") && strcmp(ap, "VALID")) return ox_fail(c, GLIA_EINVAL, "attribute 'auto_pad' = '%s'", ap);
    if (!strcmp(ap, "VALID")) memset(pad, 0, sizeof pad);
    if (n >= 0 && n != nd && n != nd + 2) return ox_fail(c, GLIA_EINVAL, "attribute 'output_shape' of %d values", n);
    if (n >= 0 || same)
        for (int i = off; i < 2; i++) { /* output_shape: the spatial sizes, or all of them */
            shape[i] = n >= 0 ? v[n - 2 + i] : xs.dim[2 + i] * st[i];
            if (shape[i] < 1 || shape[i] > (1 << 24)) return ox_fail(c, GLIA_EINVAL, "output size %lld", (long long)shape[i]);
            int64_t total = st[i] * (xs.dim[2 + i] - 1) + op[i] + (k[i] - 1) * dil[i] + 1 - shape[i];
            if (total < 0) { /* rows the convolution does not reach: output padding at the end */
                op[i] -= total;
                total = 0;
            }
            pad[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            pad[i + 2] = total - pad[i];
        }
    glia_conv_transpose2d_params p = {{(int)st[0], (int)st[1], (int)pad[0], (int)pad[2], (int)pad[1], (int)pad[3],
                                       (int)dil[0], (int)dil[1], (int)group}, (int)op[0], (int)op[1]};
    ox_out_name(c, 0, nm, sizeof nm);
    if ((s = ox_built(c, glia_conv_transpose2d(c->g, nd == 1 ? NULL : nm, x, w, b, &p, &y)))) return s;
    if (nd == 1) { /* [N, O, 1, L'] back to [N, O, L'] */
        glia_shape ys;
        glia_node_shape(c->g, y, &ys);
        if ((s = ox_built(c, glia_reshape(c->g, nm, y, 2, (int64_t[]){ys.dim[1], ys.dim[3]}, &y)))) return s;
    }
    return ox_set_out(c, 0, y);
}

/* the named choice among `names` (n of them), or an unsupported-attribute error */
static glia_status pick(ox_ctx *c, const char *attr, const char *def, const char *const *names, int n, int *out) {
    char v[48];
    glia_status s = ox_attr_s(c, attr, def, v, sizeof v);
    if (s) return s;
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = i;
            return GLIA_OK;
        }
    return ox_unsupported(c, "attribute '%s' = '%s'", attr, v);
}

glia_status ox_op_resize(ox_ctx *c) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                         "tf_half_pixel_for_nearest", "tf_half_pixel_for_nn"};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const bool upsample = !strcmp(c->node->op_type, "Upsample"), old = upsample || c->opset < 11;
    char nm[GLIA_NAME_MAX];
    int x, y, mode = 0, coord = GLIA_RESIZE_ASYMMETRIC, near = GLIA_RESIZE_SIMPLE;
    glia_shape xs;
    glia_status s;
    if ((s = ox_in_node(c, 0, false, &x))) return s;
    glia_node_shape(c->g, x, &xs);
    if (xs.ndim != 4) return ox_unsupported(c, "an input of %d dimensions ([N, C, H, W] only)", xs.ndim);
    char m[16];
    if ((s = ox_attr_s(c, "mode", "nearest", m, sizeof m))) return s;
    if (old && !strcmp(m, "bilinear")) strcpy(m, "linear"); /* Upsample-1's name */
    for (mode = 0; mode < 3 && strcmp(m, modes[mode]); mode++) {}
    if (mode == 3 || (old && mode == 2)) return ox_unsupported(c, "attribute 'mode' = '%s'", m);
    float cubic_a = -0.75f, extra = 0;
    int64_t exclude = 0;
    if (!old && ((s = pick(c, "coordinate_transformation_mode", "half_pixel", coords, 6, &coord)) ||
                 (s = pick(c, "nearest_mode", "round_prefer_floor", nearest, 4, &near)) ||
                 (s = ox_attr_f(c, "cubic_coeff_a", -0.75f, &cubic_a)) ||
                 (s = ox_attr_i(c, "exclude_outside", 0, &exclude)) ||
                 (s = ox_attr_f(c, "extrapolation_value", 0, &extra))))
        return s;
    /* the scales: Upsample-7's attribute, else input 1 (Resize-10, Upsample-9) or 2 (Resize-11+);
     * the sizes: input 3 */
    double sc[4] = {1, 1, 1, 1};
    int n_sc = -1;
    ox_value *sv = NULL, *zv = NULL;
    const Onnx__AttributeProto *sa = upsample ? ox_attr(c, "scales") : NULL;
    if (sa) {
        n_sc = (int)sa->n_floats;
        for (int i = 0; i < n_sc && i < 4; i++) sc[i] = sa->floats[i];
    } else {
        if ((s = ox_in_const(c, old ? 1 : 2, "scales", &sv))) return s;
        if (!old && (s = ox_in_const(c, 3, "sizes", &zv))) return s;
        if (sv && glia_shape_numel(&sv->shape) > 0) {
            n_sc = (int)glia_shape_numel(&sv->shape);
            for (int i = 0; i < n_sc && i < 4; i++) sc[i] = (float)sv->v[i];
        }
    }
    if (coord == 5) coord = GLIA_RESIZE_TF_HALF_PIXEL_FOR_NEAREST; /* opset 11's name for it */
    glia_resize_params p = {0, 0, (glia_resize_mode)mode, (glia_resize_coord)coord, (glia_resize_nearest)near,
                            0, 0, cubic_a, (int)(exclude != 0)};
    if (n_sc >= 0) {
        if (n_sc != 4) return ox_fail(c, GLIA_EINVAL, "%d scales for 4 dimensions", n_sc);
        if (sc[0] != 1 || sc[1] != 1) return ox_unsupported(c, "scales %g, %g of N and C (H and W only)", sc[0], sc[1]);
        for (int i = 0; i < 2; i++) {
            double o = floor(sc[2 + i] * (double)xs.dim[2 + i]);
            if (!(sc[2 + i] > 0) || o < 1 || o > (1 << 24)) return ox_fail(c, GLIA_EINVAL, "scale %g of axis %d", sc[2 + i], 2 + i);
            (i ? &p.out_w : &p.out_h)[0] = (int)o;
        }
        p.scale_h = (float)sc[2], p.scale_w = (float)sc[3];
    } else if (zv && glia_shape_numel(&zv->shape) > 0) {
        if (glia_shape_numel(&zv->shape) != 4) return ox_fail(c, GLIA_EINVAL, "%lld sizes for 4 dimensions", (long long)glia_shape_numel(&zv->shape));
        if (ox_i64(zv->v[0]) != xs.dim[0] || ox_i64(zv->v[1]) != xs.dim[1]) return ox_unsupported(c, "sizes that change N or C (H and W only)");
        for (int i = 0; i < 2; i++) {
            int64_t o = ox_i64(zv->v[2 + i]);
            if (o < 1 || o > (1 << 24)) return ox_fail(c, GLIA_EINVAL, "size %lld of axis %d", (long long)o, 2 + i);
            (i ? &p.out_w : &p.out_h)[0] = (int)o;
        }
    } else return ox_fail(c, GLIA_EINVAL, "neither scales nor sizes are given");
    if ((s = ox_built(c, glia_resize(c->g, ox_out_name(c, 0, nm, sizeof nm), x, &p, &y)))) return s;
    return ox_set_out(c, 0, y);
}
