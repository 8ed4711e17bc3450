/* test.h: a small test harness. TEST(name) registers a function; CHECK fails the test with the
 * file and line; the runner prints "N passed, N failed". */
#ifndef GLIA_TEST_H
#define GLIA_TEST_H
#include "glia.h"
#include <math.h>
#include <stdio.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern int test_failed_flag;

#define TEST(name)                                                                     \
    static void name(void);                                                            \
    __attribute__((constructor)) static void name##_reg(void) {                        \
        test_register(#name, __FILE__, name);                                          \
    }                                                                                  \
    static void name(void)

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) { test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); return; }    \
    } while (0)
#define CHECK_MSG(cond, ...)                                                           \
    do {                                                                               \
        if (!(cond)) { test_fail(__FILE__, __LINE__, __VA_ARGS__); return; }           \
    } while (0)
/* a glia call that must succeed */
#define OK(call)                                                                       \
    do {                                                                               \
        glia_status s_ = (call);                                                       \
        if (s_ != GLIA_OK) {                                                           \
            test_fail(__FILE__, __LINE__, "%s -> %s: %s", #call, glia_status_name(s_), \
                      glia_last_error());                                              \
            return;                                                                    \
        }                                                                              \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (tol)))                                                 \
            { test_fail(__FILE__, __LINE__, "%s = %.9g, %s = %.9g, tolerance %g", #a, a_, #b, b_, (double)(tol)); return; } \
    } while (0)

/* The op table harness (test_ops_table.c): every op must have a gradient, a reference and a
 * golden case, tests named in its table. What a test checks is noted as it runs (the checks
 * below note it: test_gradcheck and GRADCHECK the ops between wrt and y and which of their
 * inputs got checked, golden_check and golden_load the ops y depends on and the files, a
 * reference test calls ref_checked(g, y) once y (and its gradients) matched its naive loops);
 * after a test named in the table, op_case_end fails it if it checked less than the table says
 * (main.c calls op_case_begin and op_case_end around every test). */
typedef enum { OPK_GRAD, OPK_REF, OPK_GOLDEN, OPK_COUNT } op_kind;
void op_case_note(const glia_graph *g, op_kind kind, int y, int wrt); /* wrt: OPK_GRAD only */
void op_case_note_file(const char *golden_file);
void op_case_begin(const char *test);
void op_case_end(const char *test);
int test_registered(const char *name); /* main.c */
static inline void ref_checked(const glia_graph *g, int y) { op_case_note(g, OPK_REF, y, -1); }
/* for golden tests that compare by hand instead of golden_check */
static inline void golden_checked(const glia_graph *g, int y) {
    op_case_note(g, OPK_GOLDEN, y, -1);
}

/* helpers (util.c) */
/* path's whole content, NUL-terminated, with `room` more zero bytes for edits in place; NULL
 * when it cannot be read. free() it. */
char *test_read_file(const char *path, size_t room);
/* removes dir and everything under it (a test's run directory); no error if it is absent */
void test_rm_rf(const char *dir);
/* n 8x8 grey images of 4 classes: class c is a bright 3x3 blob in quadrant c, plus noise */
glia_dataset *test_blobs(int n, uint64_t seed);
void fill_uniform(float *x, int64_t n, float lo, float hi, uint64_t seed);
/* max |a-b| / (atol_scale + |b|) over n values; index of the worst in *worst */
double max_rel_diff(const float *a, const float *b, int64_t n, double floor, int64_t *worst);
/* glia_gradcheck, noted for the op table */
glia_status test_gradcheck(glia_graph *g, int y, int wrt, float eps, double *max_rel_err,
                           int64_t *n_checked);
/* Builds nothing: checks d(sum(seed*y))/d(wrt) by finite differences, failing the test on error. */
int gradcheck_ok(glia_graph *g, int y, int wrt, double tol, const char *file, int line);
#define GRADCHECK(g, y, wrt, tol)                                                      \
    do { if (!gradcheck_ok(g, y, wrt, tol, __FILE__, __LINE__)) return; } while (0)

/* Golden files (tests/golden/NAME.txt, written by the scripts in scripts/golden/ from PyTorch):
 *   tensor NAME NDIM D0 D1 ...\n  values...\n */
typedef struct golden golden;
golden *golden_load(const char *name); /* NULL (and a failed test) if missing */
void golden_free(golden *gd);
/* the tensor's values, and its shape in *shape; NULL if absent */
const float *golden_get(golden *gd, const char *tensor, glia_shape *shape);
/* the tensor's first value, or dflt when the file has no such tensor (an option of the case) */
float golden_option(golden *gd, const char *tensor, float dflt);

/* Runs a golden case: copies golden tensors named names[i] into nodes[i] (inputs get
 * requires_grad), compiles, runs forward, compares y with golden "y", runs backward seeded with
 * golden "seed" and compares each node's gradient with golden "d<name>".
 * Tolerance: |got - want| / (1e-3 + |want|) <= tol. Returns 0 (and fails the test) on mismatch. */
int golden_check(glia_graph *g, const char *file, int y, int n, const char *const *names,
                 const int *nodes, double tol);
/* (golden_check runs the case on the cpu device, then on the reference device: both must match.) */
#define GOLDEN_CHECK(g, file, y, n, names, nodes, tol) \
    do { if (!golden_check(g, file, y, n, names, nodes, tol)) return; } while (0)

/* The reference device's results (src/device/ref_*.c: plain loops, sums in double) for a graph
 * the caller built: g moves to the reference device, vals[k] (NULL: keep) are written into
 * nodes[k], then forward and backward from y seeded with seed; y's values go to y_out, the
 * gradient of nodes[k] to grads[k] (NULL: not read). Returns 0 (and fails the test) on error. */
int reference_run(glia_graph *g, int y, const float *seed, int n, const int *nodes,
                  const float *const *vals, float *y_out, float *const *grads);
#endif
