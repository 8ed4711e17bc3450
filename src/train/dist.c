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

/* the step's reduction (L->reduce): see the top of this file */
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

glia_status glia__dist_start(glia__loop *L) {
    if (L->shards <= 1) return GLIA_OK;
    glia_graph *g = L->g;
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
    mine[2] = fnv(fnv(fnv(0xcbf29ce484222325ull, &L->seed, sizeof L->seed), &L->val, sizeof L->val),
                  &L->limit, sizeof L->limit);
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
                                                    "settings (--seed, --val, --limit)"};
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
