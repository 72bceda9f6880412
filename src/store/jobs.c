/* SPDX-License-Identifier: Apache-2.0
 *
 * jobs.c: the jobs table (sync and reconcile runs: state, progress, result)
 * and a reconciliation's scratch set of seen native ids, with the few reads
 * of source_records a reconciliation needs. See jobs.h.
 */
#include "store/jobs.h"

#include <string.h>

#include "core/clock.h"
#include "core/str.h"
#include "store/store_int.h"

static const char *const state_names[] = {"queued", "running", "succeeded", "failed", "cancelled"};

const char *store_job_state_name(enum store_job_state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

bool store_job_state_parse(const char *s, enum store_job_state *out)
{
    for (size_t i = 0; s && i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (strcmp(state_names[i], s) == 0) {
            *out = (enum store_job_state)i;
            return true;
        }
    return false;
}

bool store_job_state_final(enum store_job_state s)
{
    return s == JOB_SUCCEEDED || s == JOB_FAILED || s == JOB_CANCELLED;
}

#define JOB_COLS                                                                                   \
    "id, tenant, kind, provider, entity, params, state, cancel_requested, pages, records, total,"  \
    " result, error, created_by, correlation_id, created_at, started_at, finished_at, updated_at"

static void read_row(struct store_db *db, struct store_stmt *st, struct arena *a,
                     struct store_job *j)
{
    memset(j, 0, sizeof(*j));
    j->id = store_col_text(db, st, 0, a);
    j->tenant = store_col_text(db, st, 1, a);
    j->kind = store_col_text(db, st, 2, a);
    j->provider = store_col_text(db, st, 3, a);
    j->entity = store_col_text(db, st, 4, a);
    j->params = store_col_text(db, st, 5, a);
    const char *state = (const char *)db->ops->column_text(st, 6);
    if (!store_job_state_parse(state, &j->state))
        j->state = JOB_FAILED;
    j->cancel_requested = store_col_int(db, st, 7) != 0;
    j->pages = store_col_int(db, st, 8);
    j->records = store_col_int(db, st, 9);
    j->total = store_col_null(db, st, 10) ? -1 : store_col_int(db, st, 10);
    j->result = store_col_text(db, st, 11, a);
    j->error = store_col_text(db, st, 12, a);
    j->created_by = store_col_text(db, st, 13, a);
    j->correlation_id = store_col_text(db, st, 14, a);
    j->created_at = store_col_time(db, st, 15);
    j->started_at = store_col_time(db, st, 16);
    j->finished_at = store_col_time(db, st, 17);
    j->updated_at = store_col_time(db, st, 18);
}

/* ---- add, read, list ---------------------------------------------------------------- */

static const char SQL_ADD[] =
    "INSERT INTO jobs(id, tenant, kind, provider, entity, params, state, total, created_by,"
    " correlation_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)";

enum ab_rc store_job_add(struct store_tx *tx, const struct store_job *j)
{
    if (!j->id || !j->tenant || !j->kind || !j->provider || !j->params)
        return AB_EINVAL;
    enum ab_rc rc = store_tenant_ensure(tx, j->tenant);
    struct store_stmt *st;
    int64_t now = clock_now_ms();
    if (!rc)
        rc = store_db_stmt(tx->db, SQL_ADD, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttttttTttii", j->id, j->tenant, j->kind, j->provider,
                            j->entity, j->params, j->total < 0 ? INT64_MIN : j->total,
                            j->created_by, j->correlation_id ? j->correlation_id : NULL, now, now);
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

static const char SQL_GET[] = "SELECT " JOB_COLS " FROM jobs WHERE tenant = ? AND id = ?";

enum ab_rc store_job_get(struct store_read *r, const char *tenant, const char *id, struct arena *a,
                         struct store_job *out)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = store_db_stmt(db, SQL_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        read_row(db, st, a, out);
    db->ops->reset(st);
    if (!rc && !row)
        rc = AB_ENOTFOUND;
    return rc;
}

static const char SQL_LIST[] =
    "SELECT " JOB_COLS " FROM jobs WHERE tenant = ?1 AND (?2 IS NULL OR state = ?2)"
    " AND (?3 IS NULL OR provider = ?3) AND (?4 IS NULL OR kind = ?4) AND id < ?5"
    " ORDER BY id DESC LIMIT ?6";

enum ab_rc store_job_list(struct store_read *r, const struct store_job_filter *f,
                          const char *before_id, size_t limit, struct arena *a,
                          struct store_job **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    *out = NULL;
    *n = 0;
    if (limit == 0 || limit > 1000 || !f->tenant)
        return AB_EINVAL;
    /* every ULID sorts below "~" */
    const char *before = before_id && *before_id ? before_id : "~";
    enum ab_rc rc = store_db_stmt(db, SQL_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttttti", f->tenant,
                            f->has_state ? store_job_state_name(f->state) : NULL, f->provider,
                            f->kind, before, (int64_t)limit);
    if (rc)
        return rc;
    struct store_job *v = arena_zalloc(a, limit * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row)
        read_row(db, st, a, &v[k++]);
    db->ops->reset(st);
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

static const char SQL_LAST[] =
    "SELECT " JOB_COLS " FROM jobs WHERE tenant = ? AND provider = ? AND entity = ? AND kind = ?"
    " ORDER BY id DESC LIMIT 1";

enum ab_rc store_job_last(struct store_read *r, const char *tenant, const char *kind,
                          const char *provider, const char *entity, struct arena *a,
                          struct store_job *out, bool *found)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    *found = false;
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = store_db_stmt(db, SQL_LAST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttt", tenant, provider, entity, kind);
    if (!rc)
        rc = store_step_row(db, st, found);
    if (!rc && *found)
        read_row(db, st, a, out);
    db->ops->reset(st);
    return rc;
}

static const char SQL_BUSY[] =
    "SELECT 1 FROM jobs WHERE tenant = ? AND provider = ? AND entity = ? AND kind = ?"
    " AND state IN ('queued', 'running') LIMIT 1";

enum ab_rc store_job_busy(struct store_read *r, const char *tenant, const char *kind,
                          const char *provider, const char *entity, bool *busy)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    *busy = false;
    enum ab_rc rc = store_db_stmt(db, SQL_BUSY, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttt", tenant, provider, entity, kind);
    if (!rc)
        rc = store_step_row(db, st, busy);
    db->ops->reset(st);
    return rc;
}

/* ---- the runner's transitions ---------------------------------------------------------- */

static const char SQL_CLAIM[] =
    "UPDATE jobs SET state = 'running', started_at = ?, updated_at = ?"
    " WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1)"
    " RETURNING " JOB_COLS;

enum ab_rc store_job_claim(struct store_tx *tx, struct arena *a, struct store_job *out, bool *found)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    int64_t now = clock_now_ms();
    *found = false;
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = store_db_stmt(db, SQL_CLAIM, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ii", now, now);
    if (!rc)
        rc = store_step_row(db, st, found);
    if (!rc && *found) {
        read_row(db, st, a, out);
        rc = store_step_done(db, st);
    }
    db->ops->reset(st);
    return rc;
}

static const char SQL_PROGRESS[] =
    "UPDATE jobs SET pages = ?, records = ?, total = ?, updated_at = ?"
    " WHERE tenant = ? AND id = ? AND state = 'running'";

enum ab_rc store_job_progress(struct store_tx *tx, const char *tenant, const char *id,
                              int64_t pages, int64_t records, int64_t total)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_PROGRESS, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "iiTitt", pages, records, total < 0 ? INT64_MIN : total,
                            clock_now_ms(), tenant, id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

static const char SQL_CANCEL_FLAG[] =
    "SELECT cancel_requested FROM jobs WHERE tenant = ? AND id = ?";

enum ab_rc store_job_cancel_requested(struct store *s, const char *tenant, const char *id,
                                      bool *cancel)
{
    struct store_read *r = NULL;
    *cancel = false;
    enum ab_rc rc = store_read_begin(s, &r);
    if (rc)
        return rc;
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    rc = store_db_stmt(db, SQL_CANCEL_FLAG, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        *cancel = store_col_int(db, st, 0) != 0;
    db->ops->reset(st);
    store_read_end(r);
    if (!rc && !row)
        rc = AB_ENOTFOUND;
    return rc;
}

static const char SQL_FINISH[] =
    "UPDATE jobs SET state = ?, pages = ?, records = ?, result = ?, error = ?, finished_at = ?,"
    " updated_at = ? WHERE tenant = ? AND id = ? AND state = 'running'";

enum ab_rc store_job_finish(struct store_tx *tx, const char *tenant, const char *id,
                            enum store_job_state state, int64_t pages, int64_t records,
                            const char *result, const char *error)
{
    if (!store_job_state_final(state))
        return AB_EINVAL;
    struct store_stmt *st;
    int64_t now = clock_now_ms();
    enum ab_rc rc = store_db_stmt(tx->db, SQL_FINISH, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tiittiitt", store_job_state_name(state), pages, records,
                            result, error, now, now, tenant, id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = AB_ECONFLICT;
    return rc;
}

static const char SQL_STATE_OF[] = "SELECT state FROM jobs WHERE tenant = ? AND id = ?";
static const char SQL_CANCEL_QUEUED[] =
    "UPDATE jobs SET state = 'cancelled', finished_at = ?, updated_at = ?, cancel_requested = 1"
    " WHERE tenant = ? AND id = ? AND state = 'queued'";
static const char SQL_CANCEL_RUNNING[] = "UPDATE jobs SET cancel_requested = 1, updated_at = ?"
                                         " WHERE tenant = ? AND id = ? AND state = 'running'";

enum ab_rc store_job_cancel(struct store_tx *tx, const char *tenant, const char *id,
                            enum store_job_state *state)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    enum store_job_state s = JOB_FAILED;
    enum ab_rc rc = store_db_stmt(db, SQL_STATE_OF, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row && !store_job_state_parse((const char *)db->ops->column_text(st, 0), &s))
        rc = AB_EINTERNAL;
    db->ops->reset(st);
    if (rc)
        return rc;
    if (!row)
        return AB_ENOTFOUND;
    if (state)
        *state = s;
    if (store_job_state_final(s))
        return AB_ECONFLICT;
    int64_t now = clock_now_ms();
    if (s == JOB_QUEUED) {
        rc = store_db_stmt(db, SQL_CANCEL_QUEUED, &st);
        if (!rc)
            rc = store_bind_all(db, st, "iitt", now, now, tenant, id);
        if (!rc && state)
            *state = JOB_CANCELLED;
    } else {
        rc = store_db_stmt(db, SQL_CANCEL_RUNNING, &st);
        if (!rc)
            rc = store_bind_all(db, st, "itt", now, tenant, id);
    }
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

static const char SQL_SEEN_DROP_RUNNING[] =
    "DELETE FROM job_seen WHERE job_id IN (SELECT id FROM jobs WHERE state = 'running')";
static const char SQL_INTERRUPT[] =
    "UPDATE jobs SET state = 'failed', error = 'interrupted by a restart', finished_at = ?,"
    " updated_at = ? WHERE state = 'running'";

enum ab_rc store_jobs_interrupt(struct store_tx *tx, int64_t *n)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    int64_t now = clock_now_ms();
    if (n)
        *n = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_SEEN_DROP_RUNNING, &st);
    if (!rc)
        rc = store_step_done(db, st);
    if (!rc)
        rc = store_db_stmt(db, SQL_INTERRUPT, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ii", now, now);
    if (!rc)
        rc = store_step_done(db, st);
    if (!rc && n)
        *n = db->ops->changes(db->conn);
    return rc;
}

/* ---- the scratch set ------------------------------------------------------------------- */

static const char SQL_SEEN_ADD[] =
    "INSERT INTO job_seen(job_id, native_id) VALUES (?, ?) ON CONFLICT DO NOTHING";
static const char SQL_SEEN_CLEAR[] = "DELETE FROM job_seen WHERE job_id = ?";

enum ab_rc store_job_seen_add(struct store_tx *tx, const char *job_id, const char *native_id,
                              bool *added)
{
    struct store_stmt *st;
    *added = false;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_SEEN_ADD, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tt", job_id, native_id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc)
        *added = tx->db->ops->changes(tx->db->conn) > 0;
    return rc;
}

enum ab_rc store_job_seen_clear(struct store_tx *tx, const char *job_id)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_SEEN_CLEAR, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "t", job_id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

static const char SQL_HUB_GET[] =
    "SELECT digest, missing_at_source FROM source_records"
    " WHERE tenant = ? AND provider = ? AND entity = ? AND native_id = ?";

enum ab_rc store_hub_record_get(struct store_tx *tx, const char *tenant, const char *provider,
                                const char *entity, const char *native_id,
                                struct store_hub_record *out)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = store_db_stmt(db, SQL_HUB_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttt", tenant, provider, entity, native_id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row) {
        out->found = true;
        const char *d = (const char *)db->ops->column_text(st, 0);
        str_lcpy(out->digest, d ? d : "", sizeof(out->digest));
        out->missing_at_source = store_col_int(db, st, 1) != 0;
    }
    db->ops->reset(st);
    return rc;
}

static const char SQL_HUB_COUNT[] =
    "SELECT COUNT(*) FROM source_records WHERE tenant = ? AND provider = ? AND entity = ?"
    " AND missing_at_source = 0";

enum ab_rc store_hub_record_count(struct store_read *r, const char *tenant, const char *provider,
                                  const char *entity, int64_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    *n = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_HUB_COUNT, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, provider, entity);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        *n = store_col_int(db, st, 0);
    db->ops->reset(st);
    return rc;
}

#define UNSEEN_WHERE                                                                               \
    " FROM source_records s WHERE s.tenant = ? AND s.provider = ? AND s.entity = ?"                \
    " AND s.missing_at_source = 0 AND NOT EXISTS (SELECT 1 FROM job_seen j"                        \
    " WHERE j.job_id = ? AND j.native_id = s.native_id)"
static const char SQL_UNSEEN_COUNT[] = "SELECT COUNT(*)" UNSEEN_WHERE;
static const char SQL_UNSEEN_IDS[] =
    "SELECT s.native_id" UNSEEN_WHERE " ORDER BY s.native_id LIMIT ?";

enum ab_rc store_job_unseen(struct store_read *r, const char *tenant, const char *provider,
                            const char *entity, const char *job_id, size_t max_ids, struct arena *a,
                            int64_t *count, const char ***ids, size_t *n_ids)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    *count = 0;
    *ids = NULL;
    *n_ids = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_UNSEEN_COUNT, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttt", tenant, provider, entity, job_id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        *count = store_col_int(db, st, 0);
    db->ops->reset(st);
    if (rc || *count == 0 || max_ids == 0)
        return rc;
    const char **v = arena_zalloc(a, max_ids * sizeof(*v));
    size_t k = 0;
    rc = store_db_stmt(db, SQL_UNSEEN_IDS, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttti", tenant, provider, entity, job_id, (int64_t)max_ids);
    while (!rc && k < max_ids && !(rc = store_step_row(db, st, &row)) && row)
        v[k++] = store_col_text(db, st, 0, a);
    db->ops->reset(st);
    if (rc)
        return rc;
    *ids = v;
    *n_ids = k;
    return AB_OK;
}

static const char SQL_SEEN_TOUCH[] =
    "UPDATE source_records SET seen_at = ? WHERE tenant = ? AND provider = ? AND entity = ?"
    " AND seen_at < ? AND native_id IN (SELECT native_id FROM job_seen WHERE job_id = ?)";

enum ab_rc store_job_seen_touch(struct store_tx *tx, const char *tenant, const char *provider,
                                const char *entity, const char *job_id, int64_t since, int64_t *n)
{
    struct store_stmt *st;
    int64_t now = clock_now_ms();
    if (n)
        *n = 0;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_SEEN_TOUCH, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "itttit", now > since ? now : since, tenant, provider,
                            entity, since, job_id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && n)
        *n = tx->db->ops->changes(tx->db->conn);
    return rc;
}
