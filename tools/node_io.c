/* node_io.c: a node's values from the commands on every device (cli.h). Where the graph's device
 * has host memory (the cpu) the commands use the node's own memory, as before; on a device
 * without it (glia_node_value: NULL) they work on a host copy, read with glia_node_read and
 * sent back with glia_node_write. */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>

float *node_host(glia_graph *g, int node, float **copy, const char *cmd) {
    float *own = glia_node_value(g, node);
    if (own) return own;
    glia_shape s;
    if (glia_node_shape(g, node, &s)) {
        fprintf(stderr, "glia %s: %s\n", cmd, glia_last_error());
        return NULL;
    }
    int64_t n = glia_shape_numel(&s);
    float *c = realloc(*copy, (size_t)(n > 0 ? n : 1) * sizeof *c);
    if (!c) {
        fprintf(stderr, "glia %s: out of memory for a copy of '%s'\n", cmd, glia_node_name(g, node));
        return NULL;
    }
    *copy = c;
    if (glia_node_read(g, node, c, n)) {
        fprintf(stderr, "glia %s: %s (device %s)\n", cmd, glia_last_error(), glia_graph_device(g));
        return NULL;
    }
    return c;
}

int node_sync(glia_graph *g, int node, const float *p, const float *copy, const char *cmd) {
    if (p != copy) return 1; /* the node's own memory: already there */
    glia_shape s;
    if (glia_node_shape(g, node, &s) || glia_node_write(g, node, copy, glia_shape_numel(&s))) {
        fprintf(stderr, "glia %s: %s (device %s)\n", cmd, glia_last_error(), glia_graph_device(g));
        return 0;
    }
    return 1;
}
