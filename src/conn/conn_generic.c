/* SPDX-License-Identifier: Apache-2.0
 *
 * conn_generic.c: the connector for the `generic` provider, written from its
 * contract (docs/sim/generic.md): a REST/JSON EAM under /api/v1 with Bearer
 * authentication, incremental lists by `updated_since` + cursor chains that
 * pin a watermark, Idempotency-Key on POST and PATCH (a repeat replays the
 * first answer and applies nothing) and If-Match on versions.
 *
 * It pulls assets, meters, plans and work orders (translated to canonical
 * documents by constant tables), pushes meter readings (absolute values),
 * creates work orders (open_request) and updates them, maps every HTTP
 * outcome to a conn_outcome, and resolves an unknown outcome by replaying the
 * request with the same Idempotency-Key. The mapping tables and decisions
 * are documented in docs/connectors/generic.md.
 */
#include "conn/conn_generic.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn_util.h"
#include "client/client.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/retry_after.h"
#include "core/timefmt.h"
#include "core/xmalloc.h"
#include "model/asset.h"

#define GEN_RETRY_AFTER_CEILING_MS (60 * 60 * 1000)
#define GEN_RESPONSE_KEEP 2048 /* bytes of a provider answer kept in a conn_result */

struct gen_ctx {
    struct client *client; /* the engine's, or own_client */
    struct client *own_client;
    char *auth_header; /* "Bearer <token>", or NULL for scheme none */
    char *prefix;      /* "" or "/api/v1": prepended to every contract path */
    bool https;        /* base_url uses TLS */
};

/* ---- tables -------------------------------------------------------------------- */

/* Native asset type -> canonical type. Unknown types map to "other" (the
 * native type is always kept in attributes.generic_type). The first row of
 * a canonical type is what CONN_TO_NATIVE answers for it. */
static const struct {
    const char *native;
    const char *canonical;
} asset_types[] = {
    {"test_station", "station"},
    {"ict_fixture", "fixture"},
    {"fixture", "fixture"},
    {"multimeter", "instrument"},
    {"oscilloscope", "instrument"},
    {"power_supply", "instrument"},
    {"torque_tool", "tool"},
    {"tool", "tool"},
    {"other", "other"},
};

/* Native asset status <-> canonical asset status (first row per canonical
 * value answers the reverse direction). */
static const struct {
    const char *native;
    const char *canonical;
} asset_statuses[] = {
    {"active", "active"},
    {"inactive", "in_storage"},
    {"in_repair", "in_repair"},
    {"retired", "retired"},
};

/* Native work-order status <-> common status. draft, assigned and closed
 * have no native counterpart. */
static const struct {
    const char *native;
    const char *common;
} wo_statuses[] = {
    {"open", "open"},
    {"in_progress", "in_progress"},
    {"on_hold", "on_hold"},
    {"completed", "completed"},
    {"cancelled", "cancelled"},
    /* sent only (a native status reads back as the first row naming it): the
     * generic contract has no "assigned" nor "closed" */
    {"assigned", "open"},
    {"closed", "completed"},
};

/* Native work-order types are the canonical ones. */
static const char *const wo_types[] = {"corrective", "preventive", "calibration", "inspection"};

/* Native priority 1 (highest)..5 -> canonical priority. */
static const char *const priorities[] = {"urgent", "high", "medium", "low", "low"};

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

bool conn_generic_asset_type(const char *native, const char **canonical /* OUT */)
{
    for (size_t i = 0; native && i < NELEM(asset_types); i++)
        if (strcmp(asset_types[i].native, native) == 0) {
            *canonical = asset_types[i].canonical;
            return true;
        }
    *canonical = "other";
    return false;
}

static const char *asset_type_to_native(const char *canonical)
{
    for (size_t i = 0; canonical && i < NELEM(asset_types); i++)
        if (strcmp(asset_types[i].canonical, canonical) == 0)
            return asset_types[i].native;
    return NULL;
}

static const char *asset_status_map(const char *v, bool to_canonical)
{
    for (size_t i = 0; v && i < NELEM(asset_statuses); i++) {
        const char *from = to_canonical ? asset_statuses[i].native : asset_statuses[i].canonical;
        if (strcmp(from, v) == 0)
            return to_canonical ? asset_statuses[i].canonical : asset_statuses[i].native;
    }
    return NULL;
}

enum ab_rc conn_generic_wo_status_to_common(const char *native, const char **common /* OUT */)
{
    for (size_t i = 0; native && i < NELEM(wo_statuses); i++)
        if (strcmp(wo_statuses[i].native, native) == 0) {
            *common = wo_statuses[i].common;
            return AB_OK;
        }
    *common = NULL;
    return AB_ENOTFOUND;
}

enum ab_rc conn_generic_wo_status_to_native(const char *common, const char **native /* OUT */)
{
    for (size_t i = 0; common && i < NELEM(wo_statuses); i++)
        if (strcmp(wo_statuses[i].common, common) == 0) {
            *native = wo_statuses[i].native;
            return AB_OK;
        }
    *native = NULL;
    return AB_ENOTFOUND;
}

static bool wo_type_known(const char *t)
{
    for (size_t i = 0; t && i < NELEM(wo_types); i++)
        if (strcmp(wo_types[i], t) == 0)
            return true;
    return false;
}

static int priority_to_native(const char *canonical)
{
    for (size_t i = 0; canonical && i < 4; i++)
        if (strcmp(priorities[i], canonical) == 0)
            return (int)i + 1;
    return 0;
}

/* ---- outcome mapping ---------------------------------------------------------- */

void conn_generic_http_outcome(int status, const char *error_code, const char *retry_after,
                               int64_t now_ms, struct conn_result *out /* OUT */)
{
    out->retry_after_ms = -1;
    if (status >= 200 && status < 300) {
        out->outcome = CONN_OK;
        out->error_class = NULL;
        out->message = NULL;
        return;
    }
    out->outcome = CONN_PERMANENT;
    switch (status) {
    case 400:
    case 422:
        out->error_class = "validation";
        out->message = "the provider rejected the request as invalid";
        break;
    case 401:
        if (error_code && strcmp(error_code, "token_expired") == 0) {
            /* the contract: the token is accepted again on the next request */
            out->outcome = CONN_RETRYABLE;
            out->error_class = "auth_expired";
            out->message = "the provider reported the token expired; retrying";
            out->retry_after_ms = 0;
        } else {
            out->error_class = "auth";
            out->message = "the provider refused the credentials (401): check the provider's "
                           "auth token";
        }
        break;
    case 403:
        out->error_class = "forbidden";
        out->message = "the provider refused the operation (403)";
        break;
    case 404:
        out->error_class = "not_found";
        out->message = "the provider does not know the target (404)";
        break;
    case 405:
        out->error_class = "unsupported";
        out->message = "the provider does not allow this method (405)";
        break;
    case 409:
    case 412:
        out->error_class = "conflict";
        out->message = status == 412 ? "the record changed at the provider (412): re-read it"
                                     : "the provider reported a conflict (409)";
        break;
    case 408:
    case 429:
        out->outcome = CONN_RETRYABLE;
        out->error_class = status == 429 ? "throttled" : "timeout";
        out->message = status == 429 ? "the provider throttled the request (429)"
                                     : "the provider timed the request out (408)";
        break;
    default:
        if (status >= 500 && status < 600) {
            out->outcome = CONN_RETRYABLE;
            out->error_class = "unavailable";
            out->message = "the provider failed (5xx)";
        } else {
            out->error_class = "http_error";
            out->message = "the provider answered an unexpected status";
        }
        break;
    }
    if (out->outcome == CONN_RETRYABLE && retry_after) {
        int64_t ms;
        if (retry_after_parse(retry_after, now_ms, GEN_RETRY_AFTER_CEILING_MS, &ms) == AB_OK)
            out->retry_after_ms = ms;
    }
}

void conn_generic_transport_outcome(enum ab_rc rc, bool sent, struct conn_result *out /* OUT */)
{
    out->retry_after_ms = -1;
    switch (rc) {
    case AB_EUNKNOWN:
        out->outcome = CONN_UNKNOWN;
        out->error_class = "unknown_outcome";
        out->message = "no complete answer after the request was sent: the effect may exist";
        return;
    case AB_EAUTH:
        out->outcome = CONN_PERMANENT;
        out->error_class = "tls";
        out->message = "TLS verification or client certificate failed";
        return;
    case AB_EINVAL:
        out->outcome = CONN_PERMANENT;
        out->error_class = "config";
        out->message = "the provider's URL is invalid";
        return;
    default:
        if (sent) {
            out->outcome = CONN_UNKNOWN;
            out->error_class = "unknown_outcome";
            out->message = "the request was sent but its answer was lost";
        } else {
            out->outcome = CONN_RETRYABLE;
            out->error_class = rc == AB_ETIMEOUT ? "timeout" : "unavailable";
            out->message = "the provider could not be reached";
        }
        return;
    }
}

/* ---- native -> canonical ------------------------------------------------------ */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static void copy_str(json_t *to, const char *tk, const json_t *from, const char *fk)
{
    set_str(to, tk, jstr(from, fk));
}

static int64_t jtime(const json_t *o, const char *k)
{
    const char *v = jstr(o, k);
    int64_t ms;
    return v && time_parse_rfc3339(v, &ms) == AB_OK ? ms : INT64_MIN;
}

static json_t *asset_to_canonical(const json_t *in, struct arena *a, const char **exc)
{
    json_t *d = json_object();
    json_t *attrs = json_object();
    const char *tag = jstr(in, "tag");
    if (tag && model_asset_ref_valid(tag))
        json_object_set_new(d, "asset_ref", json_string(tag));
    copy_str(d, "name", in, "name");
    copy_str(d, "serial_number", in, "serial_number");
    copy_str(d, "part_number", in, "model");
    const char *ntype = jstr(in, "type");
    const char *ctype;
    conn_generic_asset_type(ntype, &ctype);
    json_object_set_new(d, "type", json_string(ctype));
    const char *nstatus = jstr(in, "status");
    const char *cstatus = asset_status_map(nstatus, true);
    if (cstatus)
        json_object_set_new(d, "status", json_string(cstatus));
    else if (nstatus)
        *exc = arena_printf(a, "generic asset status '%s' has no canonical status", nstatus);
    set_str(attrs, "generic_tag", tag);
    set_str(attrs, "generic_type", ntype);
    if (!cstatus)
        set_str(attrs, "generic_status", nstatus);
    copy_str(attrs, "manufacturer", in, "manufacturer");
    copy_str(attrs, "location", in, "location");
    const json_t *cal = json_object_get(in, "calibration");
    if (json_is_object(cal)) {
        /* the computed calibration "status" is left out: it changes with the
         * provider's clock, not with the record */
        const json_t *days = json_object_get(cal, "interval_days");
        if (json_is_number(days))
            json_object_set_new(attrs, "calibration_interval_days",
                                json_real(json_number_value(days)));
        copy_str(attrs, "last_calibrated_at", cal, "last_calibrated_at");
        copy_str(attrs, "calibration_due_at", cal, "due_at");
    }
    if (json_object_size(attrs))
        json_object_set_new(d, "attributes", attrs);
    else
        json_decref(attrs);
    return d;
}

static json_t *meter_to_canonical(const json_t *in)
{
    json_t *d = json_object();
    copy_str(d, "asset_native_id", in, "asset_id");
    copy_str(d, "meter_type", in, "name");
    copy_str(d, "unit", in, "unit");
    copy_str(d, "kind", in, "kind");
    const json_t *v = json_object_get(in, "last_value");
    if (json_is_number(v))
        json_object_set_new(d, "value", json_real(json_number_value(v)));
    copy_str(d, "last_read_at", in, "last_read_at");
    if (jstr(in, "last_read_at"))
        json_object_set_new(d, "last_source", json_string("provider"));
    return d;
}

static json_t *plan_to_canonical(const json_t *in)
{
    json_t *d = json_object();
    copy_str(d, "plan_id", in, "id");
    copy_str(d, "asset_native_id", in, "asset_id");
    json_object_set_new(d, "trigger", json_string("time"));
    const json_t *days = json_object_get(in, "interval_days");
    if (json_is_number(days))
        json_object_set_new(d, "interval", json_real(json_number_value(days)));
    json_object_set_new(d, "interval_unit", json_string("days"));
    copy_str(d, "next_due_at", in, "next_due_at");
    const char *name = jstr(in, "name"), *kind = jstr(in, "kind");
    if (name || kind) {
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s%s%s%s", name ? name : "", kind ? " (" : "", kind ? kind : "",
                 kind ? ")" : "");
        json_object_set_new(d, "description", json_string(buf));
    }
    json_object_set_new(d, "system_of_record", json_string("generic"));
    return d;
}

static json_t *wo_to_canonical(const json_t *in, struct arena *a, const char **exc)
{
    json_t *d = json_object();
    json_object_set_new(d, "provider_id", json_string("generic"));
    copy_str(d, "source_work_order_id", in, "id");
    copy_str(d, "asset_native_id", in, "asset_id");
    const char *type = jstr(in, "type");
    if (wo_type_known(type))
        json_object_set_new(d, "type", json_string(type));
    else
        *exc = arena_printf(a, "generic work_order type '%s' has no common type",
                            type ? type : "(none)");
    const char *st = jstr(in, "status"), *common;
    set_str(d, "source_status", st);
    if (conn_generic_wo_status_to_common(st, &common) == AB_OK)
        json_object_set_new(d, "common_status", json_string(common));
    else if (!*exc)
        *exc = arena_printf(a, "generic work_order status '%s' has no common status",
                            st ? st : "(none)");
    const json_t *p = json_object_get(in, "priority");
    if (json_is_integer(p) && json_integer_value(p) >= 1 && json_integer_value(p) <= 5) {
        json_int_t pv = json_integer_value(p);
        json_object_set_new(d, "priority", json_string(priorities[pv - 1]));
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld", (long long)pv);
        json_object_set_new(d, "source_priority", json_string(buf));
    } else if (p && !json_is_null(p) && !*exc) {
        *exc = arena_printf(a, "generic work_order priority has no common priority");
    }
    copy_str(d, "sla_due_at", in, "due_at");
    copy_str(d, "opened_at", in, "created_at");
    copy_str(d, "completed_at", in, "completed_at");
    const char *title = jstr(in, "title"), *desc = jstr(in, "description");
    if (title || desc) {
        const char *notes = desc && *desc ? arena_printf(a, "%s\n%s", title ? title : "", desc)
                                          : (title ? title : "");
        set_str(d, "notes", notes);
    }
    const json_t *v = json_object_get(in, "version");
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        json_object_set_new(d, "revision", json_integer(json_integer_value(v)));
    return d;
}

enum ab_rc conn_generic_record(const char *entity, const json_t *in, struct arena *a,
                               struct conn_record *out /* OUT */)
{
    memset(out, 0, sizeof(*out));
    if (!entity)
        return AB_EUNSUPPORTED;
    const char *id = jstr(in, "id");
    bool known = strcmp(entity, "asset") == 0 || strcmp(entity, "meter") == 0 ||
                 strcmp(entity, "maintenance_plan") == 0 || strcmp(entity, "work_order") == 0;
    if (!known)
        return AB_EUNSUPPORTED;
    if (!json_is_object(in) || !id || !*id)
        return AB_EINVAL;
    out->native_id = arena_strdup(a, id);
    const json_t *v = json_object_get(in, "version");
    out->revision = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    out->modified_at = jtime(in, "updated_at");
    if (out->modified_at == INT64_MIN)
        out->modified_at = jtime(in, "created_at");
    const char *exc = NULL;
    json_t *doc;
    if (strcmp(entity, "asset") == 0)
        doc = asset_to_canonical(in, a, &exc);
    else if (strcmp(entity, "meter") == 0)
        doc = meter_to_canonical(in);
    else if (strcmp(entity, "maintenance_plan") == 0)
        doc = plan_to_canonical(in);
    else
        doc = wo_to_canonical(in, a, &exc);
    out->doc = conn_arena_own(a, doc);
    out->mapping_exception = exc;
    return AB_OK;
}

/* ---- canonical -> native ------------------------------------------------------ */

/* Split canonical notes into title (first line, at most 200 bytes) and
 * description (the rest). */
static void notes_split(const char *notes, struct arena *a, const char **title, const char **desc)
{
    *title = NULL;
    *desc = NULL;
    if (!notes || !*notes)
        return;
    const char *nl = strchr(notes, '\n');
    size_t n = nl ? (size_t)(nl - notes) : strlen(notes);
    if (n > 200)
        n = 200;
    *title = arena_strndup(a, notes, n);
    if (nl && nl[1])
        *desc = arena_strdup(a, nl + 1);
}

/* The native work-order fields of a canonical work order: for a create
 * (status left out) or a PATCH (no asset_id). Sets *why on a value the
 * provider cannot take. */
static json_t *wo_to_native(const json_t *in, bool create, struct arena *a, const char **why)
{
    json_t *d = json_object();
    *why = NULL;
    if (create)
        copy_str(d, "asset_id", in, "asset_native_id");
    const char *title, *desc;
    notes_split(jstr(in, "notes"), a, &title, &desc);
    set_str(d, "title", title);
    set_str(d, "description", desc);
    const char *type = jstr(in, "type");
    if (create && type) {
        if (wo_type_known(type))
            json_object_set_new(d, "type", json_string(type));
        else
            *why = "type";
    }
    const char *prio = jstr(in, "priority");
    if (prio) {
        int p = priority_to_native(prio);
        /* keep the provider's own value when it maps to the same priority
         * (5 and 4 are both low: do not turn a 5 into a 4) */
        int64_t sp;
        const char *src = jstr(in, "source_priority");
        if (src && str_to_i64(src, &sp) == AB_OK && sp >= 1 && sp <= 5 &&
            strcmp(priorities[sp - 1], prio) == 0)
            p = (int)sp;
        if (p)
            json_object_set_new(d, "priority", json_integer(p));
        else
            *why = "priority";
    }
    copy_str(d, "due_at", in, "sla_due_at");
    const char *cs = jstr(in, "common_status");
    if (!create && cs) {
        const char *ns;
        if (conn_generic_wo_status_to_native(cs, &ns) == AB_OK)
            json_object_set_new(d, "status", json_string(ns));
        else
            *why = "common_status";
    }
    return d;
}

static json_t *asset_to_native(const json_t *in)
{
    json_t *d = json_object();
    const json_t *attrs = json_object_get(in, "attributes");
    const char *tag = jstr(attrs, "generic_tag");
    set_str(d, "tag", tag ? tag : jstr(in, "asset_ref"));
    copy_str(d, "name", in, "name");
    const char *ctype = jstr(in, "type"), *ntype = jstr(attrs, "generic_type"), *back;
    conn_generic_asset_type(ntype, &back);
    if (ntype && ctype && strcmp(back, ctype) == 0)
        json_object_set_new(d, "type", json_string(ntype));
    else
        set_str(d, "type", asset_type_to_native(ctype ? ctype : "other"));
    set_str(d, "status", asset_status_map(jstr(in, "status"), false));
    copy_str(d, "location", attrs, "location");
    copy_str(d, "manufacturer", attrs, "manufacturer");
    copy_str(d, "model", in, "part_number");
    copy_str(d, "serial_number", in, "serial_number");
    return d;
}

static json_t *reading_to_native(const json_t *in)
{
    const json_t *v = json_object_get(in, "value");
    if (!json_is_number(v))
        return NULL;
    json_t *d = json_object();
    json_object_set_new(d, "value", json_real(json_number_value(v)));
    copy_str(d, "read_at", in, "read_at");
    return d;
}

static enum ab_rc gen_translate(void *ctx, enum conn_direction dir, const char *entity,
                                const json_t *in, struct arena *a, json_t **out /* OUT */)
{
    (void)ctx;
    *out = NULL;
    if (!json_is_object(in) || !entity)
        return AB_EINVAL;
    if (dir == CONN_TO_CANONICAL) {
        struct conn_record rec;
        enum ab_rc rc = conn_generic_record(entity, in, a, &rec);
        if (rc)
            return rc;
        *out = rec.doc;
        return AB_OK;
    }
    json_t *d = NULL;
    const char *why = NULL;
    if (strcmp(entity, "asset") == 0)
        d = asset_to_native(in);
    else if (strcmp(entity, "work_order") == 0)
        d = wo_to_native(in, !jstr(in, "source_work_order_id"), a, &why);
    else if (strcmp(entity, "reading") == 0)
        d = reading_to_native(in);
    else
        return AB_EUNSUPPORTED;
    if (!d || why) {
        json_decref(d);
        return AB_EINVAL;
    }
    *out = conn_arena_own(a, d);
    return AB_OK;
}

/* ---- HTTP ------------------------------------------------------------------------ */

struct gen_call {
    const char *method;
    const char *path; /* contract path, e.g. "/assets" */
    const char *query;
    const json_t *body;
    const char *idempotency_key;
    const char *if_match;
    const char *correlation_id;
};

struct gen_answer {
    enum ab_rc rc; /* transport */
    struct client_response resp;
    json_t *json;           /* parsed body (arena-owned) or NULL */
    const char *error_code; /* body "error" or NULL */
};

static void gen_do(struct gen_ctx *g, const struct gen_call *c, struct arena *a,
                   struct gen_answer *ans /* OUT */)
{
    memset(ans, 0, sizeof(*ans));
    struct client_header h[5];
    size_t n = 0;
    if (g->auth_header)
        h[n++] = (struct client_header){"Authorization", g->auth_header};
    h[n++] = (struct client_header){"Accept", "application/json"};
    const char *body = NULL;
    size_t body_len = 0;
    if (c->body) {
        char *s = json_dumps(c->body, JSON_COMPACT | JSON_SORT_KEYS);
        if (s) {
            body = arena_strdup(a, s);
            body_len = strlen(body);
            free(s);
        }
        h[n++] = (struct client_header){"Content-Type", "application/json"};
    }
    if (c->idempotency_key)
        h[n++] = (struct client_header){"Idempotency-Key", c->idempotency_key};
    if (c->if_match)
        h[n++] = (struct client_header){"If-Match", c->if_match};
    struct client_request req = {
        .method = c->method,
        .path = arena_printf(a, "%s%s", g->prefix, c->path),
        .query = c->query,
        .headers = h,
        .n_headers = n,
        .body = body,
        .body_len = body_len,
        .correlation_id = c->correlation_id,
    };
    ans->rc = client_request(g->client, &req, a, &ans->resp);
    if (ans->rc != AB_OK)
        return;
    if (ans->resp.body_len) {
        json_error_t je;
        json_t *j = json_loadb(ans->resp.body, ans->resp.body_len, 0, &je);
        ans->json = conn_arena_own(a, j);
        if (json_is_object(j))
            ans->error_code = jstr(j, "error");
    }
}

/* An ab_rc for a failed read (pull, lookup, health). */
static enum ab_rc read_rc(const struct gen_answer *ans)
{
    if (ans->rc != AB_OK)
        return ans->rc == AB_EUNKNOWN ? AB_ENETWORK : ans->rc;
    int s = ans->resp.status;
    if (conn_is_2xx(s))
        return json_is_object(ans->json) ? AB_OK : AB_EUNAVAILABLE; /* malformed: transient */
    if (s == 401)
        return ans->error_code && strcmp(ans->error_code, "token_expired") == 0 ? AB_EAGAIN
                                                                                : AB_EAUTH;
    if (s == 403)
        return AB_EFORBIDDEN;
    if (s == 404)
        return AB_ENOTFOUND;
    if (s == 429)
        return AB_ERATELIMIT;
    if (s == 408 || s >= 500)
        return AB_EUNAVAILABLE;
    return AB_EINVAL;
}

/* ---- init / cleanup / health --------------------------------------------------- */

static enum ab_rc gen_init(const struct config_provider *cfg, struct client *client,
                           void **ctx /* OUT */, char *err, size_t errlen)
{
    *ctx = NULL;
    const char *scheme = cfg->auth.scheme ? cfg->auth.scheme : "none";
    if (strcmp(scheme, "bearer") != 0 && strcmp(scheme, "none") != 0) {
        snprintf(err, errlen, "provider %s: the generic provider takes auth scheme bearer, not %s",
                 cfg->name ? cfg->name : "?", scheme);
        return AB_ECONFIG;
    }
    if (strcmp(scheme, "bearer") == 0 && (!cfg->auth.token || !*cfg->auth.token)) {
        snprintf(err, errlen, "provider %s: auth scheme bearer needs auth.token",
                 cfg->name ? cfg->name : "?");
        return AB_ECONFIG;
    }
    if (!cfg->base_url || !*cfg->base_url) {
        snprintf(err, errlen, "provider %s: base_url is required", cfg->name ? cfg->name : "?");
        return AB_ECONFIG;
    }
    struct gen_ctx *g = xcalloc(1, sizeof(*g));
    g->client = client;
    if (!client) {
        struct client_opts o;
        client_opts_from_config(cfg, &o);
        enum ab_rc rc = client_new(&o, &g->own_client, err, errlen);
        if (rc) {
            free(g);
            return rc;
        }
        g->client = g->own_client;
    }
    if (strcmp(scheme, "bearer") == 0) {
        size_t n = strlen(cfg->auth.token) + 8;
        g->auth_header = xmalloc(n);
        snprintf(g->auth_header, n, "Bearer %s", cfg->auth.token);
    }
    /* base_url is http://HOST:PORT (the API under /api/v1) or already ends
     * in /api/v1 */
    size_t bl = strlen(cfg->base_url);
    while (bl && cfg->base_url[bl - 1] == '/')
        bl--;
    bool has = bl >= 7 && strncmp(cfg->base_url + bl - 7, "/api/v1", 7) == 0;
    g->prefix = xstrdup(has ? "" : "/api/v1");
    g->https = strncmp(cfg->base_url, "https:", 6) == 0;
    *ctx = g;
    return AB_OK;
}

static void gen_cleanup(void *ctx)
{
    struct gen_ctx *g = ctx;
    if (!g)
        return;
    client_free(g->own_client);
    free(g->auth_header);
    free(g->prefix);
    free(g);
}

static enum ab_rc gen_health(void *ctx, struct arena *a, struct conn_health *out /* OUT */)
{
    struct gen_ctx *g = ctx;
    memset(out, 0, sizeof(*out));
    struct gen_call c = {.method = "GET", .path = "/assets", .query = "limit=1"};
    struct gen_answer ans;
    gen_do(g, &c, a, &ans);
    enum ab_rc trc =
        conn_health_transport(ans.rc, ans.resp.error, g->https, "the provider", a, out);
    if (trc)
        return trc;
    int s = ans.resp.status;
    if (s == 401 || s == 403) {
        out->auth = CONN_CHECK_FAILED;
        out->message = arena_printf(a, "the provider refused the credentials (%d %s)", s,
                                    ans.error_code ? ans.error_code : "");
        return s == 401 ? AB_EAUTH : AB_EFORBIDDEN;
    }
    if (s == 429 || s >= 500) {
        out->message = arena_printf(a, "the provider is unavailable (%d)", s);
        return s == 429 ? AB_ERATELIMIT : AB_EUNAVAILABLE;
    }
    out->auth = conn_is_2xx(s) ? CONN_CHECK_OK : CONN_CHECK_FAILED;
    /* the contract has no version resource: a v1 list answer (items and a
     * watermark) under /api/v1 is the version check */
    bool v1 = conn_is_2xx(s) && json_is_array(json_object_get(ans.json, "items")) &&
              json_object_get(ans.json, "watermark");
    out->version = v1 ? CONN_CHECK_OK : CONN_CHECK_FAILED;
    out->provider_version = v1 ? "generic/v1" : NULL;
    if (!v1) {
        out->message =
            arena_printf(a, "the provider's answer is not the generic v1 API (HTTP %d)", s);
        return AB_EUNSUPPORTED;
    }
    return AB_OK;
}

/* ---- pull --------------------------------------------------------------------------- */

static const char *entity_path(const char *entity)
{
    static const struct {
        const char *entity, *path;
    } m[] = {
        {"asset", "/assets"},
        {"meter", "/meters"},
        {"maintenance_plan", "/plans"},
        {"work_order", "/work-orders"},
    };
    for (size_t i = 0; entity && i < NELEM(m); i++)
        if (strcmp(m[i].entity, entity) == 0)
            return m[i].path;
    return NULL;
}

static enum ab_rc gen_pull(void *ctx, const char *entity, const char *watermark,
                           const char *page_token, struct arena *a, struct conn_page *out /* OUT */)
{
    struct gen_ctx *g = ctx;
    memset(out, 0, sizeof(*out));
    const char *path = entity_path(entity);
    if (!path)
        return AB_EUNSUPPORTED;
    const char *q;
    if (page_token && *page_token)
        q = arena_printf(a, "limit=%d&cursor=%s", CONN_GENERIC_PAGE_SIZE, conn_qenc(a, page_token));
    else if (watermark && *watermark)
        q = arena_printf(a, "limit=%d&updated_since=%s", CONN_GENERIC_PAGE_SIZE,
                         conn_qenc(a, watermark));
    else
        q = arena_printf(a, "limit=%d", CONN_GENERIC_PAGE_SIZE);
    struct gen_call c = {.method = "GET", .path = path, .query = q};
    struct gen_answer ans;
    gen_do(g, &c, a, &ans);
    enum ab_rc rc = read_rc(&ans);
    if (rc) {
        log_warn(NULL, "generic pull failed", LOG_STR("entity", entity),
                 LOG_INT("status", ans.resp.status), LOG_STR("rc", ab_rc_name(rc)));
        return rc;
    }
    const json_t *items = json_object_get(ans.json, "items");
    if (!json_is_array(items))
        return AB_EUNAVAILABLE;
    size_t n = json_array_size(items);
    out->records = n ? arena_zalloc(a, n * sizeof(*out->records)) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (conn_generic_record(entity, json_array_get(items, i), a,
                                &out->records[out->n_records]) == AB_OK)
            out->n_records++;
    }
    const char *next = jstr(ans.json, "next_cursor");
    out->next_page_token = next ? arena_strdup(a, next) : NULL;
    /* the chain's pinned watermark becomes the next updated_since only once
     * the whole chain has been served (committing it earlier would skip the
     * records between the last one served and the watermark) */
    const char *wm = jstr(ans.json, "watermark");
    out->new_watermark = !next && wm ? arena_strdup(a, wm) : NULL;
    return AB_OK;
}

/* ---- push / resolve ---------------------------------------------------------------- */

/* The native id of the asset a payload is about: asset_native_id, else the
 * asset whose tag is the asset_ref. On failure *res describes it. */
static enum ab_rc find_asset(struct gen_ctx *g, const json_t *p, const char *corr, struct arena *a,
                             const char **id, struct conn_result *res)
{
    *id = jstr(p, "asset_native_id");
    if (*id)
        return AB_OK;
    const char *ref = jstr(p, "asset_ref");
    if (!ref) {
        res->outcome = CONN_PERMANENT;
        res->error_class = "validation";
        res->message = "the payload names no asset (asset_native_id or asset_ref)";
        return AB_EINVAL;
    }
    struct gen_call c = {.method = "GET",
                         .path = "/assets",
                         .query = arena_printf(a, "limit=1&tag=%s", conn_qenc(a, ref)),
                         .correlation_id = corr};
    struct gen_answer ans;
    gen_do(g, &c, a, &ans);
    enum ab_rc rc = read_rc(&ans);
    if (rc) {
        if (ans.rc)
            conn_generic_transport_outcome(AB_ENETWORK, false, res);
        else
            conn_generic_http_outcome(ans.resp.status, ans.error_code,
                                      client_response_header(&ans.resp, "Retry-After"),
                                      clock_now_ms(), res);
        if (res->outcome == CONN_OK) { /* a malformed 2xx of a lookup */
            res->outcome = CONN_RETRYABLE;
            res->error_class = "unavailable";
        }
        return rc;
    }
    const json_t *first = json_array_get(json_object_get(ans.json, "items"), 0);
    *id = jstr(first, "id");
    if (!*id) {
        res->outcome = CONN_PERMANENT;
        res->error_class = "not_found";
        res->message = arena_printf(a, "no generic asset has the tag '%s'", ref);
        return AB_ENOTFOUND;
    }
    return AB_OK;
}

static enum ab_rc find_meter(struct gen_ctx *g, const json_t *p, const char *corr, struct arena *a,
                             const char **id, struct conn_result *res)
{
    *id = jstr(p, "meter_native_id");
    if (*id)
        return AB_OK;
    const char *type = jstr(p, "meter_type");
    const char *asset;
    enum ab_rc rc = find_asset(g, p, corr, a, &asset, res);
    if (rc)
        return rc;
    struct gen_call c = {.method = "GET",
                         .path = "/meters",
                         .query = arena_printf(a, "limit=200&asset_id=%s", conn_qenc(a, asset)),
                         .correlation_id = corr};
    struct gen_answer ans;
    gen_do(g, &c, a, &ans);
    rc = read_rc(&ans);
    if (rc) {
        res->outcome = rc == AB_EAUTH ? CONN_PERMANENT : CONN_RETRYABLE;
        res->error_class = rc == AB_EAUTH ? "auth" : "unavailable";
        res->message = "the meter lookup failed";
        return rc;
    }
    const json_t *items = json_object_get(ans.json, "items");
    size_t i;
    const json_t *m;
    json_array_foreach (items, i, m) {
        if (type && str_eq(jstr(m, "name"), type)) {
            *id = jstr(m, "id");
            return AB_OK;
        }
    }
    res->outcome = CONN_PERMANENT;
    res->error_class = "not_found";
    res->message = arena_printf(a, "generic asset %s has no meter '%s'", asset, type ? type : "");
    return AB_ENOTFOUND;
}

/* Build the provider request for item. On failure *res has the outcome. */
static enum ab_rc prepare(struct gen_ctx *g, const struct conn_item *item, struct arena *a,
                          struct gen_call *c, struct conn_result *res)
{
    const json_t *p = item->payload;
    memset(c, 0, sizeof(*c));
    c->idempotency_key = item->idempotency_key;
    c->correlation_id = item->correlation_id;
    res->outcome = CONN_PERMANENT;
    res->error_class = "validation";
    if (!json_is_object(p)) {
        res->message = "the payload is not a JSON object";
        return AB_EINVAL;
    }
    const char *why = NULL;
    if (strcmp(item->action, "push_reading") == 0) {
        if (json_object_get(p, "increment")) {
            res->message = "the generic provider takes absolute meter values, not increments";
            return AB_EINVAL;
        }
        json_t *body = reading_to_native(p);
        if (!body) {
            res->message = "a reading needs a numeric value";
            return AB_EINVAL;
        }
        conn_arena_own(a, body);
        const char *meter;
        enum ab_rc rc = find_meter(g, p, item->correlation_id, a, &meter, res);
        if (rc)
            return rc;
        c->method = "POST";
        c->path = arena_printf(a, "/meters/%s/readings", meter);
        c->body = body;
        return AB_OK;
    }
    if (strcmp(item->action, "open_request") == 0) {
        const char *asset;
        enum ab_rc rc = find_asset(g, p, item->correlation_id, a, &asset, res);
        if (rc)
            return rc;
        json_t *body = conn_arena_own(a, wo_to_native(p, true, a, &why));
        json_object_set_new(body, "asset_id", json_string(asset));
        if (!json_object_get(body, "title")) {
            const char *type = jstr(p, "type");
            json_object_set_new(body, "title",
                                json_string(arena_printf(a, "%s request", type ? type : "work")));
        }
        if (why) {
            res->message = arena_printf(a, "the generic provider has no value for %s", why);
            return AB_EINVAL;
        }
        c->method = "POST";
        c->path = "/work-orders";
        c->body = body;
        return AB_OK;
    }
    if (strcmp(item->action, "update_work_order") == 0) {
        const char *id = jstr(p, "source_work_order_id");
        if (!id) {
            res->message = "update_work_order needs source_work_order_id";
            return AB_EINVAL;
        }
        json_t *body = conn_arena_own(a, wo_to_native(p, false, a, &why));
        if (why) {
            res->message = arena_printf(a, "the generic provider has no value for %s", why);
            return AB_EINVAL;
        }
        /* If-Match only with the provider's own version (the hub's revision
         * is another counter): the hub queues its updates without one, since
         * a second queued update would carry a version the first already
         * moved; a subject's items go in order, and the next pull brings
         * the provider's version back */
        const json_t *ver = json_object_get(p, "provider_version");
        if (json_is_integer(ver) && json_integer_value(ver) > 0)
            c->if_match = arena_printf(a, "\"%lld\"", (long long)json_integer_value(ver));
        c->method = "PATCH";
        c->path = arena_printf(a, "/work-orders/%s", conn_qenc(a, id));
        c->body = body;
        return AB_OK;
    }
    res->error_class = "unsupported";
    res->message = "the generic connector cannot perform this action";
    return AB_EUNSUPPORTED;
}

static enum ab_rc gen_push(void *ctx, const struct conn_item *item, struct arena *a,
                           struct conn_result *out /* OUT */)
{
    struct gen_ctx *g = ctx;
    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    struct gen_call c;
    if (prepare(g, item, a, &c, out) != AB_OK)
        return AB_OK; /* out says why */
    struct gen_answer ans;
    gen_do(g, &c, a, &ans);
    if (ans.rc != AB_OK) {
        conn_generic_transport_outcome(ans.rc, ans.resp.sent, out);
        if (ans.resp.error)
            out->message = arena_strdup(a, ans.resp.error);
        return AB_OK;
    }
    conn_generic_http_outcome(ans.resp.status, ans.error_code,
                              client_response_header(&ans.resp, "Retry-After"), clock_now_ms(),
                              out);
    out->response = conn_keep_response(a, &ans.resp, GEN_RESPONSE_KEEP);
    if (out->outcome == CONN_OK) {
        if (!json_is_object(ans.json)) {
            /* a 2xx we cannot read: the effect probably exists, but we cannot
             * tell what was created; resolve replays the key to find out */
            out->outcome = CONN_UNKNOWN;
            out->error_class = "malformed_response";
            out->message = "the provider answered 2xx with a body that is not JSON";
            return AB_OK;
        }
        const char *id = jstr(ans.json, "id");
        out->native_id = id ? arena_strdup(a, id) : NULL;
    } else if (ans.json) {
        const char *m = jstr(ans.json, "message");
        if (m)
            out->message = arena_printf(a, "%s: %s", out->message, m);
    }
    return AB_OK;
}

static enum ab_rc gen_resolve(void *ctx, const struct conn_item *item, struct arena *a,
                              enum conn_resolution *out /* OUT */)
{
    struct gen_ctx *g = ctx;
    *out = CONN_RESOLVED_UNKNOWN;
    if (!item->idempotency_key || !*item->idempotency_key)
        return AB_OK; /* nothing to replay by: a person decides */
    struct conn_result res;
    memset(&res, 0, sizeof(res));
    struct gen_call c;
    if (prepare(g, item, a, &c, &res) != AB_OK) {
        /* a payload the provider can never take cannot have had an effect;
         * a lookup that failed says nothing */
        if (res.outcome == CONN_PERMANENT &&
            (str_eq(res.error_class, "validation") || str_eq(res.error_class, "unsupported")))
            *out = CONN_RESOLVED_NOT_FOUND;
        return AB_OK;
    }
    /* the contract: a repeat with the same key returns the first stored
     * answer and applies nothing; without a stored answer it is processed
     * now (and then exists exactly once) */
    struct gen_answer ans;
    gen_do(g, &c, a, &ans);
    if (ans.rc != AB_OK)
        return AB_OK;
    int s = ans.resp.status;
    if (conn_is_2xx(s)) {
        *out = json_is_object(ans.json) ? CONN_RESOLVED_FOUND : CONN_RESOLVED_UNKNOWN;
        return AB_OK;
    }
    if (s == 401 || s == 403 || s == 408 || s == 429 || s >= 500 ||
        str_eq(ans.error_code, "idempotency_key_reused"))
        return AB_OK; /* cannot tell */
    /* a 4xx answer: stored from the first attempt (replayed) or produced now;
     * either way the request was refused and nothing was applied */
    *out = CONN_RESOLVED_NOT_FOUND;
    return AB_OK;
}

const struct conn_ops conn_generic = {
    CONN_ABI_V1, /* abi */
    "generic",   /* name: provider type "generic" */
    CONN_CAP_PULL_ASSETS | CONN_CAP_PULL_METERS | CONN_CAP_PULL_PLANS | CONN_CAP_PULL_WORK_ORDERS |
        CONN_CAP_PUSH_READINGS | CONN_CAP_OPEN_REQUEST | CONN_CAP_UPDATE_WORK_ORDER, /* caps */
    gen_init,      /* init: Bearer token, base URL (/api/v1 appended when missing) */
    gen_cleanup,   /* cleanup */
    gen_health,    /* health: authenticated GET /assets?limit=1 */
    gen_pull,      /* pull: updated_since + cursor chain, watermark on the last page */
    gen_push,      /* push: readings, open_request, update_work_order with Idempotency-Key */
    gen_resolve,   /* resolve: replay with the same Idempotency-Key */
    gen_translate, /* translate: native <-> canonical */
};
