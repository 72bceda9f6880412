/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_exceptions.c: `assetbridge exceptions list|resolve`, a client of a
 * running service's REST API (/v1/mapping-exceptions) over libcurl. The API
 * key comes from the environment (ASSETBRIDGE_API_KEY) so it never shows in
 * a process listing, and it is never printed. TLS certificates are verified.
 * Exit codes: 0 done, 1 the service answered an error or could not be
 * reached, 2 bad usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/xmalloc.h"

static const char exceptions_usage[] =
    "usage: assetbridge exceptions list [--state open|resolved|ignored] --url URL\n"
    "       assetbridge exceptions resolve ID --action link|create|ignore [--asset-ref REF]\n"
    "                                     --url URL\n"
    "\n"
    "Lists or resolves the mapping exceptions (changes from a provider held for a\n"
    "person) of a running service through its API at URL (http://HOST:PORT).\n"
    "The API key is read from the environment variable ASSETBRIDGE_API_KEY\n"
    "(read scope to list, write scope to resolve).\n"
    "  link    link the held record to the asset --asset-ref and apply it\n"
    "  create  create a new asset for it (named --asset-ref when given)\n"
    "  ignore  drop the held change\n";

static const char *str_or(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : def;
}

static int do_list(struct cli_api *api, const char *state)
{
    char *st = cli_escape(state);
    char *cursor = NULL;
    int rc = CLI_OK;
    bool header = false;
    for (;;) {
        char path[CLI_URL_MAX];
        char *cur = cursor ? cli_escape(cursor) : NULL;
        snprintf(path, sizeof(path), "/v1/mapping-exceptions?state=%s&limit=1000%s%s", st,
                 cur ? "&cursor=" : "", cur ? cur : "");
        free(cur);
        free(cursor);
        cursor = NULL;
        long status = 0;
        json_t *body = NULL;
        if (!cli_api_call(api, "GET", path, NULL, &status, &body)) {
            rc = CLI_FAILURE;
            break;
        }
        if (status != 200 || !json_is_array(json_object_get(body, "items"))) {
            cli_api_print_error(api, status, body);
            json_decref(body);
            rc = CLI_FAILURE;
            break;
        }
        if (!header) {
            printf("%-26s  %-8s  %-12s  %-10s  %-20s  %-20s  %s\n", "ID", "STATE", "PROVIDER",
                   "ENTITY", "NATIVE_ID", "REASON", "CREATED");
            header = true;
        }
        const json_t *items = json_object_get(body, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            const json_t *e = json_array_get(items, i);
            printf("%-26s  %-8s  %-12s  %-10s  %-20s  %-20s  %s\n", str_or(e, "id", "-"),
                   str_or(e, "state", "-"), str_or(e, "provider", "-"), str_or(e, "entity", "-"),
                   str_or(e, "native_id", "-"), str_or(e, "reason", "-"),
                   str_or(e, "created_at", "-"));
        }
        const char *next = json_string_value(json_object_get(body, "next_cursor"));
        cursor = next ? xstrdup(next) : NULL;
        json_decref(body);
        if (!cursor)
            break;
    }
    free(cursor);
    free(st);
    return rc;
}

static int do_resolve(struct cli_api *api, const char *id, const char *action,
                      const char *asset_ref)
{
    char *eid = cli_escape(id);
    char path[CLI_URL_MAX];
    snprintf(path, sizeof(path), "/v1/mapping-exceptions/%s:resolve", eid);
    free(eid);
    json_t *req = json_pack("{s:s}", "action", action);
    if (!req)
        return CLI_FAILURE;
    if (asset_ref)
        json_object_set_new(req, "asset_ref", json_string(asset_ref));
    long status = 0;
    json_t *body = NULL;
    bool ok = cli_api_call(api, "POST", path, req, &status, &body);
    json_decref(req);
    if (!ok)
        return CLI_FAILURE;
    int rc = CLI_OK;
    if (status != 200) {
        cli_api_print_error(api, status, body);
        rc = CLI_FAILURE;
    } else {
        const json_t *res = json_object_get(body, "result");
        printf("%s: %s", str_or(body, "id", id), str_or(body, "state", "?"));
        if (res)
            printf(" (%s %s)", str_or(res, "outcome", "?"), str_or(res, "subject", "-"));
        putchar('\n');
    }
    json_decref(body);
    return rc;
}

int cmd_exceptions(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},    {"state", required_argument, NULL, 's'},
        {"action", required_argument, NULL, 'a'}, {"asset-ref", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(exceptions_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *verb = argv[1];
    const char *url = NULL, *state = "open", *action = NULL, *asset_ref = NULL;
    int opt;
    optind = 2;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "u:s:a:r:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'u': url = optarg; break;
        case 's': state = optarg; break;
        case 'a': action = optarg; break;
        case 'r': asset_ref = optarg; break;
        case 'h': fputs(exceptions_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr,
                    "assetbridge exceptions: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    bool list = strcmp(verb, "list") == 0, resolve = strcmp(verb, "resolve") == 0;
    if (!list && !resolve) {
        fprintf(stderr, "assetbridge exceptions: unknown action '%s' (list or resolve)\n", verb);
        return CLI_USAGE;
    }
    const char *id = NULL;
    if (resolve) {
        if (optind != argc - 1) {
            fputs("assetbridge exceptions resolve: name the exception ID to resolve\n", stderr);
            return CLI_USAGE;
        }
        id = argv[optind];
        if (!action || (strcmp(action, "link") != 0 && strcmp(action, "create") != 0 &&
                        strcmp(action, "ignore") != 0)) {
            fputs("assetbridge exceptions resolve: --action must be link, create or ignore\n",
                  stderr);
            return CLI_USAGE;
        }
        if (strcmp(action, "link") == 0 && !asset_ref) {
            fputs("assetbridge exceptions resolve: --action link needs --asset-ref\n", stderr);
            return CLI_USAGE;
        }
    } else if (optind != argc) {
        fprintf(stderr, "assetbridge exceptions: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    struct cli_api api;
    int rc = cli_api_open(&api, "assetbridge exceptions", url);
    if (rc)
        return rc;
    rc = list ? do_list(&api, state) : do_resolve(&api, id, action, asset_ref);
    cli_api_close(&api);
    return rc;
}
