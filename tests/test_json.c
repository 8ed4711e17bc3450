/* test_json.c: the JSON pull parser and string escaper (src/io/json.c): valid documents walked
 * value by value, escapes and numbers, every kind of syntax error with its byte offset, the
 * nesting bound, sticky errors, text without a final NUL, and escape -> parse round trips. */
#include "test.h"
#include "core/internal.h"
#include "io/json.h"
#include <stdlib.h>
#include <string.h>

/* A walk over a malloc'd copy of exactly the text's bytes (no NUL after them), so that ASan sees
 * any read past the end. */
typedef struct {
    glia_json j;
    unsigned char *copy;
} walk;

static glia_json *walk_start(walk *w, const char *text) {
    size_t n = strlen(text);
    w->copy = malloc(n ? n : 1);
    memcpy(w->copy, text, n);
    glia__json_init(&w->j, "doc.json", w->copy, n);
    return &w->j;
}

static void walk_end(walk *w) { free(w->copy); }

TEST(json_walks_a_document) {
    walk w;
    glia_json *j = walk_start(&w, " {\"name\": \"conv\\t1\", \"shape\": [3, 0, 12],\r\n"
                                  " \"extra\": {\"a\": [true, false, null, {}, []]}, \"x\": -1.5e2 }\n");
    char *key = NULL, *str = NULL;
    size_t len = 0, klen = 0;
    uint64_t dims[3];
    int nd = 0, saw_extra = 0;
    double x = 0;
    OK(glia__json_enter(j, '{'));
    while (glia__json_next(j)) {
        OK(glia__json_key(j, &key, &klen));
        if (!strcmp(key, "name")) {
            OK(glia__json_string(j, &str, &len));
        } else if (!strcmp(key, "shape")) {
            OK(glia__json_enter(j, '['));
            while (glia__json_next(j) && nd < 3) OK(glia__json_uint(j, "shape", 100, &dims[nd++]));
        } else if (!strcmp(key, "extra")) {
            saw_extra = 1;
            OK(glia__json_skip(j));
        } else {
            OK(glia__json_number(j, &x));
        }
        free(key);
        key = NULL;
    }
    OK(j->err);
    OK(glia__json_end(j));
    CHECK(str && !strcmp(str, "conv\t1") && len == 6);
    CHECK(nd == 3 && dims[0] == 3 && dims[1] == 0 && dims[2] == 12);
    CHECK(saw_extra && x == -150.0 && j->depth == 0);
    free(str);
    walk_end(&w);
}

/* The string (one JSON string literal) unescaped must be `want` (n bytes). */
static int unescapes_to(const char *text, const char *want, size_t n) {
    walk w;
    glia_json *j = walk_start(&w, text);
    char *s = NULL;
    size_t len = 0;
    int ok = !glia__json_string(j, &s, &len) && !glia__json_end(j) && len == n &&
             !memcmp(s, want, n) && s[n] == 0;
    free(s);
    walk_end(&w);
    return ok;
}

TEST(json_string_escapes) {
    CHECK(unescapes_to("\"\"", "", 0));
    CHECK(unescapes_to("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8));
    CHECK(unescapes_to("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6));
    CHECK(unescapes_to("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4)); /* a surrogate pair */
    CHECK(unescapes_to("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
    CHECK(unescapes_to("\"a\\u0000b\"", "a\0b", 3)); /* a NUL inside: strlen < len tells */
}

/* The one number in text must be `want` exactly (or both NaN-free infinities of one sign). */
static int number_is(const char *text, double want) {
    walk w;
    glia_json *j = walk_start(&w, text);
    double v = 12345;
    int ok = !glia__json_number(j, &v) && !glia__json_end(j) && v == want;
    walk_end(&w);
    return ok;
}

TEST(json_numbers) {
    CHECK(number_is("0", 0.0) && number_is("-0", 0.0) && number_is("7", 7.0));
    CHECK(number_is("0.1", 0.1) && number_is("0.5", 0.5) && number_is("-2.25", -2.25));
    CHECK(number_is("0.0003921568627451", 0.0003921568627451)); /* the short exact path */
    CHECK(number_is("123456789012345678901234567890", 123456789012345678901234567890.0));
    CHECK(number_is("3.14159265358979323846", 3.14159265358979323846)); /* via strtod */
    CHECK(number_is("1e3", 1000.0) && number_is("1E+3", 1000.0) && number_is("-25e-1", -2.5));
    CHECK(number_is("1e400", HUGE_VAL) && number_is("-1e400", -HUGE_VAL));
    CHECK(number_is("1e-400", 0.0));
    /* integers: bounds, sign, fraction */
    walk w;
    uint64_t u = 0;
    glia_json *j = walk_start(&w, "[18446744073709551615, 100, 101]");
    OK(glia__json_enter(j, '['));
    CHECK(glia__json_next(j));
    OK(glia__json_uint(j, "n", UINT64_MAX, &u));
    CHECK(u == UINT64_MAX);
    CHECK(glia__json_next(j));
    OK(glia__json_uint(j, "n", 100, &u));
    CHECK(u == 100 && glia__json_next(j));
    CHECK(glia__json_uint(j, "n", 100, &u) == GLIA_EIO && j->pos == 28);
    CHECK(strstr(glia_last_error(), "a number in n is too large (over 100)"));
    walk_end(&w);
}

/* Walking text generically (glia__json_skip, then the end) must fail at byte `at` with `msg`. */
static int fails_at(const char *text, size_t at, const char *msg, int line) {
    walk w;
    glia_json *j = walk_start(&w, text);
    glia_status s = glia__json_skip(j);
    if (!s) s = glia__json_end(j);
    char want[64];
    snprintf(want, sizeof want, "doc.json: malformed JSON at byte %zu: ", at);
    const char *m = glia_last_error();
    int ok = s == GLIA_EIO && j->err == s && strstr(m, want) == m && strstr(m, msg);
    if (!ok)
        test_fail(__FILE__, line, "'%s': got %s \"%s\", expected byte %zu and \"%s\"", text,
                  glia_status_name(s), s ? m : "", at, msg);
    walk_end(&w);
    return ok;
}
#define FAILS_AT(text, at, msg) do { if (!fails_at(text, at, msg, __LINE__)) return; } while (0)

TEST(json_syntax_errors) {
    FAILS_AT("", 0, "expected a value, found the end of the file");
    FAILS_AT("   ", 3, "expected a value");
    FAILS_AT("[1, 2,]", 6, "expected a value");
    FAILS_AT("[1 2]", 3, "expected ',' or ']'");
    FAILS_AT("{\"a\": 1,}", 8, "expected a key");
    FAILS_AT("{\"a\" 1}", 5, "expected ':'");
    FAILS_AT("{1: 2}", 1, "expected a key");
    FAILS_AT("{\"a\": 1", 7, "expected ',' or '}', found the end of the file");
    FAILS_AT("[1] 2", 4, "unexpected data after the JSON array");
    FAILS_AT("{} {}", 3, "unexpected data after the JSON object");
    FAILS_AT("7 7", 2, "unexpected data after the JSON value");
    /* numbers */
    FAILS_AT("[01]", 2, "expected ',' or ']'");
    FAILS_AT("[+1]", 1, "expected a value");
    FAILS_AT("[.5]", 1, "expected a value");
    FAILS_AT("[1.]", 1, "expected a number, found '1.'");
    FAILS_AT("[1.e5]", 1, "expected a number, found '1.e5'");
    FAILS_AT("[1e]", 1, "expected a number, found '1e'");
    FAILS_AT("[-]", 1, "expected a number, found '-'");
    FAILS_AT("[- 1]", 1, "expected a number");
    FAILS_AT("[NaN]", 1, "expected a value");
    FAILS_AT("[0x10]", 2, "expected ',' or ']'");
    /* literals */
    FAILS_AT("[tru]", 1, "bad literal");
    FAILS_AT("nul", 0, "bad literal");
    FAILS_AT("[True]", 1, "expected a value");
    /* strings */
    FAILS_AT("\"abc", 4, "unterminated string, found the end of the file");
    FAILS_AT("\"ab\\", 4, "unterminated string");
    FAILS_AT("\"a\nb\"", 2, "control character in a string");
    FAILS_AT("\"a\\qb\"", 3, "bad escape '\\q'");
    FAILS_AT("\"\\u12\"", 3, "truncated \\u escape");
    FAILS_AT("\"\\u12g4\"", 3, "bad \\u escape");
    FAILS_AT("\"\\ud800\"", 7, "lone high surrogate");
    FAILS_AT("\"\\ud800\\u0041\"", 13, "high surrogate not followed by a low one");
    FAILS_AT("\"\\udc00\"", 7, "lone low surrogate");
    FAILS_AT("\"a\xff\"", 2, "invalid UTF-8");
    FAILS_AT("\"a\xc0\xaf\"", 2, "invalid UTF-8");       /* overlong '/' */
    FAILS_AT("\"a\xed\xa0\x80\"", 2, "invalid UTF-8");   /* an encoded surrogate */
    FAILS_AT("\"a\xf4\x90\x80\x80\"", 2, "invalid UTF-8"); /* over U+10FFFF */
    FAILS_AT("\"a\xe2\x82\"", 2, "invalid UTF-8");       /* cut short */
    FAILS_AT("[1, \xc3\xa9]", 4, "expected a value");      /* UTF-8 outside a string */
}

TEST(json_nesting_bound) {
    const int max = GLIA_JSON_MAX_DEPTH;
    char *doc = malloc(2 * (size_t)max + 8);
    CHECK(doc);
    memset(doc, '[', (size_t)max);
    memset(doc + max, ']', (size_t)max);
    doc[2 * max] = 0;
    walk w;
    glia_json *j = walk_start(&w, doc);
    glia_status s = glia__json_skip(j);
    if (!s) s = glia__json_end(j);
    walk_end(&w);
    CHECK_MSG(s == GLIA_OK, "%d deep: %s", max, glia_last_error());
    /* one more level: refused where it opens, without recursing further */
    memset(doc, '[', (size_t)max + 1);
    memset(doc + max + 1, ']', (size_t)max + 1);
    doc[2 * max + 2] = 0;
    int ok = fails_at(doc, (size_t)max, "nested too deeply (over 64 levels)", __LINE__);
    free(doc);
    if (!ok) return;
    /* deep objects too, and very deep input fails at the bound, not by running out of stack */
    size_t big = 100000;
    doc = malloc(6 * big + 1);
    CHECK(doc);
    for (size_t i = 0; i < big; i++) memcpy(doc + 6 * i, "{\"a\": ", 6);
    doc[6 * big] = 0;
    ok = fails_at(doc, 6 * (size_t)max, "nested too deeply", __LINE__);
    free(doc);
    if (!ok) return;
}

TEST(json_errors_stick) {
    walk w;
    glia_json *j = walk_start(&w, "[1, x, 3]");
    double v;
    OK(glia__json_enter(j, '['));
    CHECK(glia__json_next(j));
    OK(glia__json_number(j, &v));
    CHECK(glia__json_next(j));
    CHECK(glia__json_number(j, &v) == GLIA_EIO && j->pos == 4);
    char first[256];
    snprintf(first, sizeof first, "%s", glia_last_error());
    /* later calls return the first error and leave its message and position alone */
    CHECK(!glia__json_next(j) && glia__json_peek(j) == -1);
    CHECK(glia__json_number(j, &v) == GLIA_EIO && glia__json_skip(j) == GLIA_EIO);
    CHECK(glia__json_expect(j, ',') == GLIA_EIO && glia__json_end(j) == GLIA_EIO);
    CHECK(glia__json_fail(j, "another") == GLIA_EIO && !strcmp(glia_last_error(), first));
    CHECK(j->pos == 4);
    walk_end(&w);
}

TEST(json_part_of_a_file) {
    /* the safetensors form: offsets in the part and in the file */
    walk w;
    glia_json *j = walk_start(&w, "{\"a\" 1}");
    j->doc = "header JSON";
    j->part = "the header";
    j->base = 8;
    CHECK(glia__json_skip(j) == GLIA_EIO);
    CHECK_MSG(!strcmp(glia_last_error(), "doc.json: malformed header JSON at byte 5 of the "
                      "header (file offset 13): expected ':'"), "%s", glia_last_error());
    walk_end(&w);
    j = walk_start(&w, "{\"a\":");
    j->doc = "header JSON";
    j->part = "the header";
    CHECK(glia__json_skip(j) == GLIA_EIO);
    CHECK_MSG(strstr(glia_last_error(), "expected a value, found the end of the header"), "%s",
              glia_last_error());
    walk_end(&w);
}

TEST(json_text_without_nul) {
    /* the length bounds every read: "12" of "123", a string cut before its quote */
    glia_json j;
    glia__json_init(&j, "cut", "123", 2);
    double v = 0;
    OK(glia__json_number(&j, &v));
    CHECK(v == 12.0);
    OK(glia__json_end(&j));
    glia__json_init(&j, "cut", "\"ab\"", 3);
    CHECK(glia__json_string(&j, NULL, NULL) == GLIA_EIO);
    CHECK(strstr(glia_last_error(), "unterminated string"));
    glia__json_init(&j, "cut", "1.5e3", 4);
    CHECK(glia__json_number(&j, &v) == GLIA_EIO);
    CHECK(strstr(glia_last_error(), "found '1.5e'"));
}

TEST(json_escape_round_trip) {
    const char *cases[] = {"", "plain", "quote \" backslash \\ slash /", "tab\there\nnew\x01\x1f",
                           "caf\xc3\xa9 \xf0\x9f\x98\x80", "\x7f"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = glia__json_escape(NULL, cases[i]);
        char *q = malloc(n + 1);
        CHECK(q);
        size_t n2 = glia__json_escape(q, cases[i]);
        int ok = n2 == n && strlen(q) == n && q[0] == '"' && q[n - 1] == '"' &&
                 n <= 6 * strlen(cases[i]) + 2;
        ok = ok && unescapes_to(q, cases[i], strlen(cases[i]));
        free(q);
        CHECK_MSG(ok, "case %zu", i);
    }
    char q[16];
    glia__json_escape(q, "a\"\x01");
    CHECK(!strcmp(q, "\"a\\\"\\u0001\""));
    CHECK(glia__utf8_bad("ok \xc3\xa9", 5) == 0 && glia__utf8_bad("ab\xff", 3) == 3);
}
