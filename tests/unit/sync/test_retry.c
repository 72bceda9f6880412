/* SPDX-License-Identifier: Apache-2.0
 *
 * test_retry.c: unit tests for src/sync/retry.c: full-jitter bounds (with a
 * pinned random source and with the real one), the cap, overflow safety,
 * Retry-After in delta-seconds and all three HTTP-date forms (RFC 9110),
 * refusals, the ceiling, and the retry-or-dead-letter decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sync/retry.h"

#define SEC INT64_C(1000)
/* Sun, 06 Nov 1994 08:49:37 GMT */
#define T1994 (INT64_C(784111777) * SEC)
/* 2026-11-21T12:00:00Z */
#define T2026 (INT64_C(1795262400) * SEC)

static uint64_t fixed_rand(void *arg)
{
    return *(uint64_t *)arg;
}

static struct retry_policy policy(void)
{
    struct retry_policy p;
    retry_policy_default(&p);
    p.base_ms = 100;
    p.cap_ms = 10 * SEC;
    return p;
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    struct retry_policy p = policy();
    uint64_t r = 0;
    assert_int_equal(retry_backoff_ms(&p, 1, fixed_rand, &r), 0);
    /* r = ceil gives exactly ceil: the interval is [0, ceil] inclusive */
    r = 100;
    assert_int_equal(retry_backoff_ms(&p, 1, fixed_rand, &r), 100);
    r = 101; /* wraps: 101 % 101 */
    assert_int_equal(retry_backoff_ms(&p, 1, fixed_rand, &r), 0);
    r = 800;
    assert_int_equal(retry_backoff_ms(&p, 4, fixed_rand, &r), 800); /* 100 * 2^3 */
    r = UINT64_MAX;
    for (int attempt = 1; attempt < 2000; attempt += 7) {
        int64_t d = retry_backoff_ms(&p, attempt, fixed_rand, &r);
        assert_true(d >= 0 && d <= 10 * SEC);
    }
    /* the real source: within bounds, and not constant */
    int64_t min = INT64_MAX, max = -1;
    for (int i = 0; i < 5000; i++) {
        int64_t d = retry_backoff_ms(&p, 3, NULL, NULL);
        assert_true(d >= 0 && d <= 400);
        min = d < min ? d : min;
        max = d > max ? d : max;
    }
    assert_true(min < 100);
    assert_true(max > 300);
    /* attempt 0 or negative counts as 1; huge attempt is capped, no overflow */
    r = UINT64_MAX - 5;
    assert_true(retry_backoff_ms(&p, -3, fixed_rand, &r) <= 100);
    p.base_ms = INT64_MAX / 3;
    p.cap_ms = INT64_MAX - 1;
    assert_true(retry_backoff_ms(&p, 100, fixed_rand, &r) >= 0);
}

static void test_retry_after_seconds(void **state)
{
    (void)state;
    int64_t d = -1;
    assert_int_equal(retry_after_parse("120", T2026, 0, &d), AB_OK);
    assert_int_equal(d, 120 * SEC);
    assert_int_equal(retry_after_parse(" 0\t", T2026, 0, &d), AB_OK);
    assert_int_equal(d, 0);
    /* ceiling */
    assert_int_equal(retry_after_parse("7200", T2026, 3600 * SEC, &d), AB_OK);
    assert_int_equal(d, 3600 * SEC);
    assert_int_equal(retry_after_parse("99999999999999999999999999", T2026, 60 * SEC, &d), AB_OK);
    assert_int_equal(d, 60 * SEC);
    assert_int_equal(retry_after_parse("99999999999999999999999999", T2026, 0, &d), AB_OK);
    assert_true(d > 0);
    const char *bad[] = {"", "  ", "-5", "5s", "1.5", "+3", "12 34", "0x10", "soon"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(retry_after_parse(bad[i], T2026, 0, &d), AB_EINVAL);
    assert_int_equal(retry_after_parse(NULL, T2026, 0, &d), AB_EINVAL);
}

static void test_http_date_forms(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(retry_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", T2026, &t), AB_OK);
    assert_int_equal(t, T1994);
    t = 0;
    assert_int_equal(retry_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", T2026, &t), AB_OK);
    assert_int_equal(t, T1994);
    t = 0;
    assert_int_equal(retry_http_date_parse("Sun Nov  6 08:49:37 1994", T2026, &t), AB_OK);
    assert_int_equal(t, T1994);
    t = 0;
    assert_int_equal(retry_http_date_parse("Sun Nov 16 08:49:37 1994", T2026, &t), AB_OK);
    assert_int_equal(t, T1994 + 10 * 86400 * SEC);
    /* rfc850 two-digit years: "30" read in 2026 is 2030, "94" is 1994, "77"
     * (2077, more than 50 years ahead) is 1977 */
    assert_int_equal(retry_http_date_parse("Tuesday, 01-Jan-30 00:00:00 GMT", T2026, &t), AB_OK);
    assert_int_equal(t, INT64_C(1893456000) * SEC);
    assert_int_equal(retry_http_date_parse("Saturday, 01-Jan-77 00:00:00 GMT", T2026, &t), AB_OK);
    assert_int_equal(t, INT64_C(220924800) * SEC);
    /* leap day */
    assert_int_equal(retry_http_date_parse("Thu, 29 Feb 2024 00:00:00 GMT", T2026, &t), AB_OK);
    const char *bad[] = {
        "Sun, 30 Feb 1994 08:49:37 GMT", /* impossible date */
        "Sun, 29 Feb 2023 08:49:37 GMT", /* not a leap year */
        "Sun, 06 Nov 1994 08:49:37 UTC", /* only GMT */
        "Sun, 06 Nov 1994 24:00:00 GMT", /* hour */
        "Sun, 6 Nov 1994 08:49:37 GMT",  /* two-digit day in IMF-fixdate */
        "Sun, 06 nov 1994 08:49:37 GMT", /* case-sensitive month */
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT x", /* trailing junk */
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", /* asctime pads the day with a space */
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "2026-11-21T12:00:00Z",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (retry_http_date_parse(bad[i], T2026, &t) != AB_EINVAL)
            fail_msg("accepted: %s", bad[i]);
    }
}

static void test_retry_after_dates(void **state)
{
    (void)state;
    int64_t d = -1;
    /* 30 s ahead */
    assert_int_equal(retry_after_parse("Sat, 21 Nov 2026 12:00:30 GMT", T2026, 0, &d), AB_OK);
    assert_int_equal(d, 30 * SEC);
    /* in the past: now */
    assert_int_equal(retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", T2026, 0, &d), AB_OK);
    assert_int_equal(d, 0);
    /* far ahead: the ceiling */
    assert_int_equal(retry_after_parse("Fri, 01 Jan 2100 00:00:00 GMT", T2026, 3600 * SEC, &d),
                     AB_OK);
    assert_int_equal(d, 3600 * SEC);
}

static void test_decide(void **state)
{
    (void)state;
    struct retry_policy p = policy();
    p.max_attempts = 5;
    p.max_age_ms = 3600 * SEC;
    p.retry_after_ceiling_ms = 600 * SEC;
    struct retry_decision dec;
    uint64_t r = 50;
    int64_t now = T2026, created = T2026 - 60 * SEC;

    retry_decide(&p, false, 1, created, now, -1, fixed_rand, &r, &dec);
    assert_int_equal(dec.action, RETRY_DEAD);
    assert_string_equal(dec.reason, "permanent");

    retry_decide(&p, true, 1, created, now, -1, fixed_rand, &r, &dec);
    assert_int_equal(dec.action, RETRY_AT);
    assert_int_equal(dec.at, now + 50);

    /* Retry-After wins over a shorter backoff */
    retry_decide(&p, true, 1, created, now, 30 * SEC, fixed_rand, &r, &dec);
    assert_int_equal(dec.action, RETRY_AT);
    assert_int_equal(dec.at, now + 30 * SEC);
    /* and is clamped to its ceiling */
    retry_decide(&p, true, 1, created, now, 900 * SEC, fixed_rand, &r, &dec);
    assert_int_equal(dec.at, now + 600 * SEC);

    retry_decide(&p, true, 5, created, now, -1, fixed_rand, &r, &dec);
    assert_int_equal(dec.action, RETRY_DEAD);
    assert_string_equal(dec.reason, "max_attempts");

    /* the next attempt would fall past max_age */
    retry_decide(&p, true, 2, now - 3599 * SEC, now, 10 * SEC, fixed_rand, &r, &dec);
    assert_int_equal(dec.action, RETRY_DEAD);
    assert_string_equal(dec.reason, "max_age");

    /* unlimited */
    p.max_attempts = 0;
    p.max_age_ms = 0;
    retry_decide(&p, true, 1000, INT64_MIN / 2, now, -1, fixed_rand, &r, &dec);
    assert_int_equal(dec.action, RETRY_AT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_bounds),  cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_http_date_forms), cmocka_unit_test(test_retry_after_dates),
        cmocka_unit_test(test_decide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
