/* fuzz_model.c: the model text parser (glia_model_parse). A model that parses must write back
 * canonical text that parses again to the same canonical text. */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    glia_model *m = NULL;
    glia_status s = glia_model_parse(text, "fuzz.cfg", 1, 1, &m);
    FUZZ_ERR_OK(s);
    if (!s) {
        char *a = NULL, *b = NULL;
        glia_model *m2 = NULL;
        if (!glia_model_to_text(m, &a)) {
            s = glia_model_parse(a, "canonical.cfg", 1, 1, &m2);
            if (s != GLIA_ENOMEM) FUZZ_CHECK(s == GLIA_OK);
            if (!s && !glia_model_to_text(m2, &b)) FUZZ_CHECK(strcmp(a, b) == 0);
        }
        free(a);
        free(b);
        glia_model_free(m2);
    }
    glia_model_free(m);
    free(text);
    return 0;
}
