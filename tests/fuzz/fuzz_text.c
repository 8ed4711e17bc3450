/* fuzz_text.c: the text corpus readers (glia_text_load): the first byte picks the reader (chars,
 * sentences "label","text" CSV, word/TAG lines) and a small vocabulary size; the rest is the
 * file. A corpus that loads must be consistent: offsets increasing, every id below vocab, every
 * label below the number of classes. */
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    static const char *const kinds[3] = {"chars:", "sentences:", "tags:"};
    /* vocab 2..64, or 0 (every symbol its own id, no <other>: what word hashing loads) */
    int kind = data[0] % 3, vocab = data[0] / 3 % 65 == 64 ? 0 : 2 + data[0] / 3 % 64;
    const char *path = fuzz_write("corpus.txt", data + 1, size - 1);
    char name[600];
    snprintf(name, sizeof name, "%s%s", kinds[kind], path);
    glia_text_data *d = NULL;
    glia_status s = glia_text_load(name, vocab, &d);
    FUZZ_ERR_OK(s);
    if (!s) {
        FUZZ_CHECK(d->vocab >= 1 && (vocab == 0 || d->vocab <= vocab) && d->n_seq >= 0);
        FUZZ_CHECK(d->offset[0] == 0 && d->offset[d->n_seq] == d->n_tokens);
        for (int64_t i = 0; i < d->n_seq; i++) FUZZ_CHECK(d->offset[i] <= d->offset[i + 1]);
        for (int64_t i = 0; i < d->n_tokens; i++)
            FUZZ_CHECK(d->tokens[i] >= 0 && d->tokens[i] < d->vocab);
        if (d->labels) {
            int64_t nl = d->kind == GLIA_TEXT_SENTENCES ? d->n_seq : d->n_tokens;
            for (int64_t i = 0; i < nl; i++)
                FUZZ_CHECK(d->labels[i] >= 0 && d->labels[i] < d->classes);
        }
        glia_text_free(d);
    }
    return 0;
}
