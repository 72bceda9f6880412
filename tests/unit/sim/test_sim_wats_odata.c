/* SPDX-License-Identifier: Apache-2.0
 *
 * test_sim_wats_odata.c: unit tests for the `wats` simulator's OData
 * $filter/$orderby compiler (src/sim/sim_wats_odata.c): the SQL and
 * parameters it produces, and that bad input is refused with a reason
 * naming the problem. The SQL is also run against a tiny SQLite table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "sim/sim_wats_odata.h"

static const struct odata_field fields[] = {
    {"serialNumber", "serial", ODATA_STRING, true, NULL},
    {"runningCount", "running", ODATA_INT, true, NULL},
    {"interval", "iv", ODATA_DOUBLE, true, NULL},
    {"typeId", "type_id", ODATA_GUID, true, NULL},
    {"date", "d", ODATA_DATETIME, true, NULL},
    {"isReadonly", "ro", ODATA_BOOL, false, NULL},
    {"xmlData", "tags", ODATA_XML, false, NULL},
    {"assetId", "CAST(n AS TEXT)", ODATA_STRING, true, "n"},
};
#define NF (sizeof(fields) / sizeof(fields[0]))

static enum ab_rc compile(struct arena *a, const char *f, struct odata_sql *q, char *err)
{
    return odata_filter_compile(a, f, fields, NF, q, err);
}

/* The serial numbers the filter selects from a fixed table, comma-joined. */
static const char *select_serials(struct arena *a, const char *filter)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE t(n INTEGER PRIMARY KEY, serial TEXT, running INTEGER, iv REAL,"
                     " type_id TEXT, d INTEGER, ro INTEGER, tags TEXT);"
                     "INSERT INTO t VALUES (1, 'FX-1', 10, 1.5,"
                     " 'fc48e41d-6276-4bf0-83f2-fa8af9aab91a', 1767225600000, 0,"
                     " '[{\"key\":\"SAP\",\"value\":\"42\"}]');"
                     "INSERT INTO t VALUES (2, 'O''Neil', 2000, NULL, NULL, NULL, 1, '[]');"
                     "INSERT INTO t VALUES (3, 'DMM-3', NULL, 30, NULL, 1700000000000, 0, '[]');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    struct odata_sql *q = arena_zalloc(a, sizeof(*q));
    char err[ODATA_ERR_MAX];
    assert_int_equal(compile(a, filter, q, err), AB_OK);
    const char *sql =
        arena_printf(a, "SELECT serial FROM t WHERE %s ORDER BY n", *q->sql ? q->sql : "1");
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(odata_bind(st, q, 1), (int)q->n_params + 1);
    const char *out = "";
    while (sqlite3_step(st) == SQLITE_ROW)
        out = arena_printf(a, "%s%s%s", out, *out ? "," : "", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static void test_filters_select_rows(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 0);
    assert_string_equal(select_serials(a, NULL), "FX-1,O'Neil,DMM-3");
    assert_string_equal(select_serials(a, "  "), "FX-1,O'Neil,DMM-3");
    assert_string_equal(select_serials(a, "serialNumber eq 'FX-1'"), "FX-1");
    assert_string_equal(select_serials(a, "serialNumber eq 'O''Neil'"), "O'Neil");
    assert_string_equal(select_serials(a, "serialNumber ne 'FX-1'"), "O'Neil,DMM-3");
    assert_string_equal(select_serials(a, "runningCount gt 100"), "O'Neil");
    assert_string_equal(select_serials(a, "not (runningCount gt 100)"), "FX-1,DMM-3");
    assert_string_equal(select_serials(a, "runningCount eq null"), "DMM-3");
    /* an ordering against null is never true and binds nothing (found by
     * the fuzzer: the literal's parameter was bound without its mark) */
    assert_string_equal(select_serials(a, "null gt 'a'"), "");
    assert_string_equal(select_serials(a, "runningCount lt null or serialNumber eq 'FX-1'"),
                        "FX-1");
    struct odata_sql nq;
    char nerr[ODATA_ERR_MAX];
    assert_int_equal(compile(a, "'a' le null", &nq, nerr), AB_OK);
    assert_int_equal(nq.n_params, 0);
    assert_string_equal(select_serials(a, "runningCount ne null and interval ge 1.5"), "FX-1");
    assert_string_equal(select_serials(a, "interval lt 2 or interval gt 20"), "FX-1,DMM-3");
    assert_string_equal(select_serials(a, "typeId eq FC48E41D-6276-4BF0-83F2-FA8AF9AAB91A"),
                        "FX-1");
    assert_string_equal(select_serials(a, "date gt 2025-01-01T00:00:00Z"), "FX-1");
    assert_string_equal(select_serials(a, "date le 2025-01-01"), "DMM-3");
    assert_string_equal(select_serials(a, "isReadonly"), "O'Neil");
    assert_string_equal(select_serials(a, "isReadonly eq false"), "FX-1,DMM-3");
    assert_string_equal(select_serials(a, "xmldata eq '//SAP'"), "FX-1");
    assert_string_equal(select_serials(a, "xmlData eq '//SAP[@Value=''42'']'"), "FX-1");
    assert_string_equal(select_serials(a, "xmlData eq '//SAP[@Value=''43'']'"), "");
    assert_string_equal(select_serials(a, "runningCount in (10, 2000)"), "FX-1,O'Neil");
    assert_string_equal(select_serials(a, "contains(serialNumber, 'M')"), "DMM-3");
    assert_string_equal(select_serials(a, "startswith(serialNumber, 'FX')"), "FX-1");
    assert_string_equal(select_serials(a, "endswith(serialNumber, '-3')"), "DMM-3");
    assert_string_equal(select_serials(a, "tolower(serialNumber) eq 'fx-1'"), "FX-1");
    assert_string_equal(select_serials(a, "assetId eq '2'"), "O'Neil");
    assert_string_equal(select_serials(a, "SERIALNUMBER EQ 'FX-1'"), "FX-1");
    arena_free(a);
}

static void expect_error(const char *filter, const char *needle)
{
    struct arena *a = arena_new(4096, 0);
    struct odata_sql q;
    char err[ODATA_ERR_MAX];
    assert_int_equal(compile(a, filter, &q, err), AB_EINVAL);
    if (!strstr(err, needle))
        fail_msg("filter '%s': error '%s' does not mention '%s'", filter, err, needle);
    assert_string_equal(q.sql, "");
    arena_free(a);
}

static void test_bad_filters_refused_with_reason(void **state)
{
    (void)state;
    expect_error("nosuch eq 1", "Could not find a property named 'nosuch'");
    expect_error("runningCount eq 'x'", "incompatible types");
    expect_error("typeId eq 'fc48e41d-6276-4bf0-83f2-fa8af9aab91a'", "Edm.Guid");
    expect_error("xmlData ne '//SAP'", "only supports the 'eq' operator");
    expect_error("xmlData eq 'SAP'", "XPath");
    expect_error("xmlData eq '//SAP[1]'", "only '//TagName'");
    expect_error("serialNumber eq 'open", "unterminated");
    expect_error("(runningCount eq 1", "expected ')'");
    expect_error("runningCount eq", "ends");
    expect_error("runningCount", "ends after an operand");
    expect_error("runningCount and serialNumber eq 'x'", "comparison operator");
    expect_error("runningCount eq 1 extra", "unexpected");
    expect_error("runningCount $ 1", "'$'");
    expect_error("1 eq 1", "property on one side");
    expect_error("runningCount eq 99999999999999999999", "out of range");
    expect_error("runningCount eq 12abc", "malformed number");
    expect_error("length(serialNumber) eq 1", "unsupported function 'length'");
    expect_error("contains(serialNumber)", "two arguments");
    expect_error("contains(runningCount, 'x')", "string property");
    expect_error("runningCount in (1, 'x')", "'in' takes literals");
    expect_error("xmlData eq '//SAP' and", "ends");
    char deep[200];
    memset(deep, '(', 40);
    deep[40] = '\0';
    expect_error(deep, "nested too deeply");
    char many[2000];
    size_t n = (size_t)snprintf(many, sizeof(many), "runningCount in (0");
    for (int i = 1; i < 70; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, ",%d", i);
    snprintf(many + n, sizeof(many) - n, ")");
    expect_error(many, "too many literals");
    char big[ODATA_TEXT_MAX + 10];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = 'x';
    expect_error(big, "longer than");
}

static void test_orderby(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 0);
    const char *out;
    char err[ODATA_ERR_MAX];
    assert_int_equal(odata_orderby_compile(a, NULL, fields, NF, &out, err), AB_OK);
    assert_string_equal(out, "");
    assert_int_equal(odata_orderby_compile(a, "runningCount desc, assetId", fields, NF, &out, err),
                     AB_OK);
    assert_string_equal(out, "running DESC, n ASC");
    assert_int_equal(odata_orderby_compile(a, "isReadonly", fields, NF, &out, err), AB_EINVAL);
    assert_non_null(strstr(err, "does not support the property 'isReadonly'"));
    assert_int_equal(odata_orderby_compile(a, "nosuch", fields, NF, &out, err), AB_EINVAL);
    assert_non_null(strstr(err, "nosuch"));
    assert_int_equal(odata_orderby_compile(a, "date up", fields, NF, &out, err), AB_EINVAL);
    assert_int_equal(odata_orderby_compile(a, "date,", fields, NF, &out, err), AB_EINVAL);
    arena_free(a);
}

static void test_guid_normalize(void **state)
{
    (void)state;
    char g[37];
    assert_true(odata_guid_normalize("FC48E41D-6276-4BF0-83F2-FA8AF9AAB91A", g));
    assert_string_equal(g, "fc48e41d-6276-4bf0-83f2-fa8af9aab91a");
    assert_false(odata_guid_normalize("FC48E41D-6276-4BF0-83F2-FA8AF9AAB91", g));
    assert_false(odata_guid_normalize("FC48E41D-6276-4BF0-83F2-FA8AF9AAB91AA", g));
    assert_false(odata_guid_normalize("FC48E41D_6276-4BF0-83F2-FA8AF9AAB91A", g));
    assert_false(odata_guid_normalize("", g));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters_select_rows),
        cmocka_unit_test(test_bad_filters_refused_with_reason),
        cmocka_unit_test(test_orderby),
        cmocka_unit_test(test_guid_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
