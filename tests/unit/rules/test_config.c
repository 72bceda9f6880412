/* SPDX-License-Identifier: Apache-2.0
 *
 * test_config.c: the `tenants.T.rules` schema of src/core/config.c (the
 * rules engine's configuration): defaults, checks, site and asset type
 * overrides (only the keys an override writes replace the tenant's), and
 * sync lag limits naming configured providers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"

static struct config_errors errs;

static struct config *load(const char *text)
{
    struct config *cfg = NULL;
    config_errors_cleanup(&errs);
    enum ab_rc rc = config_load_buffer("c.yaml", text, strlen(text), &cfg, &errs);
    if (rc != AB_OK)
        assert_null(cfg);
    return cfg;
}

static int find_error(const char *needle)
{
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.items[i].message, needle))
            return (int)i;
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    config_errors_cleanup(&errs);
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    struct config *cfg = load("tenants:\n  default: {}\n");
    assert_non_null(cfg);
    const struct config_tenant *t = &cfg->tenants[0];
    assert_int_equal(t->rules.evaluate_every_ms, 60000);
    struct config_rules_cal c;
    config_rules_calibration(t, "plant-1", "instrument", &c);
    assert_true(c.enabled);
    assert_true(c.due_soon_pct == 90.0);
    assert_int_equal(c.due_soon_window_ms, INT64_C(14) * 86400000);
    assert_int_equal(c.interval_days, 0);
    assert_true(c.open_request);
    assert_string_equal(c.open_request_at, "due_soon");
    struct config_rules_maint m;
    config_rules_maintenance(t, NULL, NULL, &m);
    assert_true(m.enabled);
    assert_int_equal(m.lead_time_ms, 0);
    assert_true(m.open_request);
    assert_true(t->rules.sla.work_orders);
    assert_int_equal(t->rules.sla.n_sync_lag, 0);
    assert_int_equal(config_rules_sync_lag(t, "sap"), 0);
    config_free(cfg);
}

static void test_overrides(void **state)
{
    (void)state;
    struct config *cfg = load("tenants:\n"
                              "  default:\n"
                              "    rules:\n"
                              "      calibration: {due_soon_pct: 80, interval_days: 365}\n"
                              "      maintenance: {lead_time: 2d}\n"
                              "      sites:\n"
                              "        plant-1:\n"
                              "          calibration: {open_request: false, due_soon_pct: 75}\n"
                              "      asset_types:\n"
                              "        instrument:\n"
                              "          calibration: {due_soon_pct: 95}\n"
                              "          maintenance: {open_request: false}\n");
    assert_non_null(cfg);
    const struct config_tenant *t = &cfg->tenants[0];
    struct config_rules_cal c;
    /* tenant only */
    config_rules_calibration(t, "plant-2", "fixture", &c);
    assert_true(c.due_soon_pct == 80.0);
    assert_int_equal(c.interval_days, 365);
    assert_true(c.open_request);
    /* site: its two keys, the tenant's interval stays */
    config_rules_calibration(t, "plant-1", "fixture", &c);
    assert_true(c.due_soon_pct == 75.0);
    assert_false(c.open_request);
    assert_int_equal(c.interval_days, 365);
    /* asset type over site: only due_soon_pct replaced */
    config_rules_calibration(t, "plant-1", "instrument", &c);
    assert_true(c.due_soon_pct == 95.0);
    assert_false(c.open_request);
    assert_int_equal(c.interval_days, 365);
    struct config_rules_maint m;
    config_rules_maintenance(t, "plant-1", "instrument", &m);
    assert_false(m.open_request);
    assert_int_equal(m.lead_time_ms, 2 * 86400000);
    config_rules_maintenance(t, "plant-1", "tool", &m);
    assert_true(m.open_request);
    config_free(cfg);
}

/* The out-of-spec rule and its overrides; the closed loop, lockout and
 * lifecycle keys with their defaults. */
static void test_failure_rate_and_loop_keys(void **state)
{
    (void)state;
    struct config *cfg = load("tenants:\n"
                              "  default:\n"
                              "    rules:\n"
                              "      failure_rate: {window: 30, asset_types: [fixture]}\n"
                              "      calibration: {lockout: true, interval_usage: 500}\n"
                              "      sites:\n"
                              "        plant-1: {failure_rate: {enabled: true}}\n"
                              "      asset_types:\n"
                              "        fixture: {failure_rate: {threshold_pct: 10}}\n");
    assert_non_null(cfg);
    const struct config_tenant *t = &cfg->tenants[0];
    assert_true(config_rules_failure_rate_any(t));
    assert_true(t->rules.close_loop);
    assert_true(t->rules.lifecycle.enabled);
    assert_false(t->rules.lifecycle.reverse);
    struct config_rules_failure_rate f;
    config_rules_failure_rate(t, "plant-2", "fixture", &f);
    assert_false(f.enabled);
    assert_true(f.threshold_pct == 10.0);
    assert_int_equal(f.window, 30);
    config_rules_failure_rate(t, "plant-1", "fixture", &f);
    assert_true(f.enabled);
    assert_true(f.threshold_pct == 10.0);
    assert_int_equal(f.asset_types.n, 1);
    config_rules_failure_rate(t, "plant-1", "station", &f);
    assert_true(f.enabled);
    assert_true(f.threshold_pct == 25.0);
    assert_int_equal(f.min_uses, 10);
    struct config_rules_cal c;
    config_rules_calibration(t, "plant-1", "instrument", &c);
    assert_true(c.lockout);
    assert_false(c.reset_running_count);
    assert_true(c.interval_usage == 500.0);
    assert_string_equal(c.usage_meter, "cycles");
    config_free(cfg);
    assert_null(load("tenants:\n"
                     "  default:\n"
                     "    rules:\n"
                     "      failure_rate: {window: 0, threshold_pct: 100}\n"));
    assert_true(find_error("'tenants.default.rules.failure_rate.window' must be between 1 and "
                           "1000") >= 0);
    assert_true(find_error("'tenants.default.rules.failure_rate.threshold_pct' must be a "
                           "percentage above 0 and below 100") >= 0);
}

static void test_checks(void **state)
{
    (void)state;
    assert_null(load("tenants:\n"
                     "  default:\n"
                     "    providers:\n"
                     "      sap: {type: sap_pm, base_url: \"http://x\"}\n"
                     "    rules:\n"
                     "      evaluate_every: 0s\n"
                     "      calibration: {due_soon_pct: 120, interval_days: -1,"
                     " open_request_at: later}\n"
                     "      sla:\n"
                     "        sync_lag: {sap: 30m, wats: 10m}\n"
                     "      asset_types:\n"
                     "        robot: {}\n"
                     "      sites:\n"
                     "        plant-1: {calibration: {due_soon: 3}}\n"));
    assert_true(find_error("'tenants.default.rules.evaluate_every' must be greater than 0") >= 0);
    assert_true(find_error("'tenants.default.rules.calibration.due_soon_pct' must be a "
                           "percentage") >= 0);
    assert_true(find_error("'tenants.default.rules.calibration.interval_days' must be between") >=
                0);
    assert_true(find_error("open_request_at") >= 0);
    assert_true(find_error("'tenants.default.rules.sla.sync_lag.wats' names a provider") >= 0);
    assert_true(find_error("robot") >= 0);
    assert_true(find_error("unknown key 'tenants.default.rules.sites.plant-1.calibration."
                           "due_soon'") >= 0);
    assert_true(find_error("sync_lag.sap") < 0);

    struct config *cfg = load("tenants:\n"
                              "  default:\n"
                              "    providers:\n"
                              "      sap: {type: sap_pm, base_url: \"http://x\"}\n"
                              "    rules:\n"
                              "      sla: {work_orders: false, sync_lag: {sap: 30m}}\n");
    assert_non_null(cfg);
    assert_false(cfg->tenants[0].rules.sla.work_orders);
    assert_int_equal(config_rules_sync_lag(&cfg->tenants[0], "sap"), 30 * 60000);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_overrides, teardown),
        cmocka_unit_test_teardown(test_failure_rate_and_loop_keys, teardown),
        cmocka_unit_test_teardown(test_checks, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
