/* SPDX-License-Identifier: Apache-2.0
 *
 * test_records.c: unit tests for src/store/records.c (and the mapping
 * exceptions of journal.c it uses) against a real SQLite store: the first
 * upsert of an asset record creates and links an asset (asset_ref from the
 * proposal, the serial number or a ULID), unchanged and changed records,
 * stale revisions and last-modified times as recorded conflicts, a second
 * provider joining the same asset by serial number, mapping exceptions
 * (native id conflicts, ambiguous serials, one open exception per failing
 * record) and their resolution by link, create and ignore, missing-at-source
 * marking, and work orders kept as objects with their events.
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
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "store/journal.h"
#include "store/records.h"
#include "store_test.h"

#define NOREV INT64_MIN
#define T0 INT64_C(1700000000000)

struct up {
    const char *provider, *entity, *native_id;
    json_t *doc;
    int64_t rev, mod;
    struct arena *a;
    struct store_upsert_result res;
};

static enum ab_rc up_job(struct store_tx *tx, void *arg)
{
    struct up *u = arg;
    struct store_record rec = {"t1",   u->provider, u->entity, u->native_id,
                               u->doc, u->rev,      u->mod,    NULL};
    return store_record_upsert(tx, &rec, u->a, &u->res);
}

/* Upsert one record (doc as JSON text) in a job of its own; asserts AB_OK
 * and returns the result (strings in a). */
static struct store_upsert_result upsert(struct test_db *t, const char *provider,
                                         const char *entity, const char *native_id, const char *doc,
                                         int64_t rev, int64_t mod, struct arena *a)
{
    json_error_t je;
    struct up u = {provider, entity, native_id, json_loads(doc, 0, &je), rev, mod, a, {0}};
    assert_non_null(u.doc);
    enum ab_rc rc = store_write(t->s, up_job, &u, NULL);
    if (rc)
        fprintf(stderr, "upsert %s/%s: %s\n", provider, native_id, u.res.message);
    assert_int_equal(rc, AB_OK);
    json_decref(u.doc);
    return u.res;
}

static struct store_upsert_result asset_rec(struct test_db *t, const char *provider,
                                            const char *native_id, const char *doc, struct arena *a)
{
    return upsert(t, provider, "asset", native_id, doc, NOREV, NOREV, a);
}

static const char *linked_to(struct test_db *t, const char *provider, const char *native_id,
                             struct arena *a)
{
    struct store_read *r;
    const char *ref = NULL;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    enum ab_rc rc = store_link_lookup(r, "t1", provider, native_id, a, &ref);
    store_read_end(r);
    return rc == AB_OK ? ref : NULL;
}

static int64_t events_of(struct test_db *t, const char *type)
{
    return test_count(t, "SELECT COUNT(*) FROM events WHERE type = '%s'", type);
}

static void test_first_upsert_creates_and_links(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);

    /* asset_ref = the serial number when it is free */
    struct store_upsert_result r =
        asset_rec(&t, "sap_pm", "10001", "{\"serial_number\":\"SN-100\",\"name\":\"Press\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);
    assert_string_equal(r.subject, "SN-100");
    assert_string_equal(linked_to(&t, "sap_pm", "10001", a), "SN-100");
    assert_int_equal(events_of(&t, "asset.created"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM source_records WHERE subject = 'SN-100'"
                                    " AND native_id = '10001' AND provider = 'sap_pm'"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE action = 'asset.create'"
                                    " AND actor = 'connector:sap_pm'"),
                     1);

    /* a proposal in the document wins when free */
    r = asset_rec(&t, "sap_pm", "10002",
                  "{\"asset_ref\":\"PRESS-7\",\"serial_number\":\"SN-300\",\"name\":\"P7\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);
    assert_string_equal(r.subject, "PRESS-7");
    assert_string_equal(linked_to(&t, "sap_pm", "10002", a), "PRESS-7");

    /* serial number taken as an asset_ref by another asset: a ULID */
    struct model_asset other = test_asset("SN-200", "OTHER-SERIAL");
    assert_int_equal(test_put(t.s, &other, 0, NULL), AB_OK);
    r = asset_rec(&t, "sap_pm", "10003", "{\"serial_number\":\"SN-200\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);
    assert_int_equal(strlen(r.subject), ID_ULID_LEN);
    assert_string_not_equal(r.subject, "SN-200");
    assert_string_equal(linked_to(&t, "sap_pm", "10003", a), r.subject);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE serial_number = 'SN-200'"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets"), 4);
    arena_free(a);
    test_db_close(&t);
}

static void test_unchanged_updated_and_stale(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    const char *v1 = "{\"serial_number\":\"SN-1\",\"name\":\"one\"}";
    const char *v2 = "{\"serial_number\":\"SN-1\",\"name\":\"two\"}";
    const char *v3 = "{\"serial_number\":\"SN-1\",\"name\":\"three\"}";
    struct store_upsert_result r = upsert(&t, "sap_pm", "asset", "1", v1, 5, NOREV, a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);

    r = upsert(&t, "sap_pm", "asset", "1", v1, 5, NOREV, a);
    assert_int_equal(r.outcome, STORE_UPSERT_UNCHANGED);
    assert_string_equal(r.subject, "SN-1");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events"), 1);

    r = upsert(&t, "sap_pm", "asset", "1", v2, 6, NOREV, a);
    assert_int_equal(r.outcome, STORE_UPSERT_UPDATED);
    assert_int_equal(events_of(&t, "asset.updated"), 1);
    assert_int_equal(test_count(&t, "SELECT revision FROM assets WHERE asset_ref = 'SN-1'"), 2);

    /* stale revision: refused, logged, audited, nothing changed */
    int64_t events = test_count(&t, "SELECT COUNT(*) FROM events");
    r = upsert(&t, "sap_pm", "asset", "1", v3, 4, NOREV, a);
    assert_int_equal(r.outcome, STORE_UPSERT_CONFLICT);
    assert_non_null(strstr(r.message, "4"));
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM sync_log WHERE native_id = '1'"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE action = 'record.conflict'"
                                    " AND subject = 'record/sap_pm/asset/1'"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events"), events);
    assert_int_equal(test_count(&t, "SELECT revision FROM assets WHERE asset_ref = 'SN-1'"), 2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE doc LIKE '%%three%%'"), 0);
    assert_int_equal(test_count(&t, "SELECT source_revision FROM source_records"), 6);

    /* equal revision, other content: an update */
    r = upsert(&t, "sap_pm", "asset", "1", v3, 6, NOREV, a);
    assert_int_equal(r.outcome, STORE_UPSERT_UPDATED);
    assert_int_equal(test_count(&t, "SELECT revision FROM assets WHERE asset_ref = 'SN-1'"), 3);

    /* no revision: the last-modified time decides */
    r = upsert(&t, "sap_pm", "asset", "m", "{\"serial_number\":\"SN-M\"}", NOREV, T0 + 1000, a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);
    r = upsert(&t, "sap_pm", "asset", "m", "{\"serial_number\":\"SN-M\",\"name\":\"old\"}", NOREV,
               T0, a);
    assert_int_equal(r.outcome, STORE_UPSERT_CONFLICT);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE doc LIKE '%%old%%'"), 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM sync_log"), 2);
    r = upsert(&t, "sap_pm", "asset", "m", "{\"serial_number\":\"SN-M\",\"name\":\"new\"}", NOREV,
               T0 + 2000, a);
    assert_int_equal(r.outcome, STORE_UPSERT_UPDATED);
    arena_free(a);
    test_db_close(&t);
}

static void test_second_provider_joins_by_serial(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    struct store_upsert_result r =
        asset_rec(&t, "sap_pm", "10001", "{\"serial_number\":\"SN-100\",\"name\":\"Press\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);
    r = asset_rec(&t, "wats", "W-1", "{\"serial_number\":\"SN-100\",\"part_number\":\"PN-9\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_UPDATED);
    assert_string_equal(r.subject, "SN-100");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets"), 1);
    assert_string_equal(linked_to(&t, "wats", "W-1", a), "SN-100");
    assert_string_equal(linked_to(&t, "sap_pm", "10001", a), "SN-100");
    /* merged, not replaced */
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE doc LIKE '%%Press%%'"
                                    " AND doc LIKE '%%PN-9%%'"),
                     1);
    arena_free(a);
    test_db_close(&t);
}

static void test_native_id_conflict_is_held(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    struct store_upsert_result r =
        asset_rec(&t, "sap_pm", "10001", "{\"serial_number\":\"SN-100\",\"name\":\"Press\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);
    int64_t events = test_count(&t, "SELECT COUNT(*) FROM events");

    r = asset_rec(&t, "sap_pm", "10002", "{\"serial_number\":\"SN-100\",\"name\":\"Held\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_EXCEPTION);
    assert_non_null(r.exception_id);
    char id[64];
    snprintf(id, sizeof(id), "%s", r.exception_id);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM mapping_exceptions WHERE id = '%s'"
                                " AND state = 'open' AND provider = 'sap_pm'"
                                " AND native_id = '10002' AND reason = 'native_id_conflict'"
                                " AND json_extract(change, '$.doc.name') = 'Held'"
                                " AND json_extract(change, '$.doc.serial_number') = 'SN-100'"
                                " AND json_extract(change, '$.native_id') = '10002'"
                                " AND json_extract(change, '$.entity') = 'asset'",
                                id),
                     1);
    assert_int_equal(events_of(&t, "mapping.exception"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events"), events + 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets"), 1);
    assert_int_equal(test_count(&t, "SELECT revision FROM assets"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE doc LIKE '%%Held%%'"), 0);
    assert_null(linked_to(&t, "sap_pm", "10002", a));
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM source_records"), 1);

    /* pulled again (with a newer change): the one open exception is updated */
    r = asset_rec(&t, "sap_pm", "10002", "{\"serial_number\":\"SN-100\",\"name\":\"Held 2\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_EXCEPTION);
    assert_string_equal(r.exception_id, id);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM mapping_exceptions"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM mapping_exceptions"
                                    " WHERE json_extract(change, '$.doc.name') = 'Held 2'"),
                     1);
    assert_int_equal(events_of(&t, "mapping.exception"), 1);
    arena_free(a);
    test_db_close(&t);
}

struct rs {
    const char *id;
    enum store_resolve_action action;
    const char *target;
    struct arena *a;
    struct store_upsert_result res;
};

static enum ab_rc rs_job(struct store_tx *tx, void *arg)
{
    struct rs *x = arg;
    return store_mapping_exception_resolve(tx, "t1", x->id, x->action, x->target, "alice", x->a,
                                           &x->res);
}

static enum ab_rc resolve_exc(struct test_db *t, const char *id, enum store_resolve_action action,
                              const char *target, struct arena *a, struct store_upsert_result *res)
{
    struct rs x = {id, action, target, a, {0}};
    enum ab_rc rc = store_write(t->s, rs_job, &x, NULL);
    *res = x.res;
    return rc;
}

static void test_ambiguous_serial_and_resolution(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    struct model_asset s1 = test_asset("S-1", "DUP"), s2 = test_asset("S-2", "DUP");
    assert_int_equal(test_put(t.s, &s1, 0, NULL), AB_OK);
    assert_int_equal(test_put(t.s, &s2, STORE_PUT_SHARED_SERIAL, NULL), AB_OK);

    char ids[3][64];
    for (int i = 0; i < 3; i++) {
        char native[16], doc[96];
        snprintf(native, sizeof(native), "2000%d", i);
        snprintf(doc, sizeof(doc), "{\"serial_number\":\"DUP\",\"name\":\"held %d\"}", i);
        struct store_upsert_result r = asset_rec(&t, "sap_pm", native, doc, a);
        assert_int_equal(r.outcome, STORE_UPSERT_EXCEPTION);
        snprintf(ids[i], sizeof(ids[i]), "%s", r.exception_id);
        assert_int_equal(test_count(&t,
                                    "SELECT COUNT(*) FROM mapping_exceptions WHERE id = '%s'"
                                    " AND reason = 'ambiguous_serial'"
                                    " AND json_array_length(candidates) = 2"
                                    " AND candidates LIKE '%%S-1%%'"
                                    " AND candidates LIKE '%%S-2%%'",
                                    ids[i]),
                         1);
    }
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets"), 2);
    assert_int_equal(events_of(&t, "mapping.exception"), 3);

    /* LINK: the held change applies to the chosen asset, which is linked */
    struct store_upsert_result res;
    assert_int_equal(resolve_exc(&t, ids[0], STORE_RESOLVE_LINK, "S-1", a, &res), AB_OK);
    assert_int_equal(res.outcome, STORE_UPSERT_UPDATED);
    assert_string_equal(res.subject, "S-1");
    assert_string_equal(linked_to(&t, "sap_pm", "20000", a), "S-1");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE asset_ref = 'S-1'"
                                    " AND doc LIKE '%%held 0%%' AND revision = 2"),
                     1);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM mapping_exceptions WHERE id = '%s'"
                                " AND state = 'resolved' AND resolved_at IS NOT NULL"
                                " AND json_extract(resolution, '$.action') = 'link'",
                                ids[0]),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE actor = 'alice'"
                                    " AND action = 'mapping_exception.resolve'"),
                     1);
    assert_int_equal(resolve_exc(&t, ids[0], STORE_RESOLVE_LINK, "S-1", a, &res), AB_ECONFLICT);
    assert_int_equal(resolve_exc(&t, ids[0], STORE_RESOLVE_IGNORE, NULL, a, &res), AB_ECONFLICT);

    /* CREATE: a new asset that keeps the shared serial, linked */
    assert_int_equal(resolve_exc(&t, ids[1], STORE_RESOLVE_CREATE, NULL, a, &res), AB_OK);
    assert_int_equal(res.outcome, STORE_UPSERT_CREATED);
    assert_non_null(res.subject);
    assert_string_not_equal(res.subject, "S-1");
    assert_string_not_equal(res.subject, "S-2");
    assert_string_equal(linked_to(&t, "sap_pm", "20001", a), res.subject);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets"), 3);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE serial_number = 'DUP'"), 3);

    /* IGNORE: closed, nothing changed */
    int64_t events = test_count(&t, "SELECT COUNT(*) FROM events");
    assert_int_equal(resolve_exc(&t, ids[2], STORE_RESOLVE_IGNORE, NULL, a, &res), AB_OK);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM mapping_exceptions WHERE id = '%s'"
                                " AND state = 'ignored'",
                                ids[2]),
                     1);
    assert_null(linked_to(&t, "sap_pm", "20002", a));
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets"), 3);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events"), events);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM mapping_exceptions WHERE state = 'open'"),
                     0);
    assert_int_equal(resolve_exc(&t, ids[2], STORE_RESOLVE_IGNORE, NULL, a, &res), AB_ECONFLICT);
    assert_int_equal(
        resolve_exc(&t, "01NOSUCHEXCEPTION000000000", STORE_RESOLVE_IGNORE, NULL, a, &res),
        AB_ENOTFOUND);

    /* the exceptions read back through the journal API */
    struct store_read *r;
    struct store_mapping_exception *v;
    size_t n;
    assert_int_equal(store_read_begin(t.s, &r), AB_OK);
    assert_int_equal(store_mapping_exceptions_list(r, "t1", NULL, INT64_MIN, NULL, 10, a, &v, &n),
                     AB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(
        store_mapping_exceptions_list(r, "t1", "ignored", INT64_MIN, NULL, 10, a, &v, &n), AB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, ids[2]);
    struct store_mapping_exception e;
    assert_int_equal(store_mapping_exception_get(r, "t1", ids[1], a, &e), AB_OK);
    assert_string_equal(e.state, "resolved");
    assert_string_equal(e.native_id, "20001");
    store_read_end(r);
    assert_int_equal(store_checkpoint(t.s), AB_OK); /* no statement left active */
    arena_free(a);
    test_db_close(&t);
}

struct mm {
    int64_t since;
    int64_t marked;
};

static enum ab_rc mm_job(struct store_tx *tx, void *arg)
{
    struct mm *m = arg;
    return store_records_mark_missing(tx, "t1", "sap_pm", "asset", m->since, &m->marked);
}

static void test_mark_missing(void **state)
{
    (void)state;
    clock_set_fake(T0, true);
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    assert_int_equal(asset_rec(&t, "sap_pm", "1", "{\"serial_number\":\"M-1\"}", a).outcome,
                     STORE_UPSERT_CREATED);
    assert_int_equal(asset_rec(&t, "sap_pm", "2", "{\"serial_number\":\"M-2\"}", a).outcome,
                     STORE_UPSERT_CREATED);
    assert_int_equal(asset_rec(&t, "sap_pm", "3", "{\"serial_number\":\"M-3\"}", a).outcome,
                     STORE_UPSERT_CREATED);
    assert_int_equal(asset_rec(&t, "wats", "3", "{\"serial_number\":\"M-3\"}", a).outcome,
                     STORE_UPSERT_UPDATED);
    assert_true(clock_advance_ms(10000));
    /* seen again (unchanged) after the cut-off */
    assert_int_equal(asset_rec(&t, "sap_pm", "1", "{\"serial_number\":\"M-1\"}", a).outcome,
                     STORE_UPSERT_UNCHANGED);

    struct mm m = {T0 + 5000, -1};
    assert_int_equal(store_write(t.s, mm_job, &m, NULL), AB_OK);
    assert_int_equal(m.marked, 2);
    assert_int_equal(events_of(&t, "asset.missing_at_source"), 2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type ="
                                    " 'asset.missing_at_source' AND subject = 'asset/M-2'"
                                    " AND json_extract(payload, '$.native_id') = '2'"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE action ="
                                    " 'record.missing_at_source' AND actor = 'connector:sap_pm'"),
                     2);
    /* never deleted; other providers untouched */
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM source_records"), 4);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets"), 3);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM source_records WHERE missing_at_source"
                                    " = 1 AND provider = 'sap_pm' AND native_id IN ('2', '3')"),
                     2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM source_records WHERE missing_at_source"
                                    " = 1"),
                     2);

    /* marking again finds nothing new */
    assert_int_equal(store_write(t.s, mm_job, &m, NULL), AB_OK);
    assert_int_equal(m.marked, 0);
    assert_int_equal(events_of(&t, "asset.missing_at_source"), 2);

    /* a later sighting clears the flag */
    assert_int_equal(asset_rec(&t, "sap_pm", "2", "{\"serial_number\":\"M-2\"}", a).outcome,
                     STORE_UPSERT_UNCHANGED);
    assert_int_equal(
        asset_rec(&t, "sap_pm", "3", "{\"serial_number\":\"M-3\",\"name\":\"n\"}", a).outcome,
        STORE_UPSERT_UPDATED);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM source_records WHERE missing_at_source"
                                    " = 1"),
                     0);
    arena_free(a);
    test_db_close(&t);
    clock_set_real();
}

static void test_work_orders(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    assert_int_equal(asset_rec(&t, "sap_pm", "10001", "{\"serial_number\":\"SN-100\"}", a).outcome,
                     STORE_UPSERT_CREATED);

    struct store_upsert_result r = upsert(
        &t, "sap_pm", "work_order", "WO-1",
        "{\"asset_native_id\":\"10001\",\"status\":\"open\",\"title\":\"fix\"}", 1, NOREV, a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);
    char oid[64];
    snprintf(oid, sizeof(oid), "%s", r.subject);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM objects WHERE kind = 'work_order'"
                                " AND id = '%s' AND asset_ref = 'SN-100' AND status = 'open'",
                                oid),
                     1);
    assert_int_equal(events_of(&t, "work_order.created"), 1);

    r = upsert(&t, "sap_pm", "work_order", "WO-1",
               "{\"asset_native_id\":\"10001\",\"status\":\"open\",\"title\":\"fix\"}", 1, NOREV,
               a);
    assert_int_equal(r.outcome, STORE_UPSERT_UNCHANGED);

    r = upsert(&t, "sap_pm", "work_order", "WO-1",
               "{\"asset_native_id\":\"10001\",\"status\":\"completed\",\"title\":\"fix\"}", 2,
               NOREV, a);
    assert_int_equal(r.outcome, STORE_UPSERT_UPDATED);
    assert_string_equal(r.subject, oid);
    assert_int_equal(events_of(&t, "work_order.completed"), 1);
    assert_int_equal(events_of(&t, "work_order.created"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type LIKE 'work_order.%%'"),
                     2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM objects WHERE status = 'completed'"
                                    " AND revision = 2"),
                     1);
    /* created comes before completed in the log */
    assert_int_equal(test_count(&t, "SELECT (SELECT seq FROM events WHERE type ="
                                    " 'work_order.created') < (SELECT seq FROM events WHERE type"
                                    " = 'work_order.completed')"),
                     1);

    /* a work order of an unlinked asset is held */
    r = upsert(&t, "sap_pm", "work_order", "WO-2",
               "{\"asset_native_id\":\"99999\",\"status\":\"open\"}", 1, NOREV, a);
    assert_int_equal(r.outcome, STORE_UPSERT_EXCEPTION);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM mapping_exceptions WHERE"
                                    " reason = 'unknown_asset' AND entity = 'work_order'"
                                    " AND native_id = 'WO-2'"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM objects"), 1);
    arena_free(a);
    test_db_close(&t);
}

/* A record the connector could not map fully is held, never stored. */
struct unmapped {
    json_t *doc;
    struct arena *a;
    struct store_upsert_result res;
};

static enum ab_rc unmapped_job(struct store_tx *tx, void *arg)
{
    struct unmapped *u = arg;
    struct store_record rec = {
        "t1",   "generic", "work_order", "WO-9",
        u->doc, 3,         NOREV,        "generic work_order status 'parked' has no common status"};
    return store_record_upsert(tx, &rec, u->a, &u->res);
}

static void test_unmapped_value_is_held(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    json_error_t je;
    struct unmapped u = {
        json_loads("{\"source_status\":\"parked\",\"title\":\"x\"}", 0, &je), a, {0}};
    assert_int_equal(store_write(t.s, unmapped_job, &u, NULL), AB_OK);
    assert_int_equal(u.res.outcome, STORE_UPSERT_EXCEPTION);
    assert_non_null(strstr(u.res.message, "'parked'"));
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM mapping_exceptions WHERE"
                                    " reason = 'unmapped_value' AND native_id = 'WO-9'"
                                    " AND change LIKE '%%parked%%'"),
                     1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM objects"), 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM source_records"), 0);
    /* pulled again: the one open exception is updated, not repeated */
    assert_int_equal(store_write(t.s, unmapped_job, &u, NULL), AB_OK);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM mapping_exceptions"), 1);
    json_decref(u.doc);
    arena_free(a);
    test_db_close(&t);
}

static const char *parent_of_asset(struct test_db *t, const char *ref, struct arena *a)
{
    struct store_read *r;
    struct store_asset_row row;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    assert_int_equal(store_asset_get(r, "t1", ref, a, &row), AB_OK);
    store_read_end(r);
    return row.asset.parent;
}

/* The hierarchy a provider gives by native id: resolved through the links,
 * also when the child arrives before its parent. */
static void test_parent_by_native_id(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    /* the child first: its parent is not in the hub yet */
    struct store_upsert_result r = asset_rec(
        &t, "wats", "CH-1", "{\"serial_number\":\"CH-1\",\"parent_native_id\":\"PA-1\"}", a);
    assert_int_equal(r.outcome, STORE_UPSERT_CREATED);
    const char *child = linked_to(&t, "wats", "CH-1", a);
    assert_non_null(child);
    assert_null(parent_of_asset(&t, child, a));
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM pending_parents"), 1);
    /* the parent arrives: the child is adopted */
    asset_rec(&t, "wats", "PA-1", "{\"serial_number\":\"PA-1\"}", a);
    const char *parent = linked_to(&t, "wats", "PA-1", a);
    assert_non_null(parent);
    assert_string_equal(parent_of_asset(&t, child, a), parent);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM pending_parents"), 0);
    /* a second child of a known parent gets it at once */
    asset_rec(&t, "wats", "CH-2", "{\"serial_number\":\"CH-2\",\"parent_native_id\":\"PA-1\"}", a);
    assert_string_equal(parent_of_asset(&t, linked_to(&t, "wats", "CH-2", a), a), parent);
    /* re-parented to the top (null) */
    asset_rec(&t, "wats", "CH-1", "{\"serial_number\":\"CH-1\",\"parent_native_id\":null}", a);
    assert_null(parent_of_asset(&t, child, a));
    arena_free(a);
    test_db_close(&t);
}

int main(void)
{
    log_configure(LOG_ERROR, LOG_FORMAT_JSON, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_upsert_creates_and_links),
        cmocka_unit_test(test_unchanged_updated_and_stale),
        cmocka_unit_test(test_second_provider_joins_by_serial),
        cmocka_unit_test(test_native_id_conflict_is_held),
        cmocka_unit_test(test_ambiguous_serial_and_resolution),
        cmocka_unit_test(test_mark_missing),
        cmocka_unit_test(test_work_orders),
        cmocka_unit_test(test_unmapped_value_is_held),
        cmocka_unit_test(test_parent_by_native_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
