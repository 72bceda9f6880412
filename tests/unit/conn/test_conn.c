/* SPDX-License-Identifier: Apache-2.0
 *
 * test_conn.c: unit tests for src/conn/conn.h and conn.c: the registry, and
 * the inline wrappers, which must check the ABI, the capability flags and
 * the slots before calling a connector. A mock connector (test-only) counts
 * its calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "conn/conn.h"

static int calls_pull, calls_push, calls_resolve, calls_init, calls_cleanup;

static enum ab_rc mock_init(const struct config_provider *cfg, struct client *client, void **ctx,
                            char *err, size_t errlen)
{
    (void)cfg, (void)client, (void)err, (void)errlen;
    calls_init++;
    *ctx = &calls_init;
    return AB_OK;
}

static void mock_cleanup(void *ctx)
{
    assert_ptr_equal(ctx, &calls_init);
    calls_cleanup++;
}

static enum ab_rc mock_pull(void *ctx, const char *entity, const char *watermark,
                            const char *page_token, struct arena *a, struct conn_page *out)
{
    (void)ctx, (void)watermark, (void)page_token;
    calls_pull++;
    out->records = arena_zalloc(a, sizeof(*out->records));
    out->records[0].native_id = "N1";
    out->records[0].revision = 3;
    out->records[0].modified_at = INT64_MIN;
    out->records[0].doc = conn_arena_own(a, json_pack("{s:s}", "entity", entity));
    out->n_records = 1;
    out->new_watermark = "wm-2";
    return AB_OK;
}

static enum ab_rc mock_push(void *ctx, const struct conn_item *item, struct arena *a,
                            struct conn_result *out)
{
    (void)ctx, (void)a;
    calls_push++;
    out->outcome = strcmp(item->idempotency_key, "k-unknown") == 0 ? CONN_UNKNOWN : CONN_OK;
    return AB_OK;
}

static enum ab_rc mock_resolve(void *ctx, const struct conn_item *item, struct arena *a,
                               enum conn_resolution *out)
{
    (void)ctx, (void)item, (void)a;
    calls_resolve++;
    *out = CONN_RESOLVED_FOUND;
    return AB_OK;
}

static const struct conn_ops mock = {
    CONN_ABI_V1,                                   /* abi */
    "mock",                                        /* name */
    CONN_CAP_PULL_ASSETS | CONN_CAP_PUSH_READINGS, /* caps */
    mock_init,                                     /* init */
    mock_cleanup,                                  /* cleanup */
    NULL,                                          /* health: none */
    mock_pull,                                     /* pull */
    mock_push,                                     /* push */
    mock_resolve,                                  /* resolve */
    NULL,                                          /* translate: none */
};

static void reset(void)
{
    calls_pull = calls_push = calls_resolve = calls_init = calls_cleanup = 0;
}

static void test_registry(void **state)
{
    (void)state;
    /* every registered connector is found by its name, once, with the ABI */
    size_t n = 0;
    for (; conn_registry[n]; n++) {
        assert_int_equal(conn_registry[n]->abi, CONN_ABI_V1);
        assert_ptr_equal(conn_find(conn_registry[n]->name), conn_registry[n]);
        for (size_t k = 0; k < n; k++)
            assert_string_not_equal(conn_registry[k]->name, conn_registry[n]->name);
    }
    assert_int_equal(n, 3);
    assert_non_null(conn_find("generic"));
    assert_non_null(conn_find("wats"));
    assert_non_null(conn_find("sap_pm"));
    assert_string_equal(conn_find("sap_pm")->name, "sap_pm");
    assert_null(conn_find("maximo")); /* a type without a connector */
    assert_null(conn_find(NULL));
}

static void test_caps_maps(void **state)
{
    (void)state;
    assert_int_equal(conn_entity_cap("asset"), CONN_CAP_PULL_ASSETS);
    assert_int_equal(conn_entity_cap("work_order"), CONN_CAP_PULL_WORK_ORDERS);
    assert_int_equal(conn_entity_cap("calibration"), CONN_CAP_PULL_CALIBRATION);
    assert_int_equal(conn_entity_cap("report"), CONN_CAP_PULL_REPORTS);
    assert_int_equal(conn_entity_cap("plan"), 0);
    assert_int_equal(conn_entity_cap(NULL), 0);
    assert_int_equal(conn_action_cap("push_reading"), CONN_CAP_PUSH_READINGS);
    assert_int_equal(conn_action_cap("open_request"), CONN_CAP_OPEN_REQUEST);
    assert_int_equal(conn_action_cap("explode"), 0);
}

static void test_pull_checks_capability(void **state)
{
    (void)state;
    reset();
    struct arena *a = arena_new(0, 0);
    struct conn_page page;
    assert_int_equal(conn_pull(&mock, NULL, "asset", NULL, NULL, a, &page), AB_OK);
    assert_int_equal(calls_pull, 1);
    assert_int_equal(page.n_records, 1);
    assert_string_equal(page.records[0].native_id, "N1");
    assert_string_equal(json_string_value(json_object_get(page.records[0].doc, "entity")), "asset");
    assert_string_equal(page.new_watermark, "wm-2");
    /* work orders: no capability, the slot is not called */
    assert_int_equal(conn_pull(&mock, NULL, "work_order", NULL, NULL, a, &page), AB_EUNSUPPORTED);
    assert_int_equal(conn_pull(&mock, NULL, "bogus", NULL, NULL, a, &page), AB_EUNSUPPORTED);
    assert_int_equal(calls_pull, 1);
    assert_int_equal(page.n_records, 0);
    arena_free(a); /* releases the document (leak-checked under ASan) */
}

static void test_push_checks_capability(void **state)
{
    (void)state;
    reset();
    struct conn_item item = {0};
    struct conn_result res;
    item.action = "push_reading";
    item.idempotency_key = "k1";
    assert_int_equal(conn_push(&mock, NULL, &item, NULL, &res), AB_OK);
    assert_int_equal(res.outcome, CONN_OK);
    assert_int_equal(res.retry_after_ms, -1);
    item.action = "open_request";
    assert_int_equal(conn_push(&mock, NULL, &item, NULL, &res), AB_EUNSUPPORTED);
    item.action = NULL;
    assert_int_equal(conn_push(&mock, NULL, &item, NULL, &res), AB_EUNSUPPORTED);
    assert_int_equal(calls_push, 1);
}

static void test_missing_slots_and_bad_abi(void **state)
{
    (void)state;
    reset();
    struct conn_health h;
    json_t *out = (json_t *)&out;
    assert_int_equal(conn_health(&mock, NULL, NULL, &h), AB_EUNSUPPORTED);
    assert_int_equal(conn_translate(&mock, NULL, CONN_TO_NATIVE, "asset", NULL, NULL, &out),
                     AB_EUNSUPPORTED);
    assert_null(out);

    struct conn_ops bad = mock;
    bad.abi = 99;
    struct arena *a = arena_new(0, 0);
    struct conn_page page;
    assert_false(conn_has(&bad, CONN_CAP_PULL_ASSETS));
    assert_int_equal(conn_pull(&bad, NULL, "asset", NULL, NULL, a, &page), AB_EUNSUPPORTED);
    void *ctx = &ctx;
    assert_int_equal(conn_init(&bad, NULL, NULL, &ctx, NULL, 0), AB_EUNSUPPORTED);
    assert_null(ctx);
    assert_int_equal(calls_pull + calls_init, 0);
    arena_free(a);

    /* a connector without resolve: unknown, never a blind resend */
    struct conn_ops nores = mock;
    nores.resolve = NULL;
    enum conn_resolution r = CONN_RESOLVED_FOUND;
    struct conn_item item = {0};
    assert_int_equal(conn_resolve(&nores, NULL, &item, NULL, &r), AB_OK);
    assert_int_equal(r, CONN_RESOLVED_UNKNOWN);
    assert_int_equal(conn_resolve(&mock, NULL, &item, NULL, &r), AB_OK);
    assert_int_equal(r, CONN_RESOLVED_FOUND);
    assert_int_equal(calls_resolve, 1);
}

static void test_init_cleanup_and_names(void **state)
{
    (void)state;
    reset();
    void *ctx = NULL;
    assert_int_equal(conn_init(&mock, NULL, NULL, &ctx, NULL, 0), AB_OK);
    assert_ptr_equal(ctx, &calls_init);
    conn_cleanup(&mock, ctx);
    assert_int_equal(calls_cleanup, 1);
    assert_string_equal(conn_outcome_name(CONN_UNKNOWN), "unknown");
    assert_string_equal(conn_outcome_name((enum conn_outcome)42), "invalid");
    assert_string_equal(conn_resolution_name(CONN_RESOLVED_NOT_FOUND), "not_found");
    assert_string_equal(conn_check_name(CONN_CHECK_FAILED), "failed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_caps_maps),
        cmocka_unit_test(test_pull_checks_capability),
        cmocka_unit_test(test_push_checks_capability),
        cmocka_unit_test(test_missing_slots_and_bad_abi),
        cmocka_unit_test(test_init_cleanup_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
