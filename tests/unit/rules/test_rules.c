/* SPDX-License-Identifier: Apache-2.0
 *
 * test_rules.c: unit tests for src/rules/rules.c on a real SQLite store,
 * driven by rules_run_once() with the fake clock: calibration due_soon and
 * overdue events once per occurrence (also across an engine restart), a new
 * due date starting a new occurrence, one open_request outbox item per
 * occurrence for the calibration system of record (with the asset's native
 * id), the hub's own work order when no provider with a connector owns the
 * domain or the asset is not linked, maintenance plans due by time and by
 * usage, the work-order SLA watch and the provider sync-lag watch.
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
#include "store/journal.h"
#include "store/readings.h"
#include "store/records.h"
#include "store/rules.h"
#include "store/workorders.h"

static const char CONFIG[] = "tenants:\n"
                             "  t1:\n"
                             "    providers:\n"
                             "      sap:\n"
                             "        type: generic\n"
                             "        base_url: http://127.0.0.1:9\n"
                             "        entities: {asset: {interval: 5m}}\n"
                             "      cmms:\n"
                             "        type: maximo\n"
                             "        base_url: http://127.0.0.1:9\n"
                             "    system_of_record:\n"
                             "      plant-1: {calibration: sap, maintenance: sap}\n"
                             "      plant-3: {calibration: cmms}\n"
                             "    rules:\n"
                             "      evaluate_every: 1h\n"
                             "      calibration: {interval_days: 100}\n"
                             "      sla: {sync_lag: {sap: 30m}}\n"
                             "      sites:\n"
                             "        plant-9: {calibration: {enabled: false}}\n";

static void put_asset(struct fixture *f, const char *ref, const char *site)
{
    struct model_asset a = test_asset(ref, NULL);
    a.site = site;
    a.type = MODEL_ASSET_INSTRUMENT;
    assert_int_equal(test_put(f->db.s, &a, 0, NULL), AB_OK);
}

static int setup(void **state)
{
    struct fixture *f = fixture_open(CONFIG);
    if (!f)
        return -1;
    put_asset(f, "A1", "plant-1");
    assert_int_equal(test_link(f->db.s, "sap", "EQ-1", "A1"), AB_OK);
    put_asset(f, "A2", "plant-2"); /* no system of record */
    put_asset(f, "A3", "plant-1"); /* not linked to sap */
    put_asset(f, "A4", "plant-3"); /* owned by a provider without a connector */
    assert_int_equal(test_link(f->db.s, "cmms", "C-4", "A4"), AB_OK);
    put_asset(f, "A9", "plant-9"); /* rules disabled */
    fixture_start_rules(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    return fixture_close(*state);
}

/* ---- helpers ------------------------------------------------------------------ */

/* A calibration record of the asset linked as native_id at sap: due at
 * due (the interval comes from the rules: 100 days). */
static void cal(struct fixture *f, const char *provider, const char *native_id, int64_t due)
{
    char ts[TIME_RFC3339_MAX], doc[256];
    time_format_rfc3339(due, ts);
    snprintf(doc, sizeof(doc), "{\"asset_native_id\":\"%s\",\"due_at\":\"%s\"}", native_id, ts);
    pulled(f, provider, "calibration", native_id, doc);
}

static int64_t requests(struct fixture *f, const char *asset)
{
    return test_count(&f->db,
                      "SELECT COUNT(*) FROM outbox WHERE action = 'open_request'"
                      " AND subject = 'asset/%s'",
                      asset);
}

static int64_t hub_wos(struct fixture *f, const char *asset)
{
    return test_count(&f->db,
                      "SELECT COUNT(*) FROM objects WHERE kind = 'work_order' AND asset_ref = '%s'"
                      " AND json_extract(doc, '$.provider_id') = 'hub'",
                      asset);
}

/* The request of idempotency key delivered to sap as notification native,
 * which sap then reports completed at `at` (as a pull would store it). */
static void sap_completes(struct fixture *f, const char *key, const char *native,
                          const char *asset_native, int64_t at)
{
    char sql[512], doc[512], ts[TIME_RFC3339_MAX];
    snprintf(sql, sizeof(sql),
             "UPDATE outbox SET state = 'done', result_native_id = '%s'"
             " WHERE idempotency_key = '%s'",
             native, key);
    exec_sql(f, sql);
    time_format_rfc3339(at, ts);
    snprintf(doc, sizeof(doc),
             "{\"asset_native_id\":\"%s\",\"type\":\"calibration\","
             "\"common_status\":\"completed\",\"completed_at\":\"%s\","
             "\"certificate_id\":\"CERT-%s\",\"sap_notification_type\":\"M1\"}",
             asset_native, ts, native);
    pulled(f, "sap", "notification", native, doc);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_calibration_due_once_per_occurrence(void **state)
{
    struct fixture *f = *state;
    int64_t due = T0 + 100 * DAY;
    cal(f, "sap", "EQ-1", due);
    run_at(f, T0);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 0);
    run_at(f, T0 + 89 * DAY); /* soon at 90 % of 100 days */
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 0);
    assert_int_equal(requests(f, "A1"), 0);
    run_at(f, T0 + 91 * DAY);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 1);
    assert_int_equal(events(f, "calibration.overdue", "asset/A1"), 0);
    /* one request for the system of record, addressed by the native id */
    assert_int_equal(requests(f, "A1"), 1);
    assert_int_equal(
        test_count(&f->db,
                   "SELECT COUNT(*) FROM outbox WHERE provider = 'sap' AND entity = 'work_order'"
                   " AND json_extract(payload, '$.asset_native_id') = 'EQ-1'"
                   " AND json_extract(payload, '$.type') = 'calibration'"
                   " AND json_extract(payload, '$.reason') = 'due_soon'"
                   " AND json_extract(payload, '$.due_at') = '2026-04-11T00:00:00Z'"
                   " AND idempotency_key = 'rule:calibration:A1:calibration:2026-04-11T00:00:00Z'"),
        1);
    assert_int_equal(hub_wos(f, "A1"), 0);
    /* the same state again: nothing new */
    run_at(f, T0 + 92 * DAY);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 1);
    assert_int_equal(requests(f, "A1"), 1);
    /* a restart: the state is in the store */
    rules_stop(f->rules);
    struct rules_opts o = {.manual = true};
    assert_int_equal(rules_start_ex(f->cfg, f->db.s, &o, &f->rules), AB_OK);
    run_at(f, T0 + 93 * DAY);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 1);
    assert_int_equal(requests(f, "A1"), 1);
    /* overdue: once, and still one request */
    run_at(f, due);
    run_at(f, due + DAY);
    assert_int_equal(events(f, "calibration.overdue", "asset/A1"), 1);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 1);
    assert_int_equal(requests(f, "A1"), 1);
    /* a new due date: a new occurrence, but the open request stays the one
     * request until it is closed */
    int64_t due2 = due + 100 * DAY;
    clock_set_fake(due + 2 * DAY, true);
    cal(f, "sap", "EQ-1", due2);
    run_at(f, due + 2 * DAY);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM rule_state WHERE subject = 'A1'"
                                        " AND kind = 'calibration' AND state = 'ok'"
                                        " AND request_key IS NOT NULL"
                                        " AND request_closed_at IS NULL"),
                     1);
    run_at(f, due2 - 5 * DAY);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 2);
    assert_int_equal(requests(f, "A1"), 1);
    /* sap completes it: the loop closes (once), and the next occurrence
     * opens the next request */
    sap_completes(f, "rule:calibration:A1:calibration:2026-04-11T00:00:00Z", "N1", "EQ-1",
                  due2 - 4 * DAY);
    run_at(f, due2 - 4 * DAY);
    run_at(f, due2 - 4 * DAY + 1000);

    assert_int_equal(test_count(&f->db,
                                "SELECT COUNT(*) FROM events WHERE type ="
                                " 'calibration.completed'"
                                " AND json_extract(payload, '$.origin') = 'sap'"
                                " AND json_extract(payload, '$.certificate_id') = 'CERT-N1'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM rule_state WHERE subject = 'A1'"
                                        " AND kind = 'calibration'"
                                        " AND request_closed_at IS NOT NULL"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM audit WHERE action ="
                                        " 'rules.request_closed'"),
                     1);
    int64_t due3 = due2 + 100 * DAY;
    clock_set_fake(due2 - 3 * DAY, true);
    cal(f, "sap", "EQ-1", due3);
    run_at(f, due3 - 5 * DAY);
    assert_int_equal(requests(f, "A1"), 2);
    struct rules_stats st;
    rules_get_stats(f->rules, &st);
    assert_int_equal(st.errors, 0);
}

static void test_jump_to_overdue(void **state)
{
    struct fixture *f = *state;
    cal(f, "sap", "EQ-1", T0 + 10 * DAY);
    run_at(f, T0 + 20 * DAY); /* first seen when already overdue */
    assert_int_equal(events(f, "calibration.overdue", "asset/A1"), 1);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 0);
    assert_int_equal(requests(f, "A1"), 1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE"
                                        " json_extract(payload, '$.reason') = 'overdue'"
                                        " AND json_extract(payload, '$.priority') = 'high'"),
                     1);
}

static void test_hub_work_order_fallback(void **state)
{
    struct fixture *f = *state;
    int64_t due = T0 + 100 * DAY;
    hub_cal(f, "A2", T0, due);  /* plant-2: no system of record */
    hub_cal(f, "A3", T0, due);  /* plant-1, but not linked to sap */
    cal(f, "cmms", "C-4", due); /* plant-3: maximo has no connector */
    hub_cal(f, "A9", T0, due);  /* rules disabled at plant-9 */
    run_at(f, T0 + 95 * DAY);
    const char *refs[] = {"A2", "A3", "A4"};
    for (size_t i = 0; i < 3; i++) {
        char subj[32];
        snprintf(subj, sizeof(subj), "asset/%s", refs[i]);
        assert_int_equal(events(f, "calibration.due", subj), 1);
        assert_int_equal(hub_wos(f, refs[i]), 1);
        assert_int_equal(requests(f, refs[i]), 0);
    }
    assert_int_equal(
        test_count(&f->db,
                   "SELECT COUNT(*) FROM objects WHERE kind = 'work_order'"
                   " AND asset_ref = 'A2' AND json_extract(doc, '$.type') = 'calibration'"
                   " AND status = 'open' AND due_at = %lld",
                   (long long)due),
        1);
    assert_int_equal(events(f, "calibration.due", "asset/A9"), 0);
    assert_int_equal(hub_wos(f, "A9"), 0);
    /* again (and overdue): still one work order each */
    run_at(f, due + DAY);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(hub_wos(f, refs[i]), 1);
    struct rules_stats st;
    rules_get_stats(f->rules, &st);
    assert_int_equal(st.hub_work_orders, 3);
}

static void test_maintenance_time_plan(void **state)
{
    struct fixture *f = *state;
    pulled(f, "sap", "maintenance_plan", "MP-1",
           "{\"asset_native_id\":\"EQ-1\",\"plan_id\":\"MP-1\",\"trigger\":\"time\","
           "\"interval\":30,\"interval_unit\":\"days\","
           "\"next_due_at\":\"2026-01-31T00:00:00Z\"}");
    run_at(f, T0 + 29 * DAY);
    assert_int_equal(events(f, "maintenance.due", "asset/A1"), 0);
    run_at(f, T0 + 30 * DAY);
    run_at(f, T0 + 31 * DAY);
    assert_int_equal(events(f, "maintenance.due", "asset/A1"), 1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE action = 'open_request'"
                                        " AND json_extract(payload, '$.type') = 'maintenance'"
                                        " AND json_extract(payload, '$.plan_id') = 'MP-1'"
                                        " AND idempotency_key = "
                                        "'rule:maintenance:A1:MP-1:2026-01-31T00:00:00Z'"),
                     1);
    /* the plan moves on: a new occurrence */
    clock_set_fake(T0 + 32 * DAY, true);
    pulled(f, "sap", "maintenance_plan", "MP-1",
           "{\"asset_native_id\":\"EQ-1\",\"plan_id\":\"MP-1\",\"trigger\":\"time\","
           "\"interval\":30,\"interval_unit\":\"days\","
           "\"next_due_at\":\"2026-03-02T00:00:00Z\"}");
    run_at(f, T0 + 32 * DAY);
    assert_int_equal(events(f, "maintenance.due", "asset/A1"), 1);
    run_at(f, T0 + 61 * DAY);
    assert_int_equal(events(f, "maintenance.due", "asset/A1"), 2);
    /* the first request is still open: no second one */
    assert_int_equal(requests(f, "A1"), 1);
    /* closed in sap: maintenance.completed once; the next occurrence opens
     * the next request */
    sap_completes(f, "rule:maintenance:A1:MP-1:2026-01-31T00:00:00Z", "N7", "EQ-1", T0 + 62 * DAY);
    run_at(f, T0 + 62 * DAY);
    run_at(f, T0 + 62 * DAY + 1000);
    assert_int_equal(events(f, "maintenance.completed", "asset/A1"), 1);
    pulled(f, "sap", "maintenance_plan", "MP-1",
           "{\"asset_native_id\":\"EQ-1\",\"plan_id\":\"MP-1\",\"trigger\":\"time\","
           "\"interval\":30,\"interval_unit\":\"days\","
           "\"next_due_at\":\"2026-04-01T00:00:00Z\"}");
    run_at(f, T0 + 91 * DAY);
    assert_int_equal(requests(f, "A1"), 2);
}

static void test_maintenance_usage_plan(void **state)
{
    struct fixture *f = *state;
    reading(f, "A1", 100);
    pulled(f, "sap", "maintenance_plan", "MP-2",
           "{\"asset_native_id\":\"EQ-1\",\"plan_id\":\"MP-2\",\"trigger\":\"usage\","
           "\"interval\":1000,\"interval_unit\":\"cycles\",\"next_due_reading\":1000}");
    run_at(f, T0); /* full pass */
    assert_int_equal(events(f, "maintenance.due", "asset/A1"), 0);
    /* the meter passes the reading: seen as a change, before the next full pass */
    clock_set_fake(T0 + 60000, true);
    reading(f, "A1", 1001);
    run_at(f, T0 + 60000);
    assert_int_equal(events(f, "maintenance.due", "asset/A1"), 1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM outbox WHERE action ="
                                        " 'open_request' AND json_extract(payload, '$.reason') ="
                                        " 'usage' AND json_extract(payload, '$.plan_id') = 'MP-2'"),
                     1);
    clock_set_fake(T0 + 120000, true);
    reading(f, "A1", 1200);
    run_at(f, T0 + 120000);
    assert_int_equal(events(f, "maintenance.due", "asset/A1"), 1);
    assert_int_equal(requests(f, "A1"), 1);
}

struct wo_job {
    struct model_work_order wo;
    struct arena *a;
    struct store_wo_result res;
};

static enum ab_rc wo_create_job(struct store_tx *tx, void *arg)
{
    struct wo_job *j = arg;
    return store_work_order_create(tx, "t1", &j->wo, "tester", j->a, &j->res);
}

static const char *hub_wo(struct fixture *f, const char *ref, int64_t sla, struct arena *a)
{
    struct wo_job j;
    memset(&j, 0, sizeof(j));
    j.wo.provider_id = MODEL_PROVIDER_HUB;
    j.wo.asset_ref = ref;
    j.wo.type = MODEL_WO_CORRECTIVE;
    j.wo.common_status = MODEL_WO_OPEN;
    j.wo.sla_due_at = sla;
    j.wo.opened_at = j.wo.started_at = j.wo.completed_at = j.wo.closed_at = MODEL_TIME_UNSET;
    j.wo.last_synced_at = MODEL_TIME_UNSET;
    j.a = a;
    assert_int_equal(store_write(f->db.s, wo_create_job, &j, NULL), AB_OK);
    return j.res.obj.id;
}

static void test_sla_breached_once(void **state)
{
    struct fixture *f = *state;
    struct arena *a = arena_new(4096, 1u << 20);
    const char *id = hub_wo(f, "A2", T0 + DAY, a);
    (void)hub_wo(f, "A3", T0 + 10 * DAY, a);
    char subj[64];
    snprintf(subj, sizeof(subj), "work-order/%s", id);
    run_at(f, T0 + DAY - 1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM events WHERE type ="
                                        " 'work_order.sla_breached'"),
                     0);
    run_at(f, T0 + DAY + 1);
    run_at(f, T0 + 2 * DAY);
    assert_int_equal(events(f, "work_order.sla_breached", subj), 1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM events WHERE type ="
                                        " 'work_order.sla_breached'"),
                     1);
    arena_free(a);
}

struct lag_job {
    int64_t at;
};

static enum ab_rc lag_job(struct store_tx *tx, void *arg)
{
    struct lag_job *l = arg;
    struct store_sync_state s;
    memset(&s, 0, sizeof(s));
    s.tenant = "t1";
    s.provider = "sap";
    s.entity = "asset";
    s.last_success_at = l->at;
    s.last_error_at = INT64_MIN;
    return store_sync_state_put(tx, &s);
}

static void test_sync_lagging(void **state)
{
    struct fixture *f = *state;
    struct lag_job l = {T0};
    assert_int_equal(store_write(f->db.s, lag_job, &l, NULL), AB_OK);
    run_at(f, T0 + 29 * 60000);
    assert_int_equal(events(f, "sync.lagging", "provider/sap"), 0);
    run_at(f, T0 + 31 * 60000);
    run_at(f, T0 + 40 * 60000);
    assert_int_equal(events(f, "sync.lagging", "provider/sap"), 1);
    /* it recovers, then lags again: a second event */
    l.at = T0 + 40 * 60000;
    assert_int_equal(store_write(f->db.s, lag_job, &l, NULL), AB_OK);
    run_at(f, T0 + 41 * 60000);
    assert_int_equal(events(f, "sync.lagging", "provider/sap"), 1);
    run_at(f, T0 + 80 * 60000);
    assert_int_equal(events(f, "sync.lagging", "provider/sap"), 2);
}

static void test_thread_mode(void **state)
{
    struct fixture *f = *state;
    cal(f, "sap", "EQ-1", T0 + DAY); /* due soon already */
    struct rules *r;
    struct rules_opts o = {.manual = false, .tick_ms = 20};
    assert_int_equal(rules_start_ex(f->cfg, f->db.s, &o, &r), AB_OK);
    int64_t deadline = clock_mono_ms() + 10000;
    while (events(f, "calibration.due", "asset/A1") == 0 && clock_mono_ms() < deadline) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    rules_stop(r);
    assert_int_equal(events(f, "calibration.due", "asset/A1"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_calibration_due_once_per_occurrence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jump_to_overdue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_work_order_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maintenance_time_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maintenance_usage_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_breached_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_lagging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_mode, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
