/* SPDX-License-Identifier: Apache-2.0
 *
 * rules.c: the rules engine (see rules.h and docs/internals/rules.md).
 *
 * A pass reads what to evaluate in read sessions (changed calibration
 * records, plans, meters; open work orders past their SLA; sync state),
 * decides each item's state with due.c, and records every transition in one
 * write job per item: the rule_state row, the events of entering the new
 * state and the request opened for it commit together, so a crash between
 * passes repeats nothing and loses nothing. Only the serve process's single
 * rules thread (or a test in manual mode) runs passes.
 */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn/conn.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "core/xmalloc.h"
#include "model/asset.h"
#include "model/work_order.h"
#include "rules/due.h"
#include "rules/rules.h"
#include "rules/rules_int.h"
#include "rules/suggest.h"
#include "store/assets.h"
#include "store/baselines.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/rules.h"
#include "store/synclog.h"
#include "store/workorders.h"

#define PAGE RULES_PAGE
#define LOOKBACK_MS RULES_LOOKBACK_MS
#define ACTOR RULES_ACTOR

void rules_count(struct rules *r, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&r->mu);
    *field += n;
    pthread_mutex_unlock(&r->mu);
}

const char *rules_fmt_time(struct arena *a, int64_t ms)
{
    char b[TIME_RFC3339_MAX];
    if (ms == INT64_MIN)
        return NULL;
    time_format_rfc3339(ms, b);
    return arena_strdup(a, b);
}

/* ---- what is known of an asset ------------------------------------------------- */

enum ab_rc rules_asset_load(struct store_read *rd, const struct config_tenant *t, const char *ref,
                            struct arena *a, struct rules_asset *out)
{
    struct store_asset_row row;
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = store_asset_get(rd, t->name, ref, a, &row);
    if (rc)
        return rc;
    out->ref = arena_strdup(a, ref);
    out->site = row.asset.site;
    out->type = model_asset_type_name(row.asset.type);
    out->status = model_asset_status_name(row.asset.status);
    out->serial = row.asset.serial_number;
    struct store_link *links = NULL;
    size_t n = 0;
    rc = store_links_list(rd, t->name, ref, a, &links, &n);
    if (rc)
        return rc;
    out->links = arena_zalloc(a, (n ? n : 1) * sizeof(*out->links));
    for (size_t i = 0; i < n; i++) {
        const struct config_provider *cp = config_provider(t, links[i].provider);
        if (!cp)
            continue; /* a provider no longer configured */
        struct rules_link *l = &out->links[out->n_links++];
        l->provider = links[i].provider;
        l->native_id = links[i].native_id;
        l->cfg = cp;
        const struct conn_ops *ops = conn_find(cp->type);
        l->caps = ops ? ops->caps : 0;
    }
    for (int d = 0; d < DOMAIN_COUNT; d++) {
        const char *p = config_system_of_record(t, out->site, (enum domain)d);
        const struct config_provider *cp = config_provider(t, p);
        if (!cp)
            continue;
        out->sor[d] = cp->name;
        out->sor_can_request[d] = conn_has(conn_find(cp->type), CONN_CAP_OPEN_REQUEST);
        for (size_t i = 0; i < n; i++)
            if (str_eq(links[i].provider, cp->name))
                out->native[d] = links[i].native_id;
    }
    return AB_OK;
}

/* ---- what a transition does (inside the write job) ------------------------------ */

void rules_transition_init(struct rules_transition *x, struct rules *r,
                           const struct config_tenant *t, const struct rules_asset *asset,
                           struct arena *a, const char *kind, const char *subject,
                           const char *rule_id)
{
    memset(x, 0, sizeof(*x));
    x->r = r;
    x->t = t;
    x->asset = asset;
    x->a = a;
    x->next.kind = kind;
    x->next.subject = subject;
    x->next.rule_id = rule_id;
}

/* Rank of a state name (ok < due_soon < overdue; due, breached and lagging
 * rank like overdue). */
static int rank(const char *s)
{
    if (!s || str_eq(s, "ok"))
        return 0;
    if (str_eq(s, "due_soon"))
        return 1;
    return 2;
}

enum ab_rc rules_open_hub_work_order(struct store_tx *tx, struct rules_transition *x,
                                     const char **key)
{
    struct model_work_order wo;
    memset(&wo, 0, sizeof(wo));
    wo.provider_id = MODEL_PROVIDER_HUB;
    wo.asset_ref = x->asset->ref;
    wo.type = str_eq(x->req.type, "corrective")     ? MODEL_WO_CORRECTIVE
              : x->req.domain == DOMAIN_CALIBRATION ? MODEL_WO_CALIBRATION
                                                    : MODEL_WO_PREVENTIVE;
    wo.common_status = MODEL_WO_OPEN;
    wo.priority = str_eq(x->req.reason, "overdue") ? MODEL_PRIORITY_HIGH : MODEL_PRIORITY_MEDIUM;
    wo.notes = arena_printf(x->a, "%s\n%s", x->req.title, x->req.description);
    wo.sla_due_at = x->req.due_at;
    wo.opened_at = wo.started_at = wo.completed_at = wo.closed_at = MODEL_TIME_UNSET;
    wo.last_synced_at = MODEL_TIME_UNSET;
    wo.sync_state = MODEL_SYNC_SYNCHRONIZED;
    struct store_wo_result res;
    enum ab_rc rc = store_work_order_create(tx, x->t->name, &wo, ACTOR, x->a, &res);
    if (rc) {
        log_warn(store_tx_correlation_id(tx), "rules: could not open a hub work order",
                 LOG_STR("tenant", x->t->name), LOG_STR("asset_ref", x->asset->ref),
                 LOG_STR("field", res.err.field), LOG_STR("reason", res.err.message));
        return rc;
    }
    *key = arena_printf(x->a, "wo:%s", res.obj.id);
    x->hub_wo = true;
    return AB_OK;
}

static enum ab_rc open_request(struct store_tx *tx, struct rules_transition *x,
                               const char *occurrence)
{
    const struct rules_asset *as = x->asset;
    enum domain d = x->req.domain;
    const char *key =
        arena_printf(x->a, "rule:%s:%s:%s:%s", x->req.kind, as->ref, x->req.rule_id, occurrence);
    if (!as->sor[d] || !as->sor_can_request[d] || !as->native[d])
        return rules_open_hub_work_order(tx, x, &x->next.request_key);
    json_t *p = json_object();
    json_object_set_new(p, "asset_ref", json_string(as->ref));
    json_object_set_new(p, "asset_native_id", json_string(as->native[d]));
    if (as->site)
        json_object_set_new(p, "site", json_string(as->site));
    json_object_set_new(p, "type", json_string(x->req.type ? x->req.type : x->req.kind));
    json_object_set_new(p, "reason", json_string(x->req.reason));
    const char *due = rules_fmt_time(x->a, x->req.due_at);
    if (due) {
        json_object_set_new(p, "due_at", json_string(due));
        json_object_set_new(p, "sla_due_at", json_string(due));
    }
    if (x->req.plan_id)
        json_object_set_new(p, "plan_id", json_string(x->req.plan_id));
    json_object_set_new(p, "title", json_string(x->req.title));
    json_object_set_new(p, "description", json_string(x->req.description));
    json_object_set_new(
        p, "notes", json_string(arena_printf(x->a, "%s\n%s", x->req.title, x->req.description)));
    json_object_set_new(p, "priority",
                        json_string(str_eq(x->req.reason, "overdue") ? "high" : "medium"));
    char *text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(p);
    if (!text)
        return AB_EINTERNAL;
    struct store_outbox_item it;
    memset(&it, 0, sizeof(it));
    it.tenant = x->t->name;
    it.provider = as->sor[d];
    it.entity = "work_order";
    it.action = "open_request";
    it.subject = arena_printf(x->a, "asset/%s", as->ref);
    it.payload = arena_strdup(x->a, text);
    free(text);
    it.idempotency_key = key;
    it.state = OUTBOX_PENDING;
    it.priority = -1;
    bool added = false;
    enum ab_rc rc = store_outbox_add(tx, &it, &added);
    if (rc)
        return rc;
    x->next.request_key = key;
    x->requested = added;
    return AB_OK;
}

/* Whether the stored row cur holds a request not closed yet: it stays the
 * one request of its (asset, kind, rule) until it is closed, whatever the
 * occurrences in between. */
static bool request_open(const struct store_rule_state *cur, bool found)
{
    return found && cur->request_key && cur->request_closed_at == INT64_MIN;
}

/* Whether recording x over the stored row cur would change nothing. */
static bool unchanged(const struct rules_transition *x, const struct store_rule_state *cur,
                      bool found)
{
    bool same = found && str_eq(cur->occurrence, x->next.occurrence);
    const char *prev = same ? cur->state : "ok";
    const char *key = same || request_open(cur, found) ? cur->request_key : NULL;
    if (!found && rank(x->next.state) == 0 && !x->req.open)
        return false; /* record the first occurrence seen */
    return same && str_eq(prev, x->next.state) && !(x->req.open && !key);
}

/* The job: compare with the stored row, emit what entering the new state
 * means, open the request, record the row. */
static enum ab_rc transition_job(struct store_tx *tx, void *arg)
{
    struct rules_transition *x = arg;
    struct store_rule_state cur;
    bool found;
    x->n_events = 0;
    x->requested = x->hub_wo = false;
    enum ab_rc rc = store_rule_state_get(tx, x->t->name, x->next.kind, x->next.subject,
                                         x->next.rule_id, x->a, &cur, &found);
    if (rc)
        return rc;
    bool same = found && str_eq(cur.occurrence, x->next.occurrence);
    const char *prev = same ? cur.state : "ok";
    if (unchanged(x, &cur, found))
        return AB_OK; /* nothing new */
    bool carried = same || request_open(&cur, found);
    x->next.request_key = carried ? cur.request_key : NULL;
    x->next.request_closed_at = carried ? cur.request_closed_at : INT64_MIN;
    int from = rank(prev), to = rank(x->next.state);
    for (int i = 0; i < 2 && x->events[i]; i++) {
        /* events[i] marks entering rank i + 1 (or the only event: rank 2);
         * a state jumped over is not entered (ok -> overdue: no .due) */
        int at = x->events[1] ? i + 1 : 2;
        if (from < at && to == at) {
            rc = store_event_append(tx, x->t->name, x->events[i], x->subject, x->payload, NULL);
            if (rc)
                return rc;
            x->n_events++;
        }
    }
    if (x->req.open && !x->next.request_key) {
        rc = open_request(tx, x, x->next.occurrence);
        if (rc)
            return rc;
    }
    if (x->lockout || to == 0) {
        rc = rules_lockout_apply(tx, x, from, to);
        if (rc)
            return rc;
    }
    return store_rule_state_put(tx, x->t->name, &x->next);
}

enum ab_rc rules_run_transition(struct rules_transition *x)
{
    /* most evaluations change nothing: look before queueing a write job */
    struct store_read *rd;
    struct store_rule_state cur;
    bool found = false;
    enum ab_rc rc = store_read_begin(x->r->store, &rd);
    if (!rc) {
        rc = store_rule_state_read(rd, x->t->name, x->next.kind, x->next.subject, x->next.rule_id,
                                   x->a, &cur, &found);
        store_read_end(rd);
    }
    if (!rc && unchanged(x, &cur, found))
        return AB_OK;
    rc = store_write(x->r->store, transition_job, x, NULL);
    if (rc) {
        rules_count(x->r, &x->r->stats.errors, 1);
        log_warn(NULL, "rules: evaluation failed; retried on the next pass",
                 LOG_STR("tenant", x->t->name), LOG_STR("kind", x->next.kind),
                 LOG_STR("subject", x->next.subject), LOG_STR("error", ab_rc_name(rc)));
        return rc;
    }
    rules_count(x->r, &x->r->stats.events, x->n_events);
    if (x->requested)
        rules_count(x->r, &x->r->stats.requests, 1);
    if (x->hub_wo)
        rules_count(x->r, &x->r->stats.hub_work_orders, 1);
    return AB_OK;
}

/* ---- calibration ----------------------------------------------------------------- */

static int64_t doc_time(const json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(doc, key));
    int64_t ms;
    return s && time_parse_rfc3339(s, &ms) == AB_OK ? ms : INT64_MIN;
}

/* The calibration record that counts for the asset: the calibration system
 * of record's, else the hub's, else the one due first. A pulled record's
 * provider_id is its provider's type (the model's provider ids are types),
 * so the system of record is recognised by its name or its type. */
static const struct store_object *effective_cal(const struct config_tenant *t,
                                                const struct store_object *v, size_t n,
                                                const char *sor)
{
    const struct store_object *best = NULL;
    const struct config_provider *sp = sor ? config_provider(t, sor) : NULL;
    int best_rank = -1;
    for (size_t i = 0; i < n; i++) {
        const char *p = json_string_value(json_object_get(v[i].doc, "provider_id"));
        int rk = sor && (str_eq(p, sor) || (sp && str_eq(p, sp->type))) ? 2
                 : str_eq(p, "hub")                                     ? 1
                                                                        : 0;
        if (rk > best_rank || (rk == best_rank && v[i].due_at != INT64_MIN &&
                               (best->due_at == INT64_MIN || v[i].due_at < best->due_at))) {
            best = &v[i];
            best_rank = rk;
        }
    }
    return best;
}

/* Use since the last calibration (rules.calibration.interval_usage). */
struct cal_usage {
    bool known;            /* an interval by use and a meter value are known */
    const char *meter;     /* the meter type */
    const char *since;     /* the calibration counted from (RFC 3339), NULL: none yet */
    double used, interval; /* use since then; the interval */
    enum model_due_state state;
};

/* The baseline of use is the meter's value when the engine first saw the
 * calibration (a rule_state row "cal_usage" per asset: occurrence the
 * calibration's time, detail the value); the engine sees a new calibration
 * within a tick, so the uses in between are negligible. */
struct baseline_job {
    const char *tenant;
    const struct store_rule_state *row;
};

static enum ab_rc baseline_run(struct store_tx *tx, void *arg)
{
    const struct baseline_job *j = arg;
    return store_rule_state_put(tx, j->tenant, j->row);
}

/* A number stored as text by "%.17g"; false when detail is not one. */
static bool parse_double(const char *s, double *out)
{
    char *end = NULL;
    if (!s || !*s)
        return false;
    *out = strtod(s, &end);
    return end && *end == '\0' && isfinite(*out);
}

static enum ab_rc cal_usage(struct rules *r, const struct config_tenant *t,
                            const struct rules_asset *as, const json_t *doc, int64_t last_cal,
                            const struct config_rules_cal *rc, struct arena *a,
                            struct cal_usage *out)
{
    memset(out, 0, sizeof(*out));
    const json_t *iv = json_object_get(doc, "interval_usage");
    double interval = json_is_number(iv) ? json_number_value(iv) : rc->interval_usage;
    const char *meter = json_string_value(json_object_get(doc, "usage_meter"));
    if (!meter)
        meter = rc->usage_meter ? rc->usage_meter : "cycles";
    if (!(interval > 0))
        return AB_OK;
    struct store_read *rd = NULL;
    double value = NAN;
    struct store_rule_state cur;
    bool found = false;
    enum ab_rc e = store_read_begin(r->store, &rd);
    if (!e) {
        e = store_rules_meter_value(rd, t->name, as->ref, meter, &value);
        if (e == AB_ENOTFOUND) {
            e = AB_OK;
            value = NAN;
        }
        if (!e)
            e = store_rule_state_read(rd, t->name, "cal_usage", as->ref, "calibration", a, &cur,
                                      &found);
        store_read_end(rd);
    }
    if (e || !isfinite(value))
        return e; /* no reading yet: nothing used */
    const char *since = rules_fmt_time(a, last_cal);
    const char *occ = since ? since : "never";
    double base;
    if (!(found && str_eq(cur.occurrence, occ) && parse_double(cur.detail, &base))) {
        base = value;
        struct store_rule_state s = {.kind = "cal_usage",
                                     .subject = as->ref,
                                     .rule_id = "calibration",
                                     .occurrence = occ,
                                     .state = "ok",
                                     .detail = arena_printf(a, "%.17g", value)};
        struct baseline_job bj = {t->name, &s};
        e = store_write(r->store, baseline_run, &bj, NULL);
        if (e)
            return e;
    }
    out->known = true;
    out->meter = meter;
    out->since = since;
    out->interval = interval;
    out->used = value > base ? value - base : 0;
    out->state = rules_cal_usage_state(out->used, interval, rc->due_soon_pct);
    return AB_OK;
}

static enum ab_rc eval_calibration(struct rules *r, const struct config_tenant *t,
                                   const char *asset_ref, int64_t now)
{
    struct arena *a = arena_new(16384, 16u << 20);
    struct store_read *rd = NULL;
    struct rules_asset as = {0};
    struct store_object *objs = NULL;
    size_t n = 0;
    bool more = false;
    enum ab_rc rc = store_read_begin(r->store, &rd);
    if (!rc)
        rc = rules_asset_load(rd, t, asset_ref, a, &as);
    if (!rc) {
        struct store_object_filter f = {.kind = STORE_KIND_CALIBRATION,
                                        .asset_ref = asset_ref,
                                        .due_before = INT64_MIN,
                                        .limit = 100};
        rc = store_objects_list(rd, t->name, &f, a, &objs, &n, &more);
    }
    if (rd)
        store_read_end(rd);
    if (rc == AB_ENOTFOUND)
        rc = AB_OK; /* the asset is gone: nothing to watch */
    const struct store_object *o =
        rc ? NULL : effective_cal(t, objs, n, as.sor[DOMAIN_CALIBRATION]);
    struct config_rules_cal rcfg = {0};
    if (o)
        config_rules_calibration(t, as.site, as.type, &rcfg);
    const json_t *req = o ? json_object_get(o->doc, "required") : NULL;
    if (!o || !rcfg.enabled || json_is_false(req)) {
        arena_free(a);
        return rc;
    }
    struct rules_cal_input in = {
        .due_at = o->due_at != INT64_MIN ? o->due_at : doc_time(o->doc, "due_at"),
        .last_calibrated_at = doc_time(o->doc, "last_calibrated_at"),
        .interval_days = json_integer_value(json_object_get(o->doc, "interval_days")),
    };
    int64_t due = INT64_MIN, soon = INT64_MIN;
    bool timed = rules_cal_schedule(&in, &rcfg, &due, &soon) == AB_OK;
    struct cal_usage u;
    rc = cal_usage(r, t, &as, o->doc, in.last_calibrated_at, &rcfg, a, &u);
    if (rc || (!timed && !u.known)) {
        arena_free(a);
        return rc; /* no due date and no use interval known */
    }
    enum model_due_state st = timed ? rules_cal_state(due, soon, now) : MODEL_DUE_OK;
    if (u.known && u.state > st)
        st = u.state;
    /* an occurrence is one due date, or (by use alone) one calibration */
    const char *occ =
        timed ? rules_fmt_time(a, due) : arena_printf(a, "usage:%s", u.since ? u.since : "never");
    struct rules_transition x;
    rules_transition_init(&x, r, t, &as, a, "calibration", as.ref, "calibration");
    x.next.occurrence = occ;
    x.next.state = model_due_state_name(st);
    x.events[0] = "calibration.due";
    x.events[1] = "calibration.overdue";
    x.lockout = rcfg.lockout;
    x.subject = arena_printf(a, "asset/%s", as.ref);
    json_t *payload = json_pack("{s:s, s:s?, s:s?, s:s, s:s}", "asset_ref", as.ref, "due_at",
                                timed ? occ : NULL, "due_soon_at", rules_fmt_time(a, soon),
                                "due_state", x.next.state, "calibration_id", o->id);
    if (u.known) {
        json_object_set_new(payload, "usage_meter", json_string(u.meter));
        json_object_set_new(payload, "usage", json_real(u.used));
        json_object_set_new(payload, "interval_usage", json_real(u.interval));
    }
    if (as.site)
        json_object_set_new(payload, "site", json_string(as.site));
    const char *pid = json_string_value(json_object_get(o->doc, "provider_id"));
    if (pid)
        json_object_set_new(payload, "provider_id", json_string(pid));
    x.payload = payload;
    int need = str_eq(rcfg.open_request_at, "overdue") ? 2 : 1;
    x.req.open = rcfg.open_request && rank(x.next.state) >= need;
    x.req.domain = DOMAIN_CALIBRATION;
    x.req.kind = "calibration";
    x.req.rule_id = "calibration";
    x.req.reason = x.next.state;
    x.req.due_at = due;
    x.req.title =
        arena_printf(a, "Calibration %s: %s", st == MODEL_DUE_OVERDUE ? "overdue" : "due", as.ref);
    const char *by_use =
        u.known ? arena_printf(a, "; %.15g of %.15g %s used since the last calibration", u.used,
                               u.interval, u.meter)
                : "";
    x.req.description = arena_printf(
        a, "Calibration of %s%s%s is due %s%s%s (state %s). Opened by the assetbridge rules.",
        as.ref, as.site ? " at " : "", as.site ? as.site : "", timed ? "at " : "by use",
        timed ? occ : "", by_use, x.next.state);
    rc = rules_run_transition(&x);
    json_decref(payload);
    arena_free(a);
    return rc;
}

/* ---- maintenance plans -------------------------------------------------------------- */

static enum ab_rc eval_plan(struct rules *r, const struct config_tenant *t,
                            const struct store_object *plan, int64_t now)
{
    const json_t *doc = plan->doc;
    const char *trigger = json_string_value(json_object_get(doc, "trigger"));
    const char *ref = plan->asset_ref;
    if (!ref || !trigger || str_eq(trigger, "condition"))
        return AB_OK; /* condition plans are raised by condition rules, not here */
    struct arena *a = arena_new(16384, 16u << 20);
    struct store_read *rd = NULL;
    struct rules_asset as = {0};
    double reading = NAN;
    /* the hub meter a usage plan counts on: its meter_type (a provider's
     * plan names the counter), else its interval_unit (a hub plan) */
    const char *unit = json_string_value(json_object_get(doc, "meter_type"));
    if (!unit)
        unit = json_string_value(json_object_get(doc, "interval_unit"));
    bool usage = str_eq(trigger, "usage");
    enum ab_rc rc = store_read_begin(r->store, &rd);
    if (!rc)
        rc = rules_asset_load(rd, t, ref, a, &as);
    if (!rc && usage && unit) {
        rc = store_rules_meter_value(rd, t->name, ref, unit, &reading);
        if (rc == AB_ENOTFOUND)
            rc = AB_OK; /* no reading yet */
        /* a provider's plan counts in its own counter's terms: the hub's
         * value plus the provider's total when the hub linked the asset */
        const char *owner = as.sor[DOMAIN_MAINTENANCE];
        const char *native = as.native[DOMAIN_MAINTENANCE];
        const char *pid = json_string_value(json_object_get(doc, "provider_id"));
        if (!rc && isfinite(reading) && owner && native && pid && !str_eq(pid, "hub")) {
            double base = 0;
            bool found = false;
            rc = store_usage_baseline_get_read(rd, t->name, owner, native, unit, &base, &found);
            if (!rc && found)
                reading += base;
        }
    }
    if (rd)
        store_read_end(rd);
    if (rc == AB_ENOTFOUND)
        rc = AB_OK;
    struct config_rules_maint mc = {0};
    if (!rc)
        config_rules_maintenance(t, as.site, as.type, &mc);
    if (rc || !mc.enabled) {
        arena_free(a);
        return rc;
    }
    const char *plan_id = json_string_value(json_object_get(doc, "plan_id"));
    if (!plan_id)
        plan_id = plan->id;
    const char *occ;
    bool due;
    int64_t due_at = INT64_MIN;
    if (usage) {
        const json_t *nr = json_object_get(doc, "next_due_reading");
        if (!json_is_number(nr)) {
            arena_free(a);
            return AB_OK;
        }
        double next = json_number_value(nr);
        occ = arena_printf(a, "reading:%.17g", next);
        due = rules_plan_usage_due(next, mc.lead_usage, reading);
    } else {
        due_at = plan->due_at != INT64_MIN ? plan->due_at : doc_time(doc, "next_due_at");
        if (due_at == INT64_MIN) {
            arena_free(a);
            return AB_OK;
        }
        occ = rules_fmt_time(a, due_at);
        due = rules_plan_time_due(due_at, mc.lead_time_ms, now);
    }
    struct rules_transition x;
    rules_transition_init(&x, r, t, &as, a, "maintenance", as.ref, plan_id);
    x.next.occurrence = occ;
    x.next.state = due ? "due" : "ok";
    x.events[0] = "maintenance.due";
    x.subject = arena_printf(a, "asset/%s", as.ref);
    json_t *payload = json_pack("{s:s, s:s, s:s, s:s}", "asset_ref", as.ref, "plan_id", plan_id,
                                "plan_object_id", plan->id, "trigger", trigger);
    if (due_at != INT64_MIN)
        json_object_set_new(payload, "due_at", json_string(occ));
    if (usage) {
        json_object_set(payload, "next_due_reading", json_object_get(doc, "next_due_reading"));
        json_object_set_new(payload, "meter_type", json_string(unit ? unit : ""));
        if (isfinite(reading))
            json_object_set_new(payload, "reading", json_real(reading));
    }
    if (as.site)
        json_object_set_new(payload, "site", json_string(as.site));
    x.payload = payload;
    x.req.open = mc.open_request && due;
    x.req.domain = DOMAIN_MAINTENANCE;
    x.req.kind = "maintenance";
    x.req.rule_id = plan_id;
    x.req.plan_id = plan_id;
    x.req.reason = usage ? "usage" : "due";
    x.req.due_at = due_at;
    x.req.title = arena_printf(a, "Maintenance due: %s (plan %s)", as.ref, plan_id);
    const char *desc = json_string_value(json_object_get(doc, "description"));
    x.req.description =
        usage ? arena_printf(a, "Plan %s of %s is due by usage: %s reached %.15g of %s %s. %s",
                             plan_id, as.ref, unit ? unit : "meter", reading,
                             occ + strlen("reading:"), unit ? unit : "", desc ? desc : "")
              : arena_printf(a, "Plan %s of %s is due at %s. %s", plan_id, as.ref, occ,
                             desc ? desc : "");
    rc = rules_run_transition(&x);
    json_decref(payload);
    arena_free(a);
    return rc;
}

/* ---- SLA watch ------------------------------------------------------------------------ */

static enum ab_rc eval_sla(struct rules *r, const struct config_tenant *t,
                           const struct store_object *wo)
{
    struct arena *a = arena_new(4096, 1u << 20);
    struct rules_transition x;
    rules_transition_init(&x, r, t, NULL, a, "sla", wo->id, "sla");
    x.next.occurrence = rules_fmt_time(a, wo->due_at);
    x.next.state = "breached";
    x.events[0] = "work_order.sla_breached";
    x.subject = arena_printf(a, "work-order/%s", wo->id);
    json_t *payload = json_pack("{s:s, s:s, s:s}", "common_work_order_id", wo->id, "sla_due_at",
                                x.next.occurrence, "common_status", wo->status ? wo->status : "");
    if (wo->asset_ref)
        json_object_set_new(payload, "asset_ref", json_string(wo->asset_ref));
    const char *pid = json_string_value(json_object_get(wo->doc, "provider_id"));
    if (pid)
        json_object_set_new(payload, "provider_id", json_string(pid));
    x.payload = payload;
    enum ab_rc rc = rules_run_transition(&x);
    json_decref(payload);
    arena_free(a);
    return rc;
}

static enum ab_rc eval_lag(struct rules *r, const struct config_tenant *t,
                           const struct config_sync_lag *lim, int64_t now)
{
    struct arena *a = arena_new(16384, 8u << 20);
    struct store_read *rd = NULL;
    struct store_sync_state *rows = NULL;
    size_t n = 0;
    enum ab_rc rc = store_read_begin(r->store, &rd);
    if (!rc)
        rc = store_sync_state_list(rd, t->name, 1000, a, &rows, &n);
    if (rd)
        store_read_end(rd);
    if (rc) {
        arena_free(a);
        return rc;
    }
    const struct config_provider *p = config_provider(t, lim->provider);
    int64_t oldest = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (!str_eq(rows[i].provider, lim->provider) || rows[i].last_success_at == INT64_MIN ||
            rows[i].last_success_at == 0 || (p && !config_entity(p, rows[i].entity)))
            continue;
        if (oldest == INT64_MIN || rows[i].last_success_at < oldest)
            oldest = rows[i].last_success_at;
    }
    if (oldest == INT64_MIN) {
        arena_free(a);
        return AB_OK; /* never pulled successfully: health shows it; nothing to compare */
    }
    bool lagging = now - oldest > lim->max_ms;
    struct rules_transition x;
    rules_transition_init(&x, r, t, NULL, a, "sync_lag", lim->provider, "sync_lag");
    x.next.occurrence = "";
    x.next.state = lagging ? "lagging" : "ok";
    x.events[0] = "sync.lagging";
    x.subject = arena_printf(a, "provider/%s", lim->provider);
    json_t *payload = json_pack("{s:s, s:s, s:I, s:I}", "provider", lim->provider,
                                "last_success_at", rules_fmt_time(a, oldest), "lag_ms",
                                (json_int_t)(now - oldest), "limit_ms", (json_int_t)lim->max_ms);
    x.payload = payload;
    rc = rules_run_transition(&x);
    json_decref(payload);
    arena_free(a);
    return rc;
}

/* ---- passes ------------------------------------------------------------------------ */

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Keep the first error. */
static void keep(enum ab_rc *first, enum ab_rc rc)
{
    if (rc && !*first)
        *first = rc;
}

enum ab_rc rules_scan_since(struct rules *r, const struct config_tenant *t, const char *kind,
                            int64_t since, rules_page_fn fn, void *arg)
{
    enum ab_rc first = AB_OK;
    char after[128] = "";
    bool more = true;
    while (more) {
        struct arena *a = arena_new(65536, 64u << 20);
        struct store_read *rd = NULL;
        struct store_object *v = NULL;
        size_t n = 0;
        enum ab_rc rc = store_read_begin(r->store, &rd);
        if (!rc) {
            rc = store_rules_objects_since(rd, t->name, kind, since, after, PAGE, a, &v, &n, &more);
            store_read_end(rd);
        }
        if (rc) {
            arena_free(a);
            return rc;
        }
        keep(&first, fn(arg, v, n, a));
        if (n)
            (void)snprintf(after, sizeof(after), "%s", v[n - 1].id);
        arena_free(a);
    }
    return first;
}

struct eval_page {
    struct rules *r;
    const struct config_tenant *t;
    int64_t now;
};

/* The calibration records of a page: each asset evaluated once. */
static enum ab_rc calibration_page(void *arg, const struct store_object *v, size_t n,
                                   struct arena *a)
{
    const struct eval_page *ep = arg;
    enum ab_rc first = AB_OK;
    const char **refs = arena_zalloc(a, (n + 1) * sizeof(*refs));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].asset_ref)
            refs[k++] = v[i].asset_ref;
    qsort(refs, k, sizeof(*refs), cmp_str);
    for (size_t i = 0; i < k; i++)
        if (i == 0 || strcmp(refs[i], refs[i - 1]) != 0)
            keep(&first, eval_calibration(ep->r, ep->t, refs[i], ep->now));
    return first;
}

static enum ab_rc pass_calibration(struct rules *r, const struct config_tenant *t, int64_t since,
                                   int64_t now)
{
    struct eval_page ep = {r, t, now};
    return rules_scan_since(r, t, STORE_KIND_CALIBRATION, since, calibration_page, &ep);
}

static enum ab_rc plans_of_asset(struct rules *r, const struct config_tenant *t, const char *ref,
                                 int64_t now)
{
    enum ab_rc first = AB_OK;
    struct arena *a = arena_new(65536, 64u << 20);
    struct store_read *rd = NULL;
    struct store_object *v = NULL;
    size_t n = 0;
    bool more = false;
    struct store_object_filter f = {
        .kind = STORE_KIND_PLAN, .asset_ref = ref, .due_before = INT64_MIN, .limit = 1000};
    enum ab_rc rc = store_read_begin(r->store, &rd);
    if (!rc) {
        rc = store_objects_list(rd, t->name, &f, a, &v, &n, &more);
        store_read_end(rd);
    }
    for (size_t i = 0; !rc && i < n; i++)
        keep(&first, eval_plan(r, t, &v[i], now));
    arena_free(a);
    return rc ? rc : first;
}

static enum ab_rc plans_page(void *arg, const struct store_object *v, size_t n, struct arena *a)
{
    const struct eval_page *ep = arg;
    enum ab_rc first = AB_OK;
    (void)a;
    for (size_t i = 0; i < n; i++)
        keep(&first, eval_plan(ep->r, ep->t, &v[i], ep->now));
    return first;
}

static enum ab_rc pass_maintenance(struct rules *r, const struct config_tenant *t, int64_t since,
                                   int64_t now)
{
    struct eval_page ep = {r, t, now};
    enum ab_rc first = rules_scan_since(r, t, STORE_KIND_PLAN, since, plans_page, &ep);
    if (since == INT64_MIN)
        return first; /* a full pass saw every plan */
    /* usage plans of assets whose meters moved */
    int64_t after_id = 0;
    bool more = true;
    while (more) {
        struct arena *a = arena_new(65536, 64u << 20);
        struct store_read *rd = NULL;
        const char **refs = NULL;
        int64_t *ids = NULL;
        size_t n = 0;
        enum ab_rc rc = store_read_begin(r->store, &rd);
        if (!rc) {
            rc = store_rules_meters_since(rd, t->name, since, after_id, PAGE, a, &refs, &ids, &n,
                                          &more);
            store_read_end(rd);
        }
        if (rc) {
            arena_free(a);
            return rc;
        }
        if (n)
            after_id = ids[n - 1];
        qsort(refs, n, sizeof(*refs), cmp_str);
        for (size_t i = 0; i < n; i++)
            if (i == 0 || strcmp(refs[i], refs[i - 1]) != 0)
                keep(&first, plans_of_asset(r, t, refs[i], now));
        arena_free(a);
    }
    return first;
}

static enum ab_rc pass_sla(struct rules *r, const struct config_tenant *t, int64_t now)
{
    enum ab_rc first = AB_OK;
    char after[128] = "";
    bool more = true;
    while (more) {
        struct arena *a = arena_new(65536, 64u << 20);
        struct store_read *rd = NULL;
        struct store_object *v = NULL;
        size_t n = 0;
        enum ab_rc rc = store_read_begin(r->store, &rd);
        if (!rc) {
            rc = store_rules_wo_past_sla(rd, t->name, now, after, PAGE, a, &v, &n, &more);
            store_read_end(rd);
        }
        if (rc) {
            arena_free(a);
            return rc;
        }
        for (size_t i = 0; i < n; i++)
            keep(&first, eval_sla(r, t, &v[i]));
        if (n)
            (void)snprintf(after, sizeof(after), "%s", v[n - 1].id);
        arena_free(a);
    }
    return first;
}

static enum ab_rc pass_tenant(struct rules *r, size_t ti, bool force_full, int64_t now)
{
    const struct config_tenant *t = &r->cfg->tenants[ti];
    struct rules_tenant_pass *tp = &r->tp[ti];
    bool full = force_full || tp->last_full == INT64_MIN ||
                now - tp->last_full >= t->rules.evaluate_every_ms || now < tp->last_full;
    int64_t since = full ? INT64_MIN : tp->checkpoint - LOOKBACK_MS;
    /* changes are stamped with the clock: the checkpoint is taken before
     * reading, so nothing committed during the pass is skipped next time */
    int64_t start = clock_now_ms();
    enum ab_rc first = AB_OK;
    keep(&first, pass_calibration(r, t, since, now));
    keep(&first, pass_maintenance(r, t, since, now));
    keep(&first, rules_condition_pass(r, t, ti, now));
    keep(&first, rules_loop_pass(r, t, now));
    if (t->rules.lifecycle.enabled)
        keep(&first, rules_lifecycle_pass(r, t));
    {
        struct rules_suggest_stats ss = {0};
        enum ab_rc src = rules_suggest_pass(r->store, t, &ss);
        if (src) {
            rules_count(r, &r->stats.errors, 1);
            keep(&first, src);
        }
        if (ss.opened)
            rules_count(r, &r->stats.events, ss.opened);
    }
    if (t->rules.sla.work_orders)
        keep(&first, pass_sla(r, t, now));
    for (size_t i = 0; i < t->rules.sla.n_sync_lag; i++)
        keep(&first, eval_lag(r, t, &t->rules.sla.sync_lag[i], now));
    if (!first) {
        tp->checkpoint = start;
        if (full)
            tp->last_full = now;
    }
    return first;
}

enum ab_rc rules_run_once(struct rules *r, int64_t now)
{
    pthread_mutex_lock(&r->mu);
    bool force = r->force_full;
    r->force_full = false;
    pthread_mutex_unlock(&r->mu);
    enum ab_rc first = AB_OK;
    for (size_t i = 0; i < r->cfg->n_tenants; i++)
        keep(&first, pass_tenant(r, i, force, now));
    rules_count(r, &r->stats.passes, 1);
    return first;
}

void rules_request_full(struct rules *r)
{
    pthread_mutex_lock(&r->mu);
    r->force_full = true;
    pthread_mutex_unlock(&r->mu);
}

void rules_get_stats(struct rules *r, struct rules_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->stats;
    pthread_mutex_unlock(&r->mu);
}

/* ---- the thread ----------------------------------------------------------------------- */

static void *rules_main(void *arg)
{
    struct rules *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        pthread_mutex_unlock(&r->mu);
        enum ab_rc rc = rules_run_once(r, clock_now_ms());
        (void)rc; /* failures are logged and retried on the next tick */
        pthread_mutex_lock(&r->mu);
        if (r->stop)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (r->opts.tick_ms % 1000) * 1000000;
        ts.tv_sec += r->opts.tick_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        (void)pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

enum ab_rc rules_start_ex(const struct config *cfg, struct store *s, const struct rules_opts *o,
                          struct rules **out)
{
    struct rules *r = xcalloc(1, sizeof(*r));
    r->cfg = cfg;
    r->store = s;
    if (o)
        r->opts = *o;
    if (r->opts.tick_ms <= 0)
        r->opts.tick_ms = 1000;
    r->tp = xcalloc(cfg->n_tenants ? cfg->n_tenants : 1, sizeof(*r->tp));
    for (size_t i = 0; i < cfg->n_tenants; i++)
        r->tp[i].last_full = r->tp[i].reports_at = INT64_MIN;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (!r->opts.manual) {
        if (pthread_create(&r->th, NULL, rules_main, r) != 0) {
            rules_stop(r);
            *out = NULL;
            return AB_EINTERNAL;
        }
        r->thread = true;
    }
    log_info(NULL, "rules engine started", LOG_INT("tenants", cfg->n_tenants),
             LOG_STR("mode", r->opts.manual ? "manual" : "thread"));
    *out = r;
    return AB_OK;
}

enum ab_rc rules_start(const struct config *cfg, struct store *s, struct rules **out)
{
    return rules_start_ex(cfg, s, NULL, out);
}

void rules_stop(struct rules *r)
{
    if (!r)
        return;
    if (r->thread) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->th, NULL);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r->tp);
    free(r);
}
