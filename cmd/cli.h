/* cli.h: what the tools' mains share: messages, option values, number formatting. */
#ifndef VGG_CLI_H
#define VGG_CLI_H

#include <stdint.h>
#include <stdnoreturn.h>

#include "vgg.h"

/* Exit statuses of every tool (each man page's EXIT STATUS says the same). */
enum { EXIT_BAD_INPUT = 1, EXIT_USAGE = 2 };

extern const char *cli_prog;

/* When set, cli_usage_error and cli_fail call it with their exit status before exiting:
 * an MPI rank that fails ends its whole job this way. */
extern void (*cli_exit_hook)(int status);
/* `PROG: MESSAGE` and a hint to stderr, exit 2. */
noreturn void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* `PROG: MESSAGE` to stderr, exit 1. */
noreturn void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Flushes stdout; when that fails, cli_stdout_failed. */
void cli_flush_stdout(void);
/* A write to stdout failed with `errnum`: a reader that has gone (EPIPE, when SIGPIPE was
 * inherited ignored) ends the program quietly with the status SIGPIPE gives, 141, after
 * the atexit handlers; anything else with a message and status 1. */
noreturn void cli_stdout_failed(int errnum);
/* The cases every tool's getopt switch ends with: -h (usage, exit 0), -V (exit 0), a
 * missing value or an unknown option (exit 2). */
noreturn void cli_common_option(int c, char **argv, void (*usage)(void));

/* HxW or HxWxC for option `opt`; channels is left alone when not given.  Exits 2 if bad. */
void cli_parse_size(const char *opt, const char *s, int *height, int *width, int *channels);
/* A number above 0 and at most 1024 (a width factor) for option `opt`.  Exits 2 if bad. */
double cli_parse_factor(const char *opt, const char *s);
/* A whole number in [min, max] for option `opt`.  Exits 2 if bad. */
long cli_parse_long(const char *opt, const char *s, long min, long max);

/* The config MODEL with --input/--classes/--width applied, laid out; exits 1 with a message
 * if bad. */
struct cli_model {
	int height, width, channels; /* 0: keep the config's */
	int classes;                 /* 0: keep the config's */
	double widen;                /* --width's factor; 0: keep the config's widths */
	int dense;
};
void cli_open(const char *model, const struct cli_model *opt, vgg_config **cfg,
              vgg_layout **lay);

/* The same from a config's text, named `name`, pooling as `pool_ceil` says (a weights
 * file's vgg.config and vgg.pool_round). */
void cli_open_config(const char *text, const char *name, int pool_ceil,
                     const struct cli_model *opt, vgg_config **cfg, vgg_layout **lay);

/* vgg_net_load, or for '-' a weights file read from stdin as it streams. */
int cli_net_load(const char *path, vgg_net **net, vgg_error *err);

/* What a file is by its first bytes: a weights file, a .npy stream, or neither. */
enum cli_file_kind { CLI_FILE_OTHER, CLI_FILE_WEIGHTS, CLI_FILE_NPY };
enum cli_file_kind cli_file_kind(const char *path);
/* The same for bytes in memory, such as a whole stdin. */
enum cli_file_kind cli_data_kind(const void *data, size_t size);

/* The most a tool reads from stdin in one piece: 16 GiB, many times any VGG's weights. */
#define CLI_MAX_STREAM ((size_t)16 << 30)

/* A text file (labels, a prototxt, WordNet ids) as a string, malloc'd; exits 1 when it
 * cannot be read or is over 64 MiB. */
char *cli_read_text(const char *path);

/* 138357544 -> "138,357,544" in buf (at least 32 bytes). */
const char *cli_thousands(uint64_t v, char *buf);
/* 12845056 -> "12.2 MiB" in buf (at least 32 bytes). */
const char *cli_bytes(uint64_t v, char *buf);
/* A per-axis figure as "N" when both axes agree, else "NxM". */
const char *cli_axes(const int64_t v[2], char *buf);
/* The short name of a layer's type: conv, conv+bn, lrn, maxpool, avgpool, fc, softmax. */
const char *cli_layer_type(const vgg_layer_info *l);
/* Prints a cJSON document to stdout and frees it; exits 1 when out of memory. */
struct cJSON;
void cli_print_json(struct cJSON *doc);
/* The same on one line, for a stream of documents. */
void cli_print_json_line(struct cJSON *doc);
/* Adds min, max and mean (null when NaN, as JSON has no NaN). */
void cli_json_stats(struct cJSON *obj, double min, double max, double mean);
/* Adds a per-axis figure: a number when the axes agree, else [rows, columns]. */
void cli_json_axes(struct cJSON *obj, const char *key, double y, double x);

#endif
