/* SPDX-License-Identifier: Apache-2.0
 *
 * jobs.c: the /v1 routes of jobs (sync and reconcile runs of the sync
 * engine's job runner, src/sync/jobs.h) and of provider health checks.
 *
 *   POST /v1/reconcile                 write  {"provider","entity","repair"?}: queue a
 *                                             reconciliation; 202 with the job and a
 *                                             Location header
 *   POST /v1/providers/{name}:sync     write  {"entity"?, "full"?}: queue a sync; 202
 *   GET  /v1/providers/{name}/health   read   DNS, TLS, auth and version checks of the
 *                                             provider, with a verdict (ok, degraded,
 *                                             failed)
 *   GET  /v1/jobs                      read   jobs, newest first (?state=, ?provider=,
 *                                             ?kind=, paged)
 *   GET  /v1/jobs/{id}                 read   one job: state, progress, result
 *   POST /v1/jobs/{id}:cancel          write  a queued job is cancelled at once, a
 *                                             running one stops at its next page
 *
 * Every query is scoped to api_principal(req)->tenant: another tenant's job
 * or provider answers 404. Without a running sync engine (ctx->sync NULL),
 * or for a configured provider whose connector does not run, submissions
 * and health checks answer 503 provider_unavailable.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/api_util.h"
#include "core/config.h"
#include "http/json.h"
#include "store/jobs.h"
#include "core/timefmt.h"
#include "store/rules.h"
#include "sync/health.h"
#include "sync/jobs.h"

static const char *tenant_of(const struct http_request *req)
{
    return api_principal(req)->tenant;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A JSON text stored by the runner, or null. */
static json_t *stored_json(const char *text)
{
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

static json_t *job_json(const struct store_job *j)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "kind", json_string(j->kind));
    json_object_set_new(o, "provider", json_string(j->provider));
    json_object_set_new(o, "entity", str_or_null(j->entity));
    json_object_set_new(o, "state", json_string(store_job_state_name(j->state)));
    json_object_set_new(o, "cancel_requested", json_boolean(j->cancel_requested));
    json_object_set_new(o, "params", stored_json(j->params));
    json_object_set_new(o, "progress",
                        json_pack("{s:I, s:I, s:o}", "pages", (json_int_t)j->pages, "records",
                                  (json_int_t)j->records, "total",
                                  j->total >= 0 ? json_integer(j->total) : json_null()));
    json_object_set_new(o, "result", stored_json(j->result));
    json_object_set_new(o, "error", str_or_null(j->error));
    json_object_set_new(o, "created_by", str_or_null(j->created_by));
    json_object_set_new(o, "correlation_id", str_or_null(j->correlation_id));
    json_object_set_new(o, "created_at", api_time(j->created_at));
    json_object_set_new(o, "started_at", api_time(j->started_at));
    json_object_set_new(o, "finished_at", api_time(j->finished_at));
    json_object_set_new(o, "updated_at", api_time(j->updated_at));
    return o;
}

/* ---- submissions ---------------------------------------------------------------------- */

/* Members of body other than known ones: 422 naming the first. */
static bool only_known(struct http_request *req, struct http_response *resp, json_t *body,
                       const char *const *known)
{
    const char *key;
    json_t *val;
    json_object_foreach (body, key, val) {
        bool ok = false;
        for (size_t i = 0; known[i] && !ok; i++)
            ok = strcmp(known[i], key) == 0;
        if (!ok) {
            http_resp_error(req, resp, 422, "validation", key, "unknown member");
            return false;
        }
    }
    return true;
}

/* An optional string / boolean member; false after answering 400. */
static bool member_str(struct http_request *req, struct http_response *resp, json_t *body,
                       const char *key, const char **out)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || !*json_string_value(v)) {
        http_resp_error(req, resp, 400, "validation", key, "must be a non-empty string");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

static bool member_bool(struct http_request *req, struct http_response *resp, json_t *body,
                        const char *key, bool *out)
{
    json_t *v = json_object_get(body, key);
    *out = false;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_boolean(v)) {
        http_resp_error(req, resp, 400, "validation", key, "must be true or false");
        return false;
    }
    *out = json_is_true(v);
    return true;
}

/* The tenant's configured provider name; false after answering 404. */
static const struct config_provider *configured(struct http_request *req,
                                                struct http_response *resp,
                                                const struct api_ctx *ctx, const char *name)
{
    const struct config_tenant *t = config_tenant(ctx->cfg, tenant_of(req));
    const struct config_provider *pc = t && name ? config_provider(t, name) : NULL;
    if (!pc)
        http_resp_error(
            req, resp, 404, "not_found", "provider",
            arena_printf(req->arena, "no provider named '%s' in this tenant", name ? name : ""));
    return pc;
}

static bool entity_configured(const struct config_provider *pc, const char *entity)
{
    for (size_t i = 0; i < pc->n_entities; i++)
        if (strcmp(pc->entities[i].name, entity) == 0)
            return true;
    return false;
}

static void submit(struct http_request *req, struct http_response *resp, const struct api_ctx *ctx,
                   const struct config_provider *pc, struct sync_job_request *jr)
{
    if (jr->entity && !entity_configured(pc, jr->entity)) {
        http_resp_error(req, resp, 422, "validation", "entity",
                        arena_printf(req->arena, "entity '%s' is not configured for provider '%s'",
                                     jr->entity, pc->name));
        return;
    }
    jr->tenant = tenant_of(req);
    jr->created_by = api_principal(req)->key_id;
    jr->correlation_id = req->correlation_id;
    struct store_job job;
    const char *field = NULL;
    enum ab_rc rc = sync_jobs_submit(ctx->sync, jr, req->arena, &job, &field);
    switch (rc) {
    case AB_OK: break;
    case AB_EUNAVAILABLE:
        http_resp_error(req, resp, 503, "provider_unavailable", NULL,
                        "the sync engine is not running in this service");
        return;
    case AB_ENOTFOUND:
        http_resp_error(req, resp, 503, "provider_unavailable", "provider",
                        arena_printf(req->arena,
                                     "provider '%s' has no running connector (type %s): see the "
                                     "service log",
                                     pc->name, pc->type));
        return;
    case AB_EUNSUPPORTED:
        http_resp_error(req, resp, 422, "validation", "entity",
                        arena_printf(req->arena, "the connector of provider '%s' cannot pull %s",
                                     pc->name, jr->entity ? jr->entity : "it"));
        return;
    case AB_EINVAL:
        http_resp_error(req, resp, 422, "validation", field ? field : "entity",
                        "entity is required and must be configured for the provider");
        return;
    default: api_error_rc(req, resp, rc, NULL, "cannot queue the job"); return;
    }
    if (http_resp_header(req, resp, "Location", arena_printf(req->arena, "/v1/jobs/%s", job.id)))
        return;
    http_resp_json(resp, 202, job_json(&job));
}

static void reconcile_post(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    json_t *body = api_body_object(req, resp);
    if (!body)
        return;
    static const char *const known[] = {"provider", "entity", "repair", NULL};
    struct sync_job_request jr = {.kind = "reconcile"};
    if (!only_known(req, resp, body, known) ||
        !member_str(req, resp, body, "provider", &jr.provider) ||
        !member_str(req, resp, body, "entity", &jr.entity) ||
        !member_bool(req, resp, body, "repair", &jr.repair))
        return;
    if (!jr.provider) {
        http_resp_error(req, resp, 422, "validation", "provider", "provider is required");
        return;
    }
    if (!jr.entity) {
        http_resp_error(req, resp, 422, "validation", "entity", "entity is required");
        return;
    }
    const struct config_provider *pc = configured(req, resp, ctx, jr.provider);
    if (pc)
        submit(req, resp, ctx, pc, &jr);
}

static void provider_sync(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const struct config_provider *pc = configured(req, resp, ctx, http_param(req, "name"));
    if (!pc)
        return;
    json_t *body = NULL;
    if (req->body_len) {
        body = api_body_object(req, resp);
        if (!body)
            return;
    }
    static const char *const known[] = {"entity", "full", NULL};
    struct sync_job_request jr = {.kind = "sync", .provider = pc->name};
    if (body && (!only_known(req, resp, body, known) ||
                 !member_str(req, resp, body, "entity", &jr.entity) ||
                 !member_bool(req, resp, body, "full", &jr.full)))
        return;
    submit(req, resp, ctx, pc, &jr);
}

/* ---- health ----------------------------------------------------------------------------- */

/* The rules' sync-lag watch of a provider (rules.sla.sync_lag): null when
 * unwatched, else {"state": "ok" | "lagging" | "unknown", "limit_ms",
 * "since"}. */
static json_t *sync_lag_of(const struct api_ctx *ctx, const char *tenant, const char *provider,
                           struct arena *a)
{
    const struct config_tenant *t = config_tenant(ctx->cfg, tenant);
    int64_t limit = t ? config_rules_sync_lag(t, provider) : 0;
    if (limit <= 0)
        return json_null();
    struct store_read *r = NULL;
    struct store_rule_state s = {0};
    bool found = false;
    if (store_read_begin(ctx->store, &r) == AB_OK) {
        if (store_rule_state_read(r, tenant, "sync_lag", provider, "sync_lag", a, &s, &found))
            found = false;
        store_read_end(r);
    }
    char since[TIME_RFC3339_MAX];
    if (found)
        time_format_rfc3339(s.updated_at, since);
    return json_pack("{s:s, s:I, s:s?}", "state", found ? s.state : "unknown", "limit_ms",
                     (json_int_t)limit, "since", found ? since : NULL);
}

static void provider_health(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const struct config_provider *pc = configured(req, resp, ctx, http_param(req, "name"));
    if (!pc)
        return;
    struct sync_health h;
    enum ab_rc rc = sync_provider_health(ctx->sync, tenant_of(req), pc->name, req->arena, &h);
    if (rc == AB_EUNAVAILABLE || rc == AB_ENOTFOUND) {
        http_resp_error(req, resp, 503, "provider_unavailable", "provider",
                        rc == AB_EUNAVAILABLE
                            ? "the sync engine is not running in this service"
                            : arena_printf(req->arena,
                                           "provider '%s' has no running connector (type %s)",
                                           pc->name, pc->type));
        return;
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot check the provider");
        return;
    }
    json_t *checks =
        json_pack("{s:s, s:s, s:s, s:s}", "dns", conn_check_name(h.checks.dns), "tls",
                  conn_check_name(h.checks.tls), "auth", conn_check_name(h.checks.auth), "version",
                  conn_check_name(h.checks.version));
    json_t *o = json_object();
    json_object_set_new(o, "provider", json_string(pc->name));
    json_object_set_new(o, "type", json_string(pc->type));
    json_object_set_new(o, "verdict", json_string(sync_verdict_name(h.verdict)));
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "provider_version", str_or_null(h.checks.provider_version));
    json_object_set_new(o, "message", str_or_null(h.checks.message));
    json_object_set_new(o, "error", h.rc ? json_string(ab_rc_name(h.rc)) : json_null());
    json_object_set_new(o, "sync_lag", sync_lag_of(ctx, tenant_of(req), pc->name, req->arena));
    http_resp_json(resp, 200, o);
}

/* ---- reading and cancelling jobs --------------------------------------------------------------
 */

static const char *query(const struct http_request *req, const char *name)
{
    const char *v = http_query(req, name);
    return v && *v ? v : NULL;
}

static void jobs_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    size_t limit;
    const char *cursor = NULL;
    if (!api_limit(req, resp, &limit) || !api_cursor_decode(req, resp, &cursor))
        return;
    struct store_job_filter f = {
        .tenant = tenant_of(req), .provider = query(req, "provider"), .kind = query(req, "kind")};
    const char *sv = query(req, "state");
    if (sv) {
        if (!store_job_state_parse(sv, &f.state)) {
            http_resp_error(req, resp, 422, "validation", "state",
                            "state must be one of queued, running, succeeded, failed, cancelled");
            return;
        }
        f.has_state = true;
    }
    if (f.kind && strcmp(f.kind, "sync") != 0 && strcmp(f.kind, "reconcile") != 0) {
        http_resp_error(req, resp, 422, "validation", "kind", "kind must be sync or reconcile");
        return;
    }
    struct store_read *r = NULL;
    struct store_job *rows = NULL;
    size_t n = 0;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (!rc) {
        rc = store_job_list(r, &f, cursor, limit, req->arena, &rows, &n);
        store_read_end(r);
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot read the store");
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, job_json(&rows[i]));
    http_resp_json(
        resp, 200,
        api_page(items, n == limit ? api_cursor_encode(req->arena, rows[n - 1].id) : NULL));
}

/* Read tenant's job id into *j; false after answering. */
static bool load(struct http_request *req, struct http_response *resp, const struct api_ctx *ctx,
                 const char *id, struct store_job *j)
{
    struct store_read *r = NULL;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (!rc) {
        rc = store_job_get(r, tenant_of(req), id, req->arena, j);
        store_read_end(r);
    }
    if (rc == AB_ENOTFOUND)
        http_resp_error(req, resp, 404, "not_found", "id", "no job with this id");
    else if (rc)
        api_error_rc(req, resp, rc, NULL, "cannot read the store");
    return rc == AB_OK;
}

static void job_get(struct http_request *req, struct http_response *resp, void *ctxp)
{
    struct store_job j;
    if (load(req, resp, ctxp, http_param(req, "id"), &j))
        http_resp_json(resp, 200, job_json(&j));
}

struct cancel_job {
    const char *tenant, *id;
    enum store_job_state state;
};

static enum ab_rc cancel_fn(struct store_tx *tx, void *arg)
{
    struct cancel_job *c = arg;
    return store_job_cancel(tx, c->tenant, c->id, &c->state);
}

static void job_cancel(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    struct cancel_job c = {tenant_of(req), http_param(req, "id"), JOB_FAILED};
    enum ab_rc rc = store_write(ctx->store, cancel_fn, &c, req->correlation_id);
    if (rc == AB_ENOTFOUND) {
        http_resp_error(req, resp, 404, "not_found", "id", "no job with this id");
        return;
    }
    if (rc == AB_ECONFLICT) {
        http_resp_error(req, resp, 409, "conflict", "state",
                        arena_printf(req->arena, "the job has ended already (%s)",
                                     store_job_state_name(c.state)));
        return;
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, "cannot cancel the job");
        return;
    }
    sync_jobs_notify(ctx->sync);
    struct store_job j;
    if (load(req, resp, ctx, c.id, &j))
        http_resp_json(resp, 200, job_json(&j));
}

const struct http_route api_jobs_routes[] = {
    {"POST", "/v1/reconcile", reconcile_post, 0, SCOPE_WRITE},
    {"POST", "/v1/providers/{name}:sync", provider_sync, 0, SCOPE_WRITE},
    {"GET", "/v1/providers/{name}/health", provider_health, 0, SCOPE_READ},
    {"POST", "/v1/jobs/{id}:cancel", job_cancel, 0, SCOPE_WRITE},
    {"GET", "/v1/jobs", jobs_list, 0, SCOPE_READ},
    {"GET", "/v1/jobs/{id}", job_get, 0, SCOPE_READ},
    {NULL, NULL, NULL, 0, 0},
};
