/* chan_blocks.h: what softmax.c and lrn.c share, their split of x [N, C, ...] into jobs. x is
 * read as [N, C, S], S the product of the sizes after C; a job is a block of up to `block`
 * consecutive spatial positions of one sample, with all C channels (channels outer, positions
 * inner: contiguous reads). Jobs run in parallel and each sums over c in order, so results
 * are bit-identical for any number of threads. */
#ifndef GLIA_OPS_CHAN_BLOCKS_H
#define GLIA_OPS_CHAN_BLOCKS_H

#include "../core/internal.h"

typedef struct {
    int64_t N, C, S;
    int64_t nblk, jobs; /* blocks per sample; jobs = N nblk */
    int block;
} chan_blocks;

static inline chan_blocks chan_blocks_of(const glia_shape *s, int block) {
    chan_blocks d = {s->dim[0], s->dim[1], 1, 0, 0, block};
    for (int i = 2; i < s->ndim; i++) d.S *= s->dim[i];
    d.nblk = (d.S + block - 1) / block;
    d.jobs = d.N * d.nblk;
    return d;
}

/* the offset of job's first value in x (b C S + s0), its positions in *bs (<= block) */
static inline int64_t chan_block_at(const chan_blocks *d, int64_t job, int *bs) {
    int64_t b = job / d->nblk, s0 = job % d->nblk * d->block;
    *bs = (int)(d->S - s0 < d->block ? d->S - s0 : d->block);
    return b * d->C * d->S + s0;
}

#endif
