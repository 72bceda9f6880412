/* SPDX-License-Identifier: Apache-2.0
 *
 * test_assets.c: unit tests for src/store/assets.c against a real SQLite
 * store: store_asset_put (revisions, no-op on identical content, the
 * asset.created / updated / moved / retired events and audit records,
 * If-Match revisions, serial number, parent and cycle checks),
 * store_assets_list filters and cursor paging, the resolution order of
 * store_asset_resolve, and the identity links (add, re-add, conflicting add,
 * lookup, remove, audit, links surviving retirement).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "store/assets.h"
#include "store_test.h"

static int64_t events_of(struct test_db *t, const char *type)
{
    return test_count(t, "SELECT COUNT(*) FROM events WHERE type = '%s'", type);
}

static int64_t audits_of(struct test_db *t, const char *action)
{
    return test_count(t, "SELECT COUNT(*) FROM audit WHERE action = '%s'", action);
}

static void get(struct test_db *t, const char *ref, struct arena *a, struct store_asset_row *out,
                enum ab_rc want)
{
    struct store_read *r;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    assert_int_equal(store_asset_get(r, "t1", ref, a, out), want);
    store_read_end(r);
}

static void test_put_revisions_events_audit(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    struct store_put_result res;
    struct model_asset x = test_asset("FX-1", "SN-1");
    x.site = "plant-a";
    x.name = "fixture one";

    assert_int_equal(test_put(t.s, &x, 0, &res), AB_OK);
    assert_true(res.created);
    assert_true(res.changed);
    assert_int_equal(res.revision, 1);
    assert_int_equal(strlen(res.digest), 64);
    assert_int_equal(events_of(&t, "asset.created"), 1);
    assert_int_equal(audits_of(&t, "asset.create"), 1);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM audit WHERE actor = 'tester'"
                                " AND subject = 'asset/FX-1' AND before_digest IS NULL"
                                " AND after_digest = '%s'",
                                res.digest),
                     1);
    struct store_asset_row row;
    get(&t, "FX-1", a, &row, AB_OK);
    assert_int_equal(row.revision, 1);
    assert_string_equal(row.asset.name, "fixture one");
    assert_string_equal(row.asset.site, "plant-a");
    assert_string_equal(row.asset.tenant, "t1");
    get(&t, "FX-404", a, &row, AB_ENOTFOUND);

    /* identical: nothing written */
    char digest1[65];
    snprintf(digest1, sizeof(digest1), "%s", res.digest);
    assert_int_equal(test_put(t.s, &x, 0, &res), AB_OK);
    assert_false(res.created);
    assert_false(res.changed);
    assert_int_equal(res.revision, 1);
    assert_string_equal(res.digest, digest1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit"), 1);
    assert_int_equal(test_count(&t, "SELECT revision FROM assets WHERE asset_ref = 'FX-1'"), 1);

    /* a change */
    x.name = "fixture one (rework)";
    assert_int_equal(test_put(t.s, &x, 0, &res), AB_OK);
    assert_false(res.created);
    assert_true(res.changed);
    assert_int_equal(res.revision, 2);
    assert_int_equal(events_of(&t, "asset.updated"), 1);
    assert_int_equal(events_of(&t, "asset.moved"), 0);
    assert_int_equal(events_of(&t, "asset.retired"), 0);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM audit WHERE action = 'asset.update'"
                                " AND before_digest = '%s' AND after_digest = '%s'",
                                digest1, res.digest),
                     1);
    assert_int_equal(test_count(&t,
                                "SELECT COUNT(*) FROM events WHERE type = 'asset.updated'"
                                " AND json_extract(payload, '$.revision') = 2"
                                " AND json_extract(payload, '$.name') = 'fixture one (rework)'"),
                     1);

    /* a new site: updated and moved */
    x.site = "plant-b";
    assert_int_equal(test_put(t.s, &x, 0, &res), AB_OK);
    assert_int_equal(res.revision, 3);
    assert_int_equal(events_of(&t, "asset.updated"), 2);
    assert_int_equal(events_of(&t, "asset.moved"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events WHERE type = 'asset.moved'"
                                    " AND json_extract(payload, '$.from_site') = 'plant-a'"
                                    " AND json_extract(payload, '$.to_site') = 'plant-b'"),
                     1);

    /* retired: updated and retired, not moved */
    x.status = MODEL_ASSET_RETIRED;
    assert_int_equal(test_put(t.s, &x, 0, &res), AB_OK);
    assert_int_equal(res.revision, 4);
    assert_int_equal(events_of(&t, "asset.updated"), 3);
    assert_int_equal(events_of(&t, "asset.moved"), 1);
    assert_int_equal(events_of(&t, "asset.retired"), 1);
    assert_int_equal(audits_of(&t, "asset.update"), 3);
    get(&t, "FX-1", a, &row, AB_OK);
    assert_int_equal(row.revision, 4);
    assert_int_equal(row.asset.status, MODEL_ASSET_RETIRED);
    arena_free(a);
    test_db_close(&t);
}

static void test_if_revision(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct model_asset x = test_asset("FX-1", NULL);
    assert_int_equal(test_put(t.s, &x, 0, NULL), AB_OK);
    x.name = "renamed";
    struct test_put p;
    memset(&p, 0, sizeof(p));
    p.asset = x;
    p.if_revision = 1;
    assert_int_equal(store_write(t.s, test_put_job, &p, NULL), AB_OK);
    assert_int_equal(p.res.revision, 2);

    /* stale: refused, nothing written */
    int64_t events = test_count(&t, "SELECT COUNT(*) FROM events");
    int64_t audits = test_count(&t, "SELECT COUNT(*) FROM audit");
    p.asset.name = "stale write";
    p.if_revision = 1;
    assert_int_equal(store_write(t.s, test_put_job, &p, NULL), AB_ECONFLICT);
    assert_non_null(strstr(p.res.message, "2"));
    assert_int_equal(test_count(&t, "SELECT revision FROM assets WHERE asset_ref = 'FX-1'"), 2);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE doc LIKE '%%stale%%'"), 0);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM events"), events);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit"), audits);

    /* on a missing asset no revision can match */
    p.asset = test_asset("FX-404", NULL);
    p.if_revision = 1;
    assert_int_equal(store_write(t.s, test_put_job, &p, NULL), AB_ECONFLICT);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE asset_ref = 'FX-404'"), 0);

    /* MUST_CREATE refuses to replace */
    p.asset = x;
    p.if_revision = 0;
    p.flags = STORE_PUT_MUST_CREATE;
    assert_int_equal(store_write(t.s, test_put_job, &p, NULL), AB_ECONFLICT);
    test_db_close(&t);
}

static void test_serial_parent_and_cycle_checks(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct store_put_result res;
    struct model_asset a1 = test_asset("A1", "SN-1"), a2 = test_asset("A2", "SN-2");
    assert_int_equal(test_put(t.s, &a1, 0, &res), AB_OK);
    assert_int_equal(test_put(t.s, &a2, 0, &res), AB_OK);

    /* another asset's serial number */
    a2.serial_number = "SN-1";
    assert_int_equal(test_put(t.s, &a2, 0, &res), AB_ECONFLICT);
    assert_string_equal(res.field, "serial_number");
    assert_non_null(strstr(res.message, "A1"));
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE serial_number = 'SN-1'"), 1);
    struct model_asset a3 = test_asset("A3", "SN-1");
    assert_int_equal(test_put(t.s, &a3, 0, &res), AB_ECONFLICT);
    assert_string_equal(res.field, "serial_number");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets"), 2);
    /* unless a person decided they share it */
    assert_int_equal(test_put(t.s, &a3, STORE_PUT_SHARED_SERIAL, &res), AB_OK);

    /* unknown parent */
    a2.serial_number = "SN-2";
    a2.parent = "NOPE";
    assert_int_equal(test_put(t.s, &a2, 0, &res), AB_EINVAL);
    assert_string_equal(res.field, "parent");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE parent_ref IS NOT NULL"), 0);

    /* A2 under A1, then A1 under A2 would be a cycle; so is A1 under itself */
    a2.parent = "A1";
    assert_int_equal(test_put(t.s, &a2, 0, &res), AB_OK);
    a1.parent = "A2";
    assert_int_equal(test_put(t.s, &a1, 0, &res), AB_EINVAL);
    assert_string_equal(res.field, "parent");
    assert_non_null(strstr(res.message, "cycle"));
    struct model_asset c = test_asset("C1", NULL);
    c.parent = "A2";
    assert_int_equal(test_put(t.s, &c, 0, &res), AB_OK);
    a1.parent = "C1"; /* A1 -> C1 -> A2 -> A1 */
    assert_int_equal(test_put(t.s, &a1, 0, &res), AB_EINVAL);
    assert_string_equal(res.field, "parent");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM assets WHERE asset_ref = 'A1'"
                                    " AND parent_ref IS NULL"),
                     1);
    test_db_close(&t);
}

static size_t list(struct test_db *t, struct store_asset_filter *f, struct arena *a,
                   struct store_asset_row **v)
{
    struct store_read *r;
    size_t n = 0;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    assert_int_equal(store_assets_list(r, "t1", f, a, v, &n), AB_OK);
    store_read_end(r);
    return n;
}

static struct store_asset_filter any(void)
{
    struct store_asset_filter f;
    memset(&f, 0, sizeof(f));
    f.calibration_due_before = INT64_MIN;
    return f;
}

static void test_list_filters_and_paging(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    enum { N = 7 };
    for (int i = 0; i < N; i++) {
        char ref[16];
        snprintf(ref, sizeof(ref), "AS-%d", i);
        struct model_asset x = test_asset(ref, NULL);
        x.site = i < 3 ? "north" : "south";
        x.type = i % 2 ? MODEL_ASSET_FIXTURE : MODEL_ASSET_STATION;
        x.status = i == 6 ? MODEL_ASSET_IN_REPAIR : MODEL_ASSET_ACTIVE;
        assert_int_equal(test_put(t.s, &x, 0, NULL), AB_OK);
    }
    assert_int_equal(test_link(t.s, "sap_pm", "100", "AS-2"), AB_OK);
    assert_int_equal(test_link(t.s, "sap_pm", "101", "AS-5"), AB_OK);
    assert_int_equal(test_link(t.s, "wats", "w1", "AS-1"), AB_OK);

    struct store_asset_row *v;
    struct store_asset_filter f = any();
    assert_int_equal(list(&t, &f, a, &v), N);
    f.site = "north";
    assert_int_equal(list(&t, &f, a, &v), 3);
    assert_string_equal(v[0].asset.asset_ref, "AS-0");
    assert_string_equal(v[2].asset.asset_ref, "AS-2");
    f = any();
    f.type = "fixture";
    assert_int_equal(list(&t, &f, a, &v), 3); /* 1, 3, 5 */
    assert_string_equal(v[1].asset.asset_ref, "AS-3");
    f.site = "south";
    assert_int_equal(list(&t, &f, a, &v), 2); /* 3, 5 */
    f = any();
    f.status = "in_repair";
    assert_int_equal(list(&t, &f, a, &v), 1);
    assert_string_equal(v[0].asset.asset_ref, "AS-6");
    f = any();
    f.provider = "sap_pm";
    assert_int_equal(list(&t, &f, a, &v), 2);
    assert_string_equal(v[0].asset.asset_ref, "AS-2");
    assert_string_equal(v[1].asset.asset_ref, "AS-5");
    f.provider = "maximo";
    assert_int_equal(list(&t, &f, a, &v), 0);

    /* pages of 3 after a cursor: disjoint, complete, in order */
    f = any();
    f.limit = 3;
    char seen[N][16];
    size_t total = 0, pages = 0, n;
    char cursor[16] = "";
    while ((n = list(&t, &f, a, &v)) > 0) {
        assert_true(n <= 3);
        pages++;
        for (size_t i = 0; i < n; i++) {
            assert_true(total < N);
            assert_true(strcmp(v[i].asset.asset_ref, cursor) > 0);
            snprintf(seen[total++], sizeof(seen[0]), "%s", v[i].asset.asset_ref);
            snprintf(cursor, sizeof(cursor), "%s", v[i].asset.asset_ref);
        }
        f.after = arena_strdup(a, cursor);
    }
    assert_int_equal(total, N);
    assert_int_equal(pages, 3);
    for (int i = 0; i < N; i++) {
        char ref[16];
        snprintf(ref, sizeof(ref), "AS-%d", i);
        assert_string_equal(seen[i], ref);
    }
    /* a partial page last: its statement must not stay active in the read
     * pool (it would hold the snapshot and stall store_close's checkpoint) */
    f = any();
    f.limit = 1;
    assert_int_equal(list(&t, &f, a, &v), 1);
    assert_int_equal(store_checkpoint(t.s), AB_OK);
    arena_free(a);
    test_db_close(&t);
}

static enum ab_rc resolve(struct test_db *t, const char *reference, struct arena *a,
                          const char **ref, size_t *n_candidates)
{
    struct store_read *r;
    const char **cands;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    enum ab_rc rc = store_asset_resolve(r, "t1", reference, a, ref, &cands, n_candidates);
    store_read_end(r);
    return rc;
}

static void test_resolve_order(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    /* "X-1" is one asset's asset_ref and another's serial number; "sap_pm:7"
     * is a third asset's serial number and a link of a fourth */
    struct model_asset byref = test_asset("X-1", "SN-R"), byserial = test_asset("Y-1", "X-1");
    struct model_asset linkser = test_asset("Z-1", "sap_pm:7"), linked = test_asset("W-1", NULL);
    assert_int_equal(test_put(t.s, &byref, 0, NULL), AB_OK);
    assert_int_equal(test_put(t.s, &byserial, 0, NULL), AB_OK);
    assert_int_equal(test_put(t.s, &linkser, 0, NULL), AB_OK);
    assert_int_equal(test_put(t.s, &linked, 0, NULL), AB_OK);
    assert_int_equal(test_link(t.s, "sap_pm", "7", "W-1"), AB_OK);
    assert_int_equal(test_link(t.s, "sap_pm", "8", "W-1"), AB_OK);

    const char *ref;
    size_t n;
    assert_int_equal(resolve(&t, "X-1", a, &ref, &n), AB_OK);
    assert_string_equal(ref, "X-1"); /* asset_ref before serial */
    assert_int_equal(resolve(&t, "SN-R", a, &ref, &n), AB_OK);
    assert_string_equal(ref, "X-1");
    assert_int_equal(resolve(&t, "sap_pm:7", a, &ref, &n), AB_OK);
    assert_string_equal(ref, "Z-1"); /* serial before link */
    assert_int_equal(resolve(&t, "sap_pm:8", a, &ref, &n), AB_OK);
    assert_string_equal(ref, "W-1");
    assert_int_equal(resolve(&t, "sap_pm:9", a, &ref, &n), AB_EIDENTITY);
    assert_null(ref);
    assert_int_equal(n, 0);
    assert_int_equal(resolve(&t, "nothing", a, &ref, &n), AB_EIDENTITY);

    struct model_asset s1 = test_asset("S-1", "DUP"), s2 = test_asset("S-2", "DUP");
    assert_int_equal(test_put(t.s, &s1, 0, NULL), AB_OK);
    assert_int_equal(test_put(t.s, &s2, STORE_PUT_SHARED_SERIAL, NULL), AB_OK);
    assert_int_equal(resolve(&t, "DUP", a, &ref, &n), AB_EIDENTITY);
    assert_null(ref);
    assert_int_equal(n, 2);
    arena_free(a);
    test_db_close(&t);
}

struct unlink_job {
    const char *provider, *native_id, *asset_ref;
};

static enum ab_rc unlink_job(struct store_tx *tx, void *arg)
{
    struct unlink_job *u = arg;
    return store_link_remove(tx, "t1", u->provider, u->native_id, u->asset_ref, "tester");
}

static enum ab_rc lookup(struct test_db *t, const char *provider, const char *native_id,
                         struct arena *a, const char **ref)
{
    struct store_read *r;
    assert_int_equal(store_read_begin(t->s, &r), AB_OK);
    enum ab_rc rc = store_link_lookup(r, "t1", provider, native_id, a, ref);
    store_read_end(r);
    return rc;
}

static void test_links(void **state)
{
    (void)state;
    struct test_db t;
    test_db_open(&t);
    struct arena *a = arena_new(0, 0);
    struct model_asset x = test_asset("L-1", NULL), y = test_asset("L-2", NULL);
    assert_int_equal(test_put(t.s, &x, 0, NULL), AB_OK);
    assert_int_equal(test_put(t.s, &y, 0, NULL), AB_OK);

    assert_int_equal(test_link(t.s, "sap_pm", "500", "L-1"), AB_OK);
    assert_int_equal(test_link(t.s, "sap_pm", "500", "L-1"), AB_OK); /* no-op */
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM asset_links"), 1);
    assert_int_equal(audits_of(&t, "asset.link"), 1);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM audit WHERE action = 'asset.link'"
                                    " AND subject = 'asset/L-1' AND actor = 'tester'"
                                    " AND json_extract(detail, '$.native_id') = '500'"),
                     1);
    /* never a silent re-link */
    assert_int_equal(test_link(t.s, "sap_pm", "500", "L-2"), AB_ECONFLICT);
    assert_int_equal(test_link(t.s, "sap_pm", "501", "NOPE"), AB_ENOTFOUND);
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM asset_links"), 1);
    assert_int_equal(audits_of(&t, "asset.link"), 1);

    const char *ref;
    assert_int_equal(lookup(&t, "sap_pm", "500", a, &ref), AB_OK);
    assert_string_equal(ref, "L-1");
    assert_int_equal(lookup(&t, "wats", "500", a, &ref), AB_ENOTFOUND);

    assert_int_equal(test_link(t.s, "wats", "w-9", "L-1"), AB_OK);
    struct store_read *r;
    struct store_link *lv;
    size_t n;
    assert_int_equal(store_read_begin(t.s, &r), AB_OK);
    assert_int_equal(store_links_list(r, "t1", "L-1", a, &lv, &n), AB_OK);
    store_read_end(r);
    assert_int_equal(n, 2);
    assert_string_equal(lv[0].provider, "sap_pm");
    assert_string_equal(lv[1].provider, "wats");
    assert_string_equal(lv[1].native_id, "w-9");

    /* retiring keeps the links */
    x.status = MODEL_ASSET_RETIRED;
    assert_int_equal(test_put(t.s, &x, 0, NULL), AB_OK);
    assert_int_equal(lookup(&t, "sap_pm", "500", a, &ref), AB_OK);
    assert_string_equal(ref, "L-1");
    assert_int_equal(test_count(&t, "SELECT COUNT(*) FROM asset_links WHERE asset_ref = 'L-1'"), 2);

    /* removing: only the asset's own link, audited */
    struct unlink_job u = {"sap_pm", "500", "L-2"};
    assert_int_equal(store_write(t.s, unlink_job, &u, NULL), AB_ENOTFOUND);
    u.asset_ref = "L-1";
    assert_int_equal(store_write(t.s, unlink_job, &u, NULL), AB_OK);
    assert_int_equal(audits_of(&t, "asset.unlink"), 1);
    assert_int_equal(lookup(&t, "sap_pm", "500", a, &ref), AB_ENOTFOUND);
    assert_int_equal(store_write(t.s, unlink_job, &u, NULL), AB_ENOTFOUND);
    assert_int_equal(audits_of(&t, "asset.unlink"), 1);
    /* and now the native id may go to another asset */
    assert_int_equal(test_link(t.s, "sap_pm", "500", "L-2"), AB_OK);
    arena_free(a);
    test_db_close(&t);
}

int main(void)
{
    log_configure(LOG_ERROR, LOG_FORMAT_JSON, 2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_revisions_events_audit),
        cmocka_unit_test(test_if_revision),
        cmocka_unit_test(test_serial_parent_and_cycle_checks),
        cmocka_unit_test(test_list_filters_and_paging),
        cmocka_unit_test(test_resolve_order),
        cmocka_unit_test(test_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
