/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_misc.c: the command registry and the small commands: help, version.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const struct cli_command cli_commands[] = {
    {"serve", "run the service (HTTP API, sync engine)", cmd_serve},
    {"check-config", "check a configuration file and report every problem", cmd_check_config},
    {"backup", "write an online copy of the store to a file", cmd_backup},
    {"apikey", "create, list and revoke API keys", cmd_apikey},
    {"exceptions", "list and resolve mapping exceptions of a running service", cmd_exceptions},
    {"sync", "pull from a provider now, as a job of a running service", cmd_sync},
    {"reconcile", "compare (and repair) a provider's records with the hub's", cmd_reconcile},
    {"dead-letters", "list and replay dead letters of a running service", cmd_deadletters},
    {"providers", "check the health of each provider of a running service", cmd_providers},
    {"suggestions", "list, approve and reject calibration interval suggestions", cmd_suggestions},
    {"sim", "run a provider simulator (local imitation of a provider API)", cmd_sim},
    {"version", "print the version", cmd_version},
    {"help", "show this help", cmd_help},
    {NULL, NULL, NULL},
};

int cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1 && cli_is_help(argv[1])) {
        puts("usage: assetbridge version\n\nPrints the version of assetbridge.");
        return CLI_OK;
    }
    printf("assetbridge %s\n", AB_VERSION);
    return CLI_OK;
}

int cmd_help(int argc, char **argv)
{
    FILE *out = argc >= 1 && strcmp(argv[0], "help") == 0 ? stdout : stderr;
    if (argc > 1 && !cli_is_help(argv[1])) {
        for (const struct cli_command *c = cli_commands; c->name; c++) {
            if (strcmp(c->name, argv[1]) == 0) {
                char *args[] = {argv[1], "--help", NULL};
                return c->run(2, args);
            }
        }
        fprintf(stderr, "assetbridge: unknown command '%s'\n", argv[1]);
        return CLI_USAGE;
    }
    fprintf(out,
            "assetbridge %s: keeps WATS and a plant's asset, maintenance and calibration\n"
            "systems in sync.\n\n"
            "usage: assetbridge <command> [options]\n\ncommands:\n",
            AB_VERSION);
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(out, "  %-14s %s\n", c->name, c->summary);
    fputs("\n'assetbridge <command> --help' describes a command's options.\n"
          "Commands that use the configuration take --config FILE; without it the\n"
          "built-in default serves on 127.0.0.1:8440 with its data in ./assetbridge-data.\n\n"
          "exit codes:\n"
          "  0  success\n"
          "  1  runtime failure (port in use, store unavailable, ...)\n"
          "  2  usage or configuration error\n",
          out);
    return CLI_OK;
}
