/* SPDX-License-Identifier: Apache-2.0
 *
 * assets.c: the /v1 routes for assets and their identity (links), mapping
 * exceptions and the audit trail. Every handler works on the caller's
 * tenant only (api_principal(req)->tenant): another tenant's object answers
 * 404 exactly as a missing one. Changes run as store jobs that re-read what
 * they change inside the write transaction (merge, revision check), and the
 * store audits them with the API key id as the actor.
 *
 *   GET    /v1/assets                         list, filter, page
 *   GET    /v1/assets:lookup                  by provider + native id
 *   GET    /v1/assets/{ref}                   one, with links, meters, objects
 *   PUT    /v1/assets/{asset_ref}             create or merge (ETag, If-Match)
 *   POST   /v1/assets/{ref}:move              site / line / cell / parent
 *   POST   /v1/assets/{ref}:retire            retired (or scrapped)
 *   POST   /v1/assets/{ref}/links             link (provider, native_id)
 *   DELETE /v1/assets/{ref}/links/{p}/{id}    unlink
 *   GET    /v1/mapping-exceptions[/{id}]      held changes
 *   POST   /v1/mapping-exceptions/{id}:resolve  link, create or ignore
 *   GET    /v1/audit                          audit records, newest first
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/api_util.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "http/json.h"
#include "model/asset.h"
#include "store/assets.h"
#include "store/journal.h"
#include "store/readings.h"
#include "store/records.h"

#define ASSET_BODY_MAX (256u * 1024u)
#define SMALL_BODY_MAX 4096u
#define NATIVE_ID_MAX 256

/* ---- shared helpers ------------------------------------------------------- */

static const char *tenant_of(const struct http_request *req)
{
    return api_principal(req)->tenant;
}

static const char *actor_of(const struct http_request *req)
{
    return api_principal(req)->key_id;
}

/* A query parameter; an empty value counts as absent. */
static const char *query(const struct http_request *req, const char *name)
{
    const char *v = http_query(req, name);
    return v && *v ? v : NULL;
}

static bool read_begin(struct http_request *req, struct http_response *resp,
                       const struct api_ctx *ctx, struct store_read **r)
{
    enum ab_rc rc = store_read_begin(ctx->store, r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return false;
    }
    return true;
}

static void not_found(struct http_request *req, struct http_response *resp, const char *field,
                      const char *what, const char *name)
{
    http_resp_error(req, resp, 404, "not_found", field,
                    arena_printf(req->arena, "no %s '%s'", what, name));
}

/* Parse a JSON text stored by the store; a text that does not parse (never
 * expected) is passed on as a string rather than lost. */
static json_t *stored_json(const char *text)
{
    if (!text)
        return json_null();
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

/* Resolve a reference from the path (asset_ref, serial number,
 * provider:native_id). Answers 404 when nothing matches and 422 identity
 * naming the candidates when several do. */
static bool resolve(struct http_request *req, struct http_response *resp, struct store_read *r,
                    const char *reference, const char **asset_ref /* OUT */)
{
    const char **cands = NULL;
    size_t n = 0;
    enum ab_rc rc =
        store_asset_resolve(r, tenant_of(req), reference, req->arena, asset_ref, &cands, &n);
    if (rc == AB_OK)
        return true;
    if (rc == AB_EIDENTITY && n > 1) {
        char *msg = arena_printf(req->arena, "reference '%s' matches several assets:", reference);
        for (size_t i = 0; i < n; i++)
            msg = arena_printf(req->arena, "%s%s '%s'", msg, i ? "," : "", cands[i]);
        msg = arena_printf(req->arena, "%s; use the asset_ref", msg);
        http_resp_error(req, resp, 422, "identity", "asset_ref", msg);
    } else if (rc == AB_EIDENTITY) {
        not_found(req, resp, "asset_ref", "asset", reference);
    } else {
        api_error_rc(req, resp, rc, NULL, NULL);
    }
    return false;
}

static json_t *asset_json(const struct store_asset_row *row)
{
    json_t *o = model_asset_to_json(&row->asset);
    json_object_set_new(o, "revision", json_integer(row->revision));
    return o;
}

static void set_etag(struct http_request *req, struct http_response *resp, int64_t revision)
{
    char etag[32];
    snprintf(etag, sizeof(etag), "\"%lld\"", (long long)revision);
    if (http_resp_header(req, resp, "ETag", etag))
        resp->status = 500;
}

/* The asset with its links, meters and the objects that refer to it. */
static enum ab_rc asset_detail(struct http_request *req, struct store_read *r,
                               const char *asset_ref, json_t **out, int64_t *revision)
{
    const char *tenant = tenant_of(req);
    struct arena *a = req->arena;
    struct store_asset_row row;
    enum ab_rc rc = store_asset_get(r, tenant, asset_ref, a, &row);
    if (rc)
        return rc;
    json_t *o = json_arena_own(a, asset_json(&row));
    *revision = row.revision;

    struct store_link *links;
    size_t n;
    rc = store_links_list(r, tenant, asset_ref, a, &links, &n);
    if (rc)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "provider", links[i].provider,
                                             "native_id", links[i].native_id, "linked_at",
                                             api_time(links[i].linked_at)));
    json_object_set_new(o, "links", arr);

    struct store_meter_row *meters;
    rc = store_meters_list(r, tenant, asset_ref, a, &meters, &n);
    if (rc)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_meter_row *m = &meters[i];
        json_t *mj = json_pack("{s:s, s:s?, s:s?, s:f, s:o, s:s?, s:I}", "meter_type",
                               m->meter_type, "kind", m->kind, "unit", m->unit, "value", m->value,
                               "last_read_at", api_time(m->last_read_at), "last_source",
                               m->last_source, "reading_count", (json_int_t)m->reading_count);
        if (mj)
            json_array_append_new(arr, mj);
    }
    json_object_set_new(o, "meters", arr);

    struct store_asset_object *objs;
    rc = store_objects_by_asset(r, tenant, asset_ref, "calibration", a, &objs, &n);
    if (rc)
        return rc;
    json_object_set_new(o, "calibration", n ? stored_json(objs[0].doc) : json_null());

    rc = store_objects_by_asset(r, tenant, asset_ref, "maintenance_plan", a, &objs, &n);
    if (rc)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, stored_json(objs[i].doc));
    json_object_set_new(o, "plans", arr);

    rc = store_objects_by_asset(r, tenant, asset_ref, "work_order", a, &objs, &n);
    if (rc)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *s = objs[i].status;
        if (s && (strcmp(s, "completed") == 0 || strcmp(s, "closed") == 0 ||
                  strcmp(s, "cancelled") == 0))
            continue;
        json_array_append_new(arr, stored_json(objs[i].doc));
    }
    json_object_set_new(o, "open_work_orders", arr);
    *out = json_incref(o);
    return AB_OK;
}

/* Answer the detail view of asset_ref (200, with its ETag). */
static void answer_detail(struct http_request *req, struct http_response *resp,
                          struct store_read *r, const char *asset_ref)
{
    json_t *o;
    int64_t revision;
    enum ab_rc rc = asset_detail(req, r, asset_ref, &o, &revision);
    if (rc == AB_ENOTFOUND) {
        not_found(req, resp, "asset_ref", "asset", asset_ref);
        return;
    }
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    http_resp_json(resp, 200, o);
    set_etag(req, resp, revision);
}

/* ---- GET /v1/assets ---------------------------------------------------------- */

static void assets_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    size_t limit;
    const char *cursor;
    if (!api_limit(req, resp, &limit) || !api_cursor_decode(req, resp, &cursor))
        return;
    if (*cursor && !model_asset_ref_valid(cursor)) {
        http_resp_error(req, resp, 422, "validation", "cursor",
                        "malformed cursor: pass next_cursor back unchanged");
        return;
    }
    struct store_asset_filter f = {0};
    f.site = query(req, "site");
    f.type = query(req, "type");
    f.status = query(req, "status");
    f.provider = query(req, "provider");
    f.calibration_due_before = INT64_MIN;
    f.after = *cursor ? cursor : NULL;
    f.limit = limit + 1;
    enum model_asset_type t;
    enum model_asset_status s;
    if (f.type && !model_asset_type_parse(f.type, &t)) {
        http_resp_error(req, resp, 422, "validation", "type",
                        "type must be station, fixture, instrument, tool or other");
        return;
    }
    if (f.status && !model_asset_status_parse(f.status, &s)) {
        http_resp_error(req, resp, 422, "validation", "status", "unknown asset status");
        return;
    }
    const char *due = query(req, "calibration_due_before");
    if (due && time_parse_rfc3339(due, &f.calibration_due_before)) {
        http_resp_error(req, resp, 422, "validation", "calibration_due_before",
                        "must be an RFC 3339 time such as 2025-01-31T00:00:00Z");
        return;
    }
    struct store_read *r;
    if (!read_begin(req, resp, ctxp, &r))
        return;
    struct store_asset_row *rows;
    size_t n;
    enum ab_rc rc = store_assets_list(r, tenant_of(req), &f, req->arena, &rows, &n);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(items, asset_json(&rows[i]));
    const char *next =
        n > limit ? api_cursor_encode(req->arena, rows[limit - 1].asset.asset_ref) : NULL;
    http_resp_json(resp, 200, api_page(items, next));
}

/* ---- GET /v1/assets/{asset_ref} and /v1/assets:lookup ------------------------ */

static void asset_get(struct http_request *req, struct http_response *resp, void *ctxp)
{
    struct store_read *r;
    if (!read_begin(req, resp, ctxp, &r))
        return;
    const char *ref;
    if (resolve(req, resp, r, http_param(req, "asset_ref"), &ref))
        answer_detail(req, resp, r, ref);
    store_read_end(r);
}

static void asset_lookup(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const char *provider = query(req, "provider");
    const char *native_id = query(req, "native_id");
    if (!provider || !native_id) {
        const char *missing = provider ? "native_id" : "provider";
        http_resp_error(req, resp, 422, "validation", missing,
                        arena_printf(req->arena, "the query parameter %s is required", missing));
        return;
    }
    struct store_read *r;
    if (!read_begin(req, resp, ctxp, &r))
        return;
    const char *ref;
    enum ab_rc rc = store_link_lookup(r, tenant_of(req), provider, native_id, req->arena, &ref);
    if (rc == AB_ENOTFOUND)
        http_resp_error(
            req, resp, 404, "not_found", "native_id",
            arena_printf(req->arena, "no asset is linked to %s '%s'", provider, native_id));
    else if (rc)
        api_error_rc(req, resp, rc, NULL, NULL);
    else
        answer_detail(req, resp, r, ref);
    store_read_end(r);
}

/* ---- changes: PUT, :move, :retire -------------------------------------------- */

/* If-Match: absent (*present false), "*" (*rev -1: must exist) or one
 * strong ETag "N". Anything else answers 412. */
static bool if_match(struct http_request *req, struct http_response *resp, bool *present,
                     int64_t *rev)
{
    const char *h = http_header(req, "If-Match");
    *present = h != NULL;
    *rev = 0;
    if (!h)
        return true;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (n == 1 && h[0] == '*') {
        *rev = -1;
        return true;
    }
    if (n >= 3 && h[0] == '"' && h[n - 1] == '"' && h[1] >= '0' && h[1] <= '9' &&
        !str_to_i64n(h + 1, n - 2, rev) && *rev >= 1)
        return true;
    http_resp_error(req, resp, 412, "conflict", "If-Match",
                    "If-Match must be the asset's ETag (e.g. \"3\") or *");
    return false;
}

enum change_kind { CHANGE_PUT, CHANGE_MOVE, CHANGE_RETIRE };

struct change_job {
    enum change_kind kind;
    const char *tenant, *actor, *asset_ref;
    const json_t *body;  /* PUT: the patch; MOVE: the new place */
    const char *status;  /* RETIRE */
    bool if_match;       /* an If-Match was given: the asset must exist */
    int64_t if_revision; /* > 0: must be the stored revision */
    struct arena *a;     /* the request's (its thread waits for the job) */
    bool missing;        /* OUT: the asset does not exist */
    bool model_failed;   /* OUT: err holds the validation error */
    struct model_error err;
    struct store_put_result res;
    struct store_asset_row after;
};

/* The patch of a move: site and parent as given, the location rebuilt from
 * the stored one with the given line and cell (unspecified ones are kept). */
static json_t *move_patch(struct arena *a, const struct model_asset *old, const json_t *body)
{
    json_t *patch = json_arena_own(a, json_object());
    json_t *site = json_object_get(body, "site");
    json_t *line = json_object_get(body, "line");
    json_t *cell = json_object_get(body, "cell");
    json_t *parent = json_object_get(body, "parent");
    if (site)
        json_object_set(patch, "site", site);
    if (parent)
        json_object_set(patch, "parent", parent);
    if (site || line || cell) {
        json_t *loc = json_object();
        const char *new_site = site ? json_string_value(site) : old->site;
        if (old->location.site && new_site)
            json_object_set_new(loc, "site", json_string(new_site));
        const char *l = line ? json_string_value(line) : old->location.line;
        const char *c = cell ? json_string_value(cell) : old->location.cell;
        if (l)
            json_object_set_new(loc, "line", json_string(l));
        if (c)
            json_object_set_new(loc, "cell", json_string(c));
        if (json_object_size(loc)) {
            json_object_set_new(patch, "location", loc);
        } else {
            json_decref(loc);
            json_object_set_new(patch, "location", json_null());
        }
    }
    return patch;
}

static enum ab_rc change_run(struct store_tx *tx, void *arg)
{
    struct change_job *j = arg;
    struct store_asset_row old;
    enum ab_rc rc = store_asset_get_tx(tx, j->tenant, j->asset_ref, j->a, &old);
    bool exists = rc == AB_OK;
    if (rc && rc != AB_ENOTFOUND)
        return rc;
    if (!exists && (j->kind != CHANGE_PUT || j->if_match)) {
        j->missing = true;
        return AB_ENOTFOUND;
    }
    const json_t *patch = j->body;
    if (j->kind == CHANGE_MOVE)
        patch = move_patch(j->a, &old.asset, j->body);
    else if (j->kind == CHANGE_RETIRE)
        patch = json_arena_own(j->a, json_pack("{s:s}", "status", j->status));

    struct model_asset fresh;
    if (!exists) {
        memset(&fresh, 0, sizeof(fresh));
        fresh.asset_ref = j->asset_ref;
        fresh.type = MODEL_ASSET_OTHER;
        fresh.status = MODEL_ASSET_ACTIVE;
        fresh.commissioned_at = MODEL_TIME_UNSET;
        fresh.created_at = MODEL_TIME_UNSET;
        fresh.updated_at = MODEL_TIME_UNSET;
    }
    struct model_asset merged;
    rc = model_asset_merge(j->a, exists ? &old.asset : &fresh, patch, &merged, &j->err);
    if (rc) {
        j->model_failed = true;
        return rc;
    }
    rc = store_asset_put(tx, j->tenant, &merged, j->if_revision > 0 ? j->if_revision : 0, 0,
                         j->actor, &j->res);
    if (!rc)
        rc = store_asset_get_tx(tx, j->tenant, j->asset_ref, j->a, &j->after);
    return rc;
}

/* Run a change job and answer it: the asset with its ETag, or the error. */
static void change_answer(struct http_request *req, struct http_response *resp,
                          const struct api_ctx *ctx, struct change_job *j)
{
    j->tenant = tenant_of(req);
    j->actor = actor_of(req);
    j->a = req->arena;
    enum ab_rc rc = store_write(ctx->store, change_run, j, req->correlation_id);
    if (rc == AB_OK) {
        http_resp_json(resp, j->res.created ? 201 : 200, asset_json(&j->after));
        set_etag(req, resp, j->after.revision);
    } else if (j->missing) {
        not_found(req, resp, "asset_ref", "asset", j->asset_ref);
    } else if (j->model_failed) {
        api_error_model(req, resp, &j->err);
    } else if (rc == AB_ECONFLICT && strcmp(j->res.field, "If-Match") == 0) {
        http_resp_error(req, resp, 412, "conflict", "If-Match", j->res.message);
    } else if ((rc == AB_ECONFLICT || rc == AB_EINVAL) && j->res.message[0]) {
        api_error_rc(req, resp, rc, j->res.field[0] ? j->res.field : NULL, j->res.message);
    } else {
        api_error_rc(req, resp, rc, NULL, NULL);
    }
}

static void asset_put(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const char *ref = http_param(req, "asset_ref");
    if (!model_asset_ref_valid(ref)) {
        http_resp_error(req, resp, 422, "validation", "asset_ref",
                        "asset_ref must be 1-64 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    struct change_job j = {0};
    if (!if_match(req, resp, &j.if_match, &j.if_revision))
        return;
    json_t *body = api_body_object(req, resp);
    if (!body)
        return;
    json_t *t = json_object_get(body, "tenant");
    if (json_is_string(t) && strcmp(json_string_value(t), tenant_of(req)) != 0) {
        http_resp_error(req, resp, 422, "validation", "tenant",
                        "an asset belongs to the tenant of the API key");
        return;
    }
    /* what GET adds is read-only: a GET body can be PUT back after an edit */
    static const char *const read_only[] = {"revision", "created_at",       "updated_at",
                                            "links",    "meters",           "calibration",
                                            "plans",    "open_work_orders", NULL};
    for (size_t i = 0; read_only[i]; i++)
        json_object_del(body, read_only[i]);
    j.kind = CHANGE_PUT;
    j.asset_ref = ref;
    j.body = body;
    change_answer(req, resp, ctxp, &j);
}

/* Resolve the {asset_ref} of an action to the stored asset_ref. */
static bool action_target(struct http_request *req, struct http_response *resp,
                          const struct api_ctx *ctx, const char **asset_ref)
{
    struct store_read *r;
    if (!read_begin(req, resp, ctx, &r))
        return false;
    bool ok = resolve(req, resp, r, http_param(req, "asset_ref"), asset_ref);
    store_read_end(r);
    return ok;
}

/* Check that every member of body is one of names and a string (or null
 * when nullable); answers 400 otherwise. */
static bool members_ok(struct http_request *req, struct http_response *resp, const json_t *body,
                       const char *const *names, bool nullable)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)body, key, v) {
        bool known = false;
        for (const char *const *n = names; *n; n++)
            known = known || strcmp(*n, key) == 0;
        if (!known) {
            http_resp_error(req, resp, 400, "validation", key, "unknown field");
            return false;
        }
        if (!json_is_string(v) && !(nullable && json_is_null(v))) {
            http_resp_error(req, resp, 400, "validation", key,
                            nullable ? "must be a string or null" : "must be a string");
            return false;
        }
    }
    return true;
}

static void asset_move(struct http_request *req, struct http_response *resp, void *ctxp)
{
    static const char *const names[] = {"site", "line", "cell", "parent", NULL};
    struct change_job j = {0};
    if (!if_match(req, resp, &j.if_match, &j.if_revision))
        return;
    json_t *body = api_body_object(req, resp);
    if (!body || !members_ok(req, resp, body, names, true))
        return;
    if (json_object_size(body) == 0) {
        http_resp_error(req, resp, 422, "validation", NULL,
                        "give at least one of site, line, cell, parent");
        return;
    }
    if (!action_target(req, resp, ctxp, &j.asset_ref))
        return;
    j.kind = CHANGE_MOVE;
    j.body = body;
    change_answer(req, resp, ctxp, &j);
}

static void asset_retire(struct http_request *req, struct http_response *resp, void *ctxp)
{
    static const char *const names[] = {"status", NULL};
    struct change_job j = {0};
    if (!if_match(req, resp, &j.if_match, &j.if_revision))
        return;
    j.status = "retired";
    if (req->body_len) {
        json_t *body = api_body_object(req, resp);
        if (!body || !members_ok(req, resp, body, names, false))
            return;
        const char *s = json_string_value(json_object_get(body, "status"));
        if (s && strcmp(s, "retired") != 0 && strcmp(s, "scrapped") != 0) {
            http_resp_error(req, resp, 422, "validation", "status",
                            "status must be retired or scrapped");
            return;
        }
        if (s)
            j.status = s;
    }
    if (!action_target(req, resp, ctxp, &j.asset_ref))
        return;
    j.kind = CHANGE_RETIRE;
    change_answer(req, resp, ctxp, &j);
}

/* ---- links ------------------------------------------------------------------- */

/* A provider id: 1..64 characters of [A-Za-z0-9._-] (no ':', which separates
 * it from the native id in a reference). */
static bool provider_valid(const char *s)
{
    return model_ref_valid(s) && !strchr(s, ':');
}

static bool native_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NATIVE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

struct link_job {
    const char *tenant, *actor, *provider, *native_id, *asset_ref;
    struct arena *a;
    bool existed;      /* OUT: linked to this asset already */
    const char *other; /* OUT: linked to this other asset */
    struct store_link link;
};

static enum ab_rc link_run(struct store_tx *tx, void *arg)
{
    struct link_job *j = arg;
    enum ab_rc rc = store_link_get_tx(tx, j->tenant, j->provider, j->native_id, j->a, &j->link);
    if (rc == AB_OK) {
        if (strcmp(j->link.asset_ref, j->asset_ref) == 0) {
            j->existed = true;
            return AB_OK;
        }
        j->other = j->link.asset_ref;
        return AB_ECONFLICT;
    }
    if (rc != AB_ENOTFOUND)
        return rc;
    rc = store_link_add(tx, j->tenant, j->provider, j->native_id, j->asset_ref, j->actor);
    if (!rc)
        rc = store_link_get_tx(tx, j->tenant, j->provider, j->native_id, j->a, &j->link);
    return rc;
}

static void link_add(struct http_request *req, struct http_response *resp, void *ctxp)
{
    static const char *const names[] = {"provider", "native_id", NULL};
    json_t *body = api_body_object(req, resp);
    if (!body || !members_ok(req, resp, body, names, false))
        return;
    struct link_job j = {0};
    j.provider = json_string_value(json_object_get(body, "provider"));
    j.native_id = json_string_value(json_object_get(body, "native_id"));
    if (!j.provider || !provider_valid(j.provider)) {
        http_resp_error(req, resp, 422, "validation", "provider",
                        "provider is required: 1-64 characters of A-Z a-z 0-9 . _ -");
        return;
    }
    if (!j.native_id || !native_id_valid(j.native_id)) {
        http_resp_error(req, resp, 422, "validation", "native_id",
                        "native_id is required: 1-256 characters without control characters");
        return;
    }
    if (!action_target(req, resp, ctxp, &j.asset_ref))
        return;
    const struct api_ctx *ctx = ctxp;
    j.tenant = tenant_of(req);
    j.actor = actor_of(req);
    j.a = req->arena;
    enum ab_rc rc = store_write(ctx->store, link_run, &j, req->correlation_id);
    if (rc == AB_ECONFLICT && j.other) {
        http_resp_error(req, resp, 409, "conflict", "native_id",
                        arena_printf(req->arena,
                                     "identity conflict: %s '%s' is linked to asset '%s' already",
                                     j.provider, j.native_id, j.other));
    } else if (rc == AB_ENOTFOUND) {
        not_found(req, resp, "asset_ref", "asset", j.asset_ref);
    } else if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
    } else {
        http_resp_json(resp, j.existed ? 200 : 201,
                       json_pack("{s:s, s:s, s:s, s:o}", "asset_ref", j.asset_ref, "provider",
                                 j.link.provider, "native_id", j.link.native_id, "linked_at",
                                 api_time(j.link.linked_at)));
    }
}

static enum ab_rc unlink_run(struct store_tx *tx, void *arg)
{
    struct link_job *j = arg;
    return store_link_remove(tx, j->tenant, j->provider, j->native_id, j->asset_ref, j->actor);
}

static void link_delete(struct http_request *req, struct http_response *resp, void *ctxp)
{
    struct link_job j = {0};
    if (!action_target(req, resp, ctxp, &j.asset_ref))
        return;
    const struct api_ctx *ctx = ctxp;
    j.tenant = tenant_of(req);
    j.actor = actor_of(req);
    j.provider = http_param(req, "provider");
    j.native_id = http_param(req, "native_id");
    enum ab_rc rc = store_write(ctx->store, unlink_run, &j, req->correlation_id);
    if (rc == AB_ENOTFOUND) {
        http_resp_error(req, resp, 404, "not_found", "native_id",
                        arena_printf(req->arena, "asset '%s' has no link to %s '%s'", j.asset_ref,
                                     j.provider, j.native_id));
    } else if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
    } else {
        resp->status = 204;
    }
}

/* ---- mapping exceptions --------------------------------------------------------- */

static json_t *exception_json(const struct store_mapping_exception *e)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?, s:s}", "id", e->id, "provider",
                          e->provider, "entity", e->entity, "native_id", e->native_id, "reason",
                          e->reason, "message", e->message, "state", e->state);
    if (!o)
        o = json_object();
    json_object_set_new(o, "candidates", stored_json(e->candidates));
    json_object_set_new(o, "change", stored_json(e->change));
    json_object_set_new(o, "resolution", stored_json(e->resolution));
    json_object_set_new(o, "created_at", api_time(e->created_at));
    json_object_set_new(o, "resolved_at", api_time(e->resolved_at));
    return o;
}

static void exceptions_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    size_t limit;
    const char *cursor;
    if (!api_limit(req, resp, &limit) || !api_cursor_decode(req, resp, &cursor))
        return;
    const char *state = query(req, "state");
    if (!state)
        state = "open";
    if (strcmp(state, "open") != 0 && strcmp(state, "resolved") != 0 &&
        strcmp(state, "ignored") != 0) {
        http_resp_error(req, resp, 422, "validation", "state",
                        "state must be open, resolved or ignored");
        return;
    }
    int64_t after_at = INT64_MIN;
    const char *after_id = "";
    if (*cursor) {
        const char *comma = strchr(cursor, ',');
        if (!comma || str_to_i64n(cursor, (size_t)(comma - cursor), &after_at)) {
            http_resp_error(req, resp, 422, "validation", "cursor",
                            "malformed cursor: pass next_cursor back unchanged");
            return;
        }
        after_id = comma + 1;
    }
    struct store_read *r;
    if (!read_begin(req, resp, ctxp, &r))
        return;
    struct store_mapping_exception *v;
    size_t n;
    enum ab_rc rc = store_mapping_exceptions_list(r, tenant_of(req), state, after_at, after_id,
                                                  limit + 1, req->arena, &v, &n);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(items, exception_json(&v[i]));
    const char *next = NULL;
    if (n > limit)
        next = api_cursor_encode(req->arena,
                                 arena_printf(req->arena, "%lld,%s",
                                              (long long)v[limit - 1].created_at, v[limit - 1].id));
    http_resp_json(resp, 200, api_page(items, next));
}

static void exception_get(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const char *id = http_param(req, "id");
    struct store_read *r;
    if (!read_begin(req, resp, ctxp, &r))
        return;
    struct store_mapping_exception e;
    enum ab_rc rc = store_mapping_exception_get(r, tenant_of(req), id, req->arena, &e);
    store_read_end(r);
    if (rc == AB_ENOTFOUND)
        not_found(req, resp, "id", "mapping exception", id);
    else if (rc)
        api_error_rc(req, resp, rc, NULL, NULL);
    else
        http_resp_json(resp, 200, exception_json(&e));
}

struct resolve_job {
    const char *tenant, *actor, *id, *target;
    enum store_resolve_action action;
    struct arena *a;
    bool not_found;  /* OUT: no such exception */
    bool bad_target; /* OUT: the asset to link to does not exist */
    struct store_upsert_result res;
    struct store_mapping_exception after;
};

static enum ab_rc resolve_run(struct store_tx *tx, void *arg)
{
    struct resolve_job *j = arg;
    enum ab_rc rc = store_mapping_exception_get_tx(tx, j->tenant, j->id, j->a, &j->after);
    if (rc == AB_ENOTFOUND)
        j->not_found = true;
    if (rc)
        return rc;
    if (j->action == STORE_RESOLVE_LINK && strcmp(j->after.state, "open") == 0) {
        struct store_asset_row row;
        rc = store_asset_get_tx(tx, j->tenant, j->target, j->a, &row);
        if (rc == AB_ENOTFOUND) {
            j->bad_target = true;
            return AB_EINVAL;
        }
        if (rc)
            return rc;
    }
    rc = store_mapping_exception_resolve(tx, j->tenant, j->id, j->action, j->target, j->actor, j->a,
                                         &j->res);
    if (!rc)
        rc = store_mapping_exception_get_tx(tx, j->tenant, j->id, j->a, &j->after);
    return rc;
}

static void exception_resolve(struct http_request *req, struct http_response *resp, void *ctxp)
{
    static const char *const names[] = {"action", "asset_ref", NULL};
    json_t *body = api_body_object(req, resp);
    if (!body || !members_ok(req, resp, body, names, false))
        return;
    struct resolve_job j = {0};
    const char *action = json_string_value(json_object_get(body, "action"));
    j.target = json_string_value(json_object_get(body, "asset_ref"));
    if (action && strcmp(action, "link") == 0) {
        j.action = STORE_RESOLVE_LINK;
    } else if (action && strcmp(action, "create") == 0) {
        j.action = STORE_RESOLVE_CREATE;
    } else if (action && strcmp(action, "ignore") == 0) {
        j.action = STORE_RESOLVE_IGNORE;
        j.target = NULL;
    } else {
        http_resp_error(req, resp, 422, "validation", "action",
                        "action is required: link, create or ignore");
        return;
    }
    if (j.action == STORE_RESOLVE_LINK && !j.target) {
        http_resp_error(req, resp, 422, "validation", "asset_ref",
                        "action link needs the asset_ref to link to");
        return;
    }
    if (j.target && !model_asset_ref_valid(j.target)) {
        http_resp_error(req, resp, 422, "validation", "asset_ref",
                        "asset_ref must be 1-64 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    const struct api_ctx *ctx = ctxp;
    j.tenant = tenant_of(req);
    j.actor = actor_of(req);
    j.id = http_param(req, "id");
    j.a = req->arena;
    enum ab_rc rc = store_write(ctx->store, resolve_run, &j, req->correlation_id);
    if (rc == AB_OK) {
        json_t *o = exception_json(&j.after);
        if (j.action != STORE_RESOLVE_IGNORE)
            json_object_set_new(o, "result",
                                json_pack("{s:s, s:s?}", "outcome",
                                          store_upsert_outcome_name(j.res.outcome), "subject",
                                          j.res.subject));
        http_resp_json(resp, 200, o);
    } else if (j.not_found) {
        not_found(req, resp, "id", "mapping exception", j.id);
    } else if (j.bad_target) {
        http_resp_error(req, resp, 422, "validation", "asset_ref",
                        arena_printf(req->arena, "asset '%s' does not exist", j.target));
    } else if (rc == AB_ECONFLICT || rc == AB_EINVAL || rc == AB_ENOTFOUND) {
        /* not open any more, a conflicting link or asset (409); a target or
         * an action that does not fit the held record (422) */
        const char *field = NULL;
        if (rc != AB_ECONFLICT)
            field = j.action == STORE_RESOLVE_LINK && rc == AB_EINVAL ? "action" : "asset_ref";
        api_error_rc(req, resp, rc == AB_ENOTFOUND ? AB_EINVAL : rc, field,
                     j.res.message[0] ? j.res.message : NULL);
    } else {
        api_error_rc(req, resp, rc, NULL, NULL);
    }
}

/* ---- audit ----------------------------------------------------------------------- */

static bool time_param(struct http_request *req, struct http_response *resp, const char *name,
                       int64_t *ms)
{
    const char *v = query(req, name);
    if (!v || !time_parse_rfc3339(v, ms))
        return true;
    http_resp_error(req, resp, 422, "validation", name,
                    "must be an RFC 3339 time such as 2025-01-31T00:00:00Z");
    return false;
}

static void audit_query(struct http_request *req, struct http_response *resp, void *ctxp)
{
    size_t limit;
    const char *cursor;
    if (!api_limit(req, resp, &limit) || !api_cursor_decode(req, resp, &cursor))
        return;
    int64_t before = 0, from = INT64_MIN, to = INT64_MAX;
    if (*cursor && (str_to_i64(cursor, &before) || before < 1)) {
        http_resp_error(req, resp, 422, "validation", "cursor",
                        "malformed cursor: pass next_cursor back unchanged");
        return;
    }
    if (!time_param(req, resp, "from", &from) || !time_param(req, resp, "to", &to))
        return;
    struct store_read *r;
    if (!read_begin(req, resp, ctxp, &r))
        return;
    struct store_audit *v;
    size_t n;
    enum ab_rc rc = store_audit_query(r, tenant_of(req), query(req, "subject"), query(req, "actor"),
                                      query(req, "correlation_id"), from, to, before, limit + 1,
                                      req->arena, &v, &n);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n && i < limit; i++) {
        const struct store_audit *au = &v[i];
        json_t *o = json_pack("{s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "id", (json_int_t)au->id,
                              "actor", au->actor, "action", au->action, "subject", au->subject,
                              "before_digest", au->before_digest, "after_digest", au->after_digest,
                              "correlation_id", au->correlation_id);
        if (!o)
            continue;
        static const char *const nullable[] = {"before_digest", "after_digest", "correlation_id"};
        for (size_t k = 0; k < sizeof(nullable) / sizeof(nullable[0]); k++)
            if (!json_object_get(o, nullable[k]))
                json_object_set_new(o, nullable[k], json_null());
        json_object_set_new(o, "detail", stored_json(au->detail));
        json_object_set_new(o, "at", api_time(au->at));
        json_array_append_new(items, o);
    }
    const char *next = NULL;
    if (n > limit)
        next = api_cursor_encode(req->arena,
                                 arena_printf(req->arena, "%lld", (long long)v[limit - 1].id));
    http_resp_json(resp, 200, api_page(items, next));
}

/* Action routes come before the plain ones they could shadow (an asset_ref
 * may contain ':'). */
const struct http_route api_assets_routes[] = {
    {"GET", "/v1/assets:lookup", asset_lookup, 0, SCOPE_READ},
    {"GET", "/v1/assets", assets_list, 0, SCOPE_READ},
    {"POST", "/v1/assets/{asset_ref}:move", asset_move, SMALL_BODY_MAX, SCOPE_WRITE},
    {"POST", "/v1/assets/{asset_ref}:retire", asset_retire, SMALL_BODY_MAX, SCOPE_WRITE},
    {"POST", "/v1/assets/{asset_ref}/links", link_add, SMALL_BODY_MAX, SCOPE_WRITE},
    {"DELETE", "/v1/assets/{asset_ref}/links/{provider}/{native_id}", link_delete, 0, SCOPE_WRITE},
    {"GET", "/v1/assets/{asset_ref}", asset_get, 0, SCOPE_READ},
    {"PUT", "/v1/assets/{asset_ref}", asset_put, ASSET_BODY_MAX, SCOPE_WRITE},
    {"GET", "/v1/mapping-exceptions", exceptions_list, 0, SCOPE_READ},
    {"POST", "/v1/mapping-exceptions/{id}:resolve", exception_resolve, SMALL_BODY_MAX, SCOPE_WRITE},
    {"GET", "/v1/mapping-exceptions/{id}", exception_get, 0, SCOPE_READ},
    {"GET", "/v1/audit", audit_query, 0, SCOPE_READ},
    {NULL, NULL, NULL, 0, 0},
};
