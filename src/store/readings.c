/* SPDX-License-Identifier: Apache-2.0
 *
 * readings.c: meters and readings. See readings.h.
 *
 * A batch is one write job. Meter rows touched by the job are cached in the
 * job (meter_state) and written back once at its end; reading rows are
 * inserted as they are accepted, so the neighbour queries used for late
 * readings see the rows of the same batch.
 */
#include "store/readings.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/crash.h"
#include "core/str.h"
#include "core/xmalloc.h"
#include "store/readings_int.h"
#include "store/store_int.h"

struct meter_state {
    int64_t id;
    const char *asset_ref;
    const char *type;
    enum model_meter_kind kind;
    double value;
    int64_t last_read_at;
    int last_source;
    int64_t added;
    bool dirty;
    double start_value; /* the value before this job */
    int64_t first_id;   /* the first reading this job stored on it (0: none) */
};

struct append_job {
    const char *tenant;
    const struct model_reading *r;
    size_t n;
    const struct store_readings_policy *policy;
    struct store_reading_result *results;
    struct arena *arena;
    struct meter_state *meters;
    size_t n_meters, cap_meters;
    const char *last_ref, *last_resolved; /* resolution cache */
    int64_t next_id;                      /* id the next accepted reading gets */
    int64_t now;                          /* the job's clock, read once */
    struct store_usage_links *usage;      /* the job's usage routing, or NULL (none) */
};

static const char SQL_METER_GET[] = "SELECT id, kind, value, last_read_at, last_source FROM meters"
                                    " WHERE tenant = ? AND asset_ref = ? AND type = ?";
static const char SQL_METER_NEW[] = "INSERT INTO meters(tenant, asset_ref, type, unit, kind, "
                                    "value, reading_count, created_at, updated_at)"
                                    " VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?) RETURNING id";
static const char SQL_READING_INSERT[] =
    "INSERT INTO readings(id, meter_id, read_at, amount, is_increment, total, source, flags,"
    " ingested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_PREV_TOTAL[] = "SELECT total FROM readings WHERE meter_id = ? AND read_at <= "
                                     "? ORDER BY read_at DESC, id DESC LIMIT 1";
static const char SQL_NEXT_TOTAL[] =
    "SELECT total FROM readings WHERE meter_id = ? AND read_at > ? ORDER BY read_at, id LIMIT 1";
/* A key row points at the reading it admitted; the original outcome is read
 * back from that reading when the key is replayed. */
static const char SQL_KEY_GET[] =
    "SELECT k.reading_id, r.total, r.flags, m.asset_ref FROM idempotency_keys k"
    " LEFT JOIN readings r ON r.id = k.reading_id LEFT JOIN meters m ON m.id = r.meter_id"
    " WHERE k.tenant = ? AND k.key = ?";
/* Claiming a key and detecting a replay is one statement on the hot path:
 * a replay changes no row. The claim names the id the reading will get. */
static const char SQL_KEY_CLAIM[] =
    "INSERT INTO idempotency_keys(tenant, key, reading_id, created_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (tenant, key) DO NOTHING";
static const char SQL_KEY_RELEASE[] = "DELETE FROM idempotency_keys WHERE id = ?";
/* Reading ids come from a counter that never goes back, so an id is never
 * given twice even after retention deleted the newest rows (an idempotency
 * key names its reading by id). Read once per job, written back once. */
static int source_of(const char *name)
{
    enum model_reading_source s;
    return name && model_reading_source_parse(name, &s) ? (int)s : -1;
}

static void reject(struct store_reading_result *res, enum ab_rc rc, const char *field,
                   const char *fmt, ...) AB_PRINTF(4, 5);

static void reject(struct store_reading_result *res, enum ab_rc rc, const char *field,
                   const char *fmt, ...)
{
    va_list ap;
    res->status = STORE_READING_REJECTED;
    res->rc = rc;
    str_lcpy(res->field, field, sizeof(res->field));
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

/* A new slot in the job's meter list. */
static struct meter_state *job_meter_add(struct append_job *j)
{
    j->meters = arena_grow(j->arena, j->meters, j->n_meters, &j->cap_meters, sizeof(*j->meters));
    return &j->meters[j->n_meters++];
}

static enum ab_rc meter_find(struct store_tx *tx, struct append_job *j, const char *asset_ref,
                             const char *type, struct meter_state **out)
{
    for (size_t i = 0; i < j->n_meters; i++) {
        if (strcmp(j->meters[i].asset_ref, asset_ref) == 0 &&
            strcmp(j->meters[i].type, type) == 0) {
            *out = &j->meters[i];
            return AB_OK;
        }
    }
    const struct model_meter_type *mt = model_meter_type_find(type);
    if (!mt)
        return AB_ENOTFOUND;
    const struct store_group_meter *gm =
        store_group_meter_find(tx->group, j->tenant, asset_ref, type);
    if (gm) {
        /* an earlier job of this group has the meter: continue from its state */
        struct meter_state *c = job_meter_add(j);
        memset(c, 0, sizeof(*c));
        c->id = gm->meter_id;
        c->asset_ref = arena_strdup(j->arena, asset_ref);
        c->type = arena_strdup(j->arena, type);
        c->kind = (enum model_meter_kind)gm->kind;
        c->value = gm->value;
        c->last_read_at = gm->last_read_at;
        c->last_source = gm->last_source;
        c->start_value = c->value;
        *out = c;
        return AB_OK;
    }
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    struct meter_state m = {0};
    m.asset_ref = arena_strdup(j->arena, asset_ref);
    m.type = arena_strdup(j->arena, type);
    m.last_read_at = INT64_MIN;
    m.last_source = -1;
    enum ab_rc rc = store_db_stmt(db, SQL_METER_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", j->tenant, asset_ref, type);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    if (row) {
        m.id = store_col_int(db, st, 0);
        const char *kind = (const char *)db->ops->column_text(st, 1);
        m.kind = kind && strcmp(kind, "gauge") == 0 ? MODEL_METER_GAUGE : MODEL_METER_COUNTER;
        m.value = store_col_real(db, st, 2);
        m.last_read_at = store_col_time(db, st, 3);
        m.last_source =
            store_col_null(db, st, 4) ? -1 : source_of((const char *)db->ops->column_text(st, 4));
        rc = store_step_done(db, st);
    } else {
        /* the row is inserted by meter_create() with the first reading the
         * meter accepts, so a rejected reading leaves no meter behind */
        m.id = 0;
        m.kind = mt->kind;
    }
    if (rc)
        return rc;
    m.start_value = m.value;
    struct meter_state *slot = job_meter_add(j);
    *slot = m;
    *out = slot;
    return AB_OK;
}

/* Insert the row of a meter that meter_find() found no row for. */
static enum ab_rc meter_create(struct store_tx *tx, struct append_job *j, struct meter_state *m)
{
    const struct model_meter_type *mt = model_meter_type_find(m->type);
    if (!mt)
        return AB_EINTERNAL;
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    int64_t now = clock_now_ms();
    enum ab_rc rc = store_db_stmt(db, SQL_METER_NEW, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttttii", j->tenant, m->asset_ref, m->type,
                            mt->unit[0] ? mt->unit : NULL, model_meter_kind_name(mt->kind), now,
                            now);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && !row)
        rc = AB_EINTERNAL;
    if (rc)
        return rc;
    m->id = store_col_int(db, st, 0);
    return store_step_done(db, st);
}

/* The total of the reading nearest before (or after) t, or NAN when none. */
static enum ab_rc neighbour_total(struct store_db *db, const char *sql, int64_t meter_id, int64_t t,
                                  double *out)
{
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, sql, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ii", meter_id, t);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    *out = row ? store_col_real(db, st, 0) : NAN;
    return store_step_done(db, st);
}

/* Decide the reading's total and flags, or reject it (returns AB_OK either
 * way; storage failures are returned). */
static enum ab_rc apply(struct store_tx *tx, struct append_job *j, struct meter_state *m,
                        const struct model_reading *r, struct store_reading_result *res,
                        double *total, unsigned *flags)
{
    bool late = m->last_read_at != INT64_MIN && r->read_at < m->last_read_at;
    *flags = 0;
    if (m->kind == MODEL_METER_GAUGE) {
        if (r->mode == MODEL_READING_INCREMENT) {
            reject(res, AB_EINVAL, "increment",
                   "meter '%s' is a gauge: send 'value', not 'increment'", m->type);
            return AB_OK;
        }
        *total = r->amount;
        if (!late)
            m->value = r->amount;
        return AB_OK;
    }
    if (r->mode == MODEL_READING_INCREMENT) {
        m->value += r->amount;
        *total = m->value;
        return AB_OK;
    }
    /* an absolute total of a cumulative counter */
    if (!late) {
        if (r->amount < m->value) {
            if (j->policy->backwards == STORE_BACKWARDS_REJECT) {
                reject(res, AB_ECONFLICT, "value",
                       "counter '%s' would go backwards from %.17g to %.17g; rejected by policy",
                       m->type, m->value, r->amount);
                return AB_OK;
            }
            *flags = STORE_READING_RESET;
        }
        m->value = r->amount;
        *total = r->amount;
        return AB_OK;
    }
    /* late: it must fit between its neighbours in read_at order */
    double prev, next;
    enum ab_rc rc = neighbour_total(tx->db, SQL_PREV_TOTAL, m->id, r->read_at, &prev);
    if (!rc)
        rc = neighbour_total(tx->db, SQL_NEXT_TOTAL, m->id, r->read_at, &next);
    if (rc)
        return rc;
    if ((!isnan(prev) && r->amount < prev) || (!isnan(next) && r->amount > next)) {
        reject(res, AB_ECONFLICT, "value",
               "late reading for counter '%s' does not fit between its neighbours in read_at order "
               "(%.17g before, %.17g after)",
               m->type, isnan(prev) ? 0.0 : prev, isnan(next) ? m->value : next);
        return AB_OK;
    }
    *total = r->amount;
    return AB_OK;
}

/* Fill res from a key row (SQL_KEY_GET). A reading pruned since keeps its
 * id but loses its total. */
static void duplicate_of(struct store_db *db, struct store_stmt *st,
                         struct store_reading_result *res)
{
    res->status = STORE_READING_DUPLICATE;
    res->rc = AB_OK;
    res->reading_id = store_col_int(db, st, 0);
    res->total = store_col_null(db, st, 1) ? NAN : store_col_real(db, st, 1); /* pruned since */
    res->flags = (unsigned)store_col_int(db, st, 2);
    const char *ref = store_col_null(db, st, 3) ? "" : (const char *)db->ops->column_text(st, 3);
    str_lcpy(res->asset_ref, ref ? ref : "", sizeof(res->asset_ref));
}

static enum ab_rc one_checked(struct store_tx *tx, struct append_job *j,
                              const struct model_reading *r, struct store_reading_result *res)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    enum ab_rc rc;

    /* the asset */
    const char *asset_ref;
    if (j->last_ref && strcmp(j->last_ref, r->asset_ref) == 0) {
        asset_ref = j->last_resolved;
    } else if (store_group_ref_known(tx->group, j->tenant, r->asset_ref)) {
        asset_ref = r->asset_ref; /* an exact asset_ref, seen earlier in this group */
        j->last_ref = r->asset_ref;
        j->last_resolved = asset_ref;
    } else {
        struct store_resolution how;
        rc = store_resolve_db(db, j->tenant, r->asset_ref, j->arena, &how);
        if (rc == AB_EIDENTITY) {
            if (how.n_candidates > 1) {
                char list[160] = "";
                for (size_t i = 0; i < how.n_candidates; i++) {
                    size_t len = strlen(list);
                    snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
                             how.candidates[i]);
                }
                reject(res, AB_EIDENTITY, "asset_ref",
                       "asset reference '%s' is ambiguous: it matches %s", r->asset_ref, list);
            } else {
                reject(res, AB_EIDENTITY, "asset_ref", "no asset matches the reference '%s'",
                       r->asset_ref);
            }
            return AB_OK;
        }
        if (rc)
            return rc;
        asset_ref = how.asset_ref;
        j->last_ref = r->asset_ref;
        j->last_resolved = asset_ref;
        if (strcmp(how.matched_by, "asset_ref") == 0)
            store_group_ref_add(tx->group, j->tenant, asset_ref);
    }
    str_lcpy(res->asset_ref, asset_ref, sizeof(res->asset_ref));

    struct meter_state *m;
    rc = meter_find(tx, j, asset_ref, r->meter_type, &m);
    if (rc == AB_ENOTFOUND) {
        reject(res, AB_EINVAL, "meter", "unknown meter type '%s'", r->meter_type);
        return AB_OK;
    }
    if (rc)
        return rc;

    double total = 0;
    unsigned flags = 0;
    double before = m->value;
    rc = apply(tx, j, m, r, res, &total, &flags);
    if (rc || res->status == STORE_READING_REJECTED)
        return rc;

    int64_t now = j->now;
    if (m->id == 0)
        rc = meter_create(tx, j, m);
    /* the source is stored as its small integer */
    if (!rc)
        rc = store_db_stmt(db, SQL_READING_INSERT, &st);
    if (!rc)
        rc = store_bind_all(db, st, "iiiririii", j->next_id, m->id, r->read_at, r->amount,
                            (int64_t)(r->mode == MODEL_READING_INCREMENT), total,
                            (int64_t)r->source, (int64_t)flags, now);
    if (!rc)
        rc = store_step_done(db, st);
    if (rc) {
        m->value = before;
        return rc;
    }
    if (!m->first_id)
        m->first_id = j->next_id;
    res->reading_id = j->next_id++;
    res->status = STORE_READING_ACCEPTED;
    res->total = total;
    res->flags = flags;
    m->added++;
    m->dirty = true;
    if (m->last_read_at == INT64_MIN || r->read_at >= m->last_read_at) {
        m->last_read_at = r->read_at;
        m->last_source = r->source;
    }

    return rc;
}

/* One reading: claim its idempotency key (a replay answers with the original
 * outcome), then check and store it; a rejected reading gives its key back
 * so that a corrected retry is not taken for a replay. */
static enum ab_rc one(struct store_tx *tx, struct append_job *j, const struct model_reading *r,
                      struct store_reading_result *res)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    int64_t key_row = 0;
    enum ab_rc rc;
    memset(res, 0, sizeof(*res));
    if (r->idempotency_key) {
        rc = store_db_stmt(db, SQL_KEY_CLAIM, &st);
        if (!rc)
            rc = store_bind_all(db, st, "ttii", j->tenant, r->idempotency_key, j->next_id, j->now);
        if (!rc)
            rc = store_step_done(db, st);
        if (rc)
            return rc;
        if (db->ops->changes(db->conn) == 0) {
            rc = store_db_stmt(db, SQL_KEY_GET, &st);
            if (!rc)
                rc = store_bind_all(db, st, "tt", j->tenant, r->idempotency_key);
            if (!rc)
                rc = store_step_row(db, st, &row);
            if (rc)
                return rc;
            if (!row)
                return AB_EINTERNAL;
            duplicate_of(db, st, res);
            return store_step_done(db, st);
        }
        key_row = db->ops->last_insert_id(db->conn);
    }
    rc = one_checked(tx, j, r, res);
    if (!rc && key_row && res->status == STORE_READING_REJECTED) {
        rc = store_db_stmt(db, SQL_KEY_RELEASE, &st);
        if (!rc)
            rc = store_bind_all(db, st, "i", key_row);
        if (!rc)
            rc = store_step_done(db, st);
    }
    return rc;
}

static enum ab_rc append_job(struct store_tx *tx, void *arg)
{
    struct append_job *j = arg;
    j->n_meters = 0;
    j->last_ref = NULL;
    j->now = clock_now_ms();
    /* usage routing is decided from the configuration alone, before any SQL:
     * a tenant whose providers push no usage pays nothing more */
    j->usage = store_usage_begin(j->policy->cfg, j->tenant, j->arena);
    /* no tenant row is needed: a reading is stored only for an existing
     * asset, whose tenant exists */
    enum ab_rc rc = store_group_reading_id(tx, &j->next_id);
    for (size_t i = 0; i < j->n && !rc; i++) {
        rc = one(tx, j, &j->r[i], &j->results[i]);
        if (i == j->n / 2)
            crash_point("ingest.mid_batch");
    }
    if (rc)
        return rc;
    /* the meter rows and the counter are written once per group commit */
    for (size_t i = 0; i < j->n_meters; i++) {
        const struct meter_state *m = &j->meters[i];
        if (!m->dirty)
            continue;
        /* usage owed to providers commits with the readings (one item per
         * provider and meter, updated in place while it waits) */
        if (j->usage && m->value != m->start_value) {
            struct store_usage_meter um = {m->asset_ref, m->type, m->value, m->last_read_at,
                                           m->first_id};
            rc = store_usage_queue(tx, j->usage, &um);
            if (rc)
                return rc;
        }
        struct store_group_meter gm = {0};
        gm.meter_id = m->id;
        str_lcpy(gm.tenant, j->tenant, sizeof(gm.tenant));
        str_lcpy(gm.asset_ref, m->asset_ref, sizeof(gm.asset_ref));
        str_lcpy(gm.meter_type, m->type, sizeof(gm.meter_type));
        gm.kind = (int)m->kind;
        gm.value = m->value;
        gm.last_read_at = m->last_read_at;
        gm.last_source = m->last_source;
        gm.added = m->added;
        store_group_meter_put(tx->group, &gm);
    }
    store_group_reading_id_set(tx->group, j->next_id);
    /* the ingest job is written in full (its usage items too); the group's
     * other jobs, its meters and its COMMIT are still to come */
    crash_point("ingest.mid_commit");
    return AB_OK;
}

enum ab_rc store_readings_append(struct store *s, const char *tenant, const struct model_reading *r,
                                 size_t n, const struct store_readings_policy *policy,
                                 struct store_reading_result *results, const char *correlation_id)
{
    static const struct store_readings_policy default_policy = {.backwards =
                                                                    STORE_BACKWARDS_REJECT};
    struct append_job j = {0};
    j.tenant = tenant;
    j.r = r;
    j.n = n;
    j.policy = policy ? policy : &default_policy;
    j.results = results;
    j.arena = arena_new(16384, 0);
    enum ab_rc rc = store_write(s, append_job, &j, correlation_id);
    arena_free(j.arena);
    return rc;
}

struct append_async {
    struct append_job j;
    struct store_readings_policy policy;
    store_done_fn on_done;
    void *done_arg;
};

static void append_async_done(void *arg, enum ab_rc rc)
{
    struct append_async *a = arg;
    store_done_fn on_done = a->on_done;
    void *done_arg = a->done_arg;
    arena_free(a->j.arena);
    free(a);
    on_done(done_arg, rc);
}

enum ab_rc store_readings_append_async(struct store *s, const char *tenant,
                                       const struct model_reading *r, size_t n,
                                       const struct store_readings_policy *policy,
                                       struct store_reading_result *results,
                                       const char *correlation_id, store_done_fn on_done,
                                       void *done_arg)
{
    struct append_async *a = xcalloc(1, sizeof(*a));
    a->policy =
        policy ? *policy : (struct store_readings_policy){.backwards = STORE_BACKWARDS_REJECT};
    a->j.tenant = tenant;
    a->j.r = r;
    a->j.n = n;
    a->j.policy = &a->policy;
    a->j.results = results;
    a->j.arena = arena_new(16384, 0);
    a->on_done = on_done;
    a->done_arg = done_arg;
    enum ab_rc rc = store_write_async(s, append_job, &a->j, correlation_id, append_async_done, a);
    if (rc) {
        arena_free(a->j.arena);
        free(a);
    }
    return rc;
}

/* ---- reads ----------------------------------------------------------------- */

static const char SQL_METERS_LIST[] =
    "SELECT id, type, unit, kind, value, last_read_at, last_source, reading_count FROM meters"
    " WHERE tenant = ? AND asset_ref = ? ORDER BY type";

enum ab_rc store_meters_list(struct store_read *r, const char *tenant, const char *asset_ref,
                             struct arena *a, struct store_meter_row **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_METERS_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, asset_ref);
    if (rc)
        return rc;
    size_t cap = 8, k = 0;
    struct store_meter_row *v = arena_alloc(a, cap * sizeof(*v));
    bool row = false;
    while (!(rc = store_step_row(db, st, &row)) && row) {
        v = arena_grow(a, v, k, &cap, sizeof(*v));
        struct store_meter_row *m = &v[k++];
        m->id = store_col_int(db, st, 0);
        m->asset_ref = arena_strdup(a, asset_ref);
        m->meter_type = store_col_text(db, st, 1, a);
        m->unit = store_col_text(db, st, 2, a);
        m->kind = store_col_text(db, st, 3, a);
        m->value = store_col_real(db, st, 4);
        m->last_read_at = store_col_time(db, st, 5);
        m->last_source = store_col_text(db, st, 6, a);
        m->reading_count = store_col_int(db, st, 7);
    }
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

static const char SQL_READINGS_LIST[] =
    "SELECT r.id, r.read_at, r.amount, r.is_increment, r.total, r.source, r.flags, r.ingested_at"
    " FROM readings r JOIN meters m ON m.id = r.meter_id"
    " WHERE m.tenant = ? AND m.asset_ref = ? AND m.type = ?"
    " AND (r.read_at > ? OR (r.read_at = ? AND r.id > ?))"
    " ORDER BY r.read_at, r.id LIMIT ?";

enum ab_rc store_readings_list(struct store_read *r, const char *tenant, const char *asset_ref,
                               const char *meter_type, int64_t after_read_at, int64_t after_id,
                               size_t limit, struct arena *a, struct store_reading_row **out,
                               size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_READINGS_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttiiii", tenant, asset_ref, meter_type, after_read_at,
                            after_read_at, after_id, (int64_t)limit);
    if (rc)
        return rc;
    struct store_reading_row *v = arena_alloc(a, (limit ? limit : 1) * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row) {
        struct store_reading_row *x = &v[k++];
        x->id = store_col_int(db, st, 0);
        x->read_at = store_col_int(db, st, 1);
        x->amount = store_col_real(db, st, 2);
        x->is_increment = store_col_int(db, st, 3) != 0;
        x->total = store_col_real(db, st, 4);
        x->source = model_reading_source_name((enum model_reading_source)store_col_int(db, st, 5));
        x->flags = (unsigned)store_col_int(db, st, 6);
        x->ingested_at = store_col_int(db, st, 7);
    }
    /* a full page stops short of the statement's end; left active, it would
     * pin the read connection's snapshot and stall checkpoints */
    db->ops->reset(st);
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}
