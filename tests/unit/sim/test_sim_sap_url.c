/* SPDX-License-Identifier: Apache-2.0
 *
 * test_sim_sap_url.c: unit tests for the `sap_pm` simulator's path and
 * literal parser (src/sim/sim_sap_url.c) and for the SAP dialect of the
 * OData filter compiler (sim_wats_odata.c with ODATA_F_TYPED_LITERALS and
 * ODATA_F_CASE_SENSITIVE): what is accepted, and that refusals say why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sim/sim_sap_url.h"
#include "sim/sim_wats_odata.h"

static void test_v2_paths(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 0);
    struct sap_path p;
    char err[SAP_ERR_MAX];
    assert_int_equal(sap_path_parse(a,
                                    "/sap/opu/odata/sap/API_EQUIPMENT/Equipment(Equipment='1''0',"
                                    "ValidityEndDate=datetime'9999-12-31T00:00:00')",
                                    &p, err),
                     AB_OK);
    assert_false(p.v4);
    assert_string_equal(p.service, "API_EQUIPMENT");
    assert_null(p.version);
    assert_string_equal(p.resource, "Equipment");
    assert_true(p.has_key);
    assert_int_equal(p.n_keys, 2);
    assert_string_equal(p.keys[0].name, "Equipment");
    assert_string_equal(p.keys[0].text, "1'0");
    assert_int_equal(p.keys[1].kind, SAP_LIT_DATETIME);
    assert_int_equal(p.keys[1].ms, 253402214400000LL);
    assert_null(p.nav);

    assert_int_equal(sap_path_parse(a,
                                    "/sap/opu/odata/sap/API_MAINTENANCEPLAN;v=0001/"
                                    "MaintenancePlan('7')/to_Schedules",
                                    &p, err),
                     AB_OK);
    assert_string_equal(p.version, "0001");
    assert_string_equal(p.nav, "to_Schedules");
    assert_null(p.keys[0].name);
    assert_string_equal(p.keys[0].text, "7");

    assert_int_equal(sap_path_parse(a, "/sap/opu/odata/sap/API_EQUIPMENT/", &p, err), AB_OK);
    assert_string_equal(p.resource, "");
    assert_int_equal(sap_path_parse(a, "/sap/opu/odata/sap/API_EQUIPMENT", &p, err), AB_OK);
    assert_string_equal(p.resource, "");

    /* refusals */
    assert_int_equal(sap_path_parse(a, "/api/Asset", &p, err), AB_ENOTFOUND);
    assert_int_equal(sap_path_parse(a, "/sap/opu/odata/sap/X/E('1'", &p, err), AB_EINVAL);
    assert_non_null(strstr(err, "unterminated"));
    assert_int_equal(sap_path_parse(a, "/sap/opu/odata/sap/X/E('1','2')", &p, err), AB_EINVAL);
    assert_non_null(strstr(err, "name each"));
    assert_int_equal(sap_path_parse(a, "/sap/opu/odata/sap/X/E('1')/a/b", &p, err), AB_EINVAL);
    assert_int_equal(sap_path_parse(a, "/sap/opu/odata/sap/X/E(K=x'1')", &p, err), AB_EINVAL);
    assert_non_null(strstr(err, "prefix"));
    assert_int_equal(sap_path_parse(a, "/sap/opu/odata/sap/X;w=1/E", &p, err), AB_EINVAL);
    arena_free(a);
}

static void test_v4_paths(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 0);
    struct sap_path p;
    char err[SAP_ERR_MAX];
    assert_int_equal(sap_path_parse(a,
                                    "/sap/opu/odata4/sap/api_measuringpoint/srvd_a2x/sap/"
                                    "measuringpoint/0001/MeasuringPoint('12')/"
                                    "SAP__self.ActivateMeasuringPoint",
                                    &p, err),
                     AB_OK);
    assert_true(p.v4);
    assert_string_equal(p.service, "api_measuringpoint");
    assert_string_equal(p.v4_name, "measuringpoint");
    assert_string_equal(p.version, "0001");
    assert_string_equal(p.nav, "SAP__self.ActivateMeasuringPoint");
    assert_int_equal(sap_path_parse(a,
                                    "/sap/opu/odata4/sap/x/srvd_a2x/sap/y/0001/F(MsmtRdngDate="
                                    "2017-04-13,MsmtRdngTime=15:51:04,MeasuringPoint='1')",
                                    &p, err),
                     AB_OK);
    assert_int_equal(p.n_keys, 3);
    assert_int_equal(p.keys[0].kind, SAP_LIT_BARE);
    assert_string_equal(p.keys[0].text, "2017-04-13");
    assert_int_equal(sap_path_parse(a, "/sap/opu/odata4/sap/x/nope/sap/y/0001/E", &p, err),
                     AB_ENOTFOUND);
    arena_free(a);
}

static void test_literals_and_values(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 0);
    struct sap_lit_val v;
    char err[SAP_ERR_MAX];
    assert_int_equal(sap_literal_parse(a, "'10000020'", &v, err), AB_OK);
    assert_int_equal(v.kind, SAP_LIT_STRING);
    assert_string_equal(v.text, "10000020");
    assert_int_equal(sap_literal_parse(a, "datetime'2017-12-31T00:00'", &v, err), AB_OK);
    assert_int_equal(v.ms, 1514678400000LL);
    assert_int_equal(sap_literal_parse(a, "datetimeoffset'2017-12-31T01:00:00+01:00'", &v, err),
                     AB_OK);
    assert_int_equal(v.ms, 1514678400000LL);
    assert_int_equal(sap_literal_parse(a, "datetime'2017-12-31T00:00:00Z'", &v, err), AB_EINVAL);
    assert_int_equal(sap_literal_parse(a, "time'PT23H59M59S'", &v, err), AB_OK);
    assert_int_equal(v.kind, SAP_LIT_TIME);
    assert_int_equal(v.ms, 86399000LL);
    assert_int_equal(sap_literal_parse(a, "time'PT25H'", &v, err), AB_EINVAL);
    assert_int_equal(sap_literal_parse(a, "'a'b'", &v, err), AB_EINVAL);
    assert_int_equal(sap_literal_parse(a, "", &v, err), AB_EINVAL);

    int64_t ms;
    assert_true(sap_json_date_parse("/Date(1492041600000)/", &ms));
    assert_int_equal(ms, 1492041600000LL);
    assert_true(sap_json_date_parse("/Date(1542801052000+0000)/", &ms));
    assert_int_equal(ms, 1542801052000LL);
    assert_false(sap_json_date_parse("/Date(x)/", &ms));
    assert_false(sap_json_date_parse("2017-04-13", &ms));
    assert_true(sap_duration_parse("PT15H51M04S", &ms));
    assert_int_equal(ms, (15 * 3600 + 51 * 60 + 4) * 1000LL);
    assert_false(sap_duration_parse("P1D", &ms));
    arena_free(a);
}

static const struct odata_field fields[] = {
    {"Equipment", "eq", ODATA_STRING, true, NULL},
    {"LastChangeDateTime", "changed", ODATA_DATETIME, true, NULL},
    {"LASTCHANGEDATETIME", "changed2", ODATA_DATETIME, true, NULL},
};
#define NF (sizeof(fields) / sizeof(fields[0]))

static void test_sap_filter_dialect(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 0);
    struct odata_sql q;
    char err[ODATA_ERR_MAX];
    unsigned f = ODATA_F_TYPED_LITERALS | ODATA_F_CASE_SENSITIVE;
    assert_int_equal(odata_filter_compile_ex(a, "LastChangeDateTime gt datetime'2024-01-31T00:00'",
                                             fields, NF, f, &q, err),
                     AB_OK);
    assert_int_equal(q.n_params, 1);
    assert_int_equal(q.params[0].i, 1706659200000LL);
    assert_int_equal(odata_filter_compile_ex(a,
                                             "LastChangeDateTime ge datetimeoffset'2024-01-31T00:"
                                             "00:00Z' and Equipment eq '1'",
                                             fields, NF, f, &q, err),
                     AB_OK);
    assert_int_equal(q.n_params, 2);
    /* names are case-sensitive: the plan cycle's upper-case property differs */
    assert_int_equal(odata_filter_compile_ex(a, "equipment eq '1'", fields, NF, f, &q, err),
                     AB_EINVAL);
    assert_non_null(strstr(err, "equipment"));
    assert_int_equal(odata_filter_compile_ex(a, "LASTCHANGEDATETIME gt datetime'2024-01-31T00:00'",
                                             fields, NF, f, &q, err),
                     AB_OK);
    assert_int_equal(odata_filter_compile_ex(a, "LastChangeDateTime gt datetime'yesterday'", fields,
                                             NF, f, &q, err),
                     AB_EINVAL);
    assert_non_null(strstr(err, "typed literal"));
    assert_int_equal(
        odata_orderby_compile_ex(a, "equipment desc", fields, NF, f, &(const char *){0}, err),
        AB_EINVAL);
    /* without the flags (the wats dialect) typed literals stay a syntax error */
    assert_int_equal(odata_filter_compile(a, "LastChangeDateTime gt datetime'2024-01-31T00:00'",
                                          fields, NF, &q, err),
                     AB_EINVAL);
    assert_int_equal(odata_filter_compile(a, "equipment eq '1'", fields, NF, &q, err), AB_OK);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_paths),
        cmocka_unit_test(test_v4_paths),
        cmocka_unit_test(test_literals_and_values),
        cmocka_unit_test(test_sap_filter_dialect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
