/* SPDX-License-Identifier: Apache-2.0
 *
 * usage.c: usage items queued by readings jobs (the transactional outbox for
 * meter totals). Called by readings.c inside the readings job, so the item
 * commits with the readings that changed the total. See readings_int.h for
 * the interface and docs/internals/store.md ("Usage items") for the rules:
 *
 *   - one waiting item per coalesce key "usage|PROVIDER|NATIVE_ID|TARGET",
 *     updated in place (payload, correlation id) while it is pending and has
 *     never been attempted, and only while it is the newest row of its key;
 *     otherwise a new row is inserted (the claim coalesces older ones);
 *   - a new row waits flush_window_ms; a row is due now when the total moved
 *     by delta_threshold or more from the last acknowledged total (no
 *     acknowledgement yet counts as 0 acknowledged);
 *   - priority 0 (plant_critical) unless the provider's "meter" entity (else
 *     its "reading" entity) is configured with severity reporting (1);
 *   - the payload carries "provider_baseline" when a usage baseline was
 *     captured for (provider, native id, hub meter) (baselines.h).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "model/meter.h"
#include "store/baselines.h"
#include "store/journal.h"
#include "store/outbox.h"
#include "store/readings_int.h"
#include "store/store_int.h"

struct link {
    const char *provider, *native_id;
};

/* The links of one asset (all providers), read once per job. */
struct asset_links {
    const char *asset_ref;
    struct link *v;
    size_t n;
};

struct store_usage_links {
    const char *tenant;
    const struct config_tenant *ten;
    struct arena *a;
    struct asset_links *assets;
    size_t n_assets, cap_assets;
};

struct store_usage_links *store_usage_begin(const struct config *cfg, const char *tenant,
                                            struct arena *a)
{
    if (!cfg)
        return NULL;
    const struct config_tenant *t = config_tenant(cfg, tenant);
    bool any = false;
    for (size_t i = 0; t && i < t->n_providers && !any; i++)
        any = t->providers[i].usage.n_meters > 0;
    if (!any)
        return NULL;
    struct store_usage_links *u = arena_zalloc(a, sizeof(*u));
    u->tenant = tenant;
    u->ten = t;
    u->a = a;
    return u;
}

static const char SQL_LINKS_OF[] =
    "SELECT provider, native_id FROM asset_links WHERE tenant = ? AND asset_ref = ?"
    " ORDER BY provider, native_id";

static enum ab_rc links_of(struct store_tx *tx, struct store_usage_links *u, const char *asset_ref,
                           const struct asset_links **out)
{
    for (size_t i = 0; i < u->n_assets; i++) {
        if (strcmp(u->assets[i].asset_ref, asset_ref) == 0) {
            *out = &u->assets[i];
            return AB_OK;
        }
    }
    struct store_db *db = tx->db;
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_LINKS_OF, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", u->tenant, asset_ref);
    if (rc)
        return rc;
    u->assets = arena_grow(u->a, u->assets, u->n_assets, &u->cap_assets, sizeof(*u->assets));
    struct asset_links *l = &u->assets[u->n_assets];
    memset(l, 0, sizeof(*l));
    l->asset_ref = arena_strdup(u->a, asset_ref);
    size_t cap = 0;
    bool row = false;
    while (!(rc = store_step_row(db, st, &row)) && row) {
        l->v = arena_grow(u->a, l->v, l->n, &cap, sizeof(*l->v));
        l->v[l->n].provider = store_col_text(db, st, 0, u->a);
        l->v[l->n].native_id = store_col_text(db, st, 1, u->a);
        l->n++;
    }
    db->ops->reset(st);
    if (rc)
        return rc;
    u->n_assets++;
    *out = l;
    return AB_OK;
}

/* 0 for plant_critical (or unconfigured), 1 for reporting. */
static int priority_of(const struct config_provider *p)
{
    const struct config_entity *meter = NULL, *reading = NULL;
    for (size_t i = 0; i < p->n_entities; i++) {
        if (str_eq(p->entities[i].name, "meter"))
            meter = &p->entities[i];
        else if (str_eq(p->entities[i].name, "reading"))
            reading = &p->entities[i];
    }
    const struct config_entity *e = meter ? meter : reading;
    return e && e->severity && str_eq(e->severity, "reporting") ? 1 : 0;
}

/* The waiting row of a key that may be updated in place: pending, never
 * attempted, and no row of the key newer than it in another state (so the
 * newest row of a key always carries its newest total, which the claim's
 * coalescing relies on). */
static const char SQL_USAGE_WAITING[] =
    "SELECT o.id FROM outbox o WHERE o.tenant = ?1 AND o.provider = ?2 AND o.coalesce_key = ?3"
    " AND o.state = 'pending' AND o.attempts = 0"
    " AND NOT EXISTS (SELECT 1 FROM outbox n WHERE n.tenant = ?1 AND n.provider = ?2"
    " AND n.coalesce_key = ?3 AND n.state IN ('in_flight', 'done', 'dead', 'suppressed')"
    " AND n.id > o.id)"
    " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.tenant = ?1 AND p.provider = ?2"
    " AND p.coalesce_key = ?3 AND p.state = 'pending' AND p.id > o.id)"
    " ORDER BY o.id DESC LIMIT 1";

/* Keeps next_attempt_at unless the item became due now (?2). */
static const char SQL_USAGE_UPDATE[] =
    "UPDATE outbox SET payload = ?1,"
    " next_attempt_at = CASE WHEN ?2 < next_attempt_at THEN ?2 ELSE next_attempt_at END,"
    " correlation_id = COALESCE(?3, correlation_id), updated_at = ?4 WHERE id = ?5";

static enum ab_rc queue_one(struct store_tx *tx, struct store_usage_links *u,
                            const struct config_provider *p, const struct config_usage_meter *cm,
                            const char *native_id, const struct store_usage_meter *m)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    const char *target = cm->target ? cm->target : cm->name;
    const char *key = arena_printf(u->a, "usage|%s|%s|%s", p->name, native_id, target);
    int64_t now = clock_now_ms();

    bool urgent = false;
    if (p->usage.delta_threshold > 0) {
        double acked = 0;
        bool found = false;
        enum ab_rc rc = store_usage_ack_get(tx, u->tenant, p->name, key, &acked, NULL, &found);
        if (rc)
            return rc;
        urgent = fabs(m->value - acked) >= p->usage.delta_threshold;
    }

    char read_at[TIME_RFC3339_MAX];
    time_format_rfc3339(m->read_at, read_at);
    const struct model_meter_type *mt = model_meter_type_find(m->meter_type);
    json_t *pl = json_pack("{s:s, s:s, s:s, s:s, s:f, s:s}", "asset_ref", m->asset_ref,
                           "asset_native_id", native_id, "meter_type", target, "hub_meter",
                           m->meter_type, "value", m->value, "read_at", read_at);
    if (!pl)
        return AB_EINTERNAL;
    if (mt && mt->unit[0])
        json_object_set_new(pl, "unit", json_string(mt->unit));
    double baseline;
    bool has_baseline;
    enum ab_rc brc = store_usage_baseline_get(tx, u->tenant, p->name, native_id, m->meter_type,
                                              &baseline, &has_baseline);
    if (brc) {
        json_decref(pl);
        return brc;
    }
    if (has_baseline)
        json_object_set_new(pl, "provider_baseline", json_real(baseline));
    char *text = json_dumps(pl, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(pl);
    if (!text)
        return AB_EINTERNAL;
    const char *payload = arena_strdup(u->a, text);
    free(text);

    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_USAGE_WAITING, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", u->tenant, p->name, key);
    if (!rc)
        rc = store_step_row(db, st, &row);
    int64_t id = row && !rc ? store_col_int(db, st, 0) : 0;
    db->ops->reset(st);
    if (rc)
        return rc;
    if (id) {
        rc = store_db_stmt(db, SQL_USAGE_UPDATE, &st);
        if (!rc)
            rc = store_bind_all(db, st, "titii", payload, urgent ? now : INT64_MAX,
                                tx->correlation_id, now, id);
        if (!rc)
            rc = store_step_done(db, st);
        return rc;
    }
    int64_t window = p->usage.flush_window_ms > 0 ? p->usage.flush_window_ms : 0;
    struct store_outbox_item it = {0};
    it.tenant = u->tenant;
    it.provider = p->name;
    it.entity = "meter";
    it.action = "push_reading";
    it.subject = arena_printf(u->a, "asset/%s", m->asset_ref);
    it.payload = payload;
    it.idempotency_key = arena_printf(u->a, "usage:%s:%s:%s:%lld", p->name, native_id, target,
                                      (long long)m->first_id);
    it.coalesce_key = key;
    it.state = OUTBOX_PENDING;
    it.priority = priority_of(p);
    it.next_attempt_at = urgent || window == 0 ? now : now + window;
    return store_outbox_add(tx, &it, NULL);
}

enum ab_rc store_usage_queue(struct store_tx *tx, struct store_usage_links *u,
                             const struct store_usage_meter *m)
{
    const struct asset_links *links = NULL;
    for (size_t i = 0; i < u->ten->n_providers; i++) {
        const struct config_provider *p = &u->ten->providers[i];
        const struct config_usage_meter *cm = NULL;
        for (size_t k = 0; k < p->usage.n_meters && !cm; k++)
            if (str_eq(p->usage.meters[k].name, m->meter_type))
                cm = &p->usage.meters[k];
        if (!cm)
            continue;
        if (!links) {
            enum ab_rc rc = links_of(tx, u, m->asset_ref, &links);
            if (rc)
                return rc;
        }
        for (size_t l = 0; l < links->n; l++) {
            if (!str_eq(links->v[l].provider, p->name))
                continue;
            enum ab_rc rc = queue_one(tx, u, p, cm, links->v[l].native_id, m);
            if (rc)
                return rc;
        }
    }
    return AB_OK;
}
