/* run.h: what the training loop (trainer.c), its checkpoints (checkpoint.c) and the metrics
 * (evaluate.c) share. Internal. */
#ifndef GLIA_TRAIN_RUN_H
#define GLIA_TRAIN_RUN_H
#include "core/internal.h"

/* running sums of classification metrics */
typedef struct glia__metrics {
    double loss;
    int64_t correct, top5, n;
    int64_t *confusion;          /* optional, classes x classes */
} glia__metrics;
void glia__metrics_add(glia__metrics *mt, const float *logits, const float *labels, int64_t n, int classes);
glia_status glia__metrics_result(const glia__metrics *mt, int classes, glia_eval_result *out);
glia_status glia__eval_split(glia_graph *g, int x, int logits, int label, const glia_dataset *d,
                             const int64_t *idx, int64_t n, float mean, float std, int64_t batch,
                             glia__metrics *mt);
glia_status glia__check_data_fits(const glia_shape *in, const glia_dataset *d);

/* One training run's whole state: everything a checkpoint must hold to continue bit for bit. */
typedef struct glia__run {
    /* settings (saved in the checkpoint) */
    char data[512], out_dir[1024];
    uint64_t seed;
    float val, clip_norm;
    int64_t limit;
    int epochs;
    int64_t batch;
    float mean, std;
    glia_augment aug;
    /* the model, the loss and the optimiser */
    glia_model *m;
    glia_graph *g;
    int x, logits, label, loss;
    glia_optim *opt;
    glia_lr_schedule sched;
    /* data: train_base is the training part of the split, in a fixed order; each epoch's order is
     * a shuffle of it drawn from the state of `rng` at the epoch's start (epoch_rng) */
    glia_dataset *own_train, *own_test;
    const glia_dataset *train, *test;
    int64_t *split;              /* all training-split indices: validation first, then training */
    int64_t n_val, n_train, batches;
    int64_t *order;              /* this epoch's order */
    glia_rng rng, epoch_rng;
    /* position */
    int epoch;                   /* epochs completed */
    int64_t next_batch;          /* within the current epoch (0 at a boundary) */
    int64_t step;                /* optimiser steps so far */
    double sum_loss, seconds;    /* this epoch so far */
    int64_t correct, seen;
    char *metrics;               /* metrics.csv so far */
    size_t metrics_len;
} glia__run;

glia_status glia__checkpoint_save(glia__run *r);
/* The tensors of a checkpoint (checkpoint.c): the graph's nodes for which keep() holds, under
 * their names, then the optimiser's state as "optimizer.<param>.<slot>", whose names are
 * allocated into *names: free them with glia__ckpt_names_free. */
glia_status glia__ckpt_entries(glia_graph *g, glia_optim *opt, int (*keep)(const glia_node *),
                               glia_st_entry **out, int *n_out, char ***names);
void glia__ckpt_names_free(char **names, glia_optim *opt);
/* A generator's state as "state:inc" in hex, and back (1 on success), for checkpoint metadata. */
void glia__rng_hex(const glia_rng *g, char *buf, size_t n);
int glia__rng_parse(const char *s, glia_rng *g);
/* One training step's forward (trainer.c), for both training loops: *l receives the loss. A
 * non-finite loss (or a non-finite value anywhere, with numerics checking on) runs the batch
 * again with checking on and the same dropout masks, and returns GLIA_ERANGE naming the first
 * op whose output became non-finite and the position (0-based epoch, batch, step). */
glia_status glia__train_forward(glia_graph *g, int loss, float *l, int epoch, int64_t batch,
                                int64_t step);
/* mkdir -p (trainer.c) */
glia_status glia__make_dir(const char *dir);
/* the loop for sequence models ([net] sequence > 0) on text data (seq_train.c) */
glia_status glia__train_seq(glia_model *m, const glia_train_options *o, glia_train_result *out);
/* continues the sequence run whose checkpoint (format glia-seq-checkpoint-1) is path, into
 * o->out_dir (seq_train.c) */
glia_status glia__train_seq_resume(const char *path, const glia_st_meta *meta, int epochs,
                                   const glia_train_options *o, glia_model **model,
                                   glia_train_result *out);
/* Restores the position, RNGs, optimiser state and weights of a run whose model, data and
 * optimiser are already set up as the checkpoint's settings say. */
glia_status glia__checkpoint_restore(glia__run *r, const char *path);
#endif
