/* cfg.c: the section/key syntax of glia's model text. */
#include "cfg.h"
#include "../core/internal.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *b, const char *e) {
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    char *s = glia__malloc((size_t)(e - b) + 1);
    if (s) {
        memcpy(s, b, (size_t)(e - b));
        s[e - b] = 0;
    }
    return s;
}

void cfg_free(cfg *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        for (int k = 0; k < c->sec[i].n_kv; k++) {
            free(c->sec[i].kv[k].key);
            free(c->sec[i].kv[k].value);
        }
        free(c->sec[i].kv);
        free(c->sec[i].type);
    }
    free(c->sec);
    free(c->filename);
    free(c);
}

cfg_kv *cfg_find(cfg_section *s, const char *key) {
    for (int k = 0; k < s->n_kv; k++)
        if (!strcmp(s->kv[k].key, key)) return &s->kv[k];
    return NULL;
}

static int valid_word(const char *s) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-') return 0;
    return 1;
}

glia_status cfg_parse(const char *text, const char *filename, cfg **out) {
    if (!text || !out) return glia__err(GLIA_EINVAL, "cfg_parse: NULL argument");
    const char *fn = filename ? filename : "<text>";
    cfg *c = glia__calloc(1, sizeof *c);
    if (!c || !(c->filename = glia__malloc(strlen(fn) + 1))) {
        free(c);
        return glia__err(GLIA_ENOMEM, "%s: out of memory", fn);
    }
    strcpy(c->filename, fn);
    /* a UTF-8 byte-order mark (what some Windows editors put first) is not part of the text */
    if (!strncmp(text, "\xEF\xBB\xBF", 3)) text += 3;
    glia_status st = GLIA_OK;
    int line = 0;
    for (const char *p = text; *p && !st;) {
        const char *eol = strchr(p, '\n');
        if (!eol) eol = p + strlen(p);
        line++;
        const char *end = p;
        while (end < eol && *end != '#' && *end != ';') end++;
        char *l = dup_range(p, end);
        if (!l) { st = glia__err(GLIA_ENOMEM, "%s:%d: out of memory", fn, line); break; }
        for (char *q = l; *q; q++)
            if ((unsigned char)*q < 32 && *q != '\t') {
                st = glia__err(GLIA_EINVAL, "%s:%d: control character 0x%02x in the line", fn,
                               line, (unsigned char)*q);
                break;
            }
        if (st) { free(l); break; }
        if (!*l) {
        } else if (l[0] == '[') {
            char *close = strchr(l, ']');
            if (!close || close[1])
                st = glia__err(GLIA_EINVAL, "%s:%d: a section header is '[type]' alone on its line, "
                               "not '%.60s'", fn, line, l);
            else {
                char *type = dup_range(l + 1, close);
                if (!type) {
                    st = glia__err(GLIA_ENOMEM, "%s:%d: out of memory", fn, line);
                } else if (!valid_word(type)) {
                    st = glia__err(GLIA_EINVAL, "%s:%d: '%.60s' is not a section type", fn, line, l);
                    free(type);
                } else {
                    if (c->n == c->cap) {
                        int cap = c->cap ? 2 * c->cap : 16;
                        cfg_section *ns = glia__realloc(c->sec, (size_t)cap * sizeof *ns);
                        if (!ns) { free(type); free(l); cfg_free(c); return glia__err(GLIA_ENOMEM, "%s: out of memory", fn); }
                        c->sec = ns;
                        c->cap = cap;
                    }
                    c->sec[c->n++] = (cfg_section){.type = type, .line = line};
                }
            }
        } else {
            char *eq = strchr(l, '=');
            if (!eq)
                st = glia__err(GLIA_EINVAL, "%s:%d: expected 'key = value' or '[section]', got '%.60s'",
                               fn, line, l);
            else if (c->n == 0)
                st = glia__err(GLIA_EINVAL, "%s:%d: '%.60s' comes before any [section]", fn, line, l);
            else {
                cfg_section *s = &c->sec[c->n - 1];
                char *key = dup_range(l, eq), *val = dup_range(eq + 1, l + strlen(l));
                if (!key || !val) st = glia__err(GLIA_ENOMEM, "%s:%d: out of memory", fn, line);
                else if (!valid_word(key))
                    st = glia__err(GLIA_EINVAL, "%s:%d: '%.60s' is not a key name", fn, line, key);
                else if (!*val)
                    st = glia__err(GLIA_EINVAL, "%s:%d: key '%s' has no value", fn, line, key);
                else if (cfg_find(s, key))
                    st = glia__err(GLIA_EINVAL, "%s:%d: key '%s' given twice in [%s] (line %d first)",
                                   fn, line, key, s->type, cfg_find(s, key)->line);
                else if (s->n_kv == s->cap_kv) {
                    int cap = s->cap_kv ? 2 * s->cap_kv : 8;
                    cfg_kv *nk = glia__realloc(s->kv, (size_t)cap * sizeof *nk);
                    if (!nk) st = glia__err(GLIA_ENOMEM, "%s:%d: out of memory", fn, line);
                    else s->kv = nk, s->cap_kv = cap;
                }
                if (!st) {
                    s->kv[s->n_kv++] = (cfg_kv){.key = key, .value = val, .line = line};
                } else {
                    free(key);
                    free(val);
                }
            }
        }
        free(l);
        p = *eol ? eol + 1 : eol;
    }
    if (!st && c->n == 0) st = glia__err(GLIA_EINVAL, "%s: no sections (a model starts with [net])", fn);
    if (st) {
        cfg_free(c);
        return st;
    }
    *out = c;
    return GLIA_OK;
}
