/* SPDX-License-Identifier: Apache-2.0
 *
 * workorders.c: the /v1 routes for work orders, calibration, maintenance
 * plans and status mappings.
 *   GET    /v1/work-orders                 search (asset_ref, status, type, provider)
 *   POST   /v1/work-orders                 create (draft, or open when asked)
 *   GET    /v1/work-orders/{id}            one work order (ETag = revision)
 *   PATCH  /v1/work-orders/{id}            merge of the editable fields
 *   POST   /v1/work-orders/{id}:VERB       assign, comment, start, hold, complete,
 *                                          close, reopen, cancel
 *   POST   /v1/work-orders/{id}/attachments  a file as base64 in JSON
 *   GET    /v1/assets/{asset_ref}/calibration, /plans; GET /v1/calibrations
 *   POST   /v1/assets/{asset_ref}/calibration:record
 *   GET    /v1/status-mappings; PUT/DELETE /v1/status-mappings/{provider}/{kind}/{value}
 * Every query and write is confined to the caller's tenant; lifecycle rules
 * come from model/work_order.h, storage from store/workorders.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/api_util.h"
#include "core/clock.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "http/json.h"
#include "model/attachment.h"
#include "model/calibration.h"
#include "model/status_map.h"
#include "model/work_order.h"
#include "store/assets.h"
#include "store/workorders.h"

/* ---- small helpers ------------------------------------------------------------- */

static const char *tenant_of(const struct http_request *req)
{
    return api_principal(req)->tenant;
}

static const char *actor_of(const struct http_request *req)
{
    return api_principal(req)->key_id;
}

static void set_etag(struct http_request *req, struct http_response *resp, int64_t revision)
{
    char tag[32];
    snprintf(tag, sizeof(tag), "\"%lld\"", (long long)revision);
    if (http_resp_header(req, resp, "ETag", tag))
        resp->status = 500;
}

/* If-Match: "N", W/"N", N or * (any). *rev = 0 when absent or *. False after
 * answering 412 for a value that cannot match any revision. */
static bool if_match(struct http_request *req, struct http_response *resp, int64_t *rev)
{
    const char *h = http_header(req, "If-Match");
    *rev = 0;
    if (!h || strcmp(h, "*") == 0)
        return true;
    if (str_has_prefix(h, "W/"))
        h += 2;
    size_t n = strlen(h);
    char buf[32];
    if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
        h++;
        n -= 2;
    }
    int64_t v = 0;
    if (n == 0 || n >= sizeof(buf)) {
        v = -1;
    } else {
        memcpy(buf, h, n);
        buf[n] = '\0';
        if (str_to_i64(buf, &v) || v < 1)
            v = -1;
    }
    if (v < 0) {
        http_resp_error(req, resp, 412, "conflict", "If-Match",
                        "If-Match must be a revision as the ETag gives it");
        return false;
    }
    *rev = v;
    return true;
}

/* Answer a model error, or 409 with "allowed":[...] listing the statuses a
 * work order in status `from` may move to. */
static void conflict_allowed(struct http_request *req, struct http_response *resp, const char *from,
                             const char *message)
{
    http_resp_error(req, resp, 409, "conflict", "common_status", message);
    enum model_wo_status st;
    json_t *allowed = json_array();
    if (from && model_wo_status_parse(from, &st)) {
        enum model_wo_status next[MODEL_WO_STATUS_COUNT];
        size_t n = model_wo_allowed_next(st, next, MODEL_WO_STATUS_COUNT);
        for (size_t i = 0; i < n && i < MODEL_WO_STATUS_COUNT; i++)
            json_array_append_new(allowed, json_string(model_wo_status_name(next[i])));
    }
    json_error_t je;
    json_t *body = json_loadb(buf_str(&resp->body), resp->body.len, 0, &je);
    json_t *err = json_object_get(body, "error");
    if (!err) {
        json_decref(body);
        json_decref(allowed);
        return;
    }
    json_object_set_new(err, "allowed", allowed);
    http_resp_json(resp, 409, body);
}

static bool read_begin(struct http_request *req, struct http_response *resp,
                       const struct api_ctx *ctx, struct store_read **r)
{
    enum ab_rc rc = store_read_begin(ctx->store, r);
    if (rc)
        api_error_rc(req, resp, rc, NULL, NULL);
    return rc == AB_OK;
}

/* An optional RFC 3339 query parameter; false after answering 422. */
static bool query_time(struct http_request *req, struct http_response *resp, const char *name,
                       int64_t *out)
{
    const char *v = http_query(req, name);
    *out = INT64_MIN;
    if (!v)
        return true;
    if (time_parse_rfc3339(v, out)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "%s must be an RFC 3339 time with an offset", name);
        http_resp_error(req, resp, 422, "validation", name, msg);
        return false;
    }
    return true;
}

/* Standard or URL-safe base64, padding optional. Returns the decoded bytes
 * in the request arena, or NULL when s is not base64. */
static unsigned char *b64_decode(struct arena *a, const char *s, size_t *len)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (strlen(s) - n > 2 || n % 4 == 1)
        return NULL;
    unsigned char *out = arena_alloc(a, n / 4 * 3 + 3);
    size_t k = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        unsigned v;
        if (c >= 'A' && c <= 'Z')
            v = (unsigned)(c - 'A');
        else if (c >= 'a' && c <= 'z')
            v = (unsigned)(c - 'a') + 26;
        else if (c >= '0' && c <= '9')
            v = (unsigned)(c - '0') + 52;
        else if (c == '+' || c == '-')
            v = 62;
        else if (c == '/' || c == '_')
            v = 63;
        else
            return NULL;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    *len = k;
    return out;
}

/* Refuse keys of obj outside allowed (NULL-terminated): 400 unknown field. */
static bool only_keys(struct http_request *req, struct http_response *resp, json_t *obj,
                      const char *const *allowed, const char *prefix)
{
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], key) == 0;
        if (!ok) {
            char field[160];
            snprintf(field, sizeof(field), "%s%.120s", prefix, key);
            for (char *c = field; *c; c++)
                if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                    *c = '?';
            http_resp_error(req, resp, 400, "validation", field, "unknown field");
            return false;
        }
    }
    return true;
}

/* An optional string member; false after answering 400. */
static bool opt_string(struct http_request *req, struct http_response *resp, json_t *obj,
                       const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v)) {
        http_resp_error(req, resp, 400, "validation", key, "must be a string");
        return false;
    }
    *out = json_string_value(v);
    if (!**out || strlen(*out) != json_string_length(v)) {
        http_resp_error(req, resp, 422, "validation", key,
                        "must not be empty or contain NUL; omit the field instead");
        return false;
    }
    return true;
}

/* Resolve an asset reference from a path: 404 unknown, 422 ambiguous. */
static bool resolve_asset(struct http_request *req, struct http_response *resp,
                          const struct api_ctx *ctx, const char *ref, const char *field,
                          bool unknown_is_404, const char **asset_ref)
{
    struct store_read *r;
    if (!read_begin(req, resp, ctx, &r))
        return false;
    const char **cands = NULL;
    size_t nc = 0;
    enum ab_rc rc = store_asset_resolve(r, tenant_of(req), ref, req->arena, asset_ref, &cands, &nc);
    store_read_end(r);
    if (!rc)
        return true;
    if (rc == AB_EIDENTITY && nc == 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "unknown asset '%.64s'", ref);
        if (unknown_is_404)
            http_resp_error(req, resp, 404, "not_found", field, msg);
        else
            http_resp_error(req, resp, 422, "identity", field, msg);
        return false;
    }
    if (rc == AB_EIDENTITY) {
        char msg[256];
        int k = snprintf(msg, sizeof(msg), "'%.64s' matches several assets:", ref);
        for (size_t i = 0; i < nc && k > 0 && (size_t)k < sizeof(msg); i++)
            k += snprintf(msg + k, sizeof(msg) - (size_t)k, "%s %s", i ? "," : "", cands[i]);
        http_resp_error(req, resp, 422, "identity", field, msg);
        return false;
    }
    api_error_rc(req, resp, rc, field, NULL);
    return false;
}

/* ---- reading work orders ---------------------------------------------------------- */

/* One page of objects matching f (?limit= and ?cursor= read here), each
 * item shown by to_json. */
static void objects_page(struct http_request *req, struct http_response *resp,
                         const struct api_ctx *ctx, struct store_object_filter *f,
                         json_t *(*to_json)(const struct store_object *))
{
    if (!api_limit(req, resp, &f->limit) || !api_cursor_decode(req, resp, &f->after))
        return;
    struct store_read *r;
    if (!read_begin(req, resp, ctx, &r))
        return;
    struct store_object *objs;
    size_t n = 0;
    bool more = false;
    enum ab_rc rc = store_objects_list(r, tenant_of(req), f, req->arena, &objs, &n, &more);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, to_json(&objs[i]));
    const char *next = more && n ? api_cursor_encode(req->arena, objs[n - 1].id) : NULL;
    http_resp_json(resp, 200, api_page(items, next));
}

static void wo_search(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    struct store_object_filter f = {0};
    f.kind = STORE_KIND_WORK_ORDER;
    f.due_before = INT64_MIN;
    f.asset_ref = http_query(req, "asset_ref");
    f.status = http_query(req, "status");
    f.type = http_query(req, "type");
    f.provider = http_query(req, "provider");
    enum model_wo_status st;
    enum model_wo_type ty;
    enum model_provider pv;
    if (f.status && !model_wo_status_parse(f.status, &st)) {
        http_resp_error(req, resp, 422, "validation", "status", "unknown work-order status");
        return;
    }
    if (f.type && !model_wo_type_parse(f.type, &ty)) {
        http_resp_error(req, resp, 422, "validation", "type", "unknown work-order type");
        return;
    }
    if (f.provider && !model_provider_parse(f.provider, &pv)) {
        http_resp_error(req, resp, 422, "validation", "provider", "unknown provider");
        return;
    }
    objects_page(req, resp, ctx, &f, store_work_order_json);
}

static void wo_get(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    struct store_read *r;
    if (!read_begin(req, resp, ctx, &r))
        return;
    struct store_object o;
    enum ab_rc rc = store_object_get(r, tenant_of(req), STORE_KIND_WORK_ORDER,
                                     http_param(req, "id"), req->arena, &o);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, rc == AB_ENOTFOUND ? "no such work order" : NULL);
        return;
    }
    http_resp_json(resp, 200, store_work_order_json(&o));
    set_etag(req, resp, o.revision);
}

/* ---- creating ------------------------------------------------------------------------ */

/* A work order's "provider" must name a configured provider of the caller's
 * tenant whose type is the work order's provider_id (a hub work order given
 * a provider takes that provider's type). Without one, provider_id alone
 * decides, as before: the tenant's only provider of that type delivers it. */
static bool check_provider(struct http_request *req, struct http_response *resp,
                           const struct api_ctx *ctx, struct model_work_order *wo)
{
    if (!wo->provider)
        return true;
    const struct config_tenant *t = config_tenant(ctx->cfg, tenant_of(req));
    const struct config_provider *pc = config_provider(t, wo->provider);
    if (!pc) {
        http_resp_error(req, resp, 422, "validation", "provider",
                        arena_printf(req->arena, "no provider '%s' is configured for this tenant",
                                     wo->provider));
        return false;
    }
    if (wo->provider_id == MODEL_PROVIDER_HUB) {
        for (int p = 0; p < MODEL_PROVIDER_COUNT; p++)
            if (strcmp(model_provider_name((enum model_provider)p), pc->type) == 0)
                wo->provider_id = (enum model_provider)p;
        return true;
    }
    if (strcmp(model_provider_name(wo->provider_id), pc->type) != 0) {
        http_resp_error(req, resp, 422, "validation", "provider",
                        arena_printf(req->arena,
                                     "provider '%s' is of type %s, but provider_id is %s",
                                     wo->provider, pc->type, model_provider_name(wo->provider_id)));
        return false;
    }
    return true;
}

struct create_job {
    const char *tenant, *actor;
    struct model_work_order wo;
    struct arena *a;
    struct store_wo_result res;
};

static enum ab_rc create_job_fn(struct store_tx *tx, void *arg)
{
    struct create_job *j = arg;
    return store_work_order_create(tx, j->tenant, &j->wo, j->actor, j->a, &j->res);
}

static void wo_create(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    json_t *body = api_body_object(req, resp);
    if (!body)
        return;
    static const char *const read_only[] = {"common_work_order_id", "revision", "sync_state",
                                            "last_synced_at"};
    for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
        if (json_object_get(body, read_only[i])) {
            http_resp_error(req, resp, 422, "validation", read_only[i],
                            "is set by the hub and cannot be given");
            return;
        }
    }
    json_t *status = json_object_get(body, "common_status");
    if (!status || json_is_null(status)) {
        json_object_set_new(body, "common_status", json_string("draft"));
    } else if (!json_is_string(status)) {
        http_resp_error(req, resp, 400, "validation", "common_status", "must be a string");
        return;
    } else if (strcmp(json_string_value(status), "draft") != 0 &&
               strcmp(json_string_value(status), "open") != 0) {
        http_resp_error(req, resp, 422, "validation", "common_status",
                        "a new work order is draft or open; use the actions to move it on");
        return;
    }
    struct create_job j;
    memset(&j, 0, sizeof(j));
    struct model_error err;
    if (model_work_order_from_json(req->arena, body, &j.wo, &err)) {
        api_error_model(req, resp, &err);
        return;
    }
    if (!resolve_asset(req, resp, ctx, j.wo.asset_ref, "asset_ref", false, &j.wo.asset_ref))
        return;
    if (!check_provider(req, resp, ctx, &j.wo))
        return;
    int64_t now = clock_now_ms();
    for (size_t i = 0; i < j.wo.n_comments; i++)
        if (j.wo.comments[i].at == MODEL_TIME_UNSET)
            j.wo.comments[i].at = now;
    j.tenant = tenant_of(req);
    j.actor = actor_of(req);
    j.a = req->arena;
    enum ab_rc rc = store_write(ctx->store, create_job_fn, &j, req->correlation_id);
    if (rc) {
        if (j.res.err.kind != MODEL_ERR_NONE)
            api_error_rc(req, resp, rc, j.res.err.field, j.res.err.message);
        else
            api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    const char *loc = arena_printf(req->arena, "/v1/work-orders/%s", j.res.obj.id);
    http_resp_json(resp, 201, store_work_order_json(&j.res.obj));
    set_etag(req, resp, j.res.obj.revision);
    if (http_resp_header(req, resp, "Location", loc))
        resp->status = 500;
}

/* ---- changing ------------------------------------------------------------------------ */

struct change_job {
    struct store_wo_change c;
    struct arena *a;
    struct store_wo_result res;
};

static enum ab_rc change_job_fn(struct store_tx *tx, void *arg)
{
    struct change_job *j = arg;
    return store_work_order_change(tx, &j->c, j->a, &j->res);
}

/* Run an edit of the work order in the path and answer with the result. */
static void run_change(struct http_request *req, struct http_response *resp,
                       const struct api_ctx *ctx, const char *action, store_wo_edit_fn edit,
                       void *arg)
{
    int64_t rev;
    if (!if_match(req, resp, &rev))
        return;
    struct change_job j;
    memset(&j, 0, sizeof(j));
    j.c.tenant = tenant_of(req);
    j.c.id = http_param(req, "id");
    j.c.if_revision = rev;
    j.c.actor = actor_of(req);
    j.c.action = action;
    j.c.edit = edit;
    j.c.arg = arg;
    j.a = req->arena;
    enum ab_rc rc = store_write(ctx->store, change_job_fn, &j, req->correlation_id);
    if (rc == AB_ENOTFOUND) {
        api_error_rc(req, resp, rc, NULL, "no such work order");
    } else if (rc == AB_ECONFLICT && j.res.stale) {
        http_resp_error(req, resp, 412, "conflict", "If-Match", j.res.err.message);
        set_etag(req, resp, j.res.obj.revision);
    } else if (rc == AB_ECONFLICT && strcmp(j.res.err.field, "common_status") == 0) {
        conflict_allowed(req, resp, j.res.obj.status, j.res.err.message);
    } else if (rc && j.res.err.kind != MODEL_ERR_NONE) {
        if (rc == AB_EINVAL || rc == AB_EPARSE)
            api_error_model(req, resp, &j.res.err);
        else
            api_error_rc(req, resp, rc, j.res.err.field[0] ? j.res.err.field : NULL,
                         j.res.err.message);
    } else if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
    } else {
        http_resp_json(resp, 200, store_work_order_json(&j.res.obj));
        set_etag(req, resp, j.res.obj.revision);
    }
}

/* Merge patch (present replaces, null deletes) into wo and validate the
 * whole; errors name the patch's fields. */
static enum ab_rc merge_into(struct model_work_order *wo, struct arena *a, json_t *patch,
                             struct model_error *err)
{
    json_t *j = model_work_order_to_json(wo);
    const char *key;
    json_t *v;
    json_object_foreach (patch, key, v) {
        if (json_is_null(v))
            json_object_del(j, key);
        else
            json_object_set(j, key, v);
    }
    enum ab_rc rc = model_work_order_from_json(a, j, wo, err);
    json_decref(j);
    return rc;
}

static enum ab_rc patch_edit(struct model_work_order *wo, struct arena *a, void *arg,
                             struct model_error *err)
{
    return merge_into(wo, a, arg, err);
}

static void wo_patch(struct http_request *req, struct http_response *resp, void *ctxp)
{
    json_t *body = api_body_object(req, resp);
    if (!body)
        return;
    static const char *const editable[] = {"priority", "sla_due_at", "notes", "failure_codes",
                                           "assignee", "type",       NULL};
    const char *key;
    json_t *v;
    json_object_foreach (body, key, v) {
        bool ok = false;
        for (size_t i = 0; editable[i] && !ok; i++)
            ok = strcmp(editable[i], key) == 0;
        if (ok)
            continue;
        if (strcmp(key, "common_status") == 0) {
            http_resp_error(req, resp, 422, "validation", "common_status",
                            "the status changes only through the actions :assign, :start, :hold,"
                            " :complete, :close, :reopen, :cancel, :submit");
            return;
        }
        char field[140];
        snprintf(field, sizeof(field), "%.120s", key);
        for (char *c = field; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                *c = '?';
        http_resp_error(req, resp, 422, "validation", field,
                        "cannot be changed with PATCH (editable: priority, sla_due_at, notes,"
                        " failure_codes, assignee, type)");
        return;
    }
    run_change(req, resp, ctxp, "work_order.update", patch_edit, body);
}

/* ---- actions ------------------------------------------------------------------------ */

struct verb_arg {
    enum model_wo_verb verb;
    json_t *merge; /* fields to merge after the transition, or NULL */
    int64_t now;
};

static enum ab_rc verb_edit(struct model_work_order *wo, struct arena *a, void *argp,
                            struct model_error *err)
{
    struct verb_arg *v = argp;
    enum model_wo_status to;
    enum ab_rc rc = model_wo_verb_apply(v->verb, wo->common_status, &to, err);
    if (rc)
        return rc;
    wo->common_status = to;
    switch (v->verb) {
    case MODEL_WO_VERB_START:
        if (wo->started_at == MODEL_TIME_UNSET)
            wo->started_at = v->now;
        break;
    case MODEL_WO_VERB_SUBMIT:
        if (wo->opened_at == MODEL_TIME_UNSET)
            wo->opened_at = v->now;
        break;
    case MODEL_WO_VERB_COMPLETE: wo->completed_at = v->now; break;
    case MODEL_WO_VERB_CLOSE: wo->closed_at = v->now; break;
    case MODEL_WO_VERB_REOPEN:
        wo->completed_at = MODEL_TIME_UNSET;
        wo->closed_at = MODEL_TIME_UNSET;
        break;
    default: break;
    }
    return v->merge ? merge_into(wo, a, v->merge, err) : AB_OK;
}

/* The optional body of an action: empty, or an object with only `allowed`
 * keys. *out is NULL for an empty body. False after answering. */
static bool action_body(struct http_request *req, struct http_response *resp,
                        const char *const *allowed, json_t **out)
{
    *out = NULL;
    size_t i = 0;
    while (i < req->body_len && strchr(" \t\r\n", req->body[i]))
        i++;
    if (i == req->body_len)
        return true;
    json_t *body = api_body_object(req, resp);
    if (!body || !only_keys(req, resp, body, allowed, ""))
        return false;
    *out = json_object_size(body) ? body : NULL;
    return true;
}

static void run_verb(struct http_request *req, struct http_response *resp, void *ctxp,
                     enum model_wo_verb verb, json_t *merge)
{
    struct verb_arg v = {verb, merge, clock_now_ms()};
    char action[48];
    snprintf(action, sizeof(action), "work_order.%s", model_wo_verb_name(verb));
    run_change(req, resp, ctxp, arena_strdup(req->arena, action), verb_edit, &v);
}

static void simple_verb(struct http_request *req, struct http_response *resp, void *ctxp,
                        enum model_wo_verb verb)
{
    static const char *const none[] = {NULL};
    json_t *body;
    if (action_body(req, resp, none, &body))
        run_verb(req, resp, ctxp, verb, NULL);
}

static void wo_start(struct http_request *req, struct http_response *resp, void *ctxp)
{
    simple_verb(req, resp, ctxp, MODEL_WO_VERB_START);
}

static void wo_hold(struct http_request *req, struct http_response *resp, void *ctxp)
{
    simple_verb(req, resp, ctxp, MODEL_WO_VERB_HOLD);
}

static void wo_close(struct http_request *req, struct http_response *resp, void *ctxp)
{
    simple_verb(req, resp, ctxp, MODEL_WO_VERB_CLOSE);
}

static void wo_reopen(struct http_request *req, struct http_response *resp, void *ctxp)
{
    simple_verb(req, resp, ctxp, MODEL_WO_VERB_REOPEN);
}

static void wo_cancel(struct http_request *req, struct http_response *resp, void *ctxp)
{
    simple_verb(req, resp, ctxp, MODEL_WO_VERB_CANCEL);
}

static void wo_submit(struct http_request *req, struct http_response *resp, void *ctxp)
{
    simple_verb(req, resp, ctxp, MODEL_WO_VERB_SUBMIT);
}

static void wo_complete(struct http_request *req, struct http_response *resp, void *ctxp)
{
    static const char *const keys[] = {"failure_codes", "notes", NULL};
    json_t *body;
    if (action_body(req, resp, keys, &body))
        run_verb(req, resp, ctxp, MODEL_WO_VERB_COMPLETE, body);
}

static void wo_assign(struct http_request *req, struct http_response *resp, void *ctxp)
{
    static const char *const keys[] = {"assignee", NULL};
    json_t *body;
    if (!action_body(req, resp, keys, &body))
        return;
    const char *who = NULL;
    if (body && !opt_string(req, resp, body, "assignee", &who))
        return;
    if (!who) {
        http_resp_error(req, resp, 422, "validation", "assignee", "is required");
        return;
    }
    run_verb(req, resp, ctxp, MODEL_WO_VERB_ASSIGN, body);
}

struct comment_arg {
    const char *author, *text;
    int64_t now;
};

static enum ab_rc comment_edit(struct model_work_order *wo, struct arena *a, void *argp,
                               struct model_error *err)
{
    struct comment_arg *c = argp;
    json_t *j = model_work_order_to_json(wo);
    json_t *list = json_object_get(j, "comments");
    if (!list) {
        list = json_array();
        json_object_set_new(j, "comments", list);
    }
    char at[TIME_RFC3339_MAX];
    time_format_rfc3339(c->now, at);
    json_array_append_new(
        list, json_pack("{s:s, s:s, s:s}", "author", c->author, "text", c->text, "at", at));
    enum ab_rc rc = model_work_order_from_json(a, j, wo, err);
    json_decref(j);
    if (rc && str_has_prefix(err->field, "comments[")) {
        /* name the request's field, not the list position */
        const char *dot = strchr(err->field, '.');
        str_lcpy(err->field, dot ? dot + 1 : "text", sizeof(err->field));
    }
    return rc;
}

static void wo_comment(struct http_request *req, struct http_response *resp, void *ctxp)
{
    static const char *const keys[] = {"text", "author", NULL};
    json_t *body = api_body_object(req, resp);
    if (!body || !only_keys(req, resp, body, keys, ""))
        return;
    struct comment_arg c = {NULL, NULL, clock_now_ms()};
    if (!opt_string(req, resp, body, "text", &c.text) ||
        !opt_string(req, resp, body, "author", &c.author))
        return;
    if (!c.text) {
        http_resp_error(req, resp, 422, "validation", "text", "is required");
        return;
    }
    if (!c.author)
        c.author = actor_of(req);
    run_change(req, resp, ctxp, "work_order.comment", comment_edit, &c);
}

/* ---- attachments -------------------------------------------------------------------- */

struct file_in {
    const char *file_name, *media_type;
    const unsigned char *content;
    size_t len;
};

/* Parse {"file_name","media_type","content_base64"} at prefix (for error
 * fields) and validate the metadata with the model. False after answering. */
static bool parse_file(struct http_request *req, struct http_response *resp, json_t *obj,
                       const char *prefix, enum model_owner_kind owner, struct file_in *f)
{
    static const char *const keys[] = {"file_name", "media_type", "content_base64", NULL};
    if (!only_keys(req, resp, obj, keys, prefix))
        return false;
    const char *b64 = NULL;
    if (!opt_string(req, resp, obj, "file_name", &f->file_name) ||
        !opt_string(req, resp, obj, "media_type", &f->media_type))
        return false;
    json_t *c = json_object_get(obj, "content_base64");
    if (c && !json_is_string(c)) {
        http_resp_error(req, resp, 400, "validation",
                        arena_printf(req->arena, "%scontent_base64", prefix), "must be a string");
        return false;
    }
    b64 = json_string_value(c);
    if (!b64 || !(f->content = b64_decode(req->arena, b64, &f->len))) {
        http_resp_error(req, resp, 422, "validation",
                        arena_printf(req->arena, "%scontent_base64", prefix),
                        b64 ? "is not base64" : "is required");
        return false;
    }
    json_t *meta = json_pack(
        "{s:s, s:s, s:s?, s:s?, s:I, s:s}", "owner_kind", model_owner_kind_name(owner), "owner_id",
        "x", "file_name", f->file_name, "media_type", f->media_type, "size", (json_int_t)f->len,
        "sha256", "0000000000000000000000000000000000000000000000000000000000000000");
    struct model_attachment m;
    struct model_error err;
    enum ab_rc rc = model_attachment_from_json(req->arena, meta, &m, &err);
    json_decref(meta);
    if (rc) {
        char field[MODEL_FIELD_MAX + 16];
        snprintf(field, sizeof(field), "%s%s", prefix, err.field);
        str_lcpy(err.field, field, sizeof(err.field));
        api_error_model(req, resp, &err);
        return false;
    }
    f->media_type = m.media_type;
    return true;
}

static json_t *attachment_json(const struct store_attachment_row *r)
{
    json_t *j = model_attachment_to_json(&r->meta);
    json_object_set_new(j, "id", json_string(r->id));
    json_object_set_new(j, "created_at", api_time(r->created_at));
    return j;
}

struct attach_job {
    const char *tenant, *actor;
    struct model_attachment meta;
    struct file_in f;
    struct arena *a;
    struct store_attachment_row out;
};

static enum ab_rc attach_job_fn(struct store_tx *tx, void *arg)
{
    struct attach_job *j = arg;
    return store_attachment_add(tx, j->tenant, &j->meta, j->f.content, j->f.len, j->actor, j->a,
                                &j->out);
}

static void wo_attach(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    json_t *body = api_body_object(req, resp);
    if (!body)
        return;
    struct attach_job j;
    memset(&j, 0, sizeof(j));
    if (!parse_file(req, resp, body, "", MODEL_OWNER_WORK_ORDER, &j.f))
        return;
    j.tenant = tenant_of(req);
    j.actor = actor_of(req);
    j.a = req->arena;
    j.meta.owner_kind = MODEL_OWNER_WORK_ORDER;
    j.meta.owner_id = http_param(req, "id");
    j.meta.file_name = j.f.file_name;
    j.meta.media_type = j.f.media_type;
    enum ab_rc rc = store_write(ctx->store, attach_job_fn, &j, req->correlation_id);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, rc == AB_ENOTFOUND ? "no such work order" : NULL);
        return;
    }
    http_resp_json(resp, 201, attachment_json(&j.out));
}

/* ---- calibration and plans ------------------------------------------------------------ */

static json_t *object_json(const struct store_object *o)
{
    json_t *j = json_deep_copy(o->doc);
    json_object_set_new(j, "revision", json_integer(o->revision));
    return j;
}

/* List objects of kind (for one asset when asset_ref is set). */
static void list_objects(struct http_request *req, struct http_response *resp,
                         const struct api_ctx *ctx, const char *kind, const char *asset_ref,
                         int64_t due_before)
{
    struct store_object_filter f = {0};
    f.kind = kind;
    f.asset_ref = asset_ref;
    f.due_before = due_before;
    objects_page(req, resp, ctx, &f, object_json);
}

static void asset_calibration(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const char *ref;
    if (resolve_asset(req, resp, ctxp, http_param(req, "asset_ref"), NULL, true, &ref))
        list_objects(req, resp, ctxp, STORE_KIND_CALIBRATION, ref, INT64_MIN);
}

static void asset_plans(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const char *ref;
    if (resolve_asset(req, resp, ctxp, http_param(req, "asset_ref"), NULL, true, &ref))
        list_objects(req, resp, ctxp, STORE_KIND_PLAN, ref, INT64_MIN);
}

static void calibrations(struct http_request *req, struct http_response *resp, void *ctxp)
{
    int64_t due_before;
    if (query_time(req, resp, "due_before", &due_before))
        list_objects(req, resp, ctxp, STORE_KIND_CALIBRATION, NULL, due_before);
}

struct cal_job {
    struct store_cal_record in;
    struct arena *a;
    struct store_cal_result res;
};

static enum ab_rc cal_job_fn(struct store_tx *tx, void *arg)
{
    struct cal_job *j = arg;
    return store_calibration_record(tx, &j->in, j->a, &j->res);
}

/* A time member; required or optional. False after answering. */
static bool body_time(struct http_request *req, struct http_response *resp, json_t *obj,
                      const char *key, bool required, int64_t *out)
{
    const char *s;
    *out = MODEL_TIME_UNSET;
    if (!opt_string(req, resp, obj, key, &s))
        return false;
    if (!s) {
        if (required)
            http_resp_error(req, resp, 422, "validation", key, "is required");
        return !required;
    }
    if (time_parse_rfc3339(s, out)) {
        http_resp_error(req, resp, 422, "validation", key,
                        "must be an RFC 3339 time with an offset");
        return false;
    }
    return true;
}

/* A calibration result member (default unknown). False after answering. */
static bool body_cal_result(struct http_request *req, struct http_response *resp, json_t *obj,
                            const char *key, bool required, enum model_cal_result *out)
{
    const char *s;
    *out = MODEL_CAL_UNKNOWN;
    if (!opt_string(req, resp, obj, key, &s))
        return false;
    if (!s && required) {
        http_resp_error(req, resp, 422, "validation", key, "is required");
        return false;
    }
    if (s && (!model_cal_result_parse(s, out) || (required && *out == MODEL_CAL_UNKNOWN))) {
        http_resp_error(req, resp, 422, "validation", key,
                        required ? "must be in_tolerance or out_of_tolerance"
                                 : "must be in_tolerance, out_of_tolerance or unknown");
        return false;
    }
    return true;
}

static void calibration_record(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    json_t *body = api_body_object(req, resp);
    if (!body)
        return;
    static const char *const keys[] = {
        "performed_at",    "result",       "as_found",    "as_left",     "certificate_id",
        "certificate_url", "performed_by", "next_due_at", "certificate", NULL};
    if (!only_keys(req, resp, body, keys, ""))
        return;
    struct cal_job j;
    memset(&j, 0, sizeof(j));
    struct store_cal_record *in = &j.in;
    if (!body_time(req, resp, body, "performed_at", true, &in->performed_at) ||
        !body_cal_result(req, resp, body, "result", true, &in->result) ||
        !body_cal_result(req, resp, body, "as_found", false, &in->as_found) ||
        !body_cal_result(req, resp, body, "as_left", false, &in->as_left) ||
        !opt_string(req, resp, body, "certificate_id", &in->certificate_id) ||
        !opt_string(req, resp, body, "certificate_url", &in->certificate_url) ||
        !opt_string(req, resp, body, "performed_by", &in->performed_by) ||
        !body_time(req, resp, body, "next_due_at", false, &in->next_due_at))
        return;
    json_t *cert = json_object_get(body, "certificate");
    if (cert && !json_is_null(cert)) {
        if (!json_is_object(cert)) {
            http_resp_error(req, resp, 400, "validation", "certificate", "must be an object");
            return;
        }
        struct file_in f = {0};
        if (!parse_file(req, resp, cert, "certificate.", MODEL_OWNER_CALIBRATION, &f))
            return;
        in->cert_file_name = f.file_name;
        in->cert_media_type = f.media_type;
        in->cert_content = f.content;
        in->cert_len = f.len;
    }
    if (!resolve_asset(req, resp, ctx, http_param(req, "asset_ref"), NULL, true, &in->asset_ref))
        return;
    in->tenant = tenant_of(req);
    in->actor = actor_of(req);
    j.a = req->arena;
    enum ab_rc rc = store_write(ctx->store, cal_job_fn, &j, req->correlation_id);
    if (rc == AB_EINVAL && j.res.err.kind != MODEL_ERR_NONE) {
        api_error_model(req, resp, &j.res.err);
        return;
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, rc == AB_ENOTFOUND ? "unknown asset" : NULL);
        return;
    }
    json_t *out = object_json(&j.res.obj);
    if (j.res.cert.id)
        json_object_set_new(out, "certificate_attachment", attachment_json(&j.res.cert));
    http_resp_json(resp, 200, out);
}

/* ---- status mappings ---------------------------------------------------------------- */

static json_t *map_json(const struct store_status_map_row *m)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "provider", m->provider, "kind", m->kind,
                     "source_value", m->source_value, "common_value", m->common_value);
}

static void maps_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const char *provider = http_query(req, "provider");
    enum model_provider p;
    if (provider && !model_provider_parse(provider, &p)) {
        http_resp_error(req, resp, 422, "validation", "provider", "unknown provider");
        return;
    }
    size_t limit;
    const char *cursor;
    if (!api_limit(req, resp, &limit) || !api_cursor_decode(req, resp, &cursor))
        return;
    struct store_status_map_row after = {0}, *afterp = NULL;
    if (*cursor) {
        /* provider \x1f kind \x1f source_value */
        char *c = arena_strdup(req->arena, cursor);
        char *s1 = strchr(c, '\x1f');
        char *s2 = s1 ? strchr(s1 + 1, '\x1f') : NULL;
        if (!s2) {
            http_resp_error(req, resp, 422, "validation", "cursor",
                            "malformed cursor: pass next_cursor back unchanged");
            return;
        }
        *s1 = *s2 = '\0';
        after.provider = c;
        after.kind = s1 + 1;
        after.source_value = s2 + 1;
        afterp = &after;
    }
    struct store_read *r;
    if (!read_begin(req, resp, ctx, &r))
        return;
    struct store_status_map_row *rows;
    size_t n = 0;
    bool more = false;
    enum ab_rc rc = store_status_maps_list(r, tenant_of(req), provider, afterp, limit, req->arena,
                                           &rows, &n, &more);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, map_json(&rows[i]));
    const char *next = NULL;
    if (more && n)
        next = api_cursor_encode(req->arena,
                                 arena_printf(req->arena, "%s\x1f%s\x1f%s", rows[n - 1].provider,
                                              rows[n - 1].kind, rows[n - 1].source_value));
    http_resp_json(resp, 200, api_page(items, next));
}

/* Validate the path of a mapping; false after answering 422. */
static bool map_path(struct http_request *req, struct http_response *resp,
                     struct store_status_map_row *m)
{
    enum model_provider p;
    enum model_map_kind k;
    m->provider = http_param(req, "provider");
    m->kind = http_param(req, "kind");
    m->source_value = http_param(req, "source_value");
    if (!model_provider_parse(m->provider, &p)) {
        http_resp_error(req, resp, 422, "validation", "provider", "unknown provider");
        return false;
    }
    if (!model_map_kind_parse(m->kind, &k)) {
        http_resp_error(req, resp, 422, "validation", "kind", "must be status or priority");
        return false;
    }
    size_t n = strlen(m->source_value);
    bool ok = n > 0 && n <= MODEL_STATUS_MAP_VALUE_MAX;
    for (size_t i = 0; i < n && ok; i++)
        ok = (unsigned char)m->source_value[i] >= 0x20 && m->source_value[i] != 0x7f;
    if (!ok) {
        http_resp_error(req, resp, 422, "validation", "source_value",
                        "must be 1 to 64 bytes without control characters");
        return false;
    }
    return true;
}

struct map_job {
    const char *tenant, *actor;
    struct store_status_map_row m;
    bool del, created;
};

static enum ab_rc map_job_fn(struct store_tx *tx, void *arg)
{
    struct map_job *j = arg;
    if (j->del)
        return store_status_map_delete(tx, j->tenant, j->m.provider, j->m.kind, j->m.source_value,
                                       j->actor);
    return store_status_map_put(tx, j->tenant, &j->m, j->actor, &j->created);
}

static void map_put(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    struct map_job j;
    memset(&j, 0, sizeof(j));
    if (!map_path(req, resp, &j.m))
        return;
    json_t *body = api_body_object(req, resp);
    static const char *const keys[] = {"common_value", "provider", "kind", "source_value", NULL};
    if (!body || !only_keys(req, resp, body, keys, ""))
        return;
    if (!opt_string(req, resp, body, "common_value", &j.m.common_value))
        return;
    enum model_wo_status s;
    enum model_priority p;
    bool is_status = strcmp(j.m.kind, "status") == 0;
    if (!j.m.common_value || !(is_status ? model_wo_status_parse(j.m.common_value, &s)
                                         : model_priority_parse(j.m.common_value, &p))) {
        http_resp_error(req, resp, 422, "validation", "common_value",
                        is_status ? "must be a common status: draft, open, assigned, in_progress,"
                                    " on_hold, completed, closed, cancelled"
                                  : "must be a common priority: low, medium, high, urgent");
        return;
    }
    /* the body may repeat the path's values, never contradict them */
    static const char *const path_keys[] = {"provider", "kind", "source_value"};
    const char *path_vals[] = {j.m.provider, j.m.kind, j.m.source_value};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(body, path_keys[i]);
        if (v && !(json_is_string(v) && strcmp(json_string_value(v), path_vals[i]) == 0)) {
            http_resp_error(req, resp, 422, "validation", path_keys[i],
                            "must equal the value in the path");
            return;
        }
    }
    j.tenant = tenant_of(req);
    j.actor = actor_of(req);
    enum ab_rc rc = store_write(ctx->store, map_job_fn, &j, req->correlation_id);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    http_resp_json(resp, j.created ? 201 : 200, map_json(&j.m));
}

static void map_delete(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    struct map_job j;
    memset(&j, 0, sizeof(j));
    if (!map_path(req, resp, &j.m))
        return;
    j.del = true;
    j.tenant = tenant_of(req);
    j.actor = actor_of(req);
    enum ab_rc rc = store_write(ctx->store, map_job_fn, &j, req->correlation_id);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, rc == AB_ENOTFOUND ? "no such mapping" : NULL);
        return;
    }
    resp->status = 204;
    buf_reset(&resp->body);
}

/* Action routes come before the plain ones they could shadow. */
const struct http_route api_workorders_routes[] = {
    {"POST", "/v1/work-orders/{id}:assign", wo_assign, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}:comment", wo_comment, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}:start", wo_start, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}:hold", wo_hold, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}:complete", wo_complete, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}:close", wo_close, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}:reopen", wo_reopen, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}:cancel", wo_cancel, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}:submit", wo_submit, 0, SCOPE_WRITE},
    {"POST", "/v1/work-orders/{id}/attachments", wo_attach, 0, SCOPE_WRITE},
    {"GET", "/v1/work-orders", wo_search, 0, SCOPE_READ},
    {"POST", "/v1/work-orders", wo_create, 0, SCOPE_WRITE},
    {"GET", "/v1/work-orders/{id}", wo_get, 0, SCOPE_READ},
    {"PATCH", "/v1/work-orders/{id}", wo_patch, 0, SCOPE_WRITE},
    {"POST", "/v1/assets/{asset_ref}/calibration:record", calibration_record, 0, SCOPE_WRITE},
    {"GET", "/v1/assets/{asset_ref}/calibration", asset_calibration, 0, SCOPE_READ},
    {"GET", "/v1/assets/{asset_ref}/plans", asset_plans, 0, SCOPE_READ},
    {"GET", "/v1/calibrations", calibrations, 0, SCOPE_READ},
    {"GET", "/v1/status-mappings", maps_list, 0, SCOPE_READ},
    {"PUT", "/v1/status-mappings/{provider}/{kind}/{source_value}", map_put, 0, SCOPE_ADMIN},
    {"DELETE", "/v1/status-mappings/{provider}/{kind}/{source_value}", map_delete, 0, SCOPE_ADMIN},
    {NULL, NULL, NULL, 0, 0},
};
