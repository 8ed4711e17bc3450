/* plot.c: glia_plot_curves, line charts of training curves (loss and accuracy per epoch) as PNG.
 *
 * Each panel is laid out from the outside in: the y label (turned upwards) at the left edge,
 * then the tick labels, the plot area, the x tick labels and the x label below it. Ticks are
 * "nice" numbers (1, 2 or 5 x 10^k) over the data range padded by 5% (so no point sits on the
 * frame), thinned until their labels do not collide; when every x is an integer (epochs) the x
 * step is at least 1. Series are drawn clipped to the plot area, 2 pixels wide, anti-aliased,
 * broken at NaN and infinities (and |y| > 1e150, whose ranges would overflow), with dots at the points when there are few of them (and always at an isolated
 * point, which would otherwise vanish). The legend goes in the corner of the plot area where it
 * hides the fewest curve samples. */
#include "viz/canvas.h"
#include "core/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLOT_MAX_PANELS 8
#define PANEL_W 490        /* 2 panels + 2 outer margins of 10 = 1000 pixels */
#define OUTER 10
#define PLOT_H 420
#define DOT_MAX_POINTS 30  /* dots at the points up to this many points */

/* font scales and colours */
enum { S_TITLE = 2, S_LABEL = 2, S_TICK = 1, S_LEGEND = 1 };
static const uint8_t C_TEXT[3] = {30, 30, 30}, C_TICK[3] = {80, 80, 80},
                     C_GRID[3] = {232, 232, 232}, C_FRAME[3] = {150, 150, 150},
                     C_LEGEND_BG[3] = {255, 255, 255}, C_LEGEND_EDGE[3] = {200, 200, 200};

/* One axis: data range [lo, hi] mapped onto pixels [p0, p1] (p1 < p0 for y), ticks k*step. */
typedef struct {
    double lo, hi, step;
    double p0, p1;
    int decimals;  /* tick label format: fixed decimals, or -1 for %.3g */
} axis;

typedef struct {
    int left, right, top, bottom; /* plot area [left, right) x [top, bottom) */
    axis ax, ay;
} panel_geom;

static double to_px(const axis *a, double v) {
    return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

/* ------------------------------------------------------------------ ranges and ticks */

/* A value that is drawn: finite and not so large that ranges overflow (others are gaps). */
static int plottable(double v) { return fabs(v) <= 1e150; }

/* Min/max of the plottable v[0..n-1] folded into lo and hi; returns how many there were. */
static int fold_range(const double *v, int n, double *lo, double *hi) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (plottable(v[i])) {
            if (v[i] < *lo) *lo = v[i];
            if (v[i] > *hi) *hi = v[i];
            k++;
        }
    return k;
}

/* Pads [lo, hi] by `frac` of its width; a point range gets +-5% of its value (or +-0.5). */
static void pad_range(double *lo, double *hi, double frac) {
    double w = *hi - *lo;
    if (!(w > 1e-12 * fmax(fabs(*lo), fabs(*hi)))) {
        double m = *lo, d = m != 0 ? fabs(m) * 0.05 : 0.5;
        *lo = m - d;
        *hi = m + d;
        return;
    }
    *lo -= w * frac;
    *hi += w * frac;
}

/* The smallest of 1, 2, 5 x 10^k that is >= raw. */
static double nice_step(double raw) {
    double mag = pow(10, floor(log10(raw)));
    static const double m[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (m[i] * mag >= raw * (1 - 1e-9)) return m[i] * mag;
    return 10 * mag;
}

static void tick_label(const axis *a, double v, char *buf, size_t n) {
    if (fabs(v) < a->step * 1e-6) v = 0; /* no "-0.00" */
    if (a->decimals < 0) snprintf(buf, n, "%.3g", v);
    else snprintf(buf, n, "%.*f", a->decimals, v);
}

/* The first tick index: ticks are k * step for k = first .. last. */
static void tick_span(const axis *a, long long *first, long long *last) {
    *first = (long long)ceil(a->lo / a->step - 1e-9);
    *last = (long long)floor(a->hi / a->step + 1e-9);
}

/* Width of the widest tick label of the axis (in pixels, at scale S_TICK). */
static int widest_tick(const axis *a) {
    long long k0, k1;
    tick_span(a, &k0, &k1);
    int w = 0;
    char buf[64];
    for (long long k = k0; k <= k1; k++) {
        tick_label(a, (double)k * a->step, buf, sizeof buf);
        int tw = viz_text_width(buf, S_TICK);
        if (tw > w) w = tw;
    }
    return w;
}

/* Chooses the step: about `target` ticks, at least min_step, then larger while labels need
 * more than the pixels between ticks (label size: text width for x, height for y). */
static void choose_ticks(axis *a, int target, double min_step, int horizontal) {
    a->step = fmax(nice_step((a->hi - a->lo) / target), min_step);
    for (int guard = 0; guard < 64; guard++) {
        int e = (int)floor(log10(a->step) + 1e-9);
        double mx = fmax(fabs(a->lo), fabs(a->hi));
        a->decimals = (e < -6 || mx >= 1e7) ? -1 : e < 0 ? -e : 0;
        double gap = fabs(a->p1 - a->p0) * a->step / (a->hi - a->lo);
        double need = horizontal ? widest_tick(a) + 12 : VIZ_CAP_HEIGHT * S_TICK + 12;
        if (gap >= need) return;
        a->step = nice_step(a->step * 1.01);
    }
}

static int all_integers(const double *x, int n) {
    for (int i = 0; i < n; i++)
        if (fabs(x[i] - round(x[i])) > 1e-9) return 0;
    return 1;
}

/* ------------------------------------------------------------------ drawing */

static void draw_grid_and_ticks(viz_canvas *c, const panel_geom *g) {
    long long k0, k1;
    char buf[64];
    tick_span(&g->ax, &k0, &k1);
    for (long long k = k0; k <= k1; k++) {
        double v = (double)k * g->ax.step;
        int px = (int)floor(to_px(&g->ax, v));
        viz_fill_rect(c, px, g->top, 1, g->bottom - g->top, C_GRID);
        viz_fill_rect(c, px, g->bottom, 1, 4, C_FRAME);
        tick_label(&g->ax, v, buf, sizeof buf);
        viz_text(c, px - viz_text_width(buf, S_TICK) / 2 + 1, g->bottom + 8, buf, S_TICK, C_TICK);
    }
    tick_span(&g->ay, &k0, &k1);
    for (long long k = k0; k <= k1; k++) {
        double v = (double)k * g->ay.step;
        int py = (int)floor(to_px(&g->ay, v));
        viz_fill_rect(c, g->left, py, g->right - g->left, 1, C_GRID);
        viz_fill_rect(c, g->left - 4, py, 4, 1, C_FRAME);
        tick_label(&g->ay, v, buf, sizeof buf);
        int tw = viz_text_width(buf, S_TICK);
        viz_text(c, g->left - 8 - tw, py - (VIZ_CAP_HEIGHT * S_TICK) / 2, buf, S_TICK, C_TICK);
    }
}

static void draw_frame(viz_canvas *c, const panel_geom *g) {
    int w = g->right - g->left, h = g->bottom - g->top;
    viz_fill_rect(c, g->left, g->top, w, 1, C_FRAME);
    viz_fill_rect(c, g->left, g->bottom - 1, w, 1, C_FRAME);
    viz_fill_rect(c, g->left, g->top, 1, h, C_FRAME);
    viz_fill_rect(c, g->right - 1, g->top, 1, h, C_FRAME);
}

static void draw_series(viz_canvas *c, const panel_geom *g, const double *x, const double *y,
                        int n, const uint8_t rgb[3]) {
    viz_clip(c, g->left + 1, g->top + 1, g->right - g->left - 2, g->bottom - g->top - 2);
    for (int i = 0; i + 1 < n; i++)
        if (plottable(y[i]) && plottable(y[i + 1]))
            viz_line(c, to_px(&g->ax, x[i]), to_px(&g->ay, y[i]), to_px(&g->ax, x[i + 1]),
                     to_px(&g->ay, y[i + 1]), 2.0, rgb);
    for (int i = 0; i < n; i++) {
        if (!plottable(y[i])) continue;
        int isolated = (i == 0 || !plottable(y[i - 1])) && (i == n - 1 || !plottable(y[i + 1]));
        if (n <= DOT_MAX_POINTS || isolated)
            viz_disc(c, to_px(&g->ax, x[i]), to_px(&g->ay, y[i]), 3.0, rgb);
    }
    viz_clip_reset(c);
}

/* How many curve samples (points and 8 steps along each segment) fall in the box. */
static int samples_in(const panel_geom *g, const double *x, const glia_plot_series *s, int ns,
                      int panel, int n, int bx, int by, int bw, int bh) {
    int hits = 0;
    for (int k = 0; k < ns; k++) {
        if (s[k].panel != panel) continue;
        const double *y = s[k].y;
        for (int i = 0; i < n; i++) {
            if (!plottable(y[i])) continue;
            int steps = i + 1 < n && plottable(y[i + 1]) ? 8 : 1;
            for (int j = 0; j < steps; j++) {
                double t = (double)j / 8;
                double px = to_px(&g->ax, x[i] + (j ? t * (x[i + 1] - x[i]) : 0));
                double py = to_px(&g->ay, y[i] + (j ? t * (y[i + 1] - y[i]) : 0));
                hits += px >= bx && px < bx + bw && py >= by && py < by + bh;
            }
        }
    }
    return hits;
}

static void draw_legend(viz_canvas *c, const panel_geom *g, const double *x,
                        const glia_plot_series *s, int ns, int panel, int n) {
    int rows = 0, text_w = 0;
    for (int k = 0; k < ns; k++)
        if (s[k].panel == panel && s[k].name) {
            rows++;
            int w = viz_text_width(s[k].name, S_LEGEND);
            if (w > text_w) text_w = w;
        }
    if (!rows) return;
    const int pad = 8, sample = 22, row_h = 12 * S_LEGEND + 4, m = 10;
    int bw = pad + sample + 6 + text_w + pad, bh = pad * 2 + rows * row_h - 4;
    /* corners in order of preference: top right, top left, bottom right, bottom left */
    int best = 0, best_hits = -1, cx[4], cy[4];
    for (int k = 0; k < 4; k++) {
        cx[k] = k % 2 == 0 ? g->right - m - bw : g->left + m;
        cy[k] = k < 2 ? g->top + m : g->bottom - m - bh;
        int h = samples_in(g, x, s, ns, panel, n, cx[k] - 4, cy[k] - 4, bw + 8, bh + 8);
        if (best_hits < 0 || h < best_hits) { best = k; best_hits = h; }
    }
    int bx = cx[best], by = cy[best];
    viz_fill_rect(c, bx, by, bw, bh, C_LEGEND_EDGE);
    viz_fill_rect(c, bx + 1, by + 1, bw - 2, bh - 2, C_LEGEND_BG);
    int row = 0, idx = 0;
    for (int k = 0; k < ns; k++) {
        if (s[k].panel != panel) continue;
        uint8_t rgb[3];
        viz_palette(idx++, rgb);
        if (!s[k].name) continue;
        int ty = by + pad + row * row_h, mid = ty + (VIZ_CAP_HEIGHT * S_LEGEND) / 2;
        viz_line(c, bx + pad, mid + 0.5, bx + pad + sample, mid + 0.5, 2.0, rgb);
        if (n <= DOT_MAX_POINTS) viz_disc(c, bx + pad + sample / 2.0, mid + 0.5, 3.0, rgb);
        viz_text(c, bx + pad + sample + 6, ty, s[k].name, S_LEGEND, C_TEXT);
        row++;
    }
}

/* ------------------------------------------------------------------ layout */

/* Ranges and ticks of panel p, and its plot area inside [x0, x0 + PANEL_W). */
static void layout_panel(panel_geom *g, int x0, const double *x, int n,
                         const glia_plot_series *s, int ns, int p, int has_ylabel) {
    double ylo = INFINITY, yhi = -INFINITY, xlo = INFINITY, xhi = -INFINITY;
    int finite = 0;
    for (int k = 0; k < ns; k++)
        if (s[k].panel == p) finite += fold_range(s[k].y, n, &ylo, &yhi);
    if (!finite) ylo = 0, yhi = 1;
    fold_range(x, n, &xlo, &xhi);
    pad_range(&ylo, &yhi, 0.05);
    pad_range(&xlo, &xhi, 0.04);

    g->top = 52;
    g->bottom = PLOT_H - 64;
    g->ay = (axis){.lo = ylo, .hi = yhi, .p0 = g->bottom - 0.5, .p1 = g->top + 0.5};
    choose_ticks(&g->ay, 6, 0, 0);
    int label_w = has_ylabel ? VIZ_LINE_INK * S_LABEL + 12 : 0;
    g->left = x0 + 6 + label_w + widest_tick(&g->ay) + 10;
    g->right = x0 + PANEL_W - 12;
    g->ax = (axis){.lo = xlo, .hi = xhi, .p0 = g->left + 0.5, .p1 = g->right - 0.5};
    choose_ticks(&g->ax, 8, all_integers(x, n) ? 1 : 0, 1);
}

static void draw_panel(viz_canvas *c, int x0, const char *xlabel, const char *ylabel,
                       const double *x, int n, const glia_plot_series *s, int ns, int p) {
    panel_geom g;
    layout_panel(&g, x0, x, n, s, ns, p, ylabel && *ylabel);
    draw_grid_and_ticks(c, &g);
    int idx = 0;
    for (int k = 0; k < ns; k++) {
        if (s[k].panel != p) continue;
        uint8_t rgb[3];
        viz_palette(idx++, rgb);
        draw_series(c, &g, x, s[k].y, n, rgb);
    }
    draw_frame(c, &g);
    draw_legend(c, &g, x, s, ns, p, n);
    int cxm = (g.left + g.right) / 2, cym = (g.top + g.bottom) / 2;
    if (xlabel && *xlabel)
        viz_text(c, cxm - viz_text_width(xlabel, S_LABEL) / 2, g.bottom + 8 + 9 * S_TICK + 14,
                 xlabel, S_LABEL, C_TEXT);
    if (ylabel && *ylabel)
        viz_text_up(c, x0 + 6, cym - viz_text_width(ylabel, S_LABEL) / 2, ylabel, S_LABEL,
                    C_TEXT);
}

static glia_status check_args(const char *path, const double *x, int n, int panels,
                              const glia_plot_series *s, int ns) {
    if (!path || !*path) return glia__err(GLIA_EINVAL, "glia_plot_curves: no output path");
    if (n < 1) return glia__err(GLIA_EINVAL, "%s: no points to plot (n = %d)", path, n);
    if (!x) return glia__err(GLIA_EINVAL, "%s: x is NULL", path);
    if (panels < 1 || panels > PLOT_MAX_PANELS)
        return glia__err(GLIA_EINVAL, "%s: %d panels (1 to %d)", path, panels, PLOT_MAX_PANELS);
    if (ns < 0 || (ns > 0 && !s))
        return glia__err(GLIA_EINVAL, "%s: bad series list (%d series)", path, ns);
    for (int i = 0; i < n; i++)
        if (!plottable(x[i]))
            return glia__err(GLIA_EINVAL, "%s: x[%d] = %g is not a finite value within 1e150",
                             path, i, x[i]);
    for (int k = 0; k < ns; k++) {
        const char *nm = s[k].name ? s[k].name : "(unnamed)";
        if (!s[k].y) return glia__err(GLIA_EINVAL, "%s: series %d '%s' has no y values", path, k, nm);
        if (s[k].panel < 0 || s[k].panel >= panels)
            return glia__err(GLIA_EINVAL, "%s: series %d '%s' is on panel %d of %d", path, k, nm,
                             s[k].panel, panels);
    }
    return GLIA_OK;
}

glia_status glia_plot_curves(const char *path, const char *title, const char *xlabel,
                             const double *x, int n, int panels,
                             const char *const *panel_ylabels, const glia_plot_series *series,
                             int n_series) {
    glia_status st = check_args(path, x, n, panels, series, n_series);
    if (st) return st;
    viz_canvas *c;
    st = viz_canvas_new(2 * OUTER + panels * PANEL_W, PLOT_H, NULL, &c);
    if (st) {
        char why[512]; /* glia__err formats into the buffer glia_last_error() returns */
        snprintf(why, sizeof why, "%s", glia_last_error());
        return glia__err(st, "%s: %s", path, why);
    }
    if (title && *title)
        viz_text(c, (c->w - viz_text_width(title, S_TITLE)) / 2, 16, title, S_TITLE, C_TEXT);
    for (int p = 0; p < panels; p++)
        draw_panel(c, OUTER + p * PANEL_W, xlabel, panel_ylabels ? panel_ylabels[p] : NULL, x, n,
                   series, n_series, p);
    st = viz_canvas_save_png(c, path);
    viz_canvas_free(c);
    return st;
}
