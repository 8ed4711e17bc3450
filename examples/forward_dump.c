/* forward_dump.c: run a glia model on a batch read from a safetensors file and write the output
 * to another, using only the public API (glia.h). The glia side of scripts/crossload_check.py,
 * which compares it with PyTorch.
 *
 *   forward_dump [-n N] [--init SEED] MODEL.cfg WEIGHTS.safetensors IN.safetensors OUT.safetensors
 *
 * IN holds one F32 tensor "x" [N, ...] (the model's input shape, batch N, default 1); OUT gets
 * "y", the model's output in inference mode (dropout off, batch norm with running statistics).
 * WEIGHTS is read (glia_safetensors_load: every parameter and buffer, strictly). With --init,
 * the model keeps glia's own initialisation from SEED instead, runs 20 training-mode forwards on
 * x so that batch-norm running statistics move away from 0 and 1 (as a short training run
 * would), and WRITES them to WEIGHTS.
 *
 * glia.h has no call that reads or writes a named tensor of a safetensors file, so a small
 * graph holding one parameter of that name and shape serves as the container:
 * glia_safetensors_load fills it, glia_safetensors_save writes it.
 *
 * Build: cc examples/forward_dump.c -Iinclude build/libglia.a -lopenblas -lstb -lz -lm -fopenmp
 *        (or: cc forward_dump.c $(pkg-config --cflags --libs glia) against an installed glia) */
#include <glia.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY(call)                                                        \
    do {                                                                 \
        if ((call) != GLIA_OK) {                                         \
            fprintf(stderr, "forward_dump: %s\n", glia_last_error());    \
            goto done;                                                   \
        }                                                                \
    } while (0)

/* a graph with one parameter `name` of shape s: a container for one tensor of a file */
static glia_status tensor_holder(const char *name, const glia_shape *s, glia_graph **g, int *node) {
    glia_status st = glia_graph_new(g);
    return st ? st : glia_param(*g, name, s->ndim, s->dim, node);
}

int main(int argc, char **argv) {
    long long n = 1, seed = 0;
    int init = 0, a = 1;
    for (; a < argc && argv[a][0] == '-'; a += 2) {
        char *end = NULL;
        long long v = a + 1 < argc ? strtoll(argv[a + 1], &end, 10) : 0;
        if (!end || *end || v < 0) a = argc; /* a bad or missing value: usage */
        else if (!strcmp(argv[a], "-n") && v >= 1) n = v;
        else if (!strcmp(argv[a], "--init")) init = 1, seed = v;
        else a = argc;
    }
    if (argc - a != 4) {
        fprintf(stderr, "usage: forward_dump [-n N] [--init SEED] MODEL.cfg WEIGHTS.safetensors "
                        "IN.safetensors OUT.safetensors\n");
        return 2;
    }
    const char *model = argv[a], *weights = argv[a + 1], *in = argv[a + 2], *out = argv[a + 3];
    int rc = 1;
    glia_model *m = NULL;
    glia_graph *gin = NULL, *gout = NULL;
    int xin, yout;
    glia_shape xs, ys;

    TRY(glia_model_load(model, n, (uint64_t)seed, &m));
    glia_graph *g = glia_model_graph(m);
    int x = glia_model_input(m), y = glia_model_output(m);
    TRY(glia_graph_compile(g, 0));
    /* the input batch */
    TRY(glia_node_shape(g, x, &xs));
    TRY(tensor_holder("x", &xs, &gin, &xin));
    TRY(glia_safetensors_load(gin, in));
    TRY(glia_node_set(g, x, glia_node_value(gin, xin), glia_shape_numel(&xs)));
    /* the weights */
    if (init) {
        glia_graph_set_training(g, 1);
        for (int i = 0; i < 20; i++) TRY(glia_graph_forward(g));
        TRY(glia_safetensors_save(g, weights));
    } else {
        TRY(glia_safetensors_load(g, weights));
    }
    /* inference */
    glia_graph_set_training(g, 0);
    TRY(glia_graph_forward(g));
    TRY(glia_node_shape(g, y, &ys));
    TRY(tensor_holder("y", &ys, &gout, &yout));
    TRY(glia_node_set(gout, yout, glia_node_value(g, y), glia_shape_numel(&ys)));
    TRY(glia_safetensors_save(gout, out));
    char sh[96];
    printf("forward_dump: %s -> y %s\n", model, glia_shape_str(&ys, sh, sizeof sh));
    rc = 0;
done:
    glia_graph_free(gin);
    glia_graph_free(gout);
    glia_model_free(m);
    return rc;
}
