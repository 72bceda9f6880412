/* SPDX-License-Identifier: Apache-2.0
 *
 * test_conn_generic.c: unit tests for the pure parts of the generic
 * connector (src/conn/conn_generic.c), without a network: the asset type and
 * work-order status tables (an unmapped status is a mapping exception, never
 * a default), native -> canonical records (validated by the canonical model
 * parsers), canonical -> native translation, and the mapping of HTTP
 * statuses and transport failures to push outcomes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "conn/conn.h"
#include "conn/conn_generic.h"
#include "model/asset.h"
#include "model/work_order.h"

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    return j;
}

static const char *s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_registered(void **state)
{
    (void)state;
    const struct conn_ops *ops = conn_find("generic");
    assert_ptr_equal(ops, &conn_generic);
    assert_true(conn_has(ops, CONN_CAP_PULL_ASSETS | CONN_CAP_PULL_METERS | CONN_CAP_PULL_PLANS |
                                  CONN_CAP_PULL_WORK_ORDERS | CONN_CAP_PUSH_READINGS |
                                  CONN_CAP_OPEN_REQUEST | CONN_CAP_UPDATE_WORK_ORDER));
    assert_false(conn_has(ops, CONN_CAP_PULL_CALIBRATION));
    assert_false(conn_has(ops, CONN_CAP_WEBHOOKS_IN));
}

static void test_asset_type_table(void **state)
{
    (void)state;
    static const struct {
        const char *native, *canonical;
    } want[] = {
        {"test_station", "station"},    {"ict_fixture", "fixture"},
        {"multimeter", "instrument"},   {"oscilloscope", "instrument"},
        {"power_supply", "instrument"}, {"torque_tool", "tool"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *c = NULL;
        assert_true(conn_generic_asset_type(want[i].native, &c));
        assert_string_equal(c, want[i].canonical);
    }
    const char *c = NULL;
    assert_false(conn_generic_asset_type("laser_cutter", &c));
    assert_string_equal(c, "other");
    assert_false(conn_generic_asset_type(NULL, &c));
    assert_string_equal(c, "other");
}

static void test_wo_status_table(void **state)
{
    (void)state;
    const char *names[] = {"open", "in_progress", "on_hold", "completed", "cancelled"};
    for (size_t i = 0; i < 5; i++) {
        const char *c = NULL, *n = NULL;
        assert_int_equal(conn_generic_wo_status_to_common(names[i], &c), AB_OK);
        assert_string_equal(c, names[i]);
        enum model_wo_status st;
        assert_true(model_wo_status_parse(c, &st)); /* a real common status */
        assert_int_equal(conn_generic_wo_status_to_native(c, &n), AB_OK);
        assert_string_equal(n, names[i]);
    }
    const char *c = "x";
    assert_int_equal(conn_generic_wo_status_to_common("waiting_parts", &c), AB_ENOTFOUND);
    assert_null(c);
    assert_int_equal(conn_generic_wo_status_to_common(NULL, &c), AB_ENOTFOUND);
    const char *unmapped[] = {"draft", "assigned", "closed"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(conn_generic_wo_status_to_native(unmapped[i], &c), AB_ENOTFOUND);
}

static const char ASSET[] =
    "{\"id\":\"A-000001\",\"tag\":\"PSU-1001\",\"name\":\"Programmable power supply 1001\","
    "\"type\":\"power_supply\",\"status\":\"in_repair\",\"location\":\"Line 2\","
    "\"manufacturer\":\"Keysight\",\"model\":\"E36313A\",\"serial_number\":\"SN66428519\","
    "\"calibration\":{\"interval_days\":365,\"last_calibrated_at\":\"2026-10-03T12:41:03.787Z\","
    "\"due_at\":\"2027-10-03T12:41:03.787Z\",\"status\":\"ok\"},"
    "\"created_at\":\"2025-08-23T19:07:26.285Z\",\"updated_at\":\"2026-08-23T19:07:26.285Z\","
    "\"version\":4}";

static void test_asset_record(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    json_t *in = load(ASSET);
    struct conn_record r;
    assert_int_equal(conn_generic_record("asset", in, a, &r), AB_OK);
    assert_string_equal(r.native_id, "A-000001");
    assert_int_equal(r.revision, 4);
    assert_int_equal(r.modified_at, 1787512046285LL);
    assert_null(r.mapping_exception);
    assert_false(r.deleted);
    assert_string_equal(s(r.doc, "asset_ref"), "PSU-1001");
    assert_string_equal(s(r.doc, "serial_number"), "SN66428519");
    assert_string_equal(s(r.doc, "type"), "instrument");
    assert_string_equal(s(r.doc, "status"), "in_repair");
    assert_string_equal(s(r.doc, "part_number"), "E36313A");
    const json_t *attrs = json_object_get(r.doc, "attributes");
    assert_string_equal(s(attrs, "generic_type"), "power_supply");
    assert_string_equal(s(attrs, "manufacturer"), "Keysight");
    assert_string_equal(s(attrs, "calibration_due_at"), "2027-10-03T12:41:03.787Z");
    assert_null(json_object_get(attrs, "status")); /* computed by the provider's clock */

    /* the document is a valid canonical asset */
    struct model_asset m;
    struct model_error err;
    assert_int_equal(model_asset_from_json(a, r.doc, &m, &err), AB_OK);
    assert_int_equal(m.type, MODEL_ASSET_INSTRUMENT);

    /* an unknown type is "other" and keeps the native type */
    json_object_set_new(in, "type", json_string("laser_cutter"));
    assert_int_equal(conn_generic_record("asset", in, a, &r), AB_OK);
    assert_string_equal(s(r.doc, "type"), "other");
    assert_string_equal(s(json_object_get(r.doc, "attributes"), "generic_type"), "laser_cutter");
    assert_null(r.mapping_exception);

    /* an unknown status is a mapping exception, not a default */
    json_object_set_new(in, "status", json_string("quarantined"));
    assert_int_equal(conn_generic_record("asset", in, a, &r), AB_OK);
    assert_non_null(r.mapping_exception);
    assert_non_null(strstr(r.mapping_exception, "quarantined"));
    assert_null(json_object_get(r.doc, "status"));

    /* inactive has no canonical twin: in_storage */
    json_object_set_new(in, "status", json_string("inactive"));
    assert_int_equal(conn_generic_record("asset", in, a, &r), AB_OK);
    assert_string_equal(s(r.doc, "status"), "in_storage");

    /* round trip back to native */
    json_object_set_new(in, "type", json_string("power_supply"));
    assert_int_equal(conn_generic_record("asset", in, a, &r), AB_OK);
    json_t *back = NULL;
    assert_int_equal(conn_translate(&conn_generic, NULL, CONN_TO_NATIVE, "asset", r.doc, a, &back),
                     AB_OK);
    assert_string_equal(s(back, "tag"), "PSU-1001");
    assert_string_equal(s(back, "type"), "power_supply");
    assert_string_equal(s(back, "status"), "inactive");
    assert_string_equal(s(back, "model"), "E36313A");
    assert_string_equal(s(back, "location"), "Line 2");

    assert_int_equal(conn_generic_record("asset", json_object_get(in, "calibration"), a, &r),
                     AB_EINVAL);
    assert_int_equal(conn_generic_record("calibration", in, a, &r), AB_EUNSUPPORTED);
    json_decref(in);
    arena_free(a);
}

static const char WO[] =
    "{\"id\":\"WO-000002\",\"asset_id\":\"A-000003\",\"plan_id\":\"P-000003\","
    "\"title\":\"Scheduled calibration\",\"description\":\"Generated from plan\","
    "\"type\":\"calibration\",\"status\":\"in_progress\",\"priority\":1,"
    "\"due_at\":\"2026-12-21T12:41:03.787Z\",\"overdue\":false,\"completed_at\":null,"
    "\"created_at\":\"2026-09-06T14:34:15.229Z\",\"updated_at\":\"2026-09-08T14:34:15.229Z\","
    "\"version\":3}";

static void test_work_order_record(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    json_t *in = load(WO);
    struct conn_record r;
    assert_int_equal(conn_generic_record("work_order", in, a, &r), AB_OK);
    assert_string_equal(r.native_id, "WO-000002");
    assert_int_equal(r.revision, 3);
    assert_null(r.mapping_exception);
    assert_string_equal(s(r.doc, "common_status"), "in_progress");
    assert_string_equal(s(r.doc, "source_status"), "in_progress");
    assert_string_equal(s(r.doc, "priority"), "urgent");
    assert_string_equal(s(r.doc, "source_priority"), "1");
    assert_string_equal(s(r.doc, "asset_native_id"), "A-000003");
    assert_string_equal(s(r.doc, "notes"), "Scheduled calibration\nGenerated from plan");
    assert_string_equal(s(r.doc, "sla_due_at"), "2026-12-21T12:41:03.787Z");

    /* valid canonical once the store resolved the asset */
    json_t *doc = json_deep_copy(r.doc);
    json_object_del(doc, "asset_native_id");
    json_object_set_new(doc, "asset_ref", json_string("FX-1003"));
    struct model_work_order wo;
    struct model_error err;
    assert_int_equal(model_work_order_from_json(a, doc, &wo, &err), AB_OK);
    assert_int_equal(wo.common_status, MODEL_WO_IN_PROGRESS);
    assert_int_equal(wo.priority, MODEL_PRIORITY_URGENT);
    assert_int_equal(wo.revision, 3);
    json_decref(doc);

    /* back to native: a PATCH body (no asset, status mapped) */
    json_t *back = NULL;
    assert_int_equal(
        conn_translate(&conn_generic, NULL, CONN_TO_NATIVE, "work_order", r.doc, a, &back), AB_OK);
    assert_string_equal(s(back, "title"), "Scheduled calibration");
    assert_string_equal(s(back, "description"), "Generated from plan");
    assert_string_equal(s(back, "status"), "in_progress");
    assert_int_equal(json_integer_value(json_object_get(back, "priority")), 1);
    assert_null(json_object_get(back, "asset_id"));

    /* priority 5 and 4 are both low: the provider's own value is kept */
    json_object_set_new(r.doc, "priority", json_string("low"));
    json_object_set_new(r.doc, "source_priority", json_string("5"));
    assert_int_equal(
        conn_translate(&conn_generic, NULL, CONN_TO_NATIVE, "work_order", r.doc, a, &back), AB_OK);
    assert_int_equal(json_integer_value(json_object_get(back, "priority")), 5);
    json_object_del(r.doc, "source_priority");
    assert_int_equal(
        conn_translate(&conn_generic, NULL, CONN_TO_NATIVE, "work_order", r.doc, a, &back), AB_OK);
    assert_int_equal(json_integer_value(json_object_get(back, "priority")), 4);

    /* a common status the provider cannot take is refused */
    json_object_set_new(r.doc, "common_status", json_string("assigned"));
    assert_int_equal(
        conn_translate(&conn_generic, NULL, CONN_TO_NATIVE, "work_order", r.doc, a, &back),
        AB_EINVAL);

    /* an unmapped native status: a mapping exception, source kept, no default */
    json_object_set_new(in, "status", json_string("waiting_parts"));
    assert_int_equal(conn_generic_record("work_order", in, a, &r), AB_OK);
    assert_non_null(r.mapping_exception);
    assert_non_null(strstr(r.mapping_exception, "waiting_parts"));
    assert_null(json_object_get(r.doc, "common_status"));
    assert_string_equal(s(r.doc, "source_status"), "waiting_parts");
    json_decref(in);
    arena_free(a);
}

static void test_meter_and_plan_records(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    json_t *m = load("{\"id\":\"M-000002\",\"asset_id\":\"A-000003\",\"name\":\"cycles\","
                     "\"kind\":\"counter\",\"unit\":\"cycles\",\"last_value\":10477.0,"
                     "\"last_read_at\":\"2026-09-07T02:59:25.161Z\","
                     "\"created_at\":\"2025-11-11T02:59:25.161Z\","
                     "\"updated_at\":\"2026-09-07T02:59:25.161Z\",\"version\":1}");
    struct conn_record r;
    assert_int_equal(conn_generic_record("meter", m, a, &r), AB_OK);
    assert_string_equal(s(r.doc, "meter_type"), "cycles");
    assert_string_equal(s(r.doc, "asset_native_id"), "A-000003");
    assert_true(json_real_value(json_object_get(r.doc, "value")) == 10477.0);
    json_decref(m);

    json_t *p = load("{\"id\":\"P-000001\",\"asset_id\":\"A-000001\",\"name\":\"Calibration\","
                     "\"kind\":\"calibration\",\"interval_days\":365,"
                     "\"last_done_at\":\"2026-10-03T12:41:03.787Z\","
                     "\"next_due_at\":\"2027-10-03T12:41:03.787Z\",\"status\":\"ok\","
                     "\"created_at\":\"2025-08-27T20:48:13.532Z\","
                     "\"updated_at\":\"2026-08-27T20:48:13.532Z\"}");
    assert_int_equal(conn_generic_record("maintenance_plan", p, a, &r), AB_OK);
    assert_int_equal(r.revision, -1); /* plans have no version */
    assert_string_equal(s(r.doc, "plan_id"), "P-000001");
    assert_string_equal(s(r.doc, "trigger"), "time");
    assert_string_equal(s(r.doc, "next_due_at"), "2027-10-03T12:41:03.787Z");
    json_decref(p);
    arena_free(a);
}

static void test_http_outcomes(void **state)
{
    (void)state;
    static const struct {
        int status;
        const char *code;
        enum conn_outcome outcome;
        const char *cls;
    } cases[] = {
        {200, NULL, CONN_OK, NULL},
        {201, NULL, CONN_OK, NULL},
        {400, "bad_request", CONN_PERMANENT, "validation"},
        {422, "validation_failed", CONN_PERMANENT, "validation"},
        {401, "unauthorized", CONN_PERMANENT, "auth"},
        {401, "token_expired", CONN_RETRYABLE, "auth_expired"},
        {403, NULL, CONN_PERMANENT, "forbidden"},
        {404, "not_found", CONN_PERMANENT, "not_found"},
        {409, "invalid_transition", CONN_PERMANENT, "conflict"},
        {412, "precondition_failed", CONN_PERMANENT, "conflict"},
        {429, "rate_limited", CONN_RETRYABLE, "throttled"},
        {500, NULL, CONN_RETRYABLE, "unavailable"},
        {503, NULL, CONN_RETRYABLE, "unavailable"},
        {418, NULL, CONN_PERMANENT, "http_error"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conn_result r;
        memset(&r, 0, sizeof(r));
        conn_generic_http_outcome(cases[i].status, cases[i].code, NULL, 0, &r);
        assert_int_equal(r.outcome, cases[i].outcome);
        if (cases[i].cls)
            assert_string_equal(r.error_class, cases[i].cls);
        else
            assert_null(r.error_class);
    }
    struct conn_result r;
    conn_generic_http_outcome(429, "rate_limited", "3", 0, &r);
    assert_int_equal(r.retry_after_ms, 3000);
    conn_generic_http_outcome(503, NULL, "Thu, 01 Jan 1970 00:00:10 GMT", 4000, &r);
    assert_int_equal(r.retry_after_ms, 6000);
    conn_generic_http_outcome(429, NULL, "soon", 0, &r);
    assert_int_equal(r.retry_after_ms, -1);
    conn_generic_http_outcome(400, NULL, "3", 0, &r); /* only for retryable outcomes */
    assert_int_equal(r.retry_after_ms, -1);
}

static void test_transport_outcomes(void **state)
{
    (void)state;
    struct conn_result r;
    conn_generic_transport_outcome(AB_EUNKNOWN, true, &r);
    assert_int_equal(r.outcome, CONN_UNKNOWN);
    conn_generic_transport_outcome(AB_ENETWORK, false, &r);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    conn_generic_transport_outcome(AB_ETIMEOUT, false, &r);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    assert_string_equal(r.error_class, "timeout");
    conn_generic_transport_outcome(AB_ETOOLARGE, true, &r); /* sent: may have happened */
    assert_int_equal(r.outcome, CONN_UNKNOWN);
    conn_generic_transport_outcome(AB_EAUTH, false, &r);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "tls");
}

static void test_reading_translation(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    json_t *in = load("{\"asset_ref\":\"FX-1003\",\"meter_type\":\"cycles\",\"value\":12000,"
                      "\"read_at\":\"2026-11-01T00:00:00Z\"}");
    json_t *out = NULL;
    assert_int_equal(conn_translate(&conn_generic, NULL, CONN_TO_NATIVE, "reading", in, a, &out),
                     AB_OK);
    assert_true(json_number_value(json_object_get(out, "value")) == 12000.0);
    assert_string_equal(s(out, "read_at"), "2026-11-01T00:00:00Z");
    assert_int_equal(json_object_size(out), 2);
    json_object_del(in, "value");
    json_object_set_new(in, "increment", json_integer(5));
    assert_int_equal(conn_translate(&conn_generic, NULL, CONN_TO_NATIVE, "reading", in, a, &out),
                     AB_EINVAL);
    assert_int_equal(
        conn_translate(&conn_generic, NULL, CONN_TO_NATIVE, "calibration", in, a, &out),
        AB_EUNSUPPORTED);
    json_decref(in);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registered),          cmocka_unit_test(test_asset_type_table),
        cmocka_unit_test(test_wo_status_table),     cmocka_unit_test(test_asset_record),
        cmocka_unit_test(test_work_order_record),   cmocka_unit_test(test_meter_and_plan_records),
        cmocka_unit_test(test_http_outcomes),       cmocka_unit_test(test_transport_outcomes),
        cmocka_unit_test(test_reading_translation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
