/* SPDX-License-Identifier: Apache-2.0
 *
 * cmd_exceptions.c: `assetbridge exceptions list|resolve`, a client of a
 * running service's REST API (/v1/mapping-exceptions) over libcurl. The API
 * key comes from the environment (ASSETBRIDGE_API_KEY) so it never shows in
 * a process listing, and it is never printed. TLS certificates are verified.
 * Exit codes: 0 done, 1 the service answered an error or could not be
 * reached, 2 bad usage.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/xmalloc.h"

#define RESP_MAX (16u * 1024u * 1024u)
#define URL_MAX 2048

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

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct buf *b = userp;
    return buf_append(b, data, size * n) ? 0 : size * n;
}

/* One request. On success *status is the HTTP status and *out the parsed
 * JSON (NULL when the body is not JSON); false after printing why. */
static bool call(const char *method, const char *url, const char *key, const char *body,
                 long *status, json_t **out)
{
    bool ok = false;
    struct buf b;
    buf_init(&b, RESP_MAX);
    char auth[256];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Accept: application/json");
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    memset(auth, 0, sizeof(auth));
    CURL *c = curl_easy_init();
    if (!c || !h) {
        fputs("assetbridge exceptions: cannot set up the HTTP client\n", stderr);
        goto out;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        fprintf(stderr, "assetbridge exceptions: %s: %s\n", url,
                errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    *out = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    ok = true;
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(h);
    buf_cleanup(&b);
    return ok;
}

/* Print the API's error message for a failed call. */
static void print_error(long status, const json_t *body)
{
    const json_t *e = json_object_get(body, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    fprintf(stderr, "assetbridge exceptions: HTTP %ld: %s%s%s%s\n", status,
            msg ? msg : "the service answered an error", field ? " (" : "", field ? field : "",
            field ? ")" : "");
}

static const char *str_or(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : def;
}

static int do_list(const char *base, const char *key, const char *state, CURL *esc)
{
    char *st = curl_easy_escape(esc, state, 0);
    char *cursor = NULL;
    int rc = CLI_OK;
    bool header = false;
    for (;;) {
        char url[URL_MAX];
        char *cur = cursor ? curl_easy_escape(esc, cursor, 0) : NULL;
        int n = snprintf(url, sizeof(url), "%s/v1/mapping-exceptions?state=%s&limit=1000%s%s", base,
                         st ? st : "open", cur ? "&cursor=" : "", cur ? cur : "");
        curl_free(cur);
        if (n < 0 || (size_t)n >= sizeof(url)) {
            fprintf(stderr, "assetbridge exceptions: --url is too long\n");
            rc = CLI_USAGE;
            break;
        }
        free(cursor);
        cursor = NULL;
        long status = 0;
        json_t *body = NULL;
        if (!call("GET", url, key, NULL, &status, &body)) {
            rc = CLI_FAILURE;
            break;
        }
        if (status != 200 || !json_is_array(json_object_get(body, "items"))) {
            print_error(status, body);
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
    curl_free(st);
    return rc;
}

static int do_resolve(const char *base, const char *key, const char *id, const char *action,
                      const char *asset_ref, CURL *esc)
{
    char *eid = curl_easy_escape(esc, id, 0);
    char url[URL_MAX];
    int n = snprintf(url, sizeof(url), "%s/v1/mapping-exceptions/%s:resolve", base, eid ? eid : "");
    curl_free(eid);
    if (n < 0 || (size_t)n >= sizeof(url)) {
        fprintf(stderr, "assetbridge exceptions: --url or the exception id is too long\n");
        return CLI_USAGE;
    }
    json_t *req = json_pack("{s:s}", "action", action);
    if (req && asset_ref)
        json_object_set_new(req, "asset_ref", json_string(asset_ref));
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!text)
        return CLI_FAILURE;
    long status = 0;
    json_t *body = NULL;
    bool ok = call("POST", url, key, text, &status, &body);
    free(text);
    if (!ok)
        return CLI_FAILURE;
    int rc = CLI_OK;
    if (status != 200) {
        print_error(status, body);
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
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
        strlen(url) > URL_MAX / 2) {
        fputs("assetbridge exceptions: --url must name the service, e.g. http://127.0.0.1:8440\n",
              stderr);
        return CLI_USAGE;
    }
    const char *key = getenv("ASSETBRIDGE_API_KEY");
    if (!key || !*key || strlen(key) > 128) {
        fputs("assetbridge exceptions: set ASSETBRIDGE_API_KEY to an API key of the tenant\n",
              stderr);
        return CLI_USAGE;
    }
    char base[URL_MAX];
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    snprintf(base, sizeof(base), "%.*s", (int)n, url);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("assetbridge exceptions: cannot initialise libcurl\n", stderr);
        return CLI_FAILURE;
    }
    CURL *esc = curl_easy_init();
    int rc = CLI_FAILURE;
    if (esc)
        rc = list ? do_list(base, key, state, esc)
                  : do_resolve(base, key, id, action, asset_ref, esc);
    if (esc)
        curl_easy_cleanup(esc);
    curl_global_cleanup();
    return rc;
}
