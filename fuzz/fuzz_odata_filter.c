/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_odata_filter.c: libFuzzer driver for the `wats` simulator's OData
 * $filter and $orderby compiler (src/sim/sim_wats_odata.c): query options
 * come straight from request URLs, so they are untrusted. Checks that a
 * refusal always says why, that an accepted filter's parameter count matches
 * its '?' placeholders, and that SQLite accepts the SQL it produced.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "sim/sim_wats_odata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static sqlite3 *db;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!db) {
        if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
            sqlite3_exec(db,
                         "CREATE TABLE t(n INTEGER PRIMARY KEY, serial TEXT, running INTEGER,"
                         " iv REAL, type_id TEXT, d INTEGER, ro INTEGER, tags TEXT);"
                         "INSERT INTO t VALUES (1,'a',1,1.5,NULL,0,0,'[{\"key\":\"k\"}]');",
                         NULL, NULL, NULL) != SQLITE_OK)
            abort();
    }
    struct arena *a = arena_new(4096, 0);
    /* a decoded query parameter never holds a NUL: stop at the first */
    const char *text = arena_strndup(a, (const char *)data, size);
    struct odata_sql q;
    char err[ODATA_ERR_MAX];
    size_t n = sizeof(fields) / sizeof(fields[0]);
    if (odata_filter_compile(a, text, fields, n, &q, err) != AB_OK) {
        if (!err[0])
            abort(); /* a refusal always says why */
    } else {
        size_t marks = 0;
        for (const char *p = q.sql; *p; p++)
            marks += *p == '?';
        if (marks != q.n_params)
            abort();
        const char *sql = arena_printf(a, "SELECT n FROM t WHERE %s LIMIT 1", *q.sql ? q.sql : "1");
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
            abort(); /* the compiler produced SQL SQLite refuses */
        if (odata_bind(st, &q, 1) != (int)q.n_params + 1)
            abort();
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        sqlite3_finalize(st);
    }
    const char *order;
    if (odata_orderby_compile(a, text, fields, n, &order, err) != AB_OK && !err[0])
        abort();
    arena_free(a);
    return 0;
}
