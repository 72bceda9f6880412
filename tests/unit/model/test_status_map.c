/* SPDX-License-Identifier: Apache-2.0
 *
 * test_status_map.c: unit tests for src/model/status_map.c: lookups both
 * ways, unmapped values as AB_ENOTFOUND mapping exceptions, conflicts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/status_map.h"

static void test_lookup(void **state)
{
    (void)state;
    struct model_status_map *m = model_status_map_new();
    assert_int_equal(
        model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "CRTD", MODEL_WO_DRAFT),
        AB_OK);
    assert_int_equal(
        model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "REL", MODEL_WO_OPEN),
        AB_OK);
    assert_int_equal(
        model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "PREL", MODEL_WO_OPEN),
        AB_OK);
    assert_int_equal(model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_PRIORITY, "1",
                                          MODEL_PRIORITY_URGENT),
                     AB_OK);
    assert_int_equal(model_status_map_add(m, MODEL_PROVIDER_MAXIMO, MODEL_MAP_STATUS, "REL",
                                          MODEL_WO_IN_PROGRESS),
                     AB_OK);
    /* same mapping again is fine, a different one conflicts */
    assert_int_equal(
        model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "REL", MODEL_WO_OPEN),
        AB_OK);
    assert_int_equal(
        model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "REL", MODEL_WO_CLOSED),
        AB_ECONFLICT);
    assert_int_equal(model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "X",
                                          MODEL_WO_STATUS_COUNT),
                     AB_EINVAL);
    assert_int_equal(model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_PRIORITY, "X",
                                          MODEL_PRIORITY_COUNT),
                     AB_EINVAL);
    assert_int_equal(
        model_status_map_add(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "", MODEL_WO_OPEN),
        AB_EINVAL);
    assert_int_equal(model_status_map_count(m), 5);
    assert_string_equal(model_status_map_at(m, 1)->source_value, "REL");
    assert_null(model_status_map_at(m, 5));

    struct model_error err;
    int common = -1;
    assert_int_equal(model_status_map_to_common(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "REL",
                                                &common, &err),
                     AB_OK);
    assert_int_equal(common, MODEL_WO_OPEN);
    assert_int_equal(model_status_map_to_common(m, MODEL_PROVIDER_MAXIMO, MODEL_MAP_STATUS, "REL",
                                                &common, &err),
                     AB_OK);
    assert_int_equal(common, MODEL_WO_IN_PROGRESS);
    assert_int_equal(model_status_map_to_common(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_PRIORITY, "1",
                                                &common, &err),
                     AB_OK);
    assert_int_equal(common, MODEL_PRIORITY_URGENT);

    /* unmapped: a mapping exception, never a default */
    common = -1;
    assert_int_equal(model_status_map_to_common(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "TECO",
                                                &common, &err),
                     AB_ENOTFOUND);
    assert_int_equal(common, -1);
    assert_string_equal(err.field, "source_status");
    assert_non_null(strstr(err.message, "sap_pm"));
    assert_non_null(strstr(err.message, "TECO"));
    assert_int_equal(model_status_map_to_common(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS, "rel",
                                                &common, &err),
                     AB_ENOTFOUND); /* case-sensitive */
    assert_int_equal(model_status_map_to_common(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_PRIORITY, "REL",
                                                &common, &err),
                     AB_ENOTFOUND); /* kinds are apart */
    assert_int_equal(
        model_status_map_to_common(m, MODEL_PROVIDER_FIIX, MODEL_MAP_STATUS, "REL", &common, &err),
        AB_ENOTFOUND);

    const char *src = NULL;
    assert_int_equal(model_status_map_to_source(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS,
                                                MODEL_WO_OPEN, &src, &err),
                     AB_OK);
    assert_string_equal(src, "REL"); /* the first added wins */
    assert_int_equal(model_status_map_to_source(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_STATUS,
                                                MODEL_WO_CLOSED, &src, &err),
                     AB_ENOTFOUND);
    assert_string_equal(err.field, "common_status");
    assert_non_null(strstr(err.message, "closed"));
    assert_int_equal(model_status_map_to_source(m, MODEL_PROVIDER_SAP_PM, MODEL_MAP_PRIORITY,
                                                MODEL_PRIORITY_LOW, &src, &err),
                     AB_ENOTFOUND);
    assert_string_equal(err.field, "priority");
    model_status_map_free(m);
    model_status_map_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
