/* attention_map.c: an attention matrix as a labelled heat map (glia attention): the input
 * symbols along the top (one column each), the output symbols down the left (one row each),
 * each cell the weight the decoder gave that input when it wrote that output, viridis from 0
 * (dark) to 1 (yellow), as in Bahdanau et al. 2015's figure 3. */
#include "canvas.h"
#include "../core/internal.h"
#include <stdio.h>
#include <string.h>

glia_status glia_attention_png(const char *path, const char *title, const float *w, int rows,
                               int cols, const char *const *row_labels,
                               const char *const *col_labels) {
    if (!path || !w || rows < 1 || cols < 1 || rows > 512 || cols > 512)
        return glia__err(GLIA_EINVAL, "glia_attention_png: bad arguments (%d x %d)", rows, cols);
    const int cell = 28, sc = 2, pad = 12;
    int lw = 0, th = 0;
    for (int r = 0; r < rows; r++) {
        int x = viz_text_width(row_labels ? row_labels[r] : "?", sc);
        lw = x > lw ? x : lw;
    }
    for (int c = 0; c < cols; c++) {
        int x = viz_text_width(col_labels ? col_labels[c] : "?", sc);
        th = x > th ? x : th;
    }
    const int title_h = title ? 12 * sc + pad : 0, x0 = pad + lw + 6, y0 = pad + title_h + th + 6;
    const int W = x0 + cols * cell + pad + 60, H = y0 + rows * cell + pad;
    viz_canvas *cv;
    glia_status s = viz_canvas_new(W, H, NULL, &cv);
    if (s) return s;
    static const uint8_t black[3] = {0, 0, 0}, grey[3] = {90, 90, 90};
    if (title) viz_text(cv, pad, pad, title, sc, black);
    for (int c = 0; c < cols; c++) /* input labels, reading upwards above their column */
        viz_text_up(cv, x0 + c * cell + (cell - 12 * sc) / 2 + 2, y0 - 6 - viz_text_width(col_labels ? col_labels[c] : "?", sc),
                    col_labels ? col_labels[c] : "?", sc, black);
    for (int r = 0; r < rows; r++) {
        const char *lb = row_labels ? row_labels[r] : "?";
        viz_text(cv, x0 - 6 - viz_text_width(lb, sc), y0 + r * cell + (cell - VIZ_CAP_HEIGHT * sc) / 2, lb, sc, black);
        for (int c = 0; c < cols; c++) {
            uint8_t rgb[3];
            viz_colormap(w[(size_t)r * cols + c], rgb);
            viz_fill_rect(cv, x0 + c * cell, y0 + r * cell, cell - 1, cell - 1, rgb);
        }
    }
    /* the colour scale: 0 at the bottom, 1 at the top */
    const int bx = x0 + cols * cell + 16, bh = rows * cell;
    for (int y = 0; y < bh; y++) {
        uint8_t rgb[3];
        viz_colormap(1.0f - (float)y / (float)(bh > 1 ? bh - 1 : 1), rgb);
        viz_fill_rect(cv, bx, y0 + y, 12, 1, rgb);
    }
    viz_text(cv, bx + 16, y0, "1", 1, grey);
    viz_text(cv, bx + 16, y0 + bh - 8, "0", 1, grey);
    s = viz_canvas_save_png(cv, path);
    viz_canvas_free(cv);
    return s;
}
