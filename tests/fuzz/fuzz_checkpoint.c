/* fuzz_checkpoint.c: resuming from a checkpoint (glia_train_resume): the safetensors file, its
 * metadata (model text, settings, position, generator states, metrics) and the restore, with
 * a tiny in-memory data set so that a checkpoint that loads trains for at most one epoch. */
#include "fuzz.h"

static glia_dataset *train, *test;

static glia_dataset *make_set(int n) {
    glia_tensor *x, *y;
    glia_dataset *d;
    if (glia_tensor_new(&x, 4, (int64_t[]){n, 1, 4, 4}) || glia_tensor_new(&y, 1, (int64_t[]){n}))
        abort();
    for (int i = 0; i < n * 16; i++) x->data[i] = (float)((i * 7) % 11) / 10;
    for (int i = 0; i < n; i++) y->data[i] = (float)(i % 2);
    if (glia_dataset_new(x, y, 2, NULL, &d)) abort();
    return d;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    train = make_set(8);
    test = make_set(4);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write("checkpoint.safetensors", data, size);
    glia_train_options o = {0};
    o.train_set = train;
    o.test_set = test;
    glia_model *m = NULL;
    glia_train_result r;
    glia_status s = glia_train_resume(fuzz_tmpdir(), 1, &o, &m, &r);
    FUZZ_ERR_OK(s);
    if (!s) glia_eval_result_free(&r.test);
    glia_model_free(m);
    return 0;
}
