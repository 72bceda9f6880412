/* SPDX-License-Identifier: Apache-2.0
 *
 * test_config.c: unit tests for src/core/config.c: the assetbridge schema,
 * its defaults, cross-reference checks, redacted printing and the example
 * files under examples/ (found through AB_SOURCE_DIR, set by CTest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"

static struct config_errors errs;

/* Load text; returns the config or NULL, leaving errors in errs. */
static struct config *load(const char *text)
{
    struct config *cfg = NULL;
    config_errors_cleanup(&errs);
    enum ab_rc rc = config_load_buffer("c.yaml", text, strlen(text), &cfg, &errs);
    if (rc == AB_OK) {
        assert_non_null(cfg);
        assert_int_equal(errs.n, 0);
    } else {
        assert_int_equal(rc, AB_ECONFIG);
        assert_null(cfg);
        assert_true(errs.n > 0);
    }
    return cfg;
}

static int find_error(const char *needle)
{
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.items[i].message, needle))
            return (int)i;
    return -1;
}

static char *print_to_string(const struct config *cfg)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    config_print(cfg, f);
    fclose(f);
    return out;
}

static int teardown(void **state)
{
    (void)state;
    config_errors_cleanup(&errs);
    log_clear_secrets();
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    struct config *cfg = config_default();
    assert_string_equal(cfg->source, "<built-in default>");
    assert_string_equal(cfg->server.listen, "127.0.0.1:8440");
    assert_int_equal(cfg->server.limits.max_body, 1 << 20);
    assert_int_equal(cfg->server.limits.max_batch_body, 16 << 20);
    assert_int_equal(cfg->server.limits.max_connections, 256);
    assert_int_equal(cfg->server.limits.max_header, 16384);
    assert_int_equal(cfg->server.limits.header_timeout_ms, 10000);
    assert_int_equal(cfg->server.limits.idle_timeout_ms, 60000);
    assert_int_equal(cfg->server.limits.batch_bodies_in_flight, 2);
    assert_null(cfg->server.tls.cert_file);
    assert_string_equal(cfg->store.backend, "sqlite");
    assert_string_equal(cfg->store.data_dir, "./assetbridge-data");
    assert_string_equal(cfg->store.path, "assetbridge.db");
    assert_string_equal(cfg->store.synchronous, "full");
    assert_int_equal(cfg->store.retention.readings_ms, INT64_C(400) * 86400000);
    assert_int_equal(cfg->store.retention.events_ms, INT64_C(90) * 86400000);
    assert_int_equal(cfg->store.retention.outbox_done_ms, INT64_C(7) * 86400000);
    assert_int_equal(cfg->store.retention.idempotency_keys_ms, INT64_C(7) * 86400000);
    assert_int_equal(cfg->store.retention.logs_ms, INT64_C(30) * 86400000);
    assert_string_equal(cfg->log.level, "info");
    assert_string_equal(cfg->log.format, "json");
    assert_null(cfg->log.file);
    assert_int_equal(cfg->n_tenants, 1);
    assert_string_equal(cfg->tenants[0].name, "default");
    assert_int_equal(cfg->tenants[0].n_providers, 0);
    assert_non_null(config_tenant(cfg, "default"));
    assert_null(config_tenant(cfg, "other"));
    config_free(cfg);
}

static void test_valid_file_with_provider_defaults(void **state)
{
    (void)state;
    struct config *cfg = load("server:\n"
                              "  listen: 0.0.0.0:9000\n"
                              "  limits: {max_body: 64KiB}\n"
                              "tenants:\n"
                              "  acme:\n"
                              "    providers:\n"
                              "      w:\n"
                              "        type: wats\n"
                              "        entities:\n"
                              "          asset:\n"
                              "          meter: {interval: 30s, severity: reporting}\n");
    assert_string_equal(cfg->server.listen, "0.0.0.0:9000");
    assert_int_equal(cfg->server.limits.max_body, 65536);
    assert_int_equal(cfg->server.limits.max_batch_body, 16 << 20);
    assert_int_equal(cfg->n_tenants, 1);
    const struct config_tenant *t = config_tenant(cfg, "acme");
    assert_non_null(t);
    const struct config_provider *p = config_provider(t, "w");
    assert_non_null(p);
    assert_null(config_provider(t, "x"));
    assert_string_equal(p->type, "wats");
    assert_string_equal(p->auth.scheme, "none");
    assert_string_equal(p->auth.header, "Authorization");
    assert_true(p->tls.verify);
    for (int d = 0; d < DOMAIN_COUNT; d++)
        assert_int_equal(p->mode[d], MODE_READ_ONLY);
    assert_int_equal(p->n_entities, 2);
    assert_string_equal(p->entities[0].name, "asset");
    assert_int_equal(p->entities[0].interval_ms, 300000);
    assert_string_equal(p->entities[0].severity, "plant_critical");
    assert_int_equal(p->entities[1].interval_ms, 30000);
    assert_string_equal(p->entities[1].severity, "reporting");
    config_free(cfg);
}

static void test_three_unknown_keys(void **state)
{
    (void)state;
    assert_null(load("server:\n"
                     "  lisen: 127.0.0.1:1\n"
                     "tenants:\n"
                     "  default:\n"
                     "    providers:\n"
                     "      sap:\n"
                     "        type: sap_pm\n"
                     "        auth:\n"
                     "          schme: basic\n"
                     "    site:\n"));
    assert_int_equal(errs.n, 3);
    assert_int_equal(errs.items[0].line, 2);
    assert_int_equal(errs.items[0].column, 3);
    assert_string_equal(errs.items[0].message, "unknown key 'server.lisen'");
    assert_string_equal(errs.items[0].hint, "did you mean 'listen'?");
    assert_int_equal(errs.items[1].line, 9);
    assert_int_equal(errs.items[1].column, 11);
    assert_string_equal(errs.items[1].message,
                        "unknown key 'tenants.default.providers.sap.auth.schme'");
    assert_string_equal(errs.items[1].hint, "did you mean 'scheme'?");
    assert_int_equal(errs.items[2].line, 10);
    assert_int_equal(errs.items[2].column, 5);
    assert_string_equal(errs.items[2].hint, "did you mean 'sites'?");

    /* the printed form */
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    config_errors_print(&errs, f);
    fclose(f);
    assert_non_null(strstr(out, "c.yaml:2:3: error: unknown key 'server.lisen'\n"
                                "  hint: did you mean 'listen'?\n"));
    free(out);
}

static void test_type_enum_and_required(void **state)
{
    (void)state;
    assert_null(load("server:\n"
                     "  limits:\n"
                     "    max_connections: lots\n"
                     "store:\n"
                     "  synchronous: off\n"
                     "log:\n"
                     "  level: verbose\n"
                     "tenants:\n"
                     "  t1:\n"
                     "    providers:\n"
                     "      p:\n"
                     "        base_url: http://x\n"
                     "        tls: {verify: maybe}\n"));
    assert_int_equal(errs.n, 5);
    assert_string_equal(errs.items[0].message,
                        "'server.limits.max_connections' must be an integer, found 'lots'");
    assert_int_equal(errs.items[0].line, 3);
    assert_string_equal(errs.items[1].message, "'store.synchronous' has an invalid value 'off'");
    assert_string_equal(errs.items[1].hint, "allowed values: normal, full, extra");
    assert_string_equal(errs.items[2].message, "'log.level' has an invalid value 'verbose'");
    assert_string_equal(errs.items[3].message,
                        "missing required key 'tenants.t1.providers.p.type'");
    assert_int_equal(errs.items[3].line, 11); /* the provider's key */
    assert_int_equal(errs.items[3].column, 7);
    assert_non_null(
        strstr(errs.items[4].message, "'tenants.t1.providers.p.tls.verify' must be a boolean"));
}

static void test_provider_type_and_entities(void **state)
{
    (void)state;
    assert_null(load("tenants:\n"
                     "  default:\n"
                     "    providers:\n"
                     "      m:\n"
                     "        type: maximoo\n"
                     "        entities:\n"
                     "          workorder: {}\n"));
    assert_int_equal(errs.n, 2);
    assert_string_equal(errs.items[0].hint, "did you mean 'maximo'?");
    assert_string_equal(errs.items[1].message,
                        "unknown key 'tenants.default.providers.m.entities.workorder'");
    assert_string_equal(errs.items[1].hint, "did you mean 'work_order'?");
}

static void test_system_of_record_unknown_provider(void **state)
{
    (void)state;
    assert_null(load("tenants:\n"
                     "  default:\n"
                     "    providers:\n"
                     "      wats: {type: wats}\n"
                     "      sap: {type: sap_pm}\n"
                     "    system_of_record:\n"
                     "      plant-1:\n"
                     "        asset_master: sap\n"
                     "        calibration: watz\n"));
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.items[0].line, 9);
    assert_int_equal(errs.items[0].column, 22);
    assert_string_equal(errs.items[0].message,
                        "'tenants.default.system_of_record.plant-1.calibration' names provider "
                        "'watz', which is not configured in tenant 'default'");
    assert_string_equal(errs.items[0].hint, "configured providers in tenant 'default': wats, sap");

    struct config *cfg = load("tenants:\n"
                              "  default:\n"
                              "    providers:\n"
                              "      sap: {type: sap_pm}\n"
                              "    system_of_record:\n"
                              "      plant-1: {asset_master: sap}\n");
    const struct config_tenant *t = config_tenant(cfg, "default");
    assert_int_equal(t->n_system_of_record, 1);
    assert_string_equal(t->system_of_record[0].site, "plant-1");
    assert_string_equal(t->system_of_record[0].provider[DOMAIN_ASSET_MASTER], "sap");
    assert_null(t->system_of_record[0].provider[DOMAIN_USAGE]);
    config_free(cfg);
}

static void test_mode_scalar_and_map(void **state)
{
    (void)state;
    struct config *cfg = load("tenants:\n"
                              "  default:\n"
                              "    providers:\n"
                              "      a: {type: wats, mode: write_back}\n"
                              "      b:\n"
                              "        type: sap_pm\n"
                              "        mode: {calibration: draft, usage: write_back}\n");
    const struct config_tenant *t = config_tenant(cfg, "default");
    const struct config_provider *a = config_provider(t, "a");
    const struct config_provider *b = config_provider(t, "b");
    for (int d = 0; d < DOMAIN_COUNT; d++)
        assert_int_equal(a->mode[d], MODE_WRITE_BACK);
    assert_int_equal(b->mode[DOMAIN_ASSET_MASTER], MODE_READ_ONLY);
    assert_int_equal(b->mode[DOMAIN_CALIBRATION], MODE_DRAFT);
    assert_int_equal(b->mode[DOMAIN_USAGE], MODE_WRITE_BACK);
    char *out = print_to_string(cfg);
    assert_non_null(strstr(out, "        mode: write_back\n"));
    assert_non_null(strstr(out, "        mode:\n          asset_master: read_only\n"
                                "          calibration: draft\n"));
    free(out);
    config_free(cfg);

    assert_null(load("tenants:\n"
                     "  default:\n"
                     "    providers:\n"
                     "      a: {type: wats, mode: writeback}\n"
                     "      b: {type: wats, mode: {calibraton: draft}}\n"
                     "      c: {type: wats, mode: [draft]}\n"));
    assert_int_equal(errs.n, 3);
    assert_string_equal(errs.items[0].hint, "did you mean 'write_back'?");
    assert_string_equal(errs.items[1].message,
                        "unknown key 'tenants.default.providers.b.mode.calibraton'");
    assert_string_equal(errs.items[1].hint, "did you mean 'calibration'?");
    assert_non_null(strstr(errs.items[2].message, "must be a mode or a mapping"));
}

static void test_usage_webhooks_reconcile(void **state)
{
    (void)state;
    struct config *cfg = load("meters:\n"
                              "  types: {insertions: {kind: counter}}\n"
                              "webhooks: {timeout: 5s, max_attempts: 3}\n"
                              "tenants:\n"
                              "  default:\n"
                              "    providers:\n"
                              "      g:\n"
                              "        type: generic\n"
                              "        usage:\n"
                              "          flush_window: 30s\n"
                              "          delta_threshold: 250\n"
                              "          meters: {cycles: {target: CYC}, insertions: {}}\n"
                              "        entities:\n"
                              "          asset: {reconcile_interval: 1h, reconcile_repair: true}\n"
                              "      h: {type: generic}\n");
    const struct config_tenant *t = config_tenant(cfg, "default");
    const struct config_provider *g = config_provider(t, "g");
    const struct config_provider *h = config_provider(t, "h");
    assert_int_equal(g->usage.flush_window_ms, 30000);
    assert_true(g->usage.delta_threshold == 250.0);
    assert_int_equal(g->usage.n_meters, 2);
    assert_string_equal(g->usage.meters[0].name, "cycles");
    assert_string_equal(g->usage.meters[0].target, "CYC");
    assert_null(g->usage.meters[1].target);
    assert_int_equal(g->entities[0].reconcile_interval_ms, 3600000);
    assert_true(g->entities[0].reconcile_repair);
    assert_int_equal(h->usage.flush_window_ms, 60000);
    assert_int_equal(h->usage.n_meters, 0);
    assert_int_equal(cfg->webhooks.timeout_ms, 5000);
    assert_int_equal(cfg->webhooks.max_attempts, 3);
    assert_int_equal(cfg->webhooks.max_age_ms, 24LL * 3600 * 1000);
    assert_true(cfg->webhooks.allow_plain_http);
    config_free(cfg);

    assert_null(load("webhooks: {max_attempts: 0}\n"
                     "tenants:\n"
                     "  default:\n"
                     "    providers:\n"
                     "      g:\n"
                     "        type: generic\n"
                     "        usage: {delta_threshold: -1, meters: {cylces: {}}}\n"));
    assert_int_equal(errs.n, 3);
    assert_non_null(
        strstr(errs.items[0].message, "'webhooks.max_attempts' must be greater than 0"));
    assert_non_null(strstr(errs.items[1].message, "delta_threshold' must not be negative"));
    assert_string_equal(errs.items[2].message,
                        "'tenants.default.providers.g.usage.meters.cylces' is not a known meter "
                        "type");
}

static void test_wats_section(void **state)
{
    (void)state;
    /* defaults, for a wats provider without the section */
    struct config *cfg = load("tenants:\n  default:\n    providers:\n      w: {type: wats}\n");
    const struct config_wats *d = &config_provider(config_tenant(cfg, "default"), "w")->wats;
    assert_string_equal(d->paging, "skip");
    assert_int_equal(d->page_size, 1000);
    assert_int_equal(d->log_page_size, 200);
    assert_int_equal(d->report_page_size, 500);
    assert_int_equal(d->lookup_batch, 20);
    assert_true(d->incremental_via_log && d->log_tiebreak && d->status_for_changed &&
                d->derive_status);
    assert_true(d->default_warning_pct == 80 && d->default_alarm_pct == 100);
    assert_string_equal(d->send_dates, "utc_z");
    assert_int_equal(d->naive_offset_min, 0);
    assert_string_equal(d->usage_endpoint, "count");
    assert_string_equal(d->set_total_param, "totalCount");
    assert_string_equal(d->set_running_param, "runningCount");
    assert_string_equal(d->external_from_param, "fromDate");
    assert_string_equal(d->external_to_param, "toDate");
    assert_string_equal(d->report_cursor_field, "timeStamp");
    assert_int_equal(d->reports_count_usage_types.n, 0);
    assert_false(d->external_sentinel);
    assert_true(d->external_sentinel_value == -2);
    assert_int_equal(d->due_tolerance_ms, 86400000);
    assert_true(d->requests_per_minute == 0);
    assert_int_equal(d->max_retries, 2);
    assert_int_equal(d->retry_base_ms, 500);
    assert_int_equal(d->retry_cap_ms, 10000);
    assert_null(d->server_version);
    assert_null(d->default_type);
    config_free(cfg);

    /* every key set */
    const char *all = "tenants:\n  default:\n    providers:\n"
                      "      w:\n"
                      "        type: wats\n"
                      "        wats:\n"
                      "          paging: keyset\n"
                      "          page_size: 500\n"
                      "          log_page_size: 50\n"
                      "          report_page_size: 10000\n"
                      "          lookup_batch: 1\n"
                      "          incremental_via_log: false\n"
                      "          log_tiebreak: false\n"
                      "          status_for_changed: false\n"
                      "          derive_status: false\n"
                      "          default_warning_pct: 70\n"
                      "          default_alarm_pct: 95\n"
                      "          send_dates: naive\n"
                      "          naive_offset: \"-05:30\"\n"
                      "          usage_endpoint: auto\n"
                      "          set_total_param: total\n"
                      "          set_running_param: running\n"
                      "          external_from_param: from\n"
                      "          external_to_param: to\n"
                      "          report_cursor_field: ts\n"
                      "          reports_count_usage_types: [ICT fixture, \"Pogo pin head\"]\n"
                      "          calibration_external_types: \"Digital multimeter, Oscilloscope\"\n"
                      "          maintenance_external_types: []\n"
                      "          external_sentinel: true\n"
                      "          external_sentinel_value: -3\n"
                      "          due_tolerance: 1h\n"
                      "          requests_per_minute: 120\n"
                      "          max_retries: 0\n"
                      "          retry_base: 1s\n"
                      "          retry_cap: 30s\n"
                      "          server_version: \"2025.3.9.824\"\n"
                      "          default_type: Test station\n";
    cfg = load(all);
    const struct config_wats *w = &config_provider(config_tenant(cfg, "default"), "w")->wats;
    assert_string_equal(w->paging, "keyset");
    assert_int_equal(w->page_size, 500);
    assert_int_equal(w->log_page_size, 50);
    assert_int_equal(w->report_page_size, 10000);
    assert_int_equal(w->lookup_batch, 1);
    assert_false(w->incremental_via_log || w->log_tiebreak || w->status_for_changed ||
                 w->derive_status);
    assert_true(w->default_warning_pct == 70 && w->default_alarm_pct == 95);
    assert_string_equal(w->send_dates, "naive");
    assert_int_equal(w->naive_offset_min, -330);
    assert_string_equal(w->usage_endpoint, "auto");
    assert_string_equal(w->set_total_param, "total");
    assert_string_equal(w->set_running_param, "running");
    assert_string_equal(w->external_from_param, "from");
    assert_string_equal(w->external_to_param, "to");
    assert_string_equal(w->report_cursor_field, "ts");
    assert_int_equal(w->reports_count_usage_types.n, 2);
    assert_string_equal(w->reports_count_usage_types.v[0], "ICT fixture");
    assert_string_equal(w->reports_count_usage_types.v[1], "Pogo pin head");
    assert_int_equal(w->calibration_external_types.n, 2);
    assert_string_equal(w->calibration_external_types.v[0], "Digital multimeter");
    assert_string_equal(w->calibration_external_types.v[1], "Oscilloscope");
    assert_int_equal(w->maintenance_external_types.n, 0);
    assert_true(w->external_sentinel);
    assert_true(w->external_sentinel_value == -3);
    assert_int_equal(w->due_tolerance_ms, 3600000);
    assert_true(w->requests_per_minute == 120);
    assert_int_equal(w->max_retries, 0);
    assert_int_equal(w->retry_base_ms, 1000);
    assert_int_equal(w->retry_cap_ms, 30000);
    assert_string_equal(w->server_version, "2025.3.9.824");
    assert_string_equal(w->default_type, "Test station");
    /* printed, it loads again with the same lists */
    char *out = print_to_string(cfg);
    assert_non_null(strstr(out, "reports_count_usage_types: [\"ICT fixture\", \"Pogo pin head\"]"));
    struct config *again = load(out);
    const struct config_wats *w2 = &config_provider(config_tenant(again, "default"), "w")->wats;
    assert_int_equal(w2->calibration_external_types.n, 2);
    assert_int_equal(w2->naive_offset_min, -330);
    config_free(again);
    free(out);
    config_free(cfg);

    /* a generic provider prints `wats: {}` and loads again; a wats section on it is an error */
    cfg = load("tenants:\n  default:\n    providers:\n      g: {type: generic, wats: {}}\n");
    out = print_to_string(cfg);
    again = load(out);
    config_free(again);
    free(out);
    config_free(cfg);
    assert_null(load("tenants:\n  default:\n    providers:\n"
                     "      g:\n"
                     "        type: generic\n"
                     "        wats:\n"
                     "          paging: keyset\n"));
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.items[0].line, 6);
    assert_string_equal(errs.items[0].message,
                        "'tenants.default.providers.g.wats' is only for providers of type wats; "
                        "provider 'g' has type generic");

    /* bad values, each named */
    assert_null(load("tenants:\n  default:\n    providers:\n"
                     "      w:\n"
                     "        type: wats\n"
                     "        wats:\n"
                     "          paging: skipp\n"
                     "          page_size: 5000\n"
                     "          lookup_batch: 0\n"
                     "          naive_offset: \"+25:00\"\n"
                     "          usage_endpoint: increment\n"
                     "          reports_count_usage_types: {ICT fixture: {}}\n"
                     "          max_retries: 11\n"
                     "          retry_base: 20s\n"
                     "          retry_cap: 10s\n"
                     "          pagin: keyset\n"));
    assert_true(find_error("'tenants.default.providers.w.wats.paging' has an invalid value") >= 0 ||
                find_error("wats.paging") >= 0);
    assert_true(find_error("'tenants.default.providers.w.wats.page_size' must be from 1 to 1000") >=
                0);
    assert_true(find_error("'tenants.default.providers.w.wats.lookup_batch' must be from 1 to "
                           "100") >= 0);
    assert_true(find_error("'tenants.default.providers.w.wats.naive_offset' is not a UTC offset") >=
                0);
    assert_true(find_error("wats.usage_endpoint") >= 0);
    assert_true(find_error("'tenants.default.providers.w.wats.reports_count_usage_types' must be a "
                           "list of strings, found a mapping") >= 0);
    assert_true(find_error("'tenants.default.providers.w.wats.max_retries' must be from 0 to 10") >=
                0);
    assert_true(find_error("'tenants.default.providers.w.wats.retry_cap' must not be below") >= 0);
    assert_true(find_error("unknown key 'tenants.default.providers.w.wats.pagin'") >= 0);
    assert_int_equal(errs.n, 9);
}

static void test_sync_section(void **state)
{
    (void)state;
    struct config *cfg = load("sync:\n"
                              "  lease: 1m\n"
                              "  batch: 50\n"
                              "  retry: {base: 2s, max_attempts: 0}\n"
                              "  breaker: {cooldown: 10s}\n"
                              "tenants:\n"
                              "  default:\n"
                              "    providers:\n"
                              "      g: {type: generic, concurrency: 2, timeouts: {connect: 3s}}\n"
                              "      h: {type: generic}\n");
    assert_int_equal(cfg->sync.lease_ms, 60000);
    assert_int_equal(cfg->sync.batch, 50);
    assert_int_equal(cfg->sync.poll_interval_ms, 1000);
    assert_int_equal(cfg->sync.full_pass_every, 24);
    assert_int_equal(cfg->sync.retry_base_ms, 2000);
    assert_int_equal(cfg->sync.retry_cap_ms, 15 * 60000);
    assert_int_equal(cfg->sync.retry_max_attempts, 0);
    assert_int_equal(cfg->sync.retry_max_age_ms, 7LL * 86400000);
    assert_int_equal(cfg->sync.breaker_failures, 5);
    assert_int_equal(cfg->sync.breaker_cooldown_ms, 10000);
    const struct config_tenant *t = config_tenant(cfg, "default");
    const struct config_provider *g = config_provider(t, "g");
    const struct config_provider *h = config_provider(t, "h");
    assert_int_equal(g->concurrency, 2);
    assert_int_equal(g->connect_timeout_ms, 3000);
    assert_int_equal(g->request_timeout_ms, 60000);
    assert_int_equal(h->concurrency, 4);
    assert_int_equal(h->connect_timeout_ms, 10000);
    config_free(cfg);

    assert_null(load("sync: {batch: 0, retry: {base: 0s}}\n"
                     "tenants:\n"
                     "  default:\n"
                     "    providers:\n"
                     "      g: {type: generic, concurrency: 40, timeouts: {conect: 3s}}\n"));
    assert_int_equal(errs.n, 4);
    assert_string_equal(errs.items[0].message, "'sync.batch' must be between 1 and 1000");
    assert_string_equal(errs.items[1].message, "'sync.retry.base' must be greater than 0");
    assert_string_equal(errs.items[2].message,
                        "'tenants.default.providers.g.concurrency' must be between 1 and 16");
    assert_string_equal(errs.items[3].message,
                        "unknown key 'tenants.default.providers.g.timeouts.conect'");
}

/* The rules schema itself is tested in tests/unit/rules/test_rules_config.c. */
static void test_rules_must_be_empty(void **state)
{
    (void)state;
    assert_null(load("tenants:\n  default:\n    rules:\n      due_dates: {}\n"));
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0].message, "unknown key 'tenants.default.rules.due_dates'");
    struct config *cfg = load("tenants:\n  default:\n    rules: {}\n");
    assert_true(cfg->tenants[0].rules.calibration.enabled);
    config_free(cfg);
}

static void test_tenants_rules(void **state)
{
    (void)state;
    assert_null(load("tenants: {}\n"));
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.items[0].message, "'tenants' has no tenants"));
    assert_null(load("tenants:\n  \"bad name\": {}\n"));
    assert_non_null(strstr(errs.items[0].message, "invalid tenant name 'bad name'"));
    struct config *cfg = load("server: {listen: \"[::1]:8440\"}\n");
    assert_int_equal(cfg->n_tenants, 1);
    assert_string_equal(cfg->tenants[0].name, "default");
    config_free(cfg);
}

static void test_server_and_store_checks(void **state)
{
    (void)state;
    assert_null(load("server:\n"
                     "  listen: localhost\n"
                     "  tls:\n"
                     "    cert_file: /etc/cert.pem\n"
                     "store:\n"
                     "  backend: postgres\n"
                     "  retention: {idempotency_keys: 1d, readings: 0s}\n"));
    assert_int_equal(errs.n, 5);
    assert_non_null(strstr(errs.items[0].message, "'server.listen' must be HOST:PORT"));
    assert_string_equal(errs.items[1].message, "'server.tls' has cert_file but no key_file");
    assert_int_equal(errs.items[1].line, 3);
    assert_non_null(strstr(errs.items[2].message, "postgres backend arrives with a later release"));
    assert_non_null(strstr(errs.items[3].message, "idempotency_keys' must be at least 7d"));
    assert_non_null(strstr(errs.items[4].message, "readings' must be greater than 0"));
    assert_null(load("server: {listen: \"127.0.0.1:65536\"}\n"));
    assert_null(load("server: {limits: {max_header: 1KiB}}\n"));
    assert_string_equal(errs.items[0].message,
                        "'server.limits.max_header' must be between 4KiB and 1MiB");
    assert_null(load("server: {limits: {max_header: 2MiB}}\n"));
    struct config *big = load("server: {limits: {max_header: 64KiB}}\n");
    assert_int_equal(big->server.limits.max_header, 65536);
    config_free(big);
    struct config *cfg = load("server: {listen: \"127.0.0.1:0\"}\n"
                              "tenants:\n  default:\n    providers:\n"
                              "      w: {type: wats, tls: {verify: false}}\n");
    assert_false(config_tenant(cfg, "default")->providers[0].tls.verify);
    config_free(cfg);
}

static void test_size_and_duration_errors(void **state)
{
    (void)state;
    assert_null(load("server:\n  limits:\n    max_body: 1 MB\n    idle_timeout: forever\n"));
    assert_int_equal(errs.n, 2);
    assert_string_equal(errs.items[0].message,
                        "'server.limits.max_body' must be a size, found '1 MB'");
    assert_string_equal(errs.items[1].message,
                        "'server.limits.idle_timeout' must be a duration, found 'forever'");

    int64_t v;
    assert_int_equal(config_parse_size("512", &v), AB_OK);
    assert_int_equal(v, 512);
    assert_int_equal(config_parse_size("64KiB", &v), AB_OK);
    assert_int_equal(v, 65536);
    assert_int_equal(config_parse_size("1MiB", &v), AB_OK);
    assert_int_equal(v, 1 << 20);
    assert_int_equal(config_parse_size("1GiB", &v), AB_OK);
    assert_int_equal(v, 1 << 30);
    assert_int_equal(config_parse_size("", &v), AB_EINVAL);
    assert_int_equal(config_parse_size("-1", &v), AB_EINVAL);
    assert_int_equal(config_parse_size("1KB", &v), AB_EINVAL);
    assert_int_equal(config_parse_size("1 MiB", &v), AB_EINVAL);
    assert_int_equal(config_parse_size("99999999999999GiB", &v), AB_EINVAL);
}

static void test_time_zone(void **state)
{
    (void)state;
    struct config *cfg = load("tenants:\n  default:\n    sites:\n"
                              "      a: {time_zone: Europe/Oslo}\n"
                              "      b: {time_zone: UTC}\n"
                              "      c: {}\n");
    const struct config_tenant *t = config_tenant(cfg, "default");
    assert_int_equal(t->n_sites, 3);
    assert_string_equal(t->sites[0].time_zone, "Europe/Oslo");
    assert_string_equal(t->sites[2].time_zone, "UTC");
    config_free(cfg);

    assert_null(load("tenants:\n  default:\n    sites:\n"
                     "      a: {time_zone: Europe/Olso}\n"
                     "      b: {time_zone: ../../etc/passwd}\n"));
    assert_int_equal(errs.n, 2);
    assert_string_equal(errs.items[0].message,
                        "'tenants.default.sites.a.time_zone': unknown time zone 'Europe/Olso'");
    assert_int_equal(errs.items[0].line, 4);
    assert_int_equal(errs.items[0].column, 22);
    assert_non_null(strstr(errs.items[0].hint, "IANA"));
}

static void test_auth_scheme_needs_credentials(void **state)
{
    (void)state;
    assert_null(load("tenants:\n  default:\n    providers:\n"
                     "      s:\n"
                     "        type: sap_pm\n"
                     "        auth: {scheme: basic, user: u}\n"));
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0].message,
                        "'tenants.default.providers.s.auth' uses scheme basic but "
                        "'tenants.default.providers.s.auth.password' is not set");
}

static void test_env_secrets_and_print(void **state)
{
    (void)state;
    setenv("AB_TEST_TOKEN", "tok-123456-secret", 1);
    unsetenv("AB_TEST_UNSET_PW");
    const char *text = "tenants:\n  default:\n    providers:\n"
                       "      w:\n"
                       "        type: wats\n"
                       "        auth: {scheme: token, token: \"${env:AB_TEST_TOKEN}\"}\n"
                       "      s:\n"
                       "        type: sap_pm\n"
                       "        auth: {scheme: basic, user: u, password: literal-pw-value}\n";
    struct config *cfg = load(text);
    const struct config_tenant *t = config_tenant(cfg, "default");
    assert_string_equal(config_provider(t, "w")->auth.token, "tok-123456-secret");
    assert_string_equal(config_provider(t, "s")->auth.password, "literal-pw-value");
    char *out = print_to_string(cfg);
    assert_null(strstr(out, "tok-123456-secret"));
    assert_null(strstr(out, "literal-pw-value"));
    assert_non_null(strstr(out, "token: \"${env:AB_TEST_TOKEN}\"\n"));
    assert_non_null(strstr(out, "password: \"[redacted]\"\n"));
    assert_non_null(strstr(out, "user: \"u\"\n"));
    /* both are registered with the logger */
    char *s = log_scrub("tok-123456-secret literal-pw-value");
    assert_string_equal(s, "[redacted] [redacted]");
    free(s);

    /* the printed configuration loads again and means the same */
    struct config *again = load(out);
    assert_string_equal(config_provider(config_tenant(again, "default"), "w")->auth.token,
                        "tok-123456-secret");
    config_free(again);
    free(out);
    config_free(cfg);

    assert_null(load("tenants:\n  default:\n    providers:\n"
                     "      s:\n"
                     "        type: sap_pm\n"
                     "        auth:\n"
                     "          scheme: basic\n"
                     "          user: u\n"
                     "          password: ${env:AB_TEST_UNSET_PW}\n"));
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.items[0].line, 9);
    assert_int_equal(errs.items[0].column, 21);
    assert_string_equal(errs.items[0].message,
                        "'tenants.default.providers.s.auth.password': environment variable "
                        "AB_TEST_UNSET_PW is not set");
}

static void test_file_secret(void **state)
{
    (void)state;
    char path[] = "/tmp/ab_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file-pw-secret\n", 15), 15);
    close(fd);
    char text[512];
    snprintf(text, sizeof(text),
             "tenants:\n  default:\n    providers:\n      s:\n        type: sap_pm\n"
             "        auth: {scheme: basic, user: u, password: \"${file:%s}\"}\n",
             path);
    struct config *cfg = load(text);
    assert_string_equal(config_tenant(cfg, "default")->providers[0].auth.password,
                        "file-pw-secret");
    char *out = print_to_string(cfg);
    assert_null(strstr(out, "file-pw-secret"));
    assert_non_null(strstr(out, path));
    free(out);
    config_free(cfg);

    chmod(path, 0);
    if (access(path, R_OK) != 0) { /* not when the tests run as root */
        assert_null(load(text));
        assert_int_equal(errs.n, 1);
        assert_non_null(strstr(errs.items[0].message, "Permission denied"));
        assert_null(strstr(errs.items[0].message, "file-pw-secret"));
    }
    unlink(path);
    assert_null(load(text));
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.items[0].message, path));
    assert_non_null(strstr(errs.items[0].message, "No such file or directory"));
    assert_null(errs.items[0].hint ? strstr(errs.items[0].hint, "file-pw-secret") : NULL);
}

static void test_no_subst_flag(void **state)
{
    (void)state;
    setenv("AB_TEST_TOKEN", "tok-123456-secret", 1);
    struct config *cfg = NULL;
    const char text[] = "log: {file: \"${env:AB_TEST_TOKEN}\"}\n";
    assert_int_equal(
        config_load_buffer_ex("x", text, strlen(text), CONFIG_LOAD_NO_SUBST, &cfg, &errs),
        AB_ECONFIG);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.items[0].message, "disabled"));
}

static void test_syntax_error_located(void **state)
{
    (void)state;
    assert_null(load("server:\n  listen: \"127.0.0.1:1\n  bogus: 1\n"));
    assert_int_equal(errs.n, 1);
    assert_non_null(strstr(errs.items[0].message, "YAML syntax error"));
    assert_true(errs.items[0].line >= 2);
    assert_null(load("server: {listen: 1\ntenants: x\n"));
    assert_int_equal(errs.n, 1);
}

static void test_duplicate_and_alias(void **state)
{
    (void)state;
    assert_null(load("log: {level: info}\nlog: {level: debug}\n"));
    assert_int_equal(errs.n, 1);
    assert_string_equal(errs.items[0].message, "duplicate key 'log'");
    assert_int_equal(errs.items[0].line, 2);
    assert_null(load("log: &l {level: info}\nstore: *l\n"));
    assert_true(find_error("anchors (&l)") >= 0);
    assert_true(find_error("aliases (*l)") >= 0);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    config_errors_cleanup(&errs);
    assert_int_equal(config_load("/nonexistent/assetbridge.yaml", &cfg, &errs), AB_EIO);
    assert_null(cfg);
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.items[0].line, 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    config_errors_print(&errs, f);
    fclose(f);
    assert_string_equal(out, "/nonexistent/assetbridge.yaml: error: cannot open the "
                             "configuration file: No such file or directory\n");
    free(out);
}

static void load_example(const char *name, struct config **cfg)
{
    const char *dir = getenv("AB_SOURCE_DIR");
    if (!dir)
        skip();
    char path[4096];
    snprintf(path, sizeof(path), "%s/examples/%s", dir, name);
    config_errors_cleanup(&errs);
    enum ab_rc rc = config_load(path, cfg, &errs);
    if (rc)
        config_errors_print(&errs, stderr);
    assert_int_equal(rc, AB_OK);
}

static void test_examples_load(void **state)
{
    (void)state;
    struct config *cfg;
    unsetenv("WATS_TOKEN");
    unsetenv("SAP_PASSWORD");
    load_example("minimal.yaml", &cfg);
    assert_int_equal(cfg->n_tenants, 1);
    assert_string_equal(cfg->tenants[0].name, "default");
    config_free(cfg);

    setenv("WATS_TOKEN", "example-wats-token", 1);
    setenv("SAP_PASSWORD", "example-sap-password", 1);
    load_example("assetbridge.yaml", &cfg);
    const struct config_tenant *t = config_tenant(cfg, "default");
    assert_non_null(t);
    assert_int_equal(t->n_providers, 2);
    assert_string_equal(config_provider(t, "wats")->auth.token, "example-wats-token");
    assert_string_equal(config_provider(t, "sap_pm")->auth.password, "example-sap-password");
    assert_string_equal(t->sites[0].time_zone, "Europe/Oslo");
    char *out = print_to_string(cfg);
    assert_null(strstr(out, "example-wats-token"));
    assert_null(strstr(out, "example-sap-password"));
    free(out);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults, teardown),
        cmocka_unit_test_teardown(test_valid_file_with_provider_defaults, teardown),
        cmocka_unit_test_teardown(test_three_unknown_keys, teardown),
        cmocka_unit_test_teardown(test_type_enum_and_required, teardown),
        cmocka_unit_test_teardown(test_provider_type_and_entities, teardown),
        cmocka_unit_test_teardown(test_system_of_record_unknown_provider, teardown),
        cmocka_unit_test_teardown(test_mode_scalar_and_map, teardown),
        cmocka_unit_test_teardown(test_usage_webhooks_reconcile, teardown),
        cmocka_unit_test_teardown(test_wats_section, teardown),
        cmocka_unit_test_teardown(test_sync_section, teardown),
        cmocka_unit_test_teardown(test_rules_must_be_empty, teardown),
        cmocka_unit_test_teardown(test_tenants_rules, teardown),
        cmocka_unit_test_teardown(test_server_and_store_checks, teardown),
        cmocka_unit_test_teardown(test_size_and_duration_errors, teardown),
        cmocka_unit_test_teardown(test_time_zone, teardown),
        cmocka_unit_test_teardown(test_auth_scheme_needs_credentials, teardown),
        cmocka_unit_test_teardown(test_env_secrets_and_print, teardown),
        cmocka_unit_test_teardown(test_file_secret, teardown),
        cmocka_unit_test_teardown(test_no_subst_flag, teardown),
        cmocka_unit_test_teardown(test_syntax_error_located, teardown),
        cmocka_unit_test_teardown(test_duplicate_and_alias, teardown),
        cmocka_unit_test_teardown(test_missing_file, teardown),
        cmocka_unit_test_teardown(test_examples_load, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
