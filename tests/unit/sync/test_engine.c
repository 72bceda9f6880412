/* SPDX-License-Identifier: Apache-2.0
 *
 * test_engine.c: the sync engine against a mock connector (a const struct
 * conn_ops defined here) and a temporary store: paged pulls that checkpoint
 * every page and resume after a stop, full passes that mark records missing,
 * outbox delivery (ok, retryable then ok, permanent -> dead letter with
 * sync.failed, unknown -> resolve before resend), the circuit breaker
 * stopping calls, read_only mode, and the threads delivering on their own.
 * Time is moved with the fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "../store/store_test.h"
#include "conn/conn.h"
#include "core/arena.h"
#include "core/clock.h"
#include "core/config.h"
#include "store/journal.h"
#include "store/outbox.h"
#include "sync/engine.h"
#include "sync/engine_int.h"
#include "core/timefmt.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

/* ---- the mock connector -------------------------------------------------------- */

#define SCRIPT_MAX 16

static struct {
    int pages;   /* pages of a pass */
    int records; /* records per page */
    int pulls;   /* pull calls */
    char first_token[32];
    int pushes, resolves;
    enum conn_outcome script[SCRIPT_MAX]; /* outcome of push call i (CONN_OK past the end) */
    int n_script;
    int64_t retry_after_ms;
    enum conn_resolution resolution;
    char last_correlation[64];
    char last_key[64];
    const char *mismatch; /* set: OK with this mapping_exception */
    int push_sleep_ms;    /* a slow provider */
} mock;

static enum ab_rc mock_pull(void *ctx, const char *entity, const char *watermark,
                            const char *page_token, struct arena *a, struct conn_page *out)
{
    (void)ctx;
    (void)entity;
    (void)watermark;
    if (mock.pulls++ == 0)
        snprintf(mock.first_token, sizeof(mock.first_token), "%s", page_token ? page_token : "");
    long k = page_token ? strtol(page_token + 1, NULL, 10) : 0; /* "p<k>": page k next */
    out->records = arena_zalloc(a, (size_t)mock.records * sizeof(*out->records));
    out->n_records = (size_t)mock.records;
    for (int i = 0; i < mock.records; i++) {
        struct conn_record *r = &out->records[i];
        long n = k * mock.records + i;
        r->native_id = arena_printf(a, "N%ld", n);
        r->revision = -1;
        r->modified_at = INT64_MIN;
        r->doc = conn_arena_own(a, json_pack("{s:s, s:s}", "serial_number",
                                             arena_printf(a, "SN-%ld", n), "name", "mock"));
    }
    out->next_page_token = k + 1 < mock.pages ? arena_printf(a, "p%ld", k + 1) : NULL;
    out->new_watermark = out->next_page_token ? NULL : arena_printf(a, "wm%ld", k + 1);
    return AB_OK;
}

static enum ab_rc mock_push(void *ctx, const struct conn_item *item, struct arena *a,
                            struct conn_result *out)
{
    (void)ctx;
    (void)a;
    int i = mock.pushes++;
    if (mock.push_sleep_ms)
        usleep((useconds_t)mock.push_sleep_ms * 1000);
    snprintf(mock.last_correlation, sizeof(mock.last_correlation), "%s",
             item->correlation_id ? item->correlation_id : "");
    snprintf(mock.last_key, sizeof(mock.last_key), "%s", item->idempotency_key);
    out->outcome = i < mock.n_script ? mock.script[i] : CONN_OK;
    if (out->outcome == CONN_OK && mock.mismatch) {
        out->error_class = "due_date_mismatch";
        out->mapping_exception = mock.mismatch;
    }
    out->retry_after_ms = out->outcome == CONN_RETRYABLE ? mock.retry_after_ms : -1;
    if (out->outcome == CONN_PERMANENT) {
        out->error_class = "validation";
        out->message = "serial number unknown";
        out->response = "{\"error\":\"no such equipment\",\"token\":\"abc\"}";
    } else if (out->outcome == CONN_RETRYABLE) {
        out->error_class = "server";
        out->message = "503 from provider";
    }
    return AB_OK;
}

static enum ab_rc mock_resolve(void *ctx, const struct conn_item *item, struct arena *a,
                               enum conn_resolution *out)
{
    (void)ctx;
    (void)item;
    (void)a;
    mock.resolves++;
    *out = mock.resolution;
    return AB_OK;
}

static const struct conn_ops mock_ops = {
    CONN_ABI_V1,
    "generic",
    CONN_CAP_PULL_ASSETS | CONN_CAP_OPEN_REQUEST | CONN_CAP_UPDATE_WORK_ORDER |
        CONN_CAP_PUSH_READINGS,
    NULL,
    NULL,
    NULL,
    mock_pull,
    mock_push,
    mock_resolve,
    NULL,
};
static const struct conn_ops *const mock_registry[] = {&mock_ops, NULL};

/* ---- fixture ------------------------------------------------------------------- */

static const char config_text[] = "tenants:\n"
                                  "  t1:\n"
                                  "    providers:\n"
                                  "      mock:\n"
                                  "        type: generic\n"
                                  "        mode: write_back\n"
                                  "        rate_limit: {requests_per_second: 1000, burst: 1000}\n"
                                  "        entities:\n"
                                  "          asset: {interval: 5m}\n"
                                  "      ro:\n"
                                  "        type: generic\n"
                                  "        mode: read_only\n"
                                  "      none:\n"
                                  "        type: sap_pm\n";

struct fx {
    struct test_db db;
    struct config *cfg;
    struct sync_engine *e;
    struct sync_engine_opts o;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    memset(&mock, 0, sizeof(mock));
    mock.pages = 5;
    mock.records = 2;
    mock.retry_after_ms = -1;
    clock_set_fake(T0, true);
    test_db_open(&f->db);
    struct config_errors errs = {0};
    if (config_load_buffer("test.yaml", config_text, strlen(config_text), &f->cfg, &errs)) {
        config_errors_print(&errs, stderr);
        abort();
    }
    config_errors_cleanup(&errs);
    f->o.manual = true;
    f->o.seed = 42;
    f->o.breaker.failure_threshold = 3;
    f->o.breaker.cooldown_ms = 60000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sync_engine_stop(f->e);
    test_db_close(&f->db);
    config_free(f->cfg);
    clock_set_real();
    free(f);
    return 0;
}

static void start(struct fx *f)
{
    assert_int_equal(sync_engine_start_with(f->cfg, f->db.s, mock_registry, &f->o, &f->e), AB_OK);
}

struct add_job {
    const char *provider, *action, *key;
    const char *payload, *coalesce_key, *entity; /* NULL: defaults */
    int priority;
};

static enum ab_rc add_fn(struct store_tx *tx, void *arg)
{
    struct add_job *j = arg;
    struct store_outbox_item it = {0};
    it.tenant = "t1";
    it.provider = j->provider;
    it.entity = j->entity ? j->entity : "work_order";
    it.action = j->action;
    it.subject = "work-order/WO-1";
    it.payload = j->payload ? j->payload : "{\"title\":\"fix\"}";
    it.idempotency_key = j->key;
    it.coalesce_key = j->coalesce_key;
    it.priority = j->priority;
    it.state = OUTBOX_PENDING;
    return store_outbox_add(tx, &it, NULL);
}

static void add_item(struct fx *f, const char *provider, const char *key)
{
    struct add_job j = {provider, "open_request", key, NULL, NULL, NULL, 0};
    assert_int_equal(store_write(f->db.s, add_fn, &j, "corr-1"), AB_OK);
}

static int64_t q(struct fx *f, const char *sql)
{
    return test_count(&f->db, "%s", sql);
}

/* ---- pulls -------------------------------------------------------------------- */

static void test_pull_checkpoints_and_resumes(void **state)
{
    struct fx *f = *state;
    start(f);
    int pages = 0;
    assert_int_equal(sync_engine_pull(f->e, "t1", "mock", "asset", false, 3, &pages), AB_OK);
    assert_int_equal(pages, 3);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM source_records"), 6);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM sync_state WHERE page_token = 'p3' AND pulled = 6"
                          " AND last_success_at IS NOT NULL"),
                     1);

    /* a stop (the process ends) and a new engine: it resumes at page 3 */
    sync_engine_stop(f->e);
    f->e = NULL;
    start(f);
    mock.pulls = 0;
    assert_int_equal(sync_engine_pull(f->e, "t1", "mock", "asset", false, 0, &pages), AB_OK);
    assert_int_equal(pages, 2);
    assert_string_equal(mock.first_token, "p3");
    assert_int_equal(q(f, "SELECT COUNT(*) FROM source_records"), 10);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM sync_state WHERE page_token IS NULL"
                          " AND watermark = 'wm5' AND pulled = 10"),
                     1);

    /* a full pass that sees fewer records marks the rest missing */
    clock_advance_ms(60000);
    mock.pages = 4;
    mock.pulls = 0;
    assert_int_equal(sync_engine_pull(f->e, "t1", "mock", "asset", true, 0, &pages), AB_OK);
    assert_int_equal(pages, 4);
    assert_string_equal(mock.first_token, "");
    assert_int_equal(q(f, "SELECT COUNT(*) FROM source_records WHERE missing_at_source != 0"), 2);

    /* unknown providers and entities */
    assert_int_equal(sync_engine_pull(f->e, "t1", "none", "asset", false, 0, NULL), AB_ENOTFOUND);
    assert_int_equal(sync_engine_pull(f->e, "t1", "mock", "meter", false, 0, NULL), AB_ENOTFOUND);
}

/* ---- outbox --------------------------------------------------------------------- */

static void test_push_ok_once(void **state)
{
    struct fx *f = *state;
    start(f);
    add_item(f, "mock", "k1");
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mock.pushes, 1);
    assert_string_equal(mock.last_correlation, "corr-1");
    assert_string_equal(mock.last_key, "k1");
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done' AND attempts = 1"), 1);
    assert_int_equal(q(f, "SELECT pushed FROM sync_state WHERE provider = 'mock'"
                          " AND entity = 'work_order' AND last_success_at IS NOT NULL"),
                     1);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(mock.pushes, 1);
}

static void test_retryable_then_ok(void **state)
{
    struct fx *f = *state;
    mock.script[0] = CONN_RETRYABLE;
    mock.n_script = 1;
    mock.retry_after_ms = 3000;
    start(f);
    add_item(f, "mock", "k1");
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(mock.pushes, 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND attempts = 1"
                          " AND error_class = 'server' AND next_attempt_at >= 1767225603000"),
                     1);
    /* not due yet: nothing is claimed */
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 0);
    clock_advance_ms(10000);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mock.pushes, 2);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done' AND attempts = 2"), 1);
}

static void test_permanent_dead_letter(void **state)
{
    struct fx *f = *state;
    mock.script[0] = CONN_PERMANENT;
    mock.n_script = 1;
    start(f);
    add_item(f, "mock", "k1");
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", NULL), AB_OK);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'dead'"
                          " AND error_class = 'validation' AND owner_action IS NOT NULL"
                          " AND last_response IS NOT NULL AND dead_at IS NOT NULL"),
                     1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM events WHERE type = 'sync.failed'"
                          " AND correlation_id = 'corr-1'"),
                     1);
    assert_int_equal(q(f, "SELECT failed FROM sync_state WHERE provider = 'mock'"), 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM sync_log WHERE level = 'error'"), 1);
    clock_advance_ms(3600000);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", NULL), AB_OK);
    assert_int_equal(mock.pushes, 1);
}

static void test_unknown_resolves_before_resend(void **state)
{
    struct fx *f = *state;
    mock.script[0] = CONN_UNKNOWN;
    mock.n_script = 1;
    mock.resolution = CONN_RESOLVED_FOUND;
    start(f);
    add_item(f, "mock", "k1");
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", NULL), AB_OK);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'pending'"
                          " AND error_class = 'unknown_outcome'"),
                     1);
    clock_advance_ms(3600000);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", NULL), AB_OK);
    assert_int_equal(mock.resolves, 1);
    assert_int_equal(mock.pushes, 1); /* found: not sent again */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done'"), 1);

    /* not found: sent again */
    mock.script[1] = CONN_UNKNOWN;
    mock.n_script = 2;
    mock.resolution = CONN_RESOLVED_NOT_FOUND;
    add_item(f, "mock", "k2");
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", NULL), AB_OK);
    assert_int_equal(mock.pushes, 2);
    clock_advance_ms(3600000);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", NULL), AB_OK);
    assert_int_equal(mock.resolves, 2);
    assert_int_equal(mock.pushes, 3);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done'"), 2);
}

static void test_breaker_stops_calls(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < SCRIPT_MAX; i++)
        mock.script[i] = CONN_RETRYABLE;
    mock.n_script = SCRIPT_MAX;
    start(f);
    char key[16];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        add_item(f, "mock", key);
    }
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", NULL), AB_OK);
    assert_int_equal(mock.pushes, 3); /* the third failure opened it */
    struct sync_provider_status st;
    assert_true(sync_engine_provider_status(f->e, "t1", "mock", &st));
    assert_int_equal(st.breaker.state, BREAKER_OPEN);
    /* the two not attempted were given back without counting an attempt */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND attempts = 0"),
                     2);
    clock_advance_ms(20000);
    size_t n = 9;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(mock.pushes, 3);
    /* after the cool-down one probe goes through */
    clock_advance_ms(60000);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", NULL), AB_OK);
    assert_int_equal(mock.pushes, 4);
    assert_false(sync_engine_provider_status(f->e, "t1", "none", &st));
}

static void test_read_only_pushes_nothing(void **state)
{
    struct fx *f = *state;
    start(f);
    add_item(f, "ro", "k1");
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "ro", &n), AB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mock.pushes, 0);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'suppressed'"
                          " AND error_class = 'mode' AND attempts = 0"),
                     1);
}

/* Replace the fixture's configuration (before start). */
static void reconfigure(struct fx *f, const char *text)
{
    config_free(f->cfg);
    struct config_errors errs = {0};
    if (config_load_buffer("test.yaml", text, strlen(text), &f->cfg, &errs)) {
        config_errors_print(&errs, stderr);
        abort();
    }
    config_errors_cleanup(&errs);
    store_set_config(f->db.s, f->cfg);
}

static void add_full(struct fx *f, struct add_job *j)
{
    assert_int_equal(store_write(f->db.s, add_fn, j, "corr-2"), AB_OK);
}

static void test_system_of_record_refuses(void **state)
{
    struct fx *f = *state;
    reconfigure(f, "tenants:\n"
                   "  t1:\n"
                   "    providers:\n"
                   "      mock: {type: generic, mode: write_back}\n"
                   "      other: {type: generic, mode: write_back}\n"
                   "    system_of_record:\n"
                   "      plant-1: {work_orders: other}\n"
                   "      plant-2: {work_orders: mock}\n");
    start(f);
    struct add_job a = {"mock", "open_request", "k1", "{\"site\":\"plant-1\"}", NULL, NULL, 0};
    struct add_job b = {"mock", "open_request", "k2", "{\"site\":\"plant-2\"}", NULL, NULL, 0};
    struct add_job c = {"mock", "open_request", "k3", "{\"site\":\"plant-3\"}", NULL, NULL, 0};
    add_full(f, &a);
    add_full(f, &b);
    add_full(f, &c);
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 3);
    /* plant-2 names mock; plant-3 names nobody: both written; plant-1 refused */
    assert_int_equal(mock.pushes, 2);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'k1'"
                          " AND state = 'refused' AND error_class = 'policy'"
                          " AND last_error LIKE '%system of record for work_orders at site plant-1"
                          " is other%'"),
                     1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done'"), 2);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM audit WHERE action = 'outbox.refused'"
                          " AND detail LIKE '%plant-1%'"),
                     1);
    struct sync_provider_status ps;
    assert_true(sync_engine_provider_status(f->e, "t1", "mock", &ps));
    assert_int_equal(ps.counters.refused, 1);
    assert_int_equal(ps.counters.delivered, 2);
    /* a refusal is final: nothing is claimed again */
    clock_advance_ms(3600000);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 0);
}

static void test_usage_ack_on_completion(void **state)
{
    struct fx *f = *state;
    start(f);
    struct add_job j = {"mock",
                        "push_reading",
                        "u1",
                        "{\"asset_ref\":\"FX-1\",\"meter_type\":\"cycles\",\"value\":1234.5}",
                        "usage|mock|N1|cycles",
                        "meter",
                        0};
    add_full(f, &j);
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM usage_acks WHERE provider = 'mock'"
                          " AND meter_key = 'usage|mock|N1|cycles' AND total = 1234.5"),
                     1);
    /* a failed push records no acknowledgement */
    mock.script[0] = CONN_PERMANENT;
    mock.n_script = 1;
    mock.pushes = 0;
    struct add_job k = {
        "mock", "push_reading", "u2", "{\"value\":2000}", "usage|mock|N1|cycles", "meter", 0};
    add_full(f, &k);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(q(f, "SELECT total FROM usage_acks WHERE meter_key = 'usage|mock|N1|cycles'"),
                     1234);
}

static void test_severity_orders_delivery(void **state)
{
    struct fx *f = *state;
    reconfigure(f, "tenants:\n"
                   "  t1:\n"
                   "    providers:\n"
                   "      mock:\n"
                   "        type: generic\n"
                   "        mode: write_back\n"
                   "        entities:\n"
                   "          work_order: {severity: reporting}\n"
                   "          asset: {}\n");
    f->o.batch = 1;
    start(f);
    /* the reporting item is queued first, the plant-critical one second */
    struct add_job rep = {"mock", "open_request", "rep", NULL, NULL, "work_order", -1};
    struct add_job crit = {"mock", "open_request", "crit", NULL, NULL, "asset", -1};
    add_full(f, &rep);
    add_full(f, &crit);
    assert_int_equal(q(f, "SELECT priority FROM outbox WHERE idempotency_key = 'rep'"), 1);
    assert_int_equal(q(f, "SELECT priority FROM outbox WHERE idempotency_key = 'crit'"), 0);
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(mock.last_key, "crit");
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_string_equal(mock.last_key, "rep");
    /* the same rule for an item queued under the provider's type name */
    assert_int_equal(config_outbox_priority(config_tenant(f->cfg, "t1"), "generic", "work_order"),
                     1);
    assert_int_equal(config_outbox_priority(config_tenant(f->cfg, "t1"), "mock", "meter"), 0);
}

/* A worker died mid-call (its lease expired with the item in flight): the
 * next claim treats the outcome as unknown and resolves before resending. */
static void test_expired_lease_resolves_first(void **state)
{
    struct fx *f = *state;
    start(f);
    add_item(f, "mock", "k-crash");
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c = {
        .tenant = "t1", .provider = "mock", .max = 10, .lease_ms = 1000, .a = a};
    assert_int_equal(store_outbox_claim(f->db.s, &c), AB_OK);
    assert_int_equal(c.n, 1); /* ... and the worker holding it is gone */
    arena_free(a);
    clock_advance_ms(2000);
    mock.resolution = CONN_RESOLVED_FOUND; /* the provider had applied it */
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mock.resolves, 1);
    assert_int_equal(mock.pushes, 0);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done' AND attempts = 2"), 1);

    /* not applied: resolved, then sent once */
    add_item(f, "mock", "k-crash-2");
    a = arena_new(0, 0);
    c.a = a;
    assert_int_equal(store_outbox_claim(f->db.s, &c), AB_OK);
    assert_int_equal(c.n, 1);
    arena_free(a);
    clock_advance_ms(2000);
    mock.resolution = CONN_RESOLVED_NOT_FOUND;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(mock.resolves, 2);
    assert_int_equal(mock.pushes, 1);
    assert_string_equal(mock.last_key, "k-crash-2");
}

static void test_normalize_doc(void **state)
{
    struct fx *f = *state;
    time_zone_init();
    reconfigure(f, "tenants:\n"
                   "  t1:\n"
                   "    sites:\n"
                   "      plant-1:\n"
                   "        time_zone: Europe/Oslo\n"
                   "        value_maps:\n"
                   "          plant: {'1000': plant-1}\n"
                   "          object_type: {ICT: fixture, DMM: instrument}\n"
                   "          meter: {ZYKLEN: cycles}\n"
                   "      plant-2:\n"
                   "        value_maps:\n"
                   "          plant: {'2000': plant-2}\n"
                   "          object_type: {ICT: station}\n");
    const struct config_tenant *t = config_tenant(f->cfg, "t1");
    json_t *d = json_pack("{s:s, s:s, s:{s:s}, s:s, s:s, s:s}", "site", "1000", "type", "ICT",
                          "location", "site", "1000", "meter_type", "ZYKLEN", "next_due_at",
                          "2026-07-01", "done_at", "2026-07-01");
    sync_normalize_doc(t, "asset", d);
    assert_string_equal(json_string_value(json_object_get(d, "site")), "plant-1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "location"), "site")),
                        "plant-1");
    assert_string_equal(json_string_value(json_object_get(d, "type")), "fixture");
    assert_string_equal(json_string_value(json_object_get(d, "meter_type")), "cycles");
    /* the day ends at local midnight in Oslo (summer time) */
    assert_string_equal(json_string_value(json_object_get(d, "next_due_at")),
                        "2026-07-01T22:00:00Z");
    assert_string_equal(json_string_value(json_object_get(d, "done_at")), "2026-07-01");
    json_decref(d);
    /* the site's own map first; unknown values and full times stay; UTC without a zone */
    d = json_pack("{s:s, s:s, s:s, s:s}", "site", "2000", "type", "ICT", "due_at", "2026-07-01",
                  "sla_due_at", "2026-07-01T10:00:00Z");
    sync_normalize_doc(t, "asset", d);
    assert_string_equal(json_string_value(json_object_get(d, "site")), "plant-2");
    assert_string_equal(json_string_value(json_object_get(d, "type")), "station");
    assert_string_equal(json_string_value(json_object_get(d, "due_at")), "2026-07-02T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(d, "sla_due_at")),
                        "2026-07-01T10:00:00Z");
    json_decref(d);
    d = json_pack("{s:s, s:s, s:s}", "site", "9999", "type", "PUMP", "due_at", "2026-02-30");
    sync_normalize_doc(t, "maintenance_plan", d);
    assert_string_equal(json_string_value(json_object_get(d, "site")), "9999");
    assert_string_equal(json_string_value(json_object_get(d, "type")), "PUMP");
    json_decref(d);
    /* an asset type no map names: the asset is "other", the value kept */
    d = json_pack("{s:s, s:s, s:s}", "site", "9999", "type", "PUMP", "due_at", "2026-02-30");
    sync_normalize_doc(t, "asset", d);
    assert_string_equal(json_string_value(json_object_get(d, "type")), "other");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(d, "attributes"), "source_type")),
        "PUMP");
    assert_string_equal(json_string_value(json_object_get(d, "due_at")), "2026-02-30");
    json_decref(d);
}

static void test_mismatch_and_unsupported_fanout(void **state)
{
    struct fx *f = *state;
    start(f);
    /* taken by the provider, but with another effect: done + a mapping exception */
    mock.mismatch = "WATS computed the next calibration for 2026-12-01, the hub has 2026-11-15";
    struct add_job j = {"mock", "open_request", "mm1", "{\"asset_native_id\":\"N7\"}",
                        NULL,   "work_order",   0};
    add_full(f, &j);
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(mock.pushes, 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'mm1'"
                          " AND state = 'done'"),
                     1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM mapping_exceptions WHERE provider = 'mock'"
                          " AND reason = 'due_date_mismatch'"),
                     1);
    mock.mismatch = NULL;
    /* a fanned-out calibration for a connector that does not take it: done, no call */
    struct add_job c = {"mock", "record_calibration", "cal1", "{}", NULL, "calibration", 0};
    add_full(f, &c);
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    assert_int_equal(mock.pushes, 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'cal1'"
                          " AND state = 'done' AND last_error LIKE 'not delivered: %'"),
                     1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'dead'"), 0);
}

/* A slow batch commits what it has decided before a quarter of its lease
 * has passed, instead of holding every outcome until its end. */
static void test_slow_batch_commits_early(void **state)
{
    struct fx *f = *state;
    f->o.lease_ms = 40; /* a quarter: 10 ms */
    f->o.batch = 3;
    start(f);
    add_item(f, "mock", "s1");
    add_item(f, "mock", "s2");
    add_item(f, "mock", "s3");
    mock.push_sleep_ms = 15;
    struct store_stats before, after;
    store_stats(f->db.s, &before);
    size_t n = 0;
    assert_int_equal(sync_engine_drain(f->e, "t1", "mock", &n), AB_OK);
    store_stats(f->db.s, &after);
    assert_int_equal(n, 3);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done'"), 3);
    /* the claim, then the outcomes in more than one commit */
    assert_true(after.commits - before.commits >= 3);
}

static void test_modes(void **state)
{
    (void)state;
    assert_true(sync_mode_allows(MODE_WRITE_BACK, "update_work_order"));
    assert_true(sync_mode_allows(MODE_DRAFT, "open_request"));
    assert_false(sync_mode_allows(MODE_DRAFT, "update_work_order"));
    assert_false(sync_mode_allows(MODE_READ_ONLY, "open_request"));
    assert_int_equal(sync_item_domain("reading", "push_reading"), DOMAIN_USAGE);
    assert_int_equal(sync_item_domain("calibration", "record_calibration"), DOMAIN_CALIBRATION);
    assert_int_equal(sync_item_domain("maintenance_plan", "upsert"), DOMAIN_MAINTENANCE);
    assert_int_equal(sync_item_domain("asset", "upsert"), DOMAIN_ASSET_MASTER);
    assert_true(sync_documented_rate("wats") > 8.33 && sync_documented_rate("wats") < 8.34);
    assert_true(sync_documented_rate("ultimo") == 10.0);
    assert_true(sync_documented_rate("sap_pm") == SYNC_UNDOCUMENTED_RATE);
    assert_true(sync_documented_rate(NULL) == SYNC_UNDOCUMENTED_RATE);
}

static void test_threads_deliver(void **state)
{
    struct fx *f = *state;
    f->o.manual = false;
    f->o.poll_ms = 10;
    add_item(f, "mock", "k1");
    start(f);
    for (int i = 0; i < 500 && q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done'") != 1; i++)
        usleep(10000);
    sync_engine_stop(f->e);
    f->e = NULL;
    assert_int_equal(mock.pushes, 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM outbox WHERE state = 'done'"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pull_checkpoints_and_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_ok_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retryable_then_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permanent_dead_letter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_resolves_before_resend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_stops_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_pushes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system_of_record_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_ack_on_completion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_severity_orders_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_lease_resolves_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_doc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mismatch_and_unsupported_fanout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_batch_commits_early, setup, teardown),
        cmocka_unit_test(test_modes),
        cmocka_unit_test_setup_teardown(test_threads_deliver, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
