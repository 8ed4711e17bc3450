/* trainer.c: the training loop for image classifiers. Data -> batches (shuffled each epoch
 * with the run's generator, augmented, normalised) -> forward -> softmax cross-entropy ->
 * backward -> optimiser step, with the learning-rate schedule per step; after every epoch a
 * validation pass, the run's files and a checkpoint (checkpoint.c), so that a run can stop at
 * any batch and continue bit for bit. */
#include "train/run.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Fisher-Yates */
static void shuffle(int64_t *a, int64_t n, glia_rng *r) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)glia_rng_below(r, (uint32_t)(i + 1)), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static float opt_float(glia_model *m, const char *k) { return strtof(glia_model_option(m, k), NULL); }
static long opt_int(glia_model *m, const char *k) { return strtol(glia_model_option(m, k), NULL, 10); }

static void run_free(glia__run *r) {
    glia_optim_free(r->opt);
    glia_dataset_free(r->own_train);
    glia_dataset_free(r->own_test);
    free(r->split);
    free(r->order);
    free(r->metrics);
}

/* Everything but the position: data and split, normalisation, loss, optimiser, schedule. */
static glia_status run_setup(glia__run *r, glia_model *m, const glia_train_options *o, int normalize) {
    glia_status s;
    r->m = m;
    r->g = glia_model_graph(m);
    r->x = glia_model_input(m);
    r->logits = glia_model_output(m);
    r->batch = opt_int(m, "batch");
    if (r->epochs < 1 || r->batch < 1)
        return glia__err(GLIA_EINVAL, "training needs epochs >= 1 and batch >= 1 (got %d, %lld)",
                         r->epochs, (long long)r->batch);
    /* data */
    r->train = o->train_set;
    r->test = o->test_set;
    if (!r->train) {
        if ((s = glia_dataset_load(r->data, "train", &r->own_train))) return s;
        r->train = r->own_train;
    }
    if (!r->test) {
        if ((s = glia_dataset_load(r->data, "test", &r->own_test))) return s;
        r->test = r->own_test;
    }
    glia_shape in;
    if ((s = glia_node_shape(r->g, r->x, &in))) return s;
    in.dim[0] = 1;
    if ((s = glia__check_data_fits(&in, r->train)) || (s = glia__check_data_fits(&in, r->test))) return s;
    int classes = (int)opt_int(m, "classes");
    if (classes != r->train->classes || r->test->classes > classes)
        return glia__err(GLIA_ESHAPE, "the model has %d classes ([net] classes) but the data has %d",
                         classes, r->train->classes);
    /* the split: a fixed draw from the seed, validation first */
    int64_t N = r->train->images->shape.dim[0];
    if (!(r->split = glia__malloc((size_t)N * sizeof *r->split)) || !(r->order = glia__malloc((size_t)N * sizeof *r->order)))
        return glia__err(GLIA_ENOMEM, "training: out of memory");
    for (int64_t i = 0; i < N; i++) r->split[i] = i;
    glia_rng sr;
    glia_rng_seed(&sr, r->seed, 0x5b117);
    shuffle(r->split, N, &sr);
    r->n_val = (int64_t)((double)r->val * (double)N);
    r->n_train = N - r->n_val;
    if (r->limit > 0 && r->n_train > r->limit) r->n_train = r->limit;
    r->batches = r->n_train / r->batch; /* the remainder of an epoch is dropped */
    if (r->batches < 1)
        return glia__err(GLIA_EINVAL, "training: %lld training images, fewer than a batch of %lld",
                         (long long)r->n_train, (long long)r->batch);
    if (normalize) {
        char v[32];
        glia_dataset_stats(r->train, r->split + r->n_val, r->n_train, &r->mean, &r->std);
        snprintf(v, sizeof v, "%.6g", (double)r->mean);
        if ((s = glia_model_set_option(m, "mean", v))) return s;
        snprintf(v, sizeof v, "%.6g", (double)r->std);
        if ((s = glia_model_set_option(m, "std", v))) return s;
    }
    r->mean = opt_float(m, "mean");
    r->std = opt_float(m, "std");
    if (!(r->std > 0)) return glia__err(GLIA_EINVAL, "[net] std = %g: must be > 0", (double)r->std);
    r->aug.shift = (int)opt_int(m, "shift");
    r->aug.hflip = (int)opt_int(m, "flip");
    /* loss and optimiser */
    if ((s = glia_input(r->g, "label", 1, (int64_t[]){1}, &r->label)) ||
        (s = glia_softmax_cross_entropy(r->g, "loss", r->logits, r->label, &r->loss)) ||
        (s = glia_graph_set_batch(r->g, r->batch)) ||
        (s = glia_graph_compile(r->g, GLIA_COMPILE_BACKWARD)))
        return s;
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
    oc.clip_norm = r->clip_norm;
    if (!(oc.lr > 0)) return glia__err(GLIA_EINVAL, "[net] lr = %g: must be > 0", (double)oc.lr);
    if (oc.nesterov && !(oc.momentum > 0))
        return glia__err(GLIA_EINVAL, "[net] optimizer = nesterov needs momentum > 0");
    if ((s = glia_optim_new(r->g, &oc, &r->opt))) return s;
    /* the schedule, per step; its step_size and gamma are given per epoch */
    const char *sn = glia_model_option(m, "schedule");
    glia_lr_schedule *sc = &r->sched;
    sc->kind = !strcmp(sn, "constant") ? GLIA_LR_CONSTANT : !strcmp(sn, "step") ? GLIA_LR_STEP
             : !strcmp(sn, "exp") ? GLIA_LR_EXP : !strcmp(sn, "cosine") ? GLIA_LR_COSINE : (glia_lr_kind)-1;
    if ((int)sc->kind < 0)
        return glia__err(GLIA_EINVAL, "[net] schedule = %s: expected constant, step, exp or cosine", sn);
    sc->base_lr = oc.lr;
    sc->gamma = opt_float(m, "gamma");
    sc->step_size = opt_int(m, "step_size") * r->batches;
    if (sc->kind == GLIA_LR_EXP) sc->gamma = powf(sc->gamma, 1.0f / (float)r->batches);
    sc->warmup_steps = opt_int(m, "warmup");
    sc->total_steps = (int64_t)r->epochs * r->batches - sc->warmup_steps;
    if (sc->total_steps < 1) sc->total_steps = 1;
    if (sc->step_size < 1) sc->step_size = 1;
    return GLIA_OK;
}

/* metrics.csv, one line per epoch */
static glia_status metrics_append(glia__run *r, const char *line) {
    size_t n = strlen(line);
    char *p = glia__realloc(r->metrics, r->metrics_len + n + 1);
    if (!p) return glia__err(GLIA_ENOMEM, "training: out of memory");
    memcpy(p + r->metrics_len, line, n + 1);
    r->metrics = p;
    r->metrics_len += n;
    return GLIA_OK;
}

static glia_status write_text(const char *dir, const char *name, const char *text) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return glia__write_atomic(path, text, strlen(text));
}

/* curves.png from the metrics so far */
static glia_status write_curves(glia__run *r) {
    int n = r->epoch;
    double *v = glia__malloc((size_t)(n > 0 ? n : 1) * 5 * sizeof *v);
    if (!v) return glia__err(GLIA_ENOMEM, "training: out of memory");
    double *x = v, *tl = v + n, *ta = v + 2 * n, *vl = v + 3 * n, *va = v + 4 * n;
    const char *p = strchr(r->metrics, '\n'); /* after the header */
    int k = 0;
    while (p && k < n) {
        double e, a, b, c, d;
        if (sscanf(p + 1, "%lf,%lf,%lf,%lf,%lf", &e, &a, &b, &c, &d) == 5) {
            x[k] = e;
            tl[k] = a;
            ta[k] = 100 * b;
            vl[k] = r->n_val ? c : NAN;
            va[k] = r->n_val ? 100 * d : NAN;
            k++;
        }
        p = strchr(p + 1, '\n');
    }
    char path[1200], title[600];
    snprintf(path, sizeof path, "%s/curves.png", r->out_dir);
    snprintf(title, sizeof title, "training curves (%s)", r->data);
    const char *ylabels[2] = {"loss", "accuracy %"};
    glia_plot_series series[4] = {{"train loss", tl, 0}, {"val loss", vl, 0},
                                  {"train acc", ta, 1}, {"val acc", va, 1}};
    glia_status s = k ? glia_plot_curves(path, title, "epoch", x, k, 2, ylabels, series, 4) : GLIA_OK;
    free(v);
    return s;
}

/* Everything a person or a resumed run needs, each file atomically; the checkpoint last. */
static glia_status write_outputs(glia__run *r) {
    char path[1200], *text = NULL;
    glia_status s;
    if ((s = glia_model_to_text(r->m, &text))) return s;
    s = write_text(r->out_dir, "model.cfg", text);
    free(text);
    if (s) return s;
    snprintf(path, sizeof path, "%s/weights.safetensors", r->out_dir);
    if ((s = glia_safetensors_save(r->g, path))) return s;
    size_t len = 0;
    for (int c = 0; c < r->train->classes; c++) len += strlen(r->train->class_names[c]) + 1;
    if (!(text = glia__malloc(len + 1))) return glia__err(GLIA_ENOMEM, "training: out of memory");
    text[0] = 0;
    for (int c = 0, at = 0; c < r->train->classes; c++)
        at += sprintf(text + at, "%s\n", r->train->class_names[c]);
    s = write_text(r->out_dir, "classes.txt", text);
    free(text);
    if (s || (s = write_text(r->out_dir, "metrics.csv", r->metrics)) || (s = write_curves(r))) return s;
    return glia__checkpoint_save(r);
}

glia_status glia__train_forward(glia_graph *g, int loss, float *l, int epoch, int64_t batch,
                                int64_t step) {
    glia_rng masks = *glia_graph_rng(g);
    glia_status s = glia_graph_forward(g);
    *l = s ? NAN : glia_node_value(g, loss)[0];
    if (s != GLIA_ERANGE && (s || isfinite(*l))) return s;
    /* name the first op that went non-finite: this batch again, checked, same masks */
    char first[600];
    *glia_graph_rng(g) = masks;
    glia_graph_set_check_numerics(g, 1);
    if (!s) s = glia_graph_forward(g);
    snprintf(first, sizeof first, "%s", s ? glia_last_error() : "(not found)");
    return glia__err(GLIA_ERANGE, "training stopped at epoch %d, batch %lld (step %lld): values "
                     "became non-finite (first %s); try a lower lr or clip_norm; the last "
                     "checkpoint is kept", epoch + 1, (long long)batch + 1, (long long)step + 1,
                     first);
}

static glia_status run_loop(glia__run *r, const glia_train_options *o, glia_train_result *out) {
    glia_status s;
    glia_graph *g = r->g;
    int classes = r->train->classes;
    const int64_t *base = r->split + r->n_val;
    double t_all = now();
    glia_graph_set_check_numerics(g, o->check_numerics);
    while (r->epoch < r->epochs) {
        /* this epoch's order: a shuffle drawn from the generator's state at the epoch start */
        if (r->next_batch == 0) {
            r->epoch_rng = r->rng;
            r->sum_loss = r->seconds = 0;
            r->correct = r->seen = 0;
        }
        glia_rng t = r->epoch_rng;
        memcpy(r->order, base, (size_t)r->n_train * sizeof *r->order);
        shuffle(r->order, r->n_train, &t);
        if (r->next_batch == 0) r->rng = t;
        glia_graph_set_training(g, 1);
        double t0 = now(), sec0 = r->seconds;
        for (int64_t b = r->next_batch; b < r->batches; b++) {
            float lr = glia_lr_at(&r->sched, r->step);
            glia_optim_set_lr(r->opt, lr);
            float *xv = glia_node_value(g, r->x), *lv = glia_node_value(g, r->label);
            glia_dataset_batch(r->train, r->order + b * r->batch, r->batch, r->mean, r->std,
                               &r->aug, &r->rng, xv, lv);
            float l;
            if ((s = glia__train_forward(g, r->loss, &l, r->epoch, b, r->step)) ||
                (s = glia_graph_backward(g, r->loss, NULL, 0)))
                return s;
            if ((s = glia_optim_step(r->opt))) return s;
            glia__metrics mt = {0};
            glia__metrics_add(&mt, glia_node_value(g, r->logits), lv, r->batch, classes);
            r->sum_loss += (double)l * (double)r->batch;
            r->correct += mt.correct;
            r->seen += r->batch;
            r->step++;
            r->next_batch = b + 1;
            r->seconds = sec0 + (now() - t0);
            if (o->progress) {
                glia_train_progress p = {0};
                p.epoch = r->epoch + 1;
                p.epochs = r->epochs;
                p.batch = b + 1;
                p.batches = r->batches;
                p.loss = r->sum_loss / (double)r->seen;
                p.acc = (double)r->correct / (double)r->seen;
                p.images_per_s = (double)r->seen / (r->seconds > 0 ? r->seconds : 1e-9);
                p.eta_s = (double)(r->batches - b - 1) * (double)r->batch / p.images_per_s;
                p.lr = lr;
                p.seconds = r->seconds;
                o->progress(o->ctx, &p);
            }
            if (o->stop && *o->stop && b + 1 < r->batches) {
                if ((s = glia__checkpoint_save(r))) return s;
                return glia__err(GLIA_EINTR, "stopped at epoch %d, batch %lld; checkpoint saved in "
                                 "%s", r->epoch + 1, (long long)b + 1, r->out_dir);
            }
        }
        /* the epoch is done: validation, files, checkpoint */
        glia__metrics vm = {0};
        if (r->n_val && (s = glia__eval_split(g, r->x, r->logits, r->label, r->train, r->split,
                                              r->n_val, r->mean, r->std, r->batch, &vm)))
            return s;
        glia_eval_result v;
        glia__metrics_result(&vm, classes, &v);
        r->epoch++;
        r->next_batch = 0;
        char line[256];
        double tl = r->sum_loss / (double)r->seen, ta = (double)r->correct / (double)r->seen;
        snprintf(line, sizeof line, "%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f\n", r->epoch, tl, ta,
                 v.loss, v.acc, v.top5, (double)glia_lr_at(&r->sched, r->step - 1), r->seconds);
        if ((s = metrics_append(r, line)) || (s = write_outputs(r))) return s;
        if (o->progress) {
            glia_train_progress p = {0};
            p.epoch = r->epoch;
            p.epochs = r->epochs;
            p.batch = p.batches = r->batches;
            p.loss = tl;
            p.acc = ta;
            p.seconds = r->seconds;
            p.images_per_s = (double)r->seen / (r->seconds > 0 ? r->seconds : 1e-9);
            p.lr = glia_lr_at(&r->sched, r->step - 1);
            p.epoch_done = 1;
            p.val_loss = r->n_val ? v.loss : NAN;
            p.val_acc = r->n_val ? v.acc : NAN;
            p.val_top5 = r->n_val ? v.top5 : NAN;
            o->progress(o->ctx, &p);
        }
        if (o->stop && *o->stop && r->epoch < r->epochs)
            return glia__err(GLIA_EINTR, "stopped after epoch %d; checkpoint saved in %s", r->epoch,
                             r->out_dir);
    }
    out->epochs_done = r->epoch;
    out->train_seconds = now() - t_all;
    /* the test split, with its confusion matrix */
    glia__metrics tm = {0};
    tm.confusion = glia__calloc((size_t)classes * (size_t)classes, sizeof *tm.confusion);
    if (!tm.confusion) return glia__err(GLIA_ENOMEM, "training: out of memory");
    if ((s = glia__eval_split(g, r->x, r->logits, r->label, r->test, NULL,
                              r->test->images->shape.dim[0], r->mean, r->std, r->batch, &tm))) {
        free(tm.confusion);
        return s;
    }
    return glia__metrics_result(&tm, classes, &out->test);
}

glia_status glia__make_dir(const char *dir) {
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

glia_status glia_train(glia_model *m, const glia_train_options *o, glia_train_result *out) {
    if (!m || !o || !out || !o->out_dir || (!o->data && !o->train_set))
        return glia__err(GLIA_EINVAL, "glia_train: NULL argument (model, options, out_dir, data)");
    memset(out, 0, sizeof *out);
    if (glia_model_sequence(m) > 0) return glia__train_seq(m, o, out);
    glia__run r;
    memset(&r, 0, sizeof r);
    snprintf(r.data, sizeof r.data, "%s", o->data ? o->data : "(given)");
    snprintf(r.out_dir, sizeof r.out_dir, "%s", o->out_dir);
    r.seed = o->seed;
    r.val = o->val;
    r.clip_norm = o->clip_norm;
    r.limit = o->limit;
    r.epochs = (int)opt_int(m, "epochs");
    glia_status s;
    if (!(o->val >= 0 && o->val < 1)) s = glia__err(GLIA_EINVAL, "glia_train: val = %g is not in [0, 1)", (double)o->val);
    else if (!(s = glia__make_dir(r.out_dir)) && !(s = run_setup(&r, m, o, o->normalize)) &&
             !(s = metrics_append(&r, "epoch,train_loss,train_acc,val_loss,val_acc,val_top5,lr,seconds\n"))) {
        glia_rng_seed(&r.rng, r.seed, 0xda7a);
        glia_rng_seed(glia_graph_rng(r.g), r.seed, 0xd209);
        s = run_loop(&r, o, out);
    }
    run_free(&r);
    return s;
}

glia_status glia_train_resume(const char *dir, int epochs, const glia_train_options *o,
                              glia_model **model, glia_train_result *out) {
    if (!dir || !o || !model || !out) return glia__err(GLIA_EINVAL, "glia_train_resume: NULL argument");
    memset(out, 0, sizeof *out);
    *model = NULL;
    char path[1200];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    glia_st_meta meta;
    glia_status s = glia_safetensors_read_meta(path, &meta);
    if (s) return s;
    const char *fmt = glia_st_meta_get(&meta, "format"), *text = glia_st_meta_get(&meta, "model");
    const char *data = glia_st_meta_get(&meta, "data"), *seed = glia_st_meta_get(&meta, "seed");
    const char *val = glia_st_meta_get(&meta, "val"), *clip = glia_st_meta_get(&meta, "clip_norm");
    const char *limit = glia_st_meta_get(&meta, "limit"), *ep = glia_st_meta_get(&meta, "epochs");
    if (fmt && !strcmp(fmt, "glia-seq-checkpoint-1")) { /* a sequence model's run */
        glia_train_options so = *o;
        so.out_dir = dir;
        s = glia__train_seq_resume(path, &meta, epochs, &so, model, out);
        glia_st_meta_free(&meta);
        return s;
    }
    if (!fmt || strcmp(fmt, "glia-checkpoint-1") || !text || !data || !seed || !val || !clip ||
        !limit || !ep) {
        glia_st_meta_free(&meta);
        return glia__err(GLIA_EIO, "%s: not a glia checkpoint (its metadata lacks format "
                         "glia-checkpoint-1 or one of model, data, seed, val, clip_norm, limit, epochs)", path);
    }
    glia__run r;
    memset(&r, 0, sizeof r);
    snprintf(r.data, sizeof r.data, "%s", data);
    snprintf(r.out_dir, sizeof r.out_dir, "%s", dir);
    r.seed = strtoull(seed, NULL, 10);
    r.val = strtof(val, NULL);
    r.clip_norm = strtof(clip, NULL);
    r.limit = strtoll(limit, NULL, 10);
    r.epochs = epochs > 0 ? epochs : atoi(ep);
    s = glia_model_parse(text, path, 1, r.seed, model);
    glia_st_meta_free(&meta);
    if (!s) {
        char e[32];
        snprintf(e, sizeof e, "%d", r.epochs);
        if (!(s = glia_model_set_option(*model, "epochs", e)) && !(s = run_setup(&r, *model, o, 0)))
            s = glia__checkpoint_restore(&r, path);
    }
    if (!s) s = run_loop(&r, o, out);
    run_free(&r);
    return s;
}
