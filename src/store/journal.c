/* SPDX-License-Identifier: Apache-2.0
 *
 * journal.c: outbox rows, audit records, sync state, sync log and mapping
 * exceptions. See journal.h.
 */
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "store/events.h"
#include "store/store_int.h"

/* ---- outbox ------------------------------------------------------------- */

static const char *const outbox_state_names[] = {"pending", "in_flight",  "done",
                                                 "dead",    "suppressed", "refused"};

const char *store_outbox_state_name(enum store_outbox_state s)
{
    return (unsigned)s < sizeof(outbox_state_names) / sizeof(outbox_state_names[0])
               ? outbox_state_names[s]
               : "unknown";
}

static const char SQL_OUTBOX_ADD[] =
    "INSERT INTO outbox(tenant, provider, entity, action, subject, payload, idempotency_key,"
    " coalesce_key, state, priority, attempts, next_attempt_at, correlation_id, created_at, "
    "updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)"
    " ON CONFLICT (tenant, idempotency_key) DO NOTHING";

enum ab_rc store_outbox_add(struct store_tx *tx, const struct store_outbox_item *it, bool *added)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    int64_t now = clock_now_ms();
    int64_t priority = it->priority;
    if (priority < 0) {
        const struct config *cfg = store_config(tx->store);
        priority =
            cfg ? config_outbox_priority(config_tenant(cfg, it->tenant), it->provider, it->entity)
                : 0;
    }
    enum ab_rc rc = store_tenant_ensure(tx, it->tenant);
    if (!rc)
        rc = store_db_stmt(db, SQL_OUTBOX_ADD, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttttttttiitii", it->tenant, it->provider, it->entity,
                            it->action, it->subject, it->payload, it->idempotency_key,
                            it->coalesce_key, store_outbox_state_name(it->state), priority,
                            it->next_attempt_at ? it->next_attempt_at : now,
                            it->correlation_id ? it->correlation_id : tx->correlation_id, now, now);
    if (!rc)
        rc = store_step_done(db, st);
    if (!rc && added)
        *added = db->ops->changes(db->conn) > 0;
    return rc;
}

static const char SQL_OUTBOX_LIST[] =
    "SELECT id, provider, entity, action, subject, payload, idempotency_key, coalesce_key,"
    " priority, attempts, next_attempt_at, last_error, correlation_id, created_at, updated_at"
    " FROM outbox WHERE tenant = ? AND state = ? AND id > ? ORDER BY id LIMIT ?";

enum ab_rc store_outbox_list(struct store_read *r, const char *tenant,
                             enum store_outbox_state state, int64_t after_id, size_t limit,
                             struct arena *a, struct store_outbox_item **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_OUTBOX_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttii", tenant, store_outbox_state_name(state), after_id,
                            (int64_t)limit);
    if (rc)
        return rc;
    struct store_outbox_item *v = arena_zalloc(a, (limit ? limit : 1) * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row) {
        struct store_outbox_item *it = &v[k++];
        it->id = store_col_int(db, st, 0);
        it->tenant = arena_strdup(a, tenant);
        it->provider = store_col_text(db, st, 1, a);
        it->entity = store_col_text(db, st, 2, a);
        it->action = store_col_text(db, st, 3, a);
        it->subject = store_col_text(db, st, 4, a);
        it->payload = store_col_text(db, st, 5, a);
        it->idempotency_key = store_col_text(db, st, 6, a);
        it->coalesce_key = store_col_text(db, st, 7, a);
        it->state = state;
        it->priority = (int)store_col_int(db, st, 8);
        it->attempts = (int)store_col_int(db, st, 9);
        it->next_attempt_at = store_col_int(db, st, 10);
        it->last_error = store_col_text(db, st, 11, a);
        it->correlation_id = store_col_text(db, st, 12, a);
        it->created_at = store_col_int(db, st, 13);
        it->updated_at = store_col_int(db, st, 14);
    }
    db->ops->reset(st); /* a full page stops short of the statement's end */
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

/* ---- audit -------------------------------------------------------------- */

static const char SQL_AUDIT_ADD[] =
    "INSERT INTO audit(tenant, actor, action, subject, before_digest, after_digest, correlation_id,"
    " detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

enum ab_rc store_audit_add(struct store_tx *tx, const struct store_audit *au)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_AUDIT_ADD, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttttttttT", au->tenant, au->actor, au->action, au->subject,
                            au->before_digest, au->after_digest,
                            au->correlation_id ? au->correlation_id : tx->correlation_id,
                            au->detail, au->at ? au->at : clock_now_ms());
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

static const char SQL_AUDIT_QUERY[] =
    "SELECT id, actor, action, subject, before_digest, after_digest, correlation_id, detail, at"
    " FROM audit WHERE tenant = ?1 AND (?2 IS NULL OR subject = ?2) AND (?3 IS NULL OR actor = ?3)"
    " AND (?4 IS NULL OR correlation_id = ?4) AND at >= ?5 AND at < ?6 AND id < ?7"
    " ORDER BY id DESC LIMIT ?8";

enum ab_rc store_audit_query(struct store_read *r, const char *tenant, const char *subject,
                             const char *actor, const char *correlation_id, int64_t from,
                             int64_t to, int64_t before_id, size_t limit, struct arena *a,
                             struct store_audit **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_AUDIT_QUERY, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttttiiii", tenant, subject, actor, correlation_id, from, to,
                            before_id > 0 ? before_id : INT64_MAX, (int64_t)limit);
    if (rc)
        return rc;
    struct store_audit *v = arena_zalloc(a, (limit ? limit : 1) * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row) {
        struct store_audit *au = &v[k++];
        au->id = store_col_int(db, st, 0);
        au->tenant = arena_strdup(a, tenant);
        au->actor = store_col_text(db, st, 1, a);
        au->action = store_col_text(db, st, 2, a);
        au->subject = store_col_text(db, st, 3, a);
        au->before_digest = store_col_text(db, st, 4, a);
        au->after_digest = store_col_text(db, st, 5, a);
        au->correlation_id = store_col_text(db, st, 6, a);
        au->detail = store_col_text(db, st, 7, a);
        au->at = store_col_int(db, st, 8);
    }
    db->ops->reset(st); /* a full page stops short of the statement's end */
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

/* ---- sync state ------------------------------------------------------------ */

static const char SQL_SYNC_GET[] =
    "SELECT watermark, page_token, last_success_at, last_error, last_error_at, pulled, pushed, "
    "failed"
    " FROM sync_state WHERE tenant = ? AND provider = ? AND entity = ?";

static enum ab_rc sync_get(struct store_db *db, const char *tenant, const char *provider,
                           const char *entity, struct arena *a, struct store_sync_state *out)
{
    struct store_stmt *st;
    bool row = false;
    memset(out, 0, sizeof(*out));
    out->tenant = arena_strdup(a, tenant);
    out->provider = arena_strdup(a, provider);
    out->entity = arena_strdup(a, entity);
    out->last_success_at = INT64_MIN;
    out->last_error_at = INT64_MIN;
    enum ab_rc rc = store_db_stmt(db, SQL_SYNC_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, provider, entity);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc || !row)
        return rc;
    out->watermark = store_col_text(db, st, 0, a);
    out->page_token = store_col_text(db, st, 1, a);
    out->last_success_at = store_col_time(db, st, 2);
    out->last_error = store_col_text(db, st, 3, a);
    out->last_error_at = store_col_time(db, st, 4);
    out->pulled = store_col_int(db, st, 5);
    out->pushed = store_col_int(db, st, 6);
    out->failed = store_col_int(db, st, 7);
    return store_step_done(db, st);
}

enum ab_rc store_sync_state_get(struct store_read *r, const char *tenant, const char *provider,
                                const char *entity, struct arena *a, struct store_sync_state *out)
{
    return sync_get(store_read_db(r), tenant, provider, entity, a, out);
}

enum ab_rc store_sync_state_get_tx(struct store_tx *tx, const char *tenant, const char *provider,
                                   const char *entity, struct arena *a,
                                   struct store_sync_state *out)
{
    return sync_get(tx->db, tenant, provider, entity, a, out);
}

static const char SQL_SYNC_PUT[] =
    "INSERT INTO sync_state(tenant, provider, entity, watermark, page_token, last_success_at,"
    " last_error, last_error_at, pulled, pushed, failed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (tenant, provider, entity) DO UPDATE SET watermark = excluded.watermark,"
    " page_token = excluded.page_token, last_success_at = excluded.last_success_at,"
    " last_error = excluded.last_error, last_error_at = excluded.last_error_at,"
    " pulled = excluded.pulled, pushed = excluded.pushed, failed = excluded.failed";

enum ab_rc store_sync_state_put(struct store_tx *tx, const struct store_sync_state *s)
{
    struct store_stmt *st;
    enum ab_rc rc = store_tenant_ensure(tx, s->tenant);
    if (!rc)
        rc = store_db_stmt(tx->db, SQL_SYNC_PUT, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tttttTtTiii", s->tenant, s->provider, s->entity,
                            s->watermark, s->page_token, s->last_success_at, s->last_error,
                            s->last_error_at, s->pulled, s->pushed, s->failed);
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

static const char SQL_SYNC_LOG[] =
    "INSERT INTO sync_log(tenant, provider, entity, native_id, level, message, correlation_id, at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

enum ab_rc store_sync_log_add(struct store_tx *tx, const char *tenant, const char *provider,
                              const char *entity, const char *native_id, const char *level,
                              const char *message)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_SYNC_LOG, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttttttti", tenant, provider, entity, native_id, level,
                            message, tx->correlation_id, clock_now_ms());
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

/* ---- mapping exceptions ---------------------------------------------------- */

static const char SQL_EXC_FIND_OPEN[] =
    "SELECT id FROM mapping_exceptions WHERE tenant = ? AND provider = ? AND entity = ?"
    " AND COALESCE(native_id, '') = COALESCE(?, '') AND reason = ? AND state = 'open'";
static const char SQL_EXC_UPDATE[] =
    "UPDATE mapping_exceptions SET message = ?, candidates = ?, change = ? WHERE id = ?";
static const char SQL_EXC_INSERT[] =
    "INSERT INTO mapping_exceptions(id, tenant, provider, entity, native_id, reason, message,"
    " candidates, change, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)";

enum ab_rc store_mapping_exception_add(struct store_tx *tx, const struct store_mapping_exception *e,
                                       const char **id_out, struct arena *a)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    const char *candidates = e->candidates ? e->candidates : "[]";
    enum ab_rc rc = store_tenant_ensure(tx, e->tenant);
    if (!rc)
        rc = store_db_stmt(db, SQL_EXC_FIND_OPEN, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttttt", e->tenant, e->provider, e->entity, e->native_id,
                            e->reason);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    if (row) {
        const char *id = store_col_text(db, st, 0, a);
        rc = store_step_done(db, st);
        if (!rc)
            rc = store_db_stmt(db, SQL_EXC_UPDATE, &st);
        if (!rc)
            rc = store_bind_all(db, st, "tttt", e->message, candidates, e->change, id);
        if (!rc)
            rc = store_step_done(db, st);
        if (!rc && id_out)
            *id_out = id;
        return rc;
    }
    char idbuf[ID_ULID_LEN + 1];
    const char *id = e->id;
    if (!id) {
        id_ulid_new(idbuf);
        id = idbuf;
    }
    rc = store_db_stmt(db, SQL_EXC_INSERT, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttttttttT", id, e->tenant, e->provider, e->entity,
                            e->native_id, e->reason, e->message, candidates, e->change,
                            clock_now_ms());
    if (!rc)
        rc = store_step_done(db, st);
    if (rc)
        return rc;
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s}", "id", id, "provider", e->provider, "entity",
                  e->entity, "native_id", e->native_id, "reason", e->reason, "message", e->message);
    char subject[64];
    snprintf(subject, sizeof(subject), "mapping-exception/%s", id);
    rc = store_event_append(tx, e->tenant, "mapping.exception", subject, payload, NULL);
    json_decref(payload);
    if (!rc && id_out)
        *id_out = arena_strdup(a, id);
    return rc;
}

static const char SQL_EXC_GET[] =
    "SELECT id, provider, entity, native_id, reason, message, candidates, change, state, "
    "resolution,"
    " created_at, resolved_at FROM mapping_exceptions WHERE tenant = ? AND id = ?";
static const char SQL_EXC_LIST[] =
    "SELECT id, provider, entity, native_id, reason, message, candidates, change, state,"
    " resolution, created_at, resolved_at FROM mapping_exceptions"
    " WHERE tenant = ?1 AND (?2 IS NULL OR state = ?2)"
    " AND (created_at > ?3 OR (created_at = ?3 AND id > ?4))"
    " ORDER BY created_at, id LIMIT ?5";

static void exc_row(struct store_db *db, struct store_stmt *st, const char *tenant, struct arena *a,
                    struct store_mapping_exception *e)
{
    e->id = store_col_text(db, st, 0, a);
    e->tenant = arena_strdup(a, tenant);
    e->provider = store_col_text(db, st, 1, a);
    e->entity = store_col_text(db, st, 2, a);
    e->native_id = store_col_text(db, st, 3, a);
    e->reason = store_col_text(db, st, 4, a);
    e->message = store_col_text(db, st, 5, a);
    e->candidates = store_col_text(db, st, 6, a);
    e->change = store_col_text(db, st, 7, a);
    e->state = store_col_text(db, st, 8, a);
    e->resolution = store_col_text(db, st, 9, a);
    e->created_at = store_col_int(db, st, 10);
    e->resolved_at = store_col_time(db, st, 11);
}

static enum ab_rc exc_get(struct store_db *db, const char *tenant, const char *id, struct arena *a,
                          struct store_mapping_exception *out)
{
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_EXC_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    if (!row)
        return AB_ENOTFOUND;
    exc_row(db, st, tenant, a, out);
    /* finish the statement: left active it would pin the snapshot */
    return store_step_done(db, st);
}

enum ab_rc store_mapping_exception_get(struct store_read *r, const char *tenant, const char *id,
                                       struct arena *a, struct store_mapping_exception *out)
{
    return exc_get(store_read_db(r), tenant, id, a, out);
}

enum ab_rc store_mapping_exception_get_tx(struct store_tx *tx, const char *tenant, const char *id,
                                          struct arena *a, struct store_mapping_exception *out)
{
    return exc_get(tx->db, tenant, id, a, out);
}

enum ab_rc store_mapping_exceptions_list(struct store_read *r, const char *tenant,
                                         const char *state, int64_t after_created_at,
                                         const char *after_id, size_t limit, struct arena *a,
                                         struct store_mapping_exception **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_EXC_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttiti", tenant, state, after_created_at,
                            after_id ? after_id : "", (int64_t)limit);
    if (rc)
        return rc;
    struct store_mapping_exception *v = arena_zalloc(a, (limit ? limit : 1) * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row)
        exc_row(db, st, tenant, a, &v[k++]);
    db->ops->reset(st); /* a full page stops short of the statement's end */
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

static const char SQL_EXC_CLOSE[] =
    "UPDATE mapping_exceptions SET state = ?, resolution = ?, resolved_at = ?"
    " WHERE tenant = ? AND id = ? AND state = 'open'";

enum ab_rc store_mapping_exception_close(struct store_tx *tx, const char *tenant, const char *id,
                                         const char *state, const char *resolution)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_EXC_CLOSE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttitt", state, resolution, clock_now_ms(), tenant, id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = AB_ECONFLICT; /* unknown, or no longer open */
    return rc;
}

/* ---- outbox effects that differ ------------------------------------------------- */

enum ab_rc store_mapping_exception_outbox(struct store_tx *tx,
                                          const struct store_outbox_mismatch *m,
                                          const char **id_out, struct arena *a)
{
    json_error_t je;
    json_t *payload = m->payload ? json_loads(m->payload, 0, &je) : NULL;
    const char *native = json_string_value(json_object_get(payload, "asset_native_id"));
    char fallback[40];
    if (!native || !*native) {
        snprintf(fallback, sizeof(fallback), "outbox/%lld", (long long)m->outbox_id);
        native = fallback;
    }
    char *scrubbed = m->response ? log_scrub(m->response) : NULL;
    json_t *change =
        json_pack("{s:I, s:s?, s:s?, s:O?, s:s?}", "outbox_id", (json_int_t)m->outbox_id, "action",
                  m->action, "subject", m->subject, "payload", payload, "response", scrubbed);
    char *ctext = change ? json_dumps(change, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(change);
    enum ab_rc rc = AB_EINTERNAL;
    const char *id = NULL;
    if (ctext) {
        struct store_mapping_exception e = {0};
        e.tenant = m->tenant;
        e.provider = m->provider;
        e.entity = m->entity;
        e.native_id = native;
        e.reason = m->reason ? m->reason : "effect_mismatch";
        e.message = m->message ? m->message : "the provider's effect differs from the hub";
        e.candidates = "[]";
        e.change = ctext;
        rc = store_mapping_exception_add(tx, &e, &id, a);
        if (!rc) {
            char line[600];
            snprintf(line, sizeof(line), "outbox #%lld done, but %s: %s (mapping exception %s)",
                     (long long)m->outbox_id, e.reason, e.message, id ? id : "?");
            rc = store_sync_log_add(tx, m->tenant, m->provider, m->entity, native, "warn", line);
        }
    }
    free(ctext);
    free(scrubbed);
    json_decref(payload);
    if (!rc && id_out)
        *id_out = id;
    return rc;
}
