/* SPDX-License-Identifier: Apache-2.0
 *
 * test_str.c: unit tests for src/core/str.c and src/core/result.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/result.h"
#include "core/str.h"

static void test_to_i64(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(str_to_i64("0", &v), AB_OK);
    assert_int_equal(v, 0);
    assert_int_equal(str_to_i64("-42", &v), AB_OK);
    assert_int_equal(v, -42);
    assert_int_equal(str_to_i64("9223372036854775807", &v), AB_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(str_to_i64("-9223372036854775808", &v), AB_OK);
    assert_int_equal(v, INT64_MIN);
    const char *bad[] = {
        "", "-", "+", " 1", "1 ", "1x", "9223372036854775808", "-9223372036854775809", "0x10"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(str_to_i64(bad[i], &v), AB_EINVAL);
}

static void test_lcpy(void **state)
{
    (void)state;
    char d[4];
    assert_int_equal(str_lcpy(d, "abc", sizeof(d)), 3);
    assert_string_equal(d, "abc");
    assert_int_equal(str_lcpy(d, "abcdef", sizeof(d)), 6);
    assert_string_equal(d, "abc");
}

static void test_json_escape(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 256);
    const char in[] = "a\"b\\c\nd\x01";
    assert_int_equal(str_json_escape(&b, in, sizeof(in) - 1), AB_OK);
    assert_string_equal(buf_str(&b), "a\\\"b\\\\c\\nd\\u0001");
    buf_cleanup(&b);
    buf_init(&b, 3);
    assert_int_equal(str_json_escape(&b, "\"\"", 2), AB_ETOOLARGE);
    buf_cleanup(&b);
    /* valid UTF-8 is kept; a stray byte, an overlong form, a surrogate and a
     * sequence cut short each become U+FFFD per byte: always valid JSON */
    buf_init(&b, 256);
    const char mixed[] = "\xc3\xa6X\xf1Y\xc0\xafZ\xed\xa0\x80\xe2\x82";
    assert_int_equal(str_json_escape(&b, mixed, sizeof(mixed) - 1), AB_OK);
    assert_string_equal(buf_str(&b), "\xc3\xa6X\\ufffdY\\ufffd\\ufffdZ\\ufffd\\ufffd\\ufffd"
                                     "\\ufffd\\ufffd");
    assert_true(str_utf8_valid(buf_str(&b), b.len));
    buf_cleanup(&b);
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(str_edit_distance("scheme", "schme", 3), 1);
    assert_int_equal(str_edit_distance("listen", "listne", 3), 2);
    assert_int_equal(str_edit_distance("", "abc", 5), 3);
    assert_int_equal(str_edit_distance("tenants", "providers", 2), 3); /* capped */
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(str_utf8_valid("plain", 5));
    assert_true(str_utf8_valid("Ølen ✓ 😀", strlen("Ølen ✓ 😀")));
    assert_false(str_utf8_valid("\xc0\xaf", 2));     /* overlong */
    assert_false(str_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(str_utf8_valid("\xe2\x9c", 2));     /* truncated */
    assert_false(str_utf8_valid("\xff", 1));
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(ab_rc_name(AB_OK), "ok");
    assert_string_equal(ab_rc_name(AB_ENOTFOUND), "not_found");
    assert_false(ab_rc_retryable(AB_OK));
    assert_false(ab_rc_retryable(AB_EINVAL));
    assert_false(ab_rc_retryable(AB_EAUTH));
    assert_true(ab_rc_retryable(AB_ETIMEOUT));
    assert_true(ab_rc_retryable(AB_ERATELIMIT));
    assert_true(ab_rc_retryable(AB_EUNKNOWN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_to_i64),      cmocka_unit_test(test_lcpy),
        cmocka_unit_test(test_json_escape), cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_utf8),        cmocka_unit_test(test_result_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
