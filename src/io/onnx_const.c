/* onnx_const.c: the text form of inputs fixed at load (glia.h, glia_onnx_consts_parse):
 * `sr=16000` or `mask=1,0,1,state=0`, as glia's --const option and [net] onnx_const take it. */
#include "core/internal.h"
#include "glia.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

glia_status glia_onnx_consts_parse(const char *spec, glia_onnx_input **out, int *n) {
    if (!spec || !out || !n) return glia__err(GLIA_EINVAL, "glia_onnx_consts_parse: NULL argument");
    *out = NULL;
    *n = 0;
    size_t len = strlen(spec), tokens = 1;
    for (const char *p = spec; *p; p++) tokens += *p == ',';
    /* one block: the inputs, then their values, then the text cut into names */
    glia_onnx_input *in = glia__calloc(1, tokens * (sizeof *in + sizeof(float)) + len + 1);
    if (!in) return glia__err(GLIA_ENOMEM, "out of memory");
    float *vals = (float *)(in + tokens);
    char *text = (char *)(vals + tokens);
    memcpy(text, spec, len + 1);
    int k = -1;
    size_t nv = 0;
    for (char *tok = text; len;) {
        char *end = strchr(tok, ',');
        if (end) *end = 0;
        char *eq = strchr(tok, '='), *num = tok;
        if (eq) { /* NAME=V starts an input; a bare V adds a value to the last one */
            *eq = 0;
            if (!*tok) goto bad;
            for (int i = 0; i <= k; i++)
                if (!strcmp(in[i].name, tok)) { /* the message first: tok lives in the block */
                    glia__err(GLIA_EINVAL, "const '%s': '%s' is given twice", spec, tok);
                    free(in);
                    return GLIA_EINVAL;
                }
            in[++k] = (glia_onnx_input){tok, -1, NULL, vals + nv, 0};
            num = eq + 1;
        }
        if (k < 0) goto bad;
        char *num_end;
        double v = strtod(num, &num_end);
        if (num_end == num || *num_end || !isfinite(v) || fabs(v) > 3.4e38) {
            glia__err(GLIA_EINVAL, "const '%s': '%s' is not a number (input '%s')", spec, num, in[k].name);
            free(in);
            return GLIA_EINVAL;
        }
        vals[nv++] = (float)v;
        in[k].n_values++;
        if (!end) break;
        tok = end + 1;
    }
    *out = in;
    *n = k + 1;
    return GLIA_OK;
bad:
    free(in);
    return glia__err(GLIA_EINVAL, "const '%s': wants NAME=VALUE[,VALUE...][,NAME=VALUE...]", spec);
}
