/* SPDX-License-Identifier: Apache-2.0
 *
 * test_reconcile.c: the job runner (src/sync/jobs.c) in manual mode against
 * an in-test connector (a const struct conn_ops whose "provider" is a set of
 * records held here) and a temporary store: a reconciliation reports the
 * records missing, extra and different after the provider's set changed
 * (one added, one gone, one modified) and changes nothing; with repair it
 * fixes them (upsert, missing_at_source, an audit record) and a second run
 * finds nothing; sync jobs pull every page and record their progress; a
 * queued job cancelled never runs and a running one stops at its next page;
 * a stale checkpointless job left running is marked failed at start; the
 * reconcile schedule queues a run when due; and at 100,000 records the
 * report keeps counts and only the first ids (the seen set lives in the
 * store). Time is the fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "../store/store_test.h"
#include "conn/conn.h"
#include "core/clock.h"
#include "core/config.h"
#include "store/jobs.h"
#include "sync/engine.h"
#include "sync/health.h"
#include "sync/jobs.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

/* ---- the provider: records 0..n-1 except `gone`, record `changed` modified ---- */

static struct {
    int n;
    int page;      /* records per page */
    int gone;      /* -1: none */
    int changed;   /* -1: none */
    int pulls;     /* pull calls */
    int fail_at;   /* pull call that fails with AB_EUNAVAILABLE (0: none) */
    int cancel_at; /* pull call after which cancel_job is cancelled (0: none) */
    char cancel_job[32];
    struct store *store;
} prov;

struct cancel_req {
    const char *id;
};

static enum ab_rc cancel_fn(struct store_tx *tx, void *arg)
{
    return store_job_cancel(tx, "t1", ((struct cancel_req *)arg)->id, NULL);
}

static enum ab_rc fake_pull(void *ctx, const char *entity, const char *watermark,
                            const char *page_token, struct arena *a, struct conn_page *out)
{
    (void)ctx;
    (void)watermark;
    int call = ++prov.pulls;
    if (prov.fail_at && call == prov.fail_at)
        return AB_EUNAVAILABLE;
    long start = page_token ? strtol(page_token, NULL, 10) : 0;
    out->records = arena_zalloc(a, (size_t)prov.page * sizeof(*out->records));
    size_t k = 0;
    long i = start;
    for (; i < prov.n && k < (size_t)prov.page; i++) {
        if (i == prov.gone)
            continue;
        struct conn_record *r = &out->records[k++];
        r->native_id = arena_printf(a, "N%06ld", i);
        r->revision = -1;
        r->modified_at = INT64_MIN;
        if (strcmp(entity, "asset") == 0)
            r->doc = conn_arena_own(a, json_pack("{s:s, s:s}", "serial_number",
                                                 arena_printf(a, "SN-%ld", i), "name",
                                                 i == prov.changed ? "changed" : "plain"));
        else
            r->doc = conn_arena_own(a, json_pack("{s:s, s:i}", "name",
                                                 i == prov.changed ? "changed" : "plain",
                                                 "interval_days", 30));
    }
    out->n_records = k;
    out->next_page_token = i < prov.n ? arena_printf(a, "%ld", i) : NULL;
    out->new_watermark = out->next_page_token ? NULL : "wm";
    if (prov.cancel_at && call == prov.cancel_at) {
        struct cancel_req c = {prov.cancel_job};
        assert_int_equal(store_write(prov.store, cancel_fn, &c, NULL), AB_OK);
    }
    return AB_OK;
}

static enum ab_rc fake_health(void *ctx, struct arena *a, struct conn_health *out)
{
    (void)ctx;
    (void)a;
    out->dns = CONN_CHECK_OK;
    out->tls = CONN_CHECK_SKIPPED;
    out->auth = CONN_CHECK_OK;
    out->version = CONN_CHECK_OK;
    out->provider_version = "fake/1";
    return AB_OK;
}

static const struct conn_ops fake_ops = {
    CONN_ABI_V1, "generic", CONN_CAP_PULL_ASSETS | CONN_CAP_PULL_PLANS,
    NULL,        NULL,      fake_health,
    fake_pull,   NULL,      NULL,
    NULL,
};
static const struct conn_ops *const fake_registry[] = {&fake_ops, NULL};

/* ---- fixture ------------------------------------------------------------------- */

static const char config_text[] =
    "tenants:\n"
    "  t1:\n"
    "    providers:\n"
    "      gen:\n"
    "        type: generic\n"
    "        rate_limit: {requests_per_second: 100000, burst: 100000}\n"
    "        entities:\n"
    "          asset: {interval: 5m, reconcile_interval: 1h, reconcile_repair: true}\n"
    "          maintenance_plan: {interval: 5m}\n";

struct fx {
    struct test_db db;
    struct config *cfg;
    struct sync_engine *e;
    struct sync_jobs *jobs;
    struct arena *a;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    memset(&prov, 0, sizeof(prov));
    prov.n = 10;
    prov.page = 4;
    prov.gone = -1;
    prov.changed = -1;
    clock_set_fake(T0, true);
    test_db_open(&f->db);
    prov.store = f->db.s;
    struct config_errors errs = {0};
    if (config_load_buffer("test.yaml", config_text, strlen(config_text), &f->cfg, &errs)) {
        config_errors_print(&errs, stderr);
        abort();
    }
    config_errors_cleanup(&errs);
    struct sync_engine_opts o = {0};
    o.manual = true;
    o.seed = 7;
    assert_int_equal(sync_engine_start_with(f->cfg, f->db.s, fake_registry, &o, &f->e), AB_OK);
    assert_int_equal(sync_jobs_start(f->e, &f->jobs), AB_OK);
    f->a = arena_new(0, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sync_jobs_stop(f->jobs);
    sync_engine_stop(f->e);
    test_db_close(&f->db);
    config_free(f->cfg);
    arena_free(f->a);
    clock_set_real();
    free(f);
    return 0;
}

/* Queue a job; its id (in f->a). */
static const char *submit(struct fx *f, const char *kind, const char *entity, bool flag)
{
    struct sync_job_request req = {
        .tenant = "t1",
        .kind = kind,
        .provider = "gen",
        .entity = entity,
        .full = flag,
        .repair = flag,
        .created_by = "key-test",
    };
    struct store_job j;
    const char *field = NULL;
    assert_int_equal(sync_jobs_submit(f->e, &req, f->a, &j, &field), AB_OK);
    assert_int_equal(j.state, JOB_QUEUED);
    return j.id;
}

static struct store_job get(struct fx *f, const char *id)
{
    struct store_read *r = NULL;
    struct store_job j;
    assert_int_equal(store_read_begin(f->db.s, &r), AB_OK);
    assert_int_equal(store_job_get(r, "t1", id, f->a, &j), AB_OK);
    store_read_end(r);
    return j;
}

/* Run the queue; the job's result. */
static json_t *run(struct fx *f, const char *id, enum store_job_state want)
{
    int ran = 0;
    assert_int_equal(sync_jobs_run_pending(f->jobs, &ran), AB_OK);
    struct store_job j = get(f, id);
    if (j.state != want)
        fprintf(stderr, "job %s: %s (%s)\n", id, store_job_state_name(j.state),
                j.error ? j.error : "");
    assert_int_equal(j.state, want);
    json_t *res = json_loads(j.result ? j.result : "null", JSON_DECODE_ANY, NULL);
    assert_non_null(res);
    return conn_arena_own(f->a, res);
}

static int64_t num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static const char *first_id(const json_t *res, const char *k)
{
    const json_t *v = json_object_get(res, k);
    return json_string_value(json_array_get(v, 0));
}

static void pull_all(struct fx *f, const char *entity)
{
    int pages = 0;
    assert_int_equal(sync_engine_pull(f->e, "t1", "gen", entity, true, 0, &pages), AB_OK);
    assert_true(pages > 0);
}

/* ---- tests --------------------------------------------------------------------- */

static void test_report_changes_nothing(void **state)
{
    struct fx *f = *state;
    pull_all(f, "asset");
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records"), 10);
    clock_advance_ms(1000);
    prov.gone = 3;    /* deleted at the provider */
    prov.changed = 5; /* modified there */
    prov.n = 11;      /* N000010 added */
    int64_t changes_before = test_count(&f->db, "SELECT COUNT(*) FROM audit");
    const char *id = submit(f, "reconcile", "asset", false);
    json_t *res = run(f, id, JOB_SUCCEEDED);
    assert_int_equal(num(res, "missing"), 1);
    assert_string_equal(first_id(res, "missing_ids"), "N000010");
    assert_int_equal(num(res, "extra"), 1);
    assert_string_equal(first_id(res, "extra_ids"), "N000003");
    assert_int_equal(num(res, "different"), 1);
    assert_string_equal(first_id(res, "different_ids"), "N000005");
    assert_int_equal(num(res, "same"), 8);
    assert_int_equal(num(res, "provider_records"), 10);
    assert_true(json_is_true(json_object_get(res, "complete")));
    assert_true(json_is_null(json_object_get(res, "repaired")));
    /* nothing changed in the hub, the scratch set is gone */
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records"), 10);
    assert_int_equal(
        test_count(&f->db, "SELECT COUNT(*) FROM source_records WHERE missing_at_source = 1"), 0);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM assets WHERE doc LIKE '%%changed%%'"),
                     0);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM audit"), changes_before);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM job_seen"), 0);
    struct store_job j = get(f, id);
    assert_int_equal(j.pages, 3);
    assert_int_equal(j.records, 10);
    assert_int_equal(j.total, 10); /* the hub's count, the estimate */
    assert_string_equal(j.created_by, "key-test");
}

static void test_repair_then_nothing_left(void **state)
{
    struct fx *f = *state;
    pull_all(f, "asset");
    clock_advance_ms(1000);
    prov.gone = 3;
    prov.changed = 5;
    prov.n = 11;
    const char *id = submit(f, "reconcile", "asset", true);
    json_t *res = run(f, id, JOB_SUCCEEDED);
    assert_int_equal(num(res, "missing"), 1);
    assert_int_equal(num(res, "extra"), 1);
    assert_int_equal(num(res, "different"), 1);
    const json_t *rep = json_object_get(res, "repaired");
    assert_int_equal(num(rep, "created"), 1);
    assert_int_equal(num(rep, "updated"), 1);
    assert_int_equal(num(rep, "marked_missing"), 1);
    assert_int_equal(num(rep, "exceptions"), 0);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records"), 11);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records WHERE"
                                        " missing_at_source = 1 AND native_id = 'N000003'"),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM assets WHERE doc LIKE '%%changed%%'"),
                     1);
    /* the repair is audited with actor, job id and counts; the extra one the
     * way a full pass records it */
    assert_int_equal(test_count(&f->db,
                                "SELECT COUNT(*) FROM audit WHERE action = 'reconcile.repair' AND"
                                " actor = 'key-test' AND subject = 'job/%s' AND detail LIKE"
                                " '%%\"marked_missing\":1%%'",
                                id),
                     1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM audit WHERE action ="
                                        " 'record.missing_at_source'"),
                     1);
    clock_advance_ms(1000);
    const char *again = submit(f, "reconcile", "asset", false);
    res = run(f, again, JOB_SUCCEEDED);
    assert_int_equal(num(res, "missing"), 0);
    assert_int_equal(num(res, "extra"), 0);
    assert_int_equal(num(res, "different"), 0);
    assert_int_equal(num(res, "same"), 10);
}

static void test_record_back_at_provider_is_different(void **state)
{
    struct fx *f = *state;
    pull_all(f, "asset");
    clock_advance_ms(1000);
    prov.gone = 2;
    pull_all(f, "asset"); /* the full pass marks N000002 missing */
    assert_int_equal(
        test_count(&f->db, "SELECT COUNT(*) FROM source_records WHERE missing_at_source = 1"), 1);
    prov.gone = -1; /* it is back */
    const char *id = submit(f, "reconcile", "asset", true);
    json_t *res = run(f, id, JOB_SUCCEEDED);
    assert_int_equal(num(res, "different"), 1);
    assert_string_equal(first_id(res, "different_ids"), "N000002");
    assert_int_equal(num(res, "extra"), 0);
    assert_int_equal(num(json_object_get(res, "repaired"), "unchanged"), 1);
    assert_int_equal(
        test_count(&f->db, "SELECT COUNT(*) FROM source_records WHERE missing_at_source = 1"), 0);
}

static void test_sync_job_progress(void **state)
{
    struct fx *f = *state;
    prov.n = 10;
    prov.page = 3;
    const char *id = submit(f, "sync", "asset", true);
    json_t *res = run(f, id, JOB_SUCCEEDED);
    struct store_job j = get(f, id);
    assert_int_equal(j.pages, 4);
    assert_int_equal(j.records, 10);
    assert_true(j.started_at != INT64_MIN && j.finished_at != INT64_MIN);
    const json_t *e0 = json_array_get(json_object_get(res, "entities"), 0);
    assert_string_equal(json_string_value(json_object_get(e0, "entity")), "asset");
    assert_string_equal(json_string_value(json_object_get(e0, "outcome")), "succeeded");
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records"), 10);
    /* without an entity: every configured one */
    const char *all = submit(f, "sync", NULL, false);
    res = run(f, all, JOB_SUCCEEDED);
    assert_int_equal(json_array_size(json_object_get(res, "entities")), 2);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records WHERE entity ="
                                        " 'maintenance_plan'"),
                     10);
}

static void test_failures(void **state)
{
    struct fx *f = *state;
    prov.fail_at = 2;
    const char *id = submit(f, "reconcile", "asset", false);
    run(f, id, JOB_FAILED);
    struct store_job j = get(f, id);
    assert_non_null(strstr(j.error, "fetching a page of asset failed"));
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM job_seen"), 0);
    /* submission checks */
    struct sync_job_request req = {
        .tenant = "t1", .kind = "reconcile", .provider = "nope", .entity = "asset"};
    struct store_job out;
    const char *field = NULL;
    assert_int_equal(sync_jobs_submit(f->e, &req, f->a, &out, &field), AB_ENOTFOUND);
    assert_string_equal(field, "provider");
    req.provider = "gen";
    req.entity = "work_order"; /* not configured */
    assert_int_equal(sync_jobs_submit(f->e, &req, f->a, &out, &field), AB_EINVAL);
    assert_string_equal(field, "entity");
    req.entity = NULL;
    assert_int_equal(sync_jobs_submit(f->e, &req, f->a, &out, &field), AB_EINVAL);
    req.tenant = "t2"; /* another tenant has no such provider */
    req.entity = "asset";
    assert_int_equal(sync_jobs_submit(f->e, &req, f->a, &out, &field), AB_ENOTFOUND);
    assert_int_equal(sync_jobs_submit(NULL, &req, f->a, &out, &field), AB_EUNAVAILABLE);
}

static void test_cancel(void **state)
{
    struct fx *f = *state;
    prov.n = 40;
    prov.page = 4;
    const char *running = submit(f, "reconcile", "asset", false);
    const char *queued = submit(f, "sync", "asset", false);
    struct cancel_req c = {queued};
    assert_int_equal(store_write(f->db.s, cancel_fn, &c, NULL), AB_OK);
    snprintf(prov.cancel_job, sizeof(prov.cancel_job), "%s", running);
    prov.cancel_at = 2; /* asked to cancel while its second page is fetched */
    run(f, running, JOB_CANCELLED);
    struct store_job j = get(f, running);
    assert_int_equal(j.pages, 2); /* stopped at its next page */
    assert_int_equal(prov.pulls, 2);
    j = get(f, queued);
    assert_int_equal(j.state, JOB_CANCELLED);
    assert_true(j.started_at == INT64_MIN); /* never ran */
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM job_seen"), 0);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records"), 0);
}

static void test_schedule(void **state)
{
    struct fx *f = *state;
    int queued = -1;
    assert_int_equal(sync_jobs_schedule_tick(f->jobs, &queued), AB_OK);
    assert_int_equal(queued, 0); /* first run one interval after the start */
    clock_advance_ms(60 * 60 * 1000);
    assert_int_equal(sync_jobs_schedule_tick(f->jobs, &queued), AB_OK);
    assert_int_equal(queued, 1);
    assert_int_equal(sync_jobs_schedule_tick(f->jobs, &queued), AB_OK);
    assert_int_equal(queued, 0); /* next one an interval later */
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM jobs WHERE kind = 'reconcile' AND"
                                        " entity = 'asset' AND created_by = 'scheduler' AND"
                                        " params LIKE '%%\"repair\":true%%'"),
                     1);
    int ran = 0;
    assert_int_equal(sync_jobs_run_pending(f->jobs, &ran), AB_OK);
    assert_int_equal(ran, 1);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records"), 10); /* repaired */
}

static void test_interrupted_and_health(void **state)
{
    struct fx *f = *state;
    const char *id = submit(f, "sync", "asset", false);
    /* a process died with it running */
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM jobs"), 1);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(f->db.path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "UPDATE jobs SET state = 'running'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    sync_jobs_stop(f->jobs);
    assert_int_equal(sync_jobs_start(f->e, &f->jobs), AB_OK);
    struct store_job j = get(f, id);
    assert_int_equal(j.state, JOB_FAILED);
    assert_string_equal(j.error, "interrupted by a restart");

    struct sync_health hl;
    assert_int_equal(sync_provider_health(f->e, "t1", "gen", f->a, &hl), AB_OK);
    assert_int_equal(hl.verdict, SYNC_HEALTH_OK);
    assert_string_equal(hl.checks.provider_version, "fake/1");
    assert_int_equal(sync_provider_health(f->e, "t2", "gen", f->a, &hl), AB_ENOTFOUND);
    struct conn_health ch = {0};
    ch.dns = CONN_CHECK_FAILED;
    assert_int_equal(sync_health_verdict(AB_ENETWORK, &ch), SYNC_HEALTH_FAILED);
    ch.dns = CONN_CHECK_OK;
    ch.auth = CONN_CHECK_FAILED;
    assert_int_equal(sync_health_verdict(AB_EAUTH, &ch), SYNC_HEALTH_FAILED);
    ch.auth = CONN_CHECK_SKIPPED;
    assert_int_equal(sync_health_verdict(AB_EUNAVAILABLE, &ch), SYNC_HEALTH_DEGRADED);
    ch.auth = CONN_CHECK_OK;
    ch.version = CONN_CHECK_FAILED;
    assert_int_equal(sync_health_verdict(AB_EUNSUPPORTED, &ch), SYNC_HEALTH_DEGRADED);
}

/* 100,000 records: counts are exact, the report lists only the first ids,
 * and the seen set lives in the store (gone afterwards). */
static void test_large_set(void **state)
{
    struct fx *f = *state;
    prov.n = 100000;
    prov.page = 1000;
    pull_all(f, "maintenance_plan");
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM source_records"), 100000);
    clock_advance_ms(1000);
    prov.n = 50000; /* the other half is gone at the provider */
    prov.changed = 7;
    const char *id = submit(f, "reconcile", "maintenance_plan", false);
    json_t *res = run(f, id, JOB_SUCCEEDED);
    assert_int_equal(num(res, "extra"), 50000);
    assert_int_equal(json_array_size(json_object_get(res, "extra_ids")), RECONCILE_MAX_IDS);
    assert_string_equal(first_id(res, "extra_ids"), "N050000");
    assert_int_equal(num(res, "different"), 1);
    assert_int_equal(num(res, "same"), 49999);
    assert_int_equal(test_count(&f->db, "SELECT COUNT(*) FROM job_seen"), 0);
    struct store_job j = get(f, id);
    assert_int_equal(j.pages, 50);
    assert_int_equal(j.total, 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repair_then_nothing_left, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_back_at_provider_is_different, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_job_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_and_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_set, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
