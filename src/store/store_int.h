/* SPDX-License-Identifier: Apache-2.0
 *
 * store_int.h: what the store's modules and backends share. Not for use
 * outside src/store/.
 *
 * A backend is one `const struct store_ops`: a small SQL driver (connections,
 * prepared statements, typed binds and columns) plus the few things that are
 * truly backend-specific (migrations DDL, checkpoints, online backup). All
 * domain SQL lives in the backend-independent modules (store.c, readings.c,
 * assets.c, ...) and is written in the portable subset SQLite and
 * PostgreSQL share: `?` placeholders (a backend may rewrite them to $n),
 * INSERT ... ON CONFLICT, RETURNING, INTEGER/REAL/TEXT values, JSON as TEXT.
 *
 * Thread-safety: a connection and its statements are used by one thread at
 * a time; the store hands connections out from the writer thread or the
 * read pool (store.c).
 */
#ifndef AB_STORE_STORE_INT_H
#define AB_STORE_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "store/store.h"

#define STORE_ABI_V1 1

enum store_coltype { STORE_NULL, STORE_INT, STORE_REAL, STORE_TEXT };

struct store_conn; /* a backend connection (opaque to store.c) */
struct store_stmt; /* a backend prepared statement */

struct store_open_opts {
    const char *path;        /* SQLite file; PostgreSQL: the DSN */
    const char *synchronous; /* "normal", "full", "extra" */
    bool read_only;
    bool create; /* create the database when missing */
};

struct store_ops {
    int abi;          /* STORE_ABI_V1 */
    const char *name; /* "sqlite" */
    /* The newest schema version this backend's migrations create. */
    int (*schema_latest)(void);

    /* Open one connection. On failure a one-line reason goes to err. */
    enum ab_rc (*open)(const struct store_open_opts *o, struct store_conn **out, char *err,
                       size_t errlen);
    void (*close)(struct store_conn *c);

    /* Run SQL without parameters or result rows (BEGIN, COMMIT, DDL). */
    enum ab_rc (*exec)(struct store_conn *c, const char *sql);

    /* Prepare a statement (`?` placeholders). */
    enum ab_rc (*prepare)(struct store_conn *c, const char *sql, struct store_stmt **out);
    void (*finalize)(struct store_stmt *s);
    /* Forget the last execution and all bindings. */
    void (*reset)(struct store_stmt *s);

    /* Bind parameter i (1-based). Text is copied. */
    enum ab_rc (*bind_int)(struct store_stmt *s, int i, int64_t v);
    enum ab_rc (*bind_real)(struct store_stmt *s, int i, double v);
    enum ab_rc (*bind_text)(struct store_stmt *s, int i, const char *v, size_t len);
    enum ab_rc (*bind_null)(struct store_stmt *s, int i);
    enum ab_rc (*bind_blob)(struct store_stmt *s, int i, const void *v, size_t len);

    /* Execute or advance: *row is true while a result row is available.
     * Constraint violations are AB_ECONFLICT; a busy database AB_EAGAIN. */
    enum ab_rc (*step)(struct store_stmt *s, bool *row /* OUT */);

    /* Columns of the current row (0-based). Text stays valid until the next
     * step or reset. */
    enum store_coltype (*column_type)(struct store_stmt *s, int i);
    int64_t (*column_int)(struct store_stmt *s, int i);
    double (*column_real)(struct store_stmt *s, int i);
    const char *(*column_text)(struct store_stmt *s, int i);
    /* Blob bytes and length (*len); valid until the next step or reset. */
    const void *(*column_blob)(struct store_stmt *s, int i, size_t *len /* OUT */);

    /* Rows changed by the last INSERT/UPDATE/DELETE on this connection. */
    int64_t (*changes)(struct store_conn *c);

    /* The integer key the last INSERT on this connection gave its row (used
     * on the ingest hot path instead of RETURNING). */
    int64_t (*last_insert_id)(struct store_conn *c);

    /* The schema version recorded in the database (0 when empty), and the
     * DDL that brings a database from version `from` to `from + 1`. */
    enum ab_rc (*schema_get)(struct store_conn *c, int *version /* OUT */);
    enum ab_rc (*migrate_step)(struct store_conn *c, int from, char *err, size_t errlen);

    /* Bound the write-ahead log: checkpoint and truncate (may be a no-op). */
    enum ab_rc (*checkpoint)(struct store_conn *c, bool truncate);

    /* Online backup of the whole database to a new file at path. */
    enum ab_rc (*backup)(struct store_conn *c, const char *path, char *err, size_t errlen);

    /* Last error text of the connection, for logs (never contains values). */
    const char *(*errmsg)(struct store_conn *c);
};

extern const struct store_ops store_sqlite_ops;

/* migrations_sqlite.c: entry i brings the schema from version i to i + 1 */
extern const char *const *const store_sqlite_migrations[];
extern const int store_sqlite_n_migrations;

/* ---- connections with a statement cache (store.c) ------------------------ */

#define STORE_STMT_CACHE 256

/* A connection as store.c sees it: the backend handle plus prepared
 * statements cached by the address of their (static) SQL text. */
struct store_db {
    const struct store_ops *ops;
    struct store_conn *conn;
    struct {
        const char *sql;
        struct store_stmt *stmt;
    } cache[STORE_STMT_CACHE];
    bool in_tx;
};

/* The statement for sql (a string literal: the cache keys on its address),
 * reset and ready to bind. AB_EINTERNAL when the SQL does not prepare. */
enum ab_rc store_db_stmt(struct store_db *db, const char *sql,
                         struct store_stmt **out /* OUT */) AB_MUST_CHECK;

/* Bind helpers that take NULL as SQL NULL (text) or a sentinel (ints). */
enum ab_rc store_bind_text(struct store_db *db, struct store_stmt *s, int i,
                           const char *v) AB_MUST_CHECK;
enum ab_rc store_bind_int(struct store_db *db, struct store_stmt *s, int i,
                          int64_t v) AB_MUST_CHECK;
enum ab_rc store_bind_real(struct store_db *db, struct store_stmt *s, int i,
                           double v) AB_MUST_CHECK;
/* INT64_MIN binds NULL. */
enum ab_rc store_bind_time(struct store_db *db, struct store_stmt *s, int i,
                           int64_t v) AB_MUST_CHECK;

/* Bind parameters 1..n from a format: 't' const char * (NULL binds NULL),
 * 'i' int64_t, 'T' int64_t time (INT64_MIN binds NULL), 'r' double.
 * Example: store_bind_all(db, st, "tiT", tenant, (int64_t)n, due_at). */
enum ab_rc store_bind_all(struct store_db *db, struct store_stmt *s, const char *fmt,
                          ...) AB_MUST_CHECK;

/* Step a statement that returns no rows (or whose rows are ignored). */
enum ab_rc store_step_done(struct store_db *db, struct store_stmt *s) AB_MUST_CHECK;

/* Step once; *row says whether a row is there. */
enum ab_rc store_step_row(struct store_db *db, struct store_stmt *s,
                          bool *row /* OUT */) AB_MUST_CHECK;

/* Column helpers: text copied into arena a (NULL for SQL NULL); time returns
 * INT64_MIN for NULL. */
const char *store_col_text(struct store_db *db, struct store_stmt *s, int i, struct arena *a);
int64_t store_col_int(struct store_db *db, struct store_stmt *s, int i);
double store_col_real(struct store_db *db, struct store_stmt *s, int i);
int64_t store_col_time(struct store_db *db, struct store_stmt *s, int i);
bool store_col_null(struct store_db *db, struct store_stmt *s, int i);

/* ---- write transactions ------------------------------------------------ */

/* The handle a write job gets: the writer's connection inside the group's
 * transaction, and per-group state. */
struct store_tx {
    struct store *store;
    struct store_db *db;
    struct store_group *group; /* group-level accumulators (readings.c) */
    const char *correlation_id;
};

/* The configuration given by store_set_config, or NULL. */
const struct config *store_config(const struct store *s);

/* The connection of a read session. */
struct store_db *store_read_db(struct store_read *r);

/* The tenant row must exist before anything refers to it; cheap when it does. */
enum ab_rc store_tenant_ensure(struct store_tx *tx, const char *tenant) AB_MUST_CHECK;

/* ---- asset references (assets.c) ------------------------------------------ */

#define STORE_MAX_CANDIDATES 8

/* How a reference resolved: the asset, or the candidates when ambiguous. */
struct store_resolution {
    const char *asset_ref; /* NULL unless exactly one asset matched */
    size_t n_candidates;   /* assets that matched (capped at STORE_MAX_CANDIDATES) */
    const char *candidates[STORE_MAX_CANDIDATES];
    const char *matched_by; /* "asset_ref", "serial_number", "link" */
};

/* Resolve reference against asset_ref, then serial numbers, then
 * provider:native_id links. AB_OK with out->asset_ref when exactly one asset
 * matches; AB_EIDENTITY when none or several do (candidates filled). */
enum ab_rc store_resolve_db(struct store_db *db, const char *tenant, const char *reference,
                            struct arena *a, struct store_resolution *out /* OUT */) AB_MUST_CHECK;

#endif
