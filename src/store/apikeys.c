/* SPDX-License-Identifier: Apache-2.0
 *
 * apikeys.c: API keys and webhook subscriptions. See apikeys.h.
 */
#include "store/apikeys.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "store/journal.h"
#include "store/store_int.h"

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

enum ab_rc store_webhook_add(struct store_tx *tx, const struct store_webhook *w, const char *actor)
{
    struct store_stmt *st;
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
