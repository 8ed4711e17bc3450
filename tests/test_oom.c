/* test_oom.c: out of memory is an error, never a crash. A small end-to-end run (parse a model,
 * make a data set, train with checkpoints, save and reload the weights, evaluate, reload the
 * checkpoint and resume) is traced once to find the call site of every allocation; then, for
 * every distinct call site, the run is repeated with that site's first allocation failing
 * (every allocation would be ~1100 runs, too slow for the suite). Each must return
 * GLIA_ENOMEM with a message, and (under the sanitizer suite) leak nothing and touch no freed
 * or unallocated memory. */
#include "test.h"
#include "core/internal.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *oom_cfg =
    "[net]\ninput = 1, 4, 4\nclasses = 2\nbatch = 4\nepochs = 2\nlr = 0.05\noptimizer = adam\n"
    "[conv]\nname = c1\nfilters = 2\nsize = 3\npad = 1\nbatchnorm = 1\nactivation = relu\n"
    "[conv]\nname = c2\ninput = c1\nfilters = 2\nsize = 1\n"
    "[add]\nname = res\ninputs = c1, c2\n"
    "[dropout]\np = 0.1\n"
    "[dense]\nname = fc\nunits = 2\n";

static void clean_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            remove(p);
        }
    closedir(d);
}

static glia_status make_set(int n, glia_dataset **out) {
    glia_tensor *x = NULL, *y = NULL;
    glia_status s = glia_tensor_new(&x, 4, (int64_t[]){n, 1, 4, 4});
    if (!s) s = glia_tensor_new(&y, 1, (int64_t[]){n});
    if (s) {
        glia_tensor_free(x);
        return s;
    }
    for (int i = 0; i < n * 16; i++) x->data[i] = (float)((i * 7) % 11) / 10;
    for (int i = 0; i < n; i++) y->data[i] = (float)(i % 2);
    return glia_dataset_new(x, y, 2, NULL, out);
}

/* The whole run; returns the first failure. */
static glia_status small_run(const char *dir) {
    glia_model *m = NULL, *m2 = NULL;
    glia_dataset *tr = NULL, *te = NULL;
    glia_train_result r;
    glia_eval_result ev;
    char path[600];
    clean_dir(dir);
    glia_status s = make_set(16, &tr);
    if (!s) s = make_set(8, &te);
    if (!s) s = glia_model_parse(oom_cfg, "oom.cfg", 1, 5, &m);
    if (!s) {
        glia_train_options o = {0};
        o.train_set = tr;
        o.test_set = te;
        o.out_dir = dir;
        o.seed = 5;
        o.val = 0.25f;
        o.normalize = 1;
        if (!(s = glia_train(m, &o, &r))) glia_eval_result_free(&r.test);
        if (!s) {
            snprintf(path, sizeof path, "%s/weights.safetensors", dir);
            s = glia_safetensors_load(glia_model_graph(m), path);
        }
        if (!s && !(s = glia_evaluate(m, te, NULL, 8, &ev))) glia_eval_result_free(&ev);
        /* resume the finished run for one more epoch */
        if (!s && !(s = glia_train_resume(dir, 3, &o, &m2, &r))) glia_eval_result_free(&r.test);
    }
    glia_model_free(m);
    glia_model_free(m2);
    glia_dataset_free(tr);
    glia_dataset_free(te);
    return s;
}

TEST(oom_every_allocation_of_a_training_run_is_an_error) {
    char dir[] = "/dev/shm/glia-oom-XXXXXX";
    CHECK(mkdtemp(dir));
    enum { CAP = 1 << 16 };
    void **site = calloc(CAP, sizeof *site);
    CHECK(site);
    glia__alloc_fail_at(-1);
    glia__alloc_trace(site, CAP);
    glia_status s = small_run(dir);
    glia__alloc_trace(NULL, 0);
    int64_t n = glia__alloc_count(), n_sites = 0;
    CHECK_MSG(s == GLIA_OK, "the run without failures: %s", glia_last_error());
    CHECK_MSG(n > 50, "only %lld allocations counted", (long long)n);
    int64_t bad = -1, n_bad = 0;
    glia_status bad_s = GLIA_OK;
    char msg[1100] = "";
    for (int64_t k = 0; k < n && k < CAP; k++) {
        int first = 1;
        for (int64_t j = 0; j < k && first; j++) first = site[j] != site[k];
        if (!first) continue;
        n_sites++;
        glia__alloc_fail_at(k);
        s = small_run(dir);
        int64_t seen = glia__alloc_count();
        glia__alloc_fail_at(-1);
        if (seen <= k) continue; /* this run made fewer allocations (none failed) */
        if (s != GLIA_ENOMEM || !glia_last_error()[0]) {
            if (n_bad++ < 5)
                fprintf(stderr, "  allocation %lld failing: %s: %s\n", (long long)k,
                        glia_status_name(s), glia_last_error());
            if (bad < 0) {
                bad = k;
                bad_s = s;
                snprintf(msg, sizeof msg, "%s", glia_last_error());
            }
        }
    }
    glia__alloc_fail_at(-1);
    free(site);
    clean_dir(dir);
    rmdir(dir);
    CHECK_MSG(n_sites > 40, "only %lld allocation sites", (long long)n_sites);
    CHECK_MSG(bad < 0, "%lld of %lld allocation sites failing were not reported as out of memory; the "
              "first, %lld, gave %s (%s)", (long long)n_bad, (long long)n, (long long)bad,
              glia_status_name(bad_s), msg);
}
