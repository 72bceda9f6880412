/* SPDX-License-Identifier: Apache-2.0
 *
 * readings.c: the meter readings routes of /v1 (called by the HTTP server
 * through the route table below):
 *   POST /v1/readings                                   one reading (ingest)
 *   POST /v1/readings:batch                             NDJSON or JSON array (ingest)
 *   GET  /v1/assets/{asset_ref}/meters                  an asset's meters (read)
 *   GET  /v1/assets/{asset_ref}/meters/{meter}/readings a meter's history (read)
 * Writes answer 202 only once the store says the readings are durable.
 * Batch bodies are split and parsed item by item (api/batch.h), never as
 * one document. Every query is confined to the caller's tenant.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/api_int.h"
#include "api/api_util.h"
#include "api/batch.h"
#include "api/metrics.h"
#include "core/clock.h"
#include "core/str.h"
#include "http/json.h"
#include "store/assets.h"
#include "store/readings.h"

#define BATCH_ROUTE_MAX_BODY (16u * 1024 * 1024) /* replaced by server.limits.max_batch_body */
#define INGESTED_METRIC "assetbridge_readings_ingested_total"

static struct store_readings_policy policy_of(const struct api_ctx *ctx)
{
    struct store_readings_policy p = {STORE_BACKWARDS_REJECT, ctx->cfg};
    const char *b = ctx->cfg->meters.counter_backwards;
    if (b && strcmp(b, "reset") == 0)
        p.backwards = STORE_BACKWARDS_RESET;
    return p;
}

/* A number as JSON: whole numbers as integers, so 1234 stays 1234. */
static json_t *num_json(double v)
{
    if (isnan(v) || isinf(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* The store's answer when a whole write failed (nothing stored). */
static void store_failed(struct http_request *req, struct http_response *resp, enum ab_rc rc)
{
    api_error_rc(req, resp, rc, NULL,
                 rc == AB_EAGAIN ? "the store is busy; nothing was stored, retry shortly" : NULL);
}

static const char *error_class(enum ab_rc rc)
{
    switch (rc) {
    case AB_EIDENTITY: return "identity";
    case AB_ECONFLICT: return "conflict";
    default: return "validation";
    }
}

/* ---- POST /v1/readings --------------------------------------------------- */

/* A single reading waiting for its group commit: the connection is
 * suspended meanwhile (http_defer), so no thread waits for the fsync. */
struct reading_wait {
    struct http_request *req;
    struct model_reading r;
    struct store_reading_result res;
    enum ab_rc rc; /* of the store job */
};

/* Runs on the store's writer thread once the reading is durable: only
 * hands the connection back (the response is built on a server thread, off
 * the writer's hot path). */
static void reading_done(void *arg, enum ab_rc rc)
{
    struct reading_wait *w = arg;
    w->rc = rc;
    http_complete(w->req);
}

/* Builds the answer of a single reading on a server thread. */
static void reading_answer(struct http_request *req, struct http_response *resp, void *arg)
{
    const struct reading_wait *w = arg;
    const struct store_reading_result *res = &w->res;
    enum ab_rc rc = w->rc;
    if (rc) {
        store_failed(req, resp, rc);
    } else if (res->status == STORE_READING_REJECTED) {
        api_error_rc(req, resp, res->rc, res->field[0] ? res->field : NULL, res->message);
    } else {
        if (res->status == STORE_READING_ACCEPTED)
            metrics_add(INGESTED_METRIC, 1);
        /* a replay names the asset of the original reading (empty once pruned) */
        json_t *o = json_pack("{s:s, s:I, s:s, s:s}", "status",
                              res->status == STORE_READING_DUPLICATE ? "duplicate" : "accepted",
                              "reading_id", (json_int_t)res->reading_id, "asset_ref",
                              res->asset_ref[0] ? res->asset_ref : w->r.asset_ref, "meter",
                              w->r.meter_type);
        if (!isnan(res->total))
            json_object_set_new(o, "total", num_json(res->total));
        http_resp_json(resp, 202, o);
    }
}

static void reading_post(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const struct api_principal *p = api_principal(req);
    json_t *body = api_body_object(req, resp);
    if (!body)
        return;
    struct reading_wait *w = arena_zalloc(req->arena, sizeof(*w));
    struct model_error err;
    if (batch_reading_from_json(req->arena, body, http_header(req, "Idempotency-Key"),
                                clock_now_ms(), ctx->cfg->meters.max_future_ms, &w->r, &err)) {
        api_error_model(req, resp, &err);
        return;
    }
    w->req = req;
    struct store_readings_policy pol = policy_of(ctx);
    http_defer(req, reading_answer, w);
    enum ab_rc rc = store_readings_append_async(ctx->store, p->tenant, &w->r, 1, &pol, &w->res,
                                                req->correlation_id, reading_done, w);
    if (rc) {
        w->rc = rc;
        http_complete(req);
    }
}

/* ---- POST /v1/readings:batch --------------------------------------------- */

/* The media type of the request without parameters, compared
 * case-insensitively with want. */
static bool media_type_is(const char *ct, const char *want)
{
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen(want);
    for (size_t i = 0; i < n; i++) {
        char c = ct[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != want[i])
            return false;
    }
    ct += n;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* What happened to one item of a batch before the store saw it. */
struct item {
    struct model_error *err; /* parse error, or NULL */
    size_t stored;           /* index into the readings given to the store */
};

static json_t *item_error(enum ab_rc rc, const char *field, const char *message)
{
    json_t *e = json_pack("{s:s, s:s}", "class", error_class(rc), "message", message);
    if (!e) /* a message that is not UTF-8 (never expected) */
        e = json_pack("{s:s, s:s}", "class", error_class(rc), "message", "invalid item");
    if (field && field[0])
        json_object_set_new(e, "field", json_string(field));
    return e;
}

/* A batch between its parse and its answer: the items stored in one group
 * commit while the connection is suspended. */
struct batch_wait {
    struct http_request *req;
    struct item *items;
    size_t n;
    struct model_reading *readings;
    size_t n_ok;
    struct store_reading_result *results;
    enum ab_rc rc;
};

static void batch_done(void *arg, enum ab_rc rc)
{
    struct batch_wait *w = arg;
    w->rc = rc;
    http_complete(w->req);
}

/* Builds the batch's answer on a server thread. */
static void batch_answer(struct http_request *req, struct http_response *resp, void *arg)
{
    const struct batch_wait *w = arg;
    if (w->rc) {
        store_failed(req, resp, w->rc);
        return;
    }
    const struct item *items = w->items;
    const struct store_reading_result *results = w->results;
    json_int_t accepted = 0, duplicates = 0, rejected = 0;
    json_t *list = json_array();
    for (size_t i = 0; i < w->n; i++) {
        json_t *e = NULL;
        const char *status;
        if (items[i].err) {
            const struct model_error *me = items[i].err;
            e = item_error(me->kind == MODEL_ERR_TYPE ? AB_EPARSE : AB_EINVAL, me->field,
                           me->message);
            status = "rejected";
        } else {
            const struct store_reading_result *res = &results[items[i].stored];
            if (res->status == STORE_READING_ACCEPTED) {
                accepted++;
                continue;
            }
            if (res->status == STORE_READING_DUPLICATE) {
                status = "duplicate";
            } else {
                e = item_error(res->rc, res->field, res->message);
                status = "rejected";
            }
        }
        if (e)
            rejected++;
        else
            duplicates++;
        json_t *it = json_pack("{s:I, s:s}", "index", (json_int_t)i, "status", status);
        if (e)
            json_object_set_new(it, "error", e);
        json_array_append_new(list, it);
    }
    if (accepted)
        metrics_add(INGESTED_METRIC, accepted);
    json_t *o = json_pack("{s:I, s:I, s:I, s:o}", "accepted", accepted, "duplicates", duplicates,
                          "rejected", rejected, "items", list);
    http_resp_json(resp, 202, o);
}

static void readings_batch(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const struct api_principal *p = api_principal(req);
    const char *ct = http_header(req, "Content-Type");
    enum batch_format fmt;
    if (media_type_is(ct, "application/x-ndjson")) {
        fmt = BATCH_NDJSON;
    } else if (media_type_is(ct, "application/json")) {
        fmt = BATCH_JSON_ARRAY;
    } else {
        http_resp_error(req, resp, 415, "validation", NULL,
                        "send the batch as application/x-ndjson (one reading per line) or "
                        "application/json (an array of readings)");
        return;
    }

    struct batch_span *spans = NULL;
    size_t n = 0;
    char why[BATCH_ERR_MAX];
    enum ab_rc rc =
        batch_split(req->arena, fmt, req->body, req->body_len, BATCH_MAX_ITEMS, &spans, &n, why);
    if (rc == AB_ETOOLARGE) {
        http_resp_error(req, resp, 413, "too_large", NULL, why);
        return;
    }
    if (rc) {
        http_resp_error(req, resp, 400, "validation", NULL, why);
        return;
    }

    struct batch_wait *w = arena_zalloc(req->arena, sizeof(*w));
    w->req = req;
    w->n = n;
    w->items = arena_zalloc(req->arena, (n ? n : 1) * sizeof(*w->items));
    w->readings = arena_alloc(req->arena, (n ? n : 1) * sizeof(*w->readings));
    int64_t now = clock_now_ms();
    struct model_error err;
    for (size_t i = 0; i < n; i++) {
        if (batch_item_parse(req->arena, req->body + spans[i].off, spans[i].len, now,
                             ctx->cfg->meters.max_future_ms, &w->readings[w->n_ok], &err)) {
            w->items[i].err = arena_alloc(req->arena, sizeof(err));
            *w->items[i].err = err;
        } else {
            w->items[i].stored = w->n_ok++;
        }
    }
    if (!w->n_ok) {
        batch_answer(req, resp, w);
        return;
    }
    struct store_readings_policy pol = policy_of(ctx);
    w->results = arena_alloc(req->arena, w->n_ok * sizeof(*w->results));
    /* the commit holds no server thread: the connection waits suspended */
    http_defer(req, batch_answer, w);
    rc = store_readings_append_async(ctx->store, p->tenant, w->readings, w->n_ok, &pol, w->results,
                                     req->correlation_id, batch_done, w);
    if (rc) {
        w->rc = rc;
        http_complete(req);
    }
}

/* ---- reads ------------------------------------------------------------------ */

/* Resolve the {asset_ref} path parameter within the caller's tenant. False
 * after answering: 404 when nothing matches, 422 identity when several do. */
static bool resolve_path_asset(struct http_request *req, struct http_response *resp,
                               struct store_read *r, const char **asset_ref /* OUT */)
{
    const char *ref = http_param(req, "asset_ref");
    const char **cands = NULL;
    size_t nc = 0;
    enum ab_rc rc =
        store_asset_resolve(r, api_principal(req)->tenant, ref, req->arena, asset_ref, &cands, &nc);
    if (!rc)
        return true;
    bool printable = str_utf8_valid(ref, strlen(ref)) && strlen(ref) <= 128;
    if (rc == AB_EIDENTITY && nc > 1) {
        char list[400] = "";
        for (size_t i = 0; i < nc; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", cands[i]);
        }
        char *msg = arena_printf(req->arena, "asset reference '%s' is ambiguous: it matches %s",
                                 printable ? ref : "?", list);
        http_resp_error(req, resp, 422, "identity", "asset_ref", msg);
    } else if (rc == AB_EIDENTITY) {
        char *msg = printable ? arena_printf(req->arena, "no asset matches the reference '%s'", ref)
                              : "no asset matches the reference";
        http_resp_error(req, resp, 404, "not_found", "asset_ref", msg);
    } else {
        api_error_rc(req, resp, rc, NULL, NULL);
    }
    return false;
}

static void meters_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    struct store_read *r;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    const char *asset_ref;
    struct store_meter_row *rows = NULL;
    size_t n = 0;
    if (!resolve_path_asset(req, resp, r, &asset_ref)) {
        store_read_end(r);
        return;
    }
    rc = store_meters_list(r, api_principal(req)->tenant, asset_ref, req->arena, &rows, &n);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_meter_row *m = &rows[i];
        json_t *o = json_pack("{s:s, s:o, s:I, s:o, s:o, s:s}", "meter", m->meter_type, "value",
                              num_json(m->value), "reading_count", (json_int_t)m->reading_count,
                              "last_read_at", api_time(m->last_read_at), "unit",
                              m->unit ? json_string(m->unit) : json_null(), "kind",
                              m->kind ? m->kind : "counter");
        json_array_append_new(items, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    http_resp_json(resp, 200, o);
}

/* Cursor text: "READ_AT_MS:ID" of the last reading of the previous page. */
static bool readings_cursor(struct http_request *req, struct http_response *resp,
                            int64_t *read_at /* OUT */, int64_t *id /* OUT */)
{
    const char *text;
    if (!api_cursor_decode(req, resp, &text))
        return false;
    *read_at = INT64_MIN;
    *id = 0;
    if (!*text)
        return true;
    const char *colon = strchr(text, ':');
    if (colon && !str_to_i64n(text, (size_t)(colon - text), read_at) && !str_to_i64(colon + 1, id))
        return true;
    http_resp_error(req, resp, 422, "validation", "cursor",
                    "malformed cursor: pass next_cursor back unchanged");
    return false;
}

static void readings_list(struct http_request *req, struct http_response *resp, void *ctxp)
{
    const struct api_ctx *ctx = ctxp;
    const char *tenant = api_principal(req)->tenant;
    const char *meter = http_param(req, "meter");
    size_t limit;
    int64_t after_at, after_id;
    if (!api_limit(req, resp, &limit) || !readings_cursor(req, resp, &after_at, &after_id))
        return;
    struct store_read *r;
    enum ab_rc rc = store_read_begin(ctx->store, &r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    const char *asset_ref;
    if (!resolve_path_asset(req, resp, r, &asset_ref)) {
        store_read_end(r);
        return;
    }
    struct store_meter_row *meters = NULL;
    size_t n_meters = 0;
    rc = store_meters_list(r, tenant, asset_ref, req->arena, &meters, &n_meters);
    bool has_meter = false;
    for (size_t i = 0; !rc && i < n_meters && !has_meter; i++)
        has_meter = strcmp(meters[i].meter_type, meter) == 0;
    struct store_reading_row *rows = NULL;
    size_t n = 0;
    /* one more than a page tells whether another page follows */
    if (!rc && has_meter)
        rc = store_readings_list(r, tenant, asset_ref, meter, after_at, after_id, limit + 1,
                                 req->arena, &rows, &n);
    store_read_end(r);
    if (rc) {
        api_error_rc(req, resp, rc, NULL, NULL);
        return;
    }
    if (!has_meter) {
        char *msg = str_utf8_valid(meter, strlen(meter)) && strlen(meter) <= 64
                        ? arena_printf(req->arena, "asset '%s' has no meter '%s'", asset_ref, meter)
                        : arena_printf(req->arena, "asset '%s' has no such meter", asset_ref);
        http_resp_error(req, resp, 404, "not_found", "meter", msg);
        return;
    }
    const char *next = NULL;
    if (n > limit) {
        n = limit;
        char cur[48];
        snprintf(cur, sizeof(cur), "%lld:%lld", (long long)rows[n - 1].read_at,
                 (long long)rows[n - 1].id);
        next = api_cursor_encode(req->arena, cur);
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct store_reading_row *x = &rows[i];
        json_t *o =
            json_pack("{s:I, s:o, s:o, s:o, s:s, s:b}", "id", (json_int_t)x->id, "read_at",
                      api_time(x->read_at), x->is_increment ? "increment" : "value",
                      num_json(x->amount), "total", num_json(x->total), "source",
                      x->source ? x->source : "", "reset", (x->flags & STORE_READING_RESET) != 0);
        json_array_append_new(items, o);
    }
    http_resp_json(resp, 200, api_page(items, next));
}

const struct http_route api_readings_routes[] = {
    {"POST", "/v1/readings:batch", readings_batch, BATCH_ROUTE_MAX_BODY,
     SCOPE_INGEST | API_BATCH_BODY},
    {"POST", "/v1/readings", reading_post, 0, SCOPE_INGEST},
    {"GET", "/v1/assets/{asset_ref}/meters", meters_list, 0, SCOPE_READ},
    {"GET", "/v1/assets/{asset_ref}/meters/{meter}/readings", readings_list, 0, SCOPE_READ},
    {NULL, NULL, NULL, 0, 0},
};
