/* SPDX-License-Identifier: Apache-2.0
 *
 * suggestions.c: the /v1 routes for calibration interval suggestions made
 * by the rules engine (docs/rules.md, "Interval suggestions"). Every
 * handler works on the caller's tenant only: another tenant's suggestion
 * answers 404 exactly as a missing one. Approving applies the suggested
 * interval to the asset's hub calibration record; both decisions are
 * audited with the API key id as the actor (store/suggestions.h).
 *
 *   GET  /v1/suggestions                 list (?state=open|approved|rejected|superseded), paged
 *   GET  /v1/suggestions/{id}            one
 *   POST /v1/suggestions/{id}:approve    apply the suggested interval
 *   POST /v1/suggestions/{id}:reject     close without change
 */
#include <jansson.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/api_util.h"
#include "http/json.h"
#include "store/suggestions.h"

static const char *tenant_of(const struct http_request *req)
{
    return api_principal(req)->tenant;
}

static json_t *stored_json(const char *text)
{
    json_error_t je;
    json_t *j = text ? json_loads(text, 0, &je) : NULL;
    if (!j && text)
        j = json_string(text);
    return j ? j : json_null();
}

static json_t *suggestion_json(const struct store_suggestion *s)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:o, s:o, s:o}", "id", s->id,
                          "asset_ref", s->asset_ref, "kind", s->kind, "state", s->state,
                          "current_interval_days", (json_int_t)s->current_days,
                          "suggested_interval_days", (json_int_t)s->suggested_days, "direction",
                          s->direction, "reason", s->reason, "evidence", stored_json(s->evidence),
                          "basis_at", api_time(s->basis_at), "created_at", api_time(s->created_at));
    json_object_set_new(o, "decided_at",
                        s->decided_at == INT64_MIN ? json_null() : api_time(s->decided_at));
    json_object_set_new(o, "decided_by", s->decided_by ? json_string(s->decided_by) : json_null());
    return o;
}

static void suggestions_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    size_t limit;
    const char *cursor;
    if (!api_limit(req, resp, &limit) || !api_cursor_decode(req, resp, &cursor))
        return;
    const char *state = http_query(req, "state");
    if (state && !*state)
        state = NULL;
    if (state && strcmp(state, "open") != 0 && strcmp(state, "approved") != 0 &&
        strcmp(state, "rejected") != 0 && strcmp(state, "superseded") != 0) {
        http_resp_error(req, resp, 422, "validation", "state",
                        "state must be open, approved, rejected or superseded");
        return;
    }
    struct store_read *r;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    struct store_suggestion *v;
    size_t n;
    bool more;
    rc = store_suggestions_list(r, tenant_of(req), state, cursor, limit, req->arena, &v, &n, &more);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, suggestion_json(&v[i]));
    const char *next = more && n ? api_cursor_encode(req->arena, v[n - 1].id) : NULL;
    http_resp_json(resp, 200, api_page(items, next));
}

static void suggestion_get(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const char *id = http_param(req, "id");
    struct store_read *r;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    struct store_suggestion s;
    rc = store_suggestion_get(r, tenant_of(req), id, req->arena, &s);
    store_read_end(r);
    if (rc == AB_ENOTFOUND)
        http_resp_error(req, resp, 404, "not_found", "id",
                        arena_printf(req->arena, "no suggestion '%s'", id));
    else if (rc)
        api_error_rc(req, resp, rc, NULL, NULL);
    else
        http_resp_json(resp, 200, suggestion_json(&s));
}

struct decide_job {
    const char *tenant, *id, *actor;
    bool approve;
    struct arena *a;
    struct store_suggestion out;
    enum store_decide_refusal why;
};

static enum ab_rc decide_run(struct store_tx *tx, void *arg)
{
    struct decide_job *j = arg;
    return store_suggestion_decide(tx, j->tenant, j->id, j->approve, j->actor, j->a, &j->out,
                                   &j->why);
}

static void decide(struct http_request *req, struct http_response *resp, void *ctxp, bool approve)
{
    const struct api_ctx *ctx = ctxp;
    struct decide_job j;
    memset(&j, 0, sizeof(j));
    j.tenant = tenant_of(req);
    j.id = http_param(req, "id");
    j.actor = api_principal(req)->key_id;
    j.approve = approve;
    j.a = req->arena;
    enum ab_rc rc = store_write(ctx->store, decide_run, &j, req->correlation_id);
    if (rc == AB_OK) {
        http_resp_json(resp, 200, suggestion_json(&j.out));
    } else if (j.why == STORE_DECIDE_NOT_FOUND) {
        http_resp_error(req, resp, 404, "not_found", "id",
                        arena_printf(req->arena, "no suggestion '%s'", j.id));
    } else if (j.why == STORE_DECIDE_NOT_OPEN) {
        http_resp_error(req, resp, 409, "conflict", "state",
                        arena_printf(req->arena, "the suggestion is %s already",
                                     j.out.state ? j.out.state : "decided"));
    } else if (j.why == STORE_DECIDE_NO_RECORD) {
        http_resp_error(req, resp, 409, "conflict", "asset_ref",
                        "the asset has no hub calibration record to apply the interval to:"
                        " record a calibration in the hub first, or change the interval in"
                        " the calibration system of record");
    } else {
        api_error_rc(req, resp, rc, NULL, "cannot decide the suggestion");
    }
}

static void suggestion_approve(struct http_request *req, struct http_response *resp, void *ctxp)
{
    decide(req, resp, ctxp, true);
}

static void suggestion_reject(struct http_request *req, struct http_response *resp, void *ctxp)
{
    decide(req, resp, ctxp, false);
}

const struct http_route api_suggestions_routes[] = {
    {"POST", "/v1/suggestions/{id}:approve", suggestion_approve, 4096, SCOPE_WRITE},
    {"POST", "/v1/suggestions/{id}:reject", suggestion_reject, 4096, SCOPE_WRITE},
    {"GET", "/v1/suggestions", suggestions_list, 0, SCOPE_READ},
    {"GET", "/v1/suggestions/{id}", suggestion_get, 0, SCOPE_READ},
    {NULL, NULL, NULL, 0, 0},
};
