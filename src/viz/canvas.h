/* canvas.h: an RGB8 picture to draw on (charts, filter grids, heat-map overlays), saved as PNG.
 *
 * Coordinates are pixels, x to the right, y down; pixel (x, y) covers [x, x+1) x [y, y+1), so
 * its centre is (x + 0.5, y + 0.5). Every drawing call clips to the canvas and to the current
 * clip rectangle (the whole canvas unless viz_clip() narrowed it), so callers may draw partly
 * or wholly outside. Lines and discs are anti-aliased (coverage blended over what is there);
 * rectangles, text and images are not. Text is stb_easy_font's: a 6-pixel-advance font whose
 * capitals are 7 pixels tall (descenders 2 more), rasterised from its quads and magnified by an
 * integer scale. */
#ifndef GLIA_VIZ_CANVAS_H
#define GLIA_VIZ_CANVAS_H
#include "glia.h"

typedef struct viz_canvas {
    int w, h;
    uint8_t *px;                /* h rows of w RGB triples */
    int cx0, cy0, cx1, cy1;     /* clip rectangle [cx0, cx1) x [cy0, cy1) */
} viz_canvas;

/* A w x h canvas filled with bg (NULL: white). */
glia_status viz_canvas_new(int w, int h, const uint8_t bg[3], viz_canvas **out);
void viz_canvas_free(viz_canvas *c);
/* Drawing is limited to [x, x+w) x [y, y+h) (within the canvas) until viz_clip_reset(). */
void viz_clip(viz_canvas *c, int x, int y, int w, int h);
void viz_clip_reset(viz_canvas *c);
/* The pixel's RGB, or NULL outside the canvas (not the clip: for reading back). */
uint8_t *viz_pixel(viz_canvas *c, int x, int y);

void viz_fill_rect(viz_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]);
/* A segment of the given width (1 or 2 px are typical) with round ends. */
void viz_line(viz_canvas *c, double x0, double y0, double x1, double y1, double width,
              const uint8_t rgb[3]);
/* A filled disc. */
void viz_disc(viz_canvas *c, double cx, double cy, double r, const uint8_t rgb[3]);

/* Text with its top-left corner at (x, y); scale 1..4 magnifies each font pixel. Characters
 * outside printable ASCII draw as '?'; '\n' starts a new line 12 * scale below. Returns the
 * width drawn (as viz_text_width). */
int viz_text(viz_canvas *c, int x, int y, const char *s, int scale, const uint8_t rgb[3]);
/* The same text turned 90 degrees counter-clockwise (reading upwards, as a y-axis label): the
 * text's top-left corner goes to (x, y + width), so it occupies [x, x + 12 scale) x [y, y +
 * width). */
int viz_text_up(viz_canvas *c, int x, int y, const char *s, int scale, const uint8_t rgb[3]);
/* Advance width of the widest line (includes the 1-pixel gap after the last character). */
int viz_text_width(const char *s, int scale);
/* Height of one line's ink: capitals 7 * scale, descenders 9 * scale. */
#define VIZ_CAP_HEIGHT 7
#define VIZ_LINE_INK 9

/* Draws a planar float image chw[channels][h][w] (channels 1: grey, 3: RGB) with its top-left
 * corner at (x, y), value vmin -> 0 and vmax -> 255 (clamped; NaN -> 0; vmax <= vmin maps
 * everything to 128), each pixel a zoom x zoom block (nearest neighbour). */
glia_status viz_blit(viz_canvas *c, int x, int y, const float *chw, int channels, int h, int w,
                     float vmin, float vmax, int zoom);
/* A heat map: map[h][w] through viz_colormap (vmin -> 0, vmax -> 1), blended over the canvas
 * with opacity alpha in [0, 1] (1 replaces, 0.4 suits an overlay on the input image). */
glia_status viz_blit_heat(viz_canvas *c, int x, int y, const float *map, int h, int w,
                          float vmin, float vmax, int zoom, float alpha);

/* Viridis (matplotlib's perceptually uniform map, dark purple -> blue -> green -> yellow,
 * readable in grey and by colour-blind viewers): t in [0, 1] (clamped, NaN -> 0) -> RGB, from
 * 33 samples of matplotlib's table linearly interpolated (within 2/255 of it). */
void viz_colormap(float t, uint8_t rgb[3]);
/* Colour i (mod 10) of a qualitative palette for lines (matplotlib's tab10: blue, orange,
 * green, red, purple, brown, pink, grey, olive, cyan). */
void viz_palette(int i, uint8_t rgb[3]);

/* Writes the canvas as an RGB PNG through glia_image_save_png (atomic). */
glia_status viz_canvas_save_png(const viz_canvas *c, const char *path);
#endif
