/* vocab_file.c: reading the vocab.txt that glia train writes (src/train/task_text.c): one
 * symbol per line, a character or a word, with \n \t \\ and \xHH escaped. */
#include "cli.h"
#include "core/internal.h" /* glia__read_file, glia__err */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* one escaped line [p, end) into word, unescaped and cut at VOCAB_WORD_MAX - 1 bytes */
static void unescape(const char *p, const char *end, char *word) {
    char *o = word;
    for (; p < end && o < word + VOCAB_WORD_MAX - 1; p++) {
        if (*p != '\\' || p + 1 == end) { *o++ = *p; continue; }
        p++;
        if (*p == 'n') *o++ = '\n';
        else if (*p == 't') *o++ = '\t';
        else if (*p == 'x' && end - p > 2 && isxdigit((unsigned char)p[1]) &&
                 isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            p += 2;
        } else *o++ = *p;
    }
    *o = 0;
}

char **vocab_read(const char *path, int *count) {
    *count = 0;
    char *text;
    size_t len;
    if (glia__read_file_max(path, INT_MAX, &text, &len)) return NULL; /* a line a symbol: ids are int */
    /* lines end at \n; the text after the last one is a symbol if it is not empty */
    size_t k = 0;
    for (size_t i = 0; i < len; i++) k += text[i] == '\n';
    if (len && text[len - 1] != '\n') k++;
    char **w = calloc(k ? k : 1, sizeof *w); /* an empty file: no symbols, but not an error */
    int n = 0;
    for (const char *p = text, *end = text + len; w && p < end; n++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;
        char word[VOCAB_WORD_MAX];
        unescape(p, eol, word);
        if (!(w[n] = strdup(word))) {
            vocab_free(w, n);
            w = NULL;
        }
        p = nl ? nl + 1 : end;
    }
    free(text);
    if (!w) {
        glia__err(GLIA_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    *count = n;
    return w;
}

void vocab_free(char **words, int count) {
    for (int i = 0; words && i < count; i++) free(words[i]);
    free(words);
}
