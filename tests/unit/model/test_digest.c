/* SPDX-License-Identifier: Apache-2.0
 *
 * test_digest.c: unit tests for src/model/digest.c: determinism (key order,
 * whitespace, number spelling), excluded sync fields, sensitivity to every
 * business field of a work order, and a known SHA-256.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/digest.h"
#include "model/work_order.h"

static void digest_of(const char *text, char out[65])
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    assert_int_equal(model_digest(v, out), AB_OK);
    json_decref(v);
}

static void test_known_value(void **state)
{
    (void)state;
    char d[65];
    digest_of("{}", d); /* sha256("{}") */
    assert_string_equal(d, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    struct buf b;
    buf_init(&b, 1024);
    json_t *v = json_loads(
        "{ \"b\" : [1, 2.0, 2.5, true, null, \"x\\\"y\"], \"a\":{\"z\":1,\"y\":-0.0}}", 0, NULL);
    assert_int_equal(model_canonical_json(v, &b), AB_OK);
    assert_string_equal(buf_str(&b),
                        "{\"a\":{\"y\":0,\"z\":1},\"b\":[1,2,2.5,true,null,\"x\\\"y\"]}");
    json_decref(v);
    buf_cleanup(&b);
}

static void test_order_and_whitespace(void **state)
{
    (void)state;
    char d1[65], d2[65], d3[65];
    digest_of("{\"a\":1,\"b\":{\"x\":\"1\",\"y\":[1,2]},\"c\":\"\\u00f8\"}", d1);
    digest_of("{\n  \"c\": \"ø\",\n  \"b\": {\"y\": [1, 2], \"x\": \"1\"},\n  \"a\": 1.0\n}", d2);
    assert_string_equal(d1, d2);
    digest_of("{\"a\":1,\"b\":{\"x\":\"1\",\"y\":[2,1]},\"c\":\"\\u00f8\"}",
              d3); /* arrays keep order */
    assert_string_not_equal(d1, d3);
}

static void test_excluded(void **state)
{
    (void)state;
    char d1[65], d2[65];
    digest_of("{\"asset_ref\":\"X\"}", d1);
    digest_of("{\"asset_ref\":\"X\",\"sync_state\":\"pending\",\"last_synced_at\":\"x\","
              "\"revision\":9,\"created_at\":\"a\",\"updated_at\":\"b\",\"_etag\":\"e\",\"_\":1}",
              d2);
    assert_string_equal(d1, d2);
    /* only at the top level: nested keys are business data */
    digest_of("{\"asset_ref\":\"X\",\"attributes\":{\"revision\":\"B\"}}", d2);
    assert_string_not_equal(d1, d2);
    assert_true(model_digest_key_excluded("_x"));
    assert_false(model_digest_key_excluded("revisions"));
}

static void test_every_business_field(void **state)
{
    (void)state;
    const char *base =
        "{\"common_work_order_id\":\"01J0000000000000000000000A\",\"provider_id\":\"sap_pm\","
        "\"source_work_order_id\":\"4711\",\"asset_ref\":\"FX-1\",\"type\":\"corrective\","
        "\"source_status\":\"REL\",\"common_status\":\"open\",\"priority\":\"high\","
        "\"source_priority\":\"2\",\"sla_due_at\":\"2026-01-02T00:00:00Z\","
        "\"opened_at\":\"2026-01-01T00:00:00Z\",\"started_at\":\"2026-01-01T01:00:00Z\","
        "\"completed_at\":\"2026-01-01T02:00:00Z\",\"closed_at\":\"2026-01-01T03:00:00Z\","
        "\"failure_codes\":[\"F1\"],\"notes\":\"n\",\"assignee\":\"kim\","
        "\"comments\":[{\"author\":\"kim\",\"text\":\"hi\",\"at\":\"2026-01-01T01:00:00Z\"}],"
        "\"sync_state\":\"imported\",\"last_synced_at\":\"2026-01-01T05:00:00Z\",\"revision\":3}";
    struct arena *a = arena_new(0, 0);
    json_t *in = json_loads(base, 0, NULL);
    struct model_work_order wo;
    struct model_error err;
    assert_int_equal(model_work_order_from_json(a, in, &wo, &err), AB_OK);
    json_t *canon = model_work_order_to_json(&wo);
    char d0[65], d[65];
    assert_int_equal(model_digest(canon, d0), AB_OK);
    /* the input as written has the same digest as the canonical form */
    assert_int_equal(model_digest(in, d), AB_OK);
    assert_string_equal(d, d0);
    const char *key;
    json_t *val;
    size_t changed = 0;
    json_object_foreach (canon, key, val) {
        json_t *copy = json_deep_copy(canon);
        json_t *nv;
        if (json_is_string(val))
            nv = json_sprintf("%s-", json_string_value(val));
        else if (json_is_integer(val))
            nv = json_integer(json_integer_value(val) + 1);
        else
            nv = json_string("changed");
        json_object_set_new(copy, key, nv);
        assert_int_equal(model_digest(copy, d), AB_OK);
        if (model_digest_key_excluded(key)) {
            assert_string_equal(d, d0);
        } else {
            if (strcmp(d, d0) == 0)
                fail_msg("changing %s does not change the digest", key);
            changed++;
        }
        json_decref(copy);
    }
    assert_int_equal(changed, json_object_size(canon) - 3);
    json_decref(canon);
    json_decref(in);
    arena_free(a);
}

static void test_limits(void **state)
{
    (void)state;
    json_t *v = json_array();
    json_t *cur = v;
    for (int i = 0; i < MODEL_DIGEST_MAX_DEPTH + 2; i++) {
        json_t *n = json_array();
        json_array_append_new(cur, n);
        cur = n;
    }
    char d[65];
    assert_int_equal(model_digest(v, d), AB_ETOOLARGE);
    json_decref(v);
    struct buf b;
    buf_init(&b, 4);
    json_t *s = json_string("longer");
    assert_int_equal(model_canonical_json(s, &b), AB_ETOOLARGE);
    json_decref(s);
    buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_value), cmocka_unit_test(test_order_and_whitespace),
        cmocka_unit_test(test_excluded),    cmocka_unit_test(test_every_business_field),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
