/* SPDX-License-Identifier: Apache-2.0
 *
 * test_webhook_outbox.c: unit tests for the fan-out of events to webhook
 * subscriptions (src/store/apikeys.c through store_event_append) against a
 * real SQLite store: one outbox item per matching subscription in the job
 * that appends the event, with the event as GET /v1/events shows it, the
 * correlation id and a stable idempotency key; nothing for tenants without
 * subscriptions or for types no subscription wants; the writer's cache of
 * "has subscriptions" follows adds, deletes and rolled-back changes; an
 * event rolled back queues nothing; the secret lookup and the list of
 * tenants with waiting deliveries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/apikeys.h"
#include "store/events.h"
#include "store/journal.h"
#include "store_test.h"

#define T0 INT64_C(1800000000000)

static int setup(void **state)
{
    clock_set_fake(T0, true);
    struct test_db *t = calloc(1, sizeof(*t));
    test_db_open(t);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct test_db *t = *state;
    test_db_close(t);
    free(t);
    clock_set_real();
    return 0;
}

/* A job: optionally add or delete a subscription, append events, and fail
 * at the end when asked (the job rolls back). */
struct job {
    const char *tenant;
    const char *add_id, *add_types; /* subscription to add */
    const char *del_id;             /* subscription to delete */
    const char *types[4];           /* events to append */
    bool fail;
};

static enum ab_rc job_fn(struct store_tx *tx, void *arg)
{
    const struct job *j = arg;
    const char *tenant = j->tenant ? j->tenant : "t1";
    enum ab_rc rc = AB_OK;
    if (j->add_id) {
        struct store_webhook w = {.id = j->add_id,
                                  .tenant = tenant,
                                  .url = "http://127.0.0.1:9/hook",
                                  .event_types = j->add_types,
                                  .secret = "s3cret"};
        rc = store_webhook_add(tx, &w, "tester");
    }
    if (!rc && j->del_id)
        rc = store_webhook_delete(tx, tenant, j->del_id, "tester");
    for (size_t i = 0; !rc && i < 4 && j->types[i]; i++) {
        json_t *pl = json_pack("{s:s, s:i}", "asset_ref", "A1", "n", (int)i);
        rc = store_event_append(tx, tenant, j->types[i], "asset/A1", pl, NULL);
        json_decref(pl);
    }
    return rc ? rc : j->fail ? AB_ECONFLICT : AB_OK;
}

static enum ab_rc run(struct test_db *t, struct job j, const char *corr)
{
    return store_write(t->s, job_fn, &j, corr);
}

static int64_t items(struct test_db *t, const char *where)
{
    return test_count(t, "SELECT COUNT(*) FROM outbox WHERE provider = '@webhook' AND %s", where);
}

static void test_fanout_by_event_type(void **state)
{
    struct test_db *t = *state;
    /* no subscriptions: nothing */
    assert_int_equal(run(t, (struct job){.types = {"asset.created"}}, "c0"), AB_OK);
    assert_int_equal(items(t, "1"), 0);
    assert_int_equal(run(t, (struct job){.add_id = "S1", .add_types = "[\"asset.created\"]"}, NULL),
                     AB_OK);
    assert_int_equal(run(t, (struct job){.add_id = "S2", .add_types = "[\"*\"]"}, NULL), AB_OK);
    assert_int_equal(
        run(t, (struct job){.add_id = "S3", .add_types = "[\"work_order.closed\"]"}, NULL), AB_OK);
    assert_int_equal(run(t, (struct job){.types = {"asset.created", "meter.reading"}}, "corr-7"),
                     AB_OK);
    /* asset.created: S1 and S2; meter.reading: S2 only; S3 nothing */
    assert_int_equal(items(t, "1"), 3);
    assert_int_equal(items(t, "subject = 'webhook/S1'"), 1);
    assert_int_equal(items(t, "subject = 'webhook/S2'"), 2);
    assert_int_equal(items(t, "subject = 'webhook/S3'"), 0);
    assert_int_equal(items(t, "entity = 'webhook' AND action = 'deliver_webhook'"
                              " AND state = 'pending' AND correlation_id = 'corr-7'"),
                     3);
    /* the first event was seq 1 (before any subscription); these are 2, 3 */
    assert_int_equal(items(t, "idempotency_key = 'webhook:S1:2'"), 1);
    assert_int_equal(items(t, "idempotency_key = 'webhook:S2:3'"), 1);

    struct store_read *r;
    struct arena *a = arena_new(0, 0);
    struct store_outbox_item *v;
    size_t n;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    assert_int_equal(store_outbox_list(r, "t1", OUTBOX_PENDING, 0, 10, a, &v, &n), AB_OK);
    store_read_end(r);
    assert_int_equal(n, 3);
    json_error_t jerr;
    json_t *pl = json_loads(v[0].payload, 0, &jerr);
    assert_non_null(pl);
    assert_string_equal(json_string_value(json_object_get(pl, "subscription")), "S1");
    json_t *ev = json_object_get(pl, "event");
    assert_int_equal(json_integer_value(json_object_get(ev, "seq")), 2);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "asset.created");
    assert_string_equal(json_string_value(json_object_get(ev, "subject")), "asset/A1");
    assert_string_equal(json_string_value(json_object_get(ev, "correlation_id")), "corr-7");
    assert_string_equal(json_string_value(json_object_get(ev, "occurred_at")),
                        "2027-01-15T08:00:00Z");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ev, "payload"), "asset_ref")), "A1");
    json_decref(pl);
    arena_free(a);

    /* another tenant's events reach nobody here */
    assert_int_equal(run(t, (struct job){.tenant = "t2", .types = {"asset.created"}}, NULL), AB_OK);
    assert_int_equal(items(t, "tenant = 't2'"), 0);
}

static void test_cache_follows_changes(void **state)
{
    struct test_db *t = *state;
    /* the tenant is cached as having none */
    assert_int_equal(run(t, (struct job){.types = {"asset.created"}}, NULL), AB_OK);
    /* a subscription added: the next event is delivered */
    assert_int_equal(run(t, (struct job){.add_id = "S1", .add_types = "[\"*\"]"}, NULL), AB_OK);
    assert_int_equal(run(t, (struct job){.types = {"asset.created"}}, NULL), AB_OK);
    assert_int_equal(items(t, "1"), 1);
    /* a delete that rolls back, with an event in the same job (which then
     * sees no subscription and caches that): the subscription is still
     * there afterwards and the next event must reach it */
    assert_int_equal(
        run(t, (struct job){.del_id = "S1", .types = {"asset.updated"}, .fail = true}, NULL),
        AB_ECONFLICT);
    assert_int_equal(run(t, (struct job){.types = {"asset.updated"}}, NULL), AB_OK);
    assert_int_equal(items(t, "1"), 2);
    /* an add that rolls back after an event: nothing of it stays */
    assert_int_equal(run(t,
                         (struct job){.tenant = "t2",
                                      .add_id = "S9",
                                      .add_types = "[\"*\"]",
                                      .types = {"asset.created"},
                                      .fail = true},
                         NULL),
                     AB_ECONFLICT);
    assert_int_equal(items(t, "tenant = 't2'"), 0);
    assert_int_equal(run(t, (struct job){.tenant = "t2", .types = {"asset.created"}}, NULL), AB_OK);
    assert_int_equal(items(t, "tenant = 't2'"), 0);
    /* deleted: no more deliveries */
    assert_int_equal(run(t, (struct job){.del_id = "S1"}, NULL), AB_OK);
    assert_int_equal(run(t, (struct job){.types = {"asset.created"}}, NULL), AB_OK);
    assert_int_equal(items(t, "1"), 2);
}

static void test_rolled_back_event_queues_nothing(void **state)
{
    struct test_db *t = *state;
    assert_int_equal(run(t, (struct job){.add_id = "S1", .add_types = "[\"*\"]"}, NULL), AB_OK);
    assert_int_equal(run(t, (struct job){.types = {"asset.created"}, .fail = true}, NULL),
                     AB_ECONFLICT);
    assert_int_equal(items(t, "1"), 0);
    assert_int_equal(test_count(t, "SELECT COUNT(*) FROM events"), 0);
}

static void test_secret_and_tenants(void **state)
{
    struct test_db *t = *state;
    assert_int_equal(run(t, (struct job){.add_id = "S1", .add_types = "[\"*\"]"}, NULL), AB_OK);
    assert_int_equal(
        run(t, (struct job){.tenant = "t2", .add_id = "S2", .add_types = "[\"*\"]"}, NULL), AB_OK);
    assert_int_equal(run(t, (struct job){.types = {"asset.created"}}, NULL), AB_OK);
    struct store_read *r;
    struct arena *a = arena_new(0, 0);
    struct store_webhook w;
    const char **tenants;
    size_t n;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    assert_int_equal(store_webhook_get_secret(r, "t1", "S1", a, &w), AB_OK);
    assert_string_equal(w.secret, "s3cret");
    assert_string_equal(w.url, "http://127.0.0.1:9/hook");
    assert_int_equal(store_webhook_get_secret(r, "t2", "S1", a, &w), AB_ENOTFOUND);
    /* only t1 has a delivery waiting */
    assert_int_equal(store_webhook_tenants(r, 10, a, &tenants, &n), AB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(tenants[0], "t1");
    store_read_end(r);
    arena_free(a);
    assert_true(store_webhook_wants("[\"asset.created\",\"meter.reading\"]", "meter.reading"));
    assert_false(store_webhook_wants("[\"asset.created\"]", "asset.created2"));
    assert_true(store_webhook_wants("[\"*\"]", "anything.at_all"));
    assert_false(store_webhook_wants("not json", "asset.created"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fanout_by_event_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_follows_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_event_queues_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_and_tenants, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
