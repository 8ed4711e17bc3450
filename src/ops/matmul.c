/* matmul.c: batched matrix product, torch.matmul of two tensors of the same rank (ONNX MatMul of
 * two run-time values: attention's Q K^T and weights x V).
 *   y[b, M, N] = a[b, M, K] b[b, K, N]   for every index b of the leading dimensions
 *   da[b] += dy[b] b[b]^T,   db[b] += a[b]^T dy[b]
 * one GEMM per matrix (OpenBLAS). */
#include "../core/internal.h"
#include <cblas.h>

static glia_status matmul_infer(glia_graph *g, glia_node *n) {
    const glia_node *a = glia__in(g, n, 0), *b = glia__in(g, n, 1);
    const glia_shape *sa = &a->shape, *sb = &b->shape;
    bool fits = sa->ndim >= 2 && sa->ndim == sb->ndim && sa->dim[sa->ndim - 1] == sb->dim[sb->ndim - 2];
    for (int d = 0; fits && d < sa->ndim - 2; d++) fits = sa->dim[d] == sb->dim[d];
    if (!fits) {
        char x[96], y[96];
        return glia__err(GLIA_ESHAPE, "%s: '%s' %s and '%s' %s are not [..., M, K] and [..., K, N] with "
                         "the same leading dimensions", glia__where(g, n), a->name,
                         glia_shape_str(sa, x, sizeof x), b->name, glia_shape_str(sb, y, sizeof y));
    }
    n->shape = *sa;
    n->shape.dim[sa->ndim - 1] = sb->dim[sb->ndim - 1];
    return GLIA_OK;
}

/* the matrices' sizes and count */
static void dims(const glia_node *a, const glia_node *y, int *M, int *K, int *N, int64_t *B) {
    int r = a->shape.ndim;
    *M = (int)a->shape.dim[r - 2];
    *K = (int)a->shape.dim[r - 1];
    *N = (int)y->shape.dim[r - 1];
    *B = glia__numel(y) / ((int64_t)*M * *N);
}

static glia_status matmul_forward(glia_graph *g, glia_node *n) {
    const glia_node *a = glia__in(g, n, 0), *b = glia__in(g, n, 1);
    int M, K, N;
    int64_t B;
    dims(a, n, &M, &K, &N, &B);
    for (int64_t i = 0; i < B; i++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a->val + i * M * K, K,
                    b->val + i * K * N, N, 0.0f, n->val + i * M * N, N);
    return GLIA_OK;
}

static void matmul_backward(glia_graph *g, glia_node *n) {
    glia_node *a = glia__in(g, n, 0), *b = glia__in(g, n, 1);
    int M, K, N;
    int64_t B;
    dims(a, n, &M, &K, &N, &B);
    for (int64_t i = 0; i < B; i++) {
        const float *dy = n->grad + i * M * N;
        if (a->grad) /* da += dy b^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.0f, dy, N, b->val + i * K * N, N,
                        1.0f, a->grad + i * M * K, K);
        if (b->grad) /* db += a^T dy */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, a->val + i * M * K, K, dy, N,
                        1.0f, b->grad + i * K * N, N);
    }
}

const glia_op_def glia__op_matmul = {
    .name = "matmul", .summary = "batched matrix product: y[..., M, N] = a[..., M, K] b[..., K, N]",
    .inputs = "a[..., M, K], b[..., K, N]", .outputs = "y[..., M, N]", .min_in = 2, .max_in = 2,
    .flags = OPF_BWD_INPUTS, .infer = matmul_infer, .forward = matmul_forward,
    .backward = matmul_backward};

glia_status glia_matmul(glia_graph *g, const char *name, int a, int b, int *out) {
    int in[2] = {a, b};
    return glia__add_op(g, GLIA_OP_matmul, name, 2, in, NULL, 0, NULL, 0, out);
}
