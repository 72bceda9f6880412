/* SPDX-License-Identifier: Apache-2.0
 *
 * suggestions.c: the calibration as-found history and the interval
 * suggestions (see suggestions.h). Approving a suggestion rewrites the hub
 * calibration object's interval (and due date) in place, with a new
 * revision and digest, an event and an audit record, in the caller's job.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "model/digest.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/store_int.h"
#include "store/suggestions.h"

#define DAY_MS INT64_C(86400000)

/* ---- history ---------------------------------------------------------------- */

static const char SQL_HIST_ADD[] =
    "INSERT INTO calibration_history(tenant, asset_ref, performed_at, source, as_found,"
    " recorded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
static const char SQL_HIST_SINCE[] = "SELECT performed_at, as_found FROM calibration_history"
                                     " WHERE tenant = ?1 AND asset_ref = ?2 AND performed_at > ?3"
                                     " ORDER BY performed_at DESC, source LIMIT ?4";

enum ab_rc store_cal_history_add(struct store_tx *tx, const char *tenant, const char *asset_ref,
                                 int64_t performed_at, const char *source,
                                 enum model_cal_result as_found, bool *added)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    if (added)
        *added = false;
    enum ab_rc rc = store_db_stmt(db, SQL_HIST_ADD, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttittT", tenant, asset_ref, performed_at, source,
                            model_cal_result_name(as_found), clock_now_ms());
    if (!rc)
        rc = store_step_done(db, st);
    if (!rc && added)
        *added = db->ops->changes(db->conn) > 0;
    return rc;
}

/* out of tolerance > in tolerance > unknown */
static int severity(enum model_cal_result r)
{
    return r == MODEL_CAL_OUT_OF_TOLERANCE ? 2 : r == MODEL_CAL_IN_TOLERANCE ? 1 : 0;
}

enum ab_rc store_cal_history_since(struct store_tx *tx, const char *tenant, const char *asset_ref,
                                   int64_t after, size_t limit, struct arena *a,
                                   struct store_cal_history **out, size_t *n)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    *out = NULL;
    *n = 0;
    if (limit < 1 || limit > 1000)
        return AB_EINVAL;
    /* newest first; several sources per performed_at: read a few more */
    struct store_cal_history *v = arena_zalloc(a, limit * sizeof(*v));
    size_t k = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_HIST_SINCE, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttii", tenant, asset_ref, after, (int64_t)limit * 4);
    while (!rc && !(rc = store_step_row(db, st, &row)) && row) {
        int64_t at = store_col_int(db, st, 0);
        const char *name = db->ops->column_text(st, 1);
        enum model_cal_result r = MODEL_CAL_UNKNOWN;
        if (!name || !model_cal_result_parse(name, &r))
            r = MODEL_CAL_UNKNOWN;
        if (k && v[k - 1].performed_at == at) {
            if (severity(r) > severity(v[k - 1].as_found))
                v[k - 1].as_found = r;
            continue;
        }
        if (k == limit)
            break;
        v[k].performed_at = at;
        v[k].as_found = r;
        k++;
    }
    db->ops->reset(st);
    if (rc)
        return rc;
    for (size_t i = 0; i < k / 2; i++) { /* oldest first */
        struct store_cal_history t = v[i];
        v[i] = v[k - 1 - i];
        v[k - 1 - i] = t;
    }
    *out = v;
    *n = k;
    return AB_OK;
}

/* ---- suggestions --------------------------------------------------------------- */

#define SG_COLS                                                                                    \
    "id, asset_ref, kind, state, current_days, suggested_days, direction, reason, evidence,"       \
    " basis_at, created_at, decided_at, decided_by"

static const char SQL_SG_OPEN[] = "SELECT " SG_COLS " FROM suggestions WHERE tenant = ?"
                                  " AND asset_ref = ? AND kind = ? AND state = 'open'";
static const char SQL_SG_BASIS[] =
    "SELECT MAX(basis_at) FROM suggestions WHERE tenant = ? AND asset_ref = ? AND kind = ?"
    " AND state IN ('approved', 'rejected')";
static const char SQL_SG_SUPERSEDE[] =
    "UPDATE suggestions SET state = 'superseded', decided_at = ?, decided_by = 'rules'"
    " WHERE tenant = ? AND asset_ref = ? AND kind = ? AND state = 'open'";
static const char SQL_SG_INSERT[] =
    "INSERT INTO suggestions(tenant, id, asset_ref, kind, state, current_days, suggested_days,"
    " direction, reason, evidence, basis_at, created_at) VALUES"
    " (?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_SG_GET[] = "SELECT " SG_COLS " FROM suggestions WHERE tenant = ? AND id = ?";
static const char SQL_SG_LIST[] = "SELECT " SG_COLS " FROM suggestions"
                                  " WHERE tenant = ?1 AND (?2 IS NULL OR state = ?2) AND id > ?3"
                                  " ORDER BY id LIMIT ?4";
static const char SQL_SG_DECIDE[] =
    "UPDATE suggestions SET state = ?, decided_at = ?, decided_by = ?"
    " WHERE tenant = ? AND id = ? AND state = 'open'";

static void sg_row(struct store_db *db, struct store_stmt *st, struct arena *a,
                   struct store_suggestion *o)
{
    o->id = store_col_text(db, st, 0, a);
    o->asset_ref = store_col_text(db, st, 1, a);
    o->kind = store_col_text(db, st, 2, a);
    o->state = store_col_text(db, st, 3, a);
    o->current_days = store_col_int(db, st, 4);
    o->suggested_days = store_col_int(db, st, 5);
    o->direction = store_col_text(db, st, 6, a);
    o->reason = store_col_text(db, st, 7, a);
    o->evidence = store_col_text(db, st, 8, a);
    o->basis_at = store_col_int(db, st, 9);
    o->created_at = store_col_int(db, st, 10);
    o->decided_at = store_col_time(db, st, 11);
    o->decided_by = store_col_text(db, st, 12, a);
}

static enum ab_rc sg_one(struct store_db *db, const char *sql, const char *fmt, const char *p1,
                         const char *p2, const char *p3, struct arena *a,
                         struct store_suggestion *out, bool *found)
{
    struct store_stmt *st;
    bool row = false;
    memset(out, 0, sizeof(*out));
    *found = false;
    enum ab_rc rc = store_db_stmt(db, sql, &st);
    if (!rc)
        rc = store_bind_all(db, st, fmt, p1, p2, p3);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row) {
        sg_row(db, st, a, out);
        *found = true;
    }
    db->ops->reset(st);
    return rc;
}

enum ab_rc store_suggestion_open_get(struct store_tx *tx, const char *tenant, const char *asset_ref,
                                     const char *kind, struct arena *a,
                                     struct store_suggestion *out, bool *found)
{
    return sg_one(tx->db, SQL_SG_OPEN, "ttt", tenant, asset_ref, kind, a, out, found);
}

enum ab_rc store_suggestion_last_basis(struct store_tx *tx, const char *tenant,
                                       const char *asset_ref, const char *kind, int64_t *basis)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    *basis = INT64_MIN;
    enum ab_rc rc = store_db_stmt(db, SQL_SG_BASIS, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, asset_ref, kind);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        *basis = store_col_time(db, st, 0);
    db->ops->reset(st);
    return rc;
}

enum ab_rc store_suggestion_supersede(struct store_tx *tx, const char *tenant,
                                      const char *asset_ref, const char *kind)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_SG_SUPERSEDE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ittt", clock_now_ms(), tenant, asset_ref, kind);
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

static const char SQL_CAL_DOCS[] = "SELECT doc FROM objects WHERE tenant = ?"
                                   " AND kind = 'calibration' AND asset_ref = ? ORDER BY id";

enum ab_rc store_cal_interval(struct store_tx *tx, const char *tenant, const char *asset_ref,
                              int64_t *days)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    int64_t hub = 0, other = 0;
    *days = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_CAL_DOCS, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, asset_ref);
    while (!rc && !(rc = store_step_row(db, st, &row)) && row) {
        const char *text = db->ops->column_text(st, 0);
        json_error_t je;
        json_t *d = text ? json_loads(text, 0, &je) : NULL;
        const char *p = json_string_value(json_object_get(d, "provider_id"));
        int64_t v = json_integer_value(json_object_get(d, "interval_days"));
        if (!p || strcmp(p, "hub") == 0) {
            if (!hub)
                hub = v;
        } else if (!other) {
            other = v;
        }
        json_decref(d);
    }
    db->ops->reset(st);
    *days = hub > 0 ? hub : other > 0 ? other : 0;
    return rc;
}

enum ab_rc store_suggestion_open(struct store_tx *tx, const char *tenant,
                                 const struct store_suggestion *s, struct arena *a, const char **id)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    char idbuf[ID_ULID_LEN + 1];
    const char *sid = s->id;
    if (!sid) {
        id_ulid_new(idbuf);
        sid = idbuf;
    }
    int64_t now = clock_now_ms();
    enum ab_rc rc = store_tenant_ensure(tx, tenant);
    if (!rc)
        rc = store_db_stmt(db, SQL_SG_SUPERSEDE, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ittt", now, tenant, s->asset_ref, s->kind);
    if (!rc)
        rc = store_step_done(db, st);
    if (!rc)
        rc = store_db_stmt(db, SQL_SG_INSERT, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttttiitttii", tenant, sid, s->asset_ref, s->kind,
                            s->current_days, s->suggested_days, s->direction, s->reason,
                            s->evidence, s->basis_at, now);
    if (!rc)
        rc = store_step_done(db, st);
    if (!rc && id)
        *id = arena_strdup(a, sid);
    return rc;
}

enum ab_rc store_suggestion_get(struct store_read *r, const char *tenant, const char *id,
                                struct arena *a, struct store_suggestion *out)
{
    bool found = false;
    enum ab_rc rc = sg_one(store_read_db(r), SQL_SG_GET, "tt", tenant, id, NULL, a, out, &found);
    return rc ? rc : found ? AB_OK : AB_ENOTFOUND;
}

enum ab_rc store_suggestions_list(struct store_read *r, const char *tenant, const char *state,
                                  const char *after_id, size_t limit, struct arena *a,
                                  struct store_suggestion **out, size_t *n, bool *more)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    *out = NULL;
    *n = 0;
    *more = false;
    if (limit < 1 || limit > 1000)
        return AB_EINVAL;
    struct store_suggestion *v = arena_zalloc(a, (limit + 1) * sizeof(*v));
    size_t k = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_SG_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttti", tenant, state, after_id ? after_id : "",
                            (int64_t)limit + 1);
    while (!rc && !(rc = store_step_row(db, st, &row)) && row && k <= limit)
        sg_row(db, st, a, &v[k++]);
    db->ops->reset(st);
    *more = k > limit;
    *out = v;
    *n = k > limit ? limit : k;
    return rc;
}

/* ---- approve / reject --------------------------------------------------------------- */

static const char SQL_CAL_OBJS[] =
    "SELECT id, doc, digest, revision FROM objects WHERE tenant = ? AND kind = 'calibration'"
    " AND asset_ref = ? ORDER BY id";
static const char SQL_CAL_UPDATE[] =
    "UPDATE objects SET doc = ?, digest = ?, due_at = ?, revision = ?, updated_at = ?"
    " WHERE tenant = ? AND kind = 'calibration' AND id = ?";

/* Apply the suggested interval to the asset's hub calibration object. */
static enum ab_rc apply_interval(struct store_tx *tx, const char *tenant,
                                 const struct store_suggestion *s, const char *actor,
                                 struct arena *a, bool *no_record)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    const char *cid = NULL, *before = NULL;
    json_t *doc = NULL;
    int64_t revision = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_CAL_OBJS, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, s->asset_ref);
    while (!rc && !(rc = store_step_row(db, st, &row)) && row) {
        const char *text = db->ops->column_text(st, 1);
        json_error_t je;
        json_t *d = text ? json_loads(text, 0, &je) : NULL;
        const char *p = json_string_value(json_object_get(d, "provider_id"));
        if (json_is_object(d) && (!p || strcmp(p, "hub") == 0)) {
            cid = store_col_text(db, st, 0, a);
            before = store_col_text(db, st, 2, a);
            revision = store_col_int(db, st, 3);
            doc = d;
            break;
        }
        json_decref(d);
    }
    db->ops->reset(st);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    if (!doc) {
        *no_record = true;
        return AB_ECONFLICT;
    }
    int64_t prev = json_integer_value(json_object_get(doc, "interval_days"));
    json_object_set_new(doc, "interval_days", json_integer(s->suggested_days));
    int64_t last = INT64_MIN, due = INT64_MIN;
    const char *ls = json_string_value(json_object_get(doc, "last_calibrated_at"));
    if (ls && time_parse_rfc3339(ls, &last) == AB_OK) {
        due = last + s->suggested_days * DAY_MS;
        char b[TIME_RFC3339_MAX];
        time_format_rfc3339(due, b);
        json_object_set_new(doc, "due_at", json_string(b));
    } else {
        const char *ds = json_string_value(json_object_get(doc, "due_at"));
        if (!ds || time_parse_rfc3339(ds, &due) != AB_OK)
            due = INT64_MIN;
    }
    char digest[MODEL_DIGEST_HEX_LEN + 1];
    rc = model_digest(doc, digest);
    char *text = rc ? NULL : json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!rc && !text)
        rc = AB_EINTERNAL;
    if (!rc)
        rc = store_db_stmt(db, SQL_CAL_UPDATE, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttTiitt", text, digest, due, revision + 1, clock_now_ms(),
                            tenant, cid);
    if (!rc)
        rc = store_step_done(db, st);
    free(text);
    json_t *payload = NULL;
    if (!rc) {
        payload = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I}", "asset_ref", s->asset_ref,
                            "calibration_id", cid, "previous_interval_days", (json_int_t)prev,
                            "interval_days", (json_int_t)s->suggested_days, "suggestion_id", s->id,
                            "revision", (json_int_t)revision + 1);
        if (due != INT64_MIN) {
            char b[TIME_RFC3339_MAX];
            time_format_rfc3339(due, b);
            json_object_set_new(payload, "due_at", json_string(b));
        }
        rc = store_event_append(tx, tenant, "calibration.interval_changed",
                                arena_printf(a, "calibration/%s", cid), payload, NULL);
    }
    if (!rc) {
        struct store_audit au = {0};
        au.tenant = tenant;
        au.actor = actor;
        au.action = "calibration.interval";
        au.subject = arena_printf(a, "calibration/%s", cid);
        au.before_digest = before;
        au.after_digest = digest;
        char *d = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
        au.detail = d;
        rc = store_audit_add(tx, &au);
        free(d);
    }
    json_decref(payload);
    json_decref(doc);
    return rc;
}

enum ab_rc store_suggestion_decide(struct store_tx *tx, const char *tenant, const char *id,
                                   bool approve, const char *actor, struct arena *a,
                                   struct store_suggestion *out, enum store_decide_refusal *why)
{
    struct store_db *db = tx->db;
    struct store_suggestion s;
    bool found = false;
    *why = STORE_DECIDE_OK;
    enum ab_rc rc = sg_one(db, SQL_SG_GET, "tt", tenant, id, NULL, a, &s, &found);
    if (rc)
        return rc;
    if (!found) {
        *why = STORE_DECIDE_NOT_FOUND;
        return AB_ENOTFOUND;
    }
    if (strcmp(s.state, "open") != 0) {
        *why = STORE_DECIDE_NOT_OPEN;
        if (out)
            *out = s;
        return AB_ECONFLICT;
    }
    const char *state = approve ? "approved" : "rejected";
    if (approve) {
        bool no_record = false;
        rc = apply_interval(tx, tenant, &s, actor, a, &no_record);
        if (no_record)
            *why = STORE_DECIDE_NO_RECORD;
        if (rc)
            return rc;
    }
    int64_t now = clock_now_ms();
    struct store_stmt *st;
    rc = store_db_stmt(db, SQL_SG_DECIDE, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tittt", state, now, actor, tenant, id);
    if (!rc)
        rc = store_step_done(db, st);
    const char *subject = arena_printf(a, "suggestion/%s", id);
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "suggestion_id", id, "asset_ref", s.asset_ref,
                  "kind", s.kind, "current_days", (json_int_t)s.current_days, "suggested_days",
                  (json_int_t)s.suggested_days, "decided_by", actor);
    if (!rc)
        rc = store_event_append(tx, tenant, approve ? "suggestion.approved" : "suggestion.rejected",
                                subject, payload, NULL);
    if (!rc) {
        struct store_audit au = {0};
        au.tenant = tenant;
        au.actor = actor;
        au.action = approve ? "suggestion.approve" : "suggestion.reject";
        au.subject = subject;
        char *d = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
        au.detail = d;
        rc = store_audit_add(tx, &au);
        free(d);
    }
    json_decref(payload);
    if (!rc && out) {
        s.state = state;
        s.decided_at = now;
        s.decided_by = arena_strdup(a, actor);
        *out = s;
    }
    return rc;
}
