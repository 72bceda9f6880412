/* SPDX-License-Identifier: Apache-2.0
 *
 * test_breaker.c: unit tests for src/sync/breaker.c under a frozen fake
 * clock: opening after N consecutive failures, the cool-down, exactly one
 * probe when half-open, closing on the probe's success, re-opening on its
 * failure, successes resetting the count, and thread-safety of the probe
 * (many threads ask at once, one gets it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "sync/breaker.h"

#define T0 INT64_C(1800000000000)

static int setup(void **state)
{
    (void)state;
    clock_set_fake(T0, true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clock_set_real();
    return 0;
}

static void test_open_after_threshold(void **state)
{
    (void)state;
    struct breaker_opts o = {3, 10000};
    struct breaker *b = breaker_new(&o);
    struct breaker_status st;
    assert_true(breaker_allow(b, NULL));
    breaker_failure(b);
    breaker_failure(b);
    breaker_success(b); /* resets the run */
    breaker_failure(b);
    breaker_failure(b);
    breaker_status(b, &st);
    assert_int_equal(st.state, BREAKER_CLOSED);
    assert_int_equal(st.consecutive_failures, 2);
    assert_true(breaker_allow(b, NULL));
    breaker_failure(b);
    breaker_status(b, &st);
    assert_int_equal(st.state, BREAKER_OPEN);
    assert_string_equal(breaker_state_name(st.state), "open");
    assert_int_equal(st.opened_at, T0);
    assert_int_equal(st.retry_at, T0 + 10000);
    assert_int_equal(st.trips, 1);

    int64_t retry_at = 0;
    assert_false(breaker_allow(b, &retry_at));
    assert_int_equal(retry_at, T0 + 10000);
    assert_true(clock_advance_ms(9999));
    assert_false(breaker_allow(b, NULL));
    breaker_free(b);
}

static void test_half_open_probe_success(void **state)
{
    (void)state;
    struct breaker_opts o = {1, 5000};
    struct breaker *b = breaker_new(&o);
    breaker_failure(b);
    assert_true(clock_advance_ms(5000));
    assert_true(breaker_allow(b, NULL)); /* the probe */
    struct breaker_status st;
    breaker_status(b, &st);
    assert_int_equal(st.state, BREAKER_HALF_OPEN);
    assert_string_equal(breaker_state_name(st.state), "half_open");
    int64_t retry_at = 0;
    assert_false(breaker_allow(b, &retry_at)); /* one probe only */
    assert_true(retry_at > T0 + 5000);
    breaker_success(b);
    breaker_status(b, &st);
    assert_int_equal(st.state, BREAKER_CLOSED);
    assert_int_equal(st.consecutive_failures, 0);
    assert_string_equal(breaker_state_name(st.state), "closed");
    assert_true(breaker_allow(b, NULL));
    assert_true(breaker_allow(b, NULL));
    breaker_free(b);
}

static void test_half_open_probe_failure(void **state)
{
    (void)state;
    struct breaker_opts o = {2, 5000};
    struct breaker *b = breaker_new(&o);
    breaker_failure(b);
    breaker_failure(b);
    assert_true(clock_advance_ms(6000));
    assert_true(breaker_allow(b, NULL));
    breaker_failure(b); /* the probe failed: open again, a new cool-down */
    struct breaker_status st;
    breaker_status(b, &st);
    assert_int_equal(st.state, BREAKER_OPEN);
    assert_int_equal(st.opened_at, T0 + 6000);
    assert_int_equal(st.trips, 2);
    assert_false(breaker_allow(b, NULL));
    assert_true(clock_advance_ms(4999));
    assert_false(breaker_allow(b, NULL));
    assert_true(clock_advance_ms(1));
    assert_true(breaker_allow(b, NULL));
    breaker_free(b);
}

static void test_defaults_and_names(void **state)
{
    (void)state;
    struct breaker *b = breaker_new(NULL);
    for (int i = 0; i < 4; i++)
        breaker_failure(b);
    assert_true(breaker_allow(b, NULL));
    breaker_failure(b); /* the 5th */
    assert_false(breaker_allow(b, NULL));
    assert_true(clock_advance_ms(30000));
    assert_true(breaker_allow(b, NULL));
    assert_string_equal(breaker_state_name((enum breaker_state)7), "invalid");
    breaker_free(b);
    breaker_free(NULL);
}

struct race {
    struct breaker *b;
    atomic_int allowed;
};

static void *racer(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < 100; i++)
        if (breaker_allow(r->b, NULL))
            atomic_fetch_add(&r->allowed, 1);
    return NULL;
}

static void test_one_probe_under_contention(void **state)
{
    (void)state;
    struct breaker_opts o = {1, 1000};
    struct race r = {breaker_new(&o), 0};
    breaker_failure(r.b);
    assert_true(clock_advance_ms(1000));
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, racer, &r), 0);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&r.allowed), 1);
    breaker_free(r.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_after_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_open_probe_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_open_probe_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_and_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_probe_under_contention, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
