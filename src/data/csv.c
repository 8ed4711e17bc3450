/* csv.c: a CSV table as training data: a header line of column names, then one row per sample;
 * the target columns are chosen by name, every other column is a numeric feature. Cells are
 * separated by commas; a cell may be quoted ("a, b", "say ""hi"""); blanks around a cell are
 * dropped; \r\n line ends are fine; blank lines are skipped. Classification: one target column
 * whose values (any text) are the class names, classes in numeric order when every label is a
 * number, else in strcmp order. Regression: the targets' cells are numbers. Every error names
 * the file, the line and the column. */
#include "../core/internal.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_MAX_COLS 65536
#define CSV_MAX_CELL 4096

void glia_table_free(glia_table *t) {
    if (!t) return;
    glia_tensor_free(t->x);
    glia_tensor_free(t->y);
    for (int i = 0; t->feature_names && i < t->features; i++) free(t->feature_names[i]);
    for (int i = 0; t->target_names && i < t->targets; i++) free(t->target_names[i]);
    for (int i = 0; t->class_names && i < t->classes; i++) free(t->class_names[i]);
    free(t->feature_names);
    free(t->target_names);
    free(t->class_names);
    free(t);
}

typedef struct {
    const char *p, *end;
    int line;
} reader;

/* One cell into buf (unquoted, trimmed). *last: the line ended after it. 0 when the cell is
 * malformed (a quote left open, text after a closing quote, too long). */
static int next_cell(reader *r, char *buf, int *last) {
    size_t n = 0;
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t')) r->p++;
    int quoted = r->p < r->end && *r->p == '"';
    if (quoted) {
        r->p++;
        for (;;) {
            if (r->p >= r->end) return 0; /* open quote at the end of the file */
            char c = *r->p++;
            if (c == '"') {
                if (r->p < r->end && *r->p == '"') r->p++;
                else break;
            } else if (c == '\n') r->line++;
            if (n + 1 >= CSV_MAX_CELL) return 0;
            buf[n++] = c;
        }
        while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r')) r->p++;
        if (r->p < r->end && *r->p != ',' && *r->p != '\n') return 0;
    } else {
        while (r->p < r->end && *r->p != ',' && *r->p != '\n') {
            if (n + 1 >= CSV_MAX_CELL) return 0;
            buf[n++] = *r->p++;
        }
        while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r')) n--;
    }
    buf[n] = 0;
    *last = r->p >= r->end || *r->p == '\n';
    if (r->p < r->end) r->p++; /* the comma or the newline */
    return 1;
}

/* skips blank lines (only blanks and \r); 0 at the end of the text */
static int skip_blank(reader *r) {
    for (;;) {
        const char *q = r->p;
        while (q < r->end && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q >= r->end) return 0;
        if (*q != '\n') return 1;
        r->p = q + 1;
        r->line++;
    }
}

static int parse_number(const char *s, float *v) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(x) || fabs(x) > 3.0e38) return 0;
    *v = (float)x;
    return 1;
}

typedef struct { char *name; double num; int numeric; } label;
static int by_label(const void *a, const void *b) {
    const label *x = a, *y = b;
    if (x->numeric && y->numeric && x->num != y->num) return x->num < y->num ? -1 : 1;
    return strcmp(x->name, y->name);
}

typedef struct {
    float *v;
    size_t n, cap;
} floats;
static int push(floats *f, float x) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 1024;
        float *p = glia__realloc(f->v, cap * sizeof *p);
        if (!p) return 0;
        f->v = p;
        f->cap = cap;
    }
    f->v[f->n++] = x;
    return 1;
}

glia_status glia_csv_load(const char *path, const char *targets, int classify, glia_table **out) {
    if (!path || !targets || !out) return glia__err(GLIA_EINVAL, "glia_csv_load: NULL argument");
    *out = NULL;
    char *text;
    size_t len;
    glia_status s = glia__read_file(path, &text, &len);
    if (s) return s;
    glia_table *t = glia__calloc(1, sizeof *t);
    char *cell = glia__malloc(CSV_MAX_CELL);
    char **header = NULL;
    int *role = NULL; /* per column: -1 - k for target k, else the feature index */
    int cols = 0;
    floats fx = {0}, fy = {0};
    label *labels = NULL;
    int n_labels = 0;
    int64_t rows = 0;
    if (!t || !cell) {
        s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    reader r = {text, text + len, 1};
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) r.p += 3; /* a UTF-8 byte order mark */
    /* the header */
    if (!skip_blank(&r)) {
        s = glia__err(GLIA_EINVAL, "%s: empty (a CSV table needs a header line of column names)", path);
        goto done;
    }
    for (int last = 0; !last;) {
        int line = r.line;
        if (!next_cell(&r, cell, &last)) {
            s = glia__err(GLIA_EINVAL, "%s:%d: malformed header cell %d (an unclosed quote or text "
                          "after one, or over %d bytes)", path, line, cols + 1, CSV_MAX_CELL - 1);
            goto done;
        }
        if (cols == CSV_MAX_COLS) {
            s = glia__err(GLIA_EINVAL, "%s:%d: more than %d columns", path, line, CSV_MAX_COLS);
            goto done;
        }
        char **h = glia__realloc(header, (size_t)(cols + 1) * sizeof *h);
        if (!h || !(h[cols] = glia__strdup(cell))) {
            if (h) header = h;
            s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        header = h;
        cols++;
    }
    r.line++;
    /* the targets, by name; every other column a feature */
    if (!(role = glia__malloc((size_t)cols * sizeof *role))) {
        s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int c = 0; c < cols; c++) role[c] = 0;
    for (const char *p = targets; *p;) {
        size_t n = strcspn(p, ",");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n < 255 ? n : 255), p);
        int found = -1;
        for (int c = 0; c < cols && found < 0; c++)
            if (!strcmp(header[c], name)) found = c;
        if (found < 0 || role[found] < 0) {
            char list[512] = "";
            size_t at = 0;
            for (int c = 0; c < cols && at < sizeof list - 8; c++)
                at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", c ? ", " : "", header[c]);
            s = found < 0 ? glia__err(GLIA_EINVAL, "%s: no column '%s' in the header (its columns: %s)",
                                      path, name, list)
                          : glia__err(GLIA_EINVAL, "%s: target column '%s' named twice", path, name);
            goto done;
        }
        role[found] = -1 - t->targets++;
        p += n + (p[n] == ',');
    }
    if (t->targets == 0) {
        s = glia__err(GLIA_EINVAL, "%s: no target column named", path);
        goto done;
    }
    if (classify && t->targets != 1) {
        s = glia__err(GLIA_EINVAL, "%s: classification takes one label column, not %d", path, t->targets);
        goto done;
    }
    t->features = cols - t->targets;
    if (t->features < 1) {
        s = glia__err(GLIA_EINVAL, "%s: no feature columns (every column is a target)", path);
        goto done;
    }
    if (!(t->feature_names = glia__calloc((size_t)t->features, sizeof *t->feature_names)) ||
        !(t->target_names = glia__calloc((size_t)t->targets, sizeof *t->target_names))) {
        s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int c = 0, f = 0; c < cols; c++) {
        char **slot = role[c] < 0 ? &t->target_names[-1 - role[c]] : &t->feature_names[f];
        if (role[c] >= 0) role[c] = f++;
        if (!(*slot = glia__strdup(header[c]))) {
            s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    /* the rows: features in order, targets in the order named (or the label's id) */
    float *row_t = glia__malloc((size_t)t->targets * sizeof *row_t);
    if (!row_t) {
        s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    while (!s && skip_blank(&r)) {
        int line = r.line, c = 0;
        for (int last = 0; !last && !s; c++) {
            if (!next_cell(&r, cell, &last)) {
                s = glia__err(GLIA_EINVAL, "%s:%d: malformed cell in column %d (an unclosed quote or "
                              "text after one, or over %d bytes)", path, line, c + 1, CSV_MAX_CELL - 1);
                break;
            }
            if (c >= cols) {
                s = glia__err(GLIA_EINVAL, "%s:%d: more cells than the header's %d columns", path, line, cols);
                break;
            }
            float v = 0;
            if (role[c] < 0 && classify) {
                int k = 0;
                while (k < n_labels && strcmp(labels[k].name, cell)) k++;
                if (!*cell) {
                    s = glia__err(GLIA_EINVAL, "%s:%d, column %d ('%s'): empty label", path, line,
                                  c + 1, header[c]);
                    break;
                }
                if (k == n_labels) {
                    label *nl = glia__realloc(labels, (size_t)(n_labels + 1) * sizeof *nl);
                    if (nl) labels = nl;
                    if (!nl || !(nl[k].name = glia__strdup(cell))) {
                        s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
                        break;
                    }
                    float num;
                    nl[k].numeric = parse_number(cell, &num);
                    nl[k].num = nl[k].numeric ? num : 0;
                    n_labels++;
                }
                row_t[0] = (float)k;
                continue;
            }
            if (!parse_number(cell, &v)) {
                s = glia__err(GLIA_EINVAL, "%s:%d, column %d ('%s'): '%s' is not a number%s", path,
                              line, c + 1, header[c], cell,
                              role[c] >= 0 ? " (every column but the targets is a numeric feature)" : "");
                break;
            }
            if (role[c] < 0) row_t[-1 - role[c]] = v;
            else if (!push(&fx, v)) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        }
        if (!s && c != cols)
            s = glia__err(GLIA_EINVAL, "%s:%d: %d cells, but the header has %d columns", path, line, c, cols);
        for (int k = 0; !s && k < t->targets; k++)
            if (!push(&fy, row_t[k])) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        rows++;
        r.line++;
    }
    free(row_t);
    if (s) goto done;
    if (rows == 0) {
        s = glia__err(GLIA_EINVAL, "%s: a header but no rows", path);
        goto done;
    }
    if ((s = glia_tensor_new(&t->x, 2, (int64_t[]){rows, t->features}))) goto done;
    memcpy(t->x->data, fx.v, fx.n * sizeof *fx.v);
    if (classify) {
        /* the classes in order; remap the row ids to it */
        int all_num = 1, *to = glia__malloc((size_t)n_labels * sizeof *to);
        if (!to || !(t->class_names = glia__calloc((size_t)n_labels, sizeof *t->class_names))) {
            free(to);
            s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        for (int k = 0; k < n_labels; k++) all_num &= labels[k].numeric;
        for (int k = 0; k < n_labels; k++) labels[k].numeric = all_num; /* numbers only if all are */
        label *sorted = glia__malloc((size_t)n_labels * sizeof *sorted);
        if (!sorted) {
            free(to);
            s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
            goto done;
        }
        memcpy(sorted, labels, (size_t)n_labels * sizeof *sorted);
        qsort(sorted, (size_t)n_labels, sizeof *sorted, by_label);
        for (int k = 0; k < n_labels; k++) {
            for (int j = 0; j < n_labels; j++)
                if (labels[j].name == sorted[k].name) to[j] = k;
            t->class_names[k] = sorted[k].name; /* moves: labels[] no longer frees them */
        }
        t->classes = n_labels;
        free(sorted);
        for (int k = 0; k < n_labels; k++) labels[k].name = NULL;
        if (!(s = glia_tensor_new(&t->y, 1, (int64_t[]){rows})))
            for (int64_t i = 0; i < rows; i++) t->y->data[i] = (float)to[(int)fy.v[i]];
        free(to);
    } else if (!(s = glia_tensor_new(&t->y, 2, (int64_t[]){rows, t->targets}))) {
        memcpy(t->y->data, fy.v, fy.n * sizeof *fy.v);
    }
done:
    for (int c = 0; header && c < cols; c++) free(header[c]);
    free(header);
    free(role);
    for (int k = 0; k < n_labels; k++) free(labels[k].name);
    free(labels);
    free(fx.v);
    free(fy.v);
    free(cell);
    free(text);
    if (s) glia_table_free(t);
    else *out = t;
    return s;
}
