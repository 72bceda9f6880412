/* SPDX-License-Identifier: Apache-2.0
 *
 * test_model.c: unit tests for src/model/model.c: name tables, identifier
 * syntax, error codes and field paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/model.h"
#include "model/model_int.h"

static void test_names(void **state)
{
    (void)state;
    const char *providers[] = {"hub",      "wats",     "sap_pm",     "generic",
                               "maximo",   "hxgn_eam", "servicenow", "fiix",
                               "limble",   "upkeep",   "ultimo",     "maintenance_connection",
                               "met_team", "gagetrak", "indysoft"};
    assert_int_equal(sizeof(providers) / sizeof(providers[0]), MODEL_PROVIDER_COUNT);
    for (int i = 0; i < MODEL_PROVIDER_COUNT; i++) {
        enum model_provider p;
        assert_true(model_provider_parse(providers[i], &p));
        assert_int_equal(p, i);
        assert_string_equal(model_provider_name(p), providers[i]);
    }
    enum model_provider p;
    assert_false(model_provider_parse("SAP_PM", &p));
    assert_string_equal(model_provider_name(MODEL_PROVIDER_COUNT), "invalid");
    enum model_entity e;
    assert_true(model_entity_parse("maintenance_plan", &e));
    assert_int_equal(e, MODEL_ENTITY_MAINTENANCE_PLAN);
    enum model_domain d;
    assert_true(model_domain_parse("work_orders", &d));
    assert_string_equal(model_domain_name(MODEL_DOMAIN_USAGE), "usage");
}

static void test_errors(void **state)
{
    (void)state;
    struct model_error err;
    model_error_clear(&err);
    assert_int_equal(model_error_rc(&err), AB_OK);
    assert_int_equal(model_err_type(&err, "comments[2]", "text", "must be a %s", "string"),
                     AB_EPARSE);
    assert_string_equal(err.field, "comments[2].text");
    assert_string_equal(err.message, "must be a string");
    assert_int_equal(model_err_value(&err, "failure_codes", "[0]", "x"), AB_EINVAL);
    assert_string_equal(err.field, "failure_codes[0]");
    assert_int_equal(err.kind, MODEL_ERR_VALUE);
    char longkey[400];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    model_err_value(&err, "", longkey, "x");
    assert_int_equal(strlen(err.field), MODEL_FIELD_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_names), cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
