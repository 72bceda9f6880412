/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_sim_http.c: libFuzzer driver for the provider simulators' handling of
 * whole requests (docs/sim/): what fuzz_odata_filter and fuzz_sap_odata do
 * not reach on their own: the routes of each provider, query options
 * ($top, $skip, $skiptoken, $select, $inlinecount, $count, paging cursors
 * of the generic provider, WATS parameters such as serialNumber or
 * totalCount), request bodies of creates and updates, Basic/Bearer
 * credentials, sap-client, CSRF sessions, the Idempotency-Key store and the
 * framework's /_sim/ routes. Simulators stand in for real systems in tests,
 * demos and users' rehearsals, so they must not fall over on what a
 * connector under test sends them.
 *
 * The generic, wats and sap_pm simulators run in this process (state in
 * memory, 20 seeded assets, no rate limit), each behind the project's HTTP
 * server on a loopback port; each input is one request sent with the
 * project's HTTP client and valid credentials (SAP: a CSRF token and its
 * session cookie fetched at start). Fault rules are not added (they hold and
 * drop requests on purpose; fuzz_sim_faults covers their parser), so
 * requests to /_sim/faults other than GET are not sent.
 *
 * Input: up to four requests separated by a line "===" (the simulators
 * keep state, and some answers depend on what came before: the request log,
 * created records). A request is a selector byte (simulator: byte % 3;
 * method: GET, POST, PUT, PATCH, DELETE by (byte / 3) % 5), then line 1 the
 * path and query as sent ("/api/v1/assets?limit=2"), then the body.
 * Checks: every request gets an answer (no reset, no timeout: a handler
 * thread that died or hung shows here), with a status 200..599; an answer
 * that says it is JSON parses as JSON; a GET of the framework's /_sim/
 * routes (the request log and effects tests read) never answers 5xx.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "core/arena.h"
#include "core/log.h"
#include "http/http.h"
#include "sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct target {
    const char *provider;
    const char *auth; /* Authorization header */
    struct sim *sim;
    struct http_server *srv;
    struct client *client;
    char base[96];
};

static struct target targets[] = {
    {"generic", "Bearer sim-token", NULL, NULL, NULL, ""},
    {"wats", "Basic c2ltOnNpbS10b2tlbg==", NULL, NULL, NULL, ""},
    {"sap_pm", "Basic U0lNVVNFUjpzaW0tcGFzc3dvcmQ=", NULL, NULL, NULL,
     ""}, /* SIMUSER:sim-password */
};

static char sap_token[128], sap_cookie[256];

static void start_one(struct target *t)
{
    char err[512];
    const struct sim_provider *p = sim_provider_find(t->provider);
    struct sim_opts so = {.seed = 1, .assets = 20, .rate_limit = 0};
    if (!p || sim_new(p, &so, &t->sim, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "fuzz_sim_http: %s: %s\n", t->provider, p ? err : "unknown");
        abort();
    }
    size_t n;
    const struct http_route *routes = sim_http_routes(&n);
    struct http_server_opts o = {
        .listen = "127.0.0.1:0",
        .routes = routes,
        .n_routes = n,
        .ctx = t->sim,
        .max_body = 1024 * 1024,
        .threads = 2,
    };
    char bound[64];
    if (http_server_start(&o, &t->srv, bound, sizeof(bound), err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "fuzz_sim_http: %s\n", err);
        abort();
    }
    snprintf(t->base, sizeof(t->base), "http://%s", bound);
    struct client_opts co = {.name = t->provider,
                             .base_url = t->base,
                             .verify = true,
                             .connect_timeout_ms = 2000,
                             .timeout_ms = 5000};
    if (client_new(&co, &t->client, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "fuzz_sim_http: %s\n", err);
        abort();
    }
}

/* The SAP simulator's CSRF token and the session cookie it is bound to. */
static void sap_session(struct target *t)
{
    struct arena *a = arena_new(0, 0);
    struct client_header h[] = {
        {"Authorization", t->auth}, {"X-CSRF-Token", "Fetch"}, {"Accept", "application/json"}};
    struct client_request req = {.method = "GET",
                                 .path = "/sap/opu/odata/sap/API_MAINTNOTIFICATION/",
                                 .headers = h,
                                 .n_headers = 3};
    struct client_response r;
    const char *tok = NULL, *set = NULL;
    if (client_request(t->client, &req, a, &r) == AB_OK) {
        tok = client_response_header(&r, "x-csrf-token");
        set = client_response_header(&r, "Set-Cookie");
    }
    if (!tok || !set) {
        fprintf(stderr, "fuzz_sim_http: no CSRF session from the sap_pm simulator\n");
        abort();
    }
    snprintf(sap_token, sizeof(sap_token), "%s", tok);
    snprintf(sap_cookie, sizeof(sap_cookie), "%.*s", (int)strcspn(set, ";"), set);
    arena_free(a);
}

static void start(void)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        abort();
    log_configure(LOG_DEBUG, LOG_FORMAT_JSON, fd);
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
        start_one(&targets[i]);
    sap_session(&targets[2]);
}

/* Send one request: a selector byte, a line "PATH?QUERY", the body. */
static void one(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    if (size < 1)
        return;
    struct target *t = &targets[data[0] % 3];
    const char *method = methods[(data[0] / 3) % 5];
    struct arena *a = arena_new(0, 0);
    const char *in = (const char *)data + 1, *end = (const char *)data + size;
    const char *nl = memchr(in, '\n', (size_t)(end - in));
    const char *line = arena_strndup(a, in, nl ? (size_t)(nl - in) : (size_t)(end - in));
    const char *body = nl ? nl + 1 : end;
    size_t body_len = (size_t)(end - body);
    size_t plen = strcspn(line, "?");
    const char *path = arena_strndup(a, line, plen);
    const char *query = line[plen] ? line + plen + 1 : NULL;
    if (path[0] != '/')
        path = arena_printf(a, "/%s", path);
    if (strcmp(method, "GET") != 0 && strncmp(path, "/_sim/faults", 12) == 0) {
        arena_free(a);
        return; /* faults hold and drop requests on purpose */
    }
    struct client_header h[8];
    size_t nh = 0;
    h[nh++] = (struct client_header){"Authorization", t->auth};
    h[nh++] = (struct client_header){"Accept", "application/json"};
    h[nh++] = (struct client_header){"Content-Type", "application/json"};
    if (t == &targets[2]) {
        h[nh++] = (struct client_header){"X-CSRF-Token", sap_token};
        h[nh++] = (struct client_header){"Cookie", sap_cookie};
    }
    if (strcmp(method, "POST") == 0) {
        /* a key of the request: the same request again is a replay */
        uint32_t x = 2166136261u;
        for (size_t i = 0; i < size; i++)
            x = (x ^ data[i]) * 16777619u;
        h[nh++] = (struct client_header){"Idempotency-Key", arena_printf(a, "fuzz-%08x", x)};
    }
    struct client_request req = {.method = method,
                                 .path = path,
                                 .query = query,
                                 .headers = h,
                                 .n_headers = nh,
                                 .body = strcmp(method, "GET") && strcmp(method, "DELETE") ? body
                                                                                           : NULL,
                                 .body_len = body_len};
    struct client_response r;
    enum ab_rc rc = client_request(t->client, &req, a, &r);
    if (getenv("FUZZ_TRACE")) /* for writing seeds: what each input got */
        fprintf(stderr, "fuzz_sim_http: %s %s %s -> %s %d %.200s\n", t->provider, method, line,
                ab_rc_name(rc), r.status, rc == AB_OK ? r.body : "");
    if (rc == AB_EINVAL) { /* a URL libcurl will not send */
        arena_free(a);
        return;
    }
    if (rc != AB_OK) {
        fprintf(stderr, "fuzz_sim_http: %s %s %s: %s (%s)\n", t->provider, method, line,
                ab_rc_name(rc), r.error ? r.error : "");
        abort(); /* the simulator did not answer */
    }
    if (r.status < 200 || r.status > 599)
        abort();
    if (strcmp(method, "GET") == 0 && strncmp(path, "/_sim/", 6) == 0 && r.status >= 500) {
        /* the framework's own routes (the request log tests read) never fail */
        fprintf(stderr, "fuzz_sim_http: %s GET %s: %d\n", t->provider, line, r.status);
        abort();
    }
    const char *ct = client_response_header(&r, "Content-Type");
    if (ct && strstr(ct, "json") && r.body_len) {
        json_error_t e;
        json_t *j = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, &e);
        if (!j) {
            fprintf(stderr, "fuzz_sim_http: %s %s %s: %d answer is not JSON (%s): %.300s\n",
                    t->provider, method, line, r.status, e.text, r.body);
            abort();
        }
        json_decref(j);
    }
    arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started;
    if (!started) {
        started = true;
        start();
    }
    /* up to four requests, separated by a line "===" */
    static const char sep[] = "\n===\n";
    const uint8_t *p = data, *end = data + size;
    for (int k = 0; k < 4 && p <= end; k++) {
        const uint8_t *at = NULL;
        for (const uint8_t *q = p; q + 5 <= end && !at; q++)
            if (memcmp(q, sep, 5) == 0)
                at = q;
        one(p, (size_t)((at ? at : end) - p));
        if (!at)
            break;
        p = at + 5;
    }
    return 0;
}
