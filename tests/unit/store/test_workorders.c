/* SPDX-License-Identifier: Apache-2.0
 *
 * test_workorders.c: unit tests for src/store/workorders.c against a real
 * SQLite store: creating hub and provider work orders (events, audit,
 * outbox), changes with revisions, stale If-Match, refused transitions and
 * no-op edits, listing with filters and paging, attachments (SHA-256, owner
 * checks, tenant isolation), recording calibrations (due date from a known
 * interval, certificate) and status mappings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/journal.h"
#include "store/records.h"
#include "store/workorders.h"
#include "store_test.h"

#define DAY INT64_C(86400000)
#define T0 INT64_C(1700000000000)

static struct model_work_order wo_new(const char *asset_ref, enum model_provider p,
                                      const char *source_id)
{
    struct model_work_order wo;
    memset(&wo, 0, sizeof(wo));
    wo.provider_id = p;
    wo.source_work_order_id = source_id;
    wo.asset_ref = asset_ref;
    wo.type = MODEL_WO_CORRECTIVE;
    wo.common_status = MODEL_WO_OPEN;
    wo.priority = MODEL_PRIORITY_MEDIUM;
    wo.sla_due_at = MODEL_TIME_UNSET;
    wo.opened_at = wo.started_at = wo.completed_at = wo.closed_at = MODEL_TIME_UNSET;
    wo.last_synced_at = MODEL_TIME_UNSET;
    return wo;
}

struct create {
    const char *tenant;
    struct model_work_order wo;
    struct arena *a;
    struct store_wo_result res;
};

static enum ab_rc create_job(struct store_tx *tx, void *arg)
{
    struct create *c = arg;
    return store_work_order_create(tx, c->tenant ? c->tenant : "t1", &c->wo, "tester", c->a,
                                   &c->res);
}

/* Create wo in tenant t1; returns the result code, the id into id. */
static enum ab_rc create(struct test_db *t, struct model_work_order wo, struct arena *a,
                         char id[32], struct store_wo_result *res)
{
    struct create c;
    memset(&c, 0, sizeof(c));
    c.tenant = "t1";
    c.wo = wo;
    c.a = a;
    enum ab_rc rc = store_write(t->s, create_job, &c, "corr-1");
    if (!rc && id)
        snprintf(id, 32, "%s", c.res.obj.id);
    if (res)
        *res = c.res;
    return rc;
}

struct verb {
    enum model_wo_verb verb;
    const char *assignee;
};

static enum ab_rc verb_edit(struct model_work_order *wo, struct arena *a, void *arg,
                            struct model_error *err)
{
    (void)a;
    struct verb *v = arg;
    enum model_wo_status to;
    enum ab_rc rc = model_wo_verb_apply(v->verb, wo->common_status, &to, err);
    if (!rc) {
        wo->common_status = to;
        if (v->assignee)
            wo->assignee = v->assignee;
    }
    return rc;
}

static enum ab_rc noop_edit(struct model_work_order *wo, struct arena *a, void *arg,
                            struct model_error *err)
{
    (void)wo;
    (void)a;
    (void)arg;
    (void)err;
    return AB_OK;
}

struct change {
    struct store_wo_change c;
    struct arena *a;
    struct store_wo_result res;
};

static enum ab_rc change_job(struct store_tx *tx, void *arg)
{
    struct change *c = arg;
    return store_work_order_change(tx, &c->c, c->a, &c->res);
}

static enum ab_rc change(struct test_db *t, const char *tenant, const char *id, int64_t if_rev,
                         store_wo_edit_fn fn, void *arg, struct arena *a,
                         struct store_wo_result *res)
{
    struct change c;
    memset(&c, 0, sizeof(c));
    c.c.tenant = tenant;
    c.c.id = id;
    c.c.if_revision = if_rev;
    c.c.actor = "tester";
    c.c.action = "work_order.test";
    c.c.edit = fn;
    c.c.arg = arg;
    c.a = a;
    enum ab_rc rc = store_write(t->s, change_job, &c, NULL);
    if (res)
        *res = c.res;
    return rc;
}

static void put_asset(struct test_db *t, const char *ref)
{
    struct model_asset as = test_asset(ref, NULL);
    assert_int_equal(test_put(t->s, &as, 0, NULL), AB_OK);
}

static void test_create(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    put_asset(&t, "A1");

    char id[32];
    struct store_wo_result res;
    assert_int_equal(create(&t, wo_new("A1", MODEL_PROVIDER_HUB, NULL), a, id, &res), AB_OK);
    assert_int_equal(res.obj.revision, 1);
    assert_true(res.changed);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM objects WHERE tenant = 't1' AND kind ="
                                " 'work_order' AND id = '%s' AND status = 'open'"
                                " AND asset_ref = 'A1' AND revision = 1",
                                id),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type ="
                                    " 'work_order.created' AND correlation_id = 'corr-1'"),
                     1);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM audit WHERE action ="
                                " 'work_order.create' AND actor = 'tester'"
                                " AND subject = 'work-order/%s'",
                                id),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM outbox"), 0);
    json_t *j = store_work_order_json(&res.obj);
    assert_string_equal(json_string_value(json_object_get(j, "common_work_order_id")), id);
    assert_string_equal(json_string_value(json_object_get(j, "sync_state")), "pending");
    assert_null(json_object_get(j, "id"));
    assert_non_null(json_object_get(j, "opened_at"));
    json_decref(j);

    /* a provider's work order also goes to the outbox */
    char id2[32];
    assert_int_equal(create(&t, wo_new("A1", MODEL_PROVIDER_SAP_PM, "4711"), a, id2, NULL), AB_OK);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM outbox WHERE provider = 'sap_pm' AND"
                                " action = 'open_request' AND idempotency_key ="
                                " 'wo:%s:create' AND state = 'pending'",
                                id2),
                     1);

    /* unknown asset */
    assert_int_equal(create(&t, wo_new("NOPE", MODEL_PROVIDER_HUB, NULL), a, NULL, &res),
                     AB_EINVAL);
    assert_string_equal(res.err.field, "asset_ref");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM objects"), 2);

    /* draft: no opened_at */
    struct model_work_order d = wo_new("A1", MODEL_PROVIDER_HUB, NULL);
    d.common_status = MODEL_WO_DRAFT;
    assert_int_equal(create(&t, d, a, id, &res), AB_OK);
    assert_null(json_object_get(res.obj.doc, "opened_at"));
    arena_free(a);
    test_db_close(&t);
}

static void test_change(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    put_asset(&t, "A1");
    char id[32];
    assert_int_equal(create(&t, wo_new("A1", MODEL_PROVIDER_HUB, NULL), a, id, NULL), AB_OK);

    struct store_wo_result res;
    struct verb assign = {MODEL_WO_VERB_ASSIGN, "alice"};
    assert_int_equal(change(&t, "t1", id, 1, verb_edit, &assign, a, &res), AB_OK);
    assert_true(res.changed);
    assert_int_equal(res.obj.revision, 2);
    assert_string_equal(res.obj.status, "assigned");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type ="
                                    " 'work_order.updated'"),
                     1);

    /* stale revision */
    struct verb start = {MODEL_WO_VERB_START, NULL};
    assert_int_equal(change(&t, "t1", id, 1, verb_edit, &start, a, &res), AB_ECONFLICT);
    assert_true(res.stale);
    assert_int_equal(res.obj.revision, 2);

    /* a refused transition names the allowed ones and changes nothing */
    struct verb reopen = {MODEL_WO_VERB_REOPEN, NULL};
    assert_int_equal(change(&t, "t1", id, 0, verb_edit, &reopen, a, &res), AB_ECONFLICT);
    assert_false(res.stale);
    assert_string_equal(res.err.field, "common_status");
    assert_non_null(strstr(res.err.message, "in_progress"));
    assert_int_equal(test_count(&t, "SELECT revision FROM objects WHERE id = '%s'", id), 2);

    /* identical content: nothing written */
    assert_int_equal(change(&t, "t1", id, 0, noop_edit, NULL, a, &res), AB_OK);
    assert_false(res.changed);
    assert_int_equal(res.obj.revision, 2);

    struct verb complete = {MODEL_WO_VERB_COMPLETE, NULL};
    assert_int_equal(change(&t, "t1", id, 2, verb_edit, &complete, a, &res), AB_OK);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type ="
                                    " 'work_order.completed'"),
                     1);
    struct verb close = {MODEL_WO_VERB_CLOSE, NULL};
    assert_int_equal(change(&t, "t1", id, 3, verb_edit, &close, a, &res), AB_OK);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type ="
                                    " 'work_order.closed'"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE action ="
                                    " 'work_order.test' AND before_digest IS NOT NULL"),
                     3);

    /* another tenant does not see it */
    assert_int_equal(change(&t, "t2", id, 0, verb_edit, &reopen, a, &res), AB_ENOTFOUND);
    assert_int_equal(test_count(&t, "SELECT revision FROM objects WHERE id = '%s'", id), 4);
    arena_free(a);
    test_db_close(&t);
}

static void test_list(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    put_asset(&t, "A1");
    put_asset(&t, "A2");
    for (int i = 0; i < 5; i++) {
        struct model_work_order wo = wo_new(i % 2 ? "A2" : "A1", MODEL_PROVIDER_HUB, NULL);
        wo.type = i < 3 ? MODEL_WO_PREVENTIVE : MODEL_WO_INSPECTION;
        assert_int_equal(create(&t, wo, a, NULL, NULL), AB_OK);
    }
    struct store_read *r;
    assert_int_equal(store_read_begin(t.s, &r), AB_OK);
    struct store_object_filter f = {0};
    f.kind = STORE_KIND_WORK_ORDER;
    f.due_before = INT64_MIN;
    f.limit = 2;
    struct store_object *o;
    size_t n = 0;
    bool more = false;
    /* paging: 2 + 2 + 1 */
    size_t total = 0;
    char last[32] = "";
    for (int page = 0; page < 3; page++) {
        f.after = last;
        assert_int_equal(store_objects_list(r, "t1", &f, a, &o, &n, &more), AB_OK);
        total += n;
        assert_true(n > 0);
        assert_true(strcmp(o[0].id, last) > 0);
        snprintf(last, sizeof(last), "%s", o[n - 1].id);
        assert_int_equal(more, page < 2);
    }
    assert_int_equal(total, 5);

    f.after = NULL;
    f.limit = 100;
    f.asset_ref = "A1";
    assert_int_equal(store_objects_list(r, "t1", &f, a, &o, &n, &more), AB_OK);
    assert_int_equal(n, 3);
    f.type = "inspection";
    assert_int_equal(store_objects_list(r, "t1", &f, a, &o, &n, &more), AB_OK);
    assert_int_equal(n, 1);
    f.asset_ref = NULL;
    f.limit = 1;
    assert_int_equal(store_objects_list(r, "t1", &f, a, &o, &n, &more), AB_OK);
    assert_int_equal(n, 1);
    assert_true(more);
    f.type = NULL;
    f.provider = "sap_pm";
    assert_int_equal(store_objects_list(r, "t1", &f, a, &o, &n, &more), AB_OK);
    assert_int_equal(n, 0);
    f.provider = NULL;
    f.status = "open";
    f.limit = 100;
    assert_int_equal(store_objects_list(r, "t2", &f, a, &o, &n, &more), AB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_objects_list(r, "t1", &f, a, &o, &n, &more), AB_OK);
    assert_int_equal(n, 5);
    store_read_end(r);
    arena_free(a);
    test_db_close(&t);
}

struct attach {
    const char *tenant;
    struct model_attachment m;
    const char *content;
    struct arena *a;
    struct store_attachment_row out;
};

static enum ab_rc attach_job(struct store_tx *tx, void *arg)
{
    struct attach *j = arg;
    return store_attachment_add(tx, j->tenant, &j->m, j->content, strlen(j->content), "tester",
                                j->a, &j->out);
}

static void test_attachments(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    put_asset(&t, "A1");
    char id[32];
    assert_int_equal(create(&t, wo_new("A1", MODEL_PROVIDER_HUB, NULL), a, id, NULL), AB_OK);
    struct attach j;
    memset(&j, 0, sizeof(j));
    j.tenant = "t1";
    j.m.owner_kind = MODEL_OWNER_WORK_ORDER;
    j.m.owner_id = id;
    j.m.file_name = "photo.txt";
    j.m.media_type = "text/plain";
    j.content = "hello";
    j.a = a;
    assert_int_equal(store_write(t.s, attach_job, &j, NULL), AB_OK);
    assert_string_equal(j.out.meta.sha256,
                        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_int_equal(j.out.meta.size, 5);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM attachments WHERE owner_kind ="
                                " 'work_order' AND owner_id = '%s' AND length(content) = 5",
                                id),
                     1);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM events WHERE type ="
                                " 'attachment.added' AND subject = 'work-order/%s'",
                                id),
                     1);
    /* another tenant's work order, an unknown one, a bad file name */
    j.tenant = "t2";
    assert_int_equal(store_write(t.s, attach_job, &j, NULL), AB_ENOTFOUND);
    j.tenant = "t1";
    j.m.owner_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    assert_int_equal(store_write(t.s, attach_job, &j, NULL), AB_ENOTFOUND);
    j.m.owner_id = id;
    j.m.file_name = "../etc/passwd";
    assert_int_equal(store_write(t.s, attach_job, &j, NULL), AB_EINVAL);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM attachments"), 1);
    arena_free(a);
    test_db_close(&t);
}

struct cal {
    struct store_cal_record in;
    struct arena *a;
    struct store_cal_result res;
};

static enum ab_rc cal_job(struct store_tx *tx, void *arg)
{
    struct cal *c = arg;
    return store_calibration_record(tx, &c->in, c->a, &c->res);
}

struct up {
    const char *doc;
    struct arena *a;
};

static enum ab_rc up_job(struct store_tx *tx, void *arg)
{
    struct up *u = arg;
    json_error_t je;
    json_t *doc = json_loads(u->doc, 0, &je);
    struct store_record rec = {"t1", "gagetrak", "calibration", "G-1",
                               doc,  INT64_MIN,  INT64_MIN,     NULL};
    struct store_upsert_result res;
    enum ab_rc rc = store_record_upsert(tx, &rec, u->a, &res);
    json_decref(doc);
    return rc;
}

static void test_calibration(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    put_asset(&t, "A1");
    struct cal c;
    memset(&c, 0, sizeof(c));
    c.in.tenant = "t1";
    c.in.asset_ref = "A1";
    c.in.performed_at = T0;
    c.in.result = MODEL_CAL_IN_TOLERANCE;
    c.in.next_due_at = MODEL_TIME_UNSET;
    c.in.actor = "tester";
    c.a = a;
    /* no interval known: no due date */
    assert_int_equal(store_write(t.s, cal_job, &c, NULL), AB_OK);
    assert_true(c.res.created);
    assert_int_equal(c.res.obj.due_at, INT64_MIN);
    assert_null(c.res.cert.id);

    /* a provider knows the interval: 30 days */
    struct up u = {"{\"asset_ref\":\"A1\",\"interval_days\":30}", a};
    assert_int_equal(store_write(t.s, up_job, &u, NULL), AB_OK);
    c.in.performed_at = T0 + DAY;
    c.in.result = MODEL_CAL_OUT_OF_TOLERANCE;
    c.in.cert_file_name = "cert.pdf";
    c.in.cert_media_type = "application/pdf";
    c.in.cert_content = "PDF";
    c.in.cert_len = 3;
    c.in.certificate_id = "C-77";
    assert_int_equal(store_write(t.s, cal_job, &c, NULL), AB_OK);
    assert_false(c.res.created);
    assert_int_equal(c.res.obj.revision, 2);
    assert_int_equal(c.res.obj.due_at, T0 + DAY + 30 * DAY);
    assert_non_null(c.res.cert.id);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM attachments WHERE owner_kind ="
                                " 'calibration' AND owner_id = '%s'",
                                c.res.obj.id),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type ="
                                    " 'calibration.completed'"),
                     2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM objects WHERE kind = 'calibration'"), 2);
    assert_string_equal(json_string_value(json_object_get(c.res.obj.doc, "result")),
                        "out_of_tolerance");
    assert_string_equal(json_string_value(json_object_get(c.res.obj.doc, "certificate_id")),
                        "C-77");

    /* explicit next due date wins; bad URL refused; unknown asset */
    c.in.next_due_at = T0 + 5 * DAY;
    c.in.cert_file_name = NULL;
    assert_int_equal(store_write(t.s, cal_job, &c, NULL), AB_OK);
    assert_int_equal(c.res.obj.due_at, T0 + 5 * DAY);
    c.in.certificate_url = "ftp://x";
    assert_int_equal(store_write(t.s, cal_job, &c, NULL), AB_EINVAL);
    assert_string_equal(c.res.err.field, "certificate_url");
    c.in.certificate_url = NULL;
    c.in.asset_ref = "NOPE";
    assert_int_equal(store_write(t.s, cal_job, &c, NULL), AB_ENOTFOUND);
    c.in.asset_ref = "A1";
    c.in.tenant = "t2";
    assert_int_equal(store_write(t.s, cal_job, &c, NULL), AB_ENOTFOUND);
    arena_free(a);
    test_db_close(&t);
}

struct map {
    const char *tenant;
    struct store_status_map_row m;
    bool del, created;
};

static enum ab_rc map_job(struct store_tx *tx, void *arg)
{
    struct map *j = arg;
    if (j->del)
        return store_status_map_delete(tx, j->tenant, j->m.provider, j->m.kind, j->m.source_value,
                                       "admin");
    return store_status_map_put(tx, j->tenant, &j->m, "admin", &j->created);
}

static enum ab_rc map_put(struct test_db *t, const char *tenant, const char *provider,
                          const char *kind, const char *src, const char *common, bool *created)
{
    struct map j = {tenant, {provider, kind, src, common}, false, false};
    enum ab_rc rc = store_write(t->s, map_job, &j, NULL);
    if (created)
        *created = j.created;
    return rc;
}

static void test_status_maps(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    bool created = false;
    assert_int_equal(map_put(&t, "t1", "sap_pm", "status", "REL", "open", &created), AB_OK);
    assert_true(created);
    assert_int_equal(map_put(&t, "t1", "sap_pm", "status", "REL", "assigned", &created), AB_OK);
    assert_false(created);
    assert_int_equal(map_put(&t, "t1", "sap_pm", "status", "TECO", "completed", NULL), AB_OK);
    assert_int_equal(map_put(&t, "t1", "sap_pm", "priority", "1", "urgent", NULL), AB_OK);
    assert_int_equal(map_put(&t, "t1", "maximo", "status", "WAPPR", "draft", NULL), AB_OK);
    assert_int_equal(map_put(&t, "t2", "sap_pm", "status", "REL", "open", NULL), AB_OK);
    /* invalid values */
    assert_int_equal(map_put(&t, "t1", "sap_pm", "status", "X", "urgent", NULL), AB_EINVAL);
    assert_int_equal(map_put(&t, "t1", "sap_pm", "priority", "X", "open", NULL), AB_EINVAL);
    assert_int_equal(map_put(&t, "t1", "nobody", "status", "X", "open", NULL), AB_EINVAL);
    assert_int_equal(map_put(&t, "t1", "sap_pm", "colour", "X", "open", NULL), AB_EINVAL);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE action = 'status_map.put'"),
                     6);

    struct store_read *r;
    assert_int_equal(store_read_begin(t.s, &r), AB_OK);
    struct store_status_map_row *rows;
    size_t n = 0;
    bool more = false;
    assert_int_equal(store_status_maps_list(r, "t1", NULL, NULL, 2, a, &rows, &n, &more), AB_OK);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(rows[0].provider, "maximo");
    assert_string_equal(rows[1].kind, "priority");
    struct store_status_map_row after = rows[1];
    assert_int_equal(store_status_maps_list(r, "t1", NULL, &after, 2, a, &rows, &n, &more), AB_OK);
    assert_int_equal(n, 2);
    assert_false(more);
    assert_string_equal(rows[0].source_value, "REL");
    assert_string_equal(rows[0].common_value, "assigned");
    assert_int_equal(store_status_maps_list(r, "t1", "maximo", NULL, 10, a, &rows, &n, &more),
                     AB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_status_maps_list(r, "t3", NULL, NULL, 10, a, &rows, &n, &more), AB_OK);
    assert_int_equal(n, 0);
    store_read_end(r);

    struct map d = {"t1", {"sap_pm", "status", "REL", NULL}, true, false};
    assert_int_equal(store_write(t.s, map_job, &d, NULL), AB_OK);
    assert_int_equal(store_write(t.s, map_job, &d, NULL), AB_ENOTFOUND);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM status_maps WHERE source_value = 'REL'"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE action ="
                                    " 'status_map.delete'"),
                     1);
    arena_free(a);
    test_db_close(&t);
}

int main(void)
{
    log_configure(LOG_ERROR, LOG_FORMAT_JSON, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),      cmocka_unit_test(test_change),
        cmocka_unit_test(test_list),        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_calibration), cmocka_unit_test(test_status_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
