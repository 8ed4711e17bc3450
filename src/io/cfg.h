/* cfg.h: the syntax of glia's model text (Darknet-like .cfg): sections `[type]` holding
 * `key = value` lines; `#` or `;` start a comment. This layer knows nothing of layers: it
 * gives sections and keys with their line numbers; src/nn/model.c checks them against each
 * layer's schema. */
#ifndef GLIA_CFG_H
#define GLIA_CFG_H
#include "glia.h"

typedef struct cfg_kv {
    char *key, *value;
    int line;
    int used; /* set by the schema check: an unused key is an unknown key */
} cfg_kv;

typedef struct cfg_section {
    char *type;
    int line;
    int n_kv, cap_kv;
    cfg_kv *kv;
} cfg_section;

typedef struct cfg {
    char *filename;
    int n, cap;
    cfg_section *sec;
} cfg;

/* Parses text; syntax errors name filename:line. */
glia_status cfg_parse(const char *text, const char *filename, cfg **out);
void cfg_free(cfg *c);
/* The entry for key in section s, or NULL. */
cfg_kv *cfg_find(cfg_section *s, const char *key);
#endif
