/* dist.h: data-parallel training across processes (dist.c, with MPI; without MPI the same calls
 * for one process). Internal: the loop (loop.c) calls these at its hooks.
 *
 * Every rank holds the whole model. A global batch of B samples (the [net] batch) is split into
 * K shards of B/K (L->shard = the rank, L->shards = K): the tasks read shard r of global batch b
 * as samples [(b K + r) B/K, (b K + r + 1) B/K) of the epoch's order, so the global batch holds
 * the same samples as one process's batch b at batch B. After backward each rank's gradient
 * (weighted by its rows, see dist.c) is summed over the ranks with one MPI_Allreduce of one
 * contiguous buffer, and every rank takes the same optimiser step. */
#ifndef GLIA_TRAIN_DIST_H
#define GLIA_TRAIN_DIST_H
#include "train/loop.h"

/* The loop's set-up is done and its position set (started or restored): the ranks check that
 * they run the same model, data and settings (a hash of the model text and the data's sizes),
 * take rank 0's weights, and L->reduce is set. A no-op with one process. */
glia_status glia__dist_start(glia__loop *L);
/* The default size of the gradient buckets sent while backward goes on, in kilobytes
 * (GLIA_MPI_BUCKET_KB overrides it; 0: one all-reduce after backward, dist.c). 1 MB buckets
 * trained faster than the one all-reduce in 4 of 5 runs of bench/mpi_speed.sh here (README:
 * data-parallel training). */
#define GLIA__BUCKET_KB 1024
/* Frees what glia__dist_start made (the buckets) and unhooks the graph. */
void glia__dist_end(glia__loop *L);
/* Sums metric counts (and the confusion matrix) over the ranks: every rank gets the totals. */
glia_status glia__dist_sum(glia__loop *L, glia__metrics *mt);
/* The end of an epoch's training, or a stop within one: batch norm's running statistics (every
 * buffer) become their mean over the ranks, and the weights are checked to be equal on every
 * rank. */
glia_status glia__dist_epoch_end(glia__loop *L);
/* Before a checkpoint: rank 0 gathers every rank's carried recurrent states into
 * L->dist_states, the whole global batch's (glia__state_slice), which the checkpoint holds. */
glia_status glia__dist_gather_states(glia__loop *L);
/* Whether to stop after this step: the caller's *stop on any rank, agreed in the step's
 * reduction, so that every rank stops at the same batch. */
int glia__dist_stop(const glia__loop *L, const glia_train_options *o);
/* The shard of this process and their number (rank, size; 0 and 1 without MPI). */
void glia__dist_shard(int *shard, int *shards);
#endif
