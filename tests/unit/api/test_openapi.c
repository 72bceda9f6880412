/* SPDX-License-Identifier: Apache-2.0
 *
 * test_openapi.c: api/openapi.json (as embedded in the build and served at
 * /v1/openapi.json) against the route table of api_routes_new(): every route
 * has an operation with the scope the route requires in x-required-scope,
 * every documented operation has a route, and the checker itself notices a
 * missing, extra or mis-scoped operation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_util.h"
#include "api/auth.h"

extern const unsigned char api_openapi_json[];
extern const size_t api_openapi_json_len;

static const char *const METHODS[] = {"get",   "put",  "post",    "delete",
                                      "patch", "head", "options", "trace"};

static json_t *load_doc(void)
{
    json_error_t err;
    json_t *doc = json_loadb((const char *)api_openapi_json, api_openapi_json_len, 0, &err);
    if (!doc)
        fail_msg("api/openapi.json is not JSON: line %d: %s", err.line, err.text);
    return doc;
}

static struct http_route *routes_all(size_t *n)
{
    struct api_ctx ctx = {.fake_clock = true}; /* include the /_test/ routes */
    return api_routes_new(&ctx, n);
}

static const char *route_scope(const struct http_route *r)
{
    unsigned scope = r->flags & API_SCOPE_MASK;
    return scope == API_PUBLIC ? "none" : api_scope_name(scope);
}

static void lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static bool is_method(const char *key)
{
    for (size_t i = 0; i < sizeof(METHODS) / sizeof(METHODS[0]); i++)
        if (strcmp(METHODS[i], key) == 0)
            return true;
    return false;
}

/* Count disagreements between doc and the route table, both directions;
 * print each when verbose. */
static size_t check(const json_t *doc, const struct http_route *routes, size_t n, bool verbose)
{
    size_t problems = 0;
    const json_t *paths = json_object_get(doc, "paths");
    if (!json_is_object(paths)) {
        if (verbose)
            print_message("openapi: no \"paths\" object\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        char m[16];
        lower(routes[i].method, m, sizeof(m));
        const json_t *op = json_object_get(json_object_get(paths, routes[i].pattern), m);
        if (!json_is_object(op)) {
            if (verbose)
                print_message("openapi: route %s %s is not documented\n", routes[i].method,
                              routes[i].pattern);
            problems++;
            continue;
        }
        const char *want = route_scope(&routes[i]);
        const char *have = json_string_value(json_object_get(op, "x-required-scope"));
        if (!have || strcmp(have, want) != 0) {
            if (verbose)
                print_message("openapi: %s %s: x-required-scope is %s, the route requires %s\n",
                              routes[i].method, routes[i].pattern, have ? have : "(missing)", want);
            problems++;
        }
    }
    const char *path;
    const json_t *item;
    json_object_foreach ((json_t *)paths, path, item) {
        const char *key;
        const json_t *op;
        json_object_foreach ((json_t *)item, key, op) {
            if (!is_method(key))
                continue;
            bool found = false;
            for (size_t i = 0; i < n && !found; i++) {
                char m[16];
                lower(routes[i].method, m, sizeof(m));
                found = strcmp(m, key) == 0 && strcmp(routes[i].pattern, path) == 0;
            }
            if (!found) {
                if (verbose)
                    print_message("openapi: documented %s %s has no route\n", key, path);
                problems++;
            }
        }
    }
    return problems;
}

static void test_document_matches_routes(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    size_t n;
    struct http_route *routes = routes_all(&n);
    assert_true(n > 0);
    size_t problems = check(doc, routes, n, true);
    free(routes);
    json_decref(doc);
    assert_int_equal(problems, 0);
}

static void test_document_shape(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    const char *version = json_string_value(json_object_get(doc, "openapi"));
    assert_non_null(version);
    assert_memory_equal(version, "3.1.", 4);
    assert_true(json_is_object(json_object_get(doc, "info")));
    assert_true(json_is_object(json_object_get(
        json_object_get(json_object_get(doc, "components"), "securitySchemes"), "bearer")));
    const char *path, *key;
    json_t *item, *op;
    size_t ops = 0;
    json_object_foreach (json_object_get(doc, "paths"), path, item) {
        json_object_foreach (item, key, op) {
            if (!is_method(key))
                continue;
            ops++;
            const char *scope = json_string_value(json_object_get(op, "x-required-scope"));
            if (!scope)
                fail_msg("%s %s: no x-required-scope", key, path);
            bool known = false;
            const char *names[] = {"none", "read", "ingest", "write", "admin"};
            for (size_t i = 0; i < 5; i++)
                known = known || strcmp(scope, names[i]) == 0;
            if (!known)
                fail_msg("%s %s: x-required-scope '%s' is not a scope", key, path, scope);
            /* security agrees: none -> [], otherwise the bearer scheme */
            json_t *sec = json_object_get(op, "security");
            if (!json_is_array(sec))
                fail_msg("%s %s: no security array", key, path);
            bool bearer = false;
            size_t i;
            json_t *req;
            json_array_foreach (sec, i, req)
                bearer = bearer || json_object_get(req, "bearer") != NULL;
            if (strcmp(scope, "none") == 0 ? json_array_size(sec) != 0 : !bearer)
                fail_msg("%s %s: security does not match x-required-scope %s", key, path, scope);
            if (!json_is_object(json_object_get(op, "responses")))
                fail_msg("%s %s: no responses", key, path);
        }
    }
    assert_true(ops > 0);
    json_decref(doc);
}

/* The checker fails when the document and the table disagree. */
static void test_check_notices_disagreements(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    size_t n;
    struct http_route *routes = routes_all(&n);
    size_t base = check(doc, routes, n, false);

    /* a route whose path is missing from the document */
    json_t *d = json_deep_copy(doc);
    assert_int_equal(json_object_del(json_object_get(d, "paths"), "/v1/events"), 0);
    assert_int_equal(check(d, routes, n, false), base + 1);
    json_decref(d);

    /* a route whose method is missing (the path stays) */
    d = json_deep_copy(doc);
    assert_int_equal(
        json_object_del(json_object_get(json_object_get(d, "paths"), "/v1/webhooks"), "post"), 0);
    assert_int_equal(check(d, routes, n, false), base + 1);
    json_decref(d);

    /* a documented path and a documented method without a route */
    d = json_deep_copy(doc);
    json_t *op =
        json_pack("{s:s, s:[], s:{}}", "x-required-scope", "none", "security", "responses");
    json_object_set_new(json_object_get(d, "paths"), "/v1/no-such-thing",
                        json_pack("{s:O}", "get", op));
    json_object_set_new(json_object_get(json_object_get(d, "paths"), "/healthz"), "post", op);
    assert_int_equal(check(d, routes, n, false), base + 2);
    json_decref(d);

    /* a scope that differs from the route's */
    d = json_deep_copy(doc);
    json_object_set_new(
        json_object_get(json_object_get(json_object_get(d, "paths"), "/v1/webhooks"), "post"),
        "x-required-scope", json_string("read"));
    assert_int_equal(check(d, routes, n, false), base + 1);
    json_decref(d);

    free(routes);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_check_notices_disagreements),
        cmocka_unit_test(test_document_matches_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
