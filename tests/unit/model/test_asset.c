/* SPDX-License-Identifier: Apache-2.0
 *
 * test_asset.c: unit tests for src/model/asset.c (parsing, error paths and
 * kinds, JSON round trip, PUT merge).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/asset.h"
#include "model/digest.h"

static json_t *js(const char *text)
{
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    assert_non_null(v);
    return v;
}

/* Parse text as an asset; return the rc and leave the error in err. */
static enum ab_rc parse(struct arena *a, const char *text, struct model_asset *out,
                        struct model_error *err)
{
    json_t *v = js(text);
    enum ab_rc rc = model_asset_from_json(a, v, out, err);
    json_decref(v);
    return rc;
}

static void expect_err(const char *text, enum model_err_kind kind, const char *field)
{
    struct arena *a = arena_new(0, 0);
    struct model_asset as;
    struct model_error err;
    enum ab_rc rc = parse(a, text, &as, &err);
    assert_int_equal(rc, kind == MODEL_ERR_TYPE ? AB_EPARSE : AB_EINVAL);
    assert_int_equal(err.kind, kind);
    assert_string_equal(err.field, field);
    assert_true(err.message[0] != '\0');
    arena_free(a);
}

static void test_ref_valid(void **state)
{
    (void)state;
    assert_true(model_asset_ref_valid("FX-1001"));
    assert_true(model_asset_ref_valid("a.b_c:d-9"));
    char s65[66];
    memset(s65, 'a', 65);
    s65[65] = '\0';
    assert_false(model_asset_ref_valid(s65));
    s65[64] = '\0';
    assert_true(model_asset_ref_valid(s65));
    assert_false(model_asset_ref_valid(""));
    assert_false(model_asset_ref_valid(NULL));
    assert_false(model_asset_ref_valid("FX 1001"));
    assert_false(model_asset_ref_valid("FX/1001"));
    assert_false(model_asset_ref_valid("Ø"));
}

static void test_parse_full(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_asset as;
    struct model_error err;
    assert_int_equal(
        parse(a,
              "{\"asset_ref\":\"FX-1001\",\"tenant\":\"acme\",\"site\":\"OSL\","
              "\"serial_number\":\"SN1\",\"part_number\":\"PN-7\",\"part_revision\":\"B\","
              "\"name\":\"Fixture 1\",\"type\":\"fixture\",\"parent\":\"ST-1\","
              "\"location\":{\"site\":\"OSL\",\"line\":\"L1\",\"cell\":\"C2\"},"
              "\"owner_org\":\"test eng\",\"criticality\":\"A\",\"status\":\"in_repair\","
              "\"commissioned_at\":\"2025-01-02T03:04:05+01:00\","
              "\"attributes\":{\"voltage\":24,\"vendor\":\"X\",\"esd\":true,\"gain\":1.5}}",
              &as, &err),
        AB_OK);
    assert_string_equal(as.asset_ref, "FX-1001");
    assert_int_equal(as.type, MODEL_ASSET_FIXTURE);
    assert_int_equal(as.status, MODEL_ASSET_IN_REPAIR);
    assert_string_equal(as.location.cell, "C2");
    assert_int_equal(as.commissioned_at, 1735783445000LL);
    assert_int_equal(as.created_at, MODEL_TIME_UNSET);
    assert_int_equal(json_integer_value(json_object_get(as.attributes, "voltage")), 24);

    json_t *out = model_asset_to_json(&as);
    assert_string_equal(json_string_value(json_object_get(out, "commissioned_at")),
                        "2025-01-02T02:04:05Z");
    assert_null(json_object_get(out, "created_at")); /* unset: omitted */
    /* round trip: parsing the output gives the same digest */
    struct model_asset back;
    assert_int_equal(model_asset_from_json(a, out, &back, &err), AB_OK);
    json_t *out2 = model_asset_to_json(&back);
    char d1[65], d2[65];
    assert_int_equal(model_digest(out, d1), AB_OK);
    assert_int_equal(model_digest(out2, d2), AB_OK);
    assert_string_equal(d1, d2);
    assert_true(json_equal(out, out2));
    json_decref(out);
    json_decref(out2);
    arena_free(a);
}

static void test_defaults(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_asset as;
    struct model_error err;
    assert_int_equal(parse(a, "{\"asset_ref\":\"X\",\"name\":null}", &as, &err), AB_OK);
    assert_int_equal(as.type, MODEL_ASSET_OTHER);
    assert_int_equal(as.status, MODEL_ASSET_ACTIVE);
    assert_null(as.name);
    assert_null(as.attributes);
    json_t *out = model_asset_to_json(&as);
    assert_int_equal(json_object_size(out), 3); /* asset_ref, type, status */
    json_decref(out);
    arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
    expect_err("[]", MODEL_ERR_TYPE, "");
    expect_err("{}", MODEL_ERR_VALUE, "asset_ref");
    expect_err("{\"asset_ref\":null}", MODEL_ERR_VALUE, "asset_ref");
    expect_err("{\"asset_ref\":12}", MODEL_ERR_TYPE, "asset_ref");
    expect_err("{\"asset_ref\":\"a b\"}", MODEL_ERR_VALUE, "asset_ref");
    expect_err("{\"asset_ref\":\"X\",\"serial\":\"1\"}", MODEL_ERR_TYPE, "serial");
    expect_err("{\"asset_ref\":\"X\",\"type\":\"robot\"}", MODEL_ERR_VALUE, "type");
    expect_err("{\"asset_ref\":\"X\",\"type\":1}", MODEL_ERR_TYPE, "type");
    expect_err("{\"asset_ref\":\"X\",\"status\":\"ACTIVE\"}", MODEL_ERR_VALUE, "status");
    expect_err("{\"asset_ref\":\"X\",\"name\":\"\"}", MODEL_ERR_VALUE, "name");
    expect_err("{\"asset_ref\":\"X\",\"name\":\"a\\u0000b\"}", MODEL_ERR_VALUE, "name");
    expect_err("{\"asset_ref\":\"X\",\"commissioned_at\":\"2025-01-02\"}", MODEL_ERR_VALUE,
               "commissioned_at");
    expect_err("{\"asset_ref\":\"X\",\"commissioned_at\":5}", MODEL_ERR_TYPE, "commissioned_at");
    expect_err("{\"asset_ref\":\"X\",\"parent\":\"X\"}", MODEL_ERR_VALUE, "parent");
    expect_err("{\"asset_ref\":\"X\",\"location\":{\"line\":3}}", MODEL_ERR_TYPE, "location.line");
    expect_err("{\"asset_ref\":\"X\",\"location\":{\"room\":\"1\"}}", MODEL_ERR_TYPE,
               "location.room");
    expect_err("{\"asset_ref\":\"X\",\"location\":\"L1\"}", MODEL_ERR_TYPE, "location");
    expect_err("{\"asset_ref\":\"X\",\"site\":\"A\",\"location\":{\"site\":\"B\"}}",
               MODEL_ERR_VALUE, "location.site");
    expect_err("{\"asset_ref\":\"X\",\"attributes\":{\"voltage\":[1]}}", MODEL_ERR_TYPE,
               "attributes.voltage");
    expect_err("{\"asset_ref\":\"X\",\"attributes\":{\"voltage\":{}}}", MODEL_ERR_TYPE,
               "attributes.voltage");
    expect_err("{\"asset_ref\":\"X\",\"attributes\":{\"bad key\":1}}", MODEL_ERR_VALUE,
               "attributes.bad key");
    expect_err("{\"asset_ref\":\"X\",\"attributes\":[]}", MODEL_ERR_TYPE, "attributes");
    char big[400];
    snprintf(big, sizeof(big), "{\"asset_ref\":\"X\",\"name\":\"%0300d\"}", 0);
    expect_err(big, MODEL_ERR_VALUE, "name");
}

static void test_unknown_field_hint(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_asset as;
    struct model_error err;
    assert_int_equal(parse(a, "{\"asset_ref\":\"X\",\"serial_numbr\":\"1\"}", &as, &err),
                     AB_EPARSE);
    assert_non_null(strstr(err.message, "serial_number"));
    /* untrusted bytes in a key never reach the error as they are */
    assert_int_equal(parse(a, "{\"asset_ref\":\"X\",\"\\u00f8\\n\":1}", &as, &err), AB_EPARSE);
    for (const char *p = err.field; *p; p++)
        assert_true(*p >= 0x20 && *p < 0x7f);
    arena_free(a);
}

static void test_merge(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_asset base, out;
    struct model_error err;
    assert_int_equal(parse(a,
                           "{\"asset_ref\":\"FX-1\",\"name\":\"old\",\"serial_number\":\"S1\","
                           "\"created_at\":\"2025-01-01T00:00:00Z\","
                           "\"attributes\":{\"a\":1,\"b\":\"x\",\"c\":true}}",
                           &base, &err),
                     AB_OK);
    json_t *patch = js("{\"name\":\"new\",\"serial_number\":null,\"type\":\"tool\","
                       "\"attributes\":{\"a\":2,\"b\":null,\"d\":\"y\"}}");
    assert_int_equal(model_asset_merge(a, &base, patch, &out, &err), AB_OK);
    json_decref(patch);
    assert_string_equal(out.asset_ref, "FX-1");
    assert_string_equal(out.name, "new");
    assert_null(out.serial_number);
    assert_int_equal(out.type, MODEL_ASSET_TOOL);
    assert_int_equal(out.created_at, base.created_at); /* absent: kept */
    assert_int_equal(json_integer_value(json_object_get(out.attributes, "a")), 2);
    assert_null(json_object_get(out.attributes, "b"));
    assert_true(json_is_true(json_object_get(out.attributes, "c")));
    assert_string_equal(json_string_value(json_object_get(out.attributes, "d")), "y");
    /* base untouched */
    assert_string_equal(base.name, "old");
    assert_int_equal(json_integer_value(json_object_get(base.attributes, "a")), 1);

    /* null clears all attributes; empty patch keeps everything */
    patch = js("{\"attributes\":null}");
    assert_int_equal(model_asset_merge(a, &base, patch, &out, &err), AB_OK);
    json_decref(patch);
    assert_null(out.attributes);
    patch = js("{}");
    assert_int_equal(model_asset_merge(a, &base, patch, &out, &err), AB_OK);
    json_decref(patch);
    json_t *j1 = model_asset_to_json(&base), *j2 = model_asset_to_json(&out);
    assert_true(json_equal(j1, j2));
    json_decref(j1);
    json_decref(j2);

    /* errors: clearing a required field, changing the ref, bad patch values */
    patch = js("{\"asset_ref\":null}");
    assert_int_equal(model_asset_merge(a, &base, patch, &out, &err), AB_EINVAL);
    assert_string_equal(err.field, "asset_ref");
    json_decref(patch);
    patch = js("{\"asset_ref\":\"FX-2\"}");
    assert_int_equal(model_asset_merge(a, &base, patch, &out, &err), AB_EINVAL);
    assert_string_equal(err.field, "asset_ref");
    json_decref(patch);
    patch = js("{\"asset_ref\":\"FX-1\",\"attributes\":{\"v\":[]}}");
    assert_int_equal(model_asset_merge(a, &base, patch, &out, &err), AB_EPARSE);
    assert_string_equal(err.field, "attributes.v");
    json_decref(patch);
    patch = js("{\"attributes\":7}");
    assert_int_equal(model_asset_merge(a, &base, patch, &out, &err), AB_EPARSE);
    assert_string_equal(err.field, "attributes");
    json_decref(patch);
    patch = js("{\"nope\":1}");
    assert_int_equal(model_asset_merge(a, &base, patch, &out, &err), AB_EPARSE);
    assert_string_equal(err.field, "nope");
    json_decref(patch);

    /* no base: create */
    patch = js("{\"asset_ref\":\"NEW-1\"}");
    assert_int_equal(model_asset_merge(a, NULL, patch, &out, &err), AB_OK);
    assert_string_equal(out.asset_ref, "NEW-1");
    json_decref(patch);
    arena_free(a);
}

static void test_names(void **state)
{
    (void)state;
    enum model_asset_status s;
    for (int i = 0; i < MODEL_ASSET_STATUS_COUNT; i++) {
        assert_true(
            model_asset_status_parse(model_asset_status_name((enum model_asset_status)i), &s));
        assert_int_equal(s, i);
    }
    assert_false(model_asset_status_parse("gone", &s));
    assert_false(model_asset_status_parse(NULL, &s));
    assert_string_equal(model_asset_status_name(MODEL_ASSET_STATUS_COUNT), "invalid");
    enum model_asset_type t;
    assert_true(model_asset_type_parse("instrument", &t));
    assert_int_equal(t, MODEL_ASSET_INSTRUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref_valid),
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_unknown_field_hint),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
