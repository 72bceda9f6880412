/* SPDX-License-Identifier: Apache-2.0
 *
 * test_conn_wats.c: unit tests of the WATS connector (src/conn/conn_wats.c,
 * conn_wats_map.c). First the pure helpers: version parsing, the lifecycle
 * state table, asset type keywords, OData literals and query strings, WATS
 * dates with and without a zone, HTTP outcome classification, the
 * warning/alarm derivation, asset / type / report translation, the PUT body
 * and the usage total with a baseline. Then the slots against a small fake
 * WATS written here from the contract sheet (not the project's simulator):
 * a full pass of 10,000 assets in at most 15 requests, a server that ignores
 * $skip, keyset paging, the incremental pass through /api/Asset/Log with
 * /Status only for changed assets, usage as absolute totals (Count or
 * SetTotalCount by version; nothing for report-counted types), calibration
 * before and after 25.3 (External with the next date; a differing next date
 * reported), 401 sent once, 429 retried with Retry-After, report uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"
#include "conn/conn_util.h"
#include "conn/conn_wats.h"
#include "core/clock.h"
#include "core/timefmt.h"
#include "http/http.h"
#include "model/asset.h"

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

static const json_t *attr(const json_t *doc, const char *k)
{
    return json_object_get(json_object_get(doc, "attributes"), k);
}

/* ---- pure helpers --------------------------------------------------------------- */

static void test_registered(void **state)
{
    (void)state;
    const struct conn_ops *ops = conn_find("wats");
    assert_ptr_equal(ops, &conn_wats);
    assert_true(
        conn_has(ops, CONN_CAP_PULL_ASSETS | CONN_CAP_PUSH_READINGS | CONN_CAP_RECORD_CALIBRATION));
    assert_false(conn_has(ops, CONN_CAP_OPEN_REQUEST)); /* WATS has no work orders */
}

static void test_version_parse(void **state)
{
    (void)state;
    struct conn_wats_version v;
    const char *j = "\"25.3.9.824\"";
    assert_int_equal(conn_wats_version_parse(j, strlen(j), &v), AB_OK);
    assert_int_equal(v.major, 25);
    assert_int_equal(v.minor, 3);
    assert_int_equal(v.patch, 9);
    assert_int_equal(v.build, 824);
    assert_true(conn_wats_version_at_least(&v, 25, 3));
    const char *y = "2025.3.9.824";
    assert_int_equal(conn_wats_version_parse(y, strlen(y), &v), AB_OK);
    assert_int_equal(v.major, 25);
    assert_true(conn_wats_version_at_least(&v, 25, 3));
    const char *old = "v24.2.1";
    assert_int_equal(conn_wats_version_parse(old, strlen(old), &v), AB_OK);
    assert_false(conn_wats_version_at_least(&v, 25, 3));
    const char *x = "<string xmlns=\"http://schemas.microsoft.com/\">25.2.0.10</string>";
    assert_int_equal(conn_wats_version_parse(x, strlen(x), &v), AB_OK);
    assert_int_equal(v.major, 25);
    assert_int_equal(v.minor, 2);
    assert_false(conn_wats_version_at_least(&v, 25, 3));
    v = (struct conn_wats_version){26, 0, 0, 0};
    assert_true(conn_wats_version_at_least(&v, 25, 3));
    assert_int_equal(conn_wats_version_parse("\"\"", 2, &v), AB_EPARSE);
    assert_int_equal(conn_wats_version_parse("none", 4, &v), AB_EPARSE);
}

static void test_state_table(void **state)
{
    (void)state;
    const char *want[] = {NULL,         "active",  "in_transit", "in_maintenance", "in_calibration",
                          "in_storage", "scrapped"};
    for (int i = 1; i <= 6; i++) {
        const char *st;
        assert_int_equal(conn_wats_state_to_status(i, &st), AB_OK);
        assert_string_equal(st, want[i]);
        enum model_asset_status ms;
        assert_true(model_asset_status_parse(st, &ms)); /* a real canonical status */
        int back;
        assert_int_equal(conn_wats_status_to_state(st, &back), AB_OK);
        assert_int_equal(back, i);
    }
    const char *st;
    assert_int_equal(conn_wats_state_to_status(0, &st), AB_ENOTFOUND);
    assert_null(st);
    assert_int_equal(conn_wats_state_to_status(7, &st), AB_ENOTFOUND);
    int n;
    assert_int_equal(conn_wats_status_to_state("in_repair", &n), AB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(conn_wats_status_to_state("retired", &n), AB_OK);
    assert_int_equal(n, 6);
    assert_int_equal(conn_wats_status_to_state("flying", &n), AB_ENOTFOUND);
    /* every canonical status has a WATS state */
    for (int i = 0; i < MODEL_ASSET_STATUS_COUNT; i++)
        assert_int_equal(conn_wats_status_to_state(model_asset_status_name(i), &n), AB_OK);
}

static void test_type_keywords(void **state)
{
    (void)state;
    assert_string_equal(conn_wats_type_to_canonical("ICT Station"), "station");
    assert_string_equal(conn_wats_type_to_canonical("Bed-of-nails FIXTURE"), "fixture");
    assert_string_equal(conn_wats_type_to_canonical("DMM"), "instrument");
    assert_string_equal(conn_wats_type_to_canonical("Oscilloscope"), "instrument");
    assert_string_equal(conn_wats_type_to_canonical("Torque wrench"), "tool");
    assert_string_equal(conn_wats_type_to_canonical("Cable"), "other");
    assert_string_equal(conn_wats_type_to_canonical(NULL), "other");
}

static void test_odata(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    assert_string_equal(conn_odata_quote(a, "O'Brien"), "'O''Brien'");
    assert_string_equal(conn_odata_quote(a, ""), "''");
    assert_string_equal(conn_qenc(a, "a b&c=d'"), "a%20b%26c%3Dd%27");
    assert_string_equal(
        conn_wats_odata_query(a, "serialNumber eq 'X 1'", "assetId", 1000, 2000, NULL),
        "$filter=serialNumber%20eq%20%27X%201%27&$orderby=assetId&$top=1000&$"
        "skip=2000");
    assert_string_equal(conn_wats_odata_query(a, NULL, "date desc", 1, 0, NULL),
                        "$orderby=date%20desc&$top=1");
    assert_string_equal(conn_wats_odata_query(a, NULL, NULL, 0, 0, "assets"), "$expand=assets");
    assert_string_equal(conn_wats_odata_query(a, NULL, NULL, 0, 0, NULL), "");
    arena_free(a);
}

static void test_dates(void **state)
{
    (void)state;
    int64_t ms, z;
    assert_int_equal(time_parse_rfc3339("2024-06-15T10:30:00Z", &z), AB_OK);
    assert_int_equal(conn_wats_time_parse("2024-06-15T10:30:00Z", 0, &ms), AB_OK);
    assert_true(ms == z);
    /* no zone: read at the configured offset */
    assert_int_equal(conn_wats_time_parse("2024-06-15T10:30:00", 0, &ms), AB_OK);
    assert_true(ms == z);
    assert_int_equal(conn_wats_time_parse("2024-06-15T12:30:00", 120, &ms), AB_OK);
    assert_true(ms == z);
    /* .NET 7-digit fractions, with and without a zone */
    assert_int_equal(conn_wats_time_parse("2024-06-15T10:30:00.1234567", 0, &ms), AB_OK);
    assert_true(ms == z + 123);
    assert_int_equal(conn_wats_time_parse("2024-06-15T11:30:00.5+01:00", 0, &ms), AB_OK);
    assert_true(ms == z + 500);
    /* an explicit zone wins over the configured offset */
    assert_int_equal(conn_wats_time_parse("2024-06-15T10:30:00Z", 300, &ms), AB_OK);
    assert_true(ms == z);
    assert_int_equal(conn_wats_time_parse("2024-06-15", 0, &ms), AB_OK);
    assert_true(ms == z - (10 * 3600 + 30 * 60) * 1000LL);
    assert_int_equal(conn_wats_time_parse("15.06.2024", 0, &ms), AB_EINVAL);
    assert_int_equal(conn_wats_time_parse(NULL, 0, &ms), AB_EINVAL);
    assert_int_equal(conn_wats_time_parse("2024-02-30T00:00:00", 0, &ms), AB_EINVAL);

    char out[32];
    conn_wats_time_format(z + 789, CONN_WATS_DATE_UTC_Z, 0, out);
    assert_string_equal(out, "2024-06-15T10:30:00Z");
    conn_wats_time_format(z, CONN_WATS_DATE_NAIVE, 0, out);
    assert_string_equal(out, "2024-06-15T10:30:00");
    conn_wats_time_format(z, CONN_WATS_DATE_NAIVE, 120, out);
    assert_string_equal(out, "2024-06-15T12:30:00");
    conn_wats_time_format(z, CONN_WATS_DATE_NAIVE, -300, out);
    assert_string_equal(out, "2024-06-15T05:30:00");
    /* a round trip through the naive form */
    assert_int_equal(conn_wats_time_parse(out, -300, &ms), AB_OK);
    assert_true(ms == z);
}

static void test_http_outcomes(void **state)
{
    (void)state;
    struct conn_result r;
    memset(&r, 0, sizeof(r));
    conn_wats_http_outcome(200, NULL, 0, &r);
    assert_int_equal(r.outcome, CONN_OK);
    assert_null(r.error_class);
    conn_wats_http_outcome(401, "5", 0, &r);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "auth");
    assert_non_null(strstr(r.message, "auth.token"));
    assert_non_null(strstr(r.message, "2025.2"));
    assert_int_equal(r.retry_after_ms, -1);
    conn_wats_http_outcome(400, NULL, 0, &r);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "validation");
    conn_wats_http_outcome(403, NULL, 0, &r);
    assert_string_equal(r.error_class, "forbidden");
    conn_wats_http_outcome(404, NULL, 0, &r);
    assert_string_equal(r.error_class, "not_found");
    conn_wats_http_outcome(429, "7", 0, &r);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    assert_string_equal(r.error_class, "throttled");
    assert_int_equal(r.retry_after_ms, 7000);
    conn_wats_http_outcome(429, "soon", 0, &r);
    assert_int_equal(r.retry_after_ms, -1);
    conn_wats_http_outcome(503, "Wed, 21 Oct 2015 07:28:10 GMT", 1445412480000LL, &r);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    assert_string_equal(r.error_class, "unavailable");
    assert_int_equal(r.retry_after_ms, 10000);
    conn_wats_http_outcome(500, NULL, 0, &r);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    conn_wats_http_outcome(418, NULL, 0, &r);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "http_error");
}

static const char TYPE_JSON[] =
    "{\"typeId\":\"11111111-1111-1111-1111-111111111111\",\"typeName\":\"ICT Fixture\","
    "\"runningCountLimit\":1000,\"totalCountLimit\":10000,\"calibrationInterval\":30.0,"
    "\"maintenanceInterval\":90,\"warningThreshold\":80,\"alarmThreshold\":95,"
    "\"isReadonly\":false}";

static void test_derive_status(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct conn_wats_opts o;
    conn_wats_opts_default(&o);
    json_t *tj = load(TYPE_JSON);
    struct conn_wats_type t;
    assert_int_equal(conn_wats_type_read(tj, &t), AB_OK);
    int64_t now;
    assert_int_equal(time_parse_rfc3339("2026-01-31T00:00:00Z", &now), AB_OK);
    int level;
    const char *why;
    json_t *ok = load("{\"runningCount\":100,\"totalCount\":200,"
                      "\"lastCalibrationDate\":\"2026-01-21T00:00:00\"}");
    conn_wats_derive_status(ok, &t, &o, now, a, &level, &why);
    assert_int_equal(level, 0);
    assert_null(why);
    json_t *warn = load("{\"runningCount\":850,\"totalCount\":200}");
    conn_wats_derive_status(warn, &t, &o, now, a, &level, &why);
    assert_int_equal(level, 2);
    assert_string_equal(why, "running_count");
    json_t *alarm = load("{\"runningCount\":100,\"totalCount\":9600}");
    conn_wats_derive_status(alarm, &t, &o, now, a, &level, &why);
    assert_int_equal(level, 3);
    assert_string_equal(why, "total_count");
    /* 25 of 30 days since calibration: 83 % -> warning; the next date wins
     * over the interval when WATS gives one */
    json_t *cal = load("{\"lastCalibrationDate\":\"2026-01-06T00:00:00Z\"}");
    conn_wats_derive_status(cal, &t, &o, now, a, &level, &why);
    assert_int_equal(level, 2);
    assert_string_equal(why, "calibration");
    json_t *cal2 = load("{\"lastCalibrationDate\":\"2026-01-06T00:00:00Z\","
                        "\"nextCalibrationDate\":\"2026-03-06T00:00:00Z\"}");
    conn_wats_derive_status(cal2, &t, &o, now, a, &level, &why);
    assert_int_equal(level, 0);
    /* overdue maintenance and a warning count: alarm, both named */
    json_t *both = load("{\"runningCount\":900,\"lastMaintenanceDate\":\"2025-09-01T00:00:00Z\"}");
    conn_wats_derive_status(both, &t, &o, now, a, &level, &why);
    assert_int_equal(level, 3);
    assert_string_equal(why, "running_count,maintenance");
    /* never calibrated: unknown, not overdue */
    json_t *never = load("{}");
    conn_wats_derive_status(never, &t, &o, now, a, &level, &why);
    assert_int_equal(level, 0);
    /* no type: ok */
    conn_wats_derive_status(warn, NULL, &o, now, a, &level, &why);
    assert_int_equal(level, 0);
    /* Status answers: int or name, either key casing */
    json_t *s1 = load("{\"status\":3}"), *s2 = load("{\"Status\":\"Warning\"}"),
           *s3 = load("{\"status\":\"weird\"}");
    assert_int_equal(conn_wats_status_level(s1), 3);
    assert_int_equal(conn_wats_status_level(s2), 2);
    assert_int_equal(conn_wats_status_level(s3), -1);
    assert_string_equal(conn_wats_level_name(3), "alarm");
    json_t *all[] = {tj, ok, warn, alarm, cal, cal2, both, never, s1, s2, s3};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        json_decref(all[i]);
    arena_free(a);
}

static void test_asset_record(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct conn_wats_opts o;
    conn_wats_opts_default(&o);
    json_t *tj = load(TYPE_JSON);
    struct conn_wats_type t;
    assert_int_equal(conn_wats_type_read(tj, &t), AB_OK);
    json_t *in =
        load("{\"assetId\":\"42\",\"serialNumber\":\"FX-1001\",\"parentSerialNumber\":\"ICT-01\","
             "\"parentAssetId\":\"7\",\"assetName\":\"Fixture 1001\",\"partNumber\":\"PN-9\","
             "\"revision\":\"B\",\"typeId\":\"11111111-1111-1111-1111-111111111111\",\"state\":1,"
             "\"description\":\"bed of nails\",\"location\":\"Line 3\","
             "\"firstSeenDate\":\"2025-01-01T08:00:00\",\"lastSeenDate\":\"2026-01-30T08:00:00\","
             "\"lastCalibrationDate\":\"2026-01-20T00:00:00\",\"nextCalibrationDate\":null,"
             "\"totalCount\":5000,\"runningCount\":850,\"xmlData\":\"<Tags/>\"}");
    struct conn_record r;
    int64_t now;
    assert_int_equal(time_parse_rfc3339("2026-01-31T00:00:00Z", &now), AB_OK);
    assert_int_equal(conn_wats_asset_record(in, &t, NULL, &o, now, a, &r), AB_OK);
    assert_string_equal(r.native_id, "FX-1001");
    assert_int_equal(r.revision, -1);
    assert_null(r.mapping_exception);
    assert_string_equal(s(r.doc, "asset_ref"), "FX-1001");
    assert_string_equal(s(r.doc, "serial_number"), "FX-1001");
    assert_string_equal(s(r.doc, "name"), "Fixture 1001");
    assert_string_equal(s(r.doc, "part_number"), "PN-9");
    assert_string_equal(s(r.doc, "part_revision"), "B");
    assert_string_equal(s(r.doc, "type"), "fixture");
    assert_string_equal(s(r.doc, "status"), "active");
    /* the hierarchy: the parent by native id, resolved by the hub through its links */
    assert_null(json_object_get(r.doc, "parent"));
    assert_string_equal(json_string_value(json_object_get(r.doc, "parent_native_id")), "ICT-01");
    assert_string_equal(json_string_value(attr(r.doc, "wats_parent_serial_number")), "ICT-01");
    assert_string_equal(json_string_value(attr(r.doc, "wats_asset_id")), "42");
    assert_string_equal(json_string_value(attr(r.doc, "wats_type_name")), "ICT Fixture");
    assert_int_equal(json_integer_value(attr(r.doc, "wats_total_count")), 5000);
    assert_int_equal(json_integer_value(attr(r.doc, "wats_running_count")), 850);
    assert_string_equal(json_string_value(attr(r.doc, "last_calibrated_at")),
                        "2026-01-20T00:00:00Z");
    assert_null(attr(r.doc, "calibration_due_at"));
    assert_null(attr(r.doc, "wats_last_seen_at"));
    assert_string_equal(json_string_value(attr(r.doc, "wats_status")), "warning");
    assert_string_equal(json_string_value(attr(r.doc, "wats_status_source")), "derived");
    /* the document is a valid canonical asset once the store has taken the
     * parent_native_id it resolves */
    json_t *canonical = json_deep_copy(r.doc);
    json_object_del(canonical, "parent_native_id");
    struct model_asset m;
    struct model_error err;
    assert_int_equal(model_asset_from_json(a, canonical, &m, &err), AB_OK);
    json_decref(canonical);

    assert_null(json_object_get(r.doc, "provider_meters"));
    /* the hub meters pushed here carry WATS's counts (the usage baseline) */
    const struct conn_wats_meter meters[] = {{"cycles", false}, {"run_hours", true}};
    o.meters = meters;
    o.n_meters = 2;
    assert_int_equal(conn_wats_asset_record(in, &t, NULL, &o, now, a, &r), AB_OK);
    const json_t *pm = json_object_get(r.doc, "provider_meters");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pm, "cycles"), "total")),
                     5000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(pm, "run_hours"), "total")),
                     850);
    o.meters = NULL;
    o.n_meters = 0;

    /* a server status overrides the derived one; state 0 leaves status out */
    json_object_set_new(in, "state", json_integer(0));
    json_t *st = load("{\"status\":0,\"message\":\"fine\"}");
    assert_int_equal(conn_wats_asset_record(in, &t, st, &o, now, a, &r), AB_OK);
    assert_null(json_object_get(r.doc, "status"));
    assert_int_equal(json_integer_value(attr(r.doc, "wats_state")), 0);
    assert_string_equal(json_string_value(attr(r.doc, "wats_status")), "ok");
    assert_string_equal(json_string_value(attr(r.doc, "wats_status_source")), "server");
    /* an invalid asset_ref is not proposed; no serial number is refused */
    json_object_set_new(in, "serialNumber", json_string("SN with spaces"));
    assert_int_equal(conn_wats_asset_record(in, NULL, NULL, &o, now, a, &r), AB_OK);
    assert_null(json_object_get(r.doc, "asset_ref"));
    assert_string_equal(s(r.doc, "type"), "other");
    json_object_del(in, "serialNumber");
    assert_int_equal(conn_wats_asset_record(in, NULL, NULL, &o, now, a, &r), AB_EINVAL);
    json_decref(in);
    json_decref(st);
    json_decref(tj);
    arena_free(a);
}

static void test_type_and_report_records(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct conn_wats_opts o;
    conn_wats_opts_default(&o);
    json_t *tj = load(TYPE_JSON);
    struct conn_record r;
    assert_int_equal(conn_wats_type_record(tj, a, &r), AB_OK);
    assert_string_equal(r.native_id, "11111111-1111-1111-1111-111111111111");
    assert_string_equal(s(r.doc, "name"), "ICT Fixture");
    assert_string_equal(s(r.doc, "canonical_type"), "fixture");
    assert_int_equal(json_integer_value(json_object_get(r.doc, "running_count_limit")), 1000);
    assert_true(json_number_value(json_object_get(r.doc, "calibration_interval_days")) == 30.0);
    json_t *h = load("{\"uuid\":\"u-1\",\"serialNumber\":\"UUT-1\",\"partNumber\":\"P\","
                     "\"result\":\"Failed\",\"start\":\"2026-01-30T21:01:41.47Z\","
                     "\"stationName\":\"ST1\",\"timeStamp\":1234,\"fixtureId\":\"F\","
                     "\"assets\":[{\"serialNumber\":\"FX-1\",\"runningCount\":5,"
                     "\"totalCount\":50},{\"serialNumber\":\"DMM-2\",\"totalCount\":9}]}");
    struct conn_record *rs;
    size_t n;
    assert_int_equal(conn_wats_report_records(h, &o, a, &rs, &n), AB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rs[0].native_id, "u-1/FX-1/0");
    assert_string_equal(s(rs[0].doc, "asset_native_id"), "FX-1");
    assert_string_equal(s(rs[0].doc, "result"), "failed");
    assert_true(json_is_false(json_object_get(rs[0].doc, "passed")));
    assert_string_equal(s(rs[0].doc, "counted_by"), "wats");
    assert_int_equal(json_integer_value(json_object_get(rs[1].doc, "report_cursor")), 1234);
    assert_string_equal(s(rs[1].doc, "started_at"), "2026-01-30T21:01:41.470Z");
    json_t *none = load("{\"uuid\":\"u-2\",\"assets\":[]}");
    assert_int_equal(conn_wats_report_records(none, &o, a, &rs, &n), AB_OK);
    assert_int_equal(n, 0);
    json_decref(none);
    json_decref(h);
    json_decref(tj);
    arena_free(a);
}

static void test_to_native_and_usage(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    json_t *c = load("{\"asset_ref\":\"FX-1\",\"serial_number\":\"FX-1\",\"name\":\"Fix\","
                     "\"part_number\":\"P\",\"part_revision\":\"A\",\"status\":\"in_calibration\","
                     "\"location\":{\"site\":\"OSL\",\"line\":\"L3\"},"
                     "\"attributes\":{\"wats_asset_id\":\"9\",\"wats_type_id\":\"T1\","
                     "\"wats_parent_serial_number\":\"ST-1\"}}");
    json_t *b;
    const char *why;
    assert_int_equal(conn_wats_asset_to_native(c, NULL, a, &b, &why), AB_OK);
    assert_string_equal(s(b, "serialNumber"), "FX-1");
    assert_string_equal(s(b, "assetId"), "9");
    assert_string_equal(s(b, "typeId"), "T1");
    assert_string_equal(s(b, "assetName"), "Fix");
    assert_string_equal(s(b, "revision"), "A");
    assert_string_equal(s(b, "location"), "OSL/L3");
    assert_int_equal(json_integer_value(json_object_get(b, "state")), 4);
    assert_string_equal(s(b, "parentSerialNumber"), "ST-1");
    /* an explicit null parent removes it; a type id argument wins */
    json_object_set_new(c, "parent_serial_number", json_null());
    assert_int_equal(conn_wats_asset_to_native(c, "T2", a, &b, &why), AB_OK);
    assert_string_equal(s(b, "parentSerialNumber"), "");
    assert_string_equal(s(b, "typeId"), "T2");
    json_object_set_new(c, "status", json_string("exploded"));
    assert_int_equal(conn_wats_asset_to_native(c, NULL, a, &b, &why), AB_EINVAL);
    assert_string_equal(why, "status");
    json_decref(c);

    long long total;
    json_t *p = load("{\"value\":120.0}");
    assert_int_equal(conn_wats_usage_total(p, &total, &why), AB_OK);
    assert_int_equal(total, 120);
    json_object_set_new(p, "provider_baseline", json_integer(5000));
    assert_int_equal(conn_wats_usage_total(p, &total, &why), AB_OK);
    assert_int_equal(total, 5120);
    json_object_set_new(p, "value", json_real(7.9));
    json_object_set_new(p, "provider_baseline", json_integer(-2));
    assert_int_equal(conn_wats_usage_total(p, &total, &why), AB_OK);
    assert_int_equal(total, 5);
    json_object_set_new(p, "value", json_real(3e9));
    assert_int_equal(conn_wats_usage_total(p, &total, &why), AB_EINVAL);
    json_object_set_new(p, "value", json_integer(-1));
    assert_int_equal(conn_wats_usage_total(p, &total, &why), AB_EINVAL);
    json_decref(p);
    json_t *inc = load("{\"increment\":3}");
    assert_int_equal(conn_wats_usage_total(inc, &total, &why), AB_EINVAL);
    assert_non_null(strstr(why, "absolute"));
    json_decref(inc);

    const char *names[] = {"ICT Fixture", "abc-GUID"};
    struct conn_wats_types l = {names, 2};
    assert_true(conn_wats_types_has(&l, NULL, "ict fixture"));
    assert_true(conn_wats_types_has(&l, "ABC-guid", NULL));
    assert_false(conn_wats_types_has(&l, "x", "y"));
    arena_free(a);
}

/* ---- a fake WATS (from the contract sheet) ------------------------------------------ */

#define FAKE_TYPE_A "aaaaaaaa-0000-0000-0000-000000000001"
#define FAKE_TYPE_B "bbbbbbbb-0000-0000-0000-000000000002"
#define FAKE_MAX_LOG 64
#define FAKE_MAX_REQ 4096

struct fake {
    pthread_mutex_t mu;
    int n_assets;
    char version[32];
    bool ignore_skip;
    int fail_next_status; /* answer this status to the next N requests */
    int fail_next_n;
    const char *retry_after;
    /* per-asset state of the first 20 assets (SN-00000 ..) */
    long long total[20], running[20];
    int state[20];
    char last_cal[20][32], next_cal[20][32];
    bool cal_external_type_b;
    /* log */
    struct {
        int id;
        char date[32];
        int type;
        char serial[16];
        char comment[160];
    } log[FAKE_MAX_LOG];
    int n_log;
    /* requests seen */
    char req[FAKE_MAX_REQ][200];
    int n_req;
};

static struct fake F;
static struct http_server *srv;
static char base[96];

static void fake_reset(int n_assets, const char *version)
{
    pthread_mutex_lock(&F.mu);
    F.n_assets = n_assets;
    snprintf(F.version, sizeof(F.version), "%s", version);
    F.ignore_skip = false;
    F.fail_next_n = 0;
    F.retry_after = NULL;
    for (int i = 0; i < 20; i++) {
        F.total[i] = 100 * i;
        F.running[i] = 10 * i;
        F.state[i] = 1;
        F.last_cal[i][0] = F.next_cal[i][0] = '\0';
    }
    F.n_log = 0;
    F.n_req = 0;
    pthread_mutex_unlock(&F.mu);
}

static int fake_requests(const char *prefix)
{
    pthread_mutex_lock(&F.mu);
    int n = 0;
    for (int i = 0; i < F.n_req; i++)
        if (!prefix || strncmp(F.req[i], prefix, strlen(prefix)) == 0)
            n++;
    pthread_mutex_unlock(&F.mu);
    return n;
}

static bool fake_seen(const char *needle)
{
    pthread_mutex_lock(&F.mu);
    bool found = false;
    for (int i = 0; i < F.n_req && !found; i++)
        found = strstr(F.req[i], needle) != NULL;
    pthread_mutex_unlock(&F.mu);
    return found;
}

static int idx_of(const char *serial)
{
    int i;
    if (!serial || sscanf(serial, "SN-%d", &i) != 1 || i < 0 || i >= F.n_assets)
        return -1;
    return i;
}

static json_t *fake_asset(int i)
{
    char sn[16], id[16];
    snprintf(sn, sizeof(sn), "SN-%05d", i);
    snprintf(id, sizeof(id), "%06d", i);
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:i}", "assetId", id, "serialNumber", sn,
                          "assetName", "asset", "typeId", i % 2 ? FAKE_TYPE_B : FAKE_TYPE_A,
                          "state", i < 20 ? F.state[i] : 1);
    json_object_set_new(a, "totalCount", json_integer(i < 20 ? F.total[i] : 0));
    json_object_set_new(a, "runningCount", json_integer(i < 20 ? F.running[i] : 0));
    if (i > 0)
        json_object_set_new(a, "parentSerialNumber", json_string("SN-00000"));
    if (i < 20 && F.last_cal[i][0])
        json_object_set_new(a, "lastCalibrationDate", json_string(F.last_cal[i]));
    if (i < 20 && F.next_cal[i][0])
        json_object_set_new(a, "nextCalibrationDate", json_string(F.next_cal[i]));
    return a;
}

static void reply(struct http_response *resp, int status, json_t *j)
{
    char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    http_resp_text(resp, status, "application/json", t);
    free(t);
    json_decref(j);
}

/* Serial numbers named in a filter ("serialNumber eq 'X'" repeated). */
static int filter_serials(const char *f, int *out, int max)
{
    int n = 0;
    for (const char *p = f; p && (p = strstr(p, "serialNumber eq '")) && n < max;) {
        p += strlen("serialNumber eq '");
        char sn[32];
        size_t k = 0;
        while (*p && *p != '\'' && k + 1 < sizeof(sn))
            sn[k++] = *p++;
        sn[k] = '\0';
        out[n++] = idx_of(sn);
    }
    return n;
}

static void fake_log_add(int type, int asset, const char *comment)
{
    if (F.n_log >= FAKE_MAX_LOG)
        return;
    int64_t now = clock_now_ms();
    char d[TIME_RFC3339_MAX];
    time_format_rfc3339(now - now % 1000, d);
    d[strlen(d) - 1] = '\0'; /* WATS-style: no zone */
    F.log[F.n_log].id = F.n_log + 1;
    snprintf(F.log[F.n_log].date, sizeof(F.log[0].date), "%s", d);
    F.log[F.n_log].type = type;
    snprintf(F.log[F.n_log].serial, sizeof(F.log[0].serial), "SN-%05d", asset);
    snprintf(F.log[F.n_log].comment, sizeof(F.log[0].comment), "%s", comment ? comment : "");
    F.n_log++;
}

static void fake_handler(struct http_request *req, struct http_response *resp, void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&F.mu);
    if (F.n_req < FAKE_MAX_REQ)
        snprintf(F.req[F.n_req++], sizeof(F.req[0]), "%s %s?%s", req->method, req->path,
                 req->query);
    const char *auth = http_header(req, "Authorization");
    if (!auth || strcmp(auth, "Basic token") != 0 /* the token as-is */) {
        pthread_mutex_unlock(&F.mu);
        http_resp_text(resp, 401, "application/json", "{\"Message\":\"Authorization denied\"}");
        return;
    }
    if (F.fail_next_n > 0) {
        F.fail_next_n--;
        int st = F.fail_next_status;
        const char *ra = F.retry_after;
        pthread_mutex_unlock(&F.mu);
        if (ra)
            if (http_resp_header(req, resp, "Retry-After", ra) != AB_OK)
                fprintf(stderr, "fake WATS: header dropped\n");
        http_resp_text(resp, st, "application/json", "{\"Message\":\"busy\"}");
        return;
    }
    const char *p = req->path;
    const char *top_s = http_query(req, "$top"), *skip_s = http_query(req, "$skip");
    const char *filter = http_query(req, "$filter");
    int top = top_s ? (int)strtol(top_s, NULL, 10) : 1000;
    int skip = skip_s && !F.ignore_skip ? (int)strtol(skip_s, NULL, 10) : 0;
    const char *sn = http_query(req, "serialNumber");
    int ai = idx_of(sn);
    if (strcmp(p, "/api/App/Version") == 0) {
        reply(resp, 200, json_string(F.version));
    } else if (strcmp(p, "/api/Asset/Types") == 0 && !strcmp(req->method, "GET")) {
        json_t *arr = json_array();
        json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:f, s:f, s:f}", "typeId",
                                             FAKE_TYPE_A, "typeName", "ICT Fixture",
                                             "runningCountLimit", 1000, "calibrationInterval", 30.0,
                                             "warningThreshold", 80.0, "alarmThreshold", 100.0));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:f}", "typeId", FAKE_TYPE_B, "typeName",
                                             "DMM", "calibrationInterval",
                                             F.cal_external_type_b ? -2.0 : 365.0));
        if (top == 1)
            json_array_remove(arr, 1);
        reply(resp, 200, arr);
    } else if (strcmp(p, "/api/Asset") == 0 && !strcmp(req->method, "GET")) {
        json_t *arr = json_array();
        if (filter && strstr(filter, "serialNumber eq")) {
            int ids[64];
            int n = filter_serials(filter, ids, 64);
            for (int i = 0; i < n; i++)
                if (ids[i] >= 0)
                    json_array_append_new(arr, fake_asset(ids[i]));
        } else {
            int from = skip;
            if (filter && strstr(filter, "assetId gt '")) {
                from = (int)strtol(strstr(filter, "assetId gt '") + 12, NULL, 10) + 1;
            }
            for (int i = from; i < F.n_assets && i < from + top; i++)
                json_array_append_new(arr, fake_asset(i));
        }
        reply(resp, 200, arr);
    } else if (strcmp(p, "/api/Asset") == 0 && !strcmp(req->method, "PUT")) {
        json_error_t e;
        json_t *b = json_loads(req->body, 0, &e);
        bool ok = b && json_string_value(json_object_get(b, "serialNumber")) &&
                  json_string_value(json_object_get(b, "typeId"));
        json_decref(b);
        http_resp_text(resp, ok ? 200 : 400, "application/json", ok ? "{}" : "\"typeId required\"");
    } else if (strcmp(p, "/api/Asset/Status") == 0) {
        reply(resp, ai < 0 ? 404 : 200,
              ai < 0 ? json_object() : json_pack("{s:i, s:s}", "status", 2, "message", "warn"));
    } else if (strcmp(p, "/api/Asset/Count") == 0 && ai >= 0 && ai < 20) {
        const char *tc = http_query(req, "totalCount"), *inc = http_query(req, "incrementBy");
        long long d = tc ? strtoll(tc, NULL, 10) - F.total[ai] : inc ? strtoll(inc, NULL, 10) : 0;
        F.total[ai] += d;
        F.running[ai] += d;
        reply(resp, 200, json_integer(0));
    } else if (strcmp(p, "/api/Asset/SetTotalCount") == 0 && ai >= 0 && ai < 20 &&
               strncmp(F.version, "25.3", 4) == 0) {
        const char *tc = http_query(req, "totalCount");
        if (!tc) {
            pthread_mutex_unlock(&F.mu);
            http_resp_text(resp, 400, "application/json", "\"totalCount required\"");
            return;
        }
        F.total[ai] = strtoll(tc, NULL, 10);
        reply(resp, 200, json_object());
    } else if (strcmp(p, "/api/Asset/State") == 0 && ai >= 0 && ai < 20) {
        F.state[ai] = (int)strtol(http_query(req, "state"), NULL, 10);
        fake_log_add(2, ai, "state");
        reply(resp, 200, json_object());
    } else if (strcmp(p, "/api/Asset/Calibration") == 0 && ai >= 0 && ai < 20) {
        const char *dt = http_query(req, "dateTime");
        snprintf(F.last_cal[ai], 32, "%s", dt ? dt : "2026-01-01T00:00:00");
        int64_t ms = 0;
        if (conn_wats_time_parse(F.last_cal[ai], 0, &ms) == AB_OK) {
            char nb[TIME_RFC3339_MAX];
            time_format_rfc3339(ms + 30LL * 86400000, nb); /* the type interval: 30 days */
            snprintf(F.next_cal[ai], 32, "%s", nb);
        }
        fake_log_add(4, ai, http_query(req, "comment"));
        reply(resp, 200, json_object());
    } else if (strcmp(p, "/api/Asset/Calibration/External") == 0 && ai >= 0 && ai < 20 &&
               strncmp(F.version, "25.3", 4) == 0) {
        const char *from = http_query(req, "fromDate"), *to = http_query(req, "toDate");
        snprintf(F.last_cal[ai], 32, "%s", from ? from : "");
        snprintf(F.next_cal[ai], 32, "%s", to ? to : "");
        fake_log_add(4, ai, http_query(req, "comment"));
        reply(resp, 200, json_object());
    } else if (strcmp(p, "/api/Asset/Log") == 0) {
        json_t *arr = json_array();
        const char *ob = http_query(req, "$orderby");
        bool desc = ob && strstr(ob, "desc");
        int want_type = -1;
        if (filter && strstr(filter, "type eq "))
            want_type = (int)strtol(strstr(filter, "type eq ") + 8, NULL, 10);
        int64_t since = INT64_MIN;
        long long after_id = -1; /* "date gt D or (date eq D and logId gt N)" */
        const char *dk = filter ? strstr(filter, "date ge ") : NULL;
        if (!dk && filter)
            dk = strstr(filter, "date gt ");
        if (dk) {
            char d[40];
            snprintf(d, sizeof(d), "%.24s", dk + 8);
            char *sp = strchr(d, ' ');
            if (sp)
                *sp = '\0';
            if (conn_wats_time_parse(d, 0, &since) != AB_OK)
                since = INT64_MIN;
            if (strncmp(dk, "date gt ", 8) == 0)
                after_id = strstr(filter, "logId gt ")
                               ? strtoll(strstr(filter, "logId gt ") + 9, NULL, 10)
                               : INT32_MAX;
        }
        int fs[1] = {-1};
        bool by_sn = filter && filter_serials(filter, fs, 1) == 1;
        for (int k = 0; k < F.n_log && (int)json_array_size(arr) < top; k++) {
            int i = desc ? F.n_log - 1 - k : k;
            int64_t d;
            if (conn_wats_time_parse(F.log[i].date, 0, &d) != AB_OK || d < since)
                continue;
            if (after_id >= 0 && d == since && F.log[i].id <= after_id)
                continue;
            if (want_type >= 0 && F.log[i].type != want_type)
                continue;
            if (by_sn && idx_of(F.log[i].serial) != fs[0])
                continue;
            json_array_append_new(arr,
                                  json_pack("{s:i, s:s, s:s, s:i, s:s}", "logId", F.log[i].id,
                                            "date", F.log[i].date, "serialNumber", F.log[i].serial,
                                            "type", F.log[i].type, "comment", F.log[i].comment));
        }
        reply(resp, 200, arr);
    } else if (strcmp(p, "/api/Report/Query/Header") == 0) {
        json_t *arr = json_array();
        long long after = filter && strstr(filter, "timeStamp gt ")
                              ? strtoll(strstr(filter, "timeStamp gt ") + 13, NULL, 10)
                              : -1;
        if (after < 0) {
            json_array_append_new(
                arr, json_pack("{s:s, s:I}", "uuid", "r-head", "timeStamp", (json_int_t)100));
        } else {
            for (long long ts = after + 1; ts <= 103 && (int)json_array_size(arr) < top; ts++)
                json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:[{s:s, s:i}]}", "uuid",
                                                     ts == 101   ? "r-101"
                                                     : ts == 102 ? "r-102"
                                                                 : "r-103",
                                                     "timeStamp", (json_int_t)ts, "result",
                                                     ts == 102 ? "Failed" : "Passed", "assets",
                                                     "serialNumber", "SN-00001", "totalCount", 5));
        }
        reply(resp, 200, arr);
    } else {
        pthread_mutex_unlock(&F.mu);
        http_resp_text(resp, 404, "application/json", "{\"Message\":\"no route\"}");
        return;
    }
    pthread_mutex_unlock(&F.mu);
}

static const struct http_route fake_routes[] = {
    {"GET", "/*", fake_handler, 0, 0},
    {"PUT", "/*", fake_handler, 0, 0},
    {"POST", "/*", fake_handler, 0, 0},
    {"DELETE", "/*", fake_handler, 0, 0},
};

static int fake_start(void **state)
{
    (void)state;
    pthread_mutex_init(&F.mu, NULL);
    struct http_server_opts o = {
        .listen = "127.0.0.1:0",
        .routes = fake_routes,
        .n_routes = sizeof(fake_routes) / sizeof(fake_routes[0]),
        .max_body = 1 << 20,
        .threads = 2,
    };
    char bound[64], err[200];
    if (http_server_start(&o, &srv, bound, sizeof(bound), err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "fake WATS: %s\n", err);
        return -1;
    }
    snprintf(base, sizeof(base), "http://%s", bound);
    return 0;
}

static int fake_stop(void **state)
{
    (void)state;
    http_server_stop(srv, 1000);
    return 0;
}

static void *ctx_new(struct conn_wats_opts *o, const char *token)
{
    struct config_provider cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = "wats";
    cfg.type = "wats";
    cfg.base_url = base;
    cfg.auth.scheme = "basic";
    cfg.auth.token = token;
    cfg.tls.verify = true;
    void *ctx = NULL;
    char err[200];
    assert_int_equal(conn_wats_init_with(&cfg, NULL, o, &ctx, err, sizeof(err)), AB_OK);
    return ctx;
}

static struct conn_wats_opts fast_opts(void)
{
    struct conn_wats_opts o;
    conn_wats_opts_default(&o);
    o.requests_per_minute = 0; /* no ceiling in tests unless a test sets one */
    o.retry_base_ms = 10;
    o.retry_cap_ms = 2000;
    return o;
}

/* ---- slots against the fake ------------------------------------------------------ */

/* A configuration with one wats provider at the fake and a server_version. */
static void wats_yaml(char *out, size_t n, const char *version)
{
    snprintf(out, n,
             "tenants:\n  default:\n    providers:\n      w:\n        type: wats\n"
             "        base_url: %s\n        auth: {scheme: token, token: token}\n"
             "        wats: {server_version: \"%s\"}\n",
             base, version);
}

static void test_init_config(void **state)
{
    (void)state;
    struct config_provider cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.name = "w";
    cfg.base_url = base;
    cfg.auth.scheme = "bearer";
    cfg.auth.token = "t";
    void *ctx = NULL;
    char err[200];
    assert_int_equal(conn_wats.init(&cfg, NULL, &ctx, err, sizeof(err)), AB_ECONFIG);
    assert_non_null(strstr(err, "basic"));
    cfg.auth.scheme = "basic";
    cfg.auth.token = NULL;
    assert_int_equal(conn_wats.init(&cfg, NULL, &ctx, err, sizeof(err)), AB_ECONFIG);
    assert_non_null(strstr(err, "auth.token"));
    struct conn_wats_opts o = fast_opts();
    o.server_version = "not a version";
    cfg.auth.token = "token";
    assert_int_equal(conn_wats_init_with(&cfg, NULL, &o, &ctx, err, sizeof(err)), AB_ECONFIG);

    /* init reads the provider's `wats:` section */
    char full[600];
    struct config *conf;
    struct config_errors errs;
    wats_yaml(full, sizeof(full), "not a version");
    assert_int_equal(config_load_buffer("t.yaml", full, strlen(full), &conf, &errs), AB_OK);
    const struct config_provider *p = config_provider(config_tenant(conf, "default"), "w");
    assert_int_equal(conn_wats.init(p, NULL, &ctx, err, sizeof(err)), AB_ECONFIG);
    assert_non_null(strstr(err, "server_version"));
    config_free(conf);
    wats_yaml(full, sizeof(full), "25.3.1");
    assert_int_equal(config_load_buffer("t.yaml", full, strlen(full), &conf, &errs), AB_OK);
    p = config_provider(config_tenant(conf, "default"), "w");
    assert_int_equal(conn_wats.init(p, NULL, &ctx, err, sizeof(err)), AB_OK);
    /* the configured version is used: no /api/App/Version request */
    struct arena *a = arena_new(0, 0);
    struct conn_health h;
    fake_reset(3, "25.2.0.1");
    assert_int_equal(conn_health(&conn_wats, ctx, a, &h), AB_OK);
    assert_string_equal(h.provider_version, "25.3.1");
    assert_int_equal(fake_requests("GET /api/App/Version"), 0);
    conn_wats.cleanup(ctx);
    arena_free(a);
    config_free(conf);
}

static void test_full_pull_10000(void **state)
{
    (void)state;
    fake_reset(10000, "25.2.0.1");
    struct conn_wats_opts o = fast_opts();
    o.requests_per_minute = 500; /* the default ceiling: 14 requests fit its burst + a second */
    void *ctx = ctx_new(&o, "token");
    struct conn_health h;
    struct arena *ha = arena_new(0, 0);
    assert_int_equal(conn_wats.health(ctx, ha, &h), AB_OK);
    assert_int_equal(h.auth, CONN_CHECK_OK);
    assert_int_equal(h.version, CONN_CHECK_OK);
    assert_string_equal(h.provider_version, "25.2.0.1");
    arena_free(ha);
    int64_t before = conn_wats_requests(ctx);
    const char *token = NULL;
    char *tok = NULL, *wm = NULL;
    size_t records = 0;
    int pages = 0;
    json_t *seen = json_object();
    do {
        struct arena *a = arena_new(0, 0);
        struct conn_page pg;
        assert_int_equal(conn_wats.pull(ctx, "asset", NULL, token, a, &pg), AB_OK);
        for (size_t i = 0; i < pg.n_records; i++)
            json_object_set_new(seen, pg.records[i].native_id, json_true());
        records += pg.n_records;
        pages++;
        free(tok);
        tok = pg.next_page_token ? strdup(pg.next_page_token) : NULL;
        if (!pg.next_page_token) {
            assert_non_null(pg.new_watermark);
            wm = strdup(pg.new_watermark);
        } else {
            assert_null(pg.new_watermark);
        }
        token = tok;
        arena_free(a);
    } while (token);
    int64_t used = conn_wats_requests(ctx) - before;
    printf("wats full pass: %zu assets in %d pages, %lld requests\n", records, pages,
           (long long)used);
    assert_int_equal(records, 10000);
    assert_int_equal(json_object_size(seen), 10000);
    assert_true(used <= 15);
    assert_string_equal(wm, "1970-01-01T00:00:00Z|0"); /* empty log */
    assert_int_equal(fake_requests("GET /api/Asset/Status"), 0);
    free(wm);
    json_decref(seen);
    conn_wats.cleanup(ctx);
}

static void test_paging_skip_ignored_and_keyset(void **state)
{
    (void)state;
    fake_reset(2500, "25.2.0.1");
    pthread_mutex_lock(&F.mu);
    F.ignore_skip = true;
    pthread_mutex_unlock(&F.mu);
    struct conn_wats_opts o = fast_opts();
    void *ctx = ctx_new(&o, "token");
    struct arena *a = arena_new(0, 0);
    struct conn_page pg;
    assert_int_equal(conn_wats.pull(ctx, "asset", NULL, NULL, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 1000);
    const char *t = arena_strdup(a, pg.next_page_token);
    assert_int_equal(conn_wats.pull(ctx, "asset", NULL, t, a, &pg), AB_EUNSUPPORTED);
    conn_wats.cleanup(ctx);
    /* keyset paging does not need $skip */
    o.paging = CONN_WATS_PAGING_KEYSET;
    pthread_mutex_lock(&F.mu);
    F.n_req = 0;
    pthread_mutex_unlock(&F.mu);
    ctx = ctx_new(&o, "token");
    size_t total = 0;
    const char *tok = NULL;
    do {
        assert_int_equal(conn_wats.pull(ctx, "asset", NULL, tok, a, &pg), AB_OK);
        total += pg.n_records;
        tok = pg.next_page_token;
    } while (tok);
    assert_int_equal(total, 2500);
    assert_true(fake_seen("assetId%20gt%20%27001999%27"));
    assert_false(fake_seen("$skip="));
    arena_free(a);
    conn_wats.cleanup(ctx);
}

static void test_incremental_via_log(void **state)
{
    (void)state;
    fake_reset(50, "25.2.0.1");
    clock_set_fake(1767225600000LL, true); /* 2026-01-01T00:00:00Z */
    pthread_mutex_lock(&F.mu);
    fake_log_add(1, 3, "registered");
    pthread_mutex_unlock(&F.mu);
    struct conn_wats_opts o = fast_opts();
    void *ctx = ctx_new(&o, "token");
    struct arena *a = arena_new(0, 0);
    struct conn_page pg;
    assert_int_equal(conn_wats.pull(ctx, "asset", NULL, NULL, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 50);
    assert_null(pg.next_page_token);
    assert_string_equal(pg.new_watermark, "2026-01-01T00:00:00Z|1");
    const char *wm = arena_strdup(a, pg.new_watermark);
    /* nothing new: no records, the watermark stays */
    assert_int_equal(conn_wats.pull(ctx, "asset", wm, NULL, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 0);
    assert_null(pg.new_watermark);
    /* two changes in the same second as the watermark (later log ids), a
     * message (no asset change) and a change of an asset seen twice */
    pthread_mutex_lock(&F.mu);
    F.state[7] = 3;
    fake_log_add(2, 7, "state");
    fake_log_add(0, 9, "just a message");
    fake_log_add(2, 11, "name");
    fake_log_add(2, 7, "location");
    F.n_req = 0;
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(conn_wats.pull(ctx, "asset", wm, NULL, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 2);
    assert_string_equal(pg.records[0].native_id, "SN-00007");
    assert_string_equal(s(pg.records[0].doc, "status"), "in_maintenance");
    /* the server's status for changed assets */
    assert_string_equal(json_string_value(attr(pg.records[0].doc, "wats_status")), "warning");
    assert_string_equal(json_string_value(attr(pg.records[0].doc, "wats_status_source")), "server");
    assert_string_equal(pg.records[1].native_id, "SN-00011");
    assert_string_equal(pg.new_watermark, "2026-01-01T00:00:00Z|5");
    assert_null(pg.next_page_token);
    /* 1 log page, 1 batched lookup, 2 statuses (types were fresh) */
    assert_int_equal(fake_requests("GET /api/Asset/Log"), 1);
    assert_int_equal(fake_requests("GET /api/Asset?"), 1);
    assert_int_equal(fake_requests("GET /api/Asset/Status"), 2);
    assert_true(fake_seen("serialNumber%20eq%20%27SN-00007%27%20or%20serialNumber%20eq%20%27SN-"
                          "00011%27"));
    /* log pages: a page size of 2 continues with a token */
    conn_wats.cleanup(ctx);
    o.log_page_size = 2;
    o.status_for_changed = false;
    ctx = ctx_new(&o, "token");
    assert_int_equal(conn_wats.pull(ctx, "asset", wm, NULL, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 1); /* entries 2 and 3: asset 7 and a message */
    assert_string_equal(json_string_value(attr(pg.records[0].doc, "wats_status_source")),
                        "derived");
    assert_non_null(pg.next_page_token);
    assert_string_equal(pg.new_watermark, "2026-01-01T00:00:00Z|3");
    const char *t2 = arena_strdup(a, pg.next_page_token);
    assert_int_equal(conn_wats.pull(ctx, "asset", wm, t2, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 2);
    assert_string_equal(pg.new_watermark, "2026-01-01T00:00:00Z|5");
    arena_free(a);
    conn_wats.cleanup(ctx);
    clock_set_real();
}

static struct conn_item item(const char *action, json_t *payload, const char *key)
{
    struct conn_item it;
    memset(&it, 0, sizeof(it));
    it.id = 1;
    it.tenant = "t";
    it.entity = "meter";
    it.action = action;
    it.payload = payload;
    it.idempotency_key = key;
    it.correlation_id = "corr-1";
    it.attempts = 1;
    return it;
}

static void test_push_usage(void **state)
{
    (void)state;
    fake_reset(20, "25.2.0.1");
    struct conn_wats_opts o = fast_opts();
    void *ctx = ctx_new(&o, "token");
    struct arena *a = arena_new(0, 0);
    struct conn_result r;
    /* asset 2 had 200 at WATS when linked; the hub counted 35 since */
    json_t *p = load("{\"asset_ref\":\"SN-00002\",\"asset_native_id\":\"SN-00002\","
                     "\"meter_type\":\"count\",\"hub_meter\":\"cycles\",\"value\":35,"
                     "\"provider_baseline\":200,\"read_at\":\"2026-01-01T00:00:00Z\"}");
    struct conn_item it = item("push_reading", p, "usage:1");
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_true(fake_seen("PUT /api/Asset/Count?serialNumber=SN-00002&totalCount=235"));
    assert_false(fake_seen("incrementBy"));
    /* a resend (or a coalesced newer total) is harmless: totals, not increments */
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    pthread_mutex_lock(&F.mu);
    assert_int_equal(F.total[2], 235);
    assert_int_equal(F.running[2], 55);
    pthread_mutex_unlock(&F.mu);
    enum conn_resolution res;
    assert_int_equal(conn_resolve(&conn_wats, ctx, &it, a, &res), AB_OK);
    assert_int_equal(res, CONN_RESOLVED_NOT_FOUND);
    /* without a baseline the value is the total; no version read for Count */
    json_object_del(p, "provider_baseline");
    json_object_set_new(p, "value", json_integer(240));
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_true(fake_seen("totalCount=240"));
    assert_int_equal(fake_requests("GET /api/App/Version"), 0);
    /* an unknown counter and a missing asset are permanent */
    json_object_set_new(p, "meter_type", json_string("run_hours"));
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "validation");
    json_object_set_new(p, "meter_type", json_string("count"));
    /* the running count needs 25.3 */
    json_object_set_new(p, "meter_type", json_string("running_count"));
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "unsupported");
    json_object_set_new(p, "meter_type", json_string("count"));
    conn_wats.cleanup(ctx);

    /* auto on 25.3: SetTotalCount */
    fake_reset(20, "25.3.9.824");
    o.usage_endpoint = CONN_WATS_USAGE_AUTO;
    ctx = ctx_new(&o, "token");
    json_object_set_new(p, "value", json_integer(777));
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_true(fake_seen("PUT /api/Asset/SetTotalCount?serialNumber=SN-00002&totalCount=777"));
    conn_wats.cleanup(ctx);

    /* a type whose usage WATS reports count: nothing is sent */
    fake_reset(20, "25.2.0.1");
    o.usage_endpoint = CONN_WATS_USAGE_COUNT;
    const char *types[] = {"ICT Fixture"};
    o.reports_count_usage = (struct conn_wats_types){types, 1};
    ctx = ctx_new(&o, "token");
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK); /* SN-00002: type A */
    assert_int_equal(r.outcome, CONN_OK);
    assert_non_null(strstr(r.message, "not sent"));
    assert_int_equal(fake_requests("PUT "), 0);
    json_object_set_new(p, "asset_native_id", json_string("SN-00003")); /* type B: sent */
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_int_equal(fake_requests("PUT /api/Asset/Count"), 1);
    conn_wats.cleanup(ctx);
    json_decref(p);
    arena_free(a);
}

static void test_push_calibration(void **state)
{
    (void)state;
    struct conn_wats_opts o = fast_opts();
    struct arena *a = arena_new(0, 0);
    struct conn_result r;
    /* before 25.3: Calibration, then the next date WATS computed (30 days)
     * is compared with the system of record's */
    fake_reset(20, "25.2.0.1");
    void *ctx = ctx_new(&o, "token");
    json_t *p = load("{\"asset_native_id\":\"SN-00004\",\"kind\":\"calibration\","
                     "\"performed_at\":\"2026-01-10T09:00:00Z\","
                     "\"next_due_at\":\"2026-02-09T09:00:00Z\",\"comment\":\"WO-17\"}");
    struct conn_item it = item("record_calibration", p, "cal-key-1");
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_null(r.error_class);
    assert_null(r.mapping_exception);
    assert_true(fake_seen("POST /api/Asset/Calibration?serialNumber=SN-00004&dateTime=2026-01-"
                          "10T09%3A00%3A00Z&comment=WO-17%20%5Bassetbridge%20cal-key-1%5D"));
    /* resolve finds the log entry by the key in its comment */
    enum conn_resolution res;
    assert_int_equal(conn_resolve(&conn_wats, ctx, &it, a, &res), AB_OK);
    assert_int_equal(res, CONN_RESOLVED_FOUND);
    struct conn_item other = item("record_calibration", p, "cal-key-2");
    assert_int_equal(conn_resolve(&conn_wats, ctx, &other, a, &res), AB_OK);
    assert_int_equal(res, CONN_RESOLVED_NOT_FOUND);
    /* a different next date: recorded, and reported for a person */
    json_object_set_new(p, "next_due_at", json_string("2026-07-10T09:00:00Z"));
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_string_equal(r.error_class, "due_date_mismatch");
    assert_non_null(r.mapping_exception);
    assert_non_null(strstr(r.mapping_exception, "2026-07-10T09:00:00Z"));
    assert_non_null(strstr(r.message, "2026-02-09T09:00:00Z"));
    assert_non_null(strstr(r.message, "2026-07-10T09:00:00Z"));
    assert_int_equal(fake_requests("POST /api/Asset/Calibration/External"), 0);
    conn_wats.cleanup(ctx);

    /* 25.3 and an External type: the External endpoint with the next date */
    fake_reset(20, "25.3.9.824");
    const char *ext[] = {"DMM"};
    o.calibration_external = (struct conn_wats_types){ext, 1};
    ctx = ctx_new(&o, "token");
    json_object_set_new(p, "asset_native_id", json_string("SN-00005")); /* type B (DMM) */
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_true(fake_seen("POST /api/Asset/Calibration/External?serialNumber=SN-00005&fromDate="
                          "2026-01-10T09%3A00%3A00Z&toDate=2026-07-10T09%3A00%3A00Z"));
    pthread_mutex_lock(&F.mu);
    assert_string_equal(F.next_cal[5], "2026-07-10T09:00:00Z");
    pthread_mutex_unlock(&F.mu);
    /* an External type without the next date cannot be recorded */
    json_object_del(p, "next_due_at");
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "validation");
    /* a type that is not External on 25.3: plain Calibration */
    json_object_set_new(p, "asset_native_id", json_string("SN-00006")); /* type A */
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_true(fake_seen("POST /api/Asset/Calibration?serialNumber=SN-00006"));
    conn_wats.cleanup(ctx);

    /* the sentinel interval (off by default) also marks a type External */
    fake_reset(20, "25.3.9.824");
    pthread_mutex_lock(&F.mu);
    F.cal_external_type_b = true;
    pthread_mutex_unlock(&F.mu);
    o.calibration_external = (struct conn_wats_types){NULL, 0};
    o.external_sentinel = true;
    ctx = ctx_new(&o, "token");
    json_object_set_new(p, "asset_native_id", json_string("SN-00007"));
    json_object_set_new(p, "next_due_at", json_string("2027-01-01T00:00:00Z"));
    assert_int_equal(conn_push(&conn_wats, ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_true(fake_seen("POST /api/Asset/Calibration/External?serialNumber=SN-00007"));
    pthread_mutex_lock(&F.mu);
    F.cal_external_type_b = false;
    pthread_mutex_unlock(&F.mu);
    conn_wats.cleanup(ctx);
    json_decref(p);
    arena_free(a);
}

static void test_push_asset_state_message(void **state)
{
    (void)state;
    fake_reset(20, "25.2.0.1");
    struct conn_wats_opts o = fast_opts();
    o.default_type = "DMM";
    void *ctx = ctx_new(&o, "token");
    struct arena *a = arena_new(0, 0);
    struct conn_result r;
    json_t *asset = load("{\"asset_ref\":\"NEW-1\",\"serial_number\":\"NEW-1\",\"name\":\"n\"}");
    struct conn_item it = item("upsert_asset", asset, "k1");
    assert_int_equal(conn_wats.push(ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_string_equal(r.native_id, "NEW-1");
    json_t *st = load("{\"asset_native_id\":\"SN-00001\",\"status\":\"in_storage\"}");
    it = item("set_state", st, "k2");
    assert_int_equal(conn_wats.push(ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_OK);
    assert_true(fake_seen("PUT /api/Asset/State?serialNumber=SN-00001&state=5"));
    json_t *bad = load("{\"asset_native_id\":\"SN-00001\",\"status\":\"lost\"}");
    it = item("set_state", bad, "k3");
    assert_int_equal(conn_wats.push(ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    json_t *none = load("{\"status\":\"active\"}");
    it = item("set_state", none, "k4");
    assert_int_equal(conn_wats.push(ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "validation");
    it = item("open_request", st, "k5");
    assert_int_equal(conn_wats.push(ctx, &it, a, &r), AB_OK);
    assert_string_equal(r.error_class, "unsupported");
    json_decref(asset);
    json_decref(st);
    json_decref(bad);
    json_decref(none);
    arena_free(a);
    conn_wats.cleanup(ctx);
}

static void test_errors(void **state)
{
    (void)state;
    fake_reset(20, "25.2.0.1");
    struct conn_wats_opts o = fast_opts();
    struct arena *a = arena_new(0, 0);
    /* a wrong token: one request, permanent auth, a clear message */
    void *bad = ctx_new(&o, "wrong");
    struct conn_page pg;
    assert_int_equal(conn_wats.pull(bad, "asset_type", NULL, NULL, a, &pg), AB_EAUTH);
    assert_int_equal(fake_requests(NULL), 1);
    json_t *p = load("{\"asset_native_id\":\"SN-00001\",\"meter_type\":\"count\",\"value\":5}");
    struct conn_item it = item("push_reading", p, "u");
    struct conn_result r;
    assert_int_equal(conn_wats.push(bad, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_PERMANENT);
    assert_string_equal(r.error_class, "auth");
    assert_non_null(strstr(r.message, "auth.token"));
    assert_int_equal(fake_requests(NULL), 2);
    struct conn_health h;
    assert_int_equal(conn_wats.health(bad, a, &h), AB_EAUTH);
    assert_int_equal(h.auth, CONN_CHECK_FAILED);
    conn_wats.cleanup(bad);

    /* 429 with Retry-After on a read: retried inside the connector */
    void *ctx = ctx_new(&o, "token");
    pthread_mutex_lock(&F.mu);
    F.n_req = 0;
    F.fail_next_status = 429;
    F.fail_next_n = 1;
    F.retry_after = "1";
    pthread_mutex_unlock(&F.mu);
    int64_t t0 = clock_mono_ms();
    assert_int_equal(conn_wats.pull(ctx, "asset_type", NULL, NULL, a, &pg), AB_OK);
    assert_true(clock_mono_ms() - t0 >= 900);
    assert_int_equal(pg.n_records, 2);
    assert_int_equal(fake_requests(NULL), 2);
    /* 503 past the retries: AB_EUNAVAILABLE after max_retries + 1 requests */
    pthread_mutex_lock(&F.mu);
    F.n_req = 0;
    F.fail_next_status = 503;
    F.fail_next_n = 10;
    F.retry_after = NULL;
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(conn_wats.pull(ctx, "asset_type", NULL, NULL, a, &pg), AB_EUNAVAILABLE);
    assert_int_equal(fake_requests(NULL), 3);
    /* a write is not retried inside: retryable for the engine, Retry-After kept */
    pthread_mutex_lock(&F.mu);
    F.n_req = 0;
    F.fail_next_status = 429;
    F.fail_next_n = 1;
    F.retry_after = "30";
    pthread_mutex_unlock(&F.mu);
    assert_int_equal(conn_wats.push(ctx, &it, a, &r), AB_OK);
    assert_int_equal(r.outcome, CONN_RETRYABLE);
    assert_string_equal(r.error_class, "throttled");
    assert_int_equal(r.retry_after_ms, 30000);
    assert_int_equal(fake_requests(NULL), 1);
    pthread_mutex_lock(&F.mu);
    F.fail_next_n = 0;
    pthread_mutex_unlock(&F.mu);
    json_decref(p);
    arena_free(a);
    conn_wats.cleanup(ctx);
}

static void test_report_uses(void **state)
{
    (void)state;
    fake_reset(20, "25.2.0.1");
    struct conn_wats_opts o = fast_opts();
    o.report_page_size = 2;
    void *ctx = ctx_new(&o, "token");
    struct arena *a = arena_new(0, 0);
    struct conn_page pg;
    /* first pull: starts at the head, no records */
    assert_int_equal(conn_wats.pull(ctx, "report", NULL, NULL, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 0);
    assert_string_equal(pg.new_watermark, "100");
    assert_int_equal(conn_wats.pull(ctx, "report", "100", NULL, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 2);
    assert_string_equal(s(pg.records[1].doc, "result"), "failed");
    assert_string_equal(pg.new_watermark, "102");
    assert_string_equal(pg.next_page_token, "102");
    assert_true(fake_seen("$expand=assets"));
    assert_int_equal(conn_wats.pull(ctx, "report", "100", "102", a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 1);
    assert_null(pg.next_page_token);
    assert_string_equal(pg.new_watermark, "103");
    /* the engine's full pass (no watermark) continues from the cursor held */
    assert_int_equal(conn_wats.pull(ctx, "report", NULL, NULL, a, &pg), AB_OK);
    assert_int_equal(pg.n_records, 0);
    assert_null(pg.new_watermark);
    arena_free(a);
    conn_wats.cleanup(ctx);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_registered),
        cmocka_unit_test(test_version_parse),
        cmocka_unit_test(test_state_table),
        cmocka_unit_test(test_type_keywords),
        cmocka_unit_test(test_odata),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_http_outcomes),
        cmocka_unit_test(test_derive_status),
        cmocka_unit_test(test_asset_record),
        cmocka_unit_test(test_type_and_report_records),
        cmocka_unit_test(test_to_native_and_usage),
    };
    const struct CMUnitTest fake[] = {
        cmocka_unit_test(test_init_config),
        cmocka_unit_test(test_full_pull_10000),
        cmocka_unit_test(test_paging_skip_ignored_and_keyset),
        cmocka_unit_test(test_incremental_via_log),
        cmocka_unit_test(test_push_usage),
        cmocka_unit_test(test_push_calibration),
        cmocka_unit_test(test_push_asset_state_message),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_report_uses),
    };
    int rc = cmocka_run_group_tests_name("wats pure", pure, NULL, NULL);
    rc += cmocka_run_group_tests_name("wats fake server", fake, fake_start, fake_stop);
    return rc;
}
