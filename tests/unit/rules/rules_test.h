/* SPDX-License-Identifier: Apache-2.0
 *
 * rules_test.h: what the rules engine's unit tests share: a fixture (a real
 * SQLite store, a configuration, the engine in manual mode on the fake
 * clock) and helpers that play the parts of the sync engine and the API
 * through the store: a record pulled from a provider, a calibration recorded
 * in the hub, a meter reading, a pass at a given time, SQL run on the file.
 * Include after cmocka.h and ../store/store_test.h.
 */
#ifndef AB_TESTS_RULES_TEST_H
#define AB_TESTS_RULES_TEST_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "model/meter.h"
#include "rules/rules.h"
#include "store/readings.h"
#include "store/records.h"
#include "store/workorders.h"

#define DAY INT64_C(86400000)
#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

struct fixture {
    struct test_db db;
    struct config *cfg;
    struct rules *rules;
};

/* A fixture on config (YAML text): the store opened, the clock at T0. NULL
 * when the configuration is invalid (its errors printed). Give the store the
 * configuration (store_set_config, as serve does) where a test needs it;
 * start the engine with fixture_start_rules() once the test data is in
 * place. */
static inline struct fixture *fixture_open(const char *config)
{
    clock_set_fake(T0, true);
    struct fixture *f = calloc(1, sizeof(*f));
    struct config_errors errs = {0};
    if (!f || config_load_buffer("test.yaml", config, strlen(config), &f->cfg, &errs) != AB_OK) {
        config_errors_print(&errs, stderr);
        config_errors_cleanup(&errs);
        free(f);
        return NULL;
    }
    test_db_open(&f->db);
    return f;
}

static inline void fixture_start_rules(struct fixture *f)
{
    struct rules_opts o = {.manual = true};
    assert_int_equal(rules_start_ex(f->cfg, f->db.s, &o, &f->rules), AB_OK);
}

static inline int fixture_close(struct fixture *f)
{
    rules_stop(f->rules);
    test_db_close(&f->db);
    config_free(f->cfg);
    free(f);
    clock_set_real();
    return 0;
}

struct upsert {
    struct store_record rec;
    struct arena *a;
    struct store_upsert_result res;
};

static inline enum ab_rc upsert_job(struct store_tx *tx, void *arg)
{
    struct upsert *u = arg;
    return store_record_upsert(tx, &u->rec, u->a, &u->res);
}

/* A record of entity pulled from provider (a JSON document as text). */
static inline void pulled(struct fixture *f, const char *provider, const char *entity,
                          const char *native_id, const char *doc)
{
    json_error_t je;
    json_t *j = json_loads(doc, 0, &je);
    assert_non_null(j);
    struct upsert u;
    memset(&u, 0, sizeof(u));
    u.rec.tenant = "t1";
    u.rec.provider = provider;
    u.rec.entity = entity;
    u.rec.native_id = native_id;
    u.rec.doc = j;
    u.rec.source_revision = INT64_MIN;
    u.rec.source_modified_at = INT64_MIN;
    u.a = arena_new(4096, 1u << 20);
    assert_int_equal(store_write(f->db.s, upsert_job, &u, NULL), AB_OK);
    assert_true(u.res.outcome == STORE_UPSERT_CREATED || u.res.outcome == STORE_UPSERT_UPDATED ||
                u.res.outcome == STORE_UPSERT_UNCHANGED);
    arena_free(u.a);
    json_decref(j);
}

struct cal_job {
    struct store_cal_record in;
    struct arena *a;
    struct store_cal_result res;
};

static inline enum ab_rc cal_job(struct store_tx *tx, void *arg)
{
    struct cal_job *c = arg;
    return store_calibration_record(tx, &c->in, c->a, &c->res);
}

/* The hub's own calibration of ref, performed at, in tolerance, due at due
 * (MODEL_TIME_UNSET: the store computes it from the intervals it knows). */
static inline void hub_cal(struct fixture *f, const char *ref, int64_t at, int64_t due)
{
    struct cal_job c;
    memset(&c, 0, sizeof(c));
    c.in.tenant = "t1";
    c.in.asset_ref = ref;
    c.in.performed_at = at;
    c.in.result = c.in.as_found = c.in.as_left = MODEL_CAL_IN_TOLERANCE;
    c.in.next_due_at = due;
    c.in.actor = "tester";
    c.a = arena_new(4096, 1u << 20);
    assert_int_equal(store_write(f->db.s, cal_job, &c, NULL), AB_OK);
    arena_free(c.a);
}

/* An absolute total of ref's "cycles" meter, read now. */
static inline void reading(struct fixture *f, const char *ref, double total)
{
    struct model_reading r;
    memset(&r, 0, sizeof(r));
    r.asset_ref = ref;
    r.meter_type = "cycles";
    r.amount = total;
    r.mode = (uint8_t)MODEL_READING_VALUE;
    r.read_at = clock_now_ms();
    r.source = MODEL_SOURCE_TESTER;
    struct store_readings_policy p = {.backwards = STORE_BACKWARDS_REJECT, .cfg = NULL};
    struct store_reading_result res;
    assert_int_equal(store_readings_append(f->db.s, "t1", &r, 1, &p, &res, NULL), AB_OK);
    assert_int_equal(res.status, STORE_READING_ACCEPTED);
}

/* One pass of the engine at now (the clock set there first). */
static inline void run_at(struct fixture *f, int64_t now)
{
    clock_set_fake(now, true);
    assert_int_equal(rules_run_once(f->rules, now), AB_OK);
}

/* Run sql on the database file: a test's stand-in for what the sync engine
 * records (an item delivered, refused). */
static inline void exec_sql(struct fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    assert_int_equal(sqlite3_open(f->db.path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "exec_sql: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(db);
    assert_int_equal(rc, SQLITE_OK);
}

static inline int64_t events(struct fixture *f, const char *type, const char *subject)
{
    return test_count(&f->db, "SELECT COUNT(*) FROM events WHERE type = '%s' AND subject = '%s'",
                      type, subject);
}

#endif
