/* test_zoo.c: every model of the zoo (the files in models/zoo, written by scripts/zoo-gen.py) builds,
 * with torchvision's trainable-parameter count, every torchvision parameter under its name with
 * its shape, and every layer named as a torchvision module giving that module's output shape
 * (tests/golden/zoo.json, from scripts/zoo-counts.py); the zoo's models torchvision lacks give
 * their papers' counts (and, where the count follows from the paper's table, the exact one). */
#include "test.h"
#include "core/internal.h"
#include "io/json.h"
#include <stdlib.h>
#include <string.h>

#define ZOO_JSON "tests/golden/zoo.json"

static int64_t trainable(glia_model *m) {
    int64_t t = 0;
    for (int i = 0; i < glia_model_num_layers(m); i++) {
        glia_layer_info li;
        if (glia_model_layer(m, i, &li)) return -1;
        t += li.trainable_params;
    }
    return t;
}

/* [d0, d1, ...] into dims; returns the count (-1 on a JSON error) */
static int read_dims(glia_json *j, int64_t *dims) {
    int n = 0;
    if (glia__json_enter(j, '[')) return -1;
    while (glia__json_next(j)) {
        uint64_t v;
        if (glia__json_uint(j, "dimension", (uint64_t)1 << 40, &v) || n == GLIA_MAX_DIMS) return -1;
        dims[n++] = (int64_t)v;
    }
    return j->err ? -1 : n;
}

typedef struct {
    int checked_params, checked_outputs, outputs;
    char bad[512];
} zoo_result;

/* the layer of m named name, -1 if none */
static int layer_named(glia_model *m, const char *name, glia_layer_info *li) {
    for (int i = 0; i < glia_model_num_layers(m); i++)
        if (!glia_model_layer(m, i, li) && !strcmp(li->name, name)) return i;
    return -1;
}

/* checks model m against one torchvision entry {"outputs": {...}, "params": {...}, "trainable"} */
static glia_status check_entry(glia_json *j, glia_model *m, zoo_result *r) {
    char *key = NULL, *name = NULL;
    glia_graph *g = glia_model_graph(m);
    if (glia__json_enter(j, '{')) return j->err;
    while (!r->bad[0] && glia__json_next(j)) {
        if (glia__json_key(j, &key, NULL)) break;
        if (!strcmp(key, "trainable")) {
            uint64_t want;
            if (glia__json_uint(j, "count", (uint64_t)1 << 40, &want)) break;
            if (trainable(m) != (int64_t)want)
                snprintf(r->bad, sizeof r->bad, "%lld trainable parameters, torchvision %llu",
                         (long long)trainable(m), (unsigned long long)want);
        } else {
            int params = !strcmp(key, "params");
            if (glia__json_enter(j, '{')) break;
            while (!r->bad[0] && glia__json_next(j)) {
                int64_t dims[GLIA_MAX_DIMS];
                int nd, id;
                glia_shape s;
                glia_layer_info li;
                free(name);
                name = NULL;
                if (glia__json_key(j, &name, NULL) || (nd = read_dims(j, dims)) < 0) break;
                if (params) {
                    if (glia_graph_find(g, name, &id) || glia_node_shape(g, id, &s)) {
                        snprintf(r->bad, sizeof r->bad, "no parameter '%s'", name);
                        break;
                    }
                } else {
                    r->outputs++;
                    if (layer_named(m, name, &li) < 0) continue; /* a torchvision container */
                    s = li.shape; /* [N, ...]: compare the per-sample dims */
                    s.ndim--;
                    memmove(s.dim, s.dim + 1, (size_t)s.ndim * sizeof s.dim[0]);
                }
                int same = s.ndim == nd;
                for (int k = 0; same && k < nd; k++) same = s.dim[k] == dims[k];
                char a[96];
                if (!same)
                    snprintf(r->bad, sizeof r->bad, "%s '%s': glia %s, torchvision %d dims from %lld",
                             params ? "parameter" : "output of", name, glia_shape_str(&s, a, sizeof a), nd,
                             (long long)dims[0]);
                params ? r->checked_params++ : r->checked_outputs++;
            }
        }
        free(key);
        key = NULL;
    }
    free(key);
    free(name);
    return j->err;
}

TEST(zoo_matches_torchvision_counts_params_and_shapes) {
    char *text = test_read_file(ZOO_JSON, 0);
    CHECK_MSG(text, "%s: %s (scripts/zoo-counts.py writes it)", ZOO_JSON, glia_last_error());
    glia_json j;
    glia__json_init(&j, ZOO_JSON, text, strlen(text));
    char *key = NULL, *model = NULL;
    int models = 0;
    if (!glia__json_enter(&j, '{'))
        while (glia__json_next(&j)) {
            free(key);
            key = NULL;
            if (glia__json_key(&j, &key, NULL)) break;
            if (strcmp(key, "torchvision")) {
                glia__json_skip(&j);
                continue;
            }
            if (glia__json_enter(&j, '{')) break;
            while (glia__json_next(&j)) {
                free(model);
                model = NULL;
                if (glia__json_key(&j, &model, NULL)) break;
                char path[256];
                snprintf(path, sizeof path, "models/zoo/%s.cfg", model);
                glia_model *m;
                glia_status s = glia_model_load(path, 1, 1, &m);
                if (s) {
                    test_fail(__FILE__, __LINE__, "%s: %s", path, glia_last_error());
                    break;
                }
                zoo_result r = {0};
                check_entry(&j, m, &r);
                glia_model_free(m);
                if (r.bad[0] || j.err) {
                    test_fail(__FILE__, __LINE__, "%s: %s", path, j.err ? glia_last_error() : r.bad);
                    break;
                }
                /* every parameter, and at least half the module outputs (the others are
                 * torchvision's containers, and ReLUs that glia's layers hold) */
                if (getenv("GLIA_ZOO_VERBOSE"))
                    printf("%-24s %3d parameters, %3d of %3d outputs compared\n", model, r.checked_params,
                           r.checked_outputs, r.outputs);
                if (r.checked_params < 10 || 2 * r.checked_outputs < r.outputs) {
                    test_fail(__FILE__, __LINE__, "%s: only %d parameters, %d of %d outputs compared",
                              path, r.checked_params, r.checked_outputs, r.outputs);
                    break;
                }
                models++;
            }
        }
    glia_status js = j.err;
    free(key);
    free(model);
    free(text);
    if (test_failed_flag) return;
    OK(js);
    CHECK_MSG(models == 18, "%d torchvision models checked", models);
}

/* the zoo's models torchvision lacks: exact counts from the papers' tables, and the rounded
 * figure a paper gives */
TEST(zoo_paper_models_have_the_papers_counts) {
    static const struct {
        const char *name;
        int64_t count, millions, classes;
    } cases[] = {
        {"vgg11_lrn", 132863336, 133, 1000}, /* A-LRN: A's weights; LRN has none */
        {"vgg16_c", 133638952, 134, 1000},   /* C: D with three 3x3 convs made 1x1 */
        /* two towers: conv1 96*3*121, conv2 256*48*25, conv3 384*256*9, conv4 384*192*9, conv5
         * 256*192*9, fc 9216*4096, 4096^2, 4096*1000, with biases */
        {"alexnet_lrn", 34944 + 307456 + 885120 + 663936 + 442624 + 37752832 + 16781312 + 4097000, 61, 1000}, /* the paper: "60 million" */
        /* 5x5x48x192 + 11 3x3x192x192 (biases), a 1x1 192 -> 1 without bias, 361 position biases */
        {"alphago_policy", 48 * 25 * 192 + 192 + 11 * (192 * 9 * 192 + 192) + 192 + 361, 4, 361},
        /* 784 -> 50, 30 highway layers of 2 (50x50 + 50), 50 -> 10 */
        {"highway30", 784 * 50 + 50 + 30 * 2 * (2500 + 50) + 510, 0, 10},
        /* locally connected L4 (55x55 positions, 16 x 16*9*9), L5 (25x25, 16 x 16*7*7), L6 (21x21,
         * 16 x 16*5*5), each with a bias per position; C1 32 x 3*11*11, C3 16 x 32*9*9, F7
         * 7056 -> 4096, F8 4096 -> 4030 (the paper: "more than 120 million") */
        {"deepface", 3025 * 16 * 1296 + 16 * 3025 + 625 * 16 * 784 + 16 * 625 + 441 * 16 * 400 + 16 * 441 +
                         32 * 363 + 32 + 16 * 2592 + 16 + 7056 * 4096 + 4096 + 4096 * 4030 + 4030, -1, 4030},
        /* no count in these papers' text: they build, with their outputs */
        {"zfnet", -1, -1, 1000},
        {"nin", -1, -1, 1000},
        {"diracnet18", -1, -1, 1000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "models/zoo/%s.cfg", cases[i].name);
        glia_model *m;
        OK(glia_model_load(path, 1, 1, &m));
        int64_t t = trainable(m);
        glia_shape s;
        glia_node_shape(glia_model_graph(m), glia_model_output(m), &s);
        glia_model_free(m);
        CHECK_MSG(cases[i].count < 0 || t == cases[i].count, "%s: %lld parameters, expected %lld", path,
                  (long long)t, (long long)cases[i].count);
        CHECK_MSG(cases[i].millions < 0 || (t + 500000) / 1000000 == cases[i].millions, "%s: %lld parameters, the paper's %lld million",
                  path, (long long)t, (long long)cases[i].millions);
        CHECK_MSG(s.ndim == 2 && s.dim[1] == cases[i].classes, "%s: output of %d dims", path, s.ndim);
    }
}
