/* test_stream.c: image folders read as they are needed (src/data/stream.h). The cache holds at
 * most its cap (the first images), the others are decoded again each time (counted), with the
 * same bytes, statistics and batches as a folder kept whole; a file spoiled after loading gives
 * a zero image and one message. The prefetcher's batches are glia_dataset_batch's, for 0, 1
 * or 3 threads, asked in order, out of order or from another generator position, and it stops
 * cleanly with work queued. Training on a folder gives the same weights for any number of
 * decode threads and any cache, and a stopped run resumes bit for bit. Evaluation of a model
 * trained with crop sees the centre box, in glia_evaluate and in the training loop alike. */
#include "test.h"
#include "data/stream.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SIDE = 8, PER = SIDE * SIDE };

/* root/{a,b}/img%03d.png: n grey 8x8 images each, a bright 3x3 blob top-left (a) or
 * bottom-right (b) over a background that varies with i; plus root/a/000-broken.png (not an
 * image) when asked, which sorts first */
static int make_folder(const char *root, int n, int broken) {
    char p[1200];
    if (mkdir(root, 0755)) return 0;
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/%c", root, 'a' + c);
        if (mkdir(p, 0755)) return 0;
        for (int i = 0; i < n; i++) {
            float img[PER];
            for (int k = 0; k < PER; k++) {
                int y = k / SIDE, x = k % SIDE;
                int blob = c ? y >= 5 && x >= 5 : y < 3 && x < 3;
                img[k] = blob ? 1.0f : (float)((i * 7 + k * 3) % 50) / 255.0f + 0.1f * (float)(x % 3);
            }
            snprintf(p, sizeof p, "%s/%c/img%03d.png", root, 'a' + c, i);
            if (glia_image_save_png(p, img, 1, SIDE, SIDE)) return 0;
        }
    }
    if (broken) {
        snprintf(p, sizeof p, "%s/a/000-broken.png", root);
        FILE *f = fopen(p, "w");
        if (!f) return 0;
        fputs("not a PNG\n", f);
        fclose(f);
    }
    return 1;
}

static glia_dataset *load(const char *dir, int64_t cache_bytes) {
    glia_folder_options o = {.channels = 1, .height = SIDE, .width = SIDE, .cache_bytes = cache_bytes};
    glia_dataset *d = NULL;
    if (glia_image_folder_load(dir, &o, &d)) fprintf(stderr, "  load: %s\n", glia_last_error());
    return d;
}

TEST(stream_cache_is_capped_and_rereads) {
    char root[] = "/tmp/glia-stream-XXXXXX";
    CHECK(mkdtemp(root));
    char dir[300];
    snprintf(dir, sizeof dir, "%s/data", root);
    CHECK(make_folder(dir, 20, 1));
    const int64_t cap = 13 * PER + PER / 2; /* 13 files: the broken one and 12 images */
    glia_dataset *all = load(dir, 0), *part = load(dir, cap);
    CHECK(all && part);
    if (!all || !part) return;
    glia__image_store *sa = all->store, *sp = part->store;
    CHECK(sa->n == 40 && sp->n == 40 && all->images->shape.dim[0] == 40);
    CHECK(sa->n_cached == 40 && sp->n_cached == 12);
    CHECK(sp->n_cached * sp->per <= cap); /* never more than the cap */
    CHECK(sa->decodes == 0 && sp->decodes == 0);
    /* every image the same bytes, whether kept or read again; a read of the cached ones costs
     * no decode, each of the others one */
    float xa[PER], xp[PER];
    int same = 1;
    for (int64_t i = 0; i < 40; i++) {
        glia_dataset_image(all, i, xa);
        glia_dataset_image(part, i, xp);
        same &= !memcmp(xa, xp, sizeof xa);
    }
    CHECK(same);
    CHECK_MSG(sp->decodes == 28 && sa->decodes == 0, "decodes %lld, %lld", (long long)sp->decodes,
              (long long)sa->decodes);
    /* the statistics come from the sums taken at loading: the same for any cap */
    int64_t idx[6] = {39, 0, 11, 12, 25, 3};
    float ma, sda, mp, sdp;
    glia_dataset_stats(all, idx, 6, &ma, &sda);
    glia_dataset_stats(part, idx, 6, &mp, &sdp);
    CHECK(ma == mp && sda == sdp && ma > 0 && sda > 0);
    CHECK(sp->decodes == 28);
    /* and the same augmented batches */
    glia_augment aug = {.shift = 1, .hflip = 1, .crop = 0.6f, .jitter = 0.2f};
    glia_rng ra, rp;
    glia_rng_seed(&ra, 5, 1);
    glia_rng_seed(&rp, 5, 1);
    float ba[6 * PER], bp[6 * PER], ya[6], yp[6];
    glia_dataset_batch(all, idx, 6, &ma, &sda, &aug, &ra, ba, ya);
    glia_dataset_batch(part, idx, 6, &mp, &sdp, &aug, &rp, bp, yp);
    CHECK(!memcmp(ba, bp, sizeof ba) && !memcmp(ya, yp, sizeof ya));
    CHECK(ra.state == rp.state && ya[0] == 1 && ya[1] == 0);
    CHECK(sp->decodes == 28 + 3); /* 39, 12 and 25 are not cached */
    /* a file spoiled after loading: zeros stand in, counted, and said once, naming it */
    CHECK(!glia__store_failure(sp));
    FILE *f = fopen(sp->path[30], "w");
    CHECK(f);
    if (f) {
        fputs("spoiled\n", f);
        fclose(f);
    }
    glia_dataset_image(part, 30, xp);
    float zero[PER] = {0};
    CHECK(!memcmp(xp, zero, sizeof xp) && sp->failures == 1);
    char *why = glia__store_failure(sp);
    CHECK_MSG(why && strstr(why, "img010.png"), "%s", why ? why : "(none)");
    free(why);
    glia_dataset_image(part, 30, xp);
    CHECK(sp->failures == 2 && !glia__store_failure(sp)); /* once */
    glia_dataset_free(all);
    glia_dataset_free(part);
    test_rm_rf(root);
}

/* the prefetcher against glia_dataset_batch: batches b of B samples of a fixed order */
typedef struct { const glia_dataset *d; const int64_t *order; int64_t B, batches; glia_augment aug; } plan_ctx;
static int test_plan(void *ctx, int split, int64_t b, glia_rng *rng, glia__batch_plan *p) {
    plan_ctx *c = ctx;
    if (b >= c->batches) return 0;
    p->d = c->d;
    p->n = c->B;
    p->live = c->B - split; /* something of the split's, to see it come back */
    for (int64_t i = 0; i < c->B; i++) {
        p->idx[i] = c->order[b * c->B + i];
        p->ids[i] = c->d->labels->data[p->idx[i]];
    }
    glia__augment_draw(c->d, &c->aug, rng, c->B, p->draw);
    return 1;
}

TEST(stream_prefetch_same_batches_any_threads) {
    char root[] = "/tmp/glia-prefetch-XXXXXX";
    CHECK(mkdtemp(root));
    char dir[300];
    snprintf(dir, sizeof dir, "%s/data", root);
    CHECK(make_folder(dir, 12, 0));
    glia_dataset *d = load(dir, 5 * PER);
    CHECK(d);
    if (!d) return;
    enum { B = 5, NB = 4 };
    int64_t order[B * NB];
    for (int i = 0; i < B * NB; i++) order[i] = (i * 7 + 3) % 24;
    plan_ctx c = {d, order, B, NB, {.shift = 1, .hflip = 1, .crop = 0.5f, .jitter = 0.3f}};
    float mean = 0.3f, sd = 0.2f;
    /* the reference: glia_dataset_batch, batch after batch from one generator */
    static float want[NB][B * PER], wy[NB][B];
    glia_rng after[NB + 1];
    glia_rng_seed(&after[0], 11, 2);
    for (int b = 0; b < NB; b++) {
        after[b + 1] = after[b];
        glia_dataset_batch(d, order + b * B, B, &mean, &sd, &c.aug, &after[b + 1], want[b], wy[b]);
    }
    const int threads[3] = {0, 1, 3};
    for (int t = 0; t < 3; t++) {
        glia__prefetch *P;
        OK(glia__prefetch_new(threads[t], 3, B, PER, test_plan, &c, &mean, &sd, &P));
        static float x[B * PER];
        float y[B];
        int ok = 1;
        /* in order from the start; then batch 2 again from its position (the queue restarts) */
        glia_rng r = after[0];
        for (int b = 0; b < NB; b++) {
            ok &= glia__prefetch_get(P, 0, b, &r, x, y) == B;
            ok &= !memcmp(x, want[b], sizeof x) && !memcmp(y, wy[b], sizeof y);
            ok &= r.state == after[b + 1].state && r.inc == after[b + 1].inc;
        }
        CHECK_MSG(ok, "%d threads: in order", threads[t]);
        r = after[2];
        ok = glia__prefetch_get(P, 0, 2, &r, x, y) == B && !memcmp(x, want[2], sizeof x) &&
             r.state == after[3].state;
        /* batch 1 from batch 1's position after batch 2: out of order */
        r = after[1];
        ok &= glia__prefetch_get(P, 0, 1, &r, x, y) == B && !memcmp(x, want[1], sizeof x);
        /* batch 1 from another position: planned again, the draws from there */
        glia_rng other = after[3], ref = after[3];
        static float wo[B * PER];
        glia_dataset_batch(d, order + 1 * B, B, &mean, &sd, &c.aug, &ref, wo, NULL);
        ok &= glia__prefetch_get(P, 0, 1, &other, x, y) == B && !memcmp(x, wo, sizeof x) &&
              other.state == ref.state;
        /* no generator (evaluation): the images as kept; another split's live count */
        static float wn[B * PER];
        glia_dataset_batch(d, order, B, &mean, &sd, NULL, NULL, wn, NULL);
        ok &= glia__prefetch_get(P, 1, 0, NULL, x, y) == B - 1 && !memcmp(x, wn, sizeof x);
        ok &= glia__prefetch_get(P, 1, NB, NULL, x, y) == 0; /* past the end */
        CHECK_MSG(ok, "%d threads: out of order", threads[t]);
        /* stopped with batches queued and being made: no hang, nothing leaked */
        r = after[0];
        glia__prefetch_get(P, 0, 0, &r, x, y);
        glia__prefetch_reset(P);
        r = after[0];
        glia__prefetch_get(P, 0, 0, &r, x, y);
        glia__prefetch_free(P);
    }
    glia_dataset_free(d);
    test_rm_rf(root);
}

static const char *folder_cfg =
    "[net]\ninput = 1, 8, 8\nclasses = 2\nbatch = 8\nepochs = 3\nlr = 0.05\nmomentum = 0.9\n"
    "flip = 1\nshift = 1\ncrop = 0.6\njitter = 0.2\n"
    "[conv]\nname = c1\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
    "[maxpool]\nsize = 2\n"
    "[dense]\nname = fc\nunits = 2\n";

typedef struct { int stop_epoch; int64_t stop_batch; volatile int *flag; } stopper;
static void stop_at(void *ctx, const glia_train_progress *p) {
    stopper *s = ctx;
    if (s->flag && p->epoch == s->stop_epoch && !p->epoch_done && p->batch == s->stop_batch) *s->flag = 1;
}

/* the run's weights file, whole (*n bytes); NULL when it cannot be read */
static char *weights_file(const char *dir, long *n) {
    char p[400];
    snprintf(p, sizeof p, "%s/weights.safetensors", dir);
    FILE *f = fopen(p, "rb");
    char *buf = NULL;
    *n = 0;
    if (f && !fseek(f, 0, SEEK_END) && (*n = ftell(f)) > 0 && !fseek(f, 0, SEEK_SET) &&
        (buf = malloc((size_t)*n)) && fread(buf, 1, (size_t)*n, f) != (size_t)*n) {
        free(buf);
        buf = NULL;
    }
    if (f) fclose(f);
    return buf;
}

/* trains folder_cfg on train (test folder test) into out with the given decode threads and cache;
 * stop_batch > 0: stopped at that batch of epoch 2, then resumed; the test figures in *r */
static int train_folder(const char *train, const char *test, const char *out, int threads, int64_t cache,
                        int64_t stop_batch, glia_eval_result *r) {
    glia_model *m;
    if (glia_model_parse(folder_cfg, "folder.cfg", 1, 5, &m)) return 0;
    volatile int flag = 0;
    stopper st = {2, stop_batch, stop_batch > 0 ? &flag : NULL};
    glia_train_options o = {.data = train, .val_data = test, .out_dir = out, .seed = 9, .val = 0.2f,
                            .normalize = 1, .stop = &flag, .progress = stop_at, .ctx = &st,
                            .decode_threads = threads, .cache_bytes = cache};
    glia_train_result res;
    glia_status s = glia_train(m, &o, &res);
    int stops = 0;
    if (s == GLIA_EINTR) {
        stops++;
        glia_model_free(m);
        m = NULL;
        flag = 0;
        st.flag = NULL;
        s = glia_train_resume(out, 0, &o, &m, &res);
    }
    glia_model_free(m);
    if (s) {
        fprintf(stderr, "  train: %s\n", glia_last_error());
        return 0;
    }
    *r = res.test;
    return 1 + stops;
}

TEST(stream_training_same_any_threads_cache_and_resume) {
    char root[] = "/tmp/glia-sttrain-XXXXXX";
    CHECK(mkdtemp(root));
    char train[300], test[300], out[5][300];
    snprintf(train, sizeof train, "%s/train", root);
    snprintf(test, sizeof test, "%s/test", root);
    CHECK(make_folder(train, 24, 1) && make_folder(test, 6, 0));
    for (int i = 0; i < 5; i++) snprintf(out[i], sizeof out[i], "%s/run%d", root, i);
    /* no threads, all cached; 1 thread; 3 threads with 10 images cached; the default; and 3
     * threads, 10 cached, stopped and resumed */
    const int threads[4] = {-1, 1, 3, 0};
    glia_eval_result r[5];
    int ran[5];
    for (int i = 0; i < 4; i++) ran[i] = train_folder(train, test, out[i], threads[i], i == 2 ? 10 * PER : 0, 0, &r[i]);
    ran[4] = train_folder(train, test, out[4], 3, 10 * PER, 3, &r[4]); /* stopped at epoch 2, batch 3 */
    long n0 = 0, n;
    char *w0 = ran[0] ? weights_file(out[0], &n0) : NULL;
    CHECK(ran[0] == 1 && w0 && n0 > 0);
    for (int i = 1; i < 5; i++) {
        char *w = ran[i] ? weights_file(out[i], &n) : NULL;
        CHECK_MSG(ran[i] == (i == 4 ? 2 : 1), "run %d: %d", i, ran[i]);
        CHECK_MSG(w && w0 && n == n0 && !memcmp(w, w0, (size_t)n), "run %d's weights differ from "
                  "the run without decode threads", i);
        CHECK(ran[i] && ran[0] && r[i].acc == r[0].acc && r[i].loss == r[0].loss);
        free(w);
    }
    free(w0);
    /* the test figures: the centre box of each test image, as glia_evaluate shows it */
    glia_model *m = NULL;
    char p[400];
    snprintf(p, sizeof p, "%s/model.cfg", out[0]);
    OK(glia_model_load(p, 8, 1, &m));
    snprintf(p, sizeof p, "%s/weights.safetensors", out[0]);
    OK(glia_safetensors_load(glia_model_graph(m), p));
    CHECK(glia_augment_eval(m).center == 0.875f);
    glia_folder_options fo = {.channels = 1, .height = SIDE, .width = SIDE};
    glia_dataset *td = NULL;
    OK(glia_image_folder_load(test, &fo, &td));
    glia_eval_result e = {0};
    OK(glia_evaluate(m, td, NULL, 0, &e));
    CHECK_MSG(ran[0] && e.n == 12 && r[0].n == 12 && e.acc == r[0].acc && fabs(e.loss - r[0].loss) < 1e-6,
              "glia_evaluate %.6f %.6f, training's test %.6f %.6f", e.acc, e.loss, r[0].acc, r[0].loss);
    glia_eval_result_free(&e);
    glia_dataset_free(td);
    glia_model_free(m);
    for (int i = 0; i < 5; i++)
        if (ran[i]) glia_eval_result_free(&r[i]);
    test_rm_rf(root);
}

/* evaluation's view of a model trained with crop: the centre box (torchvision's CenterCrop
 * offsets, halves to even), resized back bilinearly; checked pixel by pixel on a linear image */
TEST(stream_eval_center_box) {
    int y0, x0, h, w;
    glia_augment_center_box(256, 256, 0.875f, &y0, &x0, &h, &w);
    CHECK(y0 == 16 && x0 == 16 && h == 224 && w == 224);
    glia_augment_center_box(8, 6, 0.5f, &y0, &x0, &h, &w);
    CHECK(h == 4 && w == 3 && y0 == 2 && x0 == 2); /* (6 - 3) / 2 = 1.5 -> 2 */
    glia_augment_center_box(9, 9, 0.5f, &y0, &x0, &h, &w);
    CHECK(h == 5 && w == 5 && y0 == 2 && x0 == 2); /* 4.5 -> 5 sides, (9 - 5) / 2 = 2 */
    enum { H = 8, W = 6 };
    glia_tensor *x, *y;
    OK(glia_tensor_new(&x, 4, (int64_t[]){1, 1, H, W}));
    OK(glia_tensor_new(&y, 1, (int64_t[]){1}));
    for (int i = 0; i < H * W; i++) x->data[i] = (float)(6 * (i / W) + i % W) / 64;
    glia_dataset *d;
    OK(glia_dataset_new(x, y, 1, NULL, &d));
    float out[H * W];
    glia_augment view = {.center = 0.5f};
    glia_dataset_batch(d, NULL, 1, NULL, NULL, &view, NULL, out, NULL);
    glia_augment_center_box(H, W, 0.5f, &y0, &x0, &h, &w);
    for (int yy = 0; yy < H; yy++)
        for (int xx = 0; xx < W; xx++) {
            float fy = y0 + (yy + 0.5f) * h / H - 0.5f, fx = x0 + (xx + 0.5f) * w / W - 0.5f;
            fy = fy < y0 ? y0 : fy > y0 + h - 1 ? y0 + h - 1 : fy;
            fx = fx < x0 ? x0 : fx > x0 + w - 1 ? x0 + w - 1 : fx;
            CHECK_NEAR(out[yy * W + xx], (6 * fy + fx) / 64, 1e-5);
        }
    CHECK(out[0] != d->images->data[0]); /* not the image as kept */
    /* training draws ignore center; no center, the image as kept */
    glia_augment none = {0};
    glia_dataset_batch(d, NULL, 1, NULL, NULL, &none, NULL, out, NULL);
    CHECK(!memcmp(out, d->images->data, sizeof out));
    glia_model *m;
    OK(glia_model_parse("[net]\ninput = 1, 8, 6\nclasses = 1\n[dense]\nunits = 1\n", "a.cfg", 1, 1, &m));
    CHECK(glia_augment_eval(m).center == 0);
    OK(glia_model_set_option(m, "crop", "0.5"));
    CHECK(glia_augment_eval(m).center == 0.875f);
    glia_model_free(m);
    glia_dataset_free(d);
}
