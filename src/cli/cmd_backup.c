/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_backup.c: `assetbridge backup FILE`: an online copy of the store,
 * safe while the service runs (SQLite's backup API, in small steps, through
 * a connection of its own). Restoring is documented in docs/operations.md (backup and restore).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

static const char backup_usage[] =
    "usage: assetbridge backup [--config FILE] [--data-dir DIR] FILE\n"
    "\n"
    "Writes a consistent copy of the store to FILE (which must not exist) while\n"
    "the service keeps running. Restore: stop the service, move the copy to the\n"
    "store's path (store.data_dir/store.path), remove any -wal and -shm files\n"
    "next to it, start the service.\n";

int cmd_backup(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *data_dir = NULL;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+c:d:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'd': data_dir = optarg; break;
        case 'h': fputs(backup_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr, "assetbridge backup: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "assetbridge backup: name one backup FILE (see --help)\n");
        return CLI_USAGE;
    }
    const char *target = argv[optind];

    struct config *cfg = NULL;
    if (cli_config_load(config_path, data_dir, &cfg) != CLI_OK)
        return CLI_USAGE;
    log_configure(LOG_WARN, LOG_FORMAT_JSON, 2);

    /* never create an empty store by backing up a mistyped location */
    char path[4096];
    const char *p = cfg->store.path;
    int n = p[0] == '/' ? snprintf(path, sizeof(path), "%s", p)
                        : snprintf(path, sizeof(path), "%s/%s", cfg->store.data_dir, p);
    struct stat st;
    int status = CLI_FAILURE;
    if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) != 0) {
        fprintf(stderr, "assetbridge backup: no store at '%s': %s\n", path,
                n < 0 || (size_t)n >= sizeof(path) ? "path too long" : strerror(errno));
        goto out;
    }
    struct store *s;
    char err[512];
    if (store_open(&cfg->store, &s, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "assetbridge backup: %s\n", err);
        goto out;
    }
    enum ab_rc rc = store_backup(s, target, err, sizeof(err));
    store_close(s);
    if (rc) {
        fprintf(stderr, "assetbridge backup: %s\n", err);
        goto out;
    }
    printf("backup of %s written to %s\n", path, target);
    status = CLI_OK;
out:
    config_free(cfg);
    return status;
}
