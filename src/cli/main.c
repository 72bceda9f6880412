/* SPDX-License-Identifier: Apache-2.0
 *
 * main.c: the `assetbridge` entry point. Dispatches the first argument to a
 * subcommand from the registry in cmd_misc.c; everything else lives there.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/timefmt.h"

int main(int argc, char **argv)
{
    time_zone_init(); /* before any thread: zone switches never move the environment */
    if (argc < 2) {
        char *help[] = {"help", NULL};
        cmd_help(1, help);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (cli_is_help(name))
        name = "help";
    else if (strcmp(name, "--version") == 0)
        name = "version";
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "assetbridge: unknown command '%s' (see 'assetbridge help')\n", argv[1]);
    return CLI_USAGE;
}
