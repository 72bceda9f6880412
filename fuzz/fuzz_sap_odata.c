/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_sap_odata.c: libFuzzer driver for the `sap_pm` simulator's parsers of
 * untrusted URL parts: resource paths with key predicates and literals
 * (src/sim/sim_sap_url.c) and the SAP dialect of the OData $filter/$orderby
 * compiler (typed V2 literals, case-sensitive names: sim_wats_odata.c with
 * ODATA_F_*). Checks that a refusal always says why, that parsed keys stay
 * within bounds, that a filter's parameters match its placeholders and that
 * SQLite accepts the SQL produced.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "sim/sim_sap_url.h"
#include "sim/sim_wats_odata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct odata_field fields[] = {
    {"Equipment", "json_extract(data, '$.Equipment')", ODATA_STRING, true, NULL},
    {"LastChangeDateTime", "json_extract(data, '$.LastChangeDateTime')", ODATA_DATETIME, true,
     NULL},
    {"LASTCHANGEDATETIME", "json_extract(data, '$.LASTCHANGEDATETIME')", ODATA_DATETIME, true,
     NULL},
    {"MeasurementReading", "json_extract(data, '$.MeasurementReading')", ODATA_DOUBLE, true, NULL},
    {"MaintenancePlanCallNumber", "json_extract(data, '$.N')", ODATA_INT, true, NULL},
    {"EquipmentIsInactive", "json_extract(data, '$.I')", ODATA_BOOL, true, NULL},
};

static sqlite3 *db;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db) {
        if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
            sqlite3_exec(db,
                         "CREATE TABLE t(data TEXT);"
                         "INSERT INTO t VALUES ('{\"Equipment\":\"1\",\"LastChangeDateTime\":5}');",
                         NULL, NULL, NULL) != SQLITE_OK)
            abort();
    }
    struct arena *a = arena_new(4096, 0);
    const char *text = arena_strndup(a, (const char *)data, size);
    char err[SAP_ERR_MAX];

    /* as a path under each prefix, and as it is */
    const char *paths[] = {text, arena_printf(a, "/sap/opu/odata/sap/API_EQUIPMENT/%s", text),
                           arena_printf(a, "/sap/opu/odata4/sap/a/srvd_a2x/sap/b/0001/%s", text)};
    for (size_t i = 0; i < 3; i++) {
        struct sap_path p;
        err[0] = '\0';
        enum ab_rc rc = sap_path_parse(a, paths[i], &p, err);
        if (rc == AB_EINVAL && !err[0])
            abort();
        if (rc == AB_OK) {
            if (p.n_keys > SAP_KEYS_MAX || !p.service || !p.resource)
                abort();
            for (size_t k = 0; k < p.n_keys; k++)
                if (!p.keys[k].text)
                    abort();
        }
    }
    struct sap_lit_val lit;
    err[0] = '\0';
    if (sap_literal_parse(a, text, &lit, err) != AB_OK && !err[0])
        abort();
    int64_t ms;
    if (sap_duration_parse(text, &ms) && (ms < 0 || ms >= 86400000LL))
        abort();
    (void)sap_json_date_parse(text, &ms);

    /* the SAP filter dialect */
    char ferr[ODATA_ERR_MAX];
    struct odata_sql q;
    size_t n = sizeof(fields) / sizeof(fields[0]);
    unsigned flags = ODATA_F_TYPED_LITERALS | ODATA_F_CASE_SENSITIVE;
    if (odata_filter_compile_ex(a, text, fields, n, flags, &q, ferr) != AB_OK) {
        if (!ferr[0])
            abort();
    } else {
        size_t marks = 0;
        for (const char *c = q.sql; *c; c++)
            marks += *c == '?';
        if (marks != q.n_params)
            abort();
        const char *sql = arena_printf(a, "SELECT 1 FROM t WHERE %s", *q.sql ? q.sql : "1");
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            abort();
        (void)odata_bind(st, &q, 1);
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        sqlite3_finalize(st);
    }
    const char *order;
    if (odata_orderby_compile_ex(a, text, fields, n, flags, &order, ferr) != AB_OK && !ferr[0])
        abort();
    arena_free(a);
    return 0;
}
