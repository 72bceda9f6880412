/* SPDX-License-Identifier: Apache-2.0
 *
 * test_router.c: unit tests for route matching and URL decoding in
 * src/http/server.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/http.h"

static void test_literal_and_params(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    const char *names[HTTP_MAX_PARAMS], *params[HTTP_MAX_PARAMS];
    size_t n = 99;
    assert_true(http_route_match(a, "/healthz", "/healthz", names, params, &n));
    assert_int_equal(n, 0);
    assert_false(http_route_match(a, "/healthz", "/healthz/", names, params, &n));
    assert_false(http_route_match(a, "/healthz", "/health", names, params, &n));
    assert_true(http_route_match(a, "/v1/assets/{ref}", "/v1/assets/FX-1001", names, params, &n));
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "ref");
    assert_string_equal(params[0], "FX-1001");
    assert_true(http_route_match(a, "/v1/assets/{ref}/meters/{meter}",
                                 "/v1/assets/sap_pm%3A10000042/meters/cycles", names, params, &n));
    assert_int_equal(n, 2);
    assert_string_equal(params[0], "sap_pm:10000042");
    assert_string_equal(params[1], "cycles");
    assert_false(http_route_match(a, "/v1/assets/{ref}", "/v1/assets/", names, params, &n));
    assert_false(http_route_match(a, "/v1/assets/{ref}", "/v1/assets/a/b", names, params, &n));
    arena_free(a);
}

static void test_action_verbs(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    const char *names[HTTP_MAX_PARAMS], *params[HTTP_MAX_PARAMS];
    size_t n;
    assert_true(http_route_match(a, "/v1/work-orders/{id}:complete", "/v1/work-orders/01J:complete",
                                 names, params, &n));
    assert_string_equal(params[0], "01J");
    assert_false(http_route_match(a, "/v1/work-orders/{id}:complete", "/v1/work-orders/01J:close",
                                  names, params, &n));
    assert_false(http_route_match(a, "/v1/work-orders/{id}:complete", "/v1/work-orders/:complete",
                                  names, params, &n));
    assert_true(http_route_match(a, "/v1/assets:lookup", "/v1/assets:lookup", names, params, &n));
    /* an asset_ref may contain ':' (provider:native_id) */
    assert_true(http_route_match(a, "/v1/assets/{ref}:retire", "/v1/assets/sap_pm:42:retire", names,
                                 params, &n));
    assert_string_equal(params[0], "sap_pm:42");
    arena_free(a);
}

static void test_catch_all(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    const char *names[HTTP_MAX_PARAMS], *params[HTTP_MAX_PARAMS];
    size_t n = 99;
    assert_true(http_route_match(a, "/*", "/", names, params, &n));
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "*");
    assert_string_equal(params[0], "");
    assert_true(http_route_match(a, "/*", "/api/v1/assets/A%2F1", names, params, &n));
    assert_string_equal(params[0], "api/v1/assets/A%2F1"); /* raw, not decoded */
    assert_true(http_route_match(a, "/api/*", "/api/", names, params, &n));
    assert_true(http_route_match(a, "/api/*", "/api/x/y", names, params, &n));
    assert_string_equal(params[0], "x/y");
    assert_false(http_route_match(a, "/api/*", "/api", names, params, &n));
    assert_false(http_route_match(a, "/api/*", "/apix/y", names, params, &n));
    assert_false(http_route_match(a, "/*", "", names, params, &n));
    assert_true(http_route_match(a, "/t/{id}/*", "/t/7/r/s", names, params, &n));
    assert_int_equal(n, 2);
    assert_string_equal(params[0], "7");
    assert_string_equal(params[1], "r/s");
    /* a star that is not the whole last segment is a literal */
    assert_false(http_route_match(a, "/a*", "/abc", names, params, &n));
    arena_free(a);
}

static void test_url_decode(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    char *out;
    assert_int_equal(http_url_decode(a, "a%20b+c", 7, true, &out), AB_OK);
    assert_string_equal(out, "a b c");
    assert_int_equal(http_url_decode(a, "a+b", 3, false, &out), AB_OK);
    assert_string_equal(out, "a+b");
    assert_int_equal(http_url_decode(a, "%4", 2, false, &out), AB_EINVAL);
    assert_int_equal(http_url_decode(a, "%zz", 3, false, &out), AB_EINVAL);
    assert_int_equal(http_url_decode(a, "a%00b", 5, false, &out), AB_EINVAL);
    arena_free(a);
}

/* Path parameters (decoded) and query keys and values (decoded) that are
 * not UTF-8 are named; a pair that does not decode is left alone. */
static void test_bad_utf8(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct http_request req;
    memset(&req, 0, sizeof(req));
    req.arena = a;
    const char *names[HTTP_MAX_PARAMS], *params[HTTP_MAX_PARAMS];
    size_t n;
    req.query = "site=plant%201&limit=5&empty=&flag";
    assert_true(http_route_match(a, "/v1/x/{ref}/y/{meter}", "/v1/x/FX-%C3%A9/y/cycles", names,
                                 params, &n));
    assert_null(http_bad_utf8(&req, names, params, n));
    assert_true(http_route_match(a, "/v1/x/{ref}/y/{meter}", "/v1/x/FX/y/c%FF", names, params, &n));
    assert_string_equal(http_bad_utf8(&req, names, params, n), "meter");
    assert_true(http_route_match(a, "/v1/x/{ref}/y/{meter}", "/v1/x/%C3/y/c", names, params, &n));
    assert_string_equal(http_bad_utf8(&req, names, params, n), "ref");
    req.query = "limit=5&site=plant%E9";
    assert_string_equal(http_bad_utf8(&req, NULL, NULL, 0), "query.site");
    req.query = "a=1&%FF=2";
    assert_string_equal(http_bad_utf8(&req, NULL, NULL, 0), "query");
    req.query = "a=%zz&b=%ED%A0%80"; /* a surrogate's encoding is not UTF-8 */
    assert_string_equal(http_bad_utf8(&req, NULL, NULL, 0), "query.b");
    req.query = "a=%zz&b=ok";
    assert_null(http_bad_utf8(&req, NULL, NULL, 0));
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_params), cmocka_unit_test(test_action_verbs),
        cmocka_unit_test(test_catch_all),          cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_bad_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
