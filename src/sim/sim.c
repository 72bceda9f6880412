/* SPDX-License-Identifier: Apache-2.0
 *
 * sim.c: the provider-simulator framework. See sim.h and
 * docs/internals/sim.md.
 *
 * Every request arrives through a catch-all route. /_sim/... (faults, request
 * log, state, effects) and /_test/clock are the framework's own and are never
 * faulted, logged or rate limited. Any other request gets a sequence number,
 * a fault decision (sim/fault.h, drawn from the seeded PRNG under the lock,
 * so the outcome depends only on the seed and the request order), and then,
 * unless the fault says otherwise: provider authentication, the rate-limit
 * bucket, the provider route, the Idempotency-Key store, the handler in a
 * transaction. Latency and timeouts hold the connection with http_defer();
 * a timer thread completes them.
 */
#include "sim/sim.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "core/xmalloc.h"
#include "http/json.h"

#define RING_MAX 10000
#define PAGES_MAX 64
#define HELD_MAX 4096
#define RESP_HEADERS_MAX 32

extern const struct sim_provider sim_generic;
extern const struct sim_provider sim_wats;
extern const struct sim_provider sim_sap_pm;
enum ab_rc sim_wats_configure(const struct sim_opts *opts, char *err, size_t errlen);
enum ab_rc sim_sap_configure(const struct sim_opts *opts, char *err, size_t errlen);

const struct sim_provider *const sim_providers[] = {
    &sim_generic,
    &sim_wats,
    &sim_sap_pm,
    NULL,
};

/* Providers that take options (--server-version, --set) and their checks. */
static const struct {
    const struct sim_provider *p;
    sim_configure_fn configure;
} sim_configurators[] = {
    {&sim_wats, sim_wats_configure},
    {&sim_sap_pm, sim_sap_configure},
};

/* Check the provider options of opts for p (AB_EINVAL with a reason). */
static enum ab_rc configure(const struct sim_provider *p, const struct sim_opts *opts, char *err,
                            size_t errlen)
{
    for (size_t i = 0; i < sizeof(sim_configurators) / sizeof(sim_configurators[0]); i++)
        if (sim_configurators[i].p == p)
            return sim_configurators[i].configure(opts, err, errlen);
    if (opts->server_version || opts->n_params) {
        snprintf(err, errlen, "the %s simulator takes no --server-version or --set options",
                 p->name);
        return AB_EINVAL;
    }
    return AB_OK;
}

const struct sim_provider *sim_provider_find(const char *name)
{
    for (size_t i = 0; sim_providers[i]; i++)
        if (strcmp(sim_providers[i]->name, name) == 0)
            return sim_providers[i];
    return NULL;
}

/* the last page served per list path (repeat_page) */
struct page_memo {
    char *path;
    char *body;
};

struct held {
    int64_t deadline_ms; /* monotonic */
    struct http_request *req;
};

struct sim {
    const struct sim_provider *p;
    struct sim_opts opts;
    sqlite3 *db;
    pthread_mutex_t mu;
    struct sim_prng fault_rng;
    struct sim_fault_set faults;
    uint64_t seq;
    int64_t stamp;
    /* request log: a ring of JSON entries */
    json_t *ring[RING_MAX];
    size_t ring_head, ring_n;
    struct page_memo pages[PAGES_MAX];
    size_t pages_next;
    /* rate limit */
    double bucket, bucket_max, rate;
    int64_t bucket_ms;
    /* held requests (latency, timeout) */
    pthread_t timer;
    bool timer_started;
    pthread_cond_t cond;
    struct held held[HELD_MAX];
    size_t n_held;
    bool releasing;
};

/* what a held request does when its time comes */
struct hold_arg {
    struct sim *s;
    enum sim_fault_action action;
    uint64_t seq;
    uint64_t rule_id;
};

/* ---- small helpers ----------------------------------------------------------- */

sqlite3 *sim_db(struct sim *s)
{
    return s->db;
}

const struct sim_opts *sim_options(const struct sim *s)
{
    return &s->opts;
}

int64_t sim_now_ms(const struct sim *s)
{
    (void)s;
    return clock_now_ms();
}

int64_t sim_last_stamp(const struct sim *s)
{
    return s->stamp;
}

enum ab_rc sim_exec(struct sim *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error(NULL, "simulator SQL failed", LOG_STR("error", msg ? msg : "?"));
        sqlite3_free(msg);
        return AB_EINTERNAL;
    }
    return AB_OK;
}

/* Step a bookkeeping write (meta, effect counters, idempotency records) and
 * finalize it; a failure is logged loudly: the counters prove exactly-once
 * delivery, so a silent miss would mislead a test. */
static void step_or_log(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        log_error(NULL, "simulator state write failed",
                  LOG_STR("error", sqlite3_errmsg(sqlite3_db_handle(st))));
    sqlite3_finalize(st);
}

static void meta_set_i64(struct sim *s, const char *key, int64_t v)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO _sim_meta(key, value) VALUES (?, ?)", -1,
                           &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    step_or_log(st);
}

static bool meta_get(struct sim *s, const char *key, char *out, size_t outlen)
{
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM _sim_meta WHERE key = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        str_lcpy(out, v ? v : "", outlen);
        found = true;
    }
    sqlite3_finalize(st);
    return found;
}

int64_t sim_stamp(struct sim *s)
{
    int64_t now = clock_now_ms();
    s->stamp = now > s->stamp ? now : s->stamp + 1;
    meta_set_i64(s, "stamp", s->stamp);
    return s->stamp;
}

void sim_effect(struct sim *s, const char *name, int64_t n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO _sim_effects(name, count) VALUES (?1, ?2) "
                           "ON CONFLICT(name) DO UPDATE SET count = count + ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, n);
    step_or_log(st);
}

void sim_error(struct sim *s, struct http_request *req, struct http_response *resp, int status,
               const char *code, const char *message)
{
    s->p->error(s, req, resp, status, code, message);
}

const char *sim_cursor_encode(struct arena *a, json_t *state)
{
    char *text = json_dumps(state, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(state);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *out = arena_alloc(a, 2 * n + 1);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[(unsigned char)text[i] >> 4];
        out[2 * i + 1] = hex[(unsigned char)text[i] & 15];
    }
    out[2 * n] = '\0';
    free(text);
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

json_t *sim_cursor_decode(struct arena *a, const char *cursor)
{
    size_t n = strlen(cursor);
    if (n == 0 || n % 2 || n > 8192)
        return NULL;
    char *text = arena_alloc(a, n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(cursor[2 * i]), lo = hexval(cursor[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return NULL;
        text[i] = (char)(hi * 16 + lo);
    }
    text[n / 2] = '\0';
    json_t *v = json_loads(text, 0, NULL);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return json_arena_own(a, v);
}

/* the framework's own error shape (/_sim/..., /_test/...) */
static void own_error(struct http_response *resp, int status, const char *code, const char *message)
{
    http_resp_json(resp, status, json_pack("{s:s,s:s}", "error", code, "message", message));
}

/* ---- secrets in the request log ------------------------------------------------ */

static bool secret_name(const char *name)
{
    static const char *const words[] = {"authorization", "token",  "password", "secret",
                                        "api_key",       "apikey", "api-key",  "cookie",
                                        "csrf",          "passwd", "session"};
    char low[128];
    size_t n = strlen(name);
    if (n >= sizeof(low))
        n = sizeof(low) - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] - 'A' + 'a' : name[i]);
    low[n] = '\0';
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(low, words[i]))
            return true;
    return false;
}

static void mask_json(json_t *v)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *x;
        /* replacing the value of an existing key does not disturb the walk */
        json_object_foreach (v, key, x) {
            if (secret_name(key) && !json_is_object(x) && !json_is_array(x) && !json_is_null(x))
                json_object_set_new(v, key, json_string("***"));
            else
                mask_json(x);
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            mask_json(json_array_get(v, i));
    }
}

static json_t *masked_query(struct arena *a, const char *q)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        char *key = arena_strndup(a, q, klen);
        enum ab_rc rc = AB_OK;
        if (b.len)
            rc = buf_append_char(&b, '&');
        if (!rc && eq && secret_name(key))
            rc = buf_printf(&b, "%s=***", key);
        else if (!rc)
            rc = buf_append(&b, q, len);
        if (rc)
            break;
        q += len;
        if (*q == '&')
            q++;
    }
    json_t *out = json_string(str_utf8_clean(a, buf_str(&b), b.len));
    buf_cleanup(&b);
    return out;
}

/* A log entry for the request (status and fault are filled in later). */
static const char *clean(struct arena *a, const char *s)
{
    return s ? str_utf8_clean(a, s, strlen(s)) : "";
}

static json_t *log_entry(struct http_request *req, uint64_t seq)
{
    struct http_header hs[64];
    size_t n = http_headers(req, hs, 64);
    if (n > 64)
        n = 64;
    json_t *headers = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *v = hs[i].value;
        if (secret_name(hs[i].name)) {
            /* keep the scheme: "Bearer ***" tells a test which auth was used */
            const char *sp = strchr(v, ' ');
            char *masked = sp ? arena_printf(req->arena, "%.*s ***", (int)(sp - v), v) : "***";
            json_object_set_new(headers, hs[i].name, json_string(masked));
        } else {
            json_object_set_new(headers, clean(req->arena, hs[i].name),
                                json_string(clean(req->arena, v)));
        }
    }
    json_t *body = json_null();
    if (req->body_len) {
        body = json_loadb(req->body, req->body_len, 0, NULL);
        if (body)
            mask_json(body);
        else /* not JSON (or not UTF-8): the text as far as it is text */
            body = json_string(str_utf8_clean(req->arena, req->body, req->body_len));
        if (!body)
            body = json_string("(binary)");
    }
    /* a client may send anything: the log holds valid UTF-8 only, or it
     * could not be served (json_pack would fail on the request's bytes) */
    json_t *e = json_pack("{s:I,s:s,s:s,s:o,s:o,s:o,s:n,s:n}", "seq", (json_int_t)seq, "method",
                          clean(req->arena, req->method), "path", clean(req->arena, req->path),
                          "query", masked_query(req->arena, req->query), "headers", headers, "body",
                          body, "status", "fault");
    return e;
}

static void ring_push(struct sim *s, json_t *e)
{
    size_t slot = (s->ring_head + s->ring_n) % RING_MAX;
    if (s->ring_n == RING_MAX) {
        json_decref(s->ring[s->ring_head]);
        s->ring[s->ring_head] = e;
        s->ring_head = (s->ring_head + 1) % RING_MAX;
    } else {
        s->ring[slot] = e;
        s->ring_n++;
    }
}

static void ring_clear(struct sim *s)
{
    for (size_t i = 0; i < s->ring_n; i++)
        json_decref(s->ring[(s->ring_head + i) % RING_MAX]);
    s->ring_head = s->ring_n = 0;
}

/* Finish a log entry with what the client got, and keep it. */
static void record(struct sim *s, json_t *e, const struct http_response *resp,
                   const struct sim_fault_rule *fault)
{
    if (!e)
        return; /* out of memory building the entry: the log misses one request */
    if (resp->drop)
        json_object_set_new(e, "status", json_null());
    else
        json_object_set_new(e, "status", json_integer(resp->status));
    if (fault) {
        json_object_set_new(e, "fault", json_string(sim_fault_action_name(fault->action)));
        json_object_set_new(e, "fault_rule", json_integer((json_int_t)fault->id));
    }
    ring_push(s, e);
}

/* ---- repeat_page memo ------------------------------------------------------------ */

static struct page_memo *page_find(struct sim *s, const char *path)
{
    for (size_t i = 0; i < PAGES_MAX; i++)
        if (s->pages[i].path && strcmp(s->pages[i].path, path) == 0)
            return &s->pages[i];
    return NULL;
}

static void page_remember(struct sim *s, const char *path, const struct http_response *resp)
{
    struct page_memo *m = page_find(s, path);
    if (!m) {
        m = &s->pages[s->pages_next];
        s->pages_next = (s->pages_next + 1) % PAGES_MAX;
        free(m->path);
        m->path = xstrdup(path);
    }
    free(m->body);
    m->body = xstrdup(buf_str(&resp->body));
}

/* ---- the provider request path ---------------------------------------------------- */

static const struct sim_route *find_route(struct sim *s, struct http_request *req,
                                          bool *path_matched /* OUT */)
{
    *path_matched = false;
    for (const struct sim_route *r = s->p->routes; r->method; r++) {
        const char *names[HTTP_MAX_PARAMS], *params[HTTP_MAX_PARAMS];
        size_t n;
        if (!http_route_match(req->arena, r->pattern, req->path, names, params, &n))
            continue;
        *path_matched = true;
        if (strcmp(r->method, req->method) != 0 &&
            !(strcmp(req->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0))
            continue;
        req->n_params = n;
        memcpy(req->param_names, names, n * sizeof(*names));
        memcpy(req->params, params, n * sizeof(*params));
        req->route = r->pattern;
        return r;
    }
    return NULL;
}

static bool rate_take(struct sim *s, int64_t *retry_after_s)
{
    if (s->rate <= 0)
        return true;
    int64_t now = clock_now_ms();
    if (now > s->bucket_ms) {
        s->bucket += (double)(now - s->bucket_ms) * s->rate / 1000.0;
        if (s->bucket > s->bucket_max)
            s->bucket = s->bucket_max;
    }
    s->bucket_ms = now > s->bucket_ms ? now : s->bucket_ms;
    if (s->bucket >= 1.0) {
        s->bucket -= 1.0;
        return true;
    }
    double wait = (1.0 - s->bucket) / s->rate;
    *retry_after_s = (int64_t)ceil(wait);
    if (*retry_after_s < 1)
        *retry_after_s = 1;
    return false;
}

/* Replay a stored answer for an Idempotency-Key; false when the key is new. */
static bool idem_replay(struct sim *s, struct http_request *req, struct http_response *resp,
                        const char *key)
{
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT method, path, status, body FROM _sim_idempotency WHERE key = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = true;
        const char *m = (const char *)sqlite3_column_text(st, 0);
        const char *p = (const char *)sqlite3_column_text(st, 1);
        if (strcmp(m, req->method) != 0 || strcmp(p, req->path) != 0) {
            sim_error(s, req, resp, 422, "idempotency_key_reused",
                      "this Idempotency-Key was used for a different request");
        } else {
            const char *body = (const char *)sqlite3_column_text(st, 3);
            http_resp_text(resp, sqlite3_column_int(st, 2), "application/json", body ? body : "");
            if (http_resp_header(req, resp, "Idempotent-Replayed", "true"))
                resp->status = 500;
        }
    }
    sqlite3_finalize(st);
    return found;
}

static void idem_store(struct sim *s, struct http_request *req, struct http_response *resp,
                       const char *key)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR IGNORE INTO _sim_idempotency(key, method, path, status, "
                           "body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, req->method, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, req->path, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, resp->status);
    sqlite3_bind_text(st, 5, buf_str(&resp->body), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, clock_now_ms());
    step_or_log(st);
}

/* Authenticate, rate-limit, route and run the provider handler. Under mu. */
static void process(struct sim *s, struct http_request *req, struct http_response *resp)
{
    if (!s->p->authenticate(s, req, resp))
        return;
    int64_t retry;
    if (!rate_take(s, &retry)) {
        s->p->rate_limited(s, req, resp, retry);
        return;
    }
    bool path_matched;
    const struct sim_route *r = find_route(s, req, &path_matched);
    if (!r) {
        if (path_matched)
            sim_error(s, req, resp, 405, "method_not_allowed", "method not allowed on this path");
        else
            sim_error(s, req, resp, 404, "not_found", "no such resource");
        return;
    }
    const char *key =
        (r->flags & SIM_ROUTE_IDEMPOTENT) ? http_header(req, "Idempotency-Key") : NULL;
    if (key && (!*key || strlen(key) > 255)) {
        sim_error(s, req, resp, 400, "bad_request", "Idempotency-Key must be 1..255 characters");
        return;
    }
    if (key && idem_replay(s, req, resp, key))
        return;
    if (sim_exec(s, "BEGIN")) {
        sim_error(s, req, resp, 500, "internal_error", "state unavailable");
        return;
    }
    r->handler(s, req, resp);
    if (key && resp->status < 500)
        idem_store(s, req, resp, key);
    if (sim_exec(s, resp->status < 400 ? "COMMIT" : "ROLLBACK"))
        sim_error(s, req, resp, 500, "internal_error", "state unavailable");
    if ((r->flags & SIM_ROUTE_LIST) && resp->status == 200)
        page_remember(s, req->path, resp);
}

static const char *status_code_name(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 409: return "conflict";
    case 500: return "internal_error";
    case 502: return "bad_gateway";
    case 503: return "service_unavailable";
    case 504: return "gateway_timeout";
    default: return "error";
    }
}

/* Apply an immediate fault (not latency/timeout). Under mu. */
static void apply_fault(struct sim *s, struct http_request *req, struct http_response *resp,
                        const struct sim_fault_rule *f)
{
    switch (f->action) {
    case SIM_FAULT_STATUS:
        if (f->status == 429)
            s->p->rate_limited(s, req, resp, 1);
        else
            sim_error(s, req, resp, f->status, status_code_name(f->status),
                      "the service cannot handle the request right now");
        break;
    case SIM_FAULT_RESET: resp->drop = true; break;
    case SIM_FAULT_RESET_AFTER_APPLY:
        process(s, req, resp);
        resp->drop = true;
        break;
    case SIM_FAULT_TRUNCATE:
        process(s, req, resp);
        resp->truncate = true;
        resp->truncate_at = resp->body.len / 2;
        if (resp->body.len < 2) {
            /* nothing worth cutting: pad so the client sees a short body */
            http_resp_text(resp, resp->status, resp->content_type, "{\"truncated\":true}");
            resp->truncate_at = 5;
        }
        break;
    case SIM_FAULT_MALFORMED:
        process(s, req, resp);
        http_resp_text(resp, 200, "application/json",
                       "{\"items\":[{\"id\":<html><body>Proxy Error</body></html>");
        break;
    case SIM_FAULT_REPEAT_PAGE: {
        const struct page_memo *m = page_find(s, req->path);
        if (m)
            http_resp_text(resp, 200, "application/json", m->body);
        else
            process(s, req, resp);
        break;
    }
    case SIM_FAULT_EXPIRE_TOKEN: s->p->expire_token(s, req, resp); break;
    case SIM_FAULT_LATENCY:
    case SIM_FAULT_TIMEOUT: break; /* held: see hold_resume */
    }
}

/* ---- held requests (latency, timeout) ------------------------------------------------ */

static void hold_resume(struct http_request *req, struct http_response *resp, void *arg)
{
    struct hold_arg *h = arg;
    struct sim *s = h->s;
    pthread_mutex_lock(&s->mu);
    struct sim_fault_rule f = {.id = h->rule_id, .action = h->action};
    json_t *e = log_entry(req, h->seq);
    if (h->action == SIM_FAULT_TIMEOUT)
        resp->drop = true;
    else
        process(s, req, resp);
    record(s, e, resp, &f);
    pthread_mutex_unlock(&s->mu);
}

static void *timer_main(void *arg)
{
    struct sim *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        int64_t now = clock_mono_ms(), next = INT64_MAX;
        for (size_t i = 0; i < s->n_held;) {
            if (s->releasing || s->held[i].deadline_ms <= now) {
                struct http_request *req = s->held[i].req;
                s->held[i] = s->held[--s->n_held];
                http_complete(req);
                continue;
            }
            if (s->held[i].deadline_ms < next)
                next = s->held[i].deadline_ms;
            i++;
        }
        if (s->releasing)
            break;
        if (next == INT64_MAX) {
            pthread_cond_wait(&s->cond, &s->mu);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t wait = next - now;
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&s->cond, &s->mu, &ts);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Hold req for ms (under mu). */
static void hold(struct sim *s, struct http_request *req, const struct sim_fault_rule *f,
                 uint64_t seq)
{
    struct hold_arg *h = arena_zalloc(req->arena, sizeof(*h));
    h->s = s;
    h->action = f->action;
    h->seq = seq;
    h->rule_id = f->id;
    http_defer(req, hold_resume, h);
    if (s->releasing || s->n_held == HELD_MAX) {
        http_complete(req);
        return;
    }
    s->held[s->n_held].deadline_ms = clock_mono_ms() + f->ms;
    s->held[s->n_held].req = req;
    s->n_held++;
    pthread_cond_signal(&s->cond);
}

void sim_release_held(struct sim *s)
{
    if (!s || !s->timer_started)
        return;
    pthread_mutex_lock(&s->mu);
    s->releasing = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->timer, NULL);
    s->timer_started = false;
}

/* ---- /_sim/... and /_test/clock ------------------------------------------------------------ */

static bool path_filter_match(const char *filter, const char *path)
{
    size_t n = strlen(filter);
    if (n && filter[n - 1] == '*')
        return strncmp(filter, path, n - 1) == 0;
    return strcmp(filter, path) == 0;
}

static void admin(struct sim *s, struct http_request *req, struct http_response *resp)
{
    const char *m = req->method, *p = req->path;
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    if (strcmp(p, "/_sim/faults") == 0) {
        if (get) {
            json_t *items = json_array();
            for (size_t i = 0; i < s->faults.n; i++)
                json_array_append_new(items, sim_fault_to_json(&s->faults.rules[i]));
            http_resp_json(resp, 200, json_pack("{s:o}", "items", items));
        } else if (strcmp(m, "POST") == 0) {
            struct sim_fault_rule *rules;
            size_t n;
            char err[256];
            enum ab_rc rc = sim_fault_parse(req->body, req->body_len, &rules, &n, err, sizeof(err));
            if (rc) {
                own_error(resp, rc == AB_EPARSE ? 400 : 422, "invalid_fault_rule", err);
                return;
            }
            size_t first = s->faults.n;
            rc = sim_fault_set_add(&s->faults, rules, n);
            free(rules);
            if (rc) {
                own_error(resp, 422, "invalid_fault_rule", "too many fault rules");
                return;
            }
            json_t *items = json_array();
            for (size_t i = first; i < s->faults.n; i++)
                json_array_append_new(items, sim_fault_to_json(&s->faults.rules[i]));
            http_resp_json(resp, 201, json_pack("{s:o}", "items", items));
        } else if (strcmp(m, "DELETE") == 0) {
            sim_fault_set_clear(&s->faults);
            http_resp_text(resp, 204, "application/json", "");
        } else {
            own_error(resp, 405, "method_not_allowed", "GET, POST or DELETE");
        }
    } else if (strcmp(p, "/_sim/requests") == 0) {
        if (get) {
            const char *fm = http_query(req, "method"), *fp = http_query(req, "path");
            json_t *items = json_array();
            for (size_t i = 0; i < s->ring_n; i++) {
                json_t *e = s->ring[(s->ring_head + i) % RING_MAX];
                if (fm && *fm &&
                    strcasecmp(fm, json_string_value(json_object_get(e, "method"))) != 0)
                    continue;
                if (fp && *fp &&
                    !path_filter_match(fp, json_string_value(json_object_get(e, "path"))))
                    continue;
                json_array_append(items, e);
            }
            http_resp_json(resp, 200, json_pack("{s:o}", "items", items));
        } else if (strcmp(m, "DELETE") == 0) {
            ring_clear(s);
            http_resp_text(resp, 204, "application/json", "");
        } else {
            own_error(resp, 405, "method_not_allowed", "GET or DELETE");
        }
    } else if (strcmp(p, "/_sim/state") == 0 && get) {
        char now[TIME_RFC3339_MAX];
        time_format_rfc3339(clock_now_ms(), now);
        json_t *o = s->p->dump(s);
        json_object_set_new(o, "provider", json_string(s->p->name));
        json_object_set_new(o, "now", json_string(now));
        http_resp_json(resp, 200, o);
    } else if (strcmp(p, "/_sim/effects") == 0 && get) {
        json_t *o = json_object();
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db, "SELECT name, count FROM _sim_effects ORDER BY name", -1, &st,
                               NULL) == SQLITE_OK) {
            while (sqlite3_step(st) == SQLITE_ROW)
                json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
                                    json_integer(sqlite3_column_int64(st, 1)));
            sqlite3_finalize(st);
        }
        http_resp_json(resp, 200, o);
    } else if (strcmp(p, "/_test/clock") == 0 && clock_is_fake()) {
        int64_t adv = 0;
        if (strcmp(m, "POST") == 0) {
            json_t *body;
            char err[JSON_ERR_MAX];
            if (json_parse_object(req->arena, req->body, req->body_len, &body, err)) {
                own_error(resp, 400, "bad_request", err);
                return;
            }
            const char *d = json_string_value(json_object_get(body, "advance"));
            if (!d || duration_parse_iso8601(d, &adv) || json_object_size(body) != 1) {
                own_error(resp, 422, "validation_failed",
                          "expected {\"advance\":\"<ISO 8601 duration, e.g. P30D>\"}");
                return;
            }
            clock_advance_ms(adv);
        } else if (!get) {
            own_error(resp, 405, "method_not_allowed", "GET or POST");
            return;
        }
        char now[TIME_RFC3339_MAX];
        time_format_rfc3339(clock_now_ms(), now);
        http_resp_json(resp, 200,
                       json_pack("{s:s,s:I}", "now", now, "advanced_ms", (json_int_t)adv));
    } else {
        own_error(resp, 404, "not_found",
                  "simulator endpoints: /_sim/faults, /_sim/requests, /_sim/state, "
                  "/_sim/effects, /_test/clock (with --fake-clock)");
    }
}

/* The one HTTP handler: every request of the simulator. */
static void sim_http(struct http_request *req, struct http_response *resp, void *ctx)
{
    struct sim *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (str_has_prefix(req->path, "/_sim/") || str_has_prefix(req->path, "/_test/")) {
        admin(s, req, resp);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    uint64_t seq = ++s->seq;
    bool dummy;
    const struct sim_route *r = find_route(s, req, &dummy);
    (void)dummy;
    bool list = r && (r->flags & SIM_ROUTE_LIST) && page_find(s, req->path);
    struct sim_fault_rule f;
    bool faulted = sim_fault_pick(&s->faults, &s->fault_rng, req->method, req->path, &f);
    if (faulted && f.action == SIM_FAULT_REPEAT_PAGE && !list)
        faulted = false; /* nothing to repeat: the rule did fire, the answer is normal */
    if (faulted && (f.action == SIM_FAULT_LATENCY || f.action == SIM_FAULT_TIMEOUT)) {
        hold(s, req, &f, seq);
        pthread_mutex_unlock(&s->mu);
        return;
    }
    json_t *e = log_entry(req, seq);
    if (faulted)
        apply_fault(s, req, resp, &f);
    else
        process(s, req, resp);
    record(s, e, resp, faulted ? &f : NULL);
    pthread_mutex_unlock(&s->mu);
}

static const struct http_route sim_routes[] = {
    {"GET", "/*", sim_http, 0, 0},    {"POST", "/*", sim_http, 0, 0},
    {"PUT", "/*", sim_http, 0, 0},    {"PATCH", "/*", sim_http, 0, 0},
    {"DELETE", "/*", sim_http, 0, 0},
};

const struct http_route *sim_http_routes(size_t *n)
{
    *n = sizeof(sim_routes) / sizeof(sim_routes[0]);
    return sim_routes;
}

enum ab_rc sim_add_faults(struct sim *s, const char *text, size_t len, char *err, size_t errlen)
{
    struct sim_fault_rule *rules;
    size_t n;
    enum ab_rc rc = sim_fault_parse(text, len, &rules, &n, err, errlen);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->mu);
    rc = sim_fault_set_add(&s->faults, rules, n);
    pthread_mutex_unlock(&s->mu);
    free(rules);
    if (rc)
        snprintf(err, errlen, "at most %d fault rules", SIM_FAULT_RULES_MAX);
    return rc;
}

/* ---- life cycle --------------------------------------------------------------------------- */

static const char framework_ddl[] =
    "CREATE TABLE IF NOT EXISTS _sim_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _sim_effects(name TEXT PRIMARY KEY, count INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _sim_idempotency(key TEXT PRIMARY KEY, method TEXT NOT NULL,"
    " path TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);";

enum ab_rc sim_new(const struct sim_provider *p, const struct sim_opts *opts, struct sim **out,
                   char *err, size_t errlen)
{
    enum ab_rc crc = configure(p, opts, err, errlen);
    if (crc)
        return crc;
    struct sim *s = xcalloc(1, sizeof(*s));
    s->p = p;
    s->opts = *opts;
    if (!s->opts.token)
        s->opts.token = p->default_token;
    if (!s->opts.user)
        s->opts.user = p->default_user;
    if (!s->opts.password)
        s->opts.password = p->default_password;
    if (s->opts.rate_limit < 0)
        s->opts.rate_limit = p->default_rate_limit;
    if (!s->opts.assets)
        s->opts.assets = p->default_assets;
    s->rate = s->opts.rate_limit;
    s->bucket_max = s->opts.burst ? s->opts.burst : fmax(10.0, 2.0 * s->rate);
    s->bucket = s->bucket_max;
    s->bucket_ms = clock_now_ms();
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    sim_prng_seed(&s->fault_rng, s->opts.seed ^ 0x5eed5eed5eed5eedULL);

    const char *path = opts->state_path ? opts->state_path : ":memory:";
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open simulator state '%s': %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sim_free(s);
        return AB_EIO;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sim_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;") ||
        sim_exec(s, framework_ddl) || sim_exec(s, p->ddl)) {
        snprintf(err, errlen, "cannot create the simulator state in '%s': %s", path,
                 sqlite3_errmsg(s->db));
        sim_free(s);
        return AB_EIO;
    }
    char v[128];
    if (meta_get(s, "provider", v, sizeof(v)) && strcmp(v, p->name) != 0) {
        snprintf(err, errlen, "state file '%s' belongs to the '%s' simulator, not '%s'", path, v,
                 p->name);
        sim_free(s);
        return AB_ECONFLICT;
    }
    if (meta_get(s, "stamp", v, sizeof(v))) {
        int64_t st;
        if (str_to_i64(v, &st) == AB_OK)
            s->stamp = st;
    }
    if (!meta_get(s, "seeded", v, sizeof(v))) {
        struct sim_prng rng;
        sim_prng_seed(&rng, s->opts.seed);
        enum ab_rc rc = sim_exec(s, "BEGIN");
        for (size_t i = 0; !rc && p->effects[i]; i++)
            sim_effect(s, p->effects[i], 0);
        if (!rc)
            rc = p->seed(s, &rng, s->opts.assets);
        if (!rc) {
            sqlite3_stmt *st;
            if (sqlite3_prepare_v2(s->db,
                                   "INSERT OR REPLACE INTO _sim_meta(key, value) VALUES "
                                   "('provider', ?), ('seeded', '1')",
                                   -1, &st, NULL) == SQLITE_OK) {
                sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
                step_or_log(st);
            }
            meta_set_i64(s, "seed", (int64_t)s->opts.seed);
            rc = sim_exec(s, "COMMIT");
        }
        if (rc) {
            snprintf(err, errlen, "cannot seed the simulator state: %s", sqlite3_errmsg(s->db));
            sim_free(s);
            return AB_EINTERNAL;
        }
    }
    if (pthread_create(&s->timer, NULL, timer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the simulator timer thread: %s", strerror(errno));
        sim_free(s);
        return AB_EINTERNAL;
    }
    s->timer_started = true;
    *out = s;
    return AB_OK;
}

void sim_free(struct sim *s)
{
    if (!s)
        return;
    sim_release_held(s);
    ring_clear(s);
    for (size_t i = 0; i < PAGES_MAX; i++) {
        free(s->pages[i].path);
        free(s->pages[i].body);
    }
    sim_fault_set_cleanup(&s->faults);
    if (s->db)
        sqlite3_close(s->db);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
