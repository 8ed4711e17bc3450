/* normalization.c: a model's input normalisation, [net] mean and std: one value for every
 * channel (grey models, and models written before colour), or one per channel, as
 * torchvision's Normalize(mean=[...], std=[...]). The one reader of those keys. */
#include "../core/internal.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* the numbers of "a, b, c" into v[0..max); their count, or -1 when malformed or too many */
static int parse_list(const char *s, float *v, int max) {
    int n = 0;
    for (const char *p = s;; n++) {
        char *end;
        errno = 0;
        double x = strtod(p, &end);
        if (end == p || errno || !isfinite(x) || n == max) return -1;
        v[n] = (float)x;
        while (*end == ' ' || *end == '\t') end++;
        if (!*end) return n + 1;
        if (*end != ',') return -1;
        p = end + 1;
    }
}

glia_status glia_model_normalization(const glia_model *m, int channels, float *mean, float *std) {
    if (!m || !mean || !std || channels < 1)
        return glia__err(GLIA_EINVAL, "glia_model_normalization: bad argument (channels %d)", channels);
    const char *key[2] = {"mean", "std"};
    float *out[2] = {mean, std};
    for (int k = 0; k < 2; k++) {
        const char *text = glia_model_option(m, key[k]);
        float v[GLIA_MAX_CHANNELS];
        int n = text ? parse_list(text, v, GLIA_MAX_CHANNELS) : -1;
        if (n != 1 && n != channels)
            return glia__err(GLIA_EINVAL, "[net] %s = %s: need one value or %d (one per input channel)",
                             key[k], text ? text : "(none)", channels);
        for (int c = 0; c < channels; c++) out[k][c] = v[n == 1 ? 0 : c];
    }
    for (int c = 0; c < channels; c++)
        if (!(std[c] > 0))
            return glia__err(GLIA_EINVAL, "[net] std = %s: every value must be > 0",
                             glia_model_option(m, "std"));
    return GLIA_OK;
}

glia_status glia_model_set_normalization(glia_model *m, int channels, const float *mean, const float *std) {
    if (!m || !mean || !std || channels < 1)
        return glia__err(GLIA_EINVAL, "glia_model_set_normalization: bad argument");
    if (channels > GLIA_MAX_CHANNELS) /* more channels than [net] holds values: one for all */
        channels = 1;
    const char *key[2] = {"mean", "std"};
    const float *in[2] = {mean, std};
    for (int k = 0; k < 2; k++) {
        char text[GLIA_MAX_CHANNELS * 20] = "";
        size_t used = 0;
        for (int c = 0; c < channels; c++)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s%.6g", c ? ", " : "", (double)in[k][c]);
        glia_status s = glia_model_set_option(m, key[k], text);
        if (s) return s;
    }
    return GLIA_OK;
}
