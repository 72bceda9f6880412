/* SPDX-License-Identifier: Apache-2.0
 *
 * test_readings.c: unit tests for src/store/readings.c (store_readings_append,
 * store_meters_list, store_readings_list) against a real SQLite store:
 * increments and values, meters created from their type, rejections and the
 * field they name, asset resolution (asset_ref, serial, provider:native_id,
 * ambiguous serials), idempotency keys within and across batches and across
 * a restart, counters going backwards under both policies, late readings,
 * gauges, one meter.reading event per meter per commit (batched and under
 * concurrent writers), paging, and a crash in the middle of a batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crash.h"
#include "core/log.h"
#include "model/meter.h"
#include "store/readings.h"
#include "store_test.h"

#define T0 INT64_C(1700000000000)

static struct model_reading rd(const char *ref, const char *type, double amount,
                               enum model_reading_mode mode, int64_t at, const char *key)
{
    struct model_reading r;
    memset(&r, 0, sizeof(r));
    r.asset_ref = ref;
    r.meter_type = type;
    r.amount = amount;
    r.mode = (uint8_t)mode;
    r.read_at = at;
    r.idempotency_key = key;
    r.source = MODEL_SOURCE_TESTER;
    return r;
}

static enum ab_rc append(struct test_db *t, const struct model_reading *r, size_t n,
                         enum store_backwards_policy backwards, struct store_reading_result *res)
{
    struct store_readings_policy p = {.backwards = backwards};
    return store_readings_append(t->s, "t1", r, n, &p, res, NULL);
}

/* One reading, default (reject) policy; asserts the batch was processed. */
static struct store_reading_result append1(struct test_db *t, struct model_reading r)
{
    struct store_reading_result res;
    assert_int_equal(append(t, &r, 1, STORE_BACKWARDS_REJECT, &res), AB_OK);
    return res;
}

/* The meter (asset_ref, type); false when the asset has no such meter. */
static bool meter_get(struct test_db *t, const char *asset_ref, const char *type, struct arena *a,
                      struct store_meter_row *out)
{
    struct store_read *r;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    struct store_meter_row *v;
    size_t n;
    assert_int_equal(store_meters_list(r, "t1", asset_ref, a, &v, &n), AB_OK);
    store_read_end(r);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].meter_type, type) == 0) {
            *out = v[i];
            return true;
        }
    }
    return false;
}

static void open_with_asset(struct test_db *t)
{
    test_db_open(t);
    struct model_asset a = test_asset("A1", "SN-1");
    assert_int_equal(test_put(t->s, &a, 0, NULL), AB_OK);
}

static void test_increment_adds_value_sets(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    struct arena *a = arena_new(0, 0);
    struct store_meter_row m;
    assert_false(meter_get(&t, "A1", "cycles", a, &m));

    struct store_reading_result res =
        append1(&t, rd("A1", "cycles", 5, MODEL_READING_INCREMENT, T0, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_string_equal(res.asset_ref, "A1");
    assert_true(res.reading_id > 0);
    assert_true(res.total == 5);
    res = append1(&t, rd("A1", "cycles", 3, MODEL_READING_INCREMENT, T0 + 1000, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_true(res.total == 8);
    res = append1(&t, rd("A1", "cycles", 20, MODEL_READING_VALUE, T0 + 2000, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_true(res.total == 20);
    assert_int_equal(res.flags, 0);

    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == 20);
    assert_int_equal(m.reading_count, 3);
    assert_int_equal(m.last_read_at, T0 + 2000);
    assert_string_equal(m.kind, "counter");
    assert_string_equal(m.last_source, "tester");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 3);

    /* a known type the asset does not have yet: the meter is created from it */
    res = append1(&t, rd("A1", "run_hours", 1.5, MODEL_READING_INCREMENT, T0, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_true(meter_get(&t, "A1", "run_hours", a, &m));
    assert_string_equal(m.unit, "h");
    assert_string_equal(m.kind, "counter");
    assert_true(m.value == 1.5);
    assert_int_equal(m.reading_count, 1);
    arena_free(a);
    test_db_close(&t);
}

static void test_rejections_name_field_and_store_nothing(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    struct store_reading_result res =
        append1(&t, rd("A1", "no_such_meter", 1, MODEL_READING_INCREMENT, T0, "k-bad"));
    assert_int_equal(res.status, STORE_READING_REJECTED);
    assert_int_equal(res.rc, AB_EINVAL);
    assert_string_equal(res.field, "meter");
    assert_non_null(strstr(res.message, "no_such_meter"));

    res = append1(&t, rd("NOPE", "cycles", 1, MODEL_READING_INCREMENT, T0, "k-bad"));
    assert_int_equal(res.status, STORE_READING_REJECTED);
    assert_int_equal(res.rc, AB_EIDENTITY);
    assert_string_equal(res.field, "asset_ref");
    assert_non_null(strstr(res.message, "NOPE"));

    res = append1(&t, rd("sap_pm:404", "cycles", 1, MODEL_READING_INCREMENT, T0, NULL));
    assert_int_equal(res.rc, AB_EIDENTITY);

    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM meters"), 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM idempotency_keys"), 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type = 'meter.reading'"), 0);

    /* the key of a rejected reading is not burned */
    res = append1(&t, rd("A1", "cycles", 4, MODEL_READING_INCREMENT, T0, "k-bad"));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_true(res.total == 4);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM idempotency_keys"), 1);
    test_db_close(&t);
}

static void test_resolution_by_serial_link_and_ambiguity(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    struct store_reading_result res =
        append1(&t, rd("SN-1", "cycles", 1, MODEL_READING_INCREMENT, T0, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_string_equal(res.asset_ref, "A1");

    assert_int_equal(test_link(t.s, "sap_pm", "10001", "A1"), AB_OK);
    res = append1(&t, rd("sap_pm:10001", "cycles", 1, MODEL_READING_INCREMENT, T0 + 1, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_string_equal(res.asset_ref, "A1");
    assert_true(res.total == 2);

    struct model_asset b = test_asset("B-2", "SN-X"), c = test_asset("C-3", "SN-X");
    assert_int_equal(test_put(t.s, &b, 0, NULL), AB_OK);
    assert_int_equal(test_put(t.s, &c, STORE_PUT_SHARED_SERIAL, NULL), AB_OK);
    res = append1(&t, rd("SN-X", "cycles", 1, MODEL_READING_INCREMENT, T0, NULL));
    assert_int_equal(res.status, STORE_READING_REJECTED);
    assert_int_equal(res.rc, AB_EIDENTITY);
    assert_string_equal(res.field, "asset_ref");
    assert_non_null(strstr(res.message, "B-2"));
    assert_non_null(strstr(res.message, "C-3"));
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM meters WHERE asset_ref <> 'A1'"), 0);
    test_db_close(&t);
}

static void test_idempotency_keys(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    struct model_reading batch[3] = {
        rd("A1", "cycles", 5, MODEL_READING_INCREMENT, T0, "k1"),
        rd("A1", "cycles", 5, MODEL_READING_INCREMENT, T0 + 1, "k1"),
        rd("A1", "cycles", 2, MODEL_READING_INCREMENT, T0 + 2, "k2"),
    };
    struct store_reading_result res[3];
    assert_int_equal(append(&t, batch, 3, STORE_BACKWARDS_REJECT, res), AB_OK);
    assert_int_equal(res[0].status, STORE_READING_ACCEPTED);
    int64_t id = res[0].reading_id;
    assert_true(res[0].total == 5);
    assert_int_equal(res[1].status, STORE_READING_DUPLICATE);
    assert_int_equal(res[1].rc, AB_OK);
    assert_int_equal(res[1].reading_id, id);
    assert_true(res[1].total == 5);
    assert_string_equal(res[1].asset_ref, "A1");
    assert_int_equal(res[2].status, STORE_READING_ACCEPTED);
    assert_true(res[2].total == 7);

    /* across batches: the original outcome, nothing stored */
    struct store_reading_result again = append1(&t, batch[0]);
    assert_int_equal(again.status, STORE_READING_DUPLICATE);
    assert_int_equal(again.reading_id, id);
    assert_true(again.total == 5);

    struct arena *a = arena_new(0, 0);
    struct store_meter_row m;
    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == 7);
    assert_int_equal(m.reading_count, 2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 2);

    /* and after a restart */
    store_close(t.s);
    char err[256];
    assert_int_equal(store_open(&t.cfg, &t.s, err, sizeof(err)), AB_OK);
    again = append1(&t, batch[1]);
    assert_int_equal(again.status, STORE_READING_DUPLICATE);
    assert_int_equal(again.reading_id, id);
    assert_true(again.total == 5);
    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == 7);
    assert_int_equal(m.reading_count, 2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 2);
    arena_free(a);
    test_db_close(&t);
}

static void test_counter_backwards_policies(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    struct arena *a = arena_new(0, 0);
    struct store_meter_row m;
    struct store_reading_result res =
        append1(&t, rd("A1", "cycles", 100, MODEL_READING_VALUE, T0, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);

    struct model_reading down = rd("A1", "cycles", 40, MODEL_READING_VALUE, T0 + 1000, "kd");
    assert_int_equal(append(&t, &down, 1, STORE_BACKWARDS_REJECT, &res), AB_OK);
    assert_int_equal(res.status, STORE_READING_REJECTED);
    assert_int_equal(res.rc, AB_ECONFLICT);
    assert_string_equal(res.field, "value");
    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == 100);
    assert_int_equal(m.last_read_at, T0);
    assert_int_equal(m.reading_count, 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 1);

    assert_int_equal(append(&t, &down, 1, STORE_BACKWARDS_RESET, &res), AB_OK);
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_int_equal(res.flags, STORE_READING_RESET);
    assert_true(res.total == 40);
    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == 40);
    assert_int_equal(m.reading_count, 2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings WHERE flags = 1"), 1);

    /* counting goes on from the reset */
    res = append1(&t, rd("A1", "cycles", 5, MODEL_READING_INCREMENT, T0 + 2000, NULL));
    assert_true(res.total == 45);
    assert_int_equal(res.flags, 0);
    arena_free(a);
    test_db_close(&t);
}

static void test_late_readings(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    struct arena *a = arena_new(0, 0);
    struct store_meter_row m;
    assert_int_equal(append1(&t, rd("A1", "cycles", 10, MODEL_READING_VALUE, T0, NULL)).status,
                     STORE_READING_ACCEPTED);
    assert_int_equal(
        append1(&t, rd("A1", "cycles", 30, MODEL_READING_VALUE, T0 + 2000, NULL)).status,
        STORE_READING_ACCEPTED);

    /* fits between 10 (before) and 30 (after): accepted, current value kept */
    struct store_reading_result res =
        append1(&t, rd("A1", "cycles", 20, MODEL_READING_VALUE, T0 + 1000, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_true(res.total == 20);
    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == 30);
    assert_int_equal(m.last_read_at, T0 + 2000);
    assert_int_equal(m.reading_count, 3);

    /* above the next or below the previous: rejected */
    res = append1(&t, rd("A1", "cycles", 35, MODEL_READING_VALUE, T0 + 1500, NULL));
    assert_int_equal(res.status, STORE_READING_REJECTED);
    assert_int_equal(res.rc, AB_ECONFLICT);
    assert_string_equal(res.field, "value");
    res = append1(&t, rd("A1", "cycles", 5, MODEL_READING_VALUE, T0 + 500, NULL));
    assert_int_equal(res.status, STORE_READING_REJECTED);
    assert_int_equal(res.rc, AB_ECONFLICT);
    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == 30);
    assert_int_equal(m.reading_count, 3);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 3);
    arena_free(a);
    test_db_close(&t);
}

static void test_gauge_rejects_increments(void **state)
{
    (void)state;
    assert_int_equal(model_meter_type_register("temperature", MODEL_METER_GAUGE, "C"), AB_OK);
    struct test_db t;
    open_with_asset(&t);
    struct arena *a = arena_new(0, 0);
    struct store_meter_row m;
    struct store_reading_result res =
        append1(&t, rd("A1", "temperature", 2, MODEL_READING_INCREMENT, T0, NULL));
    assert_int_equal(res.status, STORE_READING_REJECTED);
    assert_int_equal(res.rc, AB_EINVAL);
    assert_string_equal(res.field, "increment");
    /* the rejected reading left no meter behind */
    assert_false(meter_get(&t, "A1", "temperature", a, &m));
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM meters"), 0);

    res = append1(&t, rd("A1", "temperature", 21.5, MODEL_READING_VALUE, T0, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    res = append1(&t, rd("A1", "temperature", 18, MODEL_READING_VALUE, T0 + 1000, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED); /* a gauge may go down */
    assert_int_equal(res.flags, 0);
    assert_true(meter_get(&t, "A1", "temperature", a, &m));
    assert_string_equal(m.kind, "gauge");
    assert_string_equal(m.unit, "C");
    assert_true(m.value == 18);
    arena_free(a);
    test_db_close(&t);
    model_meter_type_reset();
}

static void test_one_event_per_meter_per_batch(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    enum { N = 1000 };
    struct model_reading *r = calloc(N, sizeof(*r));
    struct store_reading_result *res = calloc(N, sizeof(*res));
    assert_non_null(r);
    assert_non_null(res);
    for (int i = 0; i < N; i++)
        r[i] = rd("A1", i % 2 ? "run_hours" : "cycles", 1, MODEL_READING_INCREMENT, T0 + i, NULL);
    assert_int_equal(append(&t, r, N, STORE_BACKWARDS_REJECT, res), AB_OK);
    for (int i = 0; i < N; i++)
        assert_int_equal(res[i].status, STORE_READING_ACCEPTED);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type = 'meter.reading'"), 2);
    assert_int_equal(test_count(&t, "SELECT SUM(json_extract(payload, '$.readings')) FROM events"
                                    " WHERE type = 'meter.reading'"),
                     N);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type = 'meter.reading'"
                                    " AND subject = 'asset/A1/meters/cycles'"
                                    " AND json_extract(payload, '$.readings') = 500"
                                    " AND json_extract(payload, '$.value') = 500"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), N);
    free(r);
    free(res);
    test_db_close(&t);
}

struct appender {
    struct test_db *t;
    int n;
    int accepted;
};

static void *appender_main(void *p)
{
    struct appender *ap = p;
    for (int i = 0; i < ap->n; i++) {
        struct model_reading r = rd("A1", "cycles", 1, MODEL_READING_INCREMENT, T0, NULL);
        struct store_reading_result res;
        if (store_readings_append(ap->t->s, "t1", &r, 1, NULL, &res, NULL) == AB_OK &&
            res.status == STORE_READING_ACCEPTED)
            ap->accepted++;
    }
    return NULL;
}

static void test_concurrent_appends_share_events(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    enum { THREADS = 8, EACH = 40 };
    pthread_t th[THREADS];
    struct appender ap[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ap[i] = (struct appender){&t, EACH, 0};
        assert_int_equal(pthread_create(&th[i], NULL, appender_main, &ap[i]), 0);
    }
    int accepted = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        accepted += ap[i].accepted;
    }
    assert_int_equal(accepted, THREADS * EACH);
    int64_t events = test_count(&t, "SELECT COUNT(*) FROM events WHERE type = 'meter.reading'");
    assert_true(events >= 1);
    assert_true(events < accepted); /* commits were shared, and so were events */
    assert_int_equal(test_count(&t, "SELECT SUM(json_extract(payload, '$.readings')) FROM events"
                                    " WHERE type = 'meter.reading'"),
                     accepted);
    struct arena *a = arena_new(0, 0);
    struct store_meter_row m;
    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == accepted);
    assert_int_equal(m.reading_count, accepted);
    arena_free(a);
    test_db_close(&t);
}

static void test_lists_and_paging(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    enum { N = 25, PAGE = 4 };
    struct model_reading r[N + 1];
    struct store_reading_result res[N + 1];
    /* pairs share a read_at: the cursor must break ties by id */
    for (int i = 0; i < N; i++)
        r[i] = rd("A1", "cycles", 1, MODEL_READING_INCREMENT, T0 + (i / 2) * 1000, NULL);
    r[N] = rd("A1", "run_hours", 2, MODEL_READING_INCREMENT, T0, NULL);
    assert_int_equal(append(&t, r, N + 1, STORE_BACKWARDS_REJECT, res), AB_OK);

    struct arena *a = arena_new(0, 0);
    struct store_read *rs;
    assert_int_equal(store_read_begin(t.s, &rs), AB_OK);
    struct store_meter_row *mv;
    size_t nm;
    assert_int_equal(store_meters_list(rs, "t1", "A1", a, &mv, &nm), AB_OK);
    assert_int_equal(nm, 2);
    assert_string_equal(mv[0].meter_type, "cycles");
    assert_string_equal(mv[1].meter_type, "run_hours");
    assert_int_equal(mv[0].reading_count, N);
    assert_int_equal(store_meters_list(rs, "t1", "NOPE", a, &mv, &nm), AB_OK);
    assert_int_equal(nm, 0);

    int64_t after_at = INT64_MIN, after_id = 0, seen[N];
    size_t total = 0, pages = 0;
    for (;;) {
        struct store_reading_row *v;
        size_t n;
        assert_int_equal(
            store_readings_list(rs, "t1", "A1", "cycles", after_at, after_id, PAGE, a, &v, &n),
            AB_OK);
        assert_true(n <= PAGE);
        if (n == 0)
            break;
        pages++;
        for (size_t i = 0; i < n; i++) {
            assert_true(total < N);
            /* strictly after the cursor: disjoint pages in (read_at, id) order */
            assert_true(v[i].read_at > after_at ||
                        (v[i].read_at == after_at && v[i].id > after_id));
            assert_true(v[i].is_increment);
            assert_string_equal(v[i].source, "tester");
            seen[total++] = v[i].id;
            after_at = v[i].read_at;
            after_id = v[i].id;
        }
    }
    assert_int_equal(total, N);
    assert_int_equal(pages, (N + PAGE - 1) / PAGE);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], res[i].reading_id); /* complete, in order */
    store_read_end(rs);
    arena_free(a);
    test_db_close(&t);
}

static void test_crash_mid_batch_stores_nothing(void **state)
{
    (void)state;
    struct test_db t;
    open_with_asset(&t);
    assert_int_equal(append1(&t, rd("A1", "cycles", 7, MODEL_READING_VALUE, T0, NULL)).status,
                     STORE_READING_ACCEPTED);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("ASSETBRIDGE_CRASH_AT", "ingest.mid_batch", 1);
        crash_init();
        struct store *cs;
        char cerr[256];
        if (store_open(&t.cfg, &cs, cerr, sizeof(cerr)) != AB_OK)
            _exit(4);
        struct model_reading r[10];
        struct store_reading_result res[10];
        for (int i = 0; i < 10; i++)
            r[i] = rd("A1", i % 2 ? "run_hours" : "cycles", 1, MODEL_READING_INCREMENT,
                      T0 + 1000 + i, i == 0 ? "crash-key" : NULL);
        enum ab_rc rc = store_readings_append(cs, "t1", r, 10, NULL, res, NULL);
        _exit(rc == AB_OK ? 0 : 3); /* not reached: the crash point kills us */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    store_close(t.s);
    char err[256];
    assert_int_equal(store_open(&t.cfg, &t.s, err, sizeof(err)), AB_OK);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM readings"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM idempotency_keys"), 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM meters"), 1); /* no run_hours */
    struct arena *a = arena_new(0, 0);
    struct store_meter_row m;
    assert_true(meter_get(&t, "A1", "cycles", a, &m));
    assert_true(m.value == 7);
    assert_int_equal(m.reading_count, 1);
    /* the key was not burned either */
    struct store_reading_result res =
        append1(&t, rd("A1", "cycles", 1, MODEL_READING_INCREMENT, T0 + 5000, "crash-key"));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_true(res.total == 8);
    arena_free(a);
    test_db_close(&t);
}

int main(void)
{
    log_configure(LOG_ERROR, LOG_FORMAT_JSON, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_increment_adds_value_sets),
        cmocka_unit_test(test_rejections_name_field_and_store_nothing),
        cmocka_unit_test(test_resolution_by_serial_link_and_ambiguity),
        cmocka_unit_test(test_idempotency_keys),
        cmocka_unit_test(test_counter_backwards_policies),
        cmocka_unit_test(test_late_readings),
        cmocka_unit_test(test_gauge_rejects_increments),
        cmocka_unit_test(test_one_event_per_meter_per_batch),
        cmocka_unit_test(test_concurrent_appends_share_events),
        cmocka_unit_test(test_lists_and_paging),
        cmocka_unit_test(test_crash_mid_batch_stores_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
