/* SPDX-License-Identifier: Apache-2.0
 *
 * assets.c: canonical assets, reference resolution and links. See assets.h.
 */
#include "store/assets.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/str.h"
#include "model/digest.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/store_int.h"

/* ---- reading rows ----------------------------------------------------------- */

static void json_decref_cb(void *v)
{
    json_decref(v);
}

static const char SQL_ASSET_GET[] = "SELECT doc, revision, digest, created_at, updated_at FROM "
                                    "assets WHERE tenant = ? AND asset_ref = ?";

/* Decode the current row (doc, revision, digest, created_at, updated_at at
 * column offset `col`) into out. */
static enum ab_rc asset_row(struct store_db *db, struct store_stmt *st, int col, const char *tenant,
                            struct arena *a, struct store_asset_row *out)
{
    const char *doc = (const char *)db->ops->column_text(st, col);
    json_error_t je;
    json_t *j = doc ? json_loads(doc, 0, &je) : NULL;
    if (!j)
        return AB_EINTERNAL;
    arena_on_cleanup(a, json_decref_cb, j);
    struct model_error err;
    enum ab_rc rc = model_asset_from_json(a, j, &out->asset, &err);
    if (rc) {
        log_error(NULL, "stored asset does not parse", LOG_STR("field", err.field),
                  LOG_STR("error", err.message));
        return AB_EINTERNAL;
    }
    out->asset.tenant = arena_strdup(a, tenant);
    out->revision = store_col_int(db, st, col + 1);
    const char *dg = (const char *)db->ops->column_text(st, col + 2);
    str_lcpy(out->digest, dg ? dg : "", sizeof(out->digest));
    out->asset.created_at = store_col_int(db, st, col + 3);
    out->asset.updated_at = store_col_int(db, st, col + 4);
    return AB_OK;
}

static enum ab_rc asset_get(struct store_db *db, const char *tenant, const char *asset_ref,
                            struct arena *a, struct store_asset_row *out)
{
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_ASSET_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, asset_ref);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    if (!row)
        return AB_ENOTFOUND;
    rc = asset_row(db, st, 0, tenant, a, out);
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

enum ab_rc store_asset_get(struct store_read *r, const char *tenant, const char *asset_ref,
                           struct arena *a, struct store_asset_row *out)
{
    return asset_get(store_read_db(r), tenant, asset_ref, a, out);
}

enum ab_rc store_asset_get_tx(struct store_tx *tx, const char *tenant, const char *asset_ref,
                              struct arena *a, struct store_asset_row *out)
{
    return asset_get(tx->db, tenant, asset_ref, a, out);
}

/* ---- resolution -------------------------------------------------------------- */

static const char SQL_REF_EXISTS[] = "SELECT 1 FROM assets WHERE tenant = ? AND asset_ref = ?";
static const char SQL_BY_SERIAL[] = "SELECT asset_ref FROM assets WHERE tenant = ? AND "
                                    "serial_number = ? ORDER BY asset_ref LIMIT 9";
static const char SQL_LINK_GET[] =
    "SELECT asset_ref FROM asset_links WHERE tenant = ? AND provider = ? AND native_id = ?";
static const char SQL_LINK_GET_FULL[] = "SELECT asset_ref, linked_at FROM asset_links WHERE "
                                        "tenant = ? AND provider = ? AND native_id = ?";

static enum ab_rc exists(struct store_db *db, const char *sql, const char *tenant, const char *key,
                         bool *found)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, sql, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, key);
    if (!rc)
        rc = store_step_row(db, st, found);
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

static enum ab_rc link_get(struct store_db *db, const char *tenant, const char *provider,
                           const char *native_id, struct arena *a, const char **asset_ref)
{
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_LINK_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, provider, native_id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    *asset_ref = row ? store_col_text(db, st, 0, a) : NULL;
    rc = store_step_done(db, st);
    return rc ? rc : (*asset_ref ? AB_OK : AB_ENOTFOUND);
}

/* Assets whose serial number is serial (at most STORE_MAX_CANDIDATES + 1). */
static enum ab_rc by_serial(struct store_db *db, const char *tenant, const char *serial,
                            struct arena *a, struct store_resolution *out)
{
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_BY_SERIAL, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, serial);
    if (rc)
        return rc;
    out->n_candidates = 0;
    while (!(rc = store_step_row(db, st, &row)) && row)
        if (out->n_candidates < STORE_MAX_CANDIDATES)
            out->candidates[out->n_candidates++] = store_col_text(db, st, 0, a);
    return rc;
}

enum ab_rc store_resolve_db(struct store_db *db, const char *tenant, const char *reference,
                            struct arena *a, struct store_resolution *out)
{
    memset(out, 0, sizeof(*out));
    bool found;
    enum ab_rc rc = exists(db, SQL_REF_EXISTS, tenant, reference, &found);
    if (rc)
        return rc;
    if (found) {
        out->asset_ref = arena_strdup(a, reference);
        out->candidates[0] = out->asset_ref;
        out->n_candidates = 1;
        out->matched_by = "asset_ref";
        return AB_OK;
    }
    rc = by_serial(db, tenant, reference, a, out);
    if (rc)
        return rc;
    if (out->n_candidates == 1) {
        out->asset_ref = out->candidates[0];
        out->matched_by = "serial_number";
        return AB_OK;
    }
    if (out->n_candidates > 1)
        return AB_EIDENTITY;
    const char *colon = strchr(reference, ':');
    if (colon && colon != reference && colon[1]) {
        char *provider = arena_strndup(a, reference, (size_t)(colon - reference));
        const char *ref;
        rc = link_get(db, tenant, provider, colon + 1, a, &ref);
        if (rc == AB_OK) {
            out->asset_ref = ref;
            out->candidates[0] = ref;
            out->n_candidates = 1;
            out->matched_by = "link";
            return AB_OK;
        }
        if (rc != AB_ENOTFOUND)
            return rc;
    }
    return AB_EIDENTITY;
}

enum ab_rc store_asset_resolve(struct store_read *r, const char *tenant, const char *reference,
                               struct arena *a, const char **asset_ref, const char ***candidates,
                               size_t *n_candidates)
{
    struct store_resolution *how = arena_zalloc(a, sizeof(*how));
    enum ab_rc rc = store_resolve_db(store_read_db(r), tenant, reference, a, how);
    *asset_ref = how->asset_ref;
    *candidates = how->candidates;
    *n_candidates = how->n_candidates;
    return rc;
}

/* ---- put ----------------------------------------------------------------------- */

static const char SQL_ASSET_INSERT[] =
    "INSERT INTO assets(tenant, asset_ref, site, serial_number, type, status, parent_ref, doc, "
    "digest,"
    " revision, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)";
static const char SQL_ASSET_UPDATE[] =
    "UPDATE assets SET site = ?, serial_number = ?, type = ?, status = ?, parent_ref = ?, doc = ?,"
    " digest = ?, revision = revision + 1, updated_at = ? WHERE tenant = ? AND asset_ref = ?";
static const char SQL_SERIAL_OTHER[] = "SELECT asset_ref FROM assets WHERE tenant = ? AND "
                                       "serial_number = ? AND asset_ref <> ? LIMIT 1";
static const char SQL_PARENT_OF[] =
    "SELECT parent_ref FROM assets WHERE tenant = ? AND asset_ref = ?";

static void fail(struct store_put_result *res, const char *field, const char *fmt, ...)
    AB_PRINTF(3, 4);

static void fail(struct store_put_result *res, const char *field, const char *fmt, ...)
{
    va_list ap;
    str_lcpy(res->field, field, sizeof(res->field));
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

static bool same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The parent must exist and must not have asset_ref among its ancestors. */
static enum ab_rc check_parent(struct store_db *db, const char *tenant, const char *asset_ref,
                               const char *parent, struct arena *a, struct store_put_result *res)
{
    const char *p = parent;
    for (int depth = 0; p; depth++) {
        if (strcmp(p, asset_ref) == 0 || depth > 64) {
            fail(res, "parent", "parent '%s' would make a cycle through '%s'", parent, asset_ref);
            return AB_EINVAL;
        }
        struct store_stmt *st;
        bool row = false;
        enum ab_rc rc = store_db_stmt(db, SQL_PARENT_OF, &st);
        if (!rc)
            rc = store_bind_all(db, st, "tt", tenant, p);
        if (!rc)
            rc = store_step_row(db, st, &row);
        if (rc)
            return rc;
        if (!row) {
            if (p == parent) {
                fail(res, "parent", "parent asset '%s' does not exist", parent);
                return AB_EINVAL;
            }
            break;
        }
        const char *next = store_col_text(db, st, 0, a);
        rc = store_step_done(db, st);
        if (rc)
            return rc;
        p = next;
    }
    return AB_OK;
}

static enum ab_rc emit(struct store_tx *tx, const char *tenant, const char *type,
                       const char *asset_ref, json_t *payload)
{
    char subject[80];
    snprintf(subject, sizeof(subject), "asset/%s", asset_ref);
    return store_event_append(tx, tenant, type, subject, payload, NULL);
}

enum ab_rc store_asset_put(struct store_tx *tx, const char *tenant, const struct model_asset *asset,
                           int64_t if_revision, unsigned flags, const char *actor,
                           struct store_put_result *res)
{
    struct store_db *db = tx->db;
    struct arena *a = arena_new(8192, 0);
    struct store_asset_row old;
    struct store_stmt *st;
    bool row = false;
    json_t *doc = NULL;
    memset(res, 0, sizeof(*res));

    enum ab_rc rc = store_tenant_ensure(tx, tenant);
    if (rc)
        goto out;
    rc = asset_get(db, tenant, asset->asset_ref, a, &old);
    bool exists_now = rc == AB_OK;
    if (rc && rc != AB_ENOTFOUND)
        goto out;
    if (exists_now && (flags & STORE_PUT_MUST_CREATE)) {
        fail(res, "asset_ref", "asset '%s' exists already", asset->asset_ref);
        rc = AB_ECONFLICT;
        goto out;
    }
    if (if_revision > 0 && (!exists_now || old.revision != if_revision)) {
        if (exists_now)
            fail(res, "If-Match", "stale revision: the asset is at revision %lld",
                 (long long)old.revision);
        else
            fail(res, "If-Match", "the asset does not exist, so no revision can match");
        rc = AB_ECONFLICT;
        goto out;
    }

    struct model_asset canon = *asset;
    canon.tenant = NULL;
    canon.created_at = MODEL_TIME_UNSET;
    canon.updated_at = MODEL_TIME_UNSET;
    doc = model_asset_to_json(&canon);
    if (!doc) {
        rc = AB_EINTERNAL;
        goto out;
    }
    char digest[STORE_DIGEST_LEN + 1];
    rc = model_digest(doc, digest);
    if (rc)
        goto out;
    str_lcpy(res->digest, digest, sizeof(res->digest));
    if (exists_now && strcmp(old.digest, digest) == 0) {
        res->revision = old.revision; /* identical: nothing to do */
        goto out;
    }

    if (asset->serial_number && !(flags & STORE_PUT_SHARED_SERIAL) &&
        (!exists_now || !same(old.asset.serial_number, asset->serial_number))) {
        rc = store_db_stmt(db, SQL_SERIAL_OTHER, &st);
        if (!rc)
            rc = store_bind_all(db, st, "ttt", tenant, asset->serial_number, asset->asset_ref);
        if (!rc)
            rc = store_step_row(db, st, &row);
        if (rc)
            goto out;
        if (row) {
            fail(res, "serial_number", "serial number '%s' belongs to asset '%s' already",
                 asset->serial_number, (const char *)db->ops->column_text(st, 0));
            rc = store_step_done(db, st);
            rc = rc ? rc : AB_ECONFLICT;
            goto out;
        }
        rc = store_step_done(db, st);
        if (rc)
            goto out;
    }
    if (asset->parent && (!exists_now || !same(old.asset.parent, asset->parent))) {
        rc = check_parent(db, tenant, asset->asset_ref, asset->parent, a, res);
        if (rc)
            goto out;
    }

    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        rc = AB_EINTERNAL;
        goto out;
    }
    int64_t now = clock_now_ms();
    const char *type = model_asset_type_name(asset->type);
    const char *status = model_asset_status_name(asset->status);
    if (exists_now) {
        rc = store_db_stmt(db, SQL_ASSET_UPDATE, &st);
        if (!rc)
            rc = store_bind_all(db, st, "tttttttitt", asset->site, asset->serial_number, type,
                                status, asset->parent, text, digest, now, tenant, asset->asset_ref);
    } else {
        rc = store_db_stmt(db, SQL_ASSET_INSERT, &st);
        if (!rc)
            rc = store_bind_all(db, st, "tttttttttii", tenant, asset->asset_ref, asset->site,
                                asset->serial_number, type, status, asset->parent, text, digest,
                                now, now);
    }
    free(text);
    if (!rc)
        rc = store_step_done(db, st);
    if (rc)
        goto out;
    res->created = !exists_now;
    res->changed = true;
    res->revision = exists_now ? old.revision + 1 : 1;

    /* events */
    json_t *payload = json_deep_copy(doc);
    json_object_set_new(payload, "asset_ref", json_string(asset->asset_ref));
    json_object_set_new(payload, "revision", json_integer(res->revision));
    /* who made the change ("connector:NAME" for a pull): the lifecycle rules
     * carry only the asset master system of record's changes */
    const char *by = actor ? actor : "system";
    json_object_set_new(payload, "changed_by", json_string(by));
    if (!exists_now) {
        rc = emit(tx, tenant, "asset.created", asset->asset_ref, payload);
    } else {
        rc = emit(tx, tenant, "asset.updated", asset->asset_ref, payload);
        bool moved = !same(old.asset.site, asset->site) ||
                     !same(old.asset.location.line, asset->location.line) ||
                     !same(old.asset.location.cell, asset->location.cell) ||
                     !same(old.asset.parent, asset->parent);
        if (!rc && moved) {
            json_t *m = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s}", "asset_ref",
                                  asset->asset_ref, "from_site", old.asset.site, "to_site",
                                  asset->site, "from_line", old.asset.location.line, "to_line",
                                  asset->location.line, "from_parent", old.asset.parent,
                                  "to_parent", asset->parent, "changed_by", by);
            rc = emit(tx, tenant, "asset.moved", asset->asset_ref, m);
            json_decref(m);
        }
        bool gone = asset->status == MODEL_ASSET_RETIRED || asset->status == MODEL_ASSET_SCRAPPED;
        if (!rc && gone && old.asset.status != asset->status) {
            json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "asset_ref", asset->asset_ref,
                                  "from_status", model_asset_status_name(old.asset.status),
                                  "status", status, "changed_by", by);
            rc = emit(tx, tenant, "asset.retired", asset->asset_ref, m);
            json_decref(m);
        }
    }
    json_decref(payload);
    if (rc)
        goto out;
    char subject[80];
    snprintf(subject, sizeof(subject), "asset/%s", asset->asset_ref);
    struct store_audit au = {0};
    au.tenant = tenant;
    au.actor = actor ? actor : "system";
    au.action = exists_now ? "asset.update" : "asset.create";
    au.subject = subject;
    au.before_digest = exists_now ? old.digest : NULL;
    au.after_digest = digest;
    rc = store_audit_add(tx, &au);
out:
    json_decref(doc);
    arena_free(a);
    return rc;
}

/* ---- list ----------------------------------------------------------------------- */

static const char SQL_ASSETS_LIST[] =
    "SELECT a.doc, a.revision, a.digest, a.created_at, a.updated_at, a.asset_ref FROM assets a"
    " WHERE a.tenant = ?1 AND a.asset_ref > ?2"
    " AND (?3 IS NULL OR a.site = ?3) AND (?4 IS NULL OR a.type = ?4) AND (?5 IS NULL OR a.status "
    "= ?5)"
    " AND (?6 IS NULL OR EXISTS (SELECT 1 FROM asset_links l WHERE l.tenant = a.tenant"
    "      AND l.asset_ref = a.asset_ref AND l.provider = ?6))"
    " AND (?7 IS NULL OR EXISTS (SELECT 1 FROM objects o WHERE o.tenant = a.tenant"
    "      AND o.kind = 'calibration' AND o.asset_ref = a.asset_ref AND o.due_at < ?7))"
    " ORDER BY a.asset_ref LIMIT ?8";

enum ab_rc store_assets_list(struct store_read *r, const char *tenant,
                             const struct store_asset_filter *f, struct arena *a,
                             struct store_asset_row **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    size_t limit = f->limit ? f->limit : 100;
    enum ab_rc rc = store_db_stmt(db, SQL_ASSETS_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttttttTi", tenant, f->after ? f->after : "", f->site, f->type,
                            f->status, f->provider, f->calibration_due_before, (int64_t)limit);
    if (rc)
        return rc;
    struct store_asset_row *v = arena_zalloc(a, limit * sizeof(*v));
    size_t k = 0;
    bool row = false;
    while (k < limit && !(rc = store_step_row(db, st, &row)) && row) {
        rc = asset_row(db, st, 0, tenant, a, &v[k]);
        if (rc)
            break;
        k++;
    }
    /* a full page stops short of the statement's end; left active, it would
     * pin the read connection's snapshot and stall checkpoints */
    db->ops->reset(st);
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

/* ---- links --------------------------------------------------------------------- */

static const char SQL_LINK_INSERT[] = "INSERT INTO asset_links(tenant, provider, native_id, "
                                      "asset_ref, linked_at) VALUES (?, ?, ?, ?, ?)";
static const char SQL_LINK_DELETE[] =
    "DELETE FROM asset_links WHERE tenant = ? AND provider = ? AND native_id = ? AND asset_ref = ?";
static const char SQL_LINKS_LIST[] =
    "SELECT provider, native_id, linked_at FROM asset_links WHERE tenant = ? AND asset_ref = ?"
    " ORDER BY provider, native_id";

static enum ab_rc link_audit(struct store_tx *tx, const char *tenant, const char *action,
                             const char *provider, const char *native_id, const char *asset_ref,
                             const char *actor)
{
    char subject[80], detail[300];
    snprintf(subject, sizeof(subject), "asset/%s", asset_ref);
    json_t *d = json_pack("{s:s, s:s}", "provider", provider, "native_id", native_id);
    char *t = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    str_lcpy(detail, t ? t : "{}", sizeof(detail));
    free(t);
    struct store_audit au = {0};
    au.tenant = tenant;
    au.actor = actor ? actor : "system";
    au.action = action;
    au.subject = subject;
    au.detail = detail;
    return store_audit_add(tx, &au);
}

enum ab_rc store_link_add(struct store_tx *tx, const char *tenant, const char *provider,
                          const char *native_id, const char *asset_ref, const char *actor)
{
    struct store_db *db = tx->db;
    struct arena *a = arena_new(1024, 0);
    const char *current;
    enum ab_rc rc = link_get(db, tenant, provider, native_id, a, &current);
    if (rc == AB_OK) {
        rc = strcmp(current, asset_ref) == 0 ? AB_OK : AB_ECONFLICT;
        goto out;
    }
    if (rc != AB_ENOTFOUND)
        goto out;
    bool found;
    rc = exists(db, SQL_REF_EXISTS, tenant, asset_ref, &found);
    if (!rc && !found)
        rc = AB_ENOTFOUND;
    struct store_stmt *st;
    if (!rc)
        rc = store_db_stmt(db, SQL_LINK_INSERT, &st);
    if (!rc)
        rc =
            store_bind_all(db, st, "tttti", tenant, provider, native_id, asset_ref, clock_now_ms());
    if (!rc)
        rc = store_step_done(db, st);
    if (!rc)
        rc = link_audit(tx, tenant, "asset.link", provider, native_id, asset_ref, actor);
out:
    arena_free(a);
    return rc;
}

enum ab_rc store_link_remove(struct store_tx *tx, const char *tenant, const char *provider,
                             const char *native_id, const char *asset_ref, const char *actor)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_LINK_DELETE, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tttt", tenant, provider, native_id, asset_ref);
    if (!rc)
        rc = store_step_done(tx->db, st);
    if (!rc && tx->db->ops->changes(tx->db->conn) == 0)
        rc = AB_ENOTFOUND;
    if (!rc)
        rc = link_audit(tx, tenant, "asset.unlink", provider, native_id, asset_ref, actor);
    return rc;
}

enum ab_rc store_links_list(struct store_read *r, const char *tenant, const char *asset_ref,
                            struct arena *a, struct store_link **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_LINKS_LIST, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, asset_ref);
    if (rc)
        return rc;
    size_t cap = 4, k = 0;
    struct store_link *v = arena_alloc(a, cap * sizeof(*v));
    bool row = false;
    while (!(rc = store_step_row(db, st, &row)) && row) {
        v = arena_grow(a, v, k, &cap, sizeof(*v));
        v[k].provider = store_col_text(db, st, 0, a);
        v[k].native_id = store_col_text(db, st, 1, a);
        v[k].asset_ref = arena_strdup(a, asset_ref);
        v[k].linked_at = store_col_int(db, st, 2);
        k++;
    }
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}

enum ab_rc store_link_lookup(struct store_read *r, const char *tenant, const char *provider,
                             const char *native_id, struct arena *a, const char **asset_ref)
{
    return link_get(store_read_db(r), tenant, provider, native_id, a, asset_ref);
}

enum ab_rc store_link_get_tx(struct store_tx *tx, const char *tenant, const char *provider,
                             const char *native_id, struct arena *a, struct store_link *out)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_LINK_GET_FULL, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, provider, native_id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc)
        return rc;
    if (!row)
        return AB_ENOTFOUND;
    out->provider = arena_strdup(a, provider);
    out->native_id = arena_strdup(a, native_id);
    out->asset_ref = store_col_text(db, st, 0, a);
    out->linked_at = store_col_int(db, st, 1);
    return store_step_done(db, st);
}

/* ---- objects of an asset ------------------------------------------------------------ */

static const char SQL_OBJECTS_BY_ASSET[] =
    "SELECT id, status, due_at, doc, revision, created_at, updated_at FROM objects"
    " WHERE tenant = ? AND asset_ref = ? AND kind = ? ORDER BY updated_at DESC, id LIMIT ?";

enum ab_rc store_objects_by_asset(struct store_read *r, const char *tenant, const char *asset_ref,
                                  const char *kind, struct arena *a,
                                  struct store_asset_object **out, size_t *n)
{
    struct store_db *db = store_read_db(r);
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_OBJECTS_BY_ASSET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttti", tenant, asset_ref, kind,
                            (int64_t)STORE_OBJECTS_BY_ASSET_MAX);
    if (rc)
        return rc;
    size_t cap = 4, k = 0;
    struct store_asset_object *v = arena_alloc(a, cap * sizeof(*v));
    bool row = false;
    while (!(rc = store_step_row(db, st, &row)) && row) {
        v = arena_grow(a, v, k, &cap, sizeof(*v));
        struct store_asset_object *o = &v[k++];
        o->kind = arena_strdup(a, kind);
        o->id = store_col_text(db, st, 0, a);
        o->asset_ref = arena_strdup(a, asset_ref);
        o->status = store_col_text(db, st, 1, a);
        o->due_at = store_col_time(db, st, 2);
        o->doc = store_col_text(db, st, 3, a);
        o->revision = store_col_int(db, st, 4);
        o->created_at = store_col_int(db, st, 5);
        o->updated_at = store_col_int(db, st, 6);
    }
    if (rc)
        return rc;
    *out = v;
    *n = k;
    return AB_OK;
}
