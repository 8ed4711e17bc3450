/* lr_schedule.c: learning-rate schedules as closed forms of torch.optim.lr_scheduler, with an
 * optional linear warm-up. For step t (0-based, t < 0 read as 0) and W = warmup_steps:
 *   t < W:   lr = base_lr (t + 1) / W          (base/W at t = 0, reaching base at t = W - 1;
 *                                             torch's LinearLR(start_factor=1/W, total_iters=W-1))
 *   t >= W:  u = t - W and
 *     constant  base_lr
 *     step      base_lr gamma^floor(u / step_size)                            (StepLR)
 *     exp       base_lr gamma^u                                               (ExponentialLR)
 *     cosine    min_lr + (base_lr - min_lr) (1 + cos(pi u / total_steps)) / 2 (CosineAnnealingLR
 *               with T_max = total_steps, eta_min = min_lr; total_steps counts the steps after the
 *               warm-up. Past total_steps the cosine goes on, as PyTorch's does: it rises again
 *               and reaches base_lr at u = 2 total_steps.)
 * Computed in double. Settings that make no sense give NaN (which glia_optim_step then rejects)
 * and set glia_last_error(): a NULL schedule, an unknown kind, step_size < 1 for step,
 * total_steps < 1 for cosine, warmup_steps < 0. */
#include "../core/internal.h"
#include <math.h>

float glia_lr_at(const glia_lr_schedule *s, int64_t step) {
    if (!s) {
        glia__err(GLIA_EINVAL, "glia_lr_at: schedule is NULL");
        return NAN;
    }
    if (s->warmup_steps < 0) {
        glia__err(GLIA_EINVAL, "glia_lr_at: warmup_steps %lld is negative", (long long)s->warmup_steps);
        return NAN;
    }
    const double base = s->base_lr;
    int64_t t = step < 0 ? 0 : step;
    if (t < s->warmup_steps) return (float)(base * (double)(t + 1) / (double)s->warmup_steps);
    t -= s->warmup_steps;
    switch (s->kind) {
    case GLIA_LR_CONSTANT: return (float)base;
    case GLIA_LR_STEP:
        if (s->step_size < 1) {
            glia__err(GLIA_EINVAL, "glia_lr_at: step schedule with step_size %lld (must be >= 1)",
                      (long long)s->step_size);
            return NAN;
        }
        return (float)(base * pow((double)s->gamma, (double)(t / s->step_size)));
    case GLIA_LR_EXP: return (float)(base * pow((double)s->gamma, (double)t));
    case GLIA_LR_COSINE: {
        if (s->total_steps < 1) {
            glia__err(GLIA_EINVAL, "glia_lr_at: cosine schedule with total_steps %lld (must be >= 1)",
                      (long long)s->total_steps);
            return NAN;
        }
        const double mn = s->min_lr;
        const double pi = 3.14159265358979323846;
        return (float)(mn + (base - mn) * (1.0 + cos(pi * (double)t / (double)s->total_steps)) / 2.0);
    }
    }
    glia__err(GLIA_EINVAL, "glia_lr_at: unknown schedule kind %d", (int)s->kind);
    return NAN;
}
