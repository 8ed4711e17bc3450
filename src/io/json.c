/* json.c: the JSON pull parser and string escaper of json.h. */
#include "json.h"
#include "../core/internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void glia__json_init(glia_json *j, const char *path, const void *text, size_t len) {
    memset(j, 0, sizeof *j);
    j->s = text;
    j->n = len;
    j->path = path;
    j->doc = "JSON";
}

glia_status glia__json_fail(glia_json *j, const char *fmt, ...) {
    if (j->err) return j->err;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *part = j->part ? j->part : "the file";
    const char *end = j->pos >= j->n ? ", found the end of " : "";
    if (j->part)
        j->err = glia__err(GLIA_EIO, "%s: malformed %s at byte %zu of %s (file offset %zu): %s%s%s",
                           j->path, j->doc, j->pos, part, j->base + j->pos, msg, end,
                           *end ? part : "");
    else
        j->err = glia__err(GLIA_EIO, "%s: malformed %s at byte %zu: %s%s%s", j->path, j->doc,
                           j->pos, msg, end, *end ? part : "");
    return j->err;
}

glia_status glia__json_stop(glia_json *j, glia_status s) {
    if (!j->err) j->err = s;
    return j->err;
}

glia_status glia__json_expect(glia_json *j, char c) {
    if (glia__json_peek(j) != (unsigned char)c) return glia__json_fail(j, "expected '%c'", c);
    j->pos++;
    return GLIA_OK;
}

glia_status glia__json_enter(glia_json *j, char open) {
    if (glia__json_expect(j, open)) return j->err;
    if (j->depth == GLIA_JSON_MAX_DEPTH) {
        j->pos--;
        return glia__json_fail(j, "values nested too deeply (over %d levels)", GLIA_JSON_MAX_DEPTH);
    }
    if (!j->depth && !j->top) j->top = open;
    j->close[j->depth++] = open == '{' ? '}' : ']';
    j->first = 1;
    return GLIA_OK;
}

glia_status glia__json_key(glia_json *j, char **key, size_t *len) {
    if (glia__json_peek(j) != '"') return glia__json_fail(j, "expected a key (a string)");
    if (glia__json_string(j, key, len)) return j->err;
    if (glia__json_expect(j, ':')) {
        if (key) {
            free(*key);
            *key = NULL;
        }
    }
    return j->err;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0; /* overlong */
        if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90; /* overlong */
        if (c == 0xF4) hi = 0x8F; /* over U+10FFFF */
    } else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return len;
}

size_t glia__utf8_bad(const void *s, size_t n) {
    const unsigned char *b = s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(b + i, n - i);
        if (!k) return i + 1;
        i += k;
    }
    return 0;
}

static glia_status read_hex4(glia_json *j, unsigned *out) {
    if (j->n - j->pos < 4) return glia__json_fail(j, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = j->s[j->pos + (size_t)i];
        int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (h < 0) return glia__json_fail(j, "bad \\u escape");
        v = v * 16 + (unsigned)h;
    }
    j->pos += 4;
    *out = v;
    return GLIA_OK;
}

/* The code point of a \u escape (j->pos just after the 'u'), a surrogate pair joined. */
static glia_status read_u_escape(glia_json *j, unsigned *cp) {
    if (read_hex4(j, cp)) return j->err;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return glia__json_fail(j, "lone low surrogate in a \\u escape");
    if (*cp < 0xD800 || *cp > 0xDBFF) return GLIA_OK;
    unsigned lo;
    if (j->n - j->pos < 2 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u')
        return glia__json_fail(j, "lone high surrogate in a \\u escape");
    j->pos += 2;
    if (read_hex4(j, &lo)) return j->err;
    if (lo < 0xDC00 || lo > 0xDFFF)
        return glia__json_fail(j, "high surrogate not followed by a low one");
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
    return GLIA_OK;
}

static size_t put_utf8(char *b, unsigned cp) {
    if (cp < 0x80) { b[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

glia_status glia__json_string(glia_json *j, char **out, size_t *len) {
    if (glia__json_expect(j, '"')) return j->err;
    char *buf = NULL;
    if (out) {
        /* the unescaped string is never longer than its text: an escape of 2, 6 or 12 bytes
         * gives 1 to 4 */
        size_t end = j->pos;
        while (end < j->n && j->s[end] != '"') end += j->s[end] == '\\' ? 2 : 1;
        buf = glia__malloc((end < j->n ? end : j->n) - j->pos + 1);
        if (!buf)
            return glia__json_stop(j, glia__err(GLIA_ENOMEM, "%s: out of memory reading the %s",
                                                j->path, j->doc));
    }
    size_t k = 0;
    for (;;) {
        if (j->pos >= j->n) { glia__json_fail(j, "unterminated string"); break; }
        unsigned c = j->s[j->pos];
        if (c == '"') { j->pos++; break; }
        if (c < 0x20) { glia__json_fail(j, "control character in a string"); break; }
        if (c >= 0x80) {
            size_t L = utf8_seq(j->s + j->pos, j->n - j->pos);
            if (!L) { glia__json_fail(j, "invalid UTF-8 in a string"); break; }
            if (buf) memcpy(buf + k, j->s + j->pos, L), k += L;
            j->pos += L;
            continue;
        }
        if (c != '\\') {
            if (buf) buf[k++] = (char)c;
            j->pos++;
            continue;
        }
        if (++j->pos >= j->n) { glia__json_fail(j, "unterminated string"); break; }
        c = j->s[j->pos++];
        static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
        const char *simple = c ? strchr(esc_in, (int)c) : NULL;
        if (simple) {
            if (buf) buf[k++] = esc_out[simple - esc_in];
            continue;
        }
        if (c != 'u') {
            j->pos--;
            glia__json_fail(j, "bad escape '\\%c' in a string", c >= 0x20 && c < 0x7F ? (char)c : '?');
            break;
        }
        unsigned cp;
        if (read_u_escape(j, &cp)) break;
        if (buf) k += put_utf8(buf + k, cp);
    }
    if (j->err) {
        free(buf);
        return j->err;
    }
    if (buf) {
        buf[k] = 0;
        *out = buf;
        if (len) *len = k;
    }
    return GLIA_OK;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* The value of the number s[0..n) (already checked) by strtod, on a NUL-terminated copy (the
 * text need not end in a NUL, and a byte after the number could extend it, as in "0x1"); 0 on
 * failure (out of memory, or a locale whose decimal point is not '.'). */
static int strtod_value(const unsigned char *s, size_t n, double *value) {
    char small[64], *copy = n < sizeof small ? small : glia__malloc(n + 1);
    if (!copy) return 0;
    memcpy(copy, s, n);
    copy[n] = 0;
    char *e = NULL;
    *value = strtod(copy, &e);
    int ok = e == copy + n;
    if (copy != small) free(copy);
    return ok;
}

/* One pass over the number checks JSON's grammar and gathers the digits of a short decimal,
 * whose value is then exact by hand (the digit files hold millions of them); the rest go to
 * strtod. */
glia_status glia__json_number(glia_json *j, double *v) {
    int c = glia__json_peek(j);
    if (c != '-' && !is_digit(c)) return glia__json_fail(j, "expected a number");
    const unsigned char *s = j->s;
    size_t n = j->n, i = j->pos;
    int neg = s[i] == '-';
    i += (size_t)neg;
    uint64_t mant = 0;
    int sig = 0, frac = 0, simple = 1; /* significant digits, digits after the point, fits */
    if (i < n && s[i] == '0') i++;
    else if (i < n && is_digit(s[i]))
        for (; i < n && is_digit(s[i]); i++)
            if (sig < 18) { mant = mant * 10 + (uint64_t)(s[i] - '0'); sig++; } else simple = 0;
    else goto bad;
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i])) goto bad;
        for (; i < n && is_digit(s[i]); i++)
            if (sig < 18) { mant = mant * 10 + (uint64_t)(s[i] - '0'); sig += mant != 0; frac++; }
            else simple = 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        simple = 0;
        if (++i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !is_digit(s[i])) goto bad;
        while (i < n && is_digit(s[i])) i++;
    }
    if (v && simple && sig <= 15 && frac <= 22) {
        /* both operands are exact doubles, so the quotient is correctly rounded */
        static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        double x = (double)mant / p10[frac];
        *v = neg ? -x : x;
    } else if (v && !strtod_value(s + j->pos, i - j->pos, v)) {
        return glia__json_fail(j, "cannot convert the number '%.*s'",
                               (int)(i - j->pos > 40 ? 40 : i - j->pos), (const char *)s + j->pos);
    }
    j->pos = i;
    return GLIA_OK;
bad:; /* show what is there: up to 20 bytes of number-like text */
    size_t k = j->pos;
    while (k < n && k - j->pos < 20 && s[k] && strchr("0123456789+-.eE", s[k])) k++;
    return glia__json_fail(j, "expected a number, found '%.*s'", (int)(k - j->pos),
                           (const char *)s + j->pos);
}

glia_status glia__json_uint(glia_json *j, const char *what, uint64_t max, uint64_t *out) {
    int c = glia__json_peek(j);
    if (c == '-') return glia__json_fail(j, "%s must not be negative", what);
    if (!is_digit(c)) return glia__json_fail(j, "expected a non-negative integer in %s", what);
    size_t start = j->pos;
    uint64_t v = 0;
    while (j->pos < j->n && is_digit(j->s[j->pos])) {
        unsigned d = j->s[j->pos] - '0';
        if (d > max || v > (max - d) / 10) { /* v * 10 + d > max, without overflow */
            j->pos = start;
            return glia__json_fail(j, "a number in %s is too large (over %llu)", what,
                                   (unsigned long long)max);
        }
        v = v * 10 + d;
        j->pos++;
    }
    if (j->s[start] == '0' && j->pos - start > 1) {
        j->pos = start;
        return glia__json_fail(j, "a number with a leading zero in %s", what);
    }
    if (j->pos < j->n && (j->s[j->pos] == '.' || j->s[j->pos] == 'e' || j->s[j->pos] == 'E'))
        return glia__json_fail(j, "%s must hold integers", what);
    *out = v;
    return GLIA_OK;
}

glia_status glia__json_skip(glia_json *j) {
    int c = glia__json_peek(j);
    if (c == '{' || c == '[') {
        if (glia__json_enter(j, (char)c)) return j->err;
        while (glia__json_next(j))
            if ((c == '{' && glia__json_key(j, NULL, NULL)) || glia__json_skip(j)) break;
        return j->err;
    }
    if (c == '"') return glia__json_string(j, NULL, NULL);
    if (c == 't' || c == 'f' || c == 'n') {
        const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        size_t L = strlen(word);
        if (j->n - j->pos < L || memcmp(j->s + j->pos, word, L))
            return glia__json_fail(j, "bad literal (true, false or null expected)");
        j->pos += L;
        return GLIA_OK;
    }
    if (c == '-' || is_digit(c)) return glia__json_number(j, NULL);
    return glia__json_fail(j, "expected a value");
}

glia_status glia__json_end(glia_json *j) {
    if (glia__json_peek(j) != -1)
        return glia__json_fail(j, "unexpected data after the JSON %s",
                               j->top == '{' ? "object" : j->top == '[' ? "array" : "value");
    return j->err;
}

size_t glia__json_escape(char *out, const char *s) {
    size_t k = 0;
    if (out) out[k] = '"';
    k++;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        size_t L = 1;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            L = 2;
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            L = 6;
        } else {
            esc[0] = (char)*p;
        }
        if (out) memcpy(out + k, esc, L);
        k += L;
    }
    if (out) {
        out[k] = '"';
        out[k + 1] = 0;
    }
    return k + 1;
}
