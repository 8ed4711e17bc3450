/* test_dist.c: what data-parallel training (src/train/dist.c) rests on without mpirun: a shard
 * of an augmented batch filled by one process after skipping the others' draws
 * (glia_augment_skip) is the same rows as one process's whole batch, and leaves the generator
 * where the whole batch does; one process outside mpirun is rank 0 of 1. The runs under mpirun
 * are tests/mpi_test.sh. */
#include "test.h"
#include <stdlib.h>
#include <string.h>

TEST(dist_shard_of_augmented_batch) {
    glia_dataset *d = test_blobs(24, 5);
    CHECK(d);
    enum { B = 12, K = 3, S = B / K, PER = 64 };
    int64_t idx[B];
    for (int i = 0; i < B; i++) idx[i] = (i * 7) % 24;
    glia_augment aug = {.shift = 2, .hflip = 1, .crop = 0.5f, .jitter = 0.2f}; /* every draw */
    const float mean = 0.5f, sd = 2.0f;
    float whole[B * PER], wy[B], part[S * PER], py[S];
    glia_rng r0, r;
    glia_rng_seed(&r0, 11, 0xda7a);
    r = r0;
    glia_dataset_batch(d, idx, B, &mean, &sd, &aug, &r, whole, wy);
    const glia_rng end = r;
    for (int k = 0; k < K; k++) { /* shard k: skip k S samples' draws, fill S, skip the rest */
        glia_rng q = r0;
        glia_augment_skip(d, &aug, &q, k * S);
        glia_dataset_batch(d, idx + k * S, S, &mean, &sd, &aug, &q, part, py);
        glia_augment_skip(d, &aug, &q, (K - 1 - k) * S);
        CHECK_MSG(!memcmp(part, whole + k * S * PER, sizeof part) && !memcmp(py, wy + k * S, sizeof py),
                  "shard %d differs from rows %d..%d of the whole batch", k, k * S, k * S + S - 1);
        CHECK_MSG(q.state == end.state && q.inc == end.inc, "shard %d leaves the generator elsewhere", k);
    }
    /* the augmentation really drew: another start gives other pixels */
    glia_rng_seed(&r, 12, 0xda7a);
    glia_dataset_batch(d, idx, S, &mean, &sd, &aug, &r, part, py);
    CHECK(memcmp(part, whole, sizeof part));
    glia_augment_skip(d, NULL, &r, 5); /* no augmentation: nothing to skip, no crash */
    glia_dataset_free(d);
}

TEST(dist_one_process) {
    CHECK(glia_dist_init() == GLIA_OK);
    CHECK(glia_dist_rank() == 0 && glia_dist_size() == 1);
    glia_dist_abort(1); /* returns: there is no other process */
}
