/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_check_config.c: `assetbridge check-config [--config] FILE [--print]`.
 *
 * Loads a configuration file exactly as `serve` would and reports every
 * problem at once (file:line:column, the key path and a hint), so a file
 * can be fixed in one pass before a deployment. With --print it writes the
 * effective configuration, defaults filled in and secrets redacted. Called
 * only by main.c through the command registry.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"

static const char usage[] =
    "usage: assetbridge check-config [--config] FILE [--print]\n"
    "\n"
    "Checks the configuration FILE and reports every problem found, each as\n"
    "FILE:LINE:COLUMN: error: MESSAGE with a hint on the next line.\n"
    "\n"
    "options:\n"
    "  --config FILE  the file to check (the option name may be left out)\n"
    "  --print        on success, also print the effective configuration with\n"
    "                 defaults filled in and secrets redacted\n"
    "  -h, --help     show this help\n"
    "\n"
    "exit codes: 0 the file is valid, 2 usage error or invalid configuration\n";

int cmd_check_config(int argc, char **argv)
{
    const char *file = NULL;
    int print = 0;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg)) {
            (void)fputs(usage, stdout);
            return CLI_OK;
        }
        if (strcmp(arg, "--print") == 0) {
            print = 1;
        } else if (strcmp(arg, "--config") == 0 || strcmp(arg, "-c") == 0) {
            if (i + 1 >= argc) {
                (void)fprintf(stderr,
                              "assetbridge check-config: %s needs a file name (try --help)\n", arg);
                return CLI_USAGE;
            }
            if (file) {
                (void)fprintf(stderr, "assetbridge check-config: only one file may be checked\n");
                return CLI_USAGE;
            }
            file = argv[++i];
        } else if (strncmp(arg, "--config=", 9) == 0 && !file) {
            file = arg + 9;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            (void)fprintf(stderr, "assetbridge check-config: unknown option '%s' (try --help)\n",
                          arg);
            return CLI_USAGE;
        } else if (file) {
            (void)fprintf(stderr, "assetbridge check-config: only one file may be checked\n");
            return CLI_USAGE;
        } else {
            file = arg;
        }
    }
    if (!file || !*file) {
        (void)fprintf(stderr,
                      "assetbridge check-config: no configuration file given (try --help)\n");
        return CLI_USAGE;
    }

    struct config *cfg = NULL;
    struct config_errors errs;
    enum ab_rc rc = config_load(file, &cfg, &errs);
    if (rc == AB_EIO) {
        config_errors_print(&errs, stderr); /* one line: the file and the OS reason */
        config_errors_cleanup(&errs);
        return CLI_USAGE;
    }
    if (rc) {
        config_errors_print(&errs, stderr);
        (void)fprintf(stderr, "%s: %zu error%s\n", file, errs.n, errs.n == 1 ? "" : "s");
        config_errors_cleanup(&errs);
        return CLI_USAGE;
    }
    size_t providers = 0;
    for (size_t i = 0; i < cfg->n_tenants; i++)
        providers += cfg->tenants[i].n_providers;
    /* with --print the verdict goes to stderr, so stdout is a loadable file */
    (void)fprintf(print ? stderr : stdout, "%s: ok (%zu tenant%s, %zu provider%s)\n", file,
                  cfg->n_tenants, cfg->n_tenants == 1 ? "" : "s", providers,
                  providers == 1 ? "" : "s");
    if (print)
        config_print(cfg, stdout);
    config_free(cfg);
    config_errors_cleanup(&errs);
    return CLI_OK;
}
