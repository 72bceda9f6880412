/* SPDX-License-Identifier: Apache-2.0
 *
 * test_work_order.c: unit tests for src/model/work_order.c: the lifecycle
 * table checked exhaustively against an independent copy of the documented
 * table, the action verbs, and work order parsing with list field paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model/work_order.h"

/* The table of docs/internals/model.md, written out by hand: row = from. */
static const char *const expected[MODEL_WO_STATUS_COUNT] = {
    [MODEL_WO_DRAFT] = "open cancelled",
    [MODEL_WO_OPEN] = "assigned in_progress on_hold completed cancelled",
    [MODEL_WO_ASSIGNED] = "open in_progress on_hold completed cancelled",
    [MODEL_WO_IN_PROGRESS] = "on_hold completed cancelled",
    [MODEL_WO_ON_HOLD] = "open assigned in_progress cancelled",
    [MODEL_WO_COMPLETED] = "open in_progress closed",
    [MODEL_WO_CLOSED] = "open",
    [MODEL_WO_CANCELLED] = "",
};

static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void test_transitions_exhaustive(void **state)
{
    (void)state;
    int allowed = 0;
    for (int f = 0; f < MODEL_WO_STATUS_COUNT; f++) {
        size_t count = 0;
        for (int t = 0; t < MODEL_WO_STATUS_COUNT; t++) {
            bool want = listed(expected[f], model_wo_status_name((enum model_wo_status)t));
            bool got =
                model_wo_transition_allowed((enum model_wo_status)f, (enum model_wo_status)t);
            if (want != got)
                fail_msg("%s -> %s: expected %d", model_wo_status_name((enum model_wo_status)f),
                         model_wo_status_name((enum model_wo_status)t), want);
            count += want;
            allowed += want;
        }
        enum model_wo_status next[MODEL_WO_STATUS_COUNT];
        assert_int_equal(
            model_wo_allowed_next((enum model_wo_status)f, next, MODEL_WO_STATUS_COUNT), count);
        for (size_t i = 0; i < count; i++)
            assert_true(listed(expected[f], model_wo_status_name(next[i])));
        /* n smaller than the count: only n written, full count returned */
        enum model_wo_status one[1] = {MODEL_WO_STATUS_COUNT};
        assert_int_equal(model_wo_allowed_next((enum model_wo_status)f, one, 1), count);
        if (count)
            assert_int_equal(one[0], next[0]);
        else
            assert_int_equal(one[0], MODEL_WO_STATUS_COUNT);
    }
    assert_int_equal(allowed, 23);
    for (int s = 0; s < MODEL_WO_STATUS_COUNT; s++)
        assert_false(model_wo_transition_allowed((enum model_wo_status)s, (enum model_wo_status)s));
    assert_false(model_wo_transition_allowed(MODEL_WO_STATUS_COUNT, MODEL_WO_OPEN));
    assert_false(model_wo_transition_allowed(MODEL_WO_OPEN, (enum model_wo_status) - 1));
}

static void test_allowed_next_str(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(model_wo_allowed_next_str(MODEL_WO_DRAFT, buf, sizeof(buf)),
                        "open, cancelled");
    assert_string_equal(model_wo_allowed_next_str(MODEL_WO_CANCELLED, buf, sizeof(buf)), "none");
    char tiny[6];
    model_wo_allowed_next_str(MODEL_WO_OPEN, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), 5);
}

static void test_verbs(void **state)
{
    (void)state;
    static const struct {
        const char *verb;
        enum model_wo_status target;
    } map[] = {
        {"assign", MODEL_WO_ASSIGNED},  {"start", MODEL_WO_IN_PROGRESS},
        {"hold", MODEL_WO_ON_HOLD},     {"complete", MODEL_WO_COMPLETED},
        {"close", MODEL_WO_CLOSED},     {"reopen", MODEL_WO_OPEN},
        {"cancel", MODEL_WO_CANCELLED}, {"submit", MODEL_WO_OPEN},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        enum model_wo_verb v;
        assert_true(model_wo_verb_parse(map[i].verb, &v));
        assert_int_equal(model_wo_verb_target(v), map[i].target);
    }
    assert_false(model_wo_verb_parse("finish", &(enum model_wo_verb){0}));

    /* every verb from every status: allowed iff the table allows it, and
     * reopen only from completed or closed */
    struct model_error err;
    for (int v = 0; v < MODEL_WO_VERB_COUNT; v++) {
        for (int f = 0; f < MODEL_WO_STATUS_COUNT; f++) {
            enum model_wo_status to = MODEL_WO_STATUS_COUNT;
            enum model_wo_status target = model_wo_verb_target((enum model_wo_verb)v);
            bool want = model_wo_transition_allowed((enum model_wo_status)f, target);
            if (v == MODEL_WO_VERB_REOPEN)
                want = f == MODEL_WO_COMPLETED || f == MODEL_WO_CLOSED;
            if (v == MODEL_WO_VERB_SUBMIT)
                want = f == MODEL_WO_DRAFT;
            enum ab_rc rc =
                model_wo_verb_apply((enum model_wo_verb)v, (enum model_wo_status)f, &to, &err);
            assert_int_equal(rc, want ? AB_OK : AB_ECONFLICT);
            if (want)
                assert_int_equal(to, target);
            else
                assert_string_equal(err.field, "common_status");
        }
    }
    enum model_wo_status to;
    assert_int_equal(model_wo_verb_apply(MODEL_WO_VERB_REOPEN, MODEL_WO_ON_HOLD, &to, &err),
                     AB_ECONFLICT);
    assert_int_equal(model_wo_verb_apply(MODEL_WO_VERB_CLOSE, MODEL_WO_DRAFT, &to, &err),
                     AB_ECONFLICT);
    assert_non_null(strstr(err.message, "open, cancelled"));
}

static enum ab_rc parse(struct arena *a, const char *text, struct model_work_order *out,
                        struct model_error *err)
{
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    enum ab_rc rc = model_work_order_from_json(a, v, out, err);
    json_decref(v);
    return rc;
}

static void test_parse(void **state)
{
    (void)state;
    struct arena *a = arena_new(0, 0);
    struct model_work_order wo;
    struct model_error err;
    assert_int_equal(
        parse(a,
              "{\"common_work_order_id\":\"01J0000000000000000000000A\",\"provider_id\":\"sap_pm\","
              "\"source_work_order_id\":\"4711\",\"asset_ref\":\"FX-1\",\"type\":\"corrective\","
              "\"source_status\":\"REL\",\"common_status\":\"in_progress\",\"priority\":\"high\","
              "\"source_priority\":\"2\",\"opened_at\":\"2026-01-01T00:00:00Z\","
              "\"failure_codes\":[\"F1\",\"F2\"],\"notes\":\"n\",\"assignee\":\"kim\","
              "\"comments\":[{\"author\":\"kim\",\"text\":\"hi\",\"at\":\"2026-01-01T01:00:00Z\"},"
              "{\"author\":\"lee\",\"text\":\"ok\"}],\"sync_state\":\"imported\",\"revision\":3}",
              &wo, &err),
        AB_OK);
    assert_int_equal(wo.provider_id, MODEL_PROVIDER_SAP_PM);
    assert_int_equal(wo.common_status, MODEL_WO_IN_PROGRESS);
    assert_int_equal(wo.n_failure_codes, 2);
    assert_string_equal(wo.failure_codes[1], "F2");
    assert_int_equal(wo.n_comments, 2);
    assert_string_equal(wo.comments[1].author, "lee");
    assert_int_equal(wo.comments[1].at, MODEL_TIME_UNSET);
    assert_int_equal(wo.revision, 3);
    json_t *out = model_work_order_to_json(&wo);
    struct model_work_order back;
    assert_int_equal(model_work_order_from_json(a, out, &back, &err), AB_OK);
    json_t *out2 = model_work_order_to_json(&back);
    assert_true(json_equal(out, out2));
    assert_null(json_object_get(json_array_get(json_object_get(out, "comments"), 1), "at"));
    json_decref(out);
    json_decref(out2);

    /* defaults */
    assert_int_equal(parse(a, "{\"asset_ref\":\"X\",\"type\":\"inspection\"}", &wo, &err), AB_OK);
    assert_int_equal(wo.provider_id, MODEL_PROVIDER_HUB);
    assert_int_equal(wo.common_status, MODEL_WO_OPEN);
    assert_int_equal(wo.priority, MODEL_PRIORITY_MEDIUM);
    assert_int_equal(wo.sync_state, MODEL_SYNC_PENDING);
    assert_null(wo.common_work_order_id);
    assert_int_equal(wo.n_comments, 0);
    arena_free(a);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        enum ab_rc rc;
        const char *field;
    } cases[] = {
        {"{\"type\":\"inspection\"}", AB_EINVAL, "asset_ref"},
        {"{\"asset_ref\":\"X\"}", AB_EINVAL, "type"},
        {"{\"asset_ref\":\"X\",\"type\":\"repair\"}", AB_EINVAL, "type"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"common_status\":\"done\"}", AB_EINVAL,
         "common_status"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"priority\":3}", AB_EPARSE, "priority"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"revision\":-1}", AB_EINVAL, "revision"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"revision\":1.5}", AB_EPARSE, "revision"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"common_work_order_id\":\"nope\"}",
         AB_EINVAL, "common_work_order_id"},
        /* a provider's work order that exists there (imported) needs its id there */
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"provider_id\":\"wats\","
         "\"sync_state\":\"imported\"}",
         AB_EINVAL, "source_work_order_id"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"provider_id\":\"acme\"}", AB_EINVAL,
         "provider_id"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"failure_codes\":\"F1\"}", AB_EPARSE,
         "failure_codes"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"failure_codes\":[\"F1\",7]}", AB_EPARSE,
         "failure_codes[1]"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"failure_codes\":[\"\"]}", AB_EINVAL,
         "failure_codes[0]"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"comments\":[{\"author\":\"a\","
         "\"text\":\"t\"},{\"author\":\"a\",\"text\":\"t\"},{\"author\":\"a\",\"text\":5}]}",
         AB_EPARSE, "comments[2].text"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"comments\":[{\"author\":\"a\"}]}",
         AB_EINVAL, "comments[0].text"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"comments\":[{\"author\":\"a\","
         "\"text\":\"t\",\"x\":1}]}",
         AB_EPARSE, "comments[0].x"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"comments\":[1]}", AB_EPARSE,
         "comments[0]"},
        {"{\"asset_ref\":\"X\",\"type\":\"inspection\",\"sla_due_at\":\"tomorrow\"}", AB_EINVAL,
         "sla_due_at"},
    };
    struct arena *a = arena_new(0, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct model_work_order wo;
        struct model_error err;
        enum ab_rc rc = parse(a, cases[i].json, &wo, &err);
        if (rc != cases[i].rc || strcmp(err.field, cases[i].field) != 0)
            fail_msg("case %zu: rc %d field '%s' (%s)", i, rc, err.field, err.message);
        assert_int_equal(err.kind, rc == AB_EPARSE ? MODEL_ERR_TYPE : MODEL_ERR_VALUE);
    }
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transitions_exhaustive),
        cmocka_unit_test(test_allowed_next_str),
        cmocka_unit_test(test_verbs),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
