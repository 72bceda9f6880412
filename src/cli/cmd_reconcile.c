/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_reconcile.c: `assetbridge reconcile --provider P --entity E
 * [--repair]`: queue a reconciliation in a running service (POST
 * /v1/reconcile), wait for it with a progress display (cli_http.h) and print
 * its report: how many records are missing in the hub, extra in the hub and
 * different, with the first ids of each. Exit codes: 0 the job succeeded
 * (whatever it found), 1 it failed or was cancelled or the service could
 * not be reached, 2 bad usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"

static const char reconcile_usage[] =
    "usage: assetbridge reconcile --provider P --entity E [--repair] --url URL\n"
    "                             [--no-wait] [--json] [--quiet]\n"
    "\n"
    "Compares provider P's full set of entity E with the hub's records, by native\n"
    "id and content digest, in a running service (its API at URL; or\n"
    "$ASSETBRIDGE_URL), and reports the records missing in the hub, extra in the\n"
    "hub (gone at the provider) and different. The API key (write scope) is read\n"
    "from ASSETBRIDGE_API_KEY.\n"
    "  --repair    also fix them: missing and different records are applied\n"
    "              through the normal upsert, extra ones marked missing at the\n"
    "              source; the repair is audited (reconcile.repair)\n"
    "  --no-wait   print the job id and return once it is queued\n"
    "  --json      print the final job (with the report) as JSON on stdout\n"
    "  --quiet     no progress display\n"
    "Exit codes: 0 the reconciliation ran (whatever it found), 1 it failed or was\n"
    "cancelled, 2 bad usage.\n";

static void print_ids(const char *label, const json_t *res, const char *key, const char *ids_key)
{
    const json_t *n = json_object_get(res, key);
    if (json_is_null(n) || !n) {
        printf("  %-10s unknown (the provider's set was not read to its end)\n", label);
        return;
    }
    printf("  %-10s %lld", label, (long long)json_integer_value(n));
    const json_t *ids = json_object_get(res, ids_key);
    size_t k = json_array_size(ids);
    for (size_t i = 0; i < k; i++)
        printf("%s%s", i ? ", " : "  ", json_string_value(json_array_get(ids, i)));
    if ((long long)k < (long long)json_integer_value(n))
        printf(", ... (first %zu shown)", k);
    putchar('\n');
}

static void print_report(const json_t *job)
{
    const json_t *res = json_object_get(job, "result");
    printf("reconcile %s %s: job %s %s\n", cli_str(job, "provider", "?"),
           cli_str(job, "entity", "?"), cli_str(job, "id", "?"), cli_str(job, "state", "?"));
    if (!json_is_object(res))
        return;
    printf("  provider records %lld, same %lld, skipped %lld\n",
           cli_int(res, "provider_records", 0), cli_int(res, "same", 0),
           cli_int(res, "skipped", 0));
    print_ids("missing", res, "missing", "missing_ids");
    print_ids("extra", res, "extra", "extra_ids");
    print_ids("different", res, "different", "different_ids");
    const json_t *rep = json_object_get(res, "repaired");
    if (json_is_object(rep))
        printf(
            "  repaired: %lld created, %lld updated, %lld unchanged, %lld conflicts, %lld held as "
            "mapping exceptions, %lld invalid, %lld marked missing\n",
            cli_int(rep, "created", 0), cli_int(rep, "updated", 0), cli_int(rep, "unchanged", 0),
            cli_int(rep, "conflicts", 0), cli_int(rep, "exceptions", 0), cli_int(rep, "invalid", 0),
            cli_int(rep, "marked_missing", 0));
}

int cmd_reconcile(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"provider", required_argument, NULL, 'p'},
        {"entity", required_argument, NULL, 'e'},
        {"repair", no_argument, NULL, 'r'},
        {"url", required_argument, NULL, 'u'},
        {"no-wait", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *provider = NULL, *entity = NULL, *url = NULL;
    bool repair = false, no_wait = false, as_json = false, quiet = false;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "p:e:ru:njqh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': provider = optarg; break;
        case 'e': entity = optarg; break;
        case 'r': repair = true; break;
        case 'u': url = optarg; break;
        case 'n': no_wait = true; break;
        case 'j': as_json = true; break;
        case 'q': quiet = true; break;
        case 'h': fputs(reconcile_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr,
                    "assetbridge reconcile: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "assetbridge reconcile: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    if (!provider || !*provider || !entity || !*entity) {
        fputs("assetbridge reconcile: name the provider and the entity: --provider P --entity E\n",
              stderr);
        return CLI_USAGE;
    }
    json_t *body =
        json_pack("{s:s, s:s, s:b}", "provider", provider, "entity", entity, "repair", repair);
    struct cli_job_opts jo = {no_wait, as_json, quiet, print_report};
    int rc = body ? cli_job_run("assetbridge reconcile", url, "POST", "/v1/reconcile", body, &jo)
                  : CLI_FAILURE;
    json_decref(body);
    return rc;
}
