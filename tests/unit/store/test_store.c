/* SPDX-License-Identifier: Apache-2.0
 *
 * test_store.c: unit tests for src/store/store.c, store_sqlite.c and
 * migrations: opening, migrations, refusing a newer schema, group commit,
 * savepoint isolation of failing jobs, the all-or-nothing transaction
 * (state + event + outbox), crash between statements, backup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/crash.h"
#include "core/log.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/store.h"
#include "store/store_int.h"
#include "store_test.h"

static void test_open_migrates_and_reopens(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    assert_int_equal(store_schema_version(t.s), store_sqlite_n_migrations);
    store_close(t.s);
    char err[256];
    assert_int_equal(store_open(&t.cfg, &t.s, err, sizeof(err)), AB_OK);
    assert_int_equal(store_schema_version(t.s), store_sqlite_n_migrations);
    test_db_close(&t);
}

static void test_refuses_newer_schema(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    store_close(t.s);
    t.s = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    char err[512];
    struct store *s;
    assert_int_equal(store_open(&t.cfg, &s, err, sizeof(err)), AB_ECONFIG);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, "99"));
    test_db_close(&t);
}

static void test_refuses_bad_settings(void **state)
{
    (void)state;
    struct config_store cfg = {0};
    cfg.backend = "oracle";
    char err[256];
    struct store *s;
    assert_int_equal(store_open(&cfg, &s, err, sizeof(err)), AB_ECONFIG);
    cfg.backend = "sqlite";
    cfg.synchronous = "off";
    assert_int_equal(store_open(&cfg, &s, err, sizeof(err)), AB_ECONFIG);
    cfg.synchronous = "full";
    cfg.path = "/nonexistent-dir/x/y.db";
    assert_int_equal(store_open(&cfg, &s, err, sizeof(err)), AB_EUNAVAILABLE);
    assert_non_null(strstr(err, "/nonexistent-dir/x/y.db"));
}

/* A job that adds an event and an outbox row, then fails when told to. */
struct evjob {
    bool fail;
    const char *key;
};

static enum ab_rc event_outbox_job(struct store_tx *tx, void *arg)
{
    struct evjob *j = arg;
    json_t *p = json_pack("{s:s}", "k", j->key);
    enum ab_rc rc = store_event_append(tx, "t1", "asset.updated", "asset/x", p, NULL);
    json_decref(p);
    if (rc)
        return rc;
    struct store_outbox_item it = {0};
    it.tenant = "t1";
    it.provider = "wats";
    it.entity = "asset";
    it.action = "upsert";
    it.payload = "{}";
    it.idempotency_key = j->key;
    rc = store_outbox_add(tx, &it, NULL);
    if (rc)
        return rc;
    return j->fail ? AB_EINVAL : AB_OK;
}

static int64_t count(struct test_db *t, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(t->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_failing_job_leaves_nothing(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct evjob ok = {false, "k-ok"}, bad = {true, "k-bad"};
    assert_int_equal(store_write(t.s, event_outbox_job, &ok, NULL), AB_OK);
    assert_int_equal(store_write(t.s, event_outbox_job, &bad, NULL), AB_EINVAL);
    assert_int_equal(count(&t, "SELECT COUNT(*) FROM events"), 1);
    assert_int_equal(count(&t, "SELECT COUNT(*) FROM outbox"), 1);
    assert_int_equal(count(&t, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'k-bad'"), 0);
    /* the sequence has no gap left by the failed job */
    assert_int_equal(store_write(t.s, event_outbox_job, &(struct evjob){false, "k-2"}, NULL),
                     AB_OK);
    assert_int_equal(count(&t, "SELECT MAX(seq) FROM events WHERE tenant = 't1'"), 2);
    test_db_close(&t);
}

/* Many threads writing at once share commits, and each failing job rolls
 * back alone inside a shared group. */
struct writer_arg {
    struct store *s;
    int id;
    int n;
    int failures;
};

static void *writer(void *p)
{
    struct writer_arg *w = p;
    for (int i = 0; i < w->n; i++) {
        char key[64];
        snprintf(key, sizeof(key), "w%d-%d", w->id, i);
        struct evjob j = {i % 10 == 9, key};
        enum ab_rc rc = store_write(w->s, event_outbox_job, &j, NULL);
        if (rc != (j.fail ? AB_EINVAL : AB_OK))
            w->failures++;
    }
    return NULL;
}

static void test_group_commit_shares_fsync(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    enum { THREADS = 16, EACH = 40 };
    pthread_t th[THREADS];
    struct writer_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct writer_arg){t.s, i, EACH, 0};
        pthread_create(&th[i], NULL, writer, &args[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    struct store_stats st;
    store_stats(t.s, &st);
    int64_t good = THREADS * EACH - THREADS * (EACH / 10);
    assert_int_equal(st.jobs, good);
    assert_int_equal(st.jobs_failed, THREADS * (EACH / 10));
    assert_true(st.commits < (uint64_t)(THREADS * EACH)); /* commits were shared */
    assert_string_equal(st.synchronous, "full");
    assert_int_equal(count(&t, "SELECT COUNT(*) FROM events"), good);
    assert_int_equal(count(&t, "SELECT COUNT(*) FROM outbox"), good);
    /* sequence numbers are 1..good without gaps */
    assert_int_equal(count(&t, "SELECT MAX(seq) - MIN(seq) + 1 FROM events WHERE tenant = 't1'"),
                     good);
    test_db_close(&t);
}

/* Kill the process in the middle of a job (between two statements): after
 * restart nothing of that job is there. */
static enum ab_rc crashing_job(struct store_tx *tx, void *arg)
{
    (void)arg;
    json_t *p = json_pack("{}");
    enum ab_rc rc = store_event_append(tx, "t1", "asset.updated", "asset/crash", p, NULL);
    json_decref(p);
    crash_point("test.between_statements");
    struct store_outbox_item it = {0};
    it.tenant = "t1";
    it.provider = "wats";
    it.entity = "asset";
    it.action = "upsert";
    it.payload = "{}";
    it.idempotency_key = "crash-key";
    if (!rc)
        rc = store_outbox_add(tx, &it, NULL);
    return rc;
}

static void test_crash_between_statements(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct evjob ok = {false, "before"};
    assert_int_equal(store_write(t.s, event_outbox_job, &ok, NULL), AB_OK);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* a forked child has no writer thread: open the store afresh, as a
         * new process of the service would */
        setenv("ASSETBRIDGE_CRASH_AT", "test.between_statements", 1);
        crash_init();
        struct store *cs;
        char cerr[256];
        if (store_open(&t.cfg, &cs, cerr, sizeof(cerr)) != AB_OK)
            _exit(4);
        enum ab_rc rc = store_write(cs, crashing_job, NULL, NULL);
        _exit(rc == AB_OK ? 0 : 3); /* not reached: the crash point kills us */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    /* the parent's handle shares nothing with the dead child's writer state
     * that matters; reopen from disk as a restarted service would */
    store_close(t.s);
    char err[256];
    assert_int_equal(store_open(&t.cfg, &t.s, err, sizeof(err)), AB_OK);
    assert_int_equal(count(&t, "SELECT COUNT(*) FROM events WHERE subject = 'asset/crash'"), 0);
    assert_int_equal(count(&t, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'crash-key'"),
                     0);
    assert_int_equal(count(&t, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'before'"), 1);
    assert_int_equal(store_write(t.s, event_outbox_job, &(struct evjob){false, "after"}, NULL),
                     AB_OK);
    assert_int_equal(count(&t, "SELECT MAX(seq) FROM events WHERE tenant = 't1'"), 2);
    test_db_close(&t);
}

static void test_backup_copies_everything(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    for (int i = 0; i < 50; i++) {
        char key[32];
        snprintf(key, sizeof(key), "b%d", i);
        assert_int_equal(store_write(t.s, event_outbox_job, &(struct evjob){false, key}, NULL),
                         AB_OK);
    }
    char path[400], err[300];
    snprintf(path, sizeof(path), "%s/backup.db", t.dir);
    assert_int_equal(store_backup(t.s, path, err, sizeof(err)), AB_OK);
    assert_int_equal(store_backup(t.s, path, err, sizeof(err)), AB_EIO); /* never overwrites */
    assert_non_null(strstr(err, "exists"));
    struct test_db b = t;
    snprintf(b.path, sizeof(b.path), "%s", path);
    assert_int_equal(count(&b, "SELECT COUNT(*) FROM events"), 50);
    assert_int_equal(count(&b, "SELECT COUNT(*) FROM outbox"), 50);
    assert_int_equal(store_checkpoint(t.s), AB_OK);
    test_db_close(&t);
}

static void test_events_list_pages(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    for (int i = 0; i < 5; i++) {
        char key[32];
        snprintf(key, sizeof(key), "e%d", i);
        assert_int_equal(store_write(t.s, event_outbox_job, &(struct evjob){false, key}, "corr-1"),
                         AB_OK);
    }
    struct store_read *r;
    assert_int_equal(store_read_begin(t.s, &r), AB_OK);
    struct arena *a = arena_new(0, 0);
    struct store_event *ev;
    size_t n;
    assert_int_equal(store_events_list(r, "t1", 2, 2, a, &ev, &n), AB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].seq, 3);
    assert_int_equal(ev[1].seq, 4);
    assert_string_equal(ev[0].correlation_id, "corr-1");
    assert_int_equal(store_events_list(r, "other-tenant", 0, 10, a, &ev, &n), AB_OK);
    assert_int_equal(n, 0); /* tenants are isolated */
    int64_t last;
    assert_int_equal(store_events_last_seq(r, "t1", &last), AB_OK);
    assert_int_equal(last, 5);
    store_read_end(r);
    arena_free(a);
    test_db_close(&t);
}

int main(void)
{
    log_configure(LOG_ERROR, LOG_FORMAT_JSON, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_migrates_and_reopens),
        cmocka_unit_test(test_refuses_newer_schema),
        cmocka_unit_test(test_refuses_bad_settings),
        cmocka_unit_test(test_failing_job_leaves_nothing),
        cmocka_unit_test(test_group_commit_shares_fsync),
        cmocka_unit_test(test_crash_between_statements),
        cmocka_unit_test(test_backup_copies_everything),
        cmocka_unit_test(test_events_list_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
