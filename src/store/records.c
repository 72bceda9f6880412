/* SPDX-License-Identifier: Apache-2.0
 *
 * records.c: idempotent upsert of provider records, the identity map for
 * assets, canonical objects for the other entities, missing-at-source
 * marking and the resolution of mapping exceptions. See records.h.
 */
#include "store/records.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/str.h"
#include "core/timefmt.h"
#include "model/asset.h"
#include "model/digest.h"
#include "store/assets.h"
#include "store/baselines.h"
#include "store/events.h"
#include "store/journal.h"
#include "store/store_int.h"

static void json_decref_fn(void *v)
{
    json_decref(v);
}

const char *store_upsert_outcome_name(enum store_upsert_outcome o)
{
    static const char *const names[] = {"created", "updated", "unchanged", "conflict", "exception"};
    return (unsigned)o < 5 ? names[o] : "unknown";
}

static void say(struct store_upsert_result *res, const char *fmt, ...) AB_PRINTF(2, 3);

static void say(struct store_upsert_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

static const char SQL_SRC_GET[] =
    "SELECT digest, source_revision, source_modified_at, subject FROM source_records"
    " WHERE tenant = ? AND provider = ? AND entity = ? AND native_id = ?";
static const char SQL_SRC_SEEN[] =
    "UPDATE source_records SET seen_at = ?, missing_at_source = 0"
    " WHERE tenant = ? AND provider = ? AND entity = ? AND native_id = ?";
static const char SQL_SRC_PUT[] =
    "INSERT INTO source_records(tenant, provider, entity, native_id, subject, doc, digest,"
    " source_revision, source_modified_at, sync_state, last_synced_at, missing_at_source, seen_at,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'imported', ?, 0, ?, ?, ?)"
    " ON CONFLICT (tenant, provider, entity, native_id) DO UPDATE SET subject = excluded.subject,"
    " doc = excluded.doc, digest = excluded.digest, source_revision = excluded.source_revision,"
    " source_modified_at = excluded.source_modified_at, sync_state = 'imported',"
    " last_synced_at = excluded.last_synced_at, missing_at_source = 0, seen_at = excluded.seen_at,"
    " updated_at = excluded.updated_at";

struct src_row {
    bool found;
    char digest[MODEL_DIGEST_HEX_LEN + 1];
    int64_t revision, modified_at;
    const char *subject;
};

static enum ab_rc src_get(struct store_db *db, const struct store_record *rec, struct arena *a,
                          struct src_row *out)
{
    struct store_stmt *st;
    bool row = false;
    memset(out, 0, sizeof(*out));
    enum ab_rc rc = store_db_stmt(db, SQL_SRC_GET, &st);
    if (!rc)
        rc =
            store_bind_all(db, st, "tttt", rec->tenant, rec->provider, rec->entity, rec->native_id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (rc || !row)
        return rc;
    out->found = true;
    const char *d = (const char *)db->ops->column_text(st, 0);
    str_lcpy(out->digest, d ? d : "", sizeof(out->digest));
    out->revision = store_col_time(db, st, 1);
    out->modified_at = store_col_time(db, st, 2);
    out->subject = store_col_text(db, st, 3, a);
    return store_step_done(db, st);
}

static enum ab_rc src_put(struct store_tx *tx, const struct store_record *rec, const char *subject,
                          const char *digest)
{
    char *text = json_dumps(rec->doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return AB_EINTERNAL;
    int64_t now = clock_now_ms();
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(tx->db, SQL_SRC_PUT, &st);
    if (!rc)
        rc = store_bind_all(tx->db, st, "tttttttTTiiii", rec->tenant, rec->provider, rec->entity,
                            rec->native_id, subject, text, digest, rec->source_revision,
                            rec->source_modified_at, now, now, now, now);
    if (!rc)
        rc = store_step_done(tx->db, st);
    free(text);
    return rc;
}

/* The change as a mapping exception holds it (and resolution replays it). */
static char *change_json(const struct store_record *rec)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:O}", "provider", rec->provider, "entity", rec->entity,
                          "native_id", rec->native_id, "doc", rec->doc);
    if (!c)
        return NULL;
    if (rec->source_revision != INT64_MIN)
        json_object_set_new(c, "source_revision", json_integer(rec->source_revision));
    if (rec->source_modified_at != INT64_MIN)
        json_object_set_new(c, "source_modified_at", json_integer(rec->source_modified_at));
    char *t = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(c);
    return t;
}

static enum ab_rc hold(struct store_tx *tx, const struct store_record *rec, const char *reason,
                       const char *const *candidates, size_t n, struct arena *a,
                       struct store_upsert_result *res)
{
    json_t *cand = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(cand, json_string(candidates[i]));
    char *ctext = json_dumps(cand, JSON_COMPACT);
    json_decref(cand);
    char *change = change_json(rec);
    enum ab_rc rc = AB_EINTERNAL;
    if (ctext && change) {
        struct store_mapping_exception e = {0};
        e.tenant = rec->tenant;
        e.provider = rec->provider;
        e.entity = rec->entity;
        e.native_id = rec->native_id;
        e.reason = reason;
        e.message = res->message;
        e.candidates = ctext;
        e.change = change;
        rc = store_mapping_exception_add(tx, &e, &res->exception_id, a);
    }
    free(ctext);
    free(change);
    if (!rc)
        res->outcome = STORE_UPSERT_EXCEPTION;
    return rc;
}

static bool stale(const struct store_record *rec, const struct src_row *row)
{
    if (rec->source_revision != INT64_MIN && row->revision != INT64_MIN)
        return rec->source_revision < row->revision;
    if (rec->source_modified_at != INT64_MIN && row->modified_at != INT64_MIN)
        return rec->source_modified_at < row->modified_at;
    return false;
}

static enum ab_rc record_conflict(struct store_tx *tx, const struct store_record *rec,
                                  const struct src_row *row, struct store_upsert_result *res)
{
    if (rec->source_revision != INT64_MIN && row->revision != INT64_MIN)
        say(res, "stale change refused: revision %lld is older than the stored revision %lld",
            (long long)rec->source_revision, (long long)row->revision);
    else
        say(res, "stale change refused: last-modified %lld is older than the stored %lld",
            (long long)rec->source_modified_at, (long long)row->modified_at);
    res->outcome = STORE_UPSERT_CONFLICT;
    res->subject = row->subject;
    enum ab_rc rc = store_sync_log_add(tx, rec->tenant, rec->provider, rec->entity, rec->native_id,
                                       "warn", res->message);
    if (rc)
        return rc;
    char subject[200], actor[80];
    snprintf(subject, sizeof(subject), "record/%s/%s/%s", rec->provider, rec->entity,
             rec->native_id);
    snprintf(actor, sizeof(actor), "connector:%s", rec->provider);
    struct store_audit au = {0};
    au.tenant = rec->tenant;
    au.actor = actor;
    au.action = "record.conflict";
    au.subject = subject;
    au.before_digest = row->digest;
    au.detail = NULL;
    return store_audit_add(tx, &au);
}

/* ---- assets ------------------------------------------------------------------ */

static const char SQL_LINK_OF[] =
    "SELECT asset_ref FROM asset_links WHERE tenant = ? AND provider = ? AND native_id = ?";

/* ---- the hierarchy: parents named by the provider's native id ----------------- */

static const char SQL_PENDING_DEL_CHILD[] =
    "DELETE FROM pending_parents WHERE tenant = ? AND child_ref = ?";
static const char SQL_PENDING_ADD[] =
    "INSERT INTO pending_parents(tenant, provider, parent_native_id, child_ref, since)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";
static const char SQL_PENDING_OF[] = "SELECT child_ref FROM pending_parents WHERE tenant = ?"
                                     " AND provider = ? AND parent_native_id = ?";

/* The hub asset linked to (provider, native_id), or NULL. */
static enum ab_rc linked_ref(struct store_db *db, const char *tenant, const char *provider,
                             const char *native_id, struct arena *a, const char **out)
{
    struct store_stmt *st;
    bool row = false;
    *out = NULL;
    enum ab_rc rc = store_db_stmt(db, SQL_LINK_OF, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, provider, native_id);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row)
        *out = store_col_text(db, st, 0, a);
    db->ops->reset(st);
    return rc;
}

/* Resolve the parent a pulled asset names (doc "parent_native_id") into the
 * patch's "parent"; a parent the hub has not linked yet is remembered in
 * pending_parents (and the child keeps its parent until then). */
static enum ab_rc parent_of(struct store_tx *tx, const struct store_record *rec, const char *ref,
                            json_t *patch, struct arena *a)
{
    struct store_db *db = tx->db;
    const char *pn = json_string_value(json_object_get(rec->doc, "parent_native_id"));
    json_object_del(patch, "parent_native_id");
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_PENDING_DEL_CHILD, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", rec->tenant, ref);
    if (!rc)
        rc = store_step_done(db, st);
    if (rc || !json_object_get(rec->doc, "parent_native_id"))
        return rc;
    if (!pn || !*pn) { /* null or "": no parent at the provider */
        json_object_set_new(patch, "parent", json_null());
        return AB_OK;
    }
    const char *parent = NULL;
    rc = linked_ref(db, rec->tenant, rec->provider, pn, a, &parent);
    if (rc)
        return rc;
    if (parent && strcmp(parent, ref) != 0) {
        json_object_set_new(patch, "parent", json_string(parent));
        return AB_OK;
    }
    rc = store_db_stmt(db, SQL_PENDING_ADD, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tttti", rec->tenant, rec->provider, pn, ref, clock_now_ms());
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

/* (provider, native_id) is now linked to ref: the children waiting for it
 * get it as their parent. */
static enum ab_rc adopt_children(struct store_tx *tx, const struct store_record *rec,
                                 const char *ref, const char *actor, struct arena *a)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    const char *kids[64];
    size_t n = 0;
    bool row = false;
    enum ab_rc rc = store_db_stmt(db, SQL_PENDING_OF, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", rec->tenant, rec->provider, rec->native_id);
    while (!rc && n < sizeof(kids) / sizeof(kids[0]) && !(rc = store_step_row(db, st, &row)) && row)
        kids[n++] = store_col_text(db, st, 0, a);
    db->ops->reset(st);
    for (size_t i = 0; !rc && i < n; i++) {
        struct store_asset_row child;
        rc = store_asset_get_tx(tx, rec->tenant, kids[i], a, &child);
        if (rc == AB_ENOTFOUND) {
            rc = AB_OK;
        } else if (!rc && strcmp(kids[i], ref) != 0) {
            child.asset.parent = ref;
            struct store_put_result put;
            rc = store_asset_put(tx, rec->tenant, &child.asset, 0, 0, actor, &put);
            if (rc == AB_EINVAL || rc == AB_ECONFLICT) /* e.g. a cycle: leave it */
                rc = AB_OK;
        }
        if (!rc)
            rc = store_db_stmt(db, SQL_PENDING_DEL_CHILD, &st);
        if (!rc)
            rc = store_bind_all(db, st, "tt", rec->tenant, kids[i]);
        if (!rc)
            rc = store_step_done(db, st);
    }
    return rc;
}
static const char SQL_OTHER_LINK[] = "SELECT native_id FROM asset_links WHERE tenant = ? AND "
                                     "asset_ref = ? AND provider = ? AND native_id <> ?"
                                     " LIMIT 1";
static const char SQL_SERIAL_NOT[] = "SELECT asset_ref FROM assets WHERE tenant = ? AND "
                                     "serial_number = ? AND asset_ref <> ? ORDER BY asset_ref"
                                     " LIMIT 8";
static const char SQL_REF_TAKEN[] = "SELECT 1 FROM assets WHERE tenant = ? AND asset_ref = ?";

enum asset_mode { AM_AUTO, AM_LINK_TO, AM_CREATE };

static enum ab_rc ref_taken(struct store_db *db, const char *tenant, const char *ref, bool *taken)
{
    struct store_stmt *st;
    enum ab_rc rc = store_db_stmt(db, SQL_REF_TAKEN, &st);
    if (!rc)
        rc = store_bind_all(db, st, "tt", tenant, ref);
    if (!rc)
        rc = store_step_row(db, st, taken);
    if (!rc)
        rc = store_step_done(db, st);
    return rc;
}

/* Assets other than `except` whose serial is serial. */
static enum ab_rc serial_others(struct store_db *db, const char *tenant, const char *serial,
                                const char *except, struct arena *a, const char **v, size_t *n)
{
    struct store_stmt *st;
    bool row = false;
    *n = 0;
    enum ab_rc rc = store_db_stmt(db, SQL_SERIAL_NOT, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", tenant, serial, except ? except : "");
    while (!rc && !(rc = store_step_row(db, st, &row)) && row)
        if (*n < STORE_MAX_CANDIDATES)
            v[(*n)++] = store_col_text(db, st, 0, a);
    return rc;
}

/* Pick an asset_ref for a new asset: the proposal, else the serial number,
 * when valid and free; else a ULID. */
static enum ab_rc choose_ref(struct store_db *db, const char *tenant, const char *proposal,
                             const char *serial, struct arena *a, const char **out)
{
    const char *tries[2] = {proposal, serial};
    for (int i = 0; i < 2; i++) {
        if (!tries[i] || !model_asset_ref_valid(tries[i]))
            continue;
        bool taken;
        enum ab_rc rc = ref_taken(db, tenant, tries[i], &taken);
        if (rc)
            return rc;
        if (!taken) {
            *out = arena_strdup(a, tries[i]);
            return AB_OK;
        }
    }
    char id[ID_ULID_LEN + 1];
    id_ulid_new(id);
    *out = arena_strdup(a, id);
    return AB_OK;
}

static enum ab_rc apply_asset(struct store_tx *tx, const struct store_record *rec,
                              enum asset_mode mode, const char *target, struct arena *a,
                              struct store_upsert_result *res)
{
    struct store_db *db = tx->db;
    const char *serial = json_string_value(json_object_get(rec->doc, "serial_number"));
    const char *proposal = json_string_value(json_object_get(rec->doc, "asset_ref"));
    const char *linked = NULL;
    const char *others[STORE_MAX_CANDIDATES];
    size_t n_others = 0;
    bool need_link = false, create = false;
    unsigned put_flags = 0;
    enum ab_rc rc;

    if (mode == AM_AUTO) {
        struct store_stmt *st;
        bool row = false;
        rc = store_db_stmt(db, SQL_LINK_OF, &st);
        if (!rc)
            rc = store_bind_all(db, st, "ttt", rec->tenant, rec->provider, rec->native_id);
        if (!rc)
            rc = store_step_row(db, st, &row);
        if (!rc && row)
            linked = store_col_text(db, st, 0, a);
        if (!rc)
            rc = store_step_done(db, st);
        if (rc)
            return rc;
    }

    const char *ref = linked;
    if (mode == AM_LINK_TO) {
        ref = target;
        need_link = true;
    } else if (mode == AM_CREATE) {
        create = true;
        need_link = true;
        put_flags = STORE_PUT_SHARED_SERIAL | STORE_PUT_MUST_CREATE;
        if (target) {
            if (!model_asset_ref_valid(target)) {
                say(res, "'%s' is not a valid asset_ref", target);
                return AB_EINVAL;
            }
            ref = arena_strdup(a, target);
        } else {
            rc = choose_ref(db, rec->tenant, proposal, NULL, a, &ref);
            if (rc)
                return rc;
        }
    } else if (linked) {
        if (serial) {
            rc = serial_others(db, rec->tenant, serial, linked, a, others, &n_others);
            if (rc)
                return rc;
            if (n_others) {
                say(res,
                    "%s %s '%s' is linked to asset '%s', but its serial number '%s' belongs to "
                    "asset '%s'",
                    rec->provider, rec->entity, rec->native_id, linked, serial, others[0]);
                if (n_others < STORE_MAX_CANDIDATES)
                    others[n_others++] = linked;
                return hold(tx, rec, "serial_collision", others, n_others, a, res);
            }
        }
    } else if (serial) {
        rc = serial_others(db, rec->tenant, serial, NULL, a, others, &n_others);
        if (rc)
            return rc;
        if (n_others > 1) {
            say(res, "serial number '%s' of %s %s '%s' matches %zu assets", serial, rec->provider,
                rec->entity, rec->native_id, n_others);
            return hold(tx, rec, "ambiguous_serial", others, n_others, a, res);
        }
        if (n_others == 1) {
            struct store_stmt *st;
            bool row = false;
            rc = store_db_stmt(db, SQL_OTHER_LINK, &st);
            if (!rc)
                rc = store_bind_all(db, st, "tttt", rec->tenant, others[0], rec->provider,
                                    rec->native_id);
            if (!rc)
                rc = store_step_row(db, st, &row);
            if (rc)
                return rc;
            if (row) {
                say(res,
                    "%s %s '%s' has serial number '%s' of asset '%s', which is linked to %s '%s' "
                    "already",
                    rec->provider, rec->entity, rec->native_id, serial, others[0], rec->provider,
                    (const char *)db->ops->column_text(st, 0));
                rc = store_step_done(db, st);
                return rc ? rc : hold(tx, rec, "native_id_conflict", others, 1, a, res);
            }
            rc = store_step_done(db, st);
            if (rc)
                return rc;
            ref = others[0];
            need_link = true;
        } else {
            create = true;
        }
    } else {
        create = true;
    }
    if (create && mode == AM_AUTO) {
        need_link = true;
        rc = choose_ref(db, rec->tenant, proposal, serial, a, &ref);
        if (rc)
            return rc;
    }

    /* base: the stored asset, or a fresh one */
    struct store_asset_row base;
    if (!create) {
        rc = store_asset_get_tx(tx, rec->tenant, ref, a, &base);
        if (rc == AB_ENOTFOUND) {
            say(res, "asset '%s' does not exist", ref);
            return AB_ENOTFOUND;
        }
        if (rc)
            return rc;
    } else {
        memset(&base, 0, sizeof(base));
        base.asset.asset_ref = ref;
        base.asset.type = MODEL_ASSET_OTHER;
        base.asset.status = MODEL_ASSET_ACTIVE;
        base.asset.commissioned_at = MODEL_TIME_UNSET;
        base.asset.created_at = MODEL_TIME_UNSET;
        base.asset.updated_at = MODEL_TIME_UNSET;
    }
    json_t *patch = json_deep_copy(rec->doc);
    json_object_del(patch, "asset_ref");
    json_object_del(patch, "provider_meters"); /* usage baselines, not asset fields */
    rc = parent_of(tx, rec, ref, patch, a);
    if (rc) {
        json_decref(patch);
        return rc;
    }
    struct model_asset merged;
    struct model_error err;
    rc = model_asset_merge(a, &base.asset, patch, &merged, &err);
    json_decref(patch);
    if (rc) {
        say(res, "%s %s '%s': %s: %s", rec->provider, rec->entity, rec->native_id, err.field,
            err.message);
        return AB_EINVAL;
    }
    char actor[80];
    snprintf(actor, sizeof(actor), "connector:%s", rec->provider);
    struct store_put_result put;
    rc = store_asset_put(tx, rec->tenant, &merged, 0, put_flags, actor, &put);
    if (rc == AB_ECONFLICT && strcmp(put.field, "serial_number") == 0) {
        say(res, "%s %s '%s': %s", rec->provider, rec->entity, rec->native_id, put.message);
        const char *cands[1] = {ref};
        return hold(tx, rec, "serial_collision", cands, 1, a, res);
    }
    if (rc) {
        say(res, "%s %s '%s': %s", rec->provider, rec->entity, rec->native_id, put.message);
        return rc == AB_ECONFLICT ? AB_ECONFLICT : AB_EINVAL;
    }
    if (need_link) {
        rc = store_link_add(tx, rec->tenant, rec->provider, rec->native_id, ref, actor);
        if (rc == AB_ECONFLICT) {
            say(res, "%s %s '%s' is linked to another asset already", rec->provider, rec->entity,
                rec->native_id);
            return AB_ECONFLICT;
        }
        if (rc)
            return rc;
        rc = adopt_children(tx, rec, ref, actor, a);
        if (rc)
            return rc;
    }
    /* the provider's own totals for hub meters: the usage baselines (a new
     * link replaces them; an existing one keeps the first seen) */
    rc = store_usage_baselines_capture(tx, rec->tenant, rec->provider, rec->native_id, ref,
                                       json_object_get(rec->doc, "provider_meters"), need_link);
    if (rc)
        return rc;
    res->subject = ref;
    res->outcome = put.created                ? STORE_UPSERT_CREATED
                   : put.changed || need_link ? STORE_UPSERT_UPDATED
                                              : STORE_UPSERT_UNCHANGED;
    return AB_OK;
}

/* ---- other entities -------------------------------------------------------------- */

static const char SQL_OBJ_GET[] =
    "SELECT digest, status FROM objects WHERE tenant = ? AND kind = ? AND id = ?";
static const char SQL_OBJ_PUT[] =
    "INSERT INTO objects(tenant, kind, id, asset_ref, status, due_at, doc, digest, revision, "
    "created_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
    " ON CONFLICT (tenant, kind, id) DO UPDATE SET asset_ref = excluded.asset_ref,"
    " status = excluded.status, due_at = excluded.due_at, doc = excluded.doc, digest = "
    "excluded.digest,"
    " revision = objects.revision + 1, updated_at = excluded.updated_at";

static int64_t time_field(const json_t *doc, const char *a, const char *b)
{
    const char *v = json_string_value(json_object_get(doc, a));
    if (!v && b)
        v = json_string_value(json_object_get(doc, b));
    int64_t ms;
    return v && time_parse_rfc3339(v, &ms) == AB_OK ? ms : INT64_MIN;
}

static enum ab_rc apply_object(struct store_tx *tx, const struct store_record *rec,
                               const char *existing, struct arena *a,
                               struct store_upsert_result *res)
{
    struct store_db *db = tx->db;
    enum ab_rc rc;
    const char *asset_ref = json_string_value(json_object_get(rec->doc, "asset_ref"));
    const char *asset_native = json_string_value(json_object_get(rec->doc, "asset_native_id"));
    if (asset_native) {
        struct store_stmt *st;
        bool row = false;
        rc = store_db_stmt(db, SQL_LINK_OF, &st);
        if (!rc)
            rc = store_bind_all(db, st, "ttt", rec->tenant, rec->provider, asset_native);
        if (!rc)
            rc = store_step_row(db, st, &row);
        if (rc)
            return rc;
        asset_ref = row ? store_col_text(db, st, 0, a) : NULL;
        rc = store_step_done(db, st);
        if (rc)
            return rc;
        if (!asset_ref) {
            say(res, "%s %s '%s' refers to %s asset '%s', which is not linked to any asset",
                rec->provider, rec->entity, rec->native_id, rec->provider, asset_native);
            return hold(tx, rec, "unknown_asset", NULL, 0, a, res);
        }
    }
    char id[ID_ULID_LEN + 1];
    const char *oid = existing;
    if (!oid) {
        id_ulid_new(id);
        oid = id;
    }
    json_t *doc = json_deep_copy(rec->doc);
    json_object_del(doc, "asset_native_id");
    if (asset_ref)
        json_object_set_new(doc, "asset_ref", json_string(asset_ref));
    json_object_set_new(doc, "id", json_string(oid));
    /* provider_id is the provider's type (the model's provider ids are types);
     * a pulled work order keeps the configured provider by name in
     * "provider", so the hub's edits go back to that instance */
    const struct config *cfg = store_config(tx->store);
    const struct config_provider *pc =
        cfg ? config_provider(config_tenant(cfg, rec->tenant), rec->provider) : NULL;
    json_object_set_new(doc, "provider_id", json_string(pc ? pc->type : rec->provider));
    if (pc && strcmp(rec->entity, "work_order") == 0)
        json_object_set_new(doc, "provider", json_string(rec->provider));
    char digest[MODEL_DIGEST_HEX_LEN + 1];
    rc = model_digest(doc, digest);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    const char *status = json_string_value(json_object_get(doc, "common_status"));
    if (!status)
        status = json_string_value(json_object_get(doc, "status"));
    /* the due_at column: a work order's or notification's SLA date (the
     * rules' SLA watch reads it), else a due or next due date */
    bool wo = strcmp(rec->entity, "work_order") == 0 || strcmp(rec->entity, "notification") == 0;
    int64_t due =
        wo ? time_field(doc, "sla_due_at", NULL) : time_field(doc, "due_at", "next_due_at");

    struct store_stmt *st;
    bool row = false;
    const char *old_status = NULL;
    bool found = false, same_digest = false;
    rc = store_db_stmt(db, SQL_OBJ_GET, &st);
    if (!rc)
        rc = store_bind_all(db, st, "ttt", rec->tenant, rec->entity, oid);
    if (!rc)
        rc = store_step_row(db, st, &row);
    if (!rc && row) {
        found = true;
        const char *d = (const char *)db->ops->column_text(st, 0);
        same_digest = d && strcmp(d, digest) == 0;
        old_status = store_col_text(db, st, 1, a);
    }
    if (!rc)
        rc = store_step_done(db, st);
    char *text = rc ? NULL : json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!rc && !text)
        rc = AB_EINTERNAL;
    if (!rc && !same_digest) {
        int64_t now = clock_now_ms();
        rc = store_db_stmt(db, SQL_OBJ_PUT, &st);
        if (!rc)
            rc = store_bind_all(db, st, "tttttTttii", rec->tenant, rec->entity, oid, asset_ref,
                                status, due, text, digest, now, now);
        if (!rc)
            rc = store_step_done(db, st);
    }
    free(text);
    res->subject = arena_strdup(a, oid);
    res->outcome = !found ? STORE_UPSERT_CREATED : STORE_UPSERT_UPDATED;
    if (!rc && !same_digest && strcmp(rec->entity, "work_order") == 0) {
        const char *type = "work_order.updated";
        if (!found)
            type = "work_order.created";
        else if (status && !(old_status && strcmp(old_status, status) == 0) &&
                 strcmp(status, "completed") == 0)
            type = "work_order.completed";
        else if (status && !(old_status && strcmp(old_status, status) == 0) &&
                 strcmp(status, "closed") == 0)
            type = "work_order.closed";
        char subject[64];
        snprintf(subject, sizeof(subject), "work-order/%s", oid);
        rc = store_event_append(tx, rec->tenant, type, subject, doc, NULL);
    }
    json_decref(doc);
    return rc;
}

/* ---- the upsert ------------------------------------------------------------------ */

enum ab_rc store_record_upsert(struct store_tx *tx, const struct store_record *rec, struct arena *a,
                               struct store_upsert_result *res)
{
    memset(res, 0, sizeof(*res));
    if (!json_is_object(rec->doc)) {
        say(res, "the record's document must be a JSON object");
        return AB_EINVAL;
    }
    char digest[MODEL_DIGEST_HEX_LEN + 1];
    enum ab_rc rc = model_digest(rec->doc, digest);
    if (rc) {
        say(res, "the record's document cannot be digested (too large or too deep)");
        return AB_EINVAL;
    }
    rc = store_tenant_ensure(tx, rec->tenant);
    struct src_row row;
    if (!rc)
        rc = src_get(tx->db, rec, a, &row);
    if (rc)
        return rc;
    if (row.found && strcmp(row.digest, digest) == 0) {
        struct store_stmt *st;
        rc = store_db_stmt(tx->db, SQL_SRC_SEEN, &st);
        if (!rc)
            rc = store_bind_all(tx->db, st, "itttt", clock_now_ms(), rec->tenant, rec->provider,
                                rec->entity, rec->native_id);
        if (!rc)
            rc = store_step_done(tx->db, st);
        res->outcome = STORE_UPSERT_UNCHANGED;
        res->subject = row.subject;
        return rc;
    }
    if (row.found && stale(rec, &row))
        return record_conflict(tx, rec, &row, res);
    if (rec->mapping_exception) {
        say(res, "%s %s '%s': %s", rec->provider, rec->entity, rec->native_id,
            rec->mapping_exception);
        return hold(tx, rec, "unmapped_value", NULL, 0, a, res);
    }

    if (strcmp(rec->entity, "asset") == 0)
        rc = apply_asset(tx, rec, AM_AUTO, NULL, a, res);
    else
        rc = apply_object(tx, rec, row.found ? row.subject : NULL, a, res);
    if (rc || res->outcome == STORE_UPSERT_EXCEPTION)
        return rc;
    if (row.found && res->outcome == STORE_UPSERT_CREATED && strcmp(rec->entity, "asset") != 0)
        res->outcome = STORE_UPSERT_UPDATED;
    return src_put(tx, rec, res->subject, digest);
}

/* ---- missing at source -------------------------------------------------------- */

static const char SQL_MARK_MISSING[] =
    "UPDATE source_records SET missing_at_source = 1, updated_at = ?"
    " WHERE tenant = ? AND provider = ? AND entity = ? AND seen_at < ? AND missing_at_source = 0"
    " RETURNING native_id, subject";

enum ab_rc store_records_mark_missing(struct store_tx *tx, const char *tenant, const char *provider,
                                      const char *entity, int64_t since, int64_t *marked)
{
    struct store_db *db = tx->db;
    struct store_stmt *st;
    struct arena *a = arena_new(8192, 0);
    bool row = false;
    size_t n = 0, cap = 16;
    const char **ids = arena_alloc(a, cap * sizeof(*ids));
    const char **subjects = arena_alloc(a, cap * sizeof(*subjects));
    enum ab_rc rc = store_db_stmt(db, SQL_MARK_MISSING, &st);
    if (!rc)
        rc = store_bind_all(db, st, "itttT", clock_now_ms(), tenant, provider, entity, since);
    while (!rc && !(rc = store_step_row(db, st, &row)) && row) {
        if (n == cap) {
            const char **ni = arena_alloc(a, 2 * cap * sizeof(*ni));
            const char **ns = arena_alloc(a, 2 * cap * sizeof(*ns));
            memcpy(ni, ids, n * sizeof(*ni));
            memcpy(ns, subjects, n * sizeof(*ns));
            ids = ni;
            subjects = ns;
            cap *= 2;
        }
        ids[n] = store_col_text(db, st, 0, a);
        subjects[n] = store_col_text(db, st, 1, a);
        n++;
    }
    char actor[80];
    snprintf(actor, sizeof(actor), "connector:%s", provider);
    bool is_asset = strcmp(entity, "asset") == 0;
    for (size_t i = 0; i < n && !rc; i++) {
        char subject[200];
        if (is_asset && subjects[i])
            snprintf(subject, sizeof(subject), "asset/%s", subjects[i]);
        else
            snprintf(subject, sizeof(subject), "record/%s/%s/%s", provider, entity, ids[i]);
        if (is_asset) {
            json_t *p = json_pack("{s:s?, s:s, s:s}", "asset_ref", subjects[i], "provider",
                                  provider, "native_id", ids[i]);
            rc = store_event_append(tx, tenant, "asset.missing_at_source", subject, p, NULL);
            json_decref(p);
        }
        if (!rc) {
            struct store_audit au = {0};
            au.tenant = tenant;
            au.actor = actor;
            au.action = "record.missing_at_source";
            au.subject = subject;
            rc = store_audit_add(tx, &au);
        }
    }
    arena_free(a);
    if (!rc && marked)
        *marked = (int64_t)n;
    return rc;
}

/* ---- resolving exceptions --------------------------------------------------------- */

enum ab_rc store_mapping_exception_resolve(struct store_tx *tx, const char *tenant, const char *id,
                                           enum store_resolve_action action, const char *target,
                                           const char *actor, struct arena *a,
                                           struct store_upsert_result *res)
{
    struct store_mapping_exception e;
    memset(res, 0, sizeof(*res));
    enum ab_rc rc = store_mapping_exception_get_tx(tx, tenant, id, a, &e);
    if (rc)
        return rc;
    if (strcmp(e.state, "open") != 0) {
        say(res, "mapping exception '%s' is %s already", id, e.state);
        return AB_ECONFLICT;
    }
    json_error_t je;
    json_t *change = json_loads(e.change, 0, &je);
    if (!change)
        return AB_EINTERNAL;
    arena_on_cleanup(a, json_decref_fn, change);
    if (json_object_get(change, "outbox_id") && action != STORE_RESOLVE_IGNORE) {
        /* an outbox item's effect that differs (store_mapping_exception_outbox) */
        say(res,
            "mapping exception '%s' is about what %s did with an outbox item: fix it at the "
            "provider or the system of record, then close it with action ignore",
            id, e.provider);
        return AB_EINVAL;
    }
    struct store_record rec = {0};
    rec.tenant = tenant;
    rec.provider = e.provider;
    rec.entity = e.entity;
    rec.native_id = e.native_id;
    rec.doc = json_object_get(change, "doc");
    json_t *rv = json_object_get(change, "source_revision");
    json_t *mt = json_object_get(change, "source_modified_at");
    rec.source_revision = json_is_integer(rv) ? json_integer_value(rv) : INT64_MIN;
    rec.source_modified_at = json_is_integer(mt) ? json_integer_value(mt) : INT64_MIN;

    const char *state = "resolved";
    json_t *resolution = json_pack("{s:s, s:s?, s:s?}", "action",
                                   action == STORE_RESOLVE_LINK     ? "link"
                                   : action == STORE_RESOLVE_CREATE ? "create"
                                                                    : "ignore",
                                   "target", target, "actor", actor);
    if (action == STORE_RESOLVE_IGNORE) {
        state = "ignored";
    } else if (strcmp(rec.entity, "asset") != 0) {
        /* non-asset records wait for their asset: link it, then replay */
        const char *native = json_string_value(json_object_get(rec.doc, "asset_native_id"));
        if (action != STORE_RESOLVE_LINK || !target || !native) {
            say(res,
                "a %s record is resolved by linking its asset: use action link with an asset_ref",
                rec.entity);
            json_decref(resolution);
            return AB_EINVAL;
        }
        rc = store_link_add(tx, tenant, rec.provider, native, target, actor);
        if (!rc)
            rc = store_record_upsert(tx, &rec, a, res);
    } else {
        if (action == STORE_RESOLVE_LINK && !target) {
            say(res, "action link needs the asset_ref to link to");
            json_decref(resolution);
            return AB_EINVAL;
        }
        char digest[MODEL_DIGEST_HEX_LEN + 1];
        rc = model_digest(rec.doc, digest);
        if (!rc)
            rc = apply_asset(tx, &rec, action == STORE_RESOLVE_LINK ? AM_LINK_TO : AM_CREATE,
                             target, a, res);
        if (!rc && res->outcome != STORE_UPSERT_EXCEPTION)
            rc = src_put(tx, &rec, res->subject, digest);
    }
    if (!rc && res->outcome == STORE_UPSERT_EXCEPTION) {
        json_decref(resolution);
        return AB_ECONFLICT; /* applying it raised another exception */
    }
    char *rtext = json_dumps(resolution, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(resolution);
    if (!rc)
        rc = store_mapping_exception_close(tx, tenant, id, state, rtext);
    free(rtext);
    if (!rc) {
        char subject[64];
        snprintf(subject, sizeof(subject), "mapping-exception/%s", id);
        struct store_audit au = {0};
        au.tenant = tenant;
        au.actor = actor ? actor : "system";
        au.action = action == STORE_RESOLVE_IGNORE ? "mapping_exception.ignore"
                                                   : "mapping_exception.resolve";
        au.subject = subject;
        rc = store_audit_add(tx, &au);
    }
    return rc;
}

/* ---- listing exceptions page by page ------------------------------------------------- */
