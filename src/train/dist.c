/* dist.c: data-parallel training with MPI (dist.h), and the same calls for one process when glia
 * is built without MPI (GLIA_MPI undefined) or not started by mpirun.
 *
 * The step's gradient reduction: rank r has the gradient g_r of its loss, a mean over its n_r
 * counted rows (softmax_ce skips rows labelled -1; mse and bce count every row). One process at
 * the global batch would have the mean over all rows, so
 *     g = sum_r n_r g_r / sum_r n_r
 * Each rank packs n_r g_r of every trainable parameter into one contiguous buffer, followed by
 * n_r and its stop flag; one MPI_Allreduce (MPI_SUM) adds the buffers, and every rank divides by
 * sum n_r and unpacks. The buffer is summed in one fixed order for a given K (MPI's reduction of
 * the same arguments), so every rank gets the same bits and takes the same step; against one
 * process the sum is ordered differently (per rank, then across ranks), so the weights agree to
 * rounding, not bit for bit (README: data-parallel training gives the measured difference).
 *
 * Batch norm keeps per-rank statistics (the batch of B/K a rank sees); its running averages
 * are averaged over the ranks at the end of each epoch (glia__dist_epoch_end), before the
 * held-out pass and the checkpoint. */
#include "train/dist.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef GLIA_MPI
#include <mpi.h>
#endif

#ifdef GLIA_MPI
static int mpi_on, mpi_rank, mpi_size = 1, mpi_done;
static char mpi_name[MPI_MAX_LIBRARY_VERSION_STRING];

static void at_exit(void) {
    int fin = 0;
    if (mpi_on && !mpi_done && !MPI_Finalized(&fin) && !fin) MPI_Finalize();
    mpi_done = 1;
}

/* started by a launcher (Open MPI's mpirun, or a PMI one): the variables it sets */
static int launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

glia_status glia_dist_init(void) {
    if (mpi_on || !launched()) return GLIA_OK;
    int init = 0;
    MPI_Initialized(&init);
    if (!init && MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return glia__err(GLIA_ESTATE, "MPI_Init failed (started by mpirun?)");
    MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
    /* errors come back as codes, so that a rank reports them instead of MPI aborting silently */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    mpi_on = 1;
    if (!init) atexit(at_exit);
    return GLIA_OK;
}
void glia_dist_finalize(void) { at_exit(); }
void glia_dist_abort(int code) {
    if (mpi_on && mpi_size > 1 && !mpi_done) MPI_Abort(MPI_COMM_WORLD, code);
}
int glia_dist_rank(void) { return mpi_on ? mpi_rank : 0; }
int glia_dist_size(void) { return mpi_on ? mpi_size : 1; }
const char *glia_dist_backend(void) {
    if (!mpi_name[0]) { /* "Open MPI v4.1.4, package: ...": up to the comma */
        char v[MPI_MAX_LIBRARY_VERSION_STRING];
        int n = 0;
        MPI_Get_library_version(v, &n);
        v[strcspn(v, ",\n")] = 0;
        snprintf(mpi_name, sizeof mpi_name, "%s", v);
    }
    return mpi_name;
}

static glia_status mpi_err(int rc, const char *what) {
    char msg[MPI_MAX_ERROR_STRING];
    int n = 0;
    MPI_Error_string(rc, msg, &n);
    return glia__err(GLIA_EIO, "data-parallel training, rank %d of %d: %s failed: %s (another rank "
                     "stopped?)", mpi_rank, mpi_size, what, msg);
}
#define MPI_TRY(call, what)                                                                         \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != MPI_SUCCESS) return mpi_err(rc_, what);                                         \
    } while (0)
#else
glia_status glia_dist_init(void) { return GLIA_OK; }
void glia_dist_finalize(void) {}
void glia_dist_abort(int code) { (void)code; }
int glia_dist_rank(void) { return 0; }
int glia_dist_size(void) { return 1; }
const char *glia_dist_backend(void) { return NULL; }
#endif

void glia__dist_shard(int *shard, int *shards) {
    glia_dist_init(); /* a failure leaves one process: the run is then not split */
    *shard = glia_dist_rank();
    *shards = glia_dist_size();
}

int glia__dist_stop(const glia__loop *L, const glia_train_options *o) {
    return L->shards > 1 ? L->dist_stop : o->stop && *o->stop;
}

#ifdef GLIA_MPI
/* FNV-1a, 64 bits */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ull;
    return h;
}

/* the rows this rank's loss averaged over (loss.c: softmax_ce skips rows labelled -1) */
static double counted_rows(glia__loop *L) {
    if (L->loss_kind != GLIA__LOSS_CE) return (double)L->rows;
    const float *ids = glia__loop_ids(L);
    double n = 0;
    for (int64_t i = 0; i < L->rows; i++) n += ids[i] >= 0;
    return n;
}

/* the step's reduction in one piece after backward (L->reduce): see the top of this file */
static glia_status reduce(glia__loop *L) {
    glia_graph *g = L->g;
    const int n_nodes = glia_graph_num_nodes(g);
    double n_r = counted_rows(L);
    float *buf = L->dist_buf;
    int64_t at = 0;
    for (int i = 0; i < n_nodes; i++) {
        if (!glia_node_is_param(g, i) || !glia_node_trainable(g, i)) continue;
        glia_shape sh;
        glia_node_shape(g, i, &sh);
        int64_t n = glia_shape_numel(&sh);
        const float *gr = glia_node_grad(g, i);
        if (gr) for (int64_t j = 0; j < n; j++) buf[at + j] = (float)n_r * gr[j];
        else memset(buf + at, 0, (size_t)n * sizeof *buf);
        at += n;
    }
    buf[at] = (float)n_r;
    buf[at + 1] = L->stop && *L->stop;
    double t0 = glia__now();
    /* counts of rows up to 2^24 per step stay exact in float */
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf, (int)(at + 2), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
            "the gradients' MPI_Allreduce");
    L->dist_comm_seconds += glia__now() - t0;
    float inv = buf[at] > 0 ? 1.0f / buf[at] : 0.0f;
    L->dist_stop = buf[at + 1] > 0;
    at = 0;
    for (int i = 0; i < n_nodes; i++) {
        if (!glia_node_is_param(g, i) || !glia_node_trainable(g, i)) continue;
        glia_shape sh;
        glia_node_shape(g, i, &sh);
        int64_t n = glia_shape_numel(&sh);
        float *gr = glia_node_grad(g, i);
        if (gr) for (int64_t j = 0; j < n; j++) gr[j] = buf[at + j] * inv;
        at += n;
    }
    return GLIA_OK;
}

/* ---------------------------------------------------------------- gradient buckets
 * The same sum in pieces sent while backward goes on: the trainable parameters, from the last
 * to the first (the order backward finishes them), are grouped into buckets of about
 * GLIA_MPI_BUCKET_KB kilobytes, each a contiguous range of dist_buf (which keeps its layout:
 * the parameters in graph order, then n_r and the stop flag, in the first bucket sent).
 * Backward's hook (graph->grad_hook) packs n_r g_r of each parameter as its gradient becomes
 * final; once every parameter of a bucket is packed, and every bucket before it started, the
 * bucket's MPI_Iallreduce starts (in bucket order on every rank: the reductions match up, and
 * each sums in its fixed order); MPI is given a turn (MPI_Testall) at each hook call, since
 * Open MPI moves a nonblocking collective on only inside MPI calls. Before the optimiser step
 * L->reduce waits for them all and unpacks as reduce() does. */
struct glia__buckets {
    int n, next;                 /* buckets; the next one to start */
    int64_t *begin;              /* bucket b is dist_buf[begin[b], begin[b - 1]) (b = 0: to the end) */
    int *size, *left;            /* parameters in each bucket; of them, not packed yet this step */
    int *bucket;                 /* per node: its bucket, -1 for anything but a trainable parameter */
    int64_t *at;                 /* per node: its gradient's place in dist_buf */
    int64_t total;               /* the parameters' floats (n_r and the stop flag follow) */
    int packing;                 /* this step's first parameter has been packed */
    float n_r;
    MPI_Request *req;
};

static void buckets_free(struct glia__buckets *B) {
    if (!B) return;
    free(B->begin);
    free(B->size);
    free(B->left);
    free(B->bucket);
    free(B->at);
    free(B->req);
    free(B);
}

/* starts every bucket that is complete, in order */
static glia_status buckets_start(glia__loop *L) {
    struct glia__buckets *B = L->buckets;
    while (B->next < B->n && !B->left[B->next]) {
        int b = B->next;
        int64_t end = b ? B->begin[b - 1] : B->total + 2;
        MPI_TRY(MPI_Iallreduce(MPI_IN_PLACE, L->dist_buf + B->begin[b], (int)(end - B->begin[b]),
                               MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &B->req[b]),
                "a gradient bucket's MPI_Iallreduce");
        B->next++;
    }
    int done;
    MPI_TRY(MPI_Testall(B->next, B->req, &done, MPI_STATUSES_IGNORE), "MPI_Testall");
    return GLIA_OK;
}

/* backward's hook: parameter p's gradient is final */
static glia_status bucket_hook(void *ctx, int p) {
    glia__loop *L = ctx;
    struct glia__buckets *B = L->buckets;
    if (B->bucket[p] < 0) return GLIA_OK;
    if (!B->packing) { /* the step's first: the rows and the stop flag (bucket 0's tail) */
        B->packing = 1;
        B->n_r = (float)counted_rows(L);
        L->dist_buf[B->total] = B->n_r;
        L->dist_buf[B->total + 1] = L->stop && *L->stop;
    }
    glia_shape sh;
    glia_node_shape(L->g, p, &sh);
    const int64_t n = glia_shape_numel(&sh);
    const float *gr = glia_node_grad(L->g, p);
    float *dst = L->dist_buf + B->at[p];
    if (gr) for (int64_t j = 0; j < n; j++) dst[j] = B->n_r * gr[j];
    else memset(dst, 0, (size_t)n * sizeof *dst);
    B->left[B->bucket[p]]--;
    double t0 = glia__now(); /* the time in MPI, as reduce() counts it */
    glia_status s = buckets_start(L);
    L->dist_comm_seconds += glia__now() - t0;
    return s;
}

/* L->reduce with buckets: wait for every bucket, unpack */
static glia_status reduce_buckets(glia__loop *L) {
    struct glia__buckets *B = L->buckets;
    if (B->next < B->n) /* backward reports every trainable parameter: not reached */
        return glia__err(GLIA_ESTATE, "data-parallel training: gradient bucket %d of %d was not "
                         "complete after backward", B->next, B->n);
    double t0 = glia__now();
    MPI_TRY(MPI_Waitall(B->n, B->req, MPI_STATUSES_IGNORE), "the gradient buckets' MPI_Waitall");
    L->dist_comm_seconds += glia__now() - t0;
    const float *buf = L->dist_buf;
    float inv = buf[B->total] > 0 ? 1.0f / buf[B->total] : 0.0f;
    L->dist_stop = buf[B->total + 1] > 0;
    for (int i = 0; i < glia_graph_num_nodes(L->g); i++) {
        if (B->bucket[i] < 0) continue;
        glia_shape sh;
        glia_node_shape(L->g, i, &sh);
        int64_t n = glia_shape_numel(&sh);
        float *gr = glia_node_grad(L->g, i);
        if (gr) for (int64_t j = 0; j < n; j++) gr[j] = buf[B->at[i] + j] * inv;
    }
    B->next = B->packing = 0; /* the next step */
    for (int b = 0; b < B->n; b++) B->left[b] = B->size[b];
    return GLIA_OK;
}

/* the buckets of about kb kilobytes (see above), the hook set */
static glia_status buckets_make(glia__loop *L, int64_t total, long kb) {
    glia_graph *g = L->g;
    const int nn = glia_graph_num_nodes(g);
    struct glia__buckets *B = glia__calloc(1, sizeof *B);
    if (!B || !(B->begin = glia__calloc((size_t)nn + 1, sizeof *B->begin)) ||
        !(B->size = glia__calloc((size_t)nn + 1, sizeof *B->size)) ||
        !(B->left = glia__calloc((size_t)nn + 1, sizeof *B->left)) ||
        !(B->bucket = glia__calloc((size_t)nn + 1, sizeof *B->bucket)) ||
        !(B->at = glia__calloc((size_t)nn + 1, sizeof *B->at)) ||
        !(B->req = glia__calloc((size_t)nn + 1, sizeof *B->req))) {
        buckets_free(B);
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    }
    L->buckets = B;
    B->total = total;
    int64_t at = total, fill = 0;
    for (int i = nn - 1; i >= 0; i--) { /* from the last parameter down */
        B->bucket[i] = -1;
        if (!glia_node_is_param(g, i) || !glia_node_trainable(g, i)) continue;
        glia_shape sh;
        glia_node_shape(g, i, &sh);
        int64_t n = glia_shape_numel(&sh);
        if (fill >= kb * 256) B->n++, fill = 0; /* the bucket is full: the next one */
        at -= n;
        fill += n;
        B->at[i] = at;
        B->bucket[i] = B->n;
        B->begin[B->n] = at;
        B->size[B->n]++;
    }
    if (fill || !B->n) B->n++;
    for (int b = 0; b < B->n; b++) B->left[b] = B->size[b], B->req[b] = MPI_REQUEST_NULL;
    g->grad_hook = bucket_hook;
    g->grad_hook_ctx = L;
    L->reduce = reduce_buckets;
    return GLIA_OK;
}

void glia__dist_end(glia__loop *L) {
    if (!L->buckets) return;
    if (L->g && L->g->grad_hook_ctx == L) L->g->grad_hook = NULL, L->g->grad_hook_ctx = NULL;
    buckets_free(L->buckets);
    L->buckets = NULL;
}

glia_status glia__dist_start(glia__loop *L) {
    if (L->shards <= 1) return GLIA_OK;
    glia_graph *g = L->g;
    /* GLIA_MPI_BUCKET_KB: the gradient buckets' size (0: one all-reduce after backward); the
     * same on every rank, or their reductions would not match up (checked with the settings) */
    const char *env = getenv("GLIA_MPI_BUCKET_KB");
    long kb = env && *env ? strtol(env, NULL, 10) : GLIA__BUCKET_KB;
    if (strcmp(glia_graph_device(g), "cpu")) /* the gradients are read and written in host memory */
        return glia__err(GLIA_EINVAL, "data-parallel training runs on the cpu device (not %s)",
                         glia_graph_device(g));
    /* what every rank must agree on: the model text (settings included), the data's sizes and
     * the run's settings */
    char *text = NULL;
    glia_status s = glia_model_to_text(L->m, &text);
    if (s) return s;
    uint64_t mine[3], *all = glia__malloc((size_t)L->shards * sizeof mine);
    if (!all) {
        free(text);
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    }
    mine[0] = fnv(0xcbf29ce484222325ull, text, strlen(text));
    free(text);
    int64_t data[4] = {L->batches, L->n_val, L->rows, L->classes};
    mine[1] = fnv(0xcbf29ce484222325ull, data, sizeof data);
    mine[2] = fnv(fnv(fnv(fnv(0xcbf29ce484222325ull, &L->seed, sizeof L->seed), &L->val, sizeof L->val),
                      &L->limit, sizeof L->limit), &kb, sizeof kb);
    int rc = MPI_Allgather(mine, 3, MPI_UINT64_T, all, 3, MPI_UINT64_T, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
        free(all);
        return mpi_err(rc, "the start-up check's MPI_Allgather");
    }
    for (int r = 1; r < L->shards; r++)
        for (int k = 0; k < 3; k++)
            if (all[3 * r + k] != all[k]) {
                static const char *const what[3] = {"model file (the hash of its text)",
                                                    "data (its sizes: batches, held-out samples)",
                                                    ("settings (--seed, --val, --limit, "
                                                     "GLIA_MPI_BUCKET_KB)")};
                free(all);
                return glia__err(GLIA_EINVAL, "data-parallel training: rank %d's %s differs from "
                                 "rank 0's; every rank must start with the same model, data and "
                                 "options", r, what[k]);
            }
    free(all);
    /* one contiguous buffer for the gradients, the row count and the stop flag; rank 0's
     * parameters and buffers on every rank */
    int64_t total = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        glia_shape sh;
        glia_node_shape(g, i, &sh);
        int64_t n = glia_shape_numel(&sh);
        if (glia_node_is_param(g, i) && glia_node_trainable(g, i)) total += n;
        if (glia_node_is_param(g, i) || !strcmp(glia_node_op(g, i), "buffer"))
            MPI_TRY(MPI_Bcast(glia_node_value(g, i), (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD),
                    "the weights' MPI_Bcast");
    }
    if (total + 2 > 0x7fffffff) return glia__err(GLIA_EINVAL, "data-parallel training: %lld "
                                                 "parameters; MPI counts stop at 2^31", (long long)total);
    free(L->dist_buf);
    if (!(L->dist_buf = glia__malloc((size_t)(total + 2) * sizeof *L->dist_buf)))
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    /* the training sums of a restored epoch are the totals over the ranks: rank 0 keeps them */
    if (L->shard) memset(&L->tm, 0, sizeof L->tm);
    if (kb > 0) return buckets_make(L, total, kb);
    L->reduce = reduce;
    return GLIA_OK;
}

glia_status glia__dist_sum(glia__loop *L, glia__metrics *mt) {
    if (L->shards <= 1) return GLIA_OK;
    int64_t c[3] = {mt->correct, mt->top5, mt->n};
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &mt->loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
            "the metrics' MPI_Allreduce");
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, c, 3, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD),
            "the metrics' MPI_Allreduce");
    mt->correct = c[0], mt->top5 = c[1], mt->n = c[2];
    if (mt->confusion)
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, mt->confusion, L->classes * L->classes, MPI_INT64_T,
                              MPI_SUM, MPI_COMM_WORLD), "the confusion matrix' MPI_Allreduce");
    return GLIA_OK;
}

glia_status glia__dist_epoch_end(glia__loop *L) {
    if (L->shards <= 1) return GLIA_OK;
    glia_graph *g = L->g;
    uint64_t h = 0xcbf29ce484222325ull, h0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        glia_shape sh;
        glia_node_shape(g, i, &sh);
        int64_t n = glia_shape_numel(&sh);
        float *v = glia_node_value(g, i);
        if (glia_node_is_param(g, i)) {
            h = fnv(h, v, (size_t)n * sizeof *v);
        } else if (!strcmp(glia_node_op(g, i), "buffer")) { /* running statistics: the mean */
            MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                    "the running statistics' MPI_Allreduce");
            for (int64_t j = 0; j < n; j++) v[j] /= (float)L->shards;
        }
    }
    /* the weights must be the same bits everywhere (the same reduced gradient, the same step) */
    h0 = h;
    MPI_TRY(MPI_Bcast(&h0, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "the weights check's MPI_Bcast");
    int bad = h0 != h, any = 0;
    MPI_TRY(MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "the weights check");
    if (any) return glia__err(GLIA_ESTATE, "data-parallel training: at epoch %d, batch %lld the "
                              "weights differ between ranks (this rank's %s)", L->epoch + 1,
                              (long long)L->next_batch, bad ? "differ from rank 0's" : "agree with rank 0's");
    return GLIA_OK;
}

glia_status glia__dist_gather_states(glia__loop *L) {
    if (L->shards <= 1) return GLIA_OK;
    glia_graph *g = L->g;
    int64_t total = 0, most = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        if (!glia_node_is_state(g, i)) continue;
        int64_t n = glia_shape_numel(&g->nodes[i].shape);
        total += n * L->shards;
        most = n > most ? n : most;
    }
    if (!total) return GLIA_OK;
    float *parts = glia__malloc((size_t)(most * L->shards) * sizeof *parts);
    if (!L->shard && !L->dist_states) L->dist_states = glia__malloc((size_t)total * sizeof *L->dist_states);
    if (!parts || (!L->shard && !L->dist_states)) {
        free(parts);
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    }
    int64_t at = 0;
    for (int i = 0; i < glia_graph_num_nodes(g); i++) {
        if (!glia_node_is_state(g, i)) continue;
        const glia_node *nd = &g->nodes[i];
        int64_t n = glia_shape_numel(&nd->shape);
        int rc = MPI_Gather(nd->val, (int)n, MPI_FLOAT, parts, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            free(parts);
            return mpi_err(rc, "the carried states' MPI_Gather");
        }
        for (int r = 0; !L->shard && r < L->shards; r++)
            glia__state_slice(nd, L->shards, r, L->dist_states + at, parts + r * n, 1);
        at += n * L->shards;
    }
    free(parts);
    return GLIA_OK;
}
#else
glia_status glia__dist_start(glia__loop *L) {
    (void)L;
    return GLIA_OK;
}
void glia__dist_end(glia__loop *L) { (void)L; }
glia_status glia__dist_sum(glia__loop *L, glia__metrics *mt) {
    (void)L, (void)mt;
    return GLIA_OK;
}
glia_status glia__dist_epoch_end(glia__loop *L) {
    (void)L;
    return GLIA_OK;
}
glia_status glia__dist_gather_states(glia__loop *L) {
    (void)L;
    return GLIA_OK;
}
#endif
