/* SPDX-License-Identifier: Apache-2.0
 *
 * events.c: the event log and tenant rows. See events.h. Each appended event
 * is offered to the webhook fan-out (webhooks_int.h) in the same job.
 */
#include "store/events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "store/events_int.h"
#include "store/store_int.h"
#include "store/webhooks_int.h"

static const char SQL_TENANT_ENSURE[] =
    "INSERT INTO tenants(tenant, next_event_seq, created_at) VALUES (?, 1, ?)"
    " ON CONFLICT (tenant) DO NOTHING";

enum ab_rc store_tenant_ensure(struct store_tx *tx, const char *tenant)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_TENANT_ENSURE, &st);
    if (!rc)
        rc = store_bind_text(tx->db, st, 1, tenant);
    if (!rc)
        rc = store_bind_int(tx->db, st, 2, clock_now_ms());
    if (!rc)
        rc = store_step_done(tx->db, st);
    return rc;
}

static const char SQL_NEXT_SEQ[] =
    "UPDATE tenants SET next_event_seq = next_event_seq + 1 WHERE tenant = ?"
    " RETURNING next_event_seq - 1";
static const char SQL_EVENT_INSERT[] =
    "INSERT INTO events(tenant, seq, type, subject, payload, correlation_id, occurred_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)";

enum ab_rc store_event_append(struct store_tx *tx, const char *tenant, const char *type,
                              const char *subject, const json_t *payload, int64_t *seq)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_tenant_ensure(tx, tenant);
    if (!rc)
        rc = store_db_stmt(db, SQL_NEXT_SEQ, &st);
    if (!rc)
        rc = store_bind_text(db, st, 1, tenant);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    if (!row)
        return AB_EINTERNAL;
    int64_t s = store_col_int(db, st, 0);
    rc = store_step_done(db, st);
    if (rc)
        return rc;
    char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return AB_EINTERNAL;
    int64_t now = clock_now_ms();
    rc = store_db_stmt(db, SQL_EVENT_INSERT, &st);
    if (!rc)
        rc = store_bind_text(db, st, 1, tenant);
    if (!rc)
        rc = store_bind_int(db, st, 2, s);
    if (!rc)
        rc = store_bind_text(db, st, 3, type);
    if (!rc)
        rc = store_bind_text(db, st, 4, subject);
    if (!rc)
        rc = store_bind_text(db, st, 5, text);
    if (!rc)
        rc = store_bind_text(db, st, 6, tx->correlation_id);
    if (!rc)
        rc = store_bind_int(db, st, 7, now);
    if (!rc)
        rc = store_step_done(db, st);
    free(text);
    if (!rc)
        rc = store_webhook_fanout(tx, tenant, s, type, subject, payload, now);
    if (!rc && seq)
        *seq = s;
    return rc;
}

static const char SQL_EVENTS_LIST[] =
    "SELECT seq, type, subject, payload, correlation_id, occurred_at FROM events"
    " WHERE tenant = ? AND seq > ? ORDER BY seq LIMIT ?";

enum ab_rc store_events_list(struct store_read *r, const char *tenant, int64_t after, size_t limit,
                             struct arena *a, struct store_event **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_EVENTS_LIST, &st);
    if (!rc)
        rc = store_bind_text(db, st, 1, tenant);
    if (!rc)
        rc = store_bind_int(db, st, 2, after);
    if (!rc)
        rc = store_bind_int(db, st, 3, (int64_t)limit);
    if (rc)
        return rc;
    struct store_event *v = arena_alloc(a, (limit ? limit : 1) * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (!(rc = store_step_row(db, st, &row)) && row && k < limit) {
        v[k].seq = store_col_int(db, st, 0);
        v[k].type = store_col_text(db, st, 1, a);
        v[k].subject = store_col_text(db, st, 2, a);
        v[k].payload = store_col_text(db, st, 3, a);
        v[k].correlation_id = store_col_text(db, st, 4, a);
        v[k].occurred_at = store_col_int(db, st, 5);
        k++;
    }
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

static const char SQL_LAST_SEQ[] = "SELECT next_event_seq - 1 FROM tenants WHERE tenant = ?";

enum ab_rc store_events_last_seq(struct store_read *r, const char *tenant, int64_t *seq)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_LAST_SEQ, &st);
    if (!rc)
        rc = store_bind_text(db, st, 1, tenant);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    *seq = row ? store_col_int(db, st, 0) : 0;
    return AB_OK;
}

/* ---- commit notification ------------------------------------------------------ */

void store_events_notify_init(struct store_events_notify *n)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->cv, &attr);
    pthread_condattr_destroy(&attr);
    n->gen = 0;
}

void store_events_notify_cleanup(struct store_events_notify *n)
{
    pthread_cond_destroy(&n->cv);
    pthread_mutex_destroy(&n->lock);
}

void store_events_notify_commit(struct store_events_notify *n)
{
    pthread_mutex_lock(&n->lock);
    n->gen++;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->lock);
}

uint64_t store_events_gen(struct store *s)
{
    struct store_events_notify *n = store_events_notify_of(s);
    pthread_mutex_lock(&n->lock);
    uint64_t g = n->gen;
    pthread_mutex_unlock(&n->lock);
    return g;
}

enum ab_rc store_events_wait(struct store *s, uint64_t seen_gen, int64_t timeout_ms, uint64_t *gen)
{
    struct store_events_notify *n = store_events_notify_of(s);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    if (timeout_ms > 0) {
        deadline.tv_sec += (time_t)(timeout_ms / 1000);
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&n->lock);
    int err = 0;
    while (n->gen == seen_gen && timeout_ms > 0 && err != ETIMEDOUT)
        err = pthread_cond_timedwait(&n->cv, &n->lock, &deadline);
    uint64_t now = n->gen;
    pthread_mutex_unlock(&n->lock);
    if (now == seen_gen)
        return AB_ETIMEOUT;
    if (gen)
        *gen = now;
    return AB_OK;
}

void store_events_wake_all(struct store *s)
{
    store_events_notify_commit(store_events_notify_of(s));
}
