/* SPDX-License-Identifier: Apache-2.0
 *
 * store_sqlite.c: the SQLite backend (the embedded default).
 *
 * Every connection runs in WAL mode with foreign keys on, no mmap, the
 * configured `synchronous` (FULL by default) and a busy timeout; the writer
 * starts its transactions with BEGIN IMMEDIATE (store.c). The write-ahead log
 * is kept bounded by the automatic checkpoint plus the periodic
 * checkpoint(TRUNCATE) the store runs when idle, and journal_size_limit.
 * Tables are STRICT. Schema and reasoning: docs/internals/store.md.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xmalloc.h"
#include "store/store_int.h"

struct store_conn {
    sqlite3 *db;
};

struct store_stmt {
    sqlite3_stmt *st;
    sqlite3 *db;
};

static enum ab_rc map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return AB_OK;
    case SQLITE_CONSTRAINT: return AB_ECONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return AB_EAGAIN;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: return AB_EUNAVAILABLE;
    case SQLITE_TOOBIG: return AB_ETOOLARGE;
    default: return AB_EINTERNAL;
    }
}

static enum ab_rc sq_exec(struct store_conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        log_error(NULL, "sqlite exec failed", LOG_STR("error", sqlite3_errmsg(c->db)),
                  LOG_INT("code", sqlite3_extended_errcode(c->db)));
    return map_rc(rc);
}

/* Process-wide SQLite settings, before the library initialises: no memory
 * statistics (they put a global mutex on every allocation). */
static pthread_once_t sq_once = PTHREAD_ONCE_INIT;

static void sq_global_init(void)
{
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
        log_debug(NULL, "sqlite already initialised; memory statistics stay on");
}

static enum ab_rc sq_open(const struct store_open_opts *o, struct store_conn **out, char *err,
                          size_t errlen)
{
    pthread_once(&sq_once, sq_global_init);
    sqlite3 *db = NULL;
    int flags = o->read_only ? SQLITE_OPEN_READONLY
                             : SQLITE_OPEN_READWRITE | (o->create ? SQLITE_OPEN_CREATE : 0);
    flags |= SQLITE_OPEN_NOMUTEX; /* each connection is used by one thread at a time */
    int rc = sqlite3_open_v2(o->path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open SQLite database '%s': %s", o->path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return AB_EUNAVAILABLE;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 10000);
    struct store_conn *c = xcalloc(1, sizeof(*c));
    c->db = db;
    char sql[256];
    snprintf(sql, sizeof(sql),
             "PRAGMA foreign_keys=ON; PRAGMA mmap_size=0; PRAGMA synchronous=%s;"
             " PRAGMA journal_size_limit=67108864; PRAGMA wal_autocheckpoint=1000;"
             " PRAGMA cache_size=-8000; PRAGMA temp_store=MEMORY;",
             o->synchronous ? o->synchronous : "FULL");
    if (!o->read_only) {
        /* journal_mode is persistent; set it before anything else */
        rc = sqlite3_exec(db, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL;", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "cannot enable WAL on '%s': %s", o->path, sqlite3_errmsg(db));
            sqlite3_close(db);
            free(c);
            return map_rc(rc) == AB_EAGAIN ? AB_EAGAIN : AB_EUNAVAILABLE;
        }
    }
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot configure '%s': %s", o->path, sqlite3_errmsg(db));
        sqlite3_close(db);
        free(c);
        return AB_EUNAVAILABLE;
    }
    *out = c;
    return AB_OK;
}

static void sq_close(struct store_conn *c)
{
    if (!c)
        return;
    sqlite3_close(c->db);
    free(c);
}

static enum ab_rc sq_prepare(struct store_conn *c, const char *sql, struct store_stmt **out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        log_error(NULL, "sqlite prepare failed", LOG_STR("error", sqlite3_errmsg(c->db)),
                  LOG_STR("sql", sql));
        return AB_EINTERNAL;
    }
    struct store_stmt *s = xcalloc(1, sizeof(*s));
    s->st = st;
    s->db = c->db;
    *out = s;
    return AB_OK;
}

static void sq_finalize(struct store_stmt *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->st);
    free(s);
}

static void sq_reset(struct store_stmt *s)
{
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
}

static enum ab_rc sq_bind_int(struct store_stmt *s, int i, int64_t v)
{
    return map_rc(sqlite3_bind_int64(s->st, i, v));
}

static enum ab_rc sq_bind_real(struct store_stmt *s, int i, double v)
{
    return map_rc(sqlite3_bind_double(s->st, i, v));
}

static enum ab_rc sq_bind_text(struct store_stmt *s, int i, const char *v, size_t len)
{
    return map_rc(sqlite3_bind_text64(s->st, i, v, len, SQLITE_TRANSIENT, SQLITE_UTF8));
}

static enum ab_rc sq_bind_null(struct store_stmt *s, int i)
{
    return map_rc(sqlite3_bind_null(s->st, i));
}

static enum ab_rc sq_step(struct store_stmt *s, bool *row)
{
    int rc = sqlite3_step(s->st);
    *row = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return AB_OK;
    enum ab_rc r = map_rc(rc);
    if (r != AB_ECONFLICT)
        log_error(NULL, "sqlite step failed", LOG_STR("error", sqlite3_errmsg(s->db)),
                  LOG_INT("code", sqlite3_extended_errcode(s->db)),
                  LOG_STR("sql", sqlite3_sql(s->st)));
    return r;
}

static enum ab_rc sq_bind_blob(struct store_stmt *s, int i, const void *v, size_t len)
{
    return map_rc(sqlite3_bind_blob64(s->st, i, v, len, SQLITE_TRANSIENT));
}

static const void *sq_column_blob(struct store_stmt *s, int i, size_t *len)
{
    const void *p = sqlite3_column_blob(s->st, i);
    *len = (size_t)sqlite3_column_bytes(s->st, i);
    return p;
}

static enum store_coltype sq_column_type(struct store_stmt *s, int i)
{
    switch (sqlite3_column_type(s->st, i)) {
    case SQLITE_INTEGER: return STORE_INT;
    case SQLITE_FLOAT: return STORE_REAL;
    case SQLITE_NULL: return STORE_NULL;
    default: return STORE_TEXT;
    }
}

static int64_t sq_column_int(struct store_stmt *s, int i)
{
    return sqlite3_column_int64(s->st, i);
}

static double sq_column_real(struct store_stmt *s, int i)
{
    return sqlite3_column_double(s->st, i);
}

static const char *sq_column_text(struct store_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s->st, i);
}

static int64_t sq_changes(struct store_conn *c)
{
    return sqlite3_changes64(c->db);
}

static int64_t sq_last_insert_id(struct store_conn *c)
{
    return sqlite3_last_insert_rowid(c->db);
}

static enum ab_rc sq_schema_get(struct store_conn *c, int *version)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return AB_EUNAVAILABLE;
    int rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? AB_OK : AB_EUNAVAILABLE;
}

static int sq_schema_latest(void)
{
    return store_sqlite_n_migrations;
}

static enum ab_rc sq_migrate_step(struct store_conn *c, int from, char *err, size_t errlen)
{
    if (from < 0 || from >= store_sqlite_n_migrations) {
        snprintf(err, errlen, "no migration from schema version %d", from);
        return AB_EINTERNAL;
    }
    char *msg = NULL;
    int rc = SQLITE_OK;
    for (const char *const *sql = store_sqlite_migrations[from]; *sql && rc == SQLITE_OK; sql++)
        rc = sqlite3_exec(c->db, *sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", from + 1);
        rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "migration to schema version %d failed: %s", from + 1,
                 msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return AB_EINTERNAL;
    }
    return AB_OK;
}

static enum ab_rc sq_checkpoint(struct store_conn *c, bool truncate)
{
    int log_frames = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(
        c->db, NULL, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE, &log_frames,
        &done);
    /* BUSY means readers kept it from finishing; the next one will */
    return rc == SQLITE_OK || rc == SQLITE_BUSY ? AB_OK : map_rc(rc);
}

static enum ab_rc sq_backup(struct store_conn *c, const char *path, char *err, size_t errlen)
{
    sqlite3 *dst = NULL;
    int rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot create backup file '%s': %s", path,
                 dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        sqlite3_close(dst);
        return AB_EIO;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", c->db, "main");
    if (!b) {
        snprintf(err, errlen, "cannot start backup to '%s': %s", path, sqlite3_errmsg(dst));
        sqlite3_close(dst);
        return AB_EIO;
    }
    /* copy in steps so the writer is never held off for long */
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(5);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "backup to '%s' failed: %s", path, sqlite3_errstr(rc));
        sqlite3_close(dst);
        return AB_EIO;
    }
    rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE;", NULL, NULL, NULL);
    sqlite3_close(dst);
    return rc == SQLITE_OK ? AB_OK : AB_EIO;
}

static const char *sq_errmsg(struct store_conn *c)
{
    return sqlite3_errmsg(c->db);
}

const struct store_ops store_sqlite_ops = {
    .abi = STORE_ABI_V1,               /* interface version */
    .name = "sqlite",                  /* store.backend value */
    .schema_latest = sq_schema_latest, /* newest schema the migrations create */
    .open = sq_open,                   /* WAL, foreign keys, synchronous, no mmap */
    .close = sq_close,
    .exec = sq_exec,       /* BEGIN/COMMIT/DDL */
    .prepare = sq_prepare, /* persistent prepared statements */
    .finalize = sq_finalize,
    .reset = sq_reset, /* also clears bindings */
    .bind_int = sq_bind_int,
    .bind_real = sq_bind_real,
    .bind_text = sq_bind_text, /* copies the text */
    .bind_null = sq_bind_null,
    .bind_blob = sq_bind_blob,
    .step = sq_step, /* constraint -> AB_ECONFLICT, busy -> AB_EAGAIN */
    .column_type = sq_column_type,
    .column_int = sq_column_int,
    .column_real = sq_column_real,
    .column_text = sq_column_text,
    .column_blob = sq_column_blob,
    .changes = sq_changes,
    .last_insert_id = sq_last_insert_id, /* the rowid */
    .schema_get = sq_schema_get,         /* PRAGMA user_version */
    .migrate_step = sq_migrate_step,     /* migrations_sqlite.c */
    .checkpoint = sq_checkpoint,         /* wal_checkpoint(PASSIVE or TRUNCATE) */
    .backup = sq_backup,                 /* sqlite3_backup_* in small steps */
    .errmsg = sq_errmsg,
};
