/* SPDX-License-Identifier: Apache-2.0
 *
 * cli.h: the `assetbridge` subcommands. main.c dispatches argv[1] to one of
 * these; each lives in its own file src/cli/cmd_NAME.c, parses its own
 * options, prints `--help`, and returns a process exit code.
 */
#ifndef AB_CLI_CLI_H
#define AB_CLI_CLI_H

/* Exit codes of every command (documented in `assetbridge help`). */
enum cli_exit {
    CLI_OK = 0,      /* success */
    CLI_FAILURE = 1, /* runtime failure: port in use, store unavailable, ... */
    CLI_USAGE = 2,   /* bad usage or invalid configuration */
};

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* The registry, terminated by an entry whose name is NULL. */
extern const struct cli_command cli_commands[];

int cmd_serve(int argc, char **argv);
int cmd_check_config(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_apikey(int argc, char **argv);
int cmd_exceptions(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
int cmd_deadletters(int argc, char **argv);
int cmd_providers(int argc, char **argv);
int cmd_suggestions(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

struct config;

/* Load --config FILE (NULL: the built-in default) and apply the --data-dir
 * override (may be NULL). On a configuration error every problem is printed
 * to stderr and CLI_USAGE returned; otherwise CLI_OK and *out owns the
 * configuration (config_free). */
int cli_config_load(const char *path, const char *data_dir, struct config **out /* OUT */);

/* True when arg is "-h" or "--help". */
int cli_is_help(const char *arg);

#endif
