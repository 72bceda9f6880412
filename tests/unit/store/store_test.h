/* SPDX-License-Identifier: Apache-2.0
 *
 * store_test.h: helpers shared by the store unit tests: a store in a fresh
 * temporary directory, removed afterwards; COUNT queries on the database
 * file through a separate read-only SQLite connection (what is really on
 * disk, not what the store says); creating an asset in a write job.
 */
#ifndef AB_TEST_STORE_TEST_H
#define AB_TEST_STORE_TEST_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/config.h"
#include "model/asset.h"
#include "store/assets.h"
#include "store/store.h"

struct test_db {
    char dir[256];
    char path[512];
    struct config_store cfg;
    struct store *s;
};

static inline void test_db_open(struct test_db *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/ab-store-XXXXXX");
    if (!mkdtemp(t->dir))
        abort();
    snprintf(t->path, sizeof(t->path), "%s/test.db", t->dir);
    t->cfg.backend = "sqlite";
    t->cfg.data_dir = t->dir;
    t->cfg.path = "test.db";
    t->cfg.synchronous = "full";
    char err[256];
    if (store_open(&t->cfg, &t->s, err, sizeof(err)) != AB_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        abort();
    }
}

static inline void test_db_close(struct test_db *t)
{
    store_close(t->s);
    t->s = NULL;
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", t->dir);
}

/* The first column of the first row of a query (printf-style) run on the
 * database file through a read-only connection of its own; -1 when the
 * query fails (so an assertion on it fails too). */
static inline int64_t test_count(const struct test_db *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline int64_t test_count(const struct test_db *t, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "test_count: %s: %s\n", sql, db ? sqlite3_errmsg(db) : "no db");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* The same for a REAL result (NaN when the query fails or gives NULL). */
static inline double test_real(const struct test_db *t, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double v = NAN;
    if (sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A minimal valid asset: type station, status active, nothing else set. */
static inline struct model_asset test_asset(const char *ref, const char *serial)
{
    struct model_asset a;
    memset(&a, 0, sizeof(a));
    a.asset_ref = ref;
    a.serial_number = serial;
    a.type = MODEL_ASSET_STATION;
    a.status = MODEL_ASSET_ACTIVE;
    a.commissioned_at = MODEL_TIME_UNSET;
    a.created_at = MODEL_TIME_UNSET;
    a.updated_at = MODEL_TIME_UNSET;
    return a;
}

/* store_asset_put as a write job of its own. */
struct test_put {
    const char *tenant;
    struct model_asset asset;
    int64_t if_revision;
    unsigned flags;
    struct store_put_result res; /* OUT */
};

static inline enum ab_rc test_put_job(struct store_tx *tx, void *arg)
{
    struct test_put *p = arg;
    return store_asset_put(tx, p->tenant ? p->tenant : "t1", &p->asset, p->if_revision, p->flags,
                           "tester", &p->res);
}

/* Put asset (tenant "t1") in a job of its own; the job's result. */
static inline enum ab_rc test_put(struct store *s, const struct model_asset *asset, unsigned flags,
                                  struct store_put_result *res /* OUT, may be NULL */)
{
    struct test_put p;
    memset(&p, 0, sizeof(p));
    p.asset = *asset;
    p.flags = flags;
    enum ab_rc rc = store_write(s, test_put_job, &p, NULL);
    if (res)
        *res = p.res;
    return rc;
}

/* store_link_add as a write job of its own (tenant "t1"). */
struct test_link {
    const char *provider, *native_id, *asset_ref;
};

static inline enum ab_rc test_link_job(struct store_tx *tx, void *arg)
{
    struct test_link *l = arg;
    return store_link_add(tx, "t1", l->provider, l->native_id, l->asset_ref, "tester");
}

static inline enum ab_rc test_link(struct store *s, const char *provider, const char *native_id,
                                   const char *asset_ref)
{
    struct test_link l = {provider, native_id, asset_ref};
    return store_write(s, test_link_job, &l, NULL);
}

#endif
