/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_sync.c: `assetbridge sync --provider P [--entity E] [--full]`: queue a
 * sync job in a running service (POST /v1/providers/P:sync) and wait for it
 * with a progress display (cli_http.h). Exit codes: 0 the job succeeded, 1
 * it failed or was cancelled or the service could not be reached, 2 bad
 * usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"

static const char sync_usage[] =
    "usage: assetbridge sync --provider P [--entity E] [--full] --url URL\n"
    "                        [--no-wait] [--json] [--quiet]\n"
    "\n"
    "Pulls from provider P now, in a running service (its API at URL,\n"
    "http://HOST:PORT; or $ASSETBRIDGE_URL), as a job the service runs: every\n"
    "configured entity of P, or only --entity E. The API key (write scope) is\n"
    "read from ASSETBRIDGE_API_KEY.\n"
    "  --full      a full pass: records not seen are marked missing at its end\n"
    "  --no-wait   print the job id and return once it is queued\n"
    "  --json      print the final job as JSON on stdout\n"
    "  --quiet     no progress display\n"
    "On a terminal a progress bar shows records, pages and the rate; otherwise a\n"
    "line is printed whenever the progress changes (on stderr).\n"
    "Exit codes: 0 the job succeeded, 1 it failed or was cancelled, 2 bad usage.\n";

static void print_summary(const json_t *job)
{
    const json_t *res = json_object_get(job, "result");
    const json_t *ents = json_object_get(res, "entities");
    printf("job %s: %s\n", cli_str(job, "id", "?"), cli_str(job, "state", "?"));
    for (size_t i = 0; i < json_array_size(ents); i++) {
        const json_t *e = json_array_get(ents, i);
        printf("  %-18s %-11s %8lld pages %10lld records%s%s\n", cli_str(e, "entity", "?"),
               cli_str(e, "outcome", "?"), cli_int(e, "pages", 0), cli_int(e, "records", 0),
               cli_str(e, "error", NULL) ? "  " : "", cli_str(e, "error", ""));
    }
}

int cmd_sync(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"provider", required_argument, NULL, 'p'},
        {"entity", required_argument, NULL, 'e'},
        {"full", no_argument, NULL, 'f'},
        {"url", required_argument, NULL, 'u'},
        {"no-wait", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *provider = NULL, *entity = NULL, *url = NULL;
    bool full = false, no_wait = false, as_json = false, quiet = false;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "p:e:fu:njqh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': provider = optarg; break;
        case 'e': entity = optarg; break;
        case 'f': full = true; break;
        case 'u': url = optarg; break;
        case 'n': no_wait = true; break;
        case 'j': as_json = true; break;
        case 'q': quiet = true; break;
        case 'h': fputs(sync_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr, "assetbridge sync: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "assetbridge sync: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    if (!provider || !*provider) {
        fputs("assetbridge sync: name the provider with --provider P\n", stderr);
        return CLI_USAGE;
    }
    char *ep = cli_escape(provider);
    char path[512];
    snprintf(path, sizeof(path), "/v1/providers/%s:sync", ep);
    free(ep);
    json_t *body = json_pack("{s:b}", "full", full);
    if (body && entity)
        json_object_set_new(body, "entity", json_string(entity));
    struct cli_job_opts jo = {no_wait, as_json, quiet, print_summary};
    int rc = body ? cli_job_run("assetbridge sync", url, "POST", path, body, &jo) : CLI_FAILURE;
    json_decref(body);
    return rc;
}
