/* json.h: glia's one JSON reader, and the string escaping its writers share (internal).
 *
 * A pull parser over text in memory: the caller walks the document in the order its format
 * expects, asking for an object, a key, a string, a number, so that a format's own rules
 * (safetensors' header, the MNIST digit files) stay in its file and nothing is built that the
 * caller does not keep (the digit files hold millions of numbers).
 *
 * Strict (RFC 8259): UTF-8 in strings, valid escapes (surrogate pairs joined, no lone
 * surrogates), no raw control characters in strings, numbers without leading zeros, '+' or a
 * bare '.', no trailing commas, nothing but blanks after the top value. Bounded: containers
 * nest at most GLIA_JSON_MAX_DEPTH deep (so the recursive skip cannot exhaust the stack) and
 * every read checks the length first; the text need not be NUL-terminated.
 *
 * Errors: the first one sticks in j->err (its message set by glia__err: "PATH: malformed JSON
 * at byte K: what"), and every later call returns it at once, so a walk may check once at the
 * end of a loop. Walking an object:
 *
 *     if (glia__json_enter(j, '{')) return j->err;
 *     while (glia__json_next(j)) {
 *         if (glia__json_key(j, &key, NULL)) return j->err;
 *         ... read or glia__json_skip the value ...
 *     }
 *     if (j->err) return j->err;      (glia__json_next returns 0 on an error too)
 */
#ifndef GLIA_IO_JSON_H
#define GLIA_IO_JSON_H

#include "glia.h"
#include <stddef.h>
#include <stdint.h>

#define GLIA_JSON_MAX_DEPTH 64

typedef struct glia_json {
    const unsigned char *s;
    size_t n, pos;        /* the text, its length, the read position */
    const char *path;     /* the file, named in every message */
    const char *doc;      /* what the text is, in messages: "JSON" unless set ("header JSON") */
    const char *part;     /* NULL, or the part of the file the text is ("the header"): messages
                             then also give the file offset, base + K */
    size_t base;
    glia_status err;      /* GLIA_OK until the first error */
    int depth;            /* containers open */
    int first;            /* the innermost container was just entered (glia__json_next) */
    char top;             /* the first container's opening bracket, for glia__json_end */
    char close[GLIA_JSON_MAX_DEPTH]; /* '}' or ']' for each open container */
} glia_json;

/* Starts a walk over len bytes of text from the file path (both kept, not copied). */
void glia__json_init(glia_json *j, const char *path, const void *text, size_t len);

/* The next non-blank byte (blanks are skipped), or -1 at the end or after an error. */
static inline int glia__json_peek(glia_json *j) {
    while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\n' ||
                             j->s[j->pos] == '\r' || j->s[j->pos] == '\t'))
        j->pos++;
    return j->err || j->pos >= j->n ? -1 : j->s[j->pos];
}

/* An error at j->pos, printf-style ("expected ':'"), made the sticky one; returns it. */
glia_status glia__json_fail(glia_json *j, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Makes s, whose message the caller set with glia__err, the sticky error; returns it. */
glia_status glia__json_stop(glia_json *j, glia_status s);

/* 1 when another member (element) of the innermost container follows, having consumed the ','
 * before it; 0 when the container closed here (consumed) or on an error. Inline: it runs once
 * per number of the digit files. */
static inline int glia__json_next(glia_json *j) {
    int c = glia__json_peek(j);
    if (j->err || !j->depth) return 0;
    char close = j->close[j->depth - 1];
    if (c == (unsigned char)close) {
        j->pos++;
        j->depth--;
        j->first = 0;
        return 0;
    }
    if (j->first) { /* the first member: whatever is here, its reader checks */
        j->first = 0;
        return 1;
    }
    if (c == ',') {
        j->pos++;
        return 1;
    }
    glia__json_fail(j, "expected ',' or '%c'", close);
    return 0;
}

/* Consumes the byte c after blanks, or fails with "expected 'c'". */
glia_status glia__json_expect(glia_json *j, char c);
/* Opens an object ('{') or an array ('['); fails past GLIA_JSON_MAX_DEPTH. */
glia_status glia__json_enter(glia_json *j, char open);
/* An object member's key and the ':' after it; key NULL: checked and skipped. */
glia_status glia__json_key(glia_json *j, char **key, size_t *len);
/* A string, unescaped to UTF-8 in a glia__malloc'd, NUL-terminated *out of *len bytes (len may
 * be NULL; a \u0000 inside makes strlen(*out) < *len, which callers of names refuse); out NULL:
 * checked and skipped. */
glia_status glia__json_string(glia_json *j, char **out, size_t *len);
/* A number, as the nearest double (v NULL: checked and skipped). Magnitudes beyond a double's
 * range become +-inf or 0, as strtod gives them; range rules are the caller's. */
glia_status glia__json_number(glia_json *j, double *v);
/* An integer 0..max written without sign, fraction or exponent (shape entries, offsets); what
 * names it in messages ("shape"). */
glia_status glia__json_uint(glia_json *j, const char *what, uint64_t max, uint64_t *v);
/* Any one value, checked and skipped (nesting bounded as in glia__json_enter). */
glia_status glia__json_skip(glia_json *j);
/* Only blanks remain after the top value. */
glia_status glia__json_end(glia_json *j);

/* 0 if the n bytes at s are valid UTF-8 (no overlong forms, no surrogates, <= U+10FFFF), else
 * the offset of the first bad byte + 1. */
size_t glia__utf8_bad(const void *s, size_t n);

/* s as a quoted JSON string ('"', '\' and control characters escaped, other bytes as they are)
 * into out, NUL-terminated; out NULL: only measured. Returns its length without the NUL, at
 * most 6 strlen(s) + 2. */
size_t glia__json_escape(char *out, const char *s);

#endif
