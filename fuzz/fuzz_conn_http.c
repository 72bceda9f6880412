/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_conn_http.c: libFuzzer driver for the connectors as the engine calls
 * them (pull, push, resolve, health through struct conn_ops) against a
 * provider whose every answer comes from the input. The parsing that only
 * these slots reach is covered here: WATS asset pages, the asset log, the
 * lookups of changed assets, /Status answers, report header pages, the
 * version answer and page tokens; SAP PM collections (V2 d.results and V4
 * value), plans assembled from items, cycles, schedules and measuring
 * points, CSRF tokens and cookies, created notifications, measurement
 * documents and confirmations; the generic provider's pages (items,
 * next_cursor, watermark), created ids and error bodies.
 *
 * A loopback HTTP server (src/http, started once) answers each request with
 * the next response of the input; when they run out it answers 404. The
 * connectors run with their retries and rate limits off, so nothing
 * sleeps; a fresh connector context per input keeps runs repeatable.
 *
 * Input: a selector byte (the scenario: connector, slot and entity or
 * action), then parts separated by a line "===":
 *   part 0   WATERMARK "\n" PAGE_TOKEN "\n" PAYLOAD   (empty: none; a
 *            payload that is not JSON: the scenario's default)
 *   part 1.. one response each: an optional first line
 *            "STATUS|Name: value|Name: value" (STATUS 200..599; headers that
 *            frame the message are left out) then the body (no such line:
 *            status 200, the whole part is the body)
 * Checks: the slot's result code and outcome are consistent (AB_OK with an
 * outcome, a class on failures, Retry-After in range, a mapping exception
 * only on success), and every pulled record has a native id and an object
 * document.
 */
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "conn/conn.h"
#include "conn/conn_generic.h"
#include "conn/conn_sap_pm.h"
#include "conn/conn_wats.h"
#include "core/arena.h"
#include "core/log.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RESPONSES 48
#define MAX_HEADERS 6

/* ---- the provider: answers from the input ------------------------------------------- */

struct canned {
    int status;
    const char *body;
    size_t body_len;
    struct http_header headers[MAX_HEADERS];
    size_t n_headers;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct canned responses[MAX_RESPONSES];
static size_t n_responses, next_response;

/* Seed recording (docs/internals/fuzz.md): with FUZZ_RECORD_UPSTREAM=http://HOST:PORT
 * (a simulator) every request is forwarded there and its answers are written,
 * in the input format, after the input's selector and part 0 to
 * FUZZ_RECORD_OUT. Not used by fuzzing runs. */
static struct client *upstream;
static FILE *record_out;

static void record(struct http_request *req, struct http_response *resp)
{
    struct http_header in[32];
    size_t n = http_headers(req, in, 32);
    struct client_header fwd[32];
    size_t k = 0;
    static const char *const skip[] = {"Host",      "Content-Length",    "Connection",
                                       "Expect",    "Transfer-Encoding", "Accept-Encoding",
                                       "User-Agent"};
    for (size_t i = 0; i < n && i < 32; i++) {
        bool drop = false;
        for (size_t j = 0; j < sizeof(skip) / sizeof(skip[0]); j++)
            drop = drop || strcasecmp(in[i].name, skip[j]) == 0;
        if (!drop)
            fwd[k++] = (struct client_header){in[i].name, in[i].value};
    }
    struct client_request cr = {.method = req->method,
                                .path = req->path,
                                .query = *req->query ? req->query : NULL,
                                .headers = fwd,
                                .n_headers = k,
                                .body = req->body_len ? req->body : NULL,
                                .body_len = req->body_len};
    struct client_response r;
    if (client_request(upstream, &cr, req->arena, &r) != AB_OK) {
        http_resp_text(resp, 502, "text/plain", "upstream failed");
        return;
    }
    resp->status = r.status;
    buf_reset(&resp->body);
    if (buf_append(&resp->body, r.body, r.body_len) != AB_OK)
        resp->status = 500;
    fprintf(record_out, "\n===\n%d", r.status);
    static const char *const keep[] = {"x-csrf-token", "set-cookie", "retry-after",
                                       "etag",         "location",   "www-authenticate"};
    for (size_t i = 0; i < r.n_headers; i++)
        for (size_t j = 0; j < sizeof(keep) / sizeof(keep[0]); j++)
            if (strcasecmp(r.headers[i].name, keep[j]) == 0) {
                fprintf(record_out, "|%s: %s", r.headers[i].name, r.headers[i].value);
                (void)http_resp_header(req, resp, r.headers[i].name, r.headers[i].value);
            }
    fprintf(record_out, "\n%.*s", (int)r.body_len, r.body);
}

static void answer(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&mu);
    if (upstream) {
        record(req, resp);
        pthread_mutex_unlock(&mu);
        return;
    }
    if (next_response >= n_responses) {
        pthread_mutex_unlock(&mu);
        http_resp_text(resp, 404, "application/json", "{\"error\":\"not_found\"}");
        return;
    }
    const struct canned *c = &responses[next_response++];
    resp->status = c->status;
    resp->content_type = "application/json";
    buf_reset(&resp->body);
    if (buf_append(&resp->body, c->body, c->body_len) != AB_OK)
        resp->status = 500;
    for (size_t i = 0; i < c->n_headers; i++)
        (void)http_resp_header(req, resp, c->headers[i].name, c->headers[i].value);
    pthread_mutex_unlock(&mu);
}

static const struct http_route routes[] = {
    {"GET", "/*", answer, 0, 0},   {"POST", "/*", answer, 0, 0},   {"PUT", "/*", answer, 0, 0},
    {"PATCH", "/*", answer, 0, 0}, {"DELETE", "/*", answer, 0, 0},
};

static struct client *client;
static char base_url[96];

static void start(void)
{
    /* log everything (connectors log provider text; the log scrubs it) to nowhere */
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        abort();
    log_configure(LOG_DEBUG, LOG_FORMAT_JSON, fd);
    struct http_server_opts o = {
        .listen = "127.0.0.1:0",
        .routes = routes,
        .n_routes = sizeof(routes) / sizeof(routes[0]),
        .max_body = 1 << 20,
        .threads = 2,
    };
    static struct http_server *srv; /* runs until the process ends */
    char bound[64], err[256];
    if (http_server_start(&o, &srv, bound, sizeof(bound), err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "fuzz_conn_http: %s\n", err);
        abort();
    }
    snprintf(base_url, sizeof(base_url), "http://%s", bound);
    struct client_opts co = {
        .name = "fuzz",
        .base_url = base_url,
        .verify = true,
        .connect_timeout_ms = 2000,
        .timeout_ms = 3000,
    };
    if (client_new(&co, &client, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "fuzz_conn_http: %s\n", err);
        abort();
    }
    const char *up = getenv("FUZZ_RECORD_UPSTREAM"), *out = getenv("FUZZ_RECORD_OUT");
    if (up && out) {
        co.base_url = up;
        record_out = fopen(out, "wb");
        if (!record_out || client_new(&co, &upstream, err, sizeof(err)) != AB_OK)
            abort();
    }
}

/* ---- scenarios ------------------------------------------------------------------------ */

enum slot { PULL, PUSH, RESOLVE, HEALTH };
enum which { WATS, SAP, GENERIC };

struct scenario {
    enum which conn;
    enum slot slot;
    const char *what; /* entity (pull) or action (push, resolve) */
    const char *payload;
};

#define WATS_ASSET "\"asset_ref\":\"PH-00001\",\"asset_native_id\":\"PH-00001\""
#define SAP_ASSET "\"asset_ref\":\"PRESS-1\",\"asset_native_id\":\"10000001\""
#define GEN_ASSET "\"asset_ref\":\"PSU-1001\",\"asset_native_id\":\"A-000001\""

static const struct scenario scenarios[] = {
    {WATS, PULL, "asset", NULL},
    {WATS, PULL, "asset_type", NULL},
    {WATS, PULL, "report", NULL},
    {WATS, PUSH, "push_reading", "{" WATS_ASSET ",\"value\":25,\"provider_baseline\":16723}"},
    {WATS, PUSH, "record_calibration",
     "{" WATS_ASSET ",\"performed_at\":\"2026-11-20T08:00:00Z\",\"result\":\"pass\","
     "\"next_due_at\":\"2027-11-20T08:00:00Z\"}"},
    {WATS, PUSH, "record_maintenance",
     "{" WATS_ASSET ",\"performed_at\":\"2026-11-20T08:00:00Z\"}"},
    {WATS, PUSH, "upsert_asset",
     "{" WATS_ASSET ",\"name\":\"ICT fixture\",\"type\":\"fixture\",\"serial_number\":\"FX-1001\","
     "\"attributes\":{\"wats_type_id\":\"71bb54d8-d101-45b9-834d-0bff90150280\"}}"},
    {WATS, PUSH, "set_state", "{" WATS_ASSET ",\"status\":\"in_repair\"}"},
    {WATS, PUSH, "asset_message", "{" WATS_ASSET ",\"message\":\"Pins replaced\"}"},
    {WATS, PUSH, "reset_running_count", "{" WATS_ASSET ",\"comment\":\"after calibration\"}"},
    {WATS, RESOLVE, "push_reading", "{" WATS_ASSET ",\"value\":25,\"provider_baseline\":16723}"},
    {WATS, RESOLVE, "record_calibration",
     "{" WATS_ASSET ",\"performed_at\":\"2026-11-20T08:00:00Z\"}"},
    {WATS, RESOLVE, "asset_message", "{" WATS_ASSET ",\"message\":\"Pins replaced\"}"},
    {WATS, HEALTH, NULL, NULL},
    {SAP, PULL, "asset", NULL},
    {SAP, PULL, "work_order", NULL},
    {SAP, PULL, "notification", NULL},
    {SAP, PULL, "maintenance_plan", NULL},
    {SAP, PULL, "meter", NULL},
    {SAP, PUSH, "push_reading",
     "{" SAP_ASSET ",\"meter_type\":\"CYCLES\",\"value\":1000,\"provider_baseline\":225423}"},
    {SAP, PUSH, "open_request",
     "{" SAP_ASSET ",\"type\":\"corrective\",\"priority\":\"high\",\"notes\":\"Unusual noise\","
     "\"sla_due_at\":\"2026-12-01T00:00:00Z\"}"},
    {SAP, PUSH, "update_work_order",
     "{" SAP_ASSET ",\"source_work_order_id\":\"4000000\",\"common_status\":\"completed\"}"},
    {SAP, RESOLVE, "push_reading",
     "{" SAP_ASSET ",\"meter_type\":\"CYCLES\",\"value\":1000,\"provider_baseline\":225423}"},
    {SAP, RESOLVE, "open_request", "{" SAP_ASSET ",\"type\":\"corrective\"}"},
    {SAP, HEALTH, NULL, NULL},
    {GENERIC, PULL, "asset", NULL},
    {GENERIC, PULL, "meter", NULL},
    {GENERIC, PULL, "maintenance_plan", NULL},
    {GENERIC, PULL, "work_order", NULL},
    {GENERIC, PUSH, "push_reading",
     "{" GEN_ASSET
     ",\"meter\":\"temperature\",\"value\":37.5,\"read_at\":\"2026-11-21T12:00:00Z\"}"},
    {GENERIC, PUSH, "open_request",
     "{" GEN_ASSET ",\"type\":\"corrective\",\"priority\":\"high\",\"notes\":\"Drifts\\nCheck "
     "output\"}"},
    {GENERIC, PUSH, "update_work_order",
     "{" GEN_ASSET ",\"source_work_order_id\":\"WO-000001\",\"common_status\":\"in_progress\","
     "\"revision\":1}"},
    {GENERIC, RESOLVE, "push_reading", "{" GEN_ASSET ",\"meter\":\"temperature\",\"value\":37.5}"},
    {GENERIC, RESOLVE, "open_request", "{" GEN_ASSET ",\"type\":\"corrective\"}"},
    {GENERIC, HEALTH, NULL, NULL},
};

#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static void *ctx_new(enum which w)
{
    struct config_provider cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = "p";
    cfg.base_url = base_url;
    cfg.tls.verify = true;
    void *ctx = NULL;
    char err[256];
    enum ab_rc rc;
    if (w == WATS) {
        static const struct conn_wats_meter meters[] = {{"cycles", false}};
        struct conn_wats_opts o;
        conn_wats_opts_default(&o);
        o.page_size = 3;
        o.log_page_size = 3;
        o.report_page_size = 3;
        o.lookup_batch = 2;
        o.requests_per_minute = 0;
        o.max_retries = 0;
        o.retry_base_ms = 1;
        o.retry_cap_ms = 1;
        o.usage_endpoint = CONN_WATS_USAGE_AUTO;
        o.meters = meters;
        o.n_meters = 1;
        cfg.type = "wats";
        cfg.auth.scheme = "basic";
        cfg.auth.token = "c2ltOnNpbS10b2tlbg=="; /* the simulator's default */
        rc = conn_wats_init_with(&cfg, client, &o, &ctx, err, sizeof(err));
    } else if (w == SAP) {
        static const struct conn_sap_pm_meter meters[] = {{"cycles", "CYCLES"}};
        struct conn_sap_pm_opts o;
        conn_sap_pm_opts_default(&o);
        o.sap_client = "100";
        o.page_size = 3;
        o.lookup_batch = 2;
        o.max_retries = 0;
        o.retry_base_ms = 1;
        o.retry_cap_ms = 1;
        o.meters = meters;
        o.n_meters = 1;
        cfg.type = "sap_pm";
        cfg.auth.scheme = "basic";
        cfg.auth.user = "SIMUSER";
        cfg.auth.password = "sim-password";
        rc = conn_sap_pm_init_with(&cfg, client, &o, &ctx, err, sizeof(err));
    } else {
        cfg.type = "generic";
        cfg.auth.scheme = "bearer";
        cfg.auth.token = "sim-token";
        rc = conn_init(&conn_generic, &cfg, client, &ctx, err, sizeof(err));
    }
    if (rc != AB_OK) {
        fprintf(stderr, "fuzz_conn_http: init: %s\n", err);
        abort();
    }
    return ctx;
}

/* ---- the input ------------------------------------------------------------------------- */

/* The next part of [*p, end) up to a line "===" (or the end); advances *p. */
static bool next_part(const char **p, const char *end, const char **s, size_t *n)
{
    if (!*p)
        return false;
    static const char sep[] = "\n===\n";
    const char *at = NULL;
    for (const char *q = *p; q + 5 <= end; q++)
        if (memcmp(q, sep, 5) == 0) {
            at = q;
            break;
        }
    *s = *p;
    *n = at ? (size_t)(at - *p) : (size_t)(end - *p);
    *p = at ? at + 5 : NULL;
    return true;
}

/* One response from a part: "STATUS|Name: value|..." first line, or a bare body. */
static void canned_parse(struct arena *a, const char *s, size_t n, struct canned *c)
{
    memset(c, 0, sizeof(*c));
    c->status = 200;
    c->body = s;
    c->body_len = n;
    if (n < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9')
        return;
    const char *nl = memchr(s, '\n', n);
    size_t line = nl ? (size_t)(nl - s) : n;
    c->status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    const char *h = s + 3, *lend = s + line;
    while (h < lend && *h == '|' && c->n_headers < MAX_HEADERS) {
        h++;
        const char *bar = memchr(h, '|', (size_t)(lend - h));
        const char *e = bar ? bar : lend;
        const char *colon = memchr(h, ':', (size_t)(e - h));
        /* headers that frame the message are the server's business: a
         * wrong Content-Length would only make the client wait */
        static const char *const framing[] = {"content-length",   "transfer-encoding", "connection",
                                              "content-encoding", "trailer",           "upgrade"};
        bool ok = colon && colon > h;
        for (size_t i = 0; ok && i < sizeof(framing) / sizeof(framing[0]); i++)
            ok = !((size_t)(colon - h) == strlen(framing[i]) &&
                   strncasecmp(h, framing[i], (size_t)(colon - h)) == 0);
        if (ok) {
            const char *v = colon + 1;
            while (v < e && *v == ' ')
                v++;
            c->headers[c->n_headers].name = arena_strndup(a, h, (size_t)(colon - h));
            c->headers[c->n_headers].value = arena_strndup(a, v, (size_t)(e - v));
            c->n_headers++;
        }
        h = e;
    }
    c->body = nl ? nl + 1 : s + n;
    c->body_len = nl ? n - line - 1 : 0;
    if (c->status == 204 || c->status == 304)
        c->body_len = 0; /* bodiless by definition */
}

/* Line i (0-based) of s[0..n), or NULL when empty or absent; the last line
 * asked for takes the rest. */
static const char *line_of(struct arena *a, const char *s, size_t n, int i, bool rest)
{
    const char *end = s + n;
    for (; i > 0 && s < end; i--) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        s = nl ? nl + 1 : end;
    }
    if (s >= end)
        return NULL;
    const char *nl = rest ? NULL : memchr(s, '\n', (size_t)(end - s));
    size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
    return len ? arena_strndup(a, s, len) : NULL;
}

/* ---- checks ------------------------------------------------------------------------------ */

static void check_page(enum ab_rc rc, const struct conn_page *pg)
{
    if (rc != AB_OK)
        return;
    if (pg->n_records && !pg->records)
        abort();
    for (size_t i = 0; i < pg->n_records; i++) {
        const struct conn_record *r = &pg->records[i];
        if (!r->native_id || !json_is_object(r->doc))
            abort();
        if (r->mapping_exception && !r->mapping_exception[0])
            abort();
    }
}

static void check_result(enum ab_rc rc, const struct conn_result *r)
{
    if (rc != AB_OK)
        return;
    if (r->outcome != CONN_OK && r->outcome != CONN_RETRYABLE && r->outcome != CONN_PERMANENT &&
        r->outcome != CONN_UNKNOWN)
        abort();
    if (r->outcome != CONN_OK && (!r->error_class || !r->error_class[0]))
        abort();
    if (r->retry_after_ms < -1 || r->retry_after_ms > 24LL * 3600 * 1000)
        abort();
    if (r->mapping_exception && r->outcome != CONN_OK)
        abort();
}

static const struct conn_ops *ops_of(enum which w)
{
    return w == WATS ? &conn_wats : w == SAP ? &conn_sap_pm : &conn_generic;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool started;
    if (!started) {
        started = true;
        start();
    }
    if (size < 1)
        return 0;
    const struct scenario *sc = &scenarios[data[0] % N_SCENARIOS];
    struct arena *a = arena_new(0, 256u * 1024 * 1024);
    const char *in = (const char *)data + 1, *end = (const char *)data + size;
    const char *part;
    size_t plen;
    const char *p = in;
    const char *watermark = NULL, *token = NULL;
    json_t *payload = NULL;
    if (next_part(&p, end, &part, &plen)) {
        watermark = line_of(a, part, plen, 0, false);
        token = line_of(a, part, plen, 1, false);
        const char *pl = line_of(a, part, plen, 2, true);
        if (pl)
            payload = conn_arena_own(a, json_loads(pl, JSON_DECODE_ANY, NULL));
    }
    if (!payload && sc->payload)
        payload = conn_arena_own(a, json_loads(sc->payload, 0, NULL));
    pthread_mutex_lock(&mu);
    n_responses = next_response = 0;
    while (n_responses < MAX_RESPONSES && next_part(&p, end, &part, &plen))
        canned_parse(a, part, plen, &responses[n_responses++]);
    pthread_mutex_unlock(&mu);

    if (record_out) {
        fputc(data[0], record_out);
        fwrite(in, 1, (size_t)((p ? p - 5 : end) - in), record_out);
    }
    const struct conn_ops *ops = ops_of(sc->conn);
    void *ctx = ctx_new(sc->conn);
    /* one idempotency key per scenario (a recording simulator remembers them) */
    const char *key = arena_printf(a, "01JFUZZ00000000000000000%02u", (unsigned)(sc - scenarios));
    struct conn_item item = {
        .id = 1,
        .tenant = "default",
        .entity = "asset",
        .action = sc->what,
        .subject = "asset/X",
        .payload = payload,
        .idempotency_key = key,
        .correlation_id = "fuzz",
        .attempts = 2,
    };
    enum ab_rc rc;
    switch (sc->slot) {
    case PULL: {
        struct conn_page pg;
        rc = ops->pull(ctx, sc->what, watermark, token, a, &pg);
        check_page(rc, &pg);
        break;
    }
    case PUSH: {
        struct conn_result r;
        rc = ops->push(ctx, &item, a, &r);
        check_result(rc, &r);
        break;
    }
    case RESOLVE: {
        enum conn_resolution r;
        rc = ops->resolve(ctx, &item, a, &r);
        if (rc == AB_OK && r != CONN_RESOLVED_FOUND && r != CONN_RESOLVED_NOT_FOUND &&
            r != CONN_RESOLVED_UNKNOWN)
            abort();
        break;
    }
    case HEALTH: {
        struct conn_health h;
        rc = ops->health(ctx, a, &h);
        if (rc != AB_OK && !h.message)
            abort();
        break;
    }
    }
    ops->cleanup(ctx);
    arena_free(a);
    if (record_out)
        fflush(record_out);
    return 0;
}
