/* packed.h: the packed weights file's versions (src/io/packed.c). glia_packed_save writes the
 * current one; the older one is written only for tests and fuzz seeds (glia_packed_load reads
 * both). */
#ifndef GLIA_IO_PACKED_H
#define GLIA_IO_PACKED_H
#include "glia.h"

/* version 1: "glia-packed-1", F32 scales; version 2: "glia-packed-2", F16 scales */
glia_status glia__packed_save_version(glia_graph *g, const char *path, int version,
                                      glia_packed_info *info);
#endif
