/* loop.c: the training loop, one for every task (loop.h). Per step:
 *   lr = schedule(step); task fills batch b; forward; loss; backward;
 *   [the gradients are complete: L->reduce]; optimiser step; carried state; metrics
 * After every epoch a held-out pass, the run's files (each atomically) and a checkpoint, so that
 * a run can stop at any batch and continue bit for bit. */
#include "train/loop.h"
#include "train/dist.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void glia__shuffle(int64_t *a, int64_t n, glia_rng *r) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)glia_rng_below(r, (uint32_t)(i + 1)), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* mkdir -p */
static glia_status make_dir(const char *dir) {
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *q = p + 1; *q; q++) /* mkdir -p */
        if (*q == '/') {
            *q = 0;
            if (mkdir(p, 0777) && errno != EEXIST)
                return glia__err(GLIA_EIO, "%s: cannot create: %s", p, strerror(errno));
            *q = '/';
        }
    if (mkdir(p, 0777) && errno != EEXIST) return glia__err(GLIA_EIO, "%s: cannot create: %s", p, strerror(errno));
    return GLIA_OK;
}

/* ---------------------------------------------------------------- host copies of batch nodes */

static struct glia__staged *staged(glia__loop *L, int node) {
    for (int i = 0; i < L->n_staged; i++)
        if (L->staged[i].node == node) return &L->staged[i];
    glia_shape sh;
    if (glia_node_shape(L->g, node, &sh)) return NULL;
    struct glia__staged *p = glia__realloc(L->staged, (size_t)(L->n_staged + 1) * sizeof *p);
    if (!p) return NULL;
    L->staged = p;
    p += L->n_staged;
    p->node = node;
    p->dirty = 0;
    p->n = glia_shape_numel(&sh);
    if (!(p->buf = glia__calloc((size_t)p->n, sizeof *p->buf))) return NULL;
    L->n_staged++;
    return p;
}

float *glia__loop_in(glia__loop *L, int node) {
    float *v = glia_node_value(L->g, node);
    if (v) return v;
    struct glia__staged *p = staged(L, node);
    if (!p) return NULL;
    p->dirty = 1;
    return p->buf;
}

const float *glia__loop_out(glia__loop *L, int node) {
    const float *v = glia_node_value(L->g, node);
    if (v) return v;
    struct glia__staged *p = staged(L, node);
    if (!p) {
        glia__err(GLIA_ENOMEM, "training: out of memory");
        return NULL;
    }
    return glia_node_read(L->g, node, p->buf, p->n) ? NULL : p->buf;
}

glia_status glia__loop_upload(glia__loop *L) {
    for (int i = 0; i < L->n_staged; i++) {
        struct glia__staged *p = &L->staged[i];
        if (!p->dirty) continue;
        glia_status s = glia_node_write(L->g, p->node, p->buf, p->n);
        if (s) return s;
        p->dirty = 0;
    }
    return GLIA_OK;
}

static void loop_free(glia__loop *L) {
    for (int i = 0; i < L->n_staged; i++) free(L->staged[i].buf);
    free(L->staged);
    if (L->ts) L->task->free(L->ts);
    free(L->ts);
    glia_optim_free(L->opt);
    free(L->ids);
    free(L->metrics);
    glia__dist_end(L);
    free(L->dist_buf);
    free(L->dist_states);
    glia__run_lock_release(L->lock);
}

/* ---------------------------------------------------------------- set-up */

static float opt_float(glia_model *m, const char *k) { return strtof(glia_model_option(m, k), NULL); }
static long long opt_int(glia_model *m, const char *k) { return strtoll(glia_model_option(m, k), NULL, 10); }

/* Bytes of memory available for new allocations: MemAvailable of /proc/meminfo (the kernel's
 * estimate without swapping), 0 when unknown (then nothing is refused). */
static uint64_t mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* Refuses a plan the machine cannot hold, before any of it is allocated: the kernel would kill
 * the process at its first touch of memory it overcommitted, with no message. Needed: the
 * activations and gradients, workspace, saved state, inputs, parameter gradients, and the
 * optimiser's state (up to two slots per parameter, Adam's). */
static glia_status check_memory(glia__loop *L, const glia_train_options *o) {
    glia_status s = glia_graph_compile(L->g, GLIA_COMPILE_BACKWARD | GLIA_COMPILE_PLAN_ONLY);
    glia_memory_stats ms;
    if (s || (s = glia_graph_memory(L->g, &ms))) return s;
    const char *on = glia_model_option(L->m, "optimizer");
    double slots = !strncmp(on, "adam", 4) ? 2 : strcmp(on, "sgd") || opt_float(L->m, "momentum") > 0 ? 1 : 0;
    double gib = 1024.0 * 1024 * 1024, opt = slots * (double)ms.params;
    double act = (double)ms.arena + (double)ms.workspace + (double)ms.saved;
    double need = act + (double)ms.inputs + (double)ms.param_grads + opt;
    double avail = (double)mem_available();
    if (o->force_memory || avail <= 0 || need <= avail) return GLIA_OK;
    return glia__err(GLIA_ENOMEM, "training needs %.2f GiB more memory for a batch of %lld "
                     "(activations, gradients and workspace %.2f GiB, inputs %.2f GiB, parameter "
                     "gradients %.2f GiB, optimiser state %.2f GiB) and %.2f GiB is available "
                     "(MemAvailable); lower the batch or the model's size, or force it (glia train "
                     "--force-memory)", need / gib, (long long)L->batch, act / gib,
                     (double)ms.inputs / gib, (double)ms.param_grads / gib, opt / gib, avail / gib);
}

/* [net] loss: softmax_ce (labels: a class per row), mse or bce (targets: the row's class as a
 * one-hot vector, so a classifier's data trains a regression or multi-label head too) */
static glia_status make_loss(glia__loop *L, const glia_train_options *o) {
    const char *ln = glia_model_option(L->m, "loss");
    L->loss_kind = !strcmp(ln, "softmax_ce") ? GLIA__LOSS_CE : !strcmp(ln, "mse") ? GLIA__LOSS_MSE
                 : !strcmp(ln, "bce") ? GLIA__LOSS_BCE : (glia__loss_kind)-1;
    if ((int)L->loss_kind < 0)
        return glia__err(GLIA_EINVAL, "[net] loss = %s: expected softmax_ce, mse or bce", ln);
    glia_shape os;
    glia_status s = glia_node_shape(L->g, L->out, &os);
    if (s) return s;
    if (os.ndim != 2 || os.dim[0] != L->rows || os.dim[1] != L->classes) {
        char a[96];
        return glia__err(GLIA_ESHAPE, "the model's output is %s; the loss needs [%lld, %d] (rows, "
                         "[net] classes)", glia_shape_str(&os, a, sizeof a), (long long)L->rows,
                         L->classes);
    }
    if (L->task->real_targets && L->loss_kind == GLIA__LOSS_CE)
        return glia__err(GLIA_EINVAL, "[net] loss = softmax_ce takes a class per row; this data "
                         "has real-valued targets: use mse (regression) or bce (multi-label)");
    /* [net] label_smoothing: softmax_ce's target (1 - eps) onehot + eps / classes. The losses
     * metrics.csv reports stay the plain cross-entropy (count: from the logits) */
    const float eps = opt_float(L->m, "label_smoothing");
    if (!(eps >= 0 && eps < 1))
        return glia__err(GLIA_EINVAL, "[net] label_smoothing = %s: must be in [0, 1)",
                         glia_model_option(L->m, "label_smoothing"));
    if (eps > 0 && L->loss_kind != GLIA__LOSS_CE)
        return glia__err(GLIA_EINVAL, "[net] label_smoothing = %s smooths softmax_ce's targets; "
                         "[net] loss = %s has none to smooth (use 0)",
                         glia_model_option(L->m, "label_smoothing"), ln);
    if (L->loss_kind == GLIA__LOSS_CE) {
        if ((s = glia_input(L->g, "label", 1, (int64_t[]){L->rows}, &L->label)) ||
            (s = glia_softmax_cross_entropy_smoothed(L->g, "loss", L->out, L->label, eps, &L->loss)))
            return s;
    } else {
        if (!(L->ids = glia__malloc((size_t)L->rows * sizeof *L->ids)))
            return glia__err(GLIA_ENOMEM, "training: out of memory");
        if ((s = glia_input(L->g, "target", 2, (int64_t[]){L->rows, L->classes}, &L->label))) return s;
        s = L->loss_kind == GLIA__LOSS_MSE ? glia_mse_loss(L->g, "loss", L->out, L->label, &L->loss)
                                           : glia_bce_with_logits(L->g, "loss", L->out, L->label, &L->loss);
        if (s) return s;
    }
    if ((s = check_memory(L, o))) return s;
    return glia_graph_compile(L->g, GLIA_COMPILE_BACKWARD);
}

/* the optimiser and the schedule (per step; step_size and gamma are given per epoch) */
static glia_status make_optim(glia__loop *L) {
    glia_model *m = L->m;
    const char *on = glia_model_option(m, "optimizer");
    glia_optim_config oc = {0};
    oc.kind = !strcmp(on, "sgd") || !strcmp(on, "nesterov") ? GLIA_SGD : !strcmp(on, "rmsprop") ? GLIA_RMSPROP
            : !strcmp(on, "adam") ? GLIA_ADAM : !strcmp(on, "adamw") ? GLIA_ADAMW : (glia_optim_kind)-1;
    if ((int)oc.kind < 0)
        return glia__err(GLIA_EINVAL, "[net] optimizer = %s: expected sgd, nesterov, rmsprop, adam "
                         "or adamw", on);
    oc.nesterov = !strcmp(on, "nesterov");
    oc.lr = opt_float(m, "lr");
    oc.momentum = oc.kind == GLIA_SGD ? opt_float(m, "momentum") : 0;
    oc.weight_decay = opt_float(m, "weight_decay");
    oc.clip_norm = L->clip_norm;
    if (!(oc.lr > 0)) return glia__err(GLIA_EINVAL, "[net] lr = %g: must be > 0", (double)oc.lr);
    if (oc.nesterov && !(oc.momentum > 0))
        return glia__err(GLIA_EINVAL, "[net] optimizer = nesterov needs momentum > 0");
    const char *sn = glia_model_option(m, "schedule");
    glia_lr_schedule *sc = &L->sched;
    sc->kind = !strcmp(sn, "constant") ? GLIA_LR_CONSTANT : !strcmp(sn, "step") ? GLIA_LR_STEP
             : !strcmp(sn, "exp") ? GLIA_LR_EXP : !strcmp(sn, "cosine") ? GLIA_LR_COSINE : (glia_lr_kind)-1;
    if ((int)sc->kind < 0)
        return glia__err(GLIA_EINVAL, "[net] schedule = %s: expected constant, step, exp or cosine", sn);
    sc->base_lr = oc.lr;
    sc->gamma = opt_float(m, "gamma");
    sc->step_size = opt_int(m, "step_size") * L->batches;
    if (sc->kind == GLIA_LR_EXP) sc->gamma = powf(sc->gamma, 1.0f / (float)L->batches);
    sc->warmup_steps = opt_int(m, "warmup");
    sc->total_steps = (int64_t)L->epochs * L->batches - sc->warmup_steps;
    if (sc->total_steps < 1) sc->total_steps = 1;
    if (sc->step_size < 1) sc->step_size = 1;
    return glia_optim_new(L->g, &oc, &L->opt);
}

/* Everything but the position: the task's data and model, the loss, the optimiser. */
static glia_status loop_setup(glia__loop *L, glia_model *user, const glia_train_options *o) {
    L->m = user;
    L->batch = opt_int(user, "batch");
    if (L->epochs < 1 || L->batch < 1)
        return glia__err(GLIA_EINVAL, "training needs epochs >= 1 and batch >= 1 (got %d, %lld)",
                         L->epochs, (long long)L->batch);
    /* data-parallel (dist.h): [net] batch is the global batch; each rank runs its shard */
    glia__dist_shard(&L->shard, &L->shards);
    if (L->batch % L->shards)
        return glia__err(GLIA_EINVAL, "[net] batch = %lld is the global batch of %d processes: it "
                         "must be a multiple of %d", (long long)L->batch, L->shards, L->shards);
    if (L->shards > 1 && !L->task->sharded)
        return glia__err(GLIA_EINVAL, "%s training does not run data-parallel yet: start it as one "
                         "process (not under mpirun -np %d)", L->task->name, L->shards);
    L->batch /= L->shards;
    if (!(L->val >= 0 && L->val < 1))
        return glia__err(GLIA_EINVAL, "val = %g is not in [0, 1)", (double)L->val);
    glia_status s;
    if (o->device && (s = glia_graph_set_device(glia_model_graph(user), o->device))) return s;
    /* rank 0 alone makes and locks the run directory (the others write nothing there) */
    /* an evaluation alone (glia_evaluate_run) writes nothing and needs no optimiser */
    if ((!L->eval_only && !L->shard && ((s = make_dir(L->out_dir)) || (!L->lock && (s = glia__run_lock_take(L->out_dir, &L->lock))))) ||
        (s = L->task->setup(L, o)) || (s = make_loss(L, o)) ||
        (!L->eval_only && (s = make_optim(L))))
        return s;
    return GLIA_OK;
}

static glia_status test_pass(glia__loop *L, const glia__metrics *vm, glia_eval_result *out);

/* ---------------------------------------------------------------- steps and metrics */

/* the targets from L->ids: the label node is L->ids for softmax_ce; one-hot rows otherwise */
static void set_targets_host(glia__loop *L);
/* the batch is filled: the targets from the classes, then everything to the device */
static glia_status batch_ready(glia__loop *L) {
    set_targets_host(L);
    return glia__loop_upload(L);
}
static void set_targets_host(glia__loop *L) {
    if (L->loss_kind == GLIA__LOSS_CE || L->task->real_targets) return;
    float *t = glia__loop_in(L, L->label);
    memset(t, 0, (size_t)L->rows * (size_t)L->classes * sizeof *t);
    /* a padding row (-1) has no target: its output is compared with zeros (mse and bce cannot
     * ignore a row; the tasks that pad, tagging and held-out tails, are counted without them) */
    for (int64_t i = 0; i < L->rows; i++)
        if (L->ids[i] >= 0) t[i * L->classes + (int64_t)L->ids[i]] = 1;
}

/* adds this batch's rows to mt: accuracy from the output, the loss the model trains with */
static glia_status count(glia__loop *L, glia__metrics *mt, int64_t live) {
    const int real = L->task->real_targets;
    const int64_t rows = real ? live : L->rows; /* real targets: padding rows are not counted */
    const float *z = glia__loop_out(L, L->out), *ids = real ? NULL : glia__loop_ids(L),
                *tv = real ? glia__loop_in(L, L->label) : NULL;
    if (!z || (!ids && !tv)) return glia__err(GLIA_ESTATE, "training: reading the output: %s", glia_last_error());
    double loss = mt->loss;
    if (real) mt->n += rows; /* every live row counts; no accuracy */
    else glia__metrics_add(mt, z, ids, L->rows, L->classes);
    if (L->loss_kind == GLIA__LOSS_CE) return GLIA_OK;
    /* mse and bce: the loss counted is the row's mean loss, not the cross-entropy (the graph's
     * loss is the mean of these over the rows) */
    mt->loss = loss;
    const int64_t C = L->classes;
    for (int64_t i = 0; i < rows; i++) {
        if (ids && ids[i] < 0) continue;
        double r = 0;
        for (int64_t c = 0; c < C; c++) {
            double x = z[i * C + c], t = tv ? tv[i * C + c] : c == (int64_t)ids[i];
            r += L->loss_kind == GLIA__LOSS_MSE ? (x - t) * (x - t)
                                                : fmax(x, 0) - x * t + log1p(exp(-fabs(x)));
        }
        mt->loss += r / (double)C;
    }
    return GLIA_OK;
}

/* One step's forward: *l receives the loss. A non-finite loss (or a non-finite value anywhere,
 * with numerics checking on) runs the batch again with checking on and the same dropout masks,
 * and returns GLIA_ERANGE naming the first op whose output became non-finite and the position. */
static glia_status train_forward(glia__loop *L, float *l, int64_t b) {
    glia_graph *g = L->g;
    glia_rng masks = *glia_graph_rng(g);
    glia_status s = glia_graph_forward(g);
    const float *lv = s ? NULL : glia__loop_out(L, L->loss);
    if (!s && !lv) return GLIA_ESTATE;
    *l = s ? NAN : lv[0];
    if (s != GLIA_ERANGE && (s || isfinite(*l))) return s;
    char first[600];
    *glia_graph_rng(g) = masks;
    glia_graph_set_check_numerics(g, 1);
    if (!s) s = glia_graph_forward(g);
    snprintf(first, sizeof first, "%s", s ? glia_last_error() : "(not found)");
    /* what is on disk: a finished epoch's checkpoint, the one resumed from, or none */
    char kept[80];
    if (L->epoch > 0)
        snprintf(kept, sizeof kept, "the checkpoint of epoch %d is kept", L->epoch);
    else if (L->resuming)
        snprintf(kept, sizeof kept, "the checkpoint this run resumed from is kept");
    else
        snprintf(kept, sizeof kept, "no checkpoint was written (the first epoch did not finish)");
    return glia__err(GLIA_ERANGE, "training stopped at epoch %d, batch %lld (step %lld): values "
                     "became non-finite (first %s); try a lower lr or clip_norm; %s", L->epoch + 1,
                     (long long)b + 1, (long long)L->step + 1, first, kept);
}

/* a held-out or test pass: inference mode, full batches (padding rows are labelled -1) */
static glia_status evaluate(glia__loop *L, glia__split split, glia__metrics *mt) {
    glia_status s;
    glia_graph_set_training(L->g, 0);
    if (L->task->carry && (s = L->task->carry(L, 1))) return s;
    int64_t nb = L->task->eval_batches(L, split);
    for (int64_t b = 0; b < nb; b++) {
        int64_t live = L->task->fill(L, split, b, NULL);
        if ((s = batch_ready(L)) || (s = glia_graph_forward(L->g))) return s;
        if (L->task->carry && (s = L->task->carry(L, 0))) return s;
        if ((s = count(L, mt, live))) return s;
    }
    return glia__dist_sum(L, mt); /* the ranks' parts of the split */
}

/* ---------------------------------------------------------------- the run's files */

static glia_status write_text(const glia__loop *L, const char *name, const char *text) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", L->out_dir, name);
    return glia__write_atomic(path, text, strlen(text));
}

glia_status glia__write_lines(const glia__loop *L, const char *file, const char *const *lines, int n) {
    size_t len = 1, at = 0;
    for (int i = 0; i < n; i++) len += strlen(lines[i]) + 1;
    char *text = glia__malloc(len);
    if (!text) return glia__err(GLIA_ENOMEM, "training: out of memory");
    text[0] = 0;
    for (int i = 0; i < n; i++) at += (size_t)sprintf(text + at, "%s\n", lines[i]);
    glia_status s = write_text(L, file, text);
    free(text);
    return s;
}

/* curves.png from metrics.csv: loss and accuracy per epoch */
static glia_status write_curves(glia__loop *L) {
    int n = L->epoch;
    double *v = glia__malloc((size_t)(n > 0 ? n : 1) * 5 * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "training: out of memory");
    double *x = v, *tl = v + n, *ta = v + 2 * n, *vl = v + 3 * n, *va = v + 4 * n;
    const char *p = strchr(L->metrics, '\n'); /* after the header */
    int k = 0;
    while (p && k < n) {
        double e, a, b, c, d;
        if (sscanf(p + 1, "%lf,%lf,%lf,%lf,%lf", &e, &a, &b, &c, &d) == 5) {
            x[k] = e;
            tl[k] = a;
            ta[k] = 100 * b;
            vl[k] = c; /* NaN without a held-out part: not drawn */
            va[k] = 100 * d;
            k++;
        }
        p = strchr(p + 1, '\n');
    }
    char path[1200], title[600];
    snprintf(path, sizeof path, "%s/curves.png", L->out_dir);
    snprintf(title, sizeof title, "training curves (%s)", L->data);
    const char *ylabels[2] = {L->task->test_is_val ? "loss (nats per token)" : "loss", "accuracy %"};
    glia_plot_series series[4] = {{"train loss", tl, 0}, {"val loss", vl, 0},
                                  {"train acc", ta, 1}, {"val acc", va, 1}};
    glia_status s = k ? glia_plot_curves(path, title, "epoch", x, k, 2, ylabels, series, 4) : GLIA_OK;
    free(v);
    return s;
}

/* A model from an ONNX file: the file, copied into the run directory as model.onnx (which the
 * model text then names), so that the run holds its whole network. */
static glia_status copy_onnx(glia__loop *L) {
    const char *src = glia_model_onnx_path(L->m);
    if (!src) return GLIA_OK;
    char path[1200], *data;
    snprintf(path, sizeof path, "%s/model.onnx", L->out_dir);
    struct stat a, b; /* a resumed run's model is that file already */
    int same = !stat(src, &a) && !stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    size_t len;
    glia_status s = same ? GLIA_OK : glia__read_file(src, &data, &len);
    if (!same && !s) {
        s = glia__write_atomic(path, data, len);
        free(data);
    }
    return s ? s : glia_model_set_option(L->m, "onnx", "model.onnx");
}

/* The files of a finished epoch, the checkpoint first. */
static glia_status write_files(glia__loop *L) {
    char path[1200], *text = NULL;
    glia_status s;
    if ((s = copy_onnx(L)) || (s = glia__checkpoint_save(L)) || (s = glia_model_to_text(L->m, &text))) return s;
    s = write_text(L, "model.cfg", text);
    free(text);
    if (s) return s;
    snprintf(path, sizeof path, "%s/weights.safetensors", L->out_dir);
    if ((s = glia_safetensors_save(L->g, path)) || (s = L->task->write_files(L)) ||
        (s = write_text(L, "metrics.csv", L->metrics)))
        return s;
    return write_curves(L);
}

/* All or nothing (atomic_file.c's staging): every file of the epoch is written and synced under
 * its temporary name first, and only then are they renamed, the checkpoint first; a failure
 * anywhere (a full disk, a file that cannot be created) leaves the previous epoch's files, which
 * agree with each other, instead of a checkpoint of one epoch beside the weights of another. */
static glia_status write_outputs(glia__loop *L) {
    glia__atomic_stage_begin();
    glia_status s = write_files(L), c = glia__atomic_stage_end(!s);
    if (!s) s = c;
    if (!s) return GLIA_OK;
    if (L->epoch > 1)
        return glia__err(s, "epoch %d finished, but writing its files failed: %s; %s keeps the "
                         "files of epoch %d, which agree with each other", L->epoch,
                         glia_last_error(), L->out_dir, L->epoch - 1);
    return glia__err(s, "epoch %d finished, but writing its files failed: %s; no epoch's files "
                     "were written in %s", L->epoch, glia_last_error(), L->out_dir);
}

static glia_status metrics_line(glia__loop *L, const char *line) {
    size_t a = L->metrics ? strlen(L->metrics) : 0, b = strlen(line);
    char *p = glia__realloc(L->metrics, a + b + 1);
    if (!p) return glia__err(GLIA_ENOMEM, "training: out of memory");
    memcpy(p + a, line, b + 1);
    L->metrics = p;
    return GLIA_OK;
}

static void report(glia__loop *L, const glia_train_options *o, int64_t b, float lr,
                   const glia__metrics *vm) {
    glia_train_progress p = {0};
    double n = (double)(L->tm.n ? L->tm.n : 1), sec = L->epoch_seconds > 0 ? L->epoch_seconds : 1e-9;
    p.epoch = vm ? L->epoch : L->epoch + 1;
    p.epochs = L->epochs;
    p.batch = b;
    p.batches = L->batches;
    p.loss = L->tm.loss / n;
    p.acc = L->task->real_targets ? NAN : (double)L->tm.correct / n;
    p.images_per_s = (double)L->samples / sec;
    p.eta_s = L->epoch_seconds / (double)(b ? b : 1) * (double)(L->batches - b);
    p.lr = lr;
    p.seconds = L->seconds + (vm ? 0 : L->epoch_seconds);
    p.tokens = L->task->test_is_val;
    /* the images task on a CSV table (classification) counts rows */
    p.unit = L->target[0] && L->task == &glia__task_images ? "rows" : L->task->unit;
    if (vm) {
        double vn = (double)vm->n;
        p.epoch_done = 1;
        p.val_loss = vm->n ? vm->loss / vn : NAN;
        p.val_acc = vm->n && !L->task->real_targets ? (double)vm->correct / vn : NAN;
        p.val_top5 = vm->n && !p.tokens ? (double)vm->top5 / vn : NAN;
        p.val_bpc = vm->n && p.tokens ? p.val_loss / log(2.0) : NAN;
    }
    o->progress(o->ctx, &p);
}

/* ---------------------------------------------------------------- the loop */

static glia_status run_loop(glia__loop *L, const glia_train_options *o, glia_train_result *out) {
    glia_status s;
    glia_graph *g = L->g;
    glia__metrics vm = {0};
    int have_vm = 0;
    double t_all = glia__now();
    glia_graph_set_check_numerics(g, o->check_numerics);
    L->stop = o->stop;
    if ((s = glia__dist_start(L))) return s;
    while (L->epoch < L->epochs) {
        if (L->next_batch == 0) { /* a new epoch: fresh sums and carried state */
            L->epoch_rng = L->rng;
            memset(&L->tm, 0, sizeof L->tm);
            L->samples = 0;
            L->epoch_seconds = 0;
            if (L->task->carry && (s = L->task->carry(L, 1))) return s;
        }
        /* this epoch's order: a shuffle drawn from the generator's state at the epoch start */
        glia_rng t = L->epoch_rng;
        L->task->epoch_order(L, &t);
        if (L->next_batch == 0) L->rng = t;
        glia_graph_set_training(g, 1);
        double t0 = glia__now(), sec0 = L->epoch_seconds;
        float lr = glia_lr_at(&L->sched, L->step);
        for (int64_t b = L->next_batch; b < L->batches; b++) {
            lr = glia_lr_at(&L->sched, L->step);
            glia_optim_set_lr(L->opt, lr);
            int64_t k = L->task->fill(L, GLIA__TRAIN, b, &L->rng);
            float l;
            if ((s = batch_ready(L)) || (s = train_forward(L, &l, b)) ||
                (s = glia_graph_backward(g, L->loss, L->grad_scale > 0 ? &L->grad_scale : NULL, 0)))
                return s;
            /* the gradients are complete here, and only here */
            if (L->reduce && (s = L->reduce(L))) return s;
            if ((s = glia_optim_step(L->opt))) return s;
            if ((L->task->carry && (s = L->task->carry(L, 0))) || (s = count(L, &L->tm, L->rows))) return s;
            L->samples += k * L->shards; /* the global batch's (as if the ranks' were k) */
            L->step++;
            L->next_batch = b + 1;
            L->epoch_seconds = sec0 + (glia__now() - t0);
            if (o->progress && !L->shard) report(L, o, b + 1, lr, NULL);
            if (glia__dist_stop(L, o) && b + 1 < L->batches) {
                /* every rank's part of the sums, the running statistics and carried states */
                if ((s = glia__dist_sum(L, &L->tm)) || (s = glia__dist_epoch_end(L)) ||
                    (s = glia__dist_gather_states(L)) || (!L->shard && (s = glia__checkpoint_save(L))))
                    return s;
                return glia__err(GLIA_EINTR, "stopped at epoch %d, batch %lld; checkpoint saved in "
                                 "%s", L->epoch + 1, (long long)b + 1, L->out_dir);
            }
        }
        /* the epoch is done: the held-out pass, files, checkpoint */
        L->seconds += L->epoch_seconds;
        memset(&vm, 0, sizeof vm);
        if ((s = glia__dist_epoch_end(L)) || (s = glia__dist_sum(L, &L->tm))) return s;
        if ((s = evaluate(L, GLIA__VAL, &vm))) return s; /* every rank: it sums their parts */
        have_vm = 1;
        L->epoch++;
        L->next_batch = 0;
        double n = (double)(L->tm.n ? L->tm.n : 1), vn = (double)vm.n;
        double vl = vm.n ? vm.loss / vn : NAN;
        double va = vm.n && !L->task->real_targets ? (double)vm.correct / vn : NAN;
        double ta = L->task->real_targets ? NAN : (double)L->tm.correct / n;
        double extra = !vm.n || L->task->real_targets ? NAN : L->task->test_is_val ? vl / log(2.0) : (double)vm.top5 / vn;
        char line[256];
        snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f\n", L->epoch,
                 L->tm.loss / n, ta, vl, va, extra, (double)lr, L->seconds);
        if ((s = metrics_line(L, line))) return s;
        if (o->progress && !L->shard) report(L, o, L->batches, lr, &vm); /* shown even if the files fail */
        if ((s = glia__dist_gather_states(L)) || (!L->shard && (s = write_outputs(L)))) return s;
        out->epochs_done = L->epoch;
        if (glia__dist_stop(L, o) && L->epoch < L->epochs)
            return glia__err(GLIA_EINTR, "stopped after epoch %d; checkpoint saved in %s", L->epoch,
                             L->out_dir);
    }
    out->epochs_done = L->epoch;
    out->train_seconds = glia__now() - t_all;
    out->comm_seconds = L->dist_comm_seconds;
    out->ranks = L->shards;
    return test_pass(L, have_vm ? &vm : NULL, &out->test);
}

/* the test part (with its confusion matrix), or the held-out part for a task without one (vm:
 * that part's figures if the last epoch measured them) */
static glia_status test_pass(glia__loop *L, const glia__metrics *vm, glia_eval_result *out) {
    glia_status s;
    glia__metrics tm = {0};
    if (L->task->test_is_val && vm) {
        tm = *vm;
    } else {
        if (!L->task->test_is_val &&
            !(tm.confusion = glia__calloc((size_t)L->classes * (size_t)L->classes, sizeof *tm.confusion)))
            return glia__err(GLIA_ENOMEM, "training: out of memory");
        glia__split sp = L->task->test_is_val ? GLIA__VAL : GLIA__TEST;
        if ((s = evaluate(L, sp, &tm))) {
            free(tm.confusion);
            return s;
        }
    }
    glia__metrics_result(&tm, L->classes, out);
    if (L->task->real_targets) out->acc = out->top5 = NAN;
    if (L->task->test_is_val) {
        out->top5 = NAN;
        if (!tm.n) out->loss = out->acc = NAN;
    }
    return GLIA_OK;
}

/* ---------------------------------------------------------------- the public calls */

/* encoder-decoders: seq2seq; sequence models: text; a table's targets with a loss other than
 * softmax_ce: regression (real targets); everything else, tables' classes too: images */
static const glia__task_ops *task_for(glia_model *m, const glia_train_options *o) {
    if (glia_model_target_steps(m) > 0) return &glia__task_seq2seq;
    if (glia_model_sequence(m) > 0) return &glia__task_text;
    if (o && o->target && o->target[0] && strcmp(glia_model_option(m, "loss"), "softmax_ce"))
        return &glia__task_table;
    return &glia__task_images;
}

glia_status glia_train(glia_model *m, const glia_train_options *o, glia_train_result *out) {
    return glia__train_task(m, m ? task_for(m, o) : NULL, o, out);
}

glia_status glia__train_task(glia_model *m, const glia__task_ops *task, const glia_train_options *o,
                             glia_train_result *out) {
    if (!m || !task || !o || !out || !o->out_dir || (!o->data && !o->train_set))
        return glia__err(GLIA_EINVAL, "glia_train: NULL argument (model, options, out_dir, data)");
    memset(out, 0, sizeof *out);
    glia__loop L;
    memset(&L, 0, sizeof L);
    L.task = task;
    snprintf(L.data, sizeof L.data, "%s", o->data ? o->data : "(given)");
    snprintf(L.val_data, sizeof L.val_data, "%s", o->val_data ? o->val_data : "");
    snprintf(L.target, sizeof L.target, "%s", o->target ? o->target : "");
    snprintf(L.out_dir, sizeof L.out_dir, "%s", o->out_dir);
    L.seed = o->seed;
    L.val = o->val;
    /* --clip-norm, else [net] clip_norm */
    L.clip_norm = o->clip_norm > 0 ? o->clip_norm : opt_float(m, "clip_norm");
    L.limit = o->limit;
    L.epochs = (int)opt_int(m, "epochs");
    char hdr[128];
    snprintf(hdr, sizeof hdr, "epoch,train_loss,train_acc,val_loss,val_acc,%s,lr,seconds\n",
             L.task->extra_col);
    glia_status s = loop_setup(&L, m, o);
    if (!s) s = metrics_line(&L, hdr);
    if (!s) {
        glia_rng_seed(&L.rng, L.seed, L.task->rng_stream);
        glia_rng_seed(glia_graph_rng(L.g), L.seed, 0xd209);
        s = run_loop(&L, o, out);
    }
    loop_free(&L);
    return s;
}

glia_status glia_train_resume(const char *dir, int epochs, const glia_train_options *o,
                              glia_model **model, glia_train_result *out) {
    if (!dir || !o || !model || !out) return glia__err(GLIA_EINVAL, "glia_train_resume: NULL argument");
    memset(out, 0, sizeof *out);
    *model = NULL;
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    glia__loop L;
    memset(&L, 0, sizeof L);
    /* the lock first: the checkpoint read is the one the run continues from (rank 0's alone
     * under mpirun: the others only read) */
    int shard, shards;
    glia__dist_shard(&shard, &shards);
    glia_status s = shard ? GLIA_OK : glia__run_lock_take(dir, &L.lock);
    glia_st_meta meta;
    if (!s) s = glia_safetensors_read_meta(path, &meta);
    if (s) {
        glia__run_lock_release(L.lock);
        return s;
    }
    const char *text;
    s = glia__checkpoint_settings(path, &meta, &L, &text);
    snprintf(L.out_dir, sizeof L.out_dir, "%s", dir);
    if (epochs > 0) L.epochs = epochs;
    if (!s) s = glia_model_parse(text, path, 1, L.seed, model);
    /* before the optimiser is made in loop_setup: it covers the trainable parameters alone */
    if (!s) s = glia__checkpoint_param_settings(path, &meta, glia_model_graph(*model));
    glia_st_meta_free(&meta);
    if (!s) {
        char e[32];
        snprintf(e, sizeof e, "%d", L.epochs);
        L.resuming = 1;
        if (!(s = glia_model_set_option(*model, "epochs", e)) && !(s = loop_setup(&L, *model, o)) &&
            !(s = glia__checkpoint_restore(&L, path)))
            s = run_loop(&L, o, out);
    }
    loop_free(&L);
    return s;
}

glia_status glia_evaluate_run(glia_model *m, const char *dir, glia_eval_result *out) {
    if (!m || !dir || !out) return glia__err(GLIA_EINVAL, "glia_evaluate_run: NULL argument");
    memset(out, 0, sizeof *out);
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    glia_st_meta meta;
    glia_status s = glia_safetensors_read_meta(path, &meta);
    if (s) return s;
    glia__loop L;
    memset(&L, 0, sizeof L);
    const char *text;
    s = glia__checkpoint_settings(path, &meta, &L, &text);
    glia_st_meta_free(&meta);
    if (s) return s;
    /* the run's own split (seed, val), the model's mean and std as trained */
    snprintf(L.out_dir, sizeof L.out_dir, "%s", dir);
    L.resuming = L.eval_only = 1;
    glia_train_options o = {0};
    if (!(s = loop_setup(&L, m, &o))) s = test_pass(&L, NULL, out);
    loop_free(&L);
    return s;
}
