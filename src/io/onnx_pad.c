/* onnx_pad.c: ONNX's Pad in modes 'reflect' and 'edge' (onnx_internal.h), as concatenations of
 * one-wide slices of x: exact, and gradients flow through glia's slice and concat ops.
 *   reflect, D = size of the axis:  [x[p], ..., x[1]], x, [x[D-2], ..., x[D-1-p]]  (p <= D - 1)
 *   edge:                           [x[0] p times], x, [x[D-1] p times]
 * (an STFT front end pads its samples this way: Silero VAD's reflect by 64 or 128). */
#include "io/onnx_internal.h"
#include <stdlib.h>

/* y = concat(parts[0..n-1]) along axis: glia's concat takes GLIA_MAX_INPUTS inputs at a time, so
 * longer lists are concatenations of concatenations */
static glia_status concat_all(ox_ctx *c, int n, int *parts, int axis, const char *name, int *out) {
    int y = parts[0], k = 1;
    while (k < n) {
        int in[GLIA_MAX_INPUTS], m = 0;
        in[m++] = y;
        while (k < n && m < GLIA_MAX_INPUTS) in[m++] = parts[k++];
        glia_status s = glia_concat(c->g, k == n ? name : NULL, m, in, axis, &y);
        if (s) return ox_fail(c, s, "%s", glia_last_error());
    }
    *out = y;
    return GLIA_OK;
}

glia_status ox_pad_edges(ox_ctx *c, int x, int axis, int64_t before, int64_t after, bool reflect,
                         const char *name, int *out) {
    glia_shape xs;
    glia_node_shape(c->g, x, &xs);
    int64_t D = xs.dim[axis];
    if (reflect && (before > D - 1 || after > D - 1))
        return ox_fail(c, GLIA_EINVAL, "reflect pads of %lld and %lld on axis %d of size %lld (at most %lld)",
                       (long long)before, (long long)after, axis, (long long)D, (long long)(D - 1));
    int *parts = malloc((size_t)(before + after + 1) * sizeof *parts);
    if (!parts) return glia__err(GLIA_ENOMEM, "out of memory");
    int n = 0;
    glia_status s = GLIA_OK;
    for (int64_t j = 0; !s && j < before + after + 1; j++) {
        if (j == before) {
            parts[n++] = x;
            continue;
        }
        /* part j before x: x[before - j] (edge: x[0]); k = j - before after it: x[D - 1 - k] (x[D - 1]) */
        int64_t src = j < before ? (reflect ? before - j : 0)
                                 : (reflect ? D - 1 - (j - before) : D - 1);
        s = glia_slice(c->g, NULL, x, axis, src, src + 1, &parts[n++]);
        if (s) s = ox_fail(c, s, "%s", glia_last_error());
    }
    if (!s) s = concat_all(c, n, parts, axis, name, out);
    free(parts);
    return s;
}
