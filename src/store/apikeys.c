/* SPDX-License-Identifier: Apache-2.0
 *
 * apikeys.c: API keys, webhook subscriptions, and the fan-out of events to
 * subscriptions as outbox items (with the writer's per-tenant cache of
 * whether subscriptions exist). See apikeys.h and webhooks_int.h.
 */
#include "store/apikeys.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "store/journal.h"
#include "store/readings_int.h"
#include "store/store_int.h"
#include "store/webhooks_int.h"

static const char SQL_KEY_ADD[] =
    "INSERT INTO api_keys(id, tenant, name, hash, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_KEY_BY_HASH[] =
    "SELECT id, tenant, name, scopes, created_at, revoked_at FROM api_keys WHERE hash = ?";
static const char SQL_KEYS_LIST[] =
    "SELECT id, tenant, name, scopes, created_at, revoked_at FROM api_keys"
    " WHERE ?1 IS NULL OR tenant = ?1 ORDER BY created_at, id";
static const char SQL_KEY_REVOKE[] =
    "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL RETURNING tenant";
static const char SQL_KEY_EXISTS[] = "SELECT 1 FROM api_keys WHERE id = ?";

static enum ab_rc audit_key(struct store_tx *tx, const char *tenant, const char *action,
                            const char *id, const char *actor)
{
    char subject[80];
    snprintf(subject, sizeof(subject), "api-key/%s", id);
    struct store_audit au = {0};
    au.tenant = tenant;
    au.actor = actor ? actor : "cli";
    au.action = action;
    au.subject = subject;
    return store_audit_add(tx, &au);
}

enum ab_rc store_apikey_add(struct store_tx *tx, const struct store_apikey *k, const char *hash_hex,
                            const char *actor)
{
    struct store_stmt *st;
    enum ab_rc rc = store_tenant_ensure(tx, k->tenant);
    if (!rc)
        rc = store_db_stmt(tx->db, SQL_KEY_ADD, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttttti", k->id, k->tenant, k->name, hash_hex, k->scopes,
                            clock_now_ms());
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc)
        rc = audit_key(tx, k->tenant, "api_key.create", k->id, actor);
    return rc;
}

static void key_row(struct store_db *db, struct store_stmt *st, struct arena *a,
                    struct store_apikey *k)
{
    k->id = store_col_text(db, st, 0, a);
    k->tenant = store_col_text(db, st, 1, a);
    k->name = store_col_text(db, st, 2, a);
    k->scopes = store_col_text(db, st, 3, a);
    k->created_at = store_col_int(db, st, 4);
    k->revoked_at = store_col_time(db, st, 5);
}

enum ab_rc store_apikey_by_hash(struct store_read *r, const char *hash_hex, struct arena *a,
                                struct store_apikey *out)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_KEY_BY_HASH, &st);
    if (!rc)
        rc = store_bind_all(db, st, "t", hash_hex);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    if (!row)
        return AB_ENOTFOUND;
    key_row(db, st, a, out);
    return store_step_done(db, st);
}

enum ab_rc store_apikeys_list(struct store_read *r, const char *tenant, struct arena *a,
                              struct store_apikey **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_KEYS_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "t", tenant);
    if (rc)
        return rc;
    size_t cap = 8, k = 0;
    struct store_apikey *v = arena_alloc(a, cap * sizeof(*v));
    while (!(rc = store_step_row(db, st, &row)) && row) {
        v = arena_grow(a, v, k, &cap, sizeof(*v));
        key_row(db, st, a, &v[k++]);
    }
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

enum ab_rc store_apikey_revoke(struct store_tx *tx, const char *id, const char *actor)
{
    struct store_stmt *st;
    bool row = false;
    char tenant[128] = "";
    enum ab_rc rc = store_db_stmt(tx->db, SQL_KEY_REVOKE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "it", clock_now_ms(), id);
    if (!rc)
        rc = store_step_row(tx->db, st, &row);
    if (!rc && row) {
        const char *t = (const char *)tx->db->ops->column_text(st, 0);
        snprintf(tenant, sizeof(tenant), "%s", t ? t : "");
        rc = store_step_done(tx->db, st);
    }
    if (rc)
        return rc;
    if (!row) {
        rc = store_db_stmt(tx->db, SQL_KEY_EXISTS, &st);
        if (!rc)
            rc = store_bind_all(tx->db, st, "t", id);
        if (!rc)
            rc = store_step_row(tx->db, st, &row);
        if (!rc)
            rc = store_step_done(tx->db, st);
        return rc ? rc : row ? AB_ECONFLICT : AB_ENOTFOUND;
    }
    return audit_key(tx, tenant, "api_key.revoke", id, actor);
}

/* ---- webhooks ------------------------------------------------------------- */

static const char SQL_HOOK_ADD[] =
    "INSERT INTO webhook_subscriptions(id, tenant, url, event_types, secret, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_HOOKS_LIST[] =
    "SELECT id, url, event_types, created_at FROM webhook_subscriptions WHERE tenant = ?"
    " ORDER BY created_at, id";
static const char SQL_HOOK_DELETE[] =
    "DELETE FROM webhook_subscriptions WHERE tenant = ? AND id = ?";

static enum ab_rc audit_hook(struct store_tx *tx, const char *tenant, const char *action,
                             const char *id, const char *actor)
{
    char subject[80];
    snprintf(subject, sizeof(subject), "webhook/%s", id);
    struct store_audit au = {0};
    au.tenant = tenant;
    au.actor = actor ? actor : "system";
    au.action = action;
    au.subject = subject;
    return store_audit_add(tx, &au);
}

/* A job changed the subscriptions: forget the cache now (later jobs of the
 * group see the change) and again if the job rolls back or when the group
 * ends (readings_int.h). */
static void subscriptions_changed(struct store_tx *tx)
{
    store_webhook_cache_drop();
    store_group_webhooks_changed(tx->group);
}

enum ab_rc store_webhook_add(struct store_tx *tx, const struct store_webhook *w, const char *actor)
{
    struct store_stmt *st;
    subscriptions_changed(tx);
    enum ab_rc rc = store_tenant_ensure(tx, w->tenant);
    if (!rc)
        rc = store_db_stmt(tx->db, SQL_HOOK_ADD, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "ttttti", w->id, w->tenant, w->url, w->event_types,
                            w->secret, w->created_at > 0 ? w->created_at : clock_now_ms());
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc)
        rc = audit_hook(tx, w->tenant, "webhook.create", w->id, actor);
    return rc;
}

enum ab_rc store_webhooks_list(struct store_read *r, const char *tenant, struct arena *a,
                               struct store_webhook **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_HOOKS_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "t", tenant);
    if (rc)
        return rc;
    size_t cap = 8, k = 0;
    struct store_webhook *v = arena_alloc(a, cap * sizeof(*v));
    while (!(rc = store_step_row(db, st, &row)) && row) {
        v = arena_grow(a, v, k, &cap, sizeof(*v));
        v[k].id = store_col_text(db, st, 0, a);
        v[k].tenant = arena_strdup(a, tenant);
        v[k].url = store_col_text(db, st, 1, a);
        v[k].event_types = store_col_text(db, st, 2, a);
        v[k].secret = NULL;
        v[k].created_at = store_col_int(db, st, 3);
        k++;
    }
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

enum ab_rc store_webhook_delete(struct store_tx *tx, const char *tenant, const char *id,
                                const char *actor)
{
    struct store_stmt *st;
    subscriptions_changed(tx);
    enum ab_rc rc = store_db_stmt(tx->db, SQL_HOOK_DELETE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tt", tenant, id);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = AB_ENOTFOUND;
    if (!rc)
        rc = audit_hook(tx, tenant, "webhook.delete", id, actor);
    return rc;
}

static const char SQL_HOOK_SECRET[] =
    "SELECT url, event_types, secret, created_at FROM webhook_subscriptions"
    " WHERE tenant = ? AND id = ?";

enum ab_rc store_webhook_get_secret(struct store_read *r, const char *tenant, const char *id,
                                    struct arena *a, struct store_webhook *out)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    bool row = false;
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = store_db_stmt(db, SQL_HOOK_SECRET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && !row)
        rc = AB_ENOTFOUND;
    if (!rc) {
        out->id = arena_strdup(a, id);
        out->tenant = arena_strdup(a, tenant);
        out->url = store_col_text(db, st, 0, a);
        out->event_types = store_col_text(db, st, 1, a);
        out->secret = store_col_text(db, st, 2, a);
        out->created_at = store_col_int(db, st, 3);
    }
    db->ops->reset(st);
    return rc;
}

/* one index probe per tenant (outbox_claim: tenant, provider, state) */
static const char SQL_HOOK_TENANTS[] =
    "SELECT t.tenant FROM tenants t WHERE EXISTS (SELECT 1 FROM outbox o WHERE o.tenant = t.tenant"
    " AND o.provider = ?1 AND o.state = 'pending') OR EXISTS (SELECT 1 FROM outbox o"
    " WHERE o.tenant = t.tenant AND o.provider = ?1 AND o.state = 'in_flight')"
    " ORDER BY t.tenant LIMIT ?2";

enum ab_rc store_webhook_tenants(struct store_read *r, size_t max, struct arena *a,
                                 const char ***out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    *out = NULL;
    *n = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_HOOK_TENANTS, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ti", STORE_WEBHOOK_PROVIDER, (int64_t)max);
    if (rc)
        return rc;
    const char **v = NULL;
    size_t k = 0, cap = 0;
    bool row = false;
    while (k < max && !(rc = store_step_row(db, st, &row)) && row) {
        v = arena_grow(a, v, k, &cap, sizeof(*v));
        v[k++] = store_col_text(db, st, 0, a);
    }
    db->ops->reset(st);
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

bool store_webhook_wants(const char *event_types, const char *type)
{
    json_error_t jerr;
    json_t *v = event_types ? json_loads(event_types, 0, &jerr) : NULL;
    bool want = false;
    size_t i;
    json_t *t;
    json_array_foreach (v, i, t) {
        const char *s = json_string_value(t);
        if (s && (str_eq(s, "*") || str_eq(s, type))) {
            want = true;
            break;
        }
    }
    json_decref(v);
    return want;
}

/* ---- fan-out of events to subscriptions --------------------------------------- */

/* Per writer thread: tenants known to have (or not have) subscriptions. A
 * fixed table (no allocation to free when the thread ends); when full, the
 * oldest slot is reused. */
#define HOOK_CACHE_SLOTS 64

struct hook_cache_entry {
    char tenant[72];
    bool has;
    int64_t until; /* monotonic ms; 0: empty slot */
};

static _Thread_local struct hook_cache_entry hook_cache[HOOK_CACHE_SLOTS];
static _Thread_local unsigned hook_cache_next;

void store_webhook_cache_drop(void)
{
    for (size_t i = 0; i < HOOK_CACHE_SLOTS; i++)
        hook_cache[i].until = 0;
}

static const char SQL_HOOK_ANY[] = "SELECT 1 FROM webhook_subscriptions WHERE tenant = ? LIMIT 1";

/* Whether tenant has subscriptions, from the cache or the store. */
static enum ab_rc tenant_has_hooks(struct store_tx *tx, const char *tenant, bool *has)
{
    int64_t now = clock_mono_ms();
    size_t len = strlen(tenant);
    bool cacheable = len < sizeof(hook_cache[0].tenant);
    for (size_t i = 0; cacheable && i < HOOK_CACHE_SLOTS; i++) {
        struct hook_cache_entry *e = &hook_cache[i];
        if (e->until > now && memcmp(e->tenant, tenant, len + 1) == 0) {
            *has = e->has;
            return AB_OK;
        }
    }
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_HOOK_ANY, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "t", tenant);
    if (!rc)
        rc = store_step_row(tx->db, st, &row);
    tx->db->ops->reset(st);
    if (rc)
        return rc;
    *has = row;
    if (cacheable) {
        struct hook_cache_entry *e = &hook_cache[hook_cache_next++ % HOOK_CACHE_SLOTS];
        memcpy(e->tenant, tenant, len + 1);
        e->has = row;
        e->until = now + STORE_WEBHOOK_CACHE_TTL_MS;
    }
    return AB_OK;
}

static const char SQL_HOOKS_OF[] =
    "SELECT id, event_types FROM webhook_subscriptions WHERE tenant = ? ORDER BY created_at, id";

enum ab_rc store_webhook_fanout(struct store_tx *tx, const char *tenant, int64_t seq,
                                const char *type, const char *subject, const json_t *payload,
                                int64_t occurred_at)
{
    bool has = false;
    enum ab_rc rc = tenant_has_hooks(tx, tenant, &has);
    if (rc || !has)
        return rc;
    struct store_db *db = tx->db;
    struct store_stmt *st;
    rc = store_db_stmt(db, SQL_HOOKS_OF, &st);
    if (!rc)
        rc = store_bind_all(db, st, "t", tenant);
    if (rc)
        return rc;
    /* collect the matching ids first: adding items reuses the connection */
    struct arena *a = arena_new(0, 0);
    const char **ids = NULL;
    size_t n = 0, cap = 0;
    bool row = false;
    while (!(rc = store_step_row(db, st, &row)) && row) {
        const char *types = (const char *)db->ops->column_text(st, 1);
        if (!store_webhook_wants(types, type))
            continue;
        ids = arena_grow(a, ids, n, &cap, sizeof(*ids));
        ids[n++] = store_col_text(db, st, 0, a);
    }
    db->ops->reset(st);
    char *text = NULL;
    if (!rc && n) {
        /* the event exactly as GET /v1/events shows it */
        char at[TIME_RFC3339_MAX];
        time_format_rfc3339(occurred_at, at);
        json_t *ev = json_pack("{s:I, s:s, s:s, s:o, s:s?, s:s}", "seq", (json_int_t)seq, "type",
                               type, "subject", subject, "payload",
                               payload ? json_deep_copy(payload) : json_object(), "correlation_id",
                               tx->correlation_id, "occurred_at", at);
        json_t *body = ev ? json_pack("{s:s, s:o}", "subscription", "", "event", ev) : NULL;
        if (!body)
            rc = AB_EINTERNAL;
        for (size_t i = 0; i < n && !rc; i++) {
            json_object_set_new(body, "subscription", json_string(ids[i]));
            free(text);
            text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
            if (!text) {
                rc = AB_EINTERNAL;
                break;
            }
            struct store_outbox_item it = {0};
            it.tenant = tenant;
            it.provider = STORE_WEBHOOK_PROVIDER;
            it.entity = "webhook";
            it.action = "deliver_webhook";
            it.subject = arena_printf(a, "webhook/%s", ids[i]);
            it.payload = text;
            it.idempotency_key = arena_printf(a, "webhook:%s:%lld", ids[i], (long long)seq);
            it.state = OUTBOX_PENDING;
            it.priority = 0;
            rc = store_outbox_add(tx, &it, NULL);
        }
        json_decref(body);
    }
    free(text);
    arena_free(a);
    return rc;
}
