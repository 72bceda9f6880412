/* SPDX-License-Identifier: Apache-2.0
 *
 * synclog.c: sync log and sync state reads, outbox counts and detailed
 * rows, and the engine's suppress / defer / replay-one transitions. See
 * synclog.h.
 */
#include "store/synclog.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/outbox.h"
#include "store/store_int.h"

/* ---- sync log ------------------------------------------------------------------ */

static const char SQL_LOG_LIST[] =
    "SELECT id, provider, entity, native_id, level, message, correlation_id, at FROM sync_log"
    " WHERE tenant = ?1 AND (?2 IS NULL OR provider = ?2) AND id < ?3 ORDER BY id DESC LIMIT ?4";

enum ab_rc store_sync_log_list(struct store_read *r, const char *tenant, const char *provider,
                               int64_t before_id, size_t limit, struct arena *a,
                               struct store_sync_log **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    *out = NULL;
    *n = 0;
    if (limit == 0 || limit > 1000)
        return AB_EINVAL;
    enum ab_rc rc = store_db_stmt(db, SQL_LOG_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttii", tenant, provider, before_id > 0 ? before_id : INT64_MAX,
                            (int64_t)limit);
    if (rc)
        return rc;
    struct store_sync_log *v = arena_zalloc(a, limit * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row) {
        struct store_sync_log *l = &v[k++];
        l->id = store_col_int(db, st, 0);
        l->provider = store_col_text(db, st, 1, a);
        l->entity = store_col_text(db, st, 2, a);
        l->native_id = store_col_text(db, st, 3, a);
        l->level = store_col_text(db, st, 4, a);
        l->message = store_col_text(db, st, 5, a);
        l->correlation_id = store_col_text(db, st, 6, a);
        l->at = store_col_time(db, st, 7);
    }
    db->ops->reset(st);
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

/* ---- sync state ---------------------------------------------------------------- */

static const char SQL_STATE_LIST[] =
    "SELECT provider, entity, watermark, page_token, last_success_at, last_error, last_error_at,"
    " pulled, pushed, failed FROM sync_state WHERE tenant = ? ORDER BY provider, entity LIMIT ?";

enum ab_rc store_sync_state_list(struct store_read *r, const char *tenant, size_t limit,
                                 struct arena *a, struct store_sync_state **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    *out = NULL;
    *n = 0;
    if (limit == 0)
        return AB_EINVAL;
    enum ab_rc rc = store_db_stmt(db, SQL_STATE_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ti", tenant, (int64_t)limit);
    if (rc)
        return rc;
    struct store_sync_state *v = arena_zalloc(a, limit * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row) {
        struct store_sync_state *s = &v[k++];
        s->tenant = arena_strdup(a, tenant);
        s->provider = store_col_text(db, st, 0, a);
        s->entity = store_col_text(db, st, 1, a);
        s->watermark = store_col_text(db, st, 2, a);
        s->page_token = store_col_text(db, st, 3, a);
        s->last_success_at = store_col_time(db, st, 4);
        s->last_error = store_col_text(db, st, 5, a);
        s->last_error_at = store_col_time(db, st, 6);
        s->pulled = store_col_int(db, st, 7);
        s->pushed = store_col_int(db, st, 8);
        s->failed = store_col_int(db, st, 9);
    }
    db->ops->reset(st);
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

/* ---- outbox reads ------------------------------------------------------------- */

static const char SQL_COUNTS[] =
    "SELECT state, COUNT(*) FROM outbox WHERE tenant = ? AND provider = ? GROUP BY state";

enum ab_rc store_outbox_counts(struct store_read *r, const char *tenant, const char *provider,
                               struct store_outbox_counts *out)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = store_db_stmt(db, SQL_COUNTS, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, provider);
    if (rc)
        return rc;
    bool row = false;
    while (!(rc = store_step_row(db, st, &row)) && row) {
        const char *s = db->ops->column_text(st, 0);
        int64_t c = store_col_int(db, st, 1);
        if (!s)
            continue;
        if (strcmp(s, "pending") == 0)
            out->pending = c;
        else if (strcmp(s, "in_flight") == 0)
            out->in_flight = c;
        else if (strcmp(s, "done") == 0)
            out->done = c;
        else if (strcmp(s, "dead") == 0)
            out->dead = c;
        else if (strcmp(s, "suppressed") == 0)
            out->suppressed = c;
        else if (strcmp(s, "refused") == 0)
            out->refused = c;
    }
    db->ops->reset(st);
    return rc;
}

static const char SQL_ROWS[] =
    "SELECT id, provider, entity, action, subject, payload, idempotency_key, priority, attempts,"
    " next_attempt_at, last_error, correlation_id, created_at, updated_at, lease_until,"
    " error_class, last_response, owner_action, dead_at"
    " FROM outbox WHERE tenant = ? AND state = ? AND id > ? ORDER BY id LIMIT ?";

enum ab_rc store_outbox_rows(struct store_read *r, const char *tenant,
                             enum store_outbox_state state, int64_t after_id, size_t limit,
                             struct arena *a, struct store_outbox_row **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    *out = NULL;
    *n = 0;
    if (limit == 0 || limit > 1000)
        return AB_EINVAL;
    enum ab_rc rc = store_db_stmt(db, SQL_ROWS, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttii", tenant, store_outbox_state_name(state), after_id,
                            (int64_t)limit);
    if (rc)
        return rc;
    struct store_outbox_row *v = arena_zalloc(a, limit * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row) {
        struct store_outbox_row *o = &v[k++];
        struct store_outbox_item *it = &o->item;
        it->id = store_col_int(db, st, 0);
        it->tenant = arena_strdup(a, tenant);
        it->provider = store_col_text(db, st, 1, a);
        it->entity = store_col_text(db, st, 2, a);
        it->action = store_col_text(db, st, 3, a);
        it->subject = store_col_text(db, st, 4, a);
        it->payload = store_col_text(db, st, 5, a);
        it->idempotency_key = store_col_text(db, st, 6, a);
        it->state = state;
        it->priority = (int)store_col_int(db, st, 7);
        it->attempts = (int)store_col_int(db, st, 8);
        it->next_attempt_at = store_col_int(db, st, 9);
        it->last_error = store_col_text(db, st, 10, a);
        it->correlation_id = store_col_text(db, st, 11, a);
        it->created_at = store_col_int(db, st, 12);
        it->updated_at = store_col_int(db, st, 13);
        o->lease_until = store_col_time(db, st, 14);
        o->error_class = store_col_text(db, st, 15, a);
        o->last_response = store_col_text(db, st, 16, a);
        o->owner_action = store_col_text(db, st, 17, a);
        o->dead_at = store_col_time(db, st, 18);
    }
    db->ops->reset(st);
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

/* ---- engine transitions ------------------------------------------------------- */

static const char SQL_EXISTS[] = "SELECT 1 FROM outbox WHERE tenant = ? AND id = ?";

/* The fenced update changed nothing: AB_ENOTFOUND or AB_ECONFLICT. */
static enum ab_rc fence_failed(struct store_tx *tx, const char *tenant, int64_t id)
{
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_EXISTS, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ti", tenant, id);
    if (!rc)
        rc = store_step_row(tx->db, st, &row);
    tx->db->ops->reset(st);
    if (rc)
        return rc;
    return row ? AB_ECONFLICT : AB_ENOTFOUND;
}

static const char SQL_SUPPRESS[] =
    "UPDATE outbox SET state = 'suppressed', lease_until = NULL, error_class = 'mode',"
    " last_error = ?, attempts = MAX(attempts - 1, 0), updated_at = ?"
    " WHERE tenant = ? AND id = ? AND state = 'in_flight' AND lease_until = ?";

enum ab_rc store_outbox_suppress(struct store_tx *tx, const char *tenant, int64_t id,
                                 int64_t lease_until, const char *reason)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_SUPPRESS, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "titii", reason, clock_now_ms(), tenant, id, lease_until);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = fence_failed(tx, tenant, id);
    return rc;
}

static const char SQL_REFUSE[] =
    "UPDATE outbox SET state = 'refused', lease_until = NULL, error_class = 'policy',"
    " last_error = ?, updated_at = ?"
    " WHERE tenant = ? AND id = ? AND state = 'in_flight' AND lease_until = ?";

enum ab_rc store_outbox_refuse(struct store_tx *tx, const char *tenant, int64_t id,
                               int64_t lease_until, const char *reason)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_REFUSE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "titii", reason, clock_now_ms(), tenant, id, lease_until);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        return fence_failed(tx, tenant, id);
    if (rc)
        return rc;
    char subject[40];
    snprintf(subject, sizeof(subject), "outbox/%lld", (long long)id);
    json_t *detail = json_pack("{s:s?}", "reason", reason);
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    struct store_audit au = {
        .tenant = tenant,
        .actor = "system",
        .action = "outbox.refused",
        .subject = subject,
        .detail = text,
    };
    rc = store_audit_add(tx, &au);
    free(text);
    return rc;
}

static const char SQL_DEFER[] =
    "UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = ?,"
    " attempts = MAX(attempts - 1, 0), updated_at = ?"
    " WHERE tenant = ? AND id = ? AND state = 'in_flight' AND lease_until = ?";

enum ab_rc store_outbox_defer(struct store_tx *tx, const char *tenant, int64_t id,
                              int64_t lease_until, int64_t at)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_DEFER, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "iitii", at, clock_now_ms(), tenant, id, lease_until);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = fence_failed(tx, tenant, id);
    return rc;
}

static const char SQL_REPLAY_ID[] =
    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?1, dead_at = NULL,"
    " lease_until = NULL, updated_at = ?1 WHERE tenant = ?2 AND id = ?3 AND state = 'dead'";

enum ab_rc store_outbox_replay_id(struct store_tx *tx, const char *tenant, int64_t id,
                                  const char *actor, int64_t *n)
{
    struct store_stmt *st;
    *n = 0;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_REPLAY_ID, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "iti", clock_now_ms(), tenant, id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (rc)
        return rc;
    *n = tx->db->ops->changes(tx->db->conn);
    if (*n == 0)
        return AB_OK;
    json_t *d = json_pack("{s:I, s:I}", "id", (json_int_t)id, "count", (json_int_t)*n);
    char *detail = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(d);
    if (!detail)
        return AB_EINTERNAL;
    char subject[40];
    snprintf(subject, sizeof(subject), "outbox/%lld", (long long)id);
    struct store_audit au = {0};
    au.tenant = tenant;
    au.actor = actor ? actor : "system";
    au.action = "outbox.replay";
    au.subject = subject;
    au.detail = detail;
    rc = store_audit_add(tx, &au);
    free(detail);
    return rc;
}
