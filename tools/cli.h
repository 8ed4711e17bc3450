/* cli.h: the glia command's subcommands, one file each. */
#ifndef GLIA_CLI_H
#define GLIA_CLI_H
int cmd_version(int argc, char **argv);
int cmd_ops(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_filters(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_maximize(int argc, char **argv);
int cmd_cam(int argc, char **argv);
int cmd_gradcam(int argc, char **argv);
int cmd_saliency(int argc, char **argv);
int cmd_fool(int argc, char **argv);
int cmd_invert(int argc, char **argv);
int cmd_dream(int argc, char **argv);
int cmd_style(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_gradflow(int argc, char **argv);
int cmd_curves(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_translate(int argc, char **argv); /* cmd_translate.c: glia translate, glia attention */
int cmd_attention(int argc, char **argv);
/* A trained run's directory, opened (run_dir.c): the model with its weights, class names, and
 * the data set it was trained on (from the checkpoint; fashion-mnist if unknown). */
#include "glia.h"
typedef struct run_dir {
    glia_model *m;
    int classes;
    char **names;            /* `classes` names: classes.txt's, numbers for the rest */
    int named;               /* how many came from classes.txt (0: none, a language model) */
    char data[512];
    char val_data[512];      /* an image folder run's test folder (--val-dir), "" if none */
    char target[512];        /* a CSV table run's target columns (--target), "" if none */
    char dir[1024];          /* the run's directory */
    char weights[1100];      /* the weights file read */
    int packed;              /* 1: it is a packed weights file (glia pack; glia-packed-1 or -2) */
} run_dir;
/* 1 on success; otherwise prints "glia CMD: <why>" and returns 0. */
int run_dir_open(const char *dir, int64_t batch, run_dir *r, const char *cmd);
/* run_dir_open of PATH, a run directory or a weights file in one (weights.safetensors or a
 * packed weights file), with the weights from WEIGHTS instead when not NULL; either weights
 * file may be packed (its "format" metadata says so) */
int run_dir_open_weights(const char *path, const char *weights, int64_t batch, run_dir *r,
                         const char *cmd);
void run_dir_free(run_dir *r);
/* glia predict's pieces (cmd_predict.c): a JSON string; softmax of z[C] into p and the indices
 * of the `top` largest first in order; and predict_text.c: sentences through a sequence model */
void predict_json_str(const char *s);
void predict_softmax_top(const float *z, int C, int top, double *p, int *order);
int predict_text(run_dir *r, const char *dir, const char **texts, int n, int top, int json);
/* vocab.txt of a sequence run (vocab_file.c): its symbols, unescaped, in *count; NULL if it
 * cannot be read (glia_last_error() says why). Words are cut at VOCAB_WORD_MAX - 1 bytes. */
enum { VOCAB_WORD_MAX = 256 };
char **vocab_read(const char *path, int *count);
void vocab_free(char **words, int count);
/* A node's values as host floats on every device (node_io.c): the node's own memory where the
 * graph's device has host memory, else *copy (reallocated to the node's size; free() it) holding
 * them. After writing into it, node_sync(g, node, p, *copy) sends a copy to the node (nothing to
 * do for the node's own memory). NULL / 0 after printing "glia CMD: <why>". */
float *node_host(glia_graph *g, int node, float **copy, const char *cmd);
int node_sync(glia_graph *g, int node, const float *p, const float *copy, const char *cmd);
/* true if argv holds -h or --help */
int wants_help(int argc, char **argv);
/* A non-negative decimal integer (a seed, a count): digits only, so "-1" is refused rather than
 * read as 2^64 - 1. 1 on success. */
#include <stdint.h>
int cli_u64(const char *v, uint64_t *out);
/* An option: --name followed by a value (kind 'i' int, 'u' uint64_t (cli_u64), 'f' float, 's' string) or
 * a flag ('b', sets an int to 1). */
typedef struct cli_opt {
    const char *name;
    char kind;
    void *dst;
} cli_opt;
/* Options from the table (cli_opts.c); other arguments go to pos[0..max_pos). Returns 1, or
 * prints "glia CMD: ..." and returns 0 (exit code 2). */
int cli_parse(int argc, char **argv, const cli_opt *opts, const char **pos, int max_pos,
              int *n_pos, const char *cmd);
/* --const NAME=V[,V...][,NAME=V...] (cli_opts.c), one option for every command that takes a
 * model: inputs of an .onnx model fixed at load (glia_onnx_consts_parse; glia_model_load_const),
 * such as Silero VAD's sample rate. cli_const is NULL when not given. Tables add CLI_CONST_OPT;
 * hand-parsed commands call cli_const_arg at argv[*i]: 1 taken (i moved on), 0 not --const, -1
 * after printing an error. cli_model_load is glia_model_load_const with cli_const. */
extern const char *cli_const;
#define CLI_CONST_OPT {"--const", 's', &cli_const}
#define CLI_CONST_HELP                                                                     \
    "  --const NAME=V[,V...][,NAME=V...]\n"                                                \
    "                an .onnx model: fix inputs at load (sr=16000, the sample rate\n"      \
    "                an If tests, is inlined; one value fills a tensor input)\n"
int cli_const_arg(int argc, char **argv, int *i, const char *cmd);
glia_status cli_model_load(const char *path, int64_t batch, uint64_t seed, int shapes_only, glia_model **m);
#endif
