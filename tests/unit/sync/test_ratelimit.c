/* SPDX-License-Identifier: Apache-2.0
 *
 * test_ratelimit.c: unit tests for src/sync/ratelimit.c under a frozen fake
 * clock: the burst, refill at the rate, the wait hint, a throttling answer
 * with Retry-After pausing the bucket and halving the rate (with a floor),
 * additive recovery on success up to the configured rate, and the options
 * taken from the configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/clock.h"
#include "sync/ratelimit.h"

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

static void test_burst_and_refill(void **state)
{
    (void)state;
    struct ratelimit_opts o = {.rate = 10, .burst = 5};
    struct ratelimit *rl = ratelimit_new(&o);
    int64_t wait = -1;
    for (int i = 0; i < 5; i++)
        assert_true(ratelimit_acquire(rl, &wait));
    assert_int_equal(wait, 0);
    assert_false(ratelimit_acquire(rl, &wait));
    assert_int_equal(wait, 100); /* one token per 100 ms */
    assert_true(clock_advance_ms(99));
    assert_false(ratelimit_acquire(rl, &wait));
    assert_int_equal(wait, 1);
    assert_true(clock_advance_ms(1));
    assert_true(ratelimit_acquire(rl, NULL));
    /* an idle hour refills only to the burst */
    assert_true(clock_advance_ms(3600000));
    int n = 0;
    while (ratelimit_acquire(rl, NULL))
        n++;
    assert_int_equal(n, 5);
    ratelimit_free(rl);
}

static void test_throttle_pauses_and_halves(void **state)
{
    (void)state;
    struct ratelimit_opts o = {.rate = 8, .burst = 8, .min_rate = 1, .increase = 1};
    struct ratelimit *rl = ratelimit_new(&o);
    assert_true(ratelimit_acquire(rl, NULL));
    ratelimit_throttled(rl, 2000);
    struct ratelimit_status st;
    ratelimit_status(rl, &st);
    assert_true(st.rate == 4.0);
    assert_true(st.configured == 8.0);
    assert_int_equal(st.paused_until, T0 + 2000);
    assert_int_equal(st.throttled, 1);
    int64_t wait = 0;
    assert_false(ratelimit_acquire(rl, &wait));
    assert_int_equal(wait, 2000 + 250); /* the pause, then one token at 4/s */
    assert_true(clock_advance_ms(1999));
    assert_false(ratelimit_acquire(rl, NULL)); /* nothing earned while paused */
    assert_true(clock_advance_ms(1 + 250));
    assert_true(ratelimit_acquire(rl, NULL));
    assert_false(ratelimit_acquire(rl, NULL));

    /* repeated throttling: halves down to the floor, not below */
    for (int i = 0; i < 10; i++)
        ratelimit_throttled(rl, -1);
    ratelimit_status(rl, &st);
    assert_true(st.rate == 1.0);
    assert_int_equal(st.paused_until, INT64_MIN); /* no Retry-After: no pause */

    /* additive increase back to the configured rate, never past it */
    for (int i = 0; i < 3; i++)
        ratelimit_success(rl);
    ratelimit_status(rl, &st);
    assert_true(st.rate == 4.0);
    for (int i = 0; i < 20; i++)
        ratelimit_success(rl);
    ratelimit_status(rl, &st);
    assert_true(st.rate == 8.0);
    ratelimit_free(rl);
}

static void test_longer_pause_wins(void **state)
{
    (void)state;
    struct ratelimit_opts o = {.rate = 100};
    struct ratelimit *rl = ratelimit_new(&o);
    ratelimit_throttled(rl, 5000);
    ratelimit_throttled(rl, 1000); /* a shorter one does not shorten the pause */
    struct ratelimit_status st;
    ratelimit_status(rl, &st);
    assert_int_equal(st.paused_until, T0 + 5000);
    assert_true(st.rate == 25.0);
    ratelimit_free(rl);
}

static void test_opts_from_config(void **state)
{
    (void)state;
    struct config_rate_limit cfg = {0, 0};
    struct ratelimit_opts o;
    ratelimit_opts_from_config(&cfg, 3, &o);
    assert_true(o.rate == 3.0);
    cfg.requests_per_second = 20;
    cfg.burst = 40;
    ratelimit_opts_from_config(&cfg, 3, &o);
    assert_true(o.rate == 20.0);
    assert_true(o.burst == 40.0);
    ratelimit_opts_from_config(NULL, 0, &o);
    assert_true(o.rate > 0);
    /* burst derived from the rate */
    struct ratelimit *rl = ratelimit_new(&(struct ratelimit_opts){.rate = 2});
    assert_true(ratelimit_acquire(rl, NULL));
    assert_true(ratelimit_acquire(rl, NULL));
    assert_false(ratelimit_acquire(rl, NULL));
    ratelimit_free(rl);
    ratelimit_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_and_refill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_pauses_and_halves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longer_pause_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opts_from_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
