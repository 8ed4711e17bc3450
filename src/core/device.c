/* device.c: the list of devices, the cpu device, and choosing a graph's device (device.h). */
#include "device.h"
#include <stdlib.h>
#include <string.h>

void glia__plan_free(glia_graph *g); /* compile.c */

/* ---------------------------------------------------------------- the cpu device
 * Host memory and the op table's own kernels: what glia did before devices existed. */
static void *cpu_alloc(size_t bytes) { return glia__aligned_alloc(64, bytes); }
static void cpu_free(void *p) { free(p); }
static void cpu_zero(void *p, size_t bytes) { memset(p, 0, bytes); }
static glia_status cpu_copy(void *dst, const void *src, size_t bytes) {
    memcpy(dst, src, bytes);
    return GLIA_OK;
}
static int cpu_supports_op(const glia_graph *g, const glia_node *n) {
    (void)g;
    return glia__ops[n->op]->forward && glia__ops[n->op]->backward;
}
static glia_kernel cpu_kernel(glia_op_id op) {
    return (glia_kernel){glia__ops[op]->forward, glia__ops[op]->backward};
}

const glia_device glia__device_cpu = {
    "cpu", "host memory; GEMM through OpenBLAS, OpenMP loops, AVX-512 where the CPU has it",
    GLIA_DEVICE_HOST_MEMORY | GLIA_DEVICE_FUSE_RELU | GLIA_DEVICE_FOLD_BINARIZE | GLIA_DEVICE_FOLD_BN, cpu_alloc, cpu_free, cpu_zero, cpu_copy,
    cpu_copy, cpu_supports_op, cpu_kernel, NULL};

/* ---------------------------------------------------------------- the list */
static const glia_device *const devices[] = {&glia__device_cpu, &glia__device_reference};
enum { N_DEVICES = (int)(sizeof devices / sizeof devices[0]) };

int glia_num_devices(void) { return N_DEVICES; }

const char *glia_device_name(int i) { return i >= 0 && i < N_DEVICES ? devices[i]->name : NULL; }

const char *glia_device_summary(int i) {
    return i >= 0 && i < N_DEVICES ? devices[i]->summary : NULL;
}

const char *glia_graph_device(const glia_graph *g) { return g ? g->dev->name : NULL; }

glia_status glia_graph_set_device(glia_graph *g, const char *name) {
    if (!g || !name) return glia__err(GLIA_EINVAL, "glia_graph_set_device: NULL argument");
    const glia_device *d = NULL;
    for (int i = 0; i < N_DEVICES && !d; i++)
        if (!strcmp(devices[i]->name, name)) d = devices[i];
    if (!d) {
        char known[128] = "";
        for (int i = 0; i < N_DEVICES; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, devices[i]->name, sizeof known - strlen(known) - 1);
        }
        return glia__err(GLIA_EINVAL, "glia_graph_set_device: no device named '%s' (there are: %s)",
                         name, known);
    }
    if (d == g->dev) return GLIA_OK;
    glia__plan_free(g); /* the values come home to host memory; the next run compiles on d */
    g->dev = d;
    return GLIA_OK;
}
