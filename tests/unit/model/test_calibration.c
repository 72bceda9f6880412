/* SPDX-License-Identifier: Apache-2.0
 *
 * test_calibration.c: unit tests for src/model/calibration.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/calibration.h"

static enum ab_rc parse(struct arena *a, const char *text, struct model_calibration *c,
                        struct model_error *err)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    enum ab_rc rc = model_calibration_from_json(a, v, c, err);
    json_decref(v);
    return rc;
}

static void test_parse(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_calibration c;
    struct model_error err;
    assert_int_equal(parse(a, "{\"asset_ref\":\"DMM-7\"}", &c, &err), AB_OK);
    assert_true(c.required);
    assert_int_equal(c.result, MODEL_CAL_UNKNOWN);
    assert_int_equal(c.due_state, MODEL_DUE_OK);
    assert_int_equal(c.system_of_record, MODEL_PROVIDER_HUB);
    assert_int_equal(c.interval_days, 0);
    assert_false(model_value_is_set(c.interval_usage));
    json_t *out = model_calibration_to_json(&c);
    assert_null(json_object_get(out, "interval_days"));
    assert_null(json_object_get(out, "interval_usage"));
    json_decref(out);

    assert_int_equal(
        parse(a,
              "{\"asset_ref\":\"DMM-7\",\"required\":false,\"interval_days\":365,"
              "\"interval_usage\":10000,\"usage_meter_type\":\"cycles\","
              "\"last_calibrated_at\":\"2025-06-01T00:00:00Z\",\"due_at\":\"2026-06-01T00:00:00Z\","
              "\"result\":\"in_tolerance\",\"due_state\":\"due_soon\",\"as_found\":\"out_of_"
              "tolerance\","
              "\"as_left\":\"in_tolerance\",\"certificate_id\":\"C-1\","
              "\"certificate_url\":\"https://cal.example/C-1.pdf\",\"performed_by\":\"Lab\","
              "\"system_of_record\":\"indysoft\"}",
              &c, &err),
        AB_OK);
    assert_false(c.required);
    assert_int_equal(c.as_found, MODEL_CAL_OUT_OF_TOLERANCE);
    assert_int_equal(c.due_state, MODEL_DUE_SOON);
    assert_int_equal(c.system_of_record, MODEL_PROVIDER_INDYSOFT);
    out = model_calibration_to_json(&c);
    struct model_calibration back;
    assert_int_equal(model_calibration_from_json(a, out, &back, &err), AB_OK);
    json_t *out2 = model_calibration_to_json(&back);
    assert_true(json_equal(out, out2));
    json_decref(out);
    json_decref(out2);
    arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        enum ab_rc rc;
        const char *field;
    } cases[] = {
        {"{}", AB_EINVAL, "asset_ref"},
        {"{\"asset_ref\":\"X\",\"required\":\"yes\"}", AB_EPARSE, "required"},
        {"{\"asset_ref\":\"X\",\"interval_days\":0}", AB_EINVAL, "interval_days"},
        {"{\"asset_ref\":\"X\",\"interval_days\":\"30\"}", AB_EPARSE, "interval_days"},
        {"{\"asset_ref\":\"X\",\"interval_usage\":100}", AB_EINVAL, "usage_meter_type"},
        {"{\"asset_ref\":\"X\",\"usage_meter_type\":\"cycles\"}", AB_EINVAL, "interval_usage"},
        {"{\"asset_ref\":\"X\",\"interval_usage\":-1,\"usage_meter_type\":\"cycles\"}", AB_EINVAL,
         "interval_usage"},
        {"{\"asset_ref\":\"X\",\"interval_usage\":1,\"usage_meter_type\":\"laps\"}", AB_EINVAL,
         "usage_meter_type"},
        {"{\"asset_ref\":\"X\",\"result\":\"pass\"}", AB_EINVAL, "result"},
        {"{\"asset_ref\":\"X\",\"due_state\":\"late\"}", AB_EINVAL, "due_state"},
        {"{\"asset_ref\":\"X\",\"as_left\":true}", AB_EPARSE, "as_left"},
        {"{\"asset_ref\":\"X\",\"certificate_url\":\"ftp://x\"}", AB_EINVAL, "certificate_url"},
        {"{\"asset_ref\":\"X\",\"system_of_record\":\"excel\"}", AB_EINVAL, "system_of_record"},
        {"{\"asset_ref\":\"X\",\"due\":\"2026-01-01T00:00:00Z\"}", AB_EPARSE, "due"},
    };
    struct arena *a = arena_new(0, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct model_calibration c;
        struct model_error err;
        enum ab_rc rc = parse(a, cases[i].json, &c, &err);
        if (rc != cases[i].rc || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: rc %d field '%s' (%s)", i, rc, err.field, err.message);
    }
    arena_free(a);
    enum model_cal_result r;
    assert_true(model_cal_result_parse("out_of_tolerance", &r));
    assert_string_equal(model_due_state_name(MODEL_DUE_OVERDUE), "overdue");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
