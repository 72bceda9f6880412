/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_suggestions.c: `assetbridge suggestions list|approve ID|reject ID`:
 * the calibration interval suggestions of a running service
 * (GET /v1/suggestions, POST /v1/suggestions/{id}:approve|:reject; see
 * docs/rules.md). Exit codes: 0 done, 1 refused or unreachable, 2 bad usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/xmalloc.h"

static const char suggestions_usage[] =
    "usage: assetbridge suggestions list [--state open|approved|rejected|superseded] [--json]\n"
    "                                    [--url URL]\n"
    "       assetbridge suggestions approve ID [--json] [--url URL]\n"
    "       assetbridge suggestions reject ID [--json] [--url URL]\n"
    "\n"
    "Lists, approves or rejects the calibration interval suggestions of the key's\n"
    "tenant in a running service (its API at URL, http://HOST:PORT; or\n"
    "$ASSETBRIDGE_URL). list shows the open ones unless --state says otherwise\n"
    "(all pages); approve applies the suggested interval to the asset's hub\n"
    "calibration record; both decisions are audited with the key's id. The API key\n"
    "(read scope to list, write to decide) is read from ASSETBRIDGE_API_KEY.\n"
    "Exit codes: 0 done, 1 refused or the service could not be reached, 2 bad usage.\n";

static void print_one(const json_t *s)
{
    printf("%-26s  %-20s  %-10s  %5lld -> %-5lld  %s\n", cli_str(s, "id", "?"),
           cli_str(s, "asset_ref", "?"), cli_str(s, "state", "?"),
           cli_int(s, "current_interval_days", 0), cli_int(s, "suggested_interval_days", 0),
           cli_str(s, "reason", ""));
}

static int do_list(struct cli_api *api, const char *state, bool as_json)
{
    json_t *all = json_array();
    char *cursor = NULL;
    int rc = CLI_OK;
    for (;;) {
        char path[1024];
        char *es = cli_escape(state);
        char *ec = cursor ? cli_escape(cursor) : NULL;
        snprintf(path, sizeof(path), "/v1/suggestions?limit=500&state=%s%s%s", es,
                 ec ? "&cursor=" : "", ec ? ec : "");
        free(es);
        free(ec);
        long status = 0;
        json_t *page = NULL;
        if (!cli_api_call(api, "GET", path, NULL, &status, &page)) {
            rc = CLI_FAILURE;
            break;
        }
        if (status != 200) {
            cli_api_print_error(api, status, page);
            json_decref(page);
            rc = CLI_FAILURE;
            break;
        }
        json_array_extend(all, json_object_get(page, "items"));
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        free(cursor);
        cursor = next ? xstrdup(next) : NULL;
        json_decref(page);
        if (!cursor)
            break;
    }
    free(cursor);
    if (rc == CLI_OK) {
        if (as_json) {
            json_dumpf(all, stdout, JSON_INDENT(2));
            putchar('\n');
        } else {
            printf("%-26s  %-20s  %-10s  %-14s  %s\n", "ID", "ASSET", "STATE", "INTERVAL DAYS",
                   "REASON");
            for (size_t i = 0; i < json_array_size(all); i++)
                print_one(json_array_get(all, i));
            printf("%zu suggestion(s)\n", json_array_size(all));
        }
    }
    json_decref(all);
    return rc;
}

static int do_decide(struct cli_api *api, const char *id, const char *verb, bool as_json)
{
    char *eid = cli_escape(id);
    char path[1024];
    snprintf(path, sizeof(path), "/v1/suggestions/%s:%s", eid, verb);
    free(eid);
    long status = 0;
    json_t *s = NULL;
    json_t *body = json_object();
    bool ok = cli_api_call(api, "POST", path, body, &status, &s);
    json_decref(body);
    if (!ok)
        return CLI_FAILURE;
    if (status != 200) {
        cli_api_print_error(api, status, s);
        json_decref(s);
        return CLI_FAILURE;
    }
    if (as_json) {
        json_dumpf(s, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        printf("suggestion %s %s: %s interval %lld -> %lld days\n", cli_str(s, "id", id),
               cli_str(s, "state", "?"), cli_str(s, "asset_ref", "?"),
               cli_int(s, "current_interval_days", 0), cli_int(s, "suggested_interval_days", 0));
    }
    json_decref(s);
    return CLI_OK;
}

int cmd_suggestions(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"url", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(suggestions_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *action = argv[1];
    bool list = strcmp(action, "list") == 0;
    if (!list && strcmp(action, "approve") != 0 && strcmp(action, "reject") != 0) {
        fprintf(stderr, "assetbridge suggestions: unknown action '%s' (list, approve, reject)\n",
                action);
        return CLI_USAGE;
    }
    const char *state = "open", *url = NULL;
    bool as_json = false;
    int opt;
    optind = 2;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "s:ju:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 's': state = optarg; break;
        case 'j': as_json = true; break;
        case 'u': url = optarg; break;
        case 'h': fputs(suggestions_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr,
                    "assetbridge suggestions: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    const char *id = NULL;
    if (!list) {
        if (optind >= argc) {
            fprintf(stderr, "assetbridge suggestions: %s needs the suggestion ID\n", action);
            return CLI_USAGE;
        }
        id = argv[optind++];
    }
    if (optind != argc) {
        fprintf(stderr, "assetbridge suggestions: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    struct cli_api api;
    int rc = cli_api_open(&api, "assetbridge suggestions", url);
    if (rc)
        return rc;
    rc = list ? do_list(&api, state, as_json) : do_decide(&api, id, action, as_json);
    cli_api_close(&api);
    return rc;
}
