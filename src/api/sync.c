/* SPDX-License-Identifier: Apache-2.0
 *
 * sync.c: the /v1 routes of the sync engine.
 *
 *   GET  /v1/providers               read   per provider of the caller's tenant: type,
 *                                           connector, breaker, rate limit, queue
 *                                           depth, dead letters, lag, modes
 *   GET  /v1/sync-state              read   sync_state rows of the tenant
 *   GET  /v1/sync-logs               read   sync log, newest first (?provider=, paged)
 *   GET  /v1/outbox?state=           read   outbox items in a state (default
 *                                           pending), oldest first, paged
 *   GET  /v1/dead-letters            read   dead letters with class, error, response
 *                                           and owner action (?provider=, ?entity=,
 *                                           ?error_class=), paged
 *   POST /v1/dead-letters:replay     admin  back to pending: one by {"id"}, or by
 *                                           {"provider","entity","error_class",
 *                                           "from","to"}; audited; {"replayed": N}
 *
 * Every query is scoped to api_principal(req)->tenant: another tenant's
 * dead letter id replays nothing and answers 404.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/api_util.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "store/rules.h"
#include "http/json.h"
#include "store/outbox.h"
#include "store/synclog.h"
#include "sync/engine.h"

#define STATE_ROWS_MAX 1000

static const char *tenant_of(const struct http_request *req)
{
    return api_principal(req)->tenant;
}

/* A query parameter; an empty value counts as absent. */
static const char *query(const struct http_request *req, const char *name)
{
    const char *v = http_query(req, name);
    return v && *v ? v : NULL;
}

/* The cursor as an id (0 when absent); false after answering 422. */
static bool cursor_id(struct http_request *req, struct http_response *resp, int64_t *id)
{
    const char *text = NULL;
    *id = 0;
    if (!api_cursor_decode(req, resp, &text))
        return false;
    if (text && *text && (str_to_i64(text, id) || *id <= 0)) {
        http_resp_error(req, resp, 422, "validation", "cursor", "the cursor is not valid");
        return false;
    }
    return true;
}

static const char *id_cursor(struct http_request *req, int64_t id)
{
    return api_cursor_encode(req->arena, arena_printf(req->arena, "%lld", (long long)id));
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* ---- GET /v1/providers ------------------------------------------------------------ */

static json_t *modes_json(const struct config_provider *pc)
{
    json_t *m = json_object();
    for (int d = 0; d < DOMAIN_COUNT; d++)
        json_object_set_new(m, config_domain_names[d], json_string(config_mode_names[pc->mode[d]]));
    return m;
}

static void providers_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const struct config_tenant *t = config_tenant(ctx->cfg, tenant_of(req));
    json_t *items = json_array();
    struct store_read *r = NULL;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (rc) {
        json_decref(items);
        api_error_rc(req, resp, rc, NULL, "cannot read the store");
        return;
    }
    int64_t now = clock_now_ms();
    for (size_t i = 0; t && i < t->n_providers && !rc; i++) {
        const struct config_provider *pc = &t->providers[i];
        struct store_outbox_counts c;
        rc = store_outbox_counts(r, t->name, pc->name, &c);
        if (!rc && config_provider_for_item(t, pc->type) == pc && strcmp(pc->type, pc->name) != 0) {
            /* items queued under the type name (work orders) are this provider's too */
            struct store_outbox_counts ca;
            rc = store_outbox_counts(r, t->name, pc->type, &ca);
            c.pending += ca.pending;
            c.in_flight += ca.in_flight;
            c.done += ca.done;
            c.dead += ca.dead;
            c.suppressed += ca.suppressed;
            c.refused += ca.refused;
        }
        if (rc)
            break;
        /* lag: now - the oldest last_success_at of its pulled entities */
        json_t *lag = json_null();
        int64_t oldest = INT64_MAX;
        bool never = false;
        for (size_t k = 0; k < pc->n_entities && !rc; k++) {
            struct store_sync_state st;
            rc = store_sync_state_get(r, t->name, pc->name, pc->entities[k].name, req->arena, &st);
            if (!rc && st.last_success_at == INT64_MIN)
                never = true;
            else if (!rc && st.last_success_at < oldest)
                oldest = st.last_success_at;
        }
        if (rc)
            break;
        if (pc->n_entities && !never && oldest != INT64_MAX) {
            json_decref(lag);
            lag = json_integer((now - oldest) / 1000);
        }
        struct sync_provider_status ps;
        bool running = sync_engine_provider_status(ctx->sync, t->name, pc->name, &ps);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(pc->name));
        json_object_set_new(o, "type", json_string(pc->type));
        json_object_set_new(o, "connector", json_boolean(running));
        if (running) {
            json_object_set_new(
                o, "breaker",
                json_pack("{s:s, s:i, s:I, s:o}", "state", breaker_state_name(ps.breaker.state),
                          "consecutive_failures", ps.breaker.consecutive_failures, "trips",
                          (json_int_t)ps.breaker.trips, "retry_at", api_time(ps.breaker.retry_at)));
            json_object_set_new(o, "rate_limit",
                                json_pack("{s:f, s:f, s:f, s:o, s:I}", "rate", ps.ratelimit.rate,
                                          "configured", ps.ratelimit.configured, "tokens",
                                          ps.ratelimit.tokens, "paused_until",
                                          api_time(ps.ratelimit.paused_until), "throttled",
                                          (json_int_t)ps.ratelimit.throttled));
        } else {
            json_object_set_new(o, "breaker", json_null());
            json_object_set_new(o, "rate_limit", json_null());
        }
        json_object_set_new(o, "queue_depth", json_integer(c.pending + c.in_flight));
        json_object_set_new(o, "suppressed", json_integer(c.suppressed));
        json_object_set_new(o, "refused", json_integer(c.refused));
        json_t *sev = json_object();
        for (size_t k = 0; k < pc->n_entities; k++)
            json_object_set_new(sev, pc->entities[k].name,
                                json_string(pc->entities[k].severity ? pc->entities[k].severity
                                                                     : "plant_critical"));
        json_object_set_new(o, "severity", sev);
        if (running)
            json_object_set_new(o, "deliveries",
                                json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "delivered",
                                          (json_int_t)ps.counters.delivered, "retried",
                                          (json_int_t)ps.counters.retried, "dead",
                                          (json_int_t)ps.counters.dead, "suppressed",
                                          (json_int_t)ps.counters.suppressed, "refused",
                                          (json_int_t)ps.counters.refused, "deferred",
                                          (json_int_t)ps.counters.deferred));
        json_object_set_new(o, "dead_letters", json_integer(c.dead));
        json_object_set_new(o, "lag_seconds", lag);
        json_object_set_new(o, "modes", modes_json(pc));
        json_array_append_new(items, o);
    }
    store_read_end(r);
    if (rc) {
        json_decref(items);
        api_error_rc(req, resp, rc, NULL, "cannot read the store");
        return;
    }
    http_resp_json(resp, 200, api_page(items, NULL));
}

/* ---- metrics -------------------------------------------------------------------------- */

enum ab_rc api_sync_metrics(const struct api_ctx *ctx, struct buf *out)
{
    static const char *const help = "# TYPE assetbridge_sync_deliveries_total counter\n"
                                    "# TYPE assetbridge_sync_records_pulled_total counter\n"
                                    "# TYPE assetbridge_sync_queue_depth gauge\n"
                                    "# TYPE assetbridge_sync_dead_letters gauge\n"
                                    "# TYPE assetbridge_sync_lag_seconds gauge\n"
                                    "# TYPE assetbridge_sync_breaker_open gauge\n"
                                    "# TYPE assetbridge_sync_lagging gauge\n"
                                    "# TYPE assetbridge_work_orders_past_sla gauge\n"
                                    "# TYPE assetbridge_rules_open_requests gauge\n";
    enum ab_rc rc = buf_append_str(out, help);
    struct store_read *r = NULL;
    if (!rc)
        rc = store_read_begin(ctx->store, &r);
    if (rc)
        return rc;
    int64_t now = clock_now_ms();
    struct arena *a = arena_new(0, 0);
    for (size_t t = 0; !rc && t < ctx->cfg->n_tenants; t++) {
        const struct config_tenant *ten = &ctx->cfg->tenants[t];
        /* the rules' watch: work orders past their SLA, requests still open */
        struct store_rules_counts rcnt;
        rc = store_rules_counts(r, ten->name, now, &rcnt);
        if (!rc)
            rc = buf_printf(out,
                            "assetbridge_work_orders_past_sla{tenant=\"%s\"} %lld\n"
                            "assetbridge_rules_open_requests{tenant=\"%s\"} %lld\n",
                            ten->name, (long long)rcnt.past_sla, ten->name,
                            (long long)rcnt.open_requests);
        for (size_t i = 0; !rc && i < ten->n_providers; i++) {
            const struct config_provider *pc = &ten->providers[i];
            const char *lbl = arena_printf(a, "tenant=\"%s\",provider=\"%s\"", ten->name, pc->name);
            if (config_rules_sync_lag(ten, pc->name) > 0) {
                struct store_rule_state lag;
                bool found = false;
                rc = store_rule_state_read(r, ten->name, "sync_lag", pc->name, "sync_lag", a, &lag,
                                           &found);
                if (!rc)
                    rc = buf_printf(out, "assetbridge_sync_lagging{%s} %d\n", lbl,
                                    found && strcmp(lag.state, "lagging") == 0 ? 1 : 0);
            }
            struct store_outbox_counts c = {0};
            if (!rc)
                rc = store_outbox_counts(r, ten->name, pc->name, &c);
            if (!rc)
                rc = buf_printf(out,
                                "assetbridge_sync_queue_depth{%s} %lld\n"
                                "assetbridge_sync_dead_letters{%s} %lld\n",
                                lbl, (long long)c.pending + (long long)c.in_flight, lbl,
                                (long long)c.dead);
            struct sync_provider_status ps;
            if (!rc && sync_engine_provider_status(ctx->sync, ten->name, pc->name, &ps)) {
                const struct {
                    const char *outcome;
                    int64_t n;
                } o[] = {
                    {"delivered", ps.counters.delivered}, {"retried", ps.counters.retried},
                    {"dead", ps.counters.dead},           {"suppressed", ps.counters.suppressed},
                    {"refused", ps.counters.refused},     {"deferred", ps.counters.deferred}};
                for (size_t k = 0; !rc && k < sizeof(o) / sizeof(o[0]); k++)
                    rc = buf_printf(out,
                                    "assetbridge_sync_deliveries_total{%s,outcome=\"%s\"} %lld\n",
                                    lbl, o[k].outcome, (long long)o[k].n);
                if (!rc)
                    rc = buf_printf(out,
                                    "assetbridge_sync_records_pulled_total{%s} %lld\n"
                                    "assetbridge_sync_breaker_open{%s} %d\n",
                                    lbl, (long long)ps.counters.pulled, lbl,
                                    ps.breaker.state == BREAKER_OPEN ? 1 : 0);
            }
            for (size_t k = 0; !rc && k < pc->n_entities; k++) {
                struct store_sync_state st;
                rc = store_sync_state_get(r, ten->name, pc->name, pc->entities[k].name, a, &st);
                if (!rc && st.last_success_at != INT64_MIN)
                    rc = buf_printf(out, "assetbridge_sync_lag_seconds{%s,entity=\"%s\"} %.3f\n",
                                    lbl, pc->entities[k].name,
                                    (double)(now - st.last_success_at) / 1000.0);
            }
        }
    }
    store_read_end(r);
    arena_free(a);
    return rc;
}

/* ---- GET /v1/sync-state -------------------------------------------------------------- */

static void sync_state_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    struct store_read *r = NULL;
    struct store_sync_state *rows = NULL;
    size_t n = 0;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (!rc) {
        rc = store_sync_state_list(r, tenant_of(req), STATE_ROWS_MAX, req->arena, &rows, &n);
        store_read_end(r);
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot read the store");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_sync_state *s = &rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "provider", json_string(s->provider));
        json_object_set_new(o, "entity", json_string(s->entity));
        json_object_set_new(o, "watermark", str_or_null(s->watermark));
        json_object_set_new(o, "page_token", str_or_null(s->page_token));
        json_object_set_new(o, "last_success_at", api_time(s->last_success_at));
        json_object_set_new(o, "last_error", str_or_null(s->last_error));
        json_object_set_new(o, "last_error_at", api_time(s->last_error_at));
        json_object_set_new(o, "pulled", json_integer(s->pulled));
        json_object_set_new(o, "pushed", json_integer(s->pushed));
        json_object_set_new(o, "failed", json_integer(s->failed));
        json_array_append_new(items, o);
    }
    http_resp_json(resp, 200, api_page(items, NULL));
}

/* ---- GET /v1/sync-logs ---------------------------------------------------------------- */

static void sync_logs_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    size_t limit;
    int64_t before = 0;
    if (!api_limit(req, resp, &limit) || !cursor_id(req, resp, &before))
        return;
    struct store_read *r = NULL;
    struct store_sync_log *rows = NULL;
    size_t n = 0;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (!rc) {
        rc = store_sync_log_list(r, tenant_of(req), query(req, "provider"), before, limit,
                                 req->arena, &rows, &n);
        store_read_end(r);
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot read the store");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_sync_log *l = &rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(l->id));
        json_object_set_new(o, "provider", json_string(l->provider));
        json_object_set_new(o, "entity", json_string(l->entity));
        json_object_set_new(o, "native_id", str_or_null(l->native_id));
        json_object_set_new(o, "level", json_string(l->level));
        json_object_set_new(o, "message", json_string(l->message));
        json_object_set_new(o, "correlation_id", str_or_null(l->correlation_id));
        json_object_set_new(o, "at", api_time(l->at));
        json_array_append_new(items, o);
    }
    http_resp_json(resp, 200, api_page(items, n == limit ? id_cursor(req, rows[n - 1].id) : NULL));
}

/* ---- outbox and dead letters ------------------------------------------------------------ */

static json_t *outbox_json(const struct store_outbox_row *o)
{
    const struct store_outbox_item *it = &o->item;
    json_t *j = json_object();
    json_object_set_new(j, "id", json_integer(it->id));
    json_object_set_new(j, "provider", json_string(it->provider));
    json_object_set_new(j, "entity", json_string(it->entity));
    json_object_set_new(j, "action", json_string(it->action));
    json_object_set_new(j, "subject", str_or_null(it->subject));
    json_object_set_new(j, "state", json_string(store_outbox_state_name(it->state)));
    json_object_set_new(j, "priority", json_integer(it->priority));
    json_object_set_new(j, "attempts", json_integer(it->attempts));
    json_object_set_new(j, "next_attempt_at", api_time(it->next_attempt_at));
    json_object_set_new(j, "idempotency_key", json_string(it->idempotency_key));
    json_object_set_new(j, "correlation_id", str_or_null(it->correlation_id));
    json_object_set_new(j, "error_class", str_or_null(o->error_class));
    json_object_set_new(j, "last_error", str_or_null(it->last_error));
    json_object_set_new(j, "response", str_or_null(o->last_response));
    json_object_set_new(j, "owner_action", str_or_null(o->owner_action));
    json_object_set_new(j, "dead_at", api_time(o->dead_at));
    json_object_set_new(j, "created_at", api_time(it->created_at));
    json_object_set_new(j, "updated_at", api_time(it->updated_at));
    json_error_t jerr;
    json_t *payload = it->payload ? json_loads(it->payload, JSON_DECODE_ANY, &jerr) : NULL;
    json_object_set_new(j, "payload", payload ? payload : json_null());
    return j;
}

static void answer_rows(struct http_request *req, struct http_response *resp,
                        const struct store_outbox_row *rows, size_t n, size_t limit)
{
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, outbox_json(&rows[i]));
    http_resp_json(resp, 200,
                   api_page(items, n == limit ? id_cursor(req, rows[n - 1].item.id) : NULL));
}

static void outbox_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const char *sv = query(req, "state");
    enum store_outbox_state state = OUTBOX_PENDING;
    if (sv) {
        bool ok = false;
        for (int s = OUTBOX_PENDING; s <= OUTBOX_REFUSED && !ok; s++)
            if (strcmp(sv, store_outbox_state_name((enum store_outbox_state)s)) == 0) {
                state = (enum store_outbox_state)s;
                ok = true;
            }
        if (!ok) {
            http_resp_error(
                req, resp, 422, "validation", "state",
                "state must be one of pending, in_flight, done, dead, suppressed, refused");
            return;
        }
    }
    size_t limit;
    int64_t after = 0;
    if (!api_limit(req, resp, &limit) || !cursor_id(req, resp, &after))
        return;
    struct store_read *r = NULL;
    struct store_outbox_row *rows = NULL;
    size_t n = 0;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (!rc) {
        rc = store_outbox_rows(r, tenant_of(req), state, after, limit, req->arena, &rows, &n);
        store_read_end(r);
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot read the store");
        return;
    }
    answer_rows(req, resp, rows, n, limit);
}

/* ?from= / ?to= or body times: RFC 3339; false after answering 422. */
static bool parse_time(struct http_request *req, struct http_response *resp, const char *field,
                       const char *v, int64_t *out)
{
    if (v && time_parse_rfc3339(v, out)) {
        http_resp_error(req, resp, 422, "validation", field, "must be an RFC 3339 time");
        return false;
    }
    return true;
}

static void dead_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    size_t limit;
    int64_t after = 0;
    if (!api_limit(req, resp, &limit) || !cursor_id(req, resp, &after))
        return;
    struct store_outbox_filter f = {tenant_of(req),
                                    query(req, "provider"),
                                    query(req, "entity"),
                                    query(req, "error_class"),
                                    INT64_MIN,
                                    INT64_MAX};
    if (!parse_time(req, resp, "from", query(req, "from"), &f.from) ||
        !parse_time(req, resp, "to", query(req, "to"), &f.to))
        return;
    struct store_read *r = NULL;
    struct store_outbox_row *rows = NULL;
    size_t n = 0;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (!rc) {
        rc = store_outbox_dead_list(r, &f, after, limit, req->arena, &rows, &n);
        store_read_end(r);
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot read the store");
        return;
    }
    answer_rows(req, resp, rows, n, limit);
}

struct replay_job {
    struct store_outbox_filter f;
    int64_t id; /* > 0: this one only */
    const char *actor;
    int64_t n;
};

static enum ab_rc replay_fn(struct store_tx *tx, void *arg)
{
    struct replay_job *j = arg;
    if (j->id > 0)
        return store_outbox_replay_id(tx, j->f.tenant, j->id, j->actor, &j->n);
    return store_outbox_replay(tx, &j->f, j->actor, &j->n);
}

/* An optional string member; false after answering 400. */
static bool body_str(struct http_request *req, struct http_response *resp, json_t *body,
                     const char *key, const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        http_resp_error(req, resp, 400, "validation", key, "must be a string");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static void dead_replay(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    json_t *body = api_body_object(req, resp);
    if (!body)
        return;
    static const char *const known[] = {"id",   "provider", "entity", "error_class",
                                        "from", "to",       NULL};
    const char *key;
    json_t *val;
    json_object_foreach (body, key, val) {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(known[i], key) == 0;
        if (!ok) {
            http_resp_error(req, resp, 422, "validation", key, "unknown member");
            return;
        }
    }
    struct replay_job j = {
        {tenant_of(req), NULL, NULL, NULL, INT64_MIN, INT64_MAX}, 0, api_principal(req)->key_id, 0};
    json_t *idv = json_object_get(body, "id");
    if (idv && !json_is_null(idv)) {
        if (!json_is_integer(idv)) {
            http_resp_error(req, resp, 400, "validation", "id", "must be an integer");
            return;
        }
        j.id = json_integer_value(idv);
        if (j.id <= 0) {
            http_resp_error(req, resp, 422, "validation", "id", "must be > 0");
            return;
        }
        if (json_object_size(body) > 1) {
            http_resp_error(req, resp, 422, "validation", "id",
                            "give either id or a filter, not both");
            return;
        }
    }
    const char *from = NULL, *to = NULL;
    if (!body_str(req, resp, body, "provider", &j.f.provider) ||
        !body_str(req, resp, body, "entity", &j.f.entity) ||
        !body_str(req, resp, body, "error_class", &j.f.error_class) ||
        !body_str(req, resp, body, "from", &from) || !body_str(req, resp, body, "to", &to) ||
        !parse_time(req, resp, "from", from, &j.f.from) ||
        !parse_time(req, resp, "to", to, &j.f.to))
        return;
    enum ab_rc rc = store_write(ctx->store, replay_fn, &j, req->correlation_id);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot replay");
        return;
    }
    if (j.id > 0 && j.n == 0) {
        http_resp_error(req, resp, 404, "not_found", "id", "no dead letter with this id");
        return;
    }
    http_resp_json(resp, 200, json_pack("{s:I}", "replayed", (json_int_t)j.n));
}

const struct http_route api_sync_routes[] = {
    {"GET", "/v1/providers", providers_list, 0, SCOPE_READ},
    {"GET", "/v1/sync-state", sync_state_list, 0, SCOPE_READ},
    {"GET", "/v1/sync-logs", sync_logs_list, 0, SCOPE_READ},
    {"GET", "/v1/outbox", outbox_list, 0, SCOPE_READ},
    {"POST", "/v1/dead-letters:replay", dead_replay, 0, SCOPE_ADMIN},
    {"GET", "/v1/dead-letters", dead_list, 0, SCOPE_READ},
    {NULL, NULL, NULL, 0, 0},
};
