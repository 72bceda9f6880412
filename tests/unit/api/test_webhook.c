/* SPDX-License-Identifier: Apache-2.0
 *
 * test_webhook.c: unit tests for src/api/webhook.c: the v1 signature against
 * vectors computed independently, verification (tampering, tolerance),
 * secrets, and the validation of event types and subscription URLs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/webhook.h"

static const char SECRET[] = "5f1e0c2a9b7d4e3f8a6c1b0d2e4f6a8c9b1d3e5f7a9c0b2d4e6f8a1c3e5b7d90";
static const char BODY[] = "{\"seq\":1,\"type\":\"asset.created\"}";
#define TS 1767225600 /* 2026-01-01T00:00:00Z */

/* Computed with Python's standard library, not with this code:
 *   import hmac, hashlib
 *   "v1=" + hmac.new(SECRET.encode(), b"1767225600." + BODY.encode(),
 *                    hashlib.sha256).hexdigest()                          */
static const char SIG[] = "v1=e5cbafb4e0a9f3e6b7c137a7acef562381a937ed903824115d89e04749106f23";
/* "v1=" + hmac.new(b"key", b"0.", hashlib.sha256).hexdigest(): empty body */
static const char SIG_EMPTY[] =
    "v1=85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d";

static void test_sign_known_vectors(void **state)
{
    (void)state;
    char out[WEBHOOK_SIG_MAX];
    assert_int_equal(webhook_sign(SECRET, TS, BODY, strlen(BODY), out), AB_OK);
    assert_string_equal(out, SIG);
    assert_int_equal(webhook_sign("key", 0, "", 0, out), AB_OK);
    assert_string_equal(out, SIG_EMPTY);
    /* the length counts, not a NUL: a body with an embedded NUL differs */
    char with_nul[] = "ab\0cd";
    char a[WEBHOOK_SIG_MAX], b[WEBHOOK_SIG_MAX];
    assert_int_equal(webhook_sign("key", 1, with_nul, 5, a), AB_OK);
    assert_int_equal(webhook_sign("key", 1, with_nul, 2, b), AB_OK);
    assert_string_not_equal(a, b);
}

static void test_verify(void **state)
{
    (void)state;
    size_t n = strlen(BODY);
    assert_true(webhook_verify(SECRET, TS, BODY, n, SIG, TS, 300));
    assert_true(webhook_verify(SECRET, TS, BODY, n, SIG, TS + 300, 300));
    assert_true(webhook_verify(SECRET, TS, BODY, n, SIG, TS - 300, 300));
    /* too old, too far ahead */
    assert_false(webhook_verify(SECRET, TS, BODY, n, SIG, TS + 301, 300));
    assert_false(webhook_verify(SECRET, TS, BODY, n, SIG, TS - 301, 300));
    /* a sender's timestamp at either end of int64 is refused, without the
     * distance overflowing (the fuzz smoke found -9223372036854775807) */
    assert_false(webhook_verify(SECRET, INT64_MIN + 1, BODY, n, SIG, TS, 300));
    assert_false(webhook_verify(SECRET, INT64_MIN, BODY, n, SIG, TS, 300));
    assert_false(webhook_verify(SECRET, INT64_MAX, BODY, n, SIG, -TS, 300));
    assert_false(webhook_verify(SECRET, TS, BODY, n, SIG, TS, -1));
    /* another timestamp, body, secret, or a damaged signature */
    assert_false(webhook_verify(SECRET, TS + 1, BODY, n, SIG, TS, 300));
    assert_false(webhook_verify(SECRET, TS, BODY, n - 1, SIG, TS, 300));
    assert_false(webhook_verify("other", TS, BODY, n, SIG, TS, 300));
    char bad[sizeof(SIG)];
    memcpy(bad, SIG, sizeof(SIG));
    bad[10] = bad[10] == '0' ? '1' : '0';
    assert_false(webhook_verify(SECRET, TS, BODY, n, bad, TS, 300));
    assert_false(webhook_verify(SECRET, TS, BODY, n, SIG + 3, TS, 300)); /* no "v1=" */
    assert_false(webhook_verify(SECRET, TS, BODY, n, "", TS, 300));
    assert_false(webhook_verify(SECRET, TS, BODY, n, NULL, TS, 300));
}

static void test_secret_new(void **state)
{
    (void)state;
    char a[2 * WEBHOOK_SECRET_BYTES + 1], b[2 * WEBHOOK_SECRET_BYTES + 1];
    webhook_secret_new(a);
    webhook_secret_new(b);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    assert_string_not_equal(a, b);
}

static void test_event_types(void **state)
{
    (void)state;
    const char *good[] = {"*",     "asset.created", "work_order.completed",
                          "a.b",   "meter.reading", "asset.missing_at_source",
                          "x.y.z", "a.b."};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(webhook_event_type_valid(good[i]));
    const char *bad[] = {"",        "asset",    ".created",  "asset.", "Asset.created",
                         "asset.*", "**",       "asset-x.y", "a.b c",  "asset.created1",
                         "a .b",    "*.created"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(webhook_event_type_valid(bad[i]));
    assert_false(webhook_event_type_valid(NULL));
    char longest[66];
    memset(longest, 'a', 65);
    longest[1] = '.';
    longest[65] = '\0';
    assert_false(webhook_event_type_valid(longest));
    longest[64] = '\0';
    assert_true(webhook_event_type_valid(longest));
}

static void test_urls(void **state)
{
    (void)state;
    const char *why;
    const char *good[] = {"https://example.com/hook",
                          "http://127.0.0.1:8080/x?y=1",
                          "https://[::1]:9443/h",
                          "https://hooks.example.com",
                          "http://h:1",
                          "http://[fe80::1]/x"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_true(webhook_url_valid(good[i], &why));
        assert_null(why);
    }
    const char *bad[] = {"",
                         "example.com/hook",
                         "ftp://example.com/",
                         "https://",
                         "https:///path",
                         "https://:443/",
                         "https://exa mple.com/",
                         "https://example.com/a b",
                         "https://user:pw@example.com/",
                         "https://example.com:0/",
                         "https://example.com:65536/",
                         "https://example.com:/",
                         "https://example.com:8x/",
                         "https://[]/",
                         "https://[zz]/",
                         "https://[1]/hook",
                         "http://[999999999999fe80::1]:9000/",
                         "https://[fe80::1::2]/",
                         "https://ex_ample.com/",
                         "HTTPS//example.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_false(webhook_url_valid(bad[i], &why));
        assert_non_null(why);
    }
    char huge[WEBHOOK_URL_MAX + 16];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    memcpy(huge, "https://a.com/", 14);
    assert_false(webhook_url_valid(huge, &why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_known_vectors),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_secret_new),
        cmocka_unit_test(test_event_types),
        cmocka_unit_test(test_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
