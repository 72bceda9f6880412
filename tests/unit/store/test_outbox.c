/* SPDX-License-Identifier: Apache-2.0
 *
 * test_outbox.c: unit tests for src/store/outbox.c against a real SQLite
 * store under a frozen fake clock: claims ordered by priority then id, only
 * ready items, leases that expire and are reclaimed, fenced completions (a
 * stale lease is refused), reschedule / dead-letter / replay / release
 * transitions with audit records, scrubbed responses, usage coalescing at
 * claim time, usage acknowledgement totals, and a process that dies between
 * claim and completion (the item is claimed again after its lease).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "store/journal.h"
#include "store/outbox.h"
#include "store_test.h"

#define T0 INT64_C(1800000000000)
#define LEASE INT64_C(30000)

struct add {
    const char *provider, *key, *coalesce, *entity;
    int priority;
    enum store_outbox_state state;
    const char *subject; /* NULL: "asset/<key>" */
};

static enum ab_rc add_job(struct store_tx *tx, void *arg)
{
    const struct add *ad = arg;
    struct store_outbox_item it = {0};
    it.tenant = "t1";
    it.provider = ad->provider ? ad->provider : "sap";
    it.entity = ad->entity ? ad->entity : "reading";
    it.action = "push_reading";
    /* one subject per item unless a test shares one (claims keep a subject's
     * items in order) */
    char subject[64];
    snprintf(subject, sizeof(subject), "asset/%s", ad->subject ? ad->subject : ad->key);
    it.subject = subject;
    it.payload = "{\"total\":1}";
    it.idempotency_key = ad->key;
    it.coalesce_key = ad->coalesce;
    it.priority = ad->priority;
    it.state = ad->state;
    return store_outbox_add(tx, &it, NULL);
}

static void add(struct test_db *t, const char *key, int priority)
{
    struct add ad = {NULL, key, NULL, NULL, priority, OUTBOX_PENDING, NULL};
    assert_int_equal(store_write(t->s, add_job, &ad, NULL), AB_OK);
}

static size_t claim(struct test_db *t, struct arena *a, size_t max, const char *provider,
                    struct store_outbox_claim *c)
{
    memset(c, 0, sizeof(*c));
    c->tenant = "t1";
    c->provider = provider ? provider : "sap";
    c->max = max;
    c->lease_ms = LEASE;
    c->a = a;
    assert_int_equal(store_outbox_claim(t->s, c), AB_OK);
    return c->n;
}

/* An outcome as a job of its own. */
struct outcome {
    int kind; /* 0 complete, 1 reschedule, 2 dead */
    int64_t id, lease, at;
    const char *cls, *err, *resp, *action;
};

static enum ab_rc outcome_job(struct store_tx *tx, void *arg)
{
    const struct outcome *o = arg;
    switch (o->kind) {
    case 0: return store_outbox_complete(tx, "t1", o->id, o->lease);
    case 1:
        return store_outbox_reschedule(tx, "t1", o->id, o->lease, o->at, o->cls, o->err, o->resp);
    default:
        return store_outbox_dead_letter(tx, "t1", o->id, o->lease, o->cls, o->err, o->resp,
                                        o->action);
    }
}

static enum ab_rc outcome(struct test_db *t, struct outcome o)
{
    return store_write(t->s, outcome_job, &o, NULL);
}

static const char *state_of(struct test_db *t, int64_t id)
{
    static char buf[32];
    struct store_read *r;
    struct arena *a = arena_new(0, 0);
    struct store_outbox_row row;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    enum ab_rc rc = store_outbox_get(r, "t1", id, a, &row);
    store_read_end(r);
    snprintf(buf, sizeof(buf), "%s", rc ? ab_rc_name(rc) : store_outbox_state_name(row.item.state));
    arena_free(a);
    return buf;
}

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
    if (t->s)
        test_db_close(t);
    free(t);
    clock_set_real();
    log_clear_secrets();
    return 0;
}

static void test_claim_order_by_priority(void **state)
{
    struct test_db *t = *state;
    add(t, "k1", 1);
    add(t, "k2", 0);
    add(t, "k3", 1);
    add(t, "k4", 0);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    assert_int_equal(claim(t, a, 3, NULL, &c), 3);
    assert_string_equal(c.items[0].idempotency_key, "k2");
    assert_string_equal(c.items[1].idempotency_key, "k4");
    assert_string_equal(c.items[2].idempotency_key, "k1");
    assert_int_equal(c.items[0].attempts, 1);
    assert_int_equal(c.items[0].state, OUTBOX_IN_FLIGHT);
    assert_int_equal(c.lease_until, T0 + LEASE);
    assert_int_equal(test_count(t,
                                "SELECT COUNT(*) FROM outbox WHERE state = 'in_flight'"
                                " AND lease_until = %lld AND attempts = 1",
                                (long long)(T0 + LEASE)),
                     3);
    /* the rest; another provider's items are not claimed */
    struct add other = {"wats", "w1", NULL, NULL, 0, OUTBOX_PENDING, NULL};
    assert_int_equal(store_write(t->s, add_job, &other, NULL), AB_OK);
    assert_int_equal(claim(t, a, 10, NULL, &c), 1);
    assert_string_equal(c.items[0].idempotency_key, "k3");
    assert_int_equal(claim(t, a, 10, NULL, &c), 0);
    assert_int_equal(claim(t, a, 10, "wats", &c), 1);
    /* bad arguments */
    struct store_outbox_claim bad = {"t1", "sap", 0, LEASE, a, NULL, 0, 0, 0};
    assert_int_equal(store_outbox_claim(t->s, &bad), AB_EINVAL);
    arena_free(a);
}

static void test_lease_expiry_and_fencing(void **state)
{
    struct test_db *t = *state;
    add(t, "k1", 0);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c1, c2;
    assert_int_equal(claim(t, a, 10, NULL, &c1), 1);
    assert_true(clock_advance_ms(LEASE - 1));
    assert_int_equal(claim(t, a, 10, NULL, &c2), 0); /* leased */
    assert_true(clock_advance_ms(1));
    assert_int_equal(claim(t, a, 10, NULL, &c2), 1); /* expired: reclaimed */
    assert_int_equal(c2.items[0].id, c1.items[0].id);
    assert_int_equal(c2.items[0].attempts, 2);
    assert_true(c2.lease_until > c1.lease_until);
    /* the first worker's late answer is refused; the second one's counts */
    struct outcome o = {0, c1.items[0].id, c1.lease_until, 0, NULL, NULL, NULL, NULL};
    assert_int_equal(outcome(t, o), AB_ECONFLICT);
    o.lease = c2.lease_until;
    assert_int_equal(outcome(t, o), AB_OK);
    assert_string_equal(state_of(t, c1.items[0].id), "done");
    assert_int_equal(outcome(t, o), AB_ECONFLICT); /* done already */
    o.id = 999;
    assert_int_equal(outcome(t, o), AB_ENOTFOUND);
    arena_free(a);
}

static void test_reschedule_dead_letter_replay(void **state)
{
    struct test_db *t = *state;
    log_add_secret("hunter2-secret");
    add(t, "k1", 0);
    add(t, "k2", 0);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    assert_int_equal(claim(t, a, 10, NULL, &c), 2);
    int64_t id1 = c.items[0].id, id2 = c.items[1].id;

    struct outcome o = {1,
                        id1,
                        c.lease_until,
                        T0 + 10000,
                        "unavailable",
                        "503 from provider",
                        "{\"error\":\"busy\"}",
                        NULL};
    assert_int_equal(outcome(t, o), AB_OK);
    o = (struct outcome){2,
                         id2,
                         c.lease_until,
                         0,
                         "validation",
                         "serial rejected",
                         "{\"token\":\"hunter2-secret\",\"msg\":\"bad serial\"}",
                         "fix the serial number of asset A1, then replay"};
    assert_int_equal(outcome(t, o), AB_OK);
    assert_string_equal(state_of(t, id1), "pending");
    assert_string_equal(state_of(t, id2), "dead");

    /* not ready before next_attempt_at */
    assert_int_equal(claim(t, a, 10, NULL, &c), 0);
    assert_true(clock_advance_ms(10000));
    assert_int_equal(claim(t, a, 10, NULL, &c), 1);
    assert_int_equal(c.items[0].id, id1);
    assert_int_equal(c.items[0].attempts, 2);
    assert_string_equal(c.items[0].last_error, "503 from provider");

    /* the dead letter keeps class, scrubbed response, owner action, time */
    struct store_read *r;
    struct store_outbox_row row, *rows;
    size_t n = 0;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    assert_int_equal(store_outbox_get(r, "t1", id2, a, &row), AB_OK);
    assert_int_equal(store_outbox_get(r, "other-tenant", id2, a, &row), AB_ENOTFOUND);
    assert_int_equal(store_outbox_get(r, "t1", id2, a, &row), AB_OK);
    assert_string_equal(row.error_class, "validation");
    assert_null(strstr(row.last_response, "hunter2"));
    assert_non_null(strstr(row.last_response, "[redacted]"));
    assert_non_null(strstr(row.last_response, "bad serial"));
    assert_string_equal(row.owner_action, "fix the serial number of asset A1, then replay");
    assert_int_equal(row.dead_at, T0);
    assert_int_equal(row.lease_until, INT64_MIN);
    struct store_outbox_filter f = {"t1", NULL, NULL, "validation", INT64_MIN, INT64_MAX};
    assert_int_equal(store_outbox_dead_list(r, &f, 0, 10, a, &rows, &n), AB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].item.id, id2);
    f.error_class = "auth";
    assert_int_equal(store_outbox_dead_list(r, &f, 0, 10, a, &rows, &n), AB_OK);
    assert_int_equal(n, 0);
    store_read_end(r);
    assert_int_equal(test_count(t, "SELECT COUNT(*) FROM outbox WHERE last_response LIKE "
                                   "'%%hunter2%%' OR last_error LIKE '%%hunter2%%'"),
                     0);
    arena_free(a);
}

struct replay {
    struct store_outbox_filter f;
    int release;
    int64_t n; /* OUT */
};

static enum ab_rc replay_job(struct store_tx *tx, void *arg)
{
    struct replay *rp = arg;
    return rp->release ? store_outbox_release(tx, &rp->f, "key:ops", &rp->n)
                       : store_outbox_replay(tx, &rp->f, "key:ops", &rp->n);
}

static void test_replay_by_filter(void **state)
{
    struct test_db *t = *state;
    add(t, "k1", 0);
    add(t, "k2", 0);
    add(t, "k3", 0);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    assert_int_equal(claim(t, a, 10, NULL, &c), 3);
    const char *cls[] = {"validation", "auth", "validation"};
    for (int i = 0; i < 3; i++) {
        if (i == 2)
            assert_true(clock_advance_ms(60000)); /* k3 dies a minute later */
        struct outcome o = {2, c.items[i].id, c.lease_until, 0, cls[i], "no", NULL, "replay"};
        assert_int_equal(outcome(t, o), AB_OK);
    }
    /* validation errors that died in the first minute: k1 only */
    struct replay rp = {{"t1", "sap", NULL, "validation", T0, T0 + 60000}, 0, 0};
    assert_int_equal(store_write(t->s, replay_job, &rp, "corr-replay"), AB_OK);
    assert_int_equal(rp.n, 1);
    assert_string_equal(state_of(t, c.items[0].id), "pending");
    assert_string_equal(state_of(t, c.items[1].id), "dead");
    assert_string_equal(state_of(t, c.items[2].id), "dead");
    assert_int_equal(
        test_count(t, "SELECT attempts FROM outbox WHERE id = %lld", (long long)c.items[0].id), 0);
    assert_int_equal(test_count(t, "SELECT COUNT(*) FROM audit WHERE action = 'outbox.replay'"
                                   " AND actor = 'key:ops' AND correlation_id = 'corr-replay'"
                                   " AND detail LIKE '%%\"count\":1%%'"),
                     1);
    /* another provider's filter takes nothing */
    rp = (struct replay){{"t1", "wats", NULL, NULL, INT64_MIN, INT64_MAX}, 0, 0};
    assert_int_equal(store_write(t->s, replay_job, &rp, NULL), AB_OK);
    assert_int_equal(rp.n, 0);
    /* everything else */
    rp = (struct replay){{"t1", NULL, NULL, NULL, INT64_MIN, INT64_MAX}, 0, 0};
    assert_int_equal(store_write(t->s, replay_job, &rp, NULL), AB_OK);
    assert_int_equal(rp.n, 2);
    assert_int_equal(claim(t, a, 10, NULL, &c), 3);
    assert_int_equal(c.items[0].attempts, 1);
    arena_free(a);
}

static void test_suppress_and_release(void **state)
{
    struct test_db *t = *state;
    struct add ad = {NULL, "s1", NULL, "work_order", 0, OUTBOX_SUPPRESSED, NULL};
    assert_int_equal(store_write(t->s, add_job, &ad, NULL), AB_OK);
    ad = (struct add){NULL, "s2", NULL, "reading", 0, OUTBOX_SUPPRESSED, NULL};
    assert_int_equal(store_write(t->s, add_job, &ad, NULL), AB_OK);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    assert_int_equal(claim(t, a, 10, NULL, &c), 0);
    struct replay rp = {{"t1", "sap", "work_order", NULL, INT64_MIN, INT64_MAX}, 1, 0};
    assert_int_equal(store_write(t->s, replay_job, &rp, NULL), AB_OK);
    assert_int_equal(rp.n, 1);
    assert_int_equal(claim(t, a, 10, NULL, &c), 1);
    assert_string_equal(c.items[0].idempotency_key, "s1");
    assert_int_equal(test_count(t, "SELECT COUNT(*) FROM outbox WHERE state = 'suppressed'"), 1);
    assert_int_equal(test_count(t, "SELECT COUNT(*) FROM audit WHERE action = 'outbox.release'"),
                     1);
    arena_free(a);
}

static void test_usage_coalescing(void **state)
{
    struct test_db *t = *state;
    const char *keys[] = {"u1", "u2", "u3"};
    for (int i = 0; i < 3; i++) {
        struct add ad = {NULL, keys[i], "meter:A1/cycles", NULL, 0, OUTBOX_PENDING, NULL};
        assert_int_equal(store_write(t->s, add_job, &ad, NULL), AB_OK);
    }
    struct add other = {NULL, "v1", "meter:A2/cycles", NULL, 0, OUTBOX_PENDING, NULL};
    assert_int_equal(store_write(t->s, add_job, &other, NULL), AB_OK);
    add(t, "plain", 0);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    assert_int_equal(claim(t, a, 10, NULL, &c), 3);
    assert_int_equal(c.coalesced, 2);
    assert_string_equal(c.items[0].idempotency_key, "u3"); /* the newest total */
    assert_string_equal(c.items[1].idempotency_key, "v1");
    assert_string_equal(c.items[2].idempotency_key, "plain");
    assert_int_equal(test_count(t, "SELECT COUNT(*) FROM outbox WHERE state = 'done'"
                                   " AND last_error = 'coalesced'"),
                     2);
    /* a newer usage item while u3 is in flight: waits; older ones merged */
    struct add u4 = {NULL, "u4", "meter:A1/cycles", NULL, 0, OUTBOX_PENDING, NULL};
    assert_int_equal(store_write(t->s, add_job, &u4, NULL), AB_OK);
    assert_int_equal(claim(t, a, 10, NULL, &c), 1);
    assert_string_equal(c.items[0].idempotency_key, "u4");
    assert_int_equal(c.coalesced, 0);
    arena_free(a);
}

struct ack {
    const char *meter;
    double total;
    int put;
    double got; /* OUT */
    bool found; /* OUT */
};

static enum ab_rc ack_job(struct store_tx *tx, void *arg)
{
    struct ack *k = arg;
    if (k->put)
        return store_usage_ack_put(tx, "t1", "sap", k->meter, k->total);
    return store_usage_ack_get(tx, "t1", "sap", k->meter, &k->got, NULL, &k->found);
}

/* Several workers of one provider: a subject's items go out in order. An
 * item waits while an earlier one of its subject is in flight elsewhere or
 * waits for a retry; other subjects are not held up. */
static void test_subject_order(void **state)
{
    struct test_db *t = *state;
    struct add ad = {NULL, "create", NULL, NULL, 0, OUTBOX_PENDING, "WO-1"};
    assert_int_equal(store_write(t->s, add_job, &ad, NULL), AB_OK);
    ad.key = "update";
    assert_int_equal(store_write(t->s, add_job, &ad, NULL), AB_OK);
    add(t, "other", 0);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c1, c2;
    /* one claim takes a subject's ready items in order */
    assert_int_equal(claim(t, a, 1, NULL, &c1), 1);
    assert_string_equal(c1.items[0].idempotency_key, "create");
    /* a second worker: "update" waits for "create"; "other" goes */
    assert_int_equal(claim(t, a, 10, NULL, &c2), 1);
    assert_string_equal(c2.items[0].idempotency_key, "other");
    struct outcome done = {0, c2.items[0].id, c2.lease_until, 0, NULL, NULL, NULL, NULL};
    assert_int_equal(store_write(t->s, outcome_job, &done, NULL), AB_OK);
    /* "create" fails and waits for a retry: "update" still waits */
    struct outcome o = {1, c1.items[0].id, c1.lease_until, T0 + 60000, "server", "503", NULL, NULL};
    assert_int_equal(store_write(t->s, outcome_job, &o, NULL), AB_OK);
    assert_int_equal(claim(t, a, 10, NULL, &c2), 0);
    /* once it is ready again, both come in order in one claim */
    clock_advance_ms(60000);
    assert_int_equal(claim(t, a, 10, NULL, &c2), 2);
    assert_string_equal(c2.items[0].idempotency_key, "create");
    assert_string_equal(c2.items[1].idempotency_key, "update");
    arena_free(a);
}

static void test_usage_acks(void **state)
{
    struct test_db *t = *state;
    struct ack k = {"A1/cycles", 0, 0, -1, true};
    assert_int_equal(store_write(t->s, ack_job, &k, NULL), AB_OK);
    assert_false(k.found);
    assert_true(k.got == 0);
    k = (struct ack){"A1/cycles", 1500.5, 1, 0, false};
    assert_int_equal(store_write(t->s, ack_job, &k, NULL), AB_OK);
    k = (struct ack){"A1/cycles", 2000, 1, 0, false};
    assert_true(clock_advance_ms(5));
    assert_int_equal(store_write(t->s, ack_job, &k, NULL), AB_OK);
    k = (struct ack){"A1/cycles", 0, 0, 0, false};
    assert_int_equal(store_write(t->s, ack_job, &k, NULL), AB_OK);
    assert_true(k.found);
    assert_true(k.got == 2000);
    struct store_read *r;
    double total = 0;
    int64_t at = 0;
    bool found = false;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    assert_int_equal(store_usage_ack_get_read(r, "t1", "sap", "A1/cycles", &total, &at, &found),
                     AB_OK);
    assert_true(found && total == 2000 && at == T0 + 5);
    assert_int_equal(store_usage_ack_get_read(r, "t1", "wats", "A1/cycles", &total, &at, &found),
                     AB_OK);
    assert_false(found);
    store_read_end(r);
    assert_int_equal(test_count(t, "SELECT COUNT(*) FROM usage_acks"), 1);
}

static void test_crash_between_claim_and_completion(void **state)
{
    struct test_db *t = *state;
    add(t, "k1", 0);
    store_close(t->s);
    t->s = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* a worker process: claims, then dies before completing */
        struct store *s;
        char err[256];
        struct arena *a = arena_new(0, 0);
        if (store_open(&t->cfg, &s, err, sizeof(err)) != AB_OK)
            _exit(2);
        struct store_outbox_claim c = {"t1", "sap", 10, LEASE, a, NULL, 0, 0, 0};
        if (store_outbox_claim(s, &c) != AB_OK || c.n != 1)
            _exit(3);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char err[256];
    assert_int_equal(store_open(&t->cfg, &t->s, err, sizeof(err)), AB_OK);
    assert_int_equal(test_count(t, "SELECT COUNT(*) FROM outbox WHERE state = 'in_flight'"), 1);
    struct arena *a = arena_new(0, 0);
    struct store_outbox_claim c;
    assert_int_equal(claim(t, a, 10, NULL, &c), 0); /* the dead worker's lease holds */
    assert_true(clock_advance_ms(LEASE));
    assert_int_equal(claim(t, a, 10, NULL, &c), 1);
    assert_string_equal(c.items[0].idempotency_key, "k1");
    assert_int_equal(c.items[0].attempts, 2);
    struct outcome o = {0, c.items[0].id, c.lease_until, 0, NULL, NULL, NULL, NULL};
    assert_int_equal(outcome(t, o), AB_OK);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_order_by_priority, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_expiry_and_fencing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reschedule_dead_letter_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_by_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suppress_and_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_coalescing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subject_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_between_claim_and_completion, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
