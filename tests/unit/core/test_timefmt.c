/* SPDX-License-Identifier: Apache-2.0
 *
 * test_timefmt.c: unit tests for src/core/timefmt.c and src/core/clock.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/timefmt.h"

static int64_t parse(const char *s)
{
    int64_t ms = -12345;
    assert_int_equal(time_parse_rfc3339(s, &ms), AB_OK);
    return ms;
}

static void test_rfc3339_valid(void **state)
{
    (void)state;
    assert_int_equal(parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse("2026-11-21T11:07:59Z"), 1795259279000);
    assert_int_equal(parse("2026-11-21T11:07:59.5Z"), 1795259279500);
    assert_int_equal(parse("2026-11-21T11:07:59.123456789Z"), 1795259279123);
    assert_int_equal(parse("2026-11-21T12:07:59+01:00"), 1795259279000);
    assert_int_equal(parse("2026-11-21t06:37:59-04:30"), 1795259279000);
    assert_int_equal(parse("2024-02-29T00:00:00Z"), 1709164800000);
    assert_int_equal(parse("1969-12-31T23:59:59Z"), -1000);
}

static void test_rfc3339_invalid(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "2026-11-21",
                         "2026-11-21T11:07:59",
                         "2026-11-21T11:07:59+0100",
                         "2026-02-29T00:00:00Z",
                         "2026-13-01T00:00:00Z",
                         "2026-11-31T00:00:00Z",
                         "2026-11-21T24:00:00Z",
                         "2026-11-21T11:60:00Z",
                         "2026-11-21T11:07:60Z",
                         "2026-11-21T11:07:59.Z",
                         "2026-11-21T11:07:59Zjunk",
                         "0000-01-01T00:00:00Z",
                         "2026-11-21T11:07:59+24:00",
                         "20261121T110759Z",
                         "2026-1-21T11:07:59Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms;
        assert_int_equal(time_parse_rfc3339(bad[i], &ms), AB_EINVAL);
    }
}

static void test_format_roundtrip(void **state)
{
    (void)state;
    char out[TIME_RFC3339_MAX];
    time_format_rfc3339(1795259279000, out);
    assert_string_equal(out, "2026-11-21T11:07:59Z");
    time_format_rfc3339(1795259279007, out);
    assert_string_equal(out, "2026-11-21T11:07:59.007Z");
    time_format_rfc3339(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    for (int64_t t = -86400000LL * 800; t < 86400000LL * 40000; t += 86400000LL * 7 + 3601001) {
        time_format_rfc3339(t, out);
        assert_int_equal(parse(out), t);
    }
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(duration_parse_iso8601("P30D", &ms), AB_OK);
    assert_int_equal(ms, 30LL * 86400000);
    assert_int_equal(duration_parse_iso8601("PT1H30M", &ms), AB_OK);
    assert_int_equal(ms, 5400000);
    assert_int_equal(duration_parse_iso8601("P1DT12H", &ms), AB_OK);
    assert_int_equal(ms, 129600000);
    assert_int_equal(duration_parse_iso8601("P2W", &ms), AB_OK);
    assert_int_equal(ms, 14LL * 86400000);
    assert_int_equal(duration_parse_iso8601("PT0.5S", &ms), AB_OK);
    assert_int_equal(ms, 500);
    const char *bad[] = {"P",      "PT",   "P1Y",   "P1M", "P1H",   "PT1D", "P1D1D",
                         "PT1M1H", "P-1D", "P1.5D", "30D", "PT1.S", "P1DT"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(duration_parse_iso8601(bad[i], &ms), AB_EINVAL);

    assert_int_equal(duration_parse("500ms", &ms), AB_OK);
    assert_int_equal(ms, 500);
    assert_int_equal(duration_parse("5m", &ms), AB_OK);
    assert_int_equal(ms, 300000);
    assert_int_equal(duration_parse("7d", &ms), AB_OK);
    assert_int_equal(ms, 7LL * 86400000);
    assert_int_equal(duration_parse("PT10S", &ms), AB_OK);
    assert_int_equal(ms, 10000);
    assert_int_equal(duration_parse("5", &ms), AB_EINVAL);
    assert_int_equal(duration_parse("5 m", &ms), AB_EINVAL);
    assert_int_equal(duration_parse("m", &ms), AB_EINVAL);
    assert_int_equal(duration_parse("1.5h", &ms), AB_EINVAL);
}

static void test_fake_clock(void **state)
{
    (void)state;
    assert_false(clock_is_fake());
    assert_false(clock_advance_ms(1000)); /* real clocks cannot be moved */
    clock_set_fake(1000000, true);
    assert_true(clock_is_fake());
    assert_int_equal(clock_now_ms(), 1000000);
    assert_true(clock_advance_ms(30LL * 86400000));
    assert_int_equal(clock_now_ms(), 1000000 + 30LL * 86400000);
    assert_false(clock_advance_ms(-1));
    clock_set_fake(5000000, false); /* ticking: starts at 5000000 and moves on */
    int64_t t = clock_now_ms();
    assert_true(t >= 5000000 && t < 5000000 + 5000);
    clock_set_real();
    assert_false(clock_is_fake());
    assert_true(clock_now_ms() > 1700000000000);
}

static int64_t day_end(const char *zone, int y, int m, int d)
{
    int64_t ms = 0;
    assert_int_equal(time_local_day_end(zone, y, m, d, &ms), AB_OK);
    return ms;
}

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    assert_int_equal(time_parse_rfc3339(rfc3339, &ms), AB_OK);
    return ms;
}

static void test_local_day_end(void **state)
{
    (void)state;
    time_zone_init();
    /* summer and winter time in Oslo; a day of 23 hours (clocks forward) */
    assert_int_equal(day_end("Europe/Oslo", 2026, 7, 1), at("2026-07-01T22:00:00Z"));
    assert_int_equal(day_end("Europe/Oslo", 2026, 1, 15), at("2026-01-15T23:00:00Z"));
    assert_int_equal(day_end("Europe/Oslo", 2026, 3, 29), at("2026-03-29T22:00:00Z"));
    assert_int_equal(day_end("Europe/Oslo", 2026, 3, 28), at("2026-03-28T23:00:00Z"));
    /* the day clocks go back in New York has 25 hours */
    assert_int_equal(day_end("America/New_York", 2026, 11, 1), at("2026-11-02T05:00:00Z"));
    assert_int_equal(day_end("UTC", 2028, 2, 29), at("2028-03-01T00:00:00Z"));
    assert_int_equal(day_end("Asia/Kolkata", 2026, 12, 31), at("2026-12-31T18:30:00Z"));
    /* the process's own zone is left as it was */
    assert_string_equal(getenv("TZ"), "UTC");
    int64_t ms = 1;
    assert_int_equal(time_local_day_end("UTC", 2026, 2, 29, &ms), AB_EINVAL);
    assert_int_equal(ms, 0);
    assert_int_equal(time_local_day_end("UTC", 2026, 13, 1, &ms), AB_EINVAL);
    assert_int_equal(time_local_day_end("../etc/passwd", 2026, 1, 1, &ms), AB_EINVAL);
    assert_int_equal(time_local_day_end("/usr/share/zoneinfo/UTC", 2026, 1, 1, &ms), AB_EINVAL);
    assert_int_equal(time_local_day_end("", 2026, 1, 1, &ms), AB_EINVAL);
    assert_int_equal(time_local_day_end(NULL, 2026, 1, 1, &ms), AB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_valid),    cmocka_unit_test(test_rfc3339_invalid),
        cmocka_unit_test(test_format_roundtrip), cmocka_unit_test(test_durations),
        cmocka_unit_test(test_fake_clock),       cmocka_unit_test(test_local_day_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
