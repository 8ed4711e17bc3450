/* cli.h: the glia command's subcommands, one file each. */
#ifndef GLIA_CLI_H
#define GLIA_CLI_H
int cmd_version(int argc, char **argv);
int cmd_ops(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_train(int argc, char **argv);
/* true if argv holds -h or --help */
int wants_help(int argc, char **argv);
#endif
