/* fuzz_json.c: the JSON pull parser (src/io/json.c) on any bytes, walked the way a reader
 * does: every key and string decoded, every number converted. Checked: no crash, leak or read
 * past the input (it is copied to a buffer of exactly its size), an error always says what and
 * where, a document that parses leaves no container open, and each decoded string survives
 * escaping and parsing again unchanged. */
#include "fuzz.h"
#include "io/json.h"

static void round_trip(const char *s, size_t len) {
    if (strlen(s) != len) return; /* a \u0000 inside: the escaper takes C strings */
    size_t n = glia__json_escape(NULL, s);
    char *q = malloc(n + 1);
    FUZZ_CHECK(q);
    FUZZ_CHECK(glia__json_escape(q, s) == n);
    glia_json j;
    glia__json_init(&j, "escaped", q, n);
    char *back = NULL;
    size_t blen = 0;
    FUZZ_CHECK(glia__json_string(&j, &back, &blen) == GLIA_OK && glia__json_end(&j) == GLIA_OK);
    FUZZ_CHECK(blen == len && !memcmp(back, s, len));
    free(back);
    free(q);
}

/* A key (with its ':') or a string, decoded, then through round_trip. */
static glia_status decode(glia_json *j, int key) {
    char *s = NULL;
    size_t len = 0;
    if (key ? glia__json_key(j, &s, &len) : glia__json_string(j, &s, &len)) return j->err;
    round_trip(s, len);
    free(s);
    return GLIA_OK;
}

/* One value, decoded all the way down. */
static glia_status walk(glia_json *j) {
    int c = glia__json_peek(j);
    if (c == '{' || c == '[') {
        if (glia__json_enter(j, (char)c)) return j->err;
        while (glia__json_next(j))
            if ((c == '{' && decode(j, 1)) || walk(j)) break;
        return j->err;
    }
    if (c == '"') return decode(j, 0);
    if (c == '-' || (c >= '0' && c <= '9')) {
        double v;
        return glia__json_number(j, &v);
    }
    return glia__json_skip(j); /* literals, and the errors */
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy);
    if (size) memcpy(copy, data, size);
    glia_json j;
    glia__json_init(&j, "fuzz.json", copy, size);
    glia_status s = walk(&j);
    if (!s) s = glia__json_end(&j);
    FUZZ_ERR_OK(s);
    if (s == GLIA_EIO) FUZZ_CHECK(strstr(glia_last_error(), "fuzz.json: malformed JSON at byte "));
    if (!s) FUZZ_CHECK(j.depth == 0);
    /* the generic skip agrees with the walk */
    glia__json_init(&j, "fuzz.json", copy, size);
    glia_status s2 = glia__json_skip(&j);
    if (!s2) s2 = glia__json_end(&j);
    FUZZ_CHECK((s == GLIA_OK) == (s2 == GLIA_OK) || s == GLIA_ENOMEM || s2 == GLIA_ENOMEM);
    free(copy);
    return 0;
}
