/* SPDX-License-Identifier: Apache-2.0
 *
 * test_buf.c: unit tests for src/core/buf.c, above all the ceiling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void test_append_and_terminate(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_append_str(&b, "FX-"), AB_OK);
    assert_int_equal(buf_printf(&b, "%04d", 7), AB_OK);
    assert_int_equal(buf_append_char(&b, '!'), AB_OK);
    assert_string_equal(buf_str(&b), "FX-0007!");
    assert_int_equal(b.len, 8);
    buf_reset(&b);
    assert_string_equal(buf_str(&b), "");
    buf_cleanup(&b);
}

static void test_ceiling_exact_and_over(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "0123456789", 10), AB_OK); /* exactly at the ceiling */
    assert_int_equal(b.len, 10);
    assert_int_equal(buf_append_char(&b, 'x'), AB_ETOOLARGE); /* one past */
    assert_int_equal(b.len, 10);                              /* unchanged */
    assert_string_equal(buf_str(&b), "0123456789");
    assert_int_equal(buf_printf(&b, "%d", 1), AB_ETOOLARGE);
    assert_string_equal(buf_str(&b), "0123456789");
    buf_cleanup(&b);
}

static void test_printf_over_ceiling_leaves_buffer(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_append_str(&b, "abc"), AB_OK);
    assert_int_equal(buf_printf(&b, "%s", "123456"), AB_ETOOLARGE);
    assert_string_equal(buf_str(&b), "abc");
    assert_int_equal(buf_printf(&b, "%s", "12345"), AB_OK);
    assert_string_equal(buf_str(&b), "abc12345");
    buf_cleanup(&b);
}

static void test_huge_size_does_not_overflow(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_append_str(&b, "x"), AB_OK);
    assert_int_equal(buf_append(&b, "y", SIZE_MAX), AB_ETOOLARGE);
    assert_int_equal(b.len, 1);
    buf_cleanup(&b);
}

static void test_take(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    size_t len = 99;
    char *empty = buf_take(&b, &len);
    assert_string_equal(empty, "");
    assert_int_equal(len, 0);
    free(empty);
    assert_int_equal(buf_append_str(&b, "hello"), AB_OK);
    char *s = buf_take(&b, &len);
    assert_string_equal(s, "hello");
    assert_int_equal(len, 5);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    free(s);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_terminate),
        cmocka_unit_test(test_ceiling_exact_and_over),
        cmocka_unit_test(test_printf_over_ceiling_leaves_buffer),
        cmocka_unit_test(test_huge_size_does_not_overflow),
        cmocka_unit_test(test_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
