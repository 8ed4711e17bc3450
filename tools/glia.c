/* glia.c: the glia command: dispatches to one subcommand per file. */
#include "cli.h"
#include "core/thread_env.h"
#include "glia.h"
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name, *summary;
    int (*run)(int, char **);
} commands[] = {
    {"version", "print the version of glia and of its libraries", cmd_version},
    {"ops", "list every op with its inputs and outputs", cmd_ops},
    {"demo", "build LeNet-5, check its gradients and train it a few steps", cmd_demo},
    {"train", "train a model on images (Fashion-MNIST, IDX, image folders), CSV tables, text or word pairs", cmd_train},
    {"eval", "a trained model's test accuracy, top-5 and confusion matrix", cmd_eval},
    {"predict", "classify image files with a trained model (top-5 classes)", cmd_predict},
    {"filters", "a conv layer's filters as a grid of images (PNG)", cmd_filters},
    {"features", "a layer's feature maps for an image (PNG)", cmd_features},
    {"maximize", "images that maximise a unit or class score (PNG)", cmd_maximize},
    {"cam", "class activation map over an image (PNG)", cmd_cam},
    {"gradcam", "Grad-CAM / Grad-CAM++ heat map over an image (PNG)", cmd_gradcam},
    {"saliency", "saliency map |dS/dx| of an image (PNG)", cmd_saliency},
    {"fool", "adversarial examples, fooling rate (PNG)", cmd_fool},
    {"invert", "reconstruct an image from a layer's features (PNG)", cmd_invert},
    {"dream", "Deep Dream: amplify what a layer sees (PNG)", cmd_dream},
    {"style", "neural style transfer with random multi-scale features (PNG)", cmd_style},
    {"generate", "text from a trained character language model (one-to-many)", cmd_generate},
    {"gradflow", "the vanishing/exploding gradient demonstration (RNN vs LSTM over 1000 steps)", cmd_gradflow},
    {"translate", "decode inputs with a trained encoder-decoder (greedy or beam search; --test: error rates)", cmd_translate},
    {"attention", "an encoder-decoder's attention over its input as a heat map (PNG)", cmd_attention},
    {"curves", "several runs' training curves in one PNG (loss and accuracy per epoch)", cmd_curves},
    {"summary", "a model's layers, output shapes, parameters and multiply-adds", cmd_summary},
    {"pack", "a binary network's weights packed one bit per value, with the sizes", cmd_pack},
    {"run", "one forward pass of an ONNX model or a run on named tensors (safetensors)", cmd_run},
    {"export", "a trained run (or a model file) as an ONNX model", cmd_export},
    {"import", "an ONNX model as a run directory in glia's model text (model.cfg + weights)", cmd_import},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

int wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "glia %s: deep learning in C (CNNs and RNNs)\n\n"
               "usage: glia COMMAND [options]\n       glia COMMAND --help\n\ncommands:\n",
            glia_version());
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
    glia_thread_env_defaults(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) return cmd_version(1, argv + 1);
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "glia: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
