/* SPDX-License-Identifier: Apache-2.0
 *
 * retention.c: batched pruning. See retention.h.
 */
#include "store/retention.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store_int.h"

struct prune_kind {
    const char *name;
    const char *sql; /* deletes at most one batch older than ?1; ?2 is the batch size */
};

/* Readings past retention are found per meter through readings_meter_time
 * (meter_id, read_at), whatever order they arrived in: a backfill of old
 * readings ingested after recent ones is pruned too. (Scanning only the
 * first batch of ids stopped as soon as those rows were all recent, leaving
 * every older row behind them.) CROSS JOIN keeps SQLite's loop order: the
 * small meters table outside, an index range inside. */
static const char SQL_PRUNE_READINGS[] =
    "DELETE FROM readings WHERE id IN (SELECT r.id FROM meters m CROSS JOIN readings r"
    " WHERE r.meter_id = m.id AND r.read_at < ?1 LIMIT ?2)";
static const char SQL_PRUNE_EVENTS[] = "DELETE FROM events WHERE (tenant, seq) IN (SELECT tenant, "
                                       "seq FROM events WHERE occurred_at < ?1"
                                       " ORDER BY occurred_at LIMIT ?2)";
static const char SQL_PRUNE_OUTBOX[] =
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state = 'done' AND updated_at < ?1"
    " ORDER BY updated_at LIMIT ?2)";
static const char SQL_PRUNE_KEYS[] = "DELETE FROM idempotency_keys WHERE id IN (SELECT id FROM "
                                     "idempotency_keys WHERE created_at < ?1"
                                     " ORDER BY id LIMIT ?2)";
static const char SQL_PRUNE_SYNC_LOG[] =
    "DELETE FROM sync_log WHERE id IN (SELECT id FROM sync_log WHERE at < ?1 ORDER BY id LIMIT ?2)";

struct prune_job {
    const char *sql;
    int64_t cutoff;
    int64_t deleted;
};

static enum ab_rc prune_job(struct store_tx *tx, void *arg)
{
    struct prune_job *j = arg;
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, j->sql, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ii", j->cutoff, (int64_t)STORE_PRUNE_BATCH);
    if (!rc)
        rc = store_step_done(tx->db, st);
    j->deleted = rc ? 0 : tx->db->ops->changes(tx->db->conn);
    return rc;
}

enum ab_rc store_prune(struct store *s, const struct config_retention *r, int64_t now,
                       struct store_prune_stats *out)
{
    struct {
        const char *sql;
        int64_t keep_ms;
        int64_t *count;
    } kinds[] = {
        {SQL_PRUNE_READINGS, r->readings_ms, &out->readings},
        {SQL_PRUNE_EVENTS, r->events_ms, &out->events},
        {SQL_PRUNE_OUTBOX, r->outbox_done_ms, &out->outbox_done},
        {SQL_PRUNE_KEYS, r->idempotency_keys_ms, &out->idempotency_keys},
        {SQL_PRUNE_SYNC_LOG, r->logs_ms, &out->sync_log},
    };
    *out = (struct store_prune_stats){0};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (kinds[k].keep_ms <= 0)
            continue;
        struct prune_job j = {kinds[k].sql, now - kinds[k].keep_ms, 0};
        do {
            enum ab_rc rc = store_write(s, prune_job, &j, NULL);
            if (rc)
                return rc;
            *kinds[k].count += j.deleted;
            out->batches++;
        } while (j.deleted > 0);
    }
    return AB_OK;
}

struct store_retention {
    struct store *store;
    struct config_retention cfg;
    int64_t interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stop;
};

static void *retention_main(void *arg)
{
    struct store_retention *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        struct timespec ts = clock_deadline_in(t->interval_ms);
        pthread_cond_timedwait(&t->cond, &t->lock, &ts);
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->lock);
        struct store_prune_stats st;
        enum ab_rc rc = store_prune(t->store, &t->cfg, clock_now_ms(), &st);
        if (rc)
            log_warn(NULL, "retention pass failed", LOG_STR("error", ab_rc_name(rc)));
        else if (st.readings + st.events + st.outbox_done + st.idempotency_keys + st.sync_log)
            log_info(NULL, "retention pass", LOG_INT("readings", st.readings),
                     LOG_INT("events", st.events), LOG_INT("outbox_done", st.outbox_done),
                     LOG_INT("idempotency_keys", st.idempotency_keys),
                     LOG_INT("sync_log", st.sync_log), LOG_INT("batches", st.batches));
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

enum ab_rc store_retention_start(struct store *s, const struct config_retention *r,
                                 int64_t interval_ms, struct store_retention **out)
{
    struct store_retention *t = xcalloc(1, sizeof(*t));
    t->store = s;
    t->cfg = *r;
    t->interval_ms = interval_ms > 0 ? interval_ms : 3600000;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    if (pthread_create(&t->thread, NULL, retention_main, t) != 0) {
        pthread_mutex_destroy(&t->lock);
        pthread_cond_destroy(&t->cond);
        free(t);
        return AB_EINTERNAL;
    }
    *out = t;
    return AB_OK;
}

void store_retention_stop(struct store_retention *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    free(t);
}
