/* cmd_curves.c: glia curves — several runs' training curves in one PNG, to compare them.
 *
 * Reads each run's metrics.csv (columns found by their header names: epoch, train_loss,
 * val_loss, train_acc, val_acc; the val ones may be absent or NaN) and draws two panels with
 * glia_plot_curves: loss per epoch and accuracy per epoch, one line per run and kind. Runs of
 * different lengths share the x axis (epochs 1 .. the longest); a run's missing epochs are NaN,
 * which the plot leaves out. Prints each run's last epoch. */
#include "cli.h"
#include "glia.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_RUNS = 8, MAX_EPOCHS = 100000, NCOL = 5 };
static const char *const COLS[NCOL] = {"epoch", "train_loss", "val_loss", "train_acc", "val_acc"};

typedef struct curve {
    char name[128];
    int n;            /* rows read */
    double *v[NCOL];  /* per row, in COLS order; accuracies as fractions */
} curve;

static void curve_free(curve *c) {
    for (int k = 0; k < NCOL; k++) free(c->v[k]);
}

/* RUN is a run directory (its metrics.csv) or a CSV file; 1 on success, else prints why */
static int read_curve(const char *run, curve *c) {
    char path[4096];
    size_t len = strlen(run);
    if (len > 4 && !strcmp(run + len - 4, ".csv")) snprintf(path, sizeof path, "%s", run);
    else snprintf(path, sizeof path, "%s/metrics.csv", run);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "glia curves: cannot open %s (a run directory with metrics.csv, or a CSV file)\n", path);
        return 0;
    }
    char line[4096];
    int col[NCOL], ok = 0, cap = 0;
    for (int k = 0; k < NCOL; k++) col[k] = -1;
    if (!fgets(line, sizeof line, f)) {
        fprintf(stderr, "glia curves: %s is empty\n", path);
        goto done;
    }
    line[strcspn(line, "\r\n")] = 0;
    int i = 0;
    for (char *tok = line, *end; tok; tok = end ? end + 1 : NULL, i++) {
        end = strchr(tok, ',');
        if (end) *end = 0;
        for (int k = 0; k < NCOL; k++)
            if (!strcmp(tok, COLS[k])) col[k] = i;
    }
    if (col[0] < 0 || col[1] < 0) {
        fprintf(stderr, "glia curves: %s:1: the header has no 'epoch' or no 'train_loss' column\n", path);
        goto done;
    }
    for (int row = 2; fgets(line, sizeof line, f); row++) {
        if (line[strspn(line, " \t\r\n")] == 0) continue;
        if (c->n >= MAX_EPOCHS) {
            fprintf(stderr, "glia curves: %s: more than %d rows\n", path, MAX_EPOCHS);
            goto done;
        }
        if (c->n == cap) {
            cap = cap ? 2 * cap : 64;
            for (int k = 0; k < NCOL; k++) {
                double *p = realloc(c->v[k], (size_t)cap * sizeof *p);
                if (!p) { fprintf(stderr, "glia curves: out of memory\n"); goto done; }
                c->v[k] = p;
            }
        }
        for (int k = 0; k < NCOL; k++) c->v[k][c->n] = NAN;
        i = 0;
        for (char *tok = line, *end; tok; tok = end ? end + 1 : NULL, i++) {
            end = strchr(tok, ',');
            for (int k = 0; k < NCOL; k++)
                if (col[k] == i) c->v[k][c->n] = strtod(tok, NULL); /* "nan": no held-out part */
        }
        if (!(c->v[0][c->n] >= 1 && c->v[0][c->n] <= MAX_EPOCHS)) {
            fprintf(stderr, "glia curves: %s:%d: no epoch number (1 .. %d)\n", path, row, MAX_EPOCHS);
            goto done;
        }
        c->n++;
    }
    if (!c->n) {
        fprintf(stderr, "glia curves: %s has no epochs yet\n", path);
        goto done;
    }
    ok = 1;
done:
    fclose(f);
    return ok;
}

/* the run's name in the legend: the directory's last component */
static void default_name(const char *run, char *out, size_t n) {
    size_t len = strlen(run);
    while (len > 1 && run[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && run[start - 1] != '/') start--;
    snprintf(out, n, "%.*s", (int)(len - start), run + start);
}

int cmd_curves(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia curves RUN1 [RUN2 ...] [--out FILE.png] [--title T] [--names A,B,...]\n\n"
               "Draws the training curves of up to %d runs in one PNG (default curves.png): loss\n"
               "(left) and accuracy in %% (right) per epoch, a line per run for training and, where\n"
               "the run held out a validation part, one for validation. RUN is a run directory\n"
               "(its metrics.csv, as glia train writes it) or a CSV file with the columns epoch,\n"
               "train_loss and optionally val_loss, train_acc, val_acc. --names gives the legend's\n"
               "names (default: each directory's name). Prints each run's last epoch.\n", MAX_RUNS);
        return 0;
    }
    const char *out = "curves.png", *title = "training curves", *names = NULL, *runs[MAX_RUNS + 1];
    int nr;
    const cli_opt opts[] = {{"--out", 's', &out}, {"--title", 's', &title}, {"--names", 's', &names},
                            {NULL, 0, NULL}};
    if (!cli_parse(argc, argv, opts, runs, MAX_RUNS + 1, &nr, "curves")) return 2;
    if (nr < 1 || nr > MAX_RUNS) {
        fprintf(stderr, "glia curves: give 1 to %d runs (see glia curves --help)\n", MAX_RUNS);
        return 2;
    }
    curve c[MAX_RUNS];
    memset(c, 0, sizeof c);
    int rc = 1, n = 0;
    const char *nm = names;
    for (int r = 0; r < nr; r++) {
        if (nm && *nm) {
            size_t l = strcspn(nm, ",");
            snprintf(c[r].name, sizeof c[r].name, "%.*s", (int)l, nm);
            nm += l + (nm[l] == ',');
        } else {
            if (names) {
                fprintf(stderr, "glia curves: --names gives fewer names than the %d runs\n", nr);
                rc = 2;
                goto done;
            }
            default_name(runs[r], c[r].name, sizeof c[r].name);
        }
    }
    if (nm && *nm) {
        fprintf(stderr, "glia curves: --names gives more names than the %d runs\n", nr);
        rc = 2;
        goto done;
    }
    for (int r = 0; r < nr; r++) {
        if (!read_curve(runs[r], &c[r])) goto done;
        for (int i = 0; i < c[r].n; i++)
            if (c[r].v[0][i] > n) n = (int)c[r].v[0][i];
    }
    /* x = 1..n; series r, kind k (0 train loss, 1 val loss, 2 train acc, 3 val acc) at y[(r*4+k)*n] */
    double *x = malloc((size_t)n * (1 + 4 * nr) * sizeof *x);
    glia_plot_series se[4 * MAX_RUNS];
    char label[4 * MAX_RUNS][160];
    int ns = 0;
    if (!x) { fprintf(stderr, "glia curves: out of memory\n"); goto done; }
    for (int i = 0; i < n; i++) x[i] = i + 1;
    for (int r = 0; r < nr; r++)
        for (int k = 0; k < 4; k++) {
            double *y = x + (size_t)n * (1 + 4 * r + k);
            int any = 0;
            for (int i = 0; i < n; i++) y[i] = NAN;
            for (int i = 0; i < c[r].n; i++) {
                double v = c[r].v[1 + k][i] * (k >= 2 ? 100 : 1);
                y[(int)c[r].v[0][i] - 1] = v;
                any |= !isnan(v);
            }
            if (!any) continue; /* no validation part: no line and no legend entry */
            snprintf(label[ns], sizeof label[ns], "%.127s %s", c[r].name, k % 2 ? "val" : "train");
            se[ns] = (glia_plot_series){label[ns], y, k >= 2};
            ns++;
        }
    const char *yl[2] = {"loss", "accuracy %"};
    if (glia_plot_curves(out, title, "epoch", x, n, 2, yl, se, ns)) {
        fprintf(stderr, "glia curves: %s\n", glia_last_error());
        free(x);
        goto done;
    }
    free(x);
    printf("%-24s %6s %10s %10s %9s %9s\n", "run", "epochs", "train loss", "val loss", "train acc", "val acc");
    for (int r = 0; r < nr; r++) {
        int i = c[r].n - 1;
        printf("%-24s %6d %10.4f %10.4f %8.2f%% %8.2f%%\n", c[r].name, (int)c[r].v[0][i], c[r].v[1][i],
               c[r].v[2][i], 100 * c[r].v[3][i], 100 * c[r].v[4][i]);
    }
    printf("wrote %s\n", out);
    rc = 0;
done:
    for (int r = 0; r < nr && r < MAX_RUNS; r++) curve_free(&c[r]);
    return rc;
}
