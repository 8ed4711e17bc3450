/* model_onnx.c: a glia model whose graph comes from an ONNX file: `[net]` with `onnx = FILE`
 * (glia_model_load of an .onnx file writes that [net] itself). The imported graph is the whole
 * network: its one run-time input is the model's input (or, for a sequence model as glia
 * exports one, 'data' [T, N, F] and 'lengths' [N]), its first output the model's output,
 * and each ONNX node that became glia nodes is a layer named after its output (what
 * --layer and glia summary show). [net]'s other keys (classes, lr, mean, std...) work as for
 * any model, so every command that takes a model, glia train included, takes it. */
#include "model_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* FILE relative to the model text's directory (a run directory's model.cfg names model.onnx
 * beside it), unless absolute or the text has no file */
static char *resolve(const char *value, const char *text_file) {
    const char *slash = text_file ? strrchr(text_file, '/') : NULL;
    size_t dir = value[0] == '/' || !slash ? 0 : (size_t)(slash - text_file) + 1;
    char *p = glia__malloc(dir + strlen(value) + 1);
    if (!p) return NULL;
    memcpy(p, text_file, dir);
    strcpy(p + dir, value);
    return p;
}

glia_status glia__model_onnx_open(glia_model *m, const char *value, const char *consts, const char *text_file,
                                  int64_t batch, glia_onnx **out, char *input, size_t len) {
    *out = NULL;
    if (!(m->onnx_path = resolve(value, text_file))) return glia__err(GLIA_ENOMEM, "out of memory");
    struct stat st; /* not a device or a pipe that never ends (/dev/zero) */
    if (!stat(m->onnx_path, &st) && !S_ISREG(st.st_mode))
        return glia__err(GLIA_EINVAL, "%s: onnx = %s is not a regular file", text_file ? text_file : "[net]", m->onnx_path);
    glia_onnx_input *fixed = NULL; /* [net] onnx_const */
    int n_fixed = 0;
    glia_status s = glia_onnx_consts_parse(consts, &fixed, &n_fixed);
    if (s) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", glia_last_error());
        return glia__err(s, "%s: onnx_const: %s", text_file ? text_file : "[net]", msg);
    }
    glia_onnx_options o = {.inputs = fixed, .n_inputs = n_fixed, .batch = batch};
    glia_onnx *ox;
    s = glia_onnx_load(m->onnx_path, &o, &ox);
    free(fixed);
    if (s) return s;
    int in = -1, n_in = 0;
    char names[256] = "";
    for (int i = 0; i < glia_onnx_num_inputs(ox); i++) {
        if (glia_onnx_input_node(ox, i) < 0) continue; /* given as a constant */
        size_t u = strlen(names);
        snprintf(names + u, sizeof names - u, "%s'%s'", n_in ? ", " : "", glia_onnx_input_name(ox, i));
        in = glia_onnx_input_node(ox, i);
        n_in++;
    }
    glia_shape xs = {0, {0}};
    /* a sequence model as glia exports one: token ids or features 'data' [T, N, F] and 'lengths'
     * [N], the model text's two inputs ([net] sequence = T) */
    int data = -1, lengths = -1;
    for (int i = 0; n_in == 2 && i < glia_onnx_num_inputs(ox); i++) {
        int k = glia_onnx_input_node(ox, i);
        glia_shape ks;
        if (k < 0) continue;
        glia_node_shape(glia_onnx_graph(ox), k, &ks);
        if (!strcmp(glia_onnx_input_name(ox, i), "data") && ks.ndim == 3) data = k;
        if (!strcmp(glia_onnx_input_name(ox, i), "lengths") && ks.ndim == 1) lengths = k;
    }
    if (data >= 0 && lengths >= 0) {
        glia_node_shape(glia_onnx_graph(ox), data, &xs);
        m->input = data;
        m->lengths = lengths;
        m->seq_T = xs.dim[0];
        snprintf(input, len, "%lld", (long long)xs.dim[2]);
        *out = ox;
        return GLIA_OK;
    }
    if (n_in == 1) glia_node_shape(glia_onnx_graph(ox), in, &xs);
    if (n_in != 1 || xs.ndim < 2 || xs.ndim > 4) {
        glia_onnx_free(ox);
        if (n_in != 1)
            return glia__err(GLIA_EINVAL, "%s: glia's commands take a model with one input; this one "
                             "has %d (%s): run it with glia run", m->onnx_path, n_in, names);
        return glia__err(GLIA_EINVAL, "%s: input %s has %d dimensions: glia's commands take [N, "
                         "features] or [N, C, H, W] (run it with glia run)", m->onnx_path, names, xs.ndim);
    }
    size_t u = 0;
    input[0] = 0;
    for (int d = 1; d < xs.ndim && u < len; d++)
        u += (size_t)snprintf(input + u, len - u, "%s%lld", d > 1 ? ", " : "", (long long)xs.dim[d]);
    *out = ox;
    return GLIA_OK;
}

glia_status glia__model_onnx_build(glia_model *m, glia_onnx *ox, int sections, int classes_given) {
    const char *file = m->onnx_path;
    if (sections > 1)
        return glia__err(GLIA_EINVAL, "%s: [net] with onnx = %s takes its layers from that file: no "
                         "sections may follow", m->filename, glia_model_option(m, "onnx"));
    if (strcmp(glia_model_option(m, "sequence"), "0") || strcmp(glia_model_option(m, "target"), "0"))
        return glia__err(GLIA_EINVAL, "%s: a model from an ONNX file takes no [net] sequence or target", m->filename);
    m->g = glia__onnx_release_graph(ox);
    m->target = m->target_lengths = -1;
    if (m->seq_T > 0) { /* data [T, N, F] and lengths [N], all T unless the caller sets them */
        float *len = glia_node_value(m->g, m->lengths);
        glia_shape ls;
        glia_node_shape(m->g, m->lengths, &ls);
        for (int64_t i = 0; len && i < ls.dim[0]; i++) len[i] = (float)m->seq_T;
        glia_status s = glia_node_set_batch_axis(m->g, m->input, 1); /* time-major: N is axis 1 */
        if (s) return s;
    } else {
        m->lengths = -1;
        for (int i = 0; i < glia_onnx_num_inputs(ox); i++)
            if (glia_onnx_input_node(ox, i) >= 0) m->input = glia_onnx_input_node(ox, i);
    }
    if (glia_onnx_num_outputs(ox) < 1) return glia__err(GLIA_EINVAL, "%s: the graph has no outputs", file);
    glia_shape ys, ns;
    m->output = glia_onnx_output_node(ox, 0);
    glia_onnx_output_shape(ox, 0, &ys);
    glia_node_shape(m->g, m->output, &ns);
    if (!glia__shape_eq(&ys, &ns))
        return glia__err(GLIA_EINVAL, "%s: output '%s' is held in another shape than ONNX's (a "
                         "recurrent or reshaped value): run it with glia run", file, glia_onnx_output_name(ox, 0));
    if (!classes_given && ys.ndim == 2) {
        char k[24];
        snprintf(k, sizeof k, "%lld", (long long)ys.dim[1]);
        glia_status s = glia_model_set_option(m, "classes", k);
        if (s) return s;
    }
    int n = glia_onnx_num_steps(ox);
    m->onnx_defs = glia__calloc((size_t)n + 1, sizeof *m->onnx_defs);
    free(m->layers);
    m->layers = glia__calloc((size_t)n + 1, sizeof *m->layers);
    if (!m->onnx_defs || !m->layers) return glia__err(GLIA_ENOMEM, "%s: out of memory", file);
    for (int i = 0; i < n; i++) {
        glia_onnx_step st;
        glia_onnx_step_info(ox, i, &st);
        layer_def *d = &m->onnx_defs[i];
        model_layer *l = &m->layers[m->n_layers++];
        if (!(d->type = glia__strdup(st.op))) return glia__err(GLIA_ENOMEM, "%s: out of memory", file);
        d->summary = "an ONNX node";
        l->def = d;
        snprintf(l->name, sizeof l->name, "%s", glia_node_name(m->g, st.output));
        l->out = st.output;
        l->first_node = st.first;
        l->lengths = -1;
    }
    m->end_node = glia_graph_num_nodes(m->g);
    return glia_node_retain(m->g, m->output);
}

const char *glia_model_onnx_path(const glia_model *m) { return m ? m->onnx_path : NULL; }
