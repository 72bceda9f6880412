/* SPDX-License-Identifier: Apache-2.0
 *
 * condition.c: out-of-spec from test results (see rules_int.h and
 * docs/rules.md, "Out of spec from test results").
 *
 * The WATS connector stores every use of an asset in a test report as an
 * append-only "report" object of the asset (result, report id, start).
 * After new uses arrive, the engine judges the asset's last `window` uses
 * since its last corrective request was closed: above `threshold_pct`
 * percent failed (failed or error; terminated and unknown results are not
 * judged), with at least `min_uses` judged, the asset is out of spec:
 * asset.out_of_spec is emitted and one corrective request opens in the
 * maintenance system of record (or a hub work order) with the evidence:
 * the window, the counts and the report ids. Closing that request starts a
 * new occurrence counting only the uses after it (the repair resets the
 * evidence), so a fixed fixture is judged afresh.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "rules/rules_int.h"
#include "store/workorders.h"

static bool type_judged(const struct config_rules_failure_rate *fr, const char *type)
{
    if (fr->asset_types.n == 0)
        return str_eq(type, "fixture") || str_eq(type, "instrument");
    for (size_t i = 0; i < fr->asset_types.n; i++)
        if (str_eq(fr->asset_types.v[i], type))
            return true;
    return false;
}

static enum ab_rc eval_failure_rate(struct rules *r, const struct config_tenant *t, const char *ref)
{
    struct config_rules_failure_rate frc;
    const struct config_rules_failure_rate *fr = &frc;
    struct arena *a = arena_new(65536, 32u << 20);
    struct store_read *rd = NULL;
    struct rules_asset as;
    struct store_rule_state cur;
    bool found = false;
    struct store_object *uses = NULL;
    size_t n = 0;
    memset(&as, 0, sizeof(as));
    enum ab_rc rc = store_read_begin(r->store, &rd);
    if (!rc)
        rc = rules_asset_load(rd, t, ref, a, &as);
    if (!rc)
        config_rules_failure_rate(t, as.site, as.type, &frc);
    if (!rc && frc.enabled && type_judged(fr, as.type))
        rc = store_rule_state_read(rd, t->name, "condition", ref, "failure_rate", a, &cur, &found);
    else if (!rc)
        as.ref = NULL; /* not judged */
    if (!rc && as.ref)
        rc = store_rules_asset_uses(rd, t->name, ref, (size_t)fr->window, a, &uses, &n);
    if (rd)
        store_read_end(rd);
    if (rc == AB_ENOTFOUND || (!rc && !as.ref)) {
        arena_free(a);
        return AB_OK;
    }
    if (rc) {
        arena_free(a);
        return rc;
    }
    /* the uses since the last corrective request was closed */
    int64_t since = INT64_MIN;
    if (found && cur.request_closed_at != INT64_MIN)
        since = cur.request_closed_at;
    else if (found && cur.occurrence && time_parse_rfc3339(cur.occurrence, &since) != AB_OK)
        since = INT64_MIN;
    int64_t judged = 0, failed = 0;
    struct buf ids; /* the failed reports' ids for a person (bounded: the rest are in the event) */
    buf_init(&ids, 4096);
    json_t *report_ids = json_array();
    for (size_t k = n; k-- > 0;) { /* oldest first: the evidence reads in order */
        const struct store_object *u = &uses[k];
        if (since != INT64_MIN && u->created_at <= since)
            continue;
        const char *res = json_string_value(json_object_get(u->doc, "result"));
        bool fail = str_eq(res, "failed") || str_eq(res, "error");
        if (!fail && !str_eq(res, "passed"))
            continue;
        judged++;
        const char *rid = json_string_value(json_object_get(u->doc, "report_id"));
        if (fail) {
            failed++;
            if (rid) {
                json_array_append_new(report_ids, json_string(rid));
                enum ab_rc brc = buf_printf(&ids, "%s%s", ids.len ? ", " : "", rid);
                (void)brc; /* at the ceiling the list stops; the event has every id */
            }
        }
    }
    double rate = judged ? 100.0 * (double)failed / (double)judged : 0;
    bool out = judged >= fr->min_uses && rate > fr->threshold_pct;
    const char *occ = since == INT64_MIN ? "start" : rules_fmt_time(a, since);
    struct config_rules_maint mc;
    config_rules_maintenance(t, as.site, as.type, &mc);

    struct rules_transition x;
    rules_transition_init(&x, r, t, &as, a, "condition", as.ref, "failure_rate");
    x.next.occurrence = occ;
    x.next.state = out ? "out_of_spec" : "ok";
    x.events[0] = "asset.out_of_spec";
    x.subject = arena_printf(a, "asset/%s", as.ref);
    json_t *payload =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:O}", "asset_ref", as.ref, "rule",
                  "failure_rate", "window", (json_int_t)fr->window, "uses", (json_int_t)judged,
                  "failures", (json_int_t)failed, "failure_rate_pct", rate, "threshold_pct",
                  fr->threshold_pct, "failed_report_ids", report_ids);
    if (as.site)
        json_object_set_new(payload, "site", json_string(as.site));
    if (since != INT64_MIN)
        json_object_set_new(payload, "since", json_string(occ));
    x.payload = payload;
    x.req.open = out && mc.open_request;
    x.req.domain = DOMAIN_MAINTENANCE;
    x.req.kind = "condition";
    x.req.type = "corrective";
    x.req.rule_id = "failure_rate";
    x.req.reason = "out_of_spec";
    x.req.due_at = INT64_MIN;
    x.req.title = arena_printf(a, "Out of spec: %s failed %lld of its last %lld uses", as.ref,
                               (long long)failed, (long long)judged);
    x.req.description = arena_printf(
        a,
        "%s %s failed %lld of its last %lld judged uses in test reports (%.1f %%, above the "
        "%.1f %% threshold; window %lld uses%s%s). Failed reports: %s. Opened by the assetbridge "
        "rules.",
        as.type, as.ref, (long long)failed, (long long)judged, rate, fr->threshold_pct,
        (long long)fr->window, since != INT64_MIN ? ", since the last request closed at " : "",
        since != INT64_MIN ? occ : "", ids.len ? buf_str(&ids) : "none");
    rc = rules_run_transition(&x);
    json_decref(payload);
    json_decref(report_ids);
    buf_cleanup(&ids);
    arena_free(a);
    return rc;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

struct ref_set {
    struct arena *a; /* the refs live here */
    const char **refs;
    size_t n, cap;
};

/* The assets a page of uses belongs to (a run of one asset's uses is one
 * entry; the set is sorted and made distinct afterwards). */
static enum ab_rc collect_refs(void *arg, const struct store_object *v, size_t n, struct arena *a)
{
    struct ref_set *s = arg;
    (void)a;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].asset_ref || (s->n && str_eq(s->refs[s->n - 1], v[i].asset_ref)))
            continue;
        s->refs = arena_grow(s->a, s->refs, s->n, &s->cap, sizeof(*s->refs));
        s->refs[s->n++] = arena_strdup(s->a, v[i].asset_ref);
    }
    return AB_OK;
}

enum ab_rc rules_condition_pass(struct rules *r, const struct config_tenant *t, size_t ti,
                                int64_t now)
{
    (void)now;
    if (!config_rules_failure_rate_any(t))
        return AB_OK;
    struct rules_tenant_pass *tp = &r->tp[ti];
    int64_t since = tp->reports_at == INT64_MIN ? INT64_MIN : tp->reports_at - RULES_LOOKBACK_MS;
    int64_t start = clock_now_ms();
    /* the assets with new uses: one evaluation each, however many uses */
    struct ref_set set = {.a = arena_new(65536, 256u << 20)};
    enum ab_rc first = rules_scan_since(r, t, "report", since, collect_refs, &set);
    bool scanned = !first; /* evaluate past a failed evaluation, not a failed scan */
    if (scanned && set.n)
        qsort(set.refs, set.n, sizeof(*set.refs), cmp_str);
    for (size_t i = 0; scanned && i < set.n; i++) {
        if (i && str_eq(set.refs[i], set.refs[i - 1]))
            continue;
        enum ab_rc rc = eval_failure_rate(r, t, set.refs[i]);
        if (rc && !first)
            first = rc;
    }
    arena_free(set.a);
    if (!first)
        tp->reports_at = start;
    return first;
}
