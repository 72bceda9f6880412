/* SPDX-License-Identifier: Apache-2.0
 *
 * rules.c: the rules engine's store access: the rule_state table and the
 * scans that find what to evaluate (changed objects, changed meters, work
 * orders past their SLA). See rules.h; the engine is src/rules/rules.c.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/rules.h"
#include "store/store_int.h"

static void json_decref_cb(void *v)
{
    json_decref(v);
}

/* ---- rule_state ---------------------------------------------------------------- */

#define RS_COLS                                                                                    \
    "kind, subject, rule_id, occurrence, state, request_key, detail, updated_at, "                 \
    "request_closed_at"

static const char SQL_RS_GET[] = "SELECT " RS_COLS " FROM rule_state"
                                 " WHERE tenant = ? AND kind = ? AND subject = ? AND rule_id = ?";
static const char SQL_RS_PUT[] =
    "INSERT INTO rule_state(tenant, kind, subject, rule_id, occurrence, state, request_key,"
    " detail, updated_at, request_closed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (tenant, kind, subject, rule_id) DO UPDATE SET"
    " occurrence = excluded.occurrence, state = excluded.state,"
    " request_key = excluded.request_key, detail = excluded.detail,"
    " updated_at = excluded.updated_at, request_closed_at = excluded.request_closed_at";
static const char SQL_RS_LIST[] = "SELECT " RS_COLS " FROM rule_state"
                                  " WHERE tenant = ?1 AND (?2 IS NULL OR kind = ?2)"
                                  " ORDER BY kind, subject, rule_id LIMIT ?3";

static void rs_row(struct store_db *db, struct store_stmt *st, struct arena *a,
                   struct store_rule_state *out)
{
    out->kind = store_col_text(db, st, 0, a);
    out->subject = store_col_text(db, st, 1, a);
    out->rule_id = store_col_text(db, st, 2, a);
    out->occurrence = store_col_text(db, st, 3, a);
    out->state = store_col_text(db, st, 4, a);
    out->request_key = store_col_text(db, st, 5, a);
    out->detail = store_col_text(db, st, 6, a);
    out->updated_at = store_col_int(db, st, 7);
    out->request_closed_at = store_col_time(db, st, 8);
}

static enum ab_rc rs_get(struct store_db *db, const char *tenant, const char *kind,
                         const char *subject, const char *rule_id, struct arena *a,
                         struct store_rule_state *out, bool *found)
{
    struct store_stmt *st;
    bool row = false;
    memset(out, 0, sizeof(*out));
    out->request_closed_at = INT64_MIN;
    *found = false;
    enum ab_rc rc = store_db_stmt(db, SQL_RS_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttt", tenant, kind, subject, rule_id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row) {
        rs_row(db, st, a, out);
        *found = true;
    }
    db->ops->reset(st);
    return rc;
}

enum ab_rc store_rule_state_get(struct store_tx *tx, const char *tenant, const char *kind,
                                const char *subject, const char *rule_id, struct arena *a,
                                struct store_rule_state *out, bool *found)
{
    return rs_get(tx->db, tenant, kind, subject, rule_id, a, out, found);
}

enum ab_rc store_rule_state_read(struct store_read *r, const char *tenant, const char *kind,
                                 const char *subject, const char *rule_id, struct arena *a,
                                 struct store_rule_state *out, bool *found)
{
    return rs_get(store_read_db(r), tenant, kind, subject, rule_id, a, out, found);
}

enum ab_rc store_rule_state_put(struct store_tx *tx, const char *tenant,
                                const struct store_rule_state *s)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    enum ab_rc rc = store_tenant_ensure(tx, tenant);
    if (!rc)
        rc = store_db_stmt(db, SQL_RS_PUT, &st);
    if (!rc)
        rc = store_bind_all(
            db, st, "ttttttttTT", tenant, s->kind, s->subject, s->rule_id,
            s->occurrence ? s->occurrence : "", s->state, s->request_key, s->detail, clock_now_ms(),
            s->request_key && s->request_closed_at > 0 ? s->request_closed_at : INT64_MIN);
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

enum ab_rc store_rule_states_list(struct store_read *r, const char *tenant, const char *kind,
                                  size_t limit, struct arena *a, struct store_rule_state **out,
                                  size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    struct store_rule_state *v = NULL;
    size_t k = 0, cap = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_RS_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tti", tenant, kind, (int64_t)limit);
    while (!rc && !(rc = store_step_row(db, st, &row)) && row) {
        v = arena_grow(a, v, k, &cap, sizeof(*v));
        memset(&v[k], 0, sizeof(v[k]));
        rs_row(db, st, a, &v[k++]);
    }
    db->ops->reset(st);
    *out = v;
    *n = k;
    return rc;
}

/* ---- scans ------------------------------------------------------------------------ */

#define OBJ_COLS "id, asset_ref, status, due_at, doc, revision, created_at, updated_at"

static const char SQL_OBJ_SINCE[] = "SELECT " OBJ_COLS " FROM objects"
                                    " WHERE tenant = ?1 AND kind = ?2 AND updated_at >= ?3"
                                    " AND id > ?4 ORDER BY id LIMIT ?5";
static const char SQL_WO_PAST_SLA[] =
    "SELECT " OBJ_COLS " FROM objects"
    " WHERE tenant = ?1 AND kind IN ('work_order', 'notification') AND due_at < ?2"
    " AND (status IS NULL OR status NOT IN ('completed', 'closed', 'cancelled'))"
    " AND id > ?3 ORDER BY id LIMIT ?4";
static const char SQL_METERS_SINCE[] =
    "SELECT id, asset_ref FROM meters WHERE tenant = ?1 AND updated_at >= ?2 AND id > ?3"
    " ORDER BY id LIMIT ?4";
static const char SQL_METER_VALUE[] =
    "SELECT value FROM meters WHERE tenant = ? AND asset_ref = ? AND type = ?";

static enum ab_rc obj_rows(struct store_db *db, struct store_stmt *st, const char *kind,
                           size_t limit, struct arena *a, struct store_object **out, size_t *n,
                           bool *more)
{
    struct store_object *v = arena_zalloc(a, (limit + 1) * sizeof(*v));
    size_t k = 0;
    bool row = false;
    enum ab_rc rc;
    while (!(rc = store_step_row(db, st, &row)) && row && k <= limit) {
        struct store_object *o = &v[k];
        o->kind = kind;
        o->id = store_col_text(db, st, 0, a);
        o->asset_ref = store_col_text(db, st, 1, a);
        o->status = store_col_text(db, st, 2, a);
        o->due_at = store_col_time(db, st, 3);
        const char *doc = db->ops->column_text(st, 4);
        json_error_t je;
        o->doc = doc ? json_loads(doc, 0, &je) : NULL;
        if (!json_is_object(o->doc)) {
            json_decref(o->doc);
            rc = AB_EINTERNAL;
            break;
        }
        arena_on_cleanup(a, json_decref_cb, o->doc);
        o->revision = store_col_int(db, st, 5);
        o->created_at = store_col_int(db, st, 6);
        o->updated_at = store_col_int(db, st, 7);
        k++;
    }
    db->ops->reset(st);
    *more = k > limit;
    *out = v;
    *n = k > limit ? limit : k;
    return rc;
}

enum ab_rc store_rules_objects_since(struct store_read *r, const char *tenant, const char *kind,
                                     int64_t since, const char *after_id, size_t limit,
                                     struct arena *a, struct store_object **out, size_t *n,
                                     bool *more)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    if (limit < 1 || limit > 1000)
        return AB_EINVAL;
    enum ab_rc rc = store_db_stmt(db, SQL_OBJ_SINCE, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttiti", tenant, kind, since, after_id ? after_id : "",
                            (int64_t)limit + 1);
    if (rc)
        return rc;
    const char *k = arena_strdup(a, kind);
    return obj_rows(db, st, k, limit, a, out, n, more);
}

enum ab_rc store_rules_wo_past_sla(struct store_read *r, const char *tenant, int64_t now,
                                   const char *after_id, size_t limit, struct arena *a,
                                   struct store_object **out, size_t *n, bool *more)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    if (limit < 1 || limit > 1000)
        return AB_EINVAL;
    enum ab_rc rc = store_db_stmt(db, SQL_WO_PAST_SLA, &st);
    if (!rc)
        rc = store_bind_all(db, st, "titi", tenant, now, after_id ? after_id : "",
                            (int64_t)limit + 1);
    if (rc)
        return rc;
    return obj_rows(db, st, STORE_KIND_WORK_ORDER, limit, a, out, n, more);
}

enum ab_rc store_rules_meters_since(struct store_read *r, const char *tenant, int64_t since,
                                    int64_t after_id, size_t limit, struct arena *a,
                                    const char ***refs, int64_t **ids, size_t *n, bool *more)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    if (limit < 1 || limit > 1000)
        return AB_EINVAL;
    const char **rv = arena_zalloc(a, (limit + 1) * sizeof(*rv));
    int64_t *iv = arena_zalloc(a, (limit + 1) * sizeof(*iv));
    size_t k = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_METERS_SINCE, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tiii", tenant, since, after_id, (int64_t)limit + 1);
    while (!rc && !(rc = store_step_row(db, st, &row)) && row && k <= limit) {
        iv[k] = store_col_int(db, st, 0);
        rv[k] = store_col_text(db, st, 1, a);
        k++;
    }
    db->ops->reset(st);
    *more = k > limit;
    *refs = rv;
    *ids = iv;
    *n = k > limit ? limit : k;
    return rc;
}

enum ab_rc store_rules_meter_value(struct store_read *r, const char *tenant, const char *asset_ref,
                                   const char *meter_type, double *value)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_METER_VALUE, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, asset_ref, meter_type);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        *value = store_col_real(db, st, 0);
    db->ops->reset(st);
    return rc ? rc : row ? AB_OK : AB_ENOTFOUND;
}

/* ---- the closed loop (src/rules/loop.c) ------------------------------------------ */

static const char SQL_OPEN_REQUESTS[] =
    "SELECT " RS_COLS " FROM rule_state"
    " WHERE tenant = ?1 AND request_key IS NOT NULL AND request_closed_at IS NULL"
    " AND kind IN ('calibration', 'maintenance', 'condition')"
    " AND (kind, subject, rule_id) > (?2, ?3, ?4)"
    " ORDER BY kind, subject, rule_id LIMIT ?5";

enum ab_rc store_rules_open_requests(struct store_read *r, const char *tenant,
                                     const struct store_rule_state *after, size_t limit,
                                     struct arena *a, struct store_rule_state **out, size_t *n,
                                     bool *more)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    if (limit < 1 || limit > 1000)
        return AB_EINVAL;
    struct store_rule_state *v = arena_zalloc(a, (limit + 1) * sizeof(*v));
    size_t k = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_OPEN_REQUESTS, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttti", tenant, after ? after->kind : "",
                            after ? after->subject : "", after ? after->rule_id : "",
                            (int64_t)limit + 1);
    while (!rc && !(rc = store_step_row(db, st, &row)) && row && k <= limit)
        rs_row(db, st, a, &v[k++]);
    db->ops->reset(st);
    *more = k > limit;
    *out = v;
    *n = k > limit ? limit : k;
    return rc;
}

static const char SQL_SOURCE_DOC[] =
    "SELECT subject, doc FROM source_records WHERE tenant = ? AND provider = ?"
    " AND entity IN ('work_order', 'notification') AND native_id = ?"
    " ORDER BY updated_at DESC LIMIT 1";

enum ab_rc store_rules_source_doc(struct store_read *r, const char *tenant, const char *provider,
                                  const char *native_id, struct arena *a, const json_t **doc,
                                  const char **subject)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    *doc = NULL;
    *subject = NULL;
    enum ab_rc rc = store_db_stmt(db, SQL_SOURCE_DOC, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, provider, native_id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && !row)
        rc = AB_ENOTFOUND;
    if (!rc) {
        *subject = store_col_text(db, st, 0, a);
        const char *text = db->ops->column_text(st, 1);
        json_error_t je;
        json_t *d = text ? json_loads(text, 0, &je) : NULL;
        if (json_is_object(d)) {
            arena_on_cleanup(a, json_decref_cb, d);
            *doc = d;
        } else {
            json_decref(d);
            rc = AB_EINTERNAL;
        }
    }
    db->ops->reset(st);
    return rc;
}

static const char SQL_ASSET_USES[] = "SELECT " OBJ_COLS " FROM objects"
                                     " WHERE tenant = ?1 AND asset_ref = ?2 AND kind = 'report'"
                                     " ORDER BY created_at DESC, id DESC LIMIT ?3";

enum ab_rc store_rules_asset_uses(struct store_read *r, const char *tenant, const char *asset_ref,
                                  size_t limit, struct arena *a, struct store_object **out,
                                  size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool more = false;
    if (limit < 1 || limit > 1000)
        return AB_EINVAL;
    enum ab_rc rc = store_db_stmt(db, SQL_ASSET_USES, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tti", tenant, asset_ref, (int64_t)limit);
    if (rc)
        return rc;
    return obj_rows(db, st, "report", limit, a, out, n, &more);
}

static const char SQL_COUNT_PAST_SLA[] =
    "SELECT COUNT(*) FROM objects WHERE tenant = ?1 AND kind IN ('work_order', 'notification')"
    " AND due_at < ?2"
    " AND (status IS NULL OR status NOT IN ('completed', 'closed', 'cancelled'))";
static const char SQL_COUNT_OPEN_REQUESTS[] =
    "SELECT COUNT(*) FROM rule_state WHERE tenant = ?1 AND request_key IS NOT NULL"
    " AND request_closed_at IS NULL AND kind IN ('calibration', 'maintenance', 'condition')";

static enum ab_rc count_one(struct store_db *db, const char *sql, const char *tenant, int64_t now,
                            bool with_now, int64_t *out)
{
    struct store_stmt *st;
    bool row = false;
    *out = 0;
    enum ab_rc rc = store_db_stmt(db, sql, &st);
    if (!rc)
        rc = with_now ? store_bind_all(db, st, "ti", tenant, now)
                      : store_bind_all(db, st, "t", tenant);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        *out = store_col_int(db, st, 0);
    db->ops->reset(st);
    return rc;
}

enum ab_rc store_rules_counts(struct store_read *r, const char *tenant, int64_t now,
                              struct store_rules_counts *out)
{
    struct store_db *db = store_read_db(r);
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = count_one(db, SQL_COUNT_PAST_SLA, tenant, now, true, &out->past_sla);
    if (!rc)
        rc = count_one(db, SQL_COUNT_OPEN_REQUESTS, tenant, now, false, &out->open_requests);
    return rc;
}
