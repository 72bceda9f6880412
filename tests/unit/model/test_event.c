/* SPDX-License-Identifier: Apache-2.0
 *
 * test_event.c: unit tests for src/model/event.c: valid input, defaults, JSON
 * round trip, and errors naming the field with the right kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/event.h"

struct tcase {
    const char *json;
    enum ab_rc rc;
    const char *field;
};

static enum ab_rc parse(struct arena *a, const char *text, struct model_event *out,
                        struct model_error *err)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    enum ab_rc rc = model_event_from_json(a, v, out, err);
    json_decref(v);
    return rc;
}

/* Parse text, expect success, and check that to_json -> from_json -> to_json
 * is stable. Returns the parsed value (owned by a). */
static struct model_event ok(struct arena *a, const char *text)
{
    struct model_event x, back;
    struct model_error err;
    if (parse(a, text, &x, &err) != AB_OK)
        fail_msg("%s: %s: %s", text, err.field, err.message);
    json_t *j1 = model_event_to_json(&x);
    assert_int_equal(model_event_from_json(a, j1, &back, &err), AB_OK);
    json_t *j2 = model_event_to_json(&back);
    assert_true(json_equal(j1, j2));
    json_decref(j1);
    json_decref(j2);
    return x;
}

static void check_cases(const struct tcase *cases, size_t n)
{
    struct arena *a = arena_new(0, 0);
    for (size_t i = 0; i < n; i++) {
        struct model_event x;
        struct model_error err;
        enum ab_rc rc = parse(a, cases[i].json, &x, &err);
        if (rc != cases[i].rc || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: rc %d field '%s' (%s)", i, rc, err.field, err.message);
        assert_int_equal(err.kind, rc == AB_EPARSE ? MODEL_ERR_TYPE : MODEL_ERR_VALUE);
    }
    arena_free(a);
}

static void test_types(void **state)
{
    (void)state;
    size_t n = 0;
    for (const char *t; (t = model_event_type_at(n)); n++) {
        assert_true(model_event_type_known(t));
        assert_true(model_event_type_valid(t));
    }
    assert_int_equal(n, 20);
    assert_true(model_event_type_known("mapping.exception"));
    assert_false(model_event_type_known("asset.exploded"));
    assert_true(model_event_type_valid("asset.exploded")); /* unknown types are not blocked */
    assert_true(model_event_type_valid("a.b.c9_x"));
    const char *bad[] = {"",         "asset",          "asset.",
                         ".asset",   "Asset.created",  "asset..created",
                         "asset.9x", "asset.cre-ated", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_false(model_event_type_valid(bad[i]));
    assert_false(model_event_type_valid(NULL));
}

static void test_valid(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_event e =
        ok(a, "{\"tenant\":\"acme\",\"seq\":42,\"type\":\"asset.moved\","
              "\"subject\":\"asset/FX-1001\",\"payload\":{\"from\":\"L1\"},"
              "\"correlation_id\":\"01J0\",\"occurred_at\":\"2026-01-01T00:00:00Z\"}");
    assert_int_equal(e.seq, 42);
    assert_string_equal(json_string_value(json_object_get(e.payload, "from")), "L1");
    e = ok(a, "{\"tenant\":\"acme\",\"type\":\"future.thing\",\"subject\":\"x/1\","
              "\"occurred_at\":\"2026-01-01T00:00:00Z\"}");
    assert_int_equal(e.seq, 0);
    assert_null(e.payload);
    json_t *j = model_event_to_json(&e);
    assert_true(json_is_object(json_object_get(j, "payload")));
    assert_null(json_object_get(j, "seq"));
    json_decref(j);
    arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
#define T "\"tenant\":\"acme\",\"occurred_at\":\"2026-01-01T00:00:00Z\","
    static const struct tcase cases[] = {
        {"{" T "\"subject\":\"a/1\"}", AB_EINVAL, "type"},
        {"{" T "\"type\":\"Asset\",\"subject\":\"a/1\"}", AB_EINVAL, "type"},
        {"{" T "\"type\":\"a.b\",\"subject\":\"a\"}", AB_EINVAL, "subject"},
        {"{" T "\"type\":\"a.b\",\"subject\":\"a/1\",\"payload\":[]}", AB_EPARSE, "payload"},
        {"{" T "\"type\":\"a.b\",\"subject\":\"a/1\",\"seq\":0}", AB_EINVAL, "seq"},
        {"{\"tenant\":\"acme\",\"type\":\"a.b\",\"subject\":\"a/1\"}", AB_EINVAL, "occurred_at"},
        {"{" T "\"type\":\"a.b\",\"subject\":\"a/1\",\"data\":{}}", AB_EPARSE, "data"},
    };
#undef T
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_types), cmocka_unit_test(test_valid),
                                       cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
