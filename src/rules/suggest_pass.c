/* SPDX-License-Identifier: Apache-2.0
 *
 * suggest_pass.c: the rules engine's calibration interval suggestion pass
 * (see suggest.h, docs/internals/rules.md "Interval suggestions"). The
 * as-found history comes from the calibration.completed events the hub
 * emits for every calibration it records (each carries the record with
 * last_calibrated_at and as_found) and from the calibration records of
 * providers as they change. The tenant's position in both is a rule_state
 * row (kind "suggest", subject "cursor"): occurrence is the last event
 * sequence read, detail the objects checkpoint.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "model/asset.h"
#include "rules/suggest.h"
#include "store/assets.h"
#include "store/events.h"
#include "store/rules.h"
#include "store/suggestions.h"
#include "store/workorders.h"

#define EVENTS_PAGE 500
#define OBJ_PAGE 200
#define HISTORY_MAX 200
#define LOOKBACK_MS INT64_C(5000)

struct seen {
    const char *ref;
    const char *source;
    int64_t at;
    enum model_cal_result as_found;
};

struct collect {
    struct seen *v;
    size_t n, cap;
};

static void add_seen(struct arena *a, struct collect *c, const char *ref, const char *source,
                     int64_t at, enum model_cal_result r)
{
    c->v = arena_grow(a, c->v, c->n, &c->cap, sizeof(*c->v));
    c->v[c->n].ref = arena_strdup(a, ref);
    c->v[c->n].source = arena_strdup(a, source);
    c->v[c->n].at = at;
    c->v[c->n].as_found = r;
    c->n++;
}

/* A calibration document's (asset_ref, last_calibrated_at, as_found). */
static bool doc_result(const json_t *doc, const char **ref, int64_t *at, enum model_cal_result *r)
{
    const char *s = json_string_value(json_object_get(doc, "last_calibrated_at"));
    const char *f = json_string_value(json_object_get(doc, "as_found"));
    *ref = json_string_value(json_object_get(doc, "asset_ref"));
    if (!*ref || !s || time_parse_rfc3339(s, at) != AB_OK)
        return false;
    if (!f || !model_cal_result_parse(f, r))
        *r = MODEL_CAL_UNKNOWN;
    return true;
}

static int cmp_seen(const void *x, const void *y)
{
    const struct seen *a = x, *b = y;
    int c = strcmp(a->ref, b->ref);
    return c ? c : a->at < b->at ? -1 : a->at > b->at;
}

/* ---- the write job of one asset -------------------------------------------------- */

struct asset_job {
    const struct config_tenant *t;
    const struct seen *v; /* this asset's new results */
    size_t n;
    struct arena *a;
    struct rules_suggest_stats st; /* OUT */
};

static json_t *evidence_json(const struct store_cal_history *h, size_t n,
                             const struct rules_suggestion *sg, const struct config_rules_cal *rc)
{
    json_t *res = json_array();
    for (size_t i = n - sg->n_used; i < n; i++) {
        char b[TIME_RFC3339_MAX];
        time_format_rfc3339(h[i].performed_at, b);
        json_array_append_new(res, json_pack("{s:s, s:s}", "performed_at", b, "as_found",
                                             model_cal_result_name(h[i].as_found)));
    }
    return json_pack("{s:s, s:o, s:{s:I, s:f, s:f, s:I, s:I}}", "method", "fixed_step", "results",
                     res, "parameters", "suggest_after", (json_int_t)rc->suggest_after,
                     "suggest_increase_pct", rc->suggest_increase_pct, "suggest_decrease_pct",
                     rc->suggest_decrease_pct, "suggest_min_days", (json_int_t)rc->suggest_min_days,
                     "suggest_max_days", (json_int_t)rc->suggest_max_days);
}

static enum ab_rc asset_run(struct store_tx *tx, void *arg)
{
    struct asset_job *j = arg;
    const char *tenant = j->t->name;
    const char *ref = j->v[0].ref;
    const char *kind = STORE_SUGGESTION_CAL_INTERVAL;
    memset(&j->st, 0, sizeof(j->st));
    for (size_t i = 0; i < j->n; i++) {
        bool added = false;
        enum ab_rc rc = store_cal_history_add(tx, tenant, ref, j->v[i].at, j->v[i].source,
                                              j->v[i].as_found, &added);
        if (rc)
            return rc;
        j->st.results += added;
    }
    struct store_asset_row row;
    enum ab_rc rc = store_asset_get_tx(tx, tenant, ref, j->a, &row);
    if (rc == AB_ENOTFOUND)
        return AB_OK; /* history kept; nothing to suggest for an unknown asset */
    if (rc)
        return rc;
    struct config_rules_cal rc_cfg;
    config_rules_calibration(j->t, row.asset.site, model_asset_type_name(row.asset.type), &rc_cfg);
    if (!rc_cfg.suggest_intervals)
        return AB_OK;
    j->st.evaluated = 1;
    int64_t current = 0, basis = INT64_MIN;
    rc = store_cal_interval(tx, tenant, ref, &current);
    if (!rc && current <= 0)
        current = rc_cfg.interval_days;
    if (!rc)
        rc = store_suggestion_last_basis(tx, tenant, ref, kind, &basis);
    struct store_cal_history *h = NULL;
    size_t n = 0;
    if (!rc)
        rc = store_cal_history_since(tx, tenant, ref, basis, HISTORY_MAX, j->a, &h, &n);
    struct store_suggestion open;
    bool have_open = false;
    if (!rc)
        rc = store_suggestion_open_get(tx, tenant, ref, kind, j->a, &open, &have_open);
    if (rc)
        return rc;
    struct rules_suggestion sg;
    struct rules_cal_result *in = arena_zalloc(j->a, (n + 1) * sizeof(*in));
    for (size_t i = 0; i < n; i++) {
        in[i].performed_at = h[i].performed_at;
        in[i].as_found = h[i].as_found;
    }
    bool any = rules_suggest_interval(in, n, current, &rc_cfg, j->a, &sg);
    if (!any) {
        /* newer evidence no longer supports the open one (e.g. an unknown
         * result broke the run, or the interval changed elsewhere) */
        bool newer = n && have_open && h[n - 1].performed_at > open.basis_at;
        return newer ? store_suggestion_supersede(tx, tenant, ref, kind) : AB_OK;
    }
    if (have_open && open.current_days == sg.current_days &&
        open.suggested_days == sg.suggested_days && str_eq(open.direction, sg.direction))
        return AB_OK; /* the open one still stands */
    json_t *ev = evidence_json(h, n, &sg, &rc_cfg);
    char *evtext = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(ev);
    struct store_suggestion s = {0};
    s.asset_ref = ref;
    s.kind = kind;
    s.current_days = sg.current_days;
    s.suggested_days = sg.suggested_days;
    s.direction = sg.direction;
    s.reason = sg.reason;
    s.evidence = evtext;
    s.basis_at = sg.basis_at;
    const char *id = NULL;
    rc = store_suggestion_open(tx, tenant, &s, j->a, &id);
    free(evtext);
    if (!rc) {
        json_t *p =
            json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "suggestion_id", id, "asset_ref", ref,
                      "direction", sg.direction, "current_days", (json_int_t)sg.current_days,
                      "suggested_days", (json_int_t)sg.suggested_days, "reason", sg.reason);
        rc = store_event_append(tx, tenant, "calibration.interval_suggested",
                                arena_printf(j->a, "asset/%s", ref), p, NULL);
        json_decref(p);
    }
    if (rc)
        return rc;
    j->st.opened = 1;
    if (rc_cfg.apply_suggestions) {
        enum store_decide_refusal why = STORE_DECIDE_OK;
        rc = store_suggestion_decide(tx, tenant, id, true, "rules", j->a, NULL, &why);
        if (rc == AB_ECONFLICT && why == STORE_DECIDE_NO_RECORD)
            return AB_OK; /* stays open for a person: no hub record to change */
        if (!rc)
            j->st.applied = 1;
    }
    return rc;
}

/* ---- the pass ----------------------------------------------------------------------- */

struct cursor_job {
    const char *tenant;
    int64_t seq, obj_since;
};

static enum ab_rc cursor_run(struct store_tx *tx, void *arg)
{
    struct cursor_job *c = arg;
    char occ[32], det[32];
    (void)snprintf(occ, sizeof(occ), "%lld", (long long)c->seq);
    (void)snprintf(det, sizeof(det), "%lld", (long long)c->obj_since);
    struct store_rule_state s = {.kind = "suggest",
                                 .subject = "cursor",
                                 .rule_id = "calibration",
                                 .occurrence = occ,
                                 .state = "ok",
                                 .detail = det};
    return store_rule_state_put(tx, c->tenant, &s);
}

static enum ab_rc collect_events(struct store *s, const char *tenant, int64_t *seq, struct arena *a,
                                 struct collect *c)
{
    for (;;) {
        struct store_read *rd = NULL;
        struct store_event *ev = NULL;
        size_t n = 0;
        enum ab_rc rc = store_read_begin(s, &rd);
        if (!rc) {
            rc = store_events_list(rd, tenant, *seq, EVENTS_PAGE, a, &ev, &n);
            store_read_end(rd);
        }
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            *seq = ev[i].seq;
            if (!str_eq(ev[i].type, "calibration.completed") || !ev[i].payload)
                continue;
            json_error_t je;
            json_t *p = json_loads(ev[i].payload, 0, &je);
            const char *ref;
            int64_t at;
            enum model_cal_result r;
            if (p && doc_result(p, &ref, &at, &r))
                add_seen(a, c, ref, "hub", at, r);
            json_decref(p);
        }
        if (n < EVENTS_PAGE)
            return AB_OK;
    }
}

static enum ab_rc collect_objects(struct store *s, const char *tenant, int64_t since,
                                  struct arena *a, struct collect *c, size_t *objects)
{
    char after[128] = "";
    bool more = true;
    while (more) {
        struct store_read *rd = NULL;
        struct store_object *v = NULL;
        size_t n = 0;
        enum ab_rc rc = store_read_begin(s, &rd);
        if (!rc) {
            rc = store_rules_objects_since(rd, tenant, STORE_KIND_CALIBRATION, since, after,
                                           OBJ_PAGE, a, &v, &n, &more);
            store_read_end(rd);
        }
        if (rc)
            return rc;
        *objects += n;
        for (size_t i = 0; i < n; i++) {
            const char *p = json_string_value(json_object_get(v[i].doc, "provider_id"));
            const char *ref;
            int64_t at;
            enum model_cal_result r;
            /* the hub's own records come with their events (every one of them) */
            if (p && !str_eq(p, "hub") && doc_result(v[i].doc, &ref, &at, &r))
                add_seen(a, c, v[i].asset_ref ? v[i].asset_ref : ref, p, at, r);
        }
        if (n)
            (void)snprintf(after, sizeof(after), "%s", v[n - 1].id);
    }
    return AB_OK;
}

enum ab_rc rules_suggest_pass(struct store *s, const struct config_tenant *t,
                              struct rules_suggest_stats *st)
{
    struct arena *a = arena_new(65536, 256u << 20);
    struct store_read *rd = NULL;
    struct store_rule_state cur;
    bool found = false;
    enum ab_rc rc = store_read_begin(s, &rd);
    if (!rc) {
        rc =
            store_rule_state_read(rd, t->name, "suggest", "cursor", "calibration", a, &cur, &found);
        store_read_end(rd);
    }
    int64_t seq = 0, obj_since = INT64_MIN;
    if (!rc && found) {
        if (str_to_i64(cur.occurrence, &seq) != AB_OK)
            seq = 0;
        if (!cur.detail || str_to_i64(cur.detail, &obj_since) != AB_OK)
            obj_since = INT64_MIN;
    }
    struct cursor_job cj = {t->name, seq, obj_since};
    int64_t start = clock_now_ms();
    struct collect c = {0};
    size_t objects = 0;
    if (!rc)
        rc = collect_events(s, t->name, &cj.seq, a, &c);
    if (!rc)
        rc = collect_objects(s, t->name,
                             obj_since == INT64_MIN ? INT64_MIN : obj_since - LOOKBACK_MS, a, &c,
                             &objects);
    if (rc) {
        arena_free(a);
        return rc;
    }
    cj.obj_since = start;
    if (c.n)
        qsort(c.v, c.n, sizeof(*c.v), cmp_seen);
    enum ab_rc first = AB_OK;
    for (size_t i = 0; i < c.n;) {
        size_t k = i + 1;
        while (k < c.n && str_eq(c.v[k].ref, c.v[i].ref))
            k++;
        struct asset_job j = {.t = t, .v = &c.v[i], .n = k - i, .a = a};
        enum ab_rc r = store_write(s, asset_run, &j, NULL);
        if (r) {
            log_warn(NULL, "rules: interval suggestion failed", LOG_STR("tenant", t->name),
                     LOG_STR("asset_ref", c.v[i].ref), LOG_STR("error", ab_rc_name(r)));
            if (!first)
                first = r;
        } else if (st) {
            st->results += j.st.results;
            st->opened += j.st.opened;
            st->applied += j.st.applied;
            st->evaluated += j.st.evaluated;
        }
        i = k;
    }
    /* the cursor moves only past a pass without failures, and is written
     * only when it moved (a tenant without calibrations leaves no row) */
    if (!first &&
        (cj.seq != seq || c.n || (objects && !found) || (found && start - obj_since > 60000)))
        first = store_write(s, cursor_run, &cj, NULL);
    arena_free(a);
    return first;
}
