/* image_ops.c: small image operations used by the input-optimisation loops: total variation
 * (with its gradient), Gaussian blur, bilinear resize. Images are planar [C, H, W] floats. */
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* TV(x) = sum_{c,i,j} sqrt(dx^2 + dy^2 + e), dx = x[i,j+1] - x[i,j], dy = x[i+1,j] - x[i,j]
 * (0 past the last row/column); dTV/dx[i,j] gets -(dx + dy)/t from its own term and dx/t,
 * dy/t from its left and upper neighbours' terms. */
double glia_tv(const float *x, int channels, int h, int w, float weight, float *grad) {
    const double e = 1e-8;
    double tv = 0;
    for (int c = 0; c < channels; c++) {
        const float *p = x + (size_t)c * h * w;
        float *gp = grad ? grad + (size_t)c * h * w : NULL;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                double v = p[i * w + j];
                double dx = j + 1 < w ? p[i * w + j + 1] - v : 0;
                double dy = i + 1 < h ? p[(i + 1) * w + j] - v : 0;
                double t = sqrt(dx * dx + dy * dy + e);
                tv += t;
                if (!gp) continue;
                gp[i * w + j] -= (float)(weight * (dx + dy) / t);
                if (j + 1 < w) gp[i * w + j + 1] += (float)(weight * dx / t);
                if (i + 1 < h) gp[(i + 1) * w + j] += (float)(weight * dy / t);
            }
    }
    return tv;
}

glia_status glia_blur(float *x, int channels, int h, int w, float sigma) {
    if (!(sigma > 0)) return GLIA_OK;
    int r = (int)ceilf(3 * sigma);
    if (r > 64) r = 64;
    float k[129], sum = 0;
    for (int i = -r; i <= r; i++) sum += k[i + r] = expf(-0.5f * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * r; i++) k[i] /= sum;
    int n = h > w ? h : w;
    float *line = glia__malloc((size_t)n * sizeof *line);
    if (!line) return glia__err(GLIA_ENOMEM, "glia_blur: out of memory");
    for (int c = 0; c < channels; c++) {
        float *p = x + (size_t)c * h * w;
        for (int i = 0; i < h; i++) { /* rows */
            memcpy(line, p + (size_t)i * w, (size_t)w * sizeof *line);
            for (int j = 0; j < w; j++) {
                float a = 0;
                for (int t = -r; t <= r; t++) {
                    int q = j + t < 0 ? 0 : j + t >= w ? w - 1 : j + t;
                    a += k[t + r] * line[q];
                }
                p[(size_t)i * w + j] = a;
            }
        }
        for (int j = 0; j < w; j++) { /* columns */
            for (int i = 0; i < h; i++) line[i] = p[(size_t)i * w + j];
            for (int i = 0; i < h; i++) {
                float a = 0;
                for (int t = -r; t <= r; t++) {
                    int q = i + t < 0 ? 0 : i + t >= h ? h - 1 : i + t;
                    a += k[t + r] * line[q];
                }
                p[(size_t)i * w + j] = a;
            }
        }
    }
    free(line);
    return GLIA_OK;
}

/* Output pixel centre o + 0.5 maps to input coordinate (o + 0.5) * in / out - 0.5. */
void glia_resize_bilinear(const float *src, int channels, int h, int w, float *dst, int oh, int ow) {
    for (int c = 0; c < channels; c++) {
        const float *s = src + (size_t)c * h * w;
        float *d = dst + (size_t)c * oh * ow;
        for (int i = 0; i < oh; i++) {
            float fy = (i + 0.5f) * h / oh - 0.5f;
            if (fy < 0) fy = 0;
            int y0 = (int)fy, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
            float ay = fy - y0;
            for (int j = 0; j < ow; j++) {
                float fx = (j + 0.5f) * w / ow - 0.5f;
                if (fx < 0) fx = 0;
                int x0 = (int)fx, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
                float ax = fx - x0;
                float top = s[y0 * w + x0] * (1 - ax) + s[y0 * w + x1] * ax;
                float bot = s[y1 * w + x0] * (1 - ax) + s[y1 * w + x1] * ax;
                d[(size_t)i * ow + j] = top * (1 - ay) + bot * ay;
            }
        }
    }
}
