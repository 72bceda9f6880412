/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_apikey.c: `assetbridge apikey create|list|revoke`, working on the
 * store directly (a second SQLite connection), so it works while the
 * service runs. A new key is printed once, alone on the last line; only its
 * hash is stored.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "api/auth.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/file.h"
#include "core/id.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "model/model.h"
#include "store/apikeys.h"
#include "store/store.h"

static const char apikey_usage[] =
    "usage: assetbridge apikey create --tenant T --scopes SCOPES [--name NAME]\n"
    "       assetbridge apikey list [--tenant T]\n"
    "       assetbridge apikey revoke ID\n"
    "   common options: [--config FILE] [--data-dir DIR]\n"
    "\n"
    "SCOPES is a comma-separated list of read, ingest, write, admin:\n"
    "  read    read everything of the tenant\n"
    "  ingest  post meter readings only (the key a test station gets)\n"
    "  write   read, ingest and change\n"
    "  admin   everything, including keys, webhooks and replays\n"
    "create makes the tenant when it is new and prints the key alone on the last\n"
    "line: it is shown this once. Works while the service runs; a revoked key\n"
    "stops working within 5 seconds.\n";

struct key_job {
    struct store_apikey key;
    const char *hash;
    const char *revoke_id;
};

static enum ab_rc create_job(struct store_tx *tx, void *arg)
{
    struct key_job *j = arg;
    return store_apikey_add(tx, &j->key, j->hash, "cli");
}

static enum ab_rc revoke_job(struct store_tx *tx, void *arg)
{
    struct key_job *j = arg;
    return store_apikey_revoke(tx, j->revoke_id, "cli");
}

int cmd_apikey(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"tenant", required_argument, NULL, 't'},
        {"scopes", required_argument, NULL, 's'},
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(apikey_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *verb = argv[1];
    const char *config_path = NULL, *data_dir = NULL, *tenant = NULL, *scopes = NULL, *name = NULL;
    int opt;
    optind = 2;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+c:d:t:s:n:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'd': data_dir = optarg; break;
        case 't': tenant = optarg; break;
        case 's': scopes = optarg; break;
        case 'n': name = optarg; break;
        case 'h': fputs(apikey_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr, "assetbridge apikey: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    bool create = strcmp(verb, "create") == 0, list = strcmp(verb, "list") == 0,
         revoke = strcmp(verb, "revoke") == 0;
    if (!create && !list && !revoke) {
        fprintf(stderr, "assetbridge apikey: unknown action '%s' (create, list or revoke)\n", verb);
        return CLI_USAGE;
    }
    unsigned mask = 0;
    if (create) {
        char bad[48];
        if (!tenant || !model_ref_valid(tenant)) {
            fprintf(stderr, "assetbridge apikey create: --tenant must name a tenant "
                            "(letters, digits, '_', '-', '.'; at most 64)\n");
            return CLI_USAGE;
        }
        if (!scopes || !api_scopes_parse(scopes, &mask, bad, sizeof(bad))) {
            fprintf(stderr,
                    "assetbridge apikey create: --scopes: '%s' is not one of read, ingest, "
                    "write, admin\n",
                    scopes ? bad : "");
            return CLI_USAGE;
        }
    }
    if (revoke && optind != argc - 1) {
        fprintf(stderr,
                "assetbridge apikey revoke: name the key ID to revoke (see 'apikey list')\n");
        return CLI_USAGE;
    }
    if (!revoke && optind != argc) {
        fprintf(stderr, "assetbridge apikey: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }

    struct config *cfg = NULL;
    if (cli_config_load(config_path, data_dir, &cfg) != CLI_OK)
        return CLI_USAGE;
    log_configure(LOG_WARN, LOG_FORMAT_JSON, 2);

    int status = CLI_FAILURE;
    struct store *s = NULL;
    char err[512];
    int e = file_mkdir_p(cfg->store.data_dir);
    if (e) {
        fprintf(stderr, "assetbridge apikey: cannot create data directory '%s': %s\n",
                cfg->store.data_dir, strerror(e));
        goto out;
    }
    if (store_open(&cfg->store, &s, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "assetbridge apikey: %s\n", err);
        goto out;
    }
    if (create) {
        char key[API_KEY_LEN + 1], hash[65], id[ID_ULID_LEN + 1], canon[64];
        api_key_generate(key, hash);
        id_ulid_new(id);
        api_scopes_format(mask, canon, sizeof(canon));
        struct key_job j = {0};
        j.key.id = id;
        j.key.tenant = tenant;
        j.key.name = name;
        j.key.scopes = canon;
        j.hash = hash;
        enum ab_rc rc = store_write(s, create_job, &j, NULL);
        if (rc) {
            fprintf(stderr, "assetbridge apikey create: %s\n", ab_rc_name(rc));
            goto out;
        }
        printf("created API key %s for tenant %s with scopes %s\n", id, tenant, canon);
        printf("store it now: it is not shown again\n%s\n", key);
    } else if (list) {
        struct store_read *r;
        struct arena *a = arena_new(0, 0);
        struct store_apikey *v;
        size_t n;
        enum ab_rc rc = store_read_begin(s, &r);
        if (!rc) {
            rc = store_apikeys_list(r, tenant, a, &v, &n);
            store_read_end(r);
        }
        if (rc) {
            arena_free(a);
            fprintf(stderr, "assetbridge apikey list: %s\n", ab_rc_name(rc));
            goto out;
        }
        printf("%-26s  %-16s  %-24s  %-20s  %s\n", "ID", "TENANT", "SCOPES", "CREATED", "STATE");
        for (size_t i = 0; i < n; i++) {
            char created[TIME_RFC3339_MAX];
            time_format_rfc3339(v[i].created_at - v[i].created_at % 1000, created);
            printf("%-26s  %-16s  %-24s  %-20s  %s%s%s\n", v[i].id, v[i].tenant, v[i].scopes,
                   created, v[i].revoked_at == INT64_MIN ? "active" : "revoked",
                   v[i].name ? "  " : "", v[i].name ? v[i].name : "");
        }
        arena_free(a);
    } else {
        struct key_job j = {0};
        j.revoke_id = argv[optind];
        enum ab_rc rc = store_write(s, revoke_job, &j, NULL);
        if (rc == AB_ENOTFOUND || rc == AB_ECONFLICT) {
            fprintf(stderr, "assetbridge apikey revoke: %s\n",
                    rc == AB_ENOTFOUND ? "no key with that ID" : "that key was revoked already");
            status = CLI_USAGE;
            goto out;
        }
        if (rc) {
            fprintf(stderr, "assetbridge apikey revoke: %s\n", ab_rc_name(rc));
            goto out;
        }
        printf("revoked API key %s (a running service stops accepting it within 5 s)\n",
               j.revoke_id);
    }
    status = CLI_OK;
out:
    store_close(s);
    config_free(cfg);
    return status;
}
