/* SPDX-License-Identifier: Apache-2.0
 *
 * cli_config.c: loading the configuration the way every command does:
 * --config FILE or the built-in default, then the --data-dir override.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "core/config.h"

int cli_config_load(const char *path, const char *data_dir, struct config **out)
{
    struct config *cfg = NULL;
    if (path) {
        struct config_errors errs = {0};
        if (config_load(path, &cfg, &errs) != AB_OK) {
            config_errors_print(&errs, stderr);
            if (errs.n > 1)
                fprintf(stderr, "%s: %zu errors\n", path, errs.n);
            config_errors_cleanup(&errs);
            return CLI_USAGE;
        }
        config_errors_cleanup(&errs);
    } else {
        cfg = config_default();
    }
    if (data_dir)
        cfg->store.data_dir = data_dir;
    *out = cfg;
    return CLI_OK;
}
