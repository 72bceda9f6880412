/* SPDX-License-Identifier: Apache-2.0
 *
 * test_conn_sap_pm.c: unit tests for the pure half of the SAP PM connector
 * (conn_sap_pm_map.c): OData V2/V4 dates and literals, value maps, the
 * external reference, SAP's error bodies, HTTP outcome classification,
 * native -> canonical records (with unmapped phases as mapping exceptions
 * and ambiguous match keys), the notification body and usage totals. No
 * network: the integration test (tests/integration/test_conn_sap_pm.py)
 * drives the connector against `assetbridge sim sap_pm`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "conn/conn_sap_pm.h"
#include "conn/conn_util.h"
#include "model/work_order.h"

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    assert_non_null(j);
    return j;
}

static const char *dstr(const json_t *doc, const char *k)
{
    return json_string_value(json_object_get(doc, k));
}

static void test_times(void **state)
{
    (void)state;
    int64_t ms;
    json_t *v = json_string("/Date(1492098664000)/");
    assert_int_equal(conn_sap_pm_time(v, &ms), AB_OK);
    assert_int_equal(ms, 1492098664000LL);
    json_decref(v);
    v = json_string("/Date(1542801052000+0000)/");
    assert_int_equal(conn_sap_pm_time(v, &ms), AB_OK);
    assert_int_equal(ms, 1542801052000LL);
    json_decref(v);
    v = json_string("2017-04-13");
    assert_int_equal(conn_sap_pm_time(v, &ms), AB_OK);
    assert_int_equal(ms, 1492041600000LL);
    json_decref(v);
    v = json_string("2017-04-13T15:51:04Z");
    assert_int_equal(conn_sap_pm_time(v, &ms), AB_OK);
    json_decref(v);
    v = json_string("/Date(x)/");
    assert_int_equal(conn_sap_pm_time(v, &ms), AB_EINVAL);
    json_decref(v);
    assert_int_equal(conn_sap_pm_time(json_null(), &ms), AB_EINVAL);

    struct arena *a = arena_new(0, 0);
    assert_string_equal(conn_sap_pm_time_literal(a, 1767225600000LL, false),
                        "datetimeoffset'2026-01-01T00:00:00Z'");
    assert_string_equal(conn_sap_pm_time_literal(a, 1767225600123LL, true),
                        "datetime'2026-01-01T00:00:00.123'");
    char day[11];
    conn_sap_pm_day(1492098664000LL, day);
    assert_string_equal(day, "2017-04-13");
    assert_string_equal(conn_odata_quote(a, "O'Brien"), "'O''Brien'");
    assert_string_equal(conn_qenc(a, "a b'"), "a%20b%27");
    arena_free(a);
}

static void test_ext_ref(void **state)
{
    (void)state;
    char r1[21], r2[21], r3[21];
    conn_sap_pm_ext_ref("wo:01J0000000000000000000000:create", r1);
    conn_sap_pm_ext_ref("wo:01J0000000000000000000000:create", r2);
    conn_sap_pm_ext_ref("wo:01J0000000000000000000001:create", r3);
    assert_int_equal(strlen(r1), 18); /* MaintNotifExtReferenceNumber holds 20 */
    assert_string_equal(r1, r2);
    assert_string_not_equal(r1, r3);
    assert_memory_equal(r1, "AB", 2);
    /* FNV-1a 64 of "" is the offset basis: stable across versions */
    conn_sap_pm_ext_ref("", r1);
    assert_string_equal(r1, "ABCBF29CE484222325");
}

static void test_maps(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    static const char *const allowed[] = {"open", "closed", NULL};
    static const char *const items[] = {"01 = open", "09=closed", "02=open"};
    struct conn_sap_pm_map m;
    char err[128];
    assert_int_equal(conn_sap_pm_map_parse(a, items, 3, allowed, &m, err, sizeof(err)), AB_OK);
    assert_string_equal(conn_sap_pm_map_common(&m, "01"), "open");
    assert_string_equal(conn_sap_pm_map_common(&m, "02"), "open");
    assert_null(conn_sap_pm_map_common(&m, "07"));
    assert_string_equal(conn_sap_pm_map_native(&m, "open"), "01"); /* the first */
    static const char *const bad[] = {"01=opened"};
    assert_int_equal(conn_sap_pm_map_parse(a, bad, 1, allowed, &m, err, sizeof(err)), AB_EINVAL);
    assert_non_null(strstr(err, "opened"));
    static const char *const bad2[] = {"=open"};
    assert_int_equal(conn_sap_pm_map_parse(a, bad2, 1, allowed, &m, err, sizeof(err)), AB_EINVAL);
    arena_free(a);
}

static void test_errors_and_outcomes(void **state)
{
    (void)state;
    json_t *v2 = parse("{\"error\":{\"code\":\"X\",\"message\":{\"lang\":\"en\",\"value\":\"bad "
                       "key\"}}}");
    assert_string_equal(conn_sap_pm_error_text(v2), "bad key");
    json_decref(v2);
    json_t *v4 = parse("{\"error\":{\"code\":\"X\",\"message\":\"no point\"}}");
    assert_string_equal(conn_sap_pm_error_text(v4), "no point");
    json_decref(v4);
    assert_null(conn_sap_pm_error_text(NULL));

    struct conn_result r;
    memset(&r, 0, sizeof(r));
    conn_sap_pm_http_outcome(201, NULL, false, 0, &r);
    assert_int_equal(r.outcome, CONN_OK);
    conn_sap_pm_http_outcome(400, NULL, false, 0, &r);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "validation");
    conn_sap_pm_http_outcome(401, NULL, false, 0, &r);
    assert_string_equal(r.error_class, "auth");
    conn_sap_pm_http_outcome(403, NULL, true, 0, &r);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    assert_string_equal(r.error_class, "csrf");
    conn_sap_pm_http_outcome(403, NULL, false, 0, &r);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "forbidden");
    conn_sap_pm_http_outcome(429, "2", false, 0, &r);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    assert_string_equal(r.error_class, "throttled");
    assert_int_equal(r.retry_after_ms, 2000);
    conn_sap_pm_http_outcome(503, "Thu, 01 Jan 1970 00:00:10 GMT", false, 4000, &r);
    assert_string_equal(r.error_class, "unavailable");
    assert_int_equal(r.retry_after_ms, 6000);
    conn_sap_pm_http_outcome(404, NULL, false, 0, &r);
    assert_string_equal(r.error_class, "not_found");
    conn_sap_pm_http_outcome(412, NULL, false, 0, &r);
    assert_string_equal(r.error_class, "conflict");
}

static void test_equipment(void **state)
{
    (void)state;
    struct conn_sap_pm_opts o;
    conn_sap_pm_opts_default(&o);
    struct arena *a = arena_new(0, 0);
    json_t *in = parse("{\"Equipment\":\"10000001\",\"EquipmentName\":\"Press 1\","
                       "\"TechnicalObjectType\":\"MACH\",\"MaintenancePlant\":\"1010\","
                       "\"SerialNumber\":\"\",\"ManufacturerSerialNumber\":\"MS-1\","
                       "\"FunctionalLocation\":\"1010-SP\",\"EquipmentIsMarkedForDeletion\":false,"
                       "\"EquipmentIsInactive\":true,"
                       "\"LastChangeDateTime\":\"/Date(1542801052000+0000)/\"}");
    json_t *meters = parse("{\"cycles\":1250}");
    struct conn_record r;
    assert_int_equal(conn_sap_pm_equipment_record(in, &o, NULL, NULL, meters, a, &r), AB_OK);
    assert_string_equal(r.native_id, "10000001");
    assert_int_equal(r.modified_at, 1542801052000LL);
    assert_null(r.mapping_exception);
    assert_string_equal(dstr(r.doc, "serial_number"), "MS-1"); /* SerialNumber empty */
    assert_string_equal(dstr(r.doc, "site"), "1010");          /* the engine maps plants */
    assert_string_equal(dstr(r.doc, "type"), "MACH");          /* ... and object types */
    assert_string_equal(dstr(r.doc, "status"), "in_storage");
    json_t *at = json_object_get(r.doc, "attributes");
    assert_string_equal(dstr(at, "sap_functional_location"), "1010-SP");
    assert_true(json_real_value(json_object_get(
                    json_object_get(json_object_get(r.doc, "provider_meters"), "cycles"),
                    "total")) == 1250.0);
    /* a characteristic with two values: ambiguous, a mapping exception */
    o.match = CONN_SAP_MATCH_CHARC;
    o.match_characteristic = "ASSET_TAG";
    assert_int_equal(conn_sap_pm_equipment_record(in, &o, NULL, "T-1, T-2", NULL, a, &r), AB_OK);
    assert_non_null(r.mapping_exception);
    assert_non_null(strstr(r.mapping_exception, "ASSET_TAG"));
    assert_null(json_object_get(r.doc, "serial_number"));
    assert_int_equal(conn_sap_pm_equipment_record(in, &o, "T-1", NULL, NULL, a, &r), AB_OK);
    assert_string_equal(dstr(r.doc, "serial_number"), "T-1");
    json_t *none = parse("{\"EquipmentName\":\"x\"}");
    assert_int_equal(conn_sap_pm_equipment_record(none, &o, NULL, NULL, NULL, a, &r), AB_EINVAL);
    json_decref(none);
    json_decref(meters);
    json_decref(in);
    arena_free(a);
}

static void test_order_and_notification(void **state)
{
    (void)state;
    struct conn_sap_pm_opts o;
    conn_sap_pm_opts_default(&o);
    struct arena *a = arena_new(0, 0);
    json_t *ord = parse("{\"MaintenanceOrder\":\"4000001\",\"MaintenanceOrderType\":\"PM02\","
                        "\"MaintenanceOrderDesc\":\"Service\",\"MaintOrdProcessPhaseCode\":\"07\","
                        "\"MaintPriority\":\"3\",\"Equipment\":\"10000001\","
                        "\"LatestAcceptableCompletionDate\":\"/Date(1492041600000)/\"}");
    struct conn_record r;
    assert_int_equal(conn_sap_pm_order_record(ord, &o, a, &r), AB_OK);
    assert_null(r.mapping_exception);
    assert_string_equal(dstr(r.doc, "common_status"), "in_progress");
    assert_string_equal(dstr(r.doc, "source_status"), "07");
    assert_string_equal(dstr(r.doc, "priority"), "medium");
    assert_string_equal(dstr(r.doc, "type"), "preventive");
    assert_string_equal(dstr(r.doc, "sla_due_at"), "2017-04-13");
    assert_string_equal(dstr(r.doc, "asset_native_id"), "10000001");
    /* the document is a strict common work order once the store has put the
     * asset_ref in place of asset_native_id */
    json_t *wo = json_deep_copy(r.doc);
    json_object_del(wo, "asset_native_id");
    json_object_set_new(wo, "asset_ref", json_string("MS-1"));
    /* and the engine has made the bare due day an instant */
    json_object_set_new(wo, "sla_due_at", json_string("2017-04-13T23:59:59Z"));
    struct model_work_order m;
    struct model_error err;
    assert_int_equal(model_work_order_from_json(a, wo, &m, &err), AB_OK);
    json_decref(wo);
    /* an unmapped phase is a mapping exception, never a default */
    static const char *const items[] = {"03=open"};
    static const char *const allowed[] = {"open", NULL};
    char e[64];
    assert_int_equal(conn_sap_pm_map_parse(a, items, 1, allowed, &o.order_phase, e, sizeof(e)),
                     AB_OK);
    assert_int_equal(conn_sap_pm_order_record(ord, &o, a, &r), AB_OK);
    assert_non_null(r.mapping_exception);
    assert_non_null(strstr(r.mapping_exception, "'07'"));
    assert_null(json_object_get(r.doc, "common_status"));
    json_decref(ord);

    conn_sap_pm_opts_default(&o);
    json_t *n = parse("{\"MaintenanceNotification\":\"10000020\",\"NotificationType\":\"M2\","
                      "\"NotifProcessingPhase\":\"1\",\"NotificationText\":\"Noise\","
                      "\"MaintPriority\":\"9\",\"TechnicalObject\":\"10000001\","
                      "\"TechObjIsEquipOrFuncnlLoc\":\"EAMS_EQUI\","
                      "\"MaintNotifExtReferenceNumber\":\"AB0011\"}");
    assert_int_equal(conn_sap_pm_notification_record(n, &o, a, &r), AB_OK);
    assert_string_equal(dstr(r.doc, "common_status"), "open");
    assert_string_equal(dstr(r.doc, "asset_native_id"), "10000001");
    assert_string_equal(dstr(r.doc, "sap_external_reference"), "AB0011");
    assert_non_null(r.mapping_exception); /* priority 9 has no common priority */
    assert_non_null(strstr(r.mapping_exception, "priority '9'"));
    json_decref(n);
    arena_free(a);
}

static void test_points_and_plans(void **state)
{
    (void)state;
    struct conn_sap_pm_opts o;
    conn_sap_pm_opts_default(&o);
    struct arena *a = arena_new(0, 0);
    json_t *pt = parse("{\"MeasuringPoint\":\"100\",\"Equipment\":\"10000001\","
                       "\"MeasuringPointPositionNumber\":\"CYCLES\",\"CharcValueUnit\":\"EA\","
                       "\"MeasuringPointIsCounter\":true}");
    struct conn_record r;
    assert_int_equal(conn_sap_pm_point_record(pt, &o, a, &r), AB_OK);
    assert_string_equal(dstr(r.doc, "meter_type"), "CYCLES");
    assert_string_equal(dstr(r.doc, "kind"), "counter");
    json_t *points = json_pack("{s:O}", "100", pt);
    json_t *plan = parse("{\"MaintenancePlan\":\"P1\",\"MaintenancePlanDesc\":\"Service\"}");
    json_t *items = parse("[{\"MaintenanceItem\":\"I1\",\"MaintenancePlan\":\"P1\","
                          "\"Equipment\":\"10000001\"}]");
    json_t *cycles = parse("[{\"MaintenancePlan\":\"P1\",\"MaintenancePlanCycle\":\"1\","
                           "\"MaintPlanCycRcrrcIntervalQty\":\"10000\","
                           "\"MaintPlanCycRcrrcIntervalUnit\":\"EA\",\"MeasuringPoint\":\"100\","
                           "\"MaintCycleNextPlndCntrRdng\":\"230000\"}]");
    json_t *sched = parse("[{\"MaintenanceCallNextPlannedDate\":\"/Date(1492041600000)/\","
                          "\"MaintenanceCallIsOutstanding\":false,"
                          "\"CompletionDate\":\"/Date(1492041600000)/\"},"
                          "{\"MaintenanceCallNextPlannedDate\":\"/Date(1499817600000)/\","
                          "\"MaintenanceCallIsOutstanding\":true}]");
    assert_int_equal(conn_sap_pm_plan_record(plan, items, cycles, sched, points, &o, a, &r), AB_OK);
    assert_string_equal(dstr(r.doc, "trigger"), "usage");
    assert_string_equal(dstr(r.doc, "meter_type"), "CYCLES");
    assert_string_equal(dstr(r.doc, "measuring_point"), "100");
    assert_string_equal(dstr(r.doc, "asset_native_id"), "10000001");
    assert_string_equal(dstr(r.doc, "next_due_at"), "2017-07-12");
    assert_true(json_number_value(json_object_get(r.doc, "next_due_reading")) == 230000.0);
    json_decref(cycles);
    cycles =
        parse("[{\"MaintPlanCycRcrrcIntervalQty\":2,\"MaintPlanCycRcrrcIntervalUnit\":\"WK\"}]");
    assert_int_equal(conn_sap_pm_plan_record(plan, NULL, cycles, NULL, NULL, &o, a, &r), AB_OK);
    assert_string_equal(dstr(r.doc, "trigger"), "time");
    assert_int_equal(json_integer_value(json_object_get(r.doc, "interval")), 14);
    assert_string_equal(dstr(r.doc, "interval_unit"), "days");
    json_decref(cycles);
    json_decref(sched);
    json_decref(items);
    json_decref(plan);
    json_decref(points);
    json_decref(pt);
    arena_free(a);
}

static void test_notification_body_and_usage(void **state)
{
    (void)state;
    struct conn_sap_pm_opts o;
    conn_sap_pm_opts_default(&o);
    struct arena *a = arena_new(0, 0);
    json_t *p = parse("{\"asset_ref\":\"MS-1\",\"type\":\"corrective\",\"priority\":\"high\","
                      "\"notes\":\"Spindle vibration beyond limits on the press\\nseen twice\","
                      "\"sla_due_at\":\"2026-02-01T12:00:00Z\"}");
    json_t *b;
    const char *why;
    assert_int_equal(conn_sap_pm_notification_body(p, &o, "10000001", "AB0123", a, &b, &why),
                     AB_OK);
    assert_string_equal(dstr(b, "NotificationText"), "Spindle vibration beyond limits on the p");
    assert_int_equal(strlen(dstr(b, "NotificationText")), 40);
    assert_string_equal(dstr(b, "NotificationType"), "M1");
    assert_string_equal(dstr(b, "MaintPriority"), "2");
    assert_string_equal(dstr(b, "TechnicalObject"), "10000001");
    assert_string_equal(dstr(b, "TechObjIsEquipOrFuncnlLoc"), "EAMS_EQUI");
    assert_string_equal(dstr(b, "MaintNotifExtReferenceNumber"), "AB0123");
    assert_string_equal(dstr(b, "RequiredEndDate"), "/Date(1769904000000)/");
    json_decref(p);
    /* a priority the map cannot send is refused before sending */
    o.priority.n = 0;
    p = parse("{\"type\":\"corrective\",\"priority\":\"urgent\"}");
    assert_int_equal(conn_sap_pm_notification_body(p, &o, NULL, NULL, a, &b, &why), AB_EINVAL);
    assert_non_null(strstr(why, "urgent"));
    json_decref(p);

    double t;
    p = parse("{\"value\":1000,\"provider_baseline\":225423}");
    assert_int_equal(conn_sap_pm_usage_total(p, &t, &why), AB_OK);
    assert_true(t == 226423.0);
    json_decref(p);
    p = parse("{\"value\":5}");
    assert_int_equal(conn_sap_pm_usage_total(p, &t, &why), AB_OK);
    assert_true(t == 5.0);
    json_decref(p);
    p = parse("{\"increment\":5}");
    assert_int_equal(conn_sap_pm_usage_total(p, &t, &why), AB_EINVAL);
    json_decref(p);
    p = parse("{\"value\":-1}");
    assert_int_equal(conn_sap_pm_usage_total(p, &t, &why), AB_EINVAL);
    json_decref(p);
    arena_free(a);
}

static void test_init_config(void **state)
{
    (void)state;
    struct config_provider cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = "sap";
    cfg.type = "sap_pm";
    cfg.base_url = "http://127.0.0.1:1";
    char err[200] = "";
    void *ctx = NULL;
    /* basic auth with a user is required */
    assert_int_equal(conn_sap_pm.init(&cfg, NULL, &ctx, err, sizeof(err)), AB_ECONFIG);
    assert_non_null(strstr(err, "basic"));
    cfg.auth.scheme = "basic";
    cfg.auth.user = "U";
    cfg.auth.password = "P";
    assert_int_equal(conn_sap_pm.init(&cfg, NULL, &ctx, err, sizeof(err)), AB_OK);
    assert_non_null(ctx);
    assert_int_equal(conn_sap_pm_requests(ctx), 0);
    conn_sap_pm.cleanup(ctx);
    /* a phase map naming no common status is a configuration error */
    static const char *const bad[] = {"03=opened"};
    cfg.sap_pm.filter_literal = "datetimeoffset";
    cfg.sap_pm.order_phase_map = (struct config_string_list){bad, 1};
    assert_int_equal(conn_sap_pm.init(&cfg, NULL, &ctx, err, sizeof(err)), AB_ECONFIG);
    assert_non_null(strstr(err, "order_phase_map"));
    assert_true(conn_sap_pm.caps & CONN_CAP_OPEN_REQUEST);
    assert_true(conn_sap_pm.caps & CONN_CAP_PUSH_READINGS);
    assert_true(conn_sap_pm.caps & CONN_CAP_UPDATE_WORK_ORDER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_ext_ref),
        cmocka_unit_test(test_maps),
        cmocka_unit_test(test_errors_and_outcomes),
        cmocka_unit_test(test_equipment),
        cmocka_unit_test(test_order_and_notification),
        cmocka_unit_test(test_points_and_plans),
        cmocka_unit_test(test_notification_body_and_usage),
        cmocka_unit_test(test_init_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
