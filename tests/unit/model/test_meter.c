/* SPDX-License-Identifier: Apache-2.0
 *
 * test_meter.c: unit tests for src/model/meter.c: the meter-type registry,
 * meters, and the reading rules (value vs increment, gauges, future limit,
 * defaults, idempotency keys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/meter.h"

#define NOW 1767225600000LL /* 2026-01-01T00:00:00Z */

static int reset(void **state)
{
    (void)state;
    model_meter_type_reset();
    return 0;
}

static void test_registry(void **state)
{
    (void)state;
    assert_int_equal(model_meter_type_count(), 4);
    const char *builtin[] = {"cycles", "run_hours", "shots", "units_tested"};
    for (size_t i = 0; i < 4; i++) {
        const struct model_meter_type *t = model_meter_type_find(builtin[i]);
        assert_non_null(t);
        assert_int_equal(t->kind, MODEL_METER_COUNTER);
        assert_ptr_equal(model_meter_type_at(i), t);
    }
    assert_null(model_meter_type_find("temperature"));
    assert_int_equal(model_meter_type_register("temperature", MODEL_METER_GAUGE, "degC"), AB_OK);
    assert_int_equal(model_meter_type_register("temperature", MODEL_METER_GAUGE, "degC"), AB_OK);
    assert_int_equal(model_meter_type_register("temperature", MODEL_METER_COUNTER, "degC"),
                     AB_ECONFLICT);
    assert_int_equal(model_meter_type_register("cycles", MODEL_METER_GAUGE, "x"), AB_ECONFLICT);
    assert_int_equal(model_meter_type_register("Bad", MODEL_METER_GAUGE, "x"), AB_EINVAL);
    assert_int_equal(model_meter_type_register("9lives", MODEL_METER_GAUGE, "x"), AB_EINVAL);
    assert_int_equal(model_meter_type_register("ok", MODEL_METER_GAUGE, ""), AB_EINVAL);
    assert_int_equal(model_meter_type_register("ok", MODEL_METER_KIND_COUNT, "x"), AB_EINVAL);
    assert_int_equal(model_meter_type_count(), 5);
    assert_int_equal(model_meter_type_find("temperature")->kind, MODEL_METER_GAUGE);
    char name[16];
    enum ab_rc rc = AB_OK;
    for (int i = 0; rc == AB_OK; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        rc = model_meter_type_register(name, MODEL_METER_COUNTER, "u");
    }
    assert_int_equal(rc, AB_ETOOLARGE);
    assert_int_equal(model_meter_type_count(), MODEL_METER_TYPES_MAX);
    model_meter_type_reset();
    assert_int_equal(model_meter_type_count(), 4);
    assert_null(model_meter_type_find("temperature"));
}

static enum ab_rc reading(struct arena *a, const char *text, struct model_reading *r,
                          struct model_error *err)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    enum ab_rc rc = model_reading_from_json_at(a, v, NOW, MODEL_READING_MAX_FUTURE_MS, r, err);
    json_decref(v);
    return rc;
}

static void test_reading(void **state)
{
    (void)state;
    assert_true(sizeof(struct model_reading) <= 48);
    struct arena *a = arena_new(0, 0);
    struct model_reading r;
    struct model_error err;
    assert_int_equal(
        reading(a, "{\"asset_ref\":\"FX-1\",\"meter_type\":\"cycles\",\"increment\":3}", &r, &err),
        AB_OK);
    assert_int_equal(r.mode, MODEL_READING_INCREMENT);
    assert_true(r.amount == 3.0);
    assert_int_equal(r.read_at, NOW);                /* default now */
    assert_int_equal(r.source, MODEL_SOURCE_MANUAL); /* default manual */
    assert_null(r.idempotency_key);

    assert_int_equal(reading(a,
                             "{\"asset_ref\":\"FX-1\",\"meter_type\":\"run_hours\",\"value\":12.5,"
                             "\"read_at\":\"2026-01-01T00:04:59Z\",\"source\":\"tester\","
                             "\"idempotency_key\":\"st-7/run 42\"}",
                             &r, &err),
                     AB_OK);
    assert_int_equal(r.mode, MODEL_READING_VALUE);
    assert_int_equal(r.source, MODEL_SOURCE_TESTER);
    assert_int_equal(r.read_at, NOW + 299000);
    assert_string_equal(r.idempotency_key, "st-7/run 42");
    json_t *out = model_reading_to_json(&r);
    struct model_reading back;
    assert_int_equal(
        model_reading_from_json_at(a, out, NOW, MODEL_READING_MAX_FUTURE_MS, &back, &err), AB_OK);
    assert_int_equal(back.read_at, r.read_at);
    assert_true(back.amount == r.amount);
    assert_string_equal(json_string_value(json_object_get(out, "source")), "tester");
    json_decref(out);

    /* gauges take values, even negative ones, never increments */
    assert_int_equal(model_meter_type_register("temperature", MODEL_METER_GAUGE, "degC"), AB_OK);
    assert_int_equal(
        reading(a, "{\"asset_ref\":\"X\",\"meter_type\":\"temperature\",\"value\":-4}", &r, &err),
        AB_OK);
    arena_free(a);
}

static void test_reading_errors(void **state)
{
    (void)state;
    assert_int_equal(model_meter_type_register("temperature", MODEL_METER_GAUGE, "degC"), AB_OK);
    static const struct {
        const char *json;
        enum ab_rc rc;
        const char *field;
    } cases[] = {
        {"[]", AB_EPARSE, ""},
        {"{\"meter_type\":\"cycles\",\"value\":1}", AB_EINVAL, "asset_ref"},
        {"{\"asset_ref\":\"X\",\"value\":1}", AB_EINVAL, "meter_type"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"laps\",\"value\":1}", AB_EINVAL, "meter_type"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\"}", AB_EINVAL, "value"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,\"increment\":1}", AB_EINVAL,
         "increment"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"increment\":-1}", AB_EINVAL,
         "increment"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":-1}", AB_EINVAL, "value"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"temperature\",\"increment\":1}", AB_EINVAL,
         "increment"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":\"1\"}", AB_EPARSE, "value"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,"
         "\"read_at\":\"2026-01-01T00:05:01Z\"}",
         AB_EINVAL, "read_at"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,\"read_at\":1}", AB_EPARSE,
         "read_at"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,\"source\":\"robot\"}",
         AB_EINVAL, "source"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,\"idempotency_key\":\"\"}",
         AB_EINVAL, "idempotency_key"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,"
         "\"idempotency_key\":\"k\\u00e9y\"}",
         AB_EINVAL, "idempotency_key"},
        {"{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,\"tenant\":\"t\"}", AB_EPARSE,
         "tenant"},
    };
    struct arena *a = arena_new(0, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct model_reading r;
        struct model_error err;
        enum ab_rc rc = reading(a, cases[i].json, &r, &err);
        if (rc != cases[i].rc || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: rc %d field '%s' (%s)", i, rc, err.field, err.message);
    }
    /* 128 printable characters pass, 129 do not */
    char text[300], key[130];
    memset(key, 'k', 129);
    key[129] = '\0';
    struct model_reading r;
    struct model_error err;
    snprintf(
        text, sizeof(text),
        "{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,\"idempotency_key\":\"%s\"}",
        key);
    assert_int_equal(reading(a, text, &r, &err), AB_EINVAL);
    key[128] = '\0';
    snprintf(
        text, sizeof(text),
        "{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,\"idempotency_key\":\"%s\"}",
        key);
    assert_int_equal(reading(a, text, &r, &err), AB_OK);
    /* the future allowance is the caller's */
    json_t *v = json_loads("{\"asset_ref\":\"X\",\"meter_type\":\"cycles\",\"value\":1,"
                           "\"read_at\":\"2026-01-01T00:00:02Z\"}",
                           0, NULL);
    assert_int_equal(model_reading_from_json_at(a, v, NOW, 1000, &r, &err), AB_EINVAL);
    assert_int_equal(model_reading_from_json_at(a, v, NOW, 2000, &r, &err), AB_OK);
    json_decref(v);
    arena_free(a);
}

static void test_meter(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_meter m;
    struct model_error err;
    json_t *v = json_loads("{\"asset_ref\":\"FX-1\",\"meter_type\":\"run_hours\"}", 0, NULL);
    assert_int_equal(model_meter_from_json(a, v, &m, &err), AB_OK);
    json_decref(v);
    assert_string_equal(m.unit, "h");
    assert_int_equal(m.kind, MODEL_METER_COUNTER);
    assert_true(m.value == 0);
    assert_int_equal(m.last_read_at, MODEL_TIME_UNSET);
    json_t *out = model_meter_to_json(&m);
    assert_null(json_object_get(out, "last_source"));
    assert_string_equal(json_string_value(json_object_get(out, "kind")), "counter");
    json_decref(out);

    v = json_loads("{\"asset_ref\":\"FX-1\",\"meter_type\":\"cycles\",\"value\":10,"
                   "\"last_read_at\":\"2026-01-01T00:00:00Z\",\"last_source\":\"plc\","
                   "\"reading_count\":4,\"unit\":\"strokes\"}",
                   0, NULL);
    assert_int_equal(model_meter_from_json(a, v, &m, &err), AB_OK);
    json_decref(v);
    out = model_meter_to_json(&m);
    assert_string_equal(json_string_value(json_object_get(out, "last_source")), "plc");
    assert_string_equal(json_string_value(json_object_get(out, "unit")), "strokes");
    json_decref(out);

    v = json_loads("{\"asset_ref\":\"FX-1\",\"meter_type\":\"cycles\",\"kind\":\"gauge\"}", 0,
                   NULL);
    assert_int_equal(model_meter_from_json(a, v, &m, &err), AB_EINVAL);
    assert_string_equal(err.field, "kind");
    json_decref(v);
    v = json_loads("{\"asset_ref\":\"FX-1\",\"meter_type\":\"cycles\",\"reading_count\":-1}", 0,
                   NULL);
    assert_int_equal(model_meter_from_json(a, v, &m, &err), AB_EINVAL);
    assert_string_equal(err.field, "reading_count");
    json_decref(v);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_registry, reset),
        cmocka_unit_test_teardown(test_reading, reset),
        cmocka_unit_test_teardown(test_reading_errors, reset),
        cmocka_unit_test_teardown(test_meter, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
