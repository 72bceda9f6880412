/* SPDX-License-Identifier: Apache-2.0
 *
 * test_batch.c: unit tests for src/api/batch.c: NDJSON and JSON array
 * framing (item spans, blank lines, strings and escapes, nesting, framing
 * errors, the item ceiling) and one item's parsing in API field names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/batch.h"

#define NOW 1767225600000LL /* 2026-01-01T00:00:00Z */

/* Split s and check the items' texts against want (n_want of them). */
static void split_ok(enum batch_format fmt, const char *s, const char *const *want, size_t n_want)
{
    struct arena *a = arena_new(0, 0);
    struct batch_span *sp = NULL;
    size_t n = 99;
    char err[BATCH_ERR_MAX];
    assert_int_equal(batch_split(a, fmt, s, strlen(s), 100, &sp, &n, err), AB_OK);
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sp[i].len, strlen(want[i]));
        assert_memory_equal(s + sp[i].off, want[i], sp[i].len);
    }
    arena_free(a);
}

static enum ab_rc split_rc(enum batch_format fmt, const char *s, size_t max)
{
    struct arena *a = arena_new(0, 0);
    struct batch_span *sp = NULL;
    size_t n = 0;
    char err[BATCH_ERR_MAX];
    enum ab_rc rc = batch_split(a, fmt, s, strlen(s), max, &sp, &n, err);
    if (rc)
        assert_true(err[0] != '\0');
    arena_free(a);
    return rc;
}

static void test_ndjson(void **state)
{
    (void)state;
    const char *w1[] = {"{\"a\":1}", "{\"b\":2}", "not json"};
    split_ok(BATCH_NDJSON, "{\"a\":1}\r\n\n  \n{\"b\":2}\nnot json", w1, 3);
    const char *w2[] = {"{\"a\":\"x\\ny\"}"};
    split_ok(BATCH_NDJSON, "{\"a\":\"x\\ny\"}\n", w2, 1);
    split_ok(BATCH_NDJSON, "", NULL, 0);
    split_ok(BATCH_NDJSON, "\n\r\n \t\n", NULL, 0);
    assert_int_equal(split_rc(BATCH_NDJSON, "1\n2\n3\n", 3), AB_OK);
    assert_int_equal(split_rc(BATCH_NDJSON, "1\n2\n3\n4", 3), AB_ETOOLARGE);
}

static void test_array(void **state)
{
    (void)state;
    const char *w1[] = {"{\"a\":\"],}\\\"[\"}", "[1,[2,{}]]", "\"s\"", "12.5e3", "null"};
    split_ok(BATCH_JSON_ARRAY, " [ {\"a\":\"],}\\\"[\"} ,[1,[2,{}]],\"s\",12.5e3,null ] \n", w1, 5);
    split_ok(BATCH_JSON_ARRAY, "[]", NULL, 0);
    split_ok(BATCH_JSON_ARRAY, " [ \n ] ", NULL, 0);
    const char *w2[] = {"{\"x\":}"}; /* content errors are the item's, not the framing's */
    split_ok(BATCH_JSON_ARRAY, "[{\"x\":}]", w2, 1);

    const char *bad[] = {
        "",         "{}",      "[",         "[1,]",  "[,1]", "[1 2]",       "[1,,2]",
        "[{]",      "[{\"a\"", "[\"abc]",   "[1] x", "[1]]", "[[1}]",       "[{}}]",
        "[\"\\\"]", "[1",      "[{}],[{}]", "x[1]",  "[:]",  "[1,\"a\":2]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (split_rc(BATCH_JSON_ARRAY, bad[i], 100) != AB_EPARSE)
            fail_msg("accepted bad framing: %s", bad[i]);
    }
    assert_int_equal(split_rc(BATCH_JSON_ARRAY, "[1,2,3]", 3), AB_OK);
    assert_int_equal(split_rc(BATCH_JSON_ARRAY, "[1,2,3,4]", 3), AB_ETOOLARGE);

    /* nesting: up to the limit is framing-valid, past it is refused */
    char deep[2 * BATCH_MAX_DEPTH + 8];
    size_t k = 0;
    deep[k++] = '[';
    for (int i = 0; i < BATCH_MAX_DEPTH; i++)
        deep[k++] = '[';
    for (int i = 0; i < BATCH_MAX_DEPTH; i++)
        deep[k++] = ']';
    deep[k++] = ']';
    deep[k] = '\0';
    assert_int_equal(split_rc(BATCH_JSON_ARRAY, deep, 10), AB_OK);
    char deeper[2 * BATCH_MAX_DEPTH + 8];
    k = 0;
    deeper[k++] = '[';
    for (int i = 0; i <= BATCH_MAX_DEPTH; i++)
        deeper[k++] = '[';
    for (int i = 0; i <= BATCH_MAX_DEPTH; i++)
        deeper[k++] = ']';
    deeper[k++] = ']';
    deeper[k] = '\0';
    assert_int_equal(split_rc(BATCH_JSON_ARRAY, deeper, 10), AB_EPARSE);
}

static enum ab_rc item(const char *s, struct model_reading *r, struct model_error *e)
{
    static struct arena *a;
    if (!a)
        a = arena_new(0, 0);
    return batch_item_parse(a, s, strlen(s), NOW, 300000, r, e);
}

static void test_item(void **state)
{
    (void)state;
    struct model_reading r;
    struct model_error e;
    assert_int_equal(
        item("{\"asset_ref\":\"FX-1\",\"meter\":\"cycles\",\"increment\":2,\"key\":\"k1\","
             "\"source\":\"tester\"}",
             &r, &e),
        AB_OK);
    assert_string_equal(r.asset_ref, "FX-1");
    assert_string_equal(r.meter_type, "cycles");
    assert_string_equal(r.idempotency_key, "k1");
    assert_int_equal(r.mode, MODEL_READING_INCREMENT);
    assert_true(r.amount == 2.0);
    assert_int_equal(r.read_at, NOW);
    assert_int_equal(r.source, MODEL_SOURCE_TESTER);

    /* errors name the API's fields */
    assert_int_equal(item("{\"asset_ref\":\"FX-1\",\"meter\":\"nope\",\"value\":1}", &r, &e),
                     AB_EINVAL);
    assert_string_equal(e.field, "meter");
    assert_int_equal(item("{\"asset_ref\":\"FX-1\",\"value\":1}", &r, &e), AB_EINVAL);
    assert_string_equal(e.field, "meter");
    assert_int_equal(
        item("{\"asset_ref\":\"FX-1\",\"meter\":\"cycles\",\"value\":1,\"key\":5}", &r, &e),
        AB_EPARSE);
    assert_string_equal(e.field, "key");
    assert_int_equal(item("{\"asset_ref\":\"FX-1\",\"meter_type\":\"cycles\",\"value\":1}", &r, &e),
                     AB_EPARSE);
    assert_string_equal(e.field, "meter_type");
    assert_int_equal(
        item("{\"asset_ref\":\"FX-1\",\"meter\":\"cycles\",\"increment\":\"x\"}", &r, &e),
        AB_EPARSE);
    assert_string_equal(e.field, "increment");
    assert_int_equal(
        item("{\"asset_ref\":\"FX-1\",\"meter\":\"cycles\",\"increment\":1,\"value\":2}", &r, &e),
        AB_EINVAL);
    assert_int_equal(item("{\"asset_ref\":\"FX-1\",\"meter\":\"cycles\",\"value\":1,"
                          "\"read_at\":\"2026-01-01T01:00:00Z\"}",
                          &r, &e),
                     AB_EINVAL);
    assert_string_equal(e.field, "read_at");
    assert_int_equal(item("not json", &r, &e), AB_EPARSE);
    assert_string_equal(e.field, "");
    assert_int_equal(item("[1]", &r, &e), AB_EPARSE);
    assert_int_equal(item("{\"a\":1,\"a\":2}", &r, &e), AB_EPARSE);
    assert_int_equal(item("{\"asset_ref\":\"\xff\"}", &r, &e), AB_EPARSE);
    for (const char *c = e.message; *c; c++)
        assert_true(*c >= 0x20 && *c <= 0x7e);
}

static void test_header_key(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_reading r;
    struct model_error e;
    json_t *j = json_pack("{s:s, s:s, s:i}", "asset_ref", "FX-1", "meter", "cycles", "value", 3);
    assert_int_equal(batch_reading_from_json(a, j, "hk", NOW, 0, &r, &e), AB_OK);
    assert_string_equal(r.idempotency_key, "hk");
    json_object_set_new(j, "key", json_string("hk"));
    assert_int_equal(batch_reading_from_json(a, j, "hk", NOW, 0, &r, &e), AB_OK);
    assert_int_equal(batch_reading_from_json(a, j, "other", NOW, 0, &r, &e), AB_EINVAL);
    assert_string_equal(e.field, "key");
    assert_int_equal(batch_reading_from_json(a, j, NULL, NOW, 0, &r, &e), AB_OK);
    assert_string_equal(r.idempotency_key, "hk");
    json_object_del(j, "key");
    assert_int_equal(batch_reading_from_json(a, j, "bad\x01key", NOW, 0, &r, &e), AB_EINVAL);
    assert_string_equal(e.field, "key");
    json_decref(j);
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndjson),
        cmocka_unit_test(test_array),
        cmocka_unit_test(test_item),
        cmocka_unit_test(test_header_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
