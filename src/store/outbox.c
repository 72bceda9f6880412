/* SPDX-License-Identifier: Apache-2.0
 *
 * outbox.c: the outbox lifecycle: claims with leases and usage coalescing,
 * fenced completions, reschedules and dead letters, release of suppressed
 * items, audited replay of dead letters, usage acknowledgements. See
 * outbox.h; docs/internals/sync.md has the state diagram.
 */
#include "store/outbox.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/store_int.h"

/* a provider's answer kept with a failed item is cut here (marked) */
#define OUTBOX_RESPONSE_MAX 16384

/* ---- claim ------------------------------------------------------------------ */

/* A ready item with a coalesce key is superseded by any newer row of its key
 * that is waiting, being delivered or delivered: the newest row of a key
 * carries its newest absolute total (usage.c updates a row in place only
 * while it is the newest), so an older total is never sent after a newer one,
 * also when an old dead letter is replayed after a newer item went out. */
/* Claiming walks the outbox_claim index (tenant, provider, state, priority,
 * id) for one state at a time, so a claim costs the same whether the outbox
 * holds ten rows or a million delivered ones: first items whose lease
 * expired (in flight with a worker that died or hung), then ready pending
 * items, in order per subject (CLAIM_IN_ORDER, using outbox_subject), so
 * several workers of one provider deliver a subject's changes in order. */
#define CLAIM_COLUMNS                                                                              \
    "SELECT id, entity, action, subject, payload, idempotency_key, coalesce_key, priority,"        \
    " attempts, next_attempt_at, last_error, correlation_id, created_at FROM outbox"
/* Skip an item while an earlier item of its subject is held by another
 * claim (in flight) or waits for a retry (pending, not ready): delivering it
 * first would reorder the subject's changes. Earlier ready items come in the
 * same batch, before it. Usage items (a coalesce key) carry absolute totals
 * and need no order. */
#define CLAIM_IN_ORDER                                                                             \
    " AND (subject IS NULL OR coalesce_key IS NOT NULL OR NOT EXISTS (SELECT 1 FROM outbox o2"     \
    " WHERE o2.tenant = ?1 AND o2.provider = ?2 AND o2.subject = outbox.subject"                   \
    " AND o2.id < outbox.id AND o2.state IN ('pending', 'in_flight')"                              \
    " AND (o2.state = 'in_flight' OR o2.next_attempt_at > ?3)))"

static const char SQL_CLAIM_EXPIRED[] =
    CLAIM_COLUMNS " WHERE tenant = ?1 AND provider = ?2 AND state = 'in_flight'"
                  " AND lease_until <= ?3 ORDER BY priority, id LIMIT ?4";

static const char SQL_CLAIM_PENDING[] =
    CLAIM_COLUMNS " WHERE tenant = ?1 AND provider = ?2 AND state = 'pending'"
                  " AND next_attempt_at <= ?3" CLAIM_IN_ORDER " ORDER BY priority, id LIMIT ?4";

/* Usage coalescing: a usage row carries an absolute total, so a row with a
 * newer row of the same coalesce key (pending, in flight or delivered) says
 * nothing the newer one does not: it is done without a call. Each row
 * carries its newest absolute total (usage.c updates a row in place only
 * while it is the newest), so an older total is never sent after a newer one,
 * also when an old dead letter is replayed after a newer item went out. */
static const char SQL_NEWER[] =
    "SELECT 1 FROM outbox WHERE tenant = ?1 AND provider = ?2 AND coalesce_key = ?3"
    " AND state IN ('pending', 'in_flight', 'done') AND id > ?4 LIMIT 1";

static const char SQL_COALESCED[] =
    "UPDATE outbox SET state = 'done', last_error = 'coalesced', lease_until = NULL,"
    " updated_at = ?2 WHERE id = ?1";

/* An item still in_flight when claimed was being delivered by a worker whose
 * lease expired (the process died or hung mid-call): whether the provider
 * applied it is unknown, so the engine must resolve before it resends. */
static const char SQL_CLAIM_UPDATE[] =
    "UPDATE outbox SET state = 'in_flight', lease_until = ?, attempts = attempts + 1,"
    " updated_at = ?,"
    " error_class = CASE WHEN state = 'in_flight' THEN '" STORE_OUTBOX_UNKNOWN_CLASS "'"
    " ELSE error_class END,"
    " last_error = CASE WHEN state = 'in_flight' THEN 'the lease of an attempt expired"
    " (the worker stopped or hung during the call): its outcome is unknown'"
    " ELSE last_error END"
    " WHERE id = ?";

/* Read up to max - *k candidates with sql into v[*k...]. */
static enum ab_rc claim_select(struct store_db *db, const char *sql, struct store_outbox_claim *c,
                               int64_t now, struct store_outbox_item *v, size_t *k)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, sql, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttii", c->tenant, c->provider, now, (int64_t)(c->max - *k));
    if (rc)
        return rc;
    bool row = false;
    while (*k < c->max && !(rc = store_step_row(db, st, &row)) && row) {
        struct store_outbox_item *it = &v[(*k)++];
        it->id = store_col_int(db, st, 0);
        it->tenant = arena_strdup(c->a, c->tenant);
        it->provider = arena_strdup(c->a, c->provider);
        it->entity = store_col_text(db, st, 1, c->a);
        it->action = store_col_text(db, st, 2, c->a);
        it->subject = store_col_text(db, st, 3, c->a);
        it->payload = store_col_text(db, st, 4, c->a);
        it->idempotency_key = store_col_text(db, st, 5, c->a);
        it->coalesce_key = store_col_text(db, st, 6, c->a);
        it->priority = (int)store_col_int(db, st, 7);
        it->attempts = (int)store_col_int(db, st, 8) + 1;
        it->next_attempt_at = store_col_int(db, st, 9);
        it->last_error = store_col_text(db, st, 10, c->a);
        it->correlation_id = store_col_text(db, st, 11, c->a);
        it->created_at = store_col_int(db, st, 12);
        it->updated_at = now;
        it->state = OUTBOX_IN_FLIGHT;
    }
    db->ops->reset(st);
    return rc;
}

/* True (and the row marked done) when a newer row of its coalesce key exists. */
static enum ab_rc coalesce_one(struct store_db *db, const struct store_outbox_claim *c,
                               const struct store_outbox_item *it, int64_t now, bool *superseded)
{
    struct store_stmt *st;
    *superseded = false;
    enum ab_rc rc = store_db_stmt(db, SQL_NEWER, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttti", c->tenant, c->provider, it->coalesce_key, it->id);
    if (!rc)
        rc = store_step_row(db, st, superseded);
    db->ops->reset(st);
    if (rc || !*superseded)
        return rc;
    rc = store_db_stmt(db, SQL_COALESCED, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ii", it->id, now);
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

enum ab_rc store_outbox_claim_job(struct store_tx *tx, void *arg)
{
    struct store_outbox_claim *c = arg;
    struct store_db *db = tx->db;
    struct store_stmt *st;
    int64_t now = clock_now_ms();
    c->items = NULL;
    c->n = 0;
    c->coalesced = 0;
    if (!c->tenant || !c->provider || c->max == 0 || c->max > 1000 || c->lease_ms <= 0)
        return AB_EINVAL;
    c->lease_until = now + c->lease_ms;

    struct store_outbox_item *v = arena_zalloc(c->a, c->max * sizeof(*v));
    size_t k = 0;
    enum ab_rc rc = claim_select(db, SQL_CLAIM_EXPIRED, c, now, v, &k);
    if (!rc && k < c->max)
        rc = claim_select(db, SQL_CLAIM_PENDING, c, now, v, &k);
    if (rc)
        return rc;

    size_t n = 0;
    for (size_t i = 0; i < k && !rc; i++) {
        bool superseded = false;
        if (v[i].coalesce_key)
            rc = coalesce_one(db, c, &v[i], now, &superseded);
        if (rc)
            break;
        if (superseded) {
            c->coalesced++;
            continue;
        }
        rc = store_db_stmt(db, SQL_CLAIM_UPDATE, &st);
        if (!rc)
            rc = store_bind_all(db, st, "iii", c->lease_until, now, v[i].id);
        if (!rc)
            rc = store_step_done(db, st);
        if (!rc)
            v[n++] = v[i];
    }
    if (rc)
        return rc;
    c->items = v;
    c->n = n;
    return AB_OK;
}

enum ab_rc store_outbox_claim(struct store *s, struct store_outbox_claim *c)
{
    return store_write(s, store_outbox_claim_job, c, NULL);
}

/* ---- outcomes --------------------------------------------------------------- */

static const char SQL_EXISTS[] = "SELECT state FROM outbox WHERE tenant = ? AND id = ?";

/* After a fenced UPDATE changed nothing: why. */
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

/* Scrub registered secrets and cut long answers; a malloc'd copy or NULL. */
static char *scrub_response(const char *response)
{
    if (!response)
        return NULL;
    char *s = log_scrub(response);
    size_t n = strlen(s);
    if (n > OUTBOX_RESPONSE_MAX) {
        static const char mark[] = "...[truncated]";
        size_t cut = OUTBOX_RESPONSE_MAX - sizeof(mark) + 1;
        /* do not cut a UTF-8 sequence in half */
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
        memcpy(s + cut, mark, sizeof(mark));
    }
    return s;
}

static const char SQL_COMPLETE[] =
    "UPDATE outbox SET state = 'done', lease_until = NULL, updated_at = ?"
    " WHERE tenant = ? AND id = ? AND state = 'in_flight' AND lease_until = ?";

static const char SQL_COMPLETE_NOTE[] =
    "UPDATE outbox SET state = 'done', lease_until = NULL, updated_at = ?, last_error = ?"
    " WHERE tenant = ? AND id = ? AND state = 'in_flight' AND lease_until = ?";

enum ab_rc store_outbox_complete_note(struct store_tx *tx, const char *tenant, int64_t id,
                                      int64_t lease_until, const char *note)
{
    if (!note)
        return store_outbox_complete(tx, tenant, id, lease_until);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_COMPLETE_NOTE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ittii", clock_now_ms(), note, tenant, id, lease_until);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = fence_failed(tx, tenant, id);
    return rc;
}

enum ab_rc store_outbox_complete(struct store_tx *tx, const char *tenant, int64_t id,
                                 int64_t lease_until)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_COMPLETE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "itii", clock_now_ms(), tenant, id, lease_until);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = fence_failed(tx, tenant, id);
    return rc;
}

static const char SQL_RESCHEDULE[] =
    "UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = ?,"
    " error_class = ?, last_error = ?, last_response = ?, updated_at = ?"
    " WHERE tenant = ? AND id = ? AND state = 'in_flight' AND lease_until = ?";

enum ab_rc store_outbox_reschedule(struct store_tx *tx, const char *tenant, int64_t id,
                                   int64_t lease_until, int64_t next_attempt_at,
                                   const char *error_class, const char *last_error,
                                   const char *response)
{
    struct store_stmt *st;
    char *resp = scrub_response(response);
    char *err = last_error ? log_scrub(last_error) : NULL;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_RESCHEDULE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "itttitii", next_attempt_at, error_class, err, resp,
                            clock_now_ms(), tenant, id, lease_until);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = fence_failed(tx, tenant, id);
    free(resp);
    free(err);
    return rc;
}

static const char SQL_DEAD[] =
    "UPDATE outbox SET state = 'dead', lease_until = NULL, error_class = ?1, last_error = ?2,"
    " last_response = ?3, owner_action = ?4, dead_at = ?5, updated_at = ?5"
    " WHERE tenant = ?6 AND id = ?7 AND state = 'in_flight' AND lease_until = ?8";

enum ab_rc store_outbox_dead_letter(struct store_tx *tx, const char *tenant, int64_t id,
                                    int64_t lease_until, const char *error_class,
                                    const char *last_error, const char *response,
                                    const char *owner_action)
{
    struct store_stmt *st;
    char *resp = scrub_response(response);
    char *err = last_error ? log_scrub(last_error) : NULL;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_DEAD, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttttitii", error_class, err, resp, owner_action,
                            clock_now_ms(), tenant, id, lease_until);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = fence_failed(tx, tenant, id);
    free(resp);
    free(err);
    return rc;
}

/* ---- suppression, replay ------------------------------------------------------ */

/* One audit record for a bulk transition: the filter and the count. */
static enum ab_rc audit_bulk(struct store_tx *tx, const struct store_outbox_filter *f,
                             const char *actor, const char *action, int64_t n)
{
    json_t *d = json_pack("{s:s?, s:s?, s:s?, s:I}", "provider", f->provider, "entity", f->entity,
                          "error_class", f->error_class, "count", (json_int_t)n);
    if (!d)
        return AB_EINTERNAL;
    if (f->from != INT64_MIN)
        json_object_set_new(d, "from", json_integer(f->from));
    if (f->to != INT64_MAX)
        json_object_set_new(d, "to", json_integer(f->to));
    char *detail = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    if (!detail)
        return AB_EINTERNAL;
    struct store_audit au = {0};
    au.tenant = f->tenant;
    au.actor = actor ? actor : "system";
    au.action = action;
    au.subject = f->provider ? f->provider : "outbox";
    au.detail = detail;
    enum ab_rc rc = store_audit_add(tx, &au);
    free(detail);
    return rc;
}

static const char SQL_RELEASE[] =
    "UPDATE outbox SET state = 'pending', next_attempt_at = ?6, updated_at = ?6"
    " WHERE tenant = ?1 AND state = 'suppressed' AND (?2 IS NULL OR provider = ?2)"
    " AND (?3 IS NULL OR entity = ?3) AND created_at >= ?4 AND created_at < ?5";

enum ab_rc store_outbox_release(struct store_tx *tx, const struct store_outbox_filter *f,
                                const char *actor, int64_t *n)
{
    struct store_stmt *st;
    *n = 0;
    if (!f->tenant)
        return AB_EINVAL;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_RELEASE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tttiii", f->tenant, f->provider, f->entity, f->from, f->to,
                            clock_now_ms());
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (rc)
        return rc;
    *n = tx->db->ops->changes(tx->db->conn);
    return audit_bulk(tx, f, actor, "outbox.release", *n);
}

static const char SQL_REPLAY[] =
    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?7, dead_at = NULL,"
    " lease_until = NULL, updated_at = ?7"
    " WHERE tenant = ?1 AND state = 'dead' AND (?2 IS NULL OR provider = ?2)"
    " AND (?3 IS NULL OR entity = ?3) AND (?4 IS NULL OR error_class = ?4)"
    " AND dead_at >= ?5 AND dead_at < ?6";

enum ab_rc store_outbox_replay(struct store_tx *tx, const struct store_outbox_filter *f,
                               const char *actor, int64_t *n)
{
    struct store_stmt *st;
    *n = 0;
    if (!f->tenant)
        return AB_EINVAL;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_REPLAY, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttttiii", f->tenant, f->provider, f->entity,
                            f->error_class, f->from, f->to, clock_now_ms());
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (rc)
        return rc;
    *n = tx->db->ops->changes(tx->db->conn);
    return audit_bulk(tx, f, actor, "outbox.replay", *n);
}

/* ---- reads ---------------------------------------------------------------------- */

#define ROW_COLUMNS                                                                                \
    "id, tenant, provider, entity, action, subject, payload, idempotency_key, coalesce_key,"       \
    " state, priority, attempts, next_attempt_at, last_error, correlation_id, created_at,"         \
    " updated_at, lease_until, error_class, last_response, owner_action, dead_at,"                 \
    " result_native_id"

static enum store_outbox_state state_from_name(const char *s)
{
    for (int i = OUTBOX_PENDING; i <= OUTBOX_REFUSED; i++)
        if (s && strcmp(s, store_outbox_state_name((enum store_outbox_state)i)) == 0)
            return (enum store_outbox_state)i;
    return OUTBOX_DEAD; /* unknown states are shown as needing a person */
}

static void read_row(struct store_db *db, struct store_stmt *st, struct arena *a,
                     struct store_outbox_row *o)
{
    memset(o, 0, sizeof(*o));
    struct store_outbox_item *it = &o->item;
    it->id = store_col_int(db, st, 0);
    it->tenant = store_col_text(db, st, 1, a);
    it->provider = store_col_text(db, st, 2, a);
    it->entity = store_col_text(db, st, 3, a);
    it->action = store_col_text(db, st, 4, a);
    it->subject = store_col_text(db, st, 5, a);
    it->payload = store_col_text(db, st, 6, a);
    it->idempotency_key = store_col_text(db, st, 7, a);
    it->coalesce_key = store_col_text(db, st, 8, a);
    it->state = state_from_name(store_col_text(db, st, 9, a));
    it->priority = (int)store_col_int(db, st, 10);
    it->attempts = (int)store_col_int(db, st, 11);
    it->next_attempt_at = store_col_int(db, st, 12);
    it->last_error = store_col_text(db, st, 13, a);
    it->correlation_id = store_col_text(db, st, 14, a);
    it->created_at = store_col_int(db, st, 15);
    it->updated_at = store_col_int(db, st, 16);
    o->lease_until = store_col_time(db, st, 17);
    o->error_class = store_col_text(db, st, 18, a);
    o->last_response = store_col_text(db, st, 19, a);
    o->owner_action = store_col_text(db, st, 20, a);
    o->dead_at = store_col_time(db, st, 21);
    o->result_native_id = store_col_text(db, st, 22, a);
}

static const char SQL_GET[] = "SELECT " ROW_COLUMNS " FROM outbox WHERE tenant = ? AND id = ?";

/* The one row the bound statement st selects (AB_ENOTFOUND: none); st is
 * reset. rc is the preparing and binding's result. */
static enum ab_rc one_row(struct store_db *db, struct store_stmt *st, enum ab_rc rc,
                          struct arena *a, struct store_outbox_row *out)
{
    bool row = false;
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && !row)
        rc = AB_ENOTFOUND;
    if (!rc)
        read_row(db, st, a, out);
    db->ops->reset(st);
    return rc;
}

enum ab_rc store_outbox_get(struct store_read *r, const char *tenant, int64_t id, struct arena *a,
                            struct store_outbox_row *out)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_GET, &st);
    if (rc)
        return rc;
    return one_row(db, st, store_bind_all(db, st, "ti", tenant, id), a, out);
}

static const char SQL_GET_BY_KEY[] =
    "SELECT " ROW_COLUMNS " FROM outbox WHERE tenant = ? AND idempotency_key = ?";

enum ab_rc store_outbox_get_by_key(struct store_read *r, const char *tenant, const char *key,
                                   struct arena *a, struct store_outbox_row *out)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_GET_BY_KEY, &st);
    if (rc)
        return rc;
    return one_row(db, st, store_bind_all(db, st, "tt", tenant, key), a, out);
}

static const char SQL_SET_RESULT[] =
    "UPDATE outbox SET result_native_id = ? WHERE tenant = ? AND id = ?";

enum ab_rc store_outbox_set_result(struct store_tx *tx, const char *tenant, int64_t id,
                                   const char *native_id)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_SET_RESULT, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tti", native_id, tenant, id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

static const char SQL_DEAD_LIST[] =
    "SELECT " ROW_COLUMNS " FROM outbox WHERE tenant = ?1 AND state = 'dead'"
    " AND (?2 IS NULL OR provider = ?2) AND (?3 IS NULL OR entity = ?3)"
    " AND (?4 IS NULL OR error_class = ?4) AND dead_at >= ?5 AND dead_at < ?6 AND id > ?7"
    " ORDER BY id LIMIT ?8";

enum ab_rc store_outbox_dead_list(struct store_read *r, const struct store_outbox_filter *f,
                                  int64_t after_id, size_t limit, struct arena *a,
                                  struct store_outbox_row **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_DEAD_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttttiiii", f->tenant, f->provider, f->entity, f->error_class,
                            f->from, f->to, after_id, (int64_t)limit);
    if (rc)
        return rc;
    struct store_outbox_row *v = arena_zalloc(a, (limit ? limit : 1) * sizeof(*v));
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

/* ---- usage acknowledgements ------------------------------------------------------- */

static const char SQL_ACK_GET[] =
    "SELECT total, acked_at FROM usage_acks WHERE tenant = ? AND provider = ? AND meter_key = ?";

static enum ab_rc ack_get(struct store_db *db, const char *tenant, const char *provider,
                          const char *meter_key, double *total, int64_t *acked_at, bool *found)
{
    struct store_stmt *st;
    bool row = false;
    *total = 0;
    *found = false;
    if (acked_at)
        *acked_at = INT64_MIN;
    enum ab_rc rc = store_db_stmt(db, SQL_ACK_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, provider, meter_key);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row) {
        *found = true;
        *total = store_col_real(db, st, 0);
        if (acked_at)
            *acked_at = store_col_int(db, st, 1);
    }
    db->ops->reset(st);
    return rc;
}

enum ab_rc store_usage_ack_get(struct store_tx *tx, const char *tenant, const char *provider,
                               const char *meter_key, double *total, int64_t *acked_at, bool *found)
{
    return ack_get(tx->db, tenant, provider, meter_key, total, acked_at, found);
}

enum ab_rc store_usage_ack_get_read(struct store_read *r, const char *tenant, const char *provider,
                                    const char *meter_key, double *total, int64_t *acked_at,
                                    bool *found)
{
    return ack_get(store_read_db(r), tenant, provider, meter_key, total, acked_at, found);
}

static const char SQL_ACK_PUT[] =
    "INSERT INTO usage_acks(tenant, provider, meter_key, total, acked_at) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (tenant, provider, meter_key) DO UPDATE SET total = excluded.total,"
    " acked_at = excluded.acked_at";

enum ab_rc store_usage_ack_put(struct store_tx *tx, const char *tenant, const char *provider,
                               const char *meter_key, double total)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_ACK_PUT, &st);
    if (!rc)
        rc =
            store_bind_all(tx->db, st, "tttri", tenant, provider, meter_key, total, clock_now_ms());
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}
