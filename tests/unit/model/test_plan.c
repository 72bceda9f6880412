/* SPDX-License-Identifier: Apache-2.0
 *
 * test_plan.c: unit tests for src/model/plan.c: valid input, defaults, JSON
 * round trip, and errors naming the field with the right kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/plan.h"

struct tcase {
    const char *json;
    enum ab_rc rc;
    const char *field;
};

static enum ab_rc parse(struct arena *a, const char *text, struct model_plan *out,
                        struct model_error *err)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    enum ab_rc rc = model_plan_from_json(a, v, out, err);
    json_decref(v);
    return rc;
}

/* Parse text, expect success, and check that to_json -> from_json -> to_json
 * is stable. Returns the parsed value (owned by a). */
static struct model_plan ok(struct arena *a, const char *text)
{
    struct model_plan x, back;
    struct model_error err;
    if (parse(a, text, &x, &err) != AB_OK)
        fail_msg("%s: %s: %s", text, err.field, err.message);
    json_t *j1 = model_plan_to_json(&x);
    assert_int_equal(model_plan_from_json(a, j1, &back, &err), AB_OK);
    json_t *j2 = model_plan_to_json(&back);
    assert_true(json_equal(j1, j2));
    json_decref(j1);
    json_decref(j2);
    return x;
}

static void check_cases(const struct tcase *cases, size_t n)
{
    struct arena *a = arena_new(0, 0);
    for (size_t i = 0; i < n; i++) {
        struct model_plan x;
        struct model_error err;
        enum ab_rc rc = parse(a, cases[i].json, &x, &err);
        if (rc != cases[i].rc || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: rc %d field '%s' (%s)", i, rc, err.field, err.message);
        assert_int_equal(err.kind, rc == AB_EPARSE ? MODEL_ERR_TYPE : MODEL_ERR_VALUE);
    }
    arena_free(a);
}

static void test_valid(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_plan p = ok(a, "{\"plan_id\":\"PM-1\",\"asset_ref\":\"X\",\"trigger\":\"time\","
                                "\"interval\":90,\"next_due_at\":\"2026-03-01T00:00:00Z\"}");
    assert_string_equal(p.interval_unit, "days");
    assert_int_equal(p.system_of_record, MODEL_PROVIDER_HUB);
    p = ok(a, "{\"plan_id\":\"PM-2\",\"asset_ref\":\"X\",\"trigger\":\"usage\",\"interval\":5000,"
              "\"interval_unit\":\"cycles\",\"next_due_reading\":15000,\"description\":\"grease\","
              "\"system_of_record\":\"sap_pm\"}");
    assert_int_equal(p.trigger, MODEL_TRIGGER_USAGE);
    assert_true(p.next_due_reading == 15000);
    p = ok(a, "{\"plan_id\":\"PM-3\",\"asset_ref\":\"X\",\"trigger\":\"condition\"}");
    assert_false(model_value_is_set(p.interval));
    arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"{\"asset_ref\":\"X\",\"trigger\":\"time\",\"interval\":1}", AB_EINVAL, "plan_id"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\"}", AB_EINVAL, "trigger"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"weekly\"}", AB_EINVAL, "trigger"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"time\"}", AB_EINVAL, "interval"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"time\",\"interval\":1.5}", AB_EINVAL,
         "interval"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"time\",\"interval\":0}", AB_EINVAL,
         "interval"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"time\",\"interval\":\"30\"}",
         AB_EPARSE, "interval"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"time\",\"interval\":7,"
         "\"interval_unit\":\"weeks\"}",
         AB_EINVAL, "interval_unit"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"usage\",\"interval\":7}", AB_EINVAL,
         "interval_unit"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"usage\",\"interval\":7,"
         "\"interval_unit\":\"days\"}",
         AB_EINVAL, "interval_unit"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"time\",\"interval\":7,"
         "\"next_due_reading\":5}",
         AB_EINVAL, "next_due_reading"},
        {"{\"plan_id\":\"P\",\"asset_ref\":\"X\",\"trigger\":\"condition\",\"interval\":7}",
         AB_EINVAL, "interval_unit"},
        {"{\"plan_id\":\"P Q\",\"asset_ref\":\"X\",\"trigger\":\"condition\"}", AB_EINVAL,
         "plan_id"},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
