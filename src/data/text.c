/* text.c: text data sets for sequence models, as token ids with a vocabulary.
 *
 *   chars      a plain text file, one token per byte: a character-level language model's stream
 *   sentences  a CSV of "label","text" records (the movie-review file: labels -1/1, text already
 *              tokenised by spaces, quotes doubled inside a field, records may span lines):
 *              one class label per sentence, words lowercased
 *   tags       one sentence per line of word/TAG tokens (the OANC file): a label per word
 * The vocabulary keeps the vocab - 1 most frequent symbols (ties by byte order), each id by
 * rank; every other symbol maps to the last id, "<other>" (the 1-of-N encoding's "other" index).
 * vocab = 0 keeps every symbol (ids by rank, no "<other>"): word hashing ([wordhash]) reads the
 * words' letters, so no word may be lost to "<other>".
 * Classes are sorted by name. The vocabulary is counted over the whole file: the split between
 * training and validation belongs to the trainer, and a word seen only in held-out sentences
 * gets an id whose embedding is never trained, which is what an unknown word gets anyway. */
#include "../core/internal.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- symbol tables */
typedef struct { char *s; int64_t count; int id; } sym;
typedef struct { sym *v; int64_t n, cap; int64_t *slot; int64_t nslot; } table; /* open addressing */

static uint64_t hash(const char *s, size_t n) { /* FNV-1a */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static void table_free(table *t) {
    for (int64_t i = 0; i < t->n; i++) free(t->v[i].s);
    free(t->v);
    free(t->slot);
}

/* index of symbol s[0..n) (added when absent), -1 when out of memory */
static int64_t table_get(table *t, const char *s, size_t n) {
    if (2 * (t->n + 1) > t->nslot) {
        int64_t ns = t->nslot ? 2 * t->nslot : 1024, *sl = glia__malloc((size_t)ns * sizeof *sl);
        if (!sl) return -1;
        for (int64_t i = 0; i < ns; i++) sl[i] = -1;
        for (int64_t i = 0; i < t->n; i++) {
            uint64_t h = hash(t->v[i].s, strlen(t->v[i].s)) & (uint64_t)(ns - 1);
            while (sl[h] >= 0) h = (h + 1) & (uint64_t)(ns - 1);
            sl[h] = i;
        }
        free(t->slot);
        t->slot = sl;
        t->nslot = ns;
    }
    uint64_t h = hash(s, n) & (uint64_t)(t->nslot - 1);
    for (; t->slot[h] >= 0; h = (h + 1) & (uint64_t)(t->nslot - 1)) {
        const char *o = t->v[t->slot[h]].s;
        if (strlen(o) == n && !memcmp(o, s, n)) return t->slot[h];
    }
    if (t->n == t->cap) {
        int64_t nc = t->cap ? 2 * t->cap : 256;
        sym *nv = glia__realloc(t->v, (size_t)nc * sizeof *nv);
        if (!nv) return -1;
        t->v = nv;
        t->cap = nc;
    }
    char *c = glia__malloc(n + 1);
    if (!c) return -1;
    memcpy(c, s, n);
    c[n] = 0;
    t->v[t->n] = (sym){c, 0, -1};
    t->slot[h] = t->n;
    return t->n++;
}

static int by_count(const void *a, const void *b) {
    const sym *x = *(const sym *const *)a, *y = *(const sym *const *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->s, y->s);
}
static int by_name(const void *a, const void *b) {
    return strcmp((*(const sym *const *)a)->s, (*(const sym *const *)b)->s);
}

/* gives every symbol its id (rank by count, or by name); limit > 0: ids >= limit - 1 become
 * limit - 1 ("<other>"). Writes the names of the ids into *names (count *n). */
static glia_status assign_ids(table *t, int limit, int by_freq, char ***names, int *n) {
    sym **o = glia__malloc((size_t)(t->n ? t->n : 1) * sizeof *o);
    if (!o) return glia__err(GLIA_ENOMEM, "text: out of memory");
    for (int64_t i = 0; i < t->n; i++) o[i] = &t->v[i];
    qsort(o, (size_t)t->n, sizeof *o, by_freq ? by_count : by_name);
    int k = limit > 0 ? limit : (int)t->n;
    char **nm = glia__calloc((size_t)k, sizeof *nm);
    if (!nm) { free(o); return glia__err(GLIA_ENOMEM, "text: out of memory"); }
    for (int i = 0; i < k; i++) {
        const char *s = limit > 0 && i == k - 1 ? "<other>" : i < t->n ? o[i]->s : "<unused>";
        if (!(nm[i] = glia__malloc(strlen(s) + 1))) {
            for (int j = 0; j < i; j++) free(nm[j]);
            free(nm);
            free(o);
            return glia__err(GLIA_ENOMEM, "text: out of memory");
        }
        strcpy(nm[i], s);
    }
    for (int64_t i = 0; i < t->n; i++) o[i]->id = (int)(i < k - (limit > 0) ? i : k - 1);
    free(o);
    *names = nm;
    *n = k;
    return GLIA_OK;
}

/* ---------------------------------------------------------------- readers */
typedef struct { int64_t *tok_sym, ntok, cap; int64_t *off, nseq, ocap; int64_t *lab; } raw;

static int push(int64_t **a, int64_t *n, int64_t *cap, int64_t v) {
    if (*n == *cap) {
        int64_t nc = *cap ? 2 * *cap : 4096;
        int64_t *t = glia__realloc(*a, (size_t)nc * sizeof *t);
        if (!t) return 0;
        *a = t;
        *cap = nc;
    }
    (*a)[(*n)++] = v;
    return 1;
}

void glia_text_free(glia_text_data *d) {
    if (!d) return;
    for (int i = 0; d->symbols && i < d->vocab; i++) free(d->symbols[i]);
    for (int i = 0; d->class_names && i < d->classes; i++) free(d->class_names[i]);
    free(d->symbols);
    free(d->class_names);
    free(d->offset);
    free(d->tokens);
    free(d->labels);
    free(d);
}

glia_status glia_text_load(const char *name, int vocab, glia_text_data **out) {
    if (!name || !out) return glia__err(GLIA_EINVAL, "glia_text_load: NULL argument");
    if (vocab < 0 || vocab == 1)
        return glia__err(GLIA_EINVAL, "glia_text_load: vocab %d must be >= 2, or 0 for every "
                         "symbol", vocab);
    const char *dir = getenv("GLIA_DATA") ? getenv("GLIA_DATA") : "data";
    char path[1200];
    glia_text_kind kind;
    if (!strcmp(name, "moby-dick")) kind = GLIA_TEXT_CHARS, snprintf(path, sizeof path, "%s/text/mobydick.txt", dir);
    else if (!strcmp(name, "movie-reviews")) kind = GLIA_TEXT_SENTENCES, snprintf(path, sizeof path, "%s/text/movie-reviews.csv", dir);
    else if (!strcmp(name, "pos-tags")) kind = GLIA_TEXT_TAGS, snprintf(path, sizeof path, "%s/text/tagged-en-oanc.txt", dir);
    else if (!strncmp(name, "chars:", 6)) kind = GLIA_TEXT_CHARS, snprintf(path, sizeof path, "%s", name + 6);
    else if (!strncmp(name, "sentences:", 10)) kind = GLIA_TEXT_SENTENCES, snprintf(path, sizeof path, "%s", name + 10);
    else if (!strncmp(name, "tags:", 5)) kind = GLIA_TEXT_TAGS, snprintf(path, sizeof path, "%s", name + 5);
    else
        return glia__err(GLIA_EINVAL, "unknown text data set '%s' (known: moby-dick, movie-reviews, "
                         "pos-tags, chars:FILE, sentences:FILE, tags:FILE)", name);
    size_t len;
    char *text;
    glia_status rs = glia__read_file_max(path, (size_t)1 << 31, &text, &len); /* symbol ids are int */
    if (rs && !strchr(name, ':')) /* one of the named sets */
        return glia__err(rs, "%s (scripts/fetch-data text fetches the text data sets)",
                         glia_last_error());
    if (rs) return rs;
    table words = {0}, classes = {0};
    raw r = {0};
    glia_status s = GLIA_OK;
    glia_text_data *d = glia__calloc(1, sizeof *d);
    int oom = !d;
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* UTF-8 byte-order mark */
    if (oom) goto done;
    if (kind == GLIA_TEXT_CHARS) {
        oom = !push(&r.off, &r.nseq, &r.ocap, 0);
        for (; !oom && p < end; p++) {
            int64_t id = table_get(&words, p, 1);
            oom = id < 0 || !push(&r.tok_sym, &r.ntok, &r.cap, id);
            if (!oom) words.v[id].count++;
        }
        oom = oom || !push(&r.off, &r.nseq, &r.ocap, r.ntok);
        r.nseq = 1;
    } else {
        int line = 1;
        oom = !push(&r.off, &r.nseq, &r.ocap, 0);
        r.nseq = 0;
        int64_t lcap = 0, nl = 0;
        char word[256];
        while (!oom && p < end) {
            const char *q = p;
            int64_t start = r.ntok;
            if (kind == GLIA_TEXT_SENTENCES) { /* "label","text" */
                while (q < end && isspace((unsigned char)*q)) line += *q++ == '\n';
                if (q >= end) break;
                const char *lb = q + 1, *le = lb;
                if (*q != '"' || !(le = memchr(lb, '"', (size_t)(end - lb))) || le + 2 >= end ||
                    le[1] != ',' || le[2] != '"') {
                    s = glia__err(GLIA_EINVAL, "%s:%d: expected a record \"label\",\"text\"", path, line);
                    goto done;
                }
                int64_t c = table_get(&classes, lb, (size_t)(le - lb));
                oom = c < 0 || !push(&r.lab, &nl, &lcap, c);
                q = le + 3;
                size_t wn = 0;
                for (;; q++) { /* the quoted text, "" inside it is a quote */
                    if (q >= end) {
                        s = glia__err(GLIA_EINVAL, "%s:%d: a quoted text runs to the end of the file", path, line);
                        goto done;
                    }
                    int closing = *q == '"' && !(q + 1 < end && q[1] == '"');
                    if (closing || isspace((unsigned char)*q)) {
                        if (wn) {
                            int64_t id = table_get(&words, word, wn);
                            oom = oom || id < 0 || !push(&r.tok_sym, &r.ntok, &r.cap, id);
                            if (!oom) words.v[id].count++;
                            wn = 0;
                        }
                        if (*q == '\n') line++;
                        if (closing) { q++; break; }
                        continue;
                    }
                    if (*q == '"') q++; /* a doubled quote */
                    if (wn < sizeof word - 1) word[wn++] = (char)tolower((unsigned char)*q);
                }
                if (r.ntok == start) { /* an empty text: drop the record */
                    nl--;
                    p = q;
                    continue;
                }
            } else { /* word/TAG ... per line */
                const char *e = memchr(q, '\n', (size_t)(end - q));
                if (!e) e = end;
                while (q < e) {
                    while (q < e && isspace((unsigned char)*q)) q++;
                    const char *b = q;
                    while (q < e && !isspace((unsigned char)*q)) q++;
                    if (q == b) break;
                    const char *slash = q - 1;
                    while (slash > b && *slash != '/') slash--;
                    if (slash == b || slash == q - 1) {
                        s = glia__err(GLIA_EINVAL, "%s:%d: token '%.*s' is not word/TAG", path,
                                      line, (int)(q - b) > 60 ? 60 : (int)(q - b), b);
                        goto done;
                    }
                    size_t wn = (size_t)(slash - b) < sizeof word - 1 ? (size_t)(slash - b) : sizeof word - 1;
                    for (size_t i = 0; i < wn; i++) word[i] = (char)tolower((unsigned char)b[i]);
                    int64_t id = table_get(&words, word, wn), c = table_get(&classes, slash + 1, (size_t)(q - slash - 1));
                    oom = id < 0 || c < 0 || !push(&r.tok_sym, &r.ntok, &r.cap, id) ||
                          !push(&r.lab, &nl, &lcap, c);
                    if (oom) break;
                    words.v[id].count++;
                }
                line++;
                q = e < end ? e + 1 : e;
                if (r.ntok == start) { p = q; continue; }
            }
            p = q;
            int64_t nseq1 = r.nseq + 1;
            oom = oom || !push(&r.off, &nseq1, &r.ocap, r.ntok);
            r.nseq++;
        }
    }
    if (oom) goto done;
    if (r.ntok < 2) {
        s = glia__err(GLIA_EINVAL, "%s: no text (%lld tokens)", path, (long long)r.ntok);
        goto done;
    }
    d->kind = kind;
    d->n_seq = r.nseq;
    d->n_tokens = r.ntok;
    if ((s = assign_ids(&words, vocab, 1, &d->symbols, &d->vocab))) goto done;
    if (kind != GLIA_TEXT_CHARS && (s = assign_ids(&classes, 0, 0, &d->class_names, &d->classes))) goto done;
    d->offset = glia__malloc((size_t)(r.nseq + 1) * sizeof *d->offset);
    d->tokens = glia__malloc((size_t)r.ntok * sizeof *d->tokens);
    int64_t nlab = kind == GLIA_TEXT_SENTENCES ? r.nseq : kind == GLIA_TEXT_TAGS ? r.ntok : 0;
    d->labels = nlab ? glia__malloc((size_t)nlab * sizeof *d->labels) : NULL;
    if (!d->offset || !d->tokens || (nlab && !d->labels)) { oom = 1; goto done; }
    memcpy(d->offset, r.off, (size_t)(r.nseq + 1) * sizeof *d->offset);
    for (int64_t i = 0; i < r.ntok; i++) d->tokens[i] = words.v[r.tok_sym[i]].id;
    for (int64_t i = 0; i < nlab; i++) d->labels[i] = classes.v[r.lab[i]].id;
done:
    if (oom) s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    free(text);
    free(r.tok_sym);
    free(r.off);
    free(r.lab);
    table_free(&words);
    table_free(&classes);
    if (s) glia_text_free(d);
    else *out = d;
    return s;
}
