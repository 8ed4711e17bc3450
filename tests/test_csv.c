/* test_csv.c: CSV tables as data (glia_csv_load): classes from a text column (strcmp order, or
 * numeric order when all are numbers), numeric targets in the order named, quoting and blanks,
 * errors that name the line and column (a bad cell, a missing column, a short row, an open
 * quote, no rows); and training on a table: classification through the images task, regression
 * with two targets (mse) through the table task, whose held-out loss is the mean squared error
 * of the live rows only. */
#include "test.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char csv_path[256];
static const char *write_csv(const char *text) {
    snprintf(csv_path, sizeof csv_path, "/tmp/glia-csv-%d.csv", (int)getpid());
    FILE *f = fopen(csv_path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return csv_path;
}

/* loads text expecting an error whose message holds want */
static int fails_with(const char *text, const char *targets, int classify, const char *want) {
    glia_table *t = NULL;
    glia_status s = glia_csv_load(write_csv(text), targets, classify, &t);
    if (s == GLIA_OK || t || !strstr(glia_last_error(), want)) {
        fprintf(stderr, "  expected an error with '%s', got %s: %s\n", want, glia_status_name(s),
                glia_last_error());
        glia_table_free(t);
        return 0;
    }
    return 1;
}

TEST(csv_classes_and_targets) {
    glia_table *t;
    OK(glia_csv_load(write_csv("\xef\xbb\xbf" "len, species ,width\r\n1.5,setosa,2\n\n"
                               " 2.5 , \"virginica\", 3e0\n\"4\",setosa,-1\n"),
                     "species", 1, &t));
    CHECK(t->features == 2 && t->targets == 1 && t->classes == 2);
    CHECK(!strcmp(t->feature_names[0], "len") && !strcmp(t->feature_names[1], "width"));
    CHECK(!strcmp(t->class_names[0], "setosa") && !strcmp(t->class_names[1], "virginica"));
    CHECK(t->x->shape.dim[0] == 3 && t->x->data[0] == 1.5f && t->x->data[3] == 3 && t->x->data[4] == 4);
    CHECK(t->y->data[0] == 0 && t->y->data[1] == 1 && t->y->data[2] == 0);
    glia_table_free(t);
    /* numeric labels: numeric order (2 before 10), the names as written */
    OK(glia_csv_load(write_csv("x,y\n0,10\n1,2\n2,2.0\n"), "y", 1, &t));
    CHECK(t->classes == 3 && !strcmp(t->class_names[0], "2") && !strcmp(t->class_names[1], "2.0") &&
          !strcmp(t->class_names[2], "10"));
    CHECK(t->y->data[0] == 2 && t->y->data[1] == 0);
    glia_table_free(t);
    /* regression: targets in the order named, a quoted comma in a feature's header */
    OK(glia_csv_load(write_csv("t1,\"a, b\",t2\n1,2,3\n4,5,6\n"), "t2,t1", 0, &t));
    CHECK(t->features == 1 && t->targets == 2 && !strcmp(t->feature_names[0], "a, b"));
    CHECK(t->y->shape.ndim == 2 && t->y->data[0] == 3 && t->y->data[1] == 1 && t->y->data[2] == 6);
    CHECK(!strcmp(t->target_names[0], "t2"));
    glia_table_free(t);
}

TEST(csv_errors_name_line_and_column) {
    CHECK(fails_with("a,b,c\n1,2,x\n3,oops,1\n", "c", 1, ":3, column 2 ('b'): 'oops' is not a number"));
    CHECK(fails_with("a,b\n1,2\n", "label", 1, "no column 'label' in the header (its columns: a, b)"));
    CHECK(fails_with("a,b,c\n1,2,3\n4,5\n", "c", 0, ":3: 2 cells, but the header has 3 columns"));
    CHECK(fails_with("a,b\n1,2,3\n", "b", 0, ":2: more cells than the header's 2 columns"));
    CHECK(fails_with("a,b\n1,\"2\n", "b", 0, "malformed cell in column 2"));
    CHECK(fails_with("a,b\n", "b", 0, "a header but no rows"));
    CHECK(fails_with("", "b", 0, "empty"));
    CHECK(fails_with("a,b\n1,2\n", "a,b", 0, "no feature columns"));
    CHECK(fails_with("a,b,c\n1,2,3\n", "b,c", 1, "one label column"));
    CHECK(fails_with("a,b\n1,\n", "b", 1, "empty label"));
    CHECK(fails_with("a,b\n1,nan\n", "b", 0, "column 2 ('b'): 'nan' is not a number"));
    unlink(csv_path);
}

static void rm_run(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
}

TEST(csv_train_classify_and_regress) {
    /* 200 rows: x0, x1 uniform in [-1, 1]; label "pos" when x0 + x1 > 0; targets
     * r1 = 2 x0 - x1 + 1 and r2 = x1 / 2 */
    size_t cap = 200 * 64 + 64, at = 0;
    char *text = malloc(cap);
    CHECK(text);
    at += (size_t)snprintf(text, cap, "x0,label,x1,r1,r2\n");
    glia_rng r;
    glia_rng_seed(&r, 9, 1);
    for (int i = 0; i < 200; i++) {
        float a = 2 * glia_rng_uniform(&r) - 1, b = 2 * glia_rng_uniform(&r) - 1;
        at += (size_t)snprintf(text + at, cap - at, "%.6f,%s,%.6f,%.6f,%.6f\n", a, a + b > 0 ? "pos" : "neg",
                               b, 2 * a - b + 1, b / 2);
    }
    write_csv(text);
    free(text);
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/glia-csv-run-%d", (int)getpid());
    /* classification: the label column; the other four columns are features here */
    glia_model *m;
    OK(glia_model_parse("[net]\ninput = 4\nclasses = 2\nbatch = 10\nepochs = 20\nlr = 0.05\n"
                        "optimizer = adam\n[dense]\nunits = 2\n", "c.cfg", 1, 4, &m));
    glia_train_options o = {.data = csv_path, .target = "label", .out_dir = dir, .seed = 4,
                            .val = 0.25f, .normalize = 1};
    glia_train_result res;
    OK(glia_train(m, &o, &res));
    CHECK(res.test.n == 50);
    CHECK_MSG(res.test.acc >= 0.9, "classification accuracy %.3f", res.test.acc);
    glia_eval_result_free(&res.test);
    glia_model_free(m);
    char p[600];
    snprintf(p, sizeof p, "%s/classes.txt", dir);
    char *names = test_read_file(p, 0);
    CHECK(names && !strcmp(names, "neg\npos\n"));
    free(names);
    rm_run(dir);
    /* regression: two targets, mse; the label column is text, so it cannot be a feature */
    OK(glia_model_parse("[net]\ninput = 3\nclasses = 2\nbatch = 16\nepochs = 60\nlr = 0.02\n"
                        "optimizer = adam\nloss = mse\n[dense]\nunits = 2\n", "r.cfg", 1, 4, &m));
    o.target = "r1,r2";
    CHECK(glia_train(m, &o, &res) == GLIA_EINVAL);
    CHECK_MSG(strstr(glia_last_error(), "column 2 ('label'): 'neg' is not a number") ||
              strstr(glia_last_error(), "column 2 ('label'): 'pos' is not a number"), "%s", glia_last_error());
    glia_model_free(m);
    /* without the label column: x0, x1 -> r1, r2 */
    FILE *in = fopen(csv_path, "r");
    CHECK(in);
    char line[256], *out = malloc(200 * 64 + 64);
    size_t w = 0;
    while (out && fgets(line, sizeof line, in)) {
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c2) break;
        *c1 = 0;
        w += (size_t)sprintf(out + w, "%s%s", line, c2);
    }
    fclose(in);
    CHECK(out);
    write_csv(out);
    free(out);
    OK(glia_model_parse("[net]\ninput = 2\nclasses = 2\nbatch = 16\nepochs = 60\nlr = 0.02\n"
                        "optimizer = adam\nloss = mse\n[dense]\nname = fc\nunits = 2\n", "r.cfg", 1, 4, &m));
    OK(glia_train(m, &o, &res));
    CHECK(isnan(res.test.acc) && res.test.n == 50); /* the live rows only: 50 of 4 batches of 16 */
    CHECK_MSG(res.test.loss < 1e-3, "regression test mse %g", res.test.loss);
    glia_eval_result_free(&res.test);
    snprintf(p, sizeof p, "%s/targets.txt", dir);
    names = test_read_file(p, 0);
    CHECK(names && !strcmp(names, "r1\nr2\n"));
    free(names);
    glia_model_free(m);
    /* the outputs must match the targets' count */
    OK(glia_model_parse("[net]\ninput = 2\nclasses = 1\nloss = mse\n[dense]\nunits = 1\n", "r.cfg", 1, 4, &m));
    CHECK(glia_train(m, &o, &res) == GLIA_ESHAPE);
    CHECK_MSG(strstr(glia_last_error(), "2 target columns (r1,r2), but the model has 1 outputs"), "%s", glia_last_error());
    glia_model_free(m);
    rm_run(dir);
    unlink(csv_path);
}
