/* tiles.c: a grid of captioned image tiles (filters, feature maps, heat-map overlays, adversarial
 * examples side by side) written as one PNG. Layout: a margin, the title, then rows of cells as
 * large as the largest tile (or caption), each caption under its tile. */
#include "viz/canvas.h"
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MARGIN = 6, GAP = 6, LINE = 12 };
static const uint8_t C_BG[3] = {255, 255, 255}, C_TEXT[3] = {30, 30, 30};

static int lines_of(const char *s) {
    int n = s && *s ? 1 : 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

static void minmax(const float *x, int64_t n, float *lo, float *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(x[i])) *lo = fminf(*lo, x[i]), *hi = fmaxf(*hi, x[i]);
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;
}

glia_status glia_tiles_save_png(const char *path, const char *title, const glia_tile *tiles,
                                int n, int cols, int zoom, int *width, int *height) {
    if (!path || !tiles || n < 1 || zoom < 1 || zoom > 64)
        return glia__err(GLIA_EINVAL, "glia_tiles_save_png: need a path, 1 or more tiles, zoom 1..64");
    int tw = 1, th = 1, cap_lines = 0;
    for (int i = 0; i < n; i++) {
        const glia_tile *t = &tiles[i];
        if (!t->image || (t->channels != 1 && t->channels != 3) || t->h < 1 || t->w < 1 ||
            (t->heat && (t->heat_h < 1 || t->heat_w < 1)))
            return glia__err(GLIA_EINVAL, "glia_tiles_save_png: tile %d: need an image with 1 or 3 "
                             "channels and a positive size (got %d channels, %d x %d)", i,
                             t->channels, t->h, t->w);
        if (t->w * zoom > tw) tw = t->w * zoom;
        if (t->h * zoom > th) th = t->h * zoom;
        if (t->caption && viz_text_width(t->caption, 1) > tw) tw = viz_text_width(t->caption, 1);
        if (lines_of(t->caption) > cap_lines) cap_lines = lines_of(t->caption);
    }
    if (cols <= 0) cols = (int)ceil(sqrt((double)n));
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    int cell_w = tw + GAP, cell_h = th + (cap_lines ? 3 + cap_lines * LINE : 0) + GAP;
    int title_h = title && *title ? lines_of(title) * LINE + 4 : 0;
    int W = 2 * MARGIN + cols * cell_w - GAP, H = 2 * MARGIN + title_h + rows * cell_h - GAP;
    if (title_h && viz_text_width(title, 1) + 2 * MARGIN > W) W = viz_text_width(title, 1) + 2 * MARGIN;
    if ((int64_t)W * H > 64LL << 20)
        return glia__err(GLIA_EINVAL, "glia_tiles_save_png: a %d x %d picture is too large", W, H);
    viz_canvas *cv;
    glia_status s = viz_canvas_new(W, H, C_BG, &cv);
    if (s) return s;
    if (title_h) viz_text(cv, MARGIN, MARGIN, title, 1, C_TEXT);
    float *up = NULL;
    for (int i = 0; i < n && !s; i++) {
        const glia_tile *t = &tiles[i];
        int x = MARGIN + (i % cols) * cell_w, y = MARGIN + title_h + (i / cols) * cell_h;
        float lo = t->vmin, hi = t->vmax;
        if (!(lo < hi) && !(lo > hi)) minmax(t->image, (int64_t)t->channels * t->h * t->w, &lo, &hi);
        s = viz_blit(cv, x, y, t->image, t->channels, t->h, t->w, lo, hi, zoom);
        if (!s && t->heat) {
            /* the heat map resized to the drawn tile, 0 -> dark, its maximum -> yellow */
            int oh = t->h * zoom, ow = t->w * zoom;
            free(up);
            if (!(up = glia__malloc((size_t)oh * ow * sizeof *up))) {
                s = glia__err(GLIA_ENOMEM, "glia_tiles_save_png: out of memory");
                break;
            }
            glia_resize_bilinear(t->heat, 1, t->heat_h, t->heat_w, up, oh, ow);
            float mlo, mhi;
            minmax(t->heat, (int64_t)t->heat_h * t->heat_w, &mlo, &mhi);
            s = viz_blit_heat(cv, x, y, up, oh, ow, 0.0f, mhi > 0 ? mhi : 1.0f, 1, 0.5f);
        }
        if (!s && t->caption) viz_text(cv, x, y + th + 3, t->caption, 1, C_TEXT);
    }
    free(up);
    if (!s) s = viz_canvas_save_png(cv, path);
    viz_canvas_free(cv);
    if (!s && width) *width = W;
    if (!s && height) *height = H;
    return s;
}
