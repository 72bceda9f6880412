/* SPDX-License-Identifier: Apache-2.0
 *
 * test_attachment.c: unit tests for src/model/attachment.c: valid input, defaults, JSON
 * round trip, and errors naming the field with the right kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/attachment.h"

struct tcase {
    const char *json;
    enum ab_rc rc;
    const char *field;
};

static enum ab_rc parse(struct arena *a, const char *text, struct model_attachment *out,
                        struct model_error *err)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    enum ab_rc rc = model_attachment_from_json(a, v, out, err);
    json_decref(v);
    return rc;
}

/* Parse text, expect success, and check that to_json -> from_json -> to_json
 * is stable. Returns the parsed value (owned by a). */
static struct model_attachment ok(struct arena *a, const char *text)
{
    struct model_attachment x, back;
    struct model_error err;
    if (parse(a, text, &x, &err) != AB_OK)
        fail_msg("%s: %s: %s", text, err.field, err.message);
    json_t *j1 = model_attachment_to_json(&x);
    assert_int_equal(model_attachment_from_json(a, j1, &back, &err), AB_OK);
    json_t *j2 = model_attachment_to_json(&back);
    assert_true(json_equal(j1, j2));
    json_decref(j1);
    json_decref(j2);
    return x;
}

static void check_cases(const struct tcase *cases, size_t n)
{
    struct arena *a = arena_new(0, 0);
    for (size_t i = 0; i < n; i++) {
        struct model_attachment x;
        struct model_error err;
        enum ab_rc rc = parse(a, cases[i].json, &x, &err);
        if (rc != cases[i].rc || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: rc %d field '%s' (%s)", i, rc, err.field, err.message);
        assert_int_equal(err.kind, rc == AB_EPARSE ? MODEL_ERR_TYPE : MODEL_ERR_VALUE);
    }
    arena_free(a);
}

#define SHA "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"

static void test_valid(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_attachment x =
        ok(a, "{\"owner_kind\":\"calibration\",\"owner_id\":\"DMM-7\",\"file_name\":\"cert 1.pdf\","
              "\"size\":0,\"sha256\":\"" SHA "\",\"provider_ref\":\"doc-9\"}");
    assert_int_equal(x.owner_kind, MODEL_OWNER_CALIBRATION);
    assert_string_equal(x.media_type, "application/octet-stream");
    assert_string_equal(x.sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    x = ok(a, "{\"owner_kind\":\"work_order\",\"owner_id\":\"01J0000000000000000000000A\","
              "\"file_name\":\"p.jpg\",\"media_type\":\"image/jpeg\",\"size\":1234,"
              "\"sha256\":\"" SHA "\"}");
    assert_int_equal(x.size, 1234);
    assert_true(model_sha256_hex_valid(SHA));
    assert_false(model_sha256_hex_valid("abc"));
    arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
#define BASE "\"owner_kind\":\"asset\",\"owner_id\":\"X\",\"size\":1,"
    static const struct tcase cases[] = {
        {"{\"owner_id\":\"X\",\"file_name\":\"a\",\"size\":1,\"sha256\":\"" SHA "\"}", AB_EINVAL,
         "owner_kind"},
        {"{\"owner_kind\":\"plan\",\"owner_id\":\"X\",\"file_name\":\"a\",\"size\":1,"
         "\"sha256\":\"" SHA "\"}",
         AB_EINVAL, "owner_kind"},
        {"{" BASE "\"file_name\":\"../etc/passwd\",\"sha256\":\"" SHA "\"}", AB_EINVAL,
         "file_name"},
        {"{" BASE "\"file_name\":\"..\",\"sha256\":\"" SHA "\"}", AB_EINVAL, "file_name"},
        {"{" BASE "\"file_name\":\"a\\nb\",\"sha256\":\"" SHA "\"}", AB_EINVAL, "file_name"},
        {"{" BASE "\"file_name\":\"a\",\"sha256\":\"abc\"}", AB_EINVAL, "sha256"},
        {"{" BASE "\"file_name\":\"a\",\"sha256\":\"" SHA "\",\"media_type\":\"pdf\"}", AB_EINVAL,
         "media_type"},
        {"{\"owner_kind\":\"asset\",\"owner_id\":\"X\",\"size\":-1,\"file_name\":\"a\","
         "\"sha256\":\"" SHA "\"}",
         AB_EINVAL, "size"},
        {"{\"owner_kind\":\"asset\",\"owner_id\":\"X\",\"size\":\"1\",\"file_name\":\"a\","
         "\"sha256\":\"" SHA "\"}",
         AB_EPARSE, "size"},
        {"{\"owner_kind\":\"asset\",\"owner_id\":\"X\",\"file_name\":\"a\",\"sha256\":\"" SHA "\"}",
         AB_EINVAL, "size"},
        {"{" BASE "\"file_name\":\"a\",\"sha256\":\"" SHA "\",\"content\":\"x\"}", AB_EPARSE,
         "content"},
    };
#undef BASE
    check_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_valid), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
