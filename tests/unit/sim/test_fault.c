/* SPDX-License-Identifier: Apache-2.0
 *
 * test_fault.c: unit tests for the simulator's fault-rule parser, matcher
 * and seeded draws in src/sim/fault.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sim/fault.h"

static enum ab_rc parse(const char *text, struct sim_fault_rule **r, size_t *n, char *err)
{
    return sim_fault_parse(text, strlen(text), r, n, err, 256);
}

static void test_parse_valid(void **state)
{
    (void)state;
    struct sim_fault_rule *r;
    size_t n;
    char err[256];
    assert_int_equal(parse("{\"match\":{\"method\":\"post\",\"path\":\"/api/*\"},\"action\":"
                           "\"status\",\"status\":503,\"probability\":0.2,\"count\":5}",
                           &r, &n, err),
                     AB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].method, "POST");
    assert_string_equal(r[0].path, "/api/");
    assert_true(r[0].prefix);
    assert_int_equal(r[0].action, SIM_FAULT_STATUS);
    assert_int_equal(r[0].status, 503);
    assert_int_equal(r[0].count, 5);
    free(r);
    assert_int_equal(
        parse("[{\"action\":\"timeout\"},{\"action\":\"latency\",\"ms\":5}]", &r, &n, err), AB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].ms, SIM_FAULT_TIMEOUT_DEFAULT_MS);
    assert_int_equal(r[0].count, -1);
    assert_true(r[0].probability == 1.0);
    assert_int_equal(r[1].ms, 5);
    free(r);
    assert_int_equal(parse("[]", &r, &n, err), AB_OK);
    assert_int_equal(n, 0);
    free(r);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"action\":\"explode\"}",
        "{\"match\":{}}",
        "{\"action\":\"status\"}",
        "{\"action\":\"status\",\"status\":99}",
        "{\"action\":\"reset\",\"status\":500}",
        "{\"action\":\"latency\"}",
        "{\"action\":\"reset\",\"ms\":5}",
        "{\"action\":\"reset\",\"probability\":1.5}",
        "{\"action\":\"reset\",\"count\":0}",
        "{\"action\":\"reset\",\"count\":1.5}",
        "{\"action\":\"reset\",\"match\":{\"path\":\"api\"}}",
        "{\"action\":\"reset\",\"match\":{\"path\":\"/a*b\"}}",
        "{\"action\":\"reset\",\"match\":{\"method\":\"G T\"}}",
        "{\"action\":\"reset\",\"match\":{\"host\":\"x\"}}",
        "{\"action\":\"reset\",\"extra\":1}",
        "{\"action\":\"reset\",\"action\":\"reset\"}",
        "[1]",
        "42",
    };
    struct sim_fault_rule *r;
    size_t n;
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_not_equal(parse(bad[i], &r, &n, err), AB_OK);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(parse("{", &r, &n, err), AB_EPARSE);
}

static void test_match(void **state)
{
    (void)state;
    struct sim_fault_rule *r;
    size_t n;
    char err[256];
    assert_int_equal(parse("[{\"match\":{\"method\":\"GET\",\"path\":\"/api/v1/assets\"},"
                           "\"action\":\"reset\"},{\"match\":{\"path\":\"/api/*\"},\"action\":"
                           "\"reset\"},{\"action\":\"reset\"}]",
                           &r, &n, err),
                     AB_OK);
    assert_true(sim_fault_matches(&r[0], "GET", "/api/v1/assets"));
    assert_false(sim_fault_matches(&r[0], "POST", "/api/v1/assets"));
    assert_false(sim_fault_matches(&r[0], "GET", "/api/v1/assets/A-1"));
    assert_true(sim_fault_matches(&r[1], "PATCH", "/api/v1/assets/A-1"));
    assert_false(sim_fault_matches(&r[1], "GET", "/other"));
    assert_true(sim_fault_matches(&r[2], "DELETE", "/anything"));
    free(r);
}

static void test_pick_count_and_determinism(void **state)
{
    (void)state;
    struct sim_fault_rule *r;
    size_t n;
    char err[256];
    const char *rules = "[{\"match\":{\"path\":\"/a\"},\"action\":\"reset\",\"count\":2},"
                        "{\"action\":\"status\",\"status\":503,\"probability\":0.5}]";
    assert_int_equal(parse(rules, &r, &n, err), AB_OK);
    struct sim_fault_set s1 = {0}, s2 = {0};
    assert_int_equal(sim_fault_set_add(&s1, r, n), AB_OK);
    assert_int_equal(sim_fault_set_add(&s2, r, n), AB_OK);
    free(r);
    struct sim_prng g1, g2;
    sim_prng_seed(&g1, 99);
    sim_prng_seed(&g2, 99);
    struct sim_fault_rule f;
    int resets = 0, statuses = 0;
    for (int i = 0; i < 200; i++) {
        const char *path = i % 2 ? "/a" : "/b";
        bool a = sim_fault_pick(&s1, &g1, "GET", path, &f);
        enum sim_fault_action act = f.action;
        struct sim_fault_rule f2;
        bool b = sim_fault_pick(&s2, &g2, "GET", path, &f2);
        assert_int_equal(a, b);
        if (a) {
            assert_int_equal(act, f2.action);
            resets += act == SIM_FAULT_RESET;
            statuses += act == SIM_FAULT_STATUS;
        }
    }
    assert_int_equal(resets, 2);
    assert_true(statuses > 50 && statuses < 150);
    assert_int_equal(s1.rules[0].count, 0);
    json_t *j = sim_fault_to_json(&s1.rules[0]);
    assert_int_equal(json_integer_value(json_object_get(j, "remaining")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 1);
    json_decref(j);
    sim_fault_set_clear(&s1);
    assert_false(sim_fault_pick(&s1, &g1, "GET", "/a", &f));
    sim_fault_set_cleanup(&s1);
    sim_fault_set_cleanup(&s2);
}

static void test_prng_reference(void **state)
{
    (void)state;
    /* splitmix64 reference values for seed 0 */
    struct sim_prng g;
    sim_prng_seed(&g, 0);
    assert_true(sim_prng_next(&g) == 0xe220a8397b1dcdafULL);
    assert_true(sim_prng_next(&g) == 0x6e789e6aa1b965f4ULL);
    for (int i = 0; i < 1000; i++) {
        double u = sim_prng_unit(&g);
        assert_true(u >= 0.0 && u < 1.0);
        int64_t v = sim_prng_range(&g, -3, 3);
        assert_true(v >= -3 && v <= 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),    cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_match),          cmocka_unit_test(test_pick_count_and_determinism),
        cmocka_unit_test(test_prng_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
