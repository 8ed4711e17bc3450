/* canvas.c: an RGB8 canvas: rectangles, anti-aliased lines and discs, stb_easy_font text, float
 * images and heat maps, viridis, PNG output. See canvas.h for the conventions. */
#include "viz/canvas.h"
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* stb_easy_font is header-only with static functions (no implementation macro needed); not
 * every one is used here. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb/stb_easy_font.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#define VIZ_MAX_SIDE 32768

glia_status viz_canvas_new(int w, int h, const uint8_t bg[3], viz_canvas **out) {
    if (!out) return glia__err(GLIA_EINVAL, "viz_canvas_new: NULL argument");
    *out = NULL;
    if (w < 1 || h < 1 || w > VIZ_MAX_SIDE || h > VIZ_MAX_SIDE)
        return glia__err(GLIA_EINVAL, "viz_canvas_new: bad size %dx%d (1 to %d a side)", w, h,
                         VIZ_MAX_SIDE);
    viz_canvas *c = glia__malloc(sizeof *c);
    uint8_t *px = glia__malloc((size_t)w * h * 3);
    if (!c || !px) {
        free(c);
        free(px);
        return glia__err(GLIA_ENOMEM, "viz_canvas_new: out of memory for %dx%d", w, h);
    }
    *c = (viz_canvas){.w = w, .h = h, .px = px};
    viz_clip_reset(c);
    static const uint8_t white[3] = {255, 255, 255};
    viz_fill_rect(c, 0, 0, w, h, bg ? bg : white);
    *out = c;
    return GLIA_OK;
}

void viz_canvas_free(viz_canvas *c) {
    if (!c) return;
    free(c->px);
    free(c);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void viz_clip(viz_canvas *c, int x, int y, int w, int h) {
    /* in int64 so that huge rectangles cannot overflow */
    int64_t x1 = (int64_t)x + (w > 0 ? w : 0), y1 = (int64_t)y + (h > 0 ? h : 0);
    c->cx0 = clampi(x, 0, c->w);
    c->cy0 = clampi(y, 0, c->h);
    c->cx1 = (int)(x1 < c->cx0 ? c->cx0 : x1 > c->w ? c->w : x1);
    c->cy1 = (int)(y1 < c->cy0 ? c->cy0 : y1 > c->h ? c->h : y1);
}

void viz_clip_reset(viz_canvas *c) {
    c->cx0 = c->cy0 = 0;
    c->cx1 = c->w;
    c->cy1 = c->h;
}

uint8_t *viz_pixel(viz_canvas *c, int x, int y) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return NULL;
    return c->px + ((size_t)y * c->w + x) * 3;
}

void viz_fill_rect(viz_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]) {
    if (w <= 0 || h <= 0) return;
    int64_t xe = (int64_t)x + w, ye = (int64_t)y + h;
    int x0 = x > c->cx0 ? x : c->cx0, y0 = y > c->cy0 ? y : c->cy0;
    int x1 = xe < c->cx1 ? (int)xe : c->cx1, y1 = ye < c->cy1 ? (int)ye : c->cy1;
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++) memcpy(c->px + ((size_t)yy * c->w + xx) * 3, rgb, 3);
}

/* px = px (1 - a) + rgb a, for a clipped pixel; a in [0, 1]. */
static void blend(viz_canvas *c, int x, int y, const uint8_t rgb[3], float a) {
    if (x < c->cx0 || y < c->cy0 || x >= c->cx1 || y >= c->cy1 || a <= 0.0f) return;
    uint8_t *p = c->px + ((size_t)y * c->w + x) * 3;
    for (int k = 0; k < 3; k++) p[k] = (uint8_t)(p[k] + (rgb[k] - p[k]) * a + 0.5f);
}

/* The clip rectangle's pixels that [lo, hi] (in x or y) can touch; empty if hi < lo. */
static void span(double lo, double hi, int clip0, int clip1, int *a, int *b) {
    *a = lo <= clip0 ? clip0 : lo >= clip1 ? clip1 : (int)floor(lo);
    *b = hi < clip0 ? clip0 - 1 : hi >= clip1 - 1 ? clip1 - 1 : (int)floor(hi);
}

/* Distance from p to segment a-b. */
static double seg_dist(double px, double py, double ax, double ay, double bx, double by) {
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = ax + t * dx - px, ey = ay + t * dy - py;
    return sqrt(ex * ex + ey * ey);
}

/* Coverage of a pixel whose centre lies at distance d from a shape's core of half-width r:
 * a 1-pixel linear ramp around the edge. */
static float coverage(double d, double r) {
    double a = r + 0.5 - d;
    return (float)(a <= 0 ? 0 : a >= 1 ? 1 : a);
}

void viz_line(viz_canvas *c, double x0, double y0, double x1, double y1, double width,
              const uint8_t rgb[3]) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1) || !(width > 0))
        return;
    double r = width / 2, m = r + 1;
    int xa, xb, ya, yb;
    span(fmin(x0, x1) - m, fmax(x0, x1) + m, c->cx0, c->cx1, &xa, &xb);
    span(fmin(y0, y1) - m, fmax(y0, y1) + m, c->cy0, c->cy1, &ya, &yb);
    for (int y = ya; y <= yb; y++)
        for (int x = xa; x <= xb; x++)
            blend(c, x, y, rgb, coverage(seg_dist(x + 0.5, y + 0.5, x0, y0, x1, y1), r));
}

void viz_disc(viz_canvas *c, double cx, double cy, double r, const uint8_t rgb[3]) {
    if (!isfinite(cx) || !isfinite(cy) || !(r > 0)) return;
    int xa, xb, ya, yb;
    span(cx - r - 1, cx + r + 1, c->cx0, c->cx1, &xa, &xb);
    span(cy - r - 1, cy + r + 1, c->cy0, c->cy1, &ya, &yb);
    for (int y = ya; y <= yb; y++)
        for (int x = xa; x <= xb; x++)
            blend(c, x, y, rgb, coverage(hypot(x + 0.5 - cx, y + 0.5 - cy), r));
}

/* ------------------------------------------------------------------ text */

static char printable(char ch) { return ch >= 32 && ch < 127 ? ch : '?'; }

/* The font's quads for one character, as [x0, x1) x [y0, y1) in font pixels; returns count. */
static int glyph_quads(char ch, int q[][4], int max_q) {
    float v[64 * 16]; /* 64 quads x 4 vertices x (x, y, z, colour) */
    char s[2] = {printable(ch), 0};
    int n = stb_easy_font_print(0, 0, s, NULL, v, (int)sizeof v);
    if (n > max_q) n = max_q;
    for (int i = 0; i < n; i++) { /* vertex 0 is the top-left corner, vertex 2 bottom-right */
        q[i][0] = (int)v[i * 16 + 0], q[i][1] = (int)v[i * 16 + 8];
        q[i][2] = (int)v[i * 16 + 1], q[i][3] = (int)v[i * 16 + 9];
    }
    return n;
}

static int glyph_advance(char ch) {
    char s[2] = {printable(ch), 0};
    return stb_easy_font_width(s);
}

static int clamp_scale(int scale) { return scale < 1 ? 1 : scale > 4 ? 4 : scale; }

int viz_text_width(const char *s, int scale) {
    if (!s) return 0;
    int w = 0, line = 0;
    for (; *s; s++) {
        if (*s == '\n') { line = 0; continue; }
        line += glyph_advance(*s);
        if (line > w) w = line;
    }
    return w * clamp_scale(scale);
}

/* Draws s; `up` turns it 90 degrees counter-clockwise about the point (x, y + width). */
static int draw_text(viz_canvas *c, int x, int y, const char *s, int scale, const uint8_t rgb[3],
                     int up) {
    if (!s) return 0;
    scale = clamp_scale(scale);
    int width = viz_text_width(s, scale), pen_x = 0, pen_y = 0, q[64][4];
    for (; *s; s++) {
        if (*s == '\n') { pen_x = 0; pen_y += 12 * scale; continue; }
        int n = glyph_quads(*s, q, 64);
        for (int i = 0; i < n; i++) {
            int gx0 = pen_x + q[i][0] * scale, gx1 = pen_x + q[i][1] * scale;
            int gy0 = pen_y + q[i][2] * scale, gy1 = pen_y + q[i][3] * scale;
            if (up) viz_fill_rect(c, x + gy0, y + width - gx1, gy1 - gy0, gx1 - gx0, rgb);
            else viz_fill_rect(c, x + gx0, y + gy0, gx1 - gx0, gy1 - gy0, rgb);
        }
        pen_x += glyph_advance(*s) * scale;
    }
    return width;
}

int viz_text(viz_canvas *c, int x, int y, const char *s, int scale, const uint8_t rgb[3]) {
    return draw_text(c, x, y, s, scale, rgb, 0);
}

int viz_text_up(viz_canvas *c, int x, int y, const char *s, int scale, const uint8_t rgb[3]) {
    return draw_text(c, x, y, s, scale, rgb, 1);
}

/* ------------------------------------------------------------------ images and colours */

/* (v - vmin) / (vmax - vmin) clamped to [0, 1]; NaN -> 0; an empty range -> 0.5. */
static float normalise(float v, float vmin, float vmax) {
    if (!(vmax > vmin)) return 0.5f;
    float t = (v - vmin) / (vmax - vmin);
    return t > 0.0f ? (t < 1.0f ? t : 1.0f) : 0.0f;
}

static glia_status check_blit(const char *fn, const viz_canvas *c, const float *img, int h, int w,
                              int zoom) {
    if (!c || !img) return glia__err(GLIA_EINVAL, "%s: NULL argument", fn);
    if (h < 1 || w < 1 || zoom < 1 || zoom > VIZ_MAX_SIDE || h > VIZ_MAX_SIDE || w > VIZ_MAX_SIDE)
        return glia__err(GLIA_EINVAL, "%s: bad image %dx%d or zoom %d", fn, h, w, zoom);
    return GLIA_OK;
}

glia_status viz_blit(viz_canvas *c, int x, int y, const float *chw, int channels, int h, int w,
                     float vmin, float vmax, int zoom) {
    glia_status s = check_blit("viz_blit", c, chw, h, w, zoom);
    if (s) return s;
    if (channels != 1 && channels != 3)
        return glia__err(GLIA_EINVAL, "viz_blit: %d channels (1 or 3)", channels);
    size_t hw = (size_t)h * w;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            uint8_t rgb[3];
            for (int k = 0; k < 3; k++) {
                float v = chw[(size_t)(channels == 3 ? k : 0) * hw + (size_t)i * w + j];
                rgb[k] = (uint8_t)(normalise(v, vmin, vmax) * 255.0f + 0.5f);
            }
            viz_fill_rect(c, x + j * zoom, y + i * zoom, zoom, zoom, rgb);
        }
    return GLIA_OK;
}

glia_status viz_blit_heat(viz_canvas *c, int x, int y, const float *map, int h, int w,
                          float vmin, float vmax, int zoom, float alpha) {
    glia_status s = check_blit("viz_blit_heat", c, map, h, w, zoom);
    if (s) return s;
    float a = alpha > 0.0f ? (alpha < 1.0f ? alpha : 1.0f) : 0.0f;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            uint8_t rgb[3];
            viz_colormap(normalise(map[(size_t)i * w + j], vmin, vmax), rgb);
            for (int yy = 0; yy < zoom; yy++)
                for (int xx = 0; xx < zoom; xx++)
                    blend(c, x + j * zoom + xx, y + i * zoom + yy, rgb, a);
        }
    return GLIA_OK;
}

/* matplotlib's viridis (CC0, van der Walt, Smith and Firing) at t = k/32, k = 0..32. */
static const uint8_t viridis[33][3] = {
    {68, 1, 84},    {71, 13, 96},   {72, 24, 106},  {72, 35, 116},  {71, 45, 123},
    {69, 54, 129},  {66, 64, 134},  {63, 73, 137},  {59, 82, 139},  {55, 90, 141},
    {51, 99, 141},  {47, 106, 142}, {44, 114, 142}, {41, 122, 142}, {38, 129, 142},
    {35, 137, 142}, {33, 144, 140}, {31, 152, 139}, {31, 159, 136}, {33, 166, 133},
    {40, 174, 128}, {49, 181, 123}, {62, 188, 116}, {76, 194, 108}, {93, 201, 99},
    {110, 206, 88}, {130, 211, 76}, {150, 216, 63}, {171, 220, 50}, {192, 223, 36},
    {213, 226, 26}, {234, 229, 26}, {253, 231, 37},
};

void viz_colormap(float t, uint8_t rgb[3]) {
    t = t > 0.0f ? (t < 1.0f ? t : 1.0f) : 0.0f; /* NaN -> 0 */
    float f = t * 32.0f;
    int i = (int)f;
    if (i > 31) i = 31;
    float a = f - (float)i;
    for (int k = 0; k < 3; k++)
        rgb[k] = (uint8_t)(viridis[i][k] + (viridis[i + 1][k] - viridis[i][k]) * a + 0.5f);
}

void viz_palette(int i, uint8_t rgb[3]) {
    static const uint8_t tab10[10][3] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
    };
    i %= 10;
    if (i < 0) i += 10;
    memcpy(rgb, tab10[i], 3);
}

glia_status viz_canvas_save_png(const viz_canvas *c, const char *path) {
    if (!c || !path) return glia__err(GLIA_EINVAL, "viz_canvas_save_png: NULL argument");
    size_t hw = (size_t)c->w * c->h;
    float *chw = glia__malloc(hw * 3 * sizeof *chw);
    if (!chw) return glia__err(GLIA_ENOMEM, "%s: out of memory for a %dx%d picture", path, c->w, c->h);
    for (size_t i = 0; i < hw; i++)
        for (int k = 0; k < 3; k++) chw[k * hw + i] = c->px[i * 3 + k] / 255.0f;
    glia_status s = glia_image_save_png(path, chw, 3, c->h, c->w);
    free(chw);
    return s;
}
