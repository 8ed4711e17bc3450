/* pairs.c: sequence-to-sequence data: one pair per line, "source<TAB>target", each side
 * symbols separated by spaces ("k n i g h t<TAB>N AY1 T"). Named sets: "cmudict" is
 * $GLIA_DATA/cmudict/g2p.tsv (scripts/fetch-data cmudict); "pairs:FILE" any file.
 *
 * The split is fixed by the pair's source text alone, so every run, machine and model gets the
 * same one: h = FNV-1a 64 of the source side's bytes; h mod 20 = 0: test (5%), = 1: validation
 * (5%), else training. Vocabularies are the training pairs' symbols in byte order: source id 0
 * is "<unk>" (a symbol never seen in training), then the symbols from 1; target ids 0 "<s>",
 * 1 "</s>" (GLIA_SEQ2SEQ_BOS, _EOS), then the symbols from 2; a target symbol not seen in
 * training is dropped from a validation or test target (it cannot be predicted anyway). */
#include "../core/internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t glia_pairs_hash(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

void glia_pairs_free(glia_pairs *p) {
    if (!p) return;
    free(p->src_off);
    free(p->tgt_off);
    free(p->src_ids);
    free(p->tgt_ids);
    free(p->split);
    for (int i = 0; i < p->src_vocab; i++) free(p->src_sym[i]);
    for (int i = 0; i < p->tgt_vocab; i++) free(p->tgt_sym[i]);
    free(p->src_sym);
    free(p->tgt_sym);
    free(p->text);
    free(p);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* the distinct strings of v[0..n) (sorted in place), after `first` specials, as owned copies */
static char **vocab_of(char **v, int64_t n, const char *const *first, int n_first, int *out_n) {
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    int64_t u = 0;
    for (int64_t i = 0; i < n; i++)
        if (!i || strcmp(v[i], v[i - 1])) u++;
    char **w = glia__calloc((size_t)(u + n_first), sizeof *w);
    if (!w) return NULL;
    int k = 0;
    for (int i = 0; i < n_first; i++) w[k++] = glia__strdup(first[i]);
    for (int64_t i = 0; i < n; i++)
        if (!i || strcmp(v[i], v[i - 1])) w[k++] = glia__strdup(v[i]);
    *out_n = k;
    for (int i = 0; i < k; i++)
        if (!w[i]) {
            for (int j = 0; j < k; j++) free(w[j]);
            free(w);
            return NULL;
        }
    return w;
}

static int find_sym(char *const *v, int n, int from, const char *s) {
    int lo = from, hi = n - 1; /* sorted from `from` on */
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(v[mid], s);
        if (!c) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

int glia_pairs_source_id(const glia_pairs *p, const char *sym) {
    int i = find_sym(p->src_sym, p->src_vocab, 1, sym);
    return i < 0 ? 0 : i;
}

/* the symbols of one side: tokens at white space, NUL-terminated in place */
static int tokens(char *s, char **out, int max) {
    int n = 0;
    while (*s) {
        while (*s == ' ') *s++ = 0;
        if (!*s) break;
        if (n < max) out[n] = s;
        n++;
        while (*s && *s != ' ') s++;
    }
    return n;
}

glia_status glia_pairs_load(const char *name, glia_pairs **out) {
    if (!name || !out) return glia__err(GLIA_EINVAL, "glia_pairs_load: NULL argument");
    char path[1024];
    const char *dir = getenv("GLIA_DATA") ? getenv("GLIA_DATA") : "data";
    if (!strncmp(name, "pairs:", 6)) snprintf(path, sizeof path, "%s", name + 6);
    else if (!strcmp(name, "cmudict")) snprintf(path, sizeof path, "%s/cmudict/g2p.tsv", dir);
    else return glia__err(GLIA_EINVAL, "%s: not a sequence-to-sequence data set (cmudict or "
                          "pairs:FILE, lines \"source<TAB>target\")", name);
    glia_pairs *p = glia__calloc(1, sizeof *p);
    if (!p) return glia__err(GLIA_ENOMEM, "%s: out of memory", path);
    size_t len;
    glia_status s = glia__read_file_max(path, (size_t)1 << 30, &p->text, &len);
    if (s) {
        free(p);
        return glia__err(s, "%s (scripts/fetch-data cmudict writes %s/cmudict/g2p.tsv)",
                         glia_last_error(), dir);
    }
    /* pass 1: lines, symbols */
    int64_t lines = 1, syms = 0;
    for (size_t i = 0; i < len; i++) lines += p->text[i] == '\n', syms += p->text[i] == ' ' || p->text[i] == '\t';
    syms += 2 * lines;
    char **src = glia__malloc((size_t)syms * sizeof *src), **tgt = glia__malloc((size_t)syms * sizeof *tgt);
    char **tr_s = glia__malloc((size_t)syms * sizeof *tr_s), **tr_t = glia__malloc((size_t)syms * sizeof *tr_t);
    p->src_off = glia__malloc((size_t)(lines + 1) * sizeof *p->src_off);
    p->tgt_off = glia__malloc((size_t)(lines + 1) * sizeof *p->tgt_off);
    p->split = glia__malloc((size_t)lines + 1);
    p->src_ids = glia__malloc((size_t)syms * sizeof *p->src_ids);
    p->tgt_ids = glia__malloc((size_t)syms * sizeof *p->tgt_ids);
    if (!src || !tgt || !tr_s || !tr_t || !p->src_off || !p->tgt_off || !p->split || !p->src_ids || !p->tgt_ids) {
        s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    int64_t ns = 0, nt = 0, n_trs = 0, n_trt = 0;
    int line_no = 0;
    p->src_off[0] = p->tgt_off[0] = 0;
    for (char *l = p->text; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl) *nl = 0;
        line_no++;
        size_t ll = strlen(l);
        if (ll && l[ll - 1] == '\r') l[--ll] = 0;
        if (ll && l[0] != '#') {
            char *tab = strchr(l, '\t');
            if (!tab) {
                s = glia__err(GLIA_EINVAL, "%s:%d: expected \"source<TAB>target\"", path, line_no);
                goto done;
            }
            *tab = 0;
            const uint64_t h = glia_pairs_hash(l, strlen(l)) % 20;
            int a = tokens(l, src + ns, (int)(syms - ns)), b = tokens(tab + 1, tgt + nt, (int)(syms - nt));
            if (!a || !b) {
                s = glia__err(GLIA_EINVAL, "%s:%d: an empty %s", path, line_no, a ? "target" : "source");
                goto done;
            }
            p->split[p->n] = h == 0 ? 2 : h == 1 ? 1 : 0;
            if (!p->split[p->n]) {
                memcpy(tr_s + n_trs, src + ns, (size_t)a * sizeof *src);
                memcpy(tr_t + n_trt, tgt + nt, (size_t)b * sizeof *tgt);
                n_trs += a;
                n_trt += b;
            }
            ns += a;
            nt += b;
            p->n++;
            p->src_off[p->n] = (int)ns;
            p->tgt_off[p->n] = (int)nt;
        }
        l = nl ? nl + 1 : NULL;
    }
    if (!n_trs) {
        s = glia__err(GLIA_EINVAL, "%s: no training pairs", path);
        goto done;
    }
    static const char *const sfirst[] = {"<unk>"}, *const tfirst[] = {"<s>", "</s>"};
    if (!(p->src_sym = vocab_of(tr_s, n_trs, sfirst, 1, &p->src_vocab)) ||
        !(p->tgt_sym = vocab_of(tr_t, n_trt, tfirst, 2, &p->tgt_vocab))) {
        s = glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int64_t i = 0; i < ns; i++) p->src_ids[i] = glia_pairs_source_id(p, src[i]);
    /* targets: unseen symbols dropped (validation and test only) */
    int64_t k = 0;
    for (int i = 0; i < p->n; i++) {
        int64_t a = p->tgt_off[i], b = p->tgt_off[i + 1];
        p->tgt_off[i] = (int)k;
        for (int64_t j = a; j < b; j++) {
            int id = find_sym(p->tgt_sym, p->tgt_vocab, 2, tgt[j]);
            if (id >= 0) p->tgt_ids[k++] = id;
        }
    }
    p->tgt_off[p->n] = (int)k;
done:
    free(src);
    free(tgt);
    free(tr_s);
    free(tr_t);
    if (s) {
        glia_pairs_free(p);
        return s;
    }
    *out = p;
    return GLIA_OK;
}
