/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_deadletters.c: `assetbridge dead-letters list|replay`, a client of a
 * running service's API (GET /v1/dead-letters, POST
 * /v1/dead-letters:replay) through cli_http.h. Exit codes: 0 done, 1 the
 * service answered an error or could not be reached, 2 bad usage.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_http.h"
#include "core/buf.h"
#include "core/str.h"
#include "core/xmalloc.h"

static const char deadletters_usage[] =
    "usage: assetbridge dead-letters list [FILTERS] [--json] --url URL\n"
    "       assetbridge dead-letters replay (--id N | FILTERS | --all) --url URL\n"
    "\n"
    "Lists or replays the dead letters (outbox items a provider refused for good,\n"
    "or that ran out of attempts) of a running service through its API at URL\n"
    "(http://HOST:PORT; or $ASSETBRIDGE_URL). The API key is read from\n"
    "ASSETBRIDGE_API_KEY (read scope to list, admin scope to replay).\n"
    "FILTERS:\n"
    "  --provider P        only this provider\n"
    "  --entity E          only this entity\n"
    "  --error-class C     only this error class (validation, auth, ...)\n"
    "  --from TIME         dead at or after TIME (RFC 3339)\n"
    "  --to TIME           dead before TIME (RFC 3339)\n"
    "  --id N              list: only this one; replay: this one alone\n"
    "Replay sends the items back to pending (attempts reset); it is audited.\n"
    "Without --id or a filter, replay needs --all (every dead letter).\n";

struct filters {
    const char *provider, *entity, *error_class, *from, *to, *id;
};

static bool filters_given(const struct filters *f)
{
    return f->provider || f->entity || f->error_class || f->from || f->to;
}

/* Append "&name=value" (escaped) when value is set. */
static bool add_query(struct cli_api *api, struct buf *q, const char *name, const char *value)
{
    if (!value)
        return true;
    char *e = cli_api_escape(api, value);
    bool ok = buf_printf(q, "&%s=%s", name, e) == AB_OK;
    free(e);
    return ok;
}

static int do_list(struct cli_api *api, const struct filters *f, bool as_json)
{
    int64_t want_id = 0;
    if (f->id && (str_to_i64(f->id, &want_id) || want_id <= 0)) {
        fputs("assetbridge dead-letters: --id must be a positive integer\n", stderr);
        return CLI_USAGE;
    }
    char *cursor = NULL;
    int rc = CLI_OK;
    bool header = false;
    json_t *all = json_array();
    for (;;) {
        struct buf q;
        buf_init(&q, CLI_URL_MAX);
        bool ok = buf_append_str(&q, "/v1/dead-letters?limit=1000") == AB_OK &&
                  add_query(api, &q, "provider", f->provider) &&
                  add_query(api, &q, "entity", f->entity) &&
                  add_query(api, &q, "error_class", f->error_class) &&
                  add_query(api, &q, "from", f->from) && add_query(api, &q, "to", f->to) &&
                  add_query(api, &q, "cursor", cursor);
        free(cursor);
        cursor = NULL;
        if (!ok) {
            buf_cleanup(&q);
            fputs("assetbridge dead-letters: the filters are too long\n", stderr);
            rc = CLI_USAGE;
            break;
        }
        long status = 0;
        json_t *body = NULL;
        ok = cli_api_call(api, "GET", buf_str(&q), NULL, &status, &body);
        buf_cleanup(&q);
        if (!ok) {
            rc = CLI_FAILURE;
            break;
        }
        const json_t *items = json_object_get(body, "items");
        if (status != 200 || !json_is_array(items)) {
            cli_api_print_error(api, status, body);
            json_decref(body);
            rc = CLI_FAILURE;
            break;
        }
        if (!header && !as_json) {
            printf("%-8s  %-12s  %-12s  %-18s  %-14s  %-8s  %-24s  %s\n", "ID", "PROVIDER",
                   "ENTITY", "ACTION", "CLASS", "ATTEMPTS", "DEAD_AT", "ERROR");
            header = true;
        }
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *d = json_array_get(items, i);
            if (want_id && cli_int(d, "id", 0) != want_id)
                continue;
            if (as_json) {
                json_array_append(all, d);
                continue;
            }
            printf("%-8lld  %-12s  %-12s  %-18s  %-14s  %-8lld  %-24s  %s\n", cli_int(d, "id", 0),
                   cli_str(d, "provider", "-"), cli_str(d, "entity", "-"),
                   cli_str(d, "action", "-"), cli_str(d, "error_class", "-"),
                   cli_int(d, "attempts", 0), cli_str(d, "dead_at", "-"),
                   cli_str(d, "last_error", "-"));
        }
        const char *next = json_string_value(json_object_get(body, "next_cursor"));
        cursor = next ? xstrdup(next) : NULL;
        json_decref(body);
        if (!cursor)
            break;
    }
    free(cursor);
    if (rc == CLI_OK && as_json) {
        char *t = json_dumps(all, JSON_INDENT(2));
        if (t)
            puts(t);
        free(t);
    }
    json_decref(all);
    return rc;
}

static int do_replay(struct cli_api *api, const struct filters *f, bool all)
{
    json_t *body = json_object();
    if (f->id) {
        int64_t id = 0;
        if (str_to_i64(f->id, &id) || id <= 0) {
            json_decref(body);
            fputs("assetbridge dead-letters: --id must be a positive integer\n", stderr);
            return CLI_USAGE;
        }
        json_object_set_new(body, "id", json_integer(id));
    }
    const struct {
        const char *k, *v;
    } m[] = {{"provider", f->provider},
             {"entity", f->entity},
             {"error_class", f->error_class},
             {"from", f->from},
             {"to", f->to}};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (m[i].v)
            json_object_set_new(body, m[i].k, json_string(m[i].v));
    (void)all;
    long status = 0;
    json_t *ans = NULL;
    int rc = CLI_FAILURE;
    if (cli_api_call(api, "POST", "/v1/dead-letters:replay", body, &status, &ans)) {
        if (status == 200) {
            printf("replayed %lld\n", cli_int(ans, "replayed", 0));
            rc = CLI_OK;
        } else {
            cli_api_print_error(api, status, ans);
        }
    }
    json_decref(ans);
    json_decref(body);
    return rc;
}

int cmd_deadletters(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"provider", required_argument, NULL, 'p'},
        {"entity", required_argument, NULL, 'e'},
        {"error-class", required_argument, NULL, 'c'},
        {"from", required_argument, NULL, 'F'},
        {"to", required_argument, NULL, 'T'},
        {"id", required_argument, NULL, 'i'},
        {"all", no_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"url", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(deadletters_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *verb = argv[1];
    struct filters f = {0};
    const char *url = NULL;
    bool all = false, as_json = false;
    int opt;
    optind = 2;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "p:e:c:F:T:i:aju:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p': f.provider = optarg; break;
        case 'e': f.entity = optarg; break;
        case 'c': f.error_class = optarg; break;
        case 'F': f.from = optarg; break;
        case 'T': f.to = optarg; break;
        case 'i': f.id = optarg; break;
        case 'a': all = true; break;
        case 'j': as_json = true; break;
        case 'u': url = optarg; break;
        case 'h': fputs(deadletters_usage, stdout); return CLI_OK;
        default:
            fprintf(stderr,
                    "assetbridge dead-letters: invalid or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return CLI_USAGE;
        }
    }
    bool list = strcmp(verb, "list") == 0, replay = strcmp(verb, "replay") == 0;
    if (!list && !replay) {
        fprintf(stderr, "assetbridge dead-letters: unknown action '%s' (list or replay)\n", verb);
        return CLI_USAGE;
    }
    if (optind != argc) {
        fprintf(stderr, "assetbridge dead-letters: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    if (replay && f.id && filters_given(&f)) {
        fputs("assetbridge dead-letters replay: give either --id or filters, not both\n", stderr);
        return CLI_USAGE;
    }
    if (replay && !f.id && !filters_given(&f) && !all) {
        fputs("assetbridge dead-letters replay: give --id N, a filter, or --all\n", stderr);
        return CLI_USAGE;
    }
    struct cli_api api;
    int rc = cli_api_open(&api, "assetbridge dead-letters", url);
    if (rc)
        return rc;
    rc = list ? do_list(&api, &f, as_json) : do_replay(&api, &f, all);
    cli_api_close(&api);
    return rc;
}
