/* SPDX-License-Identifier: Apache-2.0
 *
 * test_usage.c: unit tests for the usage items readings jobs queue
 * (src/store/usage.c through store_readings_append) against a real SQLite
 * store under a frozen fake clock: items only for meters a provider lists
 * and providers the asset is linked to; one waiting row per coalesce key,
 * updated in place; flush window against delta threshold (with and without
 * an acknowledged total); priority from the entity's severity; nothing
 * without a configuration, without usage meters, for a rejected reading or
 * for a replayed idempotency key; a row that was attempted is not updated
 * (a new one is added and the claim coalesces the old one); a replayed old
 * dead letter is coalesced when a newer row of its key went out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "model/meter.h"
#include "store/journal.h"
#include "store/outbox.h"
#include "store/readings.h"
#include "store/synclog.h"
#include "store_test.h"

#define T0 INT64_C(1800000000000)
#define WINDOW INT64_C(60000)

static const char CONFIG[] = "tenants:\n"
                             "  t1:\n"
                             "    providers:\n"
                             "      sap:\n"
                             "        type: generic\n"
                             "        base_url: http://127.0.0.1:9\n"
                             "        usage:\n"
                             "          flush_window: 1m\n"
                             "          meters:\n"
                             "            cycles: {target: CYC}\n"
                             "            run_hours: {}\n"
                             "      mes:\n"
                             "        type: generic\n"
                             "        base_url: http://127.0.0.1:9\n"
                             "        entities:\n"
                             "          meter: {severity: reporting}\n"
                             "        usage:\n"
                             "          flush_window: 2m\n"
                             "          delta_threshold: 100\n"
                             "          meters:\n"
                             "            cycles: {}\n"
                             "      other:\n"
                             "        type: generic\n"
                             "        base_url: http://127.0.0.1:9\n"
                             "  t2:\n"
                             "    providers:\n"
                             "      sap:\n"
                             "        type: generic\n"
                             "        base_url: http://127.0.0.1:9\n";

struct fixture {
    struct test_db db;
    struct config *cfg;
};

static int setup(void **state)
{
    clock_set_fake(T0, true);
    struct fixture *f = calloc(1, sizeof(*f));
    struct config_errors errs = {0};
    if (config_load_buffer("test.yaml", CONFIG, strlen(CONFIG), &f->cfg, &errs) != AB_OK) {
        config_errors_print(&errs, stderr);
        config_errors_cleanup(&errs);
        return -1;
    }
    test_db_open(&f->db);
    struct model_asset a = test_asset("A1", "SN-1");
    assert_int_equal(test_put(f->db.s, &a, 0, NULL), AB_OK);
    a = test_asset("A2", "SN-2");
    assert_int_equal(test_put(f->db.s, &a, 0, NULL), AB_OK);
    assert_int_equal(test_link(f->db.s, "sap", "EQ-1", "A1"), AB_OK);
    assert_int_equal(test_link(f->db.s, "mes", "M-1", "A1"), AB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    test_db_close(&f->db);
    config_free(f->cfg);
    free(f);
    clock_set_real();
    return 0;
}

static struct model_reading rd(const char *ref, const char *type, double amount, bool increment,
                               int64_t at, const char *key)
{
    struct model_reading r;
    memset(&r, 0, sizeof(r));
    r.asset_ref = ref;
    r.meter_type = type;
    r.amount = amount;
    r.mode = (uint8_t)(increment ? MODEL_READING_INCREMENT : MODEL_READING_VALUE);
    r.read_at = at;
    r.idempotency_key = key;
    r.source = MODEL_SOURCE_TESTER;
    return r;
}

/* Append readings with the fixture's configuration (or cfg NULL). */
static void append_cfg(struct fixture *f, const struct config *cfg, const struct model_reading *r,
                       size_t n, struct store_reading_result *res)
{
    struct store_readings_policy p = {.backwards = STORE_BACKWARDS_REJECT, .cfg = cfg};
    assert_int_equal(store_readings_append(f->db.s, "t1", r, n, &p, res, "corr-1"), AB_OK);
}

static struct store_reading_result append1(struct fixture *f, struct model_reading r)
{
    struct store_reading_result res;
    append_cfg(f, f->cfg, &r, 1, &res);
    return res;
}

static int64_t rows(struct fixture *f, const char *where)
{
    return test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE %s", where);
}

/* A field of the payload of the only row of a key. */
static double payload_value(struct fixture *f, const char *key)
{
    char sql[400];
    snprintf(sql, sizeof(sql),
             "SELECT json_extract(payload, '$.value') FROM outbox WHERE coalesce_key = '%s'"
             " ORDER BY id DESC LIMIT 1",
             key);
    return test_real(&f->db, sql);
}

static void test_queued_for_listed_meters_and_linked_providers(void **state)
{
    struct fixture *f = *state;
    struct store_reading_result res = append1(f, rd("A1", "cycles", 10, true, T0 - 1000, NULL));
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    /* sap (target CYC) and mes (same name) list cycles; "other" lists nothing */
    assert_int_equal(rows(f, "1"), 2);
    assert_int_equal(rows(f, "provider = 'sap' AND coalesce_key = 'usage|sap|EQ-1|CYC'"
                             " AND entity = 'meter' AND action = 'push_reading'"
                             " AND subject = 'asset/A1' AND state = 'pending'"
                             " AND correlation_id = 'corr-1'"),
                     1);
    assert_int_equal(rows(f, "provider = 'mes' AND coalesce_key = 'usage|mes|M-1|cycles'"), 1);
    assert_int_equal(rows(f, "provider = 'other'"), 0);
    /* the payload */
    struct store_read *r;
    struct arena *a = arena_new(0, 0);
    struct store_outbox_item *items;
    size_t n;
    assert_int_equal(store_read_begin(f->db.s, &r), AB_OK);
    assert_int_equal(store_outbox_list(r, "t1", OUTBOX_PENDING, 0, 10, a, &items, &n), AB_OK);
    store_read_end(r);
    assert_int_equal(n, 2);
    const struct store_outbox_item *sap =
        strcmp(items[0].provider, "sap") == 0 ? &items[0] : &items[1];
    json_error_t jerr;
    json_t *pl = json_loads(sap->payload, 0, &jerr);
    assert_non_null(pl);
    assert_string_equal(json_string_value(json_object_get(pl, "asset_ref")), "A1");
    assert_string_equal(json_string_value(json_object_get(pl, "asset_native_id")), "EQ-1");
    assert_string_equal(json_string_value(json_object_get(pl, "meter_type")), "CYC");
    assert_string_equal(json_string_value(json_object_get(pl, "hub_meter")), "cycles");
    assert_true(json_real_value(json_object_get(pl, "value")) == 10.0);
    assert_string_equal(json_string_value(json_object_get(pl, "read_at")), "2027-01-15T07:59:59Z");
    json_decref(pl);
    assert_non_null(strstr(sap->idempotency_key, "usage:sap:EQ-1:CYC:"));
    assert_true(sap->next_attempt_at == T0 + WINDOW);
    arena_free(a);

    /* run_hours: only sap lists it; A2 is linked to no provider */
    append1(f, rd("A1", "run_hours", 5, true, T0 - 500, NULL));
    assert_int_equal(rows(f, "coalesce_key = 'usage|sap|EQ-1|run_hours'"), 1);
    assert_true(payload_value(f, "usage|sap|EQ-1|run_hours") == 5.0);
    append1(f, rd("A2", "cycles", 5, true, T0 - 500, NULL));
    assert_int_equal(rows(f, "subject = 'asset/A2'"), 0);
    /* a meter no provider lists */
    append1(f, rd("A1", "shots", 5, true, T0 - 500, NULL));
    assert_int_equal(rows(f, "payload LIKE '%shots%'"), 0);
    assert_int_equal(rows(f, "1"), 3);
}

static void test_one_row_per_key_updated_in_place(void **state)
{
    struct fixture *f = *state;
    append1(f, rd("A1", "run_hours", 1, true, T0 - 9000, NULL));
    int64_t id = test_count(&f->db, "SELECT id FROM outbox WHERE provider = 'sap'");
    for (int i = 0; i < 20; i++) {
        clock_advance_ms(1000);
        append1(f, rd("A1", "run_hours", 1, true, T0 - 8000 + i, NULL));
    }
    /* a batch: one statement per meter, not per reading */
    struct model_reading b[5];
    for (int i = 0; i < 5; i++)
        b[i] = rd("A1", "run_hours", 2, true, T0 + i, NULL);
    struct store_reading_result res[5];
    append_cfg(f, f->cfg, b, 5, res);
    assert_int_equal(rows(f, "provider = 'sap'"), 1);
    assert_int_equal(test_count(&f->db, "SELECT id FROM outbox WHERE provider = 'sap'"), id);
    assert_true(payload_value(f, "usage|sap|EQ-1|run_hours") == 31.0);
    /* the row keeps its time: created + the flush window */
    assert_int_equal(
        test_count(&f->db, "SELECT next_attempt_at FROM outbox WHERE id = %lld", (long long)id),
        T0 + WINDOW);
    /* read_at is the newest reading's */
    assert_int_equal(rows(f, "payload LIKE '%\"read_at\":\"2027-01-15T08:00:00.004Z\"%'"), 1);
}

/* Claim everything ready of provider; returns the number claimed. */
static size_t claim(struct fixture *f, const char *provider, struct arena *a,
                    struct store_outbox_claim *c)
{
    memset(c, 0, sizeof(*c));
    c->tenant = "t1";
    c->provider = provider;
    c->max = 10;
    c->lease_ms = 30000;
    c->a = a;
    assert_int_equal(store_outbox_claim(f->db.s, c), AB_OK);
    return c->n;
}

/* An outcome of a claimed usage item, as the engine records it: complete
 * with the acknowledged total, reschedule, or dead letter. */
struct outcome {
    int kind; /* 0 complete + ack, 1 reschedule, 2 dead */
    const struct store_outbox_item *it;
    int64_t lease;
};

static enum ab_rc outcome_job(struct store_tx *tx, void *arg)
{
    const struct outcome *o = arg;
    if (o->kind == 1)
        return store_outbox_reschedule(tx, "t1", o->it->id, o->lease, clock_now_ms(), "http_503",
                                       "unavailable", NULL);
    if (o->kind == 2)
        return store_outbox_dead_letter(tx, "t1", o->it->id, o->lease, "http_400", "refused", NULL,
                                        "fix it, then replay");
    enum ab_rc rc = store_outbox_complete(tx, "t1", o->it->id, o->lease);
    if (rc)
        return rc;
    json_error_t jerr;
    json_t *pl = json_loads(o->it->payload, 0, &jerr);
    if (!pl)
        return AB_EINTERNAL;
    rc = store_usage_ack_put(tx, "t1", o->it->provider, o->it->coalesce_key,
                             json_number_value(json_object_get(pl, "value")));
    json_decref(pl);
    return rc;
}

static void outcome(struct fixture *f, int kind, const struct store_outbox_item *it, int64_t lease)
{
    struct outcome o = {kind, it, lease};
    assert_int_equal(store_write(f->db.s, outcome_job, &o, NULL), AB_OK);
}

static int64_t next_attempt(struct fixture *f, const char *provider, const char *state)
{
    return test_count(&f->db,
                      "SELECT next_attempt_at FROM outbox WHERE provider = '%s' AND state = '%s'"
                      " ORDER BY id DESC LIMIT 1",
                      provider, state);
}

static void test_flush_window_and_delta_threshold(void **state)
{
    struct fixture *f = *state;
    /* mes: threshold 100, window 2 min; no acknowledgement yet counts as 0 */
    append1(f, rd("A1", "cycles", 50, true, T0 - 9000, NULL));
    assert_int_equal(next_attempt(f, "mes", "pending"), T0 + 120000);
    /* sap: no threshold, 1 min window */
    assert_int_equal(next_attempt(f, "sap", "pending"), T0 + WINDOW);
    clock_advance_ms(1000);
    append1(f, rd("A1", "cycles", 60, true, T0 - 8000, NULL));
    /* 110 from 0 acknowledged: due now, same row; sap keeps its time */
    assert_int_equal(rows(f, "provider = 'mes'"), 1);
    assert_int_equal(next_attempt(f, "mes", "pending"), T0 + 1000);
    assert_int_equal(next_attempt(f, "sap", "pending"), T0 + WINDOW);
    assert_true(payload_value(f, "usage|mes|M-1|cycles") == 110.0);
    /* not ready before its time: sap's item waits out the window */
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    assert_int_equal(claim(f, "sap", a, &c), 0);

    /* deliver mes and acknowledge 110 */
    assert_int_equal(claim(f, "mes", a, &c), 1);
    outcome(f, 0, &c.items[0], c.lease_until);
    double acked = 0;
    bool found = false;
    struct store_read *r;
    assert_int_equal(store_read_begin(f->db.s, &r), AB_OK);
    assert_int_equal(
        store_usage_ack_get_read(r, "t1", "mes", "usage|mes|M-1|cycles", &acked, NULL, &found),
        AB_OK);
    store_read_end(r);
    assert_true(found && acked == 110.0);

    /* +50 from the acknowledged 110: a new row that waits the window */
    clock_advance_ms(1000);
    append1(f, rd("A1", "cycles", 50, true, T0 - 7000, NULL));
    assert_int_equal(rows(f, "provider = 'mes'"), 2);
    assert_int_equal(next_attempt(f, "mes", "pending"), T0 + 2000 + 120000);
    /* +60 more: 220 - 110 >= 100: due now */
    clock_advance_ms(1000);
    append1(f, rd("A1", "cycles", 60, true, T0 - 6000, NULL));
    assert_int_equal(rows(f, "provider = 'mes'"), 2);
    assert_int_equal(next_attempt(f, "mes", "pending"), T0 + 3000);
    /* the window passes for sap */
    clock_advance_ms(WINDOW);
    assert_int_equal(claim(f, "sap", a, &c), 1);
    arena_free(a);
}

static void test_priority_by_severity(void **state)
{
    struct fixture *f = *state;
    append1(f, rd("A1", "cycles", 1, true, T0 - 9000, NULL));
    assert_int_equal(rows(f, "provider = 'sap' AND priority = 0"), 1);
    assert_int_equal(rows(f, "provider = 'mes' AND priority = 1"), 1);
}

static void test_nothing_without_usage(void **state)
{
    struct fixture *f = *state;
    struct model_reading r = rd("A1", "cycles", 1, true, T0 - 9000, NULL);
    struct store_reading_result res;
    append_cfg(f, NULL, &r, 1, &res); /* no configuration: nothing queued */
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_int_equal(rows(f, "1"), 0);
    /* tenant t2 has a provider without usage meters */
    struct test_put p;
    memset(&p, 0, sizeof(p));
    p.tenant = "t2";
    p.asset = test_asset("B1", "SN-B1");
    assert_int_equal(store_write(f->db.s, test_put_job, &p, NULL), AB_OK);
    struct store_readings_policy pol = {.backwards = STORE_BACKWARDS_REJECT, .cfg = f->cfg};
    r = rd("B1", "cycles", 1, true, T0 - 9000, NULL);
    assert_int_equal(store_readings_append(f->db.s, "t2", &r, 1, &pol, &res, NULL), AB_OK);
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
    assert_int_equal(rows(f, "1"), 0);
    /* a tenant not in the configuration at all */
    p.tenant = "t3";
    p.asset = test_asset("C1", "SN-C1");
    assert_int_equal(store_write(f->db.s, test_put_job, &p, NULL), AB_OK);
    r = rd("C1", "cycles", 1, true, T0 - 9000, NULL);
    assert_int_equal(store_readings_append(f->db.s, "t3", &r, 1, &pol, &res, NULL), AB_OK);
    assert_int_equal(rows(f, "1"), 0);
}

static void test_rejected_and_duplicate_queue_nothing(void **state)
{
    struct fixture *f = *state;
    /* rejected before anything: unknown asset, unknown meter type */
    assert_int_equal(append1(f, rd("NOPE", "cycles", 1, true, T0 - 9000, NULL)).status,
                     STORE_READING_REJECTED);
    assert_int_equal(append1(f, rd("A1", "bogus", 1, true, T0 - 9000, NULL)).status,
                     STORE_READING_REJECTED);
    assert_int_equal(rows(f, "1"), 0);
    /* an absolute 100, then a counter going backwards (rejected) */
    assert_int_equal(append1(f, rd("A1", "cycles", 100, false, T0 - 8000, "k1")).status,
                     STORE_READING_ACCEPTED);
    assert_int_equal(rows(f, "1"), 2);
    assert_int_equal(append1(f, rd("A1", "cycles", 40, false, T0 - 7000, NULL)).status,
                     STORE_READING_REJECTED);
    assert_int_equal(rows(f, "1"), 2);
    assert_true(payload_value(f, "usage|sap|EQ-1|CYC") == 100.0);
    /* deliver both, then replay the key: a duplicate queues nothing */
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    clock_advance_ms(10 * WINDOW);
    assert_int_equal(claim(f, "sap", a, &c), 1);
    outcome(f, 0, &c.items[0], c.lease_until);
    assert_int_equal(claim(f, "mes", a, &c), 1);
    outcome(f, 0, &c.items[0], c.lease_until);
    assert_int_equal(append1(f, rd("A1", "cycles", 100, false, T0 - 8000, "k1")).status,
                     STORE_READING_DUPLICATE);
    assert_int_equal(rows(f, "state = 'pending'"), 0);
    /* the same total again (accepted, total unchanged): nothing owed */
    assert_int_equal(append1(f, rd("A1", "cycles", 100, false, T0 - 6000, NULL)).status,
                     STORE_READING_ACCEPTED);
    assert_int_equal(rows(f, "state = 'pending'"), 0);
    arena_free(a);
}

static void test_attempted_row_not_updated(void **state)
{
    struct fixture *f = *state;
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    append1(f, rd("A1", "run_hours", 10, true, T0 - 9000, NULL));
    clock_advance_ms(WINDOW);
    assert_int_equal(claim(f, "sap", a, &c), 1);
    int64_t first = c.items[0].id;
    /* while it is in flight a reading adds a new row */
    append1(f, rd("A1", "run_hours", 5, true, T0 - 8000, NULL));
    assert_int_equal(rows(f, "provider = 'sap'"), 2);
    /* the attempt fails and is rescheduled (attempts 1): not updated in place */
    outcome(f, 1, &c.items[0], c.lease_until);
    append1(f, rd("A1", "run_hours", 5, true, T0 - 7000, NULL));
    assert_int_equal(rows(f, "provider = 'sap'"), 2);
    assert_int_equal(rows(f, "provider = 'sap' AND state = 'pending'"), 2);
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT json_extract(payload, '$.value') FROM outbox WHERE id = %lld",
             (long long)first);
    assert_true(test_real(&f->db, sql) == 10.0);
    assert_true(payload_value(f, "usage|sap|EQ-1|run_hours") == 20.0);
    /* the claim sends the newest total only */
    clock_advance_ms(WINDOW);
    assert_int_equal(claim(f, "sap", a, &c), 1);
    assert_int_equal(c.coalesced, 1);
    assert_non_null(strstr(c.items[0].payload, "\"value\":20"));
    assert_int_equal(rows(f, "provider = 'sap' AND state = 'done' AND last_error = 'coalesced'"),
                     1);
    arena_free(a);
}

static enum ab_rc replay_job(struct store_tx *tx, void *arg)
{
    (void)arg;
    struct store_outbox_filter flt = {"t1", "sap", NULL, NULL, INT64_MIN, INT64_MAX};
    int64_t n = 0;
    enum ab_rc rc = store_outbox_replay(tx, &flt, "tester", &n);
    return rc ? rc : n == 1 ? AB_OK : AB_EINTERNAL;
}

static void test_replayed_old_dead_letter_is_coalesced(void **state)
{
    struct fixture *f = *state;
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    append1(f, rd("A1", "run_hours", 10, true, T0 - 9000, NULL));
    clock_advance_ms(WINDOW);
    assert_int_equal(claim(f, "sap", a, &c), 1);
    outcome(f, 2, &c.items[0], c.lease_until); /* dead: total 10 */
    int64_t dead_id = c.items[0].id;
    append1(f, rd("A1", "run_hours", 5, true, T0 - 8000, NULL));
    clock_advance_ms(WINDOW);
    assert_int_equal(claim(f, "sap", a, &c), 1);
    assert_non_null(strstr(c.items[0].payload, "\"value\":15"));
    outcome(f, 0, &c.items[0], c.lease_until); /* 15 delivered and acknowledged */

    /* replaying the old dead letter (total 10) must not overwrite 15 */
    assert_int_equal(store_write(f->db.s, replay_job, NULL, NULL), AB_OK);
    assert_int_equal(rows(f, "state = 'pending' AND provider = 'sap'"), 1);
    assert_int_equal(claim(f, "sap", a, &c), 0);
    assert_int_equal(c.coalesced, 1);
    assert_int_equal(test_count(&f->db,
                                "SELECT COUNT(*) FROM outbox WHERE id = %lld"
                                " AND state = 'done' AND last_error = 'coalesced'",
                                (long long)dead_id),
                     1);

    /* a replayed old row is never updated in place either */
    append1(f, rd("A1", "run_hours", 5, true, T0 - 7000, NULL));
    assert_true(payload_value(f, "usage|sap|EQ-1|run_hours") == 20.0);
    clock_advance_ms(WINDOW);
    assert_int_equal(claim(f, "sap", a, &c), 1);
    assert_non_null(strstr(c.items[0].payload, "\"value\":20"));
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queued_for_listed_meters_and_linked_providers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_row_per_key_updated_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_window_and_delta_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_by_severity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_without_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_and_duplicate_queue_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attempted_row_not_updated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replayed_old_dead_letter_is_coalesced, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
