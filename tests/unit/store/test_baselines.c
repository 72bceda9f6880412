/* SPDX-License-Identifier: Apache-2.0
 *
 * test_baselines.c: unit tests, against a real SQLite store, for what the
 * store does so that a provider that keeps its own counts (WATS) gets
 * correct totals and hears of calibrations recorded in the hub:
 *   - usage baselines (baselines.c): captured when a pulled asset document
 *     declaring provider_meters creates or links the asset (provider total
 *     minus the hub meter's value then), kept on later pulls, replaced by a
 *     new link, absent without provider_meters; the usage item's payload
 *     carries provider_baseline (usage.c) only when one exists;
 *   - record_calibration items (workorders.c) for the calibration system of
 *     record, else for linked providers whose calibration mode is not
 *     read_only;
 *   - mapping exceptions for outbox items whose effect differs (journal.c),
 *     which only action ignore closes.
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
#include "store/baselines.h"
#include "store/journal.h"
#include "store/readings.h"
#include "store/records.h"
#include "store/workorders.h"
#include "store_test.h"

#define T0 INT64_C(1800000000000)

static const char CONFIG[] = "tenants:\n"
                             "  t1:\n"
                             "    providers:\n"
                             "      wats:\n"
                             "        type: wats\n"
                             "        base_url: http://127.0.0.1:9\n"
                             "        mode: {calibration: write_back}\n"
                             "        usage:\n"
                             "          flush_window: 0s\n"
                             "          meters:\n"
                             "            cycles: {target: count}\n"
                             "      eam:\n"
                             "        type: generic\n"
                             "        base_url: http://127.0.0.1:9\n"
                             "        mode: write_back\n"
                             "      ro:\n"
                             "        type: generic\n"
                             "        base_url: http://127.0.0.1:9\n"
                             "    system_of_record:\n"
                             "      oslo: {calibration: wats}\n";

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
    store_set_config(f->db.s, f->cfg);
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

/* ---- helpers -------------------------------------------------------------------- */

struct upsert_job {
    const char *provider, *native_id;
    json_t *doc;
    struct store_upsert_result res;
};

static enum ab_rc upsert_fn(struct store_tx *tx, void *arg)
{
    struct upsert_job *j = arg;
    struct store_record rec = {0};
    rec.tenant = "t1";
    rec.provider = j->provider;
    rec.entity = "asset";
    rec.native_id = j->native_id;
    rec.doc = j->doc;
    rec.source_revision = INT64_MIN;
    rec.source_modified_at = INT64_MIN;
    struct arena *a = arena_new(0, 0);
    enum ab_rc rc = store_record_upsert(tx, &rec, a, &j->res);
    arena_free(a);
    return rc;
}

/* A pulled WATS asset with WATS's total for the hub meter cycles (total < 0:
 * no provider_meters). */
static enum store_upsert_outcome pull(struct fixture *f, const char *serial, double total,
                                      const char *name)
{
    struct upsert_job j = {0};
    j.provider = "wats";
    j.native_id = serial;
    j.doc = json_pack("{s:s, s:s, s:s, s:{s:f}}", "serial_number", serial, "type", "fixture",
                      "name", name, "attributes", "wats_total_count", total);
    if (total >= 0)
        json_object_set_new(j.doc, "provider_meters",
                            json_pack("{s:{s:f}, s:s}", "cycles", "total", total, "junk", "x"));
    assert_int_equal(store_write(f->db.s, upsert_fn, &j, NULL), AB_OK);
    json_decref(j.doc);
    return j.res.outcome;
}

static double baseline(struct fixture *f, const char *native_id, bool *found)
{
    struct store_read *r;
    double b = NAN;
    assert_int_equal(store_read_begin(f->db.s, &r), AB_OK);
    assert_int_equal(store_usage_baseline_get_read(r, "t1", "wats", native_id, "cycles", &b, found),
                     AB_OK);
    store_read_end(r);
    return b;
}

static void add_cycles(struct fixture *f, const char *ref, double inc)
{
    struct model_reading r;
    memset(&r, 0, sizeof(r));
    r.asset_ref = ref;
    r.meter_type = "cycles";
    r.amount = inc;
    r.mode = (uint8_t)MODEL_READING_INCREMENT;
    r.read_at = clock_now_ms() - 1000;
    r.source = MODEL_SOURCE_TESTER;
    struct store_readings_policy p = {.backwards = STORE_BACKWARDS_REJECT, .cfg = f->cfg};
    struct store_reading_result res;
    assert_int_equal(store_readings_append(f->db.s, "t1", &r, 1, &p, &res, "corr-1"), AB_OK);
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
}

/* A JSON field of the newest outbox payload matching where (NaN if absent). */
static double payload_num(struct fixture *f, const char *field, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT json_extract(payload, '$.%s') FROM outbox WHERE %s ORDER BY id DESC LIMIT 1",
             field, where);
    return test_real(&f->db, sql);
}

/* ---- usage baselines -------------------------------------------------------------- */

static void test_baseline_captured_at_link_and_in_payload(void **state)
{
    struct fixture *f = *state;
    /* WATS counted 500 before the hub saw the asset: created and linked */
    assert_int_equal(pull(f, "FX-1", 500, "fixture 1"), STORE_UPSERT_CREATED);
    bool found = false;
    assert_true(baseline(f, "FX-1", &found) == 500);
    assert_true(found);
    /* provider_meters is no asset field */
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM assets WHERE asset_ref = 'FX-1'"
                                        " AND doc LIKE '%%provider_meters%%'"),
                     0);
    /* +3 in the hub: WATS is to be sent 500 + 3 */
    add_cycles(f, "FX-1", 3);
    const char *w = "provider = 'wats' AND coalesce_key = 'usage|wats|FX-1|count'";
    assert_true(payload_num(f, "value", w) == 3);
    assert_true(payload_num(f, "provider_baseline", w) == 500);

    /* a later pull with WATS's new total keeps the baseline */
    assert_int_equal(pull(f, "FX-1", 503, "fixture 1"), STORE_UPSERT_UPDATED);
    assert_true(baseline(f, "FX-1", &found) == 500);
    add_cycles(f, "FX-1", 2);
    assert_true(payload_num(f, "value", w) == 5);
    assert_true(payload_num(f, "provider_baseline", w) == 500);
}

static void test_baseline_subtracts_hub_value_when_linking_existing(void **state)
{
    struct fixture *f = *state;
    /* the hub has the asset with 10 cycles before WATS's record links to it */
    struct model_asset a = test_asset("A1", "SN-A1");
    assert_int_equal(test_put(f->db.s, &a, 0, NULL), AB_OK);
    add_cycles(f, "A1", 10);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox"), 0); /* not linked yet */
    assert_int_equal(pull(f, "SN-A1", 500, "linked by serial"), STORE_UPSERT_UPDATED);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM asset_links WHERE"
                                        " provider = 'wats' AND native_id = 'SN-A1'"
                                        " AND asset_ref = 'A1'"),
                     1);
    bool found = false;
    assert_true(baseline(f, "SN-A1", &found) == 490);
    assert_true(found);
    add_cycles(f, "A1", 1);
    const char *w = "coalesce_key = 'usage|wats|SN-A1|count'";
    assert_true(payload_num(f, "value", w) == 11);
    assert_true(payload_num(f, "provider_baseline", w) == 490); /* 490 + 11 = 501 */
    assert_int_equal(
        test_count(&f->db, "SELECT COUNT(*) FROM usage_baselines WHERE native_id = 'SN-A1'"
                           " AND provider_total = 500 AND hub_value = 10 AND asset_ref = 'A1'"),
        1);
}

static void test_no_provider_total_no_baseline(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(pull(f, "FX-2", -1, "no totals"), STORE_UPSERT_CREATED);
    bool found = true;
    assert_true(baseline(f, "FX-2", &found) == 0);
    assert_false(found);
    add_cycles(f, "FX-2", 4);
    const char *w = "coalesce_key = 'usage|wats|FX-2|count'";
    assert_true(payload_num(f, "value", w) == 4);
    assert_true(isnan(payload_num(f, "provider_baseline", w)));
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM usage_baselines"), 0);
}

/* ---- record_calibration items -------------------------------------------------------- */

struct cal_job {
    struct store_cal_record in;
    struct store_cal_result res;
};

static enum ab_rc cal_fn(struct store_tx *tx, void *arg)
{
    struct cal_job *j = arg;
    struct arena *a = arena_new(0, 0);
    enum ab_rc rc = store_calibration_record(tx, &j->in, a, &j->res);
    arena_free(a);
    return rc;
}

static void record_cal(struct fixture *f, const char *ref, int64_t due)
{
    struct cal_job j;
    memset(&j, 0, sizeof(j));
    j.in.tenant = "t1";
    j.in.asset_ref = ref;
    j.in.performed_at = T0 - 3600000;
    j.in.result = MODEL_CAL_IN_TOLERANCE;
    j.in.next_due_at = due;
    j.in.performed_by = "lab";
    j.in.actor = "tester";
    assert_int_equal(store_write(f->db.s, cal_fn, &j, NULL), AB_OK);
}

static int64_t cal_items(struct fixture *f, const char *provider)
{
    return test_count(&f->db,
                      "SELECT COUNT(*) FROM outbox WHERE action = 'record_calibration'"
                      " AND entity = 'calibration' AND provider = '%s'",
                      provider);
}

static void test_calibration_to_system_of_record(void **state)
{
    struct fixture *f = *state;
    struct model_asset a = test_asset("C1", "SN-C1");
    a.site = "oslo";
    assert_int_equal(test_put(f->db.s, &a, 0, NULL), AB_OK);
    assert_int_equal(test_link(f->db.s, "wats", "SN-C1", "C1"), AB_OK);
    assert_int_equal(test_link(f->db.s, "eam", "EQ-C1", "C1"), AB_OK);
    int64_t due = T0 + INT64_C(30) * 86400000;
    record_cal(f, "C1", due);
    /* oslo names wats for calibration: only wats, although eam is write_back */
    assert_int_equal(cal_items(f, "wats"), 1);
    assert_int_equal(cal_items(f, "eam"), 0);
    assert_int_equal(
        test_count(&f->db,
                   "SELECT COUNT(*) FROM outbox WHERE provider = 'wats' AND subject = 'asset/C1'"
                   " AND state = 'pending' AND idempotency_key LIKE 'calibration:wats:%%:1'"
                   " AND json_extract(payload, '$.asset_native_id') = 'SN-C1'"
                   " AND json_extract(payload, '$.kind') = 'calibration'"
                   " AND json_extract(payload, '$.performed_at') = '2027-01-15T07:00:00Z'"
                   " AND json_extract(payload, '$.next_due_at') = '2027-02-14T08:00:00Z'"
                   " AND json_extract(payload, '$.site') = 'oslo'"
                   " AND json_extract(payload, '$.comment') LIKE '%%in_tolerance%%lab%%'"),
        1);
    /* a second record is a new revision: a new item */
    record_cal(f, "C1", due);
    assert_int_equal(cal_items(f, "wats"), 2);
}

static void test_calibration_without_system_of_record(void **state)
{
    struct fixture *f = *state;
    struct model_asset a = test_asset("C2", "SN-C2"); /* no site: no system of record */
    assert_int_equal(test_put(f->db.s, &a, 0, NULL), AB_OK);
    assert_int_equal(test_link(f->db.s, "wats", "SN-C2", "C2"), AB_OK);
    assert_int_equal(test_link(f->db.s, "eam", "EQ-C2", "C2"), AB_OK);
    assert_int_equal(test_link(f->db.s, "ro", "RO-C2", "C2"), AB_OK);
    record_cal(f, "C2", MODEL_TIME_UNSET);
    /* every linked provider whose calibration mode is not read_only */
    assert_int_equal(cal_items(f, "wats"), 1);
    assert_int_equal(cal_items(f, "eam"), 1);
    assert_int_equal(cal_items(f, "ro"), 0);
    /* no next due date known: none sent */
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE provider = 'eam'"
                                        " AND json_extract(payload, '$.next_due_at') IS NULL"
                                        " AND json_extract(payload, '$.asset_native_id') = "
                                        "'EQ-C2'"),
                     1);
    /* an unlinked asset: nothing */
    struct model_asset b = test_asset("C3", "SN-C3");
    assert_int_equal(test_put(f->db.s, &b, 0, NULL), AB_OK);
    record_cal(f, "C3", MODEL_TIME_UNSET);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE subject = 'asset/C3'"),
                     0);
}

/* ---- mapping exceptions for outbox effects ----------------------------------------------- */

struct exc_job {
    struct store_outbox_mismatch m;
    const char *id;
    struct arena *a;
};

static enum ab_rc exc_fn(struct store_tx *tx, void *arg)
{
    struct exc_job *j = arg;
    return store_mapping_exception_outbox(tx, &j->m, &j->id, j->a);
}

struct resolve_job {
    const char *id;
    enum store_resolve_action action;
    struct store_upsert_result res;
    struct arena *a;
};

static enum ab_rc resolve_fn(struct store_tx *tx, void *arg)
{
    struct resolve_job *j = arg;
    return store_mapping_exception_resolve(tx, "t1", j->id, j->action, "C1", "tester", j->a,
                                           &j->res);
}

static void test_outbox_mismatch_exception(void **state)
{
    struct fixture *f = *state;
    struct exc_job j;
    memset(&j, 0, sizeof(j));
    j.a = arena_new(0, 0);
    j.m.tenant = "t1";
    j.m.provider = "wats";
    j.m.outbox_id = 42;
    j.m.entity = "calibration";
    j.m.action = "record_calibration";
    j.m.subject = "asset/C1";
    j.m.payload = "{\"asset_native_id\":\"SN-C1\",\"next_due_at\":\"2027-02-14T08:00:00Z\"}";
    j.m.reason = "due_date_mismatch";
    j.m.message = "Calibration recorded, but WATS computed the next date 2028-01-15T07:00:00Z";
    j.m.response = "{\"wats_next_due_at\":\"2028-01-15T07:00:00Z\"}";
    assert_int_equal(store_write(f->db.s, exc_fn, &j, NULL), AB_OK);
    assert_non_null(j.id);
    assert_int_equal(test_count(&f->db,
                                "SELECT COUNT(*) FROM mapping_exceptions WHERE provider = 'wats'"
                                " AND entity = 'calibration' AND native_id = 'SN-C1'"
                                " AND reason = 'due_date_mismatch' AND state = 'open'"
                                " AND json_extract(change, '$.outbox_id') = 42"
                                " AND json_extract(change, '$.payload.next_due_at') ="
                                " '2027-02-14T08:00:00Z'"
                                " AND message LIKE '%%2028-01-15%%'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM events WHERE type ="
                                        " 'mapping.exception'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM sync_log WHERE level = 'warn'"
                                        " AND message LIKE 'outbox #42 done, but "
                                        "due_date_mismatch%%'"),
                     1);
    /* a second mismatch of the same asset updates the open exception */
    j.m.outbox_id = 43;
    assert_int_equal(store_write(f->db.s, exc_fn, &j, NULL), AB_OK);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM mapping_exceptions WHERE"
                                        " json_extract(change, '$.outbox_id') = 43"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM mapping_exceptions"), 1);
    /* link does not apply; ignore closes it */
    struct resolve_job r = {.id = j.id, .action = STORE_RESOLVE_LINK, .a = j.a};
    assert_int_equal(store_write(f->db.s, resolve_fn, &r, NULL), AB_EINVAL);
    assert_non_null(strstr(r.res.message, "action ignore"));
    r.action = STORE_RESOLVE_IGNORE;
    assert_int_equal(store_write(f->db.s, resolve_fn, &r, NULL), AB_OK);
    assert_int_equal(
        test_count(&f->db, "SELECT COUNT(*) FROM mapping_exceptions WHERE state = 'ignored'"), 1);
    arena_free(j.a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_baseline_captured_at_link_and_in_payload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_baseline_subtracts_hub_value_when_linking_existing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_provider_total_no_baseline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_to_system_of_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_without_system_of_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_mismatch_exception, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
