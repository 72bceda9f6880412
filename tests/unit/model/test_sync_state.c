/* SPDX-License-Identifier: Apache-2.0
 *
 * test_sync_state.c: unit tests for src/model/sync_state.c: valid input, defaults, JSON
 * round trip, and errors naming the field with the right kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/sync_state.h"

struct tcase {
    const char *json;
    enum ab_rc rc;
    const char *field;
};

static enum ab_rc parse(struct arena *a, const char *text, struct model_sync_status *out,
                        struct model_error *err)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    enum ab_rc rc = model_sync_status_from_json(a, v, out, err);
    json_decref(v);
    return rc;
}

/* Parse text, expect success, and check that to_json -> from_json -> to_json
 * is stable. Returns the parsed value (owned by a). */
static struct model_sync_status ok(struct arena *a, const char *text)
{
    struct model_sync_status x, back;
    struct model_error err;
    if (parse(a, text, &x, &err) != AB_OK)
        fail_msg("%s: %s: %s", text, err.field, err.message);
    json_t *j1 = model_sync_status_to_json(&x);
    assert_int_equal(model_sync_status_from_json(a, j1, &back, &err), AB_OK);
    json_t *j2 = model_sync_status_to_json(&back);
    assert_true(json_equal(j1, j2));
    json_decref(j1);
    json_decref(j2);
    return x;
}

static void check_cases(const struct tcase *cases, size_t n)
{
    struct arena *a = arena_new(0, 0);
    for (size_t i = 0; i < n; i++) {
        struct model_sync_status x;
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
    struct model_sync_status s = ok(a, "{\"provider\":\"sap_pm\",\"entity\":\"work_order\"}");
    assert_int_equal(s.pulled, 0);
    assert_null(s.watermark);
    json_t *j = model_sync_status_to_json(&s);
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 0);
    json_decref(j);
    s = ok(a, "{\"provider\":\"wats\",\"entity\":\"reading\",\"watermark\":\"cursor:abc\","
              "\"last_success_at\":\"2026-01-01T00:00:00Z\",\"last_error\":\"timeout\","
              "\"pulled\":10,\"pushed\":2,\"failed\":1}");
    assert_int_equal(s.entity, MODEL_ENTITY_READING);
    arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"{\"entity\":\"asset\"}", AB_EINVAL, "provider"},
        {"{\"provider\":\"wats\",\"entity\":\"gadget\"}", AB_EINVAL, "entity"},
        {"{\"provider\":\"wats\",\"entity\":\"asset\",\"pulled\":-1}", AB_EINVAL, "pulled"},
        {"{\"provider\":\"wats\",\"entity\":\"asset\",\"watermark\":5}", AB_EPARSE, "watermark"},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
