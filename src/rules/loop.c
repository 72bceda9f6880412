/* SPDX-License-Identifier: Apache-2.0
 *
 * loop.c: closing the loop and station lockout (see rules_int.h and
 * docs/internals/rules.md, "The closed loop").
 *
 * Every pass follows the requests the rules opened and that are not closed
 * yet (rule_state rows with a request_key and no request_closed_at): an
 * outbox item is followed to what its provider created (the item's
 * result_native_id) and to that record as the last pull stored it; a hub
 * work order is read directly. When the provider (or a person in the hub)
 * completed it, one write job records the work in the hub, carries it to
 * the other systems (calibration done in WATS with the next due date,
 * running count reset where configured, an asset-log message with the
 * certificate reference), emits the completion event and closes the
 * request: a crash before the commit repeats it, and the idempotency keys
 * derived from the request key keep the repeat from writing twice.
 *
 * Station lockout: entering overdue sets the asset In Calibration in the
 * systems that can write asset state (WATS); entering ok again (a new
 * calibration, whoever recorded it) restores the state it had. Both are
 * outbox items queued in the transition's own job, with the lockout row and
 * an audit record.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "conn/conn.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "model/calibration.h"
#include "model/work_order.h"
#include "rules/rules_int.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/outbox.h"
#include "store/workorders.h"

/* ---- queueing ------------------------------------------------------------------ */

/* Whether the link's provider takes action for domain d: its connector has
 * cap, its mode for d writes, and it is not where the change came from. */
static bool takes(const struct rules_link *l, unsigned cap, enum domain d, const char *origin)
{
    return (l->caps & cap) && l->cfg->mode[d] == MODE_WRITE_BACK &&
           !(origin && str_eq(origin, l->provider));
}

/* Queue payload (consumed) for provider in the running job. */
static enum ab_rc queue(struct store_tx *tx, const char *tenant, const char *provider,
                        const char *entity, const char *action, const char *subject,
                        json_t *payload, const char *key, struct arena *a)
{
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(payload);
    if (!text)
        return AB_EINTERNAL;
    struct store_outbox_item it;
    memset(&it, 0, sizeof(it));
    it.tenant = tenant;
    it.provider = provider;
    it.entity = entity;
    it.action = action;
    it.subject = subject;
    it.payload = arena_strdup(a, text);
    free(text);
    it.idempotency_key = key;
    it.state = OUTBOX_PENDING;
    it.priority = -1; /* by the provider's severity for the entity */
    return store_outbox_add(tx, &it, NULL);
}

static enum ab_rc audit(struct store_tx *tx, const char *tenant, const char *action,
                        const char *subject, json_t *detail /* consumed */)
{
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(detail);
    struct store_audit au = {0};
    au.tenant = tenant;
    au.actor = RULES_ACTOR;
    au.action = action;
    au.subject = subject;
    au.detail = text;
    enum ab_rc rc = store_audit_add(tx, &au);
    free(text);
    return rc;
}

/* ---- station lockout -------------------------------------------------------------- */

#define LOCK_KIND "lockout"
#define LOCK_RULE "calibration"

enum ab_rc rules_lockout_apply(struct store_tx *tx, struct rules_transition *x, int from, int to)
{
    const struct rules_asset *as = x->asset;
    if (!as || !str_eq(x->next.kind, "calibration"))
        return AB_OK;
    bool lock = x->lockout && to == 2 && from < 2;
    bool release = to == 0;
    if (!lock && !release)
        return AB_OK;
    struct store_rule_state cur;
    bool found = false;
    enum ab_rc rc =
        store_rule_state_get(tx, x->t->name, LOCK_KIND, as->ref, LOCK_RULE, x->a, &cur, &found);
    if (rc)
        return rc;
    bool locked = found && str_eq(cur.state, "locked");
    const char *subject = arena_printf(x->a, "asset/%s", as->ref);
    const char *origin = as->sor[DOMAIN_CALIBRATION];
    if (lock && !locked) {
        /* the state to restore: the asset's own, unless it shows the lock
         * already (a pull of the locked state before a crash) */
        const char *prev =
            str_eq(as->status, "in_calibration") || !as->status ? "active" : as->status;
        json_t *provs = json_array();
        for (size_t i = 0; i < as->n_links && !rc; i++) {
            const struct rules_link *l = &as->links[i];
            if (!takes(l, CONN_CAP_WRITE_ASSETS, DOMAIN_CALIBRATION, NULL))
                continue;
            json_array_append_new(provs, json_string(l->provider));
            json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "asset_ref", as->ref,
                                  "asset_native_id", l->native_id, "status", "in_calibration",
                                  "reason", "lockout", "origin", origin, "site", as->site);
            rc = queue(tx, x->t->name, l->provider, "calibration", "set_state", subject, p,
                       arena_printf(x->a, "lockout:%s:%s:%s:lock", as->ref, x->next.occurrence,
                                    l->provider),
                       x->a);
        }
        if (rc || json_array_size(provs) == 0) {
            json_decref(provs);
            return rc; /* nothing can lock it: no row, no audit */
        }
        json_t *detail = json_pack("{s:s, s:O, s:s}", "previous_status", prev, "providers", provs,
                                   "due_at", x->next.occurrence);
        char *dt = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
        struct store_rule_state row = {.kind = LOCK_KIND,
                                       .subject = as->ref,
                                       .rule_id = LOCK_RULE,
                                       .occurrence = x->next.occurrence,
                                       .state = "locked",
                                       .detail = dt ? arena_strdup(x->a, dt) : NULL};
        free(dt);
        json_decref(provs);
        rc = store_rule_state_put(tx, x->t->name, &row);
        if (!rc)
            rc = audit(tx, x->t->name, "asset.lockout", subject, detail);
        else
            json_decref(detail);
        return rc;
    }
    if (!release || !locked)
        return AB_OK;
    json_error_t je;
    json_t *d = cur.detail ? json_loads(cur.detail, 0, &je) : NULL;
    const char *prev = json_string_value(json_object_get(d, "previous_status"));
    const json_t *provs = json_object_get(d, "providers");
    size_t i;
    const json_t *pv;
    json_array_foreach (provs, i, pv) {
        const char *name = json_string_value(pv);
        for (size_t k = 0; name && k < as->n_links && !rc; k++) {
            const struct rules_link *l = &as->links[k];
            if (!str_eq(l->provider, name))
                continue;
            json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?}", "asset_ref", as->ref,
                                  "asset_native_id", l->native_id, "status", prev ? prev : "active",
                                  "reason", "lockout_release", "origin", origin, "site", as->site);
            rc = queue(tx, x->t->name, l->provider, "calibration", "set_state", subject, p,
                       arena_printf(x->a, "lockout:%s:%s:%s:release", as->ref, cur.occurrence,
                                    l->provider),
                       x->a);
        }
    }
    if (!rc) {
        cur.state = "released";
        rc = store_rule_state_put(tx, x->t->name, &cur);
    }
    if (!rc)
        rc = audit(tx, x->t->name, "asset.lockout_release", subject,
                   json_pack("{s:s, s:O?, s:s}", "restored_status", prev ? prev : "active",
                             "providers", provs, "due_at", x->next.occurrence));
    json_decref(d);
    return rc;
}

/* ---- following a request ------------------------------------------------------------- */

enum req_outcome {
    REQ_WAIT,      /* open at its provider, not delivered yet, or not pulled back yet */
    REQ_DONE,      /* completed (or closed) */
    REQ_CANCELLED, /* cancelled: closed without work done */
    REQ_FALLBACK,  /* refused or suppressed: the hub takes it over */
};

struct req_view {
    enum req_outcome outcome;
    const char *provider;  /* configured provider name; NULL for a hub work order */
    const char *native_id; /* the provider's id; the hub work order's id */
    const json_t *doc;     /* the work order / notification as last pulled (or the hub's) */
    const char *payload;   /* the outbox item's payload (REQ_FALLBACK) */
    int64_t completed_at;  /* INT64_MIN when the record has none */
    int64_t interval_days; /* calibration: the interval that sets the next due date; 0: none */
};

static int64_t doc_ms(const json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(doc, key));
    int64_t ms;
    return s && time_parse_rfc3339(s, &ms) == AB_OK ? ms : INT64_MIN;
}

static enum req_outcome status_outcome(const char *st)
{
    if (str_eq(st, "completed") || str_eq(st, "closed"))
        return REQ_DONE;
    if (str_eq(st, "cancelled"))
        return REQ_CANCELLED;
    return REQ_WAIT;
}

static enum ab_rc follow(struct store_read *rd, const char *tenant,
                         const struct store_rule_state *row, struct arena *a, struct req_view *v)
{
    memset(v, 0, sizeof(*v));
    v->completed_at = INT64_MIN;
    if (strncmp(row->request_key, "wo:", 3) == 0) {
        struct store_object o;
        enum ab_rc rc =
            store_object_get(rd, tenant, STORE_KIND_WORK_ORDER, row->request_key + 3, a, &o);
        if (rc == AB_ENOTFOUND)
            return AB_OK; /* deleted by retention: nothing to follow */
        if (rc)
            return rc;
        v->native_id = o.id;
        v->doc = o.doc;
        v->outcome = status_outcome(o.status);
    } else {
        struct store_outbox_row ob;
        enum ab_rc rc = store_outbox_get_by_key(rd, tenant, row->request_key, a, &ob);
        if (rc == AB_ENOTFOUND)
            return AB_OK;
        if (rc)
            return rc;
        v->provider = ob.item.provider;
        if (ob.item.state == OUTBOX_REFUSED || ob.item.state == OUTBOX_SUPPRESSED) {
            v->outcome = REQ_FALLBACK;
            v->payload = ob.item.payload;
            return AB_OK;
        }
        if (ob.item.state != OUTBOX_DONE || !ob.result_native_id)
            return AB_OK; /* on its way (or dead: a person replays it) */
        v->native_id = ob.result_native_id;
        const char *subject;
        rc = store_rules_source_doc(rd, tenant, ob.item.provider, ob.result_native_id, a, &v->doc,
                                    &subject);
        if (rc == AB_ENOTFOUND)
            return AB_OK; /* not pulled back yet */
        if (rc)
            return rc;
        v->outcome = status_outcome(json_string_value(json_object_get(v->doc, "common_status")));
    }
    if (v->doc) {
        v->completed_at = doc_ms(v->doc, "completed_at");
        if (v->completed_at == INT64_MIN)
            v->completed_at = doc_ms(v->doc, "closed_at");
    }
    return AB_OK;
}

/* The calibration interval of an asset in days: its hub record's, else a
 * provider record's, else the rules' (0: none). */
static enum ab_rc cal_interval(struct store_read *rd, const struct config_tenant *t,
                               const struct rules_asset *as, struct arena *a, int64_t *days)
{
    struct store_object_filter f = {.kind = STORE_KIND_CALIBRATION,
                                    .asset_ref = as->ref,
                                    .due_before = INT64_MIN,
                                    .limit = 100};
    struct store_object *v = NULL;
    size_t n = 0;
    bool more = false;
    *days = 0;
    enum ab_rc rc = store_objects_list(rd, t->name, &f, a, &v, &n, &more);
    if (rc)
        return rc;
    int64_t hub = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t d = json_integer_value(json_object_get(v[i].doc, "interval_days"));
        const char *p = json_string_value(json_object_get(v[i].doc, "provider_id"));
        if (d > 0 && (!p || str_eq(p, "hub")) && !hub)
            hub = d;
        else if (d > 0 && !other)
            other = d;
    }
    struct config_rules_cal c;
    config_rules_calibration(t, as->site, as->type, &c);
    *days = hub ? hub : other ? other : c.interval_days;
    return AB_OK;
}

/* ---- closing ---------------------------------------------------------------------- */

struct close_job {
    struct rules *r;
    const struct config_tenant *t;
    const struct store_rule_state *row;
    const struct req_view *v;
    const struct rules_asset *as;
    struct arena *a;
    int64_t now;
    bool closed; /* result */
};

/* "sap notification 10000012", "hub work order 01J..." */
static const char *request_label(struct arena *a, const struct req_view *v, const json_t *doc)
{
    if (!v->provider)
        return arena_printf(a, "hub work order %s", v->native_id ? v->native_id : "?");
    const char *what = json_string_value(json_object_get(doc, "sap_notification_type"))
                           ? "notification"
                           : "work order";
    return arena_printf(a, "%s %s %s", v->provider, what, v->native_id ? v->native_id : "?");
}

static enum ab_rc close_calibration(struct store_tx *tx, struct close_job *j, int64_t performed,
                                    const char *label, const char *cert, const char **message)
{
    const json_t *doc = j->v->doc;
    struct store_cal_record in;
    memset(&in, 0, sizeof(in));
    in.tenant = j->t->name;
    in.asset_ref = j->row->subject;
    in.performed_at = performed;
    in.result = in.as_found = in.as_left = MODEL_CAL_UNKNOWN;
    (void)model_cal_result_parse(json_string_value(json_object_get(doc, "as_found")), &in.as_found);
    (void)model_cal_result_parse(json_string_value(json_object_get(doc, "as_left")), &in.as_left);
    in.result = in.as_left != MODEL_CAL_UNKNOWN ? in.as_left : in.as_found;
    in.certificate_id = cert;
    in.certificate_url = json_string_value(json_object_get(doc, "certificate_url"));
    in.performed_by = json_string_value(json_object_get(doc, "assigned_to"));
    /* the next due date: the interval of the asset's records, else the
     * rules' (the store knows only the records') */
    in.next_due_at = j->v->interval_days > 0 ? performed + j->v->interval_days * INT64_C(86400000)
                                             : MODEL_TIME_UNSET;
    in.actor = RULES_ACTOR;
    in.origin = j->v->provider;
    in.comment = arena_printf(j->a, "Calibrated per %s%s%s [assetbridge %s]", label,
                              cert ? ", certificate " : "", cert ? cert : "", j->row->request_key);
    struct store_cal_result res;
    enum ab_rc rc = store_calibration_record(tx, &in, j->a, &res);
    if (rc == AB_EINVAL) {
        log_warn(store_tx_correlation_id(tx),
                 "rules: the completed calibration could not be recorded; the request is closed",
                 LOG_STR("tenant", j->t->name), LOG_STR("asset_ref", j->row->subject),
                 LOG_STR("field", res.err.field), LOG_STR("reason", res.err.message));
        *message =
            arena_printf(j->a, "calibration not recorded: %s: %s", res.err.field, res.err.message);
        return AB_OK;
    }
    if (!rc && res.obj.due_at != INT64_MIN) {
        const char *next = rules_fmt_time(j->a, res.obj.due_at);
        *message = arena_printf(j->a, "Calibration completed per %s%s%s; next due %s", label,
                                cert ? ", certificate " : "", cert ? cert : "", next);
    } else if (!rc) {
        *message = arena_printf(j->a, "Calibration completed per %s%s%s", label,
                                cert ? ", certificate " : "", cert ? cert : "");
    }
    return rc;
}

static enum ab_rc close_maintenance(struct store_tx *tx, struct close_job *j, int64_t performed,
                                    const char *label, const char **message)
{
    const struct rules_asset *as = j->as;
    const char *at = rules_fmt_time(j->a, performed);
    const char *subject = arena_printf(j->a, "asset/%s", as->ref);
    const char *plan = str_eq(j->row->kind, "maintenance") ? j->row->rule_id : NULL;
    const char *comment =
        arena_printf(j->a, "Maintenance%s%s done per %s [assetbridge %s]", plan ? " plan " : "",
                     plan ? plan : "", label, j->row->request_key);
    enum ab_rc rc = AB_OK;
    for (size_t i = 0; i < as->n_links && !rc; i++) {
        const struct rules_link *l = &as->links[i];
        if (!takes(l, CONN_CAP_RECORD_MAINTENANCE, DOMAIN_MAINTENANCE, j->v->provider))
            continue;
        json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}", "asset_ref", as->ref,
                              "asset_native_id", l->native_id, "kind", "maintenance",
                              "performed_at", at, "comment", comment, "plan_id", plan, "origin",
                              j->v->provider, "site", as->site);
        rc = queue(
            tx, j->t->name, l->provider, "maintenance_plan", "record_maintenance", subject, p,
            arena_printf(j->a, "loop:%s:%s:maintenance", j->row->request_key, l->provider), j->a);
    }
    if (rc)
        return rc;
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "asset_ref", as->ref,
                           "performed_at", at, "kind", j->row->kind, "plan_id", plan, "provider",
                           j->v->provider, "request_native_id", j->v->native_id, "site", as->site);
    rc = store_event_append(tx, j->t->name, "maintenance.completed", subject, ev, NULL);
    json_decref(ev);
    *message = arena_printf(j->a, "Maintenance%s%s completed per %s", plan ? " plan " : "",
                            plan ? plan : "", label);
    return rc;
}

static enum ab_rc close_run(struct store_tx *tx, void *arg)
{
    struct close_job *j = arg;
    const struct store_rule_state *row = j->row;
    j->closed = false;
    struct store_rule_state cur;
    bool found = false;
    enum ab_rc rc = store_rule_state_get(tx, j->t->name, row->kind, row->subject, row->rule_id,
                                         j->a, &cur, &found);
    if (rc || !found || !str_eq(cur.request_key, row->request_key) ||
        cur.request_closed_at != INT64_MIN)
        return rc; /* closed meanwhile */
    const struct rules_asset *as = j->as;
    const struct req_view *v = j->v;
    bool done = v->outcome == REQ_DONE;
    int64_t performed = v->completed_at != INT64_MIN ? v->completed_at : j->now;
    const char *label = request_label(j->a, v, v->doc);
    const char *cert = json_string_value(json_object_get(v->doc, "certificate_id"));
    const char *message = NULL;
    bool cal = str_eq(row->kind, "calibration");
    enum domain d = cal ? DOMAIN_CALIBRATION : DOMAIN_MAINTENANCE;
    if (done && j->t->rules.close_loop && as) {
        if (cal)
            rc = close_calibration(tx, j, performed, label, cert, &message);
        else if (str_eq(row->kind, "maintenance"))
            rc = close_maintenance(tx, j, performed, label, &message);
        else
            message = arena_printf(j->a, "Corrective request %s completed", label);
        bool reset = false;
        if (cal) {
            struct config_rules_cal c;
            config_rules_calibration(j->t, as->site, as->type, &c);
            reset = c.reset_running_count;
        } else {
            struct config_rules_maint m;
            config_rules_maintenance(j->t, as->site, as->type, &m);
            reset = m.reset_running_count && str_eq(row->kind, "maintenance");
        }
        const char *subject = arena_printf(j->a, "asset/%s", as->ref);
        const char *entity = cal ? "calibration" : "maintenance_plan";
        for (size_t i = 0; i < as->n_links && !rc; i++) {
            const struct rules_link *l = &as->links[i];
            if (reset && takes(l, CONN_CAP_RESET_COUNT, d, v->provider)) {
                json_t *p =
                    json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "asset_ref", as->ref,
                              "asset_native_id", l->native_id, "comment", message ? message : label,
                              "origin", v->provider, "site", as->site);
                rc = queue(tx, j->t->name, l->provider, entity, "reset_running_count", subject, p,
                           arena_printf(j->a, "loop:%s:%s:reset", row->request_key, l->provider),
                           j->a);
            }
            if (!rc && message && takes(l, CONN_CAP_ASSET_LOG, d, v->provider)) {
                json_t *p = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "asset_ref", as->ref,
                                      "asset_native_id", l->native_id, "message", message, "origin",
                                      v->provider, "site", as->site);
                rc = queue(tx, j->t->name, l->provider, entity, "asset_message", subject, p,
                           arena_printf(j->a, "loop:%s:%s:message", row->request_key, l->provider),
                           j->a);
            }
        }
        if (rc)
            return rc;
    }
    cur.request_closed_at = j->now;
    rc = store_rule_state_put(tx, j->t->name, &cur);
    if (!rc)
        rc = audit(tx, j->t->name, "rules.request_closed",
                   arena_printf(j->a, "asset/%s", row->subject),
                   json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?}", "kind", row->kind, "rule_id",
                             row->rule_id, "request_key", row->request_key, "outcome",
                             done ? "completed" : "cancelled", "provider", v->provider,
                             "request_native_id", v->native_id, "recorded", message));
    j->closed = !rc;
    return rc;
}

/* ---- falling back to a hub work order ------------------------------------------------ */

struct fallback_job {
    struct rules *r;
    const struct config_tenant *t;
    const struct store_rule_state *row;
    const struct rules_asset *as;
    const char *payload; /* the refused item's */
    struct arena *a;
    bool opened;
};

static enum ab_rc fallback_run(struct store_tx *tx, void *arg)
{
    struct fallback_job *j = arg;
    struct store_rule_state cur;
    bool found = false;
    j->opened = false;
    enum ab_rc rc = store_rule_state_get(tx, j->t->name, j->row->kind, j->row->subject,
                                         j->row->rule_id, j->a, &cur, &found);
    if (rc || !found || !str_eq(cur.request_key, j->row->request_key) ||
        cur.request_closed_at != INT64_MIN)
        return rc;
    json_error_t je;
    json_t *p = json_loads(j->payload ? j->payload : "{}", 0, &je);
    struct rules_transition x;
    memset(&x, 0, sizeof(x));
    x.r = j->r;
    x.t = j->t;
    x.asset = j->as;
    x.a = j->a;
    x.req.open = true;
    x.req.domain = str_eq(cur.kind, "calibration") ? DOMAIN_CALIBRATION : DOMAIN_MAINTENANCE;
    x.req.kind = cur.kind;
    x.req.type = str_eq(cur.kind, "condition") ? "corrective" : NULL;
    x.req.rule_id = cur.rule_id;
    const char *reason = json_string_value(json_object_get(p, "reason"));
    x.req.reason = arena_strdup(j->a, reason ? reason : "due");
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *desc = json_string_value(json_object_get(p, "description"));
    x.req.title = arena_strdup(j->a, title ? title : "Request opened by the assetbridge rules");
    x.req.description = arena_printf(
        j->a, "%s (The request for the system of record was not written there: the hub holds it.)",
        desc ? desc : "");
    x.req.due_at = doc_ms(p, "due_at");
    json_decref(p);
    const char *key = NULL;
    rc = rules_open_hub_work_order(tx, &x, &key);
    if (rc)
        return rc;
    cur.request_key = key;
    cur.request_closed_at = INT64_MIN;
    rc = store_rule_state_put(tx, j->t->name, &cur);
    if (!rc)
        rc = audit(tx, j->t->name, "rules.request_fallback",
                   arena_printf(j->a, "asset/%s", cur.subject),
                   json_pack("{s:s, s:s, s:s}", "refused_request_key", j->row->request_key,
                             "request_key", key, "kind", cur.kind));
    j->opened = !rc;
    return rc;
}

/* ---- the pass ------------------------------------------------------------------------ */

enum ab_rc rules_loop_pass(struct rules *r, const struct config_tenant *t, int64_t now)
{
    enum ab_rc first = AB_OK;
    struct store_rule_state after = {.kind = "", .subject = "", .rule_id = ""};
    char ak[64], as_[256], ar[256];
    bool more = true;
    while (more) {
        struct arena *a = arena_new(65536, 64u << 20);
        struct store_read *rd = NULL;
        struct store_rule_state *rows = NULL;
        size_t n = 0;
        enum ab_rc rc = store_read_begin(r->store, &rd);
        if (!rc)
            rc = store_rules_open_requests(rd, t->name, &after, RULES_PAGE, a, &rows, &n, &more);
        struct req_view *views = rc ? NULL : arena_zalloc(a, (n ? n : 1) * sizeof(*views));
        struct rules_asset *assets = rc ? NULL : arena_zalloc(a, (n ? n : 1) * sizeof(*assets));
        for (size_t i = 0; !rc && i < n; i++) {
            enum ab_rc fr = follow(rd, t->name, &rows[i], a, &views[i]);
            if (!fr && views[i].outcome != REQ_WAIT)
                fr = rules_asset_load(rd, t, rows[i].subject, a, &assets[i]);
            if (!fr && views[i].outcome == REQ_DONE && str_eq(rows[i].kind, "calibration"))
                fr = cal_interval(rd, t, &assets[i], a, &views[i].interval_days);
            if (fr == AB_ENOTFOUND) {
                views[i].outcome = views[i].outcome == REQ_FALLBACK ? REQ_WAIT : views[i].outcome;
                assets[i].ref = NULL; /* the asset is gone: close without recording */
                fr = AB_OK;
            }
            if (fr && !first)
                first = fr;
            if (fr)
                views[i].outcome = REQ_WAIT;
        }
        if (rd)
            store_read_end(rd);
        if (rc) {
            arena_free(a);
            return rc;
        }
        for (size_t i = 0; i < n; i++) {
            const struct req_view *v = &views[i];
            const struct rules_asset *asp = assets[i].ref ? &assets[i] : NULL;
            enum ab_rc jr = AB_OK;
            if (v->outcome == REQ_DONE || v->outcome == REQ_CANCELLED) {
                struct close_job j = {r, t, &rows[i], v, asp, a, now, false};
                jr = store_write(r->store, close_run, &j, NULL);
                if (!jr && j.closed) {
                    rules_count(r, &r->stats.loops_closed, 1);
                    log_info(
                        NULL, "rules: request closed", LOG_STR("tenant", t->name),
                        LOG_STR("kind", rows[i].kind), LOG_STR("asset_ref", rows[i].subject),
                        LOG_STR("request_key", rows[i].request_key),
                        LOG_STR("outcome", v->outcome == REQ_DONE ? "completed" : "cancelled"));
                }
            } else if (v->outcome == REQ_FALLBACK && asp) {
                struct fallback_job j = {r, t, &rows[i], asp, v->payload, a, false};
                jr = store_write(r->store, fallback_run, &j, NULL);
                if (!jr && j.opened)
                    rules_count(r, &r->stats.hub_work_orders, 1);
            }
            if (jr) {
                rules_count(r, &r->stats.errors, 1);
                log_warn(NULL, "rules: closing a request failed; retried on the next pass",
                         LOG_STR("tenant", t->name), LOG_STR("asset_ref", rows[i].subject),
                         LOG_STR("request_key", rows[i].request_key),
                         LOG_STR("error", ab_rc_name(jr)));
                if (!first)
                    first = jr;
            }
        }
        if (n) {
            (void)snprintf(ak, sizeof(ak), "%s", rows[n - 1].kind);
            (void)snprintf(as_, sizeof(as_), "%s", rows[n - 1].subject);
            (void)snprintf(ar, sizeof(ar), "%s", rows[n - 1].rule_id);
            after.kind = ak;
            after.subject = as_;
            after.rule_id = ar;
        }
        arena_free(a);
    }
    return first;
}
