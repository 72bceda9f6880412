/* SPDX-License-Identifier: Apache-2.0
 *
 * test_suggest.c: unit tests for src/rules/suggest.c, the fixed-step
 * calibration interval suggestion method, on seeded as-found histories:
 * lengthen after the configured run of in-tolerance results (capped),
 * shorten after an out-of-tolerance result (floored), nothing on too
 * little or broken evidence or without an interval; the reasoning text;
 * and the configuration keys (defaults, overrides, validation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/config.h"
#include "rules/suggest.h"

#define DAY INT64_C(86400000)
#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

#define IN MODEL_CAL_IN_TOLERANCE
#define OUT MODEL_CAL_OUT_OF_TOLERANCE
#define UNK MODEL_CAL_UNKNOWN

static struct config_rules_cal params(void)
{
    struct config_rules_cal c;
    memset(&c, 0, sizeof(c));
    c.suggest_intervals = true;
    c.suggest_after = 3;
    c.suggest_increase_pct = 25;
    c.suggest_decrease_pct = 50;
    c.suggest_min_days = 30;
    c.suggest_max_days = 730;
    return c;
}

/* h[i] = results[i], one every 100 days from T0 */
static size_t seed(struct rules_cal_result *h, const enum model_cal_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h[i].performed_at = T0 + (int64_t)i * 100 * DAY;
        h[i].as_found = r[i];
    }
    return n;
}

static void test_increase(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 1u << 20);
    struct config_rules_cal c = params();
    struct rules_cal_result h[8];
    struct rules_suggestion s;
    static const enum model_cal_result three[] = {IN, IN, IN};
    size_t n = seed(h, three, 3);
    assert_true(rules_suggest_interval(h, n, 100, &c, a, &s));
    assert_string_equal(s.direction, "increase");
    assert_int_equal(s.current_days, 100);
    assert_int_equal(s.suggested_days, 125);
    assert_int_equal(s.n_used, 3);
    assert_int_equal(s.basis_at, T0 + 200 * DAY);
    assert_non_null(strstr(s.reason, "last 3 as-found results (2026-01-01 to 2026-07-20)"));
    assert_non_null(strstr(s.reason, "from 100 to 125 days"));
    /* two are not enough */
    assert_false(rules_suggest_interval(h, 2, 100, &c, a, &s));
    /* a longer run still uses the newest suggest_after */
    static const enum model_cal_result five[] = {IN, IN, IN, IN, IN};
    n = seed(h, five, 5);
    assert_true(rules_suggest_interval(h, n, 100, &c, a, &s));
    assert_int_equal(s.n_used, 3);
    /* floor of 25 %: 90 -> 112 */
    assert_true(rules_suggest_interval(h, n, 90, &c, a, &s));
    assert_int_equal(s.suggested_days, 112);
    /* the run must be the newest results: an unknown or out-of-tolerance one breaks it */
    static const enum model_cal_result broken[] = {IN, IN, UNK, IN, IN};
    n = seed(h, broken, 5);
    assert_false(rules_suggest_interval(h, n, 100, &c, a, &s));
    static const enum model_cal_result newest_unknown[] = {IN, IN, IN, UNK};
    n = seed(h, newest_unknown, 4);
    assert_false(rules_suggest_interval(h, n, 100, &c, a, &s));
    static const enum model_cal_result recovered[] = {OUT, IN, IN, IN};
    n = seed(h, recovered, 4);
    assert_true(rules_suggest_interval(h, n, 50, &c, a, &s));
    assert_string_equal(s.direction, "increase");
    assert_int_equal(s.suggested_days, 62);
    arena_free(a);
}

static void test_cap(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 1u << 20);
    struct config_rules_cal c = params();
    struct rules_cal_result h[3];
    struct rules_suggestion s;
    static const enum model_cal_result three[] = {IN, IN, IN};
    size_t n = seed(h, three, 3);
    assert_true(rules_suggest_interval(h, n, 700, &c, a, &s));
    assert_int_equal(s.suggested_days, 730); /* capped */
    assert_non_null(strstr(s.reason, "cap 730 days"));
    assert_false(rules_suggest_interval(h, n, 730, &c, a, &s)); /* at the cap */
    assert_false(rules_suggest_interval(h, n, 900, &c, a, &s)); /* above it: never shortened */
    /* too short to grow by a whole day */
    assert_false(rules_suggest_interval(h, n, 3, &c, a, &s));
    /* another run length */
    c.suggest_after = 5;
    assert_false(rules_suggest_interval(h, n, 100, &c, a, &s));
    c.suggest_after = 1;
    assert_true(rules_suggest_interval(h, n, 100, &c, a, &s));
    assert_int_equal(s.n_used, 1);
    arena_free(a);
}

static void test_decrease(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 1u << 20);
    struct config_rules_cal c = params();
    struct rules_cal_result h[4];
    struct rules_suggestion s;
    static const enum model_cal_result out[] = {IN, IN, IN, OUT};
    size_t n = seed(h, out, 4);
    assert_true(rules_suggest_interval(h, n, 365, &c, a, &s));
    assert_string_equal(s.direction, "decrease");
    assert_int_equal(s.suggested_days, 182); /* floor of half */
    assert_int_equal(s.n_used, 1);
    assert_int_equal(s.basis_at, T0 + 300 * DAY);
    assert_non_null(strstr(s.reason, "on 2026-10-28 was out of tolerance"));
    assert_non_null(strstr(s.reason, "from 365 to 182 days"));
    /* floored */
    assert_true(rules_suggest_interval(h, n, 40, &c, a, &s));
    assert_int_equal(s.suggested_days, 30);
    assert_false(rules_suggest_interval(h, n, 30, &c, a, &s)); /* at the floor */
    assert_false(rules_suggest_interval(h, n, 20, &c, a, &s)); /* below it: never lengthened */
    /* a single out-of-tolerance result is enough */
    assert_true(rules_suggest_interval(&h[3], 1, 100, &c, a, &s));
    assert_int_equal(s.suggested_days, 50);
    arena_free(a);
}

static void test_nothing(void **state)
{
    (void)state;
    struct arena *a = arena_new(4096, 1u << 20);
    struct config_rules_cal c = params();
    struct rules_cal_result h[3];
    struct rules_suggestion s;
    static const enum model_cal_result three[] = {IN, IN, IN};
    size_t n = seed(h, three, 3);
    assert_false(rules_suggest_interval(h, n, 0, &c, a, &s));   /* no interval */
    assert_false(rules_suggest_interval(h, 0, 100, &c, a, &s)); /* no history */
    assert_false(rules_suggest_interval(NULL, 0, 100, &c, a, &s));
    arena_free(a);
}

static void test_config(void **state)
{
    (void)state;
    static const char ok[] = "tenants:\n"
                             "  t1:\n"
                             "    rules:\n"
                             "      calibration: {suggest_after: 4, suggest_increase_pct: 10}\n"
                             "      asset_types:\n"
                             "        instrument:\n"
                             "          calibration: {apply_suggestions: true,"
                             " suggest_intervals: false}\n";
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    assert_int_equal(config_load_buffer("c.yaml", ok, strlen(ok), &cfg, &errs), AB_OK);
    const struct config_tenant *t = config_tenant(cfg, "t1");
    assert_non_null(t);
    struct config_rules_cal rc;
    config_rules_calibration(t, NULL, "fixture", &rc);
    assert_true(rc.suggest_intervals);
    assert_false(rc.apply_suggestions);
    assert_int_equal(rc.suggest_after, 4);
    assert_true(rc.suggest_increase_pct == 10);
    assert_true(rc.suggest_decrease_pct == 50);
    assert_int_equal(rc.suggest_min_days, 30);
    assert_int_equal(rc.suggest_max_days, 730);
    config_rules_calibration(t, NULL, "instrument", &rc);
    assert_false(rc.suggest_intervals);
    assert_true(rc.apply_suggestions);
    assert_int_equal(rc.suggest_after, 4);
    config_free(cfg);
    config_errors_cleanup(&errs);

    static const char bad[] = "tenants:\n"
                              "  t1:\n"
                              "    rules:\n"
                              "      calibration: {suggest_after: 0, suggest_decrease_pct: 100,"
                              " suggest_min_days: 800}\n";
    cfg = NULL;
    assert_int_not_equal(config_load_buffer("c.yaml", bad, strlen(bad), &cfg, &errs), AB_OK);
    assert_null(cfg);
    bool after = false, pct = false, minmax = false;
    for (size_t i = 0; i < errs.n; i++) {
        after |= strstr(errs.items[i].message, "suggest_after") != NULL;
        pct |= strstr(errs.items[i].message, "suggest_decrease_pct") != NULL;
        minmax |= strstr(errs.items[i].message, "above suggest_max_days") != NULL;
    }
    assert_true(after);
    assert_true(pct);
    assert_true(minmax);
    config_errors_cleanup(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_increase), cmocka_unit_test(test_cap),
        cmocka_unit_test(test_decrease), cmocka_unit_test(test_nothing),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
