/* fuzz_csv.c: the CSV table reader (glia_csv_load): the first byte picks classification or
 * regression and the target columns (y; or y,a; or a name no header has); the rest is the file.
 * A table that loads must be consistent: rows x features finite values, every class id below
 * the number of classes, names for every feature, target and class. */
#include "fuzz.h"
#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const targets[3] = {"y", "y,a", "missing"};
    int classify = data[0] & 1;
    const char *path = fuzz_write("table.csv", data + 1, size - 1);
    glia_table *t = NULL;
    glia_status s = glia_csv_load(path, targets[data[0] / 2 % 3], classify, &t);
    FUZZ_ERR_OK(s);
    if (!s) {
        int64_t rows = t->x->shape.dim[0];
        FUZZ_CHECK(rows >= 1 && t->features >= 1 && t->targets >= 1);
        FUZZ_CHECK(t->x->shape.ndim == 2 && t->x->shape.dim[1] == t->features);
        for (int64_t i = 0; i < rows * t->features; i++) FUZZ_CHECK(isfinite(t->x->data[i]));
        for (int i = 0; i < t->features; i++) FUZZ_CHECK(t->feature_names[i] != NULL);
        for (int i = 0; i < t->targets; i++) FUZZ_CHECK(t->target_names[i] != NULL);
        if (classify) {
            FUZZ_CHECK(t->y->shape.ndim == 1 && t->y->shape.dim[0] == rows && t->classes >= 1);
            for (int i = 0; i < t->classes; i++) FUZZ_CHECK(t->class_names[i] != NULL);
            for (int64_t i = 0; i < rows; i++)
                FUZZ_CHECK(t->y->data[i] >= 0 && t->y->data[i] < (float)t->classes);
        } else {
            FUZZ_CHECK(t->y->shape.ndim == 2 && t->y->shape.dim[1] == t->targets);
            for (int64_t i = 0; i < rows * t->targets; i++) FUZZ_CHECK(isfinite(t->y->data[i]));
        }
        glia_table_free(t);
    }
    return 0;
}
