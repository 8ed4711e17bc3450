/* test_attention.c: attention (src/ops/attention.c) with its three scores against a naive loop
 * written from the formulas (and the reference device), finite differences, and PyTorch
 * (scripts/golden/gen_attention.py); the padded encoder steps get no weight and no gradient. */
#include "test.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { T = 3, S = 4, N = 3, A = 5 };
static const float LENS[N] = {4, 2, 1};

typedef struct {
    glia_graph *g;
    int q, k, p[3], np, len, out, Dq, Dk;
} att_case;

static int n_params(int score) { return score == 0 ? 0 : score == 1 ? 1 : 3; }

static glia_status build(att_case *c, int score, int Dq, int Dk) {
    memset(c, 0, sizeof *c);
    c->Dq = Dq;
    c->Dk = Dk;
    c->np = n_params(score);
    glia_status s;
    if ((s = glia_graph_new(&c->g)) || (s = glia_input(c->g, "q", 3, (int64_t[]){T, N, Dq}, &c->q)) ||
        (s = glia_input(c->g, "k", 3, (int64_t[]){S, N, Dk}, &c->k)) ||
        (s = glia_input(c->g, "len", 1, (int64_t[]){N}, &c->len)))
        return s;
    if (score == 1) s = glia_param(c->g, "W", 2, (int64_t[]){Dq, Dk}, &c->p[0]);
    if (score == 2 && !(s = glia_param(c->g, "Wq", 2, (int64_t[]){A, Dq}, &c->p[0])) &&
        !(s = glia_param(c->g, "Wk", 2, (int64_t[]){A, Dk}, &c->p[1])))
        s = glia_param(c->g, "v", 1, (int64_t[]){A}, &c->p[2]);
    if (s || (s = glia_attention(c->g, "att", score, c->q, c->k, c->p, c->len, &c->out))) return s;
    glia_node_requires_grad(c->g, c->q, 1);
    glia_node_requires_grad(c->g, c->k, 1);
    return GLIA_OK;
}

static void fill_case(att_case *c, uint64_t seed) {
    fill_uniform(glia_node_value(c->g, c->q), T * N * c->Dq, -1, 1, seed);
    float *k = glia_node_value(c->g, c->k);
    fill_uniform(k, S * N * c->Dk, -1, 1, seed + 1);
    for (int i = 0; i < c->np; i++) {
        glia_shape s;
        glia_node_shape(c->g, c->p[i], &s);
        fill_uniform(glia_node_value(c->g, c->p[i]), glia_shape_numel(&s), -1, 1, seed + 2 + i);
    }
    for (int s = 0; s < S; s++)
        for (int n = 0; n < N; n++)
            if (s >= LENS[n])
                for (int j = 0; j < c->Dk; j++) k[(s * N + n) * c->Dk + j] = 40.0f; /* padding */
    memcpy(glia_node_value(c->g, c->len), LENS, sizeof LENS);
}

/* the score by its formula, in double */
static double naive_score(int score, const float *q, const float *k, const float *const *p, int Dq, int Dk) {
    double e = 0;
    if (score == 0)
        for (int j = 0; j < Dk; j++) e += (double)q[j] * k[j];
    if (score == 1)
        for (int a = 0; a < Dq; a++)
            for (int j = 0; j < Dk; j++) e += (double)q[a] * p[0][a * Dk + j] * k[j];
    if (score == 2)
        for (int a = 0; a < A; a++) {
            double z = 0;
            for (int j = 0; j < Dq; j++) z += (double)p[0][a * Dq + j] * q[j];
            for (int j = 0; j < Dk; j++) z += (double)p[1][a * Dk + j] * k[j];
            e += p[2][a] * tanh(z);
        }
    return e;
}

/* forward by the definition; the padded steps must not matter */
static void naive_forward(const att_case *c, int score, double *out, double *w) {
    const float *q = glia_node_value(c->g, c->q), *k = glia_node_value(c->g, c->k);
    const float *p[3] = {NULL, NULL, NULL};
    for (int i = 0; i < c->np; i++) p[i] = glia_node_value(c->g, c->p[i]);
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double e[S], mx = -1e300, sum = 0;
            int L = (int)LENS[n];
            for (int s = 0; s < L; s++) {
                e[s] = naive_score(score, q + (t * N + n) * c->Dq, k + (s * N + n) * c->Dk, p, c->Dq, c->Dk);
                mx = e[s] > mx ? e[s] : mx;
            }
            for (int s = 0; s < L; s++) sum += exp(e[s] - mx);
            for (int s = 0; s < S; s++) w[(t * N + n) * S + s] = s < L ? exp(e[s] - mx) / sum : 0;
            for (int j = 0; j < c->Dk; j++) {
                double acc = 0;
                for (int s = 0; s < L; s++) acc += w[(t * N + n) * S + s] * k[(s * N + n) * c->Dk + j];
                out[(t * N + n) * c->Dk + j] = acc;
            }
        }
}

TEST(attention_matches_naive) {
    for (int score = 0; score < 3; score++) {
        att_case c;
        int Dq = score == 0 ? 4 : 3, Dk = 4;
        OK(build(&c, score, Dq, Dk));
        OK(glia_graph_compile(c.g, GLIA_COMPILE_BACKWARD));
        fill_case(&c, 20 + (uint64_t)score);
        OK(glia_graph_forward(c.g));
        double want[T * N * 4], wts[T * N * S];
        naive_forward(&c, score, want, wts);
        float got_w[T * N * S];
        OK(glia_attention_weights(c.g, c.out, got_w));
        const float *o = glia_node_value(c.g, c.out);
        for (int i = 0; i < T * N * Dk; i++) CHECK_NEAR(o[i], want[i], 1e-5);
        for (int i = 0; i < T * N * S; i++) CHECK_NEAR(got_w[i], wts[i], 1e-6);
        /* gradients: the cpu's against the reference device's loops, and padding gets none */
        float seed[T * N * 4], dq[T * N * 4], dk[S * N * 4], dp[3][A * 4], yref[T * N * 4];
        fill_uniform(seed, T * N * Dk, -1, 1, 5);
        OK(glia_graph_backward(c.g, c.out, seed, 0));
        float cq[T * N * 4], ck[S * N * 4], cp[3][A * 4];
        memcpy(cq, glia_node_grad(c.g, c.q), sizeof(float) * T * N * Dq);
        memcpy(ck, glia_node_grad(c.g, c.k), sizeof(float) * S * N * Dk);
        for (int i = 0; i < c.np; i++) {
            glia_shape s;
            glia_node_shape(c.g, c.p[i], &s);
            memcpy(cp[i], glia_node_grad(c.g, c.p[i]), sizeof(float) * (size_t)glia_shape_numel(&s));
        }
        for (int s = 0; s < S; s++)
            for (int n = 0; n < N; n++)
                for (int j = 0; j < Dk && s >= LENS[n]; j++) CHECK(ck[(s * N + n) * Dk + j] == 0.0f);
        int nodes[5] = {c.q, c.k, c.p[0], c.p[1], c.p[2]};
        float *grads[5] = {dq, dk, dp[0], dp[1], dp[2]};
        const float *vals[5] = {NULL, NULL, NULL, NULL, NULL};
        CHECK(reference_run(c.g, c.out, seed, 2 + c.np, nodes, vals, yref, grads));
        for (int i = 0; i < T * N * Dk; i++) CHECK_NEAR(yref[i], want[i], 1e-5);
        int64_t worst;
        CHECK(max_rel_diff(cq, dq, T * N * Dq, 1e-3, &worst) < 1e-4);
        CHECK(max_rel_diff(ck, dk, S * N * Dk, 1e-3, &worst) < 1e-4);
        for (int i = 0; i < c.np; i++) {
            glia_shape s;
            glia_node_shape(c.g, c.p[i], &s);
            CHECK(max_rel_diff(cp[i], dp[i], glia_shape_numel(&s), 1e-3, &worst) < 1e-4);
        }
        OK(glia_graph_set_device(c.g, "cpu"));
        ref_checked(c.g, c.out);
        glia_graph_free(c.g);
    }
}

TEST(attention_gradcheck) {
    for (int score = 0; score < 3; score++) {
        att_case c;
        OK(build(&c, score, score == 0 ? 4 : 3, 4));
        OK(glia_graph_compile(c.g, GLIA_COMPILE_BACKWARD));
        fill_case(&c, 40 + (uint64_t)score);
        /* moderate scores, so the softmax is not saturated and differences are informative */
        float *k = glia_node_value(c.g, c.k);
        for (int i = 0; i < S * N * 4; i++) k[i] = k[i] > 10 ? 0.3f : k[i];
        /* float32 differences through tanh and exp: the additive score is held to 1e-2 (its
         * analytic gradient matches the reference device's double loops to 1e-4 above) */
        const double tol = score == 2 ? 1e-2 : 2e-3;
        GRADCHECK(c.g, c.out, c.q, tol);
        GRADCHECK(c.g, c.out, c.k, tol);
        for (int i = 0; i < c.np; i++) GRADCHECK(c.g, c.out, c.p[i], tol);
        glia_graph_free(c.g);
    }
}

TEST(attention_golden_pytorch) {
    static const char *const files[3] = {"attention_dot", "attention_general", "attention_additive"};
    static const char *const names[3][5] = {
        {"q", "k"}, {"q", "k", "W"}, {"q", "k", "Wq", "Wk", "v"}};
    for (int score = 0; score < 3; score++) {
        att_case c;
        OK(build(&c, score, score == 0 ? 4 : 3, 4));
        memcpy(glia_node_value(c.g, c.len), LENS, sizeof LENS);
        int nodes[5] = {c.q, c.k, c.p[0], c.p[1], c.p[2]};
        GOLDEN_CHECK(c.g, files[score], c.out, 2 + c.np, names[score], nodes, 1e-5);
        glia_graph_free(c.g);
    }
}

TEST(attention_errors_name_node) {
    glia_graph *g;
    int q, k, k5, len, w, out;
    OK(glia_graph_new(&g));
    OK(glia_input(g, "q", 3, (int64_t[]){T, N, 4}, &q));
    OK(glia_input(g, "k", 3, (int64_t[]){S, N, 4}, &k));
    OK(glia_input(g, "k5", 3, (int64_t[]){S, N, 5}, &k5));
    OK(glia_input(g, "len", 1, (int64_t[]){N}, &len));
    OK(glia_param(g, "W", 2, (int64_t[]){3, 4}, &w));
    CHECK(glia_attention(g, "adot", GLIA_ATTENTION_DOT, q, k5, NULL, len, &out) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "adot") && strstr(glia_last_error(), "Dk = Dq"));
    CHECK(glia_attention(g, "agen", GLIA_ATTENTION_GENERAL, q, k, &w, len, &out) == GLIA_ESHAPE);
    CHECK(strstr(glia_last_error(), "agen") && strstr(glia_last_error(), "'W'"));
    CHECK(glia_attention(g, "abad", 7, q, k, NULL, len, &out) == GLIA_EINVAL);
    OK(glia_attention(g, "att", GLIA_ATTENTION_DOT, q, k, NULL, len, &out));
    OK(glia_graph_compile(g, 0));
    OK(glia_node_set(g, len, (float[]){2, 5, 1}, N)); /* 5 > S */
    CHECK(glia_graph_forward(g) == GLIA_ERANGE && strstr(glia_last_error(), "att"));
    glia_graph_free(g);
}
