/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_api.c: libFuzzer driver for the API handlers' own parsing of
 * untrusted requests: query strings of every list operation (?limit=,
 * ?cursor= with api_cursor_decode and the cursor texts each list reads back,
 * the filters of assets, work orders, events, audit, sync state, outbox,
 * dead letters, jobs, suggestions, calibrations...), path parameters, and
 * the JSON bodies handlers check beyond the model (webhook subscriptions
 * with their URL and event types, actions on assets, work orders,
 * mapping exceptions, suggestions, status mappings, dead-letter replays,
 * reconciliation). fuzz_model_json covers the model parsers, fuzz_ndjson
 * the readings batch and fuzz_http_route the router and URL decoding.
 *
 * The real route table (api_routes_new) and a real store (SQLite in a
 * temporary directory, removed at exit) with a few assets, a work order and
 * a webhook; each input is one request handed straight to its route's
 * handler, as the server does after authentication (an admin key of tenant
 * "default"). Routes that answer later through http_defer (POST readings)
 * are left out; GET /v1/events gets wait=0 first so it never parks.
 *
 * Input, in lines:
 *   line 1  the route as "METHOD PATTERN" ("GET /v1/assets"); text naming
 *           no route picks one by its hash, so mutations reach them all
 *   line 2  path parameters separated by '|' (empty: a default per name,
 *           the fixture's work order and webhook for their {id})
 *   line 3  the query string (raw, as after '?')
 *   rest    the body
 * Checks: a handler always answers a status 200..599 and never 500 (the
 * store works: a 500 means the input broke the handler); an error (>= 400)
 * has the API's error shape {"error":{"class","message",...}}; a JSON
 * answer parses. Requests the server refuses before any handler runs (path
 * or query text that is not UTF-8: http_bad_utf8) are not handed on. Line 3 is also put through
 * api_cursor_encode and must decode back (api_cursor_decode) to the same text.
 */
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_util.h"
#include "api/auth.h"
#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/str.h"
#include "http/http.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char config_text[] = "tenants:\n"
                                  "  default:\n"
                                  "    providers:\n"
                                  "      gen:\n"
                                  "        type: generic\n"
                                  "        base_url: http://127.0.0.1:9\n"
                                  "        auth: {scheme: bearer, token: fuzz-token}\n"
                                  "        entities: {asset: {}, work_order: {}}\n"
                                  "  other: {}\n";

static struct config *cfg;
static struct store *store;
static struct api_ctx ctx;
static struct http_route *all_routes;
static const struct http_route *routes[128];
static size_t n_routes;
static char data_dir[64];

static char wo_id[64], webhook_id[64]; /* the fixture's */

/* A default for each path parameter name. */
static const char *param_default(const char *pattern, const char *name)
{
    if (strcmp(name, "id") == 0 && strncmp(pattern, "/v1/work-orders/", 16) == 0)
        return wo_id;
    if (strcmp(name, "id") == 0 && strncmp(pattern, "/v1/webhooks/", 13) == 0)
        return webhook_id;
    static const struct {
        const char *name, *value;
    } d[] = {
        {"asset_ref", "FX-1001"}, {"provider", "gen"}, {"native_id", "A-000001"},
        {"meter", "cycles"},      {"name", "gen"},     {"kind", "work_order"},
        {"source_value", "open"}, {"id", "1"},
    };
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
        if (strcmp(d[i].name, name) == 0)
            return d[i].value;
    return "x";
}

/* Percent-encode s for a path segment (the router decodes it back). */
static const char *seg_enc(struct arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = arena_alloc(a, 3 * n + 1), *p = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c)) {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return o;
}

/* The request path of pattern with its {params} filled from params[] (by
 * position; NULL or "": the name's default). */
static const char *fill(struct arena *a, const char *pattern, const char *const *params, size_t np)
{
    const char *out = "";
    size_t k = 0;
    for (const char *p = pattern; *p;) {
        const char *open = strchr(p, '{');
        if (!open)
            return arena_printf(a, "%s%s", out, p);
        const char *close = strchr(open, '}');
        if (!close)
            abort();
        const char *name = arena_strndup(a, open + 1, (size_t)(close - open - 1));
        const char *v =
            k < np && params[k] && *params[k] ? params[k] : param_default(pattern, name);
        k++;
        out = arena_printf(a, "%s%.*s%s", out, (int)(open - p), p, seg_enc(a, v));
        p = close + 1;
    }
    return out;
}

struct answer {
    int status;
    const char *body;
};

/* Run one request through its route's handler. */
static void call(const struct http_route *r, const char *const *params, size_t np,
                 const char *query, const char *body, size_t body_len, struct answer *ans)
{
    struct arena *a = arena_new(0, 256u * 1024 * 1024);
    struct http_request req;
    memset(&req, 0, sizeof(req));
    req.arena = a;
    req.method = r->method;
    req.path = fill(a, r->pattern, params, np);
    req.query = query ? query : "";
    req.route = r->pattern;
    req.body = body ? body : "";
    req.body_len = body ? body_len : 0;
    snprintf(req.correlation_id, sizeof(req.correlation_id), "fuzz");
    if (!http_route_match(a, r->pattern, req.path, req.param_names, req.params, &req.n_params))
        abort(); /* fill() builds paths the pattern matches */
    if (!ans && http_bad_utf8(&req, req.param_names, req.params, req.n_params)) {
        arena_free(a); /* the server answers 400 before any handler runs */
        return;
    }
    struct api_caller caller;
    memset(&caller, 0, sizeof(caller));
    snprintf(caller.p.tenant, sizeof(caller.p.tenant), "default");
    snprintf(caller.p.key_id, sizeof(caller.p.key_id), "01JFUZZKEY0000000000000000");
    caller.p.scopes = api_scopes_effective(SCOPE_ADMIN);
    req.user = &caller;
    struct http_response resp;
    memset(&resp, 0, sizeof(resp));
    buf_init(&resp.body, 64u * 1024 * 1024);
    r->handler(&req, &resp, &ctx);

    if (resp.status < 200 || resp.status > 599 || resp.status == 500) {
        fprintf(stderr, "fuzz_api: %s %s?%s: answered %d: %.500s\n", r->method, req.path, req.query,
                resp.status, buf_str(&resp.body));
        abort();
    }
    const char *text = buf_str(&resp.body);
    bool is_json = !resp.content_type || strstr(resp.content_type, "json");
    json_t *j = NULL;
    if (is_json && resp.body.len) {
        json_error_t jerr;
        j = json_loads(text, JSON_DECODE_ANY, &jerr);
        if (!j) {
            fprintf(stderr, "fuzz_api: %s %s: %d answer is not JSON (%s): %.500s\n", r->method,
                    req.path, resp.status, jerr.text, text);
            abort();
        }
    }
    if (resp.status >= 400) {
        const json_t *e = json_object_get(j, "error");
        if (!json_is_string(json_object_get(e, "class")) ||
            !json_is_string(json_object_get(e, "message"))) {
            fprintf(stderr, "fuzz_api: %s %s: %d answer lacks the error shape: %.500s\n", r->method,
                    req.path, resp.status, text ? text : "(none)");
            abort();
        }
    }
    json_decref(j);
    if (getenv("FUZZ_TRACE")) /* for writing seeds: what each input got */
        fprintf(stderr, "fuzz_api: %s %s?%s -> %d %.300s\n", r->method, req.path, req.query,
                resp.status, text ? text : "");
    if (ans) {
        ans->status = resp.status;
        ans->body = text ? strdup(text) : NULL;
    }
    buf_cleanup(&resp.body);
    arena_free(a);
}

static const struct http_route *route_of(const char *method, const char *pattern)
{
    for (size_t i = 0; i < n_routes; i++)
        if (strcmp(routes[i]->method, method) == 0 && strcmp(routes[i]->pattern, pattern) == 0)
            return routes[i];
    return NULL;
}

/* A request at start-up; aborts when it fails (the fixture must exist).
 * Member id_name of the answer goes to id_out (when not NULL). */
static void setup(const char *method, const char *pattern, const char *p0, const char *body,
                  const char *id_name, char *id_out, size_t id_len)
{
    const struct http_route *r = route_of(method, pattern);
    const char *params[1] = {p0};
    struct answer ans;
    if (!r)
        abort();
    call(r, params, 1, "", body, body ? strlen(body) : 0, &ans);
    if (ans.status >= 300) {
        fprintf(stderr, "fuzz_api: %s %s: %d %s\n", method, pattern, ans.status,
                ans.body ? ans.body : "");
        abort();
    }
    if (id_out) {
        json_t *j = json_loads(ans.body, 0, NULL);
        const char *id = json_string_value(json_object_get(j, id_name));
        if (!id) {
            fprintf(stderr, "fuzz_api: %s %s: no id in %s\n", method, pattern, ans.body);
            abort();
        }
        snprintf(id_out, id_len, "%s", id);
        json_decref(j);
    }
    free((void *)ans.body);
}

static void cleanup(void)
{
    store_close(store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_api: could not remove %s\n", data_dir);
}

static void start(void)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        abort();
    log_configure(LOG_DEBUG, LOG_FORMAT_JSON, fd); /* handlers log request values */
    struct config_errors errs;
    if (config_load_buffer("fuzz.yaml", config_text, strlen(config_text), &cfg, &errs) != AB_OK) {
        config_errors_print(&errs, stderr);
        abort();
    }
    config_errors_cleanup(&errs);
    snprintf(data_dir, sizeof(data_dir), "/tmp/ab-fuzz-api-XXXXXX");
    if (!mkdtemp(data_dir))
        abort();
    cfg->store.data_dir = data_dir;
    cfg->store.synchronous = "normal"; /* no fsync per request */
    char err[512];
    if (store_open(&cfg->store, &store, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "fuzz_api: %s\n", err);
        abort();
    }
    store_set_config(store, cfg);
    /* libcrypto reads its configuration once, on first use, keeping error
     * state in the thread that does it; do it on this thread rather than on
     * the store's writer, whose state is lost when cleanup() stops it at exit
     * (a leak report otherwise) */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL))
        abort();
    atexit(cleanup);
    ctx = (struct api_ctx){.cfg = cfg, .store = store, .fake_clock = false, .sync = NULL};
    size_t n;
    all_routes = api_routes_new(&ctx, &n);
    for (size_t i = 0; i < n && n_routes < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct http_route *r = &all_routes[i];
        /* answered later through http_defer, which needs a connection */
        if (strcmp(r->method, "POST") == 0 && strncmp(r->pattern, "/v1/readings", 12) == 0)
            continue;
        routes[n_routes++] = r;
    }
    setup("PUT", "/v1/assets/{asset_ref}", "FX-1001",
          "{\"name\":\"ICT fixture 1001\",\"type\":\"fixture\",\"serial_number\":\"SN-1001\"}",
          NULL, NULL, 0);
    setup("PUT", "/v1/assets/{asset_ref}", "FX-1002",
          "{\"name\":\"DMM 1002\",\"type\":\"instrument\",\"parent\":\"FX-1001\"}", NULL, NULL, 0);
    setup("POST", "/v1/work-orders", NULL,
          "{\"asset_ref\":\"FX-1001\",\"type\":\"corrective\",\"priority\":\"high\","
          "\"notes\":\"Pogo pins worn\"}",
          "common_work_order_id", wo_id, sizeof(wo_id));
    setup("POST", "/v1/webhooks", NULL,
          "{\"url\":\"https://hooks.example.com/ab\",\"event_types\":[\"asset.created\"]}", "id",
          webhook_id, sizeof(webhook_id));
}

/* Oracle for the cursors every list hands out: decoding what
 * api_cursor_encode made gives the text back (for the texts lists put in
 * cursors: valid UTF-8, and short enough that the cursor stays within the
 * 1,024 characters a cursor may have). */
static void cursor_round_trip(struct arena *a, const char *text)
{
    size_t n = strlen(text);
    if (n > 700 || !str_utf8_valid(text, n))
        return;
    const char *enc = api_cursor_encode(a, text);
    struct http_request req;
    memset(&req, 0, sizeof(req));
    req.arena = a;
    req.query = arena_printf(a, "limit=5&cursor=%s", enc);
    struct http_response resp;
    memset(&resp, 0, sizeof(resp));
    buf_init(&resp.body, 4096);
    const char *back = NULL;
    if (!api_cursor_decode(&req, &resp, &back) || strcmp(back, text) != 0)
        abort();
    buf_cleanup(&resp.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started;
    if (!started) {
        started = true;
        start();
    }
    struct arena *a = arena_new(0, 0);
    const char *in = (const char *)data, *end = (const char *)data + size;
    const char *lines[3];
    for (int i = 0; i < 3; i++) {
        const char *nl = memchr(in, '\n', (size_t)(end - in));
        lines[i] = arena_strndup(a, in, nl ? (size_t)(nl - in) : (size_t)(end - in));
        in = nl ? nl + 1 : end;
    }
    const struct http_route *r = NULL;
    uint32_t h = 2166136261u;
    for (const char *p = lines[0]; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (size_t i = 0; i < n_routes && !r; i++)
        if (strcmp(lines[0], arena_printf(a, "%s %s", routes[i]->method, routes[i]->pattern)) == 0)
            r = routes[i];
    if (!r)
        r = routes[h % n_routes];
    const char *line1 = lines[1], *query = lines[2];
    size_t body_len = (size_t)(end - in);
    char *body_z = arena_alloc(a, body_len + 1); /* NUL-terminated, as the server gives it */
    memcpy(body_z, in, body_len);
    body_z[body_len] = '\0';

    const char *params[HTTP_MAX_PARAMS] = {0};
    size_t np = 0;
    for (const char *p = line1; *p && np < HTTP_MAX_PARAMS;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        params[np++] = arena_strndup(a, p, len);
        p += len + (bar ? 1 : 0);
    }
    if (strcmp(r->pattern, "/v1/events") == 0)
        query = arena_printf(a, "wait=0&%s", query); /* never park (first key wins) */
    call(r, params, np, query, body_z, body_len, NULL);
    cursor_round_trip(a, lines[2]);
    arena_free(a);
    return 0;
}
