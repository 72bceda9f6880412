/* SPDX-License-Identifier: Apache-2.0
 *
 * lifecycle.c: asset lifecycle propagation (see rules_int.h and
 * docs/rules.md, "Asset lifecycle").
 *
 * The pass reads the tenant's events after its cursor (a rule_state row:
 * kind "cursor", subject "lifecycle"). An asset.created, asset.moved or
 * asset.retired event whose change was made by the system of record for
 * asset master data at the asset's site (the event's changed_by is
 * "connector:NAME"; with rules.lifecycle.reverse, any provider's change)
 * is carried to every other provider whose connector can write assets and
 * whose asset master mode is write_back (or those rules.lifecycle.targets
 * names):
 *   created, or moved while not linked there: upsert_asset (register); the
 *     sync engine links the id the provider answers in the identity map,
 *     so every later exchange finds the asset;
 *   moved while linked: upsert_asset (the new location);
 *   retired while linked: set_state with the retired status.
 * The serial number the provider would use linked to another asset there
 * already is a collision: a mapping exception for a person, never a
 * second asset. The items and the cursor of one page of events commit in
 * one job, so a crash repeats a page, and the idempotency keys
 * ("lifecycle:SEQ:PROVIDER") keep the repeat from queueing twice.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"
#include "core/log.h"
#include "core/str.h"
#include "model/asset.h"
#include "rules/rules_int.h"
#include "store/assets.h"
#include "store/events.h"
#include "store/journal.h"

#define EVENTS_PAGE 200

/* One thing to queue (or to hold as an exception), decided in a read
 * session, written by the page's job. */
struct lc_item {
    int64_t seq;
    const char *provider;
    const char *action;                /* "upsert_asset", "set_state", or NULL: a collision */
    const char *subject;               /* "asset/REF" */
    char *payload;                     /* JSON text (malloc'd) */
    const char *native_id, *other_ref; /* a collision's */
    const char *message;
};

struct lc_page {
    const struct config_tenant *t;
    struct lc_item *v;
    size_t n, cap;
    int64_t seq; /* the cursor after the page */
    struct arena *a;
    size_t queued; /* result */
};

static bool targeted(const struct config_rules_lifecycle *lc, const char *provider)
{
    if (lc->targets.n == 0)
        return true;
    for (size_t i = 0; i < lc->targets.n; i++)
        if (str_eq(lc->targets.v[i], provider))
            return true;
    return false;
}

static const struct rules_link *link_of(const struct rules_asset *as, const char *provider)
{
    for (size_t i = 0; i < as->n_links; i++)
        if (str_eq(as->links[i].provider, provider))
            return &as->links[i];
    return NULL;
}

static struct lc_item *add(struct lc_page *pg)
{
    pg->v = arena_grow(pg->a, pg->v, pg->n, &pg->cap, sizeof(*pg->v));
    struct lc_item *it = &pg->v[pg->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

/* Decide what event ev means for the other providers (read session rd). */
static enum ab_rc decide(struct store_read *rd, struct lc_page *pg, const struct store_event *ev)
{
    const struct config_tenant *t = pg->t;
    const struct config_rules_lifecycle *lc = &t->rules.lifecycle;
    bool created = str_eq(ev->type, "asset.created"), moved = str_eq(ev->type, "asset.moved"),
         retired = str_eq(ev->type, "asset.retired");
    if ((!created && !moved && !retired) || !ev->payload)
        return AB_OK;
    json_error_t je;
    json_t *p = json_loads(ev->payload, 0, &je);
    const char *ref = json_string_value(json_object_get(p, "asset_ref"));
    const char *by = json_string_value(json_object_get(p, "changed_by"));
    const char *source = by && strncmp(by, "connector:", 10) == 0 ? by + 10 : NULL;
    if (!ref || !source) {
        json_decref(p); /* a change made in the hub, or by an older version: not carried */
        return AB_OK;
    }
    struct arena *a = pg->a;
    ref = arena_strdup(a, ref);
    source = arena_strdup(a, source);
    json_decref(p);
    struct rules_asset as;
    struct store_asset_row row;
    enum ab_rc rc = rules_asset_load(rd, t, ref, a, &as);
    if (!rc)
        rc = store_asset_get(rd, t->name, ref, a, &row);
    if (rc == AB_ENOTFOUND)
        return AB_OK; /* gone since */
    if (rc)
        return rc;
    const char *owner = as.sor[DOMAIN_ASSET_MASTER];
    if (!(owner && str_eq(owner, source)) && !lc->reverse)
        return AB_OK; /* not the system of record's change */
    for (size_t i = 0; i < t->n_providers; i++) {
        const struct config_provider *q = &t->providers[i];
        const struct conn_ops *ops = conn_find(q->type);
        if (str_eq(q->name, source) || !conn_has(ops, CONN_CAP_WRITE_ASSETS) ||
            q->mode[DOMAIN_ASSET_MASTER] != MODE_WRITE_BACK || !targeted(lc, q->name))
            continue;
        const struct rules_link *l = link_of(&as, q->name);
        if (retired && !l)
            continue; /* never registered there: nothing to retire */
        if (created && l)
            continue; /* known there already (it came from there too) */
        const char *native = l ? l->native_id : as.serial;
        if (!native)
            continue; /* nothing to register it by: the asset has no serial number */
        if (!l) {
            const char *other = NULL;
            rc = store_link_lookup(rd, t->name, q->name, native, a, &other);
            if (rc && rc != AB_ENOTFOUND)
                return rc;
            if (!rc && !str_eq(other, ref)) {
                struct lc_item *it = add(pg);
                it->seq = ev->seq;
                it->provider = q->name;
                it->subject = arena_printf(a, "asset/%s", ref);
                it->native_id = native;
                it->other_ref = other;
                it->message = arena_printf(
                    a,
                    "%s %s asset %s at %s, but %s '%s' is linked to asset %s already: link or "
                    "merge them by hand, then close this exception with action ignore",
                    source, created ? "created" : "moved", ref, q->name, q->name, native, other);
                continue;
            }
        }
        json_t *pl;
        const char *action;
        if (retired) {
            action = "set_state";
            pl = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "asset_ref", ref, "asset_native_id",
                           native, "status", model_asset_status_name(row.asset.status), "reason",
                           "retired", "site", as.site);
        } else {
            action = "upsert_asset";
            pl = model_asset_to_json(&row.asset);
            if (l)
                json_object_set_new(pl, "asset_native_id", json_string(l->native_id));
        }
        json_object_set_new(pl, "origin", json_string(source));
        json_object_set_new(pl, "lifecycle", json_string(ev->type + strlen("asset.")));
        struct lc_item *it = add(pg);
        it->seq = ev->seq;
        it->provider = q->name;
        it->action = action;
        it->subject = arena_printf(a, "asset/%s", ref);
        it->payload = json_dumps(pl, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(pl);
        if (!it->payload)
            return AB_EINTERNAL;
    }
    return AB_OK;
}

static enum ab_rc page_run(struct store_tx *tx, void *arg)
{
    struct lc_page *pg = arg;
    enum ab_rc rc = AB_OK;
    pg->queued = 0;
    for (size_t i = 0; i < pg->n && !rc; i++) {
        const struct lc_item *it = &pg->v[i];
        if (!it->action) {
            json_t *change =
                json_pack("{s:n, s:s, s:s, s:s}", "outbox_id", "action", "upsert_asset", "subject",
                          it->subject, "reason", "lifecycle");
            json_t *cands = json_pack("[s]", it->other_ref);
            char *ct = json_dumps(change, JSON_COMPACT), *cd = json_dumps(cands, JSON_COMPACT);
            struct store_mapping_exception e = {0};
            e.tenant = pg->t->name;
            e.provider = it->provider;
            e.entity = "asset";
            e.native_id = it->native_id;
            e.reason = "native_id_conflict";
            e.message = it->message;
            e.candidates = cd;
            e.change = ct;
            rc = store_mapping_exception_add(tx, &e, NULL, pg->a);
            free(ct);
            free(cd);
            json_decref(change);
            json_decref(cands);
            continue;
        }
        struct store_outbox_item ob;
        memset(&ob, 0, sizeof(ob));
        ob.tenant = pg->t->name;
        ob.provider = it->provider;
        ob.entity = "asset";
        ob.action = it->action;
        ob.subject = it->subject;
        ob.payload = it->payload;
        ob.idempotency_key =
            arena_printf(pg->a, "lifecycle:%lld:%s", (long long)it->seq, it->provider);
        ob.state = OUTBOX_PENDING;
        ob.priority = -1;
        bool added = false;
        rc = store_outbox_add(tx, &ob, &added);
        if (added)
            pg->queued++;
    }
    if (rc)
        return rc;
    char occ[32];
    (void)snprintf(occ, sizeof(occ), "%lld", (long long)pg->seq);
    struct store_rule_state s = {.kind = "cursor",
                                 .subject = "lifecycle",
                                 .rule_id = "events",
                                 .occurrence = occ,
                                 .state = "ok"};
    return store_rule_state_put(tx, pg->t->name, &s);
}

enum ab_rc rules_lifecycle_pass(struct rules *r, const struct config_tenant *t)
{
    if (!t->rules.lifecycle.enabled)
        return AB_OK;
    /* nothing to carry without an asset master system of record */
    bool any = false;
    for (size_t i = 0; i < t->n_system_of_record && !any; i++)
        any = t->system_of_record[i].provider[DOMAIN_ASSET_MASTER] != NULL;
    if (!any && !t->rules.lifecycle.reverse)
        return AB_OK;
    int64_t seq = 0;
    for (;;) {
        struct arena *a = arena_new(65536, 64u << 20);
        struct store_read *rd = NULL;
        struct store_event *ev = NULL;
        struct store_rule_state cur;
        bool found = false;
        size_t n = 0;
        struct lc_page pg = {.t = t, .a = a};
        enum ab_rc rc = store_read_begin(r->store, &rd);
        if (!rc)
            rc = store_rule_state_read(rd, t->name, "cursor", "lifecycle", "events", a, &cur,
                                       &found);
        if (!rc && found && str_to_i64(cur.occurrence, &seq) != AB_OK)
            seq = 0;
        if (!rc)
            rc = store_events_list(rd, t->name, seq, EVENTS_PAGE, a, &ev, &n);
        for (size_t i = 0; !rc && i < n; i++)
            rc = decide(rd, &pg, &ev[i]);
        if (rd)
            store_read_end(rd);
        if (!rc && n) {
            pg.seq = ev[n - 1].seq;
            rc = store_write(r->store, page_run, &pg, NULL);
        }
        for (size_t i = 0; i < pg.n; i++)
            free(pg.v[i].payload);
        if (!rc && pg.queued) {
            rules_count(r, &r->stats.lifecycle, pg.queued);
            log_info(NULL, "rules: asset lifecycle changes carried", LOG_STR("tenant", t->name),
                     LOG_INT("items", (int64_t)pg.queued));
        }
        arena_free(a);
        if (rc) {
            rules_count(r, &r->stats.errors, 1);
            log_warn(NULL, "rules: lifecycle propagation failed; retried on the next pass",
                     LOG_STR("tenant", t->name), LOG_STR("error", ab_rc_name(rc)));
            return rc;
        }
        if (n < EVENTS_PAGE)
            return AB_OK;
    }
}
