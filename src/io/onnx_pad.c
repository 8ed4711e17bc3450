/* onnx_pad.c: values of x picked along one axis by index lists (onnx_internal.h), as
 * concatenations of slices of x: exact, and gradients flow through glia's slice and concat ops.
 * ONNX's Pad in modes 'reflect' and 'edge', with D the size of the axis:
 *   reflect:  [x[p], ..., x[1]], x, [x[D-2], ..., x[D-1-p]]  (p <= D - 1)
 *   edge:     [x[0] p times], x, [x[D-1] p times]
 * (an STFT front end pads its samples this way: Silero VAD's reflect by 64 or 128), and Slice
 * with steps other than 1 (Silero's reversed slices). */
#include "io/onnx_internal.h"
#include <stdlib.h>

glia_status ox_take(ox_ctx *c, int x, int axis, const int64_t *idx, int64_t n, const char *name, int *out) {
    if (n < 1) return ox_unsupported(c, "an empty result along axis %d", axis);
    int *parts = malloc((size_t)n * sizeof *parts);
    if (!parts) return glia__err(GLIA_ENOMEM, "out of memory");
    int m = 0;
    glia_status s = GLIA_OK;
    for (int64_t j = 0; !s && j < n;) {
        int64_t e = j + 1; /* a run of consecutive indices is one slice */
        while (e < n && idx[e] == idx[e - 1] + 1) e++;
        s = glia_slice(c->g, NULL, x, axis, idx[j], idx[e - 1] + 1, &parts[m++]);
        if (s) s = ox_fail(c, s, "%s", glia_last_error());
        j = e;
    }
    int y = m ? parts[0] : x;
    for (int k = 1; !s && k < m;) { /* glia's concat takes GLIA_MAX_INPUTS inputs at a time */
        int in[GLIA_MAX_INPUTS], q = 0;
        in[q++] = y;
        while (k < m && q < GLIA_MAX_INPUTS) in[q++] = parts[k++];
        s = glia_concat(c->g, k == m ? name : NULL, q, in, axis, &y);
        if (s) s = ox_fail(c, s, "%s", glia_last_error());
    }
    if (!s && m == 1 && name && (s = glia_linear(c->g, name, y, &y))) s = ox_fail(c, s, "%s", glia_last_error());
    free(parts);
    if (!s) *out = y;
    return s;
}

glia_status ox_pad_edges(ox_ctx *c, int x, int axis, int64_t before, int64_t after, bool reflect,
                         const char *name, int *out) {
    glia_shape xs;
    glia_node_shape(c->g, x, &xs);
    int64_t D = xs.dim[axis], n = before + D + after;
    if (reflect && (before > D - 1 || after > D - 1))
        return ox_fail(c, GLIA_EINVAL, "reflect pads of %lld and %lld on axis %d of size %lld (at most %lld)",
                       (long long)before, (long long)after, axis, (long long)D, (long long)(D - 1));
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    if (!idx) return glia__err(GLIA_ENOMEM, "out of memory");
    for (int64_t j = 0; j < n; j++) { /* output j reads x[j - before], mirrored or clamped */
        int64_t i = j - before;
        idx[j] = i < 0 ? (reflect ? -i : 0) : i >= D ? (reflect ? 2 * (D - 1) - i : D - 1) : i;
    }
    glia_status s = ox_take(c, x, axis, idx, n, name, out);
    free(idx);
    return s;
}
