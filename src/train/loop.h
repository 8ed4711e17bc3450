/* loop.h: the one training loop (loop.c), the tasks it drives (task_images.c, task_text.c), its
 * checkpoints (checkpoint.c) and the metrics (evaluate.c). Internal.
 *
 * The loop owns everything every task has: epochs, the learning-rate schedule, the optimiser,
 * the loss chosen by [net] loss, progress, metrics.csv and curves.png, checkpoints, --resume,
 * stop signals, and the one place where a step's gradients are complete (glia__loop.reduce).
 * A task owns its data: it loads it, checks the model against it, fills a batch (the input, the
 * lengths of a sequence batch, the class of each output row), says how many held-out and test
 * batches it has, carries recurrent state between batches where it must, and writes its extra
 * files (classes.txt, vocab.txt). A new task (regression on tables, sequence to sequence) is a
 * new glia__task_ops, not a new loop.
 * Data-parallel (dist.h; L->shards processes, this one L->shard): L->batch is this process's
 * part of the global batch of L->batch * L->shards samples; setup counts global batches in
 * L->batches; fill(TRAIN, b) reads shard L->shard of global batch b (and advances the
 * augmentation generator past every shard's draws); eval_batches and fill(VAL/TEST) cover this
 * process's part of the split (the loop sums the counts). With one process: shard 0 of 1. */
#ifndef GLIA_TRAIN_LOOP_H
#define GLIA_TRAIN_LOOP_H
#include "core/internal.h"

/* running sums of classification metrics */
typedef struct glia__metrics {
    double loss;
    int64_t correct, top5, n;
    int64_t *confusion;          /* optional, classes x classes */
} glia__metrics;
/* softmax cross-entropy, top-1, top-5 (and the confusion matrix) of n rows of logits; rows
 * labelled < 0 are padding and not counted */
void glia__metrics_add(glia__metrics *mt, const float *logits, const float *labels, int64_t n, int classes);
glia_status glia__metrics_result(const glia__metrics *mt, int classes, glia_eval_result *out);
glia_status glia__check_data_fits(const glia_shape *in, const glia_dataset *d);
/* channels of a data set's images (1 unless [N, C, H, W]); the model's [net] mean and std for
 * each of them in one new array (free it): mean[C], then std[C] */
int64_t glia__data_channels(const glia_dataset *d);
glia_status glia__data_norm(const glia_model *m, const glia_dataset *d, float **norm);

/* [net] loss: how the model's output is compared with the data's targets */
typedef enum { GLIA__LOSS_CE, GLIA__LOSS_MSE, GLIA__LOSS_BCE } glia__loss_kind;

/* the parts a batch is drawn from */
typedef enum { GLIA__TRAIN, GLIA__VAL, GLIA__TEST } glia__split;

typedef struct glia__loop glia__loop;
typedef struct glia__task_ops {
    const char *name;            /* "images", "text": recorded in the checkpoint */
    const char *extra_col;       /* metrics.csv's task column after val_acc */
    uint64_t rng_stream;         /* the stream of the loop's generator (seeded with the seed) */
    /* Loads the data (settings in L: data, val, limit, seed; or o->train_set), checks the model
     * L->m against it, sets L->g, L->x, L->out, L->rows, L->classes, L->batches, L->n_val;
     * the graph has its training batch set (not yet compiled: the loop adds the loss). */
    glia_status (*setup)(glia__loop *L, const glia_train_options *o);
    /* this epoch's order of the training samples, shuffled with r */
    void (*epoch_order)(glia__loop *L, glia_rng *r);
    /* Fills batch b of a split: the input (augmented with aug when not NULL), the lengths, and
     * L->ids[rows] (the class of each output row, -1 for padding). Returns the samples it
     * holds (images, or tokens), for throughput; a real_targets task, the live rows (the first
     * ones; the rest are padding, not counted in the metrics). */
    int64_t (*fill)(glia__loop *L, glia__split split, int64_t b, glia_rng *aug);
    /* batches in the held-out (VAL) or TEST part; 0 when there is none */
    int64_t (*eval_batches)(glia__loop *L, glia__split split);
    /* recurrent state carried from one batch to the next: reset (at an epoch's and an
     * evaluation's start) or carried (after each forward); NULL when nothing is carried */
    glia_status (*carry)(glia__loop *L, int reset);
    /* the task's extra files in the run directory */
    glia_status (*write_files)(glia__loop *L);
    /* frees what the task's state holds (the loop frees the state itself) */
    void (*free)(void *ts);
    int test_is_val;             /* no test part of its own: the result is the held-out part's */
    const char *unit;            /* what fill's samples are, for throughput: "img", "tok", "rows" */
    /* 0: fill gives each output row's class in glia__loop_ids (softmax_ce takes it; mse and
     * bce compare with it one-hot); 1: real-valued targets (regression, multi-label), which
     * fill writes itself into glia__loop_in(L, L->label), [rows, outputs], for mse or bce;
     * the metrics are then the loss alone (accuracy NaN) */
    int real_targets;
    /* 1: fill and eval_batches honour L->shard / L->shards (data-parallel, dist.h); a task
     * without it refuses to run under more than one process */
    int sharded;
} glia__task_ops;

extern const glia__task_ops glia__task_images, glia__task_text, glia__task_table;
extern const glia__task_ops glia__task_seq2seq; /* task_seq2seq.c */

/* One training run's whole state: everything a checkpoint must hold to continue bit for bit. */
struct glia__loop {
    const glia__task_ops *task;
    void *ts;                    /* the task's own state */
    /* settings (saved in the checkpoint) */
    char data[512], out_dir[1024];
    char val_data[512];          /* an image folder run's test folder ("": none) */
    char target[512];            /* a CSV table's target columns, "a,b" ("": not a table) */
    uint64_t seed;
    float val, clip_norm;
    int64_t limit;
    int epochs;
    /* the caller's model, trained in place; the loss and the optimiser */
    glia_model *m;
    glia_graph *g;
    int x, out, label, loss;
    glia__loss_kind loss_kind;
    int64_t batch, rows, batches, n_val;  /* rows: output rows per batch */
    int classes;
    float *ids;                  /* [rows] the class per output row, for mse and bce (for
                                  * softmax_ce the label node itself): glia__loop_ids */
    glia_optim *opt;
    glia_lr_schedule sched;
    /* the one place where a step's gradients are complete, between backward and the optimiser
     * step: data-parallel training reduces them here (NULL: nothing to do) */
    glia_status (*reduce)(glia__loop *L);
    /* position */
    glia_rng rng, epoch_rng;
    int epoch;                   /* epochs completed */
    int64_t next_batch;          /* within the current epoch (0 at a boundary) */
    int64_t step;                /* optimiser steps so far */
    glia__metrics tm;            /* this epoch's training sums so far */
    int64_t samples;             /* this epoch's images or tokens so far */
    float grad_scale;            /* > 0: fill's factor for this batch's loss gradient (1: 0) */
    double seconds, epoch_seconds; /* training time of the finished epochs; of this one so far */
    char *metrics;               /* metrics.csv so far */
    int eval_only;               /* glia_evaluate_run: no run directory, lock or optimiser */
    int resuming;                /* set up from a checkpoint (the model's mean and std are kept) */
    struct glia__run_lock *lock; /* out_dir's, held from set-up to the end (run_lock.c) */
    /* host copies of the nodes a batch writes or reads, on a device without host memory (on
     * the cpu the nodes' own memory is used: no copy) */
    struct glia__staged { int node, dirty; int64_t n; float *buf; } *staged;
    int n_staged;
    /* data-parallel training (dist.h): this process's shard of each global batch and their
     * number (the MPI rank and size; 0 and 1 in one process); the caller's stop flag and the
     * stop every rank agreed on in the last step; the gradients' buffer; seconds spent in the
     * gradients' all-reduce (waiting for the slowest rank included) */
    int shard, shards, dist_stop;
    volatile int *stop;
    float *dist_buf;
    double dist_comm_seconds;
    /* rank 0: the carried states of the whole global batch, gathered before a checkpoint
     * (glia__dist_gather_states), one after the other in graph order; NULL with one process */
    float *dist_states;
    struct glia__buckets *buckets; /* the gradient buckets (dist.c); NULL: one all-reduce */
};

/* Host memory of a node for a task or the loop to write a batch into (an input: x, lengths,
 * labels): the node's own on the cpu device, else a host copy that glia__loop_upload writes to
 * the device before the forward. NULL when out of memory. */
float *glia__loop_in(glia__loop *L, int node);
/* The node's values (an output, the loss) in host memory, read after a forward: the node's own
 * on the cpu, else downloaded into a host copy. NULL on error (glia_last_error says). */
const float *glia__loop_out(glia__loop *L, int node);
glia_status glia__loop_upload(glia__loop *L);

/* where a task writes the class of each output row */
static inline float *glia__loop_ids(glia__loop *L) {
    return L->loss_kind == GLIA__LOSS_CE ? glia__loop_in(L, L->label) : L->ids;
}

/* The run directory's lock (run_lock.c): an advisory lock on DIR/.glia-lock that dies with its
 * process; a second run on DIR (another process, or this one) gets GLIA_ESTATE naming DIR and the
 * holder's PID. Taking it also removes dead processes' temporary files and checks that DIR can
 * be written. */
typedef struct glia__run_lock glia__run_lock;
glia_status glia__run_lock_take(const char *dir, glia__run_lock **out);
void glia__run_lock_release(glia__run_lock *k);

/* glia_train with a given task (glia_train picks images or text from the model) */
glia_status glia__train_task(glia_model *m, const glia__task_ops *task, const glia_train_options *o,
                             glia_train_result *out);

/* The run's checkpoint (checkpoint.c): format glia-checkpoint-2; reads -1 and the sequence
 * loop's glia-seq-checkpoint-1 too. */
glia_status glia__checkpoint_save(glia__loop *L);
/* The settings of a checkpoint's run (model text, data, seed, val, clip_norm, limit, epochs)
 * into L and *text (owned by meta), and its task. */
glia_status glia__checkpoint_settings(const char *path, const glia_st_meta *meta, glia__loop *L,
                                      const char **text);
/* Freezes the parameters the checkpoint's metadata lists as frozen and sets the learning-rate
 * factors it lists (none when a key is absent: older checkpoints); a name that is not a
 * parameter of g is an error naming path. */
glia_status glia__checkpoint_param_settings(const char *path, const glia_st_meta *meta, glia_graph *g);
/* Restores the position, generators, optimiser state and weights of a run set up as the
 * checkpoint's settings say. */
glia_status glia__checkpoint_restore(glia__loop *L, const char *path);
/* A carried recurrent state (glia_node_is_state) of the global batch: node n's [.., N, ..]
 * (N along its batch axis) of data-parallel rank r is [.., r N .. r N + N, ..] of the whole
 * [.., K N, ..] that checkpoints hold, so that any number of processes can continue them.
 * to_whole: part into whole, else whole into part. */
void glia__state_slice(const glia_node *n, int K, int r, float *whole, float *part, int to_whole);
/* A generator's state as "state:inc" in hex, and back (1 on success), for checkpoint metadata. */
void glia__rng_hex(const glia_rng *g, char *buf, size_t n);
int glia__rng_parse(const char *s, glia_rng *g);
/* dir/file in the run directory: the n strings, one per line (classes.txt) */
glia_status glia__write_lines(const glia__loop *L, const char *file, const char *const *lines, int n);
/* Fisher-Yates shuffle of a[0..n) with r */
void glia__shuffle(int64_t *a, int64_t n, glia_rng *r);
/* Length buckets of a sequence-to-sequence epoch (task_seq2seq.c), so that the recurrent ops'
 * skip of the steps past a batch's longest length pays (rnn.c): the shuffled order[0 .. nb G)
 * (nb batches of G pairs of p) is cut into chunks of `bucket` batches, each chunk sorted by
 * (source length, target length) and cut into batches, and the batches' order shuffled with
 * r. Scratch: keys [bucket G], scratch [nb + nb G]. */
typedef struct glia__keyed {
    int64_t key, pos, id;
} glia__keyed;
void glia__length_buckets(const glia_pairs *p, int64_t *order, int64_t G, int64_t nb, int64_t bucket,
                          glia_rng *r, glia__keyed *keys, int64_t *scratch);
#endif
