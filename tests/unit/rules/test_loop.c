/* SPDX-License-Identifier: Apache-2.0
 *
 * test_loop.c: unit tests for the closed loop, station lockout,
 * out-of-spec detection and asset lifecycle propagation of the rules engine
 * (src/rules/loop.c, condition.c, lifecycle.c) on a real SQLite store,
 * driven by rules_run_once() with the fake clock. The sync engine is not
 * running: the tests play its part (an item delivered, a record pulled)
 * through the store, and check the outbox items, events, rule_state rows
 * and audit records the rules leave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store_test.h"
#include "rules_test.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/timefmt.h"
#include "model/meter.h"
#include "rules/rules.h"
#include "store/readings.h"
#include "store/records.h"
#include "store/workorders.h"

static const char CONFIG[] =
    "tenants:\n"
    "  t1:\n"
    "    providers:\n"
    "      sap:\n"
    "        type: sap_pm\n"
    "        base_url: http://127.0.0.1:9\n"
    "        auth: {scheme: basic, user: U, password: P}\n"
    "        mode: write_back\n"
    "      wats:\n"
    "        type: wats\n"
    "        base_url: http://127.0.0.1:9\n"
    "        auth: {scheme: basic, user: U, password: P}\n"
    "        mode: write_back\n"
    "    system_of_record:\n"
    "      plant-1: {asset_master: sap, calibration: sap, maintenance: sap, work_orders: sap}\n"
    "    rules:\n"
    "      evaluate_every: 1h\n"
    "      calibration: {interval_days: 100, lockout: true, reset_running_count: true}\n"
    "      failure_rate: {enabled: true, window: 10, min_uses: 5, threshold_pct: 30}\n"
    "      asset_types:\n"
    "        tool: {calibration: {interval_usage: 1000, interval_days: 0}}\n";

static void put_asset(struct fixture *f, const char *ref, const char *serial, int type)
{
    struct model_asset a = test_asset(ref, serial);
    a.site = "plant-1";
    a.type = (enum model_asset_type)type;
    assert_int_equal(test_put(f->db.s, &a, 0, NULL), AB_OK);
}

static int setup(void **state)
{
    struct fixture *f = fixture_open(CONFIG);
    if (!f)
        return -1;
    store_set_config(f->db.s, f->cfg); /* as serve does: provider types, modes */
    put_asset(f, "I1", "SN-1", MODEL_ASSET_INSTRUMENT);
    assert_int_equal(test_link(f->db.s, "sap", "EQ-1", "I1"), AB_OK);
    assert_int_equal(test_link(f->db.s, "wats", "SN-1", "I1"), AB_OK);
    put_asset(f, "F1", "SN-F", MODEL_ASSET_FIXTURE);
    assert_int_equal(test_link(f->db.s, "sap", "EQ-F", "F1"), AB_OK);
    assert_int_equal(test_link(f->db.s, "wats", "SN-F", "F1"), AB_OK);
    fixture_start_rules(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    return fixture_close(*state);
}

/* ---- helpers ------------------------------------------------------------------ */

/* The outbox item of key delivered as native at sap, completed there at. */
static void sap_completes(struct fixture *f, const char *key_like, const char *native,
                          const char *asset_native, int64_t at)
{
    char sql[512], doc[512], ts[TIME_RFC3339_MAX];
    snprintf(sql, sizeof(sql),
             "UPDATE outbox SET state = 'done', result_native_id = '%s'"
             " WHERE provider = 'sap' AND action = 'open_request' AND idempotency_key LIKE '%s'",
             native, key_like);
    exec_sql(f, sql);
    assert_int_equal(
        test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE result_native_id = '%s'", native), 1);
    time_format_rfc3339(at, ts);
    snprintf(doc, sizeof(doc),
             "{\"asset_native_id\":\"%s\",\"type\":\"calibration\",\"common_status\":\"completed\","
             "\"completed_at\":\"%s\",\"certificate_id\":\"CERT-%s\","
             "\"sap_notification_type\":\"M1\"}",
             asset_native, ts, native);
    pulled(f, "sap", "notification", native, doc);
}

static int64_t items(struct fixture *f, const char *provider, const char *action, const char *extra)
{
    return test_count(&f->db,
                      "SELECT COUNT(*) FROM outbox WHERE provider = '%s' AND action = '%s'%s%s",
                      provider, action, extra ? " AND " : "", extra ? extra : "");
}

/* ---- tests ---------------------------------------------------------------------- */

/* Overdue locks the station in WATS; the request completed in SAP records
 * the calibration in WATS (next due date, certificate, running count
 * reset) and the new calibration lifts the lock, each exactly once. */
static void test_lockout_and_closed_loop(void **state)
{
    struct fixture *f = *state;
    hub_cal(f, "I1", T0, MODEL_TIME_UNSET); /* due T0 + 100 d */
    int64_t due = T0 + 100 * DAY;
    run_at(f, T0 + 91 * DAY);
    assert_int_equal(items(f, "sap", "open_request", NULL), 1);
    assert_int_equal(items(f, "wats", "set_state", NULL), 0);
    run_at(f, due + 1000);
    run_at(f, due + 2000);
    assert_int_equal(events(f, "calibration.overdue", "asset/I1"), 1);
    assert_int_equal(items(f, "wats", "set_state",
                           "json_extract(payload, '$.status') = 'in_calibration'"
                           " AND json_extract(payload, '$.asset_native_id') = 'SN-1'"
                           " AND json_extract(payload, '$.origin') = 'sap'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM rule_state WHERE kind = 'lockout'"
                                        " AND subject = 'I1' AND state = 'locked'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM audit WHERE action = 'asset.lockout'"
                                        " AND subject = 'asset/I1'"),
                     1);
    /* still one request; SAP completes it five days later */
    assert_int_equal(items(f, "sap", "open_request", NULL), 1);
    int64_t done = due + 5 * DAY;
    sap_completes(f, "rule:calibration:I1:%", "10000042", "EQ-1", done);
    run_at(f, done + 60000);
    run_at(f, done + 120000);
    char next[TIME_RFC3339_MAX], cond[256];
    time_format_rfc3339(done + 100 * DAY, next);
    snprintf(cond, sizeof(cond),
             "json_extract(payload, '$.next_due_at') = '%s'"
             " AND json_extract(payload, '$.origin') = 'sap'"
             " AND json_extract(payload, '$.certificate_id') = 'CERT-10000042'"
             " AND json_extract(payload, '$.comment') LIKE '%%notification 10000042%%'",
             next);
    assert_int_equal(items(f, "wats", "record_calibration", cond), 1);
    /* never back to the origin (the one there is the tester's at T0) */
    assert_int_equal(
        items(f, "sap", "record_calibration", "json_extract(payload, '$.origin') IS NOT NULL"), 0);
    assert_int_equal(items(f, "wats", "reset_running_count", NULL), 1);
    assert_int_equal(items(f, "wats", "asset_message",
                           "json_extract(payload, '$.message') LIKE '%CERT-10000042%'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM events WHERE"
                                        " type = 'calibration.completed'"
                                        " AND json_extract(payload, '$.origin') = 'sap'"),
                     1);
    /* the new due date: ok again, the lock lifted to the state before */
    assert_int_equal(items(f, "wats", "set_state",
                           "json_extract(payload, '$.status') = 'active'"
                           " AND json_extract(payload, '$.reason') = 'lockout_release'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM rule_state WHERE kind = 'lockout'"
                                        " AND subject = 'I1' AND state = 'released'"),
                     1);
    /* a later pass changes nothing */
    run_at(f, done + DAY);
    assert_int_equal(items(f, "wats", "set_state", NULL), 2);
    assert_int_equal(items(f, "wats", "record_calibration", NULL), 1);
    assert_int_equal(items(f, "sap", "open_request", NULL), 1);
    struct rules_stats st;
    rules_get_stats(f->rules, &st);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.loops_closed, 1);
}

/* A request the system of record refuses becomes a hub work order. */
static void test_refused_request_falls_back_to_hub(void **state)
{
    struct fixture *f = *state;
    hub_cal(f, "I1", T0, MODEL_TIME_UNSET);
    run_at(f, T0 + 91 * DAY);
    assert_int_equal(items(f, "sap", "open_request", NULL), 1);
    exec_sql(f, "UPDATE outbox SET state = 'refused' WHERE action = 'open_request'");
    run_at(f, T0 + 91 * DAY + 1000);
    run_at(f, T0 + 91 * DAY + 2000);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM objects WHERE kind = 'work_order'"
                                        " AND asset_ref = 'I1'"
                                        " AND json_extract(doc, '$.provider_id') = 'hub'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM rule_state WHERE kind ="
                                        " 'calibration' AND subject = 'I1'"
                                        " AND request_key LIKE 'wo:%%'"),
                     1);
}

/* Use i of the fixture in a report with result, stored at time at. */
static void use(struct fixture *f, int i, const char *result, int64_t at)
{
    char id[64], doc[256];
    snprintf(id, sizeof(id), "R%02d/SN-F/0", i);
    snprintf(doc, sizeof(doc),
             "{\"asset_native_id\":\"SN-F\",\"kind\":\"asset_use\",\"report_id\":\"R%02d\","
             "\"result\":\"%s\"}",
             i, result);
    clock_set_fake(at + i, true);
    pulled(f, "wats", "report", id, doc);
}

/* A fixture failing more than 30 % of its last 10 uses opens one
 * corrective request with the evidence; closing it starts afresh. */
static void test_failure_rate_opens_corrective_request(void **state)
{
    struct fixture *f = *state;
    for (int i = 1; i <= 7; i++)
        use(f, i, "passed", T0);
    for (int i = 8; i <= 10; i++)
        use(f, i, "failed", T0); /* 3 of 10: not above 30 % */
    run_at(f, T0 + 60000);
    assert_int_equal(events(f, "asset.out_of_spec", "asset/F1"), 0);
    use(f, 11, "failed", T0 + 100000); /* the window: uses 2..11, 4 failed */
    use(f, 12, "error", T0 + 100000);  /* 3..12, 5 failed */
    run_at(f, T0 + 120000);
    run_at(f, T0 + 180000);
    assert_int_equal(events(f, "asset.out_of_spec", "asset/F1"), 1);
    assert_int_equal(test_count(&f->db,
                                "SELECT COUNT(*) FROM events WHERE type ="
                                " 'asset.out_of_spec' AND json_extract(payload, '$.failures')"
                                " = 5 AND json_extract(payload, '$.uses') = 10"),
                     1);
    assert_int_equal(items(f, "sap", "open_request",
                           "json_extract(payload, '$.type') = 'corrective'"
                           " AND json_extract(payload, '$.description') LIKE '%R08, R09, R10, R11,"
                           " R12%' AND json_extract(payload, '$.asset_native_id') = 'EQ-F'"),
                     1);
    use(f, 13, "failed", T0 + 200000);
    run_at(f, T0 + 240000);
    assert_int_equal(items(f, "sap", "open_request", NULL), 1);
    /* repaired: the request closes; only the uses after it count */
    sap_completes(f, "rule:condition:F1:%", "10000077", "EQ-F", T0 + 250000);
    run_at(f, T0 + 300000);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM rule_state WHERE kind = 'condition'"
                                        " AND subject = 'F1' AND request_closed_at IS NOT NULL"),
                     1);
    for (int i = 20; i <= 24; i++)
        use(f, i, "passed", T0 + 350000);
    run_at(f, T0 + 400000);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM rule_state WHERE kind = 'condition'"
                                        " AND subject = 'F1' AND state = 'ok'"),
                     1);
    assert_int_equal(items(f, "sap", "open_request", NULL), 1);
}

/* Equipment the asset master system of record creates, moves and retires
 * is registered, moved and retired in WATS; a WATS change is not carried
 * back; a serial number linked to another asset in WATS is a collision. */
static void test_lifecycle_propagation(void **state)
{
    struct fixture *f = *state;
    pulled(f, "sap", "asset", "EQ-9",
           "{\"serial_number\":\"SN-9\",\"name\":\"DMM 9\",\"type\":\"instrument\","
           "\"site\":\"plant-1\"}");
    run_at(f, T0 + 1000);
    run_at(f, T0 + 2000);
    assert_int_equal(items(f, "wats", "upsert_asset",
                           "json_extract(payload, '$.serial_number') = 'SN-9'"
                           " AND json_extract(payload, '$.origin') = 'sap'"
                           " AND json_extract(payload, '$.lifecycle') = 'created'"),
                     1);
    /* registered (the sync engine links what WATS answered) */
    const char *ref_sql = "SELECT COUNT(*) FROM asset_links WHERE provider = 'sap'"
                          " AND native_id = 'EQ-9'";
    assert_int_equal(test_count(&f->db, "%s", ref_sql), 1);
    exec_sql(f, "INSERT INTO asset_links(tenant, provider, native_id, asset_ref, linked_at)"
                " SELECT tenant, 'wats', 'SN-9', asset_ref, 0 FROM asset_links"
                " WHERE provider = 'sap' AND native_id = 'EQ-9'");
    /* moved within the plant, then retired */
    pulled(f, "sap", "asset", "EQ-9",
           "{\"serial_number\":\"SN-9\",\"name\":\"DMM 9\",\"type\":\"instrument\","
           "\"site\":\"plant-1\",\"location\":{\"line\":\"L2\"}}");
    run_at(f, T0 + 3000);
    assert_int_equal(items(f, "wats", "upsert_asset",
                           "json_extract(payload, '$.lifecycle') = 'moved'"
                           " AND json_extract(payload, '$.asset_native_id') = 'SN-9'"),
                     1);
    pulled(f, "sap", "asset", "EQ-9",
           "{\"serial_number\":\"SN-9\",\"name\":\"DMM 9\",\"type\":\"instrument\","
           "\"site\":\"plant-1\",\"location\":{\"line\":\"L2\"},\"status\":\"retired\"}");
    run_at(f, T0 + 4000);
    assert_int_equal(items(f, "wats", "set_state",
                           "json_extract(payload, '$.status') = 'retired'"
                           " AND json_extract(payload, '$.asset_native_id') = 'SN-9'"),
                     1);
    /* WATS's own change is not carried (not the system of record) */
    int64_t before = test_count(&f->db, "SELECT COUNT(*) FROM outbox");
    pulled(f, "wats", "asset", "SN-W",
           "{\"serial_number\":\"SN-W\",\"name\":\"W\",\"type\":\"fixture\",\"site\":\"plant-1\"}");
    run_at(f, T0 + 5000);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox"), before);
    /* a collision: SAP creates equipment whose serial WATS links to F1 */
    pulled(
        f, "sap", "asset", "EQ-X",
        "{\"serial_number\":\"SN-F2\",\"name\":\"X\",\"type\":\"fixture\",\"site\":\"plant-1\"}");
    exec_sql(f, "INSERT INTO asset_links(tenant, provider, native_id, asset_ref, linked_at)"
                " VALUES ('t1', 'wats', 'SN-F2', 'F1', 0)");
    run_at(f, T0 + 6000);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM mapping_exceptions WHERE"
                                        " provider = 'wats' AND native_id = 'SN-F2'"
                                        " AND reason = 'native_id_conflict' AND state = 'open'"),
                     1);
    assert_int_equal(
        items(f, "wats", "upsert_asset", "json_extract(payload, '$.serial_number') = 'SN-F2'"), 0);
    /* a repeated pass queues nothing twice */
    exec_sql(f, "DELETE FROM rule_state WHERE kind = 'cursor' AND subject = 'lifecycle'");
    run_at(f, T0 + 7000);
    assert_int_equal(items(f, "wats", "upsert_asset", NULL), 2);
    assert_int_equal(items(f, "wats", "set_state", NULL), 1);
}

/* A torque tool calibrated every 1,000 cycles (no interval in days): due
 * soon at 900 cycles since the calibration, overdue at 1,000, counted from
 * the meter's value when the calibration was recorded; a new calibration
 * starts counting again. */
static void test_usage_based_calibration(void **state)
{
    struct fixture *f = *state;
    put_asset(f, "T1", "SN-T", MODEL_ASSET_TOOL);
    assert_int_equal(test_link(f->db.s, "sap", "EQ-T", "T1"), AB_OK);
    reading(f, "T1", 5000);
    hub_cal(f, "T1", T0, MODEL_TIME_UNSET);
    run_at(f, T0 + 1000); /* baseline: 5,000 */
    clock_set_fake(T0 + DAY, true);
    reading(f, "T1", 5800);
    run_at(f, T0 + DAY);
    assert_int_equal(events(f, "calibration.due", "asset/T1"), 0);
    clock_set_fake(T0 + 2 * DAY, true);
    reading(f, "T1", 5901);
    run_at(f, T0 + 2 * DAY);
    assert_int_equal(events(f, "calibration.due", "asset/T1"), 1);
    assert_int_equal(
        items(f, "sap", "open_request",
              "json_extract(payload, '$.asset_native_id') = 'EQ-T'"
              " AND json_extract(payload, '$.description') LIKE '%901 of 1000 cycles%'"),
        1);
    clock_set_fake(T0 + 3 * DAY, true);
    reading(f, "T1", 6000);
    run_at(f, T0 + 3 * DAY);
    assert_int_equal(events(f, "calibration.overdue", "asset/T1"), 1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM events WHERE type ="
                                        " 'calibration.overdue' AND json_extract(payload,"
                                        " '$.usage') = 1000 AND json_extract(payload,"
                                        " '$.due_at') IS NULL"),
                     1);
    /* calibrated again: counting restarts from 6,000 */
    hub_cal(f, "T1", T0 + 4 * DAY, MODEL_TIME_UNSET);
    clock_set_fake(T0 + 4 * DAY, true);
    run_at(f, T0 + 4 * DAY);
    reading(f, "T1", 6500);
    run_at(f, T0 + 5 * DAY);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM rule_state WHERE kind ="
                                        " 'calibration' AND subject = 'T1' AND state = 'ok'"),
                     1);
    assert_int_equal(events(f, "calibration.overdue", "asset/T1"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lockout_and_closed_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_request_falls_back_to_hub, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_rate_opens_corrective_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_propagation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_based_calibration, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
