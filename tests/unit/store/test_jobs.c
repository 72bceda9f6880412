/* SPDX-License-Identifier: Apache-2.0
 *
 * test_jobs.c: the jobs table (store/jobs.c) on a temporary store: add and
 * read back, tenant isolation (another tenant's job is not found, not
 * listed, not cancellable), listing newest first with filters and paging,
 * claim oldest first, progress and finish (only a running job finishes),
 * cancel of a queued job (at once) and of a running one (a flag), jobs left
 * running marked failed at start, the scratch set (duplicates noted once,
 * cleared) and the hub's records not seen by a job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/clock.h"
#include "core/id.h"
#include "store/jobs.h"
#include "store_test.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

static struct test_db db;

static int setup(void **state)
{
    (void)state;
    clock_set_fake(T0, true);
    test_db_open(&db);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_db_close(&db);
    clock_set_real();
    return 0;
}

struct add {
    struct store_job j;
};

static enum ab_rc add_fn(struct store_tx *tx, void *arg)
{
    return store_job_add(tx, &((struct add *)arg)->j);
}

/* Add a queued job of tenant; its id goes to id. */
static void add_job(const char *tenant, const char *kind, const char *provider, const char *entity,
                    char id[ID_ULID_LEN + 1])
{
    id_ulid_new(id);
    struct add a = {{0}};
    a.j.id = id;
    a.j.tenant = tenant;
    a.j.kind = kind;
    a.j.provider = provider;
    a.j.entity = entity;
    a.j.params = "{\"repair\":false}";
    a.j.total = -1;
    a.j.created_by = "key-1";
    a.j.correlation_id = "corr-1";
    assert_int_equal(store_write(db.s, add_fn, &a, NULL), AB_OK);
    clock_advance_ms(1); /* ULIDs of later jobs sort later */
}

static enum ab_rc get(const char *tenant, const char *id, struct arena *a, struct store_job *out)
{
    struct store_read *r = NULL;
    enum ab_rc rc = store_read_begin(db.s, &r);
    if (!rc) {
        rc = store_job_get(r, tenant, id, a, out);
        store_read_end(r);
    }
    return rc;
}

struct claim {
    struct arena *a;
    struct store_job j;
    bool found;
};

static enum ab_rc claim_fn(struct store_tx *tx, void *arg)
{
    struct claim *c = arg;
    return store_job_claim(tx, c->a, &c->j, &c->found);
}

struct cancel {
    const char *tenant, *id;
    enum store_job_state state;
};

static enum ab_rc cancel_fn(struct store_tx *tx, void *arg)
{
    struct cancel *c = arg;
    return store_job_cancel(tx, c->tenant, c->id, &c->state);
}

struct finish {
    const char *tenant, *id;
    enum store_job_state state;
};

static enum ab_rc finish_fn(struct store_tx *tx, void *arg)
{
    struct finish *f = arg;
    return store_job_finish(tx, f->tenant, f->id, f->state, 3, 42, "{\"missing\":1}", NULL);
}

static enum ab_rc progress_fn(struct store_tx *tx, void *arg)
{
    return store_job_progress(tx, "t1", (const char *)arg, 2, 20, 100);
}

static void test_add_get_isolated(void **state)
{
    (void)state;
    char id[ID_ULID_LEN + 1];
    add_job("t1", "reconcile", "gen", "asset", id);
    struct arena *a = arena_new(0, 0);
    struct store_job j;
    assert_int_equal(get("t1", id, a, &j), AB_OK);
    assert_string_equal(j.id, id);
    assert_string_equal(j.kind, "reconcile");
    assert_string_equal(j.provider, "gen");
    assert_string_equal(j.entity, "asset");
    assert_int_equal(j.state, JOB_QUEUED);
    assert_int_equal(j.total, -1);
    assert_int_equal(j.pages, 0);
    assert_string_equal(j.created_by, "key-1");
    assert_string_equal(j.correlation_id, "corr-1");
    assert_true(j.started_at == INT64_MIN && j.finished_at == INT64_MIN);
    assert_true(j.created_at >= T0);
    /* another tenant sees nothing, cancels nothing */
    assert_int_equal(get("t2", id, a, &j), AB_ENOTFOUND);
    struct cancel c = {"t2", id, JOB_QUEUED};
    assert_int_equal(store_write(db.s, cancel_fn, &c, NULL), AB_ENOTFOUND);
    assert_int_equal(test_count(&db, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'"), 1);
    struct store_read *r = NULL;
    struct store_job *rows;
    size_t n = 9;
    struct store_job_filter f = {.tenant = "t2"};
    assert_int_equal(store_read_begin(db.s, &r), AB_OK);
    assert_int_equal(store_job_list(r, &f, NULL, 10, a, &rows, &n), AB_OK);
    store_read_end(r);
    assert_int_equal(n, 0);
    arena_free(a);
}

static void test_list_filters_and_paging(void **state)
{
    (void)state;
    char ids[5][ID_ULID_LEN + 1];
    add_job("t1", "sync", "gen", NULL, ids[0]);
    add_job("t1", "reconcile", "gen", "asset", ids[1]);
    add_job("t1", "sync", "other", "asset", ids[2]);
    add_job("t2", "sync", "gen", NULL, ids[3]);
    add_job("t1", "reconcile", "gen", "work_order", ids[4]);
    struct arena *a = arena_new(0, 0);
    struct store_read *r = NULL;
    struct store_job *rows;
    size_t n;
    assert_int_equal(store_read_begin(db.s, &r), AB_OK);
    struct store_job_filter f = {.tenant = "t1"};
    assert_int_equal(store_job_list(r, &f, NULL, 2, a, &rows, &n), AB_OK);
    assert_int_equal(n, 2); /* newest first */
    assert_string_equal(rows[0].id, ids[4]);
    assert_string_equal(rows[1].id, ids[2]);
    assert_int_equal(store_job_list(r, &f, rows[1].id, 10, a, &rows, &n), AB_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].id, ids[1]);
    assert_string_equal(rows[1].id, ids[0]);
    f.provider = "gen";
    f.kind = "reconcile";
    assert_int_equal(store_job_list(r, &f, NULL, 10, a, &rows, &n), AB_OK);
    assert_int_equal(n, 2);
    f.kind = NULL;
    f.has_state = true;
    f.state = JOB_RUNNING;
    assert_int_equal(store_job_list(r, &f, NULL, 10, a, &rows, &n), AB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_job_list(r, &f, NULL, 0, a, &rows, &n), AB_EINVAL);
    struct store_job last;
    bool found = false;
    assert_int_equal(store_job_last(r, "t1", "reconcile", "gen", "asset", a, &last, &found), AB_OK);
    assert_true(found);
    assert_string_equal(last.id, ids[1]);
    bool busy = false;
    assert_int_equal(store_job_busy(r, "t1", "reconcile", "gen", "asset", &busy), AB_OK);
    assert_true(busy);
    assert_int_equal(store_job_busy(r, "t2", "reconcile", "gen", "asset", &busy), AB_OK);
    assert_false(busy);
    store_read_end(r);
    arena_free(a);
}

static void test_claim_progress_finish(void **state)
{
    (void)state;
    char first[ID_ULID_LEN + 1], second[ID_ULID_LEN + 1];
    add_job("t1", "sync", "gen", NULL, first);
    add_job("t2", "sync", "gen", NULL, second);
    struct arena *a = arena_new(0, 0);
    struct claim c = {a, {0}, false};
    assert_int_equal(store_write(db.s, claim_fn, &c, NULL), AB_OK);
    assert_true(c.found);
    assert_string_equal(c.j.id, first); /* oldest first, whatever the tenant */
    assert_int_equal(c.j.state, JOB_RUNNING);
    assert_true(c.j.started_at != INT64_MIN);
    assert_int_equal(store_write(db.s, progress_fn, (void *)first, NULL), AB_OK);
    struct store_job j;
    assert_int_equal(get("t1", first, a, &j), AB_OK);
    assert_int_equal(j.pages, 2);
    assert_int_equal(j.records, 20);
    assert_int_equal(j.total, 100);
    struct finish f = {"t1", first, JOB_SUCCEEDED};
    assert_int_equal(store_write(db.s, finish_fn, &f, NULL), AB_OK);
    assert_int_equal(get("t1", first, a, &j), AB_OK);
    assert_int_equal(j.state, JOB_SUCCEEDED);
    assert_int_equal(j.records, 42);
    assert_string_equal(j.result, "{\"missing\":1}");
    assert_true(j.finished_at != INT64_MIN);
    /* only a running job finishes; a queued one is a conflict */
    assert_int_equal(store_write(db.s, finish_fn, &f, NULL), AB_ECONFLICT);
    struct finish g = {"t2", second, JOB_FAILED};
    assert_int_equal(store_write(db.s, finish_fn, &g, NULL), AB_ECONFLICT);
    /* the next claim takes the other tenant's job, then none is left */
    assert_int_equal(store_write(db.s, claim_fn, &c, NULL), AB_OK);
    assert_true(c.found);
    assert_string_equal(c.j.id, second);
    assert_int_equal(store_write(db.s, claim_fn, &c, NULL), AB_OK);
    assert_false(c.found);
    arena_free(a);
}

static void test_cancel(void **state)
{
    (void)state;
    char running[ID_ULID_LEN + 1], queued[ID_ULID_LEN + 1];
    add_job("t1", "sync", "gen", NULL, running);
    add_job("t1", "sync", "gen", NULL, queued);
    struct arena *a = arena_new(0, 0);
    struct claim c = {a, {0}, false};
    assert_int_equal(store_write(db.s, claim_fn, &c, NULL), AB_OK);
    assert_string_equal(c.j.id, running);
    bool flag = true;
    assert_int_equal(store_job_cancel_requested(db.s, "t1", running, &flag), AB_OK);
    assert_false(flag);

    struct cancel q = {"t1", queued, JOB_RUNNING};
    assert_int_equal(store_write(db.s, cancel_fn, &q, NULL), AB_OK);
    assert_int_equal(q.state, JOB_CANCELLED);
    struct cancel rr = {"t1", running, JOB_QUEUED};
    assert_int_equal(store_write(db.s, cancel_fn, &rr, NULL), AB_OK);
    assert_int_equal(rr.state, JOB_RUNNING); /* stops at its next page */
    assert_int_equal(store_job_cancel_requested(db.s, "t1", running, &flag), AB_OK);
    assert_true(flag);
    assert_int_equal(store_job_cancel_requested(db.s, "t2", running, &flag), AB_ENOTFOUND);
    struct store_job j;
    assert_int_equal(get("t1", queued, a, &j), AB_OK);
    assert_int_equal(j.state, JOB_CANCELLED);
    assert_true(j.finished_at != INT64_MIN);
    /* an ended job cannot be cancelled; the queued one is never claimed */
    assert_int_equal(store_write(db.s, cancel_fn, &q, NULL), AB_ECONFLICT);
    assert_int_equal(store_write(db.s, claim_fn, &c, NULL), AB_OK);
    assert_false(c.found);
    arena_free(a);
}

static enum ab_rc interrupt_fn(struct store_tx *tx, void *arg)
{
    return store_jobs_interrupt(tx, (int64_t *)arg);
}

struct seen {
    const char *job, *id;
    bool added;
};

static enum ab_rc seen_fn(struct store_tx *tx, void *arg)
{
    struct seen *s = arg;
    return store_job_seen_add(tx, s->job, s->id, &s->added);
}

static void test_interrupted_at_start(void **state)
{
    (void)state;
    char id[ID_ULID_LEN + 1], other[ID_ULID_LEN + 1];
    add_job("t1", "reconcile", "gen", "asset", id);
    add_job("t1", "reconcile", "gen", "asset", other);
    struct arena *a = arena_new(0, 0);
    struct claim c = {a, {0}, false};
    assert_int_equal(store_write(db.s, claim_fn, &c, NULL), AB_OK);
    struct seen s = {id, "N1", false};
    assert_int_equal(store_write(db.s, seen_fn, &s, NULL), AB_OK);
    int64_t n = 0;
    assert_int_equal(store_write(db.s, interrupt_fn, &n, NULL), AB_OK);
    assert_int_equal(n, 1);
    struct store_job j;
    assert_int_equal(get("t1", id, a, &j), AB_OK);
    assert_int_equal(j.state, JOB_FAILED);
    assert_string_equal(j.error, "interrupted by a restart");
    assert_int_equal(get("t1", other, a, &j), AB_OK);
    assert_int_equal(j.state, JOB_QUEUED); /* queued jobs wait for the runner */
    assert_int_equal(test_count(&db, "SELECT COUNT(*) FROM job_seen"), 0);
    arena_free(a);
}

/* A source record of t1/gen/asset written straight to the file. */
static void put_source(const char *native_id, const char *digest, int missing)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO tenants(tenant, created_at) VALUES ('t1', 0) ON CONFLICT DO NOTHING;"
             "INSERT INTO source_records(tenant, provider, entity, native_id, doc, digest,"
             " sync_state, missing_at_source, seen_at, created_at, updated_at) VALUES ('t1', 'gen',"
             " 'asset', '%s', '{}', '%s', 'imported', %d, 5, 0, 0)",
             native_id, digest, missing);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db.path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

struct touch {
    const char *job;
    int64_t since, n;
};

static enum ab_rc touch_fn(struct store_tx *tx, void *arg)
{
    struct touch *t = arg;
    return store_job_seen_touch(tx, "t1", "gen", "asset", t->job, t->since, &t->n);
}

static enum ab_rc hub_fn(struct store_tx *tx, void *arg)
{
    struct store_hub_record *h = arg;
    return store_hub_record_get(tx, "t1", "gen", "asset", "N2", h);
}

static enum ab_rc clear_fn(struct store_tx *tx, void *arg)
{
    return store_job_seen_clear(tx, (const char *)arg);
}

static void test_scratch_set_and_unseen(void **state)
{
    (void)state;
    put_source("N1", "d1", 0);
    put_source("N2", "d2", 1);
    put_source("N3", "d3", 0);
    put_source("N4", "d4", 0);
    struct seen s = {"JOB1", "N1", false};
    assert_int_equal(store_write(db.s, seen_fn, &s, NULL), AB_OK);
    assert_true(s.added);
    assert_int_equal(store_write(db.s, seen_fn, &s, NULL), AB_OK);
    assert_false(s.added); /* noted once */
    s.id = "N9";           /* at the provider only */
    assert_int_equal(store_write(db.s, seen_fn, &s, NULL), AB_OK);
    struct seen other = {"JOB2", "N3", false};
    assert_int_equal(store_write(db.s, seen_fn, &other, NULL), AB_OK);

    struct store_hub_record h;
    assert_int_equal(store_write(db.s, hub_fn, &h, NULL), AB_OK);
    assert_true(h.found && h.missing_at_source);
    assert_string_equal(h.digest, "d2");

    struct arena *a = arena_new(0, 0);
    struct store_read *r = NULL;
    int64_t count = 0, total = 0;
    const char **ids;
    size_t n;
    assert_int_equal(store_read_begin(db.s, &r), AB_OK);
    assert_int_equal(store_hub_record_count(r, "t1", "gen", "asset", &total), AB_OK);
    assert_int_equal(total, 3); /* N2 is marked missing */
    /* JOB1 saw N1: the hub's N3 and N4 are extra (N2 is missing already;
     * JOB2's set does not count) */
    assert_int_equal(store_job_unseen(r, "t1", "gen", "asset", "JOB1", 1, a, &count, &ids, &n),
                     AB_OK);
    assert_int_equal(count, 2);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "N3");
    assert_int_equal(store_job_unseen(r, "t2", "gen", "asset", "JOB1", 5, a, &count, &ids, &n),
                     AB_OK);
    assert_int_equal(count, 0);
    store_read_end(r);

    struct touch t = {"JOB1", 10, 0};
    assert_int_equal(store_write(db.s, touch_fn, &t, NULL), AB_OK);
    assert_int_equal(t.n, 1); /* N1 only: N9 is not in the hub */
    assert_int_equal(test_count(&db, "SELECT seen_at FROM source_records WHERE native_id = 'N1'"),
                     clock_now_ms());
    assert_int_equal(test_count(&db, "SELECT seen_at FROM source_records WHERE native_id = 'N3'"),
                     5);

    assert_int_equal(store_write(db.s, clear_fn, (void *)"JOB1", NULL), AB_OK);
    assert_int_equal(test_count(&db, "SELECT COUNT(*) FROM job_seen WHERE job_id = 'JOB1'"), 0);
    assert_int_equal(test_count(&db, "SELECT COUNT(*) FROM job_seen WHERE job_id = 'JOB2'"), 1);
    arena_free(a);
}

static void test_state_names(void **state)
{
    (void)state;
    enum store_job_state s;
    for (int i = JOB_QUEUED; i <= JOB_CANCELLED; i++) {
        assert_true(store_job_state_parse(store_job_state_name((enum store_job_state)i), &s));
        assert_int_equal(s, i);
    }
    assert_false(store_job_state_parse("done", &s));
    assert_false(store_job_state_parse(NULL, &s));
    assert_true(store_job_state_final(JOB_CANCELLED));
    assert_false(store_job_state_final(JOB_RUNNING));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_get_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_progress_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scratch_set_and_unseen, setup, teardown),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
