/* SPDX-License-Identifier: Apache-2.0
 *
 * sim_wats_odata.h: the OData query subset of the `wats` simulator
 * ($filter and $orderby, docs/sim/wats.md), compiled to SQLite SQL.
 *
 * A query option arrives from an untrusted URL, so the compiler is strict
 * (every refusal says what is wrong, as the real server's 400 does), bounded
 * (input length, nesting depth, parameter count) and fuzzed
 * (fuzz/fuzz_odata_filter.c). It never copies literal values into the SQL:
 * literals become `?` parameters, bound in order with odata_bind().
 * Property names are matched case-insensitively (the .NET client sends
 * `xmldata` for `xmlData`). Pure functions; thread-safe.
 */
#ifndef AB_SIM_SIM_WATS_ODATA_H
#define AB_SIM_SIM_WATS_ODATA_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/result.h"

#define ODATA_TEXT_MAX 4096 /* longest $filter / $orderby accepted */
#define ODATA_DEPTH_MAX 32  /* nesting of parentheses and not */
#define ODATA_PARAMS_MAX 64 /* literals in one filter */
#define ODATA_ERR_MAX 256

/* Edm types of the properties a filter can name. */
enum odata_type {
    ODATA_STRING,
    ODATA_INT,      /* Edm.Int32 / Int64 */
    ODATA_DOUBLE,   /* Edm.Double */
    ODATA_BOOL,     /* stored 0/1 */
    ODATA_GUID,     /* stored as lower-case text */
    ODATA_DATETIME, /* stored as ms since the epoch */
    ODATA_XML,      /* tags: a JSON array [{"key","value"}] filtered by XPath, eq only */
};

/* One property: its OData name, the SQL expression that yields it, its type,
 * whether $orderby may use it, and the expression to order by (NULL: sql;
 * e.g. a numeric id shown as a string but ordered as a number). */
struct odata_field {
    const char *name;
    const char *sql;
    enum odata_type type;
    bool orderable;
    const char *order_sql;
};

/* A literal to bind. */
struct odata_param {
    enum { ODATA_P_TEXT, ODATA_P_INT, ODATA_P_DOUBLE } kind;
    const char *text; /* owned by the arena given to the compiler */
    int64_t i;
    double d;
};

struct odata_sql {
    const char *sql; /* "" when the option was absent or empty */
    struct odata_param params[ODATA_PARAMS_MAX];
    size_t n_params;
};

/* Compile a $filter expression over fields[0..n_fields) into an SQL boolean
 * expression (out->sql, allocated in a) with its parameters. Supported: eq
 * ne gt ge lt le, `in (...)`, and or not, parentheses, contains/startswith/
 * endswith(prop, 'text'), tolower/toupper/trim(prop), bare boolean
 * properties, literals 'text' (with '' as a quote), integers, decimals,
 * true/false/null, GUIDs (unquoted), date-times (unquoted RFC 3339, or a
 * date). Types must agree (a GUID property wants a GUID literal, as OData
 * does). An ODATA_XML property supports only `eq '//Name'` and
 * `eq '//Name[@Value=''v'']'`. NULL text compiles to "". On a refusal
 * returns AB_EINVAL with a one-line reason naming the problem (and its
 * position) in err. */
enum ab_rc odata_filter_compile(struct arena *a, const char *text, const struct odata_field *fields,
                                size_t n_fields, struct odata_sql *out /* OUT */,
                                char err[ODATA_ERR_MAX] /* OUT */) AB_MUST_CHECK;

/* Compile a $orderby list ("prop [asc|desc], ...") into an SQL ORDER BY
 * list (without the keywords) in *out (allocated in a; "" for NULL text).
 * Properties must exist and be orderable; otherwise AB_EINVAL with a reason
 * in err. */
enum ab_rc odata_orderby_compile(struct arena *a, const char *text,
                                 const struct odata_field *fields, size_t n_fields,
                                 const char **out /* OUT */,
                                 char err[ODATA_ERR_MAX] /* OUT */) AB_MUST_CHECK;

/* Dialect flags of the _ex compilers (the plain ones pass 0: the `wats`
 * server's dialect). */
#define ODATA_F_TYPED_LITERALS                                                                     \
    1u                            /* OData V2 typed literals: datetime'2024-01-31T00:00',          \
                                     datetimeoffset'2024-01-31T00:00:00Z', guid'...'               \
                                     (SAP Gateway, sim_sap*.c) */
#define ODATA_F_CASE_SENSITIVE 2u /* property names must match exactly (SAP) */

/* odata_filter_compile / odata_orderby_compile with dialect flags
 * (ODATA_F_*). Same contracts otherwise. */
enum ab_rc odata_filter_compile_ex(struct arena *a, const char *text,
                                   const struct odata_field *fields, size_t n_fields,
                                   unsigned flags, struct odata_sql *out /* OUT */,
                                   char err[ODATA_ERR_MAX] /* OUT */) AB_MUST_CHECK;
enum ab_rc odata_orderby_compile_ex(struct arena *a, const char *text,
                                    const struct odata_field *fields, size_t n_fields,
                                    unsigned flags, const char **out /* OUT */,
                                    char err[ODATA_ERR_MAX] /* OUT */) AB_MUST_CHECK;

/* Bind q's parameters to st, starting at parameter index first (1-based).
 * Returns the next free index. */
int odata_bind(sqlite3_stmt *st, const struct odata_sql *q, int first);

/* Parse an OData GUID (8-4-4-4-12 hex digits, any case) into lower case.
 * False when s is not one. */
bool odata_guid_normalize(const char *s, char out[37] /* OUT */);

#endif
