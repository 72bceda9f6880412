/* SPDX-License-Identifier: Apache-2.0
 *
 * test_due.c: unit tests for src/rules/due.c: the calibration schedule
 * (due date from the record or from the last calibration and the interval,
 * the due_soon point from the percentage or the window) and the state at a
 * time; maintenance plans due by time (with lead time) and by usage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "rules/due.h"

#define DAY INT64_C(86400000)
#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

static struct config_rules_cal rc(double pct, int64_t window, int64_t days)
{
    struct config_rules_cal c;
    memset(&c, 0, sizeof(c));
    c.enabled = true;
    c.due_soon_pct = pct;
    c.due_soon_window_ms = window;
    c.interval_days = days;
    c.open_request = true;
    c.open_request_at = "due_soon";
    return c;
}

static void test_schedule(void **state)
{
    (void)state;
    int64_t due, soon;
    struct config_rules_cal c = rc(90, 14 * DAY, 0);
    /* the record's due date and interval: soon at 90 % of 100 days */
    struct rules_cal_input in = {T0 + 100 * DAY, T0, 100};
    assert_int_equal(rules_cal_schedule(&in, &c, &due, &soon), AB_OK);
    assert_int_equal(due, T0 + 100 * DAY);
    assert_int_equal(soon, T0 + 90 * DAY);
    /* no due date: last calibration + the rule's interval */
    c = rc(80, 14 * DAY, 50);
    in = (struct rules_cal_input){INT64_MIN, T0, 0};
    assert_int_equal(rules_cal_schedule(&in, &c, &due, &soon), AB_OK);
    assert_int_equal(due, T0 + 50 * DAY);
    assert_int_equal(soon, T0 + 40 * DAY);
    /* a due date but no interval anywhere: the window */
    c = rc(90, 14 * DAY, 0);
    in = (struct rules_cal_input){T0 + 30 * DAY, INT64_MIN, 0};
    assert_int_equal(rules_cal_schedule(&in, &c, &due, &soon), AB_OK);
    assert_int_equal(soon, T0 + 16 * DAY);
    /* nothing known */
    in = (struct rules_cal_input){INT64_MIN, T0, 0};
    assert_int_equal(rules_cal_schedule(&in, &c, &due, &soon), AB_ENOTFOUND);
    /* 100 %: due soon only when due */
    c = rc(100, 0, 0);
    in = (struct rules_cal_input){T0 + 10 * DAY, T0, 10};
    assert_int_equal(rules_cal_schedule(&in, &c, &due, &soon), AB_OK);
    assert_int_equal(soon, due);
}

static void test_state(void **state)
{
    (void)state;
    int64_t due = T0 + 10 * DAY, soon = T0 + 9 * DAY;
    assert_int_equal(rules_cal_state(due, soon, T0), MODEL_DUE_OK);
    assert_int_equal(rules_cal_state(due, soon, soon - 1), MODEL_DUE_OK);
    assert_int_equal(rules_cal_state(due, soon, soon), MODEL_DUE_SOON);
    assert_int_equal(rules_cal_state(due, soon, due - 1), MODEL_DUE_SOON);
    assert_int_equal(rules_cal_state(due, soon, due), MODEL_DUE_OVERDUE);
    assert_int_equal(rules_cal_state(due, soon, due + 365 * DAY), MODEL_DUE_OVERDUE);
}

static void test_plans(void **state)
{
    (void)state;
    assert_false(rules_plan_time_due(T0 + DAY, 0, T0));
    assert_true(rules_plan_time_due(T0 + DAY, 0, T0 + DAY));
    assert_true(rules_plan_time_due(T0 + DAY, DAY, T0));
    assert_false(rules_plan_time_due(INT64_MIN, 0, T0));
    assert_false(rules_plan_usage_due(1000, 0, 999.5));
    assert_true(rules_plan_usage_due(1000, 0, 1000));
    assert_true(rules_plan_usage_due(1000, 50, 950));
    assert_false(rules_plan_usage_due(1000, 0, NAN));
    assert_false(rules_plan_usage_due(NAN, 0, 5000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
