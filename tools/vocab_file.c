/* vocab_file.c: reading the vocab.txt that glia train writes (src/train/task_text.c): one
 * symbol per line, a character or a word, with \n \t \\ and \xHH escaped. */
#include "cli.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char **vocab_read(const char *path, int *count) {
    *count = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char line[4 * VOCAB_WORD_MAX + 8], **w = NULL;
    int n = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char word[VOCAB_WORD_MAX], *o = word;
        for (const char *p = line; *p && o < word + VOCAB_WORD_MAX - 1; p++) {
            if (*p != '\\' || !p[1]) { *o++ = *p; continue; }
            p++;
            if (*p == 'n') *o++ = '\n';
            else if (*p == 't') *o++ = '\t';
            else if (*p == 'x' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
                char hex[3] = {p[1], p[2], 0};
                *o++ = (char)strtol(hex, NULL, 16);
                p += 2;
            } else *o++ = *p;
        }
        *o = 0;
        if (n == cap) {
            char **t = realloc(w, (size_t)(cap = cap ? 2 * cap : 1024) * sizeof *w);
            if (!t) break;
            w = t;
        }
        if (!(w[n] = strdup(word))) break;
        n++;
    }
    fclose(f);
    *count = n;
    if (!w) w = calloc(1, sizeof *w); /* an empty file: no symbols, but not an error */
    return w;
}

void vocab_free(char **words, int count) {
    for (int i = 0; words && i < count; i++) free(words[i]);
    free(words);
}
