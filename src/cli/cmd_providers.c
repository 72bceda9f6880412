/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_providers.c: `assetbridge providers check`: the health of each
 * provider of a running service (GET /v1/providers, then GET
 * /v1/providers/{name}/health for each): DNS, TLS, authentication and
 * version, a table and a verdict line. Exit codes: 0 every provider is ok,
 * 1 one is not (or the service could not be reached), 2 bad usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"

static const char providers_usage[] =
    "usage: assetbridge providers check [--provider P] [--json] --url URL\n"
    "\n"
    "Checks every provider of the key's tenant (or only P) in a running service\n"
    "(its API at URL, http://HOST:PORT; or $ASSETBRIDGE_URL): DNS, TLS,\n"
    "authentication and the provider's API version, through the provider's\n"
    "connector. Prints a table and a verdict line (with --json: the checks as\n"
    "JSON on stdout, the verdict line on stderr); the API key (read scope) is\n"
    "read from ASSETBRIDGE_API_KEY.\n"
    "  ok        every check that ran passed\n"
    "  degraded  reachable and accepted, but busy, throttled or another version\n"
    "  failed    unreachable, TLS or credentials refused, or no running connector\n"
    "Exit codes: 0 every provider is ok, 1 one is not, 2 bad usage.\n";

/* Check one provider: a health object (new reference), never NULL. */
static json_t *check_one(struct cli_api *api, const json_t *p)
{
    const char *name = cli_str(p, "name", "?");
    if (!json_is_true(json_object_get(p, "connector")))
        return json_pack("{s:s, s:s, s:s, s:{}, s:s}", "provider", name, "type",
                         cli_str(p, "type", "?"), "verdict", "failed", "checks", "message",
                         "no running connector for this provider type");
    char *ep = cli_api_escape(api, name);
    char path[512];
    snprintf(path, sizeof(path), "/v1/providers/%s/health", ep);
    free(ep);
    long status = 0;
    json_t *h = NULL;
    if (!cli_api_call(api, "GET", path, NULL, &status, &h))
        return json_pack("{s:s, s:s, s:s, s:{}, s:s}", "provider", name, "type",
                         cli_str(p, "type", "?"), "verdict", "failed", "checks", "message",
                         "the service could not be reached");
    if (status != 200 || !json_is_object(h)) {
        const char *msg =
            json_string_value(json_object_get(json_object_get(h, "error"), "message"));
        json_t *o = json_pack("{s:s, s:s, s:s, s:{}, s:s}", "provider", name, "type",
                              cli_str(p, "type", "?"), "verdict", "failed", "checks", "message",
                              msg ? msg : "the service answered an error");
        json_decref(h);
        return o;
    }
    return h;
}

int cmd_providers(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"provider", required_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},
        {"url", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(providers_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "check") != 0) {
        fprintf(stderr, "assetbridge providers: unknown action '%s' (check)\n", argv[1]);
        return CLI_USAGE;
    }
    const char *only = NULL, *url = NULL;
    bool as_json = false;
    int opt;
    optind = 2;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "p:ju:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': only = optarg; break;
        case 'j': as_json = true; break;
        case 'u': url = optarg; break;
        case 'h': fputs(providers_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr,
                    "assetbridge providers: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "assetbridge providers: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    struct cli_api api;
    int rc = cli_api_open(&api, "assetbridge providers", url);
    if (rc)
        return rc;
    long status = 0;
    json_t *list = NULL, *results = json_array();
    rc = CLI_FAILURE;
    if (!cli_api_call(&api, "GET", "/v1/providers", NULL, &status, &list))
        goto out;
    const json_t *items = json_object_get(list, "items");
    if (status != 200 || !json_is_array(items)) {
        cli_api_print_error(&api, status, list);
        goto out;
    }
    size_t checked = 0, bad = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *p = json_array_get(items, i);
        if (only && strcmp(only, cli_str(p, "name", "")) != 0)
            continue;
        json_t *h = check_one(&api, p);
        checked++;
        if (strcmp(cli_str(h, "verdict", "failed"), "ok") != 0)
            bad++;
        json_array_append_new(results, h);
    }
    if (only && checked == 0) {
        fprintf(stderr, "assetbridge providers: no provider named '%s' in this tenant\n", only);
        goto out;
    }
    if (as_json) {
        char *t = json_dumps(results, JSON_INDENT(2));
        if (t)
            puts(t);
        free(t);
    } else {
        printf("%-16s  %-10s  %-9s  %-7s  %-7s  %-7s  %-7s  %-12s  %s\n", "PROVIDER", "TYPE",
               "VERDICT", "DNS", "TLS", "AUTH", "VERSION", "API", "MESSAGE");
        for (size_t i = 0; i < json_array_size(results); i++) {
            const json_t *h = json_array_get(results, i);
            const json_t *c = json_object_get(h, "checks");
            printf("%-16s  %-10s  %-9s  %-7s  %-7s  %-7s  %-7s  %-12s  %s\n",
                   cli_str(h, "provider", "?"), cli_str(h, "type", "-"), cli_str(h, "verdict", "?"),
                   cli_str(c, "dns", "-"), cli_str(c, "tls", "-"), cli_str(c, "auth", "-"),
                   cli_str(c, "version", "-"), cli_str(h, "provider_version", "-"),
                   cli_str(h, "message", ""));
        }
    }
    FILE *vout = as_json ? stderr : stdout; /* --json: stdout is the JSON alone */
    if (checked == 0)
        fprintf(vout, "verdict: ok (no providers configured)\n");
    else if (bad == 0)
        fprintf(vout, "verdict: ok (%zu provider%s)\n", checked, checked == 1 ? "" : "s");
    else
        fprintf(vout, "verdict: NOT OK (%zu of %zu provider%s not ok)\n", bad, checked,
                checked == 1 ? "" : "s");
    rc = bad ? CLI_FAILURE : CLI_OK;
out:
    json_decref(list);
    json_decref(results);
    cli_api_close(&api);
    return rc;
}
