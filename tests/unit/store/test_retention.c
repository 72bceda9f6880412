/* SPDX-License-Identifier: Apache-2.0
 *
 * test_retention.c: unit tests for src/store/retention.c against a real
 * SQLite store: store_prune deletes readings, events, done outbox rows,
 * idempotency keys and sync log lines past their retention, in batches of
 * at most STORE_PRUNE_BATCH, keeps recent rows and everything it must never
 * prune (audit, pending outbox rows), finds old readings whatever order they
 * arrived in, lets other writers commit between its batches, and the
 * background thread starts and stops cleanly. Old rows are written under a
 * frozen fake clock (core/clock.h), so nothing depends on the real time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/readings.h"
#include "store/retention.h"
#include "store_test.h"

#define DAY INT64_C(86400000)
#define T_OLD INT64_C(1700000000000)
#define T_NEW (T_OLD + 30 * DAY)

/* n readings (increments of 1) on A1's meter `type`, read at t, t+1, ...,
 * in batches of up to 1000; keys "<prefix>-<i>" when prefix is set. */
static void readings(struct test_db *t, const char *type, int n, int64_t at, const char *prefix)
{
    enum { B = 1000 };
    static struct model_reading r[B];
    static struct store_reading_result res[B];
    static char keys[B][32];
    for (int done = 0; done < n;) {
        int k = n - done < B ? n - done : B;
        for (int i = 0; i < k; i++) {
            memset(&r[i], 0, sizeof(r[i]));
            r[i].asset_ref = "A1";
            r[i].meter_type = type;
            r[i].amount = 1;
            r[i].mode = MODEL_READING_INCREMENT;
            r[i].read_at = at + done + i;
            r[i].source = MODEL_SOURCE_PLC;
            if (prefix) {
                snprintf(keys[i], sizeof(keys[i]), "%s-%d", prefix, done + i);
                r[i].idempotency_key = keys[i];
            }
        }
        assert_int_equal(store_readings_append(t->s, "t1", r, (size_t)k, NULL, res, NULL), AB_OK);
        for (int i = 0; i < k; i++)
            assert_int_equal(res[i].status, STORE_READING_ACCEPTED);
        done += k;
    }
}

/* An event, a done and a pending outbox row, and a sync log line. */
struct misc_job {
    const char *tag;
};

static enum ab_rc misc_job(struct store_tx *tx, void *arg)
{
    struct misc_job *m = arg;
    json_t *p = json_pack("{s:s}", "tag", m->tag);
    enum ab_rc rc = store_event_append(tx, "t1", "test.event", m->tag, p, NULL);
    json_decref(p);
    for (int i = 0; i < 2 && !rc; i++) {
        char key[64];
        snprintf(key, sizeof(key), "%s-%s", m->tag, i ? "pending" : "done");
        struct store_outbox_item it = {0};
        it.tenant = "t1";
        it.provider = "wats";
        it.entity = "asset";
        it.action = "upsert";
        it.payload = "{}";
        it.idempotency_key = key;
        it.state = i ? OUTBOX_PENDING : OUTBOX_DONE;
        rc = store_outbox_add(tx, &it, NULL);
    }
    if (!rc)
        rc = store_sync_log_add(tx, "t1", "wats", "asset", "n1", "info", m->tag);
    if (!rc) {
        struct store_audit au = {0};
        au.tenant = "t1";
        au.actor = "tester";
        au.action = "test.audit";
        au.subject = m->tag;
        rc = store_audit_add(tx, &au);
    }
    return rc;
}

static void misc(struct test_db *t, const char *tag)
{
    struct misc_job m = {tag};
    assert_int_equal(store_write(t->s, misc_job, &m, NULL), AB_OK);
}

static struct config_retention five_days(void)
{
    struct config_retention r;
    r.readings_ms = 5 * DAY;
    r.events_ms = 5 * DAY;
    r.outbox_done_ms = 5 * DAY;
    r.idempotency_keys_ms = 5 * DAY;
    r.logs_ms = 5 * DAY;
    return r;
}

static void open_with_asset(struct test_db *t)
{
    test_db_open(t);
    struct model_asset a = test_asset("A1", NULL);
    assert_int_equal(test_put(t->s, &a, 0, NULL), AB_OK);
}

static void test_prune_deletes_old_keeps_recent(void **state)
{
    (void)state;
    struct test_db t;
    clock_set_fake(T_OLD, true);
    open_with_asset(&t);
    readings(&t, "cycles", 2500, T_OLD, "old");
    for (int i = 0; i < 3; i++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "old%d", i);
        misc(&t, tag);
    }
    clock_set_fake(T_NEW, true);
    readings(&t, "cycles", 10, T_NEW, "new");
    misc(&t, "new");
    int64_t events = test_count(&t, "SELECT COUNT(*) FROM events");
    int64_t old_events =
        test_count(&t, "SELECT COUNT(*) FROM events WHERE occurred_at < %lld", (long long)T_NEW);
    assert_true(old_events >= 4); /* asset.created, meter.reading, test.event ... */

    struct config_retention keep = five_days();
    struct store_prune_stats st;
    assert_int_equal(store_prune(t.s, &keep, T_NEW, &st), AB_OK);
    assert_int_equal(st.readings, 2500);
    assert_int_equal(st.idempotency_keys, 2500);
    assert_int_equal(st.events, old_events);
    assert_int_equal(st.outbox_done, 3);
    assert_int_equal(st.sync_log, 3);
    /* 2500 readings and keys take three batches each, plus the empty
     * batch that ends each kind */
    assert_true(st.batches >= 3 + 3 + 3);

    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 10);
    assert_int_equal(
        test_count(&t, "SELECT COUNT(*) FROM readings WHERE read_at < %lld", (long long)T_NEW), 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM idempotency_keys"), 10);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events"), events - old_events);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE subject = 'new'"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM outbox WHERE state = 'done'"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"), 4);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM sync_log"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE action = 'test.audit'"), 4);
    /* the meter is not a prunable row */
    assert_int_equal(test_count(&t, "SELECT value FROM meters"), 2510);

    /* nothing left: a second pass deletes nothing */
    assert_int_equal(store_prune(t.s, &keep, T_NEW, &st), AB_OK);
    assert_int_equal(st.readings + st.events + st.outbox_done + st.idempotency_keys + st.sync_log,
                     0);
    /* a retention of 0 disables that kind */
    keep = (struct config_retention){0};
    assert_int_equal(store_prune(t.s, &keep, T_NEW + 400 * DAY, &st), AB_OK);
    assert_int_equal(st.batches, 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 10);
    test_db_close(&t);
    clock_set_real();
}

static void test_prune_finds_old_readings_ingested_late(void **state)
{
    (void)state;
    struct test_db t;
    clock_set_fake(T_NEW, true);
    open_with_asset(&t);
    /* recent readings first (lowest ids), then a backfill of old ones */
    readings(&t, "cycles", 1500, T_NEW, NULL);
    readings(&t, "run_hours", 1200, T_OLD, NULL);
    struct config_retention keep = {0};
    keep.readings_ms = 5 * DAY;
    struct store_prune_stats st;
    assert_int_equal(store_prune(t.s, &keep, T_NEW, &st), AB_OK);
    assert_int_equal(st.readings, 1200);
    assert_true(st.batches >= 2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 1500);
    assert_int_equal(
        test_count(&t, "SELECT COUNT(*) FROM readings WHERE read_at < %lld", (long long)T_NEW), 0);
    test_db_close(&t);
    clock_set_real();
}

struct pruner {
    struct test_db *t;
    struct config_retention keep;
    struct store_prune_stats st;
    enum ab_rc rc;
    atomic_bool started, done;
};

static void *pruner_main(void *p)
{
    struct pruner *x = p;
    atomic_store(&x->started, true);
    x->rc = store_prune(x->t->s, &x->keep, T_NEW, &x->st);
    atomic_store(&x->done, true);
    return NULL;
}

static void test_prune_does_not_block_writers(void **state)
{
    (void)state;
    struct test_db t;
    clock_set_fake(T_OLD, true);
    open_with_asset(&t);
    enum { OLD = 20000 };
    readings(&t, "cycles", OLD, T_OLD, NULL);
    clock_set_fake(T_NEW, true);

    struct pruner x;
    memset(&x, 0, sizeof(x));
    x.t = &t;
    x.keep.readings_ms = 5 * DAY;
    atomic_init(&x.started, false);
    atomic_init(&x.done, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pruner_main, &x), 0);
    while (!atomic_load(&x.started))
        ; /* spin until the pruner runs (no timing involved) */

    /* append until the prune has returned; count the appends that were
     * acknowledged (durable) while it was still running */
    int during = 0, total = 0;
    while (!atomic_load(&x.done)) {
        struct model_reading r;
        memset(&r, 0, sizeof(r));
        r.asset_ref = "A1";
        r.meter_type = "run_hours";
        r.amount = 1;
        r.mode = MODEL_READING_INCREMENT;
        r.read_at = T_NEW + total;
        struct store_reading_result res;
        assert_int_equal(store_readings_append(t.s, "t1", &r, 1, NULL, &res, NULL), AB_OK);
        assert_int_equal(res.status, STORE_READING_ACCEPTED);
        total++;
        if (!atomic_load(&x.done))
            during++;
    }
    pthread_join(th, NULL);
    assert_int_equal(x.rc, AB_OK);
    assert_int_equal(x.st.readings, OLD);
    assert_true(x.st.batches >= OLD / STORE_PRUNE_BATCH);
    assert_true(during >= 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), total);
    assert_int_equal(test_count(&t, "SELECT reading_count FROM meters WHERE type = 'run_hours'"),
                     total);
    test_db_close(&t);
    clock_set_real();
}

static void test_retention_thread_starts_and_stops(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    struct config_retention keep = five_days();
    struct store_retention *rt = NULL;
    assert_int_equal(store_retention_start(t.s, &keep, 3600000, &rt), AB_OK);
    assert_non_null(rt);
    /* the store stays usable while the thread waits */
    misc(&t, "while-running");
    store_retention_stop(rt); /* returns at once: the wait is interrupted */
    assert_int_equal(store_retention_start(t.s, &keep, 0, &rt), AB_OK);
    store_retention_stop(rt);
    store_retention_stop(NULL);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE subject = 'while-running'"),
                     1);
    test_db_close(&t);
}

int main(void)
{
    log_configure(LOG_ERROR, LOG_FORMAT_JSON, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_deletes_old_keeps_recent),
        cmocka_unit_test(test_prune_finds_old_readings_ingested_late),
        cmocka_unit_test(test_prune_does_not_block_writers),
        cmocka_unit_test(test_retention_thread_starts_and_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
