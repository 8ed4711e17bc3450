/* test_onnx_conformance.c: ONNX's own operator tests (Debian libonnx-testdata, data/node/<test>:
 * model.onnx, test_data_set_k/input_i.pb, output_i.pb) through glia's importer.
 *
 * Each test imports with its inputs' shapes. Float inputs are run-time inputs; inputs of other
 * types (shape tensors, axes) are given as constants, and when the import says a float input
 * must be a constant too (Clip's bounds, Pad's value), the test is imported once more with
 * every input after the first as a constant. A test whose model uses an op, attribute or type
 * the importer does not support is skipped; every other one must match ONNX's expected outputs
 * to 1e-4 relative (1e-5 absolute near 0). The counts go to stderr (README lists them);
 * GLIA_ONNX_VERBOSE=1 also names each skipped test and why. */
#include "test.h"
#include "io/onnx_internal.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NODE_DIR "/usr/share/libonnx-testdata/data/node"
#define MAX_IO 16

typedef struct {
    char *name;
    int dtype;
    glia_shape shape;
    double *v;
    float *f;
} io_tensor;

static void io_free(io_tensor *t, int n) {
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].v);
        free(t[i].f);
    }
}

/* reads prefix_0.pb, prefix_1.pb, ... of dir; -1 on a file that does not parse */
static int read_set(const char *dir, const char *prefix, io_tensor *t) {
    int n = 0;
    for (; n < MAX_IO; n++) {
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, n);
        if (stat(path, &st)) break;
        memset(&t[n], 0, sizeof t[n]);
        if (glia__onnx_tensor_file(path, &t[n].name, &t[n].dtype, &t[n].shape, &t[n].v)) {
            io_free(t, n + 1);
            return -1;
        }
        int64_t m = glia_shape_numel(&t[n].shape);
        t[n].f = malloc((size_t)(m ? m : 1) * sizeof(float));
        for (int64_t i = 0; i < m; i++) t[n].f[i] = (float)t[n].v[i];
    }
    return n;
}

enum { PASS, FAIL, SKIP };

/* one data set of one test: PASS, FAIL or SKIP, why in msg */
static int run_set(const char *model, const char *set, char *msg, size_t len) {
    io_tensor in[MAX_IO], out[MAX_IO];
    int ni = read_set(set, "input", in), no = ni < 0 ? -1 : read_set(set, "output", out);
    if (ni < 0 || no < 0) {
        if (ni >= 0) io_free(in, ni);
        snprintf(msg, len, "cannot read the test data (%s)", glia_last_error());
        return SKIP;
    }
    int result = FAIL, unsupported = 0;
    glia_onnx *m = NULL;
    for (int attempt = 0; attempt < 2 && !m; attempt++) {
        glia_onnx_input gi[MAX_IO];
        for (int i = 0; i < ni; i++) {
            bool as_const = in[i].dtype != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || (attempt && i > 0);
            gi[i] = (glia_onnx_input){in[i].name, in[i].shape.ndim, in[i].shape.dim,
                                      as_const ? in[i].f : NULL, 0};
        }
        glia_onnx_options o = {.inputs = gi, .n_inputs = ni, .unsupported = &unsupported};
        glia_status s = glia_onnx_load(model, &o, &m);
        if (s && !unsupported) {
            snprintf(msg, len, "import: %s", glia_last_error());
            goto done;
        }
        if (s) snprintf(msg, len, "%s", glia_last_error());
    }
    if (!m) {
        result = SKIP;
        goto done;
    }
    glia_graph *g = glia_onnx_graph(m);
    for (int i = 0; i < glia_onnx_num_inputs(m); i++) {
        int node = glia_onnx_input_node(m, i);
        const char *nm = glia_onnx_input_name(m, i);
        if (node < 0) continue;
        int k = 0;
        while (k < ni && (!in[k].name || strcmp(in[k].name, nm))) k++;
        if (k == ni && i < ni) k = i; /* unnamed test tensors: in order */
        if (k == ni || glia_node_write(g, node, in[k].f, glia_shape_numel(&in[k].shape))) {
            snprintf(msg, len, "input '%s': %s", nm, k == ni ? "no data" : glia_last_error());
            goto done;
        }
    }
    if (glia_graph_forward(g)) {
        snprintf(msg, len, "forward: %s", glia_last_error());
        goto done;
    }
    if (glia_onnx_num_outputs(m) != no) {
        snprintf(msg, len, "%d outputs, %d expected", glia_onnx_num_outputs(m), no);
        goto done;
    }
    for (int k = 0; k < no; k++) {
        int node = glia_onnx_output_node(m, k);
        glia_shape s;
        glia_node_shape(g, node, &s);
        int64_t n = glia_shape_numel(&out[k].shape);
        if (glia_shape_numel(&s) != n) {
            char a[96], b[96];
            snprintf(msg, len, "output %d has shape %s, expected %s", k, glia_shape_str(&s, a, sizeof a),
                     glia_shape_str(&out[k].shape, b, sizeof b));
            goto done;
        }
        float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
        glia_status st = glia_node_read(g, node, y, n);
        for (int64_t i = 0; !st && i < n; i++) {
            double want = out[k].v[i], d = fabs(y[i] - want);
            if (!(d <= 1e-4 * fabs(want) + 1e-5) && !(isnan(want) && isnan(y[i]))) {
                snprintf(msg, len, "output %d [%lld] = %.7g, expected %.7g", k, (long long)i, y[i], want);
                st = GLIA_ERANGE;
            }
        }
        free(y);
        if (st == GLIA_OK) continue;
        if (st != GLIA_ERANGE) snprintf(msg, len, "output %d: %s", k, glia_last_error());
        goto done;
    }
    result = PASS;
done:
    glia_onnx_free(m);
    io_free(in, ni);
    io_free(out, no);
    return result;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(onnx_node_conformance) {
    DIR *d = opendir(NODE_DIR);
    if (!d) {
        fprintf(stderr, "  note: %s is absent (Debian libonnx-testdata, scripts/install-deps): "
                        "ONNX node tests skipped\n", NODE_DIR);
        return;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "test_", 5)) continue;
        if (n == cap) names = realloc(names, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    int count[3] = {0}, verbose = getenv("GLIA_ONNX_VERBOSE") != NULL;
    for (int i = 0; i < n; i++) {
        char model[1024], set[1024], msg[768] = "";
        snprintf(model, sizeof model, "%s/%s/model.onnx", NODE_DIR, names[i]);
        int r = PASS, sets = 0;
        for (int k = 0; r == PASS; k++, sets++) {
            struct stat st;
            snprintf(set, sizeof set, "%s/%s/test_data_set_%d", NODE_DIR, names[i], k);
            if (stat(set, &st)) break;
            r = run_set(model, set, msg, sizeof msg);
        }
        if (!sets) r = SKIP, snprintf(msg, sizeof msg, "no test data");
        count[r]++;
        if (r == FAIL) fprintf(stderr, "  onnx FAIL %s: %s\n", names[i], msg);
        else if (r == SKIP && verbose) fprintf(stderr, "  onnx skip %s: %s\n", names[i], msg);
        free(names[i]);
    }
    free(names);
    fprintf(stderr, "  ONNX node tests (%s): %d passed, %d failed, %d skipped as unsupported\n",
            NODE_DIR, count[PASS], count[FAIL], count[SKIP]);
    CHECK_MSG(count[FAIL] == 0, "%d ONNX node tests failed", count[FAIL]);
    CHECK(count[PASS] > 0);
}
