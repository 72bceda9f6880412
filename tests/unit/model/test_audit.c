/* SPDX-License-Identifier: Apache-2.0
 *
 * test_audit.c: unit tests for src/model/audit.c: valid input, defaults, JSON
 * round trip, and errors naming the field with the right kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/audit.h"

struct tcase {
    const char *json;
    enum ab_rc rc;
    const char *field;
};

static enum ab_rc parse(struct arena *a, const char *text, struct model_audit *out,
                        struct model_error *err)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    enum ab_rc rc = model_audit_from_json(a, v, out, err);
    json_decref(v);
    return rc;
}

/* Parse text, expect success, and check that to_json -> from_json -> to_json
 * is stable. Returns the parsed value (owned by a). */
static struct model_audit ok(struct arena *a, const char *text)
{
    struct model_audit x, back;
    struct model_error err;
    if (parse(a, text, &x, &err) != AB_OK)
        fail_msg("%s: %s: %s", text, err.field, err.message);
    json_t *j1 = model_audit_to_json(&x);
    assert_int_equal(model_audit_from_json(a, j1, &back, &err), AB_OK);
    json_t *j2 = model_audit_to_json(&back);
    assert_true(json_equal(j1, j2));
    json_decref(j1);
    json_decref(j2);
    return x;
}

static void check_cases(const struct tcase *cases, size_t n)
{
    struct arena *a = arena_new(0, 0);
    for (size_t i = 0; i < n; i++) {
        struct model_audit x;
        struct model_error err;
        enum ab_rc rc = parse(a, cases[i].json, &x, &err);
        if (rc != cases[i].rc || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: rc %d field '%s' (%s)", i, rc, err.field, err.message);
        assert_int_equal(err.kind, rc == AB_EPARSE ? MODEL_ERR_TYPE : MODEL_ERR_VALUE);
    }
    arena_free(a);
}

#define D "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_valid(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_audit x = ok(a, "{\"actor\":\"key:01J\",\"action\":\"asset.put\","
                                 "\"subject\":\"asset/FX-1\",\"after_digest\":\"" D "\","
                                 "\"at\":\"2026-01-01T00:00:00.250Z\"}");
    assert_null(x.before_digest);
    assert_int_equal(x.at % 1000, 250);
    arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct tcase cases[] = {
        {"{\"action\":\"a\",\"subject\":\"s\",\"at\":\"2026-01-01T00:00:00Z\"}", AB_EINVAL,
         "actor"},
        {"{\"actor\":\"k\",\"action\":\"a\",\"subject\":\"s\",\"at\":\"2026-01-01T00:00:00Z\","
         "\"before_digest\":\"" D "0\"}",
         AB_EINVAL, "before_digest"},
        {"{\"actor\":\"k\",\"action\":\"a\",\"subject\":\"s\",\"at\":\"2026-01-01T00:00:00Z\","
         "\"after_digest\":\"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\"}",
         AB_EINVAL, "after_digest"},
        {"{\"actor\":\"k\",\"action\":\"a\",\"subject\":\"s\",\"at\":1}", AB_EPARSE, "at"},
    };
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
